/* .npz datasets (libzip, the entries' .npy headers, streaming reads): the input is written as a file and read
 * for a one-input model, a two-input model and a model input without a declared shape. */
#include "fuzz-dataset.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  fuzz_init();
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char path[128], spec[140];
  fuzz_write("d.npz", data, size, path, sizeof path);
  snprintf(spec, sizeof spec, "npz:%s", path);
  fuzz_read_dataset(spec, 1, fuzz_inputs);
  fuzz_read_dataset(spec, 2, fuzz_inputs);
  fuzz_read_dataset(spec, 1, &fuzz_input_any);
  return 0;
}
