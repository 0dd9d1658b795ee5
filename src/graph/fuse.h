/* Operator fusion: the elementwise operators that follow a Conv and can run in its epilogue
 * (src/graph/pass-fuse.c finds them; src/run/plan.c applies them; src/ops/epilogue.h runs them).
 *
 * Fusion happens when a plan is built, not in the graph: the session's graph stays plain ONNX (the
 * quantizer and the QDQ exporter read it, and calibration observes every one of its tensors), and a
 * plan built for an observer is not fused. A fused chain runs the same float operations in the same
 * order as the separate operators, so fused and unfused plans give bit-identical outputs.
 *
 * A chain starts at a Conv's output (the fusion head, C8_FUSE_HEAD on its c8_op_def) and grows while the
 * current value has a single reader whose fuse trait (src/ops/op.h) makes it:
 *   - Add / Sub / Mul / Div with a constant (a scalar or one value per output channel, either side);
 *   - Add with another tensor of the same shape (a residual; at most one per chain);
 *   - Relu, Clip with constant bounds, Sigmoid, HardSigmoid, HardSwish;
 * or when it has exactly two readers, Mul(x, f(x)) with f a chain of the above ending in that Mul
 * (x * Sigmoid(x), x * HardSigmoid(x), x * Clip(x + 3, 0, 6), ...). A value that is a graph output
 * ends the chain. */
#ifndef C8_GRAPH_FUSE_H
#define C8_GRAPH_FUSE_H

#include "graph/graph.h"

typedef enum c8_epi_kind {
  C8_EPI_ADD,       /* v = v + c */
  C8_EPI_SUB,       /* v = v - c */
  C8_EPI_RSUB,      /* v = c - v */
  C8_EPI_MUL,       /* v = v * c */
  C8_EPI_DIV,       /* v = v / c */
  C8_EPI_RDIV,      /* v = c / v */
  C8_EPI_ADD_RES,   /* v = v + r, r a tensor of the output's shape */
  C8_EPI_RELU,      /* v < 0 ? 0 : v */
  C8_EPI_CLIP,      /* v < a ? a : v, then > b ? b : . */
  C8_EPI_SIGMOID,   /* c8_sigmoidf(v) */
  C8_EPI_HARDSIGMOID, /* clamp01(a * v + b) */
  C8_EPI_HARDSWISH, /* v * clamp01(v * (1/6) + 0.5) */
  C8_EPI_SAVE,      /* s = v (the x of Mul(x, f(x))) */
  C8_EPI_MUL_SAVED, /* v = s * v */
} c8_epi_kind;

#define C8_FUSE_MAX_OPS 12

typedef struct c8_epi_op {
  c8_epi_kind kind;
  int value; /* the constant (ADD..RDIV) or the residual (ADD_RES) value id; -1 otherwise */
  float a, b; /* CLIP bounds, HARDSIGMOID alpha and beta */
} c8_epi_op;

typedef struct c8_fusion {
  int head;    /* the Conv node */
  int n_ops;   /* 0: no fusion */
  c8_epi_op ops[C8_FUSE_MAX_OPS];
  int n_nodes; /* the fused nodes, in a valid execution order; the last one produces `out` */
  int nodes[C8_FUSE_MAX_OPS];
  int out;     /* value computed by the fused chain */
} c8_fusion;

/* Finds the fusion chains of g: (*out)[i] describes the chain headed by node i (n_ops == 0 for none).
 * The array (g->n_nodes entries) is malloc'd; the caller frees it. */
c8_status c8_graph_find_fusions(const c8_graph *g, c8_fusion **out);

#endif
