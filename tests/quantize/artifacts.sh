#!/bin/sh
# calib8 quantize artifacts on the real LeNet and ResNet-8 with the 300 labelled PNGs of examples/fmnist:
# calibration table, TensorRT cache, qtable (round trip, a layer edited to F32), --fp32-after/--fp32-before,
# the JSON summary, weight granularities and asymmetric activations, and the QDQ model in `calib8 info` and
# `calib8 run` (whose top-1 on the same images must equal what quantize --test reported).
# Needs /usr/bin/python3 with numpy and onnx (checks in check_artifacts.py); exits 77 (skip) without them.
# Usage: artifacts.sh path/to/calib8   (from the repository root)
. "$(dirname "$0")/lib.sh"
have_python || skip "/usr/bin/python3 with numpy and onnx is needed to read the artifacts"
K="$PY $(dirname "$0")/check_artifacts.py"
Q="$C8 quantize"
ALL_GEMM="/c1/Conv /c2/Conv /f1/Gemm /f2/Gemm /f3/Gemm"
count_op() { "$C8" info "$1" | awk -v op="$2" '$1 == op { print $2 }'; }

# --- one quantization with every artifact ----------------------------------------------------------------------
A=$TMP/a
mkdir "$A"
if $Q $LENET --calib $EX -p $PP_LENET -q -o $A/q.onnx --table $A/t.txt --trt-cache $A/trt.txt --write-qtable $A/qt.txt \
  --json $A/s.json --test $EX --labels $EX/labels.txt >$A/log 2>&1; then
  ok "quantize LeNet with every artifact: $(grep top1 $A/log)"
else
  bad "quantize LeNet: $(cat $A/log)"
fi
check "calibration table" $K table $A/t.txt $A/s.json $A/q.onnx
check "TensorRT cache" $K trt $A/trt.txt $A/t.txt
check "JSON summary" $K json $A/s.json $A/q.onnx $LENET
check "JSON: every MAC in INT8" [ "$($K field $A/s.json macs.int8_fraction)" = 1 ]
check "JSON: method kl, per-channel" [ "$($K field $A/s.json method)/$($K field $A/s.json granularity)" = kl/per-channel ]
check "JSON: 300 test samples" [ "$($K field $A/s.json metrics.count)" = 300 ]
check "qtable: every Conv/Gemm INT8" $K qtable $A/qt.txt /c1/Conv=INT8 /c2/Conv=INT8 /f1/Gemm=INT8 /f2/Gemm=INT8 /f3/Gemm=INT8 /Relu=INT8 /MaxPool=INT8
check "int8 weights" $K weights $A/q.onnx /c1/Conv=int8 /c2/Conv=int8 /f1/Gemm=int8 /f2/Gemm=int8 /f3/Gemm=int8
check "per-channel weight scales" $K scales $A/q.onnx /c1/Conv=per-channel /c2/Conv=per-channel /f1/Gemm=per-channel /f3/Gemm=per-channel

# --- the QDQ model loads and runs in calib8 ---------------------------------------------------------------------
"$C8" info $A/q.onnx >$A/info 2>&1
check "calib8 info: opset 13, 9 QuantizeLinear, 19 DequantizeLinear" \
  sh -c "grep -q '^opset: 13' $A/info && [ '$(count_op $A/q.onnx QuantizeLinear)' = 9 ] && [ '$(count_op $A/q.onnx DequantizeLinear)' = 19 ]"
$PY "$(dirname "$0")/make_npy.py" lenet $EX $EX/labels.txt $TMP/lenet.npy $TMP/labels.txt >/dev/null
"$C8" run $A/q.onnx -i input=$TMP/lenet.npy -o $A/run >/dev/null 2>&1
"$C8" run $LENET -i input=$TMP/lenet.npy -o $A/run32 >/dev/null 2>&1
hits8=$($K hits $A/run/logits.npy $TMP/labels.txt)
hits32=$($K hits $A/run32/logits.npy $TMP/labels.txt)
want8=$($PY -c "import json; m = json.load(open('$A/s.json'))['metrics']; print(round(m['int8'] * m['count']))")
want32=$($PY -c "import json; m = json.load(open('$A/s.json'))['metrics']; print(round(m['fp32'] * m['count']))")
check "calib8 run of the written QDQ model: $hits8 hits, quantize --test counted $want8 (FP32 $hits32 vs $want32)" \
  [ -n "$hits8" ] && [ "$hits8" = "$want8" ] && [ "$hits32" = "$want32" ]

# --- qtable round trip: the written qtable read back gives the same bytes -----------------------------------------
$Q $LENET --calib $EX -p $PP_LENET -q -o $A/q2.onnx --table $A/t2.txt --qtable $A/qt.txt --write-qtable $A/qt2.txt >/dev/null 2>&1
check "qtable round trip: same model" cmp $A/q.onnx $A/q2.onnx
check "qtable round trip: same table and qtable" sh -c "cmp $A/t.txt $A/t2.txt && cmp $A/qt.txt $A/qt2.txt"

# --- one layer edited to F32 --------------------------------------------------------------------------------------
sed 's|^/f1/Gemm INT8$|/f1/Gemm F32|' $A/qt.txt >$A/qt-f1.txt
check "the edit changed one line" [ "$(diff $A/qt.txt $A/qt-f1.txt | grep -c '^>')" = 1 ]
$Q $LENET --calib $EX -p $PP_LENET -q -o $A/q3.onnx --qtable $A/qt-f1.txt --write-qtable $A/qt3.txt --json $A/s3.json >/dev/null 2>&1
check "F32 layer keeps float weights, the others int8" $K weights $A/q3.onnx /f1/Gemm=float /c1/Conv=int8 /c2/Conv=int8 /f2/Gemm=int8 /f3/Gemm=int8
check "F32 layer: its weight and bias DequantizeLinear are gone (19 -> 17)" [ "$(count_op $A/q3.onnx DequantizeLinear)" = 17 ]
check "F32 layer: written back as F32" $K qtable $A/qt3.txt /f1/Gemm=F32 /f2/Gemm=INT8
frac=$($K field $A/s3.json macs.int8_fraction)
check "F32 layer: int8 MAC fraction $frac < 1" $PY -c "import sys; sys.exit(not 0.5 < $frac < 1)"
check "F32 layer: JSON summary" $K json $A/s3.json $A/q3.onnx $LENET

# --- --fp32-after / --fp32-before ---------------------------------------------------------------------------------
$Q $LENET --calib $EX -p $PP_LENET -q -o $A/q4.onnx --fp32-after /Relu_1_output_0 --write-qtable $A/qt4.txt >/dev/null 2>&1
check "--fp32-after /Relu_1_output_0: readers of it and everything after are F32" \
  $K qtable $A/qt4.txt /c1/Conv=INT8 /Relu=INT8 /MaxPool=INT8 /c2/Conv=INT8 /Relu_1=INT8 /MaxPool_1=F32 /Flatten=F32 \
  /f1/Gemm=F32 /Relu_2=F32 /f2/Gemm=F32 /f3/Gemm=F32
check "--fp32-after: weights" $K weights $A/q4.onnx /c1/Conv=int8 /c2/Conv=int8 /f1/Gemm=float /f2/Gemm=float /f3/Gemm=float
$Q $LENET --calib $EX -p $PP_LENET -q -o $A/q5.onnx --fp32-before /MaxPool_output_0 --write-qtable $A/qt5.txt >/dev/null 2>&1
check "--fp32-before /MaxPool_output_0: its producer and everything before are F32" \
  $K qtable $A/qt5.txt /c1/Conv=F32 /Relu=F32 /MaxPool=F32 /c2/Conv=INT8 /f1/Gemm=INT8 /f3/Gemm=INT8
check "--fp32-before: weights" $K weights $A/q5.onnx /c1/Conv=float /c2/Conv=int8 /f1/Gemm=int8
$Q $LENET --calib $EX -p $PP_LENET -q -o $A/q6.onnx --fp32-after /Relu_3_output_0 --fp32-before /c1/Conv_output_0 \
  --write-qtable $A/qt6.txt >/dev/null 2>&1
check "--fp32-after and --fp32-before together" \
  $K qtable $A/qt6.txt /c1/Conv=F32 /c2/Conv=INT8 /f1/Gemm=INT8 /f2/Gemm=INT8 /f3/Gemm=F32
check "a forced-F32 qtable round trip" sh -c "$Q $LENET --calib $EX -p '$PP_LENET' -q -o $A/q6b.onnx --qtable $A/qt6.txt >/dev/null 2>&1 && cmp $A/q6.onnx $A/q6b.onnx"

# --- granularities, ADMM weights, asymmetric activations ------------------------------------------------------------
$Q $LENET --calib $EX -p $PP_LENET -q -o $A/pt.onnx --granularity per-tensor >/dev/null 2>&1
check "per-tensor: one scale per weight tensor" $K scales $A/pt.onnx /c1/Conv=per-tensor /c2/Conv=per-tensor /f1/Gemm=per-tensor
$Q $LENET --calib $EX -p $PP_LENET -q -o $A/mix.onnx --granularity mix >/dev/null 2>&1
check "mix: Conv per channel, Gemm per tensor" $K scales $A/mix.onnx /c1/Conv=per-channel /c2/Conv=per-channel /f1/Gemm=per-tensor /f3/Gemm=per-tensor
$Q $LENET --calib $EX -p $PP_LENET -q -o $A/admm.onnx --weights admm --json $A/admm.json >/dev/null 2>&1
check "admm: other weights than minmax, same activations" sh -c "! cmp -s $A/q.onnx $A/admm.onnx && [ \"\$($K field $A/admm.json weights)\" = admm ]"
check "admm: int8 weights in [-127, 127]" $K scales $A/admm.onnx /c1/Conv=per-channel /f1/Gemm=per-channel
$Q $LENET --calib $EX -p $PP_LENET -q -o $A/asym.onnx --asymmetric --json $A/asym.json --table $A/asym.txt >/dev/null 2>&1
check "symmetric: uint8 activations, zero points 0 and 128" $K activations $A/q.onnx symmetric
check "asymmetric: uint8 activations with other zero points" $K activations $A/asym.onnx asymmetric
check "asymmetric: JSON" $K json $A/asym.json $A/asym.onnx $LENET
$Q $LENET --calib $EX -p $PP_LENET -q -o $A/pct.onnx --method percentile --percentile 99.9 --json $A/pct.json >/dev/null 2>&1
# MACs are per sample, whatever the batch: with --batch 7 the last of the 300 samples' batches holds 6
want=$($K macs $LENET)
$Q $LENET --calib $EX -p $PP_LENET -q -o $A/b7.onnx --batch 7 --json $A/b7.json >/dev/null 2>&1
check "JSON: $want multiply-accumulates per sample with --batch 7 (from ONNX shape inference)" \
  [ "$($K field $A/b7.json macs.total)" = "$want" ] && [ "$($K field $A/s.json macs.total)" = "$want" ]
want=$($K macs $RESNET)
check_resnet_macs() { [ "$($K field $R/s.json macs.total)" = "$want" ]; }
check "percentile 99.9 recorded in the JSON" [ "$($K field $A/pct.json percentile)" = 99.9 ]

# --- ResNet-8: residual Add and GlobalAveragePool carry int8; every artifact consistent ------------------------------
R=$TMP/r
mkdir "$R"
$Q $RESNET --calib $EX -p $PP_RESNET -q --batch 16 -o $R/q.onnx --table $R/t.txt --trt-cache $R/trt.txt --json $R/s.json \
  --write-qtable $R/qt.txt >/dev/null 2>&1
check "ResNet-8 table" $K table $R/t.txt $R/s.json $R/q.onnx
check "ResNet-8 TensorRT cache" $K trt $R/trt.txt $R/t.txt
check "ResNet-8 JSON" $K json $R/s.json $R/q.onnx $RESNET
check "ResNet-8: residual Add in the table" grep -q '^/l/l.0/Add_output_0 ' $R/t.txt
check "ResNet-8: $want multiply-accumulates per sample (batch 16)" check_resnet_macs
check "ResNet-8: every MAC in INT8" [ "$($K field $R/s.json macs.int8_fraction)" = 1 ]
finish
