/* Text artifacts of a quantization: the calibration table, the TensorRT
 * calibration cache and the qtable (per-layer precision, TPU-MLIR style). */
#ifndef C8_EXPORT_TABLES_H
#define C8_EXPORT_TABLES_H

#include "plan/qplan.h"

/* "# calib8 calibration table ..." header, then one `tensor threshold min max` line per
 * quantized tensor, sorted by name (byte-identical for the same statistics). */
c8_status c8_calib_table_write(const c8_qplan *p, const c8_calibration *cal, const char *path);
/* TensorRT calibration cache: "TRT-8601-EntropyCalibration2" then `name: <hex of float32 scale>`
 * (big-endian bits, as TensorRT writes them), scale = threshold / 127. */
c8_status c8_trt_cache_write(const c8_qplan *p, const char *path);
/* One `layer_name INT8|F32` line per node that could compute in INT8 or was forced. */
c8_status c8_qtable_write(const c8_qplan *p, const char *path);
/* Reads a qtable (TPU-MLIR's format: `layer_or_tensor_name MODE` per line, '#' comments) into per-node
 * precisions (array of g->n_nodes, C8_PREC_AUTO where not listed). A name is a node, or a tensor standing for the
 * node that computes it. MODE is INT8, F32/FP32, or F16/FP16/BF16 (kept in floating point: FP32, with half[i]
 * set when half is not NULL), any case. An unknown name or mode fails naming the file, the line and the word. */
/* AMCT's record (its scale_offset_record text): per INT8 Conv/ConvTranspose/Gemm/MatMul of the QDQ graph, the
 * activation input's scale_d and offset_d (in int8 terms: a uint8 zero point minus 128) and the weight's
 * scale_w and offset_w, one per channel. */
c8_status c8_record_write(const c8_graph *qdq, const char *path);
/* The float scale and the zero point constants of the DequantizeLinear producing value v in a QDQ graph, or
 * false; a zero point as int8 (a uint8 one minus 128, as the record writes offsets). */
bool c8_dq_consts(const c8_graph *g, int v, const c8_tensor **scale, const c8_tensor **zp);
int c8_dq_zero_point(const c8_tensor *zp, int64_t i);
c8_status c8_qtable_read(const char *path, const c8_graph *g, c8_precision *prec, bool *half);

#endif
