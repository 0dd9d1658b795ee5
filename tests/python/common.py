"""Shared by the Python tests: paths, the CLI, and Fashion-MNIST PNGs as a PyTorch-style dataset."""
import os
import subprocess
import sys
import tempfile

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLI = os.environ.get("CALIB8_CLI", os.path.join(ROOT, "build", "calib8"))
DEMO = os.path.join(ROOT, "examples", "fmnist")
MODEL = os.path.join(DEMO, "fmnist_lenet.onnx")
PP = "mean_value=72.94,std_value=90.0"
MEAN, STD = np.float32(72.94), np.float32(90.0)


def skip(reason):
    print("skipped: " + reason)
    sys.exit(77)


def cli(*args, check=True):
    r = subprocess.run([CLI] + [str(a) for a in args], capture_output=True, text=True)
    if check and r.returncode != 0:
        raise AssertionError("calib8 %s failed (%d): %s" % (" ".join(map(str, args)), r.returncode, r.stderr))
    return r


def tmpdir():
    return tempfile.TemporaryDirectory(prefix="c8-py-")


def read(path):
    with open(path, "rb") as f:
        return f.read()


def labelled(folder):
    """(file, label) pairs of a folder's labels.txt (`name label` per line)."""
    out = []
    with open(os.path.join(folder, "labels.txt")) as f:
        for line in f:
            if line.strip():
                name, label = line.split()
                out.append((os.path.join(folder, name), int(label)))
    return out


def require_torch():
    """Exits 77 (skipped) when python3-torch or python3-pil is missing: call at import, not inside a test."""
    try:
        import torch.utils.data  # noqa: F401
        import PIL  # noqa: F401
    except ImportError as e:
        skip("needs python3-torch and python3-pil (%s)" % e)


def fmnist_dataset(folder):
    """A torch Dataset of (image [1, 28, 28] float32 normalized as PP says, label) read with PIL."""
    import torch.utils.data
    from PIL import Image

    class FashionMNIST(torch.utils.data.Dataset):
        def __init__(self):
            self.items = labelled(folder)

        def __len__(self):
            return len(self.items)

        def __getitem__(self, i):
            path, label = self.items[i]
            pixels = np.asarray(Image.open(path).convert("L"), dtype=np.float32)
            x = (pixels - MEAN) / STD  # float32 arithmetic, as calib8's preprocessing does it
            return torch.from_numpy(x[None]), label
    return FashionMNIST()
