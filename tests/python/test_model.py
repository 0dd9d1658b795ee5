"""calib8.Model: description, run (against `calib8 run`), numpy/torch feeds, and errors that carry the
library's message; exceptions raised inside Python callbacks come out of the C call unchanged."""
import os
import unittest
from ctypes import byref

import numpy as np

import calib8
from calib8 import _api, _lib
from common import CLI, MODEL, PP, DEMO, cli, tmpdir


class ModelTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.m = calib8.Model(MODEL, threads=2)
        cls.x = np.random.default_rng(1).standard_normal((4, 1, 28, 28)).astype(np.float32)

    def test_describe(self):
        self.assertEqual([(i.name, i.dtype, i.shape) for i in self.m.inputs],
                         [("input", np.float32, ("N", 1, 28, 28))])
        self.assertEqual([(o.name, o.shape) for o in self.m.outputs], [("logits", ("N", 10))])
        self.assertEqual(self.m.opset, 13)
        self.assertIn(("/c1/Conv", "Conv"), self.m.operators)

    def test_run_matches_the_cli(self):
        with tmpdir() as tmp:
            np.save(os.path.join(tmp, "x.npy"), self.x)
            cli("run", MODEL, "-i", os.path.join(tmp, "x.npy"), "-o", tmp)
            ref = np.load(os.path.join(tmp, "logits.npy"))
        y, = self.m.run(self.x)
        self.assertEqual(y.shape, (4, 10))
        self.assertTrue(np.array_equal(y, ref), "calib8.Model.run differs from calib8 run")
        # a dict, a list, float64 (converted) and a torch tensor give the same outputs
        self.assertTrue(np.array_equal(self.m.run({"input": self.x}, as_dict=True)["logits"], ref))
        self.assertTrue(np.array_equal(self.m.run([self.x.astype(np.float64)])[0], ref))
        try:
            import torch
            self.assertTrue(np.array_equal(self.m.run(torch.from_numpy(self.x))[0], ref))
        except ImportError:
            pass

    def test_errors_carry_the_library_message(self):
        with self.assertRaises(calib8.IOError) as e:
            calib8.Model("no/such/model.onnx")
        self.assertIn("no/such/model.onnx", str(e.exception))
        self.assertEqual(e.exception.status, _lib.IO)
        self.assertIsInstance(e.exception, OSError)
        with self.assertRaises(calib8.InvalidArgument) as e:
            self.m.run(np.zeros((2, 1, 30, 28), np.float32))
        self.assertEqual(str(e.exception), "input 'input' has shape [2,1,30,28], the model expects [N,1,28,28]")
        with self.assertRaises(calib8.InvalidArgument) as e:
            self.m.run({"image": self.x})
        self.assertIn("'image' is not an input", str(e.exception))
        with tmpdir() as tmp:
            bad = os.path.join(tmp, "bad.onnx")
            with open(MODEL, "rb") as f:
                data = f.read()
            with open(bad, "wb") as f:
                f.write(data[:len(data) // 2])
            with self.assertRaises(calib8.MalformedModel) as e:
                calib8.Model(bad)
            self.assertIn("bad.onnx", str(e.exception))

    def test_callback_exceptions_propagate(self):
        """A Python exception inside the batch source comes out of the C call that invoked it, as itself."""
        class Boom(Exception):
            pass

        def batches():
            yield self.x
            raise Boom("the loader broke")
        with _api._Data(self.m, batches()) as ds:
            b = _lib.Batch()
            _api._call(_lib.lib.dataset_next(ds.ptr, byref(b)), ds.guard)
            self.assertEqual(b.rows, 4)
            with self.assertRaises(Boom):
                _api._call(_lib.lib.dataset_next(ds.ptr, byref(b)), ds.guard)
            # a one-pass generator cannot rewind: calib8 says so
            with self.assertRaises(calib8.InvalidArgument):
                _api._call(_lib.lib.dataset_rewind(ds.ptr), ds.guard)

        def interrupted():
            raise KeyboardInterrupt
            yield
        with _api._Data(self.m, [self.x, self.x]) as ds:  # a list rewinds
            b = _lib.Batch()
            for _ in range(2):
                _api._call(_lib.lib.dataset_next(ds.ptr, byref(b)), ds.guard)
            _api._call(_lib.lib.dataset_next(ds.ptr, byref(b)), ds.guard)
            self.assertEqual(b.rows, 0)
            _api._call(_lib.lib.dataset_rewind(ds.ptr), ds.guard)
            _api._call(_lib.lib.dataset_next(ds.ptr, byref(b)), ds.guard)
            self.assertEqual(b.rows, 4)
        with _api._Data(self.m, interrupted()) as ds:
            with self.assertRaises(KeyboardInterrupt):
                _api._call(_lib.lib.dataset_next(ds.ptr, byref(b)), ds.guard)

    def test_pipeline_errors(self):
        """Errors of the pipeline functions name the value and the rule (needs the calibration API)."""
        with tmpdir() as tmp:
            with self.assertRaises(calib8.InvalidArgument) as e:
                calib8.quantize(MODEL, DEMO, os.path.join(tmp, "q.onnx"), preprocess="mean_valu=1")
            self.assertIn("mean_valu", str(e.exception))
            with self.assertRaises(calib8.InvalidArgument) as e:
                calib8.quantize(MODEL, DEMO, MODEL, preprocess=PP)
            self.assertIn("input model", str(e.exception))
            self.assertFalse(os.path.exists(os.path.join(tmp, "q.onnx")))

            class Boom(Exception):
                pass

            def broken():
                yield np.zeros((2, 1, 28, 28), np.float32)
                raise Boom("the loader broke")
            with self.assertRaises(Boom):
                calib8.quantize(MODEL, broken(), os.path.join(tmp, "q.onnx"))
            self.assertFalse(os.path.exists(os.path.join(tmp, "q.onnx")))


if __name__ == "__main__":
    print("calib8 library:", calib8.library_path, "CLI:", CLI)
    unittest.main()
