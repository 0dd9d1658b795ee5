/* The public evaluation API (include/calib8/evaluate.h) on tiny models written here as ONNX files whose outputs
 * are their inputs (or simple functions of them), so every score is known by hand:
 *   top1/top5    ties in index order, a NaN in the row, a NaN for the label, a label out of range;
 *   map50/map    two images, one class found exactly, one class missed;
 *   similarity   top-1 agreement, cosine (computed here), outputs matched by name: a missing output and an
 *                output of another size are errors, as is an empty test set;
 *   compare      rows, the verdict (itself / inherited, the worst layer before), the JSON report.
 * And the one ranking rule (c8_class_rank, c8_class_argmax) directly, on float and integer scores. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "calib8/calib8.h"
#include "check.h"
#include "graph-builder.h"
#include "evaluate/score.h"
#include "export/onnx-write.h"

static char dir[64];

static const char *path_of(const char *name) {
  static char buf[8][256];
  static int k;
  char *p = buf[k++ % 8];
  snprintf(p, 256, "%s/%s", dir, name);
  return p;
}

static void write_text(const char *name, const char *text) {
  FILE *f = fopen(path_of(name), "w");
  CHECK(f != NULL);
  if (!f) return;
  fputs(text, f);
  fclose(f);
}

/* Declares x as a float input [N, dims...] with a dynamic batch. */
static int input(c8_graph *g, int rank, const int64_t *dims) {
  int x = c8_graph_get_or_add_value(g, "x");
  c8_value *v = &g->values[x];
  v->decl_dtype = CALIB8_FLOAT;
  v->decl_rank = rank;
  v->decl_dims[0] = -1;
  for (int d = 1; d < rank; d++) v->decl_dims[d] = dims[d];
  return x;
}

/* Writes g (consumed) as `name` and loads it back. */
static calib8_model *save(c8_graph *g, int x, int y, const char *name) {
  set_io(g, 1, &x, 1, &y);
  g->opset = 13;
  g->ir_version = 7;
  CHECK_EQ_INT(c8_onnx_write(g, NULL, path_of(name)), CALIB8_OK);
  c8_graph_destroy(g);
  calib8_model *m = NULL;
  CHECK_EQ_INT(calib8_model_load(path_of(name), &m), CALIB8_OK);
  return m;
}

/* y = op(x) for a unary op, or y = x op c for a binary one (c NULL: unary). */
static calib8_model *model(const char *name, int rank, const int64_t *dims, const char *op, const float *c,
                           const char *out) {
  c8_graph *g = c8_graph_new();
  int x = input(g, rank, dims);
  int y = c ? node(g, op, 2, (int[]){x, const_scalar(g, "c", *c)}, out) : node(g, op, 1, &x, out);
  return save(g, x, y, name);
}

static void write_npy(const char *name, int rank, const int64_t *dims, const float *data) {
  calib8_tensor t = {.dtype = CALIB8_FLOAT, .rank = rank, .data = (void *)data};
  memcpy(t.dims, dims, sizeof(int64_t) * (size_t)rank);
  CHECK_EQ_INT(calib8_npy_write(path_of(name), &t), CALIB8_OK);
}

static calib8_session *session(const calib8_model *m) {
  calib8_session_options o = calib8_session_options_default();
  o.threads = 1;
  o.optimize = 0;
  calib8_session *s = NULL;
  CHECK_EQ_INT(calib8_session_create(m, &o, &s), CALIB8_OK);
  return s;
}

static char last_labels[256]; /* r->labels of the last evaluate(): the evaluator that owns it is gone */

/* Evaluates m on test set `test` with options eo; returns the status and fills *r. */
static calib8_status evaluate(const calib8_model *m, const char *test, const calib8_eval_options *eo,
                              calib8_eval_result *r) {
  calib8_evaluator *ev = NULL;
  calib8_status st = calib8_evaluator_create(m, test, eo, &ev);
  if (st) return st;
  calib8_session *s = session(m);
  st = calib8_evaluate(ev, s, r);
  snprintf(last_labels, sizeof last_labels, "%s", !st && r->labels ? r->labels : "");
  if (!st) r->labels = r->labels ? last_labels : NULL;
  calib8_session_destroy(s);
  calib8_evaluator_destroy(ev);
  return st;
}

static void test_class_rank(void) {
  float v[] = {0.5f, 0.9f, 0.9f, 0.1f, /* ties: the first maximum wins */
               NAN,  0.2f, 0.9f, 0.1f, /* a NaN ranks before every number */
               0.3f, NAN,  0.1f, 0.2f};
  calib8_tensor t = {.dtype = CALIB8_FLOAT, .rank = 2, .dims = {3, 4}, .data = v};
  CHECK_EQ_INT(c8_class_argmax(&t, 0, 4), 1);
  CHECK_EQ_INT(c8_class_rank(&t, 0, 4, 1), 0);
  CHECK_EQ_INT(c8_class_rank(&t, 0, 4, 2), 1);
  CHECK_EQ_INT(c8_class_rank(&t, 0, 4, 0), 2);
  CHECK_EQ_INT(c8_class_rank(&t, 0, 4, 3), 3);
  CHECK_EQ_INT(c8_class_argmax(&t, 1, 4), -1); /* no class ranks first */
  CHECK_EQ_INT(c8_class_rank(&t, 1, 4, 2), 1);
  CHECK_EQ_INT(c8_class_rank(&t, 1, 4, 0), INT64_MAX); /* its own score is NaN: in no top-k */
  CHECK_EQ_INT(c8_class_rank(&t, 2, 4, 0), 1);
  CHECK_EQ_INT(c8_class_rank(&t, 2, 4, 1), INT64_MAX);
  int64_t iv[] = {3, 7, 7, -2};
  calib8_tensor ti = {.dtype = CALIB8_INT64, .rank = 2, .dims = {1, 4}, .data = iv};
  CHECK_EQ_INT(c8_class_argmax(&ti, 0, 4), 1);
  CHECK_EQ_INT(c8_class_rank(&ti, 0, 4, 2), 1);
  CHECK_EQ_INT(c8_class_rank(&ti, 0, 4, 3), 3);
}

static void test_topk(void) {
  calib8_model *m = model("ident4.onnx", 2, (int64_t[]){-1, 4}, "Identity", NULL, "y");
  if (!m) return;
  float x[] = {0.1f, 0.9f, 0.3f, 0.2f, /* label 1: a hit */
               0.5f, 0.5f, 0.1f, 0.0f, /* label 1: tied with class 0, which comes first: top-1 miss */
               NAN,  0.2f, 0.9f, 0.1f, /* label 2: the NaN ranks first: top-1 miss, top-5 hit */
               0.3f, NAN,  0.1f, 0.2f}; /* label 1: its own score is NaN: a miss everywhere */
  write_npy("x.npy", 2, (int64_t[]){4, 4}, x);
  write_text("labels.txt", "1\n1\n2\n1\n");
  calib8_eval_options eo = calib8_eval_options_default();
  CHECK_EQ_INT(eo.metric, CALIB8_METRIC_TOP1);
  eo.labels = path_of("labels.txt");
  for (int batch = 1; batch <= 3; batch += 2) {
    eo.data.batch = batch;
    calib8_eval_result r;
    eo.metric = CALIB8_METRIC_TOP1;
    CHECK_EQ_INT(evaluate(m, path_of("x.npy"), &eo, &r), CALIB8_OK);
    CHECK_NEAR(r.score, 0.25, 0);
    CHECK_EQ_INT(r.count, 4);
    CHECK_EQ_INT(r.correct, 1);
    CHECK(r.metric == CALIB8_METRIC_TOP1 && !strcmp(r.kind, "top1"));
    CHECK(r.labels && !strcmp(r.labels, path_of("labels.txt")));
    CHECK_EQ_INT(r.first_class, 1);
    CHECK_NEAR(r.first_prob, 0.9 / 1.5, 1e-6); /* scores in [0, 1]: normalized by their sum */
    eo.metric = CALIB8_METRIC_TOP5;
    CHECK_EQ_INT(evaluate(m, path_of("x.npy"), &eo, &r), CALIB8_OK);
    CHECK_NEAR(r.score, 0.75, 0);
    CHECK_EQ_INT(r.correct, 3);
    CHECK(!strcmp(r.kind, "top5"));
  }
  /* the JSON line the CLI writes */
  calib8_eval_result r = {.metric = CALIB8_METRIC_TOP1, .score = 0.25, .count = 4, .correct = 1, .kind = "top1"};
  CHECK_EQ_INT(calib8_eval_result_write_json(&r, path_of("r.json")), CALIB8_OK);
  char text[256] = "";
  FILE *f = fopen(path_of("r.json"), "r");
  if (f) {
    CHECK(fgets(text, sizeof text, f) != NULL);
    fclose(f);
  }
  CHECK(!strcmp(text, "{\"metric\": \"top1\", \"value\": 0.25, \"count\": 4, \"correct\": 1}\n"));

  /* a label the output cannot score */
  write_text("bad.txt", "1\n7\n2\n1\n");
  eo.metric = CALIB8_METRIC_TOP1;
  eo.labels = path_of("bad.txt");
  calib8_eval_result keep = {.score = -1};
  CHECK_EQ_INT(evaluate(m, path_of("x.npy"), &eo, &keep), CALIB8_INVALID_ARGUMENT);
  CHECK_STR_CONTAINS(calib8_last_error(), "label 7 is out of range: output 'y' scores 4 classes");
  CHECK_NEAR(keep.score, -1, 0); /* untouched on failure */
  /* no labels, and the test set is not an LMDB with data.label */
  eo.labels = NULL;
  calib8_evaluator *ev = (calib8_evaluator *)1;
  CHECK_EQ_INT(calib8_evaluator_create(m, path_of("x.npy"), &eo, &ev), CALIB8_INVALID_ARGUMENT);
  CHECK(ev == (calib8_evaluator *)1);
  CHECK_STR_CONTAINS(calib8_last_error(), "metric top1 needs class labels");
  /* too few labels */
  write_text("short.txt", "1\n1\n2\n");
  eo.labels = path_of("short.txt");
  CHECK_EQ_INT(calib8_evaluator_create(m, path_of("x.npy"), &eo, &ev), CALIB8_INVALID_ARGUMENT);
  calib8_evaluator_destroy(NULL);
  calib8_model_destroy(m);
}

static void test_detection(void) {
  CHECK_EQ_INT(calib8_decode_parse("yolov5"), 0);
  CHECK_EQ_INT(calib8_decode_parse("boxes"), 2);
  CHECK_EQ_INT(calib8_decode_parse("yolov9"), -1);
  CHECK_EQ_INT(calib8_decode_parse(NULL), -1);
  calib8_model *m = model("boxes.onnx", 3, (int64_t[]){-1, 2, 6}, "Identity", NULL, "det");
  if (!m) return;
  /* rows x1, y1, x2, y2, score, class */
  float x[] = {10, 10, 20, 20, 0.9f, 0, 50, 50, 60, 60, 0.1f, 1,  /* image 0: class 0 found exactly */
               0,  0,  10, 10, 0.8f, 0, 30, 30, 40, 40, 0.7f, 1}; /* image 1: class 1 misplaced */
  write_npy("det.npy", 3, (int64_t[]){2, 2, 6}, x);
  write_text("boxes.txt", "0,10,10,20,20\n1,0,0,10,10\n");
  calib8_eval_options eo = calib8_eval_options_default();
  eo.decode = calib8_decode_parse("boxes");
  eo.labels = path_of("boxes.txt");
  calib8_eval_result r;
  for (int metric = CALIB8_METRIC_MAP50; metric <= CALIB8_METRIC_MAP; metric++) {
    eo.metric = (calib8_metric)metric;
    CHECK_EQ_INT(evaluate(m, path_of("det.npy"), &eo, &r), CALIB8_OK);
    CHECK_NEAR(r.score, 0.5, 1e-9); /* class 0: AP 1 (its false positive scores below the hit); class 1: AP 0 */
    CHECK_EQ_INT(r.count, 2);
    CHECK_EQ_INT(r.correct, -1);
    CHECK(!strcmp(r.kind, calib8_metric_name((calib8_metric)metric)));
  }
  /* class labels are not boxes */
  write_text("classes.txt", "0\n1\n");
  eo.labels = path_of("classes.txt");
  calib8_evaluator *ev = NULL;
  CHECK(calib8_evaluator_create(m, path_of("det.npy"), &eo, &ev) != CALIB8_OK);
  eo.decode = 7;
  CHECK_EQ_INT(calib8_evaluator_create(m, path_of("det.npy"), &eo, &ev), CALIB8_INVALID_ARGUMENT);
  calib8_model_destroy(m);
}

static void test_similarity(void) {
  const float two = 2, one = 1;
  calib8_model *m = model("sim.onnx", 2, (int64_t[]){-1, 4}, "Identity", NULL, "y");
  calib8_model *twice = model("twice.onnx", 2, (int64_t[]){-1, 4}, "Mul", &two, "y");
  calib8_model *neg = model("neg.onnx", 2, (int64_t[]){-1, 4}, "Neg", NULL, "y");
  calib8_model *shift = model("shift.onnx", 2, (int64_t[]){-1, 4}, "Add", &one, "y");
  calib8_model *other = model("other.onnx", 2, (int64_t[]){-1, 4}, "Identity", NULL, "z");
  c8_graph *g = c8_graph_new();
  int x = input(g, 2, (int64_t[]){-1, 4});
  int y = node(g, "Concat", 2, (int[]){x, x}, "y");
  set_int(g, y, "axis", 1);
  calib8_model *wide = save(g, x, y, "wide.onnx");
  if (!m || !twice || !neg || !shift || !other || !wide) return;
  float v[] = {0.1f, 0.9f, 0.3f, 0.2f, 2, -1, 0.5f, 0.25f, -3, -2, -1, -4};
  write_npy("s.npy", 2, (int64_t[]){3, 4}, v);
  calib8_eval_options eo = calib8_eval_options_default();
  eo.metric = CALIB8_METRIC_SIMILARITY;
  eo.threads = 1;
  eo.data.batch = 2;
  calib8_eval_result r;
  /* a classifier ([N, 4]): top-1 agreement */
  eo.reference = twice;
  CHECK_EQ_INT(evaluate(m, path_of("s.npy"), &eo, &r), CALIB8_OK);
  CHECK_NEAR(r.score, 1, 0);
  CHECK_EQ_INT(r.correct, 3);
  CHECK_EQ_INT(r.count, 3);
  CHECK(r.metric == CALIB8_METRIC_SIMILARITY && !strcmp(r.kind, "top1_agreement") && r.labels == NULL);
  eo.reference = NULL; /* the model's own FP32 run */
  CHECK_EQ_INT(evaluate(m, path_of("s.npy"), &eo, &r), CALIB8_OK);
  CHECK_NEAR(r.score, 1, 0);
  eo.reference = neg;
  CHECK_EQ_INT(evaluate(m, path_of("s.npy"), &eo, &r), CALIB8_OK);
  CHECK_NEAR(r.score, 0, 0);
  CHECK_EQ_INT(r.correct, 0);
  /* the cosine: 1 for a scaled copy, 0 (clamped from -1) for the opposite, and numpy's value for a shift */
  eo.cosine_only = 1;
  eo.reference = twice;
  CHECK_EQ_INT(evaluate(m, path_of("s.npy"), &eo, &r), CALIB8_OK);
  CHECK_NEAR(r.score, 1, 1e-12);
  CHECK(!strcmp(r.kind, "mean_cosine"));
  CHECK_EQ_INT(r.correct, -1);
  eo.reference = neg;
  CHECK_EQ_INT(evaluate(m, path_of("s.npy"), &eo, &r), CALIB8_OK);
  CHECK_NEAR(r.score, 0, 0);
  eo.reference = shift;
  CHECK_EQ_INT(evaluate(m, path_of("s.npy"), &eo, &r), CALIB8_OK);
  double want = 0;
  for (int i = 0; i < 3; i++) {
    double ab = 0, aa = 0, bb = 0;
    for (int j = 0; j < 4; j++) {
      double a = v[4 * i + j], b = (double)(v[4 * i + j] + 1.0f);
      ab += a * b, aa += a * a, bb += b * b;
    }
    double c = ab / sqrt(aa * bb);
    want += c > 0 ? c : 0;
  }
  CHECK_NEAR(r.score, want / 3, 1e-12);
  CHECK(want / 3 < 0.99);
  /* JSON of a cosine: kind, no "correct" */
  CHECK_EQ_INT(calib8_eval_result_write_json(&r, path_of("s.json")), CALIB8_OK);
  char text[256] = "";
  FILE *f = fopen(path_of("s.json"), "r");
  if (f) {
    CHECK(fgets(text, sizeof text, f) != NULL);
    fclose(f);
  }
  CHECK_STR_CONTAINS(text, "{\"metric\": \"similarity\", \"kind\": \"mean_cosine\", \"value\": 0.");
  CHECK(!strstr(text, "correct"));
  eo.cosine_only = 0;

  /* outputs matched by name: a reference without 'y' is refused up front */
  eo.reference = other;
  calib8_evaluator *ev = NULL;
  CHECK_EQ_INT(calib8_evaluator_create(m, path_of("s.npy"), &eo, &ev), CALIB8_INVALID_ARGUMENT);
  CHECK_STR_CONTAINS(calib8_last_error(), "has no output named 'y'");
  /* an output of another size is an error naming it, not a skipped output */
  eo.reference = wide;
  r.score = -1;
  CHECK_EQ_INT(evaluate(m, path_of("s.npy"), &eo, &r), CALIB8_INVALID_ARGUMENT);
  CHECK_STR_CONTAINS(calib8_last_error(), "output 'y' is float32 [2,4] in the model but float32 [2,8] in the reference");
  CHECK_NEAR(r.score, -1, 0);
  /* the same through the cosine */
  eo.cosine_only = 1;
  CHECK_EQ_INT(evaluate(m, path_of("s.npy"), &eo, &r), CALIB8_INVALID_ARGUMENT);
  eo.cosine_only = 0;
  /* an empty test set is an error, never a score */
  CHECK_EQ_INT(mkdir(path_of("empty"), 0700), 0);
  eo.reference = twice;
  CHECK(evaluate(m, path_of("empty"), &eo, &r) != CALIB8_OK);
  CHECK_NEAR(r.score, -1, 0);
  calib8_model_destroy(m);
  calib8_model_destroy(twice);
  calib8_model_destroy(neg);
  calib8_model_destroy(shift);
  calib8_model_destroy(other);
  calib8_model_destroy(wide);
}

/* fp32: y = 3x, w = y - 3; "int8": y = 2.97x (1 % off), w = y - 3. With x near 1, w is small, so y's small
 * error becomes a large one in w: w is the first tensor below a tolerance of 0.98 and only inherits it. */
static calib8_model *chain(const char *name, float k) {
  const float three = 3;
  c8_graph *g = c8_graph_new();
  int x = input(g, 2, (int64_t[]){-1, 3});
  int y = node(g, "Mul", 2, (int[]){x, const_scalar(g, "k", k)}, "y");
  int w = node(g, "Sub", 2, (int[]){y, const_scalar(g, "three", three)}, "w");
  return save(g, x, w, name);
}

static void test_compare(void) {
  calib8_model *a = chain("fp32.onnx", 3.0f), *b = chain("int8.onnx", 2.97f);
  if (!a || !b) return;
  calib8_session *sa = session(a), *sb = session(b);
  calib8_compare *cmp = NULL;
  CHECK_EQ_INT(calib8_compare_create(sa, sb, &cmp), CALIB8_OK);
  if (!cmp) return;
  float xv[12];
  for (int i = 0; i < 12; i++) xv[i] = 1.0f + 0.01f * (float)i;
  calib8_batch bt = {.n_inputs = 1, .names = {"x"}, .rows = 4};
  bt.inputs[0] = (calib8_tensor){.dtype = CALIB8_FLOAT, .rank = 2, .dims = {4, 3}, .data = xv};
  CHECK_EQ_INT(calib8_compare_run(cmp, &bt), CALIB8_OK);
  bt.rows = 2; /* padded rows do not count */
  CHECK_EQ_INT(calib8_compare_run(cmp, &bt), CALIB8_OK);
  CHECK_EQ_INT(calib8_compare_samples(cmp), 6);
  CHECK_EQ_INT(calib8_compare_row_count(cmp), 2);
  calib8_compare_row r;
  CHECK_EQ_INT(calib8_compare_row_at(cmp, 0, &r), CALIB8_OK);
  CHECK(!strcmp(r.name, "y") && !strcmp(r.op, "Mul") && r.compared && !r.mismatch);
  CHECK_NEAR(r.accumulated.cosine, 1, 1e-9);
  CHECK_NEAR(r.accumulated.euclidean, 1 - 0.03 / 2.985, 1e-6);
  CHECK_EQ_INT(calib8_compare_row_at(cmp, 1, &r), CALIB8_OK);
  CHECK(!strcmp(r.name, "w") && !strcmp(r.op, "Sub"));
  CHECK(r.accumulated.euclidean < 0.9);
  CHECK(isinf(r.isolated.sqnr_db)); /* fed with FP32 y, w is exact */
  CHECK_EQ_INT(calib8_compare_row_at(cmp, 2, &r), CALIB8_INVALID_ARGUMENT);

  calib8_compare_verdict v;
  CHECK_EQ_INT(calib8_compare_verdict_at(cmp, 0.9, 0.98, &v), CALIB8_OK);
  CHECK_EQ_INT(v.compared, 2);
  CHECK_EQ_INT(v.mismatched, 0);
  CHECK_EQ_INT(v.first_below, 1);
  CHECK_EQ_INT(v.itself, 0);
  CHECK_EQ_INT(v.worst_before, 0);
  CHECK_EQ_INT(calib8_compare_verdict_at(cmp, 0.9, 0.999, &v), CALIB8_OK);
  CHECK_EQ_INT(v.first_below, 0); /* y itself is below: its own layer */
  CHECK_EQ_INT(v.itself, 1);
  CHECK_EQ_INT(v.worst_before, -1);
  CHECK_EQ_INT(calib8_compare_verdict_at(cmp, -1, -5, &v), CALIB8_OK);
  CHECK_EQ_INT(v.first_below, -1);

  CHECK_EQ_INT(calib8_compare_write_json(cmp, 0.9, 0.98, "a.onnx", "b.onnx", path_of("cmp.json")), CALIB8_OK);
  char text[4096] = "";
  FILE *f = fopen(path_of("cmp.json"), "r");
  if (f) {
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = 0;
    fclose(f);
  }
  CHECK_STR_CONTAINS(text, "\"fp32\":\t\"a.onnx\"");
  CHECK_STR_CONTAINS(text, "\"samples\":\t6");
  CHECK_STR_CONTAINS(text, "\"cause\":\t\"inherited\"");
  CHECK_STR_CONTAINS(text, "\"largest_isolated_error_before\":\t\"y\"");
  CHECK_STR_CONTAINS(text, "\"sqnr_db\":\tnull");

  calib8_similarity_stats s = {1, 0.5, 10};
  CHECK(!calib8_similarity_below(&s, 1, 0.5)); /* at the tolerance is within it */
  CHECK(calib8_similarity_below(&s, 1, 0.6));
  s.cosine = NAN;
  CHECK(calib8_similarity_below(&s, -1, -5));

  calib8_compare_destroy(cmp);
  calib8_compare_destroy(NULL);
  /* a model without the names */
  calib8_model *o = model("unrelated.onnx", 2, (int64_t[]){-1, 3}, "Neg", NULL, "q");
  calib8_session *so = session(o);
  cmp = (calib8_compare *)1;
  CHECK_EQ_INT(calib8_compare_create(sa, so, &cmp), CALIB8_INVALID_ARGUMENT);
  CHECK(cmp == (calib8_compare *)1);
  CHECK_STR_CONTAINS(calib8_last_error(), "share no tensor names");
  calib8_session_destroy(so);
  calib8_model_destroy(o);
  calib8_session_destroy(sa);
  calib8_session_destroy(sb);
  calib8_model_destroy(a);
  calib8_model_destroy(b);
}

static void test_metric_names(void) {
  for (int i = 0; i < CALIB8_METRIC_COUNT; i++) CHECK_EQ_INT(calib8_metric_parse(calib8_metric_name((calib8_metric)i)), i);
  CHECK_EQ_INT(calib8_metric_parse("top3"), -1);
  CHECK_EQ_INT(calib8_metric_parse(NULL), -1);
}

int main(void) {
  snprintf(dir, sizeof dir, "/tmp/c8-evaluate-XXXXXX");
  if (!mkdtemp(dir)) return 1;
  CHECK_RUN(test_class_rank);
  CHECK_RUN(test_metric_names);
  CHECK_RUN(test_topk);
  CHECK_RUN(test_detection);
  CHECK_RUN(test_similarity);
  CHECK_RUN(test_compare);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd)) fprintf(stderr, "could not remove %s\n", dir);
  return CHECK_DONE();
}
