/* The scalar reference of the histogram kernels, and the run-time choice among the ISA versions. */
#include "kernels/histogram/histogram.h"

#include <math.h>
#include <stdbool.h>

#include "core/cpu.h"

void c8_f32_scan__scalar(const float *x, size_t n, c8_f32_scan *s) {
  float mn = s->min, mx = s->max;
  uint64_t finite = 0, zeros = 0;
  for (size_t i = 0; i < n; i++) {
    float v = x[i];
    if (!isfinite(v)) continue;
    finite++;
    if (v == 0.0f) zeros++;
    if (v < mn) mn = v;
    if (v > mx) mx = v;
  }
  s->min = mn;
  s->max = mx;
  s->finite += finite;
  s->zeros += zeros;
}

void c8_f32_bin__scalar(const float *x, size_t n, float scale_neg, float scale_pos, uint64_t *bins) {
  for (size_t i = 0; i < n; i++) {
    float v = x[i];
    if (!(v != 0.0f) || !isfinite(v)) continue;
    bool negative = v < 0.0f;
    float y = v * (negative ? scale_neg : scale_pos);
    int b = (int)y; /* truncation toward zero; fix up negatives to floor */
    if ((float)b > y) b--;
    b += 2048;
    int lo = negative ? 0 : 2048, hi = negative ? 2047 : 4095; /* a side's values stay on their side */
    if (b > hi) b = hi;
    if (b < lo) b = lo;
    bins[b]++;
  }
}

c8_f32_scan_fn c8_f32_scan_select(void) {
  c8_isa isa = c8_cpu_isa();
  return isa >= C8_ISA_AVX512 ? c8_f32_scan__avx512 : isa >= C8_ISA_AVX2 ? c8_f32_scan__avx2 : c8_f32_scan__scalar;
}

c8_f32_bin_fn c8_f32_bin_select(void) {
  c8_isa isa = c8_cpu_isa();
  return isa >= C8_ISA_AVX512 ? c8_f32_bin__avx512 : isa >= C8_ISA_AVX2 ? c8_f32_bin__avx2 : c8_f32_bin__scalar;
}

c8_f32_scan_bin_fn c8_f32_scan_bin_select(void) {
  return c8_cpu_isa() >= C8_ISA_AVX512 ? c8_f32_scan_bin__avx512 : NULL;
}
