#!/bin/sh
# The accuracy table of docs/quantization.md: top-1 of LeNet and ResNet-8 (models/) on the 10 000 Fashion-MNIST
# test images, FP32 and INT8 for every threshold method x weight granularity, plus ADMM weights (per channel).
# Calibration: the first 500 training images (.cache/fmnist/calib). Prints a Markdown table.
#
#   sh tools/quant_table.sh [path/to/calib8] > table.md      (from the repository root)
#
# Needs .cache/fmnist: bash scripts/setup-data.sh && /usr/bin/python3 tools/make_fmnist_png.py .cache/fmnist
# Each INT8 figure is `calib8 eval` of the QDQ model written by `calib8 quantize` (the same number quantize --test
# prints); the FP32 figure is `calib8 eval` of the original model.
set -eu
C8=${1:-build/calib8}
CACHE=${CALIB8_CACHE:-.cache}
F=$CACHE/fmnist
LIMIT=${CALIB_LIMIT:-500}
TMP=$(mktemp -d /tmp/c8-qtable-XXXXXX)
trap 'rm -rf "$TMP"' EXIT
[ -d "$F/calib" ] && [ -f "$F/test/labels.txt" ] || { echo "quant_table: $F is missing" >&2; exit 1; }
top1() { sed -n 's/^top1 \([0-9.]*\) (.*$/\1/p' "$1" | awk '{ printf "%.2f", $1 * 100 }'; }

echo "| model | method | per-channel | per-tensor | mix | per-channel, ADMM weights |"
echo "|---|---|---:|---:|---:|---:|"
for m in lenet resnet8; do
  if [ $m = lenet ]; then
    model=models/fmnist_lenet.onnx pp='mean_value=72.94,std_value=90.0' name=LeNet
  else
    model=models/fmnist_resnet8.onnx name=ResNet-8
    pp='resize_h=32,resize_w=32;mean_value=123.675:116.28:103.53,std_value=58.395:57.12:57.375'
  fi
  "$C8" eval $model --data $F/test --labels $F/test/labels.txt -p "$pp" --batch 100 >"$TMP/fp32"
  echo "| $name | FP32 | $(top1 "$TMP/fp32") | | | |"
  for method in max kl percentile mse aciq; do
    row="| $name | $method"
    for cfg in "--granularity per-channel" "--granularity per-tensor" "--granularity mix" "--granularity per-channel --weights admm"; do
      # shellcheck disable=SC2086
      "$C8" quantize $model --calib $F/calib --limit $LIMIT -p "$pp" --method $method $cfg -q -o "$TMP/q.onnx" >/dev/null
      "$C8" eval "$TMP/q.onnx" --data $F/test --labels $F/test/labels.txt -p "$pp" --batch 100 >"$TMP/int8"
      row="$row | $(top1 "$TMP/int8")"
      echo "$m $method $cfg: $(cat "$TMP/int8")" >&2
    done
    echo "$row |"
  done
done
