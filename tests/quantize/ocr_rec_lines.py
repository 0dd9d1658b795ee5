#!/usr/bin/python3
"""PP-OCRv4 rec accuracy data and metric (tests/quantize/ocr-rec-accuracy.sh).

  ocr_rec_lines.py render OUT.npy OUT.txt N SEED   N text lines of random words (letters, digits, punctuation)
        rendered in the DejaVu fonts at random sizes and colours, normalized as PaddleOCR's rec does
        (height 48, width <= 320 keeping the aspect ratio, (x/255 - 0.5)/0.5, BGR, right-padded with 0);
        OUT.txt holds one line's text per line.
  ocr_rec_lines.py score LOGITS.npy TEXTS.txt DICT.txt   greedy CTC decoding (blank 0, the dict's characters, then
        the space) and character accuracy = 1 - sum(edit distance) / sum(reference length); prints it.
"""
import sys

import numpy as np

FONT_DIR = '/usr/share/fonts/truetype/dejavu'
FONTS = ['DejaVuSans.ttf', 'DejaVuSans-Bold.ttf', 'DejaVuSerif.ttf', 'DejaVuSansMono.ttf', 'DejaVuSerif-Bold.ttf',
         'DejaVuSansMono-Bold.ttf']
WORDS = ('invoice total order street london paper quality control page shipping address thank you open close '
         'monday friday price amount number account receipt station market garden river north south east west '
         'model data sample check value result report first second third city road').split()


def text_of(r):
    parts = []
    for _ in range(r.randint(2, 5)):
        k = r.randint(0, 6)
        if k == 0:
            parts.append(str(r.randint(0, 100000)))
        elif k == 1:
            parts.append('%d.%02d' % (r.randint(0, 1000), r.randint(0, 100)))
        else:
            w = WORDS[r.randint(0, len(WORDS))]
            c = r.randint(0, 3)
            parts.append(w.upper() if c == 0 else w.capitalize() if c == 1 else w)
    t = ' '.join(parts)
    if r.randint(0, 3) == 0:
        t += '.:,-!?'[r.randint(0, 6)]
    return t


def render(out_npy, out_txt, n, seed):
    from PIL import Image, ImageDraw, ImageFont
    r = np.random.RandomState(seed)
    H, W = 48, 320
    xs, texts = np.zeros((n, 3, H, W), np.float32), []
    for i in range(n):
        t = text_of(r)
        fnt = ImageFont.truetype('%s/%s' % (FONT_DIR, FONTS[r.randint(0, len(FONTS))]), int(r.randint(24, 40)))
        fg = tuple(int(v) for v in r.randint(0, 80, 3))
        bg = tuple(int(v) for v in r.randint(190, 256, 3))
        pad = int(r.randint(3, 9))
        l, tp, rt, b = ImageDraw.Draw(Image.new('RGB', (1, 1))).textbbox((0, 0), t, font=fnt)
        im = Image.new('RGB', (rt - l + 2 * pad, b - tp + 2 * pad), bg)
        ImageDraw.Draw(im).text((pad - l, pad - tp), t, font=fnt, fill=fg)
        w, h = im.size
        rw = min(W, int(np.ceil(H * w / h)))
        a = np.asarray(im.resize((rw, H), Image.BILINEAR), np.float32)[:, :, ::-1].transpose(2, 0, 1) / 255.0
        xs[i, :, :, :rw] = (a - 0.5) / 0.5
        texts.append(t)
    np.save(out_npy, xs)
    with open(out_txt, 'w') as f:
        f.write('\n'.join(texts) + '\n')


def edit(a, b):
    d = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        prev, d[0] = d[0], i
        for j in range(1, len(b) + 1):
            cur = min(d[j] + 1, d[j - 1] + 1, prev + (a[i - 1] != b[j - 1]))
            prev, d[j] = d[j], cur
    return d[len(b)]


def score(logits_npy, texts_txt, dict_txt):
    with open(dict_txt, encoding='utf-8') as f:
        chars = [''] + [line.rstrip('\n') for line in f] + [' ']
    with open(texts_txt) as f:
        texts = f.read().split('\n')[:-1]
    p = np.load(logits_npy)
    assert p.shape[0] == len(texts) and p.shape[2] == len(chars), (p.shape, len(texts), len(chars))
    errs = total = exact = 0
    for i, t in enumerate(texts):
        ids = p[i].argmax(axis=1)
        s = ''.join(chars[c] for k, c in enumerate(ids) if c != 0 and (k == 0 or c != ids[k - 1]))
        errs += edit(s, t)
        total += len(t)
        exact += s == t
    print('%.6f %d %d' % (1 - errs / total, exact, len(texts)))


if __name__ == '__main__':
    if sys.argv[1] == 'render':
        render(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
    else:
        score(*sys.argv[2:5])
