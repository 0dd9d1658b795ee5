/* Calibration: runs the FP32 session over samples and keeps one streaming
 * histogram per float activation (graph inputs included). Memory is one
 * histogram per tensor, whatever the number of samples. */
#ifndef C8_OBSERVE_CALIBRATE_H
#define C8_OBSERVE_CALIBRATE_H

#include "observe/histogram.h"
#include "run/session.h"

typedef struct c8_calibration {
  const c8_graph *g;     /* the session's graph (borrowed): value ids index hist */
  int n_values;
  c8_histogram **hist;   /* per value id; NULL for values never observed (constants, non-float) */
  int64_t samples;       /* leading-dimension items observed */
  /* Optional per-channel means of the data inputs of Conv/Gemm/MatMul (for bias correction): off unless
     c8_calibration_enable_means was called. Per value id; mean_axis[v] is -2 for a value not tracked. */
  int *mean_axis;        /* channel axis: 1 for Conv, -1 (last) for Gemm/MatMul, 0 for Gemm with transA */
  double **mean_sum;     /* per channel, summed in double in the order the elements arrive */
  int64_t *mean_channels, *mean_count; /* channel count; elements summed per channel */
  /* Large tensors are histogrammed in parallel: one partial histogram per thread, merged exactly
     (c8_histogram_merge), so the result does not depend on the thread count. */
  struct c8_threadpool *pool;  /* the session's, set by c8_calibration_run */
  c8_histogram *partial;       /* one per thread, allocated on first use */
  int n_partial;
  /* Values whose histogram follows exactly from another's and is derived after each run instead of read:
     the output of Relu (c8_histogram_relu_of its input) and of ops that only move values (Reshape, Flatten,
     Squeeze, Unsqueeze, Identity, Transpose: a copy). derive_from[v] is the source value or -1. */
  int *derive_from;
  unsigned char *derive_relu; /* 1: Relu of the source; 0: a copy */
} c8_calibration;

c8_status c8_calibration_create(const calib8_session *s, c8_calibration **out);
void c8_calibration_destroy(c8_calibration *c);
/* Runs one batch through the session and records every float activation. */
c8_status c8_calibration_run(c8_calibration *c, calib8_session *s, int n_inputs, const char *const *names,
                             const calib8_tensor *inputs);
/* Also accumulates, from the next run on, the per-channel mean of every activation read as the data input of
 * a Conv (channel axis 1), Gemm or MatMul (last axis). Call before the first c8_calibration_run; a
 * calibration without it pays nothing. The sums are taken in element order, batch after batch, so the means
 * are the same bit for bit whatever the batch size. CALIB8_INVALID_ARGUMENT after a run, OUT_OF_MEMORY. */
c8_status c8_calibration_enable_means(c8_calibration *c);
/* The per-channel mean of value v (a malloc'd array of *n doubles, the caller frees it), and its channel
 * axis; *out NULL and *n 0 when v was not tracked or never observed. CALIB8_OUT_OF_MEMORY. */
c8_status c8_calibration_channel_mean(const c8_calibration *c, int v, double **out, int64_t *n, int *axis);
/* The histogram of a value by name (NULL when not observed). */
const c8_histogram *c8_calibration_find(const c8_calibration *c, const char *name);

/* The public calibration (include/calib8/calibration.h): the histograms of one session's graph and the
 * session they are taken on (borrowed), which plans built from it read the graph and threads of. */
struct calib8_calibration {
  c8_calibration *cal;
  calib8_session *session;
};

#endif
