/* QLinearConv, ConvInteger and calib8's QConv on the integer kernels (ops/op-qconv.c) against their scalar
 * references from the ONNX spec (op-quant.c, CALIB8_QCONV=reference), byte for byte, at every ISA level the
 * CPU has (c8_cpu_set_isa), on odd shapes: padding, strides, dilation, groups, depthwise, 1x1, uint8 and int8
 * activations, per-tensor and per-channel weight scales, a fused Relu/Clip. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/cpu.h"
#include "core/alloc.h"
#include "core/tensor.h"
#include "graph/graph.h"
#include "ops/op.h"

static uint32_t rng = 99;
static uint32_t next(void) {
  rng = rng * 1664525u + 1013904223u;
  return rng >> 8;
}

typedef struct {
  int64_t n, c, h, w, m, k, stride, pad, dil, groups;
  bool x_signed, y_signed, per_channel, integer; /* integer: ConvInteger */
  float act_min, act_max;                        /* QConv when either is set (NAN: absent) */
} shape;

static c8_tensor tensor(c8_dtype dt, int rank, const int64_t *dims) {
  c8_tensor t = {.dtype = dt, .rank = rank};
  for (int i = 0; i < rank; i++) t.dims[i] = dims[i];
  t.data = c8_alloc(c8_nbytes(&t) + 1);
  return t;
}

static c8_tensor scalar_f(float v) {
  c8_tensor t = tensor(CALIB8_FLOAT, 0, NULL);
  *(float *)t.data = v;
  return t;
}

static int run_case(const shape *s, int isa, bool reference, c8_tensor *y) {
  c8_graph *g = c8_graph_new();
  const bool qconv = !isnan(s->act_min) || !isnan(s->act_max);
  const char *op = s->integer ? "ConvInteger" : qconv ? "QConv" : "QLinearConv";
  int ins[9];
  const int n_in = s->integer ? 4 : 9;
  for (int i = 0; i < n_in; i++) {
    char nm[16];
    snprintf(nm, sizeof nm, "i%d", i);
    ins[i] = c8_graph_get_or_add_value(g, nm);
  }
  int outv = c8_graph_get_or_add_value(g, "y");
  int k = c8_graph_add_node(g, "conv", op, qconv ? "com.calib8" : "", n_in, ins, 1, &outv);
  c8_node *node = &g->nodes[k];
  c8_attr *a = c8_node_add_attr(node, "strides", C8_ATTR_INTS);
  a->n = 2, a->ints = c8_malloc(2 * sizeof(int64_t)), a->ints[0] = a->ints[1] = s->stride;
  a = c8_node_add_attr(node, "dilations", C8_ATTR_INTS);
  a->n = 2, a->ints = c8_malloc(2 * sizeof(int64_t)), a->ints[0] = a->ints[1] = s->dil;
  a = c8_node_add_attr(node, "pads", C8_ATTR_INTS);
  a->n = 4, a->ints = c8_malloc(4 * sizeof(int64_t));
  for (int i = 0; i < 4; i++) a->ints[i] = s->pad + (i == 3);
  c8_node_add_attr(node, "group", C8_ATTR_INT)->i = s->groups;
  if (!isnan(s->act_min)) c8_node_add_attr(node, "act_min", C8_ATTR_FLOAT)->f = s->act_min;
  if (!isnan(s->act_max)) c8_node_add_attr(node, "act_max", C8_ATTR_FLOAT)->f = s->act_max;

  const c8_dtype xdt = s->x_signed ? CALIB8_INT8 : CALIB8_UINT8;
  int64_t xd[4] = {s->n, s->c, s->h, s->w}, wd[4] = {s->m, s->c / s->groups, s->k, s->k}, md[1] = {s->m};
  c8_tensor x = tensor(xdt, 4, xd), w = tensor(CALIB8_INT8, 4, wd);
  uint32_t save = rng;
  for (int64_t i = 0; i < c8_numel(&x); i++) ((uint8_t *)x.data)[i] = (uint8_t)next();
  for (int64_t i = 0; i < c8_numel(&w); i++) ((int8_t *)w.data)[i] = (int8_t)next();
  c8_tensor xzp = tensor(xdt, 0, NULL), wzp = tensor(CALIB8_INT8, 1, md);
  ((uint8_t *)xzp.data)[0] = s->x_signed ? (uint8_t)(int8_t)((int)(next() % 9) - 4) : (uint8_t)(next() % 256);
  c8_tensor xs = scalar_f(0.02f + (float)(next() % 100) * 1e-4f);
  c8_tensor ws = s->per_channel ? tensor(CALIB8_FLOAT, 1, md) : scalar_f(0.003f);
  for (int64_t i = 0; s->per_channel && i < s->m; i++) ((float *)ws.data)[i] = 0.001f + (float)(next() % 50) * 1e-4f;
  const float kv = (float)(s->c / s->groups * s->k * s->k);
  c8_tensor ys = scalar_f(0.02f * 0.003f * 1000.0f * sqrtf(kv));
  c8_tensor yzp = tensor(s->y_signed ? CALIB8_INT8 : CALIB8_UINT8, 0, NULL);
  ((uint8_t *)yzp.data)[0] = s->y_signed ? (uint8_t)(int8_t)-3 : 117;
  c8_tensor b = tensor(CALIB8_INT32, 1, md);
  for (int64_t i = 0; i < s->m; i++) ((int32_t *)b.data)[i] = (int32_t)(next() % 4001) - 2000;
  rng = save;

  c8_tensor *in[9];
  if (s->integer) {
    in[0] = &x, in[1] = &w, in[2] = &xzp, in[3] = &wzp;
  } else {
    in[0] = &x, in[1] = &xs, in[2] = &xzp, in[3] = &w, in[4] = &ws, in[5] = &wzp, in[6] = &ys, in[7] = &yzp, in[8] = &b;
  }
  c8_tensor *outs[1] = {y};
  const c8_isa was = c8_cpu_isa();
  c8_cpu_set_isa((c8_isa)isa);
  if (reference) setenv("CALIB8_QCONV", "reference", 1);
  c8_status st = c8_op_eval(node, 13, in, n_in, outs, 1);
  unsetenv("CALIB8_QCONV");
  c8_cpu_set_isa(was);
  c8_free(x.data), c8_free(w.data), c8_free(xzp.data), c8_free(wzp.data), c8_free(xs.data), c8_free(ws.data);
  c8_free(ys.data), c8_free(yzp.data), c8_free(b.data);
  c8_graph_destroy(g);
  if (st) fprintf(stderr, "%s\n", calib8_last_error());
  return st;
}

static void check(shape s) {
  c8_tensor want = {0};
  CHECK_EQ_INT(run_case(&s, C8_ISA_SCALAR, true, &want), 0);
  int64_t saturated = 0, n = c8_numel(&want);
  for (int isa = C8_ISA_SCALAR; isa <= (int)c8_cpu_detect(); isa++) {
    c8_tensor got = {0};
    CHECK_EQ_INT(run_case(&s, isa, false, &got), 0);
    CHECK_EQ_INT(got.dtype, want.dtype);
    CHECK_EQ_INT(c8_numel(&got), n);
    const bool same = got.data && want.data && memcmp(got.data, want.data, c8_nbytes(&want)) == 0;
    if (!same)
      fprintf(stderr, "  %s n%lld c%lld %lldx%lld m%lld k%lld s%lld p%lld d%lld g%lld: differs at isa %s\n",
              s.integer ? "ConvInteger" : "QLinearConv", (long long)s.n, (long long)s.c, (long long)s.h,
              (long long)s.w, (long long)s.m, (long long)s.k, (long long)s.stride, (long long)s.pad,
              (long long)s.dil, (long long)s.groups, c8_isa_name((c8_isa)isa));
    CHECK(same);
    c8_free(got.data);
  }
  if (want.dtype != CALIB8_INT32) {
    for (int64_t i = 0; i < n; i++) {
      const int v = want.dtype == CALIB8_INT8 ? ((int8_t *)want.data)[i] : ((uint8_t *)want.data)[i];
      saturated += v == 0 || v == 255 || v == -128 || v == 127;
    }
    if (saturated >= n / 2) fprintf(stderr, "  case m%lld k%lld g%lld: %lld of %lld saturated\n", (long long)s.m, (long long)s.k, (long long)s.groups, (long long)saturated, (long long)n);
    CHECK(saturated < n / 2); /* the cases exercise the arithmetic, not only the bounds */
  }
  c8_free(want.data);
}

static void test_qlinearconv(void) {
  const float N = NAN;
  const shape cases[] = {
      {2, 3, 17, 13, 7, 3, 1, 1, 1, 1, false, false, true, false, N, N},
      {1, 16, 9, 11, 33, 3, 2, 1, 1, 1, false, false, true, false, N, N},
      {3, 8, 5, 7, 12, 1, 1, 0, 1, 1, false, false, false, false, N, N},
      {1, 8, 6, 5, 12, 1, 2, 0, 1, 1, true, true, true, false, N, N},
      {2, 12, 10, 9, 18, 3, 1, 2, 2, 3, true, false, true, false, N, N},
      {2, 16, 9, 9, 16, 3, 1, 1, 1, 16, false, false, true, false, N, N},   /* depthwise */
      {1, 6, 8, 7, 6, 5, 2, 2, 1, 6, true, true, true, false, N, N},        /* depthwise, int8 */
      {1, 5, 14, 14, 9, 5, 1, 0, 1, 1, false, false, true, true, N, N},     /* ConvInteger */
      {2, 4, 7, 9, 6, 3, 1, 1, 1, 2, true, false, false, true, N, N},
      {2, 16, 9, 9, 20, 3, 1, 1, 1, 1, false, false, true, false, 0.0f, N}, /* QConv + Relu */
      {1, 7, 9, 8, 10, 3, 2, 1, 1, 1, false, true, true, false, -0.5f, 0.6f}, /* QConv + Clip */
      /* B packed straight from the input: panels spanning several output rows, runs merged across rows (no
         padding, ow == iw), a partial last panel, stride 3 (three x phases), wide rows over several panels */
      {1, 24, 20, 40, 24, 1, 1, 0, 1, 1, false, false, true, false, N, N},
      {2, 8, 11, 13, 17, 3, 1, 0, 1, 1, true, false, true, false, N, N},
      {1, 10, 23, 29, 19, 3, 3, 1, 1, 1, false, true, true, false, N, N},
      {1, 6, 13, 70, 40, 3, 1, 1, 2, 2, true, true, false, false, N, N},
      {2, 16, 8, 7, 24, 3, 1, 1, 1, 1, false, false, true, false, N, N}, /* 8-pixel output rows: quarters in place */
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) check(cases[i]);
}

int main(void) {
  CHECK_RUN(test_qlinearconv);
  fprintf(stderr, "%d checks, %d failed\n", check_count, check_failures);
  return check_failures != 0;
}
