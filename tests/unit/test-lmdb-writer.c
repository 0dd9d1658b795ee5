/* calib8_lmdb_writer_* (src/data/lmdb-writer.c): records keyed by their number, read back byte for byte; label lines
 * appended to data.label; a put that fails (a value that is no .npy file, labels without a newline, data.label
 * that cannot be appended to) leaves no record and no label line; reopening continues after the records held. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "calib8/calib8.h"
#include "check.h"
#include "core/tensor.h"
#include "data/npy.h"

static char *slurp(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  static char buf[4096];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  buf[n] = 0;
  fclose(f);
  return buf;
}

static void npy(float v, int k, void **bytes, size_t *len) {
  float data[8];
  for (int i = 0; i < 8; i++) data[i] = v + (float)i;
  c8_tensor t = {.dtype = CALIB8_FLOAT, .rank = 2, .dims = {k, 8 / k}, .data = data};
  CHECK_EQ_INT(c8_npy_serialize(&t, bytes, len), CALIB8_OK);
}

static void test_writer(void) {
  char dir[] = "/tmp/c8-lmdbw-XXXXXX", db[64], label[96], stash[96];
  CHECK(mkdtemp(dir) != NULL);
  snprintf(db, sizeof db, "%s/db", dir);
  snprintf(label, sizeof label, "%s/data.label", db);
  snprintf(stash, sizeof stash, "%s/label.away", dir);
  calib8_lmdb_writer *w = NULL;
  CHECK_EQ_INT(calib8_lmdb_writer_open(db, &w), CALIB8_OK);
  if (!w) return;
  CHECK_EQ_INT(calib8_lmdb_writer_count(w), 0);
  void *a, *b;
  size_t la, lb;
  npy(1, 2, &a, &la);
  npy(100, 4, &b, &lb);
  int64_t rec = -1;
  CHECK_EQ_INT(calib8_lmdb_writer_put(w, a, la, "3,13\n", &rec), CALIB8_OK);
  CHECK_EQ_INT(rec, 0);
  /* rejected before anything is written */
  CHECK_EQ_INT(calib8_lmdb_writer_put(w, "not npy", 7, "1\n", NULL), CALIB8_INVALID_ARGUMENT);
  CHECK_STR_CONTAINS(calib8_last_error(), "record 1");
  CHECK_EQ_INT(calib8_lmdb_writer_put(w, b, lb, "1,2,3,4", NULL), CALIB8_INVALID_ARGUMENT);
  CHECK_STR_CONTAINS(calib8_last_error(), "ending in a newline");
  CHECK_EQ_INT(calib8_lmdb_writer_put(w, a, la - 4, "1,2\n", NULL), CALIB8_INVALID_ARGUMENT);
  CHECK_STR_CONTAINS(calib8_last_error(), "truncated");
  /* fails inside: data.label is a folder, so the transaction is aborted */
  CHECK_EQ_INT(rename(label, stash), 0);
  CHECK_EQ_INT(mkdir(label, 0755), 0);
  CHECK_EQ_INT(calib8_lmdb_writer_put(w, b, lb, "1,2,3,4\n", NULL), CALIB8_IO);
  CHECK_STR_CONTAINS(calib8_last_error(), "data.label");
  CHECK_EQ_INT(rmdir(label), 0);
  CHECK_EQ_INT(rename(stash, label), 0);
  CHECK_EQ_INT(calib8_lmdb_writer_count(w), 1);
  void *got = NULL;
  size_t n = 0;
  CHECK_EQ_INT(calib8_lmdb_writer_get(w, 1, &got, &n), CALIB8_INVALID_ARGUMENT);
  CHECK_EQ_INT(calib8_lmdb_writer_put(w, b, lb, "1,2,3,4\n", &rec), CALIB8_OK);
  CHECK_EQ_INT(rec, 1);
  calib8_lmdb_writer_close(w);
  CHECK(!strcmp(slurp(label), "3,13\n1,2,3,4\n"));

  w = NULL;
  CHECK_EQ_INT(calib8_lmdb_writer_open(db, &w), CALIB8_OK);
  CHECK_EQ_INT(calib8_lmdb_writer_count(w), 2);
  CHECK_EQ_INT(calib8_lmdb_writer_get(w, 0, &got, &n), CALIB8_OK);
  CHECK(n == la && !memcmp(got, a, la));
  calib8_free(got);
  CHECK_EQ_INT(calib8_lmdb_writer_get(w, 1, &got, &n), CALIB8_OK);
  CHECK(n == lb && !memcmp(got, b, lb));
  calib8_free(got);
  /* labels for every record or for none: a record without them after labelled ones is refused */
  CHECK_EQ_INT(calib8_lmdb_writer_put(w, a, la, NULL, &rec), CALIB8_INVALID_ARGUMENT);
  CHECK_STR_CONTAINS(calib8_last_error(), "every record or for none");
  CHECK_EQ_INT(calib8_lmdb_writer_count(w), 2);
  CHECK(!strcmp(slurp(label), "3,13\n1,2,3,4\n"));
  calib8_lmdb_writer_close(w);
  /* and labels after unlabelled records too */
  char db2[4200], cmd2[4300];
  snprintf(db2, sizeof db2, "%s/nolabels", dir);
  w = NULL;
  CHECK_EQ_INT(calib8_lmdb_writer_open(db2, &w), CALIB8_OK);
  CHECK_EQ_INT(calib8_lmdb_writer_put(w, a, la, NULL, &rec), CALIB8_OK);
  CHECK_EQ_INT(calib8_lmdb_writer_put(w, a, la, NULL, &rec), CALIB8_OK);
  CHECK_EQ_INT(rec, 1);
  CHECK_EQ_INT(calib8_lmdb_writer_put(w, a, la, "4\n", &rec), CALIB8_INVALID_ARGUMENT);
  CHECK_STR_CONTAINS(calib8_last_error(), "the 2 records before it have none");
  CHECK_EQ_INT(calib8_lmdb_writer_count(w), 2);
  snprintf(cmd2, sizeof cmd2, "%s/data.label", db2);
  CHECK(access(cmd2, F_OK) != 0);
  calib8_lmdb_writer_close(w);
  calib8_lmdb_writer_close(NULL);
  free(a);
  free(b);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  CHECK_EQ_INT(system(cmd), 0);
}

int main(void) {
  CHECK_RUN(test_writer);
  return CHECK_DONE();
}
