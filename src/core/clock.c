#include "core/clock.h"

#include "calib8/calib8.h"

#include <time.h>

double c8_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

double calib8_now(void) { return c8_now(); }
