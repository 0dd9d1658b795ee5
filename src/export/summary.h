/* The JSON summary of a quantization: options, per-tensor scales and zero points,
 * per-layer precision, multiply-accumulates in INT8, and for every node of the QDQ
 * model the node of the original model it came from (AMCT's quant-info mapping). */
#ifndef C8_EXPORT_SUMMARY_H
#define C8_EXPORT_SUMMARY_H

#include <cjson/cJSON.h>

#include "plan/qplan.h"
#include "run/plan.h"

/* Multiply-accumulates per sample of Conv/ConvTranspose/Gemm/MatMul (all, and those in INT8) from the shapes of an
 * execution plan of the same graph (any batch size). */
void c8_qplan_count_macs(c8_qplan *p, const c8_plan *shapes);
/* Multiply-accumulates per sample of node i of g (0 for nodes that are not Conv/ConvTranspose/Gemm/MatMul, or
 * when `shapes` is NULL or of another graph). */
int64_t c8_node_macs(const c8_graph *g, const c8_plan *shapes, int i);

/* Builds the summary object (caller owns it). `original` is the model as loaded (origin names), `qdq` the
 * exported graph. NULL on out-of-memory. */
cJSON *c8_summary_json(const c8_qplan *p, const c8_calibration *cal, const c8_graph *original, const c8_graph *qdq);

#endif
