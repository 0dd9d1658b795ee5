/* The replaceable allocator (calib8_replace_allocator). The hooks are plain globals: like libuv's
 * uv_replace_allocator, a program replaces them once, before any other call, and never while the library
 * holds memory. cJSON's hooks follow them, so JSON the library builds and frees uses the same allocator. */
#include "core/alloc.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "calib8/calib8.h"
#include "core/status.h"

static calib8_malloc_fn hook_malloc = malloc;
static calib8_realloc_fn hook_realloc = realloc;
static calib8_calloc_fn hook_calloc = calloc;
static calib8_free_fn hook_free = free;
static int replaced;

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
    cJSON_InitHooks(NULL);
    return CALIB8_OK;
  }
  if (!m || !r || !c || !f)
    return c8_error(CALIB8_INVALID_ARGUMENT, "calib8_replace_allocator needs all four functions (or none to restore)");
  hook_malloc = m, hook_realloc = r, hook_calloc = c, hook_free = f;
  replaced = 1;
  cJSON_Hooks h = {.malloc_fn = c8_malloc, .free_fn = c8_mfree};
  cJSON_InitHooks(&h);
  return CALIB8_OK;
}

void calib8_free(void *p) { c8_mfree(p); }
