/* Static constant folding: a node whose inputs are all constants is evaluated
 * once and replaced by its outputs. Shape-dependent chains are folded later,
 * per input shape, by the planner (src/run/plan.c). */
#include <stdlib.h>
#include <string.h>

#include "ops/op.h"

c8_status c8_graph_fold_constants(c8_graph *g) {
  for (int i = 0; i < g->n_nodes;) {
    c8_node *node = &g->nodes[i];
    bool all_const = true;
    for (int j = 0; j < node->n_in; j++)
      if (node->in[j] >= 0 && !g->values[node->in[j]].is_const) all_const = false;
    if (!all_const) {
      i++;
      continue;
    }
    c8_tensor *in[64] = {0}, *out[64] = {0};
    c8_tensor outs[64];
    memset(outs, 0, sizeof outs);
    for (int j = 0; j < node->n_in && j < 64; j++) in[j] = node->in[j] >= 0 ? &g->values[node->in[j]].t : NULL;
    for (int j = 0; j < node->n_out && j < 64; j++) out[j] = node->out[j] >= 0 ? &outs[j] : NULL;
    c8_status st = c8_op_eval(node, g->opset, in, node->n_in, out, node->n_out);
    if (st) return st;
    for (int j = 0; j < node->n_out; j++)
      if (node->out[j] >= 0) c8_graph_set_const(g, node->out[j], outs[j]);
    c8_graph_remove_node(g, i);
  }
  return CALIB8_OK;
}

c8_status c8_graph_optimize(c8_graph *g) {
  c8_status st;
  if ((st = c8_graph_fold_constants(g))) return st;
  if ((st = c8_graph_fold_batchnorm(g))) return st;
  if ((st = c8_graph_remove_dead(g))) return st;
  return CALIB8_OK;
}
