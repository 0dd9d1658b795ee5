/* Integer GEMM micro-kernel, 4 x 16, AVX-VNNI (VEX vpdpbusd on ymm, Alder Lake and later, Zen 5): the
 * avx512vnni kernel's scheme in 256-bit registers (no embedded broadcast in VEX: one vpbroadcastd per row).
 * vpdpbusd sums the four u8 x s8 products of a lane into int32 without intermediate saturation.
 * Compiled with -mavxvnni when the compiler has it (else this file provides a stand-in the dispatcher never
 * picks: c8_qu8_gemm_avxvnni_built is 0). Only called when CPUID reports AVX-VNNI. */
#include "kernels/qgemm/qgemm.h"

#ifdef __AVXVNNI__
#include "kernels/qgemm/qgemm-epi-avx2.h"

const int c8_qu8_gemm_avxvnni_built = 1;

void c8_qu8_gemm_ukernel_4x16c4__avxvnni(size_t mr, size_t nr, size_t kc, const void *a, const uint8_t *b,
                                         void *c, size_t ldc, const c8_qu8_gemm_tile *t) {
  const int32_t *w = a;
  __m256i acc[4][2];
  for (int i = 0; i < 4; i++) acc[i][0] = acc[i][1] = _mm256_setzero_si256();
  for (size_t k = 0; k < kc; k += 4) {
    const __m256i b0 = _mm256_loadu_si256((const __m256i *)b), b1 = _mm256_loadu_si256((const __m256i *)(b + 32));
    for (int i = 0; i < 4; i++) {
      const __m256i wi = _mm256_set1_epi32(w[i]);
      acc[i][0] = _mm256_dpbusd_avx_epi32(acc[i][0], b0, wi);
      acc[i][1] = _mm256_dpbusd_avx_epi32(acc[i][1], b1, wi);
    }
    w += 4;
    b += 64;
  }
  c8_qu8_finish_4x16_avx2(acc, mr, nr, c, ldc, t);
}
#else
const int c8_qu8_gemm_avxvnni_built = 0;

void c8_qu8_gemm_ukernel_4x16c4__avxvnni(size_t mr, size_t nr, size_t kc, const void *a, const uint8_t *b,
                                         void *c, size_t ldc, const c8_qu8_gemm_tile *t) {
  (void)mr, (void)nr, (void)kc, (void)a, (void)b, (void)c, (void)ldc, (void)t;
}
#endif
