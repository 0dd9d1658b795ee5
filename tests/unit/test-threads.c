/* The thread pool and the parallel loops built on it: c8_parallel_for covers every index once in
 * contiguous chunks on pools of 1 to 4 threads (and again after the workers have gone to sleep);
 * c8_bcast_run_range over any split equals one c8_bcast_run; the parallel elementwise runner matches
 * the serial one bit for bit. */
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "core/cpu.h"
#include "core/tensor.h"
#include "core/threadpool.h"
#include "graph/graph.h"
#include "ops/broadcast.h"
#include "ops/op.h"

typedef struct cover {
  int *hits;
  int *owner;
  int size;
} cover;

static void mark(void *ctx, int64_t b, int64_t e, int thread) {
  cover *c = ctx;
  for (int64_t i = b; i < e; i++) {
    __atomic_add_fetch(&c->hits[i], 1, __ATOMIC_RELAXED);
    c->owner[i] = thread;
  }
}

static void test_parallel_for(void) {
  for (int threads = 1; threads <= 4; threads++) {
    c8_threadpool *pool = NULL;
    CHECK_EQ_INT(c8_threadpool_create(threads, &pool), CALIB8_OK);
    CHECK_EQ_INT(c8_threadpool_size(pool), threads);
    for (int round = 0; round < 3; round++) {
      const int64_t sizes[] = {1, 2, 3, 7, 100, 1001};
      for (size_t si = 0; si < sizeof sizes / sizeof sizes[0]; si++) {
        const int64_t n = sizes[si];
        cover c = {.hits = calloc((size_t)n, sizeof(int)), .owner = calloc((size_t)n, sizeof(int)), .size = threads};
        c8_parallel_for(pool, n, 1, mark, &c);
        int bad = 0;
        for (int64_t i = 0; i < n; i++) {
          bad += c.hits[i] != 1;
          bad += c.owner[i] < 0 || c.owner[i] >= threads;
        }
        CHECK_EQ_INT(bad, 0);
        free(c.hits), free(c.owner);
      }
      /* let the workers stop spinning and sleep: the next loop must wake them */
      if (round == 1) usleep(5000);
    }
    c8_threadpool_destroy(pool);
  }
  /* a NULL pool runs inline */
  cover c = {.hits = calloc(10, sizeof(int)), .owner = calloc(10, sizeof(int))};
  c8_parallel_for(NULL, 10, 1, mark, &c);
  for (int i = 0; i < 10; i++) CHECK_EQ_INT(c.hits[i], 1);
  free(c.hits), free(c.owner);
}

static void row_fn(void *ctx, void *out, const void *const *in, const int *s, int64_t n) {
  (void)ctx;
  float *o = out;
  const float *a = in[0], *b = in[1];
  for (int64_t i = 0; i < n; i++) o[i] = a[i * s[0]] * 3.0f - b[i * s[1]];
}

static void test_bcast_range(void) {
  /* out [3,4,5] from a [3,1,5] and b [4,1] */
  c8_tensor out = {.dtype = CALIB8_FLOAT, .rank = 3, .dims = {3, 4, 5}};
  c8_tensor a = {.dtype = CALIB8_FLOAT, .rank = 3, .dims = {3, 1, 5}}, b = {.dtype = CALIB8_FLOAT, .rank = 2, .dims = {4, 1}};
  float av[15], bv[4], ref[60], got[60];
  for (int i = 0; i < 15; i++) av[i] = (float)i * 0.5f;
  for (int i = 0; i < 4; i++) bv[i] = (float)i - 1.5f;
  const c8_tensor *ins[2] = {&a, &b};
  c8_bcast bc;
  c8_bcast_init(&bc, &out, 2, ins);
  const void *p[2] = {av, bv};
  const size_t es[2] = {4, 4};
  c8_bcast_run(&bc, ref, 4, p, es, row_fn, NULL);
  /* spot check against the definition */
  CHECK_NEAR(ref[(2 * 4 + 3) * 5 + 4], av[2 * 5 + 4] * 3.0f - bv[3], 0);
  for (int64_t cut1 = 0; cut1 <= 60; cut1++)
    for (int64_t cut2 = cut1; cut2 <= 60; cut2 += 7) {
      memset(got, 0xff, sizeof got);
      c8_bcast_run_range(&bc, got, 4, p, es, row_fn, NULL, 0, cut1);
      c8_bcast_run_range(&bc, got, 4, p, es, row_fn, NULL, cut1, cut2);
      c8_bcast_run_range(&bc, got, 4, p, es, row_fn, NULL, cut2, 60);
      CHECK(memcmp(got, ref, sizeof ref) == 0);
    }
}

static void test_bcast_par(void) {
  /* [2, 300, 257] * [300, 1]: large enough to be split */
  c8_tensor out = {.dtype = CALIB8_FLOAT, .rank = 3, .dims = {2, 300, 257}};
  c8_tensor a = out, b = {.dtype = CALIB8_FLOAT, .rank = 2, .dims = {300, 1}};
  const int64_t n = c8_numel(&out);
  float *av = malloc(sizeof(float) * (size_t)n), *bv = malloc(sizeof(float) * 300);
  float *ref = malloc(sizeof(float) * (size_t)n), *got = malloc(sizeof(float) * (size_t)n);
  for (int64_t i = 0; i < n; i++) av[i] = (float)(i % 977) * 0.01f;
  for (int i = 0; i < 300; i++) bv[i] = (float)i * 0.3f;
  const c8_tensor *ins[2] = {&a, &b};
  c8_bcast bc;
  c8_bcast_init(&bc, &out, 2, ins);
  const void *p[2] = {av, bv};
  const size_t es[2] = {4, 4};
  c8_bcast_run(&bc, ref, 4, p, es, row_fn, NULL);
  for (int threads = 2; threads <= 3; threads++) {
    c8_threadpool *pool = NULL;
    CHECK_EQ_INT(c8_threadpool_create(threads, &pool), CALIB8_OK);
    memset(got, 0, sizeof(float) * (size_t)n);
    c8_bcast_run_par(pool, &bc, got, 4, p, es, row_fn, NULL);
    CHECK(memcmp(got, ref, sizeof(float) * (size_t)n) == 0);
    c8_threadpool_destroy(pool);
  }
  free(av), free(bv), free(ref), free(got);
}

/* MaxPool 2x2 stride 2 (the fast path) and 3x3 stride 2 pad 1 (the general one) against a naive max, on
   every ISA level, with 1 and 2 threads; odd sizes leave a row and a column out. */
static void test_maxpool_threads(void) {
  const int64_t ks[2] = {2, 3};
  for (int kk = 0; kk < 2; kk++) {
    const int64_t k = ks[kk], pad = k == 3 ? 1 : 0;
    c8_tensor x = {.dtype = CALIB8_FLOAT, .rank = 4, .dims = {4, 70, 7, 37}}; /* big enough to be split */
    x.data = c8_alloc(c8_nbytes(&x));
    for (int64_t i = 0; i < c8_numel(&x); i++) ((float *)x.data)[i] = (float)((i * 7919) % 1000) * 0.01f - 5.0f;
    c8_graph *g = c8_graph_new();
    int in_ids[1] = {0}, out_ids[1] = {1};
    int idx = c8_graph_add_node(g, "mp", "MaxPool", "", 1, in_ids, 1, out_ids);
    c8_node *node = &g->nodes[idx];
    c8_attr *a = c8_node_add_attr(node, "kernel_shape", C8_ATTR_INTS);
    a->n = 2, a->ints = malloc(2 * sizeof(int64_t)), a->ints[0] = a->ints[1] = k;
    a = c8_node_add_attr(node, "strides", C8_ATTR_INTS);
    a->n = 2, a->ints = malloc(2 * sizeof(int64_t)), a->ints[0] = a->ints[1] = 2;
    a = c8_node_add_attr(node, "pads", C8_ATTR_INTS);
    a->n = 4, a->ints = malloc(4 * sizeof(int64_t));
    for (int i = 0; i < 4; i++) a->ints[i] = pad;
    const int64_t OH = (7 + 2 * pad - k) / 2 + 1, OW = (37 + 2 * pad - k) / 2 + 1;
    const c8_isa top = c8_cpu_isa();
    for (int isa = C8_ISA_SCALAR; isa <= (int)top; isa++)
      for (int threads = 1; threads <= 2; threads++) {
        c8_cpu_set_isa((c8_isa)isa);
        c8_threadpool *pool = NULL;
        CHECK_EQ_INT(c8_threadpool_create(threads, &pool), CALIB8_OK);
        c8_tensor y = {0};
        c8_tensor *in[1] = {&x}, *out[1] = {&y};
        c8_kernel kn = {.node = node, .opset = 13, .pool = pool};
        CHECK_EQ_INT(node->def->prepare(&kn, in, 1, out, 1), CALIB8_OK);
        CHECK_EQ_INT(y.dims[2], OH);
        CHECK_EQ_INT(y.dims[3], OW);
        y.data = c8_alloc(c8_nbytes(&y));
        void *scratch = c8_alloc(kn.scratch_bytes + 1);
        CHECK_EQ_INT(node->def->run(&kn, in, 1, out, 1, scratch), CALIB8_OK);
        int bad = 0;
        const float *xf = x.data, *yf = y.data;
        for (int64_t c = 0; c < 280; c++)
          for (int64_t oh = 0; oh < OH; oh++)
            for (int64_t ow = 0; ow < OW; ow++) {
              float m = -INFINITY;
              for (int64_t i = 0; i < k; i++)
                for (int64_t jj = 0; jj < k; jj++) {
                  const int64_t ih = oh * 2 - pad + i, iw = ow * 2 - pad + jj;
                  if (ih >= 0 && ih < 7 && iw >= 0 && iw < 37 && xf[(c * 7 + ih) * 37 + iw] > m) m = xf[(c * 7 + ih) * 37 + iw];
                }
              bad += yf[(c * OH + oh) * OW + ow] != m;
            }
        CHECK_EQ_INT(bad, 0);
        if (kn.state) free(kn.state);
        c8_free(scratch), c8_free(y.data);
        c8_threadpool_destroy(pool);
      }
    c8_cpu_set_isa(top);
    c8_graph_destroy(g);
    c8_free(x.data);
  }
}

/* Resize (linear and nearest, 2x) split over 2 and 3 threads equals the single-threaded output. */
static void test_resize_threads(void) {
  const char *modes[2] = {"linear", "nearest"};
  for (int mi = 0; mi < 2; mi++) {
    c8_tensor x = {.dtype = CALIB8_FLOAT, .rank = 4, .dims = {2, 4, 60, 100}};
    c8_tensor scales = {.dtype = CALIB8_FLOAT, .rank = 1, .dims = {4}};
    float sc[4] = {1, 1, 2, 2};
    scales.data = sc;
    x.data = c8_alloc(c8_nbytes(&x));
    for (int64_t i = 0; i < c8_numel(&x); i++) ((float *)x.data)[i] = (float)((i * 131) % 997) * 0.003f;
    c8_graph *g = c8_graph_new();
    int in_ids[3] = {0, -1, 1}, out_ids[1] = {2};
    int idx = c8_graph_add_node(g, "rs", "Resize", "", 3, in_ids, 1, out_ids);
    c8_node *node = &g->nodes[idx];
    c8_attr *a = c8_node_add_attr(node, "mode", C8_ATTR_STRING);
    a->s = strdup(modes[mi]);
    float *first = NULL;
    size_t bytes = 0;
    for (int threads = 1; threads <= 3; threads++) {
      c8_threadpool *pool = NULL;
      CHECK_EQ_INT(c8_threadpool_create(threads, &pool), CALIB8_OK);
      c8_tensor y = {0};
      c8_tensor *in[3] = {&x, NULL, &scales}, *out[1] = {&y};
      c8_kernel kn = {.node = node, .opset = 13, .pool = pool};
      CHECK_EQ_INT(node->def->prepare(&kn, in, 3, out, 1), CALIB8_OK);
      CHECK_EQ_INT(y.dims[3], 200);
      y.data = c8_alloc(c8_nbytes(&y));
      void *scratch = c8_alloc(kn.scratch_bytes + 1);
      CHECK_EQ_INT(node->def->run(&kn, in, 3, out, 1, scratch), CALIB8_OK);
      if (!first) {
        first = y.data, bytes = c8_nbytes(&y);
      } else {
        CHECK(memcmp(first, y.data, bytes) == 0);
        c8_free(y.data);
      }
      c8_free(scratch);
      if (kn.state) node->def->destroy(kn.state);
      c8_threadpool_destroy(pool);
    }
    c8_free(first);
    c8_graph_destroy(g);
    c8_free(x.data);
  }
}

int main(void) {
  CHECK_RUN(test_parallel_for);
  CHECK_RUN(test_bcast_range);
  CHECK_RUN(test_bcast_par);
  CHECK_RUN(test_maxpool_threads);
  CHECK_RUN(test_resize_threads);
  return CHECK_DONE();
}
