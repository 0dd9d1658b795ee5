#!/usr/bin/python3
"""Writes the benchmark inputs and the two synthetic throughput models into OUTDIR (normally .cache/bench).

    /usr/bin/python3 bench/make_inputs.py OUTDIR [N_CALIB]

Deterministic. Real data: the Fashion-MNIST test images (Debian dataset-fashion-mnist) preprocessed exactly as the
real-model tests do (tests/models/make_inputs.py is imported, so the preprocessing has one definition), and the same
rendered text lines / page as the PP-OCR test inputs.

  fmnist_lenet_b{1,32}.npy    test images 0..N-1, (x - 72.94) / 90                         [N,1,28,28]
  fmnist_resnet8_b{1,32}.npy  the same images, bilinear 28->32, 3 channels, mean/std         [N,3,32,32]
  fmnist_yolo_b{1,32}.npy     detection scenes from the training scene generator, x / 255    [N,3,128,128]
  ppocr_cls_b8.npy            8 text lines, 4 upside down, PaddleOCR normalization           [8,3,48,192]
  ppocr_rec_b8.npy            8 text lines                                                   [8,3,48,320]
  ppocr_det_b1.npy            a rendered 640x640 page, ImageNet mean/std                     [1,3,640,640]
  conv3x3.onnx + conv3x3_in.npy    Conv 1x64x112x112 -> 64 channels, 3x3, pad 1 (random weights, seed 1)
  gemm1024.onnx + gemm1024_in.npy  MatMul [1024,1024] x [1024,1024] initializer (random, seed 2)
  calib_labels.txt            'train_%05d.png label' for the first N_CALIB (default 2000) Fashion-MNIST train
                              images, i.e. the labels of tools/make_fmnist_png.py's OUT/calib folder
"""
import gzip
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'tests', 'models'))
import make_inputs as mi  # noqa: E402  (tests/models/make_inputs.py)


def save(out, name, arr):
    arr = np.ascontiguousarray(arr, np.float32)
    path = os.path.join(out, name)
    tmp = path + '.tmp.npy'
    np.save(tmp, arr)
    os.replace(tmp, path)
    print(f'{name}: {list(arr.shape)}')


def save_model(out, name, model):
    import onnx
    onnx.checker.check_model(model)
    path = os.path.join(out, name)
    tmp = path + '.tmp'
    onnx.save(model, tmp)
    os.replace(tmp, path)
    print(f'{name}: {[n.op_type for n in model.graph.node]}')


def conv_model(out):
    from onnx import TensorProto, helper, numpy_helper
    r = np.random.RandomState(1)
    w = (r.randn(64, 64, 3, 3) * (1.0 / 24.0)).astype(np.float32)
    b = (r.randn(64) * 0.1).astype(np.float32)
    node = helper.make_node('Conv', ['x', 'w', 'b'], ['y'], kernel_shape=[3, 3], pads=[1, 1, 1, 1], name='conv')
    g = helper.make_graph([node], 'conv3x3', [helper.make_tensor_value_info('x', TensorProto.FLOAT, [1, 64, 112, 112])],
                          [helper.make_tensor_value_info('y', TensorProto.FLOAT, [1, 64, 112, 112])],
                          [numpy_helper.from_array(w, 'w'), numpy_helper.from_array(b, 'b')])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid('', 13)], producer_name='calib8-bench')
    m.ir_version = 7
    save_model(out, 'conv3x3.onnx', m)
    save(out, 'conv3x3_in.npy', r.rand(1, 64, 112, 112).astype(np.float32))


def gemm_model(out):
    from onnx import TensorProto, helper, numpy_helper
    r = np.random.RandomState(2)
    w = (r.randn(1024, 1024) / 32.0).astype(np.float32)
    node = helper.make_node('MatMul', ['a', 'w'], ['y'], name='matmul')
    g = helper.make_graph([node], 'gemm1024', [helper.make_tensor_value_info('a', TensorProto.FLOAT, [1024, 1024])],
                          [helper.make_tensor_value_info('y', TensorProto.FLOAT, [1024, 1024])],
                          [numpy_helper.from_array(w, 'w')])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid('', 13)], producer_name='calib8-bench')
    m.ir_version = 7
    save_model(out, 'gemm1024.onnx', m)
    save(out, 'gemm1024_in.npy', r.randn(1024, 1024).astype(np.float32))


def main():
    if len(sys.argv) not in (2, 3):
        sys.exit('usage: make_inputs.py OUTDIR [N_CALIB]')
    out = sys.argv[1]
    n_calib = int(sys.argv[2]) if len(sys.argv) == 3 else 2000
    os.makedirs(out, exist_ok=True)

    x, y = mi.load_fmnist('test')
    for n in (1, 32):
        save(out, f'fmnist_lenet_b{n}.npy', mi.prep_cls(x[:n], 1, 28))
        save(out, f'fmnist_resnet8_b{n}.npy', mi.prep_cls(x[:n], 3, 32))
    imgs, _ = mi.scenes(x, y, 32, 2024)
    yolo = imgs.astype(np.float32)[:, None].repeat(3, 1) / 255.0
    save(out, 'fmnist_yolo_b1.npy', yolo[:1])
    save(out, 'fmnist_yolo_b32.npy', yolo)

    save(out, 'ppocr_cls_b8.npy', np.stack([mi.paddle_rec_norm(im, 48, 192) for im in mi.ocr_lines(11, True)]))
    save(out, 'ppocr_rec_b8.npy', np.stack([mi.paddle_rec_norm(im, 48, 320) for im in mi.ocr_lines(12, False)]))
    save(out, 'ppocr_det_b1.npy', mi.make_page(13)[0])

    conv_model(out)
    gemm_model(out)

    with gzip.open(f'{mi.FMNIST}/train-labels-idx1-ubyte.gz') as f:
        ytr = np.frombuffer(f.read(), np.uint8, offset=8)
    path = os.path.join(out, 'calib_labels.txt')
    with open(path + '.tmp', 'w') as f:
        for i in range(n_calib):
            f.write(f'train_{i:05d}.png {int(ytr[i])}\n')
    os.replace(path + '.tmp', path)
    print(f'calib_labels.txt: {n_calib} labels')


if __name__ == '__main__':
    main()
