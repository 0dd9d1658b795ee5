/* calib8 run MODEL [-i [NAME=]FILE.npy ...] -o OUTDIR [--threads N] [--repeat R] [--no-optimize]
                 [--sub-batch auto|off|S] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define MAX_INPUTS 64

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

int cmd_run(int argc, char **argv) {
  const char *model_path = NULL, *outdir = NULL;
  const char *names[MAX_INPUTS];
  const char *files[MAX_INPUTS];
  calib8_tensor inputs[MAX_INPUTS];
  int n_in = 0, threads = 0, repeat = 1, rc = 1, sub_batch = 0;
  bool optimize = true;
  calib8_model *m = NULL;
  calib8_session *s = NULL;
  double *times = NULL;
  memset(inputs, 0, sizeof inputs);
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "-i") == 0 || strcmp(a, "--input") == 0) {
      if (i + 1 >= argc) return cli_fail("option %s needs [NAME=]FILE.npy", a);
      if (n_in == MAX_INPUTS) return cli_fail("at most %d inputs", MAX_INPUTS);
      char *spec = argv[++i];
      char *eq = strchr(spec, '=');
      if (eq) {
        *eq = 0;
        names[n_in] = spec;
        files[n_in] = eq + 1;
      } else {
        names[n_in] = NULL;
        files[n_in] = spec;
      }
      n_in++;
    } else if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) {
      if (i + 1 >= argc) return cli_fail("option %s needs a directory", a);
      outdir = argv[++i];
    } else if (strcmp(a, "--threads") == 0) {
      if (!cli_parse_int(a, i + 1 < argc ? argv[++i] : NULL, 1, 256, &threads)) return 2;
    } else if (strcmp(a, "--repeat") == 0) {
      if (!cli_parse_int(a, i + 1 < argc ? argv[++i] : NULL, 1, 1000000, &repeat)) return 2;
    } else if (strcmp(a, "--sub-batch") == 0) {
      calib8_status st = calib8_session_options_parse_sub_batch(i + 1 < argc ? argv[++i] : NULL, &sub_batch);
      if (st) return cli_fail_status(st);
    } else if (strcmp(a, "--no-optimize") == 0) {
      optimize = false;
    } else if (a[0] == '-') {
      return cli_fail("run: unknown option '%s'", a);
    } else if (!model_path) {
      model_path = a;
    } else {
      return cli_fail("run: unexpected argument '%s'", a);
    }
  }
  if (!model_path || !outdir)
    return cli_fail("usage: calib8 run MODEL [-i [NAME=]FILE.npy ...] -o OUTDIR [--threads N] [--repeat R] "
                    "[--no-optimize] [--sub-batch auto|off|S]");

  calib8_status st = calib8_model_load(model_path, &m);
  if (st) return cli_fail_status(st);
  /* a model without inputs (ONNX's node test test_constant) runs with none; any other needs -i */
  if (n_in == 0 && calib8_model_input_count(m) > 0) {
    rc = cli_fail("run: model '%s' has %d input%s; give each with -i [NAME=]FILE.npy", model_path,
                  calib8_model_input_count(m), calib8_model_input_count(m) == 1 ? "" : "s");
    goto out;
  }
  for (int i = 0; i < n_in; i++)
    if ((st = calib8_npy_read(files[i], &inputs[i]))) goto fail_status;
  calib8_session_options opts = calib8_session_options_default();
  opts.threads = threads;
  opts.optimize = optimize;
  opts.sub_batch = sub_batch;
  if ((st = calib8_session_create(m, &opts, &s))) goto fail_status;
  if (!(times = malloc(sizeof(double) * (size_t)repeat))) {
    rc = cli_fail("out of memory");
    goto out;
  }
  for (int r = 0; r < repeat; r++) {
    double t0 = calib8_now();
    st = calib8_session_run(s, n_in, names, inputs);
    times[r] = calib8_now() - t0;
    if (st) goto fail_status;
  }
  if ((st = calib8_session_write_outputs(s, outdir, stdout))) goto fail_status;
  int n_layers, n_int8 = calib8_session_int8_layers(s, &n_layers);
  if (n_int8 >= 0) printf("INT8 kernels: %d of %d layers\n", n_int8, n_layers); /* -1: CALIB8_INT8 is not 1 */
  const char *why;
  for (int i = 0; n_int8 >= 0 && calib8_session_int8_fallback(s, i, &why); i++)
    printf("  not on INT8 kernels: %s: %s\n", calib8_session_int8_fallback(s, i, NULL), why);
  if (n_in > 0 && calib8_session_sub_batch(s) > 0)
    printf("ran as %lld sub-batches of %d over the threads\n",
           (long long)(inputs[0].dims[0] / calib8_session_sub_batch(s)), calib8_session_sub_batch(s));
  qsort(times, (size_t)repeat, sizeof *times, cmp_double);
  printf("latency over %d run%s: min %.3f ms, median %.3f ms\n", repeat, repeat > 1 ? "s" : "", times[0] * 1e3,
         times[repeat / 2] * 1e3);
  rc = 0;
  goto out;
fail_status:
  rc = cli_fail_status(st);
out:
  free(times);
  for (int i = 0; i < n_in; i++) calib8_tensor_free(&inputs[i]);
  calib8_session_destroy(s);
  calib8_model_destroy(m);
  return rc;
}
