#!/usr/bin/env python3
# Trains fmnist_mobilenet.onnx: a MobileNetV2-style Fashion-MNIST classifier (inverted residuals, depthwise 3x3
# convolutions, ReLU6, BatchNorm folded by the exporter). It is held out from calib8's tuning: the search and the
# threshold methods were not adjusted on it before it was trained (issue 12, section 6).
#
#   /usr/bin/python3 tests/models/train_mobilenet.py OUT.onnx [EPOCHS]
#
# The committed tests/models/fmnist_mobilenet.onnx (129 514 parameters, 520 KB) came from the defaults (4 epochs of
# 30 000 images, ~10 min): FP32 top-1 90.08 % on the 10 000 test images, in PyTorch and in calib8 alike.
#
# Needs Debian python3-torch (1.13) and dataset-fashion-mnist. CPU, 1 thread, fixed seeds: the same machine gives
# the same weights. Input `input` float32 [N,1,28,28], (x - 72.94) / 90.0 as fmnist_lenet
# (`mean_value=72.94,std_value=90.0`); output `logits` [N,10].
import gzip, sys, time
import numpy as np, torch, torch.nn as nn, torch.nn.functional as F

D = '/usr/share/datasets/fashion-mnist'


def load(split):
    p = 'train' if split == 'train' else 't10k'
    with gzip.open(f'{D}/{p}-images-idx3-ubyte.gz') as f:
        x = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 1, 28, 28)
    with gzip.open(f'{D}/{p}-labels-idx1-ubyte.gz') as f:
        y = np.frombuffer(f.read(), np.uint8, offset=8)
    return (torch.from_numpy(x.copy()).float() - 72.94) / 90.0, torch.from_numpy(y.astype(np.int64))


class IR(nn.Module):
    """MobileNetV2's inverted residual: 1x1 expand, ReLU6, depthwise 3x3, ReLU6, 1x1 linear projection."""

    def __init__(s, i, o, stride, e):
        super().__init__()
        h = i * e
        s.res = stride == 1 and i == o
        layers = []
        if e != 1:
            layers += [nn.Conv2d(i, h, 1, bias=False), nn.BatchNorm2d(h), nn.ReLU6()]
        layers += [nn.Conv2d(h, h, 3, stride, 1, groups=h, bias=False), nn.BatchNorm2d(h), nn.ReLU6(),
                   nn.Conv2d(h, o, 1, bias=False), nn.BatchNorm2d(o)]
        s.m = nn.Sequential(*layers)

    def forward(s, x):
        return x + s.m(x) if s.res else s.m(x)


class MobileNet(nn.Module):
    def __init__(s):
        super().__init__()
        # A stride-2 stem and early downsampling keep training within minutes on two CPU cores.
        s.f = nn.Sequential(
            nn.Conv2d(1, 16, 3, 2, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU6(),   # 14x14
            IR(16, 16, 1, 1), IR(16, 24, 2, 4),                                      # 7x7
            IR(24, 24, 1, 4), IR(24, 32, 1, 4), IR(32, 48, 2, 4),                    # 4x4
            IR(48, 48, 1, 4), IR(48, 64, 1, 4), IR(64, 64, 1, 4),
            nn.Conv2d(64, 256, 1, bias=False), nn.BatchNorm2d(256), nn.ReLU6())
        s.fc = nn.Linear(256, 10)

    def forward(s, x):
        return s.fc(torch.flatten(F.adaptive_avg_pool2d(s.f(x), 1), 1))


def main():
    out = sys.argv[1]
    epochs = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    per_epoch = 30000  # 30 000 random training images per epoch: minutes on one loaded core
    torch.set_num_threads(1)  # on shared loaded cores, one thread is ~2.5x faster than two
    torch.manual_seed(0)
    np.random.seed(0)
    xtr, ytr = load('train')
    xte, yte = load('test')
    net = MobileNet()
    print('parameters', sum(p.numel() for p in net.parameters()), flush=True)
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9, weight_decay=4e-5, nesterov=True)
    bs = 128
    steps = epochs * (per_epoch // bs)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, 0.1, total_steps=steps)
    t0 = time.time()
    for ep in range(epochs):
        net.train()
        perm = torch.randperm(len(xtr))[:per_epoch]
        for i in range(0, per_epoch - bs + 1, bs):
            idx = perm[i:i + bs]
            loss = F.cross_entropy(net(xtr[idx]), ytr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        print(f'epoch {ep} loss {loss.item():.3f} {time.time() - t0:.0f}s', flush=True)
    net.eval()
    with torch.no_grad():
        acc = sum((net(xte[i:i + 1000]).argmax(1) == yte[i:i + 1000]).sum().item()
                  for i in range(0, 10000, 1000)) / 100
    torch.onnx.export(net, xte[:1], out, input_names=['input'], output_names=['logits'], opset_version=13,
                      dynamic_axes={'input': {0: 'N'}, 'logits': {0: 'N'}}, do_constant_folding=True)
    print('saved', out, 'fp32 top-1', acc)


if __name__ == '__main__':
    main()
