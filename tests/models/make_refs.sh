#!/usr/bin/env bash
# Makes the inputs and ONNX Runtime reference outputs of calib8's real-model tests:
#   $CACHE/refs/<model>/in.npy, info.txt, <output>.npy (as tools/ort/run_ort.js names them), model.txt
# Called by scripts/setup-data.sh after onnxruntime-node and the PP-OCR models are in the cache.
#   tests/models/make_refs.sh [CACHE]
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
CACHE="${1:-${CALIB8_CACHE:-$REPO/.cache}}"
export CALIB8_CACHE="$CACHE"
REFS="$CACHE/refs"

# model name -> model file
declare -A MODEL=(
  [fmnist_lenet]="$REPO/models/fmnist_lenet.onnx"
  [fmnist_resnet8]="$REPO/models/fmnist_resnet8.onnx"
  [fmnist_yolo]="$REPO/models/fmnist_yolo.onnx"
  [ppocr_det]="$CACHE/models/ch_PP-OCRv4_det_infer.onnx"
  [ppocr_rec]="$CACHE/models/ch_PP-OCRv4_rec_infer.onnx"
  [ppocr_cls]="$CACHE/models/ch_ppocr_mobile_v2.0_cls_infer.onnx"
)
ORDER=(fmnist_lenet fmnist_resnet8 fmnist_yolo ppocr_cls ppocr_rec ppocr_det)

for m in "${ORDER[@]}"; do
  [ -f "${MODEL[$m]}" ] || { echo "make_refs: ${MODEL[$m]} is missing" >&2; exit 1; }
done

# Build into a temporary folder and swap it in, so an interrupted run never leaves half a reference set.
TMP="$REFS.tmp.$$"
rm -rf "$TMP"
trap 'rm -rf "$TMP"' EXIT
/usr/bin/python3 "$REPO/tests/models/make_inputs.py" "$TMP"
for m in "${ORDER[@]}"; do
  echo "make_refs: $m"
  node "$REPO/tools/ort/run_ort.js" "${MODEL[$m]}" -i "$TMP/$m/in.npy" -o "$TMP/$m" --threads 1 | sed "s|$TMP|$REFS|; s/^/  /"
  # the model file this reference was made from (the test loads it from here)
  printf '%s\n' "${MODEL[$m]#"$REPO/"}" >"$TMP/$m/model.txt"
done
rm -rf "$REFS"
mv "$TMP" "$REFS"
trap - EXIT
echo "make_refs: references in $REFS"
