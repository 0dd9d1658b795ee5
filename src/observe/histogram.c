#include "observe/histogram.h"

#include "kernels/histogram/histogram.h"

#include <math.h>
#include <string.h>

void c8_histogram_init(c8_histogram *h) {
  memset(h, 0, sizeof *h);
  h->exp = INT32_MIN;
  h->min = INFINITY;
  h->max = -INFINITY;
}

/* Doubles the range `times` times by merging adjacent bin pairs around the centre. */
static void grow(c8_histogram *h, int new_exp) {
  if (h->exp == INT32_MIN) {
    h->exp = new_exp;
    return;
  }
  int d = new_exp - h->exp;
  if (d >= 31) {
    /* Everything collapses into the two centre bins. */
    uint64_t neg = 0, pos = 0;
    for (int i = 0; i < C8_HIST_BINS; i++) neg += h->bins[i];
    for (int i = C8_HIST_BINS; i < 2 * C8_HIST_BINS; i++) pos += h->bins[i];
    memset(h->bins, 0, sizeof h->bins);
    h->bins[C8_HIST_BINS - 1] = neg;
    h->bins[C8_HIST_BINS] = pos;
  } else {
    uint64_t nb[2 * C8_HIST_BINS];
    memset(nb, 0, sizeof nb);
    for (int i = 0; i < 2 * C8_HIST_BINS; i++) {
      if (!h->bins[i]) continue;
      /* signed offset from the centre, floor-divided by 2^d (arithmetic shift floors) */
      int64_t off = (int64_t)i - C8_HIST_BINS;
      int64_t no = off >= 0 ? off >> d : -((-off - 1) >> d) - 1;
      nb[no + C8_HIST_BINS] += h->bins[i];
    }
    memcpy(h->bins, nb, sizeof nb);
  }
  h->exp = new_exp;
}

/* Adds one chunk: its extremes first, growing the range when they need it, then its bins. */
static void add_chunk(c8_histogram *h, const float *x, int64_t n, c8_f32_scan_fn scan, c8_f32_bin_fn bin) {
  c8_f32_scan s = {.min = h->min, .max = h->max};
  scan(x, (size_t)n, &s);
  h->nonfinite += (uint64_t)n - s.finite;
  h->count += s.finite;
  h->zeros += s.zeros;
  if (s.finite == 0) return;
  /* +0 and -0 compare equal: report a zero extreme as +0, so the result does not depend on which came first */
  h->min = s.min == 0.0f ? 0.0f : s.min;
  h->max = s.max == 0.0f ? 0.0f : s.max;
  float amax = fmaxf(fabsf(s.min), fabsf(s.max));
  if (amax == 0.0f) return;
  int e;
  frexpf(amax, &e); /* amax = m * 2^e, m in [0.5, 1): amax < 2^e */
  if (h->exp == INT32_MIN || e > h->exp) grow(h, e);
  /* bin = floor(x * 2^(log2(BINS) - exp)) + BINS. Multiplying by a power of two is exact in
     binary floating point (|x| * 2^shift < 2^11 cannot overflow; tiny values may round to a
     subnormal but stay within their bin 0/-1), so the bin does not depend on when x was seen. */
  if (h->exp > -100) {
    bin(x, (size_t)n, ldexpf(1.0f, 11 - h->exp), h->bins); /* C8_HIST_BINS == 2^11 */
    return;
  }
  for (int64_t i = 0; i < n; i++) { /* 2^(11 - exp) does not fit a float: scale in double */
    float v = x[i];
    if (!(v != 0.0f) || !isfinite(v)) continue;
    double y = ldexp((double)v, 11 - h->exp);
    int b = (int)floor(y) + C8_HIST_BINS;
    if (b >= 2 * C8_HIST_BINS) b = 2 * C8_HIST_BINS - 1;
    if (b < 0) b = 0;
    h->bins[b]++;
  }
}

/* One pass over memory: each chunk is scanned and binned while it is in the cache. A chunk that widens
   the range merges the bins so far (exact), so chunking does not change the result. */
void c8_histogram_add(c8_histogram *h, const float *x, int64_t n) {
  static c8_f32_scan_fn scan;
  static c8_f32_bin_fn bin;
  if (!scan) { /* benign race: every thread stores the same pointers */
    bin = c8_f32_bin_select();
    scan = c8_f32_scan_select();
  }
  enum { CHUNK = 8192 }; /* 32 KiB of floats: stays in L1/L2 between the two kernels */
  for (int64_t i = 0; i < n; i += CHUNK) add_chunk(h, x + i, n - i < CHUNK ? n - i : CHUNK, scan, bin);
}

void c8_histogram_merge(c8_histogram *dst, const c8_histogram *src) {
  if (src->exp != INT32_MIN) {
    c8_histogram tmp = *src;
    if (dst->exp == INT32_MIN || tmp.exp > dst->exp) {
      if (dst->exp != INT32_MIN) grow(dst, tmp.exp);
      else dst->exp = tmp.exp;
    } else if (tmp.exp < dst->exp) {
      grow(&tmp, dst->exp);
    }
    for (int i = 0; i < 2 * C8_HIST_BINS; i++) dst->bins[i] += tmp.bins[i];
  }
  if (src->min < dst->min) dst->min = src->min;
  if (src->max > dst->max) dst->max = src->max;
  dst->count += src->count;
  dst->zeros += src->zeros;
  dst->nonfinite += src->nonfinite;
}

double c8_histogram_range(const c8_histogram *h) { return h->exp == INT32_MIN ? 0.0 : ldexp(1.0, h->exp); }

double c8_histogram_abs(const c8_histogram *h, uint64_t out[C8_HIST_BINS]) {
  memset(out, 0, sizeof(uint64_t) * C8_HIST_BINS);
  if (h->exp == INT32_MIN) {
    out[0] = h->zeros;
    return 0.0;
  }
  /* negative bin C8_HIST_BINS-1-j covers [-(j+1)w, -jw): |x| in (jw, (j+1)w] — put it in bin j. */
  for (int j = 0; j < C8_HIST_BINS; j++) out[j] = h->bins[C8_HIST_BINS + j] + h->bins[C8_HIST_BINS - 1 - j];
  out[0] += h->zeros;
  return ldexp(1.0, h->exp) / C8_HIST_BINS;
}
