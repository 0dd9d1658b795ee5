/* Finds the elementwise chains that can run in a Conv's epilogue (see graph/fuse.h). Only the graph's
 * structure and constants are looked at here; shapes are checked when a plan applies a fusion. */
#include <float.h>
#include <stdlib.h>
#include <string.h>

#include "graph/fuse.h"
#include "ops/op.h"

/* Readers of each value: count, and the first two (node, input slot) pairs. */
typedef struct readers {
  int n;
  int node[2];
} readers;

static c8_fuse_role fuse_role(const c8_node *n) { return c8_node_op(n)->fuse; }

static bool const_float(const c8_graph *g, int v) {
  return v >= 0 && g->values[v].is_const && g->values[v].t.dtype == CALIB8_FLOAT && g->values[v].t.data;
}

/* A scalar float constant's value (for Clip bounds). */
static bool const_scalar(const c8_graph *g, int v, float *out) {
  if (!const_float(g, v) || c8_numel(&g->values[v].t) != 1) return false;
  *out = *(const float *)g->values[v].t.data;
  return true;
}

/* The op that node n applies to value v (its only use of v), or false. *res_ok allows a residual Add. */
static bool classify(const c8_graph *g, const c8_node *n, int v, bool res_ok, c8_epi_op *op) {
  op->value = -1;
  op->a = op->b = 0.0f;
  if (n->n_out != 1 || n->out[0] < 0 || n->n_in < 1) return false;
  const c8_fuse_role role = fuse_role(n);
  if (role == C8_FUSE_RELU && n->n_in == 1) {
    op->kind = C8_EPI_RELU;
    return true;
  }
  if (role == C8_FUSE_SIGMOID && n->n_in == 1) {
    op->kind = C8_EPI_SIGMOID;
    return true;
  }
  if (role == C8_FUSE_HARDSWISH && n->n_in == 1) {
    op->kind = C8_EPI_HARDSWISH;
    return true;
  }
  if (role == C8_FUSE_HARDSIGMOID && n->n_in == 1) {
    op->kind = C8_EPI_HARDSIGMOID;
    op->a = c8_attr_float(n, "alpha", 0.2f);
    op->b = c8_attr_float(n, "beta", 0.5f);
    return true;
  }
  if (role == C8_FUSE_CLIP && n->in[0] == v) {
    op->kind = C8_EPI_CLIP;
    if (g->opset < 11) {
      if (n->n_in != 1) return false;
      op->a = c8_attr_float(n, "min", -FLT_MAX);
      op->b = c8_attr_float(n, "max", FLT_MAX);
      return true;
    }
    op->a = -FLT_MAX, op->b = FLT_MAX;
    /* An omitted bound is absent or an empty tensor. */
    for (int i = 1; i < n->n_in && i < 3; i++) {
      int b = n->in[i];
      if (b < 0 || (g->values[b].is_const && c8_numel(&g->values[b].t) == 0)) continue;
      if (!const_scalar(g, b, i == 1 ? &op->a : &op->b)) return false;
    }
    return n->n_in <= 3;
  }
  const bool add = role == C8_FUSE_ADD, sub = role == C8_FUSE_SUB, mul = role == C8_FUSE_MUL,
             div = role == C8_FUSE_DIV;
  if ((add || sub || mul || div) && n->n_in == 2 && !c8_node_attr(n, "broadcast")) {
    const bool first = n->in[0] == v;
    const int other = first ? n->in[1] : n->in[0];
    if (other == v || other < 0) return false;
    if (const_float(g, other)) {
      op->value = other;
      op->kind = add ? C8_EPI_ADD : mul ? C8_EPI_MUL : sub ? (first ? C8_EPI_SUB : C8_EPI_RSUB)
                                                        : (first ? C8_EPI_DIV : C8_EPI_RDIV);
      return true;
    }
    if (add && res_ok && !g->values[other].is_const) {
      op->kind = C8_EPI_ADD_RES;
      op->value = other;
      return true;
    }
  }
  return false;
}

static bool push(c8_fusion *f, c8_epi_op op, int node) {
  if (f->n_ops >= C8_FUSE_MAX_OPS || (node >= 0 && f->n_nodes >= C8_FUSE_MAX_OPS)) return false;
  f->ops[f->n_ops++] = op;
  if (node >= 0) f->nodes[f->n_nodes++] = node;
  return true;
}

/* Tries Mul(x, f(x)) at value v whose two readers are r->node[0..1]: appends SAVE, f's ops, MUL_SAVED. */
static bool try_self_mul(const c8_graph *g, const readers *rd, const bool *outputs, int v, c8_fusion *f) {
  const readers *r = &rd[v];
  for (int which = 0; which < 2; which++) {
    const c8_node *m = &g->nodes[r->node[which]];
    const int bnode = r->node[1 - which];
    if (fuse_role(m) != C8_FUSE_MUL || m->n_in != 2 || m->n_out != 1 || m->out[0] < 0 || r->node[0] == r->node[1])
      continue;
    if (c8_node_attr(m, "broadcast")) continue;
    c8_fusion t = *f;
    c8_epi_op save = {.kind = C8_EPI_SAVE, .value = -1};
    if (!push(&t, save, -1)) return false;
    int u = v, cur = bnode;
    bool ok = false;
    for (;;) {
      c8_epi_op op;
      if (!classify(g, &g->nodes[cur], u, false, &op) || !push(&t, op, cur)) break;
      u = g->nodes[cur].out[0];
      if (outputs[u] || rd[u].n != 1) break;
      if (rd[u].node[0] == r->node[which]) {
        ok = (m->in[0] == v && m->in[1] == u) || (m->in[0] == u && m->in[1] == v);
        break;
      }
      cur = rd[u].node[0];
    }
    c8_epi_op mul = {.kind = C8_EPI_MUL_SAVED, .value = -1};
    if (ok && push(&t, mul, r->node[which])) {
      *f = t;
      return true;
    }
  }
  return false;
}

/* The chain cut to its first `keep` nodes: each node contributed one op, except the Mul of a
   Mul(x, f(x)) pattern, which ends a SAVE ... MUL_SAVED group; a cut inside such a group drops it. */
static c8_fusion truncate_chain(const c8_graph *g, const c8_fusion *f, int keep) {
  c8_fusion t = {.head = f->head};
  int node = 0, v = g->nodes[f->head].out[0];
  for (int o = 0; o < f->n_ops && node < keep;) {
    if (f->ops[o].kind == C8_EPI_SAVE) {
      int end = o + 1; /* the group's MUL_SAVED */
      while (f->ops[end].kind != C8_EPI_MUL_SAVED) end++;
      const int group_nodes = end - o; /* every op of the group but SAVE has a node */
      if (node + group_nodes > keep) break;
      for (int i = o; i <= end; i++) t.ops[t.n_ops++] = f->ops[i];
      for (int i = 0; i < group_nodes; i++) t.nodes[t.n_nodes++] = f->nodes[node++];
      o = end + 1;
    } else {
      t.ops[t.n_ops++] = f->ops[o++];
      t.nodes[t.n_nodes++] = f->nodes[node++];
    }
    v = g->nodes[t.nodes[t.n_nodes - 1]].out[0];
  }
  t.out = v;
  return t;
}

c8_status c8_graph_find_fusions(const c8_graph *g, c8_fusion **out) {
  c8_fusion *fz = c8_calloc((size_t)(g->n_nodes ? g->n_nodes : 1), sizeof *fz);
  readers *rd = c8_calloc((size_t)(g->n_values ? g->n_values : 1), sizeof *rd);
  bool *outputs = c8_calloc((size_t)(g->n_values ? g->n_values : 1), sizeof *outputs);
  bool *claimed = c8_calloc((size_t)(g->n_nodes ? g->n_nodes : 1), sizeof *claimed);
  if (!fz || !rd || !outputs || !claimed) {
    c8_mfree(fz), c8_mfree(rd), c8_mfree(outputs), c8_mfree(claimed);
    return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory looking for fusions");
  }
  for (int i = 0; i < g->n_outputs; i++) outputs[g->outputs[i]] = true;
  for (int i = 0; i < g->n_nodes; i++) {
    const c8_node *n = &g->nodes[i];
    for (int j = 0; j < n->n_in; j++) {
      int v = n->in[j];
      if (v < 0) continue;
      if (rd[v].n < 2) rd[v].node[rd[v].n] = i;
      rd[v].n++;
    }
  }
  for (int h = 0; h < g->n_nodes; h++) {
    const c8_node *n = &g->nodes[h];
    fz[h].head = h;
    if (fuse_role(n) != C8_FUSE_HEAD || n->n_out != 1 || n->out[0] < 0) continue;
    c8_fusion f = {.head = h};
    bool have_res = false;
    int v = n->out[0];
    for (;;) {
      if (outputs[v]) break;
      if (rd[v].n == 1) {
        c8_epi_op op;
        const int r = rd[v].node[0];
        if (!classify(g, &g->nodes[r], v, !have_res, &op) || !push(&f, op, r)) break;
        have_res |= op.kind == C8_EPI_ADD_RES;
        v = g->nodes[r].out[0];
      } else if (rd[v].n == 2) {
        if (!try_self_mul(g, rd, outputs, v, &f)) break;
        v = g->nodes[f.nodes[f.n_nodes - 1]].out[0];
      } else {
        break;
      }
    }
    f.out = v;
    /* A node joins one chain only (Add(conv_a, conv_b) is reachable from both convolutions): the chain
       stops before the first node an earlier chain took. */
    int keep_nodes = 0;
    while (keep_nodes < f.n_nodes && !claimed[f.nodes[keep_nodes]]) keep_nodes++;
    if (keep_nodes < f.n_nodes) f = truncate_chain(g, &f, keep_nodes);
    if (f.n_ops > 0) {
      for (int i = 0; i < f.n_nodes; i++) claimed[f.nodes[i]] = true;
      fz[h] = f;
    }
  }
  c8_mfree(rd);
  c8_mfree(outputs);
  c8_mfree(claimed);
  *out = fz;
  return CALIB8_OK;
}
