#!/bin/sh
# Measures the figures of docs/auto.md: detection mAP@0.5 of fmnist_yolo (plain quantize, --fp32-heads, auto fast)
# and the auto fast-mode trials of fmnist_lenet and fmnist_resnet8. Needs scripts/setup-data.sh's cache.
# Usage: sh tools/auto_results.sh [build/calib8] > results.md
set -eu
C8=${1:-build/calib8}
CACHE=${CALIB8_CACHE:-.cache}
TMP=$(mktemp -d /tmp/c8-autores-XXXXXX)
trap 'rm -rf "$TMP"' EXIT
YPP='scale=0.00392156862745098'
echo "## fmnist_yolo: mAP@0.5 on 500 test scenes (seed 1234, test images), calibrated on 500 train scenes (seed 7)"
echo
echo '| model | mAP@0.5 |'
echo '|---|---|'
"$C8" run models/fmnist_yolo.onnx -i "$CACHE/yolo/test.npy" -o "$TMP/fp" >/dev/null
echo "| FP32 | $(/usr/bin/python3 tools/yolo/map_eval.py "$TMP/fp/output0.npy" "$CACHE/yolo/test/data.label" | awk '{print $2}') |"
"$C8" quantize models/fmnist_yolo.onnx --calib "$CACHE/yolo/calib" -p "$YPP" -o "$TMP/plain.onnx" -q >/dev/null
"$C8" run "$TMP/plain.onnx" -i "$CACHE/yolo/test.npy" -o "$TMP/p" >/dev/null
echo "| quantize, every layer INT8 | $(/usr/bin/python3 tools/yolo/map_eval.py "$TMP/p/output0.npy" "$CACHE/yolo/test/data.label" | awk '{print $2}') |"
"$C8" quantize models/fmnist_yolo.onnx --calib "$CACHE/yolo/calib" -p "$YPP" --fp32-heads -o "$TMP/heads.onnx" -q >/dev/null
"$C8" run "$TMP/heads.onnx" -i "$CACHE/yolo/test.npy" -o "$TMP/h" >/dev/null
echo "| quantize --fp32-heads | $(/usr/bin/python3 tools/yolo/map_eval.py "$TMP/h/output0.npy" "$CACHE/yolo/test/data.label" | awk '{print $2}') |"
start=$(date +%s)
"$C8" auto models/fmnist_yolo.onnx --calib "$CACHE/yolo/calib" --test "$CACHE/yolo/test" --labels "$CACHE/yolo/test/data.label" \
  --metric map50 --decode yolov5 -p "$YPP" -o "$TMP/auto.onnx" >"$TMP/yauto.log" 2>&1 || true
end=$(date +%s)
"$C8" run "$TMP/auto.onnx" -i "$CACHE/yolo/test.npy" -o "$TMP/a" >/dev/null
echo "| auto (fast), map_eval.py on its model | $(/usr/bin/python3 tools/yolo/map_eval.py "$TMP/a/output0.npy" "$CACHE/yolo/test/data.label" | awk '{print $2}') |"
echo
echo "auto log ($((end - start)) s wall):"
echo '```'
cat "$TMP/yauto.log"
echo '```'
for m in lenet resnet8; do
  if [ $m = lenet ]; then PP='mean_value=72.94,std_value=90.0'; else PP='resize_h=32,resize_w=32;mean_value=123.675:116.28:103.53,std_value=58.395:57.12:57.375'; fi
  for drop in 0.005 0; do
    echo
    echo "## fmnist_$m: auto fast, --max-drop $drop (500 calibration images, 10 000 test images)"
    echo
    start=$(date +%s)
    "$C8" auto models/fmnist_$m.onnx --calib "$CACHE/fmnist/calib" --limit 500 --test "$CACHE/fmnist/test" \
      --labels "$CACHE/fmnist/test/labels.txt" -p "$PP" --batch 100 --max-drop $drop -o "$TMP/$m.onnx" >"$TMP/$m.log" 2>&1 || true
    end=$(date +%s)
    echo '```'
    cat "$TMP/$m.log"
    echo '```'
    echo "wall time $((end - start)) s"
  done
done
