#!/usr/bin/python3
"""Regenerates the committed fixtures of tests/data (run from the repository root with Debian's python3:
/usr/bin/python3 tests/data/gen/make_fixtures.py [path/to/fmnist_lenet.onnx]). Deterministic: a fixed seed,
so the same bytes come out on every run.

PNG and BMP files are written by the small encoders below rather than PIL, so every colour type, bit
depth and row order can be produced on purpose. JPEG files come from PIL (libjpeg-turbo); their expected
pixels are PIL's own decode. Resize references come from torch.nn.functional.interpolate."""
import gzip, io, json, os, struct, sys, zlib
import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'fixtures')
rng = np.random.default_rng(20240501)


def out(*p):
    path = os.path.join(ROOT, *p)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    return path


# ---- PNG -------------------------------------------------------------------------------------------
def png_chunk(t, data):
    c = struct.pack('>I', len(data)) + t + data
    return c + struct.pack('>I', zlib.crc32(t + data) & 0xffffffff)


def png_bytes(w, h, color, depth, rows, plte=None, trns=None):
    raw = b''.join(b'\x00' + r for r in rows)
    b = b'\x89PNG\r\n\x1a\n' + png_chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, depth, color, 0, 0, 0))
    if plte is not None:
        b += png_chunk(b'PLTE', bytes(plte))
    if trns is not None:
        b += png_chunk(b'tRNS', bytes(trns))
    return b + png_chunk(b'IDAT', zlib.compress(raw, 9)) + png_chunk(b'IEND', b'')


def save(path, data):
    with open(path, 'wb') as f:
        f.write(data)


def expect(name, arr):
    np.save(out('expect', name + '.npy'), np.ascontiguousarray(arr.astype(np.uint8)))


W, H = 7, 5
rgb = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
gray = rng.integers(0, 256, (H, W), dtype=np.uint8)

save(out('images', 'rgb8.png'), png_bytes(W, H, 2, 8, [rgb[y].tobytes() for y in range(H)]))
expect('rgb8.png', rgb)
save(out('images', 'gray8.png'), png_bytes(W, H, 0, 8, [gray[y].tobytes() for y in range(H)]))
expect('gray8.png', gray[..., None])
rgb16 = rng.integers(0, 65536, (H, W, 3), dtype=np.uint16)
save(out('images', 'rgb16.png'), png_bytes(W, H, 2, 16, [rgb16[y].astype('>u2').tobytes() for y in range(H)]))
expect('rgb16.png', np.floor(rgb16.astype(np.float64) * 255 / 65535 + 0.5))
pal = rng.integers(0, 256, (16, 3), dtype=np.uint8)
idx = rng.integers(0, 16, (H, W), dtype=np.uint8)
save(out('images', 'palette.png'), png_bytes(W, H, 3, 8, [idx[y].tobytes() for y in range(H)], plte=pal.flatten(),
                                            trns=[255] * 15 + [0]))
expect('palette.png', pal[idx])
ga = np.stack([gray, rng.integers(0, 256, (H, W), dtype=np.uint8)], -1)
save(out('images', 'gray_alpha.png'), png_bytes(W, H, 4, 8, [ga[y].tobytes() for y in range(H)]))
expect('gray_alpha.png', gray[..., None])
rgba = np.concatenate([rgb, rng.integers(0, 256, (H, W, 1), dtype=np.uint8)], -1)
save(out('images', 'rgba.png'), png_bytes(W, H, 6, 8, [rgba[y].tobytes() for y in range(H)]))
expect('rgba.png', rgb)
save(out('images', 'gray_trns.png'), png_bytes(W, H, 0, 8, [gray[y].tobytes() for y in range(H)], trns=[0, int(gray[0, 0])]))
expect('gray_trns.png', gray[..., None])
bits = rng.integers(0, 2, (H, W), dtype=np.uint8)
save(out('images', 'gray1.png'), png_bytes(W, H, 0, 1, [np.packbits(bits[y]).tobytes() for y in range(H)]))
expect('gray1.png', (bits * 255)[..., None])


# ---- BMP -------------------------------------------------------------------------------------------
def bmp_bytes(w, h, bpp, rows, palette=None, top_down=False, masks=None):
    """rows: top-to-bottom packed pixel rows (unpadded)."""
    stride = (w * bpp + 31) // 32 * 4
    order = rows if top_down else rows[::-1]
    data = b''.join(r + b'\x00' * (stride - len(r)) for r in order)
    comp = 3 if masks else 0
    info = struct.pack('<IiiHHIIiiII', 40, w, -h if top_down else h, 1, bpp, comp, len(data), 2835, 2835,
                       len(palette) if palette is not None else 0, 0)
    extra = b''
    if masks:
        extra = struct.pack('<III', *masks)
    if palette is not None:
        extra += b''.join(bytes([c[2], c[1], c[0], 0]) for c in palette)
    off = 14 + len(info) + len(extra)
    return b'BM' + struct.pack('<IHHI', off + len(data), 0, 0, off) + info + extra + data


bgr_rows = [rgb[y, :, ::-1].tobytes() for y in range(H)]
save(out('images', 'bmp24.bmp'), bmp_bytes(W, H, 24, bgr_rows))
expect('bmp24.bmp', rgb)
save(out('images', 'bmp24_topdown.bmp'), bmp_bytes(W, H, 24, bgr_rows, top_down=True))
expect('bmp24_topdown.bmp', rgb)
save(out('images', 'bmp32.bmp'), bmp_bytes(W, H, 32, [np.concatenate([rgb[y, :, ::-1], np.full((W, 1), 7, np.uint8)], 1).tobytes() for y in range(H)]))
expect('bmp32.bmp', rgb)
# 32-bit with bit fields in R,G,B,X byte order (masks 0xFF, 0xFF00, 0xFF0000)
save(out('images', 'bmp32_bitfields.bmp'), bmp_bytes(W, H, 32, [np.concatenate([rgb[y], np.zeros((W, 1), np.uint8)], 1).tobytes() for y in range(H)],
                                                    masks=(0xFF, 0xFF00, 0xFF0000)))
expect('bmp32_bitfields.bmp', rgb)
save(out('images', 'bmp8.bmp'), bmp_bytes(W, H, 8, [idx[y].tobytes() for y in range(H)], palette=pal))
expect('bmp8.bmp', pal[idx])
gpal = np.repeat(np.arange(256, dtype=np.uint8)[:, None], 3, 1)
save(out('images', 'bmp8_gray.bmp'), bmp_bytes(W, H, 8, [gray[y].tobytes() for y in range(H)], palette=gpal, top_down=True))
expect('bmp8_gray.bmp', gray[..., None])
pal2 = np.array([[10, 20, 30], [200, 150, 100]], np.uint8)
save(out('images', 'bmp1.bmp'), bmp_bytes(W, H, 1, [np.packbits(bits[y]).tobytes() for y in range(H)], palette=pal2))
expect('bmp1.bmp', pal2[bits])
idx4 = idx  # < 16
packed4 = [bytes((int(r[i]) << 4) | (int(r[i + 1]) if i + 1 < W else 0) for i in range(0, W, 2)) for r in idx4]
save(out('images', 'bmp4.bmp'), bmp_bytes(W, H, 4, packed4, palette=pal))
expect('bmp4.bmp', pal[idx4])
rgb555 = (rgb >> 3).astype(np.uint16)
px16 = (rgb555[..., 0] << 10) | (rgb555[..., 1] << 5) | rgb555[..., 2]
save(out('images', 'bmp16.bmp'), bmp_bytes(W, H, 16, [px16[y].astype('<u2').tobytes() for y in range(H)]))
expect('bmp16.bmp', np.floor(rgb555.astype(np.float64) * 255 / 31 + 0.5))

# ---- JPEG (PIL / libjpeg-turbo) ----------------------------------------------------------------------
from PIL import Image

big = rng.integers(0, 256, (16, 24, 3), dtype=np.uint8)
big = np.repeat(np.repeat(big[::4, ::4], 4, 0), 4, 1)  # smooth-ish blocks so the JPEG is faithful
Image.fromarray(big).save(out('images', 'rgb.jpg'), quality=95)
expect('rgb.jpg', np.asarray(Image.open(out('images', 'rgb.jpg')).convert('RGB')))
g16 = big[..., 1]
Image.fromarray(g16).save(out('images', 'gray.jpg'), quality=95)
expect('gray.jpg', np.asarray(Image.open(out('images', 'gray.jpg')))[..., None])
Image.fromarray(big).convert('CMYK').save(out('images', 'cmyk.jpg'), quality=95)
cmyk = np.asarray(Image.open(out('images', 'cmyk.jpg'))).astype(np.int64)  # PIL un-inverts Adobe CMYK
inv = 255 - cmyk
expect('cmyk.jpg', (inv[..., :3] * inv[..., 3:4] + 127) // 255)

# ---- corrupt files ---------------------------------------------------------------------------------
good_png = open(out('images', 'rgb8.png'), 'rb').read()
save(out('corrupt', 'truncated.png'), good_png[:len(good_png) // 2])
bad_crc = bytearray(good_png)
bad_crc[29] ^= 0xFF  # inside the IHDR CRC
save(out('corrupt', 'bad_crc.png'), bytes(bad_crc))
good_jpg = open(out('images', 'rgb.jpg'), 'rb').read()
save(out('corrupt', 'truncated.jpg'), good_jpg[:len(good_jpg) // 2])
save(out('corrupt', 'garbage.jpg'), b'\xff\xd8\xff' + bytes(rng.integers(0, 256, 200, dtype=np.uint8)))
good_bmp = open(out('images', 'bmp24.bmp'), 'rb').read()
save(out('corrupt', 'truncated.bmp'), good_bmp[:len(good_bmp) - 40])
huge = bytearray(good_bmp)
huge[18:22] = struct.pack('<i', 1 << 30)
save(out('corrupt', 'huge.bmp'), bytes(huge))
rle = bytearray(open(out('images', 'bmp8.bmp'), 'rb').read())
rle[30:34] = struct.pack('<I', 1)
save(out('corrupt', 'rle8.bmp'), bytes(rle))
save(out('corrupt', 'text.png'), b'this is not an image\n')
save(out('corrupt', 'empty.png'), b'')

# ---- tensor datasets ---------------------------------------------------------------------------------
# Per-sample shape [2,3,4]; the value of element e of global sample k is 100*k + e (exact in every dtype used).
def samples(first, n):
    return (100 * np.arange(first, first + n)[:, None] + np.arange(24)[None]).reshape(n, 2, 3, 4)


np.save(out('tensors', 'batch.npy'), samples(0, 5).astype(np.float32))                 # one N x ... file
np.save(out('tensors', 'npydir', 'a.npy'), samples(0, 1)[0].astype(np.float32))       # one sample, no batch dim
np.save(out('tensors', 'npydir', 'b.npy'), samples(1, 3).astype(np.float64))         # a batch of 3, float64
np.save(out('tensors', 'npydir', 'c.npy'), samples(4, 1).astype(np.int32))            # batch of 1, int32
np.save(out('tensors', 'wrong_shape.npy'), np.zeros((2, 4, 3), np.float32))
np.savez(out('tensors', 'multi.npz'), x=samples(0, 4).astype(np.float32), ids=np.arange(4 * 5).reshape(4, 5))
np.savez_compressed(out('tensors', 'multi_compressed.npz'), x=samples(0, 4).astype(np.float32),
                    ids=np.arange(4 * 5).reshape(4, 5))
np.savez(out('tensors', 'single.npz'), samples(0, 3).astype(np.float32))  # entry named arr_0.npy
np.savez(out('tensors', 'mismatch.npz'), x=samples(0, 4).astype(np.float32), ids=np.zeros((3, 5), np.int64))
with open(out('tensors', 'tnn.txt'), 'w') as f:  # TNN-style: one float per line, NCHW, 2 samples
    f.write(''.join(f'{v:.1f}\n' for v in samples(0, 2).astype(np.float32).flatten()))
with open(out('tensors', 'tnn_bad.txt'), 'w') as f:
    f.write(''.join(f'{v}\n' for v in range(24)).replace('17\n', 'x17\n'))
with open(out('tensors', 'tnn_short.txt'), 'w') as f:
    f.write(''.join(f'{v}\n' for v in range(30)))

# ---- resize references (torch) ---------------------------------------------------------------------
import torch
import torch.nn.functional as F

x = (rng.random((3, 13, 17)) * 255).astype(np.float32)
np.save(out('resize', 'input.npy'), x)
for oh, ow in [(29, 31), (26, 34), (6, 5), (20, 9), (13, 17), (1, 1), (13, 40), (4, 17)]:
    y = F.interpolate(torch.from_numpy(x)[None], size=(oh, ow), mode='bilinear', align_corners=False)
    np.save(out('resize', f'out_{oh}x{ow}.npy'), y[0].numpy())

# The ResNet-8 preprocessing of shared/models/train/fmnist_models.py (resize 28->32, 3 channels, normalize).
D = '/usr/share/datasets/fashion-mnist'
with gzip.open(f'{D}/t10k-images-idx3-ubyte.gz') as f:
    imgs = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 28, 28)
with gzip.open(f'{D}/t10k-labels-idx1-ubyte.gz') as f:
    labs = np.frombuffer(f.read(), np.uint8, offset=8)
sample = imgs[:2].copy()
t = F.interpolate(torch.from_numpy(sample).float().unsqueeze(1), size=(32, 32), mode='bilinear', align_corners=False)
t = t.repeat(1, 3, 1, 1)
MEAN, STD = np.array([123.675, 116.28, 103.53]), np.array([58.395, 57.12, 57.375])
t = (t - torch.tensor(MEAN).float().view(1, 3, 1, 1)) / torch.tensor(STD).float().view(1, 3, 1, 1)
for i in range(2):
    Image.fromarray(sample[i]).save(out('prep', f'{i}.png'))
np.save(out('prep', 'resnet8_expected.npy'), t.numpy())

# ---- Fashion-MNIST image folder and its numpy LeNet reference -----------------------------------------
N = 200
for i in range(N):
    Image.fromarray(imgs[i]).save(out('fmnist', f'{i:04d}.png'))
with open(out('fmnist', 'labels.txt'), 'w') as f:
    f.write(''.join(f'{int(v)}\n' for v in labs[:N]))

import onnx
from onnx import numpy_helper

model_path = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..', '..', '..', 'shared', 'models',
                          'fmnist_lenet.onnx')
if len(sys.argv) > 1:
    model_path = sys.argv[1]
Wt = {i.name: numpy_helper.to_array(i).astype(np.float32) for i in onnx.load(model_path).graph.initializer}


def conv(x, w, b, pad):
    x = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    oh, ow = h - kh + 1, wd - kw + 1
    cols = np.empty((n, c, kh, kw, oh, ow), np.float32)
    for i in range(kh):
        for j in range(kw):
            cols[:, :, i, j] = x[:, :, i:i + oh, j:j + ow]
    return np.einsum('nckloy,dckl->ndoy', cols, w, dtype=np.float32) + b[None, :, None, None]


def pool(x):
    n, c, h, w = x.shape
    return x[:, :, :h // 2 * 2, :w // 2 * 2].reshape(n, c, h // 2, 2, w // 2, 2).max((3, 5))


relu = lambda v: np.maximum(v, 0)
xs = ((imgs[:N].astype(np.float32) - np.float32(72.94)) / np.float32(90.0))[:, None]
h1 = pool(relu(conv(xs, Wt['c1.weight'], Wt['c1.bias'], 2)))
h2 = pool(relu(conv(h1, Wt['c2.weight'], Wt['c2.bias'], 0)))
f = h2.reshape(N, -1)
f = relu(f @ Wt['f1.weight'].T + Wt['f1.bias'])
f = relu(f @ Wt['f2.weight'].T + Wt['f2.bias'])
logits = f @ Wt['f3.weight'].T + Wt['f3.bias']
pred = logits.argmax(1)
top5 = np.argsort(-logits, 1, kind='stable')[:, :5]
srt = np.sort(logits, 1)
correct1 = int((pred == labs[:N]).sum())
correct5 = int(sum(labs[i] in top5[i] for i in range(N)))
with open(out('fmnist', 'expected.json'), 'w') as f:
    json.dump({'model': 'fmnist_lenet.onnx', 'count': N, 'top1_correct': correct1, 'top5_correct': correct5,
               'min_top1_margin': float((srt[:, -1] - srt[:, -2]).min())}, f, indent=1)
    f.write('\n')
print('fixtures written to', os.path.normpath(ROOT), '- lenet top1', correct1, '/', N, 'top5', correct5)
