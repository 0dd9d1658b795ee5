#!/bin/sh
# calib8 compare end to end on the real Fashion-MNIST LeNet and 200 real test PNGs:
#   a model against itself is identical everywhere (cosine 1, exit 0); a well calibrated QDQ model passes;
#   a QDQ model with a deliberately bad threshold (percentile 50) is flagged at the right first tensor, as a
#   layer that hurts by itself; a milder one (percentile 90) is flagged at a tensor that only inherits damage;
#   the numbers do not depend on the batch size or on padding of a fixed batch; memory does not grow with the
#   sample count; bad requests give one line and a non-zero exit.
# Usage: compare.sh path/to/calib8   (run from the repository root)
HARNESS_NAME=compare
. tests/harness.sh
MODEL=models/fmnist_lenet.onnx
FIX=tests/data/fixtures/fmnist
PP="mean_value=72.94,std_value=90.0"

# --- a model against itself -------------------------------------------------------------------------------
out=$("$C8" compare "$MODEL" "$MODEL" --data "$FIX" -p "$PP" --batch 8 --json "$TMP/self.json" 2>&1); rc=$?
if [ $rc -eq 0 ] && echo "$out" | grep -q "all 12 tensors are within tolerance" &&
   $PY - "$TMP/self.json" <<'EOF'
import json, sys
j = json.load(open(sys.argv[1]))
assert j['samples'] == 200 and j['pass'] and j['first_failure'] is None, j
assert len(j['tensors']) == 12
for t in j['tensors']:
    for k in ('accumulated', 'isolated'):
        assert abs(t[k]['cosine'] - 1) < 1e-12 and abs(t[k]['euclidean'] - 1) < 1e-6 and t[k]['sqnr_db'] is None, t
EOF
then ok "self compare: 12 tensors, cosine 1 everywhere, exit 0"; else bad "self compare: rc=$rc $out"; fi

# --- quantized models ---------------------------------------------------------------------------------------
"$C8" quantize "$MODEL" --calib "$FIX" -p "$PP" -o "$TMP/kl.onnx" -q >/dev/null 2>&1 || bad "quantize (kl)"
"$C8" quantize "$MODEL" --calib "$FIX" -p "$PP" -o "$TMP/p50.onnx" -q --method percentile --percentile 50 >/dev/null 2>&1 ||
  bad "quantize (percentile 50)"
"$C8" quantize "$MODEL" --calib "$FIX" -p "$PP" -o "$TMP/p90.onnx" -q --method percentile --percentile 90 >/dev/null 2>&1 ||
  bad "quantize (percentile 90)"

out=$("$C8" compare "$MODEL" "$TMP/kl.onnx" --data "$FIX" -p "$PP" --batch 16 --json "$TMP/kl.json" 2>&1); rc=$?
if [ $rc -eq 0 ] && echo "$out" | grep -q "all 12 tensors are within tolerance" &&
   $PY - "$TMP/kl.json" <<'EOF'
import json, sys
j = json.load(open(sys.argv[1]))
t = j['tensors']
# quantized, so not identical, but close: every tensor above cosine 0.999
assert all(0.999 < x['accumulated']['cosine'] < 1 for x in t), t
# the first convolution reads the graph input: accumulated and isolated errors are the same there
assert t[0]['accumulated'] == t[0]['isolated'], t[0]
EOF
then ok "KL-calibrated model within the default tolerance"; else bad "KL model: rc=$rc $out"; fi

out=$("$C8" compare "$MODEL" "$TMP/p50.onnx" --data "$FIX" -p "$PP" --batch 16 --json "$TMP/p50.json" 2>&1); rc=$?
if [ $rc -eq 3 ] && echo "$out" | grep -q "first tensor below tolerance: '/Relu_output_0' (Relu node '/Relu')" &&
   echo "$out" | grep -q "it hurts by itself" &&
   $PY - "$TMP/p50.json" <<'EOF'
import json, sys
j = json.load(open(sys.argv[1]))
assert not j['pass'] and j['first_failure']['name'] == '/Relu_output_0' and j['first_failure']['cause'] == 'itself', j
assert j['tensors'][0]['pass'] and not j['tensors'][1]['pass']
EOF
then ok "percentile 50: first bad tensor /Relu_output_0, hurts by itself, exit 3"; else bad "percentile 50: rc=$rc $out"; fi

out=$("$C8" compare "$MODEL" "$TMP/p90.onnx" --data "$FIX" -p "$PP" --batch 16 2>&1); rc=$?
if [ $rc -eq 3 ] && echo "$out" | grep -q "first tensor below tolerance: '/Relu_1_output_0'" &&
   echo "$out" | grep -q "it only inherits damage" && echo "$out" | grep -q "the largest error of its own before it is at"; then
  ok "percentile 90: first bad tensor /Relu_1_output_0 only inherits damage"
else bad "percentile 90: rc=$rc $out"; fi

# a stricter tolerance flags the KL model too; a lax one passes the percentile 50 model
out=$("$C8" compare "$MODEL" "$TMP/kl.onnx" --data "$FIX" -p "$PP" --tolerance 0.99999,0.99 --limit 20 2>&1); rc=$?
if [ $rc -eq 3 ] && echo "$out" | grep -q "tolerance: cosine 0.99999, euclidean 0.99"; then ok "--tolerance is applied"; else bad "--tolerance strict: rc=$rc $out"; fi
out=$("$C8" compare "$MODEL" "$TMP/p50.onnx" --data "$FIX" -p "$PP" --tolerance -1,-5 --limit 20 2>&1); rc=$?
if [ $rc -eq 0 ]; then ok "--tolerance -1,-5 passes everything"; else bad "--tolerance lax: rc=$rc $out"; fi

# --- batch size and fixed-batch padding do not change the numbers ------------------------------------------
"$C8" compare "$MODEL" "$TMP/p90.onnx" --data "$FIX" -p "$PP" --batch 1 --limit 10 --json "$TMP/b1.json" >/dev/null 2>&1
"$C8" compare "$MODEL" "$TMP/p90.onnx" --data "$FIX" -p "$PP" --batch 7 --limit 10 --json "$TMP/b7.json" >/dev/null 2>&1
$PY - "$MODEL" "$TMP/p90.onnx" "$TMP" <<'EOF'
import onnx, sys
for src, dst in ((sys.argv[1], 'fp32_b4.onnx'), (sys.argv[2], 'int8_b4.onnx')):
    m = onnx.load(src)
    m.graph.input[0].type.tensor_type.shape.dim[0].dim_value = 4
    onnx.save(m, sys.argv[3] + '/' + dst)
EOF
"$C8" compare "$TMP/fp32_b4.onnx" "$TMP/int8_b4.onnx" --data "$FIX" -p "$PP" --limit 10 --json "$TMP/fixed.json" >/dev/null 2>&1
if $PY - "$TMP/b1.json" "$TMP/b7.json" "$TMP/fixed.json" <<'EOF'
import json, sys
a, b, c = (json.load(open(p)) for p in sys.argv[1:])
assert a['samples'] == b['samples'] == c['samples'] == 10
for x, y, z in zip(a['tensors'], b['tensors'], c['tensors']):
    for k in ('accumulated', 'isolated'):
        for m in ('cosine', 'euclidean', 'sqnr_db'):
            assert abs(x[k][m] - y[k][m]) < 1e-9 and abs(x[k][m] - z[k][m]) < 1e-9, (x, y, z)
EOF
then ok "batch 1, batch 7 and a fixed batch of 4 (padded) give the same numbers"; else bad "batch independence"; fi

# --- memory does not grow with the number of samples (skipped under AddressSanitizer, which keeps freed memory)
# (clang links ASan statically: ldd does not show it, the binary's __asan_init does)
if [ -x /usr/bin/time ] && ! ldd "$C8" 2>/dev/null | grep -q asan && ! grep -qa __asan_init "$C8"; then
  m8=$(/usr/bin/time -f %M "$C8" compare "$MODEL" "$TMP/kl.onnx" --data "$FIX" -p "$PP" --batch 8 --limit 8 2>&1 >/dev/null | tail -1)
  m200=$(/usr/bin/time -f %M "$C8" compare "$MODEL" "$TMP/kl.onnx" --data "$FIX" -p "$PP" --batch 8 2>&1 >/dev/null | tail -1)
  if [ $((m200 - m8)) -lt 1024 ]; then ok "peak memory 8 samples ${m8} KB, 200 samples ${m200} KB"; else bad "memory grows: ${m8} KB -> ${m200} KB"; fi
fi

# --- bad requests: one line, non-zero exit --------------------------------------------------------------------
out=$("$C8" compare "$TMP/missing.onnx" "$MODEL" --data "$FIX" 2>&1); rc=$?
if [ $rc -ne 0 ] && one_line "$out" && echo "$out" | grep -q "cannot open '$TMP/missing.onnx'"; then ok "missing model"; else bad "missing model: rc=$rc $out"; fi
$PY - "$MODEL" "$TMP/renamed.onnx" <<'EOF'
import onnx, sys
m = onnx.load(sys.argv[1])
ren = {}
for n in m.graph.node:
    for i, o in enumerate(n.output):
        ren[o] = 'other_' + o
        n.output[i] = ren[o]
for n in m.graph.node:
    for i, x in enumerate(n.input):
        n.input[i] = ren.get(x, x)
for o in m.graph.output:
    o.name = ren.get(o.name, o.name)
onnx.save(m, sys.argv[2])
EOF
out=$("$C8" compare "$MODEL" "$TMP/renamed.onnx" --data "$FIX" -p "$PP" 2>&1); rc=$?
if [ $rc -ne 0 ] && one_line "$out" && echo "$out" | grep -q "share no tensor names"; then ok "no shared tensors"; else bad "no shared tensors: rc=$rc $out"; fi
for tol in 0.99 2,0.5 a,b 0.9,1.5 0.9,; do
  out=$("$C8" compare "$MODEL" "$MODEL" --data "$FIX" --tolerance "$tol" 2>&1); rc=$?
  if [ $rc -eq 2 ] && one_line "$out" && echo "$out" | grep -q "tolerance '$tol' needs two numbers COS,EUCLID"; then
    ok "bad --tolerance $tol"
  else bad "bad --tolerance $tol: rc=$rc $out"; fi
done
out=$("$C8" compare "$MODEL" "$MODEL" 2>&1); rc=$?
if [ $rc -eq 2 ] && echo "$out" | grep -q "compare needs FP32.onnx, INT8.onnx and --data SRC"; then ok "missing --data"; else bad "missing --data: rc=$rc $out"; fi
out=$("$C8" compare "$MODEL" models/fmnist_resnet8.onnx --data "$FIX" -p "$PP" 2>&1); rc=$?
if [ $rc -ne 0 ] && one_line "$out" && echo "$out" | grep -q "both models must read the same tensors"; then ok "unrelated models: $out"; else bad "unrelated models: rc=$rc $out"; fi

echo "$pass passed, $fail failed" >&2
[ $fail -eq 0 ]
