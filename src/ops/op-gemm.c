/* Gemm (ONNX Gemm-7/9/11/13): Y = alpha * A' · B' + beta * C, with A' = transA ? A^T : A,
 * B' likewise, and C unidirectionally broadcast to [M, N] (scalar, [N], [1,N], [M,1], [M,N]).
 * C of shape [N]/[1,N] or [M,1] with beta = 1 becomes the GEMM's column or row bias;
 * any other C is first written as beta * C into Y, which the GEMM then accumulates into.
 *
 * Constant B (a fully connected layer's weights) with M <= N and no C but a bias: the transposed problem
 * Y^T = B'^T · A'^T runs instead, with B'^T packed once at prepare as the GEMM's A operand, so a run packs only
 * the activations (K x M) instead of the weights (K x N), which dominated at batch 1. Y^T is written to scratch
 * and transposed (at M = 1 it is Y itself). Each element is the same sum in the same order either way, so the
 * results are identical. */
#include <stdlib.h>
#include <string.h>

#include "core/threadpool.h"
#include "kernels/gemm/gemm.h"
#include "ops/op.h"

typedef struct gemm_state {
  float alpha, beta;
  bool ta, tb;
  int64_t m, n, k;
  int64_t cm, cn; /* C broadcast to [M, N] from [cm, cn] (each 1 or full); cm = 0 when there is no C term */
  int bias_kind;  /* C8_GEMM_BIAS_* when C is applied as the epilogue bias */
  float *wt_packed; /* B'^T packed as a GEMM A operand (the transposed problem), or NULL */
  size_t yt_bytes;  /* scratch for Y^T before the transpose (0 at M = 1) */
} gemm_state;

static void gemm_destroy(void *state) {
  gemm_state *s = state;
  if (s) c8_free(s->wt_packed);
  c8_mfree(s);
}

static c8_status gemm_prepare(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out) {
  const c8_node *node = k->node;
  c8_status st = c8_check_inputs(node, n_in, 2, 3);
  if (st) return st;
  if (n_out != 1 || !out[0]) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "has %d outputs, expected 1", n_out);
  if (!in[0] || !in[1]) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "input A or B is missing");
  for (int i = 0; i < n_in; i++)
    if (in[i] && (st = c8_check_dtype(node, in[i], i, CALIB8_FLOAT))) return st;
  const c8_tensor *A = in[0], *B = in[1], *C = n_in > 2 ? in[2] : NULL;
  if (A->rank != 2 || B->rank != 2)
    return c8_node_error(node, CALIB8_MALFORMED_MODEL, "A %s and B %s must both be 2-D", C8_SHAPE_STR(A),
                         C8_SHAPE_STR(B));
  gemm_state *s = c8_calloc(1, sizeof *s);
  if (!s) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory preparing node '%s'", node->name);
  k->state = s;
  s->alpha = c8_attr_float(node, "alpha", 1.0f);
  s->beta = c8_attr_float(node, "beta", 1.0f);
  s->ta = c8_attr_int(node, "transA", 0) != 0;
  s->tb = c8_attr_int(node, "transB", 0) != 0;
  s->m = s->ta ? A->dims[1] : A->dims[0];
  s->k = s->ta ? A->dims[0] : A->dims[1];
  int64_t kb = s->tb ? B->dims[1] : B->dims[0];
  s->n = s->tb ? B->dims[0] : B->dims[1];
  if (kb != s->k)
    return c8_node_error(node, CALIB8_INVALID_ARGUMENT,
                         "A %s (transA=%d) has K = %lld but B %s (transB=%d) has K = %lld", C8_SHAPE_STR(A), s->ta,
                         (long long)s->k, C8_SHAPE_STR(B), s->tb, (long long)kb);
  if (C && s->beta != 0.0f) {
    if (C->rank > 2)
      return c8_node_error(node, CALIB8_INVALID_ARGUMENT, "C %s has rank %d; it must broadcast to [%lld,%lld]",
                           C8_SHAPE_STR(C), C->rank, (long long)s->m, (long long)s->n);
    s->cm = C->rank == 2 ? C->dims[0] : 1;
    s->cn = C->rank >= 1 ? C->dims[C->rank - 1] : 1;
    if ((s->cm != 1 && s->cm != s->m) || (s->cn != 1 && s->cn != s->n))
      return c8_node_error(node, CALIB8_INVALID_ARGUMENT, "C %s cannot be broadcast to [%lld,%lld]", C8_SHAPE_STR(C),
                           (long long)s->m, (long long)s->n);
    if (s->beta == 1.0f && s->cm == 1 && s->cn == s->n && s->n > 1) s->bias_kind = C8_GEMM_BIAS_COL;
    else if (s->beta == 1.0f && s->cn == 1 && s->cm == s->m && s->m > 1) s->bias_kind = C8_GEMM_BIAS_ROW;
  }
  const int threads = c8_threadpool_size(k->pool);
  if (B->data && s->m <= s->n && s->m > 0 && s->k > 0 && (!s->cm || !C || s->beta == 0.0f || s->bias_kind)) {
    const c8_f32_gemm_config *cfg = c8_f32_gemm_config_default();
    s->wt_packed = c8_alloc(c8_f32_gemm_packed_a_floats(cfg, (size_t)s->n, (size_t)s->k) * sizeof(float));
    if (!s->wt_packed) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory packing the weights of node '%s'", node->name);
    /* B'^T is [N, K]: B itself when transB, else B ([K, N]) read transposed */
    c8_f32_gemm_pack_a(cfg, (size_t)s->n, (size_t)s->k, B->data, (size_t)B->dims[1], !s->tb, s->wt_packed);
    s->yt_bytes = s->m > 1 ? ((size_t)(s->m * s->n) * sizeof(float) + 63) / 64 * 64 : 0;
    k->scratch_bytes = s->yt_bytes + c8_f32_gemm_parallel_workspace_bytes(NULL, (size_t)s->n, (size_t)s->m,
                                                                          (size_t)s->k, true, threads);
  } else {
    k->scratch_bytes = c8_f32_gemm_parallel_workspace_bytes(NULL, (size_t)s->m, (size_t)s->n, (size_t)s->k, false,
                                                           threads);
  }
  out[0]->dtype = CALIB8_FLOAT;
  out[0]->rank = 2;
  out[0]->dims[0] = s->m;
  out[0]->dims[1] = s->n;
  return CALIB8_OK;
}

static c8_status gemm_run(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out,
                          void *scratch) {
  (void)n_out;
  const gemm_state *s = k->state;
  const c8_tensor *A = in[0], *B = in[1];
  const float *c = n_in > 2 && in[2] ? in[2]->data : NULL;
  float *y = out[0]->data;
  c8_f32_gemm_args g;
  c8_f32_gemm_args_init(&g);
  if (s->wt_packed) { /* Y^T [N, M] = B'^T [N, K] (packed) x A'^T [K, M] */
    float *yt = s->yt_bytes ? scratch : y;
    g.m = (size_t)s->n, g.n = (size_t)s->m, g.k = (size_t)s->k;
    g.a_packed = s->wt_packed;
    /* A'^T: A ([M, K]) read transposed, or A ([K, M]) as it is when transA */
    g.b = A->data, g.ldb = (size_t)A->dims[1], g.trans_b = !s->ta;
    g.c = yt, g.ldc = (size_t)s->m;
    g.alpha = s->alpha;
    if (s->cm && c && s->bias_kind) { /* Y's per-column bias is Y^T's per-row bias, and the other way round */
      g.bias_kind = s->bias_kind == C8_GEMM_BIAS_COL ? C8_GEMM_BIAS_ROW : C8_GEMM_BIAS_COL;
      g.bias = c;
    }
    c8_f32_gemm_parallel(NULL, &g, (char *)scratch + s->yt_bytes, k->pool);
    if (s->yt_bytes)
      for (int64_t i = 0; i < s->m; i++)
        for (int64_t j = 0; j < s->n; j++) y[i * s->n + j] = yt[j * s->m + i];
    return CALIB8_OK;
  }
  g.m = (size_t)s->m, g.n = (size_t)s->n, g.k = (size_t)s->k;
  g.a = A->data, g.lda = (size_t)A->dims[1], g.trans_a = s->ta;
  g.b = B->data, g.ldb = (size_t)B->dims[1], g.trans_b = s->tb;
  g.c = y, g.ldc = (size_t)s->n;
  g.alpha = s->alpha;
  if (s->cm && c) {
    if (s->bias_kind) {
      g.bias_kind = s->bias_kind;
      g.bias = c;
    } else {
      for (int64_t i = 0; i < s->m; i++)
        for (int64_t j = 0; j < s->n; j++)
          y[i * s->n + j] = s->beta * c[(s->cm == 1 ? 0 : i) * s->cn + (s->cn == 1 ? 0 : j)];
      g.accumulate = true;
    }
  }
  c8_f32_gemm_parallel(NULL, &g, scratch, k->pool);
  return CALIB8_OK;
}

/* Output elements times the reduced dimension K: A's last, or its first with transA. */
static int64_t gemm_macs(const c8_node *n, const c8_tensor *x, const c8_tensor *w, const c8_tensor *y) {
  (void)w;
  int64_t k = x->rank > 0 ? x->dims[x->rank - 1] : 1;
  if (c8_attr_int(n, "transA", 0) && x->rank == 2) k = x->dims[0];
  return c8_numel(y) * k;
}

const c8_op_def c8_op_gemm = {
    .name = "Gemm", .domain = "", .prepare = gemm_prepare, .run = gemm_run, .destroy = gemm_destroy,
    .qrole = C8_QROLE_COMPUTE_ANY, .values = C8_VALUES_COMPUTED, .batch = C8_BATCH_ANY_AXIS, .fuse = C8_FUSE_NONE,
    .weight_axis = C8_AXIS_GEMM_B, .weight_gran = C8_WGRAN_CHANNEL, .mean_axis = C8_AXIS_GEMM_A,
    .bias = C8_BIAS_INPUT2, .macs = gemm_macs};
