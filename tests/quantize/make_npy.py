#!/usr/bin/python3
"""Writes Fashion-MNIST PNGs as one preprocessed float32 .npy for a calib8 test model, computing the same
preprocessing as calib8's strings in models/README.md (docs/preprocessing.md):
  lenet    (x - 72.94) / 90.0                                   -> [N,1,28,28]
  resnet8  bilinear 28->32 (half-pixel centers, torch align_corners=False), gray -> 3 channels,
           (x - mean[c]) / std[c], mean 123.675:116.28:103.53, std 58.395:57.12:57.375  -> [N,3,32,32]
Usage: make_npy.py lenet|resnet8 IMAGE_DIR LABELS OUT.npy OUT_LABELS [--limit N] [--chunk K]
  LABELS holds 'name label' lines; the images are taken in that file's order (the first N with --limit).
  OUT_LABELS gets one bare label per line (calib8's positional form). With --chunk K the array is also
  written as OUT.npy.<i> files of K samples each (for ONNX Runtime, which runs a whole file at once).
All arithmetic is float32, in calib8's order: (x - mean) / std, mean and std rounded to float32 first."""
import sys
import numpy as np
from PIL import Image


def preprocess(kind, imgs):
    x = imgs.astype(np.float32)[:, None]  # N,1,28,28, values 0..255
    if kind == 'lenet':
        return (x - np.float32(72.94)) / np.float32(90.0)
    if kind != 'resnet8':
        raise SystemExit(f'make_npy: unknown model kind {kind!r}')
    import torch
    import torch.nn.functional as F
    with torch.no_grad():
        y = F.interpolate(torch.from_numpy(x), size=(32, 32), mode='bilinear', align_corners=False,
                          antialias=False).numpy()
    y = np.repeat(y, 3, axis=1)
    mean = np.array([123.675, 116.28, 103.53], np.float32).reshape(1, 3, 1, 1)
    std = np.array([58.395, 57.12, 57.375], np.float32).reshape(1, 3, 1, 1)
    return (y - mean) / std


def main(argv):
    args, limit, chunk = [], None, None
    i = 0
    while i < len(argv):
        if argv[i] == '--limit':
            limit, i = int(argv[i + 1]), i + 2
        elif argv[i] == '--chunk':
            chunk, i = int(argv[i + 1]), i + 2
        else:
            args.append(argv[i])
            i += 1
    kind, image_dir, labels, out, out_labels = args
    pairs = [l.split() for l in open(labels) if l.strip() and not l.startswith('#')]
    if limit:
        pairs = pairs[:limit]
    imgs = np.stack([np.array(Image.open(f'{image_dir}/{name}').convert('L')) for name, _ in pairs])
    x = np.ascontiguousarray(preprocess(kind, imgs), dtype=np.float32)
    np.save(out, x)
    with open(out_labels, 'w') as f:
        f.writelines(f'{lab}\n' for _, lab in pairs)
    if chunk:
        for k in range(0, len(x), chunk):
            np.save(f'{out}.{k // chunk}', x[k:k + chunk])
            # np.save appends .npy: OUT.npy.<i>.npy
    print(f'make_npy: {kind} {x.shape} -> {out}')


if __name__ == '__main__':
    main(sys.argv[1:])
