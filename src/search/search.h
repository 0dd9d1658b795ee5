/* The automatic search behind calib8_search_run (include/calib8/search.h): its state, the trial rules and the
 * table of strategy steps. Exposed here so that tests can drive one step at a time. */
#ifndef C8_SEARCH_SEARCH_H
#define C8_SEARCH_SEARCH_H

#include <cjson/cJSON.h>
#include <limits.h>
#include <stdbool.h>

#include "evaluate/score.h"
#include "plan/qplan.h"

#define C8_SEARCH_MAX_TRIALS_FAST 10
/* Full mode: 12 trials for the steps before the split point, then the split point's bisection gets trials of its
 * own: ceil(log2(compute layers)), at least C8_SEARCH_SPLIT_MIN and at most C8_SEARCH_SPLIT_MAX (docs/auto.md). */
#define C8_SEARCH_MAX_TRIALS_FULL 12
#define C8_SEARCH_SPLIT_MIN 4
#define C8_SEARCH_SPLIT_MAX 8
#define C8_SEARCH_TRIAL_CAP 32
#define C8_SEARCH_PATH 4096

/* One quantization to try. */
typedef struct c8_strategy {
  c8_threshold_method method;
  c8_granularity gran;
  c8_weight_method weights;
  bool per_tensor_method; /* threshold method chosen per tensor by the lowest local error */
  bool bias_correction;   /* Nagel et al. 2019, 4.2 (src/export/bias-correct.h) */
  bool equalized;         /* on the cross-layer-equalized graph (Nagel et al. 2019, 4.1), calibrated anew */
  bool depthwise_max;     /* the inputs of depthwise convolutions take MAX thresholds (auto_calib's accuracy_opt) */
  const unsigned char *fp32; /* per node of the session graph: forced FP32 (NULL: none); borrowed */
  char desc[200];
} c8_strategy;

typedef struct c8_trial_rec {
  char key[4096]; /* what makes two strategies the same (the log matches trials by it) */
  char desc[200];
  double score, drop, seconds, int8_macs;
  int n_fp32; /* convolution/matrix layers kept in FP32 */
  bool meets;
  bool replayed; /* taken from the log of an earlier run */
} c8_trial_rec;

/* How a candidate is scored: the evaluator's scorer, the caller's callback, or (neither) the mean per-sample
 * cosine of the outputs against the FP32 session on the first `limit` samples of a dataset. */
typedef struct c8_judge {
  c8_scorer *sc;
  calib8_score_fn fn;
  void *user;
  calib8_dataset *ds;
  calib8_session *ref;
  int64_t limit;
} c8_judge;
c8_status c8_judge_score(const c8_judge *j, calib8_session *s, double *score);
/* While the search's own thread scores the FP32 model or a trial through the judge: "fp32" or the trial's
 * strategy, else NULL (src/serve reads it from its score callback to say what a round serves). */
extern _Thread_local const char *c8_search_scoring;

typedef struct c8_rank {
  int node;
  double loss;
  c8_threshold_method best_method;
} c8_rank;

typedef struct c8_search {
  const calib8_model *m;
  calib8_dataset *calib;
  calib8_search_options o;
  bool full;
  int max_trials;   /* every trial, the split point's included */
  int split_trials; /* of max_trials, those only the split point's bisection may use */
  bool in_reserve;  /* the step running may use them */
  c8_judge judge;
  /* state */
  calib8_session *s;  /* the FP32 session (optimized graph) that was calibrated */
  const c8_graph *g;  /* its graph: strategies' FP32 sets are indexed by its nodes */
  c8_calibration *cal;
  calib8_session *eq_s; /* the equalized graph's session and calibration (full mode), once built */
  c8_calibration *eq_cal;
  int eq_pairs;        /* -1 until equalization was tried */
  double fp32_score, t_cal;
  c8_trial_rec trials[C8_SEARCH_TRIAL_CAP];
  int n_trials, best;
  c8_strategy tried[16]; /* strategies without FP32 sets, the bases later steps build on */
  int n_tried;
  c8_strategy base;      /* full mode: the base of the steps after the ranking */
  c8_rank *ranking;
  int n_ranking;         /* -1 until ranked */
  unsigned char *fp32_a, *fp32_b; /* per-node scratch sets the steps propose */
  cJSON *log;            /* entries of the log being replayed (resume) */
  c8_graph *best_qdq;
  c8_qplan *best_plan;
  const c8_calibration *best_cal; /* the calibration best_plan was built from */
  char qtable[C8_SEARCH_PATH], table[C8_SEARCH_PATH], log_path[C8_SEARCH_PATH];
} c8_search;

/* Checks the options, derives the output paths, opens or clears the trial log, runs the FP32 conversion check,
 * calibrates and takes the FP32 score (from the log when resuming). */
c8_status c8_search_open(c8_search *S, const calib8_model *m, calib8_dataset *calib,
                         const calib8_search_options *options);
/* What the sensitivity ranking needs of it: the sessions, the FP32 check and the calibration. */
c8_status c8_search_prepare(c8_search *S, const calib8_model *m, calib8_dataset *calib,
                            const calib8_search_options *options);
void c8_search_close(c8_search *S);
/* One streaming calibration pass of session `s` over the rewound calibration set (with per-channel input means
 * when `means`: bias correction). */
c8_status c8_search_calibrate(c8_search *S, calib8_session *s, c8_calibration **out, bool means);

/* Runs (or replays from the log) one strategy. *idx: the trial's index; an earlier trial's when the strategy was
 * already tried (no new trial); -1 when the trial budget is spent (max_trials, less split_trials outside a reserved
 * step). */
c8_status c8_search_try(c8_search *S, const c8_strategy *stg, int *idx);
/* The trials the current step may still start. */
int c8_search_trials_left(const c8_search *S);
/* The split point's own trials for a graph of `layers` compute layers: ceil(log2(layers)) within
 * [C8_SEARCH_SPLIT_MIN, C8_SEARCH_SPLIT_MAX]. */
int c8_search_split_trials(int layers);
/* A grouped (depthwise) convolution: Conv with group > 1. */
bool c8_search_is_depthwise(const c8_graph *g, int node);
/* The rule between two trials: the smallest set of FP32 layers within budget wins, then the score. */
bool c8_search_better(const c8_trial_rec *a, const c8_trial_rec *b);

/* ---- the table of steps ---- */

/* A step's progress: proposals so far, the trial the last one gave, the bisection's bounds. */
typedef struct c8_step_ctx {
  int round, last;
  int lo, hi, mid, n_order;
  int *order; /* compute layers in graph order (bisection), c8_mfree'd by c8_search_step_run */
} c8_step_ctx;

/* Proposes the step's next strategy from the search state into *out (*proposed = false: the step is done). */
typedef c8_status (*c8_step_propose_fn)(c8_search *S, c8_step_ctx *ctx, c8_strategy *out, bool *proposed);

enum { C8_MODE_FAST = 1, C8_MODE_FULL = 2 };
typedef enum c8_step_stop {
  C8_STOP_WITHIN_BUDGET,      /* a trial within budget ends the search */
  C8_STOP_ALL_INT8_IN_FULL,   /* ... in fast mode; in full mode only one with no layer in FP32 */
  C8_STOP_NEVER,              /* the step runs to its end */
} c8_step_stop;

typedef struct c8_search_step {
  const char *name;
  unsigned modes; /* C8_MODE_FAST | C8_MODE_FULL */
  c8_step_stop stop;
  c8_step_propose_fn propose;
  bool reserved; /* draws on the trials reserved for it (split_trials) */
} c8_search_step;

extern const c8_search_step c8_search_steps[];
extern const int c8_search_n_steps;

/* Runs one step to its end: *finished when the search is over (a stop rule held, or no trials are left).
 * CALIB8_CANCELLED when options.cancel asks before a proposal. */
c8_status c8_search_step_run(c8_search *S, const c8_search_step *step, bool *finished);

/* Writes the best trial's model, qtable and calibration table. */
c8_status c8_search_write_best(c8_search *S);
/* Reads the trial log at S->log_path into S->log (--resume; a torn last line is ignored). */
c8_status c8_search_log_load(c8_search *S);
/* Appends one entry to the trial log. */
c8_status c8_search_log_append(c8_search *S, cJSON *entry);
const cJSON *c8_search_log_find(const c8_search *S, const char *field, const char *value);

/* Ranks the compute layers of S's graph by the loss each causes alone in INT8 (sensitivity): with `method`, or
 * every method when all_methods. loss = fp32 - score (1 - cosine without a scorer). out holds g->n_nodes rows. */
c8_status c8_search_rank_layers(c8_search *S, c8_threshold_method method, bool all_methods, const c8_judge *j,
                                double fp32, c8_rank *out, int *n_out);

#endif
