/* Folds BatchNormalization (inference form) into the Conv that feeds it:
 *   y = s * (conv(x, W) + b - mean) + beta,  s = gamma / sqrt(var + eps)
 *     = conv(x, s*W) + (s * (b - mean) + beta)
 * Only when the Conv output feeds nothing but the BN and all parameters are constant. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/op.h"

static bool is_f32_const(const c8_graph *g, int v) {
  return v >= 0 && g->values[v].is_const && g->values[v].t.dtype == CALIB8_FLOAT;
}

c8_status c8_graph_fold_batchnorm(c8_graph *g) {
  for (int i = 0; i < g->n_nodes; i++) {
    c8_node *bn = &g->nodes[i];
    if (c8_node_op(bn) != &c8_op_batchnormalization || bn->n_in < 5) continue;
    if (bn->n_out > 1) {
      bool extra = false;
      for (int j = 1; j < bn->n_out; j++) extra |= bn->out[j] >= 0;
      if (extra) continue; /* training outputs requested */
    }
    int x = bn->in[0];
    int ci = c8_graph_producer(g, x);
    if (ci < 0) continue;
    c8_node *conv = &g->nodes[ci];
    /* a Conv without weights is refused later by its own checks; it is not folded into (it read past in[]) */
    if (c8_node_op(conv) != &c8_op_conv || conv->n_in < 2 || c8_graph_use_count(g, x) != 1) continue;
    if (!is_f32_const(g, conv->in[1]) || (conv->n_in > 2 && conv->in[2] >= 0 && !is_f32_const(g, conv->in[2])))
      continue;
    bool params = true;
    for (int j = 1; j < 5; j++) params &= is_f32_const(g, bn->in[j]);
    if (!params) continue;
    const c8_tensor *W = &g->values[conv->in[1]].t;
    int64_t oc = W->dims[0];
    const c8_tensor *gamma = &g->values[bn->in[1]].t, *beta = &g->values[bn->in[2]].t,
                    *mean = &g->values[bn->in[3]].t, *var = &g->values[bn->in[4]].t;
    if (c8_numel(gamma) != oc || c8_numel(beta) != oc || c8_numel(mean) != oc || c8_numel(var) != oc) continue;
    float eps = c8_attr_float(bn, "epsilon", 1e-5f);
    int64_t per = c8_numel(W) / (oc ? oc : 1);
    c8_tensor nw = *W, nb = {.dtype = CALIB8_FLOAT, .rank = 1, .dims = {oc}};
    nw.data = c8_alloc(c8_nbytes(W));
    nb.data = c8_alloc((size_t)oc * sizeof(float));
    if (!nw.data || !nb.data) {
      c8_free(nw.data);
      c8_free(nb.data);
      return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory folding BatchNormalization '%s'", bn->name);
    }
    const float *b = conv->n_in > 2 && conv->in[2] >= 0 ? g->values[conv->in[2]].t.data : NULL;
    for (int64_t o = 0; o < oc; o++) {
      /* double keeps the folded weights as close as possible to running BN separately */
      double s = (double)((float *)gamma->data)[o] / sqrt((double)((float *)var->data)[o] + (double)eps);
      for (int64_t k = 0; k < per; k++)
        ((float *)nw.data)[o * per + k] = (float)(((float *)W->data)[o * per + k] * s);
      ((float *)nb.data)[o] =
          (float)(((b ? b[o] : 0.0) - ((float *)mean->data)[o]) * s + ((float *)beta->data)[o]);
    }
    int wid = c8_graph_add_unique_value(g, g->values[conv->in[1]].name);
    int bid = wid < 0 ? -1 : c8_graph_add_unique_value(g, bn->name);
    if (wid < 0 || bid < 0) {
      c8_free(nw.data);
      c8_free(nb.data);
      return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory folding BatchNormalization '%s'", bn->name);
    }
    /* c8_graph_add_* may move g->nodes: re-fetch. */
    conv = &g->nodes[ci];
    bn = &g->nodes[i];
    c8_graph_set_const(g, wid, nw);
    c8_graph_set_const(g, bid, nb);
    if (conv->n_in < 3) {
      int *in = c8_realloc(conv->in, sizeof(int) * 3);
      if (!in) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory folding BatchNormalization '%s'", bn->name);
      conv->in = in;
      conv->n_in = 3;
    }
    conv->in[1] = wid;
    conv->in[2] = bid;
    conv->out[0] = bn->out[0];
    c8_graph_remove_node(g, i);
    i--;
  }
  return CALIB8_OK;
}
