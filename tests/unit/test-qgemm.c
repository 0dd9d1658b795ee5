/* The integer GEMM (kernels/qgemm): every configuration the CPU runs (each qu8-gemm.inc entry, called
 * directly) against an exact oracle written from ONNX QuantizeLinear / QLinearConv (int32 sums of
 * (x - zp_x) * w, plus bias, times the fp32 multiplier, round half to even, + zero point, saturate), and
 * byte for byte against the scalar kernel; odd M, N, K (not multiples of any tile), uint8 and int8
 * activations and outputs, Relu/Clip bounds, a residual, int32 output; extreme values (255 x -128 at every
 * k, where vpmaddubsw pairs would saturate). `test-qgemm --bench [M N K]` prints GOP/s (not run by CTest). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "core/cpu.h"
#include "core/tensor.h"
#include "kernels/qgemm/qgemm.h"
#include "kernels/quant/quant.h"

static uint32_t rng = 777;
static uint32_t next(void) {
  rng = rng * 1664525u + 1013904223u;
  return rng >> 8;
}

typedef struct {
  bool x_signed, out_signed, out_s32, residual, extreme;
  int32_t lo, hi; /* clamp; -1000/1000: the type's range */
} variant;

typedef struct {
  size_t m, n, k;
  uint8_t *x;  /* [K, N] activations (int8 bytes when x_signed) */
  int8_t *w;   /* [M, K] */
  int32_t *bias;
  float *mult;
  int32_t zpx, zp, lo, hi;
  uint8_t *res;
  int32_t res_zp;
  float res_mult;
} problem;

static int32_t xval(const problem *p, const variant *v, size_t i) {
  return v->x_signed ? (int32_t)(int8_t)p->x[i] : (int32_t)p->x[i];
}

/* The oracle: ONNX's definition, one value at a time. */
static void oracle(const problem *p, const variant *v, void *y) {
  for (size_t i = 0; i < p->m; i++)
    for (size_t j = 0; j < p->n; j++) {
      int32_t acc = p->bias[i];
      for (size_t k = 0; k < p->k; k++) acc += (xval(p, v, k * p->n + j) - p->zpx) * p->w[i * p->k + k];
      if (v->out_s32) {
        ((int32_t *)y)[i * p->n + j] = acc;
        continue;
      }
      float f = (float)acc * p->mult[i];
      if (v->residual) {
        const int32_t r = v->out_signed ? (int32_t)(int8_t)p->res[i * p->n + j] : p->res[i * p->n + j];
        f = f + (float)(r - p->res_zp) * p->res_mult;
      }
      const int32_t q = c8_quantize_one(f, p->zp, p->lo, p->hi);
      if (v->out_signed) ((int8_t *)y)[i * p->n + j] = (int8_t)q;
      else ((uint8_t *)y)[i * p->n + j] = (uint8_t)q;
    }
}

static void make(problem *p, const variant *v, size_t m, size_t n, size_t k) {
  memset(p, 0, sizeof *p);
  p->m = m, p->n = n, p->k = k;
  p->x = c8_alloc(k * n + 1);
  p->w = c8_alloc(m * k + 1);
  p->bias = c8_alloc(m * 4);
  p->mult = c8_alloc(m * 4);
  p->res = c8_alloc(m * n + 1);
  for (size_t i = 0; i < k * n; i++) p->x[i] = v->extreme ? (v->x_signed ? 0x7f : 255) : (uint8_t)next();
  for (size_t i = 0; i < m * k; i++) p->w[i] = v->extreme ? -128 : (int8_t)next();
  p->zpx = v->extreme ? 0 : v->x_signed ? (int32_t)(next() % 21) - 10 : (int32_t)(next() % 256);
  for (size_t i = 0; i < m; i++) {
    p->bias[i] = (int32_t)(next() % 20001) - 10000;
    /* about one output step per 1/sqrt(K) of the sum's spread, so values span the range and saturate */
    p->mult[i] = (float)(1 + next() % 1000) / (3000.0f * (float)k);
  }
  for (size_t i = 0; i < m * n; i++) p->res[i] = (uint8_t)next();
  p->res_zp = v->out_signed ? (int32_t)(next() % 11) - 5 : (int32_t)(next() % 256);
  p->res_mult = 0.37f + (float)(next() % 100) / 97.0f;
  p->zp = v->out_signed ? (int32_t)(next() % 41) - 20 : (int32_t)(next() % 256);
  const int32_t tlo = v->out_signed ? -128 : 0, thi = v->out_signed ? 127 : 255;
  p->lo = v->lo < tlo ? tlo : v->lo;
  p->hi = v->hi > thi ? thi : v->hi;
  if (p->lo > p->hi) p->lo = p->hi;
}

static void release(problem *p) {
  c8_free(p->x), c8_free(p->w), c8_free(p->bias), c8_free(p->mult), c8_free(p->res);
}

/* Runs cfg on p into y (M x N, ldc = N). */
static void run_cfg(const c8_qu8_gemm_config *cfg, const problem *p, const variant *v, void *y) {
  void *ap = c8_alloc(c8_qu8_gemm_packed_a_bytes(cfg, p->m, p->k));
  int32_t *wsum = c8_alloc(p->m * 4 + 4), *bias = c8_alloc(p->m * 4 + 4);
  c8_qu8_gemm_pack_a(cfg, p->m, p->k, p->w, p->k, wsum, ap);
  /* u8 as is; int8 flipped to u8 (x + 128), so its zero point rises by 128 */
  const int32_t zpx = v->x_signed ? p->zpx + 128 : p->zpx;
  for (size_t i = 0; i < p->m; i++) bias[i] = p->bias[i] - zpx * wsum[i];
  c8_qu8_gemm_args g = {.m = p->m, .n = p->n, .k = p->k, .a_packed = ap, .b = p->x, .ldb = p->n,
                        .b_flip = v->x_signed, .c = y, .ldc = p->n, .bias = bias, .mult = p->mult, .zp = p->zp,
                        .lo = p->lo, .hi = p->hi, .out_signed = v->out_signed, .out_s32 = v->out_s32,
                        .res = v->residual ? p->res : NULL, .ldr = p->n, .res_mult = p->res_mult,
                        .res_zp = p->res_zp, .res_signed = v->out_signed};
  void *ws = c8_alloc(c8_qu8_gemm_workspace_bytes(cfg, p->n, p->k));
  c8_qu8_gemm(cfg, &g, ws);
  c8_free(ws), c8_free(ap), c8_free(wsum), c8_free(bias);
}

static int mismatches(const void *a, const void *b, size_t n, size_t es, const char *what, const char *cfg,
                      size_t m, size_t nn, size_t k) {
  if (memcmp(a, b, n * es) == 0) return 0;
  for (size_t i = 0; i < n; i++)
    if (memcmp((const char *)a + i * es, (const char *)b + i * es, es)) {
      fprintf(stderr, "%s %s %zux%zux%zu: first difference at %zu\n", cfg, what, m, nn, k, i);
      break;
    }
  return 1;
}

static void check_shape(size_t m, size_t n, size_t k, variant v) {
  problem p;
  make(&p, &v, m, n, k);
  const size_t es = v.out_s32 ? 4 : 1;
  void *want = c8_alloc(m * n * es + 1), *ref = c8_alloc(m * n * es + 1), *got = c8_alloc(m * n * es + 1);
  oracle(&p, &v, want);
  run_cfg(c8_qu8_gemm_config_at(0), &p, &v, ref); /* the scalar kernel */
  CHECK_EQ_INT(mismatches(ref, want, m * n, es, "vs oracle", "scalar", m, n, k), 0);
  for (int c = 1; c < c8_qu8_gemm_config_count(); c++) {
    const c8_qu8_gemm_config *cfg = c8_qu8_gemm_config_at(c);
    memset(got, 0xa5, m * n * es);
    run_cfg(cfg, &p, &v, got);
    CHECK_EQ_INT(mismatches(got, ref, m * n, es, "vs scalar", cfg->name, m, n, k), 0);
  }
  c8_free(want), c8_free(ref), c8_free(got);
  release(&p);
}

static const size_t shapes[][3] = {{1, 1, 1},   {3, 5, 7},     {7, 33, 13},  {9, 17, 27},  {16, 64, 576},
                                   {13, 31, 5}, {33, 129, 64}, {65, 47, 3},  {8, 32, 4},   {10, 1030, 37},
                                   {17, 520, 147}, {64, 100, 1000}};

static void test_configs_listed(void) {
  CHECK(c8_qu8_gemm_config_count() >= 1);
  CHECK(strcmp(c8_qu8_gemm_config_at(0)->isa, "scalar") == 0);
  for (int i = 0; i < c8_qu8_gemm_config_count(); i++) fprintf(stderr, "  config %s\n", c8_qu8_gemm_config_at(i)->name);
  fprintf(stderr, "  default %s\n", c8_qu8_gemm_config_default()->name);
}

static void test_plain(void) {
  for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
    check_shape(shapes[s][0], shapes[s][1], shapes[s][2], (variant){.lo = -1000, .hi = 1000});
}

static void test_variants(void) {
  const variant vs[] = {
      {.x_signed = true, .out_signed = true, .lo = -1000, .hi = 1000},
      {.x_signed = false, .out_signed = true, .lo = -1000, .hi = 1000},
      {.x_signed = true, .out_signed = false, .lo = -1000, .hi = 1000},
      {.lo = 128, .hi = 1000},             /* Relu with zero point 128 */
      {.lo = 100, .hi = 200},              /* Clip */
      {.residual = true, .lo = -1000, .hi = 1000},
      {.residual = true, .out_signed = true, .x_signed = true, .lo = 0, .hi = 1000},
      {.out_s32 = true},
      {.out_s32 = true, .x_signed = true},
  };
  for (size_t i = 0; i < sizeof vs / sizeof vs[0]; i++)
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) check_shape(shapes[s][0], shapes[s][1], shapes[s][2], vs[i]);
}

/* Every product 255 x -128: a vpmaddubsw pair would saturate at -32768 instead of -65280. */
static void test_extreme(void) {
  check_shape(9, 37, 301, (variant){.extreme = true, .out_s32 = true});
  check_shape(9, 37, 301, (variant){.extreme = true, .lo = -1000, .hi = 1000});
  check_shape(9, 37, 301, (variant){.extreme = true, .x_signed = true, .out_s32 = true});
}

/* CALIB8_ISA lowers the dispatcher's choice. */
static void test_forced_levels(void) {
  const c8_isa was = c8_cpu_isa();
  c8_cpu_set_isa(C8_ISA_SCALAR);
  CHECK(strcmp(c8_qu8_gemm_config_default()->isa, "scalar") == 0);
  CHECK_EQ_INT(c8_qu8_gemm_config_count(), 1);
  if (c8_cpu_detect() >= C8_ISA_AVX2) {
    c8_cpu_set_isa(C8_ISA_AVX2);
    CHECK(strcmp(c8_qu8_gemm_config_default()->isa, c8_cpu_detect() > C8_ISA_AVX2 ? "avx2" : c8_qu8_gemm_config_default()->isa) == 0);
  }
  c8_cpu_set_isa(was);
  if (c8_cpu_isa() >= C8_ISA_AVX512VNNI) CHECK(strcmp(c8_qu8_gemm_config_default()->isa, "avx512vnni") == 0);
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int bench(size_t m, size_t n, size_t k) {
  variant v = {.lo = -1000, .hi = 1000};
  problem p;
  make(&p, &v, m, n, k);
  uint8_t *y = c8_alloc(m * n);
  for (int c = 0; c < c8_qu8_gemm_config_count(); c++) {
    const c8_qu8_gemm_config *cfg = c8_qu8_gemm_config_at(c);
    void *ap = c8_alloc(c8_qu8_gemm_packed_a_bytes(cfg, m, k));
    int32_t *wsum = c8_alloc(m * 4);
    c8_qu8_gemm_pack_a(cfg, m, k, p.w, k, wsum, ap);
    uint8_t *bp = c8_alloc(c8_qu8_gemm_packed_b_bytes(cfg, n, k));
    c8_qu8_gemm_pack_b(cfg, k, p.x, n, 0, n, false, bp);
    void *ws = c8_alloc(c8_qu8_gemm_workspace_bytes(cfg, n, k));
    c8_qu8_gemm_args g = {.m = m, .n = n, .k = k, .a_packed = ap, .b = p.x, .ldb = n, .c = y, .ldc = n,
                          .bias = p.bias, .mult = p.mult, .zp = 0, .lo = 0, .hi = 255};
    double best = 1e9, best_pk = 1e9;
    for (int r = 0; r < 7; r++) {
      double t0 = now();
      c8_qu8_gemm_packed(cfg, &g, bp);
      double t1 = now();
      c8_qu8_gemm(cfg, &g, ws);
      double t2 = now();
      if (t1 - t0 < best) best = t1 - t0;
      if (t2 - t1 < best_pk) best_pk = t2 - t1;
    }
    const double ops = 2.0 * (double)m * (double)n * (double)k;
    printf("%-22s %zux%zux%zu: %7.1f GOP/s (B packed ahead), %7.1f GOP/s (packing B)\n", cfg->name, m, n, k,
           ops / best * 1e-9, ops / best_pk * 1e-9);
    c8_free(ap), c8_free(wsum), c8_free(bp), c8_free(ws);
  }
  c8_free(y);
  release(&p);
  return 0;
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "--bench") == 0) {
    size_t m = argc > 2 ? strtoul(argv[2], NULL, 10) : 1024, n = argc > 3 ? strtoul(argv[3], NULL, 10) : 1024,
           k = argc > 4 ? strtoul(argv[4], NULL, 10) : 1024;
    return bench(m, n, k);
  }
  CHECK_RUN(test_configs_listed);
  CHECK_RUN(test_plain);
  CHECK_RUN(test_variants);
  CHECK_RUN(test_extreme);
  CHECK_RUN(test_forced_levels);
  fprintf(stderr, "%d checks, %d failed\n", check_count, check_failures);
  return check_failures != 0;
}
