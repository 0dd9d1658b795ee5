/* The vpdpbusd peak of one core, measured (issue 13): 16 independent zmm accumulator chains of vpdpbusd, so
 * neither latency nor loads limit it; best of 7 runs of ~0.1 s. Prints GOP/s counting a multiply and an add per
 * u8 x s8 product (64 products per instruction), the unit test-qgemm --bench reports the GEMM in.
 *   cc -O2 -mavx512f -mavx512vnni bench/peak-vnni.c -o peak-vnni && ./peak-vnni
 * Only run it on a CPU with AVX-512 VNNI (bench/int8.sh checks /proc/cpuinfo). */
#include <immintrin.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(void) {
  const long iters = 2000000;
  __m512i a = _mm512_set1_epi8(3), b = _mm512_set1_epi8(-2);
  double best = 1e30;
  int32_t sink = 0;
  for (int r = 0; r < 7; r++) {
    __m512i c0 = _mm512_set1_epi32(0), c1 = c0, c2 = c0, c3 = c0, c4 = c0, c5 = c0, c6 = c0, c7 = c0, c8 = c0,
            c9 = c0, c10 = c0, c11 = c0, c12 = c0, c13 = c0, c14 = c0, c15 = c0;
    const double t0 = now();
    for (long it = 0; it < iters; it++) {
#define D(x) __asm__("vpdpbusd %2, %1, %0" : "+v"(x) : "v"(a), "v"(b)) /* asm: GCC would add one product 16 times */
      D(c0); D(c1); D(c2); D(c3); D(c4); D(c5); D(c6); D(c7); D(c8); D(c9); D(c10); D(c11); D(c12); D(c13); D(c14);
      D(c15);
#undef D
    }
    __m512i acc[16] = {c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11, c12, c13, c14, c15};
    const double t = now() - t0;
    for (int i = 0; i < 16; i++) sink += _mm_cvtsi128_si32(_mm512_castsi512_si128(acc[i]));
    if (t < best) best = t;
  }
  const double ops = (double)iters * 16.0 * 64.0 * 2.0;
  printf("vpdpbusd_gops_1core %.1f\n", ops / best * 1e-9);
  return sink == 12345 ? 1 : 0;
}
