/* calib8 HTML report: one self-contained file (inline CSS, SVG and script; no network) that shows where the
 * accuracy went: summary, layers worst first, histograms with every method's threshold, the search (docs/report.md).
 *
 * Its input is the JSON calib8 already writes (quantize's and auto's --json summary, compare's --json), plus
 * the calibration for histograms. Every figure is drawn from one JSON document, embedded in the file as
 * <script type="application/json" id="calib8-data">, and calib8_report_data returns that document: nothing in
 * the report can be seen but not scripted.
 *
 *   char *summary = NULL;
 *   calib8_qplan_summary_json(plan, &extra, &summary);
 *   calib8_report_input in = {.summary_json = summary, .plan = plan, .calibration = cal};
 *   if (calib8_report_write(&in, "report.html")) fprintf(stderr, "warning: %s\n", calib8_last_error());
 *   calib8_free(summary);
 */
/* calib8.h first, outside the guard: it declares the core and includes every part header in order. */
#include "calib8/calib8.h"

#ifndef CALIB8_REPORT_H
#define CALIB8_REPORT_H

#include "calib8/evaluate.h"
#include "calib8/plan.h"
#include "calib8/search.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct calib8_report_input {
  const char *title;                      /* NULL: the model's name */
  const char *summary_json;               /* a quantize or auto JSON summary (text), or NULL */
  const char *compare_json;               /* a compare JSON (text), or NULL */
  const calib8_qplan *plan;               /* borrowed, or NULL: the precision of each tensor's producer */
  const calib8_calibration *calibration;  /* borrowed, or NULL: histograms and every method's threshold */
  const char *predictions_json;           /* calib8_predictions_json's text, or NULL: no predictions section */
  const char *sensitivity_json;           /* calib8_sensitivity_json's text, or NULL: no sensitivity section */
} calib8_report_input;

/* A sensitivity ranking (calib8/search.h) as JSON text (calib8_free): {"metric": metric_name (NULL: cosine),
 * "loss": "metric drop" or "1 - cosine", "layers": [{"layer", "op", "loss", "best_method"}, ...]} most sensitive
 * first. CALIB8_INVALID_ARGUMENT, CALIB8_OUT_OF_MEMORY. */
calib8_status calib8_sensitivity_json(const calib8_sensitivity *ranking, const char *metric_name, char **out_json);

/* The FP32 and INT8 predictions of the first n (1 to 64) samples of the evaluator's test set, as a JSON array
 * (calib8_free), read as the evaluator's metric reads the first output: per sample "index", "name" (a file's),
 * "label" (top1/top5) or "truth" (detection boxes [x1, y1, x2, y2, class] in model input pixels), "thumbnail"
 * (a PNG data: URI of the preprocessed input when it is an image, float [N, 1|3, H, W] or [N, H, W, 1|3]) with
 * "width" and "height" (the input's pixels), "cosine" (INT8 outputs against FP32 ones), and per model ("fp32",
 * "int8"): "top", the 3 best classes [{"class", "p"}] (classifiers), or "boxes", [x1, y1, x2, y2, score, class]
 * with score above 0.25 after the metric's NMS, best first, at most 20 (detectors). Both sessions read the
 * evaluator's inputs; the INT8 one is typically calib8_qplan_session's. CALIB8_INVALID_ARGUMENT (arguments, an
 * output the decoder cannot read, an empty test set); errors of the dataset and the sessions. */
calib8_status calib8_predictions_json(calib8_evaluator *ev, calib8_session *fp32, calib8_session *int8, int n,
                                      char **out_json);

/* The report's JSON document (calib8_free): {"calib8", "title", "summary", "compare", "histograms", "predictions",
 * "sensitivity", "graph"}.
 * Histograms: per quantized tensor 256 bins over [-range, range) and "thresholds" by method.
 * CALIB8_INVALID_ARGUMENT when a JSON text does not parse or no summary, comparison or sensitivity is given; CALIB8_OUT_OF_MEMORY. */
calib8_status calib8_report_data(const calib8_report_input *in, char **out_json);
/* Writes the HTML report whole (a temporary renamed onto path) or not at all. CALIB8_IO naming the file. */
calib8_status calib8_report_write(const calib8_report_input *in, const char *path);

/* The JSON summary calib8_qplan_write writes to outputs.json, as text (calib8_free). CALIB8_OUT_OF_MEMORY. */
calib8_status calib8_qplan_summary_json(const calib8_qplan *plan, const calib8_summary_extra *extra, char **out_json);
/* The JSON calib8_compare_write_json writes, as text (calib8_free). Same errors, no CALIB8_IO. */
calib8_status calib8_compare_json(const calib8_compare *cmp, double cosine_tol, double euclid_tol,
                                  const char *fp32_name, const char *int8_name, char **out_json);

#ifdef __cplusplus
}
#endif
#endif
