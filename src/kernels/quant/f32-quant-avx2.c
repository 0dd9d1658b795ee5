#include <immintrin.h>

#include "kernels/quant/quant.h"

/* As the AVX-512 version, 8 values at a time; int32 -> int16 -> 8-bit packs saturate, which changes nothing
   since the values are already clamped to the output type's range. */
void c8_f32_quantize__avx2(const float *x, size_t n, float scale, int32_t zp, bool is_signed, void *y) {
  const __m256 s = _mm256_set1_ps(scale), z = _mm256_set1_ps((float)zp);
  const __m256 lo = _mm256_set1_ps(is_signed ? -128.0f : 0.0f), hi = _mm256_set1_ps(is_signed ? 127.0f : 255.0f);
  unsigned char *o = y;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 r = _mm256_round_ps(_mm256_div_ps(_mm256_loadu_ps(x + i), s), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    r = _mm256_min_ps(_mm256_max_ps(_mm256_add_ps(r, z), lo), hi);
    const __m256i v = _mm256_cvtps_epi32(r);
    const __m128i w = _mm_packs_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    _mm_storel_epi64((__m128i *)(o + i), is_signed ? _mm_packs_epi16(w, w) : _mm_packus_epi16(w, w));
  }
  if (i < n) c8_f32_quantize__scalar(x + i, n - i, scale, zp, is_signed, o + i);
}

void c8_f32_dequantize__avx2(const void *x, size_t n, float scale, int32_t zp, bool is_signed, float *y) {
  const __m256 s = _mm256_set1_ps(scale);
  const __m256i z = _mm256_set1_epi32(zp);
  const unsigned char *v = x;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m128i b = _mm_loadl_epi64((const __m128i *)(v + i));
    const __m256i w = is_signed ? _mm256_cvtepi8_epi32(b) : _mm256_cvtepu8_epi32(b);
    _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(w, z)), s));
  }
  if (i < n) c8_f32_dequantize__scalar(v + i, n - i, scale, zp, is_signed, y + i);
}

static inline __m256i widen8(const void *x, size_t i, bool is_signed) {
  const __m128i v = _mm_loadl_epi64((const __m128i *)((const unsigned char *)x + i));
  return is_signed ? _mm256_cvtepi8_epi32(v) : _mm256_cvtepu8_epi32(v);
}

void c8_q8_add__avx2(const void *a, const void *b, size_t n, const c8_q8_add_params *p, void *y) {
  const __m256 sa = _mm256_set1_ps(p->sa), sb = _mm256_set1_ps(p->sb), sy = _mm256_set1_ps(p->sy);
  const __m256i za = _mm256_set1_epi32(p->za), zb = _mm256_set1_epi32(p->zb);
  const __m256 zy = _mm256_set1_ps((float)p->zy), lo = _mm256_set1_ps((float)p->lo), hi = _mm256_set1_ps((float)p->hi);
  unsigned char *o = y;
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 fa = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(widen8(a, i, p->a_signed), za)), sa);
    const __m256 fb =
        b ? _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(widen8(b, i, p->b_signed), zb)), sb) : _mm256_setzero_ps();
    __m256 r = _mm256_round_ps(_mm256_div_ps(_mm256_add_ps(fa, fb), sy), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    r = _mm256_min_ps(_mm256_max_ps(_mm256_add_ps(r, zy), lo), hi);
    const __m256i v = _mm256_cvtps_epi32(r);
    const __m128i w = _mm_packs_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    _mm_storel_epi64((__m128i *)(o + i), p->y_signed ? _mm_packs_epi16(w, w) : _mm_packus_epi16(w, w));
  }
  if (i < n) c8_q8_add__scalar((const unsigned char *)a + i, b ? (const unsigned char *)b + i : NULL, n - i, p, o + i);
}
