/* Printing helpers the commands share: the progress bar of long library calls, the preprocessing check, the report. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* Drawn on stderr only when it is a terminal, the stage has lasted more than a second, and not --quiet. */
void cli_progress_fn(void *user, const char *stage, int64_t done, int64_t total) {
  cli_progress *p = user;
  double now = calib8_now();
  if (!p->stage || strcmp(p->stage, stage)) cli_progress_finish(p), p->stage = stage, p->start = p->last_draw = now;
  if (p->quiet || !isatty(fileno(stderr)) || now - p->start < 1.0 || now - p->last_draw < 0.1) return;
  p->last_draw = now;
  p->drawn = true;
  double el = now - p->start;
  if (total > 0) {
    int width = 30, fill = (int)(width * (double)done / (double)total);
    if (fill > width) fill = width;
    double eta = done > 0 ? el * (double)(total - done) / (double)done : 0;
    fprintf(stderr, "\r%s [%.*s%*s] %lld/%lld %.0fs eta %.0fs ", stage, fill, "##############################",
            width - fill, "", (long long)done, (long long)total, el, eta);
  } else {
    fprintf(stderr, "\r%s %lld %.0fs ", stage, (long long)done, el);
  }
  fflush(stderr);
}

void cli_progress_finish(cli_progress *p) {
  if (p->drawn) {
    fprintf(stderr, "\r%*s\r", 80, "");
    fflush(stderr);
  }
  p->drawn = false;
  p->stage = NULL;
}

int cli_preprocess_check(const calib8_model *m, const char *user_npy, const char *images, const char *pp_text,
                         const char *template_name) {
  char *report = NULL;
  calib8_status st = calib8_preprocess_check(m, user_npy, images, pp_text, template_name, &report);
  if (st) return cli_fail_status(st);
  printf("%s\n", report);
  calib8_free(report);
  return 0;
}

int cli_write_report(const calib8_report_input *in, const char *path, int rc) {
  if (calib8_report_write(in, path) == CALIB8_OK) {
    printf("wrote %s\n", path);
    return rc;
  }
  fprintf(stderr, "calib8: warning: the report was not written: %s\n", calib8_last_error());
  return rc ? rc : 1;
}
