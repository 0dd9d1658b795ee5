#include "export/tables.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "data/npy.h"
#include "ops/op.h"

/* A growable text buffer: artifacts are built in memory, then written atomically. */
typedef struct {
  char *s;
  size_t n, cap;
  bool oom;
} sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#include <stdarg.h>
static void sb_printf(sbuf *b, const char *fmt, ...) {
  if (b->oom) return;
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    int need = vsnprintf(b->s ? b->s + b->n : NULL, b->s ? b->cap - b->n : 0, fmt, ap);
    va_end(ap);
    if (need < 0) {
      b->oom = true;
      return;
    }
    if (b->s && b->n + (size_t)need < b->cap) {
      b->n += (size_t)need;
      return;
    }
    size_t cap = b->cap ? b->cap * 2 : 4096;
    while (cap < b->n + (size_t)need + 1) cap *= 2;
    char *ns = c8_realloc(b->s, cap);
    if (!ns) {
      b->oom = true;
      return;
    }
    b->s = ns;
    b->cap = cap;
  }
}

static c8_status sb_write(sbuf *b, const char *path) {
  c8_status st;
  if (b->oom) st = c8_error(CALIB8_OUT_OF_MEMORY, "out of memory writing '%s'", path);
  else st = c8_write_file_atomic(path, b->s ? b->s : "", b->n);
  c8_mfree(b->s);
  return st;
}

static int by_name(const void *a, const void *b, void *g) {
  const c8_graph *G = g;
  return strcmp(G->values[*(const int *)a].name, G->values[*(const int *)b].name);
}

/* Quantized value ids sorted by name. */
static int *sorted_quantized(const c8_qplan *p, int *n_out) {
  int *ids = c8_malloc(sizeof(int) * ((size_t)p->n_values + 1)), n = 0;
  if (!ids) return NULL;
  for (int v = 0; v < p->n_values; v++)
    if (p->tq[v].quantized) ids[n++] = v;
  qsort_r(ids, (size_t)n, sizeof *ids, by_name, (void *)p->g);
  *n_out = n;
  return ids;
}

c8_status c8_calib_table_write(const c8_qplan *p, const c8_calibration *cal, const char *path) {
  int n;
  int *ids = sorted_quantized(p, &n);
  if (!ids) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory writing '%s'", path);
  sbuf b = {0};
  sb_printf(&b, "# calib8 %s calibration table\n# method %s, %s activations, %lld samples\n# tensor threshold min max\n",
            CALIB8_VERSION, c8_threshold_method_name(p->opts.method),
            p->opts.asymmetric ? "uint8 asymmetric" : "uint8 symmetric", (long long)cal->samples);
  for (int i = 0; i < n; i++) {
    int v = ids[i];
    const c8_histogram *h = cal->hist[v];
    /* %.9g round-trips a float exactly */
    sb_printf(&b, "%s %.9g %.9g %.9g\n", p->g->values[v].name, (double)p->tq[v].threshold, h ? (double)h->min : 0.0,
              h ? (double)h->max : 0.0);
  }
  c8_mfree(ids);
  return sb_write(&b, path);
}

c8_status c8_trt_cache_write(const c8_qplan *p, const char *path) {
  int n;
  int *ids = sorted_quantized(p, &n);
  if (!ids) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory writing '%s'", path);
  sbuf b = {0};
  sb_printf(&b, "TRT-8601-EntropyCalibration2\n");
  for (int i = 0; i < n; i++) {
    float s = p->tq[ids[i]].threshold / 127.0f;
    uint32_t bits;
    memcpy(&bits, &s, 4);
    sb_printf(&b, "%s: %08x\n", p->g->values[ids[i]].name, bits);
  }
  c8_mfree(ids);
  return sb_write(&b, path);
}

c8_status c8_qtable_write(const c8_qplan *p, const char *path) {
  sbuf b = {0};
  sb_printf(&b, "# calib8 qtable: layer_name INT8|F32 (edit and pass back with --qtable)\n");
  for (int i = 0; i < p->n_nodes; i++) {
    const c8_node *n = &p->g->nodes[i];
    bool listed = c8_qrole_is_compute(c8_node_op(n)->qrole) || p->node_prec[i] == C8_PREC_INT8 ||
                  (p->opts.node_precision && p->opts.node_precision[i] == C8_PREC_FP32);
    if (!listed) continue;
    sb_printf(&b, "%s %s\n", n->name, p->node_prec[i] == C8_PREC_INT8 ? "INT8" : "F32");
  }
  return sb_write(&b, path);
}

bool c8_dq_consts(const c8_graph *g, int v, const c8_tensor **scale, const c8_tensor **zp) {
  int p = v >= 0 ? c8_graph_producer(g, v) : -1;
  if (p < 0 || strcmp(g->nodes[p].op_type, "DequantizeLinear") || g->nodes[p].n_in < 3) return false;
  const c8_node *n = &g->nodes[p];
  if (n->in[1] < 0 || n->in[2] < 0 || !g->values[n->in[1]].t.data || !g->values[n->in[2]].t.data) return false;
  *scale = &g->values[n->in[1]].t;
  *zp = &g->values[n->in[2]].t;
  return (*scale)->dtype == CALIB8_FLOAT;
}

int c8_dq_zero_point(const c8_tensor *zp, int64_t i) {
  if (zp->dtype == CALIB8_UINT8) return (int)((const uint8_t *)zp->data)[i] - 128;
  if (zp->dtype == CALIB8_INT8) return ((const int8_t *)zp->data)[i];
  return ((const int32_t *)zp->data)[i];
}

c8_status c8_record_write(const c8_graph *g, const char *path) {
  sbuf b = {0};
  sb_printf(&b, "# calib8 record (AMCT's scale_offset_record): scale_d/offset_d of the layer's input activation "
                "(offset in int8, a uint8 zero point minus 128), scale_w/offset_w per weight channel\n");
  for (int i = 0; i < g->n_nodes; i++) {
    const c8_node *n = &g->nodes[i];
    const char *op = n->op_type;
    if (strcmp(op, "Conv") && strcmp(op, "ConvTranspose") && strcmp(op, "Gemm") && strcmp(op, "MatMul")) continue;
    const c8_tensor *sd, *zd, *sw, *zw;
    if (n->n_in < 2 || !c8_dq_consts(g, n->in[0], &sd, &zd) || !c8_dq_consts(g, n->in[1], &sw, &zw)) continue;
    sb_printf(&b, "record {\n  key: \"%s\"\n  value {\n", n->name);
    sb_printf(&b, "    scale_d: %.9g\n    offset_d: %d\n", ((const float *)sd->data)[0], c8_dq_zero_point(zd, 0));
    int64_t c = c8_numel(sw);
    for (int64_t k = 0; k < c; k++) sb_printf(&b, "    scale_w: %.9g\n", ((const float *)sw->data)[k]);
    for (int64_t k = 0; k < c8_numel(zw); k++) sb_printf(&b, "    offset_w: %d\n", c8_dq_zero_point(zw, k));
    sb_printf(&b, "  }\n}\n");
  }
  return sb_write(&b, path);
}

c8_status c8_qtable_read(const char *path, const c8_graph *g, c8_precision *prec, bool *half) {
  FILE *f = fopen(path, "r");
  if (!f) return c8_error(CALIB8_IO, "cannot open qtable '%s': %s", path, strerror(errno));
  for (int i = 0; i < g->n_nodes; i++) {
    prec[i] = C8_PREC_AUTO;
    if (half) half[i] = false;
  }
  char line[4096];
  int lineno = 0;
  c8_status st = CALIB8_OK;
  while (fgets(line, sizeof line, f)) {
    lineno++;
    char *hash = strchr(line, '#');
    if (hash) *hash = 0;
    char name[2048], word[64], extra[8];
    int k = sscanf(line, "%2047s %63s %7s", name, word, extra);
    if (k <= 0) continue;
    if (k != 2) {
      st = c8_error(CALIB8_INVALID_ARGUMENT, "qtable '%s' line %d: expected 'layer_name INT8|F32' (a tensor name may stand for its layer; F16 and BF16 are kept FP32)",
                    path, lineno);
      break;
    }
    /* TPU-MLIR's modes, any case; F16 and BF16 rows stay in floating point (calib8 writes FP32) */
    c8_precision pr;
    bool is_half = false;
    if (!strcasecmp(word, "INT8")) pr = C8_PREC_INT8;
    else if (!strcasecmp(word, "F32") || !strcasecmp(word, "FP32")) pr = C8_PREC_FP32;
    else if (!strcasecmp(word, "F16") || !strcasecmp(word, "FP16") || !strcasecmp(word, "BF16")) pr = C8_PREC_FP32, is_half = true;
    else {
      st = c8_error(CALIB8_INVALID_ARGUMENT, "qtable '%s' line %d: precision '%s' is not INT8 or F32 (nor F16 or BF16, kept in floating point)", path,
                    lineno, word);
      break;
    }
    /* a layer (node) name, or a tensor name standing for the layer that writes it (TPU-MLIR names ops by their
       output tensors; after BatchNormalization folding the tensor is often all that is left of a name) */
    int found = -1;
    for (int i = 0; i < g->n_nodes && found < 0; i++)
      if (strcmp(g->nodes[i].name, name) == 0) found = i;
    if (found < 0) {
      int v = c8_graph_find_value(g, name);
      if (v >= 0) found = c8_graph_producer(g, v);
    }
    if (found < 0) {
      st = c8_error(CALIB8_INVALID_ARGUMENT,
                    "qtable '%s' line %d: the model has no layer named '%s', and no layer computes a tensor of that name",
                    path, lineno, name);
      break;
    }
    prec[found] = pr;
    if (half) half[found] = is_half;
  }
  fclose(f);
  return st;
}
