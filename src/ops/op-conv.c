/* Conv (ONNX Conv-1/11): 1-D, 2-D and 3-D, groups, dilations, strides, pads, auto_pad.
 *
 * Three paths, chosen at prepare:
 *   - depthwise (one input channel per group, 1-D/2-D): a direct loop over output rows
 *     whose inner loop runs along the output row, vectorizable at stride 1;
 *   - 1x1, stride 1, no padding: the input already is the GEMM's B matrix [C/g, H*W];
 *   - otherwise GEMM per group, W_g [M/g, C/g*kvol] · im2col(X_g) [C/g*kvol, OH*OW],
 *     where the im2col matrix is never materialized: the GEMM's B packer builds each
 *     packed KC x NC block from the image (one row at a time through a small buffer).
 * Constant weights are packed once at prepare (k->state); bias and an optional fused
 * clamp (Relu/Clip) go into the GEMM epilogue. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/gemm/gemm.h"
#include "ops/op-conv.h"

/* ---- geometry ---- */

static int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

c8_status c8_conv_geom_init(const c8_node *node, const c8_tensor *x, const c8_tensor *w, bool transposed,
                            c8_conv_geom *g) {
  memset(g, 0, sizeof *g);
  if (x->rank < 3 || x->rank > 5)
    return c8_node_error(node, CALIB8_UNSUPPORTED,
                         "input 0 has shape %s; expected rank 3 to 5 (N, C and 1 to 3 spatial dims)", C8_SHAPE_STR(x));
  if (w->rank != x->rank)
    return c8_node_error(node, CALIB8_MALFORMED_MODEL, "weight has shape %s but input 0 has shape %s: ranks must match",
                         C8_SHAPE_STR(w), C8_SHAPE_STR(x));
  const int nsp = x->rank - 2, off = 3 - nsp;
  g->nsp = nsp;
  g->groups = c8_attr_int(node, "group", 1);
  if (g->groups < 1)
    return c8_node_error(node, CALIB8_MALFORMED_MODEL, "group is %lld; it must be at least 1", (long long)g->groups);
  g->n = x->dims[0];
  g->c = x->dims[1];
  if (g->c % g->groups)
    return c8_node_error(node, CALIB8_MALFORMED_MODEL, "group %lld does not divide %lld input channels",
                         (long long)g->groups, (long long)g->c);
  if (!transposed) {
    g->m = w->dims[0];
    if (w->dims[1] * g->groups != g->c)
      return c8_node_error(node, CALIB8_MALFORMED_MODEL, "input has %lld channels, weight expects %lld (group %lld)",
                           (long long)g->c, (long long)(w->dims[1] * g->groups), (long long)g->groups);
    if (g->m % g->groups)
      return c8_node_error(node, CALIB8_MALFORMED_MODEL, "group %lld does not divide %lld output channels",
                           (long long)g->groups, (long long)g->m);
  } else {
    if (w->dims[0] != g->c)
      return c8_node_error(node, CALIB8_MALFORMED_MODEL, "input has %lld channels, weight expects %lld",
                           (long long)g->c, (long long)w->dims[0]);
    g->m = w->dims[1] * g->groups;
  }
  for (int i = 0; i < 3; i++) g->in[i] = g->out[i] = g->k[i] = g->stride[i] = g->dil[i] = 1;
  for (int i = 0; i < nsp; i++) {
    g->in[off + i] = x->dims[2 + i];
    g->k[off + i] = w->dims[2 + i];
    if (x->dims[2 + i] < 1 || w->dims[2 + i] < 1)
      return c8_node_error(node, CALIB8_UNSUPPORTED, "input 0 %s and weight %s must have non-empty spatial dims",
                           C8_SHAPE_STR(x), C8_SHAPE_STR(w));
  }
  int n;
  const int64_t *ks = c8_attr_ints(node, "kernel_shape", &n);
  if (ks) {
    if (n != nsp)
      return c8_node_error(node, CALIB8_MALFORMED_MODEL, "kernel_shape has %d values for %d spatial dims", n, nsp);
    for (int i = 0; i < nsp; i++)
      if (ks[i] != w->dims[2 + i])
        return c8_node_error(node, CALIB8_MALFORMED_MODEL, "kernel_shape[%d] is %lld but the weight %s has %lld", i,
                             (long long)ks[i], C8_SHAPE_STR(w), (long long)w->dims[2 + i]);
  }
  const int64_t *st = c8_attr_ints(node, "strides", &n);
  if (st) {
    if (n != nsp)
      return c8_node_error(node, CALIB8_MALFORMED_MODEL, "strides has %d values for %d spatial dims", n, nsp);
    for (int i = 0; i < nsp; i++) {
      if (st[i] < 1)
        return c8_node_error(node, CALIB8_MALFORMED_MODEL, "strides[%d] is %lld; strides must be at least 1", i,
                             (long long)st[i]);
      g->stride[off + i] = st[i];
    }
  }
  const int64_t *dl = c8_attr_ints(node, "dilations", &n);
  if (dl) {
    if (n != nsp)
      return c8_node_error(node, CALIB8_MALFORMED_MODEL, "dilations has %d values for %d spatial dims", n, nsp);
    for (int i = 0; i < nsp; i++) {
      if (dl[i] < 1)
        return c8_node_error(node, CALIB8_MALFORMED_MODEL, "dilations[%d] is %lld; dilations must be at least 1", i,
                             (long long)dl[i]);
      g->dil[off + i] = dl[i];
    }
  }
  const char *ap = c8_attr_string(node, "auto_pad", "NOTSET");
  enum { NOTSET, SAME_UPPER, SAME_LOWER, VALID } mode;
  if (strcmp(ap, "NOTSET") == 0) mode = NOTSET;
  else if (strcmp(ap, "SAME_UPPER") == 0) mode = SAME_UPPER;
  else if (strcmp(ap, "SAME_LOWER") == 0) mode = SAME_LOWER;
  else if (strcmp(ap, "VALID") == 0) mode = VALID;
  else
    return c8_node_error(node, CALIB8_MALFORMED_MODEL,
                         "auto_pad is '%s'; expected NOTSET, SAME_UPPER, SAME_LOWER or VALID", ap);
  const int64_t *pads = c8_attr_ints(node, "pads", &n);
  if (pads && mode == NOTSET) {
    if (n != 2 * nsp)
      return c8_node_error(node, CALIB8_MALFORMED_MODEL, "pads has %d values; %d spatial dims need %d", n, nsp,
                           2 * nsp);
    for (int i = 0; i < nsp; i++) {
      if (pads[i] < 0 || pads[nsp + i] < 0)
        return c8_node_error(node, CALIB8_UNSUPPORTED, "pads[%d] or pads[%d] is negative", i, nsp + i);
      g->pad_begin[off + i] = pads[i];
      g->pad_end[off + i] = pads[nsp + i];
    }
  }
  if (!transposed) {
    for (int i = off; i < 3; i++) {
      int64_t ek = (g->k[i] - 1) * g->dil[i] + 1, in = g->in[i], s = g->stride[i];
      if (mode == SAME_UPPER || mode == SAME_LOWER) {
        g->out[i] = (in + s - 1) / s;
        int64_t total = (g->out[i] - 1) * s + ek - in;
        if (total < 0) total = 0;
        /* SAME_UPPER puts the odd pad at the end, SAME_LOWER at the beginning. */
        g->pad_begin[i] = mode == SAME_UPPER ? total / 2 : total - total / 2;
        g->pad_end[i] = total - g->pad_begin[i];
      } else {
        int64_t padded = in + g->pad_begin[i] + g->pad_end[i];
        if (padded < ek)
          return c8_node_error(node, CALIB8_INVALID_ARGUMENT,
                               "spatial dim %d: the padded input (%lld) is smaller than the dilated kernel (%lld)",
                               i - off, (long long)padded, (long long)ek);
        g->out[i] = (padded - ek) / s + 1;
      }
    }
  } else {
    int nop = 0, nos = 0;
    const int64_t *opad = c8_attr_ints(node, "output_padding", &nop);
    const int64_t *oshape = c8_attr_ints(node, "output_shape", &nos);
    if (opad && nop != nsp)
      return c8_node_error(node, CALIB8_MALFORMED_MODEL, "output_padding has %d values for %d spatial dims", nop,
                           nsp);
    if (oshape && nos != nsp && nos != nsp + 2)
      return c8_node_error(node, CALIB8_MALFORMED_MODEL, "output_shape has %d values for %d spatial dims", nos, nsp);
    if (oshape && nos == nsp + 2) oshape += 2; /* given as the full [N, C, spatial...] */
    for (int i = off; i < 3; i++) {
      int64_t ek = (g->k[i] - 1) * g->dil[i] + 1, in = g->in[i], s = g->stride[i];
      int64_t op = opad ? opad[i - off] : 0;
      if (op < 0 || (op >= s && op >= g->dil[i]))
        return c8_node_error(node, CALIB8_MALFORMED_MODEL,
                             "output_padding[%d] is %lld; it must be smaller than the stride or the dilation", i - off,
                             (long long)op);
      if (oshape || mode == SAME_UPPER || mode == SAME_LOWER) {
        int64_t out = oshape ? oshape[i - off] : in * s;
        int64_t total = s * (in - 1) + op + ek - out;
        /* ONNX ConvTranspose: SAME_UPPER pads total/2 at the beginning, otherwise at the end
           (floor division, so a negative total extends the output at the end). */
        if (mode == SAME_UPPER) {
          g->pad_begin[i] = floor_div(total, 2);
          g->pad_end[i] = total - g->pad_begin[i];
        } else {
          g->pad_end[i] = floor_div(total, 2);
          g->pad_begin[i] = total - g->pad_end[i];
        }
        g->out[i] = out;
      } else {
        g->out[i] = s * (in - 1) + op + ek - g->pad_begin[i] - g->pad_end[i];
      }
      if (g->out[i] < 1)
        return c8_node_error(node, CALIB8_INVALID_ARGUMENT, "spatial dim %d of the output would be %lld", i - off,
                             (long long)g->out[i]);
    }
  }
  return CALIB8_OK;
}

void c8_conv_set_output(const c8_conv_geom *g, c8_tensor *out, c8_dtype dtype) {
  out->dtype = dtype;
  out->rank = g->nsp + 2;
  out->dims[0] = g->n;
  out->dims[1] = g->m;
  for (int i = 0; i < g->nsp; i++) out->dims[2 + i] = g->out[3 - g->nsp + i];
}

/* ---- Conv ---- */

enum { PATH_DEPTHWISE, PATH_GEMM_1X1, PATH_GEMM_IM2COL };

#define ROW_SLACK 8 /* floats after the im2col row buffer that zero_run may write */

typedef struct conv_state {
  c8_conv_geom g;
  int path;
  const c8_f32_gemm_config *cfg;
  int64_t mg, cg, kg; /* per group: output channels, input channels, GEMM K (cg * kvol) */
  float *wpacked;     /* per-group packed weights (c8_alloc), NULL when W is not constant */
  size_t wpacked_group; /* floats per group */
  float min, max;     /* fused activation clamp */
  size_t ws_bytes, row_floats; /* scratch layout: GEMM workspace | im2col row | packed W (dynamic W) */
} conv_state;

static void conv_destroy(void *p) {
  conv_state *s = p;
  if (!s) return;
  c8_free(s->wpacked);
  free(s);
}

static size_t align64(size_t n) { return (n + 63) / 64 * 64; }

/* com.microsoft FusedConv (ONNX Runtime's contrib op): Conv followed by `activation`
 * with `activation_params`. Relu and Clip become the epilogue clamp; graph passes that
 * fuse Conv+Relu/Clip can target it. */
static c8_status parse_activation(const c8_node *node, conv_state *s) {
  const char *act = c8_attr_string(node, "activation", "");
  int n = 0;
  const float *p = c8_attr_floats(node, "activation_params", &n);
  if (strcmp(act, "Relu") == 0) {
    s->min = 0.0f;
  } else if (strcmp(act, "Clip") == 0) {
    if (n != 2)
      return c8_node_error(node, CALIB8_MALFORMED_MODEL,
                           "activation Clip needs activation_params [min, max], got %d values", n);
    s->min = p[0];
    s->max = p[1];
  } else if (*act) {
    return c8_node_error(node, CALIB8_UNSUPPORTED, "activation '%s' is not supported (Relu and Clip are)", act);
  }
  return CALIB8_OK;
}

static c8_status conv_prepare(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out) {
  const c8_node *node = k->node;
  c8_status st = c8_check_inputs(node, n_in, 2, 3);
  if (st) return st;
  if (n_out != 1 || !out[0]) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "has %d outputs, expected 1", n_out);
  if (!in[0] || !in[1]) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "input X or W is missing");
  if ((st = c8_check_dtype(node, in[0], 0, CALIB8_FLOAT)) || (st = c8_check_dtype(node, in[1], 1, CALIB8_FLOAT)))
    return st;
  conv_state *s = calloc(1, sizeof *s);
  if (!s) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory preparing node '%s'", node->name);
  k->state = s;
  c8_conv_geom *g = &s->g;
  if ((st = c8_conv_geom_init(node, in[0], in[1], false, g))) return st;
  const c8_tensor *b = n_in > 2 ? in[2] : NULL;
  if (b) {
    if ((st = c8_check_dtype(node, b, 2, CALIB8_FLOAT))) return st;
    if (b->rank != 1 || b->dims[0] != g->m)
      return c8_node_error(node, CALIB8_MALFORMED_MODEL, "bias has shape %s; expected [%lld] (one per output channel)",
                           C8_SHAPE_STR(b), (long long)g->m);
  }
  s->min = -INFINITY;
  s->max = INFINITY;
  if (strcmp(node->op_type, "FusedConv") == 0 && (st = parse_activation(node, s))) return st;
  s->cfg = c8_f32_gemm_config_default();
  s->mg = g->m / g->groups;
  s->cg = g->c / g->groups;
  s->kg = s->cg * c8_conv_k_size(g);
  const int64_t ohw = c8_conv_out_size(g);
  bool unit = true;
  for (int i = 0; i < 3; i++)
    unit &= g->k[i] == 1 && g->stride[i] == 1 && g->pad_begin[i] == 0 && g->pad_end[i] == 0;
  if (s->cg == 1 && g->groups > 1 && g->k[0] == 1 && g->in[0] == 1) s->path = PATH_DEPTHWISE;
  else if (unit) s->path = PATH_GEMM_1X1;
  else s->path = PATH_GEMM_IM2COL;
  size_t scratch = 0;
  if (s->path != PATH_DEPTHWISE) {
    s->ws_bytes = align64(c8_f32_gemm_workspace_bytes(s->cfg, (size_t)s->mg, (size_t)ohw, (size_t)s->kg, true));
    s->row_floats = s->path == PATH_GEMM_IM2COL ? (size_t)(ohw < (int64_t)s->cfg->nc ? ohw : (int64_t)s->cfg->nc) : 0;
    s->wpacked_group = c8_f32_gemm_packed_a_floats(s->cfg, (size_t)s->mg, (size_t)s->kg);
    scratch = s->ws_bytes + align64((s->row_floats + ROW_SLACK) * sizeof(float));
    if (in[1]->data) {
      s->wpacked = c8_alloc(s->wpacked_group * (size_t)g->groups * sizeof(float));
      if (!s->wpacked)
        return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory packing the weights of node '%s'", node->name);
      for (int64_t gi = 0; gi < g->groups; gi++)
        c8_f32_gemm_pack_a(s->cfg, (size_t)s->mg, (size_t)s->kg, (const float *)in[1]->data + gi * s->mg * s->kg,
                           (size_t)s->kg, false, s->wpacked + (size_t)gi * s->wpacked_group);
    } else {
      scratch += s->wpacked_group * sizeof(float);
    }
  }
  k->scratch_bytes = scratch;
  c8_conv_set_output(g, out[0], CALIB8_FLOAT);
  return CALIB8_OK;
}

/* Implicit im2col: the B packer for one (batch, group) image. Row r of the virtual
 * im2col matrix is (channel, kz, ky, kx); column q is output position (oz, oy, ox). */
typedef struct im2col_ctx {
  const c8_conv_geom *g;
  const float *x; /* the group's first input channel */
  float *row;     /* nc floats */
} im2col_ctx;

/* Zeros d[0, n). Short runs (the usual 1-2 padding columns) store one 8-float block
   instead of calling memset, and may write up to 8 floats past d + n: callers fill
   rows left to right (later writes overwrite the excess) and the row buffer has
   ROW_SLACK floats of room after its end. */
static inline void zero_run(float *d, int64_t n) {
  static const float zeros[ROW_SLACK];
  if (n <= 0) return;
  if (n <= ROW_SLACK) memcpy(d, zeros, sizeof zeros);
  else memset(d, 0, (size_t)n * sizeof(float));
}

/* Row r of the im2col matrix over columns [n0, n0+nc) into row (nc floats). */
static void im2col_row(const im2col_ctx *ctx, int64_t r, int64_t n0, int64_t nc, float *row) {
  const c8_conv_geom *g = ctx->g;
  const int64_t kvol = c8_conv_k_size(g);
  const int64_t ch = r / kvol, kk = r % kvol;
  const int64_t kz = kk / (g->k[1] * g->k[2]), ky = kk / g->k[2] % g->k[1], kx = kk % g->k[2];
  const int64_t ID = g->in[0], IH = g->in[1], IW = g->in[2], OH = g->out[1], OW = g->out[2];
  const float *xc = ctx->x + ch * ID * IH * IW;
  int64_t oz = n0 / (OH * OW), oy = n0 / OW % OH, ox = n0 % OW;
  const int64_t sx = g->stride[2], xoff = kx * g->dil[2] - g->pad_begin[2];
  for (int64_t q = 0; q < nc;) {
    int64_t len = OW - ox < nc - q ? OW - ox : nc - q;
    int64_t iz = oz * g->stride[0] - g->pad_begin[0] + kz * g->dil[0];
    int64_t iy = oy * g->stride[1] - g->pad_begin[1] + ky * g->dil[1];
    float *d = row + q;
    if (iz < 0 || iz >= ID || iy < 0 || iy >= IH) {
      zero_run(d, len);
    } else {
      const float *src = xc + (iz * IH + iy) * IW;
      /* ox + t reads ix = (ox + t) * sx + xoff; [lo, hi) of t is inside the image.
         ix may be negative for t < lo: index from src, never form a pointer before it. */
      int64_t lo, hi;
      c8_conv_valid_range(len, sx, ox * sx + xoff, IW, &lo, &hi);
      const int64_t base = ox * sx + xoff;
      zero_run(d, lo);
      if (sx == 1)
        for (int64_t t = lo; t < hi; t++) d[t] = src[base + t];
      else if (sx == 2)
        for (int64_t t = lo; t < hi; t++) d[t] = src[base + 2 * t];
      else
        for (int64_t t = lo; t < hi; t++) d[t] = src[base + t * sx];
      zero_run(d + hi, len - hi);
    }
    q += len;
    ox = 0;
    if (++oy == OH) oy = 0, oz++;
  }
}

/* Scatters one row of nc values into NR-column panels (dst = row k of panel 0). */
static void scatter_row(const float *row, size_t nc, size_t nr, size_t panel_stride, float *dst) {
  size_t p = 0;
  if (nr == 8) { /* constant-size copies are inlined as vector moves */
    for (; p + 8 <= nc; p += 8, dst += panel_stride) memcpy(dst, row + p, 8 * sizeof(float));
  } else if (nr == 16) {
    for (; p + 16 <= nc; p += 16, dst += panel_stride) memcpy(dst, row + p, 16 * sizeof(float));
  } else {
    for (; p + nr <= nc; p += nr, dst += panel_stride)
      for (size_t j = 0; j < nr; j++) dst[j] = row[p + j];
  }
  if (p < nc) {
    size_t j = 0;
    for (; j < nc - p; j++) dst[j] = row[p + j];
    for (; j < nr; j++) dst[j] = 0.0f;
  }
}

static void im2col_pack(const void *vctx, size_t k0, size_t kc, size_t n0, size_t nc, size_t nr,
                        size_t panel_stride, float *dst) {
  const im2col_ctx *ctx = vctx;
  for (size_t k = 0; k < kc; k++) {
    im2col_row(ctx, (int64_t)(k0 + k), (int64_t)n0, (int64_t)nc, ctx->row);
    scatter_row(ctx->row, nc, nr, panel_stride, dst + k * nr);
  }
}

/* Adds one kernel row of depthwise taps to an output row: yr[ox] += sum over kx of
 * w[kx] * xr[ox*sx + kx*dx - px], for the taps inside the input row. 3- and 5-wide
 * stride-1 kernels take all taps in one pass over the interior [ilo, ihi), where every
 * tap is inside, and finish the few border outputs one by one; other kernels make one
 * pass per tap over its valid range. */
static void dw_row(float *restrict yr, const float *restrict xr, const float *wrow, int64_t KW, int64_t sx,
                   int64_t dx, int64_t px, int64_t OW, int64_t IW) {
  if (sx == 1 && (KW == 3 || KW == 5)) {
    /* Tap offsets grow with kx: the first tap bounds the interior from below, the last from above. */
    int64_t ilo, ihi, lo, hi;
    c8_conv_valid_range(OW, 1, -px, IW, &ilo, &hi);
    c8_conv_valid_range(OW, 1, (KW - 1) * dx - px, IW, &lo, &ihi);
    if (ihi < ilo) ihi = ilo;
    const int64_t o0 = -px, o1 = dx - px, o2 = 2 * dx - px;
    const float w0 = wrow[0], w1 = wrow[1], w2 = wrow[2];
    if (KW == 3) {
      for (int64_t ox = ilo; ox < ihi; ox++) yr[ox] += w0 * xr[ox + o0] + w1 * xr[ox + o1] + w2 * xr[ox + o2];
    } else {
      const int64_t o3 = 3 * dx - px, o4 = 4 * dx - px;
      const float w3 = wrow[3], w4 = wrow[4];
      for (int64_t ox = ilo; ox < ihi; ox++)
        yr[ox] += w0 * xr[ox + o0] + w1 * xr[ox + o1] + w2 * xr[ox + o2] + w3 * xr[ox + o3] + w4 * xr[ox + o4];
    }
    for (int64_t ox = 0; ox < OW; ox++) {
      if (ox == ilo) ox = ihi > ilo ? ihi : ilo;
      if (ox >= OW) break;
      float acc = 0.0f;
      for (int64_t kx = 0; kx < KW; kx++) {
        const int64_t ix = ox + kx * dx - px;
        if (ix >= 0 && ix < IW) acc += wrow[kx] * xr[ix];
      }
      yr[ox] += acc;
    }
    return;
  }
  for (int64_t kx = 0; kx < KW; kx++) {
    const float wv = wrow[kx];
    const int64_t off = kx * dx - px;
    int64_t lo, hi;
    c8_conv_valid_range(OW, sx, off, IW, &lo, &hi);
    if (sx == 1)
      for (int64_t ox = lo; ox < hi; ox++) yr[ox] += wv * xr[ox + off];
    else if (sx == 2)
      for (int64_t ox = lo; ox < hi; ox++) yr[ox] += wv * xr[2 * ox + off];
    else
      for (int64_t ox = lo; ox < hi; ox++) yr[ox] += wv * xr[ox * sx + off];
  }
}

/* Depthwise (one input channel per group, channel multiplier M/C) for 1-D/2-D. */
static void conv_depthwise(const conv_state *s, const float *x, const float *w, const float *bias, float *y) {
  const c8_conv_geom *g = &s->g;
  const int64_t IH = g->in[1], IW = g->in[2], OH = g->out[1], OW = g->out[2], KH = g->k[1], KW = g->k[2];
  const int64_t sy = g->stride[1], sx = g->stride[2], dy = g->dil[1], dx = g->dil[2];
  const int64_t py = g->pad_begin[1], px = g->pad_begin[2];
  const int64_t mult = s->mg;
  for (int64_t n = 0; n < g->n; n++)
    for (int64_t m = 0; m < g->m; m++) {
      const float *xc = x + (n * g->c + m / mult) * IH * IW;
      const float *wm = w + m * KH * KW;
      float *yc = y + (n * g->m + m) * OH * OW;
      const float b = bias ? bias[m] : 0.0f;
      for (int64_t oy = 0; oy < OH; oy++) {
        float *yr = yc + oy * OW;
        for (int64_t ox = 0; ox < OW; ox++) yr[ox] = b;
        for (int64_t ky = 0; ky < KH; ky++) {
          int64_t iy = oy * sy - py + ky * dy;
          if (iy < 0 || iy >= IH) continue;
          dw_row(yr, xc + iy * IW, wm + ky * KW, KW, sx, dx, px, OW, IW);
        }
        if (s->min != -INFINITY || s->max != INFINITY)
          for (int64_t ox = 0; ox < OW; ox++) {
            float v = yr[ox];
            v = v < s->min ? s->min : v;
            yr[ox] = v > s->max ? s->max : v;
          }
      }
    }
}

static c8_status conv_run(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out,
                          void *scratch) {
  (void)n_out;
  const conv_state *s = k->state;
  const c8_conv_geom *g = &s->g;
  const float *x = in[0]->data, *w = in[1]->data;
  const float *bias = n_in > 2 && in[2] ? in[2]->data : NULL;
  float *y = out[0]->data;
  if (s->path == PATH_DEPTHWISE) {
    conv_depthwise(s, x, w, bias, y);
    return CALIB8_OK;
  }
  unsigned char *sp = scratch;
  void *ws = sp;
  float *row = (float *)(sp + s->ws_bytes);
  float *wdyn = (float *)(sp + s->ws_bytes + align64((s->row_floats + ROW_SLACK) * sizeof(float)));
  const int64_t ihw = c8_conv_in_size(g), ohw = c8_conv_out_size(g);
  for (int64_t gi = 0; gi < g->groups; gi++) {
    const float *wp = s->wpacked ? s->wpacked + (size_t)gi * s->wpacked_group : wdyn;
    if (!s->wpacked)
      c8_f32_gemm_pack_a(s->cfg, (size_t)s->mg, (size_t)s->kg, w + gi * s->mg * s->kg, (size_t)s->kg, false, wdyn);
    for (int64_t n = 0; n < g->n; n++) {
      const float *xg = x + (n * g->c + gi * s->cg) * ihw;
      im2col_ctx ctx = {.g = g, .x = xg, .row = row};
      c8_f32_gemm_args a;
      c8_f32_gemm_args_init(&a);
      a.m = (size_t)s->mg, a.n = (size_t)ohw, a.k = (size_t)s->kg;
      a.a_packed = wp;
      if (s->path == PATH_GEMM_1X1) {
        a.b = xg;
        a.ldb = (size_t)ihw;
      } else {
        a.pack_b = im2col_pack;
        a.pack_b_ctx = &ctx;
      }
      a.c = y + (n * g->m + gi * s->mg) * ohw;
      a.ldc = (size_t)ohw;
      if (bias) {
        a.bias_kind = C8_GEMM_BIAS_ROW;
        a.bias = bias + gi * s->mg;
      }
      a.min = s->min, a.max = s->max;
      c8_f32_gemm(s->cfg, &a, ws);
    }
  }
  return CALIB8_OK;
}

const c8_op_def c8_op_conv = {.name = "Conv", .domain = "", .prepare = conv_prepare, .run = conv_run,
                              .destroy = conv_destroy};
const c8_op_def c8_op_fused_conv = {.name = "FusedConv", .domain = "com.microsoft", .prepare = conv_prepare,
                                    .run = conv_run, .destroy = conv_destroy};
