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
finish
