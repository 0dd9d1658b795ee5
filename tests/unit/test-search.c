/* The automatic search (calib8/search.h, src/search): each step of the strategy table, the trial rules, the trial
 * log, cancellation and errors, on the LeNet with an activation outlier, scored by a fake callback whose scores
 * follow the call order (so every rule can be steered and every scoring counted). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "search/search.h"

#define MODEL "tests/auto/fixtures/lenet_outlier.onnx"
#define MOBILENET "tests/models/fmnist_mobilenet.onnx" /* depthwise convolutions, ReLU6 */
#define DATA "examples/fmnist"
#define PP "mean_value=72.94,std_value=90.0"

static char tmp[64];

typedef struct fake {
  int calls;
  const double *scores; /* by call; the last one repeats */
  int n;
  int fail_at;          /* 1-based call that fails (0: none) */
} fake;

static calib8_status fake_score(void *user, calib8_session *s, double *score) {
  fake *f = user;
  (void)s;
  int k = f->calls++;
  if (f->fail_at && f->calls == f->fail_at) return calib8_set_error(CALIB8_IO, "fake scorer: the metric server is down");
  *score = f->scores[k < f->n ? k : f->n - 1];
  return CALIB8_OK;
}

typedef struct events {
  int trials, replayed, messages, cancel_after;
  char last_message[512];
  char strategies[32][200];
} events;

static void on_trial(void *user, const calib8_trial *t) {
  events *e = user;
  if (e->trials < 32) snprintf(e->strategies[e->trials], sizeof e->strategies[0], "%s", t->strategy);
  e->trials++;
  e->replayed += t->replayed;
}
static void on_message(void *user, const char *line) {
  events *e = user;
  e->messages++;
  snprintf(e->last_message, sizeof e->last_message, "%s", line);
}
static int cancel_after(void *user) {
  events *e = user;
  return e->cancel_after && e->trials >= e->cancel_after;
}

static calib8_model *model;
static calib8_dataset *calib;

static void open_data(void) {
  if (calib8_model_load(MODEL, &model)) {
    fprintf(stderr, "%s\n", calib8_last_error());
    exit(1);
  }
  calib8_dataset_options o = calib8_dataset_options_default();
  o.preprocess = PP;
  o.limit = 32;
  const char *src = DATA;
  if (calib8_dataset_open(model, 1, &src, &o, &calib)) {
    fprintf(stderr, "%s\n", calib8_last_error());
    exit(1);
  }
}

static char out_path[128];

static calib8_search_options opts(fake *f, events *e, calib8_search_mode mode) {
  calib8_search_options o = calib8_search_options_default();
  o.mode = mode;
  o.score = fake_score;
  o.score_user = f;
  o.have_fp32_score = 1;
  o.fp32_score = 0.9;
  o.output = out_path;
  o.threads = 1;
  o.on_trial = on_trial;
  o.on_message = on_message;
  o.cancel = cancel_after;
  o.user = e;
  return o;
}

static void fresh_output(const char *name) {
  snprintf(out_path, sizeof out_path, "%s/%s.onnx", tmp, name);
}

static bool exists(const char *path) { return access(path, F_OK) == 0; }

static void test_options(void) {
  calib8_search_options o = calib8_search_options_default();
  CHECK_NEAR(o.max_drop, 0.005, 0);
  CHECK_NEAR(o.fp32_diff, 1e-3, 0);
  CHECK_EQ_INT(o.mode, CALIB8_SEARCH_FAST);
  calib8_search_result r;
  fake f = {.scores = (double[]){0.5}, .n = 1};
  events e = {0};
  fresh_output("opts");
  o = opts(&f, &e, CALIB8_SEARCH_FAST);
  o.output = NULL;
  CHECK_EQ_INT(calib8_search_run(model, calib, &o, &r), CALIB8_INVALID_ARGUMENT);
  CHECK_STR_CONTAINS(calib8_last_error(), "output");
  o = opts(&f, &e, CALIB8_SEARCH_FAST);
  o.score = NULL;
  CHECK_EQ_INT(calib8_search_run(model, calib, &o, &r), CALIB8_INVALID_ARGUMENT);
  o = opts(&f, &e, CALIB8_SEARCH_FAST);
  o.output = MODEL;
  CHECK_EQ_INT(calib8_search_run(model, calib, &o, &r), CALIB8_INVALID_ARGUMENT);
  CHECK_STR_CONTAINS(calib8_last_error(), "never overwrites");
  o = opts(&f, &e, CALIB8_SEARCH_FAST);
  o.max_trials = 99;
  CHECK_EQ_INT(calib8_search_run(model, calib, &o, &r), CALIB8_INVALID_ARGUMENT);
  CHECK_EQ_INT(f.calls, 0);
}

static void test_table(void) {
  int fast = 0, full = 0;
  for (int i = 0; i < c8_search_n_steps; i++) {
    CHECK(c8_search_steps[i].name && c8_search_steps[i].propose);
    fast += !!(c8_search_steps[i].modes & C8_MODE_FAST);
    full += !!(c8_search_steps[i].modes & C8_MODE_FULL);
  }
  CHECK_EQ_INT(fast, 5);
  CHECK_EQ_INT(full, 7);
  CHECK(!strcmp(c8_search_steps[0].name, "threshold methods"));
  CHECK(!strcmp(c8_search_steps[c8_search_n_steps - 1].name, "split point"));
  /* only the split point draws on the trials reserved for it; equalization comes before any layer is reverted */
  int eq = -1, most = -1;
  for (int i = 0; i < c8_search_n_steps; i++) {
    CHECK_EQ_INT(c8_search_steps[i].reserved, i == c8_search_n_steps - 1);
    if (!strcmp(c8_search_steps[i].name, "equalization")) eq = i;
    if (!strcmp(c8_search_steps[i].name, "most sensitive FP32")) most = i;
  }
  CHECK(eq >= 0 && most > eq);
  /* the split point's own trials: ceil(log2(layers)) within [4, 8] */
  CHECK_EQ_INT(c8_search_split_trials(1), 4);
  CHECK_EQ_INT(c8_search_split_trials(5), 4);
  CHECK_EQ_INT(c8_search_split_trials(16), 4);
  CHECK_EQ_INT(c8_search_split_trials(17), 5);
  CHECK_EQ_INT(c8_search_split_trials(40), 6);
  CHECK_EQ_INT(c8_search_split_trials(100000), 8);
}

static void test_better(void) {
  c8_trial_rec a = {.meets = true, .n_fp32 = 1, .score = 0.5}, b = {.meets = false, .n_fp32 = 0, .score = 0.9};
  CHECK(c8_search_better(&a, &b)); /* within budget beats outside it */
  CHECK(!c8_search_better(&b, &a));
  b.meets = true;
  CHECK(c8_search_better(&b, &a)); /* then the fewest FP32 layers, whatever the score */
  b.n_fp32 = 1;
  CHECK(c8_search_better(&b, &a)); /* then the score */
  a.meets = b.meets = false;
  a.n_fp32 = 0, b.n_fp32 = 3;
  CHECK(c8_search_better(&b, &a)); /* outside the budget only the score counts */
}

static const c8_search_step *step_named(const char *name) {
  for (int i = 0; i < c8_search_n_steps; i++)
    if (!strcmp(c8_search_steps[i].name, name)) return &c8_search_steps[i];
  return NULL;
}

/* The methods step proposes five strategies (max last); the per-tensor step one, and a trial within budget ends the search
 * (the budget is inclusive). A strategy tried twice is not scored twice. */
static void test_methods_and_budget(void) {
  fake f = {.scores = (double[]){0.5, 0.6, 0.5, 0.5, 0.5, 0.9 - 0.005}, .n = 6};
  events e = {0};
  fresh_output("methods");
  calib8_search_options o = opts(&f, &e, CALIB8_SEARCH_FAST);
  c8_search S;
  bool finished = true;
  CHECK_EQ_INT(c8_search_open(&S, model, calib, &o), CALIB8_OK);
  CHECK_EQ_INT(f.calls, 0); /* the FP32 score was given */
  CHECK_STR_CONTAINS(e.last_message, "FP32 score 0.9000; budget: drop <= 0.0050; calibration");
  CHECK_STR_CONTAINS(e.last_message, "on 32 samples; mode fast");
  CHECK_EQ_INT(c8_search_step_run(&S, step_named("threshold methods"), &finished), CALIB8_OK);
  CHECK(!finished);
  CHECK_EQ_INT(S.n_trials, 5);
  CHECK_EQ_INT(f.calls, 5);
  CHECK(!strcmp(e.strategies[0], "kl, per-channel") && !strcmp(e.strategies[1], "mse, per-channel") &&
        !strcmp(e.strategies[2], "percentile, per-channel") && !strcmp(e.strategies[3], "aciq, per-channel") &&
        !strcmp(e.strategies[4], "max, per-channel"));
  CHECK_EQ_INT(S.best, 1);
  CHECK(exists(out_path));
  /* the same strategies again: reused, not scored */
  CHECK_EQ_INT(c8_search_step_run(&S, step_named("threshold methods"), &finished), CALIB8_OK);
  CHECK_EQ_INT(S.n_trials, 5);
  CHECK_EQ_INT(f.calls, 5);
  CHECK_EQ_INT(e.trials, 5);
  CHECK_EQ_INT(c8_search_step_run(&S, step_named("method per tensor"), &finished), CALIB8_OK);
  CHECK(finished); /* drop 0.005 <= 0.005 */
  CHECK_EQ_INT(S.n_trials, 6);
  CHECK(S.trials[5].meets);
  CHECK_EQ_INT(S.best, 5);
  CHECK(!strcmp(S.trials[5].desc, "method per tensor, per-channel"));
  c8_search_close(&S);
}

/* Fast mode's FP32 steps build on the best base so far. */
static void test_fast_fp32_steps(void) {
  fake f = {.scores = (double[]){0.5, 0.6, 0.5, 0.5, 0.5, 0.5}, .n = 6};
  events e = {0};
  fresh_output("fastfp32");
  calib8_search_options o = opts(&f, &e, CALIB8_SEARCH_FAST);
  c8_search S;
  bool finished;
  CHECK_EQ_INT(c8_search_open(&S, model, calib, &o), CALIB8_OK);
  /* before the methods ran there is no base */
  CHECK_EQ_INT(c8_search_step_run(&S, step_named("first layer FP32"), &finished), CALIB8_INVALID_ARGUMENT);
  c8_search_step_run(&S, step_named("threshold methods"), &finished);
  CHECK_EQ_INT(c8_search_step_run(&S, step_named("first layer FP32"), &finished), CALIB8_OK);
  CHECK_EQ_INT(S.n_trials, 6);
  CHECK(!strcmp(S.trials[5].desc, "mse, per-channel + first layer FP32"));
  CHECK_EQ_INT(S.trials[5].n_fp32, 1);
  CHECK_EQ_INT(c8_search_step_run(&S, step_named("heads FP32"), &finished), CALIB8_OK);
  CHECK(!strcmp(S.trials[6].desc, "mse, per-channel + heads FP32"));
  CHECK_EQ_INT(S.trials[6].n_fp32, 1); /* the last Gemm */
  CHECK_EQ_INT(c8_search_step_run(&S, step_named("depthwise"), &finished), CALIB8_OK);
  CHECK_EQ_INT(S.n_trials, 8); /* no depthwise convolution: one trial, per-tensor weights */
  CHECK(!strcmp(S.trials[7].desc, "mse, per-tensor"));
  CHECK_EQ_INT(S.trials[7].n_fp32, 0);
  CHECK_EQ_INT(f.calls, 8);
  c8_search_close(&S);
}

/* Full mode to the end of its budget: every step in order, the ranking message, the bias-correction base. */
static void test_full_run(void) {
  fake f = {.scores = (double[]){0.5}, .n = 1};
  events e = {0};
  fresh_output("full");
  calib8_search_options o = opts(&f, &e, CALIB8_SEARCH_FULL);
  calib8_search_result r;
  CHECK_EQ_INT(calib8_search_run(model, calib, &o, &r), CALIB8_BUDGET_NOT_MET);
  CHECK_STR_CONTAINS(calib8_last_error(), "no trial met the budget (drop <= 0.0050)");
  /* 5 methods, per tensor, bias correction, equalization, 4 most sensitive: the 12 before the split point, which
     then needs 2 of its 4 own trials on 5 layers when nothing meets the budget */
  CHECK_EQ_INT(r.n_trials, C8_SEARCH_MAX_TRIALS_FULL + 2);
  CHECK_EQ_INT(f.calls, C8_SEARCH_MAX_TRIALS_FULL + 2);
  CHECK_EQ_INT(r.choice.index, 1); /* all equal: the first stays best */
  CHECK(!r.choice.within_budget);
  CHECK(!strcmp(r.choice.strategy, "kl, per-channel"));
  CHECK(!strcmp(e.strategies[5], "method per tensor, per-channel"));
  CHECK(!strcmp(e.strategies[6], "kl, per-channel + bias correction"));
  CHECK_STR_CONTAINS(e.strategies[7], "kl, per-channel + equalization (");
  CHECK(!strcmp(e.strategies[8], "kl, per-channel + 1 most sensitive FP32"));
  CHECK(!strcmp(e.strategies[11], "kl, per-channel + 4 most sensitive FP32"));
  CHECK_STR_CONTAINS(e.strategies[12], "kl, per-channel + FP32 from layer 3 of 5");
  CHECK_STR_CONTAINS(e.strategies[13], "kl, per-channel + FP32 from layer 2 of 5");
  CHECK_EQ_INT(e.messages, 2);
  CHECK_STR_CONTAINS(e.last_message, "most sensitive layers: ");
  CHECK(exists(out_path) && exists(r.qtable) && exists(r.table) && exists(r.log));
}

/* Full mode finds the all-INT8 answer when one exists: equalization comes before any layer is reverted, and an
 * all-INT8 trial within budget ends the search (the rule: fewest FP32 layers first). */
static void test_full_all_int8(void) {
  /* 5 methods, per tensor and bias correction miss; equalization meets */
  fake f = {.scores = (double[]){0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.9}, .n = 8};
  events e = {0};
  fresh_output("fullint8");
  calib8_search_options o = opts(&f, &e, CALIB8_SEARCH_FULL);
  calib8_search_result r;
  CHECK_EQ_INT(calib8_search_run(model, calib, &o, &r), CALIB8_OK);
  CHECK_EQ_INT(r.n_trials, 8);
  CHECK_EQ_INT(f.calls, 8);
  CHECK_EQ_INT(r.choice.index, 8);
  CHECK_EQ_INT(r.choice.fp32_layers, 0);
  CHECK(r.choice.within_budget);
  CHECK_STR_CONTAINS(r.choice.strategy, "kl, per-channel + equalization (");
  CHECK_EQ_INT(e.messages, 1); /* no sensitivity ranking was needed */
}

static calib8_model *mobilenet;
static calib8_dataset *mobilenet_calib;

static void open_mobilenet(void) {
  calib8_dataset_options o = calib8_dataset_options_default();
  o.preprocess = PP;
  o.limit = 32;
  const char *src = DATA;
  if (calib8_model_load(MOBILENET, &mobilenet) || calib8_dataset_open(mobilenet, 1, &src, &o, &mobilenet_calib)) {
    fprintf(stderr, "%s\n", calib8_last_error());
    exit(1);
  }
}

/* Fast mode's depthwise step on a MobileNet: first auto_calib's accuracy_opt treatment (per-channel weights, MAX
 * thresholds on the depthwise inputs, every layer INT8), then the depthwise convolutions in FP32. */
static void test_fast_depthwise(void) {
  fake f = {.scores = (double[]){0.5, 0.5, 0.5, 0.5, 0.5, 0.7, 0.6}, .n = 7};
  events e = {0};
  fresh_output("dw");
  calib8_search_options o = opts(&f, &e, CALIB8_SEARCH_FAST);
  c8_search S;
  bool finished;
  CHECK_EQ_INT(c8_search_open(&S, mobilenet, mobilenet_calib, &o), CALIB8_OK);
  int dw = 0, layers = 0;
  for (int i = 0; i < S.g->n_nodes; i++) dw += c8_search_is_depthwise(S.g, i), layers += c8_op_is_int8_compute(S.g->nodes[i].op_type);
  CHECK(dw >= 8);
  c8_search_step_run(&S, step_named("threshold methods"), &finished);
  CHECK_EQ_INT(c8_search_step_run(&S, step_named("depthwise"), &finished), CALIB8_OK);
  CHECK_EQ_INT(S.n_trials, 7);
  CHECK(!strcmp(S.trials[5].desc, "kl, per-channel + depthwise inputs max"));
  CHECK_EQ_INT(S.trials[5].n_fp32, 0);
  CHECK(!strcmp(S.trials[6].desc, "kl, per-channel + depthwise FP32"));
  CHECK_EQ_INT(S.trials[6].n_fp32, dw);
  CHECK_EQ_INT(S.best, 5);
  /* the best plan is the accuracy_opt one: MAX on every depthwise input, KL elsewhere, weights per channel */
  int checked = 0, kl_below_max = 0;
  for (int i = 0; i < S.g->n_nodes; i++) {
    int x = S.g->nodes[i].in[0];
    if (!c8_op_is_int8_compute(S.g->nodes[i].op_type) || S.best_plan->node_prec[i] != C8_PREC_INT8) continue;
    double mx = c8_threshold_max(S.cal->hist[x]);
    if (c8_search_is_depthwise(S.g, i)) {
      CHECK_NEAR(S.best_plan->tq[x].threshold, mx, 1e-5 * mx);
      checked++;
    } else {
      kl_below_max += S.best_plan->tq[x].threshold < mx * (1 - 1e-6);
    }
  }
  CHECK_EQ_INT(checked, dw);
  CHECK(kl_below_max > 0); /* the other inputs kept the base's method */
  CHECK_EQ_INT(S.best_plan->opts.granularity, C8_GRAN_PER_CHANNEL);
  c8_search_close(&S);
}

/* The clip-aware threshold on the MobileNet's ReLU6 outputs (Clip 0..6): where the calibration data piles up at 6
 * (more than 0.01 % of the values in the last bin below it) no method's threshold goes below 6; elsewhere the
 * method's own threshold stands. KL alone cuts some of those piles, so the rule is seen to act. */
static void test_clip_bound(void) {
  fake f = {.scores = (double[]){0.5}, .n = 1};
  events e = {0};
  fresh_output("clip");
  calib8_search_options o = opts(&f, &e, CALIB8_SEARCH_FAST);
  c8_search S;
  CHECK_EQ_INT(c8_search_open(&S, mobilenet, mobilenet_calib, &o), CALIB8_OK);
  const c8_threshold_method methods[] = {C8_THRESHOLD_KL, C8_THRESHOLD_PERCENTILE, C8_THRESHOLD_MSE};
  int lifted = 0, piles = 0, clips = 0;
  for (int mi = 0; mi < 3; mi++) {
    c8_quant_options q = c8_quant_options_default();
    q.method = methods[mi];
    c8_qplan *plan = NULL;
    CHECK_EQ_INT(c8_qplan_build(S.g, S.cal, &q, &plan), CALIB8_OK);
    for (int k = 0; plan && k < S.g->n_nodes; k++) {
      const c8_node *n = &S.g->nodes[k];
      int v = n->out[0];
      if (strcmp(n->op_type, "Clip") || !plan->tq[v].quantized) continue;
      const c8_histogram *h = S.cal->hist[v];
      uint64_t bins[C8_HIST_BINS], at = 0;
      double w = c8_histogram_abs(h, bins);
      for (int j = (int)floor(6.0 / w) - 1; j < C8_HIST_BINS; j++) at += j >= 0 ? bins[j] : 0;
      c8_threshold_options to = c8_threshold_options_default();
      to.levels = 255;
      double own = c8_threshold_compute(methods[mi], h, &to);
      clips++;
      if ((double)at / (double)h->count >= 1e-4) {
        piles++;
        CHECK_NEAR(plan->tq[v].threshold, c8_threshold_max(h), 1e-5);
        CHECK_NEAR(c8_threshold_max(h), 6.0, 1e-6);
        lifted += own < 6.0 - 1e-3;
      } else {
        CHECK_NEAR(plan->tq[v].threshold, own, 1e-5 * own);
      }
    }
    c8_qplan_destroy(plan);
  }
  CHECK(clips >= 3 * 16);
  CHECK(piles > 0);
  CHECK(lifted > 0); /* KL (at least) would have cut a pile */
  c8_search_close(&S);
}

/* Full mode's split point gets at least 4 bisection steps of its own, whatever the steps before it used: on the
 * MobileNet (more than 16 compute layers) with nothing meeting the budget, and with a caller's cap. */
static void test_split_budget(void) {
  fake f = {.scores = (double[]){0.5}, .n = 1};
  events e = {0};
  fresh_output("splitbudget");
  calib8_search_options o = opts(&f, &e, CALIB8_SEARCH_FULL);
  calib8_search_result r;
  CHECK_EQ_INT(calib8_search_run(mobilenet, mobilenet_calib, &o, &r), CALIB8_BUDGET_NOT_MET);
  int split = 0;
  for (int i = 0; i < e.trials && i < 32; i++) split += strstr(e.strategies[i], "FP32 from layer") != NULL;
  CHECK(split >= 4);
  CHECK_EQ_INT(r.n_trials, C8_SEARCH_MAX_TRIALS_FULL + split);
  CHECK(r.n_trials <= C8_SEARCH_MAX_TRIALS_FULL + C8_SEARCH_SPLIT_MAX);
  /* a cap of 10: the split point keeps up to half of it, the steps before it stop earlier */
  fake g = {.scores = (double[]){0.5}, .n = 1};
  events e2 = {0};
  fresh_output("splitcap");
  o = opts(&g, &e2, CALIB8_SEARCH_FULL);
  o.max_trials = 10;
  CHECK_EQ_INT(calib8_search_run(mobilenet, mobilenet_calib, &o, &r), CALIB8_BUDGET_NOT_MET);
  CHECK(r.n_trials <= 10);
  split = 0;
  for (int i = 0; i < e2.trials; i++) split += strstr(e2.strategies[i], "FP32 from layer") != NULL;
  CHECK(split >= 4);
  CHECK(r.n_trials - split >= 5); /* the five methods ran before */
}

/* The split-point bisection with outcomes set by hand: it finds the largest split within budget in at most
 * ceil(log2(layers)) proposals, and each proposal keeps everything from its split point on in FP32. */
static void test_bisection(void) {
  fake f = {.scores = (double[]){0.5}, .n = 1};
  events e = {0};
  fresh_output("split");
  calib8_search_options o = opts(&f, &e, CALIB8_SEARCH_FULL);
  c8_search S;
  bool finished;
  CHECK_EQ_INT(c8_search_open(&S, model, calib, &o), CALIB8_OK);
  c8_search_step_run(&S, step_named("threshold methods"), &finished);
  const c8_search_step *split = step_named("split point");
  c8_step_ctx ctx = {.last = -1};
  c8_strategy st;
  bool proposed;
  CHECK_EQ_INT(split->propose(&S, &ctx, &st, &proposed), CALIB8_INVALID_ARGUMENT); /* needs the ranking */
  S.n_ranking = 0;
  S.base = S.tried[0];
  for (int good = 0; good <= 5; good++) { /* splits <= good meet the budget */
    memset(&ctx, 0, sizeof ctx);
    ctx.last = -1;
    int proposals = 0;
    for (;;) {
      proposed = false;
      CHECK_EQ_INT(split->propose(&S, &ctx, &st, &proposed), CALIB8_OK);
      if (!proposed) break;
      proposals++;
      CHECK(ctx.lo < ctx.mid && ctx.mid < ctx.hi);
      int first_fp32 = -1, n_set = 0;
      for (int i = 0; i < S.g->n_nodes; i++) {
        if (st.fp32[i] && first_fp32 < 0) first_fp32 = i;
        n_set += st.fp32[i];
      }
      CHECK_EQ_INT(first_fp32, ctx.order[ctx.mid]);
      CHECK_EQ_INT(n_set, S.g->n_nodes - first_fp32);
      S.trials[31].meets = ctx.mid <= good; /* the outcome */
      ctx.last = 31;
      ctx.round++;
    }
    CHECK_EQ_INT(ctx.n_order, 5);
    CHECK(proposals <= 3);
    CHECK_EQ_INT(ctx.lo, good < 4 ? good : 4);
    CHECK_EQ_INT(ctx.hi, ctx.lo + 1);
    free(ctx.order);
  }
  c8_search_close(&S);
}

/* max_trials bounds the search; budget not met still writes the best and fills the result. */
static void test_max_trials(void) {
  fake f = {.scores = (double[]){0.5, 0.7, 0.6}, .n = 3};
  events e = {0};
  fresh_output("max");
  calib8_search_options o = opts(&f, &e, CALIB8_SEARCH_FAST);
  o.max_trials = 3;
  calib8_search_result r;
  CHECK_EQ_INT(calib8_search_run(model, calib, &o, &r), CALIB8_BUDGET_NOT_MET);
  CHECK_EQ_INT(r.n_trials, 3);
  CHECK_EQ_INT(r.choice.index, 2);
  CHECK_NEAR(r.choice.score, 0.7, 1e-12);
  CHECK_NEAR(r.choice.drop, 0.2, 1e-12);
  CHECK_NEAR(r.fp32_score, 0.9, 0);
  CHECK_EQ_INT(r.calibration_samples, 32);
  CHECK(!strcmp(r.choice.strategy, "mse, per-channel"));
  char want[160];
  snprintf(want, sizeof want, "%s/max.qtable", tmp);
  CHECK(!strcmp(r.qtable, want));
  CHECK(exists(out_path) && exists(r.qtable) && exists(r.table));
}

static int count_lines(const char *path) {
  FILE *fp = fopen(path, "r");
  int n = 0, c;
  while (fp && (c = fgetc(fp)) != EOF) n += c == '\n';
  if (fp) fclose(fp);
  return n;
}

/* A resumed search replays its log: nothing is scored again, the choice is the same; a torn last line is
 * ignored, a broken line before it is an error. */
static void test_resume(void) {
  fake f = {.scores = (double[]){0.9, 0.5, 0.6, 0.896}, .n = 4};
  events e = {0};
  fresh_output("resume");
  calib8_search_options o = opts(&f, &e, CALIB8_SEARCH_FAST);
  o.have_fp32_score = 0; /* scored once, by the callback, and logged */
  calib8_search_result r1, r2;
  CHECK_EQ_INT(calib8_search_run(model, calib, &o, &r1), CALIB8_OK);
  CHECK_EQ_INT(f.calls, 4);
  CHECK_EQ_INT(r1.choice.index, 3);
  CHECK_EQ_INT(count_lines(r1.log), 4); /* fp32 + 3 trials */
  fake g = {.scores = (double[]){0.1}, .n = 1};
  events e2 = {0};
  o = opts(&g, &e2, CALIB8_SEARCH_FAST);
  o.have_fp32_score = 0;
  o.resume = 1;
  CHECK_EQ_INT(calib8_search_run(model, calib, &o, &r2), CALIB8_OK);
  CHECK_EQ_INT(g.calls, 0);
  CHECK_EQ_INT(e2.replayed, 3);
  CHECK_EQ_INT(r2.choice.index, 3);
  CHECK_NEAR(r2.choice.score, 0.896, 0);
  CHECK_NEAR(r2.fp32_score, 0.9, 0);
  CHECK_EQ_INT(count_lines(r1.log), 4); /* replayed trials are not logged again */
  /* a kill while writing: a torn last line */
  FILE *fp = fopen(r1.log, "a");
  fputs("{\"trial\":4,\"key\":\"method=kl gr", fp);
  fclose(fp);
  memset(&e2, 0, sizeof e2);
  CHECK_EQ_INT(calib8_search_run(model, calib, &o, &r2), CALIB8_OK);
  CHECK_EQ_INT(g.calls, 0);
  CHECK_EQ_INT(e2.replayed, 3);
  /* the same damage before the end is not a crash's: an error naming the line */
  fp = fopen(r1.log, "a");
  fputs("\n{\"kind\":\"other\"}\n", fp);
  fclose(fp);
  CHECK_EQ_INT(calib8_search_run(model, calib, &o, &r2), CALIB8_INVALID_ARGUMENT);
  CHECK_STR_CONTAINS(calib8_last_error(), "line 5 is not JSON");
  /* resume without a log */
  fresh_output("nolog");
  o.output = out_path;
  CHECK_EQ_INT(calib8_search_run(model, calib, &o, &r2), CALIB8_IO);
  CHECK_STR_CONTAINS(calib8_last_error(), "cannot open the trial log");
}

/* Cancellation between trials: CALIB8_CANCELLED, the best model so far written, the log kept. */
static void test_cancel(void) {
  fake f = {.scores = (double[]){0.5, 0.6, 0.5}, .n = 3};
  events e = {.cancel_after = 2};
  fresh_output("cancel");
  calib8_search_options o = opts(&f, &e, CALIB8_SEARCH_FAST);
  calib8_search_result r = {.n_trials = -7};
  CHECK_EQ_INT(calib8_search_run(model, calib, &o, &r), CALIB8_CANCELLED);
  CHECK_STR_CONTAINS(calib8_last_error(), "cancelled after 2 trials");
  CHECK_EQ_INT(f.calls, 2);
  CHECK_EQ_INT(r.n_trials, -7); /* outputs only on success */
  CHECK(exists(out_path));
  char log[160];
  snprintf(log, sizeof log, "%s/cancel.trials.jsonl", tmp);
  CHECK_EQ_INT(count_lines(log), 2);
}

/* The score callback's error is the search's. */
static void test_score_error(void) {
  fake f = {.scores = (double[]){0.5}, .n = 1, .fail_at = 2};
  events e = {0};
  fresh_output("err");
  calib8_search_options o = opts(&f, &e, CALIB8_SEARCH_FAST);
  calib8_search_result r;
  CHECK_EQ_INT(calib8_search_run(model, calib, &o, &r), CALIB8_IO);
  CHECK_STR_CONTAINS(calib8_last_error(), "metric server is down");
  CHECK_EQ_INT(e.trials, 1);
  f = (fake){.scores = (double[]){NAN}, .n = 1};
  CHECK_EQ_INT(calib8_search_run(model, calib, &o, &r), CALIB8_INVALID_ARGUMENT);
  CHECK_STR_CONTAINS(calib8_last_error(), "not a finite score");
}

static float zeros[28 * 28];
static calib8_status one_batch(void *user, calib8_batch *b) {
  int *left = user;
  if (!(*left)--) return CALIB8_OK;
  b->n_inputs = 1;
  b->inputs[0] = (calib8_tensor){CALIB8_FLOAT, 4, {1, 1, 28, 28}, zeros};
  b->rows = 1;
  return CALIB8_OK;
}

/* The search reads the calibration set more than once: a one-pass source is a clear error, before any work. */
static void test_one_pass(void) {
  int left = 1;
  calib8_batch_source src = {.next = one_batch, .user = &left};
  calib8_dataset *ds = NULL;
  CHECK_EQ_INT(calib8_dataset_from_source(model, &src, &ds), CALIB8_OK);
  fake f = {.scores = (double[]){0.5}, .n = 1};
  events e = {0};
  fresh_output("onepass");
  calib8_search_options o = opts(&f, &e, CALIB8_SEARCH_FAST);
  calib8_search_result r;
  CHECK_EQ_INT(calib8_search_run(model, ds, &o, &r), CALIB8_INVALID_ARGUMENT);
  CHECK_STR_CONTAINS(calib8_last_error(), "more than once");
  CHECK_STR_CONTAINS(calib8_last_error(), "read once only");
  CHECK_EQ_INT(f.calls, 0);
  CHECK(!exists(out_path));
  calib8_dataset_close(ds);
}

/* Scoring through an evaluator (the CLI's way): a real top-1 on the demo set, and the JSON summary. */
static void test_evaluator(void) {
  calib8_evaluator *ev = c8_calloc(1, sizeof *ev);
  bool has = false;
  CHECK_EQ_INT(c8_preprocess_from(PP, NULL, &ev->pp, &has), CALIB8_OK);
  CHECK_EQ_INT(c8_scorer_init(&ev->sc, CALIB8_METRIC_TOP1, model, DATA, &ev->pp, DATA "/labels.txt", 0, 0), CALIB8_OK);
  events e = {0};
  fresh_output("ev");
  calib8_search_options o = calib8_search_options_default();
  o.evaluator = ev;
  o.output = out_path;
  o.max_trials = 1;
  o.threads = 1;
  char json[160];
  snprintf(json, sizeof json, "%s/ev.json", tmp);
  o.json = json;
  o.on_message = on_message;
  o.user = &e;
  calib8_search_result r;
  calib8_status st = calib8_search_run(model, calib, &o, &r);
  CHECK(st == CALIB8_OK || st == CALIB8_BUDGET_NOT_MET);
  CHECK(r.fp32_score > 0.8 && r.fp32_score <= 1.0);
  CHECK(r.choice.score > 0.0 && r.choice.score <= 1.0);
  CHECK_STR_CONTAINS(e.last_message, "FP32 top1 ");
  CHECK(exists(json));
  c8_scorer_free(&ev->sc);
  c8_mfree(ev);
}

static void test_sensitivity(void) {
  calib8_search_options o = calib8_search_options_default();
  o.threads = 1;
  calib8_sensitivity *rank = NULL;
  CHECK_EQ_INT(calib8_sensitivity_run(model, calib, &o, &rank), CALIB8_OK);
  CHECK_EQ_INT(calib8_sensitivity_count(rank), 5);
  calib8_sensitivity_row a, b, z;
  CHECK_EQ_INT(calib8_sensitivity_row_at(rank, 0, &a), CALIB8_OK);
  CHECK_EQ_INT(calib8_sensitivity_row_at(rank, 1, &b), CALIB8_OK);
  CHECK_EQ_INT(calib8_sensitivity_row_at(rank, 4, &z), CALIB8_OK);
  /* the two layers the outlier hurts come first */
  CHECK((!strcmp(a.layer, "/c1/Conv") && !strcmp(b.layer, "/c2/Conv")) ||
        (!strcmp(a.layer, "/c2/Conv") && !strcmp(b.layer, "/c1/Conv")));
  CHECK(!strcmp(a.op, "Conv"));
  CHECK(a.loss >= b.loss && b.loss >= z.loss);
  CHECK(a.best_method >= 0 && a.best_method < CALIB8_METHOD_COUNT);
  CHECK_EQ_INT(calib8_sensitivity_row_at(rank, 5, &a), CALIB8_INVALID_ARGUMENT);
  char path[160];
  snprintf(path, sizeof path, "%s/top2.qtable", tmp);
  CHECK_EQ_INT(calib8_sensitivity_write_qtable(rank, 2, path), CALIB8_OK);
  CHECK_EQ_INT(count_lines(path), 3);
  calib8_sensitivity_destroy(rank);
  calib8_sensitivity_destroy(NULL);
  /* with a score callback: the loss is the drop from the callback's FP32 score */
  fake f = {.scores = (double[]){0.9, 0.8}, .n = 2};
  o.score = fake_score;
  o.score_user = &f;
  CHECK_EQ_INT(calib8_sensitivity_run(model, calib, &o, &rank), CALIB8_OK);
  CHECK_EQ_INT(f.calls, 1 + 5 * CALIB8_METHOD_ADMM); /* the searched methods: MAX to ACIQ */
  CHECK_EQ_INT(calib8_sensitivity_row_at(rank, 0, &a), CALIB8_OK);
  CHECK_NEAR(a.loss, 0.1, 1e-12);
  calib8_sensitivity_destroy(rank);
}

int main(void) {
  snprintf(tmp, sizeof tmp, "/tmp/c8-search-XXXXXX");
  if (!mkdtemp(tmp)) return 1;
  open_data();
  CHECK_RUN(test_options);
  CHECK_RUN(test_table);
  CHECK_RUN(test_better);
  CHECK_RUN(test_methods_and_budget);
  CHECK_RUN(test_fast_fp32_steps);
  CHECK_RUN(test_full_run);
  CHECK_RUN(test_full_all_int8);
  CHECK_RUN(test_bisection);
  open_mobilenet();
  CHECK_RUN(test_fast_depthwise);
  CHECK_RUN(test_clip_bound);
  CHECK_RUN(test_split_budget);
  calib8_dataset_close(mobilenet_calib);
  calib8_model_destroy(mobilenet);
  CHECK_RUN(test_max_trials);
  CHECK_RUN(test_resume);
  CHECK_RUN(test_cancel);
  CHECK_RUN(test_score_error);
  CHECK_RUN(test_one_pass);
  CHECK_RUN(test_evaluator);
  CHECK_RUN(test_sensitivity);
  calib8_dataset_close(calib);
  calib8_model_destroy(model);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
  if (system(cmd)) fprintf(stderr, "could not remove %s\n", tmp);
  fprintf(stderr, "%d checks, %d failed\n", check_count, check_failures);
  return check_failures != 0;
}
