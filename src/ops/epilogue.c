/* Fused elementwise chains (ops/epilogue.h). The portable form: the chain is applied in chunks of up to 64
 * elements that stay in L1; each op is a loop the compiler vectorizes, built for the baseline and AVX2 (the
 * same C source, so the same results). AVX-512 runs kernels/epilogue/f32-epilogue-avx512.c instead. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math") /* lets the selects if-convert; results are unchanged */
#endif
#include "ops/epilogue.h"

#include <stdbool.h>
#include <string.h>

#include "core/cpu.h"
#include "ops/fp-math.h"

#define CHUNK 64

_Static_assert(C8_FUSE_MAX_OPS == C8_KERNEL_FUSE_MAX, "c8_kernel.fuse_t holds one tensor per fused op");

static inline float clamp01f(float t) {
  t = t < 0.0f ? 0.0f : t;
  return t > 1.0f ? 1.0f : t;
}

/* The same expressions as op-binary.c, op-unary.c (Relu, Sigmoid, HardSigmoid, HardSwish) and Clip.
   Ops run one after another over a block of up to TILE_ROWS rows x CHUNK columns that stays in L1;
   looping over ops outside the rows keeps the dispatch cost per block, not per row. */
#define TILE_ROWS 8

static inline __attribute__((always_inline)) void apply_body(const c8_epilogue *e, int64_t ch0, float *v, size_t ldv,
                                                             const float *res, size_t ldr, size_t rows, size_t n) {
  /* The branch of Mul(x, f(x)) is computed into t, leaving x in place: the op after SAVE reads x and
     writes t, later ones work on t, MUL_SAVED multiplies x by t. No copies. */
  float t[TILE_ROWS][CHUNK];
  for (size_t i0 = 0; i0 < n; i0 += CHUNK) {
    const size_t m = n - i0 < CHUNK ? n - i0 : CHUNK;
    bool branch = false, first = false; /* in the branch; the branch's first op (reads x) */
    for (int o = 0; o < e->n_ops; o++) {
      const c8_epi_rt_op *op = &e->ops[o];
      const float a = op->a, b = op->b;
      if (op->kind == C8_EPI_SAVE) {
        branch = first = true;
        continue;
      }
      for (size_t r = 0; r < rows; r++) {
        float *x = v + r * ldv + i0;
        const float *in = branch && !first ? t[r] : x; /* may be out: no restrict */
        float *out = branch ? t[r] : x;
        const float c = op->c ? op->c[ch0 + (int64_t)r] : op->k;
        switch (op->kind) {
          case C8_EPI_ADD:
            for (size_t j = 0; j < m; j++) out[j] = in[j] + c;
            break;
          case C8_EPI_SUB:
            for (size_t j = 0; j < m; j++) out[j] = in[j] - c;
            break;
          case C8_EPI_RSUB:
            for (size_t j = 0; j < m; j++) out[j] = c - in[j];
            break;
          case C8_EPI_MUL:
            for (size_t j = 0; j < m; j++) out[j] = in[j] * c;
            break;
          case C8_EPI_DIV:
            for (size_t j = 0; j < m; j++) out[j] = in[j] / c;
            break;
          case C8_EPI_RDIV:
            for (size_t j = 0; j < m; j++) out[j] = c / in[j];
            break;
          case C8_EPI_ADD_RES: {
            const float *restrict rr = res + r * ldr + i0;
            for (size_t j = 0; j < m; j++) out[j] = in[j] + rr[j];
          } break;
          case C8_EPI_RELU:
            for (size_t j = 0; j < m; j++) out[j] = in[j] < 0 ? 0.0f : in[j];
            break;
          case C8_EPI_CLIP:
            for (size_t j = 0; j < m; j++) {
              float u = in[j];
              u = u < a ? a : u;
              out[j] = u > b ? b : u;
            }
            break;
          case C8_EPI_SIGMOID:
            for (size_t j = 0; j < m; j++) out[j] = c8_sigmoidf(in[j]);
            break;
          case C8_EPI_HARDSIGMOID:
            for (size_t j = 0; j < m; j++) out[j] = clamp01f(a * in[j] + b);
            break;
          case C8_EPI_HARDSWISH:
            for (size_t j = 0; j < m; j++) out[j] = in[j] * clamp01f(in[j] * (1.0f / 6.0f) + 0.5f);
            break;
          case C8_EPI_MUL_SAVED: {
            const float *restrict tr = t[r];
            for (size_t j = 0; j < m; j++) x[j] = x[j] * tr[j];
          } break;
          case C8_EPI_SAVE:
            break;
        }
      }
      first = false;
      if (op->kind == C8_EPI_MUL_SAVED) branch = false;
    }
  }
}

#define APPLY_ARGS const c8_epilogue *e, int64_t ch0, float *v, size_t ldv, const float *res, size_t ldr, size_t rows, size_t n
#define APPLY_WRAPPER(name, attr)                                    \
  attr static void name(APPLY_ARGS) {                                \
    for (size_t r0 = 0; r0 < rows; r0 += TILE_ROWS)                  \
      apply_body(e, ch0 + (int64_t)r0, v + r0 * ldv, ldv, res ? res + r0 * ldr : NULL, ldr, \
                 rows - r0 < TILE_ROWS ? rows - r0 : TILE_ROWS, n);  \
  }
APPLY_WRAPPER(apply_base, )
#if defined(__GNUC__) && defined(__x86_64__)
APPLY_WRAPPER(apply_avx2, __attribute__((target("avx2,fma")))) /* fma: c8_sigmoidf's fmaf inline */
#endif

/* A constant that broadcasts over an output [N, M, spatial...] with one value, or one per channel. */
static bool per_channel(const c8_tensor *c, const c8_tensor *out, const float **vec, float *k) {
  if (!c || c->dtype != CALIB8_FLOAT || !c->data || c->rank > out->rank) return false;
  const int64_t n = c8_numel(c);
  if (n == 1) {
    *vec = NULL;
    *k = *(const float *)c->data;
    return true;
  }
  for (int i = 0; i < c->rank; i++) {
    const int axis = out->rank - c->rank + i;
    if (c->dims[i] != 1 && !(axis == 1 && c->dims[i] == out->dims[1])) return false;
  }
  if (n != out->dims[1]) return false;
  *vec = c->data;
  *k = 0.0f;
  return true;
}

bool c8_epilogue_init(c8_epilogue *e, const c8_kernel *k, const c8_tensor *out) {
  memset(e, 0, sizeof *e);
  e->res_input = -1;
  const c8_fusion *f = k->fuse;
  if (!f || out->dtype != CALIB8_FLOAT || out->rank < 2) return false;
  for (int i = 0; i < f->n_ops; i++) {
    const c8_epi_op *op = &f->ops[i];
    c8_epi_rt_op *r = &e->ops[i];
    r->kind = op->kind;
    r->a = op->a;
    r->b = op->b;
    switch (op->kind) {
      case C8_EPI_ADD:
      case C8_EPI_SUB:
      case C8_EPI_RSUB:
      case C8_EPI_MUL:
      case C8_EPI_DIV:
      case C8_EPI_RDIV:
        if (!per_channel(k->fuse_t[i], out, &r->c, &r->k)) return false;
        break;
      case C8_EPI_ADD_RES: {
        const c8_tensor *t = k->fuse_t[i];
        if (!t || t->dtype != CALIB8_FLOAT || !c8_same_shape(t, out) || e->res_input >= 0) return false;
        e->res_input = i;
      } break;
      default:
        break;
    }
  }
  e->n_ops = f->n_ops;
  e->apply = apply_base;
#if defined(__GNUC__) && defined(__x86_64__)
  const c8_isa isa = c8_cpu_isa();
  if (isa >= C8_ISA_AVX512) e->apply = c8_f32_epilogue__avx512;
  else if (isa >= C8_ISA_AVX2) e->apply = apply_avx2;
#endif
  return true;
}

bool c8_epilogue_is_clamp(const c8_epilogue *e, float *lo, float *hi) {
  if (e->n_ops != 1) return false;
  if (e->ops[0].kind == C8_EPI_RELU) {
    *lo = 0.0f, *hi = INFINITY;
    return true;
  }
  if (e->ops[0].kind == C8_EPI_CLIP) {
    *lo = e->ops[0].a, *hi = e->ops[0].b;
    return true;
  }
  return false;
}

const float *c8_epilogue_residual(const c8_epilogue *e, const c8_kernel *k) {
  return e->res_input >= 0 ? k->fuse_t[e->res_input]->data : NULL;
}
