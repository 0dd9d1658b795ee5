/* The thread pool and the parallel loops built on it: c8_parallel_for covers every index once in
 * contiguous chunks on pools of 1 to 4 threads (and again after the workers have gone to sleep);
 * c8_bcast_run_range over any split equals one c8_bcast_run; the parallel elementwise runner matches
 * the serial one bit for bit. */
#include <stdint.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "core/tensor.h"
#include "core/threadpool.h"
#include "ops/broadcast.h"

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

int main(void) {
  CHECK_RUN(test_parallel_for);
  CHECK_RUN(test_bcast_range);
  CHECK_RUN(test_bcast_par);
  return CHECK_DONE();
}
