/* The run-time form of a fused elementwise chain (graph/fuse.h): the ops applied to each output element
 * of a convolution as it is written, with per-channel or scalar constants and an optional residual.
 * Each op is computed exactly as its separate operator computes it (same float operations, same order;
 * ISO C does not contract a*b+c), so a fused plan's outputs are bit-identical to an unfused plan's, on
 * every ISA level. */
#ifndef C8_OPS_EPILOGUE_H
#define C8_OPS_EPILOGUE_H

#include "graph/fuse.h"
#include "ops/op.h"

typedef struct c8_epi_rt_op {
  c8_epi_kind kind;
  const float *c; /* one constant per output channel, or NULL: the scalar k */
  float k, a, b;
} c8_epi_rt_op;

typedef struct c8_epilogue c8_epilogue;
typedef void (*c8_epi_apply_fn)(const c8_epilogue *e, int64_t ch0, float *v, size_t ldv, const float *res,
                                size_t ldr, size_t rows, size_t n);

struct c8_epilogue {
  int n_ops;
  c8_epi_rt_op ops[C8_FUSE_MAX_OPS];
  int res_input; /* index into the kernel's fuse_t of the residual tensor, -1 for none */
  c8_epi_apply_fn apply;
};

/* The AVX-512 implementation (kernels/epilogue/f32-epilogue-avx512.c). */
void c8_f32_epilogue__avx512(const c8_epilogue *e, int64_t ch0, float *v, size_t ldv, const float *res, size_t ldr,
                             size_t rows, size_t n);

/* Builds the epilogue of kernel k (k->fuse) for an output of shape `out` (N, M, spatial...): each constant
 * must be float with one value or one per output channel, the residual float of the output's shape.
 * Returns false, leaving nothing to free, when the chain does not fit (the plan then runs it unfused). */
bool c8_epilogue_init(c8_epilogue *e, const c8_kernel *k, const c8_tensor *out);
/* True when the chain is a single Relu or Clip (a GEMM clamp does it): sets *lo and *hi. */
bool c8_epilogue_is_clamp(const c8_epilogue *e, float *lo, float *hi);
/* The residual tensor's data at run time (NULL without one). */
const float *c8_epilogue_residual(const c8_epilogue *e, const c8_kernel *k);

/* Applies the chain to v[0, n), all of output channel ch; res is the matching residual (or NULL). */
static inline void c8_epilogue_apply(const c8_epilogue *e, int64_t ch, float *v, const float *res, size_t n) {
  e->apply(e, ch, v, 0, res, 0, 1, n);
}
/* The same for `rows` rows (channels ch0, ch0 + 1, ...) of n values: row r at v + r*ldv, res + r*ldr. */
static inline void c8_epilogue_apply_rows(const c8_epilogue *e, int64_t ch0, float *v, size_t ldv, const float *res,
                                          size_t ldr, size_t rows, size_t n) {
  e->apply(e, ch0, v, ldv, res, ldr, rows, n);
}

#endif
