/* Options shared by calib8 quantize, auto and sensitivity (cli-quant-options.h). */
#include "cli-quant-options.h"

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
