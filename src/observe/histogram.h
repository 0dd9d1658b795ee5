/* A streaming per-tensor histogram whose final contents depend only on the
 * set of values observed — not on their order, batching or thread split.
 *
 * The range is always a power of two, [-2^e, 2^e], chosen as the smallest
 * that holds every value seen; the 2*C8_HIST_BINS bins have width 2^e / C8_HIST_BINS.
 * When a value outside the range arrives, e grows and pairs of adjacent bins
 * are added together: an exact merge, since floor(floor(y)/2) == floor(y/2).
 * Scaling by powers of two is exact in binary floating point, so a value lands
 * in the same final bin whatever range was current when it was seen. */
#ifndef C8_OBSERVE_HISTOGRAM_H
#define C8_OBSERVE_HISTOGRAM_H

#include <stdbool.h>
#include <stdint.h>

#include "core/status.h"

#define C8_HIST_BINS 2048 /* per sign: |x| is resolved into 2048 bins, as TensorRT's calibrator does */

typedef struct c8_histogram {
  int exp;           /* range is [-2^exp, 2^exp]; INT32_MIN until a non-zero value arrives */
  float min, max;    /* exact extremes */
  uint64_t count;    /* values seen (non-finite values are counted in nonfinite, not in bins) */
  uint64_t zeros;    /* exact zeros (kept out of the bins so an all-zero tensor has no range) */
  uint64_t nonfinite;
  uint64_t bins[2 * C8_HIST_BINS]; /* bin i covers [-2^exp + i*w, -2^exp + (i+1)*w), w = 2^exp / C8_HIST_BINS */
} c8_histogram;

void c8_histogram_init(c8_histogram *h);
void c8_histogram_add(c8_histogram *h, const float *x, int64_t n);
/* Adds `src` into `dst` (exact; the merge of two histograms equals observing both sets). */
void c8_histogram_merge(c8_histogram *dst, const c8_histogram *src);
/* Range upper bound 2^exp (0 when no non-zero value was seen). */
double c8_histogram_range(const c8_histogram *h);
/* |x| histogram: out[j] counts values with |x| in [j*w, (j+1)*w), j < C8_HIST_BINS; zeros go in bin 0.
 * Returns the bin width w (0 when empty). */
double c8_histogram_abs(const c8_histogram *h, uint64_t out[C8_HIST_BINS]);

#endif
