"""The progress callback of calibration (what `calib8 quantize` and `auto` draw their bar from) counts towards the
samples that will be read: with a sample limit its total is the limit, not the data set's size, and the last call
reaches it; without one it is the data set's size."""
import os
import unittest

import calib8
from common import DEMO, MODEL, PP, tmpdir


class ProgressTest(unittest.TestCase):
    def run_quantize(self, **kw):
        seen = []
        with tmpdir() as d:
            r = calib8.quantize(MODEL, DEMO, os.path.join(d, "q.onnx"), preprocess=PP, batch=16,
                                progress=lambda s, done, total: seen.append((s, done, total)), **kw)
        self.assertTrue(seen)
        self.assertEqual({s for s, _, _ in seen}, {"calibrating"})
        return r, seen

    def test_total_honours_limit(self):
        r, seen = self.run_quantize(limit=40)
        self.assertEqual(r.samples, 40)
        self.assertEqual({t for _, _, t in seen}, {40})
        self.assertEqual([d for _, d, _ in seen], [0, 16, 32, 40])

    def test_total_without_limit(self):
        r, seen = self.run_quantize()
        self.assertEqual(r.samples, 300)
        self.assertEqual({t for _, _, t in seen}, {300})
        self.assertEqual(seen[-1][1], 300)


if __name__ == "__main__":
    unittest.main()
