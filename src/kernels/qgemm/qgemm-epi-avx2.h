/* The 4 x 16 epilogue of the 256-bit integer GEMM kernels (AVX2, AVX-VNNI): qgemm.h's requantization in the
 * scalar kernel's IEEE operations. Included only by files compiled with -mavx2. */
#ifndef C8_KERNELS_QGEMM_EPI_AVX2_H
#define C8_KERNELS_QGEMM_EPI_AVX2_H

#include <immintrin.h>
#include <string.h>

#include "kernels/qgemm/qgemm.h"

static inline __attribute__((always_inline)) void c8_qu8_finish_4x16_avx2(__m256i acc[4][2], size_t mr,
                                                                          size_t nr, void *c, size_t ldc,
                                                                          const c8_qu8_gemm_tile *t) {
  const bool full = nr == 16;
  if (t->out_s32) {
    for (size_t i = 0; i < mr; i++) {
      const __m256i bi = _mm256_set1_epi32(t->bias[i]);
      int32_t tmp[16];
      _mm256_storeu_si256((__m256i *)tmp, _mm256_add_epi32(acc[i][0], bi));
      _mm256_storeu_si256((__m256i *)(tmp + 8), _mm256_add_epi32(acc[i][1], bi));
      memcpy((int32_t *)c + i * ldc, tmp, nr * sizeof(int32_t));
    }
    return;
  }
  const __m256 vlo = _mm256_set1_ps(t->vlo), vhi = _mm256_set1_ps(t->vhi), rmult = _mm256_set1_ps(t->res_mult);
  const __m256i zp = _mm256_set1_epi32(t->zp), rzp = _mm256_set1_epi32(t->res_zp);
  for (size_t i = 0; i < mr; i++) {
    const __m256i bi = _mm256_set1_epi32(t->bias[i]);
    const __m256 mi = _mm256_set1_ps(t->mult[i]);
    __m256 v0 = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_add_epi32(acc[i][0], bi)), mi);
    __m256 v1 = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_add_epi32(acc[i][1], bi)), mi);
    if (t->res) {
      uint8_t rb[16] = {0};
      memcpy(rb, (const uint8_t *)t->res + i * t->ldr, nr);
      const __m128i x = _mm_loadu_si128((const __m128i *)rb);
      const __m256i r0 = t->res_signed ? _mm256_cvtepi8_epi32(x) : _mm256_cvtepu8_epi32(x);
      const __m256i r1 = t->res_signed ? _mm256_cvtepi8_epi32(_mm_srli_si128(x, 8))
                                       : _mm256_cvtepu8_epi32(_mm_srli_si128(x, 8));
      v0 = _mm256_add_ps(v0, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(r0, rzp)), rmult));
      v1 = _mm256_add_ps(v1, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(r1, rzp)), rmult));
    }
    v0 = _mm256_min_ps(_mm256_max_ps(v0, vlo), vhi);
    v1 = _mm256_min_ps(_mm256_max_ps(v1, vlo), vhi);
    const __m256i y0 = _mm256_add_epi32(_mm256_cvtps_epi32(v0), zp); /* MXCSR: round to nearest even */
    const __m256i y1 = _mm256_add_epi32(_mm256_cvtps_epi32(v1), zp);
    /* within the output type's range already: the saturating packs change nothing */
    const __m256i p = _mm256_permute4x64_epi64(_mm256_packs_epi32(y0, y1), 0xD8);
    const __m128i lo = _mm256_castsi256_si128(p), hi = _mm256_extracti128_si256(p, 1);
    const __m128i bytes = t->out_signed ? _mm_packs_epi16(lo, hi) : _mm_packus_epi16(lo, hi);
    uint8_t *ci = (uint8_t *)c + i * ldc;
    if (full) {
      _mm_storeu_si128((__m128i *)ci, bytes);
    } else {
      uint8_t tmp[16];
      _mm_storeu_si128((__m128i *)tmp, bytes);
      memcpy(ci, tmp, nr);
    }
  }
}

#endif
