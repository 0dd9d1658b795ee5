/* The allocation-failure sweep (issue 15, as SQLite's test_malloc): the k-th allocation fails, for every k, while
 * LeNet is loaded, run, calibrated on 2 images, planned and written with every artefact, through the public API
 * and a replaced allocator (calib8_replace_allocator). At each k the pipeline must
 *   - fail with CALIB8_OUT_OF_MEMORY and a message (or succeed, once k passes the last allocation),
 *   - free everything it allocated (live allocations back to zero after the destroys),
 *   - leave no output file behind (the outputs are all written, or none: not even a temporary).
 * Threads: 1, so that allocations happen in the same order at every k. */
#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "calib8/calib8.h"
#include "check.h"

static long n_calls, fail_at, live;

/* Each block carries its size in a 16-byte header so realloc and free keep the live count exact. */
static void *t_malloc(size_t n) {
  if (++n_calls == fail_at) return NULL;
  char *p = malloc(n + 16);
  if (!p) return NULL;
  live++;
  return p + 16;
}
static void *t_calloc(size_t c, size_t n) {
  if (n && c > SIZE_MAX / n) return NULL;
  void *p = t_malloc(c * n);
  if (p) memset(p, 0, c * n);
  return p;
}
static void t_free(void *p) {
  if (!p) return;
  live--;
  free((char *)p - 16);
}
static void *t_realloc(void *p, size_t n) {
  if (!p) return t_malloc(n);
  if (++n_calls == fail_at) return NULL;
  char *q = realloc((char *)p - 16, n + 16);
  return q ? q + 16 : NULL;
}

static char dir[64];

static int files_in_dir(void) {
  DIR *d = opendir(dir);
  int n = 0;
  struct dirent *e;
  while (d && (e = readdir(d)))
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) n++;
  if (d) closedir(d);
  return n;
}

static calib8_status pipeline(void) {
  calib8_model *m = NULL;
  calib8_session *s = NULL;
  calib8_dataset *ds = NULL;
  calib8_calibration *cal = NULL;
  calib8_qplan *plan = NULL;
  char model[128], table[128], trt[128], qtable[128], json[128];
  snprintf(model, sizeof model, "%s/q.onnx", dir);
  snprintf(table, sizeof table, "%s/q.table", dir);
  snprintf(trt, sizeof trt, "%s/q.trt", dir);
  snprintf(qtable, sizeof qtable, "%s/q.qtable", dir);
  snprintf(json, sizeof json, "%s/q.json", dir);
  const char *src = "examples/fmnist";
  calib8_status st = calib8_model_load("models/fmnist_lenet.onnx", &m);
  calib8_session_options so = calib8_session_options_default();
  so.threads = 1;
  if (!st) st = calib8_session_create(m, &so, &s);
  calib8_dataset_options dopt = calib8_dataset_options_default();
  dopt.preprocess = "mean_value=72.94,std_value=90.0";
  dopt.limit = 2;
  if (!st) st = calib8_dataset_open(m, 1, &src, &dopt, &ds);
  if (!st) st = calib8_calibration_create(s, NULL, &cal);
  if (!st) st = calib8_calibration_add_dataset(cal, ds, NULL, NULL);
  calib8_quant_options q = calib8_quant_options_default();
  if (!st) st = calib8_qplan_build(s, cal, &q, &plan);
  calib8_outputs out = {.model = model, .table = table, .trt_cache = trt, .qtable = qtable, .json = json};
  calib8_summary_extra extra = {.model = m, .model_path = "models/fmnist_lenet.onnx", .calibration_seconds = -1,
                                .equalized_pairs = -1};
  if (!st) st = calib8_qplan_write(plan, &out, &extra);
  calib8_qplan_destroy(plan);
  calib8_calibration_destroy(cal);
  calib8_dataset_close(ds);
  calib8_session_destroy(s);
  calib8_model_destroy(m);
  return st;
}

int main(void) {
  snprintf(dir, sizeof dir, "/tmp/c8-sweep-XXXXXX");
  if (!mkdtemp(dir)) return 1;
  CHECK_EQ_INT(calib8_replace_allocator(t_malloc, t_realloc, t_calloc, t_free), CALIB8_OK);
  /* the run without failures: how many allocations there are, and the files it writes */
  fail_at = -1;
  n_calls = 0;
  CHECK_EQ_INT(pipeline(), CALIB8_OK);
  long total = n_calls;
  CHECK_EQ_INT(live, 0);
  CHECK_EQ_INT(files_in_dir(), 5);
  fprintf(stderr, "the pipeline makes %ld allocations\n", total);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -f %s/*", dir);
  if (system(cmd) != 0) return 1;
  int bad_status = 0, leaks = 0, partial = 0, no_message = 0;
  for (long k = 1; k <= total; k++) {
    fail_at = k;
    n_calls = 0;
    live = 0;
    calib8_status st = pipeline();
    if (st == CALIB8_OK) { /* a failed allocation that the code may survive (a cache, an optional speed-up) */
      if (system(cmd) != 0) return 1;
    } else {
      if (st != CALIB8_OUT_OF_MEMORY && bad_status++ < 5)
        fprintf(stderr, "k=%ld: status %s: %s\n", k, calib8_status_string(st), calib8_last_error());
      if (!*calib8_last_error() && no_message++ < 5) fprintf(stderr, "k=%ld: no message\n", k);
      if (files_in_dir() && partial++ < 5) fprintf(stderr, "k=%ld: %d files left\n", k, files_in_dir());
    }
    if (live != 0 && leaks++ < 5) fprintf(stderr, "k=%ld: %ld allocations not freed (%s)\n", k, live, calib8_last_error());
  }
  CHECK_EQ_INT(bad_status, 0);
  CHECK_EQ_INT(leaks, 0);
  CHECK_EQ_INT(partial, 0);
  CHECK_EQ_INT(no_message, 0);
  calib8_replace_allocator(NULL, NULL, NULL, NULL);
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  if (system(cmd) != 0) return 1;
  return CHECK_DONE();
}
