# Shared by the calib8 quantize tests (sourced; POSIX sh). Run from the repository root.
# Sets C8 (the calib8 binary, $1 of the test), TMP (removed at exit), the models, their preprocessing
# strings (models/README.md) and the small labelled image set examples/fmnist (300 Fashion-MNIST PNGs).
set -u
C8=$1
PY=/usr/bin/python3
MODELS=${CALIB8_MODELS:-models}
CACHE=${CALIB8_CACHE:-.cache}
LENET=$MODELS/fmnist_lenet.onnx
RESNET=$MODELS/fmnist_resnet8.onnx
PP_LENET='mean_value=72.94,std_value=90.0'
PP_RESNET='resize_h=32,resize_w=32;mean_value=123.675:116.28:103.53,std_value=58.395:57.12:57.375'
EX=examples/fmnist
TMP=$(mktemp -d /tmp/c8-quantize-XXXXXX)
trap 'rm -rf "$TMP"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok   $1" >&2; }
bad() { fail=$((fail + 1)); echo "FAIL $1" >&2; }
check() { # check NAME COMMAND...: passes when the command succeeds
  name=$1
  shift
  if "$@"; then ok "$name"; else bad "$name"; fi
}
finish() {
  echo "$pass passed, $fail failed" >&2
  [ $fail -eq 0 ]
  exit $?
}
# skip REASON: exit 77 (CTest SKIP_RETURN_CODE)
skip() {
  echo "SKIP: $1" >&2
  exit 77
}
have_python() { $PY -c 'import numpy, onnx' 2>/dev/null; }
