/* The predictions of calib8_predictions_json (include/calib8/report.h) for JSON summaries built inside calib8. */
#ifndef C8_EVALUATE_PREDICTIONS_H
#define C8_EVALUATE_PREDICTIONS_H

#include <cjson/cJSON.h>

#include "calib8/calib8.h"
#include "graph/graph.h"

/* Adds "predictions" (the first 8 test samples, FP32 `fp32` against a session of `qdq`) to root. Best effort: a
 * summary never fails for them; when they cannot be made, root gets no member. */
void c8_predictions_add(cJSON *root, calib8_evaluator *ev, calib8_session *fp32, const c8_graph *qdq, int threads);

#endif
