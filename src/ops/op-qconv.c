/* The integer convolution (op-qconv.h). */
#include "ops/op-qconv.h"

#include <stdint.h>
#include <string.h>

#include "core/alloc.h"
#include "core/threadpool.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif

struct c8_qconv_fast {
  c8_conv_geom g;
  const c8_qu8_gemm_config *cfg;
  int64_t cg, mg, kg, ohw, ihw; /* per group: input channels, output channels, K; output and input plane */
  bool depthwise;               /* cg == 1 and mg == 1 */
  bool x_signed, out_s32, y_signed;
  uint8_t pad_byte; /* the input zero point as the input's byte */
  void *a;          /* packed weights, groups x packed_a_bytes */
  size_t a_group;
  int8_t *wdw; /* depthwise: the weights as given [M, kvol] */
  int32_t *bias; /* M: bias - zp·Σw (zp raised by 128 for int8 input) */
  float *mult;   /* M */
  int32_t y_zp, lo, hi;
  /* B is packed panel by panel from a source image built per image and group: the input, padded with the zero
     point, its channels interleaved by 4 (c4: the 4 bytes a vpdpbusd lane reduces) and its columns split by x
     phase (x = u*sw + phase). K runs (channel quad, ky, kx, channel % 4), so for every tap the 4-byte pixels of
     an output row are contiguous in the source: a panel step is a copy of NR pixels, no transposition. */
  int64_t cq, kpp;                              /* channel quads; K in that order, padded to whole quads */
  int64_t hp, wrow, quad_stride, phase_stride; /* source rows, row width (pixels), strides (bytes) */
  int64_t *koff;                                /* kpp/4: where each step (quad, ky, kx) starts in the source */
  int32_t *seg;                                 /* (dst column, source byte offset, length) runs of each panel */
  int32_t *seg_start;                           /* panels + 1 */
  int64_t panels;
  int64_t *quarter; /* with cfg->ukernel_ind: per panel, where each quarter of NR/4 columns starts in the source
                       when it is one run (B is then read in place, not packed), else -1 */
  size_t src_bytes, panel_bytes, per_thread;
};

static size_t align64(size_t n) { return (n + 63) & ~(size_t)63; }

/* The runs of contiguous source bytes of each NR-column panel: output pixel j = (oy, ox) reads, for tap offset
   0, source offset oy*sh*wrow + ox (in its phase plane). */
static bool build_segments(c8_qconv_fast *f) {
  const size_t NR = f->cfg->nr;
  const int64_t ow = f->g.out[2], sh = f->g.stride[1];
  f->panels = (f->ohw + (int64_t)NR - 1) / (int64_t)NR;
  int64_t n = 0;
  for (int64_t j = 0; j < f->ohw; j += (int64_t)NR) {
    const int64_t e = j + (int64_t)NR < f->ohw ? j + (int64_t)NR : f->ohw;
    for (int64_t c = j; c < e;) {
      const int64_t ox = c % ow, len = ow - ox < e - c ? ow - ox : e - c;
      n++, c += len;
    }
  }
  f->seg = c8_malloc((size_t)(n ? n : 1) * 3 * sizeof(int32_t));
  f->seg_start = c8_malloc((size_t)(f->panels + 1) * sizeof(int32_t));
  if (!f->seg || !f->seg_start) return false;
  int32_t *s = f->seg;
  int64_t at = 0;
  for (int64_t p = 0; p < f->panels; p++) {
    f->seg_start[p] = (int32_t)at;
    const int64_t j = p * (int64_t)NR, e = j + (int64_t)NR < f->ohw ? j + (int64_t)NR : f->ohw;
    for (int64_t c = j; c < e;) {
      const int64_t oy = c / ow, ox = c % ow, len = ow - ox < e - c ? ow - ox : e - c;
      const int64_t src = (oy * sh * f->wrow + ox) * 4;
      if (at > 0 && c > j && s[3 * (at - 1)] + s[3 * (at - 1) + 2] == c - j &&
          s[3 * (at - 1) + 1] + 4 * s[3 * (at - 1) + 2] == src) {
        s[3 * (at - 1) + 2] += (int32_t)len; /* the next output row continues the run (no padding, ow == iw) */
      } else {
        s[3 * at] = (int32_t)(c - j), s[3 * at + 1] = (int32_t)src, s[3 * at + 2] = (int32_t)len;
        at++;
      }
      c += len;
    }
  }
  f->seg_start[f->panels] = (int32_t)at;
  if (!f->cfg->ukernel_ind) return true;
  f->quarter = c8_malloc((size_t)(4 * f->panels) * sizeof(int64_t));
  if (!f->quarter) return false;
  const int32_t h = (int32_t)NR / 4;
  for (int64_t p = 0; p < f->panels; p++) {
    for (int32_t k = 0; k < 4; k++) f->quarter[4 * p + k] = -1;
    if (f->ohw - p * (int64_t)NR < (int64_t)NR) continue;
    for (int32_t i = f->seg_start[p]; i < f->seg_start[p + 1]; i++)
      for (int32_t k = 0; k < 4; k++)
        if (s[3 * i] <= k * h && s[3 * i] + s[3 * i + 2] >= (k + 1) * h)
          f->quarter[4 * p + k] = s[3 * i + 1] + 4 * (int64_t)(k * h - s[3 * i]);
  }
  return true;
}

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
    const int64_t sw = g->stride[2], kh = g->k[1], kw = g->k[2], kvol = kh * kw;
    f->cq = (f->cg + 3) / 4;
    f->kpp = f->cq * kvol * 4;
    const int64_t wp = g->in[2] + g->pad_begin[2] + g->pad_end[2];
    f->hp = g->in[1] + g->pad_begin[1] + g->pad_end[1];
    f->wrow = (wp + sw - 1) / sw;
    f->phase_stride = f->hp * f->wrow * 4;
    f->quad_stride = sw * f->phase_stride;
    if (f->phase_stride > INT32_MAX) { /* the panel runs hold 32-bit source offsets: the reference instead */
      c8_qconv_fast_destroy(f);
      return CALIB8_OK;
    }
    f->src_bytes = align64((size_t)(f->cq * f->quad_stride)) + align64((size_t)g->in[2]) +
                   align64((size_t)(sw * f->wrow * 4));
    f->a_group = align64(c8_qu8_gemm_packed_a_bytes(f->cfg, (size_t)f->mg, (size_t)f->kpp));
    f->a = c8_calloc((size_t)g->groups, f->a_group);
    int8_t *wr = c8_calloc((size_t)(f->mg * f->kpp), 1);
    f->koff = c8_malloc((size_t)(f->kpp / 4) * sizeof(int64_t));
    if (!f->a || !wr || !f->koff || !build_segments(f)) {
      c8_mfree(wr);
      goto oom;
    }
    for (int64_t gi = 0; gi < g->groups; gi++) {
      for (int64_t m = 0; m < f->mg; m++)
        for (int64_t c = 0; c < f->cg; c++)
          for (int64_t t = 0; t < kvol; t++)
            wr[m * f->kpp + ((c / 4) * kvol + t) * 4 + c % 4] = w[((gi * f->mg + m) * f->cg + c) * kvol + t];
      c8_qu8_gemm_pack_a(f->cfg, (size_t)f->mg, (size_t)f->kpp, wr, (size_t)f->kpp, NULL,
                         (char *)f->a + (size_t)gi * f->a_group);
    }
    c8_mfree(wr);
    for (int64_t st = 0; st < f->kpp / 4; st++) {
      const int64_t q = st / kvol, ky = st % kvol / kw, kx = st % kw, xo = kx * g->dil[2];
      f->koff[st] = q * f->quad_stride + (xo % sw) * f->phase_stride + (ky * g->dil[1] * f->wrow + xo / sw) * 4;
    }
    f->panel_bytes = align64(f->cfg->nr * (size_t)f->kpp);
    f->per_thread = f->src_bytes + f->panel_bytes;
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
  c8_mfree(f->koff);
  c8_mfree(f->seg);
  c8_mfree(f->seg_start);
  c8_mfree(f->quarter);
  c8_mfree(f->bias);
  c8_mfree(f->mult);
  c8_mfree(f);
}

/* out[4j + q] = r_q[j] ^ flip for j < n: four rows into 4-byte pixels. */
static void interleave4(const uint8_t *r0, const uint8_t *r1, const uint8_t *r2, const uint8_t *r3, size_t n,
                        uint8_t flip, uint8_t *out) {
  size_t j = 0;
#ifdef __SSE2__
  const __m128i x = _mm_set1_epi8((char)flip);
  for (; j + 16 <= n; j += 16, out += 64) {
    const __m128i a0 = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(r0 + j)), x);
    const __m128i a1 = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(r1 + j)), x);
    const __m128i a2 = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(r2 + j)), x);
    const __m128i a3 = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(r3 + j)), x);
    const __m128i l01 = _mm_unpacklo_epi8(a0, a1), h01 = _mm_unpackhi_epi8(a0, a1);
    const __m128i l23 = _mm_unpacklo_epi8(a2, a3), h23 = _mm_unpackhi_epi8(a2, a3);
    _mm_storeu_si128((__m128i *)out, _mm_unpacklo_epi16(l01, l23));
    _mm_storeu_si128((__m128i *)(out + 16), _mm_unpackhi_epi16(l01, l23));
    _mm_storeu_si128((__m128i *)(out + 32), _mm_unpacklo_epi16(h01, h23));
    _mm_storeu_si128((__m128i *)(out + 48), _mm_unpackhi_epi16(h01, h23));
  }
#endif
  for (; j < n; j++, out += 4) {
    out[0] = r0[j] ^ flip, out[1] = r1[j] ^ flip, out[2] = r2[j] ^ flip, out[3] = r3[j] ^ flip;
  }
}

/* The source image of one group of one image (struct c8_qconv_fast): padding, and the channels past the last
   whole quad, are the zero point's byte (their weights are 0 anyway); int8 input is stored XOR 0x80. */
static void build_source(const c8_qconv_fast *f, const uint8_t *x, uint8_t *dst) {
  const c8_conv_geom *g = &f->g;
  const int64_t ih = g->in[1], iw = g->in[2], sw = g->stride[2], pt = g->pad_begin[1], pl = g->pad_begin[2];
  const uint8_t flip = f->x_signed ? 0x80 : 0;
  uint8_t *padrow = dst + align64((size_t)(f->cq * f->quad_stride));
  uint8_t *row = padrow + align64((size_t)iw); /* one padded c4 row before its phase split */
  memset(dst, f->pad_byte ^ flip, (size_t)(f->cq * f->quad_stride));
  memset(padrow, f->pad_byte, (size_t)iw);
  if (sw > 1) memset(row, f->pad_byte ^ flip, (size_t)(sw * f->wrow * 4));
  for (int64_t q = 0; q < f->cq; q++)
    for (int64_t y = 0; y < ih; y++) {
      const uint8_t *r[4];
      for (int64_t i = 0; i < 4; i++) r[i] = q * 4 + i < f->cg ? x + ((q * 4 + i) * ih + y) * iw : padrow;
      uint8_t *d = dst + q * f->quad_stride + (y + pt) * f->wrow * 4;
      if (sw == 1) {
        interleave4(r[0], r[1], r[2], r[3], (size_t)iw, flip, d + pl * 4);
        continue;
      }
      interleave4(r[0], r[1], r[2], r[3], (size_t)iw, flip, row + pl * 4);
      for (int64_t ph = 0; ph < sw; ph++) {
        uint8_t *dp = d + ph * f->phase_stride;
        for (int64_t u = 0; u < f->wrow; u++) memcpy(dp + u * 4, row + (u * sw + ph) * 4, 4);
      }
    }
}

/* n bytes, a multiple of 4 (whole pixels). */
static inline void copy_px(uint8_t *d, const uint8_t *s, size_t n) {
#ifdef __SSE2__
  for (; n >= 16; n -= 16, d += 16, s += 16) _mm_storeu_si128((__m128i *)d, _mm_loadu_si128((const __m128i *)s));
#endif
  for (; n >= 4; n -= 4, d += 4, s += 4) memcpy(d, s, 4);
}

/* Packs panel p of B (kpp rows x NR columns, c4) from the source: per step, the panel's runs of pixels. Columns
   past N are 0. */
static void pack_panel(const c8_qconv_fast *f, const uint8_t *src, int64_t p, uint8_t *dst) {
  const size_t NR = f->cfg->nr, steps = (size_t)f->kpp / 4;
  const int32_t *s = f->seg + 3 * f->seg_start[p];
  const int32_t ns = f->seg_start[p + 1] - f->seg_start[p];
  if (ns == 1 && (size_t)s[2] == NR) {
    const uint8_t *base = src + s[1];
    if (NR == 32)
      for (size_t k = 0; k < steps; k++) memcpy(dst + k * 128, base + f->koff[k], 128);
    else
      for (size_t k = 0; k < steps; k++) copy_px(dst + k * 4 * NR, base + f->koff[k], 4 * NR);
    return;
  }
  size_t filled = 0;
  for (int32_t i = 0; i < ns; i++) filled += (size_t)s[3 * i + 2];
  for (size_t k = 0; k < steps; k++, dst += 4 * NR) {
    const uint8_t *base = src + f->koff[k];
    for (int32_t i = 0; i < ns; i++) copy_px(dst + 4 * s[3 * i], base + s[3 * i + 1], 4 * (size_t)s[3 * i + 2]);
    if (filled < NR) memset(dst + 4 * filled, 0, 4 * (NR - filled));
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
  int64_t chunks; /* parts of the panels of one image and group (threads on a small batch) */
} job;

static void run_range(void *vj, int64_t b, int64_t e, int thread) {
  const job *j = vj;
  const c8_qconv_fast *f = j->f;
  const c8_conv_geom *g = &f->g;
  const size_t es = f->out_s32 ? 4 : 1, MR = f->cfg->mr, NR = f->cfg->nr, kp = (size_t)f->kpp;
  const size_t astride = MR * kp * (f->cfg->a16 ? 2 : 1);
  unsigned char *mine = j->scratch ? j->scratch + (size_t)thread * f->per_thread : NULL; /* NULL + 0 is UB */
  for (int64_t it = b; it < e; it++) {
    const int64_t img = it / j->chunks, part = it % j->chunks;
    const int64_t n = img / g->groups, gi = img % g->groups;
    const uint8_t *x = j->x + (n * g->c + gi * f->cg) * f->ihw;
    unsigned char *y = j->y + (size_t)((n * g->m + gi * f->mg) * f->ohw) * es;
    if (f->depthwise) {
      depthwise_plane(f, gi, x, y);
      continue;
    }
    build_source(f, x, mine);
    uint8_t *panel = mine + f->src_bytes;
    c8_qu8_gemm_tile t = {.vlo = (float)(f->lo - f->y_zp), .vhi = (float)(f->hi - f->y_zp), .zp = f->y_zp,
                          .out_signed = f->y_signed, .out_s32 = f->out_s32};
    const char *a = (const char *)f->a + (size_t)gi * f->a_group;
    const int64_t p0 = f->panels * part / j->chunks, p1 = f->panels * (part + 1) / j->chunks;
    for (int64_t p = p0; p < p1; p++) {
      const int64_t *qo = f->quarter ? f->quarter + 4 * p : NULL;
      const bool in_place = qo && qo[0] >= 0 && qo[1] >= 0 && qo[2] >= 0 && qo[3] >= 0;
      const uint8_t *bq[4] = {NULL, NULL, NULL, NULL};
      if (in_place)
        for (int q = 0; q < 4; q++) bq[q] = mine + qo[q];
      else
        pack_panel(f, mine, p, panel);
      const size_t jr = (size_t)p * NR, nr = (size_t)f->ohw - jr < NR ? (size_t)f->ohw - jr : NR;
      for (size_t ir = 0; ir < (size_t)f->mg; ir += MR) {
        const size_t mr = (size_t)f->mg - ir < MR ? (size_t)f->mg - ir : MR;
        t.bias = f->bias + gi * f->mg + (int64_t)ir;
        t.mult = f->mult + gi * f->mg + (int64_t)ir;
        void *c = y + (ir * (size_t)f->ohw + jr) * es;
        if (in_place)
          f->cfg->ukernel_ind(mr, nr, kp, a + (ir / MR) * astride, bq, f->koff, c, (size_t)f->ohw, &t);
        else
          f->cfg->ukernel(mr, nr, kp, a + (ir / MR) * astride, panel, c, (size_t)f->ohw, &t);
      }
    }
  }
}

void c8_qconv_fast_run(const c8_qconv_fast *f, const void *x, void *y, void *scratch, struct c8_threadpool *pool) {
  const int64_t items = f->g.n * f->g.groups;
  const double work = (double)items * (double)f->ohw * (double)f->kg * (double)f->mg;
  const int nt = pool && work >= 200000.0 ? c8_threadpool_size(pool) : 1;
  int64_t chunks = 1;
  if (!f->depthwise && items < 2 * nt) chunks = (2 * nt + items - 1) / items;
  if (!f->depthwise && chunks > f->panels) chunks = f->panels > 0 ? f->panels : 1;
  job j = {.f = f, .x = x, .y = y, .scratch = scratch, .chunks = chunks};
  c8_parallel_for(work < 200000.0 ? NULL : pool, items * chunks, 1, run_range, &j);
}
