#include "export/sizes.h"

#include <sys/stat.h>

#include "core/alloc.h"
#include "core/json.h"
#include "export/onnx-write.h"
#include "ops/op.h"

void c8_summary_add_sizes(cJSON *root, const c8_qplan *p, const c8_graph *qdq, const char *model_path) {
  cJSON *s = c8_json_attach(root, "sizes", cJSON_CreateObject());
  if (!s) return;
  struct stat sb;
  if (model_path && stat(model_path, &sb) == 0 && S_ISREG(sb.st_mode))
    cJSON_AddNumberToObject(s, "fp32_file", (double)sb.st_size);
  void *buf = NULL;
  size_t len = 0;
  c8_onnx_write_options wo = {.producer = "calib8"}; /* as calib8_qplan_write writes it */
  if (qdq && !c8_onnx_serialize(qdq, &wo, &buf, &len)) cJSON_AddNumberToObject(s, "qdq_file", (double)len);
  else if (qdq) c8_json_attach(s, "qdq_file", NULL); /* out of memory: the summary fails whole, never without it */
  c8_mfree(buf);
  const c8_graph *g = p->g;
  unsigned char *int8_weight = c8_calloc((size_t)(g->n_values ? g->n_values : 1), 1);
  if (!int8_weight) {
    c8_json_attach(s, "weights_fp32", NULL); /* out of memory: the summary fails whole */
    return;
  }
  for (int i = 0; i < p->n_nodes; i++) {
    const c8_node *n = &g->nodes[i];
    if (p->node_prec[i] == C8_PREC_INT8 && c8_op_is_int8_compute(n->op_type) && n->n_in > 1 && n->in[1] >= 0)
      int8_weight[n->in[1]] = 1;
  }
  double fp32 = 0, int8 = 0;
  for (int v = 0; v < g->n_values; v++) {
    const c8_value *val = &g->values[v];
    if (!val->is_const || !val->t.data) continue;
    double bytes = (double)c8_nbytes(&val->t);
    fp32 += bytes;
    int8 += int8_weight[v] ? (double)c8_numel(&val->t) : bytes;
  }
  c8_mfree(int8_weight);
  cJSON_AddNumberToObject(s, "weights_fp32", fp32);
  cJSON_AddNumberToObject(s, "weights_int8_estimate", int8);
}
