/* Numpy-style broadcasting iteration shared by the elementwise operators.
 *
 * c8_bcast_init plans how up to C8_BCAST_MAX_IN inputs map onto an output shape:
 * size-1 output dimensions are dropped and adjacent dimensions merged wherever every
 * input walks them contiguously (or broadcasts both), so the common cases collapse:
 *   same shape                 -> one contiguous row
 *   one side a scalar          -> one row, that input with stride 0
 *   [N,C,H,W] op [1,C,1,1]     -> [N, C, H*W]: rows of H*W against a per-channel scalar
 *   [N,H,W,C] op [C]           -> [N*H*W, C]: contiguous rows
 * The innermost collapsed dimension becomes the row length; each input's row stride is
 * then 0 (broadcast: the row reads one element) or 1 (contiguous). c8_bcast_run calls a
 * row function for every row, so the row function's loops stay simple and vectorizable.
 */
#ifndef C8_OPS_BROADCAST_H
#define C8_OPS_BROADCAST_H

#include "ops/op.h"

#define C8_BCAST_MAX_IN 3

typedef struct c8_bcast {
  int n_in;
  int rank; /* collapsed rank, >= 1 */
  int64_t dims[C8_MAX_RANK];
  int64_t strides[C8_BCAST_MAX_IN][C8_MAX_RANK]; /* element strides, 0 where broadcast */
  int64_t numel;
} c8_bcast;

/* Row function: out and in[k] point at the row's first element; s[k] is 0 when input k
 * repeats one element along the row, 1 when it is contiguous. */
typedef void (*c8_bcast_row_fn)(void *ctx, void *out, const void *const *in, const int *s, int64_t n);

/* Plans the iteration. Every in[k]'s shape must broadcast to out's shape (caller checks,
 * e.g. with c8_broadcast_shape). */
void c8_bcast_init(c8_bcast *b, const c8_tensor *out, int n_in, const c8_tensor *const *in);

/* Runs fn over every row. out_es / in_es are element sizes in bytes. */
void c8_bcast_run(const c8_bcast *b, void *out, size_t out_es, const void *const *in, const size_t *in_es,
                  c8_bcast_row_fn fn, void *ctx);

/* Runs fn over output elements [e0, e1) only (partial rows at both ends). */
void c8_bcast_run_range(const c8_bcast *b, void *out, size_t out_es, const void *const *in, const size_t *in_es,
                        c8_bcast_row_fn fn, void *ctx, int64_t e0, int64_t e1);
/* c8_bcast_run split over the pool's threads by contiguous element ranges (fn must be thread-safe; each
   output element is computed the same way whatever the split). Small outputs run on the caller. */
struct c8_threadpool;
void c8_bcast_run_par(struct c8_threadpool *pool, const c8_bcast *b, void *out, size_t out_es, const void *const *in,
                      const size_t *in_es, c8_bcast_row_fn fn, void *ctx);

/* Multidirectional broadcast of n tensors into out (rank and dims only). */
c8_status c8_broadcast_shape_n(const c8_node *node, int n, const c8_tensor *const *in, c8_tensor *out);

#endif
