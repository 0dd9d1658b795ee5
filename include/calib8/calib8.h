/* calib8 — post-training INT8 quantization and a CPU inference engine for ONNX models.
 *
 * The whole pipeline is in this API (docs/api.md): load a model, run it (this header), open datasets
 * (calib8/dataset.h), calibrate (calib8/calibration.h), plan and export the INT8 model (calib8/plan.h),
 * evaluate and compare (calib8/evaluate.h), search automatically (calib8/search.h). The calib8 command, the
 * Python package and the remote-mode server are clients of it.
 *
 * Usage (run an FP32 model once):
 *
 *   calib8_model *model = NULL;
 *   calib8_session *session = NULL;
 *   if (calib8_model_load("net.onnx", &model) != CALIB8_OK) {
 *     fprintf(stderr, "%s\n", calib8_last_error());
 *     return 1;
 *   }
 *   calib8_session_options opts = calib8_session_options_default();
 *   if (calib8_session_create(model, &opts, &session) != CALIB8_OK) { ... }
 *   calib8_tensor x = {CALIB8_FLOAT, 4, {1, 3, 224, 224}, pixels};
 *   const char *names[] = {"input"};
 *   if (calib8_session_run(session, 1, names, &x) != CALIB8_OK) { ... }
 *   calib8_tensor y;
 *   calib8_session_output(session, 0, &y);   // y.data is owned by the session,
 *                                            // valid until the next run
 *   calib8_session_destroy(session);
 *   calib8_model_destroy(model);
 *
 * Every function that can fail returns a calib8_status; on failure
 * calib8_last_error() holds one sentence naming the file, node or value and
 * the rule it broke (thread-local, valid until the next failing call).
 * Output pointers are assigned only on success. destroy(NULL) is a no-op.
 */
#ifndef CALIB8_H
#define CALIB8_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CALIB8_VERSION "0.1.0"

#define CALIB8_STATUS_LIST(X)                                   \
  X(CALIB8_OK, "ok")                                            \
  X(CALIB8_INVALID_ARGUMENT, "invalid argument")                \
  X(CALIB8_MALFORMED_MODEL, "malformed model")                  \
  X(CALIB8_UNSUPPORTED, "unsupported")                          \
  X(CALIB8_UNSUPPORTED_HARDWARE, "unsupported hardware")        \
  X(CALIB8_OUT_OF_MEMORY, "out of memory")                      \
  X(CALIB8_IO, "input/output error")                            \
  X(CALIB8_INTERNAL, "internal error")                          \
  X(CALIB8_CANCELLED, "cancelled")                              \
  X(CALIB8_BUDGET_NOT_MET, "no trial met the accuracy budget")

typedef enum calib8_status {
#define CALIB8_X(code, text) code,
  CALIB8_STATUS_LIST(CALIB8_X)
#undef CALIB8_X
} calib8_status;

/* The message of the last failure on this thread. Never NULL. */
const char *calib8_last_error(void);
/* A short name for a status code ("malformed model"). */
const char *calib8_status_string(calib8_status status);

/* ---- memory --------------------------------------------------------------- */

typedef void *(*calib8_malloc_fn)(size_t size);
typedef void *(*calib8_realloc_fn)(void *ptr, size_t size);
typedef void *(*calib8_calloc_fn)(size_t count, size_t size);
typedef void (*calib8_free_fn)(void *ptr);

/* Replaces the allocator behind every heap allocation the library makes (as libuv's uv_replace_allocator):
 * call it once, before any other calib8 function, and never while calib8 objects are alive. All four
 * functions, or all NULL to restore the C library's. Memory held by the libraries calib8 uses for files
 * (libpng, libjpeg, libzip, LMDB, protobuf-c) is theirs. Returns CALIB8_INVALID_ARGUMENT when only some are
 * given. */
calib8_status calib8_replace_allocator(calib8_malloc_fn malloc_fn, calib8_realloc_fn realloc_fn,
                                       calib8_calloc_fn calloc_fn, calib8_free_fn free_fn);
/* Frees memory a calib8 function returned to the caller (strings, arrays); NULL is a no-op. */
void calib8_free(void *ptr);

/* Element types use ONNX TensorProto.DataType numbering. */
typedef enum calib8_dtype {
  CALIB8_UNDEFINED = 0,
  CALIB8_FLOAT = 1,
  CALIB8_UINT8 = 2,
  CALIB8_INT8 = 3,
  CALIB8_UINT16 = 4,
  CALIB8_INT16 = 5,
  CALIB8_INT32 = 6,
  CALIB8_INT64 = 7,
  CALIB8_STRING = 8,
  CALIB8_BOOL = 9,
  CALIB8_FLOAT16 = 10,
  CALIB8_DOUBLE = 11,
  CALIB8_UINT32 = 12,
  CALIB8_UINT64 = 13,
} calib8_dtype;

#define CALIB8_MAX_RANK 8

/* A dense row-major tensor. data is borrowed unless a function says otherwise. */
typedef struct calib8_tensor {
  calib8_dtype dtype;
  int rank;
  int64_t dims[CALIB8_MAX_RANK];
  void *data;
} calib8_tensor;

size_t calib8_dtype_size(calib8_dtype dtype);     /* 0 for unsupported types */
const char *calib8_dtype_name(calib8_dtype dtype); /* "float32", "int64", ... */
int64_t calib8_tensor_numel(const calib8_tensor *t);

/* ---- models ---------------------------------------------------------------- */

typedef struct calib8_model calib8_model;

/* Loads an ONNX file. External data files are resolved relative to the model's
 * folder. Returns CALIB8_IO (unreadable), CALIB8_MALFORMED_MODEL (corrupt,
 * truncated, inconsistent) or CALIB8_UNSUPPORTED (opset, operator, dtype). */
calib8_status calib8_model_load(const char *path, calib8_model **out_model);
void calib8_model_destroy(calib8_model *model);

/* Description of a graph input or output. Dynamic dimensions are -1 with their
 * symbolic name in dim_names[i] (NULL when the dimension is fixed). */
typedef struct calib8_value_info {
  const char *name;
  calib8_dtype dtype;
  int rank; /* -1 when the model does not declare a shape */
  int64_t dims[CALIB8_MAX_RANK];
  const char *dim_names[CALIB8_MAX_RANK];
} calib8_value_info;

int calib8_model_input_count(const calib8_model *model);
int calib8_model_output_count(const calib8_model *model);
calib8_status calib8_model_input_info(const calib8_model *model, int index, calib8_value_info *out);
calib8_status calib8_model_output_info(const calib8_model *model, int index, calib8_value_info *out);
int calib8_model_opset(const calib8_model *model);
int64_t calib8_model_parameter_count(const calib8_model *model);
/* Node count and operator histogram of the graph as loaded (before optimization). */
int calib8_model_node_count(const calib8_model *model);
const char *calib8_model_node_op(const calib8_model *model, int index);
const char *calib8_model_node_name(const calib8_model *model, int index);
/* Prints what `calib8 info` prints to f: "model: <path>", the opset, every input and output (name, dtype, shape
 * with dynamic dimensions by name), the operator histogram (most frequent first), the parameter count, and with
 * heads the detection heads calib8_model_heads finds. path only names the model. CALIB8_INVALID_ARGUMENT (NULL
 * model, path or f), CALIB8_OUT_OF_MEMORY. */
calib8_status calib8_model_print(const calib8_model *model, const char *path, int heads, FILE *f);

/* ---- sessions --------------------------------------------------------------- */

typedef struct calib8_session calib8_session;

typedef struct calib8_session_options {
  int threads;  /* worker threads; 0 = number of cores */
  int optimize; /* 1 = graph optimizations (BN folding, fusion); 0 = run the graph as written */
  /* A batch of a per-sample model (no operator mixes samples) runs as independent sub-batches spread over
     the threads. 0 = automatic sub-batch size (from the model and the batch only, so results do not depend
     on the thread count); -1 = never split; S > 0 = sub-batches of S samples when S divides the batch. */
  int sub_batch;
} calib8_session_options;

calib8_session_options calib8_session_options_default(void);
/* sub_batch by name, as `calib8 run --sub-batch` reads it: "auto" (0), "off" (-1) or a number of samples from 1 to
 * 1048576. *sub_batch is assigned only on success. CALIB8_INVALID_ARGUMENT quoting the text (NULL: "(nothing)"). */
calib8_status calib8_session_options_parse_sub_batch(const char *text, int *sub_batch);
/* Seconds on the monotonic clock the library times its work with (calibration and trial seconds). */
double calib8_now(void);

calib8_status calib8_session_create(const calib8_model *model, const calib8_session_options *options,
                                    calib8_session **out_session);
void calib8_session_destroy(calib8_session *session);

/* Runs the model. names[i] names the graph input that inputs[i] feeds; NULL
 * names are allowed when the model has exactly one input. Shapes are checked
 * against the model's declared shapes; dynamic dimensions are bound from them.
 * The input data is borrowed for the duration of the call. */
calib8_status calib8_session_run(calib8_session *session, int n_inputs, const char *const *names,
                                 const calib8_tensor *inputs);

int calib8_session_output_count(const calib8_session *session);
const char *calib8_session_output_name(const calib8_session *session, int index);
/* Samples per sub-batch of the last run when it ran as sub-batches (calib8_session_options.sub_batch), else
   0. */
int calib8_session_sub_batch(const calib8_session *session);
/* Integer kernels (docs/int8.md): how many of the session's compute layers (Conv, ConvTranspose, Gemm, MatMul)
   run on int8 kernels in plain runs, the return value, out of *n_layers (when not NULL). Still opt-in: a
   session folds QDQ chains onto integer kernels only when the environment has CALIB8_INT8=1 at creation;
   without it the return value is -1 (every layer is then a fallback, and *n_layers is still set). */
int calib8_session_int8_layers(const calib8_session *session, int *n_layers);
/* The index-th layer (0 <= index < n_layers - the count above) that does not run on integer kernels: its node
   name, and in *why (when not NULL) one sentence saying why; NULL past the end. Both strings are the session's,
   valid while it lives. */
const char *calib8_session_int8_fallback(const calib8_session *session, int index, const char **why);
/* A view of output `index` from the last run; valid until the next run or destroy. */
calib8_status calib8_session_output(const calib8_session *session, int index, calib8_tensor *out_view);
/* Writes every output of the last run as DIR/<name>.npy, all of them or none (calib8_write_group_begin), creating
 * dir when it does not exist; every character of a name outside [A-Za-z0-9._-] becomes '_' in its file name. log
 * (may be NULL) receives one line per output written: "output NAME DTYPE [d0,d1,...] -> PATH". CALIB8_IO: dir is
 * not a folder or cannot be created or written, two outputs map to one file name, a file fails;
 * CALIB8_INVALID_ARGUMENT (NULL session or dir). */
calib8_status calib8_session_write_outputs(const calib8_session *session, const char *dir, FILE *log);

#ifdef __cplusplus
}
#endif

/* The quantization pipeline, one header per object. */
#include "calib8/dataset.h"     /* datasets and preprocessing */
#include "calib8/calibration.h" /* histograms and thresholds */
#include "calib8/plan.h"        /* quantization plans and their artefacts */
#include "calib8/evaluate.h"    /* metrics and layer-wise comparison */
#include "calib8/search.h"      /* the automatic search and sensitivity */
#include "calib8/report.h"      /* the HTML report */
#include "calib8/serve.h"       /* remote mode: the search scored by clients over HTTP */

#endif
