#include "run/plan.h"

#include "graph/fuse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* CALIB8_PROFILE=1: per op type (and the slowest nodes) time per run, printed to stderr when the plan goes. */
static void print_profile(const c8_plan *p) {
  if (!p->prof || p->prof_runs == 0) return;
  double total = 0, total_min = 0;
  const double *mins = p->prof + p->n_steps + 1;
  for (int i = 0; i < p->n_steps; i++) total += p->prof[i], total_min += mins[i];
  fprintf(stderr, "calib8 profile: %d run%s, %.3f ms per run (mean); sum of per-step minima %.3f ms\n",
          p->prof_runs, p->prof_runs == 1 ? "" : "s", total * 1e3 / p->prof_runs, total_min * 1e3);
  /* By op type: a quadratic scan is fine for a debugging aid. */
  unsigned char *done = c8_calloc((size_t)p->n_steps + 1, 1);
  if (!done) return;
  for (int i = 0; i < p->n_steps; i++) {
    if (done[i]) continue;
    const char *op = p->g->nodes[p->steps[i].node].op_type;
    double t = 0, tmin = 0;
    int count = 0;
    for (int j = i; j < p->n_steps; j++)
      if (!done[j] && strcmp(p->g->nodes[p->steps[j].node].op_type, op) == 0) {
        done[j] = 1;
        t += p->prof[j];
        tmin += mins[j];
        count++;
      }
    fprintf(stderr, "  %-24s %4d nodes %9.3f ms mean %9.3f ms min %5.1f%%\n", op, count, t * 1e3 / p->prof_runs,
            tmin * 1e3, total_min > 0 ? 100 * tmin / total_min : 0);
  }
  memset(done, 0, (size_t)p->n_steps);
  fprintf(stderr, "  slowest nodes:\n");
  for (int r = 0; r < 15 && r < p->n_steps; r++) {
    int best = -1;
    for (int j = 0; j < p->n_steps; j++)
      if (!done[j] && (best < 0 || mins[j] > mins[best])) best = j;
    done[best] = 1;
    const c8_node *n = &p->g->nodes[p->steps[best].node];
    const c8_tensor *o = p->steps[best].out[0], *i0 = p->steps[best].in[0], *i1 = p->steps[best].in[1];
    char shape[128] = "", s0[128] = "", s1[128] = "";
    if (o) c8_shape_str(o, shape, sizeof shape);
    if (i0) c8_shape_str(i0, s0, sizeof s0);
    if (p->steps[best].n_in > 1 && i1) c8_shape_str(i1, s1, sizeof s1);
    fprintf(stderr, "  %9.3f ms min  %-16s %-28s %s %s -> %s\n", mins[best] * 1e3, n->op_type, n->name, s0, s1, shape);
  }
  c8_mfree(done);
}

void c8_plan_destroy(c8_plan *p) {
  if (!p) return;
  print_profile(p);
  c8_mfree(p->prof);
  for (int i = 0; i < p->n_steps; i++) {
    c8_step *s = &p->steps[i];
    if (s->k.state) {
      const c8_op_def *def = p->g->nodes[s->node].def;
      if (def->destroy) def->destroy(s->k.state);
      else c8_mfree(s->k.state);
    }
    c8_mfree(s->in);
    c8_mfree(s->out);
  }
  c8_mfree(p->steps);
  for (int i = 0; i < p->n_owned; i++) c8_free(p->owned[i]);
  c8_mfree(p->owned);
  c8_mfree(p->rt);
  c8_mfree(p->known);
  c8_mfree(p->bound);
  c8_mfree(p->by_value);
  c8_free(p->arena);
  c8_mfree(p->fusions);
  c8_mfree(p);
}

bool c8_plan_matches(const c8_plan *p, const calib8_tensor *inputs) {
  for (int i = 0; i < p->g->n_inputs; i++) {
    if (p->bound[i].dtype != inputs[i].dtype || !c8_same_shape(&p->bound[i], &inputs[i])) return false;
    if (p->by_value && p->by_value[i]) {
      size_t bytes = (size_t)c8_numel(&inputs[i]) * calib8_dtype_size(inputs[i].dtype);
      if (bytes && (!inputs[i].data || memcmp(p->bound[i].data, inputs[i].data, bytes) != 0)) return false;
    }
  }
  return true;
}

static size_t align_up(size_t n) { return (n + C8_ALIGN - 1) / C8_ALIGN * C8_ALIGN; }

typedef struct {
  int value;
  int first, last; /* step indices */
  size_t size, offset;
} buffer_req;

static int by_size_desc(const void *a, const void *b) {
  const buffer_req *x = a, *y = b;
  if (x->size != y->size) return x->size < y->size ? 1 : -1;
  return x->value - y->value; /* deterministic */
}

/* Greedy offset assignment (largest first, lowest fitting offset), as TFLite's arena planner does. */
static c8_status plan_memory(c8_plan *p) {
  const c8_graph *g = p->g;
  c8_status st = CALIB8_OK;
  int nv = g->n_values;
  int *def_step = c8_malloc(sizeof(int) * (size_t)nv), *last_step = c8_malloc(sizeof(int) * (size_t)nv);
  buffer_req *reqs = c8_malloc(sizeof(buffer_req) * (size_t)(nv ? nv : 1));
  int nreq = 0;
  if (!def_step || !last_step || !reqs) {
    st = c8_error(CALIB8_OUT_OF_MEMORY, "out of memory planning activations");
    goto out;
  }
  for (int v = 0; v < nv; v++) def_step[v] = last_step[v] = -1;
  /* Lifetimes from what each step reads and writes (a fused step reads its chain's residual too). */
  for (int s = 0; s < p->n_steps; s++) {
    const c8_step *st_ = &p->steps[s];
    for (int j = 0; j < st_->n_out; j++)
      if (st_->out[j]) {
        int v = (int)(st_->out[j] - p->rt);
        if (!p->known[v]) def_step[v] = last_step[v] = s;
      }
    for (int j = 0; j < st_->n_in; j++)
      if (st_->in[j]) last_step[st_->in[j] - p->rt] = s;
    if (st_->k.fuse)
      for (int j = 0; j < C8_KERNEL_FUSE_MAX; j++)
        if (st_->k.fuse_t[j]) last_step[st_->k.fuse_t[j] - p->rt] = s;
  }
  for (int i = 0; i < g->n_outputs; i++) last_step[g->outputs[i]] = p->n_steps;
  for (int v = 0; v < nv; v++) {
    if (def_step[v] < 0) continue;
    reqs[nreq].value = v;
    reqs[nreq].first = def_step[v];
    reqs[nreq].last = last_step[v];
    reqs[nreq].size = align_up(c8_nbytes(&p->rt[v]));
    nreq++;
  }
  qsort(reqs, (size_t)nreq, sizeof *reqs, by_size_desc);
  size_t total = 0;
  for (int i = 0; i < nreq; i++) {
    size_t off = 0;
    bool moved = true;
    while (moved) {
      moved = false;
      for (int j = 0; j < i; j++) {
        bool overlap_time = !(reqs[j].last < reqs[i].first || reqs[i].last < reqs[j].first);
        bool overlap_mem = off < reqs[j].offset + reqs[j].size && reqs[j].offset < off + reqs[i].size;
        if (overlap_time && overlap_mem) {
          off = reqs[j].offset + reqs[j].size;
          moved = true;
        }
      }
    }
    reqs[i].offset = off;
    if (off + reqs[i].size > total) total = off + reqs[i].size;
  }
  size_t scratch = 0;
  for (int s = 0; s < p->n_steps; s++)
    if (p->steps[s].k.scratch_bytes > scratch) scratch = p->steps[s].k.scratch_bytes;
  p->scratch_offset = total;
  p->scratch_bytes = align_up(scratch);
  p->arena_bytes = total + p->scratch_bytes;
  p->arena = c8_alloc(p->arena_bytes ? p->arena_bytes : 1);
  if (!p->arena) {
    st = c8_error(CALIB8_OUT_OF_MEMORY, "out of memory: the activations need %zu bytes", p->arena_bytes);
    goto out;
  }
  for (int i = 0; i < nreq; i++) p->rt[reqs[i].value].data = p->arena + reqs[i].offset;
out:
  c8_mfree(def_step);
  c8_mfree(last_step);
  c8_mfree(reqs);
  return st;
}

static c8_status keep_owned(c8_plan *p, void *data) {
  void **o = c8_realloc(p->owned, sizeof(void *) * (size_t)(p->n_owned + 1));
  if (!o) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory");
  p->owned = o;
  p->owned[p->n_owned++] = data;
  return CALIB8_OK;
}

#define RETURN_IF(e)          \
  do {                        \
    c8_status st_ = (e);      \
    if (st_) return st_;      \
  } while (0)

/* A node all of whose inputs are known at plan time (or that reads only shapes) is evaluated now. */
static bool foldable(const c8_plan *p, const c8_node *node) {
  for (int j = 0; j < node->n_in; j++)
    if (node->in[j] >= 0 && !p->known[node->in[j]] && !node->def->reads_shape_only) return false;
  return true;
}

/* Adds node ni as the next step (or folds it). With f, the node heads the fused chain f: its step writes
   the chain's result; if its op declines the chain, the chain's nodes follow as separate steps. */
static c8_status add_step(c8_plan *p, int ni, const c8_fusion *f) {
  const c8_graph *g = p->g;
  const c8_node *node = &g->nodes[ni];
  c8_step *s = &p->steps[p->n_steps];
  memset(s, 0, sizeof *s);
  s->node = ni;
  s->n_in = node->n_in;
  s->n_out = node->n_out;
  s->in = c8_calloc((size_t)(node->n_in + 1), sizeof *s->in);
  s->out = c8_calloc((size_t)(node->n_out + 1), sizeof *s->out);
  if (!s->in || !s->out) {
    c8_mfree(s->in);
    c8_mfree(s->out);
    return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory building a plan");
  }
  for (int j = 0; j < node->n_in; j++)
    if (node->in[j] >= 0) s->in[j] = &p->rt[node->in[j]];
  for (int j = 0; j < node->n_out; j++)
    if (node->out[j] >= 0) {
      s->out[j] = &p->rt[node->out[j]];
      memset(s->out[j], 0, sizeof *s->out[j]);
    }
  /* Nodes whose outputs nothing reads are still run: they may be graph outputs. */
  if (!f && foldable(p, node)) {
    /* Evaluate now: the result only depends on constants and bound shapes. */
    c8_status st = c8_op_eval(node, g->opset, s->in, s->n_in, s->out, s->n_out);
    c8_mfree(s->in);
    c8_mfree(s->out);
    if (st) return st;
    for (int j = 0; j < node->n_out; j++)
      if (node->out[j] >= 0) {
        RETURN_IF(keep_owned(p, p->rt[node->out[j]].data));
        p->known[node->out[j]] = 1;
      }
    return CALIB8_OK;
  }
  s->k.node = node;
  s->k.opset = g->opset;
  s->k.pool = p->pool;
  if (f) {
    s->out[0] = &p->rt[f->out];
    memset(s->out[0], 0, sizeof *s->out[0]);
    s->k.fuse = f;
    for (int i = 0; i < f->n_ops; i++) s->k.fuse_t[i] = f->ops[i].value >= 0 ? &p->rt[f->ops[i].value] : NULL;
  }
  p->n_steps++;
  RETURN_IF(node->def->prepare(&s->k, s->in, s->n_in, s->out, s->n_out));
  for (int j = 0; j < node->n_out; j++)
    if (s->out[j] && s->out[j]->data) return c8_node_error(node, CALIB8_INTERNAL, "prepare set output data");
  if (!f) return CALIB8_OK;
  c8_tensor *own = &p->rt[node->out[0]];
  if (!s->k.fuse) {
    /* Declined: the node writes its own output and the chain runs as separate steps. */
    memset(s->k.fuse_t, 0, sizeof s->k.fuse_t);
    *own = *s->out[0];
    memset(s->out[0], 0, sizeof *s->out[0]);
    s->out[0] = own;
    for (int i = 0; i < f->n_nodes; i++) RETURN_IF(add_step(p, f->nodes[i], NULL));
    return CALIB8_OK;
  }
  /* The chain's intermediate values get no buffers; their shapes are the result's (MAC counts read them). */
  c8_tensor shape = *s->out[0];
  shape.data = NULL;
  *own = shape;
  for (int i = 0; i + 1 < f->n_nodes; i++) {
    const c8_node *n = &g->nodes[f->nodes[i]];
    if (n->out[0] >= 0) p->rt[n->out[0]] = shape;
  }
  return CALIB8_OK;
}

c8_status c8_plan_build(const c8_graph *g, const calib8_tensor *inputs, struct c8_threadpool *pool,
                        c8_plan **out) {
  return c8_plan_build_ex(g, inputs, pool, false, out);
}

c8_status c8_plan_build_ex(const c8_graph *g, const calib8_tensor *inputs, struct c8_threadpool *pool, bool fuse,
                           c8_plan **out) {
  return c8_plan_build_values(g, inputs, pool, fuse, NULL, out);
}

c8_status c8_plan_build_values(const c8_graph *g, const calib8_tensor *inputs, struct c8_threadpool *pool,
                               bool fuse, const unsigned char *by_value, c8_plan **out) {
  c8_status st = CALIB8_OK;
  int *tail_of = NULL; /* per node: the head whose fused chain ends at it, -1 */
  unsigned char *absorbed = NULL;
  c8_plan *p = c8_calloc(1, sizeof *p);
  if (!p) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory building a plan");
  p->g = g;
  p->pool = pool;
  int nv = g->n_values;
  p->rt = c8_calloc((size_t)(nv ? nv : 1), sizeof *p->rt);
  p->known = c8_calloc((size_t)(nv ? nv : 1), 1);
  p->steps = c8_calloc((size_t)(g->n_nodes ? g->n_nodes : 1), sizeof *p->steps);
  p->bound = c8_calloc((size_t)(g->n_inputs ? g->n_inputs : 1), sizeof *p->bound);
  tail_of = c8_malloc(sizeof(int) * (size_t)(g->n_nodes ? g->n_nodes : 1));
  absorbed = c8_calloc((size_t)(g->n_nodes ? g->n_nodes : 1), 1);
  if (!p->rt || !p->known || !p->steps || !p->bound || !tail_of || !absorbed) {
    st = c8_error(CALIB8_OUT_OF_MEMORY, "out of memory building a plan");
    goto fail;
  }
  for (int i = 0; i < g->n_nodes; i++) tail_of[i] = -1;
  if (fuse && (st = c8_graph_find_fusions(g, &p->fusions))) goto fail;
  for (int v = 0; v < nv; v++)
    if (g->values[v].is_const) {
      p->rt[v] = g->values[v].t;
      p->known[v] = 1;
    }
  for (int i = 0; i < g->n_inputs; i++) {
    p->bound[i] = inputs[i];
    p->bound[i].data = NULL;
    if (by_value && by_value[i]) {
      if (!p->by_value && !(p->by_value = c8_calloc((size_t)g->n_inputs, 1))) {
        st = c8_error(CALIB8_OUT_OF_MEMORY, "out of memory building a plan");
        goto fail;
      }
      size_t bytes = (size_t)c8_numel(&inputs[i]) * calib8_dtype_size(inputs[i].dtype);
      void *copy = c8_alloc(bytes);
      if (!copy || (st = keep_owned(p, copy))) {
        c8_free(copy);
        if (!st) st = c8_error(CALIB8_OUT_OF_MEMORY, "out of memory building a plan");
        goto fail;
      }
      if (bytes) memcpy(copy, inputs[i].data, bytes);
      p->bound[i].data = copy;
      p->by_value[i] = 1;
      p->known[g->inputs[i]] = 1;
    }
    p->rt[g->inputs[i]] = p->bound[i];
  }
  for (int ni = 0; ni < g->n_nodes; ni++) {
    if (absorbed[ni]) {
      /* A fused chain runs where its last node was, when every input it reads (a residual) exists. */
      if (tail_of[ni] >= 0 && (st = add_step(p, tail_of[ni], &p->fusions[tail_of[ni]]))) goto fail;
      continue;
    }
    const c8_fusion *f = p->fusions ? &p->fusions[ni] : NULL;
    if (f && f->n_ops > 0 && !foldable(p, &g->nodes[ni])) {
      for (int i = 0; i < f->n_nodes; i++) absorbed[f->nodes[i]] = 1;
      tail_of[f->nodes[f->n_nodes - 1]] = ni;
      continue;
    }
    if ((st = add_step(p, ni, NULL))) goto fail;
  }
  if ((st = plan_memory(p))) goto fail;
  const char *prof = getenv("CALIB8_PROFILE");
  if (prof && strcmp(prof, "1") == 0) p->prof = c8_calloc(2 * (size_t)p->n_steps + 2, sizeof *p->prof);
  c8_mfree(tail_of);
  c8_mfree(absorbed);
  *out = p;
  return CALIB8_OK;
fail:
  c8_mfree(tail_of);
  c8_mfree(absorbed);
  c8_plan_destroy(p);
  return st;
}

c8_status c8_plan_run(c8_plan *p, const calib8_tensor *inputs, c8_step_observer obs, void *user) {
  const c8_graph *g = p->g;
  for (int i = 0; i < g->n_inputs; i++)
    if (!p->by_value || !p->by_value[i]) p->rt[g->inputs[i]].data = inputs[i].data;
  void *scratch = p->arena + p->scratch_offset;
  for (int s = 0; s < p->n_steps; s++) {
    c8_step *step = &p->steps[s];
    const c8_node *node = &g->nodes[step->node];
    double t0 = p->prof ? now_s() : 0;
    c8_status st = node->def->run(&step->k, step->in, step->n_in, step->out, step->n_out, scratch);
    if (p->prof) {
      double dt = now_s() - t0;
      p->prof[s] += dt;
      if (p->prof_runs == 0 || dt < p->prof[p->n_steps + 1 + s]) p->prof[p->n_steps + 1 + s] = dt;
    }
    if (st) return st;
    if (obs && (st = obs(user, g, step))) return st;
  }
  if (p->prof) p->prof_runs++;
  return CALIB8_OK;
}
