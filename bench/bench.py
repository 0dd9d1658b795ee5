#!/usr/bin/python3
"""calib8 benchmarks against ONNX Runtime; writes bench/RESULTS.md. Run it through bench/run.sh, which builds
calib8, prepares the data and then calls this script with the same options:

    bash bench/run.sh [--quick] [--rounds N] [--threads 1,2] [--only REGEX] [--skip-latency] [--skip-gflops]
                      [--skip-quant] [--out FILE]

  --quick         2 rounds and about a third of the timed work per run: a smoke run (~3 min), not for the record
  --rounds N      alternating calib8/ORT rounds per case (default 5)
  --threads LIST  thread counts (default 1,2)
  --only REGEX    latency/GFLOP/s cases whose name matches (e.g. 'ppocr'); sections are still all written
  --skip-latency, --skip-gflops, --skip-quant   leave a section out
  --out FILE      where to write the report (default bench/RESULTS.md); raw numbers go to .cache/bench/raw.json

Method. Each case runs `calib8 run` and `node tools/ort/run_ort.js` (ONNX Runtime 1.30, intraOpNumThreads=T,
interOpNumThreads=1, sequential execution) as separate processes on the same .npy input, alternating
calib8, ORT, calib8, ORT, ... for --rounds rounds. Each process does R timed runs (no warm-up run, R >= 5 so the
median skips the first, cold run) and prints its median; a case's figure is the median of the per-round medians.
R is chosen per case from a short probe so one process times about 0.4 s of work.
"""
import argparse
import datetime
import json
import math
import os
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.environ.get('CALIB8_CACHE', os.path.join(REPO, '.cache'))
BENCH = os.path.join(CACHE, 'bench')
MODELS = os.path.join(CACHE, 'models')
BUILD = os.environ.get('CALIB8_BUILD', os.path.join(REPO, 'build'))
CALIB8 = os.path.join(BUILD, 'calib8')
PEAK = os.path.join(BUILD, 'peak')
RUN_ORT = os.path.join(REPO, 'tools', 'ort', 'run_ort.js')
FMNIST = os.path.join(CACHE, 'fmnist')

PP_RESNET8 = 'resize_h=32,resize_w=32;mean_value=123.675:116.28:103.53,std_value=58.395:57.12:57.375'


def rel(p):
    return os.path.relpath(p, REPO)


# ---- cases ----------------------------------------------------------------------------------------------------

def latency_cases():
    c = []
    for m, name in (('fmnist_lenet', 'input'), ('fmnist_resnet8', 'input'), ('fmnist_yolo', 'images')):
        for b in (1, 32):
            c.append(dict(name=f'{m} b{b}', model=os.path.join(REPO, 'models', f'{m}.onnx'), input=name,
                          npy=os.path.join(BENCH, f'{m}_b{b}.npy')))
    c.append(dict(name='ppocr_cls', model=os.path.join(MODELS, 'ch_ppocr_mobile_v2.0_cls_infer.onnx'), input='x',
                  npy=os.path.join(BENCH, 'ppocr_cls_b8.npy')))
    c.append(dict(name='ppocr_rec', model=os.path.join(MODELS, 'ch_PP-OCRv4_rec_infer.onnx'), input='x',
                  npy=os.path.join(BENCH, 'ppocr_rec_b8.npy')))
    c.append(dict(name='ppocr_det', model=os.path.join(MODELS, 'ch_PP-OCRv4_det_infer.onnx'), input='x',
                  npy=os.path.join(BENCH, 'ppocr_det_b1.npy')))
    return c


def gflops_cases():
    return [
        dict(name='conv3x3', what='Conv 1x64x112x112 -> 64, 3x3, pad 1', flop=2 * 64 * 64 * 9 * 112 * 112,
             model=os.path.join(BENCH, 'conv3x3.onnx'), input='x', npy=os.path.join(BENCH, 'conv3x3_in.npy')),
        # the same with calib8's direct convolution (its Winograd path counts fewer real FLOPs)
        dict(name='conv3x3_direct', what='Conv 1x64x112x112 -> 64, 3x3, pad 1 (calib8: CALIB8_WINOGRAD=0)',
             flop=2 * 64 * 64 * 9 * 112 * 112, env={'CALIB8_WINOGRAD': '0'},
             model=os.path.join(BENCH, 'conv3x3.onnx'), input='x', npy=os.path.join(BENCH, 'conv3x3_in.npy')),
        dict(name='gemm1024', what='MatMul 1024x1024 x 1024x1024', flop=2 * 1024 ** 3,
             model=os.path.join(BENCH, 'gemm1024.onnx'), input='a', npy=os.path.join(BENCH, 'gemm1024_in.npy')),
    ]


# ---- running ----------------------------------------------------------------------------------------------------

class Fail(Exception):
    pass


def run(cmd, timed=False, env=None):
    """Runs cmd (with these extra environment variables); returns (stdout, wall s, user+sys s of the process)."""
    with tempfile.NamedTemporaryFile('r', suffix='.time', dir=BENCH) as tf:
        full = ['/usr/bin/time', '-f', '%e %U %S', '-o', tf.name] + cmd if timed else cmd
        t0 = time.perf_counter()
        p = subprocess.run(full, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           env=dict(os.environ, **env) if env else None)
        wall = time.perf_counter() - t0
        if p.returncode != 0:
            raise Fail(f'`{" ".join(shlex.quote(x) for x in cmd)}` exited with {p.returncode}: {p.stderr.strip()[-800:]}')
        cpu = None
        if timed:
            f = tf.read().split()
            cpu = float(f[1]) + float(f[2])
        return p.stdout, wall, cpu, p.stderr


def calib8_run(case, threads, repeat, outdir):
    out, wall, cpu, _ = run([CALIB8, 'run', case['model'], '-i', f'{case["input"]}={case["npy"]}', '-o', outdir,
                             '--threads', str(threads), '--repeat', str(repeat)], timed=True, env=case.get('env'))
    m = re.search(r'latency over (\d+) runs?: min ([\d.]+) ms, median ([\d.]+) ms', out)
    if not m:
        raise Fail(f'calib8 run printed no latency line: {out[-300:]}')
    sub = re.search(r'ran as (\d+) sub-batches of (\d+)', out)
    return dict(min=float(m.group(2)), median=float(m.group(3)), busy=cpu / wall if wall > 0 else None,
                split=f'{sub.group(1)} × {sub.group(2)}' if sub else '—')


def ort_run(model, input_name, npy, threads, repeat, outdir, save_optimized=None):
    cmd = ['node', RUN_ORT, model, '-i', f'{input_name}={npy}', '--threads', str(threads), '--repeat', str(repeat),
           '--quiet']
    if outdir:
        cmd += ['-o', outdir]
    if save_optimized:
        cmd += ['--save-optimized', save_optimized]
    out, _, _, _ = run(cmd)
    m = re.search(r'latency_ms min=([\d.]+) median=([\d.]+) runs=(\d+) threads=(\S+)', out)
    t = re.search(r'threads_created=(\S+) cpu_ms=([\d.]+) wall_ms=([\d.]+) busy_cores=([\d.]+)', out)
    if not m or not t:
        raise Fail(f'run_ort.js printed no latency/thread line: {out[-300:]}')
    if m.group(4) != str(threads):
        raise Fail(f'run_ort.js ran with threads={m.group(4)}, asked for {threads}')
    made = int(t.group(1)) if t.group(1).lstrip('-').isdigit() else None
    return dict(min=float(m.group(1)), median=float(m.group(2)), busy=float(t.group(4)), threads_created=made)


def out_diff(dir_a, dir_b):
    """max |a - b| / max |b| over the outputs both engines wrote (same file names)."""
    worst = 0.0
    names = sorted(f for f in os.listdir(dir_b) if f.endswith('.npy'))
    if not names:
        return None
    for f in names:
        pa = os.path.join(dir_a, f)
        if not os.path.exists(pa):
            return None
        a = np.load(pa).astype(np.float64)
        b = np.load(os.path.join(dir_b, f)).astype(np.float64)
        if a.shape != b.shape:
            return float('inf')
        scale = max(np.abs(b).max(), 1e-30)
        worst = max(worst, float(np.abs(a - b).max() / scale))
    return worst


def pick_repeat(case, threads, target_s, min_r, max_r, outdir):
    """Probe both engines with 3 runs; R so the slower one times about target_s per process."""
    a = calib8_run(case, threads, 3, os.path.join(outdir, 'c8'))
    b = ort_run(case['model'], case['input'], case['npy'], threads, 3, os.path.join(outdir, 'ort'))
    slow = max(a['median'], b['median']) / 1e3
    return max(min_r, min(max_r, int(math.ceil(target_s / max(slow, 1e-6))))), out_diff(
        os.path.join(outdir, 'c8'), os.path.join(outdir, 'ort'))


def bench_case(case, threads, args, log):
    outdir = os.path.join(BENCH, 'out', re.sub(r'[^A-Za-z0-9_]+', '_', case['name']) + f'_t{threads}')
    os.makedirs(outdir, exist_ok=True)
    repeat, diff = pick_repeat(case, threads, args.target, args.min_repeat, args.max_repeat, outdir)
    c8, ort = [], []
    for r in range(args.rounds):
        c8.append(calib8_run(case, threads, repeat, os.path.join(outdir, 'c8')))
        ort.append(ort_run(case['model'], case['input'], case['npy'], threads, repeat, None))
    res = dict(name=case['name'], threads=threads, repeat=repeat, rounds=args.rounds, diff=diff,
               shape=list(np.load(case['npy'], mmap_mode='r').shape),
               c8_medians=[x['median'] for x in c8], ort_medians=[x['median'] for x in ort],
               c8_mins=[x['min'] for x in c8], ort_mins=[x['min'] for x in ort],
               c8_busy=statistics.median(x['busy'] for x in c8), ort_busy=statistics.median(x['busy'] for x in ort),
               ort_threads_created=sorted(set(x['threads_created'] for x in ort), key=str),
               c8_split=c8[0]['split'])
    res['c8'] = statistics.median(res['c8_medians'])
    res['ort'] = statistics.median(res['ort_medians'])
    log(f'  {case["name"]:<18} t={threads} R={repeat:<3} calib8 {res["c8"]:9.3f} ms  ORT {res["ort"]:9.3f} ms  '
        f'ratio {res["c8"] / res["ort"]:6.2f}  busy {res["c8_busy"]:.2f}/{res["ort_busy"]:.2f}')
    return res


# ---- issue 5: quantization benchmarks -----------------------------------------------------------------------------

def quantize_cmd(limit, threads, out, method='kl'):
    return [CALIB8, 'quantize', os.path.join(REPO, 'models', 'fmnist_resnet8.onnx'), '--calib',
            os.path.join(FMNIST, 'calib'), '--preprocess', PP_RESNET8, '--limit', str(limit), '--method', method,
            '--batch', '32', '--threads', str(threads), '--quiet', '-o', out]


def eval_cmd(limit, threads):
    return [CALIB8, 'eval', os.path.join(REPO, 'models', 'fmnist_resnet8.onnx'), '--data',
            os.path.join(FMNIST, 'calib'), '--labels', os.path.join(BENCH, 'calib_labels.txt'), '--preprocess',
            PP_RESNET8, '--limit', str(limit), '--batch', '32', '--threads', str(threads)]


def parse_calib(out):
    m = re.search(r'calibrated on (\d+) samples in ([\d.]+) s', out)
    if not m:
        raise Fail(f'calib8 quantize printed no "calibrated on" line: {out[-300:]}')
    return int(m.group(1)), float(m.group(2))


def stats_overhead(threads_list, rounds, log):
    rows = []
    qdq = os.path.join(BENCH, 'fmnist_resnet8_kl500.onnx')
    for t in threads_list:
        cal, ev, qwall = [], [], []
        for r in range(rounds):
            out, wall, _, _ = run(quantize_cmd(500, t, qdq))
            n, s = parse_calib(out)
            if n != 500:
                raise Fail(f'quantize calibrated on {n} samples, expected 500')
            cal.append(s)
            qwall.append(wall)
            out, wall, _, _ = run(eval_cmd(500, t))
            if not re.search(r'\(\d+ of 500 samples\)', out):
                raise Fail(f'eval did not score 500 samples: {out.strip()}')
            ev.append(wall)
        row = dict(threads=t, calib_s=cal, eval_s=ev, quantize_wall_s=qwall, calib=statistics.median(cal),
                   eval=statistics.median(ev), ratios=[a / b for a, b in zip(cal, ev)])
        row['ratio'] = row['calib'] / row['eval']
        log(f'  stats overhead t={t}: calibration {row["calib"]:.3f} s, FP32 eval {row["eval"]:.3f} s, '
            f'ratio {row["ratio"]:.2f}')
        rows.append(row)
    return rows, qdq


def peak_rss(limit, out):
    with tempfile.NamedTemporaryFile('r', suffix='.time', dir=BENCH) as tf:
        cmd = ['/usr/bin/time', '-v', '-o', tf.name] + quantize_cmd(limit, 1, out)
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if p.returncode != 0:
            raise Fail(f'quantize --limit {limit} failed: {p.stderr.strip()[-500:]}')
        m = re.search(r'Maximum resident set size \(kbytes\): (\d+)', tf.read())
    n, s = parse_calib(p.stdout)
    return dict(limit=limit, samples=n, rss_kib=int(m.group(1)), calib_s=s)


def memory(rounds, log):
    res = []
    out = os.path.join(BENCH, 'mem_q.onnx')
    for r in range(max(1, min(rounds, 3))):
        for lim in (100, 2000):
            res.append(peak_rss(lim, out))
    by = {lim: [x for x in res if x['limit'] == lim] for lim in (100, 2000)}
    row = {lim: dict(samples=by[lim][0]['samples'], rss_kib=max(x['rss_kib'] for x in by[lim]),
                     rss_all=[x['rss_kib'] for x in by[lim]], calib_s=statistics.median(x['calib_s'] for x in by[lim]))
           for lim in by}
    log(f'  peak RSS: --limit 100 {row[100]["rss_kib"]} KiB, --limit 2000 {row[2000]["rss_kib"]} KiB')
    return row


def qdq_latency(qdq, threads_list, rounds, log):
    fp32 = os.path.join(REPO, 'models', 'fmnist_resnet8.onnx')
    npy = os.path.join(BENCH, 'fmnist_resnet8_b32.npy')
    rows = []
    # top-1 agreement of the QDQ model with the FP32 model (ORT both), on the 32 test images
    d_fp, d_q = os.path.join(BENCH, 'out', 'qdq_fp32'), os.path.join(BENCH, 'out', 'qdq_int8')
    ort_run(fp32, 'input', npy, 1, 1, d_fp)
    opt = os.path.join(BENCH, 'out', 'qdq_ort_optimized.onnx')
    ort_run(qdq, 'input', npy, 1, 1, d_q, save_optimized=opt)
    import collections
    import onnx
    ops_in = collections.Counter(n.op_type for n in onnx.load(qdq).graph.node)
    ops_opt = collections.Counter(n.op_type for n in onnx.load(opt).graph.node)
    a = np.load(os.path.join(d_fp, 'logits.npy')).argmax(1)
    b = np.load(os.path.join(d_q, 'logits.npy')).argmax(1)
    agree = int((a == b).sum())
    c8_fp32 = dict(model=fp32, input='input', npy=npy)
    c8_qdq = dict(model=qdq, input='input', npy=npy)
    out = os.path.join(BENCH, 'out', 'qdq_c8')
    for t in threads_list:
        f, q, cf, cq = [], [], [], []
        for r in range(rounds):
            f.append(ort_run(fp32, 'input', npy, t, 50, None)['median'])
            q.append(ort_run(qdq, 'input', npy, t, 50, None)['median'])
            cf.append(calib8_run(c8_fp32, t, 50, out)['median'])
            cq.append(calib8_run(c8_qdq, t, 50, out)['median'])
        row = dict(threads=t, fp32=statistics.median(f), qdq=statistics.median(q), fp32_all=f, qdq_all=q,
                   c8_fp32=statistics.median(cf), c8_qdq=statistics.median(cq))
        row['ratio'] = row['qdq'] / row['fp32']
        row['c8_ratio'] = row['c8_qdq'] / row['c8_fp32']
        log(f'  ORT resnet8 b32 t={t}: FP32 {row["fp32"]:.3f} ms, QDQ {row["qdq"]:.3f} ms, ratio {row["ratio"]:.2f}; '
            f'calib8: FP32 {row["c8_fp32"]:.3f} ms, QDQ {row["c8_qdq"]:.3f} ms, ratio {row["c8_ratio"]:.2f}')
        rows.append(row)
    return rows, agree, len(a), ops_in, ops_opt


# ---- machine ---------------------------------------------------------------------------------------------------------

def machine():
    info = {}
    lscpu = subprocess.run(['lscpu'], stdout=subprocess.PIPE, text=True).stdout
    for k in ('Model name', 'CPU(s)', 'Thread(s) per core', 'Core(s) per socket', 'Socket(s)', 'CPU family',
              'Model', 'BogoMIPS', 'Flags'):
        m = re.search(rf'^{re.escape(k)}:\s*(.*)$', lscpu, re.M)
        info[k] = m.group(1).strip() if m else '?'
    flags = info.pop('Flags').split()
    info['isa'] = ' '.join(f for f in ('avx2', 'fma', 'avx512f', 'avx512_vnni', 'avx_vnni', 'avx512_bf16') if f in flags)
    out = subprocess.run([PEAK, str(os.cpu_count() or 1)], stdout=subprocess.PIPE, text=True, check=True).stdout
    for line in out.splitlines():
        k, _, v = line.partition(' ')
        info['peak_' + k] = v.strip()
    try:
        info['cores'] = int(info['Core(s) per socket']) * int(info['Socket(s)'])
    except ValueError:
        info['cores'] = os.cpu_count()
    return info


def git_commit():
    def g(*a):
        return subprocess.run(['git', '-C', REPO] + list(a), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                              text=True).stdout.strip()
    c = g('rev-parse', '--short=12', 'HEAD')
    # the report itself does not count as a change to what is measured
    dirty = g('status', '--porcelain', '--untracked-files=no', '--', '.', ':!bench/RESULTS.md')
    return c + (' (with uncommitted changes)' if dirty else ''), g('rev-parse', '--abbrev-ref', 'HEAD')


def loadavg():
    try:
        return open('/proc/loadavg').read().split()[:3]
    except OSError:
        return ['?'] * 3


# ---- report ------------------------------------------------------------------------------------------------------------

def fmt_ms(x):
    return f'{x:.3f}' if x < 10 else f'{x:.2f}' if x < 100 else f'{x:.1f}'


def write_report(path, r):
    L = []
    a = L.append
    mi = r['machine']
    a('# calib8 benchmarks')
    a('')
    a(f'Generated by `{r["command"]}` (bench/run.sh → bench/bench.py) on {r["date"]}; '
      f'{r["elapsed_min"]:.1f} min. Refresh with `bash bench/run.sh` (options: `--quick`, `--rounds N`, '
      '`--threads 1,2`, `--only REGEX`, `--skip-latency|--skip-gflops|--skip-quant`; see the top of bench/bench.py).')
    a('')
    a(f'- calib8 commit: `{r["commit"]}` (branch `{r["branch"]}`), Release build; ONNX Runtime {r["ort_version"]} '
      '(onnxruntime-node, CPU execution provider, graph optimization level all).')
    a(f'- Machine: {mi["Model name"]} (CPUID brand "{mi.get("peak_cpu_brand", "?").strip()}", family '
      f'{mi["CPU family"]} model {mi["Model"]}), {mi["cores"]} cores, {mi["Thread(s) per core"]} thread per core, '
      f'ISA: {mi["isa"]}.')
    a(f'- Load average at start {" ".join(r["load_start"])}, at end {" ".join(r["load_end"])}. **The machine is shared** '
      'with other jobs: absolute times are noisy. The ratios come from calib8 and ONNX Runtime runs alternating '
      '(calib8, ORT, calib8, ORT, ...) in the same session, so both saw the same load.')
    one = [x['ort_busy'] for x in r.get('latency', []) + r.get('gflops', []) if x['threads'] == 1]
    if one:
        b = statistics.median(one)
        a(f'- Contention gauge: in the 1-thread rows ONNX Runtime\'s timed runs kept a median {b:.2f} cores busy '
          '(CPU time / wall time; about 1.0 on an idle machine). ' +
          ('The machine was quiet enough.' if b >= 0.9 else
           '**Below 0.9: other jobs took much of the CPU during this run, so absolute times are inflated and the '
           'ratios are noisy; prefer a rerun on a quieter machine.**'))
    a('')
    if r.get('latency'):
        a('## Latency: calib8 vs ONNX Runtime (FP32)')
        a('')
        a(f'Each row: {r["rounds"]} rounds; in each round one `calib8 run` process and one `run_ort.js` process, each '
          'timing R runs of the model on the same input (R below, chosen so a process times ~0.4 s); the figure is '
          'the median over rounds of each process\'s median; "min ratio" is min over all runs of calib8 / the same '
          f'for ORT (less sensitive to the load of other jobs). No warm-up run: R ≥ {r["min_repeat"]}, so the median '
          'skips the cold first run. Inputs: the first 1 or 32 Fashion-MNIST test images (YOLO: 32 generated scenes of test images), '
          'PP-OCR inputs as `.cache/refs/ppocr_*/in.npy` (rendered text lines, a rendered page). '
          '"diff" = max |calib8 − ORT| / max |ORT| over the outputs (same computation check). '
          '"busy cores" = CPU time / wall time (calib8: whole process via /usr/bin/time, including loading; ORT: '
          'the timed runs, process.cpuUsage) — ONNX Runtime\'s pool threads spin while waiting, calib8\'s sleep. '
          '"calib8 split": calib8 runs a batch of a model whose operators keep samples apart as independent '
          'sub-batches spread over its threads (src/run/batch-split.h), here n sub-batches × S samples; '
          '"—": one plan for the whole batch, each operator split over the threads.')
        a('')
        a('| model | input shape | threads | calib8 median ms | ORT median ms | calib8/ORT | min ratio | R × rounds | diff | busy cores calib8 / ORT | calib8 split |')
        a('|---|---|---|---:|---:|---:|---:|---|---:|---|---|')
        for x in r['latency']:
            d = '—' if x['diff'] is None else f'{x["diff"]:.1e}'
            a(f'| {x["name"].split(" ")[0]} | {"x".join(map(str, x["shape"]))} | {x["threads"]} | {fmt_ms(x["c8"])} | '
              f'{fmt_ms(x["ort"])} | {x["c8"] / x["ort"]:.2f} | {min(x["c8_mins"]) / min(x["ort_mins"]):.2f} | '
              f'{x["repeat"]} × {x["rounds"]} | {d} | '
              f'{x["c8_busy"]:.2f} / {x["ort_busy"]:.2f} | {x.get("c8_split", "—")} |')
        a('')
        tc = {}
        for x in r['latency']:
            tc.setdefault(x['threads'], set()).update(x['ort_threads_created'])
        a('ONNX Runtime thread check (run_ort.js counts the OS threads of its process before and after creating the '
          'session): threads created per session = ' +
          ', '.join(f'{sorted(v, key=str)} with --threads {t}' for t, v in sorted(tc.items())) +
          '. That is T − 1 intra-op workers plus one thread every first session of a process starts (a second '
          'session with intraOpNumThreads=1 in the same process adds none); no inter-op pool '
          '(interOpNumThreads=1, sequential execution). calib8 `--threads T` starts T − 1 pool workers.')
        a('')
        ratios = [x['c8'] / x['ort'] for x in r['latency']]
        a(f'Geometric mean of calib8/ORT over the {len(ratios)} rows: '
          f'{math.exp(sum(map(math.log, ratios)) / len(ratios)):.2f}.')
        a('')
    if r.get('gflops'):
        ghz = float(mi['peak_clock_ghz'])
        wide = mi.get('peak_avx512') == 'yes'
        lanes = 16 if wide else 8
        bits = 512 if wide else 256
        fpc_meas = float(mi[f'peak_fma{bits}_flop_per_cycle'])
        units = max(1, round(fpc_meas / (lanes * 2)))
        fpc = units * lanes * 2
        a('## Throughput: GFLOP/s against the FP32 peak')
        a('')
        a('Peak = cores × GHz × FMA units × lanes × 2 (an FMA is 2 FLOP). Factors, measured by `bench/peak.c` '
          '(per-thread CPU time, so time spent descheduled does not count; best of several trials):')
        a('')
        a(f'- **GHz = {ghz:.2f}**: a chain of dependent 64-bit adds (one per cycle). The kernel reports a '
          f'{float(mi["BogoMIPS"]) / 2000:.3f} GHz TSC (BogoMIPS {mi["BogoMIPS"]} / 2) and no maximum frequency '
          '(a VM); the core runs above the TSC rate (boost), so the measured clock is used. It varies by a few % '
          'from run to run.')
        a(f'- **lanes = {lanes}**: {bits}-bit FP32 vectors (' +
          ('`avx512f` in the lscpu flags' if wide else 'AVX2+FMA, no AVX-512') + ').' +
          (' The CPU is an AMD Zen 5 server core (family 26 = 0x1A, CPUID brand '
           f'"{mi.get("peak_cpu_brand", "").strip()}"); Zen 5 server parts execute 512-bit FMAs at full width.'
           if mi['CPU family'] == '26' else ''))
        other = 256 if wide else None
        a(f'- **FMA units = {units}**: a loop of FMAs into 16 (256-bit: 14) independent accumulators (more than '
          f'latency × pipes needs) measured {fpc_meas:.1f} FLOP/cycle with {bits}-bit vectors '
          f'({float(mi[f"peak_fma{bits}_gflops_1core"]):.0f} GFLOP/s on one core)' +
          (f' and {float(mi["peak_fma256_flop_per_cycle"]):.1f} with 256-bit vectors' if other else '') +
          f'; {units} × {lanes} × 2 = {fpc}' +
          (f' — twice the 256-bit rate, so {units} FMA pipes that are 512 bits wide, not 256-bit pipes double-pumped.'
           if wide and fpc_meas > 1.5 * float(mi['peak_fma256_flop_per_cycle']) else '.'))
        a(f'- **cores = {mi["cores"]}** (lscpu: {mi["Core(s) per socket"]} cores per socket, {mi["Socket(s)"]} socket, '
          f'{mi["Thread(s) per core"]} thread per core).')
        machine_peak = mi['cores'] * ghz * fpc
        a(f'- Peak: 1 core {ghz * fpc:.0f} GFLOP/s; machine ({mi["cores"]} cores) {machine_peak:.0f} GFLOP/s. The '
          f'same FMA loop on {mi["peak_allcore_threads"]} threads at once measured '
          f'{float(mi["peak_fma_gflops_allcore"]):.0f} GFLOP/s.')
        a('')
        a('GFLOP/s = FLOP / median latency (the median of per-round medians, same alternating method as above); '
          '"% of peak" is against the peak of the cores used (T cores), "% of machine" against all cores. '
          'calib8 runs the first convolution with Winograd F(2x2, 3x3) (2.25× fewer multiplies; src/kernels/winograd), '
          'so its GFLOP/s, which count the direct algorithm\'s FLOPs, are an effective rate that can pass the peak; '
          'the row marked CALIB8_WINOGRAD=0 runs calib8\'s direct kernels on the same convolution (ORT is the same '
          'in both).')
        a('')
        a('| kernel | GFLOP | threads | engine | median ms | min ms | GFLOP/s | % of peak (T cores) | % of machine peak |')
        a('|---|---:|---|---|---:|---:|---:|---:|---:|')
        for x in r['gflops']:
            for eng, key in (('calib8', 'c8'), ('ORT', 'ort')):
                med = x[key]
                mn = min(x[key + '_mins'])
                gf = x['flop'] / (med * 1e-3) * 1e-9
                a(f'| {x["what"]} | {x["flop"] / 1e9:.3f} | {x["threads"]} | {eng} | {fmt_ms(med)} | {fmt_ms(mn)} | '
                  f'{gf:.1f} | {100 * gf / (x["threads"] * ghz * fpc):.1f} % | {100 * gf / machine_peak:.1f} % |')
        a('')
    if r.get('quant'):
        q = r['quant']
        a('## Quantization (issue 5)')
        a('')
        a('Model `models/fmnist_resnet8.onnx`, data `.cache/fmnist/calib` (the first 2000 Fashion-MNIST train images '
          'as PNG, tools/make_fmnist_png.py), preprocessing from models/README.md '
          f'(`{PP_RESNET8}`), batch 32.')
        a('')
        a('### Statistics overhead: KL calibration vs one FP32 pass')
        a('')
        a('Calibration time is what `calib8 quantize --method kl --limit 500` prints ("calibrated on 500 samples in '
          'X s": from the process start: model load, session, PNG decode + preprocessing, FP32 forward passes with '
          'the observers and histograms, the KL thresholds and the weight scales; not the QDQ export and file '
          'writes, listed apart as the whole quantize process). The FP32 pass is the wall time of the whole `calib8 eval` process '
          'over the same 500 images (load, decode + preprocessing, FP32 forward, top-1 against '
          '.cache/bench/calib_labels.txt). Alternating quantize/eval, '
          f'{q["rounds"]} rounds; medians; the per-round ratios are listed. Target: ratio ≤ 1.5.')
        a('')
        a('| threads | calibration s (median) | FP32 eval s (median) | ratio | per-round ratios | target ≤ 1.5 | whole quantize process s (median) |')
        a('|---|---:|---:|---:|---|---|---:|')
        for x in q['stats']:
            a(f'| {x["threads"]} | {x["calib"]:.3f} | {x["eval"]:.3f} | {x["ratio"]:.2f} | '
              f'{", ".join(f"{v:.2f}" for v in x["ratios"])} | {"met" if x["ratio"] <= 1.5 else "**not met**"} | '
              f'{statistics.median(x["quantize_wall_s"]):.3f} |')
        a('')
        a('Commands: `' + ' '.join(shlex.quote(rel(c) if c.startswith(REPO) else c)
                                   for c in quantize_cmd(500, 1, '.cache/bench/fmnist_resnet8_kl500.onnx')) +
          '` and `' + ' '.join(shlex.quote(rel(c) if c.startswith(REPO) else c) for c in eval_cmd(500, 1)) + '`.')
        a('')
        a('### Memory: peak RSS vs calibration set size')
        a('')
        m = q['memory']
        grow = m[2000]['rss_kib'] - m[100]['rss_kib']
        ok = m[2000]['rss_kib'] <= m[100]['rss_kib'] * 1.05
        a('`/usr/bin/time -v calib8 quantize ... --method kl --threads 1 --limit L` ("Maximum resident set size"; the '
          'largest over the alternating repeats).')
        a('')
        a('| --limit | samples calibrated | peak RSS KiB | calibration s |')
        a('|---:|---:|---:|---:|')
        for lim in (100, 2000):
            a(f'| {lim} | {m[lim]["samples"]} | {m[lim]["rss_kib"]} (runs: {", ".join(map(str, m[lim]["rss_all"]))}) | '
              f'{m[lim]["calib_s"]:.2f} |')
        a('')
        a(f'Growth from 100 to 2000 images: {grow:+d} KiB ({100 * grow / m[100]["rss_kib"]:+.1f} %) — '
          f'{"does not grow (within 5 %)" if ok else "**grows by more than 5 %**"}.')
        a('')
        a('### ONNX Runtime: calib8 QDQ export vs FP32')
        a('')
        a('The QDQ model is the one the statistics run wrote (`calib8 quantize --method kl --limit 500`, per-channel '
          'weights). ORT 1.30 runs both at batch 32 (the first 32 Fashion-MNIST test images), 50 timed runs per '
          f'process, FP32 and QDQ alternating, {q["qdq_rounds"]} rounds, median of medians. Top-1 agreement of the QDQ '
          f'model with FP32 on those 32 images (ORT both): {q["agree"]}/{q["agree_n"]}.')
        a('')
        a('| threads | FP32 ms | QDQ ms | QDQ/FP32 | not slower |')
        a('|---|---:|---:|---:|---|')
        for x in q['qdq']:
            a(f'| {x["threads"]} | {fmt_ms(x["fp32"])} | {fmt_ms(x["qdq"])} | {x["ratio"]:.2f} | '
              f'{"yes" if x["ratio"] <= 1.0 else "**no**"} |')
        a('')
        if 'c8_qdq' in q['qdq'][0]:
            a('calib8 running the same two models (`calib8 run`, 50 timed runs per process, in the same rounds). calib8 '
              'runs a QDQ model as written: QuantizeLinear and DequantizeLinear (vectorized, src/kernels/quant) around '
              'FP32 convolutions, so the QDQ model costs more than the FP32 one; its integer kernels are opt-in '
              '(CALIB8_INT8=1; measured in the INT8 runtime section, bench/int8.sh).')
            a('')
            a('| threads | calib8 FP32 ms | calib8 QDQ ms | QDQ/FP32 |')
            a('|---|---:|---:|---:|')
            for x in q['qdq']:
                a(f'| {x["threads"]} | {fmt_ms(x["c8_fp32"])} | {fmt_ms(x["c8_qdq"])} | {x["c8_ratio"]:.2f} |')
            a('')
        oi, oo = q['ops_in'], q['ops_opt']
        keys = ('Conv', 'QLinearConv', 'Gemm', 'QGemm', 'MatMul', 'QLinearMatMul', 'Add', 'QLinearAdd', 'Relu',
                'QuantizeLinear', 'DequantizeLinear')
        a('What ONNX Runtime made of the QDQ model (`run_ort.js --save-optimized`, optimization level all): ' +
          ', '.join(f'{k} {oi.get(k, 0)} → {oo.get(k, 0)}' for k in keys if oi.get(k, 0) or oo.get(k, 0)) +
          '. Convolutions still listed as Conv after optimization run in FP32 between a DequantizeLinear and a '
          'QuantizeLinear.')
        a('')
    if r.get('errors'):
        a('## Failures')
        a('')
        for e in r['errors']:
            a(f'- {e}')
        a('')
    text = '\n'.join(L)
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        f.write(text)
    os.replace(tmp, path)


def main():
    ap = argparse.ArgumentParser(description='calib8 vs ONNX Runtime benchmarks (use bench/run.sh)')
    ap.add_argument('--quick', action='store_true')
    ap.add_argument('--rounds', type=int, default=None)
    ap.add_argument('--threads', default='1,2')
    ap.add_argument('--only', default=None)
    ap.add_argument('--skip-latency', action='store_true')
    ap.add_argument('--skip-gflops', action='store_true')
    ap.add_argument('--skip-quant', action='store_true')
    ap.add_argument('--out', default=os.path.join(REPO, 'bench', 'RESULTS.md'))
    args = ap.parse_args()
    if args.rounds is None:
        args.rounds = 2 if args.quick else 5
    if args.rounds < 1:
        sys.exit('bench: --rounds must be >= 1')
    args.target = 0.15 if args.quick else 0.4
    args.min_repeat = 3 if args.quick else 5
    args.max_repeat = 300
    try:
        threads = [int(t) for t in args.threads.split(',')]
        assert threads and all(t >= 1 for t in threads)
    except (ValueError, AssertionError):
        sys.exit(f'bench: --threads needs a comma-separated list of counts >= 1, got {args.threads!r}')
    only = re.compile(args.only) if args.only else None

    def log(s):
        print(s, flush=True)

    t_start = time.time()
    cmd = 'bash bench/run.sh' + ''.join(' ' + shlex.quote(a) for a in sys.argv[1:])
    commit, branch = git_commit()
    ort_version = json.load(open(os.path.join(CACHE, 'npm', 'node_modules', 'onnxruntime-node', 'package.json')))['version']
    r = dict(command=cmd, date=datetime.datetime.now().astimezone().strftime('%Y-%m-%d %H:%M %Z'), commit=commit,
             branch=branch, ort_version=ort_version, rounds=args.rounds, min_repeat=args.min_repeat,
             load_start=loadavg(), errors=[])
    log('bench: machine')
    r['machine'] = machine()
    log(f'  {r["machine"]["Model name"]}, clock {r["machine"]["peak_clock_ghz"]} GHz, '
        f'all-core FMA loop {r["machine"]["peak_fma_gflops_allcore"]} GFLOP/s')

    if not args.skip_latency:
        log('bench: latency')
        r['latency'] = []
        for c in latency_cases():
            if only and not only.search(c['name']):
                continue
            for t in threads:
                try:
                    r['latency'].append(bench_case(c, t, args, log))
                except Fail as e:
                    r['errors'].append(f'{c["name"]} threads {t}: {e}')
                    log(f'  FAILED {c["name"]} t={t}: {e}')
    if not args.skip_gflops:
        log('bench: GFLOP/s')
        r['gflops'] = []
        for c in gflops_cases():
            if only and not only.search(c['name']):
                continue
            for t in threads:
                try:
                    x = bench_case(c, t, args, log)
                    x.update(flop=c['flop'], what=c['what'])
                    r['gflops'].append(x)
                except Fail as e:
                    r['errors'].append(f'{c["name"]} threads {t}: {e}')
                    log(f'  FAILED {c["name"]} t={t}: {e}')
    if not args.skip_quant:
        log('bench: quantization (issue 5)')
        try:
            q = dict(rounds=7 if not args.quick else 2)
            q['stats'], qdq = stats_overhead(threads, q['rounds'], log)
            q['memory'] = memory(q['rounds'], log)
            q['qdq_rounds'] = args.rounds
            q['qdq'], q['agree'], q['agree_n'], q['ops_in'], q['ops_opt'] = qdq_latency(qdq, threads, args.rounds, log)
            r['quant'] = q
        except Fail as e:
            r['errors'].append(f'quantization benchmarks: {e}')
            log(f'  FAILED quantization: {e}')
    r['load_end'] = loadavg()
    r['elapsed_min'] = (time.time() - t_start) / 60
    with open(os.path.join(BENCH, 'raw.json'), 'w') as f:
        json.dump(r, f, indent=1, default=str)
    write_report(args.out, r)
    log(f'bench: wrote {rel(args.out) if args.out.startswith(REPO) else args.out} in {r["elapsed_min"]:.1f} min')
    return 1 if r['errors'] else 0


if __name__ == '__main__':
    sys.exit(main())
