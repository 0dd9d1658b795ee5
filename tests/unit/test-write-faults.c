/* Crash-during-write (issue 15): a quantization writes the model, calibration table, TensorRT cache, qtable and
 * JSON; the write of each in turn fails half way (c8_file_fault_inject, as a full disk), with older versions of all
 * five in place. Every target must then be the old file, never a mix or a fragment, and no temporary is left; with
 * no fault, every target is the complete new file. calib8 run's .npy outputs, written as a group, likewise. */
#include <dirent.h>
#include <unistd.h>

#include "calib8/calib8.h"
#include "check.h"
#include "core/atomic-file.h"

static char dir[64];
static const char *names[5] = {"q.onnx", "q.table", "q.trt", "q.qtable", "q.json"};

static void put_old(void) {
  for (int i = 0; i < 5; i++) {
    char p[128];
    snprintf(p, sizeof p, "%s/%s", dir, names[i]);
    FILE *f = fopen(p, "w");
    fprintf(f, "old %s", names[i]);
    fclose(f);
  }
}

/* 1: old content, 2: something else (the new file), 0: missing */
static int state(const char *name) {
  char p[128], buf[64] = {0}, old[64];
  snprintf(p, sizeof p, "%s/%s", dir, name);
  snprintf(old, sizeof old, "old %s", name);
  FILE *f = fopen(p, "r");
  if (!f) return 0;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  return n == strlen(old) && !memcmp(buf, old, n) ? 1 : 2;
}

static int entries(void) {
  DIR *d = opendir(dir);
  int n = 0;
  struct dirent *e;
  while (d && (e = readdir(d)))
    if (e->d_name[0] != '.' || strstr(e->d_name, "c8tmp")) n++;
  if (d) closedir(d);
  return n;
}

int main(void) {
  snprintf(dir, sizeof dir, "/tmp/c8-wfault-XXXXXX");
  if (!mkdtemp(dir)) return 1;
  calib8_model *m = NULL;
  calib8_session *s = NULL;
  calib8_dataset *ds = NULL;
  calib8_calibration *cal = NULL;
  calib8_qplan *plan = NULL;
  const char *src = "examples/fmnist";
  calib8_dataset_options o = calib8_dataset_options_default();
  o.preprocess = "mean_value=72.94,std_value=90.0";
  o.limit = 4;
  CHECK_EQ_INT(calib8_model_load("models/fmnist_lenet.onnx", &m), CALIB8_OK);
  CHECK_EQ_INT(calib8_session_create(m, NULL, &s), CALIB8_OK);
  CHECK_EQ_INT(calib8_dataset_open(m, 1, &src, &o, &ds), CALIB8_OK);
  CHECK_EQ_INT(calib8_calibration_create(s, NULL, &cal), CALIB8_OK);
  CHECK_EQ_INT(calib8_calibration_add_dataset(cal, ds, NULL, NULL), CALIB8_OK);
  CHECK_EQ_INT(calib8_qplan_build(s, cal, NULL, &plan), CALIB8_OK);
  char p[5][128];
  for (int i = 0; i < 5; i++) snprintf(p[i], sizeof p[i], "%s/%s", dir, names[i]);
  calib8_outputs out = {p[0], p[1], p[2], p[3], p[4], NULL};
  for (int k = 1; k <= 5; k++) { /* the k-th file written fails */
    put_old();
    c8_file_fault_inject(k);
    calib8_status st = calib8_qplan_write(plan, &out, NULL);
    c8_file_fault_inject(0);
    CHECK_EQ_INT(st, CALIB8_IO);
    CHECK_STR_CONTAINS(calib8_last_error(), "No space left");
    for (int i = 0; i < 5; i++) CHECK_EQ_INT(state(names[i]), 1);
    CHECK_EQ_INT(entries(), 5); /* no temporaries */
  }
  put_old();
  CHECK_EQ_INT(calib8_qplan_write(plan, &out, NULL), CALIB8_OK);
  for (int i = 0; i < 5; i++) CHECK_EQ_INT(state(names[i]), 2);
  CHECK_EQ_INT(entries(), 5);
  /* a group of .npy outputs: the second fails, the first stays old */
  float v[3] = {1, 2, 3};
  calib8_tensor t = {CALIB8_FLOAT, 1, {3}, v};
  char a[128], b[128];
  snprintf(a, sizeof a, "%s/a.npy", dir);
  snprintf(b, sizeof b, "%s/b.npy", dir);
  FILE *f = fopen(a, "w");
  fputs("old a", f);
  fclose(f);
  CHECK_EQ_INT(calib8_write_group_begin(), CALIB8_OK);
  c8_file_fault_inject(2);
  CHECK_EQ_INT(calib8_npy_write(a, &t), CALIB8_OK);
  CHECK(calib8_npy_write(b, &t) != CALIB8_OK);
  calib8_write_group_abort();
  c8_file_fault_inject(0);
  f = fopen(a, "r");
  char buf[16] = {0};
  CHECK(f && fread(buf, 1, 15, f) == 5 && !strcmp(buf, "old a"));
  if (f) fclose(f);
  CHECK(access(b, F_OK) != 0);
  calib8_qplan_destroy(plan);
  calib8_calibration_destroy(cal);
  calib8_dataset_close(ds);
  calib8_session_destroy(s);
  calib8_model_destroy(m);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
  if (system(cmd) != 0) return 1;
  return CHECK_DONE();
}
