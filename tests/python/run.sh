#!/bin/sh
# Runs one test of the Python package: run.sh LIBCALIB8_SO CALIB8_CLI TEST.py (from the repository root).
# Exit 77 (skipped) when no Python 3 with numpy is found; tests that need torch or PIL skip themselves.
lib=$1 cli=$2 test=$3
PY=
for p in ${PYTHON:-} /usr/bin/python3 python3; do
  if "$p" -c 'import numpy' >/dev/null 2>&1; then PY=$p; break; fi
done
if [ -z "$PY" ]; then echo "skipped: no python3 with numpy (Debian: apt-get install python3-numpy)"; exit 77; fi
CALIB8_LIBRARY=$lib CALIB8_CLI=$cli PYTHONPATH=python${PYTHONPATH:+:$PYTHONPATH} exec "$PY" "$test"
