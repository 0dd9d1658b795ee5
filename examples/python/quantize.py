"""Quantize the demo LeNet from a PyTorch DataLoader and let calib8.auto search with your own metric.

    PYTHONPATH=python python3 examples/python/quantize.py OUT_DIR        (from the repository root)
"""
import os
import sys

import numpy as np
import torch.utils.data
from PIL import Image

import calib8

DEMO = "examples/fmnist"
MODEL = DEMO + "/fmnist_lenet.onnx"


class FashionMNIST(torch.utils.data.Dataset):
    """The demo's 300 PNGs and labels, normalized as the model was trained: (x - 72.94) / 90."""

    def __init__(self, folder):
        with open(os.path.join(folder, "labels.txt")) as f:
            self.items = [(os.path.join(folder, name), int(label)) for name, label in map(str.split, f)]

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        path, label = self.items[i]
        pixels = np.asarray(Image.open(path).convert("L"), dtype=np.float32)
        return torch.from_numpy((pixels - np.float32(72.94)) / np.float32(90.0))[None], label


def top1(model):
    """Your own evaluation loop and metric: any object with .run(feeds) (a calib8.Model or a candidate)."""
    correct = total = 0
    for images, labels in torch.utils.data.DataLoader(FashionMNIST(DEMO), batch_size=1):
        logits, = model.run(images)
        correct += int((logits.argmax(axis=1) == labels.numpy()).sum())
        total += len(labels)
    return correct / total


def main(out):
    os.makedirs(out, exist_ok=True)
    loader = torch.utils.data.DataLoader(FashionMNIST(DEMO), batch_size=32, shuffle=True)

    # 1. one quantization: calibration batches straight from the DataLoader
    q = calib8.quantize(MODEL, loader, os.path.join(out, "lenet_int8.onnx"), method="kl",
                        table=os.path.join(out, "lenet.table"))
    print(q)
    fp32, int8 = calib8.Model(MODEL), calib8.Model(q.output)
    print("top1 FP32 %.4f  INT8 %.4f" % (top1(fp32), top1(int8)))

    # 2. the automatic search, scored by top1() on each candidate; calib8 picks the strategy
    try:
        r = calib8.auto(MODEL, loader, os.path.join(out, "lenet_auto.onnx"), score=top1, max_drop=0.005,
                        on_trial=lambda t: print("trial", t.index, t.strategy, "%.4f" % t.score))
    except calib8.BudgetNotMet as e:  # the best model is written all the same
        r = e.result
        print("no strategy kept the drop within 0.005:", e)
    print("chose '%s': top1 %.4f (FP32 %.4f)" % (r.choice.strategy, r.choice.score, r.fp32_score))

    # 3. errors carry calib8's message
    try:
        fp32.run(np.zeros((1, 1, 32, 32), np.float32))
    except calib8.InvalidArgument as e:
        print("refused:", e)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "py-out")
