/* Internal tensor helpers. c8_tensor is the public calib8_tensor. */
#ifndef C8_CORE_TENSOR_H
#define C8_CORE_TENSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "calib8/calib8.h"
#include "core/status.h"

typedef calib8_tensor c8_tensor;
typedef calib8_dtype c8_dtype;
#define C8_MAX_RANK CALIB8_MAX_RANK

/* All activation and weight buffers are 64-byte aligned with C8_TAIL_PAD bytes
 * of readable (never written) padding after the end, so SIMD may over-read. */
#define C8_ALIGN 64
#define C8_TAIL_PAD 64

void *c8_alloc(size_t bytes);   /* aligned, with tail padding, zero-filled; NULL on failure */
void c8_free(void *p);

static inline int64_t c8_numel(const c8_tensor *t) {
  int64_t n = 1;
  for (int i = 0; i < t->rank; i++) n *= t->dims[i];
  return n;
}
static inline size_t c8_nbytes(const c8_tensor *t) {
  return (size_t)c8_numel(t) * calib8_dtype_size(t->dtype);
}
bool c8_same_shape(const c8_tensor *a, const c8_tensor *b);
/* "[1,3,224,224]" into buf; returns buf. */
const char *c8_shape_str(const c8_tensor *t, char *buf, size_t size);
#define C8_SHAPE_STR(t) c8_shape_str((t), (char[128]){0}, 128)

/* Reads element i of any integer/float tensor as int64 or double (for small shape tensors). */
int64_t c8_get_i64(const c8_tensor *t, int64_t i);
double c8_get_f64(const c8_tensor *t, int64_t i);
/* Writes element i of a tensor from a double, converting to its dtype (saturating for ints). */
void c8_set_f64(c8_tensor *t, int64_t i, double v);

#endif
