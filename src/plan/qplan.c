#include "plan/qplan.h"

#include "core/threadpool.h"
#include "ops/op.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

c8_quant_options c8_quant_options_default(void) {
  c8_quant_options o = {.method = C8_THRESHOLD_KL, .percentile = 99.99, .weights = C8_WEIGHTS_MINMAX,
                        .granularity = C8_GRAN_PER_CHANNEL};
  return o;
}

/* For front ends that have an op name rather than a node: the op of the default domain. */
bool c8_op_is_int8_compute(const char *op) {
  const c8_op_def *d = c8_op_find("", op);
  return d && c8_qrole_is_compute(d->qrole);
}

static c8_qrole qrole(const c8_node *n) { return c8_node_op(n)->qrole; }

/* An activation that only clamps (Relu, Clip) is absorbed by the quantized output range before it. */
static bool is_fusable_activation(const c8_graph *g, const c8_node *n) {
  c8_fuse_role f = c8_node_op(n)->fuse;
  if (f != C8_FUSE_RELU && f != C8_FUSE_CLIP) return false;
  /* Clip fuses when its bounds are constants (Relu6 and friends) */
  for (int j = 1; j < n->n_in; j++)
    if (n->in[j] >= 0 && !g->values[n->in[j]].is_const) return false;
  return true;
}

static bool is_activation(const c8_graph *g, int v) {
  return v >= 0 && !g->values[v].is_const;
}

/* Only reader of v (or -1 when none or several, or when v is a graph output). */
static int sole_reader(const c8_graph *g, int v) {
  if (c8_graph_is_output(g, v)) return -1;
  int reader = -1;
  for (int i = 0; i < g->n_nodes; i++)
    for (int j = 0; j < g->nodes[i].n_in; j++)
      if (g->nodes[i].in[j] == v) {
        if (reader >= 0 && reader != i) return -1;
        reader = i;
      }
  return reader;
}

static int uf_find(int *parent, int x) {
  while (parent[x] != x) x = parent[x] = parent[parent[x]];
  return x;
}
static void uf_union(int *parent, int a, int b) {
  a = uf_find(parent, a);
  b = uf_find(parent, b);
  if (a != b) parent[a < b ? b : a] = a < b ? a : b; /* smaller id is the root: deterministic */
}

void c8_qplan_destroy(c8_qplan *p) {
  if (!p) return;
  c8_mfree(p->node_prec);
  c8_mfree(p->node_fused_act);
  c8_mfree(p->tq);
  if (p->x_mean)
    for (int v = 0; v < p->n_values; v++) c8_mfree(p->x_mean[v].mean);
  c8_mfree(p->x_mean);
  c8_mfree(p);
}

/* Copies the calibration's E[x] for the data input of every INT8 node with constant weights. */
static c8_status copy_means(c8_qplan *p, const c8_calibration *cal) {
  const c8_graph *g = p->g;
  if (!cal->mean_axis)
    return c8_error(CALIB8_INVALID_ARGUMENT,
                    "bias correction needs the per-channel input means of the calibration (enable them before "
                    "calibrating: c8_calibration_enable_means)");
  p->x_mean = c8_calloc((size_t)g->n_values + 1, sizeof *p->x_mean);
  if (!p->x_mean) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory planning quantization");
  for (int i = 0; i < g->n_nodes; i++) {
    const c8_node *n = &g->nodes[i];
    if (p->node_prec[i] != C8_PREC_INT8 || !c8_qrole_is_compute(qrole(n)) || n->n_in < 2) continue;
    int x = n->in[0];
    if (n->in[1] < 0 || !g->values[n->in[1]].is_const || p->x_mean[x].mean) continue;
    c8_channel_mean *m = &p->x_mean[x];
    c8_status st = c8_calibration_channel_mean(cal, x, &m->mean, &m->n, &m->axis);
    if (st) return st;
  }
  return CALIB8_OK;
}

/* The constant upper bound of a Clip (Relu6 and friends) that produces v, or +inf: from the `max` input (opset
 * 11 on) or attribute (before). */
static double clip_upper_bound(const c8_graph *g, int v) {
  int k = c8_graph_producer(g, v);
  if (k < 0) return INFINITY;
  const c8_node *n = &g->nodes[k];
  if (c8_node_op(n)->fuse != C8_FUSE_CLIP || n->out[0] != v) return INFINITY;
  if (n->n_in > 2 && n->in[2] >= 0) {
    const c8_value *b = &g->values[n->in[2]];
    if (!b->is_const || b->t.dtype != CALIB8_FLOAT || c8_numel(&b->t) != 1) return INFINITY;
    return ((const float *)b->t.data)[0];
  }
  return n->n_in <= 2 && c8_node_attr(n, "max") ? (double)c8_attr_float(n, "max", INFINITY) : INFINITY;
}

/* Share of the observed values within one histogram bin below `bound` (the pile a clip leaves at its bound). */
static double share_at_bound(const c8_histogram *h, double bound) {
  uint64_t abs_bins[C8_HIST_BINS];
  double w = c8_histogram_abs(h, abs_bins);
  if (w <= 0 || !h->count) return 0.0;
  uint64_t n = 0;
  for (int64_t j = (int64_t)floor(bound / w) - 1; j < C8_HIST_BINS; j++)
    if (j >= 0) n += abs_bins[j];
  return (double)n / (double)h->count;
}

/* A clipped tensor's pile at the bound counts as data, not as outliers, from this share on: the share the default
 * percentile (99.99) leaves out. */
#define CLIP_PILE_SHARE 1e-4

typedef struct threshold_job {
  const c8_graph *g;
  const c8_calibration *cal;
  const c8_threshold_options *to;
  const c8_quant_options *opts;
  int *values, n;
  double *t;
} threshold_job;

/* The threshold of each listed value (step 4 of c8_qplan_build). */
static void threshold_range(void *ctx, int64_t begin, int64_t end, int thread) {
  (void)thread;
  threshold_job *j = ctx;
  for (int64_t k = begin; k < end; k++) {
    int v = j->values[k];
    const c8_histogram *h = j->cal->hist[v];
    c8_threshold_method m = j->opts->method;
    /* Graph inputs are bounded by the preprocessing, and their histograms are spikes (a flat background)
       that clipping methods mistake for the whole distribution: they keep their full range. */
    bool is_input = false;
    for (int i = 0; i < j->g->n_inputs; i++) is_input |= j->g->inputs[i] == v;
    if (is_input) m = C8_THRESHOLD_MAX;
    if (j->opts->value_method && j->opts->value_method[v] >= 0) m = (c8_threshold_method)j->opts->value_method[v];
    c8_threshold_options to = *j->to;
    /* a never-negative tensor gets all 255 steps over [0, T] (see step 6) */
    to.levels = h->count && h->min >= 0.0f ? 255 : 127;
    double t = c8_threshold_compute(m, h, &to);
    /* Clip-aware: the output of Relu6 (Clip with a constant max B) piles up at B. A clipping method's criterion
       treats that pile like a tail: KL (TensorRT's entropy calibration) folds everything beyond a candidate
       threshold into its last bin and compares distribution shapes, so moving the pile from 6 down to 2.4 costs
       it only the pile's probability mass, whatever the distance. Those values are the layer's saturated
       activations, and clipping them below B shifts each of them by B - T (docs/quantization.md). When the pile
       holds more than an outlier's share, the threshold never goes below B (it cannot exceed B: max|x| <= B). */
    double bound = clip_upper_bound(j->g, v);
    if (m != C8_THRESHOLD_MAX && isfinite(bound) && bound > 0 && t < bound && h->min >= 0.0f &&
        share_at_bound(h, bound) >= CLIP_PILE_SHARE)
      t = fmin(bound, c8_threshold_max(h));
    j->t[k] = t;
  }
}

c8_status c8_qplan_build(const c8_graph *g, const c8_calibration *cal, const c8_quant_options *o, c8_qplan **out) {
  c8_status st = CALIB8_OK;
  c8_qplan *p = c8_calloc(1, sizeof *p);
  int *parent = NULL;
  if (!p) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory planning quantization");
  p->g = g;
  p->opts = o ? *o : c8_quant_options_default();
  p->n_nodes = g->n_nodes;
  p->n_values = g->n_values;
  p->node_prec = c8_calloc((size_t)g->n_nodes + 1, sizeof *p->node_prec);
  p->node_fused_act = c8_calloc((size_t)g->n_nodes + 1, sizeof *p->node_fused_act);
  p->tq = c8_calloc((size_t)g->n_values + 1, sizeof *p->tq);
  parent = c8_malloc(sizeof(int) * ((size_t)g->n_values + 1));
  if (!p->node_prec || !p->node_fused_act || !p->tq || !parent) {
    st = c8_error(CALIB8_OUT_OF_MEMORY, "out of memory planning quantization");
    goto fail;
  }
  for (int v = 0; v < g->n_values; v++) parent[v] = v;
  const c8_precision *forced = p->opts.node_precision;

  /* 1. compute nodes */
  for (int i = 0; i < g->n_nodes; i++) {
    const c8_node *n = &g->nodes[i];
    p->node_prec[i] = C8_PREC_FP32;
    if (forced && forced[i] == C8_PREC_FP32) continue;
    if (!c8_qrole_is_compute(qrole(n)) || n->n_in < 2) continue;
    /* the data input must be an observed float activation */
    int x = n->in[0];
    if (!is_activation(g, x) || !cal->hist[x]) continue;
    /* weights: constant float, or (MatMul/Gemm) a second observed activation */
    int w = n->in[1];
    if (w < 0) continue;
    if (g->values[w].is_const) {
      if (g->values[w].t.dtype != CALIB8_FLOAT) continue;
    } else if (!cal->hist[w] || qrole(n) != C8_QROLE_COMPUTE_ANY) {
      continue;
    }
    if (!cal->hist[n->out[0]]) continue;
    p->node_prec[i] = C8_PREC_INT8;
  }
  /* 2. fused activations and tensor marks from compute nodes */
  for (int i = 0; i < g->n_nodes; i++) {
    const c8_node *n = &g->nodes[i];
    if (p->node_prec[i] != C8_PREC_INT8 || !c8_qrole_is_compute(qrole(n))) continue;
    p->tq[n->in[0]].quantized = true;
    if (!g->values[n->in[1]].is_const) p->tq[n->in[1]].quantized = true;
    int y = n->out[0];
    int r = sole_reader(g, y);
    if (r >= 0 && is_fusable_activation(g, &g->nodes[r]) && !(forced && forced[r] == C8_PREC_FP32) &&
        cal->hist[g->nodes[r].out[0]]) {
      p->node_fused_act[r] = true;
      p->node_prec[r] = C8_PREC_INT8;
      y = g->nodes[r].out[0];
    }
    p->tq[y].quantized = true;
  }
  /* 3. carry-through ops, in topological order so chains propagate */
  for (int i = 0; i < g->n_nodes; i++) {
    const c8_node *n = &g->nodes[i];
    const c8_qrole role = qrole(n);
    if (p->node_prec[i] == C8_PREC_INT8 ||
        (role != C8_QROLE_SHARES_SCALE && role != C8_QROLE_JOINS && role != C8_QROLE_CARRIES))
      continue;
    if (forced && forced[i] == C8_PREC_FP32) continue;
    bool all = true;
    int acts = 0;
    for (int j = 0; j < n->n_in; j++) {
      int v = n->in[j];
      if (v < 0) continue;
      if (g->values[v].is_const) {
        /* Reshape/Unsqueeze shape-like constants are fine; constant float data is not int8 */
        if (g->values[v].t.dtype == CALIB8_FLOAT) all = false;
        continue;
      }
      if (j > 0 && role == C8_QROLE_SHARES_SCALE) continue; /* shape/axes inputs */
      acts++;
      if (!p->tq[v].quantized) all = false;
    }
    if (!all || acts == 0 || !cal->hist[n->out[0]]) continue;
    p->node_prec[i] = C8_PREC_INT8;
    p->tq[n->out[0]].quantized = true;
    if (role == C8_QROLE_SHARES_SCALE) uf_union(parent, n->in[0], n->out[0]);
    if (role == C8_QROLE_JOINS)
      for (int j = 0; j < n->n_in; j++)
        if (n->in[j] >= 0) uf_union(parent, n->in[j], n->out[0]);
  }
  /* 4. thresholds per tensor: each is independent, so they are computed on the calibration's threads (one
     tensor per task, on opts.pool: the result does not depend on the thread count) */
  c8_threshold_options to = c8_threshold_options_default();
  to.percentile = p->opts.percentile;
  threshold_job job = {.g = g, .cal = cal, .to = &to, .opts = &p->opts};
  job.values = c8_malloc(sizeof *job.values * (size_t)(g->n_values ? g->n_values : 1));
  job.t = c8_malloc(sizeof *job.t * (size_t)(g->n_values ? g->n_values : 1));
  if (!job.values || !job.t) {
    c8_mfree(job.values);
    c8_mfree(job.t);
    st = c8_error(CALIB8_OUT_OF_MEMORY, "out of memory planning quantization");
    goto fail;
  }
  for (int v = 0; v < g->n_values; v++) {
    if (!p->tq[v].quantized) continue;
    if (!cal->hist[v]) {
      c8_mfree(job.values);
      c8_mfree(job.t);
      st = c8_error(CALIB8_INTERNAL, "tensor '%s' is marked int8 but was never observed", g->values[v].name);
      goto fail;
    }
    job.values[job.n++] = v;
  }
  c8_parallel_for(p->opts.pool, job.n, 1, threshold_range, &job);
  p->opts.pool = NULL; /* borrowed for this call only */
  for (int k = 0; k < job.n; k++) {
    int v = job.values[k];
    const c8_histogram *h = cal->hist[v];
    c8_tensor_q *q = &p->tq[v];
    double t = job.t[k];
    q->threshold = (float)t;
    q->lo = h->count ? fmaxf(h->min, (float)-t) : 0.0f;
    q->hi = h->count ? fminf(h->max, (float)t) : 0.0f;
  }
  c8_mfree(job.values);
  c8_mfree(job.t);
  /* 5. shared-scale groups take the widest member range */
  for (int v = 0; v < g->n_values; v++) {
    if (!p->tq[v].quantized) continue;
    int r = uf_find(parent, v);
    p->tq[v].group = r == v && parent[v] == v ? -1 : r;
    if (r == v) continue;
    c8_tensor_q *root = &p->tq[r];
    if (!root->quantized) continue;
    root->threshold = fmaxf(root->threshold, p->tq[v].threshold);
    root->lo = fminf(root->lo, p->tq[v].lo);
    root->hi = fmaxf(root->hi, p->tq[v].hi);
  }
  for (int v = 0; v < g->n_values; v++) {
    c8_tensor_q *q = &p->tq[v];
    if (!q->quantized) continue;
    int r = uf_find(parent, v);
    if (r != v) {
      q->threshold = p->tq[r].threshold;
      q->lo = p->tq[r].lo;
      q->hi = p->tq[r].hi;
      q->group = r;
    }
    if (r == v) {
      /* a root that others joined is a group too */
      for (int u = 0; u < g->n_values && q->group < 0; u++)
        if (u != v && p->tq[u].quantized && uf_find(parent, u) == v) q->group = v;
    }
  }
  /* 6. scales and zero points */
  for (int v = 0; v < g->n_values; v++) {
    c8_tensor_q *q = &p->tq[v];
    if (!q->quantized) continue;
    if (!p->opts.asymmetric) {
      /* Symmetric ranges are stored as uint8 with zero point 128: the same 256 values as int8 with zero point 0
         (q_u8 = q_s8 + 128 in QuantizeLinear and DequantizeLinear alike), in the form ONNX Runtime runs without
         conversion. With int8 activations ORT converts each Q->DQ pair to uint8 itself, but not the pairs of a
         tensor that several nodes read (it first gives every reader its own DequantizeLinear, and only converts
         a QuantizeLinear with one reader); the mixed int8/uint8 neighbours then defeat its QLinearConv fusion:
         on ResNet-8 six of nine convolutions stayed in float, slower than the FP32 model. */
      q->dtype = CALIB8_UINT8;
      if (q->lo >= 0.0f) {
        /* Never negative (after Relu): all 256 steps cover [0, T], zero point 0 (int8: -128). This doubles
           the resolution, and it is the form in which ONNX Runtime's ReluQuantFusion drops the Relu and
           fuses the convolution into an integer kernel. */
        q->zero_point = 0;
        q->scale = q->threshold > 0 ? q->threshold / 255.0f : 1.0f;
        q->lo = 0.0f;
      } else {
        q->zero_point = 128;
        q->scale = q->threshold > 0 ? q->threshold / 127.0f : 1.0f;
        q->lo = -q->threshold;
      }
      q->hi = q->threshold;
    } else {
      q->dtype = CALIB8_UINT8;
      float lo = fminf(q->lo, 0.0f), hi = fmaxf(q->hi, 0.0f);
      if (hi - lo <= 0) {
        q->scale = 1.0f;
        q->zero_point = 0;
      } else {
        q->scale = (hi - lo) / 255.0f;
        float zp = nearbyintf(-lo / q->scale);
        q->zero_point = (int)fminf(255.0f, fmaxf(0.0f, zp));
      }
      q->lo = lo;
      q->hi = hi;
    }
  }
  if (p->opts.bias_correction && (st = copy_means(p, cal))) goto fail;
  c8_mfree(parent);
  *out = p;
  return CALIB8_OK;
fail:
  c8_mfree(parent);
  c8_qplan_destroy(p);
  return st;
}

c8_status c8_quantize_weights(const c8_tensor *w, int axis, c8_weight_method m, float *scales, int8_t *q) {
  if (w->dtype != CALIB8_FLOAT) return c8_error(CALIB8_UNSUPPORTED, "weights must be float32");
  int64_t outer = 1, C = 1, inner = 1;
  if (axis >= 0) {
    for (int d = 0; d < axis; d++) outer *= w->dims[d];
    C = w->dims[axis];
    for (int d = axis + 1; d < w->rank; d++) inner *= w->dims[d];
  } else {
    inner = c8_numel(w);
  }
  const float *x = w->data;
  for (int64_t c = 0; c < C; c++) {
    double mx = 0.0;
    for (int64_t o = 0; o < outer; o++)
      for (int64_t k = 0; k < inner; k++) mx = fmax(mx, fabs((double)x[(o * C + c) * inner + k]));
    double s = mx > 0 ? mx / 127.0 : 1.0;
    if (m == C8_WEIGHTS_ADMM && mx > 0) {
      /* Alternating least squares for min ||W - s q||^2 over s and q in [-127, 127] (TNN's
         "ADMM" weight quantizer): converges in a few steps; stop when q no longer changes. */
      for (int it = 0; it < 20; it++) {
        double wq = 0.0, qq = 0.0;
        for (int64_t o = 0; o < outer; o++)
          for (int64_t k = 0; k < inner; k++) {
            double xv = x[(o * C + c) * inner + k];
            double qv = fmax(-127.0, fmin(127.0, nearbyint(xv / s)));
            wq += xv * qv;
            qq += qv * qv;
          }
        if (qq == 0.0) break;
        double ns = wq / qq;
        if (fabs(ns - s) <= 1e-12 * s) break;
        s = ns;
      }
    }
    scales[c] = (float)s;
    for (int64_t o = 0; o < outer; o++)
      for (int64_t k = 0; k < inner; k++) {
        int64_t i = (o * C + c) * inner + k;
        float qv = nearbyintf(x[i] / scales[c]);
        q[i] = (int8_t)fmaxf(-127.0f, fminf(127.0f, qv));
      }
  }
  return CALIB8_OK;
}

/* Marks a region FP32: from the value `t` forward (every node reading it or computed from it) or backward (its
 * producer and everything it depends on), plus node `layer` itself when >= 0. A region that holds no compute layer
 * (Conv, Gemm, MatMul, ...) that could be INT8 changes no layer's precision: that is an error naming the option and
 * the name, since it is always a mistake (a recipe that names the wrong tensors looks applied and is not). */
static c8_status mark_region(const c8_graph *g, int t, int layer, bool forward, const char *opt, const char *name,
                             c8_precision *prec) {
  unsigned char *reached = c8_calloc((size_t)g->n_values + 1, 1);
  if (!reached) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory");
  int changed = 0;
  if (t >= 0) reached[t] = 1;
  if (layer >= 0)
    for (int j = 0; j < g->nodes[layer].n_out; j++)
      if (g->nodes[layer].out[j] >= 0) reached[g->nodes[layer].out[j]] = 1;
  for (int s = 0; s < g->n_nodes; s++) { /* nodes are in topological order */
    int i = forward ? s : g->n_nodes - 1 - s;
    const c8_node *n = &g->nodes[i];
    bool hit = i == layer;
    int nv = forward ? n->n_in : n->n_out;
    const int *vs = forward ? n->in : n->out;
    for (int j = 0; j < nv; j++) hit |= vs[j] >= 0 && reached[vs[j]];
    if (!hit) continue;
    changed += prec[i] != C8_PREC_FP32 && c8_qrole_is_compute(c8_node_op(n)->qrole);
    prec[i] = C8_PREC_FP32;
    nv = forward ? n->n_out : n->n_in;
    vs = forward ? n->out : n->in;
    for (int j = 0; j < nv; j++)
      if (vs[j] >= 0) reached[vs[j]] = 1;
  }
  c8_mfree(reached);
  if (!changed)
    return c8_error(CALIB8_INVALID_ARGUMENT,
                    "%s '%s' changes nothing: no layer %s it could compute in INT8 (or they are FP32 already)", opt,
                    name, forward ? "from there on" : "up to there");
  return CALIB8_OK;
}

c8_status c8_precision_fp32_after(const c8_graph *g, const char *tensor, c8_precision *prec) {
  int t = c8_graph_find_value(g, tensor);
  if (t < 0) return c8_error(CALIB8_INVALID_ARGUMENT, "--fp32-after: the model has no tensor named '%s'", tensor);
  return mark_region(g, t, -1, true, "--fp32-after", tensor, prec);
}

c8_status c8_precision_fp32_before(const c8_graph *g, const char *tensor, c8_precision *prec) {
  int t = c8_graph_find_value(g, tensor);
  if (t < 0) return c8_error(CALIB8_INVALID_ARGUMENT, "--fp32-before: the model has no tensor named '%s'", tensor);
  return mark_region(g, t, -1, false, "--fp32-before", tensor, prec);
}

/* A layer by node name, or the layer computing a tensor of that name. */
static int find_layer(const c8_graph *g, const char *name) {
  for (int i = 0; i < g->n_nodes; i++)
    if (!strcmp(g->nodes[i].name, name)) return i;
  int v = c8_graph_find_value(g, name);
  return v >= 0 ? c8_graph_producer(g, v) : -1;
}

c8_status c8_precision_fpfwd(const c8_graph *g, const char *name, bool outputs, c8_precision *prec) {
  const char *opt = outputs ? "--fpfwd-outputs" : "--fpfwd-inputs";
  int layer = find_layer(g, name);
  if (layer < 0)
    return c8_error(CALIB8_INVALID_ARGUMENT, "%s: the model has no layer, and no computed tensor, named '%s'", opt, name);
  return mark_region(g, -1, layer, outputs, opt, name, prec);
}
