/* Operator traits (src/ops/op.h): every registered op declares each of its traits explicitly, so that an op
 * added without them fails here instead of silently staying in FP32, unfused or unsplit; and spot checks
 * that the traits say what the planner, the exporters and batch splitting relied on before they moved onto
 * the op definitions. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "ops/op.h"
#include "plan/qplan.h"

/* CHECK with the op's name, since one loop checks them all. */
#define CHECK_OP(d, cond)                                                                 \
  do {                                                                                    \
    check_count++;                                                                        \
    if (!(cond)) {                                                                        \
      fprintf(stderr, "%s:%d: op %s: %s\n", __FILE__, __LINE__, (d)->name, #cond);      \
      check_failures++;                                                                   \
    }                                                                                     \
  } while (0)

static void test_every_op_declares_its_traits(void) {
  CHECK(c8_op_count() > 100);
  for (int i = 0; i < c8_op_count(); i++) {
    const c8_op_def *d = c8_op_at(i);
    CHECK_OP(d, d->qrole != C8_QROLE_UNDECLARED);
    CHECK_OP(d, d->fuse != C8_FUSE_UNDECLARED);
    CHECK_OP(d, d->values != C8_VALUES_UNDECLARED);
    CHECK_OP(d, d->batch != C8_BATCH_UNDECLARED);
    CHECK_OP(d, (d->batch == C8_BATCH_CHECK) == (d->batch_check != NULL));
    /* The weight traits belong to compute ops, and compute ops have all of them. */
    bool compute = c8_qrole_is_compute(d->qrole);
    CHECK_OP(d, (d->weight_axis != C8_AXIS_UNDECLARED) == compute);
    CHECK_OP(d, (d->weight_gran != C8_WGRAN_UNDECLARED) == compute);
    CHECK_OP(d, (d->mean_axis != C8_AXIS_UNDECLARED) == compute);
    CHECK_OP(d, (d->bias != C8_BIAS_UNDECLARED) == compute);
    CHECK_OP(d, (d->macs != NULL) == compute);
    CHECK_OP(d, d->weight_axis != C8_AXIS_NONE || !compute);
    /* What the registry lookup and the per-node helper give is this definition. */
    CHECK_OP(d, c8_op_find(d->domain, d->name) == d);
    c8_node n = {.name = (char *)"n", .op_type = (char *)d->name, .domain = (char *)d->domain};
    CHECK_OP(d, c8_node_op(&n) == d);
  }
}

static int axis_of(const c8_op_def *d, c8_axis_rule r, const char *attr, int64_t v) {
  c8_attr a = {.name = (char *)attr, .type = C8_ATTR_INT, .i = v};
  c8_node n = {.name = (char *)"n", .op_type = (char *)d->name, .domain = (char *)"", .n_attr = attr ? 1 : 0,
               .attr = attr ? &a : NULL};
  return c8_op_axis(r, &n);
}

static void test_quantization_roles(void) {
  CHECK_EQ_INT(c8_op_conv.qrole, C8_QROLE_COMPUTE);
  CHECK_EQ_INT(axis_of(&c8_op_conv, c8_op_conv.weight_axis, NULL, 0), 0);
  CHECK_EQ_INT(axis_of(&c8_op_conv, c8_op_conv.mean_axis, NULL, 0), 1);
  CHECK_EQ_INT(c8_op_conv.weight_gran, C8_WGRAN_CHANNEL_MIX);
  CHECK_EQ_INT(c8_op_conv_transpose.qrole, C8_QROLE_COMPUTE);
  CHECK_EQ_INT(axis_of(&c8_op_conv_transpose, c8_op_conv_transpose.weight_axis, NULL, 0), 1);
  CHECK_EQ_INT(c8_op_conv_transpose.weight_gran, C8_WGRAN_TENSOR);
  CHECK_EQ_INT(c8_op_gemm.qrole, C8_QROLE_COMPUTE_ANY);
  CHECK_EQ_INT(axis_of(&c8_op_gemm, c8_op_gemm.weight_axis, NULL, 0), 1);
  CHECK_EQ_INT(axis_of(&c8_op_gemm, c8_op_gemm.weight_axis, "transB", 1), 0);
  CHECK_EQ_INT(axis_of(&c8_op_gemm, c8_op_gemm.mean_axis, NULL, 0), -1);
  CHECK_EQ_INT(axis_of(&c8_op_gemm, c8_op_gemm.mean_axis, "transA", 1), 0);
  CHECK_EQ_INT(c8_op_matmul.qrole, C8_QROLE_COMPUTE_ANY);
  CHECK_EQ_INT(axis_of(&c8_op_matmul, c8_op_matmul.weight_axis, NULL, 0), -1);
  CHECK_EQ_INT(c8_op_matmul.bias, C8_BIAS_ADD_AFTER);
  /* value movers share the input's scale; MaxPool selects values, the others keep all of them */
  CHECK_EQ_INT(c8_op_maxpool.qrole, C8_QROLE_SHARES_SCALE);
  CHECK_EQ_INT(c8_op_maxpool.values, C8_VALUES_COMPUTED);
  CHECK(c8_op_maxpool.homogeneous);
  CHECK_EQ_INT(c8_op_reshape.qrole, C8_QROLE_SHARES_SCALE);
  CHECK_EQ_INT(c8_op_reshape.values, C8_VALUES_MOVED);
  CHECK_EQ_INT(c8_op_transpose.qrole, C8_QROLE_SHARES_SCALE);
  CHECK_EQ_INT(c8_op_identity.qrole, C8_QROLE_NONE); /* FP32 as it always was, though it moves values */
  CHECK_EQ_INT(c8_op_identity.values, C8_VALUES_MOVED);
  CHECK_EQ_INT(c8_op_concat.qrole, C8_QROLE_JOINS);
  CHECK_EQ_INT(c8_op_add.qrole, C8_QROLE_CARRIES);
  CHECK_EQ_INT(c8_op_globalaveragepool.qrole, C8_QROLE_CARRIES);
  CHECK_EQ_INT(c8_op_softmax.qrole, C8_QROLE_NONE);
  CHECK_EQ_INT(c8_op_fused_conv.qrole, C8_QROLE_NONE);
  /* the front ends' name-based query, now over the registry */
  CHECK(c8_op_is_int8_compute("Conv") && c8_op_is_int8_compute("ConvTranspose"));
  CHECK(c8_op_is_int8_compute("Gemm") && c8_op_is_int8_compute("MatMul"));
  CHECK(!c8_op_is_int8_compute("Relu") && !c8_op_is_int8_compute("MaxPool") && !c8_op_is_int8_compute("NoSuchOp"));
}

static void test_fusion_roles(void) {
  CHECK_EQ_INT(c8_op_conv.fuse, C8_FUSE_HEAD);
  CHECK_EQ_INT(c8_op_relu.fuse, C8_FUSE_RELU);
  CHECK_EQ_INT(c8_op_clip.fuse, C8_FUSE_CLIP);
  CHECK_EQ_INT(c8_op_sigmoid.fuse, C8_FUSE_SIGMOID);
  CHECK_EQ_INT(c8_op_hard_sigmoid.fuse, C8_FUSE_HARDSIGMOID);
  CHECK_EQ_INT(c8_op_hard_swish.fuse, C8_FUSE_HARDSWISH);
  CHECK_EQ_INT(c8_op_mul.fuse, C8_FUSE_MUL);
  CHECK_EQ_INT(c8_op_leaky_relu.fuse, C8_FUSE_NONE);
  CHECK(c8_op_leaky_relu.homogeneous && c8_op_relu.homogeneous && !c8_op_clip.homogeneous);
}

static bool softmax_keeps(int opset, int64_t axis, int rank, int ax) {
  c8_attr a = {.name = (char *)"axis", .type = C8_ATTR_INT, .i = axis};
  c8_node n = {.name = (char *)"s", .op_type = (char *)"Softmax", .domain = (char *)"", .n_attr = 1, .attr = &a};
  c8_tensor x = {.dtype = CALIB8_FLOAT, .rank = rank, .dims = {4, 5, 6}};
  c8_tensor *in[1] = {&x}, *out[1] = {&x};
  c8_batch_query q = {.node = &n, .opset = opset, .in = in, .n_in = 1, .out = out, .n_out = 1, .ax = ax,
                      .ax_any = ax, .ax_out = ax};
  return c8_op_softmax.batch_check(&q);
}

static void test_batch_rules(void) {
  CHECK_EQ_INT(c8_op_relu.batch, C8_BATCH_ANY_AXIS);
  CHECK_EQ_INT(c8_op_matmul.batch, C8_BATCH_ANY_AXIS);
  CHECK_EQ_INT(c8_op_conv.batch, C8_BATCH_FIRST_AXIS);
  CHECK_EQ_INT(c8_op_maxpool.batch, C8_BATCH_FIRST_AXIS);
  CHECK_EQ_INT(c8_op_flatten.batch, C8_BATCH_BLOCKS);
  CHECK_EQ_INT(c8_op_reshape.batch_shape_inputs, 1u << 1);
  CHECK_EQ_INT(c8_op_shape.batch, C8_BATCH_MIXES);
  CHECK_EQ_INT(c8_op_softmax.batch, C8_BATCH_CHECK);
  /* opset 13: over `axis` only; the batch anywhere else stays apart */
  CHECK(softmax_keeps(13, -1, 2, 0));
  CHECK(!softmax_keeps(13, -1, 2, 1));
  CHECK(softmax_keeps(13, 1, 3, 2)); /* the batch on a later axis than the softmax's */
  /* before 13: over every axis from `axis` on */
  CHECK(softmax_keeps(11, 1, 3, 0));
  CHECK(!softmax_keeps(11, 1, 3, 2));
  CHECK(!softmax_keeps(13, -1, 2, -1)); /* a known input carries no batch */
}

static void test_macs(void) {
  c8_node n = {.name = (char *)"n", .op_type = (char *)"Conv", .domain = (char *)""};
  c8_tensor x = {.rank = 4, .dims = {1, 3, 8, 8}}, w = {.rank = 4, .dims = {16, 3, 3, 3}},
            y = {.rank = 4, .dims = {1, 16, 8, 8}};
  CHECK_EQ_INT(c8_op_conv.macs(&n, &x, &w, &y), 16 * 64 * 27);
  c8_tensor a = {.rank = 2, .dims = {5, 4}}, b = {.rank = 2, .dims = {5, 7}}, c = {.rank = 2, .dims = {4, 7}};
  c8_attr ta = {.name = (char *)"transA", .type = C8_ATTR_INT, .i = 1};
  c8_node g = {.name = (char *)"g", .op_type = (char *)"Gemm", .domain = (char *)"", .n_attr = 1, .attr = &ta};
  CHECK_EQ_INT(c8_op_gemm.macs(&g, &a, &b, &c), 4 * 7 * 5); /* K is A's first axis with transA */
  c8_tensor m = {.rank = 3, .dims = {2, 4, 5}}, mw = {.rank = 2, .dims = {5, 7}}, my = {.rank = 3, .dims = {2, 4, 7}};
  CHECK_EQ_INT(c8_op_matmul.macs(&n, &m, &mw, &my), 2 * 4 * 7 * 5);
}

static void test_node_lookup(void) {
  /* a node built by hand (no def) finds its op in the registry; an unknown op has no role */
  c8_node n = {.name = (char *)"n", .op_type = (char *)"Gemm", .domain = (char *)""};
  CHECK(c8_node_op(&n) == &c8_op_gemm);
  c8_node u = {.name = (char *)"u", .op_type = (char *)"NoSuchOp", .domain = (char *)"example.com"};
  const c8_op_def *d = c8_node_op(&u);
  CHECK(d != NULL);
  CHECK_EQ_INT(d->qrole, C8_QROLE_NONE);
  CHECK_EQ_INT(d->fuse, C8_FUSE_NONE);
  CHECK_EQ_INT(d->batch, C8_BATCH_MIXES);
}

int main(void) {
  CHECK_RUN(test_every_op_declares_its_traits);
  CHECK_RUN(test_quantization_roles);
  CHECK_RUN(test_fusion_roles);
  CHECK_RUN(test_batch_rules);
  CHECK_RUN(test_macs);
  CHECK_RUN(test_node_lookup);
  return CHECK_DONE();
}
