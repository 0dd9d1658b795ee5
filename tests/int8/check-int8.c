/* check-int8 MODEL.onnx N C H W [MIN_EQUAL]: runs a QDQ model twice on the same deterministic batch, once as
 * fake quantization (the graph as calib8 optimizes it) and once with integer folding (graph/pass-int8.c),
 * observing every step, and compares the 8-bit tensors each folded QConv writes with the QuantizeLinear
 * output of the same name in the fake-quantized run: at least MIN_EQUAL (default 0.999) of the values equal
 * and none more than one step apart (errors carried through later fake-quantized ops such as the residual
 * Add are not counted twice: only the tensors folded layers write are compared, each in the whole network). Exit 0 when that holds and at least one layer folded. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calib8/calib8.h"
#include "core/tensor.h"
#include "graph/graph.h"
#include "load/model.h"
#include "run/plan.h"

typedef struct {
  bool only_qconv; /* the integer run: only what folded layers write */
  int n;
  char *names[256];
  c8_tensor t[256];
} capture;

static c8_status grab(void *user, const c8_graph *g, const c8_step *st) {
  capture *c = user;
  for (int j = 0; j < st->n_out && c->n < 256; j++) {
    const c8_tensor *t = st->out[j];
    if (!t || (t->dtype != CALIB8_UINT8 && t->dtype != CALIB8_INT8)) continue;
    if (c->only_qconv && strcmp(g->nodes[st->node].op_type, "QConv") != 0) continue;
    const int id = g->nodes[st->node].out[j];
    c->names[c->n] = strdup(g->values[id].name);
    c->t[c->n] = *t;
    c->t[c->n].data = malloc(c8_nbytes(t) + 1);
    memcpy(c->t[c->n].data, t->data, c8_nbytes(t));
    c->n++;
  }
  return CALIB8_OK;
}

static int run(const c8_graph *src, bool int8, const calib8_tensor *in, capture *c, int *folded) {
  c8_graph *g = c8_graph_clone(src);
  c8_status st = CALIB8_OK;
  if (int8) st = c8_graph_fold_int8(g, folded);
  if (!st) st = c8_graph_optimize(g);
  c8_plan *p = NULL;
  if (!st) st = c8_plan_build(g, in, NULL, &p);
  if (!st) st = c8_plan_run(p, in, grab, c);
  if (st) fprintf(stderr, "%s\n", calib8_last_error());
  c8_plan_destroy(p);
  c8_graph_destroy(g);
  return st;
}

int main(int argc, char **argv) {
  if (argc < 6) return 2;
  calib8_model *m;
  if (calib8_model_load(argv[1], &m)) {
    fprintf(stderr, "%s\n", calib8_last_error());
    return 2;
  }
  const double min_equal = argc > 6 ? atof(argv[6]) : 0.999;
  calib8_tensor in = {.dtype = CALIB8_FLOAT, .rank = 4};
  for (int i = 0; i < 4; i++) in.dims[i] = atoll(argv[2 + i]);
  const int64_t n = in.dims[0] * in.dims[1] * in.dims[2] * in.dims[3];
  float *x = malloc((size_t)n * sizeof(float));
  /* smooth image-like planes plus noise, in the normalized range of the models' inputs */
  uint32_t r = 1;
  for (int64_t i = 0; i < n; i++) {
    r = r * 1664525u + 1013904223u;
    const int64_t w = i % in.dims[3], h = i / in.dims[3] % in.dims[2], b = i / (in.dims[1] * in.dims[2] * in.dims[3]);
    x[i] = 1.2f * sinf(0.3f * (float)(w + b) + 0.2f * (float)h * (float)(1 + b % 3)) + 0.6f * ((float)(r >> 8) / 16777216.0f - 0.5f);
  }
  in.data = x;
  static capture ref, got = {.only_qconv = true};
  int folded = 0;
  if (run(m->graph, false, &in, &ref, NULL) || run(m->graph, true, &in, &got, &folded)) return 1;
  long long total = 0, equal = 0, worst = 0, layers = 0;
  for (int i = 0; i < got.n; i++) {
    int j = 0;
    while (j < ref.n && strcmp(ref.names[j], got.names[i])) j++;
    if (j == ref.n || c8_numel(&ref.t[j]) != c8_numel(&got.t[i]) || ref.t[j].dtype != got.t[i].dtype) continue;
    long long e = 0, w = 0;
    const int64_t k = c8_numel(&got.t[i]);
    for (int64_t q = 0; q < k; q++) {
      const int a = got.t[i].dtype == CALIB8_INT8 ? ((int8_t *)got.t[i].data)[q] : ((uint8_t *)got.t[i].data)[q];
      const int b = ref.t[j].dtype == CALIB8_INT8 ? ((int8_t *)ref.t[j].data)[q] : ((uint8_t *)ref.t[j].data)[q];
      e += a == b;
      if (abs(a - b) > w) w = abs(a - b);
    }
    printf("  %-50s %8lld values, %6.3f%% equal, max diff %lld\n", got.names[i], (long long)k, 100.0 * (double)e / (double)k, w);
    total += k, equal += e, layers++;
    if (w > worst) worst = w;
  }
  printf("%s: %d chains folded; %lld 8-bit tensors compared, %lld values, %.4f%% equal, max diff %lld\n", argv[1],
         folded, layers, total, total ? 100.0 * (double)equal / (double)total : 0.0, worst);
  const bool ok = folded > 0 && total > 0 && (double)equal >= min_equal * (double)total && worst <= 1;
  printf("%s\n", ok ? "PASS" : "FAIL");
  return ok ? 0 : 1;
}
