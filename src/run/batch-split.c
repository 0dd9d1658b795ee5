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
 * owns indices b*m .. b*m+m-1 of that axis, which the operator rules below keep true). */

static int64_t norm_axis(int64_t axis, int rank) { return axis < 0 ? axis + rank : axis; }

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

/* Reads a known integer tensor into v (at most max values); returns the count, or -1. */
static int known_ints(const c8_tensor *t, int64_t *v, int max) {
  if (!t || !t->data) return -1;
  int64_t n = c8_numel(t);
  if (n > max) return -1;
  for (int64_t i = 0; i < n; i++) {
    if (t->dtype == CALIB8_INT64) v[i] = ((const int64_t *)t->data)[i];
    else if (t->dtype == CALIB8_INT32) v[i] = ((const int32_t *)t->data)[i];
    else return -1;
  }
  return (int)n;
}

/* Slice: the batch axis, if sliced, keeps every sample in order (start 0, end past the last, step 1). */
static bool slice_keeps_batch(const c8_plan *p, const c8_step *s, int ax) {
  const c8_node *n = &p->g->nodes[s->node];
  const c8_tensor *x = s->in[0];
  int64_t starts[CALIB8_MAX_RANK], ends[CALIB8_MAX_RANK], axes[CALIB8_MAX_RANK], steps[CALIB8_MAX_RANK];
  int ns, ne, na, nst = -1;
  if (p->g->opset < 10) {
    const int64_t *a;
    int k;
    if (!(a = c8_attr_ints(n, "starts", &k)) || k > CALIB8_MAX_RANK) return false;
    memcpy(starts, a, sizeof(int64_t) * (size_t)k), ns = k;
    if (!(a = c8_attr_ints(n, "ends", &k)) || k != ns) return false;
    memcpy(ends, a, sizeof(int64_t) * (size_t)k), ne = k;
    a = c8_attr_ints(n, "axes", &k);
    if (a && k != ns) return false;
    if (a) memcpy(axes, a, sizeof(int64_t) * (size_t)k);
    na = a ? k : -1;
  } else {
    ns = known_ints(s->in[1], starts, CALIB8_MAX_RANK);
    ne = known_ints(s->in[2], ends, CALIB8_MAX_RANK);
    na = s->n_in > 3 && s->in[3] ? known_ints(s->in[3], axes, CALIB8_MAX_RANK) : -1;
    nst = s->n_in > 4 && s->in[4] ? known_ints(s->in[4], steps, CALIB8_MAX_RANK) : -1;
    if (ns < 0 || ne != ns || (s->n_in > 3 && s->in[3] && na != ns) || (s->n_in > 4 && s->in[4] && nst != ns))
      return false;
  }
  for (int i = 0; i < ns; i++) {
    if ((na >= 0 ? norm_axis(axes[i], x->rank) : i) != ax) continue;
    int64_t dim = x->dims[ax], b = starts[i], e = ends[i];
    if (nst >= 0 && steps[i] != 1) return false;
    if (b < 0) b += dim;
    if (e < 0) e += dim;
    if (b > 0 || e < dim) return false;
  }
  return true;
}

static int64_t prod(const c8_tensor *t, int from, int to) {
  int64_t n = 1;
  for (int d = from; d < to; d++) n *= t->dims[d];
  return n;
}

/* Ops that cannot mix samples whatever axis carries the batch, given the checks on every value: a mixing
   variant (a reduction or ArgMax over the batch, a Transpose, Expand or broadcast that puts the batch on two
   axes, MatMul contracting over it, ...) leaves a value with no batch axis or two, which batch_axis
   rejects. */
static const char *const any_axis_ops[] = {
    "Identity", "Dropout", "Add", "Sub", "Mul", "Div", "Pow", "Mod", "PRelu", "Sum", "Mean", "Max", "Min",
    "Equal", "Greater", "Less", "GreaterOrEqual", "LessOrEqual", "And", "Or", "Xor", "BitShift", "Where", "Not",
    "Relu", "LeakyRelu", "Elu", "Selu", "Celu", "ThresholdedRelu", "HardSigmoid", "HardSwish", "Sigmoid", "Tanh",
    "Softplus", "Softsign", "Shrink", "Gelu", "Clip", "Neg", "Abs", "Sign", "Reciprocal", "Sqrt", "Exp", "Log",
    "Erf", "Floor", "Ceil", "Round", "Sin", "Cos", "Tan", "Asin", "Acos", "Atan", "Sinh", "Cosh", "Asinh", "Acosh",
    "Atanh", "IsNaN", "IsInf", "Cast", "CastLike", "Transpose", "Expand", "Gemm", "MatMul", "MatMulInteger",
    "QLinearMatMul", "ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceSumSquare",
    "ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ArgMax", "ArgMin", NULL};

/* Ops over [N, C, ...] tensors: per-sample when the batch is on N. */
static const char *const batch_first_ops[] = {
    "Conv", "FusedConv", "ConvTranspose", "ConvInteger", "QLinearConv", "MaxPool", "AveragePool", "LpPool",
    "GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool", "BatchNormalization", "InstanceNormalization", "LRN",
    "DepthToSpace", "SpaceToDepth", NULL};

static bool in_list(const char *const *list, const char *s) {
  for (; *list; list++)
    if (strcmp(*list, s) == 0) return true;
  return false;
}

/* Does step s of plan p (W or P) keep samples apart, given the batch axis of its first input (ax, -1 when
   that input is known), of its first run-time input (ax_any) and of its first output (ax_out)? */
static bool per_sample_step(const c8_plan *p, const c8_step *s, int ax, int ax_any, int ax_out) {
  const c8_node *n = &p->g->nodes[s->node];
  const char *op = n->op_type;
  if (n->domain && n->domain[0] && strcmp(n->domain, "ai.onnx") != 0) return false;
  if (in_list(any_axis_ops, op)) return true;
  if (in_list(batch_first_ops, op)) return ax == 0;
  const int rank = s->in[0] ? s->in[0]->rank : 0;
  if (!strcmp(op, "Reshape") || !strcmp(op, "Flatten") || !strcmp(op, "Squeeze") || !strcmp(op, "Unsqueeze"))
    /* Row-major: the same count of elements before the batch on both sides keeps each sample's block. */
    return ax >= 0 && ax_out >= 0 && prod(s->in[0], 0, ax) == prod(s->out[0], 0, ax_out);
  if (!strcmp(op, "Gather") && ax < 0) return true; /* a lookup into a known table by run-time indices */
  if (!strcmp(op, "Concat")) ax = ax_any;         /* Concat(constant, x): the batch axis of x */
  if (ax < 0) return false;
  if (!strcmp(op, "Softmax") || !strcmp(op, "LogSoftmax") || !strcmp(op, "Hardmax")) {
    int64_t axis = norm_axis(c8_attr_int(n, "axis", p->g->opset < 13 ? 1 : -1), rank);
    return p->g->opset < 13 ? ax < axis : ax != axis; /* before 13: over all axes from `axis` on */
  }
  if (!strcmp(op, "LayerNormalization")) return ax < norm_axis(c8_attr_int(n, "axis", -1), rank);
  if (!strcmp(op, "Concat") || !strcmp(op, "Split")) return norm_axis(c8_attr_int(n, "axis", 0), rank) != ax;
  if (!strcmp(op, "Gather") || !strcmp(op, "GatherElements")) return norm_axis(c8_attr_int(n, "axis", 0), rank) != ax;
  if (!strcmp(op, "GatherND")) return c8_attr_int(n, "batch_dims", 0) >= 1 && ax == 0;
  if (!strcmp(op, "Slice")) return slice_keeps_batch(p, s, ax);
  if (!strcmp(op, "QuantizeLinear") || !strcmp(op, "DequantizeLinear")) {
    /* Per-axis scales along the batch would index samples. */
    const c8_tensor *scale = s->n_in > 1 ? s->in[1] : NULL;
    return !scale || c8_numel(scale) <= 1 || norm_axis(c8_attr_int(n, "axis", 1), rank) != ax;
  }
  if (!strcmp(op, "Tile")) {
    int64_t reps[CALIB8_MAX_RANK];
    return known_ints(s->in[1], reps, CALIB8_MAX_RANK) == rank && reps[ax] == 1;
  }
  if (!strcmp(op, "Pad")) {
    int64_t pads[2 * CALIB8_MAX_RANK];
    int k;
    if (p->g->opset < 11) {
      const int64_t *a = c8_attr_ints(n, "pads", &k);
      if (!a || k != 2 * rank) return false;
      memcpy(pads, a, sizeof(int64_t) * (size_t)k);
    } else {
      if (s->n_in > 3 && s->in[3]) return false; /* an axes operand: not needed by the models seen */
      k = known_ints(s->in[1], pads, 2 * CALIB8_MAX_RANK);
      if (k != 2 * rank) return false;
    }
    return pads[ax] == 0 && pads[ax + rank] == 0;
  }
  if (!strcmp(op, "Resize") || !strcmp(op, "Upsample")) {
    if (!strcmp(c8_attr_string(n, "coordinate_transformation_mode", "half_pixel"), "tf_crop_and_resize")) return false;
    /* A scale on the batch axis must be exactly 1, or linear modes would blend neighbouring samples (with
       sizes, the output keeps the batch, so the scale is 1). */
    const c8_tensor *scales = NULL;
    if (!strcmp(op, "Upsample")) scales = s->n_in > 1 ? s->in[1] : NULL;
    else scales = p->g->opset >= 11 ? (s->n_in > 2 ? s->in[2] : NULL) : (s->n_in > 1 ? s->in[1] : NULL);
    if (!scales || c8_numel(scales) == 0) {
      int k;
      const float *a = !strcmp(op, "Upsample") ? c8_attr_floats(n, "scales", &k) : NULL;
      return !strcmp(op, "Resize") ? s->out[0]->dims[ax] == s->in[0]->dims[ax] : a && k == rank && a[ax] == 1.0f;
    }
    return scales->data && scales->dtype == CALIB8_FLOAT && c8_numel(scales) == rank &&
           ((const float *)scales->data)[ax] == 1.0f;
  }
  return false;
}

/* Known inputs that are shape operands: they may differ between the plans (Reshape to [B, -1] against
   [S, -1]) since the run-time shapes they produce are checked instead. */
static bool shape_operand(const c8_node *n, int input) {
  const char *op = n->op_type;
  if (!strcmp(op, "Reshape") || !strcmp(op, "Expand")) return input == 1;
  if (!strcmp(op, "Resize")) return input == 3; /* sizes; roi and scales must be equal */
  if (!strcmp(op, "Slice")) return input == 1 || input == 2;
  return false;
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
