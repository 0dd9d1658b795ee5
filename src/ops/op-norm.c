/* Normalization: BatchNormalization (inference form, opsets 1-15), InstanceNormalization (1-6),
 * LayerNormalization (17), LRN (1-13). float32.
 *
 * Statistics are float sums with 8 independent accumulators combined in a fixed order, and the variance is
 * the two-pass mean of squared deviations (as the ONNX reference computes it), so results are identical
 * from run to run. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/op.h"

static float sum8(const float *x, int64_t n) {
  float a[8] = {0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; j++) a[j] += x[i + j];
  for (int j = 0; i < n; i++, j++) a[j] += x[i];
  return ((a[0] + a[4]) + (a[1] + a[5])) + ((a[2] + a[6]) + (a[3] + a[7]));
}

static float sqdev8(const float *x, int64_t n, float mean) {
  float a[8] = {0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; j++) {
      float d = x[i + j] - mean;
      a[j] += d * d;
    }
  for (int j = 0; i < n; i++, j++) {
    float d = x[i] - mean;
    a[j] += d * d;
  }
  return ((a[0] + a[4]) + (a[1] + a[5])) + ((a[2] + a[6]) + (a[3] + a[7]));
}

static void copy_shape(c8_tensor *dst, const c8_tensor *src) {
  dst->dtype = src->dtype;
  dst->rank = src->rank;
  memcpy(dst->dims, src->dims, sizeof dst->dims);
}

/* ---- BatchNormalization: y = (x - mean) / sqrt(var + eps) * scale + B, per channel. ---- */

typedef struct {
  float eps;
  int64_t n, p, inner; /* batch, parameters per sample (C, or C*spatial when spatial=0), elements per parameter */
} bn_state;

static c8_status bn_prepare(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out) {
  const c8_node *node = k->node;
  c8_status st = c8_check_inputs(node, n_in, 5, 5);
  if (st) return st;
  for (int i = 0; i < 5; i++) {
    if (!in[i]) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "input %d is missing", i);
    if ((st = c8_check_dtype(node, in[i], i, CALIB8_FLOAT))) return st;
  }
  if (c8_attr_int(node, "training_mode", 0) != 0)
    return c8_node_error(node, CALIB8_UNSUPPORTED, "training_mode=1 is not supported (inference only)");
  for (int j = 1; j < n_out; j++)
    if (out[j])
      return c8_node_error(node, CALIB8_UNSUPPORTED,
                           "output %d (running or saved statistics) exists only in training mode, which is not "
                           "supported (inference only)",
                           j);
  const c8_tensor *x = in[0];
  if (x->rank < 2)
    return c8_node_error(node, CALIB8_INVALID_ARGUMENT, "input 0 has shape %s, expected N x C x ...", C8_SHAPE_STR(x));
  int64_t c = x->dims[1], spatial = 1;
  for (int i = 2; i < x->rank; i++) spatial *= x->dims[i];
  /* BatchNormalization-7 with spatial=0 has one parameter per C x D1 x ... element. */
  bool per_elem = c8_attr_int(node, "spatial", 1) == 0;
  int64_t p = per_elem ? c * spatial : c;
  for (int i = 1; i < 5; i++)
    if (c8_numel(in[i]) != p)
      return c8_node_error(node, CALIB8_INVALID_ARGUMENT, "input %d has shape %s, expected %lld values (%s)", i,
                           C8_SHAPE_STR(in[i]), (long long)p,
                           per_elem ? "C x D1 x ... for spatial=0" : "one per channel");
  bn_state *s = c8_malloc(sizeof *s);
  if (!s) return c8_node_error(node, CALIB8_OUT_OF_MEMORY, "out of memory");
  s->eps = c8_attr_float(node, "epsilon", 1e-5f);
  s->n = x->dims[0];
  s->p = p;
  s->inner = per_elem ? 1 : spatial;
  k->state = s;
  k->scratch_bytes = sizeof(float) * 2 * (size_t)p;
  copy_shape(out[0], x);
  return CALIB8_OK;
}

static c8_status bn_run(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out, void *scratch) {
  (void)n_in, (void)n_out;
  const bn_state *s = k->state;
  const float *x = in[0]->data, *scale = in[1]->data, *bias = in[2]->data, *mean = in[3]->data, *var = in[4]->data;
  float *y = out[0]->data, *a = scratch, *b = a + s->p;
  for (int64_t i = 0; i < s->p; i++) {
    a[i] = scale[i] / sqrtf(var[i] + s->eps);
    b[i] = bias[i] - mean[i] * a[i];
  }
  for (int64_t n = 0; n < s->n; n++)
    for (int64_t i = 0; i < s->p; i++) {
      const float *xs = x + (n * s->p + i) * s->inner;
      float *ys = y + (n * s->p + i) * s->inner;
      const float ai = a[i], bi = b[i];
      for (int64_t j = 0; j < s->inner; j++) ys[j] = xs[j] * ai + bi;
    }
  return CALIB8_OK;
}

/* Before opset 9, spatial=1 (the default) is the only form calib8 runs; the attribute is gone at 9. */
static c8_status bn_upgrade(c8_graph *g, int k, int from, int to) {
  (void)to;
  if (from >= 9) return CALIB8_OK;
  if (c8_attr_int(&g->nodes[k], "spatial", 1) != 1)
    return c8_node_error(&g->nodes[k], CALIB8_UNSUPPORTED, "spatial=0 has no form at opset 9 and later");
  c8_node_remove_attr(&g->nodes[k], "spatial");
  return CALIB8_OK;
}

const c8_op_def c8_op_batchnormalization = {
    .name = "BatchNormalization", .domain = "", .prepare = bn_prepare, .run = bn_run,
    .qrole = C8_QROLE_NONE, .values = C8_VALUES_COMPUTED, .batch = C8_BATCH_FIRST_AXIS, .fuse = C8_FUSE_NONE, .upgrade = bn_upgrade};

/* ---- InstanceNormalization: per (n, c) over the spatial dimensions. ---- */

typedef struct {
  float eps;
  int64_t n, c, inner;
} in_state;

static c8_status instnorm_prepare(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out) {
  const c8_node *node = k->node;
  c8_status st = c8_check_inputs(node, n_in, 3, 3);
  if (st) return st;
  if (n_out != 1) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "has %d outputs, expected 1", n_out);
  for (int i = 0; i < 3; i++) {
    if (!in[i]) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "input %d is missing", i);
    if ((st = c8_check_dtype(node, in[i], i, CALIB8_FLOAT))) return st;
  }
  const c8_tensor *x = in[0];
  if (x->rank < 3)
    return c8_node_error(node, CALIB8_INVALID_ARGUMENT, "input 0 has shape %s, expected N x C x D1 x ...",
                         C8_SHAPE_STR(x));
  int64_t c = x->dims[1];
  for (int i = 1; i < 3; i++)
    if (c8_numel(in[i]) != c)
      return c8_node_error(node, CALIB8_INVALID_ARGUMENT,
                           "input %d has shape %s, expected %lld values (one per channel)", i, C8_SHAPE_STR(in[i]),
                           (long long)c);
  in_state *s = c8_malloc(sizeof *s);
  if (!s) return c8_node_error(node, CALIB8_OUT_OF_MEMORY, "out of memory");
  s->eps = c8_attr_float(node, "epsilon", 1e-5f);
  s->n = x->dims[0];
  s->c = c;
  s->inner = 1;
  for (int i = 2; i < x->rank; i++) s->inner *= x->dims[i];
  k->state = s;
  copy_shape(out[0], x);
  return CALIB8_OK;
}

static c8_status instnorm_run(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out,
                              void *scratch) {
  (void)n_in, (void)n_out, (void)scratch;
  const in_state *s = k->state;
  const float *x = in[0]->data, *scale = in[1]->data, *bias = in[2]->data;
  float *y = out[0]->data;
  const int64_t m = s->inner;
  for (int64_t n = 0; n < s->n; n++)
    for (int64_t c = 0; c < s->c; c++) {
      const float *xs = x + (n * s->c + c) * m;
      float *ys = y + (n * s->c + c) * m;
      float mean = m ? sum8(xs, m) / (float)m : 0.0f;
      float var = m ? sqdev8(xs, m, mean) / (float)m : 0.0f;
      float a = scale[c] / sqrtf(var + s->eps), b = bias[c] - mean * a;
      for (int64_t j = 0; j < m; j++) ys[j] = xs[j] * a + b;
    }
  return CALIB8_OK;
}

const c8_op_def c8_op_instancenormalization = {
    .name = "InstanceNormalization", .domain = "", .prepare = instnorm_prepare, .run = instnorm_run,
    .qrole = C8_QROLE_NONE, .values = C8_VALUES_COMPUTED, .batch = C8_BATCH_FIRST_AXIS, .fuse = C8_FUSE_NONE};

/* ---- LayerNormalization-17: normalizes over dims [axis, rank); Scale and B broadcast to them.
 * Optional outputs Mean and InvStdDev have shape X.shape[:axis] + [1] * (rank - axis). ---- */

typedef struct {
  float eps;
  int64_t outer, m;
  int xrank, nrank;             /* rank of X and of the normalized shape */
  int64_t ndims[C8_MAX_RANK];   /* normalized shape */
  int64_t sstr[2][C8_MAX_RANK]; /* element strides of Scale / B over the normalized shape (0: broadcast) */
  bool full[2];                 /* Scale / B already have m elements laid out like the normalized shape */
} ln_state;

static c8_status ln_param(const c8_node *node, const c8_tensor *t, int idx, ln_state *s) {
  int r = t->rank, skip = 0;
  /* leading 1s beyond the normalized rank broadcast away */
  while (r - skip > s->nrank && t->dims[skip] == 1) skip++;
  if (r - skip > s->nrank)
    return c8_node_error(node, CALIB8_INVALID_ARGUMENT,
                         "input %d has shape %s, which does not broadcast to the normalized shape of %d dimensions",
                         idx, C8_SHAPE_STR(t), s->nrank);
  int slot = idx == 1 ? 0 : 1;
  int64_t stride = 1;
  bool full = true;
  for (int i = s->nrank - 1; i >= 0; i--) {
    int ti = i - (s->nrank - (r - skip)) + skip; /* dimension of t aligned with normalized dim i */
    int64_t d = ti >= skip ? t->dims[ti] : 1;
    if (d != 1 && d != s->ndims[i])
      return c8_node_error(node, CALIB8_INVALID_ARGUMENT,
                           "input %d has shape %s, which does not broadcast to the normalized dimensions of input 0 "
                           "(size %lld against dimension %d of size %lld)",
                           idx, C8_SHAPE_STR(t), (long long)d, s->xrank - s->nrank + i, (long long)s->ndims[i]);
    if (d == 1 && s->ndims[i] != 1) full = false;
    s->sstr[slot][i] = d == 1 ? 0 : stride;
    stride *= d;
  }
  s->full[slot] = full;
  return CALIB8_OK;
}

static c8_status ln_prepare(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out) {
  const c8_node *node = k->node;
  c8_status st = c8_check_inputs(node, n_in, 2, 3);
  if (st) return st;
  if (n_out < 1 || n_out > 3)
    return c8_node_error(node, CALIB8_MALFORMED_MODEL, "has %d outputs, expected 1 to 3", n_out);
  for (int i = 0; i < n_in; i++) {
    if (!in[i]) {
      if (i == 2) continue;
      return c8_node_error(node, CALIB8_MALFORMED_MODEL, "input %d is missing", i);
    }
    if ((st = c8_check_dtype(node, in[i], i, CALIB8_FLOAT))) return st;
  }
  int64_t stash = c8_attr_int(node, "stash_type", 1);
  if (stash != CALIB8_FLOAT)
    return c8_node_error(node, CALIB8_UNSUPPORTED, "stash_type %lld is not supported (only 1, float32)",
                         (long long)stash);
  const c8_tensor *x = in[0];
  if (x->rank < 1) return c8_node_error(node, CALIB8_INVALID_ARGUMENT, "input 0 is a scalar, expected rank >= 1");
  int axis;
  if ((st = c8_norm_axis(node, c8_attr_int(node, "axis", -1), x->rank, &axis))) return st;
  ln_state *s = c8_calloc(1, sizeof *s);
  if (!s) return c8_node_error(node, CALIB8_OUT_OF_MEMORY, "out of memory");
  s->eps = c8_attr_float(node, "epsilon", 1e-5f);
  s->outer = s->m = 1;
  for (int i = 0; i < axis; i++) s->outer *= x->dims[i];
  s->xrank = x->rank;
  s->nrank = x->rank - axis;
  for (int i = axis; i < x->rank; i++) {
    s->ndims[i - axis] = x->dims[i];
    s->m *= x->dims[i];
  }
  k->state = s;
  if ((st = ln_param(node, in[1], 1, s))) return st;
  if (n_in > 2 && in[2]) {
    if ((st = ln_param(node, in[2], 2, s))) return st;
  } else {
    s->full[1] = true;
  }
  /* Broadcast Scale / B are expanded to m values in scratch at run time. */
  k->scratch_bytes = sizeof(float) * (size_t)s->m * (size_t)((!s->full[0]) + (!s->full[1]));
  copy_shape(out[0], x);
  for (int j = 1; j < n_out; j++)
    if (out[j]) {
      out[j]->dtype = CALIB8_FLOAT;
      out[j]->rank = x->rank;
      for (int i = 0; i < x->rank; i++) out[j]->dims[i] = i < axis ? x->dims[i] : 1;
    }
  return CALIB8_OK;
}

static void ln_expand(const ln_state *s, int slot, const float *src, float *dst) {
  int64_t idx[C8_MAX_RANK] = {0}, off = 0;
  for (int64_t j = 0; j < s->m; j++) {
    dst[j] = src[off];
    for (int d = s->nrank - 1; d >= 0; d--) {
      off += s->sstr[slot][d];
      if (++idx[d] < s->ndims[d]) break;
      off -= s->sstr[slot][d] * s->ndims[d];
      idx[d] = 0;
    }
  }
}

static c8_status ln_run(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out, void *scratch) {
  const ln_state *s = k->state;
  const float *x = in[0]->data;
  const float *scale = in[1]->data;
  const float *bias = n_in > 2 && in[2] ? in[2]->data : NULL;
  float *y = out[0]->data;
  float *mean_out = n_out > 1 && out[1] ? out[1]->data : NULL;
  float *inv_out = n_out > 2 && out[2] ? out[2]->data : NULL;
  float *sc = scratch;
  const int64_t m = s->m;
  if (!s->full[0]) {
    ln_expand(s, 0, scale, sc);
    scale = sc;
    sc += m;
  }
  if (bias && !s->full[1]) {
    ln_expand(s, 1, bias, sc);
    bias = sc;
  }
  for (int64_t o = 0; o < s->outer; o++) {
    const float *xr = x + o * m;
    float *yr = y + o * m;
    float mean = m ? sum8(xr, m) / (float)m : 0.0f;
    float var = m ? sqdev8(xr, m, mean) / (float)m : 0.0f;
    float inv = 1.0f / sqrtf(var + s->eps);
    if (mean_out) mean_out[o] = mean;
    if (inv_out) inv_out[o] = inv;
    if (bias)
      for (int64_t j = 0; j < m; j++) yr[j] = (xr[j] - mean) * inv * scale[j] + bias[j];
    else
      for (int64_t j = 0; j < m; j++) yr[j] = (xr[j] - mean) * inv * scale[j];
  }
  return CALIB8_OK;
}

/* Batch splitting: normalizes over the axes from `axis` on, so the batch must come before them. */
static bool ln_batch(const c8_batch_query *q) {
  const int rank = q->in[0] ? q->in[0]->rank : 0;
  return q->ax >= 0 && q->ax < c8_wrap_axis(c8_attr_int(q->node, "axis", -1), rank);
}

const c8_op_def c8_op_layernormalization = {
    .name = "LayerNormalization", .domain = "", .prepare = ln_prepare, .run = ln_run,
    .qrole = C8_QROLE_NONE, .values = C8_VALUES_COMPUTED, .batch = C8_BATCH_CHECK, .batch_check = ln_batch,
    .fuse = C8_FUSE_NONE};

/* ---- LRN (AlexNet local response normalization across channels):
 *   y = x / (bias + alpha / size * sum_{c' in [c - floor((size-1)/2), c + ceil((size-1)/2)]} x[c']^2) ^ beta ---- */

typedef struct {
  float alpha, beta, bias;
  int64_t size, n, c, inner;
} lrn_state;

static c8_status lrn_prepare(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out) {
  const c8_node *node = k->node;
  c8_status st = c8_check_inputs(node, n_in, 1, 1);
  if (st) return st;
  if (n_out != 1) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "has %d outputs, expected 1", n_out);
  if (!in[0]) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "input 0 is missing");
  if ((st = c8_check_dtype(node, in[0], 0, CALIB8_FLOAT))) return st;
  const c8_tensor *x = in[0];
  if (x->rank < 2)
    return c8_node_error(node, CALIB8_INVALID_ARGUMENT, "input 0 has shape %s, expected N x C x ...", C8_SHAPE_STR(x));
  int64_t size = c8_attr_int(node, "size", 0);
  if (size < 1) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "size %lld must be >= 1", (long long)size);
  lrn_state *s = c8_malloc(sizeof *s);
  if (!s) return c8_node_error(node, CALIB8_OUT_OF_MEMORY, "out of memory");
  s->alpha = c8_attr_float(node, "alpha", 1e-4f);
  s->beta = c8_attr_float(node, "beta", 0.75f);
  s->bias = c8_attr_float(node, "bias", 1.0f);
  s->size = size;
  s->n = x->dims[0];
  s->c = x->dims[1];
  s->inner = 1;
  for (int i = 2; i < x->rank; i++) s->inner *= x->dims[i];
  k->state = s;
  copy_shape(out[0], x);
  return CALIB8_OK;
}

static c8_status lrn_run(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out,
                         void *scratch) {
  (void)n_in, (void)n_out, (void)scratch;
  const lrn_state *s = k->state;
  const float *x = in[0]->data;
  float *y = out[0]->data;
  const int64_t C = s->c, m = s->inner, below = (s->size - 1) / 2, above = s->size - 1 - below;
  const float coef = s->alpha / (float)s->size;
  for (int64_t n = 0; n < s->n; n++)
    for (int64_t c = 0; c < C; c++) {
      float *yr = y + (n * C + c) * m;
      const float *xc = x + (n * C + c) * m;
      int64_t lo = c - below < 0 ? 0 : c - below, hi = c + above > C - 1 ? C - 1 : c + above;
      for (int64_t j = 0; j < m; j++) yr[j] = 0.0f;
      for (int64_t i = lo; i <= hi; i++) {
        const float *xi = x + (n * C + i) * m;
        for (int64_t j = 0; j < m; j++) yr[j] += xi[j] * xi[j];
      }
      for (int64_t j = 0; j < m; j++) yr[j] = xc[j] / powf(s->bias + coef * yr[j], s->beta);
    }
  return CALIB8_OK;
}

const c8_op_def c8_op_lrn = {
    .name = "LRN", .domain = "", .prepare = lrn_prepare, .run = lrn_run,
    .qrole = C8_QROLE_NONE, .values = C8_VALUES_COMPUTED, .batch = C8_BATCH_FIRST_AXIS, .fuse = C8_FUSE_NONE};
