/* Writes a c8_graph as an ONNX ModelProto (protobuf-c), whole or not at all. */
#ifndef C8_EXPORT_ONNX_WRITE_H
#define C8_EXPORT_ONNX_WRITE_H

#include "graph/graph.h"

typedef struct c8_onnx_write_options {
  const char *producer; /* producer_name; default "calib8" */
  int opset;            /* ai.onnx opset to declare; 0 = the graph's (raised to 13 when per-axis QDQ is used) */
  const char *doc;      /* optional doc_string */
} c8_onnx_write_options;

/* Serializes into a malloc'd buffer. Constants become initializers (raw_data). */
c8_status c8_onnx_serialize(const c8_graph *g, const c8_onnx_write_options *o, void **out, size_t *out_len);
/* Serializes and writes atomically (temporary file beside `path`, then rename). */
c8_status c8_onnx_write(const c8_graph *g, const c8_onnx_write_options *o, const char *path);

#endif
