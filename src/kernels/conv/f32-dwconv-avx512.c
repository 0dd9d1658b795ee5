/* AVX-512 depthwise row kernel (dwconv.h): 16 outputs at a time with every tap's weight in a register;
 * stride 1 loads taps unaligned, stride 2 loads 32 floats and keeps the even lanes. 3x3 and 5x5 are
 * compiled with constant sizes so the tap loops unroll. */
#include <immintrin.h>

#include "kernels/conv/dwconv.h"

static inline __attribute__((always_inline)) void row_body(const float *r0, size_t row_stride, const float *w,
                                                           const int kh, const int kw, const int sx, int dx,
                                                           float bias, float lo, float hi, float *y, size_t ow) {
  __m512 wv[25];
  for (int t = 0; t < kh * kw; t++) wv[t] = _mm512_set1_ps(w[t]);
  const __m512 bv = _mm512_set1_ps(bias), lov = _mm512_set1_ps(lo), hiv = _mm512_set1_ps(hi);
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  for (size_t ox0 = 0; ox0 < ow; ox0 += 16) {
    const size_t rem = ow - ox0;
    const __mmask16 mk = rem >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << rem) - 1);
    __m512 acc = bv;
    for (int ky = 0; ky < kh; ky++) {
      const float *row = r0 + (size_t)ky * row_stride + ox0 * (size_t)sx;
      for (int kx = 0; kx < kw; kx++) {
        const float *p = row + kx * dx;
        const __m512 xv =
            sx == 1 ? _mm512_loadu_ps(p) : _mm512_permutex2var_ps(_mm512_loadu_ps(p), even, _mm512_loadu_ps(p + 16));
        acc = _mm512_fmadd_ps(wv[ky * kw + kx], xv, acc);
      }
    }
    /* max(lo, .) then min(hi, .): NaN passes, as in the GEMM kernels */
    acc = _mm512_min_ps(hiv, _mm512_max_ps(lov, acc));
    _mm512_mask_storeu_ps(y + ox0, mk, acc);
  }
}

void c8_f32_dwconv_row__avx512(const float *r0, size_t row_stride, const float *w, int kh, int kw, int sx, int dx,
                               float bias, float lo, float hi, float *y, size_t ow) {
  if (kh == 3 && kw == 3 && sx == 1) row_body(r0, row_stride, w, 3, 3, 1, dx, bias, lo, hi, y, ow);
  else if (kh == 3 && kw == 3) row_body(r0, row_stride, w, 3, 3, 2, dx, bias, lo, hi, y, ow);
  else if (kh == 5 && kw == 5 && sx == 1) row_body(r0, row_stride, w, 5, 5, 1, dx, bias, lo, hi, y, ow);
  else if (kh == 5 && kw == 5) row_body(r0, row_stride, w, 5, 5, 2, dx, bias, lo, hi, y, ow);
  else row_body(r0, row_stride, w, kh, kw, sx, dx, bias, lo, hi, y, ow);
}
