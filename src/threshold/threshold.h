/* Activation threshold methods: from an observed histogram to a clipping
 * threshold T (symmetric int8: scale = T / 127). One file per method. */
#ifndef C8_THRESHOLD_THRESHOLD_H
#define C8_THRESHOLD_THRESHOLD_H

#include "observe/histogram.h"

typedef enum c8_threshold_method {
  C8_THRESHOLD_MAX = 0,
  C8_THRESHOLD_KL,
  C8_THRESHOLD_PERCENTILE,
  C8_THRESHOLD_MSE,
  C8_THRESHOLD_ACIQ,
  C8_THRESHOLD_COUNT
} c8_threshold_method;

typedef struct c8_threshold_options {
  double percentile; /* for PERCENTILE, in (0, 100]; default 99.99 */
  int levels;        /* positive quantization levels: 127 for int8 */
} c8_threshold_options;

c8_threshold_options c8_threshold_options_default(void);
const char *c8_threshold_method_name(c8_threshold_method m);
/* Parses "max", "kl", "percentile", "mse", "aciq" (any case); returns -1 when unknown. */
int c8_threshold_method_parse(const char *name);

/* The threshold for one tensor; 0 when the tensor was all zeros (or never observed).
 * Never larger than max|x|. */
double c8_threshold_compute(c8_threshold_method m, const c8_histogram *h, const c8_threshold_options *o);

double c8_threshold_max(const c8_histogram *h);
double c8_threshold_kl(const c8_histogram *h, int levels);
double c8_threshold_percentile(const c8_histogram *h, double percentile);
double c8_threshold_mse(const c8_histogram *h, int levels);
double c8_threshold_aciq(const c8_histogram *h);
/* Expected squared error of symmetric quantization with threshold t over the histogram
 * (bin centres stand for their values). Used by MSE and by per-tensor method selection. */
double c8_threshold_error(const c8_histogram *h, double t, int levels);

#endif
