/* The fused elementwise chain (ops/epilogue.h) on up to 16 AVX-512 registers: R rows x V vectors, row r
 * of channel ch[r], vector j of a row at lanes mask[r*V + j]. Included by AVX-512 kernel files only: the
 * GEMM micro-kernel runs it on its accumulators before storing them, f32-epilogue-avx512.c on blocks
 * loaded from memory. Every op is the same float operation as the separate operator's (no FMA; selects
 * written as the C code's comparisons; Sigmoid as c8_sigmoidf's operations), so results are
 * bit-identical to an unfused plan. Rows whose mask is 0 are never read or written (their channel
 * constants are not read either). */
#ifndef C8_KERNELS_EPILOGUE_EPI_AVX512_H
#define C8_KERNELS_EPILOGUE_EPI_AVX512_H

#include <immintrin.h>
#include <stdbool.h>

#include "ops/epilogue.h"
#include "ops/fp-math.h"

#define C8_EPI_NV 16 /* vectors per block */

static inline __m512 c8_epi_sel_lt(__m512 x, __m512 bound, __m512 value) { /* x < bound ? value : x */
  return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, bound, _CMP_LT_OQ), x, value);
}
static inline __m512 c8_epi_sel_gt(__m512 x, __m512 bound, __m512 value) { /* x > bound ? value : x */
  return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, bound, _CMP_GT_OQ), x, value);
}

/* c8_sigmoidf (ops/fp-math.h), the same float operations in the same order (its fmaf as FMA instructions; the
   clamps as min/max with the constant first, which is the C code's select: NaN passes through), in registers. */
static inline __m512 c8_epi_sigmoid(__m512 x) {
  const __m512 lo = _mm512_min_ps(_mm512_set1_ps(88.0f), x);  /* 88 < x ? 88 : x */
  const __m512 xc = _mm512_max_ps(_mm512_set1_ps(-89.0f), lo); /* -89 > lo ? -89 : lo */
  const __m512 magic = _mm512_set1_ps(12582912.0f);
  const __m512 t = _mm512_fmadd_ps(xc, _mm512_set1_ps(-1.44269504088896341f), magic);
  const __m512 fn = _mm512_sub_ps(t, magic);
  const __m512 sc = _mm512_castsi512_ps(
      _mm512_slli_epi32(_mm512_add_epi32(_mm512_castps_si512(t), _mm512_set1_epi32(127 - 0x4b400000)), 23));
  __m512 r = _mm512_fnmsub_ps(fn, _mm512_set1_ps(0.693359375f), xc); /* -(fn * c) - xc = fmaf(fn, -c, -xc) */
  r = _mm512_fmadd_ps(fn, _mm512_set1_ps(2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.9875691500e-4f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
  const __m512 one = _mm512_set1_ps(1.0f);
  p = _mm512_add_ps(_mm512_fmadd_ps(p, _mm512_mul_ps(r, r), r), one);
  return _mm512_div_ps(one, _mm512_fmadd_ps(p, sc, one));
}

/* MUL_SAVED always follows its SAVE (graph/pass-fuse.c builds them in pairs); GCC cannot see that. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
/* Runs the chain on x[0, R*V) in place. rows_in: rows [0, rows_in) are real (the others are left alone:
   their constants and residuals are not read). res rows at rptr[r]. */
static inline __attribute__((always_inline)) void c8_epi_block_avx512(const c8_epilogue *e, const int R, const int V,
                                                                      __m512 *x, const int rows_in,
                                                                      const float *const *rptr, const int64_t *ch,
                                                                      const __mmask16 *mask) {
  float save[C8_EPI_NV][16] __attribute__((aligned(64)));
  const __m512 zero = _mm512_setzero_ps(), one = _mm512_set1_ps(1.0f);
  const __m512 sixth = _mm512_set1_ps(1.0f / 6.0f), half = _mm512_set1_ps(0.5f);
  for (int o = 0; o < e->n_ops; o++) {
    const c8_epi_rt_op *op = &e->ops[o];
    __m512 c[8];
    switch (op->kind) {
      case C8_EPI_ADD:
      case C8_EPI_SUB:
      case C8_EPI_RSUB:
      case C8_EPI_MUL:
      case C8_EPI_DIV:
      case C8_EPI_RDIV:
        for (int r = 0; r < R; r++) c[r] = _mm512_set1_ps(op->c && r < rows_in ? op->c[ch[r]] : op->k);
        break;
      default:
        break;
    }
    switch (op->kind) {
      case C8_EPI_ADD:
        for (int i = 0; i < R * V; i++) x[i] = _mm512_add_ps(x[i], c[i / V]);
        break;
      case C8_EPI_SUB:
        for (int i = 0; i < R * V; i++) x[i] = _mm512_sub_ps(x[i], c[i / V]);
        break;
      case C8_EPI_RSUB:
        for (int i = 0; i < R * V; i++) x[i] = _mm512_sub_ps(c[i / V], x[i]);
        break;
      case C8_EPI_MUL:
        for (int i = 0; i < R * V; i++) x[i] = _mm512_mul_ps(x[i], c[i / V]);
        break;
      case C8_EPI_DIV:
        for (int i = 0; i < R * V; i++) x[i] = _mm512_div_ps(x[i], c[i / V]);
        break;
      case C8_EPI_RDIV:
        for (int i = 0; i < R * V; i++) x[i] = _mm512_div_ps(c[i / V], x[i]);
        break;
      case C8_EPI_ADD_RES:
        for (int i = 0; i < R * V; i++)
          if (i / V < rows_in) x[i] = _mm512_add_ps(x[i], _mm512_maskz_loadu_ps(mask[i], rptr[i / V] + 16 * (i % V)));
        break;
      case C8_EPI_RELU:
        for (int i = 0; i < R * V; i++) x[i] = c8_epi_sel_lt(x[i], zero, zero);
        break;
      case C8_EPI_CLIP: {
        const __m512 a = _mm512_set1_ps(op->a), b = _mm512_set1_ps(op->b);
        for (int i = 0; i < R * V; i++) x[i] = c8_epi_sel_gt(c8_epi_sel_lt(x[i], a, a), b, b);
      } break;
      case C8_EPI_HARDSIGMOID: {
        const __m512 a = _mm512_set1_ps(op->a), b = _mm512_set1_ps(op->b);
        for (int i = 0; i < R * V; i++) {
          const __m512 t = _mm512_add_ps(_mm512_mul_ps(a, x[i]), b);
          x[i] = c8_epi_sel_gt(c8_epi_sel_lt(t, zero, zero), one, one);
        }
      } break;
      case C8_EPI_HARDSWISH:
        for (int i = 0; i < R * V; i++) {
          const __m512 t = _mm512_add_ps(_mm512_mul_ps(x[i], sixth), half);
          x[i] = _mm512_mul_ps(x[i], c8_epi_sel_gt(c8_epi_sel_lt(t, zero, zero), one, one));
        }
        break;
      case C8_EPI_SIGMOID:
        for (int i = 0; i < R * V; i++) x[i] = c8_epi_sigmoid(x[i]);
        break;
      case C8_EPI_SAVE:
        for (int i = 0; i < R * V; i++) _mm512_store_ps(save[i], x[i]);
        break;
      case C8_EPI_MUL_SAVED:
        for (int i = 0; i < R * V; i++) x[i] = _mm512_mul_ps(_mm512_load_ps(save[i]), x[i]);
        break;
    }
  }
}
#pragma GCC diagnostic pop

#endif
