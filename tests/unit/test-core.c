/* Core unit tests: .npy round trips, topological sort, the memory planner, constant folding, error messages,
 * and the loader's initializer encodings (typed fields, external data, inputs that are initializers).
 * Runs from the source tree (CTest sets the working directory): fixtures are in tests/unit/fixtures/ and
 * tests/fault/fixtures/ (written by tests/fault/make_fixtures.py). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "data/npy.h"
#include "graph/graph.h"
#include "load/model.h"
#include "run/plan.h"
#include "run/session.h"

#define UNIT_FIX "tests/unit/fixtures/"
#define FAULT_FIX "tests/fault/fixtures/"

/* ---- helpers ---------------------------------------------------------------------------------------------- */

static c8_tensor make_tensor(c8_dtype dt, int rank, const int64_t *dims) {
  c8_tensor t = {.dtype = dt, .rank = rank};
  for (int i = 0; i < rank; i++) t.dims[i] = dims[i];
  t.data = c8_alloc(c8_nbytes(&t));
  return t;
}

/* Deterministic, dtype-appropriate values (negative ones where the type has them). */
static void fill(c8_tensor *t) {
  int64_t n = c8_numel(t);
  for (int64_t i = 0; i < n; i++) {
    switch (t->dtype) {
      case CALIB8_FLOAT: ((float *)t->data)[i] = (float)(i * 0.37 - 3.5); break;
      case CALIB8_INT64: ((int64_t *)t->data)[i] = (i - 7) * (INT64_C(1) << 35); break;
      case CALIB8_INT32: ((int32_t *)t->data)[i] = (int32_t)(i * 100003 - 500000); break;
      case CALIB8_INT8: ((int8_t *)t->data)[i] = (int8_t)(i * 37 % 256 - 128); break;
      case CALIB8_UINT8: ((uint8_t *)t->data)[i] = (uint8_t)(i * 53 % 256); break;
      case CALIB8_BOOL: ((uint8_t *)t->data)[i] = (uint8_t)(i % 3 == 0); break;
      default: break;
    }
  }
}

static bool same_tensor(const c8_tensor *a, const c8_tensor *b) {
  return a->dtype == b->dtype && c8_same_shape(a, b) &&
         (c8_nbytes(a) == 0 || memcmp(a->data, b->data, c8_nbytes(a)) == 0);
}

/* Adds a node or fails the test run (graph construction errors are bugs in the test). */
static int add_node(c8_graph *g, const char *name, const char *op, int n_in, const int *in, int n_out,
                    const int *out) {
  int k = c8_graph_add_node(g, name, op, "", n_in, in, n_out, out);
  CHECK(k >= 0);
  if (k >= 0) CHECK(g->nodes[k].def != NULL);
  return k;
}

static void set_io(c8_graph *g, int n_in, const int *in, int n_out, const int *out) {
  g->inputs = malloc(sizeof(int) * (size_t)(n_in + 1));
  g->outputs = malloc(sizeof(int) * (size_t)(n_out + 1));
  memcpy(g->inputs, in, sizeof(int) * (size_t)n_in);
  memcpy(g->outputs, out, sizeof(int) * (size_t)n_out);
  g->n_inputs = n_in;
  g->n_outputs = n_out;
}

static int value(c8_graph *g, const char *name) {
  int id = c8_graph_get_or_add_value(g, name);
  CHECK(id >= 0);
  return id;
}

/* ---- .npy ------------------------------------------------------------------------------------------------- */

static void test_npy_round_trip(void) {
  const c8_dtype dtypes[] = {CALIB8_FLOAT, CALIB8_INT64, CALIB8_INT32, CALIB8_INT8, CALIB8_UINT8, CALIB8_BOOL};
  const int64_t dims[] = {3, 2, 5, 4};
  char dir[] = "/tmp/calib8-test-core-XXXXXX";
  CHECK(mkdtemp(dir) != NULL);
  for (size_t d = 0; d < sizeof dtypes / sizeof dtypes[0]; d++) {
    for (int rank = 0; rank <= 4; rank++) {
      c8_tensor t = make_tensor(dtypes[d], rank, dims);
      fill(&t);
      /* In memory. */
      void *bytes = NULL;
      size_t len = 0;
      c8_tensor back;
      CHECK_EQ_INT(c8_npy_serialize(&t, &bytes, &len), CALIB8_OK);
      CHECK_EQ_INT((len - c8_nbytes(&t)) % 64, 0); /* header padded so the data starts aligned, as numpy does */
      CHECK_EQ_INT(c8_npy_parse(bytes, len, "round trip", &back), CALIB8_OK);
      if (!same_tensor(&t, &back))
        fprintf(stderr, "npy in-memory round trip differs: %s rank %d\n", calib8_dtype_name(dtypes[d]), rank);
      CHECK(same_tensor(&t, &back));
      c8_free(back.data);
      /* numpy's header for a 1-tuple has a trailing comma; rank 0 is "()". */
      const char *shape = strstr((const char *)bytes + 10, "'shape': (");
      CHECK(shape != NULL);
      if (shape && rank == 0) CHECK(strncmp(shape, "'shape': ()", 11) == 0);
      if (shape && rank == 1) CHECK(strncmp(shape, "'shape': (3,)", 13) == 0);
      if (shape && rank == 2) CHECK(strncmp(shape, "'shape': (3, 2)", 15) == 0);
      free(bytes);
      /* Through a file. */
      char path[256];
      snprintf(path, sizeof path, "%s/t_%s_%d.npy", dir, calib8_dtype_name(dtypes[d]), rank);
      CHECK_EQ_INT(c8_npy_write(path, &t), CALIB8_OK);
      CHECK_EQ_INT(c8_npy_read(path, &back), CALIB8_OK);
      CHECK(same_tensor(&t, &back));
      c8_free(back.data);
      unlink(path);
      c8_free(t.data);
    }
  }
  /* An empty tensor. */
  const int64_t zdims[] = {2, 0, 3};
  c8_tensor z = make_tensor(CALIB8_FLOAT, 3, zdims), back;
  void *bytes = NULL;
  size_t len = 0;
  CHECK_EQ_INT(c8_npy_serialize(&z, &bytes, &len), CALIB8_OK);
  CHECK_EQ_INT(c8_npy_parse(bytes, len, "empty", &back), CALIB8_OK);
  CHECK(same_tensor(&z, &back));
  free(bytes);
  c8_free(back.data);
  c8_free(z.data);
  rmdir(dir);
}

static void test_npy_numpy_file(void) {
  /* Written by numpy (np.save) in make_fixtures.py: float32 arange(6).reshape(2, 3). */
  c8_tensor t;
  CHECK_EQ_INT(c8_npy_read(FAULT_FIX "x.npy", &t), CALIB8_OK);
  CHECK_EQ_INT(t.dtype, CALIB8_FLOAT);
  CHECK_EQ_INT(t.rank, 2);
  CHECK_EQ_INT(t.dims[0], 2);
  CHECK_EQ_INT(t.dims[1], 3);
  if (t.data)
    for (int i = 0; i < 6; i++) CHECK_NEAR(((float *)t.data)[i], i, 0);
  c8_free(t.data);
  CHECK_EQ_INT(c8_npy_read(FAULT_FIX "x_int64.npy", &t), CALIB8_OK);
  CHECK_EQ_INT(t.dtype, CALIB8_INT64);
  if (t.data) CHECK_EQ_INT(((int64_t *)t.data)[5], 5);
  c8_free(t.data);
  /* Malformed files fail with a message naming the file. */
  CHECK(c8_npy_read(FAULT_FIX "fortran.npy", &t) != CALIB8_OK);
  CHECK_STR_CONTAINS(calib8_last_error(), "fortran.npy");
  CHECK(c8_npy_read(FAULT_FIX "truncated_data.npy", &t) != CALIB8_OK);
  CHECK_STR_CONTAINS(calib8_last_error(), "truncated");
}

/* ---- graph ------------------------------------------------------------------------------------------------ */

static void test_toposort_out_of_order(void) {
  c8_graph *g = c8_graph_new();
  int a = value(g, "a"), b = value(g, "b"), c = value(g, "c"), d = value(g, "d"), e = value(g, "e");
  /* Written last-first: n3 reads c and b (made by n2 and n1); n2 reads b; n1 reads a. */
  add_node(g, "n3", "Identity", 1, (int[]){c}, 1, (int[]){d});
  add_node(g, "n2", "Identity", 1, (int[]){b}, 1, (int[]){c});
  add_node(g, "side", "Identity", 1, (int[]){a}, 1, (int[]){e});
  add_node(g, "n1", "Identity", 1, (int[]){a}, 1, (int[]){b});
  set_io(g, 1, (int[]){a}, 2, (int[]){d, e});
  CHECK_EQ_INT(c8_graph_toposort(g), CALIB8_OK);
  CHECK_EQ_INT(g->n_nodes, 4);
  /* Stable: the first ready node in model order each time. */
  const char *want[] = {"side", "n1", "n2", "n3"};
  for (int i = 0; i < 4 && i < g->n_nodes; i++) {
    if (strcmp(g->nodes[i].name, want[i]) != 0)
      fprintf(stderr, "toposort position %d: %s, expected %s\n", i, g->nodes[i].name, want[i]);
    CHECK(strcmp(g->nodes[i].name, want[i]) == 0);
  }
  /* Every node's inputs come from earlier nodes or graph inputs. */
  for (int i = 0; i < g->n_nodes; i++) {
    int p = c8_graph_producer(g, g->nodes[i].in[0]);
    CHECK(p < i);
  }
  c8_graph_destroy(g);
}

static void test_toposort_errors(void) {
  /* A cycle: p = Identity(q), q = Identity(p). */
  c8_graph *g = c8_graph_new();
  int x = value(g, "x"), p = value(g, "p"), q = value(g, "q"), y = value(g, "y");
  add_node(g, "loop_a", "Identity", 1, (int[]){q}, 1, (int[]){p});
  add_node(g, "loop_b", "Identity", 1, (int[]){p}, 1, (int[]){q});
  add_node(g, "out", "Identity", 1, (int[]){x}, 1, (int[]){y});
  set_io(g, 1, (int[]){x}, 1, (int[]){y});
  CHECK_EQ_INT(c8_graph_toposort(g), CALIB8_MALFORMED_MODEL);
  CHECK_STR_CONTAINS(calib8_last_error(), "node 'loop_a' (Identity) is on a cycle: the graph cannot be ordered");
  c8_graph_destroy(g);

  /* A node reading a value nothing defines. */
  g = c8_graph_new();
  x = value(g, "x");
  int ghost = value(g, "ghost");
  y = value(g, "y");
  add_node(g, "reader", "Identity", 1, (int[]){ghost}, 1, (int[]){y});
  set_io(g, 1, (int[]){x}, 1, (int[]){y});
  CHECK_EQ_INT(c8_graph_toposort(g), CALIB8_MALFORMED_MODEL);
  CHECK_STR_CONTAINS(calib8_last_error(),
                     "node 'reader' (Identity) reads tensor 'ghost', which no node, initializer or graph input defines");
  c8_graph_destroy(g);

  /* Two producers of one value. */
  g = c8_graph_new();
  x = value(g, "x");
  y = value(g, "y");
  add_node(g, "first", "Identity", 1, (int[]){x}, 1, (int[]){y});
  add_node(g, "second", "Identity", 1, (int[]){x}, 1, (int[]){y});
  set_io(g, 1, (int[]){x}, 1, (int[]){y});
  CHECK_EQ_INT(c8_graph_toposort(g), CALIB8_MALFORMED_MODEL);
  CHECK_STR_CONTAINS(calib8_last_error(), "tensor 'y' is produced by both node 'first' and node 'second'");
  c8_graph_destroy(g);
}

/* ---- planner ---------------------------------------------------------------------------------------------- */

#define CHAIN 8
#define CHAIN_N 1000 /* floats per activation: 4000 bytes, 4032 after 64-byte alignment */

static void test_plan_reuses_memory(void) {
  c8_graph *g = c8_graph_new();
  int v[CHAIN + 1];
  for (int i = 0; i <= CHAIN; i++) {
    char name[16];
    snprintf(name, sizeof name, "v%d", i);
    v[i] = value(g, name);
  }
  for (int i = 0; i < CHAIN; i++) {
    char name[16];
    snprintf(name, sizeof name, "id%d", i);
    add_node(g, name, "Identity", 1, &v[i], 1, &v[i + 1]);
  }
  set_io(g, 1, &v[0], 1, &v[CHAIN]);
  g->opset = 13;
  CHECK_EQ_INT(c8_graph_toposort(g), CALIB8_OK);

  calib8_tensor x = {.dtype = CALIB8_FLOAT, .rank = 2, .dims = {4, CHAIN_N / 4}};
  float *data = malloc(sizeof(float) * CHAIN_N);
  for (int i = 0; i < CHAIN_N; i++) data[i] = (float)i * 0.5f - 7;
  x.data = data;
  c8_plan *p = NULL;
  CHECK_EQ_INT(c8_plan_build(g, &x, NULL, &p), CALIB8_OK);
  if (p) {
    size_t one = (CHAIN_N * sizeof(float) + C8_ALIGN - 1) / C8_ALIGN * C8_ALIGN;
    size_t sum = one * CHAIN; /* every activation v1..v8 in its own buffer */
    CHECK_EQ_INT(p->n_steps, CHAIN);
    CHECK(p->arena_bytes < sum);
    /* A chain needs two live buffers at a time (a step's input and output). */
    CHECK(p->arena_bytes <= 2 * one);
    if (!(p->arena_bytes <= 2 * one))
      fprintf(stderr, "arena %zu bytes for a chain of %d activations of %zu bytes\n", p->arena_bytes, CHAIN, one);
    CHECK_EQ_INT(c8_plan_run(p, &x, NULL, NULL), CALIB8_OK);
    /* A step's input and output never partially overlap (an exact alias would be a legal in-place Identity);
       activations live in the arena. */
    for (int s = 0; s < p->n_steps; s++) {
      const char *in = p->steps[s].in[0]->data, *out = p->steps[s].out[0]->data;
      CHECK(in && out && (in == out || in + one <= out || out + one <= in));
      CHECK(out >= (const char *)p->arena && out + one <= (const char *)p->arena + p->arena_bytes);
    }
    const float *y = p->rt[v[CHAIN]].data;
    CHECK(y && memcmp(y, data, sizeof(float) * CHAIN_N) == 0);
    CHECK(c8_plan_matches(p, &x));
    calib8_tensor other = x;
    other.dims[0] = 2;
    CHECK(!c8_plan_matches(p, &other));
  }
  c8_plan_destroy(p);
  free(data);
  c8_graph_destroy(g);
}

/* ---- constant folding ------------------------------------------------------------------------------------- */

/* Builds: k = Constant([1.5, -2, 3]); k1 = Identity(k); y = Identity(k1); z = Identity(x). */
static c8_graph *const_chain_graph(void) {
  c8_graph *g = c8_graph_new();
  g->opset = 13;
  int x = value(g, "x"), k = value(g, "k"), k1 = value(g, "k1"), y = value(g, "y"), z = value(g, "z");
  int c = add_node(g, "make_k", "Constant", 0, NULL, 1, (int[]){k});
  c8_attr *a = c8_node_add_attr(&g->nodes[c], "value", C8_ATTR_TENSOR);
  CHECK(a != NULL);
  a->t = calloc(1, sizeof *a->t);
  const int64_t dims[] = {3};
  *a->t = make_tensor(CALIB8_FLOAT, 1, dims);
  memcpy(a->t->data, (float[]){1.5f, -2.0f, 3.0f}, sizeof(float) * 3);
  add_node(g, "copy_k", "Identity", 1, (int[]){k}, 1, (int[]){k1});
  add_node(g, "copy_k1", "Identity", 1, (int[]){k1}, 1, (int[]){y});
  add_node(g, "copy_x", "Identity", 1, (int[]){x}, 1, (int[]){z});
  set_io(g, 1, (int[]){x}, 2, (int[]){y, z});
  CHECK_EQ_INT(c8_graph_toposort(g), CALIB8_OK);
  return g;
}

static void test_constant_folding(void) {
  c8_graph *g = const_chain_graph();
  CHECK_EQ_INT(c8_graph_optimize(g), CALIB8_OK);
  CHECK_EQ_INT(g->n_nodes, 1);
  if (g->n_nodes == 1) CHECK(strcmp(g->nodes[0].name, "copy_x") == 0);
  const c8_value *y = &g->values[c8_graph_find_value(g, "y")];
  CHECK(y->is_const);
  CHECK_EQ_INT(y->t.dtype, CALIB8_FLOAT);
  CHECK_EQ_INT(y->t.rank, 1);
  CHECK_EQ_INT(y->t.dims[0], 3);
  if (y->t.data) {
    CHECK_NEAR(((float *)y->t.data)[0], 1.5, 0);
    CHECK_NEAR(((float *)y->t.data)[2], 3.0, 0);
  }
  c8_graph_destroy(g);

  /* Through a session: one step left, and the folded output is served as is. */
  calib8_model model = {.graph = const_chain_graph(), .path = NULL};
  calib8_session *s = NULL;
  calib8_session_options o = calib8_session_options_default();
  o.threads = 1;
  CHECK_EQ_INT(calib8_session_create(&model, &o, &s), CALIB8_OK);
  if (s) {
    calib8_tensor x = {.dtype = CALIB8_FLOAT, .rank = 1, .dims = {2}, .data = (float[]){4, 5}};
    const char *names[] = {"x"};
    CHECK_EQ_INT(calib8_session_run(s, 1, names, &x), CALIB8_OK);
    CHECK_EQ_INT(c8_session_plan(s)->n_steps, 1);
    calib8_tensor y, z;
    CHECK_EQ_INT(calib8_session_output(s, 0, &y), CALIB8_OK);
    CHECK_EQ_INT(calib8_session_output(s, 1, &z), CALIB8_OK);
    CHECK(strcmp(calib8_session_output_name(s, 0), "y") == 0);
    CHECK_EQ_INT(y.dims[0], 3);
    if (y.data) CHECK_NEAR(((float *)y.data)[1], -2.0, 0);
    CHECK_EQ_INT(z.dims[0], 2);
    if (z.data) CHECK_NEAR(((float *)z.data)[1], 5.0, 0);
  }
  calib8_session_destroy(s);
  /* The model's own graph is untouched by the session's optimization. */
  CHECK_EQ_INT(model.graph->n_nodes, 4);
  /* Without optimization every node stays, and the constant chain is folded by the planner instead. */
  o.optimize = 0;
  s = NULL;
  CHECK_EQ_INT(calib8_session_create(&model, &o, &s), CALIB8_OK);
  if (s) {
    calib8_tensor x = {.dtype = CALIB8_FLOAT, .rank = 1, .dims = {2}, .data = (float[]){4, 5}};
    CHECK_EQ_INT(calib8_session_run(s, 1, NULL, &x), CALIB8_OK);
    CHECK_EQ_INT(c8_session_plan(s)->n_steps, 1);
    calib8_tensor y;
    CHECK_EQ_INT(calib8_session_output(s, 0, &y), CALIB8_OK);
    if (y.data) CHECK_NEAR(((float *)y.data)[0], 1.5, 0);
  }
  calib8_session_destroy(s);
  c8_graph_destroy(model.graph);
}

/* ---- errors ----------------------------------------------------------------------------------------------- */

static void test_error_prefix(void) {
  CHECK_EQ_INT(c8_error(CALIB8_IO, "cannot open '%s'", "a.npy"), CALIB8_IO);
  CHECK(strcmp(calib8_last_error(), "cannot open 'a.npy'") == 0);
  CHECK_EQ_INT(c8_error_prefix(CALIB8_MALFORMED_MODEL, "model '%s'", "m.onnx"), CALIB8_MALFORMED_MODEL);
  CHECK(strcmp(calib8_last_error(), "model 'm.onnx': cannot open 'a.npy'") == 0);
  /* Nested prefixes read outside-in. */
  c8_error_prefix(CALIB8_MALFORMED_MODEL, "outer");
  CHECK(strcmp(calib8_last_error(), "outer: model 'm.onnx': cannot open 'a.npy'") == 0);
  /* Long texts are truncated, never overflowed. */
  char big[2000];
  memset(big, 'p', sizeof big - 1);
  big[sizeof big - 1] = 0;
  c8_error(CALIB8_IO, "%s", big);
  CHECK(strlen(calib8_last_error()) < 1024);
  c8_error_prefix(CALIB8_IO, "%s", big);
  size_t n = strlen(calib8_last_error());
  CHECK(n < 1024 && n > 500);
  CHECK(strncmp(calib8_last_error(), "ppp", 3) == 0);
  c8_error(CALIB8_IO, "short");
  c8_error_prefix(CALIB8_IO, "%s", big);
  n = strlen(calib8_last_error());
  CHECK(n < 1024);
  CHECK(strstr(calib8_last_error(), ": ") != NULL);
  CHECK(strcmp(calib8_status_string(CALIB8_MALFORMED_MODEL), "malformed model") == 0);
  CHECK(strcmp(calib8_status_string(CALIB8_OK), "ok") == 0);
}

/* ---- loader ----------------------------------------------------------------------------------------------- */

static const c8_value *find(const calib8_model *m, const char *name) {
  int id = c8_graph_find_value(m->graph, name);
  CHECK(id >= 0);
  return id >= 0 ? &m->graph->values[id] : NULL;
}

static void test_load_typed_fields(void) {
  calib8_model *m = NULL;
  CHECK_EQ_INT(calib8_model_load(UNIT_FIX "typed_fields.onnx", &m), CALIB8_OK);
  if (!m) {
    fprintf(stderr, "%s\n", calib8_last_error());
    return;
  }
  const c8_value *wf = find(m, "wf"), *wi = find(m, "wi"), *wq = find(m, "wq");
  if (wf && wi && wq) {
    CHECK(wf->is_const && wi->is_const && wq->is_const);
    CHECK_EQ_INT(wf->t.dtype, CALIB8_FLOAT);
    CHECK_EQ_INT(wf->t.rank, 2);
    const float *f = wf->t.data;
    CHECK_NEAR(f[0], 1.5, 0);
    CHECK_NEAR(f[1], -2.0, 0);
    CHECK_NEAR(f[2], 3.25, 0);
    CHECK_NEAR(f[3], 0.0, 0);
    CHECK_EQ_INT(wi->t.dtype, CALIB8_INT64);
    const int64_t *i = wi->t.data;
    CHECK_EQ_INT(i[0], 7);
    CHECK_EQ_INT(i[1], -8);
    CHECK_EQ_INT(i[2], INT64_C(1) << 40);
    CHECK_EQ_INT(wq->t.dtype, CALIB8_INT8);
    const int8_t *q = wq->t.data;
    CHECK_EQ_INT(q[0], -128);
    CHECK_EQ_INT(q[1], -1);
    CHECK_EQ_INT(q[2], 0);
    CHECK_EQ_INT(q[3], 127);
  }
  CHECK_EQ_INT(calib8_model_parameter_count(m), 4 + 3 + 4);
  CHECK_EQ_INT(calib8_model_input_count(m), 0);
  /* A model without inputs runs: the outputs are the initializers. */
  calib8_session *s = NULL;
  CHECK_EQ_INT(calib8_session_create(m, NULL, &s), CALIB8_OK);
  if (s) {
    CHECK_EQ_INT(calib8_session_run(s, 0, NULL, NULL), CALIB8_OK);
    calib8_tensor oq;
    CHECK_EQ_INT(calib8_session_output(s, 2, &oq), CALIB8_OK);
    CHECK_EQ_INT(oq.dtype, CALIB8_INT8);
    if (oq.data) CHECK_EQ_INT(((int8_t *)oq.data)[0], -128);
  }
  calib8_session_destroy(s);
  calib8_model_destroy(m);
}

static void test_load_external_data(void) {
  calib8_model *m = NULL;
  /* The data file is resolved next to the model, not in the working directory. */
  CHECK_EQ_INT(calib8_model_load(UNIT_FIX "external.onnx", &m), CALIB8_OK);
  if (!m) {
    fprintf(stderr, "%s\n", calib8_last_error());
    return;
  }
  const c8_value *we = find(m, "we"), *be = find(m, "be");
  if (we && be) {
    CHECK(we->is_const && be->is_const);
    CHECK_EQ_INT(we->t.dtype, CALIB8_FLOAT);
    CHECK_EQ_INT(we->t.rank, 2);
    CHECK_EQ_INT(we->t.dims[0], 3);
    CHECK_EQ_INT(we->t.dims[1], 4);
    for (int i = 0; i < 12 && we->t.data; i++) CHECK_NEAR(((float *)we->t.data)[i], i * 0.5, 0);
    CHECK_EQ_INT(be->t.dtype, CALIB8_INT64);
    for (int i = 0; i < 3 && be->t.data; i++) CHECK_EQ_INT(((int64_t *)be->t.data)[i], 5 + i);
  }
  CHECK_EQ_INT(calib8_model_parameter_count(m), 12 + 3);
  calib8_model_destroy(m);
}

static void test_load_input_that_is_initializer(void) {
  calib8_model *m = NULL;
  CHECK_EQ_INT(calib8_model_load(UNIT_FIX "input_initializer.onnx", &m), CALIB8_OK);
  if (!m) {
    fprintf(stderr, "%s\n", calib8_last_error());
    return;
  }
  /* 'w' is listed as a graph input but has an initializer: a constant, not an input to feed. */
  CHECK_EQ_INT(calib8_model_input_count(m), 1);
  calib8_value_info vi;
  CHECK_EQ_INT(calib8_model_input_info(m, 0, &vi), CALIB8_OK);
  CHECK(strcmp(vi.name, "x") == 0);
  const c8_value *w = find(m, "w");
  CHECK(w && w->is_const);
  calib8_session *s = NULL;
  CHECK_EQ_INT(calib8_session_create(m, NULL, &s), CALIB8_OK);
  if (s) {
    calib8_tensor x = {.dtype = CALIB8_FLOAT, .rank = 1, .dims = {3}, .data = (float[]){7, 8, 9}};
    const char *names[] = {"x"};
    CHECK_EQ_INT(calib8_session_run(s, 1, names, &x), CALIB8_OK);
    calib8_tensor z;
    CHECK_EQ_INT(calib8_session_output(s, 1, &z), CALIB8_OK);
    if (z.data) CHECK_NEAR(((float *)z.data)[2], 3.0, 0);
    /* Feeding 'w' is refused with the list of real inputs. */
    const char *both[] = {"x", "w"};
    calib8_tensor two[2] = {x, x};
    CHECK_EQ_INT(calib8_session_run(s, 2, both, two), CALIB8_INVALID_ARGUMENT);
    CHECK_STR_CONTAINS(calib8_last_error(), "no input named 'w' (its inputs: x)");
  }
  calib8_session_destroy(s);
  calib8_model_destroy(m);
}

/* A graph input that an op needs at prepare time (Reshape's shape): the session binds it by value, and a run
   with another value plans again. */
static void test_shape_input_bound_by_value(void) {
  calib8_model *m = NULL;
  CHECK_EQ_INT(calib8_model_load(UNIT_FIX "shape_input.onnx", &m), CALIB8_OK);
  calib8_session *s = NULL;
  if (m) CHECK_EQ_INT(calib8_session_create(m, NULL, &s), CALIB8_OK);
  if (!s) {
    calib8_model_destroy(m);
    return;
  }
  float xs[6] = {0, 1, 2, 3, 4, 5};
  int64_t shape[2] = {2, 3};
  calib8_tensor in[2] = {{.dtype = CALIB8_FLOAT, .rank = 1, .dims = {6}, .data = xs},
                         {.dtype = CALIB8_INT64, .rank = 1, .dims = {2}, .data = shape}};
  const char *names[] = {"x", "shape"};
  for (int round = 0; round < 3; round++) {
    /* 2x3, then 3x2, then 2x3 again with new x values (same plan as round 0's shape) */
    shape[0] = round == 1 ? 3 : 2;
    shape[1] = round == 1 ? 2 : 3;
    for (int i = 0; i < 6; i++) xs[i] = (float)(i + 10 * round);
    CHECK_EQ_INT(calib8_session_run(s, 2, names, in), CALIB8_OK);
    calib8_tensor y;
    CHECK_EQ_INT(calib8_session_output(s, 0, &y), CALIB8_OK);
    CHECK_EQ_INT(y.rank, 2);
    CHECK_EQ_INT(y.dims[0], shape[0]);
    CHECK_EQ_INT(y.dims[1], shape[1]);
    if (y.data) CHECK_NEAR(((float *)y.data)[5], 2.0 * (5 + 10 * round), 0);
  }
  /* a shape that does not fit x is refused, naming the node */
  shape[0] = 4;
  shape[1] = 2;
  CHECK(calib8_session_run(s, 2, names, in) != CALIB8_OK);
  CHECK_STR_CONTAINS(calib8_last_error(), "reshape");
  calib8_session_destroy(s);
  calib8_model_destroy(m);
}

int main(void) {
  CHECK_RUN(test_npy_round_trip);
  CHECK_RUN(test_npy_numpy_file);
  CHECK_RUN(test_toposort_out_of_order);
  CHECK_RUN(test_toposort_errors);
  CHECK_RUN(test_plan_reuses_memory);
  CHECK_RUN(test_constant_folding);
  CHECK_RUN(test_error_prefix);
  CHECK_RUN(test_load_typed_fields);
  CHECK_RUN(test_load_external_data);
  CHECK_RUN(test_load_input_that_is_initializer);
  CHECK_RUN(test_shape_input_bound_by_value);
  return CHECK_DONE();
}
