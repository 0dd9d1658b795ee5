#!/usr/bin/env bash
# Sets up calib8 and runs it on the embedded demo: a Fashion-MNIST LeNet and 300 real test images.
# It calibrates on the images, writes an INT8 QDQ model (+ calibration table and JSON summary) to demo-out/,
# and prints FP32 against INT8 top-1 accuracy.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"${JOBS:-2}" >/dev/null
mkdir -p demo-out
./build/calib8 quantize examples/fmnist/fmnist_lenet.onnx --calib examples/fmnist \
  --preprocess 'mean_value=72.94,std_value=90.0' \
  --test examples/fmnist --labels examples/fmnist/labels.txt \
  -o demo-out/fmnist_lenet_int8.onnx --table demo-out/fmnist_lenet.table --json demo-out/fmnist_lenet.json
