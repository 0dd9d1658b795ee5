/* Binary, variadic and ternary elementwise operators with numpy broadcasting (src/ops/broadcast.h).
 * ONNX spec: Add-14, Sub-14, Mul-14, Div-14, Pow-15, Max-13, Min-13, Sum-13, Mean-13, PRelu-16, Mod-13,
 * Equal-13/19, Greater-13, Less-13, GreaterOrEqual-16, LessOrEqual-16, And-7, Or-7, Xor-7, BitShift-11,
 * Where-16. Opsets before 7 (the legacy `broadcast`/`axis` attributes of the arithmetic ops) are handled too.
 *
 * Kernels are generated per (operator, dtype) by macros; each has four loops (both inputs contiguous,
 * one of them a repeated scalar, both scalars) so the compiler vectorizes the common cases.
 * Integer semantics: arithmetic wraps (two's complement, computed in unsigned types); Div truncates toward
 * zero like C; integer division or modulo by zero gives 0 (ONNX leaves it undefined; numpy also gives 0).
 * float16 inputs are converted to float32 in chunks, computed with the float32 kernel and rounded back.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/broadcast.h"
#include "ops/fp-math.h"
#include "ops/op.h"

typedef void (*bin_fn)(void *o, const void *a, const void *b, int64_t n, int sa, int sb);

#define N_DTYPES 17

#define DT_f32 CALIB8_FLOAT
#define DT_f64 CALIB8_DOUBLE
#define DT_i8 CALIB8_INT8
#define DT_i16 CALIB8_INT16
#define DT_i32 CALIB8_INT32
#define DT_i64 CALIB8_INT64
#define DT_u8 CALIB8_UINT8
#define DT_u16 CALIB8_UINT16
#define DT_u32 CALIB8_UINT32
#define DT_u64 CALIB8_UINT64

/* X(suffix, C type, unsigned type wide enough to compute in without promotion surprises, op) */
#define FLOAT_TYPES(X, op) X(f32, float, float, op) X(f64, double, double, op)
#define SINT_TYPES(X, op) \
  X(i8, int8_t, uint32_t, op) X(i16, int16_t, uint32_t, op) X(i32, int32_t, uint32_t, op) X(i64, int64_t, uint64_t, op)
#define UINT_TYPES(X, op) \
  X(u8, uint8_t, uint32_t, op) X(u16, uint16_t, uint32_t, op) X(u32, uint32_t, uint32_t, op) \
  X(u64, uint64_t, uint64_t, op)
#define INT_TYPES(X, op) SINT_TYPES(X, op) UINT_TYPES(X, op)
#define NUM_TYPES(X, op) FLOAT_TYPES(X, op) INT_TYPES(X, op)

#define BIN_DEF(name, T, TO, EXPR)                                                      \
  static void name(void *o_, const void *a_, const void *b_, int64_t n, int sa, int sb) { \
    TO *o = o_;                                                                         \
    const T *a = a_, *b = b_;                                                           \
    if (sa && sb) {                                                                     \
      for (int64_t i = 0; i < n; i++) {                                                 \
        const T x = a[i], y = b[i];                                                     \
        o[i] = (TO)(EXPR);                                                              \
      }                                                                                 \
    } else if (sa) {                                                                    \
      const T y = b[0];                                                                 \
      for (int64_t i = 0; i < n; i++) {                                                 \
        const T x = a[i];                                                               \
        o[i] = (TO)(EXPR);                                                              \
      }                                                                                 \
    } else if (sb) {                                                                    \
      const T x = a[0];                                                                 \
      for (int64_t i = 0; i < n; i++) {                                                 \
        const T y = b[i];                                                               \
        o[i] = (TO)(EXPR);                                                              \
      }                                                                                 \
    } else {                                                                            \
      const T x = a[0], y = b[0];                                                       \
      const TO v = (TO)(EXPR);                                                          \
      for (int64_t i = 0; i < n; i++) o[i] = v;                                         \
    }                                                                                   \
  }

/* Same-type result / bool result generators, and table entries. */
#define GEN_SAME(sfx, T, U, op) BIN_DEF(op##_##sfx, T, T, E_##op(T, U, x, y))
#define GEN_BOOL(sfx, T, U, op) BIN_DEF(op##_##sfx, T, uint8_t, E_##op(T, U, x, y))
#define TAB(sfx, T, U, op) [DT_##sfx] = op##_##sfx,

/* ---- expressions ---- */
#define E_add(T, U, x, y) ((T)((U)(x) + (U)(y)))
#define E_sub(T, U, x, y) ((T)((U)(x) - (U)(y)))
#define E_mul(T, U, x, y) ((T)((U)(x) * (U)(y)))
#define E_fdiv(T, U, x, y) ((x) / (y))
#define E_sdiv(T, U, x, y) ((y) == 0 ? (T)0 : (y) == -1 ? (T)(0u - (U)(x)) : (T)((x) / (y)))
#define E_udiv(T, U, x, y) ((y) == 0 ? (T)0 : (T)((x) / (y)))
/* Max/Min propagate NaN from either side, as numpy.maximum and ONNX Runtime do. */
#define E_max(T, U, x, y) (((x) < (y) || (y) != (y)) ? (y) : (x))
#define E_min(T, U, x, y) (((y) < (x) || (y) != (y)) ? (y) : (x))
#define E_eq(T, U, x, y) ((x) == (y))
#define E_gt(T, U, x, y) ((x) > (y))
#define E_lt(T, U, x, y) ((x) < (y))
#define E_ge(T, U, x, y) ((x) >= (y))
#define E_le(T, U, x, y) ((x) <= (y))
#define E_and(T, U, x, y) (((x) != 0) & ((y) != 0))
#define E_or(T, U, x, y) (((x) != 0) | ((y) != 0))
#define E_xor(T, U, x, y) (((x) != 0) ^ ((y) != 0))
#define E_shl(T, U, x, y) ((y) >= sizeof(T) * 8 ? (T)0 : (T)((U)(x) << (y)))
#define E_shr(T, U, x, y) ((y) >= sizeof(T) * 8 ? (T)0 : (T)((U)(x) >> (y)))
#define E_prelu(T, U, x, y) ((x) < 0 ? (T)((U)(y) * (U)(x)) : (x))
/* Mod: fmod=1 is C's fmod / %, the sign of the dividend; fmod=0 is numpy's / Python's, the sign of the divisor. */
#define E_ffmod(T, U, x, y) ((T)fmod((double)(x), (double)(y))) /* fmod is exact, so double is exact */
#define E_fpymod(T, U, x, y) ((T)pymod_f64((double)(x), (double)(y)))
#define E_scmod(T, U, x, y) ((y) == 0 || (y) == -1 ? (T)0 : (T)((x) % (y)))
#define E_spymod(T, U, x, y) ((T)pymod_i64((int64_t)(x), (int64_t)(y)))
#define E_umod(T, U, x, y) ((y) == 0 ? (T)0 : (T)((x) % (y)))

static inline double pymod_f64(double x, double y) {
  double r = fmod(x, y);
  if (r != 0) {
    if ((r < 0) != (y < 0)) r += y;
  } else {
    r = copysign(0.0, y);
  }
  return r;
}
static inline int64_t pymod_i64(int64_t x, int64_t y) {
  if (y == 0 || y == -1) return 0;
  int64_t r = x % y;
  if (r != 0 && ((r < 0) != (y < 0))) r += y;
  return r;
}

/* ---- kernels and tables ---- */
NUM_TYPES(GEN_SAME, add)
NUM_TYPES(GEN_SAME, sub)
NUM_TYPES(GEN_SAME, mul)
NUM_TYPES(GEN_SAME, max)
NUM_TYPES(GEN_SAME, min)
FLOAT_TYPES(GEN_SAME, fdiv)
SINT_TYPES(GEN_SAME, sdiv)
UINT_TYPES(GEN_SAME, udiv)
FLOAT_TYPES(GEN_SAME, ffmod)
FLOAT_TYPES(GEN_SAME, fpymod)
SINT_TYPES(GEN_SAME, scmod)
SINT_TYPES(GEN_SAME, spymod)
UINT_TYPES(GEN_SAME, umod)
FLOAT_TYPES(GEN_SAME, prelu)
SINT_TYPES(GEN_SAME, prelu)
UINT_TYPES(GEN_SAME, shl)
UINT_TYPES(GEN_SAME, shr)
NUM_TYPES(GEN_BOOL, eq)
NUM_TYPES(GEN_BOOL, gt)
NUM_TYPES(GEN_BOOL, lt)
NUM_TYPES(GEN_BOOL, ge)
NUM_TYPES(GEN_BOOL, le)
BIN_DEF(and_b, uint8_t, uint8_t, E_and(uint8_t, uint32_t, x, y))
BIN_DEF(or_b, uint8_t, uint8_t, E_or(uint8_t, uint32_t, x, y))
BIN_DEF(xor_b, uint8_t, uint8_t, E_xor(uint8_t, uint32_t, x, y))

static const bin_fn tab_add[N_DTYPES] = {NUM_TYPES(TAB, add)};
static const bin_fn tab_sub[N_DTYPES] = {NUM_TYPES(TAB, sub)};
static const bin_fn tab_mul[N_DTYPES] = {NUM_TYPES(TAB, mul)};
static const bin_fn tab_max[N_DTYPES] = {NUM_TYPES(TAB, max)};
static const bin_fn tab_min[N_DTYPES] = {NUM_TYPES(TAB, min)};
static const bin_fn tab_div[N_DTYPES] = {FLOAT_TYPES(TAB, fdiv) SINT_TYPES(TAB, sdiv) UINT_TYPES(TAB, udiv)};
static const bin_fn tab_fmod[N_DTYPES] = {FLOAT_TYPES(TAB, ffmod) SINT_TYPES(TAB, scmod) UINT_TYPES(TAB, umod)};
static const bin_fn tab_pymod[N_DTYPES] = {FLOAT_TYPES(TAB, fpymod) SINT_TYPES(TAB, spymod) UINT_TYPES(TAB, umod)};
static const bin_fn tab_prelu[N_DTYPES] = {FLOAT_TYPES(TAB, prelu) SINT_TYPES(TAB, prelu)};
static const bin_fn tab_shl[N_DTYPES] = {UINT_TYPES(TAB, shl)};
static const bin_fn tab_shr[N_DTYPES] = {UINT_TYPES(TAB, shr)};
static const bin_fn tab_eq[N_DTYPES] = {NUM_TYPES(TAB, eq)[CALIB8_BOOL] = eq_u8};
static const bin_fn tab_gt[N_DTYPES] = {NUM_TYPES(TAB, gt)};
static const bin_fn tab_lt[N_DTYPES] = {NUM_TYPES(TAB, lt)};
static const bin_fn tab_ge[N_DTYPES] = {NUM_TYPES(TAB, ge)};
static const bin_fn tab_le[N_DTYPES] = {NUM_TYPES(TAB, le)};
static const bin_fn tab_and[N_DTYPES] = {[CALIB8_BOOL] = and_b};
static const bin_fn tab_or[N_DTYPES] = {[CALIB8_BOOL] = or_b};
static const bin_fn tab_xor[N_DTYPES] = {[CALIB8_BOOL] = xor_b};

/* ---- Pow: the exponent may have another type than the base; the result has the base's type ---- */
static void pow_f32(void *o_, const void *a_, const void *b_, int64_t n, int sa, int sb) {
  float *o = o_;
  const float *a = a_, *b = b_;
  if (!sb && b[0] == 2.0f) { /* x*x is the correctly rounded square, as powf's */
    for (int64_t i = 0; i < n; i++) o[i] = a[i * sa] * a[i * sa];
  } else if (!sb && b[0] == 1.0f) {
    for (int64_t i = 0; i < n; i++) o[i] = a[i * sa];
  } else {
    for (int64_t i = 0; i < n; i++) o[i] = powf(a[i * sa], b[i * sb]);
  }
}
static void pow_f64(void *o_, const void *a_, const void *b_, int64_t n, int sa, int sb) {
  double *o = o_;
  const double *a = a_, *b = b_;
  for (int64_t i = 0; i < n; i++) o[i] = pow(a[i * sa], b[i * sb]);
}
/* Exact integer power with wrap-around; negative exponents truncate 1/x^-e toward zero. */
static int64_t ipow(int64_t x, int64_t e) {
  if (e < 0) return x == 1 ? 1 : x == -1 ? ((e & 1) ? -1 : 1) : 0;
  uint64_t r = 1, b = (uint64_t)x;
  while (e) {
    if (e & 1) r *= b;
    b *= b;
    e >>= 1;
  }
  return (int64_t)r;
}
#define GEN_IPOW(sfx, T, U, op)                                                              \
  static void pow_##sfx(void *o_, const void *a_, const void *b_, int64_t n, int sa, int sb) { \
    T *o = o_;                                                                               \
    const T *a = a_, *b = b_;                                                                \
    for (int64_t i = 0; i < n; i++) o[i] = (T)ipow((int64_t)a[i * sa], (int64_t)b[i * sb]);    \
  }
INT_TYPES(GEN_IPOW, pow)
static const bin_fn tab_pow[N_DTYPES] = {[CALIB8_FLOAT] = pow_f32, [CALIB8_DOUBLE] = pow_f64, INT_TYPES(TAB, pow)};

static double load_f64(const void *p, int64_t i, c8_dtype t) {
  switch (t) {
    case CALIB8_FLOAT: return ((const float *)p)[i];
    case CALIB8_DOUBLE: return ((const double *)p)[i];
    case CALIB8_FLOAT16: return c8_half_to_float(((const uint16_t *)p)[i]);
    case CALIB8_INT8: return ((const int8_t *)p)[i];
    case CALIB8_INT16: return ((const int16_t *)p)[i];
    case CALIB8_INT32: return ((const int32_t *)p)[i];
    case CALIB8_INT64: return (double)((const int64_t *)p)[i];
    case CALIB8_UINT8: return ((const uint8_t *)p)[i];
    case CALIB8_UINT16: return ((const uint16_t *)p)[i];
    case CALIB8_UINT32: return ((const uint32_t *)p)[i];
    case CALIB8_UINT64: return (double)((const uint64_t *)p)[i];
    default: return 0;
  }
}
/* Float to integer saturates (NaN gives 0): C leaves out-of-range conversions undefined. */
static int64_t sat_i64(double v, double lo, double hi) {
  if (v != v) return 0;
  if (v <= lo) return (int64_t)lo;
  if (v >= hi) return v >= 9223372036854775807.0 ? INT64_MAX : (int64_t)hi;
  return (int64_t)v;
}
static void store_f64(void *p, int64_t i, c8_dtype t, double v) {
  switch (t) {
    case CALIB8_FLOAT: ((float *)p)[i] = (float)v; break;
    case CALIB8_DOUBLE: ((double *)p)[i] = v; break;
    case CALIB8_FLOAT16: ((uint16_t *)p)[i] = c8_half_from_double(v); break;
    case CALIB8_INT8: ((int8_t *)p)[i] = (int8_t)sat_i64(v, INT8_MIN, INT8_MAX); break;
    case CALIB8_INT16: ((int16_t *)p)[i] = (int16_t)sat_i64(v, INT16_MIN, INT16_MAX); break;
    case CALIB8_INT32: ((int32_t *)p)[i] = (int32_t)sat_i64(v, INT32_MIN, INT32_MAX); break;
    case CALIB8_INT64: ((int64_t *)p)[i] = sat_i64(v, -9223372036854775808.0, 9223372036854775807.0); break;
    case CALIB8_UINT8: ((uint8_t *)p)[i] = (uint8_t)sat_i64(v, 0, UINT8_MAX); break;
    case CALIB8_UINT16: ((uint16_t *)p)[i] = (uint16_t)sat_i64(v, 0, UINT16_MAX); break;
    case CALIB8_UINT32: ((uint32_t *)p)[i] = (uint32_t)sat_i64(v, 0, UINT32_MAX); break;
    case CALIB8_UINT64:
      ((uint64_t *)p)[i] = v != v || v <= 0 ? 0 : v >= 18446744073709551615.0 ? UINT64_MAX : (uint64_t)v;
      break;
    default: break;
  }
}

/* ---- state and row dispatch ---- */
typedef struct bin_state {
  bin_fn fn;         /* typed kernel (NULL in mixed mode) */
  bin_fn f32fn;      /* float16 mode: the float32 kernel */
  bool half, out_bool, mixed, mean;
  c8_dtype ta, tb, to; /* mixed (Pow with different types) */
  size_t es_in[2], es_out;
  int n_plans;
  c8_bcast plan[]; /* binary ops: 1; variadic: n_inputs - 1 */
} bin_state;

enum { CHUNK = 256 };

static void bin_row(void *ctx, void *o, const void *const *in, const int *s, int64_t n) {
  const bin_state *st = ctx;
  if (st->fn) {
    st->fn(o, in[0], in[1], n, s[0], s[1]);
  } else if (st->half) {
    const uint16_t *a = in[0], *b = in[1];
    float ta[CHUNK], tb[CHUNK], to[CHUNK];
    for (int64_t i0 = 0; i0 < n; i0 += CHUNK) {
      int64_t m = n - i0 < CHUNK ? n - i0 : CHUNK;
      for (int64_t j = 0; j < (s[0] ? m : 1); j++) ta[j] = c8_half_to_float(a[s[0] * (i0 + j)]);
      for (int64_t j = 0; j < (s[1] ? m : 1); j++) tb[j] = c8_half_to_float(b[s[1] * (i0 + j)]);
      if (st->out_bool) {
        st->f32fn((uint8_t *)o + i0, ta, tb, m, s[0], s[1]);
      } else {
        st->f32fn(to, ta, tb, m, s[0], s[1]);
        for (int64_t j = 0; j < m; j++) ((uint16_t *)o)[i0 + j] = c8_half_from_double(to[j]);
      }
    }
  } else { /* mixed-type Pow */
    for (int64_t i = 0; i < n; i++) {
      double x = load_f64(in[0], i * s[0], st->ta), y = load_f64(in[1], i * s[1], st->tb);
      store_f64(o, i, st->to, pow(x, y));
    }
  }
}

static c8_status check_io(const c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out) {
  for (int i = 0; i < n_in; i++)
    if (!in[i]) return c8_node_error(k->node, CALIB8_MALFORMED_MODEL, "input %d is missing", i);
  if (n_out < 1 || !out[0]) return c8_node_error(k->node, CALIB8_MALFORMED_MODEL, "output 0 is missing");
  return CALIB8_OK;
}

static c8_status same_dtypes(const c8_kernel *k, c8_tensor *const *in, int first, int n_in) {
  for (int i = first + 1; i < n_in; i++)
    if (in[i]->dtype != in[first]->dtype)
      return c8_node_error(k->node, CALIB8_MALFORMED_MODEL, "input %d is %s but input %d is %s: the types must match",
                           i, calib8_dtype_name(in[i]->dtype), first, calib8_dtype_name(in[first]->dtype));
  return CALIB8_OK;
}

/* Picks the kernel for dtype, falling back to float32 math for float16. */
static c8_status pick_kernel(const c8_kernel *k, const bin_fn *tab, c8_dtype dt, bin_state *st) {
  if ((unsigned)dt < N_DTYPES && tab[dt]) {
    st->fn = tab[dt];
    return CALIB8_OK;
  }
  if (dt == CALIB8_FLOAT16 && tab[CALIB8_FLOAT]) {
    st->half = true;
    st->f32fn = tab[CALIB8_FLOAT];
    return CALIB8_OK;
  }
  return c8_node_error(k->node, CALIB8_UNSUPPORTED, "%s inputs are not supported", calib8_dtype_name(dt));
}

static bin_state *new_state(int n_plans) {
  bin_state *st = c8_calloc(1, sizeof *st + sizeof(c8_bcast) * (size_t)(n_plans ? n_plans : 1));
  if (st) st->n_plans = n_plans;
  return st;
}

/* Shared prepare of the two-input operators. unidirectional: b must broadcast to a's shape (PRelu). */
static c8_status binary_prepare(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out,
                                const bin_fn *tab, bool out_bool, bool unidirectional) {
  const c8_node *node = k->node;
  c8_status st = c8_check_inputs(node, n_in, 2, 2);
  if (st || (st = check_io(k, in, n_in, out, n_out))) return st;
  if (tab != tab_pow && (st = same_dtypes(k, in, 0, 2))) return st;
  bin_state *s = new_state(1);
  if (!s) return c8_error(CALIB8_OUT_OF_MEMORY, "node '%s': out of memory", node->name);
  k->state = s;
  c8_dtype dt = in[0]->dtype;
  if (tab == tab_pow && in[1]->dtype != dt) {
    /* Mixed-type Pow: computed in double precision, converted to the base's type. */
    static const c8_dtype ok[] = {CALIB8_FLOAT,  CALIB8_DOUBLE, CALIB8_FLOAT16, CALIB8_INT8,   CALIB8_INT16,
                                  CALIB8_INT32,  CALIB8_INT64,  CALIB8_UINT8,   CALIB8_UINT16, CALIB8_UINT32,
                                  CALIB8_UINT64};
    bool oka = false, okb = false;
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) oka |= ok[i] == dt, okb |= ok[i] == in[1]->dtype;
    if (!oka || !okb)
      return c8_node_error(node, CALIB8_UNSUPPORTED, "%s base with %s exponent is not supported",
                           calib8_dtype_name(dt), calib8_dtype_name(in[1]->dtype));
    s->mixed = true;
    s->ta = dt;
    s->tb = in[1]->dtype;
    s->to = dt;
  } else if ((st = pick_kernel(k, tab, dt, s))) {
    return st;
  }
  /* Before opset 7, broadcasting needed broadcast=1 and aligned b at `axis` (default: trailing). */
  c8_tensor bv = *in[1];
  if (k->opset < 7 && tab == tab_prelu) {
    /* PRelu-6 applies a 1-D slope of C values along the channel axis 1, as PyTorch exported it. */
    if (bv.rank == 1 && bv.dims[0] > 1 && in[0]->rank >= 2 && in[0]->dims[1] == bv.dims[0]) {
      bv.rank = in[0]->rank - 1;
      for (int i = 1; i < bv.rank; i++) bv.dims[i] = 1;
    }
  } else if (k->opset < 7) {
    if (c8_attr_int(node, "broadcast", 0)) {
      int64_t axis = c8_attr_int(node, "axis", in[0]->rank - in[1]->rank);
      if (axis < 0) axis += in[0]->rank;
      if (axis < 0 || axis + in[1]->rank > in[0]->rank)
        return c8_node_error(node, CALIB8_MALFORMED_MODEL, "axis %lld does not fit input 1 %s into input 0 %s",
                             (long long)c8_attr_int(node, "axis", 0), C8_SHAPE_STR(in[1]), C8_SHAPE_STR(in[0]));
      bv.rank = in[0]->rank - (int)axis;
      for (int i = in[1]->rank; i < bv.rank; i++) bv.dims[i] = 1;
      unidirectional = true;
    } else if (!c8_same_shape(in[0], in[1])) {
      return c8_node_error(node, CALIB8_MALFORMED_MODEL,
                           "shapes %s and %s differ and broadcast=0 (opset %d needs broadcast=1 to broadcast)",
                           C8_SHAPE_STR(in[0]), C8_SHAPE_STR(in[1]), k->opset);
    }
  }
  c8_tensor *o = out[0];
  if ((st = c8_broadcast_shape(node, in[0], &bv, o))) return st;
  if (unidirectional && !c8_same_shape(o, in[0]))
    return c8_node_error(node, CALIB8_MALFORMED_MODEL, "input 1 %s does not broadcast to input 0 %s",
                         C8_SHAPE_STR(in[1]), C8_SHAPE_STR(in[0]));
  s->out_bool = out_bool;
  o->dtype = out_bool ? CALIB8_BOOL : dt;
  s->es_in[0] = calib8_dtype_size(in[0]->dtype);
  s->es_in[1] = calib8_dtype_size(in[1]->dtype);
  s->es_out = calib8_dtype_size(o->dtype);
  const c8_tensor *ins[2] = {in[0], &bv};
  c8_bcast_init(&s->plan[0], o, 2, ins);
  return CALIB8_OK;
}

static c8_status binary_run(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out,
                            void *scratch) {
  (void)n_in, (void)n_out, (void)scratch;
  bin_state *s = k->state;
  const void *p[2] = {in[0]->data, in[1]->data};
  c8_bcast_run_par(k->pool, &s->plan[0], out[0]->data, s->es_out, p, s->es_in, bin_row, s);
  return CALIB8_OK;
}

/* Traits shared by the elementwise ops here (Add adds its own: ONNX Runtime has an integer Add): no quantized
   form (FP32), new values, and each output element reads the same element of every (broadcast) input, so
   samples stay apart whatever axis carries the batch (a broadcast that puts the batch on two axes is rejected
   by batch splitting itself). */
#define ELEMENTWISE .qrole = C8_QROLE_NONE, .values = C8_VALUES_COMPUTED, .batch = C8_BATCH_ANY_AXIS
#define BINARY_OP(Name, sym, tab, out_bool, unidir, ...)                                                        \
  static c8_status sym##_prepare(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out) { \
    return binary_prepare(k, in, n_in, out, n_out, tab, out_bool, unidir);                                      \
  }                                                                                                            \
  const c8_op_def c8_op_##sym = {.name = #Name, .domain = "", .prepare = sym##_prepare, .run = binary_run, __VA_ARGS__};

BINARY_OP(Add, add, tab_add, false, false, .qrole = C8_QROLE_CARRIES, .values = C8_VALUES_COMPUTED,
          .batch = C8_BATCH_ANY_AXIS, .fuse = C8_FUSE_ADD)
BINARY_OP(Sub, sub, tab_sub, false, false, ELEMENTWISE, .fuse = C8_FUSE_SUB)
BINARY_OP(Mul, mul, tab_mul, false, false, ELEMENTWISE, .fuse = C8_FUSE_MUL)
BINARY_OP(Div, div, tab_div, false, false, ELEMENTWISE, .fuse = C8_FUSE_DIV)
BINARY_OP(Pow, pow, tab_pow, false, false, ELEMENTWISE, .fuse = C8_FUSE_NONE)
BINARY_OP(PRelu, prelu, tab_prelu, false, true, ELEMENTWISE, .fuse = C8_FUSE_NONE)
BINARY_OP(Equal, equal, tab_eq, true, false, ELEMENTWISE, .fuse = C8_FUSE_NONE)
BINARY_OP(Greater, greater, tab_gt, true, false, ELEMENTWISE, .fuse = C8_FUSE_NONE)
BINARY_OP(Less, less, tab_lt, true, false, ELEMENTWISE, .fuse = C8_FUSE_NONE)
BINARY_OP(GreaterOrEqual, greater_equal, tab_ge, true, false, ELEMENTWISE, .fuse = C8_FUSE_NONE)
BINARY_OP(LessOrEqual, less_equal, tab_le, true, false, ELEMENTWISE, .fuse = C8_FUSE_NONE)
BINARY_OP(And, and, tab_and, true, false, ELEMENTWISE, .fuse = C8_FUSE_NONE)
BINARY_OP(Or, or, tab_or, true, false, ELEMENTWISE, .fuse = C8_FUSE_NONE)
BINARY_OP(Xor, xor, tab_xor, true, false, ELEMENTWISE, .fuse = C8_FUSE_NONE)

static c8_status mod_prepare(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out) {
  int64_t fmod_attr = c8_attr_int(k->node, "fmod", 0);
  if (fmod_attr != 0 && fmod_attr != 1)
    return c8_node_error(k->node, CALIB8_MALFORMED_MODEL, "fmod must be 0 or 1, not %lld", (long long)fmod_attr);
  return binary_prepare(k, in, n_in, out, n_out, fmod_attr ? tab_fmod : tab_pymod, false, false);
}
const c8_op_def c8_op_mod = {.name = "Mod", .domain = "", .prepare = mod_prepare, .run = binary_run,
    ELEMENTWISE, .fuse = C8_FUSE_NONE};

static c8_status bitshift_prepare(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out,
                                  int n_out) {
  const char *dir = c8_attr_string(k->node, "direction", "");
  bool left = strcmp(dir, "LEFT") == 0;
  if (!left && strcmp(dir, "RIGHT") != 0)
    return c8_node_error(k->node, CALIB8_MALFORMED_MODEL, "direction must be \"LEFT\" or \"RIGHT\", not \"%s\"", dir);
  return binary_prepare(k, in, n_in, out, n_out, left ? tab_shl : tab_shr, false, false);
}
const c8_op_def c8_op_bitshift = {.name = "BitShift", .domain = "", .prepare = bitshift_prepare, .run = binary_run,
    ELEMENTWISE, .fuse = C8_FUSE_NONE};

/* ---- Sum, Mean, Max, Min: any number of inputs, folded left to right into the output ---- */
static c8_status variadic_prepare(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out,
                                  const bin_fn *tab, bool mean) {
  const c8_node *node = k->node;
  c8_status st;
  if (n_in < 1) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "needs at least one input");
  if ((st = check_io(k, in, n_in, out, n_out)) || (st = same_dtypes(k, in, 0, n_in))) return st;
  c8_dtype dt = in[0]->dtype;
  if (mean && dt != CALIB8_FLOAT && dt != CALIB8_DOUBLE && dt != CALIB8_FLOAT16)
    return c8_node_error(node, CALIB8_UNSUPPORTED, "%s inputs are not supported (Mean takes floating point)",
                         calib8_dtype_name(dt));
  bin_state *s = new_state(n_in - 1);
  if (!s) return c8_error(CALIB8_OUT_OF_MEMORY, "node '%s': out of memory", node->name);
  k->state = s;
  if ((st = pick_kernel(k, tab, dt, s))) return st;
  c8_tensor *o = out[0];
  if ((st = c8_broadcast_shape_n(node, n_in, (const c8_tensor *const *)in, o))) return st;
  o->dtype = dt;
  s->mean = mean;
  s->es_in[0] = s->es_in[1] = s->es_out = calib8_dtype_size(dt);
  if (n_in == 1) return CALIB8_OK;
  c8_tensor acc = *o;
  for (int i = 1; i < n_in; i++) {
    const c8_tensor *ins[2] = {i == 1 ? in[0] : &acc, in[i]};
    c8_bcast_init(&s->plan[i - 1], o, 2, ins);
  }
  return CALIB8_OK;
}

static c8_status variadic_run(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out,
                              void *scratch) {
  (void)n_out, (void)scratch;
  bin_state *s = k->state;
  c8_tensor *o = out[0];
  if (n_in == 1) memcpy(o->data, in[0]->data, c8_nbytes(o));
  for (int i = 1; i < n_in; i++) {
    const void *p[2] = {i == 1 ? in[0]->data : o->data, in[i]->data};
    c8_bcast_run_par(k->pool, &s->plan[i - 1], o->data, s->es_out, p, s->es_in, bin_row, s);
  }
  if (s->mean && n_in > 1) {
    int64_t n = c8_numel(o);
    if (o->dtype == CALIB8_FLOAT) {
      float *y = o->data, d = (float)n_in;
      for (int64_t i = 0; i < n; i++) y[i] /= d;
    } else if (o->dtype == CALIB8_DOUBLE) {
      double *y = o->data, d = n_in;
      for (int64_t i = 0; i < n; i++) y[i] /= d;
    } else {
      uint16_t *y = o->data;
      for (int64_t i = 0; i < n; i++) y[i] = c8_half_from_double(c8_half_to_float(y[i]) / (float)n_in);
    }
  }
  return CALIB8_OK;
}

#define VARIADIC_OP(Name, sym, tab, mean, ...)                                                                  \
  static c8_status sym##_prepare(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out) { \
    return variadic_prepare(k, in, n_in, out, n_out, tab, mean);                                                \
  }                                                                                                            \
  const c8_op_def c8_op_##sym = {.name = #Name, .domain = "", .prepare = sym##_prepare, .run = variadic_run,       \
                                 __VA_ARGS__};

VARIADIC_OP(Sum, sum, tab_add, false, ELEMENTWISE, .fuse = C8_FUSE_NONE)
VARIADIC_OP(Mean, mean, tab_add, true, ELEMENTWISE, .fuse = C8_FUSE_NONE)
VARIADIC_OP(Max, max, tab_max, false, ELEMENTWISE, .fuse = C8_FUSE_NONE)
VARIADIC_OP(Min, min, tab_min, false, ELEMENTWISE, .fuse = C8_FUSE_NONE)

/* ---- Where(condition, X, Y): three-way broadcast; the kernel only moves elements of X's size ---- */
#define GEN_WHERE(bits)                                                                               \
  static void where_##bits(void *ctx, void *o_, const void *const *in, const int *s, int64_t n) {     \
    (void)ctx;                                                                                        \
    const uint8_t *c = in[0];                                                                         \
    const uint##bits##_t *x = in[1], *y = in[2];                                                      \
    uint##bits##_t *o = o_;                                                                           \
    if (s[0] && s[1] && s[2]) {                                                                       \
      for (int64_t i = 0; i < n; i++) o[i] = c[i] ? x[i] : y[i];                                      \
    } else {                                                                                          \
      const int s0 = s[0], s1 = s[1], s2 = s[2];                                                      \
      for (int64_t i = 0; i < n; i++) o[i] = c[i * s0] ? x[i * s1] : y[i * s2];                       \
    }                                                                                                 \
  }
GEN_WHERE(8)
GEN_WHERE(16)
GEN_WHERE(32)
GEN_WHERE(64)

typedef struct where_state {
  c8_bcast plan;
  c8_bcast_row_fn fn;
  size_t es_in[3], es_out;
} where_state;

static c8_status where_prepare(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out) {
  const c8_node *node = k->node;
  c8_status st = c8_check_inputs(node, n_in, 3, 3);
  if (st || (st = check_io(k, in, n_in, out, n_out))) return st;
  if ((st = c8_check_dtype(node, in[0], 0, CALIB8_BOOL)) || (st = same_dtypes(k, in, 1, 3))) return st;
  size_t es = calib8_dtype_size(in[1]->dtype);
  if (es == 0) return c8_node_error(node, CALIB8_UNSUPPORTED, "%s inputs are not supported",
                                    calib8_dtype_name(in[1]->dtype));
  where_state *s = c8_calloc(1, sizeof *s);
  if (!s) return c8_error(CALIB8_OUT_OF_MEMORY, "node '%s': out of memory", node->name);
  k->state = s;
  c8_tensor *o = out[0];
  if ((st = c8_broadcast_shape_n(node, 3, (const c8_tensor *const *)in, o))) return st;
  o->dtype = in[1]->dtype;
  s->fn = es == 1 ? where_8 : es == 2 ? where_16 : es == 4 ? where_32 : where_64;
  s->es_in[0] = 1;
  s->es_in[1] = s->es_in[2] = s->es_out = es;
  c8_bcast_init(&s->plan, o, 3, (const c8_tensor *const *)in);
  return CALIB8_OK;
}

static c8_status where_run(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out,
                           void *scratch) {
  (void)n_in, (void)n_out, (void)scratch;
  where_state *s = k->state;
  const void *p[3] = {in[0]->data, in[1]->data, in[2]->data};
  c8_bcast_run_par(k->pool, &s->plan, out[0]->data, s->es_out, p, s->es_in, s->fn, NULL);
  return CALIB8_OK;
}

const c8_op_def c8_op_where = {.name = "Where", .domain = "", .prepare = where_prepare, .run = where_run,
    ELEMENTWISE, .fuse = C8_FUSE_NONE};
