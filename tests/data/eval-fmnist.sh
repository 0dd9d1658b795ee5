#!/bin/sh
# End to end: `calib8 eval` of the real Fashion-MNIST LeNet over 200 real test-set PNGs
# (tests/data/fixtures/fmnist) must count exactly as many top-1 and top-5 hits as the numpy forward
# pass in tests/data/gen/make_fixtures.py (fixtures/fmnist/expected.json), and the CLI must reject bad
# requests with one clear line. Usage: eval-fmnist.sh path/to/calib8   (run from the repository root)
# The model needs Conv, Relu, MaxPool, Flatten and Gemm; without them the eval step fails with
# "unsupported operator".
set -u
C8=$1
MODELS=${CALIB8_MODELS:-models}
MODEL=$MODELS/fmnist_lenet.onnx
FIX=tests/data/fixtures/fmnist
TMP=$(mktemp -d /tmp/c8-eval-XXXXXX)
trap 'rm -rf "$TMP"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok   $1" >&2; }
bad() { fail=$((fail + 1)); echo "FAIL $1" >&2; }
json_int() { sed -n "s/.*\"$2\": *\([0-9][0-9]*\).*/\1/p" "$1" | head -1; }

# --- CLI errors that need no operators -------------------------------------------------------------
out=$("$C8" eval "$MODEL" --data "$FIX" --labels "$FIX/labels.txt" --metric map 2>&1); rc=$?
if [ $rc -ne 0 ] && [ "$(echo "$out" | wc -l)" -eq 1 ] && echo "$out" | grep -q "needs 5 comma-separated fields"; then ok "--metric map refuses class labels, naming the line and box"; else bad "--metric map with class labels: rc=$rc $out"; fi
out=$("$C8" eval "$MODEL" --data "$FIX" --preprocess "resize_h=28" 2>&1); rc=$?
if [ $rc -eq 2 ] && echo "$out" | grep -q "parameter 'resize_h' in operation 1 needs 'resize_w' too"; then ok "rejects a bad preprocessing string"; else bad "bad preprocessing string: rc=$rc $out"; fi
out=$("$C8" eval "$MODEL" --data "$FIX" --template nope 2>&1); rc=$?
if [ $rc -eq 2 ] && echo "$out" | grep -q "unknown preprocessing template 'nope'"; then ok "rejects an unknown template"; else bad "unknown template: rc=$rc $out"; fi
out=$("$C8" eval --print-templates 2>&1); rc=$?
if [ $rc -eq 0 ] && echo "$out" | grep -q "^imagenet_torch"; then ok "--print-templates"; else bad "--print-templates: rc=$rc"; fi

# --- the real evaluation ---------------------------------------------------------------------------
exp1=$(json_int "$FIX/expected.json" top1_correct)
exp5=$(json_int "$FIX/expected.json" top5_correct)
count=$(json_int "$FIX/expected.json" count)
for batch in 1 7; do
  out=$("$C8" eval "$MODEL" --data "$FIX" --labels "$FIX/labels.txt" --preprocess "mean_value=72.94,std_value=90.0" \
        --metric top1 --batch $batch --json "$TMP/top1.json" 2>&1); rc=$?
  got=$(json_int "$TMP/top1.json" correct 2>/dev/null)
  n=$(json_int "$TMP/top1.json" count 2>/dev/null)
  if [ $rc -eq 0 ] && [ "$got" = "$exp1" ] && [ "$n" = "$count" ]; then
    ok "top1 batch $batch: $got of $n, numpy says $exp1 ($out)"
  else
    bad "top1 batch $batch: rc=$rc got '$got' of '$n', numpy says $exp1 of $count: $out"
  fi
done
out=$("$C8" eval "$MODEL" --data "$FIX" --labels "$FIX/labels.txt" --preprocess "mean_value=72.94,std_value=90.0" \
      --metric top5 --batch 16 --json "$TMP/top5.json" 2>&1); rc=$?
got=$(json_int "$TMP/top5.json" correct 2>/dev/null)
if [ $rc -eq 0 ] && [ "$got" = "$exp5" ]; then ok "top5: $got, numpy says $exp5"; else bad "top5: rc=$rc got '$got', numpy says $exp5: $out"; fi

# --- a model with a fixed batch of 4: the short final batch is padded, padded rows are not scored ---
if /usr/bin/python3 -c "import onnx" 2>/dev/null; then
  /usr/bin/python3 -c "
import onnx, sys
m = onnx.load(sys.argv[1]); m.graph.input[0].type.tensor_type.shape.dim[0].dim_value = 4; onnx.save(m, sys.argv[2])
" "$MODEL" "$TMP/lenet_b4.onnx"
  a=$("$C8" eval "$TMP/lenet_b4.onnx" --data "$FIX" --labels "$FIX/labels.txt" -p "mean_value=72.94,std_value=90.0" --limit 10 2>&1)
  b=$("$C8" eval "$MODEL" --data "$FIX" --labels "$FIX/labels.txt" -p "mean_value=72.94,std_value=90.0" --limit 10 2>&1)
  if [ -n "$a" ] && [ "$a" = "$b" ] && echo "$a" | grep -q "of 10 samples"; then ok "fixed batch 4 over 10 samples: $a"; else bad "fixed batch: '$a' vs '$b'"; fi
  out=$("$C8" eval "$TMP/lenet_b4.onnx" --data "$FIX" --labels "$FIX/labels.txt" --batch 3 2>&1); rc=$?
  if [ $rc -ne 0 ] && echo "$out" | grep -q "fixed batch of 4; --batch 3 is not possible"; then ok "fixed batch vs --batch"; else bad "fixed batch vs --batch: $out"; fi
fi

# --- label count mismatch (needs the model loaded) -------------------------------------------------
head -n 199 "$FIX/labels.txt" > "$TMP/short.txt"
out=$("$C8" eval "$MODEL" --data "$FIX" --labels "$TMP/short.txt" --preprocess "mean_value=72.94,std_value=90.0" 2>&1); rc=$?
if [ $rc -ne 0 ] && echo "$out" | grep -q "has 199 labels but dataset '$FIX' has 200 samples"; then ok "label count mismatch"; else bad "label count mismatch: rc=$rc $out"; fi

echo "$pass passed, $fail failed" >&2
[ $fail -eq 0 ]
