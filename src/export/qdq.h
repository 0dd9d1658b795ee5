/* Builds the QDQ ONNX graph of a quantization plan: a QuantizeLinear /
 * DequantizeLinear pair on every int8 tensor, int8 weight initializers
 * (per channel with `axis`, or per tensor) behind a DequantizeLinear, and the
 * bias as int32 with scale s_in * s_w. Tensor names are kept: the pair's
 * DequantizeLinear output has the original name, so the FP32 and QDQ models
 * can be compared tensor by tensor. */
#ifndef C8_EXPORT_QDQ_H
#define C8_EXPORT_QDQ_H

#include "plan/qplan.h"

c8_status c8_qdq_build(const c8_qplan *p, c8_graph **out);

#endif
