#include "run/session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/threadpool.h"
#include "load/model.h"

calib8_session_options calib8_session_options_default(void) {
  calib8_session_options o = {.threads = 0, .optimize = 1, .sub_batch = 0};
  return o;
}

calib8_status calib8_session_create(const calib8_model *model, const calib8_session_options *options,
                                    calib8_session **out_session) {
  if (!model || !out_session) return c8_error(CALIB8_INVALID_ARGUMENT, "calib8_session_create: model and out_session are required");
  return c8_session_create_from_graph(model->graph, options, out_session);
}

/* The integer copy (session.h: gi), from the graph as given (before constant folding turns the weights'
   DequantizeLinear into floats). */
static c8_status build_int8_graph(calib8_session *s, const c8_graph *graph) {
  /* Opt-in for now (CALIB8_INT8=1): the integer path is faster than fake quantization and than FP32
     (bench/RESULTS.md), but becomes the default only with the ONNX Runtime agreement tests on the full
     Fashion-MNIST test set, which are not written yet (docs/int8.md). */
  const char *env = getenv("CALIB8_INT8");
  if (!env || strcmp(env, "1") != 0) return CALIB8_OK;
  s->int8_on = true;
  c8_graph *gi = c8_graph_clone(graph);
  if (!gi) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory creating a session");
  int n = 0;
  c8_status st = c8_graph_fold_int8(gi, &n);
  if (!st && n > 0) st = c8_graph_optimize(gi);
  if (st || n == 0) {
    c8_graph_destroy(gi);
    return st;
  }
  s->gi = gi;
  s->int8_layers = n;
  return CALIB8_OK;
}

c8_status c8_session_create_from_graph(const c8_graph *graph, const calib8_session_options *options,
                                       calib8_session **out_session) {
  calib8_session *s = c8_calloc(1, sizeof *s);
  if (!s) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory creating a session");
  s->opts = options ? *options : calib8_session_options_default();
  if (s->opts.threads <= 0) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    s->opts.threads = n > 0 ? (int)n : 1;
  }
  s->g = c8_graph_clone(graph);
  if (!s->g) {
    c8_mfree(s);
    return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory creating a session");
  }
  c8_status st = c8_threadpool_create(s->opts.threads, &s->pool);
  if (st) {
    calib8_session_destroy(s);
    return st;
  }
  if (s->opts.optimize) {
    st = c8_graph_optimize(s->g);
    if (st) {
      calib8_session_destroy(s);
      return st;
    }
    if ((st = build_int8_graph(s, graph))) {
      calib8_session_destroy(s);
      return st;
    }
  }
  *out_session = s;
  return CALIB8_OK;
}

void calib8_session_destroy(calib8_session *s) {
  if (!s) return;
  c8_plan_destroy(s->plan);
  c8_batch_split_destroy(s->split);
  c8_mfree(s->by_value);
  c8_threadpool_destroy(s->pool);
  c8_graph_destroy(s->g);
  c8_graph_destroy(s->gi);
  c8_mfree(s);
}

void c8_session_set_observer(calib8_session *s, c8_step_observer obs, void *user) {
  s->obs = obs;
  s->obs_user = user;
}

const c8_plan *c8_session_plan(const calib8_session *s) { return s->split ? s->split->plans[0] : s->plan; }

static c8_status check_input(const c8_value *v, const calib8_tensor *t) {
  char got[128];
  if (!t->data && calib8_tensor_numel(t) > 0)
    return c8_error(CALIB8_INVALID_ARGUMENT, "input '%s' has no data", v->name);
  if (v->decl_dtype != CALIB8_UNDEFINED && t->dtype != v->decl_dtype)
    return c8_error(CALIB8_INVALID_ARGUMENT, "input '%s' is %s, the model expects %s", v->name,
                    calib8_dtype_name(t->dtype), calib8_dtype_name(v->decl_dtype));
  if (calib8_dtype_size(t->dtype) == 0)
    return c8_error(CALIB8_UNSUPPORTED, "input '%s' has unsupported type %s", v->name, calib8_dtype_name(t->dtype));
  if (t->rank < 0 || t->rank > CALIB8_MAX_RANK)
    return c8_error(CALIB8_INVALID_ARGUMENT, "input '%s' has invalid rank %d", v->name, t->rank);
  for (int d = 0; d < t->rank; d++)
    if (t->dims[d] < 0) return c8_error(CALIB8_INVALID_ARGUMENT, "input '%s' has negative dimension %d", v->name, d);
  if (v->decl_rank < 0) return CALIB8_OK;
  char want[256];
  size_t n = 0;
  n += (size_t)snprintf(want + n, sizeof want - n, "[");
  for (int d = 0; d < v->decl_rank && n < sizeof want; d++) {
    if (v->decl_dims[d] >= 0) n += (size_t)snprintf(want + n, sizeof want - n, d ? ",%lld" : "%lld", (long long)v->decl_dims[d]);
    else n += (size_t)snprintf(want + n, sizeof want - n, d ? ",%s" : "%s", v->decl_dim_names[d] ? v->decl_dim_names[d] : "?");
  }
  if (n < sizeof want) snprintf(want + n, sizeof want - n, "]");
  bool ok = t->rank == v->decl_rank;
  for (int d = 0; ok && d < t->rank; d++) ok = v->decl_dims[d] < 0 || v->decl_dims[d] == t->dims[d];
  if (!ok)
    return c8_error(CALIB8_INVALID_ARGUMENT, "input '%s' has shape %s, the model expects %s", v->name,
                    c8_shape_str(t, got, sizeof got), want);
  return CALIB8_OK;
}

/* Builds the session's plan for these inputs. When an op needs at prepare time the values of something that
   depends on a graph input (a Reshape whose shape is a graph input, say), the plan fails as unsupported; it is
   then built again with the integer inputs bound by value, and then with every input, as a constant would be
   (the first that works is kept for later runs, which plan again when those values change). When none works,
   the first error stands. */
static c8_status build_plan(calib8_session *s, const calib8_tensor *bound, bool fuse) {
  const c8_graph *g = fuse && s->gi ? s->gi : s->g;
  c8_status st = c8_plan_build_values(g, bound, s->pool, fuse, s->by_value, &s->plan);
  if (st != CALIB8_UNSUPPORTED || g->n_inputs == 0) return st;
  char first[1024];
  snprintf(first, sizeof first, "%s", calib8_last_error());
  unsigned char *mask = c8_calloc((size_t)g->n_inputs, 1);
  if (!mask) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory building a plan");
  for (int attempt = 0; attempt < 2 && st == CALIB8_UNSUPPORTED; attempt++) {
    bool more = false; /* does this attempt bind an input the last one did not */
    for (int i = 0; i < g->n_inputs; i++) {
      bool want = attempt == 1 || (bound[i].dtype != CALIB8_FLOAT && bound[i].dtype != CALIB8_DOUBLE &&
                                   bound[i].dtype != CALIB8_FLOAT16);
      if (want && !mask[i] && !(s->by_value && s->by_value[i])) more = true;
      mask[i] = (unsigned char)(mask[i] || want || (s->by_value && s->by_value[i]));
    }
    if (!more) continue;
    st = c8_plan_build_values(g, bound, s->pool, fuse, mask, &s->plan);
  }
  if (st) {
    c8_mfree(mask);
    if (st == CALIB8_UNSUPPORTED) c8_error(CALIB8_UNSUPPORTED, "%s", first);
    return st;
  }
  c8_mfree(s->by_value);
  s->by_value = mask;
  return CALIB8_OK;
}

calib8_status calib8_session_run(calib8_session *s, int n_inputs, const char *const *names,
                                 const calib8_tensor *inputs) {
  if (!s || (n_inputs && !inputs)) return c8_error(CALIB8_INVALID_ARGUMENT, "calib8_session_run: session and inputs are required");
  const c8_graph *g = s->g;
  calib8_tensor bound[64];
  bool have[64] = {false};
  if (g->n_inputs > 64) return c8_error(CALIB8_UNSUPPORTED, "models with more than 64 inputs are not supported");
  for (int i = 0; i < n_inputs; i++) {
    int slot = -1;
    const char *nm = names ? names[i] : NULL;
    if (!nm) {
      if (g->n_inputs != 1)
        return c8_error(CALIB8_INVALID_ARGUMENT, "the model has %d inputs: name each one (NAME=FILE)", g->n_inputs);
      slot = 0;
    } else {
      for (int k = 0; k < g->n_inputs; k++)
        if (strcmp(g->values[g->inputs[k]].name, nm) == 0) slot = k;
      if (slot < 0) {
        char list[512] = "";
        for (int k = 0; k < g->n_inputs; k++) {
          if (k) strncat(list, ", ", sizeof list - strlen(list) - 1);
          strncat(list, g->values[g->inputs[k]].name, sizeof list - strlen(list) - 1);
        }
        return c8_error(CALIB8_INVALID_ARGUMENT, "the model has no input named '%s' (its inputs: %s)", nm, list);
      }
    }
    if (have[slot])
      return c8_error(CALIB8_INVALID_ARGUMENT, "input '%s' is given twice", g->values[g->inputs[slot]].name);
    c8_status st = check_input(&g->values[g->inputs[slot]], &inputs[i]);
    if (st) return st;
    bound[slot] = inputs[i];
    have[slot] = true;
  }
  for (int k = 0; k < g->n_inputs; k++)
    if (!have[k]) return c8_error(CALIB8_INVALID_ARGUMENT, "input '%s' is missing", g->values[g->inputs[k]].name);
  /* Observers see every tensor, so they get an unfused plan; one plan is kept at a time. */
  const bool fuse = s->opts.optimize && !s->obs;
  if (fuse && s->split && c8_batch_split_matches(s->split, bound)) return c8_batch_split_run(s->split, bound);
  if (!s->plan || s->plan_fused != fuse || !c8_plan_matches(s->plan, bound)) {
    c8_plan_destroy(s->plan);
    s->plan = NULL;
    c8_batch_split_destroy(s->split);
    s->split = NULL;
    c8_status st = build_plan(s, bound, fuse);
    if (st) return st;
    s->plan_fused = fuse;
    /* A plain run of a per-sample model runs as sub-batches over the threads (run/batch-split.h). */
    if (fuse) {
      if ((st = c8_batch_split_build(s->plan, s->pool, s->opts.sub_batch, &s->split))) return st;
      if (s->split) {
        c8_plan_destroy(s->plan);
        s->plan = NULL;
        return c8_batch_split_run(s->split, bound);
      }
    }
  }
  return c8_plan_run(s->plan, bound, s->obs, s->obs_user);
}

int calib8_session_output_count(const calib8_session *s) { return s->g->n_outputs; }

/* The compute layers calib8_session_int8_layers counts. */
static bool is_layer(const c8_node *n) {
  static const char *const ops[] = {"Conv", "ConvTranspose", "Gemm", "MatMul", "FusedConv"};
  for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
    if (strcmp(n->op_type, ops[i]) == 0) return true;
  return false;
}

static const c8_graph *int8_graph(const calib8_session *s) { return s->gi ? s->gi : s->g; }

int calib8_session_int8_layers(const calib8_session *s, int *n_layers) {
  int n = 0, m = 0;
  if (s) {
    const c8_graph *g = int8_graph(s);
    for (int i = 0; i < g->n_nodes; i++) {
      const bool q = s->gi && strcmp(g->nodes[i].op_type, "QConv") == 0;
      n += q;
      m += q || is_layer(&g->nodes[i]);
    }
  }
  if (n_layers) *n_layers = m;
  return s && s->int8_on ? n : -1;
}

const char *calib8_session_int8_fallback(const calib8_session *s, int index, const char **why) {
  if (!s || index < 0) return NULL;
  const c8_graph *g = int8_graph(s);
  for (int i = 0; i < g->n_nodes; i++) {
    const c8_node *n = &g->nodes[i];
    if (!is_layer(n) || index-- > 0) continue;
    if (why) {
      if (!s->int8_on) *why = "integer kernels are off (CALIB8_INT8=1 turns them on)";
      else if (strcmp(n->op_type, "Conv") != 0) *why = "no integer kernel for this operator yet: it runs in FP32 (fake quantization)";
      else *why = "not a DequantizeLinear -> Conv -> [Relu|Clip] -> QuantizeLinear chain with int8 weights the "
                  "integer kernels accept (per-tensor activations, zero-point-0 weights): it runs in FP32";
    }
    return n->name;
  }
  return NULL;
}

int calib8_session_sub_batch(const calib8_session *s) { return s && s->split ? s->split->sub_batch : 0; }

const char *calib8_session_output_name(const calib8_session *s, int index) {
  if (index < 0 || index >= s->g->n_outputs) return NULL;
  return s->g->values[s->g->outputs[index]].name;
}

calib8_status calib8_session_output(const calib8_session *s, int index, calib8_tensor *out_view) {
  if (!s || !out_view || index < 0 || index >= s->g->n_outputs)
    return c8_error(CALIB8_INVALID_ARGUMENT, "calib8_session_output: output index %d is out of range", index);
  if (s->split) {
    *out_view = s->split->outputs[index];
    return CALIB8_OK;
  }
  if (!s->plan) return c8_error(CALIB8_INVALID_ARGUMENT, "calib8_session_output: the session has not run yet");
  *out_view = s->plan->rt[s->plan->g->outputs[index]];
  return CALIB8_OK;
}
