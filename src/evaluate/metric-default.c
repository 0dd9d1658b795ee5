/* The metric of a test set when the caller names none (calib8_eval_options_default_metric, `calib8 auto` without
 * --metric). */
#include <string.h>

#include "calib8/calib8.h"
#include "core/status.h"

calib8_status calib8_eval_options_default_metric(const calib8_model *model, const char *test, calib8_eval_options *eo,
                                                 char *labels, size_t size) {
  if (!model || !test || !eo || !labels || !size)
    return c8_error(CALIB8_INVALID_ARGUMENT,
                    "calib8_eval_options_default_metric needs a model, a test set, options and a labels buffer");
  labels[0] = 0;
  if (eo->labels) {
    eo->metric = CALIB8_METRIC_TOP1;
    return CALIB8_OK;
  }
  /* an LMDB test set may carry its labels (data.label): one sample is enough to ask */
  calib8_dataset_options d = calib8_dataset_options_default();
  d.preprocess = eo->data.preprocess;
  d.template_name = eo->data.template_name;
  d.limit = 1;
  calib8_dataset *t = NULL;
  calib8_status st = calib8_dataset_open(model, 1, &test, &d, &t);
  if (st) return st;
  if (calib8_dataset_labels(t, labels, size)) {
    eo->metric = CALIB8_METRIC_TOP1;
    eo->labels = labels;
  } else {
    eo->metric = CALIB8_METRIC_SIMILARITY;
  }
  calib8_dataset_close(t);
  return CALIB8_OK;
}
