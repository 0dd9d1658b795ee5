/* The f32 GEMM driver: configuration choice, packing and cache blocking.
 * Loop nest (Goto & van de Geijn, "Anatomy of High-Performance Matrix
 * Multiplication", TOMS 2008): jc over N by NC, pc over K by KC (pack B block),
 * ic over M by MC (pack A block), jr over the block by NR, ir by MR (micro-kernel).
 * The B panel a micro-kernel reads stays in L1 across the ir loop. */
#include <math.h>
#include <string.h>

#include "core/cpu.h"
#include "core/threadpool.h"
#include "kernels/gemm/gemm.h"
#include "ops/epilogue.h"

#define C8_F32_GEMM_UKERNEL(MR_, NR_, isa, sym, KC_, MC_, NC_, EPI_)                                     \
  void sym(size_t mr, size_t nr, size_t kc, const float *a, const float *b, float *c, size_t ldc, \
           const c8_f32_gemm_tile *t);
#include "kernels/gemm/f32-gemm.inc"
#undef C8_F32_GEMM_UKERNEL

static const c8_f32_gemm_config all_configs[] = {
#define C8_F32_GEMM_UKERNEL(MR_, NR_, isa, sym, KC_, MC_, NC_, EPI_)                                          \
  {.name = #MR_ "x" #NR_ "-" #isa, .mr = MR_, .nr = NR_, .kc = KC_, .mc = MC_, .nc = NC_, .ukernel = sym, \
   .epi = EPI_},
#include "kernels/gemm/f32-gemm.inc"
#undef C8_F32_GEMM_UKERNEL
};

static const char *const all_isas[] = {
#define C8_F32_GEMM_UKERNEL(MR_, NR_, isa, sym, KC_, MC_, NC_, EPI_) #isa,
#include "kernels/gemm/f32-gemm.inc"
#undef C8_F32_GEMM_UKERNEL
};

enum { N_CONFIGS = (int)(sizeof all_configs / sizeof all_configs[0]) };

/* An entry runs when its ISA is at most what c8_cpu_isa() allows (the CPU, lowered by CALIB8_ISA). */
static bool isa_available(const char *isa) {
  c8_isa need = C8_ISA_SCALAR;
  if (strcmp(isa, "avx2") == 0) need = C8_ISA_AVX2;
  else if (strcmp(isa, "avx512") == 0) need = C8_ISA_AVX512;
  return need <= c8_cpu_isa();
}

int c8_f32_gemm_config_count(void) {
  int n = 0;
  for (int i = 0; i < N_CONFIGS; i++) n += isa_available(all_isas[i]);
  return n;
}

const c8_f32_gemm_config *c8_f32_gemm_config_at(int i) {
  for (int j = 0; j < N_CONFIGS; j++)
    if (isa_available(all_isas[j]) && i-- == 0) return &all_configs[j];
  return NULL;
}

const c8_f32_gemm_config *c8_f32_gemm_config_default(void) {
  for (int j = N_CONFIGS - 1; j >= 0; j--)
    if (isa_available(all_isas[j])) return &all_configs[j];
  return &all_configs[0];
}

void c8_f32_gemm_args_init(c8_f32_gemm_args *g) {
  memset(g, 0, sizeof *g);
  g->alpha = 1.0f;
  g->min = -INFINITY;
  g->max = INFINITY;
}

static size_t min_sz(size_t a, size_t b) { return a < b ? a : b; }
static size_t round_up(size_t n, size_t m) { return (n + m - 1) / m * m; }

/* Rows [i0, i0+mc) x columns [k0, k0+kc) of A into MR-row panels of kc steps. */
static void pack_a_block(size_t mr, const float *a, size_t lda, bool trans, size_t i0, size_t mc, size_t k0,
                         size_t kc, size_t panel_stride, float *dst) {
  for (size_t p = 0; p < mc; p += mr, dst += panel_stride) {
    size_t rows = min_sz(mr, mc - p);
    if (!trans) {
      for (size_t ii = 0; ii < rows; ii++) {
        const float *src = a + (i0 + p + ii) * lda + k0;
        for (size_t k = 0; k < kc; k++) dst[k * mr + ii] = src[k];
      }
      for (size_t ii = rows; ii < mr; ii++)
        for (size_t k = 0; k < kc; k++) dst[k * mr + ii] = 0.0f;
    } else {
      for (size_t k = 0; k < kc; k++) {
        const float *src = a + (k0 + k) * lda + i0 + p;
        float *d = dst + k * mr;
        for (size_t ii = 0; ii < rows; ii++) d[ii] = src[ii];
        for (size_t ii = rows; ii < mr; ii++) d[ii] = 0.0f;
      }
    }
  }
}

size_t c8_f32_gemm_packed_a_floats(const c8_f32_gemm_config *cfg, size_t m, size_t k) {
  if (!cfg) cfg = c8_f32_gemm_config_default();
  return round_up(m, cfg->mr) * k;
}

void c8_f32_gemm_pack_a(const c8_f32_gemm_config *cfg, size_t m, size_t k, const float *a, size_t lda, bool trans_a,
                        float *dst) {
  if (!cfg) cfg = c8_f32_gemm_config_default();
  pack_a_block(cfg->mr, a, lda, trans_a, 0, m, 0, k, k * cfg->mr, dst);
}

/* Rows [k0, k0+kc) x columns [n0, n0+nc) of B into NR-column panels. */
static void pack_b_block(const float *b, size_t ldb, bool trans, size_t k0, size_t kc, size_t n0, size_t nc,
                         size_t nr, size_t panel_stride, float *dst) {
  for (size_t p = 0; p < nc; p += nr, dst += panel_stride) {
    size_t cols = min_sz(nr, nc - p);
    if (!trans) {
      for (size_t k = 0; k < kc; k++) {
        const float *src = b + (k0 + k) * ldb + n0 + p;
        float *d = dst + k * nr;
        for (size_t j = 0; j < cols; j++) d[j] = src[j];
        for (size_t j = cols; j < nr; j++) d[j] = 0.0f;
      }
    } else {
      for (size_t j = 0; j < cols; j++) {
        const float *src = b + (n0 + p + j) * ldb + k0;
        for (size_t k = 0; k < kc; k++) dst[k * nr + j] = src[k];
      }
      for (size_t j = cols; j < nr; j++)
        for (size_t k = 0; k < kc; k++) dst[k * nr + j] = 0.0f;
    }
  }
}

/* Padding between B panels: one cache line. Without it a panel is KC*NR*4 = 8 KB, and
   packers that write one row across all panels hit a single L1 set. */
#define B_PANEL_PAD 16

static size_t b_panel_stride(const c8_f32_gemm_config *cfg, size_t kc) { return kc * cfg->nr + B_PANEL_PAD; }

static size_t b_block_floats(const c8_f32_gemm_config *cfg, size_t n, size_t k) {
  return round_up(b_panel_stride(cfg, min_sz(cfg->kc, k)) * (round_up(min_sz(cfg->nc, n), cfg->nr) / cfg->nr), 16);
}

size_t c8_f32_gemm_workspace_bytes(const c8_f32_gemm_config *cfg, size_t m, size_t n, size_t k, bool a_packed) {
  if (!cfg) cfg = c8_f32_gemm_config_default();
  if (k == 0) k = 1;
  size_t floats = b_block_floats(cfg, n, k);
  if (!a_packed) floats += round_up(min_sz(cfg->mc, m), cfg->mr) * min_sz(cfg->kc, k);
  return floats * sizeof(float);
}

/* K == 0: the product is zero, only the epilogue remains. */
static void epilogue_only(const c8_f32_gemm_args *g) {
  for (size_t i = 0; i < g->m; i++) {
    float *ci = g->c + i * g->ldc;
    for (size_t j = 0; j < g->n; j++) {
      float v = g->accumulate ? ci[j] : 0.0f;
      if (g->bias_kind == C8_GEMM_BIAS_ROW) v += g->bias[i];
      if (g->bias_kind == C8_GEMM_BIAS_COL) v += g->bias[j];
      v = v < g->min ? g->min : v;
      v = v > g->max ? g->max : v;
      ci[j] = v;
    }
  }
  if (g->epi) c8_epilogue_apply_rows(g->epi, g->epi_ch0, g->c, g->ldc, g->epi_res, g->epi_ldr, g->m, g->n);
  if (g->post) g->post(g->post_ctx, 0, 0, g->m, g->n, g->c, g->ldc);
}

void c8_f32_gemm(const c8_f32_gemm_config *cfg, const c8_f32_gemm_args *g, void *workspace) {
  if (!cfg) cfg = c8_f32_gemm_config_default();
  const size_t M = g->m, N = g->n, K = g->k;
  if (M == 0 || N == 0) return;
  if (K == 0) {
    epilogue_only(g);
    return;
  }
  const size_t MR = cfg->mr, NR = cfg->nr, KC = cfg->kc, MC = cfg->mc, NC = cfg->nc;
  float *bp = workspace;
  float *ap = bp + b_block_floats(cfg, N, K);
  const bool row_bias = g->bias_kind == C8_GEMM_BIAS_ROW && g->bias;
  const bool col_bias = g->bias_kind == C8_GEMM_BIAS_COL && g->bias;
  for (size_t jc = 0; jc < N; jc += NC) {
    const size_t nc = min_sz(NC, N - jc);
    for (size_t pc = 0; pc < K; pc += KC) {
      const size_t kc = min_sz(KC, K - pc);
      const bool first = pc == 0, last = pc + kc == K;
      const size_t bstride = b_panel_stride(cfg, kc);
      if (g->pack_b) g->pack_b(g->pack_b_ctx, pc, kc, jc, nc, NR, bstride, bp);
      else pack_b_block(g->b, g->ldb, g->trans_b, pc, kc, jc, nc, NR, bstride, bp);
      c8_f32_gemm_tile t = {
          .epi = NULL,
          .alpha = g->alpha,
          .load_c = g->accumulate || !first,
          .min = last ? g->min : -INFINITY,
          .max = last ? g->max : INFINITY,
      };
      for (size_t ic = 0; ic < M; ic += MC) {
        const size_t mc = min_sz(MC, M - ic);
        const float *ablk;
        size_t astride;
        if (g->a_packed) {
          astride = K * MR;
          ablk = g->a_packed + (ic / MR) * astride + pc * MR;
        } else {
          astride = kc * MR;
          pack_a_block(MR, g->a, g->lda, g->trans_a, ic, mc, pc, kc, astride, ap);
          ablk = ap;
        }
        for (size_t jr = 0; jr < nc; jr += NR) {
          const size_t nr = min_sz(NR, nc - jr);
          t.col_bias = first && col_bias ? g->bias + jc + jr : NULL;
          const float *bpanel = bp + (jr / NR) * bstride;
          for (size_t ir = 0; ir < mc; ir += MR) {
            const size_t mr = min_sz(MR, mc - ir);
            t.row_bias = first && row_bias ? g->bias + ic + ir : NULL;
            float *ctile = g->c + (ic + ir) * g->ldc + jc + jr;
            const float *res = last && g->epi && g->epi_res ? g->epi_res + (ic + ir) * g->epi_ldr + jc + jr : NULL;
            if (last && g->epi && cfg->epi) {
              t.epi = g->epi;
              t.epi_ch0 = g->epi_ch0 + (int64_t)(ic + ir);
              t.epi_res = res;
              t.epi_ldr = g->epi_ldr;
            }
            cfg->ukernel(mr, nr, kc, ablk + (ir / MR) * astride, bpanel, ctile, g->ldc, &t);
            if (last && g->epi && !cfg->epi)
              c8_epilogue_apply_rows(g->epi, g->epi_ch0 + (int64_t)(ic + ir), ctile, g->ldc, res, g->epi_ldr, mr, nr);
            if (last && g->post) g->post(g->post_ctx, ic + ir, jc + jr, mr, nr, ctile, g->ldc);
          }
        }
      }
    }
  }
}

/* ---- parallel ---- */

typedef struct split {
  bool by_cols;
  size_t block, blocks; /* columns (multiple of NR) or rows (multiple of MR) per block */
} split;

static split choose(const c8_f32_gemm_config *cfg, size_t m, size_t n, size_t k, int threads) {
  split s = {.by_cols = true, .block = n, .blocks = 1};
  if (threads <= 1 || (double)m * (double)n * (double)k < 262144.0) return s; /* ~1 us: not worth it */
  const size_t want = (size_t)threads * 2, ncols = (n + cfg->nr - 1) / cfg->nr, nrows = (m + cfg->mr - 1) / cfg->mr;
  /* Columns first: blocks of rows would each pack the same B. */
  if (ncols >= want || ncols >= nrows) {
    const size_t per = (ncols + want - 1) / want;
    s.block = per * cfg->nr;
    s.blocks = (n + s.block - 1) / s.block;
  } else {
    const size_t per = (nrows + want - 1) / want;
    s.by_cols = false;
    s.block = per * cfg->mr;
    s.blocks = (m + s.block - 1) / s.block;
  }
  return s;
}

size_t c8_f32_gemm_parallel_workspace_bytes(const c8_f32_gemm_config *cfg, size_t m, size_t n, size_t k,
                                            bool a_packed, int threads) {
  if (!cfg) cfg = c8_f32_gemm_config_default();
  const split s = choose(cfg, m, n, k, threads);
  const size_t one = round_up(c8_f32_gemm_workspace_bytes(cfg, s.by_cols ? m : min_sz(s.block, m),
                                                          s.by_cols ? min_sz(s.block, n) : n, k, a_packed),
                              64);
  return one * (size_t)(threads < 1 ? 1 : threads);
}

typedef struct par_gemm {
  const c8_f32_gemm_config *cfg;
  const c8_f32_gemm_args *g;
  split s;
  unsigned char *ws;
  size_t ws_one;
} par_gemm;

static void gemm_blocks(void *vjob, int64_t b0, int64_t b1, int thread) {
  const par_gemm *j = vjob;
  const c8_f32_gemm_args *g = j->g;
  for (int64_t bi = b0; bi < b1; bi++) {
    c8_f32_gemm_args a = *g;
    const size_t lo = (size_t)bi * j->s.block;
    if (j->s.by_cols) {
      a.n = min_sz(j->s.block, g->n - lo);
      if (g->b) a.b = g->trans_b ? g->b + lo * g->ldb : g->b + lo;
      a.c = g->c + lo;
      if (g->bias_kind == C8_GEMM_BIAS_COL && g->bias) a.bias = g->bias + lo;
      if (g->epi_res) a.epi_res = g->epi_res + lo;
    } else {
      a.m = min_sz(j->s.block, g->m - lo);
      if (g->a_packed) a.a_packed = g->a_packed + (lo / j->cfg->mr) * g->k * j->cfg->mr;
      else a.a = g->trans_a ? g->a + lo : g->a + lo * g->lda;
      a.c = g->c + lo * g->ldc;
      if (g->bias_kind == C8_GEMM_BIAS_ROW && g->bias) a.bias = g->bias + lo;
      a.epi_ch0 = g->epi_ch0 + (int64_t)lo;
      if (g->epi_res) a.epi_res = g->epi_res + lo * g->epi_ldr;
    }
    c8_f32_gemm(j->cfg, &a, j->ws + (size_t)thread * j->ws_one);
  }
}

void c8_f32_gemm_parallel(const c8_f32_gemm_config *cfg, const c8_f32_gemm_args *g, void *workspace,
                          struct c8_threadpool *pool) {
  if (!cfg) cfg = c8_f32_gemm_config_default();
  const int threads = c8_threadpool_size(pool);
  const split s = choose(cfg, g->m, g->n, g->k, threads);
  if (s.blocks <= 1 || g->m == 0 || g->n == 0) {
    c8_f32_gemm(cfg, g, workspace);
    return;
  }
  par_gemm j = {.cfg = cfg, .g = g, .s = s, .ws = workspace};
  j.ws_one = c8_f32_gemm_parallel_workspace_bytes(cfg, g->m, g->n, g->k, g->a_packed != NULL, threads) /
             (size_t)threads;
  c8_parallel_for(pool, (int64_t)s.blocks, 1, gemm_blocks, &j);
}
