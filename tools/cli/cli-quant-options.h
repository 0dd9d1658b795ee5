/* The options calib8 quantize, auto, sensitivity and serve share: the model, calibration and test data,
 * preprocessing, the output and JSON summary, and batch size, threads and sample limits.
 * Each command keeps its own options, its usage text and its checks of the whole command line. */
#ifndef C8_CLI_QUANT_OPTIONS_H
#define C8_CLI_QUANT_OPTIONS_H

#include <stdbool.h>

#include "calib8/calib8.h"

typedef struct cli_quant_common {
  const char *model;                         /* the positional MODEL (the command sets it) */
  const char *calib[CALIB8_MAX_INPUTS];      /* --calib / -c, one per source */
  int n_calib;
  const char *out, *json;                    /* -o / --output, --json */
  const char *report;                        /* --report FILE.html */
  const char *test, *labels;                 /* --test, --labels */
  const char *pp_text, *template_name;       /* --preprocess / -p, --template */
  const char *metric, *decode;               /* --metric, --decode (as given) */
  int batch, threads, limit, test_limit;     /* --batch, --threads, --limit, --test-limit; 0 when not given */
  bool quiet;                                /* --quiet / -q */
} cli_quant_common;

/* What a command's messages say an option needs ("option --calib needs <calib_need>"), and whether the
 * values of --metric and --decode are checked as they are read (else the command checks them later). */
typedef struct cli_quant_words {
  const char *calib_need, *out_need, *metric_need;
  bool check_now;
} cli_quant_words;

/* Reads argv[*i] when it is one of the shared options, with its value (*i then stands on the value).
 * Returns 1 when it was, 0 when argv[*i] is not one of them, 2 after printing a message. */
int cli_quant_option(int argc, char **argv, int *i, const cli_quant_words *w, cli_quant_common *c);

/* Opens the calibration set: the --calib sources with the preprocessing and batch given, at most --limit samples
 * (CALIB8_DEFAULT_CALIBRATION_SAMPLES without it; said on stdout when that cap leaves samples out). */
calib8_status cli_open_calibration(const calib8_model *m, const cli_quant_common *c, calib8_dataset **ds);

/* For a command's own options, in its loop `for (int i = 1; i < argc; i++)` with `o` = argv[i] and `v` = the next
 * argument or NULL: takes v as the value (i moves on to it), or returns 2 after "option O needs WHAT". */
#define CLI_NEED(what)                                         \
  do {                                                         \
    if (!v) return cli_fail("option %s needs %s", o, what), 2; \
    i++;                                                       \
  } while (0)

#endif
