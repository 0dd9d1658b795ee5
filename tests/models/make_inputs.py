#!/usr/bin/python3
"""Writes the real inputs of calib8's real-model tests as .npy files: OUTDIR/<model>/in.npy.

    /usr/bin/python3 tests/models/make_inputs.py OUTDIR

Deterministic (fixed images, fixed seeds). Needs numpy, torch (bilinear resize exactly as the models were trained),
PIL and the DejaVu fonts (Debian python3-numpy python3-torch python3-pil fonts-dejavu-core dataset-fashion-mnist).

  fmnist_lenet    [16,1,28,28]    the first 16 Fashion-MNIST test images, (x - 72.94) / 90
  fmnist_resnet8  [16,3,32,32]    the same 16 images, bilinear half-pixel 28->32, 3 channels, ImageNet mean/std (0..255)
  fmnist_yolo     [4,3,128,128]   4 detection scenes made from test images (the training scene generator), x / 255
  ppocr_cls       [8,3,48,192]    8 rendered English text lines, 4 of them upside down, PaddleOCR normalization
  ppocr_rec       [8,3,48,320]    8 rendered English text lines, PaddleOCR normalization (x/255 - 0.5) / 0.5
  ppocr_det       [1,3,640,640]   a rendered page with several text lines, ImageNet mean/std on RGB x/255

Each folder also gets info.txt describing the input (labels, texts).
"""
import gzip
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw, ImageFont

FMNIST = '/usr/share/datasets/fashion-mnist'
FONT_DIR = '/usr/share/fonts/truetype/dejavu'
FONTS = ['DejaVuSans.ttf', 'DejaVuSans-Bold.ttf', 'DejaVuSerif.ttf', 'DejaVuSansMono.ttf', 'DejaVuSerif-Bold.ttf',
         'DejaVuSansMono-Bold.ttf']
IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], np.float32)


def load_fmnist(split):
    p = 'train' if split == 'train' else 't10k'
    with gzip.open(f'{FMNIST}/{p}-images-idx3-ubyte.gz') as f:
        x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)
    with gzip.open(f'{FMNIST}/{p}-labels-idx1-ubyte.gz') as f:
        y = np.frombuffer(f.read(), np.uint8, offset=8)
    return x, y


def save(out, model, arr, info):
    d = os.path.join(out, model)
    os.makedirs(d, exist_ok=True)
    arr = np.ascontiguousarray(arr, np.float32)
    np.save(os.path.join(d, 'in.npy'), arr)
    with open(os.path.join(d, 'info.txt'), 'w') as f:
        f.write(info.rstrip('\n') + '\n')
    print(f'{model}: {list(arr.shape)} min={arr.min():.3f} max={arr.max():.3f}')


# ---- Fashion-MNIST classifiers (preprocessing as in the training script fmnist_models.py) ----------------------

MEAN = np.array([123.675, 116.28, 103.53])
STD = np.array([58.395, 57.12, 57.375])


def prep_cls(x, ch, size):
    t = torch.from_numpy(x.copy()).float().unsqueeze(1)
    if size != 28:
        t = F.interpolate(t, size=(size, size), mode='bilinear', align_corners=False)
    if ch == 1:
        return ((t - 72.94) / 90.0).numpy()
    t = t.repeat(1, 3, 1, 1)
    return ((t - torch.tensor(MEAN).float().view(1, 3, 1, 1)) / torch.tensor(STD).float().view(1, 3, 1, 1)).numpy()


# ---- YOLO scenes: the scene generator of the detector's training script (train_yolo.py `scenes`) --------------

S = 128


def scenes(x, y, n, seed):
    r = np.random.RandomState(seed)
    imgs = np.zeros((n, S, S), np.uint8)
    labels = []
    for k in range(n):
        canvas = (r.rand(S, S) * 40).astype(np.float32)
        boxes = []
        for _ in range(r.randint(1, 5)):
            for _try in range(20):
                sz = r.randint(24, 65)
                x0 = r.randint(0, S - sz)
                y0 = r.randint(0, S - sz)
                if all(x0 >= b[3] or x0 + sz <= b[1] or y0 >= b[4] or y0 + sz <= b[2] for b in boxes):
                    break
            else:
                continue
            i = r.randint(len(x))
            it = torch.from_numpy(x[i].astype(np.float32))[None, None]
            it = F.interpolate(it, size=(sz, sz), mode='bilinear', align_corners=False)[0, 0].numpy()
            canvas[y0:y0 + sz, x0:x0 + sz] = np.maximum(canvas[y0:y0 + sz, x0:x0 + sz], it)
            ys, xs = np.nonzero(it > 20)
            if len(xs) == 0:
                continue
            boxes.append((int(y[i]), x0 + xs.min(), y0 + ys.min(), x0 + xs.max() + 1, y0 + ys.max() + 1))
        imgs[k] = np.clip(canvas, 0, 255).astype(np.uint8)
        labels.append(boxes)
    return imgs, labels


# ---- PP-OCR: rendered text ---------------------------------------------------------------------------------

LINES = [
    'Invoice No. 20481',
    'Total: $1,234.56',
    'Hello World',
    'OPEN 9AM - 5PM',
    'www.example.com',
    'Quality Control 7',
    'Page 3 of 12',
    'Fashion MNIST 2024',
]

PAGE_LINES = [
    'Shipping Address',
    '221B Baker Street',
    'London NW1 6XE',
    'Order 55721 - 3 items',
    'Subtotal 48.90 EUR',
    'Thank you for shopping!',
]


def font(idx, size):
    return ImageFont.truetype(os.path.join(FONT_DIR, FONTS[idx % len(FONTS)]), size)


def render_line(text, fnt, fg, bg, pad):
    """Text on a plain background, cropped to its ink box plus `pad` pixels."""
    probe = ImageDraw.Draw(Image.new('RGB', (1, 1)))
    l, t, r, b = probe.textbbox((0, 0), text, font=fnt)
    w, h = r - l + 2 * pad, b - t + 2 * pad
    im = Image.new('RGB', (w, h), bg)
    ImageDraw.Draw(im).text((pad - l, pad - t), text, font=fnt, fill=fg)
    return im


def paddle_rec_norm(im, H, W):
    """PaddleOCR resize_norm_img: keep the aspect ratio at height H, width <= W, (x/255 - 0.5)/0.5, pad right
    with zeros. Paddle reads images with OpenCV, so channels are BGR."""
    w, h = im.size
    rw = min(W, int(np.ceil(H * w / h)))
    im = im.resize((rw, H), Image.BILINEAR)
    a = np.asarray(im, np.float32)[:, :, ::-1].transpose(2, 0, 1) / 255.0
    a = (a - 0.5) / 0.5
    out = np.zeros((3, H, W), np.float32)
    out[:, :, :rw] = a
    return out


def ocr_lines(seed, rotate_odd):
    r = np.random.RandomState(seed)
    ims = []
    for i, text in enumerate(LINES):
        size = int(r.randint(26, 40))
        fg = tuple(int(v) for v in r.randint(0, 70, 3))
        bg = tuple(int(v) for v in r.randint(200, 256, 3))
        im = render_line(text, font(i, size), fg, bg, pad=int(r.randint(3, 8)))
        if rotate_odd and i % 2 == 1:
            im = im.rotate(180)
        ims.append(im)
    return ims


def make_page(seed):
    r = np.random.RandomState(seed)
    page = Image.new('RGB', (640, 640), (245, 243, 238))
    d = ImageDraw.Draw(page)
    y = 40
    boxes = []
    for i, text in enumerate(PAGE_LINES):
        size = int(r.randint(28, 44))
        fnt = font(i, size)
        x = int(r.randint(30, 120))
        fg = tuple(int(v) for v in r.randint(0, 60, 3))
        d.text((x, y), text, font=fnt, fill=fg)
        boxes.append(d.textbbox((x, y), text, font=fnt))
        y += size + int(r.randint(40, 60))
    a = np.asarray(page, np.float32) / 255.0
    a = (a - IMAGENET_MEAN) / IMAGENET_STD
    return a.transpose(2, 0, 1)[None], boxes


def main():
    if len(sys.argv) != 2:
        sys.exit('usage: make_inputs.py OUTDIR')
    out = sys.argv[1]
    x, y = load_fmnist('test')

    n = 16
    labels = ' '.join(str(int(v)) for v in y[:n])
    save(out, 'fmnist_lenet', prep_cls(x[:n], 1, 28), f'Fashion-MNIST test images 0..{n - 1}\nlabels {labels}')
    save(out, 'fmnist_resnet8', prep_cls(x[:n], 3, 32), f'Fashion-MNIST test images 0..{n - 1}\nlabels {labels}')

    imgs, boxes = scenes(x, y, 4, 2024)
    yolo = imgs.astype(np.float32)[:, None].repeat(3, 1) / 255.0
    info = '\n'.join('scene %d: ' % k + ';'.join(f'{c},{x1},{y1},{x2},{y2}' for c, x1, y1, x2, y2 in b)
                     for k, b in enumerate(boxes))
    save(out, 'fmnist_yolo', yolo, 'boxes cls,x1,y1,x2,y2 in pixels\n' + info)

    cls = np.stack([paddle_rec_norm(im, 48, 192) for im in ocr_lines(11, rotate_odd=True)])
    save(out, 'ppocr_cls', cls, 'text lines; odd indices rotated 180 degrees\n' +
         '\n'.join(f'{i} {"180" if i % 2 else "0"} {t}' for i, t in enumerate(LINES)))

    rec = np.stack([paddle_rec_norm(im, 48, 320) for im in ocr_lines(12, rotate_odd=False)])
    save(out, 'ppocr_rec', rec, 'text lines\n' + '\n'.join(f'{i} {t}' for i, t in enumerate(LINES)))

    det, pboxes = make_page(13)
    save(out, 'ppocr_det', det, 'page lines (x1,y1,x2,y2)\n' +
         '\n'.join(f'{b} {t}' for b, t in zip(pboxes, PAGE_LINES)))


if __name__ == '__main__':
    main()
