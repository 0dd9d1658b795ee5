/* The public functions the calib8 command prints and parses through (docs/api.md, "Text for front ends"), on the
 * real LeNet and the demo images: calib8_model_print, calib8_session_write_outputs, calib8_compare_print and
 * calib8_compare_parse_tolerance, calib8_quant_option_value and calib8_quant_options_set, calib8_qplan_print,
 * calib8_qplan_evaluate and calib8_qplan_compare_json, calib8_outputs_check_report, calib8_eval_result_print,
 * calib8_eval_options_default_metric, calib8_session_options_parse_sub_batch, calib8_preprocess_templates_print,
 * calib8_now, calib8_trial_print, calib8_search_result_print and calib8_sensitivity_print.
 * Every expected line is recomputed here from the objects' own accessors. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "calib8/calib8.h"
#include "check.h"

#define LENET "models/fmnist_lenet.onnx"
#define PP_LENET "mean_value=72.94,std_value=90.0"
static const char *DEMO = "examples/fmnist";

/* Output of fn(..., f) as a string (free it). */
typedef struct capture {
  char *text;
  size_t len;
  FILE *f;
} capture;
static FILE *cap_open(capture *c) { return c->f = open_memstream(&c->text, &c->len); }
static char *cap_close(capture *c) {
  fclose(c->f);
  return c->text;
}

static int count_lines(const char *s) {
  int n = 0;
  for (; *s; s++) n += *s == '\n';
  return n;
}

/* LeNet, a session, a calibration over the first `limit` demo images and a plan with options q. */
typedef struct fixture {
  calib8_model *m;
  calib8_session *s;
  calib8_calibration *cal;
  calib8_qplan *plan;
} fixture;

static int setup(fixture *f, int limit, const calib8_quant_options *q) {
  memset(f, 0, sizeof *f);
  calib8_dataset *ds = NULL;
  calib8_dataset_options o = calib8_dataset_options_default();
  o.preprocess = PP_LENET;
  o.limit = limit;
  int ok = calib8_model_load(LENET, &f->m) == CALIB8_OK && calib8_session_create(f->m, NULL, &f->s) == CALIB8_OK &&
           calib8_dataset_open(f->m, 1, &DEMO, &o, &ds) == CALIB8_OK &&
           calib8_calibration_create(f->s, NULL, &f->cal) == CALIB8_OK &&
           calib8_calibration_add_dataset(f->cal, ds, NULL, NULL) == CALIB8_OK &&
           calib8_qplan_build(f->s, f->cal, q, &f->plan) == CALIB8_OK;
  if (!ok) fprintf(stderr, "setup: %s\n", calib8_last_error());
  calib8_dataset_close(ds);
  return ok;
}

static void teardown(fixture *f) {
  calib8_qplan_destroy(f->plan);
  calib8_calibration_destroy(f->cal);
  calib8_session_destroy(f->s);
  calib8_model_destroy(f->m);
}

static void test_model_print(void) {
  calib8_model *m = NULL;
  if (calib8_model_load(LENET, &m)) {
    CHECK(0);
    return;
  }
  capture c;
  CHECK_EQ_INT(calib8_model_print(m, "lenet.onnx", 0, cap_open(&c)), CALIB8_OK);
  char *t = cap_close(&c), want[256];
  CHECK(!strncmp(t, "model: lenet.onnx\n", 18));
  snprintf(want, sizeof want, "opset: %d\ninputs:\n", calib8_model_opset(m));
  CHECK_STR_CONTAINS(t, want);
  calib8_value_info vi;
  calib8_model_input_info(m, 0, &vi);
  CHECK_STR_CONTAINS(t, vi.name);
  calib8_model_output_info(m, 0, &vi);
  CHECK_STR_CONTAINS(t, vi.name);
  snprintf(want, sizeof want, "operators: %d nodes\n", calib8_model_node_count(m));
  CHECK_STR_CONTAINS(t, want);
  snprintf(want, sizeof want, "parameters: %lld\n", (long long)calib8_model_parameter_count(m));
  CHECK_STR_CONTAINS(t, want);
  /* the histogram: one line per distinct op, their counts summing to the node count */
  int sum = 0, kinds = 0;
  const char *p = strstr(t, "nodes\n") + 6;
  char op[64];
  int n;
  while (sscanf(p, " %63s %d", op, &n) == 2 && strcmp(op, "parameters:")) {
    sum += n, kinds++;
    p = strchr(p, '\n') + 1;
  }
  CHECK_EQ_INT(sum, calib8_model_node_count(m));
  CHECK(kinds > 1);
  CHECK(strstr(t, "detection heads") == NULL);
  free(t);
  CHECK_EQ_INT(calib8_model_print(m, "lenet.onnx", 1, cap_open(&c)), CALIB8_OK);
  t = cap_close(&c);
  const char **names = NULL;
  int nh = 0;
  CHECK_EQ_INT(calib8_model_heads(m, &names, NULL, &nh), CALIB8_OK);
  snprintf(want, sizeof want, "detection heads (kept in FP32 by quantize --fp32-heads): %d nodes\n", nh);
  CHECK_STR_CONTAINS(t, want);
  for (int i = 0; i < nh; i++) CHECK_STR_CONTAINS(strstr(t, want), names[i]);
  calib8_free(names);
  free(t);
  CHECK_EQ_INT(calib8_model_print(NULL, "x", 0, stdout), CALIB8_INVALID_ARGUMENT);
  CHECK_EQ_INT(calib8_model_print(m, "x", 0, NULL), CALIB8_INVALID_ARGUMENT);
  calib8_model_destroy(m);
}

static void test_write_outputs(void) {
  calib8_model *m = NULL;
  calib8_session *s = NULL;
  if (calib8_model_load(LENET, &m) || calib8_session_create(m, NULL, &s)) {
    CHECK(0);
    return;
  }
  float x[32 * 32];
  for (int i = 0; i < 32 * 32; i++) x[i] = (float)((i * 37) % 101) / 50.0f - 1.0f;
  calib8_value_info vi;
  calib8_model_input_info(m, 0, &vi);
  calib8_tensor in = {CALIB8_FLOAT, 4, {1, 1, 28, 28}, x};
  if (vi.rank == 4) in.dims[2] = vi.dims[2], in.dims[3] = vi.dims[3];
  CHECK_EQ_INT(calib8_session_run(s, 1, NULL, &in), CALIB8_OK);
  char dir[] = "/tmp/calib8-text-XXXXXX", sub[128], path[256], want[512];
  CHECK(mkdtemp(dir) != NULL);
  snprintf(sub, sizeof sub, "%s/new", dir); /* created */
  capture c;
  CHECK_EQ_INT(calib8_session_write_outputs(s, sub, cap_open(&c)), CALIB8_OK);
  char *t = cap_close(&c);
  CHECK_EQ_INT(count_lines(t), calib8_session_output_count(s));
  calib8_tensor y, back = {0};
  calib8_session_output(s, 0, &y);
  const char *name = calib8_session_output_name(s, 0);
  char fname[128];
  size_t k = 0;
  for (; name[k] && k < sizeof fname - 1; k++) fname[k] = strchr("/: ", name[k]) ? '_' : name[k];
  fname[k] = 0;
  snprintf(path, sizeof path, "%s/%s.npy", sub, fname);
  snprintf(want, sizeof want, "output %s %s [%lld,%lld] -> %s\n", name, calib8_dtype_name(y.dtype), (long long)y.dims[0],
           (long long)y.dims[1], path);
  CHECK_STR_CONTAINS(t, want);
  free(t);
  CHECK_EQ_INT(calib8_npy_read(path, &back), CALIB8_OK);
  CHECK_EQ_INT(back.rank, y.rank);
  CHECK(back.data && !memcmp(back.data, y.data, sizeof(float) * (size_t)(y.dims[0] * y.dims[1])));
  calib8_tensor_free(&back);
  /* a file where the folder should be */
  CHECK_EQ_INT(calib8_session_write_outputs(s, path, NULL), CALIB8_IO);
  CHECK_STR_CONTAINS(calib8_last_error(), "exists and is not a directory");
  CHECK_EQ_INT(calib8_session_write_outputs(NULL, sub, NULL), CALIB8_INVALID_ARGUMENT);
  unlink(path);
  rmdir(sub);
  rmdir(dir);
  calib8_session_destroy(s);
  calib8_model_destroy(m);
}

static void test_tolerance(void) {
  double c = 7, e = 7;
  CHECK_EQ_INT(calib8_compare_parse_tolerance("0.95,-2", &c, &e), CALIB8_OK);
  CHECK_NEAR(c, 0.95, 0);
  CHECK_NEAR(e, -2, 0);
  const char *bad[] = {"0.9", "0.9,", ",0.5", "1.5,0.5", "0.9,1.5", "0.9;0.5", "nan,0.5", "0.9,0.5x", ""};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    CHECK_EQ_INT(calib8_compare_parse_tolerance(bad[i], &c, &e), CALIB8_INVALID_ARGUMENT);
    CHECK_STR_CONTAINS(calib8_last_error(), "needs two numbers COS,EUCLID");
  }
  CHECK_NEAR(c, 0.95, 0); /* unchanged by failures */
  CHECK_EQ_INT(calib8_compare_parse_tolerance(NULL, &c, &e), CALIB8_INVALID_ARGUMENT);
}

static void test_compare_print(void) {
  fixture f;
  if (!setup(&f, 16, NULL)) {
    CHECK(0);
    return;
  }
  calib8_session *qs = NULL;
  calib8_compare *cmp = NULL;
  calib8_dataset *ds = NULL;
  calib8_dataset_options o = calib8_dataset_options_default();
  o.preprocess = PP_LENET;
  o.limit = 8;
  CHECK_EQ_INT(calib8_qplan_session(f.plan, NULL, &qs), CALIB8_OK);
  CHECK_EQ_INT(calib8_compare_create(f.s, qs, &cmp), CALIB8_OK);
  CHECK_EQ_INT(calib8_dataset_open(f.m, 1, &DEMO, &o, &ds), CALIB8_OK);
  CHECK_EQ_INT(calib8_compare_dataset(cmp, ds), CALIB8_OK);
  /* a loose tolerance passes everything, an impossible one (cosine 1, euclidean 1) fails somewhere */
  double tols[2][2] = {{-1, -1e9}, {1, 1}};
  for (int k = 0; k < 2; k++) {
    calib8_compare_verdict v, want;
    capture c;
    CHECK_EQ_INT(calib8_compare_print(cmp, tols[k][0], tols[k][1], "a.onnx", "b.onnx", cap_open(&c), &v), CALIB8_OK);
    char *t = cap_close(&c), line[512];
    CHECK_EQ_INT(calib8_compare_verdict_at(cmp, tols[k][0], tols[k][1], &want), CALIB8_OK);
    CHECK_EQ_INT(v.compared, want.compared);
    CHECK_EQ_INT(v.first_below, want.first_below);
    CHECK(v.compared > 3);
    snprintf(line, sizeof line, "compared %d tensors over %lld samples", v.compared,
             (long long)calib8_compare_samples(cmp));
    CHECK_STR_CONTAINS(t, line);
    int below = 0;
    for (const char *p = t; (p = strstr(p, "< below")); p++) below++;
    if (k == 0) {
      CHECK_EQ_INT(v.first_below, -1);
      CHECK_EQ_INT(below, 0);
      snprintf(line, sizeof line, "all %d tensors are within tolerance\n", v.compared);
      CHECK_STR_CONTAINS(t, line);
    } else {
      CHECK(v.first_below >= 0);
      CHECK(below > 0);
      calib8_compare_row r;
      calib8_compare_row_at(cmp, v.first_below, &r);
      snprintf(line, sizeof line, "first tensor below tolerance: '%s' (%s node '%s')", r.name, r.op, r.node);
      CHECK_STR_CONTAINS(t, line);
      CHECK_STR_CONTAINS(t, v.itself ? "it hurts by itself" : "it only inherits damage");
    }
    /* two header lines, one per compared tensor, then the verdict */
    CHECK(count_lines(t) >= 2 + v.compared + 2);
    free(t);
  }
  CHECK_EQ_INT(calib8_compare_print(cmp, 0.9, 0.5, NULL, "b", stdout, NULL), CALIB8_INVALID_ARGUMENT);
  calib8_dataset_close(ds);
  calib8_compare_destroy(cmp);
  calib8_session_destroy(qs);
  teardown(&f);
}

static void test_quant_options(void) {
  CHECK(calib8_quant_option_value("--nope") == NULL);
  CHECK(calib8_quant_option_value(NULL) == NULL);
  CHECK(!strcmp(calib8_quant_option_value("--asymmetric"), ""));
  CHECK(!strcmp(calib8_quant_option_value("--weights"), "minmax or admm"));
  CHECK(!strcmp(calib8_quant_option_value("--fpfwd_outputs"), "layer names"));
  calib8_quant_options q = calib8_quant_options_default(), d = q;
  CHECK_EQ_INT(calib8_quant_options_set(&q, "--method", "PERCENTILE9990"), CALIB8_OK);
  CHECK_EQ_INT(q.method, CALIB8_METHOD_PERCENTILE);
  CHECK_NEAR(q.percentile, calib8_method_parse_percentile("PERCENTILE9990"), 0);
  CHECK_EQ_INT(calib8_quant_options_set(&q, "--percentile", "99.5"), CALIB8_OK);
  CHECK_NEAR(q.percentile, 99.5, 0);
  CHECK_EQ_INT(calib8_quant_options_set(&q, "--granularity", "mix"), CALIB8_OK);
  CHECK_EQ_INT(q.granularity, CALIB8_GRANULARITY_MIX);
  CHECK_EQ_INT(calib8_quant_options_set(&q, "--asymmetric", NULL), CALIB8_OK);
  CHECK_EQ_INT(q.asymmetric, 1);
  const char *names = "a,b";
  CHECK_EQ_INT(calib8_quant_options_set(&q, "--fp32-after", names), CALIB8_OK);
  CHECK(q.fp32_after == names); /* borrowed */
  CHECK_EQ_INT(calib8_quant_options_set(&q, "--fpfwd_inputs", names), CALIB8_OK);
  CHECK(q.fpfwd_inputs == names);
  /* TNN's numbers */
  CHECK_EQ_INT(calib8_quant_options_set(&q, "-b", "0"), CALIB8_OK);
  CHECK_EQ_INT(q.method, CALIB8_METHOD_MAX);
  CHECK_EQ_INT(calib8_quant_options_set(&q, "--weight_method", "1"), CALIB8_OK);
  CHECK_EQ_INT(q.weights, CALIB8_WEIGHTS_ADMM);
  CHECK_EQ_INT(calib8_quant_options_set(&q, "-t", "2"), CALIB8_OK);
  CHECK_EQ_INT(q.granularity, CALIB8_PER_TENSOR);
  CHECK_EQ_INT(calib8_quant_options_set(&q, "-t", "0"), CALIB8_OK);
  CHECK_EQ_INT(q.granularity, CALIB8_PER_CHANNEL);
  /* refusals quote the value and leave q alone */
  calib8_quant_options before = q;
  const char *bad[][3] = {{"--method", "entropy", "--method 'entropy' is not one of"},
                          {"--percentile", "0", "must be a number in (0, 100]"},
                          {"--percentile", "100.5", "must be a number in (0, 100]"},
                          {"--weights", "max", "--weights 'max' is not minmax or admm"},
                          {"--granularity", "channel", "is not per-channel, per-tensor or mix"},
                          {"-b", "1", "-b '1' is not TNN's 0 (Min-Max) or 2 (KL)"},
                          {"--merge_type", "3", "--merge_type '3' is not TNN's 0"},
                          {"--method", NULL, "option --method needs kl, max"},
                          {"--nope", "1", "'--nope' is not an option"}};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    CHECK_EQ_INT(calib8_quant_options_set(&q, bad[i][0], bad[i][1]), CALIB8_INVALID_ARGUMENT);
    CHECK_STR_CONTAINS(calib8_last_error(), bad[i][2]);
  }
  CHECK(!memcmp(&q, &before, sizeof q));
  CHECK(memcmp(&q, &d, sizeof q) != 0);
}

static void test_qplan_print(void) {
  calib8_quant_options q = calib8_quant_options_default();
  CHECK_EQ_INT(calib8_quant_options_set(&q, "--fp32-heads", NULL), CALIB8_OK);
  fixture f;
  if (!setup(&f, 12, &q)) {
    CHECK(0);
    return;
  }
  calib8_summary_extra x = {.output_path = "out.onnx", .calibration_seconds = 1.25, .equalized_pairs = 3};
  capture c;
  CHECK_EQ_INT(calib8_qplan_print(f.plan, f.cal, &q, &x, cap_open(&c)), CALIB8_OK);
  char *t = cap_close(&c), want[256];
  int n = calib8_qplan_layer_count(f.plan), n8 = 0;
  for (int i = 0; i < n; i++) {
    calib8_layer_info li;
    calib8_qplan_layer(f.plan, i, &li);
    n8 += li.precision == CALIB8_PRECISION_INT8;
  }
  CHECK(n8 > 0 && n8 < n); /* the head stays FP32 */
  int64_t macs, macs8;
  calib8_qplan_macs(f.plan, &macs, &macs8);
  snprintf(want, sizeof want, "calibrated on 12 samples in 1.250 s (kl, minmax weights, per-channel)\n"
           "INT8 layers: %d of %d convolution/matrix layers; %.1f %% of multiply-accumulates\n"
           "cross-layer equalization: 3 convolution pairs\nwrote out.onnx\n", n8, n, 100.0 * (double)macs8 / (double)macs);
  CHECK(!strcmp(t, want));
  if (strcmp(t, want)) fprintf(stderr, "got:\n%s\nwanted:\n%s", t, want);
  free(t);
  CHECK_EQ_INT(calib8_qplan_print(f.plan, f.cal, &q, NULL, cap_open(&c)), CALIB8_OK);
  t = cap_close(&c);
  CHECK(strstr(t, "wrote") == NULL && strstr(t, "equalization") == NULL);
  free(t);
  CHECK_EQ_INT(calib8_qplan_print(f.plan, NULL, &q, NULL, stdout), CALIB8_INVALID_ARGUMENT);
  teardown(&f);
}

static void test_qplan_evaluate(void) {
  fixture f;
  if (!setup(&f, 16, NULL)) {
    CHECK(0);
    return;
  }
  calib8_eval_options eo = calib8_eval_options_default();
  eo.metric = CALIB8_METRIC_TOP1;
  eo.labels = "examples/fmnist/labels.txt";
  eo.data.preprocess = PP_LENET;
  eo.data.limit = 40;
  calib8_eval_result fr, qr, want;
  CHECK_EQ_INT(calib8_qplan_evaluate(f.plan, f.m, f.s, DEMO, &eo, &fr, &qr, NULL), CALIB8_OK);
  /* the same numbers from an evaluator of its own */
  calib8_evaluator *ev = NULL;
  calib8_session *qs = NULL;
  CHECK_EQ_INT(calib8_evaluator_create(f.m, DEMO, &eo, &ev), CALIB8_OK);
  CHECK_EQ_INT(calib8_evaluate(ev, f.s, &want), CALIB8_OK);
  CHECK_NEAR(fr.score, want.score, 0);
  CHECK_EQ_INT(fr.count, 40);
  CHECK_EQ_INT(fr.first_class, want.first_class);
  CHECK_EQ_INT(calib8_qplan_session(f.plan, NULL, &qs), CALIB8_OK);
  CHECK_EQ_INT(calib8_evaluate(ev, qs, &want), CALIB8_OK);
  CHECK_NEAR(qr.score, want.score, 0);
  CHECK_EQ_INT(qr.correct, want.correct);
  CHECK(fr.labels == NULL && qr.labels == NULL);
  /* with the first samples' predictions (the report's and summary's), the same scores */
  char *pred = NULL;
  CHECK_EQ_INT(calib8_qplan_evaluate(f.plan, f.m, f.s, DEMO, &eo, &fr, &qr, &pred), CALIB8_OK);
  CHECK(pred && pred[0] == '[' && strstr(pred, "\"fp32\""));
  CHECK_NEAR(qr.score, want.score, 0);
  calib8_free(pred);
  /* similarity: the FP32 model is the reference, its own score 1 */
  eo.metric = CALIB8_METRIC_SIMILARITY;
  eo.labels = NULL;
  CHECK_EQ_INT(calib8_qplan_evaluate(f.plan, f.m, f.s, DEMO, &eo, &fr, &qr, NULL), CALIB8_OK);
  CHECK_NEAR(fr.score, 1.0, 0);
  CHECK(qr.score > 0.5 && qr.score <= 1.0);
  CHECK_EQ_INT(qr.count, 40);
  /* a labels file that cannot be read is refused; the results stay untouched */
  eo.metric = CALIB8_METRIC_TOP1;
  eo.labels = "tests/unit/fixtures/does-not-exist.txt";
  fr.score = qr.score = -7;
  CHECK(calib8_qplan_evaluate(f.plan, f.m, f.s, DEMO, &eo, &fr, &qr, NULL) != CALIB8_OK);
  CHECK_NEAR(fr.score, -7, 0);
  CHECK_EQ_INT(calib8_qplan_evaluate(NULL, f.m, f.s, DEMO, &eo, &fr, &qr, NULL), CALIB8_INVALID_ARGUMENT);
  calib8_session_destroy(qs);
  calib8_evaluator_destroy(ev);
  teardown(&f);
}

static void test_qplan_compare_json(void) {
  fixture f;
  if (!setup(&f, 16, NULL)) {
    CHECK(0);
    return;
  }
  calib8_dataset_options o = calib8_dataset_options_default();
  o.preprocess = PP_LENET;
  o.limit = 8;
  calib8_dataset *ds = NULL, *ds2 = NULL;
  calib8_session *qs = NULL;
  calib8_compare *cmp = NULL;
  char *got = NULL, *want = NULL;
  CHECK_EQ_INT(calib8_dataset_open(f.m, 1, &DEMO, &o, &ds), CALIB8_OK);
  CHECK_EQ_INT(calib8_qplan_compare_json(f.plan, f.s, ds, NULL, 0.9, 0.5, "a.onnx", "b.onnx", &got), CALIB8_OK);
  /* the same document made step by step */
  CHECK_EQ_INT(calib8_dataset_open(f.m, 1, &DEMO, &o, &ds2), CALIB8_OK);
  CHECK_EQ_INT(calib8_qplan_session(f.plan, NULL, &qs), CALIB8_OK);
  CHECK_EQ_INT(calib8_compare_create(f.s, qs, &cmp), CALIB8_OK);
  CHECK_EQ_INT(calib8_compare_dataset(cmp, ds2), CALIB8_OK);
  CHECK_EQ_INT(calib8_compare_json(cmp, 0.9, 0.5, "a.onnx", "b.onnx", &want), CALIB8_OK);
  CHECK(got && want && !strcmp(got, want));
  CHECK_STR_CONTAINS(got, "\"samples\":\t8");
  char *none = (char *)"keep";
  CHECK_EQ_INT(calib8_qplan_compare_json(f.plan, f.s, NULL, NULL, 0.9, 0.5, "a", "b", &none), CALIB8_INVALID_ARGUMENT);
  CHECK(!strcmp(none, "keep"));
  calib8_free(got);
  calib8_free(want);
  calib8_compare_destroy(cmp);
  calib8_session_destroy(qs);
  calib8_dataset_close(ds2);
  calib8_dataset_close(ds);
  teardown(&f);
}

static void test_report_check(void) {
  char dir[] = "/tmp/calib8-report-XXXXXX", in[128], report[128], missing[128];
  CHECK(mkdtemp(dir) != NULL);
  snprintf(in, sizeof in, "%s/model.onnx", dir);
  snprintf(report, sizeof report, "%s/r.html", dir);
  snprintf(missing, sizeof missing, "%s/nodir/r.html", dir);
  FILE *f = fopen(in, "w");
  if (f) fclose(f);
  const char *paths[3] = {in, NULL, "out.onnx"};
  CHECK_EQ_INT(calib8_outputs_check_report(NULL, 3, paths), CALIB8_OK);
  CHECK_EQ_INT(calib8_outputs_check_report(report, 3, paths), CALIB8_OK);
  CHECK_EQ_INT(calib8_outputs_check_report(in, 3, paths), CALIB8_INVALID_ARGUMENT);
  CHECK_STR_CONTAINS(calib8_last_error(), "is also");
  CHECK_STR_CONTAINS(calib8_last_error(), "the report needs its own file name");
  CHECK_EQ_INT(calib8_outputs_check_report("out.onnx", 3, paths), CALIB8_INVALID_ARGUMENT);
  CHECK_EQ_INT(calib8_outputs_check_report(dir, 3, paths), CALIB8_INVALID_ARGUMENT);
  CHECK_STR_CONTAINS(calib8_last_error(), "is a folder; it needs a file name such as report.html");
  CHECK_EQ_INT(calib8_outputs_check_report(missing, 3, paths), CALIB8_INVALID_ARGUMENT);
  CHECK_STR_CONTAINS(calib8_last_error(), "/nodir' does not exist");
  CHECK_EQ_INT(calib8_outputs_check_report(report, 2, NULL), CALIB8_INVALID_ARGUMENT);
  unlink(in);
  rmdir(dir);
}

static void test_eval_print(void) {
  calib8_eval_result r = {.metric = CALIB8_METRIC_TOP5, .score = 0.75, .count = 8, .correct = 6};
  capture c;
  CHECK_EQ_INT(calib8_eval_result_print(&r, NULL, cap_open(&c)), CALIB8_OK);
  char *t = cap_close(&c);
  CHECK(!strcmp(t, "top5 0.750000 (6 of 8 samples)\n"));
  free(t);
  r.metric = CALIB8_METRIC_MAP50, r.correct = -1;
  CHECK_EQ_INT(calib8_eval_result_print(&r, NULL, cap_open(&c)), CALIB8_OK);
  t = cap_close(&c);
  CHECK(!strcmp(t, "map50 0.750000 (8 images)\n"));
  free(t);
  r.metric = CALIB8_METRIC_SIMILARITY;
  CHECK_EQ_INT(calib8_eval_result_print(&r, "ref.onnx", cap_open(&c)), CALIB8_OK);
  t = cap_close(&c);
  CHECK(!strcmp(t, "similarity 0.750000 (mean per-sample cosine against 'ref.onnx' over 8 samples)\n"));
  free(t);
  r.correct = 6;
  CHECK_EQ_INT(calib8_eval_result_print(&r, "ref.onnx", cap_open(&c)), CALIB8_OK);
  t = cap_close(&c);
  CHECK(!strcmp(t, "similarity 0.750000 (top-1 class agrees with 'ref.onnx' on 6 of 8 samples)\n"));
  free(t);
  CHECK_EQ_INT(calib8_eval_result_print(NULL, NULL, stdout), CALIB8_INVALID_ARGUMENT);
}

static void test_default_metric(void) {
  calib8_model *m = NULL;
  if (calib8_model_load(LENET, &m)) {
    CHECK(0);
    return;
  }
  char labels[256] = "x";
  calib8_eval_options eo = calib8_eval_options_default();
  eo.metric = CALIB8_METRIC_MAP;
  eo.labels = "given.txt"; /* labels given: top1, and the test set is not even opened */
  CHECK_EQ_INT(calib8_eval_options_default_metric(m, "no/such/folder", &eo, labels, sizeof labels), CALIB8_OK);
  CHECK_EQ_INT(eo.metric, CALIB8_METRIC_TOP1);
  CHECK(!strcmp(eo.labels, "given.txt"));
  eo.labels = NULL; /* a folder of images carries no labels: similarity */
  eo.data.preprocess = PP_LENET;
  CHECK_EQ_INT(calib8_eval_options_default_metric(m, DEMO, &eo, labels, sizeof labels), CALIB8_OK);
  CHECK_EQ_INT(eo.metric, CALIB8_METRIC_SIMILARITY);
  CHECK(eo.labels == NULL && labels[0] == 0);
  CHECK(calib8_eval_options_default_metric(m, "no/such/folder", &eo, labels, sizeof labels) != CALIB8_OK);
  CHECK_EQ_INT(calib8_eval_options_default_metric(m, DEMO, &eo, NULL, 0), CALIB8_INVALID_ARGUMENT);
  calib8_model_destroy(m);
}

static void test_search_print(void) {
  calib8_search_result r;
  memset(&r, 0, sizeof r);
  snprintf(r.strategy, sizeof r.strategy, "kl, per-channel + heads FP32");
  calib8_trial t = {.index = 3, .strategy = r.strategy, .score = 0.91, .drop = 0.002, .seconds = 1.25,
                    .int8_macs = 0.97, .fp32_layers = 1, .within_budget = 1};
  r.choice = t;
  r.n_trials = 4;
  snprintf(r.qtable, sizeof r.qtable, "q.qtable");
  snprintf(r.table, sizeof r.table, "q.table");
  snprintf(r.log, sizeof r.log, "q.log");
  capture c;
  calib8_trial_print(&t, "top1", cap_open(&c));
  char *s = cap_close(&c), want[512];
  snprintf(want, sizeof want, "trial %2d  %-44s top1 0.9100  drop +0.0020  FP32 layers 1  INT8 MACs  97.0 %%  1.2 s"
           "  within budget\n", 3, r.strategy);
  CHECK(!strcmp(s, want));
  free(s);
  t.replayed = 1, t.within_budget = 0;
  calib8_trial_print(&t, NULL, cap_open(&c));
  s = cap_close(&c);
  snprintf(want, sizeof want, "trial %2d  %-44s score 0.91  drop +0.0020  FP32 layers 1  INT8 MACs  97.0 %%  1.2 s"
           "  (from log)\n", 3, r.strategy);
  CHECK(!strcmp(s, want));
  free(s);
  calib8_search_result_print(&r, "top1", "q.onnx", cap_open(&c));
  s = cap_close(&c);
  CHECK(!strcmp(s, "choice: trial 3 (kl, per-channel + heads FP32): top1 0.9100, drop +0.0020, 1 FP32 layers, 97.0 % "
                   "of MACs in INT8; 4 trials\nwrote q.onnx, q.qtable, q.table, q.log\n"));
  free(s);
  calib8_search_result_print(&r, NULL, "q.onnx", cap_open(&c));
  s = cap_close(&c);
  CHECK_STR_CONTAINS(s, "(kl, per-channel + heads FP32): score 0.91, drop +0.0020");
  free(s);
  calib8_trial_print(NULL, "top1", stdout); /* nothing */
}

static void test_sensitivity_print(void) {
  fixture f;
  if (!setup(&f, 8, NULL)) {
    CHECK(0);
    return;
  }
  calib8_dataset *ds = NULL;
  calib8_dataset_options o = calib8_dataset_options_default();
  o.preprocess = PP_LENET;
  o.limit = 8;
  calib8_search_options so = calib8_search_options_default();
  calib8_sensitivity *rank = NULL;
  CHECK_EQ_INT(calib8_dataset_open(f.m, 1, &DEMO, &o, &ds), CALIB8_OK);
  CHECK_EQ_INT(calib8_sensitivity_run(f.m, ds, &so, &rank), CALIB8_OK);
  capture c;
  CHECK_EQ_INT(calib8_sensitivity_print(rank, 0, cap_open(&c)), CALIB8_OK);
  char *t = cap_close(&c);
  int n = calib8_sensitivity_count(rank);
  CHECK(n > 0);
  CHECK_EQ_INT(count_lines(t), n + 1);
  CHECK_STR_CONTAINS(t, "1 - cosine");
  for (int i = 0; i < n; i++) {
    calib8_sensitivity_row row;
    calib8_sensitivity_row_at(rank, i, &row);
    char want[256];
    snprintf(want, sizeof want, "%-4d %-40s %-14s", i + 1, row.layer, row.op);
    CHECK_STR_CONTAINS(t, want);
  }
  free(t);
  CHECK_EQ_INT(calib8_sensitivity_print(rank, 1, cap_open(&c)), CALIB8_OK);
  t = cap_close(&c);
  CHECK_STR_CONTAINS(t, "metric drop");
  free(t);
  CHECK_EQ_INT(calib8_sensitivity_print(NULL, 1, stdout), CALIB8_INVALID_ARGUMENT);
  calib8_sensitivity_destroy(rank);
  calib8_dataset_close(ds);
  teardown(&f);
}

static void test_sub_batch(void) {
  int sb = 99;
  CHECK_EQ_INT(calib8_session_options_parse_sub_batch("auto", &sb), CALIB8_OK);
  CHECK_EQ_INT(sb, 0);
  CHECK_EQ_INT(calib8_session_options_parse_sub_batch("off", &sb), CALIB8_OK);
  CHECK_EQ_INT(sb, -1);
  CHECK_EQ_INT(calib8_session_options_parse_sub_batch("1048576", &sb), CALIB8_OK);
  CHECK_EQ_INT(sb, 1 << 20);
  const char *bad[] = {"0", "-3", "1048577", "8x", "", "Auto"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    CHECK_EQ_INT(calib8_session_options_parse_sub_batch(bad[i], &sb), CALIB8_INVALID_ARGUMENT);
    CHECK_STR_CONTAINS(calib8_last_error(), "option --sub-batch needs auto, off or a number of samples");
  }
  CHECK_EQ_INT(sb, 1 << 20); /* unchanged by failures */
  CHECK_EQ_INT(calib8_session_options_parse_sub_batch(NULL, &sb), CALIB8_INVALID_ARGUMENT);
  CHECK_STR_CONTAINS(calib8_last_error(), "got '(nothing)'");
}

static void test_templates_and_clock(void) {
  capture c;
  calib8_preprocess_templates_print(cap_open(&c));
  char *t = cap_close(&c);
  int n = calib8_preprocess_template_count();
  CHECK(n > 0);
  CHECK_EQ_INT(count_lines(t), 3 * n);
  const char *p = t;
  for (int i = 0; i < n; i++) {
    char want[1024];
    snprintf(want, sizeof want, "%s\n  %s\n  %s\n", calib8_preprocess_template_name(i),
             calib8_preprocess_template_text(i), calib8_preprocess_template_note(i));
    CHECK(!strncmp(p, want, strlen(want)));
    p += strlen(want);
  }
  free(t);
  calib8_preprocess_templates_print(NULL); /* nothing */
  double a = calib8_now();
  usleep(20000);
  double b = calib8_now();
  CHECK(b - a >= 0.019 && b - a < 5.0);
}

int main(void) {
  CHECK_RUN(test_model_print);
  CHECK_RUN(test_write_outputs);
  CHECK_RUN(test_tolerance);
  CHECK_RUN(test_compare_print);
  CHECK_RUN(test_quant_options);
  CHECK_RUN(test_qplan_print);
  CHECK_RUN(test_qplan_evaluate);
  CHECK_RUN(test_qplan_compare_json);
  CHECK_RUN(test_report_check);
  CHECK_RUN(test_eval_print);
  CHECK_RUN(test_default_metric);
  CHECK_RUN(test_search_print);
  CHECK_RUN(test_sensitivity_print);
  CHECK_RUN(test_sub_batch);
  CHECK_RUN(test_templates_and_clock);
  return CHECK_DONE();
}
