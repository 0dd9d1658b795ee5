/* Histogram kernels on AVX2 (see histogram.h): as the AVX-512 version, with blends for the masked
 * min/max and a table-driven left-pack for the kept lanes. */
#include <immintrin.h>

#include "kernels/histogram/histogram.h"

static inline __m256 finite_mask(__m256 v) {
  const __m256i expo = _mm256_set1_epi32(0x7f800000);
  __m256i e = _mm256_and_si256(_mm256_castps_si256(v), expo);
  return _mm256_castsi256_ps(_mm256_xor_si256(_mm256_cmpeq_epi32(e, expo), _mm256_set1_epi32(-1)));
}

void c8_f32_scan__avx2(const float *x, size_t n, c8_f32_scan *s) {
  __m256 mn = _mm256_set1_ps(s->min), mx = _mm256_set1_ps(s->max);
  const __m256 zero = _mm256_setzero_ps();
  uint64_t finite = 0, zeros = 0;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 v = _mm256_loadu_ps(x + i);
    __m256 f = finite_mask(v);
    mn = _mm256_blendv_ps(mn, _mm256_min_ps(mn, v), f);
    mx = _mm256_blendv_ps(mx, _mm256_max_ps(mx, v), f);
    finite += (uint64_t)__builtin_popcount((unsigned)_mm256_movemask_ps(f));
    zeros += (uint64_t)__builtin_popcount((unsigned)_mm256_movemask_ps(_mm256_and_ps(f, _mm256_cmp_ps(v, zero, _CMP_EQ_OQ))));
  }
  float lmn[8], lmx[8];
  _mm256_storeu_ps(lmn, mn);
  _mm256_storeu_ps(lmx, mx);
  c8_f32_scan t = {.min = lmn[0], .max = lmx[0], .finite = finite, .zeros = zeros};
  for (int k = 1; k < 8; k++) {
    if (lmn[k] < t.min) t.min = lmn[k];
    if (lmx[k] > t.max) t.max = lmx[k];
  }
  c8_f32_scan__scalar(x + i, n - i, &t);
  if (t.min < s->min) s->min = t.min;
  if (t.max > s->max) s->max = t.max;
  s->finite += t.finite;
  s->zeros += t.zeros;
}

/* Indices are computed a block ahead of their increments (see the AVX-512 version); the kept lanes are
   packed to the front with a permutation from a table (AVX2 has no compress), which avoids a branch per
   lane that the processor cannot predict. */
enum { BLOCK = 256 };

/* byte j of entry m: the lane of m's j-th set bit (generated: for each set lane, in order) */
static const uint64_t pack_table[256] = {
    0x0ull, 0x0ull, 0x1ull, 0x100ull, 0x2ull, 0x200ull,
    0x201ull, 0x20100ull, 0x3ull, 0x300ull, 0x301ull, 0x30100ull,
    0x302ull, 0x30200ull, 0x30201ull, 0x3020100ull, 0x4ull, 0x400ull,
    0x401ull, 0x40100ull, 0x402ull, 0x40200ull, 0x40201ull, 0x4020100ull,
    0x403ull, 0x40300ull, 0x40301ull, 0x4030100ull, 0x40302ull, 0x4030200ull,
    0x4030201ull, 0x403020100ull, 0x5ull, 0x500ull, 0x501ull, 0x50100ull,
    0x502ull, 0x50200ull, 0x50201ull, 0x5020100ull, 0x503ull, 0x50300ull,
    0x50301ull, 0x5030100ull, 0x50302ull, 0x5030200ull, 0x5030201ull, 0x503020100ull,
    0x504ull, 0x50400ull, 0x50401ull, 0x5040100ull, 0x50402ull, 0x5040200ull,
    0x5040201ull, 0x504020100ull, 0x50403ull, 0x5040300ull, 0x5040301ull, 0x504030100ull,
    0x5040302ull, 0x504030200ull, 0x504030201ull, 0x50403020100ull, 0x6ull, 0x600ull,
    0x601ull, 0x60100ull, 0x602ull, 0x60200ull, 0x60201ull, 0x6020100ull,
    0x603ull, 0x60300ull, 0x60301ull, 0x6030100ull, 0x60302ull, 0x6030200ull,
    0x6030201ull, 0x603020100ull, 0x604ull, 0x60400ull, 0x60401ull, 0x6040100ull,
    0x60402ull, 0x6040200ull, 0x6040201ull, 0x604020100ull, 0x60403ull, 0x6040300ull,
    0x6040301ull, 0x604030100ull, 0x6040302ull, 0x604030200ull, 0x604030201ull, 0x60403020100ull,
    0x605ull, 0x60500ull, 0x60501ull, 0x6050100ull, 0x60502ull, 0x6050200ull,
    0x6050201ull, 0x605020100ull, 0x60503ull, 0x6050300ull, 0x6050301ull, 0x605030100ull,
    0x6050302ull, 0x605030200ull, 0x605030201ull, 0x60503020100ull, 0x60504ull, 0x6050400ull,
    0x6050401ull, 0x605040100ull, 0x6050402ull, 0x605040200ull, 0x605040201ull, 0x60504020100ull,
    0x6050403ull, 0x605040300ull, 0x605040301ull, 0x60504030100ull, 0x605040302ull, 0x60504030200ull,
    0x60504030201ull, 0x6050403020100ull, 0x7ull, 0x700ull, 0x701ull, 0x70100ull,
    0x702ull, 0x70200ull, 0x70201ull, 0x7020100ull, 0x703ull, 0x70300ull,
    0x70301ull, 0x7030100ull, 0x70302ull, 0x7030200ull, 0x7030201ull, 0x703020100ull,
    0x704ull, 0x70400ull, 0x70401ull, 0x7040100ull, 0x70402ull, 0x7040200ull,
    0x7040201ull, 0x704020100ull, 0x70403ull, 0x7040300ull, 0x7040301ull, 0x704030100ull,
    0x7040302ull, 0x704030200ull, 0x704030201ull, 0x70403020100ull, 0x705ull, 0x70500ull,
    0x70501ull, 0x7050100ull, 0x70502ull, 0x7050200ull, 0x7050201ull, 0x705020100ull,
    0x70503ull, 0x7050300ull, 0x7050301ull, 0x705030100ull, 0x7050302ull, 0x705030200ull,
    0x705030201ull, 0x70503020100ull, 0x70504ull, 0x7050400ull, 0x7050401ull, 0x705040100ull,
    0x7050402ull, 0x705040200ull, 0x705040201ull, 0x70504020100ull, 0x7050403ull, 0x705040300ull,
    0x705040301ull, 0x70504030100ull, 0x705040302ull, 0x70504030200ull, 0x70504030201ull, 0x7050403020100ull,
    0x706ull, 0x70600ull, 0x70601ull, 0x7060100ull, 0x70602ull, 0x7060200ull,
    0x7060201ull, 0x706020100ull, 0x70603ull, 0x7060300ull, 0x7060301ull, 0x706030100ull,
    0x7060302ull, 0x706030200ull, 0x706030201ull, 0x70603020100ull, 0x70604ull, 0x7060400ull,
    0x7060401ull, 0x706040100ull, 0x7060402ull, 0x706040200ull, 0x706040201ull, 0x70604020100ull,
    0x7060403ull, 0x706040300ull, 0x706040301ull, 0x70604030100ull, 0x706040302ull, 0x70604030200ull,
    0x70604030201ull, 0x7060403020100ull, 0x70605ull, 0x7060500ull, 0x7060501ull, 0x706050100ull,
    0x7060502ull, 0x706050200ull, 0x706050201ull, 0x70605020100ull, 0x7060503ull, 0x706050300ull,
    0x706050301ull, 0x70605030100ull, 0x706050302ull, 0x70605030200ull, 0x70605030201ull, 0x7060503020100ull,
    0x7060504ull, 0x706050400ull, 0x706050401ull, 0x70605040100ull, 0x706050402ull, 0x70605040200ull,
    0x70605040201ull, 0x7060504020100ull, 0x706050403ull, 0x70605040300ull, 0x70605040301ull, 0x7060504030100ull,
    0x70605040302ull, 0x7060504030200ull, 0x7060504030201ull, 0x706050403020100ull,
};

static inline int block_indices(const float *x, size_t n, __m256 sneg, __m256 spos, int32_t *d) {
  const __m256 zero = _mm256_setzero_ps();
  const __m256i off = _mm256_set1_epi32(2048), lo = _mm256_setzero_si256(), hi = _mm256_set1_epi32(4095);
  const __m256i mid_lo = _mm256_set1_epi32(2048), mid_hi = _mm256_set1_epi32(2047);
  int m = 0;
  for (size_t k = 0; k < n; k += 8) {
    __m256 v = _mm256_loadu_ps(x + k);
    unsigned keep = (unsigned)_mm256_movemask_ps(_mm256_and_ps(finite_mask(v), _mm256_cmp_ps(v, zero, _CMP_NEQ_OQ)));
    __m256 neg = _mm256_cmp_ps(v, zero, _CMP_LT_OQ);
    __m256 y = _mm256_floor_ps(_mm256_mul_ps(v, _mm256_blendv_ps(spos, sneg, neg)));
    __m256i b = _mm256_add_epi32(_mm256_cvttps_epi32(y), off);
    /* negatives in [0, 2047], positives in [2048, 4095] */
    __m256i negi = _mm256_castps_si256(neg);
    b = _mm256_min_epi32(_mm256_max_epi32(b, _mm256_blendv_epi8(mid_lo, lo, negi)), _mm256_blendv_epi8(hi, mid_hi, negi));
    __m256i perm = _mm256_cvtepu8_epi32(_mm_cvtsi64_si128((long long)pack_table[keep]));
    _mm256_storeu_si256((__m256i *)(d + m), _mm256_permutevar8x32_epi32(b, perm));
    m += __builtin_popcount(keep);
  }
  return m;
}

void c8_f32_bin__avx2(const float *x, size_t n, float scale_neg, float scale_pos, uint64_t *bins) {
  const __m256 sneg = _mm256_set1_ps(scale_neg), spos = _mm256_set1_ps(scale_pos);
  int32_t idx[2][BLOCK + 8];
  size_t whole = n / 8 * 8;
  int pending = 0, cur = 0;
  for (size_t i = 0; i < whole; i += BLOCK) {
    int m = block_indices(x + i, whole - i < BLOCK ? whole - i : BLOCK, sneg, spos, idx[cur]);
    const int32_t *p = idx[cur ^ 1];
    for (int j = 0; j < pending; j++) bins[p[j]]++;
    pending = m;
    cur ^= 1;
  }
  const int32_t *p = idx[cur ^ 1];
  for (int j = 0; j < pending; j++) bins[p[j]]++;
  c8_f32_bin__scalar(x + whole, n - whole, scale_neg, scale_pos, bins);
}
