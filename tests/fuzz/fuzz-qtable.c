/* The qtable reader (c8_qtable_read) on a small graph whose layer names include the usual ONNX shapes
 * ("conv1", "/layer1/Conv", "Relu_3"); names may also be tensors ("v1"). */
#include "export/tables.h"
#include "fuzz.h"
#include "graph/graph.h"

static c8_graph *g;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  fuzz_init();
  g = c8_graph_new();
  if (!g) abort();
  static const char *names[] = {"conv1", "/layer1/Conv", "Relu_3", "fc"};
  static const char *ops[] = {"Conv", "Conv", "Relu", "Gemm"};
  int prev = c8_graph_get_or_add_value(g, "input");
  for (int i = 0; i < 4; i++) {
    char out_name[32];
    snprintf(out_name, sizeof out_name, "v%d", i);
    int out = c8_graph_get_or_add_value(g, out_name);
    if (prev < 0 || out < 0 || c8_graph_add_node(g, names[i], ops[i], "", 1, &prev, 1, &out) < 0) abort();
    prev = out;
  }
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char path[128];
  fuzz_write("q.table", data, size, path, sizeof path);
  c8_precision prec[4];
  bool half[4];
  (void)c8_qtable_read(path, g, prec, half);
  (void)c8_qtable_read(path, g, prec, NULL);
  return 0;
}
