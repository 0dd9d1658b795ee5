#!/usr/bin/python3
"""Fixtures for tests/unit/test-dfq.c (cross-layer equalization and bias correction).

    /usr/bin/python3 tests/unit/gen/make_dfq_fixtures.py      # writes tests/unit/fixtures/{cle_chain,cle_blocked,bc_gemm}.onnx

cle_chain.onnx: x [N,4,12,12] -> Conv 4->16 3x3 -> Relu -> depthwise Conv 16 3x3 -> LeakyRelu(0.1)
    -> Conv 16->8 1x1 -> Relu -> Conv 8->6 3x3 (no bias) -> y. A well-scaled random network whose output channels
    were then rescaled by factors 10^U(-1.5, 1.5) (and the next layer's input channels by the inverse): the same
    function, with channel ranges that per-tensor weight quantization handles badly (the paper's MobileNetV2 case).
cle_blocked.onnx: pairs that must NOT be equalized (Clip between convolutions, a tensor with two readers, a Conv
    output that is also a graph output) and two that must (g -> h -> p, no activations, g and h sharing one
    weight initializer, so equalization has to copy it).
bc_gemm.onnx: x [N,8] -> Gemm(W [8,4], b [4]) -> y, W with one outlier so per-tensor int8 has coarse steps.
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures")


def conv(name, x, w, b, y, **attrs):
    ins = [x, w] + ([b] if b else [])
    return helper.make_node("Conv", ins, [y], name=name, **attrs)


def save(graph, path):
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="make_dfq_fixtures")
    m.ir_version = 7
    onnx.checker.check_model(m)
    onnx.save(m, path)
    print("wrote", path)


def chain(rng):
    w1 = rng.normal(0, 0.3, (16, 4, 3, 3)).astype(np.float32)
    b1 = rng.normal(0, 0.1, 16).astype(np.float32)
    w2 = rng.normal(0, 0.3, (16, 1, 3, 3)).astype(np.float32)
    b2 = rng.normal(0, 0.1, 16).astype(np.float32)
    w3 = rng.normal(0, 0.3, (8, 16, 1, 1)).astype(np.float32)
    b3 = rng.normal(0, 0.1, 8).astype(np.float32)
    w4 = rng.normal(0, 0.3, (6, 8, 3, 3)).astype(np.float32)
    a = 10 ** rng.uniform(-1.5, 1.5, 16)
    c = 10 ** rng.uniform(-1.5, 1.5, 16)
    d = 10 ** rng.uniform(-1.5, 1.5, 8)
    # output channel i of a layer times k_i, input channel i of the next one divided by k_i
    w1 *= a[:, None, None, None]; b1 *= a
    w2 /= a[:, None, None, None]                      # depthwise: channel i reads channel i
    w2 *= c[:, None, None, None]; b2 *= c
    w3 /= c[None, :, None, None]
    w3 *= d[:, None, None, None]; b3 *= d
    w4 /= d[None, :, None, None]
    inits = [numpy_helper.from_array(v.astype(np.float32), n) for v, n in
             [(w1, "w1"), (b1, "b1"), (w2, "w2"), (b2, "b2"), (w3, "w3"), (b3, "b3"), (w4, "w4")]]
    nodes = [
        conv("conv1", "x", "w1", "b1", "c1", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"], name="relu1"),
        conv("conv2", "r1", "w2", "b2", "c2", kernel_shape=[3, 3], pads=[1, 1, 1, 1], group=16),
        helper.make_node("LeakyRelu", ["c2"], ["r2"], name="lrelu2", alpha=0.1),
        conv("conv3", "r2", "w3", "b3", "c3", kernel_shape=[1, 1]),
        helper.make_node("Relu", ["c3"], ["r3"], name="relu3"),
        conv("conv4", "r3", "w4", None, "y", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
    ]
    g = helper.make_graph(nodes, "cle_chain",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4, 12, 12])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 6, 12, 12])], inits)
    save(g, os.path.join(OUT, "cle_chain.onnx"))


def blocked(rng):
    def w(o, i, k=3):
        return rng.normal(0, 0.3, (o, i, k, k)) * (10 ** rng.uniform(-1, 1, o))[:, None, None, None]

    arrs = {"wa": w(8, 3), "wb": w(8, 8), "wc": w(8, 8), "wd": w(8, 8), "wshared": w(8, 8, 1),
            "wp": w(8, 8, 1), "wq": w(4, 8, 1), "bb": rng.normal(0, 0.1, 8), "bshared": rng.normal(0, 0.1, 8),
            "cmin": np.array(0.0), "cmax": np.array(6.0)}
    inits = [numpy_helper.from_array(np.asarray(v, dtype=np.float32), n) for n, v in arrs.items()]
    p3 = dict(kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    nodes = [
        conv("a", "x", "wa", None, "ya", **p3),
        helper.make_node("Clip", ["ya", "cmin", "cmax"], ["ca"], name="clip"),   # not homogeneous
        conv("b", "ca", "wb", "bb", "yb", **p3),
        helper.make_node("Relu", ["yb"], ["rb"], name="relu_b"),                 # two readers
        conv("c", "rb", "wc", None, "yc", **p3),
        conv("d", "rb", "wd", None, "yd", **p3),
        helper.make_node("Add", ["yc", "yd"], ["s"], name="add"),
        conv("g", "s", "wshared", "bshared", "yg", kernel_shape=[1, 1]),         # g -> h -> p: two pairs
        conv("h", "yg", "wshared", None, "yh", kernel_shape=[1, 1]),
        conv("p", "yh", "wp", None, "yp", kernel_shape=[1, 1]),                  # yp is a graph output
        conv("q", "yp", "wq", None, "y", kernel_shape=[1, 1]),
    ]
    g = helper.make_graph(nodes, "cle_blocked",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, 8, 8])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4, 8, 8]),
                           helper.make_tensor_value_info("yp", TensorProto.FLOAT, ["N", 8, 8, 8])], inits)
    save(g, os.path.join(OUT, "cle_blocked.onnx"))


def gemm():
    w = np.array([[0.9, -0.013, 0.021, 0.0],
                  [0.011, 0.017, -0.019, 0.023],
                  [-0.015, 0.012, 0.0165, -0.0125],
                  [0.0133, -0.0177, 0.0121, 0.0191],
                  [0.0149, 0.0113, -0.0187, 0.0102],
                  [-0.0118, 0.0159, 0.0171, 0.0139],
                  [0.0127, 0.0104, 0.0166, -0.0181],
                  [0.0158, -0.0122, 0.0135, 0.0117]], dtype=np.float32)
    b = np.array([0.1, -0.2, 0.05, 0.0], dtype=np.float32)
    nodes = [helper.make_node("Gemm", ["x", "w", "b"], ["y"], name="gemm")]
    g = helper.make_graph(nodes, "bc_gemm", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 8])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])],
                          [numpy_helper.from_array(w, "w"), numpy_helper.from_array(b, "b")])
    save(g, os.path.join(OUT, "bc_gemm.onnx"))


if __name__ == "__main__":
    rng = np.random.default_rng(20190611)
    chain(rng)
    blocked(rng)
    gemm()
