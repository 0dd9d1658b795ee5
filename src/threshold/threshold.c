#include <math.h>
#include <string.h>
#include <strings.h>

#include "threshold/threshold.h"

static const char *const names[C8_THRESHOLD_COUNT] = {"max", "kl", "percentile", "mse", "aciq"};

c8_threshold_options c8_threshold_options_default(void) {
  c8_threshold_options o = {.percentile = 99.99, .levels = 127};
  return o;
}

const char *c8_threshold_method_name(c8_threshold_method m) {
  return m >= 0 && m < C8_THRESHOLD_COUNT ? names[m] : "unknown";
}

int c8_threshold_method_parse(const char *name) {
  for (int i = 0; i < C8_THRESHOLD_COUNT; i++)
    if (name && strcasecmp(name, names[i]) == 0) return i;
  return -1;
}

double c8_threshold_max(const c8_histogram *h) {
  if (h->count == 0) return 0.0;
  return fmax(fabs((double)h->min), fabs((double)h->max));
}

double c8_threshold_error(const c8_histogram *h, double t, int levels) {
  uint64_t abs_bins[C8_HIST_BINS];
  double w = c8_histogram_abs(h, abs_bins);
  if (w == 0.0 || t <= 0.0) return 0.0;
  double s = t / levels, err = 0.0;
  for (int j = 0; j < C8_HIST_BINS; j++) {
    if (!abs_bins[j]) continue;
    double c = (j + 0.5) * w, e;
    if (c >= t) e = c - t;
    else e = c - s * nearbyint(c / s);
    err += (double)abs_bins[j] * e * e;
  }
  return err / (double)(h->count ? h->count : 1);
}

double c8_threshold_compute(c8_threshold_method m, const c8_histogram *h, const c8_threshold_options *o) {
  c8_threshold_options d = c8_threshold_options_default();
  if (!o) o = &d;
  double t = 0.0, mx = c8_threshold_max(h);
  switch (m) {
    case C8_THRESHOLD_MAX: t = mx; break;
    case C8_THRESHOLD_KL: t = c8_threshold_kl(h, o->levels + 1); break;
    case C8_THRESHOLD_PERCENTILE: t = c8_threshold_percentile(h, o->percentile); break;
    case C8_THRESHOLD_MSE: t = c8_threshold_mse(h, o->levels); break;
    case C8_THRESHOLD_ACIQ: t = c8_threshold_aciq(h); break;
    default: t = mx; break;
  }
  return t > mx ? mx : t;
}
