#!/usr/bin/python3
"""The hard case for `calib8 auto`: fmnist_lenet with a large activation outlier in one layer.
Output channel 0 of the first convolution is scaled by 1000 (weights and bias) and the second convolution's
weights reading that channel by 1/1000. Relu and MaxPool commute with positive scaling, so the FP32 model is
the same function, but the per-tensor int8 scale of the first convolution's output now has to cover a channel
1000 times larger than the others, which wipes them out. Only keeping that tensor's producer and consumer in
FP32 (or equalizing the channels) restores accuracy.
Usage: make_hard_model.py models/fmnist_lenet.onnx OUT.onnx"""
import sys
import numpy as np
import onnx
from onnx import numpy_helper

m = onnx.load(sys.argv[1])
inits = {t.name: t for t in m.graph.initializer}
convs = [n for n in m.graph.node if n.op_type == 'Conv']
c1, c2 = convs[0], convs[1]
def get(name): return numpy_helper.to_array(inits[name]).copy()
def put(name, a): inits[name].CopyFrom(numpy_helper.from_array(a.astype(np.float32), name))
w1, b1, w2 = get(c1.input[1]), get(c1.input[2]), get(c2.input[1])
w1[0] *= 1000.0; b1[0] *= 1000.0; w2[:, 0] /= 1000.0
put(c1.input[1], w1); put(c1.input[2], b1); put(c2.input[1], w2)
onnx.checker.check_model(m)
onnx.save(m, sys.argv[2])
print('conv layers:', c1.name, c2.name)
