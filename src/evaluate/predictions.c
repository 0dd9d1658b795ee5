/* FP32 and INT8 predictions side by side for the first samples of a test set (include/calib8/report.h), as AMCT
 * prints its "Origin Model Prediction" and "Quantized Model Prediction": the report draws them, the JSON holds them.
 * Read through the evaluator, so the samples, preprocessing, labels and detection decoder are the ones scored. */
#include <math.h>
#include <png.h>
#include <stdlib.h>
#include <string.h>

#include "calib8/calib8.h"
#include "core/alloc.h"
#include "core/json.h"
#include "core/status.h"
#include "evaluate/predictions.h"
#include "evaluate/score.h"
#include "run/session.h"
#include "evaluate/similarity.h"

#define PRED_MAX 64       /* samples */
#define THUMB_SIDE 96     /* longest thumbnail side, pixels */
#define TOP_CLASSES 3
#define MAX_BOXES 20      /* per model and sample, best scores first */
#define BOX_CONF 0.25f    /* a drawn box's least score (mAP keeps every box above 0.001; a picture shows few) */

typedef struct png_buf {
  unsigned char *p;
  size_t n, cap;
  bool oom;
} png_buf;

static void png_put(png_structp png, png_bytep data, png_size_t len) {
  png_buf *b = png_get_io_ptr(png);
  if (b->oom) return;
  if (b->n + len > b->cap) {
    size_t cap = (b->n + len) * 2;
    unsigned char *q = c8_malloc(cap);
    if (!q) {
      b->oom = true;
      return;
    }
    if (b->n) memcpy(q, b->p, b->n);
    c8_mfree(b->p);
    b->p = q, b->cap = cap;
  }
  memcpy(b->p + b->n, data, len);
  b->n += len;
}
static void png_flush_none(png_structp png) { (void)png; }

/* 8-bit grey or RGB pixels as a PNG in memory (c8_mfree); NULL when libpng or memory fails. */
static unsigned char *png_encode(const unsigned char *pix, int w, int h, int ch, size_t *len) {
  png_buf b = {0};
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
  png_infop info = png ? png_create_info_struct(png) : NULL;
  if (!png || !info) {
    png_destroy_write_struct(&png, &info);
    return NULL;
  }
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    c8_mfree(b.p);
    return NULL;
  }
  png_set_write_fn(png, &b, png_put, png_flush_none);
  png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8, ch == 3 ? PNG_COLOR_TYPE_RGB : PNG_COLOR_TYPE_GRAY,
               PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  for (int y = 0; y < h; y++) png_write_row(png, (png_const_bytep)(pix + (size_t)y * (size_t)w * (size_t)ch));
  png_write_end(png, NULL);
  png_destroy_write_struct(&png, &info);
  if (b.oom) {
    c8_mfree(b.p);
    return NULL;
  }
  *len = b.n;
  return b.p;
}

/* "data:image/png;base64,..." (c8_mfree). */
static char *data_uri(const unsigned char *d, size_t n) {
  static const char tb[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  static const char head[] = "data:image/png;base64,";
  char *s = c8_malloc(sizeof head + (n + 2) / 3 * 4);
  if (!s) return NULL;
  memcpy(s, head, sizeof head - 1);
  char *o = s + sizeof head - 1;
  for (size_t i = 0; i < n; i += 3) {
    unsigned v = (unsigned)d[i] << 16 | (i + 1 < n ? (unsigned)d[i + 1] << 8 : 0) | (i + 2 < n ? d[i + 2] : 0);
    *o++ = tb[v >> 18 & 63];
    *o++ = tb[v >> 12 & 63];
    *o++ = i + 1 < n ? tb[v >> 6 & 63] : '=';
    *o++ = i + 2 < n ? tb[v & 63] : '=';
  }
  *o = 0;
  return s;
}

/* The input row as a thumbnail when it looks like an image: float [N, 1|3, H, W] or [N, H, W, 1|3], H and W at
 * least 8. The preprocessed values are shown, stretched to the sample's own min and max (mean/std normalization
 * undone in look, not in value); box-averaged down to THUMB_SIDE. Adds "thumbnail", "width", "height" (the model
 * input's pixels, the frame the boxes are drawn in). */
static void thumbnail(cJSON *o, const calib8_tensor *x, int row) {
  if (x->dtype != CALIB8_FLOAT || x->rank != 4) return;
  bool nchw = (x->dims[1] == 1 || x->dims[1] == 3) && x->dims[2] >= 8 && x->dims[3] >= 8;
  bool nhwc = !nchw && (x->dims[3] == 1 || x->dims[3] == 3) && x->dims[1] >= 8 && x->dims[2] >= 8;
  if (!nchw && !nhwc) return;
  int ch = (int)(nchw ? x->dims[1] : x->dims[3]), H = (int)(nchw ? x->dims[2] : x->dims[1]),
      W = (int)(nchw ? x->dims[3] : x->dims[2]);
  const float *p = (const float *)x->data + (int64_t)row * ch * H * W;
  float lo = INFINITY, hi = -INFINITY;
  for (int64_t i = 0; i < (int64_t)ch * H * W; i++)
    if (isfinite(p[i])) lo = fminf(lo, p[i]), hi = fmaxf(hi, p[i]);
  if (!(hi >= lo)) return;
  int step = ((H > W ? H : W) + THUMB_SIDE - 1) / THUMB_SIDE;
  int w = W / step, h = H / step;
  unsigned char *pix = c8_malloc((size_t)w * (size_t)h * (size_t)ch);
  if (!pix) return;
  for (int y = 0; y < h; y++)
    for (int xx = 0; xx < w; xx++)
      for (int c = 0; c < ch; c++) {
        double s = 0;
        int cnt = 0;
        for (int dy = 0; dy < step; dy++)
          for (int dx = 0; dx < step; dx++) {
            int Y = y * step + dy, X = xx * step + dx;
            float v = nchw ? p[((int64_t)c * H + Y) * W + X] : p[((int64_t)Y * W + X) * ch + c];
            if (isfinite(v)) s += v, cnt++;
          }
        double v = cnt && hi > lo ? (s / cnt - lo) / (hi - lo) : 0;
        pix[((size_t)y * (size_t)w + (size_t)xx) * (size_t)ch + (size_t)c] = (unsigned char)lrint(255 * v);
      }
  size_t n = 0;
  unsigned char *png = png_encode(pix, w, h, ch, &n);
  c8_mfree(pix);
  char *uri = png ? data_uri(png, n) : NULL;
  c8_mfree(png);
  if (!uri) return;
  cJSON_AddStringToObject(o, "thumbnail", uri);
  cJSON_AddNumberToObject(o, "width", W);
  cJSON_AddNumberToObject(o, "height", H);
  c8_mfree(uri);
}

/* The TOP_CLASSES best classes of row `row` of scores [N, classes] with their probabilities, by the rule of the
 * score's first sample: the scores themselves when all lie in [0, 1] (normalized by their sum), else their softmax. */
static void top_classes(cJSON *o, const calib8_tensor *y, int row) {
  int64_t k = c8_numel(y) / y->dims[0];
  const float *r = (const float *)y->data + (int64_t)row * k;
  cJSON *arr = c8_json_attach(o, "top", cJSON_CreateArray());
  int64_t best = c8_class_argmax(y, row, k);
  if (!arr || best < 0) return; /* a NaN: no class ranks first */
  bool probs = true;
  double mx = r[best], sum = 0;
  for (int64_t j = 0; j < k; j++) probs &= r[j] >= 0 && r[j] <= 1;
  for (int64_t j = 0; j < k; j++) sum += probs ? r[j] : exp(r[j] - mx);
  for (int64_t rank = 0; rank < TOP_CLASSES && rank < k; rank++)
    for (int64_t c = 0; c < k; c++) {
      if (c8_class_rank(y, row, k, c) != rank) continue;
      cJSON *e = c8_json_attach(arr, NULL, cJSON_CreateObject());
      cJSON_AddNumberToObject(e, "class", (double)c);
      cJSON_AddNumberToObject(e, "p", probs ? r[c] / (sum > 0 ? sum : 1) : exp(r[c] - mx) / sum);
      break;
    }
}

typedef struct box_rec {
  float score, b[4];
  int cls;
} box_rec;

static int by_score(const void *a, const void *b) {
  float x = ((const box_rec *)a)->score, y = ((const box_rec *)b)->score;
  return x > y ? -1 : x < y;
}

/* Detections of every row of y decoded as the metric decodes them (class-wise NMS), kept above BOX_CONF, in model
 * input pixels: "boxes": [[x1, y1, x2, y2, score, class], ...] best first, at most MAX_BOXES. */
static c8_status boxes(cJSON **per_row, const c8_scorer *sc, const calib8_tensor *y, int rows) {
  c8_det_options o = sc->det_opts;
  o.conf = BOX_CONF;
  c8_det_eval *e = NULL;
  c8_status st = c8_det_eval_create(&o, &e);
  if (!st) st = c8_det_eval_add(e, y, rows, 0, NULL, NULL);
  int64_t n = st ? 0 : c8_det_eval_count(e);
  box_rec *rec = n ? c8_malloc(sizeof *rec * (size_t)n) : NULL;
  if (n && !rec) st = c8_error(CALIB8_OUT_OF_MEMORY, "out of memory listing the predicted boxes");
  for (int r = 0; r < rows && !st; r++) {
    int64_t m = 0;
    for (int64_t i = 0; i < n; i++) {
      int64_t image;
      c8_det_eval_get(e, i, &image, &rec[m].cls, &rec[m].score, rec[m].b);
      if (image == r) m++;
    }
    qsort(rec, (size_t)m, sizeof *rec, by_score);
    cJSON *arr = c8_json_attach(per_row[r], "boxes", cJSON_CreateArray());
    for (int64_t i = 0; i < m && i < MAX_BOXES && arr; i++) {
      cJSON *b = c8_json_attach(arr, NULL, cJSON_CreateArray());
      /* to 0.01 pixel and 0.0001 of score: a drawing's precision, not the float's */
      for (int k = 0; k < 4 && b; k++) c8_json_attach(b, NULL, cJSON_CreateNumber(round(rec[i].b[k] * 100) / 100));
      if (b) c8_json_attach(b, NULL, cJSON_CreateNumber(round(rec[i].score * 1e4) / 1e4));
      if (b) c8_json_attach(b, NULL, cJSON_CreateNumber(rec[i].cls));
    }
  }
  c8_mfree(rec);
  c8_det_eval_destroy(e);
  return st;
}

typedef struct pred_ctx {
  const c8_scorer *sc;
  cJSON **rows; /* this batch's rows of the answer */
  int n;        /* how many */
} pred_ctx;

/* Per sample: where it came from and its ground truth (class, or boxes mapped into model input pixels). */
static calib8_status on_sample(void *user, const c8_sample *s, int row) {
  pred_ctx *c = user;
  if (row >= c->n || !c->rows[row]) return CALIB8_OK;
  cJSON *o = c->rows[row];
  cJSON_AddNumberToObject(o, "index", (double)s->index);
  if (s->name) cJSON_AddStringToObject(o, "name", s->name);
  if (c->sc->cls) {
    int64_t label;
    calib8_status st = c8_class_labels_get(c->sc->cls, s, &label);
    if (st) return st;
    cJSON_AddNumberToObject(o, "label", (double)label);
  }
  const c8_det_labels *d = c->sc->det;
  if (d && s->index < d->n_images) {
    cJSON *arr = c8_json_attach(o, "truth", cJSON_CreateArray());
    for (int64_t i = d->first[s->index]; i < d->first[s->index + 1] && arr; i++) {
      const c8_box *b = &d->boxes[i];
      double sx = s->has_geom ? s->geom.sx : 1, sy = s->has_geom ? s->geom.sy : 1;
      double ox = s->has_geom ? s->geom.ox : 0, oy = s->has_geom ? s->geom.oy : 0;
      double v[5] = {b->x1 * sx + ox, b->y1 * sy + oy, b->x2 * sx + ox, b->y2 * sy + oy, (double)b->cls};
      cJSON *e = c8_json_attach(arr, NULL, cJSON_CreateArray());
      for (int k = 0; k < 5 && e; k++) c8_json_attach(e, NULL, cJSON_CreateNumber(v[k]));
    }
  }
  return CALIB8_OK;
}

static int output_named(const calib8_session *s, const char *name) {
  for (int i = 0; i < calib8_session_output_count(s); i++)
    if (!strcmp(calib8_session_output_name(s, i), name)) return i;
  return -1;
}

/* The two models' first outputs read as the metric reads them. */
static c8_status predict(const c8_scorer *sc, calib8_session *s, int rows, cJSON **dst) {
  calib8_tensor y;
  calib8_session_output(s, 0, &y);
  const char *name = calib8_session_output_name(s, 0);
  if (sc->metric == CALIB8_METRIC_MAP50 || sc->metric == CALIB8_METRIC_MAP) {
    c8_status st = c8_det_check_output(&sc->det_opts, &y, name);
    return st ? st : boxes(dst, sc, &y, rows);
  }
  /* classes: top1/top5, and similarity when the first output scores classes */
  if (y.dtype == CALIB8_FLOAT && y.rank == 2 && y.dims[1] > 1)
    for (int r = 0; r < rows; r++) top_classes(dst[r], &y, r);
  return CALIB8_OK;
}

/* Per sample of the batch: the cosine of the INT8 outputs against the FP32 ones (all outputs, matched by name). */
static void cosines(calib8_session *fp32, calib8_session *int8, int rows, cJSON **dst) {
  for (int r = 0; r < rows; r++) {
    c8_similarity sim;
    c8_similarity_init(&sim);
    for (int o = 0; o < calib8_session_output_count(int8); o++) {
      int k = output_named(fp32, calib8_session_output_name(int8, o));
      calib8_tensor a, b;
      if (k < 0) continue;
      calib8_session_output(fp32, k, &a);
      calib8_session_output(int8, o, &b);
      if (c8_numel(&a) != c8_numel(&b) || a.rank < 1 || a.dims[0] < rows || a.dtype != CALIB8_FLOAT ||
          b.dtype != CALIB8_FLOAT)
        continue;
      int64_t per = c8_numel(&a) / a.dims[0];
      for (int64_t j = r * per; j < (r + 1) * per; j++) {
        double x = ((const float *)a.data)[j], y = ((const float *)b.data)[j];
        sim.ab += x * y, sim.aa += x * x, sim.bb += y * y;
      }
    }
    double c = c8_similarity_cosine(&sim);
    if (isfinite(c)) cJSON_AddNumberToObject(dst[r], "cosine", c);
  }
}

calib8_status calib8_predictions_json(calib8_evaluator *ev, calib8_session *fp32, calib8_session *int8, int n,
                                      char **out_json) {
  if (!ev || !fp32 || !int8 || !out_json || n < 1 || n > PRED_MAX)
    return c8_error(CALIB8_INVALID_ARGUMENT,
                    "calib8_predictions_json needs an evaluator, two sessions, an output and 1 to %d samples (got %d)",
                    PRED_MAX, n);
  const c8_scorer *sc = &ev->sc;
  c8_feed f;
  memset(&f, 0, sizeof f);
  const char *spec = sc->test;
  cJSON *all[PRED_MAX] = {0}, *fp[PRED_MAX] = {0}, *q[PRED_MAX] = {0};
  pred_ctx ctx = {.sc = sc};
  c8_json_begin();
  cJSON *root = cJSON_CreateArray();
  c8_status st = root ? CALIB8_OK : c8_error(CALIB8_OUT_OF_MEMORY, "out of memory listing predictions");
  if (!st) st = c8_feed_open(&f, sc->model, 1, &spec, sc->pp, sc->batch, sc->limit > 0 && sc->limit < n ? sc->limit : n);
  for (int r = 0; r < n && !st; r++) all[r] = c8_json_attach(root, NULL, cJSON_CreateObject());
  int done = 0;
  while (!st && done < n) {
    int rows = 0;
    ctx.rows = all + done, ctx.n = n - done;
    if ((st = c8_feed_next(&f, on_sample, &ctx, &rows)) || rows == 0) break;
    if (rows > n - done) rows = n - done;
    for (int r = done; r < done + rows && !st; r++) {
      if (!all[r]) continue;
      thumbnail(all[r], &f.in[0], r - done);
      fp[r] = c8_json_attach(all[r], "fp32", cJSON_CreateObject());
      q[r] = c8_json_attach(all[r], "int8", cJSON_CreateObject());
      if (!fp[r] || !q[r]) st = c8_error(CALIB8_OUT_OF_MEMORY, "out of memory listing predictions");
    }
    if (!st) st = calib8_session_run(fp32, f.n_inputs, f.names, f.in);
    if (!st) st = predict(sc, fp32, rows, fp + done);
    if (!st) st = calib8_session_run(int8, f.n_inputs, f.names, f.in);
    if (!st) st = predict(sc, int8, rows, q + done);
    if (!st) cosines(fp32, int8, rows, all + done);
    done += rows;
  }
  if (!st && done == 0) st = c8_error(CALIB8_INVALID_ARGUMENT, "test set '%s' holds no samples", sc->test);
  /* rows the test set could not fill (fewer samples than n) are dropped */
  while (!st && cJSON_GetArraySize(root) > done) cJSON_DeleteItemFromArray(root, cJSON_GetArraySize(root) - 1);
  char *text = st ? NULL : c8_json_print(root);
  if (!st && !text) st = c8_error(CALIB8_OUT_OF_MEMORY, "out of memory listing predictions");
  cJSON_Delete(root);
  c8_feed_close(&f);
  if (!st) *out_json = text;
  return st;
}

void c8_predictions_add(cJSON *root, calib8_evaluator *ev, calib8_session *fp32, const c8_graph *qdq, int threads) {
  calib8_session_options so = calib8_session_options_default();
  so.threads = threads;
  calib8_session *qs = NULL;
  char *text = NULL;
  if (!c8_session_create_from_graph(qdq, &so, &qs) && !calib8_predictions_json(ev, fp32, qs, 8, &text)) {
    cJSON *pred = cJSON_Parse(text);
    if (cJSON_IsArray(pred)) c8_json_attach(root, "predictions", pred);
    else cJSON_Delete(pred);
  }
  calib8_free(text);
  calib8_session_destroy(qs);
}
