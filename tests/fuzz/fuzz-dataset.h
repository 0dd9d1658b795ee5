/* Shared by the dataset harnesses: opens a source written to the private folder and reads its samples.
 * At most FUZZ_MAX_SAMPLES samples are read per open (a file may declare millions of tiny ones). */
#ifndef C8_FUZZ_DATASET_H
#define C8_FUZZ_DATASET_H

#include "data/dataset.h"
#include "fuzz.h"

#define FUZZ_MAX_SAMPLES 64

static inline void fuzz_read_dataset(const char *spec, int n_inputs, const calib8_value_info *inputs) {
  c8_dataset *ds = NULL;
  if (c8_dataset_open(spec, n_inputs, inputs, NULL, &ds) != CALIB8_OK) return;
  (void)c8_dataset_count(ds);
  for (int k = 0; k < FUZZ_MAX_SAMPLES; k++) {
    const c8_sample *s = NULL;
    if (c8_dataset_next(ds, &s) != CALIB8_OK || !s) break;
    for (int i = 0; i < s->n; i++) {
      size_t n = c8_nbytes(&s->t[i]);
      if (n) {
        volatile uint8_t last = ((const uint8_t *)s->t[i].data)[n - 1];
        (void)last;
      }
    }
  }
  c8_dataset_close(ds);
}

/* The unit tests' model inputs: x [N,2,3,4] float32, ids [N,5] int64. */
static const calib8_value_info fuzz_inputs[2] = {
    {.name = "x", .dtype = CALIB8_FLOAT, .rank = 4, .dims = {-1, 2, 3, 4}},
    {.name = "ids", .dtype = CALIB8_INT64, .rank = 2, .dims = {-1, 5}},
};
/* An input without a declared shape: every blob is one sample as it is. */
static const calib8_value_info fuzz_input_any = {.name = "x", .dtype = CALIB8_FLOAT, .rank = -1};

#endif
