#!/bin/sh
# run.sh CALIB8 DUMP_DATA test_serve.py CASE (from the repository root). Exit 77 (skipped) without python3+numpy.
c8=$1 dump=$2 test=$3 case=$4
PY=
for p in ${PYTHON:-} /usr/bin/python3 python3; do
  if "$p" -c 'import numpy' >/dev/null 2>&1; then PY=$p; break; fi
done
if [ -z "$PY" ]; then echo "skipped: no python3 with numpy (Debian: apt-get install python3-numpy)"; exit 77; fi
CALIB8_CLI=$c8 CALIB8_DUMP=$dump PYTHONPATH=python${PYTHONPATH:+:$PYTHONPATH} exec "$PY" "$test" "$case"
