/* The portable 4x8 f32 GEMM micro-kernel in GNU C vector types (GCC and Clang, any
 * target; no intrinsics, no -march): on x86-64 it compiles to SSE2 with eight 4-wide
 * accumulators, two B vectors and a broadcast of A in the 16 XMM registers.
 * Plain scalar loops vectorized the k loop well, but GCC's SLP vectorizer turned the
 * epilogue into scalar code or tile transposes, which cost a lot when K is small
 * (1x1 convolutions); explicit vectors keep both parts vectorized. Measured in L1,
 * 4x8 beat 6x8, 4x12, 3x16 and 8x8 (which spill) on the SSE2 baseline. */
#include <string.h>

#include "kernels/gemm/gemm.h"

#define MR 4
#define NR 8

typedef float v4f __attribute__((vector_size(16)));
typedef int v4i __attribute__((vector_size(16)));

static inline v4f load4(const float *p) {
  v4f v;
  memcpy(&v, p, sizeof v);
  return v;
}
static inline void store4(float *p, v4f v) { memcpy(p, &v, sizeof v); }
static inline v4f splat(float x) { return (v4f){x, x, x, x}; }
/* max(v, lo) then min(., hi), keeping NaN (comparisons with NaN are false). */
static inline v4f clamp4(v4f v, v4f lo, v4f hi) {
  v4i m = v < lo;
  v = (v4f)(((v4i)lo & m) | ((v4i)v & ~m));
  m = v > hi;
  return (v4f)(((v4i)hi & m) | ((v4i)v & ~m));
}

void c8_f32_gemm_ukernel_4x8__scalar(size_t mr, size_t nr, size_t kc, const float *restrict a,
                                     const float *restrict b, float *restrict c, size_t ldc,
                                     const c8_f32_gemm_tile *restrict t) {
  v4f acc0[MR], acc1[MR];
  for (int i = 0; i < MR; i++) acc0[i] = acc1[i] = splat(0.0f);
  for (size_t k = 0; k < kc; k++) {
    const v4f b0 = load4(b), b1 = load4(b + 4);
    for (int i = 0; i < MR; i++) {
      const v4f ai = splat(a[i]);
      acc0[i] += ai * b0;
      acc1[i] += ai * b1;
    }
    a += MR;
    b += NR;
  }
  /* Epilogue: c = clamp(alpha * acc + row_bias + col_bias (+ c)). */
  static const float zeros[NR];
  const v4f alpha = splat(t->alpha), lo = splat(t->min), hi = splat(t->max);
  const float *rb = t->row_bias ? t->row_bias : zeros;
  if (mr == MR && nr == NR) {
    const float *cbp = t->col_bias ? t->col_bias : zeros;
    const v4f cb0 = load4(cbp), cb1 = load4(cbp + 4);
    for (int i = 0; i < MR; i++) {
      float *ci = c + (size_t)i * ldc;
      const v4f r = splat(rb[i]);
      v4f v0 = acc0[i] * alpha + r + cb0, v1 = acc1[i] * alpha + r + cb1;
      if (t->load_c) {
        v0 += load4(ci);
        v1 += load4(ci + 4);
      }
      store4(ci, clamp4(v0, lo, hi));
      store4(ci + 4, clamp4(v1, lo, hi));
    }
    return;
  }
  float tile[MR][NR];
  for (int i = 0; i < MR; i++) {
    store4(tile[i], acc0[i] * alpha);
    store4(tile[i] + 4, acc1[i] * alpha);
  }
  for (size_t i = 0; i < mr; i++) {
    float *ci = c + i * ldc;
    for (size_t j = 0; j < nr; j++) {
      float x = tile[i][j] + rb[i] + (t->col_bias ? t->col_bias[j] : 0.0f);
      if (t->load_c) x += ci[j];
      x = x < t->min ? t->min : x;
      ci[j] = x > t->max ? t->max : x;
    }
  }
}
