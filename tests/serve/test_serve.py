"""calib8 serve (remote mode), driven from Python over HTTP with calib8.remote.

    test_serve.py e2e     a training-environment loop computing top-1 in Python reaches the same choice and the
                          same model bytes as `calib8 auto --metric top1` on the same images
    test_serve.py errors  each malformed request gets its 4xx and one-line JSON error, the next good one succeeds
    test_serve.py token   off loopback: no token or a wrong one gets 401; no token at all refuses to start
    test_serve.py client  a client killed mid-round: the next one sees temporary_fail, the search completes

Environment: CALIB8_CLI (the calib8 command), CALIB8_DUMP (tests/serve/dump-data). Run from the repository root.
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

import numpy as np

from calib8.remote import auto_calib_debug, RemoteError

C8 = os.environ.get("CALIB8_CLI", "build/calib8")
DUMP = os.environ.get("CALIB8_DUMP", "build/tests/serve/dump-data")
MODEL = "models/fmnist_resnet8.onnx"
DATA = "examples/fmnist"
PP = "resize_h=32,resize_w=32;mean_value=123.675:116.28:103.53,std_value=58.395:57.12:57.375"
# the hard case of tests/auto: fast mode cannot meet 0.5 points, so every one of its 8 trials runs
HARD, HARD_PP = "tests/auto/fixtures/lenet_outlier.onnx", "mean_value=72.94,std_value=90.0"
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)


def test_set(tmp, model=None, pp=None):
    """The 300 labelled images as calib8 preprocesses them, in labels.txt order, and their labels."""
    names, labels = [], []
    with open(os.path.join(DATA, "labels.txt")) as f:
        for line in f:
            if line.strip():
                n, l = line.split()
                names.append(os.path.abspath(os.path.join(DATA, n)))
                labels.append(int(l))
    lst = os.path.join(tmp, "list.txt")
    with open(lst, "w") as f:
        f.write("\n".join(names) + "\n")
    out = os.path.join(tmp, "x.npy")
    subprocess.run([DUMP, model or MODEL, "list:" + lst, pp or PP, out], check=True)
    return np.load(out), np.array(labels)


class Server:
    def __init__(self, tmp, *args, out="serve.onnx", model=None, pp=None):
        self.cmd = [C8, "serve", model or MODEL, "--calib", DATA, "-p", pp or PP, "-o", os.path.join(tmp, out)] + list(args)
        if "--listen" not in args:
            self.cmd += ["--listen", "127.0.0.1:0"]
        self.p = subprocess.Popen(self.cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines = []
        self.addr = None
        for line in self.p.stderr:
            self.lines.append(line.rstrip("\n"))
            if line.startswith("listening on http://"):
                self.addr = line.split("http://")[1].split()[0]
                break
        self.t = threading.Thread(target=self._drain, daemon=True)
        self.t.start()

    def _drain(self):
        for line in self.p.stderr:
            self.lines.append(line.rstrip("\n"))

    def wait(self, timeout=600):
        out = self.p.stdout.read()
        rc = self.p.wait(timeout)
        self.t.join(5)
        return rc, out

    def kill(self):
        self.p.kill()
        self.p.wait()


def top1_loop(calib, x, labels, batch=32, on_round=None):
    rounds = 0
    for stat in calib:
        if stat == "finished":
            break
        if stat == "temporary_fail":
            continue
        if on_round:
            on_round(calib, rounds)
        correct = 0
        for i in range(0, len(x), batch):
            logits, = calib.run_and_get_outputs(x[i:i + batch])
            correct += int((logits.argmax(axis=1) == labels[i:i + batch]).sum())
        calib.report_accuracy(correct / len(x))
        rounds += 1
    return rounds


def e2e(tmp, budget=(), model=MODEL, pp=PP):
    x, labels = test_set(tmp, model, pp)
    auto = subprocess.run([C8, "auto", model, "--calib", DATA, "--test", DATA, "--labels", DATA + "/labels.txt",
                           "-p", pp, "--metric", "top1", "-o", os.path.join(tmp, "auto.onnx"), "--json",
                           os.path.join(tmp, "auto.json")] + list(budget), capture_output=True, text=True)
    check(auto.returncode in (0, 1), "calib8 auto ran (exit %d %s)" % (auto.returncode, auto.stderr.strip()))
    s = Server(tmp, "--json", os.path.join(tmp, "serve.json"), *budget, model=model, pp=pp)
    check(s.addr is not None, "calib8 serve listens (%s)" % s.addr)
    rounds = top1_loop(auto_calib_debug(s.addr, timeout=60), x, labels)
    rc, out = s.wait()
    check(rc == auto.returncode, "serve exits as auto does (%d, auto %d)" % (rc, auto.returncode))
    a = json.load(open(os.path.join(tmp, "auto.json")))
    b = json.load(open(os.path.join(tmp, "serve.json")))
    check(a["choice"]["strategy"] == b["choice"]["strategy"],
          "same choice: %s / %s" % (a["choice"]["strategy"], b["choice"]["strategy"]))
    check(abs(a["fp32_score"] - b["fp32_score"]) < 1e-12, "same FP32 score %s / %s" % (a["fp32_score"], b["fp32_score"]))
    check([t["score"] for t in a["trials"]] == [t["score"] for t in b["trials"]], "the JSON records the reported scores")
    same = open(os.path.join(tmp, "auto.onnx"), "rb").read() == open(os.path.join(tmp, "serve.onnx"), "rb").read()
    check(same, "the same model bytes as calib8 auto")
    check(rounds == len(b["trials"]) + 1, "%d rounds: FP32 + %d trials" % (rounds, len(b["trials"])))
    check(any(l.startswith("round 0: FP32 scored") for l in s.lines), "stderr reports the rounds and the scores")


def post(addr, path, body, headers=None, method="POST"):
    req = urllib.request.Request("http://%s%s" % (addr, path), data=body, headers=headers or {}, method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def npy(a):
    import io
    f = io.BytesIO()
    np.save(f, a)
    return f.getvalue()


def errors(tmp):
    x, labels = test_set(tmp)
    s = Server(tmp, "--max-body", "500000")
    c = auto_calib_debug(s.addr, timeout=30)
    check(next(iter(c)) == "running", "the client sees round 0 running")
    good = npy(x[:4])
    cases = [
        ("a report before any run", "/v1/report", b'{"round":0,"score":0.5}', 409),
        ("a GET of /v1/run", "/v1/run", None, 405),
        ("not an npy", "/v1/run", b"garbage", 400),
        ("a truncated npy", "/v1/run", good[:200], 400),
        ("float64", "/v1/run", npy(x[:4].astype(np.float64)), 400),
        ("a wrong shape", "/v1/run", npy(np.zeros((4, 1, 32, 32), np.float32)), 400),
        ("a wrong rank", "/v1/run", npy(np.zeros((3, 32, 32), np.float32)), 400),
        ("two arrays for one input", "/v1/run", good + good, 400),
        ("an oversized body", "/v1/run", npy(np.zeros((200, 3, 32, 32), np.float32)), 413),
        ("an unknown endpoint", "/v1/nothing", b"", 404),
        ("another wire version", "/v2/state", b"", 400),
        ("a report that is not JSON", "/v1/report", b"{round", 400),
        ("a stale round", "/v1/report", b'{"round":7,"score":0.5}', 409),
    ]
    for what, path, body, code in cases:
        st, data = post(s.addr, path, body, method="GET" if body is None else "POST")
        one_line = data.count(b"\n") == 1 and "error" in json.loads(data)
        check(st == code and one_line, "%s: %d %s" % (what, st, data.decode().strip()))
        st, data = post(s.addr, "/v1/run", good)
        check(st == 200 and np.load(__import__("io").BytesIO(data)).shape == (4, 10), "then a good run succeeds")
    check(s.p.poll() is None, "the server keeps serving")
    # a client's errors carry the server's message
    try:
        c.run_and_get_outputs(x[:100])
        check(False, "an oversized batch raises")
    except RemoteError as e:
        check(e.status == 413 and "limit" in str(e), "an oversized batch raises: %s" % e)
    try:
        c.run_and_get_outputs(np.zeros((2, 3, 5, 5), np.float32))
        check(False, "a wrong shape raises")
    except RemoteError as e:
        check(e.status == 400 and "shape" in str(e), "the client raises with the server's message: %s" % e)
    s.kill()


def token(tmp):
    tok = os.path.join(tmp, "token")
    with open(tok, "w") as f:
        f.write("s3cret-token\n")
    r = subprocess.run([C8, "serve", MODEL, "--calib", DATA, "-p", PP, "--listen", "0.0.0.0:0", "-o",
                        os.path.join(tmp, "t.onnx")], capture_output=True, text=True, env={**os.environ, "CALIB8_TOKEN": ""})
    check(r.returncode != 0 and r.stderr.count("\n") == 1 and "token" in r.stderr,
          "off loopback without a token: refused (%s)" % r.stderr.strip())
    for bad, pat in ((["--listen", "nowhere"], "HOST:PORT"), (["--listen", "127.0.0.1:99999"], "not a port"),
                     (["--token-file", os.path.join(tmp, "none")], "cannot be read"), (["--test", DATA], "clients score"),
                     (["--mode", "slow"], "fast or full")):
        r = subprocess.run([C8, "serve", MODEL, "--calib", DATA, "-p", PP, "-o", os.path.join(tmp, "t.onnx")] + bad,
                           capture_output=True, text=True)
        check(r.returncode not in (0,) and r.returncode < 126 and r.stderr.count("\n") == 1 and pat in r.stderr,
              "calib8 serve %s: one line, exit %d (%s)" % (" ".join(bad), r.returncode, r.stderr.strip()))
    s = Server(tmp, "--listen", "127.0.0.2:0", "--token-file", tok)
    check(s.addr and s.addr.startswith("127.0.0.2:"), "listens on 127.0.0.2 with a token")
    st, _ = post(s.addr, "/v1/state", None, method="GET")
    check(st == 401, "no token: %d" % st)
    st, _ = post(s.addr, "/v1/state", None, {"Authorization": "Bearer wrong"}, method="GET")
    check(st == 401, "a wrong token: %d" % st)
    st, _ = post(s.addr, "/v1/state", None, {"Authorization": "Bearer s3cret-token"}, method="GET")
    check(st == 200, "the token: %d" % st)
    c = auto_calib_debug(s.addr, token="s3cret-token")
    check(next(iter(c)) == "running", "the client with the token sees round 0")
    try:
        auto_calib_debug(s.addr, token="nope").state()
        check(False, "a wrong token raises")
    except RemoteError as e:
        check(e.status == 401, "the client raises 401: %s" % e)
    s.kill()


def client(tmp):
    x, labels = test_set(tmp)
    s = Server(tmp, "--round-timeout", "2", "--json", os.path.join(tmp, "serve.json"))
    code = ("import numpy as np, sys\nfrom calib8.remote import auto_calib_debug\nc = auto_calib_debug(sys.argv[1])\n"
            "x = np.load(sys.argv[2])\nfor st in c:\n    c.run_and_get_outputs(x[:32])\n    print('ran', flush=True)\n"
            "    import time; time.sleep(600)\n")
    np.save(os.path.join(tmp, "x32.npy"), x[:32])
    p = subprocess.Popen([sys.executable, "-c", code, s.addr, os.path.join(tmp, "x32.npy")], stdout=subprocess.PIPE,
                         text=True, env={**os.environ, "PYTHONPATH": "python"})
    check(p.stdout.readline().strip() == "ran", "a client ran a batch of round 0")
    p.kill()
    p.wait()
    import time
    time.sleep(3)
    calib = auto_calib_debug(s.addr, timeout=60)
    first = next(iter(calib))
    check(first == "temporary_fail", "the next client sees temporary_fail (%s)" % first)
    top1_loop(calib, x, labels)
    rc, out = s.wait()
    check(rc in (0, 1) and "choice:" in out, "the search completes (exit %d)" % rc)
    check(any("round 0 failed" in l for l in s.lines), "stderr says the round failed")


def e2e_all(tmp):
    """The hard case: no fast-mode trial meets the budget, all 8 run, the best score is chosen, exit 1."""
    e2e(tmp, (), HARD, HARD_PP)


def macro_f1(pred, labels, classes=10):
    f1 = []
    for c in range(classes):
        tp = int(((pred == c) & (labels == c)).sum())
        fp = int(((pred == c) & (labels != c)).sum())
        fn = int(((pred != c) & (labels == c)).sum())
        f1.append(2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 1.0)
    return float(np.mean(f1))


def f1(tmp):
    """A metric calib8 does not have: macro-averaged F1. The search completes and the JSON records the scores."""
    x, labels = test_set(tmp)
    s = Server(tmp, "--json", os.path.join(tmp, "serve.json"), "--max-drop", "0.002", "--report",
               os.path.join(tmp, "serve.html"))
    calib = auto_calib_debug(s.addr, timeout=60)
    reported = []
    for stat in calib:
        if stat == "finished":
            break
        if stat == "temporary_fail":
            continue
        pred = np.concatenate([calib.run_and_get_outputs(x[i:i + 50])[0].argmax(axis=1) for i in range(0, len(x), 50)])
        reported.append(macro_f1(pred, labels))
        calib.report_accuracy(reported[-1])
    rc, out = s.wait()
    b = json.load(open(os.path.join(tmp, "serve.json")))
    check(rc in (0, 1) and "choice:" in out, "the macro-F1 search completes (exit %d)" % rc)
    check(b["fp32_score"] == reported[0], "the JSON's FP32 score is the reported one")
    check([t["score"] for t in b["trials"]] == reported[1:], "the JSON records every reported score: %s"
          % [round(r, 4) for r in reported])
    # --report: the search's report, with the reported scores in its embedded data (browser/report renders it)
    html = open(os.path.join(tmp, "serve.html")).read()
    m = re.search(r'<script type="application/json" id="calib8-data">(.*?)</script>', html, re.S)
    data = json.loads(m.group(1)) if m else {}
    search = data.get("search") or data.get("summary", {}).get("search") or {}
    trials = search.get("trials") if isinstance(search, dict) else None
    if trials is None:
        trials = data.get("trials") or data.get("summary", {}).get("trials")
    check(html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>") and trials is not None and
          [t["score"] for t in trials] == reported[1:],
          "serve --report writes the whole search report with the reported scores (%d trials)" % len(trials or []))


def free_port(host="127.0.0.1"):
    import socket
    with socket.socket() as so:
        so.bind((host, 0))
        return so.getsockname()[1]


def resume(tmp):
    """The server is killed after trial 2 and restarted with --resume: no finished trial is served again, the
    client sees temporary_fail meanwhile, and the result is the one of an uninterrupted run."""
    import time
    x, labels = test_set(tmp, HARD, HARD_PP)
    port = free_port()
    args = ("--listen", "127.0.0.1:%d" % port, "--json", os.path.join(tmp, "serve.json"))
    s = Server(tmp, *args, model=HARD, pp=HARD_PP)
    calib = auto_calib_debug(s.addr, timeout=60)
    served = []
    killed = [False]
    s2 = [None]

    def on_round(c, k):
        served.append(c.strategy)
        if c.strategy != "fp32" and c.round == 3 and not killed[0]:  # trial 2 was reported and logged
            s.kill()
            killed[0] = True

    seen = []
    done = 0
    for stat in calib:
        seen.append(stat)
        if stat == "finished":
            break
        if stat == "temporary_fail":
            if killed[0] and s2[0] is None:
                s2[0] = Server(tmp, *(args + ("--resume",)), model=HARD, pp=HARD_PP)
            continue
        on_round(calib, done)
        if killed[0] and s2[0] is None:
            continue
        correct = 0
        for i in range(0, len(x), 50):
            logits, = calib.run_and_get_outputs(x[i:i + 50])
            correct += int((logits.argmax(axis=1) == labels[i:i + 50]).sum())
        calib.report_accuracy(correct / len(x))
        done += 1
        time.sleep(0)
    check(killed[0] and s2[0] is not None, "the server was killed after trial 2 and restarted (%s; %s)" % (seen, served))
    rc, out = s2[0].wait()
    check(rc in (0, 1) and "choice:" in out, "the resumed search completes (exit %d)" % rc)
    check("temporary_fail" in seen, "the client saw temporary_fail while the server was down")
    again = [l for l in s2[0].lines if l.startswith("round ") and "serving" in l]
    first = [l.split("serving ", 1)[1] for l in s.lines if l.startswith("round ") and "serving" in l][:3]
    check(not any(l.split("serving ", 1)[1] in first[:3] for l in again),
          "no finished trial is served again (%s | %s)" % (first, [l.split("serving ", 1)[1] for l in again]))
    check(sum("(from log)" in l for l in s2[0].lines) == 2, "trials 1 and 2 replayed from the log")
    auto = subprocess.run([C8, "auto", HARD, "--calib", DATA, "--test", DATA, "--labels", DATA + "/labels.txt",
                           "-p", HARD_PP, "--metric", "top1", "-o", os.path.join(tmp, "auto.onnx")],
                          capture_output=True, text=True)
    same = open(os.path.join(tmp, "auto.onnx"), "rb").read() == open(os.path.join(tmp, "serve.onnx"), "rb").read()
    check(same, "the same model bytes as an uninterrupted calib8 auto")


def load(tmp):
    """100 concurrent clients run batches for a whole round: 0 errors, every output equal to calib8 run's."""
    x, labels = test_set(tmp)
    refs, walls = [], []
    for k in range(5):
        xin = os.path.join(tmp, "in%d.npy" % k)
        np.save(xin, x[k * 32:(k + 1) * 32])
        t0 = time.monotonic()
        subprocess.run([C8, "run", MODEL, "-i", xin, "-o", os.path.join(tmp, "ref%d" % k)], check=True,
                       capture_output=True)
        walls.append(time.monotonic() - t0)
        refs.append(np.load(os.path.join(tmp, "ref%d" % k, "logits.npy")))
    # The server runs one batch at a time, so a request may wait behind the other 99 clients' batches: the clients'
    # timeout covers 110 runs as long as one `calib8 run` process takes here (a sanitizer build on a busy machine
    # takes over a second per batch), and at least 120 s.
    timeout = max(120.0, 110 * sorted(walls)[2])
    s = Server(tmp)
    first = auto_calib_debug(s.addr, timeout=60)
    check(next(iter(first)) == "running", "round 0 (FP32) is served")
    errors, mismatches = [], []

    def one(i):
        try:
            c = auto_calib_debug(s.addr, timeout=timeout)
            if next(iter(c)) != "running":
                errors.append("client %d: not running" % i)
                return
            for r in range(3):
                k = (i + r) % 5
                y, = c.run_and_get_outputs(x[k * 32:(k + 1) * 32])
                if not np.array_equal(y, refs[k]):
                    mismatches.append(i)
        except Exception as e:  # every failure counts
            errors.append("client %d: %s" % (i, e))

    th = [threading.Thread(target=one, args=(i,)) for i in range(100)]
    for t in th:
        t.start()
    for t in th:
        t.join()
    check(not errors, "100 concurrent clients: %d errors %s" % (len(errors), errors[:3]))
    check(not mismatches, "every output equals calib8 run's (%d mismatches)" % len(mismatches))
    st = first.state()
    check(st["requests"] == 300 and st["round"] == 0, "300 requests served in round 0 (%s)" % st["requests"])
    s.kill()


def standalone(tmp):
    """calib8.remote needs no libcalib8: the package copied away from any build imports it, and so does remote.py
    copied alone; the library's names then raise ImportError."""
    import shutil
    shutil.copytree("python/calib8", os.path.join(tmp, "pkg", "calib8"))
    shutil.copy("python/calib8/remote.py", os.path.join(tmp, "alone", "remote.py") if os.makedirs(
        os.path.join(tmp, "alone")) is None else None)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "LD_LIBRARY_PATH")}
    env["CALIB8_LIBRARY"] = os.path.join(tmp, "no-such-libcalib8.so")
    code = ("import calib8.remote, calib8\ntry:\n    calib8.Model\n    print('library found')\n"
            "except ImportError as e:\n    print('ImportError', e)\n")
    r = subprocess.run([sys.executable, "-c", code], cwd=os.path.join(tmp, "pkg"), env=env, capture_output=True,
                       text=True)
    check(r.returncode == 0 and r.stdout.startswith("ImportError"), "import calib8.remote without libcalib8 (%s%s)"
          % (r.stdout.strip(), r.stderr.strip()[-200:]))
    r = subprocess.run([sys.executable, "-c", "import remote; print(remote.auto_calib_debug('h:1').port)"],
                       cwd=os.path.join(tmp, "alone"), env=env, capture_output=True, text=True)
    check(r.returncode == 0 and r.stdout.strip() == "1", "remote.py copied alone imports (%s)" % r.stderr.strip()[-200:])


if __name__ == "__main__":
    case = sys.argv[1] if len(sys.argv) > 1 else "e2e"
    with tempfile.TemporaryDirectory(prefix="c8-serve-") as tmp:
        {"e2e": e2e, "e2e-all": e2e_all, "f1": f1, "resume": resume, "load": load, "errors": errors, "token": token,
         "client": client, "standalone": standalone}[case](tmp)
    print("%s: %d failure(s)" % (case, len(failures)))
    sys.exit(1 if failures else 0)
