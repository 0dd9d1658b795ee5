"""calib8: post-training INT8 quantization and a CPU inference engine for ONNX models.

A ctypes client of libcalib8.so (found from $CALIB8_LIBRARY, then the build folder of the source tree this
package sits in, then the system loader); numpy is its only dependency. docs/api.md describes it.

    import calib8
    m = calib8.Model("net.onnx")
    logits, = m.run(x)                                      # numpy in, numpy out
    calib8.quantize("net.onnx", "calib/images", "net_int8.onnx", preprocess="mean_value=72.94,std_value=90.0")
    calib8.auto("net.onnx", batches, "net_int8.onnx", score=my_top1, max_drop=0.005)
"""
__version__ = "0.1.0"
try:
    from ._errors import (Error, InvalidArgument, MalformedModel, Unsupported, UnsupportedHardware, OutOfMemory,
                          IOError, Internal, Cancelled, BudgetNotMet)
    from ._api import (Model, Candidate, TensorInfo, quantize, evaluate, compare, auto, sensitivity, QuantizeResult,
                       EvalResult, CompareResult, SearchResult, Trial, preprocess_templates)
    from ._lib import lib as _loaded
    library_path = _loaded.path
except ImportError as _e:
    # Without libcalib8.so the package still imports, so that calib8.remote (standard library + numpy, the remote
    # mode's client: docs/remote.md) works anywhere; the library's names raise the loader's ImportError.
    _load_error = _e

    def __getattr__(name):
        raise ImportError(str(_load_error))

__all__ = ["Model", "Candidate", "TensorInfo", "quantize", "evaluate", "compare", "auto", "sensitivity",
           "QuantizeResult", "EvalResult", "CompareResult", "SearchResult", "Trial", "preprocess_templates",
           "Error", "InvalidArgument", "MalformedModel", "Unsupported", "UnsupportedHardware", "OutOfMemory",
           "IOError", "Internal", "Cancelled", "BudgetNotMet", "library_path"]
