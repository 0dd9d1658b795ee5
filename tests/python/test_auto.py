"""calib8.auto with a top-1 metric computed in Python (the score callback) reaches the choice `calib8 auto
--metric top1` reaches on the same data: the same strategy and the same model bytes. Exceptions in the score
function come out of calib8.auto; an impossible budget raises calib8.BudgetNotMet with the result."""
import json
import os
import unittest

import numpy as np

import calib8
from common import DEMO, MODEL, PP, cli, fmnist_dataset, require_torch, labelled, read, tmpdir


def test_arrays():
    ds = fmnist_dataset(DEMO)
    xs = np.stack([ds[i][0].numpy() for i in range(len(ds))])
    ys = np.array([label for _, label in labelled(DEMO)])
    return xs, ys


require_torch()


class AutoTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tmpdir()
        cls.xs, cls.ys = test_arrays()

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def path(self, name):
        return os.path.join(self.tmp.name, name)

    def top1(self, candidate):
        """The user's own evaluation loop: one sample per run (as calib8's evaluator batches this model)."""
        correct = 0
        for x, y in zip(self.xs, self.ys):
            logits, = candidate.run(x[None])
            correct += int(np.argmax(logits[0]) == y)
        return correct / len(self.ys)

    def test_python_metric_reaches_the_cli_choice(self):
        cli("auto", MODEL, "--calib", DEMO, "--test", DEMO, "--labels", os.path.join(DEMO, "labels.txt"), "-p", PP,
            "--metric", "top1", "--max-drop", "0.005", "-o", self.path("cli.onnx"), "--json", self.path("cli.json"))
        with open(self.path("cli.json")) as f:
            choice = json.load(f)["choice"]
        trials = []
        r = calib8.auto(MODEL, DEMO, self.path("py.onnx"), score=self.top1, preprocess=PP, max_drop=0.005,
                        mode="fast", on_trial=trials.append)
        self.assertEqual(r.choice.strategy, choice["strategy"])
        self.assertAlmostEqual(r.choice.score, choice["score"], places=12)
        self.assertTrue(r.choice.within_budget)
        self.assertEqual(len(trials), r.n_trials)
        self.assertEqual(read(self.path("py.onnx")), read(self.path("cli.onnx")))
        self.assertTrue(os.path.exists(self.path("py.qtable")))

        # the built-in evaluator through Python reaches it too
        r2 = calib8.auto(MODEL, DEMO, self.path("ev.onnx"), metric="top1", test=DEMO,
                         labels=os.path.join(DEMO, "labels.txt"), preprocess=PP, max_drop=0.005)
        self.assertEqual(r2.choice.strategy, choice["strategy"])
        self.assertEqual(read(self.path("ev.onnx")), read(self.path("cli.onnx")))

    def test_score_exceptions_propagate(self):
        class MetricBroke(Exception):
            pass

        def broken(candidate):
            raise MetricBroke("no labels here")
        with self.assertRaises(MetricBroke):
            calib8.auto(MODEL, DEMO, self.path("broken.onnx"), score=broken, preprocess=PP, limit=50)

        def interrupted(candidate):  # Ctrl-C while the user's loop runs
            if candidate.index > 0:
                raise KeyboardInterrupt
            return 1.0
        with self.assertRaises(KeyboardInterrupt):
            calib8.auto(MODEL, DEMO, self.path("ctrl-c.onnx"), score=interrupted, preprocess=PP, limit=50)

    def test_budget_not_met(self):
        calls = []

        def harsh(candidate):  # FP32 scores 1, every INT8 candidate 0: no trial can meet the budget
            calls.append(candidate.index)
            return 1.0 if candidate.index == 0 else 0.0
        with self.assertRaises(calib8.BudgetNotMet) as e:
            calib8.auto(MODEL, DEMO, self.path("harsh.onnx"), score=harsh, preprocess=PP, limit=50, max_trials=2)
        self.assertIsNotNone(e.exception.result)
        self.assertFalse(e.exception.result.choice.within_budget)
        self.assertTrue(os.path.exists(self.path("harsh.onnx")))

    def test_sensitivity(self):
        rows = calib8.sensitivity(MODEL, DEMO, preprocess=PP, limit=64, qtable=self.path("s.qtable"), top=2)
        self.assertEqual(sorted(r["op"] for r in rows), ["Conv", "Conv", "Gemm", "Gemm", "Gemm"])
        self.assertEqual([r["loss"] for r in rows], sorted((r["loss"] for r in rows), reverse=True))
        with open(self.path("s.qtable")) as f:
            text = f.read()
        for r in rows[:2]:
            self.assertIn(r["layer"], text)

    def test_one_pass_iterator_is_refused(self):
        with self.assertRaises(calib8.InvalidArgument) as e:
            calib8.auto(MODEL, iter([self.xs[:10]]), self.path("gen.onnx"), score=self.top1)
        self.assertIn("re-iterable", str(e.exception))


if __name__ == "__main__":
    unittest.main()
