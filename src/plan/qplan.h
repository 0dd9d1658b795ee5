/* The quantization plan: which nodes compute in INT8, which tensors carry
 * int8 values (and their scale and zero point), and how weights are quantized.
 *
 * Rules (what ONNX Runtime and TensorRT fuse into integer kernels), declared per operator as the qrole and
 * fuse traits of its c8_op_def (src/ops/op.h):
 * - Conv, ConvTranspose, Gemm and MatMul compute in INT8: their activation inputs
 *   and their outputs are quantized; weights are int8 (per channel or per tensor),
 *   the bias int32 with scale s_in * s_w.
 * - A Relu/Clip that is the only reader of such an output is fused: the output
 *   scale is taken after it.
 * - Data movement (MaxPool, Reshape, Flatten, Transpose, Squeeze, Unsqueeze,
 *   GlobalAveragePool, Concat) and Add carry int8 through when every activation
 *   input is already int8. MaxPool/Reshape-like ops and Concat share one scale
 *   between inputs and output (exact in ORT's integer kernels).
 * - Everything else stays FP32.
 * Activations are stored as 8-bit unsigned (uint8) with a scale and zero point: symmetric
 * ranges [-T, T] with zero point 128, never-negative ones [0, T] with zero point 0. */
#ifndef C8_PLAN_QPLAN_H
#define C8_PLAN_QPLAN_H

#include "observe/calibrate.h"
#include "threshold/threshold.h"

typedef enum { C8_GRAN_PER_CHANNEL = 0, C8_GRAN_PER_TENSOR, C8_GRAN_MIX } c8_granularity;
typedef enum { C8_WEIGHTS_MINMAX = 0, C8_WEIGHTS_ADMM } c8_weight_method;
typedef enum { C8_PREC_AUTO = 0, C8_PREC_INT8, C8_PREC_FP32 } c8_precision;

typedef struct c8_quant_options {
  c8_threshold_method method;
  double percentile;
  c8_weight_method weights;
  c8_granularity granularity;
  bool asymmetric;                 /* activation range [min, max] with any zero point; else symmetric [-T, T]
                                      ([0, T] for never-negative tensors) */
  /* per-node precision forced by the user, indexed like graph nodes (NULL = none) */
  const c8_precision *node_precision;
  /* per-value threshold method override (NULL = none; -1 entries mean default) */
  const int *value_method;
  /* Bias correction (Nagel et al., ICCV 2019, section 4.2): the QDQ model's biases absorb the mean shift that
     weight quantization causes, (W_q - W) E[x]. Needs the calibration's per-channel means
     (c8_calibration_enable_means). See src/export/bias-correct.h. */
  bool bias_correction;
  /* Threads for the per-tensor thresholds (borrowed; NULL = the calling thread). The plan is the same for any
     thread count. */
  struct c8_threadpool *pool;
} c8_quant_options;

c8_quant_options c8_quant_options_default(void);

typedef struct c8_channel_mean {
  double *mean;  /* per channel (NULL when not measured) */
  int64_t n;
  int axis;      /* as in c8_calibration.mean_axis: 1, 0, or -1 for the last axis */
} c8_channel_mean;

typedef struct c8_tensor_q {
  bool quantized;
  float threshold;  /* symmetric clip T (|x| <= T) */
  float lo, hi;     /* the represented range: [-T, T] or, asymmetric, [lo, hi] containing 0 */
  float scale;
  int zero_point;   /* symmetric: 128 (the int8 range [-128, 127] shifted), or 0 for a never-negative tensor
                       covering [0, T] with all 256 steps; asymmetric: round(-lo / scale) */
  c8_dtype dtype;   /* CALIB8_UINT8: what ONNX Runtime's integer kernels take on every CPU (see qplan.c) */
  int group;        /* shared-scale group id (-1 when alone) */
} c8_tensor_q;

typedef struct c8_qplan {
  const c8_graph *g;
  c8_quant_options opts;
  int n_nodes, n_values;
  c8_precision *node_prec;  /* INT8 or FP32 per node (FP32 for ops that have no int8 form) */
  bool *node_fused_act;     /* node is a Relu/Clip fused into the INT8 compute node before it */
  c8_tensor_q *tq;          /* per value */
  int64_t macs_total, macs_int8; /* multiply-accumulates of Conv/Gemm/MatMul, all and those in INT8 */
  c8_channel_mean *x_mean;  /* per value, with opts.bias_correction: E[x] of INT8 nodes' data inputs, else NULL */
} c8_qplan;

/* Builds the plan from calibration statistics. Node precision: options.node_precision
 * first, then the rules above. Thresholds come from the histograms. */
c8_status c8_qplan_build(const c8_graph *g, const c8_calibration *cal, const c8_quant_options *o, c8_qplan **out);
void c8_qplan_destroy(c8_qplan *p);
/* True for ops of the default domain that compute in INT8 (Conv, ConvTranspose, Gemm, MatMul: the qrole
   declared on their c8_op_def). The library reads the trait of each node instead. */
bool c8_op_is_int8_compute(const char *op_type);

/* Weight quantization. Per output channel along `axis` (or per tensor when axis < 0):
 * scales[c] and int8 values q. ADMM alternates q = clip(round(W/s)) and s = <W,q>/<q,q>
 * (TNN's ADMM weight quantizer, tools/quantization), starting from MinMax. */
c8_status c8_quantize_weights(const c8_tensor *w, int axis, c8_weight_method m, float *scales, int8_t *q);

/* Manual mixed precision (the seeds' --fpfwd_outputs / --fpfwd_inputs):
 * every node that reads `tensor` or anything computed from it becomes FP32 (after),
 * or the node producing `tensor` and everything it depends on becomes FP32 (before).
 * An unknown tensor name fails naming it. */
c8_status c8_precision_fp32_after(const c8_graph *g, const char *tensor, c8_precision *prec);
c8_status c8_precision_fp32_before(const c8_graph *g, const char *tensor, c8_precision *prec);
/* NNTC/TPU-MLIR's --fpfwd_outputs / --fpfwd_inputs: the layer `name` (a node, or the node computing a tensor of
 * that name) and everything after it (outputs) or before it (inputs) become FP32; the named layer is included.
 * All four fail, naming the option and the name, when the region holds no compute layer that could be INT8. */
c8_status c8_precision_fpfwd(const c8_graph *g, const char *name, bool outputs, c8_precision *prec);

/* Detection heads, found automatically: the last convolution (or Gemm/MatMul with constant weights) on each
 * path to a graph output, and every node between it and the output (the decode). Walks back from the outputs
 * and stops at those layers; Shape-like nodes are included but not walked through (they read only shapes).
 * Sets head[i] for the nodes found; returns their count. */
int c8_find_heads(const c8_graph *g, bool *head);

/* The public plan (include/calib8/plan.h): the plan, its QDQ graph, and what it was built from (borrowed). */
struct calib8_qplan {
  c8_qplan *p;
  c8_graph *qdq;
  const struct calib8_calibration *cal;
  calib8_session *session;
  c8_precision *prec;  /* the forced precisions p->opts.node_precision points at (the qtable writer reads them) */
  int *value_method;   /* p->opts.value_method, or NULL */
  int64_t *node_macs;  /* per node of the session's graph, per sample */
  int *layers, n_layers;   /* INT8-capable compute nodes, in graph order */
  int *tensors, n_tensors; /* quantized values, in value order */
};

#endif
