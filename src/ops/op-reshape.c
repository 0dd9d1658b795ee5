/* Reshape (ONNX 1, 5, 13, 14), Flatten (1, 9, 11, 13), Squeeze and Unsqueeze (1, 11, 13).
 * All four only change the shape: run is one memcpy into the output buffer. */
#include <string.h>

#include "ops/op-shape-util.h"

static c8_status copy_run(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out,
                          void *scratch) {
  (void)k, (void)n_in, (void)n_out, (void)scratch;
  if (out[0]->data != in[0]->data) memmove(out[0]->data, in[0]->data, c8_nbytes(in[0]));
  return CALIB8_OK;
}

static c8_status need_data_input(const c8_node *node, c8_tensor *const *in, int n_in) {
  if (n_in < 1 || !in[0]) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "input 0 (data) is missing");
  size_t es = 0;
  return c8_movable_dtype(node, in[0], 0, &es);
}

/* ---- Reshape ---- */

static c8_status reshape_prepare(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out) {
  const c8_node *node = k->node;
  c8_status st = c8_check_inputs(node, n_in, 1, 2);
  if (st || (st = need_data_input(node, in, n_in))) return st;
  if (n_out != 1 || !out[0]) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "needs exactly one output");
  int64_t shape[C8_MAX_RANK];
  int n = 0;
  if (n_in >= 2 && in[1]) {
    st = c8_read_int_input(node, in[1], 1, "shape", shape, C8_MAX_RANK, &n);
    if (st) return st;
  } else if (k->opset < 5 && c8_node_attr(node, "shape")) {
    int na;
    const int64_t *a = c8_attr_ints(node, "shape", &na);
    if (na > C8_MAX_RANK)
      return c8_node_error(node, CALIB8_UNSUPPORTED, "shape has %d dimensions, at most %d are supported", na,
                           C8_MAX_RANK);
    for (int i = 0; i < na; i++) shape[i] = a[i];
    n = na;
  } else {
    return c8_node_error(node, CALIB8_MALFORMED_MODEL, "input 1 (shape) is missing");
  }
  /* allowzero (opset 14): a 0 is a real zero dimension instead of "copy the input's dimension". */
  bool allowzero = k->opset >= 14 && c8_attr_int(node, "allowzero", 0) != 0;
  const c8_tensor *x = in[0];
  c8_tensor *o = out[0];
  int infer = -1;
  int64_t known = 1;
  for (int i = 0; i < n; i++) {
    int64_t d = shape[i];
    if (d == -1) {
      if (infer >= 0)
        return c8_node_error(node, CALIB8_MALFORMED_MODEL, "shape has more than one -1 (dimensions %d and %d)",
                             infer, i);
      infer = i;
      continue;
    }
    if (d == 0 && !allowzero) {
      if (i >= x->rank)
        return c8_node_error(node, CALIB8_MALFORMED_MODEL,
                             "shape[%d] is 0 (copy the input dimension) but the input has rank %d", i, x->rank);
      d = x->dims[i];
    }
    if (d < 0)
      return c8_node_error(node, CALIB8_MALFORMED_MODEL, "shape[%d] is %lld, dimensions must be >= -1", i,
                           (long long)shape[i]);
    o->dims[i] = d;
    known *= d;
  }
  int64_t total = c8_numel(x);
  if (infer >= 0) {
    if (allowzero) {
      for (int i = 0; i < n; i++)
        if (shape[i] == 0)
          return c8_node_error(node, CALIB8_MALFORMED_MODEL,
                               "shape has both -1 and 0 with allowzero=1, so the -1 cannot be inferred");
    }
    if (known == 0 || total % known != 0)
      return c8_node_error(node, CALIB8_INVALID_ARGUMENT,
                           "cannot reshape %s (%lld elements) to the requested shape: %lld is not a multiple of %lld",
                           C8_SHAPE_STR(x), (long long)total, (long long)total, (long long)known);
    o->dims[infer] = total / known;
    known *= o->dims[infer];
  }
  o->rank = n;
  if (known != total) {
    o->dtype = x->dtype;
    return c8_node_error(node, CALIB8_INVALID_ARGUMENT, "cannot reshape %s (%lld elements) to %s (%lld elements)",
                         C8_SHAPE_STR(x), (long long)total, C8_SHAPE_STR(o), (long long)known);
  }
  o->dtype = x->dtype;
  return CALIB8_OK;
}

const c8_op_def c8_op_reshape = {
    .name = "Reshape", .domain = "", .prepare = reshape_prepare, .run = copy_run,
    .qrole = C8_QROLE_SHARES_SCALE, .values = C8_VALUES_MOVED, .batch = C8_BATCH_BLOCKS,
    .batch_shape_inputs = 1u << 1, .fuse = C8_FUSE_NONE};

/* ---- Flatten ---- */

static c8_status flatten_prepare(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out) {
  const c8_node *node = k->node;
  c8_status st = c8_check_inputs(node, n_in, 1, 1);
  if (st || (st = need_data_input(node, in, n_in))) return st;
  if (n_out != 1 || !out[0]) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "needs exactly one output");
  const c8_tensor *x = in[0];
  int64_t axis = c8_attr_int(node, "axis", 1);
  /* Flatten accepts axis in [-r, r] (r itself gives an [N, 1] output). */
  if (axis < -x->rank || axis > x->rank)
    return c8_node_error(node, CALIB8_MALFORMED_MODEL, "axis %lld is out of range for rank %d (allowed: [%d, %d])",
                         (long long)axis, x->rank, -x->rank, x->rank);
  if (axis < 0) axis += x->rank;
  out[0]->dtype = x->dtype;
  out[0]->rank = 2;
  out[0]->dims[0] = c8_dims_prod(x->dims, 0, (int)axis);
  out[0]->dims[1] = c8_dims_prod(x->dims, (int)axis, x->rank);
  return CALIB8_OK;
}

const c8_op_def c8_op_flatten = {
    .name = "Flatten", .domain = "", .prepare = flatten_prepare, .run = copy_run,
    .qrole = C8_QROLE_SHARES_SCALE, .values = C8_VALUES_MOVED, .batch = C8_BATCH_BLOCKS, .fuse = C8_FUSE_NONE};

/* ---- Squeeze / Unsqueeze: axes are an attribute before opset 13, an input from 13 on. ---- */

static c8_status read_axes(c8_kernel *k, c8_tensor *const *in, int n_in, int64_t *axes, int *n, bool *given) {
  const c8_node *node = k->node;
  *n = 0;
  *given = false;
  if (k->opset >= 13) {
    if (n_in >= 2 && in[1]) {
      *given = true;
      return c8_read_int_input(node, in[1], 1, "axes", axes, C8_MAX_RANK, n);
    }
    return CALIB8_OK;
  }
  const c8_attr *a = c8_node_attr(node, "axes");
  if (!a) return CALIB8_OK;
  int na;
  const int64_t *v = c8_attr_ints(node, "axes", &na);
  if (na > C8_MAX_RANK)
    return c8_node_error(node, CALIB8_UNSUPPORTED, "axes has %d values, at most %d are supported", na, C8_MAX_RANK);
  for (int i = 0; i < na; i++) axes[i] = v[i];
  *n = na;
  *given = true;
  return CALIB8_OK;
}

static c8_status squeeze_prepare(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out) {
  const c8_node *node = k->node;
  c8_status st = c8_check_inputs(node, n_in, 1, k->opset >= 13 ? 2 : 1);
  if (st || (st = need_data_input(node, in, n_in))) return st;
  if (n_out != 1 || !out[0]) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "needs exactly one output");
  const c8_tensor *x = in[0];
  int64_t axes[C8_MAX_RANK];
  int n;
  bool given;
  if ((st = read_axes(k, in, n_in, axes, &n, &given))) return st;
  bool drop[C8_MAX_RANK] = {false};
  if (!given) {
    for (int i = 0; i < x->rank; i++) drop[i] = x->dims[i] == 1;
  } else {
    for (int i = 0; i < n; i++) {
      int a;
      if ((st = c8_norm_axis(node, axes[i], x->rank, &a))) return st;
      if (drop[a]) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "axis %d is listed twice", a);
      if (x->dims[a] != 1)
        return c8_node_error(node, CALIB8_INVALID_ARGUMENT, "cannot squeeze axis %d of %s: its size is %lld, not 1",
                             a, C8_SHAPE_STR(x), (long long)x->dims[a]);
      drop[a] = true;
    }
  }
  c8_tensor *o = out[0];
  o->dtype = x->dtype;
  o->rank = 0;
  for (int i = 0; i < x->rank; i++)
    if (!drop[i]) o->dims[o->rank++] = x->dims[i];
  return CALIB8_OK;
}

/* Squeeze's and Unsqueeze's axes become an input at opset 13. */
static c8_status axes_upgrade(c8_graph *g, int k, int from, int to) {
  return from < 13 && to >= 13 ? c8_upgrade_ints_to_input(g, k, "axes", 1) : CALIB8_OK;
}

const c8_op_def c8_op_squeeze = {
    .name = "Squeeze", .domain = "", .prepare = squeeze_prepare, .run = copy_run,
    .qrole = C8_QROLE_SHARES_SCALE, .values = C8_VALUES_MOVED, .batch = C8_BATCH_BLOCKS, .fuse = C8_FUSE_NONE, .upgrade = axes_upgrade};

static c8_status unsqueeze_prepare(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out,
                                   int n_out) {
  const c8_node *node = k->node;
  c8_status st = c8_check_inputs(node, n_in, k->opset >= 13 ? 2 : 1, k->opset >= 13 ? 2 : 1);
  if (st || (st = need_data_input(node, in, n_in))) return st;
  if (n_out != 1 || !out[0]) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "needs exactly one output");
  const c8_tensor *x = in[0];
  int64_t axes[C8_MAX_RANK];
  int n;
  bool given;
  if ((st = read_axes(k, in, n_in, axes, &n, &given))) return st;
  if (!given) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "axes are required");
  int r = x->rank + n;
  if (r > C8_MAX_RANK)
    return c8_node_error(node, CALIB8_UNSUPPORTED, "output rank %d exceeds the maximum of %d", r, C8_MAX_RANK);
  bool ins[C8_MAX_RANK] = {false};
  for (int i = 0; i < n; i++) {
    int a;
    if ((st = c8_norm_axis(node, axes[i], r, &a))) return st;
    if (ins[a]) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "axis %d is listed twice", a);
    ins[a] = true;
  }
  c8_tensor *o = out[0];
  o->dtype = x->dtype;
  o->rank = r;
  for (int i = 0, j = 0; i < r; i++) o->dims[i] = ins[i] ? 1 : x->dims[j++];
  return CALIB8_OK;
}

const c8_op_def c8_op_unsqueeze = {
    .name = "Unsqueeze", .domain = "", .prepare = unsqueeze_prepare, .run = copy_run,
    .qrole = C8_QROLE_SHARES_SCALE, .values = C8_VALUES_MOVED, .batch = C8_BATCH_BLOCKS, .fuse = C8_FUSE_NONE, .upgrade = axes_upgrade};
