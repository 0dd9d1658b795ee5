/* calib8 auto and calib8 sensitivity: the command line of the automatic search (calib8/search.h); their usage is
 * in parse_args' messages. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "calib8/calib8.h"
#include "cli-quant-options.h"
#include "cli.h"

typedef struct auto_args {
  cli_quant_common c; /* model, data, preprocessing text, -o, --json, test set, batch, threads, limits, --quiet */
  calib8_search_options so;
  calib8_metric metric;
  int decode, top_k;
} auto_args;

/* The shared progress bar, and the metric's name for the trial lines. */
typedef struct bar {
  cli_progress p;
  const char *metric;
} bar;

static void bar_finish(bar *b) { cli_progress_finish(&b->p); }

static void on_progress(void *user, const char *stage, int64_t done, int64_t total) {
  cli_progress_fn(&((bar *)user)->p, stage, done, total);
}

static void on_message(void *user, const char *line) {
  bar_finish(user);
  printf("%s\n", line);
  fflush(stdout);
}

static void on_trial(void *user, const calib8_trial *t) {
  bar *b = user;
  bar_finish(b);
  calib8_trial_print(t, b->metric, stdout);
  fflush(stdout);
}

static int parse_args(int argc, char **argv, auto_args *a, bool sensitivity, const char **out_qtable) {
  a->so = calib8_search_options_default();
  const cli_quant_words words = {.calib_need = "a dataset",
                                 .out_need = sensitivity ? "a qtable path" : "the output model path",
                                 .metric_need = "a metric",
                                 .check_now = false};
  for (int i = 1; i < argc; i++) {
    int taken = cli_quant_option(argc, argv, &i, &words, &a->c); /* the options quantize shares */
    if (taken == 2) return 2;
    if (taken) continue;
    const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(o, "--max-drop") || !strcmp(o, "--fp32-score") || !strcmp(o, "--fp32-diff")) {
      CLI_NEED("a number");
      char *end;
      double d = strtod(v, &end);
      if (*end || !isfinite(d) || d < 0) return cli_fail("option %s needs a non-negative number, got '%s'", o, v), 2;
      if (!strcmp(o, "--max-drop")) a->so.max_drop = d;
      else if (!strcmp(o, "--fp32-diff")) a->so.fp32_diff = d;
      else a->so.fp32_score = d, a->so.have_fp32_score = 1;
    } else if (!strcmp(o, "--mode")) {
      CLI_NEED("fast or full");
      if (!strcmp(v, "fast")) a->so.mode = CALIB8_SEARCH_FAST;
      else if (!strcmp(v, "full")) a->so.mode = CALIB8_SEARCH_FULL;
      else return cli_fail("--mode '%s' is not fast or full", v), 2;
    } else if (!strcmp(o, "--resume")) a->so.resume = 1;
    else if (!strcmp(o, "--top")) {
      CLI_NEED("a count");
      if (!cli_parse_int(o, v, 1, 100000, &a->top_k)) return 2;
    } else if (o[0] == '-') return cli_fail("%s: unknown option '%s'", sensitivity ? "sensitivity" : "auto", o), 2;
    else if (!a->c.model) a->c.model = o;
    else return cli_fail("%s: unexpected argument '%s'", sensitivity ? "sensitivity" : "auto", o), 2;
  }
  if (sensitivity) { /* -o names the qtable of the most sensitive layers, not a model */
    *out_qtable = a->c.out;
    a->c.out = NULL;
    if (!a->c.model || !a->c.n_calib)
      return cli_fail("usage: calib8 sensitivity MODEL --calib SRC [--test SRC [--labels FILE --metric M]] [--top K] [-o QTABLE] "
                      "[--report FILE.html]"), 2;
  } else if (!a->c.model || !a->c.n_calib || !a->c.test || !a->c.out) {
    return cli_fail("usage: calib8 auto MODEL --calib SRC --test SRC [--labels FILE] [--metric M] [--max-drop 0.005] "
                    "[--mode fast|full] [--json FILE] [--report FILE.html] [--resume] -o OUT.onnx"),
           2;
  }
  calib8_status st = calib8_preprocess_validate(a->c.pp_text, a->c.template_name);
  if (st) return cli_fail_status(st), 2;
  int mt = a->c.labels ? CALIB8_METRIC_TOP1 : CALIB8_METRIC_SIMILARITY;
  if (a->c.metric && (mt = calib8_metric_parse(a->c.metric)) < 0)
    return cli_fail("--metric '%s' is not one of top1, top5, map50, map, similarity", a->c.metric), 2;
  a->metric = (calib8_metric)mt;
  if (a->c.decode && (a->decode = calib8_decode_parse(a->c.decode)) < 0)
    return cli_fail("--decode '%s' is not yolov5, yolov8 or boxes", a->c.decode), 2;
  /* auto: an LMDB test set may carry its labels (data.label); the evaluator says when there are none */
  if (sensitivity && a->metric != CALIB8_METRIC_SIMILARITY && !a->c.labels)
    return cli_fail("--metric %s needs --labels FILE", calib8_metric_name(a->metric)), 2;
  return 0;
}

/* The metric of auto, and why, said before any work; it never changes on its own. Without --metric: top1 with
 * --labels or with the labels an LMDB test set carries (data.label), else similarity. */
static calib8_status choose_metric(auto_args *a, const calib8_model *m, calib8_eval_options *eo, char *labels,
                                   size_t size) {
  if (a->c.metric) {
    printf("metric: %s (--metric%s%s%s)\n", calib8_metric_name(a->metric), a->c.labels ? ", labels from '" : "",
           a->c.labels ? a->c.labels : "", a->c.labels ? "'" : "");
    return CALIB8_OK;
  }
  calib8_status st = calib8_eval_options_default_metric(m, a->c.test, eo, labels, size);
  if (st) return st;
  a->metric = eo->metric;
  if (eo->labels) printf("metric: %s (labels from '%s')\n", calib8_metric_name(eo->metric), eo->labels);
  else printf("metric: similarity (no labels given: --labels FILE, or data.label beside an LMDB test set)\n");
  return CALIB8_OK;
}

/* The model, the evaluator on the test set and the calibration set, as the command line says; auto_metric: auto's
 * metric is chosen and said first (choose_metric). */
static calib8_status open_inputs(auto_args *a, const char *test, int64_t test_limit, bool cosine_only, bool auto_metric,
                                 calib8_model **m, calib8_evaluator **ev, calib8_dataset **calib) {
  calib8_status st = calib8_model_load(a->c.model, m);
  if (st) return st;
  char found[4200] = "";
  calib8_eval_options eo = calib8_eval_options_default();
  eo.metric = a->metric;
  eo.labels = a->c.labels;
  eo.decode = a->decode;
  eo.cosine_only = cosine_only;
  eo.data.preprocess = a->c.pp_text;
  eo.data.template_name = a->c.template_name;
  eo.data.batch = a->c.batch;
  eo.data.limit = test_limit;
  eo.threads = a->c.threads;
  if (auto_metric && (st = choose_metric(a, *m, &eo, found, sizeof found))) return st;
  if ((st = calib8_evaluator_create(*m, test, &eo, ev))) return st;
  return cli_open_calibration(*m, &a->c, calib);
}

int cmd_auto(int argc, char **argv) {
  auto_args a;
  memset(&a, 0, sizeof a);
  const char *unused = NULL;
  int rc = parse_args(argc, argv, &a, false, &unused);
  if (rc) return rc;
  char rp1[PATH_MAX], rp2[PATH_MAX];
  if (realpath(a.c.model, rp1) && realpath(a.c.out, rp2) && !strcmp(rp1, rp2))
    return cli_fail("-o '%s' is the input model; calib8 never overwrites an input", a.c.out);
  const char *paths[5 + CALIB8_MAX_INPUTS] = {a.c.model, a.c.out, a.c.json, a.c.test, a.c.labels};
  for (int k = 0; k < a.c.n_calib; k++) paths[5 + k] = a.c.calib[k];
  calib8_status st = calib8_outputs_check_report(a.c.report, 5 + a.c.n_calib, paths);
  if (st) return cli_fail_status(st);
  calib8_model *m = NULL;
  calib8_evaluator *ev = NULL;
  calib8_dataset *calib = NULL;
  bar b = {.p = {.quiet = a.c.quiet}};
  calib8_search_result *r = calloc(1, sizeof *r);
  st = r ? open_inputs(&a, a.c.test, a.c.test_limit, false, true, &m, &ev, &calib)
           : calib8_set_error(CALIB8_OUT_OF_MEMORY, "out of memory");
  if (!st) {
    a.so.evaluator = ev;
    a.so.metric_name = b.metric = calib8_metric_name(a.metric);
    a.so.output = a.c.out;
    a.so.json = a.c.json;
    a.so.report = a.c.report;
    a.so.threads = a.c.threads;
    a.so.model_path = a.c.model;
    a.so.on_trial = on_trial;
    a.so.on_message = on_message;
    a.so.on_progress = on_progress;
    a.so.user = &b;
    st = calib8_search_run(m, calib, &a.so, r);
  }
  bar_finish(&b);
  if (!st || st == CALIB8_BUDGET_NOT_MET) {
    calib8_search_result_print(r, b.metric, a.c.out, stdout);
  }
  /* budget not met: exit 1 (an invalid argument would be 2) */
  rc = st == CALIB8_BUDGET_NOT_MET ? cli_fail("%s", calib8_last_error()) : st ? cli_fail_status(st) : 0;
  if (a.c.report && (!st || st == CALIB8_BUDGET_NOT_MET)) {
    /* the report's failure is a warning; it changes the exit code only when nothing else failed */
    if (r->report_status == CALIB8_OK) printf("wrote %s\n", a.c.report);
    else {
      fprintf(stderr, "calib8: warning: the report was not written: %s\n", r->report_error);
      if (!rc) rc = 1;
    }
  }
  free(r);
  calib8_dataset_close(calib);
  calib8_evaluator_destroy(ev);
  calib8_model_destroy(m);
  return rc;
}

int cmd_sensitivity(int argc, char **argv) {
  auto_args a;
  memset(&a, 0, sizeof a);
  a.top_k = 5;
  const char *out_qtable = NULL;
  int rc = parse_args(argc, argv, &a, true, &out_qtable);
  if (rc) return rc;
  /* without labels: the cosine of the outputs against FP32 on the first 64 samples */
  bool with_metric = a.c.labels != NULL;
  if (!with_metric) a.metric = CALIB8_METRIC_SIMILARITY;
  const char *test = a.c.test ? a.c.test : a.c.calib[0];
  int64_t test_limit = a.c.test_limit || with_metric ? a.c.test_limit : 64;
  const char *paths[4 + CALIB8_MAX_INPUTS] = {a.c.model, out_qtable, a.c.test, a.c.labels};
  for (int k = 0; k < a.c.n_calib; k++) paths[4 + k] = a.c.calib[k];
  if (calib8_outputs_check_report(a.c.report, 4 + a.c.n_calib, paths)) return cli_fail_status(CALIB8_INVALID_ARGUMENT), 2;
  calib8_model *m = NULL;
  calib8_evaluator *ev = NULL;
  calib8_dataset *calib = NULL;
  calib8_sensitivity *rank = NULL;
  bar b = {.p = {.quiet = a.c.quiet}};
  calib8_status st = open_inputs(&a, test, test_limit, !with_metric, false, &m, &ev, &calib);
  if (!st) {
    a.so.evaluator = ev;
    a.so.threads = a.c.threads;
    a.so.on_progress = on_progress;
    a.so.user = &b;
    st = calib8_sensitivity_run(m, calib, &a.so, &rank);
  }
  bar_finish(&b);
  if (!st && !(st = calib8_sensitivity_print(rank, with_metric, stdout)) && out_qtable &&
      !(st = calib8_sensitivity_write_qtable(rank, a.top_k, out_qtable)))
    printf("wrote %s\n", out_qtable);
  rc = st ? cli_fail_status(st) : 0;
  char *sj = NULL;
  if (!st && a.c.report) { /* written last; its failure is a warning */
    calib8_report_input ri = {.title = a.c.model};
    if (calib8_sensitivity_json(rank, with_metric ? calib8_metric_name(a.metric) : NULL, &sj))
      rc = (fprintf(stderr, "calib8: warning: the report was not written: %s\n", calib8_last_error()), 1);
    else ri.sensitivity_json = sj, rc = cli_write_report(&ri, a.c.report, rc);
  }
  calib8_free(sj);
  calib8_sensitivity_destroy(rank);
  calib8_dataset_close(calib);
  calib8_evaluator_destroy(ev);
  calib8_model_destroy(m);
  return rc;
}
