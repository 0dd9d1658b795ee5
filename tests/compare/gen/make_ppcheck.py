#!/usr/bin/python3
"""Regenerates tests/compare/fixtures/ppcheck (run from the repository root with Debian's python3:
/usr/bin/python3 tests/compare/gen/make_ppcheck.py). Deterministic (fixed seed).

Four small colour PNG images in images/ (40x36 and 36x44, so resizing and cropping differ) and the tensors a user's own
pipeline would make from them for models/fmnist_resnet8.onnx (input [N,3,32,32], NCHW), with the preprocessing
  resize to 32x32 (bilinear, half-pixel centers: torch F.interpolate align_corners=False, antialias=False),
  then (x - mean) / std per channel, mean = 123.675:116.28:103.53, std = 58.395:57.12:57.375 (R,G,B order).
  good.npy      the correct pipeline                            [4,3,32,32]
  bgr.npy       channels reversed at the end (B,G,R)            [4,3,32,32]
  meanstd.npy   mean and std exchanged: (x - std) / mean         [4,3,32,32]
  nhwc.npy      the right values in NHWC layout                  [4,32,32,3]
  reshape.npy   NHWC data reshaped (not transposed) to NCHW      [4,3,32,32]
  crop.npy      a 32x32 center crop instead of the resize       [4,3,32,32]
  bad2.npy      good.npy with image 2 changed                    [4,3,32,32]
  float64.npy   the first 2 images of good.npy as float64        [2,3,32,32]"""
import os
import numpy as np
import torch
from PIL import Image

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'fixtures', 'ppcheck')
os.makedirs(os.path.join(ROOT, 'images'), exist_ok=True)
rng = np.random.default_rng(20240611)
MEAN = np.array([123.675, 116.28, 103.53], np.float32)
STD = np.array([58.395, 57.12, 57.375], np.float32)

imgs = []
for i, (h, w) in enumerate([(36, 40), (44, 36), (36, 40), (44, 36)]):
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    base = np.stack([x / w * 255, y / h * 255, (x + y) / (w + h) * 255], -1)
    noise = rng.integers(-40, 41, (h, w, 3))
    img = np.clip(base + noise + rng.integers(-60, 61, 3), 0, 255).astype(np.uint8)
    Image.fromarray(img, 'RGB').save(os.path.join(ROOT, 'images', 'img%d.png' % i))
    imgs.append(img.astype(np.float32))


def resize(img, oh, ow):
    t = torch.from_numpy(img).permute(2, 0, 1)[None]
    r = torch.nn.functional.interpolate(t, size=(oh, ow), mode='bilinear', align_corners=False)
    return r[0].permute(1, 2, 0).numpy()


def crop(img, oh, ow):
    h, w = img.shape[:2]
    y0, x0 = (h - oh) // 2, (w - ow) // 2
    return img[y0:y0 + oh, x0:x0 + ow]


def nchw(hwc):
    return np.ascontiguousarray(hwc.transpose(2, 0, 1))


good = np.stack([nchw((resize(im, 32, 32) - MEAN) / STD) for im in imgs]).astype(np.float32)
np.save(os.path.join(ROOT, 'good.npy'), good)
np.save(os.path.join(ROOT, 'bgr.npy'), np.ascontiguousarray(good[:, ::-1]))
np.save(os.path.join(ROOT, 'meanstd.npy'),
        np.stack([nchw((resize(im, 32, 32) - STD) / MEAN) for im in imgs]).astype(np.float32))
nhwc = np.ascontiguousarray(good.transpose(0, 2, 3, 1))
np.save(os.path.join(ROOT, 'nhwc.npy'), nhwc)
np.save(os.path.join(ROOT, 'reshape.npy'), nhwc.reshape(4, 3, 32, 32))
np.save(os.path.join(ROOT, 'crop.npy'), np.stack([nchw((crop(im, 32, 32) - MEAN) / STD) for im in imgs]).astype(np.float32))
bad2 = good.copy()
bad2[2, 1, 5:9, 5:9] += 0.5
np.save(os.path.join(ROOT, 'bad2.npy'), bad2)
np.save(os.path.join(ROOT, 'float64.npy'), good[:2].astype(np.float64))
