/* Batch splitting: a batch run as independent sub-batches, in parallel over the session's threads.
 *
 * Most models compute each sample of a batch on its own: every tensor has the batch as its first
 * dimension and no operator mixes samples (Conv, pooling, elementwise, MatMul over rows, Softmax over a
 * later axis, ...). For such a model, a batch of B samples can run as B/S sub-batches of S samples, each
 * on its own plan instance (one per thread, single-threaded inside, with its own arena), instead of one
 * plan whose every operator is split over the threads. That has three gains:
 *   - the threads never wait for each other between operators (one barrier per run, not per operator);
 *   - a sub-batch's activations are small enough to stay in cache from one operator to the next;
 *   - operators that split poorly over threads (a 3-channel stem convolution, small pooling, a Gemm
 *     with 32 rows) no longer have to.
 *
 * Whether a model is per-sample is proven from two plans, one for the whole batch and one for a
 * sub-batch, and a list of operators with their conditions (batch-split.c): every tensor computed at run
 * time has the batch as dimension 0 (B in one plan, S in the other) and the same other dimensions; every
 * value known at plan time is the same in both plans (shape operands such as Reshape's excepted); every
 * operator run is one that treats samples independently with these attributes (Softmax not over axis 0,
 * Transpose keeping axis 0 first, ...). Anything else runs unsplit, as before.
 *
 * Outputs are bit-identical to the unsplit run's: every kernel computes a sample's outputs in the same order
 * whatever the batch it is in (tests/unit/test-batch-split.c and tests/models check it on the real models).
 * The automatic sub-batch size S also depends only on the model and the batch, except that it is made
 * smaller when there are more threads than sub-batches; at 1 and 2 threads it is the same. */
#ifndef C8_RUN_BATCH_SPLIT_H
#define C8_RUN_BATCH_SPLIT_H

#include "run/plan.h"

struct c8_threadpool;

typedef struct c8_batch_split {
  int batch;      /* B: the batch the session runs */
  int sub_batch;  /* S: samples per sub-batch (divides B, < B) */
  const c8_graph *g;
  int n_plans;    /* plan instances: one per pool thread */
  c8_plan **plans; /* each built for batch S, single-threaded; plans[t] is used by pool thread t */
  calib8_tensor *bound;   /* the whole-batch input shapes, one per graph input (data NULL) */
  calib8_tensor *outputs; /* the whole-batch outputs, one per graph output (data owned) */
  struct c8_threadpool *pool;
  c8_status *status;      /* per plan: the first failure of the last run, and its message */
  char (*message)[1024];
} c8_batch_split;

/* The sub-batch option: 0 chooses S automatically (batch-split.c: choose_sub_batch); -1 never splits; S > 0
   asks for sub-batches of S (used when S divides B and is less than B). */
enum { C8_SUB_BATCH_AUTO = 0, C8_SUB_BATCH_OFF = -1 };

/* Tries to split the plan `whole` (built fused, for the whole batch, with nothing bound by value). Sets *out
   to a batch split when the model is per-sample and the batch can be split, else to NULL; either way returns
   CALIB8_OK unless memory runs out. `whole` is not changed; the caller may destroy it once split. */
c8_status c8_batch_split_build(const c8_plan *whole, struct c8_threadpool *pool, int sub_batch_option,
                               c8_batch_split **out);
void c8_batch_split_destroy(c8_batch_split *bs);
/* True when the split was built for exactly these input shapes and types. */
bool c8_batch_split_matches(const c8_batch_split *bs, const calib8_tensor *inputs);
/* Runs every sub-batch (inputs[i].data feeds g->inputs[i], whole batch) and gathers bs->outputs. */
c8_status c8_batch_split_run(c8_batch_split *bs, const calib8_tensor *inputs);

#endif
