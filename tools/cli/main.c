/* calib8: the command line. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cli_fail(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("calib8: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  return 1;
}

int cli_fail_status(calib8_status st) {
  fprintf(stderr, "calib8: %s\n", calib8_last_error());
  return st == CALIB8_INVALID_ARGUMENT ? 2 : 1;
}

bool cli_parse_int(const char *opt, const char *text, int min, int max, int *out) {
  char *end;
  long v = text ? strtol(text, &end, 10) : 0;
  if (!text || end == text || *end || v < min || v > max) {
    cli_fail("option %s needs an integer from %d to %d, got '%s'", opt, min, max, text ? text : "(nothing)");
    return false;
  }
  *out = (int)v;
  return true;
}

static void usage(FILE *f) {
  fprintf(f,
          "usage: calib8 <command> [options]\n"
          "\n"
          "commands:\n"
          "  info MODEL [--heads]            inputs, outputs, operators, parameters, opset (and detection heads)\n"
          "  run MODEL -i [NAME=]FILE.npy ... -o OUTDIR [--threads N] [--repeat R] [--no-optimize]\n"
          "      [--sub-batch auto|off|S]    run the FP32 model on .npy inputs; a batch runs as sub-batches\n"
          "                                  over the threads when no operator mixes samples (auto)\n"
          "  quantize MODEL --calib SRC -o OUT.onnx [options]\n"
          "       [--check-preprocess FILE.npy] calibrate and write a QDQ INT8 model ('calib8 quantize' alone\n"
          "                                  lists every option)\n"
          "  eval MODEL --data SRC --labels FILE [--preprocess STR | --template NAME] [--metric top1|top5]\n"
          "       [--json FILE] [--batch B]  top-1/top-5 accuracy over images, .npy/.npz, LMDB or text data\n"
          "  eval MODEL --data SRC --metric similarity --reference FP32.onnx\n"
          "                                  label-free agreement with a reference model (docs/metrics.md)\n"
          "  compare FP32.onnx INT8.onnx --data SRC [--tolerance COS,EUCLID] [--json FILE]\n"
          "                                  per-tensor cosine/euclidean/SQNR, accumulated and isolated errors;\n"
          "                                  exit 3 naming the first tensor below tolerance\n"
          "  auto MODEL --calib SRC --test SRC [--labels FILE] [--metric M] [--max-drop D] [--mode fast|full] -o OUT.onnx\n"
          "                                  search quantization strategies until the drop is within budget\n"
          "  sensitivity MODEL --calib SRC [--test SRC --labels FILE] [--top K] [-o QTABLE]\n"
          "                                  rank layers by the loss they cause alone in INT8\n"
          "  serve MODEL --calib SRC [--listen 127.0.0.1:8500] [--token-file F] [--max-drop D] [--mode fast|full]\n"
          "        [--resume] -o OUT.onnx    the search of auto, scored by clients over HTTP (docs/remote.md)\n"
          "  --version                       print the version\n"
          "  --help                          this text\n");
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  const char *cmd = argv[1];
  if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
    printf("calib8 %s\n", CALIB8_VERSION);
    return 0;
  }
  if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
    usage(stdout);
    return 0;
  }
  if (strcmp(cmd, "info") == 0) return cmd_info(argc - 1, argv + 1);
  if (strcmp(cmd, "run") == 0) return cmd_run(argc - 1, argv + 1);
  if (strcmp(cmd, "quantize") == 0) return cmd_quantize(argc - 1, argv + 1);
  if (strcmp(cmd, "auto") == 0) return cmd_auto(argc - 1, argv + 1);
  if (strcmp(cmd, "sensitivity") == 0) return cmd_sensitivity(argc - 1, argv + 1);
  if (strcmp(cmd, "eval") == 0) return cmd_eval(argc - 1, argv + 1);
  if (strcmp(cmd, "compare") == 0) return cmd_compare(argc - 1, argv + 1);
  if (strcmp(cmd, "serve") == 0) return cmd_serve(argc - 1, argv + 1);
  cli_fail("unknown command '%s' (see calib8 --help)", cmd);
  return 2;
}
