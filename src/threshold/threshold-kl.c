/* Entropy (KL-divergence) calibration, as TensorRT's IInt8EntropyCalibrator:
 * S. Migacz, "8-bit Inference with TensorRT", GTC 2017, slides 33-37.
 * For each candidate i (levels..BINS) the reference P is bins[0..i) with the
 * outliers folded into its last bin; Q is P's first i bins quantized into
 * `levels` groups and expanded back uniformly over the non-empty bins of each
 * group. The threshold is (argmin KL(P||Q) + 0.5) * bin width. */
#include <math.h>

#include "threshold/threshold.h"

double c8_threshold_kl(const c8_histogram *h, int levels) {
  uint64_t bins[C8_HIST_BINS];
  double w = c8_histogram_abs(h, bins);
  if (w == 0.0) return 0.0;
  /* Zeros are a spike that does not describe the distribution's spread (they come from Relu):
     TensorRT's histogram starts at 0 as well, but ignoring bin 0's zeros keeps them from
     dominating P for sparse activations. */
  bins[0] -= h->zeros;
  int last = C8_HIST_BINS - 1;
  while (last > 0 && bins[last] == 0) last--;
  if (last + 1 <= levels) return (last + 1) * w; /* fewer bins in use than levels: nothing to clip */
  double best = INFINITY;
  int best_i = C8_HIST_BINS;
  static _Thread_local double p[C8_HIST_BINS], q[C8_HIST_BINS];
  uint64_t suffix = 0;
  for (int j = C8_HIST_BINS - 1; j >= levels; j--) suffix += bins[j];
  /* suffix now = sum(bins[levels..]); walk i upwards, removing bins[i-1] from the outliers. */
  uint64_t outliers = suffix;
  for (int i = levels; i <= C8_HIST_BINS; i++) {
    if (i > levels) outliers -= bins[i - 1];
    double psum = 0.0;
    for (int j = 0; j < i; j++) p[j] = (double)bins[j];
    p[i - 1] += (double)outliers;
    for (int j = 0; j < i; j++) psum += p[j];
    if (psum == 0.0) continue;
    /* quantize bins[0..i) into `levels` groups: group g covers [g*i/levels, (g+1)*i/levels) */
    for (int g = 0; g < levels; g++) {
      int start = (int)((int64_t)g * i / levels), end = (int)((int64_t)(g + 1) * i / levels);
      double sum = 0.0;
      int nonzero = 0;
      for (int j = start; j < end; j++) {
        sum += (double)bins[j];
        nonzero += bins[j] != 0;
      }
      for (int j = start; j < end; j++) q[j] = (bins[j] && nonzero) ? sum / nonzero : 0.0;
    }
    double qsum = 0.0;
    for (int j = 0; j < i; j++) qsum += q[j];
    if (qsum == 0.0) continue;
    double kl = 0.0;
    for (int j = 0; j < i; j++) {
      if (p[j] == 0.0) continue;
      double pj = p[j] / psum, qj = q[j] / qsum;
      /* P has mass where Q has none (the folded outliers): smooth Q as MXNet/TVM do */
      if (qj == 0.0) qj = 1e-12;
      kl += pj * log(pj / qj);
    }
    if (kl < best) {
      best = kl;
      best_i = i;
    }
  }
  return (best_i + 0.5) * w;
}
