/* The portable 4x8 f32 GEMM micro-kernel, written in plain C so that GCC -O3
 * vectorizes it for the baseline ISA (SSE2 on x86-64: eight 4-wide accumulators,
 * two B vectors and broadcasts of A fit the 16 XMM registers). Measured in L1 on
 * this machine's SSE2 baseline, 4x8 beat 6x8, 4x12, 3x16 and 8x8 (which spill). */
#include "kernels/gemm/gemm.h"

#define MR 4
#define NR 8

void c8_f32_gemm_ukernel_4x8__scalar(size_t mr, size_t nr, size_t kc, const float *restrict a,
                                     const float *restrict b, float *restrict c, size_t ldc,
                                     const c8_f32_gemm_tile *restrict t) {
  float acc[MR][NR] = {{0}};
  for (size_t k = 0; k < kc; k++) {
    for (int i = 0; i < MR; i++) {
      const float ai = a[i];
      for (int j = 0; j < NR; j++) acc[i][j] += ai * b[j];
    }
    a += MR;
    b += NR;
  }
  if (t->alpha != 1.0f)
    for (int i = 0; i < MR; i++)
      for (int j = 0; j < NR; j++) acc[i][j] *= t->alpha;
  if (t->row_bias) {
    for (size_t i = 0; i < mr; i++) {
      const float bi = t->row_bias[i];
      for (int j = 0; j < NR; j++) acc[i][j] += bi;
    }
  }
  if (t->col_bias) {
    float cb[NR] = {0};
    for (size_t j = 0; j < nr; j++) cb[j] = t->col_bias[j];
    for (int i = 0; i < MR; i++)
      for (int j = 0; j < NR; j++) acc[i][j] += cb[j];
  }
  const float lo = t->min, hi = t->max;
  if (mr == MR && nr == NR) {
    for (int i = 0; i < MR; i++) {
      float *ci = c + (size_t)i * ldc;
      if (t->load_c)
        for (int j = 0; j < NR; j++) acc[i][j] += ci[j];
      for (int j = 0; j < NR; j++) {
        float v = acc[i][j];
        v = v < lo ? lo : v;
        v = v > hi ? hi : v;
        ci[j] = v;
      }
    }
  } else {
    for (size_t i = 0; i < mr; i++) {
      float *ci = c + i * ldc;
      for (size_t j = 0; j < nr; j++) {
        float v = acc[i][j];
        if (t->load_c) v += ci[j];
        v = v < lo ? lo : v;
        v = v > hi ? hi : v;
        ci[j] = v;
      }
    }
  }
}
