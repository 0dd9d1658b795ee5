#include "kernels/quant/quant.h"

#include <math.h>

#include "core/cpu.h"

void c8_f32_quantize__scalar(const float *x, size_t n, float scale, int32_t zp, bool is_signed, void *y) {
  if (is_signed) {
    int8_t *o = y;
    for (size_t i = 0; i < n; i++) o[i] = (int8_t)c8_quantize_one(x[i] / scale, zp, -128, 127);
  } else {
    uint8_t *o = y;
    for (size_t i = 0; i < n; i++) o[i] = (uint8_t)c8_quantize_one(x[i] / scale, zp, 0, 255);
  }
}

c8_f32_quantize_fn c8_f32_quantize_select(void) {
  c8_isa isa = c8_cpu_isa();
  return isa >= C8_ISA_AVX512 ? c8_f32_quantize__avx512
         : isa >= C8_ISA_AVX2 ? c8_f32_quantize__avx2
                              : c8_f32_quantize__scalar;
}

void c8_f32_dequantize__scalar(const void *x, size_t n, float scale, int32_t zp, bool is_signed, float *y) {
  if (is_signed) {
    const int8_t *v = x;
    for (size_t i = 0; i < n; i++) y[i] = (float)((int32_t)v[i] - zp) * scale;
  } else {
    const uint8_t *v = x;
    for (size_t i = 0; i < n; i++) y[i] = (float)((int32_t)v[i] - zp) * scale;
  }
}

c8_f32_dequantize_fn c8_f32_dequantize_select(void) {
  c8_isa isa = c8_cpu_isa();
  return isa >= C8_ISA_AVX512 ? c8_f32_dequantize__avx512
         : isa >= C8_ISA_AVX2 ? c8_f32_dequantize__avx2
                              : c8_f32_dequantize__scalar;
}

void c8_q8_add__scalar(const void *a, const void *b, size_t n, const c8_q8_add_params *p, void *y) {
  const int8_t *as = a, *bs = b;
  const uint8_t *au = a, *bu = b;
  for (size_t i = 0; i < n; i++) {
    const int32_t va = p->a_signed ? as[i] : au[i];
    const int32_t q = b ? c8_q8_add_one(va, p->b_signed ? bs[i] : bu[i], p) : c8_q8_requant_one(va, p);
    if (p->y_signed) ((int8_t *)y)[i] = (int8_t)q;
    else ((uint8_t *)y)[i] = (uint8_t)q;
  }
}

c8_q8_add_fn c8_q8_add_select(void) {
  c8_isa isa = c8_cpu_isa();
  return isa >= C8_ISA_AVX512 ? c8_q8_add__avx512 : isa >= C8_ISA_AVX2 ? c8_q8_add__avx2 : c8_q8_add__scalar;
}
