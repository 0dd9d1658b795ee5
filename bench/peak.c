/* Measures the factors of this machine's FP32 peak for bench/run.sh:
 *   - the core clock: a chain of dependent 64-bit adds (1 cycle each on every x86 core since the P6);
 *   - FMA throughput per cycle on one core, for 512-bit (AVX-512F) and 256-bit (AVX2+FMA) vectors: 32 FMAs into 16
 *     independent accumulators (256-bit: 28 into 14), more than latency (4) x pipes (2) needs;
 *   - the widest FMA loop on THREADS threads at once (default 2; give the core count).
 * Times are per-thread CPU time (CLOCK_THREAD_CPUTIME_ID), so time the thread spends descheduled on a shared machine
 * does not count; each figure is the best of several trials.
 *
 *   cc -O2 -pthread bench/peak.c -o build/peak && build/peak [THREADS]
 *
 * No -m flags: the vector code is inline assembly, run only after CPUID/XGETBV say the CPU and OS support it
 *
 * Prints `key value` lines. x86-64 with GCC/Clang inline assembly only. */
#define _GNU_SOURCE
#include <cpuid.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#define ADD8 "addq $1, %0\n\taddq $1, %0\n\taddq $1, %0\n\taddq $1, %0\n\taddq $1, %0\n\taddq $1, %0\n\taddq $1, %0\n\taddq $1, %0\n\t"

/* cycles per second: 64 dependent adds per iteration */
static double measure_ghz(void) {
  double best = 0;
  for (int trial = 0; trial < 15; trial++) {
    uint64_t x = 0, n = 5000000;
    double t0 = cpu_now();
    __asm__ volatile(
        "1:\n\t" ADD8 ADD8 ADD8 ADD8 ADD8 ADD8 ADD8 ADD8
        "decq %1\n\t"
        "jnz 1b\n\t"
        : "+r"(x), "+r"(n)
        :
        : "cc");
    double t = cpu_now() - t0;
    double ghz = (double)x / t * 1e-9;
    if (ghz > best) best = ghz;
  }
  return best;
}

#define FMA16(W, R)                                                                                                  \
  "vfmadd231ps %%" R "16, %%" R "17, %%" R "0\n\t"                                                                   \
  "vfmadd231ps %%" R "16, %%" R "17, %%" R "1\n\t"                                                                   \
  "vfmadd231ps %%" R "16, %%" R "17, %%" R "2\n\t"                                                                   \
  "vfmadd231ps %%" R "16, %%" R "17, %%" R "3\n\t"                                                                   \
  "vfmadd231ps %%" R "16, %%" R "17, %%" R "4\n\t"                                                                   \
  "vfmadd231ps %%" R "16, %%" R "17, %%" R "5\n\t"                                                                   \
  "vfmadd231ps %%" R "16, %%" R "17, %%" R "6\n\t"                                                                   \
  "vfmadd231ps %%" R "16, %%" R "17, %%" R "7\n\t"                                                                   \
  "vfmadd231ps %%" R "16, %%" R "17, %%" R "8\n\t"                                                                   \
  "vfmadd231ps %%" R "16, %%" R "17, %%" R "9\n\t"                                                                   \
  "vfmadd231ps %%" R "16, %%" R "17, %%" R "10\n\t"                                                                  \
  "vfmadd231ps %%" R "16, %%" R "17, %%" R "11\n\t"                                                                  \
  "vfmadd231ps %%" R "16, %%" R "17, %%" R "12\n\t"                                                                  \
  "vfmadd231ps %%" R "16, %%" R "17, %%" R "13\n\t"                                                                  \
  "vfmadd231ps %%" R "16, %%" R "17, %%" R "14\n\t"                                                                  \
  "vfmadd231ps %%" R "16, %%" R "17, %%" R "15\n\t"

/* CPU seconds for n iterations of 32 FMAs into zmm0..15 (sources zmm16/17). The AVX2 loop below cannot name
 * ymm16/17 (EVEX only): it uses ymm14/15 as sources and 14 accumulators, 28 FMAs per iteration. */
__attribute__((target("avx512f"), noinline)) static double fma_zmm(uint64_t n) {
  double t0 = cpu_now();
  __asm__ volatile(
      "vpxord %%zmm16, %%zmm16, %%zmm16\n\t"
      "vpxord %%zmm17, %%zmm17, %%zmm17\n\t"
      "1:\n\t" FMA16(0, "zmm") FMA16(0, "zmm")
      "decq %0\n\t"
      "jnz 1b\n\t"
      "vzeroupper\n\t"
      : "+r"(n)
      :
      : "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11",
        "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17");
  return cpu_now() - t0;
}

#define FMA12Y(R)                                                                                                    \
  "vfmadd231ps %%ymm14, %%ymm15, %%ymm" #R "\n\t"
static double fma_ymm(uint64_t n) {
  double t0 = cpu_now();
  __asm__ volatile(
      "vxorps %%ymm14, %%ymm14, %%ymm14\n\t"
      "vxorps %%ymm15, %%ymm15, %%ymm15\n\t"
      "1:\n\t" FMA12Y(0) FMA12Y(1) FMA12Y(2) FMA12Y(3) FMA12Y(4) FMA12Y(5) FMA12Y(6) FMA12Y(7) FMA12Y(8) FMA12Y(9)
          FMA12Y(10) FMA12Y(11) FMA12Y(12) FMA12Y(13) FMA12Y(0) FMA12Y(1) FMA12Y(2) FMA12Y(3) FMA12Y(4) FMA12Y(5)
              FMA12Y(6) FMA12Y(7) FMA12Y(8) FMA12Y(9) FMA12Y(10) FMA12Y(11) FMA12Y(12) FMA12Y(13)
      "decq %0\n\t"
      "jnz 1b\n\t"
      "vzeroupper\n\t"
      : "+r"(n)
      :
      : "cc", "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11",
        "xmm12", "xmm13", "xmm14", "xmm15");
  return cpu_now() - t0;
}

static const uint64_t ITERS = 5000000;

/* best FLOP/s over trials: 32 FMAs per iteration x lanes x 2 */
static double best_zmm(void) {
  double best = 0;
  for (int t = 0; t < 7; t++) {
    double s = fma_zmm(ITERS);
    double f = (double)ITERS * 32 * 16 * 2 / s;
    if (f > best) best = f;
  }
  return best;
}
static double best_ymm(void) {
  double best = 0;
  for (int t = 0; t < 7; t++) {
    double s = fma_ymm(ITERS);
    double f = (double)ITERS * 28 * 8 * 2 / s;
    if (f > best) best = f;
  }
  return best;
}

static int use_zmm;
static void *thread_fma(void *arg) {
  *(double *)arg = use_zmm ? best_zmm() : best_ymm();
  return NULL;
}

static int has_avx512f(void) {
  unsigned a, b, c, d;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
  if (!(b & (1u << 16))) return 0;
  /* the OS must save zmm state: XCR0 bits 1,2,5,6,7 */
  unsigned lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (lo & 0xE6) == 0xE6;
}

static int has_avx2_fma(void) {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
  if (!(c & (1u << 12)) || !(c & (1u << 27))) return 0; /* FMA, OSXSAVE */
  unsigned lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  if ((lo & 6) != 6) return 0;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
  return (b & (1u << 5)) != 0; /* AVX2 */
}

int main(int argc, char **argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 2;
  if (threads < 1 || threads > 256) {
    fprintf(stderr, "peak: THREADS must be 1..256, got '%s'\n", argv[1]);
    return 2;
  }
  char brand[49] = {0};
  unsigned r[4];
  for (unsigned i = 0; i < 3; i++) {
    __get_cpuid(0x80000002u + i, &r[0], &r[1], &r[2], &r[3]);
    memcpy(brand + 16 * i, r, 16);
  }
  if (!has_avx2_fma()) {
    fprintf(stderr, "peak: this CPU (%s) lacks AVX2+FMA, which the FMA loops need\n", brand);
    return 1;
  }
  double ghz = measure_ghz();
  printf("cpu_brand %s\n", brand);
  printf("clock_ghz %.3f\n", ghz);
  double y = best_ymm();
  printf("fma256_gflops_1core %.2f\n", y * 1e-9);
  printf("fma256_flop_per_cycle %.2f\n", y * 1e-9 / ghz);
  use_zmm = has_avx512f();
  printf("avx512 %s\n", use_zmm ? "yes" : "no");
  if (use_zmm) {
    double z = best_zmm();
    printf("fma512_gflops_1core %.2f\n", z * 1e-9);
    printf("fma512_flop_per_cycle %.2f\n", z * 1e-9 / ghz);
  }
  /* the widest FMA loop on `threads` threads at once */
  pthread_t tid[256];
  double res[256];
  for (int i = 0; i < threads; i++) pthread_create(&tid[i], NULL, thread_fma, &res[i]);
  double sum = 0;
  for (int i = 0; i < threads; i++) {
    pthread_join(tid[i], NULL);
    sum += res[i];
  }
  printf("allcore_threads %d\n", threads);
  printf("fma_gflops_allcore %.2f\n", sum * 1e-9);
  return 0;
}
