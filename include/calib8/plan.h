/* calib8 quantization plans: which layers compute in INT8, every tensor's scale and zero point, and the
 * artefacts: the QDQ ONNX model (ONNX Runtime and TensorRT load it), the calibration table, the TensorRT
 * calibration cache, the qtable (per-layer precision, TPU-MLIR style) and the JSON summary.
 *
 *   calib8_quant_options q = calib8_quant_options_default();
 *   q.method = CALIB8_METHOD_KL;
 *   calib8_qplan *plan = NULL;
 *   if (calib8_qplan_build(session, cal, &q, &plan)) { ... }
 *   calib8_outputs out = {.model = "net_int8.onnx", .table = "net.table"};
 *   calib8_qplan_write(plan, &out, NULL);   // every file whole, or none of them
 *   calib8_qplan_destroy(plan);
 */
/* calib8.h first, outside the guard: it declares the core and includes every part header in order, so any
 * part header may be included alone. */
#include "calib8/calib8.h"

#ifndef CALIB8_PLAN_H
#define CALIB8_PLAN_H

#include "calib8/calibration.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum calib8_weights { CALIB8_WEIGHTS_MINMAX = 0, CALIB8_WEIGHTS_ADMM } calib8_weights;
/* per-channel: per-channel weights; per-tensor: per-tensor weights; mix: per-channel weights except where
 * per-tensor loses less (docs/quantization.md). Activations are always per tensor. */
typedef enum calib8_granularity {
  CALIB8_PER_CHANNEL = 0,
  CALIB8_PER_TENSOR,
  CALIB8_GRANULARITY_MIX
} calib8_granularity;
typedef enum calib8_precision { CALIB8_PRECISION_AUTO = 0, CALIB8_PRECISION_INT8, CALIB8_PRECISION_FP32 } calib8_precision;

typedef struct calib8_quant_options {
  calib8_method method;           /* activation thresholds; default KL */
  double percentile;              /* for PERCENTILE; 0 = 99.99 */
  calib8_weights weights;         /* default MINMAX */
  calib8_granularity granularity; /* default per-channel */
  int asymmetric;                 /* activation ranges [min, max] with a zero point, not [-T, T] */
  int bias_correction;            /* needs a calibration made with channel_means (Nagel et al. 2019, 4.2) */
  const char *qtable;             /* a qtable file of per-layer precisions to apply, or NULL */
  const char *fp32_after;         /* comma-separated tensors: every node computed from them stays FP32 */
  const char *fp32_before;        /* comma-separated tensors: their producers and all they depend on stay FP32 */
  int fp32_heads;                 /* detection heads found structurally stay FP32 (calib8_model_heads) */
  /* NNTC/TPU-MLIR's --fpfwd_outputs / --fpfwd_inputs: comma-separated layers (node names, or tensors standing for
     the layer computing them); each named layer and everything after it (outputs) or before it (inputs) stays
     FP32, the named layer included. */
  const char *fpfwd_outputs;
  const char *fpfwd_inputs;
  /* Layers (node names of the session's graph) forced to FP32, and their count; NULL/0 for none. */
  const char *const *fp32_layers;
  int n_fp32_layers;
  int choose_method_per_tensor;   /* each tensor's method is the one with the lowest expected error */
} calib8_quant_options;

calib8_quant_options calib8_quant_options_default(void);
/* The options above by their command-line names, as `calib8 quantize` spells them: --method, --percentile,
 * --weights, --granularity, --asymmetric, --qtable, --fp32-after, --fp32-before, --fp32-heads, --fpfwd-outputs,
 * --fpfwd-inputs (also with '_'), --bias-correction, and TNN quantization_cmd's -b/--blob_method (0 max, 2 kl),
 * -w/--weight_method (0 minmax, 1 admm) and -t/--merge_type (0, 1 per-channel, 2 per-tensor).
 * option_value: what the option's value is, in words ("minmax or admm"); "" for a flag that takes none; NULL when
 * `option` is not one of them. options_set: sets the member the option names (a flag ignores value); string values
 * are borrowed and must outlive q. CALIB8_INVALID_ARGUMENT quoting the option and a value out of its set, a
 * missing value or an unknown option; q is unchanged then. */
const char *calib8_quant_option_value(const char *option);
calib8_status calib8_quant_options_set(calib8_quant_options *q, const char *option, const char *value);

typedef struct calib8_qplan calib8_qplan;

/* Builds the plan and its QDQ model for the graph of `session` (the one `cal` observed; both borrowed and
 * must outlive the plan). options may be NULL (defaults). Precision: the qtable (which leaves unlisted layers
 * to the rules), fp32_after/before, the heads and fp32_layers (which nothing overrides) first, then the
 * operators' own rules. The layers' MACs come from the session's last run (the calibration's).
 * CALIB8_INVALID_ARGUMENT: an unknown layer or tensor name, a qtable line that does not parse, bias
 * correction without channel means, a calibration of another session, an option out of range; CALIB8_IO
 * (qtable); CALIB8_OUT_OF_MEMORY. */
calib8_status calib8_qplan_build(calib8_session *session, const calib8_calibration *cal,
                                 const calib8_quant_options *options, calib8_qplan **out_plan);
void calib8_qplan_destroy(calib8_qplan *plan);

/* One layer that can compute in INT8 (Conv, ConvTranspose, Gemm, MatMul), in graph order. */
typedef struct calib8_layer_info {
  const char *name;        /* node name */
  const char *op;          /* op type */
  calib8_precision precision; /* INT8 or FP32 as planned */
  int64_t macs;            /* multiply-accumulates per sample */
  int depthwise;           /* a grouped convolution with one input channel per group */
  int half_requested;      /* the qtable asked F16/BF16 (TPU-MLIR's modes); calib8 keeps the layer in FP32 */
} calib8_layer_info;
int calib8_qplan_layer_count(const calib8_qplan *plan);
calib8_status calib8_qplan_layer(const calib8_qplan *plan, int index, calib8_layer_info *out);

/* One quantized tensor (an activation carried in 8 bits), in graph order. */
typedef struct calib8_tensor_quant {
  const char *name;
  double threshold;        /* symmetric clip T, or the asymmetric range's larger magnitude */
  double lo, hi;           /* the represented range */
  double scale;
  int zero_point;
  calib8_dtype dtype;      /* CALIB8_UINT8 or CALIB8_INT8 */
} calib8_tensor_quant;
int calib8_qplan_tensor_count(const calib8_qplan *plan);
calib8_status calib8_qplan_tensor(const calib8_qplan *plan, int index, calib8_tensor_quant *out);

/* Multiply-accumulates per sample: all of the compute layers, and those planned in INT8. */
void calib8_qplan_macs(const calib8_qplan *plan, int64_t *total, int64_t *int8);

/* A session running the plan's QDQ model (fake quantization). options may be NULL. */
calib8_status calib8_qplan_session(const calib8_qplan *plan, const calib8_session_options *options,
                                   calib8_session **out_session);
/* The QDQ model as ONNX bytes (calib8_free). CALIB8_OUT_OF_MEMORY. */
calib8_status calib8_qplan_serialize(const calib8_qplan *plan, void **out_bytes, size_t *out_len);

/* The files a quantization writes; NULL members are not written. */
typedef struct calib8_outputs {
  const char *model;     /* the QDQ ONNX model */
  const char *table;     /* calibration table: `tensor threshold min max` per quantized tensor */
  const char *trt_cache; /* TensorRT calibration cache */
  const char *qtable;    /* per-layer precision, readable by calib8_quant_options.qtable */
  const char *json;      /* the JSON summary */
  const char *record;    /* AMCT-style record: per INT8 layer, the activation scale and offset, the weight scales
                            and offsets (protobuf text, `record { key: "layer" value { scale_d ... } }`) */
} calib8_outputs;

/* Extra facts for the JSON summary (all optional: NULL / negative / NaN members are left out). Whether bias
 * correction was on is the plan's own option and is always written, and so are the model sizes ("sizes": the
 * FP32 file's bytes when model_path can be read, the QDQ file's, and the weights as FP32 and as INT8 estimate). */
typedef struct calib8_summary_extra {
  const calib8_model *model;    /* the model as loaded (borrowed): names the original node every QDQ node comes
                                   from ("origin"); NULL leaves the origins out */
  const char *model_path, *output_path;
  double calibration_seconds;   /* < 0: left out */
  int equalized_pairs;          /* < 0: left out */
  const char *metric;           /* with fp32/int8 scores over count test samples; NULL: no metrics */
  double fp32_score, int8_score;
  int64_t count;
  const char *predictions_json; /* calib8_predictions_json's text ("predictions"), or NULL */
  double planning_seconds;      /* wall times of building the plan and of scoring the test set (FP32, INT8 and the */
  double evaluation_seconds;    /*   predictions); <= 0: left out */
} calib8_summary_extra;

/* Checks, before any work, that every output can be written: its folder exists, it is not a folder, no two
 * outputs are the same file, and none is one of the n_inputs files the run reads (inputs[i] described by
 * roles[i], e.g. "the input model"; dataset specs such as "NAME=SRC" and folders of samples count).
 * CALIB8_INVALID_ARGUMENT naming the option (`options[k]` names outputs' members in the order model, table,
 * trt_cache, qtable, json, record; NULL = "-o", "--table", "--trt-cache", "--write-qtable", "--json", "--record"). */
calib8_status calib8_outputs_check(const calib8_outputs *outputs, const char *const *options, int n_inputs,
                                   const char *const *inputs, const char *const *roles);

/* The same check for an HTML report (calib8_report_write) a run is asked to write: report (NULL: nothing to
 * check) is none of the n other paths of the run (its inputs and outputs; NULL entries are skipped), not a folder,
 * and its folder exists. CALIB8_INVALID_ARGUMENT naming --report and the path it collides with. */
calib8_status calib8_outputs_check_report(const char *report, int n, const char *const *paths);

/* Writes every requested output as one set: each to a temporary beside it, all of them before any is renamed
 * onto its name. When one fails, no output is touched (files that existed stay as they were, none is created)
 * and the error names the file. extra may be NULL. CALIB8_IO (naming the file; a rename failing at the very end
 * leaves the outputs renamed before it), CALIB8_OUT_OF_MEMORY. */
calib8_status calib8_qplan_write(const calib8_qplan *plan, const calib8_outputs *outputs,
                                 const calib8_summary_extra *extra);

/* Prints what `calib8 quantize` says of a plan it wrote to f: the calibration (samples, extra's
 * calibration_seconds, the method, weights and granularity of q, the options the plan was built with), the INT8
 * layers and their share of the multiply-accumulates, the layers a qtable asked in F16/BF16 (kept FP32), extra's
 * equalized pairs (when >= 0), bias correction when on, and "wrote <extra->output_path>" when it is set. extra may
 * be NULL. CALIB8_INVALID_ARGUMENT (NULL plan, cal, q or f). */
calib8_status calib8_qplan_print(const calib8_qplan *plan, const calib8_calibration *cal,
                                 const calib8_quant_options *q, const calib8_summary_extra *extra, FILE *f);

/* ---- graph helpers the plan options use ---------------------------------------------------------------- */

/* A new session over `session`'s graph after cross-layer equalization (Nagel et al. 2019, 4.1): Conv ->
 * [Relu|LeakyRelu|MaxPool] -> Conv pairs get equal per-channel weight ranges, the same FP32 function.
 * iterations 0 = 20. *pairs (may be NULL) receives the number of pairs equalized. options NULL = the
 * session's. The caller destroys both sessions. CALIB8_INVALID_ARGUMENT, CALIB8_OUT_OF_MEMORY. */
calib8_status calib8_session_equalize(const calib8_session *session, int iterations,
                                      const calib8_session_options *options, int *pairs,
                                      calib8_session **out_session);

/* The FP32 conversion check (`--fp32-diff`, as TPU-MLIR compares after model_transform): the graph `session`
 * runs (optimized, perhaps equalized) against `model` as written (no optimization), on `data`'s next batch; `data`
 * is rewound afterwards, so call it before calibrating. Per float output: max |difference| / max |original value|.
 * *max_diff (may be NULL) receives the largest. CALIB8_INTERNAL naming the output when one exceeds tolerance;
 * CALIB8_INVALID_ARGUMENT for a negative tolerance or a one-pass dataset; errors of calib8_session_run. */
calib8_status calib8_fp32_check(calib8_session *session, const calib8_model *model, calib8_dataset *data,
                                double tolerance, int threads, double *max_diff);

/* Detection heads found structurally: the last convolution (or Gemm/MatMul with constant weights) on each
 * path to a graph output and every node between it and the output (the decode). Node names of the model as
 * loaded, in graph order, Constant nodes left out: *names (and *ops, their op types; ops may be NULL) are
 * arrays of *count borrowed strings (valid while the model lives); the caller frees the arrays with
 * calib8_free. CALIB8_OUT_OF_MEMORY. */
calib8_status calib8_model_heads(const calib8_model *model, const char ***names, const char ***ops, int *count);

#ifdef __cplusplus
}
#endif
#endif
