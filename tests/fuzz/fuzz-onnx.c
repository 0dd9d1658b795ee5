/* The ONNX loader (protobuf unpacking, graph building, checks) and session creation, which clones the graph
 * and runs the optimization passes (constant folding runs operators on the model's initializers).
 * External data resolves inside an empty private folder, so it never reads files of the machine. */
#include "fuzz.h"
#include "load/model.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  fuzz_init();
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  c8_graph *g = NULL;
  if (c8_onnx_parse(data, size, fuzz_dir, "model 'fuzz.onnx'", &g) != CALIB8_OK) return 0;
  calib8_model m = {.graph = g, .path = "fuzz.onnx"};
  calib8_value_info vi;
  for (int i = 0; i < calib8_model_input_count(&m); i++) (void)calib8_model_input_info(&m, i, &vi);
  for (int i = 0; i < calib8_model_output_count(&m); i++) (void)calib8_model_output_info(&m, i, &vi);
  (void)calib8_model_parameter_count(&m);
  (void)calib8_model_opset(&m);
  calib8_session_options o = calib8_session_options_default();
  o.threads = 1;
  calib8_session *s = NULL;
  if (calib8_session_create(&m, &o, &s) == CALIB8_OK) calib8_session_destroy(s);
  c8_graph_destroy(g);
  return 0;
}
