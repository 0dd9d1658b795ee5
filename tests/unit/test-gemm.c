/* The packed f32 GEMM against a naive triple loop (double accumulation), for every
 * micro-kernel configuration the CPU runs, on odd sizes, both transposes, packed A,
 * every epilogue, and sizes that cross the KC/MC/NC block edges.
 * `test-gemm --bench [M N K]` prints GFLOP/s instead (not run by CTest). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "core/tensor.h"
#include "core/threadpool.h"
#include "kernels/gemm/gemm.h"
#include "graph/graph.h"
#include "run/plan.h"

static uint32_t rng = 12345;
static float frand(void) {
  rng = rng * 1664525u + 1013904223u;
  return (float)((rng >> 8) & 0xffff) / 32768.0f - 1.0f;
}

static float *rand_buf(size_t n) {
  float *p = c8_alloc(n * sizeof(float) + 4);
  for (size_t i = 0; i < n; i++) p[i] = frand();
  return p;
}

typedef struct {
  bool ta, tb, packed, accumulate;
  int bias_kind;
  float alpha, min, max;
} variant;

/* One GEMM of size m x n x k with config cfg and variant v vs the reference. */
static void check_one(const c8_f32_gemm_config *cfg, size_t m, size_t n, size_t k, variant v) {
  size_t lda = (v.ta ? m : k) + 3, ldb = (v.tb ? k : n) + 1, ldc = n + 2;
  float *a = rand_buf((v.ta ? k : m) * lda), *b = rand_buf((v.tb ? n : k) * ldb);
  float *c = rand_buf(m * ldc), *c0 = c8_alloc(m * ldc * sizeof(float));
  memcpy(c0, c, m * ldc * sizeof(float));
  float *bias = rand_buf(m > n ? m : n);
  float *ap = NULL;
  c8_f32_gemm_args g;
  c8_f32_gemm_args_init(&g);
  g.m = m, g.n = n, g.k = k;
  g.a = a, g.lda = lda, g.trans_a = v.ta;
  if (v.packed) {
    ap = c8_alloc(c8_f32_gemm_packed_a_floats(cfg, m, k) * sizeof(float));
    c8_f32_gemm_pack_a(cfg, m, k, a, lda, v.ta, ap);
    g.a = NULL;
    g.a_packed = ap;
  }
  g.b = b, g.ldb = ldb, g.trans_b = v.tb;
  g.c = c, g.ldc = ldc;
  g.alpha = v.alpha;
  g.accumulate = v.accumulate;
  g.bias_kind = v.bias_kind;
  g.bias = v.bias_kind ? bias : NULL;
  g.min = v.min, g.max = v.max;
  void *ws = c8_alloc(c8_f32_gemm_workspace_bytes(cfg, m, n, k, v.packed));
  c8_f32_gemm(cfg, &g, ws);
  int bad = 0;
  for (size_t i = 0; i < m && bad < 3; i++)
    for (size_t j = 0; j < n && bad < 3; j++) {
      double s = 0;
      for (size_t p = 0; p < k; p++)
        s += (double)(v.ta ? a[p * lda + i] : a[i * lda + p]) * (v.tb ? b[j * ldb + p] : b[p * ldb + j]);
      s *= v.alpha;
      if (v.accumulate) s += c0[i * ldc + j];
      if (v.bias_kind == C8_GEMM_BIAS_ROW) s += bias[i];
      if (v.bias_kind == C8_GEMM_BIAS_COL) s += bias[j];
      if (s < v.min) s = v.min;
      if (s > v.max) s = v.max;
      double got = c[i * ldc + j];
      double tol = 1e-5 * (double)(k + 4);
      if (!(fabs(got - s) <= tol)) {
        fprintf(stderr, "%s m=%zu n=%zu k=%zu ta=%d tb=%d packed=%d acc=%d bias=%d: C[%zu,%zu] = %.7g, want %.7g\n",
                cfg->name, m, n, k, v.ta, v.tb, v.packed, v.accumulate, v.bias_kind, i, j, got, s);
        bad++;
      }
    }
  /* Padding columns of C must be untouched. */
  for (size_t i = 0; i < m; i++)
    for (size_t j = n; j < ldc; j++)
      if (c[i * ldc + j] != c0[i * ldc + j]) bad++;
  CHECK_EQ_INT(bad, 0);
  c8_free(a), c8_free(b), c8_free(c), c8_free(c0), c8_free(bias), c8_free(ap), c8_free(ws);
}

static const variant plain = {.alpha = 1.0f, .min = -INFINITY, .max = INFINITY};

static void test_odd_sizes(void) {
  static const size_t sizes[] = {1, 3, 17, 64, 100};
  for (int ci = 0; ci < c8_f32_gemm_config_count(); ci++) {
    const c8_f32_gemm_config *cfg = c8_f32_gemm_config_at(ci);
    for (int im = 0; im < 5; im++)
      for (int in = 0; in < 5; in++)
        for (int ik = 0; ik < 5; ik++)
          for (int t = 0; t < 4; t++) {
            variant v = plain;
            v.ta = t & 1, v.tb = (t >> 1) & 1;
            check_one(cfg, sizes[im], sizes[in], sizes[ik], v);
          }
  }
}

static void test_epilogues(void) {
  for (int ci = 0; ci < c8_f32_gemm_config_count(); ci++) {
    const c8_f32_gemm_config *cfg = c8_f32_gemm_config_at(ci);
    for (int bk = 0; bk < 3; bk++)
      for (int mode = 0; mode < 8; mode++) {
        variant v = plain;
        v.bias_kind = bk;
        v.packed = mode & 1;
        v.accumulate = (mode >> 1) & 1;
        if (mode & 4) v.min = 0.0f, v.max = 0.5f;
        if (mode == 6) v.alpha = 0.75f;
        check_one(cfg, 17, 13, 29, v);
        check_one(cfg, 5, 3, 1, v);
        check_one(cfg, 4, 8, 0, v); /* K == 0: epilogue only */
      }
  }
}

/* Sizes crossing the cache blocks: K > KC (partial sums in C, clamp only at the end),
 * M > MC with packed A, N > NC. */
static void test_blocking(void) {
  for (int ci = 0; ci < c8_f32_gemm_config_count(); ci++) {
    const c8_f32_gemm_config *cfg = c8_f32_gemm_config_at(ci);
    variant v = plain;
    v.bias_kind = C8_GEMM_BIAS_ROW;
    v.min = 0.0f;
    check_one(cfg, 7, 9, cfg->kc * 2 + 5, v);
    v.packed = true;
    check_one(cfg, cfg->mc + 3, 11, cfg->kc + 1, v);
    v.bias_kind = C8_GEMM_BIAS_COL;
    v.tb = true;
    check_one(cfg, 5, cfg->nc + 9, 6, v);
  }
}

/* c8_f32_gemm_parallel with 2 and 3 threads equals one c8_f32_gemm bit for bit: wide N (split by columns),
 * tall M (split by rows), packed A, transposes, row and column bias, accumulate. */
static void test_parallel(void) {
  typedef struct {
    size_t m, n, k;
    variant v;
  } pcase;
  const pcase cases[] = {
      {16, 700, 300, {.alpha = 1.0f, .min = -INFINITY, .max = INFINITY, .bias_kind = C8_GEMM_BIAS_ROW}},
      {700, 8, 300, {.alpha = 1.0f, .min = 0.0f, .max = INFINITY, .packed = true, .bias_kind = C8_GEMM_BIAS_ROW}},
      {300, 9, 200, {.alpha = 0.5f, .min = -INFINITY, .max = INFINITY, .ta = true, .bias_kind = C8_GEMM_BIAS_COL}},
      {97, 333, 129, {.alpha = 1.0f, .min = -1.0f, .max = 1.0f, .tb = true, .accumulate = true}},
  };
  for (int ci = 0; ci < c8_f32_gemm_config_count(); ci++) {
    const c8_f32_gemm_config *cfg = c8_f32_gemm_config_at(ci);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
      const pcase *pc = &cases[i];
      const size_t m = pc->m, n = pc->n, k = pc->k;
      const variant v = pc->v;
      const size_t lda = v.ta ? m : k, ldb = v.tb ? k : n;
      float *a = rand_buf(m * k), *b = rand_buf(n * k), *c0 = rand_buf(m * n), *bias = rand_buf(m > n ? m : n);
      float *ref = c8_alloc(m * n * sizeof(float)), *got = c8_alloc(m * n * sizeof(float));
      float *ap = c8_alloc(c8_f32_gemm_packed_a_floats(cfg, m, k) * sizeof(float));
      c8_f32_gemm_pack_a(cfg, m, k, a, lda, v.ta, ap);
      c8_f32_gemm_args g;
      c8_f32_gemm_args_init(&g);
      g.m = m, g.n = n, g.k = k;
      if (v.packed) g.a_packed = ap;
      else g.a = a, g.lda = lda, g.trans_a = v.ta;
      g.b = b, g.ldb = ldb, g.trans_b = v.tb;
      g.ldc = n, g.alpha = v.alpha, g.accumulate = v.accumulate, g.min = v.min, g.max = v.max;
      g.bias_kind = v.bias_kind, g.bias = v.bias_kind ? bias : NULL;
      memcpy(ref, c0, m * n * sizeof(float));
      g.c = ref;
      void *ws = c8_alloc(c8_f32_gemm_workspace_bytes(cfg, m, n, k, v.packed));
      c8_f32_gemm(cfg, &g, ws);
      c8_free(ws);
      for (int threads = 2; threads <= 3; threads++) {
        c8_threadpool *pool = NULL;
        CHECK_EQ_INT(c8_threadpool_create(threads, &pool), CALIB8_OK);
        memcpy(got, c0, m * n * sizeof(float));
        g.c = got;
        ws = c8_alloc(c8_f32_gemm_parallel_workspace_bytes(cfg, m, n, k, v.packed, threads));
        c8_f32_gemm_parallel(cfg, &g, ws, pool);
        if (memcmp(got, ref, m * n * sizeof(float)) != 0) {
          fprintf(stderr, "%s %zux%zux%zu case %zu: %d threads differ from one\n", cfg->name, m, n, k, i, threads);
          CHECK(0);
        }
        c8_free(ws);
        c8_threadpool_destroy(pool);
      }
      c8_free(a), c8_free(b), c8_free(c0), c8_free(bias), c8_free(ref), c8_free(got), c8_free(ap);
    }
  }
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t); /* CPU time: the bench is single-threaded and machines are shared */
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int bench(size_t m, size_t n, size_t k) {
  for (int ci = 0; ci < c8_f32_gemm_config_count(); ci++) {
    const c8_f32_gemm_config *cfg = c8_f32_gemm_config_at(ci);
    float *a = rand_buf(m * k), *b = rand_buf(k * n), *c = rand_buf(m * n);
    float *ap = c8_alloc(c8_f32_gemm_packed_a_floats(cfg, m, k) * sizeof(float));
    void *ws = c8_alloc(c8_f32_gemm_workspace_bytes(cfg, m, n, k, false));
    c8_f32_gemm_pack_a(cfg, m, k, a, k, false, ap);
    for (int packed = 0; packed < 2; packed++) {
      c8_f32_gemm_args g;
      c8_f32_gemm_args_init(&g);
      g.m = m, g.n = n, g.k = k, g.lda = k, g.b = b, g.ldb = n, g.c = c, g.ldc = n;
      if (packed) g.a_packed = ap;
      else g.a = a;
      double best = 1e30, start = now();
      for (int r = 0; r < 7 || (r < 1000 && now() - start < 0.5); r++) {
        double t0 = now();
        c8_f32_gemm(cfg, &g, ws);
        double t = now() - t0;
        if (t < best) best = t;
      }
      printf("%s %zux%zux%zu%s: %.2f ms, %.1f GFLOP/s\n", cfg->name, m, n, k, packed ? " (A prepacked)" : "",
             best * 1e3, 2.0 * (double)m * (double)n * (double)k / best * 1e-9);
    }
    c8_free(a), c8_free(b), c8_free(c), c8_free(ap), c8_free(ws);
  }
  return 0;
}

/* The Gemm operator with constant weights runs the transposed problem on weights packed at prepare
   (src/ops/op-gemm.c); with the weights fed at run time it runs the plain one. Both give the same bytes, for
   every transA/transB, bias kind, alpha and M <= N or M > N. */
static float *run_gemm_op(int64_t m, int64_t n, int64_t k, int ta, int tb, int bias, float alpha, bool b_const,
                          const float *a, const float *b, const float *c, c8_threadpool *pool) {
  c8_graph *g = c8_graph_new();
  g->opset = 13;
  int ia = c8_graph_get_or_add_value(g, "a"), ib = c8_graph_get_or_add_value(g, "b");
  int ic = bias ? c8_graph_get_or_add_value(g, "c") : -1, iy = c8_graph_get_or_add_value(g, "y");
  int64_t bd0 = tb ? n : k, bd1 = tb ? k : n;
  if (b_const) {
    c8_tensor t = {.dtype = CALIB8_FLOAT, .rank = 2, .dims = {bd0, bd1}};
    t.data = c8_alloc((size_t)(k * n) * sizeof(float));
    memcpy(t.data, b, (size_t)(k * n) * sizeof(float));
    c8_graph_set_const(g, ib, t);
  }
  if (bias) {
    c8_tensor t = {.dtype = CALIB8_FLOAT, .rank = 1, .dims = {bias == 1 ? n : m}};
    if (bias == 2) { /* a [M, 1] row bias */
      t.rank = 2;
      t.dims[1] = 1;
    }
    t.data = c8_alloc((size_t)(bias == 1 ? n : m) * sizeof(float));
    memcpy(t.data, c, (size_t)(bias == 1 ? n : m) * sizeof(float));
    c8_graph_set_const(g, ic, t);
  }
  int ins[3] = {ia, ib, ic};
  int nd = c8_graph_add_node(g, "gemm", "Gemm", "", bias ? 3 : 2, ins, 1, &iy);
  c8_attr *at = c8_node_add_attr(&g->nodes[nd], "transA", C8_ATTR_INT);
  at->i = ta;
  at = c8_node_add_attr(&g->nodes[nd], "transB", C8_ATTR_INT);
  at->i = tb;
  at = c8_node_add_attr(&g->nodes[nd], "alpha", C8_ATTR_FLOAT);
  at->f = alpha;
  g->inputs = malloc(sizeof(int) * 2);
  g->inputs[g->n_inputs++] = ia;
  if (!b_const) g->inputs[g->n_inputs++] = ib;
  g->outputs = malloc(sizeof(int));
  g->outputs[g->n_outputs++] = iy;
  calib8_tensor in[2] = {{.dtype = CALIB8_FLOAT, .rank = 2, .dims = {ta ? k : m, ta ? m : k}, .data = (void *)a},
                         {.dtype = CALIB8_FLOAT, .rank = 2, .dims = {bd0, bd1}, .data = (void *)b}};
  c8_plan *p = NULL;
  float *y = NULL;
  CHECK_EQ_INT(c8_plan_build(g, in, pool, &p), CALIB8_OK);
  if (p && !c8_plan_run(p, in, NULL, NULL)) {
    y = malloc((size_t)(m * n) * sizeof(float));
    memcpy(y, p->rt[iy].data, (size_t)(m * n) * sizeof(float));
  }
  c8_plan_destroy(p);
  c8_graph_destroy(g);
  return y;
}

static void test_gemm_op_const_weights(void) {
  c8_threadpool *pool = NULL;
  CHECK_EQ_INT(c8_threadpool_create(2, &pool), CALIB8_OK);
  const int64_t sizes[][3] = {{1, 120, 256}, {3, 84, 120}, {32, 10, 64}, {7, 300, 33}, {40, 17, 9}};
  for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
    int64_t m = sizes[si][0], n = sizes[si][1], k = sizes[si][2];
    float *a = malloc((size_t)(m * k) * sizeof(float)), *b = malloc((size_t)(k * n) * sizeof(float));
    float *c = malloc((size_t)(m > n ? m : n) * sizeof(float));
    for (int64_t i = 0; i < m * k; i++) a[i] = (float)((i * 37 % 101) - 50) / 17.0f;
    for (int64_t i = 0; i < k * n; i++) b[i] = (float)((i * 53 % 89) - 44) / 23.0f;
    for (int64_t i = 0; i < (m > n ? m : n); i++) c[i] = (float)i / 7.0f - 1.0f;
    for (int variant = 0; variant < 12; variant++) {
      int ta = variant & 1, tb = variant >> 1 & 1, bias = variant >> 2; /* bias 0 none, 1 [N], 2 [M,1] */
      float alpha = variant % 3 == 0 ? 0.5f : 1.0f;
      float *y_const = run_gemm_op(m, n, k, ta, tb, bias, alpha, true, a, b, c, pool);
      float *y_dyn = run_gemm_op(m, n, k, ta, tb, bias, alpha, false, a, b, c, pool);
      CHECK(y_const && y_dyn && memcmp(y_const, y_dyn, (size_t)(m * n) * sizeof(float)) == 0);
      if (y_const && y_dyn) { /* and right: against a double-precision reference */
        double worst = 0;
        for (int64_t i = 0; i < m; i++)
          for (int64_t j = 0; j < n; j++) {
            double ref = 0;
            for (int64_t q = 0; q < k; q++)
              ref += (double)(ta ? a[q * m + i] : a[i * k + q]) * (double)(tb ? b[j * k + q] : b[q * n + j]);
            ref = alpha * ref + (bias == 1 ? c[j] : bias == 2 ? c[i] : 0.0);
            double d = fabs(ref - y_const[i * n + j]);
            if (d > worst) worst = d;
          }
        CHECK(worst < 1e-3);
      }
      free(y_const);
      free(y_dyn);
    }
    free(a);
    free(b);
    free(c);
  }
  c8_threadpool_destroy(pool);
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "--bench") == 0) {
    size_t m = 512, n = 512, k = 512;
    if (argc > 4) m = (size_t)atol(argv[2]), n = (size_t)atol(argv[3]), k = (size_t)atol(argv[4]);
    return bench(m, n, k);
  }
  CHECK_RUN(test_odd_sizes);
  CHECK_RUN(test_epilogues);
  CHECK_RUN(test_blocking);
  CHECK_RUN(test_parallel);
  CHECK_RUN(test_gemm_op_const_weights);
  return CHECK_DONE();
}
