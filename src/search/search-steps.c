/* The strategies of the search as a table of steps (docs/auto.md). Each step proposes strategies from the search
 * state; the driver (c8_search_step_run) tries them and applies the step's stopping rule. */
#include <stdio.h>
#include <string.h>

#include "core/clock.h"
#include "search/search.h"

/* The strategy of the best trial so far among the bases tried (its method/granularity/weights; FP32 sets are not
 * inherited). A best trial that is not a base (it has an FP32 set) gives the first base, as it always has. */
static c8_strategy best_base(const c8_search *S) {
  c8_strategy b = S->tried[0];
  for (int i = 0; i < S->n_tried; i++)
    if (S->best >= 0 && !strcmp(S->tried[i].desc, S->trials[S->best].desc)) b = S->tried[i];
  b.fp32 = NULL;
  return b;
}

static void with_fp32(c8_strategy *dst, const c8_strategy *base, const unsigned char *fp32, const char *what) {
  *dst = *base;
  dst->fp32 = fp32;
  snprintf(dst->desc, sizeof dst->desc, "%s + %s", base->desc, what);
}

static c8_status add_base(c8_search *S, const c8_strategy *s) {
  if (S->n_tried == (int)(sizeof S->tried / sizeof S->tried[0]))
    return c8_error(CALIB8_INTERNAL, "more than %d base strategies", S->n_tried);
  S->tried[S->n_tried++] = *s;
  return CALIB8_OK;
}

static c8_status need_base(const c8_search *S) {
  return S->n_tried > 0 ? CALIB8_OK
                        : c8_error(CALIB8_INVALID_ARGUMENT, "this search step builds on the threshold methods' trials, which did not run");
}

/* 1-5: threshold methods, per-channel weights. MAX comes last: it clips nothing, so it wins where every clipping
 * method cuts something the model needs (and it is what auto_calib users try first by hand). */
static c8_status propose_methods(c8_search *S, c8_step_ctx *ctx, c8_strategy *out, bool *proposed) {
  static const c8_threshold_method methods[] = {C8_THRESHOLD_KL, C8_THRESHOLD_MSE, C8_THRESHOLD_PERCENTILE,
                                                C8_THRESHOLD_ACIQ, C8_THRESHOLD_MAX};
  if (ctx->round >= (int)(sizeof methods / sizeof methods[0])) return CALIB8_OK;
  *out = (c8_strategy){.method = methods[ctx->round], .gran = C8_GRAN_PER_CHANNEL, .weights = C8_WEIGHTS_MINMAX};
  snprintf(out->desc, sizeof out->desc, "%s, per-channel", c8_threshold_method_name(out->method));
  *proposed = true;
  return add_base(S, out);
}

/* 5: a threshold method per tensor, by the lowest local error */
static c8_status propose_per_tensor(c8_search *S, c8_step_ctx *ctx, c8_strategy *out, bool *proposed) {
  if (ctx->round) return CALIB8_OK;
  *out = (c8_strategy){.method = C8_THRESHOLD_KL, .gran = C8_GRAN_PER_CHANNEL, .per_tensor_method = true};
  snprintf(out->desc, sizeof out->desc, "method per tensor, per-channel");
  *proposed = true;
  return add_base(S, out);
}

/* fast 6: the first convolution/matrix layer in FP32 */
static c8_status propose_first_layer(c8_search *S, c8_step_ctx *ctx, c8_strategy *out, bool *proposed) {
  c8_status st = need_base(S);
  if (st || ctx->round) return st;
  memset(S->fp32_a, 0, (size_t)S->g->n_nodes);
  for (int i = 0; i < S->g->n_nodes; i++)
    if (c8_op_is_int8_compute(S->g->nodes[i].op_type)) {
      S->fp32_a[i] = 1;
      break;
    }
  c8_strategy base = best_base(S);
  with_fp32(out, &base, S->fp32_a, "first layer FP32");
  *proposed = true;
  return CALIB8_OK;
}

/* fast 7: the detection heads (found structurally) in FP32 */
static c8_status propose_heads(c8_search *S, c8_step_ctx *ctx, c8_strategy *out, bool *proposed) {
  c8_status st = need_base(S);
  if (st || ctx->round) return st;
  bool *h = c8_calloc((size_t)S->g->n_nodes + 1, sizeof *h);
  if (!h || c8_find_heads(S->g, h) < 0) {
    c8_mfree(h);
    return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory");
  }
  for (int i = 0; i < S->g->n_nodes; i++) S->fp32_b[i] = h[i];
  c8_mfree(h);
  c8_strategy base = best_base(S);
  with_fp32(out, &base, S->fp32_b, "heads FP32");
  *proposed = true;
  return CALIB8_OK;
}

/* fast 9-10: depthwise convolutions, as auto_calib's accuracy_opt treats them before anything is reverted: their
 * weights per channel (a depthwise filter is a single channel, so per-tensor scales crush the small ones) and their
 * inputs with MAX thresholds (a depthwise layer has 9 weights per output: a clipped input value has nothing to be
 * averaged with); then, failing that, the depthwise convolutions in FP32. Without depthwise convolutions: the best
 * so far with per-tensor weights. */
static c8_status propose_depthwise(c8_search *S, c8_step_ctx *ctx, c8_strategy *out, bool *proposed) {
  c8_status st = need_base(S);
  if (st || ctx->round > 1) return st;
  memset(S->fp32_a, 0, (size_t)S->g->n_nodes);
  int dw = 0;
  for (int i = 0; i < S->g->n_nodes; i++)
    if (c8_search_is_depthwise(S->g, i)) S->fp32_a[i] = 1, dw++;
  c8_strategy base = best_base(S);
  if (dw && ctx->round == 0) {
    *out = base;
    out->gran = C8_GRAN_PER_CHANNEL;
    out->depthwise_max = true;
    snprintf(out->desc, sizeof out->desc, "%.150s + depthwise inputs max", base.desc);
  } else if (dw) {
    with_fp32(out, &base, S->fp32_a, "depthwise FP32");
  } else if (ctx->round == 0) {
    *out = base;
    out->gran = C8_GRAN_PER_TENSOR;
    snprintf(out->desc, sizeof out->desc, "%s, per-tensor", c8_threshold_method_name(base.method));
  } else {
    return CALIB8_OK;
  }
  *proposed = true;
  return CALIB8_OK;
}

/* full: the best so far with bias correction */
static c8_status propose_bias_correction(c8_search *S, c8_step_ctx *ctx, c8_strategy *out, bool *proposed) {
  c8_status st = need_base(S);
  if (st || ctx->round) return st;
  if (!S->cal->mean_axis)
    return c8_error(CALIB8_INVALID_ARGUMENT, "bias correction needs a calibration with channel means (full mode)");
  *out = best_base(S);
  out->bias_correction = true;
  snprintf(out->desc, sizeof out->desc, "%.150s + bias correction", S->best >= 0 ? S->trials[S->best].desc : out->desc);
  *proposed = true;
  return add_base(S, out);
}

/* full: the sensitivity ranking (no trial): each compute layer alone in INT8, label-free and cheap (cosine of the
 * outputs on the first 64 test samples, or calibration samples with the caller's score), or replayed from the log.
 * It fixes the base of the steps after it. */
static c8_status propose_ranking(c8_search *S, c8_step_ctx *ctx, c8_strategy *out, bool *proposed) {
  (void)ctx, (void)out, (void)proposed;
  c8_status st = need_base(S);
  if (st) return st;
  S->base = best_base(S);
  const c8_graph *g = S->g;
  int nr = 0;
  const cJSON *logged = c8_search_log_find(S, "kind", "sensitivity");
  if (logged) {
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(logged, "ranking"), *e;
    cJSON_ArrayForEach(e, arr) {
      const cJSON *node = cJSON_GetObjectItemCaseSensitive(e, "node"), *loss = cJSON_GetObjectItemCaseSensitive(e, "loss");
      if (!cJSON_IsNumber(node) || !cJSON_IsNumber(loss) || node->valuedouble < 0 || node->valuedouble >= g->n_nodes ||
          nr >= g->n_nodes)
        return c8_error(CALIB8_INVALID_ARGUMENT, "trial log '%s': the sensitivity ranking does not fit this model",
                        S->log_path);
      S->ranking[nr].node = (int)node->valuedouble;
      S->ranking[nr].loss = loss->valuedouble;
      nr++;
    }
  } else {
    c8_judge j = {0};
    c8_scorer rs;
    calib8_session_options so = calib8_session_options_default();
    so.threads = S->o.threads;
    calib8_session *ref = NULL;
    if ((st = calib8_session_create(S->m, &so, &ref))) return st;
    if (S->judge.sc) {
      const c8_scorer *sc = S->judge.sc;
      st = c8_scorer_init(&rs, CALIB8_METRIC_SIMILARITY, S->m, sc->test, sc->pp, NULL, sc->batch, 64);
      rs.reference = ref;
      rs.cosine_only = true;
      j.sc = &rs;
    } else {
      j.ds = S->calib;
      j.ref = ref;
      j.limit = 64;
    }
    if (!st) st = c8_search_rank_layers(S, S->base.method, false, &j, 1.0, S->ranking, &nr);
    if (S->judge.sc) c8_scorer_free(&rs);
    calib8_session_destroy(ref);
    if (st) return st;
    cJSON *le = cJSON_CreateObject(), *arr = le ? cJSON_AddArrayToObject(le, "ranking") : NULL;
    if (!arr) {
      cJSON_Delete(le);
      return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory");
    }
    cJSON_AddStringToObject(le, "kind", "sensitivity");
    for (int i = 0; i < nr; i++) {
      cJSON *e = cJSON_CreateObject();
      cJSON_AddNumberToObject(e, "node", S->ranking[i].node);
      cJSON_AddStringToObject(e, "layer", g->nodes[S->ranking[i].node].name);
      cJSON_AddNumberToObject(e, "loss", S->ranking[i].loss);
      cJSON_AddItemToArray(arr, e);
    }
    st = c8_search_log_append(S, le);
    cJSON_Delete(le);
    if (st) return st;
  }
  S->n_ranking = nr;
  char line[1024];
  size_t n = (size_t)snprintf(line, sizeof line, "most sensitive layers:");
  for (int i = 0; i < nr && i < 5 && n < sizeof line; i++)
    n += (size_t)snprintf(line + n, sizeof line - n, " %s (%.3g)", g->nodes[S->ranking[i].node].name, S->ranking[i].loss);
  if (S->o.on_message) S->o.on_message(S->o.user, line);
  return CALIB8_OK;
}

static c8_status need_ranking(const c8_search *S) {
  return S->n_ranking >= 0 ? CALIB8_OK
                           : c8_error(CALIB8_INVALID_ARGUMENT, "this search step needs the sensitivity ranking, which did not run");
}

/* full: the k most sensitive layers in FP32, k = 1, 2, 3, 4 (the stopping rule ends the search at the first within
 * budget) */
static c8_status propose_most_sensitive(c8_search *S, c8_step_ctx *ctx, c8_strategy *out, bool *proposed) {
  c8_status st = need_ranking(S);
  int k = ctx->round + 1;
  if (st || k > 4 || k > S->n_ranking) return st;
  memset(S->fp32_a, 0, (size_t)S->g->n_nodes);
  for (int i = 0; i < k; i++) S->fp32_a[S->ranking[i].node] = 1;
  char what[64];
  snprintf(what, sizeof what, "%d most sensitive FP32", k);
  with_fp32(out, &S->base, S->fp32_a, what);
  *proposed = true;
  return CALIB8_OK;
}

/* full: cross-layer equalization, before any layer is reverted: the search's rule is the fewest FP32 layers, and
 * equalization may need none. The equalized graph computes the same function but needs its own statistics, so it
 * is calibrated once more; node ids are unchanged, so FP32 sets carry over and it can be the base of the steps
 * after it. */
static c8_status propose_equalization(c8_search *S, c8_step_ctx *ctx, c8_strategy *out, bool *proposed) {
  c8_status st = need_base(S);
  if (st || ctx->round) return st;
  if (S->eq_pairs < 0) {
    c8_graph *eg = c8_graph_clone(S->g);
    int pairs = 0;
    if (!eg) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory");
    st = c8_graph_equalize(eg, 4, &pairs);
    if (!st && pairs > 0) {
      calib8_session_options so = calib8_session_options_default();
      so.threads = S->o.threads;
      st = c8_session_create_from_graph(eg, &so, &S->eq_s);
      if (!st && S->eq_s->g->n_nodes != S->g->n_nodes)
        st = c8_error(CALIB8_INTERNAL, "the equalized graph has %d nodes, the original %d", S->eq_s->g->n_nodes,
                      S->g->n_nodes);
      /* the calibration pass of the equalized graph (with channel means, as the first pass in full mode) */
      if (!st) st = c8_search_calibrate(S, S->eq_s, &S->eq_cal, true);
    }
    c8_graph_destroy(eg);
    if (st) return st;
    S->eq_pairs = pairs;
  }
  if (S->eq_pairs == 0) return CALIB8_OK;
  c8_strategy base = best_base(S);
  *out = base;
  out->equalized = true;
  snprintf(out->desc, sizeof out->desc, "%.140s + equalization (%d pairs)", base.desc, S->eq_pairs);
  *proposed = true;
  return add_base(S, out);
}

/* full: the split point: compute layers [0, split) INT8, the rest FP32; a bisection for the largest split within
 * budget with the trials left. Invariant: split lo meets the budget (0 layers INT8 trivially), split hi does not. */
static c8_status propose_split(c8_search *S, c8_step_ctx *ctx, c8_strategy *out, bool *proposed) {
  c8_status st = need_ranking(S);
  if (st) return st;
  const c8_graph *g = S->g;
  if (ctx->round == 0) {
    ctx->order = c8_malloc(sizeof(int) * ((size_t)g->n_nodes + 1));
    if (!ctx->order) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory");
    for (int i = 0; i < g->n_nodes; i++)
      if (c8_op_is_int8_compute(g->nodes[i].op_type)) ctx->order[ctx->n_order++] = i;
    ctx->lo = 0;
    ctx->hi = ctx->n_order;
  } else if (S->trials[ctx->last].meets) {
    ctx->lo = ctx->mid;
  } else {
    ctx->hi = ctx->mid;
  }
  if (ctx->hi - ctx->lo <= 1 || c8_search_trials_left(S) <= 0) return CALIB8_OK;
  ctx->mid = (ctx->lo + ctx->hi) / 2;
  memset(S->fp32_a, 0, (size_t)g->n_nodes);
  for (int i = ctx->order[ctx->mid]; i < g->n_nodes; i++) S->fp32_a[i] = 1; /* everything after the split point */
  char what[64];
  snprintf(what, sizeof what, "FP32 from layer %d of %d", ctx->mid + 1, ctx->n_order);
  with_fp32(out, &S->base, S->fp32_a, what);
  *proposed = true;
  return CALIB8_OK;
}

const c8_search_step c8_search_steps[] = {
    {"threshold methods", C8_MODE_FAST | C8_MODE_FULL, C8_STOP_ALL_INT8_IN_FULL, propose_methods, false},
    {"method per tensor", C8_MODE_FAST | C8_MODE_FULL, C8_STOP_ALL_INT8_IN_FULL, propose_per_tensor, false},
    {"first layer FP32", C8_MODE_FAST, C8_STOP_WITHIN_BUDGET, propose_first_layer, false},
    {"heads FP32", C8_MODE_FAST, C8_STOP_WITHIN_BUDGET, propose_heads, false},
    {"depthwise", C8_MODE_FAST, C8_STOP_WITHIN_BUDGET, propose_depthwise, false},
    {"bias correction", C8_MODE_FULL, C8_STOP_ALL_INT8_IN_FULL, propose_bias_correction, false},
    {"equalization", C8_MODE_FULL, C8_STOP_ALL_INT8_IN_FULL, propose_equalization, false},
    {"sensitivity ranking", C8_MODE_FULL, C8_STOP_NEVER, propose_ranking, false},
    {"most sensitive FP32", C8_MODE_FULL, C8_STOP_WITHIN_BUDGET, propose_most_sensitive, false},
    {"split point", C8_MODE_FULL, C8_STOP_NEVER, propose_split, true},
};
const int c8_search_n_steps = (int)(sizeof c8_search_steps / sizeof c8_search_steps[0]);
