#include "core/threadpool.h"

#include <pthread.h>
#include <stdlib.h>

struct c8_threadpool {
  int size;
  pthread_t *workers;
  pthread_mutex_t mu;
  pthread_cond_t start, done;
  uint64_t generation;
  int pending;
  bool stop;
  /* the current job */
  c8_range_fn fn;
  void *ctx;
  int64_t n, chunk;
};

typedef struct {
  c8_threadpool *pool;
  int index;
} worker_arg;

static void run_chunk(c8_threadpool *p, int t) {
  int64_t b = (int64_t)t * p->chunk, e = b + p->chunk;
  if (e > p->n) e = p->n;
  if (b < e) p->fn(p->ctx, b, e, t);
}

static void *worker_main(void *arg) {
  worker_arg *wa = arg;
  c8_threadpool *p = wa->pool;
  int t = wa->index;
  free(wa);
  uint64_t seen = 0;
  pthread_mutex_lock(&p->mu);
  for (;;) {
    while (!p->stop && p->generation == seen) pthread_cond_wait(&p->start, &p->mu);
    if (p->stop) break;
    seen = p->generation;
    pthread_mutex_unlock(&p->mu);
    run_chunk(p, t);
    pthread_mutex_lock(&p->mu);
    if (--p->pending == 0) pthread_cond_signal(&p->done);
  }
  pthread_mutex_unlock(&p->mu);
  return NULL;
}

c8_status c8_threadpool_create(int threads, c8_threadpool **out) {
  if (threads < 1) threads = 1;
  c8_threadpool *p = calloc(1, sizeof *p);
  if (!p) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory creating a thread pool");
  p->size = threads;
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->start, NULL);
  pthread_cond_init(&p->done, NULL);
  if (threads > 1) {
    p->workers = calloc((size_t)threads, sizeof *p->workers);
    if (!p->workers) {
      c8_threadpool_destroy(p);
      return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory creating a thread pool");
    }
    for (int t = 1; t < threads; t++) {
      worker_arg *wa = malloc(sizeof *wa);
      if (wa) {
        wa->pool = p;
        wa->index = t;
      }
      if (!wa || pthread_create(&p->workers[t], NULL, worker_main, wa) != 0) {
        free(wa);
        p->size = t; /* destroy joins the ones started */
        c8_threadpool_destroy(p);
        return c8_error(CALIB8_INTERNAL, "cannot start thread %d of %d", t, threads);
      }
    }
  }
  *out = p;
  return CALIB8_OK;
}

void c8_threadpool_destroy(c8_threadpool *p) {
  if (!p) return;
  pthread_mutex_lock(&p->mu);
  p->stop = true;
  pthread_cond_broadcast(&p->start);
  pthread_mutex_unlock(&p->mu);
  for (int t = 1; t < p->size && p->workers; t++) pthread_join(p->workers[t], NULL);
  pthread_mutex_destroy(&p->mu);
  pthread_cond_destroy(&p->start);
  pthread_cond_destroy(&p->done);
  free(p->workers);
  free(p);
}

int c8_threadpool_size(const c8_threadpool *p) { return p ? p->size : 1; }

void c8_parallel_for(c8_threadpool *p, int64_t n, int64_t grain, c8_range_fn fn, void *ctx) {
  if (n <= 0) return;
  if (grain < 1) grain = 1;
  int use = p ? p->size : 1;
  if ((int64_t)use > (n + grain - 1) / grain) use = (int)((n + grain - 1) / grain);
  if (use <= 1) {
    fn(ctx, 0, n, 0);
    return;
  }
  pthread_mutex_lock(&p->mu);
  p->fn = fn;
  p->ctx = ctx;
  p->n = n;
  p->chunk = (n + use - 1) / use;
  p->pending = p->size - 1;
  p->generation++;
  pthread_cond_broadcast(&p->start);
  pthread_mutex_unlock(&p->mu);
  run_chunk(p, 0);
  pthread_mutex_lock(&p->mu);
  while (p->pending > 0) pthread_cond_wait(&p->done, &p->mu);
  pthread_mutex_unlock(&p->mu);
}
