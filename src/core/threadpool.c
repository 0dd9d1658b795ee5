/* The thread pool. A model runs hundreds of parallel loops per inference, many of them tens of
 * microseconds long, so handing out a loop must cost far less than waking a sleeping thread (tens of
 * microseconds in a VM): workers spin on the job word for a while after each job (about 200 us; the gap
 * between two operators is much shorter) and only then sleep on a condition variable.
 *
 * A loop is cut into a fixed list of chunks that the caller and the workers take in turn from a shared
 * counter. Which thread runs a chunk changes from run to run, never what a chunk computes, so results do
 * not depend on the scheduling; and when the machine is busy and a worker is not running, the caller
 * simply takes every chunk itself instead of waiting for it. The job number and the next chunk share
 * one 64-bit word, so a late worker can never take a chunk of a newer job with the old job's data. */
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

/* Spin this long (CPU time) for the next job before sleeping. */
#define SPIN_NS 200000
/* Chunks per thread: a few, so that a thread that starts late still finds work. */
#define CHUNKS_PER_THREAD 4

struct c8_threadpool {
  int size;
  pthread_t *workers;
  pthread_mutex_t mu;
  pthread_cond_t start;
  atomic_uint_fast64_t job;  /* job number << 32 | next chunk */
  atomic_int_fast64_t done;  /* chunks finished in the current job */
  atomic_int sleepers;       /* workers waiting on `start` */
  atomic_bool stop;
  /* the current job, written before its number is published */
  c8_range_fn fn;
  void *ctx;
  int64_t n, chunk, chunks;
};

typedef struct {
  c8_threadpool *pool;
  int index;
} worker_arg;

/* The spin budget counts this thread's CPU time, not wall time: on a busy machine a spinning worker that
   loses its core for a while must not fall asleep for that (waking it costs more than a loop). */
static uint64_t cpu_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* Takes and runs chunks of job `id` until none is left; returns how many this thread ran. */
static void work(c8_threadpool *p, uint32_t id, int t) {
  for (;;) {
    uint64_t v = atomic_load(&p->job);
    if ((uint32_t)(v >> 32) != id || (int64_t)(v & 0xffffffffu) >= p->chunks) return;
    if (!atomic_compare_exchange_weak(&p->job, &v, v + 1)) continue;
    const int64_t c = (int64_t)(v & 0xffffffffu);
    const int64_t b = c * p->chunk, e = b + p->chunk < p->n ? b + p->chunk : p->n;
    p->fn(p->ctx, b, e, t);
    atomic_fetch_add(&p->done, 1);
  }
}

/* Waits until the job number differs from `seen` (or stop); returns the new one. */
static uint32_t wait_job(c8_threadpool *p, uint32_t seen) {
  uint32_t id;
  const uint64_t t0 = cpu_ns();
  for (int i = 0;; i++) {
    id = (uint32_t)(atomic_load_explicit(&p->job, memory_order_acquire) >> 32);
    if (id != seen || atomic_load(&p->stop)) return id;
    CPU_RELAX();
    if ((i & 1023) == 1023) {
      if (cpu_ns() - t0 > SPIN_NS) break;
      sched_yield(); /* sharing a core with the caller (a busy machine), let it run */
    }
  }
  pthread_mutex_lock(&p->mu);
  atomic_fetch_add(&p->sleepers, 1);
  while ((id = (uint32_t)(atomic_load(&p->job) >> 32)) == seen && !atomic_load(&p->stop))
    pthread_cond_wait(&p->start, &p->mu);
  atomic_fetch_sub(&p->sleepers, 1);
  pthread_mutex_unlock(&p->mu);
  return id;
}

static void *worker_main(void *arg) {
  worker_arg *wa = arg;
  c8_threadpool *p = wa->pool;
  int t = wa->index;
  c8_mfree(wa);
  uint32_t seen = 0;
  for (;;) {
    seen = wait_job(p, seen);
    if (atomic_load(&p->stop)) break;
    work(p, seen, t);
  }
  return NULL;
}

c8_status c8_threadpool_create(int threads, c8_threadpool **out) {
  if (threads < 1) threads = 1;
  c8_threadpool *p = c8_calloc(1, sizeof *p);
  if (!p) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory creating a thread pool");
  p->size = threads;
  atomic_init(&p->job, 0);
  atomic_init(&p->done, 0);
  atomic_init(&p->sleepers, 0);
  atomic_init(&p->stop, false);
  pthread_mutex_init(&p->mu, NULL);
  pthread_cond_init(&p->start, NULL);
  if (threads > 1) {
    p->workers = c8_calloc((size_t)threads, sizeof *p->workers);
    if (!p->workers) {
      c8_threadpool_destroy(p);
      return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory creating a thread pool");
    }
    for (int t = 1; t < threads; t++) {
      worker_arg *wa = c8_malloc(sizeof *wa);
      if (wa) {
        wa->pool = p;
        wa->index = t;
      }
      if (!wa || pthread_create(&p->workers[t], NULL, worker_main, wa) != 0) {
        c8_mfree(wa);
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
  c8_mfree(p->workers);
  c8_mfree(p);
}

int c8_threadpool_size(const c8_threadpool *p) { return p ? p->size : 1; }

void c8_parallel_for(c8_threadpool *p, int64_t n, int64_t grain, c8_range_fn fn, void *ctx) {
  if (n <= 0) return;
  if (grain < 1) grain = 1;
  const int64_t pieces = (n + grain - 1) / grain;
  if (!p || p->size <= 1 || pieces <= 1) {
    fn(ctx, 0, n, 0);
    return;
  }
  int64_t chunks = (int64_t)p->size * CHUNKS_PER_THREAD;
  if (chunks > pieces) chunks = pieces;
  p->fn = fn;
  p->ctx = ctx;
  p->n = n;
  p->chunk = (n + chunks - 1) / chunks;
  p->chunks = (n + p->chunk - 1) / p->chunk;
  atomic_store(&p->done, 0);
  const uint32_t id = (uint32_t)(atomic_load(&p->job) >> 32) + 1;
  atomic_store(&p->job, (uint64_t)id << 32); /* seq_cst: publishes the job, then sleepers is read */
  if (atomic_load(&p->sleepers) > 0) {
    pthread_mutex_lock(&p->mu);
    pthread_cond_broadcast(&p->start);
    pthread_mutex_unlock(&p->mu);
  }
  work(p, id, 0);
  /* Chunks still running on workers: wait (a worker that was descheduled mid-chunk gets the core). */
  for (int i = 0; atomic_load(&p->done) < p->chunks; i++) {
    if (i < 2000) CPU_RELAX();
    else sched_yield();
  }
}
