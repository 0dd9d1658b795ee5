#!/bin/sh
# The Python package's calib8.lmdb_save (NNTC auto_calib's LMDB_Dataset and refresh_lmdb, over the C library's
# calib8_lmdb_writer_*) against calib8's LMDB reader (src/data/dataset-lmdb.c):
# 24 real Fashion-MNIST test images saved as 4 one-sample records and 5 batch records of 4, with labels and
# original JPEGs; `calib8 eval` reads them with data.label and counts as many top-1 hits as it does on the PNGs;
# then one JPEG inside a batch, one single-sample record's JPEG and all JPEGs of another batch are deleted,
# refresh_lmdb (python3 -m calib8.lmdb_save) rebuilds the set, and eval counts 24 - 6 samples with labels still lined up (its hits equal
# eval's over the same PNGs minus the deleted ones, and python reads back every record and label in order).
# Usage: lmdb-tools.sh path/to/calib8 path/to/libcalib8.so   (run from the repository root). The read-back check uses python3-lmdb,
# a reader independent of calib8's.
HARNESS_NAME=lmdbtools
. tests/harness.sh
export CALIB8_LIBRARY=$2 PYTHONPATH=python${PYTHONPATH:+:$PYTHONPATH}
MODEL=models/fmnist_lenet.onnx
FIX=tests/data/fixtures/fmnist
PP="mean_value=72.94,std_value=90.0"

if ! $PY -c "import lmdb" 2>/dev/null; then
  echo "FAIL python3-lmdb is missing (scripts/install-deps.sh installs it)" >&2
  echo "0 passed, 1 failed" >&2
  exit 1
fi

# --- save: what the user's pipeline would do -----------------------------------------------------------------
$PY - "$FIX" "$TMP" <<'EOF' || bad "lmdb_save"
import os, sys
import numpy as np
from PIL import Image
import json
from calib8.lmdb_save import LMDB_Dataset
fix, tmp = sys.argv[1:]
names = sorted(f for f in os.listdir(fix) if f.endswith('.png'))[:24]
all_labels = [int(l) for l in open(os.path.join(fix, 'labels.txt')).read().split()]  # one per image, name order
imgs = [np.asarray(Image.open(os.path.join(fix, n))) for n in names]
x = [((im.astype(np.float32) - np.float32(72.94)) / np.float32(90.0))[None] for im in imgs]  # [1,28,28]
y = all_labels[:24]
with LMDB_Dataset(os.path.join(tmp, 'db')) as s:
    for i in range(4):                                   # one sample per record
        s.put(x[i], imgs[i], labels=json.dumps(y[i]))
    for b in range(4, 24, 4):                            # batches [4,1,28,28]
        s.put(np.stack(x[b:b + 4]), imgs[b:b + 4], labels=json.dumps(y[b:b + 4]))
# the same images as a PNG folder with 'name label' lines, for eval on the same samples
os.makedirs(os.path.join(tmp, 'png'))
with open(os.path.join(tmp, 'png', 'labels.txt'), 'w') as f:
    for n, im, l in zip(names, imgs, y):
        Image.fromarray(im).save(os.path.join(tmp, 'png', n))
        f.write('%s %d\n' % (n, l))
EOF
DB=$TMP/db
n_jpg=$(ls "$DB/original_images" | grep -c '\.jpg$')
if [ "$n_jpg" = 24 ] && [ "$(wc -l < "$DB/data.label")" = 9 ] && [ -f "$DB/original_images/00000005_0003.jpg" ] &&
   sed -n 5p "$DB/data.label" | grep -q '^[0-9]*,[0-9]*,[0-9]*,[0-9]*$'; then
  ok "lmdb_save: 9 records, 9 label lines (batches comma-separated), 24 JPEGs named record_item"
else bad "lmdb_save layout: $n_jpg JPEGs, $(wc -l < "$DB/data.label") label lines"; fi
if $PY -c "
from PIL import Image; import sys
im = Image.open(sys.argv[1]); assert im.format == 'JPEG' and im.size == (28, 28), (im.format, im.size)" "$DB/original_images/00000004_0002.jpg"; then
  ok "originals are viewable 28x28 JPEGs"
else bad "original JPEG"; fi

out=$("$C8" eval "$MODEL" --data "$DB" --json "$TMP/lmdb.json" 2>&1); rc=$?
"$C8" eval "$MODEL" --data "$TMP/png" --labels "$TMP/png/labels.txt" -p "$PP" --json "$TMP/png.json" >/dev/null 2>&1
if [ $rc -eq 0 ] && echo "$out" | grep -q "using labels from '$DB/data.label'" && [ "$(json "$TMP/lmdb.json" count)" = 24 ] &&
   [ "$(json "$TMP/lmdb.json" correct)" = "$(json "$TMP/png.json" correct)" ]; then
  ok "calib8 eval reads the LMDB: 24 samples, $(json "$TMP/lmdb.json" correct) hits as on the PNGs"
else bad "eval lmdb: rc=$rc $out / png $(cat "$TMP/png.json")"; fi

# --- delete: a sample inside a batch, a one-sample record, and a whole batch ------------------------------------
# record 1 = image 1; record 5 item 2 = image 4 + 4*1 + 2 = 10; record 7 = images 16..19
rm "$DB/original_images/00000001_0000.jpg" "$DB/original_images/00000005_0002.jpg" "$DB"/original_images/00000007_000?.jpg
out=$($PY -m calib8.lmdb_save "$DB" 2>&1); rc=$?
if [ $rc -eq 0 ] && echo "$out" | grep -q "removed 6 samples (2 records emptied and dropped); 18 samples remain in 7 records"; then
  ok "lmdb_refresh: $out"
else bad "lmdb_refresh: rc=$rc $out"; fi

# the PNG reference without the same six images
for i in 1 10 16 17 18 19; do
  n=$(printf '%04d.png' $i)
  rm "$TMP/png/$n"
  sed -i "/^$n /d" "$TMP/png/labels.txt"
done
out=$("$C8" eval "$MODEL" --data "$DB" --json "$TMP/lmdb2.json" 2>&1); rc=$?
"$C8" eval "$MODEL" --data "$TMP/png" --labels "$TMP/png/labels.txt" -p "$PP" --json "$TMP/png2.json" >/dev/null 2>&1
if [ $rc -eq 0 ] && [ "$(json "$TMP/lmdb2.json" count)" = 18 ] &&
   [ "$(json "$TMP/lmdb2.json" correct)" = "$(json "$TMP/png2.json" correct)" ]; then
  ok "after refresh eval counts 18 samples, $(json "$TMP/lmdb2.json" correct) hits as on the remaining PNGs"
else bad "eval after refresh: rc=$rc $out / png $(cat "$TMP/png2.json")"; fi

# every remaining record, label and JPEG lines up with the original image, in order
if $PY - "$FIX" "$DB" <<'EOF'
import io, os, sys
import lmdb
import numpy as np
from PIL import Image
fix, db = sys.argv[1:]
names = sorted(f for f in os.listdir(fix) if f.endswith('.png'))[:24]
labels = dict(zip(names, open(os.path.join(fix, 'labels.txt')).read().split()))
keep = [i for i in range(24) if i not in (1, 10, 16, 17, 18, 19)]
env = lmdb.open(db, readonly=True, lock=False)
lines = open(os.path.join(db, 'data.label')).read().split()
k = 0
with env.begin() as txn:
    keys = []
    for r, (key, val) in enumerate(txn.cursor()):
        keys.append(bytes(key))
        a = np.load(io.BytesIO(bytes(val)))
        a = a[None] if a.ndim == 3 else a
        labs = lines[r].split(',')
        assert len(labs) == a.shape[0], (r, labs, a.shape)
        for j in range(a.shape[0]):
            i = keep[k]
            im = np.asarray(Image.open(os.path.join(fix, names[i])))
            want = (im.astype(np.float32) - np.float32(72.94)) / np.float32(90.0)
            assert np.array_equal(a[j, 0], want), (r, j, i)
            assert labs[j] == labels[names[i]], (r, j, i)
            jpg = np.asarray(Image.open(os.path.join(db, 'original_images', '%08d_%04d.jpg' % (r, j))), np.float32)
            assert np.abs(jpg - im).mean() < 3, (r, j, i)  # the same picture, through JPEG
            k += 1
assert k == 18 and keys == [b'%08d' % r for r in range(7)], (k, keys)
assert len(os.listdir(os.path.join(db, 'original_images'))) == 19  # 18 JPEGs + index.txt
EOF
then ok "records, labels and JPEG names line up with the original images"; else bad "read back after refresh"; fi

# appending to an existing set keeps numbering and labels
$PY - "$DB" <<'EOF' || bad "append"
import sys
import numpy as np
from calib8.lmdb_save import LMDB_Dataset
s = LMDB_Dataset(sys.argv[1])
assert len(s) == 7
assert s.put(np.zeros((1, 28, 28), np.float32), labels='3') == 7
try:
    s.put(np.zeros((1, 28, 28), np.float32))
    raise SystemExit('a record without labels was accepted')
except ValueError as e:
    assert 'labels for every record or for none' in str(e), e
try:
    s.put(np.zeros((3, 1, 28, 28), np.float32), labels=[1, 2])
    raise SystemExit('2 labels for a batch of 3 were accepted')
except ValueError as e:
    assert 'need a batch [2, ...]' in str(e), e
s.close()
EOF
out=$("$C8" eval "$MODEL" --data "$DB" --json "$TMP/lmdb3.json" 2>&1); rc=$?
if [ $rc -eq 0 ] && [ "$(json "$TMP/lmdb3.json" count)" = 19 ]; then ok "append: 19 samples"; else bad "append: rc=$rc $out"; fi
out=$($PY -m calib8.lmdb_save "$TMP/nothing" 2>&1); rc=$?
if [ $rc -ne 0 ] && echo "$out" | grep -q "holds no data.mdb"; then ok "refresh of a folder without a database"; else bad "refresh missing: rc=$rc $out"; fi

echo "$pass passed, $fail failed" >&2
[ $fail -eq 0 ]
