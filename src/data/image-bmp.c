/* Windows BMP decoding: uncompressed only (BI_RGB, BI_BITFIELDS, BI_ALPHABITFIELDS).
 * Headers: BITMAPCOREHEADER (12 bytes) and BITMAPINFOHEADER and its extensions (40, 52, 56, 64, 108, 124).
 * Depths: 1/4/8-bit palette, 16-bit (5-5-5 or bit fields), 24-bit BGR, 32-bit BGRX or bit fields.
 * Rows are bottom-up when the height is positive, top-down when negative.
 * Every offset and size is checked against the buffer before it is read: the file is untrusted. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/image.h"

static uint32_t rd16(const unsigned char *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static uint32_t rd32(const unsigned char *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* A colour channel described by a bit mask: value = (pixel & mask) >> shift, max = mask >> shift. */
typedef struct chan_mask {
  uint32_t mask;
  int shift;
  uint32_t max;
} chan_mask;

static bool make_mask(uint32_t mask, chan_mask *m) {
  m->mask = mask;
  m->shift = 0;
  m->max = 0;
  if (!mask) return true; /* channel absent: reads as 0 */
  while (!((mask >> m->shift) & 1)) m->shift++;
  m->max = mask >> m->shift;
  return (m->max & (m->max + 1)) == 0; /* contiguous bits */
}

static uint8_t mask_value(const chan_mask *m, uint32_t px) {
  if (!m->mask) return 0;
  uint32_t v = (px & m->mask) >> m->shift;
  if (m->max == 255) return (uint8_t)v;
  return (uint8_t)(((uint64_t)v * 255 + m->max / 2) / m->max);
}

#define BAD(...) c8_error(CALIB8_INVALID_ARGUMENT, __VA_ARGS__)

c8_status c8_bmp_decode(const void *bytes, size_t len, const char *what, c8_image *out) {
  const unsigned char *b = bytes;
  memset(out, 0, sizeof *out);
  if (len < 14 + 12 || b[0] != 'B' || b[1] != 'M')
    return BAD("image %s is not a readable BMP file: it is shorter than the BMP headers", what);
  uint32_t data_off = rd32(b + 10);
  uint32_t hsize = rd32(b + 14);
  int64_t w, h;
  uint32_t bpp, comp = 0, colors_used = 0;
  size_t pal_entry;
  if (hsize == 12) {
    w = rd16(b + 18);
    h = (int16_t)rd16(b + 20);
    bpp = rd16(b + 24);
    pal_entry = 3;
  } else if (hsize == 40 || hsize == 52 || hsize == 56 || hsize == 64 || hsize == 108 || hsize == 124) {
    if (len < 14 + (size_t)hsize) return BAD("image %s is not a readable BMP file: its info header is truncated", what);
    w = (int32_t)rd32(b + 18);
    h = (int32_t)rd32(b + 22);
    bpp = rd16(b + 28);
    comp = rd32(b + 30);
    colors_used = rd32(b + 46);
    pal_entry = 4;
  } else {
    return BAD("image %s is not a readable BMP file: unknown info header size %u", what, (unsigned)hsize);
  }
  bool top_down = h < 0;
  if (top_down) h = -h;
  if (w <= 0 || h <= 0 || w * h > C8_IMAGE_MAX_PIXELS)
    return BAD("image %s is not a readable BMP file: bad size %lldx%lld", what, (long long)w, (long long)h);
  if (!(bpp == 1 || bpp == 4 || bpp == 8 || bpp == 16 || bpp == 24 || bpp == 32))
    return c8_error(CALIB8_UNSUPPORTED, "image %s is a %u-bit BMP; calib8 reads 1, 4, 8, 16, 24 and 32-bit", what,
                    (unsigned)bpp);
  /* Bit-field masks: inside the header for v2+ headers, right after a 40-byte header otherwise. */
  chan_mask mr, mg, mb;
  size_t after_header = 14 + (size_t)hsize;
  if (comp == 0) {
    uint32_t r = bpp == 16 ? 0x7C00 : 0xFF0000, g = bpp == 16 ? 0x03E0 : 0xFF00, bl = bpp == 16 ? 0x001F : 0xFF;
    make_mask(r, &mr);
    make_mask(g, &mg);
    make_mask(bl, &mb);
  } else if (comp == 3 || comp == 6) {
    if (bpp != 16 && bpp != 32)
      return BAD("image %s is not a readable BMP file: bit fields need 16 or 32 bits per pixel, not %u", what,
                 (unsigned)bpp);
    size_t moff = 14 + 40;
    if (hsize == 40) after_header += comp == 6 ? 16 : 12;
    if (moff + 12 > len) return BAD("image %s is not a readable BMP file: its colour masks are truncated", what);
    if (!make_mask(rd32(b + moff), &mr) || !make_mask(rd32(b + moff + 4), &mg) || !make_mask(rd32(b + moff + 8), &mb))
      return BAD("image %s is not a readable BMP file: a colour mask has non-contiguous bits", what);
  } else {
    const char *name = comp == 1 ? "RLE8" : comp == 2 ? "RLE4" : comp == 4 ? "JPEG" : comp == 5 ? "PNG" : "unknown";
    return c8_error(CALIB8_UNSUPPORTED, "image %s is a compressed BMP (%s, compression %u); calib8 reads uncompressed BMP only",
                    what, name, (unsigned)comp);
  }

  /* Palette. */
  uint8_t pal[256][3];
  uint32_t ncolors = 0;
  bool gray = false;
  if (bpp <= 8) {
    ncolors = colors_used ? colors_used : (1u << bpp);
    if (ncolors > (1u << bpp)) ncolors = 1u << bpp; /* extra entries are never addressed */
    size_t pal_off = after_header;
    if (pal_off > len || (len - pal_off) / pal_entry < ncolors)
      return BAD("image %s is not a readable BMP file: its palette of %u colours is truncated", what, (unsigned)ncolors);
    gray = true;
    for (uint32_t i = 0; i < ncolors; i++) {
      const unsigned char *e = b + pal_off + i * pal_entry;
      pal[i][0] = e[2];
      pal[i][1] = e[1];
      pal[i][2] = e[0];
      gray = gray && e[0] == e[1] && e[1] == e[2];
    }
  }

  uint64_t stride = ((uint64_t)w * bpp + 31) / 32 * 4;
  uint64_t last_row = ((uint64_t)w * bpp + 7) / 8; /* the final row may lack its padding */
  if (data_off < 14 + 12 || data_off > len || stride * (uint64_t)(h - 1) + last_row > len - data_off)
    return BAD("image %s is not a readable BMP file: its pixel data is truncated (%lldx%lld, %u-bit, offset %u, %zu bytes)",
               what, (long long)w, (long long)h, (unsigned)bpp, (unsigned)data_off, len);

  int c = (bpp <= 8 && gray) ? 1 : 3;
  uint8_t *px = c8_malloc((size_t)w * (size_t)h * c);
  if (!px) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory decoding image %s", what);
  for (int64_t y = 0; y < h; y++) {
    const unsigned char *row = b + data_off + stride * (uint64_t)(top_down ? y : h - 1 - y);
    uint8_t *dst = px + (size_t)y * (size_t)w * c;
    for (int64_t x = 0; x < w; x++) {
      uint8_t r, g, bl;
      if (bpp <= 8) {
        uint32_t idx;
        if (bpp == 8)
          idx = row[x];
        else if (bpp == 4)
          idx = (row[x >> 1] >> ((x & 1) ? 0 : 4)) & 0xF;
        else
          idx = (row[x >> 3] >> (7 - (x & 7))) & 1;
        if (idx >= ncolors) {
          c8_mfree(px);
          return BAD("image %s is not a readable BMP file: pixel (%lld,%lld) uses colour %u of a %u-colour palette", what,
                     (long long)x, (long long)y, (unsigned)idx, (unsigned)ncolors);
        }
        r = pal[idx][0];
        g = pal[idx][1];
        bl = pal[idx][2];
      } else if (bpp == 24) {
        bl = row[3 * x];
        g = row[3 * x + 1];
        r = row[3 * x + 2];
      } else {
        uint32_t v = bpp == 16 ? rd16(row + 2 * x) : rd32(row + 4 * x);
        r = mask_value(&mr, v);
        g = mask_value(&mg, v);
        bl = mask_value(&mb, v);
      }
      if (c == 1) {
        dst[x] = r;
      } else {
        dst[3 * x] = r;
        dst[3 * x + 1] = g;
        dst[3 * x + 2] = bl;
      }
    }
  }
  out->w = (int)w;
  out->h = (int)h;
  out->c = c;
  out->px = px;
  return CALIB8_OK;
}
