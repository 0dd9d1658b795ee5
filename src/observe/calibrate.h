/* Calibration: runs the FP32 session over samples and keeps one streaming
 * histogram per float activation (graph inputs included). Memory is one
 * histogram per tensor, whatever the number of samples. */
#ifndef C8_OBSERVE_CALIBRATE_H
#define C8_OBSERVE_CALIBRATE_H

#include "observe/histogram.h"
#include "run/session.h"

typedef struct c8_calibration {
  const c8_graph *g;     /* the session's graph (borrowed): value ids index hist */
  int n_values;
  c8_histogram **hist;   /* per value id; NULL for values never observed (constants, non-float) */
  int64_t samples;       /* leading-dimension items observed */
} c8_calibration;

c8_status c8_calibration_create(const calib8_session *s, c8_calibration **out);
void c8_calibration_destroy(c8_calibration *c);
/* Runs one batch through the session and records every float activation. */
c8_status c8_calibration_run(c8_calibration *c, calib8_session *s, int n_inputs, const char *const *names,
                             const calib8_tensor *inputs);
/* The histogram of a value by name (NULL when not observed). */
const c8_histogram *c8_calibration_find(const c8_calibration *c, const char *name);

#endif
