/* The public evaluator (include/calib8/evaluate.h) over the scorer (evaluate/score.h). */
#include <stdio.h>
#include <string.h>

#include "data/npy.h"
#include "evaluate/score.h"
#include "load/model.h"

int calib8_decode_parse(const char *name) { return name ? c8_decode_parse(name) : -1; }

calib8_eval_options calib8_eval_options_default(void) {
  calib8_eval_options o;
  memset(&o, 0, sizeof o);
  o.metric = CALIB8_METRIC_TOP1;
  o.decode = C8_DECODE_YOLOV5;
  o.data = calib8_dataset_options_default();
  return o;
}

/* A reference for similarity reads the model's inputs and writes every output of the model (by name). */
static calib8_status check_reference(const calib8_model *m, const calib8_model *ref) {
  calib8_status st = calib8_model_check_same_inputs(m, m->path, ref, ref->path);
  if (st) return st;
  for (int i = 0; i < calib8_model_output_count(m); i++) {
    calib8_value_info a, b;
    bool found = false;
    calib8_model_output_info(m, i, &a);
    for (int j = 0; j < calib8_model_output_count(ref) && !found; j++) {
      calib8_model_output_info(ref, j, &b);
      found = !strcmp(a.name, b.name);
    }
    if (!found)
      return c8_error(CALIB8_INVALID_ARGUMENT,
                      "reference '%s' has no output named '%s' (an output of '%s'); similarity compares outputs by name",
                      ref->path, a.name, m->path);
  }
  return CALIB8_OK;
}

calib8_status calib8_evaluator_create(const calib8_model *model, const char *test, const calib8_eval_options *options,
                                      calib8_evaluator **out_evaluator) {
  calib8_eval_options o = options ? *options : calib8_eval_options_default();
  if (!model || !test || !out_evaluator)
    return c8_error(CALIB8_INVALID_ARGUMENT, "calib8_evaluator_create needs a model, a test set and an output pointer");
  if ((int)o.metric < 0 || o.metric >= CALIB8_METRIC_COUNT)
    return c8_error(CALIB8_INVALID_ARGUMENT, "metric %d is not a calib8_metric", (int)o.metric);
  if (o.decode < C8_DECODE_YOLOV5 || o.decode > C8_DECODE_BOXES)
    return c8_error(CALIB8_INVALID_ARGUMENT, "decode %d is not a calib8_decode_parse value", o.decode);
  if (o.data.batch < 0 || o.data.limit < 0 || o.threads < 0)
    return c8_error(CALIB8_INVALID_ARGUMENT, "evaluator options: batch %d, limit %lld and threads %d must not be negative",
                    o.data.batch, (long long)o.data.limit, o.threads);
  calib8_evaluator *ev = c8_calloc(1, sizeof *ev);
  if (!ev) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory creating an evaluator");
  bool has_pp = false;
  calib8_status st = c8_preprocess_from(o.data.preprocess, o.data.template_name, &ev->pp, &has_pp);
  if (st) goto fail;
  if (!(ev->test = c8_strdup(test)) || (o.labels && !(ev->labels = c8_strdup(o.labels)))) {
    st = c8_error(CALIB8_OUT_OF_MEMORY, "out of memory creating an evaluator");
    goto fail;
  }
  if ((st = c8_scorer_init(&ev->sc, o.metric, model, ev->test, has_pp ? &ev->pp : NULL, ev->labels, o.data.batch,
                           o.data.limit)))
    goto fail;
  ev->sc.det_opts.decode = (c8_decode_kind)o.decode;
  ev->sc.cosine_only = o.cosine_only != 0;
  if (o.metric == CALIB8_METRIC_SIMILARITY) {
    const calib8_model *ref = o.reference ? o.reference : model;
    if (ref != model && (st = check_reference(model, ref))) goto fail;
    calib8_session_options so = calib8_session_options_default();
    so.threads = o.threads;
    if ((st = calib8_session_create(ref, &so, &ev->reference))) goto fail;
    ev->sc.reference = ev->reference;
  }
  *out_evaluator = ev;
  return CALIB8_OK;
fail:
  calib8_evaluator_destroy(ev);
  return st;
}

void calib8_evaluator_destroy(calib8_evaluator *ev) {
  if (!ev) return;
  c8_scorer_free(&ev->sc);
  calib8_session_destroy(ev->reference);
  c8_mfree(ev->test);
  c8_mfree(ev->labels);
  c8_mfree(ev);
}

calib8_status calib8_evaluate(calib8_evaluator *ev, calib8_session *session, calib8_eval_result *out) {
  if (!ev || !session || !out)
    return c8_error(CALIB8_INVALID_ARGUMENT, "calib8_evaluate needs an evaluator, a session and a result");
  double score;
  int64_t count;
  calib8_status st = c8_score(&ev->sc, session, &score, &count);
  if (st) return st;
  calib8_eval_result r;
  memset(&r, 0, sizeof r);
  r.metric = ev->sc.metric;
  r.score = score;
  r.count = count;
  r.correct = ev->sc.correct;
  r.kind = r.metric != CALIB8_METRIC_SIMILARITY ? calib8_metric_name(r.metric)
           : ev->sc.sim_classifier             ? "top1_agreement"
                                               : "mean_cosine";
  r.labels = ev->sc.labels;
  r.first_class = ev->sc.first_class;
  r.first_prob = ev->sc.first_prob;
  *out = r;
  return CALIB8_OK;
}

calib8_status calib8_eval_result_write_json(const calib8_eval_result *r, const char *path) {
  if (!r || !path) return c8_error(CALIB8_INVALID_ARGUMENT, "calib8_eval_result_write_json needs a result and a path");
  char text[512], kind[160] = "";
  if (r->metric == CALIB8_METRIC_SIMILARITY) snprintf(kind, sizeof kind, ", \"kind\": \"%s\"", r->kind ? r->kind : "?");
  int n = snprintf(text, sizeof text, "{\"metric\": \"%s\"%s, \"value\": %.10g, \"count\": %lld", calib8_metric_name(r->metric),
                   kind, r->score, (long long)r->count);
  if (r->correct >= 0) n += snprintf(text + n, sizeof text - (size_t)n, ", \"correct\": %lld", (long long)r->correct);
  n += snprintf(text + n, sizeof text - (size_t)n, "}\n");
  return c8_write_file_atomic(path, text, (size_t)n);
}
