"""Remote-mode overhead (issue 14): the client-side time of calib8.remote's run_and_get_outputs for a ResNet-8 batch
of 32 against the model's run time in `calib8 run --repeat` on the same batch (goal: at most 1.2x).

    PYTHONPATH=python python3 bench/remote_overhead.py [build/calib8] [repeats]
"""
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
N = int(sys.argv[2]) if len(sys.argv) > 2 else 100
MODEL = "models/fmnist_resnet8.onnx"
PP = "resize_h=32,resize_w=32;mean_value=123.675:116.28:103.53,std_value=58.395:57.12:57.375"

with tempfile.TemporaryDirectory() as tmp:
    x = np.random.RandomState(0).randn(32, 3, 32, 32).astype(np.float32)
    np.save(os.path.join(tmp, "x.npy"), x)
    p = subprocess.Popen([C8, "serve", MODEL, "--calib", "examples/fmnist", "-p", PP, "--listen", "127.0.0.1:0", "-o",
                          os.path.join(tmp, "o.onnx")], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    addr = None
    for line in p.stderr:
        if line.startswith("listening on http://"):
            addr = line.split("http://")[1].split()[0]
            break
    threading.Thread(target=lambda: [None for _ in p.stderr], daemon=True).start()
    c = auto_calib_debug(addr, timeout=60)
    assert next(iter(c)) == "running"
    for _ in range(5):
        c.run_and_get_outputs(x)
    remote = []
    for _ in range(N):
        t0 = time.perf_counter()
        c.run_and_get_outputs(x)
        remote.append((time.perf_counter() - t0) * 1e3)
    p.kill()
    p.wait()
    out = subprocess.run([C8, "run", MODEL, "-i", os.path.join(tmp, "x.npy"), "-o", tmp, "--repeat", str(N)],
                         capture_output=True, text=True, check=True).stdout
    lmin, lmed = map(float, re.search(r"min ([\d.]+) ms, median ([\d.]+) ms", out).groups())
    rmin, rmed = min(remote), statistics.median(remote)
    print("calib8 run --repeat %d (in process): min %.3f ms, median %.3f ms" % (N, lmin, lmed))
    print("run_and_get_outputs over loopback:  min %.3f ms, median %.3f ms" % (rmin, rmed))
    print("ratio: min %.2fx, median %.2fx" % (rmin / lmin, rmed / lmed))
