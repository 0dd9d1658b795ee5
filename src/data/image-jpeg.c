/* JPEG decoding with libjpeg(-turbo). libjpeg reports fatal errors through error_exit, which by default
 * calls exit(); we replace it with a longjmp back into c8_jpeg_decode so a corrupt file becomes a status. */
#include <setjmp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

#include "data/image.h"

typedef struct jerr_ctx {
  struct jpeg_error_mgr pub;
  jmp_buf jump;
  char msg[JMSG_LENGTH_MAX];
} jerr_ctx;

static void on_error_exit(j_common_ptr cinfo) {
  jerr_ctx *e = (jerr_ctx *)cinfo->err;
  e->pub.format_message(cinfo, e->msg);
  longjmp(e->jump, 1);
}

/* Warnings are silent (many real JPEGs carry harmless ones such as extraneous bytes before a marker),
 * except a premature end of data: libjpeg would fill the missing rows with gray, and a half-gray
 * calibration image is worse than an error. */
static void on_emit_message(j_common_ptr cinfo, int level) {
  /* JWRN_HIT_MARKER: the scan data stops at a marker (a file cut short, then closed with EOI) and libjpeg
     fills the rest with gray, as with a premature end of file. */
  if (level < 0 && (cinfo->err->msg_code == JWRN_JPEG_EOF || cinfo->err->msg_code == JWRN_HIT_MARKER))
    on_error_exit(cinfo);
}

typedef struct jpeg_job {
  struct jpeg_decompress_struct cinfo;
  jerr_ctx err;
  uint8_t *px;
  JSAMPLE *row; /* CMYK scanline */
} jpeg_job;

c8_status c8_jpeg_decode(const void *bytes, size_t len, const char *what, c8_image *out) {
  memset(out, 0, sizeof *out);
  /* Everything the error path touches lives in heap memory so longjmp cannot leave it stale. */
  jpeg_job *job = c8_calloc(1, sizeof *job);
  if (!job) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory decoding image %s", what);
  c8_status st = CALIB8_OK;
  job->cinfo.err = jpeg_std_error(&job->err.pub);
  job->err.pub.error_exit = on_error_exit;
  job->err.pub.emit_message = on_emit_message;
  if (setjmp(job->err.jump)) {
    st = c8_error(CALIB8_INVALID_ARGUMENT, "image %s is not a readable JPEG file: %s", what, job->err.msg);
    goto done;
  }
  jpeg_create_decompress(&job->cinfo);
  jpeg_mem_src(&job->cinfo, (const unsigned char *)bytes, (unsigned long)len);
  jpeg_read_header(&job->cinfo, TRUE);
  /* Refuse absurd sizes before libjpeg allocates anything for them, and sizes the file cannot hold. */
  if ((int64_t)job->cinfo.image_width * job->cinfo.image_height > C8_IMAGE_MAX_PIXELS) {
    st = c8_error(CALIB8_INVALID_ARGUMENT, "image %s is %ux%u pixels, more than calib8 accepts (%lld)", what,
                  (unsigned)job->cinfo.image_width, (unsigned)job->cinfo.image_height, (long long)C8_IMAGE_MAX_PIXELS);
    goto done;
  }
  if ((int64_t)job->cinfo.image_width * job->cinfo.image_height > c8_image_max_pixels_for(len, C8_JPEG_PIXELS_PER_BYTE)) {
    st = c8_error(CALIB8_INVALID_ARGUMENT,
                  "image %s declares %ux%u pixels, more than its %zu bytes of JPEG data can hold (truncated or corrupt)",
                  what, (unsigned)job->cinfo.image_width, (unsigned)job->cinfo.image_height, len);
    goto done;
  }
  bool cmyk = false;
  switch (job->cinfo.jpeg_color_space) {
    case JCS_GRAYSCALE: job->cinfo.out_color_space = JCS_GRAYSCALE; break;
    case JCS_CMYK:
    case JCS_YCCK:
      job->cinfo.out_color_space = JCS_CMYK;
      cmyk = true;
      break;
    default: job->cinfo.out_color_space = JCS_RGB; break;
  }
  jpeg_start_decompress(&job->cinfo);
  int w = (int)job->cinfo.output_width, h = (int)job->cinfo.output_height, c = job->cinfo.output_components;
  if (w <= 0 || h <= 0 || (int64_t)w * h > C8_IMAGE_MAX_PIXELS) {
    st = c8_error(CALIB8_INVALID_ARGUMENT, "image %s is %dx%d pixels, more than calib8 accepts (%lld)", what, w, h,
                  (long long)C8_IMAGE_MAX_PIXELS);
    goto done;
  }
  int oc = cmyk ? 3 : c;
  if (!(oc == 1 || oc == 3) || (cmyk && c != 4)) {
    st = c8_error(CALIB8_UNSUPPORTED, "image %s is a JPEG with %d colour components, calib8 reads 1, 3 or 4", what, c);
    goto done;
  }
  job->px = c8_malloc((size_t)w * h * oc);
  if (cmyk) job->row = c8_malloc((size_t)w * 4);
  if (!job->px || (cmyk && !job->row)) {
    st = c8_error(CALIB8_OUT_OF_MEMORY, "out of memory decoding image %s (%dx%d)", what, w, h);
    goto done;
  }
  while (job->cinfo.output_scanline < job->cinfo.output_height) {
    JDIMENSION y = job->cinfo.output_scanline;
    if (!cmyk) {
      JSAMPROW rows[1] = {job->px + (size_t)y * w * oc};
      jpeg_read_scanlines(&job->cinfo, rows, 1);
    } else {
      JSAMPROW rows[1] = {job->row};
      jpeg_read_scanlines(&job->cinfo, rows, 1);
      /* Photoshop (Adobe APP14) writes CMYK inverted, which is what nearly all CMYK JPEGs are;
       * libjpeg hands back the stored values, so R = C * K / 255 on the inverted samples. */
      uint8_t *dst = job->px + (size_t)y * w * 3;
      bool inverted = job->cinfo.saw_Adobe_marker;
      for (int x = 0; x < w; x++) {
        int k = job->row[4 * x + 3];
        for (int ch = 0; ch < 3; ch++) {
          int v = job->row[4 * x + ch];
          dst[3 * x + ch] = inverted ? (uint8_t)((v * k + 127) / 255)
                                     : (uint8_t)(((255 - v) * (255 - k) + 127) / 255);
        }
      }
    }
  }
  jpeg_finish_decompress(&job->cinfo);
  out->w = w;
  out->h = h;
  out->c = oc;
  out->px = job->px;
  job->px = NULL;
done:
  jpeg_destroy_decompress(&job->cinfo);
  c8_mfree(job->px);
  c8_mfree(job->row);
  c8_mfree(job);
  return st;
}
