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

/* QuantizeLinear(act(DequantizeLinear(a) + DequantizeLinear(b))) on 8-bit a and b (com.calib8 QAdd, the folded
   residual Add): the same IEEE operations as the fake-quantized graph (two exact conversions and multiplies, one
   add, one division, rounding to nearest even), so every version gives the bytes of that graph; a fused
   Relu/Clip is the clamp [lo, hi] (QuantizeLinear is monotonic). */
typedef struct c8_q8_add_params {
  float sa, sb, sy;
  int32_t za, zb, zy, lo, hi;
  bool a_signed, b_signed, y_signed;
} c8_q8_add_params;

/* b NULL: QuantizeLinear(act(DequantizeLinear(a) + 0)) (com.calib8 QRequant: an activation between a
   DequantizeLinear and a QuantizeLinear, or a bare DQ -> Q change of scale). */
typedef void (*c8_q8_add_fn)(const void *a, const void *b, size_t n, const c8_q8_add_params *p, void *y);

void c8_q8_add__scalar(const void *a, const void *b, size_t n, const c8_q8_add_params *p, void *y);
void c8_q8_add__avx2(const void *a, const void *b, size_t n, const c8_q8_add_params *p, void *y);
void c8_q8_add__avx512(const void *a, const void *b, size_t n, const c8_q8_add_params *p, void *y);
c8_q8_add_fn c8_q8_add_select(void);

static inline int32_t c8_q8_add_one(int32_t a, int32_t b, const c8_q8_add_params *p) {
  const float v = (float)(a - p->za) * p->sa + (float)(b - p->zb) * p->sb;
  return c8_quantize_one(v / p->sy, p->zy, p->lo, p->hi);
}

static inline int32_t c8_q8_requant_one(int32_t a, const c8_q8_add_params *p) {
  const float v = (float)(a - p->za) * p->sa + 0.0f;
  return c8_quantize_one(v / p->sy, p->zy, p->lo, p->hi);
}

#endif
