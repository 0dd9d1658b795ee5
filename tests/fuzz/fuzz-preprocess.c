/* The preprocessing string (c8_preprocess_parse), its check against model inputs (NCHW, NHWC, gray) and, when
 * the sizes it asks for are small, a run on a small image. */
#include "data/preprocess.h"
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  fuzz_init();
  return 0;
}

/* Every size the pipeline asks for is small, so running it is cheap. */
static int small(const c8_preprocess *pp) {
  for (int k = 0; k < pp->n_ops; k++) {
    const c8_pp_op *op = &pp->ops[k];
    if (op->resize_h > 64 || op->resize_w > 64 || op->resize_side > 64 || op->crop_h > 64 || op->crop_w > 64) return 0;
  }
  return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = fuzz_string(data, size);
  c8_preprocess pp;
  if (c8_preprocess_parse(text, &pp) == CALIB8_OK) {
    static const calib8_value_info ins[] = {
        {.name = "x", .dtype = CALIB8_FLOAT, .rank = 4, .dims = {1, 3, 16, 12}},
        {.name = "x", .dtype = CALIB8_UINT8, .rank = 4, .dims = {1, 8, 8, 1}},
        {.name = "x", .dtype = CALIB8_FLOAT, .rank = 4, .dims = {-1, 3, -1, -1}},
    };
    uint8_t px[7 * 5 * 3];
    for (size_t i = 0; i < sizeof px; i++) px[i] = (uint8_t)(i * 37);
    c8_image img = {.w = 7, .h = 5, .c = 3, .px = px};
    for (size_t i = 0; i < sizeof ins / sizeof ins[0]; i++) {
      c8_pp_target tgt;
      if (c8_preprocess_target(&pp, &ins[i], &tgt) != CALIB8_OK || !small(&pp)) continue;
      c8_pp_work work = {0};
      const float *out;
      c8_pp_geom geom;
      (void)c8_preprocess_image(&pp, &tgt, &img, "'fuzz.png'", &work, &out, &geom);
      c8_pp_work_free(&work);
    }
  }
  free(text);
  return 0;
}
