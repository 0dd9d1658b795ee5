/* Shared helpers of the libFuzzer harnesses (tests/fuzz/fuzz-*.c).
 *
 * Every harness installs a capped allocator: the library's allocations above FUZZ_MAX_ALLOC fail, so a small
 * input that declares a huge (but self-consistent) tensor ends in calib8's own out-of-memory error, a path
 * worth fuzzing too, instead of libFuzzer's malloc limit. Parsers must never allocate what the input's size
 * cannot back; where they allocate by design (a model asking for a large constant), this cap is the bound.
 * Files the parsers need on disk (npz, LMDB, TNN text, qtables) go to one private temporary folder per
 * process (in /dev/shm, or FUZZ_TMPDIR), removed at exit. */
#ifndef C8_FUZZ_H
#define C8_FUZZ_H

#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "calib8/calib8.h"

#define FUZZ_MAX_ALLOC ((size_t)64 << 20)

static void *fuzz_malloc(size_t n) { return n > FUZZ_MAX_ALLOC ? NULL : malloc(n); }
static void *fuzz_realloc(void *p, size_t n) { return n > FUZZ_MAX_ALLOC ? NULL : realloc(p, n); }
static void *fuzz_calloc(size_t c, size_t n) {
  return n && c > FUZZ_MAX_ALLOC / n ? NULL : calloc(c, n);
}

static char fuzz_dir[64];

static void fuzz_cleanup(void) {
  if (!fuzz_dir[0]) return;
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", fuzz_dir);
  if (system(cmd) != 0) fprintf(stderr, "fuzz: could not remove %s\n", fuzz_dir);
}

/* Called from LLVMFuzzerInitialize: the capped allocator and the temporary folder. */
static inline void fuzz_init(void) {
  if (calib8_replace_allocator(fuzz_malloc, fuzz_realloc, fuzz_calloc, free) != CALIB8_OK) abort();
  /* /dev/shm when there is one: every execution writes its input, and a disk-backed /tmp is 20x slower */
  const char *base = getenv("FUZZ_TMPDIR");
  if (!base || !*base || strlen(base) >= 40) base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
  snprintf(fuzz_dir, sizeof fuzz_dir, "%s/calib8-fuzz.XXXXXX", base);
  if (!mkdtemp(fuzz_dir)) {
    perror("fuzz: mkdtemp");
    abort();
  }
  atexit(fuzz_cleanup);
}

/* Writes the input to dir/name (replacing it); the path goes to `path`. */
static inline void fuzz_write(const char *name, const uint8_t *data, size_t size, char *path, size_t cap) {
  snprintf(path, cap, "%s/%s", fuzz_dir, name);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (fd < 0) {
    perror("fuzz: open");
    abort();
  }
  for (size_t off = 0; off < size;) {
    ssize_t w = write(fd, data + off, size - off);
    if (w <= 0) {
      perror("fuzz: write");
      abort();
    }
    off += (size_t)w;
  }
  close(fd);
}

/* The input as a NUL-terminated string (malloc'd). */
static inline char *fuzz_string(const uint8_t *data, size_t size) {
  char *s = malloc(size + 1);
  if (!s) abort();
  memcpy(s, data, size);
  s[size] = 0;
  return s;
}

#endif
