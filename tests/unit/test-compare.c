/* The layer-wise comparison engine (src/evaluate/compare.c) on small hand-built graphs whose accumulated and
 * isolated errors are computed here independently: calib8's QDQ naming (the DequantizeLinear output keeps the
 * FP32 name, the producer writes "X_float"), ONNX Runtime's naming (the raw output keeps the name), padded
 * rows, and models without shared names. c8_fake_quant must equal QuantizeLinear then DequantizeLinear as the
 * operators compute them, bit for bit, ties and saturation included. */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "core/tensor.h"
#include "evaluate/compare.h"
#include "graph/graph.h"
#include "ops/op.h"

static int value(c8_graph *g, const char *name) {
  int id = c8_graph_get_or_add_value(g, name);
  CHECK(id >= 0);
  return id;
}

static int node(c8_graph *g, const char *name, const char *op, int n_in, const int *in, int out) {
  int k = c8_graph_add_node(g, name, op, "", n_in, in, 1, &out);
  CHECK(k >= 0 && g->nodes[k].def != NULL);
  return k;
}

static int const_f(c8_graph *g, const char *name, float v) {
  int id = value(g, name);
  c8_tensor t = {.dtype = CALIB8_FLOAT, .rank = 0};
  t.data = c8_alloc(sizeof(float));
  *(float *)t.data = v;
  c8_graph_set_const(g, id, t);
  return id;
}

static int const_zp(c8_graph *g, const char *name, calib8_dtype dt, int v) {
  int id = value(g, name);
  c8_tensor t = {.dtype = dt, .rank = 0};
  t.data = c8_alloc(1);
  if (dt == CALIB8_INT8)
    *(int8_t *)t.data = (int8_t)v;
  else
    *(uint8_t *)t.data = (uint8_t)v;
  c8_graph_set_const(g, id, t);
  return id;
}

static void io(c8_graph *g, int in, int out) {
  g->inputs = malloc(sizeof(int));
  g->outputs = malloc(sizeof(int));
  g->inputs[0] = in;
  g->outputs[0] = out;
  g->n_inputs = g->n_outputs = 1;
  g->opset = 13;
  CHECK_EQ_INT(c8_graph_toposort(g), CALIB8_OK);
}

/* Q then DQ of `x` (named base) into value `out`, scale s, int8 zero point zp. */
static void qdq(c8_graph *g, const char *base, int x, float s, int zp, int out) {
  char n[64];
  snprintf(n, sizeof n, "%s_scale", base);
  int sid = const_f(g, n, s);
  snprintf(n, sizeof n, "%s_zero_point", base);
  int zid = const_zp(g, n, CALIB8_INT8, zp);
  snprintf(n, sizeof n, "%s_quantized", base);
  int q = value(g, n);
  snprintf(n, sizeof n, "%s_QuantizeLinear", base);
  node(g, n, "QuantizeLinear", 3, (int[]){x, sid, zid}, q);
  snprintf(n, sizeof n, "%s_DequantizeLinear", base);
  node(g, n, "DequantizeLinear", 3, (int[]){q, sid, zid}, out);
}

/* ---- c8_fake_quant against the operators ------------------------------------------------------------------- */

static void run_q_dq(const c8_tensor *x, const c8_tensor *s, const c8_tensor *z, int axis, c8_tensor *y) {
  c8_graph *g = c8_graph_new();
  int ids[3] = {value(g, "x"), value(g, "s"), value(g, "z")}, q = value(g, "q"), d = value(g, "d");
  int kq = c8_graph_add_node(g, "q", "QuantizeLinear", "", 3, ids, 1, &q);
  int ids2[3] = {q, ids[1], ids[2]};
  int kd = c8_graph_add_node(g, "d", "DequantizeLinear", "", 3, ids2, 1, &d);
  if (axis >= 0) {
    c8_node_add_attr(&g->nodes[kq], "axis", C8_ATTR_INT)->i = axis;
    c8_node_add_attr(&g->nodes[kd], "axis", C8_ATTR_INT)->i = axis;
  }
  c8_tensor qt = {0};
  c8_tensor *in1[3] = {(c8_tensor *)x, (c8_tensor *)s, (c8_tensor *)z}, *o1[1] = {&qt};
  CHECK_EQ_INT(c8_op_eval(&g->nodes[kq], 13, in1, 3, o1, 1), CALIB8_OK);
  c8_tensor *in2[3] = {&qt, (c8_tensor *)s, (c8_tensor *)z}, *o2[1] = {y};
  CHECK_EQ_INT(c8_op_eval(&g->nodes[kd], 13, in2, 3, o2, 1), CALIB8_OK);
  c8_free(qt.data);
  c8_graph_destroy(g);
}

static void test_fake_quant_matches_operators(void) {
  enum { C = 4, INNER = 301 };
  float xs[C * INNER], got[C * INNER];
  for (int i = 0; i < C * INNER; i++) xs[i] = (float)(i % INNER - 150) * 0.25f; /* x / 0.5 hits every .5 tie */
  xs[7] = 1e9f, xs[8] = -1e9f;                                                  /* saturation */
  const calib8_dtype types[2] = {CALIB8_INT8, CALIB8_UINT8};
  for (int t = 0; t < 2; t++) {
    /* per tensor */
    int32_t zp = types[t] == CALIB8_INT8 ? 3 : 128;
    float s = 0.5f;
    int8_t z8 = (int8_t)zp;
    uint8_t zu = (uint8_t)zp;
    c8_tensor x = {.dtype = CALIB8_FLOAT, .rank = 2, .dims = {C, INNER}, .data = xs};
    c8_tensor st = {.dtype = CALIB8_FLOAT, .rank = 0, .data = &s};
    c8_tensor zt = {.dtype = types[t], .rank = 0, .data = types[t] == CALIB8_INT8 ? (void *)&z8 : (void *)&zu};
    c8_tensor y = {0};
    run_q_dq(&x, &st, &zt, -1, &y);
    c8_fake_quant(xs, got, 1, 1, C * INNER, &s, &s, &zp, &zp, types[t]);
    CHECK(y.data && memcmp(y.data, got, sizeof got) == 0);
    c8_free(y.data);
    /* per axis 0 */
    float sc[C] = {0.5f, 0.25f, 0.1f, 2.0f};
    int32_t zc[C] = {0, -5, 7, 1};
    int8_t z8c[C];
    uint8_t zuc[C];
    for (int c = 0; c < C; c++) {
      if (types[t] == CALIB8_UINT8) zc[c] += 100;
      z8c[c] = (int8_t)zc[c];
      zuc[c] = (uint8_t)zc[c];
    }
    c8_tensor sct = {.dtype = CALIB8_FLOAT, .rank = 1, .dims = {C}, .data = sc};
    c8_tensor zct = {
        .dtype = types[t], .rank = 1, .dims = {C}, .data = types[t] == CALIB8_INT8 ? (void *)z8c : (void *)zuc};
    memset(&y, 0, sizeof y);
    run_q_dq(&x, &sct, &zct, 0, &y);
    c8_fake_quant(xs, got, 1, C, INNER, sc, sc, zc, zc, types[t]);
    CHECK(y.data && memcmp(y.data, got, sizeof got) == 0);
    c8_free(y.data);
  }
}

/* ---- the engine ---------------------------------------------------------------------------------------------- */

enum { N = 2, W = 40 };
#define SY 0.05f /* y = 3x spans -5.7..6.5: int8 at this scale clips its top a little */
#define SW 0.11f /* w = 6x spans -11.5..13: no clipping */

static float xin[N * W];

/* FP32: y = x * 3; w = y * 2; z = Relu(w). */
static c8_graph *fp32_graph(void) {
  c8_graph *g = c8_graph_new();
  int x = value(g, "x"), y = value(g, "y"), w = value(g, "w"), z = value(g, "z");
  node(g, "mul_y", "Mul", 2, (int[]){x, const_f(g, "three", 3.0f)}, y);
  node(g, "mul_w", "Mul", 2, (int[]){y, const_f(g, "two", 2.0f)}, w);
  node(g, "relu", "Relu", 1, (int[]){w}, z);
  io(g, x, z);
  return g;
}

/* calib8's QDQ naming, with a "weight" error (2.9 for 3): y_float = x * 2.9 -> Q/DQ -> y; w_float = y * 2 ->
 * Q/DQ -> w; z = Relu(w). */
static c8_graph *int8_graph(void) {
  c8_graph *g = c8_graph_new();
  int x = value(g, "x"), yf = value(g, "y_float"), y = value(g, "y"), wf = value(g, "w_float"), w = value(g, "w"),
      z = value(g, "z");
  node(g, "mul_y", "Mul", 2, (int[]){x, const_f(g, "three", 2.9f)}, yf);
  qdq(g, "y", yf, SY, 0, y);
  node(g, "mul_w", "Mul", 2, (int[]){y, const_f(g, "two", 2.0f)}, wf);
  qdq(g, "w", wf, SW, 0, w);
  node(g, "relu", "Relu", 1, (int[]){w}, z);
  io(g, x, z);
  return g;
}

/* ONNX Runtime's naming: y = x * 2.9 (raw, keeps the name) -> Q/DQ -> y_dq; w = y_dq * 2. */
static c8_graph *ort_graph(void) {
  c8_graph *g = c8_graph_new();
  int x = value(g, "x"), y = value(g, "y"), yd = value(g, "y_dq"), w = value(g, "w");
  node(g, "mul_y", "Mul", 2, (int[]){x, const_f(g, "three", 2.9f)}, y);
  qdq(g, "y", y, SY, 0, yd);
  node(g, "mul_w", "Mul", 2, (int[]){yd, const_f(g, "two", 2.0f)}, w);
  io(g, x, w);
  return g;
}

static void fq(const float *a, float *b, float s) {
  int32_t z = 0;
  c8_fake_quant(a, b, 1, 1, N * W, &s, &s, &z, &z, CALIB8_INT8);
}

static void sim(c8_similarity *s, const float *a, const float *b, int64_t n) {
  c8_similarity_init(s);
  c8_similarity_add(s, a, b, n);
}

static void check_same(const c8_similarity *got, const c8_similarity *want) {
  CHECK_EQ_INT(got->n, want->n);
  CHECK_NEAR(c8_similarity_cosine(got), c8_similarity_cosine(want), 0);
  CHECK_NEAR(c8_similarity_euclidean(got), c8_similarity_euclidean(want), 0);
  double a = c8_similarity_sqnr_db(got), b = c8_similarity_sqnr_db(want);
  CHECK(a == b);
}

static calib8_session *session(c8_graph *g) {
  calib8_session_options o = calib8_session_options_default();
  o.threads = 1;
  calib8_session *s = NULL;
  CHECK_EQ_INT(c8_session_create_from_graph(g, &o, &s), CALIB8_OK);
  c8_graph_destroy(g);
  return s;
}

static void run(c8_compare *c, int rows) {
  calib8_tensor x = {.dtype = CALIB8_FLOAT, .rank = 2, .dims = {N, W}, .data = xin};
  const char *names[1] = {"x"};
  CHECK_EQ_INT(c8_compare_run(c, 1, names, &x, rows), CALIB8_OK);
}

static void test_calib8_naming(void) {
  for (int i = 0; i < N * W; i++) xin[i] = (float)(i - 37) * 0.0517f;
  calib8_session *a = session(fp32_graph()), *b = session(int8_graph());
  c8_compare *c = NULL;
  CHECK_EQ_INT(c8_compare_create(a, b, &c), CALIB8_OK);
  if (!c) return;
  run(c, N);
  CHECK_EQ_INT(c8_compare_row_count(c), 3);
  const char *names[3] = {"y", "w", "z"}, *ops[3] = {"Mul", "Mul", "Relu"};
  for (int r = 0; r < 3 && r < c8_compare_row_count(c); r++) {
    CHECK(!strcmp(c8_compare_row_at(c, r)->name, names[r]));
    CHECK(!strcmp(c8_compare_row_at(c, r)->op, ops[r]));
    CHECK(c8_compare_row_at(c, r)->seen);
  }
  /* independent computation */
  float fy[N * W], fw[N * W], fz[N * W], ay[N * W], aw[N * W], az[N * W], t[N * W], iw[N * W], iz[N * W];
  for (int i = 0; i < N * W; i++) {
    fy[i] = xin[i] * 3.0f, fw[i] = fy[i] * 2.0f, fz[i] = fw[i] > 0 ? fw[i] : 0;
    t[i] = xin[i] * 2.9f;
  }
  fq(t, ay, SY);
  for (int i = 0; i < N * W; i++) t[i] = ay[i] * 2.0f;
  fq(t, aw, SW);
  for (int i = 0; i < N * W; i++) az[i] = aw[i] > 0 ? aw[i] : 0;
  /* isolated: w's layer reads Q/DQ(FP32 y); z's reads Q/DQ(FP32 w) */
  fq(fy, t, SY);
  for (int i = 0; i < N * W; i++) t[i] *= 2.0f;
  fq(t, iw, SW);
  fq(fw, t, SW);
  for (int i = 0; i < N * W; i++) iz[i] = t[i] > 0 ? t[i] : 0;
  c8_similarity e;
  sim(&e, fy, ay, N * W);
  check_same(&c8_compare_row_at(c, 0)->acc, &e);
  check_same(&c8_compare_row_at(c, 0)->iso, &e); /* y's layer reads the graph input in both runs */
  sim(&e, fw, aw, N * W);
  check_same(&c8_compare_row_at(c, 1)->acc, &e);
  sim(&e, fw, iw, N * W);
  check_same(&c8_compare_row_at(c, 1)->iso, &e);
  sim(&e, fz, az, N * W);
  check_same(&c8_compare_row_at(c, 2)->acc, &e);
  sim(&e, fz, iz, N * W);
  check_same(&c8_compare_row_at(c, 2)->iso, &e);
  /* the weight error (a scale: cosine barely sees it, the euclidean similarity does) shows in y's row, and w's
   * isolated row is free of it */
  CHECK(c8_similarity_euclidean(&c8_compare_row_at(c, 0)->acc) < 0.98);
  CHECK(c8_similarity_euclidean(&c8_compare_row_at(c, 1)->iso) > 0.99);
  CHECK(c8_similarity_euclidean(&c8_compare_row_at(c, 1)->acc) < 0.98);
  c8_compare_destroy(c);

  /* padded rows (rows = 1 of 2) are not scored; a second batch adds up */
  CHECK_EQ_INT(c8_compare_create(a, b, &c), CALIB8_OK);
  if (c) {
    run(c, 1);
    CHECK_EQ_INT(c8_compare_row_at(c, 0)->acc.n, W);
    sim(&e, fy, ay, W);
    check_same(&c8_compare_row_at(c, 0)->acc, &e);
    run(c, 2);
    CHECK_EQ_INT(c8_compare_row_at(c, 0)->acc.n, 3 * W);
    c8_compare_destroy(c);
  }
  calib8_session_destroy(a);
  calib8_session_destroy(b);
}

static void test_ort_naming(void) {
  c8_graph *g = fp32_graph();
  /* FP32 without the Relu: output w */
  g->outputs[0] = c8_graph_find_value(g, "w");
  CHECK_EQ_INT(c8_graph_remove_dead(g), CALIB8_OK);
  calib8_session *a = session(g), *b = session(ort_graph());
  c8_compare *c = NULL;
  CHECK_EQ_INT(c8_compare_create(a, b, &c), CALIB8_OK);
  if (!c) return;
  run(c, N);
  CHECK_EQ_INT(c8_compare_row_count(c), 2);
  float fy[N * W], fw[N * W], ry[N * W], t[N * W], aw[N * W], iw[N * W];
  for (int i = 0; i < N * W; i++) fy[i] = xin[i] * 3.0f, fw[i] = fy[i] * 2.0f, ry[i] = xin[i] * 2.9f;
  fq(ry, t, SY);
  for (int i = 0; i < N * W; i++) aw[i] = t[i] * 2.0f;
  fq(fy, t, SY); /* y replaced by the FP32 y, then through its own Q/DQ */
  for (int i = 0; i < N * W; i++) iw[i] = t[i] * 2.0f;
  c8_similarity e;
  sim(&e, fy, ry, N * W); /* the raw y: no rounding in its row */
  check_same(&c8_compare_row_at(c, 0)->acc, &e);
  check_same(&c8_compare_row_at(c, 0)->iso, &e);
  sim(&e, fw, aw, N * W);
  check_same(&c8_compare_row_at(c, 1)->acc, &e);
  sim(&e, fw, iw, N * W);
  check_same(&c8_compare_row_at(c, 1)->iso, &e);
  c8_compare_destroy(c);
  calib8_session_destroy(a);
  calib8_session_destroy(b);
}

static void test_no_shared_names(void) {
  c8_graph *g = c8_graph_new();
  int x = value(g, "x"), q = value(g, "other");
  node(g, "neg", "Neg", 1, (int[]){x}, q);
  io(g, x, q);
  calib8_session *a = session(fp32_graph()), *b = session(g);
  c8_compare *c = (c8_compare *)1;
  CHECK_EQ_INT(c8_compare_create(a, b, &c), CALIB8_INVALID_ARGUMENT);
  CHECK(c == (c8_compare *)1); /* untouched on failure */
  CHECK_STR_CONTAINS(calib8_last_error(), "share no tensor names");
  calib8_session_destroy(a);
  calib8_session_destroy(b);
  c8_compare_destroy(NULL);
}

int main(void) {
  CHECK_RUN(test_fake_quant_matches_operators);
  CHECK_RUN(test_calib8_naming);
  CHECK_RUN(test_ort_naming);
  CHECK_RUN(test_no_shared_names);
  return CHECK_DONE();
}
