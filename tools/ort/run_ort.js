#!/usr/bin/env node
// Runs an ONNX model with ONNX Runtime (onnxruntime-node, CPU) on .npy inputs and writes each output as .npy.
// It makes the reference outputs for calib8's real-model tests and is the speed peer for benchmarks.
//
//   node tools/ort/run_ort.js MODEL.onnx -i NAME=in.npy [-i NAME2=b.npy ...] [-o OUTDIR]
//        [--threads N] [--repeat R] [--warmup W] [--quiet] [--save-optimized FILE.onnx]
//
// onnxruntime-node is taken from ${CALIB8_CACHE:-<repo>/.cache}/npm/node_modules (scripts/setup-data.sh puts it
// there) or else from NODE_PATH / the usual module search. Output files are OUTDIR/<name>.npy with every character
// of the output name outside [A-Za-z0-9._-] replaced by '_'. With a single-input model, `-i in.npy` (no NAME=)
// feeds that input. --threads N sets intraOpNumThreads=N (interOpNumThreads=1, sequential execution). Prints one
// line per output (name, dtype, shape, file), the latency of the timed runs, and a thread check (threads the
// session created, cores kept busy during the timed runs). --save-optimized writes the graph as ORT optimized it
// (which QDQ groups became QLinearConv etc.; level 'all' may add hardware-specific NCHWc nodes):
//   latency_ms min=0.812 median=0.840 runs=20 threads=1
//   threads_created=0 cpu_ms=17.1 wall_ms=16.9 busy_cores=1.01
'use strict';
const fs = require('fs');
const path = require('path');

function die(msg) {
  process.stderr.write(`run_ort: ${msg}\n`);
  process.exit(1);
}

function loadOrt() {
  const repo = path.resolve(__dirname, '..', '..');
  const cache = process.env.CALIB8_CACHE || path.join(repo, '.cache');
  const local = path.join(cache, 'npm', 'node_modules', 'onnxruntime-node');
  if (fs.existsSync(local)) return require(local);
  try {
    return require('onnxruntime-node');
  } catch (e) {
    die(`onnxruntime-node not found in ${local} nor on NODE_PATH: run scripts/setup-data.sh (${e.message})`);
  }
}

// ---- .npy ------------------------------------------------------------------------------------------------

// descr (without byte-order char) <-> ORT tensor type and typed array
const NPY_TYPES = {
  f4: { ort: 'float32', Array: Float32Array },
  i8: { ort: 'int64', Array: BigInt64Array },
  i4: { ort: 'int32', Array: Int32Array },
  i1: { ort: 'int8', Array: Int8Array },
  u1: { ort: 'uint8', Array: Uint8Array },
  b1: { ort: 'bool', Array: Uint8Array },
};
const ORT_TO_DESCR = { float32: '<f4', int64: '<i8', int32: '<i4', int8: '|i1', uint8: '|u1', bool: '|b1' };

function readNpy(file) {
  let buf;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    die(`cannot read ${file}: ${e.message}`);
  }
  const magic = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY
  if (buf.length < 10 || !buf.subarray(0, 6).equals(magic)) die(`${file} is not a .npy file (bad magic)`);
  const major = buf[6];
  let hlen, hstart;
  if (major === 1) {
    hlen = buf.readUInt16LE(8);
    hstart = 10;
  } else if (major === 2 || major === 3) {
    if (buf.length < 12) die(`${file} is truncated in its header`);
    hlen = buf.readUInt32LE(8);
    hstart = 12;
  } else {
    die(`${file} has .npy format version ${major}, only 1-3 are supported`);
  }
  if (hstart + hlen > buf.length) die(`${file} is truncated in its header`);
  const header = buf.toString(major === 3 ? 'utf8' : 'latin1', hstart, hstart + hlen);
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header);
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header);
  const shape = /'shape'\s*:\s*\(([^)]*)\)/.exec(header);
  if (!descr || !fortran || !shape) die(`${file} has a malformed .npy header: ${header.trim()}`);
  if (fortran[1] === 'True') die(`${file} is in Fortran order, only C order is supported`);
  const d = descr[1];
  const order = d[0];
  const kind = d.slice(1);
  const t = NPY_TYPES[kind];
  if (!t) die(`${file} has dtype '${d}', supported are float32, int64, int32, int8, uint8, bool`);
  if (order === '>' && t.Array.BYTES_PER_ELEMENT > 1) die(`${file} is big-endian ('${d}'), only little-endian is supported`);
  const dims = shape[1]
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => {
      const v = Number(s.replace(/L$/, ''));
      if (!Number.isInteger(v) || v < 0) die(`${file} has a bad dimension '${s}' in its shape`);
      return v;
    });
  const n = dims.reduce((a, b) => a * b, 1);
  const off = hstart + hlen;
  const nbytes = n * t.Array.BYTES_PER_ELEMENT;
  if (buf.length - off < nbytes) die(`${file} holds ${buf.length - off} data bytes, its shape needs ${nbytes}`);
  // copy into an aligned buffer of its own
  const ab = new ArrayBuffer(nbytes);
  new Uint8Array(ab).set(buf.subarray(off, off + nbytes));
  let data = new t.Array(ab);
  if (kind === 'b1') data = Uint8Array.from(data, (v) => (v ? 1 : 0));
  return { type: t.ort, dims, data };
}

function npyBytes(type, dims, data) {
  const descr = ORT_TO_DESCR[type];
  if (!descr) die(`output dtype ${type} cannot be written as .npy by this tool`);
  const shape = dims.length === 0 ? '()' : dims.length === 1 ? `(${dims[0]},)` : `(${dims.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const pre = Buffer.alloc(10);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]).copy(pre);
  pre.writeUInt16LE(header.length, 8);
  let body;
  if (type === 'bool') {
    body = Buffer.from(Uint8Array.from(data, (v) => (v ? 1 : 0)));
  } else {
    body = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  }
  return Buffer.concat([pre, Buffer.from(header, 'latin1'), body]);
}

function writeFileAtomic(file, bytes) {
  const tmp = `${file}.tmp${process.pid}`;
  fs.writeFileSync(tmp, bytes);
  fs.renameSync(tmp, file);
}

// ---- command line ----------------------------------------------------------------------------------------

function usage() {
  process.stdout.write(
    'usage: node tools/ort/run_ort.js MODEL.onnx -i NAME=in.npy [-i ...] [-o OUTDIR]\n' +
      '       [--threads N] [--repeat R] [--warmup W] [--quiet] [--save-optimized FILE.onnx]\n',
  );
}

function parseArgs(argv) {
  const a = { model: null, inputs: [], outdir: null, threads: 0, repeat: 1, warmup: 0, quiet: false, saveOpt: null };
  const intArg = (name, v, min) => {
    const n = Number(v);
    if (v === undefined || !Number.isInteger(n) || n < min) die(`${name} needs an integer >= ${min}, got '${v}'`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const s = argv[i];
    if (s === '-h' || s === '--help') {
      usage();
      process.exit(0);
    } else if (s === '-i' || s === '--input') {
      const v = argv[++i];
      if (v === undefined) die('-i needs NAME=file.npy');
      const eq = v.indexOf('=');
      if (eq < 0) a.inputs.push({ name: null, file: v });
      else a.inputs.push({ name: v.slice(0, eq), file: v.slice(eq + 1) });
    } else if (s === '-o' || s === '--output') {
      a.outdir = argv[++i];
      if (a.outdir === undefined) die('-o needs a directory');
    } else if (s === '--threads') a.threads = intArg(s, argv[++i], 0);
    else if (s === '--repeat') a.repeat = intArg(s, argv[++i], 1);
    else if (s === '--warmup') a.warmup = intArg(s, argv[++i], 0);
    else if (s === '--quiet') a.quiet = true;
    else if (s === '--save-optimized') {
      a.saveOpt = argv[++i];
      if (a.saveOpt === undefined) die('--save-optimized needs a file name');
    }
    else if (s.startsWith('-')) die(`unknown option ${s}`);
    else if (a.model === null) a.model = s;
    else die(`unexpected argument ${s}`);
  }
  if (a.model === null) {
    usage();
    process.exit(2);
  }
  return a;
}

function sanitize(name) {
  return name.replace(/[^A-Za-z0-9._-]/g, '_');
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const ort = loadOrt();
  // Sequential execution: nodes run one after another, each using the intra-op pool; the inter-op pool is unused,
  // so --threads N means N threads computing (the calling thread plus N-1 pool workers).
  const opts = { graphOptimizationLevel: 'all', executionProviders: ['cpu'], executionMode: 'sequential' };
  if (args.threads > 0) {
    opts.intraOpNumThreads = args.threads;
    opts.interOpNumThreads = 1;
  }
  if (args.saveOpt !== null) opts.optimizedModelFilePath = args.saveOpt;
  const tasks0 = countThreads();
  let session;
  try {
    session = await ort.InferenceSession.create(args.model, opts);
  } catch (e) {
    die(`cannot load ${args.model}: ${e.message}`);
  }
  const tasks1 = countThreads();
  const feeds = {};
  for (const inp of args.inputs) {
    let name = inp.name;
    if (name === null) {
      if (session.inputNames.length !== 1)
        die(`-i ${inp.file} has no NAME= and the model has ${session.inputNames.length} inputs (${session.inputNames.join(', ')})`);
      name = session.inputNames[0];
    }
    if (!session.inputNames.includes(name)) die(`the model has no input '${name}' (inputs: ${session.inputNames.join(', ')})`);
    const t = readNpy(inp.file);
    feeds[name] = new ort.Tensor(t.type, t.data, t.dims);
  }
  for (const n of session.inputNames) if (!(n in feeds)) die(`input '${n}' is not given (use -i ${n}=file.npy)`);

  for (let w = 0; w < args.warmup; w++) await session.run(feeds);
  const times = [];
  let results = null;
  const cpu0 = process.cpuUsage();
  const wall0 = process.hrtime.bigint();
  for (let r = 0; r < args.repeat; r++) {
    const t0 = process.hrtime.bigint();
    const res = await session.run(feeds);
    const t1 = process.hrtime.bigint();
    times.push(Number(t1 - t0) / 1e6);
    if (results === null) results = res;
  }
  const wallMs = Number(process.hrtime.bigint() - wall0) / 1e6;
  const cpu = process.cpuUsage(cpu0);
  const cpuMs = (cpu.user + cpu.system) / 1e3;
  if (args.outdir !== null) fs.mkdirSync(args.outdir, { recursive: true });
  for (const name of session.outputNames) {
    const t = results[name];
    const shape = `[${t.dims.join(',')}]`;
    let where = '';
    if (args.outdir !== null) {
      const file = path.join(args.outdir, `${sanitize(name)}.npy`);
      writeFileAtomic(file, npyBytes(t.type, t.dims, t.data));
      where = ` -> ${file}`;
    }
    if (!args.quiet) process.stdout.write(`output ${name} ${t.type} ${shape}${where}\n`);
  }
  const sorted = times.slice().sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  process.stdout.write(
    `latency_ms min=${sorted[0].toFixed(3)} median=${median.toFixed(3)} runs=${times.length} threads=${args.threads || 'default'}\n`,
  );
  // How many threads the session made (OS threads of this process, after minus before creating it) and how many
  // cores the timed runs kept busy (process CPU time / wall time): the check that --threads is what ORT uses.
  const made = tasks0 >= 0 && tasks1 >= 0 ? String(tasks1 - tasks0) : 'unknown';
  process.stdout.write(`threads_created=${made} cpu_ms=${cpuMs.toFixed(1)} wall_ms=${wallMs.toFixed(1)} ` +
    `busy_cores=${(cpuMs / wallMs).toFixed(2)}\n`);
  if (session.release) await session.release();
}

function countThreads() {
  try {
    return fs.readdirSync('/proc/self/task').length;
  } catch (e) {
    return -1;
  }
}

main().catch((e) => die(e && e.stack ? e.stack : String(e)));
