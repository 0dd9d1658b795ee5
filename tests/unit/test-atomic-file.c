/* Files written whole or not at all (src/core/atomic-file.h): single writes, sets that fail part way, stale
 * temporaries of killed processes, planted links, the file size limit and SIGTERM during a set. */
#include <dirent.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "core/atomic-file.h"

static char dir[64];

static void path_of(char *out, size_t n, const char *name) { snprintf(out, n, "%s/%s", dir, name); }

static int count_entries(const char *pattern) {
  DIR *d = opendir(dir);
  int n = 0;
  struct dirent *e;
  while (d && (e = readdir(d)))
    if (strstr(e->d_name, pattern)) n++;
  if (d) closedir(d);
  return n;
}

static void put(const char *name, const char *text) {
  char p[256];
  path_of(p, sizeof p, name);
  FILE *f = fopen(p, "w");
  fputs(text, f);
  fclose(f);
}

static int has(const char *name, const char *text) {
  char p[256], buf[256] = {0};
  path_of(p, sizeof p, name);
  FILE *f = fopen(p, "r");
  if (!f) return 0;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  return n == strlen(text) && !memcmp(buf, text, n);
}

static void test_single(void) {
  char p[256];
  path_of(p, sizeof p, "a.txt");
  CHECK_EQ_INT(c8_write_file_atomic(p, "new", 3), CALIB8_OK);
  CHECK(has("a.txt", "new"));
  CHECK_EQ_INT(count_entries("c8tmp"), 0);
  struct stat sb;
  CHECK(stat(p, &sb) == 0 && (sb.st_mode & 0444) == 0444); /* not mkstemp's 0600 */
}

static void test_set_failure_keeps_old_files(void) {
  put("m.onnx", "old model");
  put("t.table", "old table");
  char m[256], t[256];
  path_of(m, sizeof m, "m.onnx");
  path_of(t, sizeof t, "t.table");
  CHECK_EQ_INT(c8_file_set_begin(), CALIB8_OK);
  CHECK_EQ_INT(c8_file_set_begin(), CALIB8_INTERNAL); /* no nesting */
  CHECK_EQ_INT(c8_write_file_atomic(m, "new model", 9), CALIB8_OK);
  CHECK_EQ_INT(c8_write_file_atomic(t, "new table", 9), CALIB8_OK);
  CHECK(has("m.onnx", "old model")); /* nothing is in place before the commit */
  CHECK(c8_write_file_atomic("/proc/calib8-cannot-write.json", "{}", 2) != CALIB8_OK);
  c8_file_set_abort();
  CHECK(has("m.onnx", "old model"));
  CHECK(has("t.table", "old table"));
  CHECK_EQ_INT(count_entries("c8tmp"), 0);
  /* and a set that succeeds replaces both */
  CHECK_EQ_INT(c8_file_set_begin(), CALIB8_OK);
  CHECK_EQ_INT(c8_write_file_atomic(m, "new model", 9), CALIB8_OK);
  CHECK_EQ_INT(c8_write_file_atomic(t, "new table", 9), CALIB8_OK);
  CHECK_EQ_INT(c8_file_set_commit(), CALIB8_OK);
  CHECK(has("m.onnx", "new model"));
  CHECK(has("t.table", "new table"));
  CHECK_EQ_INT(count_entries("c8tmp"), 0);
}

static void test_stale_temporary_removed(void) {
  put(".s.txt.c8tmp-4194999-abcdef", "left by a killed run"); /* above Linux's largest pid: not running */
  char p[256];
  path_of(p, sizeof p, "s.txt");
  CHECK_EQ_INT(c8_write_file_atomic(p, "x", 1), CALIB8_OK);
  CHECK_EQ_INT(count_entries("c8tmp"), 0);
}

static void test_planted_link_not_followed(void) {
  /* a link at the target is replaced, never written through */
  put("victim.txt", "precious");
  char v[256], l[256];
  path_of(v, sizeof v, "victim.txt");
  path_of(l, sizeof l, "out.txt");
  CHECK(symlink(v, l) == 0);
  CHECK_EQ_INT(c8_write_file_atomic(l, "output", 6), CALIB8_OK);
  CHECK(has("victim.txt", "precious"));
  CHECK(has("out.txt", "output"));
  struct stat sb;
  CHECK(lstat(l, &sb) == 0 && S_ISREG(sb.st_mode));
}

static void test_file_size_limit(void) {
  put("big.bin", "old");
  pid_t pid = fork();
  if (pid == 0) {
    struct rlimit rl = {4096, 4096};
    setrlimit(RLIMIT_FSIZE, &rl);
    static char buf[1 << 16];
    char p[256];
    path_of(p, sizeof p, "big.bin");
    c8_status st = c8_write_file_atomic(p, buf, sizeof buf);
    _exit(st == CALIB8_IO ? 0 : 1);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0); /* an error, not death by SIGXFSZ */
  CHECK(has("big.bin", "old"));
  CHECK_EQ_INT(count_entries("c8tmp"), 0);
}

static void test_sigterm_during_set(void) {
  put("k.onnx", "old");
  pid_t pid = fork();
  if (pid == 0) {
    char p[256];
    path_of(p, sizeof p, "k.onnx");
    c8_file_set_begin();
    c8_write_file_atomic(p, "new", 3);
    raise(SIGTERM);
    _exit(3);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
  CHECK(has("k.onnx", "old"));
  CHECK_EQ_INT(count_entries("c8tmp"), 0);
}

int main(void) {
  snprintf(dir, sizeof dir, "/tmp/c8-atomic-XXXXXX");
  if (!mkdtemp(dir)) return 1;
  CHECK_RUN(test_single);
  CHECK_RUN(test_set_failure_keeps_old_files);
  CHECK_RUN(test_stale_temporary_removed);
  CHECK_RUN(test_planted_link_not_followed);
  CHECK_RUN(test_file_size_limit);
  CHECK_RUN(test_sigterm_during_set);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  if (system(cmd) != 0) return 1;
  return CHECK_DONE();
}
