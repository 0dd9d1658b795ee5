#!/bin/sh
# What users of TPU-MLIR/NNTC, TNN and AMCT bring with them (issue 12): their qtable format (tensor names, modes
# in any case, F16/BF16 rows), ... Each habit gets its own checks below.
# Usage: habits.sh path/to/calib8   (from the repository root)
. "$(dirname "$0")/lib.sh"
Q="$C8 quantize"
A=$TMP
# --- TPU-MLIR qtable: tensor names stand for the layer computing them; modes any case; F16/BF16 stay FP32 ---
$Q $LENET --calib $EX -p $PP_LENET -q -o $A/ref.onnx --write-qtable $A/ref.qtable >/dev/null 2>&1
cat >$A/tpu.qtable <<'QT'
# TPU-MLIR style: op_or_tensor_name mode
/f1/Gemm_output_0 F16
/c2/Conv  bf16   # a node name, lower-case mode
logits f32  # the graph output, computed by /f3/Gemm
QT
if $Q $LENET --calib $EX -p $PP_LENET -q -o $A/tpu.onnx --qtable $A/tpu.qtable --write-qtable $A/tpu.out >$A/log 2>&1; then
  check "qtable by tensor names and modes in any case" sh -c \
    "grep -qx '/f1/Gemm F32' $A/tpu.out && grep -qx '/c2/Conv F32' $A/tpu.out && grep -qx '/f3/Gemm F32' $A/tpu.out && grep -qx '/f2/Gemm INT8' $A/tpu.out"
else
  bad "quantize with a TPU-MLIR qtable failed: $(cat $A/log)"
fi
printf '/c1/Conv INT4\n' >$A/bad-mode.qtable
out=$($Q $LENET --calib $EX -p $PP_LENET -q -o $A/x.onnx --qtable $A/bad-mode.qtable 2>&1)
check "qtable: an unknown mode names the line and the mode" sh -c "echo \"$out\" | grep -q \"line 1: precision 'INT4'\""
printf '# comment\n\n/nowhere F32\n' >$A/bad-name.qtable
out=$($Q $LENET --calib $EX -p $PP_LENET -q -o $A/x.onnx --qtable $A/bad-name.qtable 2>&1)
check "qtable: an unknown name names the line and the name" sh -c "echo \"$out\" | grep -q \"line 3: .*'/nowhere'\""
# --- NNTC's --fpfwd_outputs / --fpfwd_inputs: the named layer is included; a precision option that changes
#     nothing is an error naming the option and the name ---
if $Q $LENET --calib $EX -p $PP_LENET -q -o $A/fi.onnx --fpfwd-inputs /c2/Conv --write-qtable $A/fi.qt >$A/log 2>&1; then
  check "--fpfwd-inputs /c2/Conv: it and the layers before it FP32" sh -c \
    "grep -qx '/c1/Conv F32' $A/fi.qt && grep -qx '/c2/Conv F32' $A/fi.qt && grep -qx '/f1/Gemm INT8' $A/fi.qt"
else bad "--fpfwd-inputs failed: $(cat $A/log)"; fi
if $Q $LENET --calib $EX -p $PP_LENET -q -o $A/fo.onnx --fpfwd_outputs /Relu_2_output_0 --write-qtable $A/fo.qt >$A/log 2>&1; then
  check "--fpfwd_outputs by a tensor name: the layer computing it and all after it FP32" sh -c \
    "grep -qx '/f1/Gemm INT8' $A/fo.qt && grep -qx '/f2/Gemm F32' $A/fo.qt && grep -qx '/f3/Gemm F32' $A/fo.qt"
else bad "--fpfwd_outputs failed: $(cat $A/log)"; fi
out=$($Q $LENET --calib $EX -p $PP_LENET -q -o $A/x.onnx --fp32-after logits 2>&1)
check "--fp32-after on the last tensor changes nothing: an error naming option and name" sh -c \
  "echo \"$out\" | grep -q \"\-\-fp32-after 'logits' changes nothing\""
out=$($Q $LENET --calib $EX -p $PP_LENET -q -o $A/x.onnx --fpfwd-outputs /nope 2>&1)
check "--fpfwd-outputs of an unknown layer names it" sh -c "echo \"$out\" | grep -q \"'/nope'\""
# the calibration guide's YOLO recipe on fmnist_yolo's two head convolutions reaches the --fp32-heads mAP
if [ -d "$CACHE/yolo/test" ] && [ -d "$CACHE/yolo/calib" ]; then
  PPY='resize_h=128,resize_w=128;scale=0.00392156862745098'
  yq() { $Q models/fmnist_yolo.onnx --calib $CACHE/yolo/calib -p "$PPY" --limit 100 -q -o $A/y.onnx --test $CACHE/yolo/test \
    --labels $CACHE/yolo/test/data.label --metric map50 "$@" 2>&1 | sed -n 's/^map50 FP32 [0-9.]*  INT8 \([0-9.]*\).*/\1/p'; }
  heads=$(yq --fp32-heads)
  recipe=$(yq --fpfwd-outputs /h8/Conv,/h16/Conv)
  check "YOLO: --fpfwd-outputs on the head convolutions reaches the --fp32-heads mAP ($recipe vs $heads)" \
    sh -c "[ -n '$heads' ] && [ '$recipe' = '$heads' ]"
  out=$($Q models/fmnist_yolo.onnx --calib $CACHE/yolo/calib -p "$PPY" --limit 8 -q -o $A/y.onnx --fp32-after /h8/Conv_output_0 2>&1)
  check "YOLO: --fp32-after on a head convolution's output (the old reading of the recipe) is refused" sh -c \
    "echo \"$out\" | grep -q 'changes nothing'"
else
  echo "skip: the YOLO recipe needs scripts/setup-data.sh (.cache/yolo)" >&2
fi
finish
