# Shared by the calib8 quantize tests (sourced; POSIX sh). Run from the repository root.
# The harness (tests/harness.sh) sets C8 (the calib8 binary, $1 of the test), PY, TMP (removed at exit) and the
# check functions; this adds the models, their preprocessing strings (models/README.md) and the small labelled
# image set examples/fmnist (300 Fashion-MNIST PNGs).
HARNESS_NAME=quantize
. tests/harness.sh
MODELS=${CALIB8_MODELS:-models}
CACHE=${CALIB8_CACHE:-.cache}
LENET=$MODELS/fmnist_lenet.onnx
RESNET=$MODELS/fmnist_resnet8.onnx
PP_LENET='mean_value=72.94,std_value=90.0'
PP_RESNET='resize_h=32,resize_w=32;mean_value=123.675:116.28:103.53,std_value=58.395:57.12:57.375'
EX=examples/fmnist
have_python() { $PY -c 'import numpy, onnx' 2>/dev/null; }
