/* Building JSON with cJSON without writing half a document on out-of-memory.
 *
 * cJSON's Add* helpers return NULL when an allocation fails, and the document silently misses that member. Every
 * cJSON allocation goes through c8_malloc (core/alloc.c installs the hooks) and a failure raises this thread's
 * flag: a builder calls c8_json_begin() first and c8_json_failed() at the end, and discards the document when it
 * failed. Items made apart must be attached at once (c8_json_attach) so that a failure never orphans them. */
#ifndef C8_CORE_JSON_H
#define C8_CORE_JSON_H

#include <cjson/cJSON.h>
#include <stdbool.h>

void c8_json_begin(void);
bool c8_json_failed(void);
/* Appends item to array (or, with key, to object); deletes item and raises the flag when that fails. Returns the
 * item, or NULL. */
cJSON *c8_json_attach(cJSON *parent, const char *key, cJSON *item);
/* cJSON_Print under the same rule: NULL (and nothing allocated) when the document or its text is incomplete. */
char *c8_json_print(cJSON *root);

#endif
