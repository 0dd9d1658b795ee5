/* Quantization operators (ONNX): QuantizeLinear-10/13, DequantizeLinear-10/13,
 * QLinearConv-10, QLinearMatMul-10, ConvInteger-10, MatMulInteger-10.
 *
 * QuantizeLinear:   y = saturate(round(x / y_scale) + y_zero_point)
 * DequantizeLinear: y = (x - x_zero_point) * x_scale
 * Rounding is half to even (nearbyintf under the default rounding mode); saturation
 * clamps to the range of uint8 / int8. Per-axis parameters (opset 13 `axis`) are 1-D.
 *
 * The integer ops are exact reference implementations: inputs minus their zero points
 * are widened to int32 and accumulated in int32; QLinear ops then requantize with the
 * float multiplier x_scale * w_scale / y_scale (as ONNX Runtime does), round half to even
 * and saturate. Padding reads as the zero point, i.e. contributes nothing. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/threadpool.h"
#include "kernels/quant/quant.h"
#include "ops/broadcast.h"
#include "ops/op-conv.h"
#include "ops/op-matmul.h"
#include "ops/op-qconv.h"

/* ---- helpers ---- */

/* CALIB8_QCONV=reference runs the integer convolutions on the scalar references below (for comparisons). */
static bool getenv_reference(void) {
  const char *e = getenv("CALIB8_QCONV");
  return e && strcmp(e, "reference") == 0;
}

static bool is_q8(c8_dtype t) { return t == CALIB8_UINT8 || t == CALIB8_INT8; }

static int32_t qget(const c8_tensor *t, int64_t i) {
  switch (t->dtype) {
    case CALIB8_UINT8: return ((const uint8_t *)t->data)[i];
    case CALIB8_INT8: return ((const int8_t *)t->data)[i];
    case CALIB8_INT32: return ((const int32_t *)t->data)[i];
    default: return 0;
  }
}

/* A scale or zero point: one value, or a 1-D tensor of `n` values (n < 0: only one allowed). */
static c8_status check_param(const c8_node *node, const c8_tensor *t, int idx, int64_t n, const char *what) {
  if (c8_numel(t) == 1 && t->rank <= 1) return CALIB8_OK;
  if (n >= 0 && t->rank == 1 && t->dims[0] == n) return CALIB8_OK;
  if (n >= 0)
    return c8_node_error(node, CALIB8_INVALID_ARGUMENT, "input %d (%s) has shape %s; expected one value or [%lld]",
                         idx, what, C8_SHAPE_STR(t), (long long)n);
  return c8_node_error(node, CALIB8_INVALID_ARGUMENT, "input %d (%s) has shape %s; expected a single value", idx, what,
                       C8_SHAPE_STR(t));
}

static c8_status check_q8(const c8_node *node, const c8_tensor *t, int idx) {
  if (!is_q8(t->dtype))
    return c8_node_error(node, CALIB8_UNSUPPORTED, "input %d is %s; expected uint8 or int8", idx,
                         calib8_dtype_name(t->dtype));
  return CALIB8_OK;
}

static c8_status check_same_type(const c8_node *node, const c8_tensor *zp, int idx, c8_dtype want) {
  if (zp->dtype != want)
    return c8_node_error(node, CALIB8_INVALID_ARGUMENT, "zero point (input %d) is %s but its tensor is %s", idx,
                         calib8_dtype_name(zp->dtype), calib8_dtype_name(want));
  return CALIB8_OK;
}

static float pscale(const c8_tensor *t, int64_t i) { return ((const float *)t->data)[c8_numel(t) == 1 ? 0 : i]; }
static int32_t pzero(const c8_tensor *t, int64_t i) { return t ? qget(t, c8_numel(t) == 1 ? 0 : i) : 0; }

static void qrange(c8_dtype t, int32_t *lo, int32_t *hi) {
  *lo = t == CALIB8_INT8 ? -128 : 0;
  *hi = t == CALIB8_INT8 ? 127 : 255;
}

static void qstore(c8_tensor *t, int64_t i, int32_t v) {
  if (t->dtype == CALIB8_INT8) ((int8_t *)t->data)[i] = (int8_t)v;
  else ((uint8_t *)t->data)[i] = (uint8_t)v;
}

static void copy_shape(c8_tensor *out, const c8_tensor *in, c8_dtype dtype) {
  out->dtype = dtype;
  out->rank = in->rank;
  memcpy(out->dims, in->dims, sizeof out->dims);
}

/* ---- QuantizeLinear / DequantizeLinear ---- */

typedef struct qdq_state {
  int64_t outer, ch, inner; /* x viewed as [outer, ch, inner]; ch = 1 for per-tensor */
  c8_f32_quantize_fn quantize;     /* QuantizeLinear of float x: the kernel for this CPU */
  c8_f32_dequantize_fn dequantize; /* DequantizeLinear of 8-bit x */
} qdq_state;

static c8_status qdq_prepare(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out,
                             bool quantize) {
  const c8_node *node = k->node;
  c8_status st = c8_check_inputs(node, n_in, 2, 3);
  if (st) return st;
  if (n_out != 1 || !out[0]) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "has %d outputs, expected 1", n_out);
  const c8_tensor *x = in[0], *scale = in[1], *zp = n_in > 2 ? in[2] : NULL;
  if (!x || !scale) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "input x or scale is missing");
  if ((st = c8_check_dtype(node, scale, 1, CALIB8_FLOAT))) return st;
  if (quantize) {
    if (x->dtype != CALIB8_FLOAT && x->dtype != CALIB8_INT32)
      return c8_node_error(node, CALIB8_UNSUPPORTED, "input 0 is %s; expected float32 or int32",
                           calib8_dtype_name(x->dtype));
    if (zp && (st = check_q8(node, zp, 2))) return st;
  } else {
    if (!is_q8(x->dtype) && x->dtype != CALIB8_INT32)
      return c8_node_error(node, CALIB8_UNSUPPORTED, "input 0 is %s; expected uint8, int8 or int32",
                           calib8_dtype_name(x->dtype));
    if (zp && (st = check_same_type(node, zp, 2, x->dtype))) return st;
  }
  qdq_state *s = c8_calloc(1, sizeof *s);
  if (!s) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory preparing node '%s'", node->name);
  k->state = s;
  s->outer = 1, s->ch = 1, s->inner = c8_numel(x);
  s->quantize = c8_f32_quantize_select();
  s->dequantize = c8_f32_dequantize_select();
  if (!(c8_numel(scale) == 1 && scale->rank <= 1)) {
    /* Per-axis (opset 13): a 1-D scale along `axis`. */
    if (k->opset < 13)
      return c8_node_error(node, CALIB8_INVALID_ARGUMENT, "scale has shape %s; opset %d needs a single value",
                           C8_SHAPE_STR(scale), k->opset);
    int axis;
    if ((st = c8_norm_axis(node, c8_attr_int(node, "axis", 1), x->rank, &axis))) return st;
    if ((st = check_param(node, scale, 1, x->dims[axis], "scale"))) return st;
    s->ch = x->dims[axis];
    s->outer = 1;
    for (int i = 0; i < axis; i++) s->outer *= x->dims[i];
    s->inner = 1;
    for (int i = axis + 1; i < x->rank; i++) s->inner *= x->dims[i];
  }
  if (zp && (st = check_param(node, zp, 2, s->ch == 1 && c8_numel(scale) == 1 ? -1 : s->ch, "zero point")))
    return st;
  copy_shape(out[0], x, quantize ? (zp ? zp->dtype : CALIB8_UINT8) : CALIB8_FLOAT);
  return CALIB8_OK;
}

static c8_status quantize_prepare(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out) {
  return qdq_prepare(k, in, n_in, out, n_out, true);
}

static c8_status dequantize_prepare(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out,
                                    int n_out) {
  return qdq_prepare(k, in, n_in, out, n_out, false);
}

static c8_status quantize_run(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out,
                              void *scratch) {
  (void)n_out, (void)scratch;
  const qdq_state *s = k->state;
  const c8_tensor *x = in[0], *scale = in[1], *zp = n_in > 2 ? in[2] : NULL;
  c8_tensor *y = out[0];
  int32_t lo, hi;
  qrange(y->dtype, &lo, &hi);
  for (int64_t o = 0; o < s->outer; o++)
    for (int64_t c = 0; c < s->ch; c++) {
      const float sc = pscale(scale, c);
      const int32_t z = pzero(zp, c);
      const int64_t base = (o * s->ch + c) * s->inner;
      if (x->dtype == CALIB8_FLOAT) {
        s->quantize((const float *)x->data + base, (size_t)s->inner, sc, z, y->dtype == CALIB8_INT8,
                    (unsigned char *)y->data + base);
      } else {
        const int32_t *xs = (const int32_t *)x->data + base;
        for (int64_t i = 0; i < s->inner; i++) qstore(y, base + i, c8_quantize_one((float)xs[i] / sc, z, lo, hi));
      }
    }
  return CALIB8_OK;
}

static c8_status dequantize_run(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out,
                                void *scratch) {
  (void)n_out, (void)scratch;
  const qdq_state *s = k->state;
  const c8_tensor *x = in[0], *scale = in[1], *zp = n_in > 2 ? in[2] : NULL;
  float *y = out[0]->data;
  for (int64_t o = 0; o < s->outer; o++)
    for (int64_t c = 0; c < s->ch; c++) {
      const float sc = pscale(scale, c);
      const int32_t z = pzero(zp, c);
      const int64_t base = (o * s->ch + c) * s->inner;
      float *ys = y + base;
      if (x->dtype == CALIB8_UINT8 || x->dtype == CALIB8_INT8) {
        s->dequantize((const unsigned char *)x->data + base, (size_t)s->inner, sc, z, x->dtype == CALIB8_INT8, ys);
      } else {
        const int32_t *xs = (const int32_t *)x->data + base;
        for (int64_t i = 0; i < s->inner; i++) ys[i] = (float)((int64_t)xs[i] - z) * sc;
      }
    }
  return CALIB8_OK;
}

/* Batch splitting: per-axis scales along the batch would index samples. */
static bool qdq_batch(const c8_batch_query *q) {
  if (q->ax < 0) return false;
  const int rank = q->in[0] ? q->in[0]->rank : 0;
  const c8_tensor *scale = q->n_in > 1 ? q->in[1] : NULL;
  return !scale || c8_numel(scale) <= 1 || c8_wrap_axis(c8_attr_int(q->node, "axis", 1), rank) != q->ax;
}

const c8_op_def c8_op_quantize_linear = {
    .name = "QuantizeLinear", .domain = "", .prepare = quantize_prepare, .run = quantize_run,
    .qrole = C8_QROLE_NONE, .values = C8_VALUES_COMPUTED, .batch = C8_BATCH_CHECK, .batch_check = qdq_batch,
    .fuse = C8_FUSE_NONE};
const c8_op_def c8_op_dequantize_linear = {
    .name = "DequantizeLinear", .domain = "", .prepare = dequantize_prepare, .run = dequantize_run,
    .qrole = C8_QROLE_NONE, .values = C8_VALUES_COMPUTED, .batch = C8_BATCH_CHECK, .batch_check = qdq_batch,
    .fuse = C8_FUSE_NONE};

/* ---- integer convolution: ConvInteger, QLinearConv ---- */

typedef struct qconv_state {
  c8_conv_geom g;
  bool qlinear;
  int x_in, w_in, xzp_in, wzp_in; /* input indices */
  size_t xs_bytes, ws_bytes;      /* scratch: widened x | widened w | int32 accumulators (QLinear) */
  c8_qconv_fast *fast;            /* the integer kernels (op-qconv.h), or NULL: the reference below */
} qconv_state;

static void qconv_destroy(void *state) {
  qconv_state *s = state;
  if (!s) return;
  c8_qconv_fast_destroy(s->fast);
  c8_mfree(s);
}

/* QConv's fused activation: the quantized output is clamped to [Q(act_min), Q(act_max)], which equals
   QuantizeLinear(Clip(v, act_min, act_max)) because QuantizeLinear is monotonic (Relu: act_min = 0, giving
   the zero point). */
static void act_bounds(const c8_node *node, float ys, int32_t zp, int32_t *lo, int32_t *hi) {
  const c8_attr *amin = c8_node_attr(node, "act_min"), *amax = c8_node_attr(node, "act_max");
  if (amin) {
    const int32_t q = c8_quantize_one(amin->f / ys, zp, *lo, *hi);
    if (q > *lo) *lo = q;
  }
  if (amax) {
    const int32_t q = c8_quantize_one(amax->f / ys, zp, *lo, *hi);
    if (q < *hi) *hi = q;
  }
}

static c8_status qconv_prepare(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out,
                               bool qlinear) {
  const c8_node *node = k->node;
  c8_status st = qlinear ? c8_check_inputs(node, n_in, 8, 9) : c8_check_inputs(node, n_in, 2, 4);
  if (st) return st;
  if (n_out != 1 || !out[0]) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "has %d outputs, expected 1", n_out);
  qconv_state *s = c8_calloc(1, sizeof *s);
  if (!s) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory preparing node '%s'", node->name);
  k->state = s;
  s->qlinear = qlinear;
  s->x_in = 0;
  s->w_in = qlinear ? 3 : 1;
  s->xzp_in = qlinear ? 2 : 2;
  s->wzp_in = qlinear ? 5 : 3;
  const c8_tensor *x = in[s->x_in], *w = in[s->w_in];
  if (!x || !w) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "input x or w is missing");
  if ((st = check_q8(node, x, s->x_in)) || (st = check_q8(node, w, s->w_in))) return st;
  if ((st = c8_conv_geom_init(node, x, w, false, &s->g))) return st;
  const c8_tensor *xzp = n_in > s->xzp_in ? in[s->xzp_in] : NULL, *wzp = n_in > s->wzp_in ? in[s->wzp_in] : NULL;
  if (xzp && ((st = check_same_type(node, xzp, s->xzp_in, x->dtype)) ||
              (st = check_param(node, xzp, s->xzp_in, -1, "x_zero_point"))))
    return st;
  if (wzp && ((st = check_same_type(node, wzp, s->wzp_in, w->dtype)) ||
              (st = check_param(node, wzp, s->wzp_in, s->g.m, "w_zero_point"))))
    return st;
  c8_dtype ydt = CALIB8_INT32;
  if (qlinear) {
    const c8_tensor *xs = in[1], *ws = in[4], *ys = in[6], *yzp = in[7], *b = n_in > 8 ? in[8] : NULL;
    if (!xs || !ws || !ys) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "a scale input is missing");
    if ((st = c8_check_dtype(node, xs, 1, CALIB8_FLOAT)) || (st = c8_check_dtype(node, ws, 4, CALIB8_FLOAT)) ||
        (st = c8_check_dtype(node, ys, 6, CALIB8_FLOAT)))
      return st;
    if ((st = check_param(node, xs, 1, -1, "x_scale")) || (st = check_param(node, ws, 4, s->g.m, "w_scale")) ||
        (st = check_param(node, ys, 6, -1, "y_scale")))
      return st;
    ydt = x->dtype;
    if (yzp) {
      if ((st = check_q8(node, yzp, 7)) || (st = check_param(node, yzp, 7, -1, "y_zero_point"))) return st;
      ydt = yzp->dtype;
    }
    if (b) {
      if ((st = c8_check_dtype(node, b, 8, CALIB8_INT32))) return st;
      if (b->rank != 1 || b->dims[0] != s->g.m)
        return c8_node_error(node, CALIB8_MALFORMED_MODEL, "bias has shape %s; expected [%lld]", C8_SHAPE_STR(b),
                             (long long)s->g.m);
    }
  }
  s->xs_bytes = (size_t)c8_numel(x) * sizeof(int32_t);
  s->ws_bytes = (size_t)c8_numel(w) * sizeof(int32_t);
  c8_conv_set_output(&s->g, out[0], ydt);
  /* The kernels need constant int8 weights with zero points 0, and known scalar parameters. */
  const c8_tensor *b = qlinear && n_in > 8 ? in[8] : NULL;
  bool known = (!xzp || xzp->data) && (!b || b->data);
  if (qlinear) known = known && in[1]->data && in[4]->data && in[6]->data && (!in[7] || in[7]->data);
  if (known && !getenv_reference()) {
    c8_qconv_params p = {.g = &s->g, .x_signed = x->dtype == CALIB8_INT8, .x_zp = pzero(xzp, 0), .w = w,
                         .w_zp = wzp, .bias = b ? b->data : NULL, .out_s32 = !qlinear, .x_scale = 1.0f,
                         .y_scale = 1.0f, .w_scale = NULL, .threads = c8_threadpool_size(k->pool)};
    if (qlinear) {
      p.x_scale = pscale(in[1], 0), p.y_scale = pscale(in[6], 0), p.w_scale = in[4];
      p.y_zp = pzero(in[7], 0), p.y_signed = ydt == CALIB8_INT8;
      qrange(ydt, &p.lo, &p.hi);
      act_bounds(node, p.y_scale, p.y_zp, &p.lo, &p.hi);
    }
    size_t scratch = 0;
    if ((st = c8_qconv_fast_prepare(node, &p, &s->fast, &scratch))) return st;
    if (s->fast) {
      k->scratch_bytes = scratch;
      return CALIB8_OK;
    }
  }
  k->scratch_bytes = s->xs_bytes + s->ws_bytes + (qlinear ? (size_t)c8_numel(out[0]) * sizeof(int32_t) : 0);
  return CALIB8_OK;
}

/* acc[n, m, out...] = sum over the group's channels and taps of x[...] * w[...] + bias[m]
 * (x and w already minus their zero points). Taps that land in the padding are skipped. */
static void qconv_acc(const c8_conv_geom *g, const int32_t *x, const int32_t *w, const int32_t *bias, int32_t *acc) {
  const int64_t cg = g->c / g->groups, mg = g->m / g->groups, ihw = c8_conv_in_size(g), ohw = c8_conv_out_size(g);
  const int64_t kvol = c8_conv_k_size(g);
  for (int64_t n = 0; n < g->n; n++)
    for (int64_t m = 0; m < g->m; m++) {
      int32_t *o = acc + (n * g->m + m) * ohw;
      const int32_t b = bias ? bias[m] : 0;
      for (int64_t i = 0; i < ohw; i++) o[i] = b;
      const int64_t gi = m / mg;
      for (int64_t c = 0; c < cg; c++) {
        const int32_t *xc = x + (n * g->c + gi * cg + c) * ihw;
        const int32_t *wc = w + (m * cg + c) * kvol;
        for (int64_t kz = 0; kz < g->k[0]; kz++)
          for (int64_t ky = 0; ky < g->k[1]; ky++)
            for (int64_t kx = 0; kx < g->k[2]; kx++) {
              const int32_t wv = wc[(kz * g->k[1] + ky) * g->k[2] + kx];
              if (wv == 0) continue;
              const int64_t xoff = kx * g->dil[2] - g->pad_begin[2];
              int64_t lo, hi;
              c8_conv_valid_range(g->out[2], g->stride[2], xoff, g->in[2], &lo, &hi);
              for (int64_t oz = 0; oz < g->out[0]; oz++) {
                const int64_t iz = oz * g->stride[0] - g->pad_begin[0] + kz * g->dil[0];
                if (iz < 0 || iz >= g->in[0]) continue;
                for (int64_t oy = 0; oy < g->out[1]; oy++) {
                  const int64_t iy = oy * g->stride[1] - g->pad_begin[1] + ky * g->dil[1];
                  if (iy < 0 || iy >= g->in[1]) continue;
                  const int32_t *xr = xc + (iz * g->in[1] + iy) * g->in[2];
                  int32_t *orow = o + (oz * g->out[1] + oy) * g->out[2];
                  for (int64_t ox = lo; ox < hi; ox++) orow[ox] += wv * xr[ox * g->stride[2] + xoff];
                }
              }
            }
      }
    }
}

static c8_status qconv_run(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out,
                           void *scratch) {
  (void)n_out;
  const qconv_state *s = k->state;
  if (s->fast) {
    c8_qconv_fast_run(s->fast, in[s->x_in]->data, out[0]->data, scratch, k->pool);
    return CALIB8_OK;
  }
  const c8_conv_geom *g = &s->g;
  const c8_tensor *x = in[s->x_in], *w = in[s->w_in];
  const c8_tensor *xzp = n_in > s->xzp_in ? in[s->xzp_in] : NULL, *wzp = n_in > s->wzp_in ? in[s->wzp_in] : NULL;
  int32_t *xi = scratch, *wi = (int32_t *)((char *)scratch + s->xs_bytes);
  const int32_t xz = pzero(xzp, 0);
  for (int64_t i = 0, n = c8_numel(x); i < n; i++) xi[i] = qget(x, i) - xz;
  const int64_t per_m = c8_numel(w) / g->m;
  for (int64_t m = 0; m < g->m; m++) {
    const int32_t wz = pzero(wzp, m);
    for (int64_t i = 0; i < per_m; i++) wi[m * per_m + i] = qget(w, m * per_m + i) - wz;
  }
  if (!s->qlinear) {
    qconv_acc(g, xi, wi, NULL, out[0]->data);
    return CALIB8_OK;
  }
  int32_t *acc = (int32_t *)((char *)scratch + s->xs_bytes + s->ws_bytes);
  const c8_tensor *b = n_in > 8 ? in[8] : NULL;
  qconv_acc(g, xi, wi, b ? b->data : NULL, acc);
  const c8_tensor *xs = in[1], *ws = in[4], *ys = in[6], *yzp = in[7];
  c8_tensor *y = out[0];
  int32_t lo, hi;
  qrange(y->dtype, &lo, &hi);
  const int32_t yz = pzero(yzp, 0);
  act_bounds(k->node, pscale(ys, 0), yz, &lo, &hi);
  const int64_t ohw = c8_conv_out_size(g);
  for (int64_t n = 0; n < g->n; n++)
    for (int64_t m = 0; m < g->m; m++) {
      const float mult = pscale(xs, 0) * pscale(ws, m) / pscale(ys, 0);
      const int64_t base = (n * g->m + m) * ohw;
      for (int64_t i = 0; i < ohw; i++) qstore(y, base + i, c8_quantize_one((float)acc[base + i] * mult, yz, lo, hi));
    }
  return CALIB8_OK;
}

static c8_status convinteger_prepare(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out,
                                     int n_out) {
  return qconv_prepare(k, in, n_in, out, n_out, false);
}
static c8_status qlinearconv_prepare(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out,
                                     int n_out) {
  return qconv_prepare(k, in, n_in, out, n_out, true);
}

const c8_op_def c8_op_conv_integer = {
    .name = "ConvInteger", .domain = "", .prepare = convinteger_prepare, .run = qconv_run, .destroy = qconv_destroy,
    .qrole = C8_QROLE_NONE, .values = C8_VALUES_COMPUTED, .batch = C8_BATCH_FIRST_AXIS, .fuse = C8_FUSE_NONE};
const c8_op_def c8_op_qlinear_conv = {
    .name = "QLinearConv", .domain = "", .prepare = qlinearconv_prepare, .run = qconv_run, .destroy = qconv_destroy,
    .qrole = C8_QROLE_NONE, .values = C8_VALUES_COMPUTED, .batch = C8_BATCH_FIRST_AXIS, .fuse = C8_FUSE_NONE};
/* calib8's folded convolution (graph/pass-int8.c): QLinearConv's inputs and attributes, plus the fused
   activation act_min / act_max (floats, in the output's real units; either may be absent). It is already
   integer: not planned again, not a fusion head. */
const c8_op_def c8_op_qconv = {
    .name = "QConv", .domain = "com.calib8", .prepare = qlinearconv_prepare, .run = qconv_run,
    .destroy = qconv_destroy, .qrole = C8_QROLE_NONE, .values = C8_VALUES_COMPUTED, .batch = C8_BATCH_FIRST_AXIS,
    .fuse = C8_FUSE_NONE};

/* ---- calib8's folded residual Add (graph/pass-int8.c) ---- */

/* com.calib8 QAdd(a, a_scale, a_zp, b, b_scale, b_zp, y_scale, y_zp) [act_min, act_max]:
   QuantizeLinear(Clip(DequantizeLinear(a) + DequantizeLinear(b))) on 8-bit tensors with per-tensor parameters,
   broadcasting as Add does, in the fake-quantized graph's float operations (kernels/quant/quant.h), so its bytes
   are that graph's. */
typedef struct qadd_state {
  c8_bcast plan;
  c8_q8_add_params p;
  c8_q8_add_fn fn;
  bool unary; /* QRequant */
} qadd_state;

static c8_status qadd_prepare_as(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out,
                                 bool unary) {
  const c8_node *node = k->node;
  const int nin = unary ? 5 : 8, yi = unary ? 3 : 6;
  c8_status st = c8_check_inputs(node, n_in, nin, nin);
  if (st) return st;
  if (n_out != 1 || !out[0]) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "has %d outputs, expected 1", n_out);
  for (int i = 0; i < nin; i++)
    if (!in[i]) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "input %d is missing", i);
  if ((st = check_q8(node, in[0], 0)) || (st = check_q8(node, in[yi + 1], yi + 1)) ||
      (st = check_same_type(node, in[2], 2, in[0]->dtype)))
    return st;
  if (!unary && ((st = check_q8(node, in[3], 3)) || (st = check_same_type(node, in[5], 5, in[3]->dtype)))) return st;
  const int sc[3] = {1, yi, 4}, zp[3] = {2, yi + 1, 5};
  for (int i = 0; i < (unary ? 2 : 3); i++) {
    if ((st = c8_check_dtype(node, in[sc[i]], sc[i], CALIB8_FLOAT))) return st;
    if ((st = check_param(node, in[sc[i]], sc[i], -1, "scale")) ||
        (st = check_param(node, in[zp[i]], zp[i], -1, "zero point")))
      return st;
  }
  qadd_state *s = c8_calloc(1, sizeof *s);
  if (!s) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory preparing node '%s'", node->name);
  k->state = s;
  s->unary = unary;
  c8_tensor *o = out[0];
  if (unary) copy_shape(o, in[0], in[yi + 1]->dtype);
  else if ((st = c8_broadcast_shape(node, in[0], in[3], o))) return st;
  o->dtype = in[yi + 1]->dtype;
  const c8_tensor *ins[2] = {in[0], unary ? in[0] : in[3]};
  c8_bcast_init(&s->plan, o, 2, ins);
  c8_q8_add_params *p = &s->p;
  p->sa = pscale(in[1], 0), p->sy = pscale(in[yi], 0);
  p->za = pzero(in[2], 0), p->zy = pzero(in[yi + 1], 0);
  p->a_signed = in[0]->dtype == CALIB8_INT8;
  if (!unary) {
    p->sb = pscale(in[4], 0), p->zb = pzero(in[5], 0);
    p->b_signed = in[3]->dtype == CALIB8_INT8;
  }
  p->y_signed = o->dtype == CALIB8_INT8;
  qrange(o->dtype, &p->lo, &p->hi);
  act_bounds(node, p->sy, p->zy, &p->lo, &p->hi);
  s->fn = c8_q8_add_select();
  return CALIB8_OK;
}

static c8_status qadd_prepare(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out) {
  return qadd_prepare_as(k, in, n_in, out, n_out, false);
}

static c8_status qrequant_prepare(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out) {
  return qadd_prepare_as(k, in, n_in, out, n_out, true);
}

static void qadd_row(void *ctx, void *out, const void *const *in, const int *st, int64_t n) {
  const qadd_state *s = ctx;
  if (st[0] && (st[1] || s->unary)) {
    s->fn(in[0], s->unary ? NULL : in[1], (size_t)n, &s->p, out);
    return;
  }
  const c8_q8_add_params *p = &s->p;
  for (int64_t i = 0; i < n; i++) {
    const int64_t ia = st[0] ? i : 0, ib = st[1] ? i : 0;
    const int32_t a = p->a_signed ? ((const int8_t *)in[0])[ia] : ((const uint8_t *)in[0])[ia];
    const int32_t b = p->b_signed ? ((const int8_t *)in[1])[ib] : ((const uint8_t *)in[1])[ib];
    const int32_t q = s->unary ? c8_q8_requant_one(a, p) : c8_q8_add_one(a, b, p);
    if (p->y_signed) ((int8_t *)out)[i] = (int8_t)q;
    else ((uint8_t *)out)[i] = (uint8_t)q;
  }
}

static c8_status qadd_run(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out,
                          void *scratch) {
  (void)n_in, (void)n_out, (void)scratch;
  qadd_state *s = k->state;
  const void *p[2] = {in[0]->data, s->unary ? in[0]->data : in[3]->data};
  const size_t es[2] = {1, 1};
  c8_bcast_run_par(k->pool, &s->plan, out[0]->data, 1, p, es, qadd_row, s);
  return CALIB8_OK;
}

static void qadd_destroy(void *state) { c8_mfree(state); }

const c8_op_def c8_op_qadd = {
    .name = "QAdd", .domain = "com.calib8", .prepare = qadd_prepare, .run = qadd_run, .destroy = qadd_destroy,
    .qrole = C8_QROLE_NONE, .values = C8_VALUES_COMPUTED, .batch = C8_BATCH_ANY_AXIS, .fuse = C8_FUSE_NONE};
/* com.calib8 QRequant(x, x_scale, x_zp, y_scale, y_zp) [act_min, act_max]: QuantizeLinear(Clip(
   DequantizeLinear(x))), the same arithmetic as QAdd without b. */
const c8_op_def c8_op_qrequant = {
    .name = "QRequant", .domain = "com.calib8", .prepare = qrequant_prepare, .run = qadd_run,
    .destroy = qadd_destroy, .qrole = C8_QROLE_NONE, .values = C8_VALUES_COMPUTED, .batch = C8_BATCH_ANY_AXIS,
    .fuse = C8_FUSE_NONE};

/* ---- integer matrix products: MatMulInteger, QLinearMatMul ---- */

typedef struct qmatmul_state {
  c8_matmul_dims d;
  bool qlinear;
  size_t a_bytes, b_bytes; /* scratch: widened A | widened B | int32 result (QLinear) */
} qmatmul_state;

static c8_status qmatmul_prepare(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out,
                                 bool qlinear) {
  const c8_node *node = k->node;
  c8_status st = qlinear ? c8_check_inputs(node, n_in, 8, 8) : c8_check_inputs(node, n_in, 2, 4);
  if (st) return st;
  if (n_out != 1 || !out[0]) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "has %d outputs, expected 1", n_out);
  qmatmul_state *s = c8_calloc(1, sizeof *s);
  if (!s) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory preparing node '%s'", node->name);
  k->state = s;
  s->qlinear = qlinear;
  const int ai = 0, bi = qlinear ? 3 : 1, azi = qlinear ? 2 : 2, bzi = qlinear ? 5 : 3;
  const c8_tensor *a = in[ai], *b = in[bi];
  if (!a || !b) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "input A or B is missing");
  if ((st = check_q8(node, a, ai)) || (st = check_q8(node, b, bi))) return st;
  if ((st = c8_matmul_shape(node, a, b, out[0], &s->d))) return st;
  const c8_tensor *az = n_in > azi ? in[azi] : NULL, *bz = n_in > bzi ? in[bzi] : NULL;
  /* Zero points (and scales): per tensor, per row of A ([M]) or per column of B ([N]). */
  if (az && ((st = check_same_type(node, az, azi, a->dtype)) ||
             (st = check_param(node, az, azi, s->d.m, "A zero point"))))
    return st;
  if (bz && ((st = check_same_type(node, bz, bzi, b->dtype)) ||
             (st = check_param(node, bz, bzi, s->d.n, "B zero point"))))
    return st;
  c8_dtype ydt = CALIB8_INT32;
  if (qlinear) {
    const c8_tensor *as = in[1], *bs = in[4], *ys = in[6], *yz = in[7];
    if (!as || !bs || !ys) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "a scale input is missing");
    if ((st = c8_check_dtype(node, as, 1, CALIB8_FLOAT)) || (st = c8_check_dtype(node, bs, 4, CALIB8_FLOAT)) ||
        (st = c8_check_dtype(node, ys, 6, CALIB8_FLOAT)))
      return st;
    if ((st = check_param(node, as, 1, s->d.m, "a_scale")) || (st = check_param(node, bs, 4, s->d.n, "b_scale")) ||
        (st = check_param(node, ys, 6, s->d.m, "y_scale")))
      return st;
    ydt = a->dtype;
    if (yz) {
      if ((st = check_q8(node, yz, 7)) || (st = check_param(node, yz, 7, s->d.m, "y_zero_point"))) return st;
      ydt = yz->dtype;
    }
  }
  out[0]->dtype = ydt;
  s->a_bytes = (size_t)c8_numel(a) * sizeof(int32_t);
  s->b_bytes = (size_t)c8_numel(b) * sizeof(int32_t);
  k->scratch_bytes = s->a_bytes + s->b_bytes + (qlinear ? (size_t)c8_numel(out[0]) * sizeof(int32_t) : 0);
  return CALIB8_OK;
}

static c8_status qmatmul_run(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out,
                             void *scratch) {
  (void)n_out;
  const qmatmul_state *s = k->state;
  const c8_matmul_dims *d = &s->d;
  const bool q = s->qlinear;
  const c8_tensor *a = in[0], *b = in[q ? 3 : 1];
  const c8_tensor *az = n_in > 2 ? in[2] : NULL, *bz = n_in > (q ? 5 : 3) ? in[q ? 5 : 3] : NULL;
  int32_t *ai = scratch, *bi = (int32_t *)((char *)scratch + s->a_bytes);
  /* A's rows cycle with period M, B's columns with period N (1-D inputs included). */
  for (int64_t i = 0, n = c8_numel(a); i < n; i++) ai[i] = qget(a, i) - pzero(az, i / d->k % d->m);
  for (int64_t i = 0, n = c8_numel(b); i < n; i++) bi[i] = qget(b, i) - pzero(bz, i % d->n);
  int32_t *acc = q ? (int32_t *)((char *)scratch + s->a_bytes + s->b_bytes) : out[0]->data;
  for (int64_t t = 0; t < d->batch; t++) {
    int64_t ao, bo;
    c8_matmul_batch_offsets(d, t, &ao, &bo);
    const int32_t *am = ai + ao * d->m * d->k, *bm = bi + bo * d->k * d->n;
    int32_t *ym = acc + t * d->m * d->n;
    for (int64_t i = 0; i < d->m; i++) {
      int32_t *yr = ym + i * d->n;
      for (int64_t j = 0; j < d->n; j++) yr[j] = 0;
      for (int64_t p = 0; p < d->k; p++) {
        const int32_t av = am[i * d->k + p];
        const int32_t *br = bm + p * d->n;
        for (int64_t j = 0; j < d->n; j++) yr[j] += av * br[j];
      }
    }
  }
  if (!q) return CALIB8_OK;
  const c8_tensor *as = in[1], *bs = in[4], *ys = in[6], *yz = in[7];
  c8_tensor *y = out[0];
  int32_t lo, hi;
  qrange(y->dtype, &lo, &hi);
  for (int64_t t = 0; t < d->batch; t++)
    for (int64_t i = 0; i < d->m; i++) {
      const int32_t z = pzero(yz, i);
      for (int64_t j = 0; j < d->n; j++) {
        const float mult = pscale(as, i) * pscale(bs, j) / pscale(ys, i);
        const int64_t idx = (t * d->m + i) * d->n + j;
        qstore(y, idx, c8_quantize_one((float)acc[idx] * mult, z, lo, hi));
      }
    }
  return CALIB8_OK;
}

static c8_status matmulinteger_prepare(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out,
                                       int n_out) {
  return qmatmul_prepare(k, in, n_in, out, n_out, false);
}
static c8_status qlinearmatmul_prepare(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out,
                                       int n_out) {
  return qmatmul_prepare(k, in, n_in, out, n_out, true);
}

const c8_op_def c8_op_matmul_integer = {
    .name = "MatMulInteger", .domain = "", .prepare = matmulinteger_prepare, .run = qmatmul_run,
    .qrole = C8_QROLE_NONE, .values = C8_VALUES_COMPUTED, .batch = C8_BATCH_ANY_AXIS, .fuse = C8_FUSE_NONE};
const c8_op_def c8_op_qlinear_matmul = {
    .name = "QLinearMatMul", .domain = "", .prepare = qlinearmatmul_prepare, .run = qmatmul_run,
    .qrole = C8_QROLE_NONE, .values = C8_VALUES_COMPUTED, .batch = C8_BATCH_ANY_AXIS, .fuse = C8_FUSE_NONE};
