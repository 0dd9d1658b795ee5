#!/usr/bin/env bash
# The whole test suite, as CI runs it: dependencies, cached test data, a Release
# build with every test, a clang ASan+UBSan build running the unit and fault tests, and the fuzz targets briefly.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/setup-data.sh
JOBS=${JOBS:-2}

cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$JOBS"
(cd build && ctest --output-on-failure -j"$JOBS")

# The sanitizer build uses clang: its UBSan checks float-to-int overflow (GCC's -fsanitize=undefined does not) and
# the implicit integer truncations and sign changes (CMakeLists.txt, C8_SANITIZERS).
cmake -S . -B build-asan -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug -DCALIB8_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$JOBS"
# Under sanitizers: every test but the 10 000-image runs (calib8's INT8 accuracy, ONNX Runtime's agreement with
# it, and the integer kernels' agreement with ONNX Runtime), which repeat on more samples the code paths that
# quantize/artifacts, quantize/determinism, int8/models and data/eval-fmnist exercise under the sanitizers (~100 s
# for models/real and the determinism matrix), and PP-OCRv4 rec's character accuracy (an auto search over 100
# rendered lines), whose model quantize/ocr-opset quantizes and runs under the sanitizers.
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j"$JOBS" \
  -E '^(quantize/accuracy|quantize/ort-accuracy|quantize/ocr-rec-accuracy|int8/ort-agreement)$')

# Every libFuzzer target of tests/fuzz: its committed corpus, then 15 s of fuzzing each (~4 min with the build).
bash scripts/fuzz.sh
