/* The HTML report (calib8/report.h): its inputs' errors, the embedded JSON document (safe inside a script element),
 * a whole file or none, and the report of a real quantization carrying histograms and every method's threshold. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "calib8/calib8.h"
#include "check.h"

static char tmp[64];

static char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *s = malloc((size_t)n + 1);
  s[fread(s, 1, (size_t)n, f)] = 0;
  fclose(f);
  return s;
}

static void test_errors(void) {
  char *json = NULL;
  calib8_report_input none = {0};
  CHECK_EQ_INT(calib8_report_data(&none, &json), CALIB8_INVALID_ARGUMENT);
  CHECK_STR_CONTAINS(calib8_last_error(), "needs a JSON summary, a comparison or a sensitivity ranking");
  calib8_report_input sens = {.sensitivity_json = "{\"layers\": ["};
  CHECK_EQ_INT(calib8_report_data(&sens, &json), CALIB8_INVALID_ARGUMENT);
  CHECK_STR_CONTAINS(calib8_last_error(), "sensitivity ranking is not a JSON object");
  sens.sensitivity_json = "{\"metric\": null, \"loss\": \"1 - cosine\", \"layers\": [{\"layer\": \"c\", \"loss\": 0.5}]}";
  CHECK_EQ_INT(calib8_report_data(&sens, &json), CALIB8_OK);
  if (json) CHECK_STR_CONTAINS(json, "\"title\":\t\"sensitivity\"");
  if (json) CHECK_STR_CONTAINS(json, "\"layer\":\t\"c\"");
  calib8_free(json);
  json = NULL;
  CHECK_EQ_INT(calib8_sensitivity_json(NULL, NULL, &json), CALIB8_INVALID_ARGUMENT);
  calib8_report_input bad = {.summary_json = "{\"tensors\": ["};
  CHECK_EQ_INT(calib8_report_data(&bad, &json), CALIB8_INVALID_ARGUMENT);
  CHECK_STR_CONTAINS(calib8_last_error(), "summary is not a JSON object");
  CHECK(json == NULL);
  char path[128];
  snprintf(path, sizeof path, "%s/none/r.html", tmp);
  calib8_report_input ok = {.compare_json = "{\"int8\": \"x.onnx\", \"tensors\": []}"};
  CHECK(calib8_report_write(&ok, path) != CALIB8_OK);
  CHECK_STR_CONTAINS(calib8_last_error(), path);
  struct stat st;
  CHECK(stat(path, &st) != 0);
}

static void test_script_safe(void) {
  char path[128];
  snprintf(path, sizeof path, "%s/s.html", tmp);
  calib8_report_input in = {.summary_json = "{\"model\": \"dir/a<b>&c.onnx\", \"tensors\": [{\"name\": \"t</script>\", "
                                            "\"threshold\": 1, \"scale\": 0.01}], \"layers\": []}"};
  CHECK_EQ_INT(calib8_report_write(&in, path), CALIB8_OK);
  char *s = slurp(path);
  CHECK(s != NULL);
  if (!s) return;
  CHECK(strstr(s, "t</script>") == NULL);
  CHECK_STR_CONTAINS(s, "t<\\/script>");
  CHECK_STR_CONTAINS(s, "<title>a&lt;b&gt;&amp;c.onnx");
  CHECK(strstr(s, "http://") == NULL || strstr(s, "http://www.w3.org/2000/svg") != NULL); /* no network */
  CHECK(strstr(s, "https://") == NULL);
  free(s);
}

static void test_quantization(void) {
  calib8_model *m = NULL;
  calib8_session *s = NULL;
  calib8_dataset *ds = NULL;
  calib8_calibration *cal = NULL;
  calib8_qplan *plan = NULL;
  char *summary = NULL, *data = NULL;
  CHECK_EQ_INT(calib8_model_load("examples/fmnist/fmnist_lenet.onnx", &m), CALIB8_OK);
  CHECK_EQ_INT(calib8_session_create(m, NULL, &s), CALIB8_OK);
  calib8_dataset_options o = calib8_dataset_options_default();
  o.preprocess = "mean_value=72.94,std_value=90.0";
  o.limit = 20;
  const char *src = "examples/fmnist";
  CHECK_EQ_INT(calib8_dataset_open(m, 1, &src, &o, &ds), CALIB8_OK);
  CHECK_EQ_INT(calib8_calibration_create(s, NULL, &cal), CALIB8_OK);
  CHECK_EQ_INT(calib8_calibration_add_dataset(cal, ds, NULL, NULL), CALIB8_OK);
  CHECK_EQ_INT(calib8_qplan_build(s, cal, NULL, &plan), CALIB8_OK);
  calib8_summary_extra x = {.model = m, .model_path = "lenet.onnx", .calibration_seconds = -1, .equalized_pairs = -1};
  CHECK_EQ_INT(calib8_qplan_summary_json(plan, &x, &summary), CALIB8_OK);
  /* sizes: the QDQ file as serialized, the INT8 weights a quarter of FP32's or a little more (biases stay) */
  void *bytes = NULL;
  size_t len = 0;
  CHECK_EQ_INT(calib8_qplan_serialize(plan, &bytes, &len), CALIB8_OK);
  calib8_free(bytes);
  cJSON *sj = summary ? cJSON_Parse(summary) : NULL, *sz = cJSON_GetObjectItem(sj, "sizes");
  CHECK(cJSON_GetObjectItem(sz, "fp32_file") == NULL); /* "lenet.onnx" is no file here */
  CHECK_NEAR(cJSON_GetObjectItem(sz, "qdq_file")->valuedouble, (double)len, 0);
  double w32 = cJSON_GetObjectItem(sz, "weights_fp32")->valuedouble, w8 = cJSON_GetObjectItem(sz, "weights_int8_estimate")->valuedouble;
  CHECK(w32 > 0 && w8 >= w32 / 4 && w8 < w32 / 3);
  CHECK(cJSON_GetObjectItem(sj, "planning_seconds") == NULL); /* 0: left out */
  cJSON_Delete(sj);
  calib8_report_input in = {.summary_json = summary, .plan = plan, .calibration = cal};
  CHECK_EQ_INT(calib8_report_data(&in, &data), CALIB8_OK);
  if (data) {
    CHECK_STR_CONTAINS(data, "\"histograms\"");
    CHECK_STR_CONTAINS(data, "\"chosen\"");
    CHECK_STR_CONTAINS(data, "\"admm\"");
    CHECK_STR_CONTAINS(data, "\"precision\":\t\"INT8\"");
    CHECK_STR_CONTAINS(data, "\"title\":\t\"lenet.onnx\"");
    /* the layered graph: every edge goes to a deeper layer, the convolutions are INT8, the layers all there */
    cJSON *doc = cJSON_Parse(data);
    cJSON *g = cJSON_GetObjectItem(doc, "graph"), *nodes = cJSON_GetObjectItem(g, "nodes");
    cJSON *layers = cJSON_GetObjectItem(cJSON_GetObjectItem(doc, "summary"), "layers");
    CHECK(cJSON_GetArraySize(nodes) > 0);
    CHECK_EQ_INT(cJSON_GetArraySize(nodes), cJSON_GetArraySize(layers));
    cJSON *e;
    int n_edges = 0, conv_int8 = 0;
    cJSON_ArrayForEach(e, cJSON_GetObjectItem(g, "edges")) {
      cJSON *a = cJSON_GetArrayItem(nodes, (int)cJSON_GetArrayItem(e, 0)->valuedouble);
      cJSON *b = cJSON_GetArrayItem(nodes, (int)cJSON_GetArrayItem(e, 1)->valuedouble);
      CHECK(cJSON_GetObjectItem(b, "depth")->valuedouble > cJSON_GetObjectItem(a, "depth")->valuedouble);
      n_edges++;
    }
    CHECK(n_edges >= cJSON_GetArraySize(nodes) - 1);
    cJSON_ArrayForEach(e, nodes) conv_int8 += !strcmp(cJSON_GetObjectItem(e, "op")->valuestring, "Conv") &&
                                               !strcmp(cJSON_GetObjectItem(e, "precision")->valuestring, "INT8");
    CHECK(conv_int8 >= 2);
    cJSON_Delete(doc);
  }
  char path[128];
  snprintf(path, sizeof path, "%s/q.html", tmp);
  CHECK_EQ_INT(calib8_report_write(&in, path), CALIB8_OK);
  calib8_free(data);
  calib8_free(summary);
  calib8_qplan_destroy(plan);
  calib8_calibration_destroy(cal);
  calib8_dataset_close(ds);
  calib8_session_destroy(s);
  calib8_model_destroy(m);
}

/* The first test samples' predictions: read as the metric reads them (the evaluator's first sample agrees), one
   image thumbnail each, the 3 best classes in order with probabilities, and in the report's document. */
static void test_predictions(void) {
  calib8_model *m = NULL;
  calib8_session *s = NULL;
  calib8_evaluator *ev = NULL;
  char *pred = NULL, *data = NULL;
  CHECK_EQ_INT(calib8_model_load("examples/fmnist/fmnist_lenet.onnx", &m), CALIB8_OK);
  CHECK_EQ_INT(calib8_session_create(m, NULL, &s), CALIB8_OK);
  calib8_eval_options eo = calib8_eval_options_default();
  eo.labels = "examples/fmnist/labels.txt";
  eo.data.preprocess = "mean_value=72.94,std_value=90.0";
  eo.data.limit = 20;
  CHECK_EQ_INT(calib8_evaluator_create(m, "examples/fmnist", &eo, &ev), CALIB8_OK);
  calib8_eval_result r;
  CHECK_EQ_INT(calib8_evaluate(ev, s, &r), CALIB8_OK);
  CHECK_EQ_INT(calib8_predictions_json(ev, s, s, 0, &pred), CALIB8_INVALID_ARGUMENT);
  CHECK_STR_CONTAINS(calib8_last_error(), "1 to 64 samples (got 0)");
  /* the same session twice: INT8 predictions equal FP32's, cosine 1 */
  CHECK_EQ_INT(calib8_predictions_json(ev, s, s, 8, &pred), CALIB8_OK);
  cJSON *a = pred ? cJSON_Parse(pred) : NULL;
  CHECK(cJSON_IsArray(a));
  CHECK_EQ_INT(cJSON_GetArraySize(a), 8);
  int i = 0;
  cJSON *p;
  cJSON_ArrayForEach(p, a) {
    CHECK_EQ_INT((int)cJSON_GetObjectItem(p, "index")->valuedouble, i);
    cJSON *th = cJSON_GetObjectItem(p, "thumbnail");
    CHECK(cJSON_IsString(th) && !strncmp(th->valuestring, "data:image/png;base64,iVBORw0KGgo", 33));
    CHECK_EQ_INT((int)cJSON_GetObjectItem(p, "width")->valuedouble, 28);
    CHECK(cJSON_IsNumber(cJSON_GetObjectItem(p, "label")));
    cJSON *top = cJSON_GetObjectItem(cJSON_GetObjectItem(p, "fp32"), "top");
    CHECK_EQ_INT(cJSON_GetArraySize(top), 3);
    double p0 = cJSON_GetObjectItem(cJSON_GetArrayItem(top, 0), "p")->valuedouble;
    double p1 = cJSON_GetObjectItem(cJSON_GetArrayItem(top, 1), "p")->valuedouble;
    double p2 = cJSON_GetObjectItem(cJSON_GetArrayItem(top, 2), "p")->valuedouble;
    CHECK(p0 >= p1 && p1 >= p2 && p2 >= 0 && p0 + p1 + p2 <= 1 + 1e-9);
    if (i == 0) {
      CHECK_EQ_INT((int)cJSON_GetObjectItem(cJSON_GetArrayItem(top, 0), "class")->valuedouble, r.first_class);
      CHECK_NEAR(p0, r.first_prob, 1e-9);
    }
    char *x = cJSON_PrintUnformatted(cJSON_GetObjectItem(p, "fp32")), *y = cJSON_PrintUnformatted(cJSON_GetObjectItem(p, "int8"));
    CHECK(x && y && !strcmp(x, y));
    free(x);
    free(y);
    CHECK_NEAR(cJSON_GetObjectItem(p, "cosine")->valuedouble, 1.0, 1e-9);
    i++;
  }
  cJSON_Delete(a);
  /* fewer samples than asked: as many as there are */
  calib8_evaluator *ev3 = NULL;
  eo.data.limit = 3;
  CHECK_EQ_INT(calib8_evaluator_create(m, "examples/fmnist", &eo, &ev3), CALIB8_OK);
  char *pred3 = NULL;
  CHECK_EQ_INT(calib8_predictions_json(ev3, s, s, 8, &pred3), CALIB8_OK);
  a = pred3 ? cJSON_Parse(pred3) : NULL;
  CHECK_EQ_INT(cJSON_GetArraySize(a), 3);
  cJSON_Delete(a);
  calib8_free(pred3);
  calib8_evaluator_destroy(ev3);
  calib8_report_input in = {.compare_json = "{\"int8\": \"x.onnx\", \"tensors\": []}", .predictions_json = pred};
  CHECK_EQ_INT(calib8_report_data(&in, &data), CALIB8_OK);
  if (data) CHECK_STR_CONTAINS(data, "\"predictions\":\t[{");
  in.predictions_json = "{}";
  CHECK_EQ_INT(calib8_report_data(&in, &data), CALIB8_INVALID_ARGUMENT);
  CHECK_STR_CONTAINS(calib8_last_error(), "predictions are not a JSON array");
  calib8_free(data);
  calib8_free(pred);
  calib8_evaluator_destroy(ev);
  calib8_session_destroy(s);
  calib8_model_destroy(m);
}

int main(void) {
  snprintf(tmp, sizeof tmp, "/tmp/c8-report-XXXXXX");
  if (!mkdtemp(tmp)) return 1;
  CHECK_RUN(test_errors);
  CHECK_RUN(test_script_safe);
  CHECK_RUN(test_quantization);
  CHECK_RUN(test_predictions);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
  if (system(cmd)) return 1;
  return CHECK_DONE();
}
