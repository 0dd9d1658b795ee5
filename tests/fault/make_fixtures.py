#!/usr/bin/python3
"""Writes the small fixture models and .npy files of the fault tests (tests/fault/fixtures/) and the
loader unit tests (tests/unit/fixtures/). The outputs are committed, so the tests need no Python;
rerun this after changing it:  /usr/bin/python3 tests/fault/make_fixtures.py

Only Identity and Constant nodes are used, so the fixtures load with the core operators alone."""
import os
import struct

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
FAULT = os.path.join(HERE, "fixtures")
UNIT = os.path.join(HERE, "..", "unit", "fixtures")
OPSET = [helper.make_opsetid("", 13)]


def model(nodes, inputs, outputs, initializers=(), name="fixture"):
    graph = helper.make_graph(nodes, name, inputs, outputs, initializer=list(initializers))
    m = helper.make_model(graph, opset_imports=OPSET, producer_name="calib8-fixtures")
    m.ir_version = 8
    return m


def save(m, path, check=True):
    if check:
        onnx.checker.check_model(m)
    with open(path, "wb") as f:
        f.write(m.SerializeToString())


def npy_bytes(header_dict, data, version=1):
    """A .npy image built by hand, so malformed variants can be written."""
    header = repr(header_dict).encode("latin1")
    total = 10 + len(header) + 1
    header += b" " * ((64 - total % 64) % 64) + b"\n"
    return b"\x93NUMPY" + bytes([version, 0]) + struct.pack("<H", len(header)) + header + data


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def fault_fixtures():
    os.makedirs(FAULT, exist_ok=True)
    f32 = TensorProto.FLOAT
    x_info = helper.make_tensor_value_info("x", f32, ["N", 3])
    y_info = helper.make_tensor_value_info("y", f32, ["N", 3])

    # identity.onnx: y = Identity(x), x declared [N, 3] float32.
    save(model([helper.make_node("Identity", ["x"], ["y"], name="copy")], [x_info], [y_info]),
         os.path.join(FAULT, "identity.onnx"))

    # two_inputs.onnx: y = Identity(a), z = Identity(b).
    save(model([helper.make_node("Identity", ["a"], ["y"], name="copy_a"),
                helper.make_node("Identity", ["b"], ["z"], name="copy_b")],
               [helper.make_tensor_value_info("a", f32, [2, 3]), helper.make_tensor_value_info("b", f32, [2, 3])],
               [helper.make_tensor_value_info("y", f32, [2, 3]), helper.make_tensor_value_info("z", f32, [2, 3])]),
         os.path.join(FAULT, "two_inputs.onnx"))

    # info.onnx: the `calib8 info` fixture: 2 Identity + 1 Constant, parameters 6 (w) + 4 (Constant) = 10.
    w = numpy_helper.from_array(np.arange(6, dtype=np.float32).reshape(2, 3), "w")
    c = helper.make_tensor("c_value", f32, [4], [1.0, 2.0, 3.0, 4.0])
    info = model([helper.make_node("Identity", ["x"], ["y"], name="copy_x"),
                  helper.make_node("Identity", ["w"], ["z"], name="copy_w"),
                  helper.make_node("Constant", [], ["c"], name="const_c", value=c)],
                 [x_info], [y_info, helper.make_tensor_value_info("z", f32, [2, 3]),
                            helper.make_tensor_value_info("c", f32, [4])], [w])
    save(info, os.path.join(FAULT, "info.onnx"))

    # big.onnx: a real model with a 4 KiB weight, so that its first 100 bytes cut through the graph.
    big_w = numpy_helper.from_array(np.linspace(-1, 1, 1024, dtype=np.float32), "weight")
    big = model([helper.make_node("Identity", ["x"], ["y"], name="copy_x"),
                 helper.make_node("Identity", ["weight"], ["w_out"], name="copy_weight")],
                [x_info], [y_info, helper.make_tensor_value_info("w_out", f32, [1024])], [big_w])
    save(big, os.path.join(FAULT, "big.onnx"))
    data = big.SerializeToString()
    write(os.path.join(FAULT, "truncated.onnx"), data[:100])

    # corrupt.onnx: random bytes (fixed seed).
    write(os.path.join(FAULT, "corrupt.onnx"), np.random.RandomState(1234).bytes(512))

    # unknown_op.onnx: node 'mystery_node' uses the operator 'FooBar'.
    save(model([helper.make_node("FooBar", ["x"], ["y"], name="mystery_node")], [x_info], [y_info]),
         os.path.join(FAULT, "unknown_op.onnx"), check=False)

    # undefined_input.onnx: node 'reads_ghost' reads 'ghost', which nothing defines.
    save(model([helper.make_node("Identity", ["ghost"], ["y"], name="reads_ghost")], [x_info], [y_info]),
         os.path.join(FAULT, "undefined_input.onnx"), check=False)

    # Inputs.
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    np.save(os.path.join(FAULT, "x.npy"), x)
    np.save(os.path.join(FAULT, "x_int64.npy"), x.astype(np.int64))
    np.save(os.path.join(FAULT, "x_wrongshape.npy"), np.zeros((2, 4), np.float32))
    good = npy_bytes({"descr": "<f4", "fortran_order": False, "shape": (2, 3)}, x.tobytes())
    write(os.path.join(FAULT, "bad_magic.npy"), b"\x93NUMPX" + good[6:])
    write(os.path.join(FAULT, "truncated_data.npy"), good[:-5])
    write(os.path.join(FAULT, "truncated_header.npy"), good[:40])
    write(os.path.join(FAULT, "fortran.npy"),
          npy_bytes({"descr": "<f4", "fortran_order": True, "shape": (2, 3)}, np.asfortranarray(x).tobytes("F")))
    write(os.path.join(FAULT, "f8.npy"), npy_bytes({"descr": "<f8", "fortran_order": False, "shape": (2, 3)},
                                                   x.astype(np.float64).tobytes()))
    write(os.path.join(FAULT, "c8.npy"), npy_bytes({"descr": "<c8", "fortran_order": False, "shape": (2, 3)},
                                                   x.astype(np.complex64).tobytes()))


def unit_fixtures():
    os.makedirs(UNIT, exist_ok=True)
    f32 = TensorProto.FLOAT

    # typed_fields.onnx: initializers in float_data, int64_data and int32_data (int8), none in raw_data.
    wf = helper.make_tensor("wf", f32, [2, 2], [1.5, -2.0, 3.25, 0.0])
    wi = helper.make_tensor("wi", TensorProto.INT64, [3], [7, -8, 1 << 40])
    wq = helper.make_tensor("wq", TensorProto.INT8, [4], [-128, -1, 0, 127])
    for t in (wf, wi, wq):
        assert not t.HasField("raw_data")
    typed = model([helper.make_node("Identity", ["wf"], ["of"], name="id_f"),
                   helper.make_node("Identity", ["wi"], ["oi"], name="id_i"),
                   helper.make_node("Identity", ["wq"], ["oq"], name="id_q")],
                  [], [helper.make_tensor_value_info("of", f32, [2, 2]),
                       helper.make_tensor_value_info("oi", TensorProto.INT64, [3]),
                       helper.make_tensor_value_info("oq", TensorProto.INT8, [4])], [wf, wi, wq])
    save(typed, os.path.join(UNIT, "typed_fields.onnx"))

    # external.onnx + external.data: every initializer in the external file (onnx 1.12 spells the option
    # all_tensors_to_one_file; size_threshold=0 moves even tiny tensors out).
    we = numpy_helper.from_array(np.arange(12, dtype=np.float32).reshape(3, 4) * 0.5, "we")
    be = numpy_helper.from_array(np.array([5, 6, 7], dtype=np.int64), "be")
    ext = model([helper.make_node("Identity", ["we"], ["owe"], name="id_we"),
                 helper.make_node("Identity", ["be"], ["obe"], name="id_be")],
                [], [helper.make_tensor_value_info("owe", f32, [3, 4]),
                     helper.make_tensor_value_info("obe", TensorProto.INT64, [3])], [we, be])
    data_path = os.path.join(UNIT, "external.data")
    if os.path.exists(data_path):
        os.remove(data_path)  # onnx appends to an existing file
    onnx.save_model(ext, os.path.join(UNIT, "external.onnx"), save_as_external_data=True,
                    all_tensors_to_one_file=True, location="external.data", size_threshold=0)

    # input_initializer.onnx: 'w' is both a graph input and an initializer (a default value); 'x' is a plain input.
    w = numpy_helper.from_array(np.array([1.0, 2.0, 3.0], dtype=np.float32), "w")
    both = model([helper.make_node("Identity", ["x"], ["y"], name="id_x"),
                  helper.make_node("Identity", ["w"], ["z"], name="id_w")],
                 [helper.make_tensor_value_info("x", f32, [3]), helper.make_tensor_value_info("w", f32, [3])],
                 [helper.make_tensor_value_info("y", f32, [3]), helper.make_tensor_value_info("z", f32, [3])], [w])
    save(both, os.path.join(UNIT, "input_initializer.onnx"))

    # shape_input.onnx: Reshape's target shape is a graph input (int64), then x * 2: the session binds 'shape'
    # by value at plan time and plans again when it changes.
    two = numpy_helper.from_array(np.array(2.0, dtype=np.float32), "two")
    shp = model([helper.make_node("Reshape", ["x", "shape"], ["r"], name="reshape"),
                 helper.make_node("Mul", ["r", "two"], ["y"], name="double")],
                [helper.make_tensor_value_info("x", f32, [6]),
                 helper.make_tensor_value_info("shape", TensorProto.INT64, [2])],
                [helper.make_tensor_value_info("y", f32, ["a", "b"])], [two])
    save(shp, os.path.join(UNIT, "shape_input.onnx"))


if __name__ == "__main__":
    fault_fixtures()
    unit_fixtures()
