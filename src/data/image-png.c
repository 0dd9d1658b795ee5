/* PNG decoding with libpng's classic API (the simplified png_image API would composite alpha over a
 * background and convert 16-bit samples through a gamma curve; calib8 wants plain alpha stripping and
 * linear 16->8 scaling). libpng reports fatal errors by longjmp, which we catch below. */
#include <setjmp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>

#include "data/image.h"

typedef struct png_job {
  const unsigned char *bytes;
  size_t len, pos;
  char msg[256];
  uint8_t *px;
  png_bytep *rows;
} png_job;

static void on_error(png_structp png, png_const_charp msg) {
  png_job *job = png_get_error_ptr(png);
  snprintf(job->msg, sizeof job->msg, "%s", msg);
  png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp msg) {
  (void)png;
  (void)msg;
}

static void on_read(png_structp png, png_bytep data, size_t n) {
  png_job *job = png_get_io_ptr(png);
  if (n > job->len - job->pos) png_error(png, "the file ends early (truncated)");
  memcpy(data, job->bytes + job->pos, n);
  job->pos += n;
}

c8_status c8_png_decode(const void *bytes, size_t len, const char *what, c8_image *out) {
  memset(out, 0, sizeof *out);
  png_job *job = c8_calloc(1, sizeof *job);
  if (!job) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory decoding image %s", what);
  job->bytes = bytes;
  job->len = len;
  c8_status st = CALIB8_OK;
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, job, on_error, on_warning);
  png_infop info = png ? png_create_info_struct(png) : NULL;
  if (!png || !info) {
    st = c8_error(CALIB8_OUT_OF_MEMORY, "out of memory decoding image %s", what);
    goto done;
  }
  if (setjmp(png_jmpbuf(png))) {
    st = c8_error(CALIB8_INVALID_ARGUMENT, "image %s is not a readable PNG file: %s", what, job->msg);
    goto done;
  }
  png_set_read_fn(png, job, on_read);
  png_read_info(png, info);
  png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
  if (w == 0 || h == 0 || (int64_t)w * h > C8_IMAGE_MAX_PIXELS)
    png_error(png, "the image size is zero or larger than calib8 accepts");
  if ((int64_t)w * h > c8_image_max_pixels_for(len, C8_PNG_PIXELS_PER_BYTE))
    png_error(png, "the image declares more pixels than its bytes can hold (truncated or corrupt)");
  int color = png_get_color_type(png, info), depth = png_get_bit_depth(png, info);
  if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if (color == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
  if (depth == 16) png_set_scale_16(png); /* rounds: (v * 255 + 32767) / 65535 */
  /* Alpha is dropped, not blended. png_set_palette_to_rgb turns a tRNS chunk into an alpha channel,
   * so transparency given by tRNS is stripped the same way. */
  if ((color & PNG_COLOR_MASK_ALPHA) || png_get_valid(png, info, PNG_INFO_tRNS)) png_set_strip_alpha(png);
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  int c = png_get_channels(png, info);
  if (png_get_bit_depth(png, info) != 8 || !(c == 1 || c == 3))
    png_error(png, "unexpected sample layout after conversion");
  size_t stride = png_get_rowbytes(png, info);
  if (stride != (size_t)w * c) png_error(png, "unexpected row size after conversion");
  job->px = c8_malloc((size_t)h * stride);
  job->rows = c8_malloc(sizeof(png_bytep) * h);
  if (!job->px || !job->rows) {
    st = c8_error(CALIB8_OUT_OF_MEMORY, "out of memory decoding image %s (%ux%u)", what, (unsigned)w, (unsigned)h);
    goto done;
  }
  for (png_uint_32 y = 0; y < h; y++) job->rows[y] = job->px + (size_t)y * stride;
  png_read_image(png, job->rows);
  png_read_end(png, NULL);
  out->w = (int)w;
  out->h = (int)h;
  out->c = c;
  out->px = job->px;
  job->px = NULL;
done:
  png_destroy_read_struct(png ? &png : NULL, info ? &info : NULL, NULL);
  c8_mfree(job->px);
  c8_mfree(job->rows);
  c8_mfree(job);
  return st;
}
