#include "data/image.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "load/model.h"

c8_image_format c8_image_sniff(const void *bytes, size_t len) {
  const unsigned char *b = bytes;
  if (len >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF) return C8_IMAGE_JPEG;
  if (len >= 8 && memcmp(b, "\x89PNG\r\n\x1a\n", 8) == 0) return C8_IMAGE_PNG;
  if (len >= 2 && b[0] == 'B' && b[1] == 'M') return C8_IMAGE_BMP;
  return C8_IMAGE_UNKNOWN;
}

const char *c8_image_format_name(c8_image_format f) {
  switch (f) {
    case C8_IMAGE_JPEG: return "JPEG";
    case C8_IMAGE_PNG: return "PNG";
    case C8_IMAGE_BMP: return "BMP";
    default: return "unknown";
  }
}

c8_status c8_image_decode(const void *bytes, size_t len, const char *what, c8_image *out) {
  memset(out, 0, sizeof *out);
  if (len == 0) return c8_error(CALIB8_INVALID_ARGUMENT, "image %s is an empty file", what);
  switch (c8_image_sniff(bytes, len)) {
    case C8_IMAGE_JPEG: return c8_jpeg_decode(bytes, len, what, out);
    case C8_IMAGE_PNG: return c8_png_decode(bytes, len, what, out);
    case C8_IMAGE_BMP: return c8_bmp_decode(bytes, len, what, out);
    default:
      return c8_error(CALIB8_INVALID_ARGUMENT,
                      "image %s is not a JPEG, PNG or BMP file (its first bytes match none of their signatures)", what);
  }
}

c8_status c8_image_load(const char *path, c8_image *out) {
  void *bytes = NULL;
  size_t len = 0;
  memset(out, 0, sizeof *out);
  c8_status st = c8_read_file(path, &bytes, &len);
  if (st) return st; /* the message already names the file and the reason */
  char what[4200];
  snprintf(what, sizeof what, "'%s'", path);
  st = c8_image_decode(bytes, len, what, out);
  c8_mfree(bytes);
  return st;
}

void c8_image_free(c8_image *img) {
  if (!img) return;
  c8_mfree(img->px);
  img->px = NULL;
}
