/* Cast-6/9/13 and CastLike-15 between float32, float64, float16, int8/16/32/64, uint8/16/32/64 and bool.
 * One typed loop per (source, target) pair, generated below; no trip through double for integers, so
 * int64 and uint64 stay exact. Conversions follow C: float to integer truncates toward zero, integer
 * narrowing wraps; to bool is x != 0. Float values outside the target integer range (and NaN), which
 * ONNX and C leave undefined, saturate (NaN gives 0). float16 results round to nearest even.
 * string and bfloat16 are not supported.
 */
#include <stdlib.h>
#include <string.h>

#include "ops/fp-math.h"
#include "ops/op.h"

#define N_DTYPES 17

typedef void (*cast_fn)(const void *x, void *y, int64_t n);

#define DT_f32 CALIB8_FLOAT
#define DT_f64 CALIB8_DOUBLE
#define DT_f16 CALIB8_FLOAT16
#define DT_i8 CALIB8_INT8
#define DT_i16 CALIB8_INT16
#define DT_i32 CALIB8_INT32
#define DT_i64 CALIB8_INT64
#define DT_u8 CALIB8_UINT8
#define DT_u16 CALIB8_UINT16
#define DT_u32 CALIB8_UINT32
#define DT_u64 CALIB8_UINT64
#define DT_b CALIB8_BOOL

/* Saturating float -> integer. */
#define SAT(sfx, T, LO, HI) \
  static inline T sat_##sfx(double v) {                                                   \
    return v != v ? (T)0 : v <= (double)(LO) ? (T)(LO) : v >= (double)(HI) ? (T)(HI) : (T)v; \
  }
SAT(i8, int8_t, INT8_MIN, INT8_MAX)
SAT(i16, int16_t, INT16_MIN, INT16_MAX)
SAT(i32, int32_t, INT32_MIN, INT32_MAX)
SAT(i64, int64_t, INT64_MIN, INT64_MAX)
SAT(u8, uint8_t, 0, UINT8_MAX)
SAT(u16, uint16_t, 0, UINT16_MAX)
SAT(u32, uint32_t, 0, UINT32_MAX)
SAT(u64, uint64_t, 0, UINT64_MAX)

/* CV_<target>_<source kind>(v): F = floating source, I = integer or bool source. */
#define CV_f32_F(v) ((float)(v))
#define CV_f32_I(v) ((float)(v))
#define CV_f64_F(v) ((double)(v))
#define CV_f64_I(v) ((double)(v))
#define CV_f16_F(v) c8_half_from_double((double)(v))
#define CV_f16_I(v) c8_half_from_double((double)(v))
#define CV_b_F(v) ((uint8_t)((v) != 0))
#define CV_b_I(v) ((uint8_t)((v) != 0))
#define CV_i8_F(v) sat_i8(v)
#define CV_i16_F(v) sat_i16(v)
#define CV_i32_F(v) sat_i32(v)
#define CV_i64_F(v) sat_i64(v)
#define CV_u8_F(v) sat_u8(v)
#define CV_u16_F(v) sat_u16(v)
#define CV_u32_F(v) sat_u32(v)
#define CV_u64_F(v) sat_u64(v)
#define CV_i8_I(v) ((int8_t)(v))
#define CV_i16_I(v) ((int16_t)(v))
#define CV_i32_I(v) ((int32_t)(v))
#define CV_i64_I(v) ((int64_t)(v))
#define CV_u8_I(v) ((uint8_t)(v))
#define CV_u16_I(v) ((uint16_t)(v))
#define CV_u32_I(v) ((uint32_t)(v))
#define CV_u64_I(v) ((uint64_t)(v))

#define LD_PLAIN(v) (v)
#define LD_HALF(v) c8_half_to_float(v)

/* X(suffix, stored C type, kind, loader) */
#define SRC_LIST(X)                                                                                        \
  X(f32, float, F, LD_PLAIN) X(f64, double, F, LD_PLAIN) X(f16, uint16_t, F, LD_HALF)                      \
  X(i8, int8_t, I, LD_PLAIN) X(i16, int16_t, I, LD_PLAIN) X(i32, int32_t, I, LD_PLAIN)                    \
  X(i64, int64_t, I, LD_PLAIN) X(u8, uint8_t, I, LD_PLAIN) X(u16, uint16_t, I, LD_PLAIN)                  \
  X(u32, uint32_t, I, LD_PLAIN) X(u64, uint64_t, I, LD_PLAIN) X(b, uint8_t, I, LD_PLAIN)
#define DST_LIST(Y, ss, ST, SK, LD)                                                                         \
  Y(ss, ST, SK, LD, f32, float) Y(ss, ST, SK, LD, f64, double) Y(ss, ST, SK, LD, f16, uint16_t)            \
  Y(ss, ST, SK, LD, i8, int8_t) Y(ss, ST, SK, LD, i16, int16_t) Y(ss, ST, SK, LD, i32, int32_t)            \
  Y(ss, ST, SK, LD, i64, int64_t) Y(ss, ST, SK, LD, u8, uint8_t) Y(ss, ST, SK, LD, u16, uint16_t)          \
  Y(ss, ST, SK, LD, u32, uint32_t) Y(ss, ST, SK, LD, u64, uint64_t) Y(ss, ST, SK, LD, b, uint8_t)

#define GEN_PAIR(ss, ST, SK, LD, ds, DTY)                                  \
  static void cast_##ss##_##ds(const void *x_, void *y_, int64_t n) {      \
    const ST *x = x_;                                                      \
    DTY *y = y_;                                                           \
    for (int64_t i = 0; i < n; i++) y[i] = (DTY)CV_##ds##_##SK(LD(x[i])); \
  }
#define GEN_SRC(ss, ST, SK, LD) DST_LIST(GEN_PAIR, ss, ST, SK, LD)
SRC_LIST(GEN_SRC)

#define TAB_PAIR(ss, ST, SK, LD, ds, DTY) [DT_##ds] = cast_##ss##_##ds,
#define TAB_SRC(ss, ST, SK, LD) [DT_##ss] = {DST_LIST(TAB_PAIR, ss, ST, SK, LD)},
static const cast_fn cast_tab[N_DTYPES][N_DTYPES] = {SRC_LIST(TAB_SRC)};

/* calib8_dtype_name knows only the types calib8 stores; name the other ONNX types in messages too. */
static const char *type_name(int64_t dt) {
  switch (dt) {
    case 8: return "string";
    case 14: return "complex64";
    case 15: return "complex128";
    case 16: return "bfloat16";
    case 17: case 18: case 19: case 20: return "float8";
    default: return calib8_dtype_name((calib8_dtype)dt);
  }
}

static bool castable(int dt) { return dt > 0 && dt < N_DTYPES && cast_tab[dt][CALIB8_FLOAT]; }

static c8_status cast_setup(c8_kernel *k, c8_tensor *const *in, c8_tensor *const *out, int n_out, int64_t to) {
  const c8_node *node = k->node;
  if (!in[0]) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "input 0 is missing");
  if (n_out < 1 || !out[0]) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "output 0 is missing");
  if (!castable(in[0]->dtype))
    return c8_node_error(node, CALIB8_UNSUPPORTED, "casting from %s is not supported", type_name(in[0]->dtype));
  if (to < 0 || to >= N_DTYPES || !castable((int)to))
    return c8_node_error(node, CALIB8_UNSUPPORTED, "casting to %s (data type %lld) is not supported", type_name(to),
                         (long long)to);
  cast_fn *s = c8_malloc(sizeof *s);
  if (!s) return c8_error(CALIB8_OUT_OF_MEMORY, "node '%s': out of memory", node->name);
  *s = cast_tab[in[0]->dtype][to];
  k->state = s;
  out[0]->dtype = (c8_dtype)to;
  out[0]->rank = in[0]->rank;
  memcpy(out[0]->dims, in[0]->dims, sizeof out[0]->dims);
  return CALIB8_OK;
}

static c8_status cast_prepare(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out) {
  c8_status st = c8_check_inputs(k->node, n_in, 1, 1);
  if (st) return st;
  if (!c8_node_attr(k->node, "to")) return c8_node_error(k->node, CALIB8_MALFORMED_MODEL, "has no 'to' attribute");
  return cast_setup(k, in, out, n_out, c8_attr_int(k->node, "to", 0));
}

static c8_status castlike_prepare(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out,
                                  int n_out) {
  c8_status st = c8_check_inputs(k->node, n_in, 2, 2);
  if (st) return st;
  if (!in[1]) return c8_node_error(k->node, CALIB8_MALFORMED_MODEL, "input 1 (target_type) is missing");
  return cast_setup(k, in, out, n_out, in[1]->dtype);
}

static c8_status cast_run(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out,
                          void *scratch) {
  (void)n_in, (void)n_out, (void)scratch;
  const cast_fn *fn = k->state;
  if (in[0]->dtype == out[0]->dtype) memcpy(out[0]->data, in[0]->data, c8_nbytes(in[0]));
  else (*fn)(in[0]->data, out[0]->data, c8_numel(in[0]));
  return CALIB8_OK;
}

const c8_op_def c8_op_cast = {
    .name = "Cast", .domain = "", .prepare = cast_prepare, .run = cast_run,
    .qrole = C8_QROLE_NONE, .values = C8_VALUES_COMPUTED, .batch = C8_BATCH_ANY_AXIS, .fuse = C8_FUSE_NONE};
const c8_op_def c8_op_castlike = {
    .name = "CastLike", .domain = "", .prepare = castlike_prepare, .run = cast_run,
    .qrole = C8_QROLE_NONE, .values = C8_VALUES_COMPUTED, .batch = C8_BATCH_ANY_AXIS, .fuse = C8_FUSE_NONE};
