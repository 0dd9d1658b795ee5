/* calib8_model: a loaded ONNX graph, topologically sorted and checked, before optimization. */
#ifndef C8_LOAD_MODEL_H
#define C8_LOAD_MODEL_H

#include "graph/graph.h"

struct calib8_model {
  c8_graph *graph;
  char *path;
};

/* Parses an in-memory ONNX ModelProto. `dir` resolves external data (may be NULL),
 * `what` names the source in messages (a path). */
c8_status c8_onnx_parse(const void *bytes, size_t len, const char *dir, const char *what, c8_graph **out);

/* Parses a serialized TensorProto (the ONNX node tests' input_0.pb files). out->data is c8_alloc'd;
 * *out_name (malloc'd, may be "") receives the tensor's name when out_name is not NULL. */
c8_status c8_onnx_parse_tensor(const void *bytes, size_t len, const char *what, c8_tensor *out, char **out_name);

/* Reads a whole file. Caller frees *out_bytes. */
c8_status c8_read_file(const char *path, void **out_bytes, size_t *out_len);

#endif
