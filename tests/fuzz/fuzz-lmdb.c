/* LMDB datasets: the input is written as data.mdb in a folder and opened as the CLI opens it (read-only,
 * no lock file), then every record is read as a .npy blob. */
#include <sys/stat.h>

#include "fuzz-dataset.h"

static char env_dir[128];

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  fuzz_init();
  snprintf(env_dir, sizeof env_dir, "%s/lmdb", fuzz_dir);
  if (mkdir(env_dir, 0700) != 0) abort();
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char path[160], spec[160];
  fuzz_write("lmdb/data.mdb", data, size, path, sizeof path);
  snprintf(spec, sizeof spec, "lmdb:%s", env_dir);
  fuzz_read_dataset(spec, 1, fuzz_inputs);
  return 0;
}
