#include "evaluate/compare.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/tensor.h"
#include "kernels/quant/quant.h"
#include "ops/op.h"

/* How a shared tensor made by a DequantizeLinear is replaced in the isolated run. */
typedef struct fq_params {
  bool on;
  int axis;   /* -1: per tensor */
  int64_t ch; /* scale count */
  float *q_scale, *dq_scale;
  int32_t *q_zp, *dq_zp;
  calib8_dtype qtype;
} fq_params;

typedef struct fp32_copy {
  void *data;
  size_t cap, bytes;
  c8_tensor shape; /* dtype and dims of the copy (data unused) */
  int64_t batch;   /* run number the copy belongs to */
} fp32_copy;

struct c8_compare {
  calib8_session *fp32, *int8;
  const c8_graph *g32, *g8;
  c8_compare_row *rows;
  int n_rows;
  int *row_of_fp32; /* fp32 value id -> row, or -1 */
  int *row_of_int8; /* int8 value id -> row, or -1 */
  fp32_copy *copy;  /* per row */
  fq_params *fq;    /* per row */
  int64_t run;      /* batches run */
  int64_t batch_n;  /* leading dimension of the current batch */
  int real_rows;
  bool isolated;
};

static bool is_dq(const c8_node *n) { return c8_node_op(n) == &c8_op_dequantize_linear; }
static bool is_q(const c8_node *n) { return c8_node_op(n) == &c8_op_quantize_linear; }

void c8_fake_quant(const float *x, float *y, int64_t outer, int64_t ch, int64_t inner, const float *q_scale,
                   const float *dq_scale, const int32_t *q_zp, const int32_t *dq_zp, calib8_dtype qtype) {
  const int32_t lo = qtype == CALIB8_INT8 ? -128 : 0, hi = qtype == CALIB8_INT8 ? 127 : 255;
  for (int64_t o = 0; o < outer; o++)
    for (int64_t c = 0; c < ch; c++) {
      const float qs = q_scale[c], ds = dq_scale[c];
      const int32_t qz = q_zp[c], dz = dq_zp[c];
      const int64_t base = (o * ch + c) * inner;
      for (int64_t i = 0; i < inner; i++) {
        y[base + i] = (float)(c8_quantize_one(x[base + i] / qs, qz, lo, hi) - dz) * ds; /* as QuantizeLinear */
      }
    }
}

/* Reads a constant scale / zero point of `n` values (1 broadcasts). Returns false when not constant. */
static bool const_params(const c8_graph *g, const c8_node *node, int64_t n, float *scale, int32_t *zp,
                         calib8_dtype *zp_type) {
  int s_id = node->n_in > 1 ? node->in[1] : -1, z_id = node->n_in > 2 ? node->in[2] : -1;
  if (s_id < 0 || !g->values[s_id].is_const || g->values[s_id].t.dtype != CALIB8_FLOAT) return false;
  const c8_tensor *s = &g->values[s_id].t;
  int64_t ns = c8_numel(s);
  if (ns != 1 && ns != n) return false;
  for (int64_t c = 0; c < n; c++) scale[c] = (float)c8_get_f64(s, ns == 1 ? 0 : c);
  *zp_type = CALIB8_UINT8;
  if (z_id < 0) {
    for (int64_t c = 0; c < n; c++) zp[c] = 0;
    return true;
  }
  const c8_tensor *z = &g->values[z_id].t;
  if (!g->values[z_id].is_const || (z->dtype != CALIB8_INT8 && z->dtype != CALIB8_UINT8)) return false;
  int64_t nz = c8_numel(z);
  if (nz != 1 && nz != n) return false;
  *zp_type = z->dtype;
  for (int64_t c = 0; c < n; c++) zp[c] = (int32_t)c8_get_i64(z, nz == 1 ? 0 : c);
  return true;
}

static int64_t scale_count(const c8_graph *g, const c8_node *node) {
  int s_id = node->n_in > 1 ? node->in[1] : -1;
  return s_id >= 0 && g->values[s_id].is_const ? c8_numel(&g->values[s_id].t) : -1;
}

/* Parameters of the Q/DQ pair in front of a shared tensor made by a DequantizeLinear. */
static c8_status setup_fq(const c8_graph *g, int dq_node, fq_params *fq) {
  const c8_node *dq = &g->nodes[dq_node];
  memset(fq, 0, sizeof *fq);
  if (dq->in[0] < 0 || g->values[dq->in[0]].is_const) return CALIB8_OK;
  int qn = c8_graph_producer(g, dq->in[0]);
  const c8_node *q = qn >= 0 && is_q(&g->nodes[qn]) ? &g->nodes[qn] : dq; /* no Q in front: DQ's own */
  int64_t n = scale_count(g, dq);
  if (n < 1 || (scale_count(g, q) != n && scale_count(g, q) != 1)) return CALIB8_OK;
  fq->ch = n;
  fq->axis = n > 1 ? (int)c8_attr_int(dq, "axis", 1) : -1;
  fq->q_scale = c8_malloc(sizeof(float) * (size_t)n);
  fq->dq_scale = c8_malloc(sizeof(float) * (size_t)n);
  fq->q_zp = c8_malloc(sizeof(int32_t) * (size_t)n);
  fq->dq_zp = c8_malloc(sizeof(int32_t) * (size_t)n);
  if (!fq->q_scale || !fq->dq_scale || !fq->q_zp || !fq->dq_zp)
    return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory preparing the comparison");
  calib8_dtype qt, dt;
  if (!const_params(g, q, n, fq->q_scale, fq->q_zp, &qt) || !const_params(g, dq, n, fq->dq_scale, fq->dq_zp, &dt))
    return CALIB8_OK;
  fq->qtype = qt;
  fq->on = true;
  return CALIB8_OK;
}

static void free_fq(fq_params *fq) {
  c8_mfree(fq->q_scale);
  c8_mfree(fq->dq_scale);
  c8_mfree(fq->q_zp);
  c8_mfree(fq->dq_zp);
}

void c8_compare_destroy(c8_compare *c) {
  if (!c) return;
  for (int r = 0; r < c->n_rows; r++) {
    if (c->copy) c8_free(c->copy[r].data);
    if (c->fq) free_fq(&c->fq[r]);
  }
  c8_mfree(c->rows);
  c8_mfree(c->row_of_fp32);
  c8_mfree(c->row_of_int8);
  c8_mfree(c->copy);
  c8_mfree(c->fq);
  c8_mfree(c);
}

c8_status c8_compare_create(calib8_session *fp32, calib8_session *int8, c8_compare **out) {
  c8_compare *c = c8_calloc(1, sizeof *c);
  c8_status st = CALIB8_OK;
  if (!c) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory preparing the comparison");
  c->fp32 = fp32;
  c->int8 = int8;
  c->g32 = fp32->g;
  c->g8 = int8->g;
  const c8_graph *a = c->g32, *b = c->g8;
  c->row_of_fp32 = c8_malloc(sizeof(int) * (size_t)(a->n_values + 1));
  c->row_of_int8 = c8_malloc(sizeof(int) * (size_t)(b->n_values + 1));
  c->rows = c8_calloc((size_t)a->n_values + 1, sizeof *c->rows);
  if (!c->row_of_fp32 || !c->row_of_int8 || !c->rows) goto oom;
  for (int v = 0; v < a->n_values; v++) c->row_of_fp32[v] = -1;
  for (int v = 0; v < b->n_values; v++) c->row_of_int8[v] = -1;
  for (int k = 0; k < a->n_nodes; k++) {
    const c8_node *n = &a->nodes[k];
    for (int j = 0; j < n->n_out; j++) {
      int v = n->out[j];
      if (v < 0 || a->values[v].is_const || c->row_of_fp32[v] >= 0) continue;
      int w = c8_graph_find_value(b, a->values[v].name);
      if (w < 0 || b->values[w].is_const || c8_graph_producer(b, w) < 0 || c->row_of_int8[w] >= 0) continue;
      c8_compare_row *r = &c->rows[c->n_rows];
      r->name = a->values[v].name;
      r->op = n->op_type;
      r->node = n->name;
      r->fp32_value = v;
      r->int8_value = w;
      c8_similarity_init(&r->acc);
      c8_similarity_init(&r->iso);
      c->row_of_fp32[v] = c->row_of_int8[w] = c->n_rows++;
    }
  }
  if (c->n_rows == 0) {
    c8_compare_destroy(c);
    return c8_error(CALIB8_INVALID_ARGUMENT,
                    "the two models share no tensor names: compare pairs the outputs of nodes by name (a QDQ model "
                    "keeps the FP32 names, as calib8 quantize and ONNX Runtime's quantizer write them)");
  }
  c->copy = c8_calloc((size_t)c->n_rows, sizeof *c->copy);
  c->fq = c8_calloc((size_t)c->n_rows, sizeof *c->fq);
  if (!c->copy || !c->fq) goto oom;
  for (int r = 0; r < c->n_rows; r++) {
    int p = c8_graph_producer(b, c->rows[r].int8_value);
    if (p >= 0 && is_dq(&b->nodes[p]) && (st = setup_fq(b, p, &c->fq[r]))) goto fail;
  }
  *out = c;
  return CALIB8_OK;
oom:
  st = c8_error(CALIB8_OUT_OF_MEMORY, "out of memory preparing the comparison");
fail:
  c8_compare_destroy(c);
  return st;
}

int c8_compare_row_count(const c8_compare *c) { return c->n_rows; }
const c8_compare_row *c8_compare_row_at(const c8_compare *c, int i) {
  return i >= 0 && i < c->n_rows ? &c->rows[i] : NULL;
}

/* FP32 run: keep a copy of every shared float tensor for this batch. */
static c8_status on_fp32_step(void *user, const c8_graph *g, const c8_step *step) {
  c8_compare *c = user;
  const c8_node *node = &g->nodes[step->node];
  for (int j = 0; j < step->n_out; j++) {
    int v = node->out[j];
    const c8_tensor *t = step->out[j];
    if (v < 0 || !t || t->dtype != CALIB8_FLOAT || !t->data) continue;
    int r = c->row_of_fp32[v];
    if (r < 0) continue;
    fp32_copy *cp = &c->copy[r];
    size_t bytes = c8_nbytes(t);
    if (bytes > cp->cap || !cp->data) {
      c8_free(cp->data);
      cp->data = c8_alloc(bytes ? bytes : 1);
      cp->cap = cp->data ? bytes : 0;
      if (!cp->data) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory keeping FP32 tensor '%s'", g->values[v].name);
    }
    memcpy(cp->data, t->data, bytes);
    cp->bytes = bytes;
    cp->shape = *t;
    cp->shape.data = NULL;
    cp->batch = c->run;
  }
  return CALIB8_OK;
}

/* Elements of a tensor that belong to the real (unpadded) samples of the batch. */
static int64_t real_elems(const c8_compare *c, const c8_tensor *t) {
  int64_t n = c8_numel(t);
  if (c->real_rows < c->batch_n && t->rank >= 1 && t->dims[0] == c->batch_n && c->batch_n > 0)
    return n / c->batch_n * c->real_rows;
  return n;
}

/* INT8 runs: compare each shared tensor with its FP32 copy; in the isolated run, then replace it. */
static c8_status on_int8_step(void *user, const c8_graph *g, const c8_step *step) {
  c8_compare *c = user;
  const c8_node *node = &g->nodes[step->node];
  for (int j = 0; j < step->n_out; j++) {
    int v = node->out[j];
    c8_tensor *t = step->out[j];
    if (v < 0 || !t || !t->data) continue;
    int r = c->row_of_int8[v];
    if (r < 0) continue;
    c8_compare_row *row = &c->rows[r];
    const fp32_copy *cp = &c->copy[r];
    if (cp->batch != c->run || !cp->data) continue; /* not a float tensor in the FP32 run */
    if (t->dtype != CALIB8_FLOAT || c8_numel(t) != c8_numel(&cp->shape)) {
      row->mismatch = true;
      continue;
    }
    row->seen = true;
    c8_similarity_add(c->isolated ? &row->iso : &row->acc, cp->data, t->data, real_elems(c, t));
    if (!c->isolated) continue;
    const fq_params *fq = &c->fq[r];
    int64_t n = c8_numel(t);
    if (fq->on) {
      int64_t outer = 1, ch = 1, inner = n;
      if (fq->axis >= -t->rank && fq->axis < t->rank && fq->ch > 1) {
        int ax = fq->axis < 0 ? fq->axis + t->rank : fq->axis;
        if (t->dims[ax] == fq->ch) {
          outer = 1, inner = 1, ch = fq->ch;
          for (int d = 0; d < ax; d++) outer *= t->dims[d];
          for (int d = ax + 1; d < t->rank; d++) inner *= t->dims[d];
        }
      }
      if (ch == fq->ch) {
        c8_fake_quant(cp->data, t->data, outer, ch, inner, fq->q_scale, fq->dq_scale, fq->q_zp, fq->dq_zp, fq->qtype);
        continue;
      }
    }
    memcpy(t->data, cp->data, (size_t)n * sizeof(float));
  }
  return CALIB8_OK;
}

c8_status c8_compare_run(c8_compare *c, int n_inputs, const char *const *names, const calib8_tensor *inputs, int rows) {
  c8_status st;
  c->run++;
  c->batch_n = n_inputs > 0 && inputs[0].rank > 0 ? inputs[0].dims[0] : 1;
  c->real_rows = rows > 0 && rows <= c->batch_n ? rows : (int)c->batch_n;
  c8_session_set_observer(c->fp32, on_fp32_step, c);
  st = calib8_session_run(c->fp32, n_inputs, names, inputs);
  c8_session_set_observer(c->fp32, NULL, NULL);
  if (st) return st;
  c8_session_set_observer(c->int8, on_int8_step, c);
  c->isolated = false;
  st = calib8_session_run(c->int8, n_inputs, names, inputs);
  if (!st) {
    c->isolated = true;
    st = calib8_session_run(c->int8, n_inputs, names, inputs);
  }
  c8_session_set_observer(c->int8, NULL, NULL);
  return st;
}
