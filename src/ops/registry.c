#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ops/op.h"

static const c8_op_def *const all_ops[] = {
#define C8_OP(name, sym) &c8_op_##sym,
#include "ops/ops.def"
#undef C8_OP
};

static bool same_domain(const char *a, const char *b) {
  if (!a || !*a || strcmp(a, "ai.onnx") == 0) a = "";
  if (!b || !*b || strcmp(b, "ai.onnx") == 0) b = "";
  return strcmp(a, b) == 0;
}

const c8_op_def *c8_op_find(const char *domain, const char *op_type) {
  for (size_t i = 0; i < sizeof all_ops / sizeof all_ops[0]; i++)
    if (strcmp(all_ops[i]->name, op_type) == 0 && same_domain(all_ops[i]->domain, domain)) return all_ops[i];
  return NULL;
}

int c8_op_count(void) { return (int)(sizeof all_ops / sizeof all_ops[0]); }
const c8_op_def *c8_op_at(int i) { return all_ops[i]; }

c8_status c8_node_error(const c8_node *node, c8_status code, const char *fmt, ...) {
  char msg[768];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return c8_error(code, "node '%s' (%s): %s", node->name, node->op_type, msg);
}

c8_status c8_check_inputs(const c8_node *node, int n_in, int min, int max) {
  if (n_in < min || n_in > max)
    return c8_node_error(node, CALIB8_MALFORMED_MODEL, "has %d inputs, expected %d to %d", n_in, min, max);
  return CALIB8_OK;
}

c8_status c8_check_dtype(const c8_node *node, const c8_tensor *t, int input_index, c8_dtype dtype) {
  if (t->dtype != dtype)
    return c8_node_error(node, CALIB8_UNSUPPORTED, "input %d is %s, expected %s", input_index,
                         calib8_dtype_name(t->dtype), calib8_dtype_name(dtype));
  return CALIB8_OK;
}

c8_status c8_check_const(const c8_node *node, const c8_tensor *t, int input_index) {
  if (!t->data)
    return c8_node_error(node, CALIB8_UNSUPPORTED,
                         "input %d must be known before running (a constant or computed from shapes)", input_index);
  return CALIB8_OK;
}

c8_status c8_norm_axis(const c8_node *node, int64_t axis, int rank, int *out_axis) {
  if (axis < -rank || axis >= (rank ? rank : 1))
    return c8_node_error(node, CALIB8_MALFORMED_MODEL, "axis %lld is out of range for rank %d", (long long)axis,
                         rank);
  *out_axis = (int)(axis < 0 ? axis + rank : axis);
  return CALIB8_OK;
}

c8_status c8_broadcast_shape(const c8_node *node, const c8_tensor *a, const c8_tensor *b, c8_tensor *out) {
  int r = a->rank > b->rank ? a->rank : b->rank;
  out->rank = r;
  for (int i = 0; i < r; i++) {
    int ia = i - (r - a->rank), ib = i - (r - b->rank);
    int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
    if (da != db && da != 1 && db != 1)
      return c8_node_error(node, CALIB8_INVALID_ARGUMENT, "shapes %s and %s cannot be broadcast together",
                           C8_SHAPE_STR(a), C8_SHAPE_STR(b));
    out->dims[i] = da == 1 ? db : da;
  }
  return CALIB8_OK;
}

/* An op the registry does not know has no role anywhere: it stays FP32, is not fused, and keeps a batch
   from being split. */
static const c8_op_def unknown_op = {.name = "", .domain = "", .qrole = C8_QROLE_NONE, .fuse = C8_FUSE_NONE,
                                     .values = C8_VALUES_COMPUTED, .batch = C8_BATCH_MIXES};

const c8_op_def *c8_node_op(const c8_node *node) {
  if (node->def) return node->def;
  const c8_op_def *d = c8_op_find(node->domain, node->op_type);
  return d ? d : &unknown_op;
}

int c8_op_axis(c8_axis_rule r, const c8_node *n) {
  switch (r) {
  case C8_AXIS_0: return 0;
  case C8_AXIS_1: return 1;
  case C8_AXIS_LAST: return -1;
  case C8_AXIS_GEMM_A: return c8_attr_int(n, "transA", 0) ? 0 : -1;
  case C8_AXIS_GEMM_B: return c8_attr_int(n, "transB", 0) ? 0 : 1;
  default: return -2;
  }
}

int c8_known_ints(const c8_tensor *t, int64_t *v, int max) {
  if (!t || !t->data) return -1;
  int64_t n = c8_numel(t);
  if (n > max) return -1;
  for (int64_t i = 0; i < n; i++) {
    if (t->dtype == CALIB8_INT64) v[i] = ((const int64_t *)t->data)[i];
    else if (t->dtype == CALIB8_INT32) v[i] = ((const int32_t *)t->data)[i];
    else return -1;
  }
  return (int)n;
}

/* Puts value id v at input `index` of node k, padding with omitted inputs. */
static c8_status set_input(c8_graph *g, int k, int index, int v) {
  c8_node *n = &g->nodes[k];
  int in[64];
  int m = n->n_in > index + 1 ? n->n_in : index + 1;
  if (m > 64) return c8_node_error(n, CALIB8_UNSUPPORTED, "more than 64 inputs");
  for (int i = 0; i < m; i++) in[i] = i < n->n_in ? n->in[i] : -1;
  in[index] = v;
  return c8_node_set_inputs(n, m, in);
}

c8_status c8_upgrade_ints_to_input(c8_graph *g, int k, const char *attr, int index) {
  int n;
  const int64_t *v = c8_attr_ints(&g->nodes[k], attr, &n);
  if (!v) return CALIB8_OK;
  char hint[256];
  snprintf(hint, sizeof hint, "%s_%s", g->nodes[k].name, attr);
  int64_t dims[1] = {n};
  int id = c8_graph_add_const(g, hint, CALIB8_INT64, 1, dims, v);
  if (id < 0) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory upgrading node '%s'", g->nodes[k].name);
  c8_status st = set_input(g, k, index, id);
  if (!st) c8_node_remove_attr(&g->nodes[k], attr);
  return st;
}

c8_status c8_upgrade_float_to_input(c8_graph *g, int k, const char *attr, int index, bool has_dflt, float dflt) {
  const c8_attr *a = c8_node_attr(&g->nodes[k], attr);
  if (!a && !has_dflt) return CALIB8_OK;
  float v = a ? a->f : dflt;
  char hint[256];
  snprintf(hint, sizeof hint, "%s_%s", g->nodes[k].name, attr);
  int id = c8_graph_add_const(g, hint, CALIB8_FLOAT, 0, NULL, &v);
  if (id < 0) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory upgrading node '%s'", g->nodes[k].name);
  c8_status st = set_input(g, k, index, id);
  if (!st) c8_node_remove_attr(&g->nodes[k], attr);
  return st;
}
