/* Winograd F(2x2, 3x3) for FP32 2-D convolutions with 3x3 kernels, stride 1, dilation 1, one group
 * (ops/op-conv.c, PATH_WINOGRAD). Each tile of 2x2 outputs reads a 4x4 patch d of the zero-padded input;
 * per input channel c and output channel m, Y = A^T [ (G g G^T) .* (B^T d B) ] A. The 16 products of one
 * position xi, summed over C, are a GEMM M_xi[M x T] = U_xi[M x C] V_xi[C x T] over a block of T tiles.
 *
 * Work unit: (block of tile rows, range of output channels). Tile rows are numbered across the batch
 * (image * TH + tile row), so a block of small images holds tiles of several images. Every output element
 * is computed by the same operations in the same order whatever the block and thread split (K = C in
 * ascending order, one pass), so results do not depend on the thread count. */
#ifndef C8_KERNELS_WINOGRAD_WINOGRAD_H
#define C8_KERNELS_WINOGRAD_WINOGRAD_H

#include <stddef.h>
#include <stdint.h>

struct c8_epilogue;

#define C8_WINO_MAX_TW 1000 /* tiles per tile row (output width up to 2000) */

typedef struct c8_wino_plan {
  int64_t n, c, m;        /* images, input channels, output channels */
  int64_t ih, iw, oh, ow; /* input and output plane sizes */
  int64_t py, px;         /* leading pads */
  int64_t th, tw;         /* tile rows and tile columns per image: ceil(OH / 2), ceil(OW / 2) */
  int64_t rows;           /* tile rows per block */
  int64_t tpad;           /* tiles per block rounded up to 32 (V row length) */
  int64_t blocks;         /* ceil(n * th / rows) */
} c8_wino_plan;

/* Fills the plan's derived fields (th, tw, rows, tpad, blocks) from n, c, m, ih, iw, oh, ow, py, px. */
void c8_wino_plan_init(c8_wino_plan *p);

/* Floats of the transformed weights: 8-row panels, U[panel][xi][c][8] (rows past M zero). */
size_t c8_wino_u_floats(int64_t m, int64_t c);
/* U = G g G^T of weights w [M, C, 3, 3] (computed in double, rounded once), packed as above. */
void c8_wino_weights(const float *w, int64_t m, int64_t c, float *u);

/* Scratch floats per thread for c8_f32_winograd_unit__avx512. */
size_t c8_wino_scratch_floats(const c8_wino_plan *p);

/* Output channels [m0, m1) (m0 a multiple of 8) of the tiles of block `block`: y = clamp(conv + bias, min, max),
   then the fused chain epi (NULL: none) with residual res (same layout as y, or NULL). x [N, C, IH, IW],
   y [N, M, OH, OW]; scratch: c8_wino_scratch_floats, 64-byte aligned. AVX-512 only. */
void c8_f32_winograd_unit__avx512(const c8_wino_plan *p, const float *x, const float *u, int64_t block, int64_t m0,
                                  int64_t m1, const float *bias, float min, float max, const struct c8_epilogue *epi,
                                  const float *res, float *y, float *scratch);

#endif
