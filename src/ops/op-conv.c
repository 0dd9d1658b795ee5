/* Conv (ONNX Conv-1/11): 1-D, 2-D and 3-D, groups, dilations, strides, pads, auto_pad.
 *
 * Paths, chosen at prepare:
 *   - depthwise (one input channel per group, 1-D/2-D): on AVX-512 (strides 1 and 2) each input plane is
 *     copied into a zero-padded buffer and a row kernel (kernels/conv/dwconv.h) keeps every tap in a
 *     register; otherwise a portable loop over output rows;
 *   - direct (AVX-512, stride-1 kernels larger than 1x1 on images at least 48 wide): the micro-kernel
 *     reads B straight from a zero-padded copy of the input by tap offset (see PATH_DIRECT below);
 *   - GEMM per group, W_g [M/g, C/g*kvol] · im2col(X_g) [C/g*kvol, OH*OW], where the im2col matrix is
 *     never materialized: the GEMM's B packer copies runs of the source (the input, or a zero-padded copy
 *     whose rows strided kernels keep split by phase) straight into the packed panels, using a table of
 *     tap offsets; a 1x1 stride-1 unpadded convolution packs the input rows as they are.
 * Constant weights are packed once at prepare (k->state). Bias, a fused clamp (FusedConv's Relu/Clip, or a
 * plan-level Relu/Clip) and a fused elementwise chain (graph/fuse.h, ops/epilogue.h) are applied as each
 * output tile is finished, on the AVX-512 GEMM kernel's accumulators.
 *
 * Threads: the GEMM and direct paths split the work into (image, group, block of output channels, block
 * of output positions) units, depthwise into output planes; each output element is computed the same way
 * whatever the split (same kernel, same K blocks), so 1 and N threads give bit-identical results. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>
#endif

#include "core/cpu.h"
#include "core/threadpool.h"
#include "kernels/conv/dwconv.h"
#include "kernels/gemm/gemm.h"
#include "kernels/winograd/winograd.h"
#include "ops/epilogue.h"
#include "ops/op-conv.h"

/* ---- geometry ---- */

static int64_t floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

c8_status c8_conv_geom_init(const c8_node *node, const c8_tensor *x, const c8_tensor *w, bool transposed,
                            c8_conv_geom *g) {
  memset(g, 0, sizeof *g);
  if (x->rank < 3 || x->rank > 5)
    return c8_node_error(node, CALIB8_UNSUPPORTED,
                         "input 0 has shape %s; expected rank 3 to 5 (N, C and 1 to 3 spatial dims)", C8_SHAPE_STR(x));
  if (w->rank != x->rank)
    return c8_node_error(node, CALIB8_MALFORMED_MODEL, "weight has shape %s but input 0 has shape %s: ranks must match",
                         C8_SHAPE_STR(w), C8_SHAPE_STR(x));
  const int nsp = x->rank - 2, off = 3 - nsp;
  g->nsp = nsp;
  g->groups = c8_attr_int(node, "group", 1);
  if (g->groups < 1)
    return c8_node_error(node, CALIB8_MALFORMED_MODEL, "group is %lld; it must be at least 1", (long long)g->groups);
  g->n = x->dims[0];
  g->c = x->dims[1];
  if (g->c % g->groups)
    return c8_node_error(node, CALIB8_MALFORMED_MODEL, "group %lld does not divide %lld input channels",
                         (long long)g->groups, (long long)g->c);
  if (!transposed) {
    g->m = w->dims[0];
    if (w->dims[1] * g->groups != g->c)
      return c8_node_error(node, CALIB8_MALFORMED_MODEL, "input has %lld channels, weight expects %lld (group %lld)",
                           (long long)g->c, (long long)(w->dims[1] * g->groups), (long long)g->groups);
    if (g->m % g->groups)
      return c8_node_error(node, CALIB8_MALFORMED_MODEL, "group %lld does not divide %lld output channels",
                           (long long)g->groups, (long long)g->m);
  } else {
    if (w->dims[0] != g->c)
      return c8_node_error(node, CALIB8_MALFORMED_MODEL, "input has %lld channels, weight expects %lld",
                           (long long)g->c, (long long)w->dims[0]);
    g->m = w->dims[1] * g->groups;
  }
  for (int i = 0; i < 3; i++) g->in[i] = g->out[i] = g->k[i] = g->stride[i] = g->dil[i] = 1;
  for (int i = 0; i < nsp; i++) {
    g->in[off + i] = x->dims[2 + i];
    g->k[off + i] = w->dims[2 + i];
    if (x->dims[2 + i] < 1 || w->dims[2 + i] < 1)
      return c8_node_error(node, CALIB8_UNSUPPORTED, "input 0 %s and weight %s must have non-empty spatial dims",
                           C8_SHAPE_STR(x), C8_SHAPE_STR(w));
  }
  int n;
  const int64_t *ks = c8_attr_ints(node, "kernel_shape", &n);
  if (ks) {
    if (n != nsp)
      return c8_node_error(node, CALIB8_MALFORMED_MODEL, "kernel_shape has %d values for %d spatial dims", n, nsp);
    for (int i = 0; i < nsp; i++)
      if (ks[i] != w->dims[2 + i])
        return c8_node_error(node, CALIB8_MALFORMED_MODEL, "kernel_shape[%d] is %lld but the weight %s has %lld", i,
                             (long long)ks[i], C8_SHAPE_STR(w), (long long)w->dims[2 + i]);
  }
  const int64_t *st = c8_attr_ints(node, "strides", &n);
  if (st) {
    if (n != nsp)
      return c8_node_error(node, CALIB8_MALFORMED_MODEL, "strides has %d values for %d spatial dims", n, nsp);
    for (int i = 0; i < nsp; i++) {
      if (st[i] < 1)
        return c8_node_error(node, CALIB8_MALFORMED_MODEL, "strides[%d] is %lld; strides must be at least 1", i,
                             (long long)st[i]);
      g->stride[off + i] = st[i];
    }
  }
  const int64_t *dl = c8_attr_ints(node, "dilations", &n);
  if (dl) {
    if (n != nsp)
      return c8_node_error(node, CALIB8_MALFORMED_MODEL, "dilations has %d values for %d spatial dims", n, nsp);
    for (int i = 0; i < nsp; i++) {
      if (dl[i] < 1)
        return c8_node_error(node, CALIB8_MALFORMED_MODEL, "dilations[%d] is %lld; dilations must be at least 1", i,
                             (long long)dl[i]);
      g->dil[off + i] = dl[i];
    }
  }
  const char *ap = c8_attr_string(node, "auto_pad", "NOTSET");
  enum { NOTSET, SAME_UPPER, SAME_LOWER, VALID } mode;
  if (strcmp(ap, "NOTSET") == 0) mode = NOTSET;
  else if (strcmp(ap, "SAME_UPPER") == 0) mode = SAME_UPPER;
  else if (strcmp(ap, "SAME_LOWER") == 0) mode = SAME_LOWER;
  else if (strcmp(ap, "VALID") == 0) mode = VALID;
  else
    return c8_node_error(node, CALIB8_MALFORMED_MODEL,
                         "auto_pad is '%s'; expected NOTSET, SAME_UPPER, SAME_LOWER or VALID", ap);
  const int64_t *pads = c8_attr_ints(node, "pads", &n);
  if (pads && mode == NOTSET) {
    if (n != 2 * nsp)
      return c8_node_error(node, CALIB8_MALFORMED_MODEL, "pads has %d values; %d spatial dims need %d", n, nsp,
                           2 * nsp);
    for (int i = 0; i < nsp; i++) {
      if (pads[i] < 0 || pads[nsp + i] < 0)
        return c8_node_error(node, CALIB8_UNSUPPORTED, "pads[%d] or pads[%d] is negative", i, nsp + i);
      g->pad_begin[off + i] = pads[i];
      g->pad_end[off + i] = pads[nsp + i];
    }
  }
  if (!transposed) {
    for (int i = off; i < 3; i++) {
      int64_t ek = (g->k[i] - 1) * g->dil[i] + 1, in = g->in[i], s = g->stride[i];
      if (mode == SAME_UPPER || mode == SAME_LOWER) {
        g->out[i] = (in + s - 1) / s;
        int64_t total = (g->out[i] - 1) * s + ek - in;
        if (total < 0) total = 0;
        /* SAME_UPPER puts the odd pad at the end, SAME_LOWER at the beginning. */
        g->pad_begin[i] = mode == SAME_UPPER ? total / 2 : total - total / 2;
        g->pad_end[i] = total - g->pad_begin[i];
      } else {
        int64_t padded = in + g->pad_begin[i] + g->pad_end[i];
        if (padded < ek)
          return c8_node_error(node, CALIB8_INVALID_ARGUMENT,
                               "spatial dim %d: the padded input (%lld) is smaller than the dilated kernel (%lld)",
                               i - off, (long long)padded, (long long)ek);
        g->out[i] = (padded - ek) / s + 1;
      }
    }
  } else {
    int nop = 0, nos = 0;
    const int64_t *opad = c8_attr_ints(node, "output_padding", &nop);
    const int64_t *oshape = c8_attr_ints(node, "output_shape", &nos);
    if (opad && nop != nsp)
      return c8_node_error(node, CALIB8_MALFORMED_MODEL, "output_padding has %d values for %d spatial dims", nop,
                           nsp);
    if (oshape && nos != nsp && nos != nsp + 2)
      return c8_node_error(node, CALIB8_MALFORMED_MODEL, "output_shape has %d values for %d spatial dims", nos, nsp);
    if (oshape && nos == nsp + 2) oshape += 2; /* given as the full [N, C, spatial...] */
    for (int i = off; i < 3; i++) {
      int64_t ek = (g->k[i] - 1) * g->dil[i] + 1, in = g->in[i], s = g->stride[i];
      int64_t op = opad ? opad[i - off] : 0;
      if (op < 0 || (op >= s && op >= g->dil[i]))
        return c8_node_error(node, CALIB8_MALFORMED_MODEL,
                             "output_padding[%d] is %lld; it must be smaller than the stride or the dilation", i - off,
                             (long long)op);
      if (oshape || mode == SAME_UPPER || mode == SAME_LOWER) {
        int64_t out = oshape ? oshape[i - off] : in * s;
        int64_t total = s * (in - 1) + op + ek - out;
        /* ONNX ConvTranspose: SAME_UPPER pads total/2 at the beginning, otherwise at the end
           (floor division, so a negative total extends the output at the end). */
        if (mode == SAME_UPPER) {
          g->pad_begin[i] = floor_div(total, 2);
          g->pad_end[i] = total - g->pad_begin[i];
        } else {
          g->pad_end[i] = floor_div(total, 2);
          g->pad_begin[i] = total - g->pad_end[i];
        }
        g->out[i] = out;
      } else {
        g->out[i] = s * (in - 1) + op + ek - g->pad_begin[i] - g->pad_end[i];
      }
      if (g->out[i] < 1)
        return c8_node_error(node, CALIB8_INVALID_ARGUMENT, "spatial dim %d of the output would be %lld", i - off,
                             (long long)g->out[i]);
    }
  }
  return CALIB8_OK;
}

void c8_conv_set_output(const c8_conv_geom *g, c8_tensor *out, c8_dtype dtype) {
  out->dtype = dtype;
  out->rank = g->nsp + 2;
  out->dims[0] = g->n;
  out->dims[1] = g->m;
  for (int i = 0; i < g->nsp; i++) out->dims[2 + i] = g->out[3 - g->nsp + i];
}

/* ---- Conv ---- */

enum { PATH_DEPTHWISE, PATH_GEMM, PATH_DIRECT, PATH_ROWS, PATH_WINOGRAD };

/* PATH_WINOGRAD (AVX-512, 2-D 3x3 kernels, stride 1, dilation 1, one group, at least WINO_MIN_C input and
   WINO_MIN_M output channels): Winograd F(2x2, 3x3), kernels/winograd/winograd.h: 16 multiplies per 2x2 outputs
   and input channel instead of 36. Units are (block of tile rows, M tile); the weights are transformed once at
   prepare. CALIB8_WINOGRAD=0 turns it off (A/B measurements). */
/* 32 input channels: with 16 (ResNet-8's first stage) the input transform is a third of the time, and at batch 1
   on 2 threads ResNet-8 ran at 0.92 of ONNX Runtime's time against 0.83 with 32 (0.78 and 0.85 at batch 32 on 1
   thread; alternating runs, bench/run.sh's method). */
#ifndef WINO_MIN_C
#define WINO_MIN_C 32
#endif
#ifndef WINO_MIN_M
#define WINO_MIN_M 16
#endif

/* PATH_ROWS (AVX-512, 2-D kernels larger than 1x1 whose output rows are a multiple of 8 wide, stride 1, or
   stride 2 over phase-split rows): like the GEMM path, but the micro-kernel (c8_f32_dconv_ukernel_8x16x2)
   reads each 16-column half of a B panel straight from the (padded) source, since 16 consecutive output
   positions then lie on one output row and each im2col row of them is a contiguous run of the source.
   Output rows 8 wide (and 24, 40) take c8_f32_dconv_ukernel_8x8x4: runs of 8 positions, two per vector
   (ResNet-8's and the YOLO's 8x8 layers: 145-180 -> 155-205 GFLOP/s, test-conv --bench, vs im2col).
   Output tiles of 32 positions are contiguous in Y, so the GEMM epilogue applies unchanged. */

/* PATH_DIRECT (stride-1 2-D kernels larger than 1x1, AVX-512): output positions are numbered across
   the padded width, q = oy * SW + ox, so that row k of the im2col matrix is a plain run of the padded
   source at koff[k] and the micro-kernel reads B without packing (f32-dconv-8x32-avx512.c). Packing
   B cost about a third of the time of a 3x3 convolution with few output channels. */
#define DIRECT_NR 32
#define DIRECT_MR 8
#ifndef DIRECT_GROUP
#define DIRECT_GROUP 4 /* column tiles per sweep of the K blocks */
#endif
#define SRC_SLACK 64 /* floats readable past the padded sources (the last tile reads up to 31 past) */
#define DW_SLACK 64  /* floats readable past a padded depthwise plane (stride 2 reads 32 per 16 outputs) */

typedef struct conv_state {
  c8_conv_geom g;
  int path;
  const c8_f32_gemm_config *cfg;
  int64_t mg, cg, kg;     /* per group: output channels, input channels, GEMM K (cg * kvol) */
  int64_t ihw, ohw;
  float *wpacked;         /* per-group packed weights (c8_alloc), NULL when W is not constant */
  size_t wpacked_group;   /* floats per group */
  float min, max;         /* fused activation clamp */
  bool has_epi;           /* a fused chain (k->fuse) beyond a clamp runs as each tile is finished */
  c8_f32_pack_b_fn pack_b;
  bool dw_simd;           /* PATH_DEPTHWISE with the AVX-512 kernel (ws_bytes per thread: a padded plane) */
  c8_epilogue epi;
  /* The GEMM's B matrix is read from a source image per (batch, group): the input itself, or
     a zero-padded copy of it when the convolution pads, so packing never tests borders. */
  bool padded;
  bool pad_local;         /* padded per tile into the thread's workspace (local_src_bytes at its start) */
  size_t local_src_bytes;
  int64_t sd, sh, sw;     /* source image dims (padded when `padded`); sw = phases * pw */
  /* Strided (sx > 1) convolutions keep the columns of each padded row split by phase (column c at
     (c % sx) * pw + c / sx), so that every im2col run is contiguous and packs as fast as stride 1. */
  int64_t phases, pw, xw; /* phases (1 or sx), columns per phase, padded row width */
  unsigned char *row_used; /* per padded row (sh): read by some tap (a 1x1 stride-2 kernel skips half) */
  int64_t *koff;          /* GEMM row k = (channel, kz, ky, kx) -> offset of its first tap in the source */
  bool contiguous;        /* 1x1, stride 1, unpadded: column q of row k is source[koff[k] + q] */
  /* Work split: units are (image, group, M tile, N tile), contiguous chunks per thread. */
  int threads;
  int64_t mt, nt, m_tiles, n_tiles;
  int64_t ncols;          /* GEMM columns: ohw, or for PATH_DIRECT (OH - 1) * SW + OW */
  int64_t mblock;         /* PATH_DIRECT: output channels per pass over a column tile (A block in L2) */
  int64_t qband;          /* PATH_ROWS: output positions (a multiple of 32) per padded band of rows */
  /* Scratch: [padded sources][packed W when not constant][GEMM workspace per thread]. */
  size_t src_bytes, wdyn_bytes, ws_bytes;
  c8_wino_plan wino;      /* PATH_WINOGRAD */
} conv_state;

static void conv_pack_b(const void *vctx, size_t k0, size_t kc, size_t n0, size_t nc, size_t nr, size_t ps,
                        float *dst);
#if defined(__GNUC__) && defined(__x86_64__)
#define HAVE_PACK_AVX512 1
static void conv_pack_b_avx512(const void *vctx, size_t k0, size_t kc, size_t n0, size_t nc, size_t nr, size_t ps,
                               float *dst);
#endif

static void conv_destroy(void *p) {
  conv_state *s = p;
  if (!s) return;
  c8_free(s->wpacked);
  c8_mfree(s->koff);
  c8_mfree(s->row_used);
  c8_mfree(s);
}

static size_t align64(size_t n) { return (n + 63) / 64 * 64; }
static int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

/* com.microsoft FusedConv (ONNX Runtime's contrib op): Conv followed by `activation`
 * with `activation_params`. Relu and Clip become the epilogue clamp; graph passes that
 * fuse Conv+Relu/Clip can target it. */
static c8_status parse_activation(const c8_node *node, conv_state *s) {
  const char *act = c8_attr_string(node, "activation", "");
  int n = 0;
  const float *p = c8_attr_floats(node, "activation_params", &n);
  if (strcmp(act, "Relu") == 0) {
    s->min = 0.0f;
  } else if (strcmp(act, "Clip") == 0) {
    if (n != 2)
      return c8_node_error(node, CALIB8_MALFORMED_MODEL,
                           "activation Clip needs activation_params [min, max], got %d values", n);
    s->min = p[0];
    s->max = p[1];
  } else if (*act) {
    return c8_node_error(node, CALIB8_UNSUPPORTED, "activation '%s' is not supported (Relu and Clip are)", act);
  }
  return CALIB8_OK;
}

/* Chooses the work split. Tiles of N (output positions) come first: they share the packed weights and
   split the im2col work; tiles of M (output channels) repeat the packing of B, so they are used only
   when there are too few positions. The split never changes results: every output element is
   computed by the same micro-kernel over the same K blocks whatever tile it falls in. */
static void choose_split(conv_state *s, int64_t units_base) {
  const int64_t T = s->threads, MR = (int64_t)s->cfg->mr, NR = (int64_t)s->cfg->nr;
  s->m_tiles = s->n_tiles = 1;
  s->mt = s->mg;
  s->nt = s->ncols;
  if (T <= 1) return;
  const int64_t ncols = ceil_div(s->ncols, NR), nrows = ceil_div(s->mg, MR);
  /* Enough units that the chunks per thread are equal, or many enough that the remainder is small. */
  int64_t nt = 1;
  while (nt < ncols && (units_base * nt) % T != 0 && units_base * nt < 8 * T) nt++;
  s->n_tiles = nt;
  s->nt = ceil_div(ceil_div(s->ncols, nt), NR) * NR;
  s->n_tiles = ceil_div(s->ncols, s->nt);
  if (units_base * s->n_tiles < T && nrows > 1) {
    int64_t mtl = ceil_div(T, units_base * s->n_tiles);
    if (mtl > nrows) mtl = nrows;
    s->mt = ceil_div(ceil_div(s->mg, mtl), MR) * MR;
    s->m_tiles = ceil_div(s->mg, s->mt);
  }
}

static bool use_winograd(const conv_state *s) {
  const c8_conv_geom *g = &s->g;
  const char *env = getenv("CALIB8_WINOGRAD");
  if (env && strcmp(env, "0") == 0) return false;
  return c8_cpu_isa() >= C8_ISA_AVX512 && g->nsp == 2 && g->groups == 1 && g->k[1] == 3 && g->k[2] == 3 &&
         g->stride[1] == 1 && g->stride[2] == 1 && g->dil[1] == 1 && g->dil[2] == 1 && g->c >= WINO_MIN_C &&
         g->m >= WINO_MIN_M && (g->out[2] + 1) / 2 <= C8_WINO_MAX_TW;
}

static c8_status prepare_winograd(c8_kernel *k, conv_state *s, const c8_tensor *w, c8_tensor *out) {
  const c8_conv_geom *g = &s->g;
  s->path = PATH_WINOGRAD;
  c8_wino_plan *p = &s->wino;
  *p = (c8_wino_plan){.n = g->n, .c = g->c, .m = g->m, .ih = g->in[1], .iw = g->in[2], .oh = g->out[1],
                      .ow = g->out[2], .py = g->pad_begin[1], .px = g->pad_begin[2]};
  c8_wino_plan_init(p);
  /* M tiles only when there are too few blocks for the threads (each repeats the input transform) */
  const int64_t mpanels = ceil_div(g->m, 8);
  s->m_tiles = 1;
  if (s->threads > 1 && p->blocks % s->threads != 0 && p->blocks < 4 * s->threads) {
    s->m_tiles = s->threads < mpanels ? s->threads : mpanels;
    s->mt = ceil_div(mpanels, s->m_tiles) * 8;
    s->m_tiles = ceil_div(g->m, s->mt);
  }
  s->mt = ceil_div(mpanels, s->m_tiles) * 8;
  s->wpacked_group = c8_wino_u_floats(g->m, g->c);
  if (w->data) {
    s->wpacked = c8_alloc(s->wpacked_group * sizeof(float));
    if (!s->wpacked)
      return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory packing the weights of node '%s'", k->node->name);
    c8_wino_weights((const float *)w->data, g->m, g->c, s->wpacked);
  } else {
    s->wdyn_bytes = align64(s->wpacked_group * sizeof(float));
  }
  s->ws_bytes = align64(c8_wino_scratch_floats(p) * sizeof(float));
  k->scratch_bytes = s->wdyn_bytes + s->ws_bytes * (size_t)s->threads;
  c8_conv_set_output(g, out, CALIB8_FLOAT);
  return CALIB8_OK;
}

static c8_status conv_prepare(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out) {
  const c8_node *node = k->node;
  c8_status st = c8_check_inputs(node, n_in, 2, 3);
  if (st) return st;
  if (n_out != 1 || !out[0]) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "has %d outputs, expected 1", n_out);
  if (!in[0] || !in[1]) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "input X or W is missing");
  if ((st = c8_check_dtype(node, in[0], 0, CALIB8_FLOAT)) || (st = c8_check_dtype(node, in[1], 1, CALIB8_FLOAT)))
    return st;
  conv_state *s = c8_calloc(1, sizeof *s);
  if (!s) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory preparing node '%s'", node->name);
  k->state = s;
  c8_conv_geom *g = &s->g;
  if ((st = c8_conv_geom_init(node, in[0], in[1], false, g))) return st;
  const c8_tensor *b = n_in > 2 ? in[2] : NULL;
  if (b) {
    if ((st = c8_check_dtype(node, b, 2, CALIB8_FLOAT))) return st;
    if (b->rank != 1 || b->dims[0] != g->m)
      return c8_node_error(node, CALIB8_MALFORMED_MODEL, "bias has shape %s; expected [%lld] (one per output channel)",
                           C8_SHAPE_STR(b), (long long)g->m);
  }
  s->min = -INFINITY;
  s->max = INFINITY;
  if (strcmp(node->op_type, "FusedConv") == 0 && (st = parse_activation(node, s))) return st;
  if (k->fuse) {
    /* A chain the epilogue cannot take runs unfused (the plan sees k->fuse cleared). */
    c8_tensor y = {0};
    c8_conv_set_output(g, &y, CALIB8_FLOAT);
    float lo, hi;
    if (!c8_epilogue_init(&s->epi, k, &y) || s->min != -INFINITY || s->max != INFINITY) k->fuse = NULL;
    else if (c8_epilogue_is_clamp(&s->epi, &lo, &hi)) s->min = lo, s->max = hi;
    else s->has_epi = true;
  }
  s->threads = c8_threadpool_size(k->pool);
  s->cfg = c8_f32_gemm_config_default();
  s->mg = g->m / g->groups;
  s->cg = g->c / g->groups;
  s->kg = s->cg * c8_conv_k_size(g);
  s->ihw = c8_conv_in_size(g);
  s->ohw = c8_conv_out_size(g);
  if (s->cg == 1 && g->groups > 1 && g->k[0] == 1 && g->in[0] == 1) {
    s->path = PATH_DEPTHWISE;
    s->dw_simd = c8_cpu_isa() >= C8_ISA_AVX512 && (g->stride[2] == 1 || g->stride[2] == 2) && g->k[1] * g->k[2] <= 25;
    if (s->dw_simd) {
      s->sh = g->in[1] + g->pad_begin[1] + g->pad_end[1];
      s->sw = g->in[2] + g->pad_begin[2] + g->pad_end[2];
      s->ws_bytes = align64((size_t)(s->sh * s->sw + DW_SLACK) * sizeof(float));
      k->scratch_bytes = s->ws_bytes * (size_t)s->threads;
    }
    c8_conv_set_output(g, out[0], CALIB8_FLOAT);
    return CALIB8_OK;
  }
  if (use_winograd(s)) return prepare_winograd(k, s, in[1], out[0]);
  s->path = PATH_GEMM;
  bool pads = false, unit = true;
  for (int i = 0; i < 3; i++) {
    pads |= g->pad_begin[i] > 0 || g->pad_end[i] > 0;
    unit &= g->k[i] == 1 && g->stride[i] == 1;
  }
  s->ncols = s->ohw;
  /* Only wide images: every output row wastes kw-1 columns and tiles straddle rows, so on narrow images
     (32 and less) packing was as fast or faster; at 160 wide with 24 output channels direct was 20 %
     faster. */
  if (s->cfg->mr == DIRECT_MR && c8_cpu_isa() >= C8_ISA_AVX512 && g->in[0] == 1 && g->k[0] == 1 &&
      g->stride[1] == 1 && g->stride[2] == 1 && g->k[1] * g->k[2] > 1 && g->out[2] >= 48 &&
      g->out[2] % 16 != 0) { /* else the rows path (below): 5-10 % faster at 64 to 160 wide */
    s->path = PATH_DIRECT;
    pads = true; /* the kernel reads past each row: always from a padded copy with slack */
  }
  if (s->path == PATH_GEMM && s->cfg->mr == 8 && s->cfg->nr == 32 && c8_cpu_isa() >= C8_ISA_AVX512 &&
      g->in[0] == 1 && g->k[0] == 1 && g->k[1] * g->k[2] > 1 && g->out[2] % 8 == 0 &&
      (g->stride[2] == 1 || (g->stride[2] == 2 && (g->k[2] > 1 || pads))))
    s->path = PATH_ROWS;
  s->padded = pads;
  s->contiguous = unit && !pads;
  s->sd = g->in[0] + g->pad_begin[0] + g->pad_end[0];
  s->sh = g->in[1] + g->pad_begin[1] + g->pad_end[1];
  s->xw = g->in[2] + g->pad_begin[2] + g->pad_end[2];
  /* A 1-wide unpadded kernel reads each input row with one stride: the packer copies it straight from the
     input (every other float for stride 2), so no phase-split copy (ResNet-8's 1x1 stride-2 shortcuts: the
     copy of the whole input made them 3x slower than ONNX Runtime). */
  const bool direct_strided = g->k[2] == 1 && !pads;
  s->phases = s->path != PATH_DIRECT && g->stride[2] > 1 && !direct_strided ? g->stride[2] : 1;
  if (s->phases > 1) s->padded = pads = true, s->contiguous = false;
  s->pw = ceil_div(s->xw, s->phases);
  s->sw = s->phases * s->pw;
  s->row_used = c8_calloc((size_t)s->sh + 1, 1);
  if (!s->row_used) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory preparing node '%s'", node->name);
  for (int64_t oy = 0; oy < g->out[1]; oy++)
    for (int64_t ky = 0; ky < g->k[1]; ky++) s->row_used[oy * g->stride[1] + ky * g->dil[1]] = 1;
  if (s->path == PATH_DIRECT) memset(s->row_used, 1, (size_t)s->sh); /* its junk columns run into the next row */
  s->koff = c8_calloc((size_t)s->kg + C8_DCONV_KOFF_SLACK, sizeof(int64_t)); /* slack: prefetches of offset 0 */
  if (!s->koff) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory preparing node '%s'", node->name);
  for (int64_t r = 0, ch = 0; ch < s->cg; ch++)
    for (int64_t kz = 0; kz < g->k[0]; kz++)
      for (int64_t ky = 0; ky < g->k[1]; ky++)
        for (int64_t kx = 0; kx < g->k[2]; kx++, r++)
          s->koff[r] = ((ch * s->sd + kz * g->dil[0]) * s->sh + ky * g->dil[1]) * s->sw +
                       (kx * g->dil[2]) % s->phases * s->pw + (kx * g->dil[2]) / s->phases;
  if (s->path == PATH_DIRECT) {
    s->ncols = (g->out[1] - 1) * s->sw + g->out[2];
    int64_t mb = (int64_t)(262144 / sizeof(float)) / (s->kg ? s->kg : 1) / DIRECT_MR * DIRECT_MR;
    s->mblock = mb < DIRECT_MR ? DIRECT_MR : mb;
  }
  choose_split(s, g->n * g->groups);
  if (s->path == PATH_ROWS) {
    /* about 128 KB of padded rows per band */
    int64_t rows = (int64_t)(131072 / sizeof(float)) / (s->cg * s->sw * g->stride[1]) - (g->k[1] - 1) * g->dil[1];
    if (rows < 1) rows = 1;
    s->qband = ceil_div(rows * g->out[2], 32) * 32;
  }
  s->pack_b = conv_pack_b;
#ifdef HAVE_PACK_AVX512
  if (c8_cpu_isa() >= C8_ISA_AVX512) s->pack_b = conv_pack_b_avx512;
#endif
  s->ws_bytes = s->path == PATH_DIRECT
                    ? align64((size_t)ceil_div(s->mblock, DIRECT_MR) * DIRECT_MR * DIRECT_NR * DIRECT_GROUP *
                              sizeof(float))
                : s->path == PATH_ROWS
                    ? 0
                    : align64(c8_f32_gemm_workspace_bytes(s->cfg, (size_t)s->mt, (size_t)s->nt, (size_t)s->kg, true));
  /* The GEMM path pads each tile's rows as it needs them, into a per-thread copy of one (image, group)
     (a copy of the whole batch ahead of the GEMMs went through memory: 10-17 % of ResNet-8 and YOLO at batch
     32); the direct path pads everything first. */
  s->pad_local = pads && (s->path == PATH_GEMM || s->path == PATH_ROWS);
  if (s->pad_local) {
    s->local_src_bytes = align64((size_t)(s->cg * s->sd * s->sh * s->sw + SRC_SLACK) * sizeof(float));
    s->ws_bytes += s->local_src_bytes;
  } else if (pads) {
    s->src_bytes = align64((size_t)(g->n * g->c * s->sd * s->sh * s->sw + SRC_SLACK) * sizeof(float));
  }
  s->wpacked_group = c8_f32_gemm_packed_a_floats(s->cfg, (size_t)s->mg, (size_t)s->kg);
  if (in[1]->data) {
    s->wpacked = c8_alloc(s->wpacked_group * (size_t)g->groups * sizeof(float));
    if (!s->wpacked)
      return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory packing the weights of node '%s'", node->name);
    for (int64_t gi = 0; gi < g->groups; gi++)
      c8_f32_gemm_pack_a(s->cfg, (size_t)s->mg, (size_t)s->kg, (const float *)in[1]->data + gi * s->mg * s->kg,
                         (size_t)s->kg, false, s->wpacked + (size_t)gi * s->wpacked_group);
  } else {
    s->wdyn_bytes = align64(s->wpacked_group * (size_t)g->groups * sizeof(float));
  }
  k->scratch_bytes = s->src_bytes + s->wdyn_bytes + s->ws_bytes * (size_t)s->threads;
  c8_conv_set_output(g, out[0], CALIB8_FLOAT);
  return CALIB8_OK;
}

/* ---- implicit im2col ----
 * Row k of the virtual im2col matrix is (channel, kz, ky, kx); column q is the output position
 * (oz, oy, ox). Column q of row k is src[koff[k] + (oz*sz*SH + oy*sy)*SW + ox*sx]: within one output
 * row, a strided run of the source. The packer copies such runs straight into the NR-column panels. */
typedef struct pack_ctx {
  const conv_state *s;
  const float *src;  /* the (batch, group) source image */
  int64_t col0;      /* first output position of this GEMM */
} pack_ctx;

/* Copies `len` columns starting at panel column `col` of every row in [0, kc): row k reads
   base + koff[k] (stride sx). */
#ifdef HAVE_PACK_AVX512
/* d[j] = s[2j] for j < n (n <= 32): two loads and an even-lane permute per 16; masked loads at the end
   so nothing past s[2n-2] is read (the source may be the unpadded input). */
__attribute__((target("avx512f,avx512vl,avx512bw,avx512dq"))) static void copy_stride2_avx512(float *d,
                                                                                            const float *s,
                                                                                            size_t n) {
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  for (size_t j = 0; j < n; j += 16) {
    const size_t m = n - j < 16 ? n - j : 16, need = 2 * m - 1; /* floats of s read from s + 2j */
    __m512 lo, hi;
    if (need >= 32) {
      lo = _mm512_loadu_ps(s + 2 * j), hi = _mm512_loadu_ps(s + 2 * j + 16);
    } else {
      const unsigned nl = need < 16 ? (unsigned)need : 16u, nh = need > 16 ? (unsigned)(need - 16) : 0u;
      lo = _mm512_maskz_loadu_ps((__mmask16)((1u << nl) - 1), s + 2 * j);
      hi = _mm512_maskz_loadu_ps((__mmask16)((1u << nh) - 1), s + 2 * j + 16);
    }
    _mm512_mask_storeu_ps(d + j, (__mmask16)((1u << m) - 1), _mm512_permutex2var_ps(lo, even, hi));
  }
}
#endif

#ifdef HAVE_PACK_AVX512
/* d + k*ld gets n <= 32 floats from base + koff[k], for k < kc: masked moves instead of a libc call per
   row (runs are short on small images: 10 or 28 floats). */
__attribute__((target("avx512f,avx512vl,avx512bw,avx512dq"))) static void copy_rows_upto32_avx512(
    float *d, size_t ld, const float *base, const int64_t *koff, size_t kc, size_t n) {
  const __mmask16 m0 = (__mmask16)(n >= 16 ? 0xffff : (1u << n) - 1);
  const __mmask16 m1 = (__mmask16)(n >= 32 ? 0xffff : n <= 16 ? 0 : (1u << (n - 16)) - 1);
  for (size_t k = 0; k < kc; k++, d += ld) {
    const float *sr = base + koff[k];
    _mm512_mask_storeu_ps(d, m0, _mm512_maskz_loadu_ps(m0, sr));
    if (m1) _mm512_mask_storeu_ps(d + 16, m1, _mm512_maskz_loadu_ps(m1, sr + 16));
  }
}
#endif

static inline __attribute__((always_inline)) void pack_run(const float *base, const int64_t *koff, size_t kc,
                                                          int64_t sx, size_t col, size_t len, size_t nr, size_t ps,
                                                          float *dst, const bool avx512) {
  (void)avx512;
  while (len > 0) {
    const size_t p = col / nr, j0 = col % nr, n = nr - j0 < len ? nr - j0 : len;
    float *d = dst + p * ps + j0;
    if (sx == 1) {
      if (n == 32) {
        for (size_t k = 0; k < kc; k++, d += nr) memcpy(d, base + koff[k], 32 * sizeof(float));
      } else if (n == 16) {
        for (size_t k = 0; k < kc; k++, d += nr) memcpy(d, base + koff[k], 16 * sizeof(float));
      } else if (n == 8) {
        for (size_t k = 0; k < kc; k++, d += nr) memcpy(d, base + koff[k], 8 * sizeof(float));
      } else {
#ifdef HAVE_PACK_AVX512
        if (avx512 && n <= 32) {
          copy_rows_upto32_avx512(d, nr, base, koff, kc, n);
        } else
#endif
          for (size_t k = 0; k < kc; k++, d += nr) memcpy(d, base + koff[k], n * sizeof(float));
      }
    } else {
#ifdef HAVE_PACK_AVX512
      if (avx512 && sx == 2) {
        for (size_t k = 0; k < kc; k++, d += nr) copy_stride2_avx512(d, base + koff[k], n);
      } else
#endif
        for (size_t k = 0; k < kc; k++, d += nr) {
          const float *sr = base + koff[k];
          for (size_t j = 0; j < n; j++) d[j] = sr[(int64_t)j * sx];
        }
    }
    base += (int64_t)n * sx;
    col += n;
    len -= n;
  }
}

static inline __attribute__((always_inline)) void pack_b_body(const void *vctx, size_t k0, size_t kc, size_t n0,
                                                             size_t nc, size_t nr, size_t ps, float *dst,
                                                             const bool avx512) {
  const pack_ctx *ctx = vctx;
  const conv_state *s = ctx->s;
  const c8_conv_geom *g = &s->g;
  const int64_t *koff = s->koff + k0;
  int64_t q = ctx->col0 + (int64_t)n0;
  if (s->contiguous) {
    pack_run(ctx->src + q, koff, kc, 1, 0, nc, nr, ps, dst, avx512);
  } else {
    const int64_t OH = g->out[1], OW = g->out[2];
    int64_t ox = q % OW, oy = q / OW % OH, oz = q / OW / OH;
    for (size_t col = 0; col < nc;) {
      const size_t len = (size_t)(OW - ox) < nc - col ? (size_t)(OW - ox) : nc - col;
      const int64_t sx = s->phases > 1 ? 1 : g->stride[2]; /* phase-split rows are contiguous runs */
      const float *base = ctx->src + (oz * g->stride[0] * s->sh + oy * g->stride[1]) * s->sw + ox * sx;
      pack_run(base, koff, kc, sx, col, len, nr, ps, dst, avx512);
      col += len;
      ox = 0;
      if (++oy == OH) oy = 0, oz++;
    }
  }
  /* Zero the columns of the last panel past nc. */
  if (nc % nr) {
    float *d = dst + (nc / nr) * ps;
    for (size_t k = 0; k < kc; k++, d += nr)
      for (size_t j = nc % nr; j < nr; j++) d[j] = 0.0f;
  }
}

/* The packer built for the baseline and for AVX-512 (wider copies; picked with the GEMM configuration). */
static void conv_pack_b(const void *vctx, size_t k0, size_t kc, size_t n0, size_t nc, size_t nr, size_t ps,
                        float *dst) {
  pack_b_body(vctx, k0, kc, n0, nc, nr, ps, dst, false);
}
#ifdef HAVE_PACK_AVX512
__attribute__((target("avx512f,avx512vl,avx512bw,avx512dq"))) static void conv_pack_b_avx512(
    const void *vctx, size_t k0, size_t kc, size_t n0, size_t nc, size_t nr, size_t ps, float *dst) {
  pack_b_body(vctx, k0, kc, n0, nc, nr, ps, dst, true);
}
#endif

/* ---- run ---- */

typedef struct conv_job {
  const conv_state *s;
  const float *x, *w, *bias, *res;
  float *y;
  unsigned char *scratch;
} conv_job;

#ifdef HAVE_PACK_AVX512
/* One input row (iw floats) into the two phases of a padded row (px zeros before it): d[i] holds padded
   column 2i and d[pw + i] column 2i + 1. Masked loads read only the input's own floats (lanes on the
   padding are zero), then an even/odd permute splits each 32 columns. */
__attribute__((target("avx512f,avx512vl,avx512bw,avx512dq"))) static void split2_row_avx512(const float *x,
                                                                                          int64_t iw, int64_t px,
                                                                                          int64_t pw, float *d) {
  const __m512i ev = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i od = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
  for (int64_t i = 0; i < pw; i += 16) {
    const int64_t c0 = 2 * i; /* padded column of lane 0 */
    int64_t lo = px - c0, hi = px + iw - c0; /* valid lanes [lo, hi) of 32 */
    if (lo < 0) lo = 0;
    if (hi > 32) hi = 32;
    uint64_t bits = hi > lo ? (((uint64_t)1 << hi) - 1) & ~(((uint64_t)1 << lo) - 1) : 0;
    /* lane 0's address may lie before x (c0 < px): computed as an integer, only valid lanes are read */
    const float *src = (const float *)((uintptr_t)x + (uintptr_t)((c0 - px) * (int64_t)sizeof(float)));
    const __m512 a = _mm512_maskz_loadu_ps((__mmask16)(bits & 0xffff), src);
    const __m512 b = _mm512_maskz_loadu_ps((__mmask16)(bits >> 16), src + 16);
    const __mmask16 mk = pw - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (pw - i)) - 1);
    _mm512_mask_storeu_ps(d + i, mk, _mm512_permutex2var_ps(a, ev, b));
    _mm512_mask_storeu_ps(d + pw + i, mk, _mm512_permutex2var_ps(a, od, b));
  }
}
#endif

#ifdef HAVE_PACK_AVX512
/* One input row (iw floats) into a padded row of sw floats (px zeros before it, zeros after): masked loads
   read only the input's own floats (a memcpy and two short loops per row cost more on 32-wide images). */
__attribute__((target("avx512f,avx512vl,avx512bw,avx512dq"))) static void pad1_row_avx512(const float *x, int64_t iw,
                                                                                         int64_t px, int64_t sw,
                                                                                         float *d) {
  for (int64_t i = 0; i < sw; i += 16) {
    int64_t lo = px - i, hi = px + iw - i; /* valid lanes [lo, hi) of 16 */
    if (lo < 0) lo = 0;
    if (hi > 16) hi = 16;
    const uint32_t bits = hi > lo ? (((uint32_t)1 << hi) - 1) & ~(((uint32_t)1 << lo) - 1) : 0;
    /* lane 0's address may lie before x (i < px): computed as an integer, only valid lanes are read */
    const float *src = (const float *)((uintptr_t)x + (uintptr_t)((i - px) * (int64_t)sizeof(float)));
    const __mmask16 mk = sw - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (sw - i)) - 1);
    _mm512_mask_storeu_ps(d + i, mk, _mm512_maskz_loadu_ps((__mmask16)bits, src));
  }
}
#endif

#ifdef HAVE_PACK_AVX512
#define PAD_MAX_CHUNKS 64
#ifndef PAD_PREFETCH
#define PAD_PREFETCH 2048
#endif
/* pad_rows for 2-D images with rows of at most PAD_MAX_CHUNKS * 16 floats per phase, on AVX-512: the same
   rows as pad1_row_avx512 / split2_row_avx512 write, but with the masks of each 16-float chunk (the same for
   every row) computed once per call. Returns false (nothing done) when the rows are too long. */
__attribute__((target("avx512f,avx512vl,avx512bw,avx512dq"))) static bool pad_rows_avx512(const conv_state *s,
                                                                                         const float *xc, float *d,
                                                                                         int64_t nch, int64_t y0,
                                                                                         int64_t y1) {
  const c8_conv_geom *g = &s->g;
  const int64_t IH = g->in[1], IW = g->in[2], py = g->pad_begin[1], px = g->pad_begin[2];
  const int64_t S = s->phases, W = S == 1 ? s->sw : s->pw; /* floats per phase */
  const int64_t nck = (W + 15) / 16;
  if (s->sd != 1 || S > 2 || nck > PAD_MAX_CHUNKS) return false;
  __mmask16 la[PAD_MAX_CHUNKS], lb[PAD_MAX_CHUNKS], st[PAD_MAX_CHUNKS];
  int64_t off[PAD_MAX_CHUNKS];
  for (int64_t c = 0; c < nck; c++) {
    const int64_t i = 16 * c, c0 = S * i; /* phase index of lane 0, its padded column */
    int64_t lo = px - c0, hi = px + IW - c0; /* valid lanes [lo, hi) of 16 * S */
    if (lo < 0) lo = 0;
    if (hi > 16 * S) hi = 16 * S;
    const uint64_t bits = hi > lo ? (((uint64_t)1 << hi) - 1) & ~(((uint64_t)1 << lo) - 1) : 0;
    la[c] = (__mmask16)(bits & 0xffff);
    lb[c] = (__mmask16)(bits >> 16);
    st[c] = W - i >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (W - i)) - 1);
    off[c] = c0 - px;
  }
  const __m512i ev = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i od = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
  const int64_t plane = s->sh * s->sw;
  for (int64_t ch = 0; ch < nch; ch++, xc += s->ihw, d += plane) {
    for (int64_t y = y0; y < y1; y++) {
      if (!s->row_used[y]) continue; /* never read */
      float *dr = d + y * s->sw;
      const int64_t iy = y - py;
      if (iy < 0 || iy >= IH) {
        memset(dr, 0, (size_t)s->sw * sizeof(float));
        continue;
      }
      /* lane 0's address may lie before the row (c0 < px): computed as an integer, only valid lanes are read */
      const uintptr_t sr = (uintptr_t)(xc + iy * IW);
      /* the input ahead (one linear stream over rows and channels): the previous layer's output is often out of
         cache, and the masked loads below stalled on it (a prefetch never faults, so no bound check) */
      for (int64_t b = 0; b < IW * 4; b += 64) _mm_prefetch((const char *)(sr + PAD_PREFETCH + (uintptr_t)b), _MM_HINT_T0);
      if (S == 1) {
        for (int64_t c = 0; c < nck; c++)
          _mm512_mask_storeu_ps(dr + 16 * c, st[c],
                                _mm512_maskz_loadu_ps(la[c], (const float *)(sr + (uintptr_t)(off[c] * 4))));
      } else {
        for (int64_t c = 0; c < nck; c++) {
          const float *src = (const float *)(sr + (uintptr_t)(off[c] * 4));
          const __m512 a = _mm512_maskz_loadu_ps(la[c], src), b = _mm512_maskz_loadu_ps(lb[c], src + 16);
          _mm512_mask_storeu_ps(dr + 16 * c, st[c], _mm512_permutex2var_ps(a, ev, b));
          _mm512_mask_storeu_ps(dr + W + 16 * c, st[c], _mm512_permutex2var_ps(a, od, b));
        }
      }
    }
  }
  return true;
}
#endif

/* Rows [y0, y1) of the zero-padded copy of nch input channels: xc is the first input channel, d the first
   padded channel (sd x sh x sw each). Rows no tap reads are left alone. */
static void pad_rows(const conv_state *s, const float *xc, float *d, int64_t nch, int64_t y0, int64_t y1) {
  const c8_conv_geom *g = &s->g;
#ifdef HAVE_PACK_AVX512
  if (s->pack_b == conv_pack_b_avx512 && pad_rows_avx512(s, xc, d, nch, y0, y1)) return;
#endif
  const int64_t ID = g->in[0], IH = g->in[1], IW = g->in[2];
  const int64_t pz = g->pad_begin[0], py = g->pad_begin[1], px = g->pad_begin[2];
  const int64_t plane = s->sh * s->sw;
  for (int64_t c = 0; c < nch; c++, xc += s->ihw, d += s->sd * plane) {
    for (int64_t z = 0; z < s->sd; z++) {
      const int64_t iz = z - pz;
      float *dz = d + z * plane;
      for (int64_t y = y0; y < y1; y++) {
        if (!s->row_used[y]) continue; /* never read */
        float *dr = dz + y * s->sw;
        const int64_t iy = y - py;
        if (iz < 0 || iz >= ID || iy < 0 || iy >= IH) {
          memset(dr, 0, (size_t)s->sw * sizeof(float));
          continue;
        }
        const float *sr = xc + (iz * IH + iy) * IW;
#ifdef HAVE_PACK_AVX512
        if (s->phases == 1 && s->pack_b == conv_pack_b_avx512) {
          pad1_row_avx512(sr, IW, px, s->sw, dr);
        } else
#endif
        if (s->phases == 1) {
          for (int64_t t = 0; t < px; t++) dr[t] = 0.0f;
          memcpy(dr + px, sr, (size_t)IW * sizeof(float));
          for (int64_t t = px + IW; t < s->sw; t++) dr[t] = 0.0f;
        }
#ifdef HAVE_PACK_AVX512
        else if (s->phases == 2 && s->pack_b == conv_pack_b_avx512) {
          split2_row_avx512(sr, IW, px, s->pw, dr);
        }
#endif
        else {
          const int64_t S = s->phases, pw = s->pw;
          for (int64_t ph = 0; ph < S; ph++) {
            /* phase ph holds padded columns c = ph + S*i, input column c - px */
            float *d2 = dr + ph * pw;
            for (int64_t i = 0; i < pw; i++) {
              const int64_t ix = ph + S * i - px;
              d2[i] = ix >= 0 && ix < IW ? sr[ix] : 0.0f;
            }
          }
        }
      }
    }
  }
}

/* Zero-padded copies of all input channels (all images) ahead of the direct path: unit = one (image, channel). */
static void pad_range(void *vjob, int64_t u0, int64_t u1, int thread) {
  (void)thread;
  const conv_job *j = vjob;
  const conv_state *s = j->s;
  float *dst0 = (float *)j->scratch;
  const int64_t one = s->sd * s->sh * s->sw;
  for (int64_t u = u0; u < u1; u++) pad_rows(s, j->x + u * s->ihw, dst0 + u * one, 1, 0, s->sh);
}

/* The B source of output positions [q0, q0 + nc) of image n, group gi: the input, its padded copy, or (pad_local)
   the rows they read padded into this thread's local_src, unless have[] says it already holds them. */
static const float *unit_source(const conv_job *j, int64_t n, int64_t gi, int64_t q0, int64_t nc, float *local_src,
                                int64_t have[4]) {
  const conv_state *s = j->s;
  const c8_conv_geom *g = &s->g;
  if (s->pad_local) {
    /* the padded rows this tile's output positions read, padded here so that they are still in cache */
    int64_t y0 = 0, y1 = s->sh;
    if (s->sd == 1) {
      y0 = q0 / g->out[2] * g->stride[1];
      y1 = (q0 + nc - 1) / g->out[2] * g->stride[1] + (g->k[1] - 1) * g->dil[1] + 1;
    }
    if (n != have[0] || gi != have[1] || y0 < have[2] || y1 > have[3]) {
      pad_rows(s, j->x + (n * g->c + gi * s->cg) * s->ihw, local_src, s->cg, y0, y1);
      have[0] = n, have[1] = gi, have[2] = y0, have[3] = y1;
    }
    return local_src;
  }
  if (s->padded) return (const float *)j->scratch + (n * g->c + gi * s->cg) * (s->sd * s->sh * s->sw);
  return j->x + (n * g->c + gi * s->cg) * s->ihw;
}

/* The work units of the GEMM, direct and rows paths: u = ((image * groups + group) * m_tiles + M tile) *
   n_tiles + N tile. */
static inline void unit_index(const conv_state *s, int64_t u, int64_t *n, int64_t *gi, int64_t *mi, int64_t *ni) {
  *ni = u % s->n_tiles;
  u /= s->n_tiles;
  *mi = u % s->m_tiles;
  u /= s->m_tiles;
  *gi = u % s->g.groups;
  *n = u / s->g.groups;
}

/* PATH_ROWS: unit = (image, group, M tile, N tile) as for the GEMM path; tiles of 32 output positions, each
   over all M panels (its source rows stay in L1), every panel over the whole K. */
static void rows_range(void *vjob, int64_t u0, int64_t u1, int thread) {
  const conv_job *j = vjob;
  const conv_state *s = j->s;
  const c8_conv_geom *g = &s->g;
  float *local_src = (float *)(j->scratch + s->src_bytes + s->wdyn_bytes + (size_t)thread * s->ws_bytes);
  const float *wdyn = (const float *)(j->scratch + s->src_bytes);
  const int64_t OW = g->out[2], rowstep = g->stride[1] * s->sw, K = s->kg;
  int64_t have[4] = {-1, -1, 0, 0};
  for (int64_t u = u0; u < u1; u++) {
    int64_t n, gi, mi, ni;
    unit_index(s, u, &n, &gi, &mi, &ni);
    const int64_t m0 = mi * s->mt, q0 = ni * s->nt;
    const int64_t m1 = s->mg - m0 < s->mt ? s->mg : m0 + s->mt, q1 = s->ohw - q0 < s->nt ? s->ohw : q0 + s->nt;
    const float *wp = (s->wpacked ? s->wpacked : wdyn) + (size_t)gi * s->wpacked_group;
    const int64_t ch0 = gi * s->mg, obase = (n * g->m + ch0) * s->ohw;
    c8_f32_gemm_tile tl = {.alpha = 1.0f, .min = s->min, .max = s->max};
    const float *src = NULL;
    for (int64_t q = q0; q < q1; q += 32) {
      /* bands of s->qband positions: their padded rows are made just ahead (still in cache) */
      if ((q - q0) % s->qband == 0)
        src = unit_source(j, n, gi, q, q1 - q < s->qband ? q1 - q : s->qband, local_src, have);
      const size_t nr = q1 - q < 32 ? (size_t)(q1 - q) : 32;
      /* runs of 16 (or 8) positions on one output row; past nr, the first run again */
      const float *b[4];
      for (int r = 0; r < (OW % 16 ? 4 : 2); r++) {
        const int64_t qr = q + r * (OW % 16 ? 8 : 16);
        b[r] = qr < q + (int64_t)nr || r == 0 ? src + qr / OW * rowstep + qr % OW : b[0];
      }
      for (int64_t i0 = m0; i0 < m1; i0 += 8) {
        const size_t mr = m1 - i0 < 8 ? (size_t)(m1 - i0) : 8;
        tl.row_bias = j->bias ? j->bias + ch0 + i0 : NULL;
        if (s->has_epi) {
          tl.epi = &s->epi;
          tl.epi_ch0 = ch0 + i0;
          tl.epi_res = j->res ? j->res + obase + i0 * s->ohw + q : NULL;
          tl.epi_ldr = (size_t)s->ohw;
        }
        const float *a = wp + (size_t)(i0 / 8) * (size_t)K * 8;
        float *c = j->y + obase + i0 * s->ohw + q;
        if (OW % 16)
          c8_f32_dconv_ukernel_8x8x4__avx512(mr, nr, (size_t)K, a, b, s->koff, c, (size_t)s->ohw, &tl);
        else
          c8_f32_dconv_ukernel_8x16x2__avx512(mr, nr, (size_t)K, a, b[0], b[1], s->koff, c, (size_t)s->ohw, &tl);
      }
    }
  }
}

static void gemm_range(void *vjob, int64_t u0, int64_t u1, int thread) {
  const conv_job *j = vjob;
  const conv_state *s = j->s;
  const c8_conv_geom *g = &s->g;
  unsigned char *mine = j->scratch + s->src_bytes + s->wdyn_bytes + (size_t)thread * s->ws_bytes;
  void *ws = mine + s->local_src_bytes;
  float *local_src = (float *)mine; /* pad_local: this thread's padded copy of one (image, group) */
  const float *wdyn = (const float *)(j->scratch + s->src_bytes);
  int64_t have[4] = {-1, -1, 0, 0}; /* what local_src holds: image, group, rows [y0, y1) */
  for (int64_t u = u0; u < u1; u++) {
    int64_t n, gi, mi, ni;
    unit_index(s, u, &n, &gi, &mi, &ni);
    const int64_t m0 = mi * s->mt, q0 = ni * s->nt;
    const int64_t mc = s->mg - m0 < s->mt ? s->mg - m0 : s->mt, nc = s->ohw - q0 < s->nt ? s->ohw - q0 : s->nt;
    const float *wp = (s->wpacked ? s->wpacked : wdyn) + (size_t)gi * s->wpacked_group;
    pack_ctx ctx = {.s = s, .col0 = q0};
    ctx.src = unit_source(j, n, gi, q0, nc, local_src, have);
    c8_f32_gemm_args a;
    c8_f32_gemm_args_init(&a);
    a.m = (size_t)mc, a.n = (size_t)nc, a.k = (size_t)s->kg;
    a.a_packed = wp + (size_t)(m0 / (int64_t)s->cfg->mr) * (size_t)s->kg * s->cfg->mr;
    a.pack_b = s->pack_b;
    a.pack_b_ctx = &ctx;
    a.c = j->y + (n * g->m + gi * s->mg + m0) * s->ohw + q0;
    a.ldc = (size_t)s->ohw;
    if (j->bias) {
      a.bias_kind = C8_GEMM_BIAS_ROW;
      a.bias = j->bias + gi * s->mg + m0;
    }
    a.min = s->min, a.max = s->max;
    if (s->has_epi) {
      a.epi = &s->epi;
      a.epi_ch0 = gi * s->mg + m0;
      a.epi_res = j->res ? j->res + (n * g->m + gi * s->mg + m0) * s->ohw + q0 : NULL;
      a.epi_ldr = (size_t)s->ohw;
    }
    c8_f32_gemm(s->cfg, &a, ws);
  }
}

/* PATH_DIRECT: unit = (image, group, M tile, column tile); columns are padded-width positions. */
#define DIRECT_KC 128 /* K steps per kernel call: the B rows of a column tile stay in L1 across M panels */


static void direct_range(void *vjob, int64_t u0, int64_t u1, int thread) {
  const conv_job *j = vjob;
  const conv_state *s = j->s;
  const c8_conv_geom *g = &s->g;
  float *tiles = (float *)(j->scratch + s->src_bytes + s->wdyn_bytes + (size_t)thread * s->ws_bytes);
  const float *wdyn = (const float *)(j->scratch + s->src_bytes);
  const int64_t src_floats = s->sd * s->sh * s->sw, SW = s->sw, OW = g->out[2];
  const bool clamp = s->min != -INFINITY || s->max != INFINITY;
  for (int64_t u = u0; u < u1; u++) {
    int64_t n, gi, mi, ni;
    unit_index(s, u, &n, &gi, &mi, &ni);
    const int64_t m0 = mi * s->mt, m1 = m0 + s->mt < s->mg ? m0 + s->mt : s->mg;
    const int64_t p0 = ni * s->nt, p1 = p0 + s->nt < s->ncols ? p0 + s->nt : s->ncols;
    const float *wp = (s->wpacked ? s->wpacked : wdyn) + (size_t)gi * s->wpacked_group;
    const float *src = (const float *)j->scratch + (n * g->c + gi * s->cg) * src_floats;
    const int64_t ch_base = gi * s->mg, out_base = (n * g->m + ch_base) * s->ohw;
    for (int64_t mb0 = m0; mb0 < m1; mb0 += s->mblock) {
      const int64_t mb1 = mb0 + s->mblock < m1 ? mb0 + s->mblock : m1;
      /* DIRECT_GROUP column tiles at a time, K blocks outside them: each B row of a K block is then read
         as one run of DIRECT_GROUP * 32 floats, which the prefetchers follow (tile by tile, the 100+ rows
         of a K block were short scattered reads that left the kernel waiting on memory). */
      const int64_t mpanels = ceil_div(mb1 - mb0, DIRECT_MR);
      for (int64_t pg = p0; pg < p1; pg += DIRECT_GROUP * DIRECT_NR) {
        const int64_t ntiles = ceil_div((p1 - pg < DIRECT_GROUP * DIRECT_NR ? p1 - pg : DIRECT_GROUP * DIRECT_NR),
                                        DIRECT_NR);
        for (int64_t k0 = 0; k0 < s->kg; k0 += DIRECT_KC) {
          const int64_t kc = s->kg - k0 < DIRECT_KC ? s->kg - k0 : DIRECT_KC;
          for (int64_t t = 0; t < ntiles; t++)
            for (int64_t i0 = mb0; i0 < mb1; i0 += DIRECT_MR)
              c8_f32_dconv_ukernel_8x32__avx512(
                  (size_t)kc, wp + (size_t)(i0 / DIRECT_MR) * (size_t)s->kg * DIRECT_MR + (size_t)k0 * DIRECT_MR,
                  src + pg + t * DIRECT_NR, s->koff + k0,
                  tiles + ((t * mpanels + (i0 - mb0) / DIRECT_MR) * DIRECT_MR) * DIRECT_NR, k0 > 0);
        }
        for (int64_t t = 0; t < ntiles; t++) {
          const int64_t p = pg + t * DIRECT_NR, nj = p1 - p < DIRECT_NR ? p1 - p : DIRECT_NR;
          for (int64_t i0 = mb0; i0 < mb1; i0 += DIRECT_MR) {
            const int64_t mr = mb1 - i0 < DIRECT_MR ? mb1 - i0 : DIRECT_MR;
            const float *tile = tiles + ((t * mpanels + (i0 - mb0) / DIRECT_MR) * DIRECT_MR) * DIRECT_NR;
            /* Bias and clamp as the GEMM kernels apply them, then the fused chain; junk columns dropped. */
            for (int64_t r = 0; r < mr; r++) {
              const int64_t ch = ch_base + i0 + r;
              const float b = j->bias ? j->bias[ch] : 0.0f;
              const float *tr = tile + r * DIRECT_NR;
              for (int64_t c0 = 0; c0 < nj;) {
                const int64_t q = p + c0, oy = q / SW, ox = q % SW;
                const int64_t len = SW - ox < nj - c0 ? SW - ox : nj - c0;
                const int64_t valid = ox < OW ? (OW - ox < len ? OW - ox : len) : 0;
                if (valid > 0) {
                  const int64_t off = out_base + (i0 + r) * s->ohw + oy * OW + ox;
                  float *yr = j->y + off;
                  for (int64_t e = 0; e < valid; e++) {
                    float v = tr[c0 + e] + b;
                    if (clamp) {
                      v = v < s->min ? s->min : v;
                      v = v > s->max ? s->max : v;
                    }
                    yr[e] = v;
                  }
                  if (s->has_epi)
                    c8_epilogue_apply(&s->epi, ch, yr, j->res ? j->res + off : NULL, (size_t)valid);
                }
                c0 += len;
              }
            }
          }
        }
      }
    }
  }
}

/* Adds one kernel row of depthwise taps to an output row: yr[ox] += sum over kx of
 * w[kx] * xr[ox*sx + kx*dx - px], for the taps inside the input row. 3- and 5-wide
 * stride-1 kernels take all taps in one pass over the interior [ilo, ihi), where every
 * tap is inside, and finish the few border outputs one by one; other kernels make one
 * pass per tap over its valid range. */
static void dw_row(float *restrict yr, const float *restrict xr, const float *wrow, int64_t KW, int64_t sx,
                   int64_t dx, int64_t px, int64_t OW, int64_t IW) {
  if (sx == 1 && (KW == 3 || KW == 5)) {
    /* Tap offsets grow with kx: the first tap bounds the interior from below, the last from above. */
    int64_t ilo, ihi, lo, hi;
    c8_conv_valid_range(OW, 1, -px, IW, &ilo, &hi);
    c8_conv_valid_range(OW, 1, (KW - 1) * dx - px, IW, &lo, &ihi);
    if (ihi < ilo) ihi = ilo;
    const int64_t o0 = -px, o1 = dx - px, o2 = 2 * dx - px;
    const float w0 = wrow[0], w1 = wrow[1], w2 = wrow[2];
    if (KW == 3) {
      for (int64_t ox = ilo; ox < ihi; ox++) yr[ox] += w0 * xr[ox + o0] + w1 * xr[ox + o1] + w2 * xr[ox + o2];
    } else {
      const int64_t o3 = 3 * dx - px, o4 = 4 * dx - px;
      const float w3 = wrow[3], w4 = wrow[4];
      for (int64_t ox = ilo; ox < ihi; ox++)
        yr[ox] += w0 * xr[ox + o0] + w1 * xr[ox + o1] + w2 * xr[ox + o2] + w3 * xr[ox + o3] + w4 * xr[ox + o4];
    }
    for (int64_t ox = 0; ox < OW; ox++) {
      if (ox == ilo) ox = ihi > ilo ? ihi : ilo;
      if (ox >= OW) break;
      float acc = 0.0f;
      for (int64_t kx = 0; kx < KW; kx++) {
        const int64_t ix = ox + kx * dx - px;
        if (ix >= 0 && ix < IW) acc += wrow[kx] * xr[ix];
      }
      yr[ox] += acc;
    }
    return;
  }
  for (int64_t kx = 0; kx < KW; kx++) {
    const float wv = wrow[kx];
    const int64_t off = kx * dx - px;
    int64_t lo, hi;
    c8_conv_valid_range(OW, sx, off, IW, &lo, &hi);
    if (sx == 1)
      for (int64_t ox = lo; ox < hi; ox++) yr[ox] += wv * xr[ox + off];
    else if (sx == 2)
      for (int64_t ox = lo; ox < hi; ox++) yr[ox] += wv * xr[2 * ox + off];
    else
      for (int64_t ox = lo; ox < hi; ox++) yr[ox] += wv * xr[ox * sx + off];
  }
}

/* Depthwise (one input channel per group, channel multiplier M/C) for 1-D/2-D: unit = one output plane. */
static void depthwise_range(void *vjob, int64_t u0, int64_t u1, int thread) {
  (void)thread;
  const conv_job *j = vjob;
  const conv_state *s = j->s;
  const c8_conv_geom *g = &s->g;
  const int64_t IH = g->in[1], IW = g->in[2], OH = g->out[1], OW = g->out[2], KH = g->k[1], KW = g->k[2];
  const int64_t sy = g->stride[1], sx = g->stride[2], dy = g->dil[1], dx = g->dil[2];
  const int64_t py = g->pad_begin[1], px = g->pad_begin[2];
  const int64_t mult = s->mg;
  for (int64_t u = u0; u < u1; u++) {
    const int64_t n = u / g->m, m = u % g->m;
    const float *xc = j->x + (n * g->c + m / mult) * IH * IW;
    const float *wm = j->w + m * KH * KW;
    float *yc = j->y + u * OH * OW;
    const float b = j->bias ? j->bias[m] : 0.0f;
    for (int64_t oy = 0; oy < OH; oy++) {
      float *yr = yc + oy * OW;
      for (int64_t ox = 0; ox < OW; ox++) yr[ox] = b;
      for (int64_t ky = 0; ky < KH; ky++) {
        int64_t iy = oy * sy - py + ky * dy;
        if (iy < 0 || iy >= IH) continue;
        dw_row(yr, xc + iy * IW, wm + ky * KW, KW, sx, dx, px, OW, IW);
      }
      if (s->min != -INFINITY || s->max != INFINITY)
        for (int64_t ox = 0; ox < OW; ox++) {
          float v = yr[ox];
          v = v < s->min ? s->min : v;
          yr[ox] = v > s->max ? s->max : v;
        }
      if (s->has_epi) c8_epilogue_apply(&s->epi, m, yr, j->res ? j->res + u * OH * OW + oy * OW : NULL, (size_t)OW);
    }
  }
}

/* AVX-512 depthwise: each input plane is first copied into a zero-padded buffer (no border tests, per
   thread), then the row kernel (kernels/conv/dwconv.h) computes each output row from registers. */

static void dw_range_simd(void *vjob, int64_t u0, int64_t u1, int thread) {
  const conv_job *j = vjob;
  const conv_state *s = j->s;
  const c8_conv_geom *g = &s->g;
  float *pad = (float *)(j->scratch + (size_t)thread * s->ws_bytes);
  const int64_t IH = g->in[1], IW = g->in[2], OH = g->out[1], OW = g->out[2], KH = g->k[1], KW = g->k[2];
  const int64_t py = g->pad_begin[1], px = g->pad_begin[2], SH = s->sh, SW = s->sw;
  for (int64_t u = u0; u < u1; u++) {
    const int64_t n = u / g->m, m = u % g->m;
    const float *xc = j->x + (n * g->c + m / s->mg) * IH * IW;
    memset(pad, 0, (size_t)(py * SW) * sizeof(float));
    for (int64_t y = 0; y < IH; y++) {
      float *d = pad + (y + py) * SW;
      for (int64_t t = 0; t < px; t++) d[t] = 0.0f;
      memcpy(d + px, xc + y * IW, (size_t)IW * sizeof(float));
      for (int64_t t = px + IW; t < SW; t++) d[t] = 0.0f;
    }
    memset(pad + (py + IH) * SW, 0, (size_t)((SH - py - IH) * SW + DW_SLACK) * sizeof(float));
    const float *wm = j->w + m * KH * KW;
    const float b = j->bias ? j->bias[m] : 0.0f;
    float *yc = j->y + u * OH * OW;
    for (int64_t oy = 0; oy < OH; oy++) {
      float *yr = yc + oy * OW;
      c8_f32_dwconv_row__avx512(pad + oy * g->stride[1] * SW, (size_t)(g->dil[1] * SW), wm, (int)KH, (int)KW,
                                (int)g->stride[2], (int)g->dil[2], b, s->min, s->max, yr, (size_t)OW);
      if (s->has_epi) c8_epilogue_apply(&s->epi, m, yr, j->res ? j->res + u * OH * OW + oy * OW : NULL, (size_t)OW);
    }
  }
}

static void wino_range(void *vjob, int64_t u0, int64_t u1, int thread) {
  const conv_job *j = vjob;
  const conv_state *s = j->s;
  float *ws = (float *)(j->scratch + s->wdyn_bytes + (size_t)thread * s->ws_bytes);
  const float *u = s->wpacked ? s->wpacked : (const float *)j->scratch;
  for (int64_t un = u0; un < u1; un++) {
    const int64_t block = un / s->m_tiles, m0 = un % s->m_tiles * s->mt;
    const int64_t m1 = m0 + s->mt < s->g.m ? m0 + s->mt : s->g.m;
    c8_f32_winograd_unit__avx512(&s->wino, j->x, u, block, m0, m1, j->bias, s->min, s->max,
                                 s->has_epi ? &s->epi : NULL, j->res, j->y, ws);
  }
}

static c8_status conv_run(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out,
                          void *scratch) {
  (void)n_out;
  const conv_state *s = k->state;
  const c8_conv_geom *g = &s->g;
  conv_job j = {.s = s, .x = in[0]->data, .w = in[1]->data, .y = out[0]->data, .scratch = scratch};
  j.bias = n_in > 2 && in[2] ? in[2]->data : NULL;
  j.res = s->has_epi ? c8_epilogue_residual(&s->epi, k) : NULL;
  if (s->path == PATH_DEPTHWISE) {
    const int64_t planes = g->n * g->m, work = s->ohw * c8_conv_k_size(g);
    c8_parallel_for(planes * work < 65536 ? NULL : k->pool, planes, work >= 4096 ? 1 : ceil_div(4096, work),
                    s->dw_simd ? dw_range_simd : depthwise_range,
                    &j);
    return CALIB8_OK;
  }
  if (s->path == PATH_WINOGRAD) {
    if (!s->wpacked) c8_wino_weights(j.w, g->m, g->c, (float *)scratch);
    c8_threadpool *pool = (double)g->n * (double)g->m * (double)s->ohw * (double)g->c * 4.0 < 262144.0 ? NULL : k->pool;
    c8_parallel_for(pool, s->wino.blocks * s->m_tiles, 1, wino_range, &j);
    return CALIB8_OK;
  }
  /* Below about a microsecond of work, handing out chunks costs more than it saves. */
  c8_threadpool *pool = (double)g->n * (double)g->m * (double)s->ohw * (double)s->kg < 262144.0 ? NULL : k->pool;
  if (s->padded && !s->pad_local) c8_parallel_for(pool, g->n * g->c, 1, pad_range, &j);
  if (!s->wpacked)
    for (int64_t gi = 0; gi < g->groups; gi++)
      c8_f32_gemm_pack_a(s->cfg, (size_t)s->mg, (size_t)s->kg, j.w + gi * s->mg * s->kg, (size_t)s->kg, false,
                         (float *)((unsigned char *)scratch + s->src_bytes) + (size_t)gi * s->wpacked_group);
  c8_parallel_for(pool, g->n * g->groups * s->m_tiles * s->n_tiles, 1,
                  s->path == PATH_DIRECT ? direct_range : s->path == PATH_ROWS ? rows_range : gemm_range, &j);
  return CALIB8_OK;
}

/* Per output element: (C_in / group) * kernel, W's elements per output channel. */
static int64_t conv_macs(const c8_node *n, const c8_tensor *x, const c8_tensor *w, const c8_tensor *y) {
  (void)n, (void)x;
  return w->rank > 0 && w->dims[0] > 0 ? c8_numel(y) * (c8_numel(w) / w->dims[0]) : 0;
}

const c8_op_def c8_op_conv = {
    .name = "Conv", .domain = "", .prepare = conv_prepare, .run = conv_run, .destroy = conv_destroy,
    .qrole = C8_QROLE_COMPUTE, .values = C8_VALUES_COMPUTED, .batch = C8_BATCH_FIRST_AXIS, .fuse = C8_FUSE_HEAD,
    .weight_axis = C8_AXIS_0, .weight_gran = C8_WGRAN_CHANNEL_MIX, .mean_axis = C8_AXIS_1, .bias = C8_BIAS_INPUT2,
    .macs = conv_macs};
/* FusedConv already carries its activation: not a fusion head, and not planned in INT8 (ONNX Runtime's
   quantizer does not take it). */
const c8_op_def c8_op_fused_conv = {
    .name = "FusedConv", .domain = "com.microsoft", .prepare = conv_prepare, .run = conv_run,
    .destroy = conv_destroy,
    .qrole = C8_QROLE_NONE, .values = C8_VALUES_COMPUTED, .batch = C8_BATCH_FIRST_AXIS, .fuse = C8_FUSE_NONE};
