/* Image decoding: every format variant against its expected pixels, magic-byte detection, corrupt files,
 * and gray <-> colour conversion. Fixtures: tests/data/fixtures/{images,expect,corrupt}. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "data/image.h"
#include "data/npy.h"
#include "data/preprocess.h"

#define FIX "tests/data/fixtures/"

/* Decodes images/<name> and compares with expect/<name>.npy (uint8 [H,W,C]); returns the max difference. */
static int compare_fixture(const char *name, int tol) {
  char path[512], epath[512];
  snprintf(path, sizeof path, FIX "images/%s", name);
  snprintf(epath, sizeof epath, FIX "expect/%s.npy", name);
  c8_image img;
  c8_tensor e;
  c8_status st = c8_image_load(path, &img);
  if (st) fprintf(stderr, "  %s: %s\n", name, calib8_last_error());
  CHECK_EQ_INT(st, CALIB8_OK);
  CHECK_EQ_INT(c8_npy_read(epath, &e), CALIB8_OK);
  if (st) return 999;
  CHECK_EQ_INT(e.dtype, CALIB8_UINT8);
  CHECK_EQ_INT(e.rank, 3);
  CHECK_EQ_INT(img.h, e.dims[0]);
  CHECK_EQ_INT(img.w, e.dims[1]);
  CHECK_EQ_INT(img.c, e.dims[2]);
  int maxd = 0;
  if (img.h == e.dims[0] && img.w == e.dims[1] && img.c == e.dims[2]) {
    const uint8_t *a = img.px, *b = e.data;
    for (int64_t i = 0; i < c8_numel(&e); i++) {
      int d = abs((int)a[i] - (int)b[i]);
      if (d > maxd) maxd = d;
    }
  } else {
    maxd = 999;
  }
  if (maxd > tol) fprintf(stderr, "  %s: max pixel difference %d (tolerance %d)\n", name, maxd, tol);
  CHECK(maxd <= tol);
  c8_image_free(&img);
  c8_free(e.data);
  return maxd;
}

static void test_png(void) {
  compare_fixture("rgb8.png", 0);
  compare_fixture("gray8.png", 0);
  compare_fixture("rgb16.png", 0);      /* 16 -> 8 bits with rounding */
  compare_fixture("palette.png", 0);    /* palette with tRNS: RGB, transparency ignored */
  compare_fixture("gray_alpha.png", 0); /* alpha stripped */
  compare_fixture("rgba.png", 0);
  compare_fixture("gray1.png", 0);      /* 1-bit gray expanded to 0/255 */
  compare_fixture("gray_trns.png", 0);  /* gray with a tRNS colour key: stays one channel */
}

static void test_bmp(void) {
  compare_fixture("bmp24.bmp", 0);
  compare_fixture("bmp24_topdown.bmp", 0);
  compare_fixture("bmp32.bmp", 0);
  compare_fixture("bmp32_bitfields.bmp", 0);
  compare_fixture("bmp8.bmp", 0);
  compare_fixture("bmp8_gray.bmp", 0); /* gray palette decodes to one channel */
  compare_fixture("bmp4.bmp", 0);
  compare_fixture("bmp1.bmp", 0);
  compare_fixture("bmp16.bmp", 0);
}

static void test_jpeg(void) {
  /* The expectations are PIL's decode with the same libjpeg-turbo; allow for a different IDCT. */
  int d = compare_fixture("rgb.jpg", 2);
  fprintf(stderr, "  rgb.jpg: max difference to PIL %d\n", d);
  compare_fixture("gray.jpg", 2);
  compare_fixture("cmyk.jpg", 2);
}

/* The format comes from the bytes: a PNG named .jpg and a JPEG named .bmp decode fine. */
static void test_magic_not_extension(void) {
  char dir[] = "/tmp/c8-image-XXXXXX";
  CHECK(mkdtemp(dir) != NULL);
  const char *pairs[][2] = {{FIX "images/rgb8.png", "png_named.jpg"}, {FIX "images/rgb.jpg", "jpeg_named.bmp"},
                            {FIX "images/bmp24.bmp", "bmp_named.png"}};
  for (int i = 0; i < 3; i++) {
    char dst[600], cmd[1400];
    snprintf(dst, sizeof dst, "%s/%s", dir, pairs[i][1]);
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", pairs[i][0], dst);
    CHECK_EQ_INT(system(cmd), 0);
    c8_image a, b;
    CHECK_EQ_INT(c8_image_load(dst, &a), CALIB8_OK);
    CHECK_EQ_INT(c8_image_load(pairs[i][0], &b), CALIB8_OK);
    CHECK(a.w == b.w && a.h == b.h && a.c == b.c && !memcmp(a.px, b.px, (size_t)a.w * a.h * a.c));
    c8_image_free(&a);
    c8_image_free(&b);
    unlink(dst);
  }
  rmdir(dir);
  unsigned char png[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  CHECK_EQ_INT(c8_image_sniff(png, 8), C8_IMAGE_PNG);
  CHECK_EQ_INT(c8_image_sniff("\xff\xd8\xff\xe0", 4), C8_IMAGE_JPEG);
  CHECK_EQ_INT(c8_image_sniff("BM", 2), C8_IMAGE_BMP);
  CHECK_EQ_INT(c8_image_sniff("GIF89a", 6), C8_IMAGE_UNKNOWN);
}

/* Every corrupt file fails with one sentence naming the file; nothing exits the process. */
static void expect_fail(const char *name, calib8_status code, const char *needle) {
  char path[512];
  snprintf(path, sizeof path, FIX "corrupt/%s", name);
  c8_image img = {0};
  calib8_status st = c8_image_load(path, &img);
  CHECK_EQ_INT(st, code);
  CHECK(img.px == NULL);
  const char *msg = calib8_last_error();
  CHECK_STR_CONTAINS(msg, path);
  CHECK_STR_CONTAINS(msg, needle);
  CHECK(strchr(msg, '\n') == NULL);
  fprintf(stderr, "  %s -> %s\n", name, msg);
}

static void test_corrupt(void) {
  expect_fail("truncated.png", CALIB8_INVALID_ARGUMENT, "not a readable PNG");
  expect_fail("bad_crc.png", CALIB8_INVALID_ARGUMENT, "CRC");
  expect_fail("truncated.jpg", CALIB8_INVALID_ARGUMENT, "not a readable JPEG");
  expect_fail("garbage.jpg", CALIB8_INVALID_ARGUMENT, "not a readable JPEG");
  expect_fail("truncated.bmp", CALIB8_INVALID_ARGUMENT, "truncated");
  expect_fail("huge.bmp", CALIB8_INVALID_ARGUMENT, "bad size");
  expect_fail("rle8.bmp", CALIB8_UNSUPPORTED, "RLE8");
  expect_fail("text.png", CALIB8_INVALID_ARGUMENT, "not a JPEG, PNG or BMP");
  expect_fail("empty.png", CALIB8_INVALID_ARGUMENT, "empty");
  c8_image img;
  CHECK_EQ_INT(c8_image_load(FIX "corrupt/no-such-file.png", &img), CALIB8_IO);
  CHECK_STR_CONTAINS(calib8_last_error(), "no-such-file.png");
}

/* Every prefix of a valid file must fail cleanly (or decode, for BMP's missing last-row padding). */
static void test_truncation_sweep(void) {
  const char *files[] = {FIX "images/rgb8.png", FIX "images/rgb.jpg", FIX "images/bmp8.bmp",
                         FIX "images/rgb16.png"};
  for (int f = 0; f < 4; f++) {
    FILE *fp = fopen(files[f], "rb");
    CHECK(fp != NULL);
    if (!fp) continue;
    unsigned char buf[8192];
    size_t n = fread(buf, 1, sizeof buf, fp);
    fclose(fp);
    int failures = 0;
    for (size_t len = 0; len < n; len++) {
      c8_image img;
      if (c8_image_decode(buf, len, "'prefix'", &img) != CALIB8_OK)
        failures++;
      else
        c8_image_free(&img);
    }
    CHECK(failures >= (int)n - 4);
  }
}

/* Random byte corruption of every fixture: decoding must fail cleanly or succeed, never crash
 * (run it under the sanitizer build to check memory safety). Deterministic pseudo-random flips. */
static void test_mutation_fuzz(void) {
  const char *files[] = {"rgb8.png", "palette.png", "rgb16.png", "gray1.png", "rgb.jpg", "cmyk.jpg", "bmp24.bmp",
                         "bmp8.bmp", "bmp4.bmp", "bmp1.bmp", "bmp16.bmp", "bmp32_bitfields.bmp"};
  uint32_t seed = 12345;
  int decoded = 0, failed = 0;
  for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
    char path[256];
    snprintf(path, sizeof path, FIX "images/%s", files[f]);
    FILE *fp = fopen(path, "rb");
    CHECK(fp != NULL);
    if (!fp) continue;
    unsigned char orig[8192], buf[8192];
    size_t n = fread(orig, 1, sizeof orig, fp);
    fclose(fp);
    for (int it = 0; it < 400; it++) {
      memcpy(buf, orig, n);
      int flips = 1 + it % 4;
      for (int k = 0; k < flips; k++) {
        seed = seed * 1664525u + 1013904223u;
        /* half of the flips land in the first 64 bytes, where the headers are */
        size_t pos = (seed >> 8) % ((it & 1) ? n : (n < 64 ? n : 64));
        seed = seed * 1664525u + 1013904223u;
        buf[pos] ^= (unsigned char)(1u << ((seed >> 16) & 7));
      }
      c8_image img;
      if (c8_image_decode(buf, n, "'fuzz'", &img) == CALIB8_OK) {
        CHECK(img.w > 0 && img.h > 0 && (img.c == 1 || img.c == 3) && img.px);
        decoded++;
        c8_image_free(&img);
      } else {
        CHECK_STR_CONTAINS(calib8_last_error(), "'fuzz'");
        failed++;
      }
    }
  }
  fprintf(stderr, "  %d mutated files decoded, %d refused cleanly\n", decoded, failed);
}

static void test_channel_conversion(void) {
  uint8_t rgb[6] = {255, 0, 0, 10, 20, 30};
  c8_image col = {.w = 2, .h = 1, .c = 3, .px = rgb};
  float g[2];
  c8_image_to_float(&col, 1, g);
  CHECK_NEAR(g[0], 0.299 * 255, 1e-4);
  CHECK_NEAR(g[1], 0.299 * 10 + 0.587 * 20 + 0.114 * 30, 1e-4);
  uint8_t grayv[2] = {7, 200};
  c8_image gr = {.w = 2, .h = 1, .c = 1, .px = grayv};
  float c3[6];
  c8_image_to_float(&gr, 3, c3);
  CHECK(c3[0] == 7 && c3[1] == 7 && c3[2] == 7 && c3[3] == 200 && c3[4] == 200 && c3[5] == 200);
  /* a gray pixel stored as RGB keeps its exact value through luminance */
  uint8_t same[3] = {123, 123, 123};
  c8_image s = {.w = 1, .h = 1, .c = 3, .px = same};
  float one;
  c8_image_to_float(&s, 1, &one);
  CHECK(one == 123.0f);
  float keep[6];
  c8_image_to_float(&col, 3, keep);
  CHECK(keep[0] == 255 && keep[1] == 0 && keep[2] == 0);
}

int main(void) {
  CHECK_RUN(test_png);
  CHECK_RUN(test_bmp);
  CHECK_RUN(test_jpeg);
  CHECK_RUN(test_magic_not_extension);
  CHECK_RUN(test_corrupt);
  CHECK_RUN(test_truncation_sweep);
  CHECK_RUN(test_mutation_fuzz);
  CHECK_RUN(test_channel_conversion);
  fprintf(stderr, "%d passed, %d failed\n", check_count - check_failures, check_failures);
  return check_failures ? 1 : 0;
}
