/* The intermediate representation: values (tensors) and nodes (operators),
 * kept in topological order once c8_graph_toposort has run. */
#ifndef C8_GRAPH_GRAPH_H
#define C8_GRAPH_GRAPH_H

#include <stdbool.h>
#include <stdint.h>

#include "core/tensor.h"

struct c8_op_def;

/* ONNX AttributeProto.AttributeType numbering. */
enum {
  C8_ATTR_FLOAT = 1,
  C8_ATTR_INT = 2,
  C8_ATTR_STRING = 3,
  C8_ATTR_TENSOR = 4,
  C8_ATTR_GRAPH = 5,
  C8_ATTR_FLOATS = 6,
  C8_ATTR_INTS = 7,
  C8_ATTR_STRINGS = 8,
};

typedef struct c8_attr {
  char *name;
  int type;
  float f;
  int64_t i;
  char *s;          /* STRING (NUL-terminated copy) */
  int n;            /* element count of floats / ints / strings */
  float *floats;
  int64_t *ints;
  char **strings;
  c8_tensor *t;     /* TENSOR: owned, data from c8_alloc */
} c8_attr;

typedef struct c8_node {
  char *name;       /* never NULL: "<op_type>_<index>" when the model leaves it empty */
  char *op_type;
  char *domain;     /* "" for the default ai.onnx domain */
  int n_in, n_out;
  int *in;          /* value ids; -1 for an omitted optional input */
  int *out;         /* value ids; -1 for an omitted optional output */
  int n_attr;
  c8_attr *attr;
  const struct c8_op_def *def;
  int origin;       /* index of the node in the model as loaded; -1 for nodes made by passes */
} c8_node;

typedef struct c8_value {
  char *name;
  c8_tensor t;          /* dtype and shape; data != NULL only for constants */
  bool is_const;        /* initializer or folded constant */
  bool owns_data;       /* t.data came from c8_alloc and is freed with the graph */
  /* Declared type of a graph input/output: rank -1 when not declared. */
  int decl_rank;
  calib8_dtype decl_dtype;
  int64_t decl_dims[C8_MAX_RANK];  /* -1 for a dynamic dimension */
  char *decl_dim_names[C8_MAX_RANK];
} c8_value;

typedef struct c8_graph {
  c8_value *values;
  int n_values, cap_values;
  c8_node *nodes;
  int n_nodes, cap_nodes;
  int *inputs;      /* graph inputs that are not initializers */
  int n_inputs;
  int *outputs;
  int n_outputs;
  int opset;        /* ai.onnx opset */
  int64_t ir_version;
  /* name -> value id hash table (open addressing) */
  int *hash;
  int hash_cap;
} c8_graph;

c8_graph *c8_graph_new(void);
void c8_graph_destroy(c8_graph *g);
/* Deep copy (constants included). NULL on out-of-memory. */
c8_graph *c8_graph_clone(const c8_graph *g);

/* Value lookup/creation by name. Returns the id, or -1 (find) / C8 error (<0) on OOM. */
int c8_graph_find_value(const c8_graph *g, const char *name);
int c8_graph_get_or_add_value(c8_graph *g, const char *name);
/* A new value with a unique name derived from `hint`. */
int c8_graph_add_unique_value(c8_graph *g, const char *hint);
/* Appends a node; copies strings; returns its index or -1 on OOM. Attributes are added after. */
int c8_graph_add_node(c8_graph *g, const char *name, const char *op_type, const char *domain, int n_in,
                      const int *in, int n_out, const int *out);
c8_attr *c8_node_add_attr(c8_node *node, const char *name, int type); /* NULL on OOM */
/* Rewriting nodes (opset upgrades, passes): new inputs (copied), a new op type (its definition looked up again),
 * an attribute removed (no-op when absent). CALIB8_OUT_OF_MEMORY. */
c8_status c8_node_set_inputs(c8_node *n, int n_in, const int *in);
c8_status c8_node_set_op(c8_node *n, const char *op_type);
void c8_node_remove_attr(c8_node *n, const char *name);
/* A new constant value named after `hint` holding a copy of `data`; its id, or -1 on out-of-memory. */
int c8_graph_add_const(c8_graph *g, const char *hint, calib8_dtype dtype, int rank, const int64_t *dims,
                       const void *data);
/* Rewrites every node into its form at opset `to` (each op's c8_op_def.upgrade: attributes that became inputs,
 * changed semantics), sets g->opset and re-sorts. Needed to write per-channel QuantizeLinear/DequantizeLinear
 * (opset 13) for models exported at older opsets. No-op when g->opset >= to. Ids are kept (rewrites append
 * nodes and values); the graph is left unsorted: call c8_graph_toposort after. CALIB8_UNSUPPORTED naming the node
 * when a node has no opset-`to` form (such as nearest downsampling with legacy rounding). */
c8_status c8_graph_upgrade_opset(c8_graph *g, int to);
/* Makes value `id` a constant holding `t` (the graph takes ownership of t->data, which must be c8_alloc'd). */
void c8_graph_set_const(c8_graph *g, int id, c8_tensor t);

/* Attribute lookup. */
const c8_attr *c8_node_attr(const c8_node *node, const char *name);
int64_t c8_attr_int(const c8_node *node, const char *name, int64_t dflt);
float c8_attr_float(const c8_node *node, const char *name, float dflt);
const char *c8_attr_string(const c8_node *node, const char *name, const char *dflt);
/* Returns the array and sets *n, or NULL with *n = 0 when absent. */
const int64_t *c8_attr_ints(const c8_node *node, const char *name, int *n);
const float *c8_attr_floats(const c8_node *node, const char *name, int *n);

/* Number of nodes that read value `id` (graph outputs count as one reader). */
int c8_graph_use_count(const c8_graph *g, int id);
int c8_graph_producer(const c8_graph *g, int id); /* node index or -1 */
bool c8_graph_is_output(const c8_graph *g, int id);

/* Sorts nodes topologically (stable: keeps the model's order where it can).
 * Fails with CALIB8_MALFORMED_MODEL naming a node on a cycle or reading an undefined value. */
c8_status c8_graph_toposort(c8_graph *g);
/* Removes nodes none of whose outputs reach a graph output, then unused values' data. */
c8_status c8_graph_remove_dead(c8_graph *g);
/* Removes node i (does not touch values). */
void c8_graph_remove_node(c8_graph *g, int i);

/* Passes (src/graph/pass-*.c). */
c8_status c8_graph_fold_constants(c8_graph *g);   /* nodes whose inputs are all constant */
c8_status c8_graph_fold_batchnorm(c8_graph *g);   /* BatchNormalization after Conv into the Conv */
/* Cross-layer equalization (pass-cle.c; Nagel et al., ICCV 2019, section 4.1) of every Conv -> [Relu |
 * LeakyRelu | MaxPool] -> Conv chain whose intermediate tensors feed only that chain: rescales the weights so
 * that each channel has the same range in both convolutions, leaving the FP32 function unchanged. Sweeps all
 * pairs up to `iterations` (>= 1) times, stopping early when the scales settle. *pairs_out (may be NULL)
 * receives the number of pairs. CALIB8_INVALID_ARGUMENT for iterations < 1, CALIB8_OUT_OF_MEMORY. */
c8_status c8_graph_equalize(c8_graph *g, int iterations, int *pairs_out);
/* Integer folding (pass-int8.c): DequantizeLinear -> Conv -> [Relu | Clip] -> QuantizeLinear chains into
 * com.calib8 QConv nodes on 8-bit tensors; what it cannot fold stays as fake quantization. *folded (may be
 * NULL) receives the number of chains. Run before constant folding (which would turn the weights'
 * DequantizeLinear into float constants). Sessions apply it to their own copy unless CALIB8_INT8=0. */
c8_status c8_graph_fold_int8(c8_graph *g, int *folded);
/* All passes used for an optimized session, in order. */
c8_status c8_graph_optimize(c8_graph *g);

#endif
