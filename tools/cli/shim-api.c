/* TEMPORARY (wip-search): weak stand-ins for public functions other engineers implement in parallel
 * (calib8_evaluator_create and friends in src/evaluate, calib8_method_name in src/threshold). The library's own
 * definitions replace these as soon as they exist; delete this file then. */
#include <string.h>

#include "calib8/calib8.h"
#include "evaluate/score.h"
#include "threshold/threshold.h"

#define WEAK __attribute__((weak))

WEAK const char *calib8_method_name(calib8_method m) { return c8_threshold_method_name((c8_threshold_method)m); }

WEAK int calib8_decode_parse(const char *name) { return name ? c8_decode_parse(name) : -1; }

WEAK calib8_eval_options calib8_eval_options_default(void) {
  calib8_eval_options o;
  memset(&o, 0, sizeof o);
  return o;
}

WEAK void calib8_evaluator_destroy(calib8_evaluator *ev) {
  if (!ev) return;
  c8_scorer_free(&ev->sc);
  calib8_session_destroy(ev->reference);
  c8_mfree(ev->test);
  c8_mfree(ev->labels);
  c8_mfree(ev);
}

WEAK calib8_status calib8_evaluator_create(const calib8_model *model, const char *test, const calib8_eval_options *o,
                                           calib8_evaluator **out) {
  calib8_evaluator *ev = c8_calloc(1, sizeof *ev);
  if (!ev) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory");
  bool has_pp = false;
  calib8_status st = c8_preprocess_from(o->data.preprocess, o->data.template_name, &ev->pp, &has_pp);
  if (!st && (!(ev->test = c8_strdup(test)) || (o->labels && !(ev->labels = c8_strdup(o->labels)))))
    st = c8_error(CALIB8_OUT_OF_MEMORY, "out of memory");
  if (!st)
    st = c8_scorer_init(&ev->sc, o->metric, model, ev->test, has_pp ? &ev->pp : NULL, ev->labels, o->data.batch,
                        o->data.limit);
  ev->sc.det_opts.decode = (c8_decode_kind)o->decode;
  ev->sc.cosine_only = o->cosine_only;
  if (!st && o->metric == CALIB8_METRIC_SIMILARITY) {
    calib8_session_options so = calib8_session_options_default();
    so.threads = o->threads;
    if (!(st = calib8_session_create(model, &so, &ev->reference))) ev->sc.reference = ev->reference;
  }
  if (st) {
    calib8_evaluator_destroy(ev);
    return st;
  }
  *out = ev;
  return CALIB8_OK;
}
