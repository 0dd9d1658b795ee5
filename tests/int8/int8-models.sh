#!/bin/sh
# INT8 runtime on calib8's own QDQ ResNet-8 and LeNet (issue 13): integer layers against the fake-quantized run
# (check-int8: >= 99.9 % of 8-bit values equal, none more than one step apart), and top-1 on the 300 images of
# examples/fmnist unchanged within 0.5 point (calib8 eval with CALIB8_INT8=1, the integer path, and without it).
# usage: int8-models.sh CALIB8 CHECK_INT8
set -eu
CALIB8=$1
CHECK=$2
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
R8P='resize_h=32,resize_w=32;mean_value=123.675:116.28:103.53,std_value=58.395:57.12:57.375'
LNP='mean_value=72.94,std_value=90.0'
"$CALIB8" quantize models/fmnist_resnet8.onnx --calib examples/fmnist -p "$R8P" -o "$T/r8q.onnx" >/dev/null
"$CALIB8" quantize examples/fmnist/fmnist_lenet.onnx --calib examples/fmnist -p "$LNP" -o "$T/lenetq.onnx" >/dev/null
"$CHECK" "$T/r8q.onnx" 8 3 32 32 | tail -2
"$CHECK" "$T/lenetq.onnx" 8 1 28 28 | tail -2
top1() { # eval output -> top-1 in percent
  sed -n 's/^top1 \([0-9.]*\).*/\1/p' "$1" | head -1 | awk '{ print $1 * 100 }'
}
for m in r8q:"$R8P" lenetq:"$LNP"; do
  name=${m%%:*}
  pp=${m#*:}
  CALIB8_INT8=1 "$CALIB8" eval "$T/$name.onnx" --data examples/fmnist --labels examples/fmnist/labels.txt --preprocess "$pp" >"$T/i.txt" 2>&1
  "$CALIB8" eval "$T/$name.onnx" --data examples/fmnist --labels examples/fmnist/labels.txt --preprocess "$pp" >"$T/f.txt" 2>&1
  a=$(top1 "$T/i.txt")
  b=$(top1 "$T/f.txt")
  echo "$name top-1: int8 $a, fake-quant $b"
  awk -v a="$a" -v b="$b" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(a != "" && d <= 0.5) }'
done
# calib8 run says how many layers run on integer kernels, and which do not and why, when they are on (a zero
# LeNet image, written as .npy here: float32 [1,1,28,28])
h="{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 28, 28), }"
while [ $(( (10 + ${#h} + 1) % 64 )) -ne 0 ]; do h="$h "; done
{ printf '\223NUMPY\001\000'; printf "\\$(printf %03o $(( (${#h} + 1) % 256 )))\\$(printf %03o $(( (${#h} + 1) / 256 )))"; printf '%s\n' "$h"; head -c 3136 /dev/zero; } >"$T/x.npy"
CALIB8_INT8=1 "$CALIB8" run "$T/lenetq.onnx" -i "$T/x.npy" -o "$T/out" >"$T/run.txt"
grep -q '^INT8 kernels: 2 of 5 layers$' "$T/run.txt" || { cat "$T/run.txt"; echo "FAIL: INT8 kernels line"; exit 1; }
[ "$(grep -c '^  not on INT8 kernels: .*Gemm.*: no integer kernel for this operator yet' "$T/run.txt")" = 3 ] ||
  { cat "$T/run.txt"; echo "FAIL: the three Gemm layers are not named"; exit 1; }
CALIB8_INT8=0 "$CALIB8" run "$T/lenetq.onnx" -i "$T/x.npy" -o "$T/out" >"$T/run.txt"
! grep -q 'INT8 kernels' "$T/run.txt" || { echo "FAIL: INT8 kernels line with integer kernels off"; exit 1; }
echo PASS
