/* A loaded model described in text (calib8_model_print, what `calib8 info` prints). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calib8/calib8.h"
#include "core/alloc.h"
#include "core/status.h"

static void print_value(FILE *f, const calib8_value_info *vi) {
  fprintf(f, "  %-32s %-8s ", vi->name, calib8_dtype_name(vi->dtype));
  if (vi->rank < 0) {
    fprintf(f, "(shape not declared)\n");
    return;
  }
  fprintf(f, "[");
  for (int d = 0; d < vi->rank; d++) {
    if (d) fprintf(f, ", ");
    if (vi->dims[d] >= 0) fprintf(f, "%lld", (long long)vi->dims[d]);
    else fprintf(f, "%s", vi->dim_names[d] ? vi->dim_names[d] : "?");
  }
  fprintf(f, "]\n");
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

calib8_status calib8_model_print(const calib8_model *m, const char *path, int heads, FILE *f) {
  if (!m || !path || !f) return c8_error(CALIB8_INVALID_ARGUMENT, "calib8_model_print needs a model, its path and a FILE");
  int n = calib8_model_node_count(m), kinds = 0;
  op_count *hist = c8_calloc((size_t)(n ? n : 1), sizeof *hist);
  if (!hist) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory");
  fprintf(f, "model: %s\nopset: %d\n", path, calib8_model_opset(m));
  fprintf(f, "inputs:\n");
  calib8_value_info vi;
  for (int i = 0; i < calib8_model_input_count(m); i++) calib8_model_input_info(m, i, &vi), print_value(f, &vi);
  fprintf(f, "outputs:\n");
  for (int i = 0; i < calib8_model_output_count(m); i++) calib8_model_output_info(m, i, &vi), print_value(f, &vi);
  for (int i = 0; i < n; i++) {
    const char *op = calib8_model_node_op(m, i);
    int k = 0;
    while (k < kinds && strcmp(hist[k].op, op) != 0) k++;
    if (k == kinds) hist[kinds++].op = op;
    hist[k].count++;
  }
  qsort(hist, (size_t)kinds, sizeof *hist, by_count);
  fprintf(f, "operators: %d nodes\n", n);
  for (int k = 0; k < kinds; k++) fprintf(f, "  %-24s %d\n", hist[k].op, hist[k].count);
  fprintf(f, "parameters: %lld\n", (long long)calib8_model_parameter_count(m));
  c8_mfree(hist);
  if (!heads) return CALIB8_OK;
  /* what `quantize --fp32-heads` keeps in FP32: the last layers on each path to an output and the decode */
  const char **names = NULL, **ops = NULL;
  int nh = 0;
  calib8_status st = calib8_model_heads(m, &names, &ops, &nh);
  if (st) return st;
  fprintf(f, "detection heads (kept in FP32 by quantize --fp32-heads): %d nodes\n", nh);
  for (int i = 0; i < nh; i++) fprintf(f, "  %-40s %s\n", names[i], ops[i]);
  calib8_free(names);
  calib8_free(ops);
  return CALIB8_OK;
}
