/* Run-time CPU feature detection (CPUID + XGETBV) and the CALIB8_ISA override. */
#ifndef C8_CORE_CPU_H
#define C8_CORE_CPU_H

typedef enum c8_isa {
  C8_ISA_SCALAR = 0,
  C8_ISA_AVX2 = 1,       /* AVX2 + FMA, OS saves YMM */
  C8_ISA_AVX512 = 2,     /* AVX-512 F/BW/DQ/VL, OS saves ZMM */
  C8_ISA_AVX512VNNI = 3, /* AVX512 plus VNNI */
} c8_isa;

/* What the CPU and OS support. */
c8_isa c8_cpu_detect(void);
/* The ISA kernels should use: the detected one, lowered by CALIB8_ISA=scalar|avx2|avx512|avx512vnni
 * (an override above what the CPU has is clamped to it). Cached after the first call. */
c8_isa c8_cpu_isa(void);
/* For tests: force a level (clamped to the detected one); returns the previous level. */
c8_isa c8_cpu_set_isa(c8_isa isa);
const char *c8_isa_name(c8_isa isa);
/* AVX-VNNI (VEX-encoded vpdpbusd on ymm, CPUID.(7,1):EAX[4]) with OS-saved YMM state: not a step on the
   ladder above (some CPUs have AVX-512 VNNI without it, others the reverse); the integer GEMM dispatch
   decides with it (kernels/qgemm/qu8-gemm.c). */
int c8_cpu_has_avxvnni(void);

#endif
