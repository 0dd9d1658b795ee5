#!/usr/bin/python3
"""Checks the artifacts of `calib8 quantize` (used by artifacts.sh). Each subcommand prints what it checked and
exits 1 with the reason on the first failure.

  table TABLE JSON QDQ.onnx       calibration table: header, sorted `tensor threshold min max` lines, the same
                                  tensors and thresholds as the JSON summary, and the QDQ model's activation
                                  scales/zero points derived from them (T/127 with zero point 0, T/255 with -128)
  trt TRT TABLE                   TensorRT cache: "TRT-8601-EntropyCalibration2", then `name: 8 hex digits`,
                                  the big-endian bits of float32(threshold) / 127, for the table's tensors
  json JSON QDQ.onnx ORIG.onnx    summary fields: method, tensors[], layers[] (one per original node),
                                  mapping[] (one per QDQ node, each with "origin": a node name or null),
                                  macs.int8_fraction = int8 / total
  weights QDQ.onnx NODE=int8|float ...      how each node's weight input arrives
  scales QDQ.onnx NODE=per-channel|per-tensor ...   the shape of each node's weight scale
  activations QDQ.onnx symmetric|asymmetric   activation zero points: uint8; 0 or 128 when symmetric
  qtable QTABLE NODE=INT8|F32 ... the precision written for each node
  hits OUT.npy LABELS             prints the top-1 hits of scores against bare labels (one per line)
  macs ORIG.onnx                  prints the per-sample multiply-accumulates of its Conv and Gemm nodes
  field JSON PATH                 prints a JSON field (PATH like metrics.int8)
"""
import json
import re
import struct
import sys

import numpy as np


def fail(msg):
    print(f'check_artifacts: {msg}')
    sys.exit(1)


def load_model(path):
    import onnx
    from onnx import numpy_helper
    m = onnx.load(path)
    inits = {i.name: numpy_helper.to_array(i) for i in m.graph.initializer}
    return m, inits


def read_table(path):
    lines = open(path).read().split('\n')
    if lines[-1] != '':
        fail(f'{path}: does not end with a newline')
    lines = lines[:-1]
    header = [l for l in lines if l.startswith('#')]
    body = [l for l in lines if not l.startswith('#')]
    if not lines[0].startswith('# calib8 ') or '# tensor threshold min max' not in header:
        fail(f'{path}: header missing: {header}')
    if lines[:len(header)] != header:
        fail(f'{path}: comment lines after the data')
    rows = []
    for l in body:
        f = l.split(' ')
        if len(f) != 4:
            fail(f'{path}: line {l!r} is not `tensor threshold min max`')
        t, lo, hi = (np.float32(float(x)) for x in f[1:])
        if not (np.isfinite(t) and t > 0 and lo <= hi and t <= max(abs(lo), abs(hi))):
            fail(f'{path}: line {l!r}: want 0 < threshold <= max(|min|, |max|) and min <= max')
        rows.append((f[0], t, lo, hi))
    names = [r[0] for r in rows]
    if names != sorted(names, key=lambda s: s.encode()):
        fail(f'{path}: tensors are not sorted by name')
    if not rows:
        fail(f'{path}: no tensors')
    return rows


def cmd_table(table, js, qdq):
    rows = read_table(table)
    d = json.load(open(js))
    tens = {t['name']: t for t in d['tensors']}
    if set(tens) != {r[0] for r in rows}:
        fail(f'table and JSON list different tensors: {sorted(set(tens) ^ {r[0] for r in rows})}')
    _, inits = load_model(qdq)
    for name, t, lo, hi in rows:
        j = tens[name]
        if np.float32(j['threshold']) != t or np.float32(j['min']) != lo or np.float32(j['max']) != hi:
            fail(f'{name}: table {t} {lo} {hi} vs JSON {j["threshold"]} {j["min"]} {j["max"]}')
        s, zp = inits.get(name + '_scale'), inits.get(name + '_zero_point')
        if s is None or zp is None:
            fail(f'{name}: the QDQ model has no {name}_scale / {name}_zero_point initializer')
        if s.shape != () or zp.shape != ():
            fail(f'{name}: activation scale/zero point must be scalars, got {s.shape} {zp.shape}')
        # symmetric: T/255 over [0, T] (uint8 zero point 0; int8 -128) or T/127 over [-T, T] (uint8 128; int8 0)
        z = int(zp)
        if (zp.dtype, z) in ((np.uint8, 0), (np.int8, -128)):
            want = t / np.float32(255)
            if lo < 0:
                fail(f'{name}: zero point {z} ({zp.dtype}) leaves no room for min {lo}')
        elif (zp.dtype, z) in ((np.uint8, 128), (np.int8, 0)):
            want = t / np.float32(127)
        else:
            fail(f'{name}: zero point {z} ({zp.dtype}) is not symmetric')
        if np.float32(s) != want:
            fail(f'{name}: scale {s!r} is not threshold {t!r} / {255 if want != t / np.float32(127) else 127}')
        if j['dtype'] != str(zp.dtype):
            fail(f'{name}: JSON dtype {j["dtype"]}, model {zp.dtype}')
        if np.float32(j['scale']) != np.float32(s) or j['zero_point'] != int(zp):
            fail(f'{name}: JSON scale/zero point {j["scale"]} {j["zero_point"]} vs model {s} {int(zp)}')
    print(f'table: {len(rows)} tensors; thresholds, min/max, scales and zero points agree with the JSON and the model')


def cmd_trt(trt, table):
    rows = read_table(table)
    lines = open(trt).read().split('\n')
    if lines[0] != 'TRT-8601-EntropyCalibration2' or lines[-1] != '':
        fail(f'{trt}: first line {lines[0]!r}, or no final newline')
    body = lines[1:-1]
    if len(body) != len(rows):
        fail(f'{trt}: {len(body)} entries, table has {len(rows)}')
    for l, (name, t, _, _) in zip(body, rows):
        m = re.fullmatch(r'(.+): ([0-9a-f]{8})', l)
        if not m or m.group(1) != name:
            fail(f'{trt}: line {l!r}, expected `{name}: <8 hex digits>`')
        s = np.float32(struct.unpack('>f', bytes.fromhex(m.group(2)))[0])
        if s != t / np.float32(127):
            fail(f'{trt}: {name}: {s!r} is not threshold {t!r} / 127 = {t / np.float32(127)!r}')
    print(f'trt: {len(body)} entries equal threshold / 127')


def cmd_json(js, qdq, orig):
    d = json.load(open(js))
    for k in ('method', 'weights', 'granularity', 'activations', 'tensors', 'layers', 'mapping', 'macs'):
        if k not in d:
            fail(f'{js}: no "{k}"')
    if d['method'] not in ('max', 'kl', 'percentile', 'mse', 'aciq'):
        fail(f'method {d["method"]!r}')
    for t in d['tensors']:
        for k in ('name', 'threshold', 'scale', 'zero_point', 'dtype'):
            if k not in t:
                fail(f'tensor {t} has no "{k}"')
    import onnx
    q, o = onnx.load(qdq), onnx.load(orig)
    onames = [n.name for n in o.graph.node]
    if [l['name'] for l in d['layers']] != onames:
        fail('layers[] are not the original model\'s nodes in order')
    for l, n in zip(d['layers'], o.graph.node):
        if l['op'] != n.op_type or l['precision'] not in ('INT8', 'F32') or l.get('origin') != n.name:
            fail(f'layer {l} (original op {n.op_type})')
    qnodes = list(q.graph.node)
    mp = d['mapping']
    if len(mp) != len(qnodes):
        fail(f'mapping[] has {len(mp)} entries, the QDQ model {len(qnodes)} nodes')
    graph_inputs = {i.name for i in q.graph.input}
    for e, n in zip(mp, qnodes):
        if e['node'] != n.name or e['op'] != n.op_type:
            fail(f'mapping entry {e} is not QDQ node {n.name} ({n.op_type})')
        if 'origin' not in e:
            fail(f'mapping entry {e} has no "origin"')
        org = e['origin']
        if org is not None and org not in onames:
            fail(f'mapping entry {e}: origin is not a node of the original model')
        if n.name in onames and org != n.name:
            fail(f'original node {n.name} maps to {org}')
        if n.op_type in ('QuantizeLinear', 'DequantizeLinear'):
            from_input = n.input[0] in graph_inputs or any(
                p.op_type == 'QuantizeLinear' and p.output[0] == n.input[0] and p.input[0] in graph_inputs
                for p in qnodes)
            if org is None and not from_input:
                fail(f'{n.name}: a Q/DQ node of a computed tensor has origin null')
    m = d['macs']
    frac = m['int8_fraction']
    if not (m['total'] > 0 and 0 <= m['int8'] <= m['total'] and abs(frac - m['int8'] / m['total']) < 1e-12):
        fail(f'macs {m}')
    n_int8 = sum(l['precision'] == 'INT8' for l in d['layers'])
    print(f'json: method {d["method"]}, {len(d["tensors"])} tensors, {len(d["layers"])} layers ({n_int8} INT8), '
          f'{len(mp)} mapping entries, int8 MAC fraction {frac:.4f}')


def weight_input(m, inits, node):
    nodes = {n.name: n for n in m.graph.node}
    if node not in nodes:
        fail(f'the QDQ model has no node {node}')
    w = nodes[node].input[1]
    prod = [n for n in m.graph.node if w in n.output]
    return w, prod[0] if prod else None


def cmd_weights(qdq, specs):
    m, inits = load_model(qdq)
    for spec in specs:
        node, want = spec.split('=')
        w, prod = weight_input(m, inits, node)
        if want == 'float':
            ok = prod is None and w in inits and inits[w].dtype == np.float32
        else:
            ok = prod is not None and prod.op_type == 'DequantizeLinear' and prod.input[0] in inits and \
                inits[prod.input[0]].dtype == np.int8
        if not ok:
            fail(f'{node}: weight input {w!r} (from {prod.op_type if prod else "an initializer"}) is not {want}')
    print(f'weights: {" ".join(specs)}')


def cmd_scales(qdq, specs):
    m, inits = load_model(qdq)
    for spec in specs:
        node, want = spec.split('=')
        w, prod = weight_input(m, inits, node)
        if prod is None or prod.op_type != 'DequantizeLinear':
            fail(f'{node}: weights are not quantized')
        s, wq = inits[prod.input[1]], inits[prod.input[0]]
        axis = [a.i for a in prod.attribute if a.name == 'axis']
        per_channel = s.ndim == 1 and s.size > 1
        if (want == 'per-channel') != per_channel:
            fail(f'{node}: weight scale shape {s.shape}, want {want}')
        if per_channel and (not axis or s.size != wq.shape[axis[0]]):
            fail(f'{node}: {s.size} scales along axis {axis} of weights {wq.shape}')
        if np.abs(wq.astype(np.int32)).max() > 127:
            fail(f'{node}: weights use -128 (must stay in [-127, 127])')
    print(f'scales: {" ".join(specs)}')


def cmd_activations(qdq, mode):
    m, inits = load_model(qdq)
    weights = {n.input[2] for n in m.graph.node if n.op_type == 'DequantizeLinear' and n.input[0] in inits}
    zps = {k: inits[k] for k in inits if k.endswith('_zero_point') and k not in weights}
    if not zps or any(z.dtype != np.uint8 or z.shape != () for z in zps.values()):
        fail(f'activation zero points must be uint8 scalars: {[(k, z.dtype) for k, z in zps.items()]}')
    other = sorted(k for k, z in zps.items() if int(z) not in (0, 128))
    if mode == 'symmetric' and other:
        fail(f'symmetric activations with zero points other than 0 and 128: {other}')
    if mode == 'asymmetric' and not other:
        fail('asymmetric activations, yet every zero point is 0 or 128')
    print(f'activations: {len(zps)} uint8 zero points, {mode}')


def cmd_qtable(path, specs):
    got = {}
    for l in open(path):
        l = l.split('#')[0].split()
        if l:
            got[l[0]] = l[1]
    for spec in specs:
        node, want = spec.split('=')
        if got.get(node) != want:
            fail(f'{path}: {node} is {got.get(node)}, want {want}')
    print(f'qtable: {" ".join(specs)}')


def cmd_hits(out, labels):
    y = np.load(out)
    lab = np.array([int(l) for l in open(labels) if l.strip()])
    print(int((y.argmax(1) == lab).sum()))


def cmd_macs(orig):
    """Per-sample multiply-accumulates of the Conv and Gemm nodes, from ONNX shape inference."""
    import onnx
    from onnx import numpy_helper, shape_inference
    m = shape_inference.infer_shapes(onnx.load(orig))
    shapes = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim]
              for v in list(m.graph.value_info) + list(m.graph.output)}
    w = {i.name: numpy_helper.to_array(i).shape for i in m.graph.initializer}
    total = 0
    for n in m.graph.node:
        if n.op_type == 'Conv':  # output elements x (C_in / group) x kernel
            total += int(np.prod(shapes[n.output[0]][1:])) * int(np.prod(w[n.input[1]][1:]))
        elif n.op_type == 'Gemm':
            total += int(np.prod(w[n.input[1]]))
        elif n.op_type in ('MatMul', 'ConvTranspose'):
            fail(f'macs: {n.op_type} is not counted by this check')
    print(total)


def cmd_field(js, path):
    v = json.load(open(js))
    for k in path.split('.'):
        v = v[k]
    print(v)


if __name__ == '__main__':
    a = sys.argv[1:]
    cmds = {'table': lambda: cmd_table(*a[1:4]), 'trt': lambda: cmd_trt(*a[1:3]), 'json': lambda: cmd_json(*a[1:4]),
            'weights': lambda: cmd_weights(a[1], a[2:]), 'scales': lambda: cmd_scales(a[1], a[2:]),
            'activations': lambda: cmd_activations(a[1], a[2]), 'qtable': lambda: cmd_qtable(a[1], a[2:]),
            'hits': lambda: cmd_hits(a[1], a[2]), 'macs': lambda: cmd_macs(a[1]), 'field': lambda: cmd_field(a[1], a[2])}
    if not a or a[0] not in cmds:
        fail(f'usage: see the docstring; got {a}')
    cmds[a[0]]()
