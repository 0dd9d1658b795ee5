#include "core/cpu.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

static uint64_t xgetbv0(void) {
  uint32_t eax, edx;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return ((uint64_t)edx << 32) | eax;
}

c8_isa c8_cpu_detect(void) {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return C8_ISA_SCALAR;
  bool osxsave = c & (1u << 27), fma = c & (1u << 12), avx = c & (1u << 28);
  if (!osxsave || !avx || !fma) return C8_ISA_SCALAR;
  uint64_t xcr0 = xgetbv0();
  if ((xcr0 & 0x6) != 0x6) return C8_ISA_SCALAR; /* XMM and YMM state */
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return C8_ISA_SCALAR;
  bool avx2 = b & (1u << 5);
  if (!avx2) return C8_ISA_SCALAR;
  bool f = b & (1u << 16), dq = b & (1u << 17), bw = b & (1u << 30), vl = b & (1u << 31);
  bool vnni = c & (1u << 11);
  if (!(f && dq && bw && vl) || (xcr0 & 0xe6) != 0xe6) return C8_ISA_AVX2; /* opmask, ZMM_Hi256, Hi16_ZMM */
  return vnni ? C8_ISA_AVX512VNNI : C8_ISA_AVX512;
}

int c8_cpu_has_avxvnni(void) {
  unsigned a, b, c, d;
  if (c8_cpu_detect() < C8_ISA_AVX2) return 0;
  if (!__get_cpuid_count(7, 1, &a, &b, &c, &d)) return 0;
  return (a >> 4) & 1u;
}
#else
c8_isa c8_cpu_detect(void) { return C8_ISA_SCALAR; }
int c8_cpu_has_avxvnni(void) { return 0; }
#endif

static int current = -1;

c8_isa c8_cpu_isa(void) {
  if (current >= 0) return (c8_isa)current;
  c8_isa isa = c8_cpu_detect();
  const char *env = getenv("CALIB8_ISA");
  if (env) {
    c8_isa want = isa;
    if (strcmp(env, "scalar") == 0) want = C8_ISA_SCALAR;
    else if (strcmp(env, "avx2") == 0) want = C8_ISA_AVX2;
    else if (strcmp(env, "avx512") == 0) want = C8_ISA_AVX512;
    else if (strcmp(env, "avx512vnni") == 0) want = C8_ISA_AVX512VNNI;
    if (want < isa) isa = want;
  }
  current = (int)isa;
  return isa;
}

c8_isa c8_cpu_set_isa(c8_isa isa) {
  c8_isa prev = c8_cpu_isa(), max = c8_cpu_detect();
  current = (int)(isa > max ? max : isa);
  return prev;
}

const char *c8_isa_name(c8_isa isa) {
  switch (isa) {
    case C8_ISA_SCALAR: return "scalar";
    case C8_ISA_AVX2: return "avx2";
    case C8_ISA_AVX512: return "avx512";
    case C8_ISA_AVX512VNNI: return "avx512vnni";
  }
  return "unknown";
}
