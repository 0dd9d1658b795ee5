#!/usr/bin/env bash
# Sets up calib8 and runs it on the embedded demo: a Fashion-MNIST LeNet and 300 real test images.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"${JOBS:-2}" >/dev/null
./build/calib8 eval examples/fmnist/fmnist_lenet.onnx --data examples/fmnist \
  --labels examples/fmnist/labels.txt --preprocess 'mean_value=72.94,std_value=90.0' --metric top1
