/* The public calibration and plan API (include/calib8/calibration.h, plan.h) on the real LeNet and the demo
 * images, through the public headers only: thresholds per method, tensor statistics and histograms, layers and
 * tensors of a plan, the precision options, the outputs check, writing (and its rollback), equalization, heads
 * and the preprocessing check (dataset.h). */
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "calib8/calib8.h"
#include "check.h"

#define LENET "models/fmnist_lenet.onnx"
#define PP_LENET "mean_value=72.94,std_value=90.0"

static char tmp[64];

static int exists(const char *path) {
  struct stat sb;
  return stat(path, &sb) == 0;
}

/* LeNet, a session, and a calibration over the first `limit` demo images. */
typedef struct fixture {
  calib8_model *m;
  calib8_session *s;
  calib8_calibration *cal;
} fixture;

static int setup(fixture *f, int limit, int channel_means) {
  memset(f, 0, sizeof *f);
  const char *src = "examples/fmnist";
  calib8_dataset *ds = NULL;
  calib8_dataset_options o = calib8_dataset_options_default();
  o.preprocess = PP_LENET;
  o.limit = limit;
  o.batch = 8;
  calib8_calibration_options co = {.channel_means = channel_means};
  int ok = calib8_model_load(LENET, &f->m) == CALIB8_OK && calib8_session_create(f->m, NULL, &f->s) == CALIB8_OK &&
           calib8_dataset_open(f->m, 1, &src, &o, &ds) == CALIB8_OK &&
           calib8_calibration_create(f->s, &co, &f->cal) == CALIB8_OK &&
           calib8_calibration_add_dataset(f->cal, ds, NULL, NULL) == CALIB8_OK;
  if (!ok) fprintf(stderr, "setup: %s\n", calib8_last_error());
  calib8_dataset_close(ds);
  return ok;
}

static void teardown(fixture *f) {
  calib8_calibration_destroy(f->cal);
  calib8_session_destroy(f->s);
  calib8_model_destroy(f->m);
}

static void test_method_names(void) {
  CHECK_EQ_INT(calib8_method_parse("kl"), CALIB8_METHOD_KL);
  CHECK_EQ_INT(calib8_method_parse("MSE"), CALIB8_METHOD_MSE);
  CHECK_EQ_INT(calib8_method_parse("Percentile"), CALIB8_METHOD_PERCENTILE);
  CHECK_EQ_INT(calib8_method_parse("entropy"), -1);
  CHECK_EQ_INT(calib8_method_parse(NULL), -1);
  for (int m = 0; m < CALIB8_METHOD_COUNT; m++) CHECK_EQ_INT(calib8_method_parse(calib8_method_name((calib8_method)m)), m);
  CHECK(!strcmp(calib8_method_name(CALIB8_METHOD_ACIQ), "aciq"));
}

static void test_calibration(void) {
  fixture f;
  if (!setup(&f, 20, 0)) {
    CHECK(0);
    return;
  }
  CHECK_EQ_INT(calib8_calibration_samples(f.cal), 20); /* batches of 8 of a dynamic-batch model: the last is short */
  int n = calib8_calibration_tensor_count(f.cal);
  CHECK(n >= 10);
  CHECK(calib8_calibration_tensor_name(f.cal, n) == NULL);
  CHECK(!strcmp(calib8_calibration_tensor_name(f.cal, 0), "input"));
  /* every method on every observed tensor: 0 < T <= max |x|; MAX is max |x| */
  int checked = 0;
  for (int i = 0; i < n; i++) {
    const char *t = calib8_calibration_tensor_name(f.cal, i);
    calib8_tensor_stats st;
    CHECK_EQ_INT(calib8_calibration_stats(f.cal, t, &st), CALIB8_OK);
    CHECK(!strcmp(st.name, t));
    CHECK(st.count > 0 && st.nonfinite == 0 && st.min <= st.max);
    double amax = fmax(fabs(st.min), fabs(st.max));
    for (int m = 0; m < CALIB8_METHOD_COUNT; m++) {
      double th = -1;
      CHECK_EQ_INT(calib8_calibration_threshold(f.cal, t, (calib8_method)m, 0, &th), CALIB8_OK);
      CHECK(th > 0 && th <= amax * (1 + 1e-6));
      if (m == CALIB8_METHOD_MAX) CHECK_NEAR(th, amax, amax * 1e-6);
      checked++;
    }
    double p90, p100;
    calib8_calibration_threshold(f.cal, t, CALIB8_METHOD_PERCENTILE, 90, &p90);
    calib8_calibration_threshold(f.cal, t, CALIB8_METHOD_PERCENTILE, 100, &p100);
    CHECK(p90 <= p100);
  }
  CHECK_EQ_INT(checked, n * CALIB8_METHOD_COUNT);
  /* the histogram: the size first, then the counts, which hold every non-zero value */
  int bins = 0;
  double range = 0;
  CHECK_EQ_INT(calib8_calibration_histogram(f.cal, "input", NULL, 0, &bins, &range), CALIB8_OK);
  CHECK_EQ_INT(bins, 4096);
  CHECK(range > 0);
  uint64_t *counts = calloc((size_t)bins, sizeof *counts);
  CHECK_EQ_INT(calib8_calibration_histogram(f.cal, "input", counts, bins, &bins, &range), CALIB8_OK);
  uint64_t total = 0;
  for (int i = 0; i < bins; i++) total += counts[i];
  calib8_tensor_stats in;
  calib8_calibration_stats(f.cal, "input", &in);
  CHECK(total > 0 && (int64_t)total <= in.count);
  CHECK(counts[0] == 0 || in.min <= -range * (1 - 1.0 / 2048)); /* bin 0 starts at -range */
  free(counts);
  /* errors */
  double th;
  CHECK_EQ_INT(calib8_calibration_threshold(f.cal, "nope", CALIB8_METHOD_KL, 0, &th), CALIB8_INVALID_ARGUMENT);
  CHECK_STR_CONTAINS(calib8_last_error(), "'nope'");
  CHECK_EQ_INT(calib8_calibration_threshold(f.cal, "input", CALIB8_METHOD_COUNT, 0, &th), CALIB8_INVALID_ARGUMENT);
  CHECK_EQ_INT(calib8_calibration_threshold(f.cal, "input", CALIB8_METHOD_PERCENTILE, 101, &th), CALIB8_INVALID_ARGUMENT);
  calib8_tensor_stats st;
  CHECK_EQ_INT(calib8_calibration_stats(f.cal, "nope", &st), CALIB8_INVALID_ARGUMENT);
  CHECK_EQ_INT(calib8_calibration_histogram(f.cal, "nope", NULL, 0, &bins, &range), CALIB8_INVALID_ARGUMENT);
  teardown(&f);
  calib8_calibration_destroy(NULL);
  CHECK_EQ_INT(calib8_calibration_samples(NULL), 0);
}

/* calib8_calibration_add on the caller's tensors gives the histograms the dataset gives. */
static void test_calibration_add(void) {
  calib8_model *m = NULL;
  calib8_session *s = NULL;
  calib8_calibration *a = NULL, *b = NULL;
  calib8_dataset *ds = NULL;
  const char *src = "examples/fmnist";
  calib8_dataset_options o = calib8_dataset_options_default();
  o.preprocess = PP_LENET;
  o.limit = 6;
  o.batch = 3;
  CHECK_EQ_INT(calib8_model_load(LENET, &m), CALIB8_OK);
  CHECK_EQ_INT(calib8_session_create(m, NULL, &s), CALIB8_OK);
  CHECK_EQ_INT(calib8_calibration_create(s, NULL, &a), CALIB8_OK);
  CHECK_EQ_INT(calib8_calibration_create(s, NULL, &b), CALIB8_OK);
  CHECK_EQ_INT(calib8_dataset_open(m, 1, &src, &o, &ds), CALIB8_OK);
  calib8_batch batch;
  while (calib8_dataset_next(ds, &batch) == CALIB8_OK && batch.rows > 0)
    CHECK_EQ_INT(calib8_calibration_add(a, batch.n_inputs, batch.names, batch.inputs), CALIB8_OK);
  CHECK_EQ_INT(calib8_dataset_rewind(ds), CALIB8_OK);
  CHECK_EQ_INT(calib8_calibration_add_dataset(b, ds, NULL, NULL), CALIB8_OK);
  CHECK_EQ_INT(calib8_calibration_samples(a), 6);
  CHECK_EQ_INT(calib8_calibration_samples(b), 6);
  double ta, tb;
  calib8_calibration_threshold(a, "logits", CALIB8_METHOD_KL, 0, &ta);
  calib8_calibration_threshold(b, "logits", CALIB8_METHOD_KL, 0, &tb);
  CHECK(ta == tb);
  /* the dataset is at its end now: nothing more to add */
  CHECK_EQ_INT(calib8_calibration_add_dataset(b, ds, NULL, NULL), CALIB8_INVALID_ARGUMENT);
  CHECK_STR_CONTAINS(calib8_last_error(), "holds no samples");
  CHECK_EQ_INT(calib8_calibration_add(a, 0, NULL, NULL), CALIB8_INVALID_ARGUMENT);
  calib8_dataset_close(ds);
  calib8_calibration_destroy(a);
  calib8_calibration_destroy(b);
  calib8_session_destroy(s);
  calib8_model_destroy(m);
}

static void test_plan(void) {
  fixture f;
  if (!setup(&f, 24, 0)) {
    CHECK(0);
    return;
  }
  calib8_qplan *p = NULL;
  CHECK_EQ_INT(calib8_qplan_build(f.s, f.cal, NULL, &p), CALIB8_OK);
  int nl = calib8_qplan_layer_count(p);
  CHECK_EQ_INT(nl, 5); /* 2 Conv, 3 Gemm */
  int64_t sum = 0, total = 0, int8 = 0;
  for (int i = 0; i < nl; i++) {
    calib8_layer_info li;
    CHECK_EQ_INT(calib8_qplan_layer(p, i, &li), CALIB8_OK);
    CHECK(!strcmp(li.op, "Conv") || !strcmp(li.op, "Gemm"));
    CHECK_EQ_INT(li.precision, CALIB8_PRECISION_INT8);
    CHECK(li.macs > 0 && !li.depthwise);
    sum += li.macs;
  }
  calib8_qplan_macs(p, &total, &int8);
  CHECK_EQ_INT(total, sum);
  CHECK_EQ_INT(int8, total);
  calib8_layer_info li;
  CHECK_EQ_INT(calib8_qplan_layer(p, nl, &li), CALIB8_INVALID_ARGUMENT);
  int nt = calib8_qplan_tensor_count(p);
  CHECK(nt >= 5);
  for (int i = 0; i < nt; i++) {
    calib8_tensor_quant tq;
    CHECK_EQ_INT(calib8_qplan_tensor(p, i, &tq), CALIB8_OK);
    CHECK(tq.scale > 0 && tq.threshold > 0 && tq.lo < tq.hi);
    CHECK(tq.dtype == CALIB8_UINT8 && (tq.zero_point == 0 || tq.zero_point == 128));
    /* symmetric: the scale is the threshold over the steps of its range */
    CHECK_NEAR(tq.scale, tq.threshold / (tq.zero_point ? 127.0 : 255.0), tq.scale * 1e-5);
  }
  calib8_tensor_quant tq;
  CHECK_EQ_INT(calib8_qplan_tensor(p, -1, &tq), CALIB8_INVALID_ARGUMENT);
  /* the plan's QDQ model runs and gives logits */
  calib8_session *qs = NULL;
  CHECK_EQ_INT(calib8_qplan_session(p, NULL, &qs), CALIB8_OK);
  float x[2 * 28 * 28];
  for (int i = 0; i < 2 * 28 * 28; i++) x[i] = (float)(i % 13) * 0.1f;
  calib8_tensor in = {CALIB8_FLOAT, 4, {2, 1, 28, 28}, x};
  CHECK_EQ_INT(calib8_session_run(qs, 1, NULL, &in), CALIB8_OK);
  calib8_tensor y;
  CHECK_EQ_INT(calib8_session_output(qs, 0, &y), CALIB8_OK);
  CHECK(y.rank == 2 && y.dims[0] == 2 && y.dims[1] == 10);
  calib8_session_destroy(qs);
  /* serialize gives the bytes write puts in the file */
  void *bytes = NULL;
  size_t len = 0;
  CHECK_EQ_INT(calib8_qplan_serialize(p, &bytes, &len), CALIB8_OK);
  char model[128], js[128];
  snprintf(model, sizeof model, "%s/q.onnx", tmp);
  snprintf(js, sizeof js, "%s/q.json", tmp);
  calib8_outputs out = {.model = model, .json = js};
  calib8_summary_extra x2 = {.model = f.m, .calibration_seconds = -1, .equalized_pairs = -1};
  CHECK_EQ_INT(calib8_qplan_write(p, &out, &x2), CALIB8_OK);
  FILE *fp = fopen(model, "rb");
  char *file = malloc(len + 1);
  size_t got = fp ? fread(file, 1, len + 1, fp) : 0;
  if (fp) fclose(fp);
  CHECK(got == len && memcmp(file, bytes, len) == 0);
  free(file);
  calib8_free(bytes);
  fp = fopen(js, "r");
  char text[256] = {0};
  CHECK(fp && fread(text, 1, sizeof text - 1, fp) > 0);
  if (fp) fclose(fp);
  CHECK_STR_CONTAINS(text, "\"method\":\t\"kl\"");
  unlink(model);
  unlink(js);
  calib8_qplan_destroy(p);
  calib8_qplan_destroy(NULL);

  /* options: per-tensor methods, percentile, per-tensor weights, asymmetric */
  calib8_quant_options q = calib8_quant_options_default();
  q.choose_method_per_tensor = 1;
  q.granularity = CALIB8_PER_TENSOR;
  q.asymmetric = 1;
  CHECK_EQ_INT(calib8_qplan_build(f.s, f.cal, &q, &p), CALIB8_OK);
  calib8_qplan_destroy(p);
  q = calib8_quant_options_default();
  q.percentile = 150;
  CHECK_EQ_INT(calib8_qplan_build(f.s, f.cal, &q, &p), CALIB8_INVALID_ARGUMENT);
  teardown(&f);
}

static void test_precision_options(void) {
  fixture f;
  if (!setup(&f, 8, 0)) {
    CHECK(0);
    return;
  }
  calib8_qplan *p = NULL;
  calib8_quant_options q = calib8_quant_options_default();
  /* fp32_layers: an unknown name fails naming it; a known one stays FP32 and out of the INT8 MACs */
  const char *bad[] = {"/c1/Conv", "no_such_layer"};
  q.fp32_layers = bad;
  q.n_fp32_layers = 2;
  CHECK_EQ_INT(calib8_qplan_build(f.s, f.cal, &q, &p), CALIB8_INVALID_ARGUMENT);
  CHECK_STR_CONTAINS(calib8_last_error(), "'no_such_layer'");
  CHECK(p == NULL);
  q.n_fp32_layers = 1;
  CHECK_EQ_INT(calib8_qplan_build(f.s, f.cal, &q, &p), CALIB8_OK);
  calib8_layer_info li;
  calib8_qplan_layer(p, 0, &li);
  CHECK(!strcmp(li.name, "/c1/Conv"));
  CHECK_EQ_INT(li.precision, CALIB8_PRECISION_FP32);
  int64_t total, int8;
  calib8_qplan_macs(p, &total, &int8);
  CHECK_EQ_INT(int8, total - li.macs);
  calib8_qplan_destroy(p);
  /* fp32_before/after: unknown tensors fail naming them */
  q = calib8_quant_options_default();
  q.fp32_after = "logits_missing";
  CHECK_EQ_INT(calib8_qplan_build(f.s, f.cal, &q, &p), CALIB8_INVALID_ARGUMENT);
  CHECK_STR_CONTAINS(calib8_last_error(), "logits_missing");
  q = calib8_quant_options_default();
  q.qtable = "/nonexistent/q.qtable";
  CHECK(calib8_qplan_build(f.s, f.cal, &q, &p) != CALIB8_OK);
  CHECK_STR_CONTAINS(calib8_last_error(), "/nonexistent/q.qtable");
  /* the heads of LeNet: the last Gemm stays FP32 */
  q = calib8_quant_options_default();
  q.fp32_heads = 1;
  CHECK_EQ_INT(calib8_qplan_build(f.s, f.cal, &q, &p), CALIB8_OK);
  calib8_qplan_layer(p, calib8_qplan_layer_count(p) - 1, &li);
  CHECK_EQ_INT(li.precision, CALIB8_PRECISION_FP32);
  calib8_qplan_destroy(p);
  /* bias correction needs the channel means */
  q = calib8_quant_options_default();
  q.bias_correction = 1;
  CHECK_EQ_INT(calib8_qplan_build(f.s, f.cal, &q, &p), CALIB8_INVALID_ARGUMENT);
  CHECK_STR_CONTAINS(calib8_last_error(), "channel_means");
  teardown(&f);
  if (!setup(&f, 8, 1)) {
    CHECK(0);
    return;
  }
  CHECK_EQ_INT(calib8_qplan_build(f.s, f.cal, &q, &p), CALIB8_OK);
  calib8_qplan_destroy(p);
  teardown(&f);
}

static void test_outputs_check(void) {
  char a[128], b[128];
  snprintf(a, sizeof a, "%s/a.onnx", tmp);
  snprintf(b, sizeof b, "%s/nofolder/b.table", tmp);
  const char *in[] = {LENET, "examples/fmnist"};
  const char *role[] = {"the input model", "the calibration source"};
  calib8_outputs o = {.model = a};
  CHECK_EQ_INT(calib8_outputs_check(&o, NULL, 2, in, role), CALIB8_OK);
  o.table = b;
  CHECK_EQ_INT(calib8_outputs_check(&o, NULL, 2, in, role), CALIB8_INVALID_ARGUMENT);
  CHECK_STR_CONTAINS(calib8_last_error(), "cannot write --table");
  CHECK_STR_CONTAINS(calib8_last_error(), "does not exist");
  o.table = a;
  CHECK_EQ_INT(calib8_outputs_check(&o, NULL, 2, in, role), CALIB8_INVALID_ARGUMENT);
  CHECK_STR_CONTAINS(calib8_last_error(), "are the same file");
  o.table = NULL;
  o.model = LENET;
  CHECK_EQ_INT(calib8_outputs_check(&o, NULL, 2, in, role), CALIB8_INVALID_ARGUMENT);
  CHECK(!strcmp(calib8_last_error(), "-o '" LENET "' is the input model; calib8 never overwrites an input"));
  o.model = NULL;
  o.json = "examples/fmnist/img_000.png";
  const char *names[] = {"model", "table", "trt_cache", "qtable", "json"};
  CHECK_EQ_INT(calib8_outputs_check(&o, names, 2, in, role), CALIB8_INVALID_ARGUMENT);
  CHECK(!strcmp(calib8_last_error(), "json 'examples/fmnist/img_000.png' is a file of the calibration source "
                                     "'examples/fmnist'; calib8 never overwrites an input"));
  o.json = tmp;
  CHECK_EQ_INT(calib8_outputs_check(&o, NULL, 0, NULL, NULL), CALIB8_INVALID_ARGUMENT);
  CHECK_STR_CONTAINS(calib8_last_error(), "is a folder, not a file name");
}

/* A failing output leaves every target as it was: no model is created, an existing table is kept. */
static void test_write_rollback(void) {
  fixture f;
  if (!setup(&f, 8, 0)) {
    CHECK(0);
    return;
  }
  calib8_qplan *p = NULL;
  CHECK_EQ_INT(calib8_qplan_build(f.s, f.cal, NULL, &p), CALIB8_OK);
  char model[128], table[128];
  snprintf(model, sizeof model, "%s/r.onnx", tmp);
  snprintf(table, sizeof table, "%s/r.table", tmp);
  FILE *fp = fopen(table, "w");
  fputs("old\n", fp);
  fclose(fp);
  calib8_outputs o = {.model = model, .table = table, .json = "/nonexistent-folder/r.json"};
  CHECK(calib8_qplan_write(p, &o, NULL) != CALIB8_OK);
  CHECK_STR_CONTAINS(calib8_last_error(), "/nonexistent-folder/r.json");
  CHECK(!exists(model));
  char text[16] = {0};
  fp = fopen(table, "r");
  CHECK(fp && fgets(text, sizeof text, fp));
  if (fp) fclose(fp);
  CHECK(!strcmp(text, "old\n"));
  o.json = NULL;
  CHECK_EQ_INT(calib8_qplan_write(p, &o, NULL), CALIB8_OK);
  CHECK(exists(model));
  unlink(model);
  unlink(table);
  calib8_qplan_destroy(p);
  teardown(&f);
}

static void test_equalize_heads(void) {
  calib8_model *m = NULL;
  calib8_session *s = NULL, *e = NULL;
  CHECK_EQ_INT(calib8_model_load("models/fmnist_resnet8.onnx", &m), CALIB8_OK);
  CHECK_EQ_INT(calib8_session_create(m, NULL, &s), CALIB8_OK);
  int pairs = -1;
  CHECK_EQ_INT(calib8_session_equalize(s, 0, NULL, &pairs, &e), CALIB8_OK);
  CHECK(pairs > 0);
  /* the same FP32 function */
  float x[3 * 32 * 32];
  for (int i = 0; i < 3 * 32 * 32; i++) x[i] = (float)((i * 7) % 17) * 0.1f - 0.8f;
  calib8_tensor in = {CALIB8_FLOAT, 4, {1, 3, 32, 32}, x};
  calib8_tensor ys, ye;
  CHECK_EQ_INT(calib8_session_run(s, 1, NULL, &in), CALIB8_OK);
  CHECK_EQ_INT(calib8_session_run(e, 1, NULL, &in), CALIB8_OK);
  calib8_session_output(s, 0, &ys);
  calib8_session_output(e, 0, &ye);
  for (int i = 0; i < 10; i++) CHECK_NEAR(((float *)ye.data)[i], ((float *)ys.data)[i], 1e-3);
  CHECK_EQ_INT(calib8_session_equalize(s, -1, NULL, &pairs, &e), CALIB8_INVALID_ARGUMENT);
  calib8_session_destroy(e);
  calib8_session_destroy(s);
  calib8_model_destroy(m);

  const char **names = NULL, **ops = NULL;
  int n = 0;
  CHECK_EQ_INT(calib8_model_load("models/fmnist_yolo.onnx", &m), CALIB8_OK);
  CHECK_EQ_INT(calib8_model_heads(m, &names, &ops, &n), CALIB8_OK);
  CHECK(n > 1);
  int convs = 0;
  for (int i = 0; i < n; i++) {
    CHECK(strcmp(ops[i], "Constant") != 0);
    convs += !strcmp(ops[i], "Conv");
  }
  CHECK(convs >= 1);
  calib8_free(names);
  calib8_free(ops);
  calib8_model_destroy(m);
}

static void test_preprocess_check(void) {
  calib8_model *m = NULL;
  CHECK_EQ_INT(calib8_model_load("models/fmnist_resnet8.onnx", &m), CALIB8_OK);
  const char *pp = "resize_h=32,resize_w=32;mean_value=123.675:116.28:103.53,std_value=58.395:57.12:57.375";
  const char *imgs = "tests/compare/fixtures/ppcheck/images";
  char *report = NULL;
  CHECK_EQ_INT(calib8_preprocess_check(m, "tests/compare/fixtures/ppcheck/good.npy", imgs, pp, NULL, &report), CALIB8_OK);
  CHECK(report && !strcmp(report, "preprocessing check: 4 images match"));
  calib8_free(report);
  report = NULL;
  CHECK_EQ_INT(calib8_preprocess_check(m, "tests/compare/fixtures/ppcheck/bgr.npy", imgs, pp, NULL, &report),
               CALIB8_INVALID_ARGUMENT);
  CHECK(report == NULL);
  CHECK_STR_CONTAINS(calib8_last_error(), "all 4 images match calib8's output with the channels reversed");
  CHECK(calib8_preprocess_check(m, "/nonexistent.npy", imgs, pp, NULL, &report) != CALIB8_OK);
  CHECK_STR_CONTAINS(calib8_last_error(), "/nonexistent.npy");
  CHECK_EQ_INT(calib8_preprocess_check(m, "tests/compare/fixtures/ppcheck/good.npy", imgs, "std_valu=1", NULL, &report),
               CALIB8_INVALID_ARGUMENT);
  calib8_model_destroy(m);
}

int main(void) {
  snprintf(tmp, sizeof tmp, "/tmp/c8-api-plan-XXXXXX");
  if (!mkdtemp(tmp)) return 1;
  CHECK_RUN(test_method_names);
  CHECK_RUN(test_calibration);
  CHECK_RUN(test_calibration_add);
  CHECK_RUN(test_plan);
  CHECK_RUN(test_precision_options);
  CHECK_RUN(test_outputs_check);
  CHECK_RUN(test_write_rollback);
  CHECK_RUN(test_equalize_heads);
  CHECK_RUN(test_preprocess_check);
  rmdir(tmp);
  fprintf(stderr, "%d checks, %d failed\n", check_count, check_failures);
  return check_failures != 0;
}
