#!/bin/sh
# PaddleOCR's published models quantize although they were exported at old opsets (issue 12.1): rec and cls are
# opset 9, det opset 11. calib8 writes them at opset 13, where per-channel QuantizeLinear/DequantizeLinear exist,
# rewriting every operator whose form changed (Softmax's axis semantics, Clip/Slice/Squeeze attributes that became
# inputs; c8_op_def.upgrade). Checked per model, on the reference input of tests/models (.cache/refs):
#   1. the rewritten FP32 graph (every layer kept FP32 with --fp32-after on the input) is opset 13, and calib8 and
#      ONNX Runtime both compute on it what ONNX Runtime computes on the original model;
#   2. the INT8 model loads in ONNX Runtime, is opset 13 with per-channel weights, and ORT agrees with calib8 on it
#      (cosine: ORT's integer kernels round requantizations their own way). For cls its output stays close to FP32;
#      for rec and det, quantized all-INT8 on a single reference batch, the cosine to FP32 is printed, not checked
#      (their accuracy is the search's job: calib8 auto keeps the layers that hurt in FP32).
# Skipped (77) without the setup data (scripts/setup-data.sh) or ONNX Runtime.
# Usage: ocr-opset.sh path/to/calib8   (from the repository root)
. "$(dirname "$0")/lib.sh"
have_python || skip "/usr/bin/python3 with numpy and onnx is needed"
[ -f "$CACHE/models/ch_PP-OCRv4_rec_infer.onnx" ] && [ -d "$CACHE/refs/ppocr_rec" ] ||
  skip "PaddleOCR models or references are not in $CACHE (run scripts/setup-data.sh)"
[ -d "$CACHE/npm/node_modules/onnxruntime-node" ] && command -v node >/dev/null ||
  skip "ONNX Runtime is not in $CACHE/npm (run scripts/setup-data.sh)"
close() { # close A.npy B.npy MAXREL MINCOS: max |a-b| / max |b| and the cosine
  $PY - "$@" <<'PYEOF'
import sys
import numpy as np
a, b = np.load(sys.argv[1]).astype(np.float64), np.load(sys.argv[2]).astype(np.float64)
if a.shape != b.shape:
    print(f'shapes {a.shape} and {b.shape}'); sys.exit(1)
rel = float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-30))
cos = float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum()))
print(f'max rel diff {rel:.3g}, cosine {cos:.6f}')
sys.exit(0 if rel <= float(sys.argv[3]) and cos >= float(sys.argv[4]) else 1)
PYEOF
}
for m in cls rec det; do
  model=$(ls $CACHE/models/*${m}_infer.onnx)
  ref=$CACHE/refs/ppocr_$m
  out=$(ls $ref/*.npy | grep -v '/in.npy$' | head -1)
  outname=$(basename "$out")
  in=$(build_in=$("$C8" info "$model" | sed -n '/^inputs:/{n;p}' | awk '{print $1}'); echo "$build_in")
  opset=$("$C8" info "$model" | sed -n 's/^opset: //p')
  # 1. the rewritten FP32 graph
  if "$C8" quantize "$model" --calib $ref/in.npy --fp32-after "$in" -q -o "$TMP/$m-fp32.onnx" >"$TMP/log" 2>&1; then
    ok "$m (opset $opset): written at opset $("$C8" info "$TMP/$m-fp32.onnx" | sed -n 's/^opset: //p') with every layer FP32"
  else
    bad "$m: the FP32 rewrite failed: $(cat "$TMP/log")"
    continue
  fi
  "$C8" run "$TMP/$m-fp32.onnx" -i $ref/in.npy -o "$TMP/$m-fp32-c8" >/dev/null 2>&1
  node tools/ort/run_ort.js "$TMP/$m-fp32.onnx" -i $ref/in.npy -o "$TMP/$m-fp32-ort" --quiet >/dev/null 2>&1
  r=$(close "$TMP/$m-fp32-c8/$outname" $out 1e-3 0.9999) && ok "$m: calib8 on the rewritten graph = ORT on the original ($r)" ||
    bad "$m: calib8 on the rewritten graph differs from ORT on the original: $r"
  r=$(close "$TMP/$m-fp32-ort/$outname" $out 1e-3 0.9999) && ok "$m: ORT on the rewritten graph = ORT on the original ($r)" ||
    bad "$m: ORT on the rewritten graph differs from ORT on the original: $r"
  # 2. the INT8 model
  if ! "$C8" quantize "$model" --calib $ref/in.npy -q -o "$TMP/$m-int8.onnx" >"$TMP/log" 2>&1; then
    bad "$m: quantize failed: $(cat "$TMP/log")"
    continue
  fi
  "$C8" run "$TMP/$m-int8.onnx" -i $ref/in.npy -o "$TMP/$m-int8-c8" >/dev/null 2>&1
  if node tools/ort/run_ort.js "$TMP/$m-int8.onnx" -i $ref/in.npy -o "$TMP/$m-int8-ort" --quiet >"$TMP/log" 2>&1; then
    ok "$m: ONNX Runtime loads and runs the INT8 model"
  else
    bad "$m: ONNX Runtime cannot run the INT8 model: $(tail -2 "$TMP/log")"
    continue
  fi
  check "$m: the INT8 model is opset 13 with per-channel weights" $PY -c "
import sys, onnx
m = onnx.load('$TMP/$m-int8.onnx')
assert [o.version for o in m.opset_import if o.domain in ('', 'ai.onnx')] == [13]
axes = [a for n in m.graph.node if n.op_type == 'DequantizeLinear' for a in n.attribute if a.name == 'axis']
assert axes, 'no per-channel DequantizeLinear'"
  r=$(close "$TMP/$m-int8-c8/$outname" "$TMP/$m-int8-ort/$outname" 1 0.995) && ok "$m: calib8 and ORT agree on the INT8 model ($r)" ||
    bad "$m: calib8 and ORT disagree on the INT8 model: $r"
  if [ $m = cls ]; then
    r=$(close "$TMP/$m-int8-c8/$outname" $out 1 0.99) && ok "$m: INT8 close to FP32 ($r)" || bad "$m: INT8 far from FP32: $r"
  else
    echo "info $m: all-INT8 against FP32: $(close "$TMP/$m-int8-c8/$outname" $out 1 0)" >&2
  fi
done
finish
