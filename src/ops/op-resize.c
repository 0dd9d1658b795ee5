/* Resize (ONNX 10, 11, 13, 18, 19) and Upsample (7, 9).
 *
 * Coordinates follow the ONNX reference implementation (onnx/backend/test/case/node/resize.py):
 * x_original is computed in double from the scale (given, or output/input when sizes are given), "length_resized"
 * is scale * length_original, samples outside the input are clamped (edge padding), exclude_outside drops them and
 * renormalizes the weights, and tf_crop_and_resize returns extrapolation_value for coordinates outside the input.
 * Upsample and Resize-10 use asymmetric coordinates and, for nearest, ONNX Runtime's legacy rounding
 * (floor when upsampling, ceil when downsampling).
 *
 * prepare builds, for every axis, a table of input offsets and weights per output index (1 tap for nearest,
 * 2 for linear, 4 for cubic; 1 for axes the resize leaves unchanged). run walks output rows: the taps of the
 * outer axes are combined once per row, the last axis runs a tight loop over its table. Nearest copies elements
 * by size (any dtype) and reuses the previous output row when two rows read the same input row. */
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ops/op-shape-util.h"

enum { MODE_NEAREST, MODE_LINEAR, MODE_CUBIC };
enum { CT_HALF_PIXEL, CT_HALF_PIXEL_SYMMETRIC, CT_PYTORCH_HALF_PIXEL, CT_ALIGN_CORNERS, CT_ASYMMETRIC, CT_TF_HALF_PIXEL_NN, CT_TF_CROP };
enum { NM_ROUND_PREFER_FLOOR, NM_ROUND_PREFER_CEIL, NM_FLOOR, NM_CEIL, NM_LEGACY };

typedef struct {
  int rank, mode;
  size_t es;
  int64_t in_dims[C8_MAX_RANK], out_dims[C8_MAX_RANK];
  int ntaps[C8_MAX_RANK];           /* taps per output index of each axis */
  int64_t *idx[C8_MAX_RANK];        /* out_dims[d] * ntaps[d] input offsets (index * stride, in elements) */
  float *w[C8_MAX_RANK];            /* matching weights (linear and cubic) */
  unsigned char *outside[C8_MAX_RANK]; /* tf_crop_and_resize: 1 where the output index extrapolates; else NULL */
  bool identity[C8_MAX_RANK];
  unsigned char extrap[8];          /* extrapolation_value in the data type */
  float extrap_f;
  size_t max_combos;                /* taps combinations of the outer axes (scratch entries) */
  bool separable;                   /* only the last two axes resize, nothing extrapolates: 2-pass path */
  bool empty;
} resize_state;

static void resize_destroy(void *p) {
  resize_state *s = p;
  if (!s) return;
  for (int d = 0; d < C8_MAX_RANK; d++) {
    c8_mfree(s->idx[d]);
    c8_mfree(s->w[d]);
    c8_mfree(s->outside[d]);
  }
  c8_mfree(s);
}

typedef struct {
  int ct, mode, nearest_mode;
  double cubic_a;
  bool exclude_outside;
} resize_params;

static double cubic_weight(double x, double a) {
  /* Keys cubic convolution kernel with parameter a, for |x| in [0, 2). */
  x = fabs(x);
  if (x <= 1) return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2) return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
  return 0;
}

static int64_t nearest_index(int nm, double x, bool downsample) {
  double f = floor(x);
  switch (nm) {
    case NM_ROUND_PREFER_FLOOR: return (int64_t)(x - f <= 0.5 ? f : f + 1);
    case NM_ROUND_PREFER_CEIL: return (int64_t)(x - f < 0.5 ? f : f + 1);
    case NM_FLOOR: return (int64_t)f;
    case NM_CEIL: return (int64_t)ceil(x);
    default: return (int64_t)(downsample ? ceil(x) : f);
  }
}

/* Builds the table of axis d. scale: output/input ratio used by the coordinate transform; out_w: the
 * "length_resized" of the coordinate formulas; roi0/roi1: the crop box of tf_crop_and_resize. */
static c8_status build_axis(const c8_node *node, resize_state *s, const resize_params *p, int d, double scale,
                            double out_w, double roi0, double roi1, int64_t stride) {
  int64_t in = s->in_dims[d], out = s->out_dims[d];
  int nt = p->mode == MODE_NEAREST ? 1 : p->mode == MODE_LINEAR ? 2 : 4;
  size_t n = (size_t)(out ? out : 1) * (size_t)nt;
  s->ntaps[d] = nt;
  s->idx[d] = c8_malloc(sizeof(int64_t) * n);
  s->w[d] = c8_malloc(sizeof(float) * n);
  if (p->ct == CT_TF_CROP) s->outside[d] = c8_calloc((size_t)(out ? out : 1), 1);
  if (!s->idx[d] || !s->w[d] || (p->ct == CT_TF_CROP && !s->outside[d]))
    return c8_node_error(node, CALIB8_OUT_OF_MEMORY, "out of memory");
  bool identity = in == out;
  bool any_outside = false;
  for (int64_t x = 0; x < out; x++) {
    double xo;
    switch (p->ct) {
      case CT_HALF_PIXEL: xo = (x + 0.5) / scale - 0.5; break;
      case CT_HALF_PIXEL_SYMMETRIC: {
        double adj = (double)out / (scale * (double)in), center = (double)in / 2;
        xo = center * (1 - adj) + (x + 0.5) / scale - 0.5;
        break;
      }
      case CT_PYTORCH_HALF_PIXEL: xo = out_w == 1 ? -0.5 : (x + 0.5) / scale - 0.5; break;
      case CT_ALIGN_CORNERS: xo = out_w == 1 ? 0 : (double)x * (double)(in - 1) / (out_w - 1); break;
      case CT_ASYMMETRIC: xo = x / scale; break;
      case CT_TF_HALF_PIXEL_NN: xo = (x + 0.5) / scale; break;
      default:
        xo = out_w == 1 ? (roi1 - roi0) * (double)(in - 1) / 2 : (double)x * (roi1 - roi0) * (double)(in - 1) / (out_w - 1);
        xo += roi0 * (double)(in - 1);
        if (xo < 0 || xo > (double)(in - 1)) {
          s->outside[d][x] = 1;
          any_outside = true;
          identity = false;
        }
        break;
    }
    /* Keep the coordinate in a range where floor/casts are defined; far-out samples clamp anyway. */
    if (!(xo > -1e9)) xo = -1e9;
    if (xo > 1e9) xo = 1e9;
    int64_t *ix = s->idx[d] + x * nt;
    float *wx = s->w[d] + x * nt;
    if (p->mode == MODE_NEAREST) {
      int64_t i = nearest_index(p->nearest_mode, xo, scale < 1);
      i = i < 0 ? 0 : i >= in ? in - 1 : i;
      ix[0] = i * stride;
      wx[0] = 1;
      if (i != x) identity = false;
      continue;
    }
    double f = floor(xo), r = xo - f;
    int64_t first = (int64_t)f - (nt == 4 ? 1 : 0);
    double wt[4], sum = 0;
    for (int t = 0; t < nt; t++) {
      wt[t] = nt == 2 ? (t == 0 ? 1 - r : r) : cubic_weight(r - (t - 1), p->cubic_a);
      int64_t raw = first + t;
      if (p->exclude_outside && (raw < 0 || raw >= in)) wt[t] = 0;
      sum += wt[t];
    }
    for (int t = 0; t < nt; t++) {
      int64_t raw = first + t;
      int64_t i = raw < 0 ? 0 : raw >= in ? in - 1 : raw;
      ix[t] = i * stride;
      wx[t] = (float)(p->exclude_outside && sum != 0 ? wt[t] / sum : wt[t]);
      if (wx[t] != 0 && !(i == x && wx[t] == 1)) identity = false;
    }
  }
  if (!any_outside) {
    c8_mfree(s->outside[d]);
    s->outside[d] = NULL;
  }
  s->identity[d] = identity;
  if (identity && nt > 1) {
    /* Keep one tap: the axis is copied as is. */
    for (int64_t x = 0; x < out; x++) {
      s->idx[d][x] = x * stride;
      s->w[d][x] = 1;
    }
    s->ntaps[d] = 1;
  }
  return CALIB8_OK;
}

static c8_status read_floats(const c8_node *node, const c8_tensor *t, int index, const char *what, double *v,
                             int max, int *n) {
  c8_status st = c8_check_const(node, t, index);
  if (st) return st;
  if (t->dtype != CALIB8_FLOAT && t->dtype != CALIB8_DOUBLE)
    return c8_node_error(node, CALIB8_UNSUPPORTED, "input %d (%s) is %s, expected float", index, what,
                         calib8_dtype_name(t->dtype));
  int64_t cnt = c8_numel(t);
  if (cnt > max)
    return c8_node_error(node, CALIB8_MALFORMED_MODEL, "input %d (%s) has %lld values, more than %d", index, what,
                         (long long)cnt, max);
  for (int64_t i = 0; i < cnt; i++) v[i] = t->dtype == CALIB8_FLOAT ? (double)((const float *)t->data)[i] : ((const double *)t->data)[i];
  *n = (int)cnt;
  return CALIB8_OK;
}

static c8_status resize_prepare(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out) {
  const c8_node *node = k->node;
  bool upsample = strcmp(node->op_type, "Upsample") == 0;
  bool legacy = upsample || k->opset < 11;
  c8_status st;
  if (upsample) st = c8_check_inputs(node, n_in, k->opset < 9 ? 1 : 2, k->opset < 9 ? 1 : 2);
  else st = c8_check_inputs(node, n_in, legacy ? 2 : 1, legacy ? 2 : 4);
  if (st) return st;
  if (!in[0]) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "input 0 (X) is missing");
  if (n_out != 1 || !out[0]) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "needs exactly one output");
  const c8_tensor *x = in[0];
  int r = x->rank;
  size_t es = 0;
  if ((st = c8_movable_dtype(node, x, 0, &es))) return st;
  if (es > 8) return c8_node_error(node, CALIB8_UNSUPPORTED, "type %s is not supported", calib8_dtype_name(x->dtype));
  if (r < 1) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "input X must have rank >= 1");

  resize_params p = {.ct = CT_HALF_PIXEL, .mode = MODE_NEAREST, .nearest_mode = NM_ROUND_PREFER_FLOOR,
                     .cubic_a = c8_attr_float(node, "cubic_coeff_a", -0.75f),
                     .exclude_outside = c8_attr_int(node, "exclude_outside", 0) != 0};
  const char *mode = c8_attr_string(node, "mode", "nearest");
  if (strcmp(mode, "nearest") == 0) p.mode = MODE_NEAREST;
  else if (strcmp(mode, "linear") == 0 || (legacy && strcmp(mode, "bilinear") == 0)) p.mode = MODE_LINEAR;
  else if (strcmp(mode, "cubic") == 0 && !legacy) p.mode = MODE_CUBIC;
  else return c8_node_error(node, CALIB8_UNSUPPORTED, "mode '%s' is not supported (nearest, linear, cubic)", mode);
  if (p.mode != MODE_NEAREST && x->dtype != CALIB8_FLOAT)
    return c8_node_error(node, CALIB8_UNSUPPORTED, "%s mode needs float32 data, the input is %s", mode,
                         calib8_dtype_name(x->dtype));
  if (legacy) {
    p.ct = CT_ASYMMETRIC;
    p.nearest_mode = NM_LEGACY;
  } else {
    const char *ct = c8_attr_string(node, "coordinate_transformation_mode", "half_pixel");
    if (strcmp(ct, "half_pixel") == 0) p.ct = CT_HALF_PIXEL;
    else if (strcmp(ct, "half_pixel_symmetric") == 0) p.ct = CT_HALF_PIXEL_SYMMETRIC;
    else if (strcmp(ct, "pytorch_half_pixel") == 0) p.ct = CT_PYTORCH_HALF_PIXEL;
    else if (strcmp(ct, "align_corners") == 0) p.ct = CT_ALIGN_CORNERS;
    else if (strcmp(ct, "asymmetric") == 0) p.ct = CT_ASYMMETRIC;
    else if (strcmp(ct, "tf_half_pixel_for_nn") == 0 || strcmp(ct, "tf_half_pixel_for_nearest") == 0) p.ct = CT_TF_HALF_PIXEL_NN;
    else if (strcmp(ct, "tf_crop_and_resize") == 0) p.ct = CT_TF_CROP;
    else return c8_node_error(node, CALIB8_UNSUPPORTED, "coordinate_transformation_mode '%s' is not supported", ct);
    const char *nm = c8_attr_string(node, "nearest_mode", "round_prefer_floor");
    if (strcmp(nm, "round_prefer_floor") == 0) p.nearest_mode = NM_ROUND_PREFER_FLOOR;
    else if (strcmp(nm, "round_prefer_ceil") == 0) p.nearest_mode = NM_ROUND_PREFER_CEIL;
    else if (strcmp(nm, "floor") == 0) p.nearest_mode = NM_FLOOR;
    else if (strcmp(nm, "ceil") == 0) p.nearest_mode = NM_CEIL;
    else return c8_node_error(node, CALIB8_UNSUPPORTED, "nearest_mode '%s' is not supported", nm);
  }

  /* Axes the scales/sizes/roi refer to (opset 18 'axes'; all axes before). */
  int axes[C8_MAX_RANK], na = r;
  for (int i = 0; i < r; i++) axes[i] = i;
  if (!legacy && k->opset >= 18 && c8_node_attr(node, "axes")) {
    int n;
    const int64_t *v = c8_attr_ints(node, "axes", &n);
    if (n > r) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "axes has %d values for rank %d", n, r);
    bool seen[C8_MAX_RANK] = {false};
    for (int i = 0; i < n; i++) {
      if ((st = c8_norm_axis(node, v[i], r, &axes[i]))) return st;
      if (seen[axes[i]]) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "axis %d is listed twice", axes[i]);
      seen[axes[i]] = true;
    }
    na = n;
  }

  double scales[C8_MAX_RANK], roi[2 * C8_MAX_RANK];
  int64_t sizes[C8_MAX_RANK];
  int nsc = 0, nsz = 0, nroi = 0;
  if (upsample && k->opset < 9) {
    const float *v = c8_attr_floats(node, "scales", &nsc);
    if (!v) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "attribute 'scales' is required");
    if (nsc > C8_MAX_RANK) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "scales has %d values for rank %d", nsc, r);
    for (int i = 0; i < nsc; i++) scales[i] = v[i];
  } else if (legacy) {
    if (!in[1]) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "input 1 (scales) is required");
    if ((st = read_floats(node, in[1], 1, "scales", scales, C8_MAX_RANK, &nsc))) return st;
  } else {
    if (n_in >= 3 && in[2] && (st = read_floats(node, in[2], 2, "scales", scales, C8_MAX_RANK, &nsc))) return st;
    if (n_in >= 4 && in[3] && (st = c8_read_int_input(node, in[3], 3, "sizes", sizes, C8_MAX_RANK, &nsz))) return st;
    if (p.ct == CT_TF_CROP && n_in >= 2 && in[1] &&
        (st = read_floats(node, in[1], 1, "roi", roi, 2 * C8_MAX_RANK, &nroi)))
      return st;
  }
  if (nsc && nsz) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "only one of scales and sizes may be given");
  if (!nsc && !nsz) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "one of scales and sizes is required");
  if (nsc && nsc != na)
    return c8_node_error(node, CALIB8_MALFORMED_MODEL, "scales has %d values, expected %d", nsc, na);
  if (nsz && nsz != na)
    return c8_node_error(node, CALIB8_MALFORMED_MODEL, "sizes has %d values, expected %d", nsz, na);
  if (p.ct == CT_TF_CROP && nroi != 2 * na)
    return c8_node_error(node, CALIB8_MALFORMED_MODEL, "tf_crop_and_resize needs roi with %d values, it has %d",
                         2 * na, nroi);

  resize_state *s = c8_calloc(1, sizeof *s);
  if (!s) return c8_node_error(node, CALIB8_OUT_OF_MEMORY, "out of memory");
  k->state = s;
  s->rank = r;
  s->mode = p.mode;
  s->es = es;
  s->extrap_f = c8_attr_float(node, "extrapolation_value", 0.0f);
  c8_tensor et = {.dtype = x->dtype, .rank = 0, .data = s->extrap};
  c8_set_f64(&et, 0, s->extrap_f);

  double scale[C8_MAX_RANK], out_w[C8_MAX_RANK], roi0[C8_MAX_RANK], roi1[C8_MAX_RANK];
  for (int d = 0; d < r; d++) {
    s->in_dims[d] = s->out_dims[d] = x->dims[d];
    scale[d] = 1;
    out_w[d] = (double)x->dims[d];
    roi0[d] = 0;
    roi1[d] = 1;
  }
  const char *policy = k->opset >= 18 && !legacy ? c8_attr_string(node, "keep_aspect_ratio_policy", "stretch") : "stretch";
  bool keep_min = strcmp(policy, "not_larger") == 0, keep_max = strcmp(policy, "not_smaller") == 0;
  if (!keep_min && !keep_max && strcmp(policy, "stretch") != 0)
    return c8_node_error(node, CALIB8_UNSUPPORTED, "keep_aspect_ratio_policy '%s' is not supported", policy);
  double policy_scale = keep_min ? INFINITY : 0;
  for (int i = 0; i < na && nsz; i++) {
    int a = axes[i];
    if (sizes[i] < 0)
      return c8_node_error(node, CALIB8_MALFORMED_MODEL, "sizes[%d] is %lld, must be >= 0", i, (long long)sizes[i]);
    if (x->dims[a] == 0 && sizes[i] > 0)
      return c8_node_error(node, CALIB8_INVALID_ARGUMENT, "axis %d is empty and cannot be resized to %lld", a,
                           (long long)sizes[i]);
    double q = x->dims[a] ? (double)sizes[i] / (double)x->dims[a] : 1;
    if (keep_min && q < policy_scale) policy_scale = q;
    if (keep_max && q > policy_scale) policy_scale = q;
  }
  for (int i = 0; i < na; i++) {
    int a = axes[i];
    int64_t ind = x->dims[a];
    if (nsc) {
      if (!(scales[i] > 0) || !isfinite(scales[i]))
        return c8_node_error(node, CALIB8_MALFORMED_MODEL, "scales[%d] is %g, must be > 0", i, scales[i]);
      scale[a] = scales[i];
      out_w[a] = scales[i] * (double)ind;
      s->out_dims[a] = (int64_t)floor(out_w[a]);
    } else if (keep_min || keep_max) {
      scale[a] = policy_scale;
      s->out_dims[a] = (int64_t)floor(policy_scale * (double)ind + 0.5);
      out_w[a] = (double)s->out_dims[a];
    } else {
      s->out_dims[a] = sizes[i];
      scale[a] = ind ? (double)sizes[i] / (double)ind : 1;
      out_w[a] = (double)sizes[i];
    }
    if (nroi) {
      roi0[a] = roi[i];
      roi1[a] = roi[na + i];
    }
    if (s->out_dims[a] > 0 && ind == 0)
      return c8_node_error(node, CALIB8_INVALID_ARGUMENT, "axis %d is empty and cannot be resized", a);
  }
  if (k->opset >= 18 && !legacy && c8_attr_int(node, "antialias", 0) != 0 && p.mode != MODE_NEAREST)
    for (int d = 0; d < r; d++)
      if (scale[d] < 1)
        return c8_node_error(node, CALIB8_UNSUPPORTED, "antialias=1 when downsampling is not supported");

  c8_tensor *o = out[0];
  o->dtype = x->dtype;
  o->rank = r;
  int64_t stride = 1;
  for (int d = r - 1; d >= 0; d--) {
    o->dims[d] = s->out_dims[d];
    if (s->out_dims[d] == 0) s->empty = true;
    if ((st = build_axis(node, s, &p, d, scale[d], out_w[d], roi0[d], roi1[d], stride))) return st;
    stride *= x->dims[d];
  }
  if (p.mode != MODE_NEAREST) {
    size_t combos = 1;
    for (int d = 0; d < r - 1; d++) combos *= (size_t)s->ntaps[d];
    s->max_combos = combos;
    k->scratch_bytes = combos * (sizeof(int64_t) + sizeof(float));
    s->separable = r >= 2;
    for (int d = 0; d < r; d++)
      if (s->outside[d] || (d < r - 2 && s->ntaps[d] != 1)) s->separable = false;
    if (s->separable) {
      /* One horizontally resized input row per vertical tap. */
      size_t b = (size_t)s->ntaps[r - 2] * (size_t)s->out_dims[r - 1] * sizeof(float);
      if (b > k->scratch_bytes) k->scratch_bytes = b;
    }
  }
  return CALIB8_OK;
}

/* Nearest row gather for one element size. */
#define DEFINE_GATHER_ROW(T)                                                                                    \
  static void gather_row_##T(T *dst, const T *src, const int64_t *ix, int64_t n) {                            \
    for (int64_t x = 0; x < n; x++) dst[x] = src[ix[x]];                                                      \
  }
DEFINE_GATHER_ROW(uint8_t)
DEFINE_GATHER_ROW(uint16_t)
DEFINE_GATHER_ROW(uint32_t)
DEFINE_GATHER_ROW(uint64_t)

static void gather_row(void *dst, const void *src, const int64_t *ix, int64_t n, size_t es) {
  switch (es) {
    case 1: gather_row_uint8_t(dst, src, ix, n); break;
    case 2: gather_row_uint16_t(dst, src, ix, n); break;
    case 4: gather_row_uint32_t(dst, src, ix, n); break;
    default: gather_row_uint64_t(dst, src, ix, n); break;
  }
}

static void fill_row(char *dst, int64_t n, const unsigned char *v, size_t es) {
  for (int64_t x = 0; x < n; x++) c8_copy_elem(dst + (size_t)x * es, v, es);
}

static c8_status run_nearest(const resize_state *s, const c8_tensor *in, c8_tensor *out) {
  int last = s->rank - 1;
  size_t es = s->es;
  int64_t W = s->out_dims[last];
  size_t row_bytes = (size_t)W * es;
  int64_t rows = c8_numel(out) / W;
  const char *src = in->data;
  char *dst = out->data;
  const int64_t *ix = s->idx[last];
  const unsigned char *ox = s->outside[last];
  int64_t idx[C8_MAX_RANK] = {0};
  int64_t prev = -1;
  for (int64_t row = 0; row < rows; row++, dst += row_bytes) {
    int64_t off = 0;
    bool outside = false;
    for (int d = 0; d < last; d++) {
      off += s->idx[d][idx[d]];
      if (s->outside[d] && s->outside[d][idx[d]]) outside = true;
    }
    if (outside) {
      fill_row(dst, W, s->extrap, es);
      prev = -1;
    } else if (off == prev) {
      memcpy(dst, dst - row_bytes, row_bytes);
    } else {
      if (s->identity[last]) memcpy(dst, src + (size_t)off * es, row_bytes);
      else gather_row(dst, src + (size_t)off * es, ix, W, es);
      if (ox)
        for (int64_t x = 0; x < W; x++)
          if (ox[x]) c8_copy_elem(dst + (size_t)x * es, s->extrap, es);
      prev = off;
    }
    for (int d = last - 1; d >= 0; d--) {
      if (++idx[d] < s->out_dims[d]) break;
      idx[d] = 0;
    }
  }
  return CALIB8_OK;
}

static c8_status run_interp(const resize_state *s, const c8_tensor *in, c8_tensor *out, void *scratch) {
  int last = s->rank - 1;
  int64_t W = s->out_dims[last];
  int64_t rows = c8_numel(out) / W;
  const float *src = in->data;
  float *dst = out->data;
  int64_t *coff = scratch;
  float *cw = (float *)(coff + s->max_combos);
  const int64_t *ix = s->idx[last];
  const float *wx = s->w[last];
  const unsigned char *ox = s->outside[last];
  int nt = s->ntaps[last];
  int64_t idx[C8_MAX_RANK] = {0};
  for (int64_t row = 0; row < rows; row++, dst += W) {
    /* Combine the taps of the outer axes for this row, skipping zero weights. */
    size_t nc = 1;
    coff[0] = 0;
    cw[0] = 1;
    bool outside = false;
    for (int d = 0; d < last; d++) {
      int t = s->ntaps[d];
      const int64_t *id = s->idx[d] + idx[d] * t;
      const float *wd = s->w[d] + idx[d] * t;
      if (s->outside[d] && s->outside[d][idx[d]]) outside = true;
      if (t == 1) {
        for (size_t c = 0; c < nc; c++) coff[c] += id[0], cw[c] *= wd[0];
        continue;
      }
      size_t m = 0;
      for (size_t c = 0; c < nc; c++)
        for (int j = 0; j < t; j++)
          if (wd[j] != 0) m++;
      /* Expand in place from the back so unread entries are not overwritten. */
      size_t wpos = m;
      for (size_t c = nc; c-- > 0;) {
        int64_t o0 = coff[c];
        float w0 = cw[c];
        for (int j = t; j-- > 0;)
          if (wd[j] != 0) {
            wpos--;
            coff[wpos] = o0 + id[j];
            cw[wpos] = w0 * wd[j];
          }
      }
      nc = m;
    }
    if (outside) {
      for (int64_t x = 0; x < W; x++) dst[x] = s->extrap_f;
    } else if (nt == 1) {
      for (int64_t x = 0; x < W; x++) {
        float acc = 0;
        for (size_t c = 0; c < nc; c++) acc += cw[c] * src[coff[c] + ix[x]];
        dst[x] = acc;
      }
    } else if (nt == 2) {
      for (int64_t x = 0; x < W; x++) {
        const int64_t *i2 = ix + 2 * x;
        const float *w2 = wx + 2 * x;
        float acc = 0;
        for (size_t c = 0; c < nc; c++) {
          const float *p = src + coff[c];
          acc += cw[c] * (w2[0] * p[i2[0]] + w2[1] * p[i2[1]]);
        }
        dst[x] = acc;
      }
    } else {
      for (int64_t x = 0; x < W; x++) {
        const int64_t *i4 = ix + 4 * x;
        const float *w4 = wx + 4 * x;
        float acc = 0;
        for (size_t c = 0; c < nc; c++) {
          const float *p = src + coff[c];
          acc += cw[c] * (w4[0] * p[i4[0]] + w4[1] * p[i4[1]] + w4[2] * p[i4[2]] + w4[3] * p[i4[3]]);
        }
        dst[x] = acc;
      }
    }
    if (ox && !outside)
      for (int64_t x = 0; x < W; x++)
        if (ox[x]) dst[x] = s->extrap_f;
    for (int d = last - 1; d >= 0; d--) {
      if (++idx[d] < s->out_dims[d]) break;
      idx[d] = 0;
    }
  }
  return CALIB8_OK;
}

/* Two passes per plane: each input row a tap needs is resized horizontally once into a small cache (slot =
 * row % taps, so the taps of one output row never collide), then output rows blend cached rows vertically. */
static c8_status run_separable(const resize_state *s, const c8_tensor *in, c8_tensor *out, void *scratch) {
  int r = s->rank, hd = r - 2, wd = r - 1;
  int64_t Hin = s->in_dims[hd], Win = s->in_dims[wd], Hout = s->out_dims[hd], Wout = s->out_dims[wd];
  int64_t planes = c8_dims_prod(s->out_dims, 0, hd);
  int nty = s->ntaps[hd], ntx = s->ntaps[wd];
  const int64_t *iy = s->idx[hd], *ix = s->idx[wd];
  const float *wy = s->w[hd], *wx = s->w[wd];
  float *cache = scratch;
  int64_t tag[4];
  for (int64_t pl = 0; pl < planes; pl++) {
    const float *src = (const float *)in->data + pl * Hin * Win;
    float *dst = (float *)out->data + pl * Hout * Wout;
    for (int t = 0; t < nty; t++) tag[t] = -1;
    for (int64_t y = 0; y < Hout; y++, dst += Wout) {
      const float *rows[4];
      float wts[4];
      int n = 0;
      for (int t = 0; t < nty; t++) {
        float w = wy[y * nty + t];
        if (w == 0) continue;
        int64_t row = iy[y * nty + t] / Win;
        int slot = (int)(row % nty);
        float *c = cache + (size_t)slot * (size_t)Wout;
        if (tag[slot] != row) {
          const float *sr = src + row * Win;
          if (ntx == 1) {
            for (int64_t x = 0; x < Wout; x++) c[x] = sr[ix[x]];
          } else if (ntx == 2) {
            for (int64_t x = 0; x < Wout; x++) c[x] = wx[2 * x] * sr[ix[2 * x]] + wx[2 * x + 1] * sr[ix[2 * x + 1]];
          } else {
            for (int64_t x = 0; x < Wout; x++) {
              const int64_t *i4 = ix + 4 * x;
              const float *w4 = wx + 4 * x;
              c[x] = w4[0] * sr[i4[0]] + w4[1] * sr[i4[1]] + w4[2] * sr[i4[2]] + w4[3] * sr[i4[3]];
            }
          }
          tag[slot] = row;
        }
        rows[n] = c;
        wts[n++] = w;
      }
      if (n == 0) {
        memset(dst, 0, sizeof(float) * (size_t)Wout);
      } else if (n == 1) {
        const float *a = rows[0];
        float w0 = wts[0];
        if (w0 == 1) memcpy(dst, a, sizeof(float) * (size_t)Wout);
        else for (int64_t x = 0; x < Wout; x++) dst[x] = w0 * a[x];
      } else if (n == 2) {
        const float *a = rows[0], *b = rows[1];
        float w0 = wts[0], w1 = wts[1];
        for (int64_t x = 0; x < Wout; x++) dst[x] = w0 * a[x] + w1 * b[x];
      } else {
        for (int64_t x = 0; x < Wout; x++) {
          float acc = 0;
          for (int t = 0; t < n; t++) acc += wts[t] * rows[t][x];
          dst[x] = acc;
        }
      }
    }
  }
  return CALIB8_OK;
}

static c8_status resize_run(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out,
                            void *scratch) {
  (void)n_in, (void)n_out;
  const resize_state *s = k->state;
  if (s->empty) return CALIB8_OK;
  if (s->mode == MODE_NEAREST) return run_nearest(s, in[0], out[0]);
  if (s->separable) return run_separable(s, in[0], out[0], scratch);
  return run_interp(s, in[0], out[0], scratch);
}

/* Batch splitting: a scale on the batch axis must be exactly 1, or linear modes would blend neighbouring
   samples (with sizes, the output keeps the batch, so the scale is 1). */
static bool scales_keep_batch(const c8_batch_query *q, const c8_tensor *scales, bool upsample) {
  if (q->ax < 0) return false;
  if (!strcmp(c8_attr_string(q->node, "coordinate_transformation_mode", "half_pixel"), "tf_crop_and_resize"))
    return false;
  const int rank = q->in[0] ? q->in[0]->rank : 0;
  if (!scales || c8_numel(scales) == 0) {
    if (!upsample) return q->out[0]->dims[q->ax] == q->in[0]->dims[q->ax];
    int k;
    const float *a = c8_attr_floats(q->node, "scales", &k);
    return a && k == rank && a[q->ax] == 1.0f;
  }
  return scales->data && scales->dtype == CALIB8_FLOAT && c8_numel(scales) == rank &&
         ((const float *)scales->data)[q->ax] == 1.0f;
}
static bool resize_batch(const c8_batch_query *q) {
  const c8_tensor *scales = q->opset >= 11 ? (q->n_in > 2 ? q->in[2] : NULL) : (q->n_in > 1 ? q->in[1] : NULL);
  return scales_keep_batch(q, scales, false);
}
static bool upsample_batch(const c8_batch_query *q) {
  return scales_keep_batch(q, q->n_in > 1 ? q->in[1] : NULL, true);
}

/* Upsample (removed at opset 10) and Resize-10 become Resize-13 with inputs (X, no roi, scales): asymmetric
 * coordinates, and for nearest the legacy rounding as a nearest_mode, which exists only when every axis rounds
 * the same way (floor where scale >= 1, ceil where scale <= 1). The scales must be constants. */
static c8_status resize_upgrade(c8_graph *g, int k, int from, int to) {
  (void)to;
  c8_node *n = &g->nodes[k];
  bool upsample = strcmp(n->op_type, "Upsample") == 0;
  if (!upsample && from >= 11) return CALIB8_OK;
  int x = n->in[0], scales = -1;
  const float *sv = NULL;
  int64_t ns = 0;
  if (upsample && from < 9) {
    int na;
    const float *a = c8_attr_floats(n, "scales", &na);
    if (!a) return c8_node_error(n, CALIB8_MALFORMED_MODEL, "attribute 'scales' is required");
    char hint[512];
    snprintf(hint, sizeof hint, "%s_scales", n->name);
    int64_t dims[1] = {na};
    if ((scales = c8_graph_add_const(g, hint, CALIB8_FLOAT, 1, dims, a)) < 0)
      return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory upgrading node '%s'", n->name);
    n = &g->nodes[k];
    c8_node_remove_attr(n, "scales");
  } else {
    scales = n->n_in > 1 ? n->in[1] : -1;
  }
  if (scales < 0 || !g->values[scales].is_const || g->values[scales].t.dtype != CALIB8_FLOAT)
    return c8_node_error(n, CALIB8_UNSUPPORTED, "scales computed at run time cannot be written at opset %d", to);
  sv = g->values[scales].t.data;
  ns = c8_numel(&g->values[scales].t);
  const char *mode = c8_attr_string(n, "mode", "nearest");
  const char *nearest = NULL;
  if (!strcmp(mode, "nearest")) {
    bool up = true, down = true;
    for (int64_t i = 0; i < ns; i++) up &= sv[i] >= 1, down &= sv[i] <= 1;
    if (!up && !down)
      return c8_node_error(n, CALIB8_UNSUPPORTED,
                           "nearest with scales both above and below 1 rounds two ways; opset %d has one nearest_mode", to);
    nearest = up ? "floor" : "ceil";
  }
  int in[3] = {x, -1, scales};
  c8_status st = c8_node_set_inputs(n, 3, in);
  if (!st && upsample) st = c8_node_set_op(n, "Resize");
  c8_attr *a = st ? NULL : c8_node_add_attr(n, "coordinate_transformation_mode", C8_ATTR_STRING);
  if (a && !(a->s = c8_strdup("asymmetric"))) a = NULL;
  if (a && nearest && (a = c8_node_add_attr(n, "nearest_mode", C8_ATTR_STRING)) && !(a->s = c8_strdup(nearest))) a = NULL;
  if (!st && !a) st = c8_error(CALIB8_OUT_OF_MEMORY, "out of memory upgrading node '%s'", g->nodes[k].name);
  return st;
}

const c8_op_def c8_op_resize = {
    .name = "Resize", .domain = "", .prepare = resize_prepare, .run = resize_run, .destroy = resize_destroy,
    .qrole = C8_QROLE_NONE, .values = C8_VALUES_COMPUTED, .batch = C8_BATCH_CHECK, .batch_check = resize_batch,
    .batch_shape_inputs = 1u << 3, .fuse = C8_FUSE_NONE, .upgrade = resize_upgrade};
const c8_op_def c8_op_upsample = {
    .name = "Upsample", .domain = "", .prepare = resize_prepare, .run = resize_run, .destroy = resize_destroy,
    .qrole = C8_QROLE_NONE, .values = C8_VALUES_COMPUTED, .batch = C8_BATCH_CHECK, .batch_check = upsample_batch,
    .fuse = C8_FUSE_NONE, .upgrade = resize_upgrade};
