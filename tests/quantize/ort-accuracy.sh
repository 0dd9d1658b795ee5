#!/bin/sh
# Setup-enabled: ONNX Runtime running calib8's exported QDQ models reproduces calib8's own INT8 top-1 within
# 0.2 points on the 10 000 Fashion-MNIST test images, for LeNet and ResNet-8 and each of kl, percentile, mse and
# aciq. Both read one preprocessed .npy (make_npy.py), which is first verified against calib8's own PNG pipeline:
# the FP32 top-1 from the .npy equals the FP32 top-1 from the PNGs, and calibrating on the first 500 test images
# from the .npy or from the PNGs gives byte-identical tables and models. ORT runs the .npy in chunks of 2500.
# Skipped (77) without .cache/fmnist, ONNX Runtime in .cache/npm, or python3 with numpy/torch.
# Usage: ort-accuracy.sh path/to/calib8   (from the repository root)
. "$(dirname "$0")/lib.sh"
F=$CACHE/fmnist
[ -d "$F/calib" ] && [ -f "$F/test/labels.txt" ] ||
  skip "$F is missing (run scripts/setup-data.sh and /usr/bin/python3 tools/make_fmnist_png.py $F)"
[ -d "$CACHE/npm/node_modules/onnxruntime-node" ] && command -v node >/dev/null ||
  skip "ONNX Runtime is not in $CACHE/npm (run scripts/setup-data.sh)"
$PY -c 'import numpy, torch, PIL' 2>/dev/null || skip "/usr/bin/python3 with numpy, torch and PIL is needed"
top1() { sed -n 's/^top1 [0-9.]* (\([0-9]*\) of \([0-9]*\) samples)$/\1/p' "$1"; }

for m in lenet resnet8; do
  if [ $m = lenet ]; then model=$LENET pp=$PP_LENET; else model=$RESNET pp=$PP_RESNET; fi
  X=$TMP/$m.npy
  $PY "$(dirname "$0")/make_npy.py" $m $F/test $F/test/labels.txt "$X" "$TMP/labels.txt" --chunk 2500 >/dev/null ||
    bad "$m: make_npy failed"
  # --- the .npy is calib8's preprocessing ---
  "$C8" eval $model --data "$X" --labels "$TMP/labels.txt" --batch 100 >"$TMP/e1" 2>&1
  "$C8" eval $model --data $F/test --labels $F/test/labels.txt -p "$pp" --batch 100 >"$TMP/e2" 2>&1
  a=$(top1 "$TMP/e1") b=$(top1 "$TMP/e2")
  check "$m: FP32 top-1 from the .npy ($a) = from the PNGs ($b)" [ -n "$a" ] && [ "$a" = "$b" ]
  "$C8" quantize $model --calib "$X" --limit 500 -q -o "$TMP/npy.onnx" --table "$TMP/npy.txt" >/dev/null 2>&1
  "$C8" quantize $model --calib $F/test --limit 500 -p "$pp" -q -o "$TMP/png.onnx" --table "$TMP/png.txt" >/dev/null 2>&1
  check "$m: calibration on 500 test images: the .npy and the PNGs give identical tables and models" \
    sh -c "cmp '$TMP/npy.txt' '$TMP/png.txt' && cmp '$TMP/npy.onnx' '$TMP/png.onnx'"
  # --- calib8 INT8 vs ORT on the QDQ model ---
  for method in kl percentile mse aciq; do
    tag=$m-$method
    "$C8" quantize $model --calib $F/calib --limit 500 -p "$pp" --method $method -q -o "$TMP/$tag.onnx" >/dev/null 2>&1 ||
      bad "$tag: quantize failed"
    "$C8" eval "$TMP/$tag.onnx" --data "$X" --labels "$TMP/labels.txt" --batch 100 >"$TMP/e3" 2>&1
    c8=$(top1 "$TMP/e3")
    rm -rf "$TMP/ort"
    i=0
    while [ -f "$X.$i.npy" ]; do
      node tools/ort/run_ort.js "$TMP/$tag.onnx" -i input="$X.$i.npy" -o "$TMP/ort/$i" >"$TMP/ort.log" 2>&1 ||
        { bad "$tag: ONNX Runtime failed on chunk $i: $(cat "$TMP/ort.log")"; break; }
      i=$((i + 1))
    done
    ort=$($PY -c "
import numpy as np, sys
y = np.concatenate([np.load('$TMP/ort/%d/logits.npy' % k) for k in range($i)])
lab = np.array([int(l) for l in open('$TMP/labels.txt')])
assert y.shape == (len(lab), 10), y.shape
print(int((y.argmax(1) == lab).sum()))" 2>&1)
    verdict=$(awk -v a="$c8" -v b="$ort" 'BEGIN { d = (a - b) / 100; if (d < 0) d = -d
      printf "%s calib8 INT8 %.2f %%, ONNX Runtime %.2f %% (%.2f points apart)", (a > 0 && b > 0 && d <= 0.2) ? "ok" : "bad", a / 100, b / 100, d }')
    case $verdict in
      ok*) ok "$tag: ${verdict#ok }" ;;
      *) bad "$tag: ${verdict#bad } (calib8 '$c8', ORT '$ort'; want at most 0.2 points apart)" ;;
    esac
  done
  rm -f "$X" "$X".*.npy
done
finish
