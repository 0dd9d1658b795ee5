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
# --- NNTC/TPU-MLIR method names, any case: MAX, KL, PERCENTILE9999 (percentile at 99.99), ADMM (an activation
#     method: alternating least squares of scale and codes) ---
for m in ADMM PERCENTILE9999 Kl max; do
  if $Q $LENET --calib $EX -p $PP_LENET -q -o $A/m.onnx --json $A/m.json --method $m >$A/log 2>&1; then ok "--method $m"
  else bad "--method $m: $(cat $A/log)"; fi
  case $m in
    ADMM) check "ADMM is recorded" sh -c "grep -q '\"method\":.*\"admm\"' $A/m.json" ;;
    PERCENTILE9999) check "PERCENTILE9999 is percentile at 99.99" sh -c \
      "grep -q '\"method\":.*\"percentile\"' $A/m.json && grep -q '\"percentile\":.*99.99' $A/m.json" ;;
  esac
done
out=$($Q $LENET --calib $EX -p $PP_LENET -q -o $A/x.onnx --method PERCENTILE0 2>&1)
check "--method PERCENTILE0 is refused" sh -c "echo \"$out\" | grep -q \"method 'PERCENTILE0'\""
# --- a default calibration cap (the calibration guides advise 100-500 samples), stated, and --limit changes it ---
if have_python; then
  $PY -c "import numpy as np; np.save('$A/many.npy', np.random.default_rng(0).normal(size=(600, 1, 28, 28)).astype(np.float32))"
  out=$($Q $LENET --calib $A/many.npy -o $A/cap.onnx 2>&1)
  check "600 samples: the default cap calibrates on 500 and says so" sh -c \
    "echo \"$out\" | grep -q 'first 500 of 600 samples' && echo \"$out\" | grep -q 'calibrated on 500 samples'"
  out=$($Q $LENET --calib $A/many.npy --limit 600 -o $A/cap.onnx 2>&1)
  check "--limit 600 calibrates on all 600, silently" sh -c \
    "echo \"$out\" | grep -q 'calibrated on 600 samples' && ! echo \"$out\" | grep -q 'default cap'"
fi
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
# --- calib8 run on a model without inputs (ONNX's node test test_constant) runs; a model with inputs needs -i ---
CONST=/usr/share/libonnx-testdata/data/node/test_constant
if [ -f $CONST/model.onnx ]; then
  if $C8 run $CONST/model.onnx -o $A/const >$A/log 2>&1; then
    check "run without inputs writes the constant output" test -f $A/const/values.npy
    if have_python; then
      check "run without inputs: the output equals test_constant's expected output" $PY -c "
import numpy as np, onnx
from onnx import numpy_helper
t = onnx.TensorProto(); t.ParseFromString(open('$CONST/test_data_set_0/output_0.pb', 'rb').read())
assert np.array_equal(np.load('$A/const/values.npy'), numpy_helper.to_array(t))"
    fi
  else bad "run on test_constant failed: $(cat $A/log)"; fi
else
  echo "skip: run without inputs needs libonnx-testdata ($CONST)" >&2
fi
out=$($C8 run $LENET -o $A/noin 2>&1)
check "run without -i on a model with an input says how many it needs" sh -c "echo \"$out\" | grep -q \"has 1 input; give each with -i\""
# --- TPU-MLIR's FP32 conversion check on quantize too: --fp32-diff (calib8_fp32_check, the one auto runs) ---
F=tests/auto/fixtures
out=$($Q $F/conv_bn.onnx --calib $F/conv_bn_data.npy --fp32-diff 0 -o $A/bn.onnx 2>&1)
check "quantize --fp32-diff 0: the BatchNorm folding's rounding fails the check, naming the output" sh -c \
  "echo \"$out\" | grep -q \"FP32 conversion check: output 'y'\" && [ ! -e $A/bn.onnx ]"
$Q $F/conv_bn.onnx --calib $F/conv_bn_data.npy --batch 2 -q -o $A/bn0.onnx >/dev/null 2>&1
if $Q $F/conv_bn.onnx --calib $F/conv_bn_data.npy --batch 2 --fp32-diff 1e-3 -q -o $A/bn.onnx >$A/log 2>&1; then
  check "quantize --fp32-diff 1e-3 passes, says so, and calibrates on every sample (same model as without it)" sh -c \
    "grep -q 'FP32 conversion check: relative max difference .* within --fp32-diff 0.001' $A/log && cmp -s $A/bn.onnx $A/bn0.onnx"
else bad "quantize --fp32-diff 1e-3 failed: $(cat $A/log)"; fi
out=$($Q $F/conv_bn.onnx --calib $F/conv_bn_data.npy --fp32-diff -1 -o $A/bn.onnx 2>&1)
check "quantize --fp32-diff -1 is refused" sh -c "echo \"$out\" | grep -q \"option --fp32-diff needs a non-negative number, got '-1'\""
# --- auto never changes metric on its own and says which one it uses and why ---
if $PY -c "import lmdb, numpy, PIL" 2>/dev/null; then
  $PY - tests/data/fixtures/fmnist $A <<'EOF'
import io, os, sys
import lmdb
import numpy as np
from PIL import Image
fix, tmp = sys.argv[1:]
names = sorted(f for f in os.listdir(fix) if f.endswith('.png'))[:24]
y = [int(l) for l in open(os.path.join(fix, 'labels.txt')).read().split()][:24]
x = [((np.asarray(Image.open(os.path.join(fix, n))).astype(np.float32) - np.float32(72.94)) / np.float32(90.0))[None]
     for n in names]
# auto_calib's layout, written with python3-lmdb (under ASan this test cannot load the Python package's writer):
# records keyed %08d holding .npy files, one data.label line per record
db = os.path.join(tmp, 'db')
env = lmdb.open(db, map_size=1 << 24)
with env.begin(write=True) as txn, open(os.path.join(db, 'data.label'), 'w') as f:
    for r, b in enumerate(range(0, 24, 4)):
        v = io.BytesIO()
        np.save(v, np.stack(x[b:b + 4]))
        txn.put(b'%08d' % r, v.getvalue())
        f.write(','.join(map(str, y[b:b + 4])) + '\n')
env.close()
EOF
  out=$($C8 auto $LENET --calib $A/db --test $A/db -q -o $A/auto.onnx 2>&1)
  check "auto on an LMDB with data.label: top1, and says the labels' file" sh -c \
    "echo \"$out\" | grep -qx \"metric: top1 (labels from '$A/db/data.label')\" && echo \"$out\" | grep -q '^choice: .* top1 '"
  out=$($C8 auto $LENET --calib $A/db --test $A/db -q --metric similarity -o $A/auto.onnx 2>&1)
  check "auto --metric similarity on the same LMDB keeps similarity and says why" sh -c \
    "echo \"$out\" | grep -qx 'metric: similarity (--metric)' && echo \"$out\" | grep -q '^choice: .* similarity '"
else
  echo "skip: auto's metric on an LMDB needs python3-lmdb, numpy and PIL" >&2
fi
out=$($C8 auto $LENET --calib $EX -p $PP_LENET --test $EX -q --limit 20 --test-limit 20 -o $A/auto.onnx 2>&1)
check "auto without labels: similarity, and says no labels were given" sh -c \
  "echo \"$out\" | grep -q '^metric: similarity (no labels given' && echo \"$out\" | grep -q '^choice: .* similarity '"
out=$($C8 auto $LENET --calib $EX -p $PP_LENET --test $EX --metric top1 -q --limit 20 -o $A/auto.onnx 2>&1)
check "auto --metric top1 without labels is an error, not a switch to similarity" sh -c \
  "echo \"$out\" | grep -q 'metric top1 needs class labels' && ! echo \"$out\" | grep -q '^choice'"
# --- the qtable's F16/BF16 rows: the output and the JSON summary say which layers were asked in half precision
#     and are kept FP32 ---
out=$($Q $LENET --calib $EX -p $PP_LENET -q -o $A/tpu.onnx --qtable $A/tpu.qtable --json $A/tpu.json 2>&1)
check "F16/BF16 rows: quantize names the layers kept FP32" sh -c \
  "echo \"$out\" | grep -qx 'F16/BF16 in the qtable, kept FP32 (calib8 writes INT8 and FP32 only): /c2/Conv /f1/Gemm'"
if have_python; then
  check "F16/BF16 rows: the JSON marks exactly those layers" $PY -c "
import json
d = json.load(open('$A/tpu.json'))
got = sorted(l['name'] for l in d['layers'] if l.get('requested') == 'F16/BF16, kept F32')
assert got == ['/c2/Conv', '/f1/Gemm'], got
assert all(l['precision'] == 'F32' for l in d['layers'] if 'requested' in l)"
fi
out=$($Q $LENET --calib $EX -p $PP_LENET -q -o $A/ref.onnx 2>&1)
check "no qtable: no F16/BF16 line" sh -c "! echo \"$out\" | grep -q 'F16/BF16'"
# --- TNN quantization_cmd's -b 0|2, -w 0|1, -t 0|1|2 with TNN's numbers ---
tq() { $Q $LENET --calib $EX -p $PP_LENET -q -o $A/tnn.onnx --json $A/tnn.json "$@" 2>&1; }
out=$(tq -b 2 -w 1 -t 2)
check "TNN -b 2 -w 1 -t 2: KL, ADMM weights, per-tensor" sh -c "echo \"$out\" | grep -q '(kl, admm weights, per-tensor)'"
out=$(tq -b 0 -w 0 -t 1)
check "TNN -b 0 -w 0 -t 1: Min-Max (max), minmax weights, TNN's mix = calib8's per-channel" sh -c \
  "echo \"$out\" | grep -q '(max, minmax weights, per-channel)'"
out=$(tq --blob_method 0 --merge_type 0)
check "TNN -t 0: per-channel weights, and a note that activations stay per tensor" sh -c \
  "echo \"$out\" | grep -q '(max, minmax weights, per-channel)' && echo \"$out\" | grep -q 'activations stay per tensor'"
out=$(tq -b 1)
check "TNN -b 1 (not a TNN method) is refused" sh -c "echo \"$out\" | grep -q \"\\-b '1' is not TNN's 0 (Min-Max) or 2 (KL)\""
out=$(tq -t 1 --granularity mix)
check "TNN -t with --granularity is refused, not silently overridden" sh -c \
  "echo \"$out\" | grep -q \"TNN's -t and --granularity both set the granularity\""
out=$(tq --method kl -b 0)
check "TNN -b after --method is refused" sh -c "echo \"$out\" | grep -q \"TNN's -b and --method both set\""
# --- NNTC preprocessing strings give NNTC's tensors: bgr2rgb=True after B,G,R means (the image read as OpenCV
#     does, then converted) gives the R,G,B tensors calib8's own string gives ---
PPD=tests/compare/fixtures/ppcheck
NNTC='resize_h=32,resize_w=32;mean_value=103.53:116.28:123.675,std_value=57.375:57.12:58.395,bgr2rgb=True'
if $Q $RESNET --calib $PPD/images -p "$NNTC" -q -o $A/nntc.onnx --check-preprocess $PPD/good.npy >$A/log 2>&1; then
  ok "NNTC's string with bgr2rgb=True matches the numpy/torch R,G,B tensors (--check-preprocess)"
else bad "NNTC's string with bgr2rgb=True: $(cat $A/log)"; fi
$Q $RESNET --calib $PPD/images -p "$PP_RESNET" -q -o $A/rgb.onnx >/dev/null 2>&1
check "NNTC's string and calib8's R,G,B string write the same model" cmp -s $A/nntc.onnx $A/rgb.onnx
out=$($Q $RESNET --calib $PPD/images -p "$PP_RESNET;rgb2bgr=true" -q -o $A/x.onnx --check-preprocess $PPD/bgr.npy 2>&1)
check "rgb2bgr=true as the last step hands the model B,G,R" sh -c "[ -e $A/x.onnx ]"
# --- AMCT's record: --record FILE, per INT8 layer the activation scale/offset and the weight scales/offsets ---
if $Q $LENET --calib $EX -p $PP_LENET -q -o $A/rec.onnx --record $A/rec.txt --json $A/rec.json >$A/log 2>&1; then
  check "--record: one record per INT8 layer (5 on the LeNet)" sh -c "[ \$(grep -c '^record {' $A/rec.txt) = 5 ]"
  check "the JSON summary carries each INT8 layer's weight scales and offsets, as the record does" $PY -c "
import json, re
txt = open('$A/rec.txt').read()
recs = dict(re.findall(r'key: \"([^\"]+)\"\n  value \{\n(.*?)\n  \}', txt, re.S))
layers = {l['name']: l for l in json.load(open('$A/rec.json'))['layers'] if 'weight_scales' in l}
assert sorted(layers) == sorted(recs) and len(recs) == 5, (sorted(layers), sorted(recs))
for name, body in recs.items():
    sw = [float(x) for x in re.findall(r'scale_w: (\S+)', body)]
    ow = [int(x) for x in re.findall(r'offset_w: (\S+)', body)]
    l = layers[name]
    assert len(sw) == len(l['weight_scales']) > 1 and ow == l['weight_offsets'], name
    assert all(abs(a - b) <= 1e-7 * b for a, b in zip(sw, l['weight_scales'])), (name, sw, l['weight_scales'])"
  if have_python; then
    check "--record: scale_d is the input tensor's scale in the JSON, one scale_w/offset_w per output channel" $PY -c "
import json, re, onnx
from onnx import numpy_helper
txt = open('$A/rec.txt').read()
recs = dict(re.findall(r'key: \"([^\"]+)\"\n  value \{\n(.*?)\n  \}', txt, re.S))
m = onnx.load('$LENET')
w = {i.name: numpy_helper.to_array(i) for i in m.graph.initializer}
conv = [n for n in m.graph.node if n.name == '/c1/Conv'][0]
body = recs['/c1/Conv']
assert body.count('scale_w:') == w[conv.input[1]].shape[0] == body.count('offset_w:'), body
sd = float(re.search(r'scale_d: (\S+)', body).group(1))
scales = {t['name']: t['scale'] for t in json.load(open('$A/rec.json'))['tensors']}
assert abs(sd - scales[conv.input[0]]) <= 1e-6 * sd, (sd, scales.get(conv.input[0]))"
  fi
else bad "--record failed: $(cat $A/log)"; fi
out=$($Q $LENET --calib $EX -p $PP_LENET -q -o $A/rec2.onnx --record $A/rec2.onnx 2>&1)
check "--record onto -o's file is refused, naming --record" sh -c "echo \"$out\" | grep -q -- '--record'"
finish
