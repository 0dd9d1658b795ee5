/* An LMDB data set as NNTC auto_calib's lmdb_save writes it, and calib8's LMDB reader (dataset-lmdb.c) reads:
 * one record per put, keyed by its number as 8 decimal digits (LMDB's key order is the order of the puts), each
 * value a complete .npy file; the labels of each put appended to data.label beside data.mdb.
 *
 * A put is atomic: its .npy value is checked first, the record goes in one write transaction, and its label
 * lines are appended to data.label before that transaction commits; when the append or the commit fails the
 * transaction is aborted and data.label is cut back to its former length, so a failed put leaves neither a
 * record nor a label line. */
#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "calib8/dataset.h"
#include "core/alloc.h"
#include "core/status.h"
#include "data/dataset.h"
#include "data/npy.h"

#define KEY_DIGITS 8
#define MAX_RECORDS 100000000LL

struct calib8_lmdb_writer {
  MDB_env *env;
  MDB_dbi dbi;
  char *dir;
  char *label_path;
  int64_t count;
};

static char *join(const char *dir, const char *name) {
  size_t n = strlen(dir) + strlen(name) + 2;
  char *p = c8_malloc(n);
  if (p) snprintf(p, n, "%s/%s", dir, name);
  return p;
}

void calib8_lmdb_writer_close(calib8_lmdb_writer *w) {
  if (!w) return;
  if (w->env) {
    mdb_env_sync(w->env, 1);
    mdb_env_close(w->env);
  }
  c8_mfree(w->dir);
  c8_mfree(w->label_path);
  c8_mfree(w);
}

calib8_status calib8_lmdb_writer_open(const char *dir, calib8_lmdb_writer **out) {
  if (!dir || !*dir || !out)
    return c8_error(CALIB8_INVALID_ARGUMENT, "calib8_lmdb_writer_open needs a folder and an output pointer");
  if (mkdir(dir, 0777) != 0 && errno != EEXIST)
    return c8_error(CALIB8_IO, "cannot create LMDB folder '%s': %s", dir, strerror(errno));
  struct stat sb;
  if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
    return c8_error(CALIB8_INVALID_ARGUMENT, "LMDB folder '%s' exists and is not a folder", dir);
  calib8_lmdb_writer *w = c8_malloc(sizeof *w);
  if (!w) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory opening LMDB '%s'", dir);
  memset(w, 0, sizeof *w);
  c8_status st = CALIB8_OK;
  MDB_txn *txn = NULL;
  int rc;
  if (!(w->dir = join(dir, "")) || !(w->label_path = join(dir, "data.label"))) {
    st = c8_error(CALIB8_OUT_OF_MEMORY, "out of memory opening LMDB '%s'", dir);
    goto fail;
  }
  w->dir[strlen(w->dir) - 1] = 0;
  if ((rc = mdb_env_create(&w->env)) || (rc = mdb_env_set_mapsize(w->env, (size_t)1 << 26))) goto lmdb_fail;
  if ((rc = mdb_env_open(w->env, dir, 0, 0644))) {
    mdb_env_close(w->env);
    w->env = NULL;
    goto lmdb_fail;
  }
  if ((rc = mdb_txn_begin(w->env, NULL, 0, &txn)) || (rc = mdb_dbi_open(txn, NULL, 0, &w->dbi))) goto lmdb_fail;
  MDB_stat ms;
  if ((rc = mdb_stat(txn, w->dbi, &ms))) goto lmdb_fail;
  w->count = (int64_t)ms.ms_entries;
  if ((rc = mdb_txn_commit(txn))) {
    txn = NULL;
    goto lmdb_fail;
  }
  txn = NULL;
  *out = w;
  return CALIB8_OK;
lmdb_fail:
  st = c8_error(CALIB8_IO, "cannot open LMDB '%s' for writing: %s", dir, mdb_strerror(rc));
fail:
  if (txn) mdb_txn_abort(txn);
  calib8_lmdb_writer_close(w);
  return st;
}

int64_t calib8_lmdb_writer_count(const calib8_lmdb_writer *w) { return w ? w->count : -1; }

static void restore_labels(const calib8_lmdb_writer *w, off_t old_size) {
  if (old_size < 0)
    unlink(w->label_path);
  else if (truncate(w->label_path, old_size) != 0)
    fprintf(stderr, "calib8: warning: could not cut '%s' back to %lld bytes: %s\n", w->label_path,
            (long long)old_size, strerror(errno));
}

/* Appends text to data.label; *old_size gets its length before (-1: the file did not exist). On failure the file
 * is as it was. */
static c8_status append_labels(const calib8_lmdb_writer *w, const char *text, off_t *old_size) {
  struct stat sb;
  *old_size = stat(w->label_path, &sb) == 0 ? sb.st_size : -1;
  int fd = open(w->label_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (fd < 0) return c8_error(CALIB8_IO, "cannot open '%s' to append labels: %s", w->label_path, strerror(errno));
  size_t n = strlen(text), done = 0;
  int err = 0;
  while (done < n && !err) {
    ssize_t k = write(fd, text + done, n - done);
    if (k < 0 && errno == EINTR) continue;
    if (k <= 0) err = k < 0 ? errno : EIO;
    else done += (size_t)k;
  }
  if (!err && fsync(fd) != 0) err = errno;
  if (close(fd) != 0 && !err) err = errno;
  if (err) {
    restore_labels(w, *old_size);
    return c8_error(CALIB8_IO, "cannot append labels to '%s': %s", w->label_path, strerror(err));
  }
  return CALIB8_OK;
}

calib8_status calib8_lmdb_writer_put(calib8_lmdb_writer *w, const void *npy, size_t size, const char *labels,
                                     int64_t *out_record) {
  if (!w || !npy || !size) return c8_error(CALIB8_INVALID_ARGUMENT, "calib8_lmdb_writer_put needs a writer and a .npy value");
  char what[4200];
  snprintf(what, sizeof what, "the record for LMDB '%s' (record %lld)", w->dir, (long long)w->count);
  c8_tensor t;
  size_t off;
  c8_status st = c8_npy_view(npy, size, what, C8_NPY_BLOB, &t, &off);
  if (st) return st;
  if (c8_numel(&t) == 0) return c8_error(CALIB8_INVALID_ARGUMENT, "%s holds no element: an empty tensor is no sample", what);
  if (labels) {
    size_t n = strlen(labels);
    if (!n || labels[n - 1] != '\n')
      return c8_error(CALIB8_INVALID_ARGUMENT, "the labels of %s must be whole lines, each ending in a newline", what);
  }
  /* data.label lines follow the records: labels are given for every record or for none */
  if (w->count > 0) {
    struct stat lb;
    const bool labelled = stat(w->label_path, &lb) == 0 && lb.st_size > 0;
    if (labels && !labelled)
      return c8_error(CALIB8_INVALID_ARGUMENT, "%s has labels, but the %lld records before it have none: give labels "
                      "for every record or for none", what, (long long)w->count);
    if (!labels && labelled)
      return c8_error(CALIB8_INVALID_ARGUMENT, "%s has no labels, but the records before it have (data.label): give "
                      "labels for every record or for none", what);
  }
  if (w->count >= MAX_RECORDS)
    return c8_error(CALIB8_INVALID_ARGUMENT, "LMDB '%s' holds %lld records, the most 8-digit keys allow", w->dir,
                    (long long)w->count);
  char key[KEY_DIGITS + 1];
  snprintf(key, sizeof key, "%0*lld", KEY_DIGITS, (long long)w->count);
  for (int attempt = 0;; attempt++) {
    MDB_txn *txn = NULL;
    MDB_val k = {.mv_size = KEY_DIGITS, .mv_data = key}, v = {.mv_size = size, .mv_data = (void *)npy};
    int rc = mdb_txn_begin(w->env, NULL, 0, &txn);
    if (!rc) rc = mdb_put(txn, w->dbi, &k, &v, MDB_NOOVERWRITE);
    if (rc == MDB_MAP_FULL && attempt < 40) {
      mdb_txn_abort(txn);
      MDB_envinfo info;
      mdb_env_info(w->env, &info);
      if ((rc = mdb_env_set_mapsize(w->env, info.me_mapsize * 2)))
        return c8_error(CALIB8_IO, "cannot grow LMDB '%s': %s", w->dir, mdb_strerror(rc));
      continue;
    }
    if (rc) {
      if (txn) mdb_txn_abort(txn);
      return c8_error(rc == MDB_KEYEXIST ? CALIB8_INVALID_ARGUMENT : CALIB8_IO, "cannot put record %s into LMDB '%s': %s",
                      key, w->dir, rc == MDB_KEYEXIST ? "the key exists already" : mdb_strerror(rc));
    }
    off_t old = -1;
    if (labels && (st = append_labels(w, labels, &old))) {
      mdb_txn_abort(txn);
      return st;
    }
    if ((rc = mdb_txn_commit(txn))) { /* the transaction is freed either way */
      if (labels) restore_labels(w, old);
      return c8_error(CALIB8_IO, "cannot commit record %s to LMDB '%s': %s", key, w->dir, mdb_strerror(rc));
    }
    break;
  }
  if (out_record) *out_record = w->count;
  w->count++;
  return CALIB8_OK;
}

calib8_status calib8_lmdb_writer_get(const calib8_lmdb_writer *w, int64_t record, void **out_npy, size_t *out_size) {
  if (!w || !out_npy || !out_size || record < 0 || record >= w->count)
    return c8_error(CALIB8_INVALID_ARGUMENT, "LMDB '%s' has no record %lld (it holds %lld)", w ? w->dir : "?",
                    (long long)record, (long long)(w ? w->count : 0));
  char key[32];
  snprintf(key, sizeof key, "%0*lld", KEY_DIGITS, (long long)record);
  MDB_txn *txn = NULL;
  MDB_val k = {.mv_size = strlen(key), .mv_data = key}, v;
  int rc = mdb_txn_begin(w->env, NULL, MDB_RDONLY, &txn);
  if (!rc) rc = mdb_get(txn, w->dbi, &k, &v);
  if (rc) {
    if (txn) mdb_txn_abort(txn);
    return c8_error(rc == MDB_NOTFOUND ? CALIB8_INVALID_ARGUMENT : CALIB8_IO, "LMDB '%s' record %lld (key '%s'): %s",
                    w->dir, (long long)record, key, mdb_strerror(rc));
  }
  void *copy = c8_malloc(v.mv_size ? v.mv_size : 1);
  if (copy) memcpy(copy, v.mv_data, v.mv_size);
  mdb_txn_abort(txn);
  if (!copy) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory reading LMDB '%s' record %lld", w->dir, (long long)record);
  *out_npy = copy;
  *out_size = v.mv_size;
  return CALIB8_OK;
}
