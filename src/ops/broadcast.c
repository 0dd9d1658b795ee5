#include "ops/broadcast.h"

#include <string.h>

#include "core/threadpool.h"

void c8_bcast_init(c8_bcast *b, const c8_tensor *out, int n_in, const c8_tensor *const *in) {
  memset(b, 0, sizeof *b);
  b->n_in = n_in;
  int r = out->rank;
  int64_t full[C8_BCAST_MAX_IN][C8_MAX_RANK];
  /* Element strides of each input against the output's dimensions (0 = broadcast). */
  for (int k = 0; k < n_in; k++) {
    int64_t s = 1;
    for (int i = r - 1; i >= 0; i--) {
      int ii = i - (r - in[k]->rank);
      int64_t d = ii >= 0 ? in[k]->dims[ii] : 1;
      full[k][i] = d == 1 ? 0 : s;
      s *= d;
    }
  }
  /* Drop size-1 output dimensions, then merge neighbours that every input walks the same way. */
  int cr = 0;
  for (int i = 0; i < r; i++) {
    if (out->dims[i] == 1) continue;
    if (cr > 0) {
      bool merge = true;
      for (int k = 0; k < n_in && merge; k++)
        merge = b->strides[k][cr - 1] == full[k][i] * out->dims[i];
      if (merge) {
        b->dims[cr - 1] *= out->dims[i];
        for (int k = 0; k < n_in; k++) b->strides[k][cr - 1] = full[k][i];
        continue;
      }
    }
    b->dims[cr] = out->dims[i];
    for (int k = 0; k < n_in; k++) b->strides[k][cr] = full[k][i];
    cr++;
  }
  if (cr == 0) { /* a single element */
    b->dims[0] = 1;
    for (int k = 0; k < n_in; k++) b->strides[k][0] = 0;
    cr = 1;
  }
  b->rank = cr;
  b->numel = 1;
  for (int i = 0; i < r; i++) b->numel *= out->dims[i];
}

void c8_bcast_run(const c8_bcast *b, void *out, size_t out_es, const void *const *in, const size_t *in_es,
                  c8_bcast_row_fn fn, void *ctx) {
  if (b->numel == 0) return;
  const int n_in = b->n_in, last = b->rank - 1;
  const int64_t n = b->dims[last];
  int s[C8_BCAST_MAX_IN];
  const char *p[C8_BCAST_MAX_IN];
  for (int k = 0; k < n_in; k++) {
    s[k] = b->strides[k][last] != 0;
    p[k] = in[k];
  }
  char *o = out;
  const int64_t rows = b->numel / n;
  if (rows == 1) {
    fn(ctx, o, (const void *const *)p, s, n);
    return;
  }
  /* Odometer over the outer dimensions, keeping each input's byte offset up to date. */
  int64_t idx[C8_MAX_RANK] = {0};
  const size_t row_bytes = (size_t)n * out_es;
  for (int64_t row = 0; row < rows; row++) {
    fn(ctx, o, (const void *const *)p, s, n);
    o += row_bytes;
    for (int d = last - 1; d >= 0; d--) {
      if (++idx[d] < b->dims[d]) {
        for (int k = 0; k < n_in; k++) p[k] += b->strides[k][d] * (int64_t)in_es[k];
        break;
      }
      idx[d] = 0;
      for (int k = 0; k < n_in; k++) p[k] -= b->strides[k][d] * (b->dims[d] - 1) * (int64_t)in_es[k];
    }
  }
}

void c8_bcast_run_range(const c8_bcast *b, void *out, size_t out_es, const void *const *in, const size_t *in_es,
                        c8_bcast_row_fn fn, void *ctx, int64_t e0, int64_t e1) {
  if (e1 > b->numel) e1 = b->numel;
  if (e0 >= e1) return;
  const int n_in = b->n_in, last = b->rank - 1;
  const int64_t n = b->dims[last];
  int s[C8_BCAST_MAX_IN];
  const char *p[C8_BCAST_MAX_IN];
  /* The row holding e0 and the offset in it. */
  int64_t row = e0 / n, off = e0 % n, idx[C8_MAX_RANK] = {0};
  for (int d = last - 1; d >= 0; d--) idx[d] = row % b->dims[d], row /= b->dims[d];
  for (int k = 0; k < n_in; k++) {
    s[k] = b->strides[k][last] != 0;
    int64_t el = s[k] ? off : 0;
    for (int d = 0; d < last; d++) el += idx[d] * b->strides[k][d];
    p[k] = (const char *)in[k] + el * (int64_t)in_es[k];
  }
  char *o = (char *)out + e0 * (int64_t)out_es;
  for (int64_t e = e0; e < e1;) {
    const int64_t len = n - off < e1 - e ? n - off : e1 - e;
    fn(ctx, o, (const void *const *)p, s, len);
    o += len * (int64_t)out_es;
    e += len;
    if (e >= e1) break;
    /* next row: back to its start, then the odometer step */
    for (int k = 0; k < n_in; k++) p[k] -= (s[k] ? off : 0) * (int64_t)in_es[k];
    off = 0;
    for (int d = last - 1; d >= 0; d--) {
      if (++idx[d] < b->dims[d]) {
        for (int k = 0; k < n_in; k++) p[k] += b->strides[k][d] * (int64_t)in_es[k];
        break;
      }
      idx[d] = 0;
      for (int k = 0; k < n_in; k++) p[k] -= b->strides[k][d] * (b->dims[d] - 1) * (int64_t)in_es[k];
    }
  }
}

typedef struct par_job {
  const c8_bcast *b;
  void *out;
  size_t out_es;
  const void *const *in;
  const size_t *in_es;
  c8_bcast_row_fn fn;
  void *ctx;
} par_job;

static void par_range(void *vjob, int64_t e0, int64_t e1, int thread) {
  (void)thread;
  const par_job *j = vjob;
  c8_bcast_run_range(j->b, j->out, j->out_es, j->in, j->in_es, j->fn, j->ctx, e0, e1);
}

void c8_bcast_run_par(struct c8_threadpool *pool, const c8_bcast *b, void *out, size_t out_es, const void *const *in,
                      const size_t *in_es, c8_bcast_row_fn fn, void *ctx) {
  /* Below ~64K elements (some microseconds) one thread is faster than handing out chunks. */
  if (!pool || c8_threadpool_size(pool) < 2 || b->numel < 65536) {
    c8_bcast_run(b, out, out_es, in, in_es, fn, ctx);
    return;
  }
  par_job j = {.b = b, .out = out, .out_es = out_es, .in = in, .in_es = in_es, .fn = fn, .ctx = ctx};
  c8_parallel_for(pool, b->numel, 16384, par_range, &j);
}

c8_status c8_broadcast_shape_n(const c8_node *node, int n, const c8_tensor *const *in, c8_tensor *out) {
  c8_tensor acc = *in[0];
  for (int i = 1; i < n; i++) {
    c8_tensor next = {0};
    c8_status st = c8_broadcast_shape(node, &acc, in[i], &next);
    if (st) return st;
    acc.rank = next.rank;
    memcpy(acc.dims, next.dims, sizeof acc.dims);
  }
  out->rank = acc.rank;
  memcpy(out->dims, acc.dims, sizeof out->dims);
  return CALIB8_OK;
}
