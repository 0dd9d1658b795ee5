/* calib8 quantize MODEL --calib SRC [--calib NAME=SRC ...] -o OUT.onnx [options]
 *
 * Documented in docs/quantization.md.
 * calibration data -> histograms -> thresholds -> quantization plan -> QDQ ONNX model,
 * plus the calibration table, TensorRT cache, qtable and JSON summary on request,
 * and FP32-against-INT8 accuracy on a labelled test set. */
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

/* check_outputs' answer when cli_check_report refused --report (it printed why) */
#define c8_cli_report_refused ((calib8_status)-1)

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
  if (cli_check_report(a->c.report, 9 + a->c.n_calib, all)) return c8_cli_report_refused;
  return CALIB8_OK;
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
  int tnn_seen = 0; /* TNN's -b (1), -w (2), -t (4): calib8's --method, --weights, --granularity must not be given too */
  bool method_seen = false, weights_seen = false, gran_seen = false;
  for (int i = 1; i < argc; i++) {
    int taken = cli_quant_option(argc, argv, &i, &words, &a->c); /* the options auto and sensitivity share */
    if (taken == 2) return 2;
    if (taken) continue;
    const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(o, "--method")) {
      CLI_NEED("kl, max, percentile, mse, aciq or admm");
      if (tnn_seen & 1) return cli_fail("TNN's -b and --method both set the activation method; give one"), 2;
      method_seen = true;
      int m = calib8_method_parse(v);
      if (m < 0)
        return cli_fail("--method '%s' is not one of kl, max, percentile, mse, aciq, admm (any case; PERCENTILE9999 "
                        "is percentile at 99.99)", v), 2;
      a->q.method = (calib8_method)m;
      if (calib8_method_parse_percentile(v) > 0) a->q.percentile = calib8_method_parse_percentile(v);
    } else if (!strcmp(o, "-b") || !strcmp(o, "--blob_method") || !strcmp(o, "-w") || !strcmp(o, "--weight_method") ||
               !strcmp(o, "-t") || !strcmp(o, "--merge_type")) {
      /* TNN quantization_cmd's options, with TNN's numbers */
      CLI_NEED("a number");
      char which = o[1] == '-' ? o[2] : o[1]; /* b(lob), w(eight), m(erge) / t */
      if (which == 'b') {
        if (strcmp(v, "0") && strcmp(v, "2"))
          return cli_fail("%s '%s' is not TNN's 0 (Min-Max) or 2 (KL)", o, v), 2;
        if (method_seen) return cli_fail("TNN's %s and --method both set the activation method; give one", o), 2;
        a->q.method = !strcmp(v, "0") ? CALIB8_METHOD_MAX : CALIB8_METHOD_KL;
        tnn_seen |= 1;
      } else if (which == 'w') {
        if (strcmp(v, "0") && strcmp(v, "1"))
          return cli_fail("%s '%s' is not TNN's 0 (Min-Max) or 1 (ADMM)", o, v), 2;
        if (weights_seen) return cli_fail("TNN's %s and --weights both set the weight method; give one", o), 2;
        a->q.weights = !strcmp(v, "0") ? CALIB8_WEIGHTS_MINMAX : CALIB8_WEIGHTS_ADMM;
        tnn_seen |= 2;
      } else {
        if (strcmp(v, "0") && strcmp(v, "1") && strcmp(v, "2"))
          return cli_fail("%s '%s' is not TNN's 0 (per-channel), 1 (mix) or 2 (per-tensor)", o, v), 2;
        if (gran_seen) return cli_fail("TNN's %s and --granularity both set the granularity; give one", o), 2;
        /* TNN's 0 and 1 both give per-channel weights; calib8's activations are always per tensor, which is TNN's
           1 ("mix"); TNN's 0 would also scale activations per channel, which calib8 does not write */
        a->q.granularity = !strcmp(v, "2") ? CALIB8_PER_TENSOR : CALIB8_PER_CHANNEL;
        if (!strcmp(v, "0"))
          fprintf(stderr, "calib8: note: %s 0: weights per channel; activations stay per tensor (as TNN's %s 1), "
                          "calib8 writes no per-channel activation scales\n", o, o);
        tnn_seen |= 4;
      }
    } else if (!strcmp(o, "--percentile")) {
      CLI_NEED("a percentage");
      char *end;
      double p = strtod(v, &end);
      if (*end || !(p > 0 && p <= 100)) return cli_fail("--percentile '%s' must be a number in (0, 100]", v), 2;
      a->q.percentile = p;
    } else if (!strcmp(o, "--weights")) {
      CLI_NEED("minmax or admm");
      if (tnn_seen & 2) return cli_fail("TNN's -w and --weights both set the weight method; give one"), 2;
      weights_seen = true;
      if (!strcmp(v, "minmax")) a->q.weights = CALIB8_WEIGHTS_MINMAX;
      else if (!strcmp(v, "admm")) a->q.weights = CALIB8_WEIGHTS_ADMM;
      else return cli_fail("--weights '%s' is not minmax or admm", v), 2;
    } else if (!strcmp(o, "--granularity")) {
      CLI_NEED("per-channel, per-tensor or mix");
      if (tnn_seen & 4) return cli_fail("TNN's -t and --granularity both set the granularity; give one"), 2;
      gran_seen = true;
      if (!strcmp(v, "per-channel")) a->q.granularity = CALIB8_PER_CHANNEL;
      else if (!strcmp(v, "per-tensor")) a->q.granularity = CALIB8_PER_TENSOR;
      else if (!strcmp(v, "mix")) a->q.granularity = CALIB8_GRANULARITY_MIX;
      else return cli_fail("--granularity '%s' is not per-channel, per-tensor or mix", v), 2;
    } else if (!strcmp(o, "--asymmetric")) a->q.asymmetric = 1;
    else if (!strcmp(o, "--qtable")) { CLI_NEED("a qtable file"); a->q.qtable = v; }
    else if (!strcmp(o, "--write-qtable")) { CLI_NEED("a file name"); a->write_qtable = v; }
    else if (!strcmp(o, "--fp32-after")) { CLI_NEED("tensor names"); a->q.fp32_after = v; }
    else if (!strcmp(o, "--fp32-before")) { CLI_NEED("tensor names"); a->q.fp32_before = v; }
    else if (!strcmp(o, "--fp32-heads")) a->q.fp32_heads = 1;
    else if (!strcmp(o, "--fpfwd-outputs") || !strcmp(o, "--fpfwd_outputs")) { CLI_NEED("layer names"); a->q.fpfwd_outputs = v; }
    else if (!strcmp(o, "--fpfwd-inputs") || !strcmp(o, "--fpfwd_inputs")) { CLI_NEED("layer names"); a->q.fpfwd_inputs = v; }
    else if (!strcmp(o, "--equalize")) a->equalize = true;
    else if (!strcmp(o, "--fp32-diff")) {
      CLI_NEED("a number");
      char *end = NULL;
      double d = strtod(v, &end);
      if (!*v || *end || !isfinite(d) || d < 0) return cli_fail("option %s needs a non-negative number, got '%s'", o, v), 2;
      a->fp32_diff = d;
    }
    else if (!strcmp(o, "--bias-correction")) a->q.bias_correction = 1;
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
  if (a->c.test && !a->c.labels && strcmp(a->c.metric, "similarity"))
    return cli_fail("--test needs --labels FILE (or --metric similarity)"), 2;
  calib8_status st = check_outputs(a);
  if (st == c8_cli_report_refused) return 2;
  return st ? cli_fail_status(st) : 0;
}

/* FP32 and INT8 scores on the test set (quantize --test), with the first sample's classes for top1/top5. */
typedef struct test_result {
  double fp32, int8;
  int64_t count;
  int fp_cls, q_cls;
  double fp_prob, q_prob;
  char *predictions; /* the first test samples' FP32 and INT8 predictions (JSON), or NULL */
} test_result;

static calib8_status test_scores(const quantize_args *a, const calib8_model *m, calib8_session *s,
                                 const calib8_qplan *plan, const calib8_session_options *so, test_result *r) {
  bool classify = !strcmp(a->c.metric, "top1") || !strcmp(a->c.metric, "top5");
  calib8_eval_options eo = calib8_eval_options_default();
  eo.metric = (calib8_metric)calib8_metric_parse(a->c.metric);
  eo.labels = a->c.labels;
  eo.decode = a->c.decode ? calib8_decode_parse(a->c.decode) : eo.decode;
  eo.data.preprocess = a->c.pp_text;
  eo.data.template_name = a->c.template_name;
  eo.data.batch = a->c.batch;
  eo.threads = so->threads;
  calib8_evaluator *ev = NULL;
  calib8_session *qs = NULL;
  calib8_eval_result fr, qr;
  calib8_status st;
  /* class labels are checked against the whole test set, --test-limit or not: an evaluator checks them only
     when it is given no limit, so one without the limit checks them first */
  if (classify && a->c.test_limit) {
    if ((st = calib8_evaluator_create(m, a->c.test, &eo, &ev))) return st;
    calib8_evaluator_destroy(ev);
    ev = NULL;
  }
  eo.data.limit = a->c.test_limit;
  if ((st = calib8_evaluator_create(m, a->c.test, &eo, &ev))) return st;
  if ((st = calib8_qplan_session(plan, so, &qs))) goto out;
  /* similarity's reference is the FP32 model itself: its own score is 1 */
  if (eo.metric == CALIB8_METRIC_SIMILARITY) r->fp32 = 1.0;
  else if ((st = calib8_evaluate(ev, s, &fr))) goto out;
  else r->fp32 = fr.score, r->count = fr.count, r->fp_cls = fr.first_class, r->fp_prob = fr.first_prob;
  if ((st = calib8_evaluate(ev, qs, &qr))) goto out;
  r->int8 = qr.score, r->count = qr.count, r->q_cls = qr.first_class, r->q_prob = qr.first_prob;
  /* the first samples' predictions (report and --json) are an extra: without them the run goes on */
  if (calib8_predictions_json(ev, s, qs, 8, &r->predictions))
    fprintf(stderr, "calib8: note: no predictions in the summary: %s\n", calib8_last_error());
out:
  calib8_session_destroy(qs);
  calib8_evaluator_destroy(ev);
  return st;
}

/* The report's layer-wise comparison (calib8 compare at its default tolerance) of the FP32 model and the plan's
   QDQ model on the first REPORT_COMPARE_SAMPLES samples of the test set, or of the calibration set. NULL (and a
   note) when it cannot be made: the report then has no similarity bars. */
#define REPORT_COMPARE_SAMPLES 32
static char *report_compare(const quantize_args *a, const calib8_model *m, calib8_session *s, const calib8_qplan *plan,
                            const calib8_session_options *so) {
  calib8_session *qs = NULL;
  calib8_compare *cmp = NULL;
  calib8_dataset *ds = NULL;
  char *text = NULL;
  calib8_dataset_options d = calib8_dataset_options_default();
  d.preprocess = a->c.pp_text;
  d.template_name = a->c.template_name;
  d.batch = a->c.batch;
  d.limit = REPORT_COMPARE_SAMPLES;
  const char *test[1] = {a->c.test};
  calib8_status st = calib8_qplan_session(plan, so, &qs);
  if (!st) st = calib8_compare_create(s, qs, &cmp);
  if (!st) st = a->c.test ? calib8_dataset_open(m, 1, test, &d, &ds) : calib8_dataset_open(m, a->c.n_calib, a->c.calib, &d, &ds);
  if (!st) st = calib8_compare_dataset(cmp, ds);
  if (!st) st = calib8_compare_json(cmp, 0.9, 0.5, a->c.model, a->c.out, &text);
  if (st) fprintf(stderr, "calib8: note: the report has no layer-wise comparison: %s\n", calib8_last_error());
  calib8_dataset_close(ds);
  calib8_compare_destroy(cmp);
  calib8_session_destroy(qs);
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
  test_result tr = {NAN, NAN, 0, -1, -1, 0, 0, NULL};
  double t0 = cli_now();

  if ((st = calib8_model_load(a.c.model, &m))) goto fail_status;
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
  calib8_dataset_options dopt = {a.c.pp_text, a.c.template_name, a.c.batch,
                                 a.c.limit ? a.c.limit : CALIB8_DEFAULT_CALIBRATION_SAMPLES};
  if ((st = calib8_dataset_open(m, a.c.n_calib, a.c.calib, &dopt, &ds))) goto fail_status;
  cli_note_calibration_cap(ds, a.c.limit);
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
  double t_cal = cli_now() - t0;
  /* 2. precision, plan (thresholds, weight scales) and QDQ model */
  if ((st = calib8_qplan_build(s, cal, &a.q, &plan))) goto fail_status;
  double t_plan = cli_now() - t0 - t_cal;

  /* 3. evaluation (before anything is written, so a failure leaves no partial output) */
  if (a.c.test && (st = test_scores(&a, m, s, plan, &so, &tr))) goto fail_status;
  double t_eval = a.c.test ? cli_now() - t0 - t_cal - t_plan : 0;

  /* 4. the artefacts, each whole or not at all; when one fails, the ones written before it are removed */
  calib8_outputs outs = {a.c.out, a.table, a.trt_cache, a.write_qtable, a.c.json, a.record};
  calib8_summary_extra x = {.model = m, .model_path = a.c.model, .output_path = a.c.out, .calibration_seconds = t_cal,
                            .equalized_pairs = a.equalize ? cle_pairs : -1, .metric = a.c.test ? a.c.metric : NULL,
                            .fp32_score = tr.fp32, .int8_score = tr.int8, .count = tr.count,
                            .predictions_json = tr.predictions, .planning_seconds = t_plan,
                            .evaluation_seconds = t_eval};
  if ((st = calib8_qplan_write(plan, &outs, &x))) goto fail_status;

  int n_int8 = 0, n_cand = calib8_qplan_layer_count(plan), n_half = 0;
  for (int i = 0; i < n_cand; i++) {
    calib8_layer_info li;
    calib8_qplan_layer(plan, i, &li);
    n_int8 += li.precision == CALIB8_PRECISION_INT8;
    n_half += li.half_requested != 0;
  }
  int64_t macs, macs8;
  calib8_qplan_macs(plan, &macs, &macs8);
  printf("calibrated on %lld samples in %.3f s (%s, %s weights, %s)\n", (long long)calib8_calibration_samples(cal),
         t_cal, calib8_method_name(a.q.method), a.q.weights == CALIB8_WEIGHTS_ADMM ? "admm" : "minmax",
         a.q.granularity == CALIB8_PER_TENSOR       ? "per-tensor"
         : a.q.granularity == CALIB8_GRANULARITY_MIX ? "mix"
                                                     : "per-channel");
  printf("INT8 layers: %d of %d convolution/matrix layers; %.1f %% of multiply-accumulates\n", n_int8, n_cand,
         macs ? 100.0 * (double)macs8 / (double)macs : 0.0);
  if (n_half) { /* TPU-MLIR's F16/BF16 qtable rows: calib8 writes no half precision */
    printf("F16/BF16 in the qtable, kept FP32 (calib8 writes INT8 and FP32 only):");
    for (int i = 0; i < n_cand; i++) {
      calib8_layer_info li;
      calib8_qplan_layer(plan, i, &li);
      if (li.half_requested) printf(" %s", li.name);
    }
    printf("\n");
  }
  if (a.equalize) printf("cross-layer equalization: %d convolution pairs\n", cle_pairs);
  if (a.q.bias_correction) printf("bias correction: on\n");
  printf("wrote %s\n", a.c.out);
  if (a.c.test) {
    printf("%s FP32 %.4f  INT8 %.4f  (drop %+.4f, %lld test samples)\n", a.c.metric, tr.fp32, tr.int8,
           tr.fp32 - tr.int8, (long long)tr.count);
    if (!strcmp(a.c.metric, "top1") || !strcmp(a.c.metric, "top5"))
      printf("first test sample: FP32 class %d (p=%.4f)  INT8 class %d (p=%.4f)\n", tr.fp_cls, tr.fp_prob, tr.q_cls,
             tr.q_prob);
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
  calib8_free(tr.predictions);
  calib8_qplan_destroy(plan);
  calib8_calibration_destroy(cal);
  calib8_dataset_close(ds);
  calib8_session_destroy(s);
  calib8_model_destroy(m);
  return rc;
}
