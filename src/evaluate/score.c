#include "evaluate/score.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/tensor.h"
#include "evaluate/similarity.h"

/* Ties count before the label by index (numpy argsort order for equal scores is by index, and argmax returns the
 * first maximum); NaN scores rank first, and a NaN score for the label is a miss. */
int64_t c8_label_rank(const calib8_tensor *out, int64_t row, int64_t k, int64_t label) {
  double v = c8_get_f64(out, row * k + label);
  if (v != v) return k;
  int64_t r = 0;
  for (int64_t j = 0; j < k; j++) {
    double x = c8_get_f64(out, row * k + j);
    if (x > v || (x == v && j < label) || x != x) r++;
  }
  return r;
}

int64_t c8_topk_hits(const calib8_tensor *out, const char *out_name, int rows, const int64_t *labels, int k) {
  int64_t n = out->rank >= 1 ? out->dims[0] : 0;
  int64_t classes = n > 0 ? c8_numel(out) / n : 0;
  if (out->rank < 2 || n < rows || classes < 1 || calib8_dtype_size(out->dtype) == 0)
    return c8_error(CALIB8_INVALID_ARGUMENT, "output '%s' has shape %s; top-k needs scores shaped [batch, classes]",
                    out_name, C8_SHAPE_STR(out)),
           -1;
  int64_t hits = 0;
  for (int r = 0; r < rows; r++) {
    if (labels[r] >= classes)
      return c8_error(CALIB8_INVALID_ARGUMENT, "label %lld is out of range: output '%s' scores %lld classes",
                      (long long)labels[r], out_name, (long long)classes),
             -1;
    if (c8_label_rank(out, r, classes, labels[r]) < k) hits++;
  }
  return hits;
}

static const char *names[] = {"top1", "top5", "map50", "map", "similarity"};

int calib8_metric_parse(const char *name) {
  for (int i = 0; name && i < CALIB8_METRIC_COUNT; i++)
    if (!strcmp(name, names[i])) return i;
  return -1;
}
const char *calib8_metric_name(calib8_metric m) { return m >= 0 && m < CALIB8_METRIC_COUNT ? names[m] : "?"; }

calib8_status c8_scorer_init(c8_scorer *sc, calib8_metric metric, const calib8_model *m, const char *test,
                              const c8_preprocess *pp, const char *labels, int batch, int64_t limit) {
  memset(sc, 0, sizeof *sc);
  sc->metric = metric;
  sc->model = m;
  sc->test = test;
  sc->pp = pp;
  sc->batch = batch;
  sc->limit = limit;
  sc->det_opts = c8_det_options_default();
  calib8_status st = CALIB8_OK;
  if (metric == CALIB8_METRIC_SIMILARITY) return CALIB8_OK;
  if (!labels)
    return c8_error(CALIB8_INVALID_ARGUMENT, "metric %s needs --labels FILE (or use --metric similarity)", names[metric]);
  /* count the test samples once to check the labels */
  c8_feed f;
  const char *spec = test;
  if ((st = c8_feed_open(&f, m, 1, &spec, pp, batch, limit))) {
    c8_feed_close(&f);
    return st;
  }
  int64_t samples = c8_dataset_count(f.ds[0]), records = c8_dataset_record_count(f.ds[0]);
  if (limit && samples > limit) samples = limit;
  if (metric == CALIB8_METRIC_TOP1 || metric == CALIB8_METRIC_TOP5) {
    if (!(st = c8_class_labels_load(labels, &sc->cls)))
      st = c8_class_labels_check(sc->cls, limit ? -1 : samples, limit ? -1 : records, c8_dataset_spec(f.ds[0]));
  } else {
    if (!(st = c8_det_labels_load(labels, &sc->det)) && !limit)
      st = c8_det_labels_check(sc->det, samples, c8_dataset_spec(f.ds[0]));
  }
  c8_feed_close(&f);
  return st;
}

void c8_scorer_free(c8_scorer *sc) {
  c8_class_labels_free(sc->cls);
  c8_det_labels_free(sc->det);
  sc->cls = NULL;
  sc->det = NULL;
}

typedef struct {
  c8_scorer *sc;
  int64_t labels[65536];
  double geom[4 * 65536];
  bool has_geom;
} sample_ctx;

static calib8_status on_sample(void *user, const c8_sample *s, int row) {
  sample_ctx *c = user;
  if (row >= 65536) return c8_error(CALIB8_UNSUPPORTED, "batches of more than 65536 samples are not supported");
  if (c->sc->cls) {
    calib8_status st = c8_class_labels_get(c->sc->cls, s, &c->labels[row]);
    if (st) return st;
  }
  if (s->has_geom) {
    c->geom[4 * row] = s->geom.sx;
    c->geom[4 * row + 1] = s->geom.sy;
    c->geom[4 * row + 2] = s->geom.ox;
    c->geom[4 * row + 3] = s->geom.oy;
    c->has_geom = true;
  }
  return CALIB8_OK;
}

/* The top class of the first row of y and its probability: the score itself when every score of the row is in
 * [0, 1] (normalized by their sum), else the softmax of the scores as logits. */
static void first_sample(c8_scorer *sc, const calib8_tensor *y) {
  int64_t classes = c8_numel(y) / y->dims[0];
  const float *row = y->data;
  int best = 0;
  double mx = row[0], sum = 0;
  for (int64_t j = 1; j < classes; j++)
    if (row[j] > row[best]) best = (int)j;
  mx = row[best];
  bool probs = true;
  for (int64_t j = 0; j < classes; j++) probs &= row[j] >= 0 && row[j] <= 1;
  for (int64_t j = 0; j < classes; j++) sum += probs ? row[j] : exp(row[j] - mx);
  sc->first_class = best;
  sc->first_prob = probs ? row[best] / (sum > 0 ? sum : 1) : 1.0 / sum; /* softmax of logits */
}

calib8_status c8_score(c8_scorer *sc, calib8_session *s, double *score, int64_t *count) {
  c8_feed f;
  const char *spec = sc->test;
  sample_ctx *ctx = c8_calloc(1, sizeof *ctx);
  c8_det_eval *de = NULL;
  calib8_status st;
  int64_t n = 0;
  double acc = 0.0;
  if (!ctx) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory");
  ctx->sc = sc;
  sc->first_class = -1;
  sc->first_prob = 0;
  if ((st = c8_feed_open(&f, sc->model, 1, &spec, sc->pp, sc->batch, sc->limit))) goto out;
  if (sc->det && (st = c8_det_eval_create(&sc->det_opts, &de))) goto out;
  for (;;) {
    int rows;
    ctx->has_geom = false;
    if ((st = c8_feed_next(&f, on_sample, ctx, &rows))) goto out;
    if (!rows) break;
    if ((st = calib8_session_run(s, f.n_inputs, f.names, f.in))) goto out;
    calib8_tensor y;
    calib8_session_output(s, 0, &y);
    const char *yname = calib8_session_output_name(s, 0);
    if (sc->metric == CALIB8_METRIC_TOP1 || sc->metric == CALIB8_METRIC_TOP5) {
      int64_t h = c8_topk_hits(&y, yname, rows, ctx->labels, sc->metric == CALIB8_METRIC_TOP5 ? 5 : 1);
      if (h < 0) {
        st = CALIB8_INVALID_ARGUMENT; /* the message is set */
        goto out;
      }
      if (sc->first_class < 0 && y.dtype == CALIB8_FLOAT) first_sample(sc, &y);
      acc += (double)h;
    } else if (sc->metric == CALIB8_METRIC_MAP50 || sc->metric == CALIB8_METRIC_MAP) {
      if ((st = c8_det_check_output(&sc->det_opts, &y, yname))) goto out;
      if ((st = c8_det_eval_add(de, &y, rows, n, sc->det, ctx->has_geom ? ctx->geom : NULL))) goto out;
    } else {
      /* similarity against the reference: run it on the same batch */
      if (!sc->reference) {
        st = c8_error(CALIB8_INTERNAL, "similarity needs a reference session");
        goto out;
      }
      int n_out = calib8_session_output_count(s);
      if (n_out != calib8_session_output_count(sc->reference)) {
        st = c8_error(CALIB8_INVALID_ARGUMENT, "the model and its reference have different output counts");
        goto out;
      }
      /* copy the test outputs: running the reference may not disturb them, but keep it simple and safe */
      calib8_tensor yr;
      if ((st = calib8_session_run(sc->reference, f.n_inputs, f.names, f.in))) goto out;
      calib8_session_output(sc->reference, 0, &yr);
      bool classifier = !sc->cosine_only && y.rank == 2 && y.dims[1] > 1 && y.dtype == CALIB8_FLOAT && c8_same_shape(&y, &yr);
      if (classifier) {
        int64_t c = y.dims[1];
        for (int r = 0; r < rows; r++)
          acc += c8_argmax((const float *)y.data + r * c, (int)c) == c8_argmax((const float *)yr.data + r * c, (int)c);
      } else {
        for (int r = 0; r < rows; r++) {
          c8_similarity sim;
          c8_similarity_init(&sim);
          for (int o = 0; o < n_out; o++) {
            calib8_tensor a, b;
            calib8_session_output(s, o, &a);
            calib8_session_output(sc->reference, o, &b);
            if (a.dtype != CALIB8_FLOAT || !c8_same_shape(&a, &b) || a.rank < 1 || a.dims[0] < rows) continue;
            int64_t per = c8_numel(&a) / a.dims[0];
            c8_similarity_add(&sim, (const float *)b.data + r * per, (const float *)a.data + r * per, per);
          }
          acc += fmax(0.0, c8_similarity_cosine(&sim));
        }
      }
    }
    n += rows;
  }
  if (n == 0) {
    st = c8_error(CALIB8_INVALID_ARGUMENT, "test set '%s' holds no samples", sc->test);
    goto out;
  }
  if (sc->metric == CALIB8_METRIC_MAP50) *score = c8_det_eval_map50(de);
  else if (sc->metric == CALIB8_METRIC_MAP) *score = c8_det_eval_map(de);
  else *score = acc / (double)n;
  *count = n;
out:
  c8_feed_close(&f);
  c8_det_eval_destroy(de);
  c8_mfree(ctx);
  return st;
}
