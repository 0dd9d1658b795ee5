/* A session's outputs written as .npy files into a folder (calib8_session_write_outputs, `calib8 run -o DIR`). */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "calib8/calib8.h"
#include "core/status.h"

/* Output file name: every character outside [A-Za-z0-9._-] becomes '_'. */
static void sanitize(const char *name, char *out, size_t size) {
  size_t i = 0;
  for (; name[i] && i + 1 < size; i++) {
    char c = name[i];
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-';
    out[i] = ok ? c : '_';
  }
  out[i] = 0;
}

static calib8_status ensure_dir(const char *dir) {
  struct stat sb;
  if (stat(dir, &sb) == 0) {
    if (!S_ISDIR(sb.st_mode)) return c8_error(CALIB8_IO, "output directory '%s' exists and is not a directory", dir);
  } else if (mkdir(dir, 0777) != 0) {
    return c8_error(CALIB8_IO, "cannot create output directory '%s': %s", dir, strerror(errno));
  }
  if (access(dir, W_OK | X_OK) != 0)
    return c8_error(CALIB8_IO, "output directory '%s' is not writable: %s", dir, strerror(errno));
  return CALIB8_OK;
}

calib8_status calib8_session_write_outputs(const calib8_session *s, const char *dir, FILE *log) {
  if (!s || !dir) return c8_error(CALIB8_INVALID_ARGUMENT, "calib8_session_write_outputs needs a session and a folder");
  calib8_status st = ensure_dir(dir);
  if (st) return st;
  /* two outputs whose names map to one file name ("y/1", "y_1") would overwrite each other */
  int n_out = calib8_session_output_count(s);
  for (int o = 0; o < n_out; o++)
    for (int p = 0; p < o; p++) {
      char a[1024], b[1024];
      sanitize(calib8_session_output_name(s, o), a, sizeof a);
      sanitize(calib8_session_output_name(s, p), b, sizeof b);
      if (!strcmp(a, b))
        return c8_error(CALIB8_IO, "outputs '%s' and '%s' both map to the file name '%s.npy'; rename one in the model",
                        calib8_session_output_name(s, p), calib8_session_output_name(s, o), a);
    }
  if ((st = calib8_write_group_begin())) return st; /* every output file, or none */
  for (int o = 0; o < n_out; o++) {
    calib8_tensor t;
    char fname[1024], path[4096];
    calib8_session_output(s, o, &t);
    sanitize(calib8_session_output_name(s, o), fname, sizeof fname);
    snprintf(path, sizeof path, "%s/%s.npy", dir, fname);
    if ((st = calib8_npy_write(path, &t))) {
      calib8_write_group_abort();
      return st;
    }
    if (!log) continue;
    fprintf(log, "output %s %s [", calib8_session_output_name(s, o), calib8_dtype_name(t.dtype));
    for (int d = 0; d < t.rank; d++) fprintf(log, d ? ",%lld" : "%lld", (long long)t.dims[d]);
    fprintf(log, "] -> %s\n", path);
  }
  return calib8_write_group_commit();
}
