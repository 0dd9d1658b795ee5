/* Kernels of the streaming histogram observer (observe/histogram.c): a scan for the extremes and
 * counts, and the binning pass. Every ISA version gives exactly the scalar reference's result: the
 * extremes are exact, and a bin index is floor(x * scale) with scale a power of two, which is exact. */
#ifndef C8_KERNELS_HISTOGRAM_H
#define C8_KERNELS_HISTOGRAM_H

#include <stddef.h>
#include <stdint.h>

typedef struct c8_f32_scan {
  float min, max; /* over the finite values; start them at +inf / -inf */
  uint64_t finite, zeros;
} c8_f32_scan;

/* Updates s with x[0..n): the finite values' extremes, how many are finite, how many are +-0. */
typedef void (*c8_f32_scan_fn)(const float *x, size_t n, c8_f32_scan *s);
/* For each finite non-zero x: bins[floor(x * s) + 2048]++ with s = scale_neg for x < 0 (index clamped to
 * [0, 2047]) and scale_pos for x > 0 (clamped to [2048, 4095]); 4096 bins. The scales are powers of two with
 * |x| * s < 2048 for the values seen. */
typedef void (*c8_f32_bin_fn)(const float *x, size_t n, float scale_neg, float scale_pos, uint64_t *bins);

/* Both at once, with the given scales: bins as c8_f32_bin and s as c8_f32_scan. When the values turn out to
 * exceed the ranges the scales stand for, the caller undoes the increments (c8_f32_bin into a scratch
 * histogram, subtracted) and bins again. */
typedef void (*c8_f32_scan_bin_fn)(const float *x, size_t n, float scale_neg, float scale_pos, uint64_t *bins,
                                   c8_f32_scan *s);

void c8_f32_scan__scalar(const float *x, size_t n, c8_f32_scan *s);
void c8_f32_bin__scalar(const float *x, size_t n, float scale_neg, float scale_pos, uint64_t *bins);
void c8_f32_scan__avx2(const float *x, size_t n, c8_f32_scan *s);
void c8_f32_bin__avx2(const float *x, size_t n, float scale_neg, float scale_pos, uint64_t *bins);
void c8_f32_scan__avx512(const float *x, size_t n, c8_f32_scan *s);
void c8_f32_bin__avx512(const float *x, size_t n, float scale_neg, float scale_pos, uint64_t *bins);
void c8_f32_scan_bin__avx512(const float *x, size_t n, float scale_neg, float scale_pos, uint64_t *bins,
                             c8_f32_scan *s);

/* The versions c8_cpu_isa() allows. */
c8_f32_scan_fn c8_f32_scan_select(void);
c8_f32_bin_fn c8_f32_bin_select(void);
/* NULL where one pass would not pay (without AVX-512 the two passes are used). */
c8_f32_scan_bin_fn c8_f32_scan_bin_select(void);

#endif
