/* calib8 auto: accuracy-driven automatic quantization.
 *
 *   calib8 auto MODEL --calib SRC --test SRC [--labels FILE] [--metric M] [--max-drop 0.005]
 *               [--mode fast|full] [--json FILE] [--resume] -o OUT.onnx
 *   calib8 sensitivity MODEL --calib SRC [--test SRC [--labels FILE]] [--top K] [-o QTABLE]
 *
 * Statistics are collected once; a trial only picks thresholds, builds the plan and scores it.
 * After every trial the best model so far, its qtable and calibration table, and the trial log
 * (OUT.trials.jsonl, one JSON object per line) are written, so a killed search loses nothing and
 * --resume replays the log instead of repeating trials. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli-quant-options.h"
#include "evaluate/score.h"
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

#define MAX_TRIALS_FAST 8
#define MAX_TRIALS_FULL 12

typedef struct strategy {
  c8_threshold_method method;
  c8_granularity gran;
  c8_weight_method weights;
  bool per_tensor_method; /* threshold method chosen per tensor by the lowest local error */
  bool bias_correction;   /* Nagel et al. 2019, 4.2 (src/export/bias-correct.h) */
  bool equalized;         /* on the cross-layer-equalized graph (Nagel et al. 2019, 4.1), calibrated anew */
  unsigned char *fp32;    /* per node of the session graph: forced FP32 */
  char desc[200];
} strategy;

typedef struct trial {
  char key[4096];
  char desc[200];
  double score, drop, seconds, int8_macs;
  int n_fp32;       /* convolution/matrix layers kept in FP32 */
  bool meets;
  bool replayed;    /* taken from the log of an earlier run */
} trial;

typedef struct search {
  /* inputs */
  cli_quant_common c; /* model, data, preprocessing text, -o, --json, test set, batch, threads, limits, --quiet */
  const char *log_path;
  int max_trials;
  double max_drop, fp32_score, fp32_diff;
  bool have_fp32_score, full, resume;
  calib8_metric metric;
  c8_decode_kind decode;
  c8_preprocess pp;
  bool has_pp;
  /* state */
  calib8_model *m;
  calib8_session *s, *ref;
  const c8_graph *g;
  c8_calibration *cal;
  c8_scorer sc;
  trial trials[32];
  int n_trials, best;
  cJSON *log;        /* entries of the log being replayed (resume) */
  c8_graph *best_qdq;
  c8_qplan *best_plan;
  c8_calibration *best_cal;   /* the calibration best_plan was built from */
  calib8_session *eq_s;       /* the equalized graph's session and calibration (full mode) */
  c8_calibration *eq_cal;
  double t_cal;
  char qtable_path[PATH_MAX], table_path[PATH_MAX];
} search;

static int n_compute(const c8_graph *g) {
  int n = 0;
  for (int i = 0; i < g->n_nodes; i++) n += c8_op_is_int8_compute(g->nodes[i].op_type);
  return n;
}

static void strategy_key(const search *S, const strategy *st, char *key, size_t size) {
  size_t n = (size_t)snprintf(key, size, "method=%s gran=%d weights=%d per_tensor=%d bc=%d cle=%d fp32=",
                              c8_threshold_method_name(st->method), st->gran, st->weights, st->per_tensor_method,
                              st->bias_correction, st->equalized);
  for (int i = 0; i < S->g->n_nodes && n < size; i++)
    if (st->fp32 && st->fp32[i]) n += (size_t)snprintf(key + n, size - n, "%d,", i);
}

static int count_fp32_compute(const c8_qplan *p) {
  int n = 0;
  for (int i = 0; i < p->n_nodes; i++)
    n += c8_op_is_int8_compute(p->g->nodes[i].op_type) && p->node_prec[i] != C8_PREC_INT8;
  return n;
}

/* Per-tensor threshold method: the one with the lowest expected quantization error on its histogram
 * (TPU-MLIR's search_threshold compares candidate thresholds the same way). */
static int *per_tensor_methods(const search *S) {
  int *vm = malloc(sizeof(int) * ((size_t)S->g->n_values + 1));
  if (!vm) return NULL;
  c8_threshold_options o = c8_threshold_options_default();
  for (int v = 0; v < S->g->n_values; v++) {
    vm[v] = -1;
    const c8_histogram *h = S->cal->hist[v];
    if (!h || !h->count) continue;
    o.levels = h->min >= 0 ? 255 : 127;
    double best = INFINITY;
    for (int m = 0; m < C8_THRESHOLD_COUNT; m++) {
      double t = c8_threshold_compute((c8_threshold_method)m, h, &o);
      double e = c8_threshold_error(h, t, o.levels);
      if (e < best) best = e, vm[v] = m;
    }
  }
  return vm;
}

/* Builds plan + QDQ graph for a strategy. */
static calib8_status build(search *S, const strategy *st, c8_qplan **plan, c8_graph **qdq) {
  const c8_graph *g = S->g;
  c8_precision *prec = calloc((size_t)g->n_nodes + 1, sizeof *prec);
  int *vm = st->per_tensor_method ? per_tensor_methods(S) : NULL;
  calib8_status rc;
  if (!prec || (st->per_tensor_method && !vm)) {
    free(prec);
    free(vm);
    return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory");
  }
  for (int i = 0; i < g->n_nodes; i++) prec[i] = st->fp32 && st->fp32[i] ? C8_PREC_FP32 : C8_PREC_AUTO;
  c8_quant_options q = c8_quant_options_default();
  q.method = st->method;
  q.granularity = st->gran;
  q.weights = st->weights;
  q.node_precision = prec;
  q.value_method = vm;
  q.bias_correction = st->bias_correction;
  q.pool = S->s->pool; /* thresholds on the session's threads; the plan does not depend on it */
  *plan = NULL;
  *qdq = NULL;
  rc = c8_qplan_build(g, S->cal, &q, plan);
  if (!rc) {
    (*plan)->opts.node_precision = NULL; /* prec is freed below; the plan keeps its own node_prec */
    (*plan)->opts.value_method = NULL;
    c8_qplan_count_macs(*plan, c8_session_plan(S->s));
    rc = c8_qdq_build(*plan, qdq);
  }
  free(prec);
  free(vm);
  return rc;
}

static calib8_status score_graph(search *S, const c8_graph *qdq, double *score) {
  calib8_session_options so = calib8_session_options_default();
  so.threads = S->c.threads;
  calib8_session *qs = NULL;
  int64_t count;
  calib8_status st = c8_session_create_from_graph(qdq, &so, &qs);
  if (!st) st = c8_score(&S->sc, qs, score, &count);
  calib8_session_destroy(qs);
  return st;
}

static bool better(const search *S, const trial *a, const trial *b) {
  /* the smallest set of FP32 layers that meets the budget wins; then the score */
  if (a->meets != b->meets) return a->meets;
  if (a->meets && a->n_fp32 != b->n_fp32) return a->n_fp32 < b->n_fp32;
  (void)S;
  return a->score > b->score;
}

static calib8_status write_best(search *S) {
  calib8_status st;
  c8_onnx_write_options wo = {.producer = "calib8 auto"};
  if ((st = c8_onnx_write(S->best_qdq, &wo, S->c.out))) return st;
  if ((st = c8_qtable_write(S->best_plan, S->qtable_path))) return st;
  return c8_calib_table_write(S->best_plan, S->best_cal, S->table_path);
}

static calib8_status append_log(search *S, cJSON *entry) {
  char *line = cJSON_PrintUnformatted(entry);
  if (!line) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory");
  FILE *f = fopen(S->log_path, "a");
  if (!f) {
    free(line);
    return c8_error(CALIB8_IO, "cannot append to the trial log '%s'", S->log_path);
  }
  fprintf(f, "%s\n", line);
  bool ok = fflush(f) == 0;
  ok = fclose(f) == 0 && ok;
  free(line);
  return ok ? CALIB8_OK : c8_error(CALIB8_IO, "cannot write the trial log '%s'", S->log_path);
}

static const cJSON *log_find(const search *S, const char *field, const char *value) {
  if (!S->log) return NULL;
  const cJSON *e;
  cJSON_ArrayForEach(e, S->log) {
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(e, field);
    if (cJSON_IsString(k) && !strcmp(k->valuestring, value)) return e;
  }
  return NULL;
}

/* Runs (or replays) one trial; returns its index, or -1 on error (status in *st). */
static int try_strategy(search *S, const strategy *stg, calib8_status *st) {
  *st = CALIB8_OK;
  if (S->n_trials >= S->max_trials) return -2;
  trial *t = &S->trials[S->n_trials];
  memset(t, 0, sizeof *t);
  strategy_key(S, stg, t->key, sizeof t->key);
  for (int i = 0; i < S->n_trials; i++)
    if (!strcmp(S->trials[i].key, t->key)) return i; /* the same strategy twice: reuse */
  snprintf(t->desc, sizeof t->desc, "%s", stg->desc);
  double t0 = c8_now();
  c8_qplan *plan = NULL;
  c8_graph *qdq = NULL;
  if ((*st = build(S, stg, &plan, &qdq))) return -1;
  t->n_fp32 = count_fp32_compute(plan);
  t->int8_macs = plan->macs_total ? (double)plan->macs_int8 / (double)plan->macs_total : 0.0;
  const cJSON *logged = log_find(S, "key", t->key);
  if (logged) {
    t->score = cJSON_GetObjectItemCaseSensitive(logged, "score")->valuedouble;
    t->seconds = cJSON_GetObjectItemCaseSensitive(logged, "seconds")->valuedouble;
    t->replayed = true;
  } else if ((*st = score_graph(S, qdq, &t->score))) {
    c8_qplan_destroy(plan);
    c8_graph_destroy(qdq);
    return -1;
  } else {
    t->seconds = c8_now() - t0;
  }
  t->drop = S->fp32_score - t->score;
  t->meets = t->drop <= S->max_drop + 1e-12;
  int idx = S->n_trials++;
  printf("trial %2d  %-44s %s %.4f  drop %+.4f  FP32 layers %d  INT8 MACs %5.1f %%  %.1f s%s%s\n", idx + 1, t->desc,
         calib8_metric_name(S->metric), t->score, t->drop, t->n_fp32, 100.0 * t->int8_macs, t->seconds,
         t->meets ? "  within budget" : "", t->replayed ? "  (from log)" : "");
  fflush(stdout);
  if (S->best < 0 || better(S, t, &S->trials[S->best])) {
    S->best = idx;
    c8_qplan_destroy(S->best_plan);
    c8_graph_destroy(S->best_qdq);
    S->best_plan = plan;
    S->best_qdq = qdq;
    S->best_cal = S->cal;
    plan = NULL;
    qdq = NULL;
    if ((*st = write_best(S))) return -1;
  }
  c8_qplan_destroy(plan);
  c8_graph_destroy(qdq);
  if (!t->replayed) {
    cJSON *e = cJSON_CreateObject();
    cJSON_AddNumberToObject(e, "trial", idx + 1);
    cJSON_AddStringToObject(e, "key", t->key);
    cJSON_AddStringToObject(e, "strategy", t->desc);
    cJSON_AddNumberToObject(e, "score", t->score);
    cJSON_AddNumberToObject(e, "drop", t->drop);
    cJSON_AddNumberToObject(e, "seconds", t->seconds);
    cJSON_AddNumberToObject(e, "fp32_layers", t->n_fp32);
    *st = append_log(S, e);
    cJSON_Delete(e);
    if (*st) return -1;
  }
  return idx;
}

/* Sensitivity of each convolution/matrix layer: quantize only that layer and measure the loss
 * 1 - cosine(INT8 outputs, FP32 outputs) on the scoring set (or the metric drop with --metric). */
typedef struct sens {
  int node;
  double loss;
  c8_threshold_method best_method;
} sens;

static int by_loss_desc(const void *a, const void *b) {
  const sens *x = a, *y = b;
  if (x->loss != y->loss) return x->loss < y->loss ? 1 : -1;
  return x->node - y->node;
}

static calib8_status rank_layers(search *S, c8_threshold_method method, bool all_methods, c8_scorer *sc, sens *out,
                                 int *n_out) {
  const c8_graph *g = S->g;
  int n = 0;
  unsigned char *fp32 = calloc((size_t)g->n_nodes + 1, 1);
  if (!fp32) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory");
  calib8_status st = CALIB8_OK;
  c8_progress bar;
  int total = n_compute(g) * (all_methods ? C8_THRESHOLD_COUNT : 1);
  c8_progress_start(&bar, "sensitivity", total, S->c.quiet);
  int done = 0;
  for (int i = 0; i < g->n_nodes && !st; i++) {
    if (!c8_op_is_int8_compute(g->nodes[i].op_type)) continue;
    for (int j = 0; j < g->n_nodes; j++) fp32[j] = c8_op_is_int8_compute(g->nodes[j].op_type) && j != i;
    out[n].node = i;
    out[n].loss = INFINITY;
    out[n].best_method = method;
    for (int m = 0; m < C8_THRESHOLD_COUNT && !st; m++) {
      if (!all_methods && m != (int)method) continue;
      strategy stg = {.method = (c8_threshold_method)m, .gran = C8_GRAN_PER_CHANNEL, .fp32 = fp32};
      c8_qplan *plan = NULL;
      c8_graph *qdq = NULL;
      double score = 0.0;
      if (!(st = build(S, &stg, &plan, &qdq))) {
        if (plan->node_prec[i] != C8_PREC_INT8) {
          score = sc == &S->sc ? S->fp32_score : 1.0; /* cannot be INT8: no loss */
        } else {
          calib8_session_options so = calib8_session_options_default();
          so.threads = S->c.threads;
          calib8_session *qs = NULL;
          int64_t count;
          st = c8_session_create_from_graph(qdq, &so, &qs);
          if (!st) st = c8_score(sc, qs, &score, &count);
          calib8_session_destroy(qs);
        }
      }
      c8_qplan_destroy(plan);
      c8_graph_destroy(qdq);
      double loss = sc == &S->sc ? S->fp32_score - score : 1.0 - score;
      if (!st && loss < out[n].loss) out[n].loss = loss, out[n].best_method = (c8_threshold_method)m;
      c8_progress_update(&bar, ++done);
    }
    n++;
  }
  c8_progress_finish(&bar);
  free(fp32);
  if (!st) qsort(out, (size_t)n, sizeof *out, by_loss_desc);
  *n_out = n;
  return st;
}

/* The FP32 conversion check: calib8's optimized graph against the graph as written, on one sample. */
static calib8_status fp32_check(search *S, c8_feed *feed) {
  calib8_session_options so = calib8_session_options_default();
  so.threads = S->c.threads;
  so.optimize = 0;
  calib8_session *raw = NULL;
  calib8_status st = calib8_session_create(S->m, &so, &raw);
  if (st) return st;
  int rows;
  if ((st = c8_feed_next(feed, NULL, NULL, &rows)) || !rows) goto out;
  if ((st = calib8_session_run(S->s, feed->n_inputs, feed->names, feed->in))) goto out;
  if ((st = calib8_session_run(raw, feed->n_inputs, feed->names, feed->in))) goto out;
  for (int o = 0; o < calib8_session_output_count(S->s); o++) {
    calib8_tensor a, b;
    calib8_session_output(S->s, o, &a);
    calib8_session_output(raw, o, &b);
    if (a.dtype != CALIB8_FLOAT || !c8_same_shape(&a, &b)) continue;
    double mx = 0, diff = 0;
    for (int64_t k = 0; k < c8_numel(&a); k++) {
      mx = fmax(mx, fabs(((float *)b.data)[k]));
      diff = fmax(diff, fabs(((float *)a.data)[k] - ((float *)b.data)[k]));
    }
    double rel = mx > 0 ? diff / mx : diff;
    if (rel > S->fp32_diff) {
      st = c8_error(CALIB8_INTERNAL,
                    "FP32 conversion check: output '%s' of the optimized graph differs from the original by a relative "
                    "max difference of %.3g, more than --fp32-diff %.3g",
                    calib8_session_output_name(S->s, o), rel, S->fp32_diff);
      goto out;
    }
  }
out:
  calib8_session_destroy(raw);
  return st;
}

/* One streaming calibration pass of session `s` (with per-channel input means when `means`). */
static calib8_status calibrate_session(search *S, calib8_session *s, c8_calibration **out, bool means) {
  c8_feed feed;
  calib8_status st =
      c8_feed_open(&feed, S->m, S->c.n_calib, S->c.calib, S->has_pp ? &S->pp : NULL, S->c.batch, S->c.limit);
  if (st) goto out;
  if ((st = c8_calibration_create(s, out))) goto out;
  if (means && (st = c8_calibration_enable_means(*out))) goto out; /* for the bias-correction trial */
  c8_progress bar;
  c8_progress_start(&bar, "calibrating", feed.count, S->c.quiet);
  for (;;) {
    int rows;
    if ((st = c8_feed_next(&feed, NULL, NULL, &rows))) break;
    if (!rows) break;
    if ((st = c8_calibration_run(*out, s, feed.n_inputs, feed.names, feed.in))) break;
    c8_progress_update(&bar, (*out)->samples);
  }
  c8_progress_finish(&bar);
  if (!st && (*out)->samples == 0)
    st = c8_error(CALIB8_INVALID_ARGUMENT, "calibration set '%s' holds no samples", S->c.calib[0]);
out:
  c8_feed_close(&feed);
  return st;
}

static calib8_status calibrate(search *S) {
  c8_feed feed;
  calib8_status st =
      c8_feed_open(&feed, S->m, S->c.n_calib, S->c.calib, S->has_pp ? &S->pp : NULL, S->c.batch, S->c.limit);
  if (!st) st = fp32_check(S, &feed);
  c8_feed_close(&feed);
  if (st) return st;
  double t0 = c8_now();
  st = calibrate_session(S, S->s, &S->cal, S->full);
  S->t_cal = c8_now() - t0;
  return st;
}

static calib8_status load_log(search *S) {
  FILE *f = fopen(S->log_path, "r");
  if (!f) return c8_error(CALIB8_IO, "--resume: cannot open the trial log '%s'", S->log_path);
  S->log = cJSON_CreateArray();
  char line[1 << 16];
  int lineno = 0;
  calib8_status st = CALIB8_OK;
  while (fgets(line, sizeof line, f)) {
    lineno++;
    if (line[0] == '\n') continue;
    cJSON *e = cJSON_Parse(line);
    if (!e) {
      /* a line cut short by a kill is the only damage a crash can do: ignore a torn last line */
      if (fgetc(f) == EOF) break;
      st = c8_error(CALIB8_INVALID_ARGUMENT, "trial log '%s' line %d is not JSON", S->log_path, lineno);
      break;
    }
    cJSON_AddItemToArray(S->log, e);
  }
  fclose(f);
  return st;
}

static int parse_args(int argc, char **argv, search *S, bool sensitivity, int *top_k, const char **out_qtable) {
  S->max_drop = 0.005;
  S->fp32_diff = 1e-3;
  S->best = -1;
  const cli_quant_words words = {.calib_need = "a dataset",
                                 .out_need = sensitivity ? "a qtable path" : "the output model path",
                                 .metric_need = "a metric",
                                 .check_now = false};
  for (int i = 1; i < argc; i++) {
    int taken = cli_quant_option(argc, argv, &i, &words, &S->c); /* the options quantize shares */
    if (taken == 2) return 2;
    if (taken) continue;
    const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(o, "--max-drop") || !strcmp(o, "--fp32-score") || !strcmp(o, "--fp32-diff")) {
      CLI_NEED("a number");
      char *end;
      double d = strtod(v, &end);
      if (*end || !isfinite(d) || d < 0) return cli_fail("option %s needs a non-negative number, got '%s'", o, v), 2;
      if (!strcmp(o, "--max-drop")) S->max_drop = d;
      else if (!strcmp(o, "--fp32-diff")) S->fp32_diff = d;
      else S->fp32_score = d, S->have_fp32_score = true;
    } else if (!strcmp(o, "--mode")) {
      CLI_NEED("fast or full");
      if (!strcmp(v, "fast")) S->full = false;
      else if (!strcmp(v, "full")) S->full = true;
      else return cli_fail("--mode '%s' is not fast or full", v), 2;
    } else if (!strcmp(o, "--resume")) S->resume = true;
    else if (!strcmp(o, "--top")) {
      CLI_NEED("a count");
      if (!cli_parse_int(o, v, 1, 100000, top_k)) return 2;
    } else if (o[0] == '-') return cli_fail("%s: unknown option '%s'", sensitivity ? "sensitivity" : "auto", o), 2;
    else if (!S->c.model) S->c.model = o;
    else return cli_fail("%s: unexpected argument '%s'", sensitivity ? "sensitivity" : "auto", o), 2;
  }
  if (sensitivity) { /* -o names the qtable of the most sensitive layers, not a model */
    *out_qtable = S->c.out;
    S->c.out = NULL;
  }
  if (sensitivity) {
    if (!S->c.model || !S->c.n_calib)
      return cli_fail("usage: calib8 sensitivity MODEL --calib SRC [--test SRC [--labels FILE --metric M]] [--top K] [-o QTABLE]"), 2;
  } else if (!S->c.model || !S->c.n_calib || !S->c.test || !S->c.out) {
    return cli_fail("usage: calib8 auto MODEL --calib SRC --test SRC [--labels FILE] [--metric M] [--max-drop 0.005] "
                    "[--mode fast|full] [--json FILE] [--resume] -o OUT.onnx"),
           2;
  }
  if (!cli_parse_preprocess(S->c.pp_text, S->c.template_name, &S->pp, &S->has_pp)) return 2;
  int mt;
  if (S->c.metric) {
    mt = calib8_metric_parse(S->c.metric);
    if (mt < 0) return cli_fail("--metric '%s' is not one of top1, top5, map50, map, similarity", S->c.metric), 2;
  } else {
    mt = S->c.labels ? CALIB8_METRIC_TOP1 : CALIB8_METRIC_SIMILARITY;
  }
  S->metric = (calib8_metric)mt;
  if (S->c.decode) {
    int d = c8_decode_parse(S->c.decode);
    if (d < 0) return cli_fail("--decode '%s' is not yolov5, yolov8 or boxes", S->c.decode), 2;
    S->decode = (c8_decode_kind)d;
  }
  if ((S->metric == CALIB8_METRIC_TOP1 || S->metric == CALIB8_METRIC_TOP5 || S->metric == CALIB8_METRIC_MAP50 || S->metric == CALIB8_METRIC_MAP) &&
      !S->c.labels)
    return cli_fail("--metric %s needs --labels FILE", calib8_metric_name(S->metric)), 2;
  S->max_trials = S->full ? MAX_TRIALS_FULL : MAX_TRIALS_FAST;
  return 0;
}

static calib8_status setup(search *S) {
  calib8_status st;
  if ((st = calib8_model_load(S->c.model, &S->m))) return st;
  calib8_session_options so = calib8_session_options_default();
  so.threads = S->c.threads;
  if ((st = calib8_session_create(S->m, &so, &S->s))) return st;
  S->g = S->s->g;
  const char *test = S->c.test ? S->c.test : S->c.calib[0];
  int64_t tl = S->c.test_limit;
  if ((st = c8_scorer_init(&S->sc, S->metric, S->m, test, S->has_pp ? &S->pp : NULL, S->c.labels, S->c.batch, tl)))
    return st;
  S->sc.det_opts.decode = S->decode;
  if (S->metric == CALIB8_METRIC_SIMILARITY) {
    if ((st = calib8_session_create(S->m, &so, &S->ref))) return st;
    S->sc.reference = S->ref;
  }
  return calibrate(S);
}

static void teardown(search *S) {
  c8_scorer_free(&S->sc);
  c8_qplan_destroy(S->best_plan);
  c8_graph_destroy(S->best_qdq);
  c8_calibration_destroy(S->cal);
  c8_calibration_destroy(S->eq_cal);
  calib8_session_destroy(S->eq_s);
  calib8_session_destroy(S->ref);
  calib8_session_destroy(S->s);
  calib8_model_destroy(S->m);
  cJSON_Delete(S->log);
}

static void with_fp32(strategy *dst, const strategy *base, unsigned char *fp32, const char *what) {
  *dst = *base;
  dst->fp32 = fp32;
  snprintf(dst->desc, sizeof dst->desc, "%s + %s", base->desc, what);
}

/* Strategy of the best trial so far (its method/granularity/weights; FP32 sets are not inherited). */
static strategy best_base(const search *S, const strategy *tried, int n) {
  strategy b = tried[0];
  for (int i = 0; i < n; i++)
    if (!strcmp(tried[i].desc, S->trials[S->best].desc)) b = tried[i];
  b.fp32 = NULL;
  return b;
}

#define TRY(stg)                                      \
  do {                                                \
    int idx_ = try_strategy(S, (stg), &st);           \
    if (idx_ == -1) goto fail;                        \
    if (idx_ == -2) goto done;                        \
    if (S->trials[idx_].meets && (!S->full || S->trials[idx_].n_fp32 == 0)) goto done; \
  } while (0)

int cmd_auto(int argc, char **argv) {
  search *S = calloc(1, sizeof *S);
  if (!S) return cli_fail("out of memory");
  int top_k = 0, rc = 1;
  const char *unused = NULL;
  unsigned char *fp32_a = NULL, *fp32_b = NULL;
  sens *ranking = NULL;
  calib8_status st = CALIB8_OK;
  if ((rc = parse_args(argc, argv, S, false, &top_k, &unused))) {
    free(S);
    return rc;
  }
  rc = 1;
  char base_path[PATH_MAX];
  snprintf(base_path, sizeof base_path, "%s", S->c.out);
  char *dot = strrchr(base_path, '.');
  if (dot && !strcmp(dot, ".onnx")) *dot = 0;
  char log_path[PATH_MAX + 16];
  snprintf(log_path, sizeof log_path, "%s.trials.jsonl", base_path);
  S->log_path = log_path;
  snprintf(S->qtable_path, sizeof S->qtable_path, "%s.qtable", base_path);
  snprintf(S->table_path, sizeof S->table_path, "%s.table", base_path);
  char rp1[PATH_MAX], rp2[PATH_MAX];
  if (realpath(S->c.model, rp1) && realpath(S->c.out, rp2) && !strcmp(rp1, rp2)) {
    rc = cli_fail("-o '%s' is the input model; calib8 never overwrites an input", S->c.out);
    goto out;
  }
  if (S->resume && (st = load_log(S))) goto fail;
  if (!S->resume) remove(log_path); /* a new search starts a new log */
  if ((st = setup(S))) goto fail;
  const c8_graph *g = S->g;

  /* FP32 score */
  if (!S->have_fp32_score) {
    const cJSON *e = log_find(S, "kind", "fp32");
    if (e) {
      S->fp32_score = cJSON_GetObjectItemCaseSensitive(e, "score")->valuedouble;
    } else {
      int64_t count;
      double t0 = c8_now();
      if ((st = c8_score(&S->sc, S->s, &S->fp32_score, &count))) goto fail;
      if (S->metric == CALIB8_METRIC_SIMILARITY) S->fp32_score = 1.0;
      cJSON *le = cJSON_CreateObject();
      cJSON_AddStringToObject(le, "kind", "fp32");
      cJSON_AddNumberToObject(le, "score", S->fp32_score);
      cJSON_AddNumberToObject(le, "seconds", c8_now() - t0);
      st = append_log(S, le);
      cJSON_Delete(le);
      if (st) goto fail;
    }
  }
  printf("FP32 %s %.4f; budget: drop <= %.4f; calibration %.2f s on %lld samples; mode %s\n",
         calib8_metric_name(S->metric), S->fp32_score, S->max_drop, S->t_cal, (long long)S->cal->samples,
         S->full ? "full" : "fast");
  fflush(stdout);

  fp32_a = calloc((size_t)g->n_nodes + 1, 1);
  fp32_b = calloc((size_t)g->n_nodes + 1, 1);
  ranking = calloc((size_t)g->n_nodes + 1, sizeof *ranking);
  if (!fp32_a || !fp32_b || !ranking) {
    st = c8_error(CALIB8_OUT_OF_MEMORY, "out of memory");
    goto fail;
  }
  strategy tried[16];
  int nt = 0;
  /* 1-4: threshold methods */
  const c8_threshold_method methods[] = {C8_THRESHOLD_KL, C8_THRESHOLD_MSE, C8_THRESHOLD_PERCENTILE, C8_THRESHOLD_ACIQ};
  for (int k = 0; k < 4; k++) {
    strategy s = {.method = methods[k], .gran = C8_GRAN_PER_CHANNEL, .weights = C8_WEIGHTS_MINMAX};
    snprintf(s.desc, sizeof s.desc, "%s, per-channel", c8_threshold_method_name(methods[k]));
    tried[nt++] = s;
    TRY(&tried[nt - 1]);
  }
  /* 5: a method per tensor, by the lowest local error */
  {
    strategy s = {.method = C8_THRESHOLD_KL, .gran = C8_GRAN_PER_CHANNEL, .per_tensor_method = true};
    snprintf(s.desc, sizeof s.desc, "method per tensor, per-channel");
    tried[nt++] = s;
    TRY(&tried[nt - 1]);
  }
  if (!S->full) {
    /* 6: the first convolution in FP32 */
    strategy base = best_base(S, tried, nt), s;
    memset(fp32_a, 0, (size_t)g->n_nodes);
    for (int i = 0; i < g->n_nodes; i++)
      if (c8_op_is_int8_compute(g->nodes[i].op_type)) {
        fp32_a[i] = 1;
        break;
      }
    with_fp32(&s, &base, fp32_a, "first layer FP32");
    TRY(&s);
    /* 7: detection heads in FP32 */
    bool *h = calloc((size_t)g->n_nodes + 1, sizeof *h);
    if (!h || c8_find_heads(g, h) < 0) {
      free(h);
      st = c8_error(CALIB8_OUT_OF_MEMORY, "out of memory");
      goto fail;
    }
    for (int i = 0; i < g->n_nodes; i++) fp32_b[i] = h[i];
    free(h);
    base = best_base(S, tried, nt);
    with_fp32(&s, &base, fp32_b, "heads FP32");
    TRY(&s);
    /* 8: depthwise convolutions in FP32, or per-tensor weights when there are none */
    memset(fp32_a, 0, (size_t)g->n_nodes);
    int dw = 0;
    for (int i = 0; i < g->n_nodes; i++)
      if (!strcmp(g->nodes[i].op_type, "Conv") && c8_attr_int(&g->nodes[i], "group", 1) > 1) fp32_a[i] = 1, dw++;
    base = best_base(S, tried, nt);
    if (dw) {
      with_fp32(&s, &base, fp32_a, "depthwise FP32");
    } else {
      s = base;
      s.gran = C8_GRAN_PER_TENSOR;
      snprintf(s.desc, sizeof s.desc, "%s, per-tensor", c8_threshold_method_name(base.method));
    }
    TRY(&s);
    goto done;
  }
  /* full mode: bias correction, sensitivity ranking, greedy reversion to FP32, then a split-point search */
  {
    strategy bc = best_base(S, tried, nt);
    bc.bias_correction = true;
    snprintf(bc.desc, sizeof bc.desc, "%.150s + bias correction", S->trials[S->best].desc);
    tried[nt++] = bc;
    TRY(&tried[nt - 1]);
  }
  {
    strategy base = best_base(S, tried, nt);
    int nr = 0;
    const cJSON *logged = log_find(S, "kind", "sensitivity");
    if (logged) {
      const cJSON *arr = cJSON_GetObjectItemCaseSensitive(logged, "ranking"), *e;
      cJSON_ArrayForEach(e, arr) {
        ranking[nr].node = (int)cJSON_GetObjectItemCaseSensitive(e, "node")->valuedouble;
        ranking[nr].loss = cJSON_GetObjectItemCaseSensitive(e, "loss")->valuedouble;
        nr++;
      }
    } else {
      /* label-free and cheap: cosine of the outputs on the first 64 test samples */
      c8_scorer rs;
      calib8_session *ref2 = NULL;
      calib8_session_options so = calib8_session_options_default();
      so.threads = S->c.threads;
      if ((st = c8_scorer_init(&rs, CALIB8_METRIC_SIMILARITY, S->m, S->c.test, S->has_pp ? &S->pp : NULL, NULL, S->c.batch,
                                64)))
        goto fail;
      if ((st = calib8_session_create(S->m, &so, &ref2))) goto fail;
      rs.reference = ref2;
      rs.cosine_only = true;
      st = rank_layers(S, base.method, false, &rs, ranking, &nr);
      calib8_session_destroy(ref2);
      if (st) goto fail;
      cJSON *le = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(le, "ranking");
      cJSON_AddStringToObject(le, "kind", "sensitivity");
      for (int i = 0; i < nr; i++) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddNumberToObject(e, "node", ranking[i].node);
        cJSON_AddStringToObject(e, "layer", g->nodes[ranking[i].node].name);
        cJSON_AddNumberToObject(e, "loss", ranking[i].loss);
        cJSON_AddItemToArray(arr, e);
      }
      st = append_log(S, le);
      cJSON_Delete(le);
      if (st) goto fail;
    }
    printf("most sensitive layers:");
    for (int i = 0; i < nr && i < 5; i++) printf(" %s (%.3g)", g->nodes[ranking[i].node].name, ranking[i].loss);
    printf("\n");
    /* greedy: the k most sensitive layers in FP32, k = 1, 2, 3, 4 */
    bool met = false;
    for (int k = 1; k <= 4 && k <= nr && !met; k++) {
      memset(fp32_a, 0, (size_t)g->n_nodes);
      for (int i = 0; i < k; i++) fp32_a[ranking[i].node] = 1;
      strategy s;
      char what[64];
      snprintf(what, sizeof what, "%d most sensitive FP32", k);
      with_fp32(&s, &base, fp32_a, what);
      int idx = try_strategy(S, &s, &st);
      if (idx == -1) goto fail;
      if (idx == -2) goto done;
      met = S->trials[idx].meets;
    }
    if (met) goto done;
    /* cross-layer equalization: the equalized graph computes the same function but needs its own
       statistics, so it is calibrated once more; node ids are unchanged, so FP32 sets carry over */
    {
      c8_graph *eg = c8_graph_clone(S->g);
      int pairs = 0;
      if (!eg) {
        st = c8_error(CALIB8_OUT_OF_MEMORY, "out of memory");
        goto fail;
      }
      st = c8_graph_equalize(eg, 4, &pairs);
      if (!st && pairs > 0) {
        calib8_session_options so = calib8_session_options_default();
        so.threads = S->c.threads;
        st = c8_session_create_from_graph(eg, &so, &S->eq_s);
        if (!st && S->eq_s->g->n_nodes != S->g->n_nodes)
          st = c8_error(CALIB8_INTERNAL, "the equalized graph has %d nodes, the original %d", S->eq_s->g->n_nodes,
                        S->g->n_nodes);
        if (!st) st = calibrate_session(S, S->eq_s, &S->eq_cal, true);
      }
      c8_graph_destroy(eg);
      if (st) goto fail;
      if (pairs > 0) {
        const c8_graph *g0 = S->g;
        calib8_session *s0 = S->s;
        c8_calibration *c0 = S->cal;
        S->g = S->eq_s->g;
        S->s = S->eq_s;
        S->cal = S->eq_cal;
        strategy s = base;
        s.equalized = true;
        snprintf(s.desc, sizeof s.desc, "%.140s + equalization (%d pairs)", base.desc, pairs);
        int idx = try_strategy(S, &s, &st);
        S->g = g0;
        S->s = s0;
        S->cal = c0;
        if (idx == -1) goto fail;
        if (idx == -2) goto done;
        if (S->trials[idx].meets) goto done;
      }
    }
    /* split point: compute layers [0, split) INT8, the rest FP32; find the largest split within budget */
    int order[4096], nc = 0;
    for (int i = 0; i < g->n_nodes && nc < 4096; i++)
      if (c8_op_is_int8_compute(g->nodes[i].op_type)) order[nc++] = i;
    int lo = 0, hi = nc; /* invariant: split lo meets (0 layers INT8 trivially), hi does not */
    while (hi - lo > 1 && S->n_trials < S->max_trials) {
      int mid = (lo + hi) / 2;
      memset(fp32_a, 0, (size_t)g->n_nodes);
      for (int c = mid; c < nc; c++)
        for (int i = order[c]; i < g->n_nodes; i++) fp32_a[i] = 1; /* everything after the split point */
      strategy s;
      char what[64];
      snprintf(what, sizeof what, "FP32 from layer %d of %d", mid + 1, nc);
      with_fp32(&s, &base, fp32_a, what);
      int idx = try_strategy(S, &s, &st);
      if (idx == -1) goto fail;
      if (idx == -2) break;
      if (S->trials[idx].meets) lo = mid;
      else hi = mid;
    }
  }
done:;
  const trial *b = &S->trials[S->best];
  printf("choice: trial %d (%s): %s %.4f, drop %+.4f, %d FP32 layers, %.1f %% of MACs in INT8; %d trials\n",
         S->best + 1, b->desc, calib8_metric_name(S->metric), b->score, b->drop, b->n_fp32, 100.0 * b->int8_macs,
         S->n_trials);
  printf("wrote %s, %s, %s, %s\n", S->c.out, S->qtable_path, S->table_path, S->log_path);
  if (S->c.json) {
    cJSON *root = c8_summary_json(S->best_plan, S->best_cal, S->m->graph, S->best_qdq);
    if (!root) {
      st = c8_error(CALIB8_OUT_OF_MEMORY, "out of memory");
      goto fail;
    }
    cJSON_AddStringToObject(root, "model", S->c.model);
    cJSON_AddStringToObject(root, "output", S->c.out);
    cJSON_AddStringToObject(root, "metric", calib8_metric_name(S->metric));
    cJSON_AddNumberToObject(root, "fp32_score", S->fp32_score);
    cJSON_AddNumberToObject(root, "max_drop", S->max_drop);
    cJSON_AddStringToObject(root, "mode", S->full ? "full" : "fast");
    cJSON_AddNumberToObject(root, "calibration_seconds", S->t_cal);
    cJSON *arr = cJSON_AddArrayToObject(root, "trials");
    for (int i = 0; i < S->n_trials; i++) {
      const trial *t = &S->trials[i];
      cJSON *e = cJSON_CreateObject();
      cJSON_AddNumberToObject(e, "trial", i + 1);
      cJSON_AddStringToObject(e, "strategy", t->desc);
      cJSON_AddNumberToObject(e, "fp32_layers", t->n_fp32);
      cJSON_AddNumberToObject(e, "score", t->score);
      cJSON_AddNumberToObject(e, "drop", t->drop);
      cJSON_AddNumberToObject(e, "seconds", t->seconds);
      cJSON_AddNumberToObject(e, "int8_macs", t->int8_macs);
      cJSON_AddBoolToObject(e, "within_budget", t->meets);
      cJSON_AddItemToArray(arr, e);
    }
    cJSON *ch = cJSON_AddObjectToObject(root, "choice");
    cJSON_AddNumberToObject(ch, "trial", S->best + 1);
    cJSON_AddStringToObject(ch, "strategy", b->desc);
    cJSON_AddNumberToObject(ch, "score", b->score);
    cJSON_AddNumberToObject(ch, "drop", b->drop);
    cJSON_AddBoolToObject(ch, "within_budget", b->meets);
    cJSON *fl = cJSON_AddArrayToObject(ch, "fp32_layers");
    for (int i = 0; i < g->n_nodes; i++)
      if (c8_op_is_int8_compute(g->nodes[i].op_type) && S->best_plan->node_prec[i] != C8_PREC_INT8)
        cJSON_AddItemToArray(fl, cJSON_CreateString(g->nodes[i].name));
    char *text = cJSON_Print(root);
    cJSON_Delete(root);
    if (!text) {
      st = c8_error(CALIB8_OUT_OF_MEMORY, "out of memory");
      goto fail;
    }
    st = c8_write_file_atomic(S->c.json, text, strlen(text));
    free(text);
    if (st) goto fail;
  }
  if (!b->meets) {
    rc = cli_fail("no trial met the budget (drop <= %.4f); the best one (trial %d, drop %+.4f) was written to '%s'",
                  S->max_drop, S->best + 1, b->drop, S->c.out);
    goto out;
  }
  rc = 0;
  goto out;
fail:
  rc = cli_fail_status(st);
out:
  free(fp32_a);
  free(fp32_b);
  free(ranking);
  teardown(S);
  free(S);
  return rc;
}

int cmd_sensitivity(int argc, char **argv) {
  search *S = calloc(1, sizeof *S);
  if (!S) return cli_fail("out of memory");
  int top_k = 5, rc;
  const char *out_qtable = NULL;
  sens *ranking = NULL;
  calib8_status st;
  if ((rc = parse_args(argc, argv, S, true, &top_k, &out_qtable))) {
    free(S);
    return rc;
  }
  rc = 1;
  bool with_metric = S->c.labels != NULL;
  if (!with_metric) S->metric = CALIB8_METRIC_SIMILARITY;
  if (!S->c.test) S->c.test = S->c.calib[0];
  if (!S->c.test_limit && !with_metric) S->c.test_limit = 64;
  if ((st = setup(S))) goto fail;
  c8_scorer *sc = &S->sc;
  c8_scorer cos_sc;
  if (!with_metric) {
    cos_sc = S->sc;
    cos_sc.cosine_only = true;
    sc = &cos_sc;
  } else {
    int64_t count;
    if ((st = c8_score(&S->sc, S->s, &S->fp32_score, &count))) goto fail;
  }
  ranking = calloc((size_t)S->g->n_nodes + 1, sizeof *ranking);
  if (!ranking) {
    st = c8_error(CALIB8_OUT_OF_MEMORY, "out of memory");
    goto fail;
  }
  int nr = 0;
  if ((st = rank_layers(S, C8_THRESHOLD_KL, true, sc, ranking, &nr))) goto fail;
  printf("%-4s %-40s %-14s %-12s %s\n", "rank", "layer", "op", with_metric ? "metric drop" : "1 - cosine", "best method");
  for (int i = 0; i < nr; i++)
    printf("%-4d %-40s %-14s %-12.6g %s\n", i + 1, S->g->nodes[ranking[i].node].name, S->g->nodes[ranking[i].node].op_type,
           ranking[i].loss, c8_threshold_method_name(ranking[i].best_method));
  if (out_qtable) {
    /* the top K layers in F32, ready for --qtable */
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    if (!mem) {
      st = c8_error(CALIB8_OUT_OF_MEMORY, "out of memory");
      goto fail;
    }
    fprintf(mem, "# calib8 sensitivity: the %d most sensitive layers in F32 (pass with --qtable)\n", top_k);
    for (int i = 0; i < nr && i < top_k; i++) fprintf(mem, "%s F32\n", S->g->nodes[ranking[i].node].name);
    fclose(mem);
    st = c8_write_file_atomic(out_qtable, text, len);
    free(text);
    if (st) goto fail;
    printf("wrote %s\n", out_qtable);
  }
  rc = 0;
  goto out;
fail:
  rc = cli_fail_status(st);
out:
  free(ranking);
  teardown(S);
  free(S);
  return rc;
}
