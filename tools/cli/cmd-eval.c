/* calib8 eval (usage_text): scores a model on a test set with the library's evaluator (include/calib8/evaluate.h):
 * against class labels, detection boxes, or (similarity) a reference model's outputs, without labels
 * (docs/metrics.md). */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char *usage_text =
    "usage: calib8 eval MODEL --data SRC [--labels FILE] [--preprocess STR | --template NAME]\n"
    "                   [--metric top1|top5|map50|map|similarity] [--decode yolov5|yolov8|boxes]\n"
    "                   [--reference FP32.onnx] [--json FILE] [--batch B]\n"
    "                   [--threads N] [--limit N] [--check-preprocess FILE.npy]\n"
    "       calib8 eval --print-templates";

int cmd_eval(int argc, char **argv) {
  const char *decode = NULL;
  const char *model_path = NULL, *data = NULL, *labels_path = NULL, *pp_text = NULL, *template = NULL;
  const char *metric = "top1", *json = NULL, *reference = NULL, *check_pp = NULL;
  int batch = 0, threads = 0, limit = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--print-templates")) {
      calib8_preprocess_templates_print(stdout);
      return 0;
    } else if (!strcmp(a, "--data") || !strcmp(a, "-d")) {
      if (!v) return cli_fail("option %s needs a dataset path", a);
      data = v, i++;
    } else if (!strcmp(a, "--labels") || !strcmp(a, "-l")) {
      if (!v) return cli_fail("option %s needs a labels file", a);
      labels_path = v, i++;
    } else if (!strcmp(a, "--preprocess") || !strcmp(a, "-p")) {
      if (!v) return cli_fail("option %s needs a preprocessing string", a);
      pp_text = v, i++;
    } else if (!strcmp(a, "--template")) {
      if (!v) return cli_fail("option %s needs a template name (see --print-templates)", a);
      template = v, i++;
    } else if (!strcmp(a, "--metric")) {
      if (!v) return cli_fail("option %s needs top1, top5 or similarity", a);
      metric = v, i++;
    } else if (!strcmp(a, "--json")) {
      if (!v) return cli_fail("option %s needs a file name", a);
      json = v, i++;
    } else if (!strcmp(a, "--decode")) {
      if (!v) return cli_fail("option %s needs yolov5, yolov8 or boxes", a), 2;
      decode = v, i++;
    } else if (!strcmp(a, "--reference")) {
      if (!v) return cli_fail("option %s needs the FP32 reference model", a), 2;
      reference = v, i++;
    } else if (!strcmp(a, "--check-preprocess")) {
      if (!v) return cli_fail("option %s needs a .npy file of your own preprocessed images", a), 2;
      check_pp = v, i++;
    } else if (!strcmp(a, "--batch")) {
      if (!cli_parse_int(a, v, 1, 4096, &batch)) return 2;
      i++;
    } else if (!strcmp(a, "--threads")) {
      if (!cli_parse_int(a, v, 1, 256, &threads)) return 2;
      i++;
    } else if (!strcmp(a, "--limit")) {
      if (!cli_parse_int(a, v, 1, 2000000000, &limit)) return 2;
      i++;
    } else if (a[0] == '-') {
      return cli_fail("eval: unknown option '%s'\n%s", a, usage_text);
    } else if (!model_path) {
      model_path = a;
    } else {
      return cli_fail("eval: unexpected argument '%s'\n%s", a, usage_text);
    }
  }
  if (!model_path || !data) return cli_fail("eval needs MODEL and --data SRC\n%s", usage_text), 2;
  if (pp_text && template) return cli_fail("eval: give --preprocess or --template, not both"), 2;
  calib8_eval_options eo = calib8_eval_options_default();
  int mt = calib8_metric_parse(metric);
  if (mt < 0)
    return cli_fail("eval: metric '%s' is not supported; eval computes top1, top5, map50, map or similarity (against "
                    "--reference)",
                    metric),
           2;
  eo.metric = (calib8_metric)mt;
  bool sim = eo.metric == CALIB8_METRIC_SIMILARITY, det = eo.metric == CALIB8_METRIC_MAP50 || eo.metric == CALIB8_METRIC_MAP;
  if (sim && !reference)
    return cli_fail("eval: --metric similarity needs --reference FP32.onnx (the model to agree with)"), 2;
  if (!sim && reference) return cli_fail("eval: --reference is only used by --metric similarity"), 2;
  calib8_status st;
  if ((st = calib8_preprocess_validate(pp_text, template))) return cli_fail_status(st);
  if (det && decode && (eo.decode = calib8_decode_parse(decode)) < 0)
    return cli_fail("eval: --decode '%s' is not yolov5, yolov8 or boxes", decode), 2;

  int rc = 1;
  calib8_model *m = NULL, *rm = NULL;
  calib8_session *s = NULL;
  calib8_evaluator *ev = NULL;
  calib8_eval_result r;
  if ((st = calib8_model_load(model_path, &m))) goto fail_status;
  if (check_pp && (rc = cli_preprocess_check(m, check_pp, data, pp_text, template))) goto out;
  if (sim && (st = calib8_model_load(reference, &rm))) goto fail_status;
  eo.labels = labels_path;
  eo.reference = rm;
  eo.threads = threads;
  eo.data.preprocess = pp_text;
  eo.data.template_name = template;
  eo.data.batch = batch;
  eo.data.limit = limit;
  if ((st = calib8_evaluator_create(m, data, &eo, &ev))) goto fail_status;
  calib8_session_options so = calib8_session_options_default();
  so.threads = threads;
  if ((st = calib8_session_create(m, &so, &s))) goto fail_status;
  if ((st = calib8_evaluate(ev, s, &r))) goto fail_status;
  if (!labels_path && r.labels) fprintf(stderr, "calib8: using labels from '%s'\n", r.labels);
  calib8_eval_result_print(&r, reference, stdout);
  if (json && (st = calib8_eval_result_write_json(&r, json))) goto fail_status;
  rc = 0;
  goto out;
fail_status:
  rc = cli_fail_status(st);
out:
  calib8_session_destroy(s);
  calib8_evaluator_destroy(ev);
  calib8_model_destroy(rm);
  calib8_model_destroy(m);
  return rc;
}
