/* Branch-free float math that the compiler can auto-vectorize (libm calls stop the
 * vectorizer unless -ffast-math), plus IEEE half-precision conversion.
 *
 * c8_expf: Cody-Waite range reduction exp(x) = 2^n * exp(r), |r| <= ln2/2, with the
 * Cephes expf polynomial; the scale 2^n is applied as two normal powers of two so that
 * results down to the subnormal range and up to overflow stay correct. Max relative
 * error about 2 ulp on [-87, 88] (checked against expf in tests/unit/test-elementwise.c).
 */
#ifndef C8_OPS_FP_MATH_H
#define C8_OPS_FP_MATH_H

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* AVX2 builds of the compute-bound loops (exp, sigmoid, tanh, softmax): the same C source compiled
 * with target("avx2,fma") so the vectorizer uses 8 lanes instead of SSE2's 4. Results are bit-identical
 * to the baseline build: ISO C mode does not contract a*b+c, so only explicit fmaf (c8_sigmoidf) becomes
 * an FMA instruction, and fmaf is exact. CALIB8_ISA=scalar or sse2 forces the baseline. */
#if defined(__GNUC__) && defined(__x86_64__)
#define C8_AVX2_CLONES 1
#define C8_TARGET_AVX2 __attribute__((target("avx2,fma")))
static inline bool c8_use_avx2(void) {
  const char *isa = getenv("CALIB8_ISA");
  if (isa && (strcmp(isa, "scalar") == 0 || strcmp(isa, "sse2") == 0)) return false;
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}
#else
#define C8_AVX2_CLONES 0
#define C8_TARGET_AVX2
static inline bool c8_use_avx2(void) { return false; }
#endif

static inline float c8_bits_to_f32(uint32_t u) {
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}
static inline uint32_t c8_f32_to_bits(float f) {
  uint32_t u;
  memcpy(&u, &f, sizeof u);
  return u;
}

static inline float c8_expf(float x) {
  /* Clamp so that n stays in [-150, 129]; outside, the result has under/overflowed anyway. */
  float lo = x < -104.0f ? -104.0f : x;
  float xc = x > 89.0f ? 89.0f : lo;
  /* n = round(x / ln2) with the 1.5*2^23 trick: the low mantissa bits of t hold n. */
  const float magic = 12582912.0f;
  float t = xc * 1.44269504088896341f + magic;
  float fn = t - magic;
  int32_t n = (int32_t)(c8_f32_to_bits(t) - c8_f32_to_bits(magic));
  float r = xc - fn * 0.693359375f;
  r = r - fn * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * (r * r) + r + 1.0f;
  int32_t n1 = n >> 1, n2 = n - n1;
  float s1 = c8_bits_to_f32((uint32_t)(n1 + 127) << 23);
  float s2 = c8_bits_to_f32((uint32_t)(n2 + 127) << 23);
  /* NaN needs no select (which would keep the loop from vectorizing): it propagates through r and p. */
  return p * s1 * s2;
}

/* exp(x) - 1 without cancellation near 0: Taylor series to x^8/8! below |x| = 0.5 (relative error < 2e-8). */
static inline float c8_expm1f(float x) {
  float t = 1.0f / 40320;
  t = t * x + 1.0f / 5040;
  t = t * x + 1.0f / 720;
  t = t * x + 1.0f / 120;
  t = t * x + 1.0f / 24;
  t = t * x + 1.0f / 6;
  t = t * x + 0.5f;
  t = t * x + 1.0f;
  t = t * x;
  float e = c8_expf(x) - 1.0f;
  return fabsf(x) < 0.5f ? t : e;
}

/* 1 / (1 + exp(-x)) with c8_expf's reduction and polynomial, but one scale 2^n: with x clamped to [-89, 88]
 * (z = -x in [-88, 89]), n is in [-127, 128] and 2^n is 0 (n = -127: sigmoid 1) or infinity (n = 128: sigmoid
 * 0) at the ends, where the true sigmoid rounds to 1 or is below 4e-39. Written with fmaf (one rounding, so
 * every correct fmaf gives the same bits): 18 vector operations instead of 32 in the AVX-512 epilogue
 * (kernels/epilogue/epi-avx512.h has the same operations in intrinsics, bit-identical results); the AVX2
 * builds (C8_TARGET_AVX2) inline it as FMA instructions, the baseline build calls libm's fmaf. */
static inline float c8_sigmoidf(float x) {
  const float lo = x > 88.0f ? 88.0f : x; /* NaN passes through both */
  const float xc = lo < -89.0f ? -89.0f : lo;
  const float magic = 12582912.0f;
  const float t = fmaf(xc, -1.44269504088896341f, magic); /* round(z / ln2) in the low bits */
  const float fn = t - magic;
  /* 2^n as bits: (n + 127) << 23 with n = bits(t) - bits(magic) */
  const uint32_t sc = (c8_f32_to_bits(t) + (127u - c8_f32_to_bits(magic))) << 23;
  float r = fmaf(fn, -0.693359375f, -xc); /* z - n ln2, in two parts */
  r = fmaf(fn, 2.12194440e-4f, r);
  float p = 1.9875691500e-4f;
  p = fmaf(p, r, 1.3981999507e-3f);
  p = fmaf(p, r, 8.3334519073e-3f);
  p = fmaf(p, r, 4.1665795894e-2f);
  p = fmaf(p, r, 1.6666665459e-1f);
  p = fmaf(p, r, 5.0000001201e-1f);
  p = fmaf(p, r * r, r) + 1.0f; /* exp(r) */
  return 1.0f / fmaf(p, c8_bits_to_f32(sc), 1.0f);
}

/* tanh: the Cephes odd polynomial below 0.625, else 1 - 2/(exp(2|x|)+1) with the sign restored. */
static inline float c8_tanhf(float x) {
  float ax = fabsf(x);
  float z = x * x;
  float small = ((((-5.70498872745e-3f * z + 2.06390887954e-2f) * z - 5.37397155531e-2f) * z + 1.33314422036e-1f) * z -
                 3.33332819422e-1f) * z * x + x;
  float big = 1.0f - 2.0f / (c8_expf(2.0f * ax) + 1.0f);
  big = copysignf(big, x);
  return ax < 0.625f ? small : big;
}

/* erf: below |x| = 1, x * P(x^2) with P a least-squares minimax fit of erf(x)/x (relative error 1.2e-9);
 * above, 1 - exp(Q(|x|) - x^2) with Q fitting log(erfc(x)) + x^2 on [0.9, 4] (absolute error 1.2e-8).
 * Coefficients fitted with numpy for calib8. In float arithmetic: max abs error 1.4e-7, max relative
 * error 1.8e-7 (about 2 ulp; glibc erff: 1 ulp), checked in tests/unit/test-elementwise.c. */
static inline float c8_erff(float x) {
  float a = fabsf(x);
  float z = x * x;
  float p = 7.853850248339123e-05f;
  p = p * z - 8.010190265014261e-04f;
  p = p * z + 5.188327303626783e-03f;
  p = p * z - 2.6853811734416116e-02f;
  p = p * z + 1.12835851438191e-01f;
  p = p * z - 3.7612625823811574e-01f;
  p = p * z + 1.1283791657266442f;
  float small = x * p;
  float ac = a > 4.0f ? 4.0f : a; /* erf(4) is 1.0f already */
  float q = 1.602491714214338e-06f;
  q = q * ac - 4.53546121703674e-05f;
  q = q * ac + 5.90715457746957e-04f;
  q = q * ac - 4.73028278990437e-03f;
  q = q * ac + 2.6335541609301488e-02f;
  q = q * ac - 1.0992518554162059e-01f;
  q = q * ac + 3.680046726407866e-01f;
  q = q * ac - 1.1301314959173037f;
  q = q * ac + 2.94274646350894e-04f;
  float big = copysignf(1.0f - c8_expf(q - ac * ac), x);
  return a < 1.0f ? small : big;
}

/* IEEE 754 binary16 <-> binary32/64, round to nearest even. */
static inline float c8_half_to_float(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
  uint32_t exp = (h >> 10) & 0x1fu, man = h & 0x3ffu;
  if (exp == 0x1f) return c8_bits_to_f32(sign | 0x7f800000u | (man << 13)); /* inf / NaN */
  if (exp == 0) {                                                            /* zero / subnormal */
    float v = (float)man * 5.9604644775390625e-8f;                           /* man * 2^-24, exact */
    return sign ? -v : v;
  }
  return c8_bits_to_f32(sign | ((exp + 112u) << 23) | (man << 13));
}

static inline uint16_t c8_half_from_double(double d) {
  uint64_t u;
  memcpy(&u, &d, sizeof u);
  uint16_t sign = (uint16_t)((u >> 48) & 0x8000u);
  double a = fabs(d);
  if (a != a) return (uint16_t)(sign | 0x7e00u);
  if (a >= 65520.0) return (uint16_t)(sign | 0x7c00u); /* rounds to infinity */
  if (a < 6.103515625e-05) {                             /* below 2^-14: subnormal step 2^-24 */
    double q = nearbyint(a * 16777216.0);                /* exact scaling; ties to even */
    return (uint16_t)(sign | (uint16_t)q);               /* q == 1024 gives the smallest normal */
  }
  int e;
  double m = frexp(a, &e);            /* a = m * 2^e, m in [0.5, 1) */
  double q = nearbyint(m * 2048.0);   /* 11 significant bits, ties to even */
  if (q == 2048.0) {
    q = 1024.0;
    e++;
  }
  uint32_t he = (uint32_t)(e - 1 + 15), hm = (uint32_t)q - 1024u;
  if (he >= 31) return (uint16_t)(sign | 0x7c00u);
  return (uint16_t)(sign | (he << 10) | hm);
}

#endif
