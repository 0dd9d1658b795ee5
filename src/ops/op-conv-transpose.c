/* ConvTranspose (ONNX ConvTranspose-1/11): 1-D/2-D/3-D, groups, strides, dilations,
 * pads, output_padding, output_shape, auto_pad.
 * Per group, cols [M/g * kvol, positions] = W_g^T [M/g * kvol, C/g] · X_g [C/g, positions],
 * then col2im scatters each column into the output (y starts as the bias). Input positions
 * are processed in chunks so the cols buffer stays bounded whatever the image size.
 *
 * Threads split the work by (image, group, block of output channels): each output element is written
 * by one thread, adding its contributions in the same order whatever the split. When the kernel tiles
 * the output exactly (2-D, stride = kernel, no dilation, padding or output padding: the usual 2x
 * upsampling), every output element has one contribution and col2im becomes a plain interleaving write
 * of bias + column (the same float operation as adding the column to the bias). */
#include <stdlib.h>
#include <string.h>

#include "core/threadpool.h"
#include "kernels/gemm/gemm.h"
#include "ops/op-conv.h"

typedef struct convt_state {
  c8_conv_geom g;
  const c8_f32_gemm_config *cfg;
  int64_t cg, mg, rows; /* rows = mg * kvol */
  int64_t chunk;        /* input positions per GEMM (whole input rows on the tiled path) */
  float *wpacked;       /* per-group packed W_g^T, NULL when W is not constant */
  size_t wpacked_group;
  size_t ws_bytes, cols_bytes; /* per thread */
  int threads;
  int64_t mt, m_tiles;  /* output channels per unit (mt * kvol rows start on an MR panel) */
  bool tiled;           /* stride = kernel, no dilation/padding: one contribution per output element */
} convt_state;

static void convt_destroy(void *p) {
  convt_state *s = p;
  if (!s) return;
  c8_free(s->wpacked);
  c8_mfree(s);
}

static size_t align64(size_t n) { return (n + 63) / 64 * 64; }

/* Bound on the cols buffer, in floats. */
#define COLS_BUDGET ((int64_t)1 << 20)

static c8_status convt_prepare(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out) {
  const c8_node *node = k->node;
  c8_status st = c8_check_inputs(node, n_in, 2, 3);
  if (st) return st;
  if (n_out != 1 || !out[0]) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "has %d outputs, expected 1", n_out);
  if (!in[0] || !in[1]) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "input X or W is missing");
  if ((st = c8_check_dtype(node, in[0], 0, CALIB8_FLOAT)) || (st = c8_check_dtype(node, in[1], 1, CALIB8_FLOAT)))
    return st;
  convt_state *s = c8_calloc(1, sizeof *s);
  if (!s) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory preparing node '%s'", node->name);
  k->state = s;
  c8_conv_geom *g = &s->g;
  if ((st = c8_conv_geom_init(node, in[0], in[1], true, g))) return st;
  const c8_tensor *b = n_in > 2 ? in[2] : NULL;
  if (b) {
    if ((st = c8_check_dtype(node, b, 2, CALIB8_FLOAT))) return st;
    if (b->rank != 1 || b->dims[0] != g->m)
      return c8_node_error(node, CALIB8_MALFORMED_MODEL, "bias has shape %s; expected [%lld] (one per output channel)",
                           C8_SHAPE_STR(b), (long long)g->m);
  }
  s->cfg = c8_f32_gemm_config_default();
  s->cg = g->c / g->groups;
  s->mg = g->m / g->groups;
  s->rows = s->mg * c8_conv_k_size(g);
  const int64_t ihw = c8_conv_in_size(g);
  s->chunk = COLS_BUDGET / (s->rows ? s->rows : 1);
  if (s->chunk < 64) s->chunk = 64;
  if (s->chunk > ihw) s->chunk = ihw;
  const int64_t kvol = c8_conv_k_size(g);
  s->tiled = g->in[0] == 1 && g->k[0] == 1;
  for (int i = 1; i < 3; i++)
    s->tiled &= g->stride[i] == g->k[i] && g->dil[i] == 1 && g->pad_begin[i] == 0 && g->out[i] == g->in[i] * g->k[i];
  if (s->tiled) s->chunk = (s->chunk + g->in[2] - 1) / g->in[2] * g->in[2] < ihw ? (s->chunk + g->in[2] - 1) / g->in[2] * g->in[2] : ihw;
  /* Channel blocks for the threads: mt * kvol a multiple of MR, so each block's rows start a packed panel. */
  s->threads = c8_threadpool_size(k->pool);
  s->mt = s->mg;
  s->m_tiles = 1;
  if (s->threads > 1 && g->n * g->groups % s->threads != 0) {
    int64_t step = (int64_t)s->cfg->mr, a = kvol;
    while (a) { /* step = MR / gcd(kvol, MR) */
      int64_t t = step % a;
      step = a, a = t;
    }
    step = (int64_t)s->cfg->mr / step;
    int64_t mt = (s->mg + s->threads - 1) / s->threads;
    mt = (mt + step - 1) / step * step;
    if (mt < s->mg) s->mt = mt, s->m_tiles = (s->mg + mt - 1) / mt;
  }
  s->ws_bytes = align64(c8_f32_gemm_workspace_bytes(s->cfg, (size_t)(s->mt * kvol), (size_t)s->chunk, (size_t)s->cg, true));
  s->cols_bytes = align64((size_t)(s->mt * kvol * s->chunk) * sizeof(float));
  s->wpacked_group = c8_f32_gemm_packed_a_floats(s->cfg, (size_t)s->rows, (size_t)s->cg);
  size_t scratch = (s->ws_bytes + s->cols_bytes) * (size_t)s->threads;
  if (in[1]->data) {
    s->wpacked = c8_alloc(s->wpacked_group * (size_t)g->groups * sizeof(float));
    if (!s->wpacked)
      return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory packing the weights of node '%s'", node->name);
    for (int64_t gi = 0; gi < g->groups; gi++)
      c8_f32_gemm_pack_a(s->cfg, (size_t)s->rows, (size_t)s->cg, (const float *)in[1]->data + gi * s->cg * s->rows,
                         (size_t)s->rows, true, s->wpacked + (size_t)gi * s->wpacked_group);
  } else {
    scratch += s->wpacked_group * (size_t)g->groups * sizeof(float);
  }
  k->scratch_bytes = scratch;
  c8_conv_set_output(g, out[0], CALIB8_FLOAT);
  return CALIB8_OK;
}

/* Adds cols [rows r0..r1, nc] (input positions [i0, i0+nc)) into the group's output channels. */
static void col2im(const convt_state *s, const float *cols, int64_t r0, int64_t r1, int64_t i0, int64_t nc,
                   float *yg) {
  const c8_conv_geom *g = &s->g;
  const int64_t kvol = c8_conv_k_size(g), ohw = c8_conv_out_size(g);
  const int64_t IH = g->in[1], IW = g->in[2], OD = g->out[0], OH = g->out[1], OW = g->out[2];
  for (int64_t r = r0; r < r1; r++) {
    const int64_t m = r / kvol, kk = r % kvol;
    const int64_t kz = kk / (g->k[1] * g->k[2]), ky = kk / g->k[2] % g->k[1], kx = kk % g->k[2];
    const float *cr = cols + (r - r0) * nc;
    float *ym = yg + m * ohw;
    int64_t iz = i0 / (IH * IW), iy = i0 / IW % IH, ix = i0 % IW;
    const int64_t sx = g->stride[2], xoff = kx * g->dil[2] - g->pad_begin[2];
    for (int64_t q = 0; q < nc;) {
      int64_t len = IW - ix < nc - q ? IW - ix : nc - q;
      int64_t oz = iz * g->stride[0] - g->pad_begin[0] + kz * g->dil[0];
      int64_t oy = iy * g->stride[1] - g->pad_begin[1] + ky * g->dil[1];
      if (oz >= 0 && oz < OD && oy >= 0 && oy < OH) {
        int64_t lo, hi;
        c8_conv_valid_range(len, sx, ix * sx + xoff, OW, &lo, &hi);
        /* index arithmetic: the row start may lie before the buffer for t < lo */
        const int64_t base = (oz * OH + oy) * OW + ix * sx + xoff;
        const float *c = cr + q;
        for (int64_t t = lo; t < hi; t++) ym[base + t * sx] += c[t];
      }
      q += len;
      ix = 0;
      if (++iy == IH) iy = 0, iz++;
    }
  }
}

/* The tiled case: output row iy*sy + ky of channel m is, for each ix and kx, bias + cols[(m, ky, kx)][iy, ix].
   Columns cover whole input rows [iy0, iy0 + nrows). */
static void tile_write(const convt_state *s, const float *cols, int64_t m0, int64_t m1, int64_t iy0, int64_t nrows,
                       const float *bias, float *yg) {
  const c8_conv_geom *g = &s->g;
  const int64_t KH = g->k[1], KW = g->k[2], IW = g->in[2], OW = g->out[2], ohw = c8_conv_out_size(g);
  const int64_t nc = nrows * IW;
  for (int64_t m = m0; m < m1; m++) {
    const float b = bias ? bias[m] : 0.0f;
    for (int64_t ky = 0; ky < KH; ky++)
      for (int64_t r = 0; r < nrows; r++) {
        float *o = yg + m * ohw + ((iy0 + r) * KH + ky) * OW;
        const float *c = cols + ((m - m0) * KH * KW + ky * KW) * nc + r * IW;
        if (KW == 2) {
          const float *c0 = c, *c1 = c + nc;
          for (int64_t ix = 0; ix < IW; ix++) {
            o[2 * ix] = b + c0[ix];
            o[2 * ix + 1] = b + c1[ix];
          }
        } else {
          for (int64_t kx = 0; kx < KW; kx++)
            for (int64_t ix = 0; ix < IW; ix++) o[ix * KW + kx] = b + c[kx * nc + ix];
        }
      }
  }
}

typedef struct convt_job {
  const convt_state *s;
  const float *x, *w, *bias;
  float *y;
  unsigned char *scratch;
} convt_job;

static void unit_range(void *vjob, int64_t u0, int64_t u1, int thread) {
  const convt_job *j = vjob;
  const convt_state *s = j->s;
  const c8_conv_geom *g = &s->g;
  const int64_t ihw = c8_conv_in_size(g), ohw = c8_conv_out_size(g), kvol = c8_conv_k_size(g);
  unsigned char *mine = j->scratch + (size_t)thread * (s->ws_bytes + s->cols_bytes);
  float *cols = (float *)(mine + s->ws_bytes);
  const float *wdyn = (const float *)(j->scratch + (size_t)s->threads * (s->ws_bytes + s->cols_bytes));
  for (int64_t u = u0; u < u1; u++) {
    const int64_t mi = u % s->m_tiles, gi = u / s->m_tiles % g->groups, n = u / s->m_tiles / g->groups;
    const int64_t m0 = mi * s->mt, m1 = m0 + s->mt < s->mg ? m0 + s->mt : s->mg;
    const float *wp = (s->wpacked ? s->wpacked : wdyn) + (size_t)gi * s->wpacked_group;
    const float *xg = j->x + (n * g->c + gi * s->cg) * ihw;
    float *yg = j->y + (n * g->m + gi * s->mg) * ohw;
    const float *bias = j->bias ? j->bias + gi * s->mg : NULL;
    if (!s->tiled)
      for (int64_t m = m0; m < m1; m++) {
        const float b = bias ? bias[m] : 0.0f;
        float *yc = yg + m * ohw;
        for (int64_t t = 0; t < ohw; t++) yc[t] = b;
      }
    for (int64_t i0 = 0; i0 < ihw; i0 += s->chunk) {
      const int64_t nc = ihw - i0 < s->chunk ? ihw - i0 : s->chunk;
      c8_f32_gemm_args a;
      c8_f32_gemm_args_init(&a);
      a.m = (size_t)((m1 - m0) * kvol), a.n = (size_t)nc, a.k = (size_t)s->cg;
      a.a_packed = wp + (size_t)(m0 * kvol) * (size_t)s->cg;
      a.b = xg + i0;
      a.ldb = (size_t)ihw;
      a.c = cols;
      a.ldc = (size_t)nc;
      c8_f32_gemm(s->cfg, &a, mine);
      if (s->tiled) tile_write(s, cols, m0, m1, i0 / g->in[2], nc / g->in[2], bias, yg);
      else col2im(s, cols, m0 * kvol, m1 * kvol, i0, nc, yg);
    }
  }
}

static c8_status convt_run(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out,
                           void *scratch) {
  (void)n_out;
  const convt_state *s = k->state;
  const c8_conv_geom *g = &s->g;
  convt_job j = {.s = s, .x = in[0]->data, .w = in[1]->data, .y = out[0]->data, .scratch = scratch};
  j.bias = n_in > 2 && in[2] ? in[2]->data : NULL;
  if (!s->wpacked) {
    float *wdyn = (float *)((unsigned char *)scratch + (size_t)s->threads * (s->ws_bytes + s->cols_bytes));
    for (int64_t gi = 0; gi < g->groups; gi++)
      c8_f32_gemm_pack_a(s->cfg, (size_t)s->rows, (size_t)s->cg, j.w + gi * s->cg * s->rows, (size_t)s->rows, true,
                         wdyn + (size_t)gi * s->wpacked_group);
  }
  const double work = (double)g->n * (double)g->c * (double)s->rows * (double)c8_conv_in_size(g) / (double)g->groups;
  c8_parallel_for(work < 262144.0 ? NULL : k->pool, g->n * g->groups * s->m_tiles, 1, unit_range, &j);
  return CALIB8_OK;
}

/* Every input element is scattered through W's C_out / group * kernel weights of its channel. */
static int64_t convt_macs(const c8_node *n, const c8_tensor *x, const c8_tensor *w, const c8_tensor *y) {
  (void)n, (void)y;
  return c8_numel(x) * (w->rank > 0 && w->dims[0] > 0 ? c8_numel(w) / w->dims[0] : 0);
}

/* Weights [C_in, C_out / group, kernel...]: output channels on axis 1, but quantized per tensor, which is what
   ONNX Runtime's integer kernels take. Bias correction does not handle this layout (mean_axis NONE). */
const c8_op_def c8_op_conv_transpose = {
    .name = "ConvTranspose", .domain = "", .prepare = convt_prepare, .run = convt_run, .destroy = convt_destroy,
    .qrole = C8_QROLE_COMPUTE, .values = C8_VALUES_COMPUTED, .batch = C8_BATCH_FIRST_AXIS, .fuse = C8_FUSE_NONE,
    .weight_axis = C8_AXIS_1, .weight_gran = C8_WGRAN_TENSOR, .mean_axis = C8_AXIS_NONE, .bias = C8_BIAS_INPUT2,
    .macs = convt_macs};
