#!/bin/sh
# Calibration statistics depend only on the set of samples: quantizing with 1 or 2 threads, batches of 1, 7 and
# 16, and the same images in a shuffled list file must give byte-identical QDQ models, calibration tables and
# TensorRT caches, for LeNet and ResNet-8 and every threshold method on one of them.
# Usage: determinism.sh path/to/calib8   (from the repository root)
. "$(dirname "$0")/lib.sh"

# The 300 images in a fixed shuffled order (awk's srand(7)): a list file with paths relative to its folder
# (beside a copy of the images), and one with absolute paths to the repository's images.
mkdir "$TMP/lists"
cp -r $EX "$TMP/lists/imgs"
ls $EX | grep '\.png$' | awk 'BEGIN { srand(7) } { printf "%.9f %s\n", rand(), $0 }' | sort | cut -d' ' -f2 \
  >"$TMP/order.txt"
sed 's|^|imgs/|' "$TMP/order.txt" >"$TMP/lists/rel.txt"
sed "s|^|$PWD/$EX/|" "$TMP/order.txt" >"$TMP/lists/abs.txt"
check "the list holds all 300 images, not in name order" \
  sh -c "[ \$(sort -u '$TMP/lists/abs.txt' | wc -l) = 300 ] && ! sort -c '$TMP/lists/abs.txt' 2>/dev/null"

# same MODEL PP TAG REF_TAG ARGS...: quantizes into $TMP/TAG.* and compares with $TMP/REF_TAG.*
run() {
  model=$1 pp=$2 tag=$3
  shift 3
  "$C8" quantize "$model" -p "$pp" -q -o "$TMP/$tag.onnx" --table "$TMP/$tag.txt" --trt-cache "$TMP/$tag.trt" "$@" \
    >"$TMP/$tag.log" 2>&1 || bad "$tag: quantize failed: $(cat "$TMP/$tag.log")"
}
same() {
  ref=$1 tag=$2
  if cmp -s "$TMP/$ref.onnx" "$TMP/$tag.onnx" && cmp -s "$TMP/$ref.txt" "$TMP/$tag.txt" &&
    cmp -s "$TMP/$ref.trt" "$TMP/$tag.trt"; then
    ok "$tag: model, table and cache identical to $ref"
  else
    bad "$tag differs from $ref: $(cmp "$TMP/$ref.onnx" "$TMP/$tag.onnx" 2>&1) $(diff "$TMP/$ref.txt" "$TMP/$tag.txt" | head -4)"
  fi
}

for m in lenet resnet8; do
  if [ $m = lenet ]; then model=$LENET pp=$PP_LENET; else model=$RESNET pp=$PP_RESNET; fi
  run $model "$pp" $m-t1-b16 --calib $EX --threads 1 --batch 16
  run $model "$pp" $m-t2-b16 --calib $EX --threads 2 --batch 16
  run $model "$pp" $m-t1-b1 --calib $EX --threads 1 --batch 1
  run $model "$pp" $m-t2-b7 --calib $EX --threads 2 --batch 7
  run $model "$pp" $m-shuffled-rel --calib "list:$TMP/lists/rel.txt" --threads 2 --batch 16
  run $model "$pp" $m-shuffled-abs --calib "$TMP/lists/abs.txt" --threads 1 --batch 5
  for tag in t2-b16 t1-b1 t2-b7 shuffled-rel shuffled-abs; do same $m-t1-b16 $m-$tag; done
done
# every method on LeNet: threads and batch and order do not matter either
for method in max percentile mse aciq; do
  run $LENET "$PP_LENET" m-$method-a --calib $EX --method $method --threads 1 --batch 1
  run $LENET "$PP_LENET" m-$method-b --calib "$TMP/lists/abs.txt" --method $method --threads 2 --batch 13
  same m-$method-a m-$method-b
done
# a control: the check can see a difference (one sample fewer changes the statistics)
run $LENET "$PP_LENET" lenet-299 --calib $EX --limit 299
if cmp -s "$TMP/lenet-t1-b16.txt" "$TMP/lenet-299.txt"; then bad "299 samples gave the same table as 300"; else ok "control: 299 samples give another table"; fi
finish
