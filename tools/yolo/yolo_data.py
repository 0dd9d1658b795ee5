#!/usr/bin/python3
"""Composite Fashion-MNIST detection scenes for models/fmnist_yolo.onnx: PNGs + data.label
("cls,x1,y1,x2,y2;..." per image, boxes in input pixels) and OUT.npy (N,3,128,128 float32, x/255).
Usage: yolo_data.py OUT N SEED train|test
Same generator as the model's training code (../shared/models/train/train_yolo.py `scenes`), copied so a
clone of calib8 can make scenes without the training scripts. Different seeds give disjoint scene sets."""
import gzip, os, sys
import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

S = 128
D = '/usr/share/datasets/fashion-mnist'


def load(split):
    p = 'train' if split == 'train' else 't10k'
    with gzip.open(f'{D}/{p}-images-idx3-ubyte.gz') as f:
        x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)
    with gzip.open(f'{D}/{p}-labels-idx1-ubyte.gz') as f:
        y = np.frombuffer(f.read(), np.uint8, offset=8)
    return x, y


def scenes(x, y, n, seed):
    r = np.random.RandomState(seed); imgs = np.zeros((n, S, S), np.uint8); labels = []
    for k in range(n):
        canvas = (r.rand(S, S) * 40).astype(np.float32); boxes = []
        for _ in range(r.randint(1, 5)):
            for _try in range(20):
                sz = r.randint(24, 65); x0 = r.randint(0, S - sz); y0 = r.randint(0, S - sz)
                if all(x0 >= b[3] or x0 + sz <= b[1] or y0 >= b[4] or y0 + sz <= b[2] for b in boxes): break
            else: continue
            i = r.randint(len(x)); it = torch.from_numpy(x[i].astype(np.float32))[None, None]
            it = F.interpolate(it, size=(sz, sz), mode='bilinear', align_corners=False)[0, 0].numpy()
            canvas[y0:y0+sz, x0:x0+sz] = np.maximum(canvas[y0:y0+sz, x0:x0+sz], it)
            ys, xs = np.nonzero(it > 20)
            if len(xs) == 0: continue
            boxes.append((int(y[i]), x0 + xs.min(), y0 + ys.min(), x0 + xs.max() + 1, y0 + ys.max() + 1))
        imgs[k] = np.clip(canvas, 0, 255).astype(np.uint8); labels.append(boxes)
    return imgs, labels


if __name__ == '__main__':
    out, n, seed, split = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    torch.set_num_threads(2)
    x, y = load(split); imgs, labels = scenes(x, y, n, seed)
    os.makedirs(out, exist_ok=True)
    with open(f'{out}/data.label', 'w') as f:
        for i, (im, b) in enumerate(zip(imgs, labels)):
            Image.fromarray(im).convert('RGB').save(f'{out}/{i:05d}.png')
            f.write(';'.join(f'{c},{x1},{y1},{x2},{y2}' for c, x1, y1, x2, y2 in b) + '\n')
    np.save(out + '.npy', (imgs.astype(np.float32)[:, None].repeat(3, 1) / 255.0))
