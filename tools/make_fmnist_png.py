#!/usr/bin/python3
"""Writes Fashion-MNIST images as PNG for calibration and evaluation:
   OUT/calib/    the first N_CALIB images of the *train* set (no labels needed)
   OUT/test/     all 10 000 *test* images, with OUT/test/labels.txt ('name label' lines)
Data: Debian dataset-fashion-mnist (/usr/share/datasets/fashion-mnist). Deterministic."""
import gzip, os, sys
import numpy as np
from PIL import Image

D = '/usr/share/datasets/fashion-mnist'

def load(split):
    p = 'train' if split == 'train' else 't10k'
    with gzip.open(f'{D}/{p}-images-idx3-ubyte.gz') as f:
        x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)
    with gzip.open(f'{D}/{p}-labels-idx1-ubyte.gz') as f:
        y = np.frombuffer(f.read(), np.uint8, offset=8)
    return x, y

def main(out, n_calib):
    xtr, _ = load('train')
    xte, yte = load('test')
    os.makedirs(f'{out}/calib', exist_ok=True)
    os.makedirs(f'{out}/test', exist_ok=True)
    for i in range(n_calib):
        Image.fromarray(xtr[i]).save(f'{out}/calib/train_{i:05d}.png')
    with open(f'{out}/test/labels.txt', 'w') as f:
        for i in range(len(xte)):
            name = f'test_{i:05d}.png'
            Image.fromarray(xte[i]).save(f'{out}/test/{name}')
            f.write(f'{name} {int(yte[i])}\n')

if __name__ == '__main__':
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 2000)
