/* numpy.matmul shape rules, shared by MatMul, MatMulInteger and QLinearMatMul. */
#ifndef C8_OPS_OP_MATMUL_H
#define C8_OPS_OP_MATMUL_H

#include "ops/op.h"

typedef struct c8_matmul_dims {
  int64_t m, n, k;
  int br;                       /* batch rank of the output */
  int64_t bdims[C8_MAX_RANK];   /* output batch dims */
  int64_t astride[C8_MAX_RANK]; /* per output batch dim, in matrices (0: broadcast) */
  int64_t bstride[C8_MAX_RANK];
  int64_t batch;                /* product of bdims */
  bool fold;                    /* B is one matrix and A's batches are contiguous: one GEMM */
} c8_matmul_dims;

/* Checks a · b (1-D promotion, batch broadcasting), sets out's rank and dims, fills d. */
c8_status c8_matmul_shape(const c8_node *node, const c8_tensor *a, const c8_tensor *b, c8_tensor *out,
                          c8_matmul_dims *d);

/* Offsets (in matrices) of A and B for output batch t. */
static inline void c8_matmul_batch_offsets(const c8_matmul_dims *d, int64_t t, int64_t *ao, int64_t *bo) {
  *ao = *bo = 0;
  for (int i = d->br - 1; i >= 0; i--) {
    int64_t ix = t % d->bdims[i];
    t /= d->bdims[i];
    *ao += ix * d->astride[i];
    *bo += ix * d->bstride[i];
  }
}

#endif
