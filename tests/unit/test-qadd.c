/* The integer residual Add and requantization (com.calib8 QAdd / QRequant, kernels/quant c8_q8_add_*) against the
 * fake-quantized chain they replace, computed here with the float kernels' scalar versions: DequantizeLinear of
 * both inputs, Add, Relu or Clip, QuantizeLinear. Every pair of 8-bit values, uint8 and int8, several scales and
 * zero points, at every ISA level the CPU has: the bytes must be equal. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/cpu.h"
#include "kernels/quant/quant.h"

typedef struct {
  float sa, sb, sy;
  int32_t za, zb, zy;
  bool as, bs, ys, unary;
  float amin, amax; /* NAN: absent */
} qcase;

/* The fake-quantized chain on n pairs, one value at a time with the scalar kernels. */
static void chain(const qcase *c, const uint8_t *a, const uint8_t *b, size_t n, uint8_t *y) {
  for (size_t i = 0; i < n; i++) {
    float fa, fb = 0.0f;
    c8_f32_dequantize__scalar(a + i, 1, c->sa, c->za, c->as, &fa);
    if (!c->unary) c8_f32_dequantize__scalar(b + i, 1, c->sb, c->zb, c->bs, &fb);
    float v = c->unary ? fa : fa + fb;
    if (!isnan(c->amin) && v < c->amin) v = c->amin; /* Relu is Clip with min 0 */
    if (!isnan(c->amax) && v > c->amax) v = c->amax;
    c8_f32_quantize__scalar(&v, 1, c->sy, c->zy, c->ys, y + i);
  }
}

static void check_case(const qcase *c) {
  const size_t n = 256 * 256 + 13; /* every pair, and a tail shorter than a vector */
  uint8_t *a = malloc(n), *b = malloc(n), *want = malloc(n), *got = malloc(n);
  for (size_t i = 0; i < n; i++) a[i] = (uint8_t)(i & 255), b[i] = (uint8_t)((i >> 8) * 7 + (i >> 16));
  chain(c, a, b, n, want);
  c8_q8_add_params p = {.sa = c->sa, .sb = c->sb, .sy = c->sy, .za = c->za, .zb = c->zb, .zy = c->zy,
                        .a_signed = c->as, .b_signed = c->bs, .y_signed = c->ys};
  p.lo = c->ys ? -128 : 0, p.hi = c->ys ? 127 : 255;
  /* as QAdd's prepare (op-quant.c act_bounds): the activation is a clamp of the quantized value */
  if (!isnan(c->amin)) {
    const int32_t q = c8_quantize_one(c->amin / c->sy, c->zy, p.lo, p.hi);
    if (q > p.lo) p.lo = q;
  }
  if (!isnan(c->amax)) {
    const int32_t q = c8_quantize_one(c->amax / c->sy, c->zy, p.lo, p.hi);
    if (q < p.hi) p.hi = q;
  }
  int distinct = 0;
  for (size_t i = 1; i < n; i++) distinct += want[i] != want[i - 1];
  CHECK(distinct > 100); /* the case exercises the arithmetic, not only the bounds */
  const c8_isa was = c8_cpu_isa();
  for (int isa = C8_ISA_SCALAR; isa <= (int)c8_cpu_detect(); isa++) {
    c8_cpu_set_isa((c8_isa)isa);
    memset(got, 0xA5, n);
    c8_q8_add_select()(a, c->unary ? NULL : b, n, &p, got);
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) bad += got[i] != want[i];
    if (bad) fprintf(stderr, "  isa %s: %zu of %zu bytes differ\n", c8_isa_name((c8_isa)isa), bad, n);
    CHECK_EQ_INT((int)bad, 0);
  }
  c8_cpu_set_isa(was);
  free(a), free(b), free(want), free(got);
}

static void test_qadd(void) {
  const float N = NAN;
  const qcase cases[] = {
      {0.031f, 0.047f, 0.052f, 128, 121, 3, false, false, false, false, N, N},
      {0.031f, 0.047f, 0.052f, 128, 121, 0, false, false, false, false, 0.0f, N},   /* Relu */
      {0.02f, 0.013f, 0.021f, -3, 5, -7, true, true, true, false, N, N},           /* int8 */
      {0.02f, 0.013f, 0.017f, 0, 2, 0, true, false, true, false, -1.0f, 1.5f},     /* mixed, Clip */
      {0.0123f, 0.0123f, 0.0123f, 128, 128, 128, false, false, false, false, N, N}, /* same scales: ties */
      {0.05f, 0.0f, 0.0161f, 131, 0, 0, false, false, false, true, 0.0f, N},       /* QRequant with Relu */
      {0.05f, 0.0f, 0.1f, -2, 0, 4, true, false, true, true, N, 6.0f},             /* QRequant, Clip max */
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) check_case(&cases[i]);
}

int main(void) {
  CHECK_RUN(test_qadd);
  fprintf(stderr, "%d checks, %d failed\n", check_count, check_failures);
  return check_failures != 0;
}
