/* Ground-truth labels.
 *
 * Classification files, one entry per line (blank lines and lines starting with '#' are skipped):
 *   "3"              one label per sample, in dataset order
 *   "3,13,4,6"       one line per record (LMDB data.label): the labels of a batch record's samples
 *   "img/0001.png 3" label by file name: matched to image samples by the name as listed (path relative
 *                    to the folder or as written in the list file), then by base name
 * A file uses bare labels or 'path label' lines, not both. Labels are integers >= 0.
 *
 * Detection files, one line per image (an empty line is an image without boxes):
 *   "cls,x1,y1,x2,y2;cls,x1,y1,x2,y2"   boxes in input pixels, x2 >= x1 and y2 >= y1 */
#ifndef C8_DATA_LABELS_H
#define C8_DATA_LABELS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/status.h"
#include "data/dataset.h"

typedef struct c8_class_labels c8_class_labels;

c8_status c8_class_labels_load(const char *path, c8_class_labels **out);
/* Parses labels from memory; `what` names the source in messages. */
c8_status c8_class_labels_parse(const char *text, const char *what, c8_class_labels **out);
int64_t c8_class_labels_count(const c8_class_labels *l); /* all labels */
int64_t c8_class_labels_lines(const c8_class_labels *l); /* entries (lines) */
bool c8_class_labels_by_name(const c8_class_labels *l);
/* Checks the counts against a dataset (samples/records may be -1 when unknown). */
c8_status c8_class_labels_check(const c8_class_labels *l, int64_t samples, int64_t records, const char *dataset);
/* The label of a dataset sample; fails naming the sample when there is none. */
c8_status c8_class_labels_get(const c8_class_labels *l, const c8_sample *s, int64_t *label);
void c8_class_labels_free(c8_class_labels *l);

typedef struct c8_box {
  int64_t cls;
  float x1, y1, x2, y2;
} c8_box;

typedef struct c8_det_labels {
  char *what; /* the source, quoted, for messages */
  int64_t n_images;
  int64_t *first; /* boxes of image i: boxes[first[i] .. first[i+1]) */
  c8_box *boxes;
  int64_t n_boxes;
} c8_det_labels;

c8_status c8_det_labels_load(const char *path, c8_det_labels **out);
c8_status c8_det_labels_parse(const char *text, const char *what, c8_det_labels **out);
/* Checks the image count against a dataset's sample count (-1: unknown). */
c8_status c8_det_labels_check(const c8_det_labels *l, int64_t samples, const char *dataset);
void c8_det_labels_free(c8_det_labels *l);

#endif
