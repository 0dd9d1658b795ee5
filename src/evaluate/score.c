#include "evaluate/score.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/tensor.h"
#include "evaluate/similarity.h"

int64_t c8_class_rank(const calib8_tensor *t, int64_t row, int64_t k, int64_t cls) {
  double v = c8_get_f64(t, row * k + cls);
  if (v != v) return INT64_MAX; /* not k: with fewer than 5 classes, k would still be a top-5 hit */
  int64_t r = 0;
  for (int64_t j = 0; j < k; j++) {
    double x = c8_get_f64(t, row * k + j);
    if (x > v || (x == v && j < cls) || x != x) r++;
  }
  return r;
}

int64_t c8_class_argmax(const calib8_tensor *t, int64_t row, int64_t k) {
  int64_t best = -1;
  double bv = 0;
  for (int64_t j = 0; j < k; j++) {
    double x = c8_get_f64(t, row * k + j);
    if (x != x) return -1;
    if (best < 0 || x > bv) best = j, bv = x;
  }
  return best;
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
    if (c8_class_rank(out, r, classes, labels[r]) < k) hits++;
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
  sc->first_class = -1;
  sc->correct = -1;
  calib8_status st = CALIB8_OK;
  if (metric == CALIB8_METRIC_SIMILARITY) return CALIB8_OK;
  bool classes = metric == CALIB8_METRIC_TOP1 || metric == CALIB8_METRIC_TOP5;
  /* count the test samples once to check the labels */
  c8_feed f;
  const char *spec = test;
  if ((st = c8_feed_open(&f, m, 1, &spec, pp, batch, limit))) goto out;
  if (!labels && classes && c8_dataset_kind_of(f.ds[0]) == C8_DS_LMDB) {
    /* NNTC's LMDB sets keep their class labels beside data.mdb, one line per record */
    char path[4200];
    struct stat sb;
    snprintf(path, sizeof path, "%s/data.label", c8_dataset_dir(f.ds[0]));
    if (stat(path, &sb) == 0 && !(labels = sc->found_labels = c8_strdup(path))) {
      st = c8_error(CALIB8_OUT_OF_MEMORY, "out of memory");
      goto out;
    }
  }
  if (!labels) {
    st = classes ? c8_error(CALIB8_INVALID_ARGUMENT,
                            "metric %s needs class labels for test set '%s' (--labels FILE, or data.label beside an "
                            "LMDB), or use metric similarity",
                            names[metric], test)
                 : c8_error(CALIB8_INVALID_ARGUMENT,
                            "metric %s needs box labels for test set '%s' (--labels FILE: cls,x1,y1,x2,y2;... per "
                            "image)",
                            names[metric], test);
    goto out;
  }
  sc->labels = labels;
  int64_t samples = c8_dataset_count(f.ds[0]), records = c8_dataset_record_count(f.ds[0]);
  if (limit && samples > limit) samples = limit;
  if (classes) {
    if (!(st = c8_class_labels_load(labels, &sc->cls)))
      st = c8_class_labels_check(sc->cls, limit ? -1 : samples, limit ? -1 : records, c8_dataset_spec(f.ds[0]));
  } else {
    if (!(st = c8_det_labels_load(labels, &sc->det)) && !limit)
      st = c8_det_labels_check(sc->det, samples, c8_dataset_spec(f.ds[0]));
  }
out:
  c8_feed_close(&f);
  return st;
}

void c8_scorer_free(c8_scorer *sc) {
  c8_class_labels_free(sc->cls);
  c8_det_labels_free(sc->det);
  c8_mfree(sc->found_labels);
  sc->cls = NULL;
  sc->det = NULL;
  sc->found_labels = NULL;
  sc->labels = NULL;
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

/* The top class of the first row of y (float) and its probability: the score itself when every score of the row
 * is in [0, 1] (normalized by their sum), else the softmax of the scores as logits. */
static void first_sample(c8_scorer *sc, const calib8_tensor *y) {
  int64_t classes = c8_numel(y) / y->dims[0];
  const float *row = y->data;
  int64_t best = c8_class_argmax(y, 0, classes);
  if (best < 0) return; /* a NaN: no top class */
  double mx = row[best], sum = 0;
  bool probs = true;
  for (int64_t j = 0; j < classes; j++) probs &= row[j] >= 0 && row[j] <= 1;
  for (int64_t j = 0; j < classes; j++) sum += probs ? row[j] : exp(row[j] - mx);
  sc->first_class = (int)best;
  sc->first_prob = probs ? row[best] / (sum > 0 ? sum : 1) : 1.0 / sum; /* softmax of logits */
}

static int find_output(const calib8_session *s, const char *name) {
  for (int i = 0; i < calib8_session_output_count(s); i++)
    if (!strcmp(calib8_session_output_name(s, i), name)) return i;
  return -1;
}

/* Element types c8_get_f64 reads. */
static bool numeric(calib8_dtype t) {
  return calib8_dtype_size(t) > 0 && t != CALIB8_STRING && t != CALIB8_FLOAT16;
}

/* Similarity of one batch of n rows (the first `rows` real) between s and the reference, already run on the same
 * inputs: adds top-1 agreements or per-sample cosines to *acc. Every output of s is compared with the reference's
 * output of the same name; one that cannot be is an error, so no sample is scored on part of its outputs. */
static calib8_status similarity_batch(c8_scorer *sc, const calib8_session *s, int n, int rows, double *acc) {
  const calib8_session *ref = sc->reference;
  int n_out = calib8_session_output_count(s);
  int64_t per_sample = 0;
  for (int o = 0; o < n_out; o++) {
    const char *name = calib8_session_output_name(s, o);
    int ro = find_output(ref, name);
    if (ro < 0)
      return c8_error(CALIB8_INVALID_ARGUMENT,
                      "the reference has no output named '%s' (an output of the evaluated model); similarity compares "
                      "outputs by name",
                      name);
    calib8_tensor y, r;
    calib8_session_output(s, o, &y);
    calib8_session_output(ref, ro, &r);
    if (!numeric(y.dtype) || !numeric(r.dtype) || c8_numel(&y) != c8_numel(&r))
      return c8_error(CALIB8_INVALID_ARGUMENT,
                      "output '%s' is %s %s in the model but %s %s in the reference; similarity needs numbers of the "
                      "same size",
                      name, calib8_dtype_name(y.dtype), C8_SHAPE_STR(&y), calib8_dtype_name(r.dtype), C8_SHAPE_STR(&r));
    if (y.rank < 1 || y.dims[0] != n || r.rank < 1 || r.dims[0] != n)
      return c8_error(CALIB8_INVALID_ARGUMENT,
                      "output '%s' has shape %s; similarity needs outputs led by the batch dimension (%d)", name,
                      C8_SHAPE_STR(y.rank < 1 || y.dims[0] != n ? &y : &r), n);
    per_sample += c8_numel(&y) / n;
  }
  if (per_sample == 0)
    return c8_error(CALIB8_INVALID_ARGUMENT, "the model's outputs hold no values per sample; similarity has nothing to compare");
  calib8_tensor y0, r0;
  calib8_session_output(s, 0, &y0);
  calib8_session_output(ref, find_output(ref, calib8_session_output_name(s, 0)), &r0);
  if (!sc->sim_decided) {
    sc->sim_decided = true;
    sc->sim_classifier = !sc->cosine_only && r0.rank == 2 && r0.dims[1] > 1;
  }
  if (sc->sim_classifier) {
    int64_t k = r0.dims[1];
    for (int row = 0; row < rows; row++) {
      int64_t a = c8_class_argmax(&y0, row, k), b = c8_class_argmax(&r0, row, k);
      if (a >= 0 && a == b) sc->correct++, *acc += 1;
    }
    return CALIB8_OK;
  }
  for (int row = 0; row < rows; row++) {
    /* per output partial sums, then the sample's total, in the order c8_similarity_add uses */
    c8_similarity sim;
    c8_similarity_init(&sim);
    for (int o = 0; o < n_out; o++) {
      calib8_tensor y, r;
      calib8_session_output(s, o, &y);
      calib8_session_output(ref, find_output(ref, calib8_session_output_name(s, o)), &r);
      int64_t per = c8_numel(&y) / n;
      double ab = 0, aa = 0, bb = 0;
      for (int64_t j = row * per; j < (row + 1) * per; j++) {
        double a = c8_get_f64(&r, j), b = c8_get_f64(&y, j);
        ab += a * b, aa += a * a, bb += b * b;
      }
      sim.ab += ab, sim.aa += aa, sim.bb += bb;
    }
    double c = c8_similarity_cosine(&sim);
    if (!(c > 0)) c = 0; /* opposite or NaN: no agreement */
    if (c > 1) c = 1;
    *acc += c;
  }
  return CALIB8_OK;
}

calib8_status c8_score(c8_scorer *sc, calib8_session *s, double *score, int64_t *count) {
  c8_feed f;
  const char *spec = sc->test;
  sample_ctx *ctx = c8_calloc(1, sizeof *ctx);
  c8_det_eval *de = NULL;
  calib8_status st;
  int64_t n = 0;
  double acc = 0.0;
  bool topk = sc->metric == CALIB8_METRIC_TOP1 || sc->metric == CALIB8_METRIC_TOP5;
  memset(&f, 0, sizeof f);
  if (!ctx) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory");
  ctx->sc = sc;
  sc->first_class = -1;
  sc->first_prob = 0;
  sc->correct = topk || sc->metric == CALIB8_METRIC_SIMILARITY ? 0 : -1;
  sc->sim_decided = sc->sim_classifier = false;
  if (sc->metric == CALIB8_METRIC_SIMILARITY && !sc->reference) {
    st = c8_error(CALIB8_INVALID_ARGUMENT, "metric similarity needs a reference session");
    goto out;
  }
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
    if (topk) {
      int64_t h = c8_topk_hits(&y, yname, rows, ctx->labels, sc->metric == CALIB8_METRIC_TOP5 ? 5 : 1);
      if (h < 0) {
        st = CALIB8_INVALID_ARGUMENT; /* the message is set */
        goto out;
      }
      if (sc->first_class < 0 && n == 0 && y.dtype == CALIB8_FLOAT) first_sample(sc, &y);
      acc += (double)h;
      sc->correct += h;
    } else if (sc->metric == CALIB8_METRIC_MAP50 || sc->metric == CALIB8_METRIC_MAP) {
      if ((st = c8_det_check_output(&sc->det_opts, &y, yname))) goto out;
      if ((st = c8_det_eval_add(de, &y, rows, n, sc->det, ctx->has_geom ? ctx->geom : NULL))) goto out;
    } else {
      /* similarity against the reference: run it on the same batch */
      if ((st = calib8_session_run(sc->reference, f.n_inputs, f.names, f.in))) goto out;
      if ((st = similarity_batch(sc, s, (int)f.in[0].dims[0], rows, &acc))) goto out;
    }
    n += rows;
  }
  if (n == 0) {
    st = c8_error(CALIB8_INVALID_ARGUMENT, "test set '%s' holds no samples", sc->test);
    goto out;
  }
  if (sc->metric == CALIB8_METRIC_SIMILARITY && !sc->sim_classifier) sc->correct = -1; /* cosines count nothing */
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
