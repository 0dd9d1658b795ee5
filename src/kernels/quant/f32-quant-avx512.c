#include <immintrin.h>

#include "kernels/quant/quant.h"

/* 16 values: divide, round to nearest even, add the zero point, clamp (vmaxps returns its second operand
   when the first is NaN: NaN becomes lo, as in the scalar rule), convert (exact: an integer in range). */
static inline __m512i quant16(__m512 x, __m512 s, __m512 z, __m512 lo, __m512 hi) {
  __m512 r = _mm512_roundscale_ps(_mm512_div_ps(x, s), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  r = _mm512_min_ps(_mm512_max_ps(_mm512_add_ps(r, z), lo), hi);
  return _mm512_cvtps_epi32(r);
}

void c8_f32_quantize__avx512(const float *x, size_t n, float scale, int32_t zp, bool is_signed, void *y) {
  const __m512 s = _mm512_set1_ps(scale), z = _mm512_set1_ps((float)zp);
  const __m512 lo = _mm512_set1_ps(is_signed ? -128.0f : 0.0f), hi = _mm512_set1_ps(is_signed ? 127.0f : 255.0f);
  unsigned char *o = y;
  size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m512i a = quant16(_mm512_loadu_ps(x + i), s, z, lo, hi);
    const __m512i b = quant16(_mm512_loadu_ps(x + i + 16), s, z, lo, hi);
    /* the low byte of each int32 is the int8 or uint8 value */
    _mm_storeu_si128((__m128i *)(o + i), _mm512_cvtepi32_epi8(a));
    _mm_storeu_si128((__m128i *)(o + i + 16), _mm512_cvtepi32_epi8(b));
  }
  for (; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1);
    _mm512_mask_cvtepi32_storeu_epi8(o + i, m, quant16(_mm512_maskz_loadu_ps(m, x + i), s, z, lo, hi));
  }
}

void c8_f32_dequantize__avx512(const void *x, size_t n, float scale, int32_t zp, bool is_signed, float *y) {
  const __m512 s = _mm512_set1_ps(scale);
  const __m512i z = _mm512_set1_epi32(zp);
  const unsigned char *v = x;
  for (size_t i = 0; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1);
    const __m128i b = _mm_maskz_loadu_epi8(m, v + i);
    const __m512i w = is_signed ? _mm512_cvtepi8_epi32(b) : _mm512_cvtepu8_epi32(b);
    _mm512_mask_storeu_ps(y + i, m, _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(w, z)), s));
  }
}

static inline __m512i widen16(const void *x, size_t i, __mmask16 m, bool is_signed) {
  const __m128i v = _mm_maskz_loadu_epi8(m, (const unsigned char *)x + i);
  return is_signed ? _mm512_cvtepi8_epi32(v) : _mm512_cvtepu8_epi32(v);
}

void c8_q8_add__avx512(const void *a, const void *b, size_t n, const c8_q8_add_params *p, void *y) {
  const __m512 sa = _mm512_set1_ps(p->sa), sb = _mm512_set1_ps(p->sb), sy = _mm512_set1_ps(p->sy);
  const __m512i za = _mm512_set1_epi32(p->za), zb = _mm512_set1_epi32(p->zb);
  const __m512 zy = _mm512_set1_ps((float)p->zy), lo = _mm512_set1_ps((float)p->lo), hi = _mm512_set1_ps((float)p->hi);
  for (size_t i = 0; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (n - i)) - 1);
    const __m512 fa = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(widen16(a, i, m, p->a_signed), za)), sa);
    const __m512 fb =
        b ? _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(widen16(b, i, m, p->b_signed), zb)), sb) : _mm512_setzero_ps();
    _mm512_mask_cvtepi32_storeu_epi8((unsigned char *)y + i, m, quant16(_mm512_add_ps(fa, fb), sy, zy, lo, hi));
  }
}
