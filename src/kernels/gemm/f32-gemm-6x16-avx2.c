/* f32 GEMM micro-kernel, 6 rows x 16 columns, AVX2 + FMA: 12 ymm accumulators,
 * one broadcast of A and two loads of B per k step. Compiled with -mavx2 -mfma;
 * only called when CPUID reports AVX2 and FMA.
 * Partial tiles use vmaskmov loads and stores (masked-off lanes are not accessed).
 * The epilogue indexes the accumulators with constants only: a loop bounded by mr
 * made GCC keep the whole accumulator array in memory, storing it every k step. */
#include <immintrin.h>

#include "kernels/gemm/gemm.h"

static inline __m256i lane_mask(size_t n) { /* lanes [0, n) set; n may exceed 8 */
  const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(n > 8 ? 8 : n)), idx);
}

void c8_f32_gemm_ukernel_6x16__avx2(size_t mr, size_t nr, size_t kc, const float *a, const float *b, float *c,
                                    size_t ldc, const c8_f32_gemm_tile *t) {
  __m256 c00 = _mm256_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
  __m256 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
  for (size_t k = 0; k < kc; k++) {
    const __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
    __m256 ai = _mm256_broadcast_ss(a + 0);
    c00 = _mm256_fmadd_ps(ai, b0, c00), c01 = _mm256_fmadd_ps(ai, b1, c01);
    ai = _mm256_broadcast_ss(a + 1);
    c10 = _mm256_fmadd_ps(ai, b0, c10), c11 = _mm256_fmadd_ps(ai, b1, c11);
    ai = _mm256_broadcast_ss(a + 2);
    c20 = _mm256_fmadd_ps(ai, b0, c20), c21 = _mm256_fmadd_ps(ai, b1, c21);
    ai = _mm256_broadcast_ss(a + 3);
    c30 = _mm256_fmadd_ps(ai, b0, c30), c31 = _mm256_fmadd_ps(ai, b1, c31);
    ai = _mm256_broadcast_ss(a + 4);
    c40 = _mm256_fmadd_ps(ai, b0, c40), c41 = _mm256_fmadd_ps(ai, b1, c41);
    ai = _mm256_broadcast_ss(a + 5);
    c50 = _mm256_fmadd_ps(ai, b0, c50), c51 = _mm256_fmadd_ps(ai, b1, c51);
    a += 6;
    b += 16;
  }
  const __m256 alpha = _mm256_set1_ps(t->alpha), vmin = _mm256_set1_ps(t->min), vmax = _mm256_set1_ps(t->max);
  const bool full = nr == 16;
  const __m256i m0 = lane_mask(nr), m1 = lane_mask(nr > 8 ? nr - 8 : 0);
  __m256 cb0 = _mm256_setzero_ps(), cb1 = cb0;
  if (t->col_bias) cb0 = _mm256_maskload_ps(t->col_bias, m0), cb1 = _mm256_maskload_ps(t->col_bias + 8, m1);
  const __m256 acc[6][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
  /* c = clamp(alpha * acc (+ c) + row_bias + col_bias); max(vmin, x) then min(vmax, .) pass NaN through. */
#define ROW(i)                                                                                   \
  if (i < mr) {                                                                                  \
    float *ci = c + (size_t)i * ldc;                                                             \
    __m256 v0 = _mm256_mul_ps(acc[i][0], alpha), v1 = _mm256_mul_ps(acc[i][1], alpha);          \
    if (t->load_c) {                                                                             \
      v0 = _mm256_add_ps(v0, full ? _mm256_loadu_ps(ci) : _mm256_maskload_ps(ci, m0));           \
      v1 = _mm256_add_ps(v1, full ? _mm256_loadu_ps(ci + 8) : _mm256_maskload_ps(ci + 8, m1));   \
    }                                                                                            \
    if (t->row_bias) {                                                                           \
      const __m256 rb = _mm256_set1_ps(t->row_bias[i]);                                          \
      v0 = _mm256_add_ps(v0, rb), v1 = _mm256_add_ps(v1, rb);                                    \
    }                                                                                            \
    v0 = _mm256_min_ps(vmax, _mm256_max_ps(vmin, _mm256_add_ps(v0, cb0)));                       \
    v1 = _mm256_min_ps(vmax, _mm256_max_ps(vmin, _mm256_add_ps(v1, cb1)));                       \
    if (full) {                                                                                  \
      _mm256_storeu_ps(ci, v0), _mm256_storeu_ps(ci + 8, v1);                                    \
    } else {                                                                                     \
      _mm256_maskstore_ps(ci, m0, v0), _mm256_maskstore_ps(ci + 8, m1, v1);                      \
    }                                                                                            \
  }
  ROW(0) ROW(1) ROW(2) ROW(3) ROW(4) ROW(5)
#undef ROW
}
