/* Shared geometry of the convolution family (Conv, ConvTranspose, ConvInteger,
 * QLinearConv). Spatial dimensions are normalized to three (depth, height, width):
 * a 1-D or 2-D convolution gets leading spatial dims of size 1 with kernel 1,
 * stride 1, dilation 1 and no padding, so one set of loops serves all ranks. */
#ifndef C8_OPS_OP_CONV_H
#define C8_OPS_OP_CONV_H

#include "ops/op.h"

typedef struct c8_conv_geom {
  int nsp;                 /* spatial rank in the model: 1, 2 or 3 */
  int64_t n, c, m, groups; /* batch, input channels, output channels, groups */
  int64_t in[3], out[3], k[3], stride[3], dil[3], pad_begin[3], pad_end[3];
} c8_conv_geom;

static inline int64_t c8_conv_in_size(const c8_conv_geom *g) { return g->in[0] * g->in[1] * g->in[2]; }
static inline int64_t c8_conv_out_size(const c8_conv_geom *g) { return g->out[0] * g->out[1] * g->out[2]; }
static inline int64_t c8_conv_k_size(const c8_conv_geom *g) { return g->k[0] * g->k[1] * g->k[2]; }

/* Parses the attributes of a convolution node (kernel_shape, strides, dilations, pads,
 * auto_pad, group; for ConvTranspose also output_padding and output_shape) against
 * input x [N, C, spatial...] and weight w ([M, C/group, k...], or [C, M/group, k...]
 * when transposed), checks every rule and fills g with the output shape. */
c8_status c8_conv_geom_init(const c8_node *node, const c8_tensor *x, const c8_tensor *w, bool transposed,
                            c8_conv_geom *g);

/* Sets out's shape to [N, M, out spatial...]. */
void c8_conv_set_output(const c8_conv_geom *g, c8_tensor *out, c8_dtype dtype);

/* The range [*lo, *hi) of output positions o in [0, n) for which o*stride + offset
 * lands in [0, size): the taps that read real (not padding) input. */
static inline int64_t c8_conv_div(int64_t a, int64_t stride) {
  /* Called per output row and tap: strides 1 and 2 skip the 64-bit division. */
  return stride == 1 ? a : stride == 2 ? a >> 1 : a / stride;
}
static inline void c8_conv_valid_range(int64_t n, int64_t stride, int64_t offset, int64_t size, int64_t *lo,
                                       int64_t *hi) {
  int64_t a = offset >= 0 ? 0 : c8_conv_div(-offset + stride - 1, stride);
  int64_t b = offset > size - 1 ? 0 : c8_conv_div(size - 1 - offset, stride) + 1;
  if (a > n) a = n;
  if (b > n) b = n;
  if (b < a) b = a;
  *lo = a;
  *hi = b;
}

#endif
