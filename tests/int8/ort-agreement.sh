#!/bin/sh
# Setup-enabled (issue 13): calib8's integer kernels (CALIB8_INT8=1) against ONNX Runtime on the same QDQ model,
# image by image: the top-1 class agrees on at least 99.9 % of the 10 000 Fashion-MNIST test images, for LeNet,
# ResNet-8 and the MobileNetV2-style model (depthwise convolutions, ReLU6; tests/models/fmnist_mobilenet.onnx),
# each quantized with the default method on 500 calibration images. Also checks that `calib8 run` says how many
# layers ran on integer kernels, and that at least one did. Both read one preprocessed .npy (make_npy.py) in
# chunks of 2500 images.
# Skipped (77) without .cache/fmnist, ONNX Runtime in .cache/npm, or python3 with numpy, torch and PIL.
# Usage: ort-agreement.sh path/to/calib8   (from the repository root)
. tests/quantize/lib.sh
F=$CACHE/fmnist
[ -d "$F/calib" ] && [ -f "$F/test/labels.txt" ] ||
  skip "$F is missing (run scripts/setup-data.sh and /usr/bin/python3 tools/make_fmnist_png.py $F)"
[ -d "$CACHE/npm/node_modules/onnxruntime-node" ] && command -v node >/dev/null ||
  skip "ONNX Runtime is not in $CACHE/npm (run scripts/setup-data.sh)"
$PY -c 'import numpy, torch, PIL' 2>/dev/null || skip "/usr/bin/python3 with numpy, torch and PIL is needed"

for m in lenet resnet8 mobilenet; do
  case $m in
    lenet) model=$LENET pp=$PP_LENET kind=lenet ;;
    resnet8) model=$RESNET pp=$PP_RESNET kind=resnet8 ;;
    mobilenet) model=tests/models/fmnist_mobilenet.onnx pp=$PP_LENET kind=lenet ;;
  esac
  X=$TMP/$m.npy
  $PY tests/quantize/make_npy.py $kind $F/test $F/test/labels.txt "$X" "$TMP/labels.txt" --chunk 2500 >/dev/null ||
    { bad "$m: make_npy failed"; continue; }
  Q=$TMP/$m-qdq.onnx
  "$C8" quantize $model --calib $F/calib --limit 500 -p "$pp" -q -o "$Q" >/dev/null 2>&1 || { bad "$m: quantize failed"; continue; }
  in=$("$C8" info "$Q" | sed -n '/^inputs:/{n;p}' | awk '{print $1}')
  rm -rf "$TMP/ort" "$TMP/c8"
  mkdir -p "$TMP/c8"
  i=0
  while [ -f "$X.$i.npy" ]; do
    node tools/ort/run_ort.js "$Q" -i "$in=$X.$i.npy" -o "$TMP/ort/$i" >"$TMP/ort.log" 2>&1 ||
      { bad "$m: ONNX Runtime failed on chunk $i: $(cat "$TMP/ort.log")"; break; }
    CALIB8_INT8=1 "$C8" run "$Q" -i "$in=$X.$i.npy" -o "$TMP/c8/$i" >"$TMP/run.log" 2>&1 ||
      { bad "$m: calib8 run failed on chunk $i: $(cat "$TMP/run.log")"; break; }
    i=$((i + 1))
  done
  line=$(grep '^INT8 kernels: ' "$TMP/run.log")
  check "$m: calib8 run says '$line'" sh -c "echo '$line' | grep -q '^INT8 kernels: [1-9][0-9]* of [0-9]* layers$'"
  verdict=$($PY - "$TMP" "$i" <<'EOF' 2>&1
import os, sys
import numpy as np
tmp, n = sys.argv[1], int(sys.argv[2])
def logits(side):
    out = []
    for k in range(n):
        d = os.path.join(tmp, side, str(k))
        names = sorted(f for f in os.listdir(d) if f.endswith('.npy'))
        out.append(np.load(os.path.join(d, names[0])))
    return np.concatenate(out)
a, b = logits('c8'), logits('ort')
assert a.shape == b.shape and a.shape[0] == 10000, (a.shape, b.shape)
same = int((a.argmax(1) == b.argmax(1)).sum())
print('%s %d of 10000 images agree (%.2f %%)' % ('ok' if same >= 9990 else 'bad', same, same / 100))
EOF
)
  case $verdict in
    ok*) ok "$m: calib8 INT8 kernels and ONNX Runtime on the same QDQ model: top-1 ${verdict#ok }" ;;
    *) bad "$m: ${verdict#bad } (want >= 99.9 %)" ;;
  esac
  rm -f "$X" "$X".*.npy
done
finish
