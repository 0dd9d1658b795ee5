/* The auto search's trial log as --resume reads it (c8_search_log_load: JSON lines, a torn last line ignored),
 * then the lookups a resumed search makes in it (the FP32 score, a trial by its key, the sensitivity ranking). */
#include "fuzz.h"
#include "search/search.h"

static c8_search S;

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  fuzz_init();
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char path[128];
  fuzz_write("t.trials.jsonl", data, size, path, sizeof path);
  memset(&S, 0, sizeof S);
  snprintf(S.log_path, sizeof S.log_path, "%s", path);
  if (c8_search_log_load(&S) == CALIB8_OK) {
    const cJSON *e = c8_search_log_find(&S, "kind", "fp32");
    const cJSON *v = e ? cJSON_GetObjectItemCaseSensitive(e, "score") : NULL;
    if (cJSON_IsNumber(v)) (void)v->valuedouble;
    (void)c8_search_log_find(&S, "key", "kl/per-channel/minmax");
    const cJSON *r = c8_search_log_find(&S, "kind", "sensitivity");
    const cJSON *arr = r ? cJSON_GetObjectItemCaseSensitive(r, "ranking") : NULL, *it;
    cJSON_ArrayForEach(it, arr) (void)cJSON_GetObjectItemCaseSensitive(it, "node");
  }
  cJSON_Delete(S.log);
  return 0;
}
