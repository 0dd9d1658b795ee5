/* Options shared by calib8 quantize, auto, sensitivity and serve, and the calibration set they open. */
#include "cli-quant-options.h"

#include <stdio.h>
#include <string.h>

#include "cli.h"

int cli_quant_option(int argc, char **argv, int *i, const cli_quant_words *w, cli_quant_common *c) {
  const char *o = argv[*i], *v = *i + 1 < argc ? argv[*i + 1] : NULL;
#define NEED(what)                                             \
  do {                                                         \
    if (!v) return cli_fail("option %s needs %s", o, what), 2; \
    ++*i;                                                      \
  } while (0)
  if (!strcmp(o, "--calib") || !strcmp(o, "-c")) {
    NEED(w->calib_need);
    if (c->n_calib == CALIB8_MAX_INPUTS) return cli_fail("at most %d --calib sources", CALIB8_MAX_INPUTS), 2;
    c->calib[c->n_calib++] = v;
  } else if (!strcmp(o, "-o") || !strcmp(o, "--output")) { NEED(w->out_need); c->out = v; }
  else if (!strcmp(o, "--json")) { NEED("a file name"); c->json = v; }
  else if (!strcmp(o, "--report")) { NEED("an HTML file name"); c->report = v; }
  else if (!strcmp(o, "--test")) { NEED("a dataset"); c->test = v; }
  else if (!strcmp(o, "--labels")) { NEED("a labels file"); c->labels = v; }
  else if (!strcmp(o, "--preprocess") || !strcmp(o, "-p")) { NEED("a preprocessing string"); c->pp_text = v; }
  else if (!strcmp(o, "--template")) { NEED("a template name"); c->template_name = v; }
  else if (!strcmp(o, "--metric")) {
    NEED(w->metric_need);
    if (w->check_now && calib8_metric_parse(v) < 0)
      return cli_fail("--metric '%s' is not top1, top5, map50, map or similarity", v), 2;
    c->metric = v;
  } else if (!strcmp(o, "--decode")) {
    NEED("yolov5, yolov8 or boxes");
    if (w->check_now && calib8_decode_parse(v) < 0) return cli_fail("--decode '%s' is not yolov5, yolov8 or boxes", v), 2;
    c->decode = v;
  } else if (!strcmp(o, "--batch")) {
    NEED("a batch size");
    if (!cli_parse_int(o, v, 1, 4096, &c->batch)) return 2;
  } else if (!strcmp(o, "--threads")) {
    NEED("a thread count");
    if (!cli_parse_int(o, v, 1, 256, &c->threads)) return 2;
  } else if (!strcmp(o, "--limit")) {
    NEED("a sample count");
    if (!cli_parse_int(o, v, 1, 2000000000, &c->limit)) return 2;
  } else if (!strcmp(o, "--test-limit")) {
    NEED("a sample count");
    if (!cli_parse_int(o, v, 1, 2000000000, &c->test_limit)) return 2;
  } else if (!strcmp(o, "--quiet") || !strcmp(o, "-q")) {
    c->quiet = true;
  } else {
    return 0;
  }
#undef NEED
  return 1;
}

calib8_status cli_open_calibration(const calib8_model *m, const cli_quant_common *c, calib8_dataset **ds) {
  calib8_dataset_options d = calib8_dataset_options_default();
  d.preprocess = c->pp_text;
  d.template_name = c->template_name;
  d.batch = c->batch;
  d.limit = c->limit ? c->limit : CALIB8_DEFAULT_CALIBRATION_SAMPLES;
  calib8_status st = calib8_dataset_open(m, c->n_calib, c->calib, &d, ds);
  int64_t n = st ? 0 : calib8_dataset_available(*ds);
  if (!c->limit && n > CALIB8_DEFAULT_CALIBRATION_SAMPLES)
    printf("calibrating on the first %d of %lld samples (the default cap; --limit N changes it)\n",
           CALIB8_DEFAULT_CALIBRATION_SAMPLES, (long long)n);
  return st;
}
