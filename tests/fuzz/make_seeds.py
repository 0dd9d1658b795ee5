#!/usr/bin/python3
"""Writes the generated seeds of tests/fuzz/corpus (the others are copies of test fixtures):
lmdb/ (small LMDB environments holding .npy records, as the seeds' lmdb_save writes them) and
onnx/fold.onnx (shape arithmetic that constant folding evaluates, an If with subgraphs, a Conv)."""
import io
import os
import tempfile

import lmdb
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def npy(a):
    b = io.BytesIO()
    np.save(b, a)
    return b.getvalue()


def write_lmdb(name, records):
    with tempfile.TemporaryDirectory() as d:
        env = lmdb.open(d, map_size=1 << 20, subdir=True)
        with env.begin(write=True) as txn:
            for k, v in records:
                txn.put(k, v)
        env.close()
        with open(os.path.join(d, "data.mdb"), "rb") as f:
            data = f.read()
    with open(os.path.join(HERE, "lmdb", name), "wb") as f:
        f.write(data)


def lmdb_seeds():
    x = np.arange(5 * 24, dtype=np.float32).reshape(5, 2, 3, 4)
    write_lmdb("three", [(b"00000000", npy(x[0])), (b"00000001", npy(x[1:4])), (b"00000002", npy(x[4:5]))])
    write_lmdb("uint8", [(b"a", npy(np.arange(24, dtype=np.uint8).reshape(2, 3, 4)))])
    write_lmdb("bad_record", [(b"00000000", npy(x[0])), (b"00000001", b"caffe datum!")])


def onnx_seed():
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 2, 4, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    w = numpy_helper.from_array(np.ones((2, 2, 3, 3), np.float32), "w")
    shp = numpy_helper.from_array(np.array([1, 2, 4, 4], np.int64), "shp")
    one = numpy_helper.from_array(np.array([1], np.int64), "one")
    cond = numpy_helper.from_array(np.array(True), "cond")
    then_g = helper.make_graph([helper.make_node("Identity", ["c"], ["t"])], "then", [],
                               [helper.make_tensor_value_info("t", TensorProto.FLOAT, None)])
    else_g = helper.make_graph([helper.make_node("Neg", ["c"], ["e"])], "else", [],
                               [helper.make_tensor_value_info("e", TensorProto.FLOAT, None)])
    nodes = [
        helper.make_node("ConstantOfShape", ["shp"], ["c"], value=helper.make_tensor("v", TensorProto.FLOAT, [1], [0.5])),
        helper.make_node("Shape", ["c"], ["s"]),
        helper.make_node("Gather", ["s", "one"], ["ch"], axis=0),
        helper.make_node("Concat", ["one", "ch", "one", "one"], ["rs"], axis=0),
        helper.make_node("Reshape", ["c", "shp"], ["c2"]),
        helper.make_node("If", ["cond"], ["b"], then_branch=then_g, else_branch=else_g),
        helper.make_node("Conv", ["x", "w"], ["conv"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["conv"], ["r"]),
        helper.make_node("Add", ["r", "c2"], ["a"]),
        helper.make_node("Mul", ["a", "b"], ["y"]),
    ]
    g = helper.make_graph(nodes, "fold", [x], [y], [w, shp, one, cond])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    onnx.save(m, os.path.join(HERE, "onnx", "fold.onnx"))


if __name__ == "__main__":
    lmdb_seeds()
    onnx_seed()
