#!/bin/sh
# calib8 eval --metric similarity --reference FP32.onnx (docs/metrics.md), end to end:
#   classifier (LeNet, output [N,10]): top-1 agreement; the model against itself is 1.0; its KL-calibrated QDQ
#   model agrees on at least 98 % of 200 real test images; a QDQ model with a bad threshold (percentile 50)
#   scores far lower; the count matches an independent numpy argmax over calib8 run outputs;
#   non-classifier (LeNet's logits through Sigmoid, reshaped to [N,5,2]): mean per-sample cosine, 1.0 against
#   itself, and for a QDQ model equal to numpy's over outputs of `calib8 run`;
#   bad requests give one line.
# Usage: similarity.sh path/to/calib8   (run from the repository root)
HARNESS_NAME=similarity
. tests/harness.sh
MODEL=models/fmnist_lenet.onnx
FIX=tests/data/fixtures/fmnist
PP="mean_value=72.94,std_value=90.0"

out=$("$C8" eval "$MODEL" --data "$FIX" -p "$PP" --metric similarity --reference "$MODEL" --batch 8 --json "$TMP/self.json" 2>&1); rc=$?
if [ $rc -eq 0 ] && [ "$(json "$TMP/self.json" value)" = "1" ] && [ "$(json "$TMP/self.json" count)" = "200" ] &&
   [ "$(json "$TMP/self.json" correct)" = "200" ] && [ "$(json "$TMP/self.json" kind)" = "top1_agreement" ] &&
   [ "$(json "$TMP/self.json" metric)" = "similarity" ]; then
  ok "model against itself: 1.0 ($out)"
else bad "self: rc=$rc $out $(cat "$TMP/self.json" 2>/dev/null)"; fi

"$C8" quantize "$MODEL" --calib "$FIX" -p "$PP" -o "$TMP/kl.onnx" -q >/dev/null 2>&1 || bad "quantize (kl)"
"$C8" quantize "$MODEL" --calib "$FIX" -p "$PP" -o "$TMP/p50.onnx" -q --method percentile --percentile 50 >/dev/null 2>&1 ||
  bad "quantize (percentile 50)"
out=$("$C8" eval "$TMP/kl.onnx" --data "$FIX" -p "$PP" --metric similarity --reference "$MODEL" --json "$TMP/kl.json" 2>&1); rc=$?
v=$(json "$TMP/kl.json" value 2>/dev/null)
if [ $rc -eq 0 ] && $PY -c "import sys; assert 0.98 <= float(sys.argv[1]) <= 1" "$v"; then ok "KL QDQ against FP32: $v"; else bad "KL: rc=$rc $out"; fi
out=$("$C8" eval "$TMP/p50.onnx" --data "$FIX" -p "$PP" --metric similarity --reference "$MODEL" --json "$TMP/p50.json" 2>&1); rc=$?
v50=$(json "$TMP/p50.json" value 2>/dev/null)
if [ $rc -eq 0 ] && $PY -c "import sys; assert float(sys.argv[1]) < 0.5" "$v50"; then ok "percentile-50 QDQ against FP32: $v50"; else bad "p50: rc=$rc $out"; fi

# independent check of the agreement count: argmax of both models' logits from `calib8 run` over .npy inputs
$PY - "$FIX" "$TMP" <<'EOF'
import numpy as np, os, sys
from PIL import Image
fix, tmp = sys.argv[1:]
names = sorted(f for f in os.listdir(fix) if f.endswith('.png'))[:40]
x = np.stack([(np.asarray(Image.open(os.path.join(fix, n)), np.float32)[None] - np.float32(72.94)) / np.float32(90.0) for n in names])
np.save(os.path.join(tmp, 'x40.npy'), x.astype(np.float32))
EOF
"$C8" run "$MODEL" -i "input=$TMP/x40.npy" -o "$TMP/fp" >/dev/null 2>&1
"$C8" run "$TMP/p50.onnx" -i "input=$TMP/x40.npy" -o "$TMP/q" >/dev/null 2>&1
out=$("$C8" eval "$TMP/p50.onnx" --data "$TMP/x40.npy" --metric similarity --reference "$MODEL" --batch 5 --json "$TMP/n40.json" 2>&1); rc=$?
if [ $rc -eq 0 ] && $PY - "$TMP" "$(json "$TMP/n40.json" correct)" <<'EOF'
import numpy as np, sys
tmp, got = sys.argv[1], int(sys.argv[2])
a = np.load(tmp + '/fp/logits.npy').argmax(1)
b = np.load(tmp + '/q/logits.npy').argmax(1)
want = int((a == b).sum())
assert got == want, (got, want)
print('agree', got, 'of', len(a))
EOF
then ok "agreement count equals numpy's argmax over calib8 run outputs"; else bad "agreement count: rc=$rc $out"; fi

# --- a non-classifier: LeNet's logits through Sigmoid, reshaped to [N,5,2] (rank 3: not a classifier) -----------
$PY - "$MODEL" "$TMP" <<'EOF'
import onnx, sys
from onnx import helper, TensorProto, numpy_helper
import numpy as np
m = onnx.load(sys.argv[1])
g = m.graph
out = g.output[0].name
g.initializer.append(numpy_helper.from_array(np.array([-1, 5, 2], np.int64), 'shape_n52'))
g.node.append(helper.make_node('Sigmoid', [out], ['sig']))
g.node.append(helper.make_node('Reshape', ['sig', 'shape_n52'], ['maps']))
del g.output[:]
g.output.append(helper.make_tensor_value_info('maps', TensorProto.FLOAT, ['N', 5, 2]))
onnx.save(m, sys.argv[2] + '/maps.onnx')
EOF
out=$("$C8" eval "$TMP/maps.onnx" --data "$FIX" -p "$PP" --metric similarity --reference "$TMP/maps.onnx" --json "$TMP/maps.json" 2>&1); rc=$?
if [ $rc -eq 0 ] && [ "$(json "$TMP/maps.json" kind)" = "mean_cosine" ] && [ "$(json "$TMP/maps.json" value)" = "1" ]; then
  ok "non-classifier against itself: mean cosine 1.0"
else bad "maps self: rc=$rc $out"; fi
"$C8" quantize "$TMP/maps.onnx" --calib "$FIX" -p "$PP" -o "$TMP/maps_q.onnx" -q --method percentile --percentile 50 >/dev/null 2>&1 || bad "quantize maps"
"$C8" run "$TMP/maps.onnx" -i "input=$TMP/x40.npy" -o "$TMP/mfp" >/dev/null 2>&1
"$C8" run "$TMP/maps_q.onnx" -i "input=$TMP/x40.npy" -o "$TMP/mq" >/dev/null 2>&1
out=$("$C8" eval "$TMP/maps_q.onnx" --data "$TMP/x40.npy" --metric similarity --reference "$TMP/maps.onnx" --batch 3 --json "$TMP/mq.json" 2>&1); rc=$?
if [ $rc -eq 0 ] && $PY - "$TMP" "$(json "$TMP/mq.json" value)" <<'EOF'
import numpy as np, sys
tmp, got = sys.argv[1], float(sys.argv[2])
a = np.load(tmp + '/mfp/maps.npy').reshape(40, -1).astype(np.float64)
b = np.load(tmp + '/mq/maps.npy').reshape(40, -1).astype(np.float64)
c = (a * b).sum(1) / np.sqrt((a * a).sum(1) * (b * b).sum(1))
want = np.clip(c, 0, 1).mean()
assert abs(got - want) < 1e-6 and want < 0.9999, (got, want)
print('mean cosine', got)
EOF
then ok "mean per-sample cosine equals numpy's"; else bad "mean cosine: rc=$rc $out"; fi

# --- bad requests ------------------------------------------------------------------------------------------
out=$("$C8" eval "$MODEL" --data "$FIX" --metric similarity 2>&1); rc=$?
if [ $rc -eq 2 ] && one_line "$out" && echo "$out" | grep -q "needs --reference FP32.onnx"; then ok "similarity without --reference"; else bad "no reference: rc=$rc $out"; fi
out=$("$C8" eval "$MODEL" --data "$FIX" --labels "$FIX/labels.txt" --reference "$MODEL" 2>&1); rc=$?
if [ $rc -eq 2 ] && one_line "$out" && echo "$out" | grep -q "only used by --metric similarity"; then ok "--reference with top1"; else bad "reference with top1: rc=$rc $out"; fi
out=$("$C8" eval "$MODEL" --data "$FIX" -p "$PP" --metric similarity --reference "$TMP/missing.onnx" 2>&1); rc=$?
if [ $rc -ne 0 ] && one_line "$out" && echo "$out" | grep -q "cannot open '$TMP/missing.onnx'"; then ok "missing reference"; else bad "missing reference: rc=$rc $out"; fi
out=$("$C8" eval "$MODEL" --data "$FIX" -p "$PP" --metric similarity --reference "$TMP/maps.onnx" 2>&1); rc=$?
if [ $rc -ne 0 ] && one_line "$out" && echo "$out" | grep -q "has no output named 'logits'"; then ok "reference without the model's output"; else bad "output mismatch: rc=$rc $out"; fi

echo "$pass passed, $fail failed" >&2
[ $fail -eq 0 ]
