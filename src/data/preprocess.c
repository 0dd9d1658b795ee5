#include "data/preprocess.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- parsing ------------------------------------------------------------------------------------- */

#define KNOWN_PARAMS                                                                                        \
  "resize_h, resize_w, resize_side, letterbox, letterbox_value, crop_h, crop_w, crop_fraction, mean_value, " \
  "std_value, scale, bgr2rgb, layout"

#define PP_ERR(...) c8_error(CALIB8_INVALID_ARGUMENT, "preprocessing: " __VA_ARGS__)

/* Copies [b, e) trimmed of blanks into out (size cap). Returns false when it does not fit. */
static bool trimmed(const char *b, const char *e, char *out, size_t cap) {
  while (b < e && isspace((unsigned char)*b)) b++;
  while (e > b && isspace((unsigned char)e[-1])) e--;
  if ((size_t)(e - b) >= cap) return false;
  memcpy(out, b, (size_t)(e - b));
  out[e - b] = 0;
  return true;
}

static c8_status parse_pos_int(const char *name, const char *v, int *out) {
  char *end;
  errno = 0;
  long x = strtol(v, &end, 10);
  if (!*v || *end || errno || x <= 0 || x > 65536)
    return PP_ERR("parameter '%s' needs a positive integer of at most 65536, got '%s'", name, v);
  *out = (int)x;
  return CALIB8_OK;
}

static bool parse_float_text(const char *v, double *out) {
  char *end;
  errno = 0;
  double x = strtod(v, &end);
  if (!*v || *end || errno || !isfinite(x)) return false;
  *out = x;
  return true;
}

static c8_status parse_float(const char *name, const char *v, float *out) {
  double x;
  if (!parse_float_text(v, &x) || fabs(x) > 3.0e38) return PP_ERR("parameter '%s' needs a finite number, got '%s'", name, v);
  *out = (float)x;
  return CALIB8_OK;
}

static c8_status parse_bool(const char *name, const char *v, bool *out) {
  if (!strcasecmp(v, "true") || !strcmp(v, "1") || !strcasecmp(v, "yes")) {
    *out = true;
  } else if (!strcasecmp(v, "false") || !strcmp(v, "0") || !strcasecmp(v, "no")) {
    *out = false;
  } else {
    return PP_ERR("parameter '%s' needs true or false, got '%s'", name, v);
  }
  return CALIB8_OK;
}

/* "a:b:c" -> up to C8_PP_MAX_CH floats. */
static c8_status parse_list(const char *name, const char *v, bool nonzero, float *vals, int *n) {
  *n = 0;
  const char *p = v;
  for (;;) {
    const char *colon = strchr(p, ':');
    const char *e = colon ? colon : p + strlen(p);
    char item[64];
    double x;
    if (!trimmed(p, e, item, sizeof item) || !parse_float_text(item, &x) || fabs(x) > 3.0e38)
      return PP_ERR("parameter '%s' needs 1 or %d numbers separated by ':', got '%s'", name, C8_PP_MAX_CH, v);
    if (nonzero && (float)x == 0.0f) return PP_ERR("parameter '%s' has a zero value in '%s' (it divides)", name, v);
    if (*n == C8_PP_MAX_CH)
      return PP_ERR("parameter '%s' has more than %d values in '%s' (one per channel)", name, C8_PP_MAX_CH, v);
    vals[(*n)++] = (float)x;
    if (!colon) break;
    p = colon + 1;
  }
  if (*n == 2) return PP_ERR("parameter '%s' has 2 values in '%s'; give 1 (all channels) or 3", name, v);
  return CALIB8_OK;
}

/* Parses one operation: the text between two ';'. `k` is its 1-based position (for messages). */
static c8_status parse_op(const char *b, const char *e, int k, c8_pp_op *op, c8_layout *layout, bool *layout_seen) {
  memset(op, 0, sizeof *op);
  op->letterbox_value = 114.0f;
  op->scale = 1.0f;
  enum { P_RH, P_RW, P_RS, P_LB, P_LBV, P_CH, P_CW, P_CF, P_MEAN, P_STD, P_SCALE, P_BGR, P_LAYOUT, P_N };
  static const char *names[P_N] = {"resize_h",  "resize_w",      "resize_side", "letterbox", "letterbox_value",
                                   "crop_h",    "crop_w",        "crop_fraction", "mean_value", "std_value",
                                   "scale",     "bgr2rgb",       "layout"};
  bool seen[P_N] = {0};
  c8_status st;
  const char *p = b;
  while (p < e) {
    const char *comma = memchr(p, ',', (size_t)(e - p));
    const char *pe = comma ? comma : e;
    char item[512];
    if (!trimmed(p, pe, item, sizeof item)) return PP_ERR("parameter text in operation %d is too long", k);
    p = comma ? comma + 1 : e;
    if (!item[0]) continue; /* tolerate ",," and trailing commas */
    char *eq = strchr(item, '=');
    char key[64], val[448];
    if (!eq) {
      trimmed(item, item + strlen(item), key, sizeof key);
      return PP_ERR("parameter '%s' in operation %d has no value (write %s=VALUE)", key, k, key);
    }
    if (!trimmed(item, eq, key, sizeof key) || !trimmed(eq + 1, item + strlen(item), val, sizeof val))
      return PP_ERR("parameter text '%s' in operation %d is too long", item, k);
    int id = -1;
    for (int i = 0; i < P_N; i++)
      if (!strcmp(key, names[i])) id = i;
    if (!strcmp(key, "rgb2bgr")) id = P_BGR; /* the same channel reversal under its other name */
    if (id < 0) return PP_ERR("unknown parameter '%s' in operation %d (known: " KNOWN_PARAMS ")", key, k);
    if (!val[0]) return PP_ERR("parameter '%s' in operation %d has an empty value", key, k);
    if (seen[id]) return PP_ERR("parameter '%s' appears twice in operation %d", names[id], k);
    seen[id] = true;
    switch (id) {
      case P_RH: st = parse_pos_int(key, val, &op->resize_h); break;
      case P_RW: st = parse_pos_int(key, val, &op->resize_w); break;
      case P_RS: st = parse_pos_int(key, val, &op->resize_side); break;
      case P_LB: st = parse_bool(key, val, &op->letterbox); break;
      case P_LBV:
        st = parse_float(key, val, &op->letterbox_value);
        break;
      case P_CH: st = parse_pos_int(key, val, &op->crop_h); break;
      case P_CW: st = parse_pos_int(key, val, &op->crop_w); break;
      case P_CF: {
        double f;
        if (!parse_float_text(val, &f) || !(f > 0.0 && f <= 1.0))
          return PP_ERR("parameter 'crop_fraction' needs a number in (0, 1], got '%s'", val);
        op->crop_fraction = f;
        st = CALIB8_OK;
        break;
      }
      case P_MEAN: st = parse_list(key, val, false, op->mean, &op->n_mean); break;
      case P_STD: st = parse_list(key, val, true, op->std, &op->n_std); break;
      case P_SCALE:
        st = parse_float(key, val, &op->scale);
        if (!st && op->scale == 0.0f) /* every pixel would become the same value: nothing left to calibrate on */
          st = PP_ERR("parameter 'scale=%s' maps every pixel to one value; give a non-zero scale", val);
        op->has_scale = true;
        break;
      case P_BGR:
        st = parse_bool(key, val, &op->bgr2rgb);
        op->spelled_bgr2rgb = !strcmp(key, "bgr2rgb");
        break;
      default: /* P_LAYOUT */
        if (*layout_seen) return PP_ERR("parameter 'layout' is given twice (it applies to the whole pipeline)");
        *layout_seen = true;
        if (!strcasecmp(val, "nchw"))
          *layout = C8_LAYOUT_NCHW;
        else if (!strcasecmp(val, "nhwc"))
          *layout = C8_LAYOUT_NHWC;
        else
          return PP_ERR("parameter 'layout' needs nchw or nhwc, got '%s'", val);
        st = CALIB8_OK;
        break;
    }
    if (st) return st;
  }
  if (seen[P_RH] != seen[P_RW])
    return PP_ERR("parameter '%s' in operation %d needs '%s' too", seen[P_RH] ? "resize_h" : "resize_w", k,
                  seen[P_RH] ? "resize_w" : "resize_h");
  if (seen[P_RS] && seen[P_RH])
    return PP_ERR("parameter 'resize_side' cannot be combined with resize_h/resize_w in operation %d", k);
  if (op->letterbox && !seen[P_RH])
    return PP_ERR("parameter 'letterbox' in operation %d needs resize_h and resize_w (the box to fit into)", k);
  if (seen[P_LBV] && !op->letterbox)
    return PP_ERR("parameter 'letterbox_value' in operation %d needs letterbox=true", k);
  if (seen[P_CH] != seen[P_CW])
    return PP_ERR("parameter '%s' in operation %d needs '%s' too", seen[P_CH] ? "crop_h" : "crop_w", k,
                  seen[P_CH] ? "crop_w" : "crop_h");
  if (seen[P_CF] && seen[P_CH])
    return PP_ERR("parameter 'crop_fraction' cannot be combined with crop_h/crop_w in operation %d", k);
  return CALIB8_OK;
}

c8_status c8_preprocess_parse(const char *text, c8_preprocess *out) {
  memset(out, 0, sizeof *out);
  if (!text) return CALIB8_OK;
  bool layout_seen = false;
  int k = 0;
  const char *p = text;
  for (;;) {
    const char *semi = strchr(p, ';');
    const char *e = semi ? semi : p + strlen(p);
    k++;
    const char *q = p;
    while (q < e && isspace((unsigned char)*q)) q++;
    if (q < e) { /* empty operations (";;" or a trailing ';') are skipped */
      if (out->n_ops == C8_PP_MAX_OPS) return PP_ERR("more than %d operations", C8_PP_MAX_OPS);
      c8_status st = parse_op(p, e, k, &out->ops[out->n_ops], &out->layout, &layout_seen);
      if (st) return st;
      out->n_ops++;
    }
    if (!semi) break;
    p = semi + 1;
  }
  /* NNTC's meaning: a string whose first channel reversal is bgr2rgb=true was written for an image read by
     OpenCV, in B,G,R order; calib8 decodes R,G,B, so it starts from B,G,R too */
  for (int i = 0; i < out->n_ops; i++) {
    if (!out->ops[i].bgr2rgb) continue;
    out->opencv_order = out->ops[i].spelled_bgr2rgb;
    break;
  }
  return CALIB8_OK;
}

/* ---- templates ----------------------------------------------------------------------------------- */

/* The seed tools decode with OpenCV (B,G,R order), list means in that order and end with bgr2rgb=True.
 * calib8 decodes to R,G,B, so the same tensors come from the means in R,G,B order and no reversal. */
static const struct {
  const char *name, *text, *note;
} templates[] = {
    {"vgg_tensorflow", "resize_side=256;crop_h=224,crop_w=224;mean_value=123.68:116.78:103.94,scale=1.0",
     "TF-slim VGG/ResNet-v1: shorter side 256, center 224x224, RGB minus the ImageNet means (seed template)"},
    {"ssd_vgg_tensorflow", "resize_h=256,resize_w=256;mean_value=123.68:116.78:103.94,scale=1.0;crop_h=224,crop_w=224",
     "SSD-VGG (TensorFlow): 256x256, RGB minus the ImageNet means, center 224x224 (seed template)"},
    {"ssd_inception_tensorflow",
     "resize_h=256,resize_w=256;scale=0.003921568859368563;crop_fraction=0.875;resize_h=224,resize_w=224;"
     "mean_value=0.5:0.5:0.5,scale=2.0",
     "Inception (TensorFlow): 256x256, x/255, central 87.5%, 224x224, (x-0.5)*2 in [-1,1] (seed template)"},
    {"imagenet_torch",
     "resize_side=256;crop_h=224,crop_w=224;mean_value=123.675:116.28:103.53,std_value=58.395:57.12:57.375",
     "torchvision ImageNet models: Resize(256), CenterCrop(224), Normalize(mean, std) on 0..255 RGB "
     "(calib8 template; the seeds define none for PyTorch)"},
};
#define N_TEMPLATES ((int)(sizeof templates / sizeof templates[0]))

int c8_preprocess_template_count(void) { return N_TEMPLATES; }
const char *c8_preprocess_template_name(int i) { return i >= 0 && i < N_TEMPLATES ? templates[i].name : NULL; }
const char *c8_preprocess_template_text(int i) { return i >= 0 && i < N_TEMPLATES ? templates[i].text : NULL; }
const char *c8_preprocess_template_note(int i) { return i >= 0 && i < N_TEMPLATES ? templates[i].note : NULL; }

c8_status c8_preprocess_template(const char *name, c8_preprocess *out) {
  for (int i = 0; i < N_TEMPLATES; i++)
    if (!strcmp(name, templates[i].name)) return c8_preprocess_parse(templates[i].text, out);
  char list[512] = "";
  size_t n = 0;
  for (int i = 0; i < N_TEMPLATES; i++)
    n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", i ? ", " : "", templates[i].name);
  return c8_error(CALIB8_INVALID_ARGUMENT, "unknown preprocessing template '%s' (known: %s)", name, list);
}

/* ---- target -------------------------------------------------------------------------------------- */

static bool is_ch(int64_t d) { return d == 1 || d == 3; }

c8_status c8_preprocess_target(const c8_preprocess *pp, const calib8_value_info *in, c8_pp_target *out) {
  memset(out, 0, sizeof *out);
  if (in->rank != 4)
    return c8_error(CALIB8_INVALID_ARGUMENT,
                    "model input '%s' has %s; images need a 4-D input [N,C,H,W] or [N,H,W,C]", in->name,
                    in->rank < 0 ? "no declared shape" : in->rank == 1 ? "rank 1" : in->rank == 2 ? "rank 2" : "rank 3 or more than 4");
  if (in->dtype != CALIB8_FLOAT && in->dtype != CALIB8_UINT8)
    return c8_error(CALIB8_UNSUPPORTED, "model input '%s' is %s; images can feed float32 or uint8 inputs", in->name,
                    calib8_dtype_name(in->dtype));
  c8_layout layout = pp ? pp->layout : C8_LAYOUT_AUTO;
  if (layout == C8_LAYOUT_AUTO) {
    /* NCHW unless the shape only makes sense as NHWC ([N,224,224,3]). */
    layout = (!is_ch(in->dims[1]) && is_ch(in->dims[3])) ? C8_LAYOUT_NHWC : C8_LAYOUT_NCHW;
  }
  int64_t c = layout == C8_LAYOUT_NCHW ? in->dims[1] : in->dims[3];
  if (!is_ch(c)) {
    if (c < 0)
      return c8_error(CALIB8_INVALID_ARGUMENT,
                      "model input '%s' has a dynamic channel dimension; images need 1 or 3 channels fixed in the model",
                      in->name);
    return c8_error(CALIB8_INVALID_ARGUMENT, "model input '%s' has %lld channels in %s layout; images give 1 or 3",
                    in->name, (long long)c, layout == C8_LAYOUT_NCHW ? "NCHW" : "NHWC");
  }
  out->layout = layout;
  out->c = (int)c;
  out->h = layout == C8_LAYOUT_NCHW ? in->dims[2] : in->dims[1];
  out->w = layout == C8_LAYOUT_NCHW ? in->dims[3] : in->dims[2];
  if (out->h == 0 || out->w == 0)
    return c8_error(CALIB8_INVALID_ARGUMENT, "model input '%s' has an empty spatial dimension", in->name);
  for (int k = 0; pp && k < pp->n_ops; k++) {
    const c8_pp_op *op = &pp->ops[k];
    if (op->n_mean > 1 && op->n_mean != c)
      return c8_error(CALIB8_INVALID_ARGUMENT,
                      "preprocessing: parameter 'mean_value' in operation %d has %d values but model input '%s' has %d "
                      "channel%s",
                      k + 1, op->n_mean, in->name, (int)c, c == 1 ? "" : "s");
    if (op->n_std > 1 && op->n_std != c)
      return c8_error(CALIB8_INVALID_ARGUMENT,
                      "preprocessing: parameter 'std_value' in operation %d has %d values but model input '%s' has %d "
                      "channel%s",
                      k + 1, op->n_std, in->name, (int)c, c == 1 ? "" : "s");
  }
  return CALIB8_OK;
}

/* ---- image operations ---------------------------------------------------------------------------- */

void c8_image_to_float(const c8_image *img, int c, float *dst) {
  size_t n = (size_t)img->w * img->h;
  const uint8_t *s = img->px;
  if (img->c == c) {
    for (size_t i = 0; i < n * c; i++) dst[i] = s[i];
  } else if (img->c == 1) { /* gray -> 3: replicate */
    for (size_t i = 0; i < n; i++) dst[3 * i] = dst[3 * i + 1] = dst[3 * i + 2] = s[i];
  } else { /* colour -> 1: ITU-R BT.601 luma, computed in double and not rounded */
    for (size_t i = 0; i < n; i++)
      dst[i] = (float)(0.299 * s[3 * i] + 0.587 * s[3 * i + 1] + 0.114 * s[3 * i + 2]);
  }
}

/* Source index and weights for one axis, following PyTorch's upsample_bilinear2d (align_corners=False):
 * the ratio is float in/out; the source coordinate (d + 0.5) * ratio - 0.5 is kept in double, clamped
 * at 0, and only the fractional part is rounded to float (lambda1); lambda0 = 1 - lambda1 in float.
 * The right neighbour is the same pixel at the last column. Probed bit for bit against torch 1.13. */
static void axis_weights(int in, int out, int from, int to, int *i0, int *i1, float *l0, float *l1) {
  float ratio = (float)in / (float)out;
  for (int d = from, k = 0; d < to; d++, k++) {
    if (in == out) {
      i0[k] = i1[k] = d;
      l0[k] = 1.0f;
      l1[k] = 0.0f;
      continue;
    }
    double src = (double)ratio * ((double)d + 0.5) - 0.5;
    if (src < 0.0) src = 0.0;
    int x0 = (int)src;
    if (x0 > in - 1) x0 = in - 1; /* cannot happen (src < in - 0.5), kept as a guard */
    i0[k] = x0;
    i1[k] = x0 + (x0 < in - 1 ? 1 : 0);
    l1[k] = (float)(src - x0);
    l0[k] = 1.0f - l1[k];
  }
}

/* a * wa + b * wb the way Debian's torch build evaluates it: b * wb rounded, then one fused multiply-add
 * (GCC contracts the expression in the AVX2 kernels). fmaf is exact with or without an FMA unit. */
static inline float lerp2(float a, float wa, float b, float wb) { return fmaf(a, wa, b * wb); }

c8_status c8_resize_bilinear(const float *src, int ih, int iw, int c, float *dst, int oh, int ow) {
  int *xi = c8_malloc(sizeof(int) * 2 * (size_t)ow), yi[2];
  float *xl = c8_malloc(sizeof(float) * 2 * (size_t)ow), yl[2];
  if (!xi || !xl) {
    c8_mfree(xi);
    c8_mfree(xl);
    return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory resizing an image to %dx%d", ow, oh);
  }
  axis_weights(iw, ow, 0, ow, xi, xi + ow, xl, xl + ow);
  for (int y = 0; y < oh; y++) {
    axis_weights(ih, oh, y, y + 1, yi, yi + 1, yl, yl + 1);
    const float *r0 = src + (size_t)yi[0] * iw * c, *r1 = src + (size_t)yi[1] * iw * c;
    float wy0 = yl[0], wy1 = yl[1];
    float *o = dst + (size_t)y * ow * c;
    for (int x = 0; x < ow; x++) {
      int x0 = xi[x] * c, x1 = xi[ow + x] * c;
      float wx0 = xl[x], wx1 = xl[ow + x];
      for (int ch = 0; ch < c; ch++) {
        /* PyTorch's evaluation order: interpolate along x in both rows, then along y. */
        float t0 = lerp2(r0[x0 + ch], wx0, r0[x1 + ch], wx1);
        float t1 = lerp2(r1[x0 + ch], wx0, r1[x1 + ch], wx1);
        o[x * c + ch] = lerp2(t0, wy0, t1, wy1);
      }
    }
  }
  c8_mfree(xi);
  c8_mfree(xl);
  return CALIB8_OK;
}

/* ---- the pipeline -------------------------------------------------------------------------------- */

void c8_pp_work_free(c8_pp_work *w) {
  if (!w) return;
  for (int i = 0; i < 3; i++) {
    c8_mfree(w->buf[i]);
    w->buf[i] = NULL;
    w->cap[i] = 0;
  }
}

static c8_status ensure(c8_pp_work *w, int i, int64_t h, int64_t wd, int c, const char *what) {
  if (h * wd > C8_IMAGE_MAX_PIXELS)
    return c8_error(CALIB8_INVALID_ARGUMENT, "image %s would become %lldx%lld pixels during preprocessing, more than %lld",
                    what, (long long)wd, (long long)h, (long long)C8_IMAGE_MAX_PIXELS);
  size_t n = (size_t)(h * wd) * (size_t)c;
  if (n <= w->cap[i]) return CALIB8_OK;
  float *p = c8_realloc(w->buf[i], n * sizeof(float));
  if (!p) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory preprocessing image %s", what);
  w->buf[i] = p;
  w->cap[i] = n;
  return CALIB8_OK;
}

c8_status c8_preprocess_image(const c8_preprocess *pp, const c8_pp_target *tgt, const c8_image *img, const char *what,
                              c8_pp_work *work, const float **out, c8_pp_geom *geom) {
  c8_status st;
  const int c = tgt->c;
  int h = img->h, w = img->w, cur = 0;
  if ((st = ensure(work, 0, h, w, c, what))) return st;
  c8_image_to_float(img, c, work->buf[0]);
  if (pp && pp->opencv_order && c == 3) /* the image as OpenCV reads it: B,G,R (see c8_preprocess_parse) */
    for (size_t i = 0; i < (size_t)h * w; i++) {
      float t = work->buf[0][3 * i];
      work->buf[0][3 * i] = work->buf[0][3 * i + 2];
      work->buf[0][3 * i + 2] = t;
    }
  c8_pp_geom g = {.src_w = img->w, .src_h = img->h, .sx = 1.0, .sy = 1.0, .ox = 0.0, .oy = 0.0};
  for (int k = 0; pp && k < pp->n_ops; k++) {
    const c8_pp_op *op = &pp->ops[k];
    /* 1. resize */
    int nh = h, nw = w;
    if (op->resize_side) {
      int s = op->resize_side;
      /* the long side in double first: a 40000x1 image with resize_side=65536 would not fit an int */
      double other = h <= w ? nearbyint((double)w * s / h) : nearbyint((double)h * s / w);
      if (!(other <= C8_IMAGE_MAX_PIXELS / s))
        return c8_error(CALIB8_INVALID_ARGUMENT,
                        "image %s (%dx%d) would be %.0f pixels long after resize_side=%d (operation %d), more than "
                        "calib8 accepts",
                        what, w, h, other, s, k + 1);
      if (h <= w) {
        nh = s;
        nw = (int)other;
      } else {
        nw = s;
        nh = (int)other;
      }
      if (nh < 1) nh = 1;
      if (nw < 1) nw = 1;
    } else if (op->resize_h && !op->letterbox) {
      nh = op->resize_h;
      nw = op->resize_w;
    }
    if (op->letterbox) {
      /* YOLOv5's letterbox(): scale to fit, round the new size, split the padding with a 0.1 bias. */
      int H = op->resize_h, W = op->resize_w;
      double r = fmin((double)H / h, (double)W / w);
      int uw = (int)nearbyint(w * r), uh = (int)nearbyint(h * r);
      if (uw < 1) uw = 1;
      if (uh < 1) uh = 1;
      double dw = (W - uw) / 2.0, dh = (H - uh) / 2.0;
      int top = (int)nearbyint(dh - 0.1), left = (int)nearbyint(dw - 0.1);
      int nxt = 1 - cur;
      if ((st = ensure(work, nxt, uh, uw, c, what)) || (st = ensure(work, 2, H, W, c, what))) return st;
      if ((st = c8_resize_bilinear(work->buf[cur], h, w, c, work->buf[nxt], uh, uw))) return st;
      float *canvas = work->buf[2];
      for (size_t i = 0; i < (size_t)H * W * c; i++) canvas[i] = op->letterbox_value;
      for (int y = 0; y < uh; y++)
        memcpy(canvas + ((size_t)(y + top) * W + left) * c, work->buf[nxt] + (size_t)y * uw * c,
               sizeof(float) * (size_t)uw * c);
      /* The canvas becomes the current buffer: swap it into slot `cur`. */
      float *tp = work->buf[cur];
      size_t tc = work->cap[cur];
      work->buf[cur] = work->buf[2];
      work->cap[cur] = work->cap[2];
      work->buf[2] = tp;
      work->cap[2] = tc;
      g.sx *= (double)uw / w;
      g.sy *= (double)uh / h;
      g.ox = g.ox * uw / w + left;
      g.oy = g.oy * uh / h + top;
      h = H;
      w = W;
    } else if (nh != h || nw != w) {
      int nxt = 1 - cur;
      if ((st = ensure(work, nxt, nh, nw, c, what))) return st;
      if ((st = c8_resize_bilinear(work->buf[cur], h, w, c, work->buf[nxt], nh, nw))) return st;
      g.sx *= (double)nw / w;
      g.sy *= (double)nh / h;
      g.ox *= (double)nw / w;
      g.oy *= (double)nh / h;
      cur = nxt;
      h = nh;
      w = nw;
    }
    /* 2. center crop */
    int ch = h, cw = w, top = 0, left = 0;
    if (op->crop_h) {
      if (op->crop_h > h || op->crop_w > w)
        return c8_error(CALIB8_INVALID_ARGUMENT,
                        "preprocessing: crop_h=%d,crop_w=%d in operation %d is larger than image %s at that point "
                        "(%dx%d, width x height)",
                        op->crop_h, op->crop_w, k + 1, what, w, h);
      ch = op->crop_h;
      cw = op->crop_w;
      top = (h - ch) / 2;
      left = (w - cw) / 2;
    } else if (op->crop_fraction > 0) {
      /* TensorFlow's central_crop: the start is truncated, the size is what remains symmetrically. */
      top = (int)((h - h * op->crop_fraction) / 2);
      left = (int)((w - w * op->crop_fraction) / 2);
      ch = h - 2 * top;
      cw = w - 2 * left;
    }
    if (ch != h || cw != w) {
      int nxt = 1 - cur;
      if ((st = ensure(work, nxt, ch, cw, c, what))) return st;
      for (int y = 0; y < ch; y++)
        memcpy(work->buf[nxt] + (size_t)y * cw * c, work->buf[cur] + ((size_t)(y + top) * w + left) * c,
               sizeof(float) * (size_t)cw * c);
      g.ox -= left;
      g.oy -= top;
      cur = nxt;
      h = ch;
      w = cw;
    }
    /* 3. (x - mean) / std * scale */
    if (op->n_mean || op->n_std || op->has_scale) {
      float m[C8_PP_MAX_CH], s[C8_PP_MAX_CH];
      for (int i = 0; i < c; i++) {
        m[i] = op->n_mean ? op->mean[op->n_mean == 1 ? 0 : i] : 0.0f;
        s[i] = op->n_std ? op->std[op->n_std == 1 ? 0 : i] : 1.0f;
      }
      float *p = work->buf[cur];
      size_t n = (size_t)h * w;
      for (size_t i = 0; i < n; i++)
        for (int j = 0; j < c; j++) p[i * c + j] = (p[i * c + j] - m[j]) / s[j] * op->scale;
    }
    /* 4. channel reversal */
    if (op->bgr2rgb && c == 3) {
      float *p = work->buf[cur];
      for (size_t i = 0; i < (size_t)h * w; i++) {
        float t = p[3 * i];
        p[3 * i] = p[3 * i + 2];
        p[3 * i + 2] = t;
      }
    }
  }
  if ((tgt->h > 0 && h != tgt->h) || (tgt->w > 0 && w != tgt->w))
    return c8_error(CALIB8_INVALID_ARGUMENT,
                    "image %s is %dx%d (width x height) after preprocessing but the model input needs %lldx%lld; "
                    "add or fix resize_h/resize_w or the crop",
                    what, w, h, (long long)(tgt->w > 0 ? tgt->w : w), (long long)(tgt->h > 0 ? tgt->h : h));
  g.out_w = w;
  g.out_h = h;
  if (tgt->layout == C8_LAYOUT_NCHW && c > 1) {
    if ((st = ensure(work, 2, h, w, c, what))) return st;
    const float *s = work->buf[cur];
    float *d = work->buf[2];
    size_t n = (size_t)h * w;
    for (int j = 0; j < c; j++)
      for (size_t i = 0; i < n; i++) d[j * n + i] = s[i * c + j];
    *out = d;
  } else {
    *out = work->buf[cur]; /* NHWC, or one channel where both layouts coincide */
  }
  if (geom) *geom = g;
  return CALIB8_OK;
}
