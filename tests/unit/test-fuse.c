/* Plan-level fusion (graph/fuse.h): a Conv followed by elementwise chains, run fused (optimized session,
 * nothing observing) and unfused (an observer forces an unfused plan). Every case must give bit-identical
 * outputs both ways, on every ISA level the CPU has and with 1 and 2 threads, and the cases that should
 * fuse must have fewer plan steps when fused. Convolution shapes pick each conv path: GEMM with packing,
 * the direct path (stride 1 on a wide image), the rows path (output rows a multiple of 16 or 8 wide, stride
 * 1 and 2), 1x1, stride 2, depthwise. */
#include <float.h>
#include <stdint.h>

#include "check.h"
#include "graph-builder.h"
#include "core/cpu.h"
#include "core/tensor.h"
#include "graph/graph.h"
#include "ops/fp-math.h"
#include "run/session.h"

/* A Conv of x [N, C, H, W] into M channels (k x k, stride s, pad k/2, group g). */
static int conv(c8_graph *g, int x, const char *out, int64_t c, int64_t m, int64_t k, int64_t s, int64_t groups) {
  char wn[64], bn[64];
  snprintf(wn, sizeof wn, "%s_w", out);
  snprintf(bn, sizeof bn, "%s_b", out);
  int w = const_tensor(g, wn, 4, (int64_t[]){m, c / groups, k, k}, 0.3f, 0.0f);
  int b = const_tensor(g, bn, 1, (int64_t[]){m}, 0.5f, 0.0f);
  int y = node(g, "Conv", 3, (int[]){x, w, b}, out);
  set_ints(g, y, "kernel_shape", 2, (int64_t[]){k, k});
  set_ints(g, y, "strides", 2, (int64_t[]){s, s});
  set_ints(g, y, "pads", 4, (int64_t[]){k / 2, k / 2, k / 2, k / 2});
  c8_attr *a = c8_node_add_attr(&g->nodes[c8_graph_producer(g, y)], "group", C8_ATTR_INT);
  a->i = groups;
  return y;
}

enum { CHAIN_RELU, CHAIN_AFFINE_CLIP, CHAIN_SUBDIV, CHAIN_SIGMOID, CHAIN_SILU, CHAIN_SILU_SWAPPED, CHAIN_HARDSIGMOID,
       CHAIN_X_HARDSIGMOID, CHAIN_HARDSWISH_OP, CHAIN_PPOCR_HSWISH, CHAIN_RESIDUAL_RELU, CHAIN_OUTPUT_STOPS, N_CHAINS };
static const char *const chain_names[] = {"relu", "affine+clip", "sub/rsub/div/rdiv", "sigmoid", "x*sigmoid(x)",
                                          "sigmoid(x)*x", "hardsigmoid", "x*hardsigmoid(x)", "HardSwish",
                                          "x*clip(x+3,0,6)/6 + affine", "residual add + relu",
                                          "graph output mid-chain"};

/* Builds conv -> chain; returns the graph (outputs set). */
static c8_graph *build(int chain, int64_t n, int64_t c, int64_t m, int64_t h, int64_t w, int64_t k, int64_t s,
                       int64_t groups) {
  c8_graph *g = c8_graph_new();
  g->opset = 13;
  int x = c8_graph_get_or_add_value(g, "x");
  int y = conv(g, x, "y", c, m, k, s, groups);
  int extra_out = -1;
  const int64_t per_ch[4] = {1, m, 1, 1};
  switch (chain) {
    case CHAIN_RELU:
      y = node(g, "Relu", 1, &y, "r");
      break;
    case CHAIN_AFFINE_CLIP: {
      int sc = const_tensor(g, "sc", 4, per_ch, 0.5f, 1.0f), bi = const_tensor(g, "bi", 3, per_ch + 1, 0.5f, 0.0f);
      y = node(g, "Mul", 2, (int[]){sc, y}, "m1");
      y = node(g, "Add", 2, (int[]){y, bi}, "a1");
      y = node(g, "Clip", 3, (int[]){y, const_scalar(g, "lo", -0.25f), const_scalar(g, "hi", 0.75f)}, "cl");
    } break;
    case CHAIN_SUBDIV:
      y = node(g, "Sub", 2, (int[]){y, const_scalar(g, "s1", 0.125f)}, "sb");
      y = node(g, "Sub", 2, (int[]){const_tensor(g, "s2", 4, per_ch, 1.0f, 0.0f), y}, "rsb");
      y = node(g, "Div", 2, (int[]){y, const_scalar(g, "d1", 3.0f)}, "dv");
      y = node(g, "Div", 2, (int[]){const_scalar(g, "d2", 1.0f), y}, "rdv");
      break;
    case CHAIN_SIGMOID:
      y = node(g, "Sigmoid", 1, &y, "sg");
      break;
    case CHAIN_SILU: {
      int t = node(g, "Sigmoid", 1, &y, "sg");
      y = node(g, "Mul", 2, (int[]){y, t}, "silu");
    } break;
    case CHAIN_SILU_SWAPPED: {
      int t = node(g, "Sigmoid", 1, &y, "sg");
      y = node(g, "Mul", 2, (int[]){t, y}, "silu");
    } break;
    case CHAIN_HARDSIGMOID:
      y = node(g, "HardSigmoid", 1, &y, "hs");
      set_float(g, y, "alpha", 0.3f);
      set_float(g, y, "beta", 0.4f);
      break;
    case CHAIN_X_HARDSIGMOID: {
      int t = node(g, "HardSigmoid", 1, &y, "hs");
      set_float(g, t, "alpha", 1.0f / 6.0f);
      y = node(g, "Mul", 2, (int[]){y, t}, "xhs");
    } break;
    case CHAIN_HARDSWISH_OP:
      y = node(g, "HardSwish", 1, &y, "hw");
      break;
    case CHAIN_PPOCR_HSWISH: {
      int t = node(g, "Add", 2, (int[]){y, const_scalar(g, "three", 3.0f)}, "p3");
      t = node(g, "Clip", 3, (int[]){t, const_scalar(g, "zero", 0.0f), const_scalar(g, "six", 6.0f)}, "c6");
      t = node(g, "Mul", 2, (int[]){y, t}, "mx");
      y = node(g, "Div", 2, (int[]){t, const_scalar(g, "six2", 6.0f)}, "d6");
      y = node(g, "Mul", 2, (int[]){const_scalar(g, "ws", 0.75f), y}, "ws1");
      y = node(g, "Add", 2, (int[]){y, const_scalar(g, "wb", -0.0625f)}, "wb1");
    } break;
    case CHAIN_RESIDUAL_RELU: {
      /* the residual comes from a second convolution placed after the first */
      int r = conv(g, x, "y2", c, m, 1, s, 1);
      y = node(g, "Add", 2, (int[]){y, r}, "sum");
      y = node(g, "Relu", 1, &y, "r");
    } break;
    case CHAIN_OUTPUT_STOPS: {
      int t = node(g, "Mul", 2, (int[]){y, const_scalar(g, "k", 2.0f)}, "mid");
      extra_out = t;
      y = node(g, "Relu", 1, &t, "r");
    } break;
  }
  g->inputs = malloc(sizeof(int));
  g->inputs[0] = x;
  g->n_inputs = 1;
  g->outputs = malloc(2 * sizeof(int));
  g->outputs[0] = y;
  g->n_outputs = 1;
  if (extra_out >= 0) g->outputs[g->n_outputs++] = extra_out;
  (void)n, (void)h, (void)w;
  CHECK_EQ_INT(c8_graph_toposort(g), CALIB8_OK);
  return g;
}

static c8_status observe_nothing(void *user, const c8_graph *g, const c8_step *step) {
  (void)user, (void)g, (void)step;
  return CALIB8_OK;
}

/* Runs g on x; copies output 0 (and 1) into out[]; returns the plan's step count. */
static int run(const c8_graph *g, const calib8_tensor *x, int threads, bool observe, float **out, size_t *bytes) {
  calib8_session_options o = calib8_session_options_default();
  o.threads = threads;
  calib8_session *s = NULL;
  CHECK_EQ_INT(c8_session_create_from_graph(g, &o, &s), CALIB8_OK);
  if (!s) return -1;
  if (observe) c8_session_set_observer(s, observe_nothing, NULL);
  c8_status st = calib8_session_run(s, 1, NULL, x);
  CHECK_EQ_INT(st, CALIB8_OK);
  if (st) fprintf(stderr, "  %s\n", calib8_last_error());
  int steps = st ? -1 : c8_session_plan(s)->n_steps;
  for (int o2 = 0; o2 < 2; o2++) {
    out[o2] = NULL, bytes[o2] = 0;
    calib8_tensor t;
    if (!st && o2 < calib8_session_output_count(s) && calib8_session_output(s, o2, &t) == CALIB8_OK) {
      bytes[o2] = c8_nbytes(&t);
      out[o2] = malloc(bytes[o2] + 1);
      memcpy(out[o2], t.data, bytes[o2]);
    }
  }
  calib8_session_destroy(s);
  return steps;
}

typedef struct shape_case {
  const char *what;
  int64_t n, c, m, h, w, k, s, groups;
} shape_case;

static const shape_case shapes[] = {
    {"3x3 packed", 2, 5, 11, 9, 13, 3, 1, 1},
    {"3x3 direct (wide)", 1, 4, 10, 5, 70, 3, 1, 1},
    {"1x1", 1, 16, 24, 6, 20, 1, 1, 1},
    {"3x3 stride 2", 1, 6, 9, 11, 17, 3, 2, 1},
    {"3x3 rows (output rows 32 wide)", 2, 5, 11, 3, 32, 3, 1, 1},
    {"3x3 stride 2 rows (output rows 16 wide, last tile 16)", 1, 6, 9, 5, 32, 3, 2, 1},
    {"3x3 rows (output rows 8 wide, last tile 8)", 2, 5, 11, 5, 8, 3, 1, 1},
    {"3x3 stride 2 rows (output rows 8 wide, last tile 24)", 1, 6, 9, 5, 16, 3, 2, 1},
    {"depthwise 5x5", 2, 7, 7, 6, 40, 5, 1, 7},
    {"3x3 Winograd (odd output, C and M not multiples of 8)", 2, 33, 19, 9, 11, 3, 1, 1},
    {"3x3 Winograd (8x8: several tile rows per vector)", 2, 32, 16, 8, 8, 3, 1, 1},
};

static void test_chains(void) {
  const c8_isa top = c8_cpu_isa();
  for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
    const shape_case *sc = &shapes[si];
    calib8_tensor x = {.dtype = CALIB8_FLOAT, .rank = 4, .dims = {sc->n, sc->c, sc->h, sc->w}};
    float *xd = malloc(sizeof(float) * (size_t)c8_numel(&x));
    for (int64_t i = 0; i < c8_numel(&x); i++) xd[i] = 2.0f * frand();
    x.data = xd;
    for (int chain = 0; chain < N_CHAINS; chain++) {
      /* the residual of CHAIN_RESIDUAL_RELU is a plain conv, not depthwise-compatible in shape */
      if (chain == CHAIN_RESIDUAL_RELU && sc->groups > 1) continue;
      c8_graph *g = build(chain, sc->n, sc->c, sc->m, sc->h, sc->w, sc->k, sc->s, sc->groups);
      for (int isa = C8_ISA_SCALAR; isa <= (int)top; isa++) {
        c8_cpu_set_isa((c8_isa)isa);
        float *ref[2];
        size_t ref_bytes[2];
        const int unfused_steps = run(g, &x, 1, true, ref, ref_bytes);
        for (int threads = 1; threads <= 2; threads++) {
          float *got[2];
          size_t got_bytes[2];
          const int fused_steps = run(g, &x, threads, false, got, got_bytes);
          int before = check_failures;
          for (int o = 0; o < 2; o++) {
            CHECK_EQ_INT(got_bytes[o], ref_bytes[o]);
            if (got_bytes[o] == ref_bytes[o] && ref[o]) CHECK(memcmp(got[o], ref[o], ref_bytes[o]) == 0);
            free(got[o]);
          }
          /* fused: fewer steps (the output-mid-chain case still fuses the Mul) */
          CHECK(fused_steps < unfused_steps);
          if (check_failures != before)
            fprintf(stderr, "  chain '%s' on %s, isa %s, %d thread(s): steps %d fused / %d unfused\n",
                    chain_names[chain], sc->what, c8_isa_name((c8_isa)isa), threads, fused_steps, unfused_steps);
        }
        free(ref[0]), free(ref[1]);
      }
      c8_cpu_set_isa(top);
      c8_graph_destroy(g);
    }
    free(xd);
  }
}

/* A chain the convolution cannot take (a constant varying over space, not per channel) runs unfused:
   same outputs, same number of steps as the unfused plan. */
static void test_declined(void) {
  c8_graph *g = c8_graph_new();
  g->opset = 13;
  int x = c8_graph_get_or_add_value(g, "x");
  int y = conv(g, x, "y", 3, 5, 3, 1, 1);
  y = node(g, "Mul", 2, (int[]){y, const_tensor(g, "spatial", 4, (int64_t[]){1, 1, 6, 7}, 1.0f, 0.0f)}, "m");
  y = node(g, "Relu", 1, &y, "r");
  g->inputs = malloc(sizeof(int));
  g->inputs[0] = x;
  g->n_inputs = 1;
  g->outputs = malloc(sizeof(int));
  g->outputs[0] = y;
  g->n_outputs = 1;
  CHECK_EQ_INT(c8_graph_toposort(g), CALIB8_OK);
  calib8_tensor xt = {.dtype = CALIB8_FLOAT, .rank = 4, .dims = {2, 3, 6, 7}};
  float xd[2 * 3 * 6 * 7];
  for (size_t i = 0; i < sizeof xd / sizeof xd[0]; i++) xd[i] = frand();
  xt.data = xd;
  float *ref[2], *got[2];
  size_t rb[2], gb[2];
  const int unfused = run(g, &xt, 1, true, ref, rb), fused = run(g, &xt, 2, false, got, gb);
  CHECK_EQ_INT(fused, unfused);
  CHECK_EQ_INT(gb[0], rb[0]);
  if (gb[0] == rb[0] && ref[0]) CHECK(memcmp(got[0], ref[0], rb[0]) == 0);
  for (int o = 0; o < 2; o++) free(ref[o]), free(got[o]);
  c8_graph_destroy(g);
}

/* Sigmoid and x * sigmoid(x) after an identity 1x1 Conv over 2^18 inputs swept across [-100, 100] plus the
   clamp edges and specials: fused and unfused, on every ISA level, equal c8_sigmoidf as compiled here (the
   baseline build, libm fmaf) bit for bit. A single rounding done differently anywhere (an FMA split into a
   multiply and an add) shows up on a few hundred of these inputs. */
static void test_sigmoid_sweep(void) {
  enum { H = 512, W = 512, N = H * W };
  static const float special[] = {0.0f, -0.0f, 1e-30f, -1e-30f, 88.0f, 88.00001f, -89.0f, -89.00001f, 87.99999f,
                                  -88.99999f, 1e4f, -1e4f, FLT_MAX, -FLT_MAX, INFINITY, -INFINITY, NAN};
  const int ns = (int)(sizeof special / sizeof special[0]);
  float *xd = malloc(sizeof(float) * N), *want = malloc(sizeof(float) * N);
  for (int i = 0; i < N; i++) xd[i] = i < ns ? special[i] : -100.0f + 200.0f * (float)i / (float)N;
  calib8_tensor x = {.dtype = CALIB8_FLOAT, .rank = 4, .dims = {1, 1, H, W}, .data = xd};
  const c8_isa top = c8_cpu_isa();
  for (int silu = 0; silu <= 1; silu++) {
    for (int i = 0; i < N; i++) {
      const float v = xd[i] + 0.0f; /* the Conv's output (-0 becomes +0) */
      want[i] = silu ? v * c8_sigmoidf(v) : c8_sigmoidf(v);
    }
    c8_graph *g = c8_graph_new();
    g->opset = 13;
    int xv = c8_graph_get_or_add_value(g, "x");
    int w = const_tensor(g, "w", 4, (int64_t[]){1, 1, 1, 1}, 0.0f, 1.0f);
    int b = const_tensor(g, "b", 1, (int64_t[]){1}, 0.0f, 0.0f);
    int y = node(g, "Conv", 3, (int[]){xv, w, b}, "y");
    set_ints(g, y, "kernel_shape", 2, (int64_t[]){1, 1});
    int sg = node(g, "Sigmoid", 1, &y, "sg");
    y = silu ? node(g, "Mul", 2, (int[]){y, sg}, "silu") : sg;
    g->inputs = malloc(sizeof(int));
    g->inputs[0] = xv;
    g->n_inputs = 1;
    g->outputs = malloc(sizeof(int));
    g->outputs[0] = y;
    g->n_outputs = 1;
    CHECK_EQ_INT(c8_graph_toposort(g), CALIB8_OK);
    for (int isa = C8_ISA_SCALAR; isa <= (int)top; isa++) {
      c8_cpu_set_isa((c8_isa)isa);
      for (int observe = 0; observe <= 1; observe++) {
        float *got[2];
        size_t bytes[2];
        run(g, &x, 1, observe, got, bytes);
        CHECK_EQ_INT(bytes[0], sizeof(float) * N);
        int bad = 0, first = -1;
        for (int i = 0; got[0] && bytes[0] == sizeof(float) * N && i < N; i++) {
          const bool same = isnan(want[i]) ? isnan(got[0][i]) : memcmp(&got[0][i], &want[i], sizeof(float)) == 0;
          if (!same && bad++ == 0) first = i;
        }
        CHECK_EQ_INT(bad, 0);
        if (bad)
          fprintf(stderr, "  %s %s on %s: %d of %d differ from c8_sigmoidf, first x = %.9g: %.9g, want %.9g\n",
                  silu ? "x*sigmoid(x)" : "sigmoid", observe ? "unfused" : "fused", c8_isa_name((c8_isa)isa), bad,
                  N, (double)xd[first], (double)got[0][first], (double)want[first]);
        free(got[0]), free(got[1]);
      }
    }
    c8_cpu_set_isa(top);
    c8_graph_destroy(g);
  }
  free(xd), free(want);
}

int main(void) {
  CHECK_RUN(test_chains);
  CHECK_RUN(test_sigmoid_sweep);
  CHECK_RUN(test_declined);
  return CHECK_DONE();
}
