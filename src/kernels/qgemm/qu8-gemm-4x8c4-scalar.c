/* The portable integer GEMM micro-kernel, 4 x 8, K in steps of 4: the reference every ISA version matches
 * byte for byte (qgemm.h gives the epilogue). Plain C; GCC vectorizes the inner loops on any target. */
#include "kernels/qgemm/qgemm.h"

#define MR 4
#define NR 8

/* Stores one requantized or raw value. */
static inline void put(void *c, size_t at, int32_t v, const c8_qu8_gemm_tile *t) {
  if (t->out_s32) ((int32_t *)c)[at] = v;
  else if (t->out_signed) ((int8_t *)c)[at] = (int8_t)v;
  else ((uint8_t *)c)[at] = (uint8_t)v;
}

void c8_qu8_gemm_ukernel_4x8c4__scalar(size_t mr, size_t nr, size_t kc, const void *a, const uint8_t *b, void *c,
                                       size_t ldc, const c8_qu8_gemm_tile *t) {
  const int8_t *w = a;
  int32_t acc[MR][NR] = {{0}};
  for (size_t k = 0; k < kc; k += 4) {
    for (int i = 0; i < MR; i++)
      for (int j = 0; j < NR; j++)
        acc[i][j] += (int32_t)w[i * 4] * b[j * 4] + (int32_t)w[i * 4 + 1] * b[j * 4 + 1] +
                     (int32_t)w[i * 4 + 2] * b[j * 4 + 2] + (int32_t)w[i * 4 + 3] * b[j * 4 + 3];
    w += MR * 4;
    b += NR * 4;
  }
  for (size_t i = 0; i < mr; i++)
    for (size_t j = 0; j < nr; j++) {
      const int32_t v = t->out_s32 ? acc[i][j] + t->bias[i] : c8_qu8_requant_one(acc[i][j], t->bias[i], t->mult[i], t, i, j);
      put(c, i * ldc + j, v, t);
    }
}
