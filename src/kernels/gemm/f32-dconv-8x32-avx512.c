/* Direct-B convolution micro-kernel, 8 output channels x 32 output positions, AVX-512F.
 * For a stride-1 convolution over a zero-padded source image, column q of the im2col matrix's row
 * k = (channel, ky, kx) is src[koff[k] + q] when output positions are numbered across the padded
 * width (q = oy * padded_width + ox; the last kw-1 positions of each row are junk). So B needs no
 * packing: each k step loads 32 consecutive floats at b + koff[k]. A is the packed weight panel
 * (a[k*8 + i]). The 8 x 32 sums go to tile[i*32 + j]; with `accumulate` they continue from the sums
 * already there (a float stored and reloaded is unchanged, so splitting K this way does not change
 * results). The rows of B are scattered over the image, which the hardware prefetchers do not follow:
 * the kernel prefetches the row needed PF steps ahead (koff must hold PF readable entries past kc). */
#include <immintrin.h>
#include <stdint.h>

#include "kernels/gemm/gemm.h"

#define PF 8

void c8_f32_dconv_ukernel_8x32__avx512(size_t kc, const float *a, const float *b, const int64_t *koff,
                                       float *tile, int accumulate) {
  __m512 c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51, c60, c61, c70, c71;
  if (accumulate) {
    c00 = _mm512_load_ps(tile + 0), c01 = _mm512_load_ps(tile + 16);
    c10 = _mm512_load_ps(tile + 32), c11 = _mm512_load_ps(tile + 48);
    c20 = _mm512_load_ps(tile + 64), c21 = _mm512_load_ps(tile + 80);
    c30 = _mm512_load_ps(tile + 96), c31 = _mm512_load_ps(tile + 112);
    c40 = _mm512_load_ps(tile + 128), c41 = _mm512_load_ps(tile + 144);
    c50 = _mm512_load_ps(tile + 160), c51 = _mm512_load_ps(tile + 176);
    c60 = _mm512_load_ps(tile + 192), c61 = _mm512_load_ps(tile + 208);
    c70 = _mm512_load_ps(tile + 224), c71 = _mm512_load_ps(tile + 240);
  } else {
    c00 = _mm512_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
    c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00, c70 = c00, c71 = c00;
  }
  for (size_t k = 0; k < kc; k++) {
    const float *bk = b + koff[k];
    const float *bp = b + koff[k + PF];
    _mm_prefetch((const char *)bp, _MM_HINT_T0);
    _mm_prefetch((const char *)(bp + 31), _MM_HINT_T0);
    const __m512 b0 = _mm512_loadu_ps(bk), b1 = _mm512_loadu_ps(bk + 16);
#define STEP(i, x0, x1)                     \
  {                                         \
    const __m512 ai = _mm512_set1_ps(a[i]); \
    x0 = _mm512_fmadd_ps(ai, b0, x0);       \
    x1 = _mm512_fmadd_ps(ai, b1, x1);       \
  }
    STEP(0, c00, c01) STEP(1, c10, c11) STEP(2, c20, c21) STEP(3, c30, c31)
    STEP(4, c40, c41) STEP(5, c50, c51) STEP(6, c60, c61) STEP(7, c70, c71)
#undef STEP
    a += 8;
  }
  _mm512_store_ps(tile + 0, c00), _mm512_store_ps(tile + 16, c01);
  _mm512_store_ps(tile + 32, c10), _mm512_store_ps(tile + 48, c11);
  _mm512_store_ps(tile + 64, c20), _mm512_store_ps(tile + 80, c21);
  _mm512_store_ps(tile + 96, c30), _mm512_store_ps(tile + 112, c31);
  _mm512_store_ps(tile + 128, c40), _mm512_store_ps(tile + 144, c41);
  _mm512_store_ps(tile + 160, c50), _mm512_store_ps(tile + 176, c51);
  _mm512_store_ps(tile + 192, c60), _mm512_store_ps(tile + 208, c61);
  _mm512_store_ps(tile + 224, c70), _mm512_store_ps(tile + 240, c71);
}
