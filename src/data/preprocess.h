/* Image preprocessing, configured by a string in the seed tools' syntax (see docs/preprocessing.md):
 *
 *   'resize_h=512,resize_w=512;mean_value=103.94:116.78:123.68,scale=1.0'
 *
 * Operations are separated by ';', parameters by ',', list values by ':'. Operations run left to right;
 * inside one operation the steps run in a fixed order: resize (resize_h/resize_w, resize_side, letterbox)
 * -> center crop (crop_h/crop_w, crop_fraction) -> (x - mean_value) / std_value * scale -> bgr2rgb.
 * Before the first operation the decoded image is converted to the model's channel count
 * (gray -> 3 replicates; colour -> 1 is 0.299 R + 0.587 G + 0.114 B); after the last one the result is
 * written in the model's layout (layout=nchw|nhwc, or guessed from the input shape).
 *
 * Pixels are float from the start (0..255 before normalization); nothing is rounded back to 8 bits.
 * Channel order: calib8 decodes to R,G,B. mean_value/std_value list values in the channel order
 * current at that point; a reversal reverses the channel order where it appears. Written bgr2rgb=true (NNTC's
 * word, the first reversal of the string), it means what it means in NNTC: the image starts in OpenCV's B,G,R
 * order and leaves the reversal as R,G,B. Written rgb2bgr=true, the R,G,B image leaves it as B,G,R. */
#ifndef C8_DATA_PREPROCESS_H
#define C8_DATA_PREPROCESS_H

#include <stdbool.h>
#include <stdint.h>

#include "calib8/calib8.h"
#include "core/status.h"
#include "data/image.h"

#define C8_PP_MAX_OPS 16
#define C8_PP_MAX_CH 3

typedef enum c8_layout { C8_LAYOUT_AUTO = 0, C8_LAYOUT_NCHW, C8_LAYOUT_NHWC } c8_layout;

typedef struct c8_pp_op {
  int resize_h, resize_w; /* 0 = no resize to a fixed size */
  int resize_side;        /* shorter side becomes this, aspect kept; 0 = unset */
  bool letterbox;         /* with resize_h/resize_w: fit inside keeping aspect, pad the rest */
  float letterbox_value;  /* pad value (before normalization in this operation), default 114 */
  int crop_h, crop_w;     /* center crop; 0 = unset */
  double crop_fraction;   /* center crop keeping this fraction of each side; 0 = unset */
  int n_mean, n_std;      /* 0 = unset; 1 = same value for every channel */
  float mean[C8_PP_MAX_CH], std[C8_PP_MAX_CH];
  bool has_scale;
  float scale;
  bool bgr2rgb;
  bool spelled_bgr2rgb;   /* the reversal was written bgr2rgb (not rgb2bgr) */
} c8_pp_op;

typedef struct c8_preprocess {
  int n_ops;
  c8_pp_op ops[C8_PP_MAX_OPS];
  c8_layout layout;
  /* the first channel reversal is spelled bgr2rgb=true: as in NNTC, the pipeline starts from the image in
     OpenCV's B,G,R order, so the operations before it see B,G,R and it hands on R,G,B */
  bool opencv_order;
} c8_preprocess;

/* Parses a preprocessing string. Errors name the parameter and the rule (CALIB8_INVALID_ARGUMENT).
 * An empty string gives an empty pipeline (channel conversion and layout only). */
c8_status c8_preprocess_parse(const char *text, c8_preprocess *out);

/* Built-in templates. */
int c8_preprocess_template_count(void);
const char *c8_preprocess_template_name(int i);
const char *c8_preprocess_template_text(int i);
const char *c8_preprocess_template_note(int i);
/* Parses the template `name`; unknown names fail with the list of known ones. */
c8_status c8_preprocess_template(const char *name, c8_preprocess *out);

/* What the preprocessed image must look like for one model input. */
typedef struct c8_pp_target {
  c8_layout layout; /* NCHW or NHWC (never AUTO) */
  int c;            /* 1 or 3 */
  int64_t h, w;     /* -1 when the model leaves the dimension dynamic */
} c8_pp_target;

/* Derives the target from a model input ([N,C,H,W] or [N,H,W,C], float32 or uint8) and checks the
 * pipeline against it (mean/std value counts vs channels). `what` names the input in errors. */
c8_status c8_preprocess_target(const c8_preprocess *pp, const calib8_value_info *input, c8_pp_target *out);

/* Maps model-input pixel coordinates back to the source image: src = (x - ox) / sx, (y - oy) / sy. */
typedef struct c8_pp_geom {
  int src_w, src_h; /* decoded image size */
  int out_w, out_h; /* preprocessed size */
  double sx, sy, ox, oy;
} c8_pp_geom;

/* Reusable scratch memory for c8_preprocess_image (grows to the largest image seen). */
typedef struct c8_pp_work {
  float *buf[3];
  size_t cap[3];
} c8_pp_work;
void c8_pp_work_free(c8_pp_work *w);

/* Runs the pipeline on a decoded image. *out points into `work` (valid until its next use) and holds
 * c * out_h * out_w floats in the target layout. `what` names the image in errors. */
c8_status c8_preprocess_image(const c8_preprocess *pp, const c8_pp_target *tgt, const c8_image *img, const char *what,
                              c8_pp_work *work, const float **out, c8_pp_geom *geom);

/* Bilinear resize of an HWC float image with half-pixel centers, matching PyTorch
 * F.interpolate(mode='bilinear', align_corners=False, antialias=False) operation for operation
 * (and OpenCV INTER_LINEAR on float images). Downscaling does not low-pass filter (no antialias). */
c8_status c8_resize_bilinear(const float *src, int ih, int iw, int c, float *dst, int oh, int ow);

/* Channel conversion of an 8-bit image into float HWC with `c` channels (1 or 3). */
void c8_image_to_float(const c8_image *img, int c, float *dst);

#endif
