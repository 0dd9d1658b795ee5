/* Conv against a naive direct convolution (double accumulation) on odd shapes: groups,
 * depthwise (with and without a channel multiplier), dilation, stride, symmetric and
 * asymmetric pads, auto_pad, 1x1, 1-D and 3-D, sizes crossing the GEMM's cache blocks;
 * each with constant weights (packed at prepare) and with weights known only at run.
 * Also checks the error messages of malformed convolutions. */
#include <stdint.h>
#include <time.h>

#include "check.h"
#include "core/cpu.h"
#include "core/tensor.h"
#include "core/threadpool.h"
#include "graph/graph.h"
#include "ops/op.h"

typedef struct conv_case {
  int nsp;
  int64_t n, c, m, groups;
  int64_t in[3], k[3], stride[3], dil[3], pads[6];
  const char *auto_pad; /* NULL: NOTSET with pads */
  bool bias;
  int act; /* com.microsoft FusedConv activation: 0 none (plain Conv), 1 Relu, 2 Clip [-0.3, 0.4] */
} conv_case;

static uint32_t rng = 777;
static float frand(void) {
  rng = rng * 1664525u + 1013904223u;
  return (float)((rng >> 8) & 0xffff) / 32768.0f - 1.0f;
}

static void set_ints(c8_node *node, const char *name, const int64_t *v, int n) {
  c8_attr *a = c8_node_add_attr(node, name, C8_ATTR_INTS);
  a->n = n;
  a->ints = malloc(sizeof(int64_t) * (size_t)n);
  memcpy(a->ints, v, sizeof(int64_t) * (size_t)n);
}

static c8_node *make_node(c8_graph *g, const conv_case *cc) {
  int in[3] = {0, 1, 2}, out[1] = {3};
  int idx = c8_graph_add_node(g, "conv_under_test", cc->act ? "FusedConv" : "Conv", cc->act ? "com.microsoft" : "",
                              cc->bias ? 3 : 2, in, 1, out);
  c8_node *node = &g->nodes[idx];
  node->def = cc->act ? &c8_op_fused_conv : &c8_op_conv;
  if (cc->act) {
    c8_attr *a = c8_node_add_attr(node, "activation", C8_ATTR_STRING);
    a->s = strdup(cc->act == 1 ? "Relu" : "Clip");
    if (cc->act == 2) {
      a = c8_node_add_attr(node, "activation_params", C8_ATTR_FLOATS);
      a->n = 2;
      a->floats = malloc(2 * sizeof(float));
      a->floats[0] = -0.3f;
      a->floats[1] = 0.4f;
    }
  }
  set_ints(node, "strides", cc->stride, cc->nsp);
  set_ints(node, "dilations", cc->dil, cc->nsp);
  set_ints(node, "kernel_shape", cc->k, cc->nsp);
  if (cc->auto_pad) {
    c8_attr *a = c8_node_add_attr(node, "auto_pad", C8_ATTR_STRING);
    a->s = strdup(cc->auto_pad);
  } else {
    set_ints(node, "pads", cc->pads, 2 * cc->nsp);
  }
  c8_attr *a = c8_node_add_attr(node, "group", C8_ATTR_INT);
  a->i = cc->groups;
  return node;
}

/* Output size and begin padding along one spatial dim, computed independently of the op. */
static void ref_dim(const conv_case *cc, int i, int64_t *out, int64_t *pb) {
  int64_t ek = (cc->k[i] - 1) * cc->dil[i] + 1;
  if (cc->auto_pad && strncmp(cc->auto_pad, "SAME", 4) == 0) {
    *out = (cc->in[i] + cc->stride[i] - 1) / cc->stride[i];
    int64_t total = (*out - 1) * cc->stride[i] + ek - cc->in[i];
    if (total < 0) total = 0;
    *pb = strcmp(cc->auto_pad, "SAME_UPPER") == 0 ? total / 2 : (total + 1) / 2;
  } else if (cc->auto_pad) {
    *pb = 0;
    *out = (cc->in[i] - ek) / cc->stride[i] + 1;
  } else {
    *pb = cc->pads[i];
    *out = (cc->in[i] + cc->pads[i] + cc->pads[cc->nsp + i] - ek) / cc->stride[i] + 1;
  }
}

static void run_case(const conv_case *cc, bool const_w) {
  int nsp = cc->nsp;
  c8_tensor x = {.dtype = CALIB8_FLOAT, .rank = nsp + 2, .dims = {cc->n, cc->c}};
  c8_tensor w = {.dtype = CALIB8_FLOAT, .rank = nsp + 2, .dims = {cc->m, cc->c / cc->groups}};
  c8_tensor b = {.dtype = CALIB8_FLOAT, .rank = 1, .dims = {cc->m}};
  c8_tensor y = {0};
  for (int i = 0; i < nsp; i++) x.dims[2 + i] = cc->in[i], w.dims[2 + i] = cc->k[i];
  x.data = c8_alloc(c8_nbytes(&x));
  w.data = c8_alloc(c8_nbytes(&w));
  b.data = c8_alloc(c8_nbytes(&b));
  for (int64_t i = 0; i < c8_numel(&x); i++) ((float *)x.data)[i] = frand();
  for (int64_t i = 0; i < c8_numel(&w); i++) ((float *)w.data)[i] = frand();
  for (int64_t i = 0; i < c8_numel(&b); i++) ((float *)b.data)[i] = frand();
  c8_graph *g = c8_graph_new();
  c8_node *node = make_node(g, cc);
  void *wdata = w.data;
  if (!const_w) w.data = NULL; /* not known at prepare: packed at run */
  c8_tensor *in[3] = {&x, &w, &b}, *out[1] = {&y};
  c8_kernel k = {.node = node, .opset = 13};
  int n_in = cc->bias ? 3 : 2;
  c8_status st = node->def->prepare(&k, in, n_in, out, 1);
  CHECK_EQ_INT(st, CALIB8_OK);
  if (st) {
    fprintf(stderr, "  %s\n", calib8_last_error());
    goto done;
  }
  int64_t od[3] = {1, 1, 1}, pb[3] = {0, 0, 0};
  for (int i = 0; i < nsp; i++) ref_dim(cc, i, &od[i], &pb[i]);
  CHECK_EQ_INT(y.rank, nsp + 2);
  CHECK_EQ_INT(y.dims[1], cc->m);
  for (int i = 0; i < nsp; i++) CHECK_EQ_INT(y.dims[2 + i], od[i]);
  w.data = wdata;
  y.data = c8_alloc(c8_nbytes(&y));
  void *scratch = c8_alloc(k.scratch_bytes ? k.scratch_bytes : 1);
  CHECK_EQ_INT(node->def->run(&k, in, n_in, out, 1, scratch), CALIB8_OK);
  c8_free(scratch);
  /* 2 and 3 threads: bit-identical to 1 (the work is split by output, never inside a sum). */
  for (int threads = 2; threads <= 3; threads++) {
    c8_threadpool *pool = NULL;
    CHECK_EQ_INT(c8_threadpool_create(threads, &pool), CALIB8_OK);
    c8_kernel kt = {.node = node, .opset = 13, .pool = pool};
    c8_tensor yt = {0};
    c8_tensor *outt[1] = {&yt};
    if (!const_w) w.data = NULL;
    CHECK_EQ_INT(node->def->prepare(&kt, in, n_in, outt, 1), CALIB8_OK);
    w.data = wdata;
    yt.data = c8_alloc(c8_nbytes(&y));
    void *sc = c8_alloc(kt.scratch_bytes ? kt.scratch_bytes : 1);
    CHECK_EQ_INT(node->def->run(&kt, in, n_in, outt, 1, sc), CALIB8_OK);
    if (memcmp(yt.data, y.data, c8_nbytes(&y)) != 0) {
      fprintf(stderr, "  %d threads: output differs from 1 thread\n", threads);
      CHECK(0);
    }
    c8_free(sc);
    c8_free(yt.data);
    if (kt.state) node->def->destroy(kt.state);
    c8_threadpool_destroy(pool);
  }
  /* Naive reference, spatial dims padded to 3 like the op does, but written independently. */
  int64_t I[3] = {1, 1, 1}, K[3] = {1, 1, 1}, S[3] = {1, 1, 1}, D[3] = {1, 1, 1}, O[3] = {1, 1, 1}, P[3] = {0, 0, 0};
  for (int i = 0; i < nsp; i++) {
    int j = 3 - nsp + i;
    I[j] = cc->in[i], K[j] = cc->k[i], S[j] = cc->stride[i], D[j] = cc->dil[i], O[j] = od[i], P[j] = pb[i];
  }
  const float *xf = x.data, *wf = w.data, *bf = b.data, *yf = y.data;
  int64_t cg = cc->c / cc->groups, mg = cc->m / cc->groups;
  int bad = 0;
  for (int64_t n = 0; n < cc->n; n++)
    for (int64_t m = 0; m < cc->m; m++)
      for (int64_t oz = 0; oz < O[0]; oz++)
        for (int64_t oy = 0; oy < O[1]; oy++)
          for (int64_t ox = 0; ox < O[2]; ox++) {
            double s = cc->bias ? bf[m] : 0.0;
            for (int64_t c = 0; c < cg; c++)
              for (int64_t kz = 0; kz < K[0]; kz++)
                for (int64_t ky = 0; ky < K[1]; ky++)
                  for (int64_t kx = 0; kx < K[2]; kx++) {
                    int64_t iz = oz * S[0] - P[0] + kz * D[0], iy = oy * S[1] - P[1] + ky * D[1],
                            ix = ox * S[2] - P[2] + kx * D[2];
                    if (iz < 0 || iz >= I[0] || iy < 0 || iy >= I[1] || ix < 0 || ix >= I[2]) continue;
                    int64_t ci = (m / mg) * cg + c;
                    s += (double)xf[(((n * cc->c + ci) * I[0] + iz) * I[1] + iy) * I[2] + ix] *
                         wf[(((m * cg + c) * K[0] + kz) * K[1] + ky) * K[2] + kx];
                  }
            if (cc->act) s = s < (cc->act == 1 ? 0.0 : -0.3f) ? (cc->act == 1 ? 0.0 : -0.3f) : s;
            if (cc->act == 2) s = s > 0.4f ? 0.4f : s;
            double got = yf[(((n * cc->m + m) * O[0] + oz) * O[1] + oy) * O[2] + ox];
            double tol = 1e-5 * (double)(cg * K[0] * K[1] * K[2] + 4);
            if (!(fabs(got - s) <= tol) && bad++ < 3)
              fprintf(stderr, "  n=%lld m=%lld out=(%lld,%lld,%lld): got %.7g want %.7g\n", (long long)n,
                      (long long)m, (long long)oz, (long long)oy, (long long)ox, got, s);
          }
  CHECK_EQ_INT(bad, 0);
done:
  if (k.state) node->def->destroy(k.state);
  c8_graph_destroy(g);
  c8_free(x.data), c8_free(wdata), c8_free(b.data), c8_free(y.data);
}

static void run_both(const conv_case *cc) {
  run_case(cc, true);
  run_case(cc, false);
}

#define P2(a, b, c, d) {a, b, c, d}
static const conv_case cases[] = {
    /* plain 3x3, pad 1 */
    {.nsp = 2, .n = 1, .c = 3, .m = 5, .groups = 1, .in = {9, 7}, .k = {3, 3}, .stride = {1, 1}, .dil = {1, 1},
     .pads = P2(1, 1, 1, 1), .bias = true},
    /* stride 2 with asymmetric pads, batch 2, no bias */
    {.nsp = 2, .n = 2, .c = 4, .m = 3, .groups = 1, .in = {11, 8}, .k = {3, 3}, .stride = {2, 2}, .dil = {1, 1},
     .pads = P2(1, 0, 2, 1)},
    /* dilation 2, stride (1,3), non-square kernel */
    {.nsp = 2, .n = 1, .c = 2, .m = 7, .groups = 1, .in = {13, 17}, .k = {3, 2}, .stride = {1, 3}, .dil = {2, 2},
     .pads = P2(2, 1, 2, 0), .bias = true},
    /* groups 2 */
    {.nsp = 2, .n = 1, .c = 6, .m = 4, .groups = 2, .in = {10, 9}, .k = {3, 3}, .stride = {1, 1}, .dil = {1, 1},
     .pads = P2(1, 1, 1, 1), .bias = true},
    /* groups 3, stride 2, 5x5 */
    {.nsp = 2, .n = 2, .c = 9, .m = 6, .groups = 3, .in = {12, 11}, .k = {5, 5}, .stride = {2, 2}, .dil = {1, 1},
     .pads = P2(2, 2, 2, 2), .bias = true},
    /* depthwise 3x3 stride 1 */
    {.nsp = 2, .n = 1, .c = 5, .m = 5, .groups = 5, .in = {19, 23}, .k = {3, 3}, .stride = {1, 1}, .dil = {1, 1},
     .pads = P2(1, 1, 1, 1), .bias = true},
    /* depthwise 5x5 stride 2 asymmetric */
    {.nsp = 2, .n = 2, .c = 7, .m = 7, .groups = 7, .in = {17, 14}, .k = {5, 5}, .stride = {2, 2}, .dil = {1, 1},
     .pads = P2(2, 1, 2, 2), .bias = true},
    /* depthwise 3x3 dilation 2 stride 3, no bias */
    {.nsp = 2, .n = 1, .c = 4, .m = 4, .groups = 4, .in = {15, 16}, .k = {3, 3}, .stride = {3, 3}, .dil = {2, 2},
     .pads = P2(0, 2, 1, 0)},
    /* depthwise 5x5 stride 1, dilation 2, input narrower than the kernel: no interior */
    {.nsp = 2, .n = 1, .c = 3, .m = 3, .groups = 3, .in = {9, 6}, .k = {5, 5}, .stride = {1, 1}, .dil = {2, 2},
     .pads = P2(4, 4, 3, 5), .bias = true},
    /* depthwise 3x3 stride 1, asymmetric pads, width 1 */
    {.nsp = 2, .n = 1, .c = 2, .m = 2, .groups = 2, .in = {5, 1}, .k = {3, 3}, .stride = {1, 1}, .dil = {1, 1},
     .pads = P2(0, 2, 2, 0), .bias = true},
    /* depthwise 5x5 stride (2, 1) as in PP-OCR, rows longer than one vector */
    {.nsp = 2, .n = 2, .c = 3, .m = 3, .groups = 3, .in = {9, 37}, .k = {5, 5}, .stride = {2, 1}, .dil = {1, 1},
     .pads = P2(2, 2, 2, 2), .bias = true},
    /* depthwise 3x3 stride (1, 2), odd width, Clip */
    {.nsp = 2, .n = 1, .c = 4, .m = 4, .groups = 4, .in = {6, 35}, .k = {3, 3}, .stride = {1, 2}, .dil = {1, 1},
     .pads = P2(1, 1, 1, 0), .bias = true, .act = 2},
    /* depthwise with channel multiplier 2 */
    {.nsp = 2, .n = 1, .c = 3, .m = 6, .groups = 3, .in = {8, 9}, .k = {3, 3}, .stride = {1, 1}, .dil = {1, 1},
     .pads = P2(1, 1, 1, 1), .bias = true},
    /* 1x1 (GEMM straight on the input) */
    {.nsp = 2, .n = 2, .c = 7, .m = 9, .groups = 1, .in = {13, 11}, .k = {1, 1}, .stride = {1, 1}, .dil = {1, 1},
     .pads = P2(0, 0, 0, 0), .bias = true},
    /* 1x1 grouped */
    {.nsp = 2, .n = 1, .c = 8, .m = 6, .groups = 2, .in = {5, 3}, .k = {1, 1}, .stride = {1, 1}, .dil = {1, 1},
     .pads = P2(0, 0, 0, 0)},
    /* 1x1 stride 2 (im2col path) */
    {.nsp = 2, .n = 1, .c = 5, .m = 3, .groups = 1, .in = {9, 10}, .k = {1, 1}, .stride = {2, 2}, .dil = {1, 1},
     .pads = P2(0, 0, 0, 0), .bias = true},
    /* 1x1 padded */
    {.nsp = 2, .n = 1, .c = 3, .m = 2, .groups = 1, .in = {4, 5}, .k = {1, 1}, .stride = {1, 1}, .dil = {1, 1},
     .pads = P2(1, 0, 0, 2), .bias = true},
    /* 1-D */
    {.nsp = 1, .n = 2, .c = 3, .m = 4, .groups = 1, .in = {17}, .k = {3}, .stride = {2}, .dil = {2}, .pads = {2, 1},
     .bias = true},
    /* 1-D depthwise */
    {.nsp = 1, .n = 1, .c = 6, .m = 6, .groups = 6, .in = {20}, .k = {5}, .stride = {1}, .dil = {1}, .pads = {2, 2},
     .bias = true},
    /* 3-D */
    {.nsp = 3, .n = 1, .c = 2, .m = 3, .groups = 1, .in = {5, 6, 7}, .k = {3, 2, 3}, .stride = {1, 2, 1},
     .dil = {1, 1, 2}, .pads = {1, 0, 1, 1, 1, 2}, .bias = true},
    /* 3-D grouped */
    {.nsp = 3, .n = 1, .c = 4, .m = 4, .groups = 2, .in = {4, 5, 5}, .k = {2, 3, 3}, .stride = {2, 1, 1},
     .dil = {1, 1, 1}, .pads = {0, 1, 1, 1, 1, 1}},
    /* auto_pad */
    {.nsp = 2, .n = 1, .c = 2, .m = 3, .groups = 1, .in = {7, 8}, .k = {3, 4}, .stride = {2, 2}, .dil = {1, 1},
     .auto_pad = "SAME_UPPER", .bias = true},
    {.nsp = 2, .n = 1, .c = 2, .m = 3, .groups = 1, .in = {7, 8}, .k = {3, 4}, .stride = {2, 2}, .dil = {1, 1},
     .auto_pad = "SAME_LOWER", .bias = true},
    {.nsp = 2, .n = 1, .c = 2, .m = 3, .groups = 1, .in = {7, 8}, .k = {3, 4}, .stride = {2, 1}, .dil = {1, 1},
     .auto_pad = "VALID"},
    {.nsp = 2, .n = 1, .c = 3, .m = 3, .groups = 3, .in = {6, 9}, .k = {3, 3}, .stride = {2, 2}, .dil = {1, 1},
     .auto_pad = "SAME_UPPER", .bias = true},
    /* stride 1 on wide images (the direct path on AVX-512): asymmetric pads, M not a multiple of 8 */
    {.nsp = 2, .n = 2, .c = 5, .m = 11, .groups = 1, .in = {7, 70}, .k = {3, 3}, .stride = {1, 1}, .dil = {1, 1},
     .pads = P2(1, 2, 0, 1), .bias = true},
    /* groups 2, dilation, 3x5 */
    {.nsp = 2, .n = 1, .c = 4, .m = 6, .groups = 2, .in = {5, 64}, .k = {3, 5}, .stride = {1, 1}, .dil = {2, 1},
     .pads = P2(2, 2, 2, 2)},
    /* K = 180 crosses the direct path's K blocks; no padding */
    {.nsp = 2, .n = 1, .c = 20, .m = 9, .groups = 1, .in = {4, 50}, .k = {3, 3}, .stride = {1, 1}, .dil = {1, 1},
     .pads = P2(0, 0, 0, 0), .bias = true, .act = 2},
    /* output rows a multiple of 16 wide (the rows path on AVX-512): 32 wide, M not a multiple of 8, Relu */
    {.nsp = 2, .n = 2, .c = 5, .m = 11, .groups = 1, .in = {6, 32}, .k = {3, 3}, .stride = {1, 1}, .dil = {1, 1},
     .pads = P2(1, 1, 1, 1), .bias = true, .act = 1},
    /* stride 2, asymmetric pads, 16 wide with an odd number of rows (last tile 16 positions), K = 405 */
    {.nsp = 2, .n = 1, .c = 45, .m = 17, .groups = 1, .in = {11, 32}, .k = {3, 3}, .stride = {2, 2}, .dil = {1, 1},
     .pads = P2(1, 0, 0, 1), .bias = true},
    /* rows path over two bands of padded rows (13 output rows each with 64 channels 34 wide) */
    {.nsp = 2, .n = 1, .c = 64, .m = 9, .groups = 1, .in = {20, 32}, .k = {3, 3}, .stride = {1, 1}, .dil = {1, 1},
     .pads = P2(1, 1, 1, 1), .bias = true},
    /* groups 2, dilation 2, unpadded (B straight from the input), 16 wide, 3 rows */
    {.nsp = 2, .n = 2, .c = 6, .m = 10, .groups = 2, .in = {7, 20}, .k = {3, 3}, .stride = {1, 1}, .dil = {2, 2},
     .pads = P2(0, 0, 0, 0), .bias = true, .act = 2},
    /* groups 3, stride 2, 5x5, 16 wide; 1x3 kernel, stride (2, 1), 48 wide; 3x1 kernel with pads, stride 2 */
    {.nsp = 2, .n = 1, .c = 9, .m = 6, .groups = 3, .in = {12, 31}, .k = {5, 5}, .stride = {2, 2}, .dil = {1, 1},
     .pads = P2(2, 2, 2, 2), .bias = true},
    {.nsp = 2, .n = 1, .c = 3, .m = 8, .groups = 1, .in = {5, 48}, .k = {1, 3}, .stride = {2, 1}, .dil = {1, 1},
     .pads = P2(0, 1, 1, 1)},
    {.nsp = 2, .n = 1, .c = 4, .m = 9, .groups = 1, .in = {6, 31}, .k = {3, 1}, .stride = {2, 2}, .dil = {1, 1},
     .pads = P2(1, 1, 1, 0), .bias = true},
    /* output rows 8 wide (the rows path on AVX-512, runs of 8): batch 2, odd channels, 5 rows (last tile 8
       positions), Relu; stride 2 with asymmetric pads (phase-split rows), 3 rows (last tile 24); groups 2,
       24 wide, Clip; 40 wide, 5x5 with dilation 2; 4 wide (GEMM path) */
    {.nsp = 2, .n = 2, .c = 7, .m = 13, .groups = 1, .in = {5, 8}, .k = {3, 3}, .stride = {1, 1}, .dil = {1, 1},
     .pads = P2(1, 1, 1, 1), .bias = true, .act = 1},
    {.nsp = 2, .n = 3, .c = 33, .m = 9, .groups = 1, .in = {6, 16}, .k = {3, 3}, .stride = {2, 2}, .dil = {1, 1},
     .pads = P2(1, 0, 0, 1), .bias = true},
    {.nsp = 2, .n = 2, .c = 10, .m = 6, .groups = 2, .in = {7, 24}, .k = {3, 3}, .stride = {1, 1}, .dil = {1, 1},
     .pads = P2(0, 1, 0, 1), .bias = true, .act = 2},
    {.nsp = 2, .n = 1, .c = 3, .m = 17, .groups = 1, .in = {9, 40}, .k = {5, 5}, .stride = {1, 1}, .dil = {2, 2},
     .pads = P2(4, 4, 4, 4), .bias = true},
    {.nsp = 2, .n = 2, .c = 5, .m = 8, .groups = 1, .in = {8, 8}, .k = {3, 3}, .stride = {2, 2}, .dil = {1, 1},
     .pads = P2(1, 1, 1, 1), .bias = true},
    /* crosses the GEMM blocks: K = 32*9 > KC, OH*OW = 2304 > NC, M > MC */
    /* FusedConv: Relu / Clip epilogue on the im2col, 1x1 and depthwise paths */
    {.nsp = 2, .n = 1, .c = 3, .m = 5, .groups = 1, .in = {9, 7}, .k = {3, 3}, .stride = {1, 1}, .dil = {1, 1},
     .pads = P2(1, 1, 1, 1), .bias = true, .act = 1},
    {.nsp = 2, .n = 2, .c = 7, .m = 9, .groups = 1, .in = {13, 11}, .k = {1, 1}, .stride = {1, 1}, .dil = {1, 1},
     .pads = P2(0, 0, 0, 0), .bias = true, .act = 2},
    {.nsp = 2, .n = 1, .c = 5, .m = 5, .groups = 5, .in = {19, 23}, .k = {3, 3}, .stride = {1, 1}, .dil = {1, 1},
     .pads = P2(1, 1, 1, 1), .bias = true, .act = 2},
    {.nsp = 2, .n = 1, .c = 32, .m = 133, .groups = 1, .in = {48, 48}, .k = {3, 3}, .stride = {1, 1},
     .dil = {1, 1}, .pads = P2(1, 1, 1, 1), .bias = true, .act = 1},
    /* Winograd F(2x2, 3x3) (AVX-512, 3x3 stride 1, C >= 32 and M >= 16): tiles of several images per block (8x8),
       odd outputs (last tile row / column half used), C and M not multiples of 8, pads 0, 1 and asymmetric,
       rows 6 tiles wide (16 not a multiple), wider than 16 and 32 tiles, no bias, FusedConv clamps */
    {.nsp = 2, .n = 3, .c = 32, .m = 16, .groups = 1, .in = {8, 8}, .k = {3, 3}, .stride = {1, 1}, .dil = {1, 1},
     .pads = P2(1, 1, 1, 1), .bias = true},
    {.nsp = 2, .n = 3, .c = 33, .m = 19, .groups = 1, .in = {9, 7}, .k = {3, 3}, .stride = {1, 1}, .dil = {1, 1},
     .pads = P2(1, 1, 1, 1), .bias = true},
    {.nsp = 2, .n = 1, .c = 36, .m = 24, .groups = 1, .in = {15, 13}, .k = {3, 3}, .stride = {1, 1}, .dil = {1, 1},
     .pads = P2(0, 0, 0, 0), .bias = true},
    {.nsp = 2, .n = 2, .c = 32, .m = 18, .groups = 1, .in = {12, 12}, .k = {3, 3}, .stride = {1, 1}, .dil = {1, 1},
     .pads = P2(0, 1, 2, 0), .bias = true, .act = 2},
    {.nsp = 2, .n = 1, .c = 32, .m = 16, .groups = 1, .in = {21, 70}, .k = {3, 3}, .stride = {1, 1}, .dil = {1, 1},
     .pads = P2(1, 1, 1, 1), .act = 1},
    {.nsp = 2, .n = 2, .c = 40, .m = 33, .groups = 1, .in = {33, 33}, .k = {3, 3}, .stride = {1, 1}, .dil = {1, 1},
     .pads = P2(1, 2, 1, 0), .bias = true},
    {.nsp = 2, .n = 4, .c = 32, .m = 16, .groups = 1, .in = {4, 4}, .k = {3, 3}, .stride = {1, 1}, .dil = {1, 1},
     .pads = P2(1, 1, 1, 1), .bias = true},
};

/* Every case on every ISA level the CPU has (CALIB8_ISA lowers the top one). */
static void test_cases(void) {
  const c8_isa top = c8_cpu_isa();
  for (int isa = C8_ISA_SCALAR; isa <= (int)top; isa++) {
    c8_cpu_set_isa((c8_isa)isa);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
      int before = check_failures;
      run_both(&cases[i]);
      if (check_failures != before) fprintf(stderr, "  (case %zu, isa %s)\n", i, c8_isa_name((c8_isa)isa));
    }
  }
  c8_cpu_set_isa(top);
}

/* The Winograd shapes above really take the Winograd path: their outputs differ (in the last bits) from the same
   convolution with CALIB8_WINOGRAD=0, which the cases above also check against the reference. */
static void conv_output(const conv_case *cc, float **y_out, size_t *bytes) {
  c8_tensor x = {.dtype = CALIB8_FLOAT, .rank = 4, .dims = {cc->n, cc->c, cc->in[0], cc->in[1]}};
  c8_tensor w = {.dtype = CALIB8_FLOAT, .rank = 4, .dims = {cc->m, cc->c, 3, 3}};
  c8_tensor b = {.dtype = CALIB8_FLOAT, .rank = 1, .dims = {cc->m}}, y = {0};
  x.data = c8_alloc(c8_nbytes(&x)), w.data = c8_alloc(c8_nbytes(&w)), b.data = c8_alloc(c8_nbytes(&b));
  uint32_t saved = rng;
  rng = 4242;
  for (int64_t i = 0; i < c8_numel(&x); i++) ((float *)x.data)[i] = frand();
  for (int64_t i = 0; i < c8_numel(&w); i++) ((float *)w.data)[i] = frand();
  for (int64_t i = 0; i < c8_numel(&b); i++) ((float *)b.data)[i] = frand();
  rng = saved;
  c8_graph *g = c8_graph_new();
  c8_node *node = make_node(g, cc);
  c8_tensor *in[3] = {&x, &w, &b}, *out[1] = {&y};
  c8_kernel k = {.node = node, .opset = 13};
  CHECK_EQ_INT(node->def->prepare(&k, in, 3, out, 1), CALIB8_OK);
  *bytes = c8_nbytes(&y);
  y.data = c8_alloc(*bytes);
  void *scratch = c8_alloc(k.scratch_bytes + 1);
  CHECK_EQ_INT(node->def->run(&k, in, 3, out, 1, scratch), CALIB8_OK);
  *y_out = y.data;
  node->def->destroy(k.state);
  c8_graph_destroy(g);
  c8_free(x.data), c8_free(w.data), c8_free(b.data), c8_free(scratch);
}

static void test_winograd_taken(void) {
  if (c8_cpu_isa() < C8_ISA_AVX512) return;
  int differ = 0, total = 0;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const conv_case *cc = &cases[i];
    if (cc->nsp != 2 || cc->groups != 1 || cc->k[0] != 3 || cc->k[1] != 3 || cc->stride[0] != 1 ||
        cc->stride[1] != 1 || cc->dil[0] != 1 || cc->dil[1] != 1 || cc->c < 32 || cc->m < 16 || cc->auto_pad)
      continue;
    float *a, *b;
    size_t na, nb;
    conv_output(cc, &a, &na);
    setenv("CALIB8_WINOGRAD", "0", 1);
    conv_output(cc, &b, &nb);
    unsetenv("CALIB8_WINOGRAD");
    total++;
    differ += na == nb && memcmp(a, b, na) != 0;
    c8_free(a), c8_free(b);
  }
  CHECK(total >= 7);
  CHECK_EQ_INT(differ, total);
}

/* prepare must fail with a message naming the rule. */
static void expect_error(const conv_case *cc, int64_t w_cin, const char *needle) {
  c8_tensor x = {.dtype = CALIB8_FLOAT, .rank = cc->nsp + 2, .dims = {cc->n, cc->c}};
  c8_tensor w = {.dtype = CALIB8_FLOAT, .rank = cc->nsp + 2, .dims = {cc->m, w_cin}};
  c8_tensor y = {0};
  for (int i = 0; i < cc->nsp; i++) x.dims[2 + i] = cc->in[i], w.dims[2 + i] = cc->k[i];
  c8_graph *g = c8_graph_new();
  c8_node *node = make_node(g, cc);
  c8_tensor *in[2] = {&x, &w}, *out[1] = {&y};
  c8_kernel k = {.node = node, .opset = 13};
  c8_status st = c8_op_conv.prepare(&k, in, 2, out, 1);
  CHECK(st != CALIB8_OK);
  CHECK_STR_CONTAINS(calib8_last_error(), needle);
  if (k.state) c8_op_conv.destroy(k.state);
  c8_graph_destroy(g);
}

static void test_errors(void) {
  conv_case cc = {.nsp = 2, .n = 1, .c = 5, .m = 4, .groups = 1, .in = {8, 8}, .k = {3, 3}, .stride = {1, 1},
                  .dil = {1, 1}, .pads = P2(0, 0, 0, 0)};
  expect_error(&cc, 3, "input has 5 channels, weight expects 3 (group 1)");
  cc.c = 6, cc.groups = 4;
  expect_error(&cc, 2, "group 4 does not divide 6 input channels");
  cc.c = 6, cc.groups = 3, cc.m = 4;
  expect_error(&cc, 2, "group 3 does not divide 4 output channels");
  cc.groups = 1, cc.m = 4, cc.k[0] = 11;
  expect_error(&cc, 6, "smaller than the dilated kernel");
}

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t); /* CPU time: the bench is single-threaded and machines are shared */
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* test-conv --bench C M H W K STRIDE GROUPS: times one 2-D Conv (pads K/2, constant weights). */
static int bench(char **v) {
  conv_case cc = {.nsp = 2, .n = 1, .c = atol(v[0]), .m = atol(v[1]), .in = {atol(v[2]), atol(v[3])},
                  .k = {atol(v[4]), atol(v[4])}, .stride = {atol(v[5]), atol(v[5])}, .dil = {1, 1},
                  .groups = atol(v[6]), .bias = true};
  for (int i = 0; i < 4; i++) cc.pads[i] = cc.k[0] / 2;
  c8_tensor x = {.dtype = CALIB8_FLOAT, .rank = 4, .dims = {1, cc.c, cc.in[0], cc.in[1]}};
  c8_tensor w = {.dtype = CALIB8_FLOAT, .rank = 4, .dims = {cc.m, cc.c / cc.groups, cc.k[0], cc.k[1]}};
  c8_tensor b = {.dtype = CALIB8_FLOAT, .rank = 1, .dims = {cc.m}}, y = {0};
  x.data = c8_alloc(c8_nbytes(&x)), w.data = c8_alloc(c8_nbytes(&w)), b.data = c8_alloc(c8_nbytes(&b));
  for (int64_t i = 0; i < c8_numel(&x); i++) ((float *)x.data)[i] = frand();
  for (int64_t i = 0; i < c8_numel(&w); i++) ((float *)w.data)[i] = frand();
  c8_graph *g = c8_graph_new();
  c8_node *node = make_node(g, &cc);
  c8_tensor *in[3] = {&x, &w, &b}, *out[1] = {&y};
  c8_kernel k = {.node = node, .opset = 13};
  if (node->def->prepare(&k, in, 3, out, 1)) {
    fprintf(stderr, "%s\n", calib8_last_error());
    return 1;
  }
  y.data = c8_alloc(c8_nbytes(&y));
  void *scratch = c8_alloc(k.scratch_bytes + 1);
  /* Median CPU time of the runs (the minimum of a coarse CPU clock under-reads short runs). */
  double times[1000], start = now();
  int reps = 0;
  node->def->run(&k, in, 3, out, 1, scratch);
  for (; reps < 10 || (reps < 1000 && now() - start < 0.5); reps++) {
    double t0 = now();
    node->def->run(&k, in, 3, out, 1, scratch);
    times[reps] = now() - t0;
  }
  qsort(times, (size_t)reps, sizeof times[0], cmp_double);
  const double best = times[reps / 2];
  double flops = 2.0 * (double)c8_numel(&y) * (double)(cc.c / cc.groups * cc.k[0] * cc.k[1]);
  printf("conv C=%lld M=%lld %lldx%lld k=%lld s=%lld g=%lld: %.3f ms, %.1f GFLOP/s\n", (long long)cc.c,
         (long long)cc.m, (long long)cc.in[0], (long long)cc.in[1], (long long)cc.k[0], (long long)cc.stride[0],
         (long long)cc.groups, best * 1e3, flops / best * 1e-9);
  node->def->destroy(k.state);
  c8_graph_destroy(g);
  c8_free(x.data), c8_free(w.data), c8_free(b.data), c8_free(y.data), c8_free(scratch);
  return 0;
}

/* ConvTranspose against a naive scatter (double accumulation): the exact-tiling fast path (2x2 and 3x2
 * stride = kernel, groups, bias) and the general path (overlapping kernel, pads, output_padding), with
 * 1, 2 and 3 threads bit-identical. */
typedef struct convt_case {
  int64_t n, c, m, groups, ih, iw, kh, kw, sh, sw, pads[4], opad[2];
  bool bias;
} convt_case;

static void run_convt(const convt_case *cc) {
  c8_tensor x = {.dtype = CALIB8_FLOAT, .rank = 4, .dims = {cc->n, cc->c, cc->ih, cc->iw}};
  c8_tensor w = {.dtype = CALIB8_FLOAT, .rank = 4, .dims = {cc->c, cc->m / cc->groups, cc->kh, cc->kw}};
  c8_tensor b = {.dtype = CALIB8_FLOAT, .rank = 1, .dims = {cc->m}};
  x.data = c8_alloc(c8_nbytes(&x)), w.data = c8_alloc(c8_nbytes(&w)), b.data = c8_alloc(c8_nbytes(&b));
  for (int64_t i = 0; i < c8_numel(&x); i++) ((float *)x.data)[i] = frand();
  for (int64_t i = 0; i < c8_numel(&w); i++) ((float *)w.data)[i] = frand();
  for (int64_t i = 0; i < c8_numel(&b); i++) ((float *)b.data)[i] = frand();
  c8_graph *g = c8_graph_new();
  int ins[3] = {0, 1, 2}, outs[1] = {3};
  int idx = c8_graph_add_node(g, "convt", "ConvTranspose", "", cc->bias ? 3 : 2, ins, 1, outs);
  c8_node *node = &g->nodes[idx];
  set_ints(node, "strides", (int64_t[]){cc->sh, cc->sw}, 2);
  set_ints(node, "kernel_shape", (int64_t[]){cc->kh, cc->kw}, 2);
  set_ints(node, "pads", cc->pads, 4);
  set_ints(node, "output_padding", cc->opad, 2);
  c8_attr *ga = c8_node_add_attr(node, "group", C8_ATTR_INT);
  ga->i = cc->groups;
  const int64_t oh = (cc->ih - 1) * cc->sh + cc->kh - cc->pads[0] - cc->pads[2] + cc->opad[0];
  const int64_t ow = (cc->iw - 1) * cc->sw + cc->kw - cc->pads[1] - cc->pads[3] + cc->opad[1];
  /* reference */
  const int64_t cg = cc->c / cc->groups, mg = cc->m / cc->groups;
  double *ref = calloc((size_t)(cc->n * cc->m * oh * ow), sizeof(double));
  const float *xf = x.data, *wf = w.data, *bf = b.data;
  for (int64_t n = 0; n < cc->n; n++)
    for (int64_t m = 0; m < cc->m; m++)
      for (int64_t p = 0; p < oh * ow; p++) ref[(n * cc->m + m) * oh * ow + p] = cc->bias ? bf[m] : 0.0;
  for (int64_t n = 0; n < cc->n; n++)
    for (int64_t ci = 0; ci < cc->c; ci++)
      for (int64_t iy = 0; iy < cc->ih; iy++)
        for (int64_t ix = 0; ix < cc->iw; ix++)
          for (int64_t mm = 0; mm < mg; mm++)
            for (int64_t ky = 0; ky < cc->kh; ky++)
              for (int64_t kx = 0; kx < cc->kw; kx++) {
                const int64_t oy = iy * cc->sh + ky - cc->pads[0], ox = ix * cc->sw + kx - cc->pads[1];
                if (oy < 0 || oy >= oh || ox < 0 || ox >= ow) continue;
                const int64_t m = ci / cg * mg + mm;
                ref[((n * cc->m + m) * oh + oy) * ow + ox] +=
                    (double)xf[((n * cc->c + ci) * cc->ih + iy) * cc->iw + ix] *
                    wf[((ci * mg + mm) * cc->kh + ky) * cc->kw + kx];
              }
  float *first = NULL;
  for (int threads = 1; threads <= 3; threads++) {
    c8_threadpool *pool = NULL;
    if (threads > 1) CHECK_EQ_INT(c8_threadpool_create(threads, &pool), CALIB8_OK);
    c8_tensor y = {0};
    c8_tensor *in[3] = {&x, &w, &b}, *out[1] = {&y};
    c8_kernel k = {.node = node, .opset = 13, .pool = pool};
    CHECK_EQ_INT(node->def->prepare(&k, in, cc->bias ? 3 : 2, out, 1), CALIB8_OK);
    CHECK_EQ_INT(y.dims[2], oh);
    CHECK_EQ_INT(y.dims[3], ow);
    y.data = c8_alloc(c8_nbytes(&y));
    void *scratch = c8_alloc(k.scratch_bytes + 1);
    CHECK_EQ_INT(node->def->run(&k, in, cc->bias ? 3 : 2, out, 1, scratch), CALIB8_OK);
    int bad = 0;
    for (int64_t i = 0; i < c8_numel(&y); i++)
      if (!(fabs(((float *)y.data)[i] - ref[i]) <= 1e-4 * (double)(cg * cc->kh * cc->kw + 1)) && bad++ < 3)
        fprintf(stderr, "  convt[%lld]: got %.7g want %.7g\n", (long long)i, ((float *)y.data)[i], ref[i]);
    CHECK_EQ_INT(bad, 0);
    if (!first) first = y.data;
    else {
      CHECK(memcmp(first, y.data, c8_nbytes(&y)) == 0);
      c8_free(y.data);
    }
    c8_free(scratch);
    if (k.state) node->def->destroy(k.state);
    c8_threadpool_destroy(pool);
  }
  c8_free(first);
  free(ref);
  c8_graph_destroy(g);
  c8_free(x.data), c8_free(w.data), c8_free(b.data);
}

static void test_conv_transpose(void) {
  static const convt_case cases[] = {
      /* exact tiling: 2x2 stride 2 (PP-OCR's upsampling), 3x2 stride (3, 2), groups 2 */
      {.n = 1, .c = 24, .m = 24, .groups = 1, .ih = 9, .iw = 13, .kh = 2, .kw = 2, .sh = 2, .sw = 2, .bias = true},
      {.n = 2, .c = 6, .m = 10, .groups = 2, .ih = 5, .iw = 7, .kh = 3, .kw = 2, .sh = 3, .sw = 2, .bias = true},
      {.n = 1, .c = 24, .m = 1, .groups = 1, .ih = 8, .iw = 8, .kh = 2, .kw = 2, .sh = 2, .sw = 2},
      /* overlapping 3x3 stride 2 with pads and output padding */
      {.n = 1, .c = 5, .m = 13, .groups = 1, .ih = 6, .iw = 9, .kh = 3, .kw = 3, .sh = 2, .sw = 2, .pads = {1, 1, 1, 0},
       .opad = {1, 1}, .bias = true},
  };
  const c8_isa top = c8_cpu_isa();
  for (int isa = C8_ISA_SCALAR; isa <= (int)top; isa++) {
    c8_cpu_set_isa((c8_isa)isa);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
      int before = check_failures;
      run_convt(&cases[i]);
      if (check_failures != before) fprintf(stderr, "  (convt case %zu, isa %s)\n", i, c8_isa_name((c8_isa)isa));
    }
  }
  c8_cpu_set_isa(top);
}

int main(int argc, char **argv) {
  if (argc == 9 && strcmp(argv[1], "--bench") == 0) return bench(argv + 2);
  CHECK_RUN(test_cases);
  CHECK_RUN(test_winograd_taken);
  CHECK_RUN(test_errors);
  CHECK_RUN(test_conv_transpose);
  return CHECK_DONE();
}
