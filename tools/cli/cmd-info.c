/* calib8 info MODEL [--heads]: calib8_model_print. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

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
  if (!st) st = calib8_model_print(m, path, heads, stdout);
  calib8_model_destroy(m);
  return st ? cli_fail_status(st) : 0;
}
