/* QuantizeLinear's float path and DequantizeLinear's 8-bit path.
 * QuantizeLinear: y = saturate(round_half_even(x / scale) + zero_point), stored as int8 or uint8.
 * Every ISA version gives exactly the scalar reference's bytes: the division is IEEE (not a multiply by the
 * reciprocal), the rounding is to nearest even, and NaN saturates to the low bound, as in op-quant.c. */
#ifndef C8_KERNELS_QUANT_H
#define C8_KERNELS_QUANT_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* y[0..n) (int8 when is_signed, else uint8) from x[0..n). zp is within the output type's range. */
typedef void (*c8_f32_quantize_fn)(const float *x, size_t n, float scale, int32_t zp, bool is_signed, void *y);

void c8_f32_quantize__scalar(const float *x, size_t n, float scale, int32_t zp, bool is_signed, void *y);
void c8_f32_quantize__avx2(const float *x, size_t n, float scale, int32_t zp, bool is_signed, void *y);
void c8_f32_quantize__avx512(const float *x, size_t n, float scale, int32_t zp, bool is_signed, void *y);

/* DequantizeLinear of 8-bit x: y[i] = (float)(x[i] - zp) * scale (int8 when is_signed, else uint8); exact
   conversions and one IEEE multiply, so every version gives the same floats. */
typedef void (*c8_f32_dequantize_fn)(const void *x, size_t n, float scale, int32_t zp, bool is_signed, float *y);

void c8_f32_dequantize__scalar(const void *x, size_t n, float scale, int32_t zp, bool is_signed, float *y);
void c8_f32_dequantize__avx2(const void *x, size_t n, float scale, int32_t zp, bool is_signed, float *y);
void c8_f32_dequantize__avx512(const void *x, size_t n, float scale, int32_t zp, bool is_signed, float *y);

/* The versions c8_cpu_isa() allows. */
c8_f32_quantize_fn c8_f32_quantize_select(void);
c8_f32_dequantize_fn c8_f32_dequantize_select(void);

/* The scalar rule for one value (the reference every version matches). */
static inline int32_t c8_quantize_one(float v, int32_t zp, int32_t lo, int32_t hi) {
  float r = nearbyintf(v) + (float)zp;
  if (!(r >= (float)lo)) return lo;
  if (r > (float)hi) return hi;
  return (int32_t)r;
}

#endif
