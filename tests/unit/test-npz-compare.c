/* calib8_npz_compare_* (src/evaluate/npz-compare.c) on .npz files written here: each of npz_tool compare's
 * verdicts (EQUAL, CLOSE with its order, SIMILAR, NOT_SIMILAR, NOT_EQUAL for int8, NOT_MATCH), the cosine and
 * euclidean similarity against sums computed here, the strict tolerance, cropping of padded shapes, bfloat16
 * entries, names in one file only, --excepts, and the errors. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zip.h>

#include "calib8/calib8.h"
#include "check.h"
#include "core/tensor.h"
#include "data/npy.h"

typedef struct entry {
  const char *name;
  calib8_dtype dtype;
  int rank;
  int64_t dims[4];
  const void *data;
} entry;

static char dir[64];

static const char *write_npz(const char *file, int n, const entry *e) {
  static char path[8][128];
  static int k;
  char *p = path[k++ % 8];
  snprintf(p, 128, "%s/%s", dir, file);
  int err = 0;
  zip_t *z = zip_open(p, ZIP_CREATE | ZIP_TRUNCATE, &err);
  CHECK(z != NULL);
  for (int i = 0; i < n; i++) {
    c8_tensor t = {.dtype = e[i].dtype, .rank = e[i].rank, .data = (void *)e[i].data};
    memcpy(t.dims, e[i].dims, sizeof e[i].dims);
    void *bytes;
    size_t len;
    if (e[i].dtype == CALIB8_UINT16) { /* bfloat16 as npz_tool's dumps hold it: descr <u2 */
      char hdr[128];
      int hl = snprintf(hdr, sizeof hdr, "{'descr': '<u2', 'fortran_order': False, 'shape': (%lld,), }",
                        (long long)t.dims[0]);
      int total = 10 + hl + 1;
      int pad = (64 - total % 64) % 64;
      len = (size_t)(total + pad) + (size_t)t.dims[0] * 2;
      bytes = malloc(len);
      unsigned char *b = bytes;
      memcpy(b, "\x93NUMPY\x01\x00", 8);
      b[8] = (unsigned char)((hl + 1 + pad) & 0xff), b[9] = (unsigned char)((hl + 1 + pad) >> 8);
      memcpy(b + 10, hdr, (size_t)hl);
      memset(b + 10 + hl, ' ', (size_t)pad);
      b[10 + hl + pad] = '\n';
      memcpy(b + total + pad, t.data, (size_t)t.dims[0] * 2);
    } else {
      CHECK_EQ_INT(c8_npy_serialize(&t, &bytes, &len), CALIB8_OK);
    }
    char name[128];
    snprintf(name, sizeof name, "%s.npy", e[i].name);
    zip_source_t *src = zip_source_buffer(z, bytes, len, 1); /* libzip frees the buffer */
    CHECK(src != NULL);
    CHECK(zip_file_add(z, name, src, ZIP_FL_OVERWRITE) >= 0);
  }
  CHECK_EQ_INT(zip_close(z), 0);
  return p;
}

static calib8_npz_row row(const calib8_npz_compare *c, const char *name) {
  calib8_npz_row r = {0};
  for (int i = 0; i < calib8_npz_compare_row_count(c); i++) {
    calib8_npz_compare_row_at(c, i, &r);
    if (!strcmp(r.name, name)) return r;
  }
  fprintf(stderr, "no row '%s'\n", name);
  CHECK(0);
  return (calib8_npz_row){.verdict = -1};
}

#define N 64

static void test_verdicts(void) {
  float a[N], same[N], close4[N], noisy[N], far[N], zero[N] = {0};
  double tr = 0, tt = 0, rr = 0, dd = 0, mm = 0;
  for (int i = 0; i < N; i++) {
    a[i] = (float)sin(i * 0.37) * 3.0f + 0.5f;
    same[i] = a[i];
    close4[i] = a[i] * (1.0f + 3e-5f); /* within rtol 1e-4, not 1e-5 */
    noisy[i] = a[i] + 0.02f * (float)cos(i * 1.7);
    far[i] = a[i] + 2.0f * (float)cos(i * 1.7);
    double t = noisy[i], r = a[i];
    tr += t * r, tt += t * t, rr += r * r, dd += (t - r) * (t - r), mm += (t + r) * (t + r) / 4;
  }
  int8_t q[8] = {1, 2, 3, 4, -5, 6, 7, 8}, q2[8] = {1, 2, 3, 4, -5, 6, 7, 9};
  entry target[] = {
      {"same", CALIB8_FLOAT, 2, {8, 8}, same},  {"close", CALIB8_FLOAT, 1, {N}, close4},
      {"noisy", CALIB8_FLOAT, 1, {N}, noisy},   {"far", CALIB8_FLOAT, 1, {N}, far},
      {"q", CALIB8_INT8, 1, {8}, q2},           {"q_same", CALIB8_INT8, 1, {8}, q},
      {"zero", CALIB8_FLOAT, 1, {N}, zero},     {"reshaped", CALIB8_FLOAT, 2, {4, 16}, same},
      {"mismatch", CALIB8_FLOAT, 2, {2, 32}, a}, {"target_only", CALIB8_FLOAT, 1, {N}, a},
  };
  entry ref[] = {
      {"ref_only", CALIB8_FLOAT, 1, {N}, a},  {"same", CALIB8_FLOAT, 2, {8, 8}, a},
      {"close", CALIB8_FLOAT, 1, {N}, a},     {"noisy", CALIB8_FLOAT, 1, {N}, a},
      {"far", CALIB8_FLOAT, 1, {N}, a},       {"q", CALIB8_INT8, 1, {8}, q},
      {"q_same", CALIB8_INT8, 1, {8}, q},     {"zero", CALIB8_FLOAT, 1, {N}, a},
      {"reshaped", CALIB8_FLOAT, 1, {N}, a},  {"mismatch", CALIB8_FLOAT, 2, {4, 8}, a},
  };
  const char *pt = write_npz("t.npz", 10, target), *pr = write_npz("r.npz", 10, ref);
  calib8_npz_compare *c = NULL;
  calib8_npz_compare_options o = calib8_npz_compare_options_default();
  CHECK_NEAR(o.cosine_tol, 0.99, 0);
  CHECK_NEAR(o.euclid_tol, 0.99, 0);
  CHECK_EQ_INT(calib8_npz_compare_files(pt, pr, &o, &c), CALIB8_OK);
  if (!c) return;
  CHECK_EQ_INT(calib8_npz_compare_row_count(c), 11);
  calib8_npz_row r;
  calib8_npz_compare_row_at(c, 0, &r); /* the reference's order, then the target's own names */
  CHECK(!strcmp(r.name, "ref_only") && r.verdict == CALIB8_NPZ_ONLY_REFERENCE && !r.compared);
  calib8_npz_compare_row_at(c, 10, &r);
  CHECK(!strcmp(r.name, "target_only") && r.verdict == CALIB8_NPZ_ONLY_TARGET && !r.compared);
  CHECK_EQ_INT(calib8_npz_compare_row_at(c, 11, &r), CALIB8_INVALID_ARGUMENT);

  r = row(c, "same");
  CHECK(r.verdict == CALIB8_NPZ_EQUAL && r.pass && r.compared);
  r = row(c, "reshaped"); /* same size, other shape: read in the target's shape */
  CHECK(r.verdict == CALIB8_NPZ_EQUAL && r.pass);
  r = row(c, "close");
  CHECK_EQ_INT(r.verdict, CALIB8_NPZ_CLOSE);
  CHECK_EQ_INT(r.close_order, 4);
  CHECK(r.pass && isnan(r.cosine));
  r = row(c, "noisy");
  CHECK_EQ_INT(r.verdict, CALIB8_NPZ_SIMILAR);
  CHECK_NEAR(r.cosine, tr / sqrt(tt * rr), 1e-12);
  CHECK_NEAR(r.euclidean, 1 - sqrt(dd) / sqrt(mm), 1e-12);
  CHECK(r.cosine > 0.99 && r.euclidean > 0.99 && r.euclidean < 1 && isfinite(r.sqnr_db) && r.sqnr_db > 20);
  r = row(c, "far");
  CHECK(r.verdict == CALIB8_NPZ_NOT_SIMILAR && !r.pass && r.cosine < 0.99);
  r = row(c, "q"); /* int8: equality only */
  CHECK(r.verdict == CALIB8_NPZ_NOT_EQUAL && !r.pass);
  r = row(c, "q_same");
  CHECK(r.verdict == CALIB8_NPZ_EQUAL && r.pass);
  r = row(c, "zero"); /* an all-zero side has no cosine: not similar */
  CHECK(r.verdict == CALIB8_NPZ_NOT_SIMILAR && !r.pass);
  r = row(c, "mismatch"); /* [2,32] vs [4,8]: neither crops to the other */
  CHECK_EQ_INT(r.verdict, CALIB8_NPZ_NOT_MATCH);
  CHECK(!r.pass && r.compared && r.target_dims[1] == 32 && r.reference_dims[0] == 4);

  calib8_npz_summary s;
  CHECK_EQ_INT(calib8_npz_compare_summary(c, &s), CALIB8_OK);
  CHECK_EQ_INT(s.compared, 9);
  CHECK_EQ_INT(s.passed, 5);
  CHECK_EQ_INT(s.failed, 4);
  CHECK_EQ_INT(s.count[CALIB8_NPZ_NOT_SIMILAR], 2);
  CHECK_NEAR(s.min_euclidean, row(c, "zero").euclidean, 0);

  char *text = NULL;
  CHECK_EQ_INT(calib8_npz_compare_format(c, &text), CALIB8_OK);
  CHECK_STR_CONTAINS(text, "npz compare FAILED\n");
  CHECK_STR_CONTAINS(text, "only in '");
  CHECK_STR_CONTAINS(text, "': target_only\n");
  CHECK_STR_CONTAINS(text, "': ref_only\n");
  CHECK_STR_CONTAINS(text, "9 compared");
  CHECK_STR_CONTAINS(text, "4 failed: 1 not equal, 2 not similar, 1 not matching in shape");
  calib8_free(text);
  calib8_npz_compare_destroy(c);

  /* excepting every failing name passes; the tolerance is strict (a cosine equal to it fails) */
  o.excepts = "far,q,zero,mismatch,target_only";
  CHECK_EQ_INT(calib8_npz_compare_files(pt, pr, &o, &c), CALIB8_OK);
  CHECK_EQ_INT(calib8_npz_compare_summary(c, &s), CALIB8_OK);
  CHECK_EQ_INT(s.failed, 0);
  CHECK_EQ_INT(s.count[CALIB8_NPZ_EXCEPTED], 5);
  CHECK_EQ_INT(row(c, "far").verdict, CALIB8_NPZ_EXCEPTED);
  double cos_noisy = row(c, "noisy").cosine;
  calib8_npz_compare_format(c, &text);
  CHECK_STR_CONTAINS(text, "npz compare PASSED\n");
  calib8_free(text);
  calib8_npz_compare_destroy(c);
  o.cosine_tol = cos_noisy;
  CHECK_EQ_INT(calib8_npz_compare_files(pt, pr, &o, &c), CALIB8_OK);
  CHECK_EQ_INT(row(c, "noisy").verdict, CALIB8_NPZ_NOT_SIMILAR);
  calib8_npz_compare_destroy(c);
  o.cosine_tol = 0.99;
  o.euclid_tol = row((c = NULL, calib8_npz_compare_files(pt, pr, NULL, &c), c), "noisy").euclidean + 1e-9;
  calib8_npz_compare_destroy(c);
  CHECK_EQ_INT(calib8_npz_compare_files(pt, pr, &o, &c), CALIB8_OK);
  CHECK_EQ_INT(row(c, "noisy").verdict, CALIB8_NPZ_NOT_SIMILAR);
  calib8_npz_compare_destroy(c);

  /* errors: an excepted name in neither file, no shared name, a bad tolerance, not an npz */
  o = calib8_npz_compare_options_default();
  o.excepts = "same,nosuch";
  c = NULL;
  CHECK_EQ_INT(calib8_npz_compare_files(pt, pr, &o, &c), CALIB8_INVALID_ARGUMENT);
  CHECK_STR_CONTAINS(calib8_last_error(), "excepted tensor 'nosuch' is in neither");
  CHECK(c == NULL);
  entry other[] = {{"x", CALIB8_FLOAT, 1, {N}, a}};
  const char *po = write_npz("o.npz", 1, other);
  CHECK_EQ_INT(calib8_npz_compare_files(po, pr, NULL, &c), CALIB8_INVALID_ARGUMENT);
  CHECK_STR_CONTAINS(calib8_last_error(), "share no tensor name");
  o = calib8_npz_compare_options_default();
  o.cosine_tol = 1.5;
  CHECK_EQ_INT(calib8_npz_compare_files(pt, pr, &o, &c), CALIB8_INVALID_ARGUMENT);
  CHECK_STR_CONTAINS(calib8_last_error(), "tolerance 1.5,0.99");
  char bogus[128];
  snprintf(bogus, sizeof bogus, "%s/bogus.npz", dir);
  FILE *f = fopen(bogus, "w");
  fputs("not a zip", f);
  fclose(f);
  CHECK_EQ_INT(calib8_npz_compare_files(bogus, pr, NULL, &c), CALIB8_INVALID_ARGUMENT);
  CHECK_STR_CONTAINS(calib8_last_error(), "bogus.npz' is not a readable .npz");
  unlink(bogus);
  unlink(po);
  unlink(pt);
  unlink(pr);
}

/* a padded dump (larger in every dimension) is cropped to the other; bfloat16 (<u2) entries are widened */
static void test_crop_bf16(void) {
  float small[6] = {1, 2, 3, 4, 5, 6}, padded[12] = {1, 2, 3, 0, 4, 5, 6, 0, 9, 9, 9, 9};
  float f[4] = {1.0f, -2.5f, 3.0f, 0.15625f};
  uint16_t b[4];
  for (int i = 0; i < 4; i++) {
    uint32_t u;
    memcpy(&u, &f[i], 4);
    b[i] = (uint16_t)(u >> 16); /* exact in bfloat16 */
  }
  entry t[] = {{"crop", CALIB8_FLOAT, 2, {2, 3}, small}, {"bf", CALIB8_UINT16, 1, {4}, b}};
  entry r[] = {{"crop", CALIB8_FLOAT, 2, {3, 4}, padded}, {"bf", CALIB8_FLOAT, 1, {4}, f}};
  const char *pt = write_npz("tc.npz", 2, t), *pr = write_npz("rc.npz", 2, r);
  calib8_npz_compare *c = NULL;
  CHECK_EQ_INT(calib8_npz_compare_files(pt, pr, NULL, &c), CALIB8_OK);
  if (!c) return;
  CHECK_EQ_INT(row(c, "crop").verdict, CALIB8_NPZ_EQUAL);
  CHECK_EQ_INT(row(c, "bf").verdict, CALIB8_NPZ_EQUAL);
  calib8_npz_compare_destroy(c);
  padded[1] = 7; /* now the cropped part differs */
  pr = write_npz("rc.npz", 2, r);
  CHECK_EQ_INT(calib8_npz_compare_files(pt, pr, NULL, &c), CALIB8_OK);
  CHECK_EQ_INT(row(c, "crop").verdict, CALIB8_NPZ_NOT_SIMILAR);
  calib8_npz_compare_destroy(c);
  unlink(pt);
  unlink(pr);
}

int main(void) {
  snprintf(dir, sizeof dir, "/tmp/c8-npzcmp-XXXXXX");
  if (!mkdtemp(dir)) return 1;
  CHECK_RUN(test_verdicts);
  CHECK_RUN(test_crop_bf16);
  rmdir(dir);
  return CHECK_DONE();
}
