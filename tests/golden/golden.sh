#!/bin/sh
# Every artefact calib8 exports is byte-identical to what the code wrote when this file's checksums were taken
# (tests/golden/artifacts.sha256): QDQ models, calibration tables, TensorRT caches, qtables, the JSON summaries
# (without their timings; with the model sizes) and auto's chosen model, for LeNet, ResNet-8 and the YOLO detector under the main
# option combinations. A refactoring (the public API, operator traits) must leave them all as they were.
# Usage: golden.sh path/to/calib8 [--update]   (from the repository root)
HARNESS_NAME=golden
. tests/harness.sh
SUMS=tests/golden/artifacts.sha256
EX=examples/fmnist
M=models
PPL='mean_value=72.94,std_value=90.0'
PPR='resize_h=32,resize_w=32;mean_value=123.675:116.28:103.53,std_value=58.395:57.12:57.375'
PPY='resize_h=128,resize_w=128;scale=0.00392156862745098'
q() { # q TAG MODEL PP ARGS...
  tag=$1 model=$2 pp=$3
  shift 3
  "$C8" quantize "$model" --calib $EX -p "$pp" -q -o "$TMP/$tag.onnx" --table "$TMP/$tag.table" \
    --trt-cache "$TMP/$tag.trt" --write-qtable "$TMP/$tag.qtable" --json "$TMP/$tag.full.json" "$@" \
    >"$TMP/$tag.log" 2>&1 || bad "$tag: quantize failed: $(cat "$TMP/$tag.log")"
  grep -v '_seconds":\|"model":\|"output":' "$TMP/$tag.full.json" >"$TMP/$tag.json" 2>/dev/null
  rm -f "$TMP/$tag.full.json" "$TMP/$tag.log"
}
q lenet-kl $M/fmnist_lenet.onnx "$PPL"
q lenet-max-pt $M/fmnist_lenet.onnx "$PPL" --method max --granularity per-tensor
q lenet-pct-asym $M/fmnist_lenet.onnx "$PPL" --method percentile --percentile 99.9 --asymmetric
q lenet-mse-mix-admm $M/fmnist_lenet.onnx "$PPL" --method mse --granularity mix --weights admm
q resnet-aciq $M/fmnist_resnet8.onnx "$PPR" --method aciq
q resnet-cle-bc $M/fmnist_resnet8.onnx "$PPR" --equalize --bias-correction
q yolo-kl $M/fmnist_yolo.onnx "$PPY" --limit 64
q yolo-heads $M/fmnist_yolo.onnx "$PPY" --limit 64 --fp32-heads
q lenet-qtable $M/fmnist_lenet.onnx "$PPL" --qtable "$TMP/lenet-kl.qtable"
# this model misses the budget in fast mode (exit 1); the best trial's model is written all the same
"$C8" auto tests/auto/fixtures/lenet_outlier.onnx --calib $EX --test $EX --labels $EX/labels.txt -p "$PPL" -q \
  -o "$TMP/auto.onnx" >"$TMP/auto.log" 2>&1
[ -s "$TMP/auto.onnx" ] && [ -s "$TMP/auto.qtable" ] || bad "auto wrote no model: $(cat "$TMP/auto.log")"
rm -f "$TMP/auto.log" "$TMP/auto.trials.jsonl"
(cd "$TMP" && sha256sum $(ls | sort)) >"$TMP/sums.txt" 2>/dev/null
if [ "${2:-}" = "--update" ]; then
  cp "$TMP/sums.txt" "$SUMS"
  ok "wrote $SUMS"
  finish
fi
n=$(wc -l <"$SUMS")
if diff "$SUMS" "$TMP/sums.txt" >"$TMP/diff.txt"; then
  ok "$n artefacts byte-identical to $SUMS"
else
  bad "artefacts differ from $SUMS: $(grep '^[<>]' "$TMP/diff.txt" | head -6 | tr '\n' ' ')"
fi
finish
