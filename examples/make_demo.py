#!/usr/bin/python3
"""Writes calib8's embedded demo data set, examples/fmnist/:

    fmnist_lenet.onnx       a copy of models/fmnist_lenet.onnx
    img_000.png ...         300 real Fashion-MNIST TEST images, 28x28 8-bit gray PNG:
                            the first 30 test images of each of the 10 classes, in test-set order
    labels.txt              one line per image: `img_000.png 9` (path relative to this folder, class 0-9)

    /usr/bin/python3 examples/make_demo.py [OUTDIR]      (default: examples/fmnist beside this script)

Deterministic: the same files every time. Needs numpy, PIL and Debian's dataset-fashion-mnist.
Classes: 0 T-shirt/top, 1 Trouser, 2 Pullover, 3 Dress, 4 Coat, 5 Sandal, 6 Shirt, 7 Sneaker, 8 Bag, 9 Ankle boot.
"""
import gzip
import os
import shutil
import sys

import numpy as np
from PIL import Image

FMNIST = '/usr/share/datasets/fashion-mnist'
PER_CLASS = 30


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, 'fmnist')
    with gzip.open(f'{FMNIST}/t10k-images-idx3-ubyte.gz') as f:
        x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)
    with gzip.open(f'{FMNIST}/t10k-labels-idx1-ubyte.gz') as f:
        y = np.frombuffer(f.read(), np.uint8, offset=8)

    picked = sorted(i for c in range(10) for i in np.nonzero(y == c)[0][:PER_CLASS])
    os.makedirs(out, exist_ok=True)
    for name in os.listdir(out):  # a rerun leaves no stale images
        if name.startswith('img_') and name.endswith('.png'):
            os.remove(os.path.join(out, name))
    lines = []
    for k, i in enumerate(picked):
        name = f'img_{k:03d}.png'
        Image.fromarray(x[i], 'L').save(os.path.join(out, name), optimize=True)
        lines.append(f'{name} {int(y[i])}\n')
    with open(os.path.join(out, 'labels.txt'), 'w') as f:
        f.writelines(lines)
    shutil.copyfile(os.path.join(here, '..', 'models', 'fmnist_lenet.onnx'), os.path.join(out, 'fmnist_lenet.onnx'))
    print(f'make_demo: {len(picked)} images, labels.txt and fmnist_lenet.onnx in {out}')


if __name__ == '__main__':
    main()
