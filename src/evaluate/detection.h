/* Detection scoring: decoding of YOLO-style outputs, class-wise NMS, and mAP.
 *
 * Decoders (--decode):
 *   yolov5  [N, boxes, 4+1+C]  rows cx, cy, w, h, objectness, C class scores; score = obj * cls
 *   yolov8  [N, 4+C, boxes]    columns cx, cy, w, h, C class scores; score = cls
 *   boxes   [N, boxes, 6]      rows x1, y1, x2, y2, score, cls (already decoded)
 * Detections with score > conf are kept per class and suppressed by NMS (IoU >= nms_iou).
 *
 * Metrics:
 *   map50  VOC all-point AP at IoU 0.5, averaged over classes that have ground truth
 *          (the same arithmetic as ../shared/models/train/map_eval.py: tests check agreement to 4 decimals)
 *   map    COCO-style AP averaged over IoU 0.50:0.05:0.95 with 101-point interpolated precision
 * Everything accumulates per image, so memory grows with the number of kept detections, not with
 * the raw outputs. */
#ifndef C8_EVALUATE_DETECTION_H
#define C8_EVALUATE_DETECTION_H

#include <stdint.h>

#include "core/tensor.h"
#include "data/labels.h"

typedef enum { C8_DECODE_YOLOV5 = 0, C8_DECODE_YOLOV8, C8_DECODE_BOXES } c8_decode_kind;

typedef struct c8_det_options {
  c8_decode_kind decode;
  float conf;    /* 0.001 */
  float nms_iou; /* 0.5 */
} c8_det_options;

typedef struct c8_det_eval c8_det_eval;

c8_det_options c8_det_options_default(void);
/* Parses "yolov5", "yolov8", "boxes"; -1 when unknown. */
int c8_decode_parse(const char *name);

c8_status c8_det_eval_create(const c8_det_options *o, c8_det_eval **out);
void c8_det_eval_destroy(c8_det_eval *e);
/* Checks that an output shape fits the decoder (names the output in the error). */
c8_status c8_det_check_output(const c8_det_options *o, const c8_tensor *out, const char *name);
/* Adds the detections of rows [0, rows) of `out` for images first_image.. with their ground truth from
 * `labels`. scale/offset map model-input pixels back to label pixels: x_label = (x - ox) / sx (letterbox);
 * pass NULL for identity. */
c8_status c8_det_eval_add(c8_det_eval *e, const c8_tensor *out, int rows, int64_t first_image,
                          const c8_det_labels *labels, const double *geom /* [sx, sy, ox, oy] per row, or NULL */);
/* The detections kept so far (after NMS), in the order added: image, class, score and box [x1, y1, x2, y2]. */
int64_t c8_det_eval_count(const c8_det_eval *e);
void c8_det_eval_get(const c8_det_eval *e, int64_t i, int64_t *image, int *cls, float *score, float box[4]);
/* VOC all-point mAP at IoU 0.5, and COCO mAP@[.5:.95] (101-point). */
double c8_det_eval_map50(const c8_det_eval *e);
double c8_det_eval_map(const c8_det_eval *e);

#endif
