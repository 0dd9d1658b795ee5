/* Cross-layer equalization and bias correction (Nagel et al., "Data-Free Quantization Through Weight
 * Equalization and Bias Correction", ICCV 2019). Fixtures: tests/unit/gen/make_dfq_fixtures.py. */
#include <math.h>
#include <stdint.h>

#include "check.h"
#include "export/bias-correct.h"
#include "export/qdq.h"
#include "graph/graph.h"
#include "load/model.h"
#include "observe/calibrate.h"
#include "plan/qplan.h"
#include "run/session.h"

#define FIX "tests/unit/fixtures/"

static uint64_t rng = 1;
static double uniform01(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (double)(rng >> 11) / 9007199254740992.0;
}
static float gauss(void) {
  double u = uniform01(), v = uniform01();
  if (u < 1e-300) u = 1e-300;
  return (float)(sqrt(-2 * log(u)) * cos(2 * M_PI * v));
}

/* The graph a session runs: loaded, then optimized (as calib8 quantize sees it). */
static c8_graph *load_optimized(const char *path) {
  calib8_model *m = NULL;
  if (calib8_model_load(path, &m) != CALIB8_OK) {
    fprintf(stderr, "cannot load %s: %s\n", path, calib8_last_error());
    return NULL;
  }
  c8_graph *g = c8_graph_clone(m->graph);
  calib8_model_destroy(m);
  if (g && c8_graph_optimize(g) != CALIB8_OK) {
    c8_graph_destroy(g);
    return NULL;
  }
  return g;
}

typedef struct batch {
  int rank;
  int64_t dims[4]; /* dims[0] is the sample count */
  float *x;
} batch;

static batch make_batch(int rank, const int64_t *dims, float (*gen)(int64_t i)) {
  batch b = {.rank = rank};
  int64_t n = 1;
  for (int d = 0; d < rank; d++) n *= (b.dims[d] = dims[d]);
  b.x = malloc(sizeof(float) * (size_t)n);
  for (int64_t i = 0; i < n; i++) b.x[i] = gen(i);
  return b;
}
static int64_t batch_numel(const batch *b) {
  int64_t n = 1;
  for (int d = 0; d < b->rank; d++) n *= b->dims[d];
  return n;
}
/* rows [r0, r0 + rows) of b as a tensor view */
static calib8_tensor rows_of(const batch *b, int64_t r0, int64_t rows) {
  calib8_tensor t = {.dtype = CALIB8_FLOAT, .rank = b->rank};
  int64_t per = batch_numel(b) / b->dims[0];
  for (int d = 0; d < b->rank; d++) t.dims[d] = b->dims[d];
  t.dims[0] = rows;
  t.data = b->x + r0 * per;
  return t;
}

/* Output 0 of g on b (malloc'd copy, *n elements). */
static float *run_graph(const c8_graph *g, const batch *b, int64_t *n) {
  calib8_session_options so = calib8_session_options_default();
  so.threads = 1;
  calib8_session *s = NULL;
  float *out = NULL;
  if (c8_session_create_from_graph(g, &so, &s) != CALIB8_OK) goto done;
  calib8_tensor x = rows_of(b, 0, b->dims[0]), y;
  if (calib8_session_run(s, 1, NULL, &x) != CALIB8_OK || calib8_session_output(s, 0, &y) != CALIB8_OK) {
    fprintf(stderr, "run failed: %s\n", calib8_last_error());
    goto done;
  }
  *n = calib8_tensor_numel(&y);
  out = malloc(sizeof(float) * (size_t)*n);
  memcpy(out, y.data, sizeof(float) * (size_t)*n);
done:
  calib8_session_destroy(s);
  return out;
}

/* max |a - b| / max |a| */
static double rel_maxdiff(const float *a, const float *b, int64_t n) {
  double d = 0, m = 0;
  for (int64_t i = 0; i < n; i++) {
    d = fmax(d, fabs((double)a[i] - b[i]));
    m = fmax(m, fabs((double)a[i]));
  }
  return m > 0 ? d / m : d;
}
/* sqrt(sum (q - r)^2 / sum r^2) */
static double rel_rms(const float *ref, const float *q, int64_t n) {
  double e = 0, s = 0;
  for (int64_t i = 0; i < n; i++) {
    e += ((double)q[i] - ref[i]) * ((double)q[i] - ref[i]);
    s += (double)ref[i] * ref[i];
  }
  return sqrt(e / s);
}
/* RMS over output channels (axis 1 of [N, C, ...]) of the mean error E[q - r] of each channel, relative to
   the RMS of the reference: the systematic part of the error that bias correction targets. */
static double rel_mean_error(const float *ref, const float *q, int64_t N, int64_t C, int64_t inner) {
  double acc = 0, s = 0;
  for (int64_t c = 0; c < C; c++) {
    double m = 0;
    for (int64_t n = 0; n < N; n++)
      for (int64_t k = 0; k < inner; k++) m += (double)q[(n * C + c) * inner + k] - ref[(n * C + c) * inner + k];
    m /= (double)(N * inner);
    acc += m * m;
  }
  for (int64_t i = 0; i < N * C * inner; i++) s += (double)ref[i] * ref[i];
  return sqrt(acc / (double)C) / sqrt(s / (double)(N * C * inner));
}

/* QDQ graph of g calibrated on `cal` (MAX thresholds, 8 rows per batch). */
static c8_graph *quantize(const c8_graph *g, const batch *cal, c8_granularity gran, bool bias_correction) {
  calib8_session_options so = calib8_session_options_default();
  so.threads = 1;
  calib8_session *s = NULL;
  c8_calibration *c = NULL;
  c8_qplan *p = NULL;
  c8_graph *q = NULL;
  if (c8_session_create_from_graph(g, &so, &s) || c8_calibration_create(s, &c)) goto done;
  if (bias_correction && c8_calibration_enable_means(c)) goto done;
  for (int64_t r = 0; r < cal->dims[0]; r += 8) {
    int64_t rows = cal->dims[0] - r < 8 ? cal->dims[0] - r : 8;
    calib8_tensor x = rows_of(cal, r, rows);
    if (c8_calibration_run(c, s, 1, NULL, &x)) goto done;
  }
  c8_quant_options o = c8_quant_options_default();
  o.method = C8_THRESHOLD_MAX;
  o.granularity = gran;
  o.bias_correction = bias_correction;
  if (c8_qplan_build(s->g, c, &o, &p) || c8_qdq_build(p, &q)) goto done;
done:
  if (!q) fprintf(stderr, "quantize failed: %s\n", calib8_last_error());
  c8_qplan_destroy(p);
  c8_calibration_destroy(c);
  calib8_session_destroy(s);
  return q;
}

/* mean over output channels of r_i / max_j r_j, r_i = max |W[i, ...]|: 1 when all channels have one range;
   the share of the per-tensor int8 grid that the average channel uses. */
static double range_uniformity(const c8_graph *g, const char *node) {
  for (int i = 0; i < g->n_nodes; i++) {
    if (strcmp(g->nodes[i].name, node) != 0) continue;
    const c8_tensor *W = &g->values[g->nodes[i].in[1]].t;
    int64_t C = W->dims[0], per = c8_numel(W) / C;
    double mx = 0, sum = 0;
    for (int64_t c = 0; c < C; c++) {
      double r = 0;
      for (int64_t k = 0; k < per; k++) r = fmax(r, fabs(((float *)W->data)[c * per + k]));
      sum += r;
      mx = fmax(mx, r);
    }
    return sum / (double)C / mx;
  }
  return -1;
}

static float gen_gauss(int64_t i) {
  (void)i;
  return gauss();
}

static void test_cle_chain(void) {
  c8_graph *g = load_optimized(FIX "cle_chain.onnx");
  CHECK(g != NULL);
  if (!g) return;
  c8_graph *e = c8_graph_clone(g);
  int pairs = -1;
  CHECK_EQ_INT(c8_graph_equalize(e, 20, &pairs), CALIB8_OK);
  CHECK_EQ_INT(pairs, 3); /* conv1 -> depthwise conv2 -> conv3 -> conv4 */
  rng = 11;
  batch t = make_batch(4, (int64_t[]){16, 4, 12, 12}, gen_gauss);
  int64_t n1 = 0, n2 = 0;
  float *y0 = run_graph(g, &t, &n1), *y1 = run_graph(e, &t, &n2);
  CHECK(y0 && y1 && n1 == n2 && n1 == 16 * 6 * 12 * 12);
  if (y0 && y1) {
    double d = rel_maxdiff(y0, y1, n1);
    fprintf(stderr, "  chain: FP32 max relative difference after CLE %.3g\n", d);
    CHECK(d < 1e-4);
  }
  const char *convs[] = {"conv1", "conv2", "conv3", "conv4"};
  for (int i = 0; i < 4; i++) {
    double before = range_uniformity(g, convs[i]), after = range_uniformity(e, convs[i]);
    fprintf(stderr, "  %s: mean channel range / max range %.3f -> %.3f\n", convs[i], before, after);
    if (i < 3) CHECK(after > before * 1.5); /* conv4's output channels are not rescaled */
  }
  /* per-tensor weights (and activations): the equalized model loses far less */
  rng = 12;
  batch cal = make_batch(4, (int64_t[]){64, 4, 12, 12}, gen_gauss);
  c8_graph *q0 = quantize(g, &cal, C8_GRAN_PER_TENSOR, false), *q1 = quantize(e, &cal, C8_GRAN_PER_TENSOR, false);
  c8_graph *c0 = quantize(g, &cal, C8_GRAN_PER_CHANNEL, false), *c1 = quantize(e, &cal, C8_GRAN_PER_CHANNEL, false);
  CHECK(q0 && q1 && c0 && c1);
  if (q0 && q1 && c0 && c1 && y0) {
    int64_t n;
    float *a = run_graph(q0, &t, &n), *b = run_graph(q1, &t, &n), *pa = run_graph(c0, &t, &n),
          *pb = run_graph(c1, &t, &n);
    double ea = rel_rms(y0, a, n), eb = rel_rms(y0, b, n), pca = rel_rms(y0, pa, n), pcb = rel_rms(y0, pb, n);
    fprintf(stderr, "  chain INT8 relative RMS error: per-tensor %.4f -> %.4f with CLE; per-channel %.4f -> %.4f\n",
            ea, eb, pca, pcb);
    CHECK(eb < ea / 4);
    free(a);
    free(b);
    free(pa);
    free(pb);
  }
  c8_graph_destroy(q0);
  c8_graph_destroy(q1);
  c8_graph_destroy(c0);
  c8_graph_destroy(c1);
  free(cal.x);
  free(t.x);
  free(y0);
  free(y1);
  c8_graph_destroy(e);
  c8_graph_destroy(g);
}

static void test_cle_blocked(void) {
  c8_graph *g = load_optimized(FIX "cle_blocked.onnx");
  CHECK(g != NULL);
  if (!g) return;
  c8_graph *e = c8_graph_clone(g);
  int pairs = -1;
  CHECK_EQ_INT(c8_graph_equalize(e, 10, &pairs), CALIB8_OK);
  CHECK_EQ_INT(pairs, 2); /* g -> h -> p; Clip (a -> b), two readers (b -> c, d) and a graph output (p -> q)
                             block the others */
  /* g and h shared one initializer: it was copied, so the two now differ */
  int gi = -1, hi = -1;
  for (int i = 0; i < e->n_nodes; i++) {
    if (!strcmp(e->nodes[i].name, "g")) gi = i;
    if (!strcmp(e->nodes[i].name, "h")) hi = i;
  }
  CHECK(gi >= 0 && hi >= 0);
  if (gi >= 0 && hi >= 0) CHECK(e->nodes[gi].in[1] != e->nodes[hi].in[1]);
  for (int i = 0; i < e->n_nodes; i++) {
    const char *nm = e->nodes[i].name;
    if (strcmp(nm, "a") && strcmp(nm, "b") && strcmp(nm, "c") && strcmp(nm, "d") && strcmp(nm, "q")) continue;
    const c8_tensor *W0 = &g->values[g->nodes[i].in[1]].t, *W1 = &e->values[e->nodes[i].in[1]].t;
    CHECK(memcmp(W0->data, W1->data, c8_nbytes(W0)) == 0); /* untouched */
  }
  rng = 21;
  batch t = make_batch(4, (int64_t[]){4, 3, 8, 8}, gen_gauss);
  int64_t n1 = 0, n2 = 0;
  float *y0 = run_graph(g, &t, &n1), *y1 = run_graph(e, &t, &n2);
  CHECK(y0 && y1 && n1 == n2);
  if (y0 && y1) CHECK(rel_maxdiff(y0, y1, n1) < 1e-4);
  CHECK_EQ_INT(c8_graph_equalize(e, 0, &pairs), CALIB8_INVALID_ARGUMENT);
  CHECK_STR_CONTAINS(calib8_last_error(), "iterations is 0");
  free(t.x);
  free(y0);
  free(y1);
  c8_graph_destroy(e);
  c8_graph_destroy(g);
}

static void test_cle_resnet8(void) {
  c8_graph *g = load_optimized("models/fmnist_resnet8.onnx");
  CHECK(g != NULL);
  if (!g) return;
  c8_graph *e = c8_graph_clone(g);
  int pairs = -1;
  CHECK_EQ_INT(c8_graph_equalize(e, 20, &pairs), CALIB8_OK);
  CHECK_EQ_INT(pairs, 3); /* the a -> Relu -> b convolutions of each block; residual Adds break the rest */
  rng = 31;
  batch t = make_batch(4, (int64_t[]){8, 3, 32, 32}, gen_gauss);
  int64_t n1 = 0, n2 = 0;
  float *y0 = run_graph(g, &t, &n1), *y1 = run_graph(e, &t, &n2);
  CHECK(y0 && y1 && n1 == n2 && n1 == 80);
  if (y0 && y1) {
    double d = rel_maxdiff(y0, y1, n1);
    fprintf(stderr, "  resnet8: FP32 max relative difference after CLE %.3g\n", d);
    CHECK(d < 1e-4);
  }
  const char *convs[] = {"/l/l.0/a/Conv", "/l/l.1/a/Conv", "/l/l.2/a/Conv"};
  for (int i = 0; i < 3; i++) {
    double before = range_uniformity(g, convs[i]), after = range_uniformity(e, convs[i]);
    fprintf(stderr, "  %s: mean channel range / max range %.3f -> %.3f\n", convs[i], before, after);
    CHECK(after > before);
  }
  free(t.x);
  free(y0);
  free(y1);
  c8_graph_destroy(e);
  c8_graph_destroy(g);
}

/* The per-channel means: the values, and the same bits whatever the batch size. */
static void test_calibration_means(void) {
  c8_graph *g = load_optimized(FIX "cle_chain.onnx");
  CHECK(g != NULL);
  if (!g) return;
  rng = 41;
  batch b = make_batch(4, (int64_t[]){12, 4, 12, 12}, gen_gauss);
  for (int64_t i = 0; i < batch_numel(&b); i++) b.x[i] += (float)((i / 144) % 4); /* channel c has mean ~c */
  calib8_session_options so = calib8_session_options_default();
  so.threads = 1;
  double *m[3] = {NULL, NULL, NULL}, *r1[3] = {NULL, NULL, NULL};
  int64_t nm[3] = {0}, nr[3] = {0};
  const int sizes[3] = {12, 5, 1};
  for (int k = 0; k < 3; k++) {
    calib8_session *s = NULL;
    c8_calibration *c = NULL;
    CHECK_EQ_INT(c8_session_create_from_graph(g, &so, &s), CALIB8_OK);
    CHECK_EQ_INT(c8_calibration_create(s, &c), CALIB8_OK);
    CHECK_EQ_INT(c8_calibration_enable_means(c), CALIB8_OK);
    for (int64_t r = 0; r < 12; r += sizes[k]) {
      int64_t rows = 12 - r < sizes[k] ? 12 - r : sizes[k];
      calib8_tensor x = rows_of(&b, r, rows);
      CHECK_EQ_INT(c8_calibration_run(c, s, 1, NULL, &x), CALIB8_OK);
    }
    CHECK_EQ_INT(c8_calibration_enable_means(c), CALIB8_INVALID_ARGUMENT); /* too late */
    int axis = 0;
    CHECK_EQ_INT(c8_calibration_channel_mean(c, c8_graph_find_value(s->g, "x"), &m[k], &nm[k], &axis), CALIB8_OK);
    CHECK_EQ_INT(axis, 1);
    CHECK_EQ_INT(c8_calibration_channel_mean(c, c8_graph_find_value(s->g, "r1"), &r1[k], &nr[k], NULL), CALIB8_OK);
    double *none = (double *)1;
    int64_t nn = 5;
    CHECK_EQ_INT(c8_calibration_channel_mean(c, c8_graph_find_value(s->g, "c1"), &none, &nn, NULL), CALIB8_OK);
    CHECK(none == NULL && nn == 0); /* the Relu's input is not read by a Conv: not tracked */
    c8_calibration_destroy(c);
    calib8_session_destroy(s);
  }
  CHECK_EQ_INT(nm[0], 4);
  CHECK_EQ_INT(nr[0], 16);
  for (int ch = 0; ch < 4 && m[0]; ch++) {
    double ref = 0;
    for (int64_t n = 0; n < 12; n++)
      for (int64_t k = 0; k < 144; k++) ref += b.x[(n * 4 + ch) * 144 + k];
    ref /= 12 * 144;
    CHECK_NEAR(m[0][ch], ref, 1e-12);
    CHECK_NEAR(m[0][ch], ch, 0.1);
  }
  for (int k = 1; k < 3; k++) {
    CHECK(m[0] && m[k] && memcmp(m[0], m[k], sizeof(double) * 4) == 0);
    CHECK(r1[0] && r1[k] && memcmp(r1[0], r1[k], sizeof(double) * 16) == 0);
  }
  for (int k = 0; k < 3; k++) {
    free(m[k]);
    free(r1[k]);
  }
  free(b.x);
  c8_graph_destroy(g);
}

/* The correction arithmetic on a tiny Gemm, checked by hand and against a transposed copy. */
static void test_bias_shift_gemm(void) {
  c8_graph *g = load_optimized(FIX "bc_gemm.onnx");
  CHECK(g != NULL);
  if (!g) return;
  const c8_node *n = &g->nodes[0];
  const c8_tensor *W = &g->values[n->in[1]].t; /* [K=8, N=4], max |w| = 0.9 */
  CHECK_EQ_INT(W->dims[0], 8);
  float wq[32];
  CHECK_EQ_INT(c8_dequantized_weights(W, -1, C8_WEIGHTS_MINMAX, wq), CALIB8_OK);
  /* per tensor: s = 0.9 / 127; w[1][0] = 0.011 -> round(1.552) = 2 -> 2 s = 0.0141732 */
  CHECK_NEAR(wq[1 * 4 + 0], 2 * 0.9 / 127, 1e-7);
  double onehot[8] = {0, 1, 0, 0, 0, 0, 0, 0}, shift[4];
  int64_t N = 0;
  CHECK_EQ_INT(c8_bias_shift(n, W, wq, onehot, 8, shift, &N), CALIB8_OK);
  CHECK_EQ_INT(N, 4);
  CHECK_NEAR(shift[0], 2 * 0.9 / 127 - 0.011, 1e-7); /* = 0.0031732 */
  /* w[1][1] = 0.017 -> round(2.399) = 2 -> error 0.0141732 - 0.017 */
  CHECK_NEAR(shift[1], 2 * 0.9 / 127 - 0.017, 1e-7);
  double mean[8] = {1.0, -0.5, 0.25, 2.0, 0.0, 1.5, -1.0, 0.75}, ref[4];
  CHECK_EQ_INT(c8_bias_shift(n, W, wq, mean, 8, shift, &N), CALIB8_OK);
  for (int j = 0; j < 4; j++) {
    ref[j] = 0;
    for (int k = 0; k < 8; k++) ref[j] += ((double)wq[k * 4 + j] - ((float *)W->data)[k * 4 + j]) * mean[k];
    CHECK_NEAR(shift[j], ref[j], 1e-12);
  }
  /* transB = 1 and alpha = 2 on the transposed weights: twice the shift */
  float wt[32], wqt[32];
  for (int k = 0; k < 8; k++)
    for (int j = 0; j < 4; j++) {
      wt[j * 8 + k] = ((float *)W->data)[k * 4 + j];
      wqt[j * 8 + k] = wq[k * 4 + j];
    }
  c8_tensor Wt = {.dtype = CALIB8_FLOAT, .rank = 2, .dims = {4, 8}, .data = wt};
  c8_attr at[2] = {{.name = "transB", .type = C8_ATTR_INT, .i = 1}, {.name = "alpha", .type = C8_ATTR_FLOAT, .f = 2}};
  c8_node nt = {.name = "t", .op_type = "Gemm", .domain = "", .n_attr = 2, .attr = at};
  CHECK_EQ_INT(c8_bias_shift(&nt, &Wt, wqt, mean, 8, shift, &N), CALIB8_OK);
  for (int j = 0; j < 4; j++) CHECK_NEAR(shift[j], 2 * ref[j], 1e-12);
  CHECK_EQ_INT(c8_bias_shift(&nt, &Wt, wqt, mean, 7, shift, &N), CALIB8_UNSUPPORTED); /* wrong K */
  c8_graph_destroy(g);
}

static float gen_gemm_input(int64_t i) {
  return (float)(0.5 + uniform01() + 0.1 * (double)(i % 8)); /* positive, mean ~1 + 0.1 k per feature */
}

/* End to end on the Gemm: the QDQ model's mean output error per channel nearly vanishes. */
static void test_bias_correction_gemm(void) {
  c8_graph *g = load_optimized(FIX "bc_gemm.onnx");
  CHECK(g != NULL);
  if (!g) return;
  rng = 51;
  batch cal = make_batch(2, (int64_t[]){512, 8}, gen_gemm_input);
  batch t = make_batch(2, (int64_t[]){512, 8}, gen_gemm_input);
  c8_graph *q0 = quantize(g, &cal, C8_GRAN_PER_TENSOR, false), *q1 = quantize(g, &cal, C8_GRAN_PER_TENSOR, true);
  CHECK(q0 && q1);
  int64_t n;
  float *y = run_graph(g, &t, &n);
  float *a = q0 ? run_graph(q0, &t, &n) : NULL, *b = q1 ? run_graph(q1, &t, &n) : NULL;
  CHECK(y && a && b);
  if (y && a && b) {
    double ma = rel_mean_error(y, a, 512, 4, 1), mb = rel_mean_error(y, b, 512, 4, 1);
    double ea = rel_rms(y, a, n), eb = rel_rms(y, b, n);
    fprintf(stderr, "  gemm per-tensor: relative mean error %.5f -> %.5f, relative RMS error %.5f -> %.5f\n", ma, mb,
            ea, eb);
    CHECK(mb < ma / 5);
    CHECK(eb < ea);
  }
  /* the corrected model carries a new bias; the float model's is untouched */
  if (q1) {
    int k = -1;
    for (int i = 0; i < q1->n_nodes; i++)
      if (!strcmp(q1->nodes[i].op_type, "Gemm")) k = i;
    CHECK(k >= 0 && q1->nodes[k].n_in == 3);
    if (k >= 0) CHECK_STR_CONTAINS(q1->values[q1->nodes[k].in[2]].name, "b_corrected");
  }
  free(y);
  free(a);
  free(b);
  c8_graph_destroy(q0);
  c8_graph_destroy(q1);
  free(cal.x);
  free(t.x);
  c8_graph_destroy(g);
}

/* On the badly scaled chain with per-tensor weights: the mean error shrinks; conv4 (no bias) gets one. */
static void test_bias_correction_chain(void) {
  c8_graph *g = load_optimized(FIX "cle_chain.onnx");
  CHECK(g != NULL);
  if (!g) return;
  rng = 61;
  batch cal = make_batch(4, (int64_t[]){64, 4, 12, 12}, gen_gauss);
  batch t = make_batch(4, (int64_t[]){32, 4, 12, 12}, gen_gauss);
  c8_graph *q0 = quantize(g, &cal, C8_GRAN_PER_TENSOR, false), *q1 = quantize(g, &cal, C8_GRAN_PER_TENSOR, true);
  CHECK(q0 && q1);
  int64_t n;
  float *y = run_graph(g, &t, &n);
  float *a = q0 ? run_graph(q0, &t, &n) : NULL, *b = q1 ? run_graph(q1, &t, &n) : NULL;
  CHECK(y && a && b);
  if (y && a && b) {
    double ma = rel_mean_error(y, a, 32, 6, 144), mb = rel_mean_error(y, b, 32, 6, 144);
    double ea = rel_rms(y, a, n), eb = rel_rms(y, b, n);
    fprintf(stderr, "  chain per-tensor: relative mean error %.4f -> %.4f, relative RMS error %.4f -> %.4f\n", ma,
            mb, ea, eb);
    CHECK(mb < ma / 2);
    CHECK(eb < ea);
  }
  if (q1) {
    int k = -1;
    for (int i = 0; i < q1->n_nodes; i++)
      if (!strcmp(q1->nodes[i].name, "conv4")) k = i;
    CHECK(k >= 0 && q1->nodes[k].n_in == 3 && q1->nodes[k].in[2] >= 0);
  }
  free(y);
  free(a);
  free(b);
  c8_graph_destroy(q0);
  c8_graph_destroy(q1);
  free(cal.x);
  free(t.x);
  c8_graph_destroy(g);
}

/* bias correction without the means fails with a sentence saying what to do */
static void test_bias_correction_needs_means(void) {
  c8_graph *g = load_optimized(FIX "bc_gemm.onnx");
  CHECK(g != NULL);
  if (!g) return;
  calib8_session *s = NULL;
  c8_calibration *c = NULL;
  c8_qplan *p = NULL;
  CHECK_EQ_INT(c8_session_create_from_graph(g, NULL, &s), CALIB8_OK);
  CHECK_EQ_INT(c8_calibration_create(s, &c), CALIB8_OK);
  rng = 71;
  batch cal = make_batch(2, (int64_t[]){4, 8}, gen_gemm_input);
  calib8_tensor x = rows_of(&cal, 0, 4);
  CHECK_EQ_INT(c8_calibration_run(c, s, 1, NULL, &x), CALIB8_OK);
  c8_quant_options o = c8_quant_options_default();
  o.bias_correction = true;
  CHECK_EQ_INT(c8_qplan_build(s->g, c, &o, &p), CALIB8_INVALID_ARGUMENT);
  CHECK_STR_CONTAINS(calib8_last_error(), "c8_calibration_enable_means");
  CHECK(p == NULL);
  free(cal.x);
  c8_calibration_destroy(c);
  calib8_session_destroy(s);
  c8_graph_destroy(g);
}

int main(void) {
  CHECK_RUN(test_cle_chain);
  CHECK_RUN(test_cle_blocked);
  CHECK_RUN(test_cle_resnet8);
  CHECK_RUN(test_calibration_means);
  CHECK_RUN(test_bias_shift_gemm);
  CHECK_RUN(test_bias_correction_gemm);
  CHECK_RUN(test_bias_correction_chain);
  CHECK_RUN(test_bias_correction_needs_means);
  return CHECK_DONE();
}
