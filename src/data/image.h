/* Image decoding into 8-bit interleaved (HWC) buffers.
 *
 * The format is recognised by its magic bytes, never by the file name:
 *   JPEG  FF D8 FF                 (libjpeg-turbo; gray, YCbCr/RGB, CMYK/YCCK)
 *   PNG   89 50 4E 47 0D 0A 1A 0A  (libpng; 1-16 bit, palette, gray+alpha, RGBA, interlaced)
 *   BMP   "BM"                     (own parser; uncompressed 1/4/8-bit palette, 24-bit, 32-bit)
 * Results have 1 channel (gray) or 3 channels in R,G,B order; alpha is dropped (not blended).
 * 16-bit PNG samples are scaled to 8 bits with rounding (v * 255 / 65535).
 * A corrupt or unreadable file fails with one sentence naming it; decoders never exit the process. */
#ifndef C8_DATA_IMAGE_H
#define C8_DATA_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

/* Images larger than this many pixels are refused (guards against absurd headers). */
#define C8_IMAGE_MAX_PIXELS ((int64_t)1 << 28)
/* The most pixels a compressed file of a given size can decode to, so that a 1 KB file declaring 16384 x 16384
 * is refused before anything is allocated. JPEG: each 8x8 block of a component needs at least a DC code and an
 * end-of-block code (2 bits), i.e. at most 256 pixels per byte; PNG: deflate expands at most 1032:1, and a
 * 1-bit image holds 8 pixels per byte. Both bounds are doubled, and small images always pass. */
#define C8_JPEG_PIXELS_PER_BYTE 512
#define C8_PNG_PIXELS_PER_BYTE (2 * 1032 * 8)
static inline int64_t c8_image_max_pixels_for(size_t file_bytes, int64_t per_byte) {
  return (int64_t)1 << 20 > (int64_t)file_bytes * per_byte ? (int64_t)1 << 20 : (int64_t)file_bytes * per_byte;
}

typedef struct c8_image {
  int w, h, c;  /* c is 1 (gray) or 3 (RGB) */
  uint8_t *px;  /* h * w * c bytes, row-major HWC; malloc'd, release with c8_image_free */
} c8_image;

typedef enum c8_image_format { C8_IMAGE_UNKNOWN = 0, C8_IMAGE_JPEG, C8_IMAGE_PNG, C8_IMAGE_BMP } c8_image_format;

/* Identifies an image format from the first bytes of a file (at least 8 bytes are looked at when present). */
c8_image_format c8_image_sniff(const void *bytes, size_t len);
const char *c8_image_format_name(c8_image_format f);

/* Decodes an in-memory image. `what` names it in error messages (e.g. the quoted path). */
c8_status c8_image_decode(const void *bytes, size_t len, const char *what, c8_image *out);
/* Reads and decodes a file. */
c8_status c8_image_load(const char *path, c8_image *out);
void c8_image_free(c8_image *img);

/* Per-format decoders (image-jpeg.c, image-png.c, image-bmp.c); same contract as c8_image_decode. */
c8_status c8_jpeg_decode(const void *bytes, size_t len, const char *what, c8_image *out);
c8_status c8_png_decode(const void *bytes, size_t len, const char *what, c8_image *out);
c8_status c8_bmp_decode(const void *bytes, size_t len, const char *what, c8_image *out);

#endif
