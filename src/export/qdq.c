#include "export/qdq.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export/bias-correct.h"
#include "ops/op.h"

#define OOM() c8_error(CALIB8_OUT_OF_MEMORY, "out of memory building the QDQ model")

static int add_const(c8_graph *g, const char *hint, c8_dtype dt, int rank, const int64_t *dims, const void *data) {
  int id = c8_graph_add_unique_value(g, hint);
  if (id < 0) return -1;
  c8_tensor t = {.dtype = dt, .rank = rank};
  for (int d = 0; d < rank; d++) t.dims[d] = dims[d];
  t.data = c8_alloc(c8_nbytes(&t));
  if (!t.data) return -1;
  memcpy(t.data, data, c8_nbytes(&t));
  c8_graph_set_const(g, id, t);
  return id;
}

/* scale and zero point constants for an activation tensor */
static c8_status act_qparams(c8_graph *g, const char *name, const c8_tensor_q *q, int *s_id, int *zp_id) {
  char hint[600];
  snprintf(hint, sizeof hint, "%s_scale", name);
  *s_id = add_const(g, hint, CALIB8_FLOAT, 0, NULL, &q->scale);
  snprintf(hint, sizeof hint, "%s_zero_point", name);
  if (q->dtype == CALIB8_UINT8) {
    uint8_t z = (uint8_t)q->zero_point;
    *zp_id = add_const(g, hint, CALIB8_UINT8, 0, NULL, &z);
  } else {
    int8_t z = (int8_t)q->zero_point;
    *zp_id = add_const(g, hint, CALIB8_INT8, 0, NULL, &z);
  }
  return *s_id < 0 || *zp_id < 0 ? OOM() : CALIB8_OK;
}

static int add_qdq_node(c8_graph *g, const char *op, const char *name, int x, int s, int zp, int y, int origin,
                        int axis) {
  int in[3] = {x, s, zp}, out[1] = {y};
  char nm[600];
  snprintf(nm, sizeof nm, "%s_%s", name, op);
  int k = c8_graph_add_node(g, nm, op, "", 3, in, 1, out);
  if (k < 0) return -1;
  g->nodes[k].origin = origin;
  if (axis >= 0) {
    c8_attr *a = c8_node_add_attr(&g->nodes[k], "axis", C8_ATTR_INT);
    if (!a) return -1;
    a->i = axis;
  }
  return k;
}

/* Quantizes a constant weight input of node k into int8 behind a DequantizeLinear.
 * Returns the per-channel (or single) weight scales through *scales (malloc'd) and *n_scales. */
static c8_status quantize_weight_input(c8_graph *g, int k, int input, int axis, c8_weight_method wm,
                                       float **scales_out, int64_t *n_scales) {
  int w = g->nodes[k].in[input];
  /* a copy: adding values below may move g->values (the data it points to stays put) */
  const c8_tensor W_copy = g->values[w].t, *W = &W_copy;
  if (axis >= W->rank) axis = -1;
  int64_t C = axis >= 0 ? W->dims[axis] : 1;
  float *scales = c8_malloc(sizeof(float) * (size_t)C);
  int8_t *q = c8_malloc((size_t)c8_numel(W) + 1);
  int8_t *zps = c8_calloc((size_t)C, 1);
  if (!scales || !q || !zps) {
    c8_mfree(scales);
    c8_mfree(q);
    c8_mfree(zps);
    return OOM();
  }
  c8_status st = c8_quantize_weights(W, axis, wm, scales, q);
  if (st) goto out;
  char hint[600];
  const char *wname = g->values[w].name;
  snprintf(hint, sizeof hint, "%s_quantized", wname);
  int wq = add_const(g, hint, CALIB8_INT8, W->rank, W->dims, q);
  int64_t cdims[1] = {C};
  snprintf(hint, sizeof hint, "%s_scale", wname);
  int s_id = add_const(g, hint, CALIB8_FLOAT, axis >= 0 ? 1 : 0, cdims, scales);
  snprintf(hint, sizeof hint, "%s_zero_point", wname);
  int zp_id = add_const(g, hint, CALIB8_INT8, axis >= 0 ? 1 : 0, cdims, zps);
  snprintf(hint, sizeof hint, "%s_dequantized", wname);
  int wd = c8_graph_add_unique_value(g, hint);
  if (wq < 0 || s_id < 0 || zp_id < 0 || wd < 0) {
    st = OOM();
    goto out;
  }
  char nm[600];
  snprintf(nm, sizeof nm, "%s_%s", g->nodes[k].name, g->values[w].name);
  if (add_qdq_node(g, "DequantizeLinear", nm, wq, s_id, zp_id, wd, g->nodes[k].origin, axis) < 0) {
    st = OOM();
    goto out;
  }
  g->nodes[k].in[input] = wd;
  *scales_out = scales;
  scales = NULL;
  *n_scales = C;
out:
  c8_mfree(scales);
  c8_mfree(q);
  c8_mfree(zps);
  return st;
}

/* int32 bias with scale s_x * s_w[c], behind a DequantizeLinear (axis 0 when per channel). */
static c8_status quantize_bias_input(c8_graph *g, int k, int input, float s_x, const float *s_w, int64_t n_sw) {
  int b = g->nodes[k].in[input];
  /* a copy: adding values below may move g->values (the data it points to stays put) */
  const c8_tensor B_copy = g->values[b].t, *B = &B_copy;
  int64_t n = c8_numel(B);
  if (B->rank != 1 || (n_sw != 1 && n_sw != n)) return CALIB8_OK; /* leave an unusual bias in float */
  int32_t *q = c8_malloc(sizeof(int32_t) * (size_t)n + 1);
  float *scales = c8_malloc(sizeof(float) * (size_t)n_sw);
  int32_t *zps = c8_calloc((size_t)n_sw, sizeof(int32_t));
  c8_status st = CALIB8_OK;
  if (!q || !scales || !zps) {
    st = OOM();
    goto out;
  }
  for (int64_t c = 0; c < n_sw; c++) scales[c] = s_x * s_w[c];
  for (int64_t i = 0; i < n; i++) {
    float s = scales[n_sw == 1 ? 0 : i];
    double v = s > 0 ? nearbyint((double)((float *)B->data)[i] / s) : 0.0;
    q[i] = (int32_t)fmax(-2147483648.0, fmin(2147483647.0, v));
  }
  char hint[600];
  const char *bname = g->values[b].name;
  snprintf(hint, sizeof hint, "%s_quantized", bname);
  int bq = add_const(g, hint, CALIB8_INT32, 1, B->dims, q);
  int64_t cdims[1] = {n_sw};
  snprintf(hint, sizeof hint, "%s_scale", bname);
  int s_id = add_const(g, hint, CALIB8_FLOAT, n_sw > 1 ? 1 : 0, cdims, scales);
  snprintf(hint, sizeof hint, "%s_zero_point", bname);
  int zp_id = add_const(g, hint, CALIB8_INT32, n_sw > 1 ? 1 : 0, cdims, zps);
  snprintf(hint, sizeof hint, "%s_dequantized", bname);
  int bd = c8_graph_add_unique_value(g, hint);
  if (bq < 0 || s_id < 0 || zp_id < 0 || bd < 0) {
    st = OOM();
    goto out;
  }
  char nm[600];
  snprintf(nm, sizeof nm, "%s_%s", g->nodes[k].name, bname);
  if (add_qdq_node(g, "DequantizeLinear", nm, bq, s_id, zp_id, bd, g->nodes[k].origin, n_sw > 1 ? 0 : -1) < 0) {
    st = OOM();
    goto out;
  }
  g->nodes[k].in[input] = bd;
out:
  c8_mfree(q);
  c8_mfree(scales);
  c8_mfree(zps);
  return st;
}

static int weight_axis(const c8_graph *g, const c8_node *n, c8_granularity gran, bool *per_channel) {
  *per_channel = false;
  if (gran == C8_GRAN_PER_TENSOR || g->opset < 13) return -1; /* per-axis DequantizeLinear needs opset 13 */
  const c8_op_def *d = c8_node_op(n);
  if (d->weight_gran == C8_WGRAN_TENSOR || (gran == C8_GRAN_MIX && d->weight_gran != C8_WGRAN_CHANNEL_MIX)) return -1;
  int axis = c8_op_axis(d->weight_axis, n);
  if (axis < 0) return -1; /* a last axis has no fixed index here; no op that takes per-channel weights has one */
  *per_channel = true;
  return axis;
}

c8_status c8_qdq_build(const c8_qplan *p, c8_graph **out) {
  const c8_graph *src = p->g;
  c8_graph *g = c8_graph_clone(src);
  if (!g) return OOM();
  /* Models exported at older opsets are written at 13: QuantizeLinear/DequantizeLinear exist from 10 and take a
     per-channel axis from 13. Node and value ids of the original graph are kept (rewrites only append). */
  c8_status st = c8_graph_upgrade_opset(g, 13);
  if (st) {
    c8_graph_destroy(g);
    return c8_error_prefix(st, "the model (opset %d) cannot be written at opset 13", src->opset);
  }
  int n_orig_nodes = p->n_nodes, n_orig_values = p->n_values; /* the plan's ids: the upgrade appended after them */

  /* weights and biases of INT8 compute nodes */
  for (int k = 0; k < n_orig_nodes; k++) {
    if (p->node_prec[k] != C8_PREC_INT8 || !c8_qrole_is_compute(c8_node_op(&g->nodes[k])->qrole)) continue;
    int w = g->nodes[k].in[1];
    if (!g->values[w].is_const) continue; /* activation x activation MatMul: both inputs get QDQ below */
    bool per_channel;
    int axis = weight_axis(g, &g->nodes[k], p->opts.granularity, &per_channel);
    float *sw = NULL;
    int64_t n_sw = 0;
    int x = g->nodes[k].in[0];
    C8_TRY(quantize_weight_input(g, k, 1, axis, p->opts.weights, &sw, &n_sw));
    if (p->opts.bias_correction && p->x_mean) {
      bool corrected; /* before the bias is quantized: the int32 bias carries the correction */
      if ((st = c8_bias_correct_node(g, k, w, axis, p->opts.weights, &p->x_mean[x], &corrected))) {
        c8_mfree(sw);
        goto fail;
      }
    }
    bool has_bias = g->nodes[k].n_in > 2 && g->nodes[k].in[2] >= 0 && g->values[g->nodes[k].in[2]].is_const &&
                    g->values[g->nodes[k].in[2]].t.dtype == CALIB8_FLOAT;
    /* Gemm's C is scaled by beta (the others have no beta); it must be 1-D [N]: checked below */
    bool bias_ok = has_bias && c8_attr_float(&g->nodes[k], "beta", 1.0f) == 1.0f;
    if (bias_ok) st = quantize_bias_input(g, k, 2, p->tq[x].scale, sw, n_sw);
    c8_mfree(sw);
    if (st) goto fail;
  }

  /* activations: one Q/DQ pair per int8 tensor */
  for (int v = 0; v < n_orig_values; v++) {
    const c8_tensor_q *q = &p->tq[v];
    if (!q->quantized) continue;
    char name[512], hint[600];
    snprintf(name, sizeof name, "%s", g->values[v].name);
    int s_id, zp_id;
    C8_TRY(act_qparams(g, name, q, &s_id, &zp_id));
    snprintf(hint, sizeof hint, "%s_quantized", name);
    int vq = c8_graph_add_unique_value(g, hint);
    if (vq < 0) goto oom;
    int producer = c8_graph_producer(g, v);
    int origin = producer >= 0 ? g->nodes[producer].origin : -1;
    if (producer < 0) {
      /* a graph input: readers switch to the dequantized copy */
      snprintf(hint, sizeof hint, "%s_dequantized", name);
      int vd = c8_graph_add_unique_value(g, hint);
      if (vd < 0) goto oom;
      for (int i = 0; i < g->n_nodes; i++)
        for (int j = 0; j < g->nodes[i].n_in; j++)
          if (g->nodes[i].in[j] == v) g->nodes[i].in[j] = vd;
      if (add_qdq_node(g, "QuantizeLinear", name, v, s_id, zp_id, vq, origin, -1) < 0) goto oom;
      if (add_qdq_node(g, "DequantizeLinear", name, vq, s_id, zp_id, vd, origin, -1) < 0) goto oom;
    } else {
      /* the producer writes a float copy; the pair's output keeps the name */
      snprintf(hint, sizeof hint, "%s_float", name);
      int vf = c8_graph_add_unique_value(g, hint);
      if (vf < 0) goto oom;
      for (int j = 0; j < g->nodes[producer].n_out; j++)
        if (g->nodes[producer].out[j] == v) g->nodes[producer].out[j] = vf;
      if (add_qdq_node(g, "QuantizeLinear", name, vf, s_id, zp_id, vq, origin, -1) < 0) goto oom;
      if (add_qdq_node(g, "DequantizeLinear", name, vq, s_id, zp_id, v, origin, -1) < 0) goto oom;
    }
  }
  if ((st = c8_graph_toposort(g))) goto fail;
  *out = g;
  return CALIB8_OK;
oom:
  st = OOM();
fail:
  c8_graph_destroy(g);
  return st;
}
