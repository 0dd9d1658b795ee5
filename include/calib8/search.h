/* calib8 search: the accuracy-driven automatic quantization (calib8 auto) and the sensitivity ranking.
 *
 * Statistics are collected once; each trial picks thresholds, builds a plan and scores its QDQ model with the
 * evaluator or the caller's calib8_score_fn. The strategies are a table of steps (docs/auto.md): threshold
 * methods, a method per tensor, then (fast) first layer / heads / depthwise layers in FP32, or (full) bias
 * correction, the most sensitive layers in FP32, equalization and a split-point bisection. The smallest set
 * of FP32 layers that meets the budget wins, then the score. After every trial the best model so far, its
 * qtable and calibration table and the trial log (one JSON object per line) are written, so a killed search
 * loses nothing and `resume` replays the log instead of repeating trials.
 *
 *   calib8_search_options so = calib8_search_options_default();
 *   so.output = "net_int8.onnx";
 *   so.score = my_metric;  so.score_user = &my_state;     // or so.evaluator = ev
 *   calib8_search_result r;
 *   calib8_search_run(model, calib_ds, &so, &r);
 */
/* calib8.h first, outside the guard: it declares the core and includes every part header in order, so any
 * part header may be included alone. */
#include "calib8/calib8.h"

#ifndef CALIB8_SEARCH_H
#define CALIB8_SEARCH_H

#include "calib8/evaluate.h"
#include "calib8/plan.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum calib8_search_mode { CALIB8_SEARCH_FAST = 0, CALIB8_SEARCH_FULL } calib8_search_mode;

/* One trial as it is finished (or replayed from the log). Strings valid during the callback. */
typedef struct calib8_trial {
  int index;               /* 1-based */
  const char *strategy;    /* "kl, per-channel + heads FP32" */
  double score, drop;      /* drop = FP32 score - score */
  double seconds;
  double int8_macs;        /* share of multiply-accumulates in INT8, in [0, 1] */
  int fp32_layers;         /* compute layers kept in FP32 */
  int within_budget;
  int replayed;            /* taken from the log of an earlier run */
} calib8_trial;

typedef void (*calib8_trial_fn)(void *user, const calib8_trial *trial);
/* A line of progress for people ("FP32 top1 0.9267; budget: ...", "most sensitive layers: ..."). */
typedef void (*calib8_message_fn)(void *user, const char *line);
/* Polled between steps; non-zero cancels: the run stops with CALIB8_CANCELLED and keeps what it wrote. */
typedef int (*calib8_cancel_fn)(void *user);

typedef struct calib8_search_options {
  calib8_search_mode mode;
  double max_drop;         /* budget: FP32 score - INT8 score; default 0.005 */
  int max_trials;          /* 0 = the mode's budget: fast 10; full 12 + the split point's own 4-8 (docs/auto.md) */
  /* Scoring: the caller's metric, or an evaluator (exactly one). Full mode's sensitivity ranking (not counted as
     trials) is label-free: the cosine of the outputs against FP32 on the first 64 samples of the evaluator's test
     set, or of the calibration set with a score callback. With a similarity evaluator the FP32 score is 1. */
  calib8_score_fn score;
  void *score_user;
  calib8_evaluator *evaluator;
  const char *metric_name; /* how messages and the JSON name the score ("top1", "user") */
  int have_fp32_score;     /* use fp32_score instead of scoring the FP32 model */
  double fp32_score;
  double fp32_diff;        /* FP32 conversion check: max relative output difference of the optimized graph
                              against the graph as written, on the first calibration batch; default 1e-3 */
  /* Outputs: the model (required); qtable, table and trial log default to OUTPUT without .onnx +
     ".qtable", ".table", ".trials.jsonl". */
  const char *output, *qtable, *table, *log, *json;
  int resume;              /* replay the trial log instead of starting a new one */
  int threads;             /* 0 = every core */
  const char *model_path;  /* for the JSON summary */
  calib8_trial_fn on_trial;
  calib8_message_fn on_message;
  calib8_progress_fn on_progress;
  calib8_cancel_fn cancel;
  void *user;              /* passed to on_trial, on_message, on_progress and cancel */
  const char *report;      /* the HTML report of the choice (calib8/report.h), or NULL; its failure is the
                              result's report_status, never the run's */
} calib8_search_options;

calib8_search_options calib8_search_options_default(void);

typedef struct calib8_search_result {
  double fp32_score;
  int n_trials;
  calib8_trial choice;      /* the trial written to `output`; its strategy string is owned by the result */
  double calibration_seconds;
  int64_t calibration_samples;
  char strategy[256];       /* storage of choice.strategy */
  /* The files written beside the model (the options' paths, or the defaults derived from `output`). */
  char qtable[4096], table[4096], log[4096];
  calib8_status report_status; /* CALIB8_OK, or why options.report was not written (report_error) */
  char report_error[1024];
} calib8_search_result;

/* Searches for the quantization of `model` (borrowed) calibrated on `calib` (read twice or more: it must
 * rewind; it is rewound before each pass) that meets the budget with the fewest FP32 layers. Returns
 * CALIB8_OK when a trial met the budget, CALIB8_BUDGET_NOT_MET when none did (the best one is written all the
 * same, and *out is filled; the message says so), else an error: CALIB8_INVALID_ARGUMENT (options, an output
 * that is the input model, a trial log line that is not JSON before the last, a dataset that cannot rewind),
 * CALIB8_CANCELLED (options.cancel, polled before every trial: the best model so far stays written), errors
 * of the data, of the scorer (a score callback's status is returned as is) and of the writes. */
calib8_status calib8_search_run(const calib8_model *model, calib8_dataset *calib, const calib8_search_options *options,
                                calib8_search_result *out);

/* ---- sensitivity ---------------------------------------------------------------------------------------- */

typedef struct calib8_sensitivity_row {
  const char *layer;       /* node name (owned by the ranking) */
  const char *op;
  double loss;             /* metric drop (with a scorer) or 1 - cosine of the outputs */
  calib8_method best_method; /* the method with the lowest loss for this layer alone */
} calib8_sensitivity_row;

typedef struct calib8_sensitivity calib8_sensitivity;

/* Ranks every compute layer by the loss it causes alone in INT8 (every other layer FP32), trying every
 * method, worst first. options->evaluator or options->score scores (the loss is then the drop from the FP32
 * score); without either, the cosine of the outputs against FP32 on the first 64 calibration samples.
 * Uses options' evaluator or score (with score_user), fp32_diff (the FP32 conversion check runs first), threads,
 * on_progress, cancel and user only. Errors: CALIB8_INVALID_ARGUMENT (both scorers given), CALIB8_CANCELLED,
 * errors of the data and the scorer. The ranking is the caller's: calib8_sensitivity_destroy. */
calib8_status calib8_sensitivity_run(const calib8_model *model, calib8_dataset *calib,
                                     const calib8_search_options *options, calib8_sensitivity **out_ranking);
int calib8_sensitivity_count(const calib8_sensitivity *ranking);
calib8_status calib8_sensitivity_row_at(const calib8_sensitivity *ranking, int index, calib8_sensitivity_row *out);
/* Writes a qtable keeping the top k layers in F32 (whole or not at all). */
calib8_status calib8_sensitivity_write_qtable(const calib8_sensitivity *ranking, int top_k, const char *path);
void calib8_sensitivity_destroy(calib8_sensitivity *ranking);

/* Text for people, as the calib8 command prints it. trial_print: one line per trial ("trial  3  <strategy>  top1
 * 0.9100  drop +0.0020  FP32 layers 1  INT8 MACs  97.0 %  1.2 s  within budget"); result_print: the choice and the
 * files written ("choice: trial ...", "wrote OUTPUT, QTABLE, TABLE, LOG"). metric names the score ("top1 %.4f");
 * NULL prints "score %.6g" (a client's own score). Both do nothing given NULL. sensitivity_print: the ranking as a
 * table (rank, layer, op, loss: "metric drop" with_metric, else "1 - cosine", best method);
 * CALIB8_INVALID_ARGUMENT for NULL arguments. */
void calib8_trial_print(const calib8_trial *trial, const char *metric, FILE *f);
void calib8_search_result_print(const calib8_search_result *result, const char *metric, const char *output, FILE *f);
calib8_status calib8_sensitivity_print(const calib8_sensitivity *ranking, int with_metric, FILE *f);

#ifdef __cplusplus
}
#endif
#endif
