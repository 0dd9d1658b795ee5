/* Corner cases of the shape and data-movement operators, run through c8_op_eval (prepare + run). */
#include <stdint.h>

#include "check.h"
#include "ops/op.h"

static c8_node mknode(const char *op, c8_attr *attrs, int n_attr) {
  c8_node n = {.name = (char *)"test", .op_type = (char *)op, .domain = (char *)"", .attr = attrs, .n_attr = n_attr};
  n.def = c8_op_find("", op);
  return n;
}

static c8_attr attr_int(const char *name, int64_t v) {
  return (c8_attr){.name = (char *)name, .type = C8_ATTR_INT, .i = v};
}
static c8_attr attr_ints(const char *name, int64_t *v, int n) {
  return (c8_attr){.name = (char *)name, .type = C8_ATTR_INTS, .ints = v, .n = n};
}
static c8_attr attr_str(const char *name, const char *s) {
  return (c8_attr){.name = (char *)name, .type = C8_ATTR_STRING, .s = (char *)s};
}

static c8_tensor t1(c8_dtype dt, void *data, int64_t n) { return (c8_tensor){dt, 1, {n}, data}; }

/* Evaluates a single-output node; returns the status, output in *y (caller frees y->data). */
static c8_status eval1(const char *op, c8_attr *attrs, int n_attr, int opset, c8_tensor **in, int n_in,
                       c8_tensor *y) {
  c8_node node = mknode(op, attrs, n_attr);
  if (!node.def) return CALIB8_UNSUPPORTED;
  node.n_in = n_in;
  node.n_out = 1;
  *y = (c8_tensor){0};
  c8_tensor *out[1] = {y};
  return c8_op_eval(&node, opset, in, n_in, out, 1);
}

static float xf[24];
static void init_data(void) {
  for (int i = 0; i < 24; i++) xf[i] = (float)i;
}

static void test_reshape(void) {
  c8_tensor x = {CALIB8_FLOAT, 3, {2, 3, 4}, xf}, y;
  int64_t s1[] = {0, -1};
  c8_tensor sh = t1(CALIB8_INT64, s1, 2);
  c8_tensor *in[] = {&x, &sh};
  CHECK_EQ_INT(eval1("Reshape", NULL, 0, 14, in, 2, &y), CALIB8_OK);
  CHECK_EQ_INT(y.rank, 2);
  CHECK_EQ_INT(y.dims[0], 2);
  CHECK_EQ_INT(y.dims[1], 12);
  CHECK_NEAR(((float *)y.data)[23], 23, 0);
  c8_free(y.data);

  /* -1 that cannot be inferred, two -1s, and a 0 beyond the input rank. */
  int64_t s2[] = {5, -1};
  sh = t1(CALIB8_INT64, s2, 2);
  CHECK_EQ_INT(eval1("Reshape", NULL, 0, 14, in, 2, &y), CALIB8_INVALID_ARGUMENT);
  CHECK_STR_CONTAINS(calib8_last_error(), "not a multiple of 5");
  int64_t s3[] = {-1, -1};
  sh = t1(CALIB8_INT64, s3, 2);
  CHECK_EQ_INT(eval1("Reshape", NULL, 0, 14, in, 2, &y), CALIB8_MALFORMED_MODEL);
  int64_t s4[] = {0, 0, 0, 0};
  sh = t1(CALIB8_INT64, s4, 4);
  CHECK_EQ_INT(eval1("Reshape", NULL, 0, 14, in, 2, &y), CALIB8_MALFORMED_MODEL);

  /* allowzero=1: a 0 in the shape is a real zero dimension. */
  c8_tensor e = {CALIB8_FLOAT, 2, {0, 3}, xf};
  int64_t s5[] = {3, 0};
  sh = t1(CALIB8_INT64, s5, 2);
  c8_tensor *in2[] = {&e, &sh};
  c8_attr az = attr_int("allowzero", 1);
  CHECK_EQ_INT(eval1("Reshape", &az, 1, 14, in2, 2, &y), CALIB8_OK);
  CHECK_EQ_INT(y.dims[0], 3);
  CHECK_EQ_INT(y.dims[1], 0);
  c8_free(y.data);
  /* Without allowzero the 0 copies the input dimension: [3, 3] != 0 elements. */
  CHECK_EQ_INT(eval1("Reshape", NULL, 0, 14, in2, 2, &y), CALIB8_INVALID_ARGUMENT);
  /* allowzero with both 0 and -1 is invalid. */
  int64_t s6[] = {0, -1};
  sh = t1(CALIB8_INT64, s6, 2);
  CHECK_EQ_INT(eval1("Reshape", &az, 1, 14, in2, 2, &y), CALIB8_MALFORMED_MODEL);

  /* A shape that is not known at prepare time is an error, not a guess. */
  sh = t1(CALIB8_INT64, NULL, 2);
  CHECK_EQ_INT(eval1("Reshape", NULL, 0, 14, in, 2, &y), CALIB8_UNSUPPORTED);
  CHECK_STR_CONTAINS(calib8_last_error(), "must be known");
}

static void test_negative_axes(void) {
  c8_tensor x = {CALIB8_FLOAT, 3, {2, 1, 3}, xf}, y;
  int64_t ax[] = {-2};
  c8_tensor axes = t1(CALIB8_INT64, ax, 1);
  c8_tensor *in[] = {&x, &axes};
  CHECK_EQ_INT(eval1("Squeeze", NULL, 0, 13, in, 2, &y), CALIB8_OK);
  CHECK_EQ_INT(y.rank, 2);
  CHECK_EQ_INT(y.dims[1], 3);
  c8_free(y.data);
  ax[0] = -1; /* size 3: cannot squeeze */
  CHECK_EQ_INT(eval1("Squeeze", NULL, 0, 13, in, 2, &y), CALIB8_INVALID_ARGUMENT);

  int64_t ux[] = {-1, 0};
  axes = t1(CALIB8_INT64, ux, 2);
  CHECK_EQ_INT(eval1("Unsqueeze", NULL, 0, 13, in, 2, &y), CALIB8_OK);
  CHECK_EQ_INT(y.rank, 5);
  CHECK_EQ_INT(y.dims[0], 1);
  CHECK_EQ_INT(y.dims[1], 2);
  CHECK_EQ_INT(y.dims[4], 1);
  c8_free(y.data);

  /* Flatten axis -1 on [2,1,3] -> [2,3]. */
  c8_attr fa = attr_int("axis", -1);
  CHECK_EQ_INT(eval1("Flatten", &fa, 1, 13, in, 1, &y), CALIB8_OK);
  CHECK_EQ_INT(y.dims[0], 2);
  CHECK_EQ_INT(y.dims[1], 3);
  c8_free(y.data);

  /* Concat along -1 of [2,1,3] and [2,1,3]. */
  c8_tensor *cin[] = {&x, &x};
  c8_attr ca = attr_int("axis", -1);
  CHECK_EQ_INT(eval1("Concat", &ca, 1, 13, cin, 2, &y), CALIB8_OK);
  CHECK_EQ_INT(y.dims[2], 6);
  CHECK_NEAR(((float *)y.data)[3], 0, 0);  /* second copy of row 0 */
  CHECK_NEAR(((float *)y.data)[6], 3, 0);  /* row 1 */
  c8_free(y.data);

  /* Gather along -1 with negative int32 indices. */
  int32_t gi[] = {-1, 0};
  c8_tensor ind = t1(CALIB8_INT32, gi, 2);
  c8_tensor *gin[] = {&x, &ind};
  c8_attr ga = attr_int("axis", -1);
  CHECK_EQ_INT(eval1("Gather", &ga, 1, 13, gin, 2, &y), CALIB8_OK);
  CHECK_EQ_INT(y.rank, 3);
  CHECK_NEAR(((float *)y.data)[0], 2, 0);
  CHECK_NEAR(((float *)y.data)[1], 0, 0);
  CHECK_NEAR(((float *)y.data)[2], 5, 0);
  c8_free(y.data);
  gi[0] = 3; /* out of range: an error at run time, not a wild read */
  CHECK_EQ_INT(eval1("Gather", &ga, 1, 13, gin, 2, &y), CALIB8_INVALID_ARGUMENT);
  CHECK_STR_CONTAINS(calib8_last_error(), "index 3 is out of range");
}

static c8_status slice1(int64_t *data, int64_t n, int64_t start, int64_t end, int64_t step, c8_tensor *y) {
  static c8_tensor x, s, e, a, p;
  static int64_t sv, ev, av, pv;
  sv = start, ev = end, av = 0, pv = step;
  x = t1(CALIB8_INT64, data, n);
  s = t1(CALIB8_INT64, &sv, 1);
  e = t1(CALIB8_INT64, &ev, 1);
  a = t1(CALIB8_INT64, &av, 1);
  p = t1(CALIB8_INT64, &pv, 1);
  c8_tensor *in[] = {&x, &s, &e, &a, &p};
  return eval1("Slice", NULL, 0, 13, in, 5, y);
}

static void test_slice(void) {
  int64_t v[10];
  for (int i = 0; i < 10; i++) v[i] = i;
  c8_tensor y;
  /* Negative step from the end to before the start (INT64_MIN end). */
  CHECK_EQ_INT(slice1(v, 10, -1, INT64_MIN, -3, &y), CALIB8_OK);
  CHECK_EQ_INT(y.dims[0], 4);
  int64_t want1[] = {9, 6, 3, 0};
  for (int i = 0; i < 4; i++) CHECK_EQ_INT(((int64_t *)y.data)[i], want1[i]);
  c8_free(y.data);
  /* Start past the end with a negative step is clamped to dim - 1. */
  CHECK_EQ_INT(slice1(v, 10, 20, 2, -2, &y), CALIB8_OK);
  CHECK_EQ_INT(y.dims[0], 4);
  int64_t want2[] = {9, 7, 5, 3};
  for (int i = 0; i < 4; i++) CHECK_EQ_INT(((int64_t *)y.data)[i], want2[i]);
  c8_free(y.data);
  /* Out-of-range start/end with a positive step are clamped to [0, dim]. */
  CHECK_EQ_INT(slice1(v, 10, -100, 100, 4, &y), CALIB8_OK);
  CHECK_EQ_INT(y.dims[0], 3);
  CHECK_EQ_INT(((int64_t *)y.data)[2], 8);
  c8_free(y.data);
  /* Empty result when start is after end. */
  CHECK_EQ_INT(slice1(v, 10, 5, 2, 1, &y), CALIB8_OK);
  CHECK_EQ_INT(y.dims[0], 0);
  c8_free(y.data);
  /* Per the spec a negative start is clamped to 0 for negative steps (numpy would return nothing). */
  CHECK_EQ_INT(slice1(v, 10, -12, INT64_MIN, -1, &y), CALIB8_OK);
  CHECK_EQ_INT(y.dims[0], 1);
  CHECK_EQ_INT(((int64_t *)y.data)[0], 0);
  c8_free(y.data);
  CHECK_EQ_INT(slice1(v, 10, 0, 5, 0, &y), CALIB8_MALFORMED_MODEL);

  /* 2-D: reverse the last axis (negative axis) of a [4,6] uint8 tensor, every other row. */
  uint8_t u[24];
  for (int i = 0; i < 24; i++) u[i] = (uint8_t)i;
  c8_tensor x = {CALIB8_UINT8, 2, {4, 6}, u};
  int64_t sv[] = {-1, 0}, ev[] = {INT64_MIN, 4}, av[] = {-1, 0}, pv[] = {-1, 2};
  c8_tensor s = t1(CALIB8_INT64, sv, 2), e = t1(CALIB8_INT64, ev, 2), a = t1(CALIB8_INT64, av, 2),
            p = t1(CALIB8_INT64, pv, 2);
  c8_tensor *in[] = {&x, &s, &e, &a, &p};
  CHECK_EQ_INT(eval1("Slice", NULL, 0, 13, in, 5, &y), CALIB8_OK);
  CHECK_EQ_INT(y.dims[0], 2);
  CHECK_EQ_INT(y.dims[1], 6);
  CHECK_EQ_INT(((uint8_t *)y.data)[0], 5);
  CHECK_EQ_INT(((uint8_t *)y.data)[5], 0);
  CHECK_EQ_INT(((uint8_t *)y.data)[6], 17);
  c8_free(y.data);
}

static c8_status resize(c8_tensor *x, const float *scales, const int64_t *sizes, c8_attr *attrs, int n_attr,
                        c8_tensor *y) {
  static c8_tensor sc, sz;
  c8_tensor *in[4] = {x, NULL, NULL, NULL};
  if (scales) {
    sc = t1(CALIB8_FLOAT, (void *)scales, x->rank);
    in[2] = &sc;
  }
  if (sizes) {
    sz = t1(CALIB8_INT64, (void *)sizes, x->rank);
    in[3] = &sz;
  }
  return eval1("Resize", attrs, n_attr, 13, in, 4, y);
}

static void test_resize(void) {
  float v[] = {1, 2, 3, 4};
  c8_tensor x = {CALIB8_FLOAT, 4, {1, 1, 2, 2}, v}, y;
  c8_attr lin = attr_str("mode", "linear");
  /* half_pixel bilinear 2x2 -> 4x4, by hand: output (1,1) samples (0.25, 0.25):
   * 0.75*0.75*1 + 0.75*0.25*2 + 0.25*0.75*3 + 0.25*0.25*4 = 1.75; (1,2) samples (0.25, 0.75): 2.25;
   * (0,0) samples (-0.25, -0.25), clamped to the corner: 1. */
  const float sc[] = {1, 1, 2, 2};
  CHECK_EQ_INT(resize(&x, sc, NULL, &lin, 1, &y), CALIB8_OK);
  CHECK_EQ_INT(y.dims[2], 4);
  CHECK_EQ_INT(y.dims[3], 4);
  float *o = y.data;
  CHECK_NEAR(o[0], 1.0, 1e-6);
  CHECK_NEAR(o[5], 1.75, 1e-6);
  CHECK_NEAR(o[6], 2.25, 1e-6);
  CHECK_NEAR(o[7], 2.5, 1e-6);
  CHECK_NEAR(o[15], 4.0, 1e-6);
  c8_free(y.data);

  /* sizes 3 -> 5 along the last axis: scale 5/3, x_original = (x + 0.5) * 0.6 - 0.5:
   * x=1 -> 0.4 -> 4; x=2 -> 1.0 -> 10; x=3 -> 1.6 -> 16; x=4 -> 2.2 -> clamped 20. */
  float r[] = {0, 10, 20};
  c8_tensor xr = {CALIB8_FLOAT, 4, {1, 1, 1, 3}, r};
  const int64_t sz[] = {1, 1, 1, 5};
  CHECK_EQ_INT(resize(&xr, NULL, sz, &lin, 1, &y), CALIB8_OK);
  o = y.data;
  CHECK_NEAR(o[0], 0, 1e-5);
  CHECK_NEAR(o[1], 4, 1e-5);
  CHECK_NEAR(o[2], 10, 1e-5);
  CHECK_NEAR(o[3], 16, 1e-5);
  CHECK_NEAR(o[4], 20, 1e-5);
  c8_free(y.data);

  /* align_corners 3 -> 5: x_original = x * 2 / 4, so 0, 5, 10, 15, 20. */
  c8_attr ac[] = {lin, attr_str("coordinate_transformation_mode", "align_corners")};
  CHECK_EQ_INT(resize(&xr, NULL, sz, ac, 2, &y), CALIB8_OK);
  for (int i = 0; i < 5; i++) CHECK_NEAR(((float *)y.data)[i], 5 * i, 1e-5);
  c8_free(y.data);

  /* nearest, asymmetric, floor on int64 data: [0,10,20] -> 5 picks floor(x * 0.6) = 0,0,1,1,2. */
  int64_t ri[] = {0, 10, 20};
  c8_tensor xi = {CALIB8_INT64, 4, {1, 1, 1, 3}, ri};
  c8_attr nn[] = {attr_str("coordinate_transformation_mode", "asymmetric"), attr_str("nearest_mode", "floor")};
  CHECK_EQ_INT(resize(&xi, NULL, sz, nn, 2, &y), CALIB8_OK);
  int64_t want[] = {0, 0, 10, 10, 20};
  for (int i = 0; i < 5; i++) CHECK_EQ_INT(((int64_t *)y.data)[i], want[i]);
  c8_free(y.data);

  /* Linear on int64 is not supported: a clear error. */
  CHECK_EQ_INT(resize(&xi, NULL, sz, &lin, 1, &y), CALIB8_UNSUPPORTED);
  /* Both scales and sizes: malformed. */
  const float sc1[] = {1, 1, 1, 2};
  CHECK_EQ_INT(resize(&xr, sc1, sz, &lin, 1, &y), CALIB8_MALFORMED_MODEL);
}

static void test_shape_size(void) {
  /* Shape reads only the shape: the input data may be unknown (NULL). */
  c8_tensor x = {CALIB8_FLOAT, 4, {2, 3, 5, 7}, NULL}, y;
  c8_tensor *in[] = {&x};
  c8_attr se[] = {attr_int("start", -3), attr_int("end", -1)};
  CHECK_EQ_INT(eval1("Shape", se, 2, 15, in, 1, &y), CALIB8_OK);
  CHECK_EQ_INT(y.dims[0], 2);
  CHECK_EQ_INT(((int64_t *)y.data)[0], 3);
  CHECK_EQ_INT(((int64_t *)y.data)[1], 5);
  c8_free(y.data);
  c8_attr clip[] = {attr_int("start", -10), attr_int("end", 10)};
  CHECK_EQ_INT(eval1("Shape", clip, 2, 15, in, 1, &y), CALIB8_OK);
  CHECK_EQ_INT(y.dims[0], 4);
  c8_free(y.data);
  CHECK_EQ_INT(eval1("Size", NULL, 0, 13, in, 1, &y), CALIB8_OK);
  CHECK_EQ_INT(*(int64_t *)y.data, 210);
  c8_free(y.data);
  CHECK(c8_op_find("", "Shape")->reads_shape_only);
  CHECK(c8_op_find("", "Size")->reads_shape_only);
}

static void test_fill_range_pad(void) {
  int64_t a = 10, b = -7, d = -3;
  c8_tensor s = {CALIB8_INT64, 0, {0}, &a}, l = {CALIB8_INT64, 0, {0}, &b}, dl = {CALIB8_INT64, 0, {0}, &d}, y;
  c8_tensor *in[] = {&s, &l, &dl};
  CHECK_EQ_INT(eval1("Range", NULL, 0, 11, in, 3, &y), CALIB8_OK);
  CHECK_EQ_INT(y.dtype, CALIB8_INT64);
  CHECK_EQ_INT(y.dims[0], 6); /* 10, 7, 4, 1, -2, -5 */
  CHECK_EQ_INT(((int64_t *)y.data)[5], -5);
  c8_free(y.data);

  /* Pad reflect [1,2,3] by (2, 3): 3 2 | 1 2 3 | 2 1 2. */
  float v[] = {1, 2, 3};
  c8_tensor x = t1(CALIB8_FLOAT, v, 3);
  int64_t pads[] = {2, 3};
  c8_tensor p = t1(CALIB8_INT64, pads, 2);
  c8_tensor *pin[] = {&x, &p};
  c8_attr m = attr_str("mode", "reflect");
  CHECK_EQ_INT(eval1("Pad", &m, 1, 13, pin, 2, &y), CALIB8_OK);
  float want[] = {3, 2, 1, 2, 3, 2, 1, 2};
  CHECK_EQ_INT(y.dims[0], 8);
  for (int i = 0; i < 8; i++) CHECK_NEAR(((float *)y.data)[i], want[i], 0);
  c8_free(y.data);
  /* Negative pads crop. */
  int64_t crop[] = {-1, 1};
  p = t1(CALIB8_INT64, crop, 2);
  c8_attr e = attr_str("mode", "edge");
  CHECK_EQ_INT(eval1("Pad", &e, 1, 13, pin, 2, &y), CALIB8_OK);
  CHECK_EQ_INT(y.dims[0], 3);
  CHECK_NEAR(((float *)y.data)[0], 2, 0);
  CHECK_NEAR(((float *)y.data)[2], 3, 0);
  c8_free(y.data);
}

static void test_transpose_big(void) {
  /* [3,5,7,11] with perm [2,0,3,1], uint16 data, against the index formula. */
  enum { A = 3, B = 5, C = 7, D = 11 };
  static uint16_t src[A * B * C * D];
  for (int i = 0; i < A * B * C * D; i++) src[i] = (uint16_t)(i * 7 + 1);
  c8_tensor x = {CALIB8_UINT16, 4, {A, B, C, D}, src}, y;
  int64_t perm[] = {2, 0, 3, 1};
  c8_attr pa = attr_ints("perm", perm, 4);
  c8_tensor *in[] = {&x};
  CHECK_EQ_INT(eval1("Transpose", &pa, 1, 13, in, 1, &y), CALIB8_OK);
  CHECK_EQ_INT(y.dims[0], C);
  CHECK_EQ_INT(y.dims[3], B);
  int bad = 0;
  const uint16_t *o = y.data;
  for (int c = 0; c < C; c++)
    for (int a = 0; a < A; a++)
      for (int d = 0; d < D; d++)
        for (int b = 0; b < B; b++)
          if (o[((c * A + a) * D + d) * B + b] != src[((a * B + b) * C + c) * D + d]) bad++;
  CHECK_EQ_INT(bad, 0);
  c8_free(y.data);
  /* perm that is not a permutation */
  int64_t badp[] = {0, 0, 1, 2};
  pa = attr_ints("perm", badp, 4);
  CHECK_EQ_INT(eval1("Transpose", &pa, 1, 13, in, 1, &y), CALIB8_MALFORMED_MODEL);
}

int main(void) {
  init_data();
  CHECK_RUN(test_reshape);
  CHECK_RUN(test_negative_axes);
  CHECK_RUN(test_slice);
  CHECK_RUN(test_resize);
  CHECK_RUN(test_shape_size);
  CHECK_RUN(test_fill_range_pad);
  CHECK_RUN(test_transpose_big);
  return CHECK_DONE();
}
