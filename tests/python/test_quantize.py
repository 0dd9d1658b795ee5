"""calib8.quantize writes the bytes `calib8 quantize` writes, from a dataset spec and from a PyTorch
DataLoader's batches of the same images; calib8.evaluate and a PyTorch loop with a metric computed in Python
agree on the INT8 model; calib8.compare reads the pair."""
import os
import unittest

import numpy as np

import calib8
from common import DEMO, MODEL, PP, cli, fmnist_dataset, require_torch, read, tmpdir


require_torch()


class QuantizeTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tmpdir()
        d = cls.tmp.name
        cls.cli_out = os.path.join(d, "cli.onnx")
        cli("quantize", MODEL, "--calib", DEMO, "-p", PP, "-o", cls.cli_out, "--table", os.path.join(d, "cli.table"),
            "--write-qtable", os.path.join(d, "cli.qtable"), "--trt-cache", os.path.join(d, "cli.cache"))

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def path(self, name):
        return os.path.join(self.tmp.name, name)

    def test_spec_gives_the_cli_bytes(self):
        r = calib8.quantize(MODEL, DEMO, self.path("py.onnx"), preprocess=PP, table=self.path("py.table"),
                            qtable=self.path("py.qtable"), trt_cache=self.path("py.cache"),
                            json=self.path("py.json"))
        self.assertEqual(r.samples, 300)
        self.assertEqual(len(r.layers), 5)
        self.assertEqual(r.int8_layers, 5)
        for ext in ("onnx", "table", "qtable", "cache"):
            self.assertEqual(read(self.path("py." + ext)), read(self.path("cli." + ext)), ext)
        self.assertTrue(os.path.getsize(self.path("py.json")) > 0)

    def test_dataloader_gives_the_cli_bytes(self):
        import torch.utils.data
        loader = torch.utils.data.DataLoader(fmnist_dataset(DEMO), batch_size=32, shuffle=True)
        seen = []
        r = calib8.quantize(MODEL, loader, self.path("loader.onnx"), progress=lambda s, d, t: seen.append(d))
        self.assertEqual(r.samples, 300)
        self.assertTrue(seen)
        # the same 300 images, other batches and another order: the same histograms, the same model
        self.assertEqual(read(self.path("loader.onnx")), read(self.cli_out))
        # plain numpy batches and a sample limit
        arrays = [np.stack([fmnist_dataset(DEMO)[i][0].numpy() for i in range(k, k + 10)]) for k in (0, 10, 20)]
        r = calib8.quantize(calib8.Model(MODEL), arrays, self.path("np.onnx"), limit=25, method="max")
        self.assertEqual(r.samples, 25)

    def test_python_metric_agrees_with_evaluate(self):
        import torch.utils.data
        loader = torch.utils.data.DataLoader(fmnist_dataset(DEMO), batch_size=50)
        int8 = calib8.Model(self.cli_out)
        correct = total = 0
        for images, labels in loader:  # a PyTorch evaluation loop, the metric computed here
            logits, = int8.run(images)
            correct += int((logits.argmax(axis=1) == labels.numpy()).sum())
            total += len(labels)
        ev = calib8.evaluate(self.cli_out, DEMO, metric="top1", labels=os.path.join(DEMO, "labels.txt"),
                             preprocess=PP)
        self.assertEqual((ev.count, ev.correct), (total, correct))
        self.assertAlmostEqual(ev.score, correct / total, places=12)
        self.assertEqual(ev.kind, "top1")

    def test_compare(self):
        r = calib8.compare(MODEL, self.cli_out, DEMO, preprocess=PP, limit=64, json=self.path("cmp.json"))
        self.assertEqual(r.samples, 64)
        self.assertTrue(r.rows and all(row["compared"] for row in r.rows if not row["mismatch"]))
        self.assertGreater(r.rows[-1]["accumulated"]["cosine"], 0.9)
        self.assertTrue(os.path.getsize(self.path("cmp.json")) > 0)


if __name__ == "__main__":
    unittest.main()
