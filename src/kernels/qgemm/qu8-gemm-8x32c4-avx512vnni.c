/* Integer GEMM micro-kernel, 8 x 32, AVX-512 VNNI: 16 zmm accumulators; per step of 4 k, two loads of B
 * (32 columns x 4 uint8) and one broadcast of 4 int8 weights per row (an embedded {1to16} operand of
 * vpdpbusd). vpdpbusd multiplies u8 x s8 and adds the 4 products of each lane to int32 without any
 * intermediate saturation (the non-"s" form), so the sums are exact. Compiled with -mavx512vnni; only called
 * when CPUID reports it. The epilogue is qgemm.h's, in the same IEEE operations as the scalar kernel. */
#include <immintrin.h>
#include <string.h>

#include "kernels/qgemm/qgemm.h"

static inline __m512i requant(__m512i acc, __m512i bias, __m512 mult, __m512 vlo, __m512 vhi, __m512i zp,
                              const __m512 *res) {
  __m512 v = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(acc, bias)), mult);
  if (res) v = _mm512_add_ps(v, *res);
  v = _mm512_min_ps(_mm512_max_ps(v, vlo), vhi);
  return _mm512_add_epi32(_mm512_cvtps_epi32(v), zp); /* MXCSR rounding: to nearest even */
}

/* koff NULL: B is a packed panel at b; else step s reads 32 bytes at bq[i] + koff[s] for each quarter i (64 at
   bq[0] and bq[2] when halves). */
static inline __m512i two(const uint8_t *lo, const uint8_t *hi) {
  return _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)lo)),
                            _mm256_loadu_si256((const __m256i *)hi), 1);
}

static inline __attribute__((always_inline)) void body(size_t mr, size_t nr, size_t kc, const void *a,
                                                       const uint8_t *b, const uint8_t *const *bq,
                                                       const int64_t *koff, bool halves, void *c, size_t ldc,
                                                       const c8_qu8_gemm_tile *t) {
  const int32_t *w = a;
  __m512i acc[8][2];
  for (int i = 0; i < 8; i++) acc[i][0] = acc[i][1] = _mm512_setzero_si512();
  for (size_t k = 0; k < kc; k += 4) {
    __m512i b0, b1;
    if (koff && !halves) {
      const int64_t o = koff[k / 4];
      b0 = two(bq[0] + o, bq[1] + o), b1 = two(bq[2] + o, bq[3] + o);
    } else if (koff) {
      const int64_t o = koff[k / 4];
      b0 = _mm512_loadu_si512(bq[0] + o), b1 = _mm512_loadu_si512(bq[2] + o);
    } else {
      b0 = _mm512_loadu_si512(b), b1 = _mm512_loadu_si512(b + 64);
    }
    for (int i = 0; i < 8; i++) {
      const __m512i wi = _mm512_set1_epi32(w[i]);
      acc[i][0] = _mm512_dpbusd_epi32(acc[i][0], b0, wi);
      acc[i][1] = _mm512_dpbusd_epi32(acc[i][1], b1, wi);
    }
    w += 8;
    if (!koff) b += 128;
  }
  const __mmask16 m0 = nr >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << nr) - 1);
  const __mmask16 m1 = nr >= 32 ? (__mmask16)0xffff : nr <= 16 ? 0 : (__mmask16)((1u << (nr - 16)) - 1);
  if (t->out_s32) {
    for (size_t i = 0; i < mr; i++) {
      const __m512i bi = _mm512_set1_epi32(t->bias[i]);
      int32_t *ci = (int32_t *)c + i * ldc;
      _mm512_mask_storeu_epi32(ci, m0, _mm512_add_epi32(acc[i][0], bi));
      _mm512_mask_storeu_epi32(ci + 16, m1, _mm512_add_epi32(acc[i][1], bi));
    }
    return;
  }
  const __m512 vlo = _mm512_set1_ps(t->vlo), vhi = _mm512_set1_ps(t->vhi);
  const __m512i zp = _mm512_set1_epi32(t->zp), lo8 = _mm512_set1_epi32(t->out_signed ? -128 : 0),
                hi8 = _mm512_set1_epi32(t->out_signed ? 127 : 255);
  const __m512 rmult = _mm512_set1_ps(t->res_mult);
  const __m512i rzp = _mm512_set1_epi32(t->res_zp);
  for (size_t i = 0; i < mr; i++) {
    const __m512i bi = _mm512_set1_epi32(t->bias[i]);
    const __m512 mi = _mm512_set1_ps(t->mult[i]);
    __m512 r[2], *rp0 = NULL, *rp1 = NULL;
    if (t->res) {
      const uint8_t *ri = (const uint8_t *)t->res + i * t->ldr;
      const __m128i x0 = _mm_maskz_loadu_epi8(m0, ri), x1 = _mm_maskz_loadu_epi8(m1, ri + 16);
      const __m512i w0 = t->res_signed ? _mm512_cvtepi8_epi32(x0) : _mm512_cvtepu8_epi32(x0);
      const __m512i w1 = t->res_signed ? _mm512_cvtepi8_epi32(x1) : _mm512_cvtepu8_epi32(x1);
      r[0] = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(w0, rzp)), rmult);
      r[1] = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(w1, rzp)), rmult);
      rp0 = &r[0], rp1 = &r[1];
    }
    /* The values are within [lo, hi] already; the clamp to the type's range only keeps the narrowing
       conversion from wrapping. */
    __m512i y0 = requant(acc[i][0], bi, mi, vlo, vhi, zp, rp0), y1 = requant(acc[i][1], bi, mi, vlo, vhi, zp, rp1);
    y0 = _mm512_min_epi32(_mm512_max_epi32(y0, lo8), hi8);
    y1 = _mm512_min_epi32(_mm512_max_epi32(y1, lo8), hi8);
    uint8_t *ci = (uint8_t *)c + i * ldc;
    _mm_mask_storeu_epi8(ci, m0, _mm512_cvtepi32_epi8(y0));
    _mm_mask_storeu_epi8(ci + 16, m1, _mm512_cvtepi32_epi8(y1));
  }
}

void c8_qu8_gemm_ukernel_8x32c4__avx512vnni(size_t mr, size_t nr, size_t kc, const void *a, const uint8_t *b,
                                            void *c, size_t ldc, const c8_qu8_gemm_tile *t) {
  body(mr, nr, kc, a, b, NULL, NULL, false, c, ldc, t);
}

void c8_qu8_gemm_ukernel_8x32c4__avx512vnni_ind(size_t mr, size_t nr, size_t kc, const void *a,
                                                const uint8_t *const *bq, const int64_t *koff, void *c, size_t ldc,
                                                const c8_qu8_gemm_tile *t) {
  /* halves that are single runs load as one zmm each (two ymm loads and an insert cost ~40 % on 32-pixel rows) */
  if (bq[1] == bq[0] + 32 && bq[3] == bq[2] + 32) body(mr, nr, kc, a, NULL, bq, koff, true, c, ldc, t);
  else body(mr, nr, kc, a, NULL, bq, koff, false, c, ldc, t);
}
