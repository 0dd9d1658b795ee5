/* The integer convolution (op-qconv.h). */
#include "ops/op-qconv.h"

#include <string.h>

#include "core/alloc.h"
#include "core/threadpool.h"

struct c8_qconv_fast {
  c8_conv_geom g;
  const c8_qu8_gemm_config *cfg;
  int64_t cg, mg, kg, ohw, ihw; /* per group: input channels, output channels, K; output and input plane */
  bool direct;                  /* 1x1, stride 1, no padding: B is the input plane */
  bool depthwise;               /* cg == 1 and mg == 1 */
  bool x_signed, out_s32, y_signed;
  uint8_t pad_byte; /* the input zero point as the input's byte */
  void *a;          /* packed weights, groups x packed_a_bytes */
  size_t a_group;
  int8_t *wdw; /* depthwise: the weights as given [M, kvol] */
  int32_t *bias; /* M: bias - zp·Σw (zp raised by 128 for int8 input) */
  float *mult;   /* M */
  int32_t y_zp, lo, hi;
  size_t col_bytes, ws_bytes, per_thread;
};

static size_t align64(size_t n) { return (n + 63) & ~(size_t)63; }

c8_status c8_qconv_fast_prepare(const c8_node *node, const c8_qconv_params *p, c8_qconv_fast **out,
                                size_t *scratch_bytes) {
  *out = NULL;
  const c8_conv_geom *g = p->g;
  if (!p->w->data || p->w->dtype != CALIB8_INT8) return CALIB8_OK;
  if (p->w_zp) {
    if (!p->w_zp->data) return CALIB8_OK;
    for (int64_t i = 0; i < c8_numel(p->w_zp); i++)
      if (((const int8_t *)p->w_zp->data)[i] != 0) return CALIB8_OK;
  }
  if (g->k[0] != 1 || g->in[0] != 1) return CALIB8_OK; /* 3-D convolutions: the reference */
  c8_qconv_fast *f = c8_calloc(1, sizeof *f);
  if (!f) goto oom;
  f->g = *g;
  f->cfg = c8_qu8_gemm_config_default();
  f->cg = g->c / g->groups, f->mg = g->m / g->groups;
  f->kg = f->cg * c8_conv_k_size(g);
  f->ohw = c8_conv_out_size(g), f->ihw = c8_conv_in_size(g);
  f->direct = g->k[1] == 1 && g->k[2] == 1 && g->stride[1] == 1 && g->stride[2] == 1 && g->pad_begin[1] == 0 &&
              g->pad_begin[2] == 0 && g->pad_end[1] == 0 && g->pad_end[2] == 0;
  f->depthwise = f->cg == 1 && f->mg == 1 && g->groups > 1;
  f->x_signed = p->x_signed, f->out_s32 = p->out_s32, f->y_signed = p->y_signed;
  f->pad_byte = (uint8_t)p->x_zp;
  f->y_zp = p->y_zp, f->lo = p->lo, f->hi = p->hi;
  const int8_t *w = p->w->data;
  f->bias = c8_malloc((size_t)g->m * sizeof(int32_t));
  f->mult = c8_malloc((size_t)g->m * sizeof(float));
  if (!f->bias || !f->mult) goto oom;
  const int32_t zpx = p->x_signed && !f->depthwise ? p->x_zp + 128 : p->x_zp;
  for (int64_t m = 0; m < g->m; m++) {
    int32_t s = 0;
    for (int64_t k = 0; k < f->kg; k++) s += w[m * f->kg + k];
    f->bias[m] = (p->bias ? p->bias[m] : 0) - zpx * s;
    const float ws = !p->w_scale ? 1.0f : ((const float *)p->w_scale->data)[c8_numel(p->w_scale) == 1 ? 0 : m];
    /* as QLinearConv's reference (op-quant.c) and ONNX Runtime: x_scale * w_scale / y_scale */
    f->mult[m] = p->x_scale * ws / p->y_scale;
  }
  if (f->depthwise) {
    f->wdw = c8_malloc((size_t)(g->m * f->kg));
    if (!f->wdw) goto oom;
    memcpy(f->wdw, w, (size_t)(g->m * f->kg));
    f->per_thread = 0;
  } else {
    f->a_group = align64(c8_qu8_gemm_packed_a_bytes(f->cfg, (size_t)f->mg, (size_t)f->kg));
    f->a = c8_calloc((size_t)g->groups, f->a_group);
    if (!f->a) goto oom;
    for (int64_t gi = 0; gi < g->groups; gi++)
      c8_qu8_gemm_pack_a(f->cfg, (size_t)f->mg, (size_t)f->kg, w + gi * f->mg * f->kg, (size_t)f->kg, NULL,
                         (char *)f->a + (size_t)gi * f->a_group);
    f->col_bytes = f->direct ? 0 : align64((size_t)(f->kg * f->ohw));
    f->ws_bytes = align64(c8_qu8_gemm_workspace_bytes(f->cfg, (size_t)f->ohw, (size_t)f->kg));
    f->per_thread = f->col_bytes + f->ws_bytes;
  }
  *scratch_bytes = f->per_thread * (size_t)(p->threads < 1 ? 1 : p->threads);
  *out = f;
  return CALIB8_OK;
oom:
  c8_qconv_fast_destroy(f);
  return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory preparing node '%s'", node->name);
}

void c8_qconv_fast_destroy(c8_qconv_fast *f) {
  if (!f) return;
  c8_mfree(f->a);
  c8_mfree(f->wdw);
  c8_mfree(f->bias);
  c8_mfree(f->mult);
  c8_mfree(f);
}

/* im2col of one group of one image: row (c, ky, kx), column (oy, ox); padding is the zero point's byte. */
static void im2col(const c8_qconv_fast *f, const uint8_t *x, uint8_t *col) {
  const c8_conv_geom *g = &f->g;
  const int64_t kh = g->k[1], kw = g->k[2], ih = g->in[1], iw = g->in[2], oh = g->out[1], ow = g->out[2];
  const int64_t sh = g->stride[1], sw = g->stride[2];
  for (int64_t c = 0; c < f->cg; c++)
    for (int64_t ky = 0; ky < kh; ky++)
      for (int64_t kx = 0; kx < kw; kx++) {
        uint8_t *row = col + ((c * kh + ky) * kw + kx) * f->ohw;
        const int64_t xoff = kx * g->dil[2] - g->pad_begin[2];
        int64_t lo, hi;
        c8_conv_valid_range(ow, sw, xoff, iw, &lo, &hi);
        for (int64_t oy = 0; oy < oh; oy++) {
          uint8_t *r = row + oy * ow;
          const int64_t iy = oy * sh - g->pad_begin[1] + ky * g->dil[1];
          if (iy < 0 || iy >= ih) {
            memset(r, f->pad_byte, (size_t)ow);
            continue;
          }
          const uint8_t *xr = x + (c * ih + iy) * iw;
          if (lo > 0) memset(r, f->pad_byte, (size_t)lo);
          if (sw == 1) memcpy(r + lo, xr + lo + xoff, (size_t)(hi - lo));
          else
            for (int64_t ox = lo; ox < hi; ox++) r[ox] = xr[ox * sw + xoff];
          if (hi < ow) memset(r + hi, f->pad_byte, (size_t)(ow - hi));
        }
      }
}

static void depthwise_plane(const c8_qconv_fast *f, int64_t m, const uint8_t *x, void *y) {
  const c8_conv_geom *g = &f->g;
  const int64_t kh = g->k[1], kw = g->k[2], ih = g->in[1], iw = g->in[2], oh = g->out[1], ow = g->out[2];
  const int8_t *w = f->wdw + m * f->kg;
  c8_qu8_gemm_tile t = {.vlo = (float)(f->lo - f->y_zp), .vhi = (float)(f->hi - f->y_zp), .zp = f->y_zp};
  for (int64_t oy = 0; oy < oh; oy++)
    for (int64_t ox = 0; ox < ow; ox++) {
      int32_t acc = 0;
      for (int64_t ky = 0; ky < kh; ky++) {
        const int64_t iy = oy * g->stride[1] - g->pad_begin[1] + ky * g->dil[1];
        for (int64_t kx = 0; kx < kw; kx++) {
          const int64_t ix = ox * g->stride[2] - g->pad_begin[2] + kx * g->dil[2];
          int32_t v = f->x_signed ? (int32_t)(int8_t)f->pad_byte : f->pad_byte;
          if (iy >= 0 && iy < ih && ix >= 0 && ix < iw)
            v = f->x_signed ? (int32_t)((const int8_t *)x)[iy * iw + ix] : x[iy * iw + ix];
          acc += v * w[ky * kw + kx];
        }
      }
      const int64_t at = oy * ow + ox;
      if (f->out_s32) ((int32_t *)y)[at] = acc + f->bias[m];
      else {
        const int32_t q = c8_qu8_requant_one(acc, f->bias[m], f->mult[m], &t, 0, 0);
        if (f->y_signed) ((int8_t *)y)[at] = (int8_t)q;
        else ((uint8_t *)y)[at] = (uint8_t)q;
      }
    }
}

typedef struct job {
  const c8_qconv_fast *f;
  const uint8_t *x;
  unsigned char *y;
  unsigned char *scratch;
} job;

static void run_range(void *vj, int64_t b, int64_t e, int thread) {
  const job *j = vj;
  const c8_qconv_fast *f = j->f;
  const c8_conv_geom *g = &f->g;
  const size_t es = f->out_s32 ? 4 : 1;
  unsigned char *mine = j->scratch ? j->scratch + (size_t)thread * f->per_thread : NULL; /* NULL + 0 is UB */
  for (int64_t it = b; it < e; it++) {
    const int64_t n = it / g->groups, gi = it % g->groups;
    const uint8_t *x = j->x + (n * g->c + gi * f->cg) * f->ihw;
    unsigned char *y = j->y + (size_t)((n * g->m + gi * f->mg) * f->ohw) * es;
    if (f->depthwise) {
      depthwise_plane(f, gi, x, y);
      continue;
    }
    const uint8_t *bsrc = x;
    if (!f->direct) {
      im2col(f, x, mine);
      bsrc = mine;
    }
    c8_qu8_gemm_args a = {.m = (size_t)f->mg, .n = (size_t)f->ohw, .k = (size_t)f->kg,
                          .a_packed = (const char *)f->a + (size_t)gi * f->a_group, .b = bsrc,
                          .ldb = (size_t)f->ohw, .b_flip = f->x_signed, .c = y, .ldc = (size_t)f->ohw,
                          .bias = f->bias + gi * f->mg, .mult = f->mult + gi * f->mg, .zp = f->y_zp, .lo = f->lo,
                          .hi = f->hi, .out_signed = f->y_signed, .out_s32 = f->out_s32};
    c8_qu8_gemm(f->cfg, &a, mine + f->col_bytes);
  }
}

void c8_qconv_fast_run(const c8_qconv_fast *f, const void *x, void *y, void *scratch, struct c8_threadpool *pool) {
  job j = {.f = f, .x = x, .y = y, .scratch = scratch};
  const int64_t items = f->g.n * f->g.groups;
  const double work = (double)items * (double)f->ohw * (double)f->kg * (double)f->mg;
  c8_parallel_for(work < 200000.0 ? NULL : pool, items, 1, run_range, &j);
}
