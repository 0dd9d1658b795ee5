#include "export/onnx-write.h"

#include <stdlib.h>
#include <string.h>

#include "data/npy.h"
#include "onnx.pb-c.h"

/* Everything allocated while building the message is tracked in one pool and freed at the end:
   the protobuf-c structs only borrow pointers. */
typedef struct {
  void **ptrs;
  size_t n, cap;
  bool oom;
} pool;

static void *palloc(pool *p, size_t bytes) {
  if (p->oom) return NULL;
  if (p->n == p->cap) {
    size_t cap = p->cap ? p->cap * 2 : 256;
    void **np = c8_realloc(p->ptrs, cap * sizeof *np);
    if (!np) {
      p->oom = true;
      return NULL;
    }
    p->ptrs = np;
    p->cap = cap;
  }
  void *m = c8_calloc(1, bytes ? bytes : 1);
  if (!m) {
    p->oom = true;
    return NULL;
  }
  p->ptrs[p->n++] = m;
  return m;
}

static void pool_free(pool *p) {
  for (size_t i = 0; i < p->n; i++) c8_mfree(p->ptrs[i]);
  c8_mfree(p->ptrs);
}

static Onnx__TensorProto *make_tensor(pool *p, const char *name, const c8_tensor *t) {
  Onnx__TensorProto *tp = palloc(p, sizeof *tp);
  if (!tp) return NULL;
  onnx__tensor_proto__init(tp);
  tp->name = (char *)name;
  tp->has_data_type = 1;
  tp->data_type = t->dtype;
  tp->n_dims = (size_t)t->rank;
  tp->dims = palloc(p, sizeof(int64_t) * (size_t)(t->rank + 1));
  if (!tp->dims) return NULL;
  for (int i = 0; i < t->rank; i++) tp->dims[i] = t->dims[i];
  tp->has_raw_data = 1;
  tp->raw_data.len = c8_nbytes(t);
  tp->raw_data.data = t->data;
  return tp;
}

static Onnx__ValueInfoProto *make_value_info(pool *p, const c8_value *v) {
  Onnx__ValueInfoProto *vi = palloc(p, sizeof *vi);
  Onnx__TypeProto *tp = palloc(p, sizeof *tp);
  Onnx__TypeProto__Tensor *tt = palloc(p, sizeof *tt);
  if (!vi || !tp || !tt) return NULL;
  onnx__value_info_proto__init(vi);
  onnx__type_proto__init(tp);
  onnx__type_proto__tensor__init(tt);
  vi->name = v->name;
  vi->type = tp;
  tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
  tp->tensor_type = tt;
  tt->has_elem_type = 1;
  tt->elem_type = v->decl_dtype != CALIB8_UNDEFINED ? v->decl_dtype : (v->t.dtype ? v->t.dtype : CALIB8_FLOAT);
  if (v->decl_rank >= 0) {
    Onnx__TensorShapeProto *sh = palloc(p, sizeof *sh);
    if (!sh) return NULL;
    onnx__tensor_shape_proto__init(sh);
    sh->n_dim = (size_t)v->decl_rank;
    sh->dim = palloc(p, sizeof(*sh->dim) * (size_t)(v->decl_rank + 1));
    if (!sh->dim) return NULL;
    for (int d = 0; d < v->decl_rank; d++) {
      Onnx__TensorShapeProto__Dimension *dim = palloc(p, sizeof *dim);
      if (!dim) return NULL;
      onnx__tensor_shape_proto__dimension__init(dim);
      if (v->decl_dims[d] >= 0) {
        dim->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
        dim->dim_value = v->decl_dims[d];
      } else {
        dim->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
        dim->dim_param = v->decl_dim_names[d] ? v->decl_dim_names[d] : "?";
      }
      sh->dim[d] = dim;
    }
    tt->shape = sh;
  }
  return vi;
}

static Onnx__AttributeProto *make_attr(pool *p, const c8_attr *a) {
  Onnx__AttributeProto *ap = palloc(p, sizeof *ap);
  if (!ap) return NULL;
  onnx__attribute_proto__init(ap);
  ap->name = a->name;
  ap->has_type = 1;
  ap->type = (Onnx__AttributeProto__AttributeType)a->type;
  switch (a->type) {
    case C8_ATTR_FLOAT: ap->has_f = 1; ap->f = a->f; break;
    case C8_ATTR_INT: ap->has_i = 1; ap->i = a->i; break;
    case C8_ATTR_STRING:
      ap->has_s = 1;
      ap->s.data = (uint8_t *)a->s;
      ap->s.len = a->s ? strlen(a->s) : 0;
      break;
    case C8_ATTR_TENSOR:
      if (!(ap->t = make_tensor(p, "", a->t))) return NULL;
      break;
    case C8_ATTR_FLOATS: ap->n_floats = (size_t)a->n; ap->floats = a->floats; break;
    case C8_ATTR_INTS: ap->n_ints = (size_t)a->n; ap->ints = a->ints; break;
    case C8_ATTR_STRINGS:
      ap->n_strings = (size_t)a->n;
      ap->strings = palloc(p, sizeof(ProtobufCBinaryData) * (size_t)(a->n + 1));
      if (!ap->strings) return NULL;
      for (int i = 0; i < a->n; i++) {
        ap->strings[i].data = (uint8_t *)a->strings[i];
        ap->strings[i].len = strlen(a->strings[i]);
      }
      break;
    default:
      return NULL;
  }
  return ap;
}

c8_status c8_onnx_serialize(const c8_graph *g, const c8_onnx_write_options *o, void **out, size_t *out_len) {
  pool p = {0};
  c8_status st = CALIB8_OK;
  Onnx__ModelProto m;
  Onnx__GraphProto gp;
  Onnx__OperatorSetIdProto opset;
  Onnx__OperatorSetIdProto *opsets[1] = {&opset};
  onnx__model_proto__init(&m);
  onnx__graph_proto__init(&gp);
  onnx__operator_set_id_proto__init(&opset);
  opset.domain = "";
  opset.has_version = 1;
  opset.version = o && o->opset ? o->opset : g->opset;
  m.has_ir_version = 1;
  /* IR 7 (ONNX 1.8) covers opsets up to 13; IR 8 for 14-17, as onnx.helper picks. */
  m.ir_version = opset.version <= 13 ? 7 : 8;
  m.producer_name = (char *)(o && o->producer ? o->producer : "calib8");
  m.producer_version = CALIB8_VERSION;
  m.doc_string = o && o->doc ? (char *)o->doc : NULL;
  m.n_opset_import = 1;
  m.opset_import = opsets;
  m.graph = &gp;
  gp.name = "calib8";

  /* live constants: those read by a node or listed as outputs */
  int nv = g->n_values;
  unsigned char *used = c8_calloc((size_t)(nv ? nv : 1), 1);
  if (!used) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory writing ONNX");
  for (int i = 0; i < g->n_nodes; i++)
    for (int j = 0; j < g->nodes[i].n_in; j++)
      if (g->nodes[i].in[j] >= 0) used[g->nodes[i].in[j]] = 1;
  for (int i = 0; i < g->n_outputs; i++) used[g->outputs[i]] = 1;
  size_t n_init = 0;
  for (int v = 0; v < nv; v++) n_init += g->values[v].is_const && used[v];
  gp.initializer = palloc(&p, sizeof(*gp.initializer) * (n_init + 1));
  gp.node = palloc(&p, sizeof(*gp.node) * (size_t)(g->n_nodes + 1));
  gp.input = palloc(&p, sizeof(*gp.input) * (size_t)(g->n_inputs + 1));
  gp.output = palloc(&p, sizeof(*gp.output) * (size_t)(g->n_outputs + 1));
  if (p.oom) goto oom;
  for (int v = 0; v < nv; v++)
    if (g->values[v].is_const && used[v]) {
      Onnx__TensorProto *tp = make_tensor(&p, g->values[v].name, &g->values[v].t);
      if (!tp) goto oom;
      gp.initializer[gp.n_initializer++] = tp;
    }
  for (int i = 0; i < g->n_inputs; i++) {
    Onnx__ValueInfoProto *vi = make_value_info(&p, &g->values[g->inputs[i]]);
    if (!vi) goto oom;
    gp.input[gp.n_input++] = vi;
  }
  for (int i = 0; i < g->n_outputs; i++) {
    Onnx__ValueInfoProto *vi = make_value_info(&p, &g->values[g->outputs[i]]);
    if (!vi) goto oom;
    gp.output[gp.n_output++] = vi;
  }
  for (int i = 0; i < g->n_nodes; i++) {
    const c8_node *n = &g->nodes[i];
    Onnx__NodeProto *np = palloc(&p, sizeof *np);
    if (!np) goto oom;
    onnx__node_proto__init(np);
    np->name = n->name;
    np->op_type = n->op_type;
    np->domain = n->domain && *n->domain ? n->domain : NULL;
    np->n_input = (size_t)n->n_in;
    np->input = palloc(&p, sizeof(char *) * (size_t)(n->n_in + 1));
    np->n_output = (size_t)n->n_out;
    np->output = palloc(&p, sizeof(char *) * (size_t)(n->n_out + 1));
    np->attribute = palloc(&p, sizeof(*np->attribute) * (size_t)(n->n_attr + 1));
    if (p.oom) goto oom;
    for (int j = 0; j < n->n_in; j++) np->input[j] = n->in[j] >= 0 ? g->values[n->in[j]].name : "";
    for (int j = 0; j < n->n_out; j++) np->output[j] = n->out[j] >= 0 ? g->values[n->out[j]].name : "";
    for (int a = 0; a < n->n_attr; a++) {
      if (n->attr[a].type == C8_ATTR_GRAPH) {
        st = c8_error(CALIB8_UNSUPPORTED, "node '%s': graph attributes cannot be written", n->name);
        goto done;
      }
      Onnx__AttributeProto *ap = make_attr(&p, &n->attr[a]);
      if (!ap) goto oom;
      np->attribute[np->n_attribute++] = ap;
    }
    gp.node[gp.n_node++] = np;
  }
  {
    size_t len = onnx__model_proto__get_packed_size(&m);
    uint8_t *buf = c8_malloc(len ? len : 1);
    if (!buf) goto oom;
    onnx__model_proto__pack(&m, buf);
    *out = buf;
    *out_len = len;
  }
  goto done;
oom:
  st = c8_error(CALIB8_OUT_OF_MEMORY, "out of memory writing ONNX");
done:
  c8_mfree(used);
  pool_free(&p);
  return st;
}

c8_status c8_onnx_write(const c8_graph *g, const c8_onnx_write_options *o, const char *path) {
  void *buf;
  size_t len;
  c8_status st = c8_onnx_serialize(g, o, &buf, &len);
  if (st) return st;
  st = c8_write_file_atomic(path, buf, len);
  c8_mfree(buf);
  return st;
}
