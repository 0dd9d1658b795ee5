#!/bin/sh
# PP-OCRv4 rec's accuracy criterion (issue 12.1): quantized label-free with `calib8 auto --metric similarity` on
# 100 rendered text lines, the QDQ model loses at most 0.5 point of character accuracy against the FP32 model,
# both run by ONNX Runtime on 300 other rendered lines (another seed) with greedy CTC decoding and PaddleOCR's
# dictionary (tests/quantize/ocr_rec_lines.py renders the lines and scores them). Skipped (77) without the setup
# data (scripts/setup-data.sh), ONNX Runtime or Python with numpy and PIL.
# Usage: ocr-rec-accuracy.sh path/to/calib8   (from the repository root)
. "$(dirname "$0")/lib.sh"
$PY -c 'import numpy, PIL' 2>/dev/null || skip "/usr/bin/python3 with numpy and PIL is needed"
MODEL=$CACHE/models/ch_PP-OCRv4_rec_infer.onnx
DICT=$CACHE/models/ppocr_keys_v1.txt
[ -f "$MODEL" ] && [ -f "$DICT" ] || skip "the PaddleOCR rec model or its dictionary is not in $CACHE (run scripts/setup-data.sh)"
[ -d "$CACHE/npm/node_modules/onnxruntime-node" ] && command -v node >/dev/null ||
  skip "ONNX Runtime is not in $CACHE/npm (run scripts/setup-data.sh)"
N_CALIB=${OCR_CALIB:-100}
N_TEST=${OCR_TEST:-300}
LINES=tests/quantize/ocr_rec_lines.py
$PY $LINES render "$TMP/calib.npy" "$TMP/calib.txt" $N_CALIB 1 && $PY $LINES render "$TMP/test.npy" "$TMP/test.txt" $N_TEST 2 ||
  { bad "rendering the text lines"; finish; }
if "$C8" auto "$MODEL" --calib "$TMP/calib.npy" --test "$TMP/calib.npy" --metric similarity -q -o "$TMP/int8.onnx" \
    >"$TMP/auto.log" 2>&1 || [ -s "$TMP/int8.onnx" ]; then
  ok "auto --metric similarity on $N_CALIB lines wrote a model: $(grep -i 'chose\|choice\|best' "$TMP/auto.log" | head -1)"
else
  bad "auto failed: $(tail -3 "$TMP/auto.log")"
  finish
fi
acc() { # acc MODEL.onnx NAME: ORT's outputs on the test lines, scored
  node tools/ort/run_ort.js "$1" -i "$TMP/test.npy" -o "$TMP/$2" --quiet >"$TMP/$2.log" 2>&1 || { echo "ORT failed: $(tail -2 "$TMP/$2.log")"; return 1; }
  $PY $LINES score "$(ls "$TMP/$2"/*.npy | head -1)" "$TMP/test.txt" "$DICT"
}
fp=$(acc "$MODEL" fp32) || bad "FP32: $fp"
q=$(acc "$TMP/int8.onnx" int8) || bad "INT8: $q"
set -- $fp
fa=$1
set -- $q
qa=$1 qexact=$2
if $PY -c "import sys; sys.exit(0 if float('$fa') - float('$qa') <= 0.005 else 1)"; then
  ok "character accuracy on $N_TEST lines (ONNX Runtime, CTC): FP32 $fa, INT8 $qa ($qexact lines exact): drop <= 0.5 point"
else
  bad "character accuracy on $N_TEST lines (ONNX Runtime, CTC): FP32 $fa, INT8 $qa: drop > 0.5 point"
fi
finish
