/* Gather (ONNX 1, 11, 13), GatherElements (11, 13) and GatherND (11, 12, 13).
 * Indices are int32 or int64, may be negative (counted from the end) and are checked at run time:
 * an index out of range is an error, never an out-of-bounds read. Data of any dtype is copied by element size. */
#include <stdlib.h>
#include <string.h>

#include "ops/op-shape-util.h"

static c8_status check_index_dtype(const c8_node *node, const c8_tensor *t, int index) {
  if (t->dtype != CALIB8_INT64 && t->dtype != CALIB8_INT32)
    return c8_node_error(node, CALIB8_UNSUPPORTED, "input %d (indices) is %s, expected int64 or int32", index,
                         calib8_dtype_name(t->dtype));
  return CALIB8_OK;
}

static inline int64_t index_at(const c8_tensor *t, int64_t i) {
  return t->dtype == CALIB8_INT64 ? ((const int64_t *)t->data)[i] : ((const int32_t *)t->data)[i];
}

static c8_status index_error(const c8_node *node, int64_t v, int64_t dim, int axis) {
  return c8_node_error(node, CALIB8_INVALID_ARGUMENT, "index %lld is out of range for axis %d of size %lld",
                       (long long)v, axis, (long long)dim);
}

static c8_status two_inputs(const c8_node *node, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out,
                            size_t *es) {
  c8_status st = c8_check_inputs(node, n_in, 2, 2);
  if (st) return st;
  if (!in[0] || !in[1]) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "inputs 0 (data) and 1 (indices) are required");
  if (n_out != 1 || !out[0]) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "needs exactly one output");
  if ((st = c8_movable_dtype(node, in[0], 0, es))) return st;
  return check_index_dtype(node, in[1], 1);
}

/* ---- Gather ---- */

typedef struct {
  int axis;
  int64_t outer, dim;
  size_t inner; /* bytes */
} gather_state;

static c8_status gather_prepare(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out) {
  const c8_node *node = k->node;
  size_t es = 0;
  c8_status st = two_inputs(node, in, n_in, out, n_out, &es);
  if (st) return st;
  const c8_tensor *x = in[0], *ind = in[1];
  if (x->rank == 0) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "data must have rank >= 1");
  int axis;
  if ((st = c8_norm_axis(node, c8_attr_int(node, "axis", 0), x->rank, &axis))) return st;
  int r = x->rank - 1 + ind->rank;
  if (r > C8_MAX_RANK)
    return c8_node_error(node, CALIB8_UNSUPPORTED, "output rank %d exceeds the maximum of %d", r, C8_MAX_RANK);
  gather_state *s = c8_malloc(sizeof *s);
  if (!s) return c8_node_error(node, CALIB8_OUT_OF_MEMORY, "out of memory");
  s->axis = axis;
  s->outer = c8_dims_prod(x->dims, 0, axis);
  s->dim = x->dims[axis];
  s->inner = (size_t)c8_dims_prod(x->dims, axis + 1, x->rank) * es;
  k->state = s;
  c8_tensor *o = out[0];
  o->dtype = x->dtype;
  o->rank = r;
  int j = 0;
  for (int d = 0; d < axis; d++) o->dims[j++] = x->dims[d];
  for (int d = 0; d < ind->rank; d++) o->dims[j++] = ind->dims[d];
  for (int d = axis + 1; d < x->rank; d++) o->dims[j++] = x->dims[d];
  return CALIB8_OK;
}

static c8_status gather_run(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out,
                            void *scratch) {
  (void)n_in, (void)n_out, (void)scratch;
  const gather_state *s = k->state;
  const c8_tensor *ind = in[1];
  int64_t n = c8_numel(ind), dim = s->dim;
  for (int64_t j = 0; j < n; j++) {
    int64_t v = index_at(ind, j);
    if (v < -dim || v >= dim) return index_error(k->node, v, dim, s->axis);
  }
  const char *src = in[0]->data;
  char *dst = out[0]->data;
  size_t inner = s->inner;
  for (int64_t o = 0; o < s->outer; o++) {
    const char *base = src + (size_t)o * (size_t)dim * inner;
    for (int64_t j = 0; j < n; j++) {
      int64_t v = index_at(ind, j);
      if (v < 0) v += dim;
      if (inner <= 8 && (inner & (inner - 1)) == 0) c8_copy_elem(dst, base + (size_t)v * inner, inner);
      else memcpy(dst, base + (size_t)v * inner, inner);
      dst += inner;
    }
  }
  return CALIB8_OK;
}

/* Batch splitting: a lookup into a known table by run-time indices is per sample, and so is gathering along
   another axis than the batch's. */
static bool gather_batch(const c8_batch_query *q) {
  if (q->ax < 0) return true;
  const int rank = q->in[0] ? q->in[0]->rank : 0;
  return c8_wrap_axis(c8_attr_int(q->node, "axis", 0), rank) != q->ax;
}

const c8_op_def c8_op_gather = {
    .name = "Gather", .domain = "", .prepare = gather_prepare, .run = gather_run,
    .qrole = C8_QROLE_NONE, .values = C8_VALUES_COMPUTED, .batch = C8_BATCH_CHECK, .batch_check = gather_batch,
    .fuse = C8_FUSE_NONE};

/* ---- GatherElements ---- */

typedef struct {
  int axis, rank;
  size_t es;
  int64_t in_stride[C8_MAX_RANK]; /* elements */
  int64_t dim;                    /* data size along axis */
} gather_el_state;

static c8_status gather_el_prepare(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out,
                                   int n_out) {
  const c8_node *node = k->node;
  size_t es = 0;
  c8_status st = two_inputs(node, in, n_in, out, n_out, &es);
  if (st) return st;
  const c8_tensor *x = in[0], *ind = in[1];
  if (x->rank == 0) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "data must have rank >= 1");
  if (ind->rank != x->rank)
    return c8_node_error(node, CALIB8_MALFORMED_MODEL, "indices %s must have the rank of data %s", C8_SHAPE_STR(ind),
                         C8_SHAPE_STR(x));
  int axis;
  if ((st = c8_norm_axis(node, c8_attr_int(node, "axis", 0), x->rank, &axis))) return st;
  for (int d = 0; d < x->rank; d++)
    if (d != axis && ind->dims[d] > x->dims[d])
      return c8_node_error(node, CALIB8_INVALID_ARGUMENT, "indices %s exceed data %s in dimension %d",
                           C8_SHAPE_STR(ind), C8_SHAPE_STR(x), d);
  gather_el_state *s = c8_malloc(sizeof *s);
  if (!s) return c8_node_error(node, CALIB8_OUT_OF_MEMORY, "out of memory");
  s->axis = axis;
  s->rank = x->rank;
  s->es = es;
  s->dim = x->dims[axis];
  int64_t acc = 1;
  for (int d = x->rank - 1; d >= 0; d--) {
    s->in_stride[d] = acc;
    acc *= x->dims[d];
  }
  k->state = s;
  c8_copy_shape(out[0], ind);
  out[0]->dtype = x->dtype;
  return CALIB8_OK;
}

static c8_status gather_el_run(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out,
                               void *scratch) {
  (void)n_in, (void)n_out, (void)scratch;
  const gather_el_state *s = k->state;
  const c8_tensor *ind = in[1];
  int64_t n = c8_numel(ind), dim = s->dim;
  for (int64_t j = 0; j < n; j++) {
    int64_t v = index_at(ind, j);
    if (v < -dim || v >= dim) return index_error(k->node, v, dim, s->axis);
  }
  const char *src = in[0]->data;
  char *dst = out[0]->data;
  int64_t idx[C8_MAX_RANK] = {0};
  int64_t off = 0; /* data offset (elements) of the current position, without the axis term */
  for (int64_t j = 0; j < n; j++) {
    int64_t v = index_at(ind, j);
    if (v < 0) v += dim;
    c8_copy_elem(dst + (size_t)j * s->es, src + (size_t)(off + v * s->in_stride[s->axis]) * s->es, s->es);
    for (int d = s->rank - 1; d >= 0; d--) {
      if (d != s->axis) off += s->in_stride[d];
      if (++idx[d] < ind->dims[d]) break;
      if (d != s->axis) off -= s->in_stride[d] * ind->dims[d];
      idx[d] = 0;
    }
  }
  return CALIB8_OK;
}

/* Batch splitting: per sample when gathering along another axis than the batch's. */
static bool gather_el_batch(const c8_batch_query *q) {
  const int rank = q->in[0] ? q->in[0]->rank : 0;
  return q->ax >= 0 && c8_wrap_axis(c8_attr_int(q->node, "axis", 0), rank) != q->ax;
}

const c8_op_def c8_op_gatherelements = {
    .name = "GatherElements", .domain = "", .prepare = gather_el_prepare, .run = gather_el_run,
    .qrole = C8_QROLE_NONE, .values = C8_VALUES_COMPUTED, .batch = C8_BATCH_CHECK, .batch_check = gather_el_batch,
    .fuse = C8_FUSE_NONE};

/* ---- GatherND ---- */

typedef struct {
  int64_t batches, tuples, m;    /* batch count, index tuples per batch, tuple length */
  int b;                          /* batch_dims */
  int64_t dims[C8_MAX_RANK];      /* data dims b .. b+m-1 */
  int64_t strides[C8_MAX_RANK];   /* their strides in bytes */
  int64_t batch_bytes;            /* data bytes per batch */
  size_t slice;                   /* bytes copied per tuple */
} gather_nd_state;

static c8_status gather_nd_prepare(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out,
                                   int n_out) {
  const c8_node *node = k->node;
  size_t es = 0;
  c8_status st = two_inputs(node, in, n_in, out, n_out, &es);
  if (st) return st;
  const c8_tensor *x = in[0], *ind = in[1];
  if (ind->dtype != CALIB8_INT64)
    return c8_node_error(node, CALIB8_UNSUPPORTED, "input 1 (indices) is %s, expected int64",
                         calib8_dtype_name(ind->dtype));
  int64_t b = k->opset >= 12 ? c8_attr_int(node, "batch_dims", 0) : 0;
  int r = x->rank, q = ind->rank;
  if (r < 1 || q < 1) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "data and indices must have rank >= 1");
  if (b < 0 || b >= (q < r ? q : r))
    return c8_node_error(node, CALIB8_MALFORMED_MODEL, "batch_dims %lld must be in [0, min(rank(data), rank(indices)))",
                         (long long)b);
  for (int d = 0; d < b; d++)
    if (x->dims[d] != ind->dims[d])
      return c8_node_error(node, CALIB8_INVALID_ARGUMENT, "batch dimension %d differs: data %s, indices %s", d,
                           C8_SHAPE_STR(x), C8_SHAPE_STR(ind));
  int64_t m = ind->dims[q - 1];
  if (m < 1 || m > r - b)
    return c8_node_error(node, CALIB8_INVALID_ARGUMENT, "the last dimension of indices %s must be in [1, %lld]",
                         C8_SHAPE_STR(ind), (long long)(r - b));
  int orank = q - 1 + r - (int)b - (int)m;
  if (orank > C8_MAX_RANK)
    return c8_node_error(node, CALIB8_UNSUPPORTED, "output rank %d exceeds the maximum of %d", orank, C8_MAX_RANK);
  gather_nd_state *s = c8_malloc(sizeof *s);
  if (!s) return c8_node_error(node, CALIB8_OUT_OF_MEMORY, "out of memory");
  k->state = s;
  s->b = (int)b;
  s->batches = c8_dims_prod(x->dims, 0, (int)b);
  s->tuples = c8_dims_prod(ind->dims, (int)b, q - 1);
  s->m = m;
  s->slice = (size_t)c8_dims_prod(x->dims, (int)(b + m), r) * es;
  int64_t acc = (int64_t)s->slice;
  for (int64_t d = m - 1; d >= 0; d--) {
    s->dims[d] = x->dims[b + d];
    s->strides[d] = acc;
    acc *= x->dims[b + d];
  }
  s->batch_bytes = acc;
  c8_tensor *o = out[0];
  o->dtype = x->dtype;
  o->rank = orank;
  int j = 0;
  for (int d = 0; d < q - 1; d++) o->dims[j++] = ind->dims[d];
  for (int d = (int)(b + m); d < r; d++) o->dims[j++] = x->dims[d];
  return CALIB8_OK;
}

static c8_status gather_nd_run(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out,
                               void *scratch) {
  (void)n_in, (void)n_out, (void)scratch;
  const gather_nd_state *s = k->state;
  const int64_t *ind = in[1]->data;
  const char *src = in[0]->data;
  char *dst = out[0]->data;
  for (int64_t bi = 0; bi < s->batches; bi++)
    for (int64_t t = 0; t < s->tuples; t++) {
      const int64_t *tup = ind + (bi * s->tuples + t) * s->m;
      int64_t off = 0;
      for (int64_t d = 0; d < s->m; d++) {
        int64_t v = tup[d];
        if (v < -s->dims[d] || v >= s->dims[d]) return index_error(k->node, v, s->dims[d], s->b + (int)d);
        if (v < 0) v += s->dims[d];
        off += v * s->strides[d];
      }
      memcpy(dst, src + bi * s->batch_bytes + off, s->slice);
      dst += s->slice;
    }
  return CALIB8_OK;
}

/* Batch splitting: per sample when the batch is a batch dimension of the gather (batch_dims >= 1). */
static bool gather_nd_batch(const c8_batch_query *q) {
  return q->ax == 0 && c8_attr_int(q->node, "batch_dims", 0) >= 1;
}

const c8_op_def c8_op_gathernd = {
    .name = "GatherND", .domain = "", .prepare = gather_nd_prepare, .run = gather_nd_run,
    .qrole = C8_QROLE_NONE, .values = C8_VALUES_COMPUTED, .batch = C8_BATCH_CHECK, .batch_check = gather_nd_batch,
    .fuse = C8_FUSE_NONE};
