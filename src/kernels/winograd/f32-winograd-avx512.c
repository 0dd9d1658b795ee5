/* Winograd F(2x2, 3x3), AVX-512 (see winograd.h). One work unit:
 *   1. input transform: for each channel and tile row of the block, the 4 padded input rows it reads are
 *      split into even and odd columns (tile tx reads columns even[tx], odd[tx], even[tx+1], odd[tx+1]:
 *      contiguous loads for 16 tiles), and V = B^T d B (adds only) is stored as V[xi][c][tile];
 *   2. for each 8-row panel of output channels and 32 tiles: 16 GEMMs M_xi[8 x 32] = U_xi[8 x C] V_xi[C x 32]
 *      (accumulators in registers, K = C in one pass, ascending);
 *   3. output transform Y = A^T m A per tile, + bias, clamp, interleaved into two staged output rows per tile
 *      row, copied to the output (odd widths and heights: only the valid outputs), then the fused chain. */
#include <immintrin.h>
#include <string.h>

#include "kernels/winograd/winograd.h"
#include "ops/epilogue.h"

static int64_t cdiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

/* Step 1 for tile rows [gr0, gr0 + nrows) of the batch. */
static void input_transform(const c8_wino_plan *p, const float *x, int64_t gr0, int64_t nrows, float *V, float *rb) {
  const int64_t C = p->c, IH = p->ih, IW = p->iw, TW = p->tw, TH = p->th, tpad = p->tpad;
  const int64_t ntc = cdiv(TW, 16), nck = ntc + 1, ld = (nck + 1) * 16;
  __mmask16 la[C8_WINO_MAX_TW / 16 + 3], lb[C8_WINO_MAX_TW / 16 + 3];
  for (int64_t k = 0; k < nck; k++) {
    const int64_t b = 32 * k - p->px; /* input column of lane 0 */
    int64_t lo = -b, hi = IW - b;
    if (lo < 0) lo = 0;
    if (hi > 32) hi = 32;
    const uint64_t bits = hi > lo ? (((uint64_t)1 << hi) - 1) & ~(((uint64_t)1 << lo) - 1) : 0;
    la[k] = (__mmask16)(bits & 0xffff);
    lb[k] = (__mmask16)(bits >> 16);
  }
  const __m512i ev = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i od = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
  for (int64_t c = 0; c < C; c++) {
    for (int64_t r = 0; r < nrows; r++) {
      const int64_t gr = gr0 + r, n = gr / TH, ty = gr % TH;
      const float *xc = x + (n * C + c) * IH * IW;
      for (int k = 0; k < 4; k++) {
        float *e = rb + k * 2 * ld, *o = e + ld;
        const int64_t iy = 2 * ty + k - p->py;
        if (iy < 0 || iy >= IH) {
          memset(e, 0, (size_t)(2 * ld) * sizeof(float));
          continue;
        }
        /* lane 0's address may lie before the row (padding): computed as an integer, only valid lanes are read */
        const uintptr_t sr = (uintptr_t)(xc + iy * IW);
        for (int64_t q = 0; q < nck; q++) {
          const float *src = (const float *)(sr + (uintptr_t)((32 * q - p->px) * (int64_t)sizeof(float)));
          const __m512 a = _mm512_maskz_loadu_ps(la[q], src), b = _mm512_maskz_loadu_ps(lb[q], src + 16);
          _mm512_storeu_ps(e + 16 * q, _mm512_permutex2var_ps(a, ev, b));
          _mm512_storeu_ps(o + 16 * q, _mm512_permutex2var_ps(a, od, b));
        }
      }
      for (int64_t tc = 0; tc < ntc; tc++) {
        const int64_t tx0 = 16 * tc, lanes = TW - tx0 < 16 ? TW - tx0 : 16;
        const __mmask16 sm = (__mmask16)(lanes == 16 ? 0xffff : (1u << lanes) - 1);
        __m512 d[4][4];
        for (int k = 0; k < 4; k++) {
          const float *e = rb + k * 2 * ld + tx0, *o = e + ld;
          d[k][0] = _mm512_loadu_ps(e);
          d[k][1] = _mm512_loadu_ps(o);
          d[k][2] = _mm512_loadu_ps(e + 1);
          d[k][3] = _mm512_loadu_ps(o + 1);
        }
        __m512 t[4][4];
        for (int j = 0; j < 4; j++) {
          t[0][j] = _mm512_sub_ps(d[0][j], d[2][j]);
          t[1][j] = _mm512_add_ps(d[1][j], d[2][j]);
          t[2][j] = _mm512_sub_ps(d[2][j], d[1][j]);
          t[3][j] = _mm512_sub_ps(d[1][j], d[3][j]);
        }
        float *vd = V + c * tpad + r * TW + tx0;
        const int64_t xs = C * tpad; /* floats per position xi */
        for (int i = 0; i < 4; i++) {
          _mm512_mask_storeu_ps(vd + (4 * i + 0) * xs, sm, _mm512_sub_ps(t[i][0], t[i][2]));
          _mm512_mask_storeu_ps(vd + (4 * i + 1) * xs, sm, _mm512_add_ps(t[i][1], t[i][2]));
          _mm512_mask_storeu_ps(vd + (4 * i + 2) * xs, sm, _mm512_sub_ps(t[i][2], t[i][1]));
          _mm512_mask_storeu_ps(vd + (4 * i + 3) * xs, sm, _mm512_sub_ps(t[i][1], t[i][3]));
        }
      }
    }
  }
}

/* Step 2 for one position: mb[8][32] = a [C][8] (panel of U_xi) times b [C][ldb] (16 * nv columns of V_xi). */
static inline __attribute__((always_inline)) void gemm_xi(const float *a, const float *b, int64_t C, int64_t ldb,
                                                          float *mb, const int nv) {
  __m512 acc[8][2];
  for (int i = 0; i < 8; i++) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
  for (int64_t c = 0; c < C; c++) {
    const __m512 b0 = _mm512_load_ps(b), b1 = nv == 2 ? _mm512_load_ps(b + 16) : b0;
    for (int i = 0; i < 8; i++) {
      const __m512 ai = _mm512_set1_ps(a[i]);
      acc[i][0] = _mm512_fmadd_ps(ai, b0, acc[i][0]);
      if (nv == 2) acc[i][1] = _mm512_fmadd_ps(ai, b1, acc[i][1]);
    }
    a += 8;
    b += ldb;
  }
  for (int i = 0; i < 8; i++) {
    _mm512_store_ps(mb + i * 32, acc[i][0]);
    if (nv == 2) _mm512_store_ps(mb + i * 32 + 16, acc[i][1]);
  }
}

static __attribute__((noinline)) void gemm_all(const float *up, const float *v, int64_t C, int64_t tpad, float *mb,
                                               int nv) {
  for (int xi = 0; xi < 16; xi++) {
    if (nv == 2)
      gemm_xi(up + xi * C * 8, v + xi * C * tpad, C, tpad, mb + xi * 256, 2);
    else
      gemm_xi(up + xi * C * 8, v + xi * C * tpad, C, tpad, mb + xi * 256, 1);
  }
}

/* Step 3 for rows [0, mr) and tiles [t0, t0 + 16 * nv) of the block: staged rows (row i, parity par) at
   stage + (2 * i + par) * 2 * tpad, two floats per tile. */
static void output_transform(const float *mb, int mr, int nv, const float *bias, float min, float max, int64_t t0,
                             int64_t tpad, float *stage) {
  const __m512 vmin = _mm512_set1_ps(min), vmax = _mm512_set1_ps(max);
  const __m512i ilo = _mm512_setr_epi32(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const __m512i ihi = _mm512_setr_epi32(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
  for (int i = 0; i < mr; i++) {
    const __m512 rb = _mm512_set1_ps(bias ? bias[i] : 0.0f);
    for (int v = 0; v < nv; v++) {
      __m512 m[16];
      for (int xi = 0; xi < 16; xi++) m[xi] = _mm512_load_ps(mb + xi * 256 + i * 32 + 16 * v);
      __m512 s0[4], s1[4];
      for (int j = 0; j < 4; j++) {
        s0[j] = _mm512_add_ps(_mm512_add_ps(m[j], m[4 + j]), m[8 + j]);
        s1[j] = _mm512_sub_ps(_mm512_sub_ps(m[4 + j], m[8 + j]), m[12 + j]);
      }
      __m512 y00 = _mm512_add_ps(_mm512_add_ps(s0[0], s0[1]), s0[2]);
      __m512 y01 = _mm512_sub_ps(_mm512_sub_ps(s0[1], s0[2]), s0[3]);
      __m512 y10 = _mm512_add_ps(_mm512_add_ps(s1[0], s1[1]), s1[2]);
      __m512 y11 = _mm512_sub_ps(_mm512_sub_ps(s1[1], s1[2]), s1[3]);
      /* bias, then max(min, x) and min(max, x) as the GEMM kernels do (NaN passes through) */
      y00 = _mm512_min_ps(vmax, _mm512_max_ps(vmin, _mm512_add_ps(y00, rb)));
      y01 = _mm512_min_ps(vmax, _mm512_max_ps(vmin, _mm512_add_ps(y01, rb)));
      y10 = _mm512_min_ps(vmax, _mm512_max_ps(vmin, _mm512_add_ps(y10, rb)));
      y11 = _mm512_min_ps(vmax, _mm512_max_ps(vmin, _mm512_add_ps(y11, rb)));
      float *s0r = stage + (2 * i) * 2 * tpad + 2 * (t0 + 16 * v), *s1r = s0r + 2 * tpad;
      _mm512_storeu_ps(s0r, _mm512_permutex2var_ps(y00, ilo, y01));
      _mm512_storeu_ps(s0r + 16, _mm512_permutex2var_ps(y00, ihi, y01));
      _mm512_storeu_ps(s1r, _mm512_permutex2var_ps(y10, ilo, y11));
      _mm512_storeu_ps(s1r + 16, _mm512_permutex2var_ps(y10, ihi, y11));
    }
  }
}

void c8_f32_winograd_unit__avx512(const c8_wino_plan *p, const float *x, const float *u, int64_t block, int64_t m0,
                                  int64_t m1, const float *bias, float min, float max, const struct c8_epilogue *epi,
                                  const float *res, float *y, float *scratch) {
  const int64_t C = p->c, M = p->m, TW = p->tw, TH = p->th, OH = p->oh, OW = p->ow, tpad = p->tpad;
  const int64_t gr0 = block * p->rows, nrows = p->n * TH - gr0 < p->rows ? p->n * TH - gr0 : p->rows;
  const int64_t T = nrows * TW, ntc = cdiv(TW, 16), ld = (ntc + 2) * 16;
  float *V = scratch, *rb = V + 16 * C * tpad, *mb = rb + 4 * 2 * ld, *stage = mb + 16 * 8 * 32;
  if (T < tpad) /* columns past the block's tiles: zeros (their products are never stored) */
    for (int64_t r = 0; r < 16 * C; r++) memset(V + r * tpad + T, 0, (size_t)(tpad - T) * sizeof(float));
  input_transform(p, x, gr0, nrows, V, rb);
  for (int64_t i0 = m0; i0 < m1; i0 += 8) {
    const int mr = m1 - i0 < 8 ? (int)(m1 - i0) : 8;
    const float *up = u + (i0 / 8) * 16 * C * 8;
    for (int64_t t0 = 0; t0 < T; t0 += 32) {
      const int nv = T - t0 > 16 ? 2 : 1;
      gemm_all(up, V + t0, C, tpad, mb, nv);
      output_transform(mb, mr, nv, bias ? bias + i0 : NULL, min, max, t0, tpad, stage);
    }
    for (int i = 0; i < mr; i++) {
      const int64_t ch = i0 + i;
      const float *s0 = stage + (2 * i) * 2 * tpad, *s1 = s0 + 2 * tpad;
      for (int64_t r = 0; r < nrows; r++) {
        const int64_t gr = gr0 + r, n = gr / TH, oy = 2 * (gr % TH);
        const int64_t off = ((n * M + ch) * OH + oy) * OW;
        const int64_t two = oy + 1 < OH ? 2 : 1;
        memcpy(y + off, s0 + 2 * r * TW, (size_t)OW * sizeof(float));
        if (two == 2) memcpy(y + off + OW, s1 + 2 * r * TW, (size_t)OW * sizeof(float));
        if (epi) c8_epilogue_apply(epi, ch, y + off, res ? res + off : NULL, (size_t)(two * OW));
      }
    }
  }
}
