/* Softmax-1/11/13, LogSoftmax-1/11/13, Hardmax-1/11/13.
 * Before opset 13 the input is coerced to 2-D [prod(dims[:axis]), prod(dims[axis:])] (axis default 1) and
 * normalized over each row; from 13 on the operator works along `axis` (default -1) alone.
 * Numerically stable: the maximum is subtracted before exponentiating. Hardmax marks the first maximum.
 * Along the last axis each row is contiguous; along another axis the kernel sweeps the `inner` positions
 * together, so every loop runs over contiguous memory and vectorizes (scratch: 2 * inner floats).
 */
/* Let GCC if-convert the selects of the branch-free math (fp-math.h) so its loops vectorize: with the
 * default -ftrapping-math it refuses to speculate float operations that might raise FP exceptions,
 * which calib8 never inspects. Results are unchanged. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/threadpool.h"
#include "ops/fp-math.h"
#include "ops/op.h"

enum { SOFTMAX, LOG_SOFTMAX, HARDMAX };

typedef struct softmax_state {
  int mode;
  bool avx2;
  int64_t outer, len, inner;
} softmax_state;

static c8_status softmax_prepare_mode(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out,
                                      int n_out, int mode) {
  const c8_node *node = k->node;
  c8_status st = c8_check_inputs(node, n_in, 1, 1);
  if (st) return st;
  if (!in[0]) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "input 0 is missing");
  if (n_out < 1 || !out[0]) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "output 0 is missing");
  if ((st = c8_check_dtype(node, in[0], 0, CALIB8_FLOAT))) return st;
  const c8_tensor *x = in[0];
  bool legacy = k->opset < 13;
  int axis;
  if (x->rank == 0) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "input 0 is a scalar; it needs rank >= 1");
  if ((st = c8_norm_axis(node, c8_attr_int(node, "axis", legacy ? 1 : -1), x->rank, &axis))) return st;
  softmax_state *s = c8_calloc(1, sizeof *s);
  if (!s) return c8_error(CALIB8_OUT_OF_MEMORY, "node '%s': out of memory", node->name);
  k->state = s;
  s->mode = mode;
  s->avx2 = c8_use_avx2();
  s->outer = s->len = s->inner = 1;
  for (int i = 0; i < axis; i++) s->outer *= x->dims[i];
  if (legacy) {
    for (int i = axis; i < x->rank; i++) s->len *= x->dims[i];
  } else {
    s->len = x->dims[axis];
    for (int i = axis + 1; i < x->rank; i++) s->inner *= x->dims[i];
  }
  if (s->inner > 1)
    k->scratch_bytes = (2 * sizeof(float) * (size_t)s->inner + 63) / 64 * 64 * (size_t)c8_threadpool_size(k->pool);
  out[0]->dtype = CALIB8_FLOAT;
  out[0]->rank = x->rank;
  memcpy(out[0]->dims, x->dims, sizeof out[0]->dims);
  return CALIB8_OK;
}

/* One contiguous row of n > 0 values. */
static inline __attribute__((always_inline)) void row_kernel(float *y, const float *x, int64_t n, int mode) {
  float m = x[0];
  for (int64_t i = 1; i < n; i++) m = x[i] > m ? x[i] : m;
  if (mode == HARDMAX) {
    int64_t arg = 0;
    while (arg < n - 1 && !(x[arg] == m)) arg++;
    memset(y, 0, sizeof(float) * (size_t)n);
    y[arg] = 1.0f;
    return;
  }
  for (int64_t i = 0; i < n; i++) y[i] = c8_expf(x[i] - m);
  /* Eight partial sums: vectorizable and more accurate than one running sum. */
  float acc[8] = {0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int j = 0; j < 8; j++) acc[j] += y[i + j];
  float sum = 0;
  for (; i < n; i++) sum += y[i];
  sum += ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
  if (mode == SOFTMAX) {
    float inv = 1.0f / sum;
    for (i = 0; i < n; i++) y[i] *= inv;
  } else {
    /* (x - m) - log(sum), not x - (m + log(sum)): large m would swallow log(sum)'s digits. */
    float lse = logf(sum);
    for (i = 0; i < n; i++) y[i] = (x[i] - m) - lse;
  }
}

/* len values at stride `inner`, for `inner` neighbouring positions at once. */
static inline __attribute__((always_inline)) void strided_kernel(float *y, const float *x, int64_t len,
                                                                 int64_t inner, int mode, float *mx, float *sm) {
  memcpy(mx, x, sizeof(float) * (size_t)inner);
  for (int64_t a = 1; a < len; a++) {
    const float *xa = x + a * inner;
    for (int64_t j = 0; j < inner; j++) mx[j] = xa[j] > mx[j] ? xa[j] : mx[j];
  }
  if (mode == HARDMAX) {
    memset(y, 0, sizeof(float) * (size_t)(len * inner));
    for (int64_t j = 0; j < inner; j++) {
      int64_t arg = 0;
      while (arg < len - 1 && !(x[arg * inner + j] == mx[j])) arg++;
      y[arg * inner + j] = 1.0f;
    }
    return;
  }
  memset(sm, 0, sizeof(float) * (size_t)inner);
  for (int64_t a = 0; a < len; a++) {
    const float *xa = x + a * inner;
    float *ya = y + a * inner;
    for (int64_t j = 0; j < inner; j++) {
      float e = c8_expf(xa[j] - mx[j]);
      ya[j] = e;
      sm[j] += e;
    }
  }
  if (mode == SOFTMAX) {
    for (int64_t j = 0; j < inner; j++) sm[j] = 1.0f / sm[j];
    for (int64_t a = 0; a < len; a++) {
      float *ya = y + a * inner;
      for (int64_t j = 0; j < inner; j++) ya[j] *= sm[j];
    }
  } else {
    for (int64_t j = 0; j < inner; j++) sm[j] = logf(sm[j]);
    for (int64_t a = 0; a < len; a++) {
      const float *xa = x + a * inner;
      float *ya = y + a * inner;
      for (int64_t j = 0; j < inner; j++) ya[j] = (xa[j] - mx[j]) - sm[j];
    }
  }
}

/* All rows of one tensor; built twice, for the baseline and for AVX2. */
#define SOFTMAX_ALL(name, ATTR)                                                                                     \
  ATTR static void name(const softmax_state *s, float *y, const float *x, float *scratch, int64_t o0, int64_t o1) { \
    const int64_t block = s->len * s->inner;                                                                       \
    for (int64_t o = o0; o < o1; o++) {                                                                            \
      if (s->inner == 1) row_kernel(y + o * block, x + o * block, s->len, s->mode);                                \
      else strided_kernel(y + o * block, x + o * block, s->len, s->inner, s->mode, scratch, scratch + s->inner);  \
    }                                                                                                              \
  }
SOFTMAX_ALL(softmax_base, )
#if C8_AVX2_CLONES
SOFTMAX_ALL(softmax_avx2, C8_TARGET_AVX2)
#endif

typedef struct softmax_job {
  const softmax_state *s;
  float *y;
  const float *x;
  unsigned char *scratch;
  size_t scratch_one;
} softmax_job;

/* Rows [o0, o1); rows are independent, each computed the same way on any thread. */
static void softmax_range(void *vjob, int64_t o0, int64_t o1, int thread) {
  const softmax_job *j = vjob;
  float *scratch = j->scratch ? (float *)(j->scratch + (size_t)thread * j->scratch_one) : NULL; /* NULL + 0 is UB */
#if C8_AVX2_CLONES
  if (j->s->avx2) {
    softmax_avx2(j->s, j->y, j->x, scratch, o0, o1);
    return;
  }
#endif
  softmax_base(j->s, j->y, j->x, scratch, o0, o1);
}

static c8_status softmax_run(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out,
                             void *scratch) {
  (void)n_in, (void)n_out;
  const softmax_state *s = k->state;
  if (s->len == 0 || s->inner == 0) return CALIB8_OK;
  softmax_job j = {.s = s, .y = out[0]->data, .x = in[0]->data, .scratch = scratch};
  j.scratch_one = (2 * sizeof(float) * (size_t)s->inner + 63) / 64 * 64;
  const int64_t block = s->len * s->inner;
  c8_parallel_for(s->outer * block < 32768 ? NULL : k->pool, s->outer, block >= 8192 ? 1 : 8192 / block,
                  softmax_range, &j);
  return CALIB8_OK;
}

/* Batch splitting: Softmax normalizes along `axis`, or before opset 13 over every axis from `axis` on; samples
   stay apart when the batch is elsewhere (before those axes). */
static bool softmax_batch(const c8_batch_query *q) {
  if (q->ax < 0) return false;
  const int rank = q->in[0] ? q->in[0]->rank : 0;
  int64_t axis = c8_wrap_axis(c8_attr_int(q->node, "axis", q->opset < 13 ? 1 : -1), rank);
  return q->opset < 13 ? q->ax < axis : q->ax != axis;
}

/* Before opset 13 the input is coerced to 2-D at `axis` (default 1); from 13 on one axis is normalized (default
 * -1). Flatten has the old coercion, so Softmax_12(x, axis) = Reshape(Softmax_13(Flatten(x, axis), -1),
 * Shape(x)); with axis -1 both read the same. No shapes are needed. */
static c8_status softmax_upgrade(c8_graph *g, int k, int from, int to) {
  (void)to;
  if (from >= 13) return CALIB8_OK;
  int64_t axis = c8_attr_int(&g->nodes[k], "axis", 1);
  if (axis == -1) return CALIB8_OK;
  char op[32], name[480], hint[512];
  snprintf(op, sizeof op, "%s", g->nodes[k].op_type);
  snprintf(name, sizeof name, "%s", g->nodes[k].name);
  int x = g->nodes[k].in[0], y = g->nodes[k].out[0];
  snprintf(hint, sizeof hint, "%s_flat", name);
  int flat = c8_graph_add_unique_value(g, hint);
  snprintf(hint, sizeof hint, "%s_2d", name);
  int y2 = c8_graph_add_unique_value(g, hint);
  snprintf(hint, sizeof hint, "%s_shape", name);
  int shp = c8_graph_add_unique_value(g, hint);
  if (flat < 0 || y2 < 0 || shp < 0) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory upgrading node '%s'", name);
  c8_status st = c8_node_set_op(&g->nodes[k], "Flatten"); /* keeps `axis`: Flatten's coercion is Softmax-12's */
  if (st) return st;
  g->nodes[k].out[0] = flat;
  snprintf(hint, sizeof hint, "%s_opset13", name);
  int s = c8_graph_add_node(g, hint, op, "", 1, &flat, 1, &y2);
  c8_attr *a = s >= 0 ? c8_node_add_attr(&g->nodes[s], "axis", C8_ATTR_INT) : NULL;
  if (a) a->i = -1;
  snprintf(hint, sizeof hint, "%s_shape", name);
  int h = a ? c8_graph_add_node(g, hint, "Shape", "", 1, &x, 1, &shp) : -1;
  int rin[2] = {y2, shp};
  snprintf(hint, sizeof hint, "%s_reshape", name);
  int r = h >= 0 ? c8_graph_add_node(g, hint, "Reshape", "", 2, rin, 1, &y) : -1;
  if (r < 0) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory upgrading node '%s'", name);
  return CALIB8_OK;
}

#define SOFTMAX_OP(Name, sym, mode)                                                                            \
  static c8_status sym##_prepare(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out) { \
    return softmax_prepare_mode(k, in, n_in, out, n_out, mode);                                                 \
  }                                                                                                            \
  const c8_op_def c8_op_##sym = {.name = #Name, .domain = "", .prepare = sym##_prepare, .run = softmax_run, \
                                 .qrole = C8_QROLE_NONE, .values = C8_VALUES_COMPUTED, .batch = C8_BATCH_CHECK,  \
                                 .batch_check = softmax_batch, .fuse = C8_FUSE_NONE,                             \
                                 .upgrade = softmax_upgrade};

SOFTMAX_OP(Softmax, softmax, SOFTMAX)
SOFTMAX_OP(LogSoftmax, log_softmax, LOG_SOFTMAX)
SOFTMAX_OP(Hardmax, hardmax, HARDMAX)
