/* MatMul (ONNX MatMul-1/9/13): numpy.matmul semantics. A 1-D first input is a row
 * vector [1,K] and a 1-D second input a column vector [K,1], the added dim being
 * removed from the result; leading (batch) dims broadcast. When B has no batch dims
 * the batch folds into M and one GEMM does the whole product. */
#include <stdlib.h>
#include <string.h>

#include "core/threadpool.h"
#include "kernels/gemm/gemm.h"
#include "ops/op-matmul.h"

c8_status c8_matmul_shape(const c8_node *node, const c8_tensor *a, const c8_tensor *b, c8_tensor *out,
                          c8_matmul_dims *s) {
  if (a->rank < 1 || b->rank < 1)
    return c8_node_error(node, CALIB8_INVALID_ARGUMENT, "inputs %s and %s must have rank 1 or more", C8_SHAPE_STR(a),
                         C8_SHAPE_STR(b));
  const bool a1 = a->rank == 1, b1 = b->rank == 1;
  s->m = a1 ? 1 : a->dims[a->rank - 2];
  s->k = a->dims[a->rank - 1];
  int64_t kb = b1 ? b->dims[0] : b->dims[b->rank - 2];
  s->n = b1 ? 1 : b->dims[b->rank - 1];
  if (kb != s->k)
    return c8_node_error(node, CALIB8_INVALID_ARGUMENT, "A %s has K = %lld but B %s has K = %lld", C8_SHAPE_STR(a),
                         (long long)s->k, C8_SHAPE_STR(b), (long long)kb);
  const int ar = a1 ? 0 : a->rank - 2, brk = b1 ? 0 : b->rank - 2;
  s->br = ar > brk ? ar : brk;
  int out_rank = s->br + (a1 ? 0 : 1) + (b1 ? 0 : 1);
  if (out_rank > C8_MAX_RANK)
    return c8_node_error(node, CALIB8_UNSUPPORTED, "the output would have rank %d (max %d)", out_rank, C8_MAX_RANK);
  /* Row-major strides of A's and B's batch dims, in matrices. */
  int64_t as = 1, bs = 1;
  s->batch = 1;
  for (int i = s->br - 1; i >= 0; i--) {
    int ia = i - (s->br - ar), ib = i - (s->br - brk);
    int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
    if (da != db && da != 1 && db != 1)
      return c8_node_error(node, CALIB8_INVALID_ARGUMENT, "batch dims of %s and %s cannot be broadcast together",
                           C8_SHAPE_STR(a), C8_SHAPE_STR(b));
    s->bdims[i] = da == 1 ? db : da;
    s->astride[i] = da == 1 ? 0 : as;
    s->bstride[i] = db == 1 ? 0 : bs;
    as *= da;
    bs *= db;
    s->batch *= s->bdims[i];
  }
  /* Folding needs B shared by every batch and A not broadcast (its batches are the output's). */
  s->fold = bs == 1 && as == s->batch;
  out->rank = out_rank;
  for (int i = 0; i < s->br; i++) out->dims[i] = s->bdims[i];
  int r = s->br;
  if (!a1) out->dims[r++] = s->m;
  if (!b1) out->dims[r++] = s->n;
  return CALIB8_OK;
}

static c8_status matmul_prepare(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out) {
  const c8_node *node = k->node;
  c8_status st = c8_check_inputs(node, n_in, 2, 2);
  if (st) return st;
  if (n_out != 1 || !out[0]) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "has %d outputs, expected 1", n_out);
  if (!in[0] || !in[1]) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "input A or B is missing");
  if ((st = c8_check_dtype(node, in[0], 0, CALIB8_FLOAT)) || (st = c8_check_dtype(node, in[1], 1, CALIB8_FLOAT)))
    return st;
  c8_matmul_dims *s = c8_calloc(1, sizeof *s);
  if (!s) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory preparing node '%s'", node->name);
  k->state = s;
  if ((st = c8_matmul_shape(node, in[0], in[1], out[0], s))) return st;
  out[0]->dtype = CALIB8_FLOAT;
  size_t m = (size_t)(s->fold ? s->batch * s->m : s->m);
  const int threads = c8_threadpool_size(k->pool);
  /* fold: one GEMM split over the threads; else whole batch items per thread, or each item split */
  size_t one = c8_f32_gemm_workspace_bytes(NULL, m, (size_t)s->n, (size_t)s->k, false);
  one = (one + 63) / 64 * 64;
  size_t par = c8_f32_gemm_parallel_workspace_bytes(NULL, m, (size_t)s->n, (size_t)s->k, false, threads);
  k->scratch_bytes = one * (size_t)threads > par ? one * (size_t)threads : par;
  return CALIB8_OK;
}

typedef struct batch_job {
  const c8_matmul_dims *s;
  const c8_f32_gemm_args *g;
  const float *a, *b;
  float *y;
  unsigned char *scratch;
  size_t ws_one;
} batch_job;

/* Whole batch items [t0, t1), each one GEMM with this thread's workspace. */
static void batch_range(void *vjob, int64_t t0, int64_t t1, int thread) {
  const batch_job *j = vjob;
  const c8_matmul_dims *s = j->s;
  c8_f32_gemm_args g = *j->g;
  for (int64_t t = t0; t < t1; t++) {
    int64_t ao, bo;
    c8_matmul_batch_offsets(s, t, &ao, &bo);
    g.a = j->a + ao * s->m * s->k;
    g.b = j->b + bo * s->k * s->n;
    g.c = j->y + t * s->m * s->n;
    c8_f32_gemm(NULL, &g, j->scratch + (size_t)thread * j->ws_one);
  }
}

static c8_status matmul_run(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out,
                            void *scratch) {
  (void)n_in, (void)n_out;
  const c8_matmul_dims *s = k->state;
  const float *a = in[0]->data, *b = in[1]->data;
  float *y = out[0]->data;
  c8_f32_gemm_args g;
  c8_f32_gemm_args_init(&g);
  g.n = (size_t)s->n, g.k = (size_t)s->k;
  g.lda = (size_t)s->k, g.ldb = (size_t)s->n, g.ldc = (size_t)s->n;
  if (s->fold) {
    g.m = (size_t)(s->batch * s->m);
    g.a = a, g.b = b, g.c = y;
    c8_f32_gemm_parallel(NULL, &g, scratch, k->pool);
    return CALIB8_OK;
  }
  g.m = (size_t)s->m;
  const int threads = c8_threadpool_size(k->pool);
  if (threads > 1 && s->batch >= threads && (double)s->batch * (double)(s->m * s->n * s->k) >= 262144.0) {
    batch_job j = {.s = s, .g = &g, .a = a, .b = b, .y = y, .scratch = scratch};
    j.ws_one = (c8_f32_gemm_workspace_bytes(NULL, g.m, g.n, g.k, false) + 63) / 64 * 64;
    c8_parallel_for(k->pool, s->batch, 1, batch_range, &j);
    return CALIB8_OK;
  }
  for (int64_t t = 0; t < s->batch; t++) {
    int64_t ao, bo;
    c8_matmul_batch_offsets(s, t, &ao, &bo);
    g.a = a + ao * s->m * s->k;
    g.b = b + bo * s->k * s->n;
    g.c = y + t * s->m * s->n;
    c8_f32_gemm_parallel(NULL, &g, scratch, k->pool);
  }
  return CALIB8_OK;
}

/* Output elements times the reduced dimension, A's last. */
static int64_t matmul_macs(const c8_node *n, const c8_tensor *x, const c8_tensor *w, const c8_tensor *y) {
  (void)n, (void)w;
  return c8_numel(y) * (x->rank > 0 ? x->dims[x->rank - 1] : 1);
}

/* Weights quantized per tensor (what ONNX Runtime's integer kernels take); its input 1 may be a second
   activation (attention's Q x K^T). */
const c8_op_def c8_op_matmul = {
    .name = "MatMul", .domain = "", .prepare = matmul_prepare, .run = matmul_run,
    .qrole = C8_QROLE_COMPUTE_ANY, .values = C8_VALUES_COMPUTED, .batch = C8_BATCH_ANY_AXIS, .fuse = C8_FUSE_NONE,
    .weight_axis = C8_AXIS_LAST, .weight_gran = C8_WGRAN_TENSOR, .mean_axis = C8_AXIS_LAST,
    .bias = C8_BIAS_ADD_AFTER, .macs = matmul_macs};
