/* Opset upgrade (graph.h c8_graph_upgrade_opset): each operator rewrites its own nodes (c8_op_def.upgrade, next
 * to its prepare, which reads both forms); this pass only walks the graph. ONNX's version converter does the same
 * per adapter, but needs shape inference that fails on real models (Softmax 12->13 on PP-OCR); calib8's
 * rewrites need no shapes.
 * Node and value ids stay as they were (rewrites append), so a plan indexed by them still applies; the new nodes
 * are appended after their readers, and the caller sorts the graph when it is done with the ids. */
#include "graph/graph.h"
#include "ops/op.h"

c8_status c8_graph_upgrade_opset(c8_graph *g, int to) {
  if (g->opset >= to) return CALIB8_OK;
  int from = g->opset, n = g->n_nodes; /* rewrites append nodes: they are already in the new form */
  for (int k = 0; k < n; k++) {
    const c8_op_def *d = c8_node_op(&g->nodes[k]);
    if (!d->upgrade) continue;
    c8_status st = d->upgrade(g, k, from, to);
    if (st) return st;
  }
  g->opset = to;
  return CALIB8_OK;
}
