#!/bin/sh
# examples/c/quantize.c, the C API example, writes the same QDQ model and calibration table, byte for byte, as
# `calib8 quantize` with the same options (the embedded demo LeNet, KL, per-channel defaults).
# Usage: example-c.sh path/to/calib8 path/to/example-quantize   (from the repository root)
HARNESS_NAME=example-c
. tests/harness.sh
EX=$2
PP='mean_value=72.94,std_value=90.0'
M=examples/fmnist/fmnist_lenet.onnx
"$C8" quantize $M --calib examples/fmnist -p "$PP" -q -o "$TMP/cli.onnx" --table "$TMP/cli.table" >/dev/null 2>&1 ||
  bad "calib8 quantize failed"
out=$("$EX" $M examples/fmnist "$PP" "$TMP/api.onnx" "$TMP/api.table" 2>&1); rc=$?
if [ $rc -eq 0 ] && echo "$out" | grep -q "^calibrated on 300 samples, wrote $TMP/api.onnx$"; then ok "the example runs: $(echo "$out" | tail -1)"
else bad "example: rc=$rc $out"; fi
check "the same QDQ model as calib8 quantize" cmp "$TMP/cli.onnx" "$TMP/api.onnx"
check "the same calibration table" cmp "$TMP/cli.table" "$TMP/api.table"
out=$("$EX" $M "$TMP/none" "$PP" "$TMP/bad.onnx" 2>&1); rc=$?
if [ $rc -eq 1 ] && one_line "$out" && echo "$out" | grep -q "$TMP/none" && [ ! -e "$TMP/bad.onnx" ]; then ok "a missing image folder: $out"
else bad "missing folder: rc=$rc $out"; fi
finish
