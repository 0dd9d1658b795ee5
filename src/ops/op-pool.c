/* Pooling: MaxPool (1-12+), AveragePool (1-19), LpPool (1-18), GlobalAveragePool, GlobalMaxPool, GlobalLpPool.
 *
 * Geometry follows the ONNX spec (MaxPool-12 / AveragePool-19 text):
 *   explicit pads:  out = floor_or_ceil((in + pb + pe - ((k-1)*d+1)) / s) + 1,
 *                   and with ceil_mode the last window must start inside the input or the left padding
 *                   (PyTorch's rule, adopted by ONNX-19 and ONNX Runtime): if (out-1)*s >= in + pb, out -= 1.
 *   SAME_UPPER/LOWER: out = ceil(in / s), total pad = max(0, (out-1)*s + (k-1)*d+1 - in),
 *                   the odd pixel at the end (UPPER) or at the beginning (LOWER).
 *   VALID:          pads are zero.
 * Up to 3 spatial dimensions; 1-D and 2-D are run as 3-D with leading size-1 dimensions.
 *
 * Speed: for every spatial dimension and output index, prepare records the range of kernel taps that
 * fall inside the input, so run never tests individual elements against the padding. Along the last
 * dimension the outputs whose whole window is inside the input form an interior range computed tap by
 * tap across the row (vectorizable, no bounds checks). Windows of three or more rows are separable: the
 * rows are first combined element-wise (see DEFINE_MAXPOOL_ROWS). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/cpu.h"
#include "core/threadpool.h"
#include "ops/op.h"

enum { POOL_MAX, POOL_AVG, POOL_LP };

typedef struct {
  int64_t lo, hi;  /* valid taps: [lo, hi) */
  int64_t start;   /* input coordinate of tap 0 (may be negative) */
  int64_t cnt_pad; /* taps inside [-pb, in + pe): the count_include_pad divisor */
} pool_tap;

typedef struct {
  int kind;
  c8_dtype dtype;
  bool include_pad, col_major;
  float p;
  int64_t nc;
  int64_t in[3], out[3], k[3], s[3], d[3];
  int64_t ilo, ihi; /* interior output range of the last dimension */
  int64_t pbw;      /* its begin padding */
  pool_tap *tap[3]; /* point into the same allocation */
} pool_state;

static int64_t ceil_div(int64_t a, int64_t b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); }
static int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

static c8_status pool_prepare_kind(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out,
                                   int kind) {
  const c8_node *node = k->node;
  c8_status st = c8_check_inputs(node, n_in, 1, 1);
  if (st) return st;
  const c8_tensor *x = in[0];
  if (!x) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "input 0 is missing");
  if (x->dtype != CALIB8_FLOAT && !(kind == POOL_MAX && (x->dtype == CALIB8_UINT8 || x->dtype == CALIB8_INT8)))
    return c8_node_error(node, CALIB8_UNSUPPORTED, "input 0 is %s, supported: float32%s", calib8_dtype_name(x->dtype),
                         kind == POOL_MAX ? ", uint8, int8" : "");
  if (x->rank < 3 || x->rank > 5)
    return c8_node_error(node, CALIB8_UNSUPPORTED, "input 0 has shape %s, expected N x C x D1 [x D2 [x D3]]",
                         C8_SHAPE_STR(x));
  int nsp = x->rank - 2;
  int nk = 0, ns = 0, nd = 0, np = 0;
  const int64_t *ks = c8_attr_ints(node, "kernel_shape", &nk);
  const int64_t *ss = c8_attr_ints(node, "strides", &ns);
  const int64_t *ds = c8_attr_ints(node, "dilations", &nd);
  const int64_t *ps = c8_attr_ints(node, "pads", &np);
  if (!ks || nk != nsp)
    return c8_node_error(node, CALIB8_MALFORMED_MODEL, "kernel_shape has %d values, input 0 has %d spatial dimensions",
                         nk, nsp);
  if (ss && ns != nsp)
    return c8_node_error(node, CALIB8_MALFORMED_MODEL, "strides has %d values, expected %d", ns, nsp);
  if (ds && nd != nsp)
    return c8_node_error(node, CALIB8_MALFORMED_MODEL, "dilations has %d values, expected %d", nd, nsp);
  if (ps && np != 2 * nsp)
    return c8_node_error(node, CALIB8_MALFORMED_MODEL, "pads has %d values, expected %d", np, 2 * nsp);
  const char *auto_pad = c8_attr_string(node, "auto_pad", "NOTSET");
  int mode; /* 0 NOTSET, 1 SAME_UPPER, 2 SAME_LOWER, 3 VALID */
  if (strcmp(auto_pad, "NOTSET") == 0)
    mode = 0;
  else if (strcmp(auto_pad, "SAME_UPPER") == 0)
    mode = 1;
  else if (strcmp(auto_pad, "SAME_LOWER") == 0)
    mode = 2;
  else if (strcmp(auto_pad, "VALID") == 0)
    mode = 3;
  else
    return c8_node_error(node, CALIB8_MALFORMED_MODEL,
                         "auto_pad '%s' is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID", auto_pad);
  bool ceil_mode = c8_attr_int(node, "ceil_mode", 0) != 0;
  int64_t storage_order = c8_attr_int(node, "storage_order", 0);
  if (storage_order != 0 && storage_order != 1)
    return c8_node_error(node, CALIB8_MALFORMED_MODEL, "storage_order %lld is not 0 or 1", (long long)storage_order);
  float p = 2.0f;
  if (kind == POOL_LP) {
    /* LpPool-1 had a float p; LpPool-2 and later an int. */
    const c8_attr *pa = c8_node_attr(node, "p");
    if (pa) p = pa->type == C8_ATTR_FLOAT ? pa->f : (float)pa->i;
    if (!(p > 0.0f)) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "p %g must be positive", (double)p);
  }

  int64_t geo[3][7]; /* in, out, k, s, d, pb, pe */
  for (int i = 0; i < 3; i++) {
    geo[i][0] = geo[i][1] = geo[i][2] = geo[i][3] = geo[i][4] = 1;
    geo[i][5] = geo[i][6] = 0;
  }
  for (int i = 0; i < nsp; i++) {
    int64_t *g = geo[3 - nsp + i];
    int64_t n = x->dims[2 + i], kk = ks[i], s = ss ? ss[i] : 1, d = ds ? ds[i] : 1;
    int64_t pb = ps && mode == 0 ? ps[i] : 0, pe = ps && mode == 0 ? ps[nsp + i] : 0;
    if (kk < 1 || s < 1 || d < 1)
      return c8_node_error(node, CALIB8_MALFORMED_MODEL,
                           "spatial dimension %d has kernel %lld, stride %lld, dilation %lld; all must be >= 1", i,
                           (long long)kk, (long long)s, (long long)d);
    if (pb < 0 || pe < 0)
      return c8_node_error(node, CALIB8_MALFORMED_MODEL, "pads must not be negative (dimension %d has %lld, %lld)", i,
                           (long long)pb, (long long)pe);
    int64_t ext = (kk - 1) * d + 1, o;
    if (mode == 1 || mode == 2) {
      o = ceil_div(n, s);
      int64_t total = (o - 1) * s + ext - n;
      if (total < 0) total = 0;
      pb = mode == 1 ? total / 2 : total - total / 2;
      pe = total - pb;
    } else {
      int64_t span = n + pb + pe - ext;
      if (span < 0)
        return c8_node_error(node, CALIB8_INVALID_ARGUMENT,
                             "spatial dimension %d of input 0 is %lld with pads %lld+%lld, smaller than the kernel "
                             "extent %lld",
                             i, (long long)n, (long long)pb, (long long)pe, (long long)ext);
      o = (ceil_mode ? ceil_div(span, s) : span / s) + 1;
      if (ceil_mode && (o - 1) * s >= n + pb) o--;
    }
    g[0] = n, g[1] = o, g[2] = kk, g[3] = s, g[4] = d, g[5] = pb, g[6] = pe;
  }

  int64_t ntap = geo[0][1] + geo[1][1] + geo[2][1];
  pool_state *ps_ = c8_malloc(sizeof *ps_ + sizeof(pool_tap) * (size_t)(ntap ? ntap : 1));
  if (!ps_) return c8_node_error(node, CALIB8_OUT_OF_MEMORY, "out of memory");
  memset(ps_, 0, sizeof *ps_);
  pool_tap *t = (pool_tap *)(ps_ + 1);
  ps_->kind = kind;
  ps_->dtype = x->dtype;
  ps_->include_pad = c8_attr_int(node, "count_include_pad", 0) != 0;
  ps_->col_major = storage_order == 1;
  ps_->p = p;
  ps_->nc = x->dims[0] * x->dims[1];
  for (int i = 0; i < 3; i++) {
    const int64_t *g = geo[i];
    ps_->in[i] = g[0], ps_->out[i] = g[1], ps_->k[i] = g[2], ps_->s[i] = g[3], ps_->d[i] = g[4];
    ps_->tap[i] = t;
    int64_t n = g[0], kk = g[2], s = g[3], d = g[4], pb = g[5], pe = g[6];
    for (int64_t o = 0; o < g[1]; o++, t++) {
      int64_t start = o * s - pb;
      int64_t lo = start < 0 ? ceil_div(-start, d) : 0;
      int64_t hi = n - 1 - start >= 0 ? floor_div(n - 1 - start, d) + 1 : 0;
      if (hi > kk) hi = kk;
      if (hi < lo) hi = lo;
      /* taps with -pb <= start + j*d < n + pe */
      int64_t plo = start < -pb ? ceil_div(-pb - start, d) : 0;
      int64_t phi = n + pe - 1 - start >= 0 ? floor_div(n + pe - 1 - start, d) + 1 : 0;
      if (phi > kk) phi = kk;
      t->lo = lo, t->hi = hi, t->start = start, t->cnt_pad = phi > plo ? phi - plo : 0;
    }
  }
  /* Interior of the last dimension: outputs with every tap valid (a contiguous range). */
  ps_->ilo = ps_->out[2], ps_->ihi = ps_->out[2];
  for (int64_t o = 0; o < ps_->out[2]; o++) {
    const pool_tap *q = &ps_->tap[2][o];
    if (q->lo == 0 && q->hi == ps_->k[2]) {
      if (ps_->ilo == ps_->out[2]) ps_->ilo = o;
      ps_->ihi = o + 1;
    }
  }
  ps_->pbw = geo[2][5];
  k->state = ps_;
  /* one input row per thread */
  k->scratch_bytes = (sizeof(float) * (size_t)ps_->in[2] + 63) / 64 * 64 * (size_t)c8_threadpool_size(k->pool);

  out[0]->dtype = x->dtype;
  out[0]->rank = x->rank;
  out[0]->dims[0] = x->dims[0];
  out[0]->dims[1] = x->dims[1];
  for (int i = 0; i < nsp; i++) out[0]->dims[2 + i] = geo[3 - nsp + i][1];
  if (n_out > 1 && out[1]) {
    if (kind != POOL_MAX) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "has %d outputs, expected 1", n_out);
    out[1]->dtype = CALIB8_INT64;
    out[1]->rank = out[0]->rank;
    memcpy(out[1]->dims, out[0]->dims, sizeof out[1]->dims);
  }
  if (n_out > 2) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "has %d outputs, expected 1 or 2", n_out);
  return CALIB8_OK;
}

static c8_status maxpool_prepare(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out) {
  return pool_prepare_kind(k, in, n_in, out, n_out, POOL_MAX);
}
static c8_status avgpool_prepare(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out) {
  return pool_prepare_kind(k, in, n_in, out, n_out, POOL_AVG);
}
static c8_status lppool_prepare(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out) {
  return pool_prepare_kind(k, in, n_in, out, n_out, POOL_LP);
}

/* Pools one row along the last dimension into yr: the borders tap by tap within their valid range, the
 * interior tap-major across the row (vectorizable). `first` stores, otherwise combines with yr. */
#define DEFINE_HPASS(NAME, T, LOWEST, COMBINE)                                               \
  static inline void NAME(const pool_state *ps, const T *src, T *yr, bool first) {           \
    const int64_t OW = ps->out[2], sw = ps->s[2], dw = ps->d[2], KW = ps->k[2];              \
    const int64_t ilo = ps->ilo, ihi = ps->ihi, pw = ps->pbw;                                \
    const pool_tap *tw = ps->tap[2];                                                         \
    for (int64_t ow = 0; ow < OW; ow++) {                                                    \
      if (ow == ilo) ow = ihi;                                                               \
      if (ow >= OW) break;                                                                   \
      T m = first ? LOWEST : yr[ow];                                                         \
      for (int64_t kw = tw[ow].lo; kw < tw[ow].hi; kw++) {                                   \
        T v = src[tw[ow].start + kw * dw];                                                   \
        m = COMBINE(m, v);                                                                   \
      }                                                                                      \
      yr[ow] = m;                                                                            \
    }                                                                                        \
    if (ilo >= ihi) return;                                                                  \
    int64_t kw0 = 0;                                                                         \
    if (first) {                                                                             \
      for (int64_t ow = ilo; ow < ihi; ow++) yr[ow] = src[ow * sw - pw];                     \
      kw0 = 1;                                                                               \
    }                                                                                        \
    for (int64_t kw = kw0; kw < KW; kw++) {                                                  \
      const int64_t off = kw * dw - pw;                                                      \
      if (sw == 1)                                                                           \
        for (int64_t ow = ilo; ow < ihi; ow++) yr[ow] = COMBINE(yr[ow], src[ow + off]);      \
      else                                                                                   \
        for (int64_t ow = ilo; ow < ihi; ow++) yr[ow] = COMBINE(yr[ow], src[ow * sw + off]); \
    }                                                                                        \
  }

#define MAX_OF(a, b) ((b) > (a) ? (b) : (a))
#define SUM_OF(a, b) ((a) + (b))

/* Max pooling without indices. An output row combines its valid (kd, kh) input rows: with one or two rows
 * each is pooled along the row directly; with more, the rows are first reduced element-wise into tmp
 * (contiguous, vectorizable) and tmp is pooled once, so a 5x5 window costs 5 + 5 operations per output
 * instead of 25. Max is exact in any order. */
#define DEFINE_MAXPOOL_ROWS(NAME, T, LOWEST)                                                       \
  DEFINE_HPASS(NAME##_h, T, LOWEST, MAX_OF)                                                        \
  static void NAME(const pool_state *ps, const T *X, T *Y, T *tmp, int64_t nc) {                   \
    const int64_t D = ps->in[0], H = ps->in[1], W = ps->in[2];                                     \
    const int64_t OD = ps->out[0], OH = ps->out[1], OW = ps->out[2];                               \
    for (int64_t c = 0; c < nc; c++) {                                                             \
      const T *x = X + c * D * H * W;                                                              \
      T *y = Y + c * OD * OH * OW;                                                                 \
      for (int64_t od = 0; od < OD; od++) {                                                        \
        const pool_tap *td = &ps->tap[0][od];                                                      \
        for (int64_t oh = 0; oh < OH; oh++) {                                                      \
          const pool_tap *th = &ps->tap[1][oh];                                                    \
          T *yr = y + (od * OH + oh) * OW;                                                         \
          const int64_t nrows = (td->hi - td->lo) * (th->hi - th->lo);                             \
          if (nrows == 0) { /* the window misses the input in depth or height */                   \
            for (int64_t ow = 0; ow < OW; ow++) yr[ow] = LOWEST;                                   \
            continue;                                                                              \
          }                                                                                        \
          int64_t r = 0;                                                                           \
          for (int64_t kd = td->lo; kd < td->hi; kd++)                                             \
            for (int64_t kh = th->lo; kh < th->hi; kh++, r++) {                                    \
              const T *xr = x + ((td->start + kd * ps->d[0]) * H + th->start + kh * ps->d[1]) * W; \
              if (nrows <= 2) {                                                                    \
                NAME##_h(ps, xr, yr, r == 0);                                                      \
              } else if (r == 0) {                                                                 \
                for (int64_t w = 0; w < W; w++) tmp[w] = xr[w];                                    \
              } else {                                                                             \
                for (int64_t w = 0; w < W; w++) tmp[w] = MAX_OF(tmp[w], xr[w]);                    \
              }                                                                                    \
            }                                                                                      \
          if (nrows > 2) NAME##_h(ps, tmp, yr, true);                                              \
        }                                                                                          \
      }                                                                                            \
    }                                                                                              \
  }

DEFINE_MAXPOOL_ROWS(maxpool_rows_f32, float, -INFINITY)
DEFINE_MAXPOOL_ROWS(maxpool_rows_u8, uint8_t, 0)
DEFINE_MAXPOOL_ROWS(maxpool_rows_s8, int8_t, -128)
DEFINE_HPASS(sum_h_f32, float, 0.0f, SUM_OF)

/* Max pooling with the Indices output: the first maximum in window order (row-major over the taps),
 * as a flat index into X without padding; storage_order 1 numbers the spatial part column-major. */
#define DEFINE_MAXPOOL_INDICES(NAME, T)                                                         \
  static void NAME(const pool_state *ps, const T *X, T *Y, int64_t *I) {                        \
    const int64_t D = ps->in[0], H = ps->in[1], W = ps->in[2];                                  \
    const int64_t OD = ps->out[0], OH = ps->out[1], OW = ps->out[2];                            \
    for (int64_t c = 0; c < ps->nc; c++) {                                                      \
      const T *x = X + c * D * H * W;                                                           \
      for (int64_t od = 0; od < OD; od++) {                                                     \
        const pool_tap *td = &ps->tap[0][od];                                                   \
        for (int64_t oh = 0; oh < OH; oh++) {                                                   \
          const pool_tap *th = &ps->tap[1][oh];                                                 \
          for (int64_t ow = 0; ow < OW; ow++) {                                                 \
            const pool_tap *tw = &ps->tap[2][ow];                                               \
            T best = 0;                                                                         \
            int64_t bi = -1, bd = 0, bh = 0, bw = 0;                                            \
            for (int64_t kd = td->lo; kd < td->hi; kd++)                                        \
              for (int64_t kh = th->lo; kh < th->hi; kh++)                                      \
                for (int64_t kw = tw->lo; kw < tw->hi; kw++) {                                  \
                  int64_t id = td->start + kd * ps->d[0], ih = th->start + kh * ps->d[1],       \
                          iw = tw->start + kw * ps->d[2];                                       \
                  int64_t ii = (id * H + ih) * W + iw;                                          \
                  if (bi < 0 || x[ii] > best) best = x[ii], bi = ii, bd = id, bh = ih, bw = iw; \
                }                                                                               \
            int64_t oi = c * OD * OH * OW + (od * OH + oh) * OW + ow;                           \
            Y[oi] = best;                                                                       \
            if (bi < 0)                                                                         \
              I[oi] = -1;                                                                       \
            else                                                                                \
              I[oi] = c * D * H * W + (ps->col_major ? bd + D * (bh + H * bw) : bi);            \
          }                                                                                     \
        }                                                                                       \
      }                                                                                         \
    }                                                                                           \
  }

DEFINE_MAXPOOL_INDICES(maxpool_idx_f32, float)
DEFINE_MAXPOOL_INDICES(maxpool_idx_u8, uint8_t)
DEFINE_MAXPOOL_INDICES(maxpool_idx_s8, int8_t)

static inline float lp_term(float v, float p) {
  if (p == 2.0f) return v * v;
  if (p == 1.0f) return fabsf(v);
  return powf(fabsf(v), p);
}

/* Average and Lp pooling (float32), rows combined as for max pooling: with one or two valid (kd, kh) rows
 * each is summed along the row directly, with more the rows are summed into tmp first (Lp always goes
 * through tmp, which holds |x|^p). Then a per-output division or root. The order of the additions depends
 * only on the geometry, so results are identical from run to run. */
static void sumpool_rows_f32(const pool_state *ps, const float *X, float *Y, float *tmp, int64_t nc) {
  const int64_t D = ps->in[0], H = ps->in[1], W = ps->in[2];
  const int64_t OD = ps->out[0], OH = ps->out[1], OW = ps->out[2];
  const pool_tap *tw = ps->tap[2];
  const bool lp = ps->kind == POOL_LP;
  const float p = ps->p;
  for (int64_t c = 0; c < nc; c++) {
    const float *x = X + c * D * H * W;
    float *y = Y + c * OD * OH * OW;
    for (int64_t od = 0; od < OD; od++) {
      const pool_tap *td = &ps->tap[0][od];
      for (int64_t oh = 0; oh < OH; oh++) {
        const pool_tap *th = &ps->tap[1][oh];
        float *yr = y + (od * OH + oh) * OW;
        const int64_t nrows = (td->hi - td->lo) * (th->hi - th->lo);
        const bool direct = nrows <= 2 && !lp;
        int64_t r = 0;
        for (int64_t kd = td->lo; kd < td->hi; kd++)
          for (int64_t kh = th->lo; kh < th->hi; kh++, r++) {
            const float *xr = x + ((td->start + kd * ps->d[0]) * H + th->start + kh * ps->d[1]) * W;
            if (direct) {
              sum_h_f32(ps, xr, yr, r == 0);
            } else if (lp) {
              if (r == 0)
                for (int64_t w = 0; w < W; w++) tmp[w] = lp_term(xr[w], p);
              else if (p == 2.0f)
                for (int64_t w = 0; w < W; w++) tmp[w] += xr[w] * xr[w];
              else
                for (int64_t w = 0; w < W; w++) tmp[w] += lp_term(xr[w], p);
            } else if (r == 0) {
              for (int64_t w = 0; w < W; w++) tmp[w] = xr[w];
            } else {
              for (int64_t w = 0; w < W; w++) tmp[w] += xr[w];
            }
          }
        if (nrows == 0)
          for (int64_t ow = 0; ow < OW; ow++) yr[ow] = 0.0f;
        else if (!direct)
          sum_h_f32(ps, tmp, yr, true);
        if (lp) {
          for (int64_t ow = 0; ow < OW; ow++)
            yr[ow] = p == 2.0f ? sqrtf(yr[ow]) : p == 1.0f ? yr[ow] : powf(yr[ow], 1.0f / p);
        } else if (ps->include_pad) {
          int64_t cdh = td->cnt_pad * th->cnt_pad;
          for (int64_t ow = 0; ow < OW; ow++) {
            int64_t n = cdh * tw[ow].cnt_pad;
            yr[ow] = n ? yr[ow] / (float)n : 0.0f;
          }
        } else {
          for (int64_t ow = 0; ow < OW; ow++) {
            int64_t n = nrows * (tw[ow].hi - tw[ow].lo);
            yr[ow] = n ? yr[ow] / (float)n : 0.0f;
          }
        }
      }
    }
  }
}

/* 2x2 max pooling with stride 2 and no padding (LeNet's, VGG's): two input rows combined element-wise,
   then adjacent pairs; AVX-512 takes 16 outputs per step with an even/odd permute. */
static void max2x2_f32(const pool_state *ps, const float *X, float *Y, int64_t nc) {
  const int64_t H = ps->in[1], W = ps->in[2], OH = ps->out[1], OW = ps->out[2];
  for (int64_t c = 0; c < nc; c++)
    for (int64_t oh = 0; oh < OH; oh++) {
      const float *x0 = X + (c * H + 2 * oh) * W, *x1 = x0 + W;
      float *y = Y + (c * OH + oh) * OW;
      for (int64_t ow = 0; ow < OW; ow++) {
        const float a = MAX_OF(x0[2 * ow], x0[2 * ow + 1]), b = MAX_OF(x1[2 * ow], x1[2 * ow + 1]);
        y[ow] = MAX_OF(a, b);
      }
    }
}
#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#define HAVE_MAX2X2_AVX512 1
__attribute__((target("avx512f"))) static void max2x2_f32_avx512(const pool_state *ps, const float *X, float *Y,
                                                                int64_t nc) {
  const int64_t H = ps->in[1], W = ps->in[2], OH = ps->out[1], OW = ps->out[2];
  const __m512i ev = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i od = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
  for (int64_t c = 0; c < nc; c++)
    for (int64_t oh = 0; oh < OH; oh++) {
      const float *x0 = X + (c * H + 2 * oh) * W, *x1 = x0 + W;
      float *y = Y + (c * OH + oh) * OW;
      for (int64_t ow = 0; ow < OW; ow += 16) {
        const int64_t m = OW - ow < 16 ? OW - ow : 16, need = 2 * m; /* inputs read from 2*ow */
        const __mmask16 lo = (__mmask16)(need >= 16 ? 0xffff : (1u << need) - 1);
        const __mmask16 hi = (__mmask16)(need >= 32 ? 0xffff : need <= 16 ? 0 : (1u << (need - 16)) - 1);
        /* rows first (same combination as MAX_OF: b > a ? b : a), then pairs */
        const __m512 a0 = _mm512_maskz_loadu_ps(lo, x0 + 2 * ow), a1 = _mm512_maskz_loadu_ps(hi, x0 + 2 * ow + 16);
        const __m512 b0 = _mm512_maskz_loadu_ps(lo, x1 + 2 * ow), b1 = _mm512_maskz_loadu_ps(hi, x1 + 2 * ow + 16);
        const __m512 e0 = _mm512_permutex2var_ps(a0, ev, a1), o0 = _mm512_permutex2var_ps(a0, od, a1);
        const __m512 e1 = _mm512_permutex2var_ps(b0, ev, b1), o1 = _mm512_permutex2var_ps(b0, od, b1);
        const __m512 ra = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(o0, e0, _CMP_GT_OQ), e0, o0);
        const __m512 rb = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(o1, e1, _CMP_GT_OQ), e1, o1);
        const __m512 r = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(rb, ra, _CMP_GT_OQ), ra, rb);
        _mm512_mask_storeu_ps(y + ow, (__mmask16)((1u << m) - 1), r);
      }
    }
}
#endif

typedef struct pool_job {
  const pool_state *ps;
  const void *x;
  void *y;
  unsigned char *scratch;
  size_t tmp_bytes, es;
  bool fast2x2;
} pool_job;

/* Planes [c0, c1) (each thread with its own row buffer). */
static void pool_range(void *vjob, int64_t c0, int64_t c1, int thread) {
  const pool_job *j = vjob;
  const pool_state *ps = j->ps;
  const int64_t in_plane = ps->in[0] * ps->in[1] * ps->in[2], out_plane = ps->out[0] * ps->out[1] * ps->out[2];
  const void *x = (const char *)j->x + (size_t)(c0 * in_plane) * j->es;
  void *y = (char *)j->y + (size_t)(c0 * out_plane) * j->es;
  void *tmp = j->scratch + (size_t)thread * j->tmp_bytes;
  const int64_t nc = c1 - c0;
  if (j->fast2x2) {
#ifdef HAVE_MAX2X2_AVX512
    if (c8_cpu_isa() >= C8_ISA_AVX512) {
      max2x2_f32_avx512(ps, x, y, nc);
      return;
    }
#endif
    max2x2_f32(ps, x, y, nc);
  } else if (ps->kind != POOL_MAX) {
    sumpool_rows_f32(ps, x, y, tmp, nc);
  } else if (ps->dtype == CALIB8_FLOAT) {
    maxpool_rows_f32(ps, x, y, tmp, nc);
  } else if (ps->dtype == CALIB8_UINT8) {
    maxpool_rows_u8(ps, x, y, tmp, nc);
  } else {
    maxpool_rows_s8(ps, x, y, tmp, nc);
  }
}

static c8_status pool_run(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out,
                          void *scratch) {
  (void)n_in;
  const pool_state *ps = k->state;
  const void *x = in[0]->data;
  void *y = out[0]->data;
  int64_t *idx = n_out > 1 && out[1] ? out[1]->data : NULL;
  if (idx) {
    if (ps->dtype == CALIB8_FLOAT)
      maxpool_idx_f32(ps, x, y, idx);
    else if (ps->dtype == CALIB8_UINT8)
      maxpool_idx_u8(ps, x, y, idx);
    else
      maxpool_idx_s8(ps, x, y, idx);
    return CALIB8_OK;
  }
  pool_job j = {.ps = ps, .x = x, .y = y, .scratch = scratch, .es = calib8_dtype_size(ps->dtype)};
  j.tmp_bytes = (sizeof(float) * (size_t)ps->in[2] + 63) / 64 * 64;
  j.fast2x2 = ps->kind == POOL_MAX && ps->dtype == CALIB8_FLOAT && ps->in[0] == 1 && ps->k[0] == 1 && ps->k[1] == 2 &&
              ps->k[2] == 2 && ps->s[1] == 2 && ps->s[2] == 2 && ps->d[1] == 1 && ps->d[2] == 1 &&
              ps->out[1] * 2 <= ps->in[1] && ps->out[2] * 2 <= ps->in[2] && ps->tap[1][0].start == 0 &&
              ps->tap[2][0].start == 0 && ps->out[0] == 1 && ps->tap[1][ps->out[1] - 1].hi == 2 &&
              ps->tap[2][ps->out[2] - 1].hi == 2;
  const int64_t in_plane = ps->in[0] * ps->in[1] * ps->in[2];
  /* planes in chunks of at least ~16K input elements */
  const int64_t grain = in_plane >= 16384 ? 1 : 16384 / (in_plane ? in_plane : 1);
  c8_parallel_for(ps->nc * in_plane < 65536 ? NULL : k->pool, ps->nc, grain, pool_range, &j);
  return CALIB8_OK;
}

/* MaxPool selects among its input's values: its output shares the input's scale (exact in ONNX Runtime's
   integer MaxPool), and max(x / s) = max(x) / s lets cross-layer equalization scale through it. */
const c8_op_def c8_op_maxpool = {
    .name = "MaxPool", .domain = "", .prepare = maxpool_prepare, .run = pool_run,
    .qrole = C8_QROLE_SHARES_SCALE, .values = C8_VALUES_COMPUTED, .batch = C8_BATCH_FIRST_AXIS,
    .fuse = C8_FUSE_NONE, .homogeneous = true};
const c8_op_def c8_op_averagepool = {
    .name = "AveragePool", .domain = "", .prepare = avgpool_prepare, .run = pool_run,
    .qrole = C8_QROLE_NONE, .values = C8_VALUES_COMPUTED, .batch = C8_BATCH_FIRST_AXIS, .fuse = C8_FUSE_NONE};
const c8_op_def c8_op_lppool = {
    .name = "LpPool", .domain = "", .prepare = lppool_prepare, .run = pool_run,
    .qrole = C8_QROLE_NONE, .values = C8_VALUES_COMPUTED, .batch = C8_BATCH_FIRST_AXIS, .fuse = C8_FUSE_NONE};

/* ---- Global pooling: one reduction over the contiguous spatial block of every (n, c). ---- */

typedef struct {
  int kind;
  float p;
  int64_t nc, n;
} gpool_state;

static c8_status gpool_prepare_kind(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out,
                                    int kind) {
  const c8_node *node = k->node;
  c8_status st = c8_check_inputs(node, n_in, 1, 1);
  if (st) return st;
  if (n_out != 1) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "has %d outputs, expected 1", n_out);
  const c8_tensor *x = in[0];
  if (!x) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "input 0 is missing");
  if ((st = c8_check_dtype(node, x, 0, CALIB8_FLOAT))) return st;
  if (x->rank < 3)
    return c8_node_error(node, CALIB8_INVALID_ARGUMENT, "input 0 has shape %s, expected rank >= 3 (N x C x D1 ...)",
                         C8_SHAPE_STR(x));
  gpool_state *s = c8_malloc(sizeof *s);
  if (!s) return c8_node_error(node, CALIB8_OUT_OF_MEMORY, "out of memory");
  s->kind = kind;
  s->p = 2.0f;
  if (kind == POOL_LP) {
    const c8_attr *pa = c8_node_attr(node, "p");
    if (pa) s->p = pa->type == C8_ATTR_FLOAT ? pa->f : (float)pa->i;
    if (!(s->p > 0.0f)) {
      c8_mfree(s);
      return c8_node_error(node, CALIB8_MALFORMED_MODEL, "p must be positive");
    }
  }
  s->nc = x->dims[0] * x->dims[1];
  s->n = 1;
  for (int i = 2; i < x->rank; i++) s->n *= x->dims[i];
  k->state = s;
  out[0]->dtype = x->dtype;
  out[0]->rank = x->rank;
  out[0]->dims[0] = x->dims[0];
  out[0]->dims[1] = x->dims[1];
  for (int i = 2; i < x->rank; i++) out[0]->dims[i] = 1;
  return CALIB8_OK;
}

static c8_status gavg_prepare(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out) {
  return gpool_prepare_kind(k, in, n_in, out, n_out, POOL_AVG);
}
static c8_status gmax_prepare(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out) {
  return gpool_prepare_kind(k, in, n_in, out, n_out, POOL_MAX);
}
static c8_status glp_prepare(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out) {
  return gpool_prepare_kind(k, in, n_in, out, n_out, POOL_LP);
}

/* Sum of x[0..n) with 8 independent accumulators, combined in a fixed order (deterministic). */
static float sum8_f32(const float *x, int64_t n) {
  float a[8] = {0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; j++) a[j] += x[i + j];
  for (int j = 0; i < n; i++, j++) a[j] += x[i];
  return ((a[0] + a[4]) + (a[1] + a[5])) + ((a[2] + a[6]) + (a[3] + a[7]));
}

static c8_status gpool_run(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out,
                           void *scratch) {
  (void)n_in, (void)n_out, (void)scratch;
  const gpool_state *s = k->state;
  const float *x = in[0]->data;
  float *y = out[0]->data;
  for (int64_t c = 0; c < s->nc; c++) {
    const float *xc = x + c * s->n;
    if (s->kind == POOL_AVG) {
      y[c] = s->n ? sum8_f32(xc, s->n) / (float)s->n : 0.0f;
    } else if (s->kind == POOL_MAX) {
      float m[8];
      for (int j = 0; j < 8; j++) m[j] = -INFINITY;
      int64_t i = 0;
      for (; i + 8 <= s->n; i += 8)
        for (int j = 0; j < 8; j++) m[j] = xc[i + j] > m[j] ? xc[i + j] : m[j];
      for (int j = 0; i < s->n; i++, j++) m[j] = xc[i] > m[j] ? xc[i] : m[j];
      float r = m[0];
      for (int j = 1; j < 8; j++) r = m[j] > r ? m[j] : r;
      y[c] = r;
    } else {
      float a[8] = {0};
      int64_t i = 0;
      for (; i + 8 <= s->n; i += 8)
        for (int j = 0; j < 8; j++) a[j] += lp_term(xc[i + j], s->p);
      for (int j = 0; i < s->n; i++, j++) a[j] += lp_term(xc[i], s->p);
      float r = ((a[0] + a[4]) + (a[1] + a[5])) + ((a[2] + a[6]) + (a[3] + a[7]));
      y[c] = s->p == 2.0f ? sqrtf(r) : s->p == 1.0f ? r : powf(r, 1.0f / s->p);
    }
  }
  return CALIB8_OK;
}

const c8_op_def c8_op_globalaveragepool = {
    .name = "GlobalAveragePool", .domain = "", .prepare = gavg_prepare, .run = gpool_run,
    .qrole = C8_QROLE_CARRIES, .values = C8_VALUES_COMPUTED, .batch = C8_BATCH_FIRST_AXIS, .fuse = C8_FUSE_NONE};
const c8_op_def c8_op_globalmaxpool = {
    .name = "GlobalMaxPool", .domain = "", .prepare = gmax_prepare, .run = gpool_run,
    .qrole = C8_QROLE_NONE, .values = C8_VALUES_COMPUTED, .batch = C8_BATCH_FIRST_AXIS, .fuse = C8_FUSE_NONE};
const c8_op_def c8_op_globallppool = {
    .name = "GlobalLpPool", .domain = "", .prepare = glp_prepare, .run = gpool_run,
    .qrole = C8_QROLE_NONE, .values = C8_VALUES_COMPUTED, .batch = C8_BATCH_FIRST_AXIS, .fuse = C8_FUSE_NONE};
