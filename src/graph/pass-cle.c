/* Cross-layer equalization (M. Nagel, M. van Baalen, T. Blankevoort, M. Welling, "Data-Free Quantization
 * Through Weight Equalization and Bias Correction", ICCV 2019, section 4.1).
 *
 * For two convolutions in a chain, Conv1 -> [f] -> Conv2, where f is positively homogeneous
 * (f(x / s) = f(x) / s for s > 0: Relu, LeakyRelu, MaxPool, or nothing), scaling output channel i of Conv1
 * (weights and bias) by 1/s_i and input channel i of Conv2 by s_i leaves the function unchanged. The paper's
 * choice s_i = sqrt(r1_i * r2_i) / r2_i, with r1_i and r2_i the ranges (max |w|) of channel i in each
 * weight, gives both channels the range sqrt(r1_i * r2_i), which maximizes the total per-tensor precision
 * sum_i (r1_i / R1) (r2_i / R2) of the pair (their eq. 8-9). Long chains are equalized pair by pair, sweeping
 * until the scales settle (the paper's iterative procedure).
 *
 * Clip(0, 6) is not homogeneous (the 6 does not scale) and neither is anything with a bias of its own, so
 * only the ops above may sit between the two convolutions. Each intermediate tensor must feed nothing but the
 * next op of the chain, so a residual Add (or a graph output) breaks a pair. Group convolutions are handled
 * through the channel-to-group map: input channel i of a grouped Conv2 is weight column i % (C / g) of the
 * output channels of group i / (C / g); for a depthwise Conv2 that is channel i's own filter. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "graph/graph.h"
#include "ops/op.h"

#define MAX_BETWEEN 4   /* homogeneous ops allowed between the two convolutions */
#define CONVERGED 1e-6  /* stop sweeping once every |s_i - 1| is below this */

typedef struct cle_pair {
  int conv1, conv2;
} cle_pair;

static bool is_f32_const(const c8_graph *g, int v) {
  return v >= 0 && g->values[v].is_const && g->values[v].t.dtype == CALIB8_FLOAT && g->values[v].t.data;
}

/* The one node reading v (and reading it once), or -1. */
static int sole_reader(const c8_graph *g, int v) {
  if (c8_graph_is_output(g, v) || c8_graph_use_count(g, v) != 1) return -1;
  int reader = -1, reads = 0;
  for (int i = 0; i < g->n_nodes; i++)
    for (int j = 0; j < g->nodes[i].n_in; j++)
      if (g->nodes[i].in[j] == v) {
        reader = i;
        reads++;
      }
  return reads == 1 ? reader : -1;
}

static bool is_homogeneous(const c8_node *n) {
  /* MaxPool's Indices output is not homogeneous */
  return c8_node_op(n)->homogeneous && n->n_in >= 1 && (n->n_out < 2 || n->out[1] < 0);
}

/* A Conv whose weights (and bias, if any) are float constants of a consistent shape. */
static bool is_plain_conv(const c8_graph *g, const c8_node *n) {
  /* the pass works on Conv's weight layout and group attribute */
  if (c8_node_op(n) != &c8_op_conv || n->n_in < 2 || n->n_out < 1) return false;
  if (!is_f32_const(g, n->in[1])) return false;
  const c8_tensor *W = &g->values[n->in[1]].t;
  if (W->rank < 3 || W->dims[0] < 1 || W->dims[1] < 1) return false;
  int64_t groups = c8_attr_int(n, "group", 1);
  if (groups < 1 || W->dims[0] % groups) return false;
  if (n->n_in > 2 && n->in[2] >= 0) {
    if (!is_f32_const(g, n->in[2])) return false;
    const c8_tensor *B = &g->values[n->in[2]].t;
    if (c8_numel(B) != W->dims[0]) return false;
  }
  return true;
}

/* Conv node i's partner: the Conv reached through homogeneous ops, or -1. */
static int find_partner(const c8_graph *g, int i) {
  const c8_node *c1 = &g->nodes[i];
  if (!is_plain_conv(g, c1)) return -1;
  int cur = c1->out[0];
  for (int hop = 0; hop <= MAX_BETWEEN; hop++) {
    int r = sole_reader(g, cur);
    if (r < 0) return -1;
    const c8_node *n = &g->nodes[r];
    if (is_homogeneous(n) && n->in[0] == cur) {
      cur = n->out[0];
      continue;
    }
    if (!is_plain_conv(g, n) || n->in[0] != cur) return -1;
    const c8_tensor *W1 = &g->values[c1->in[1]].t, *W2 = &g->values[n->in[1]].t;
    int64_t groups = c8_attr_int(n, "group", 1);
    if (W2->dims[1] * groups != W1->dims[0]) return -1; /* Conv2 must read exactly Conv1's channels */
    return r;
  }
  return -1;
}

/* Makes input j of node k a float constant that no other node reads and that the graph owns, copying it if
 * needed, so that rescaling it in place cannot change another node. Returns its data or NULL on OOM. */
static float *private_weights(c8_graph *g, int k, int j) {
  int v = g->nodes[k].in[j];
  if (g->values[v].owns_data && c8_graph_use_count(g, v) == 1 && !c8_graph_is_output(g, v))
    return g->values[v].t.data;
  int id = c8_graph_add_unique_value(g, g->values[v].name);
  if (id < 0) return NULL;
  c8_tensor t = g->values[v].t; /* re-read: adding a value may move g->values */
  t.data = c8_alloc(c8_nbytes(&t));
  if (!t.data) return NULL;
  memcpy(t.data, g->values[v].t.data, c8_nbytes(&t));
  c8_graph_set_const(g, id, t);
  g->nodes[k].in[j] = id;
  return t.data;
}

/* Equalizes one pair; returns max |s_i - 1|. r1/r2 are scratch arrays of Conv1's output channel count. */
static double equalize_pair(c8_graph *g, const cle_pair *p, double *r1, double *r2) {
  const c8_node *n1 = &g->nodes[p->conv1], *n2 = &g->nodes[p->conv2];
  c8_tensor *W1 = &g->values[n1->in[1]].t, *W2 = &g->values[n2->in[1]].t;
  float *w1 = W1->data, *w2 = W2->data;
  float *b1 = n1->n_in > 2 && n1->in[2] >= 0 ? g->values[n1->in[2]].t.data : NULL;
  int64_t C = W1->dims[0], per1 = c8_numel(W1) / C;
  int64_t M = W2->dims[0], cin_g = W2->dims[1], kvol = c8_numel(W2) / (M * cin_g);
  int64_t groups = c8_attr_int(n2, "group", 1), cout_g = M / groups;
  for (int64_t i = 0; i < C; i++) {
    double m = 0.0;
    for (int64_t k = 0; k < per1; k++) m = fmax(m, fabs((double)w1[i * per1 + k]));
    r1[i] = m;
    m = 0.0;
    int64_t gi = i / cin_g, ci = i % cin_g;
    for (int64_t o = gi * cout_g; o < (gi + 1) * cout_g; o++)
      for (int64_t k = 0; k < kvol; k++) m = fmax(m, fabs((double)w2[(o * cin_g + ci) * kvol + k]));
    r2[i] = m;
  }
  double moved = 0.0;
  for (int64_t i = 0; i < C; i++) {
    /* a dead channel (all-zero weights on either side) has nothing to balance */
    if (!(r1[i] > 0.0) || !(r2[i] > 0.0) || !isfinite(r1[i]) || !isfinite(r2[i])) continue;
    double s = sqrt(r1[i] * r2[i]) / r2[i];
    if (!(s > 0.0) || !isfinite(s) || s == 1.0) continue;
    moved = fmax(moved, fabs(s - 1.0));
    for (int64_t k = 0; k < per1; k++) w1[i * per1 + k] = (float)((double)w1[i * per1 + k] / s);
    if (b1) b1[i] = (float)((double)b1[i] / s);
    int64_t gi = i / cin_g, ci = i % cin_g;
    for (int64_t o = gi * cout_g; o < (gi + 1) * cout_g; o++)
      for (int64_t k = 0; k < kvol; k++) {
        float *w = &w2[(o * cin_g + ci) * kvol + k];
        *w = (float)((double)*w * s);
      }
  }
  return moved;
}

c8_status c8_graph_equalize(c8_graph *g, int iterations, int *pairs_out) {
  if (!g || iterations < 1)
    return c8_error(CALIB8_INVALID_ARGUMENT, "cross-layer equalization: iterations is %d; it must be at least 1",
                    iterations);
  c8_status st = CALIB8_OK;
  cle_pair *pairs = c8_malloc(sizeof *pairs * ((size_t)g->n_nodes + 1));
  double *r1 = NULL, *r2 = NULL;
  int n_pairs = 0;
  int64_t max_c = 1;
  if (!pairs) goto oom;
  for (int i = 0; i < g->n_nodes; i++) {
    int r = find_partner(g, i);
    if (r < 0) continue;
    pairs[n_pairs].conv1 = i;
    pairs[n_pairs].conv2 = r;
    n_pairs++;
    int64_t c = g->values[g->nodes[i].in[1]].t.dims[0];
    if (c > max_c) max_c = c;
  }
  /* Copy shared weights first, so the sweeps below only touch data owned by one node. */
  for (int p = 0; p < n_pairs; p++) {
    const int nodes[2] = {pairs[p].conv1, pairs[p].conv2};
    for (int e = 0; e < 2; e++) {
      int k = nodes[e];
      if (!private_weights(g, k, 1)) goto oom;
      if (e == 0 && g->nodes[k].n_in > 2 && g->nodes[k].in[2] >= 0 && !private_weights(g, k, 2)) goto oom;
    }
  }
  r1 = c8_malloc(sizeof(double) * (size_t)max_c);
  r2 = c8_malloc(sizeof(double) * (size_t)max_c);
  if (!r1 || !r2) goto oom;
  for (int it = 0; it < iterations && n_pairs > 0; it++) {
    double moved = 0.0;
    for (int p = 0; p < n_pairs; p++) moved = fmax(moved, equalize_pair(g, &pairs[p], r1, r2));
    if (moved < CONVERGED) break;
  }
  if (pairs_out) *pairs_out = n_pairs;
  goto out;
oom:
  st = c8_error(CALIB8_OUT_OF_MEMORY, "out of memory equalizing convolution weights");
out:
  c8_mfree(pairs);
  c8_mfree(r1);
  c8_mfree(r2);
  return st;
}
