/* Pooling, reduction and normalization operators on hand-computed corner cases: ceil_mode output sizes
 * (including the rule that the last window must start inside the input or the left padding),
 * count_include_pad with asymmetric pads and ceil overhang, MaxPool Indices in both storage orders,
 * uint8/int8 max pooling with padding, reductions over negative axes with keepdims=0, noop_with_empty_axes,
 * integer reductions, ArgMax ties, and the normalization ops. Each case builds one node and runs it
 * through c8_op_eval (prepare + run). */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "ops/op.h"

/* ---- building nodes ---- */

static c8_attr a_int(const char *name, int64_t v) {
  return (c8_attr){.name = (char *)name, .type = C8_ATTR_INT, .i = v};
}
static c8_attr a_float(const char *name, float v) {
  return (c8_attr){.name = (char *)name, .type = C8_ATTR_FLOAT, .f = v};
}
static c8_attr a_str(const char *name, const char *s) {
  return (c8_attr){.name = (char *)name, .type = C8_ATTR_STRING, .s = (char *)s};
}
static c8_attr a_ints(const char *name, int n, const int64_t *v) {
  return (c8_attr){.name = (char *)name, .type = C8_ATTR_INTS, .n = n, .ints = (int64_t *)v};
}
#define INTS(name, ...) \
  a_ints(name, (int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), (int64_t[]){__VA_ARGS__})

static c8_tensor tensor(c8_dtype dt, int rank, const int64_t *dims, const void *data) {
  c8_tensor t;
  memset(&t, 0, sizeof t);
  t.dtype = dt;
  t.rank = rank;
  for (int i = 0; i < rank; i++) t.dims[i] = dims[i];
  t.data = (void *)data;
  return t;
}
#define DIMS(...) \
  (int)(sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t)), (int64_t[]) { __VA_ARGS__ }

/* Runs op on the inputs; outputs get data from c8_alloc (freed by free_outs). */
static c8_status eval(const char *op, int opset, c8_attr *attrs, int n_attr, c8_tensor **in, int n_in, c8_tensor **out,
                      int n_out) {
  const c8_op_def *def = c8_op_find("", op);
  if (!def) return c8_error(CALIB8_UNSUPPORTED, "no op %s", op);
  c8_node node;
  memset(&node, 0, sizeof node);
  node.name = (char *)"t";
  node.op_type = (char *)op;
  node.domain = (char *)"";
  node.n_in = n_in;
  node.n_out = n_out;
  node.n_attr = n_attr;
  node.attr = attrs;
  node.def = def;
  for (int i = 0; i < n_out; i++)
    if (out[i]) memset(out[i], 0, sizeof *out[i]);
  return c8_op_eval(&node, opset, in, n_in, out, n_out);
}

static void free_outs(c8_tensor *o, int n) {
  for (int i = 0; i < n; i++) {
    c8_free(o[i].data);
    o[i].data = NULL;
  }
}

static void check_shape(const c8_tensor *t, int rank, const int64_t *dims) {
  CHECK_EQ_INT(t->rank, rank);
  for (int i = 0; i < rank && i < t->rank; i++) CHECK_EQ_INT(t->dims[i], dims[i]);
}

static void check_f32(const c8_tensor *t, const float *want, int64_t n, double tol) {
  CHECK_EQ_INT(c8_numel(t), n);
  CHECK_EQ_INT(t->dtype, CALIB8_FLOAT);
  if (c8_numel(t) != n || !t->data) return;
  for (int64_t i = 0; i < n; i++) CHECK_NEAR(((const float *)t->data)[i], want[i], tol);
}

/* ---- pooling ---- */

static void test_maxpool_ceil_mode(void) {
  /* 5x5 arange, k=2, s=2, ceil: 3x3 outputs, the last window holds one row / column. */
  float x[25];
  for (int i = 0; i < 25; i++) x[i] = (float)i;
  c8_tensor X = tensor(CALIB8_FLOAT, DIMS(1, 1, 5, 5), x), Y;
  c8_attr at[] = {INTS("kernel_shape", 2, 2), INTS("strides", 2, 2), a_int("ceil_mode", 1)};
  c8_tensor *in[] = {&X}, *out[] = {&Y};
  CHECK_EQ_INT(eval("MaxPool", 12, at, 3, in, 1, out, 1), CALIB8_OK);
  check_shape(&Y, DIMS(1, 1, 3, 3));
  check_f32(&Y, (float[]){6, 8, 9, 16, 18, 19, 21, 23, 24}, 9, 0);
  free_outs(&Y, 1);
  /* floor mode: 2x2 */
  at[2] = a_int("ceil_mode", 0);
  CHECK_EQ_INT(eval("MaxPool", 12, at, 3, in, 1, out, 1), CALIB8_OK);
  check_shape(&Y, DIMS(1, 1, 2, 2));
  check_f32(&Y, (float[]){6, 8, 16, 18}, 4, 0);
  free_outs(&Y, 1);
}

static void test_ceil_last_window_rule(void) {
  /* in 4, k 2, s 2, pads (0, 1), ceil: ceil(3/2)+1 = 3 windows, but the third would start at 4, inside
     the right padding, so there are 2. */
  float x[] = {1, 2, 3, 4};
  c8_tensor X = tensor(CALIB8_FLOAT, DIMS(1, 1, 4), x), Y;
  c8_attr at[] = {INTS("kernel_shape", 2), INTS("strides", 2), INTS("pads", 0, 1), a_int("ceil_mode", 1)};
  c8_tensor *in[] = {&X}, *out[] = {&Y};
  CHECK_EQ_INT(eval("MaxPool", 12, at, 4, in, 1, out, 1), CALIB8_OK);
  check_shape(&Y, DIMS(1, 1, 2));
  check_f32(&Y, (float[]){2, 4}, 2, 0);
  free_outs(&Y, 1);
  /* in 6, k 3, s 2, pads (1, 1), ceil: ceil(5/2)+1 = 4; the 4th window starts at 5 < 6 + 1: kept. */
  float x6[] = {1, 2, 3, 4, 5, 6};
  c8_tensor X6 = tensor(CALIB8_FLOAT, DIMS(1, 1, 6), x6);
  c8_attr at6[] = {INTS("kernel_shape", 3), INTS("strides", 2), INTS("pads", 1, 1), a_int("ceil_mode", 1)};
  in[0] = &X6;
  CHECK_EQ_INT(eval("AveragePool", 11, at6, 4, in, 1, out, 1), CALIB8_OK);
  check_shape(&Y, DIMS(1, 1, 4));
  /* windows [-1,1], [1,3], [3,5], [5,7]: valid {1,2}, {2,3,4}, {4,5,6}, {6} */
  check_f32(&Y, (float[]){1.5f, 3, 5, 6}, 4, 1e-6);
  free_outs(&Y, 1);
}

static void test_avgpool_count_include_pad(void) {
  /* x = 1..4, k 3, s 1, pads (2, 1): windows start at -2..2. */
  float x[] = {1, 2, 3, 4};
  c8_tensor X = tensor(CALIB8_FLOAT, DIMS(1, 1, 4), x), Y;
  c8_attr at[] = {INTS("kernel_shape", 3), INTS("pads", 2, 1), a_int("count_include_pad", 0)};
  c8_tensor *in[] = {&X}, *out[] = {&Y};
  CHECK_EQ_INT(eval("AveragePool", 11, at, 3, in, 1, out, 1), CALIB8_OK);
  check_shape(&Y, DIMS(1, 1, 5));
  check_f32(&Y, (float[]){1, 1.5f, 2, 3, 3.5f}, 5, 1e-6);
  free_outs(&Y, 1);
  at[2] = a_int("count_include_pad", 1);
  CHECK_EQ_INT(eval("AveragePool", 11, at, 3, in, 1, out, 1), CALIB8_OK);
  check_f32(&Y, (float[]){1.0f / 3, 1, 2, 3, 7.0f / 3}, 5, 1e-6);
  free_outs(&Y, 1);
  /* ceil overhang beyond the explicit padding is never counted: x = 1..5, k 2, s 2, ceil -> last
     window {5, <outside>} divides by 1 even with count_include_pad. */
  float x5[] = {1, 2, 3, 4, 5};
  c8_tensor X5 = tensor(CALIB8_FLOAT, DIMS(1, 1, 5), x5);
  c8_attr at5[] = {INTS("kernel_shape", 2), INTS("strides", 2), a_int("ceil_mode", 1), a_int("count_include_pad", 1)};
  in[0] = &X5;
  CHECK_EQ_INT(eval("AveragePool", 11, at5, 4, in, 1, out, 1), CALIB8_OK);
  check_shape(&Y, DIMS(1, 1, 3));
  check_f32(&Y, (float[]){1.5f, 3.5f, 5}, 3, 1e-6);
  free_outs(&Y, 1);
}

static void test_avgpool_2d_asymmetric(void) {
  /* 3x3 ones, k 2x2, pads (top 1, left 0, bottom 0, right 1): 3x3 outputs; with count_include_pad the
     corners that touch padding divide by 4, without they average ones. */
  float x[9];
  for (int i = 0; i < 9; i++) x[i] = 1;
  c8_tensor X = tensor(CALIB8_FLOAT, DIMS(1, 1, 3, 3), x), Y;
  c8_attr at[] = {INTS("kernel_shape", 2, 2), INTS("pads", 1, 0, 0, 1), a_int("count_include_pad", 1)};
  c8_tensor *in[] = {&X}, *out[] = {&Y};
  CHECK_EQ_INT(eval("AveragePool", 11, at, 3, in, 1, out, 1), CALIB8_OK);
  check_shape(&Y, DIMS(1, 1, 3, 3));
  check_f32(&Y, (float[]){0.5f, 0.5f, 0.25f, 1, 1, 0.5f, 1, 1, 0.5f}, 9, 1e-6);
  free_outs(&Y, 1);
  at[2] = a_int("count_include_pad", 0);
  CHECK_EQ_INT(eval("AveragePool", 11, at, 3, in, 1, out, 1), CALIB8_OK);
  check_f32(&Y, (float[]){1, 1, 1, 1, 1, 1, 1, 1, 1}, 9, 1e-6);
  free_outs(&Y, 1);
}

static void test_auto_pad(void) {
  /* in 5, k 2, s 2: SAME -> 3 outputs, total pad 1: UPPER pads the end, LOWER the beginning. */
  float x[] = {1, 2, 3, 4, 5};
  c8_tensor X = tensor(CALIB8_FLOAT, DIMS(1, 1, 5), x), Y;
  c8_attr at[] = {INTS("kernel_shape", 2), INTS("strides", 2), a_str("auto_pad", "SAME_UPPER")};
  c8_tensor *in[] = {&X}, *out[] = {&Y};
  CHECK_EQ_INT(eval("AveragePool", 11, at, 3, in, 1, out, 1), CALIB8_OK);
  check_f32(&Y, (float[]){1.5f, 3.5f, 5}, 3, 1e-6);
  free_outs(&Y, 1);
  at[2] = a_str("auto_pad", "SAME_LOWER");
  CHECK_EQ_INT(eval("AveragePool", 11, at, 3, in, 1, out, 1), CALIB8_OK);
  check_f32(&Y, (float[]){1, 2.5f, 4.5f}, 3, 1e-6);
  free_outs(&Y, 1);
  at[2] = a_str("auto_pad", "VALID");
  CHECK_EQ_INT(eval("MaxPool", 12, at, 3, in, 1, out, 1), CALIB8_OK);
  check_f32(&Y, (float[]){2, 4}, 2, 0);
  free_outs(&Y, 1);
}

static void test_maxpool_indices(void) {
  /* two channels of [[1,2,3],[4,5,6]] (+10 for the second), k 2x2, s 1: maxima at (1,1) and (1,2). */
  float x[] = {1, 2, 3, 4, 5, 6, 11, 12, 13, 14, 15, 16};
  c8_tensor X = tensor(CALIB8_FLOAT, DIMS(1, 2, 2, 3), x), Y[2];
  c8_attr at[] = {INTS("kernel_shape", 2, 2), a_int("storage_order", 0)};
  c8_tensor *in[] = {&X}, *out[] = {&Y[0], &Y[1]};
  CHECK_EQ_INT(eval("MaxPool", 12, at, 2, in, 1, out, 2), CALIB8_OK);
  check_shape(&Y[1], DIMS(1, 2, 1, 2));
  CHECK_EQ_INT(Y[1].dtype, CALIB8_INT64);
  const int64_t *idx = Y[1].data;
  CHECK_EQ_INT(idx[0], 4);
  CHECK_EQ_INT(idx[1], 5);
  CHECK_EQ_INT(idx[2], 10);
  CHECK_EQ_INT(idx[3], 11);
  check_f32(&Y[0], (float[]){5, 6, 15, 16}, 4, 0);
  free_outs(Y, 2);
  /* column-major: h + H * w */
  at[1] = a_int("storage_order", 1);
  CHECK_EQ_INT(eval("MaxPool", 12, at, 2, in, 1, out, 2), CALIB8_OK);
  idx = Y[1].data;
  CHECK_EQ_INT(idx[0], 1 + 2 * 1);
  CHECK_EQ_INT(idx[1], 1 + 2 * 2);
  CHECK_EQ_INT(idx[2], 6 + 3);
  CHECK_EQ_INT(idx[3], 6 + 5);
  free_outs(Y, 2);
  /* ties: the first maximum in window order */
  float t[] = {7, 7, 7, 7};
  c8_tensor T = tensor(CALIB8_FLOAT, DIMS(1, 1, 2, 2), t);
  in[0] = &T;
  at[1] = a_int("storage_order", 0);
  CHECK_EQ_INT(eval("MaxPool", 12, at, 2, in, 1, out, 2), CALIB8_OK);
  CHECK_EQ_INT(((int64_t *)Y[1].data)[0], 0);
  free_outs(Y, 2);
}

static void test_maxpool_int8_uint8_padding(void) {
  /* Padding never wins: for uint8 it is not 0 and for int8 not -128 or 0. */
  uint8_t xu[] = {200, 10, 30, 40};
  c8_tensor X = tensor(CALIB8_UINT8, DIMS(1, 1, 2, 2), xu), Y;
  c8_attr at[] = {INTS("kernel_shape", 3, 3), INTS("pads", 1, 1, 1, 1)};
  c8_tensor *in[] = {&X}, *out[] = {&Y};
  CHECK_EQ_INT(eval("MaxPool", 12, at, 2, in, 1, out, 1), CALIB8_OK);
  CHECK_EQ_INT(Y.dtype, CALIB8_UINT8);
  check_shape(&Y, DIMS(1, 1, 2, 2));
  for (int i = 0; i < 4; i++) CHECK_EQ_INT(((uint8_t *)Y.data)[i], 200);
  free_outs(&Y, 1);
  int8_t xs[] = {-5, -3, -7};
  c8_tensor XS = tensor(CALIB8_INT8, DIMS(1, 1, 3), xs);
  c8_attr at1[] = {INTS("kernel_shape", 2), INTS("pads", 1, 1)};
  in[0] = &XS;
  CHECK_EQ_INT(eval("MaxPool", 12, at1, 2, in, 1, out, 1), CALIB8_OK);
  check_shape(&Y, DIMS(1, 1, 4));
  const int8_t *y = Y.data;
  CHECK_EQ_INT(y[0], -5);
  CHECK_EQ_INT(y[1], -3);
  CHECK_EQ_INT(y[2], -3);
  CHECK_EQ_INT(y[3], -7);
  free_outs(&Y, 1);
}

static void test_maxpool_dilation_3d(void) {
  /* 1-D dilation 2, k 2: windows {0,2}, {1,3}, {2,4} */
  float x[] = {5, 1, 2, 9, 3};
  c8_tensor X = tensor(CALIB8_FLOAT, DIMS(1, 1, 5), x), Y;
  c8_attr at[] = {INTS("kernel_shape", 2), INTS("dilations", 2)};
  c8_tensor *in[] = {&X}, *out[] = {&Y};
  CHECK_EQ_INT(eval("MaxPool", 12, at, 2, in, 1, out, 1), CALIB8_OK);
  check_f32(&Y, (float[]){5, 9, 3}, 3, 0);
  free_outs(&Y, 1);
  /* 3-D 2x2x2 cube, k 2x2x2: one output, the max; average = mean */
  float c[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  c8_tensor C = tensor(CALIB8_FLOAT, DIMS(1, 1, 2, 2, 2), c);
  c8_attr at3[] = {INTS("kernel_shape", 2, 2, 2)};
  in[0] = &C;
  CHECK_EQ_INT(eval("MaxPool", 12, at3, 1, in, 1, out, 1), CALIB8_OK);
  check_shape(&Y, DIMS(1, 1, 1, 1, 1));
  check_f32(&Y, (float[]){8}, 1, 0);
  free_outs(&Y, 1);
  CHECK_EQ_INT(eval("AveragePool", 11, at3, 1, in, 1, out, 1), CALIB8_OK);
  check_f32(&Y, (float[]){4.5f}, 1, 1e-6);
  free_outs(&Y, 1);
}

static void test_pool_errors(void) {
  float x[4] = {0};
  c8_tensor X = tensor(CALIB8_FLOAT, DIMS(1, 1, 2, 2), x), Y;
  c8_attr at[] = {INTS("kernel_shape", 3, 3)};
  c8_tensor *in[] = {&X}, *out[] = {&Y};
  CHECK_EQ_INT(eval("MaxPool", 12, at, 1, in, 1, out, 1), CALIB8_INVALID_ARGUMENT);
  CHECK_STR_CONTAINS(calib8_last_error(), "smaller than the kernel extent 3");
  c8_attr bad[] = {INTS("kernel_shape", 2)};
  CHECK_EQ_INT(eval("MaxPool", 12, bad, 1, in, 1, out, 1), CALIB8_MALFORMED_MODEL);
  CHECK_STR_CONTAINS(calib8_last_error(), "kernel_shape has 1 values, input 0 has 2 spatial dimensions");
  int32_t xi[4] = {0};
  c8_tensor XI = tensor(CALIB8_INT32, DIMS(1, 1, 2, 2), xi);
  in[0] = &XI;
  c8_attr k2[] = {INTS("kernel_shape", 2, 2)};
  CHECK_EQ_INT(eval("AveragePool", 11, k2, 1, in, 1, out, 1), CALIB8_UNSUPPORTED);
  CHECK_STR_CONTAINS(calib8_last_error(), "input 0 is int32");
}

static void test_global_pools(void) {
  float x[] = {1, 2, 3, 4, 5, 6, -1, -2, -3, -4, -5, -6};
  c8_tensor X = tensor(CALIB8_FLOAT, DIMS(1, 2, 2, 3), x), Y;
  c8_tensor *in[] = {&X}, *out[] = {&Y};
  CHECK_EQ_INT(eval("GlobalAveragePool", 7, NULL, 0, in, 1, out, 1), CALIB8_OK);
  check_shape(&Y, DIMS(1, 2, 1, 1));
  check_f32(&Y, (float[]){3.5f, -3.5f}, 2, 1e-6);
  free_outs(&Y, 1);
  CHECK_EQ_INT(eval("GlobalMaxPool", 7, NULL, 0, in, 1, out, 1), CALIB8_OK);
  check_f32(&Y, (float[]){6, -1}, 2, 0);
  free_outs(&Y, 1);
  c8_attr p1[] = {a_int("p", 1)};
  CHECK_EQ_INT(eval("GlobalLpPool", 7, p1, 1, in, 1, out, 1), CALIB8_OK);
  check_f32(&Y, (float[]){21, 21}, 2, 1e-5);
  free_outs(&Y, 1);
}

/* ---- reductions ---- */

static float x24[24];
static c8_tensor make_x24(void) {
  for (int i = 0; i < 24; i++) x24[i] = (float)i; /* x[a][b][c] = 12a + 4b + c */
  return tensor(CALIB8_FLOAT, DIMS(2, 3, 4), x24);
}

static void test_reduce_negative_axes_keepdims0(void) {
  c8_tensor X = make_x24(), Y;
  c8_tensor *in[] = {&X}, *out[] = {&Y};
  c8_attr at[] = {INTS("axes", -1), a_int("keepdims", 0)};
  CHECK_EQ_INT(eval("ReduceMax", 13, at, 2, in, 1, out, 1), CALIB8_OK);
  check_shape(&Y, DIMS(2, 3));
  check_f32(&Y, (float[]){3, 7, 11, 15, 19, 23}, 6, 0);
  free_outs(&Y, 1);
  c8_attr at2[] = {INTS("axes", -3, -1), a_int("keepdims", 0)};
  CHECK_EQ_INT(eval("ReduceMean", 13, at2, 2, in, 1, out, 1), CALIB8_OK);
  check_shape(&Y, DIMS(3));
  check_f32(&Y, (float[]){7.5f, 11.5f, 15.5f}, 3, 1e-5);
  free_outs(&Y, 1);
  c8_attr at3[] = {INTS("axes", 0, 2)};
  CHECK_EQ_INT(eval("ReduceMin", 13, at3, 1, in, 1, out, 1), CALIB8_OK);
  check_shape(&Y, DIMS(1, 3, 1));
  check_f32(&Y, (float[]){0, 4, 8}, 3, 0);
  free_outs(&Y, 1);
  /* no axes: everything, keepdims default 1 */
  CHECK_EQ_INT(eval("ReduceSum", 11, NULL, 0, in, 1, out, 1), CALIB8_OK);
  check_shape(&Y, DIMS(1, 1, 1));
  check_f32(&Y, (float[]){276}, 1, 0);
  free_outs(&Y, 1);
  c8_attr kd0[] = {a_int("keepdims", 0)};
  CHECK_EQ_INT(eval("ReduceL1", 13, kd0, 1, in, 1, out, 1), CALIB8_OK);
  CHECK_EQ_INT(Y.rank, 0);
  check_f32(&Y, (float[]){276}, 1, 0);
  free_outs(&Y, 1);
}

static void test_reduce_axes_input(void) {
  c8_tensor X = make_x24(), Y;
  int64_t ax[] = {1};
  c8_tensor A = tensor(CALIB8_INT64, DIMS(1), ax);
  c8_tensor *in[] = {&X, &A}, *out[] = {&Y};
  c8_attr at[] = {a_int("keepdims", 0)};
  CHECK_EQ_INT(eval("ReduceSum", 13, at, 1, in, 2, out, 1), CALIB8_OK);
  check_shape(&Y, DIMS(2, 4));
  check_f32(&Y, (float[]){12, 15, 18, 21, 48, 51, 54, 57}, 8, 0);
  free_outs(&Y, 1);
  /* empty axes + noop_with_empty_axes: no reduction, but the element-wise part still applies */
  c8_tensor E = tensor(CALIB8_INT64, DIMS(0), ax);
  in[1] = &E;
  c8_attr noop[] = {a_int("noop_with_empty_axes", 1)};
  CHECK_EQ_INT(eval("ReduceSum", 13, noop, 1, in, 2, out, 1), CALIB8_OK);
  check_shape(&Y, DIMS(2, 3, 4));
  check_f32(&Y, x24, 24, 0);
  free_outs(&Y, 1);
  CHECK_EQ_INT(eval("ReduceSumSquare", 18, noop, 1, in, 2, out, 1), CALIB8_OK);
  CHECK_NEAR(((float *)Y.data)[5], 25, 0);
  free_outs(&Y, 1);
  /* empty axes without noop: everything */
  CHECK_EQ_INT(eval("ReduceSum", 13, NULL, 0, in, 2, out, 1), CALIB8_OK);
  check_f32(&Y, (float[]){276}, 1, 0);
  free_outs(&Y, 1);
  /* axes input must be known at prepare */
  c8_tensor U = tensor(CALIB8_INT64, DIMS(1), NULL);
  in[1] = &U;
  CHECK_EQ_INT(eval("ReduceSum", 13, NULL, 0, in, 2, out, 1), CALIB8_UNSUPPORTED);
  CHECK_STR_CONTAINS(calib8_last_error(), "input 1 must be known");
  int64_t bad[] = {3};
  c8_tensor B = tensor(CALIB8_INT64, DIMS(1), bad);
  in[1] = &B;
  CHECK_EQ_INT(eval("ReduceSum", 13, NULL, 0, in, 2, out, 1), CALIB8_MALFORMED_MODEL);
  CHECK_STR_CONTAINS(calib8_last_error(), "axis 3 is out of range for rank 3");
}

static void test_reduce_ints_and_stability(void) {
  int32_t xi[] = {1, -2, 3, -4, 5, -6};
  c8_tensor X = tensor(CALIB8_INT32, DIMS(2, 3), xi), Y;
  c8_tensor *in[] = {&X}, *out[] = {&Y};
  c8_attr at[] = {INTS("axes", 1), a_int("keepdims", 0)};
  CHECK_EQ_INT(eval("ReduceProd", 13, at, 2, in, 1, out, 1), CALIB8_OK);
  CHECK_EQ_INT(Y.dtype, CALIB8_INT32);
  CHECK_EQ_INT(((int32_t *)Y.data)[0], -6);
  CHECK_EQ_INT(((int32_t *)Y.data)[1], 120);
  free_outs(&Y, 1);
  /* integer mean truncates toward zero: (1 - 2 + 3) / 3 = 0, (-4 + 5 - 6) / 3 = -1 */
  CHECK_EQ_INT(eval("ReduceMean", 13, at, 2, in, 1, out, 1), CALIB8_OK);
  CHECK_EQ_INT(((int32_t *)Y.data)[0], 0);
  CHECK_EQ_INT(((int32_t *)Y.data)[1], -1);
  free_outs(&Y, 1);
  CHECK_EQ_INT(eval("ReduceL1", 13, at, 2, in, 1, out, 1), CALIB8_OK);
  CHECK_EQ_INT(((int32_t *)Y.data)[0], 6);
  CHECK_EQ_INT(((int32_t *)Y.data)[1], 15);
  free_outs(&Y, 1);
  CHECK_EQ_INT(eval("ReduceL2", 13, at, 2, in, 1, out, 1), CALIB8_UNSUPPORTED);
  CHECK_STR_CONTAINS(calib8_last_error(), "input 0 is int32");
  /* LogSumExp does not overflow: log(e^1000 + e^1000) = 1000 + log 2 */
  float big[] = {1000, 1000};
  c8_tensor XB = tensor(CALIB8_FLOAT, DIMS(2), big);
  in[0] = &XB;
  CHECK_EQ_INT(eval("ReduceLogSumExp", 13, NULL, 0, in, 1, out, 1), CALIB8_OK);
  check_f32(&Y, (float[]){1000.0f + 0.6931472f}, 1, 1e-3);
  free_outs(&Y, 1);
}

static void test_reduce_deterministic(void) {
  /* The same input gives bit-identical sums, and a long row stays accurate. */
  static float big[100003];
  for (int i = 0; i < 100003; i++) big[i] = 0.1f + (float)(i % 7) * 0.01f;
  c8_tensor X = tensor(CALIB8_FLOAT, DIMS(100003), big), Y1, Y2;
  c8_tensor *in[] = {&X}, *o1[] = {&Y1}, *o2[] = {&Y2};
  CHECK_EQ_INT(eval("ReduceSum", 11, NULL, 0, in, 1, o1, 1), CALIB8_OK);
  CHECK_EQ_INT(eval("ReduceSum", 11, NULL, 0, in, 1, o2, 1), CALIB8_OK);
  CHECK(memcmp(Y1.data, Y2.data, 4) == 0);
  double want = 0;
  for (int i = 0; i < 100003; i++) want += big[i];
  CHECK_NEAR(((float *)Y1.data)[0], want, want * 1e-5);
  free_outs(&Y1, 1);
  free_outs(&Y2, 1);
}

static void test_argmax_ties(void) {
  float x[] = {1, 3, 3, 2, 0, 0};
  c8_tensor X = tensor(CALIB8_FLOAT, DIMS(2, 3), x), Y;
  c8_tensor *in[] = {&X}, *out[] = {&Y};
  c8_attr at[] = {a_int("axis", -1), a_int("keepdims", 0), a_int("select_last_index", 0)};
  CHECK_EQ_INT(eval("ArgMax", 13, at, 3, in, 1, out, 1), CALIB8_OK);
  check_shape(&Y, DIMS(2));
  CHECK_EQ_INT(((int64_t *)Y.data)[0], 1);
  CHECK_EQ_INT(((int64_t *)Y.data)[1], 0);
  free_outs(&Y, 1);
  at[2] = a_int("select_last_index", 1);
  CHECK_EQ_INT(eval("ArgMax", 13, at, 3, in, 1, out, 1), CALIB8_OK);
  CHECK_EQ_INT(((int64_t *)Y.data)[0], 2);
  CHECK_EQ_INT(((int64_t *)Y.data)[1], 0);
  free_outs(&Y, 1);
  CHECK_EQ_INT(eval("ArgMin", 13, at, 3, in, 1, out, 1), CALIB8_OK);
  CHECK_EQ_INT(((int64_t *)Y.data)[0], 0);
  CHECK_EQ_INT(((int64_t *)Y.data)[1], 2);
  free_outs(&Y, 1);
  /* axis 0 with keepdims: shape [1, 3] */
  c8_attr a0[] = {a_int("axis", 0)};
  CHECK_EQ_INT(eval("ArgMin", 13, a0, 1, in, 1, out, 1), CALIB8_OK);
  check_shape(&Y, DIMS(1, 3));
  CHECK_EQ_INT(((int64_t *)Y.data)[0], 0);
  CHECK_EQ_INT(((int64_t *)Y.data)[1], 1);
  CHECK_EQ_INT(((int64_t *)Y.data)[2], 1);
  free_outs(&Y, 1);
}

/* ---- normalization ---- */

static void test_batchnorm(void) {
  float x[] = {1, 2, 3, 4}; /* N=1, C=2, 2 elements each */
  float sc[] = {2, 1}, b[] = {0.5f, 0}, mean[] = {1, 4}, var[] = {4, 1};
  c8_tensor X = tensor(CALIB8_FLOAT, DIMS(1, 2, 2), x), S = tensor(CALIB8_FLOAT, DIMS(2), sc),
            B = tensor(CALIB8_FLOAT, DIMS(2), b), M = tensor(CALIB8_FLOAT, DIMS(2), mean),
            V = tensor(CALIB8_FLOAT, DIMS(2), var), Y;
  c8_tensor *in[] = {&X, &S, &B, &M, &V}, *out[] = {&Y};
  c8_attr at[] = {a_float("epsilon", 0)};
  CHECK_EQ_INT(eval("BatchNormalization", 15, at, 1, in, 5, out, 1), CALIB8_OK);
  /* (1-1)/2*2+0.5, (2-1)/2*2+0.5, (3-4)/1, (4-4)/1 */
  check_f32(&Y, (float[]){0.5f, 1.5f, -1, 0}, 4, 1e-6);
  free_outs(&Y, 1);
  c8_attr tr[] = {a_int("training_mode", 1)};
  CHECK_EQ_INT(eval("BatchNormalization", 15, tr, 1, in, 5, out, 1), CALIB8_UNSUPPORTED);
  CHECK_STR_CONTAINS(calib8_last_error(), "training_mode=1 is not supported");
  c8_tensor R1, R2;
  c8_tensor *out3[] = {&Y, &R1, &R2};
  CHECK_EQ_INT(eval("BatchNormalization", 9, NULL, 0, in, 5, out3, 3), CALIB8_UNSUPPORTED);
  CHECK_STR_CONTAINS(calib8_last_error(), "only in training mode");
}

static void test_instance_layer_norm(void) {
  float x[] = {1, 2, 3, 2, 4, 6};
  float one[] = {1, 1, 1}, zero[] = {0, 0, 0};
  c8_tensor X = tensor(CALIB8_FLOAT, DIMS(2, 3), x), S = tensor(CALIB8_FLOAT, DIMS(3), one),
            B = tensor(CALIB8_FLOAT, DIMS(3), zero), Y[3];
  c8_tensor *in[] = {&X, &S, &B}, *out[] = {&Y[0], &Y[1], &Y[2]};
  c8_attr at[] = {a_int("axis", -1), a_float("epsilon", 0)};
  CHECK_EQ_INT(eval("LayerNormalization", 17, at, 2, in, 3, out, 3), CALIB8_OK);
  check_shape(&Y[1], DIMS(2, 1));
  check_f32(&Y[1], (float[]){2, 4}, 2, 1e-6);
  float inv0 = 1.0f / sqrtf(2.0f / 3), inv1 = 1.0f / sqrtf(8.0f / 3);
  check_f32(&Y[2], (float[]){inv0, inv1}, 2, 1e-5);
  check_f32(&Y[0], (float[]){-inv0, 0, inv0, -2 * inv1, 0, 2 * inv1}, 6, 1e-5);
  free_outs(Y, 3);
  /* axis 0 normalizes everything: Scale of shape [3] broadcasts over [2, 3] */
  c8_attr a0[] = {a_int("axis", 0), a_float("epsilon", 0)};
  CHECK_EQ_INT(eval("LayerNormalization", 17, a0, 2, in, 3, out, 3), CALIB8_OK);
  check_shape(&Y[1], DIMS(1, 1));
  check_f32(&Y[1], (float[]){3}, 1, 1e-6);
  free_outs(Y, 3);
  float bad[] = {1, 1};
  c8_tensor SB = tensor(CALIB8_FLOAT, DIMS(2), bad);
  in[1] = &SB;
  CHECK_EQ_INT(eval("LayerNormalization", 17, at, 2, in, 3, out, 1), CALIB8_INVALID_ARGUMENT);
  CHECK_STR_CONTAINS(calib8_last_error(), "does not broadcast");
  /* InstanceNormalization over [1, 2, 3] */
  c8_tensor X3 = tensor(CALIB8_FLOAT, DIMS(1, 2, 3), x);
  float s2[] = {1, 2}, b2[] = {0, 1};
  c8_tensor S2 = tensor(CALIB8_FLOAT, DIMS(2), s2), B2 = tensor(CALIB8_FLOAT, DIMS(2), b2);
  c8_tensor *in3[] = {&X3, &S2, &B2};
  c8_attr eps0[] = {a_float("epsilon", 0)};
  CHECK_EQ_INT(eval("InstanceNormalization", 7, eps0, 1, in3, 3, out, 1), CALIB8_OK);
  check_f32(&Y[0], (float[]){-inv0, 0, inv0, -4 * inv1 + 1, 1, 4 * inv1 + 1}, 6, 1e-5);
  free_outs(Y, 1);
}

static void test_lrn(void) {
  /* C=3, size 2: window [c, c+1] (floor((2-1)/2) = 0 below, ceil = 1 above) */
  float x[] = {1, 2, 3};
  c8_tensor X = tensor(CALIB8_FLOAT, DIMS(1, 3, 1), x), Y;
  c8_tensor *in[] = {&X}, *out[] = {&Y};
  c8_attr at[] = {a_int("size", 2), a_float("alpha", 2), a_float("beta", 1), a_float("bias", 1)};
  CHECK_EQ_INT(eval("LRN", 13, at, 4, in, 1, out, 1), CALIB8_OK);
  /* y = x / (1 + 2/2 * sum sq) */
  check_f32(&Y, (float[]){1.0f / (1 + 5), 2.0f / (1 + 13), 3.0f / (1 + 9)}, 3, 1e-6);
  free_outs(&Y, 1);
}

int main(void) {
  CHECK_RUN(test_maxpool_ceil_mode);
  CHECK_RUN(test_ceil_last_window_rule);
  CHECK_RUN(test_avgpool_count_include_pad);
  CHECK_RUN(test_avgpool_2d_asymmetric);
  CHECK_RUN(test_auto_pad);
  CHECK_RUN(test_maxpool_indices);
  CHECK_RUN(test_maxpool_int8_uint8_padding);
  CHECK_RUN(test_maxpool_dilation_3d);
  CHECK_RUN(test_pool_errors);
  CHECK_RUN(test_global_pools);
  CHECK_RUN(test_reduce_negative_axes_keepdims0);
  CHECK_RUN(test_reduce_axes_input);
  CHECK_RUN(test_reduce_ints_and_stability);
  CHECK_RUN(test_reduce_deterministic);
  CHECK_RUN(test_argmax_ties);
  CHECK_RUN(test_batchnorm);
  CHECK_RUN(test_instance_layer_norm);
  CHECK_RUN(test_lrn);
  return CHECK_DONE();
}
