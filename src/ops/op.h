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

typedef struct c8_op_def {
  const char *name;   /* ONNX op_type */
  const char *domain; /* "" for ai.onnx, "com.microsoft", ... */
  c8_prepare_fn prepare;
  c8_run_fn run;
  void (*destroy)(void *state); /* NULL: state, if any, is plain malloc'd and freed with c8_mfree() */
  /* true when run reads only the inputs' shapes (Shape, Size): the planner then
     computes the output at prepare time even when the input data is unknown. */
  bool reads_shape_only;
} c8_op_def;

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
/* Ops whose output holds exactly the input's values, rearranged (Reshape, Flatten, Squeeze, Unsqueeze,
   Identity, Transpose): the output's statistics are the input's. */
bool c8_op_only_moves_values(const char *op_type);
c8_status c8_check_const(const c8_node *node, const c8_tensor *t, int input_index); /* data known at prepare */

/* Normalizes a possibly negative axis into [0, rank). Error names the node. */
c8_status c8_norm_axis(const c8_node *node, int64_t axis, int rank, int *out_axis);

/* Numpy multidirectional broadcasting of a and b into out (rank = max). */
c8_status c8_broadcast_shape(const c8_node *node, const c8_tensor *a, const c8_tensor *b, c8_tensor *out);

#define C8_OP(name, sym) extern const c8_op_def c8_op_##sym;
#include "ops/ops.def"
#undef C8_OP

#endif
