"""calib8's Python API over libcalib8.so (ctypes). See docs/api.md."""
import os
import time
from ctypes import POINTER, byref, c_char_p, c_double, c_int, c_int64, c_uint8, c_void_p, cast

import numpy as np

from . import _lib
from ._errors import Error, InvalidArgument, Unsupported, BudgetNotMet, check, error_for
from ._lib import lib

# ONNX TensorProto.DataType codes (calib8_dtype) <-> numpy
_NP_OF = {1: np.float32, 2: np.uint8, 3: np.int8, 4: np.uint16, 5: np.int16, 6: np.int32, 7: np.int64,
          9: np.bool_, 10: np.float16, 11: np.float64, 12: np.uint32, 13: np.uint64}
_CODE_OF = {np.dtype(t): c for c, t in _NP_OF.items()}


def _b(s):
    """A C string argument: None, or UTF-8 / file system bytes."""
    if s is None:
        return None
    if isinstance(s, bytes):
        return s
    if isinstance(s, os.PathLike):
        return os.fsencode(s)
    return str(s).encode("utf-8")


def _s(b):
    return None if b is None else b.decode("utf-8", "replace")


class TensorInfo:
    """A model input or output: name, numpy dtype (None for strings) and shape, where a dynamic dimension is
    its symbolic name (a str) or None; shape is None when the model declares none."""

    def __init__(self, vi):
        self.name = _s(vi.name)
        self.code = vi.dtype
        self.dtype = np.dtype(_NP_OF[vi.dtype]) if vi.dtype in _NP_OF else None
        if vi.rank < 0:
            self.shape = None
        else:
            self.shape = tuple(int(vi.dims[i]) if vi.dims[i] >= 0 else _s(vi.dim_names[i])
                               for i in range(vi.rank))
        self.fixed_batch = (self.shape[0] if self.shape and isinstance(self.shape[0], int) and self.shape[0] > 0
                            else 0)

    def __repr__(self):
        return "TensorInfo(%r, %s, %r)" % (self.name, self.dtype, self.shape)


# ---- callbacks from C --------------------------------------------------------------------------------------

class _Guard:
    """Runs Python callbacks for C: an exception inside one is kept, the callback returns an error status to
    C (or asks the run to stop), and the caller re-raises it once the C function has returned."""

    def __init__(self):
        self.error = None

    def wrap(self, fn, fail, what):
        def wrapped(*args):
            if self.error is not None:
                return fail
            try:
                return fn(*args)
            except BaseException as e:  # KeyboardInterrupt and SystemExit too: they are re-raised after C returns
                self.error = e
                if fail is not None and fail != 0:
                    lib.set_error(_lib.CANCELLED, _b("%s raised %s: %s" % (what, type(e).__name__, e)))
                return fail
        return wrapped

    def reraise(self):
        if self.error is not None:
            e, self.error = self.error, None
            raise e


def _call(status, *guards):
    """Raises the exception a Python callback raised during the call, else the status's calib8.Error."""
    for g in guards:
        if g is not None:
            g.reraise()
    check(status)


# ---- running a session ------------------------------------------------------------------------------------

def _as_array(x, info, where):
    if not isinstance(x, np.ndarray):
        if hasattr(x, "detach") and hasattr(x, "numpy"):  # a torch tensor, without importing torch
            x = x.detach().cpu().numpy()
        elif hasattr(x, "numpy"):
            x = x.numpy()
    a = np.asarray(x)
    if info is not None and info.dtype is not None and a.dtype != info.dtype and \
            np.can_cast(a.dtype, info.dtype, "same_kind"):
        a = a.astype(info.dtype)
    a = np.ascontiguousarray(a)
    if a.dtype not in _CODE_OF:
        raise InvalidArgument("%s has numpy dtype %s, which calib8 does not read" % (where, a.dtype))
    if a.ndim > _lib.MAX_RANK:
        raise InvalidArgument("%s has %d dimensions; calib8 reads at most %d" % (where, a.ndim, _lib.MAX_RANK))
    return a


def _normalize(feeds, infos, batches):
    """[(TensorInfo, array)] in model input order from an array, a dict name -> array, or a list/tuple of arrays.
    batches: a tuple/list from a data loader may carry more (labels): the first elements are the inputs, and
    a dict as the first element is the inputs."""
    names = [i.name for i in infos]
    if batches and isinstance(feeds, (tuple, list)) and feeds:
        feeds = feeds[0] if isinstance(feeds[0], dict) or len(infos) == 1 else feeds[:len(infos)]
    if isinstance(feeds, dict):
        unknown = [k for k in feeds if k not in names]
        if unknown:
            raise InvalidArgument("input '%s' is not an input of the model (inputs: %s)"
                                  % (unknown[0], ", ".join(names)))
        return [(i, _as_array(feeds[i.name], i, "input '%s'" % i.name)) for i in infos if i.name in feeds]
    if isinstance(feeds, (tuple, list)):
        if len(feeds) != len(infos):
            raise InvalidArgument("%d arrays given for a model with %d inputs (%s)"
                                  % (len(feeds), len(infos), ", ".join(names)))
        return [(i, _as_array(x, i, "input '%s'" % i.name)) for i, x in zip(infos, feeds)]
    if len(infos) != 1:
        raise InvalidArgument("one array given for a model with %d inputs (%s): pass a dict name -> array"
                              % (len(infos), ", ".join(names)))
    return [(infos[0], _as_array(feeds, infos[0], "input '%s'" % infos[0].name))]


def _fill_tensor(t, a):
    t.dtype = _CODE_OF[a.dtype]
    t.rank = a.ndim
    for k, d in enumerate(a.shape):
        t.dims[k] = d
    t.data = a.ctypes.data


def _output_array(view):
    if view.dtype not in _NP_OF:
        raise Unsupported("output of type %s cannot be read from Python" % _s(lib.dtype_name(view.dtype)))
    dtype = np.dtype(_NP_OF[view.dtype])
    shape = tuple(view.dims[k] for k in range(view.rank))
    n = int(np.prod(shape, dtype=np.int64)) if shape else 1
    if n == 0 or not view.data:
        return np.zeros(shape, dtype)
    raw = np.ctypeslib.as_array(cast(view.data, POINTER(c_uint8)), shape=(n * dtype.itemsize,))
    return raw.view(dtype).reshape(shape).copy()


def _run_session(session, infos, feeds, as_dict):
    pairs = _normalize(feeds, infos, batches=False)
    n = len(pairs)
    names = (c_char_p * n)(*[_b(i.name) for i, _ in pairs])
    tensors = (_lib.Tensor * n)()
    for t, (_, a) in zip(tensors, pairs):
        _fill_tensor(t, a)
    check(lib.session_run(session, n, names, tensors))
    out = []
    for k in range(lib.session_output_count(session)):
        view = _lib.Tensor()
        check(lib.session_output(session, k, byref(view)))
        out.append((_s(lib.session_output_name(session, k)), _output_array(view)))
    return dict(out) if as_dict else [a for _, a in out]


class Model:
    """An ONNX model loaded by calib8. .inputs / .outputs describe it (calib8.TensorInfo); .run(feeds) runs it
    on calib8's engine with `threads` worker threads (0 = every core)."""

    def __init__(self, path, threads=0, optimize=True):
        self._ptr = None
        self._session = None
        p = c_void_p()
        check(lib.model_load(_b(path), byref(p)))
        self._ptr = p
        self.path = os.fspath(path)
        self.threads = threads
        self.optimize = optimize
        self.inputs = [self._info(lib.model_input_info, k) for k in range(lib.model_input_count(p))]
        self.outputs = [self._info(lib.model_output_info, k) for k in range(lib.model_output_count(p))]

    def _info(self, fn, k):
        vi = _lib.ValueInfo()
        check(fn(self._ptr, k, byref(vi)))
        return TensorInfo(vi)

    @property
    def opset(self):
        return lib.model_opset(self._live())

    @property
    def parameter_count(self):
        return lib.model_parameter_count(self._live())

    @property
    def operators(self):
        """The graph's nodes as loaded: a list of (name, op type)."""
        p = self._live()
        return [(_s(lib.model_node_name(p, k)), _s(lib.model_node_op(p, k)))
                for k in range(lib.model_node_count(p))]

    def _live(self):
        if self._ptr is None:
            raise InvalidArgument("model '%s' is closed" % self.path)
        return self._ptr

    def _session_ptr(self):
        if self._session is None:
            so = lib.session_options_default()
            so.threads = self.threads
            so.optimize = 1 if self.optimize else 0
            s = c_void_p()
            check(lib.session_create(self._live(), byref(so), byref(s)))
            self._session = s
        return self._session

    def run(self, feeds, as_dict=False):
        """Runs the model on one batch: feeds is an array (one-input models), a list of arrays in input order
        or a dict name -> array (numpy, or anything with .numpy() such as a torch tensor). Returns the outputs
        as a list of numpy arrays in output order, or a dict name -> array with as_dict=True."""
        return _run_session(self._session_ptr(), self.inputs, feeds, as_dict)

    def close(self):
        if self._session is not None:
            lib.session_destroy(self._session)
            self._session = None
        if self._ptr is not None:
            lib.model_destroy(self._ptr)
            self._ptr = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass

    def __repr__(self):
        return "calib8.Model(%r, inputs=%r, outputs=%r)" % (self.path, self.inputs, self.outputs)


class Candidate:
    """A quantized candidate model that calib8.auto asks the score function to score: .inputs, .outputs and
    .run(feeds) as calib8.Model's. Valid only during the call to the score function."""

    def __init__(self, session, inputs, index):
        self._session = session
        self.inputs = inputs
        self.index = index  # the trial's number (0 for the FP32 model)

    @property
    def outputs(self):
        s = self._live()
        return [_s(lib.session_output_name(s, k)) for k in range(lib.session_output_count(s))]

    def _live(self):
        if self._session is None:
            raise InvalidArgument("a calib8.Candidate is valid only during the score function's call")
        return self._session

    def run(self, feeds, as_dict=False):
        return _run_session(self._live(), self.inputs, feeds, as_dict)


def _model_arg(model, threads=0):
    """(Model, owned): a path is loaded (and closed by the caller), a Model is borrowed."""
    if isinstance(model, Model):
        return model, False
    return Model(model, threads=threads), True


# ---- datasets ---------------------------------------------------------------------------------------------

def _is_spec(data):
    if isinstance(data, (str, bytes, os.PathLike)):
        return True
    return isinstance(data, (list, tuple)) and len(data) > 0 and \
        all(isinstance(d, (str, bytes, os.PathLike)) for d in data)


class _Source:
    """The caller's batches as a calib8_batch_source: an iterable of arrays, dicts name -> array, or tuples
    whose first element is the inputs (a DataLoader's (images, labels)). rewind calls iter() again when the
    iterable can be iterated again (iter(x) is not x: a list, a DataLoader), else it is NULL (one pass)."""

    def __init__(self, iterable, infos, limit, guard):
        self.iterable = iterable
        self.infos = infos
        self.limit = limit
        self.it = None
        self.seen = 0
        self.keep = None
        self.names = [_b(i.name) for i in infos]
        try:
            reiterable = iter(iterable) is not iterable
        except TypeError:
            raise InvalidArgument("data must be a dataset spec (a path) or an iterable of batches, not %s"
                                  % type(iterable).__name__) from None
        self.next_cb = _lib.NEXT_FN(guard.wrap(self._next, _lib.CANCELLED, "the data iterable"))
        self.rewind_cb = _lib.REWIND_FN(guard.wrap(self._rewind, _lib.CANCELLED, "the data iterable")) \
            if reiterable else _lib.REWIND_FN()
        self.struct = _lib.BatchSource(self.next_cb, self.rewind_cb, None)

    def _rewind(self, user):
        self.it = iter(self.iterable)
        self.seen = 0
        return _lib.OK

    def _next(self, user, batch_ptr):
        batch = batch_ptr.contents
        if self.it is None:
            self.it = iter(self.iterable)
        if self.limit and self.seen >= self.limit:
            batch.rows = 0
            return _lib.OK
        try:
            item = next(self.it)
        except StopIteration:
            batch.rows = 0
            self.keep = None
            return _lib.OK
        pairs = _normalize(item, self.infos, batches=True)
        if not pairs or pairs[0][1].ndim == 0:
            raise InvalidArgument("a batch from the data iterable has no leading batch dimension")
        rows = pairs[0][1].shape[0]
        if self.limit and self.seen + rows > self.limit:
            rows = self.limit - self.seen
            pairs = [(i, np.ascontiguousarray(a[:rows])) for i, a in pairs]
        padded = []
        for info, a in pairs:
            fb = info.fixed_batch
            if fb and a.ndim > 0 and 0 < a.shape[0] < fb:
                # a fixed-batch model: the short batch is padded by repeating its last sample; only `rows` count
                a = np.ascontiguousarray(np.concatenate([a, np.repeat(a[-1:], fb - a.shape[0], axis=0)]))
            padded.append((info, a))
        self.keep = padded  # the arrays stay alive until the next call, as calib8_batch_source requires
        batch.n_inputs = len(padded)
        for k, (info, a) in enumerate(padded):
            batch.names[k] = _b(info.name)
            _fill_tensor(batch.inputs[k], a)
        batch.rows = rows
        self.seen += rows
        return _lib.OK


class _Data:
    """A calib8_dataset over a spec (paths, with preprocessing) or the caller's iterable."""

    def __init__(self, model, data, preprocess=None, template=None, batch=0, limit=0, guard=None):
        self.ptr = None
        self.source = None
        self.guard = guard or _Guard()
        p = c_void_p()
        if _is_spec(data):
            specs = [data] if isinstance(data, (str, bytes, os.PathLike)) else list(data)
            self.specs = [os.fsdecode(s) for s in specs]
            arr = (c_char_p * len(specs))(*[_b(s) for s in specs])
            o = lib.dataset_options_default()
            o.preprocess = _b(preprocess)
            o.template_name = _b(template)
            o.batch = batch
            o.limit = limit
            check(lib.dataset_open(model._live(), len(specs), arr, byref(o), byref(p)))
        else:
            if preprocess or template:
                raise InvalidArgument("preprocess/template apply to dataset specs (paths); the arrays of an "
                                      "iterable are fed as they are")
            self.specs = []
            self.source = _Source(data, model.inputs, limit, self.guard)
            check(lib.dataset_from_source(model._live(), byref(self.source.struct), byref(p)))
        self.ptr = p

    def close(self):
        if self.ptr is not None:
            lib.dataset_close(self.ptr)
            self.ptr = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def _progress_cb(progress, guard):
    if progress is None:
        return _lib.PROGRESS_FN()
    return _lib.PROGRESS_FN(guard.wrap(lambda u, stage, done, total: progress(_s(stage), done, total), None,
                                       "the progress function"))


# ---- quantize ---------------------------------------------------------------------------------------------

_WEIGHTS = {"minmax": 0, "admm": 1}
_GRANULARITY = {"per-channel": 0, "per-tensor": 1, "mix": 2}
_PRECISION = {0: "auto", 1: "int8", 2: "fp32"}


def _method(name):
    m = lib.method_parse(_b(name))
    if m < 0:
        raise InvalidArgument("method '%s' is not one of kl, max, percentile, mse, aciq" % name)
    return m


def _choice(table, value, what):
    if value not in table:
        raise InvalidArgument("%s '%s' is not one of %s" % (what, value, ", ".join(table)))
    return table[value]


class QuantizeResult:
    """What calib8.quantize did: the files written, the calibration samples, and the plan's layers."""

    def __init__(self, **kw):
        self.__dict__.update(kw)

    def __repr__(self):
        return "calib8.QuantizeResult(output=%r, samples=%d, int8_layers=%d of %d, int8_macs=%.3f)" % (
            self.output, self.samples, self.int8_layers, len(self.layers), self.int8_macs)


def _tensor_names(v):
    if v is None or isinstance(v, str):
        return v
    return ",".join(v)


def quantize(model, calib, output, preprocess=None, template=None, method="kl", percentile=0.0,
             weights="minmax", granularity="per-channel", asymmetric=False, bias_correction=False,
             equalize=False, use_qtable=None, fp32_after=None, fp32_before=None, fp32_heads=False,
             fpfwd_outputs=None, fpfwd_inputs=None, fp32_layers=(), per_tensor_method=False, table=None, trt_cache=None, qtable=None, json=None,
             limit=0, batch=0, threads=0, progress=None):
    """Quantizes `model` (a path or a calib8.Model) calibrated on `calib` and writes the QDQ ONNX model to
    `output`, as `calib8 quantize` does (docs/quantization.md); the same data gives the same bytes.

    calib: a dataset spec (a folder of images or .npy files, a list file, "NAME=SRC", ...; a list of them for
    several inputs) read with `preprocess` (a preprocessing string) or `template`, `batch` and `limit`; or any
    iterable of batches: numpy arrays (or torch tensors), dicts input name -> array, or tuples whose first
    element is the batch (a DataLoader's (images, labels)); `limit` then counts samples too.
    Optional outputs: table (calibration table), trt_cache (TensorRT cache), qtable (per-layer precision, to
    write), json (summary). use_qtable reads a qtable of per-layer precisions to apply; fp32_after/fp32_before
    (tensors), fpfwd_outputs/fpfwd_inputs (layers, as NNTC's --fpfwd_*), fp32_layers (node names) and fp32_heads
    keep layers in FP32. Every file is written
    whole or not at all. progress(stage, done, total) is called during calibration.
    Returns a calib8.QuantizeResult; raises a calib8.Error with the library's message."""
    m, owned = _model_arg(model, threads)
    guard = _Guard()
    session = eq_session = cal = plan = None
    data = None
    try:
        t0 = time.monotonic()
        outs = _lib.Outputs(_b(output), _b(table), _b(trt_cache), _b(qtable), _b(json))
        inputs, roles = [m.path], ["the input model"]
        if use_qtable is not None:
            inputs.append(os.fspath(use_qtable)), roles.append("the qtable read with use_qtable")
        if _is_spec(calib):
            for s in ([calib] if isinstance(calib, (str, bytes, os.PathLike)) else calib):
                inputs.append(os.fsdecode(s)), roles.append("the calibration source")
        ins = (c_char_p * len(inputs))(*[_b(x) for x in inputs])
        rls = (c_char_p * len(roles))(*[_b(x) for x in roles])
        optnames = (c_char_p * 6)(b"output", b"table", b"trt_cache", b"qtable", b"json", b"record")
        check(lib.outputs_check(byref(outs), optnames, len(inputs), ins, rls))

        so = lib.session_options_default()
        so.threads = threads
        session = c_void_p()
        check(lib.session_create(m._live(), byref(so), byref(session)))
        pairs = c_int(-1)
        if equalize:
            eq_session = c_void_p()
            check(lib.session_equalize(session, 0, byref(so), byref(pairs), byref(eq_session)))
        run_session = eq_session if equalize else session

        data = _Data(m, calib, preprocess, template, batch, limit, guard)
        co = _lib.CalibrationOptions(1 if bias_correction else 0)
        cal = c_void_p()
        check(lib.calibration_create(run_session, byref(co), byref(cal)))
        _call(lib.calibration_add_dataset(cal, data.ptr, _progress_cb(progress, guard), None), guard)

        q = lib.quant_options_default()
        q.method = _method(method)
        q.percentile = percentile
        q.weights = _choice(_WEIGHTS, weights, "weights")
        q.granularity = _choice(_GRANULARITY, granularity, "granularity")
        q.asymmetric = int(bool(asymmetric))
        q.bias_correction = int(bool(bias_correction))
        q.qtable = _b(use_qtable)
        q.fp32_after = _b(_tensor_names(fp32_after))
        q.fp32_before = _b(_tensor_names(fp32_before))
        q.fp32_heads = int(bool(fp32_heads))
        q.fpfwd_outputs = _b(_tensor_names(fpfwd_outputs))
        q.fpfwd_inputs = _b(_tensor_names(fpfwd_inputs))
        layers = [_b(x) for x in fp32_layers]
        layer_arr = (c_char_p * max(1, len(layers)))(*layers)
        q.fp32_layers = cast(layer_arr, POINTER(c_char_p)) if layers else None
        q.n_fp32_layers = len(layers)
        q.choose_method_per_tensor = int(bool(per_tensor_method))
        plan = c_void_p()
        check(lib.qplan_build(run_session, cal, byref(q), byref(plan)))
        seconds = time.monotonic() - t0

        extra = _lib.SummaryExtra(m._live(), _b(m.path), _b(output), seconds, pairs.value if equalize else -1,
                                  None, float("nan"), float("nan"), 0)
        check(lib.qplan_write(plan, byref(outs), byref(extra)))

        info = []
        li = _lib.LayerInfo()
        for k in range(lib.qplan_layer_count(plan)):
            check(lib.qplan_layer(plan, k, byref(li)))
            info.append((_s(li.name), _s(li.op), _PRECISION.get(li.precision, "auto")))
        total, int8 = c_int64(), c_int64()
        lib.qplan_macs(plan, byref(total), byref(int8))
        return QuantizeResult(output=os.fspath(output), samples=lib.calibration_samples(cal), layers=info,
                              int8_layers=sum(1 for x in info if x[2] == "int8"),
                              int8_macs=int8.value / total.value if total.value else 0.0,
                              equalized_pairs=pairs.value if equalize else None, seconds=seconds)
    finally:
        if plan is not None:
            lib.qplan_destroy(plan)
        if cal is not None:
            lib.calibration_destroy(cal)
        if data is not None:
            data.close()
        if eq_session is not None:
            lib.session_destroy(eq_session)
        if session is not None:
            lib.session_destroy(session)
        if owned:
            m.close()


# ---- evaluate and compare ---------------------------------------------------------------------------------

class EvalResult:
    """score in [0, 1] over count samples; correct (top-k hits or agreements, else -1); kind ("top1", ...,
    "top1_agreement", "mean_cosine"); labels (the file used)."""

    def __init__(self, r):
        self.score, self.count, self.correct = r.score, r.count, r.correct
        self.kind, self.labels = _s(r.kind), _s(r.labels)
        self.first_class, self.first_prob = r.first_class, r.first_prob

    def __repr__(self):
        return "calib8.EvalResult(%s=%.4f over %d samples)" % (self.kind, self.score, self.count)


def _metric(name):
    m = lib.metric_parse(_b(name))
    if m < 0:
        raise InvalidArgument("metric '%s' is not one of top1, top5, map50, map, similarity" % name)
    return m


def _eval_options(metric, labels, preprocess, template, batch, limit, decode, reference, threads):
    eo = lib.eval_options_default()
    eo.metric = _metric(metric)
    eo.labels = _b(labels)
    if decode is not None:
        d = lib.decode_parse(_b(decode))
        if d < 0:
            raise InvalidArgument("decode '%s' is not yolov5, yolov8 or boxes" % decode)
        eo.decode = d
    eo.reference = reference._live() if reference is not None else None
    eo.data.preprocess = _b(preprocess)
    eo.data.template_name = _b(template)
    eo.data.batch = batch
    eo.data.limit = limit
    eo.threads = threads
    return eo


def evaluate(model, test, metric="top1", labels=None, preprocess=None, template=None, batch=0, limit=0,
             decode=None, reference=None, threads=0):
    """Scores `model` (a path or a calib8.Model) on the test set `test` (a dataset spec) with a built-in metric
    (docs/metrics.md): top1/top5 with class labels, map50/map with box labels, or similarity to `reference`
    (a path or Model; default: the model's own FP32 run). Returns a calib8.EvalResult."""
    m, owned = _model_arg(model, threads)
    ref, ref_owned = _model_arg(reference, threads) if reference is not None else (None, False)
    ev = None
    try:
        eo = _eval_options(metric, labels, preprocess, template, batch, limit, decode, ref, threads)
        ev = c_void_p()
        check(lib.evaluator_create(m._live(), _b(test), byref(eo), byref(ev)))
        r = _lib.EvalResult()
        check(lib.evaluate(ev, m._session_ptr(), byref(r)))
        return EvalResult(r)
    finally:
        if ev is not None:
            lib.evaluator_destroy(ev)
        if ref_owned:
            ref.close()
        if owned:
            m.close()


class CompareResult:
    """The layer-wise comparison of an FP32 model with its INT8 model: rows (one dict per shared tensor, in
    the FP32 graph's order), samples, and the verdict at the tolerance: first_below (the first tensor whose
    accumulated similarity is below it, or None), itself (its own layer causes it), worst_before."""

    def __init__(self, **kw):
        self.__dict__.update(kw)

    def __repr__(self):
        return "calib8.CompareResult(%d tensors, %d samples, first_below=%r)" % (
            len(self.rows), self.samples, self.first_below)


def _stats(s):
    return {"cosine": s.cosine, "euclidean": s.euclidean, "sqnr_db": s.sqnr_db}


def compare(fp32, int8, data, preprocess=None, template=None, batch=0, limit=0, tolerance=(0.9, 0.5),
            json=None, threads=0):
    """Runs the FP32 model and its INT8 model on `data` (a dataset spec or an iterable of batches, as in
    calib8.quantize) and compares every tensor they share, as `calib8 compare` does. tolerance is
    (cosine, euclidean); json writes the comparison. Returns a calib8.CompareResult."""
    a, a_owned = _model_arg(fp32, threads)
    b, b_owned = _model_arg(int8, threads)
    guard = _Guard()
    cmp = None
    ds = None
    try:
        check(lib.model_check_same_inputs(a._live(), _b(a.path), b._live(), _b(b.path)))
        cmp = c_void_p()
        check(lib.compare_create(a._session_ptr(), b._session_ptr(), byref(cmp)))
        ds = _Data(a, data, preprocess, template, batch, limit, guard)
        _call(lib.compare_dataset(cmp, ds.ptr), guard)
        rows = []
        row = _lib.CompareRow()
        for k in range(lib.compare_row_count(cmp)):
            check(lib.compare_row_at(cmp, k, byref(row)))
            rows.append({"name": _s(row.name), "op": _s(row.op), "node": _s(row.node),
                         "accumulated": _stats(row.accumulated), "isolated": _stats(row.isolated),
                         "compared": bool(row.compared), "mismatch": bool(row.mismatch)})
        v = _lib.CompareVerdict()
        check(lib.compare_verdict_at(cmp, tolerance[0], tolerance[1], byref(v)))
        if json is not None:
            check(lib.compare_write_json(cmp, tolerance[0], tolerance[1], _b(a.path), _b(b.path), _b(json)))

        def name(i):
            return rows[i]["name"] if i >= 0 else None
        return CompareResult(rows=rows, samples=lib.compare_samples(cmp), compared=v.compared,
                             mismatched=v.mismatched, first_below=name(v.first_below),
                             itself=bool(v.itself) if v.first_below >= 0 else None,
                             worst_before=name(v.worst_before), tolerance=tuple(tolerance))
    finally:
        if ds is not None:
            ds.close()
        if cmp is not None:
            lib.compare_destroy(cmp)
        if b_owned:
            b.close()
        if a_owned:
            a.close()


# ---- auto and sensitivity ---------------------------------------------------------------------------------

class Trial:
    """One trial of calib8.auto: index, strategy, score, drop, seconds, int8_macs (share), fp32_layers,
    within_budget, replayed."""

    def __init__(self, t):
        self.index, self.strategy = t.index, _s(t.strategy)
        self.score, self.drop, self.seconds, self.int8_macs = t.score, t.drop, t.seconds, t.int8_macs
        self.fp32_layers, self.within_budget, self.replayed = t.fp32_layers, bool(t.within_budget), bool(t.replayed)

    def __repr__(self):
        return "calib8.Trial(%d, %r, score=%.4f, drop=%+.4f, fp32_layers=%d%s)" % (
            self.index, self.strategy, self.score, self.drop, self.fp32_layers,
            "" if self.within_budget else ", over budget")


class SearchResult:
    """calib8.auto's outcome: fp32_score, n_trials, choice (the calib8.Trial written to output), the files
    written (output, qtable, table, log), calibration_seconds and calibration_samples."""

    def __init__(self, r, output):
        self.fp32_score, self.n_trials = r.fp32_score, r.n_trials
        self.choice = Trial(r.choice)
        self.choice.strategy = _s(r.strategy) or self.choice.strategy
        self.calibration_seconds, self.calibration_samples = r.calibration_seconds, r.calibration_samples
        self.output = output
        self.qtable, self.table, self.log = _s(r.qtable), _s(r.table), _s(r.log)

    def __repr__(self):
        return "calib8.SearchResult(fp32_score=%.4f, %d trials, choice=%r)" % (
            self.fp32_score, self.n_trials, self.choice)


def _search_options(guard, keep, m, score, metric_name, evaluator, mode, max_drop, max_trials, fp32_score,
                    fp32_diff, output, qtable, table, log, json, resume, threads, on_trial, verbose, progress):
    so = lib.search_options_default()
    so.mode = _choice({"fast": 0, "full": 1}, mode, "mode")
    if max_drop is not None:
        so.max_drop = max_drop
    so.max_trials = max_trials
    if score is not None:
        counter = [0]

        def score_cb(user, session, out):
            cand = Candidate(session, m.inputs, counter[0])
            counter[0] += 1
            try:
                v = score(cand)
            finally:
                cand._session = None
            v = float(v)
            out[0] = v
            return _lib.OK
        so.score = keep(_lib.SCORE_FN(guard.wrap(score_cb, _lib.CANCELLED, "the score function")))
        so.metric_name = _b(metric_name or getattr(score, "__name__", None) or "user")
    else:
        so.evaluator = evaluator
        so.metric_name = _b(metric_name)
    if fp32_score is not None:
        so.have_fp32_score = 1
        so.fp32_score = fp32_score
    if fp32_diff is not None:
        so.fp32_diff = fp32_diff
    so.output, so.qtable, so.table, so.log, so.json = [_b(x) for x in (output, qtable, table, log, json)]
    so.resume = int(bool(resume))
    so.threads = threads
    so.model_path = _b(m.path)
    if on_trial is not None:
        so.on_trial = keep(_lib.TRIAL_FN(guard.wrap(lambda u, t: on_trial(Trial(t.contents)), None,
                                                    "the on_trial function")))
    if verbose:
        import sys
        so.on_message = keep(_lib.MESSAGE_FN(guard.wrap(lambda u, line: print(_s(line), file=sys.stderr), None,
                                                        "the message function")))
    so.on_progress = keep(_progress_cb(progress, guard))
    # polled between steps: stops the run when a callback raised (KeyboardInterrupt included)
    so.cancel = keep(_lib.CANCEL_FN(guard.wrap(lambda u: 1 if guard.error is not None else 0, 1,
                                               "the cancel poll")))
    return so


def auto(model, calib, output, score=None, metric=None, test=None, labels=None, max_drop=0.005, mode="fast",
         max_trials=0, preprocess=None, template=None, batch=0, limit=0, test_limit=0, decode=None,
         fp32_score=None, fp32_diff=None, qtable=None, table=None, log=None, json=None, resume=False, threads=0,
         metric_name=None, on_trial=None, verbose=False, progress=None):
    """The accuracy-driven search of `calib8 auto` (docs/auto.md): finds the quantization of `model` calibrated
    on `calib` that keeps the score within max_drop of FP32 with the fewest FP32 layers and writes it to
    `output` (with its qtable, calibration table and trial log beside it, or where qtable/table/log say).

    Scoring, exactly one of:
      score=fn      fn(candidate) -> float, larger is better, in the units of max_drop: your own loop,
                    post-processing and metric over candidate.run(feeds) (a calib8.Candidate);
      metric=M      a built-in metric (top1, top5, map50, map, similarity) on the test set `test` (a dataset
                    spec read with preprocess/template, batch and test_limit) with `labels`.
    calib is a dataset spec or a re-iterable of batches (a list, a DataLoader: it is read more than once).
    on_trial(trial) is called after every trial; verbose prints the search's messages to stderr.
    Returns a calib8.SearchResult; raises calib8.BudgetNotMet (with .result; the best model is written all the
    same) when no trial met the budget, or another calib8.Error."""
    if (score is None) == (metric is None and test is None):
        raise InvalidArgument("auto needs exactly one scorer: score=fn, or metric= and test= for the built-in "
                              "evaluator")
    m, owned = _model_arg(model, threads)
    guard = _Guard()
    kept = []

    def keep(x):
        kept.append(x)
        return x
    ev = None
    data = None
    try:
        if score is None:
            if test is None:
                raise InvalidArgument("metric '%s' needs test=, the test set to score on" % metric)
            metric = metric or "top1"
            eo = _eval_options(metric, labels, preprocess, template, batch, test_limit, decode, None, threads)
            ev = c_void_p()
            check(lib.evaluator_create(m._live(), _b(test), byref(eo), byref(ev)))
            metric_name = metric_name or metric
        so = _search_options(guard, keep, m, score, metric_name, ev, mode, max_drop, max_trials, fp32_score,
                             fp32_diff, output, qtable, table, log, json, resume, threads, on_trial, verbose,
                             progress)
        data = _Data(m, calib, preprocess, template, batch, limit, guard)
        if data.source is not None and not data.source.rewind_cb:
            raise InvalidArgument("auto reads the calibration data more than once: pass a list or another "
                                  "re-iterable (a DataLoader), not a one-pass iterator or generator")
        r = _lib.SearchResult()
        st = lib.search_run(m._live(), data.ptr, byref(so), byref(r))
        guard.reraise()
        if st == _lib.BUDGET_NOT_MET:
            e = error_for(st)
            e.result = SearchResult(r, os.fspath(output))
            raise e
        check(st)
        return SearchResult(r, os.fspath(output))
    finally:
        if data is not None:
            data.close()
        if ev is not None:
            lib.evaluator_destroy(ev)
        if owned:
            m.close()


def sensitivity(model, calib, score=None, metric=None, test=None, labels=None, preprocess=None, template=None,
                batch=0, limit=0, test_limit=0, decode=None, threads=0, qtable=None, top=0, progress=None):
    """Ranks every compute layer of `model` by the loss it causes alone in INT8, worst first (`calib8
    sensitivity`): with score=fn or metric/test/labels the loss is the drop of that score, else 1 - cosine of
    the outputs on the first 64 calibration samples. Returns a list of dicts (layer, op, loss, best_method);
    qtable=PATH writes a qtable keeping the `top` worst layers in FP32."""
    m, owned = _model_arg(model, threads)
    guard = _Guard()
    kept = []

    def keep(x):
        kept.append(x)
        return x
    ev = rank = data = None
    try:
        if score is None and (metric is not None or test is not None):
            eo = _eval_options(metric or "top1", labels, preprocess, template, batch, test_limit, decode, None,
                               threads)
            ev = c_void_p()
            check(lib.evaluator_create(m._live(), _b(test), byref(eo), byref(ev)))
        so = _search_options(guard, keep, m, score, None, ev, "fast", None, 0, None, None, None, None, None, None,
                             None, False, threads, None, False, progress)
        data = _Data(m, calib, preprocess, template, batch, limit, guard)
        rank = c_void_p()
        _call(lib.sensitivity_run(m._live(), data.ptr, byref(so), byref(rank)), guard)
        rows = []
        row = _lib.SensitivityRow()
        methods = ["max", "kl", "percentile", "mse", "aciq"]
        for k in range(lib.sensitivity_count(rank)):
            check(lib.sensitivity_row_at(rank, k, byref(row)))
            rows.append({"layer": _s(row.layer), "op": _s(row.op), "loss": row.loss,
                         "best_method": methods[row.best_method] if 0 <= row.best_method < 5 else None})
        if qtable is not None:
            check(lib.sensitivity_write_qtable(rank, top, _b(qtable)))
        return rows
    finally:
        if rank is not None:
            lib.sensitivity_destroy(rank)
        if data is not None:
            data.close()
        if ev is not None:
            lib.evaluator_destroy(ev)
        if owned:
            m.close()


def preprocess_templates():
    """The named preprocessing templates: a list of (name, preprocessing string, note)."""
    return [(_s(lib.preprocess_template_name(k)), _s(lib.preprocess_template_text(k)),
             _s(lib.preprocess_template_note(k))) for k in range(lib.preprocess_template_count())]


__all__ = ["Model", "Candidate", "TensorInfo", "quantize", "evaluate", "compare", "auto", "sensitivity",
           "QuantizeResult", "EvalResult", "CompareResult", "SearchResult", "Trial", "preprocess_templates",
           "Error"]
