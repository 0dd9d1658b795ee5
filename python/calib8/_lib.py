"""ctypes declarations of libcalib8.so's public API (include/calib8/*.h).

Every structure here mirrors its C definition field by field; tests/python/test_layout.py checks sizes and
offsets against the C compiler's, so a header change that is not mirrored here fails a test instead of
corrupting memory.
"""
import ctypes
import os
from ctypes import (CFUNCTYPE, POINTER, Structure, c_char, c_char_p, c_double, c_int, c_int64, c_size_t,
                    c_uint64, c_void_p)

MAX_RANK = 8
MAX_INPUTS = 16

# calib8_status, in CALIB8_STATUS_LIST order
OK, INVALID_ARGUMENT, MALFORMED_MODEL, UNSUPPORTED, UNSUPPORTED_HARDWARE, OUT_OF_MEMORY, IO, INTERNAL, \
    CANCELLED, BUDGET_NOT_MET = range(10)

c_status = c_int


class Tensor(Structure):
    _fields_ = [("dtype", c_int), ("rank", c_int), ("dims", c_int64 * MAX_RANK), ("data", c_void_p)]


class ValueInfo(Structure):
    _fields_ = [("name", c_char_p), ("dtype", c_int), ("rank", c_int), ("dims", c_int64 * MAX_RANK),
                ("dim_names", c_char_p * MAX_RANK)]


class SessionOptions(Structure):
    _fields_ = [("threads", c_int), ("optimize", c_int), ("sub_batch", c_int)]


class DatasetOptions(Structure):
    _fields_ = [("preprocess", c_char_p), ("template_name", c_char_p), ("batch", c_int), ("limit", c_int64)]


class Batch(Structure):
    _fields_ = [("n_inputs", c_int), ("names", c_char_p * MAX_INPUTS), ("inputs", Tensor * MAX_INPUTS),
                ("rows", c_int)]


NEXT_FN = CFUNCTYPE(c_status, c_void_p, POINTER(Batch))
REWIND_FN = CFUNCTYPE(c_status, c_void_p)


class BatchSource(Structure):
    _fields_ = [("next", NEXT_FN), ("rewind", REWIND_FN), ("user", c_void_p)]


class CalibrationOptions(Structure):
    _fields_ = [("channel_means", c_int)]


PROGRESS_FN = CFUNCTYPE(None, c_void_p, c_char_p, c_int64, c_int64)


class TensorStats(Structure):
    _fields_ = [("name", c_char_p), ("min", c_double), ("max", c_double), ("count", c_int64),
                ("nonfinite", c_int64)]


class QuantOptions(Structure):
    _fields_ = [("method", c_int), ("percentile", c_double), ("weights", c_int), ("granularity", c_int),
                ("asymmetric", c_int), ("bias_correction", c_int), ("qtable", c_char_p),
                ("fp32_after", c_char_p), ("fp32_before", c_char_p), ("fp32_heads", c_int),
                ("fpfwd_outputs", c_char_p), ("fpfwd_inputs", c_char_p), ("fp32_layers", POINTER(c_char_p)), ("n_fp32_layers", c_int),
                ("choose_method_per_tensor", c_int)]


class LayerInfo(Structure):
    _fields_ = [("name", c_char_p), ("op", c_char_p), ("precision", c_int), ("macs", c_int64),
                ("depthwise", c_int), ("half_requested", c_int)]


class TensorQuant(Structure):
    _fields_ = [("name", c_char_p), ("threshold", c_double), ("lo", c_double), ("hi", c_double),
                ("scale", c_double), ("zero_point", c_int), ("dtype", c_int)]


class Outputs(Structure):
    _fields_ = [("model", c_char_p), ("table", c_char_p), ("trt_cache", c_char_p), ("qtable", c_char_p),
                ("json", c_char_p), ("record", c_char_p)]


class SummaryExtra(Structure):
    _fields_ = [("model", c_void_p), ("model_path", c_char_p), ("output_path", c_char_p),
                ("calibration_seconds", c_double), ("equalized_pairs", c_int), ("metric", c_char_p),
                ("fp32_score", c_double), ("int8_score", c_double), ("count", c_int64),
                ("predictions_json", c_char_p), ("planning_seconds", c_double), ("evaluation_seconds", c_double)]


class EvalOptions(Structure):
    _fields_ = [("metric", c_int), ("labels", c_char_p), ("decode", c_int), ("reference", c_void_p),
                ("cosine_only", c_int), ("data", DatasetOptions), ("threads", c_int)]


class EvalResult(Structure):
    _fields_ = [("metric", c_int), ("score", c_double), ("count", c_int64), ("correct", c_int64), ("kind", c_char_p),
                ("labels", c_char_p), ("first_class", c_int), ("first_prob", c_double)]


SCORE_FN = CFUNCTYPE(c_status, c_void_p, c_void_p, POINTER(c_double))


class SimilarityStats(Structure):
    _fields_ = [("cosine", c_double), ("euclidean", c_double), ("sqnr_db", c_double)]


class CompareRow(Structure):
    _fields_ = [("name", c_char_p), ("op", c_char_p), ("node", c_char_p), ("accumulated", SimilarityStats),
                ("isolated", SimilarityStats), ("compared", c_int), ("mismatch", c_int)]


class CompareVerdict(Structure):
    _fields_ = [("compared", c_int), ("mismatched", c_int), ("first_below", c_int), ("itself", c_int),
                ("worst_before", c_int)]


class Trial(Structure):
    _fields_ = [("index", c_int), ("strategy", c_char_p), ("score", c_double), ("drop", c_double),
                ("seconds", c_double), ("int8_macs", c_double), ("fp32_layers", c_int),
                ("within_budget", c_int), ("replayed", c_int)]


TRIAL_FN = CFUNCTYPE(None, c_void_p, POINTER(Trial))
MESSAGE_FN = CFUNCTYPE(None, c_void_p, c_char_p)
CANCEL_FN = CFUNCTYPE(c_int, c_void_p)


class SearchOptions(Structure):
    _fields_ = [("mode", c_int), ("max_drop", c_double), ("max_trials", c_int), ("score", SCORE_FN),
                ("score_user", c_void_p), ("evaluator", c_void_p), ("metric_name", c_char_p),
                ("have_fp32_score", c_int), ("fp32_score", c_double), ("fp32_diff", c_double),
                ("output", c_char_p), ("qtable", c_char_p), ("table", c_char_p), ("log", c_char_p),
                ("json", c_char_p), ("resume", c_int), ("threads", c_int), ("model_path", c_char_p),
                ("on_trial", TRIAL_FN), ("on_message", MESSAGE_FN), ("on_progress", PROGRESS_FN),
                ("cancel", CANCEL_FN), ("user", c_void_p), ("report", c_char_p)]


class SearchResult(Structure):
    _fields_ = [("fp32_score", c_double), ("n_trials", c_int), ("choice", Trial),
                ("calibration_seconds", c_double), ("calibration_samples", c_int64),
                ("strategy", c_char * 256), ("qtable", c_char * 4096), ("table", c_char * 4096),
                ("log", c_char * 4096), ("report_status", c_int), ("report_error", c_char * 1024)]


class SensitivityRow(Structure):
    _fields_ = [("layer", c_char_p), ("op", c_char_p), ("loss", c_double), ("best_method", c_int)]


# Structures checked against C by tests/python/test_layout.py: C name -> ctypes class.
STRUCTS = {
    "calib8_tensor": Tensor, "calib8_value_info": ValueInfo, "calib8_session_options": SessionOptions,
    "calib8_dataset_options": DatasetOptions, "calib8_batch": Batch, "calib8_batch_source": BatchSource,
    "calib8_calibration_options": CalibrationOptions, "calib8_tensor_stats": TensorStats,
    "calib8_quant_options": QuantOptions, "calib8_layer_info": LayerInfo, "calib8_tensor_quant": TensorQuant,
    "calib8_outputs": Outputs, "calib8_summary_extra": SummaryExtra, "calib8_eval_options": EvalOptions,
    "calib8_eval_result": EvalResult, "calib8_similarity_stats": SimilarityStats,
    "calib8_compare_row": CompareRow, "calib8_compare_verdict": CompareVerdict, "calib8_trial": Trial,
    "calib8_search_options": SearchOptions, "calib8_search_result": SearchResult,
    "calib8_sensitivity_row": SensitivityRow,
}

P = c_void_p  # every opaque object pointer (calib8_model *, calib8_session *, ...)
PP = POINTER(c_void_p)
# name: (restype, argtypes)
PROTOTYPES = {
    "calib8_last_error": (c_char_p, []),
    "calib8_status_string": (c_char_p, [c_int]),
    "calib8_free": (None, [c_void_p]),
    "calib8_dtype_name": (c_char_p, [c_int]),
    "calib8_set_error": (c_status, [c_status, c_char_p]),
    # models and sessions
    "calib8_model_load": (c_status, [c_char_p, PP]),
    "calib8_model_destroy": (None, [P]),
    "calib8_model_input_count": (c_int, [P]),
    "calib8_model_output_count": (c_int, [P]),
    "calib8_model_input_info": (c_status, [P, c_int, POINTER(ValueInfo)]),
    "calib8_model_output_info": (c_status, [P, c_int, POINTER(ValueInfo)]),
    "calib8_model_opset": (c_int, [P]),
    "calib8_model_parameter_count": (c_int64, [P]),
    "calib8_model_node_count": (c_int, [P]),
    "calib8_model_node_op": (c_char_p, [P, c_int]),
    "calib8_model_node_name": (c_char_p, [P, c_int]),
    "calib8_session_options_default": (SessionOptions, []),
    "calib8_session_create": (c_status, [P, POINTER(SessionOptions), PP]),
    "calib8_session_destroy": (None, [P]),
    "calib8_session_run": (c_status, [P, c_int, POINTER(c_char_p), POINTER(Tensor)]),
    "calib8_session_output_count": (c_int, [P]),
    "calib8_session_output_name": (c_char_p, [P, c_int]),
    "calib8_session_output": (c_status, [P, c_int, POINTER(Tensor)]),
    # datasets
    "calib8_dataset_options_default": (DatasetOptions, []),
    "calib8_lmdb_writer_open": (c_status, [c_char_p, PP]),
    "calib8_lmdb_writer_count": (c_int64, [P]),
    "calib8_lmdb_writer_put": (c_status, [P, c_void_p, c_size_t, c_char_p, POINTER(c_int64)]),
    "calib8_lmdb_writer_get": (c_status, [P, c_int64, PP, POINTER(c_size_t)]),
    "calib8_lmdb_writer_close": (None, [P]),
    "calib8_dataset_open": (c_status, [P, c_int, POINTER(c_char_p), POINTER(DatasetOptions), PP]),
    "calib8_dataset_from_source": (c_status, [P, POINTER(BatchSource), PP]),
    "calib8_dataset_next": (c_status, [P, POINTER(Batch)]),
    "calib8_dataset_rewind": (c_status, [P]),
    "calib8_dataset_count": (c_int64, [P]),
    "calib8_dataset_close": (None, [P]),
    "calib8_preprocess_validate": (c_status, [c_char_p, c_char_p]),
    "calib8_preprocess_template_count": (c_int, []),
    "calib8_preprocess_template_name": (c_char_p, [c_int]),
    "calib8_preprocess_template_text": (c_char_p, [c_int]),
    "calib8_preprocess_template_note": (c_char_p, [c_int]),
    # calibration and plans
    "calib8_method_parse": (c_int, [c_char_p]),
    "calib8_calibration_create": (c_status, [P, POINTER(CalibrationOptions), PP]),
    "calib8_calibration_destroy": (None, [P]),
    "calib8_calibration_add_dataset": (c_status, [P, P, PROGRESS_FN, c_void_p]),
    "calib8_calibration_samples": (c_int64, [P]),
    "calib8_calibration_tensor_count": (c_int, [P]),
    "calib8_calibration_tensor_name": (c_char_p, [P, c_int]),
    "calib8_calibration_threshold": (c_status, [P, c_char_p, c_int, c_double, POINTER(c_double)]),
    "calib8_calibration_stats": (c_status, [P, c_char_p, POINTER(TensorStats)]),
    "calib8_quant_options_default": (QuantOptions, []),
    "calib8_qplan_build": (c_status, [P, P, POINTER(QuantOptions), PP]),
    "calib8_qplan_destroy": (None, [P]),
    "calib8_qplan_layer_count": (c_int, [P]),
    "calib8_qplan_layer": (c_status, [P, c_int, POINTER(LayerInfo)]),
    "calib8_qplan_tensor_count": (c_int, [P]),
    "calib8_qplan_tensor": (c_status, [P, c_int, POINTER(TensorQuant)]),
    "calib8_qplan_macs": (None, [P, POINTER(c_int64), POINTER(c_int64)]),
    "calib8_qplan_session": (c_status, [P, POINTER(SessionOptions), PP]),
    "calib8_qplan_serialize": (c_status, [P, PP, POINTER(c_size_t)]),
    "calib8_outputs_check": (c_status, [POINTER(Outputs), POINTER(c_char_p), c_int, POINTER(c_char_p),
                                        POINTER(c_char_p)]),
    "calib8_qplan_write": (c_status, [P, POINTER(Outputs), POINTER(SummaryExtra)]),
    "calib8_session_equalize": (c_status, [P, c_int, POINTER(SessionOptions), POINTER(c_int), PP]),
    # evaluation
    "calib8_metric_parse": (c_int, [c_char_p]),
    "calib8_decode_parse": (c_int, [c_char_p]),
    "calib8_eval_options_default": (EvalOptions, []),
    "calib8_evaluator_create": (c_status, [P, c_char_p, POINTER(EvalOptions), PP]),
    "calib8_evaluator_destroy": (None, [P]),
    "calib8_evaluate": (c_status, [P, P, POINTER(EvalResult)]),
    "calib8_compare_create": (c_status, [P, P, PP]),
    "calib8_compare_destroy": (None, [P]),
    "calib8_compare_dataset": (c_status, [P, P]),
    "calib8_compare_row_count": (c_int, [P]),
    "calib8_compare_row_at": (c_status, [P, c_int, POINTER(CompareRow)]),
    "calib8_compare_samples": (c_int64, [P]),
    "calib8_compare_verdict_at": (c_status, [P, c_double, c_double, POINTER(CompareVerdict)]),
    "calib8_compare_write_json": (c_status, [P, c_double, c_double, c_char_p, c_char_p, c_char_p]),
    "calib8_model_check_same_inputs": (c_status, [P, c_char_p, P, c_char_p]),
    # search
    "calib8_search_options_default": (SearchOptions, []),
    "calib8_search_run": (c_status, [P, P, POINTER(SearchOptions), POINTER(SearchResult)]),
    "calib8_sensitivity_run": (c_status, [P, P, POINTER(SearchOptions), PP]),
    "calib8_sensitivity_count": (c_int, [P]),
    "calib8_sensitivity_row_at": (c_status, [P, c_int, POINTER(SensitivityRow)]),
    "calib8_sensitivity_write_qtable": (c_status, [P, c_int, c_char_p]),
    "calib8_sensitivity_destroy": (None, [P]),
}


def _candidates():
    env = os.environ.get("CALIB8_LIBRARY")
    if env:
        yield env
        return  # an explicit choice is never silently replaced by another library
    here = os.path.dirname(os.path.abspath(__file__))
    # a package inside a source tree (PYTHONPATH=python): the build folder beside it
    root = os.path.dirname(os.path.dirname(here))
    if os.path.exists(os.path.join(root, "CMakeLists.txt")):
        yield os.path.join(root, "build", "libcalib8.so")
    yield os.path.join(here, "libcalib8.so")  # a copy shipped inside the package
    yield "libcalib8.so.0"  # the system loader (cmake --install; ldconfig)
    import ctypes.util
    found = ctypes.util.find_library("calib8")
    if found:
        yield found


class _Missing:
    """A function the loaded library does not export (an older build): raises when called."""

    def __init__(self, name, path):
        self.name, self.path = name, path

    def __call__(self, *args):
        raise NotImplementedError("the calib8 library '%s' has no function %s: rebuild it (cmake --build build)"
                                  % (self.path, self.name))


class _Lib:
    def __init__(self):
        tried = []
        self.cdll = None
        for cand in _candidates():
            if os.path.sep in cand and not os.path.exists(cand):
                tried.append(cand)
                continue
            try:
                self.cdll = ctypes.CDLL(cand)
                self.path = cand
                break
            except OSError as e:
                tried.append("%s (%s)" % (cand, e))
        if self.cdll is None:
            raise ImportError("calib8: cannot load libcalib8.so; tried %s. Build it (cmake --build build), install "
                              "it (cmake --install build; ldconfig) or set CALIB8_LIBRARY to its path"
                              % ", ".join(tried))
        for name, (restype, argtypes) in PROTOTYPES.items():
            try:
                fn = getattr(self.cdll, name)
            except AttributeError:
                setattr(self, name[len("calib8_"):], _Missing(name, self.path))
                continue
            fn.restype = restype
            fn.argtypes = argtypes
            setattr(self, name[len("calib8_"):], fn)


lib = _Lib()
