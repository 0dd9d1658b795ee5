"""calib8.lmdb_save (NNTC auto_calib's LMDB_Dataset and refresh_lmdb, over libcalib8's LMDB writer) against
calib8's own LMDB reader: 24 real Fashion-MNIST images saved as 4 one-sample records and 5 batch records of 4,
with labels=json.dumps(labels) and original JPEGs; `calib8 eval` and `calib8 quantize --test` read them with
data.label and count the hits the model makes on the same tensors here; a failed put (bad labels, or data.label
unwritable at commit) leaves no record, label line, JPEG or index line; detection labels give one line per image;
refresh_lmdb drops deleted samples and keeps records, labels and JPEGs aligned."""
import json
import os
import shutil
import unittest

import numpy as np

from common import CLI, DEMO, MEAN, MODEL, STD, cli, labelled, tmpdir  # noqa: F401

try:
    from PIL import Image
except ImportError:
    from common import skip
    skip("needs python3-pil")

import calib8
from calib8 import lmdb_save


def load(items):
    pixels = [np.asarray(Image.open(p).convert("L"), dtype=np.uint8) for p, _ in items]
    x = np.stack([((px.astype(np.float32) - MEAN) / STD)[None] for px in pixels])  # [k, 1, 28, 28]
    return x, pixels, [lab for _, lab in items]


def eval_json(db, tmp, name):
    out = os.path.join(tmp, name)
    cli("eval", MODEL, "--data", db, "--json", out)
    with open(out) as f:
        return json.load(f)


class LmdbSaveTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp_ctx = tmpdir()
        cls.tmp = cls.tmp_ctx.name
        cls.items = labelled(DEMO)[:24]
        cls.x, cls.pixels, cls.labels = load(cls.items)
        m = calib8.Model(MODEL)
        logits, = m.run(cls.x)
        cls.pred = logits.argmax(axis=1)

    @classmethod
    def tearDownClass(cls):
        cls.tmp_ctx.cleanup()

    def save(self, db):
        ds = lmdb_save.LMDB_Dataset(db)
        for i in range(4):  # one sample per record, label as json.dumps(int)
            self.assertEqual(ds.put(self.x[i], self.pixels[i], labels=json.dumps(self.labels[i])), i)
        for b in range(5):  # batches of 4: "3,13,4,6"
            s = slice(4 + 4 * b, 8 + 4 * b)
            ds.put(self.x[s], list(self.pixels[s]), labels=json.dumps(self.labels[s]))
        self.assertEqual(len(ds), 9)
        ds.close()

    def test_save_eval_quantize_refresh(self):
        db = os.path.join(self.tmp, "db")
        self.save(db)
        with open(os.path.join(db, "data.label")) as f:
            lines = f.read().splitlines()
        self.assertEqual(len(lines), 9)
        self.assertEqual(lines[4], ",".join(str(v) for v in self.labels[4:8]))
        self.assertEqual(len(os.listdir(os.path.join(db, "original_images"))), 24 + 1)  # JPEGs and index.txt
        j = eval_json(db, self.tmp, "e1.json")
        self.assertEqual(j["count"], 24)
        self.assertEqual(j["correct"], int((self.pred == np.array(self.labels)).sum()))
        # quantize calibrates on it and tests with its data.label, found by itself as eval and auto do
        q = os.path.join(self.tmp, "q.json")
        r = cli("quantize", MODEL, "--calib", db, "--test", db, "-q", "-o", os.path.join(self.tmp, "q.onnx"),
                "--json", q)
        self.assertIn("test labels from '%s'" % os.path.join(db, "data.label"), r.stdout)
        with open(q) as f:
            m = json.load(f)["metrics"]
        self.assertEqual((m["metric"], m["count"]), ("top1", 24))
        self.assertAlmostEqual(m["fp32"], j["correct"] / 24, places=9)
        # auto takes data.label by itself
        r = cli("auto", MODEL, "--calib", db, "--test", db, "-o", os.path.join(self.tmp, "a.onnx"), check=False)
        self.assertIn("metric: top1 (labels from '%s')" % os.path.join(db, "data.label"), r.stdout)

        # delete: one JPEG inside batch record 5, one single-sample record's JPEG (record 2), all of record 7
        orig = os.path.join(db, "original_images")
        for rec, item in [(5, 1), (2, 0), (7, 0), (7, 1), (7, 2), (7, 3)]:
            os.unlink(os.path.join(orig, lmdb_save.jpeg_name(rec, item)))
        res = lmdb_save.refresh_lmdb(db)
        self.assertEqual(res, {"removed": 6, "dropped": 2, "samples": 18, "records": 7})
        deleted = {2, 9, 16, 17, 18, 19}  # record 2; record 5 (samples 8-11) item 1; record 7 (samples 16-19)
        keep = [i for i in range(24) if i not in deleted]
        j = eval_json(db, self.tmp, "e2.json")
        self.assertEqual(j["count"], 18)
        self.assertEqual(j["correct"], int((self.pred[keep] == np.array(self.labels)[keep]).sum()))
        # records, labels and JPEGs stay aligned: every JPEG is its sample's image again
        ds = lmdb_save.LMDB_Dataset(db)
        n = 0
        for rec in range(len(ds)):
            a = ds.get(rec)
            a = a if a.ndim == 4 else a[None]
            for item in range(a.shape[0]):
                img = np.asarray(Image.open(os.path.join(orig, lmdb_save.jpeg_name(rec, item))), dtype=np.float32)
                self.assertLess(np.abs(img - (a[item, 0] * STD + MEAN)).max(), 16)  # JPEG quality 95
                np.testing.assert_array_equal(a[item], self.x[keep[n]])
                n += 1
        self.assertEqual(n, 18)
        ds.close()
        self.assertEqual(len([f for f in os.listdir(orig) if f.endswith(".jpg")]), 18)

    def test_failed_put_commits_nothing(self):
        db = os.path.join(self.tmp, "atomic")
        ds = lmdb_save.LMDB_Dataset(db)
        ds.put(self.x[:2], list(self.pixels[:2]), labels=json.dumps(self.labels[:2]))
        label_path, index = os.path.join(db, "data.label"), os.path.join(db, "original_images", "index.txt")
        def state():
            with open(label_path) as a, open(index) as b:
                return a.read(), b.read(), sorted(os.listdir(os.path.join(db, "original_images")))
        before = state()
        # rejected before anything is written: 3 labels for a batch of 2, a bad box, images and labels disagreeing
        with self.assertRaises(calib8.InvalidArgument):
            ds.put(self.x[:2], list(self.pixels[:2]), labels=json.dumps([1, 2, 3]))
        with self.assertRaises(calib8.InvalidArgument):
            ds.put(self.x[:1], labels=json.dumps([[1, 10, 10, 5, 20]]))
        with self.assertRaises(calib8.InvalidArgument):
            ds.put(self.x[:2], list(self.pixels[:3]), labels=json.dumps(self.labels[:2]))
        # fails inside the put itself: data.label cannot be appended to, so the LMDB transaction is aborted and
        # the JPEGs and index lines already written are taken back
        os.rename(label_path, label_path + ".away")
        os.mkdir(label_path)
        with self.assertRaises(calib8.IOError) as e:
            ds.put(self.x[2:4], list(self.pixels[2:4]), labels=json.dumps(self.labels[2:4]))
        self.assertIn("data.label", str(e.exception))
        os.rmdir(label_path)
        os.rename(label_path + ".away", label_path)
        self.assertEqual(len(ds), 1)
        self.assertEqual(before, state())
        # and the next put is record 1, readable with its labels
        self.assertEqual(ds.put(self.x[2:4], labels=json.dumps(self.labels[2:4])), 1)
        ds.close()
        j = eval_json(db, self.tmp, "atomic.json")
        self.assertEqual(j["count"], 4)
        self.assertEqual(j["correct"], int((self.pred[:4] == np.array(self.labels[:4])).sum()))

    def test_detection_labels(self):
        db = os.path.join(self.tmp, "det")
        with lmdb_save.LMDB_Dataset(db) as ds:
            ds.put(self.x[:2], labels=json.dumps([[[4, 258, 98, 505, 234], [17, 1, 137, 97, 502]], []]))
            ds.put(self.x[2], labels=json.dumps([[18, 225.5, 117, 309, 240]]))
            ds.put(self.x[3], labels=json.dumps("3,1,2,8,9;0,0,0,1,1"))  # the text itself
        with open(os.path.join(db, "data.label")) as f:
            self.assertEqual(f.read(), "4,258,98,505,234;17,1,137,97,502\n\n18,225.5,117,309,240\n"
                                       "3,1,2,8,9;0,0,0,1,1\n")


if __name__ == "__main__":
    unittest.main()
