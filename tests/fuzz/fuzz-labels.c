/* Class labels (bare, per record, by file name) and detection labels, parsed from memory, checked against
 * dataset sizes and looked up for a few samples. The first byte picks the parser. */
#include "data/labels.h"
#include "fuzz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  fuzz_init();
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  int det = data[0] & 1;
  char *text = fuzz_string(data + 1, size - 1);
  if (det) {
    c8_det_labels *d = NULL;
    if (c8_det_labels_parse(text, "'fuzz.label'", &d) == CALIB8_OK) {
      (void)c8_det_labels_check(d, 3, "fuzz");
      (void)c8_det_labels_check(d, -1, "fuzz");
      c8_det_labels_free(d);
    }
  } else {
    c8_class_labels *l = NULL;
    if (c8_class_labels_parse(text, "'fuzz.txt'", &l) == CALIB8_OK) {
      (void)c8_class_labels_count(l);
      (void)c8_class_labels_lines(l);
      (void)c8_class_labels_check(l, 4, 2, "fuzz");
      (void)c8_class_labels_check(l, -1, -1, "fuzz");
      static const char *names[] = {"a/1.png", "1.png", "b.jpg", NULL};
      for (int k = 0; k < 4; k++) {
        c8_sample s;
        memset(&s, 0, sizeof s);
        s.index = k;
        s.record = k / 2;
        s.item = k % 2;
        s.record_items = 2;
        s.source = "'fuzz' sample";
        s.name = names[k];
        int64_t v;
        (void)c8_class_labels_get(l, &s, &v);
      }
      c8_class_labels_free(l);
    }
  }
  free(text);
  return 0;
}
