/* Scoring a session on a test set with one metric, for quantize --test, auto and sensitivity.
 *   top1 / top5       class labels, first output [N, classes]
 *   map50 / map       detection labels (cls,x1,y1,x2,y2;...), first output decoded by --decode
 *   similarity        no labels: agreement with the FP32 reference session on the same inputs —
 *                     top-1 agreement when the first output is [N, classes>1], otherwise the mean
 *                     per-sample cosine similarity of all outputs (a score in [0, 1]). */
#ifndef C8_CLI_SCORE_H
#define C8_CLI_SCORE_H

#include "cli-data.h"
#include "evaluate/detection.h"

typedef enum { METRIC_TOP1 = 0, METRIC_TOP5, METRIC_MAP50, METRIC_MAP, METRIC_SIMILARITY } cli_metric;

typedef struct cli_scorer {
  cli_metric metric;
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
  int first_class;             /* top1/top5, set by cli_score: the first sample's top class (-1: scores not float) */
  double first_prob;           /*   and its probability (softmax of the scores unless they are all in [0, 1]) */
} cli_scorer;

/* Parses a metric name; -1 when unknown. */
int cli_metric_parse(const char *name);
const char *cli_metric_name(cli_metric m);
/* Loads the labels the metric needs and checks them against the test set. */
calib8_status cli_scorer_init(cli_scorer *sc, cli_metric metric, const calib8_model *m, const char *test,
                              const c8_preprocess *pp, const char *labels, int batch, int64_t limit);
void cli_scorer_free(cli_scorer *sc);
/* Streams the test set through s and returns the score in [0, 1] and the sample count. */
calib8_status cli_score(cli_scorer *sc, calib8_session *s, double *score, int64_t *count);

#endif
