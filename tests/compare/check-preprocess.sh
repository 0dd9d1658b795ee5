#!/bin/sh
# --check-preprocess FILE.npy (quantize and eval) against tensors made by a numpy + torch pipeline from four
# committed colour images (tests/compare/gen/make_ppcheck.py) for models/fmnist_resnet8.onnx ([N,3,32,32]):
# the right tensors match; a channel swap, a mean/std swap, an NHWC layout, NHWC data reshaped to NCHW and a
# center crop instead of the resize are each named; an unexplained difference names the first differing image;
# nothing is written when the check fails.
# Usage: check-preprocess.sh path/to/calib8   (run from the repository root)
HARNESS_NAME=ppcheck
. tests/harness.sh
MODEL=models/fmnist_resnet8.onnx
D=tests/compare/fixtures/ppcheck
IMG=$D/images
PP="resize_h=32,resize_w=32;mean_value=123.675:116.28:103.53,std_value=58.395:57.12:57.375"

q() { "$C8" quantize "$MODEL" --calib "$IMG" -p "$PP" -o "$TMP/out.onnx" -q --check-preprocess "$@"; }

out=$(q "$D/good.npy" 2>&1); rc=$?
if [ $rc -eq 0 ] && echo "$out" | grep -q "^preprocessing check: 4 images match$" && [ -f "$TMP/out.onnx" ]; then
  ok "the right tensors match (quantize goes on)"
else bad "good: rc=$rc $out"; fi
rm -f "$TMP/out.onnx"
out=$(q "$D/float64.npy" 2>&1); rc=$?
if [ $rc -eq 0 ] && echo "$out" | grep -q "^preprocessing check: 2 images match$"; then ok "float64, first 2 images"; else bad "float64: rc=$rc $out"; fi
rm -f "$TMP/out.onnx"

# expect FILE RC TEXT...: the check fails with one line holding every TEXT, and writes nothing
expect() {
  f=$1
  shift
  out=$(q "$D/$f.npy" 2>&1); rc=$?
  good=1
  [ $rc -ne 0 ] && one_line "$out" && [ ! -f "$TMP/out.onnx" ] || good=0
  for t in "$@"; do echo "$out" | grep -qF -- "$t" || good=0; done
  if [ $good -eq 1 ]; then ok "$f: $out"; else bad "$f: rc=$rc $out"; fi
}
expect bgr "image 0 ('$IMG/img0.png') differs" "all 4 images match calib8's output with the channels reversed" \
  "channel order"
expect meanstd "image 0 ('$IMG/img0.png') differs" "all 4 images match calib8's output with mean and std swapped"
expect nhwc "holds NHWC tensors [4,32,32,3] but the model reads NCHW [3,32,32]" "transposed, all images match"
expect reshape "all 4 images match calib8's output with the pixels in the other layout under the same shape"
expect crop "all 4 images match calib8's output with a center crop where calib8 resizes" "resize against crop"
expect bad2 "image 2 ('$IMG/img2.png') differs" "no common mistake"

# eval takes the same option
out=$("$C8" eval "$MODEL" --data "$IMG" -p "$PP" --metric similarity --reference "$MODEL" --check-preprocess "$D/bgr.npy" 2>&1); rc=$?
if [ $rc -ne 0 ] && one_line "$out" && echo "$out" | grep -q "channels reversed"; then ok "eval --check-preprocess"; else bad "eval: rc=$rc $out"; fi
out=$("$C8" eval "$MODEL" --data "$IMG" -p "$PP" --metric similarity --reference "$MODEL" --check-preprocess "$D/good.npy" 2>&1); rc=$?
if [ $rc -eq 0 ] && echo "$out" | grep -q "preprocessing check: 4 images match" && echo "$out" | grep -q "^similarity 1.000000"; then
  ok "eval --check-preprocess, matching"
else bad "eval good: rc=$rc $out"; fi

# bad files
out=$(q "$TMP/none.npy" 2>&1); rc=$?
if [ $rc -ne 0 ] && one_line "$out" && echo "$out" | grep -q "$TMP/none.npy"; then ok "missing file"; else bad "missing: rc=$rc $out"; fi
printf 'not numpy' > "$TMP/junk.npy"
out=$(q "$TMP/junk.npy" 2>&1); rc=$?
if [ $rc -ne 0 ] && one_line "$out" && echo "$out" | grep -q "junk.npy"; then ok "not a .npy file: $out"; else bad "junk: rc=$rc $out"; fi
/usr/bin/python3 -c "import numpy as np, sys; np.save(sys.argv[1], np.zeros((3, 32, 32), np.float32)); np.save(sys.argv[2], np.zeros((9, 3, 32, 32), np.float32)); np.save(sys.argv[3], np.zeros((1, 3, 28, 28), np.float32))" \
  "$TMP/rank3.npy" "$TMP/nine.npy" "$TMP/small.npy"
out=$(q "$TMP/rank3.npy" 2>&1); rc=$?
if [ $rc -ne 0 ] && one_line "$out" && echo "$out" | grep -q "needs \[K, C, H, W\] or \[K, H, W, C\]"; then ok "rank 3"; else bad "rank3: rc=$rc $out"; fi
out=$(q "$TMP/nine.npy" 2>&1); rc=$?
if [ $rc -ne 0 ] && one_line "$out" && echo "$out" | grep -q "holds 9 images but '$IMG' has only 4"; then ok "more images than the data set"; else bad "nine: rc=$rc $out"; fi
out=$(q "$TMP/small.npy" 2>&1); rc=$?
if [ $rc -ne 0 ] && one_line "$out" && echo "$out" | grep -q "\[3,28,28\] per image, calib8 makes \[3,32,32\]"; then ok "wrong size"; else bad "small: rc=$rc $out"; fi
out=$("$C8" quantize "$MODEL" --calib "$D/good.npy" -o "$TMP/out.onnx" -q --check-preprocess "$D/good.npy" 2>&1); rc=$?
if [ $rc -ne 0 ] && one_line "$out" && echo "$out" | grep -q "holds npy data, not images"; then ok "a non-image calibration set"; else bad "npy calib: rc=$rc $out"; fi

echo "$pass passed, $fail failed" >&2
[ $fail -eq 0 ]
