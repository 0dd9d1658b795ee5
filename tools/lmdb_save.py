#!/usr/bin/python3
"""Saves preprocessed tensors into an LMDB data set that calib8 reads (calib8 quantize --calib DIR,
calib8 eval --data DIR). Needs Debian's python3-lmdb, python3-numpy and python3-pil.

    from lmdb_save import LMDBSaver
    s = LMDBSaver('calib_lmdb')                 # creates the folder, or appends to an existing data set
    for batch, labels, images in my_pipeline():
        s.put(batch, labels=labels, originals=images)
    s.close()

Layout of DIR (what calib8's reader, src/data/dataset-lmdb.c, expects):
  data.mdb, lock.mdb      one record per put(); keys are the record number as 8 decimal digits ('00000000',
                          '00000001', ...) so that LMDB's key order is the order of the puts; each value is
                          the tensor as a complete .npy file (numpy.save format 1.0, little-endian, C order):
                          one sample (the model input's shape without the batch dimension, or with a batch
                          of 1) or a batch [k, ...] of k samples.
  data.label              one line per record: the labels of its samples separated by commas ("3" or
                          "3,13,4,6"); calib8 eval picks it up by itself.
  original_images/        with originals=: each sample's image as a viewable JPEG named
                          RRRRRRRR_IIII.jpg (record number, item number inside the record). Delete the JPEGs of
                          samples you do not want, then run tools/lmdb_refresh.py DIR.
  original_images/index.txt
                          'record item items file' for every JPEG written, so lmdb_refresh.py can tell a
                          deleted image from a record that never had one.
"""
import io
import os
import sys

import numpy as np

try:
    import lmdb
except ImportError:  # pragma: no cover - a message instead of a traceback
    sys.exit('lmdb_save: the Python lmdb module is missing: apt-get install python3-lmdb')

KEY_DIGITS = 8
MAX_RECORDS = 10 ** KEY_DIGITS


def record_key(i):
    return b'%0*d' % (KEY_DIGITS, i)


def npy_bytes(array):
    """A complete .npy file (format 1.0, little-endian, C order) for the array."""
    a = np.asarray(array)
    if a.dtype.kind not in 'fiub':
        raise ValueError('lmdb_save: tensors must be numeric, got dtype %s' % a.dtype)
    if a.dtype.byteorder == '>' or (a.dtype.byteorder == '=' and sys.byteorder == 'big'):
        a = a.astype(a.dtype.newbyteorder('<'))
    b = io.BytesIO()
    np.lib.format.write_array(b, np.ascontiguousarray(a), version=(1, 0), allow_pickle=False)
    return b.getvalue()


def to_jpeg_image(img):
    """A PIL image from a numpy array (HW, HWC or CHW; uint8, or float in 0..255) or a PIL image."""
    from PIL import Image
    if isinstance(img, Image.Image):
        return img.convert('RGB') if img.mode not in ('L', 'RGB') else img
    a = np.asarray(img)
    if a.ndim == 3 and a.shape[0] in (1, 3) and a.shape[2] not in (1, 3, 4):
        a = a.transpose(1, 2, 0)  # CHW -> HWC
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.ndim == 3 and a.shape[2] == 4:
        a = a[:, :, :3]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] != 3):
        raise ValueError('lmdb_save: an original image must be HxW, HxWx3 or 3xHxW, got shape %s' % (a.shape,))
    if a.dtype != np.uint8:
        a = np.clip(np.rint(a.astype(np.float64)), 0, 255).astype(np.uint8)
    return Image.fromarray(a, 'L' if a.ndim == 2 else 'RGB')


def jpeg_name(record, item):
    return '%0*d_%04d.jpg' % (KEY_DIGITS, record, item)


def write_atomic(path, data):
    tmp = path + '.tmp%d' % os.getpid()
    with open(tmp, 'wb') as f:
        f.write(data)
    os.replace(tmp, path)


class LMDBSaver:
    """Appends records to the LMDB data set in `directory` (created when missing)."""

    def __init__(self, directory, map_size=1 << 30):
        self.dir = directory
        os.makedirs(directory, exist_ok=True)
        self.env = lmdb.open(directory, map_size=map_size, subdir=True)
        self.count = self.env.stat()['entries']
        self.label_path = os.path.join(directory, 'data.label')
        self.originals_dir = os.path.join(directory, 'original_images')
        self.index_path = os.path.join(self.originals_dir, 'index.txt')
        n_lines = 0
        if os.path.exists(self.label_path):
            with open(self.label_path) as f:
                n_lines = sum(1 for line in f if line.strip())
        # labels are all or nothing: data.label has one line per record
        self.has_labels = None if self.count == 0 else n_lines > 0
        if self.has_labels and n_lines != self.count:
            raise ValueError("lmdb_save: '%s' has %d lines but the database holds %d records"
                             % (self.label_path, n_lines, self.count))

    def put(self, array, labels=None, originals=None):
        """Writes one record: `array` is one sample or a batch [k, ...]. `labels` gives the label of each sample
        (an int for one sample, a list of k ints for a batch); `originals` the image of each sample (one image, or
        a list of k), saved as JPEG in original_images/. Returns the record number."""
        a = np.asarray(array)
        if a.size == 0:
            raise ValueError('lmdb_save: an empty tensor cannot be a record')
        if labels is not None and np.ndim(labels) == 0:
            labels = [labels]
        k = len(labels) if labels is not None else None
        if k is not None and k > 1 and (a.ndim < 2 or a.shape[0] != k):
            raise ValueError('lmdb_save: %d labels need a batch [%d, ...]; the tensor has shape %s'
                             % (k, k, tuple(a.shape)))
        if originals is not None:
            if isinstance(originals, (list, tuple)):
                imgs = list(originals)
            else:
                imgs = [originals]
            if k is None:
                k = len(imgs)
            if len(imgs) != k:
                raise ValueError('lmdb_save: %d original images for %d samples' % (len(imgs), k))
            if k > 1 and (a.ndim < 2 or a.shape[0] != k):
                raise ValueError('lmdb_save: %d original images need a batch [%d, ...]; the tensor has shape %s'
                                 % (k, k, tuple(a.shape)))
        if k is None:
            k = 1
        if labels is not None:
            for v in labels:
                if int(v) != v or int(v) < 0:
                    raise ValueError('lmdb_save: labels must be integers >= 0, got %r' % (v,))
        if self.has_labels is not None and self.has_labels != (labels is not None):
            raise ValueError('lmdb_save: give labels for every record or for none (data.label has one line per record)')
        if self.count >= MAX_RECORDS:
            raise ValueError('lmdb_save: more than %d records' % MAX_RECORDS)

        rec = self.count
        value = npy_bytes(a)
        while True:
            try:
                with self.env.begin(write=True) as txn:
                    if not txn.put(record_key(rec), value, overwrite=False):
                        raise ValueError('lmdb_save: record %s exists already' % record_key(rec).decode())
                break
            except lmdb.MapFullError:
                self.env.set_mapsize(self.env.info()['map_size'] * 2)
        self.count += 1
        self.has_labels = labels is not None
        if labels is not None:
            with open(self.label_path, 'a') as f:
                f.write(','.join(str(int(v)) for v in labels) + '\n')
        if originals is not None:
            os.makedirs(self.originals_dir, exist_ok=True)
            lines = []
            for i, img in enumerate(imgs):
                name = jpeg_name(rec, i)
                b = io.BytesIO()
                to_jpeg_image(img).save(b, 'JPEG', quality=95)
                write_atomic(os.path.join(self.originals_dir, name), b.getvalue())
                lines.append('%d %d %d %s\n' % (rec, i, k, name))
            with open(self.index_path, 'a') as f:
                f.writelines(lines)
        return rec

    def close(self):
        if self.env is not None:
            self.env.sync()
            self.env.close()
            self.env = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


if __name__ == '__main__':
    sys.exit('lmdb_save is a module: from lmdb_save import LMDBSaver (see its docstring)')
