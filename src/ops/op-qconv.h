/* The integer convolution on the kernels/qgemm kernels, shared by QLinearConv, ConvInteger and calib8's
 * folded QConv (src/graph/pass-int8.c): per image and group, B is the input plane itself (1x1, stride 1, no
 * padding) or an im2col matrix of uint8 (padding reads as the input zero point), A the weights packed once,
 * and the epilogue requantizes (qgemm.h). Depthwise convolutions (one input channel per group) run a direct
 * loop instead of GEMMs of one row. */
#ifndef C8_OPS_OP_QCONV_H
#define C8_OPS_OP_QCONV_H

#include "kernels/qgemm/qgemm.h"
#include "ops/op-conv.h"

typedef struct c8_qconv_fast c8_qconv_fast;

typedef struct c8_qconv_params {
  const c8_conv_geom *g;
  bool x_signed;
  int32_t x_zp;
  const c8_tensor *w;    /* int8, constant */
  const c8_tensor *w_zp; /* NULL or all zero (else the fast path does not apply) */
  const int32_t *bias;   /* M values or NULL */
  bool out_s32;          /* ConvInteger */
  float x_scale, y_scale;
  const c8_tensor *w_scale; /* 1 or M floats */
  int32_t y_zp, lo, hi;     /* output zero point and clamp (type range narrowed by a fused Relu/Clip) */
  bool y_signed;
  int threads;
} c8_qconv_params;

/* Prepares the fast path. *out is NULL (and CALIB8_OK returned) when it does not apply (non-constant or
   non-int8 weights, weight zero points that are not 0). *scratch_bytes: what run needs. */
c8_status c8_qconv_fast_prepare(const c8_node *node, const c8_qconv_params *p, c8_qconv_fast **out,
                                size_t *scratch_bytes);
void c8_qconv_fast_run(const c8_qconv_fast *f, const void *x, void *y, void *scratch, struct c8_threadpool *pool);
void c8_qconv_fast_destroy(c8_qconv_fast *f);

#endif
