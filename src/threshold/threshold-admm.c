/* ADMM activation thresholds (NNTC/TPU-MLIR's `th_method ADMM`): the scale s of symmetric quantization that
 * minimizes sum_x (x - s q(x))^2, found by alternating the two minimizations, as TNN's ADMM weight quantizer does
 * (tools/quantization/calibration.cc, after "Extremely Low Bit Neural Network: Squeeze the Last Bit Out with
 * ADMM", Leng et al., AAAI 2018):
 *   q_i = clip(round(x_i / s), -levels, levels)        (the best codes for a scale)
 *   s   = sum_i x_i q_i / sum_i q_i^2                   (the best scale for the codes: least squares)
 * over the |x| histogram (bin centres weighted by their counts), from the MinMax scale, until the scale stops
 * changing. Each step lowers the error, so it ends in a local minimum near the outliers' side of MSE's
 * exhaustive search; the threshold is levels * s. */
#include <math.h>

#include "threshold/threshold.h"

#define ADMM_MAX_ITERATIONS 64

double c8_threshold_admm(const c8_histogram *h, int levels) {
  uint64_t bins[C8_HIST_BINS];
  double w = c8_histogram_abs(h, bins);
  if (w == 0.0) return 0.0;
  double s = c8_threshold_max(h) / levels;
  for (int it = 0; it < ADMM_MAX_ITERATIONS && s > 0; it++) {
    double xq = 0.0, qq = 0.0;
    for (int j = 0; j < C8_HIST_BINS; j++) {
      if (!bins[j]) continue;
      double c = (j + 0.5) * w, q = fmin(nearbyint(c / s), (double)levels);
      xq += (double)bins[j] * c * q;
      qq += (double)bins[j] * q * q;
    }
    if (qq == 0.0) break;
    double next = xq / qq;
    if (fabs(next - s) <= 1e-7 * s) {
      s = next;
      break;
    }
    s = next;
  }
  return s * levels;
}
