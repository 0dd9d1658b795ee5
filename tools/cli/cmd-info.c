/* calib8 info MODEL */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void print_value(const calib8_value_info *vi) {
  printf("  %-32s %-8s ", vi->name, calib8_dtype_name(vi->dtype));
  if (vi->rank < 0) {
    printf("(shape not declared)\n");
    return;
  }
  printf("[");
  for (int d = 0; d < vi->rank; d++) {
    if (d) printf(", ");
    if (vi->dims[d] >= 0) printf("%lld", (long long)vi->dims[d]);
    else printf("%s", vi->dim_names[d] ? vi->dim_names[d] : "?");
  }
  printf("]\n");
}

typedef struct {
  const char *op;
  int count;
} op_count;

static int by_count(const void *a, const void *b) {
  const op_count *x = a, *y = b;
  if (x->count != y->count) return y->count - x->count;
  return strcmp(x->op, y->op);
}

int cmd_info(int argc, char **argv) {
  if (argc < 2) return cli_fail("usage: calib8 info MODEL [--heads]");
  const char *path = NULL;
  bool heads = false;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--heads")) {
      heads = true;
      continue;
    }
    if (argv[i][0] == '-') return cli_fail("info: unknown option '%s'", argv[i]);
    if (path) return cli_fail("info: takes one model, got '%s' and '%s'", path, argv[i]);
    path = argv[i];
  }
  calib8_model *m = NULL;
  calib8_status st = calib8_model_load(path, &m);
  if (st) return cli_fail_status(st);
  printf("model: %s\nopset: %d\n", path, calib8_model_opset(m));
  printf("inputs:\n");
  for (int i = 0; i < calib8_model_input_count(m); i++) {
    calib8_value_info vi;
    calib8_model_input_info(m, i, &vi);
    print_value(&vi);
  }
  printf("outputs:\n");
  for (int i = 0; i < calib8_model_output_count(m); i++) {
    calib8_value_info vi;
    calib8_model_output_info(m, i, &vi);
    print_value(&vi);
  }
  int n = calib8_model_node_count(m), kinds = 0;
  op_count *hist = calloc((size_t)(n ? n : 1), sizeof *hist);
  if (!hist) {
    calib8_model_destroy(m);
    return cli_fail("out of memory");
  }
  for (int i = 0; i < n; i++) {
    const char *op = calib8_model_node_op(m, i);
    int k = 0;
    while (k < kinds && strcmp(hist[k].op, op) != 0) k++;
    if (k == kinds) hist[kinds++].op = op;
    hist[k].count++;
  }
  qsort(hist, (size_t)kinds, sizeof *hist, by_count);
  printf("operators: %d nodes\n", n);
  for (int k = 0; k < kinds; k++) printf("  %-24s %d\n", hist[k].op, hist[k].count);
  printf("parameters: %lld\n", (long long)calib8_model_parameter_count(m));
  if (heads) {
    /* what `quantize --fp32-heads` keeps in FP32: the last layers on each path to an output and the decode */
    const char **names = NULL, **ops = NULL;
    int nh = 0;
    if ((st = calib8_model_heads(m, &names, &ops, &nh))) {
      free(hist);
      calib8_model_destroy(m);
      return cli_fail_status(st);
    }
    printf("detection heads (kept in FP32 by quantize --fp32-heads): %d nodes\n", nh);
    for (int i = 0; i < nh; i++) printf("  %-40s %s\n", names[i], ops[i]);
    calib8_free(names);
    calib8_free(ops);
  }
  free(hist);
  calib8_model_destroy(m);
  return 0;
}
