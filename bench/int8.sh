#!/usr/bin/env bash
# The INT8 runtime against its peers (issue 13), in the same interleaved rounds: per model and thread count, each
# round runs calib8 on the QDQ model with integer kernels (CALIB8_INT8=1), calib8 on the same QDQ model as fake
# quantization (CALIB8_INT8=0), calib8 on the FP32 model, and ONNX Runtime 1.30 (tools/ort/run_ort.js) on the QDQ
# model, each a separate process timing --repeat R runs and reporting its median; the row is the median over the
# rounds, and the ratios are those medians' ratios. Then the int8 GEMM 1024^3 (test-qgemm --bench, one thread)
# against the vpdpbusd peak of one core (bench/peak-vnni.c, independent chains), alternated ROUNDS times.
#   bash bench/int8.sh [ROUNDS] [REPEAT]      (defaults 7 and 50; prints Markdown rows for bench/RESULTS.md)
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
ROUNDS=${1:-7}
REPEAT=${2:-50}
BUILD=${CALIB8_BUILD:-build}
CACHE=${CALIB8_CACHE:-.cache}
PY=/usr/bin/python3
C8="$BUILD/calib8"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$BUILD" -j2 --target calib8 test-qgemm >/dev/null
grep -q avx512_vnni /proc/cpuinfo || { echo "int8.sh: this CPU has no AVX-512 VNNI" >&2; exit 1; }
cc -O2 -mavx512f -mavx512vnni bench/peak-vnni.c -o "$T/peak-vnni"

R8P='resize_h=32,resize_w=32;mean_value=123.675:116.28:103.53,std_value=58.395:57.12:57.375'
YP='resize_h=128,resize_w=128;scale=0.00392156862745098'
"$C8" quantize models/fmnist_resnet8.onnx --calib examples/fmnist -p "$R8P" -o "$T/r8q.onnx" >/dev/null
"$C8" quantize models/fmnist_yolo.onnx --calib examples/fmnist -p "$YP" --limit 64 -o "$T/yoloq.onnx" >/dev/null
$PY - "$T" "$CACHE" <<'EOF'
import sys, numpy as np
t, cache = sys.argv[1], sys.argv[2]
np.save(f'{t}/r8.npy', np.random.RandomState(1).uniform(-2, 2, (32, 3, 32, 32)).astype(np.float32))
np.save(f'{t}/yolo.npy', np.load(f'{cache}/yolo/test.npy')[:32])
EOF

med() { sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
c8() { # c8 MODEL INPUT=NPY THREADS INT8 -> "min median" ms
  CALIB8_INT8=$4 "$C8" run "$1" -i "$2" -o "$T/o" --threads "$3" --repeat "$REPEAT" |
    sed -n 's/.*min \([0-9.]*\) ms, median \([0-9.]*\) ms.*/\1 \2/p'
}
ort() { node tools/ort/run_ort.js "$1" -i "$2" --threads "$3" --repeat "$REPEAT" --quiet |
  sed -n 's/.*latency_ms min=\([0-9.]*\) median=\([0-9.]*\).*/\1 \2/p'; }

echo "| model | threads | calib8 INT8 ms | calib8 fake-quant ms | calib8 FP32 ms | ORT QDQ ms | FP32 / INT8 (calib8) | INT8 calib8 / ORT | same with per-process minima |"
echo "|---|---|---|---|---|---|---|---|---|"
for m in r8:models/fmnist_resnet8.onnx:r8q:input yolo:models/fmnist_yolo.onnx:yoloq:images; do
  IFS=: read -r tag fp32 q in <<<"$m"
  for th in 1 2; do
    : >"$T/i" && : >"$T/s" && : >"$T/f" && : >"$T/o8"
    for r in $(seq "$ROUNDS"); do
      c8 "$T/$q.onnx" "$in=$T/$tag.npy" "$th" 1 >>"$T/i"
      c8 "$T/$q.onnx" "$in=$T/$tag.npy" "$th" 0 >>"$T/s"
      c8 "$fp32" "$in=$T/$tag.npy" "$th" 0 >>"$T/f"
      ort "$T/$q.onnx" "$in=$T/$tag.npy" "$th" >>"$T/o8"
    done
    i=$(cut -d' ' -f2 "$T/i" | med) s=$(cut -d' ' -f2 "$T/s" | med) f=$(cut -d' ' -f2 "$T/f" | med)
    o=$(cut -d' ' -f2 "$T/o8" | med)
    i1=$(cut -d' ' -f1 "$T/i" | med) f1=$(cut -d' ' -f1 "$T/f" | med) o1=$(cut -d' ' -f1 "$T/o8" | med)
    awk -v tag="$tag" -v th="$th" -v i="$i" -v s="$s" -v f="$f" -v o="$o" -v i1="$i1" -v f1="$f1" -v o1="$o1" \
      'BEGIN { printf "| %s b32 | %d | %.3f | %.3f | %.3f | %.3f | %.2f× | %.2f | %.2f× / %.2f |\n", tag, th, i, s, f, o, f / i, i / o, f1 / i1, i1 / o1 }'
  done
done

: >"$T/g" && : >"$T/p"
for r in $(seq "$ROUNDS"); do
  "$T/peak-vnni" | sed -n 's/vpdpbusd_gops_1core //p' >>"$T/p"
  CALIB8_ISA=avx512vnni "$BUILD/tests/test-qgemm" --bench 1024 1024 1024 | sed -n 's/^8x32c4-avx512vnni .*: *\([0-9.]*\) GOP\/s (B packed ahead).*/\1/p' >>"$T/g"
done
g=$(med <"$T/g") p=$(med <"$T/p")
awk -v g="$g" -v p="$p" 'BEGIN { printf "\n| int8 GEMM 1024³, 1 thread | %.1f GOP/s | vpdpbusd peak %.1f GOP/s | %.0f %% of peak |\n", g, p, 100 * g / p }'
