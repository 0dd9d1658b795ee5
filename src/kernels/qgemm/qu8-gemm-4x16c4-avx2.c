/* Integer GEMM micro-kernel, 4 x 16, AVX2, exact.
 *
 * Saturation: vpmaddubsw (u8 x s8, adjacent pairs summed to int16 with saturation) cannot be used on raw
 * pairs: two products reach 2 x 255 x 127 = 64770 (or -65280 with -128) > 32767, and limiting weights to
 * [-127, 127] does not help. So nothing is summed in 16 bits. Each 32-bit lane of B holds the 4 uint8 x0..x3 of
 * one column; as 16-bit words it is (x0 | x1 << 8, x2 | x3 << 8). b & 0x00ff gives the int16 words (x0, x2) and
 * b >> 8 gives (x1, x3), all in [0, 255]. Packed A holds the weights widened to int16 as (w0, w2), (w1, w3) per
 * row (configuration a16), broadcast as one dword each. vpmaddwd multiplies int16 pairs and adds them into an
 * int32: |x0 w0 + x2 w2| <= 2 x 255 x 128 = 65280, far inside int32, and vpmaddwd itself saturates nothing
 * (its one wrap-around, -32768 x -32768 twice, needs x = -32768, impossible for x in [0, 255]). Two vpmaddwd
 * and two vpaddd per row and 8 columns give the 4-term sums exactly; accumulating over K in int32 is exact
 * while K x 255 x 128 < 2^31 (K < 65793).
 * Compiled with -mavx2; only called when CPUID reports AVX2. */
#include <immintrin.h>

#include "kernels/qgemm/qgemm-epi-avx2.h"

void c8_qu8_gemm_ukernel_4x16c4__avx2(size_t mr, size_t nr, size_t kc, const void *a, const uint8_t *b, void *c,
                                      size_t ldc, const c8_qu8_gemm_tile *t) {
  const int32_t *w = a; /* per step and row: dword (w0, w2), dword (w1, w3) */
  __m256i acc[4][2];
  for (int i = 0; i < 4; i++) acc[i][0] = acc[i][1] = _mm256_setzero_si256();
  const __m256i lowbytes = _mm256_set1_epi16(0x00ff);
  for (size_t k = 0; k < kc; k += 4) {
    const __m256i b0 = _mm256_loadu_si256((const __m256i *)b), b1 = _mm256_loadu_si256((const __m256i *)(b + 32));
    const __m256i e0 = _mm256_and_si256(b0, lowbytes), o0 = _mm256_srli_epi16(b0, 8);
    const __m256i e1 = _mm256_and_si256(b1, lowbytes), o1 = _mm256_srli_epi16(b1, 8);
    for (int i = 0; i < 4; i++) {
      const __m256i we = _mm256_set1_epi32(w[2 * i]), wo = _mm256_set1_epi32(w[2 * i + 1]);
      acc[i][0] = _mm256_add_epi32(acc[i][0], _mm256_add_epi32(_mm256_madd_epi16(e0, we), _mm256_madd_epi16(o0, wo)));
      acc[i][1] = _mm256_add_epi32(acc[i][1], _mm256_add_epi32(_mm256_madd_epi16(e1, we), _mm256_madd_epi16(o1, wo)));
    }
    w += 8;
    b += 64;
  }
  c8_qu8_finish_4x16_avx2(acc, mr, nr, c, ldc, t);
}
