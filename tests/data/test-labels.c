/* Labels: classification (one per line, LMDB-style comma lists per record, 'path label'), detection
 * boxes, and every error: malformed labels and boxes named by line and box, count mismatches. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "data/labels.h"

static c8_sample sample(int64_t index, int64_t record, int64_t item, int64_t items, const char *name) {
  c8_sample s = {.index = index, .record = record, .item = item, .record_items = items, .name = name,
                 .source = name ? name : "'blob' sample"};
  return s;
}

static void test_one_per_line(void) {
  c8_class_labels *l;
  CHECK_EQ_INT(c8_class_labels_parse("3\n1\r\n\n# comment\n 0 \n9", "'l.txt'", &l), CALIB8_OK);
  if (!l) return;
  CHECK_EQ_INT(c8_class_labels_count(l), 4);
  CHECK(!c8_class_labels_by_name(l));
  CHECK_EQ_INT(c8_class_labels_check(l, 4, -1, "data"), CALIB8_OK);
  CHECK_EQ_INT(c8_class_labels_check(l, 5, -1, "data"), CALIB8_INVALID_ARGUMENT);
  CHECK_STR_CONTAINS(calib8_last_error(), "labels file 'l.txt' has 4 labels but dataset 'data' has 5 samples");
  CHECK_EQ_INT(c8_class_labels_check(l, 3, -1, "data"), CALIB8_INVALID_ARGUMENT);
  int64_t v;
  c8_sample s = sample(2, 2, 0, 1, NULL);
  CHECK_EQ_INT(c8_class_labels_get(l, &s, &v), CALIB8_OK);
  CHECK_EQ_INT(v, 0);
  s = sample(3, 0, 3, 5, NULL); /* sample 3 inside a batch blob: still in dataset order */
  CHECK_EQ_INT(c8_class_labels_get(l, &s, &v), CALIB8_OK);
  CHECK_EQ_INT(v, 9);
  s = sample(4, 4, 0, 1, "'x.png'");
  CHECK_EQ_INT(c8_class_labels_get(l, &s, &v), CALIB8_INVALID_ARGUMENT);
  CHECK_STR_CONTAINS(calib8_last_error(), "has 4 labels, too few for sample 'x.png' (number 5)");
  c8_class_labels_free(l);
}

static void test_lmdb_style(void) {
  /* one line per record, comma-separated labels for a batch (the seeds' data.label) */
  c8_class_labels *l;
  CHECK_EQ_INT(c8_class_labels_parse("3,13,4,6\n7\n1, 2\n", "'data.label'", &l), CALIB8_OK);
  if (!l) return;
  CHECK_EQ_INT(c8_class_labels_count(l), 7);
  CHECK_EQ_INT(c8_class_labels_lines(l), 3);
  CHECK_EQ_INT(c8_class_labels_check(l, 7, 3, "db"), CALIB8_OK);
  CHECK_EQ_INT(c8_class_labels_check(l, 7, 4, "db"), CALIB8_INVALID_ARGUMENT);
  CHECK_STR_CONTAINS(calib8_last_error(), "has 3 lines (one per record) but dataset 'db' has 4 records");
  int64_t v;
  c8_sample s = sample(2, 0, 2, 4, NULL);
  CHECK_EQ_INT(c8_class_labels_get(l, &s, &v), CALIB8_OK);
  CHECK_EQ_INT(v, 4);
  s = sample(6, 2, 1, 2, NULL);
  CHECK_EQ_INT(c8_class_labels_get(l, &s, &v), CALIB8_OK);
  CHECK_EQ_INT(v, 2);
  s = sample(4, 1, 0, 2, NULL); /* record 1 holds 2 samples but its line has 1 label */
  CHECK_EQ_INT(c8_class_labels_get(l, &s, &v), CALIB8_INVALID_ARGUMENT);
  CHECK_STR_CONTAINS(calib8_last_error(), "line for record 1 has 1 labels but the record holds 2 samples");
  c8_class_labels_free(l);
}

static void test_by_name(void) {
  c8_class_labels *l;
  CHECK_EQ_INT(c8_class_labels_parse("./a/0001.png 4\nb/0002.png 7\nmy image.jpg 2\n", "'val.txt'", &l), CALIB8_OK);
  if (!l) return;
  CHECK(c8_class_labels_by_name(l));
  CHECK_EQ_INT(c8_class_labels_check(l, 100, -1, "imgs"), CALIB8_OK); /* a subset is fine */
  int64_t v;
  c8_sample s = sample(0, 0, 0, 1, "a/0001.png");
  CHECK_EQ_INT(c8_class_labels_get(l, &s, &v), CALIB8_OK);
  CHECK_EQ_INT(v, 4);
  s = sample(1, 1, 0, 1, "0002.png"); /* base name match (folder listed without the prefix) */
  CHECK_EQ_INT(c8_class_labels_get(l, &s, &v), CALIB8_OK);
  CHECK_EQ_INT(v, 7);
  s = sample(2, 2, 0, 1, "my image.jpg"); /* blanks inside the path */
  CHECK_EQ_INT(c8_class_labels_get(l, &s, &v), CALIB8_OK);
  CHECK_EQ_INT(v, 2);
  s = sample(3, 3, 0, 1, "c/0003.png");
  CHECK_EQ_INT(c8_class_labels_get(l, &s, &v), CALIB8_INVALID_ARGUMENT);
  CHECK_STR_CONTAINS(calib8_last_error(), "has no label for sample c/0003.png");
  s = sample(4, 0, 4, 5, NULL);
  CHECK_EQ_INT(c8_class_labels_get(l, &s, &v), CALIB8_INVALID_ARGUMENT);
  CHECK_STR_CONTAINS(calib8_last_error(), "gives labels by file name");
  c8_class_labels_free(l);
  CHECK_EQ_INT(c8_class_labels_parse("x/1.png 1\ny/1.png 2\n", "'dup.txt'", &l), CALIB8_OK);
  s = sample(0, 0, 0, 1, "1.png");
  CHECK_EQ_INT(c8_class_labels_get(l, &s, &v), CALIB8_INVALID_ARGUMENT);
  CHECK_STR_CONTAINS(calib8_last_error(), "several entries named '1.png'");
  c8_class_labels_free(l);
}

static void bad_class(const char *text, const char *needle) {
  c8_class_labels *l = NULL;
  CHECK_EQ_INT(c8_class_labels_parse(text, "'bad.txt'", &l), CALIB8_INVALID_ARGUMENT);
  CHECK(l == NULL);
  CHECK_STR_CONTAINS(calib8_last_error(), needle);
  fprintf(stderr, "  %s\n", calib8_last_error());
}

static void test_class_errors(void) {
  bad_class("1\n2\nx\n", "labels file 'bad.txt' line 3: 'x' is not a class label");
  bad_class("1\n-2\n", "line 2: '-2' is not a class label");
  bad_class("1\n2.5\n", "line 2: '2.5' is not a class label");
  bad_class("1,,2\n", "line 1: '' is not a class label");
  bad_class("1,2,\n", "line 1");
  bad_class("a.png 1\n3\n", "line 2: '3' mixes 'path label' lines with bare labels");
  bad_class("a.png one\n", "line 1: 'a.png one' does not end in a class label");
  bad_class("a.png 1\n./a.png 2\n", "names 'a.png' twice (lines 1 and 2)");
  bad_class("\n# only comments\n", "contains no labels");
  c8_class_labels *l;
  CHECK_EQ_INT(c8_class_labels_load("/nonexistent/labels.txt", &l), CALIB8_IO);
  CHECK_STR_CONTAINS(calib8_last_error(), "/nonexistent/labels.txt");
}

static void test_detection(void) {
  c8_det_labels *d;
  CHECK_EQ_INT(c8_det_labels_parse("4,258,98,505,234;17,1,137,97,502;18,225,117,309,240\n\n3,1.5,2,3.5,4;\n",
                                   "'data.label'", &d),
               CALIB8_OK);
  if (!d) return;
  CHECK_EQ_INT(d->n_images, 3);
  CHECK_EQ_INT(d->n_boxes, 4);
  CHECK(d->first[0] == 0 && d->first[1] == 3 && d->first[2] == 3 && d->first[3] == 4);
  CHECK(d->boxes[1].cls == 17 && d->boxes[1].x1 == 1 && d->boxes[1].y2 == 502);
  CHECK(d->boxes[3].cls == 3 && d->boxes[3].x1 == 1.5f);
  CHECK_EQ_INT(c8_det_labels_check(d, 3, "scenes"), CALIB8_OK);
  CHECK_EQ_INT(c8_det_labels_check(d, 4, "scenes"), CALIB8_INVALID_ARGUMENT);
  CHECK_STR_CONTAINS(calib8_last_error(), "labels file 'data.label' has 3 lines (one per image) but dataset 'scenes' "
                                          "has 4 samples");
  c8_det_labels_free(d);
}

static void bad_det(const char *text, const char *needle) {
  c8_det_labels *d = NULL;
  CHECK_EQ_INT(c8_det_labels_parse(text, "'boxes.label'", &d), CALIB8_INVALID_ARGUMENT);
  CHECK(d == NULL);
  CHECK_STR_CONTAINS(calib8_last_error(), needle);
  fprintf(stderr, "  %s\n", calib8_last_error());
}

static void test_detection_errors(void) {
  bad_det("1,2,3,4,5\n1,2,3,4\n", "labels file 'boxes.label' line 2, box 1 '1,2,3,4': needs 5 comma-separated fields");
  bad_det("1,2,3,4,5;2,0,0,1,1,9\n", "line 1, box 2 '2,0,0,1,1,9': needs 5 comma-separated fields");
  bad_det("1,2,3,4,5\n\n0,10,10,5,20\n", "line 3, box 1 '0,10,10,5,20': the corners are swapped");
  bad_det("0,1,20,5,10\n", "line 1, box 1 '0,1,20,5,10': the corners are swapped");
  bad_det("a,1,2,3,4\n", "line 1, box 1 'a,1,2,3,4': a field is not a finite number");
  bad_det("1,1,2,nan,4\n", "a field is not a finite number");
  bad_det("-1,1,2,3,4\n", "class -1 is not an integer >= 0");
  bad_det("1.5,1,2,3,4\n", "class 1.5 is not an integer >= 0");
  bad_det("", "contains no lines");
}

int main(void) {
  CHECK_RUN(test_one_per_line);
  CHECK_RUN(test_lmdb_style);
  CHECK_RUN(test_by_name);
  CHECK_RUN(test_class_errors);
  CHECK_RUN(test_detection);
  CHECK_RUN(test_detection_errors);
  fprintf(stderr, "%d passed, %d failed\n", check_count - check_failures, check_failures);
  return check_failures ? 1 : 0;
}
