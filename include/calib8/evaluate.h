/* calib8 evaluation: a model's score on a test set (each metric defined once), and the layer-wise
 * comparison of an FP32 model with its INT8 model.
 *
 * Metrics (docs/metrics.md):
 *   top1, top5   class labels; the first output scores [N, classes]
 *   map50, map   detection labels `cls,x1,y1,x2,y2;...`; the first output is decoded (yolov5, yolov8, boxes)
 *   similarity   no labels: agreement with a reference model on the same inputs, outputs matched by name:
 *                top-1 agreement when the reference's first output is [N, classes > 1], else the mean
 *                per-sample cosine of all outputs, clamped to [0, 1]
 * A test set where no output can be compared (missing names, other sizes, no samples) is an error, never a
 * score. Or the caller scores a candidate model itself (calib8_score_fn), with its own loop and metric.
 *
 *   calib8_eval_options eo = calib8_eval_options_default();
 *   eo.metric = CALIB8_METRIC_TOP1;
 *   eo.labels = "test/labels.txt";
 *   calib8_evaluator *ev = NULL;
 *   calib8_evaluator_create(model, "test/images", &eo, &ev);
 *   calib8_eval_result r;
 *   calib8_evaluate(ev, session, &r);       // r.score in [0, 1] over r.count samples
 */
/* calib8.h first, outside the guard: it declares the core and includes every part header in order, so any
 * part header may be included alone. */
#include "calib8/calib8.h"

#ifndef CALIB8_EVALUATE_H
#define CALIB8_EVALUATE_H

#include "calib8/dataset.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum calib8_metric {
  CALIB8_METRIC_TOP1 = 0,
  CALIB8_METRIC_TOP5,
  CALIB8_METRIC_MAP50,
  CALIB8_METRIC_MAP,
  CALIB8_METRIC_SIMILARITY,
  CALIB8_METRIC_COUNT
} calib8_metric;

/* "top1", "top5", "map50", "map", "similarity"; -1 when unknown. */
int calib8_metric_parse(const char *name);
const char *calib8_metric_name(calib8_metric metric);
/* Detection decoders: "yolov5", "yolov8", "boxes"; -1 when unknown. */
int calib8_decode_parse(const char *name);

typedef struct calib8_eval_options {
  calib8_metric metric;       /* default top1 */
  const char *labels;         /* class labels (top1/top5) or boxes (map50/map); NULL with top1/top5: an LMDB
                                 folder's data.label when there is one (reported in calib8_eval_result.labels) */
  int decode;                 /* calib8_decode_parse value for map50/map; default yolov5 */
  const calib8_model *reference; /* similarity: the model to agree with; NULL = the evaluated model's own
                                    FP32 run (a plain session of the model given to calib8_evaluator_create) */
  int cosine_only;            /* similarity: always the per-sample cosine (sensitivity rankings) */
  calib8_dataset_options data;/* preprocessing, batch and sample limit of the test set */
  int threads;                /* for the reference session; 0 = every core */
} calib8_eval_options;

calib8_eval_options calib8_eval_options_default(void);
/* The metric when the caller names none (`calib8 auto` without --metric): top1 when there are labels, eo->labels
 * or the labels an LMDB test set carries (data.label, calib8_dataset_labels; then copied into labels, size bytes,
 * and eo->labels points at it), else similarity (agreement with the FP32 model). Sets eo->metric; the test set is
 * opened (one sample, eo->data's preprocessing) only when eo->labels is NULL. Errors of calib8_dataset_open;
 * CALIB8_INVALID_ARGUMENT for NULL arguments. */
calib8_status calib8_eval_options_default_metric(const calib8_model *model, const char *test, calib8_eval_options *eo,
                                                 char *labels, size_t size);

typedef struct calib8_evaluator calib8_evaluator;

/* Prepares scoring on test set `test` (a dataset spec) for models that read `model`'s inputs (borrowed).
 * Loads and checks the labels against the test set: CALIB8_INVALID_ARGUMENT for a metric that needs labels
 * and has none, labels that do not match the samples (count, names, range), a reference that reads other
 * inputs or lacks an output of the model; errors of calib8_dataset_open. */
calib8_status calib8_evaluator_create(const calib8_model *model, const char *test, const calib8_eval_options *options,
                                      calib8_evaluator **out_evaluator);
void calib8_evaluator_destroy(calib8_evaluator *ev);

typedef struct calib8_eval_result {
  calib8_metric metric;
  double score;           /* in [0, 1] */
  int64_t count;          /* samples scored */
  int64_t correct;        /* top1/top5: hits; similarity with classes: agreements; else -1 */
  const char *kind;       /* "top1", ..., "top1_agreement" or "mean_cosine" for similarity */
  const char *labels;     /* the labels file used, or NULL */
  int first_class;        /* top1/top5: the first sample's top class, -1 when the scores are not float */
  double first_prob;      /*   and its probability (softmax of logits, or the normalized score) */
} calib8_eval_result;

/* Streams the test set through `session` (a model reading the evaluator's inputs) and scores it. The result's
 * strings are owned by the evaluator. Errors: CALIB8_INVALID_ARGUMENT for outputs the metric cannot read
 * (named: an output the reference lacks or holds at another size, scores not shaped [batch, classes]), a label
 * out of the scores' range, an empty test set; errors of the session and the dataset. Top-k and argmax follow
 * one ranking: a larger score first, equal scores in index order, a NaN before every number, and a class whose
 * own score is NaN in no top-k (so a row holding a NaN never agrees on its top-1 class). */
calib8_status calib8_evaluate(calib8_evaluator *ev, calib8_session *session, calib8_eval_result *out);
/* Writes a result as one line of JSON, whole or not at all: {"metric": "top1", "value": V, "count": N,
 * "correct": C} ("correct" when it is not -1; similarity adds "kind" after "metric"). CALIB8_IO. */
calib8_status calib8_eval_result_write_json(const calib8_eval_result *r, const char *path);

/* Prints a result as `calib8 eval` does to f: "top1 0.912000 (912 of 1000 samples)", "map50 0.5 (100 images)", or
 * for similarity the top-1 agreement or mean cosine against `reference` (the reference model's name; NULL: "the
 * FP32 model"). CALIB8_INVALID_ARGUMENT for NULL arguments. */
calib8_status calib8_eval_result_print(const calib8_eval_result *r, const char *reference, FILE *f);

/* FP32 against INT8 on one test set (`calib8 quantize --test`): scores `fp32` (a session of `model`, e.g. the one
 * the plan was calibrated on) and a session of the plan's QDQ model (eo->threads threads) with one evaluator
 * over `test` (a dataset spec) made with eo. With top1/top5 and a sample limit (eo->data.limit), the labels are
 * first checked against the whole test set. With similarity the reference is the FP32 model itself: *fp32_result
 * is not run, its score is 1. The results' labels are NULL; the outputs are assigned only on success. Errors of
 * calib8_evaluator_create, calib8_qplan_session and calib8_evaluate; CALIB8_INVALID_ARGUMENT for NULL arguments.
 * out_predictions (may be NULL) receives calib8_predictions_json's text for the first CALIB8_REPORT_PREDICTIONS
 * test samples (calib8_free), the report's and the summary's predictions; they are an extra: when they cannot be
 * made the call still succeeds, *out_predictions is NULL and calib8_last_error() says why. */
#define CALIB8_REPORT_PREDICTIONS 8
calib8_status calib8_qplan_evaluate(const calib8_qplan *plan, const calib8_model *model, calib8_session *fp32,
                                    const char *test, const calib8_eval_options *eo, calib8_eval_result *fp32_result,
                                    calib8_eval_result *int8_result, char **out_predictions);
/* The layer-wise comparison of `fp32` (a session of the plan's model) and the plan's QDQ model (a session with
 * options so, may be NULL) over the remaining batches of data, as calib8_compare_json's text (calib8_free): what
 * `calib8 quantize --report` draws as similarity bars. Errors of the sessions, the comparison and the data. */
calib8_status calib8_qplan_compare_json(const calib8_qplan *plan, calib8_session *fp32, calib8_dataset *data,
                                        const calib8_session_options *so, double cosine_tol, double euclid_tol,
                                        const char *fp32_name, const char *int8_name, char **out_json);

/* A caller's own metric: score a runnable candidate model (its own data loader, post-processing and metric)
 * and return a score where larger is better, in the units the budget is given in. */
typedef calib8_status (*calib8_score_fn)(void *user, calib8_session *candidate, double *score);

/* ---- layer-wise comparison (TPU-MLIR's npz_tool compare, streamed) ---------------------------------------- */

typedef struct calib8_compare calib8_compare;

/* Pairs the tensors two sessions share by name, in the FP32 graph's order (both borrowed).
 * CALIB8_INVALID_ARGUMENT when they share no tensor name. */
calib8_status calib8_compare_create(calib8_session *fp32, calib8_session *int8, calib8_compare **out_compare);
void calib8_compare_destroy(calib8_compare *cmp);
/* Runs both models on one batch: the INT8 model as it runs (accumulated error) and with every shared tensor
 * replaced by its FP32 value after each layer (isolated error). Only the first batch->rows rows count (0: nothing
 * runs). */
calib8_status calib8_compare_run(calib8_compare *cmp, const calib8_batch *batch);
/* Runs every remaining batch of ds. */
calib8_status calib8_compare_dataset(calib8_compare *cmp, calib8_dataset *ds);

typedef struct calib8_similarity_stats {
  double cosine;     /* sum(ab) / sqrt(sum(a^2) sum(b^2)) */
  double euclidean;  /* 1 - ||a - b|| / ||(a + b) / 2|| */
  double sqnr_db;    /* 10 log10(var(a) / var(a - b)); INFINITY when there is no noise */
} calib8_similarity_stats;

/* Whether stats fall below a tolerance: cosine below cosine_tol or euclidean below euclid_tol (NaN is below).
 * The rule the verdict and the JSON's "pass" apply to every row. */
int calib8_similarity_below(const calib8_similarity_stats *s, double cosine_tol, double euclid_tol);

typedef struct calib8_compare_row {
  const char *name, *op, *node; /* the tensor, its FP32 producer's op type and name */
  calib8_similarity_stats accumulated, isolated;
  int compared;                 /* float in both models with the same size, seen at least once */
  int mismatch;                 /* the sizes or types differ: never compared */
} calib8_compare_row;

/* Rows in the FP32 graph's order. A row's strings belong to the sessions' models: valid while they live.
 * row_at: CALIB8_INVALID_ARGUMENT for an index out of range. samples: the real rows run so far. */
int calib8_compare_row_count(const calib8_compare *cmp);
calib8_status calib8_compare_row_at(const calib8_compare *cmp, int index, calib8_compare_row *out);
int64_t calib8_compare_samples(const calib8_compare *cmp);

/* The verdict at a tolerance: the first compared tensor whose accumulated cosine or euclidean similarity is
 * below it (-1: none), whether its own layer causes it (isolated error also below), and else the row before it
 * with the largest error of its own (lowest isolated euclidean; -1: none). */
typedef struct calib8_compare_verdict {
  int compared, mismatched;
  int first_below;
  int itself;
  int worst_before;
} calib8_compare_verdict;
calib8_status calib8_compare_verdict_at(const calib8_compare *cmp, double cosine_tol, double euclid_tol,
                                        calib8_compare_verdict *out);
/* Writes the comparison as JSON (whole or not at all), naming the two models as given. CALIB8_INVALID_ARGUMENT
 * when no tensor could be compared; CALIB8_IO. */
calib8_status calib8_compare_write_json(const calib8_compare *cmp, double cosine_tol, double euclid_tol,
                                        const char *fp32_name, const char *int8_name, const char *path);

/* ---- two .npz tensor dumps (TPU-MLIR's `npz_tool.py compare TARGET REF`) ----------------------------------- *
 * Every tensor name in both files is compared by npz_tool's rules: EQUAL (every element), CLOSE (allclose at
 * rtol 1e-3 or tighter, atol 1e-8), else SIMILAR when cosine > cosine_tol and euclidean similarity
 * (1 - ||t - r|| / ||(t + r) / 2||) > euclid_tol, strictly; an int8 tensor on either side is compared for
 * equality only (EQUAL or NOT_EQUAL); shapes of different sizes are NOT_MATCH unless one crops to the other
 * (same rank, at least as large in every dimension). Names in one file only are listed, not failed. */

typedef enum calib8_npz_verdict {
  CALIB8_NPZ_EQUAL = 0,
  CALIB8_NPZ_CLOSE,
  CALIB8_NPZ_SIMILAR,        /* the three that pass */
  CALIB8_NPZ_NOT_SIMILAR,
  CALIB8_NPZ_NOT_EQUAL,
  CALIB8_NPZ_NOT_MATCH,      /* the three that fail */
  CALIB8_NPZ_ONLY_TARGET,
  CALIB8_NPZ_ONLY_REFERENCE,
  CALIB8_NPZ_EXCEPTED,       /* not compared */
  CALIB8_NPZ_VERDICT_COUNT
} calib8_npz_verdict;
/* "EQUAL", "CLOSE", "SIMILAR", "NOT_SIMILAR", "NOT_EQUAL", "NOT_MATCH", "ONLY_IN_TARGET", ... */
const char *calib8_npz_verdict_name(int verdict);

typedef struct calib8_npz_compare_options {
  double cosine_tol, euclid_tol;    /* default 0.99, 0.99 (npz_tool's) */
  const char *excepts;              /* comma-separated names not to compare (npz_tool's --excepts); NULL: none */
} calib8_npz_compare_options;
calib8_npz_compare_options calib8_npz_compare_options_default(void);

typedef struct calib8_npz_row {
  const char *name;                 /* the entry's name without ".npy"; valid while the comparison lives */
  int verdict;                      /* calib8_npz_verdict */
  int compared, pass;               /* compared: in both files and not excepted */
  int close_order;                  /* CLOSE: the largest k in 5..3 with allclose at rtol 1e-k */
  double cosine, euclidean, sqnr_db;/* SIMILAR / NOT_SIMILAR, else NaN; SQNR is reported, never judged */
  int target_shape_rank, reference_shape_rank;
  int64_t target_dims[CALIB8_MAX_RANK], reference_dims[CALIB8_MAX_RANK];
} calib8_npz_row;

typedef struct calib8_npz_summary {
  int compared, passed, failed;
  int count[CALIB8_NPZ_VERDICT_COUNT];
  double min_cosine, min_euclidean, min_sqnr_db; /* over SIMILAR and NOT_SIMILAR rows; 1, 1, INFINITY when none */
} calib8_npz_summary;

typedef struct calib8_npz_compare calib8_npz_compare;

/* Loads both files whole and compares them. Rows: the reference's names in its order, then names only in the
 * target. CALIB8_INVALID_ARGUMENT for a file that is not an .npz of .npy entries (naming the file and entry), an
 * excepted name in neither file, a tolerance out of range, files that share no name to compare;
 * CALIB8_UNSUPPORTED for an element type .npy readers here do not take (float16). */
calib8_status calib8_npz_compare_files(const char *target, const char *reference,
                                       const calib8_npz_compare_options *options, calib8_npz_compare **out_compare);
void calib8_npz_compare_destroy(calib8_npz_compare *cmp);
int calib8_npz_compare_row_count(const calib8_npz_compare *cmp);
calib8_status calib8_npz_compare_row_at(const calib8_npz_compare *cmp, int index, calib8_npz_row *out);
calib8_status calib8_npz_compare_summary(const calib8_npz_compare *cmp, calib8_npz_summary *out);
/* The comparison as text: one line per compared tensor, the names in one file only, the counts, the minimum
 * similarities, and "npz compare PASSED" or "npz compare FAILED" last. Free with calib8_free. */
calib8_status calib8_npz_compare_format(const calib8_npz_compare *cmp, char **out_text);

/* Prints the comparison as `calib8 compare` does to f: the table of compared tensors (accumulated and isolated
 * cosine, euclidean similarity and SQNR, rows below tolerance marked "itself" or "inherited"), then the verdict in
 * words: the count of tensors and samples, the first tensor below tolerance and whether it hurts by itself or
 * only inherits damage (and then where the largest error of its own before it is). *out_verdict (may be NULL)
 * receives calib8_compare_verdict_at's verdict. CALIB8_INVALID_ARGUMENT when no tensor could be compared (the
 * table header is printed, the message names both models) or for NULL arguments. */
calib8_status calib8_compare_print(const calib8_compare *cmp, double cosine_tol, double euclid_tol,
                                   const char *fp32_name, const char *int8_name, FILE *f,
                                   calib8_compare_verdict *out_verdict);
/* Reads a tolerance written "COS,EUCLID" (`--tolerance 0.9,0.5`): a cosine in [-1, 1] and a euclidean similarity
 * of at most 1. The outputs are assigned only on success. CALIB8_INVALID_ARGUMENT quoting the text. */
calib8_status calib8_compare_parse_tolerance(const char *text, double *cosine_tol, double *euclid_tol);

/* Checks that model b reads the inputs model a reads (names, ranks, fixed dimensions); the paths name them in
 * the message. CALIB8_INVALID_ARGUMENT. */
calib8_status calib8_model_check_same_inputs(const calib8_model *a, const char *a_path, const calib8_model *b,
                                             const char *b_path);

#ifdef __cplusplus
}
#endif
#endif
