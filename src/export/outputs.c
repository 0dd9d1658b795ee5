/* The artefacts of a quantization plan (include/calib8/plan.h): the check that every output can be written
 * before any work is done, and the writing of all of them as one set of files (core/atomic-file.h). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "calib8/calib8.h" /* first: the part headers are complete only through it */
#include "core/atomic-file.h"
#include "export/onnx-write.h"
#include "export/sizes.h"
#include "core/json.h"
#include "export/summary.h"
#include "export/tables.h"
#include "load/model.h"
#include "observe/calibrate.h"
#include "plan/qplan.h"

enum { N_OUTPUTS = 6 };

static const char *default_options[N_OUTPUTS] = {"-o", "--table", "--trt-cache", "--write-qtable", "--json", "--record"};

static void output_paths(const calib8_outputs *o, const char *path[N_OUTPUTS]) {
  path[0] = o->model, path[1] = o->table, path[2] = o->trt_cache, path[3] = o->qtable, path[4] = o->json, path[5] = o->record;
}

/* Where writing `path` lands: the file itself when it exists (symbolic links followed), else the real path of
 * its folder and its base name. Fails when the folder does not exist or `path` is a folder. */
static c8_status resolve_output(const char *opt, const char *path, char out[PATH_MAX]) {
  struct stat sb;
  if (realpath(path, out)) {
    if (stat(out, &sb) == 0 && S_ISDIR(sb.st_mode))
      return c8_error(CALIB8_INVALID_ARGUMENT, "%s '%s' is a folder, not a file name", opt, path);
    return CALIB8_OK;
  }
  char dir[PATH_MAX];
  snprintf(dir, sizeof dir, "%s", path);
  char *slash = strrchr(dir, '/');
  const char *base = slash ? slash + 1 : dir;
  if (!*base) return c8_error(CALIB8_INVALID_ARGUMENT, "%s '%s' is a folder, not a file name", opt, path);
  char rdir[PATH_MAX];
  if (slash == dir) snprintf(rdir, sizeof rdir, "/");
  else if (slash) {
    *slash = 0;
    if (!realpath(dir, rdir))
      return c8_error(CALIB8_INVALID_ARGUMENT, "cannot write %s '%s': folder '%s' does not exist", opt, path, dir);
  } else if (!realpath(".", rdir)) {
    return c8_error(CALIB8_INVALID_ARGUMENT, "cannot write %s '%s': the current folder cannot be resolved", opt, path);
  }
  if (strlen(rdir) + strlen(base) + 2 > PATH_MAX)
    return c8_error(CALIB8_INVALID_ARGUMENT, "%s '%s': the path is too long", opt, path);
  snprintf(out, PATH_MAX, "%s%s%s", rdir, strcmp(rdir, "/") ? "/" : "", base);
  return CALIB8_OK;
}

/* 1 when `spec` (a file or folder, or a dataset spec "NAME=SRC", "KIND:SRC") names the file `resolved`, 2 when
 * `resolved` is an existing file inside the folder `spec` names (a sample of an image or .npy folder), else 0. */
static int names_file(const char *spec, const char *resolved) {
  const char *cands[3] = {spec, strchr(spec, '='), strchr(spec, ':')};
  for (int i = 0; i < 3; i++) {
    if (!cands[i]) continue;
    char r[PATH_MAX];
    struct stat sb;
    if (!realpath(i ? cands[i] + 1 : cands[i], r)) continue;
    if (strcmp(r, resolved) == 0) return 1;
    size_t n = strlen(r);
    if (stat(r, &sb) == 0 && S_ISDIR(sb.st_mode) && strncmp(r, resolved, n) == 0 && resolved[n] == '/' &&
        !strchr(resolved + n + 1, '/') && access(resolved, F_OK) == 0)
      return 2;
  }
  return 0;
}

calib8_status calib8_outputs_check(const calib8_outputs *outputs, const char *const *options, int n_inputs,
                                   const char *const *inputs, const char *const *roles) {
  if (!outputs || n_inputs < 0 || (n_inputs > 0 && (!inputs || !roles)))
    return c8_error(CALIB8_INVALID_ARGUMENT, "calib8_outputs_check needs the outputs and a role for every input");
  const char *path[N_OUTPUTS];
  output_paths(outputs, path);
  const char *const *opt = options ? options : default_options;
  /* 5 x PATH_MAX: on the heap, as a caller's thread may have a small stack */
  char(*r)[PATH_MAX] = c8_malloc(sizeof(char[N_OUTPUTS][PATH_MAX]));
  if (!r) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory checking the outputs");
  c8_status st = CALIB8_OK;
  for (int i = 0; i < N_OUTPUTS && !st; i++) {
    if (!path[i]) continue;
    if ((st = resolve_output(opt[i], path[i], r[i]))) break;
    for (int k = 0; k < n_inputs && !st; k++) {
      int how = inputs[k] ? names_file(inputs[k], r[i]) : 0;
      if (!how) continue;
      if (i == 0 && how == 1 && !strcmp(roles[k], "the input model"))
        st = c8_error(CALIB8_INVALID_ARGUMENT, "%s '%s' is the input model; calib8 never overwrites an input", opt[i],
                      path[i]);
      else
        st = c8_error(CALIB8_INVALID_ARGUMENT, "%s '%s' is %s%s '%s'; calib8 never overwrites an input", opt[i], path[i],
                      how == 2 ? "a file of " : "", roles[k], inputs[k]);
    }
    for (int k = 0; k < i && !st; k++)
      if (path[k] && strcmp(r[k], r[i]) == 0)
        st = c8_error(CALIB8_INVALID_ARGUMENT, "%s '%s' and %s '%s' are the same file; each output needs its own name",
                      opt[k], path[k], opt[i], path[i]);
  }
  c8_mfree(r);
  return st;
}

/* The JSON summary with the caller's extra facts, as text (NULL when out of memory). */
static char *summary_text(const calib8_qplan *plan, const calib8_summary_extra *x) {
  const c8_graph *original = x && x->model ? x->model->graph : NULL;
  cJSON *root = c8_summary_json(plan->p, plan->cal->cal, original, plan->qdq);
  if (!root) return NULL;
  if (x && x->model_path) cJSON_AddStringToObject(root, "model", x->model_path);
  if (x && x->output_path) cJSON_AddStringToObject(root, "output", x->output_path);
  if (x && x->calibration_seconds >= 0) cJSON_AddNumberToObject(root, "calibration_seconds", x->calibration_seconds);
  if (x && x->planning_seconds > 0) cJSON_AddNumberToObject(root, "planning_seconds", x->planning_seconds);
  if (x && x->evaluation_seconds > 0) cJSON_AddNumberToObject(root, "evaluation_seconds", x->evaluation_seconds);
  c8_summary_add_sizes(root, plan->p, plan->qdq, x ? x->model_path : NULL);
  if (x && x->equalized_pairs >= 0) cJSON_AddNumberToObject(root, "equalized_pairs", x->equalized_pairs);
  cJSON_AddBoolToObject(root, "bias_correction", plan->p->opts.bias_correction);
  if (x && x->metric) {
    cJSON *mt = cJSON_AddObjectToObject(root, "metrics");
    cJSON_AddStringToObject(mt, "metric", x->metric);
    cJSON_AddNumberToObject(mt, "fp32", x->fp32_score);
    cJSON_AddNumberToObject(mt, "int8", x->int8_score);
    cJSON_AddNumberToObject(mt, "count", (double)x->count);
  }
  cJSON *pred = x && x->predictions_json ? cJSON_Parse(x->predictions_json) : NULL;
  if (pred && !cJSON_IsArray(pred)) cJSON_Delete(pred), pred = NULL;
  if (pred) c8_json_attach(root, "predictions", pred);
  char *text = c8_json_print(root);
  cJSON_Delete(root);
  return text;
}

calib8_status calib8_qplan_summary_json(const calib8_qplan *plan, const calib8_summary_extra *extra, char **out_json) {
  if (!plan || !out_json) return c8_error(CALIB8_INVALID_ARGUMENT, "calib8_qplan_summary_json needs a plan and an output");
  char *text = summary_text(plan, extra);
  if (!text) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory building the JSON summary");
  *out_json = text;
  return CALIB8_OK;
}

/* The JSON summary with the caller's extra facts, written whole. */
static c8_status write_summary(const calib8_qplan *plan, const calib8_summary_extra *x, const char *path) {
  char *text = summary_text(plan, x);
  if (!text) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory writing '%s'", path);
  c8_status st = c8_write_file_atomic(path, text, strlen(text));
  cJSON_free(text);
  return st;
}

calib8_status calib8_qplan_write(const calib8_qplan *plan, const calib8_outputs *outputs,
                                 const calib8_summary_extra *extra) {
  if (!plan || !outputs) return c8_error(CALIB8_INVALID_ARGUMENT, "calib8_qplan_write needs a plan and outputs");
  const char *path[N_OUTPUTS];
  output_paths(outputs, path);
  /* One set: every temporary is written before any is renamed, so a failure leaves the targets as they were. */
  c8_status st = c8_file_set_begin();
  for (int i = 0; i < N_OUTPUTS && !st; i++) {
    if (!path[i]) continue;
    if (i == 0) {
      c8_onnx_write_options wo = {.producer = "calib8"};
      st = c8_onnx_write(plan->qdq, &wo, path[i]);
    } else if (i == 1) st = c8_calib_table_write(plan->p, plan->cal->cal, path[i]);
    else if (i == 2) st = c8_trt_cache_write(plan->p, path[i]);
    else if (i == 3) st = c8_qtable_write(plan->p, path[i]);
    else if (i == 4) st = write_summary(plan, extra, path[i]);
    else st = c8_record_write(plan->qdq, path[i]);
  }
  if (st) {
    c8_file_set_abort();
    return st;
  }
  return c8_file_set_commit();
}

calib8_status calib8_outputs_check_report(const char *report, int n, const char *const *paths) {
  if (!report) return CALIB8_OK;
  if (n < 0 || (n > 0 && !paths))
    return c8_error(CALIB8_INVALID_ARGUMENT, "calib8_outputs_check_report needs the run's %d paths", n);
  struct stat a, b;
  for (int k = 0; k < n; k++) {
    if (!paths[k]) continue;
    if (!strcmp(paths[k], report) ||
        (stat(paths[k], &a) == 0 && stat(report, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino))
      return c8_error(CALIB8_INVALID_ARGUMENT,
                      "--report '%s' is also '%s' of this run; the report needs its own file name", report, paths[k]);
  }
  char dir[4096];
  snprintf(dir, sizeof dir, "%s", report);
  char *slash = strrchr(dir, '/');
  if (slash) *(slash == dir ? slash + 1 : slash) = 0;
  else snprintf(dir, sizeof dir, ".");
  if (stat(report, &b) == 0 && S_ISDIR(b.st_mode))
    return c8_error(CALIB8_INVALID_ARGUMENT, "--report '%s' is a folder; it needs a file name such as report.html",
                    report);
  if (stat(dir, &a) != 0 || !S_ISDIR(a.st_mode))
    return c8_error(CALIB8_INVALID_ARGUMENT, "--report '%s': the folder '%s' does not exist", report, dir);
  return CALIB8_OK;
}
