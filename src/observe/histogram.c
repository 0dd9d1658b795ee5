#include "observe/histogram.h"

#include <math.h>
#include <string.h>

#include "kernels/histogram/histogram.h"

void c8_histogram_init(c8_histogram *h) {
  memset(h, 0, sizeof *h);
  h->exp = h->exp_neg = h->exp_pos = INT32_MIN;
  h->min = INFINITY;
  h->max = -INFINITY;
}

/* side[j], j < C8_HIST_BINS, is bin j counted away from zero (for the negative side, j = BINS - 1 - index).
   Growing the side's range by 2^d maps bin j to j >> d: a value with |x| in bin j at width w is in bin
   floor(j / 2^d) at width w * 2^d. */
static void regrid(const uint64_t *from, int d, uint64_t *to, bool negative) {
  uint64_t tmp[C8_HIST_BINS];
  memset(tmp, 0, sizeof tmp);
  if (d >= 31) d = 31;
  for (int j = 0; j < C8_HIST_BINS; j++) {
    uint64_t c = from[negative ? C8_HIST_BINS - 1 - j : j];
    if (c) tmp[j >> d] += c;
  }
  for (int j = 0; j < C8_HIST_BINS; j++) to[negative ? C8_HIST_BINS - 1 - j : j] = tmp[j];
}

static void grow_side(c8_histogram *h, bool negative, int new_exp) {
  int *e = negative ? &h->exp_neg : &h->exp_pos;
  uint64_t *side = negative ? h->bins : h->bins + C8_HIST_BINS;
  if (*e != INT32_MIN && new_exp > *e) regrid(side, new_exp - *e, side, negative);
  if (*e == INT32_MIN || new_exp > *e) *e = new_exp;
  if (h->exp == INT32_MIN || *e > h->exp) h->exp = *e;
}

static void bin_wide(const float *x, int64_t n, const c8_histogram *h, uint64_t *bins) {
  /* a side whose 2^(11 - exp) does not fit a float: scale in double (exact as well) */
  for (int64_t i = 0; i < n; i++) {
    float v = x[i];
    if (!(v != 0.0f) || !isfinite(v)) continue;
    int b = (int)floor(ldexp((double)v, 11 - (v < 0 ? h->exp_neg : h->exp_pos))) + C8_HIST_BINS;
    if (v < 0) b = b < 0 ? 0 : b > C8_HIST_BINS - 1 ? C8_HIST_BINS - 1 : b;
    else b = b < C8_HIST_BINS ? C8_HIST_BINS : b > 2 * C8_HIST_BINS - 1 ? 2 * C8_HIST_BINS - 1 : b;
    bins[b]++;
  }
}

/* The side scales 2^(11 - exp) (C8_HIST_BINS == 2^11); false when a side's does not fit a float. An empty
   side gets 0: a value of that sign is out of range anyway. */
static bool side_scales(const c8_histogram *h, float *sneg, float *spos) {
  if ((h->exp_neg != INT32_MIN && h->exp_neg <= -100) || (h->exp_pos != INT32_MIN && h->exp_pos <= -100)) return false;
  *sneg = h->exp_neg == INT32_MIN ? 0.0f : ldexpf(1.0f, 11 - h->exp_neg);
  *spos = h->exp_pos == INT32_MIN ? 0.0f : ldexpf(1.0f, 11 - h->exp_pos);
  return true;
}

/* Whether the extremes fit the current ranges: |min| < 2^exp_neg and max < 2^exp_pos. */
static bool in_range(const c8_histogram *h, float mn, float mx) {
  int e;
  if (mn < 0.0f && (h->exp_neg == INT32_MIN || (frexpf(-mn, &e), e > h->exp_neg))) return false;
  if (mx > 0.0f && (h->exp_pos == INT32_MIN || (frexpf(mx, &e), e > h->exp_pos))) return false;
  return true;
}

typedef struct kernels {
  c8_f32_scan_fn scan;
  c8_f32_bin_fn bin;
  c8_f32_scan_bin_fn scan_bin; /* NULL: two passes */
} kernels;

/* Adds one chunk. In the steady state (the ranges already hold it) one pass scans and bins it; otherwise
   the chunk's extremes come first, a side's range grows when they need it, then the chunk is binned. */
static void add_chunk(c8_histogram *h, const float *x, int64_t n, const kernels *k) {
  c8_f32_scan s = {.min = h->min, .max = h->max};
  float sneg, spos;
  bool binned = false;
  if (k->scan_bin && h->exp != INT32_MIN && side_scales(h, &sneg, &spos)) {
    k->scan_bin(x, (size_t)n, sneg, spos, h->bins, &s);
    binned = in_range(h, s.min, s.max);
    if (!binned) { /* the range grows: take the chunk's increments back (exact), then bin it again below */
      uint64_t undo[2 * C8_HIST_BINS];
      memset(undo, 0, sizeof undo);
      k->bin(x, (size_t)n, sneg, spos, undo);
      for (int j = 0; j < 2 * C8_HIST_BINS; j++) h->bins[j] -= undo[j];
    }
  } else {
    k->scan(x, (size_t)n, &s);
  }
  uint64_t nonfinite = (uint64_t)n - s.finite;
  h->nonfinite += nonfinite;
  if (nonfinite)
    for (int64_t i = 0; i < n; i++) h->neg_inf += isinf(x[i]) && x[i] < 0;
  h->count += s.finite;
  h->zeros += s.zeros;
  if (s.finite == 0) return;
  /* +0 and -0 compare equal: report a zero extreme as +0, so the result does not depend on which came first */
  h->min = s.min == 0.0f ? 0.0f : s.min;
  h->max = s.max == 0.0f ? 0.0f : s.max;
  if (binned) return;
  int e;
  if (s.min < 0.0f) {
    frexpf(-s.min, &e); /* |min| = m * 2^e, m in [0.5, 1): |min| < 2^e */
    grow_side(h, true, e);
  }
  if (s.max > 0.0f) {
    frexpf(s.max, &e);
    grow_side(h, false, e);
  }
  if (h->exp == INT32_MIN) return; /* only zeros so far */
  /* bin = floor(x * 2^(log2(BINS) - exp_side)) + BINS. Multiplying by a power of two is exact in binary
     floating point (|x| * 2^shift < 2^11 cannot overflow), so the bin does not depend on when x was seen. */
  if (side_scales(h, &sneg, &spos)) k->bin(x, (size_t)n, sneg, spos, h->bins);
  else bin_wide(x, n, h, h->bins);
}

/* Chunks of the tensor are scanned and binned while they are in the cache. A chunk that widens a range
   merges the bins so far (exact), so chunking does not change the result. */
void c8_histogram_add(c8_histogram *h, const float *x, int64_t n) {
  static kernels k;
  if (!k.scan) { /* benign race: every thread stores the same pointers */
    k.bin = c8_f32_bin_select();
    k.scan_bin = c8_f32_scan_bin_select();
    k.scan = c8_f32_scan_select();
  }
  enum { CHUNK = 8192 }; /* 32 KiB of floats */
  for (int64_t i = 0; i < n; i += CHUNK) add_chunk(h, x + i, n - i < CHUNK ? n - i : CHUNK, &k);
}

void c8_histogram_merge(c8_histogram *dst, const c8_histogram *src) {
  for (int side = 0; side < 2; side++) {
    bool negative = side == 0;
    int se = negative ? src->exp_neg : src->exp_pos;
    if (se == INT32_MIN) continue;
    int de = negative ? dst->exp_neg : dst->exp_pos;
    if (de == INT32_MIN || se > de) grow_side(dst, negative, se);
    de = negative ? dst->exp_neg : dst->exp_pos;
    uint64_t tmp[C8_HIST_BINS];
    const uint64_t *from = src->bins + (negative ? 0 : C8_HIST_BINS);
    if (se < de) {
      regrid(from, de - se, tmp, negative);
      from = tmp;
    }
    uint64_t *to = dst->bins + (negative ? 0 : C8_HIST_BINS);
    for (int j = 0; j < C8_HIST_BINS; j++) to[j] += from[j];
  }
  if (src->min < dst->min) dst->min = src->min;
  if (src->max > dst->max) dst->max = src->max;
  dst->count += src->count;
  dst->zeros += src->zeros;
  dst->nonfinite += src->nonfinite;
  dst->neg_inf += src->neg_inf;
}

void c8_histogram_relu_of(c8_histogram *dst, const c8_histogram *src) {
  c8_histogram_init(dst);
  uint64_t negatives = 0;
  for (int j = 0; j < C8_HIST_BINS; j++) negatives += src->bins[j];
  memcpy(dst->bins + C8_HIST_BINS, src->bins + C8_HIST_BINS, sizeof(uint64_t) * C8_HIST_BINS);
  dst->exp = dst->exp_pos = src->exp_pos;
  dst->count = src->count + src->neg_inf;
  dst->zeros = src->zeros + negatives + src->neg_inf;
  dst->nonfinite = src->nonfinite - src->neg_inf;
  if (dst->count) {
    dst->max = src->count && src->max > 0.0f ? src->max : 0.0f;
    dst->min = dst->zeros ? 0.0f : src->min; /* no zero and no negative: every value is positive */
  }
}

double c8_histogram_range(const c8_histogram *h) { return h->exp == INT32_MIN ? 0.0 : ldexp(1.0, h->exp); }

double c8_histogram_signed(const c8_histogram *h, uint64_t out[2 * C8_HIST_BINS]) {
  memset(out, 0, sizeof(uint64_t) * 2 * C8_HIST_BINS);
  if (h->exp == INT32_MIN) return 0.0;
  if (h->exp_neg != INT32_MIN) regrid(h->bins, h->exp - h->exp_neg, out, true);
  if (h->exp_pos != INT32_MIN) regrid(h->bins + C8_HIST_BINS, h->exp - h->exp_pos, out + C8_HIST_BINS, false);
  return ldexp(1.0, h->exp) / C8_HIST_BINS;
}

double c8_histogram_abs(const c8_histogram *h, uint64_t out[C8_HIST_BINS]) {
  uint64_t s[2 * C8_HIST_BINS];
  double w = c8_histogram_signed(h, s);
  if (w == 0.0) {
    memset(out, 0, sizeof(uint64_t) * C8_HIST_BINS);
    out[0] = h->zeros;
    return 0.0;
  }
  /* negative bin C8_HIST_BINS-1-j covers [-(j+1)w, -jw): |x| in (jw, (j+1)w] — put it in bin j. */
  for (int j = 0; j < C8_HIST_BINS; j++) out[j] = s[C8_HIST_BINS + j] + s[C8_HIST_BINS - 1 - j];
  out[0] += h->zeros;
  return w;
}
