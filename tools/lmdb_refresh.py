#!/usr/bin/python3
"""lmdb_refresh.py DIR: drops from an LMDB data set written by tools/lmdb_save.py the samples whose JPEG the
user deleted from DIR/original_images/, and rebuilds the database, DIR/data.label and the JPEG names to match.

A record keeps the samples whose images remain (a batch [k, ...] becomes [k', ...]); a record left with no
sample is removed. Records and JPEGs are renumbered so that keys stay contiguous ('00000000', ...) and every
JPEG is named after its new record and item. Samples saved without an original image are always kept (nothing
says they were deleted). The new database is written beside the old one and moved into place at the end.
Needs Debian's python3-lmdb and python3-numpy."""
import io
import os
import shutil
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lmdb_save import jpeg_name, npy_bytes, record_key, write_atomic  # noqa: E402

try:
    import lmdb
except ImportError:  # pragma: no cover
    sys.exit('lmdb_refresh: the Python lmdb module is missing: apt-get install python3-lmdb')


def fail(msg):
    sys.stderr.write('lmdb_refresh: %s\n' % msg)
    sys.exit(1)


def read_index(path):
    """{(record, item): (items, file name)} from original_images/index.txt."""
    idx = {}
    if not os.path.exists(path):
        return idx
    with open(path) as f:
        for n, line in enumerate(f, 1):
            p = line.split()
            if not p:
                continue
            if len(p) != 4:
                fail("'%s' line %d is not 'record item items file'" % (path, n))
            idx[(int(p[0]), int(p[1]))] = (int(p[2]), p[3])
    return idx


def main(argv):
    if len(argv) != 2 or argv[1] in ('-h', '--help'):
        sys.stderr.write('usage: lmdb_refresh.py DIR   (an LMDB data set written by tools/lmdb_save.py)\n')
        return 2
    d = argv[1].rstrip('/') or '/'
    if not os.path.exists(os.path.join(d, 'data.mdb')):
        fail("'%s' holds no data.mdb: not an LMDB data set" % d)
    orig = os.path.join(d, 'original_images')
    index = read_index(os.path.join(orig, 'index.txt'))
    by_record = {}
    for (rr, i) in index:
        by_record.setdefault(rr, []).append(i)
    label_path = os.path.join(d, 'data.label')
    labels = None
    if os.path.exists(label_path):
        with open(label_path) as f:
            labels = [line.strip() for line in f if line.strip()]

    tmp = os.path.join(d, '.refresh-tmp')
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    src = lmdb.open(d, readonly=True, lock=False, subdir=True)
    n_rec = src.stat()['entries']
    if labels is not None and len(labels) != n_rec:
        fail("'%s' has %d lines but the database holds %d records" % (label_path, len(labels), n_rec))
    dst = lmdb.open(tmp, map_size=max(src.info()['map_size'], 1 << 20), subdir=True)

    new_labels, new_index, renames = [], [], []
    removed = dropped = kept_samples = 0
    new_rec = 0
    with src.begin() as rtxn:
        for r, (key, value) in enumerate(rtxn.cursor()):
            value = bytes(value)
            lab = labels[r].split(',') if labels is not None else None
            items = len(lab) if lab is not None else None
            have = by_record.get(r, [])
            if items is None and have:
                items = index[(r, have[0])][0]
            gone = sorted(i for i in have if not os.path.exists(os.path.join(orig, index[(r, i)][1])))
            keep = list(range(items)) if items is not None else None
            if gone:
                a = np.load(io.BytesIO(value), allow_pickle=False)
                if items > 1 and (a.ndim < 2 or a.shape[0] != items):
                    fail('record %d (key %s) holds shape %s, not a batch of %d samples'
                         % (r, key.decode(errors='replace'), a.shape, items))
                keep = [i for i in range(items) if i not in gone]
                removed += len(gone)
                if not keep:
                    dropped += 1
                    continue
                if items > 1:
                    value = npy_bytes(a[keep])
            with dst.begin(write=True) as wtxn:
                wtxn.put(record_key(new_rec), value)
            if lab is not None:
                new_labels.append(','.join(lab[i] for i in keep))
            kept_samples += len(keep) if keep is not None else 1
            for new_i, old_i in enumerate(keep if keep is not None else []):
                if (r, old_i) in index:
                    old_name = index[(r, old_i)][1]
                    new_name = jpeg_name(new_rec, new_i)
                    renames.append((old_name, new_name))
                    new_index.append('%d %d %d %s\n' % (new_rec, new_i, len(keep), new_name))
            new_rec += 1
    src.close()
    dst.sync()
    dst.close()

    # move the new database into place, then the labels, the JPEG names and the index
    for name in ('data.mdb', 'lock.mdb'):
        if os.path.exists(os.path.join(tmp, name)):
            os.replace(os.path.join(tmp, name), os.path.join(d, name))
    shutil.rmtree(tmp, ignore_errors=True)
    if labels is not None:
        write_atomic(label_path, ''.join(s + '\n' for s in new_labels).encode())
    if os.path.isdir(orig):
        staged = []
        for old, new in renames:  # two steps, so a new name never overwrites an old one not yet moved
            if old != new:
                os.replace(os.path.join(orig, old), os.path.join(orig, new + '.refresh'))
                staged.append(new)
        for new in staged:
            os.replace(os.path.join(orig, new + '.refresh'), os.path.join(orig, new))
        write_atomic(os.path.join(orig, 'index.txt'), ''.join(new_index).encode())
    print('lmdb_refresh: removed %d samples (%d records emptied and dropped); %d samples remain in %d records'
          % (removed, dropped, kept_samples, new_rec))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
