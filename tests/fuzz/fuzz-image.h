/* Shared by the image harnesses. */
#ifndef C8_FUZZ_IMAGE_H
#define C8_FUZZ_IMAGE_H

#include "data/image.h"
#include "data/preprocess.h"
#include "fuzz.h"

typedef c8_status (*fuzz_decoder)(const void *, size_t, const char *, c8_image *);

static inline void fuzz_image(fuzz_decoder decode, const uint8_t *data, size_t size) {
  c8_image img;
  memset(&img, 0, sizeof img);
  if (decode(data, size, "'fuzz.img'", &img) != CALIB8_OK) return;
  if (img.w < 1 || img.h < 1 || (img.c != 1 && img.c != 3)) abort(); /* the decoders' contract */
  volatile uint8_t last = img.px[(size_t)img.w * (size_t)img.h * (size_t)img.c - 1];
  (void)last;
  if (img.w <= 256 && img.h <= 256) { /* bounded: resize_side=28 on 1 x 256 is 28 x 7168 */
    c8_preprocess pp;
    calib8_value_info in = {.name = "x", .dtype = CALIB8_FLOAT, .rank = 4, .dims = {1, 3, 24, 24}};
    c8_pp_target tgt;
    c8_pp_work work = {0};
    const float *out;
    c8_pp_geom geom;
    if (c8_preprocess_parse("resize_side=28;crop_h=24,crop_w=24,mean_value=1:2:3,std_value=4", &pp) == CALIB8_OK &&
        c8_preprocess_target(&pp, &in, &tgt) == CALIB8_OK)
      (void)c8_preprocess_image(&pp, &tgt, &img, "'fuzz.img'", &work, &out, &geom);
    c8_pp_work_free(&work);
  }
  c8_image_free(&img);
}

#endif
