/* calib8 quantize (usage_text, docs/quantization.md): calibration data -> histograms -> thresholds -> quantization
 * plan -> QDQ ONNX model, plus the calibration table, TensorRT cache, qtable and JSON summary on request, and
 * FP32-against-INT8 accuracy on a labelled test set. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calib8/calib8.h"
#include "cli-quant-options.h"
#include "cli.h"

static const char *usage_text =
    "usage: calib8 quantize MODEL --calib SRC [--calib NAME=SRC ...] -o OUT.onnx\n"
    "         [--preprocess STR | --template NAME] [--method kl|max|percentile|mse|aciq|admm] [--percentile P]\n"
    "         [--weights minmax|admm] [--granularity per-channel|per-tensor|mix] [--asymmetric]\n"
    "         [--qtable FILE] [--fp32-after T[,T...]] [--fp32-before T[,T...]] [--fp32-heads]\n"
    "         [--fpfwd-outputs LAYER[,...]] [--fpfwd-inputs LAYER[,...]] (the named layers and all after / before them FP32)\n"
    "         [--write-qtable FILE] [--table FILE] [--trt-cache FILE] [--json FILE] [--record FILE (AMCT's record)]\n"
    "         [--report FILE.html]\n"
    "         [--test SRC [--labels FILE] [--metric top1|top5|map50|map|similarity] [--decode yolov5|yolov8|boxes]\n"
    "          [--test-limit N]] [--batch B] [--threads N] [--limit N (calibration samples)] [--fp32-heads] [--quiet]\n"
    "         [-b 0|2] [-w 0|1] [-t 0|1|2] (TNN quantization_cmd's blob method, weight method, merge type)\n"
    "         [--check-preprocess FILE.npy] [--equalize] [--bias-correction] [--fp32-diff D]\n"
    "  --fp32-diff D      first check the graph calib8 calibrates (optimized, equalized) against the model as written\n"
    "                     on the first calibration batch: the relative max output difference must be at most D\n"
    "  --equalize         cross-layer equalization before calibration: Conv -> [Relu|LeakyRelu|MaxPool] -> Conv\n"
    "                     pairs get equal per-channel weight ranges, same FP32 function (Nagel et al. 2019, 4.1)\n"
    "  --bias-correction  biases absorb the mean output shift of weight quantization, (W_q - W) E[x], with E[x]\n"
    "                     measured during calibration (Nagel et al. 2019, 4.2)";

typedef struct quantize_args {
  cli_quant_common c; /* model, data, preprocessing, -o, --json, test set, batch, threads, limits, --quiet */
  const char *write_qtable, *table, *trt_cache, *check_pp, *record;
  bool equalize;
  double fp32_diff; /* --fp32-diff: the FP32 conversion check's tolerance; < 0 when not given */
  calib8_quant_options q;
} quantize_args;

/* Every output has an existing folder, no output is an input (model, qtable, labels, data), and no two
 * outputs are the same file: checked before calibration so that nothing is computed for nothing. */
static calib8_status check_outputs(const quantize_args *a) {
  calib8_outputs out = {a->c.out, a->table, a->trt_cache, a->write_qtable, a->c.json, a->record};
  const char *in[4 + CALIB8_MAX_INPUTS] = {a->c.model, a->q.qtable, a->c.labels, a->c.test};
  const char *role[4 + CALIB8_MAX_INPUTS] = {"the input model", "the qtable read with --qtable", "the labels file",
                                             "the test set"};
  for (int k = 0; k < a->c.n_calib; k++) in[4 + k] = a->c.calib[k], role[4 + k] = "the calibration source";
  calib8_status st = calib8_outputs_check(&out, NULL, 4 + a->c.n_calib, in, role);
  if (st) return st;
  const char *all[9 + CALIB8_MAX_INPUTS] = {a->c.model, a->q.qtable, a->c.labels, a->c.test, a->c.out, a->table,
                                            a->trt_cache, a->write_qtable, a->c.json};
  for (int k = 0; k < a->c.n_calib; k++) all[9 + k] = a->c.calib[k];
  return calib8_outputs_check_report(a->c.report, 9 + a->c.n_calib, all);
}

/* TNN quantization_cmd's -b, -w and -t set what --method, --weights and --granularity set: one of each pair. */
static const char *const PAIRS[3][3] = {
    {"--method", "-b", "--blob_method"}, {"--weights", "-w", "--weight_method"}, {"--granularity", "-t", "--merge_type"}};
static const char *const PAIR_WHAT[3] = {"the activation method", "the weight method", "the granularity"};

/* Which pair option o belongs to (-1: none), and whether it is TNN's spelling. */
static int pair_of(const char *o, bool *tnn) {
  for (int k = 0; k < 3; k++)
    for (int j = 0; j < 3; j++)
      if (!strcmp(o, PAIRS[k][j])) return *tnn = j > 0, k;
  return -1;
}

static int parse_args(int argc, char **argv, quantize_args *a) {
  memset(a, 0, sizeof *a);
  a->q = calib8_quant_options_default();
  a->fp32_diff = -1;
  a->c.metric = "top1";
  const cli_quant_words words = {.calib_need = "a dataset (SRC or NAME=SRC)",
                                 .out_need = "the output model path",
                                 .metric_need = "top1, top5, map50, map or similarity",
                                 .check_now = true};
  int seen[3] = {0}; /* per pair of PAIRS: 1 calib8's option was given, 2 TNN's */
  for (int i = 1; i < argc; i++) {
    int taken = cli_quant_option(argc, argv, &i, &words, &a->c); /* the options auto and sensitivity share */
    if (taken == 2) return 2;
    if (taken) continue;
    const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL, *need = calib8_quant_option_value(o);
    if (need) { /* the plan's own options (calib8_quant_options_set) */
      if (*need) CLI_NEED(need);
      bool tnn = false;
      int k = pair_of(o, &tnn);
      if (k >= 0 && !tnn && seen[k] == 2)
        return cli_fail("TNN's %s and %s both set %s; give one", PAIRS[k][1], o, PAIR_WHAT[k]), 2;
      calib8_status st = calib8_quant_options_set(&a->q, o, *need ? v : NULL);
      if (st) return cli_fail_status(st);
      if (k >= 0 && tnn && seen[k] == 1)
        return cli_fail("TNN's %s and %s both set %s; give one", o, PAIRS[k][0], PAIR_WHAT[k]), 2;
      if (k >= 0) seen[k] = tnn ? 2 : 1;
      if (k == 2 && tnn && !strcmp(v, "0"))
        fprintf(stderr, "calib8: note: %s 0: weights per channel; activations stay per tensor (as TNN's %s 1), "
                        "calib8 writes no per-channel activation scales\n", o, o);
    } else if (!strcmp(o, "--write-qtable")) { CLI_NEED("a file name"); a->write_qtable = v; }
    else if (!strcmp(o, "--equalize")) a->equalize = true;
    else if (!strcmp(o, "--fp32-diff")) {
      CLI_NEED("a number");
      char *end = NULL;
      double d = strtod(v, &end);
      if (!*v || *end || !isfinite(d) || d < 0) return cli_fail("option %s needs a non-negative number, got '%s'", o, v), 2;
      a->fp32_diff = d;
    }
    else if (!strcmp(o, "--table")) { CLI_NEED("a file name"); a->table = v; }
    else if (!strcmp(o, "--trt-cache")) { CLI_NEED("a file name"); a->trt_cache = v; }
    else if (!strcmp(o, "--record")) { CLI_NEED("a file name"); a->record = v; }
    else if (!strcmp(o, "--check-preprocess")) {
      CLI_NEED("a .npy file of your own preprocessed images");
      a->check_pp = v;
    }
    else if (!strcmp(o, "--help") || !strcmp(o, "-h")) {
      printf("%s\n(see docs/quantization.md)\n", usage_text);
      return -1;
    }
    else if (o[0] == '-') return cli_fail("quantize: unknown option '%s' (run 'calib8 quantize' for the options)", o), 2;
    else if (!a->c.model) a->c.model = o;
    else return cli_fail("quantize: unexpected argument '%s' (run 'calib8 quantize' for the options)", o), 2;
  }
  if (argc <= 1) return fprintf(stderr, "%s\n", usage_text), 2;
  if (!a->c.model || !a->c.n_calib || !a->c.out)
    return cli_fail("quantize needs MODEL, --calib SRC and -o OUT.onnx (run 'calib8 quantize' for the options)"), 2;
  /* top1/top5 without --labels: an LMDB test set may carry them (data.label), checked once the model is loaded */
  if (a->c.test && !a->c.labels && strcmp(a->c.metric, "similarity") && strcmp(a->c.metric, "top1") &&
      strcmp(a->c.metric, "top5"))
    return cli_fail("--test needs --labels FILE (or --metric similarity)"), 2;
  calib8_status st = check_outputs(a);
  return st ? cli_fail_status(st) : 0;
}

/* The report's layer-wise comparison (calib8 compare at its default tolerance) of the FP32 model and the plan's
   QDQ model on the first REPORT_COMPARE_SAMPLES samples of the test set, or of the calibration set. NULL (and a
   note) when it cannot be made: the report then has no similarity bars. */
#define REPORT_COMPARE_SAMPLES 32
static char *report_compare(const quantize_args *a, const calib8_model *m, calib8_session *s, const calib8_qplan *plan,
                            const calib8_session_options *so) {
  calib8_dataset *ds = NULL;
  char *text = NULL;
  calib8_dataset_options d = calib8_dataset_options_default();
  d.preprocess = a->c.pp_text;
  d.template_name = a->c.template_name;
  d.batch = a->c.batch;
  d.limit = REPORT_COMPARE_SAMPLES;
  const char *test[1] = {a->c.test};
  calib8_status st = a->c.test ? calib8_dataset_open(m, 1, test, &d, &ds)
                               : calib8_dataset_open(m, a->c.n_calib, a->c.calib, &d, &ds);
  if (!st) st = calib8_qplan_compare_json(plan, s, ds, so, 0.9, 0.5, a->c.model, a->c.out, &text);
  if (st) fprintf(stderr, "calib8: note: the report has no layer-wise comparison: %s\n", calib8_last_error());
  calib8_dataset_close(ds);
  return st ? NULL : text;
}

int cmd_quantize(int argc, char **argv) {
  quantize_args a;
  int rc = parse_args(argc, argv, &a);
  if (rc) return rc < 0 ? 0 : rc; /* -1: --help printed */
  calib8_status st = calib8_preprocess_validate(a.c.pp_text, a.c.template_name);
  if (st) return cli_fail_status(st);

  calib8_model *m = NULL;
  calib8_session *s = NULL;
  calib8_dataset *ds = NULL;
  calib8_calibration *cal = NULL;
  calib8_qplan *plan = NULL;
  char *predictions = NULL;
  double t0 = calib8_now();

  if ((st = calib8_model_load(a.c.model, &m))) goto fail_status;
  static char test_labels[4096]; /* an LMDB test set's data.label, as eval and auto read it */
  if (a.c.test && !a.c.labels && strcmp(a.c.metric, "similarity")) {
    calib8_eval_options lo = calib8_eval_options_default();
    lo.data.preprocess = a.c.pp_text, lo.data.template_name = a.c.template_name;
    if ((st = calib8_eval_options_default_metric(m, a.c.test, &lo, test_labels, sizeof test_labels))) goto fail_status;
    if (!lo.labels) {
      rc = (cli_fail("--test needs --labels FILE (or --metric similarity, or an LMDB test set with data.label)"), 2);
      goto out;
    }
    printf("test labels from '%s'\n", a.c.labels = test_labels);
  }
  if (a.check_pp) {
    /* the user's tensors for the first K calibration images against calib8's, before any work */
    if (a.c.n_calib != 1) {
      rc = cli_fail("--check-preprocess needs one --calib image source; %d are given", a.c.n_calib);
      goto out;
    }
    if ((rc = cli_preprocess_check(m, a.check_pp, a.c.calib[0], a.c.pp_text, a.c.template_name))) goto out;
  }
  calib8_session_options so = calib8_session_options_default();
  so.threads = a.c.threads;
  if ((st = calib8_session_create(m, &so, &s))) goto fail_status;
  int cle_pairs = -1;
  if (a.equalize) {
    /* a session over the equalized graph replaces the plain one */
    calib8_session *e = NULL;
    if ((st = calib8_session_equalize(s, 0, &so, &cle_pairs, &e))) goto fail_status;
    calib8_session_destroy(s);
    s = e;
  }

  /* 1. calibration: one streaming pass */
  if ((st = cli_open_calibration(m, &a.c, &ds))) goto fail_status;
  if (a.fp32_diff >= 0) { /* the FP32 conversion check: the graph calibrated against the model as written */
    double diff = 0;
    if ((st = calib8_fp32_check(s, m, ds, a.fp32_diff, a.c.threads, &diff))) goto fail_status;
    printf("FP32 conversion check: relative max difference %.3g, within --fp32-diff %.3g\n", diff, a.fp32_diff);
  }
  calib8_calibration_options copt = {.channel_means = a.q.bias_correction};
  if ((st = calib8_calibration_create(s, &copt, &cal))) goto fail_status;
  cli_progress bar = {.quiet = a.c.quiet};
  st = calib8_calibration_add_dataset(cal, ds, cli_progress_fn, &bar);
  cli_progress_finish(&bar);
  if (st) goto fail_status;

  /* calibration time: model load, data, FP32 passes with the observers */
  double t_cal = calib8_now() - t0;
  /* 2. precision, plan (thresholds, weight scales) and QDQ model */
  if ((st = calib8_qplan_build(s, cal, &a.q, &plan))) goto fail_status;
  double t_plan = calib8_now() - t0 - t_cal;

  /* 3. evaluation (before anything is written, so a failure leaves no partial output) */
  calib8_eval_result fr = {.score = NAN}, qr = {.score = NAN};
  calib8_eval_options eo = calib8_eval_options_default();
  eo.metric = (calib8_metric)calib8_metric_parse(a.c.metric);
  eo.labels = a.c.labels;
  eo.decode = a.c.decode ? calib8_decode_parse(a.c.decode) : eo.decode;
  eo.data.preprocess = a.c.pp_text;
  eo.data.template_name = a.c.template_name;
  eo.data.batch = a.c.batch;
  eo.data.limit = a.c.test_limit;
  eo.threads = so.threads;
  if (a.c.test) {
    if ((st = calib8_qplan_evaluate(plan, m, s, a.c.test, &eo, &fr, &qr, &predictions))) goto fail_status;
    if (!predictions) fprintf(stderr, "calib8: note: no predictions in the summary: %s\n", calib8_last_error());
  }
  double t_eval = a.c.test ? calib8_now() - t0 - t_cal - t_plan : 0;

  /* 4. the artefacts, each whole or not at all; when one fails, the ones written before it are removed */
  calib8_outputs outs = {a.c.out, a.table, a.trt_cache, a.write_qtable, a.c.json, a.record};
  calib8_summary_extra x = {.model = m, .model_path = a.c.model, .output_path = a.c.out, .calibration_seconds = t_cal,
                            .equalized_pairs = a.equalize ? cle_pairs : -1, .metric = a.c.test ? a.c.metric : NULL,
                            .fp32_score = fr.score, .int8_score = qr.score, .count = qr.count,
                            .predictions_json = predictions, .planning_seconds = t_plan, .evaluation_seconds = t_eval};
  if ((st = calib8_qplan_write(plan, &outs, &x))) goto fail_status;

  calib8_qplan_print(plan, cal, &a.q, &x, stdout);
  if (a.c.test) {
    printf("%s FP32 %.4f  INT8 %.4f  (drop %+.4f, %lld test samples)\n", a.c.metric, fr.score, qr.score,
           fr.score - qr.score, (long long)qr.count);
    if (!strcmp(a.c.metric, "top1") || !strcmp(a.c.metric, "top5"))
      printf("first test sample: FP32 class %d (p=%.4f)  INT8 class %d (p=%.4f)\n", fr.first_class, fr.first_prob,
             qr.first_class, qr.first_prob);
  }
  rc = 0;
  if (a.c.report) {
    /* the report is written last and apart: its failure is a warning, the artefacts above stay */
    char *summary = NULL, *cmp_json = NULL;
    if ((st = calib8_qplan_summary_json(plan, &x, &summary)))
      rc = (fprintf(stderr, "calib8: warning: the report was not written: %s\n", calib8_last_error()), 1);
    else {
      cmp_json = report_compare(&a, m, s, plan, &so);
      calib8_report_input ri = {.summary_json = summary, .compare_json = cmp_json, .plan = plan, .calibration = cal};
      rc = cli_write_report(&ri, a.c.report, rc);
    }
    calib8_free(cmp_json);
    calib8_free(summary);
  }
  goto out;
fail_status:
  rc = cli_fail_status(st);
out:
  calib8_free(predictions);
  calib8_qplan_destroy(plan);
  calib8_calibration_destroy(cal);
  calib8_dataset_close(ds);
  calib8_session_destroy(s);
  calib8_model_destroy(m);
  return rc;
}
