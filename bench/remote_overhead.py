"""Remote-mode overhead (issue 14): the client-side time of calib8.remote's run_and_get_outputs for a ResNet-8 batch
of 32 against `calib8 run` on the same batch (goal: at most 1.2x), measured interleaved: each round times K remote
requests and one `calib8 run --repeat K` process back to back (their order alternating), so that both see the same
load; the table gives per-round medians and the median over rounds.

What each number includes:
  remote     client side, in Python: encoding the .npy body, the HTTP round trip over loopback (a kept-alive
             connection), the server's parse, run and answer, decoding the outputs (run_and_get_outputs)
  server run the session run alone inside the server (its Server-Timing header): remote - server run is the overhead
  run        `calib8 run --repeat K`'s own latency median: calib8_session_run back to back in one process, no I/O
  min        the fastest request / the fastest run over all rounds: the least disturbed by other jobs
  run (proc) the wall time of one whole `calib8 run MODEL -i x.npy -o DIR` process: start, model load, session
             creation, reading x.npy, one run, writing the outputs (what one batch costs from the command line)

    PYTHONPATH=python python3 bench/remote_overhead.py [build/calib8] [rounds] [K] [threads]

threads (default: calib8's, one per core) goes to both `calib8 serve --threads` and `calib8 run --threads`.
"""
import http.client
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np

from calib8.remote import auto_calib_debug

C8 = sys.argv[1] if len(sys.argv) > 1 else "build/calib8"
ROUNDS = int(sys.argv[2]) if len(sys.argv) > 2 else 10
K = int(sys.argv[3]) if len(sys.argv) > 3 else 20
THREADS = ["--threads", sys.argv[4]] if len(sys.argv) > 4 else []
MODEL = "models/fmnist_resnet8.onnx"
PP = "resize_h=32,resize_w=32;mean_value=123.675:116.28:103.53,std_value=58.395:57.12:57.375"

# the server's run time of each request, from its Server-Timing header (read where calib8.remote reads the answer)
server_ms = []
_getresponse = http.client.HTTPConnection.getresponse


def _timed_getresponse(self):
    r = _getresponse(self)
    st = r.getheader("Server-Timing")
    if st and "run;dur=" in st:
        server_ms.append(float(st.split("dur=")[1]))
    return r


http.client.HTTPConnection.getresponse = _timed_getresponse


def med(v):
    return statistics.median(v)


with tempfile.TemporaryDirectory() as tmp:
    x = np.random.RandomState(0).randn(32, 3, 32, 32).astype(np.float32)
    xp = os.path.join(tmp, "x.npy")
    np.save(xp, x)
    p = subprocess.Popen([C8, "serve", MODEL, "--calib", "examples/fmnist", "-p", PP, "--listen", "127.0.0.1:0", "-o",
                          os.path.join(tmp, "o.onnx")] + THREADS, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    addr = None
    for line in p.stderr:
        if line.startswith("listening on http://"):
            addr = line.split("http://")[1].split()[0]
            break
    threading.Thread(target=lambda: [None for _ in p.stderr], daemon=True).start()
    c = auto_calib_debug(addr, timeout=60)
    assert next(iter(c)) == "running"
    y_remote = c.run_and_get_outputs(x)
    for _ in range(4):
        c.run_and_get_outputs(x)

    def remote_round():
        del server_ms[:]
        t = []
        for _ in range(K):
            t0 = time.perf_counter()
            c.run_and_get_outputs(x)
            t.append((time.perf_counter() - t0) * 1e3)
        server_min.append(min(server_ms))
        return med(t), med(server_ms), min(t)

    def cli_round():
        out = subprocess.run([C8, "run", MODEL, "-i", xp, "-o", tmp, "--repeat", str(K)] + THREADS, capture_output=True,
                             text=True, check=True).stdout
        lmin, lmed = map(float, re.search(r"min ([\d.]+) ms, median ([\d.]+) ms", out).groups())
        t0 = time.perf_counter()
        subprocess.run([C8, "run", MODEL, "-i", xp, "-o", tmp] + THREADS, capture_output=True, check=True)
        return lmed, (time.perf_counter() - t0) * 1e3, lmin

    rows, server_min = [], []
    for r in range(ROUNDS):
        if r % 2 == 0:
            rm, sm, rmin = remote_round()
            lm, pw, lmin = cli_round()
        else:
            lm, pw, lmin = cli_round()
            rm, sm, rmin = remote_round()
        rows.append((rm, sm, lm, pw, rmin, lmin))
        print("round %2d: remote %.3f ms (server run %.3f, overhead %.3f)  run %.3f ms  run (proc) %.1f ms  "
              "remote/run %.2fx" % (r + 1, rm, sm, rm - sm, lm, pw, rm / lm), flush=True)
    p.kill()
    p.wait()
    # the outputs are calib8 run's (the same engine, the same batch)
    y_run = np.load(os.path.join(tmp, sorted(f for f in os.listdir(tmp) if f.endswith(".npy") and f != "x.npy")[0]))
    assert np.array_equal(y_run, y_remote[0]), "run_and_get_outputs differs from calib8 run"
    col = list(zip(*rows))
    ratios = [a / b for a, b, in zip(col[0], col[2])]
    print("load average at the end: %s" % " ".join(open("/proc/loadavg").read().split()[:3]))
    print("medians over %d rounds of %d requests: remote %.3f ms, server run %.3f ms, overhead %.3f ms, run %.3f ms, "
          "run (proc) %.1f ms" % (ROUNDS, K, med(col[0]), med(col[1]), med([a - b for a, b in zip(col[0], col[1])]),
                                  med(col[2]), med(col[3])))
    print("remote / run: median of the rounds' ratios %.2fx (range %.2f-%.2f); min over all requests / min over all "
          "runs %.3f / %.3f ms = %.2fx (the fastest server run %.3f ms); remote / run (proc) %.3fx"
          % (med(ratios), min(ratios), max(ratios), min(col[4]), min(col[5]), min(col[4]) / min(col[5]),
             min(server_min), med(col[0]) / med(col[3])))
