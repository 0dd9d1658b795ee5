/* Depthwise convolution row kernels. The caller copies each input plane into a zero-padded buffer,
 * so a kernel never tests borders: output row oy reads padded rows r0 + ky * row_stride (r0 = the
 * padded row oy * stride_y, row_stride = dilation_y * padded width), taps kx at column
 * ox * sx + kx * dx. Rows must be readable 32 * sx floats past the last tap (buffer slack). */
#ifndef C8_KERNELS_CONV_DWCONV_H
#define C8_KERNELS_CONV_DWCONV_H

#include <stddef.h>

/* y[ox] = clamp(bias + sum over (ky, kx) of w[ky*kw + kx] * tap, lo, hi) for ox in [0, ow); the taps are
 * summed with FMAs in (ky, kx) order. kh * kw <= 25, sx 1 or 2. AVX-512F. */
void c8_f32_dwconv_row__avx512(const float *r0, size_t row_stride, const float *w, int kh, int kw, int sx, int dx,
                               float bias, float lo, float hi, float *y, size_t ow);

#endif
