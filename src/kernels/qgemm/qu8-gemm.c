/* The integer GEMM driver: configuration choice, packing, and the loop over tiles (qgemm.h).
 * Loop nest: jc over N by NC (pack a B block of round4(K) x NC bytes), jr over it by NR, ir over M by MR
 * (micro-kernel): the B panel a micro-kernel reads stays in L1 across the ir loop, A (packed once) streams
 * from L2. */
#include <string.h>

#include "core/cpu.h"
#include "kernels/qgemm/qgemm.h"

#define C8_QU8_GEMM_UKERNEL(MR_, NR_, ISA_, sym, NC_, A16_, IND_)                                         \
  void sym(size_t mr, size_t nr, size_t kc, const void *a, const uint8_t *b, void *c, size_t ldc, \
           const c8_qu8_gemm_tile *t);
#include "kernels/qgemm/qu8-gemm.inc"
#undef C8_QU8_GEMM_UKERNEL

extern const int c8_qu8_gemm_avxvnni_built; /* qu8-gemm-4x16c4-avxvnni.c */

static const c8_qu8_gemm_config all_configs[] = {
#define C8_QU8_GEMM_UKERNEL(MR_, NR_, ISA_, sym, NC_, A16_, IND_)                                               \
  {.name = #MR_ "x" #NR_ "c4-" #ISA_, .isa = #ISA_, .mr = MR_, .nr = NR_, .nc = NC_, .a16 = A16_, .ukernel = sym, \
   .ukernel_ind = IND_},
#include "kernels/qgemm/qu8-gemm.inc"
#undef C8_QU8_GEMM_UKERNEL
};

enum { N_CONFIGS = (int)(sizeof all_configs / sizeof all_configs[0]) };

/* AVX-VNNI (VEX vpdpbusd on ymm) is not a step on the c8_isa ladder (Cascade Lake has AVX-512 VNNI without
   it, Alder Lake the reverse): it runs when the CPU reports it and CALIB8_ISA allows at least AVX2 — and not
   when CALIB8_ISA=avx2 lowers a better CPU to plain AVX2. */
static bool isa_available(const char *isa) {
  const c8_isa cur = c8_cpu_isa();
  if (strcmp(isa, "scalar") == 0) return true;
  if (strcmp(isa, "avx2") == 0) return cur >= C8_ISA_AVX2;
  if (strcmp(isa, "avxvnni") == 0)
    return c8_qu8_gemm_avxvnni_built && c8_cpu_has_avxvnni() && cur >= C8_ISA_AVX2 && (cur > C8_ISA_AVX2 || c8_cpu_detect() == C8_ISA_AVX2);
  if (strcmp(isa, "avx512vnni") == 0) return cur >= C8_ISA_AVX512VNNI;
  return false;
}

int c8_qu8_gemm_config_count(void) {
  int n = 0;
  for (int i = 0; i < N_CONFIGS; i++) n += isa_available(all_configs[i].isa);
  return n;
}

const c8_qu8_gemm_config *c8_qu8_gemm_config_at(int i) {
  for (int j = 0; j < N_CONFIGS; j++)
    if (isa_available(all_configs[j].isa) && i-- == 0) return &all_configs[j];
  return NULL;
}

const c8_qu8_gemm_config *c8_qu8_gemm_config_default(void) {
  for (int j = N_CONFIGS - 1; j >= 0; j--)
    if (isa_available(all_configs[j].isa)) return &all_configs[j];
  return &all_configs[0];
}

static size_t min_sz(size_t a, size_t b) { return a < b ? a : b; }

size_t c8_qu8_gemm_packed_a_bytes(const c8_qu8_gemm_config *cfg, size_t m, size_t k) {
  return (m + cfg->mr - 1) / cfg->mr * cfg->mr * c8_qu8_round4(k) * (cfg->a16 ? 2 : 1);
}

void c8_qu8_gemm_pack_a(const c8_qu8_gemm_config *cfg, size_t m, size_t k, const int8_t *w, size_t ldw,
                        int32_t *wsum, void *dst) {
  const size_t MR = cfg->mr, kp = c8_qu8_round4(k);
  for (size_t p = 0; p < m; p += MR) {
    for (size_t ks = 0; ks < kp; ks += 4)
      for (size_t i = 0; i < MR; i++) {
        int8_t q[4] = {0, 0, 0, 0};
        if (p + i < m)
          for (int kk = 0; kk < 4; kk++)
            if (ks + (size_t)kk < k) q[kk] = w[(p + i) * ldw + ks + (size_t)kk];
        const size_t at = (p / MR) * MR * kp + ks * MR + i * 4;
        if (cfg->a16) {
          int16_t *d = (int16_t *)dst + at;
          d[0] = q[0], d[1] = q[2], d[2] = q[1], d[3] = q[3];
        } else {
          memcpy((int8_t *)dst + at, q, 4);
        }
      }
  }
  if (wsum)
    for (size_t i = 0; i < m; i++) {
      int32_t s = 0;
      for (size_t kk = 0; kk < k; kk++) s += w[i * ldw + kk];
      wsum[i] = s;
    }
}

void c8_qu8_gemm_pack_b(const c8_qu8_gemm_config *cfg, size_t k, const uint8_t *b, size_t ldb, size_t n0,
                        size_t nc, bool flip, uint8_t *dst) {
  const size_t NR = cfg->nr, kp = c8_qu8_round4(k);
  const uint8_t x = flip ? 0x80 : 0;
  for (size_t p = 0; p < nc; p += NR, dst += NR * kp) {
    const size_t cols = min_sz(NR, nc - p);
    for (size_t ks = 0; ks < kp; ks += 4) {
      uint8_t *d = dst + ks * NR;
      const size_t rows = min_sz(4, k > ks ? k - ks : 0);
      if (rows == 4 && cols == NR) {
        const uint8_t *r0 = b + ks * ldb + n0 + p, *r1 = r0 + ldb, *r2 = r1 + ldb, *r3 = r2 + ldb;
        for (size_t j = 0; j < NR; j++) {
          d[4 * j] = r0[j] ^ x, d[4 * j + 1] = r1[j] ^ x, d[4 * j + 2] = r2[j] ^ x, d[4 * j + 3] = r3[j] ^ x;
        }
        continue;
      }
      memset(d, 0, NR * 4);
      for (size_t kk = 0; kk < rows; kk++) {
        const uint8_t *r = b + (ks + kk) * ldb + n0 + p;
        for (size_t j = 0; j < cols; j++) d[4 * j + kk] = r[j] ^ x;
      }
    }
  }
}

size_t c8_qu8_gemm_workspace_bytes(const c8_qu8_gemm_config *cfg, size_t n, size_t k) {
  return c8_qu8_gemm_packed_b_bytes(cfg, min_sz(cfg->nc, n ? n : 1), k);
}

static c8_qu8_gemm_tile make_tile(const c8_qu8_gemm_args *g) {
  c8_qu8_gemm_tile t = {
      .vlo = (float)(g->lo - g->zp),
      .vhi = (float)(g->hi - g->zp),
      .zp = g->zp,
      .out_signed = g->out_signed,
      .out_s32 = g->out_s32,
      .ldr = g->ldr,
      .res_mult = g->res_mult,
      .res_zp = g->res_zp,
      .res_signed = g->res_signed,
  };
  return t;
}

static size_t out_size(const c8_qu8_gemm_args *g) { return g->out_s32 ? 4 : 1; }

/* Columns [jc, jc+nc) of C from the packed B block bp (panels of NR). */
static void run_block(const c8_qu8_gemm_config *cfg, const c8_qu8_gemm_args *g, c8_qu8_gemm_tile *t, size_t jc,
                      size_t nc, const uint8_t *bp) {
  const size_t MR = cfg->mr, NR = cfg->nr, kp = c8_qu8_round4(g->k), es = out_size(g);
  const size_t astride = MR * kp * (cfg->a16 ? 2 : 1);
  for (size_t jr = 0; jr < nc; jr += NR) {
    const size_t nr = min_sz(NR, nc - jr);
    const uint8_t *bpanel = bp + (jr / NR) * NR * kp;
    for (size_t ir = 0; ir < g->m; ir += MR) {
      const size_t mr = min_sz(MR, g->m - ir);
      t->bias = g->bias + ir;
      t->mult = g->mult ? g->mult + ir : NULL;
      t->res = g->res ? (const uint8_t *)g->res + ir * g->ldr + jc + jr : NULL;
      cfg->ukernel(mr, nr, kp, (const uint8_t *)g->a_packed + (ir / MR) * astride, bpanel,
                   (uint8_t *)g->c + (ir * g->ldc + jc + jr) * es, g->ldc, t);
    }
  }
}

void c8_qu8_gemm(const c8_qu8_gemm_config *cfg, const c8_qu8_gemm_args *g, void *workspace) {
  if (!cfg) cfg = c8_qu8_gemm_config_default();
  if (g->m == 0 || g->n == 0) return;
  c8_qu8_gemm_tile t = make_tile(g);
  for (size_t jc = 0; jc < g->n; jc += cfg->nc) {
    const size_t nc = min_sz(cfg->nc, g->n - jc);
    c8_qu8_gemm_pack_b(cfg, g->k, g->b, g->ldb, jc, nc, g->b_flip, workspace);
    run_block(cfg, g, &t, jc, nc, workspace);
  }
}

void c8_qu8_gemm_packed(const c8_qu8_gemm_config *cfg, const c8_qu8_gemm_args *g, const uint8_t *b_packed) {
  if (!cfg) cfg = c8_qu8_gemm_config_default();
  if (g->m == 0 || g->n == 0) return;
  c8_qu8_gemm_tile t = make_tile(g);
  run_block(cfg, g, &t, 0, g->n, b_packed);
}
