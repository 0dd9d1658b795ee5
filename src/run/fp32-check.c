/* The FP32 conversion check (include/calib8/plan.h, calib8_fp32_check): the graph calib8 runs (optimized,
 * perhaps equalized) against the model as written, on the first batch of a dataset. */
#include <math.h>

#include "calib8/plan.h"
#include "core/status.h"
#include "core/tensor.h"

calib8_status calib8_fp32_check(calib8_session *session, const calib8_model *model, calib8_dataset *data,
                                double tolerance, int threads, double *out_max_diff) {
  if (!session || !model || !data)
    return c8_error(CALIB8_INVALID_ARGUMENT, "FP32 conversion check: session, model and dataset are needed");
  if (!(tolerance >= 0))
    return c8_error(CALIB8_INVALID_ARGUMENT, "FP32 conversion check: tolerance %g is not a number >= 0", tolerance);
  calib8_session_options so = calib8_session_options_default();
  so.threads = threads;
  so.optimize = 0;
  calib8_session *raw = NULL;
  calib8_batch b;
  double worst = 0;
  c8_status st = calib8_session_create(model, &so, &raw);
  if (st || (st = calib8_dataset_next(data, &b)) || !b.rows) goto out;
  if ((st = calib8_session_run(session, b.n_inputs, b.names, b.inputs))) goto out;
  if ((st = calib8_session_run(raw, b.n_inputs, b.names, b.inputs))) goto out;
  for (int o = 0; o < calib8_session_output_count(session); o++) {
    calib8_tensor x, y;
    calib8_session_output(session, o, &x);
    calib8_session_output(raw, o, &y);
    if (x.dtype != CALIB8_FLOAT || !c8_same_shape(&x, &y)) continue;
    double mx = 0, diff = 0;
    for (int64_t k = 0; k < c8_numel(&x); k++) {
      mx = fmax(mx, fabs(((float *)y.data)[k]));
      diff = fmax(diff, fabs(((float *)x.data)[k] - ((float *)y.data)[k]));
    }
    double rel = mx > 0 ? diff / mx : diff;
    worst = fmax(worst, rel);
    if (rel > tolerance) {
      st = c8_error(CALIB8_INTERNAL,
                    "FP32 conversion check: output '%s' of the optimized graph differs from the original by a relative "
                    "max difference of %.3g, more than --fp32-diff %.3g",
                    calib8_session_output_name(session, o), rel, tolerance);
      goto out;
    }
  }
out:
  calib8_session_destroy(raw);
  if (!st) st = calib8_dataset_rewind(data);
  if (!st && out_max_diff) *out_max_diff = worst;
  return st;
}
