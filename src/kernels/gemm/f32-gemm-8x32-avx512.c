/* f32 GEMM micro-kernel, 8 rows x 32 columns, AVX-512F: 16 zmm accumulators,
 * one broadcast of A and two loads of B per k step. Compiled with -mavx512f -mfma;
 * only called when CPUID reports AVX-512.
 * Measured on AMD Zen 5 (in L1, kc 64-256): about 230 GFLOP/s per core; 12x32, 14x32, 6x64, 4x64 and
 * 8x48 register blockings were no faster, and FMAs with embedded broadcasts ({1to16} operands, inline
 * assembly) were slower (187). */
#include <immintrin.h>

#include "kernels/epilogue/epi-avx512.h"
#include "kernels/gemm/gemm.h"

/* The epilogue of both kernels below: the 8 x 32 sums in acc to the mr x nr tile at c (see gemm.h). */
static inline __attribute__((always_inline)) void finish_8x32(__m512 acc[8][2], size_t mr, size_t nr, float *c,
                                                              size_t ldc, const c8_f32_gemm_tile *t) {
  const __m512 alpha = _mm512_set1_ps(t->alpha), vmin = _mm512_set1_ps(t->min), vmax = _mm512_set1_ps(t->max);
  const __mmask16 m0 = nr >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << nr) - 1);
  const __mmask16 m1 = nr >= 32 ? (__mmask16)0xffff : nr <= 16 ? 0 : (__mmask16)((1u << (nr - 16)) - 1);
  __m512 cb0 = _mm512_setzero_ps(), cb1 = _mm512_setzero_ps();
  if (t->col_bias) {
    cb0 = _mm512_maskz_loadu_ps(m0, t->col_bias);
    cb1 = _mm512_maskz_loadu_ps(m1, t->col_bias + 16);
  }
  if (!t->epi) {
    /* c = clamp(alpha * acc (+ c) + row_bias + col_bias); the row-at-a-time form is the faster one when
       K is small (a 5x5 convolution over one channel has K = 25) */
    for (size_t i = 0; i < mr; i++) {
      float *ci = c + i * ldc;
      __m512 v0 = _mm512_mul_ps(acc[i][0], alpha), v1 = _mm512_mul_ps(acc[i][1], alpha);
      if (t->load_c) {
        v0 = _mm512_add_ps(v0, nr == 32 ? _mm512_loadu_ps(ci) : _mm512_maskz_loadu_ps(m0, ci));
        v1 = _mm512_add_ps(v1, nr == 32 ? _mm512_loadu_ps(ci + 16) : _mm512_maskz_loadu_ps(m1, ci + 16));
      }
      if (t->row_bias) {
        const __m512 rb = _mm512_set1_ps(t->row_bias[i]);
        v0 = _mm512_add_ps(v0, rb);
        v1 = _mm512_add_ps(v1, rb);
      }
      v0 = _mm512_add_ps(v0, cb0);
      v1 = _mm512_add_ps(v1, cb1);
      /* max(min, x) then min(max, x): the second operand wins on NaN, so NaN passes through */
      v0 = _mm512_min_ps(vmax, _mm512_max_ps(vmin, v0));
      v1 = _mm512_min_ps(vmax, _mm512_max_ps(vmin, v1));
      if (nr == 32) {
        _mm512_storeu_ps(ci, v0);
        _mm512_storeu_ps(ci + 16, v1);
      } else {
        _mm512_mask_storeu_ps(ci, m0, v0);
        _mm512_mask_storeu_ps(ci + 16, m1, v1);
      }
    }
    return;
  }
  /* The same, then the fused chain on the registers. Rows are indexed by constants (a loop bounded by mr
     would keep the block in memory); rows >= mr are not touched. */
  __m512 x[16];
  for (int i = 0; i < 8; i++) {
    __m512 v0 = _mm512_mul_ps(acc[i][0], alpha), v1 = _mm512_mul_ps(acc[i][1], alpha);
    if ((size_t)i < mr) {
      const float *ci = c + (size_t)i * ldc;
      if (t->load_c) {
        v0 = _mm512_add_ps(v0, nr == 32 ? _mm512_loadu_ps(ci) : _mm512_maskz_loadu_ps(m0, ci));
        v1 = _mm512_add_ps(v1, nr == 32 ? _mm512_loadu_ps(ci + 16) : _mm512_maskz_loadu_ps(m1, ci + 16));
      }
      if (t->row_bias) {
        const __m512 rb = _mm512_set1_ps(t->row_bias[i]);
        v0 = _mm512_add_ps(v0, rb);
        v1 = _mm512_add_ps(v1, rb);
      }
    }
    v0 = _mm512_add_ps(v0, cb0);
    v1 = _mm512_add_ps(v1, cb1);
    /* max(min, x) then min(max, x): the second operand wins on NaN, so NaN passes through */
    x[2 * i] = _mm512_min_ps(vmax, _mm512_max_ps(vmin, v0));
    x[2 * i + 1] = _mm512_min_ps(vmax, _mm512_max_ps(vmin, v1));
  }
  if (t->epi) {
    const float *rptr[8];
    int64_t ch[8];
    __mmask16 mask[16];
    for (int i = 0; i < 8; i++) {
      const bool in = (size_t)i < mr;
      rptr[i] = t->epi_res && in ? t->epi_res + (size_t)i * t->epi_ldr : t->epi_res;
      ch[i] = t->epi_ch0 + i;
      mask[2 * i] = in ? m0 : 0;
      mask[2 * i + 1] = in ? m1 : 0;
    }
    c8_epi_block_avx512(t->epi, 8, 2, x, (int)mr, rptr, ch, mask);
  }
  for (int i = 0; i < 8; i++) {
    if ((size_t)i >= mr) break;
    float *ci = c + (size_t)i * ldc;
    if (nr == 32) {
      _mm512_storeu_ps(ci, x[2 * i]);
      _mm512_storeu_ps(ci + 16, x[2 * i + 1]);
    } else {
      _mm512_mask_storeu_ps(ci, m0, x[2 * i]);
      _mm512_mask_storeu_ps(ci + 16, m1, x[2 * i + 1]);
    }
  }
}

void c8_f32_gemm_ukernel_8x32__avx512(size_t mr, size_t nr, size_t kc, const float *a, const float *b, float *c,
                                      size_t ldc, const c8_f32_gemm_tile *t) {
  __m512 acc[8][2];
  for (int i = 0; i < 8; i++) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
  for (size_t k = 0; k < kc; k++) {
    const __m512 b0 = _mm512_load_ps(b), b1 = _mm512_load_ps(b + 16);
    for (int i = 0; i < 8; i++) {
      const __m512 ai = _mm512_set1_ps(a[i]);
      acc[i][0] = _mm512_fmadd_ps(ai, b0, acc[i][0]);
      acc[i][1] = _mm512_fmadd_ps(ai, b1, acc[i][1]);
    }
    a += 8;
    b += 32;
  }
  finish_8x32(acc, mr, nr, c, ldc, t);
}

/* The same product with B read straight from an image: step k loads 16 floats at b0 + koff[k] and 16 at
   b1 + koff[k] (see gemm.h); the whole K in one pass, so no partial sums go through memory. */
void c8_f32_dconv_ukernel_8x16x2__avx512(size_t mr, size_t nr, size_t kc, const float *a, const float *b0,
                                         const float *b1, const int64_t *koff, float *c, size_t ldc,
                                         const c8_f32_gemm_tile *t) {
  __m512 acc[8][2];
  for (int i = 0; i < 8; i++) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
  for (size_t k = 0; k < kc; k++) {
    const int64_t o = koff[k];
    const __m512 v0 = _mm512_loadu_ps(b0 + o), v1 = _mm512_loadu_ps(b1 + o);
    for (int i = 0; i < 8; i++) {
      const __m512 ai = _mm512_set1_ps(a[i]);
      acc[i][0] = _mm512_fmadd_ps(ai, v0, acc[i][0]);
      acc[i][1] = _mm512_fmadd_ps(ai, v1, acc[i][1]);
    }
    a += 8;
  }
  finish_8x32(acc, mr, nr, c, ldc, t);
}

/* The same with each 16-column half made of two runs of 8 floats: b[0] + koff[k] and b[1] + koff[k] for the
   first, b[2] and b[3] for the second (four output rows 8 wide); a 256-bit load and an insert per run. */
void c8_f32_dconv_ukernel_8x8x4__avx512(size_t mr, size_t nr, size_t kc, const float *a, const float *const b[4],
                                        const int64_t *koff, float *c, size_t ldc, const c8_f32_gemm_tile *t) {
  const float *b0 = b[0], *b1 = b[1], *b2 = b[2], *b3 = b[3];
  __m512 acc[8][2];
  for (int i = 0; i < 8; i++) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
  for (size_t k = 0; k < kc; k++) {
    const int64_t o = koff[k];
    const __m512 v0 = _mm512_insertf32x8(_mm512_castps256_ps512(_mm256_loadu_ps(b0 + o)), _mm256_loadu_ps(b1 + o), 1);
    const __m512 v1 = _mm512_insertf32x8(_mm512_castps256_ps512(_mm256_loadu_ps(b2 + o)), _mm256_loadu_ps(b3 + o), 1);
    for (int i = 0; i < 8; i++) {
      const __m512 ai = _mm512_set1_ps(a[i]);
      acc[i][0] = _mm512_fmadd_ps(ai, v0, acc[i][0]);
      acc[i][1] = _mm512_fmadd_ps(ai, v1, acc[i][1]);
    }
    a += 8;
  }
  finish_8x32(acc, mr, nr, c, ldc, t);
}
