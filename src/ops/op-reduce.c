/* Reductions: ReduceSum, ReduceMean, ReduceMax, ReduceMin, ReduceProd, ReduceSumSquare, ReduceL1, ReduceL2,
 * ReduceLogSum, ReduceLogSumExp (opsets 1-18: axes is an attribute, an input from ReduceSum-13 and from
 * opset 18 for the others; keepdims; noop_with_empty_axes), and ArgMax / ArgMin (axis, keepdims,
 * select_last_index).
 *
 * The input shape is simplified once in prepare: size-1 dimensions are dropped and neighbouring dimensions
 * that are both reduced or both kept are merged, which leaves alternating kept/reduced blocks. run walks the
 * input in memory order one innermost block at a time: an innermost reduced block is a contiguous row
 * (summed with 8 independent accumulators), an innermost kept block is accumulated element-wise into a
 * contiguous output row. Both orders are fixed, so results are identical from run to run.
 *
 * With noop_with_empty_axes and no axes, nothing is reduced but the element-wise parts still apply, as in
 * the ONNX reference implementation (ReduceSumSquare returns x*x, ReduceLogSum log(x), ...). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/op.h"

enum { R_SUM, R_MEAN, R_MAX, R_MIN, R_PROD, R_SUMSQ, R_L1, R_L2, R_LOGSUM, R_LOGSUMEXP };
/* How each op accumulates, and what it applies to every element first. */
enum { ACC_SUM, ACC_PROD, ACC_MAX, ACC_MIN };
enum { PRE_NONE, PRE_SQ, PRE_ABS, PRE_EXP };

typedef struct {
  int op;
  c8_dtype dtype;
  int rank; /* simplified shape */
  int64_t dims[C8_MAX_RANK];
  bool red[C8_MAX_RANK];
  int64_t ostride[C8_MAX_RANK]; /* output stride of each simplified dimension, 0 when reduced */
  int64_t n_in, n_out, n_red;
} reduce_state;

static int acc_of(int op) {
  switch (op) {
    case R_MAX:
      return ACC_MAX;
    case R_MIN:
      return ACC_MIN;
    case R_PROD:
      return ACC_PROD;
    default:
      return ACC_SUM;
  }
}
static int pre_of(int op) {
  switch (op) {
    case R_SUMSQ:
    case R_L2:
      return PRE_SQ;
    case R_L1:
      return PRE_ABS;
    case R_LOGSUMEXP:
      return PRE_EXP;
    default:
      return PRE_NONE;
  }
}

/* One instance per element type. U is the type arithmetic is done in: the unsigned twin for integers,
 * so sums and products wrap instead of overflowing. */
#define DEFINE_REDUCE(SFX, T, U, LOWEST, HIGHEST, EXPF)                                                            \
  static inline T pre_##SFX(int pre, T v, T shift) {                                                               \
    switch (pre) {                                                                                                 \
      case PRE_SQ:                                                                                                 \
        return (T)((U)v * (U)v);                                                                                   \
      case PRE_ABS:                                                                                                \
        return v <= 0 ? (T)((U)0 - (U)v) : v;                                                                      \
      case PRE_EXP:                                                                                                \
        return (T)EXPF(v - shift);                                                                                 \
      default:                                                                                                     \
        return v;                                                                                                  \
    }                                                                                                              \
  }                                                                                                                \
  static inline T combine_##SFX(int acc, T a, T b) {                                                               \
    switch (acc) {                                                                                                 \
      case ACC_PROD:                                                                                               \
        return (T)((U)a * (U)b);                                                                                   \
      case ACC_MAX:                                                                                                \
        return b > a ? b : a;                                                                                      \
      case ACC_MIN:                                                                                                \
        return b < a ? b : a;                                                                                      \
      default:                                                                                                     \
        return (T)((U)a + (U)b);                                                                                   \
    }                                                                                                              \
  }                                                                                                                \
  static T identity_##SFX(int acc) {                                                                               \
    return acc == ACC_PROD ? (T)1 : acc == ACC_MAX ? LOWEST : acc == ACC_MIN ? HIGHEST : (T)0;                     \
  }                                                                                                                \
  /* Reduces a contiguous row to one value. */                                                                     \
  static T row_##SFX(int acc, int pre, const T *x, int64_t n, T shift) {                                           \
    T a[8];                                                                                                        \
    for (int j = 0; j < 8; j++) a[j] = identity_##SFX(acc);                                                        \
    int64_t i = 0;                                                                                                 \
    if (acc == ACC_SUM && pre == PRE_NONE) {                                                                       \
      for (; i + 8 <= n; i += 8)                                                                                   \
        for (int j = 0; j < 8; j++) a[j] = (T)((U)a[j] + (U)x[i + j]);                                             \
    } else if (acc == ACC_SUM && pre == PRE_SQ) {                                                                  \
      for (; i + 8 <= n; i += 8)                                                                                   \
        for (int j = 0; j < 8; j++) a[j] = (T)((U)a[j] + (U)x[i + j] * (U)x[i + j]);                               \
    } else if (acc == ACC_MAX && pre == PRE_NONE) {                                                                \
      for (; i + 8 <= n; i += 8)                                                                                   \
        for (int j = 0; j < 8; j++) a[j] = x[i + j] > a[j] ? x[i + j] : a[j];                                      \
    } else if (acc == ACC_MIN && pre == PRE_NONE) {                                                                \
      for (; i + 8 <= n; i += 8)                                                                                   \
        for (int j = 0; j < 8; j++) a[j] = x[i + j] < a[j] ? x[i + j] : a[j];                                      \
    } else {                                                                                                       \
      for (; i + 8 <= n; i += 8)                                                                                   \
        for (int j = 0; j < 8; j++) a[j] = combine_##SFX(acc, a[j], pre_##SFX(pre, x[i + j], shift));              \
    }                                                                                                              \
    for (int j = 0; i < n; i++, j++) a[j] = combine_##SFX(acc, a[j], pre_##SFX(pre, x[i], shift));                 \
    T l = combine_##SFX(acc, combine_##SFX(acc, a[0], a[4]), combine_##SFX(acc, a[1], a[5]));                      \
    T r = combine_##SFX(acc, combine_##SFX(acc, a[2], a[6]), combine_##SFX(acc, a[3], a[7]));                      \
    return combine_##SFX(acc, l, r);                                                                               \
  }                                                                                                                \
  /* y[j] = acc(y[j], pre(x[j])) over a contiguous row. */                                                         \
  static void into_##SFX(int acc, int pre, const T *x, int64_t n, T *y, const T *shift) {                          \
    if (acc == ACC_SUM && pre == PRE_NONE) {                                                                       \
      for (int64_t j = 0; j < n; j++) y[j] = (T)((U)y[j] + (U)x[j]);                                               \
    } else if (acc == ACC_MAX && pre == PRE_NONE) {                                                                \
      for (int64_t j = 0; j < n; j++) y[j] = x[j] > y[j] ? x[j] : y[j];                                            \
    } else if (acc == ACC_MIN && pre == PRE_NONE) {                                                                \
      for (int64_t j = 0; j < n; j++) y[j] = x[j] < y[j] ? x[j] : y[j];                                            \
    } else {                                                                                                       \
      for (int64_t j = 0; j < n; j++) y[j] = combine_##SFX(acc, y[j], pre_##SFX(pre, x[j], shift ? shift[j] : 0)); \
    }                                                                                                              \
  }                                                                                                                \
  static void pass_##SFX(const reduce_state *s, int acc, int pre, const T *x, T *y, const T *shift) {              \
    const T id = identity_##SFX(acc);                                                                              \
    for (int64_t i = 0; i < s->n_out; i++) y[i] = id;                                                              \
    if (s->n_in == 0) return;                                                                                      \
    const int r = s->rank;                                                                                         \
    const int64_t inner = s->dims[r - 1];                                                                          \
    const bool inner_red = s->red[r - 1];                                                                          \
    const int64_t nseg = s->n_in / inner;                                                                          \
    int64_t idx[C8_MAX_RANK] = {0}, o = 0;                                                                         \
    for (int64_t seg = 0; seg < nseg; seg++) {                                                                     \
      const T *xs = x + seg * inner;                                                                               \
      if (inner_red)                                                                                               \
        y[o] = combine_##SFX(acc, y[o], row_##SFX(acc, pre, xs, inner, shift ? shift[o] : (T)0));                  \
      else                                                                                                         \
        into_##SFX(acc, pre, xs, inner, y + o, shift ? shift + o : NULL);                                          \
      for (int d = r - 2; d >= 0; d--) {                                                                           \
        o += s->ostride[d];                                                                                        \
        if (++idx[d] < s->dims[d]) break;                                                                          \
        o -= s->ostride[d] * s->dims[d];                                                                           \
        idx[d] = 0;                                                                                                \
      }                                                                                                            \
    }                                                                                                              \
  }

DEFINE_REDUCE(f32, float, float, -INFINITY, INFINITY, expf)
DEFINE_REDUCE(f64, double, double, -INFINITY, INFINITY, exp)
DEFINE_REDUCE(i32, int32_t, uint32_t, INT32_MIN, INT32_MAX, (int32_t))
DEFINE_REDUCE(i64, int64_t, uint64_t, INT64_MIN, INT64_MAX, (int64_t))
DEFINE_REDUCE(u8, uint8_t, uint8_t, 0, UINT8_MAX, (uint8_t))
DEFINE_REDUCE(s8, int8_t, uint8_t, INT8_MIN, INT8_MAX, (int8_t))

static bool reduce_dtype_ok(int op, c8_dtype dt) {
  if (dt == CALIB8_FLOAT || dt == CALIB8_DOUBLE) return true;
  if (dt == CALIB8_INT32 || dt == CALIB8_INT64) return op != R_L2 && op != R_LOGSUM && op != R_LOGSUMEXP;
  if (dt == CALIB8_UINT8 || dt == CALIB8_INT8) return op == R_MAX || op == R_MIN;
  return false;
}

static c8_status reduce_prepare_op(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out,
                                   int op) {
  const c8_node *node = k->node;
  c8_status st = c8_check_inputs(node, n_in, 1, 2);
  if (st) return st;
  if (n_out != 1) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "has %d outputs, expected 1", n_out);
  const c8_tensor *x = in[0];
  if (!x) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "input 0 is missing");
  if (!reduce_dtype_ok(op, x->dtype))
    return c8_node_error(node, CALIB8_UNSUPPORTED, "input 0 is %s, supported: float32, float64%s",
                         calib8_dtype_name(x->dtype),
                         op == R_MAX || op == R_MIN                          ? ", int32, int64, uint8, int8"
                         : op == R_L2 || op == R_LOGSUM || op == R_LOGSUMEXP ? ""
                                                                             : ", int32, int64");
  bool keepdims = c8_attr_int(node, "keepdims", 1) != 0;
  bool noop = c8_attr_int(node, "noop_with_empty_axes", 0) != 0;
  bool reduced[C8_MAX_RANK] = {false};
  int n_axes = 0;
  if (n_in > 1 && in[1]) {
    /* axes as an input: ReduceSum-13, the others from opset 18. */
    const c8_tensor *a = in[1];
    if ((st = c8_check_const(node, a, 1))) return st;
    if (a->dtype != CALIB8_INT64 && a->dtype != CALIB8_INT32)
      return c8_node_error(node, CALIB8_MALFORMED_MODEL, "input 1 (axes) is %s, expected int64",
                           calib8_dtype_name(a->dtype));
    if (a->rank > 1)
      return c8_node_error(node, CALIB8_MALFORMED_MODEL, "input 1 (axes) has shape %s, expected 1-D", C8_SHAPE_STR(a));
    n_axes = (int)c8_numel(a);
    for (int i = 0; i < n_axes; i++) {
      int ax;
      if ((st = c8_norm_axis(node, c8_get_i64(a, i), x->rank, &ax))) return st;
      reduced[ax] = true;
    }
  } else {
    int n = 0;
    const int64_t *axes = c8_attr_ints(node, "axes", &n);
    n_axes = n;
    for (int i = 0; i < n; i++) {
      int ax;
      if ((st = c8_norm_axis(node, axes[i], x->rank, &ax))) return st;
      reduced[ax] = true;
    }
  }
  if (n_axes == 0)
    for (int i = 0; i < x->rank; i++) reduced[i] = !noop;

  reduce_state *s = c8_calloc(1, sizeof *s);
  if (!s) return c8_node_error(node, CALIB8_OUT_OF_MEMORY, "out of memory");
  s->op = op;
  s->dtype = x->dtype;
  s->n_in = c8_numel(x);
  s->n_red = 1;
  /* Output shape, and the simplified shape: drop size-1 dims, merge neighbours with the same role. */
  c8_tensor *y = out[0];
  y->dtype = x->dtype;
  y->rank = 0;
  for (int i = 0; i < x->rank; i++) {
    int64_t d = x->dims[i];
    if (reduced[i]) s->n_red *= d;
    if (!reduced[i])
      y->dims[y->rank++] = d;
    else if (keepdims)
      y->dims[y->rank++] = 1;
    if (d == 1) continue;
    if (s->rank > 0 && s->red[s->rank - 1] == reduced[i]) {
      s->dims[s->rank - 1] *= d;
    } else {
      s->dims[s->rank] = d;
      s->red[s->rank] = reduced[i];
      s->rank++;
    }
  }
  if (s->rank == 0) {
    s->rank = 1;
    s->dims[0] = 1;
    s->red[0] = false;
  }
  int64_t st_out = 1;
  for (int i = s->rank - 1; i >= 0; i--) {
    s->ostride[i] = s->red[i] ? 0 : st_out;
    if (!s->red[i]) st_out *= s->dims[i];
  }
  s->n_out = c8_numel(y);
  k->state = s;
  if (op == R_LOGSUMEXP) k->scratch_bytes = (size_t)s->n_out * calib8_dtype_size(x->dtype);
  return CALIB8_OK;
}

#define DEFINE_REDUCE_RUN(SFX, T, IS_FLOAT)                                                \
  static void run_##SFX(const reduce_state *s, const T *x, T *y, T *shift) {               \
    int op = s->op;                                                                        \
    if (op == R_LOGSUMEXP) {                                                               \
      pass_##SFX(s, ACC_MAX, PRE_NONE, x, shift, NULL);                                    \
      for (int64_t i = 0; i < s->n_out; i++)                                               \
        if (!(shift[i] - shift[i] == 0)) shift[i] = 0; /* infinite or NaN max: no shift */ \
      pass_##SFX(s, ACC_SUM, PRE_EXP, x, y, shift);                                        \
    } else {                                                                               \
      pass_##SFX(s, acc_of(op), pre_of(op), x, y, NULL);                                   \
    }                                                                                      \
    for (int64_t i = 0; i < s->n_out; i++) {                                               \
      if (op == R_MEAN) {                                                                  \
        if (IS_FLOAT)                                                                      \
          y[i] = (T)(y[i] / (T)s->n_red);                                                  \
        else                                                                               \
          y[i] = s->n_red ? (T)(y[i] / (T)s->n_red) : 0;                                   \
      } else if (IS_FLOAT && op == R_L2) {                                                 \
        y[i] = (T)sqrt((double)y[i]);                                                      \
      } else if (IS_FLOAT && op == R_LOGSUM) {                                             \
        y[i] = (T)log((double)y[i]);                                                       \
      } else if (IS_FLOAT && op == R_LOGSUMEXP) {                                          \
        y[i] = (T)(log((double)y[i]) + (double)shift[i]);                                  \
      }                                                                                    \
    }                                                                                      \
  }

DEFINE_REDUCE_RUN(f32, float, 1)
DEFINE_REDUCE_RUN(f64, double, 1)
DEFINE_REDUCE_RUN(i32, int32_t, 0)
DEFINE_REDUCE_RUN(i64, int64_t, 0)
DEFINE_REDUCE_RUN(u8, uint8_t, 0)
DEFINE_REDUCE_RUN(s8, int8_t, 0)

static c8_status reduce_run(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out,
                            void *scratch) {
  (void)n_in, (void)n_out;
  const reduce_state *s = k->state;
  const void *x = in[0]->data;
  void *y = out[0]->data;
  switch (s->dtype) {
    case CALIB8_FLOAT:
      run_f32(s, x, y, scratch);
      break;
    case CALIB8_DOUBLE:
      run_f64(s, x, y, scratch);
      break;
    case CALIB8_INT32:
      run_i32(s, x, y, scratch);
      break;
    case CALIB8_INT64:
      run_i64(s, x, y, scratch);
      break;
    case CALIB8_UINT8:
      run_u8(s, x, y, scratch);
      break;
    case CALIB8_INT8:
      run_s8(s, x, y, scratch);
      break;
    default:
      return c8_node_error(k->node, CALIB8_INTERNAL, "unexpected dtype");
  }
  return CALIB8_OK;
}

#define REDUCE_OP(SYM, OP, NAME) REDUCE_OP_UP(SYM, OP, NAME, NULL)
#define REDUCE_OP_UP(SYM, OP, NAME, UPGRADE)                                                               \
  static c8_status SYM##_prepare(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out) { \
    return reduce_prepare_op(k, in, n_in, out, n_out, OP);                                                         \
  }                                                                                                                \
  const c8_op_def c8_op_##SYM = {.name = NAME, .domain = "", .prepare = SYM##_prepare, .run = reduce_run, \
                                 .qrole = C8_QROLE_NONE, .values = C8_VALUES_COMPUTED,                            \
                                 .batch = C8_BATCH_ANY_AXIS, .fuse = C8_FUSE_NONE, .upgrade = UPGRADE};

/* ReduceSum takes its axes as an input from opset 13 (the others from 18). */
static c8_status reducesum_upgrade(c8_graph *g, int k, int from, int to) {
  return from < 13 && to >= 13 ? c8_upgrade_ints_to_input(g, k, "axes", 1) : CALIB8_OK;
}

REDUCE_OP_UP(reducesum, R_SUM, "ReduceSum", reducesum_upgrade)
REDUCE_OP(reducemean, R_MEAN, "ReduceMean")
REDUCE_OP(reducemax, R_MAX, "ReduceMax")
REDUCE_OP(reducemin, R_MIN, "ReduceMin")
REDUCE_OP(reduceprod, R_PROD, "ReduceProd")
REDUCE_OP(reducesumsquare, R_SUMSQ, "ReduceSumSquare")
REDUCE_OP(reducel1, R_L1, "ReduceL1")
REDUCE_OP(reducel2, R_L2, "ReduceL2")
REDUCE_OP(reducelogsum, R_LOGSUM, "ReduceLogSum")
REDUCE_OP(reducelogsumexp, R_LOGSUMEXP, "ReduceLogSumExp")

/* ---- ArgMax / ArgMin (opsets 1-13): the index of the first (or with select_last_index the last)
 * extreme value along one axis, as int64. ---- */

typedef struct {
  bool is_max, last;
  c8_dtype dtype;
  int64_t outer, n, inner;
} arg_state;

static c8_status arg_prepare(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out,
                             bool is_max) {
  const c8_node *node = k->node;
  c8_status st = c8_check_inputs(node, n_in, 1, 1);
  if (st) return st;
  if (n_out != 1) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "has %d outputs, expected 1", n_out);
  const c8_tensor *x = in[0];
  if (!x) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "input 0 is missing");
  c8_dtype dt = x->dtype;
  if (dt != CALIB8_FLOAT && dt != CALIB8_DOUBLE && dt != CALIB8_INT32 && dt != CALIB8_INT64 && dt != CALIB8_UINT8 &&
      dt != CALIB8_INT8)
    return c8_node_error(node, CALIB8_UNSUPPORTED,
                         "input 0 is %s, supported: float32, float64, int32, int64, uint8, int8",
                         calib8_dtype_name(dt));
  if (x->rank < 1) return c8_node_error(node, CALIB8_INVALID_ARGUMENT, "input 0 is a scalar, expected rank >= 1");
  int axis;
  if ((st = c8_norm_axis(node, c8_attr_int(node, "axis", 0), x->rank, &axis))) return st;
  if (x->dims[axis] == 0)
    return c8_node_error(node, CALIB8_INVALID_ARGUMENT, "input 0 has shape %s: axis %d is empty", C8_SHAPE_STR(x),
                         axis);
  bool keepdims = c8_attr_int(node, "keepdims", 1) != 0;
  arg_state *s = c8_malloc(sizeof *s);
  if (!s) return c8_node_error(node, CALIB8_OUT_OF_MEMORY, "out of memory");
  s->is_max = is_max;
  s->last = c8_attr_int(node, "select_last_index", 0) != 0;
  s->dtype = dt;
  s->outer = s->inner = 1;
  for (int i = 0; i < axis; i++) s->outer *= x->dims[i];
  for (int i = axis + 1; i < x->rank; i++) s->inner *= x->dims[i];
  s->n = x->dims[axis];
  k->state = s;
  k->scratch_bytes = (size_t)s->inner * 8;
  c8_tensor *y = out[0];
  y->dtype = CALIB8_INT64;
  y->rank = 0;
  for (int i = 0; i < x->rank; i++) {
    if (i != axis)
      y->dims[y->rank++] = x->dims[i];
    else if (keepdims)
      y->dims[y->rank++] = 1;
  }
  return CALIB8_OK;
}

/* The general case walks the axis once, comparing whole inner rows (vectorizable). A contiguous axis
 * (inner == 1) takes two passes: the extreme value with 8 independent lanes, then the first (or last)
 * index holding it; this gives the same index as a single strict (or non-strict) comparison scan. */
#define ARG_SCAN(T, TAKE)                                   \
  for (int64_t r = 1; r < n; r++) {                         \
    const T *xr = xo + r * inner;                           \
    for (int64_t i = 0; i < inner; i++)                     \
      if (TAKE(xr[i], best[i])) best[i] = xr[i], yo[i] = r; \
  }
#define GT(a, b) ((a) > (b))
#define GE(a, b) ((a) >= (b))
#define LT(a, b) ((a) < (b))
#define LE(a, b) ((a) <= (b))
#define DEFINE_ARG(SFX, T)                                                               \
  static void arg_##SFX(const arg_state *s, const T *x, int64_t *y, T *best) {           \
    const int64_t n = s->n, inner = s->inner;                                            \
    const bool mx = s->is_max, last = s->last;                                           \
    for (int64_t o = 0; o < s->outer; o++) {                                             \
      const T *xo = x + o * n * inner;                                                   \
      int64_t *yo = y + o * inner;                                                       \
      if (inner == 1) {                                                                  \
        T m[8];                                                                          \
        for (int j = 0; j < 8; j++) m[j] = xo[0];                                        \
        int64_t r = 0;                                                                   \
        if (mx) {                                                                        \
          for (; r + 8 <= n; r += 8)                                                     \
            for (int j = 0; j < 8; j++) m[j] = xo[r + j] > m[j] ? xo[r + j] : m[j];      \
          for (int j = 0; r < n; r++, j++) m[j] = xo[r] > m[j] ? xo[r] : m[j];           \
          for (int j = 1; j < 8; j++) m[0] = m[j] > m[0] ? m[j] : m[0];                  \
        } else {                                                                         \
          for (; r + 8 <= n; r += 8)                                                     \
            for (int j = 0; j < 8; j++) m[j] = xo[r + j] < m[j] ? xo[r + j] : m[j];      \
          for (int j = 0; r < n; r++, j++) m[j] = xo[r] < m[j] ? xo[r] : m[j];           \
          for (int j = 1; j < 8; j++) m[0] = m[j] < m[0] ? m[j] : m[0];                  \
        }                                                                                \
        int64_t idx = 0; /* stays 0 when the value is NaN, as a comparison scan would */ \
        if (last) {                                                                      \
          for (r = n - 1; r >= 0; r--)                                                   \
            if (xo[r] == m[0]) {                                                         \
              idx = r;                                                                   \
              break;                                                                     \
            }                                                                            \
        } else {                                                                         \
          for (r = 0; r < n; r++)                                                        \
            if (xo[r] == m[0]) {                                                         \
              idx = r;                                                                   \
              break;                                                                     \
            }                                                                            \
        }                                                                                \
        yo[0] = idx;                                                                     \
        continue;                                                                        \
      }                                                                                  \
      for (int64_t i = 0; i < inner; i++) best[i] = xo[i], yo[i] = 0;                    \
      if (mx && !last) {                                                                 \
        ARG_SCAN(T, GT)                                                                  \
      } else if (mx) {                                                                   \
        ARG_SCAN(T, GE)                                                                  \
      } else if (!last) {                                                                \
        ARG_SCAN(T, LT)                                                                  \
      } else {                                                                           \
        ARG_SCAN(T, LE)                                                                  \
      }                                                                                  \
    }                                                                                    \
  }

DEFINE_ARG(f32, float)
DEFINE_ARG(f64, double)
DEFINE_ARG(i32, int32_t)
DEFINE_ARG(i64, int64_t)
DEFINE_ARG(u8, uint8_t)
DEFINE_ARG(s8, int8_t)

static c8_status argmax_prepare(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out) {
  return arg_prepare(k, in, n_in, out, n_out, true);
}
static c8_status argmin_prepare(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out) {
  return arg_prepare(k, in, n_in, out, n_out, false);
}

static c8_status arg_run(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out,
                         void *scratch) {
  (void)n_in, (void)n_out;
  const arg_state *s = k->state;
  const void *x = in[0]->data;
  int64_t *y = out[0]->data;
  switch (s->dtype) {
    case CALIB8_FLOAT:
      arg_f32(s, x, y, scratch);
      break;
    case CALIB8_DOUBLE:
      arg_f64(s, x, y, scratch);
      break;
    case CALIB8_INT32:
      arg_i32(s, x, y, scratch);
      break;
    case CALIB8_INT64:
      arg_i64(s, x, y, scratch);
      break;
    case CALIB8_UINT8:
      arg_u8(s, x, y, scratch);
      break;
    case CALIB8_INT8:
      arg_s8(s, x, y, scratch);
      break;
    default:
      return c8_node_error(k->node, CALIB8_INTERNAL, "unexpected dtype");
  }
  return CALIB8_OK;
}

const c8_op_def c8_op_argmax = {
    .name = "ArgMax", .domain = "", .prepare = argmax_prepare, .run = arg_run,
    .qrole = C8_QROLE_NONE, .values = C8_VALUES_COMPUTED, .batch = C8_BATCH_ANY_AXIS, .fuse = C8_FUSE_NONE};
const c8_op_def c8_op_argmin = {
    .name = "ArgMin", .domain = "", .prepare = argmin_prepare, .run = arg_run,
    .qrole = C8_QROLE_NONE, .values = C8_VALUES_COMPUTED, .batch = C8_BATCH_ANY_AXIS, .fuse = C8_FUSE_NONE};
