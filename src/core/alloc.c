/* The replaceable allocator (calib8_replace_allocator). The hooks are plain globals: like libuv's
 * uv_replace_allocator, a program replaces them once, before any other call, and never while the library
 * holds memory. cJSON's hooks follow them, so JSON the library builds and frees uses the same allocator. */
#include "core/alloc.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "calib8/calib8.h"
#include "core/json.h"
#include "core/status.h"

static calib8_malloc_fn hook_malloc = malloc;
static calib8_realloc_fn hook_realloc = realloc;
static calib8_calloc_fn hook_calloc = calloc;
static calib8_free_fn hook_free = free;
static int replaced;
static _Thread_local bool json_oom;

/* cJSON allocates through these (core/json.h): a failure raises the thread's flag. */
static void *json_malloc(size_t size) {
  void *p = c8_malloc(size);
  if (!p) json_oom = true;
  return p;
}
static void json_hooks(void) {
  cJSON_Hooks h = {.malloc_fn = json_malloc, .free_fn = c8_mfree};
  cJSON_InitHooks(&h);
}
static pthread_once_t json_once = PTHREAD_ONCE_INIT;

void c8_json_begin(void) {
  pthread_once(&json_once, json_hooks);
  json_oom = false;
}
bool c8_json_failed(void) { return json_oom; }
cJSON *c8_json_attach(cJSON *parent, const char *key, cJSON *item) {
  bool ok = item && parent && (key ? cJSON_AddItemToObject(parent, key, item) : cJSON_AddItemToArray(parent, item));
  if (!ok) {
    cJSON_Delete(item);
    json_oom = true;
    return NULL;
  }
  return item;
}
char *c8_json_print(cJSON *root) {
  if (!root || json_oom) return NULL;
  char *text = cJSON_Print(root);
  if (text && json_oom) { /* printing survived a failed allocation only in part */
    cJSON_free(text);
    text = NULL;
  }
  return text;
}

void *c8_malloc(size_t size) { return hook_malloc(size ? size : 1); }
void *c8_calloc(size_t count, size_t size) { return hook_calloc(count ? count : 1, size ? size : 1); }
void *c8_realloc(void *p, size_t size) { return hook_realloc(p, size ? size : 1); }
void c8_mfree(void *p) {
  if (p) hook_free(p);
}
char *c8_strdup(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = c8_malloc(n);
  if (d) memcpy(d, s, n);
  return d;
}
int c8_allocator_replaced(void) { return replaced; }

calib8_status calib8_replace_allocator(calib8_malloc_fn m, calib8_realloc_fn r, calib8_calloc_fn c,
                                       calib8_free_fn f) {
  if (!m && !r && !c && !f) {
    hook_malloc = malloc, hook_realloc = realloc, hook_calloc = calloc, hook_free = free;
    replaced = 0;
    json_hooks();
    return CALIB8_OK;
  }
  if (!m || !r || !c || !f)
    return c8_error(CALIB8_INVALID_ARGUMENT, "calib8_replace_allocator needs all four functions (or none to restore)");
  hook_malloc = m, hook_realloc = r, hook_calloc = c, hook_free = f;
  replaced = 1;
  json_hooks();
  return CALIB8_OK;
}

void calib8_free(void *p) { c8_mfree(p); }
