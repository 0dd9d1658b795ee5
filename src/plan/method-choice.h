/* A threshold method per tensor, by the lowest expected quantization error on its histogram (TPU-MLIR's
 * search_threshold compares candidate thresholds the same way). The search's "method per tensor" trial uses it;
 * so can calib8_quant_options.choose_method_per_tensor. */
#ifndef C8_PLAN_METHOD_CHOICE_H
#define C8_PLAN_METHOD_CHOICE_H

#include "observe/calibrate.h"

/* An array of c->n_values + 1 method ids (c8_threshold_method), -1 for values not observed, for
 * c8_quant_options.value_method; c8_mfree it. NULL when out of memory (the message is set). */
int *c8_choose_methods(const c8_calibration *c);

#endif
