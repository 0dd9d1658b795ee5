/* Concat (ONNX 1, 4, 11, 13) and Split (1, 2, 11, 13, 18).
 * Both move one contiguous block per input (output) for every index of the axes before `axis`. */
#include <stdlib.h>
#include <string.h>

#include "ops/op-shape-util.h"

typedef struct {
  int64_t outer;    /* product of the dims before axis */
  size_t inner;     /* bytes of one index along axis (product of the dims after axis, times the element size) */
  int n;            /* inputs (Concat) or outputs (Split) */
  int64_t len[];    /* each part's size along axis */
} parts_state;

static parts_state *new_parts(int n) {
  parts_state *s = c8_calloc(1, sizeof *s + sizeof(int64_t) * (size_t)(n ? n : 1));
  if (s) s->n = n;
  return s;
}

/* ---- Concat ---- */

static c8_status concat_prepare(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out) {
  const c8_node *node = k->node;
  if (n_in < 1) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "needs at least one input");
  if (n_out != 1 || !out[0]) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "needs exactly one output");
  for (int i = 0; i < n_in; i++)
    if (!in[i]) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "input %d is missing", i);
  const c8_tensor *x = in[0];
  size_t es = 0;
  c8_status st = c8_movable_dtype(node, x, 0, &es);
  if (st) return st;
  const c8_attr *aa = c8_node_attr(node, "axis");
  if (!aa && k->opset >= 4) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "attribute 'axis' is required");
  int64_t axis_raw = aa ? aa->i : 1; /* Concat-1 defaulted to axis 1 */
  if (x->rank == 0) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "cannot concatenate scalars (input 0 has rank 0)");
  int axis;
  if ((st = c8_norm_axis(node, axis_raw, x->rank, &axis))) return st;
  int64_t total = 0;
  for (int i = 0; i < n_in; i++) {
    const c8_tensor *t = in[i];
    if (t->dtype != x->dtype)
      return c8_node_error(node, CALIB8_MALFORMED_MODEL, "input %d is %s but input 0 is %s", i,
                           calib8_dtype_name(t->dtype), calib8_dtype_name(x->dtype));
    if (t->rank != x->rank)
      return c8_node_error(node, CALIB8_INVALID_ARGUMENT, "input %d %s has rank %d but input 0 %s has rank %d", i,
                           C8_SHAPE_STR(t), t->rank, C8_SHAPE_STR(x), x->rank);
    for (int d = 0; d < x->rank; d++)
      if (d != axis && t->dims[d] != x->dims[d])
        return c8_node_error(node, CALIB8_INVALID_ARGUMENT,
                             "input %d %s and input 0 %s differ in dimension %d (only axis %d may differ)", i,
                             C8_SHAPE_STR(t), C8_SHAPE_STR(x), d, axis);
    total += t->dims[axis];
  }
  parts_state *s = new_parts(n_in);
  if (!s) return c8_node_error(node, CALIB8_OUT_OF_MEMORY, "out of memory");
  s->outer = c8_dims_prod(x->dims, 0, axis);
  s->inner = (size_t)c8_dims_prod(x->dims, axis + 1, x->rank) * es;
  for (int i = 0; i < n_in; i++) s->len[i] = in[i]->dims[axis];
  k->state = s;
  c8_tensor *o = out[0];
  c8_copy_shape(o, x);
  o->dims[axis] = total;
  return CALIB8_OK;
}

static c8_status concat_run(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out,
                            void *scratch) {
  (void)n_out, (void)scratch;
  const parts_state *s = k->state;
  char *dst = out[0]->data;
  for (int64_t o = 0; o < s->outer; o++)
    for (int i = 0; i < n_in; i++) {
      size_t bytes = (size_t)s->len[i] * s->inner;
      if (!bytes) continue;
      memcpy(dst, (const char *)in[i]->data + (size_t)o * bytes, bytes);
      dst += bytes;
    }
  return CALIB8_OK;
}

/* Batch splitting: Concat(constant, x) carries the batch axis of x; samples stay apart unless it is the
   concatenation axis. */
static bool concat_batch(const c8_batch_query *q) {
  const int rank = q->in[0] ? q->in[0]->rank : 0;
  return q->ax_any >= 0 && c8_wrap_axis(c8_attr_int(q->node, "axis", 0), rank) != q->ax_any;
}

const c8_op_def c8_op_concat = {
    .name = "Concat", .domain = "", .prepare = concat_prepare, .run = concat_run,
    .qrole = C8_QROLE_JOINS, .values = C8_VALUES_COMPUTED, .batch = C8_BATCH_CHECK, .batch_check = concat_batch,
    .fuse = C8_FUSE_NONE};

/* ---- Split: `split` is an attribute before opset 13, an input from 13; opset 18 adds num_outputs. ---- */

static c8_status split_prepare(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out) {
  const c8_node *node = k->node;
  c8_status st = c8_check_inputs(node, n_in, 1, k->opset >= 13 ? 2 : 1);
  if (st) return st;
  if (!in[0]) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "input 0 is missing");
  if (n_out < 1) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "needs at least one output");
  const c8_tensor *x = in[0];
  size_t es = 0;
  if ((st = c8_movable_dtype(node, x, 0, &es))) return st;
  if (x->rank == 0) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "cannot split a scalar");
  int axis;
  if ((st = c8_norm_axis(node, c8_attr_int(node, "axis", 0), x->rank, &axis))) return st;
  int64_t dim = x->dims[axis];
  parts_state *s = new_parts(n_out);
  if (!s) return c8_node_error(node, CALIB8_OUT_OF_MEMORY, "out of memory");
  k->state = s;
  bool have_split = false;
  if (k->opset >= 13) {
    if (n_in >= 2 && in[1]) {
      if ((st = c8_check_const(node, in[1], 1))) return st;
      if (in[1]->dtype != CALIB8_INT64 && in[1]->dtype != CALIB8_INT32)
        return c8_node_error(node, CALIB8_UNSUPPORTED, "input 1 (split) is %s, expected int64",
                             calib8_dtype_name(in[1]->dtype));
      if (c8_numel(in[1]) != n_out)
        return c8_node_error(node, CALIB8_MALFORMED_MODEL, "split has %lld values but the node has %d outputs",
                             (long long)c8_numel(in[1]), n_out);
      for (int i = 0; i < n_out; i++) s->len[i] = c8_get_i64(in[1], i);
      have_split = true;
    }
  } else if (c8_node_attr(node, "split")) {
    int ns;
    const int64_t *v = c8_attr_ints(node, "split", &ns);
    if (ns != n_out)
      return c8_node_error(node, CALIB8_MALFORMED_MODEL, "split has %d values but the node has %d outputs", ns,
                           n_out);
    for (int i = 0; i < n_out; i++) s->len[i] = v[i];
    have_split = true;
  }
  if (have_split) {
    int64_t sum = 0;
    for (int i = 0; i < n_out; i++) {
      if (s->len[i] < 0)
        return c8_node_error(node, CALIB8_MALFORMED_MODEL, "split[%d] is %lld, sizes must be >= 0", i,
                             (long long)s->len[i]);
      sum += s->len[i];
    }
    if (sum != dim)
      return c8_node_error(node, CALIB8_INVALID_ARGUMENT, "split sizes add up to %lld but axis %d of %s has %lld",
                           (long long)sum, axis, C8_SHAPE_STR(x), (long long)dim);
  } else if (k->opset >= 18 && c8_node_attr(node, "num_outputs")) {
    /* Opset 18: ceil(dim / num_outputs) per output, the last one takes the remainder. */
    int64_t no = c8_attr_int(node, "num_outputs", 0);
    if (no != n_out)
      return c8_node_error(node, CALIB8_MALFORMED_MODEL, "num_outputs is %lld but the node has %d outputs",
                           (long long)no, n_out);
    int64_t chunk = (dim + no - 1) / no;
    if (chunk * (no - 1) > dim)
      return c8_node_error(node, CALIB8_INVALID_ARGUMENT, "axis %d of size %lld cannot be split into %lld parts",
                           axis, (long long)dim, (long long)no);
    for (int i = 0; i < n_out; i++) s->len[i] = i < n_out - 1 ? chunk : dim - chunk * (no - 1);
  } else {
    if (dim % n_out != 0)
      return c8_node_error(node, CALIB8_INVALID_ARGUMENT,
                           "axis %d of %s has %lld elements, not divisible into %d equal outputs", axis,
                           C8_SHAPE_STR(x), (long long)dim, n_out);
    for (int i = 0; i < n_out; i++) s->len[i] = dim / n_out;
  }
  s->outer = c8_dims_prod(x->dims, 0, axis);
  s->inner = (size_t)c8_dims_prod(x->dims, axis + 1, x->rank) * es;
  for (int i = 0; i < n_out; i++) {
    if (!out[i]) continue;
    c8_copy_shape(out[i], x);
    out[i]->dims[axis] = s->len[i];
  }
  return CALIB8_OK;
}

static c8_status split_run(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out,
                           void *scratch) {
  (void)n_in, (void)scratch;
  const parts_state *s = k->state;
  const char *src = in[0]->data;
  for (int64_t o = 0; o < s->outer; o++)
    for (int i = 0; i < n_out; i++) {
      size_t bytes = (size_t)s->len[i] * s->inner;
      if (out[i] && bytes) memcpy((char *)out[i]->data + (size_t)o * bytes, src, bytes);
      src += bytes;
    }
  return CALIB8_OK;
}

/* Batch splitting: per sample unless the batch axis is the one split. */
static bool split_batch(const c8_batch_query *q) {
  const int rank = q->in[0] ? q->in[0]->rank : 0;
  return q->ax >= 0 && c8_wrap_axis(c8_attr_int(q->node, "axis", 0), rank) != q->ax;
}

/* split becomes an input at opset 13. */
static c8_status split_upgrade(c8_graph *g, int k, int from, int to) {
  return from < 13 && to >= 13 ? c8_upgrade_ints_to_input(g, k, "split", 1) : CALIB8_OK;
}

const c8_op_def c8_op_split = {
    .name = "Split", .domain = "", .prepare = split_prepare, .run = split_run,
    .qrole = C8_QROLE_NONE, .values = C8_VALUES_COMPUTED, .batch = C8_BATCH_CHECK, .batch_check = split_batch,
    .fuse = C8_FUSE_NONE, .upgrade = split_upgrade};
