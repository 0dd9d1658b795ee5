/* The public calibration API (include/calib8/calibration.h) over the histograms of observe/calibrate.h and the
 * threshold methods of src/threshold. */
#include <string.h>

#include "calib8/calib8.h" /* first: the part headers are complete only through it */
#include "data/feed.h"
#include "observe/calibrate.h"
#include "threshold/threshold.h"

/* The public enum mirrors c8_threshold_method value for value, so the one table of names serves both. */
_Static_assert((int)CALIB8_METHOD_MAX == (int)C8_THRESHOLD_MAX && (int)CALIB8_METHOD_KL == (int)C8_THRESHOLD_KL &&
                   (int)CALIB8_METHOD_PERCENTILE == (int)C8_THRESHOLD_PERCENTILE &&
                   (int)CALIB8_METHOD_MSE == (int)C8_THRESHOLD_MSE && (int)CALIB8_METHOD_ACIQ == (int)C8_THRESHOLD_ACIQ &&
                   (int)CALIB8_METHOD_COUNT == (int)C8_THRESHOLD_COUNT,
               "calib8_method and c8_threshold_method must agree");

int calib8_method_parse(const char *name) { return c8_threshold_method_parse(name); }
const char *calib8_method_name(calib8_method method) { return c8_threshold_method_name((c8_threshold_method)method); }

calib8_status calib8_calibration_create(calib8_session *session, const calib8_calibration_options *options,
                                        calib8_calibration **out_calibration) {
  if (!session || !out_calibration)
    return c8_error(CALIB8_INVALID_ARGUMENT, "calib8_calibration_create needs a session");
  calib8_calibration *c = c8_calloc(1, sizeof *c);
  if (!c) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory starting calibration");
  c->session = session;
  c8_status st = c8_calibration_create(session, &c->cal);
  if (!st && options && options->channel_means) st = c8_calibration_enable_means(c->cal);
  if (st) {
    calib8_calibration_destroy(c);
    return st;
  }
  *out_calibration = c;
  return CALIB8_OK;
}

void calib8_calibration_destroy(calib8_calibration *cal) {
  if (!cal) return;
  c8_calibration_destroy(cal->cal);
  c8_mfree(cal);
}

calib8_status calib8_calibration_add(calib8_calibration *cal, int n_inputs, const char *const *names,
                                     const calib8_tensor *inputs) {
  if (!cal || n_inputs < 1 || !inputs)
    return c8_error(CALIB8_INVALID_ARGUMENT, "calib8_calibration_add needs a calibration and at least one input");
  return c8_calibration_run(cal->cal, cal->session, n_inputs, names, inputs);
}

calib8_status calib8_calibration_add_dataset(calib8_calibration *cal, calib8_dataset *ds, calib8_progress_fn progress,
                                             void *user) {
  if (!cal || !ds) return c8_error(CALIB8_INVALID_ARGUMENT, "calib8_calibration_add_dataset needs a calibration and a dataset");
  int64_t total = calib8_dataset_count(ds), before = cal->cal->samples;
  if (progress) progress(user, "calibrating", 0, total);
  for (;;) {
    calib8_batch b;
    c8_status st = calib8_dataset_next(ds, &b);
    if (st) return st;
    if (!b.rows) break;
    /* A padded last batch (fixed-batch model) is observed whole, as calib8 quantize always did: cutting it
       would change the histograms and so every exported model. */
    if ((st = c8_calibration_run(cal->cal, cal->session, b.n_inputs, b.names, b.inputs))) return st;
    if (progress) progress(user, "calibrating", cal->cal->samples, total);
  }
  if (cal->cal->samples == before)
    return c8_error(CALIB8_INVALID_ARGUMENT, "calibration set '%s' holds no samples", calib8_dataset_spec(ds));
  return CALIB8_OK;
}

int64_t calib8_calibration_samples(const calib8_calibration *cal) { return cal ? cal->cal->samples : 0; }

int calib8_calibration_tensor_count(const calib8_calibration *cal) {
  if (!cal) return 0;
  int n = 0;
  for (int v = 0; v < cal->cal->n_values; v++) n += cal->cal->hist[v] != NULL;
  return n;
}

const char *calib8_calibration_tensor_name(const calib8_calibration *cal, int index) {
  if (!cal || index < 0) return NULL;
  for (int v = 0; v < cal->cal->n_values; v++)
    if (cal->cal->hist[v] && index-- == 0) return cal->cal->g->values[v].name;
  return NULL;
}

/* The histogram of an observed tensor, or an error naming it. */
static c8_status observed(const calib8_calibration *cal, const char *tensor, const c8_histogram **h) {
  if (!cal || !tensor) return c8_error(CALIB8_INVALID_ARGUMENT, "a calibration and a tensor name are needed");
  *h = c8_calibration_find(cal->cal, tensor);
  if (!*h)
    return c8_error(CALIB8_INVALID_ARGUMENT, "tensor '%s' was not observed by the calibration (not a float activation "
                    "of the graph, or no samples yet)", tensor);
  return CALIB8_OK;
}

calib8_status calib8_calibration_stats(const calib8_calibration *cal, const char *tensor, calib8_tensor_stats *out) {
  const c8_histogram *h;
  c8_status st = observed(cal, tensor, &h);
  if (st) return st;
  if (!out) return c8_error(CALIB8_INVALID_ARGUMENT, "calib8_calibration_stats needs an output");
  out->name = cal->cal->g->values[c8_graph_find_value(cal->cal->g, tensor)].name;
  out->min = h->min;
  out->max = h->max;
  out->count = (int64_t)h->count;
  out->nonfinite = (int64_t)h->nonfinite;
  return CALIB8_OK;
}

calib8_status calib8_calibration_threshold(const calib8_calibration *cal, const char *tensor, calib8_method method,
                                           double percentile, double *out_threshold) {
  const c8_histogram *h;
  c8_status st = observed(cal, tensor, &h);
  if (st) return st;
  if ((int)method < 0 || method >= CALIB8_METHOD_COUNT)
    return c8_error(CALIB8_INVALID_ARGUMENT, "threshold method %d is not one of max, kl, percentile, mse, aciq", (int)method);
  if (percentile < 0 || percentile > 100)
    return c8_error(CALIB8_INVALID_ARGUMENT, "percentile %g must be in (0, 100] (0 = 99.99)", percentile);
  if (!out_threshold) return c8_error(CALIB8_INVALID_ARGUMENT, "calib8_calibration_threshold needs an output");
  c8_threshold_options o = c8_threshold_options_default();
  if (percentile > 0) o.percentile = percentile;
  /* as the plan does: a never-negative tensor is quantized with all 255 steps over [0, T] */
  o.levels = h->count && h->min >= 0.0f ? 255 : 127;
  *out_threshold = c8_threshold_compute((c8_threshold_method)method, h, &o);
  return CALIB8_OK;
}

calib8_status calib8_calibration_histogram(const calib8_calibration *cal, const char *tensor, uint64_t *counts,
                                           int capacity, int *n_bins, double *range) {
  const c8_histogram *h;
  c8_status st = observed(cal, tensor, &h);
  if (st) return st;
  if (capacity < 0 || (capacity > 0 && !counts))
    return c8_error(CALIB8_INVALID_ARGUMENT, "histogram of '%s': capacity %d without room for it", tensor, capacity);
  uint64_t *bins = c8_malloc(sizeof *bins * 2 * C8_HIST_BINS);
  if (!bins) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory reading the histogram of '%s'", tensor);
  c8_histogram_signed(h, bins);
  int n = capacity < 2 * C8_HIST_BINS ? capacity : 2 * C8_HIST_BINS;
  if (n > 0) memcpy(counts, bins, sizeof *bins * (size_t)n);
  c8_mfree(bins);
  if (n_bins) *n_bins = 2 * C8_HIST_BINS;
  if (range) *range = c8_histogram_range(h);
  return CALIB8_OK;
}
