#include "export/summary.h"

#include "core/json.h"

#include <string.h>

#include "export/tables.h"
#include "ops/op.h"

int64_t c8_node_macs(const c8_graph *g, const c8_plan *shapes, int i) {
  if (!shapes || shapes->g->n_nodes != g->n_nodes || i < 0 || i >= g->n_nodes) return 0;
  const c8_node *n = &g->nodes[i];
  const c8_op_def *d = c8_node_op(n);
  if (!c8_qrole_is_compute(d->qrole) || !d->macs || n->n_in < 2 || n->out[0] < 0) return 0;
  /* Per sample: the plan is the last calibration batch's, whose size depends on --batch and the sample count.
     Every counted op is linear in the batch (the leading dimension of the first graph input). */
  int64_t batch = 1;
  if (g->n_inputs > 0 && shapes->bound && shapes->bound[0].rank > 0 && shapes->bound[0].dims[0] > 0)
    batch = shapes->bound[0].dims[0];
  const c8_tensor *y = &shapes->rt[n->out[0]], *w = &shapes->rt[n->in[1]], *x = &shapes->rt[n->in[0]];
  return d->macs(n, x, w, y) / batch;
}

void c8_qplan_count_macs(c8_qplan *p, const c8_plan *shapes) {
  p->macs_total = p->macs_int8 = 0;
  for (int i = 0; i < p->n_nodes; i++) {
    int64_t macs = c8_node_macs(p->g, shapes, i);
    p->macs_total += macs;
    if (p->node_prec[i] == C8_PREC_INT8) p->macs_int8 += macs;
  }
}

static const char *origin_name(const c8_graph *original, int origin) {
  if (!original || origin < 0) return NULL;
  for (int i = 0; i < original->n_nodes; i++)
    if (original->nodes[i].origin == origin) return original->nodes[i].name;
  return NULL;
}

/* AMCT's record carries the weight scales and offsets per layer (--record); the JSON does too: those of the
 * DequantizeLinear feeding the weight input of the layer's node in the QDQ graph (one per output channel). */
static void weight_scales(cJSON *l, const c8_graph *qdq, const c8_node *n) {
  if (!qdq) return;
  for (int i = 0; i < qdq->n_nodes; i++) {
    const c8_node *m = &qdq->nodes[i];
    const c8_tensor *sw, *zw;
    if (strcmp(m->name, n->name) || m->n_in < 2 || !c8_dq_consts(qdq, m->in[1], &sw, &zw)) continue;
    cJSON *a = cJSON_AddArrayToObject(l, "weight_scales"), *z = cJSON_AddArrayToObject(l, "weight_offsets");
    for (int64_t k = 0; k < c8_numel(sw); k++)
      c8_json_attach(a, NULL, cJSON_CreateNumber(((const float *)sw->data)[k]));
    for (int64_t k = 0; k < c8_numel(zw); k++) c8_json_attach(z, NULL, cJSON_CreateNumber(c8_dq_zero_point(zw, k)));
    return;
  }
}

cJSON *c8_summary_json(const c8_qplan *p, const c8_calibration *cal, const c8_graph *original, const c8_graph *qdq) {
  c8_json_begin(); /* the caller checks c8_json_failed after adding its own members */
  cJSON *root = cJSON_CreateObject();
  if (!root) return NULL;
  cJSON_AddStringToObject(root, "calib8", CALIB8_VERSION);
  cJSON_AddStringToObject(root, "method", c8_threshold_method_name(p->opts.method));
  if (p->opts.method == C8_THRESHOLD_PERCENTILE) cJSON_AddNumberToObject(root, "percentile", p->opts.percentile);
  cJSON_AddStringToObject(root, "weights", p->opts.weights == C8_WEIGHTS_ADMM ? "admm" : "minmax");
  cJSON_AddStringToObject(root, "granularity", p->opts.granularity == C8_GRAN_PER_TENSOR ? "per-tensor"
                                               : p->opts.granularity == C8_GRAN_MIX    ? "mix"
                                                                                       : "per-channel");
  cJSON_AddStringToObject(root, "activations", p->opts.asymmetric ? "uint8 asymmetric" : "uint8 symmetric");
  cJSON_AddNumberToObject(root, "calibration_samples", (double)cal->samples);
  cJSON *macs = cJSON_AddObjectToObject(root, "macs");
  cJSON_AddNumberToObject(macs, "total", (double)p->macs_total);
  cJSON_AddNumberToObject(macs, "int8", (double)p->macs_int8);
  cJSON_AddNumberToObject(macs, "int8_fraction", p->macs_total ? (double)p->macs_int8 / (double)p->macs_total : 0.0);

  cJSON *tensors = cJSON_AddArrayToObject(root, "tensors");
  for (int v = 0; v < p->n_values; v++) {
    const c8_tensor_q *q = &p->tq[v];
    if (!q->quantized) continue;
    cJSON *t = c8_json_attach(tensors, NULL, cJSON_CreateObject()); /* attached first: never orphaned */
    cJSON_AddStringToObject(t, "name", p->g->values[v].name);
    cJSON_AddNumberToObject(t, "threshold", q->threshold);
    if (cal->hist[v]) {
      cJSON_AddNumberToObject(t, "min", cal->hist[v]->min);
      cJSON_AddNumberToObject(t, "max", cal->hist[v]->max);
    }
    cJSON_AddNumberToObject(t, "scale", q->scale);
    cJSON_AddNumberToObject(t, "zero_point", q->zero_point);
    cJSON_AddStringToObject(t, "dtype", calib8_dtype_name(q->dtype));
    if (q->group >= 0) cJSON_AddStringToObject(t, "shares_scale_with", p->g->values[q->group].name);
  }
  cJSON *layers = cJSON_AddArrayToObject(root, "layers");
  for (int i = 0; i < p->n_nodes; i++) {
    const c8_node *n = &p->g->nodes[i];
    cJSON *l = c8_json_attach(layers, NULL, cJSON_CreateObject());
    cJSON_AddStringToObject(l, "name", n->name);
    cJSON_AddStringToObject(l, "op", n->op_type);
    cJSON_AddStringToObject(l, "precision", p->node_prec[i] == C8_PREC_INT8 ? "INT8" : "F32");
    const char *o = origin_name(original, n->origin);
    if (o) cJSON_AddStringToObject(l, "origin", o);
    weight_scales(l, qdq, n);
    /* only when asked: a qtable's F16/BF16 row, kept in FP32 (calib8 writes no half precision) */
    if (p->opts.node_half && p->opts.node_half[i]) cJSON_AddStringToObject(l, "requested", "F16/BF16, kept F32");
  }
  if (qdq) {
    cJSON *map = cJSON_AddArrayToObject(root, "mapping");
    for (int i = 0; i < qdq->n_nodes; i++) {
      const c8_node *n = &qdq->nodes[i];
      cJSON *e = c8_json_attach(map, NULL, cJSON_CreateObject());
      cJSON_AddStringToObject(e, "node", n->name);
      cJSON_AddStringToObject(e, "op", n->op_type);
      const char *o = origin_name(original, n->origin);
      if (o) cJSON_AddStringToObject(e, "origin", o);
      else cJSON_AddNullToObject(e, "origin");
    }
  }
  return root;
}
