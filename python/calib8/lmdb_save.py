"""NNTC auto_calib's lmdb_save, over libcalib8's LMDB writer (calib8_lmdb_writer_* in include/calib8/dataset.h):
no Python lmdb module needed. What calib8 quantize/eval/auto read as an LMDB data set.

    import json
    from calib8 import lmdb_save
    lmdb = lmdb_save.LMDB_Dataset("./preprocessed_data")
    for inputs, labels, images in loader:                  # inputs: a batch [k, ...] (or one sample)
        lmdb.put(inputs.numpy(), images, labels=json.dumps(labels))
    lmdb.close()
    # after deleting unwanted JPEGs from ./preprocessed_data/original_images/:
    lmdb_save.refresh_lmdb("./preprocessed_data")       # or: python3 -m calib8.lmdb_save ./preprocessed_data

Layout (auto_calib's): data.mdb with one record per put, keyed '00000000', '00000001', ... and holding the
tensor as a whole .npy file; data.label beside it. Labels, given as json.dumps(...) of:
  - classification: the batch's class labels, e.g. [3, 13, 4, 6] -> the line "3,13,4,6" (one line per record);
  - detection: per image a list of boxes [cls, x1, y1, x2, y2] -> "cls,x1,y1,x2,y2;..." (one line per image;
    a batch gives a list of such lists);
  - or the text itself ("3,13,4,6", or detection lines separated by newlines).
original_images/ holds each sample's original image as RRRRRRRR_IIII.jpg (record, item) and index.txt
('record item items file' per JPEG), which refresh_lmdb reads to tell which samples the user deleted.

A put is atomic: everything is checked and encoded first, and the record and its data.label lines are committed
together in one LMDB transaction; a put that fails leaves no record, no label line, no JPEG and no index line.
"""
import io
import json
import numbers
import os
import shutil
import sys
from ctypes import byref, c_int64, c_size_t, c_void_p, string_at

import numpy as np

from . import _lib
from ._errors import Error, InvalidArgument, check

KEY_DIGITS = 8


def _npy_bytes(a):
    if a.dtype.kind not in "fiub":
        raise InvalidArgument("lmdb_save: tensors must be numeric, got dtype %s" % a.dtype)
    if a.dtype.byteorder == ">" or (a.dtype.byteorder == "=" and sys.byteorder == "big"):
        a = a.astype(a.dtype.newbyteorder("<"))
    b = io.BytesIO()
    np.lib.format.write_array(b, np.ascontiguousarray(a), version=(1, 0), allow_pickle=False)
    return b.getvalue()


def _is_int(v):
    return isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= 0


def _num(v):
    if isinstance(v, bool) or not isinstance(v, numbers.Real):
        raise InvalidArgument("lmdb_save: a box value must be a number, got %r" % (v,))
    return ("%d" % v) if float(v).is_integer() else repr(float(v))


def _box_line(boxes, where):
    out = []
    for b in boxes:
        if not isinstance(b, (list, tuple)) or len(b) != 5:
            raise InvalidArgument("lmdb_save: %s: a box is [cls, x1, y1, x2, y2], got %r" % (where, b))
        if not _is_int(b[0]):
            raise InvalidArgument("lmdb_save: %s: a box's class must be an integer >= 0, got %r" % (where, b[0]))
        if not (b[3] >= b[1] and b[4] >= b[2]):
            raise InvalidArgument("lmdb_save: %s: box %r needs x2 >= x1 and y2 >= y1" % (where, list(b)))
        out.append(",".join(_num(v) for v in b))
    return ";".join(out)


def _parse_text_labels(text, k):
    """(lines, samples) from auto_calib's label text: one classification line of k ints, or detection lines."""
    text = text.strip("\n")
    lines = text.split("\n")
    parts = lines[0].split(",")
    if len(lines) == 1 and ";" not in lines[0] and all(p.strip().isdigit() for p in parts) and \
            (k is None or len(parts) == k):
        return text + "\n", len(parts)
    for i, line in enumerate(lines):
        for box in filter(None, line.split(";")):
            v = box.split(",")
            try:
                nums = [float(x) for x in v]
            except ValueError:
                nums = None
            if nums is None or len(v) != 5 or not v[0].strip().isdigit() or nums[3] < nums[1] or nums[4] < nums[2]:
                raise InvalidArgument("lmdb_save: label line %d '%s' is neither class labels '3,13,4,6' nor boxes "
                                      "'cls,x1,y1,x2,y2;...' (x2 >= x1, y2 >= y1)" % (i + 1, line))
    return text + "\n", len(lines)


def _label_text(labels, k):
    """data.label lines for a put and the sample count they imply."""
    v = labels
    if isinstance(v, bytes):
        v = v.decode()
    if isinstance(v, str):
        try:
            v = json.loads(v)
        except ValueError:
            return _parse_text_labels(v, k)
        if isinstance(v, str):
            return _parse_text_labels(v, k)
    if _is_int(v):
        v = [v]
    if not isinstance(v, (list, tuple)) or not v:
        raise InvalidArgument("lmdb_save: labels must be class labels [3, 13, 4, 6] or boxes [[cls, x1, y1, x2, y2], "
                              "...], as json.dumps gives them; got %r" % (labels,))
    if all(_is_int(x) for x in v):
        return ",".join("%d" % x for x in v) + "\n", len(v)
    depth2 = all(isinstance(b, (list, tuple)) and all(isinstance(x, numbers.Real) for x in b) for b in v)
    if depth2:  # one image's boxes
        return _box_line(v, "image 0") + "\n", 1
    if all(isinstance(img, (list, tuple)) for img in v):  # per image, a list of boxes
        return "".join(_box_line(img, "image %d" % i) + "\n" for i, img in enumerate(v)), len(v)
    raise InvalidArgument("lmdb_save: labels must be class labels (integers >= 0) or boxes [cls, x1, y1, x2, y2]; "
                          "got %r" % (labels,))


def _jpeg(img):
    from PIL import Image
    if isinstance(img, Image.Image):
        im = img if img.mode in ("L", "RGB") else img.convert("RGB")
    else:
        a = np.asarray(img)
        if a.ndim == 3 and a.shape[0] in (1, 3) and a.shape[2] not in (1, 3, 4):
            a = a.transpose(1, 2, 0)
        if a.ndim == 3 and a.shape[2] == 1:
            a = a[:, :, 0]
        if a.ndim == 3 and a.shape[2] == 4:
            a = a[:, :, :3]
        if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] != 3):
            raise InvalidArgument("lmdb_save: an original image must be HxW, HxWx3 or 3xHxW, got shape %s"
                                  % (a.shape,))
        if a.dtype != np.uint8:
            a = np.clip(np.rint(a.astype(np.float64)), 0, 255).astype(np.uint8)
        im = Image.fromarray(a, "L" if a.ndim == 2 else "RGB")
    b = io.BytesIO()
    im.save(b, "JPEG", quality=95)
    return b.getvalue()


def jpeg_name(record, item):
    return "%0*d_%04d.jpg" % (KEY_DIGITS, record, item)


class LMDB_Dataset:
    """auto_calib's LMDB_Dataset: appends records to the LMDB data set in `lmdb_dir` (created when missing)."""

    def __init__(self, lmdb_dir):
        self.dir = str(lmdb_dir)
        h = c_void_p()
        check(_lib.lib.lmdb_writer_open(self.dir.encode(), byref(h)))
        self._h = h
        self.originals_dir = os.path.join(self.dir, "original_images")
        self.index_path = os.path.join(self.originals_dir, "index.txt")

    def __len__(self):
        return int(_lib.lib.lmdb_writer_count(self._h))

    def put(self, data, original_images=None, labels=None):
        """Writes one record: `data` one sample or a batch [k, ...]; `original_images` the k samples' images
        (arrays HxW, HxWx3 or 3xHxW, uint8 or 0..255 floats, or PIL images; one image or a list) saved as JPEG
        in original_images/; `labels` json.dumps(labels) (see the module's doc). Returns the record number.
        Raises calib8.InvalidArgument (nothing written) for a bad tensor, labels or images."""
        if self._h is None:
            raise InvalidArgument("lmdb_save: the data set '%s' is closed" % self.dir)
        if hasattr(data, "detach") and hasattr(data, "numpy"):
            data = data.detach().cpu().numpy()
        a = np.asarray(data)
        if a.size == 0:
            raise InvalidArgument("lmdb_save: an empty tensor cannot be a record")
        imgs = None
        k = None
        if original_images is not None:
            imgs = list(original_images) if isinstance(original_images, (list, tuple)) else \
                (list(original_images) if isinstance(original_images, np.ndarray) and original_images.ndim == 4
                 else [original_images])
            k = len(imgs)
        text = None
        if labels is not None:
            text, n = _label_text(labels, k)
            if k is not None and n != k:
                raise InvalidArgument("lmdb_save: %d labels for %d original images" % (n, k))
            k = n
        if k is not None and k > 1 and (a.ndim < 2 or a.shape[0] != k):
            raise InvalidArgument("lmdb_save: %d samples (labels or images) need a batch [%d, ...]; the tensor has "
                                  "shape %s" % (k, k, tuple(a.shape)))
        value = _npy_bytes(a)
        jpegs = [_jpeg(im) for im in imgs] if imgs is not None else []
        rec = len(self)
        written, old_index = [], None
        try:
            if jpegs:
                os.makedirs(self.originals_dir, exist_ok=True)
                for i, jb in enumerate(jpegs):
                    path = os.path.join(self.originals_dir, jpeg_name(rec, i))
                    tmp = path + ".tmp%d" % os.getpid()
                    with open(tmp, "wb") as f:
                        f.write(jb)
                    os.replace(tmp, path)
                    written.append(path)
                old_index = os.path.getsize(self.index_path) if os.path.exists(self.index_path) else -1
                with open(self.index_path, "a") as f:
                    f.writelines("%d %d %d %s\n" % (rec, i, len(jpegs), jpeg_name(rec, i)) for i in range(len(jpegs)))
            out = c_int64()
            check(_lib.lib.lmdb_writer_put(self._h, value, len(value), text.encode() if text else None, byref(out)))
        except BaseException:
            for p in written:
                try:
                    os.unlink(p)
                except OSError:
                    pass
            if old_index is not None:
                if old_index < 0:
                    os.unlink(self.index_path)
                else:
                    os.truncate(self.index_path, old_index)
            raise
        return out.value

    def get(self, record):
        """Record `record` as a numpy array."""
        p, n = c_void_p(), c_size_t()
        check(_lib.lib.lmdb_writer_get(self._h, record, byref(p), byref(n)))
        try:
            b = string_at(p, n.value)
        finally:
            _lib.lib.free(p)
        return np.load(io.BytesIO(b), allow_pickle=False)

    def close(self):
        if self._h is not None:
            _lib.lib.lmdb_writer_close(self._h)
            self._h = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


def refresh_lmdb(lmdb_dir):
    """auto_calib's refresh_lmdb.py: drops the samples whose JPEG was deleted from original_images/, rebuilding
    the database, data.label, the JPEG names and index.txt so that records, labels and images stay aligned. A
    batch record keeps its remaining samples; a record left empty is dropped; samples saved without an image are
    kept. The new set is built in a folder beside the data and moved into place at the end. Returns
    {'removed': samples, 'dropped': records, 'samples': left, 'records': left}."""
    d = str(lmdb_dir).rstrip("/") or "/"
    if not os.path.exists(os.path.join(d, "data.mdb")):
        raise InvalidArgument("lmdb_save: '%s' holds no data.mdb: not an LMDB data set" % d)
    orig = os.path.join(d, "original_images")
    index = {}
    ipath = os.path.join(orig, "index.txt")
    if os.path.exists(ipath):
        with open(ipath) as f:
            for n, line in enumerate(f, 1):
                p = line.split()
                if not p:
                    continue
                if len(p) != 4:
                    raise InvalidArgument("lmdb_save: '%s' line %d is not 'record item items file'" % (ipath, n))
                index[(int(p[0]), int(p[1]))] = (int(p[2]), p[3])
    label_path = os.path.join(d, "data.label")
    lines = None
    if os.path.exists(label_path):
        with open(label_path) as f:
            lines = f.read().split("\n")
        if lines and lines[-1] == "":
            lines.pop()
    items_of = {}
    for (rr, _), (k, _) in index.items():
        items_of[rr] = k
    src = LMDB_Dataset(d)
    n_rec = len(src)
    per_record = lines is None or len(lines) == n_rec  # classification: a line per record; detection: per image
    tmp = os.path.join(d, ".refresh-tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    dst = LMDB_Dataset(tmp)
    new_index, renames = [], []
    removed = dropped = samples = 0
    li = 0
    for r in range(n_rec):
        a = src.get(r)
        items = items_of.get(r)
        lab = None
        if lines is not None and per_record:
            lab = lines[r]
            if items is None:
                items = len(lab.split(",")) if lab and ";" not in lab and all(
                    x.strip().isdigit() for x in lab.split(",")) else 1
        if items is None:
            items = a.shape[0] if a.ndim >= 4 else 1
        if lines is not None and not per_record:
            lab = lines[li:li + items]
            li += items
        gone = [i for i in range(items) if (r, i) in index and
                not os.path.exists(os.path.join(orig, index[(r, i)][1]))]
        keep = [i for i in range(items) if i not in gone]
        removed += len(gone)
        if not keep:
            dropped += 1
            continue
        if gone and items > 1:
            if a.ndim < 2 or a.shape[0] != items:
                raise InvalidArgument("lmdb_save: record %d holds shape %s, not a batch of %d samples"
                                      % (r, a.shape, items))
            a = a[keep]
        if lab is not None:
            if per_record:
                parts = lab.split(",")
                text = (",".join(parts[i] for i in keep) if len(parts) == items and items > 1 else lab) + "\n"
            else:
                text = "".join(lab[i] + "\n" for i in keep)
        else:
            text = None
        new_rec = len(dst)
        v = _npy_bytes(np.asarray(a))
        check(_lib.lib.lmdb_writer_put(dst._h, v, len(v), text.encode() if text else None, None))
        for new_i, old_i in enumerate(keep):
            if (r, old_i) in index:
                renames.append((index[(r, old_i)][1], jpeg_name(new_rec, new_i)))
                new_index.append("%d %d %d %s\n" % (new_rec, new_i, len(keep), jpeg_name(new_rec, new_i)))
        samples += len(keep)
    left = len(dst)
    src.close()
    dst.close()
    for name in ("data.mdb", "lock.mdb", "data.label"):
        if os.path.exists(os.path.join(tmp, name)):
            os.replace(os.path.join(tmp, name), os.path.join(d, name))
        elif name == "data.label" and os.path.exists(label_path):
            os.unlink(label_path)
    shutil.rmtree(tmp, ignore_errors=True)
    if renames:  # two steps, so that a new name never overwrites an old one not yet moved
        for old, new in renames:
            os.replace(os.path.join(orig, old), os.path.join(orig, new + ".refresh"))
        for _, new in renames:
            os.replace(os.path.join(orig, new + ".refresh"), os.path.join(orig, new))
    if os.path.isdir(orig):
        with open(ipath + ".tmp", "w") as f:
            f.writelines(new_index)
        os.replace(ipath + ".tmp", ipath)
    return {"removed": removed, "dropped": dropped, "samples": samples, "records": left}


if __name__ == "__main__":
    if len(sys.argv) != 2 or sys.argv[1] in ("-h", "--help"):
        sys.stderr.write("usage: python3 -m calib8.lmdb_save LMDB_DIR   (auto_calib's refresh_lmdb: drops the samples "
                         "whose JPEG was deleted from LMDB_DIR/original_images)\n")
        sys.exit(2)
    try:
        r = refresh_lmdb(sys.argv[1])
    except Error as e:
        sys.stderr.write("%s\n" % e)
        sys.exit(1)
    print("removed %d samples (%d records emptied and dropped); %d samples remain in %d records"
          % (r["removed"], r["dropped"], r["samples"], r["records"]))
