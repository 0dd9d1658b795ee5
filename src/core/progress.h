/* A progress bar on stderr: drawn only when stderr is a terminal, the run
 * has lasted more than a second, and it is not disabled (--quiet). */
#ifndef C8_CORE_PROGRESS_H
#define C8_CORE_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

typedef struct c8_progress {
  const char *label;
  int64_t total; /* -1 when unknown */
  double start, last_draw;
  bool enabled, drawn;
} c8_progress;

void c8_progress_start(c8_progress *p, const char *label, int64_t total, bool quiet);
void c8_progress_update(c8_progress *p, int64_t done);
void c8_progress_finish(c8_progress *p);
double c8_now(void); /* monotonic seconds */

#endif
