/* calib8 calibration: streams samples through an FP32 session and keeps one histogram per float activation.
 *
 * Histograms are order-independent: the same set of samples gives the same statistics bit for bit whatever
 * the batch size, the order and the thread count, so thresholds and exported models are reproducible. Memory
 * is one histogram per tensor, whatever the number of samples.
 *
 *   calib8_calibration *cal = NULL;
 *   calib8_calibration_create(session, NULL, &cal);
 *   calib8_calibration_add_dataset(cal, ds, NULL, NULL);    // or calib8_calibration_add per batch
 *   double t;
 *   calib8_calibration_threshold(cal, "conv1_out", CALIB8_METHOD_KL, 0, &t);
 */
/* calib8.h first, outside the guard: it declares the core and includes every part header in order, so any
 * part header may be included alone. */
#include "calib8/calib8.h"

#ifndef CALIB8_CALIBRATION_H
#define CALIB8_CALIBRATION_H

#include "calib8/dataset.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Activation threshold methods (docs/quantization.md). The names parse case-insensitively. */
typedef enum calib8_method {
  CALIB8_METHOD_MAX = 0,   /* max |x| */
  CALIB8_METHOD_KL,        /* TensorRT's entropy calibration */
  CALIB8_METHOD_PERCENTILE,/* the given percentile of |x| (99.99 by default) */
  CALIB8_METHOD_MSE,       /* least expected squared error */
  CALIB8_METHOD_ACIQ,      /* Banner et al.'s analytical clipping */
  CALIB8_METHOD_COUNT
} calib8_method;

/* "max", "kl", "percentile", "mse", "aciq"; -1 when unknown. */
int calib8_method_parse(const char *name);
const char *calib8_method_name(calib8_method method);

typedef struct calib8_calibration calib8_calibration;

typedef struct calib8_calibration_options {
  /* Also measure the per-channel mean of every Conv/Gemm/MatMul data input (needed by bias correction). */
  int channel_means;
} calib8_calibration_options;

/* A calibration of the tensors of `session`'s graph (borrowed: the session must outlive the calibration and
 * the plans built from it). options may be NULL. CALIB8_OUT_OF_MEMORY. */
calib8_status calib8_calibration_create(calib8_session *session, const calib8_calibration_options *options,
                                        calib8_calibration **out_calibration);
void calib8_calibration_destroy(calib8_calibration *cal);

/* Runs one batch through the session and records every float activation. The whole batch counts as
 * samples: pass only real rows. CALIB8_INVALID_ARGUMENT without inputs; errors of calib8_session_run. */
calib8_status calib8_calibration_add(calib8_calibration *cal, int n_inputs, const char *const *names,
                                     const calib8_tensor *inputs);

/* Progress of a long operation: `done` of `total` (total -1 when unknown). */
typedef void (*calib8_progress_fn)(void *user, const char *stage, int64_t done, int64_t total);

/* Reads `ds` to its end from where it stands, adding every batch. A fixed-batch model's padded last batch is
 * observed whole (its repeated sample counts again), as calib8 quantize always did, so that histograms and
 * exported models do not change. progress may be NULL; it is called with stage "calibrating" before the first
 * batch and after each. CALIB8_INVALID_ARGUMENT when the dataset holds no samples ("calibration set 'SPEC'
 * holds no samples"); errors of the dataset and the session. */
calib8_status calib8_calibration_add_dataset(calib8_calibration *cal, calib8_dataset *ds,
                                             calib8_progress_fn progress, void *user);

/* Samples observed so far. */
int64_t calib8_calibration_samples(const calib8_calibration *cal);
/* The observed tensors, by index in the graph's order. */
int calib8_calibration_tensor_count(const calib8_calibration *cal);
const char *calib8_calibration_tensor_name(const calib8_calibration *cal, int index);

/* Statistics of one observed tensor. */
typedef struct calib8_tensor_stats {
  const char *name;
  double min, max;        /* observed range */
  int64_t count;          /* values observed */
  int64_t nonfinite;      /* NaN and infinite values seen (they are not in the histogram) */
} calib8_tensor_stats;
calib8_status calib8_calibration_stats(const calib8_calibration *cal, const char *tensor, calib8_tensor_stats *out);

/* The clipping threshold T (|x| <= T) of `tensor` for a method; percentile is used by PERCENTILE (0 = 99.99).
 * As in a plan, a never-negative tensor is thresholded for 255 steps over [0, T], others for 127 per side.
 * 0 for an all-zero tensor. CALIB8_INVALID_ARGUMENT when the tensor was not observed, for an unknown method
 * or a percentile outside [0, 100]. */
calib8_status calib8_calibration_threshold(const calib8_calibration *cal, const char *tensor, calib8_method method,
                                           double percentile, double *out_threshold);

/* The signed histogram of a tensor: *n_bins (4096) bins of equal width covering [-*range, *range), exact zeros
 * not included. Copies min(capacity, *n_bins) counts into counts (may be NULL to ask for the size).
 * CALIB8_INVALID_ARGUMENT when the tensor was not observed. */
calib8_status calib8_calibration_histogram(const calib8_calibration *cal, const char *tensor, uint64_t *counts,
                                           int capacity, int *n_bins, double *range);

#ifdef __cplusplus
}
#endif
#endif
