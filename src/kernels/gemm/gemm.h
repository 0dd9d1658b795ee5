/* Single-precision GEMM: C[M,N] = epilogue(alpha * A[M,K] · B[K,N]).
 *
 * The driver (f32-gemm.c) is cache-blocked in the BLIS/GotoBLAS way: B is packed
 * into KC x NR column panels, A into MR x KC row panels, and a register-blocked
 * micro-kernel computes one MR x NR tile of C from one A panel and one B panel.
 * Micro-kernels are listed in f32-gemm.inc; each lives in its own file
 * (f32-gemm-<MR>x<NR>-<isa>.c) so it can be compiled with its own flags. The
 * driver picks one configuration once per process (c8_f32_gemm_config_default).
 *
 * The epilogue, applied as C is written:
 *   c = clamp(alpha * acc + (accumulate ? c : 0) + bias, min, max)
 * with bias per row (M values), per column (N values) or none. Relu is min = 0,
 * Clip is [min, max]; no clamp is min = -INFINITY, max = INFINITY (NaN passes).
 *
 * A may be packed once ahead of time (constant weights) with c8_f32_gemm_pack_a;
 * the packed layout depends on the configuration's MR, so keep the config with it.
 * B may come from a callback that writes packed panels directly (implicit im2col
 * for convolutions), so no M x K·N im2col matrix is ever materialized. */
#ifndef C8_KERNELS_GEMM_H
#define C8_KERNELS_GEMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum { C8_GEMM_BIAS_NONE = 0, C8_GEMM_BIAS_ROW = 1, C8_GEMM_BIAS_COL = 2 };

struct c8_epilogue;

/* What a micro-kernel needs to finish a tile. */
typedef struct c8_f32_gemm_tile {
  float alpha;
  bool load_c;          /* add the current contents of C */
  const float *row_bias; /* mr values, or NULL */
  const float *col_bias; /* nr values, or NULL */
  float min, max;       /* clamp; -INFINITY/INFINITY for none */
  /* A fused elementwise chain (ops/epilogue.h) applied after the clamp, only given to kernels whose
     configuration says `epi`: tile row i is channel epi_ch0 + i, its residual at epi_res + i * epi_ldr. */
  const struct c8_epilogue *epi;
  int64_t epi_ch0;
  const float *epi_res;
  size_t epi_ldr;
} c8_f32_gemm_tile;

/* Computes the mr x nr (mr <= MR, nr <= NR) tile c[i*ldc + j] from kc steps of
 * a packed A panel (a[k*MR + i]) and a packed B panel (b[k*NR + j]). Panels are
 * zero-padded to MR / NR, so the kernel may compute a full tile and store part. */
typedef void (*c8_f32_gemm_ukernel_fn)(size_t mr, size_t nr, size_t kc, const float *a, const float *b, float *c,
                                       size_t ldc, const c8_f32_gemm_tile *t);

typedef struct c8_f32_gemm_config {
  const char *name; /* "4x8-scalar" */
  size_t mr, nr;
  size_t kc, mc, nc; /* cache blocking (multiples of mr / nr) */
  c8_f32_gemm_ukernel_fn ukernel;
  bool epi; /* the kernel applies c8_f32_gemm_tile.epi (else the driver does, after it) */
} c8_f32_gemm_config;

/* The configuration used by c8_f32_gemm: the best one the CPU supports, chosen once. */
const c8_f32_gemm_config *c8_f32_gemm_config_default(void);
/* Every configuration this CPU can run (tests check each against a reference). */
int c8_f32_gemm_config_count(void);
const c8_f32_gemm_config *c8_f32_gemm_config_at(int i);

/* Writes packed B panels for rows [k0, k0+kc) and columns [n0, n0+nc):
 * column n0 + p*nr + j, row k0 + k goes to dst[p*panel_stride + k*nr + j]; the last
 * panel is zero-padded to nr columns. panel_stride >= kc*nr (the driver pads it by a
 * cache line so that writes striding across panels do not all map to one L1 set). */
typedef void (*c8_f32_pack_b_fn)(const void *ctx, size_t k0, size_t kc, size_t n0, size_t nc, size_t nr,
                                 size_t panel_stride, float *dst);

/* Called on each finished tile of C, after its last K block (still in L1): rows [row, row+rows) and columns
 * [col, col+cols) of this GEMM's C, at c (row stride ldc). Fused activations run here. */
typedef void (*c8_f32_gemm_post_fn)(const void *ctx, size_t row, size_t col, size_t rows, size_t cols, float *c,
                                    size_t ldc);

typedef struct c8_f32_gemm_args {
  size_t m, n, k;
  /* A: either a (row-major [M,K] with row stride lda, or [K,M] when trans_a) or a_packed. */
  const float *a;
  size_t lda;
  bool trans_a;
  const float *a_packed; /* from c8_f32_gemm_pack_a with the same config; a is then unused */
  /* B: either b (row-major [K,N] with row stride ldb, or [N,K] when trans_b) or pack_b. */
  const float *b;
  size_t ldb;
  bool trans_b;
  c8_f32_pack_b_fn pack_b;
  const void *pack_b_ctx;
  /* C: row-major [M,N] with row stride ldc. */
  float *c;
  size_t ldc;
  /* Epilogue. c8_f32_gemm_args_init sets alpha = 1, no bias, no clamp, no accumulate. */
  float alpha;
  bool accumulate;
  int bias_kind; /* C8_GEMM_BIAS_* */
  const float *bias;
  float min, max;
  c8_f32_gemm_post_fn post; /* NULL: none */
  const void *post_ctx;
  /* A fused elementwise chain run on each finished tile after the clamp (NULL: none): row i of C is
     channel epi_ch0 + i; the residual of C[i][j] is epi_res[i * epi_ldr + j] (epi_res may be NULL). */
  const struct c8_epilogue *epi;
  int64_t epi_ch0;
  const float *epi_res;
  size_t epi_ldr;
} c8_f32_gemm_args;

void c8_f32_gemm_args_init(c8_f32_gemm_args *g);

/* Floats needed by c8_f32_gemm_pack_a for an M x K matrix (whole-K panels of MR rows). */
size_t c8_f32_gemm_packed_a_floats(const c8_f32_gemm_config *cfg, size_t m, size_t k);
/* Packs A (row-major [M,K] stride lda, or [K,M] when trans_a) into dst. */
void c8_f32_gemm_pack_a(const c8_f32_gemm_config *cfg, size_t m, size_t k, const float *a, size_t lda, bool trans_a,
                        float *dst);

/* Bytes of workspace c8_f32_gemm needs for these sizes (packing buffers). */
size_t c8_f32_gemm_workspace_bytes(const c8_f32_gemm_config *cfg, size_t m, size_t n, size_t k, bool a_packed);

/* Runs the GEMM with configuration cfg (NULL: the default). workspace must hold
 * c8_f32_gemm_workspace_bytes and be 64-byte aligned. No allocation. */
void c8_f32_gemm(const c8_f32_gemm_config *cfg, const c8_f32_gemm_args *g, void *workspace);

/* Direct-B convolution micro-kernel (f32-dconv-8x32-avx512.c): the raw 8 x 32 sums over kc steps of a
 * packed A panel (MR = 8) and B rows b + koff[k] (32 consecutive floats each; readable past the image:
 * callers leave slack; koff readable C8_DCONV_KOFF_SLACK entries past kc), into the 64-byte aligned
 * tile[8][32], continuing from its contents when `accumulate`. AVX-512 only. */
#define C8_DCONV_KOFF_SLACK 8
void c8_f32_dconv_ukernel_8x32__avx512(size_t kc, const float *a, const float *b, const int64_t *koff,
                                       float *tile, int accumulate);

/* Direct-B convolution micro-kernel for images whose output rows are multiples of 16 wide (in
 * f32-gemm-8x32-avx512.c): the mr x nr (nr <= 32) tile at c of the GEMM product of a packed A panel (MR = 8,
 * kc steps) and B whose row k is 16 floats at b0 + koff[k] followed by 16 floats at b1 + koff[k] (two halves
 * of an output tile that may lie on two output rows), finished exactly like c8_f32_gemm_ukernel_8x32__avx512
 * (bias, clamp, fused chain). Reads 16 floats at b1 + koff[k] even when nr <= 16. AVX-512 only. */
void c8_f32_dconv_ukernel_8x16x2__avx512(size_t mr, size_t nr, size_t kc, const float *a, const float *b0,
                                         const float *b1, const int64_t *koff, float *c, size_t ldc,
                                         const c8_f32_gemm_tile *t);

/* The same for output rows a multiple of 8 wide: row k of B is 8 floats at each of b[0..3] + koff[k] (four
 * quarters of an output tile, each on one output row). Reads 8 floats at every b[j] + koff[k] whatever nr. */
void c8_f32_dconv_ukernel_8x8x4__avx512(size_t mr, size_t nr, size_t kc, const float *a, const float *const b[4],
                                        const int64_t *koff, float *c, size_t ldc, const c8_f32_gemm_tile *t);

/* c8_f32_gemm split over a thread pool by blocks of C (columns when N is wide enough, else rows): each block
 * is an independent c8_f32_gemm with the same K blocking, so results do not depend on the split. Needs
 * c8_f32_gemm_parallel_workspace_bytes of 64-byte aligned workspace; pack_b is not supported. NULL pool:
 * one c8_f32_gemm. */
struct c8_threadpool;
size_t c8_f32_gemm_parallel_workspace_bytes(const c8_f32_gemm_config *cfg, size_t m, size_t n, size_t k,
                                            bool a_packed, int threads);
void c8_f32_gemm_parallel(const c8_f32_gemm_config *cfg, const c8_f32_gemm_args *g, void *workspace,
                          struct c8_threadpool *pool);

#endif
