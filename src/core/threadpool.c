/* The thread pool. A model runs hundreds of parallel loops per inference, many of them tens of
 * microseconds long, so handing out a loop must cost far less than waking a sleeping thread (tens of
 * microseconds in a VM): workers spin on the job counter for a while after each job (about 100 us, the
 * gap between two operators is much shorter) and only then sleep on a condition variable. The caller
 * runs the first chunk itself and spins (then yields) until the others are done. */
#include "core/threadpool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CPU_RELAX() _mm_pause()
#else
#define CPU_RELAX() ((void)0)
#endif

/* Spin this long for the next job before sleeping. */
#define SPIN_NS 200000

struct c8_threadpool {
  int size;
  pthread_t *workers;
  pthread_mutex_t mu;
  pthread_cond_t start;
  atomic_uint_fast64_t generation; /* bumped once per job */
  atomic_int pending;              /* workers still running the current job */
  atomic_int sleepers;             /* workers waiting on `start` */
  atomic_bool stop;
  /* the current job, written before `generation` is bumped */
  c8_range_fn fn;
  void *ctx;
  int64_t n, chunk;
};

typedef struct {
  c8_threadpool *pool;
  int index;
} worker_arg;

static uint64_t now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void run_chunk(c8_threadpool *p, int t) {
  int64_t b = (int64_t)t * p->chunk, e = b + p->chunk;
  if (e > p->n) e = p->n;
  if (b < e) p->fn(p->ctx, b, e, t);
}

/* Waits until the generation differs from `seen` (or stop); returns the new generation. */
static uint64_t wait_job(c8_threadpool *p, uint64_t seen) {
  uint64_t g;
  const uint64_t t0 = now_ns();
  for (int i = 0;; i++) {
    g = atomic_load_explicit(&p->generation, memory_order_acquire);
    if (g != seen || atomic_load(&p->stop)) return g;
    CPU_RELAX();
    if ((i & 255) == 255 && now_ns() - t0 > SPIN_NS) break;
  }
  pthread_mutex_lock(&p->mu);
  atomic_fetch_add(&p->sleepers, 1);
  while ((g = atomic_load(&p->generation)) == seen && !atomic_load(&p->stop)) pthread_cond_wait(&p->start, &p->mu);
  atomic_fetch_sub(&p->sleepers, 1);
  pthread_mutex_unlock(&p->mu);
  return g;
}

static void *worker_main(void *arg) {
  worker_arg *wa = arg;
  c8_threadpool *p = wa->pool;
  int t = wa->index;
  free(wa);
  uint64_t seen = 0;
  for (;;) {
    seen = wait_job(p, seen);
    if (atomic_load(&p->stop)) break;
    run_chunk(p, t);
    atomic_fetch_sub_explicit(&p->pending, 1, memory_order_acq_rel);
  }
  return NULL;
}

c8_status c8_threadpool_create(int threads, c8_threadpool **out) {
  if (threads < 1) threads = 1;
  c8_threadpool *p = calloc(1, sizeof *p);
  if (!p) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory creating a thread pool");
  p->size = threads;
  atomic_init(&p->generation, 0);
  atomic_init(&p->pending, 0);
  atomic_init(&p->sleepers, 0);
  atomic_init(&p->stop, false);
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->start, NULL);
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
  atomic_store(&p->stop, true);
  pthread_cond_broadcast(&p->start);
  pthread_mutex_unlock(&p->mu);
  for (int t = 1; t < p->size && p->workers; t++) pthread_join(p->workers[t], NULL);
  pthread_mutex_destroy(&p->mu);
  pthread_cond_destroy(&p->start);
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
  /* Every worker takes part in every job (chunks past n are empty), so `pending` is simply size - 1. */
  p->fn = fn;
  p->ctx = ctx;
  p->n = n;
  p->chunk = (n + use - 1) / use;
  atomic_store(&p->pending, p->size - 1);
  atomic_fetch_add(&p->generation, 1); /* seq_cst: publishes the job, ordered before reading sleepers */
  if (atomic_load(&p->sleepers) > 0) {
    pthread_mutex_lock(&p->mu);
    pthread_cond_broadcast(&p->start);
    pthread_mutex_unlock(&p->mu);
  }
  run_chunk(p, 0);
  for (int i = 0; atomic_load_explicit(&p->pending, memory_order_acquire) > 0; i++) {
    if (i < 2000) CPU_RELAX();
    else sched_yield(); /* a worker was descheduled: give it the core */
  }
}
