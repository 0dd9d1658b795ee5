/* The bmp decoder (c8_bmp_decode, as c8_image_decode calls it after sniffing the magic bytes); decoded images
 * small enough are also run through a preprocessing pipeline (resize, crop, normalization). */
#include "fuzz-image.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  fuzz_init();
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fuzz_image(c8_bmp_decode, data, size);
  return 0;
}
