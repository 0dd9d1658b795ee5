/* calib8 serve (USAGE): remote mode (calib8/serve.h, docs/remote.md), the search of calib8 auto scored by clients.
 * Progress (rounds, strategies, requests served, scores, trials) goes to stderr; the choice and the files written
 * to stdout. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calib8/calib8.h"
#include "cli-quant-options.h"
#include "cli.h"

static void on_message(void *user, const char *line) {
  (void)user;
  fprintf(stderr, "%s\n", line);
  fflush(stderr);
}

static void on_trial(void *user, const calib8_trial *t) {
  (void)user;
  calib8_trial_print(t, NULL, stderr);
  fflush(stderr);
}

/* The token: the first line of the file (trailing white space dropped). */
static int read_token(const char *path, char *buf, size_t size) {
  FILE *f = fopen(path, "rb");
  if (!f) return cli_fail("--token-file '%s' cannot be read", path);
  size_t n = fread(buf, 1, size - 1, f);
  fclose(f);
  buf[n] = 0;
  buf[strcspn(buf, "\r\n")] = 0;
  n = strlen(buf);
  while (n && (buf[n - 1] == ' ' || buf[n - 1] == '\t')) buf[--n] = 0;
  if (!n) return cli_fail("--token-file '%s' holds no token", path);
  return 0;
}

static const char USAGE[] =
    "usage: calib8 serve MODEL --calib SRC [-p STR | --template NAME] [--listen 127.0.0.1:8500] [--token-file F] "
    "[--max-drop 0.005] [--mode fast|full] [--resume] [--report FILE.html] -o OUT.onnx";

int cmd_serve(int argc, char **argv) {
  cli_quant_common c;
  memset(&c, 0, sizeof c);
  calib8_search_options so = calib8_search_options_default();
  calib8_serve_options sv = calib8_serve_options_default();
  const char *token_file = NULL;
  static char token[4096];
  const cli_quant_words words = {.calib_need = "a dataset", .out_need = "the output model path", .metric_need = "a metric",
                                 .check_now = false};
  for (int i = 1; i < argc; i++) {
    int taken = cli_quant_option(argc, argv, &i, &words, &c);
    if (taken == 2) return 2;
    if (taken) continue;
    const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(o, "--max-drop") || !strcmp(o, "--round-timeout") || !strcmp(o, "--fp32-diff")) {
      CLI_NEED("a number");
      char *end;
      double d = strtod(v, &end);
      if (*end || !isfinite(d) || d < 0) return cli_fail("option %s needs a non-negative number, got '%s'", o, v), 2;
      if (!strcmp(o, "--max-drop")) so.max_drop = d;
      else if (!strcmp(o, "--fp32-diff")) so.fp32_diff = d;
      else if (d <= 0) return cli_fail("option --round-timeout needs a positive number of seconds"), 2;
      else sv.round_timeout = d;
    } else if (!strcmp(o, "--mode")) {
      CLI_NEED("fast or full");
      if (!strcmp(v, "fast")) so.mode = CALIB8_SEARCH_FAST;
      else if (!strcmp(v, "full")) so.mode = CALIB8_SEARCH_FULL;
      else return cli_fail("--mode '%s' is not fast or full", v), 2;
    } else if (!strcmp(o, "--resume")) so.resume = 1;
    else if (!strcmp(o, "--listen")) {
      CLI_NEED("HOST:PORT");
      sv.listen = v;
    } else if (!strcmp(o, "--token-file")) {
      CLI_NEED("a file");
      token_file = v;
    } else if (!strcmp(o, "--max-body")) {
      CLI_NEED("a byte count");
      char *end;
      long long n = strtoll(v, &end, 10);
      if (*end || n < 1) return cli_fail("option --max-body needs a positive byte count, got '%s'", v), 2;
      sv.max_body = n;
    } else if (!strcmp(o, "--request-timeout")) {
      CLI_NEED("seconds");
      if (!cli_parse_int(o, v, 1, 86400, &sv.request_timeout)) return 2;
    } else if (!strcmp(o, "--max-connections")) {
      CLI_NEED("a count");
      if (!cli_parse_int(o, v, 1, 100000, &sv.max_connections)) return 2;
    } else if (o[0] == '-') return cli_fail("serve: unknown option '%s'", o), 2;
    else if (!c.model) c.model = o;
    else return cli_fail("serve: unexpected argument '%s'", o), 2;
  }
  if (!c.model || !c.n_calib || !c.out) return cli_fail("%s", USAGE), 2;
  if (c.test || c.labels || c.metric) return cli_fail("serve: the clients score; --test, --labels and --metric do not apply"), 2;
  if (token_file) {
    if (read_token(token_file, token, sizeof token)) return 2;
    sv.token = token;
  } else if (getenv("CALIB8_TOKEN") && getenv("CALIB8_TOKEN")[0]) {
    sv.token = getenv("CALIB8_TOKEN");
  }
  calib8_status st = calib8_preprocess_validate(c.pp_text, c.template_name);
  if (st) return cli_fail_status(st), 2;
  char rp1[PATH_MAX], rp2[PATH_MAX];
  if (realpath(c.model, rp1) && realpath(c.out, rp2) && !strcmp(rp1, rp2))
    return cli_fail("-o '%s' is the input model; calib8 never overwrites an input", c.out);
  const char *paths[3 + CALIB8_MAX_INPUTS] = {c.model, c.out, c.json};
  for (int k = 0; k < c.n_calib; k++) paths[3 + k] = c.calib[k];
  if (calib8_outputs_check_report(c.report, 3 + c.n_calib, paths)) return cli_fail_status(CALIB8_INVALID_ARGUMENT), 2;
  calib8_model *m = NULL;
  calib8_dataset *calib = NULL;
  calib8_search_result *r = calloc(1, sizeof *r);
  st = r ? calib8_model_load(c.model, &m) : calib8_set_error(CALIB8_OUT_OF_MEMORY, "out of memory");
  if (!st) st = cli_open_calibration(m, &c, &calib);
  if (!st) {
    so.metric_name = "user";
    so.output = c.out;
    so.json = c.json;
    so.report = c.report;
    so.threads = c.threads;
    so.model_path = c.model;
    so.on_trial = on_trial;
    so.on_message = on_message;
    sv.on_message = on_message;
    st = calib8_serve_run(m, calib, &sv, &so, r);
  }
  if (!st || st == CALIB8_BUDGET_NOT_MET) {
    calib8_search_result_print(r, NULL, c.out, stdout);
  }
  int rc = st == CALIB8_BUDGET_NOT_MET ? cli_fail("%s", calib8_last_error()) : st ? cli_fail_status(st) : 0;
  if (c.report && (!st || st == CALIB8_BUDGET_NOT_MET)) /* a warning; exit 1 only when nothing else failed */
    rc = r->report_status ? (fprintf(stderr, "calib8: warning: the report was not written: %s\n", r->report_error), rc ? rc : 1)
                          : (printf("wrote %s\n", c.report), rc);
  free(r);
  calib8_dataset_close(calib);
  calib8_model_destroy(m);
  return rc;
}
