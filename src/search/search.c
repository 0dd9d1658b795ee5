/* The automatic search (include/calib8/search.h): setup, the trial rules, the trial log, and the driver that runs
 * the table of steps (search-steps.c). */
#include "search/search.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/atomic-file.h"
#include "core/clock.h"
#include "core/tensor.h"
#include "data/npy.h"
#include "evaluate/predictions.h"
#include "evaluate/similarity.h"
#include "export/onnx-write.h"
#include "export/qdq.h"
#include "export/sizes.h"
#include "export/summary.h"
#include "export/tables.h"
#include "load/model.h"
#include "plan/method-choice.h"
#include "observe/calibrate.h"
#include "plan/qplan.h"

_Thread_local const char *c8_search_scoring = NULL;

calib8_search_options calib8_search_options_default(void) {
  calib8_search_options o;
  memset(&o, 0, sizeof o);
  o.max_drop = 0.005;
  o.fp32_diff = 1e-3;
  return o;
}

static void progress(const c8_search *S, const char *stage, int64_t done, int64_t total) {
  if (S->o.on_progress) S->o.on_progress(S->o.user, stage, done, total);
}

static void message(const c8_search *S, const char *line) {
  if (S->o.on_message) S->o.on_message(S->o.user, line);
}

static bool cancelled(const c8_search *S) { return S->o.cancel && S->o.cancel(S->o.user); }

static c8_status rewind_calib(c8_search *S) {
  c8_status st = calib8_dataset_rewind(S->calib);
  if (st) return c8_error_prefix(st, "the search reads calibration set '%s' more than once", calib8_dataset_spec(S->calib));
  return CALIB8_OK;
}

/* ---- scoring ---------------------------------------------------------------------------------------------- */

/* The similarity metric's cosine form (docs/metrics.md) over a dataset the scorer does not know: the caller's
 * calibration batches. */
static c8_status cosine_on_dataset(const c8_judge *j, calib8_session *s, double *score) {
  c8_status st = calib8_dataset_rewind(j->ds);
  double acc = 0;
  int64_t n = 0;
  while (!st && n < j->limit) {
    calib8_batch b;
    if ((st = calib8_dataset_next(j->ds, &b)) || !b.rows) break;
    if ((st = calib8_session_run(s, b.n_inputs, b.names, b.inputs))) break;
    if ((st = calib8_session_run(j->ref, b.n_inputs, b.names, b.inputs))) break;
    int rows = b.rows < j->limit - n ? b.rows : (int)(j->limit - n);
    int n_out = calib8_session_output_count(s);
    for (int r = 0; r < rows; r++) {
      c8_similarity sim;
      c8_similarity_init(&sim);
      for (int o = 0; o < n_out && o < calib8_session_output_count(j->ref); o++) {
        calib8_tensor x, y;
        calib8_session_output(s, o, &x);
        calib8_session_output(j->ref, o, &y);
        if (x.dtype != CALIB8_FLOAT || !c8_same_shape(&x, &y) || x.rank < 1 || x.dims[0] < rows) continue;
        int64_t per = c8_numel(&x) / x.dims[0];
        c8_similarity_add(&sim, (const float *)y.data + r * per, (const float *)x.data + r * per, per);
      }
      acc += fmax(0.0, c8_similarity_cosine(&sim));
    }
    n += rows;
  }
  if (!st && n == 0) st = c8_error(CALIB8_INVALID_ARGUMENT, "calibration set '%s' holds no samples", calib8_dataset_spec(j->ds));
  if (!st) *score = acc / (double)n;
  return st;
}

c8_status c8_judge_score(const c8_judge *j, calib8_session *s, double *score) {
  double v = 0;
  c8_status st;
  if (j->sc) {
    int64_t count;
    st = c8_score(j->sc, s, &v, &count);
  } else if (j->fn) {
    st = j->fn(j->user, s, &v);
    if (!st && !isfinite(v)) st = c8_error(CALIB8_INVALID_ARGUMENT, "the score callback returned %g, not a finite score", v);
  } else {
    st = cosine_on_dataset(j, s, &v);
  }
  if (!st) *score = v;
  return st;
}

/* ---- setup ------------------------------------------------------------------------------------------------ */

/* The FP32 conversion check: calib8's optimized graph against the graph as written, on the first batch. */
static c8_status fp32_check(c8_search *S) {
  c8_status st = rewind_calib(S);
  return st ? st : calib8_fp32_check(S->s, S->m, S->calib, S->o.fp32_diff, S->o.threads, NULL);
}

c8_status c8_search_calibrate(c8_search *S, calib8_session *s, c8_calibration **out, bool means) {
  c8_status st = rewind_calib(S);
  if (st || (st = c8_calibration_create(s, out))) return st;
  if (means && (st = c8_calibration_enable_means(*out))) return st;
  int64_t total = calib8_dataset_count(S->calib);
  for (;;) {
    calib8_batch b;
    if ((st = calib8_dataset_next(S->calib, &b)) || !b.rows) break;
    if ((st = c8_calibration_run(*out, s, b.n_inputs, b.names, b.inputs))) break;
    progress(S, "calibrating", (*out)->samples, total);
  }
  if (!st && (*out)->samples == 0)
    st = c8_error(CALIB8_INVALID_ARGUMENT, "calibration set '%s' holds no samples", calib8_dataset_spec(S->calib));
  return st;
}

static c8_status check_options(const calib8_model *m, calib8_dataset *calib, const calib8_search_options *o,
                               bool search);

/* Sessions, the FP32 check and the calibration: what the search and the sensitivity ranking share. */
static c8_status prepare(c8_search *S, const calib8_model *m, calib8_dataset *calib, const calib8_search_options *o) {
  memset(S, 0, sizeof *S);
  S->m = m;
  S->calib = calib;
  S->o = *o;
  S->full = o->mode == CALIB8_SEARCH_FULL;
  S->best = -1;
  S->eq_pairs = -1;
  S->n_ranking = -1;
  if (o->evaluator) S->judge.sc = &o->evaluator->sc;
  else S->judge.fn = o->score, S->judge.user = o->score_user;
  calib8_session_options so = calib8_session_options_default();
  so.threads = o->threads;
  c8_status st = calib8_session_create(m, &so, &S->s);
  if (st) return st;
  S->g = S->s->g;
  S->fp32_a = c8_calloc((size_t)S->g->n_nodes + 1, 1);
  S->fp32_b = c8_calloc((size_t)S->g->n_nodes + 1, 1);
  S->ranking = c8_calloc((size_t)S->g->n_nodes + 1, sizeof *S->ranking);
  if (!S->fp32_a || !S->fp32_b || !S->ranking) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory");
  if ((st = fp32_check(S))) return st;
  double t0 = c8_now();
  st = c8_search_calibrate(S, S->s, &S->cal, S->full);
  S->t_cal = c8_now() - t0;
  return st;
}

static c8_status check_options(const calib8_model *m, calib8_dataset *calib, const calib8_search_options *o,
                               bool search) {
  if (!m || !calib || !o) return c8_error(CALIB8_INVALID_ARGUMENT, "the search needs a model, a dataset and options");
  if (o->evaluator && o->score)
    return c8_error(CALIB8_INVALID_ARGUMENT, "search options: give an evaluator or a score callback, not both");
  if (o->mode != CALIB8_SEARCH_FAST && o->mode != CALIB8_SEARCH_FULL)
    return c8_error(CALIB8_INVALID_ARGUMENT, "search options: mode %d is not fast or full", (int)o->mode);
  if (!(o->fp32_diff >= 0)) return c8_error(CALIB8_INVALID_ARGUMENT, "search options: fp32_diff %g is negative", o->fp32_diff);
  if (!search) return CALIB8_OK;
  if (!o->evaluator && !o->score)
    return c8_error(CALIB8_INVALID_ARGUMENT, "search options: the search needs an evaluator or a score callback");
  if (!o->output) return c8_error(CALIB8_INVALID_ARGUMENT, "search options: output (the model path) is required");
  if (!(o->max_drop >= 0) || !isfinite(o->max_drop))
    return c8_error(CALIB8_INVALID_ARGUMENT, "search options: max_drop %g is not a non-negative number", o->max_drop);
  if (o->max_trials < 0 || o->max_trials > C8_SEARCH_TRIAL_CAP)
    return c8_error(CALIB8_INVALID_ARGUMENT, "search options: max_trials %d is not in [0, %d]", o->max_trials,
                    C8_SEARCH_TRIAL_CAP);
  if (o->have_fp32_score && !isfinite(o->fp32_score))
    return c8_error(CALIB8_INVALID_ARGUMENT, "search options: fp32_score %g is not finite", o->fp32_score);
  return CALIB8_OK;
}

c8_status c8_search_prepare(c8_search *S, const calib8_model *m, calib8_dataset *calib, const calib8_search_options *o) {
  memset(S, 0, sizeof *S);
  c8_status st = check_options(m, calib, o, false);
  return st ? st : prepare(S, m, calib, o);
}

/* True when a and b name the same existing file. */
static bool same_file(const char *a, const char *b) {
  char ra[PATH_MAX], rb[PATH_MAX];
  return a && b && realpath(a, ra) && realpath(b, rb) && !strcmp(ra, rb);
}

c8_status c8_search_log_load(c8_search *S) {
  FILE *f = fopen(S->log_path, "r");
  if (!f) return c8_error(CALIB8_IO, "--resume: cannot open the trial log '%s'", S->log_path);
  S->log = cJSON_CreateArray();
  char *line = c8_malloc(1 << 16);
  int lineno = 0;
  c8_status st = S->log && line ? CALIB8_OK : c8_error(CALIB8_OUT_OF_MEMORY, "out of memory reading the trial log");
  while (!st && fgets(line, 1 << 16, f)) {
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
  c8_mfree(line);
  fclose(f);
  return st;
}

c8_status c8_search_open(c8_search *S, const calib8_model *m, calib8_dataset *calib, const calib8_search_options *o) {
  memset(S, 0, sizeof *S);
  c8_status st = check_options(m, calib, o, true);
  if (st) return st;
  char base[C8_SEARCH_PATH];
  snprintf(base, sizeof base, "%s", o->output);
  char *dot = strrchr(base, '.');
  if (dot && !strcmp(dot, ".onnx")) *dot = 0;
  char qtable[C8_SEARCH_PATH + 16], table[C8_SEARCH_PATH + 16], log[C8_SEARCH_PATH + 16];
  snprintf(qtable, sizeof qtable, "%s.qtable", base);
  snprintf(table, sizeof table, "%s.table", base);
  snprintf(log, sizeof log, "%s.trials.jsonl", base);
  const char *outs[] = {o->output, o->qtable ? o->qtable : qtable, o->table ? o->table : table, o->log ? o->log : log,
                        o->json};
  for (int i = 0; i < 5; i++) {
    if (outs[i] && strlen(outs[i]) >= C8_SEARCH_PATH)
      return c8_error(CALIB8_INVALID_ARGUMENT, "output path '%.60s...' is too long", outs[i]);
    if (same_file(m->path, outs[i]))
      return c8_error(CALIB8_INVALID_ARGUMENT, "output '%s' is the input model; calib8 never overwrites an input", outs[i]);
  }
  st = prepare(S, m, calib, o);
  S->o.metric_name = o->metric_name ? o->metric_name : o->evaluator ? calib8_metric_name(o->evaluator->sc.metric) : "score";
  snprintf(S->qtable, sizeof S->qtable, "%s", outs[1]);
  snprintf(S->table, sizeof S->table, "%s", outs[2]);
  snprintf(S->log_path, sizeof S->log_path, "%s", outs[3]);
  if (st) return st;
  if (S->full) {
    int layers = 0;
    for (int i = 0; i < S->g->n_nodes; i++) layers += c8_op_is_int8_compute(S->g->nodes[i].op_type);
    S->split_trials = c8_search_split_trials(layers);
    S->max_trials = C8_SEARCH_MAX_TRIALS_FULL + S->split_trials;
    /* a caller's cap counts every trial: the split point keeps at most half of it */
    if (o->max_trials) {
      S->max_trials = o->max_trials;
      if (S->split_trials > o->max_trials / 2) S->split_trials = o->max_trials / 2;
    }
  } else {
    S->max_trials = o->max_trials ? o->max_trials : C8_SEARCH_MAX_TRIALS_FAST;
  }
  if (o->resume) {
    if ((st = c8_search_log_load(S))) return st;
  } else {
    remove(S->log_path); /* a new search starts a new log */
  }
  /* the FP32 score */
  if (o->have_fp32_score) {
    S->fp32_score = o->fp32_score;
  } else {
    const cJSON *e = c8_search_log_find(S, "kind", "fp32");
    const cJSON *v = e ? cJSON_GetObjectItemCaseSensitive(e, "score") : NULL;
    if (cJSON_IsNumber(v)) {
      S->fp32_score = v->valuedouble;
    } else {
      double t0 = c8_now();
      c8_search_scoring = "fp32";
      st = c8_judge_score(&S->judge, S->s, &S->fp32_score);
      c8_search_scoring = NULL;
      if (st) return st;
      /* agreement of the FP32 model with itself is 1 by definition (the cosine form may round below) */
      if (S->judge.sc && S->judge.sc->metric == CALIB8_METRIC_SIMILARITY) S->fp32_score = 1.0;
      cJSON *le = cJSON_CreateObject();
      if (!le) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory");
      cJSON_AddStringToObject(le, "kind", "fp32");
      cJSON_AddNumberToObject(le, "score", S->fp32_score);
      cJSON_AddNumberToObject(le, "seconds", c8_now() - t0);
      st = c8_search_log_append(S, le);
      cJSON_Delete(le);
      if (st) return st;
    }
  }
  char line[512];
  snprintf(line, sizeof line, "FP32 %s %.4f; budget: drop <= %.4f; calibration %.2f s on %lld samples; mode %s",
           S->o.metric_name, S->fp32_score, S->o.max_drop, S->t_cal, (long long)S->cal->samples,
           S->full ? "full" : "fast");
  message(S, line);
  return CALIB8_OK;
}

void c8_search_close(c8_search *S) {
  c8_qplan_destroy(S->best_plan);
  c8_graph_destroy(S->best_qdq);
  c8_calibration_destroy(S->cal);
  c8_calibration_destroy(S->eq_cal);
  calib8_session_destroy(S->eq_s);
  calib8_session_destroy(S->s);
  cJSON_Delete(S->log);
  c8_mfree(S->fp32_a);
  c8_mfree(S->fp32_b);
  c8_mfree(S->ranking);
  memset(S, 0, sizeof *S);
}

/* ---- trials ----------------------------------------------------------------------------------------------- */

static void strategy_key(const c8_search *S, const c8_strategy *st, char *key, size_t size) {
  /* dwmax only when set: the keys of earlier logs stay what they were */
  size_t n = (size_t)snprintf(key, size, "method=%s gran=%d weights=%d per_tensor=%d bc=%d cle=%d%s fp32=",
                              c8_threshold_method_name(st->method), st->gran, st->weights, st->per_tensor_method,
                              st->bias_correction, st->equalized, st->depthwise_max ? " dwmax=1" : "");
  for (int i = 0; i < S->g->n_nodes && n < size; i++)
    if (st->fp32 && st->fp32[i]) n += (size_t)snprintf(key + n, size - n, "%d,", i);
}

static int count_fp32_compute(const c8_qplan *p) {
  int n = 0;
  for (int i = 0; i < p->n_nodes; i++)
    n += c8_op_is_int8_compute(p->g->nodes[i].op_type) && p->node_prec[i] != C8_PREC_INT8;
  return n;
}

/* Builds plan + QDQ graph for a strategy, on the equalized graph when it says so (same node ids). */
static c8_status build(const c8_search *S, const c8_strategy *stg, c8_qplan **plan, c8_graph **qdq) {
  const calib8_session *s = stg->equalized ? S->eq_s : S->s;
  const c8_calibration *cal = stg->equalized ? S->eq_cal : S->cal;
  if (!s || !cal) return c8_error(CALIB8_INTERNAL, "strategy '%s' needs the equalized graph, which was not built", stg->desc);
  const c8_graph *g = s->g;
  c8_precision *prec = c8_calloc((size_t)g->n_nodes + 1, sizeof *prec);
  int *vm = stg->per_tensor_method ? c8_choose_methods(cal)
           : stg->depthwise_max   ? c8_malloc(sizeof(int) * ((size_t)cal->n_values + 1))
                                  : NULL;
  c8_status rc;
  *plan = NULL;
  *qdq = NULL;
  if (!prec || ((stg->per_tensor_method || stg->depthwise_max) && !vm)) {
    c8_mfree(prec);
    c8_mfree(vm);
    return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory");
  }
  if (stg->depthwise_max) {
    if (!stg->per_tensor_method)
      for (int v = 0; v < cal->n_values; v++) vm[v] = -1;
    for (int i = 0; i < g->n_nodes; i++)
      if (c8_search_is_depthwise(g, i) && g->nodes[i].in[0] >= 0) vm[g->nodes[i].in[0]] = C8_THRESHOLD_MAX;
  }
  for (int i = 0; i < g->n_nodes; i++) prec[i] = stg->fp32 && stg->fp32[i] ? C8_PREC_FP32 : C8_PREC_AUTO;
  c8_quant_options q = c8_quant_options_default();
  q.method = stg->method;
  q.granularity = stg->gran;
  q.weights = stg->weights;
  q.node_precision = prec;
  q.value_method = vm;
  q.bias_correction = stg->bias_correction;
  q.pool = s->pool; /* thresholds on the session's threads; the plan does not depend on it */
  rc = c8_qplan_build(g, cal, &q, plan);
  if (!rc) {
    (*plan)->opts.node_precision = NULL; /* prec is freed below; the plan keeps its own node_prec */
    (*plan)->opts.value_method = NULL;
    c8_qplan_count_macs(*plan, c8_session_plan(S->s));
    rc = c8_qdq_build(*plan, qdq);
  }
  c8_mfree(prec);
  c8_mfree(vm);
  return rc;
}

static c8_status score_graph(const c8_search *S, const c8_judge *j, const c8_graph *qdq, double *score) {
  calib8_session_options so = calib8_session_options_default();
  so.threads = S->o.threads;
  calib8_session *qs = NULL;
  c8_status st = c8_session_create_from_graph(qdq, &so, &qs);
  if (!st) st = c8_judge_score(j, qs, score);
  calib8_session_destroy(qs);
  return st;
}

bool c8_search_better(const c8_trial_rec *a, const c8_trial_rec *b) {
  if (a->meets != b->meets) return a->meets;
  if (a->meets && a->n_fp32 != b->n_fp32) return a->n_fp32 < b->n_fp32;
  return a->score > b->score;
}

c8_status c8_search_write_best(c8_search *S) {
  /* one set: a failed write leaves the previous best's three files as they were, never a mix */
  c8_status st = c8_file_set_begin();
  if (st) return st;
  c8_onnx_write_options wo = {.producer = "calib8 auto"};
  if (!(st = c8_onnx_write(S->best_qdq, &wo, S->o.output)) && !(st = c8_qtable_write(S->best_plan, S->qtable)))
    st = c8_calib_table_write(S->best_plan, S->best_cal, S->table);
  if (st) c8_file_set_abort();
  else st = c8_file_set_commit();
  return st;
}

c8_status c8_search_log_append(c8_search *S, cJSON *entry) {
  char *line = cJSON_PrintUnformatted(entry);
  if (!line) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory");
  FILE *f = fopen(S->log_path, "a");
  if (!f) {
    cJSON_free(line);
    return c8_error(CALIB8_IO, "cannot append to the trial log '%s'", S->log_path);
  }
  fprintf(f, "%s\n", line);
  bool ok = fflush(f) == 0;
  ok = fclose(f) == 0 && ok;
  cJSON_free(line);
  return ok ? CALIB8_OK : c8_error(CALIB8_IO, "cannot write the trial log '%s'", S->log_path);
}

const cJSON *c8_search_log_find(const c8_search *S, const char *field, const char *value) {
  if (!S->log) return NULL;
  const cJSON *e;
  cJSON_ArrayForEach(e, S->log) {
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(e, field);
    if (cJSON_IsString(k) && !strcmp(k->valuestring, value)) return e;
  }
  return NULL;
}

static void report(const c8_search *S, int idx) {
  if (!S->o.on_trial) return;
  const c8_trial_rec *t = &S->trials[idx];
  calib8_trial r = {.index = idx + 1,
                    .strategy = t->desc,
                    .score = t->score,
                    .drop = t->drop,
                    .seconds = t->seconds,
                    .int8_macs = t->int8_macs,
                    .fp32_layers = t->n_fp32,
                    .within_budget = t->meets,
                    .replayed = t->replayed};
  S->o.on_trial(S->o.user, &r);
}

int c8_search_trials_left(const c8_search *S) {
  int cap = S->max_trials - (S->in_reserve ? 0 : S->split_trials);
  if (cap > C8_SEARCH_TRIAL_CAP) cap = C8_SEARCH_TRIAL_CAP;
  return cap > S->n_trials ? cap - S->n_trials : 0;
}

int c8_search_split_trials(int layers) {
  int k = 0;
  while (k < C8_SEARCH_SPLIT_MAX && (1 << k) < layers) k++;
  return k < C8_SEARCH_SPLIT_MIN ? C8_SEARCH_SPLIT_MIN : k;
}

bool c8_search_is_depthwise(const c8_graph *g, int node) {
  const c8_node *n = &g->nodes[node];
  return !strcmp(n->op_type, "Conv") && c8_attr_int(n, "group", 1) > 1;
}

c8_status c8_search_try(c8_search *S, const c8_strategy *stg, int *idx) {
  if (c8_search_trials_left(S) <= 0) {
    *idx = -1;
    return CALIB8_OK;
  }
  c8_trial_rec *t = &S->trials[S->n_trials];
  memset(t, 0, sizeof *t);
  strategy_key(S, stg, t->key, sizeof t->key);
  for (int i = 0; i < S->n_trials; i++)
    if (!strcmp(S->trials[i].key, t->key)) { /* the same strategy twice: reuse */
      *idx = i;
      return CALIB8_OK;
    }
  snprintf(t->desc, sizeof t->desc, "%s", stg->desc);
  double t0 = c8_now();
  c8_qplan *plan = NULL;
  c8_graph *qdq = NULL;
  c8_status st = build(S, stg, &plan, &qdq);
  if (st) goto out;
  t->n_fp32 = count_fp32_compute(plan);
  t->int8_macs = plan->macs_total ? (double)plan->macs_int8 / (double)plan->macs_total : 0.0;
  const cJSON *logged = c8_search_log_find(S, "key", t->key);
  const cJSON *ls = logged ? cJSON_GetObjectItemCaseSensitive(logged, "score") : NULL;
  const cJSON *lt = logged ? cJSON_GetObjectItemCaseSensitive(logged, "seconds") : NULL;
  if (cJSON_IsNumber(ls) && cJSON_IsNumber(lt)) {
    t->score = ls->valuedouble;
    t->seconds = lt->valuedouble;
    t->replayed = true;
  } else {
    c8_search_scoring = t->desc;
    st = score_graph(S, &S->judge, qdq, &t->score);
    c8_search_scoring = NULL;
    if (st) goto out;
    t->seconds = c8_now() - t0;
  }
  t->drop = S->fp32_score - t->score;
  t->meets = t->drop <= S->o.max_drop + 1e-12;
  int i = S->n_trials++;
  report(S, i);
  if (S->best < 0 || c8_search_better(t, &S->trials[S->best])) {
    S->best = i;
    c8_qplan_destroy(S->best_plan);
    c8_graph_destroy(S->best_qdq);
    S->best_plan = plan;
    S->best_qdq = qdq;
    S->best_cal = stg->equalized ? S->eq_cal : S->cal;
    plan = NULL;
    qdq = NULL;
    if ((st = c8_search_write_best(S))) goto out;
  }
  if (!t->replayed) {
    cJSON *e = cJSON_CreateObject();
    if (!e) {
      st = c8_error(CALIB8_OUT_OF_MEMORY, "out of memory");
      goto out;
    }
    cJSON_AddNumberToObject(e, "trial", i + 1);
    cJSON_AddStringToObject(e, "key", t->key);
    cJSON_AddStringToObject(e, "strategy", t->desc);
    cJSON_AddNumberToObject(e, "score", t->score);
    cJSON_AddNumberToObject(e, "drop", t->drop);
    cJSON_AddNumberToObject(e, "seconds", t->seconds);
    cJSON_AddNumberToObject(e, "fp32_layers", t->n_fp32);
    st = c8_search_log_append(S, e);
    cJSON_Delete(e);
  }
  if (!st) *idx = i;
out:
  c8_qplan_destroy(plan);
  c8_graph_destroy(qdq);
  return st;
}

/* ---- sensitivity ------------------------------------------------------------------------------------------ */

static int by_loss_desc(const void *a, const void *b) {
  const c8_rank *x = a, *y = b;
  if (x->loss != y->loss) return x->loss < y->loss ? 1 : -1;
  return x->node - y->node;
}

c8_status c8_search_rank_layers(c8_search *S, c8_threshold_method method, bool all_methods, const c8_judge *j,
                                double fp32, c8_rank *out, int *n_out) {
  const c8_graph *g = S->g;
  int n = 0, total = 0, done = 0;
  unsigned char *set = c8_calloc((size_t)g->n_nodes + 1, 1);
  if (!set) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory");
  for (int i = 0; i < g->n_nodes; i++) total += c8_op_is_int8_compute(g->nodes[i].op_type);
  total *= all_methods ? C8_THRESHOLD_SEARCHED : 1;
  c8_status st = CALIB8_OK;
  for (int i = 0; i < g->n_nodes && !st; i++) {
    if (!c8_op_is_int8_compute(g->nodes[i].op_type)) continue;
    for (int k = 0; k < g->n_nodes; k++) set[k] = c8_op_is_int8_compute(g->nodes[k].op_type) && k != i;
    out[n].node = i;
    out[n].loss = INFINITY;
    out[n].best_method = method;
    for (int m = 0; m < C8_THRESHOLD_SEARCHED && !st; m++) {
      if (!all_methods && m != (int)method) continue;
      if (cancelled(S)) {
        st = c8_error(CALIB8_CANCELLED, "the sensitivity ranking was cancelled after %d of %d layers", n,
                      total / (all_methods ? C8_THRESHOLD_SEARCHED : 1));
        break;
      }
      c8_strategy stg = {.method = (c8_threshold_method)m, .gran = C8_GRAN_PER_CHANNEL, .fp32 = set};
      c8_qplan *plan = NULL;
      c8_graph *qdq = NULL;
      double score = 0.0;
      if (!(st = build(S, &stg, &plan, &qdq))) {
        if (plan->node_prec[i] != C8_PREC_INT8) score = fp32; /* cannot be INT8: no loss */
        else st = score_graph(S, j, qdq, &score);
      }
      c8_qplan_destroy(plan);
      c8_graph_destroy(qdq);
      double loss = fp32 - score;
      if (!st && loss < out[n].loss) out[n].loss = loss, out[n].best_method = (c8_threshold_method)m;
      progress(S, "sensitivity", ++done, total);
    }
    n++;
  }
  c8_mfree(set);
  if (!st) {
    qsort(out, (size_t)n, sizeof *out, by_loss_desc);
    *n_out = n;
  }
  return st;
}

/* ---- the driver ------------------------------------------------------------------------------------------- */

c8_status c8_search_step_run(c8_search *S, const c8_search_step *step, bool *finished) {
  c8_step_ctx ctx;
  memset(&ctx, 0, sizeof ctx);
  ctx.last = -1;
  c8_status st = CALIB8_OK;
  *finished = false;
  S->in_reserve = step->reserved;
  for (;;) {
    if (cancelled(S)) {
      st = S->best >= 0 ? c8_error(CALIB8_CANCELLED, "the search was cancelled after %d trials; the best so far is in '%s'",
                                   S->n_trials, S->o.output)
                        : c8_error(CALIB8_CANCELLED, "the search was cancelled before its first trial");
      break;
    }
    c8_strategy stg;
    bool proposed = false;
    memset(&stg, 0, sizeof stg);
    if ((st = step->propose(S, &ctx, &stg, &proposed)) || !proposed) break;
    int idx;
    if ((st = c8_search_try(S, &stg, &idx))) break;
    if (idx < 0) { /* no trials left: for the search, or (full mode) before the split point's own */
      *finished = S->in_reserve || S->split_trials == 0;
      break;
    }
    ctx.last = idx;
    ctx.round++;
    const c8_trial_rec *t = &S->trials[idx];
    if ((step->stop == C8_STOP_WITHIN_BUDGET && t->meets) ||
        (step->stop == C8_STOP_ALL_INT8_IN_FULL && t->meets && (!S->full || t->n_fp32 == 0))) {
      *finished = true;
      break;
    }
  }
  c8_mfree(ctx.order);
  S->in_reserve = false;
  return st;
}

static char *search_json_text(c8_search *S) {
  const c8_graph *g = S->g;
  const c8_trial_rec *b = &S->trials[S->best];
  cJSON *root = c8_summary_json(S->best_plan, S->best_cal, S->m->graph, S->best_qdq);
  if (!root) return NULL;
  cJSON_AddStringToObject(root, "model", S->o.model_path ? S->o.model_path : S->m->path);
  cJSON_AddStringToObject(root, "output", S->o.output);
  cJSON_AddStringToObject(root, "metric", S->o.metric_name);
  cJSON_AddNumberToObject(root, "fp32_score", S->fp32_score);
  cJSON_AddNumberToObject(root, "max_drop", S->o.max_drop);
  cJSON_AddStringToObject(root, "mode", S->full ? "full" : "fast");
  cJSON_AddNumberToObject(root, "calibration_seconds", S->t_cal);
  double search_s = 0;
  for (int i = 0; i < S->n_trials; i++) search_s += S->trials[i].seconds;
  cJSON_AddNumberToObject(root, "search_seconds", search_s);
  c8_summary_add_sizes(root, S->best_plan, S->best_qdq, S->o.model_path ? S->o.model_path : S->m->path);
  if (S->o.evaluator) c8_predictions_add(root, S->o.evaluator, S->s, S->best_qdq, S->o.threads);
  cJSON *arr = cJSON_AddArrayToObject(root, "trials");
  for (int i = 0; i < S->n_trials; i++) {
    const c8_trial_rec *t = &S->trials[i];
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
  return text;
}

static c8_status write_json(c8_search *S) {
  char *text = search_json_text(S);
  if (!text) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory");
  c8_status st = c8_write_file_atomic(S->o.json, text, strlen(text));
  cJSON_free(text);
  return st;
}

/* The HTML report of the chosen trial: its summary, plan and calibration, with every trial. A failure is kept
   in the result, never the run's status. */
static void write_report(c8_search *S, calib8_search_result *out) {
  char *text = search_json_text(S);
  c8_status st = text ? CALIB8_OK : c8_error(CALIB8_OUT_OF_MEMORY, "out of memory building the report");
  if (!st) {
    struct calib8_calibration cw = {.cal = (c8_calibration *)S->best_cal};
    struct calib8_qplan pw = {.p = S->best_plan};
    calib8_report_input in = {.summary_json = text, .plan = &pw, .calibration = &cw};
    st = calib8_report_write(&in, S->o.report);
  }
  cJSON_free(text);
  out->report_status = st;
  if (st) snprintf(out->report_error, sizeof out->report_error, "%s", calib8_last_error());
}

calib8_status calib8_search_run(const calib8_model *model, calib8_dataset *calib, const calib8_search_options *options,
                                calib8_search_result *out) {
  if (!out) return c8_error(CALIB8_INVALID_ARGUMENT, "calib8_search_run needs a result to fill");
  c8_search *S = c8_calloc(1, sizeof *S);
  if (!S) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory");
  c8_status st = c8_search_open(S, model, calib, options);
  bool finished = false;
  for (int k = 0; !st && !finished && k < c8_search_n_steps; k++)
    if (c8_search_steps[k].modes & (S->full ? C8_MODE_FULL : C8_MODE_FAST))
      st = c8_search_step_run(S, &c8_search_steps[k], &finished);
  if (!st && S->best < 0) st = c8_error(CALIB8_INTERNAL, "the search ran no trial");
  if (!st && S->o.json) st = write_json(S);
  if (!st) {
    const c8_trial_rec *b = &S->trials[S->best];
    memset(out, 0, sizeof *out);
    snprintf(out->strategy, sizeof out->strategy, "%s", b->desc);
    out->fp32_score = S->fp32_score;
    out->n_trials = S->n_trials;
    out->calibration_seconds = S->t_cal;
    out->calibration_samples = S->cal->samples;
    out->choice = (calib8_trial){.index = S->best + 1,
                                 .strategy = out->strategy,
                                 .score = b->score,
                                 .drop = b->drop,
                                 .seconds = b->seconds,
                                 .int8_macs = b->int8_macs,
                                 .fp32_layers = b->n_fp32,
                                 .within_budget = b->meets,
                                 .replayed = b->replayed};
    snprintf(out->qtable, sizeof out->qtable, "%s", S->qtable);
    snprintf(out->table, sizeof out->table, "%s", S->table);
    snprintf(out->log, sizeof out->log, "%s", S->log_path);
    if (S->o.report) write_report(S, out);
    if (!b->meets)
      st = c8_error(CALIB8_BUDGET_NOT_MET,
                    "no trial met the budget (drop <= %.4f); the best one (trial %d, drop %+.4f) was written to '%s'",
                    S->o.max_drop, S->best + 1, b->drop, S->o.output);
  }
  c8_search_close(S);
  c8_mfree(S);
  return st;
}
