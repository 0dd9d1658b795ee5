#!/usr/bin/python3
"""A tiny Conv -> BatchNormalization -> Relu -> GlobalAveragePool -> Flatten -> Gemm classifier with random
weights, and 8 random input samples: calib8 folds the BatchNorm into the Conv, which changes the last bits of
the outputs, so `auto --fp32-diff 0` must stop at the FP32 conversion check. Usage: make_bn_model.py OUTDIR"""
import sys
import numpy as np
import onnx
from onnx import helper, numpy_helper, TensorProto

r = np.random.RandomState(3)
out = sys.argv[1]
W = r.randn(8, 3, 3, 3).astype(np.float32)
g, b, m, v = (r.rand(8) + 0.5).astype(np.float32), r.randn(8).astype(np.float32), r.randn(8).astype(np.float32), (r.rand(8) + 0.1).astype(np.float32)
F = r.randn(4, 8).astype(np.float32)
inits = [numpy_helper.from_array(a, n) for a, n in [(W, 'W'), (g, 'g'), (b, 'b'), (m, 'm'), (v, 'v'), (F, 'F')]]
nodes = [helper.make_node('Conv', ['x', 'W'], ['c'], pads=[1, 1, 1, 1]),
         helper.make_node('BatchNormalization', ['c', 'g', 'b', 'm', 'v'], ['n']),
         helper.make_node('Relu', ['n'], ['r']), helper.make_node('GlobalAveragePool', ['r'], ['p']),
         helper.make_node('Flatten', ['p'], ['f']), helper.make_node('Gemm', ['f', 'F'], ['y'], transB=1)]
gr = helper.make_graph(nodes, 'bn', [helper.make_tensor_value_info('x', TensorProto.FLOAT, ['N', 3, 8, 8])],
                       [helper.make_tensor_value_info('y', TensorProto.FLOAT, ['N', 4])], inits)
onnx.save(helper.make_model(gr, opset_imports=[helper.make_opsetid('', 13)]), f'{out}/conv_bn.onnx')
np.save(f'{out}/conv_bn_data.npy', r.randn(8, 3, 8, 8).astype(np.float32))
