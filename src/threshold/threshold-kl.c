/* Entropy (KL-divergence) calibration, as TensorRT's IInt8EntropyCalibrator:
 * S. Migacz, "8-bit Inference with TensorRT", GTC 2017, slides 33-37.
 * For each candidate i (levels..BINS) the reference P is bins[0..i) with the
 * outliers folded into its last bin; Q is P's first i bins quantized into
 * `levels` groups and expanded back uniformly over the non-empty bins of each
 * group. The threshold is (argmin KL(P||Q) + 0.5) * bin width.
 *
 * Evaluated in closed form from prefix sums, in O(levels) per candidate instead of O(i):
 * with c_j the counts, T their total, O_i = sum_{j>=i} c_j the outliers, group g holding B_g counts
 * in n_g non-empty bins, q_j = B_g / n_g and qsum = T - O_i,
 *   T * KL = sum_{j<i-1, c_j>0} c_j (log c_j - log q_j) - C(i-1) (log T - log qsum) + T * last
 * where C(k) = sum_{j<k} c_j, the first sum is L(i-1) - sum_g B'_g log(B_g / n_g) with L(k) =
 * sum_{j<k} c_j log c_j and B'_g = B_g less c_{i-1} for the last group, and `last` is bin i-1's term
 * p log(p / q) (p = (c_{i-1} + O_i) / T; q smoothed to 1e-12 where P has mass and Q none, as MXNet
 * and TVM do). The logs of the group sums come from per-span tables (below), so a candidate costs no log
 * per group. tests/unit/test-calib.c checks the result against the direct O(i) evaluation. */
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
  /* prefix sums: count, non-empty bins, c log c */
  static _Thread_local double csum[C8_HIST_BINS + 1], clogc[C8_HIST_BINS + 1];
  static _Thread_local int nonempty[C8_HIST_BINS + 1];
  csum[0] = clogc[0] = 0.0;
  nonempty[0] = 0;
  for (int j = 0; j < C8_HIST_BINS; j++) {
    double c = (double)bins[j];
    csum[j + 1] = csum[j] + c;
    clogc[j + 1] = clogc[j] + (bins[j] ? c * log(c) : 0.0);
    nonempty[j + 1] = nonempty[j] + (bins[j] != 0);
  }
  const double total = csum[C8_HIST_BINS];
  if (total == 0.0) return 0.0;
  const double log_total = log(total);
  /* A group of candidate i spans floor(i / levels) or one more bins, so its log(B_g) comes from a table
     per span: log_span[k][start] = log(count in bins [start, start + span_k)), built once per span (at most
     17 spans of 2048 starts instead of `levels` logs for each of ~1900 candidates). log(B_g / n_g) is
     log(B_g) - log(n_g), with n_g from a table. */
  static _Thread_local double log_span[2][C8_HIST_BINS + 1];
  static _Thread_local double log_small[C8_HIST_BINS + 1];
  const int widest = C8_HIST_BINS / levels + 1;
  for (int k = 1; k <= widest && k <= C8_HIST_BINS; k++) log_small[k] = log((double)k);
  int span_of[2] = {-1, -1};
  double best = INFINITY;
  int best_i = C8_HIST_BINS;
  for (int i = levels; i <= C8_HIST_BINS; i++) {
    const double qsum = csum[i]; /* = T - O_i */
    if (qsum == 0.0) continue;
    const int narrow = i / levels; /* spans are narrow or narrow + 1 */
    for (int k = 0; k < 2; k++) {
      int span = narrow + k, slot = span & 1;
      if (span_of[slot] == span) continue;
      for (int start = 0; start + span <= C8_HIST_BINS; start++) {
        double b = csum[start + span] - csum[start];
        log_span[slot][start] = b > 0.0 ? log(b) : 0.0;
      }
      span_of[slot] = span;
    }
    const double c_last = (double)bins[i - 1];
    const double outliers = total - qsum;
    double cross = 0.0, q_last = 0.0; /* sum_g B'_g log(B_g / n_g); bin i-1's Q before normalization */
    /* group g covers [g*i/levels, (g+1)*i/levels): the ends are stepped without dividing, by i / levels
       and one more whenever the remainders add up past levels */
    const int rem = i % levels;
    int end = 0, acc = 0;
    for (int g = 0; g < levels; g++) {
      int start = end;
      end += narrow;
      acc += rem;
      if (acc >= levels) {
        acc -= levels;
        end++;
      }
      int n = nonempty[end] - nonempty[start];
      if (!n) continue;
      double b = csum[end] - csum[start], lq = log_span[(end - start) & 1][start] - log_small[n];
      if (g == levels - 1) {
        cross += (b - c_last) * lq;
        q_last = b / n;
      } else {
        cross += b * lq;
      }
    }
    double t_kl = clogc[i - 1] - cross - csum[i - 1] * (log_total - log(qsum));
    double p_last = c_last + outliers;
    if (p_last > 0.0) {
      double pn = p_last / total, qn = c_last > 0.0 ? q_last / qsum : 1e-12;
      t_kl += p_last * log(pn / qn);
    }
    double kl = t_kl / total;
    if (kl < best) {
      best = kl;
      best_i = i;
    }
  }
  return (best_i + 0.5) * w;
}
