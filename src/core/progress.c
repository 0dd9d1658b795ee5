#include "core/progress.h"

#include <stdio.h>
#include <time.h>
#include <unistd.h>

double c8_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void c8_progress_start(c8_progress *p, const char *label, int64_t total, bool quiet) {
  p->label = label;
  p->total = total;
  p->start = p->last_draw = c8_now();
  p->enabled = !quiet && isatty(fileno(stderr));
  p->drawn = false;
}

void c8_progress_update(c8_progress *p, int64_t done) {
  if (!p->enabled) return;
  double now = c8_now();
  if (now - p->start < 1.0 || now - p->last_draw < 0.1) return;
  p->last_draw = now;
  p->drawn = true;
  double el = now - p->start;
  if (p->total > 0) {
    int width = 30, fill = (int)(width * (double)done / (double)p->total);
    if (fill > width) fill = width;
    double eta = done > 0 ? el * (double)(p->total - done) / (double)done : 0;
    fprintf(stderr, "\r%s [%.*s%*s] %lld/%lld %.0fs eta %.0fs ", p->label, fill, "##############################",
            width - fill, "", (long long)done, (long long)p->total, el, eta);
  } else {
    fprintf(stderr, "\r%s %lld %.0fs ", p->label, (long long)done, el);
  }
  fflush(stderr);
}

void c8_progress_finish(c8_progress *p) {
  if (p->enabled && p->drawn) {
    fprintf(stderr, "\r%*s\r", 80, "");
    fflush(stderr);
  }
}
