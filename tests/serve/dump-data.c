/* dump-data MODEL SRC PREPROCESS OUT.npy: every sample of SRC as calib8 preprocesses it for MODEL's first input,
 * stacked into one .npy [N, ...] (the remote-mode tests feed them to `calib8 serve` from Python). */
#include <stdio.h>
#include <string.h>

#include "calib8/calib8.h"
#include "core/tensor.h"
#include "data/npy.h"

int main(int argc, char **argv) {
  if (argc != 5) return fprintf(stderr, "usage: dump-data MODEL SRC PREPROCESS OUT.npy\n"), 2;
  calib8_model *m = NULL;
  calib8_dataset *ds = NULL;
  calib8_dataset_options o = calib8_dataset_options_default();
  o.preprocess = argv[3];
  o.batch = 1;
  const char *spec = argv[2];
  calib8_status st = calib8_model_load(argv[1], &m);
  if (!st) st = calib8_dataset_open(m, 1, &spec, &o, &ds);
  c8_tensor all = {0};
  size_t used = 0, one = 0;
  for (int64_t n = 0; !st; n++) {
    calib8_batch b;
    if ((st = calib8_dataset_next(ds, &b)) || !b.rows) break;
    one = c8_nbytes(&b.inputs[0]);
    if (!all.data) all = b.inputs[0], all.dims[0] = 0, all.data = NULL;
    void *nd = c8_alloc(used + one);
    if (!nd) return fprintf(stderr, "out of memory\n"), 1;
    if (all.data) memcpy(nd, all.data, used), c8_free(all.data);
    memcpy((char *)nd + used, b.inputs[0].data, one);
    all.data = nd;
    used += one;
    all.dims[0] = n + 1;
  }
  if (!st) st = c8_npy_write(argv[4], &all);
  if (st) fprintf(stderr, "dump-data: %s\n", calib8_last_error());
  c8_free(all.data);
  calib8_dataset_close(ds);
  calib8_model_destroy(m);
  return st ? 1 : 0;
}
