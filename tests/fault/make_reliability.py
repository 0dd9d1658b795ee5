#!/usr/bin/python3
"""Writes the fixtures of the reliability regressions (issue 15) into tests/fault/fixtures/r15_*: inputs that
crashed calib8, made it allocate for nothing, or were accepted as data. The outputs are committed, so the tests
need no Python; rerun after changing it:  /usr/bin/python3 tests/fault/make_reliability.py"""
import io
import os
import shutil
import struct
import zipfile

import numpy as np
import onnx
import onnx.numpy_helper
from onnx import TensorProto, helper

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "fixtures")


def varint(v):
    out = b""
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def field(num, payload):
    """A length-delimited protobuf field."""
    return varint(num << 3 | 2) + varint(len(payload)) + payload


def deep_if_model(depth):
    """If nodes whose then_branch nests `depth` graphs deep (hand-encoded: Python's protobuf refuses the depth)."""
    graph = field(2, b"g")  # GraphProto.name
    for _ in range(depth):
        attr = field(1, b"then_branch") + varint(20 << 3) + varint(5) + field(6, graph)  # name, type=GRAPH, g
        node = field(1, b"c") + field(2, b"y") + field(4, b"If") + field(5, attr)
        graph = field(1, node) + field(2, b"g")
    model = varint(1 << 3) + varint(8) + field(8, varint(2 << 3) + varint(13)) + field(7, graph)
    return model


def save_model(m, name):
    with open(os.path.join(FIX, name), "wb") as f:
        f.write(m.SerializeToString())


def model(nodes, inputs, outputs, inits=()):
    g = helper.make_graph(nodes, "r15", inputs, outputs, initializer=list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)], producer_name="calib8-fixtures")
    m.ir_version = 8
    return m


def npy_header(descr, shape, hl_override=None):
    header = repr({"descr": descr, "fortran_order": False, "shape": shape}).encode("latin1")
    total = 10 + len(header) + 1
    header += b" " * ((64 - total % 64) % 64) + b"\n"
    hl = len(header) if hl_override is None else hl_override
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", hl) + header


def main():
    with open(os.path.join(FIX, "r15_deep_if.onnx"), "wb") as f:
        f.write(deep_if_model(3000))
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])
    w = helper.make_tensor("w", TensorProto.FLOAT, [3], [1.0, 2.0, 3.0])
    # an Identity with no outputs, on an initializer (crashed constant folding)
    save_model(model([helper.make_node("Identity", ["w"], [], name="dead"), helper.make_node("Identity", ["x"], ["y"])],
                     [x], [y], [w]), "r15_identity_no_output.onnx")
    # 16 bytes of raw_data for a declared 1e9-element tensor
    big = TensorProto(name="big", data_type=TensorProto.FLOAT, dims=[1000000000], raw_data=b"\0" * 16)
    save_model(model([helper.make_node("Identity", ["x"], ["y"])], [x], [y], [big]), "r15_huge_claim.onnx")
    # a graph without nodes: its output is its input
    save_model(model([], [x], [x]), "r15_no_nodes.onnx")
    # the same input declared twice
    save_model(model([helper.make_node("Identity", ["x"], ["y"])], [x, x], [y]), "r15_dup_input.onnx")
    # the same output declared twice (its dimension names leaked; found by tests/fuzz/fuzz-onnx)
    save_model(model([helper.make_node("Identity", ["x"], ["y"])], [x], [y, y]), "r15_dup_output.onnx")
    # a Conv without its weight input feeding a BatchNormalization: BN folding read past the Conv's inputs
    # (found by tests/fuzz/fuzz-onnx)
    x4 = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3])
    bn_p = [onnx.numpy_helper.from_array(np.ones(3, np.float32), nm) for nm in ("s", "b", "m", "v")]
    save_model(model([helper.make_node("Conv", ["x"], ["c"], name="weightless"),
                      helper.make_node("BatchNormalization", ["c", "s", "b", "m", "v"], ["y"])], [x4], [y], bn_p),
               "r15_conv_no_weight_bn.onnx")
    # a graph output nothing produces, beside a real one
    z = helper.make_tensor_value_info("z", TensorProto.FLOAT, ["N", 3])
    save_model(model([helper.make_node("Identity", ["x"], ["y"])], [x], [y, z]), "r15_dangling_output.onnx")
    # a node that writes a graph input
    save_model(model([helper.make_node("Identity", ["y0"], ["x"], name="writer"),
                      helper.make_node("Identity", ["x"], ["y"])],
                     [x, helper.make_tensor_value_info("y0", TensorProto.FLOAT, ["N", 3])], [y]),
               "r15_writes_input.onnx")
    # two outputs whose names map to the same file name
    y1 = helper.make_tensor_value_info("y/1", TensorProto.FLOAT, ["N", 3])
    y2 = helper.make_tensor_value_info("y_1", TensorProto.FLOAT, ["N", 3])
    save_model(model([helper.make_node("Identity", ["x"], ["y/1"]), helper.make_node("Identity", ["x"], ["y_1"])],
                     [x], [y1, y2]), "r15_colliding_outputs.onnx")
    # an .npz entry whose .npy header length is 0
    with zipfile.ZipFile(os.path.join(FIX, "r15_npz_hl0.npz"), "w") as z:
        z.writestr("x.npy", b"\x93NUMPY\x01\x00\x00\x00" + b"\0" * 64)
    # an .npz that is not a zip file
    with open(os.path.join(FIX, "r15_not_zip.npz"), "wb") as f:
        f.write(b"this is not a zip file\n")
    # NaN in calibration data
    data = np.ones((4, 3), np.float32)
    data[2, 1] = np.nan
    np.save(os.path.join(FIX, "r15_nan.npy"), data)
    # an LMDB of 200 records, then its data.mdb cut to a third
    import lmdb
    d = os.path.join(FIX, "r15_lmdb_truncated")
    shutil.rmtree(d, ignore_errors=True)
    env = lmdb.open(d, map_size=1 << 22)
    with env.begin(write=True) as txn:
        for i in range(200):
            buf = io.BytesIO()
            np.save(buf, np.full((1, 3), i, np.float32))
            txn.put(b"%08d" % i, buf.getvalue())
    env.close()
    os.remove(os.path.join(d, "lock.mdb"))
    mdb = os.path.join(d, "data.mdb")
    raw = open(mdb, "rb").read()
    open(mdb, "wb").write(raw[: len(raw) // 3])
    # found by tests/fuzz/fuzz-lmdb: liblmdb divides by the meta page's page size (SIGFPE when it is 0), and
    # follows a root page number past the end of the file (SIGBUS)
    psize = struct.unpack_from("<I", raw, 40)[0]
    for name, patch in (("r15_lmdb_psize0", lambda b: struct.pack_into("<I", b, 40, 0)),
                        ("r15_lmdb_bad_root", lambda b: [struct.pack_into("<Q", b, m * psize + 128, len(raw) // psize + 5)
                                                         for m in (0, 1)])):
        b = bytearray(raw)
        patch(b)
        os.makedirs(os.path.join(FIX, name), exist_ok=True)
        open(os.path.join(FIX, name, "data.mdb"), "wb").write(bytes(b))
    # a PNG 40000 x 1 (resize_side=65536 overflowed an int) and a JPEG header declaring 16384 x 16384 in 1 KB
    from PIL import Image
    Image.new("L", (40000, 1), 128).save(os.path.join(FIX, "r15_wide.png"))
    buf = io.BytesIO()
    Image.new("L", (16, 16), 100).save(buf, "JPEG")
    j = bytearray(buf.getvalue())
    sof = j.index(b"\xff\xc0")
    struct.pack_into(">HH", j, sof + 5, 16384, 16384)
    open(os.path.join(FIX, "r15_huge.jpg"), "wb").write(bytes(j))
    # a JPEG cut at 30 % of its scan data, closed with an end-of-image marker (was decoded with gray fill)
    rng = np.random.default_rng(1)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (28, 28), np.uint8)).save(buf, "JPEG", quality=95)
    j = buf.getvalue()
    sos = j.index(b"\xff\xda")
    scan_len = len(j) - 2 - sos
    os.makedirs(os.path.join(FIX, "r15_cut_jpeg"), exist_ok=True)
    open(os.path.join(FIX, "r15_cut_jpeg", "cut.jpg"), "wb").write(j[: sos + int(scan_len * 0.3)] + b"\xff\xd9")


if __name__ == "__main__":
    main()
