/* Transpose (ONNX 1, 13), DepthToSpace (1, 11, 13) and SpaceToDepth (1, 13).
 * All three are a permutation of axes: the shape is simplified in prepare (size-1 axes dropped, axes that stay
 * adjacent merged) and run copies contiguous runs with memcpy, or walks tiles of the last two axes. */
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#include <xmmintrin.h>
#endif

#include "ops/op-shape-util.h"

typedef struct {
  int rank;                    /* after simplification */
  int64_t out_dims[C8_MAX_RANK];
  int64_t in_stride[C8_MAX_RANK]; /* input stride (elements) of each output axis */
  size_t esize;
  size_t total;                /* elements */
} transpose_plan;

/* Builds the simplified plan of out = permute(in, perm) where output axis i is input axis perm[i]. */
static void plan_transpose(transpose_plan *p, int rank, const int64_t *dims, const int *perm, size_t esize) {
  int64_t d[C8_MAX_RANK] = {0};
  int keep_map[C8_MAX_RANK], pr[C8_MAX_RANK];
  int r = 0;
  /* Drop size-1 axes: they do not move data. */
  for (int i = 0; i < rank; i++) keep_map[i] = dims[i] == 1 ? -1 : r++;
  for (int i = 0; i < rank; i++)
    if (keep_map[i] >= 0) d[keep_map[i]] = dims[i];
  int n = 0;
  for (int i = 0; i < rank; i++)
    if (keep_map[perm[i]] >= 0) pr[n++] = keep_map[perm[i]];
  /* Merge output axes i, i+1 that are adjacent input axes in the same order. */
  int64_t md[C8_MAX_RANK] = {0};
  int group_of[C8_MAX_RANK] = {0}; /* input axis -> merged group (valid for group leaders) */
  int mp[C8_MAX_RANK], m = 0;
  bool merged_into_prev[C8_MAX_RANK] = {false};
  for (int i = 1; i < n; i++)
    if (pr[i] == pr[i - 1] + 1) merged_into_prev[pr[i]] = true;
  /* Input axes in order form groups: a new group starts at every axis not merged into its predecessor. */
  int ng = 0;
  for (int a = 0; a < r; a++) {
    if (a == 0 || !merged_into_prev[a]) {
      md[ng] = d[a];
      group_of[a] = ng++;
    } else {
      md[ng - 1] *= d[a];
      group_of[a] = ng - 1;
    }
  }
  for (int i = 0; i < n; i++)
    if (i == 0 || pr[i] != pr[i - 1] + 1) mp[m++] = group_of[pr[i]];
  int64_t stride[C8_MAX_RANK] = {0};
  int64_t s = 1;
  for (int g = ng - 1; g >= 0; g--) {
    stride[g] = s;
    s *= md[g];
  }
  p->rank = m;
  p->esize = esize;
  p->total = 1;
  for (int i = 0; i < m; i++) {
    p->out_dims[i] = md[mp[i]];
    p->in_stride[i] = stride[mp[i]];
    p->total *= (size_t)p->out_dims[i];
  }
}

#define TILE 32

/* Tiled 2-D walk: out[y][x] = in[y*sy + x*sx], out rows of length nx. */
#define DEFINE_TILE2D(T)                                                                                         \
  static void tile2d_##T(const T *in, T *out, int64_t ny, int64_t nx, int64_t sy, int64_t sx) {                \
    for (int64_t y0 = 0; y0 < ny; y0 += TILE) {                                                                \
      int64_t y1 = y0 + TILE < ny ? y0 + TILE : ny;                                                            \
      for (int64_t x0 = 0; x0 < nx; x0 += TILE) {                                                              \
        int64_t x1 = x0 + TILE < nx ? x0 + TILE : nx;                                                          \
        for (int64_t y = y0; y < y1; y++) {                                                                    \
          const T *src = in + y * sy;                                                                          \
          T *dst = out + y * nx;                                                                               \
          for (int64_t x = x0; x < x1; x++) dst[x] = src[x * sx];                                              \
        }                                                                                                      \
      }                                                                                                        \
    }                                                                                                          \
  }
DEFINE_TILE2D(uint8_t)
DEFINE_TILE2D(uint16_t)
DEFINE_TILE2D(uint32_t)
DEFINE_TILE2D(uint64_t)

#ifdef __SSE2__
/* 4-byte elements with the output's row axis contiguous in the input (sy == 1), the usual NCHW <-> NHWC case:
 * 4x4 blocks are transposed in SSE registers so both the loads and the stores are vectors. */
static void tile2d_sse_f32(const float *in, float *out, int64_t ny, int64_t nx, int64_t sx) {
  /* Fewer input rows per tile when they are farther apart than the output rows (cache-set conflicts). */
  const int64_t TX = sx > nx ? 16 : 32, TY = 32;
  for (int64_t y0 = 0; y0 < ny; y0 += TY) {
    int64_t y1 = y0 + TY < ny ? y0 + TY : ny;
    int64_t y4 = y0 + (y1 - y0) / 4 * 4;
    for (int64_t x0 = 0; x0 < nx; x0 += TX) {
      int64_t x1 = x0 + TX < nx ? x0 + TX : nx;
      int64_t x4 = x0 + (x1 - x0) / 4 * 4;
      for (int64_t y = y0; y < y4; y += 4) {
        int64_t x = x0;
        for (; x < x4; x += 4) {
          __m128 r0 = _mm_loadu_ps(in + (x + 0) * sx + y);
          __m128 r1 = _mm_loadu_ps(in + (x + 1) * sx + y);
          __m128 r2 = _mm_loadu_ps(in + (x + 2) * sx + y);
          __m128 r3 = _mm_loadu_ps(in + (x + 3) * sx + y);
          _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
          _mm_storeu_ps(out + (y + 0) * nx + x, r0);
          _mm_storeu_ps(out + (y + 1) * nx + x, r1);
          _mm_storeu_ps(out + (y + 2) * nx + x, r2);
          _mm_storeu_ps(out + (y + 3) * nx + x, r3);
        }
        for (; x < x1; x++)
          for (int64_t j = 0; j < 4; j++) out[(y + j) * nx + x] = in[x * sx + y + j];
      }
      for (int64_t y = y4; y < y1; y++)
        for (int64_t x = x0; x < x1; x++) out[y * nx + x] = in[x * sx + y];
    }
  }
}
#endif

static void tile2d(const void *in, void *out, size_t esize, int64_t ny, int64_t nx, int64_t sy, int64_t sx) {
  switch (esize) {
    case 1: tile2d_uint8_t(in, out, ny, nx, sy, sx); break;
    case 2: tile2d_uint16_t(in, out, ny, nx, sy, sx); break;
    case 4:
#ifdef __SSE2__
      if (sy == 1) {
        tile2d_sse_f32(in, out, ny, nx, sx);
        break;
      }
#endif
      tile2d_uint32_t(in, out, ny, nx, sy, sx);
      break;
    default: tile2d_uint64_t(in, out, ny, nx, sy, sx); break;
  }
}

static void run_transpose(const transpose_plan *p, const void *in, void *out) {
  const char *src = in;
  char *dst = out;
  size_t es = p->esize;
  int r = p->rank;
  if (p->total == 0) return;
  if (r <= 1 || p->in_stride[r - 1] == 1) {
    /* The innermost output axis is contiguous in the input: copy runs. */
    size_t run = (r ? (size_t)p->out_dims[r - 1] : 1) * es;
    int outer = r - 1;
    int64_t idx[C8_MAX_RANK] = {0};
    size_t nruns = p->total / (run / es);
    int64_t off = 0;
    for (size_t k = 0; k < nruns; k++) {
      memcpy(dst, src + off * (int64_t)es, run);
      dst += run;
      for (int a = outer - 1; a >= 0; a--) {
        off += p->in_stride[a];
        if (++idx[a] < p->out_dims[a]) break;
        off -= p->in_stride[a] * p->out_dims[a];
        idx[a] = 0;
      }
    }
    return;
  }
  /* The last two output axes are walked in tiles; the others by an odometer. */
  int64_t ny = r >= 2 ? p->out_dims[r - 2] : 1, nx = p->out_dims[r - 1];
  int64_t sy = r >= 2 ? p->in_stride[r - 2] : 0, sx = p->in_stride[r - 1];
  int outer = r - 2;
  size_t plane = (size_t)(ny * nx);
  size_t nplanes = p->total / plane;
  int64_t idx[C8_MAX_RANK] = {0};
  int64_t off = 0;
  for (size_t k = 0; k < nplanes; k++) {
    tile2d(src + off * (int64_t)es, dst, es, ny, nx, sy, sx);
    dst += plane * es;
    for (int a = outer - 1; a >= 0; a--) {
      off += p->in_stride[a];
      if (++idx[a] < p->out_dims[a]) break;
      off -= p->in_stride[a] * p->out_dims[a];
      idx[a] = 0;
    }
  }
}

static c8_status permute_run(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out,
                             void *scratch) {
  (void)n_in, (void)n_out, (void)scratch;
  run_transpose(k->state, in[0]->data, out[0]->data);
  return CALIB8_OK;
}

static c8_status make_plan(c8_kernel *k, int rank, const int64_t *dims, const int *perm, size_t esize) {
  transpose_plan *p = c8_malloc(sizeof *p);
  if (!p) return c8_node_error(k->node, CALIB8_OUT_OF_MEMORY, "out of memory");
  plan_transpose(p, rank, dims, perm, esize);
  k->state = p;
  return CALIB8_OK;
}

/* ---- Transpose ---- */

static c8_status transpose_prepare(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out,
                                   int n_out) {
  const c8_node *node = k->node;
  c8_status st = c8_check_inputs(node, n_in, 1, 1);
  if (st) return st;
  if (!in[0]) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "input 0 is missing");
  if (n_out != 1 || !out[0]) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "needs exactly one output");
  const c8_tensor *x = in[0];
  size_t es = 0;
  if ((st = c8_movable_dtype(node, x, 0, &es))) return st;
  int perm[C8_MAX_RANK];
  int np;
  const int64_t *pa = c8_attr_ints(node, "perm", &np);
  if (!c8_node_attr(node, "perm")) {
    for (int i = 0; i < x->rank; i++) perm[i] = x->rank - 1 - i;
  } else {
    if (np != x->rank)
      return c8_node_error(node, CALIB8_MALFORMED_MODEL, "perm has %d values but the input %s has rank %d", np,
                           C8_SHAPE_STR(x), x->rank);
    bool seen[C8_MAX_RANK] = {false};
    for (int i = 0; i < np; i++) {
      int64_t a = pa[i];
      if (a < 0) a += x->rank; /* tolerated by ONNX Runtime; the spec lists non-negative axes */
      if (a < 0 || a >= x->rank || seen[a])
        return c8_node_error(node, CALIB8_MALFORMED_MODEL, "perm is not a permutation of 0..%d (value %lld at %d)",
                             x->rank - 1, (long long)pa[i], i);
      seen[a] = true;
      perm[i] = (int)a;
    }
  }
  c8_tensor *o = out[0];
  o->dtype = x->dtype;
  o->rank = x->rank;
  for (int i = 0; i < x->rank; i++) o->dims[i] = x->dims[perm[i]];
  return make_plan(k, x->rank, x->dims, perm, es);
}

const c8_op_def c8_op_transpose = {
    .name = "Transpose", .domain = "", .prepare = transpose_prepare, .run = permute_run,
    .qrole = C8_QROLE_SHARES_SCALE, .values = C8_VALUES_MOVED, .batch = C8_BATCH_ANY_AXIS, .fuse = C8_FUSE_NONE};

/* ---- DepthToSpace / SpaceToDepth: reshape to 6-D, permute, reshape back. ---- */

static c8_status d2s_common(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out,
                            int64_t *bs, size_t *es) {
  const c8_node *node = k->node;
  c8_status st = c8_check_inputs(node, n_in, 1, 1);
  if (st) return st;
  if (!in[0]) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "input 0 is missing");
  if (n_out != 1 || !out[0]) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "needs exactly one output");
  if ((st = c8_movable_dtype(node, in[0], 0, es))) return st;
  if (in[0]->rank != 4)
    return c8_node_error(node, CALIB8_MALFORMED_MODEL, "input %s must have rank 4 (NCHW)", C8_SHAPE_STR(in[0]));
  const c8_attr *a = c8_node_attr(node, "blocksize");
  if (!a) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "attribute 'blocksize' is required");
  *bs = a->i;
  if (*bs < 1) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "blocksize %lld must be >= 1", (long long)*bs);
  return CALIB8_OK;
}

static c8_status d2s_prepare(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out) {
  int64_t bs = 1;
  size_t es = 0;
  c8_status st = d2s_common(k, in, n_in, out, n_out, &bs, &es);
  if (st) return st;
  const c8_tensor *x = in[0];
  int64_t n = x->dims[0], c = x->dims[1], h = x->dims[2], w = x->dims[3];
  if (c % (bs * bs) != 0)
    return c8_node_error(k->node, CALIB8_INVALID_ARGUMENT, "%lld channels are not divisible by blocksize^2 = %lld",
                         (long long)c, (long long)(bs * bs));
  const char *mode = c8_attr_string(k->node, "mode", "DCR");
  int64_t c2 = c / (bs * bs);
  int64_t dims[6];
  int perm[6];
  if (strcmp(mode, "DCR") == 0) {
    int64_t d[6] = {n, bs, bs, c2, h, w};
    int p[6] = {0, 3, 4, 1, 5, 2};
    memcpy(dims, d, sizeof d);
    memcpy(perm, p, sizeof p);
  } else if (strcmp(mode, "CRD") == 0) {
    int64_t d[6] = {n, c2, bs, bs, h, w};
    int p[6] = {0, 1, 4, 2, 5, 3};
    memcpy(dims, d, sizeof d);
    memcpy(perm, p, sizeof p);
  } else {
    return c8_node_error(k->node, CALIB8_MALFORMED_MODEL, "mode '%s' is not DCR or CRD", mode);
  }
  c8_tensor *o = out[0];
  o->dtype = x->dtype;
  o->rank = 4;
  o->dims[0] = n;
  o->dims[1] = c2;
  o->dims[2] = h * bs;
  o->dims[3] = w * bs;
  return make_plan(k, 6, dims, perm, es);
}

const c8_op_def c8_op_depthtospace = {
    .name = "DepthToSpace", .domain = "", .prepare = d2s_prepare, .run = permute_run,
    .qrole = C8_QROLE_NONE, .values = C8_VALUES_COMPUTED, .batch = C8_BATCH_FIRST_AXIS, .fuse = C8_FUSE_NONE};

static c8_status s2d_prepare(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out) {
  int64_t bs = 1;
  size_t es = 0;
  c8_status st = d2s_common(k, in, n_in, out, n_out, &bs, &es);
  if (st) return st;
  const c8_tensor *x = in[0];
  int64_t n = x->dims[0], c = x->dims[1], h = x->dims[2], w = x->dims[3];
  if (h % bs != 0 || w % bs != 0)
    return c8_node_error(k->node, CALIB8_INVALID_ARGUMENT, "spatial size %lldx%lld is not divisible by blocksize %lld",
                         (long long)h, (long long)w, (long long)bs);
  int64_t dims[6] = {n, c, h / bs, bs, w / bs, bs};
  int perm[6] = {0, 3, 5, 1, 2, 4};
  c8_tensor *o = out[0];
  o->dtype = x->dtype;
  o->rank = 4;
  o->dims[0] = n;
  o->dims[1] = c * bs * bs;
  o->dims[2] = h / bs;
  o->dims[3] = w / bs;
  return make_plan(k, 6, dims, perm, es);
}

const c8_op_def c8_op_spacetodepth = {
    .name = "SpaceToDepth", .domain = "", .prepare = s2d_prepare, .run = permute_run,
    .qrole = C8_QROLE_NONE, .values = C8_VALUES_COMPUTED, .batch = C8_BATCH_FIRST_AXIS, .fuse = C8_FUSE_NONE};
