/* An evaluation's result in words (calib8_eval_result_print, what `calib8 eval` prints). */
#include <stdio.h>

#include "calib8/calib8.h"
#include "core/status.h"

calib8_status calib8_eval_result_print(const calib8_eval_result *r, const char *reference, FILE *f) {
  if (!r || !f) return c8_error(CALIB8_INVALID_ARGUMENT, "calib8_eval_result_print needs a result and a FILE");
  const char *name = calib8_metric_name(r->metric), *ref = reference ? reference : "the FP32 model";
  if (r->metric == CALIB8_METRIC_SIMILARITY && r->correct >= 0)
    fprintf(f, "similarity %.6f (top-1 class agrees with '%s' on %lld of %lld samples)\n", r->score, ref,
            (long long)r->correct, (long long)r->count);
  else if (r->metric == CALIB8_METRIC_SIMILARITY)
    fprintf(f, "similarity %.6f (mean per-sample cosine against '%s' over %lld samples)\n", r->score, ref,
            (long long)r->count);
  else if (r->metric == CALIB8_METRIC_MAP50 || r->metric == CALIB8_METRIC_MAP)
    fprintf(f, "%s %.6f (%lld images)\n", name, r->score, (long long)r->count);
  else
    fprintf(f, "%s %.6f (%lld of %lld samples)\n", name, r->score, (long long)r->correct, (long long)r->count);
  return CALIB8_OK;
}
