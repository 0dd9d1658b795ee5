/* Elementwise family: broadcasting corner cases against a naive reference, integer semantics,
 * activations against hand-computed values, softmax axis rules per opset, Cast edge cases, and the
 * accuracy of the vectorizable exp/tanh in src/ops/fp-math.h, and the QuantizeLinear kernels (every ISA the
 * CPU has, bit-exact against the scalar rule, through the operator too). */
#include <float.h>
#include <stdint.h>

#include "check.h"
#include "core/cpu.h"
#include "graph/graph.h"
#include "kernels/quant/quant.h"
#include "ops/broadcast.h"
#include "ops/fp-math.h"
#include "ops/op.h"

typedef struct {
  const char *name;
  int type; /* C8_ATTR_FLOAT / INT / STRING */
  float f;
  int64_t i;
  const char *s;
} tattr;

/* Evaluates one node on the given inputs (NULL entries are omitted optional inputs). out[0]->data is
 * c8_alloc'd on success. Returns the status. */
static c8_status eval_node(const char *op, int opset, const tattr *attrs, int n_attr, int n_in, c8_tensor **in,
                           c8_tensor *out) {
  c8_graph *g = c8_graph_new();
  int ids[8], oid = c8_graph_get_or_add_value(g, "out");
  for (int i = 0; i < n_in; i++) {
    char nm[16];
    snprintf(nm, sizeof nm, "in%d", i);
    ids[i] = in[i] ? c8_graph_get_or_add_value(g, nm) : -1;
  }
  int ni = c8_graph_add_node(g, "n", op, "", n_in, ids, 1, &oid);
  c8_node *node = &g->nodes[ni];
  for (int a = 0; a < n_attr; a++) {
    c8_attr *at = c8_node_add_attr(node, attrs[a].name, attrs[a].type);
    at->f = attrs[a].f;
    at->i = attrs[a].i;
    if (attrs[a].s) at->s = strdup(attrs[a].s);
  }
  node->def = c8_op_find("", op);
  c8_status st = CALIB8_UNSUPPORTED;
  if (node->def) {
    memset(out, 0, sizeof *out);
    c8_tensor *outs[1] = {out};
    st = c8_op_eval(node, opset, in, n_in, outs, 1);
  }
  c8_graph_destroy(g);
  return st;
}

static c8_tensor tens(c8_dtype dt, int rank, const int64_t *dims, void *data) {
  c8_tensor t = {.dtype = dt, .rank = rank, .data = data};
  for (int i = 0; i < rank; i++) t.dims[i] = dims[i];
  return t;
}

/* ---- broadcasting ---- */

/* Naive numpy broadcasting reference for Add on float32. */
static void ref_add(const c8_tensor *a, const c8_tensor *b, const c8_tensor *o, float *ref) {
  int64_t n = c8_numel(o);
  for (int64_t flat = 0; flat < n; flat++) {
    int64_t idx[C8_MAX_RANK], r = flat;
    for (int d = o->rank - 1; d >= 0; d--) idx[d] = r % o->dims[d], r /= o->dims[d];
    int64_t ia = 0, ib = 0;
    for (int d = 0; d < o->rank; d++) {
      int da = d - (o->rank - a->rank), db = d - (o->rank - b->rank);
      if (da >= 0) ia = ia * a->dims[da] + (a->dims[da] == 1 ? 0 : idx[d]);
      if (db >= 0) ib = ib * b->dims[db] + (b->dims[db] == 1 ? 0 : idx[d]);
    }
    ref[flat] = ((float *)a->data)[ia] + ((float *)b->data)[ib];
  }
}

static void check_bcast_case(int ra, const int64_t *da, int rb, const int64_t *db, int r_expect,
                             const int64_t *d_expect) {
  float abuf[256], bbuf[256], ref[1024];
  c8_tensor a = tens(CALIB8_FLOAT, ra, da, abuf), b = tens(CALIB8_FLOAT, rb, db, bbuf), o;
  for (int64_t i = 0; i < c8_numel(&a); i++) abuf[i] = (float)(i * 10);
  for (int64_t i = 0; i < c8_numel(&b); i++) bbuf[i] = (float)i * 0.5f + 1000.0f;
  c8_tensor *in[2] = {&a, &b};
  c8_status st = eval_node("Add", 17, NULL, 0, 2, in, &o);
  if (st) fprintf(stderr, "%s\n", calib8_last_error());
  CHECK_EQ_INT(st, CALIB8_OK);
  if (st) return;
  CHECK_EQ_INT(o.rank, r_expect);
  for (int i = 0; i < r_expect; i++) CHECK_EQ_INT(o.dims[i], d_expect[i]);
  ref_add(&a, &b, &o, ref);
  int bad = 0;
  for (int64_t i = 0; i < c8_numel(&o); i++) bad += ((float *)o.data)[i] != ref[i];
  CHECK_EQ_INT(bad, 0);
  c8_free(o.data);
  /* The same with the operands swapped. */
  in[0] = &b, in[1] = &a;
  st = eval_node("Add", 17, NULL, 0, 2, in, &o);
  CHECK_EQ_INT(st, CALIB8_OK);
  if (st) return;
  bad = 0;
  for (int64_t i = 0; i < c8_numel(&o); i++) bad += ((float *)o.data)[i] != ref[i];
  CHECK_EQ_INT(bad, 0);
  c8_free(o.data);
}

static void test_broadcast_shapes(void) {
  check_bcast_case(3, (int64_t[]){2, 3, 4}, 1, (int64_t[]){4}, 3, (int64_t[]){2, 3, 4});
  check_bcast_case(3, (int64_t[]){2, 1, 4}, 2, (int64_t[]){3, 1}, 3, (int64_t[]){2, 3, 4});
  check_bcast_case(1, (int64_t[]){5}, 0, NULL, 1, (int64_t[]){5});                    /* scalar */
  check_bcast_case(0, NULL, 0, NULL, 0, NULL);                                        /* scalar + scalar */
  check_bcast_case(2, (int64_t[]){2, 3}, 1, (int64_t[]){1}, 2, (int64_t[]){2, 3});    /* [1] */
  check_bcast_case(4, (int64_t[]){2, 3, 4, 5}, 4, (int64_t[]){1, 3, 1, 1}, 4, (int64_t[]){2, 3, 4, 5});
  check_bcast_case(4, (int64_t[]){2, 3, 4, 5}, 3, (int64_t[]){3, 1, 1}, 4, (int64_t[]){2, 3, 4, 5});
  check_bcast_case(2, (int64_t[]){4, 3}, 2, (int64_t[]){4, 1}, 2, (int64_t[]){4, 3}); /* column */
  check_bcast_case(2, (int64_t[]){1, 3}, 2, (int64_t[]){4, 1}, 2, (int64_t[]){4, 3}); /* outer product */
  check_bcast_case(4, (int64_t[]){1, 4, 1, 6}, 4, (int64_t[]){3, 1, 5, 6}, 4, (int64_t[]){3, 4, 5, 6});
  check_bcast_case(5, (int64_t[]){2, 1, 3, 1, 2}, 4, (int64_t[]){4, 3, 1, 1}, 5, (int64_t[]){2, 4, 3, 1, 2});
  check_bcast_case(2, (int64_t[]){0, 3}, 1, (int64_t[]){3}, 2, (int64_t[]){0, 3}); /* empty */
  check_bcast_case(3, (int64_t[]){1, 1, 1}, 1, (int64_t[]){7}, 3, (int64_t[]){1, 1, 7});

  /* Incompatible shapes are rejected with both shapes named. */
  float d[12] = {0};
  c8_tensor a = tens(CALIB8_FLOAT, 2, (int64_t[]){3, 4}, d), b = tens(CALIB8_FLOAT, 1, (int64_t[]){3}, d), o;
  c8_tensor *in[2] = {&a, &b};
  CHECK_EQ_INT(eval_node("Add", 17, NULL, 0, 2, in, &o), CALIB8_INVALID_ARGUMENT);
  CHECK_STR_CONTAINS(calib8_last_error(), "[3,4] and [3] cannot be broadcast");
  /* Mismatched dtypes too. */
  int32_t di[3] = {0};
  c8_tensor c = tens(CALIB8_INT32, 1, (int64_t[]){3}, di);
  in[0] = &b, in[1] = &c;
  CHECK_EQ_INT(eval_node("Add", 17, NULL, 0, 2, in, &o), CALIB8_MALFORMED_MODEL);
  CHECK_STR_CONTAINS(calib8_last_error(), "input 1 is int32 but input 0 is float32");
}

/* The planner collapses the common layouts into a few contiguous loops. */
static void test_broadcast_collapse(void) {
  c8_tensor o = {.dtype = CALIB8_FLOAT, .rank = 4, .dims = {2, 3, 4, 5}};
  c8_tensor same = o, chan = {.rank = 4, .dims = {1, 3, 1, 1}}, scal = {.rank = 0}, last = {.rank = 1, .dims = {5}};
  c8_bcast b;
  c8_bcast_init(&b, &o, 2, (const c8_tensor *[]){&same, &same});
  CHECK_EQ_INT(b.rank, 1);
  CHECK_EQ_INT(b.dims[0], 120);
  c8_bcast_init(&b, &o, 2, (const c8_tensor *[]){&same, &scal});
  CHECK_EQ_INT(b.rank, 1);
  CHECK_EQ_INT(b.strides[1][0], 0);
  c8_bcast_init(&b, &o, 2, (const c8_tensor *[]){&same, &chan});
  CHECK_EQ_INT(b.rank, 3);
  CHECK_EQ_INT(b.dims[0], 2);
  CHECK_EQ_INT(b.dims[1], 3);
  CHECK_EQ_INT(b.dims[2], 20);
  CHECK_EQ_INT(b.strides[1][0], 0);
  CHECK_EQ_INT(b.strides[1][1], 1);
  CHECK_EQ_INT(b.strides[1][2], 0);
  c8_bcast_init(&b, &o, 2, (const c8_tensor *[]){&same, &last});
  CHECK_EQ_INT(b.rank, 2);
  CHECK_EQ_INT(b.dims[0], 24);
  CHECK_EQ_INT(b.dims[1], 5);
}

static void test_variadic_and_where(void) {
  /* Sum of [2,1], [3] and a scalar: broadcast to [2,3]. */
  float x[2] = {1, 2}, y[3] = {10, 20, 30}, z[1] = {100};
  c8_tensor a = tens(CALIB8_FLOAT, 2, (int64_t[]){2, 1}, x), b = tens(CALIB8_FLOAT, 1, (int64_t[]){3}, y),
            c = tens(CALIB8_FLOAT, 0, NULL, z), o;
  c8_tensor *in[3] = {&a, &b, &c};
  CHECK_EQ_INT(eval_node("Sum", 13, NULL, 0, 3, in, &o), CALIB8_OK);
  CHECK_EQ_INT(o.rank, 2);
  const float sum_ref[6] = {111, 121, 131, 112, 122, 132};
  for (int i = 0; i < 6; i++) CHECK_EQ_INT(((float *)o.data)[i], sum_ref[i]);
  c8_free(o.data);
  CHECK_EQ_INT(eval_node("Mean", 13, NULL, 0, 3, in, &o), CALIB8_OK);
  for (int i = 0; i < 6; i++) CHECK_NEAR(((float *)o.data)[i], sum_ref[i] / 3.0, 1e-5);
  c8_free(o.data);
  CHECK_EQ_INT(eval_node("Max", 13, NULL, 0, 3, in, &o), CALIB8_OK);
  for (int i = 0; i < 6; i++) CHECK_EQ_INT(((float *)o.data)[i], 100);
  c8_free(o.data);
  CHECK_EQ_INT(eval_node("Min", 13, NULL, 0, 1, in, &o), CALIB8_OK); /* one input: a copy */
  CHECK_EQ_INT(((float *)o.data)[1], 2);
  c8_free(o.data);

  /* Max / Min propagate NaN from either side. */
  float n1[2] = {NAN, 1}, n2[2] = {1, NAN};
  c8_tensor tn1 = tens(CALIB8_FLOAT, 1, (int64_t[]){2}, n1), tn2 = tens(CALIB8_FLOAT, 1, (int64_t[]){2}, n2);
  c8_tensor *nin[2] = {&tn1, &tn2};
  CHECK_EQ_INT(eval_node("Max", 13, NULL, 0, 2, nin, &o), CALIB8_OK);
  CHECK(isnan(((float *)o.data)[0]) && isnan(((float *)o.data)[1]));
  c8_free(o.data);
  CHECK_EQ_INT(eval_node("Min", 13, NULL, 0, 2, nin, &o), CALIB8_OK);
  CHECK(isnan(((float *)o.data)[0]) && isnan(((float *)o.data)[1]));
  c8_free(o.data);

  /* Where with condition [2,1], X [3] (int64), Y scalar. */
  uint8_t cond[2] = {1, 0};
  int64_t xv[3] = {1, 2, INT64_MAX}, yv[1] = {-5};
  c8_tensor tc = tens(CALIB8_BOOL, 2, (int64_t[]){2, 1}, cond), tx = tens(CALIB8_INT64, 1, (int64_t[]){3}, xv),
            ty = tens(CALIB8_INT64, 0, NULL, yv);
  c8_tensor *win[3] = {&tc, &tx, &ty};
  CHECK_EQ_INT(eval_node("Where", 16, NULL, 0, 3, win, &o), CALIB8_OK);
  CHECK_EQ_INT(o.dtype, CALIB8_INT64);
  const int64_t wref[6] = {1, 2, INT64_MAX, -5, -5, -5};
  for (int i = 0; i < 6; i++) CHECK(((int64_t *)o.data)[i] == wref[i]);
  c8_free(o.data);
}

/* ---- integer semantics ---- */
static void test_integer_ops(void) {
  int32_t a[6] = {-7, 7, -7, 7, INT32_MIN, 5}, b[6] = {2, -2, 3, -3, -1, 0};
  c8_tensor ta = tens(CALIB8_INT32, 1, (int64_t[]){6}, a), tb = tens(CALIB8_INT32, 1, (int64_t[]){6}, b), o;
  c8_tensor *in[2] = {&ta, &tb};
  CHECK_EQ_INT(eval_node("Div", 14, NULL, 0, 2, in, &o), CALIB8_OK);
  const int32_t div_ref[6] = {-3, -3, -2, -2, INT32_MIN, 0}; /* truncation; wrap; x/0 = 0 */
  for (int i = 0; i < 6; i++) CHECK_EQ_INT(((int32_t *)o.data)[i], div_ref[i]);
  c8_free(o.data);
  CHECK_EQ_INT(eval_node("Mod", 13, NULL, 0, 2, in, &o), CALIB8_OK);
  const int32_t mod_ref[6] = {1, -1, 2, -2, 0, 0}; /* sign of the divisor */
  for (int i = 0; i < 6; i++) CHECK_EQ_INT(((int32_t *)o.data)[i], mod_ref[i]);
  c8_free(o.data);
  tattr fm = {"fmod", C8_ATTR_INT, 0, 1, NULL};
  CHECK_EQ_INT(eval_node("Mod", 13, &fm, 1, 2, in, &o), CALIB8_OK);
  const int32_t fmod_ref[6] = {-1, 1, -1, 1, 0, 0}; /* sign of the dividend */
  for (int i = 0; i < 6; i++) CHECK_EQ_INT(((int32_t *)o.data)[i], fmod_ref[i]);
  c8_free(o.data);
  CHECK_EQ_INT(eval_node("Sub", 14, NULL, 0, 2, in, &o), CALIB8_OK);
  CHECK_EQ_INT(((int32_t *)o.data)[4], INT32_MIN + 1);
  c8_free(o.data);
  CHECK_EQ_INT(eval_node("Greater", 13, NULL, 0, 2, in, &o), CALIB8_OK);
  CHECK_EQ_INT(o.dtype, CALIB8_BOOL);
  const uint8_t gt_ref[6] = {0, 1, 0, 1, 0, 1};
  for (int i = 0; i < 6; i++) CHECK_EQ_INT(((uint8_t *)o.data)[i], gt_ref[i]);
  c8_free(o.data);

  /* uint8 wraps like numpy. */
  uint8_t u[2] = {250, 3}, v[2] = {10, 5};
  c8_tensor tu = tens(CALIB8_UINT8, 1, (int64_t[]){2}, u), tv = tens(CALIB8_UINT8, 1, (int64_t[]){2}, v);
  in[0] = &tu, in[1] = &tv;
  CHECK_EQ_INT(eval_node("Add", 14, NULL, 0, 2, in, &o), CALIB8_OK);
  CHECK_EQ_INT(((uint8_t *)o.data)[0], 4);
  c8_free(o.data);
  CHECK_EQ_INT(eval_node("Sub", 14, NULL, 0, 2, in, &o), CALIB8_OK);
  CHECK_EQ_INT(((uint8_t *)o.data)[1], 254);
  c8_free(o.data);

  /* Pow: int64 base with float exponent keeps int64; float base with int64 exponent. */
  int64_t pb[3] = {2, 3, -2};
  float pe[3] = {10, 0.5f, 3};
  c8_tensor tpb = tens(CALIB8_INT64, 1, (int64_t[]){3}, pb), tpe = tens(CALIB8_FLOAT, 1, (int64_t[]){3}, pe);
  in[0] = &tpb, in[1] = &tpe;
  CHECK_EQ_INT(eval_node("Pow", 15, NULL, 0, 2, in, &o), CALIB8_OK);
  CHECK_EQ_INT(o.dtype, CALIB8_INT64);
  CHECK_EQ_INT(((int64_t *)o.data)[0], 1024);
  CHECK_EQ_INT(((int64_t *)o.data)[1], 1); /* trunc(sqrt(3)) */
  CHECK_EQ_INT(((int64_t *)o.data)[2], -8);
  c8_free(o.data);
  int64_t ie[3] = {62, 3, 63};
  c8_tensor tie = tens(CALIB8_INT64, 1, (int64_t[]){3}, ie);
  in[1] = &tie;
  CHECK_EQ_INT(eval_node("Pow", 15, NULL, 0, 2, in, &o), CALIB8_OK);
  CHECK(((int64_t *)o.data)[0] == (INT64_C(1) << 62)); /* exact, not through double */
  CHECK_EQ_INT(((int64_t *)o.data)[1], 27);
  CHECK(((int64_t *)o.data)[2] == INT64_MIN);
  c8_free(o.data);
}

/* ---- activations ---- */
static float act1(const char *op, int opset, const tattr *attrs, int n_attr, float x) {
  c8_tensor t = tens(CALIB8_FLOAT, 1, (int64_t[]){1}, &x), o;
  c8_tensor *in[1] = {&t};
  if (eval_node(op, opset, attrs, n_attr, 1, in, &o) != CALIB8_OK) return NAN;
  float y = *(float *)o.data;
  c8_free(o.data);
  return y;
}

static void test_activations(void) {
  CHECK_EQ_INT(act1("Relu", 14, NULL, 0, -3), 0);
  CHECK_NEAR(act1("Relu", 14, NULL, 0, 2.5f), 2.5, 0);
  tattr lr = {"alpha", C8_ATTR_FLOAT, 0.1f, 0, NULL};
  CHECK_NEAR(act1("LeakyRelu", 16, &lr, 1, -2), -0.2, 1e-7);
  CHECK_NEAR(act1("LeakyRelu", 16, NULL, 0, -2), -0.02, 1e-8);
  CHECK_NEAR(act1("Sigmoid", 13, NULL, 0, 0), 0.5, 0);
  CHECK_NEAR(act1("Sigmoid", 13, NULL, 0, 2), 0.8807970779778823, 1e-7);
  CHECK_NEAR(act1("Sigmoid", 13, NULL, 0, -20), 2.0611536181902037e-09, 1e-15);
  CHECK_NEAR(act1("Sigmoid", 13, NULL, 0, -INFINITY), 0, 0);
  CHECK_NEAR(act1("Sigmoid", 13, NULL, 0, INFINITY), 1, 0);
  CHECK_NEAR(act1("Tanh", 13, NULL, 0, 0.5f), 0.46211715726000974, 1e-7);
  CHECK_NEAR(act1("Tanh", 13, NULL, 0, -3), -0.9950547536867305, 1e-7);
  CHECK_NEAR(act1("Tanh", 13, NULL, 0, 1e-4f), tanh((double)1e-4f), 1e-12);
  CHECK_NEAR(act1("Tanh", 13, NULL, 0, -100), -1, 0);
  CHECK_NEAR(act1("HardSigmoid", 6, NULL, 0, 1), 0.7, 1e-7);
  CHECK_NEAR(act1("HardSigmoid", 6, NULL, 0, 3), 1, 0);
  CHECK_NEAR(act1("HardSigmoid", 6, NULL, 0, -3), 0, 0);
  CHECK_NEAR(act1("HardSwish", 14, NULL, 0, 1), 2.0 / 3.0, 1e-7);
  CHECK_NEAR(act1("HardSwish", 14, NULL, 0, -4), 0, 0);
  CHECK_NEAR(act1("HardSwish", 14, NULL, 0, 4), 4, 0);
  CHECK_NEAR(act1("Elu", 6, NULL, 0, -1), -0.6321205588285577, 1e-7);
  CHECK_NEAR(act1("Elu", 6, NULL, 0, -1e-6f), -9.999995e-07, 1e-12); /* no cancellation near 0 */
  CHECK_NEAR(act1("Selu", 6, NULL, 0, -1), 1.0507009873554805 * 1.6732632423543772 * -0.6321205588285577, 1e-6);
  CHECK_NEAR(act1("Selu", 6, NULL, 0, 2), 2 * 1.0507009873554805, 1e-6);
  tattr ca = {"alpha", C8_ATTR_FLOAT, 2.0f, 0, NULL};
  CHECK_NEAR(act1("Celu", 12, &ca, 1, -1), 2 * (exp(-0.5) - 1), 1e-7);
  CHECK_NEAR(act1("ThresholdedRelu", 10, NULL, 0, 1), 0, 0);
  CHECK_NEAR(act1("ThresholdedRelu", 10, NULL, 0, 1.5f), 1.5, 0);
  CHECK_NEAR(act1("Softplus", 1, NULL, 0, 0), 0.6931471805599453, 1e-7);
  CHECK_NEAR(act1("Softplus", 1, NULL, 0, 100), 100, 1e-5);
  CHECK_NEAR(act1("Softplus", 1, NULL, 0, -100), 3.720075976020836e-44, 1e-45);
  CHECK_NEAR(act1("Softsign", 1, NULL, 0, 3), 0.75, 0);
  CHECK_NEAR(act1("Gelu", 20, NULL, 0, 1), 0.8413447460685429, 1e-7);
  tattr gt = {"approximate", C8_ATTR_STRING, 0, 0, "tanh"};
  CHECK_NEAR(act1("Gelu", 20, &gt, 1, 1), 0.8411919906082768, 1e-6);
  CHECK_NEAR(act1("Erf", 13, NULL, 0, 0.5f), 0.5204998778130465, 1e-7);
  /* Round: half to even. */
  const float rx[6] = {0.5f, 1.5f, 2.5f, -2.5f, -0.5f, 2.6f}, rr[6] = {0, 2, 2, -2, 0, 3};
  for (int i = 0; i < 6; i++) CHECK_NEAR(act1("Round", 11, NULL, 0, rx[i]), rr[i], 0);
  CHECK_NEAR(act1("Sign", 13, NULL, 0, -0.1f), -1, 0);
  CHECK_NEAR(act1("Exp", 13, NULL, 0, 1), 2.718281828459045, 3e-7);
  CHECK(isinf(act1("Exp", 13, NULL, 0, 89)));
  CHECK(isnan(act1("Exp", 13, NULL, 0, NAN)));

  /* Clip before opset 11 takes attributes; from 11 optional inputs; ints from 12. */
  tattr cl[2] = {{"min", C8_ATTR_FLOAT, -1, 0, NULL}, {"max", C8_ATTR_FLOAT, 2, 0, NULL}};
  CHECK_NEAR(act1("Clip", 6, cl, 2, 5), 2, 0);
  CHECK_NEAR(act1("Clip", 6, cl, 2, -5), -1, 0);
  CHECK_NEAR(act1("Clip", 6, cl, 1, INFINITY), FLT_MAX, 0); /* max defaults to the largest float */
  int8_t xi[4] = {-128, -3, 7, 127}, lo = -2;
  c8_tensor tx = tens(CALIB8_INT8, 1, (int64_t[]){4}, xi), tlo = tens(CALIB8_INT8, 0, NULL, &lo), o;
  c8_tensor *in[3] = {&tx, &tlo, NULL};
  CHECK_EQ_INT(eval_node("Clip", 13, NULL, 0, 3, in, &o), CALIB8_OK);
  const int8_t cref[4] = {-2, -2, 7, 127};
  for (int i = 0; i < 4; i++) CHECK_EQ_INT(((int8_t *)o.data)[i], cref[i]);
  c8_free(o.data);

  /* IsInf flags, Not, int Relu / Abs / Neg wrap. */
  float inf_in[3] = {INFINITY, -INFINITY, 1};
  c8_tensor ti = tens(CALIB8_FLOAT, 1, (int64_t[]){3}, inf_in);
  in[0] = &ti;
  tattr dp = {"detect_positive", C8_ATTR_INT, 0, 0, NULL};
  CHECK_EQ_INT(eval_node("IsInf", 10, &dp, 1, 1, in, &o), CALIB8_OK);
  CHECK_EQ_INT(((uint8_t *)o.data)[0], 0);
  CHECK_EQ_INT(((uint8_t *)o.data)[1], 1);
  c8_free(o.data);
  int32_t ii[3] = {INT32_MIN, -4, 4};
  c8_tensor tii = tens(CALIB8_INT32, 1, (int64_t[]){3}, ii);
  in[0] = &tii;
  CHECK_EQ_INT(eval_node("Abs", 13, NULL, 0, 1, in, &o), CALIB8_OK);
  CHECK_EQ_INT(((int32_t *)o.data)[0], INT32_MIN);
  CHECK_EQ_INT(((int32_t *)o.data)[1], 4);
  c8_free(o.data);
  CHECK_EQ_INT(eval_node("Relu", 14, NULL, 0, 1, in, &o), CALIB8_OK);
  CHECK_EQ_INT(((int32_t *)o.data)[1], 0);
  c8_free(o.data);
  /* Unsupported dtype: a clear error. */
  CHECK_EQ_INT(eval_node("Sigmoid", 13, NULL, 0, 1, in, &o), CALIB8_UNSUPPORTED);
  CHECK_STR_CONTAINS(calib8_last_error(), "int32 input is not supported");

  /* PRelu: slope [C,1,1] on [N,C,H,W]; slope must broadcast to X. */
  float px[8] = {-1, -2, 3, 4, -1, -2, 3, 4}, ps[2] = {0.5f, 0.25f};
  c8_tensor tpx = tens(CALIB8_FLOAT, 4, (int64_t[]){1, 2, 2, 2}, px);
  c8_tensor tps = tens(CALIB8_FLOAT, 3, (int64_t[]){2, 1, 1}, ps);
  in[0] = &tpx, in[1] = &tps;
  CHECK_EQ_INT(eval_node("PRelu", 16, NULL, 0, 2, in, &o), CALIB8_OK);
  const float pref[8] = {-0.5f, -1, 3, 4, -0.25f, -0.5f, 3, 4};
  for (int i = 0; i < 8; i++) CHECK_NEAR(((float *)o.data)[i], pref[i], 0);
  c8_free(o.data);
  in[0] = &tps, in[1] = &tpx;
  CHECK_EQ_INT(eval_node("PRelu", 16, NULL, 0, 2, in, &o), CALIB8_MALFORMED_MODEL);
}

/* ---- softmax ---- */
static void softmax_ref(const float *x, float *y, int n, int stride) {
  double m = -INFINITY, s = 0;
  for (int i = 0; i < n; i++) m = fmax(m, x[i * stride]);
  for (int i = 0; i < n; i++) s += exp(x[i * stride] - m);
  for (int i = 0; i < n; i++) y[i * stride] = (float)(exp(x[i * stride] - m) / s);
}

static void test_softmax(void) {
  float x[12], ref[12];
  for (int i = 0; i < 12; i++) x[i] = (float)((i * 7) % 5) - 1.5f;
  c8_tensor t = tens(CALIB8_FLOAT, 3, (int64_t[]){2, 3, 2}, x), o;
  c8_tensor *in[1] = {&t};
  tattr ax = {"axis", C8_ATTR_INT, 0, 1, NULL};
  /* opset 11, axis 1: each batch's 6 values form one row. */
  for (int b = 0; b < 2; b++) softmax_ref(x + 6 * b, ref + 6 * b, 6, 1);
  CHECK_EQ_INT(eval_node("Softmax", 11, &ax, 1, 1, in, &o), CALIB8_OK);
  for (int i = 0; i < 12; i++) CHECK_NEAR(((float *)o.data)[i], ref[i], 1e-6);
  c8_free(o.data);
  /* opset 13, axis 1: only the 3 values along dim 1 (stride 2). */
  for (int b = 0; b < 2; b++)
    for (int j = 0; j < 2; j++) softmax_ref(x + 6 * b + j, ref + 6 * b + j, 3, 2);
  CHECK_EQ_INT(eval_node("Softmax", 13, &ax, 1, 1, in, &o), CALIB8_OK);
  for (int i = 0; i < 12; i++) CHECK_NEAR(((float *)o.data)[i], ref[i], 1e-6);
  c8_free(o.data);
  CHECK_EQ_INT(eval_node("LogSoftmax", 13, &ax, 1, 1, in, &o), CALIB8_OK);
  for (int i = 0; i < 12; i++) CHECK_NEAR(((float *)o.data)[i], log(ref[i]), 1e-5);
  c8_free(o.data);
  /* Default axis: 1 before opset 13, -1 from 13 on. */
  CHECK_EQ_INT(eval_node("Softmax", 13, NULL, 0, 1, in, &o), CALIB8_OK);
  for (int r = 0; r < 6; r++) softmax_ref(x + 2 * r, ref + 2 * r, 2, 1);
  for (int i = 0; i < 12; i++) CHECK_NEAR(((float *)o.data)[i], ref[i], 1e-6);
  c8_free(o.data);
  /* Large values stay finite. */
  float big[3] = {10000, 10001, 10002};
  c8_tensor tb = tens(CALIB8_FLOAT, 1, (int64_t[]){3}, big);
  in[0] = &tb;
  CHECK_EQ_INT(eval_node("LogSoftmax", 13, NULL, 0, 1, in, &o), CALIB8_OK);
  CHECK_NEAR(((float *)o.data)[2], -0.40760596444438, 1e-6);
  c8_free(o.data);
  /* Hardmax: the first of tied maxima. */
  float h[4] = {1, 3, 3, 0};
  c8_tensor th = tens(CALIB8_FLOAT, 2, (int64_t[]){1, 4}, h);
  in[0] = &th;
  CHECK_EQ_INT(eval_node("Hardmax", 13, NULL, 0, 1, in, &o), CALIB8_OK);
  const float href[4] = {0, 1, 0, 0};
  for (int i = 0; i < 4; i++) CHECK_NEAR(((float *)o.data)[i], href[i], 0);
  c8_free(o.data);
  tattr bad = {"axis", C8_ATTR_INT, 0, 2, NULL};
  CHECK_EQ_INT(eval_node("Softmax", 13, &bad, 1, 1, in, &o), CALIB8_MALFORMED_MODEL);
  CHECK_STR_CONTAINS(calib8_last_error(), "axis 2 is out of range for rank 2");
}

/* ---- Cast ---- */
static void test_cast(void) {
  float f[6] = {-2.7f, 2.7f, NAN, 1e10f, -1e10f, 0.0f};
  c8_tensor tf = tens(CALIB8_FLOAT, 1, (int64_t[]){6}, f), o;
  c8_tensor *in[1] = {&tf};
  tattr to = {"to", C8_ATTR_INT, 0, CALIB8_INT32, NULL};
  CHECK_EQ_INT(eval_node("Cast", 13, &to, 1, 1, in, &o), CALIB8_OK);
  const int32_t iref[6] = {-2, 2, 0, INT32_MAX, INT32_MIN, 0};
  for (int i = 0; i < 6; i++) CHECK_EQ_INT(((int32_t *)o.data)[i], iref[i]);
  c8_free(o.data);
  to.i = CALIB8_BOOL;
  CHECK_EQ_INT(eval_node("Cast", 13, &to, 1, 1, in, &o), CALIB8_OK);
  const uint8_t bref[6] = {1, 1, 1, 1, 1, 0};
  for (int i = 0; i < 6; i++) CHECK_EQ_INT(((uint8_t *)o.data)[i], bref[i]);
  c8_free(o.data);
  to.i = CALIB8_UINT8;
  CHECK_EQ_INT(eval_node("Cast", 13, &to, 1, 1, in, &o), CALIB8_OK);
  CHECK_EQ_INT(((uint8_t *)o.data)[0], 0);
  CHECK_EQ_INT(((uint8_t *)o.data)[3], 255);
  c8_free(o.data);

  /* int64 -> uint64 and back stay exact (no trip through double). */
  int64_t big[3] = {(INT64_C(1) << 62) + 1, -1, INT64_MIN};
  c8_tensor tb = tens(CALIB8_INT64, 1, (int64_t[]){3}, big);
  in[0] = &tb;
  to.i = CALIB8_UINT64;
  CHECK_EQ_INT(eval_node("Cast", 13, &to, 1, 1, in, &o), CALIB8_OK);
  CHECK(((uint64_t *)o.data)[0] == (UINT64_C(1) << 62) + 1);
  CHECK(((uint64_t *)o.data)[1] == UINT64_MAX);
  c8_free(o.data);
  to.i = CALIB8_INT8; /* narrowing wraps */
  CHECK_EQ_INT(eval_node("Cast", 13, &to, 1, 1, in, &o), CALIB8_OK);
  CHECK_EQ_INT(((int8_t *)o.data)[0], 1);
  CHECK_EQ_INT(((int8_t *)o.data)[1], -1);
  c8_free(o.data);

  /* float16: round to nearest even, overflow to inf, subnormals. */
  float h[6] = {1.0f / 3, 65504, 65520, 5.960464477539063e-08f, 2.98023223876953125e-08f, -0.0f};
  const uint16_t href[6] = {0x3555, 0x7bff, 0x7c00, 0x0001, 0x0000, 0x8000};
  c8_tensor th = tens(CALIB8_FLOAT, 1, (int64_t[]){6}, h);
  in[0] = &th;
  to.i = CALIB8_FLOAT16;
  CHECK_EQ_INT(eval_node("Cast", 13, &to, 1, 1, in, &o), CALIB8_OK);
  for (int i = 0; i < 6; i++) CHECK_EQ_INT(((uint16_t *)o.data)[i], href[i]);
  c8_free(o.data);
  for (int i = 0; i < 6; i++)
    if (i != 2) CHECK_NEAR(c8_half_to_float(href[i]), i == 0 ? 0.333251953125 : i == 4 ? 0 : h[i], 0);
  /* Unsupported target. */
  to.i = CALIB8_STRING;
  CHECK_EQ_INT(eval_node("Cast", 13, &to, 1, 1, in, &o), CALIB8_UNSUPPORTED);
  CHECK_STR_CONTAINS(calib8_last_error(), "casting to string (data type 8) is not supported");
  to.i = 16;
  CHECK_EQ_INT(eval_node("Cast", 13, &to, 1, 1, in, &o), CALIB8_UNSUPPORTED);
  CHECK_STR_CONTAINS(calib8_last_error(), "bfloat16");

  /* float16 arithmetic goes through float32. */
  uint16_t ha[2] = {0x3c00, 0x4000}, hb[2] = {0x3800, 0x3800}; /* {1, 2} + {0.5, 0.5} */
  c8_tensor tha = tens(CALIB8_FLOAT16, 1, (int64_t[]){2}, ha), thb = tens(CALIB8_FLOAT16, 1, (int64_t[]){2}, hb);
  c8_tensor *in2[2] = {&tha, &thb};
  CHECK_EQ_INT(eval_node("Add", 14, NULL, 0, 2, in2, &o), CALIB8_OK);
  CHECK_EQ_INT(((uint16_t *)o.data)[0], 0x3e00); /* 1.5 */
  CHECK_EQ_INT(((uint16_t *)o.data)[1], 0x4100); /* 2.5 */
  c8_free(o.data);
}

/* ---- fast math accuracy ---- */
static void test_fast_math(void) {
  double max_rel = 0, max_rel_tanh = 0, max_abs_sig = 0;
  for (float x = -87.0f; x <= 88.0f; x += 0.0137f) {
    double e = exp((double)x), r = fabs(c8_expf(x) - e) / e;
    if (r > max_rel) max_rel = r;
  }
  for (float x = -10.0f; x <= 10.0f; x += 0.00071f) {
    double t = tanh((double)x), r = fabs(c8_tanhf(x) - t) / fmax(fabs(t), 1e-30);
    if (r > max_rel_tanh) max_rel_tanh = r;
    double s = 1 / (1 + exp(-(double)x)), a = fabs(c8_sigmoidf(x) - s);
    if (a > max_abs_sig) max_abs_sig = a;
  }
  double max_abs_erf = 0, max_rel_erf = 0;
  for (float x = -6.0f; x <= 6.0f; x += 0.00013f) {
    double e = erf((double)x), a = fabs(c8_erff(x) - e);
    if (a > max_abs_erf) max_abs_erf = a;
    if (e != 0 && a / fabs(e) > max_rel_erf) max_rel_erf = a / fabs(e);
  }
  for (float x = 1e-30f; x < 1e-3f; x *= 1.1f) {
    double e = erf((double)x), r = fabs(c8_erff(x) - e) / e;
    if (r > max_rel_erf) max_rel_erf = r;
  }
  fprintf(stderr, "c8_expf max rel err %.3g, c8_tanhf %.3g, c8_sigmoidf max abs err %.3g, c8_erff abs %.3g rel %.3g\n",
          max_rel, max_rel_tanh, max_abs_sig, max_abs_erf, max_rel_erf);
  CHECK(max_abs_erf < 2e-7);
  CHECK(max_rel_erf < 2.5e-7);
  CHECK(isnan(c8_erff(NAN)) && c8_erff(INFINITY) == 1.0f && c8_erff(-INFINITY) == -1.0f);
  CHECK(max_rel < 3.0e-7);       /* ~2.5 ulp */
  CHECK(max_rel_tanh < 6.0e-7);  /* ~5 ulp */
  CHECK(max_abs_sig < 1.5e-7);
  /* Subnormal results and the limits. */
  CHECK_NEAR(c8_expf(-100.0f), exp(-100.0), 2e-45);
  CHECK(c8_expf(-200.0f) == 0);
  CHECK(isinf(c8_expf(88.8f)));
  CHECK(c8_expf(88.7f) > 3.3e38f && isfinite(c8_expf(88.7f)));
  CHECK(c8_expf(0) == 1.0f);
}

/* QuantizeLinear of float input: every kernel version equals c8_quantize_one byte for byte, on ties (k + 0.5
   times the scale), both saturation ends, NaN, infinities, signed zeros, denormals and random values, for
   every tail length; the operator (per-tensor and per-axis) gives the same bytes. */
static void test_quantize_kernels(void) {
  enum { N = 1200 };
  static float x[N];
  uint32_t r = 12345;
  const float scales[] = {1.0f, 0.1f, 0.0173f, 3.7f, 1e-20f};
  const int32_t zps_s[] = {-128, -3, 0, 5, 127}, zps_u[] = {0, 5, 128, 255, 77};
  for (size_t si = 0; si < sizeof scales / sizeof scales[0]; si++) {
    const float sc = scales[si];
    for (int i = 0; i < N; i++) {
      r = r * 1664525u + 1013904223u;
      switch (i % 6) {
        case 0: x[i] = ((float)(i / 6 % 600) - 300.0f + 0.5f) * sc; break; /* ties */
        case 1: x[i] = ((float)((r >> 8) & 0xffff) / 65536.0f - 0.5f) * 600.0f * sc; break;
        case 2: x[i] = ((float)((r >> 8) & 0xffff) / 65536.0f - 0.5f) * 3.0f * sc; break;
        case 3: {
          const float special[] = {NAN, -NAN, INFINITY, -INFINITY, 0.0f, -0.0f, 1e-40f, -1e-40f, FLT_MAX, -FLT_MAX,
                                   1e30f, 2.5f, -2.5f, 3.5f, -0.5f, 0.5f};
          x[i] = special[(i / 6) % 16];
        } break;
        default: x[i] = ((float)(r >> 9) / 8388608.0f - 0.5f) * 1000.0f; break;
      }
    }
    for (int sg = 0; sg <= 1; sg++) {
      const int32_t *zps = sg ? zps_s : zps_u, lo = sg ? -128 : 0, hi = sg ? 127 : 255;
      for (int zi = 0; zi < 5; zi++) {
        static unsigned char want[N], got[N];
        for (int i = 0; i < N; i++) {
          int32_t v = c8_quantize_one(x[i] / sc, zps[zi], lo, hi);
          want[i] = (unsigned char)(sg ? (unsigned char)(int8_t)v : (unsigned char)(uint8_t)v);
        }
        const c8_f32_quantize_fn fns[] = {c8_f32_quantize__scalar, c8_f32_quantize__avx2, c8_f32_quantize__avx512};
        const c8_isa need[] = {C8_ISA_SCALAR, C8_ISA_AVX2, C8_ISA_AVX512};
        for (int f = 0; f < 3; f++) {
          if (c8_cpu_isa() < need[f]) continue;
          /* whole array and every short length (tails) at an odd offset */
          memset(got, 0xAB, sizeof got);
          fns[f](x, N, sc, zps[zi], sg, got);
          int bad = memcmp(got, want, N) != 0;
          for (size_t len = 0; len <= 40; len++) {
            memset(got, 0xAB, sizeof got);
            fns[f](x + 3, len, sc, zps[zi], sg, got);
            bad += memcmp(got, want + 3, len) != 0 || got[len] != 0xAB;
          }
          CHECK_EQ_INT(bad, 0);
          if (bad) fprintf(stderr, "  %s kernel, scale %g, zero point %d, %s\n", c8_isa_name(need[f]), sc, zps[zi],
                           sg ? "int8" : "uint8");
        }
      }
    }
  }
  /* DequantizeLinear: every byte value, every tail length, int8 and uint8 */
  static unsigned char q[N];
  static float dwant[N], dgot[N];
  for (int i = 0; i < N; i++) q[i] = (unsigned char)(i * 37 + 11);
  const c8_f32_dequantize_fn dfns[] = {c8_f32_dequantize__scalar, c8_f32_dequantize__avx2, c8_f32_dequantize__avx512};
  const c8_isa dneed[] = {C8_ISA_SCALAR, C8_ISA_AVX2, C8_ISA_AVX512};
  for (int sg = 0; sg <= 1; sg++)
    for (int zi = 0; zi < 5; zi++) {
      const int32_t zp = sg ? zps_s[zi] : zps_u[zi];
      const float sc = scales[zi];
      for (int i = 0; i < N; i++)
        dwant[i] = (float)((sg ? (int32_t)(int8_t)q[i] : (int32_t)q[i]) - zp) * sc;
      for (int f = 0; f < 3; f++) {
        if (c8_cpu_isa() < dneed[f]) continue;
        dfns[f](q, N, sc, zp, sg, dgot);
        int bad = memcmp(dgot, dwant, sizeof dgot) != 0;
        for (size_t len = 0; len <= 40; len++) {
          for (int i = 0; i < 48; i++) dgot[i] = -7.0f;
          dfns[f](q + 3, len, sc, zp, sg, dgot);
          bad += memcmp(dgot, dwant + 3, len * sizeof(float)) != 0 || dgot[len] != -7.0f;
        }
        CHECK_EQ_INT(bad, 0);
        if (bad) fprintf(stderr, "  %s dequantize kernel, zero point %d, %s\n", c8_isa_name(dneed[f]), zp,
                         sg ? "int8" : "uint8");
      }
    }

  /* the operator, per-axis over [2, 3, 200] on axis 1 with uint8 zero points */
  c8_tensor xt = {.dtype = CALIB8_FLOAT, .rank = 3, .dims = {2, 3, 200}, .data = x};
  float scv[3] = {0.05f, 0.7f, 2.0f};
  uint8_t zpv[3] = {3, 128, 250};
  c8_tensor st = {.dtype = CALIB8_FLOAT, .rank = 1, .dims = {3}, .data = scv};
  c8_tensor zt = {.dtype = CALIB8_UINT8, .rank = 1, .dims = {3}, .data = zpv};
  c8_tensor out = {0};
  c8_tensor *in[3] = {&xt, &st, &zt};
  tattr ax = {.name = "axis", .type = C8_ATTR_INT, .i = 1};
  for (int isa = C8_ISA_SCALAR; isa <= (int)c8_cpu_isa(); isa++) {
    const c8_isa top = c8_cpu_isa();
    c8_cpu_set_isa((c8_isa)isa);
    CHECK_EQ_INT(eval_node("QuantizeLinear", 13, &ax, 1, 3, in, &out), CALIB8_OK);
    c8_cpu_set_isa(top);
    int bad = 0;
    for (int o = 0; o < 2 && out.data; o++)
      for (int c = 0; c < 3; c++)
        for (int i = 0; i < 200; i++) {
          const int k = (o * 3 + c) * 200 + i;
          bad += ((uint8_t *)out.data)[k] != (uint8_t)c8_quantize_one(x[k] / scv[c], zpv[c], 0, 255);
        }
    CHECK_EQ_INT(bad, 0);
    c8_free(out.data);
    out.data = NULL;
  }
}

int main(void) {
  CHECK_RUN(test_broadcast_shapes);
  CHECK_RUN(test_broadcast_collapse);
  CHECK_RUN(test_variadic_and_where);
  CHECK_RUN(test_integer_ops);
  CHECK_RUN(test_activations);
  CHECK_RUN(test_softmax);
  CHECK_RUN(test_cast);
  CHECK_RUN(test_fast_math);
  CHECK_RUN(test_quantize_kernels);
  return CHECK_DONE();
}
