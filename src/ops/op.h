/* The operator interface. Each ONNX operator is one c8_op_def, defined in
 * src/ops/op-<name>.c and listed once in src/ops/ops.def.
 *
 * Life of a kernel (one node in a prepared plan):
 *   prepare(k, in, out): in[i]->dtype/rank/dims are set; in[i]->data is non-NULL
 *       only when the value is known at prepare time (a constant, or computed
 *       from constants and bound input shapes). prepare validates, sets every
 *       out[i]->dtype/rank/dims, may store state in k->state (parsed attributes,
 *       packed weights) and may ask for k->scratch_bytes of scratch memory.
 *       It must not touch out[i]->data. An input that is omitted (optional) is NULL;
 *       so is an omitted output.
 *   run(k, in, out, scratch): computes outputs from inputs. No allocation.
 *   destroy(state): frees k->state (may be NULL).
 * The same pair runs at plan time for constant folding, so run must only use
 * what prepare recorded.
 */
#ifndef C8_OPS_OP_H
#define C8_OPS_OP_H

#include <stdbool.h>

#include "core/tensor.h"
#include "graph/graph.h"

struct c8_threadpool;
struct c8_fusion;

#define C8_KERNEL_FUSE_MAX 12 /* = C8_FUSE_MAX_OPS (graph/fuse.h) */

typedef struct c8_kernel {
  const c8_node *node;
  int opset;
  void *state;
  size_t scratch_bytes;
  struct c8_threadpool *pool; /* may be NULL: run single-threaded */
  /* Plan-level fusion (graph/fuse.h): elementwise ops to run in this node's epilogue, or NULL. out[0] is
     then the chain's result. An op that supports fusion and cannot take this chain sets fuse to NULL in
     prepare (out[0] is then its own output again) and the plan runs the chain unfused. */
  const struct c8_fusion *fuse;
  c8_tensor *fuse_t[C8_KERNEL_FUSE_MAX]; /* per fused op: its constant or residual tensor, else NULL */
} c8_kernel;

typedef c8_status (*c8_prepare_fn)(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out,
                                   int n_out);
typedef c8_status (*c8_run_fn)(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out,
                               void *scratch);

/* ---- Operator traits ----
 * Every rule that quantization, calibration, the exporters, the graph passes and batch splitting apply to an
 * operator is declared on its c8_op_def, next to its kernels, so that adding an operator means filling in its
 * definition and nothing else. Each enum's 0 means "not declared": tests/unit/test-op-traits.c fails for an op
 * that leaves one out, so a forgotten trait cannot silently leave an operator in FP32 or unsplit. Consumers
 * read them per node through c8_node_op(). */

/* What the quantization plan (src/plan/qplan.c) does with the op. */
typedef enum c8_qrole {
  C8_QROLE_UNDECLARED = 0,
  C8_QROLE_NONE,         /* stays FP32 */
  C8_QROLE_COMPUTE,      /* computes in INT8: input 0 an int8 activation, input 1 constant int8 weights
                            (Conv, ConvTranspose); weight_axis, weight_gran, mean_axis and macs are declared */
  C8_QROLE_COMPUTE_ANY,  /* as COMPUTE, but input 1 may also be a second int8 activation (Gemm, MatMul) */
  C8_QROLE_SHARES_SCALE, /* carries int8 with input 0's scale: it only moves or selects values (MaxPool,
                            Reshape, ...); inputs after the first are shape or axes operands */
  C8_QROLE_JOINS,        /* carries int8 with one scale shared by every input and the output (Concat) */
  C8_QROLE_CARRIES,      /* carries int8 with its own scale when every activation input is int8 (Add,
                            GlobalAveragePool: what ONNX Runtime has integer kernels for) */
} c8_qrole;

/* What the op is in a fused chain (graph/fuse.h): the head that runs the chain in its epilogue, or one of the
   elementwise steps. The plan also absorbs a RELU or CLIP after an INT8 compute node into its output scale. */
typedef enum c8_fuse_role {
  C8_FUSE_UNDECLARED = 0,
  C8_FUSE_NONE,
  C8_FUSE_HEAD, /* Conv */
  C8_FUSE_RELU,
  C8_FUSE_CLIP, /* with constant bounds */
  C8_FUSE_SIGMOID,
  C8_FUSE_HARDSIGMOID,
  C8_FUSE_HARDSWISH,
  C8_FUSE_ADD, /* with a constant, or a residual tensor of the output's shape */
  C8_FUSE_SUB, /* the others: with a constant, on either side */
  C8_FUSE_MUL,
  C8_FUSE_DIV,
} c8_fuse_role;

/* An axis that depends on the node (resolved by c8_op_axis). */
typedef enum c8_axis_rule {
  C8_AXIS_UNDECLARED = 0,
  C8_AXIS_NONE,
  C8_AXIS_0,
  C8_AXIS_1,
  C8_AXIS_LAST,
  C8_AXIS_GEMM_A, /* Gemm's reduced axis of A: 0 with transA, else the last */
  C8_AXIS_GEMM_B, /* Gemm's output-column axis of B: 0 with transB, else 1 */
} c8_axis_rule;

/* Which weight granularities the QDQ export gives a compute op (src/export/qdq.c). */
typedef enum c8_weight_gran {
  C8_WGRAN_UNDECLARED = 0,
  C8_WGRAN_TENSOR,      /* per tensor always: what ONNX Runtime's integer kernels take (MatMul, ConvTranspose) */
  C8_WGRAN_CHANNEL,     /* per channel along weight_axis under --granularity per-channel (Gemm) */
  C8_WGRAN_CHANNEL_MIX, /* per channel under per-channel and mix (Conv) */
} c8_weight_gran;

/* Whether the op keeps the samples of a batch apart (src/run/batch-split.c), so that a plan for a sub-batch
   computes the whole batch's result for its samples. A variant that mixes samples anyway (a reduction over
   the batch, a Transpose or broadcast putting it on two axes, ...) leaves a value with no batch axis or two,
   which batch splitting rejects on its own. */
typedef enum c8_batch_rule {
  C8_BATCH_UNDECLARED = 0,
  C8_BATCH_MIXES,      /* not shown to keep samples apart: a plan with it is not split */
  C8_BATCH_ANY_AXIS,   /* per sample whatever axis carries the batch (elementwise, MatMul, reductions) */
  C8_BATCH_FIRST_AXIS, /* over [N, C, ...]: per sample when the batch is on axis 0 */
  C8_BATCH_BLOCKS,     /* a row-major reshape: per sample when as many elements precede the batch axis in
                          the output as in the input (each sample's block stays whole and in order) */
  C8_BATCH_CHECK,      /* batch_check decides from attributes and known inputs */
} c8_batch_rule;

/* One step as batch splitting sees it: its tensors (shapes; data only when known at plan time) and the
   batch axis of its first input (ax, -1 when that input is known), of its first run-time input (ax_any) and
   of its first output (ax_out). */
typedef struct c8_batch_query {
  const c8_node *node;
  int opset;
  c8_tensor *const *in; /* NULL for omitted optionals */
  int n_in;
  c8_tensor *const *out;
  int n_out;
  int ax, ax_any, ax_out;
} c8_batch_query;

/* How output 0's values relate to input 0's (calibration derives the histogram of a moved tensor instead of
   observing it). */
typedef enum c8_value_rule {
  C8_VALUES_UNDECLARED = 0,
  C8_VALUES_COMPUTED, /* new values (or, like Dropout, a second output that is not a rearrangement) */
  C8_VALUES_MOVED,    /* exactly input 0's values, rearranged (Reshape, Transpose, Identity): same statistics */
} c8_value_rule;

/* Where a compute op's bias is, for bias correction (src/export/bias-correct.c). */
typedef enum c8_bias_rule {
  C8_BIAS_UNDECLARED = 0,
  C8_BIAS_INPUT2,    /* the optional input 2, times the beta attribute if any (Conv, ConvTranspose, Gemm) */
  C8_BIAS_ADD_AFTER, /* none of its own: the constant of an Add that alone reads the output (MatMul) */
} c8_bias_rule;

/* Multiply-accumulates of one node from its data input x, weights w and output y (shapes only). */
typedef int64_t (*c8_macs_fn)(const c8_node *n, const c8_tensor *x, const c8_tensor *w, const c8_tensor *y);

typedef struct c8_op_def {
  const char *name;   /* ONNX op_type */
  const char *domain; /* "" for ai.onnx, "com.microsoft", ... */
  c8_prepare_fn prepare;
  c8_run_fn run;
  void (*destroy)(void *state); /* NULL: state, if any, is plain malloc'd and freed with c8_mfree() */
  /* true when run reads only the inputs' shapes (Shape, Size): the planner then
     computes the output at prepare time even when the input data is unknown. */
  bool reads_shape_only;

  /* traits (see above) */
  c8_qrole qrole;
  c8_fuse_role fuse;
  c8_value_rule values;
  c8_batch_rule batch;
  bool (*batch_check)(const c8_batch_query *q); /* C8_BATCH_CHECK only */
  /* Inputs (bit j for input j) that are shape operands: known at plan time, they may differ between the
     whole-batch and the sub-batch plans (Reshape to [B, -1] against [S, -1]), since batch splitting checks
     the run-time shapes they produce instead. */
  unsigned batch_shape_inputs;
  /* f(x / s) = f(x) / s for s > 0 (Relu, LeakyRelu, MaxPool): cross-layer equalization may scale through it. */
  bool homogeneous;
  /* Compute ops only (C8_QROLE_COMPUTE*): the per-channel axis of the weights (input 1), the granularities
     the export gives them, the axis of input 0 along which bias correction needs the per-channel means
     E[x] (NONE when it cannot correct the op), where the bias is, and the multiply-accumulate count. */
  c8_axis_rule weight_axis;
  c8_weight_gran weight_gran;
  c8_axis_rule mean_axis;
  c8_bias_rule bias;
  c8_macs_fn macs;
  /* Rewrites node k of g, written for opset `from`, into its form at opset `to` > from (attributes that became
     inputs, semantics that changed; c8_graph_upgrade_opset). NULL: the node reads the same at every opset
     calib8 writes. */
  c8_status (*upgrade)(c8_graph *g, int k, int from, int to);
} c8_op_def;

/* The definition of a node's op: node->def (set when the graph is built), else a registry lookup (nodes built
   by hand), else a definition with no role in anything (FP32, unfused, unsplit). Never NULL. */
const c8_op_def *c8_node_op(const c8_node *node);
/* For c8_op_def.upgrade: moves the INTS attribute `attr` of node k into input `index` as a 1-D int64 constant
 * (inputs before it that do not exist become omitted, -1). Nothing when the attribute is absent. */
c8_status c8_upgrade_ints_to_input(c8_graph *g, int k, const char *attr, int index);
/* The same for a FLOAT attribute, as a scalar float constant; `dflt` when absent, or nothing when absent and
   has_dflt is false. */
c8_status c8_upgrade_float_to_input(c8_graph *g, int k, const char *attr, int index, bool has_dflt, float dflt);
/* The axis a rule gives for node n: >= 0, -1 for the last axis, -2 for none. */
int c8_op_axis(c8_axis_rule r, const c8_node *n);
static inline bool c8_qrole_is_compute(c8_qrole r) { return r == C8_QROLE_COMPUTE || r == C8_QROLE_COMPUTE_ANY; }
/* For batch_check functions: a possibly negative axis attribute against rank (not validated), and the values
   of a known integer tensor (at most max; returns the count, or -1 when unknown or not integer). */
static inline int64_t c8_wrap_axis(int64_t axis, int rank) { return axis < 0 ? axis + rank : axis; }
int c8_known_ints(const c8_tensor *t, int64_t *v, int max);

/* Evaluates one node on known inputs (prepare + run + destroy), allocating each
 * output's data with c8_alloc (the caller frees them). Used by constant folding. */
c8_status c8_op_eval(const c8_node *node, int opset, c8_tensor *const *in, int n_in, c8_tensor *const *out,
                     int n_out);

/* Registry lookup; "ai.onnx" and "" are the same domain. NULL when unknown. */
const c8_op_def *c8_op_find(const char *domain, const char *op_type);
/* Every registered op, for `calib8 info --ops` and tests. */
int c8_op_count(void);
const c8_op_def *c8_op_at(int i);

/* "node 'Conv_12' (Conv): <message>" — the one error format for node problems. */
c8_status c8_node_error(const c8_node *node, c8_status code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Common checks used by prepare functions. Each returns CALIB8_OK or a node error. */
c8_status c8_check_inputs(const c8_node *node, int n_in, int min, int max);
c8_status c8_check_dtype(const c8_node *node, const c8_tensor *t, int input_index, c8_dtype dtype);
c8_status c8_check_const(const c8_node *node, const c8_tensor *t, int input_index); /* data known at prepare */

/* Normalizes a possibly negative axis into [0, rank). Error names the node. */
c8_status c8_norm_axis(const c8_node *node, int64_t axis, int rank, int *out_axis);

/* Numpy multidirectional broadcasting of a and b into out (rank = max). */
c8_status c8_broadcast_shape(const c8_node *node, const c8_tensor *a, const c8_tensor *b, c8_tensor *out);

#define C8_OP(name, sym) extern const c8_op_def c8_op_##sym;
#include "ops/ops.def"
#undef C8_OP

#endif
