/* Shared pieces of the calib8 command line. Each subcommand lives in cmd-<name>.c. */
#ifndef C8_CLI_H
#define C8_CLI_H

#include <stdbool.h>

#include "calib8/calib8.h"

int cmd_info(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_quantize(int argc, char **argv);
int cmd_auto(int argc, char **argv);
int cmd_sensitivity(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_serve(int argc, char **argv);

/* Prints "calib8: <message>" to stderr and returns the exit code 1. */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints "calib8: <calib8_last_error()>" and returns the exit code for status. */
int cli_fail_status(calib8_status st);
/* Parses a positive integer option value; prints an error naming the option on failure. */
bool cli_parse_int(const char *opt, const char *text, int min, int max, int *out);
/* --check-preprocess (quantize, eval): prints the report and returns 0, or prints the difference and returns
 * the exit code. */
int cli_preprocess_check(const calib8_model *m, const char *user_npy, const char *images, const char *pp_text,
                         const char *template_name);
/* A progress bar for calib8_progress_fn: user is a cli_progress (quiet: none). */
typedef struct cli_progress {
  bool quiet, drawn;
  const char *stage; /* a new stage restarts the bar */
  double start, last_draw;
} cli_progress;
void cli_progress_fn(void *user, const char *stage, int64_t done, int64_t total);
void cli_progress_finish(cli_progress *p); /* clears the bar when one was drawn */

/* Writes the report; a failure is a warning ("calib8: warning: ...") and turns exit code rc 0 into 1. Returns
 * the exit code. */
int cli_write_report(const calib8_report_input *in, const char *path, int rc);

#endif
