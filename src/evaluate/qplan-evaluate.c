/* FP32 against INT8 on one test set (calib8_qplan_evaluate, `calib8 quantize --test`). */
#include <math.h>
#include <stdbool.h>

#include "calib8/calib8.h"
#include "core/status.h"

calib8_status calib8_qplan_evaluate(const calib8_qplan *plan, const calib8_model *model, calib8_session *fp32,
                                    const char *test, const calib8_eval_options *eo, calib8_eval_result *fp32_result,
                                    calib8_eval_result *int8_result, char **out_predictions) {
  if (out_predictions) *out_predictions = NULL;
  if (!plan || !model || !fp32 || !test || !eo || !fp32_result || !int8_result)
    return c8_error(CALIB8_INVALID_ARGUMENT, "calib8_qplan_evaluate needs a plan, its model and FP32 session, a test "
                                             "set, options and two results");
  bool classify = eo->metric == CALIB8_METRIC_TOP1 || eo->metric == CALIB8_METRIC_TOP5;
  calib8_eval_options o = *eo;
  calib8_evaluator *ev = NULL;
  calib8_session *qs = NULL;
  calib8_eval_result fr = {.metric = eo->metric, .score = 1.0, .correct = -1, .first_class = -1}, qr;
  calib8_status st;
  /* class labels are checked against the whole test set, a sample limit or not: an evaluator checks them only
     when it is given no limit, so one without the limit checks them first */
  if (classify && o.data.limit) {
    o.data.limit = 0;
    if ((st = calib8_evaluator_create(model, test, &o, &ev))) return st;
    calib8_evaluator_destroy(ev);
    ev = NULL;
    o.data.limit = eo->data.limit;
  }
  if ((st = calib8_evaluator_create(model, test, &o, &ev))) return st;
  calib8_session_options so = calib8_session_options_default();
  so.threads = eo->threads;
  if ((st = calib8_qplan_session(plan, &so, &qs))) goto out;
  /* similarity's reference is the FP32 model itself: its own score is 1 */
  if (eo->metric != CALIB8_METRIC_SIMILARITY && (st = calib8_evaluate(ev, fp32, &fr))) goto out;
  if ((st = calib8_evaluate(ev, qs, &qr))) goto out;
  fr.labels = qr.labels = NULL; /* the evaluator's, gone with it */
  *fp32_result = fr;
  *int8_result = qr;
  /* the predictions are an extra: their failure leaves *out_predictions NULL and its message */
  if (out_predictions && calib8_predictions_json(ev, fp32, qs, CALIB8_REPORT_PREDICTIONS, out_predictions))
    *out_predictions = NULL;
out:
  calib8_session_destroy(qs);
  calib8_evaluator_destroy(ev);
  return st;
}

calib8_status calib8_qplan_compare_json(const calib8_qplan *plan, calib8_session *fp32, calib8_dataset *data,
                                        const calib8_session_options *so, double cosine_tol, double euclid_tol,
                                        const char *fp32_name, const char *int8_name, char **out_json) {
  if (!plan || !fp32 || !data || !out_json)
    return c8_error(CALIB8_INVALID_ARGUMENT, "calib8_qplan_compare_json needs a plan, an FP32 session, data and an "
                                             "output");
  calib8_session *qs = NULL;
  calib8_compare *cmp = NULL;
  calib8_status st = calib8_qplan_session(plan, so, &qs);
  if (!st) st = calib8_compare_create(fp32, qs, &cmp);
  if (!st) st = calib8_compare_dataset(cmp, data);
  if (!st) st = calib8_compare_json(cmp, cosine_tol, euclid_tol, fp32_name, int8_name, out_json);
  calib8_compare_destroy(cmp);
  calib8_session_destroy(qs);
  return st;
}
