/* ConstantOfShape (ONNX 9, 20) and Range (11). Their output shapes come from input values, which must be
 * known at prepare time. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/op-shape-util.h"

/* ---- ConstantOfShape ---- */

typedef struct {
  size_t es;
  unsigned char value[8];
} fill_state;

static c8_status cos_prepare(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out) {
  const c8_node *node = k->node;
  c8_status st = c8_check_inputs(node, n_in, 1, 1);
  if (st) return st;
  if (!in[0]) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "input 0 (shape) is missing");
  if (n_out != 1 || !out[0]) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "needs exactly one output");
  int64_t shape[C8_MAX_RANK];
  int n;
  if ((st = c8_read_int_input(node, in[0], 0, "shape", shape, C8_MAX_RANK, &n))) return st;
  fill_state *s = c8_calloc(1, sizeof *s);
  if (!s) return c8_node_error(node, CALIB8_OUT_OF_MEMORY, "out of memory");
  k->state = s;
  c8_tensor *o = out[0];
  o->dtype = CALIB8_FLOAT;
  s->es = 4;
  const c8_attr *a = c8_node_attr(node, "value");
  if (a) {
    if (a->type != C8_ATTR_TENSOR || !a->t)
      return c8_node_error(node, CALIB8_MALFORMED_MODEL, "attribute 'value' must be a tensor");
    if (c8_numel(a->t) != 1)
      return c8_node_error(node, CALIB8_MALFORMED_MODEL, "attribute 'value' must hold one element, it has %lld",
                           (long long)c8_numel(a->t));
    size_t es = calib8_dtype_size(a->t->dtype);
    if (!es || es > 8)
      return c8_node_error(node, CALIB8_UNSUPPORTED, "value of type %s is not supported",
                           calib8_dtype_name(a->t->dtype));
    o->dtype = a->t->dtype;
    s->es = es;
    memcpy(s->value, a->t->data, es);
  }
  o->rank = n;
  for (int i = 0; i < n; i++) {
    if (shape[i] < 0)
      return c8_node_error(node, CALIB8_MALFORMED_MODEL, "shape[%d] is %lld, dimensions must be >= 0", i,
                           (long long)shape[i]);
    o->dims[i] = shape[i];
  }
  return CALIB8_OK;
}

static c8_status cos_run(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out,
                         void *scratch) {
  (void)in, (void)n_in, (void)n_out, (void)scratch;
  const fill_state *s = k->state;
  int64_t n = c8_numel(out[0]);
  char *dst = out[0]->data;
  bool zero = true;
  for (size_t i = 0; i < s->es; i++) zero = zero && s->value[i] == 0;
  if (zero) {
    memset(dst, 0, (size_t)n * s->es);
    return CALIB8_OK;
  }
  for (int64_t i = 0; i < n; i++) memcpy(dst + (size_t)i * s->es, s->value, s->es);
  return CALIB8_OK;
}

const c8_op_def c8_op_constantofshape = {
    .name = "ConstantOfShape", .domain = "", .prepare = cos_prepare, .run = cos_run,
    .qrole = C8_QROLE_NONE, .values = C8_VALUES_COMPUTED, .batch = C8_BATCH_MIXES, .fuse = C8_FUSE_NONE};

/* ---- Range: output[i] = start + i * delta, n = max(ceil((limit - start) / delta), 0). ---- */

typedef struct {
  bool is_int;
  int64_t istart, idelta;
  double fstart, fdelta;
} range_state;

static c8_status range_prepare(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out) {
  const c8_node *node = k->node;
  c8_status st = c8_check_inputs(node, n_in, 3, 3);
  if (st) return st;
  if (n_out != 1 || !out[0]) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "needs exactly one output");
  static const char *const names[3] = {"start", "limit", "delta"};
  for (int i = 0; i < 3; i++) {
    if (!in[i]) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "input %d (%s) is missing", i, names[i]);
    if ((st = c8_check_const(node, in[i], i))) return st;
    if (c8_numel(in[i]) != 1)
      return c8_node_error(node, CALIB8_MALFORMED_MODEL, "input %d (%s) must be a scalar, it has shape %s", i,
                           names[i], C8_SHAPE_STR(in[i]));
    if (in[i]->dtype != in[0]->dtype)
      return c8_node_error(node, CALIB8_MALFORMED_MODEL, "input %d (%s) is %s but start is %s", i, names[i],
                           calib8_dtype_name(in[i]->dtype), calib8_dtype_name(in[0]->dtype));
  }
  c8_dtype dt = in[0]->dtype;
  if (dt != CALIB8_FLOAT && dt != CALIB8_DOUBLE && dt != CALIB8_INT16 && dt != CALIB8_INT32 && dt != CALIB8_INT64)
    return c8_node_error(node, CALIB8_UNSUPPORTED, "type %s is not supported (float, double, int16, int32, int64)",
                         calib8_dtype_name(dt));
  range_state *s = c8_calloc(1, sizeof *s);
  if (!s) return c8_node_error(node, CALIB8_OUT_OF_MEMORY, "out of memory");
  k->state = s;
  int64_t n;
  if (dt == CALIB8_FLOAT || dt == CALIB8_DOUBLE) {
    double a = c8_get_f64(in[0], 0), b = c8_get_f64(in[1], 0), d = c8_get_f64(in[2], 0);
    if (d == 0 || !isfinite(a) || !isfinite(b) || !isfinite(d))
      return c8_node_error(node, CALIB8_INVALID_ARGUMENT, "start, limit and delta must be finite and delta non-zero");
    double c = ceil((b - a) / d);
    if (c > 1e12) return c8_node_error(node, CALIB8_INVALID_ARGUMENT, "the range has too many elements (%g)", c);
    n = c > 0 ? (int64_t)c : 0;
    s->fstart = a;
    s->fdelta = d;
  } else {
    int64_t a = c8_get_i64(in[0], 0), b = c8_get_i64(in[1], 0), d = c8_get_i64(in[2], 0);
    if (d == 0) return c8_node_error(node, CALIB8_INVALID_ARGUMENT, "delta is 0");
    /* ceil((b - a) / d) in exact integer arithmetic. */
    int64_t num = b - a;
    if ((num > 0) != (d > 0) || num == 0) {
      n = 0;
    } else {
      int64_t an = num < 0 ? -num : num, ad = d < 0 ? -d : d;
      n = (an + ad - 1) / ad;
    }
    s->is_int = true;
    s->istart = a;
    s->idelta = d;
  }
  out[0]->dtype = dt;
  out[0]->rank = 1;
  out[0]->dims[0] = n;
  return CALIB8_OK;
}

static c8_status range_run(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out,
                           void *scratch) {
  (void)in, (void)n_in, (void)n_out, (void)scratch;
  const range_state *s = k->state;
  c8_tensor *o = out[0];
  int64_t n = o->dims[0];
  switch (o->dtype) {
    case CALIB8_FLOAT:
      for (int64_t i = 0; i < n; i++) ((float *)o->data)[i] = (float)(s->fstart + (double)i * s->fdelta);
      break;
    case CALIB8_DOUBLE:
      for (int64_t i = 0; i < n; i++) ((double *)o->data)[i] = s->fstart + (double)i * s->fdelta;
      break;
    case CALIB8_INT64:
      for (int64_t i = 0; i < n; i++) ((int64_t *)o->data)[i] = s->istart + i * s->idelta;
      break;
    case CALIB8_INT32:
      for (int64_t i = 0; i < n; i++) ((int32_t *)o->data)[i] = (int32_t)(s->istart + i * s->idelta);
      break;
    default:
      for (int64_t i = 0; i < n; i++) ((int16_t *)o->data)[i] = (int16_t)(s->istart + i * s->idelta);
      break;
  }
  return CALIB8_OK;
}

const c8_op_def c8_op_range = {
    .name = "Range", .domain = "", .prepare = range_prepare, .run = range_run,
    .qrole = C8_QROLE_NONE, .values = C8_VALUES_COMPUTED, .batch = C8_BATCH_MIXES, .fuse = C8_FUSE_NONE};
