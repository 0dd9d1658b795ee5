/* The preprocessing check (include/calib8/dataset.h, calib8_preprocess_check; docs/preprocessing.md): compares
 * the tensors the user's own pipeline made for the first K images of an image source ([K, ...] in a .npy file)
 * with calib8's preprocessing of the same images, and when they differ, names the first differing image and
 * the common mistake that explains it: each known mistake is replayed through calib8's own preprocessing and
 * kept when it reproduces the user's tensors. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "calib8/calib8.h" /* first: the part headers are complete only through it */
#include "core/tensor.h"
#include "data/dataset.h"
#include "data/feed.h"
#include "load/model.h"

/* Differ: max |user - calib8| > PPCHECK_TOL * max |user| over one image. */
#define PPCHECK_TOL 1e-3

/* A preprocessed set: K images of C x H x W in the model's layout, as floats. */
typedef struct pp_set {
  int64_t k, c, h, w; /* per image */
  c8_layout layout;
  float *x; /* k * c * h * w */
  char **source;
} pp_set;

static void pp_set_free(pp_set *s) {
  if (s->source)
    for (int64_t i = 0; i < s->k; i++) c8_mfree(s->source[i]);
  c8_mfree(s->source);
  c8_mfree(s->x);
  memset(s, 0, sizeof *s);
}

/* Runs calib8's preprocessing on the first k images of spec. */
static c8_status run_pp(const char *spec, const calib8_value_info *in, const c8_preprocess *pp, int64_t k,
                        bool keep_sources, pp_set *out) {
  memset(out, 0, sizeof *out);
  c8_dataset *ds = NULL;
  c8_pp_target tgt;
  c8_status st = c8_preprocess_target(pp, in, &tgt);
  if (st) return st;
  if ((st = c8_dataset_open(spec, 1, in, pp, &ds))) return st;
  if (c8_dataset_kind_of(ds) != C8_DS_IMAGES) {
    st = c8_error(CALIB8_INVALID_ARGUMENT,
                  "--check-preprocess compares image preprocessing, but '%s' holds %s data, not images", spec,
                  c8_dataset_kind_name(c8_dataset_kind_of(ds)));
    goto out;
  }
  if (c8_dataset_count(ds) < k) {
    st = c8_error(CALIB8_INVALID_ARGUMENT, "--check-preprocess: the file holds %lld images but '%s' has only %lld",
                  (long long)k, spec, (long long)c8_dataset_count(ds));
    goto out;
  }
  out->k = k;
  out->layout = tgt.layout;
  out->source = c8_calloc((size_t)k, sizeof *out->source);
  if (!out->source) goto oom;
  for (int64_t i = 0; i < k; i++) {
    const c8_sample *s;
    if ((st = c8_dataset_next(ds, &s))) goto out;
    if (!s) {
      st = c8_error(CALIB8_INVALID_ARGUMENT, "--check-preprocess: '%s' ended after %lld images", spec, (long long)i);
      goto out;
    }
    const c8_tensor *t = &s->t[0];
    int64_t c = tgt.layout == C8_LAYOUT_NCHW ? t->dims[1] : t->dims[3];
    int64_t h = tgt.layout == C8_LAYOUT_NCHW ? t->dims[2] : t->dims[1];
    int64_t w = tgt.layout == C8_LAYOUT_NCHW ? t->dims[3] : t->dims[2];
    if (i == 0) {
      out->c = c, out->h = h, out->w = w;
      out->x = c8_malloc(sizeof(float) * (size_t)(k * c * h * w));
      if (!out->x) goto oom;
    } else if (c != out->c || h != out->h || w != out->w) {
      st = c8_error(CALIB8_INVALID_ARGUMENT,
                    "--check-preprocess: image %lld (%s) preprocesses to %lldx%lld, image 0 to %lldx%lld; the check "
                    "needs one size",
                    (long long)i, s->source, (long long)h, (long long)w, (long long)out->h, (long long)out->w);
      goto out;
    }
    int64_t n = c * h * w;
    if (!c8_convert_elems(CALIB8_FLOAT, out->x + i * n, t->dtype, t->data, (size_t)n)) {
      st = c8_error(CALIB8_UNSUPPORTED, "--check-preprocess: cannot compare %s samples", calib8_dtype_name(t->dtype));
      goto out;
    }
    if (keep_sources && !(out->source[i] = c8_strdup(s->source))) goto oom;
  }
  goto out;
oom:
  st = c8_error(CALIB8_OUT_OF_MEMORY, "out of memory checking the preprocessing");
out:
  c8_dataset_close(ds);
  if (st) pp_set_free(out);
  return st;
}

/* The user's file as floats [K, a, b, c]. */
typedef struct user_set {
  int64_t k, d[3];
  float *x;
} user_set;

static c8_status read_user(const char *path, user_set *u) {
  memset(u, 0, sizeof *u);
  void *bytes = NULL;
  size_t len = 0;
  char what[4200];
  snprintf(what, sizeof what, "--check-preprocess file '%s'", path);
  c8_status st = c8_read_file(path, &bytes, &len);
  if (st) return st;
  c8_npy_header h;
  if ((st = c8_npy_header_parse(bytes, len, what, &h))) goto out;
  if (h.rank != 4) {
    char shape[128];
    c8_tensor t = {.dtype = h.dtype, .rank = h.rank};
    memcpy(t.dims, h.dims, sizeof t.dims);
    st = c8_error(CALIB8_INVALID_ARGUMENT,
                  "%s has shape %s; it needs [K, C, H, W] or [K, H, W, C]: the tensors of the first K images", what,
                  c8_shape_str(&t, shape, sizeof shape));
    goto out;
  }
  u->k = h.dims[0];
  for (int i = 0; i < 3; i++) u->d[i] = h.dims[i + 1];
  int64_t n = u->k * u->d[0] * u->d[1] * u->d[2];
  if (u->k < 1 || n < 1) {
    st = c8_error(CALIB8_INVALID_ARGUMENT, "%s holds no images", what);
    goto out;
  }
  size_t esz = calib8_dtype_size(h.dtype);
  if (h.data_offset + esz * (size_t)n > len) {
    st = c8_error(CALIB8_INVALID_ARGUMENT, "%s is truncated: its header declares more data than it holds", what);
    goto out;
  }
  u->x = c8_malloc(sizeof(float) * (size_t)n);
  if (!u->x) {
    st = c8_error(CALIB8_OUT_OF_MEMORY, "out of memory reading %s", what);
    goto out;
  }
  if (!c8_convert_elems(CALIB8_FLOAT, u->x, h.dtype, (const char *)bytes + h.data_offset, (size_t)n)) {
    st = c8_error(CALIB8_UNSUPPORTED, "%s holds %s data; use float32, float64 or uint8", what,
                  calib8_dtype_name(h.dtype));
    goto out;
  }
out:
  c8_mfree(bytes);
  if (st) {
    c8_mfree(u->x);
    u->x = NULL;
  }
  return st;
}

/* Relative max difference of one image: max |u - c| / max |u|. */
static double rel_diff(const float *u, const float *c, int64_t n, int64_t *at) {
  double md = 0, mu = 0;
  *at = 0;
  for (int64_t i = 0; i < n; i++) {
    double d = fabs((double)u[i] - (double)c[i]);
    if (d > md || d != d) {
      md = d != d ? INFINITY : d;
      *at = i;
    }
    if (fabs((double)u[i]) > mu) mu = fabs((double)u[i]);
  }
  if (md == 0) return 0;
  return mu > 0 ? md / mu : INFINITY;
}

/* Element i of an image in `from` layout, written to `to` layout (C x H x W dims). */
static void relayout(const float *src, float *dst, int64_t c, int64_t h, int64_t w, c8_layout from) {
  for (int64_t ch = 0; ch < c; ch++)
    for (int64_t y = 0; y < h; y++)
      for (int64_t x = 0; x < w; x++) {
        int64_t nchw = (ch * h + y) * w + x, nhwc = (y * w + x) * c + ch;
        if (from == C8_LAYOUT_NCHW)
          dst[nhwc] = src[nchw];
        else
          dst[nchw] = src[nhwc];
      }
}

static void reverse_channels(float *x, int64_t c, int64_t h, int64_t w, c8_layout layout) {
  for (int64_t y = 0; y < h; y++)
    for (int64_t xx = 0; xx < w; xx++)
      for (int64_t ch = 0; ch < c / 2; ch++) {
        int64_t a, b;
        if (layout == C8_LAYOUT_NCHW)
          a = (ch * h + y) * w + xx, b = ((c - 1 - ch) * h + y) * w + xx;
        else
          a = (y * w + xx) * c + ch, b = (y * w + xx) * c + (c - 1 - ch);
        float t = x[a];
        x[a] = x[b];
        x[b] = t;
      }
}

/* The alternatives tried when the tensors differ: each is a known mistake. */
enum { POST_NONE, POST_REVERSE, POST_OTHER_LAYOUT, POST_SCALE };
typedef struct alt {
  const char *what; /* explanation, completes "it matches calib8's output with ..." */
  c8_preprocess pp;
  int post;
  float post_scale;
} alt;

static c8_pp_op plain_op(void) {
  c8_pp_op op;
  memset(&op, 0, sizeof op);
  op.scale = 1.0f;
  op.letterbox_value = 114.0f;
  return op;
}

static bool prepend(c8_preprocess *pp, c8_pp_op op) {
  if (pp->n_ops == C8_PP_MAX_OPS) return false;
  memmove(&pp->ops[1], &pp->ops[0], sizeof pp->ops[0] * (size_t)pp->n_ops);
  pp->ops[0] = op;
  pp->n_ops++;
  return true;
}

static int build_alts(const c8_preprocess *base, int c, alt *alts) {
  int n = 0;
  if (c == 3) {
    alts[n] = (alt){
        "the channels reversed: your tensors hold B,G,R where calib8 gives R,G,B, or the reverse (channel "
        "order: add or drop bgr2rgb=true as the last step)",
        *base, POST_REVERSE, 1};
    n++;
    c8_pp_op op = plain_op();
    op.bgr2rgb = true;
    alts[n] = (alt){
        "the image read as B,G,R before the mean/std (channel order: OpenCV's imread gives B,G,R; the "
        "per-channel mean_value/std_value then meet the wrong channels)",
        *base, POST_NONE, 1};
    if (prepend(&alts[n].pp, op)) n++;
    alts[n] = (alt){
        "the image read as B,G,R and reversed at the end (channel order: the per-channel mean_value/"
        "std_value were applied to the wrong channels)",
        *base, POST_REVERSE, 1};
    if (prepend(&alts[n].pp, op)) n++;
  }
  alts[n++] = (alt){
      "the pixels in the other layout under the same shape (layout: NHWC data reshaped to NCHW, or the "
      "reverse; transpose instead of reshape)",
      *base, POST_OTHER_LAYOUT, 1};
  bool any = false;
  alts[n] = (alt){"mean and std swapped: your tensors are (x - std) / mean (mean_value and std_value exchanged)", *base,
                  POST_NONE, 1};
  for (int i = 0; i < base->n_ops; i++) {
    c8_pp_op *op = &alts[n].pp.ops[i];
    if (op->n_mean && op->n_std) {
      float tmp[C8_PP_MAX_CH];
      memcpy(tmp, op->mean, sizeof tmp);
      memcpy(op->mean, op->std, sizeof tmp);
      memcpy(op->std, tmp, sizeof tmp);
      int t = op->n_mean;
      op->n_mean = op->n_std;
      op->n_std = t;
      any = true;
    }
  }
  if (any) n++;
  /* resize against crop */
  any = false;
  alts[n] = (alt){
      "a center crop where calib8 resizes (resize against crop: your pipeline crops the image to the input "
      "size instead of resizing it)",
      *base, POST_NONE, 1};
  for (int i = 0; i < base->n_ops; i++) {
    c8_pp_op *op = &alts[n].pp.ops[i];
    if (op->resize_h && !op->letterbox && !op->crop_h && op->crop_fraction == 0) {
      op->crop_h = op->resize_h, op->crop_w = op->resize_w;
      op->resize_h = op->resize_w = 0;
      any = true;
    }
  }
  if (any) n++;
  any = false;
  alts[n] = (alt){
      "the shorter side resized then center-cropped where calib8 resizes to the exact size (resize "
      "against crop: aspect ratio kept and cropped, instead of stretched)",
      *base, POST_NONE, 1};
  for (int i = 0; i < base->n_ops; i++) {
    c8_pp_op *op = &alts[n].pp.ops[i];
    if (op->resize_h && !op->letterbox && !op->crop_h && op->crop_fraction == 0) {
      op->crop_h = op->resize_h, op->crop_w = op->resize_w;
      op->resize_side = op->resize_h > op->resize_w ? op->resize_h : op->resize_w;
      op->resize_h = op->resize_w = 0;
      any = true;
    }
  }
  if (any) n++;
  any = false;
  alts[n] = (alt){
      "a resize to the final size where calib8 crops (resize against crop: your pipeline stretches the "
      "image instead of cropping it)",
      *base, POST_NONE, 1};
  for (int i = 0; i < base->n_ops; i++) {
    c8_pp_op *op = &alts[n].pp.ops[i];
    if (op->crop_h) {
      op->resize_h = op->crop_h, op->resize_w = op->crop_w;
      op->crop_h = op->crop_w = 0;
      op->resize_side = 0;
      op->letterbox = false;
      any = true;
    }
  }
  if (any) n++;
  any = false;
  alts[n] = (alt){"a plain stretch where calib8 letterboxes (resize against letterbox: aspect ratio not kept)", *base,
                  POST_NONE, 1};
  for (int i = 0; i < base->n_ops; i++)
    if (alts[n].pp.ops[i].letterbox) alts[n].pp.ops[i].letterbox = false, any = true;
  if (any) n++;
  /* pixel range */
  c8_pp_op s255 = plain_op();
  s255.has_scale = true;
  s255.scale = 1.0f / 255.0f;
  alts[n] = (alt){
      "pixels divided by 255 before the normalization (pixel range: calib8 works on 0..255 values; scale "
      "the mean_value/std_value or drop the division)",
      *base, POST_NONE, 1};
  if (base->n_ops > 0 && prepend(&alts[n].pp, s255)) n++;
  alts[n++] =
      (alt){"every value divided by 255 (pixel range: your tensors are calib8's / 255; add scale=0.00392156862745098)",
            *base, POST_SCALE, 1.0f / 255.0f};
  alts[n++] =
      (alt){"every value multiplied by 255 (pixel range: your tensors are calib8's * 255)", *base, POST_SCALE, 255.0f};
  return n;
}

/* Does alternative a explain all K user images (and image i0 at least)? Returns 2 all, 1 only i0, 0 none. */
static int try_alt(const char *spec, const calib8_value_info *in, const alt *a, const user_set *u, int64_t i0) {
  pp_set s;
  if (run_pp(spec, in, &a->pp, u->k, false, &s)) return 0; /* this variant does not apply to these images */
  int64_t n = s.c * s.h * s.w, at;
  int res = 0;
  float *tmp = c8_malloc(sizeof(float) * (size_t)n);
  if (n != u->d[0] * u->d[1] * u->d[2] || !tmp) goto out;
  bool all = true, first = false;
  for (int64_t i = 0; i < u->k; i++) {
    float *x = s.x + i * n;
    if (a->post == POST_REVERSE) reverse_channels(x, s.c, s.h, s.w, s.layout);
    if (a->post == POST_OTHER_LAYOUT) {
      relayout(x, tmp, s.c, s.h, s.w, s.layout);
      memcpy(x, tmp, sizeof(float) * (size_t)n);
    }
    if (a->post == POST_SCALE)
      for (int64_t j = 0; j < n; j++) x[j] *= a->post_scale;
    bool ok = rel_diff(u->x + i * n, x, n, &at) <= PPCHECK_TOL;
    all &= ok;
    if (i == i0) first = ok;
  }
  res = all ? 2 : first ? 1 : 0;
out:
  c8_mfree(tmp);
  pp_set_free(&s);
  return res;
}

static const char *layout_name(c8_layout l) { return l == C8_LAYOUT_NCHW ? "NCHW" : "NHWC"; }

/* The report of a check whose images all match. */
static c8_status match_report(int64_t k, char **report) {
  char text[96];
  snprintf(text, sizeof text, "preprocessing check: %lld images match", (long long)k);
  if (!(*report = c8_strdup(text))) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory checking the preprocessing");
  return CALIB8_OK;
}

calib8_status calib8_preprocess_check(const calib8_model *model, const char *user_npy, const char *images,
                                      const char *preprocess, const char *template_name, char **report) {
  if (!model || !user_npy || !images || !report)
    return c8_error(CALIB8_INVALID_ARGUMENT, "calib8_preprocess_check needs a model, a .npy file, images and a report");
  int n_inputs = calib8_model_input_count(model);
  if (n_inputs != 1)
    return c8_error(CALIB8_INVALID_ARGUMENT,
                    "--check-preprocess compares image preprocessing; the model has %d inputs, images feed one", n_inputs);
  calib8_value_info in;
  calib8_model_input_info(model, 0, &in);
  const calib8_value_info *input = &in;
  /* "NAME=SRC" naming the one input is the same source as SRC */
  const char *spec = images, *eq = strchr(images, '=');
  if (eq && !strchr(images, '/') && strlen(in.name) == (size_t)(eq - images) && !strncmp(in.name, images, (size_t)(eq - images)))
    spec = eq + 1;
  c8_preprocess given, none;
  bool has_pp;
  c8_status st = c8_preprocess_from(preprocess, template_name, &given, &has_pp);
  if (st) return st;
  memset(&none, 0, sizeof none);
  const c8_preprocess *pp_in = has_pp ? &given : NULL, *pp = has_pp ? &given : &none;
  user_set u;
  pp_set s;
  if ((st = read_user(user_npy, &u))) return st;
  if ((st = run_pp(spec, input, pp_in, u.k, true, &s))) { /* NULL: no pipeline, as calibration opens it */
    c8_mfree(u.x);
    return st;
  }
  const char *npy_path = user_npy;
  int64_t n = s.c * s.h * s.w, at = 0;
  /* shape: the same per-image shape, or the other layout's */
  int64_t mine[3], other[3];
  if (s.layout == C8_LAYOUT_NCHW) {
    mine[0] = s.c, mine[1] = s.h, mine[2] = s.w;
    other[0] = s.h, other[1] = s.w, other[2] = s.c;
  } else {
    mine[0] = s.h, mine[1] = s.w, mine[2] = s.c;
    other[0] = s.c, other[1] = s.h, other[2] = s.w;
  }
  bool same = u.d[0] == mine[0] && u.d[1] == mine[1] && u.d[2] == mine[2];
  bool swapped = u.d[0] == other[0] && u.d[1] == other[1] && u.d[2] == other[2];
  if (!same && swapped) {
    /* the layout is the mistake; say whether the values agree once transposed */
    float *tmp = c8_malloc(sizeof(float) * (size_t)n);
    int64_t bad = -1;
    for (int64_t i = 0; tmp && i < u.k && bad < 0; i++) {
      relayout(s.x + i * n, tmp, s.c, s.h, s.w, s.layout);
      if (rel_diff(u.x + i * n, tmp, n, &at) > PPCHECK_TOL) bad = i;
    }
    c8_mfree(tmp);
    c8_layout ul = s.layout == C8_LAYOUT_NCHW ? C8_LAYOUT_NHWC : C8_LAYOUT_NCHW;
    st = c8_error(CALIB8_INVALID_ARGUMENT,
                  "--check-preprocess: '%s' holds %s tensors [%lld,%lld,%lld,%lld] but the model reads %s "
                  "[%lld,%lld,%lld]: layout (NCHW against NHWC), transpose them%s",
                  npy_path, layout_name(ul), (long long)u.k, (long long)u.d[0], (long long)u.d[1], (long long)u.d[2],
                  layout_name(s.layout), (long long)mine[0], (long long)mine[1], (long long)mine[2],
                  bad < 0 ? "; transposed, all images match calib8's" : "; even transposed, the values differ too");
    goto out;
  }
  if (!same) {
    st = c8_error(CALIB8_INVALID_ARGUMENT,
                  "--check-preprocess: '%s' holds tensors of [%lld,%lld,%lld] per image, calib8 makes [%lld,%lld,%lld] "
                  "(%s) for model input '%s'",
                  npy_path, (long long)u.d[0], (long long)u.d[1], (long long)u.d[2], (long long)mine[0],
                  (long long)mine[1], (long long)mine[2], layout_name(s.layout), input->name);
    goto out;
  }
  int64_t i0 = -1;
  double r0 = 0;
  for (int64_t i = 0; i < u.k && i0 < 0; i++) {
    double r = rel_diff(u.x + i * n, s.x + i * n, n, &at);
    if (r > PPCHECK_TOL) i0 = i, r0 = r;
  }
  if (i0 < 0) {
    st = match_report(u.k, report);
    goto out;
  }
  int64_t ch, y, x;
  if (s.layout == C8_LAYOUT_NCHW)
    ch = at / (s.h * s.w), y = at / s.w % s.h, x = at % s.w;
  else
    ch = at % s.c, x = at / s.c % s.w, y = at / (s.c * s.w);
  alt alts[16];
  int n_alts = build_alts(pp, (int)s.c, alts);
  const alt *full = NULL, *partial = NULL;
  for (int a = 0; a < n_alts && !full; a++) {
    int r = try_alt(spec, input, &alts[a], &u, i0);
    if (r == 2)
      full = &alts[a];
    else if (r == 1 && !partial)
      partial = &alts[a];
  }
  char head[6000];
  snprintf(head, sizeof head,
           "--check-preprocess: image %lld (%s) differs from calib8's preprocessing: relative max difference %.3g "
           "(channel %lld, y %lld, x %lld: yours %.6g, calib8 %.6g)",
           (long long)i0, s.source[i0], r0, (long long)ch, (long long)y, (long long)x, (double)u.x[i0 * n + at],
           (double)s.x[i0 * n + at]);
  if (full)
    st = c8_error(CALIB8_INVALID_ARGUMENT, "%s; all %lld images match calib8's output with %s", head, (long long)u.k,
                  full->what);
  else if (partial)
    st = c8_error(CALIB8_INVALID_ARGUMENT, "%s; this image matches calib8's output with %s", head, partial->what);
  else
    st = c8_error(CALIB8_INVALID_ARGUMENT,
                  "%s; no common mistake (channel order, layout, mean/std swap, resize against crop, pixel range) "
                  "explains it",
                  head);
out:
  c8_mfree(u.x);
  pp_set_free(&s);
  return st;
}
