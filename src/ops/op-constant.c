/* Constant, Identity, Dropout (inference). ONNX spec: Constant-13, Identity-16, Dropout-13. */
#include <string.h>

#include "ops/op.h"

static c8_status constant_prepare(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out,
                                  int n_out) {
  (void)in;
  const c8_node *node = k->node;
  if (n_in != 0 || n_out != 1) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "takes no inputs and one output");
  const c8_attr *a = NULL;
  for (int i = 0; i < node->n_attr; i++)
    if (strncmp(node->attr[i].name, "value", 5) == 0) a = &node->attr[i];
  if (!a) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "has no 'value' attribute");
  c8_tensor *o = out[0];
  if (strcmp(a->name, "value") == 0 && a->type == C8_ATTR_TENSOR) {
    o->dtype = a->t->dtype;
    o->rank = a->t->rank;
    memcpy(o->dims, a->t->dims, sizeof o->dims);
  } else if (strcmp(a->name, "value_float") == 0) {
    o->dtype = CALIB8_FLOAT;
    o->rank = 0;
  } else if (strcmp(a->name, "value_int") == 0) {
    o->dtype = CALIB8_INT64;
    o->rank = 0;
  } else if (strcmp(a->name, "value_floats") == 0) {
    o->dtype = CALIB8_FLOAT;
    o->rank = 1;
    o->dims[0] = a->n;
  } else if (strcmp(a->name, "value_ints") == 0) {
    o->dtype = CALIB8_INT64;
    o->rank = 1;
    o->dims[0] = a->n;
  } else {
    return c8_node_error(node, CALIB8_UNSUPPORTED, "attribute '%s' is not supported", a->name);
  }
  k->state = (void *)a;
  return CALIB8_OK;
}

static c8_status constant_run(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out,
                              void *scratch) {
  (void)in, (void)n_in, (void)n_out, (void)scratch;
  const c8_attr *a = k->state;
  c8_tensor *o = out[0];
  if (a->type == C8_ATTR_TENSOR) memcpy(o->data, a->t->data, c8_nbytes(o));
  else if (a->type == C8_ATTR_FLOAT) *(float *)o->data = a->f;
  else if (a->type == C8_ATTR_INT) *(int64_t *)o->data = a->i;
  else if (a->type == C8_ATTR_FLOATS) memcpy(o->data, a->floats, sizeof(float) * (size_t)a->n);
  else if (a->type == C8_ATTR_INTS) memcpy(o->data, a->ints, sizeof(int64_t) * (size_t)a->n);
  return CALIB8_OK;
}

/* The state points into the node's attribute: nothing to free. */
static void no_free(void *state) { (void)state; }

const c8_op_def c8_op_constant = {
    .name = "Constant", .domain = "", .prepare = constant_prepare, .run = constant_run, .destroy = no_free,
    .qrole = C8_QROLE_NONE, .values = C8_VALUES_COMPUTED, .batch = C8_BATCH_MIXES, .fuse = C8_FUSE_NONE};

static c8_status identity_prepare(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out,
                                  int n_out) {
  c8_status st = c8_check_inputs(k->node, n_in, 1, 3);
  if (st) return st;
  if (!in[0]) return c8_node_error(k->node, CALIB8_MALFORMED_MODEL, "input 0 is missing");
  out[0]->dtype = in[0]->dtype;
  out[0]->rank = in[0]->rank;
  memcpy(out[0]->dims, in[0]->dims, sizeof out[0]->dims);
  /* Dropout's optional mask output: all true in inference mode. */
  if (n_out > 1 && out[1]) {
    out[1]->dtype = CALIB8_BOOL;
    out[1]->rank = in[0]->rank;
    memcpy(out[1]->dims, in[0]->dims, sizeof out[1]->dims);
  }
  if (n_in >= 3 && in[2] && strcmp(k->node->op_type, "Dropout") == 0) {
    /* training_mode: only inference is supported. */
    if (!in[2]->data) return c8_node_error(k->node, CALIB8_UNSUPPORTED, "training_mode must be a constant");
    if (c8_get_i64(in[2], 0))
      return c8_node_error(k->node, CALIB8_UNSUPPORTED, "training_mode=true is not supported (inference only)");
  }
  return CALIB8_OK;
}

static c8_status identity_run(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out,
                              void *scratch) {
  (void)k, (void)n_in, (void)scratch;
  if (out[0]->data != in[0]->data) memmove(out[0]->data, in[0]->data, c8_nbytes(in[0]));
  if (n_out > 1 && out[1]) memset(out[1]->data, 1, c8_nbytes(out[1]));
  return CALIB8_OK;
}

/* Identity moves values (calibration derives its histogram) but stays FP32 in the plan, as it always has: no
   model or test has needed int8 carried through it. Dropout is not treated as a move: its optional second
   output is a mask. */
const c8_op_def c8_op_identity = {
    .name = "Identity", .domain = "", .prepare = identity_prepare, .run = identity_run,
    .qrole = C8_QROLE_NONE, .values = C8_VALUES_MOVED, .batch = C8_BATCH_ANY_AXIS, .fuse = C8_FUSE_NONE};
/* Dropout's ratio (and is_test before 7) are attributes before opset 12, inputs after; in inference it is the
 * identity at every opset, so the attributes are dropped and ratio keeps its default. */
static c8_status dropout_upgrade(c8_graph *g, int k, int from, int to) {
  (void)to;
  if (from < 12) {
    c8_node_remove_attr(&g->nodes[k], "ratio");
    c8_node_remove_attr(&g->nodes[k], "is_test");
  }
  return CALIB8_OK;
}

const c8_op_def c8_op_dropout = {
    .name = "Dropout", .domain = "", .prepare = identity_prepare, .run = identity_run,
    .qrole = C8_QROLE_NONE, .values = C8_VALUES_COMPUTED, .batch = C8_BATCH_ANY_AXIS, .fuse = C8_FUSE_NONE, .upgrade = dropout_upgrade};
