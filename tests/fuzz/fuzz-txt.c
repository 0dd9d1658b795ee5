/* TNN-style text datasets (one float per line): counted, then read sample by sample. */
#include "fuzz-dataset.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  fuzz_init();
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char path[128], spec[140];
  fuzz_write("d.txt", data, size, path, sizeof path);
  snprintf(spec, sizeof spec, "txt:%s", path);
  fuzz_read_dataset(spec, 1, fuzz_inputs);
  return 0;
}
