/* --check-preprocess FILE.npy (quantize, eval): compares the tensors the user's own pipeline made for the first
 * K images of a data set ([K, ...] in FILE.npy) with calib8's preprocessing of the same images, and when they
 * differ, names the first differing image and the common mistake that explains it (docs/preprocessing.md). */
#ifndef C8_CLI_PPCHECK_H
#define C8_CLI_PPCHECK_H

#include "calib8/calib8.h"
#include "data/preprocess.h"

/* Differ: max |user - calib8| > C8_PPCHECK_TOL * max |user| over one image. */
#define C8_PPCHECK_TOL 1e-3

/* Returns 0 after printing "preprocessing check: K images match", else an exit code (message printed).
 * `spec` is the image source, `input`/`n_inputs` the model's inputs, `pp` the pipeline (NULL: none). */
int cli_check_preprocess(const char *npy_path, const char *spec, const calib8_value_info *input, int n_inputs,
                         const c8_preprocess *pp);

#endif
