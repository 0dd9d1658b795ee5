/* Slice (ONNX 1, 10, 11, 13). Before opset 10 starts/ends/axes are attributes; from 10 on they are inputs
 * (with optional steps), and they must be known at prepare time since they decide the output shape.
 * Run copies the largest contiguous run (trailing full axes plus a step-1 axis) with memcpy. */
#include <stdlib.h>
#include <string.h>

#include "ops/op-shape-util.h"

typedef struct {
  int n;                       /* odometer axes */
  int64_t len[C8_MAX_RANK];     /* output length of each odometer axis */
  int64_t stride[C8_MAX_RANK];  /* input byte step of each odometer axis (step * stride) */
  int64_t base;                 /* byte offset of the first element */
  size_t block;                 /* contiguous bytes copied per odometer position */
  size_t es;
  bool empty;
} slice_state;

static c8_status slice_prepare(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out) {
  const c8_node *node = k->node;
  c8_status st;
  bool attrs = k->opset < 10;
  if ((st = c8_check_inputs(node, n_in, attrs ? 1 : 3, attrs ? 1 : 5))) return st;
  if (!in[0]) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "input 0 is missing");
  if (n_out != 1 || !out[0]) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "needs exactly one output");
  const c8_tensor *x = in[0];
  int r = x->rank;
  size_t es = 0;
  if ((st = c8_movable_dtype(node, x, 0, &es))) return st;
  int64_t starts[C8_MAX_RANK], ends[C8_MAX_RANK], axes[C8_MAX_RANK], steps[C8_MAX_RANK];
  int ns = 0, ne = 0, na = -1, nst = -1;
  if (attrs) {
    const int64_t *v;
    int n;
    if (!c8_node_attr(node, "starts") || !c8_node_attr(node, "ends"))
      return c8_node_error(node, CALIB8_MALFORMED_MODEL, "attributes 'starts' and 'ends' are required");
    v = c8_attr_ints(node, "starts", &n);
    if (n > C8_MAX_RANK) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "starts has %d values, more than the rank", n);
    memcpy(starts, v, sizeof(int64_t) * (size_t)n);
    ns = n;
    v = c8_attr_ints(node, "ends", &n);
    if (n > C8_MAX_RANK) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "ends has %d values, more than the rank", n);
    memcpy(ends, v, sizeof(int64_t) * (size_t)n);
    ne = n;
    if (c8_node_attr(node, "axes")) {
      v = c8_attr_ints(node, "axes", &n);
      if (n > C8_MAX_RANK) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "axes has %d values, more than the rank", n);
      memcpy(axes, v, sizeof(int64_t) * (size_t)n);
      na = n;
    }
  } else {
    if (!in[1] || !in[2]) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "inputs 1 (starts) and 2 (ends) are required");
    if ((st = c8_read_int_input(node, in[1], 1, "starts", starts, C8_MAX_RANK, &ns))) return st;
    if ((st = c8_read_int_input(node, in[2], 2, "ends", ends, C8_MAX_RANK, &ne))) return st;
    if (n_in >= 4 && in[3] && (st = c8_read_int_input(node, in[3], 3, "axes", axes, C8_MAX_RANK, &na))) return st;
    if (n_in >= 5 && in[4] && (st = c8_read_int_input(node, in[4], 4, "steps", steps, C8_MAX_RANK, &nst))) return st;
  }
  if (ne != ns)
    return c8_node_error(node, CALIB8_MALFORMED_MODEL, "starts has %d values but ends has %d", ns, ne);
  if (na >= 0 && na != ns)
    return c8_node_error(node, CALIB8_MALFORMED_MODEL, "axes has %d values but starts has %d", na, ns);
  if (nst >= 0 && nst != ns)
    return c8_node_error(node, CALIB8_MALFORMED_MODEL, "steps has %d values but starts has %d", nst, ns);
  if (na < 0 && ns > r)
    return c8_node_error(node, CALIB8_MALFORMED_MODEL, "starts has %d values but the input has rank %d", ns, r);

  int64_t start[C8_MAX_RANK], step[C8_MAX_RANK], len[C8_MAX_RANK];
  bool seen[C8_MAX_RANK] = {false};
  for (int d = 0; d < r; d++) {
    start[d] = 0;
    step[d] = 1;
    len[d] = x->dims[d];
  }
  for (int i = 0; i < ns; i++) {
    int a;
    if (na >= 0) {
      if ((st = c8_norm_axis(node, axes[i], r, &a))) return st;
    } else {
      a = i;
    }
    if (seen[a]) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "axis %d is sliced twice", a);
    seen[a] = true;
    int64_t dim = x->dims[a], s = starts[i], e = ends[i], p = nst >= 0 ? steps[i] : 1;
    if (p == 0) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "steps[%d] is 0", i);
    if (s < 0) s += dim;
    if (e < 0) e += dim;
    if (p > 0) {
      s = s < 0 ? 0 : s > dim ? dim : s;
      e = e < 0 ? 0 : e > dim ? dim : e;
      len[a] = e > s ? (e - s + p - 1) / p : 0;
    } else {
      s = s < 0 ? 0 : s > dim - 1 ? dim - 1 : s;
      e = e < -1 ? -1 : e > dim - 1 ? dim - 1 : e;
      len[a] = s > e ? (s - e + (-p) - 1) / (-p) : 0;
    }
    if (dim == 0) s = 0, len[a] = 0;
    start[a] = s;
    step[a] = p;
  }
  c8_tensor *o = out[0];
  o->dtype = x->dtype;
  o->rank = r;
  memcpy(o->dims, len, sizeof(int64_t) * (size_t)r);

  slice_state *S = c8_calloc(1, sizeof *S);
  if (!S) return c8_node_error(node, CALIB8_OUT_OF_MEMORY, "out of memory");
  k->state = S;
  int64_t stride[C8_MAX_RANK];
  int64_t sacc = (int64_t)es;
  for (int d = r - 1; d >= 0; d--) {
    stride[d] = sacc;
    sacc *= x->dims[d];
  }
  for (int d = 0; d < r; d++) {
    if (len[d] == 0) S->empty = true;
    S->base += start[d] * stride[d];
  }
  /* Trailing axes taken whole are one contiguous run; a step-1 axis before them extends it. */
  int t = r;
  size_t block = es;
  while (t > 0 && start[t - 1] == 0 && step[t - 1] == 1 && len[t - 1] == x->dims[t - 1]) {
    block *= (size_t)x->dims[t - 1];
    t--;
  }
  if (t > 0 && step[t - 1] == 1) {
    block *= (size_t)len[t - 1];
    t--;
  }
  S->block = block;
  S->es = es;
  S->n = t;
  for (int d = 0; d < t; d++) {
    S->len[d] = len[d];
    S->stride[d] = step[d] * stride[d];
  }
  return CALIB8_OK;
}

static c8_status slice_run(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out,
                           void *scratch) {
  (void)n_in, (void)n_out, (void)scratch;
  const slice_state *S = k->state;
  if (S->empty) return CALIB8_OK;
  const char *src = (const char *)in[0]->data + S->base;
  char *dst = out[0]->data;
  size_t block = S->block;
  if (S->n == 0) {
    memcpy(dst, src, block);
    return CALIB8_OK;
  }
  /* The innermost odometer axis is a tight loop; the others advance an odometer. */
  int last = S->n - 1;
  int64_t n_last = S->len[last], s_last = S->stride[last];
  int64_t idx[C8_MAX_RANK] = {0};
  int64_t off = 0;
  for (;;) {
    const char *p = src + off;
    if (block == S->es) { /* single elements: aligned for their type */
      for (int64_t i = 0; i < n_last; i++, p += s_last, dst += block) c8_copy_elem(dst, p, block);
    } else {
      for (int64_t i = 0; i < n_last; i++, p += s_last, dst += block) memcpy(dst, p, block);
    }
    int a = last - 1;
    for (; a >= 0; a--) {
      off += S->stride[a];
      if (++idx[a] < S->len[a]) break;
      off -= S->stride[a] * S->len[a];
      idx[a] = 0;
    }
    if (a < 0) break;
  }
  return CALIB8_OK;
}

/* Batch splitting: the batch axis, if sliced, keeps every sample in order (start 0, end past the last,
   step 1). */
static bool slice_batch(const c8_batch_query *q) {
  if (q->ax < 0) return false;
  const c8_node *n = q->node;
  const c8_tensor *x = q->in[0];
  const int ax = q->ax;
  int64_t starts[CALIB8_MAX_RANK], ends[CALIB8_MAX_RANK], axes[CALIB8_MAX_RANK], steps[CALIB8_MAX_RANK];
  int ns, ne, na, nst = -1;
  if (q->opset < 10) {
    const int64_t *a;
    int k;
    if (!(a = c8_attr_ints(n, "starts", &k)) || k > CALIB8_MAX_RANK) return false;
    memcpy(starts, a, sizeof(int64_t) * (size_t)k), ns = k;
    if (!(a = c8_attr_ints(n, "ends", &k)) || k != ns) return false;
    memcpy(ends, a, sizeof(int64_t) * (size_t)k), ne = k;
    a = c8_attr_ints(n, "axes", &k);
    if (a && k != ns) return false;
    if (a) memcpy(axes, a, sizeof(int64_t) * (size_t)k);
    na = a ? k : -1;
  } else {
    if (q->n_in < 3) return false;
    ns = c8_known_ints(q->in[1], starts, CALIB8_MAX_RANK);
    ne = c8_known_ints(q->in[2], ends, CALIB8_MAX_RANK);
    na = q->n_in > 3 && q->in[3] ? c8_known_ints(q->in[3], axes, CALIB8_MAX_RANK) : -1;
    nst = q->n_in > 4 && q->in[4] ? c8_known_ints(q->in[4], steps, CALIB8_MAX_RANK) : -1;
    if (ns < 0 || ne != ns || (q->n_in > 3 && q->in[3] && na != ns) || (q->n_in > 4 && q->in[4] && nst != ns))
      return false;
  }
  for (int i = 0; i < ns; i++) {
    if ((na >= 0 ? c8_wrap_axis(axes[i], x->rank) : i) != ax) continue;
    int64_t dim = x->dims[ax], b = starts[i], e = ends[i];
    if (nst >= 0 && steps[i] != 1) return false;
    if (b < 0) b += dim;
    if (e < 0) e += dim;
    if (b > 0 || e < dim) return false;
  }
  return true;
}

/* starts, ends and axes become inputs at opset 10. */
static c8_status slice_upgrade(c8_graph *g, int k, int from, int to) {
  if (from >= 10 || to < 10) return CALIB8_OK;
  c8_status st = c8_upgrade_ints_to_input(g, k, "starts", 1);
  if (!st) st = c8_upgrade_ints_to_input(g, k, "ends", 2);
  return st ? st : c8_upgrade_ints_to_input(g, k, "axes", 3);
}

const c8_op_def c8_op_slice = {
    .name = "Slice", .domain = "", .prepare = slice_prepare, .run = slice_run,
    .qrole = C8_QROLE_NONE, .values = C8_VALUES_COMPUTED, .batch = C8_BATCH_CHECK, .batch_check = slice_batch,
    .batch_shape_inputs = (1u << 1) | (1u << 2), .fuse = C8_FUSE_NONE, .upgrade = slice_upgrade};
