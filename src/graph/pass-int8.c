/* Integer folding (issue 13): DequantizeLinear -> Conv -> [Relu | Clip] -> QuantizeLinear becomes one
 * com.calib8 QConv that reads the 8-bit input and writes the 8-bit output, so activations stay 8-bit
 * between integer layers (the DequantizeLinear left in front of a folded Conv has no reader and goes with
 * the dead nodes). Accepted: the activation DequantizeLinear per tensor (uint8 or int8, any zero point); the
 * weights an int8 initializer behind a DequantizeLinear per tensor or per output channel (axis 0) with zero
 * points 0; the bias absent, a float initializer, or an int32 initializer behind a DequantizeLinear (its scale
 * x_scale * w_scale as calib8 and ONNX Runtime write it, else it is rounded to that scale); Relu, or Clip with
 * constant bounds. That covers calib8's QDQ export, ONNX Runtime's quantize_static QDQ format and
 * TensorRT-style symmetric int8 (zero points 0, int8 activations). Everything else is left as it is and runs
 * as fake quantization. The exported model never sees this pass: sessions apply it to their own copy. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "ops/op.h"

static const c8_node *producer(const c8_graph *g, int v) {
  const int p = v >= 0 ? c8_graph_producer(g, v) : -1;
  return p >= 0 ? &g->nodes[p] : NULL;
}

static bool is_op(const c8_node *n, const char *op) {
  return n && strcmp(n->op_type, op) == 0 && (n->domain[0] == 0 || strcmp(n->domain, "ai.onnx") == 0);
}

static const c8_tensor *konst(const c8_graph *g, int v) {
  return v >= 0 && g->values[v].is_const && g->values[v].t.data ? &g->values[v].t : NULL;
}

/* Read only by one node, and not a graph output. */
static bool single_use(const c8_graph *g, int v) { return c8_graph_use_count(g, v) == 1 && !c8_graph_is_output(g, v); }

static bool is_8bit(c8_dtype t) { return t == CALIB8_UINT8 || t == CALIB8_INT8; }

static bool all_zero(const c8_tensor *t) {
  for (int64_t i = 0, n = c8_numel(t); i < n; i++) {
    int64_t v = t->dtype == CALIB8_INT8 ? ((const int8_t *)t->data)[i]
                : t->dtype == CALIB8_UINT8 ? ((const uint8_t *)t->data)[i]
                : t->dtype == CALIB8_INT32 ? ((const int32_t *)t->data)[i] : 1;
    if (v) return false;
  }
  return true;
}

/* An activation DequantizeLinear per tensor with constant parameters. */
static bool act_dq(const c8_graph *g, const c8_node *d) {
  if (!is_op(d, "DequantizeLinear") || d->n_in < 2) return false;
  const c8_tensor *s = konst(g, d->in[1]), *z = d->n_in > 2 ? konst(g, d->in[2]) : NULL;
  if (!s || s->dtype != CALIB8_FLOAT || c8_numel(s) != 1) return false;
  if (d->n_in > 2 && d->in[2] >= 0 && (!z || !is_8bit(z->dtype) || c8_numel(z) != 1)) return false;
  return true;
}

static int add_const(c8_graph *g, const char *hint, c8_tensor t) {
  const int id = c8_graph_add_unique_value(g, hint);
  if (id >= 0) c8_graph_set_const(g, id, t);
  return id;
}

/* The fused activation's bounds as QConv/QAdd attributes (NAN: absent). */
static c8_status set_act(c8_node *n, float amin, float amax) {
  if (!isnan(amin)) {
    c8_attr *a = c8_node_add_attr(n, "act_min", C8_ATTR_FLOAT);
    if (!a) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory folding node '%s'", n->name);
    a->f = amin;
  }
  if (!isnan(amax)) {
    c8_attr *a = c8_node_add_attr(n, "act_max", C8_ATTR_FLOAT);
    if (!a) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory folding node '%s'", n->name);
    a->f = amax;
  }
  return CALIB8_OK;
}

/* Adds the folded node com.calib8 `op`, named "<base>_int8", reading ins and writing out (the QuantizeLinear's
   output), with origin and the fused activation's bounds; *out_k its index. The name is copied first: `base` may
   point into a node that moves when the graph grows. */
static c8_status add_folded(c8_graph *g, const char *base, int origin, const char *op, int n_in, const int *ins,
                            int out, float amin, float amax, int *out_k) {
  char hint[512];
  snprintf(hint, sizeof hint, "%s_int8", base);
  const int k = c8_graph_add_node(g, hint, op, "com.calib8", n_in, ins, 1, &out);
  if (k < 0) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory folding node '%s'", hint);
  c8_node *n = &g->nodes[k];
  n->origin = origin;
  n->def = c8_op_find("com.calib8", op);
  *out_k = k;
  return set_act(n, amin, amax);
}

/* Removes up to three nodes by index (-1: none), highest index first. */
static void remove3(c8_graph *g, int a, int b, int c) {
  int del[3] = {a, b, c};
  for (int i = 0; i < 3; i++)
    for (int j = i + 1; j < 3; j++)
      if (del[j] > del[i]) {
        const int t = del[i];
        del[i] = del[j], del[j] = t;
      }
  for (int i = 0; i < 3; i++)
    if (del[i] >= 0) c8_graph_remove_node(g, del[i]);
}

/* DequantizeLinear(a), DequantizeLinear(b) -> Add -> [Relu | Clip] -> QuantizeLinear (a residual connection)
   becomes com.calib8 QAdd on the 8-bit tensors, when every DequantizeLinear and the QuantizeLinear are per
   tensor with constant scales and zero points (the zero points give the 8-bit types). */
static c8_status fold_add(c8_graph *g, int qi, const c8_node *add, const c8_node *act, float amin, float amax,
                          bool *done) {
  const c8_node *q = &g->nodes[qi];
  if (add->n_in != 2 || q->n_in < 3 || q->in[2] < 0) return CALIB8_OK;
  const c8_node *da = producer(g, add->in[0]), *db = producer(g, add->in[1]);
  if (!act_dq(g, da) || !act_dq(g, db) || da->n_in < 3 || da->in[2] < 0 || db->n_in < 3 || db->in[2] < 0)
    return CALIB8_OK;
  const int ins[8] = {da->in[0], da->in[1], da->in[2], db->in[0], db->in[1], db->in[2], q->in[1], q->in[2]};
  const int out = q->out[0], add_i = (int)(add - g->nodes), act_i = act ? (int)(act - g->nodes) : -1;
  int k;
  c8_status st = add_folded(g, add->name, add->origin, "QAdd", 8, ins, out, amin, amax, &k);
  if (st) return st;
  remove3(g, qi, act_i, add_i);
  *done = true;
  return CALIB8_OK;
}

/* DequantizeLinear -> Relu | Clip -> QuantizeLinear becomes com.calib8 QRequant on the 8-bit tensors (per
   tensor, constant scales and zero points). */
static c8_status fold_requant(c8_graph *g, int qi, const c8_node *dq, const c8_node *act, float amin, float amax,
                              bool *done) {
  const c8_node *q = &g->nodes[qi];
  if (q->n_in < 3 || q->in[2] < 0 || !act_dq(g, dq) || dq->n_in < 3 || dq->in[2] < 0) return CALIB8_OK;
  const int ins[5] = {dq->in[0], dq->in[1], dq->in[2], q->in[1], q->in[2]};
  const int out = q->out[0], act_i = (int)(act - g->nodes);
  int k;
  c8_status st = add_folded(g, act->name, act->origin, "QRequant", 5, ins, out, amin, amax, &k);
  if (st) return st;
  remove3(g, qi, act_i, -1);
  *done = true;
  return CALIB8_OK;
}

/* Tries to fold the QuantizeLinear at node index qi; *done says whether it did. */
static c8_status fold_one(c8_graph *g, int qi, bool *done) {
  *done = false;
  const c8_node *q = &g->nodes[qi];
  if (!is_op(q, "QuantizeLinear") || q->n_in < 2) return CALIB8_OK;
  const c8_tensor *ys = konst(g, q->in[1]), *yz = q->n_in > 2 ? konst(g, q->in[2]) : NULL;
  if (!ys || ys->dtype != CALIB8_FLOAT || c8_numel(ys) != 1 || !(((const float *)ys->data)[0] > 0)) return CALIB8_OK;
  if (q->n_in > 2 && q->in[2] >= 0 && (!yz || !is_8bit(yz->dtype) || c8_numel(yz) != 1)) return CALIB8_OK;
  int v = q->in[0];
  if (!single_use(g, v)) return CALIB8_OK;
  const c8_node *p = producer(g, v), *act = NULL;
  float amin = NAN, amax = NAN;
  if (is_op(p, "Relu")) {
    act = p, amin = 0.0f;
  } else if (is_op(p, "Clip")) {
    act = p;
    if (p->n_in > 1 && p->in[1] >= 0) {
      const c8_tensor *t = konst(g, p->in[1]);
      if (!t || t->dtype != CALIB8_FLOAT || c8_numel(t) != 1) return CALIB8_OK;
      amin = ((const float *)t->data)[0];
    } else if (c8_node_attr(p, "min")) amin = c8_attr_float(p, "min", 0.0f);
    if (p->n_in > 2 && p->in[2] >= 0) {
      const c8_tensor *t = konst(g, p->in[2]);
      if (!t || t->dtype != CALIB8_FLOAT || c8_numel(t) != 1) return CALIB8_OK;
      amax = ((const float *)t->data)[0];
    } else if (c8_node_attr(p, "max")) amax = c8_attr_float(p, "max", 0.0f);
  }
  if (act) {
    v = act->in[0];
    if (!single_use(g, v)) return CALIB8_OK;
    p = producer(g, v);
  }
  if (is_op(p, "Add")) return fold_add(g, qi, p, act, amin, amax, done);
  if (act && is_op(p, "DequantizeLinear")) return fold_requant(g, qi, p, act, amin, amax, done);
  if (!is_op(p, "Conv") || p->n_in < 2) return CALIB8_OK;
  const c8_node *conv = p;
  const c8_node *dx = producer(g, conv->in[0]), *dw = producer(g, conv->in[1]);
  if (!act_dq(g, dx)) return CALIB8_OK;
  const c8_tensor *xz = dx->n_in > 2 ? konst(g, dx->in[2]) : NULL;
  if (!xz && yz && yz->dtype == CALIB8_INT8) return CALIB8_OK; /* QConv's zero-point-less input means uint8 */
  /* weights */
  if (!is_op(dw, "DequantizeLinear") || dw->n_in < 2) return CALIB8_OK;
  const c8_tensor *w = konst(g, dw->in[0]), *wsc = konst(g, dw->in[1]), *wz = dw->n_in > 2 ? konst(g, dw->in[2]) : NULL;
  if (!w || w->dtype != CALIB8_INT8 || w->rank < 3 || !wsc || wsc->dtype != CALIB8_FLOAT) return CALIB8_OK;
  if (dw->n_in > 2 && dw->in[2] >= 0 && (!wz || !all_zero(wz))) return CALIB8_OK;
  const int64_t m = w->dims[0];
  if (c8_numel(wsc) != 1 && !(wsc->rank == 1 && wsc->dims[0] == m && c8_attr_int(dw, "axis", 1) == 0))
    return CALIB8_OK;
  /* bias, as int32 in units of x_scale * w_scale[m] */
  const float xs = ((const float *)g->values[dx->in[1]].t.data)[0];
  c8_tensor bias = {.dtype = CALIB8_INT32, .rank = 1, .dims = {m}};
  bias.data = c8_alloc((size_t)m * sizeof(int32_t));
  if (!bias.data) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory folding node '%s'", conv->name);
  int32_t *bi = bias.data;
  if (conv->n_in > 2 && conv->in[2] >= 0) {
    const c8_node *db = producer(g, conv->in[2]);
    const c8_tensor *bf = konst(g, conv->in[2]);
    const c8_tensor *bq = db && is_op(db, "DequantizeLinear") ? konst(g, db->in[0]) : NULL;
    const c8_tensor *bs = bq && db->n_in > 1 ? konst(g, db->in[1]) : NULL;
    const c8_tensor *bz = bq && db->n_in > 2 ? konst(g, db->in[2]) : NULL;
    bool ok = false;
    if (bq && bq->dtype == CALIB8_INT32 && c8_numel(bq) == m && bs && bs->dtype == CALIB8_FLOAT &&
        (c8_numel(bs) == 1 || c8_numel(bs) == m) && (!bz || all_zero(bz))) {
      ok = true;
      for (int64_t i = 0; i < m; i++) {
        const float ws = ((const float *)wsc->data)[c8_numel(wsc) == 1 ? 0 : i];
        const float sb = ((const float *)bs->data)[c8_numel(bs) == 1 ? 0 : i];
        const int32_t b = ((const int32_t *)bq->data)[i];
        const double r = (double)b * sb / ((double)xs * ws);
        if (sb == xs * ws) bi[i] = b;
        else if (fabs(r) < 2e9) bi[i] = (int32_t)lrint(r);
        else ok = false;
      }
    } else if (bf && bf->dtype == CALIB8_FLOAT && c8_numel(bf) == m) {
      ok = true;
      for (int64_t i = 0; i < m; i++) {
        const float ws = ((const float *)wsc->data)[c8_numel(wsc) == 1 ? 0 : i];
        const double r = (double)((const float *)bf->data)[i] / ((double)xs * ws);
        if (fabs(r) < 2e9) bi[i] = (int32_t)lrint(r);
        else ok = false;
      }
    }
    if (!ok) {
      c8_free(bias.data);
      return CALIB8_OK;
    }
  } else {
    memset(bi, 0, (size_t)m * sizeof(int32_t));
  }
  char hint[512];
  snprintf(hint, sizeof hint, "%s_bias_int32", conv->name);
  const int bias_id = add_const(g, hint, bias);
  if (bias_id < 0) {
    c8_free(bias.data);
    return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory folding node '%s'", conv->name);
  }
  /* indices may move as nodes are added: keep ids and names */
  const int conv_i = (int)(conv - g->nodes), act_i = act ? (int)(act - g->nodes) : -1;
  const int ins[9] = {dx->in[0], dx->in[1], dx->n_in > 2 ? dx->in[2] : -1, dw->in[0], dw->in[1],
                      dw->n_in > 2 ? dw->in[2] : -1, q->in[1], q->n_in > 2 ? q->in[2] : -1, bias_id};
  const int out = q->out[0];
  snprintf(hint, sizeof hint, "%s_int8", conv->name);
  int k;
  c8_status st = add_folded(g, conv->name, conv->origin, "QConv", 9, ins, out, amin, amax, &k);
  if (st) return st;
  c8_node *nq = &g->nodes[k];
  const c8_node *cv = &g->nodes[conv_i];
  for (int a = 0; a < cv->n_attr; a++) {
    const c8_attr *src = &cv->attr[a];
    c8_attr *dst = c8_node_add_attr(nq, src->name, src->type);
    if (!dst) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory folding node '%s'", hint);
    cv = &g->nodes[conv_i];
    src = &cv->attr[a];
    dst->i = src->i, dst->f = src->f;
    if (src->type == C8_ATTR_INTS) {
      dst->ints = c8_malloc(sizeof(int64_t) * (size_t)(src->n ? src->n : 1));
      if (!dst->ints) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory folding node '%s'", hint);
      memcpy(dst->ints, src->ints, sizeof(int64_t) * (size_t)src->n);
      dst->n = src->n;
    } else if (src->type == C8_ATTR_STRING) {
      dst->s = c8_strdup(src->s ? src->s : "");
      if (!dst->s) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory folding node '%s'", hint);
    }
  }
  remove3(g, qi, act_i, conv_i);
  *done = true;
  return CALIB8_OK;
}

c8_status c8_graph_fold_int8(c8_graph *g, int *folded) {
  int n = 0;
  for (int i = 0; i < g->n_nodes;) {
    bool done;
    c8_status st = fold_one(g, i, &done);
    if (st) return st;
    if (done) {
      n++;
      i = 0; /* indices moved */
    } else {
      i++;
    }
  }
  if (folded) *folded = n;
  if (n == 0) return CALIB8_OK;
  c8_status st = c8_graph_toposort(g);
  if (!st) st = c8_graph_remove_dead(g);
  return st;
}
