#!/usr/bin/python3
"""Writes the generated seeds of tests/fuzz/corpus (the others are copies of test fixtures):
lmdb/ (small LMDB environments holding .npy records, as the seeds' lmdb_save writes them),
onnx/fold.onnx (shape arithmetic that constant folding evaluates, an If with subgraphs, a Conv) and
serve/ (requests to calib8 serve in fuzz-serve.c's format).

    make_seeds.py [lmdb] [onnx] [serve]      (default: all; lmdb and onnx need the lmdb and onnx modules)"""
import io
import os
import sys
import tempfile

import numpy as np

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def npy(a):
    b = io.BytesIO()
    np.save(b, a)
    return b.getvalue()


def write_lmdb(name, records):
    import lmdb
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
    import onnx
    from onnx import TensorProto, helper, numpy_helper
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


def serve_seeds():
    """fuzz-serve.c's input: a flag byte (model 0 identity [N,3], 1 two_inputs [2,3]+[2,3], 2 LeNet [N,1,28,28];
    4: a token; 8, 16: temporary_fail, waiting, finished; 32: the round has run; 64: the body in a c8_alloc buffer,
    run in place), the request line, headers, an empty line, the body."""
    d = os.path.join(HERE, "serve")
    os.makedirs(d, exist_ok=True)

    def req(name, flags, line, headers=(), body=b""):
        h = "".join("%s: %s\n" % kv for kv in headers)
        with open(os.path.join(d, name), "wb") as f:
            f.write(bytes([flags]) + ("%s\n%s\n" % (line, h)).encode() + body)

    rng = np.random.RandomState(0)
    x23 = npy(np.arange(6, dtype=np.float32).reshape(2, 3))
    octet = ("Content-Type", "application/octet-stream")
    req("state", 0, "GET /v1/state")
    req("state_token", 4, "GET /v1/state", [("Authorization", "Bearer s3cret")])
    req("state_bad_token", 4, "GET /v1/state", [("Authorization", "Bearer s3creT")])
    req("run_identity", 0, "POST /v1/run", [octet, ("X-Calib8-Round", "0"), ("Content-Length", len(x23))], x23)
    req("run_identity_batch0", 0, "POST /v1/run", [octet], npy(np.zeros((0, 3), np.float32)))
    req("run_identity_int64", 0, "POST /v1/run", [octet], npy(np.arange(6, dtype=np.int64).reshape(2, 3)))
    req("run_two", 1, "POST /v1/run", [octet], x23 + npy(-np.ones((2, 3), np.float32)))
    req("run_two_one", 1, "POST /v1/run", [octet], x23)
    req("run_lenet", 2, "POST /v1/run", [octet], npy(rng.randn(2, 1, 28, 28).astype(np.float32)))
    req("run_identity_in_place", 64, "POST /v1/run", [octet], x23)
    req("run_two_in_place", 65, "POST /v1/run", [octet], x23 + npy(-np.ones((2, 3), np.float32)))
    req("run_lenet_in_place", 66, "POST /v1/run", [octet], npy(rng.randn(3, 1, 28, 28).astype(np.float32)))
    req("run_lenet_shape", 2, "POST /v1/run", [octet], npy(rng.randn(1, 1, 28, 27).astype(np.float32)))
    req("run_stale_round", 0, "POST /v1/run", [("X-Calib8-Round", "7")], x23)
    req("run_waiting", 16, "POST /v1/run", [octet], x23)
    req("run_tempfail", 8, "POST /v1/run", [octet], x23)
    req("run_too_big", 0, "POST /v1/run", [("Content-Length", "99999999999")])
    req("report", 32, "POST /v1/report", [("Content-Type", "application/json")], b'{"round": 0, "score": 0.75}')
    req("report_before_run", 0, "POST /v1/report", [], b'{"round": 0, "score": 0.75}')
    req("report_finished", 24 + 32, "POST /v1/report", [], b'{"round": 0, "score": 1e308}')
    req("report_bad", 32, "POST /v1/report", [], b'{"round": "0", "score": [1]}')
    req("wrong_version", 0, "GET /v2/state")
    req("unknown", 0, "GET /index.html")
    req("method", 0, "PUT /v1/run", [], x23)


if __name__ == "__main__":
    which = sys.argv[1:] or ["lmdb", "onnx", "serve"]
    if "lmdb" in which:
        lmdb_seeds()
    if "onnx" in which:
        onnx_seed()
    if "serve" in which:
        serve_seeds()
