/* Dataset streams: .npy (one N x ... file, a folder of mixed blobs and dtypes), .npz (stored, compressed,
 * multi-input, unnamed entry), LMDB (written here with liblmdb), TNN text, image folders and list files,
 * and the errors: wrong shapes, unreadable images named, empty datasets, mixed folders. */
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "data/dataset.h"
#include "data/npy.h"

#define FIX "tests/data/fixtures/"

static char tmp[64];

/* Model input [N,2,3,4] float32; sample k element e has the value 100*k + e in the fixtures. */
static calib8_value_info in_x(calib8_dtype dt) {
  calib8_value_info in = {.name = "x", .dtype = dt, .rank = 4, .dims = {-1, 2, 3, 4}};
  return in;
}

/* Reads every sample, checks values against 100*(first + k) + e, returns the count. */
static int64_t drain(c8_dataset *ds, int64_t first, bool values) {
  int64_t n = 0;
  const c8_sample *s;
  for (;;) {
    c8_status st = c8_dataset_next(ds, &s);
    CHECK_EQ_INT(st, CALIB8_OK);
    if (st) {
      fprintf(stderr, "  %s\n", calib8_last_error());
      break;
    }
    if (!s) break;
    CHECK_EQ_INT(s->index, n);
    CHECK_EQ_INT(s->t[0].rank, 4);
    CHECK(s->t[0].dims[0] == 1 && s->t[0].dims[1] == 2 && s->t[0].dims[2] == 3 && s->t[0].dims[3] == 4);
    if (values) {
      int bad = 0;
      for (int e = 0; e < 24; e++)
        if (c8_get_f64(&s->t[0], e) != 100.0 * (first + n) + e) bad++;
      CHECK_EQ_INT(bad, 0);
    }
    n++;
  }
  return n;
}

static void test_npy_file(void) {
  calib8_value_info in = in_x(CALIB8_FLOAT);
  c8_dataset *ds;
  CHECK_EQ_INT(c8_dataset_open(FIX "tensors/batch.npy", 1, &in, NULL, &ds), CALIB8_OK);
  CHECK_EQ_INT(c8_dataset_kind_of(ds), C8_DS_NPY);
  CHECK_EQ_INT(c8_dataset_count(ds), 5);
  CHECK_EQ_INT(drain(ds, 0, true), 5);
  c8_dataset_close(ds);
  /* the same through the explicit prefix */
  CHECK_EQ_INT(c8_dataset_open("npy:" FIX "tensors/batch.npy", 1, &in, NULL, &ds), CALIB8_OK);
  const c8_sample *s;
  CHECK_EQ_INT(c8_dataset_next(ds, &s), CALIB8_OK);
  CHECK_EQ_INT(c8_dataset_next(ds, &s), CALIB8_OK);
  CHECK_STR_CONTAINS(s->source, "batch.npy' sample 1");
  CHECK(s->name == NULL);
  c8_dataset_close(ds);
  /* wrong shape: the message names the file, its shape and the model's */
  CHECK_EQ_INT(c8_dataset_open(FIX "tensors/wrong_shape.npy", 1, &in, NULL, &ds), CALIB8_INVALID_ARGUMENT);
  CHECK_STR_CONTAINS(calib8_last_error(), "wrong_shape.npy' has shape [2,4,3] but model input 'x' is [N,2,3,4]");
  /* a float model input accepts int data; an int64 input does not accept float data */
  calib8_value_info i64 = in_x(CALIB8_INT64);
  CHECK_EQ_INT(c8_dataset_open(FIX "tensors/batch.npy", 1, &i64, NULL, &ds), CALIB8_INVALID_ARGUMENT);
  CHECK_STR_CONTAINS(calib8_last_error(), "holds float32 data but model input 'x' is int64");
}

static void test_npy_folder(void) {
  calib8_value_info in = in_x(CALIB8_FLOAT);
  c8_dataset *ds;
  /* a.npy: one sample [2,3,4]; b.npy: float64 batch of 3; c.npy: int32 [1,2,3,4] */
  CHECK_EQ_INT(c8_dataset_open(FIX "tensors/npydir", 1, &in, NULL, &ds), CALIB8_OK);
  CHECK_EQ_INT(c8_dataset_count(ds), 5);
  CHECK_EQ_INT(c8_dataset_record_count(ds), 3);
  const c8_sample *s;
  int64_t rec[5], item[5];
  for (int k = 0; k < 5; k++) {
    CHECK_EQ_INT(c8_dataset_next(ds, &s), CALIB8_OK);
    if (!s) break;
    rec[k] = s->record;
    item[k] = s->item;
    CHECK(s->t[0].dtype == CALIB8_FLOAT);
    CHECK(c8_get_f64(&s->t[0], 23) == 100.0 * k + 23);
    if (k == 0) CHECK_STR_CONTAINS(s->name, "a.npy");
  }
  CHECK(rec[0] == 0 && rec[1] == 1 && rec[3] == 1 && rec[4] == 2);
  CHECK(item[1] == 0 && item[2] == 1 && item[3] == 2 && item[4] == 0);
  CHECK_EQ_INT(c8_dataset_next(ds, &s), CALIB8_OK);
  CHECK(s == NULL);
  CHECK_EQ_INT(c8_dataset_next(ds, &s), CALIB8_OK); /* stays at the end */
  CHECK(s == NULL);
  c8_dataset_close(ds);
}

static void test_npz(void) {
  calib8_value_info ins[2] = {in_x(CALIB8_FLOAT), {.name = "ids", .dtype = CALIB8_INT64, .rank = 2, .dims = {-1, 5}}};
  const char *files[] = {FIX "tensors/multi.npz", FIX "tensors/multi_compressed.npz"};
  for (int f = 0; f < 2; f++) {
    c8_dataset *ds;
    CHECK_EQ_INT(c8_dataset_open(files[f], 2, ins, NULL, &ds), CALIB8_OK);
    if (!ds) continue;
    CHECK_EQ_INT(c8_dataset_kind_of(ds), C8_DS_NPZ);
    CHECK_EQ_INT(c8_dataset_count(ds), 4);
    const c8_sample *s;
    for (int k = 0; k < 4; k++) {
      CHECK_EQ_INT(c8_dataset_next(ds, &s), CALIB8_OK);
      if (!s) break;
      CHECK_EQ_INT(s->n, 2);
      CHECK(c8_get_f64(&s->t[0], 5) == 100.0 * k + 5);
      CHECK(s->t[1].dtype == CALIB8_INT64 && s->t[1].rank == 2 && s->t[1].dims[1] == 5);
      CHECK_EQ_INT(c8_get_i64(&s->t[1], 4), 5 * k + 4);
    }
    CHECK_EQ_INT(c8_dataset_next(ds, &s), CALIB8_OK);
    CHECK(s == NULL);
    c8_dataset_close(ds);
  }
  /* np.savez(f, x) names the entry arr_0.npy: accepted for a one-input model */
  calib8_value_info in = in_x(CALIB8_FLOAT);
  c8_dataset *ds;
  CHECK_EQ_INT(c8_dataset_open(FIX "tensors/single.npz", 1, &in, NULL, &ds), CALIB8_OK);
  CHECK_EQ_INT(drain(ds, 0, true), 3);
  c8_dataset_close(ds);
  calib8_value_info wrong[2] = {in_x(CALIB8_FLOAT), {.name = "mask", .dtype = CALIB8_INT64, .rank = 2, .dims = {-1, 5}}};
  CHECK_EQ_INT(c8_dataset_open(FIX "tensors/multi.npz", 2, wrong, NULL, &ds), CALIB8_INVALID_ARGUMENT);
  CHECK_STR_CONTAINS(calib8_last_error(), "has no entry 'mask.npy' for model input 'mask'");
  CHECK_EQ_INT(c8_dataset_open(FIX "tensors/mismatch.npz", 2, ins, NULL, &ds), CALIB8_INVALID_ARGUMENT);
  CHECK_STR_CONTAINS(calib8_last_error(), "holds 3 samples but the one for input 'x' holds 4");
}

static void test_txt(void) {
  calib8_value_info in = in_x(CALIB8_FLOAT);
  c8_dataset *ds;
  CHECK_EQ_INT(c8_dataset_open(FIX "tensors/tnn.txt", 1, &in, NULL, &ds), CALIB8_OK);
  CHECK_EQ_INT(c8_dataset_kind_of(ds), C8_DS_TXT);
  CHECK_EQ_INT(c8_dataset_count(ds), 2);
  CHECK_EQ_INT(drain(ds, 0, true), 2);
  c8_dataset_close(ds);
  CHECK_EQ_INT(c8_dataset_open(FIX "tensors/tnn_short.txt", 1, &in, NULL, &ds), CALIB8_INVALID_ARGUMENT);
  CHECK_STR_CONTAINS(calib8_last_error(), "has 30 values, not a multiple of 24");
  CHECK_EQ_INT(c8_dataset_open("txt:" FIX "tensors/tnn_bad.txt", 1, &in, NULL, &ds), CALIB8_OK);
  const c8_sample *s;
  CHECK_EQ_INT(c8_dataset_next(ds, &s), CALIB8_INVALID_ARGUMENT);
  CHECK_STR_CONTAINS(calib8_last_error(), "tnn_bad.txt' line 18 is not a finite number: 'x17'");
  c8_dataset_close(ds);
  calib8_value_info dyn = {.name = "x", .dtype = CALIB8_FLOAT, .rank = 4, .dims = {-1, 2, -1, 4}};
  CHECK_EQ_INT(c8_dataset_open(FIX "tensors/tnn.txt", 1, &dyn, NULL, &ds), CALIB8_INVALID_ARGUMENT);
  CHECK_STR_CONTAINS(calib8_last_error(), "needs fixed dimensions");
}

/* ---- LMDB: written here with liblmdb ----------------------------------------------------------------- */

static void put_npy(MDB_txn *txn, MDB_dbi dbi, const char *key, const c8_tensor *t) {
  void *bytes;
  size_t len;
  CHECK_EQ_INT(c8_npy_serialize(t, &bytes, &len), CALIB8_OK);
  MDB_val k = {strlen(key), (void *)key}, v = {len, bytes};
  CHECK_EQ_INT(mdb_put(txn, dbi, &k, &v, 0), 0);
  free(bytes);
}

static void make_lmdb(const char *dir, bool with_bad_record, bool empty) {
  mkdir(dir, 0777);
  MDB_env *env;
  MDB_txn *txn;
  MDB_dbi dbi;
  CHECK_EQ_INT(mdb_env_create(&env), 0);
  CHECK_EQ_INT(mdb_env_set_mapsize(env, 1 << 20), 0);
  CHECK_EQ_INT(mdb_env_open(env, dir, 0, 0664), 0);
  CHECK_EQ_INT(mdb_txn_begin(env, NULL, 0, &txn), 0);
  CHECK_EQ_INT(mdb_dbi_open(txn, NULL, 0, &dbi), 0);
  /* record 0: one sample [2,3,4]; record 1: a batch [3,2,3,4]; record 2: [1,2,3,4] */
  float buf[5 * 24];
  for (int k = 0; k < 5; k++)
    for (int e = 0; e < 24; e++) buf[k * 24 + e] = (float)(100 * k + e);
  c8_tensor r0 = {.dtype = CALIB8_FLOAT, .rank = 3, .dims = {2, 3, 4}, .data = buf};
  c8_tensor r1 = {.dtype = CALIB8_FLOAT, .rank = 4, .dims = {3, 2, 3, 4}, .data = buf + 24};
  c8_tensor r2 = {.dtype = CALIB8_FLOAT, .rank = 4, .dims = {1, 2, 3, 4}, .data = buf + 96};
  if (!empty) {
    put_npy(txn, dbi, "00000000", &r0);
    put_npy(txn, dbi, "00000001", &r1);
    put_npy(txn, dbi, "00000002", &r2);
  }
  if (with_bad_record) {
    MDB_val k = {8, "00000003"}, v = {12, "caffe datum!"};
    CHECK_EQ_INT(mdb_put(txn, dbi, &k, &v, 0), 0);
  }
  CHECK_EQ_INT(mdb_txn_commit(txn), 0);
  mdb_env_close(env);
}

static void test_lmdb(void) {
  char dir[128], bad[128], empty[128], file[160];
  snprintf(dir, sizeof dir, "%s/lmdb", tmp);
  snprintf(bad, sizeof bad, "%s/lmdb_bad", tmp);
  snprintf(empty, sizeof empty, "%s/lmdb_empty", tmp);
  make_lmdb(dir, false, false);
  make_lmdb(bad, true, false);
  make_lmdb(empty, false, true);
  calib8_value_info in = in_x(CALIB8_FLOAT);
  c8_dataset *ds;
  CHECK_EQ_INT(c8_dataset_open(dir, 1, &in, NULL, &ds), CALIB8_OK);
  CHECK_EQ_INT(c8_dataset_kind_of(ds), C8_DS_LMDB);
  CHECK_EQ_INT(c8_dataset_count(ds), 5);
  CHECK_EQ_INT(c8_dataset_record_count(ds), 3);
  const c8_sample *s;
  int64_t items[5] = {0};
  for (int k = 0; k < 5; k++) {
    CHECK_EQ_INT(c8_dataset_next(ds, &s), CALIB8_OK);
    if (!s) break;
    CHECK(c8_get_f64(&s->t[0], 7) == 100.0 * k + 7);
    items[k] = s->record_items;
    if (k == 2) CHECK_STR_CONTAINS(s->source, "record 1 (key '00000001') sample 1");
  }
  CHECK(items[0] == 1 && items[1] == 3 && items[3] == 3 && items[4] == 1);
  CHECK_EQ_INT(c8_dataset_next(ds, &s), CALIB8_OK);
  CHECK(s == NULL);
  c8_dataset_close(ds);
  /* the data.mdb file itself also opens (MDB_NOSUBDIR) */
  snprintf(file, sizeof file, "%s/data.mdb", dir);
  CHECK_EQ_INT(c8_dataset_open(file, 1, &in, NULL, &ds), CALIB8_OK);
  CHECK_EQ_INT(drain(ds, 0, true), 5);
  c8_dataset_close(ds);
  /* a record that is not a .npy blob is named by its key */
  CHECK_EQ_INT(c8_dataset_open(bad, 1, &in, NULL, &ds), CALIB8_INVALID_ARGUMENT);
  CHECK_STR_CONTAINS(calib8_last_error(), "record 3 (key '00000003') is not a .npy blob");
  CHECK_EQ_INT(c8_dataset_open(empty, 1, &in, NULL, &ds), CALIB8_INVALID_ARGUMENT);
  CHECK_STR_CONTAINS(calib8_last_error(), "contains no samples (0 records)");
  /* a read-only environment folder works: MDB_NOLOCK needs no lock file */
  chmod(dir, 0555);
  CHECK_EQ_INT(c8_dataset_open(dir, 1, &in, NULL, &ds), CALIB8_OK);
  c8_dataset_close(ds);
  chmod(dir, 0777);
}

/* ---- images ------------------------------------------------------------------------------------------ */

static void test_image_folder(void) {
  calib8_value_info in = {.name = "img", .dtype = CALIB8_FLOAT, .rank = 4, .dims = {-1, 3, 5, 7}};
  c8_preprocess pp;
  CHECK_EQ_INT(c8_preprocess_parse("resize_h=5,resize_w=7", &pp), CALIB8_OK);
  c8_dataset *ds;
  CHECK_EQ_INT(c8_dataset_open(FIX "images", 1, &in, &pp, &ds), CALIB8_OK);
  CHECK_EQ_INT(c8_dataset_kind_of(ds), C8_DS_IMAGES);
  CHECK_EQ_INT(c8_dataset_count(ds), 20);
  const c8_sample *s;
  char prev[256] = "";
  int n = 0;
  for (;;) {
    CHECK_EQ_INT(c8_dataset_next(ds, &s), CALIB8_OK);
    if (!s) break;
    CHECK(strcmp(prev, s->name) < 0); /* sorted by name */
    snprintf(prev, sizeof prev, "%s", s->name);
    CHECK(s->t[0].dims[1] == 3 && s->t[0].dims[2] == 5 && s->t[0].dims[3] == 7);
    CHECK(s->has_geom);
    n++;
  }
  CHECK_EQ_INT(n, 20);
  c8_dataset_close(ds);
  /* without preprocessing the sizes must already match: the 24x16 JPEG is named */
  CHECK_EQ_INT(c8_dataset_open(FIX "images", 1, &in, NULL, &ds), CALIB8_OK);
  int err = 0;
  for (;;) {
    c8_status st = c8_dataset_next(ds, &s);
    if (st) {
      CHECK_STR_CONTAINS(calib8_last_error(), "cmyk.jpg' is 24x16 (width x height) after preprocessing");
      err = 1;
      break;
    }
    if (!s) break;
  }
  CHECK(err);
  c8_dataset_close(ds);
  /* pixel values, gray model, uint8 input: exact decoded values */
  calib8_value_info g8 = {.name = "img", .dtype = CALIB8_UINT8, .rank = 4, .dims = {1, 1, 5, 7}};
  CHECK_EQ_INT(c8_dataset_open(FIX "images/gray8.png", 1, &g8, NULL, &ds), CALIB8_OK);
  CHECK_EQ_INT(c8_dataset_next(ds, &s), CALIB8_OK);
  c8_tensor e;
  CHECK_EQ_INT(c8_npy_read(FIX "expect/gray8.png.npy", &e), CALIB8_OK);
  if (s && e.data) CHECK(!memcmp(s->t[0].data, e.data, 35));
  c8_free(e.data);
  c8_dataset_close(ds);
  /* preprocessing given for tensors is an error */
  calib8_value_info x = in_x(CALIB8_FLOAT);
  CHECK_EQ_INT(c8_dataset_open(FIX "tensors/batch.npy", 1, &x, &pp, &ds), CALIB8_INVALID_ARGUMENT);
  CHECK_STR_CONTAINS(calib8_last_error(), "preprocessing applies to images");
}

static void write_file(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  CHECK(f != NULL);
  if (!f) return;
  fputs(text, f);
  fclose(f);
}

static void test_list_and_errors(void) {
  char list[160], cmd[512], dir[128], sub[160];
  calib8_value_info in = {.name = "img", .dtype = CALIB8_FLOAT, .rank = 4, .dims = {-1, 1, 5, 7}};
  /* a list file: paths relative to the list's folder, blank and '#' lines skipped, "path label" accepted */
  snprintf(dir, sizeof dir, "%s/listdir", tmp);
  snprintf(sub, sizeof sub, "%s/imgs", dir);
  mkdir(dir, 0777);
  mkdir(sub, 0777);
  snprintf(cmd, sizeof cmd, "cp " FIX "images/gray8.png " FIX "images/rgb8.png " FIX "corrupt/truncated.png %s/", sub);
  CHECK_EQ_INT(system(cmd), 0);
  snprintf(list, sizeof list, "%s/list.txt", dir);
  write_file(list, "# calibration images\nimgs/rgb8.png\n\nimgs/gray8.png 3\n  imgs/truncated.png  \n");
  c8_dataset *ds;
  CHECK_EQ_INT(c8_dataset_open(list, 1, &in, NULL, &ds), CALIB8_OK);
  CHECK_EQ_INT(c8_dataset_kind_of(ds), C8_DS_IMAGES);
  CHECK_EQ_INT(c8_dataset_count(ds), 3);
  const c8_sample *s;
  CHECK_EQ_INT(c8_dataset_next(ds, &s), CALIB8_OK);
  CHECK_STR_CONTAINS(s->name, "imgs/rgb8.png");
  CHECK_EQ_INT(c8_dataset_next(ds, &s), CALIB8_OK);
  CHECK_STR_CONTAINS(s->name, "imgs/gray8.png");
  /* the unreadable image is named in the error */
  CHECK_EQ_INT(c8_dataset_next(ds, &s), CALIB8_INVALID_ARGUMENT);
  CHECK_STR_CONTAINS(calib8_last_error(), "imgs/truncated.png");
  fprintf(stderr, "  %s\n", calib8_last_error());
  c8_dataset_close(ds);
  /* a missing file in a list is named too */
  write_file(list, "imgs/missing.png\n");
  CHECK_EQ_INT(c8_dataset_open(list, 1, &in, NULL, &ds), CALIB8_OK);
  CHECK_EQ_INT(c8_dataset_next(ds, &s), CALIB8_IO);
  CHECK_STR_CONTAINS(calib8_last_error(), "imgs/missing.png");
  c8_dataset_close(ds);
  /* empty: a folder without images, a list without paths, an empty file */
  char empty_dir[160];
  snprintf(empty_dir, sizeof empty_dir, "%s/emptydir", tmp);
  mkdir(empty_dir, 0777);
  CHECK_EQ_INT(c8_dataset_open(empty_dir, 1, &in, NULL, &ds), CALIB8_INVALID_ARGUMENT);
  CHECK_STR_CONTAINS(calib8_last_error(), "emptydir' contains no images");
  write_file(list, "# nothing\n\n");
  CHECK_EQ_INT(c8_dataset_open(list, 1, &in, NULL, &ds), CALIB8_INVALID_ARGUMENT);
  CHECK_STR_CONTAINS(calib8_last_error(), "contains no images");
  write_file(list, "");
  CHECK_EQ_INT(c8_dataset_open(list, 1, &in, NULL, &ds), CALIB8_INVALID_ARGUMENT);
  CHECK_STR_CONTAINS(calib8_last_error(), "is an empty file");
  /* mixed folder */
  snprintf(cmd, sizeof cmd, "cp " FIX "tensors/batch.npy %s/", sub);
  CHECK_EQ_INT(system(cmd), 0);
  CHECK_EQ_INT(c8_dataset_open(sub, 1, &in, NULL, &ds), CALIB8_INVALID_ARGUMENT);
  CHECK_STR_CONTAINS(calib8_last_error(), "holds both images (3) and .npy files (1)");
  /* does not exist */
  CHECK_EQ_INT(c8_dataset_open("/nonexistent/dataset", 1, &in, NULL, &ds), CALIB8_IO);
  CHECK_STR_CONTAINS(calib8_last_error(), "dataset '/nonexistent/dataset' does not exist");
  /* images need one input */
  calib8_value_info two[2] = {in, in};
  CHECK_EQ_INT(c8_dataset_open(FIX "images", 2, two, NULL, &ds), CALIB8_INVALID_ARGUMENT);
  CHECK_STR_CONTAINS(calib8_last_error(), "images feed one model input, but the model has 2");
}

/* Streaming: memory does not depend on the sample count. A 20000-sample .npy file is read with one
 * sample buffer (checked indirectly: the dataset never holds more than one sample's bytes). */
static void test_streaming_large(void) {
  char path[160];
  snprintf(path, sizeof path, "%s/large.npy", tmp);
  int64_t n = 20000;
  c8_tensor t = {.dtype = CALIB8_FLOAT, .rank = 4, .dims = {n, 2, 3, 4}, .data = c8_alloc((size_t)n * 24 * 4)};
  for (int64_t k = 0; k < n; k++)
    for (int e = 0; e < 24; e++) ((float *)t.data)[k * 24 + e] = (float)(100 * (k % 1000) + e);
  CHECK_EQ_INT(c8_npy_write(path, &t), CALIB8_OK);
  c8_free(t.data);
  calib8_value_info in = in_x(CALIB8_FLOAT);
  c8_dataset *ds;
  CHECK_EQ_INT(c8_dataset_open(path, 1, &in, NULL, &ds), CALIB8_OK);
  const c8_sample *s;
  int64_t k = 0, bad = 0;
  const void *first_buf = NULL;
  while (c8_dataset_next(ds, &s) == CALIB8_OK && s) {
    if (!first_buf) first_buf = s->t[0].data;
    if (s->t[0].data != first_buf) bad++; /* one buffer reused for every sample */
    if (c8_get_f64(&s->t[0], 3) != 100.0 * (k % 1000) + 3) bad++;
    k++;
  }
  CHECK_EQ_INT(k, n);
  CHECK_EQ_INT(bad, 0);
  c8_dataset_close(ds);
  unlink(path);
}

/* Header corruption: every mutated .npy header is parsed or refused cleanly, never read out of bounds. */
static void test_npy_header_fuzz(void) {
  FILE *fp = fopen(FIX "tensors/batch.npy", "rb");
  CHECK(fp != NULL);
  if (!fp) return;
  unsigned char orig[1024], buf[1024];
  size_t n = fread(orig, 1, sizeof orig, fp);
  fclose(fp);
  uint32_t seed = 99;
  int ok = 0, refused = 0;
  for (int it = 0; it < 3000; it++) {
    memcpy(buf, orig, n);
    for (int k = 0; k < 1 + it % 3; k++) {
      seed = seed * 1664525u + 1013904223u;
      size_t pos = (seed >> 8) % 128;
      seed = seed * 1664525u + 1013904223u;
      buf[pos] = (unsigned char)(seed >> 24);
    }
    size_t len = (it % 5 == 0) ? (seed >> 4) % n : n; /* sometimes truncated too */
    c8_npy_header h;
    if (c8_npy_header_parse(buf, len, "'fuzz.npy'", &h) == CALIB8_OK) {
      CHECK(h.data_offset <= len && h.rank >= 0 && h.rank <= C8_MAX_RANK);
      ok++;
    } else {
      CHECK_STR_CONTAINS(calib8_last_error(), "'fuzz.npy'");
      refused++;
    }
  }
  fprintf(stderr, "  %d mutated headers parsed, %d refused cleanly\n", ok, refused);
}

int main(void) {
  snprintf(tmp, sizeof tmp, "/tmp/c8-dataset-XXXXXX");
  if (!mkdtemp(tmp)) return 1;
  CHECK_RUN(test_npy_file);
  CHECK_RUN(test_npy_folder);
  CHECK_RUN(test_npz);
  CHECK_RUN(test_txt);
  CHECK_RUN(test_lmdb);
  CHECK_RUN(test_image_folder);
  CHECK_RUN(test_list_and_errors);
  CHECK_RUN(test_streaming_large);
  CHECK_RUN(test_npy_header_fuzz);
  char cmd[256];
  snprintf(cmd, sizeof cmd, "chmod -R u+w %s; rm -rf %s", tmp, tmp);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp);
  fprintf(stderr, "%d passed, %d failed\n", check_count - check_failures, check_failures);
  return check_failures ? 1 : 0;
}
