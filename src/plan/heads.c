/* Detection heads: the calibration guides keep "the last conv layers and everything after them" of YOLO
 * models in FP32, because their outputs mix pixel coordinates with probabilities in one tensor. */
#include <stdlib.h>
#include <string.h>

#include "ops/op.h"
#include "plan/qplan.h"

/* A layer: a compute op whose second input is weights by definition (Conv), or one that may multiply two
   activations (MatMul) when its second input is constant. */
static bool is_last_layer_kind(const c8_graph *g, const c8_node *n) {
  c8_qrole r = c8_node_op(n)->qrole;
  if (r == C8_QROLE_COMPUTE) return true;
  if (r == C8_QROLE_COMPUTE_ANY) return n->n_in > 1 && n->in[1] >= 0 && g->values[n->in[1]].is_const;
  return false;
}

static bool reads_only_shape(const c8_node *n) { return c8_node_op(n)->reads_shape_only; }

int c8_find_heads(const c8_graph *g, bool *head) {
  int nv = g->n_values, count = 0;
  int *producer = c8_malloc(sizeof(int) * (size_t)(nv + 1));
  int *stack = c8_malloc(sizeof(int) * (size_t)(g->n_nodes + 1));
  if (!producer || !stack) {
    c8_mfree(producer);
    c8_mfree(stack);
    return -1;
  }
  for (int v = 0; v < nv; v++) producer[v] = -1;
  for (int i = 0; i < g->n_nodes; i++) {
    head[i] = false;
    for (int j = 0; j < g->nodes[i].n_out; j++)
      if (g->nodes[i].out[j] >= 0) producer[g->nodes[i].out[j]] = i;
  }
  int sp = 0;
  for (int o = 0; o < g->n_outputs; o++) {
    int p = producer[g->outputs[o]];
    if (p >= 0 && !head[p]) {
      head[p] = true;
      stack[sp++] = p;
    }
  }
  while (sp > 0) {
    const c8_node *n = &g->nodes[stack[--sp]];
    count++;
    if (is_last_layer_kind(g, n) || reads_only_shape(n)) continue;
    for (int j = 0; j < n->n_in; j++) {
      int v = n->in[j];
      if (v < 0) continue;
      int p = producer[v];
      if (p >= 0 && !head[p]) {
        head[p] = true;
        stack[sp++] = p;
      }
    }
  }
  c8_mfree(producer);
  c8_mfree(stack);
  return count;
}
