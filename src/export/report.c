/* The HTML report (include/calib8/report.h): one JSON document built from calib8's summaries and the
 * calibration, embedded in one self-contained page whose script draws every figure from it. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "calib8/calib8.h"
#include "core/alloc.h"
#include "core/atomic-file.h"
#include "core/json.h"
#include "core/status.h"
#include "export/report-page.h"
#include "plan/qplan.h"

#define REPORT_BINS 256

static cJSON *parse(const char *text, const char *what, c8_status *st) {
  if (!text) return NULL;
  cJSON *j = cJSON_Parse(text);
  if (!j || !cJSON_IsObject(j)) {
    cJSON_Delete(j);
    *st = c8_error(CALIB8_INVALID_ARGUMENT, "the report's %s is not a JSON object", what);
  }
  return j;
}

/* Each quantized tensor of the summary gets its producer node, op, precision and why (from the plan and the
   search's choice). */
static void annotate(cJSON *summary, const calib8_qplan *plan) {
  cJSON *tensors = cJSON_GetObjectItem(summary, "tensors");
  cJSON *choice = cJSON_GetObjectItem(summary, "choice");
  cJSON *searched = choice ? cJSON_GetObjectItem(choice, "fp32_layers") : NULL;
  const c8_qplan *p = plan ? plan->p : NULL;
  cJSON *t;
  cJSON_ArrayForEach(t, tensors) {
    cJSON *nm = cJSON_GetObjectItem(t, "name");
    if (!p || !cJSON_IsString(nm)) continue;
    for (int i = 0; i < p->n_nodes; i++) {
      const c8_node *n = &p->g->nodes[i];
      if (n->n_out < 1 || n->out[0] < 0 || strcmp(p->g->values[n->out[0]].name, nm->valuestring)) continue;
      cJSON_AddStringToObject(t, "node", n->name);
      cJSON_AddStringToObject(t, "op", n->op_type);
      bool int8 = p->node_prec[i] == C8_PREC_INT8;
      cJSON_AddStringToObject(t, "precision", int8 ? "INT8" : "FP32");
      bool compute = c8_op_is_int8_compute(n->op_type);
      const char *why = int8 || compute ? "rules" : "no INT8 kernel";
      cJSON *s;
      cJSON_ArrayForEach(s, searched) if (cJSON_IsString(s) && !strcmp(s->valuestring, n->name)) why = "search";
      if (!int8 && compute && p->opts.node_precision && p->opts.node_precision[i] == C8_PREC_FP32 && strcmp(why, "search"))
        why = "user or heads";
      cJSON_AddStringToObject(t, "why", why);
      break;
    }
  }
}

/* Histograms of the summary's quantized tensors, 256 bins each, with every method's threshold. */
static c8_status histograms(cJSON *root, cJSON *summary, const calib8_calibration *cal) {
  cJSON *arr = c8_json_attach(root, "histograms", cJSON_CreateArray());
  cJSON *tensors = summary ? cJSON_GetObjectItem(summary, "tensors") : NULL;
  if (!arr || !cal || !tensors) return CALIB8_OK;
  int n_bins = 0;
  double range = 0;
  uint64_t *counts = NULL;
  int cap = 0;
  c8_status st = CALIB8_OK;
  cJSON *t;
  cJSON_ArrayForEach(t, tensors) {
    cJSON *nm = cJSON_GetObjectItem(t, "name");
    if (!cJSON_IsString(nm)) continue;
    if (calib8_calibration_histogram(cal, nm->valuestring, NULL, 0, &n_bins, &range)) continue; /* not observed */
    if (n_bins > cap) {
      c8_mfree(counts);
      cap = n_bins;
      if (!(counts = c8_malloc(sizeof *counts * (size_t)cap))) {
        st = c8_error(CALIB8_OUT_OF_MEMORY, "out of memory building the report's histograms");
        break;
      }
    }
    calib8_calibration_histogram(cal, nm->valuestring, counts, cap, &n_bins, &range);
    cJSON *h = c8_json_attach(arr, NULL, cJSON_CreateObject());
    if (!h) break;
    cJSON_AddStringToObject(h, "name", nm->valuestring);
    cJSON_AddNumberToObject(h, "range", range);
    cJSON *bins = c8_json_attach(h, "bins", cJSON_CreateArray());
    int per = n_bins / REPORT_BINS > 0 ? n_bins / REPORT_BINS : 1;
    for (int b = 0; b < n_bins && bins; b += per) {
      uint64_t s = 0;
      for (int k = b; k < b + per && k < n_bins; k++) s += counts[k];
      c8_json_attach(bins, NULL, cJSON_CreateNumber((double)s));
    }
    cJSON *th = c8_json_attach(h, "thresholds", cJSON_CreateObject());
    for (int m = 0; m < CALIB8_METHOD_COUNT && th; m++) {
      double v;
      if (!calib8_calibration_threshold(cal, nm->valuestring, (calib8_method)m, 0, &v) && isfinite(v))
        cJSON_AddNumberToObject(th, calib8_method_name((calib8_method)m), v);
    }
    cJSON *chosen = cJSON_GetObjectItem(t, "threshold");
    if (cJSON_IsNumber(chosen)) cJSON_AddNumberToObject(h, "chosen", chosen->valuedouble);
  }
  c8_mfree(counts);
  return st;
}

/* The plan's graph for a layered drawing: each node's depth (the longest path from a graph input, so every edge
   goes to a deeper layer), precision (INT8, FP32 for a compute layer kept in float, "other" for the rest) and the
   tensor it produces; edges as [from, to] node indices. The nodes are in topological order. */
static c8_status graph(cJSON *root, const calib8_qplan *plan) {
  const c8_qplan *p = plan ? plan->p : NULL;
  if (!p) return CALIB8_OK;
  const c8_graph *g = p->g;
  int *prod = c8_malloc(sizeof *prod * (size_t)(g->n_values ? g->n_values : 1));
  int *depth = c8_malloc(sizeof *depth * (size_t)(p->n_nodes ? p->n_nodes : 1));
  if (!prod || !depth) {
    c8_mfree(prod);
    c8_mfree(depth);
    return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory drawing the report's graph");
  }
  for (int v = 0; v < g->n_values; v++) prod[v] = -1;
  cJSON *gj = c8_json_attach(root, "graph", cJSON_CreateObject());
  cJSON *nodes = gj ? c8_json_attach(gj, "nodes", cJSON_CreateArray()) : NULL;
  cJSON *edges = gj ? c8_json_attach(gj, "edges", cJSON_CreateArray()) : NULL;
  for (int i = 0; i < p->n_nodes && nodes && edges; i++) {
    const c8_node *n = &g->nodes[i];
    depth[i] = 0;
    for (int k = 0; k < n->n_in; k++) {
      int from = n->in[k] >= 0 ? prod[n->in[k]] : -1;
      if (from < 0) continue;
      if (depth[from] + 1 > depth[i]) depth[i] = depth[from] + 1;
      cJSON *e = c8_json_attach(edges, NULL, cJSON_CreateArray());
      if (e) c8_json_attach(e, NULL, cJSON_CreateNumber(from)), c8_json_attach(e, NULL, cJSON_CreateNumber(i));
    }
    for (int k = 0; k < n->n_out; k++)
      if (n->out[k] >= 0) prod[n->out[k]] = i;
    cJSON *o = c8_json_attach(nodes, NULL, cJSON_CreateObject());
    if (!o) break;
    cJSON_AddStringToObject(o, "name", n->name);
    cJSON_AddStringToObject(o, "op", n->op_type);
    cJSON_AddStringToObject(o, "precision", p->node_prec[i] == C8_PREC_INT8    ? "INT8"
                                            : c8_op_is_int8_compute(n->op_type) ? "FP32"
                                                                                : "other");
    cJSON_AddNumberToObject(o, "depth", depth[i]);
    if (n->n_out > 0 && n->out[0] >= 0) cJSON_AddStringToObject(o, "output", g->values[n->out[0]].name);
  }
  c8_mfree(prod);
  c8_mfree(depth);
  return CALIB8_OK;
}

static const char *base_name(const char *path) {
  const char *s = path ? strrchr(path, '/') : NULL;
  return s ? s + 1 : path;
}

calib8_status calib8_report_data(const calib8_report_input *in, char **out_json) {
  if (!in || !out_json) return c8_error(CALIB8_INVALID_ARGUMENT, "calib8_report_data needs an input and an output");
  if (!in->summary_json && !in->compare_json && !in->sensitivity_json)
    return c8_error(CALIB8_INVALID_ARGUMENT, "a report needs a JSON summary, a comparison or a sensitivity ranking");
  c8_status st = CALIB8_OK;
  cJSON *summary = parse(in->summary_json, "summary", &st);
  cJSON *compare = st ? NULL : parse(in->compare_json, "comparison", &st);
  cJSON *sens = st ? NULL : parse(in->sensitivity_json, "sensitivity ranking", &st);
  cJSON *pred = NULL;
  if (!st && in->predictions_json && !cJSON_IsArray(pred = cJSON_Parse(in->predictions_json)))
    st = c8_error(CALIB8_INVALID_ARGUMENT, "the report's predictions are not a JSON array");
  if (st) {
    cJSON_Delete(summary);
    cJSON_Delete(compare);
    cJSON_Delete(sens);
    cJSON_Delete(pred);
    return st;
  }
  c8_json_begin();
  cJSON *root = cJSON_CreateObject();
  if (!root) {
    cJSON_Delete(summary);
    cJSON_Delete(compare);
    cJSON_Delete(sens);
    cJSON_Delete(pred);
    return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory building the report");
  }
  cJSON_AddStringToObject(root, "calib8", CALIB8_VERSION);
  const char *title = in->title;
  cJSON *model = summary ? cJSON_GetObjectItem(summary, "model") : NULL;
  cJSON *int8 = compare ? cJSON_GetObjectItem(compare, "int8") : NULL;
  if (!title && cJSON_IsString(model)) title = base_name(model->valuestring);
  if (!title && cJSON_IsString(int8)) title = base_name(int8->valuestring);
  cJSON_AddStringToObject(root, "title", title ? title : sens ? "sensitivity" : "calib8 report");
  if (summary) annotate(summary, in->plan);
  /* attached first (never orphaned); c8_json_attach returns NULL, having freed it, when that fails */
  if (summary) summary = c8_json_attach(root, "summary", summary);
  if (compare) c8_json_attach(root, "compare", compare);
  /* the predictions given, else those of the summary (its --json carries them) */
  cJSON *sp = summary ? cJSON_GetObjectItem(summary, "predictions") : NULL;
  if (!pred && cJSON_IsArray(sp)) pred = cJSON_Duplicate(sp, true);
  if (pred) c8_json_attach(root, "predictions", pred);
  if (sens) c8_json_attach(root, "sensitivity", sens);
  st = histograms(root, summary, in->calibration);
  if (!st) st = graph(root, in->plan);
  char *text = st ? NULL : c8_json_print(root);
  cJSON_Delete(root);
  if (st) return st;
  if (!text) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory building the report");
  *out_json = text;
  return CALIB8_OK;
}

static void html_escape(char *dst, const char *s, size_t cap) {
  size_t k = 0;
  for (; *s && k + 7 < cap; s++) {
    const char *r = *s == '<' ? "&lt;" : *s == '>' ? "&gt;" : *s == '&' ? "&amp;" : *s == '"' ? "&quot;" : NULL;
    if (r) k += (size_t)snprintf(dst + k, cap - k, "%s", r);
    else dst[k++] = *s;
  }
  dst[k] = 0;
}

calib8_status calib8_report_write(const calib8_report_input *in, const char *path) {
  if (!path) return c8_error(CALIB8_INVALID_ARGUMENT, "calib8_report_write needs a path");
  char *json = NULL;
  c8_status st = calib8_report_data(in, &json);
  if (st) return c8_error_prefix(st, "report '%s': ", path);
  /* "</" inside the data would end the script element: JSON allows "<\/" for it */
  size_t n = strlen(json), extra = 0;
  for (size_t i = 0; i + 1 < n; i++) extra += json[i] == '<' && json[i + 1] == '/';
  char title[512] = "calib8 report";
  cJSON *doc = cJSON_Parse(json);
  cJSON *tt = doc ? cJSON_GetObjectItem(doc, "title") : NULL;
  if (cJSON_IsString(tt)) html_escape(title, tt->valuestring, sizeof title);
  cJSON_Delete(doc);
  static const char head[] = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
                             "<meta name=\"generator\" content=\"calib8 " CALIB8_VERSION "\">\n<title>";
  size_t cap = n + extra + sizeof c8_report_css + sizeof c8_report_js + sizeof title * 2 + 1024;
  char *page = c8_malloc(cap);
  if (!page) {
    c8_mfree(json);
    return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory writing the report '%s'", path);
  }
  size_t k = (size_t)snprintf(page, cap,
                              "%s%s — calib8</title>\n<style>%s</style>\n</head><body>\n<h1>%s</h1>\n"
                              "<p class=\"note\">calib8 %s quantization report: every figure is drawn from the JSON "
                              "in the element #calib8-data.</p>\n<div id=\"main\"></div>\n"
                              "<noscript>This report draws its figures with a script; the data is below as JSON."
                              "</noscript>\n<script type=\"application/json\" id=\"calib8-data\">",
                              head, title, c8_report_css, title, CALIB8_VERSION);
  for (size_t i = 0; i < n; i++) {
    if (json[i] == '<' && i + 1 < n && json[i + 1] == '/') page[k++] = '<', page[k++] = '\\';
    else page[k++] = json[i];
  }
  k += (size_t)snprintf(page + k, cap - k, "</script>\n<script>\n%s</script>\n</body></html>\n", c8_report_js);
  c8_mfree(json);
  st = c8_write_file_atomic(path, page, k);
  c8_mfree(page);
  return st;
}

calib8_status calib8_sensitivity_json(const calib8_sensitivity *ranking, const char *metric_name, char **out_json) {
  if (!ranking || !out_json)
    return c8_error(CALIB8_INVALID_ARGUMENT, "calib8_sensitivity_json needs a ranking and an output");
  c8_json_begin();
  cJSON *root = cJSON_CreateObject();
  if (!root) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory writing the sensitivity ranking");
  if (metric_name) cJSON_AddStringToObject(root, "metric", metric_name);
  else cJSON_AddNullToObject(root, "metric");
  cJSON_AddStringToObject(root, "loss", metric_name ? "metric drop" : "1 - cosine");
  cJSON *arr = cJSON_AddArrayToObject(root, "layers");
  for (int i = 0; i < calib8_sensitivity_count(ranking) && arr; i++) {
    calib8_sensitivity_row r;
    if (calib8_sensitivity_row_at(ranking, i, &r)) break;
    cJSON *o = c8_json_attach(arr, NULL, cJSON_CreateObject());
    if (!o) break;
    cJSON_AddStringToObject(o, "layer", r.layer);
    cJSON_AddStringToObject(o, "op", r.op);
    cJSON_AddNumberToObject(o, "loss", r.loss);
    cJSON_AddStringToObject(o, "best_method", calib8_method_name(r.best_method));
  }
  char *text = c8_json_print(root);
  cJSON_Delete(root);
  if (!text) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory writing the sensitivity ranking");
  *out_json = text;
  return CALIB8_OK;
}
