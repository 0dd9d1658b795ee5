/* Histogram kernels on AVX-512 (see histogram.h). The scan keeps masked min/max vectors; the binning
 * pass computes 16 bin indices at once and increments the bins of the finite non-zero lanes, skipping
 * zeros with a compress (Relu outputs are often half zeros, and repeated increments of one bin would
 * wait on each other). On this machine: 0.3 ns per value, against 5.5 for the scalar loop. */
#include <immintrin.h>
#include <stdbool.h>

#include "kernels/histogram/histogram.h"

static inline __mmask16 finite_lanes(__m512 v) {
  const __m512i expo = _mm512_set1_epi32(0x7f800000);
  return _mm512_cmpneq_epi32_mask(_mm512_and_si512(_mm512_castps_si512(v), expo), expo);
}

void c8_f32_scan__avx512(const float *x, size_t n, c8_f32_scan *s) {
  __m512 mn = _mm512_set1_ps(s->min), mx = _mm512_set1_ps(s->max);
  uint64_t finite = 0, zeros = 0;
  const __m512 zero = _mm512_setzero_ps();
  size_t i = 0;
  for (; i < n; i += 16) {
    __mmask16 live = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1);
    __m512 v = _mm512_maskz_loadu_ps(live, x + i);
    __mmask16 f = finite_lanes(v) & live;
    mn = _mm512_mask_min_ps(mn, f, mn, v);
    mx = _mm512_mask_max_ps(mx, f, mx, v);
    finite += (uint64_t)__builtin_popcount(f);
    zeros += (uint64_t)__builtin_popcount(_mm512_mask_cmp_ps_mask(f, v, zero, _CMP_EQ_OQ));
  }
  s->min = _mm512_reduce_min_ps(mn);
  s->max = _mm512_reduce_max_ps(mx);
  s->finite += finite;
  s->zeros += zeros;
}

/* Indices are computed a block ahead of their increments: a scalar load of an index just written by a
   vector store waits for the store to retire (no store-to-load forwarding from a vector to a part of
   it), which made the straightforward loop 3x slower. With `scan`, the same pass also updates *s as
   c8_f32_scan__avx512 does (the one-pass kernel); the compiler drops that work from the plain binning. */
enum { BLOCK = 256 };

static inline __attribute__((always_inline)) void bin_pass(const float *x, size_t n, float scale_neg,
                                                           float scale_pos, uint64_t *bins, const bool scan,
                                                           c8_f32_scan *s) {
  const __m512 sneg = _mm512_set1_ps(scale_neg), spos = _mm512_set1_ps(scale_pos), zero = _mm512_setzero_ps();
  const __m512i off = _mm512_set1_epi32(2048), lo = _mm512_setzero_si512(), hi = _mm512_set1_epi32(4095);
  const __m512i mid_lo = _mm512_set1_epi32(2048), mid_hi = _mm512_set1_epi32(2047);
  __m512 mn = _mm512_set1_ps(scan ? s->min : 0.0f), mx = _mm512_set1_ps(scan ? s->max : 0.0f);
  uint64_t finite = 0, zeros = 0;
  int32_t idx[2][BLOCK + 16];
  int pending = 0, cur = 0; /* idx[cur ^ 1] holds `pending` indices of the previous block */
  for (size_t i = 0; i < n; i += BLOCK) {
    const size_t nb = n - i < BLOCK ? n - i : BLOCK;
    int32_t *d = idx[cur];
    int m = 0;
    for (size_t k = 0; k < nb; k += 16) {
      __mmask16 live = nb - k >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (nb - k)) - 1);
      __m512 v = _mm512_maskz_loadu_ps(live, x + i + k);
      __mmask16 f = finite_lanes(v) & live;
      __mmask16 z = _mm512_mask_cmp_ps_mask(f, v, zero, _CMP_EQ_OQ), keep = f & (__mmask16)~z;
      if (scan) {
        mn = _mm512_mask_min_ps(mn, f, mn, v);
        mx = _mm512_mask_max_ps(mx, f, mx, v);
        finite += (uint64_t)__builtin_popcount(f);
        zeros += (uint64_t)__builtin_popcount(z);
      }
      __mmask16 neg = _mm512_cmp_ps_mask(v, zero, _CMP_LT_OQ);
      __m512 y = _mm512_mul_ps(v, _mm512_mask_blend_ps(neg, spos, sneg));
      y = _mm512_roundscale_ps(y, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
      __m512i b = _mm512_add_epi32(_mm512_cvttps_epi32(y), off);
      /* negatives in [0, 2047], positives in [2048, 4095] */
      b = _mm512_min_epi32(_mm512_max_epi32(b, _mm512_mask_blend_epi32(neg, mid_lo, lo)),
                           _mm512_mask_blend_epi32(neg, hi, mid_hi));
      /* compress in a register, then a plain store: a compressing store to memory is microcoded on AMD Zen 4 */
      _mm512_storeu_si512((void *)(d + m), _mm512_maskz_compress_epi32(keep, b));
      m += __builtin_popcount(keep);
    }
    const int32_t *p = idx[cur ^ 1];
    for (int j = 0; j < pending; j++) bins[p[j]]++;
    pending = m;
    cur ^= 1;
  }
  const int32_t *p = idx[cur ^ 1];
  for (int j = 0; j < pending; j++) bins[p[j]]++;
  if (scan) {
    s->min = _mm512_reduce_min_ps(mn);
    s->max = _mm512_reduce_max_ps(mx);
    s->finite += finite;
    s->zeros += zeros;
  }
}

void c8_f32_bin__avx512(const float *x, size_t n, float scale_neg, float scale_pos, uint64_t *bins) {
  bin_pass(x, n, scale_neg, scale_pos, bins, false, NULL);
}

/* The scan and the binning in one pass over x, for ranges that are already known (see histogram.h). */
void c8_f32_scan_bin__avx512(const float *x, size_t n, float scale_neg, float scale_pos, uint64_t *bins,
                             c8_f32_scan *s) {
  bin_pass(x, n, scale_neg, scale_pos, bins, true, s);
}
