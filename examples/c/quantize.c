/* Quantizes a model to INT8 with the calib8 C API: the same steps, and the same bytes, as
 *
 *   calib8 quantize MODEL --calib IMAGES -p PREPROCESS -o OUT.onnx [--table OUT.table]
 *
 * with the defaults (KL thresholds, per-channel MinMax weights, symmetric activations).
 *
 * Usage: quantize MODEL IMAGES PREPROCESS OUT.onnx [OUT.table]
 *   e.g. quantize examples/fmnist/fmnist_lenet.onnx examples/fmnist 'mean_value=72.94,std_value=90.0' lenet_int8.onnx
 *
 * Build: cc quantize.c $(pkg-config --cflags --libs calib8) */
#include <stdio.h>

#include "calib8/calib8.h"

int main(int argc, char **argv) {
  if (argc != 5 && argc != 6) {
    fprintf(stderr, "usage: %s MODEL IMAGES PREPROCESS OUT.onnx [OUT.table]\n", argv[0]);
    return 2;
  }
  const char *model_path = argv[1], *images = argv[2], *preprocess = argv[3];
  calib8_model *model = NULL;
  calib8_session *session = NULL;
  calib8_dataset *data = NULL;
  calib8_calibration *cal = NULL;
  calib8_qplan *plan = NULL;
  int rc = 1;

  /* 1. the FP32 model and a session to run it */
  if (calib8_model_load(model_path, &model) != CALIB8_OK) goto fail;
  if (calib8_session_create(model, NULL, &session) != CALIB8_OK) goto fail;

  /* 2. the calibration images, preprocessed as the model was trained */
  calib8_dataset_options dopt = calib8_dataset_options_default();
  dopt.preprocess = preprocess;
  if (calib8_dataset_open(model, 1, &images, &dopt, &data) != CALIB8_OK) goto fail;

  /* 3. one pass over them: a histogram per activation */
  if (calib8_calibration_create(session, NULL, &cal) != CALIB8_OK) goto fail;
  if (calib8_calibration_add_dataset(cal, data, NULL, NULL) != CALIB8_OK) goto fail;

  /* 4. the plan: thresholds, scales, which layers run in INT8 */
  calib8_quant_options q = calib8_quant_options_default();
  q.method = CALIB8_METHOD_KL;
  if (calib8_qplan_build(session, cal, &q, &plan) != CALIB8_OK) goto fail;
  for (int i = 0; i < calib8_qplan_layer_count(plan); i++) {
    calib8_layer_info li;
    calib8_qplan_layer(plan, i, &li);
    printf("%-24s %-8s %s\n", li.name, li.op, li.precision == CALIB8_PRECISION_INT8 ? "INT8" : "FP32");
  }

  /* 5. the QDQ model (and the calibration table), all written or none */
  calib8_outputs out = {.model = argv[4], .table = argc == 6 ? argv[5] : NULL};
  if (calib8_qplan_write(plan, &out, NULL) != CALIB8_OK) goto fail;
  printf("calibrated on %lld samples, wrote %s\n", (long long)calib8_calibration_samples(cal), argv[4]);
  rc = 0;
  goto out;
fail:
  fprintf(stderr, "quantize: %s\n", calib8_last_error());
out:
  calib8_qplan_destroy(plan);
  calib8_calibration_destroy(cal);
  calib8_dataset_close(data);
  calib8_session_destroy(session);
  calib8_model_destroy(model);
  return rc;
}
