#!/bin/sh
# calib8 quantize --equalize / --bias-correction end to end on the real Fashion-MNIST ResNet-8 with per-tensor
# weights, calibrated and tested on 100 of the real test-set PNGs of tests/data/fixtures/fmnist.
# Usage: cli-quantize-dfq.sh path/to/calib8   (run from the repository root)
set -u
C8=$1
MODEL=${CALIB8_MODELS:-models}/fmnist_resnet8.onnx
FIX=tests/data/fixtures/fmnist
PP='resize_h=32,resize_w=32;mean_value=123.675:116.28:103.53,std_value=58.395:57.12:57.375'
TMP=$(mktemp -d /tmp/c8-dfq-XXXXXX)
trap 'rm -rf "$TMP"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok   $1" >&2; }
bad() { fail=$((fail + 1)); echo "FAIL $1" >&2; }

quantize() { # NAME FLAGS...: writes $TMP/NAME.{onnx,json,out}
  name=$1
  shift
  "$C8" quantize "$MODEL" --calib "$FIX" -p "$PP" --granularity per-tensor --test "$FIX" --labels "$FIX/labels.txt" \
    -o "$TMP/$name.onnx" --json "$TMP/$name.json" --limit 100 --test-limit 100 --quiet --threads 2 "$@" >"$TMP/$name.out" 2>&1
}
fp32() { sed -n 's/^top1 FP32 \([0-9.]*\) .*/\1/p' "$1"; }
int8() { sed -n 's/^top1 FP32 [0-9.]*  INT8 \([0-9.]*\) .*/\1/p' "$1"; }

quantize plain; rc=$?
if [ $rc -eq 0 ] && ! grep -q "equalization\|bias correction" "$TMP/plain.out" && grep -q '"bias_correction":	false' "$TMP/plain.json" &&
   ! grep -aq "_corrected" "$TMP/plain.onnx"; then
  ok "plain: top1 FP32 $(fp32 "$TMP/plain.out") INT8 $(int8 "$TMP/plain.out")"
else
  bad "plain: rc=$rc $(cat "$TMP/plain.out")"
fi

quantize eq --equalize; rc=$?
if [ $rc -eq 0 ] && grep -q "^cross-layer equalization: 3 convolution pairs" "$TMP/eq.out" &&
   grep -q '"equalized_pairs":	3' "$TMP/eq.json" && [ "$(fp32 "$TMP/eq.out")" = "$(fp32 "$TMP/plain.out")" ]; then
  ok "--equalize: 3 pairs, same FP32 top1, INT8 $(int8 "$TMP/eq.out")"
else
  bad "--equalize: rc=$rc $(cat "$TMP/eq.out")"
fi
# the equalized weights differ from the plain ones: the two models are not the same bytes
if cmp -s "$TMP/plain.onnx" "$TMP/eq.onnx"; then bad "--equalize wrote the same model as without"; else ok "--equalize changes the weights"; fi

quantize bc --bias-correction; rc=$?
# every Conv and the Gemm get a corrected bias in the QDQ model
n=$(grep -c '"node":.*_corrected_DequantizeLinear' "$TMP/bc.json")
if [ $rc -eq 0 ] && grep -q "^bias correction: on" "$TMP/bc.out" && [ "$n" = 10 ] && grep -q '"bias_correction":	true' "$TMP/bc.json"; then
  ok "--bias-correction: $n corrected biases, INT8 $(int8 "$TMP/bc.out")"
else
  bad "--bias-correction: rc=$rc, $n corrected biases: $(cat "$TMP/bc.out")"
fi

quantize both --equalize --bias-correction; rc=$?
if [ $rc -eq 0 ] && [ "$(grep -c '"node":.*_corrected_DequantizeLinear' "$TMP/both.json")" = 10 ] &&
   grep -q "^cross-layer equalization: 3" "$TMP/both.out"; then
  ok "--equalize --bias-correction: INT8 $(int8 "$TMP/both.out")"
else
  bad "--equalize --bias-correction: rc=$rc $(cat "$TMP/both.out")"
fi

echo "$pass passed, $fail failed" >&2
[ $fail -eq 0 ]
