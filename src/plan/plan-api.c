/* The public plan API (include/calib8/plan.h): building and inspecting a quantization plan, its QDQ model as a
 * session or bytes, and the graph helpers its options use (equalization, heads). Writing the artefacts is in
 * src/export/outputs.c. */
#include <math.h>
#include <string.h>

#include "calib8/calib8.h" /* first: the part headers are complete only through it */
#include "export/onnx-write.h"
#include "export/qdq.h"
#include "export/summary.h"
#include "export/tables.h"
#include "load/model.h"
#include "observe/calibrate.h"
#include "plan/method-choice.h"
#include "plan/qplan.h"

/* The public enums mirror the internal ones value for value. */
_Static_assert((int)CALIB8_WEIGHTS_ADMM == (int)C8_WEIGHTS_ADMM && (int)CALIB8_PER_TENSOR == (int)C8_GRAN_PER_TENSOR &&
                   (int)CALIB8_GRANULARITY_MIX == (int)C8_GRAN_MIX && (int)CALIB8_PRECISION_INT8 == (int)C8_PREC_INT8 &&
                   (int)CALIB8_PRECISION_FP32 == (int)C8_PREC_FP32,
               "public and internal plan enums must agree");

#define CLE_ITERATIONS 20

calib8_quant_options calib8_quant_options_default(void) {
  calib8_quant_options o;
  memset(&o, 0, sizeof o);
  o.method = CALIB8_METHOD_KL;
  return o;
}

/* Applies fn to every name of a comma-separated list of tensors. */
static c8_status apply_list(const char *list, const c8_graph *g, c8_precision *prec,
                            c8_status (*fn)(const c8_graph *, const char *, c8_precision *)) {
  char *buf = c8_strdup(list);
  if (!buf) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory reading the tensor list '%s'", list);
  c8_status st = CALIB8_OK;
  for (char *save = NULL, *t = strtok_r(buf, ",", &save); t && !st; t = strtok_r(NULL, ",", &save)) st = fn(g, t, prec);
  c8_mfree(buf);
  return st;
}

static c8_status fpfwd_outputs(const c8_graph *g, const char *name, c8_precision *prec) {
  return c8_precision_fpfwd(g, name, true, prec);
}
static c8_status fpfwd_inputs(const c8_graph *g, const char *name, c8_precision *prec) {
  return c8_precision_fpfwd(g, name, false, prec);
}

/* The per-node precisions the options force: the qtable (which resets every node it does not list), the
 * fp32_after/before lists, the heads, and last the named layers, which nothing overrides. */
static c8_status forced_precision(const c8_graph *g, const calib8_quant_options *o, c8_precision *prec) {
  c8_status st = CALIB8_OK;
  if (o->qtable && (st = c8_qtable_read(o->qtable, g, prec, NULL))) return st;
  if (o->fp32_after && (st = apply_list(o->fp32_after, g, prec, c8_precision_fp32_after))) return st;
  if (o->fp32_before && (st = apply_list(o->fp32_before, g, prec, c8_precision_fp32_before))) return st;
  if (o->fpfwd_outputs && (st = apply_list(o->fpfwd_outputs, g, prec, fpfwd_outputs))) return st;
  if (o->fpfwd_inputs && (st = apply_list(o->fpfwd_inputs, g, prec, fpfwd_inputs))) return st;
  if (o->fp32_heads) {
    bool *h = c8_calloc((size_t)g->n_nodes + 1, sizeof *h);
    if (!h || c8_find_heads(g, h) < 0) {
      c8_mfree(h);
      return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory finding the detection heads");
    }
    for (int i = 0; i < g->n_nodes; i++)
      if (h[i]) prec[i] = C8_PREC_FP32;
    c8_mfree(h);
  }
  for (int k = 0; k < o->n_fp32_layers; k++) {
    const char *name = o->fp32_layers[k];
    int i = 0;
    while (name && i < g->n_nodes && strcmp(g->nodes[i].name, name)) i++;
    if (!name || i == g->n_nodes)
      return c8_error(CALIB8_INVALID_ARGUMENT, "fp32 layer '%s' is not a node of the session's graph",
                      name ? name : "(null)");
    prec[i] = C8_PREC_FP32;
  }
  return CALIB8_OK;
}

static c8_status check_options(const calib8_quant_options *o) {
  if ((int)o->method < 0 || o->method >= CALIB8_METHOD_COUNT)
    return c8_error(CALIB8_INVALID_ARGUMENT, "threshold method %d is not one of max, kl, percentile, mse, aciq", (int)o->method);
  if (!(o->percentile == 0 || (o->percentile > 0 && o->percentile <= 100)))
    return c8_error(CALIB8_INVALID_ARGUMENT, "percentile %g must be in (0, 100] (0 = 99.99)", o->percentile);
  if ((int)o->weights < 0 || o->weights > CALIB8_WEIGHTS_ADMM)
    return c8_error(CALIB8_INVALID_ARGUMENT, "weight quantizer %d is not minmax or admm", (int)o->weights);
  if ((int)o->granularity < 0 || o->granularity > CALIB8_GRANULARITY_MIX)
    return c8_error(CALIB8_INVALID_ARGUMENT, "granularity %d is not per-channel, per-tensor or mix", (int)o->granularity);
  if (o->n_fp32_layers < 0 || (o->n_fp32_layers > 0 && !o->fp32_layers))
    return c8_error(CALIB8_INVALID_ARGUMENT, "%d fp32 layers given without their names", o->n_fp32_layers);
  return CALIB8_OK;
}

/* The layers and quantized tensors the inspection functions index, and each layer's MACs. */
static c8_status index_plan(calib8_qplan *qp) {
  const c8_qplan *p = qp->p;
  const c8_graph *g = p->g;
  qp->node_macs = c8_calloc((size_t)g->n_nodes + 1, sizeof *qp->node_macs);
  qp->layers = c8_malloc(sizeof *qp->layers * ((size_t)g->n_nodes + 1));
  qp->tensors = c8_malloc(sizeof *qp->tensors * ((size_t)g->n_values + 1));
  if (!qp->node_macs || !qp->layers || !qp->tensors)
    return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory planning quantization");
  const c8_plan *shapes = c8_session_plan(qp->session);
  for (int i = 0; i < g->n_nodes; i++) {
    qp->node_macs[i] = c8_node_macs(g, shapes, i);
    if (c8_op_is_int8_compute(g->nodes[i].op_type)) qp->layers[qp->n_layers++] = i;
  }
  for (int v = 0; v < p->n_values; v++)
    if (p->tq[v].quantized) qp->tensors[qp->n_tensors++] = v;
  return CALIB8_OK;
}

calib8_status calib8_qplan_build(calib8_session *session, const calib8_calibration *cal,
                                 const calib8_quant_options *options, calib8_qplan **out_plan) {
  if (!session || !cal || !out_plan)
    return c8_error(CALIB8_INVALID_ARGUMENT, "calib8_qplan_build needs a session and a calibration");
  if (cal->cal->g != session->g)
    return c8_error(CALIB8_INVALID_ARGUMENT, "the calibration was taken on another session's graph");
  calib8_quant_options o = options ? *options : calib8_quant_options_default();
  c8_status st = check_options(&o);
  if (st) return st;
  if (o.bias_correction && !cal->cal->mean_axis)
    return c8_error(CALIB8_INVALID_ARGUMENT, "bias correction needs the per-channel input means of the calibration "
                    "(create it with calib8_calibration_options.channel_means)");
  const c8_graph *g = session->g;
  calib8_qplan *qp = c8_calloc(1, sizeof *qp);
  c8_precision *prec = c8_calloc((size_t)g->n_nodes + 1, sizeof *prec);
  int *vm = NULL;
  if (!qp || !prec) {
    st = c8_error(CALIB8_OUT_OF_MEMORY, "out of memory planning quantization");
    goto out;
  }
  qp->cal = cal;
  qp->session = session;
  if ((st = forced_precision(g, &o, prec))) goto out;
  if (o.choose_method_per_tensor && !(vm = c8_choose_methods(cal->cal))) {
    st = CALIB8_OUT_OF_MEMORY; /* the message is set */
    goto out;
  }
  c8_quant_options q = c8_quant_options_default();
  q.method = (c8_threshold_method)o.method;
  if (o.percentile > 0) q.percentile = o.percentile;
  q.weights = (c8_weight_method)o.weights;
  q.granularity = (c8_granularity)o.granularity;
  q.asymmetric = o.asymmetric != 0;
  q.bias_correction = o.bias_correction != 0;
  q.node_precision = prec;
  q.value_method = vm;
  q.pool = session->pool; /* the thresholds run on the session's threads; the plan is the same for any count */
  if ((st = c8_qplan_build(g, cal->cal, &q, &qp->p))) goto out;
  c8_qplan_count_macs(qp->p, c8_session_plan(session));
  if ((st = index_plan(qp))) goto out;
  st = c8_qdq_build(qp->p, &qp->qdq);
out:
  if (qp) qp->prec = prec, qp->value_method = vm; /* the plan's options point at them */
  else c8_mfree(prec);
  if (st) {
    calib8_qplan_destroy(qp);
    return st;
  }
  *out_plan = qp;
  return CALIB8_OK;
}

void calib8_qplan_destroy(calib8_qplan *plan) {
  if (!plan) return;
  c8_graph_destroy(plan->qdq);
  c8_qplan_destroy(plan->p);
  c8_mfree(plan->prec);
  c8_mfree(plan->value_method);
  c8_mfree(plan->node_macs);
  c8_mfree(plan->layers);
  c8_mfree(plan->tensors);
  c8_mfree(plan);
}

int calib8_qplan_layer_count(const calib8_qplan *plan) { return plan ? plan->n_layers : 0; }

calib8_status calib8_qplan_layer(const calib8_qplan *plan, int index, calib8_layer_info *out) {
  if (!plan || !out || index < 0 || index >= plan->n_layers)
    return c8_error(CALIB8_INVALID_ARGUMENT, "layer %d is not in the plan (%d layers)", index, plan ? plan->n_layers : 0);
  int i = plan->layers[index];
  const c8_graph *g = plan->p->g;
  const c8_node *n = &g->nodes[i];
  out->name = n->name;
  out->op = n->op_type;
  out->precision = plan->p->node_prec[i] == C8_PREC_INT8 ? CALIB8_PRECISION_INT8 : CALIB8_PRECISION_FP32;
  out->macs = plan->node_macs[i];
  /* depthwise: one input channel per group, i.e. weights [M, 1, ...] with more than one group */
  const c8_tensor *w = n->n_in > 1 && n->in[1] >= 0 ? &g->values[n->in[1]].t : NULL;
  out->depthwise = !strcmp(n->op_type, "Conv") && c8_attr_int(n, "group", 1) > 1 && w && w->rank > 1 && w->dims[1] == 1;
  return CALIB8_OK;
}

int calib8_qplan_tensor_count(const calib8_qplan *plan) { return plan ? plan->n_tensors : 0; }

calib8_status calib8_qplan_tensor(const calib8_qplan *plan, int index, calib8_tensor_quant *out) {
  if (!plan || !out || index < 0 || index >= plan->n_tensors)
    return c8_error(CALIB8_INVALID_ARGUMENT, "tensor %d is not in the plan (%d quantized tensors)", index,
                    plan ? plan->n_tensors : 0);
  int v = plan->tensors[index];
  const c8_tensor_q *t = &plan->p->tq[v];
  out->name = plan->p->g->values[v].name;
  out->threshold = plan->p->opts.asymmetric ? fmax(fabs((double)t->lo), fabs((double)t->hi)) : (double)t->threshold;
  out->lo = t->lo;
  out->hi = t->hi;
  out->scale = t->scale;
  out->zero_point = t->zero_point;
  out->dtype = t->dtype;
  return CALIB8_OK;
}

void calib8_qplan_macs(const calib8_qplan *plan, int64_t *total, int64_t *int8) {
  if (total) *total = plan ? plan->p->macs_total : 0;
  if (int8) *int8 = plan ? plan->p->macs_int8 : 0;
}

calib8_status calib8_qplan_session(const calib8_qplan *plan, const calib8_session_options *options,
                                   calib8_session **out_session) {
  if (!plan || !out_session) return c8_error(CALIB8_INVALID_ARGUMENT, "calib8_qplan_session needs a plan");
  calib8_session_options o = options ? *options : calib8_session_options_default();
  return c8_session_create_from_graph(plan->qdq, &o, out_session);
}

calib8_status calib8_qplan_serialize(const calib8_qplan *plan, void **out_bytes, size_t *out_len) {
  if (!plan || !out_bytes || !out_len) return c8_error(CALIB8_INVALID_ARGUMENT, "calib8_qplan_serialize needs a plan");
  c8_onnx_write_options wo = {.producer = "calib8"};
  return c8_onnx_serialize(plan->qdq, &wo, out_bytes, out_len);
}

calib8_status calib8_session_equalize(const calib8_session *session, int iterations,
                                      const calib8_session_options *options, int *pairs,
                                      calib8_session **out_session) {
  if (!session || !out_session || iterations < 0)
    return c8_error(CALIB8_INVALID_ARGUMENT, "calib8_session_equalize needs a session and iterations >= 0");
  /* the session's own (optimized) graph: BatchNorm is folded, so the Conv weights are the ones equalized */
  c8_graph *g = c8_graph_clone(session->g);
  if (!g) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory equalizing the model");
  calib8_session *e = NULL;
  int n = 0;
  c8_status st = c8_graph_equalize(g, iterations ? iterations : CLE_ITERATIONS, &n);
  if (!st) st = c8_session_create_from_graph(g, options ? options : &session->opts, &e);
  c8_graph_destroy(g);
  if (st) return st;
  if (pairs) *pairs = n;
  *out_session = e;
  return CALIB8_OK;
}

calib8_status calib8_model_heads(const calib8_model *model, const char ***names, const char ***ops, int *count) {
  if (!model || !names || !count) return c8_error(CALIB8_INVALID_ARGUMENT, "calib8_model_heads needs a model and outputs");
  const c8_graph *g = model->graph;
  bool *h = c8_calloc((size_t)g->n_nodes + 1, sizeof *h);
  const char **nm = c8_malloc(sizeof *nm * ((size_t)g->n_nodes + 1));
  const char **op = ops ? c8_malloc(sizeof *op * ((size_t)g->n_nodes + 1)) : NULL;
  if (!h || !nm || (ops && !op) || c8_find_heads(g, h) < 0) {
    c8_mfree(h);
    c8_mfree(nm);
    c8_mfree(op);
    return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory finding the detection heads");
  }
  int n = 0;
  for (int i = 0; i < g->n_nodes; i++)
    if (h[i] && strcmp(g->nodes[i].op_type, "Constant") != 0) {
      nm[n] = g->nodes[i].name;
      if (op) op[n] = g->nodes[i].op_type;
      n++;
    }
  c8_mfree(h);
  *names = nm;
  if (ops) *ops = op;
  *count = n;
  return CALIB8_OK;
}
