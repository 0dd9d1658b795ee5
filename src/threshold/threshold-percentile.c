/* Percentile calibration: the smallest threshold below which `percentile` % of |x| falls
 * (McKinstry et al., "Discovering Low-Precision Networks Close to Full-Precision Networks
 * for Efficient Embedded Inference", 2018; as in NVIDIA pytorch-quantization's "percentile"). */
#include <math.h>

#include "threshold/threshold.h"

double c8_threshold_percentile(const c8_histogram *h, double percentile) {
  uint64_t bins[C8_HIST_BINS];
  double w = c8_histogram_abs(h, bins);
  if (w == 0.0) return 0.0;
  uint64_t total = 0;
  for (int j = 0; j < C8_HIST_BINS; j++) total += bins[j];
  double target = (double)total * percentile / 100.0;
  uint64_t cum = 0;
  for (int j = 0; j < C8_HIST_BINS; j++) {
    cum += bins[j];
    if ((double)cum >= target) return (j + 1) * w;
  }
  return C8_HIST_BINS * w;
}
