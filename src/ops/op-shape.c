/* Shape (ONNX 1, 13, 15: start/end) and Size (1, 13). Both read only the input's shape, so the planner
 * computes them at prepare time (reads_shape_only) even when the input data is not known; run never
 * touches in[0]->data. */
#include <stdlib.h>

#include "ops/op-shape-util.h"

typedef struct {
  int start, end;
} shape_state;

static c8_status shape_prepare(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out) {
  const c8_node *node = k->node;
  c8_status st = c8_check_inputs(node, n_in, 1, 1);
  if (st) return st;
  if (!in[0]) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "input 0 is missing");
  if (n_out != 1 || !out[0]) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "needs exactly one output");
  int r = in[0]->rank;
  int64_t start = 0, end = r;
  if (k->opset >= 15) {
    /* Negative values count from the end; both are clamped to [0, r]. */
    start = c8_attr_int(node, "start", 0);
    end = c8_attr_int(node, "end", r);
    if (start < 0) start += r;
    if (end < 0) end += r;
    start = start < 0 ? 0 : start > r ? r : start;
    end = end < 0 ? 0 : end > r ? r : end;
  }
  shape_state *s = c8_malloc(sizeof *s);
  if (!s) return c8_node_error(node, CALIB8_OUT_OF_MEMORY, "out of memory");
  s->start = (int)start;
  s->end = (int)(end > start ? end : start);
  k->state = s;
  out[0]->dtype = CALIB8_INT64;
  out[0]->rank = 1;
  out[0]->dims[0] = s->end - s->start;
  return CALIB8_OK;
}

static c8_status shape_run(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out,
                           void *scratch) {
  (void)n_in, (void)n_out, (void)scratch;
  const shape_state *s = k->state;
  int64_t *o = out[0]->data;
  for (int i = s->start; i < s->end; i++) o[i - s->start] = in[0]->dims[i];
  return CALIB8_OK;
}

const c8_op_def c8_op_shape = {
    .name = "Shape", .domain = "", .prepare = shape_prepare, .run = shape_run, .reads_shape_only = true,
    .qrole = C8_QROLE_NONE, .values = C8_VALUES_COMPUTED, .batch = C8_BATCH_MIXES, .fuse = C8_FUSE_NONE};

static c8_status size_prepare(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out) {
  const c8_node *node = k->node;
  c8_status st = c8_check_inputs(node, n_in, 1, 1);
  if (st) return st;
  if (!in[0]) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "input 0 is missing");
  if (n_out != 1 || !out[0]) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "needs exactly one output");
  out[0]->dtype = CALIB8_INT64;
  out[0]->rank = 0;
  return CALIB8_OK;
}

static c8_status size_run(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out,
                          void *scratch) {
  (void)k, (void)n_in, (void)n_out, (void)scratch;
  *(int64_t *)out[0]->data = c8_numel(in[0]);
  return CALIB8_OK;
}

const c8_op_def c8_op_size = {
    .name = "Size", .domain = "", .prepare = size_prepare, .run = size_run, .reads_shape_only = true,
    .qrole = C8_QROLE_NONE, .values = C8_VALUES_COMPUTED, .batch = C8_BATCH_MIXES, .fuse = C8_FUSE_NONE};
