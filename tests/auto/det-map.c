/* Prints calib8's mAP50 (and COCO mAP) of a YOLOv5-style output .npy against a data.label file, for the
 * comparison with tools/yolo/map_eval.py in run-auto-tests.sh. Usage: det-map OUT.npy data.label */
#include <stdio.h>

#include "data/labels.h"
#include "data/npy.h"
#include "evaluate/detection.h"

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: det-map OUT.npy data.label\n");
    return 2;
  }
  c8_tensor t;
  c8_det_labels *l = NULL;
  c8_det_eval *e = NULL;
  c8_det_options o = c8_det_options_default();
  if (c8_npy_read(argv[1], &t) || c8_det_labels_load(argv[2], &l) || c8_det_check_output(&o, &t, argv[1]) ||
      c8_det_eval_create(&o, &e) || c8_det_eval_add(e, &t, (int)t.dims[0], 0, l, NULL)) {
    fprintf(stderr, "det-map: %s\n", calib8_last_error());
    return 1;
  }
  printf("mAP50 %.4f\nmAP %.4f\n", c8_det_eval_map50(e), c8_det_eval_map(e));
  c8_det_eval_destroy(e);
  c8_det_labels_free(l);
  c8_free(t.data);
  return 0;
}
