#include "graph/graph.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/op.h"

static char *xstrdup(const char *s) {
  if (!s) s = "";
  size_t n = strlen(s) + 1;
  char *p = c8_malloc(n);
  if (p) memcpy(p, s, n);
  return p;
}

static uint32_t hash_str(const char *s) {
  uint32_t h = 2166136261u;
  for (; *s; s++) h = (h ^ (uint8_t)*s) * 16777619u;
  return h;
}

c8_graph *c8_graph_new(void) {
  c8_graph *g = c8_calloc(1, sizeof *g);
  return g;
}

static void free_attr(c8_attr *a) {
  c8_mfree(a->name);
  c8_mfree(a->s);
  c8_mfree(a->floats);
  c8_mfree(a->ints);
  if (a->strings)
    for (int i = 0; i < a->n; i++) c8_mfree(a->strings[i]);
  c8_mfree(a->strings);
  if (a->t) {
    c8_free(a->t->data);
    c8_mfree(a->t);
  }
}

static void free_node(c8_node *n) {
  c8_mfree(n->name);
  c8_mfree(n->op_type);
  c8_mfree(n->domain);
  c8_mfree(n->in);
  c8_mfree(n->out);
  for (int i = 0; i < n->n_attr; i++) free_attr(&n->attr[i]);
  c8_mfree(n->attr);
}

void c8_graph_destroy(c8_graph *g) {
  if (!g) return;
  for (int i = 0; i < g->n_values; i++) {
    c8_value *v = &g->values[i];
    c8_mfree(v->name);
    if (v->owns_data) c8_free(v->t.data);
    for (int d = 0; d < C8_MAX_RANK; d++) c8_mfree(v->decl_dim_names[d]);
  }
  c8_mfree(g->values);
  for (int i = 0; i < g->n_nodes; i++) free_node(&g->nodes[i]);
  c8_mfree(g->nodes);
  c8_mfree(g->inputs);
  c8_mfree(g->outputs);
  c8_mfree(g->hash);
  c8_mfree(g);
}

static int rehash(c8_graph *g, int cap) {
  int *h = c8_malloc(sizeof(int) * (size_t)cap);
  if (!h) return -1;
  for (int i = 0; i < cap; i++) h[i] = -1;
  for (int id = 0; id < g->n_values; id++) {
    uint32_t k = hash_str(g->values[id].name) & (uint32_t)(cap - 1);
    while (h[k] >= 0) k = (k + 1) & (uint32_t)(cap - 1);
    h[k] = id;
  }
  c8_mfree(g->hash);
  g->hash = h;
  g->hash_cap = cap;
  return 0;
}

int c8_graph_find_value(const c8_graph *g, const char *name) {
  if (!g->hash_cap) return -1;
  uint32_t k = hash_str(name) & (uint32_t)(g->hash_cap - 1);
  while (g->hash[k] >= 0) {
    if (strcmp(g->values[g->hash[k]].name, name) == 0) return g->hash[k];
    k = (k + 1) & (uint32_t)(g->hash_cap - 1);
  }
  return -1;
}

static int add_value(c8_graph *g, const char *name) {
  if (g->n_values == g->cap_values) {
    int cap = g->cap_values ? g->cap_values * 2 : 64;
    c8_value *v = c8_realloc(g->values, sizeof *v * (size_t)cap);
    if (!v) return -1;
    g->values = v;
    g->cap_values = cap;
  }
  if ((g->n_values + 1) * 2 > g->hash_cap) {
    if (rehash(g, g->hash_cap ? g->hash_cap * 2 : 128) < 0) return -1;
  }
  c8_value *v = &g->values[g->n_values];
  memset(v, 0, sizeof *v);
  v->name = xstrdup(name);
  if (!v->name) return -1;
  v->decl_rank = -1;
  int id = g->n_values++;
  uint32_t k = hash_str(name) & (uint32_t)(g->hash_cap - 1);
  while (g->hash[k] >= 0) k = (k + 1) & (uint32_t)(g->hash_cap - 1);
  g->hash[k] = id;
  return id;
}

int c8_graph_get_or_add_value(c8_graph *g, const char *name) {
  int id = c8_graph_find_value(g, name);
  return id >= 0 ? id : add_value(g, name);
}

int c8_graph_add_unique_value(c8_graph *g, const char *hint) {
  char buf[512];
  for (int k = 0;; k++) {
    snprintf(buf, sizeof buf, k ? "%s_c8_%d" : "%s", hint, k);
    if (c8_graph_find_value(g, buf) < 0) return add_value(g, buf);
  }
}

int c8_graph_add_node(c8_graph *g, const char *name, const char *op_type, const char *domain, int n_in,
                      const int *in, int n_out, const int *out) {
  if (g->n_nodes == g->cap_nodes) {
    int cap = g->cap_nodes ? g->cap_nodes * 2 : 64;
    c8_node *n = c8_realloc(g->nodes, sizeof *n * (size_t)cap);
    if (!n) return -1;
    g->nodes = n;
    g->cap_nodes = cap;
  }
  c8_node *n = &g->nodes[g->n_nodes];
  memset(n, 0, sizeof *n);
  n->origin = -1;
  n->name = xstrdup(name);
  n->op_type = xstrdup(op_type);
  n->domain = xstrdup(domain);
  n->in = c8_malloc(sizeof(int) * (size_t)(n_in ? n_in : 1));
  n->out = c8_malloc(sizeof(int) * (size_t)(n_out ? n_out : 1));
  if (!n->name || !n->op_type || !n->domain || !n->in || !n->out) {
    free_node(n);
    return -1;
  }
  n->n_in = n_in;
  n->n_out = n_out;
  if (n_in) memcpy(n->in, in, sizeof(int) * (size_t)n_in);
  if (n_out) memcpy(n->out, out, sizeof(int) * (size_t)n_out);
  n->def = c8_op_find(n->domain, n->op_type);
  return g->n_nodes++;
}

c8_attr *c8_node_add_attr(c8_node *node, const char *name, int type) {
  c8_attr *a = c8_realloc(node->attr, sizeof *a * (size_t)(node->n_attr + 1));
  if (!a) return NULL;
  node->attr = a;
  c8_attr *at = &a[node->n_attr];
  memset(at, 0, sizeof *at);
  at->name = xstrdup(name);
  if (!at->name) return NULL;
  at->type = type;
  node->n_attr++;
  return at;
}

c8_status c8_node_set_inputs(c8_node *n, int n_in, const int *in) {
  int *p = c8_malloc(sizeof(int) * (size_t)(n_in ? n_in : 1));
  if (!p) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory rewriting node '%s'", n->name);
  if (n_in) memcpy(p, in, sizeof(int) * (size_t)n_in);
  c8_mfree(n->in);
  n->in = p;
  n->n_in = n_in;
  return CALIB8_OK;
}

c8_status c8_node_set_op(c8_node *n, const char *op_type) {
  char *t = xstrdup(op_type);
  if (!t) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory rewriting node '%s'", n->name);
  c8_mfree(n->op_type);
  n->op_type = t;
  n->def = c8_op_find(n->domain, t);
  return CALIB8_OK;
}

void c8_node_remove_attr(c8_node *n, const char *name) {
  for (int i = 0; i < n->n_attr; i++)
    if (!strcmp(n->attr[i].name, name)) {
      free_attr(&n->attr[i]);
      memmove(&n->attr[i], &n->attr[i + 1], sizeof *n->attr * (size_t)(n->n_attr - i - 1));
      n->n_attr--;
      return;
    }
}

int c8_graph_add_const(c8_graph *g, const char *hint, calib8_dtype dtype, int rank, const int64_t *dims,
                       const void *data) {
  c8_tensor t = {.dtype = dtype, .rank = rank};
  int64_t n = 1;
  for (int i = 0; i < rank; i++) n *= (t.dims[i] = dims[i]);
  size_t bytes = (size_t)n * calib8_dtype_size(dtype);
  if (!(t.data = c8_alloc(bytes))) return -1;
  if (bytes) memcpy(t.data, data, bytes);
  int id = c8_graph_add_unique_value(g, hint);
  if (id < 0) {
    c8_free(t.data);
    return -1;
  }
  c8_graph_set_const(g, id, t);
  return id;
}

void c8_graph_set_const(c8_graph *g, int id, c8_tensor t) {
  c8_value *v = &g->values[id];
  if (v->owns_data) c8_free(v->t.data);
  v->t = t;
  v->is_const = true;
  v->owns_data = true;
}

const c8_attr *c8_node_attr(const c8_node *node, const char *name) {
  for (int i = 0; i < node->n_attr; i++)
    if (strcmp(node->attr[i].name, name) == 0) return &node->attr[i];
  return NULL;
}

int64_t c8_attr_int(const c8_node *node, const char *name, int64_t dflt) {
  const c8_attr *a = c8_node_attr(node, name);
  return a && a->type == C8_ATTR_INT ? a->i : dflt;
}

float c8_attr_float(const c8_node *node, const char *name, float dflt) {
  const c8_attr *a = c8_node_attr(node, name);
  if (!a) return dflt;
  if (a->type == C8_ATTR_FLOAT) return a->f;
  if (a->type == C8_ATTR_INT) return (float)a->i;
  return dflt;
}

const char *c8_attr_string(const c8_node *node, const char *name, const char *dflt) {
  const c8_attr *a = c8_node_attr(node, name);
  return a && a->type == C8_ATTR_STRING ? a->s : dflt;
}

const int64_t *c8_attr_ints(const c8_node *node, const char *name, int *n) {
  const c8_attr *a = c8_node_attr(node, name);
  if (!a || a->type != C8_ATTR_INTS) {
    *n = 0;
    return NULL;
  }
  *n = a->n;
  return a->ints;
}

const float *c8_attr_floats(const c8_node *node, const char *name, int *n) {
  const c8_attr *a = c8_node_attr(node, name);
  if (!a || a->type != C8_ATTR_FLOATS) {
    *n = 0;
    return NULL;
  }
  *n = a->n;
  return a->floats;
}

bool c8_graph_is_output(const c8_graph *g, int id) {
  for (int i = 0; i < g->n_outputs; i++)
    if (g->outputs[i] == id) return true;
  return false;
}

int c8_graph_use_count(const c8_graph *g, int id) {
  int n = c8_graph_is_output(g, id) ? 1 : 0;
  for (int i = 0; i < g->n_nodes; i++)
    for (int j = 0; j < g->nodes[i].n_in; j++)
      if (g->nodes[i].in[j] == id) n++;
  return n;
}

int c8_graph_producer(const c8_graph *g, int id) {
  for (int i = 0; i < g->n_nodes; i++)
    for (int j = 0; j < g->nodes[i].n_out; j++)
      if (g->nodes[i].out[j] == id) return i;
  return -1;
}

void c8_graph_remove_node(c8_graph *g, int i) {
  free_node(&g->nodes[i]);
  memmove(&g->nodes[i], &g->nodes[i + 1], sizeof(c8_node) * (size_t)(g->n_nodes - i - 1));
  g->n_nodes--;
}

c8_status c8_graph_toposort(c8_graph *g) {
  c8_status st = CALIB8_OK;
  int nn = g->n_nodes, nv = g->n_values;
  int *producer = c8_malloc(sizeof(int) * (size_t)(nv ? nv : 1));
  unsigned char *ready = c8_calloc((size_t)(nv ? nv : 1), 1);
  unsigned char *done = c8_calloc((size_t)(nn ? nn : 1), 1);
  c8_node *sorted = c8_malloc(sizeof(c8_node) * (size_t)(nn ? nn : 1));
  if (!producer || !ready || !done || !sorted) {
    st = c8_error(CALIB8_OUT_OF_MEMORY, "out of memory sorting the graph");
    goto out;
  }
  for (int v = 0; v < nv; v++) producer[v] = -1;
  for (int i = 0; i < nn; i++) {
    bool any = false;
    for (int j = 0; j < g->nodes[i].n_out; j++) any |= g->nodes[i].out[j] >= 0;
    if (!any) {
      st = c8_error(CALIB8_MALFORMED_MODEL, "node '%s' (%s) has no outputs; every ONNX operator writes at least one",
                    g->nodes[i].name, g->nodes[i].op_type);
      goto out;
    }
  }
  for (int i = 0; i < nn; i++)
    for (int j = 0; j < g->nodes[i].n_out; j++) {
      int v = g->nodes[i].out[j];
      if (v < 0) continue;
      bool is_input = false;
      for (int k = 0; k < g->n_inputs; k++) is_input |= g->inputs[k] == v;
      if (is_input || g->values[v].is_const) {
        st = c8_error(CALIB8_MALFORMED_MODEL, "node '%s' (%s) writes tensor '%s', which is a graph %s; only the %s it",
                      g->nodes[i].name, g->nodes[i].op_type, g->values[v].name, is_input ? "input" : "initializer",
                      is_input ? "caller writes" : "model defines");
        goto out;
      }
      if (producer[v] >= 0) {
        st = c8_error(CALIB8_MALFORMED_MODEL, "tensor '%s' is produced by both node '%s' and node '%s'",
                      g->values[v].name, g->nodes[producer[v]].name, g->nodes[i].name);
        goto out;
      }
      producer[v] = i;
    }
  for (int k = 0; k < g->n_outputs; k++) {
    int v = g->outputs[k];
    bool is_input = false;
    for (int j = 0; j < g->n_inputs; j++) is_input |= g->inputs[j] == v;
    if (v >= 0 && producer[v] < 0 && !is_input && !g->values[v].is_const) {
      st = c8_error(CALIB8_MALFORMED_MODEL, "graph output '%s' is not produced by any node, initializer or graph input",
                    g->values[v].name);
      goto out;
    }
  }
  for (int v = 0; v < nv; v++) ready[v] = producer[v] < 0;
  for (int i = 0; i < nn; i++)
    for (int j = 0; j < g->nodes[i].n_in; j++) {
      int v = g->nodes[i].in[j];
      if (v >= 0 && producer[v] < 0 && !g->values[v].is_const) {
        bool is_input = false;
        for (int k = 0; k < g->n_inputs; k++) is_input |= g->inputs[k] == v;
        if (!is_input) {
          st = c8_error(CALIB8_MALFORMED_MODEL,
                        "node '%s' (%s) reads tensor '%s', which no node, initializer or graph input defines",
                        g->nodes[i].name, g->nodes[i].op_type, g->values[v].name);
          goto out;
        }
      }
    }
  /* Repeatedly take the first node (in model order) whose inputs are ready. */
  int count = 0, start = 0;
  while (count < nn) {
    int pick = -1;
    for (int i = start; i < nn; i++) {
      if (done[i]) continue;
      bool ok = true;
      for (int j = 0; j < g->nodes[i].n_in && ok; j++) {
        int v = g->nodes[i].in[j];
        ok = v < 0 || ready[v];
      }
      if (ok) {
        pick = i;
        break;
      }
    }
    if (pick < 0) {
      int bad = 0;
      while (done[bad]) bad++;
      st = c8_error(CALIB8_MALFORMED_MODEL, "node '%s' (%s) is on a cycle: the graph cannot be ordered",
                    g->nodes[bad].name, g->nodes[bad].op_type);
      goto out;
    }
    done[pick] = 1;
    sorted[count++] = g->nodes[pick];
    for (int j = 0; j < g->nodes[pick].n_out; j++)
      if (g->nodes[pick].out[j] >= 0) ready[g->nodes[pick].out[j]] = 1;
    while (start < nn && done[start]) start++;
  }
  if (nn) memcpy(g->nodes, sorted, sizeof(c8_node) * (size_t)nn);
out:
  c8_mfree(producer);
  c8_mfree(ready);
  c8_mfree(done);
  c8_mfree(sorted);
  return st;
}

c8_status c8_graph_remove_dead(c8_graph *g) {
  int nv = g->n_values;
  unsigned char *live = c8_calloc((size_t)(nv ? nv : 1), 1);
  if (!live) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory removing dead nodes");
  for (int i = 0; i < g->n_outputs; i++) live[g->outputs[i]] = 1;
  /* Nodes are in topological order: walk backwards. */
  for (int i = g->n_nodes - 1; i >= 0; i--) {
    c8_node *n = &g->nodes[i];
    bool used = false;
    for (int j = 0; j < n->n_out; j++) used |= n->out[j] >= 0 && live[n->out[j]];
    if (!used) {
      c8_graph_remove_node(g, i);
      continue;
    }
    for (int j = 0; j < n->n_in; j++)
      if (n->in[j] >= 0) live[n->in[j]] = 1;
  }
  for (int v = 0; v < nv; v++) {
    c8_value *val = &g->values[v];
    if (!live[v] && val->owns_data) {
      c8_free(val->t.data);
      val->t.data = NULL;
      val->owns_data = false;
      val->is_const = false;
    }
  }
  c8_mfree(live);
  return CALIB8_OK;
}

static int clone_tensor(c8_tensor *dst, const c8_tensor *src) {
  *dst = *src;
  if (!src->data) return 0;
  size_t nb = c8_nbytes(src);
  dst->data = c8_alloc(nb);
  if (!dst->data) return -1;
  memcpy(dst->data, src->data, nb);
  return 0;
}

c8_graph *c8_graph_clone(const c8_graph *g) {
  c8_graph *c = c8_graph_new();
  if (!c) return NULL;
  c->opset = g->opset;
  c->ir_version = g->ir_version;
  for (int v = 0; v < g->n_values; v++) {
    int id = add_value(c, g->values[v].name);
    if (id < 0) goto fail;
    c8_value *dv = &c->values[id];
    const c8_value *sv = &g->values[v];
    char *name = dv->name;
    *dv = *sv;
    dv->name = name;
    for (int d = 0; d < C8_MAX_RANK; d++) dv->decl_dim_names[d] = NULL;
    for (int d = 0; d < C8_MAX_RANK; d++)
      if (sv->decl_dim_names[d] && !(dv->decl_dim_names[d] = xstrdup(sv->decl_dim_names[d]))) goto fail;
    dv->owns_data = false;
    dv->t.data = NULL;
    if (sv->t.data) {
      if (clone_tensor(&dv->t, &sv->t) < 0) goto fail;
      dv->owns_data = true;
    }
  }
  for (int i = 0; i < g->n_nodes; i++) {
    const c8_node *sn = &g->nodes[i];
    int k = c8_graph_add_node(c, sn->name, sn->op_type, sn->domain, sn->n_in, sn->in, sn->n_out, sn->out);
    if (k < 0) goto fail;
    c->nodes[k].origin = sn->origin;
    for (int a = 0; a < sn->n_attr; a++) {
      const c8_attr *sa = &sn->attr[a];
      c8_attr *da = c8_node_add_attr(&c->nodes[k], sa->name, sa->type);
      if (!da) goto fail;
      da->f = sa->f;
      da->i = sa->i;
      da->n = sa->n;
      if (sa->s && !(da->s = xstrdup(sa->s))) goto fail;
      if (sa->floats) {
        if (!(da->floats = c8_malloc(sizeof(float) * (size_t)(sa->n ? sa->n : 1)))) goto fail;
        memcpy(da->floats, sa->floats, sizeof(float) * (size_t)sa->n);
      }
      if (sa->ints) {
        if (!(da->ints = c8_malloc(sizeof(int64_t) * (size_t)(sa->n ? sa->n : 1)))) goto fail;
        memcpy(da->ints, sa->ints, sizeof(int64_t) * (size_t)sa->n);
      }
      if (sa->strings) {
        if (!(da->strings = c8_calloc((size_t)(sa->n ? sa->n : 1), sizeof(char *)))) goto fail;
        for (int s = 0; s < sa->n; s++)
          if (!(da->strings[s] = xstrdup(sa->strings[s]))) goto fail;
      }
      if (sa->t) {
        if (!(da->t = c8_calloc(1, sizeof *da->t))) goto fail;
        if (clone_tensor(da->t, sa->t) < 0) goto fail;
      }
    }
  }
  c->inputs = c8_malloc(sizeof(int) * (size_t)(g->n_inputs + 1));
  c->outputs = c8_malloc(sizeof(int) * (size_t)(g->n_outputs + 1));
  if (!c->inputs || !c->outputs) goto fail;
  memcpy(c->inputs, g->inputs, sizeof(int) * (size_t)g->n_inputs);
  memcpy(c->outputs, g->outputs, sizeof(int) * (size_t)g->n_outputs);
  c->n_inputs = g->n_inputs;
  c->n_outputs = g->n_outputs;
  return c;
fail:
  c8_graph_destroy(c);
  return NULL;
}
