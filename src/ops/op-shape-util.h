/* Helpers shared by the shape and data-movement operators (op-reshape.c, op-slice.c, ...). */
#ifndef C8_OPS_OP_SHAPE_UTIL_H
#define C8_OPS_OP_SHAPE_UTIL_H

#include <string.h>

#include "ops/op.h"

/* Reads a shape-like input (int64 or int32, rank 0 or 1) that must be known at prepare time.
 * At most `max` values; the count goes to *n. `what` names the input in errors ("shape", "axes"). */
static inline c8_status c8_read_int_input(const c8_node *node, const c8_tensor *t, int index, const char *what,
                                          int64_t *vals, int max, int *n) {
  *n = 0;
  c8_status st = c8_check_const(node, t, index);
  if (st) return st;
  if (t->dtype != CALIB8_INT64 && t->dtype != CALIB8_INT32)
    return c8_node_error(node, CALIB8_UNSUPPORTED, "input %d (%s) is %s, expected int64 or int32", index, what,
                         calib8_dtype_name(t->dtype));
  if (t->rank > 1)
    return c8_node_error(node, CALIB8_MALFORMED_MODEL, "input %d (%s) has rank %d, expected a 1-D tensor", index,
                         what, t->rank);
  int64_t count = c8_numel(t);
  if (count > max)
    return c8_node_error(node, CALIB8_UNSUPPORTED, "input %d (%s) has %lld values, at most %d are supported", index,
                         what, (long long)count, max);
  for (int64_t i = 0; i < count; i++) vals[i] = c8_get_i64(t, i);
  *n = (int)count;
  return CALIB8_OK;
}

/* Element size of a dtype the data-movement ops can copy; 0 (and a node error) for others. */
static inline c8_status c8_movable_dtype(const c8_node *node, const c8_tensor *t, int index, size_t *esize) {
  size_t s = calib8_dtype_size(t->dtype);
  *esize = s;
  if (s == 0)
    return c8_node_error(node, CALIB8_UNSUPPORTED, "input %d has unsupported type %s", index,
                         calib8_dtype_name(t->dtype));
  return CALIB8_OK;
}

static inline void c8_copy_shape(c8_tensor *dst, const c8_tensor *src) {
  dst->dtype = src->dtype;
  dst->rank = src->rank;
  memcpy(dst->dims, src->dims, sizeof dst->dims);
}

/* Product of dims[from..to). */
static inline int64_t c8_dims_prod(const int64_t *dims, int from, int to) {
  int64_t p = 1;
  for (int i = from; i < to; i++) p *= dims[i];
  return p;
}

/* Copies one element of `esize` bytes (1, 2, 4 or 8) without memcpy call overhead: constant-size memcpy
 * compiles to one move and, unlike an integer access, is defined on any alignment (Slice copies runs of
 * two floats as 8-byte blocks from 4-byte aligned addresses). */
static inline void c8_copy_elem(void *dst, const void *src, size_t esize) {
  switch (esize) {
    case 1: memcpy(dst, src, 1); break;
    case 2: memcpy(dst, src, 2); break;
    case 4: memcpy(dst, src, 4); break;
    case 8: memcpy(dst, src, 8); break;
    default: memcpy(dst, src, esize); break;
  }
}

#endif
