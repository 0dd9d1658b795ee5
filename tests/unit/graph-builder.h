/* Small graphs built in C for unit tests: constants, nodes with attributes, graph inputs and outputs.
 * Include after check.h. Every helper returns a value id. */
#ifndef C8_TEST_GRAPH_BUILDER_H
#define C8_TEST_GRAPH_BUILDER_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/tensor.h"
#include "graph/graph.h"

static uint32_t gb_rng = 4242;
/* Uniform in [-1, 1), from a fixed sequence. */
static inline float frand(void) {
  gb_rng = gb_rng * 1664525u + 1013904223u;
  return (float)((gb_rng >> 8) & 0xffff) / 32768.0f - 1.0f;
}

/* A float constant of the given shape, offset + scale * frand() per element. */
static inline int const_tensor(c8_graph *g, const char *name, int rank, const int64_t *dims, float scale,
                               float offset) {
  int id = c8_graph_get_or_add_value(g, name);
  c8_tensor t = {.dtype = CALIB8_FLOAT, .rank = rank};
  for (int i = 0; i < rank; i++) t.dims[i] = dims[i];
  t.data = c8_alloc(c8_nbytes(&t) ? c8_nbytes(&t) : 1);
  for (int64_t i = 0; i < c8_numel(&t); i++) ((float *)t.data)[i] = offset + scale * frand();
  c8_graph_set_const(g, id, t);
  return id;
}

static inline int const_scalar(c8_graph *g, const char *name, float v) {
  int id = c8_graph_get_or_add_value(g, name);
  c8_tensor t = {.dtype = CALIB8_FLOAT, .rank = 0};
  t.data = c8_alloc(sizeof(float));
  *(float *)t.data = v;
  c8_graph_set_const(g, id, t);
  return id;
}

/* A 1-D int64 constant (rank 0 when n is 0 and v has one value: pass n = -1). */
static inline int const_ints(c8_graph *g, const char *name, int n, const int64_t *v) {
  int id = c8_graph_get_or_add_value(g, name);
  c8_tensor t = {.dtype = CALIB8_INT64, .rank = n < 0 ? 0 : 1, .dims = {n < 0 ? 1 : n}};
  const int count = n < 0 ? 1 : n;
  t.data = c8_alloc(sizeof(int64_t) * (size_t)(count ? count : 1));
  memcpy(t.data, v, sizeof(int64_t) * (size_t)count);
  c8_graph_set_const(g, id, t);
  return id;
}

/* A node of op with one output named out_name (the node is named n_<out_name>). */
static inline int node(c8_graph *g, const char *op, int n_in, const int *in, const char *out_name) {
  int out = c8_graph_get_or_add_value(g, out_name);
  char name[64];
  snprintf(name, sizeof name, "n_%s", out_name);
  int k = c8_graph_add_node(g, name, op, "", n_in, in, 1, &out);
  CHECK(k >= 0 && g->nodes[k].def);
  return out;
}

/* Attributes of the node that produces out_value. */
static inline void set_ints(c8_graph *g, int out_value, const char *name, int n, const int64_t *v) {
  c8_node *nd = &g->nodes[c8_graph_producer(g, out_value)];
  c8_attr *a = c8_node_add_attr(nd, name, C8_ATTR_INTS);
  a->n = n;
  a->ints = malloc(sizeof(int64_t) * (size_t)n);
  memcpy(a->ints, v, sizeof(int64_t) * (size_t)n);
}

static inline void set_int(c8_graph *g, int out_value, const char *name, int64_t v) {
  c8_attr *a = c8_node_add_attr(&g->nodes[c8_graph_producer(g, out_value)], name, C8_ATTR_INT);
  a->i = v;
}

static inline void set_float(c8_graph *g, int out_value, const char *name, float v) {
  c8_attr *a = c8_node_add_attr(&g->nodes[c8_graph_producer(g, out_value)], name, C8_ATTR_FLOAT);
  a->f = v;
}

/* Declares the graph's inputs and outputs and sorts its nodes. */
static inline void set_io(c8_graph *g, int n_in, const int *in, int n_out, const int *out) {
  g->inputs = malloc(sizeof(int) * (size_t)(n_in ? n_in : 1));
  memcpy(g->inputs, in, sizeof(int) * (size_t)n_in);
  g->n_inputs = n_in;
  g->outputs = malloc(sizeof(int) * (size_t)(n_out ? n_out : 1));
  memcpy(g->outputs, out, sizeof(int) * (size_t)n_out);
  g->n_outputs = n_out;
  CHECK_EQ_INT(c8_graph_toposort(g), CALIB8_OK);
}

#endif
