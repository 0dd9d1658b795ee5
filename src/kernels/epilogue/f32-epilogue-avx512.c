/* The fused elementwise chain (ops/epilogue.h) on AVX-512 for values in memory (depthwise rows, direct
 * convolution segments, GEMM tiles of kernels that do not fuse it): blocks of up to 16 vectors are
 * loaded, run through every op in registers (kernels/epilogue/epi-avx512.h) and stored. The portable
 * version (ops/epilogue.c) makes one pass through L1 per op, and its loop set-up on short rows cost more
 * than the arithmetic. */
#include "kernels/epilogue/epi-avx512.h"

static inline __mmask16 lanes(size_t n) { return n >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << n) - 1); }

static inline __attribute__((always_inline)) void run_block(const c8_epilogue *e, const int R, const int V,
                                                            float *const *ptr, const float *const *rptr,
                                                            const int64_t *ch, const __mmask16 *mask, int rows_in) {
  __m512 x[C8_EPI_NV];
  for (int i = 0; i < R * V; i++) x[i] = _mm512_maskz_loadu_ps(mask[i], ptr[i / V] + 16 * (i % V));
  c8_epi_block_avx512(e, R, V, x, rows_in, rptr, ch, mask);
  for (int i = 0; i < R * V; i++) _mm512_mask_storeu_ps(ptr[i / V] + 16 * (i % V), mask[i], x[i]);
}

/* One row's values [i0, i0 + 16 V) of channel ch (the last vector may be partial). */
static inline __attribute__((always_inline)) void run_row(const c8_epilogue *e, const int V, float *v,
                                                          const float *res, int64_t ch, size_t n) {
  float *ptr[1] = {v};
  const float *rptr[1] = {res};
  const int64_t chs[1] = {ch};
  __mmask16 mask[C8_EPI_NV];
  for (int j = 0; j < V; j++) mask[j] = 16 * (size_t)j < n ? lanes(n - 16 * (size_t)j) : 0;
  run_block(e, 1, V, ptr, rptr, chs, mask, 1);
}

void c8_f32_epilogue__avx512(const c8_epilogue *e, int64_t ch0, float *v, size_t ldv, const float *res, size_t ldr,
                             size_t rows, size_t n) {
  if (rows > 1 && n <= 32) {
    /* tiles: 8 rows x 2 vectors */
    for (size_t r0 = 0; r0 < rows; r0 += 8) {
      float *ptr[8];
      const float *rptr[8];
      int64_t ch[8];
      __mmask16 mask[16];
      const size_t nr = rows - r0 < 8 ? rows - r0 : 8;
      for (size_t r = 0; r < 8; r++) {
        const bool in = r < nr;
        ptr[r] = v + (in ? r0 + r : r0) * ldv;
        rptr[r] = res ? res + (in ? r0 + r : r0) * ldr : NULL;
        ch[r] = ch0 + (int64_t)(in ? r0 + r : r0);
        mask[2 * r] = in ? lanes(n) : 0;
        mask[2 * r + 1] = in && n > 16 ? lanes(n - 16) : 0;
      }
      run_block(e, 8, 2, ptr, rptr, ch, mask, (int)nr);
    }
    return;
  }
  /* rows one by one, in blocks of 16, 8, 4, 2 or 1 vectors: no block is mostly masked off */
  for (size_t r = 0; r < rows; r++) {
    float *vr = v + r * ldv;
    const float *rr = res ? res + r * ldr : NULL;
    const int64_t ch = ch0 + (int64_t)r;
    for (size_t i0 = 0; i0 < n;) {
      const size_t rem = n - i0;
      float *p = vr + i0;
      const float *q = rr ? rr + i0 : NULL;
      if (rem >= 256) run_row(e, 16, p, q, ch, 256), i0 += 256;
      else if (rem >= 128) run_row(e, 8, p, q, ch, 128), i0 += 128;
      else if (rem >= 64) run_row(e, 4, p, q, ch, 64), i0 += 64;
      else if (rem > 16) run_row(e, 2, p, q, ch, rem < 32 ? rem : 32), i0 += rem < 32 ? rem : 32;
      else run_row(e, 1, p, q, ch, rem), i0 += rem;
    }
  }
}
