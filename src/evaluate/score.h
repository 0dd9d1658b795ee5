/* Scoring a session on a test set with one metric, for quantize --test, auto and sensitivity.
 *   top1 / top5       class labels, first output [N, classes]
 *   map50 / map       detection labels (cls,x1,y1,x2,y2;...), first output decoded by --decode
 *   similarity        no labels: agreement with the FP32 reference session on the same inputs —
 *                     top-1 agreement when the first output is [N, classes>1], otherwise the mean
 *                     per-sample cosine similarity of all outputs (a score in [0, 1]). */
#ifndef C8_EVALUATE_SCORE_H
#define C8_EVALUATE_SCORE_H

#include "data/feed.h"
#include "evaluate/detection.h"


/* What a calib8_evaluator is (include/calib8/evaluate.h): a scorer and what it owns. */
typedef struct c8_scorer {
  calib8_metric metric;
  const calib8_model *model;   /* for input info */
  const char *test;            /* dataset spec */
  const c8_preprocess *pp;     /* may be NULL */
  int batch;
  int64_t limit;
  c8_class_labels *cls;        /* top1/top5 */
  c8_det_labels *det;          /* map50/map */
  c8_det_options det_opts;
  calib8_session *reference;   /* similarity */
  bool cosine_only;            /* similarity: always the per-sample cosine (sensitivity ranking) */
  int first_class;             /* top1/top5, set by c8_score: the first sample's top class (-1: scores not float) */
  double first_prob;           /*   and its probability (softmax of the scores unless they are all in [0, 1]) */
} c8_scorer;

/* Loads the labels the metric needs and checks them against the test set. */
calib8_status c8_scorer_init(c8_scorer *sc, calib8_metric metric, const calib8_model *m, const char *test,
                              const c8_preprocess *pp, const char *labels, int batch, int64_t limit);
void c8_scorer_free(c8_scorer *sc);
/* Streams the test set through s and returns the score in [0, 1] and the sample count. */
calib8_status c8_score(c8_scorer *sc, calib8_session *s, double *score, int64_t *count);

/* The public evaluator (include/calib8/evaluate.h): a scorer with the copies and sessions it owns. The search
 * scores trials through ev->sc. */
struct calib8_evaluator {
  c8_scorer sc;
  c8_preprocess pp;            /* sc.pp points here when preprocessing was given */
  char *test, *labels;         /* owned copies of the specs sc points at */
  calib8_session *reference;   /* owned: similarity's reference run (sc.reference) */
  calib8_model *reference_model; /* owned when the evaluator loaded one */
};

/* Position of `label` among the k scores of row `row` of out ([rows, k], any numeric dtype): 0 = top-1; k when the
 * label's score is NaN. */
int64_t c8_label_rank(const calib8_tensor *out, int64_t row, int64_t k, int64_t label);

/* Top-k hits of output `out` ([rows', classes], first `rows` real) against labels; -1 on a shape problem or a label
 * out of range (the message is the last error, CALIB8_INVALID_ARGUMENT). */
int64_t c8_topk_hits(const calib8_tensor *out, const char *out_name, int rows, const int64_t *labels, int k);

#endif
