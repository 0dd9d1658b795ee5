/* The search and the sensitivity ranking in text (include/calib8/search.h): the lines `calib8 auto`, `calib8 serve`
 * and `calib8 sensitivity` print. */
#include <stdio.h>

#include "calib8/calib8.h"
#include "core/status.h"

/* "<metric> 0.9123", or "score 0.912345" when the score has no metric's name (a client's own score). */
static void print_score(FILE *f, const char *metric, double score, const char *sep) {
  if (metric) fprintf(f, "%s %.4f%s", metric, score, sep);
  else fprintf(f, "score %.6g%s", score, sep);
}

void calib8_trial_print(const calib8_trial *t, const char *metric, FILE *f) {
  if (!t || !f) return;
  fprintf(f, "trial %2d  %-44s ", t->index, t->strategy);
  print_score(f, metric, t->score, "");
  fprintf(f, "  drop %+.4f  FP32 layers %d  INT8 MACs %5.1f %%  %.1f s%s%s\n", t->drop, t->fp32_layers,
          100.0 * t->int8_macs, t->seconds, t->within_budget ? "  within budget" : "", t->replayed ? "  (from log)" : "");
}

void calib8_search_result_print(const calib8_search_result *r, const char *metric, const char *output, FILE *f) {
  if (!r || !f) return;
  const calib8_trial *t = &r->choice;
  fprintf(f, "choice: trial %d (%s): ", t->index, t->strategy);
  print_score(f, metric, t->score, ",");
  fprintf(f, " drop %+.4f, %d FP32 layers, %.1f %% of MACs in INT8; %d trials\n", t->drop, t->fp32_layers,
          100.0 * t->int8_macs, r->n_trials);
  fprintf(f, "wrote %s, %s, %s, %s\n", output ? output : "", r->qtable, r->table, r->log);
}

calib8_status calib8_sensitivity_print(const calib8_sensitivity *rank, int with_metric, FILE *f) {
  if (!rank || !f) return c8_error(CALIB8_INVALID_ARGUMENT, "calib8_sensitivity_print needs a ranking and a FILE");
  fprintf(f, "%-4s %-40s %-14s %-12s %s\n", "rank", "layer", "op", with_metric ? "metric drop" : "1 - cosine",
          "best method");
  for (int i = 0; i < calib8_sensitivity_count(rank); i++) {
    calib8_sensitivity_row row;
    calib8_status st = calib8_sensitivity_row_at(rank, i, &row);
    if (st) return st;
    fprintf(f, "%-4d %-40s %-14s %-12.6g %s\n", i + 1, row.layer, row.op, row.loss, calib8_method_name(row.best_method));
  }
  return CALIB8_OK;
}
