"""The client of calib8's remote mode (`calib8 serve`, docs/remote.md).

Standard library and numpy only, and it never loads libcalib8: copy this one file into any training environment.
The server runs the search; this loop runs your own data loader, post-processing and metric:

    from calib8.remote import auto_calib_debug     # or: from remote import auto_calib_debug
    calib = auto_calib_debug("127.0.0.1:8500", timeout=10)
    for stat in calib:
        if stat == 'finished':
            break
        if stat == 'temporary_fail':                 # this round failed on the server (or it is down): go on
            continue
        for batch, labels in loader:
            outputs = calib.run_and_get_outputs(batch)   # list of arrays, in the model's output order
            metric.update(labels, outputs)
        calib.report_accuracy(metric.score())

The token of a server listening off loopback comes from `token=` or the CALIB8_TOKEN environment variable.
"""
import http.client
import io
import json
import os
import re
import socket
import time

import numpy as np

WIRE_VERSION = 1
__all__ = ["auto_calib_debug", "RemoteError", "WIRE_VERSION"]


class RemoteError(RuntimeError):
    """A request the server refused (message: the server's one line; status: the HTTP status, 0 for a network
    error or a timeout)."""

    def __init__(self, message, status=0):
        super().__init__(message)
        self.status = status


def _split(ip_port):
    s = str(ip_port)
    for p in ("http://", "https://"):
        if s.startswith(p):
            s = s[len(p):]
    s = s.rstrip("/")
    host, _, port = s.rpartition(":")
    if not host or not port.isdigit():
        return s, 8500
    return host, int(port)


def _npy_bytes(arrays):
    """.npy 1.0 images of C-contiguous arrays, concatenated."""
    parts = []
    for a in arrays:
        a = np.asarray(a)
        if not a.flags.c_contiguous:
            a = a.copy(order="C")
        shape = "(%s)" % ("".join("%d, " % d for d in a.shape) if len(a.shape) != 1 else "%d," % a.shape[0])
        shape = shape.replace(", )", ")")
        h = "{'descr': '%s', 'fortran_order': False, 'shape': %s, }" % (np.lib.format.dtype_to_descr(a.dtype), shape)
        h += " " * ((64 - (10 + len(h) + 1) % 64) % 64) + "\n"
        parts += [b"\x93NUMPY\x01\x00", len(h).to_bytes(2, "little"), h.encode("latin1"), a.tobytes()]
    return b"".join(parts)


_HEADER = re.compile(r"""\{\s*'descr'\s*:\s*'([^']+)'\s*,\s*'fortran_order'\s*:\s*(True|False)\s*,"""
                     r"""\s*'shape'\s*:\s*\(([\d,\s]*)\)\s*,?\s*\}""")


def _npy_list(body):
    """The concatenated .npy arrays of a response (writable views of one copy of the body)."""
    body = bytearray(body)
    out, off, n = [], 0, len(body)
    while off < n:
        if body[off:off + 6] != b"\x93NUMPY" or n - off < 10:
            raise RemoteError("the server's answer is not a sequence of .npy arrays")
        major = body[off + 6]
        hl_size = 2 if major == 1 else 4
        hl = int.from_bytes(body[off + 8:off + 8 + hl_size], "little")
        start = off + 8 + hl_size + hl
        m = _HEADER.match(bytes(body[off + 8 + hl_size:start]).decode("latin1"))
        if not m:
            raise RemoteError("the server's answer has a .npy header this client does not read")
        dtype = np.dtype(m.group(1))
        shape = tuple(int(d) for d in m.group(3).replace(" ", "").split(",") if d)
        count = 1
        for d in shape:
            count *= d
        a = np.frombuffer(body, dtype=dtype, count=count, offset=start)
        out.append(a.reshape(shape, order="F" if m.group(2) == "True" else "C"))
        off = start + count * dtype.itemsize
    return out


class auto_calib_debug:
    """Iterates over the server's rounds: yields 'running' (a model is being served: run your test set through
    run_and_get_outputs, then report_accuracy), 'temporary_fail' (this round failed on the server, or the server
    cannot be reached: go on with the next) and 'finished'."""

    def __init__(self, ip_port, timeout=10, token=None, poll=0.2, down_limit=600):
        self.host, self.port = _split(ip_port)
        self.timeout = timeout
        self.token = token if token is not None else os.environ.get("CALIB8_TOKEN") or None
        self.poll = poll
        self.down_limit = down_limit  # seconds of an unreachable server before iterating raises
        self._down_since = None
        self.round = None
        self.instance = None
        self.strategy = None
        self.inputs = None   # [{"name", "dtype", "shape"}] from the server
        self.outputs = None  # output names, in order
        self.max_body = None
        self._conn = None
        self._reported = set()
        self._failed_seen = set()
        self._finished = False

    # ---- HTTP ------------------------------------------------------------------------------------------------
    def _request(self, method, path, body=None, headers=None):
        """(status, body bytes); a timeout or a dropped connection is retried once on a new connection."""
        h = {"Connection": "keep-alive"}
        if self.token:
            h["Authorization"] = "Bearer " + self.token
        if headers:
            h.update(headers)
        last = None
        for _attempt in range(2):
            try:
                if self._conn is None:
                    self._conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
                try:
                    self._conn.request(method, path, body=body, headers=h)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the server may have answered early (413, 401) and closed: read its answer below
                r = self._conn.getresponse()
                data = r.read()
                if r.getheader("Connection", "").lower() == "close":
                    self._close()
                return r.status, data
            except (socket.timeout, TimeoutError, http.client.RemoteDisconnected, ConnectionResetError,
                    BrokenPipeError, http.client.CannotSendRequest, http.client.ResponseNotReady) as e:
                last = e
                self._close()
            except OSError as e:  # refused, unreachable: no retry
                self._close()
                raise RemoteError("cannot reach the calib8 server at %s:%d (%s)" % (self.host, self.port, e)) from e
        raise RemoteError("no answer from the calib8 server at %s:%d after two tries (%s)"
                          % (self.host, self.port, last or "timeout"))

    def _close(self):
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None

    @staticmethod
    def _check(status, data):
        if status == 200:
            return
        try:
            msg = json.loads(data.decode("utf-8"))["error"]
        except Exception:  # not the server's JSON: show what came
            msg = data[:200].decode("utf-8", "replace").strip() or "no message"
        raise RemoteError("calib8 server: %s (HTTP %d)" % (msg, status), status)

    def state(self):
        """The server's /v1/state as a dict."""
        status, data = self._request("GET", "/v1/state")
        self._check(status, data)
        s = json.loads(data.decode("utf-8"))
        if s.get("version") != WIRE_VERSION:
            raise RemoteError("the server speaks wire version %s, this client %d: use the calib8.remote of the "
                              "server's calib8" % (s.get("version"), WIRE_VERSION))
        self.inputs, self.outputs, self.max_body = s.get("inputs"), s.get("outputs"), s.get("max_body")
        return s

    # ---- the loop --------------------------------------------------------------------------------------------
    def __iter__(self):
        return self

    def __next__(self):
        if self._finished:
            raise StopIteration
        while True:
            try:
                s = self.state()
            except RemoteError as e:
                if e.status:  # the server answered with an error: not a network problem
                    raise
                now = time.monotonic()
                self._down_since = self._down_since or now
                if now - self._down_since > self.down_limit:
                    raise RemoteError("%s for %.0f s: giving up" % (e, now - self._down_since)) from e
                time.sleep(1.0)  # down (killed, restarting): this round failed for now
                return "temporary_fail"
            self._down_since = None
            key = (s["instance"], s["round"])
            if s["state"] == "finished":
                self._finished = True
                return "finished"
            if s["state"] == "waiting" or key in self._reported:
                time.sleep(self.poll)
                continue
            if s["state"] == "temporary_fail" and key not in self._failed_seen:
                self._failed_seen.add(key)
                return "temporary_fail"
            self.instance, self.round, self.strategy = s["instance"], s["round"], s.get("strategy")
            return "running"

    def run_and_get_outputs(self, x):
        """Runs the model of the current round on x (a numpy array, a list of them in input order, or a dict by
        input name) and returns the outputs as a list of numpy arrays in the model's output order."""
        if self.inputs is None:
            self.state()
        names = [i["name"] for i in self.inputs]
        if isinstance(x, dict):
            missing = [n for n in names if n not in x]
            if missing:
                raise ValueError("no array for input(s) %s (the model's inputs: %s)" % (missing, names))
            arrays = [x[n] for n in names]
        elif isinstance(x, (list, tuple)):
            arrays = list(x)
        else:
            arrays = [x]
        conv = []
        for a, info in zip(arrays, self.inputs):
            a = np.asarray(a)
            want = np.dtype(info["dtype"]) if info.get("dtype") not in (None, "bool") else np.bool_
            if a.dtype != want and a.dtype.kind in "fiub" and np.dtype(want).kind in "fiub":
                a = a.astype(want)
            conv.append(a)
        conv += [np.asarray(a) for a in arrays[len(self.inputs):]]
        body = _npy_bytes(conv)
        if self.max_body and len(body) > self.max_body:
            raise RemoteError("the batch takes %d bytes, more than the server's limit of %d (calib8 serve --max-body): "
                              "send smaller batches" % (len(body), self.max_body), 413)
        headers = {"Content-Type": "application/octet-stream"}
        if self.round is not None:
            headers["X-Calib8-Round"] = str(self.round)
        status, data = self._request("POST", "/v1/run", body=body, headers=headers)
        self._check(status, data)
        return _npy_list(data)

    def report_accuracy(self, score):
        """Reports this round's score (higher is better); the server picks the next strategy from it."""
        if self.round is None:
            raise RemoteError("report_accuracy before any round: iterate first")
        body = json.dumps({"round": self.round, "score": float(score)}).encode()
        status, data = self._request("POST", "/v1/report", body=body, headers={"Content-Type": "application/json"})
        self._check(status, data)
        self._reported.add((self.instance, self.round))
