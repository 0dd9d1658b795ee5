/* Unary elementwise operators and activations. ONNX spec: Relu-14, LeakyRelu-16, PRelu is in op-binary.c,
 * Sigmoid-13, HardSigmoid-6, HardSwish-14, Tanh-13, Erf-13, Exp-13, Log-13, Neg-13, Abs-13, Reciprocal-13,
 * Sqrt-13, Floor-13, Ceil-13, Round-11, Sign-13, Elu-6, Selu-6, Celu-12, Softplus-1, Softsign-1,
 * ThresholdedRelu-10, Shrink-9, Gelu-20, Sin/Cos/Tan/Asin/Acos/Atan-7, Sinh/Cosh/Asinh/Acosh/Atanh-9,
 * Not-1, IsNaN-13, IsInf-10, Clip-1/6/11/12/13.
 *
 * float32 Exp, Sigmoid, Tanh, Erf, Gelu, Elu, Selu and Celu use the vectorizable math of fp-math.h (with
 * AVX2 builds of the compute-bound loops picked at prepare); the rest call libm. float16 inputs run the
 * float32 kernel on converted chunks. float64 is supported wherever the spec allows it (computed with libm
 * in double); integer types where the spec allows them (Relu, Abs, Neg, Sign, Clip).
 */
/* Let GCC if-convert the selects of the branch-free math (fp-math.h) so its loops vectorize: with the
 * default -ftrapping-math it refuses to speculate float operations that might raise FP exceptions,
 * which calib8 never inspects. Results are unchanged. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/threadpool.h"
#include "ops/fp-math.h"
#include "ops/op.h"

#define N_DTYPES 17

typedef struct un_state un_state;
typedef void (*un_fn)(const un_state *s, void *y, const void *x, int64_t n);

struct un_state {
  un_fn fn;
  un_fn f32fn; /* float16 mode */
  bool half, out_bool;
  float alpha, beta, gamma;
};

#define UN_DEF_ATTR(name, T, TO, EXPR, ATTR)                                        \
  ATTR static void name(const un_state *s, void *y_, const void *x_, int64_t n) {  \
    const T *x = x_;                                                                \
    TO *y = y_;                                                                     \
    const float alpha = s->alpha, beta = s->beta, gamma = s->gamma;                 \
    (void)alpha, (void)beta, (void)gamma;                                           \
    for (int64_t i = 0; i < n; i++) {                                               \
      const T v = x[i];                                                             \
      y[i] = (TO)(EXPR);                                                            \
    }                                                                               \
  }

#define UN_DEF(name, T, TO, EXPR) UN_DEF_ATTR(name, T, TO, EXPR, )

/* Float op in both precisions: E32 sees a float v, E64 a double v. */
#define UN_F(op, E32, E64)         \
  UN_DEF(op##_f32, float, float, E32) \
  UN_DEF(op##_f64, double, double, E64)
#define TAB_F(op) [CALIB8_FLOAT] = op##_f32, [CALIB8_DOUBLE] = op##_f64
/* Compute-bound float ops also get an AVX2 build of the float32 loop (picked at prepare). */
#if C8_AVX2_CLONES
#define UN_FX(op, E32, E64) UN_F(op, E32, E64) UN_DEF_ATTR(op##_f32_avx2, float, float, E32, C8_TARGET_AVX2)
#define AVX2_PAIR(op) {op##_f32, op##_f32_avx2},
#else
#define UN_FX(op, E32, E64) UN_F(op, E32, E64)
#define AVX2_PAIR(op)
#endif

/* Integer variants, computed through unsigned types so that negation wraps. */
#define UN_SI(op, E)                                \
  UN_DEF(op##_i8, int8_t, int8_t, E(int8_t, uint32_t))    \
  UN_DEF(op##_i16, int16_t, int16_t, E(int16_t, uint32_t)) \
  UN_DEF(op##_i32, int32_t, int32_t, E(int32_t, uint32_t)) \
  UN_DEF(op##_i64, int64_t, int64_t, E(int64_t, uint64_t))
#define UN_UI(op, E)                                   \
  UN_DEF(op##_u8, uint8_t, uint8_t, E(uint8_t, uint32_t))    \
  UN_DEF(op##_u16, uint16_t, uint16_t, E(uint16_t, uint32_t)) \
  UN_DEF(op##_u32, uint32_t, uint32_t, E(uint32_t, uint32_t)) \
  UN_DEF(op##_u64, uint64_t, uint64_t, E(uint64_t, uint64_t))
#define TAB_SI(op) \
  [CALIB8_INT8] = op##_i8, [CALIB8_INT16] = op##_i16, [CALIB8_INT32] = op##_i32, [CALIB8_INT64] = op##_i64
#define TAB_UI(op) \
  [CALIB8_UINT8] = op##_u8, [CALIB8_UINT16] = op##_u16, [CALIB8_UINT32] = op##_u32, [CALIB8_UINT64] = op##_u64

/* ---- kernels ---- */
#define I_RELU(T, U) (v < 0 ? (T)0 : v)
#define I_NEG(T, U) ((T)(0u - (U)v))
#define I_ABS(T, U) (v < 0 ? (T)(0u - (U)v) : v)
#define I_SIGN(T, U) (v > 0 ? (T)1 : v < 0 ? (T)-1 : (T)0)
#define I_ID(T, U) (v)
#define I_USIGN(T, U) (v != 0)

UN_F(relu, v < 0 ? 0.0f : v, v < 0 ? 0.0 : v)
UN_SI(relu, I_RELU)
UN_F(neg, -v, -v)
UN_SI(neg, I_NEG)
UN_F(abs, fabsf(v), fabs(v))
UN_SI(abs, I_ABS)
UN_UI(abs, I_ID)
UN_F(sign, v > 0 ? 1.0f : v < 0 ? -1.0f : v, v > 0 ? 1.0 : v < 0 ? -1.0 : v)
UN_SI(sign, I_SIGN)
UN_UI(sign, I_USIGN)
UN_F(floor, floorf(v), floor(v))
UN_F(ceil, ceilf(v), ceil(v))
UN_F(round, nearbyintf(v), nearbyint(v)) /* ties to even in the default rounding mode, as ONNX requires */
UN_F(reciprocal, 1.0f / v, 1.0 / v)
UN_F(sqrt, sqrtf(v), sqrt(v))
UN_FX(exp, c8_expf(v), exp(v))
UN_F(log, logf(v), log(v))
UN_FX(sigmoid, c8_sigmoidf(v), 1.0 / (1.0 + exp(-v)))
UN_FX(tanh, c8_tanhf(v), tanh(v))
UN_FX(erf, c8_erff(v), erf(v))
UN_F(sin, sinf(v), sin(v))
UN_F(cos, cosf(v), cos(v))
UN_F(tan, tanf(v), tan(v))
UN_F(asin, asinf(v), asin(v))
UN_F(acos, acosf(v), acos(v))
UN_F(atan, atanf(v), atan(v))
UN_F(sinh, sinhf(v), sinh(v))
UN_F(cosh, coshf(v), cosh(v))
UN_F(asinh, asinhf(v), asinh(v))
UN_F(acosh, acoshf(v), acosh(v))
UN_F(atanh, atanhf(v), atanh(v))
UN_F(leaky_relu, v < 0 ? alpha * v : v, v < 0 ? alpha * v : v)
UN_FX(elu, v < 0 ? alpha * c8_expm1f(v) : v, v < 0 ? alpha * expm1(v) : v)
/* Selu: gamma * (alpha * e^x - alpha) for x <= 0, gamma * x above. */
UN_FX(selu, v <= 0 ? gamma * (alpha * c8_expm1f(v)) : gamma * v, v <= 0 ? gamma * (alpha * expm1(v)) : gamma * v)
/* Celu: max(0, x) + min(0, alpha * (exp(x / alpha) - 1)). */
UN_FX(celu, v < 0 ? alpha * c8_expm1f(v / alpha) : v, v < 0 ? alpha * expm1(v / alpha) : v)
UN_F(thresholded_relu, v > alpha ? v : 0.0f, v > alpha ? v : 0.0)
/* max(0, min(1, t)) as selects (fmaxf/fminf are calls that stop vectorization); NaN passes through. */
static inline float clamp01f(float t) {
  t = t < 0.0f ? 0.0f : t;
  return t > 1.0f ? 1.0f : t;
}
static inline double clamp01(double t) {
  t = t < 0.0 ? 0.0 : t;
  return t > 1.0 ? 1.0 : t;
}
UN_FX(hard_sigmoid, clamp01f(alpha * v + beta), clamp01(alpha * v + beta))
/* HardSwish = x * HardSigmoid(x) with alpha = 1/6, beta = 0.5. */
UN_FX(hard_swish, v * clamp01f(v * (1.0f / 6.0f) + 0.5f), v * clamp01(v / 6.0 + 0.5))
/* Softplus log(1 + e^x), written to neither overflow nor lose small values. */
UN_F(softplus, v > 0 ? v + log1pf(expf(-v)) : log1pf(expf(v)), v > 0 ? v + log1p(exp(-v)) : log1p(exp(v)))
UN_FX(softsign, v / (1.0f + fabsf(v)), v / (1.0 + fabs(v)))
/* Shrink: alpha = lambd, beta = bias. */
UN_F(shrink, v < -alpha ? v + beta : v > alpha ? v - beta : 0.0f, v < -alpha ? v + beta : v > alpha ? v - beta : 0.0)
UN_FX(gelu, 0.5f * v * (1.0f + c8_erff(v * 0.70710678118654752f)), 0.5 * v * (1.0 + erf(v * 0.70710678118654752)))
UN_FX(gelu_tanh, 0.5f * v * (1.0f + c8_tanhf(0.79788456080286536f * (v + 0.044715f * v * v * v))),
     0.5 * v * (1.0 + tanh(0.79788456080286536 * (v + 0.044715 * v * v * v))))
UN_DEF(not_b, uint8_t, uint8_t, v == 0)
UN_DEF(isnan_f32, float, uint8_t, v != v)
UN_DEF(isnan_f64, double, uint8_t, v != v)
/* IsInf: alpha = detect_positive, beta = detect_negative. */
UN_DEF(isinf_f32, float, uint8_t, (alpha != 0 && v == INFINITY) || (beta != 0 && v == -INFINITY))
UN_DEF(isinf_f64, double, uint8_t, (alpha != 0 && v == INFINITY) || (beta != 0 && v == -INFINITY))

static const struct {
  un_fn base, avx2;
} avx2_kernels[] = {AVX2_PAIR(exp) AVX2_PAIR(sigmoid) AVX2_PAIR(tanh) AVX2_PAIR(elu) AVX2_PAIR(selu) AVX2_PAIR(celu)
                        AVX2_PAIR(hard_sigmoid) AVX2_PAIR(hard_swish) AVX2_PAIR(softsign) AVX2_PAIR(gelu_tanh)
                            AVX2_PAIR(erf) AVX2_PAIR(gelu){NULL, NULL}};

/* The AVX2 build of a float32 kernel when the CPU has AVX2, else the kernel itself. */
static un_fn best_f32(un_fn f) {
  for (size_t i = 0; avx2_kernels[i].base; i++)
    if (avx2_kernels[i].base == f) return c8_use_avx2() ? avx2_kernels[i].avx2 : f;
  return f;
}

static const un_fn tab_relu[N_DTYPES] = {TAB_F(relu), TAB_SI(relu)};
static const un_fn tab_neg[N_DTYPES] = {TAB_F(neg), TAB_SI(neg)};
static const un_fn tab_abs[N_DTYPES] = {TAB_F(abs), TAB_SI(abs), TAB_UI(abs)};
static const un_fn tab_sign[N_DTYPES] = {TAB_F(sign), TAB_SI(sign), TAB_UI(sign)};
static const un_fn tab_not[N_DTYPES] = {[CALIB8_BOOL] = not_b};
static const un_fn tab_isnan[N_DTYPES] = {TAB_F(isnan)};
static const un_fn tab_isinf[N_DTYPES] = {TAB_F(isinf)};
#define FTAB(op) static const un_fn tab_##op[N_DTYPES] = {TAB_F(op)};
FTAB(floor)
FTAB(ceil)
FTAB(round)
FTAB(reciprocal)
FTAB(sqrt)
FTAB(exp)
FTAB(log)
FTAB(sigmoid)
FTAB(tanh)
FTAB(erf)
FTAB(sin)
FTAB(cos)
FTAB(tan)
FTAB(asin)
FTAB(acos)
FTAB(atan)
FTAB(sinh)
FTAB(cosh)
FTAB(asinh)
FTAB(acosh)
FTAB(atanh)
FTAB(leaky_relu)
FTAB(elu)
FTAB(selu)
FTAB(celu)
FTAB(thresholded_relu)
FTAB(hard_sigmoid)
FTAB(hard_swish)
FTAB(softplus)
FTAB(softsign)
FTAB(shrink)
FTAB(gelu)
FTAB(gelu_tanh)

enum { CHUNK = 256 };

/* float16: convert a chunk to float32, run the float32 kernel, convert back. */
static void half_fn(const un_state *s, void *y, const void *x, int64_t n) {
  float tx[CHUNK], ty[CHUNK];
  const uint16_t *hx = x;
  for (int64_t i0 = 0; i0 < n; i0 += CHUNK) {
    int64_t m = n - i0 < CHUNK ? n - i0 : CHUNK;
    for (int64_t j = 0; j < m; j++) tx[j] = c8_half_to_float(hx[i0 + j]);
    if (s->out_bool) {
      s->f32fn(s, (uint8_t *)y + i0, tx, m);
    } else {
      s->f32fn(s, ty, tx, m);
      for (int64_t j = 0; j < m; j++) ((uint16_t *)y)[i0 + j] = c8_half_from_double(ty[j]);
    }
  }
}

typedef struct un_desc {
  const un_fn *tab;
  bool out_bool;
  const char *a, *b, *c; /* attribute names for alpha, beta, gamma (NULL: none) */
  float da, db, dc;      /* their defaults */
} un_desc;

static c8_status unary_setup(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out,
                             const un_desc *d, un_state **out_state) {
  const c8_node *node = k->node;
  c8_status st = c8_check_inputs(node, n_in, 1, 1);
  if (st) return st;
  if (!in[0]) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "input 0 is missing");
  if (n_out < 1 || !out[0]) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "output 0 is missing");
  un_state *s = c8_calloc(1, sizeof *s);
  if (!s) return c8_error(CALIB8_OUT_OF_MEMORY, "node '%s': out of memory", node->name);
  k->state = s;
  c8_dtype dt = in[0]->dtype;
  if ((unsigned)dt < N_DTYPES && d->tab[dt]) {
    s->fn = dt == CALIB8_FLOAT ? best_f32(d->tab[dt]) : d->tab[dt];
  } else if (dt == CALIB8_FLOAT16 && d->tab[CALIB8_FLOAT]) {
    s->fn = half_fn;
    s->f32fn = best_f32(d->tab[CALIB8_FLOAT]);
    s->half = true;
  } else {
    return c8_node_error(node, CALIB8_UNSUPPORTED, "%s input is not supported", calib8_dtype_name(dt));
  }
  s->out_bool = d->out_bool;
  s->alpha = d->a ? c8_attr_float(node, d->a, d->da) : 0;
  s->beta = d->b ? c8_attr_float(node, d->b, d->db) : 0;
  s->gamma = d->c ? c8_attr_float(node, d->c, d->dc) : 0;
  out[0]->dtype = d->out_bool ? CALIB8_BOOL : dt;
  out[0]->rank = in[0]->rank;
  memcpy(out[0]->dims, in[0]->dims, sizeof out[0]->dims);
  *out_state = s;
  return CALIB8_OK;
}

typedef struct unary_job {
  const un_state *s;
  unsigned char *y;
  const unsigned char *x;
  size_t ysize, xsize;
} unary_job;

static void unary_range(void *ctx, int64_t begin, int64_t end, int thread) {
  (void)thread;
  const unary_job *j = ctx;
  j->s->fn(j->s, j->y + (size_t)begin * j->ysize, j->x + (size_t)begin * j->xsize, end - begin);
}

/* Elementwise, so large tensors are split over the pool by element ranges: each element is computed alone,
   the same whatever the split. */
static c8_status unary_run(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out,
                           void *scratch) {
  (void)n_in, (void)n_out, (void)scratch;
  const un_state *s = k->state;
  const int64_t n = c8_numel(in[0]);
  if (n < 65536 || c8_threadpool_size(k->pool) < 2) {
    s->fn(s, out[0]->data, in[0]->data, n);
    return CALIB8_OK;
  }
  unary_job j = {.s = s, .y = out[0]->data, .x = in[0]->data, .ysize = calib8_dtype_size(out[0]->dtype),
                 .xsize = calib8_dtype_size(in[0]->dtype)};
  c8_parallel_for(k->pool, n, 16384, unary_range, &j);
  return CALIB8_OK;
}

#define UNARY_OP(Name, sym, op, ob, A, DA, B, DB, C, DC, ...)                                                    \
  static c8_status sym##_prepare(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out) { \
    static const un_desc d = {tab_##op, ob, A, B, C, DA, DB, DC};                                              \
    un_state *s = NULL;                                                                                               \
    return unary_setup(k, in, n_in, out, n_out, &d, &s);                                                       \
  }                                                                                                            \
  const c8_op_def c8_op_##sym = {.name = #Name, .domain = "", .prepare = sym##_prepare, .run = unary_run, __VA_ARGS__};
#define SIMPLE_OP(Name, sym, op, ...) UNARY_OP(Name, sym, op, false, NULL, 0, NULL, 0, NULL, 0, __VA_ARGS__)
/* Traits shared by every elementwise op here: no quantized form (FP32), new values, and each output element
   depends on the same element of the input, so samples stay apart whatever axis carries the batch. */
#define ELEMENTWISE .qrole = C8_QROLE_NONE, .values = C8_VALUES_COMPUTED, .batch = C8_BATCH_ANY_AXIS

SIMPLE_OP(Relu, relu, relu, ELEMENTWISE, .fuse = C8_FUSE_RELU, .homogeneous = true)
SIMPLE_OP(Neg, neg, neg, ELEMENTWISE, .fuse = C8_FUSE_NONE)
SIMPLE_OP(Abs, abs, abs, ELEMENTWISE, .fuse = C8_FUSE_NONE)
SIMPLE_OP(Sign, sign, sign, ELEMENTWISE, .fuse = C8_FUSE_NONE)
SIMPLE_OP(Floor, floor, floor, ELEMENTWISE, .fuse = C8_FUSE_NONE)
SIMPLE_OP(Ceil, ceil, ceil, ELEMENTWISE, .fuse = C8_FUSE_NONE)
SIMPLE_OP(Round, round, round, ELEMENTWISE, .fuse = C8_FUSE_NONE)
SIMPLE_OP(Reciprocal, reciprocal, reciprocal, ELEMENTWISE, .fuse = C8_FUSE_NONE)
SIMPLE_OP(Sqrt, sqrt, sqrt, ELEMENTWISE, .fuse = C8_FUSE_NONE)
SIMPLE_OP(Exp, exp, exp, ELEMENTWISE, .fuse = C8_FUSE_NONE)
SIMPLE_OP(Log, log, log, ELEMENTWISE, .fuse = C8_FUSE_NONE)
SIMPLE_OP(Sigmoid, sigmoid, sigmoid, ELEMENTWISE, .fuse = C8_FUSE_SIGMOID)
SIMPLE_OP(Tanh, tanh, tanh, ELEMENTWISE, .fuse = C8_FUSE_NONE)
SIMPLE_OP(Erf, erf, erf, ELEMENTWISE, .fuse = C8_FUSE_NONE)
SIMPLE_OP(Sin, sin, sin, ELEMENTWISE, .fuse = C8_FUSE_NONE)
SIMPLE_OP(Cos, cos, cos, ELEMENTWISE, .fuse = C8_FUSE_NONE)
SIMPLE_OP(Tan, tan, tan, ELEMENTWISE, .fuse = C8_FUSE_NONE)
SIMPLE_OP(Asin, asin, asin, ELEMENTWISE, .fuse = C8_FUSE_NONE)
SIMPLE_OP(Acos, acos, acos, ELEMENTWISE, .fuse = C8_FUSE_NONE)
SIMPLE_OP(Atan, atan, atan, ELEMENTWISE, .fuse = C8_FUSE_NONE)
SIMPLE_OP(Sinh, sinh, sinh, ELEMENTWISE, .fuse = C8_FUSE_NONE)
SIMPLE_OP(Cosh, cosh, cosh, ELEMENTWISE, .fuse = C8_FUSE_NONE)
SIMPLE_OP(Asinh, asinh, asinh, ELEMENTWISE, .fuse = C8_FUSE_NONE)
SIMPLE_OP(Acosh, acosh, acosh, ELEMENTWISE, .fuse = C8_FUSE_NONE)
SIMPLE_OP(Atanh, atanh, atanh, ELEMENTWISE, .fuse = C8_FUSE_NONE)
SIMPLE_OP(HardSwish, hard_swish, hard_swish, ELEMENTWISE, .fuse = C8_FUSE_HARDSWISH)
SIMPLE_OP(Softplus, softplus, softplus, ELEMENTWISE, .fuse = C8_FUSE_NONE)
SIMPLE_OP(Softsign, softsign, softsign, ELEMENTWISE, .fuse = C8_FUSE_NONE)
UNARY_OP(Not, not, not, false, NULL, 0, NULL, 0, NULL, 0, ELEMENTWISE, .fuse = C8_FUSE_NONE)
UNARY_OP(IsNaN, isnan, isnan, true, NULL, 0, NULL, 0, NULL, 0, ELEMENTWISE, .fuse = C8_FUSE_NONE)
UNARY_OP(LeakyRelu, leaky_relu, leaky_relu, false, "alpha", 0.01f, NULL, 0, NULL, 0,
         ELEMENTWISE, .fuse = C8_FUSE_NONE, .homogeneous = true)
UNARY_OP(Elu, elu, elu, false, "alpha", 1.0f, NULL, 0, NULL, 0, ELEMENTWISE, .fuse = C8_FUSE_NONE)
UNARY_OP(Selu, selu, selu, false, "alpha", 1.67326319217681884765625f, NULL, 0, "gamma", 1.05070102214813232421875f,
         ELEMENTWISE, .fuse = C8_FUSE_NONE)
UNARY_OP(Celu, celu, celu, false, "alpha", 1.0f, NULL, 0, NULL, 0, ELEMENTWISE, .fuse = C8_FUSE_NONE)
UNARY_OP(ThresholdedRelu, thresholded_relu, thresholded_relu, false, "alpha", 1.0f, NULL, 0, NULL, 0,
         ELEMENTWISE, .fuse = C8_FUSE_NONE)
UNARY_OP(HardSigmoid, hard_sigmoid, hard_sigmoid, false, "alpha", 0.2f, "beta", 0.5f, NULL, 0,
         ELEMENTWISE, .fuse = C8_FUSE_HARDSIGMOID)
UNARY_OP(Shrink, shrink, shrink, false, "lambd", 0.5f, "bias", 0.0f, NULL, 0, ELEMENTWISE, .fuse = C8_FUSE_NONE)

static c8_status isinf_prepare(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out) {
  static const un_desc d = {.tab = tab_isinf, .out_bool = true};
  un_state *s = NULL;
  c8_status st = unary_setup(k, in, n_in, out, n_out, &d, &s);
  if (st) return st;
  s->alpha = (float)c8_attr_int(k->node, "detect_positive", 1);
  s->beta = (float)c8_attr_int(k->node, "detect_negative", 1);
  return CALIB8_OK;
}
const c8_op_def c8_op_isinf = {.name = "IsInf", .domain = "", .prepare = isinf_prepare, .run = unary_run,
                               ELEMENTWISE, .fuse = C8_FUSE_NONE};

static c8_status gelu_prepare(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out) {
  const char *approx = c8_attr_string(k->node, "approximate", "none");
  bool tanh_approx = strcmp(approx, "tanh") == 0;
  if (!tanh_approx && strcmp(approx, "none") != 0)
    return c8_node_error(k->node, CALIB8_MALFORMED_MODEL, "approximate must be \"none\" or \"tanh\", not \"%s\"",
                         approx);
  static const un_desc exact = {.tab = tab_gelu}, approximate = {.tab = tab_gelu_tanh};
  un_state *s = NULL;
  return unary_setup(k, in, n_in, out, n_out, tanh_approx ? &approximate : &exact, &s);
}
const c8_op_def c8_op_gelu = {.name = "Gelu", .domain = "", .prepare = gelu_prepare, .run = unary_run,
                              ELEMENTWISE, .fuse = C8_FUSE_NONE};

/* ---- Clip: bounds are attributes before opset 11, optional scalar inputs from 11 on ---- */
typedef void (*clip_fn)(void *y, const void *x, int64_t n, const void *lo, const void *hi);

#define GEN_CLIP(sfx, T)                                                               \
  static void clip_##sfx(void *y_, const void *x_, int64_t n, const void *lo_, const void *hi_) { \
    const T *x = x_;                                                                   \
    T *y = y_;                                                                         \
    const T lo = *(const T *)lo_, hi = *(const T *)hi_;                                \
    for (int64_t i = 0; i < n; i++) {                                                  \
      T v = x[i];                                                                      \
      v = v < lo ? lo : v;                                                             \
      y[i] = v > hi ? hi : v;                                                          \
    }                                                                                  \
  }
GEN_CLIP(f32, float)
GEN_CLIP(f64, double)
GEN_CLIP(i8, int8_t)
GEN_CLIP(i16, int16_t)
GEN_CLIP(i32, int32_t)
GEN_CLIP(i64, int64_t)
GEN_CLIP(u8, uint8_t)
GEN_CLIP(u16, uint16_t)
GEN_CLIP(u32, uint32_t)
GEN_CLIP(u64, uint64_t)

typedef struct clip_state {
  clip_fn fn;
  bool attrs;        /* opset < 11 */
  float amin, amax;  /* attribute bounds */
  /* The type's lowest / highest value, the defaults of the optional inputs (8 bytes each). */
  int64_t lowest[1], highest[1];
} clip_state;

static c8_status clip_prepare(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out) {
  const c8_node *node = k->node;
  c8_status st = c8_check_inputs(node, n_in, 1, 3);
  if (st) return st;
  if (!in[0]) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "input 0 is missing");
  if (n_out < 1 || !out[0]) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "output 0 is missing");
  clip_state *s = c8_calloc(1, sizeof *s);
  if (!s) return c8_error(CALIB8_OUT_OF_MEMORY, "node '%s': out of memory", node->name);
  k->state = s;
  c8_dtype dt = in[0]->dtype;
  switch (dt) {
    case CALIB8_FLOAT: s->fn = clip_f32; {
        float lo = -FLT_MAX, hi = FLT_MAX;
        memcpy(s->lowest, &lo, sizeof lo), memcpy(s->highest, &hi, sizeof hi);
      } break;
    case CALIB8_DOUBLE: s->fn = clip_f64; {
        double lo = -DBL_MAX, hi = DBL_MAX;
        memcpy(s->lowest, &lo, sizeof lo), memcpy(s->highest, &hi, sizeof hi);
      } break;
#define INT_CASE(DT, sfx, T, LO, HI)                                  \
  case DT: s->fn = clip_##sfx; {                                      \
      T lo = LO, hi = HI;                                             \
      memcpy(s->lowest, &lo, sizeof lo), memcpy(s->highest, &hi, sizeof hi); \
    } break;
    INT_CASE(CALIB8_INT8, i8, int8_t, INT8_MIN, INT8_MAX)
    INT_CASE(CALIB8_INT16, i16, int16_t, INT16_MIN, INT16_MAX)
    INT_CASE(CALIB8_INT32, i32, int32_t, INT32_MIN, INT32_MAX)
    INT_CASE(CALIB8_INT64, i64, int64_t, INT64_MIN, INT64_MAX)
    INT_CASE(CALIB8_UINT8, u8, uint8_t, 0, UINT8_MAX)
    INT_CASE(CALIB8_UINT16, u16, uint16_t, 0, UINT16_MAX)
    INT_CASE(CALIB8_UINT32, u32, uint32_t, 0, UINT32_MAX)
    INT_CASE(CALIB8_UINT64, u64, uint64_t, 0, UINT64_MAX)
#undef INT_CASE
    default: return c8_node_error(node, CALIB8_UNSUPPORTED, "%s input is not supported", calib8_dtype_name(dt));
  }
  if (k->opset < 11) {
    if (dt != CALIB8_FLOAT && dt != CALIB8_DOUBLE)
      return c8_node_error(node, CALIB8_UNSUPPORTED, "%s input is not supported before opset 11",
                           calib8_dtype_name(dt));
    if (n_in > 1) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "takes one input before opset 11, not %d", n_in);
    s->attrs = true;
    s->amin = c8_attr_float(node, "min", -FLT_MAX);
    s->amax = c8_attr_float(node, "max", FLT_MAX);
  } else {
    for (int i = 1; i < n_in; i++) {
      if (!in[i]) continue;
      if (in[i]->dtype != dt)
        return c8_node_error(node, CALIB8_MALFORMED_MODEL, "input %d is %s but input 0 is %s: the types must match", i,
                             calib8_dtype_name(in[i]->dtype), calib8_dtype_name(dt));
      if (c8_numel(in[i]) > 1)
        return c8_node_error(node, CALIB8_MALFORMED_MODEL, "input %d (%s) has shape %s, expected a scalar", i,
                             i == 1 ? "min" : "max", C8_SHAPE_STR(in[i]));
    }
  }
  out[0]->dtype = dt;
  out[0]->rank = in[0]->rank;
  memcpy(out[0]->dims, in[0]->dims, sizeof out[0]->dims);
  return CALIB8_OK;
}

static c8_status clip_run(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out,
                          void *scratch) {
  (void)n_out, (void)scratch;
  const clip_state *s = k->state;
  const void *lo = s->lowest, *hi = s->highest;
  double dlo, dhi;
  float flo, fhi;
  if (s->attrs) {
    if (in[0]->dtype == CALIB8_FLOAT) {
      flo = s->amin, fhi = s->amax;
      lo = &flo, hi = &fhi;
    } else {
      dlo = s->amin, dhi = s->amax;
      lo = &dlo, hi = &dhi;
    }
  } else {
    /* An omitted bound is NULL or (for some exporters) an empty tensor. */
    if (n_in > 1 && in[1] && c8_numel(in[1]) == 1) lo = in[1]->data;
    if (n_in > 2 && in[2] && c8_numel(in[2]) == 1) hi = in[2]->data;
  }
  s->fn(out[0]->data, in[0]->data, c8_numel(in[0]), lo, hi);
  return CALIB8_OK;
}

/* min and max become inputs at opset 11 (absent bounds stay omitted: no clipping on that side). */
static c8_status clip_upgrade(c8_graph *g, int k, int from, int to) {
  if (from >= 11 || to < 11) return CALIB8_OK;
  c8_status st = c8_upgrade_float_to_input(g, k, "min", 1, false, 0);
  return st ? st : c8_upgrade_float_to_input(g, k, "max", 2, false, 0);
}

const c8_op_def c8_op_clip = {.name = "Clip", .domain = "", .prepare = clip_prepare, .run = clip_run,
                              ELEMENTWISE, .fuse = C8_FUSE_CLIP, .upgrade = clip_upgrade};
