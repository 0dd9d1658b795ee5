/* Every heap allocation of the library goes through these, so that a program can replace the allocator
 * (calib8_replace_allocator, as libuv's uv_replace_allocator) and tests can fail the k-th allocation.
 * c8_alloc/c8_free (core/tensor.h) are the aligned, padded buffers for tensors; they use the same hooks. */
#ifndef C8_CORE_ALLOC_H
#define C8_CORE_ALLOC_H

#include <stddef.h>

void *c8_malloc(size_t size);
void *c8_calloc(size_t count, size_t size);
void *c8_realloc(void *p, size_t size);
void c8_mfree(void *p);
char *c8_strdup(const char *s);
/* True when the program replaced the allocator (c8_alloc then aligns by hand instead of posix_memalign). */
int c8_allocator_replaced(void);

#endif
