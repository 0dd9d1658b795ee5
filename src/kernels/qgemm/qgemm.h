/* Integer GEMM for quantized layers: C[M,N] = requantize(A[M,K] · B[K,N] + bias), A int8 weights, B uint8
 * activations, int32 accumulation.
 *
 * Rows of C are output channels, columns are pixels (NCHW: a convolution's output plane is one row of C), so the
 * per-channel weight scale, bias and zero-point correction are per row, and a row is contiguous in memory.
 *
 * Layouts ("c4": K in groups of 4, what vpdpbusd reduces per 32-bit lane):
 *   packed A (weights, once at prepare): panels of MR rows; panel p holds kp/4 steps of MR rows x 4 int8
 *     (a[(k/4)*MR*4 + i*4 + k%4]); kp = K rounded up to 4; rows and k past the matrix are 0. Kernels whose
 *     configuration says a16 get the same numbers as int16 in the order w0 w2 w1 w3 per row and step (AVX2).
 *   packed B (activations, per run): panels of NR columns; kp/4 steps of NR columns x 4 uint8
 *     (b[(k/4)*NR*4 + j*4 + k%4]). Rows k >= K hold anything (A is 0 there); columns past N anything.
 * vpdpbusd multiplies u8 by s8, so activations are u8 as they are: int8 activations are packed XOR 0x80
 * (x + 128) with their zero point raised by 128. The zero-point correction -zp_x·Σ_k w[m][k] is folded into the
 * bias once (c8_qu8_gemm_pack_a returns Σ_k w). Weights must have zero point 0 (symmetric, as ONNX Runtime,
 * TensorRT and calib8 quantize them).
 *
 * Requantization (the epilogue, exactly ONNX QuantizeLinear of the float value):
 *   v = (float)(acc + bias[i]) * mult[i]          (mult = s_x * s_w[i] / s_y, fp32)
 *   v += (float)(res[i][j] - res_zp) * res_mult    (optional residual Add, res_mult = s_res / s_y)
 *   y = saturate(round_half_even(v) + zp)          (bounds [lo, hi]: the type's range narrowed by Relu/Clip)
 * computed as cvt_round_even(clamp(v, lo - zp, hi - zp)) + zp, which equals the line above because rounding is
 * monotonic and the bounds are integers, and keeps the float -> int32 conversion in range. Every kernel does
 * the same IEEE operations in the same order (no FMA), so every ISA gives the scalar kernel's bytes.
 * With out_s32 the kernel stores acc + bias as int32 instead (ConvInteger, MatMulInteger). */
#ifndef C8_KERNELS_QGEMM_H
#define C8_KERNELS_QGEMM_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What a micro-kernel needs to finish an mr x nr tile; per-row arrays start at the tile's first row. */
typedef struct c8_qu8_gemm_tile {
  const int32_t *bias; /* mr values (zero-point correction folded in) */
  const float *mult;   /* mr values */
  float vlo, vhi;      /* lo - zp, hi - zp */
  int32_t zp;
  bool out_signed; /* int8 output, else uint8 */
  bool out_s32;    /* store acc + bias as int32 (no requantization) */
  const void *res; /* residual tile (uint8, or int8 when res_signed) at res[i*ldr + j], or NULL */
  size_t ldr;
  float res_mult;
  int32_t res_zp;
  bool res_signed;
} c8_qu8_gemm_tile;

/* c: the tile at c[i*ldc + j] (elements of the output type). kc is a multiple of 4. */
typedef void (*c8_qu8_gemm_ukernel_fn)(size_t mr, size_t nr, size_t kc, const void *a, const uint8_t *b, void *c,
                                       size_t ldc, const c8_qu8_gemm_tile *t);

/* The same with B read in place (no packed panel): k step s of columns [8q, 8q + 8) at bq[q] + koff[s], 8 columns x
   4 uint8 as in a packed panel (the convolution's c4 source, ops/op-qconv.c, when each quarter panel is one
   contiguous run of pixels). */
typedef void (*c8_qu8_gemm_ind_fn)(size_t mr, size_t nr, size_t kc, const void *a, const uint8_t *const *bq,
                                   const int64_t *koff, void *c, size_t ldc, const c8_qu8_gemm_tile *t);
void c8_qu8_gemm_ukernel_8x32c4__avx512vnni_ind(size_t mr, size_t nr, size_t kc, const void *a,
                                                const uint8_t *const *bq, const int64_t *koff, void *c, size_t ldc,
                                                const c8_qu8_gemm_tile *t);

typedef struct c8_qu8_gemm_config {
  const char *name; /* "8x32c4-avx512vnni" */
  const char *isa;
  size_t mr, nr, nc;
  bool a16; /* packed A holds int16 (w0 w2 w1 w3) */
  c8_qu8_gemm_ukernel_fn ukernel;
  c8_qu8_gemm_ind_fn ukernel_ind; /* or NULL */
} c8_qu8_gemm_config;

/* The best configuration c8_cpu_isa() allows (and the AVX-VNNI check), chosen once per call. */
const c8_qu8_gemm_config *c8_qu8_gemm_config_default(void);
/* Every configuration this CPU can run, in .inc order (tests and the bench iterate over them). */
int c8_qu8_gemm_config_count(void);
const c8_qu8_gemm_config *c8_qu8_gemm_config_at(int i);

static inline size_t c8_qu8_round4(size_t k) { return (k + 3) & ~(size_t)3; }

/* Bytes of packed A for M x K weights. */
size_t c8_qu8_gemm_packed_a_bytes(const c8_qu8_gemm_config *cfg, size_t m, size_t k);
/* Packs int8 weights w[i*ldw + k] (M x K) into dst (c8_qu8_gemm_packed_a_bytes, zeroed by the caller or not);
   wsum[i] = Σ_k w[i][k] when wsum is not NULL. */
void c8_qu8_gemm_pack_a(const c8_qu8_gemm_config *cfg, size_t m, size_t k, const int8_t *w, size_t ldw,
                        int32_t *wsum, void *dst);

/* Bytes of one packed B panel set for nc columns and K rows. */
static inline size_t c8_qu8_gemm_packed_b_bytes(const c8_qu8_gemm_config *cfg, size_t nc, size_t k) {
  return (nc + cfg->nr - 1) / cfg->nr * cfg->nr * c8_qu8_round4(k);
}
/* Packs rows [0, K) x columns [n0, n0+nc) of a row-major 8-bit B (b[k*ldb + n]) into NR-column panels at dst;
   flip XORs each byte with 0x80 (int8 activations to uint8). Rows k in [K, round4(K)) are written as 0. */
void c8_qu8_gemm_pack_b(const c8_qu8_gemm_config *cfg, size_t k, const uint8_t *b, size_t ldb, size_t n0,
                        size_t nc, bool flip, uint8_t *dst);

typedef struct c8_qu8_gemm_args {
  size_t m, n, k;
  const void *a_packed; /* c8_qu8_gemm_pack_a with the same config */
  const uint8_t *b;     /* row-major [K, N] 8-bit, row stride ldb */
  size_t ldb;
  bool b_flip;     /* B is int8: packed XOR 0x80 (bias must then be folded with zp + 128) */
  void *c;         /* row-major [M, N] of the output type, row stride ldc */
  size_t ldc;
  const int32_t *bias; /* M values */
  const float *mult;   /* M values (unused with out_s32) */
  int32_t zp, lo, hi;
  bool out_signed, out_s32;
  const void *res; /* [M, N] with row stride ldr, or NULL */
  size_t ldr;
  float res_mult;
  int32_t res_zp;
  bool res_signed;
} c8_qu8_gemm_args;

/* Workspace bytes c8_qu8_gemm needs (one packed B block). */
size_t c8_qu8_gemm_workspace_bytes(const c8_qu8_gemm_config *cfg, size_t n, size_t k);
/* Runs the GEMM (no allocation); K is not blocked (a B panel of round4(K) x NR bytes stays in L1 up to
   K ~ 1500 with NR = 32). workspace: c8_qu8_gemm_workspace_bytes, 64-byte aligned. */
void c8_qu8_gemm(const c8_qu8_gemm_config *cfg, const c8_qu8_gemm_args *g, void *workspace);
/* The same with B already packed (all N columns, panels of NR, c8_qu8_gemm_packed_b_bytes(cfg, N, K)). */
void c8_qu8_gemm_packed(const c8_qu8_gemm_config *cfg, const c8_qu8_gemm_args *g, const uint8_t *b_packed);

/* The scalar epilogue for one value: the reference every kernel matches. */
static inline int32_t c8_qu8_requant_one(int32_t acc, int32_t bias, float mult, const c8_qu8_gemm_tile *t,
                                         size_t i, size_t j) {
  float v = (float)(acc + bias) * mult;
  if (t->res) {
    const int32_t r = t->res_signed ? ((const int8_t *)t->res)[i * t->ldr + j]
                                    : ((const uint8_t *)t->res)[i * t->ldr + j];
    const float rv = (float)(r - t->res_zp) * t->res_mult;
    v = v + rv;
  }
  v = v < t->vlo ? t->vlo : v;
  v = v > t->vhi ? t->vhi : v;
  return (int32_t)nearbyintf(v) + t->zp;
}

#endif
