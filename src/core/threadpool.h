/* A fixed thread pool for data-parallel loops. A loop is cut into contiguous chunks that the threads
 * take in turn (threadpool.c); callers split work by output and compute each output element the same
 * way whatever chunk or thread it falls to, so results never depend on the thread count or the
 * scheduling (no reductions whose order changes with them). */
#ifndef C8_CORE_THREADPOOL_H
#define C8_CORE_THREADPOOL_H

#include <stdbool.h>
#include <stdint.h>

#include "core/status.h"

typedef struct c8_threadpool c8_threadpool;

/* `threads` counts the calling thread: threads-1 workers are started. */
c8_status c8_threadpool_create(int threads, c8_threadpool **out);
void c8_threadpool_destroy(c8_threadpool *pool);
/* Number of threads including the caller; 1 for a NULL pool. */
int c8_threadpool_size(const c8_threadpool *pool);

/* fn(ctx, begin, end, thread) over [0, n) in chunks of at least `grain` items (one call per chunk; a
 * thread may run several). `thread` is in [0, size) and may index per-thread scratch: two chunks running
 * at once always have different `thread`s. Returns when every chunk is done. A NULL pool runs inline. */
typedef void (*c8_range_fn)(void *ctx, int64_t begin, int64_t end, int thread);
void c8_parallel_for(c8_threadpool *pool, int64_t n, int64_t grain, c8_range_fn fn, void *ctx);

#endif
