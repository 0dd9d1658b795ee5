/* ACIQ analytical clipping: R. Banner, Y. Nahshan, D. Soudry, "Post training 4-bit
 * quantization of convolutional networks for rapid-deployment", NeurIPS 2019.
 * Fitting a Laplace(mu, b) to the tensor, the clip minimizing clipping + rounding
 * MSE for 8 bits is alpha = 9.89366 * b (the paper's table, as in its reference code);
 * for a Gaussian it is 3.924035 * sigma. The family is chosen by the excess kurtosis
 * of the histogram (Gaussian 0, Laplace 3): Laplace above 1.5. */
#include <math.h>

#include "threshold/threshold.h"

#define ACIQ_LAPLACE_8BIT 9.89366
#define ACIQ_GAUSS_8BIT 3.924035

double c8_threshold_aciq(const c8_histogram *h) {
  static _Thread_local uint64_t bins[2 * C8_HIST_BINS];
  double w = c8_histogram_signed(h, bins);
  if (w == 0.0 || h->count == 0) return 0.0;
  /* moments from bin centres (order-independent, unlike a running float sum) */
  double n = (double)h->count, mean = 0.0;
  for (int i = 0; i < 2 * C8_HIST_BINS; i++)
    if (bins[i]) mean += (double)bins[i] * ((i - C8_HIST_BINS) + 0.5) * w;
  mean /= n;
  double mad = fabs(mean) * (double)h->zeros, var = mean * mean * (double)h->zeros,
         m4 = var * mean * mean;
  for (int i = 0; i < 2 * C8_HIST_BINS; i++)
    if (bins[i]) {
      double d = ((i - C8_HIST_BINS) + 0.5) * w - mean;
      mad += (double)bins[i] * fabs(d);
      var += (double)bins[i] * d * d;
      m4 += (double)bins[i] * d * d * d * d;
    }
  double b = mad / n, sigma = sqrt(var / n);
  double tl = fabs(mean) + ACIQ_LAPLACE_8BIT * b, tg = fabs(mean) + ACIQ_GAUSS_8BIT * sigma;
  double mx = c8_threshold_max(h);
  double kurtosis = var > 0 ? (m4 / n) / ((var / n) * (var / n)) - 3.0 : 0.0;
  double t = kurtosis > 1.5 ? tl : tg;
  return t > mx ? mx : t;
}
