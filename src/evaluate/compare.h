/* Layer-wise comparison of an FP32 model and its INT8 (QDQ) model, tensor by tensor (TPU-MLIR's npz
 * compare, streamed): every float tensor the two models share by name is compared twice per batch.
 *
 *   accumulated: the INT8 model as it runs; the error a tensor carries includes everything upstream.
 *   isolated:    the INT8 model run with an observer that, after each step, replaces every shared tensor by
 *                the FP32 model's value for the same batch, so each layer only ever reads FP32 inputs
 *                (which still pass through the layer's own input QuantizeLinear/DequantizeLinear pairs).
 *                The error of a tensor is then that of its own layer alone.
 *
 * Where the replacement happens: a shared tensor X is compared first, then overwritten.
 *   - X made by a DequantizeLinear (calib8's naming: Producer -> "X_float" -> Q -> DQ -> "X"): X is compared
 *     as the layer made it, output rounding and clipping included, then overwritten with DQ(Q(FP32 X)) using
 *     the pair's own scale and zero point. Readers thus get FP32 X through X's quantization, exactly as if
 *     "X_float" had been replaced, but X's row keeps the layer's own rounding and clipping, so a bad threshold
 *     on X shows in X's row rather than in the next layer's.
 *   - any other shared X (a float layer, or ONNX Runtime's naming where X is the raw output feeding its Q/DQ):
 *     compared, then overwritten with FP32 X.
 * FP32 values are kept for one batch only (one copy of each shared tensor), so memory does not grow with
 * the number of samples; statistics are streaming sums (evaluate/similarity.h). */
#ifndef C8_EVALUATE_COMPARE_H
#define C8_EVALUATE_COMPARE_H

#include <stdbool.h>

#include "evaluate/similarity.h"
#include "run/session.h"

typedef struct c8_compare_row {
  const char *name; /* the shared tensor name */
  const char *op;   /* op type of its FP32 producer */
  const char *node; /* name of its FP32 producer */
  int fp32_value, int8_value;
  c8_similarity acc, iso;
  bool seen;     /* compared at least once (float in both models, same element count) */
  bool mismatch; /* element counts or types differed: not compared */
} c8_compare_row;

typedef struct c8_compare c8_compare;

/* Pairs the tensors of two sessions by name, in the FP32 graph's topological order. Fails with
 * CALIB8_INVALID_ARGUMENT when no node output of one model has the name of a node output of the other. */
c8_status c8_compare_create(calib8_session *fp32, calib8_session *int8, c8_compare **out);
/* Runs both models on one batch (three runs: FP32, INT8, INT8 isolated). `rows` is the number of real
 * samples at the start of the batch (the rest is padding and is not scored in tensors led by the batch). */
c8_status c8_compare_run(c8_compare *c, int n_inputs, const char *const *names, const calib8_tensor *inputs, int rows);
int c8_compare_row_count(const c8_compare *c);
const c8_compare_row *c8_compare_row_at(const c8_compare *c, int i);
void c8_compare_destroy(c8_compare *c);

/* QuantizeLinear then DequantizeLinear of n floats as the ONNX operators compute them (round half to even,
 * saturation to the int8/uint8 range of `qtype`), per tensor or along an axis viewed as [outer, ch, inner]. */
void c8_fake_quant(const float *x, float *y, int64_t outer, int64_t ch, int64_t inner, const float *q_scale,
                   const float *dq_scale, const int32_t *q_zp, const int32_t *dq_zp, calib8_dtype qtype);

#endif
