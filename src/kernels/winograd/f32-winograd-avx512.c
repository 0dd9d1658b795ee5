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

/* Step 1 for tile rows [gr0, gr0 + nrows) of the batch. Each vector holds 16 tiles: on rows of 16 tiles or
   more, 16 of one row; on narrower rows whose width divides 16, whole rows (G = 16 / TW of them), so that
   no lane is wasted on small images. A vector of 16 tiles reads 32 consecutive floats of each of its rows
   (two per tile), assembled by masked loads straight from the input (lanes on the padding are zero), then
   split into even and odd columns; the columns two to the right (tile tx + 1) are loaded the same way. */
static void input_transform(const c8_wino_plan *p, const float *x, int64_t gr0, int64_t nrows, float *V) {
  const int64_t C = p->c, IH = p->ih, IW = p->iw, TW = p->tw, TH = p->th, tpad = p->tpad, xs = C * tpad;
  const int64_t G = TW < 16 && 16 % TW == 0 ? 16 / TW : 1;
  const int64_t nseg = G > 1 ? G : cdiv(TW, 16); /* mask sets: per row of a vector, or per chunk of a row */
  uint32_t bits[C8_WINO_MAX_TW / 16 + 2][2];
  for (int64_t q = 0; q < nseg; q++)
    for (int sh = 0; sh < 2; sh++) {
      /* pair lanes [l0, l0 + 2 nt) read input columns from c0 = 2 * tx0 - px + 2 * sh on */
      const int64_t l0 = G > 1 ? 2 * TW * q : 0, nt = G > 1 ? TW : (TW - 16 * q < 16 ? TW - 16 * q : 16);
      const int64_t c0 = (G > 1 ? 0 : 32 * q) - p->px + 2 * sh;
      uint32_t m = 0;
      for (int64_t l = l0; l < l0 + 2 * nt; l++)
        if (c0 + (l - l0) >= 0 && c0 + (l - l0) < IW) m |= 1u << l;
      bits[q][sh] = m;
    }
  const __m512i ev = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i od = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
  /* per tile row of the block: its image's offset and its first padded input row (no division in the loops) */
  int64_t img[64], iy0[64];
  for (int64_t r = 0; r < nrows; r++) {
    const int64_t gr = gr0 + r;
    img[r] = gr / TH * C * IH * IW;
    iy0[r] = 2 * (gr % TH) - p->py;
  }
  const int64_t nvec = G > 1 ? cdiv(nrows, G) : nrows * nseg;
  for (int64_t c = 0; c < C; c++) {
    const float *xc = x + c * IH * IW;
    __m512 d[4][4];
    for (int64_t vi = 0; vi < nvec; vi++) {
      /* this vector's segments: row r (of the block), mask set q, base address offset */
      int64_t nsg, t0, lanes;
      int64_t seg_r[16], seg_q[16], seg_off[16];
      int kfirst = 0;
      if (G > 1) {
        const int64_t r0 = vi * G;
        nsg = nrows - r0 < G ? nrows - r0 : G;
        for (int64_t s2 = 0; s2 < nsg; s2++) seg_r[s2] = r0 + s2, seg_q[s2] = s2, seg_off[s2] = -2 * TW * s2;
        t0 = r0 * TW;
        lanes = nsg * TW;
      } else {
        /* chunk by chunk, rows in order: rows 2 and 3 of a tile row are rows 0 and 1 of the next */
        const int64_t q = vi / nrows, r = vi % nrows;
        nsg = 1;
        seg_r[0] = r, seg_q[0] = q, seg_off[0] = 32 * q;
        t0 = r * TW + 16 * q;
        lanes = TW - 16 * q < 16 ? TW - 16 * q : 16;
        if (r > 0 && img[r] == img[r - 1] && iy0[r] == iy0[r - 1] + 2) {
          for (int j = 0; j < 4; j++) d[0][j] = d[2][j], d[1][j] = d[3][j];
          kfirst = 2;
        }
      }
      for (int k = kfirst; k < 4; k++) {
        __m512 a0 = _mm512_setzero_ps(), b0 = a0, a1 = a0, b1 = a0;
        for (int64_t s2 = 0; s2 < nsg; s2++) {
          const int64_t r = seg_r[s2], iy = iy0[r] + k;
          if (iy < 0 || iy >= IH) continue;
          /* lane 0's address may lie outside the row: computed as an integer, only valid lanes are read */
          const uintptr_t base = (uintptr_t)(xc + img[r] + iy * IW) +
                                 (uintptr_t)((seg_off[s2] - p->px) * (int64_t)sizeof(float));
          const uint32_t m0 = bits[seg_q[s2]][0], m1 = bits[seg_q[s2]][1];
          a0 = _mm512_mask_loadu_ps(a0, (__mmask16)(m0 & 0xffff), (const float *)base);
          b0 = _mm512_mask_loadu_ps(b0, (__mmask16)(m0 >> 16), (const float *)base + 16);
          a1 = _mm512_mask_loadu_ps(a1, (__mmask16)(m1 & 0xffff), (const float *)base + 2);
          b1 = _mm512_mask_loadu_ps(b1, (__mmask16)(m1 >> 16), (const float *)base + 18);
        }
        d[k][0] = _mm512_permutex2var_ps(a0, ev, b0);
        d[k][1] = _mm512_permutex2var_ps(a0, od, b0);
        d[k][2] = _mm512_permutex2var_ps(a1, ev, b1);
        d[k][3] = _mm512_permutex2var_ps(a1, od, b1);
      }
      const __mmask16 sm = (__mmask16)(lanes >= 16 ? 0xffff : (1u << lanes) - 1);
      __m512 t[4][4];
      for (int j = 0; j < 4; j++) {
        t[0][j] = _mm512_sub_ps(d[0][j], d[2][j]);
        t[1][j] = _mm512_add_ps(d[1][j], d[2][j]);
        t[2][j] = _mm512_sub_ps(d[2][j], d[1][j]);
        t[3][j] = _mm512_sub_ps(d[1][j], d[3][j]);
      }
      float *vd = V + c * tpad + t0;
      for (int i = 0; i < 4; i++) {
        _mm512_mask_storeu_ps(vd + (4 * i + 0) * xs, sm, _mm512_sub_ps(t[i][0], t[i][2]));
        _mm512_mask_storeu_ps(vd + (4 * i + 1) * xs, sm, _mm512_add_ps(t[i][1], t[i][2]));
        _mm512_mask_storeu_ps(vd + (4 * i + 2) * xs, sm, _mm512_sub_ps(t[i][2], t[i][1]));
        _mm512_mask_storeu_ps(vd + (4 * i + 3) * xs, sm, _mm512_sub_ps(t[i][1], t[i][3]));
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

static inline void copy_row(float *d, const float *s, int64_t n) {
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = (__mmask16)(n - i >= 16 ? 0xffff : (1u << (n - i)) - 1);
    _mm512_mask_storeu_ps(d + i, m, _mm512_maskz_loadu_ps(m, s + i));
  }
}

void c8_f32_winograd_unit__avx512(const c8_wino_plan *p, const float *x, const float *u, int64_t block, int64_t m0,
                                  int64_t m1, const float *bias, float min, float max, const struct c8_epilogue *epi,
                                  const float *res, float *y, float *scratch) {
  const int64_t C = p->c, M = p->m, TW = p->tw, TH = p->th, OH = p->oh, OW = p->ow, tpad = p->tpad;
  const int64_t gr0 = block * p->rows, nrows = p->n * TH - gr0 < p->rows ? p->n * TH - gr0 : p->rows;
  const int64_t T = nrows * TW;
  float *V = scratch, *mb = V + 16 * C * tpad, *stage = mb + 16 * 8 * 32;
  if (T < tpad) /* columns past the block's tiles: zeros (their products are never stored) */
    for (int64_t r = 0; r < 16 * C; r++) memset(V + r * tpad + T, 0, (size_t)(tpad - T) * sizeof(float));
  input_transform(p, x, gr0, nrows, V);
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
      for (int64_t r = 0; r < nrows;) {
        /* a run of tile rows of one image: its output rows are contiguous */
        const int64_t gr = gr0 + r, n = gr / TH, ty0 = gr % TH;
        const int64_t run = TH - ty0 < nrows - r ? TH - ty0 : nrows - r;
        const int64_t off = ((n * M + ch) * OH + 2 * ty0) * OW;
        for (int64_t e = 0; e < run; e++) {
          const int64_t oy = 2 * (ty0 + e);
          copy_row(y + off + 2 * e * OW, s0 + 2 * (r + e) * TW, OW);
          if (oy + 1 < OH) copy_row(y + off + (2 * e + 1) * OW, s1 + 2 * (r + e) * TW, OW);
        }
        if (epi) {
          const int64_t orows = 2 * (ty0 + run) < OH ? 2 * run : OH - 2 * ty0;
          c8_epilogue_apply(epi, ch, y + off, res ? res + off : NULL, (size_t)(orows * OW));
        }
        r += run;
      }
    }
  }
}
