#include "plan/method-choice.h"

#include <math.h>

#include "threshold/threshold.h"

int *c8_choose_methods(const c8_calibration *c) {
  int *vm = c8_malloc(sizeof(int) * ((size_t)c->n_values + 1));
  if (!vm) {
    c8_error(CALIB8_OUT_OF_MEMORY, "out of memory choosing a threshold method per tensor");
    return NULL;
  }
  c8_threshold_options o = c8_threshold_options_default();
  for (int v = 0; v < c->n_values; v++) {
    vm[v] = -1;
    const c8_histogram *h = c->hist[v];
    if (!h || !h->count) continue;
    o.levels = h->min >= 0 ? 255 : 127; /* a never-negative tensor uses all 256 steps on [0, T] */
    double best = INFINITY;
    for (int m = 0; m < C8_THRESHOLD_COUNT; m++) {
      double t = c8_threshold_compute((c8_threshold_method)m, h, &o);
      double e = c8_threshold_error(h, t, o.levels);
      if (e < best) best = e, vm[v] = m;
    }
  }
  return vm;
}
