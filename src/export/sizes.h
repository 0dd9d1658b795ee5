/* Model sizes for the JSON summaries (quantize's and auto's) and the report's summary. */
#ifndef C8_EXPORT_SIZES_H
#define C8_EXPORT_SIZES_H

#include <cjson/cJSON.h>

#include "plan/qplan.h"

/* Adds "sizes" to root: "fp32_file" (the bytes of model_path, when it can be read), "qdq_file" (the bytes the QDQ
 * model is written as, when qdq is given), "weights_fp32" (the constants of the plan's graph as they are) and
 * "weights_int8_estimate" (the same with the weights of the INT8 layers at one byte an element: what an INT8
 * runtime holds, scales aside). Under the caller's c8_json_begin. */
void c8_summary_add_sizes(cJSON *root, const c8_qplan *p, const c8_graph *qdq, const char *model_path);

#endif
