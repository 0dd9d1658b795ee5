#!/bin/sh
# ONNX Runtime loads the QDQ models calib8 exports and computes what calib8 computes: LeNet and ResNet-8 under
# several method/granularity/weight/activation settings, run by ORT (tools/ort/run_ort.js) and by `calib8 run`
# on the 300 preprocessed images of examples/fmnist. ORT fuses the QDQ pattern into integer kernels
# (QLinearConv, QGemm, ...), calib8 dequantizes and computes in float: the logits may differ by one step of
# their quantization scale (a requantization rounding the other way), the top-1 class on at most 1 % of images.
# ORT must also fuse the QDQ pattern completely: no float Conv, Gemm or Add left in the graph it runs.
# Skipped (77) without ONNX Runtime (scripts/setup-data.sh puts it in .cache/npm) or python3 with numpy/onnx.
# Usage: ort-load.sh path/to/calib8   (from the repository root)
. "$(dirname "$0")/lib.sh"
have_python || skip "/usr/bin/python3 with numpy and onnx is needed"
[ -d "$CACHE/npm/node_modules/onnxruntime-node" ] && command -v node >/dev/null ||
  skip "ONNX Runtime is not in $CACHE/npm (run scripts/setup-data.sh)"
for m in lenet resnet8; do
  $PY "$(dirname "$0")/make_npy.py" $m $EX $EX/labels.txt "$TMP/$m.npy" "$TMP/labels.txt" >/dev/null ||
    bad "make_npy $m"
done
# The preprocessed arrays must be what calib8 computes from the PNGs: the calibration statistics from the .npy
# and from the PNG folder are then identical (every tensor's min, max and threshold).
for m in lenet resnet8; do
  if [ $m = lenet ]; then model=$LENET pp=$PP_LENET; else model=$RESNET pp=$PP_RESNET; fi
  "$C8" quantize $model --calib $EX -p "$pp" -q -o "$TMP/png.onnx" --table "$TMP/png.txt" >/dev/null 2>&1
  "$C8" quantize $model --calib "$TMP/$m.npy" -q -o "$TMP/npy.onnx" --table "$TMP/npy.txt" >/dev/null 2>&1
  check "$m: the .npy and the PNGs give the same calibration" sh -c "cmp '$TMP/png.txt' '$TMP/npy.txt' && cmp '$TMP/png.onnx' '$TMP/npy.onnx'"
done

compare() { # compare TAG: calib8 and ORT outputs of $TMP/TAG.onnx
  $PY - "$TMP/$1" <<'PYEOF'
import json, sys
import numpy as np
d = sys.argv[1]
a, b = np.load(f'{d}-c8/logits.npy'), np.load(f'{d}-ort/logits.npy')
step = [t['scale'] for t in json.load(open(f'{d}.json'))['tensors'] if t['name'] == 'logits'][0]
diff = float(np.abs(a - b).max())
steps = diff / step
dis = int((a.argmax(1) != b.argmax(1)).sum())
print(f'max |calib8 - ORT| {diff:.6g} = {steps:.3f} output steps, {int((a != b).sum())} of {a.size} logits differ, '
      f'top-1 differs on {dis} of {len(a)}')
sys.exit(0 if a.shape == b.shape and steps <= 1.001 and dis <= len(a) // 100 else 1)
PYEOF
}
# fused MODEL.onnx: ORT turns every Conv and Gemm of calib8's QDQ model into an integer kernel (QLinearConv,
# QGemm), and every residual Add into QLinearAdd; prints the optimized graph's operators.
fused() {
  node "$(dirname "$0")/ort_optimize.js" "$1" "$1.ort.onnx" 2>/dev/null || { echo "ORT could not optimize $1"; return 1; }
  $PY - "$1.ort.onnx" <<'PYEOF'
import collections, sys
import onnx
ops = collections.Counter(n.op_type for n in onnx.load(sys.argv[1]).graph.node)
print(' '.join(f'{k}:{v}' for k, v in sorted(ops.items())))
sys.exit(1 if ops['Conv'] or ops['Gemm'] or ops['MatMul'] or ops['Add'] else 0)
PYEOF
}

for m in lenet resnet8; do
  if [ $m = lenet ]; then model=$LENET; else model=$RESNET; fi
  for cfg in "kl" "percentile --granularity per-tensor" "mse --granularity mix --asymmetric" "aciq --weights admm" "max"; do
    tag=$m-$(echo $cfg | tr -d ' -')
    "$C8" quantize $model --calib "$TMP/$m.npy" -q -o "$TMP/$tag.onnx" --json "$TMP/$tag.json" --method $cfg >/dev/null 2>&1 ||
      bad "$tag: quantize failed"
    "$C8" run "$TMP/$tag.onnx" -i input="$TMP/$m.npy" -o "$TMP/$tag-c8" >/dev/null 2>&1 || bad "$tag: calib8 run failed"
    if node tools/ort/run_ort.js "$TMP/$tag.onnx" -i input="$TMP/$m.npy" -o "$TMP/$tag-ort" --threads 1 >"$TMP/ort.log" 2>&1; then
      if out=$(compare $tag); then ok "$tag: ORT loads it; $out"; else bad "$tag: $out"; fi
      if out=$(fused "$TMP/$tag.onnx"); then ok "$tag: ORT runs every Conv/Gemm/Add in integers: $out"; else bad "$tag: ORT left float compute: $out"; fi
    else
      bad "$tag: ONNX Runtime failed: $(cat "$TMP/ort.log")"
    fi
  done
done
finish
