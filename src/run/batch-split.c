#include "run/batch-split.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/threadpool.h"

/* Activations per sub-batch that still fit in a core's share of cache (L2 is 1-2 MiB on current x86 cores;
   the arena's live set at any moment is a fraction of its size). Measured on ResNet8 and the YOLO model:
   bench/RESULTS.md. */
#define SUB_BATCH_BUDGET_BYTES ((size_t)1 << 20)

/* ---- the proof: which values carry the batch, and which operators keep samples apart ----
 *
 * W is the plan for the whole batch B, P the plan for a sub-batch S. A value computed at run time carries
 * the batch on exactly one axis: its only dimension that differs between the plans, B*m in W and S*m in P
 * (m >= 1: Reshape can merge the batch with the dimensions after it, [B, N, C] -> [B*N, C]; sample b then
 * owns indices b*m .. b*m+m-1 of that axis, which the batch traits of the operators keep true: c8_op_def.batch
 * in src/ops). */

/* The batch axis of run-time value v, or -1 when it has none (or more than one, or known at plan time). */
static int batch_axis(const c8_plan *W, const c8_plan *P, int v, int B, int S) {
  const c8_tensor *a = &W->rt[v], *b = &P->rt[v];
  if (W->known[v] || P->known[v] || a->dtype != b->dtype || a->rank != b->rank) return -1;
  int axis = -1;
  for (int d = 0; d < a->rank; d++) {
    if (a->dims[d] == b->dims[d]) continue;
    if (axis >= 0 || a->dims[d] % B || b->dims[d] % S || a->dims[d] / B != b->dims[d] / S) return -1;
    axis = d;
  }
  return axis;
}

static int64_t prod(const c8_tensor *t, int from, int to) {
  int64_t n = 1;
  for (int d = from; d < to; d++) n *= t->dims[d];
  return n;
}

/* Does step s of plan p (W or P) keep samples apart, given the batch axis of its first input (ax, -1 when
   that input is known), of its first run-time input (ax_any) and of its first output (ax_out)? */
static bool per_sample_step(const c8_plan *p, const c8_step *s, int ax, int ax_any, int ax_out) {
  const c8_node *n = &p->g->nodes[s->node];
  const c8_op_def *d = c8_node_op(n);
  switch (d->batch) {
  case C8_BATCH_ANY_AXIS: return true;
  case C8_BATCH_FIRST_AXIS: return ax == 0;
  case C8_BATCH_BLOCKS: return ax >= 0 && ax_out >= 0 && prod(s->in[0], 0, ax) == prod(s->out[0], 0, ax_out);
  case C8_BATCH_CHECK: {
    c8_batch_query q = {.node = n, .opset = p->g->opset, .in = s->in, .n_in = s->n_in, .out = s->out,
                        .n_out = s->n_out, .ax = ax, .ax_any = ax_any, .ax_out = ax_out};
    return d->batch_check && d->batch_check(&q);
  }
  default: return false; /* C8_BATCH_MIXES, or an op the registry does not know */
  }
}

/* Known inputs that are shape operands (see c8_op_def.batch_shape_inputs). */
static bool shape_operand(const c8_node *n, int input) {
  return input < 32 && (c8_node_op(n)->batch_shape_inputs >> input & 1u);
}

static bool same_value(const c8_tensor *a, const c8_tensor *b) {
  if (a->dtype != b->dtype || !c8_same_shape(a, b)) return false;
  size_t bytes = c8_nbytes(a);
  return bytes == 0 || (a->data && b->data && memcmp(a->data, b->data, bytes) == 0);
}

/* Value v is fine for the split: run-time with a batch axis (returned), or known and the same in both plans
   (unless `shape_only`; returns -1). -2: not fine. */
static int check_value(const c8_plan *W, const c8_plan *P, int v, int B, int S, bool shape_only) {
  if (W->known[v] != P->known[v]) return -2;
  if (W->known[v]) return shape_only || same_value(&W->rt[v], &P->rt[v]) ? -1 : -2;
  int ax = batch_axis(W, P, v, B, S);
  return ax >= 0 ? ax : -2;
}

/* The proof that running P on each sub-batch computes W's result for those samples: the same steps, every
   value fine, every step per-sample, and every graph output with the batch on axis 0 (so a sub-batch's
   outputs are one contiguous block of the whole batch's). */
static bool plans_split(const c8_plan *W, const c8_plan *P, int B, int S) {
  const c8_graph *g = W->g;
  if (W->n_steps != P->n_steps) return false;
  for (int i = 0; i < g->n_outputs; i++)
    if (check_value(W, P, g->outputs[i], B, S, false) != 0) return false;
  for (int si = 0; si < W->n_steps; si++) {
    const c8_step *a = &W->steps[si], *b = &P->steps[si];
    if (a->node != b->node || a->n_in != b->n_in || a->n_out != b->n_out || !a->k.fuse != !b->k.fuse) return false;
    const c8_node *n = &g->nodes[a->node];
    int ax_in0 = -1, ax_any = -1, ax_out0 = -1;
    for (int j = 0; j < a->n_in; j++) {
      if (!a->in[j] != !b->in[j]) return false;
      if (!a->in[j]) continue;
      int ax = check_value(W, P, (int)(a->in[j] - W->rt), B, S, shape_operand(n, j));
      if (ax == -2) return false;
      if (j == 0) ax_in0 = ax;
      if (ax_any < 0) ax_any = ax;
    }
    for (int j = 0; j < a->n_out; j++) {
      if (!a->out[j] != !b->out[j]) return false;
      if (!a->out[j]) continue;
      int ax = check_value(W, P, (int)(a->out[j] - W->rt), B, S, false);
      if (ax < 0) return false; /* a step's outputs are computed at run time */
      if (j == 0) ax_out0 = ax;
    }
    for (int j = 0; a->k.fuse && j < C8_KERNEL_FUSE_MAX; j++) {
      if (!a->k.fuse_t[j] != !b->k.fuse_t[j]) return false;
      if (a->k.fuse_t[j] && check_value(W, P, (int)(a->k.fuse_t[j] - W->rt), B, S, false) == -2) return false;
    }
    if (!per_sample_step(W, a, ax_in0, ax_any, ax_out0) || !per_sample_step(P, b, ax_in0, ax_any, ax_out0))
      return false;
  }
  return true;
}

/* ---- building and running ---- */

void c8_batch_split_destroy(c8_batch_split *bs) {
  if (!bs) return;
  for (int i = 0; i < bs->n_plans; i++) c8_plan_destroy(bs->plans[i]);
  c8_mfree(bs->plans);
  if (bs->outputs)
    for (int i = 0; i < bs->g->n_outputs; i++) c8_free(bs->outputs[i].data);
  c8_mfree(bs->outputs);
  c8_mfree(bs->bound);
  c8_mfree(bs->status);
  c8_mfree(bs->message);
  c8_mfree(bs);
}

bool c8_batch_split_matches(const c8_batch_split *bs, const calib8_tensor *inputs) {
  for (int i = 0; i < bs->g->n_inputs; i++)
    if (bs->bound[i].dtype != inputs[i].dtype || !c8_same_shape(&bs->bound[i], &inputs[i])) return false;
  return true;
}

/* The sub-batch size. Automatic: the largest divisor of B up to B/2 whose activations fit the cache budget,
   or the model's weights when they are larger (every sub-batch streams all the weights once: PP-OCR rec has
   10 MB of weights and 2 MB of activations per sample, and ran 25 % slower at S = 1 than at S = 4), else 1.
   That depends on the model and the batch only. Only when there are more threads than sub-batches is S made
   smaller, until every thread has one (B < threads: no split). 0: do not split. */
static int choose_sub_batch(const c8_plan *whole, int B, int threads, int option) {
  if (option == C8_SUB_BATCH_OFF) return 0;
  if (option > 0) return option < B && B % option == 0 ? option : 0;
  if (B < threads) return 0;
  const c8_graph *g = whole->g;
  size_t weights = 0;
  for (int v = 0; v < g->n_values; v++)
    if (g->values[v].is_const) weights += c8_nbytes(&g->values[v].t);
  const size_t budget = weights > SUB_BATCH_BUDGET_BYTES ? weights : SUB_BATCH_BUDGET_BYTES;
  /* Activation bytes per sample: the arena without its scratch (whose size may follow the thread count). */
  const size_t per_sample = whole->scratch_offset / (size_t)B;
  int S = 1;
  for (int d = B / 2; d > 1; d--)
    if (B % d == 0 && (size_t)d * per_sample <= budget) {
      S = d;
      break;
    }
  while (B / S < threads) /* B >= threads: ends at S = 1 at the latest */
    for (S--; B % S; S--) {}
  return S;
}

c8_status c8_batch_split_build(const c8_plan *whole, struct c8_threadpool *pool, int sub_batch_option,
                               c8_batch_split **out) {
  *out = NULL;
  const c8_graph *g = whole->g;
  if (whole->by_value || g->n_inputs < 1 || g->n_outputs < 1 || !whole->fusions) return CALIB8_OK;
  const int64_t B64 = whole->bound[0].rank >= 1 ? whole->bound[0].dims[0] : 0;
  if (B64 < 2 || B64 > (1 << 20)) return CALIB8_OK;
  const int B = (int)B64;
  for (int i = 0; i < g->n_inputs; i++)
    if (whole->bound[i].rank < 1 || whole->bound[i].dims[0] != B) return CALIB8_OK;
  const int S = choose_sub_batch(whole, B, c8_threadpool_size(pool), sub_batch_option);
  if (S < 1) return CALIB8_OK;

  c8_batch_split *bs = c8_calloc(1, sizeof *bs);
  calib8_tensor *sub = c8_calloc((size_t)g->n_inputs, sizeof *sub);
  if (!bs || !sub) goto oom;
  bs->g = g;
  bs->batch = B;
  bs->sub_batch = S;
  bs->pool = pool;
  bs->n_plans = c8_threadpool_size(pool); /* any pool thread may take a sub-batch */
  bs->plans = c8_calloc((size_t)bs->n_plans, sizeof *bs->plans);
  bs->bound = c8_calloc((size_t)g->n_inputs, sizeof *bs->bound);
  bs->outputs = c8_calloc((size_t)g->n_outputs, sizeof *bs->outputs);
  bs->status = c8_calloc((size_t)bs->n_plans, sizeof *bs->status);
  bs->message = c8_calloc((size_t)bs->n_plans, sizeof *bs->message);
  if (!bs->plans || !bs->bound || !bs->outputs || !bs->status || !bs->message) goto oom;
  for (int i = 0; i < g->n_inputs; i++) {
    bs->bound[i] = whole->bound[i];
    sub[i] = whole->bound[i];
    sub[i].dims[0] = S;
  }
  /* The first instance also proves the split; a model it does not fit (or that does not plan at batch S)
     runs unsplit. */
  int built = 0;
  for (int t = 0; t < bs->n_plans; t++) {
    c8_status st = c8_plan_build_ex(g, sub, NULL, true, &bs->plans[t]);
    if (st == CALIB8_OUT_OF_MEMORY) goto oom_built;
    if (st || (t == 0 && !plans_split(whole, bs->plans[0], B, S))) goto no_split;
    built++;
  }
  for (int i = 0; i < g->n_outputs; i++) {
    calib8_tensor o = whole->rt[g->outputs[i]];
    o.data = c8_alloc(c8_nbytes(&o) ? c8_nbytes(&o) : 1);
    if (!o.data) goto oom_built;
    bs->outputs[i] = o;
  }
  c8_mfree(sub);
  *out = bs;
  return CALIB8_OK;
no_split:
  c8_mfree(sub);
  bs->n_plans = built + 1; /* the failed build left NULL or a plan to free */
  c8_batch_split_destroy(bs);
  c8_error(CALIB8_OK, "no error");
  return CALIB8_OK;
oom_built:
oom:
  c8_mfree(sub);
  c8_batch_split_destroy(bs);
  return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory splitting the batch");
}

typedef struct {
  c8_batch_split *bs;
  const calib8_tensor *inputs;
} split_run;

static void run_sub_batches(void *ctx, int64_t begin, int64_t end, int thread) {
  split_run *r = ctx;
  c8_batch_split *bs = r->bs;
  const c8_graph *g = bs->g;
  c8_plan *p = bs->plans[thread];
  calib8_tensor in[64];
  for (int64_t j = begin; j < end && !bs->status[thread]; j++) {
    for (int i = 0; i < g->n_inputs; i++) {
      in[i] = r->inputs[i];
      in[i].dims[0] = bs->sub_batch;
      size_t bytes = (size_t)c8_numel(&in[i]) * calib8_dtype_size(in[i].dtype);
      in[i].data = (unsigned char *)r->inputs[i].data + (size_t)j * bytes;
    }
    c8_status st = c8_plan_run(p, in, NULL, NULL);
    if (st) {
      bs->status[thread] = st;
      snprintf(bs->message[thread], sizeof bs->message[thread], "%s", calib8_last_error());
      return;
    }
    for (int i = 0; i < g->n_outputs; i++) {
      const c8_tensor *o = &p->rt[g->outputs[i]];
      size_t bytes = c8_nbytes(o);
      memcpy((unsigned char *)bs->outputs[i].data + (size_t)j * bytes, o->data, bytes);
    }
  }
}

c8_status c8_batch_split_run(c8_batch_split *bs, const calib8_tensor *inputs) {
  if (bs->g->n_inputs > 64) return c8_error(CALIB8_UNSUPPORTED, "models with more than 64 inputs are not supported");
  for (int t = 0; t < bs->n_plans; t++) bs->status[t] = CALIB8_OK;
  split_run r = {.bs = bs, .inputs = inputs};
  /* Sub-batches in chunks; pool thread t runs its chunks on plans[t]. */
  c8_parallel_for(bs->pool, bs->batch / bs->sub_batch, 1, run_sub_batches, &r);
  for (int t = 0; t < bs->n_plans; t++)
    if (bs->status[t]) return c8_error(bs->status[t], "%s", bs->message[t]);
  return CALIB8_OK;
}
