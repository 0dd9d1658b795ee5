/* Atomic file writes and sets of them (core/atomic-file.h). */
#include "core/atomic-file.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Temporaries alive in this process, for the signal handlers: fixed slots, so the handler needs no heap. */
#define MAX_LIVE 64
static char live[MAX_LIVE][PATH_MAX];
static volatile sig_atomic_t live_used[MAX_LIVE];
static const int cleanup_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGXFSZ};
static volatile sig_atomic_t handlers_installed;

static void on_signal(int sig) {
  for (int i = 0; i < MAX_LIVE; i++)
    if (live_used[i]) unlink(live[i]);
  if (sig == SIGXFSZ) return; /* the write that crossed the limit fails with EFBIG and the caller cleans up */
  signal(sig, SIG_DFL);
  raise(sig);
}

static void install_handlers(void) {
  if (handlers_installed) return;
  handlers_installed = 1;
  for (size_t i = 0; i < sizeof cleanup_signals / sizeof cleanup_signals[0]; i++) {
    struct sigaction old;
    if (sigaction(cleanup_signals[i], NULL, &old) != 0 || old.sa_handler != SIG_DFL) continue; /* the program's */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(cleanup_signals[i], &sa, NULL);
  }
}

static int live_add(const char *path) {
  for (int i = 0; i < MAX_LIVE; i++)
    if (!live_used[i]) {
      snprintf(live[i], sizeof live[i], "%s", path);
      live_used[i] = 1;
      return i;
    }
  return -1; /* more than MAX_LIVE at once: still atomic, only not cleaned on a signal */
}

static void live_remove(int slot) {
  if (slot >= 0) live_used[slot] = 0;
}

/* dir and base of path ("." for a bare name). */
static void split_path(const char *path, char *dir, size_t dn, const char **base) {
  const char *slash = strrchr(path, '/');
  if (!slash) {
    snprintf(dir, dn, ".");
    *base = path;
  } else if (slash == path) {
    snprintf(dir, dn, "/");
    *base = slash + 1;
  } else {
    snprintf(dir, dn, "%.*s", (int)(slash - path), path);
    *base = slash + 1;
  }
}

/* Removes ".<base>.c8tmp-<pid>-*" left by processes that no longer run. */
static void remove_stale(const char *dir, const char *base) {
  char prefix[NAME_MAX + 16];
  int pl = snprintf(prefix, sizeof prefix, ".%s.c8tmp-", base);
  if (pl <= 0 || (size_t)pl >= sizeof prefix) return;
  DIR *d = opendir(dir);
  if (!d) return;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (strncmp(e->d_name, prefix, (size_t)pl) != 0) continue;
    long pid = strtol(e->d_name + pl, NULL, 10);
    if (pid <= 0 || pid == (long)getpid() || (kill((pid_t)pid, 0) == 0 || errno != ESRCH)) continue;
    char p[PATH_MAX];
    if ((size_t)snprintf(p, sizeof p, "%s/%s", dir, e->d_name) < sizeof p) unlink(p);
  }
  closedir(d);
}

static c8_status fsync_dir(const char *dir, const char *target) {
  int fd = open(dir, O_RDONLY | O_DIRECTORY);
  if (fd < 0) return c8_error(CALIB8_IO, "cannot write '%s': folder '%s': %s", target, dir, strerror(errno));
  int rc = fsync(fd);
  int e = errno;
  close(fd);
  /* some file systems cannot fsync a folder (EINVAL): the rename is still atomic there */
  if (rc != 0 && e != EINVAL) return c8_error(CALIB8_IO, "cannot write '%s': %s", target, strerror(e));
  return CALIB8_OK;
}

/* The umask, read without changing it (umask() sets it, which would race with other threads creating files). */
static mode_t process_umask(void) {
  mode_t um = 022;
  FILE *f = fopen("/proc/self/status", "r");
  if (!f) return um;
  char line[128];
  while (fgets(line, sizeof line, f))
    if (!strncmp(line, "Umask:", 6)) {
      um = (mode_t)strtol(line + 6, NULL, 8);
      break;
    }
  fclose(f);
  return um;
}

typedef struct pending {
  char *tmp, *target;
  int slot;
} pending;

/* The set of this thread (NULL: every write commits at once). */
static _Thread_local struct {
  bool active;
  pending *p;
  int n, cap;
} set;

/* Writes the temporary of `path`; *tmp_out is allocated. */
static c8_status write_temp(const char *path, const void *bytes, size_t len, char **tmp_out, int *slot_out) {
  char dir[PATH_MAX];
  const char *base;
  split_path(path, dir, sizeof dir, &base);
  if (!*base) return c8_error(CALIB8_INVALID_ARGUMENT, "cannot write '%s': it names a folder, not a file", path);
  remove_stale(dir, base);
  size_t tl = strlen(dir) + strlen(base) + 48;
  char *tmp = c8_malloc(tl);
  if (!tmp) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory writing '%s'", path);
  snprintf(tmp, tl, "%s/.%s.c8tmp-%ld-XXXXXX", dir, base, (long)getpid());
  install_handlers();
  sigset_t block, old;
  sigemptyset(&block);
  for (size_t i = 0; i < sizeof cleanup_signals / sizeof cleanup_signals[0]; i++) sigaddset(&block, cleanup_signals[i]);
  pthread_sigmask(SIG_BLOCK, &block, &old); /* the name is registered before a signal can see the file */
  int fd = mkstemp(tmp);
  int e = errno;
  int slot = fd >= 0 ? live_add(tmp) : -1;
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (fd < 0) {
    c8_status st = c8_error(CALIB8_IO, "cannot write '%s': %s", path, strerror(e));
    c8_mfree(tmp);
    return st;
  }
  const char *p = bytes;
  size_t left = len;
  bool ok = true;
  while (ok && left) {
    ssize_t w = write(fd, p, left);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      ok = false;
      break;
    }
    p += w;
    left -= (size_t)w;
  }
  e = errno;
  if (ok && fsync(fd) != 0) ok = false, e = errno;
  if (close(fd) != 0 && ok) ok = false, e = errno;
  if (ok && chmod(tmp, 0666 & ~process_umask()) != 0) ok = false, e = errno; /* mkstemp made it 0600 */
  if (!ok) {
    c8_status st = c8_error(CALIB8_IO, "cannot write '%s': %s", path, strerror(e ? e : EIO));
    unlink(tmp);
    live_remove(slot);
    c8_mfree(tmp);
    return st;
  }
  *tmp_out = tmp;
  *slot_out = slot;
  return CALIB8_OK;
}

static c8_status rename_into_place(const char *tmp, const char *target) {
  if (rename(tmp, target) != 0) return c8_error(CALIB8_IO, "cannot write '%s': %s", target, strerror(errno));
  char dir[PATH_MAX];
  const char *base;
  split_path(target, dir, sizeof dir, &base);
  return fsync_dir(dir, target);
}

c8_status c8_write_file_atomic(const char *path, const void *bytes, size_t len) {
  char *tmp = NULL;
  int slot = -1;
  if (set.active && set.n == set.cap) {
    int cap = set.cap ? 2 * set.cap : 8;
    pending *p = c8_realloc(set.p, sizeof *p * (size_t)cap);
    if (!p) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory writing '%s'", path);
    set.p = p;
    set.cap = cap;
  }
  c8_status st = write_temp(path, bytes, len, &tmp, &slot);
  if (st) return st;
  if (set.active) {
    char *target = c8_strdup(path);
    if (!target) {
      unlink(tmp);
      live_remove(slot);
      c8_mfree(tmp);
      return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory writing '%s'", path);
    }
    set.p[set.n++] = (pending){tmp, target, slot};
    return CALIB8_OK;
  }
  st = rename_into_place(tmp, path);
  if (st) unlink(tmp);
  live_remove(slot);
  c8_mfree(tmp);
  return st;
}

c8_status c8_file_set_begin(void) {
  if (set.active) return c8_error(CALIB8_INTERNAL, "a set of output files is already open on this thread");
  set.active = true;
  set.n = 0;
  return CALIB8_OK;
}

static void set_clear(void) {
  for (int i = 0; i < set.n; i++) {
    if (set.p[i].tmp) unlink(set.p[i].tmp);
    live_remove(set.p[i].slot);
    c8_mfree(set.p[i].tmp);
    c8_mfree(set.p[i].target);
  }
  c8_mfree(set.p);
  set.p = NULL;
  set.n = set.cap = 0;
  set.active = false;
}

c8_status c8_file_set_commit(void) {
  c8_status st = CALIB8_OK;
  for (int i = 0; i < set.n && !st; i++) {
    st = rename_into_place(set.p[i].tmp, set.p[i].target);
    if (!st) { /* renamed: nothing left to remove */
      live_remove(set.p[i].slot);
      c8_mfree(set.p[i].tmp);
      set.p[i].tmp = NULL;
    }
  }
  set_clear();
  return st;
}

void c8_file_set_abort(void) {
  if (set.active) set_clear();
}
