/* MSE calibration: the threshold that minimizes the expected squared error of
 * clip-and-round over the observed |x| histogram (as TensorRT's/pytorch-quantization's
 * "mse" calibrator and TPU-MLIR's search_threshold do), searched over every bin edge. */
#include <math.h>

#include "threshold/threshold.h"

double c8_threshold_mse(const c8_histogram *h, int levels) {
  uint64_t bins[C8_HIST_BINS];
  double w = c8_histogram_abs(h, bins);
  if (w == 0.0) return 0.0;
  int last = C8_HIST_BINS - 1;
  while (last > 0 && bins[last] == 0) last--;
  double best = INFINITY, best_t = (last + 1) * w;
  /* Candidates from a tenth of the used range to all of it. */
  int first = (last + 1) / 10;
  if (first < 1) first = 1;
  for (int i = first; i <= last + 1; i++) {
    double t = i * w, s = t / levels, err = 0.0;
    for (int j = 0; j <= last; j++) {
      if (!bins[j]) continue;
      double c = (j + 0.5) * w, e = c >= t ? c - t : c - s * nearbyint(c / s);
      err += (double)bins[j] * e * e;
    }
    if (err < best) {
      best = err;
      best_t = t;
    }
  }
  return best_t;
}
