/* Read-only questions about a loaded model (calib8 info). */
#include <string.h>

#include "load/model.h"
#include "ops/op.h"

int calib8_model_input_count(const calib8_model *m) { return m->graph->n_inputs; }
int calib8_model_output_count(const calib8_model *m) { return m->graph->n_outputs; }
int calib8_model_opset(const calib8_model *m) { return m->graph->opset; }
int calib8_model_node_count(const calib8_model *m) { return m->graph->n_nodes; }

const char *calib8_model_node_op(const calib8_model *m, int i) {
  return i >= 0 && i < m->graph->n_nodes ? m->graph->nodes[i].op_type : NULL;
}
const char *calib8_model_node_name(const calib8_model *m, int i) {
  return i >= 0 && i < m->graph->n_nodes ? m->graph->nodes[i].name : NULL;
}

static void fill_info(const c8_value *v, calib8_value_info *out) {
  memset(out, 0, sizeof *out);
  out->name = v->name;
  out->dtype = v->decl_dtype;
  out->rank = v->decl_rank;
  for (int d = 0; d < v->decl_rank && d < CALIB8_MAX_RANK; d++) {
    out->dims[d] = v->decl_dims[d];
    out->dim_names[d] = v->decl_dim_names[d];
  }
}

calib8_status calib8_model_input_info(const calib8_model *m, int i, calib8_value_info *out) {
  if (i < 0 || i >= m->graph->n_inputs) return c8_error(CALIB8_INVALID_ARGUMENT, "input index %d is out of range", i);
  fill_info(&m->graph->values[m->graph->inputs[i]], out);
  return CALIB8_OK;
}

calib8_status calib8_model_output_info(const calib8_model *m, int i, calib8_value_info *out) {
  if (i < 0 || i >= m->graph->n_outputs)
    return c8_error(CALIB8_INVALID_ARGUMENT, "output index %d is out of range", i);
  fill_info(&m->graph->values[m->graph->outputs[i]], out);
  return CALIB8_OK;
}

int64_t calib8_model_parameter_count(const calib8_model *m) {
  int64_t n = 0;
  const c8_graph *g = m->graph;
  for (int v = 0; v < g->n_values; v++)
    if (g->values[v].is_const) n += c8_numel(&g->values[v].t);
  /* Constant nodes carry parameters too in some exporters (PaddleOCR). */
  for (int i = 0; i < g->n_nodes; i++) {
    const c8_attr *a = c8_node_attr(&g->nodes[i], "value");
    if (c8_node_op(&g->nodes[i]) == &c8_op_constant && a && a->t) n += c8_numel(a->t);
  }
  return n;
}
