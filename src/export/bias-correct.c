#include "export/bias-correct.h"

#include "ops/op.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OOM() c8_error(CALIB8_OUT_OF_MEMORY, "out of memory correcting biases")

c8_status c8_dequantized_weights(const c8_tensor *W, int axis, c8_weight_method m, float *out) {
  if (axis >= W->rank) axis = -1;
  int64_t C = axis >= 0 ? W->dims[axis] : 1, inner = 1, n = c8_numel(W);
  for (int d = axis + 1; axis >= 0 && d < W->rank; d++) inner *= W->dims[d];
  float *scales = c8_malloc(sizeof(float) * (size_t)(C ? C : 1));
  int8_t *q = c8_malloc((size_t)n + 1);
  c8_status st = CALIB8_OK;
  if (!scales || !q) {
    st = OOM();
    goto out;
  }
  if ((st = c8_quantize_weights(W, axis, m, scales, q))) goto out;
  for (int64_t i = 0; i < n; i++) out[i] = (float)q[i] * scales[axis >= 0 ? (i / inner) % C : 0];
out:
  c8_mfree(scales);
  c8_mfree(q);
  return st;
}

c8_status c8_bias_shift(const c8_node *n, const c8_tensor *W, const float *wq, const double *mean, int64_t n_mean,
                        double *shift, int64_t *n_out) {
  const float *w = W->data;
  const c8_op_def *d = c8_node_op(n);
  if (!c8_qrole_is_compute(d->qrole)) return CALIB8_UNSUPPORTED;
  /* The weight axis tells the layout: output channels on axis 0 of [M, C / group, kernel...] (Conv), or the
     output columns of a 2-D [K, N] matrix, [N, K] when transposed (Gemm, MatMul). */
  if (d->weight_axis == C8_AXIS_0) {
    if (W->rank < 3) return CALIB8_UNSUPPORTED;
    int64_t M = W->dims[0], cin_g = W->dims[1], groups = c8_attr_int(n, "group", 1);
    if (groups < 1 || M % groups || cin_g * groups != n_mean) return CALIB8_UNSUPPORTED;
    int64_t kvol = M && cin_g ? c8_numel(W) / (M * cin_g) : 0, cout_g = M / groups;
    for (int64_t o = 0; o < M; o++) {
      double s = 0.0;
      for (int64_t ci = 0; ci < cin_g; ci++) {
        double e = 0.0; /* sum over the kernel of the weight error */
        for (int64_t k = 0; k < kvol; k++) {
          int64_t i = (o * cin_g + ci) * kvol + k;
          e += (double)wq[i] - (double)w[i];
        }
        s += e * mean[(o / cout_g) * cin_g + ci];
      }
      shift[o] = s;
    }
    *n_out = M;
    return CALIB8_OK;
  }
  if (d->weight_axis != C8_AXIS_GEMM_B && d->weight_axis != C8_AXIS_LAST) return CALIB8_UNSUPPORTED;
  if (W->rank != 2) return CALIB8_UNSUPPORTED;
  bool tb = c8_op_axis(d->weight_axis, n) == 0;
  int64_t K = tb ? W->dims[1] : W->dims[0], N = tb ? W->dims[0] : W->dims[1];
  if (K != n_mean) return CALIB8_UNSUPPORTED;
  double alpha = c8_attr_float(n, "alpha", 1.0f); /* Gemm's; MatMul has none */
  for (int64_t j = 0; j < N; j++) {
    double s = 0.0;
    for (int64_t k = 0; k < K; k++) {
      int64_t i = tb ? j * K + k : k * N + j;
      s += ((double)wq[i] - (double)w[i]) * mean[k];
    }
    shift[j] = alpha * s;
  }
  *n_out = N;
  return CALIB8_OK;
}

/* A new float constant [n] (or with old's shape when old >= 0) holding old - shift * f; returns its id. */
static int corrected_const(c8_graph *g, int old, const char *hint, const double *shift, int64_t n, double f) {
  int id = c8_graph_add_unique_value(g, hint);
  if (id < 0) return -1;
  c8_tensor t = {.dtype = CALIB8_FLOAT, .rank = 1, .dims = {n}};
  if (old >= 0) t = g->values[old].t;
  t.data = c8_alloc((size_t)n * sizeof(float) + 1);
  if (!t.data) return -1;
  const float *b = old >= 0 ? g->values[old].t.data : NULL;
  for (int64_t i = 0; i < n; i++) ((float *)t.data)[i] = (float)((b ? (double)b[i] : 0.0) - shift[i] * f);
  c8_graph_set_const(g, id, t);
  return id;
}

/* Index of a float constant of n elements whose last dimension is n and others 1 (a per-channel vector). */
static bool is_channel_vector(const c8_graph *g, int v, int64_t n) {
  if (v < 0 || !g->values[v].is_const || g->values[v].t.dtype != CALIB8_FLOAT || !g->values[v].t.data) return false;
  const c8_tensor *t = &g->values[v].t;
  return t->rank >= 1 && t->dims[t->rank - 1] == n && c8_numel(t) == n;
}

static c8_status set_input(c8_graph *g, int k, int j, int v) {
  c8_node *nd = &g->nodes[k];
  if (nd->n_in <= j) {
    int *in = c8_realloc(nd->in, sizeof(int) * (size_t)(j + 1));
    if (!in) return OOM();
    for (int i = nd->n_in; i <= j; i++) in[i] = -1;
    nd->in = in;
    nd->n_in = j + 1;
  }
  nd->in[j] = v;
  return CALIB8_OK;
}

c8_status c8_bias_correct_node(c8_graph *g, int k, int w, int axis, c8_weight_method m, const c8_channel_mean *mean,
                               bool *corrected) {
  *corrected = false;
  const c8_node *n = &g->nodes[k];
  if (!mean || !mean->mean) return CALIB8_OK;
  const c8_op_def *d = c8_node_op(n);
  if (!c8_qrole_is_compute(d->qrole)) return CALIB8_OK;
  if (mean->axis != c8_op_axis(d->mean_axis, n)) return CALIB8_OK; /* measured for another reader of the same tensor */
  const c8_tensor *W = &g->values[w].t;
  if (W->dtype != CALIB8_FLOAT || !W->data) return CALIB8_OK;
  int64_t n_w = c8_numel(W), n_ch = W->rank >= 1 ? W->dims[0] : 1;
  if (W->rank == 2) n_ch = W->dims[0] > W->dims[1] ? W->dims[0] : W->dims[1];
  float *wq = c8_malloc(sizeof(float) * (size_t)n_w + 1);
  double *shift = c8_malloc(sizeof(double) * (size_t)(n_ch ? n_ch : 1));
  c8_status st = CALIB8_OK;
  char hint[600];
  if (!wq || !shift) {
    st = OOM();
    goto out;
  }
  if ((st = c8_dequantized_weights(W, axis, m, wq))) goto out;
  int64_t N;
  if (c8_bias_shift(n, W, wq, mean->mean, mean->n, shift, &N) != CALIB8_OK) goto out; /* does not fit: leave it */
  int id = -1, target = k, slot = 2;
  double f = 1.0;
  int b = n->n_in > 2 ? n->in[2] : -1;
  if (d->bias == C8_BIAS_INPUT2) {
    double beta = c8_attr_float(n, "beta", 1.0f); /* Gemm's; the others have none */
    if (beta == 0.0 || (b >= 0 && !is_channel_vector(g, b, N))) goto out; /* C ignored, or a full [M, N] C */
    f = 1.0 / beta;
  } else if (d->bias == C8_BIAS_ADD_AFTER) {
    /* MatMul: correct the constant of the Add after it */
    int y = n->out[0];
    if (c8_graph_is_output(g, y) || c8_graph_use_count(g, y) != 1) goto out;
    target = -1;
    for (int i = 0; i < g->n_nodes && target < 0; i++)
      for (int j = 0; j < g->nodes[i].n_in; j++)
        if (g->nodes[i].in[j] == y) target = i;
    if (target < 0 || c8_node_op(&g->nodes[target]) != &c8_op_add || g->nodes[target].n_in != 2) goto out;
    slot = g->nodes[target].in[0] == y ? 1 : 0;
    b = g->nodes[target].in[slot];
    if (g->nodes[target].in[1 - slot] != y || !is_channel_vector(g, b, N)) goto out;
  } else {
    goto out;
  }
  if (b >= 0) snprintf(hint, sizeof hint, "%s_corrected", g->values[b].name);
  else snprintf(hint, sizeof hint, "%s_bias_corrected", g->nodes[k].name);
  id = corrected_const(g, b, hint, shift, N, f);
  if (id < 0) {
    st = OOM();
    goto out;
  }
  if ((st = set_input(g, target, slot, id))) goto out;
  *corrected = true;
out:
  c8_mfree(wq);
  c8_mfree(shift);
  return st;
}
