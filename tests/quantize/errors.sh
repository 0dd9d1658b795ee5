#!/bin/sh
# calib8 quantize on bad input: each case must exit non-zero (without a crash), print exactly one line that
# names the offending file/parameter/value, and leave no output file behind (the output folder stays empty,
# no temporary files either). Inputs are never modified. Needs only the repository (models/, examples/fmnist).
# Usage: errors.sh path/to/calib8   (from the repository root)
. "$(dirname "$0")/lib.sh"
OUT=$TMP/out
IN=$TMP/in
mkdir -p "$IN"
cp "$LENET" "$IN/lenet.onnx"
M=$IN/lenet.onnx
Q="$C8 quantize"

# expect_error NAME PATTERN COMMAND...: fails (exit 1..127) with one stderr line containing PATTERN (fixed
# string; command-line mistakes may add the usage text after it), and $OUT is empty afterwards
expect_error() {
  name=$1
  pat=$2
  shift 2
  rm -rf "$OUT"
  mkdir "$OUT"
  "$@" >"$TMP/stdout" 2>"$TMP/stderr"
  rc=$?
  lines=$(grep -cv -e '^usage: calib8' -e '^         \[' "$TMP/stderr")
  left=$(ls -A "$OUT")
  if [ $rc -ne 0 ] && [ $rc -lt 128 ] && [ "$lines" -eq 1 ] && grep -qF -- "$pat" "$TMP/stderr" && [ -z "$left" ]; then
    ok "$name: $(cat "$TMP/stderr")"
  else
    bad "$name: rc=$rc, $lines stderr lines, left in the output folder: '$left'; stderr: $(cat "$TMP/stderr")"
  fi
}
ARTS="-o $OUT/q.onnx --table $OUT/t.txt --trt-cache $OUT/trt.txt --write-qtable $OUT/qt.txt --json $OUT/s.json -q"

# --- the control: the same command with good input writes all five artifacts -----------------------------------
rm -rf "$OUT" && mkdir "$OUT"
$Q "$M" --calib $EX -p $PP_LENET $ARTS >/dev/null 2>&1
check "control run writes its five artifacts" [ "$(ls "$OUT" | wc -l)" -eq 5 ]

# --- preprocessing --------------------------------------------------------------------------------------------
expect_error "misspelt preprocessing parameter" "unknown parameter 'std_valu' in operation 1" \
  $Q "$M" --calib $EX -p 'mean_value=72.94,std_valu=90.0' $ARTS
expect_error "resize_h without resize_w" "parameter 'resize_h' in operation 1 needs 'resize_w' too" \
  $Q "$M" --calib $EX -p 'resize_h=28' $ARTS
expect_error "two means for three channels" "parameter 'mean_value' has 2 values in '1:2'" \
  $Q "$RESNET" --calib $EX -p 'mean_value=1:2' $ARTS
expect_error "image size after preprocessing" "image '$EX/img_000.png' is 28x28 (width x height) after preprocessing but the model input needs 32x32" \
  $Q "$RESNET" --calib $EX -p $PP_LENET $ARTS

# --- calibration data -----------------------------------------------------------------------------------------
mkdir "$TMP/corrupt" "$TMP/empty"
cp $EX/img_000.png $EX/img_001.png "$TMP/corrupt/"
head -c 100 $EX/img_002.png >"$TMP/corrupt/img_002.png"
expect_error "truncated PNG in the calibration folder" "image '$TMP/corrupt/img_002.png' is not a readable PNG file" \
  $Q "$M" --calib "$TMP/corrupt" -p $PP_LENET $ARTS
printf 'not an image at all' >"$TMP/corrupt/img_002.png"
expect_error "text file named .png in the calibration folder" "image '$TMP/corrupt/img_002.png' is not a JPEG, PNG or BMP file" \
  $Q "$M" --calib "$TMP/corrupt" -p $PP_LENET $ARTS
expect_error "empty calibration folder" "dataset '$TMP/empty' contains no images" \
  $Q "$M" --calib "$TMP/empty" -p $PP_LENET $ARTS
expect_error "missing calibration folder" "$TMP/nowhere" \
  $Q "$M" --calib "$TMP/nowhere" -p $PP_LENET $ARTS
expect_error "NAME=SRC naming no input" "source 'image=$EX' names no input of the model" \
  $Q "$M" --calib image=$EX -p $PP_LENET $ARTS

# --- test set and labels --------------------------------------------------------------------------------------
cut -d' ' -f2 $EX/labels.txt | head -n 299 >"$TMP/short.txt"
expect_error "299 labels for 300 test images" "labels file '$TMP/short.txt' has 299 labels but dataset '$EX' has 300 samples" \
  $Q "$M" --calib $EX -p $PP_LENET --test $EX --labels "$TMP/short.txt" $ARTS
cut -d' ' -f2 $EX/labels.txt >"$TMP/long.txt"
echo 3 >>"$TMP/long.txt"
expect_error "301 labels for 300 test images" "labels file '$TMP/long.txt' has 301 labels but dataset '$EX' has 300 samples" \
  $Q "$M" --calib $EX -p $PP_LENET --test $EX --labels "$TMP/long.txt" $ARTS
grep -v '^img_150.png ' $EX/labels.txt >"$TMP/named.txt"
expect_error "no label for one named image" "has no label for sample '$EX/img_150.png'" \
  $Q "$M" --calib $EX -p $PP_LENET --test $EX --labels "$TMP/named.txt" $ARTS
sed 's/ 9$/ 10/' $EX/labels.txt >"$TMP/range.txt"
expect_error "label 10 for 10 classes" "label 10 is out of range: output 'logits' scores 10 classes" \
  $Q "$M" --calib $EX -p $PP_LENET --test $EX --labels "$TMP/range.txt" $ARTS
expect_error "--test without --labels" "--test needs --labels FILE" \
  $Q "$M" --calib $EX -p $PP_LENET --test $EX $ARTS

# --- options --------------------------------------------------------------------------------------------------
expect_error "unknown --method" "--method 'entropy' is not one of kl, max, percentile, mse, aciq" \
  $Q "$M" --calib $EX -p $PP_LENET --method entropy $ARTS
expect_error "--percentile 0" "--percentile '0' must be a number in (0, 100]" \
  $Q "$M" --calib $EX -p $PP_LENET --method percentile --percentile 0 $ARTS
expect_error "unknown --granularity" "--granularity 'per-row' is not per-channel, per-tensor or mix" \
  $Q "$M" --calib $EX -p $PP_LENET --granularity per-row $ARTS
expect_error "unknown --weights" "--weights 'lsq' is not minmax or admm" \
  $Q "$M" --calib $EX -p $PP_LENET --weights lsq $ARTS
expect_error "unknown option" "quantize: unknown option '--bits'" \
  $Q "$M" --calib $EX -p $PP_LENET --bits 4 $ARTS
expect_error "no -o" "quantize needs MODEL, --calib SRC and -o OUT.onnx" \
  $Q "$M" --calib $EX -p $PP_LENET

# --- outputs: never an input, never each other, folders must exist -----------------------------------------
before=$(cksum <"$M")
expect_error "-o is the input model" "-o '$M' is the input model; calib8 never overwrites an input" \
  $Q "$M" --calib $EX -p $PP_LENET -o "$M" --table $OUT/t.txt
ln -s "$M" "$IN/link.onnx"
expect_error "-o is a symbolic link to the input model" "-o '$IN/link.onnx' is the input model" \
  $Q "$M" --calib $EX -p $PP_LENET -o "$IN/link.onnx" --table $OUT/t.txt
expect_error "-o is the input model by another path" "is the input model; calib8 never overwrites an input" \
  $Q "$M" --calib $EX -p $PP_LENET -o "$IN/../in/lenet.onnx" --table $OUT/t.txt
expect_error "--table is the input model" "--table '$M' is the input model '$M'; calib8 never overwrites an input" \
  $Q "$M" --calib $EX -p $PP_LENET -o $OUT/q.onnx --table "$M"
check "the input model is unchanged" [ "$(cksum <"$M")" = "$before" ]
cp "$LENET" "$M" # keep later cases independent of a failure here
cp -r $EX "$TMP/images"
before=$(cksum <"$TMP/images/img_007.png")
expect_error "--json is an image of the calibration folder" "--json '$TMP/images/img_007.png' is a file of the calibration source '$TMP/images'" \
  $Q "$M" --calib "$TMP/images" -p $PP_LENET -o $OUT/q.onnx --json "$TMP/images/img_007.png"
check "the calibration image is unchanged" [ "$(cksum <"$TMP/images/img_007.png")" = "$before" ]
expect_error "--write-qtable is the --qtable input" "--write-qtable '$IN/qt.txt' is the qtable read with --qtable '$IN/qt.txt'" \
  sh -c "echo '/c1/Conv INT8' >'$IN/qt.txt' && exec $Q '$M' --calib $EX -p '$PP_LENET' -o $OUT/q.onnx --qtable '$IN/qt.txt' --write-qtable '$IN/qt.txt'"
expect_error "--labels is an output" "--trt-cache '$TMP/short.txt' is the labels file" \
  $Q "$M" --calib $EX -p $PP_LENET -o $OUT/q.onnx --test $EX --labels "$TMP/short.txt" --trt-cache "$TMP/short.txt"
expect_error "two outputs with one name" "-o '$OUT/q.onnx' and --json '$OUT/q.onnx' are the same file" \
  $Q "$M" --calib $EX -p $PP_LENET -o $OUT/q.onnx --json $OUT/q.onnx
expect_error "output folder missing" "cannot write --table '$OUT/nodir/t.txt': folder '$OUT/nodir' does not exist" \
  $Q "$M" --calib $EX -p $PP_LENET -o $OUT/q.onnx --table $OUT/nodir/t.txt
expect_error "-o is a folder" "-o '$IN' is a folder, not a file name" \
  $Q "$M" --calib $EX -p $PP_LENET -o "$IN"
# A write that fails after others succeeded (procfs refuses new files, even to root): the earlier ones go too.
expect_error "a late write failure removes the artifacts written before it" "cannot write '/proc/self/c8-summary.json'" \
  $Q "$M" --calib $EX -p $PP_LENET -o $OUT/q.onnx --table $OUT/t.txt --write-qtable $OUT/qt.txt --json /proc/self/c8-summary.json -q

# --- precision controls ---------------------------------------------------------------------------------------
printf '/c1/Conv INT8\n# a comment\n/nope F32\n' >"$IN/unknown.txt"
expect_error "qtable names an unknown layer" "qtable '$IN/unknown.txt' line 3: the model has no layer named '/nope'" \
  $Q "$M" --calib $EX -p $PP_LENET --qtable "$IN/unknown.txt" $ARTS
printf '\n/c1/Conv INT4\n' >"$IN/int4.txt"
expect_error "qtable precision INT4" "qtable '$IN/int4.txt' line 2: precision 'INT4' is not INT8 or F32" \
  $Q "$M" --calib $EX -p $PP_LENET --qtable "$IN/int4.txt" $ARTS
printf '/c1/Conv INT8 extra\n' >"$IN/extra.txt"
expect_error "qtable line with three words" "qtable '$IN/extra.txt' line 1: expected 'layer_name INT8|F32'" \
  $Q "$M" --calib $EX -p $PP_LENET --qtable "$IN/extra.txt" $ARTS
expect_error "missing qtable" "cannot open qtable '$IN/none.txt'" \
  $Q "$M" --calib $EX -p $PP_LENET --qtable "$IN/none.txt" $ARTS
expect_error "--fp32-after an unknown tensor" "--fp32-after: the model has no tensor named 'nope'" \
  $Q "$M" --calib $EX -p $PP_LENET --fp32-after nope $ARTS
expect_error "--fp32-before with one unknown tensor in a list" "--fp32-before: the model has no tensor named 'relu9'" \
  $Q "$M" --calib $EX -p $PP_LENET --fp32-before /Relu_output_0,relu9 $ARTS

check "inputs unchanged" cmp -s "$M" "$LENET"
check "quantize --help: usage on stdout, exit 0" sh -c "$Q --help | grep -q '^usage: calib8 quantize MODEL'"
finish
