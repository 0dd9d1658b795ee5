/* Scoring a session on a test set with one metric: the one definition of each metric rule (docs/metrics.md),
 * behind the public evaluator (include/calib8/evaluate.h), quantize --test, auto and sensitivity.
 *   top1 / top5       class labels, first output [N, classes]; ranking by c8_class_rank
 *   map50 / map       detection labels (cls,x1,y1,x2,y2;...), first output decoded by det_opts.decode
 *   similarity        no labels: agreement with the reference session on the same inputs, outputs matched by
 *                     name: top-1 agreement (c8_class_argmax) when the model's first output and its namesake
 *                     in the reference are [N, classes>1], otherwise the mean per-sample cosine similarity of
 *                     all outputs, clamped to [0, 1].
 * An output that cannot be compared (missing in the reference, another size, not led by the batch) and an
 * empty test set are errors, never a score. */
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
  const char *labels;          /* the labels file in use (given, or found beside an LMDB), or NULL */
  char *found_labels;          /* owned: an LMDB's data.label when no labels were given */
  c8_class_labels *cls;        /* top1/top5 */
  c8_det_labels *det;          /* map50/map */
  c8_det_options det_opts;
  calib8_session *reference;   /* similarity */
  bool cosine_only;            /* similarity: always the per-sample cosine (sensitivity ranking) */
  /* Set by c8_score: */
  int first_class;             /* top1/top5: the first sample's top class (-1: scores not float, or NaN) */
  double first_prob;           /*   and its probability (softmax of the scores unless they are all in [0, 1]) */
  int64_t correct;             /* top1/top5 hits, similarity top-1 agreements; -1 for the other metrics */
  bool sim_decided, sim_classifier; /* similarity: top-1 agreement (decided on the first batch) or cosine */
} c8_scorer;

/* Loads the labels the metric needs and checks them against the test set. Without labels, top1/top5 use the
 * data.label beside an LMDB test set when there is one (sc->labels names it). */
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
};

/* The one ranking rule of top-k and argmax, over row `row` of scores t ([rows, k], any numeric dtype):
 * the rank of class `cls` is the number of classes before it, where a larger score comes first, equal scores
 * come in index order (numpy's stable argsort of -x; argmax returns the first maximum) and a NaN score comes
 * before every number (as numpy's argmax returns a NaN). A class whose own score is NaN ranks INT64_MAX: it is
 * in no top-k. So a NaN in a row makes that row's top-1 a miss. */
int64_t c8_class_rank(const calib8_tensor *t, int64_t row, int64_t k, int64_t cls);
/* The class of rank 0: the first maximum, or -1 when the row holds a NaN (no class ranks first). */
int64_t c8_class_argmax(const calib8_tensor *t, int64_t row, int64_t k);

/* Top-k hits of output `out` ([rows', classes], first `rows` real) against labels; -1 on a shape problem or a label
 * out of range (the message is the last error, CALIB8_INVALID_ARGUMENT). */
int64_t c8_topk_hits(const calib8_tensor *out, const char *out_name, int rows, const int64_t *labels, int k);

#endif
