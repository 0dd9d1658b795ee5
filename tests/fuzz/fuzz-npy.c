/* .npy parsing: a whole file (c8_npy_parse) and the streaming readers' header parser (blobs). */
#include "core/tensor.h"
#include "data/dataset.h"
#include "data/npy.h"
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  fuzz_init();
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  c8_tensor t;
  memset(&t, 0, sizeof t);
  if (c8_npy_parse(data, size, "'fuzz.npy'", &t) == CALIB8_OK) {
    /* a parsed tensor holds exactly what its shape says: touch the last byte */
    size_t n = c8_nbytes(&t);
    if (n) {
      volatile uint8_t last = ((const uint8_t *)t.data)[n - 1];
      (void)last;
    }
    c8_free(t.data);
  }
  size_t hl;
  c8_npy_header h;
  if (c8_npy_header_len(data, size, "'fuzz.npy'", &hl) == CALIB8_OK && hl <= size)
    (void)c8_npy_header_parse(data, hl, "'fuzz.npy'", &h);
  return 0;
}
