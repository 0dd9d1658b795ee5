/* calib8 quantize MODEL --calib SRC [--calib NAME=SRC ...] -o OUT.onnx [options]
 *
 * Documented in docs/quantization.md.
 * calibration data -> histograms -> thresholds -> quantization plan -> QDQ ONNX model,
 * plus the calibration table, TensorRT cache, qtable and JSON summary on request,
 * and FP32-against-INT8 accuracy on a labelled test set. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/feed.h"
#include "evaluate/score.h"
#include "cli-ppcheck.h"
#include "cli-quant-options.h"
#include "cli.h"
#include "core/progress.h"
#include "data/npy.h"
#include "export/onnx-write.h"
#include "export/qdq.h"
#include "export/summary.h"
#include "export/tables.h"
#include "load/model.h"
#include "observe/calibrate.h"
#include "plan/qplan.h"

static const char *usage_text =
    "usage: calib8 quantize MODEL --calib SRC [--calib NAME=SRC ...] -o OUT.onnx\n"
    "         [--preprocess STR | --template NAME] [--method kl|max|percentile|mse|aciq] [--percentile P]\n"
    "         [--weights minmax|admm] [--granularity per-channel|per-tensor|mix] [--asymmetric]\n"
    "         [--qtable FILE] [--fp32-after T[,T...]] [--fp32-before T[,T...]] [--fp32-heads]\n"
    "         [--write-qtable FILE] [--table FILE] [--trt-cache FILE] [--json FILE]\n"
    "         [--test SRC [--labels FILE] [--metric top1|top5|map50|map|similarity] [--decode yolov5|yolov8|boxes]\n"
    "          [--test-limit N]] [--batch B] [--threads N] [--limit N (calibration samples)] [--fp32-heads] [--quiet]\n"
    "         [--check-preprocess FILE.npy] [--equalize] [--bias-correction]\n"
    "  --equalize         cross-layer equalization before calibration: Conv -> [Relu|LeakyRelu|MaxPool] -> Conv\n"
    "                     pairs get equal per-channel weight ranges, same FP32 function (Nagel et al. 2019, 4.1)\n"
    "  --bias-correction  biases absorb the mean output shift of weight quantization, (W_q - W) E[x], with E[x]\n"
    "                     measured during calibration (Nagel et al. 2019, 4.2)";

typedef struct quantize_args {
  cli_quant_common c; /* model, data, preprocessing, -o, --json, test set, batch, threads, limits, --quiet */
  const char *qtable, *write_qtable, *table, *trt_cache, *fp32_after, *fp32_before, *check_pp;
  bool fp32_heads;
  bool equalize;
  c8_quant_options q;
} quantize_args;

/* Where writing `path` lands: the file itself when it exists (symbolic links followed), else the real path
 * of its folder and its base name. False (message printed) when the folder does not exist or `path` is a folder. */
static bool resolve_output(const char *opt, const char *path, char out[PATH_MAX]) {
  struct stat sb;
  if (realpath(path, out)) {
    if (stat(out, &sb) == 0 && S_ISDIR(sb.st_mode))
      return cli_fail("%s '%s' is a folder, not a file name", opt, path), false;
    return true;
  }
  char dir[PATH_MAX];
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  const char *base = slash ? slash + 1 : dir;
  if (!*base) return cli_fail("%s '%s' is a folder, not a file name", opt, path), false;
  char rdir[PATH_MAX];
  if (slash == dir) snprintf(rdir, sizeof rdir, "/");
  else if (slash) {
    *slash = 0;
    if (!realpath(dir, rdir))
      return cli_fail("cannot write %s '%s': folder '%s' does not exist", opt, path, dir), false;
  } else if (!realpath(".", rdir)) {
    return cli_fail("cannot write %s '%s': the current folder cannot be resolved", opt, path), false;
  }
  if (strlen(rdir) + strlen(base) + 2 > PATH_MAX) return cli_fail("%s '%s': the path is too long", opt, path), false;
  snprintf(out, PATH_MAX, "%s%s%s", rdir, strcmp(rdir, "/") ? "/" : "", base);
  return true;
}

/* 1 when `spec` (a file or folder, or a dataset spec "NAME=SRC", "KIND:SRC") names the file `resolved`, 2 when
 * `resolved` is an existing file inside the folder `spec` names (a sample of an image or .npy folder), else 0. */
static int names_file(const char *spec, const char *resolved) {
  const char *cands[3] = {spec, strchr(spec, '='), strchr(spec, ':')};
  for (int i = 0; i < 3; i++) {
    if (!cands[i]) continue;
    char r[PATH_MAX];
    struct stat sb;
    if (!realpath(i ? cands[i] + 1 : cands[i], r)) continue;
    if (strcmp(r, resolved) == 0) return 1;
    size_t n = strlen(r);
    if (stat(r, &sb) == 0 && S_ISDIR(sb.st_mode) && strncmp(r, resolved, n) == 0 && resolved[n] == '/' &&
        !strchr(resolved + n + 1, '/') && access(resolved, F_OK) == 0)
      return 2;
  }
  return 0;
}

/* Every output has an existing folder, no output is an input (model, qtable, labels, data), and no two
 * outputs are the same file: checked before calibration so that nothing is computed for nothing. */
static bool check_outputs(const quantize_args *a) {
  const char *opt[5] = {"-o", "--table", "--trt-cache", "--write-qtable", "--json"};
  const char *path[5] = {a->c.out, a->table, a->trt_cache, a->write_qtable, a->c.json};
  char res[5][PATH_MAX];
  for (int i = 0; i < 5; i++) {
    if (!path[i]) continue;
    if (!resolve_output(opt[i], path[i], res[i])) return false;
    const char *what = NULL, *in = NULL;
    int how = 0;
    if ((how = names_file(a->c.model, res[i]))) what = "the input model", in = a->c.model;
    else if (a->qtable && (how = names_file(a->qtable, res[i]))) what = "the qtable read with --qtable", in = a->qtable;
    else if (a->c.labels && (how = names_file(a->c.labels, res[i]))) what = "the labels file", in = a->c.labels;
    else if (a->c.test && (how = names_file(a->c.test, res[i]))) what = "the test set", in = a->c.test;
    for (int k = 0; k < a->c.n_calib && !what; k++)
      if ((how = names_file(a->c.calib[k], res[i]))) what = "the calibration source", in = a->c.calib[k];
    if (what) {
      if (i == 0 && in == a->c.model)
        return cli_fail("-o '%s' is the input model; calib8 never overwrites an input", path[i]), false;
      return cli_fail("%s '%s' is %s%s '%s'; calib8 never overwrites an input", opt[i], path[i],
                      how == 2 ? "a file of " : "", what, in),
             false;
    }
    for (int k = 0; k < i; k++)
      if (path[k] && strcmp(res[k], res[i]) == 0)
        return cli_fail("%s '%s' and %s '%s' are the same file; each output needs its own name", opt[k], path[k],
                        opt[i], path[i]),
               false;
  }
  return true;
}

static int parse_args(int argc, char **argv, quantize_args *a) {
  memset(a, 0, sizeof *a);
  a->q = c8_quant_options_default();
  a->c.metric = "top1";
  const cli_quant_words words = {.calib_need = "a dataset (SRC or NAME=SRC)",
                                 .out_need = "the output model path",
                                 .metric_need = "top1, top5, map50, map or similarity",
                                 .check_now = true};
  for (int i = 1; i < argc; i++) {
    int taken = cli_quant_option(argc, argv, &i, &words, &a->c); /* the options auto and sensitivity share */
    if (taken == 2) return 2;
    if (taken) continue;
    const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(o, "--method")) {
      CLI_NEED("kl, max, percentile, mse or aciq");
      int m = c8_threshold_method_parse(v);
      if (m < 0) return cli_fail("--method '%s' is not one of kl, max, percentile, mse, aciq", v), 2;
      a->q.method = (c8_threshold_method)m;
    } else if (!strcmp(o, "--percentile")) {
      CLI_NEED("a percentage");
      char *end;
      double p = strtod(v, &end);
      if (*end || !(p > 0 && p <= 100)) return cli_fail("--percentile '%s' must be a number in (0, 100]", v), 2;
      a->q.percentile = p;
    } else if (!strcmp(o, "--weights")) {
      CLI_NEED("minmax or admm");
      if (!strcmp(v, "minmax")) a->q.weights = C8_WEIGHTS_MINMAX;
      else if (!strcmp(v, "admm")) a->q.weights = C8_WEIGHTS_ADMM;
      else return cli_fail("--weights '%s' is not minmax or admm", v), 2;
    } else if (!strcmp(o, "--granularity")) {
      CLI_NEED("per-channel, per-tensor or mix");
      if (!strcmp(v, "per-channel")) a->q.granularity = C8_GRAN_PER_CHANNEL;
      else if (!strcmp(v, "per-tensor")) a->q.granularity = C8_GRAN_PER_TENSOR;
      else if (!strcmp(v, "mix")) a->q.granularity = C8_GRAN_MIX;
      else return cli_fail("--granularity '%s' is not per-channel, per-tensor or mix", v), 2;
    } else if (!strcmp(o, "--asymmetric")) a->q.asymmetric = true;
    else if (!strcmp(o, "--qtable")) { CLI_NEED("a qtable file"); a->qtable = v; }
    else if (!strcmp(o, "--write-qtable")) { CLI_NEED("a file name"); a->write_qtable = v; }
    else if (!strcmp(o, "--fp32-after")) { CLI_NEED("tensor names"); a->fp32_after = v; }
    else if (!strcmp(o, "--fp32-before")) { CLI_NEED("tensor names"); a->fp32_before = v; }
    else if (!strcmp(o, "--fp32-heads")) a->fp32_heads = true;
    else if (!strcmp(o, "--equalize")) a->equalize = true;
    else if (!strcmp(o, "--bias-correction")) a->q.bias_correction = true;
    else if (!strcmp(o, "--table")) { CLI_NEED("a file name"); a->table = v; }
    else if (!strcmp(o, "--trt-cache")) { CLI_NEED("a file name"); a->trt_cache = v; }
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
  if (!check_outputs(a)) return 2;
  return 0;
}

/* Applies a comma-separated list of tensor names with fn. */
static calib8_status apply_list(const char *list, const c8_graph *g, c8_precision *prec,
                                c8_status (*fn)(const c8_graph *, const char *, c8_precision *)) {
  char buf[4096];
  snprintf(buf, sizeof buf, "%s", list);
  for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
    calib8_status st = fn(g, t, prec);
    if (st) return st;
  }
  return CALIB8_OK;
}

/* --equalize: a session over the session's optimized graph after cross-layer equalization replaces it. */
#define CLE_ITERATIONS 20
static calib8_status equalize_session(calib8_session **s, const calib8_session_options *so, int *pairs) {
  c8_graph *g = c8_graph_clone((*s)->g);
  if (!g) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory equalizing the model");
  calib8_session *e = NULL;
  calib8_status st = c8_graph_equalize(g, CLE_ITERATIONS, pairs);
  if (!st) st = c8_session_create_from_graph(g, so, &e);
  c8_graph_destroy(g);
  if (st) return st;
  calib8_session_destroy(*s);
  *s = e;
  return CALIB8_OK;
}

int cmd_quantize(int argc, char **argv) {
  quantize_args a;
  int rc = parse_args(argc, argv, &a);
  if (rc) return rc < 0 ? 0 : rc; /* -1: --help printed */
  rc = 1;
  c8_preprocess pp;
  bool has_pp;
  if (!cli_parse_preprocess(a.c.pp_text, a.c.template_name, &pp, &has_pp)) return 2;

  calib8_model *m = NULL;
  calib8_session *s = NULL, *qs = NULL;
  c8_calibration *cal = NULL;
  c8_qplan *plan = NULL;
  c8_graph *qdq = NULL;
  c8_precision *prec = NULL;
  cJSON *summary = NULL;
  c8_feed feed;
  bool feed_open = false;
  const char *written[5];
  int n_written = 0;
  calib8_status st;
  double t0 = c8_now();

  if ((st = calib8_model_load(a.c.model, &m))) goto fail_status;
  if (a.check_pp) {
    /* the user's tensors for the first K calibration images against calib8's, before any work */
    const char *spec = a.c.calib[0], *eq = strchr(spec, '=');
    calib8_value_info in0;
    if (a.c.n_calib != 1) {
      rc = cli_fail("--check-preprocess needs one --calib image source; %d are given", a.c.n_calib);
      goto out;
    }
    calib8_model_input_info(m, 0, &in0);
    if (eq && !strchr(spec, '/') && strlen(in0.name) == (size_t)(eq - spec) && !strncmp(in0.name, spec, (size_t)(eq - spec)))
      spec = eq + 1;
    if ((rc = cli_check_preprocess(a.check_pp, spec, &in0, calib8_model_input_count(m), has_pp ? &pp : NULL))) goto out;
    rc = 1;
  }
  calib8_session_options so = calib8_session_options_default();
  so.threads = a.c.threads;
  if ((st = calib8_session_create(m, &so, &s))) goto fail_status;
  int cle_pairs = -1;
  if (a.equalize && (st = equalize_session(&s, &so, &cle_pairs))) goto fail_status;

  /* 1. calibration: one streaming pass */
  if ((st = c8_feed_open(&feed, m, a.c.n_calib, a.c.calib, has_pp ? &pp : NULL, a.c.batch, a.c.limit)))
    goto fail_status;
  feed_open = true;
  if ((st = c8_calibration_create(s, &cal))) goto fail_status;
  if (a.q.bias_correction && (st = c8_calibration_enable_means(cal))) goto fail_status;
  c8_progress bar;
  c8_progress_start(&bar, "calibrating", feed.count, a.c.quiet);
  for (;;) {
    int rows;
    if ((st = c8_feed_next(&feed, NULL, NULL, &rows))) goto fail_status;
    if (!rows) break;
    if ((st = c8_calibration_run(cal, s, feed.n_inputs, feed.names, feed.in))) goto fail_status;
    c8_progress_update(&bar, cal->samples);
  }
  c8_progress_finish(&bar);
  if (cal->samples == 0) {
    rc = cli_fail("calibration set '%s' holds no samples", a.c.calib[0]);
    goto out;
  }

  /* 2. precision: qtable, then --fp32-after/--fp32-before */
  const c8_graph *g = s->g;
  prec = calloc((size_t)g->n_nodes + 1, sizeof *prec);
  if (!prec) {
    rc = cli_fail("out of memory");
    goto out;
  }
  if (a.qtable && (st = c8_qtable_read(a.qtable, g, prec, NULL))) goto fail_status;
  if (a.fp32_after && (st = apply_list(a.fp32_after, g, prec, c8_precision_fp32_after))) goto fail_status;
  if (a.fp32_before && (st = apply_list(a.fp32_before, g, prec, c8_precision_fp32_before))) goto fail_status;
  if (a.fp32_heads) {
    bool *h = calloc((size_t)g->n_nodes + 1, sizeof *h);
    if (!h || c8_find_heads(g, h) < 0) {
      free(h);
      rc = cli_fail("out of memory");
      goto out;
    }
    for (int i = 0; i < g->n_nodes; i++)
      if (h[i]) prec[i] = C8_PREC_FP32;
    free(h);
  }
  a.q.node_precision = prec;

  /* 3. plan and QDQ graph */
  a.q.pool = s->pool; /* the thresholds run on the session's threads */
  if ((st = c8_qplan_build(g, cal, &a.q, &plan))) goto fail_status;
  /* calibration time: model load, data, FP32 passes with the observers, thresholds and weight scales */
  double t_cal = c8_now() - t0;
  c8_qplan_count_macs(plan, c8_session_plan(s));
  if ((st = c8_qdq_build(plan, &qdq))) goto fail_status;

  /* 4. evaluation (before anything is written, so a failure leaves no partial output) */
  double fp32_score = NAN, int8_score = NAN;
  int64_t n_test = 0;
  int fp_cls = -1, q_cls = -1;
  double fp_prob = 0, q_prob = 0;
  bool classify = !strcmp(a.c.metric, "top1") || !strcmp(a.c.metric, "top5");
  if (a.c.test) {
    /* class accuracy, detection mAP or label-free similarity, through the shared scorer */
    if ((st = c8_session_create_from_graph(qdq, &so, &qs))) goto fail_status;
    c8_scorer sc;
    calib8_session *ref = NULL;
    calib8_metric mt = (calib8_metric)calib8_metric_parse(a.c.metric);
    /* class labels are checked against the whole test set, --test-limit or not: the scorer checks them only
       when it is given no limit, so the limit is set after */
    if ((st = c8_scorer_init(&sc, mt, m, a.c.test, has_pp ? &pp : NULL, a.c.labels, a.c.batch,
                              classify ? 0 : a.c.test_limit))) {
      c8_scorer_free(&sc);
      goto fail_status;
    }
    sc.limit = a.c.test_limit;
    sc.det_opts.decode = a.c.decode ? (c8_decode_kind)c8_decode_parse(a.c.decode) : C8_DECODE_YOLOV5;
    if (mt == CALIB8_METRIC_SIMILARITY && !(st = calib8_session_create(m, &so, &ref))) sc.reference = ref;
    if (!st && mt == CALIB8_METRIC_SIMILARITY) fp32_score = 1.0;
    else if (!st) st = c8_score(&sc, s, &fp32_score, &n_test);
    fp_cls = sc.first_class, fp_prob = sc.first_prob;
    if (!st) st = c8_score(&sc, qs, &int8_score, &n_test);
    q_cls = sc.first_class, q_prob = sc.first_prob;
    c8_scorer_free(&sc);
    calib8_session_destroy(ref);
    if (st) goto fail_status;
  }

  /* 5. write the artifacts, each whole or not at all; when one fails, the ones written before it are removed */
  c8_onnx_write_options wo = {.producer = "calib8"};
  if ((st = c8_onnx_write(qdq, &wo, a.c.out))) goto fail_status;
  written[n_written++] = a.c.out;
  if (a.table) {
    if ((st = c8_calib_table_write(plan, cal, a.table))) goto fail_status;
    written[n_written++] = a.table;
  }
  if (a.trt_cache) {
    if ((st = c8_trt_cache_write(plan, a.trt_cache))) goto fail_status;
    written[n_written++] = a.trt_cache;
  }
  if (a.write_qtable) {
    if ((st = c8_qtable_write(plan, a.write_qtable))) goto fail_status;
    written[n_written++] = a.write_qtable;
  }
  if (a.c.json) {
    summary = c8_summary_json(plan, cal, m->graph, qdq);
    if (!summary) {
      rc = cli_fail("out of memory writing '%s'", a.c.json);
      goto out;
    }
    cJSON_AddStringToObject(summary, "model", a.c.model);
    cJSON_AddStringToObject(summary, "output", a.c.out);
    cJSON_AddNumberToObject(summary, "calibration_seconds", t_cal);
    if (a.equalize) cJSON_AddNumberToObject(summary, "equalized_pairs", cle_pairs);
    cJSON_AddBoolToObject(summary, "bias_correction", a.q.bias_correction);
    if (a.c.test) {
      cJSON *mt = cJSON_AddObjectToObject(summary, "metrics");
      cJSON_AddStringToObject(mt, "metric", a.c.metric);
      cJSON_AddNumberToObject(mt, "fp32", fp32_score);
      cJSON_AddNumberToObject(mt, "int8", int8_score);
      cJSON_AddNumberToObject(mt, "count", (double)n_test);
    }
    char *text = cJSON_Print(summary);
    if (!text) {
      rc = cli_fail("out of memory writing '%s'", a.c.json);
      goto out;
    }
    st = c8_write_file_atomic(a.c.json, text, strlen(text));
    free(text);
    if (st) goto fail_status;
    written[n_written++] = a.c.json;
  }

  int n_int8 = 0, n_cand = 0;
  for (int i = 0; i < g->n_nodes; i++)
    if (c8_op_is_int8_compute(g->nodes[i].op_type)) {
      n_cand++;
      n_int8 += plan->node_prec[i] == C8_PREC_INT8;
    }
  printf("calibrated on %lld samples in %.3f s (%s, %s weights, %s)\n", (long long)cal->samples, t_cal,
         c8_threshold_method_name(a.q.method), a.q.weights == C8_WEIGHTS_ADMM ? "admm" : "minmax",
         a.q.granularity == C8_GRAN_PER_TENSOR ? "per-tensor" : a.q.granularity == C8_GRAN_MIX ? "mix" : "per-channel");
  printf("INT8 layers: %d of %d convolution/matrix layers; %.1f %% of multiply-accumulates\n", n_int8, n_cand,
         plan->macs_total ? 100.0 * (double)plan->macs_int8 / (double)plan->macs_total : 0.0);
  if (a.equalize) printf("cross-layer equalization: %d convolution pairs\n", cle_pairs);
  if (a.q.bias_correction) printf("bias correction: on\n");
  printf("wrote %s\n", a.c.out);
  if (a.c.test) {
    printf("%s FP32 %.4f  INT8 %.4f  (drop %+.4f, %lld test samples)\n", a.c.metric, fp32_score, int8_score,
           fp32_score - int8_score, (long long)n_test);
    if (classify)
      printf("first test sample: FP32 class %d (p=%.4f)  INT8 class %d (p=%.4f)\n", fp_cls, fp_prob, q_cls, q_prob);
  }
  rc = 0;
  goto out;
fail_status:
  rc = cli_fail_status(st);
out:
  if (rc)
    for (int i = 0; i < n_written; i++) unlink(written[i]);
  cJSON_Delete(summary);
  if (feed_open) c8_feed_close(&feed);
  free(prec);
  c8_graph_destroy(qdq);
  c8_qplan_destroy(plan);
  c8_calibration_destroy(cal);
  calib8_session_destroy(qs);
  calib8_session_destroy(s);
  calib8_model_destroy(m);
  return rc;
}
