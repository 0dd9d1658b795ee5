/* A streaming per-tensor histogram whose final contents depend only on the
 * set of values observed — not on their order, batching or thread split.
 *
 * Each sign has its own range, a power of two: negatives cover [-2^exp_neg, 0),
 * positives [0, 2^exp_pos), each in C8_HIST_BINS bins of width 2^exp_side / C8_HIST_BINS;
 * each exponent is the smallest that holds every value of its sign seen. When a value
 * outside a range arrives, that side's exponent grows and pairs of adjacent bins are
 * added together: an exact merge, since floor(floor(y)/2) == floor(y/2). Scaling by
 * powers of two is exact in binary floating point, so a value lands in the same final
 * bin whatever range was current when it was seen.
 *
 * The sides are separate so that the histogram of Relu(x) is exactly x's positive side
 * (c8_histogram_relu_of): calibration derives it instead of reading Relu's output. The
 * combined views (c8_histogram_abs, c8_histogram_signed) regrid both sides to the common
 * exponent exp = max(exp_neg, exp_pos), which is again an exact merge. */
#ifndef C8_OBSERVE_HISTOGRAM_H
#define C8_OBSERVE_HISTOGRAM_H

#include <stdbool.h>
#include <stdint.h>

#include "core/status.h"

#define C8_HIST_BINS 2048 /* per sign: |x| is resolved into 2048 bins, as TensorRT's calibrator does */

typedef struct c8_histogram {
  int exp;           /* common range [-2^exp, 2^exp] = max of the two below; INT32_MIN until a non-zero value */
  int exp_neg, exp_pos; /* each side's range; INT32_MIN while the side is empty */
  float min, max;    /* exact extremes (a zero extreme is +0) */
  uint64_t count;    /* values seen (non-finite values are counted in nonfinite, not in bins) */
  uint64_t zeros;    /* exact zeros (kept out of the bins so an all-zero tensor has no range) */
  uint64_t nonfinite;
  uint64_t neg_inf;  /* of nonfinite, how many were -inf (Relu maps them to 0) */
  /* bins[C8_HIST_BINS - 1 - j]: negatives with |x| in (j*wn, (j+1)*wn], wn = 2^exp_neg / C8_HIST_BINS;
     bins[C8_HIST_BINS + j]: positives in [j*wp, (j+1)*wp), wp = 2^exp_pos / C8_HIST_BINS */
  uint64_t bins[2 * C8_HIST_BINS];
} c8_histogram;

void c8_histogram_init(c8_histogram *h);
void c8_histogram_add(c8_histogram *h, const float *x, int64_t n);
/* Adds `src` into `dst` (exact; the merge of two histograms equals observing both sets). */
void c8_histogram_merge(c8_histogram *dst, const c8_histogram *src);
/* dst = the histogram of Relu(x) for the values x that `src` observed (ONNX Relu: NaN and +inf stay,
 * -inf and negatives become 0), exactly as observing Relu's output would give. */
void c8_histogram_relu_of(c8_histogram *dst, const c8_histogram *src);
/* Range upper bound 2^exp (0 when no non-zero value was seen). */
double c8_histogram_range(const c8_histogram *h);
/* |x| histogram: out[j] counts values with |x| in [j*w, (j+1)*w), j < C8_HIST_BINS; zeros go in bin 0.
 * Returns the bin width w = 2^exp / C8_HIST_BINS (0 when empty). */
double c8_histogram_abs(const c8_histogram *h, uint64_t out[C8_HIST_BINS]);
/* Signed histogram at the common exponent: out[i] covers [-2^exp + i*w, -2^exp + (i+1)*w); zeros are not in
 * it. Returns w (0 when empty). */
double c8_histogram_signed(const c8_histogram *h, uint64_t out[2 * C8_HIST_BINS]);

#endif
