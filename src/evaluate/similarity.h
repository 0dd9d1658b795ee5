/* Streaming agreement statistics between a reference tensor a (FP32) and a
 * test tensor b (INT8), accumulated over any number of samples in a fixed
 * order (double sums): memory does not grow with the sample count.
 * Definitions follow TPU-MLIR's tensor_compare.py (npz_tool compare):
 *   cosine    = sum(ab) / sqrt(sum(a^2) sum(b^2))
 *   euclidean = 1 - ||a - b|| / ||(a + b) / 2||
 *   SQNR (dB) = 10 log10(var(a) / var(a - b)), over elements where b != 0 */
#ifndef C8_EVALUATE_SIMILARITY_H
#define C8_EVALUATE_SIMILARITY_H

#include <stdint.h>

typedef struct c8_similarity {
  double ab, aa, bb, dd, mm; /* sum a*b, a^2, b^2, (a-b)^2, ((a+b)/2)^2 */
  /* SQNR over b != 0 */
  double s_a, s_aa, s_n, s_nn;
  int64_t n, n_nz;
} c8_similarity;

void c8_similarity_init(c8_similarity *s);
void c8_similarity_add(c8_similarity *s, const float *a, const float *b, int64_t n);
double c8_similarity_cosine(const c8_similarity *s);    /* 1 when both are all zero */
double c8_similarity_euclidean(const c8_similarity *s); /* 1 when identical */
double c8_similarity_sqnr_db(const c8_similarity *s);   /* INFINITY when the noise is zero */

#endif
