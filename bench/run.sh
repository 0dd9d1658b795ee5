#!/usr/bin/env bash
# calib8 benchmarks against ONNX Runtime 1.30: latency of the real models, GFLOP/s of a large convolution and a
# 1024^3 GEMM against the machine's FP32 peak, and the quantization benchmarks (statistics overhead, memory,
# QDQ vs FP32 in ONNX Runtime). Writes bench/RESULTS.md (and .cache/bench/raw.json). A full run takes ~10 minutes.
#
#   bash bench/run.sh [--quick] [--rounds N] [--threads 1,2] [--only REGEX]
#                     [--skip-latency] [--skip-gflops] [--skip-quant] [--out FILE]
#
#   --quick   2 rounds, less timed work per run: a smoke test of the harness (~3 min); do not commit its numbers
#   the other options: see the top of bench/bench.py
#
# Steps: Release build in ${CALIB8_BUILD:-build}; scripts/setup-data.sh (ONNX Runtime, PP-OCR models); the
# Fashion-MNIST PNGs (tools/make_fmnist_png.py) if missing; bench/make_inputs.py (inputs and the two throughput
# models into .cache/bench); bench/peak.c; then bench/bench.py.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
for a in "$@"; do
  case "$a" in -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
done
CACHE="${CALIB8_CACHE:-$REPO/.cache}"
BUILD="${CALIB8_BUILD:-$REPO/build}"
export CALIB8_CACHE="$CACHE" CALIB8_BUILD="$BUILD"
PY=/usr/bin/python3

[ -x /usr/bin/time ] || { echo "bench: /usr/bin/time not found: run scripts/install-deps.sh" >&2; exit 1; }
command -v node >/dev/null || { echo "bench: node not found: run scripts/install-deps.sh" >&2; exit 1; }

echo "bench: building calib8 (Release) in $BUILD"
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j"${JOBS:-2}" --target calib8 >/dev/null
cc -O2 -pthread bench/peak.c -o "$BUILD/peak"

bash scripts/setup-data.sh | sed 's/^/  /'
if [ "$(ls "$CACHE/fmnist/calib" 2>/dev/null | wc -l)" -lt 2000 ] || [ ! -f "$CACHE/fmnist/test/labels.txt" ]; then
  echo "bench: writing Fashion-MNIST PNGs into $CACHE/fmnist"
  $PY tools/make_fmnist_png.py "$CACHE/fmnist" 2000
fi
mkdir -p "$CACHE/bench"
echo "bench: inputs and throughput models in $CACHE/bench"
$PY bench/make_inputs.py "$CACHE/bench" 2000 >/dev/null

exec $PY bench/bench.py "$@"
