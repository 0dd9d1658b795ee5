#include "core/tensor.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

size_t calib8_dtype_size(calib8_dtype dtype) {
  switch (dtype) {
    case CALIB8_FLOAT: return 4;
    case CALIB8_UINT8: return 1;
    case CALIB8_INT8: return 1;
    case CALIB8_UINT16: return 2;
    case CALIB8_INT16: return 2;
    case CALIB8_INT32: return 4;
    case CALIB8_INT64: return 8;
    case CALIB8_BOOL: return 1;
    case CALIB8_FLOAT16: return 2;
    case CALIB8_DOUBLE: return 8;
    case CALIB8_UINT32: return 4;
    case CALIB8_UINT64: return 8;
    default: return 0;
  }
}

const char *calib8_dtype_name(calib8_dtype dtype) {
  switch (dtype) {
    case CALIB8_FLOAT: return "float32";
    case CALIB8_UINT8: return "uint8";
    case CALIB8_INT8: return "int8";
    case CALIB8_UINT16: return "uint16";
    case CALIB8_INT16: return "int16";
    case CALIB8_INT32: return "int32";
    case CALIB8_INT64: return "int64";
    case CALIB8_STRING: return "string";
    case CALIB8_BOOL: return "bool";
    case CALIB8_FLOAT16: return "float16";
    case CALIB8_DOUBLE: return "float64";
    case CALIB8_UINT32: return "uint32";
    case CALIB8_UINT64: return "uint64";
    default: return "undefined";
  }
}

int64_t calib8_tensor_numel(const calib8_tensor *t) { return c8_numel(t); }

void *c8_alloc(size_t bytes) {
  /* Large buffers (activation arenas, packed weights) are 2 MiB aligned and offered to the kernel as
     transparent huge pages: on this machine's VM a 4 KiB page fault costs microseconds, and a 9 MiB arena
     touched for the first time cost more than a batch of ResNet8's convolutions. Every buffer comes from
     c8_malloc (the replaceable allocator), over-allocated by the alignment; the block's start is kept in the
     word before the aligned pointer. The slack before it is never touched, so large blocks (mmap'd by malloc)
     cost no resident memory for it. */
  const size_t huge = (size_t)2 << 20;
  if (bytes > SIZE_MAX / 2) return NULL;
  size_t align = C8_ALIGN, total = (bytes + C8_TAIL_PAD + C8_ALIGN - 1) / C8_ALIGN * C8_ALIGN;
  if (total >= 2 * huge) {
    align = huge;
    total = (total + huge - 1) / huge * huge;
  }
  char *raw = c8_malloc(total + align + sizeof(void *));
  if (!raw) return NULL;
  uintptr_t a = ((uintptr_t)raw + sizeof(void *) + align - 1) & ~(uintptr_t)(align - 1);
  ((void **)a)[-1] = raw;
#ifdef MADV_HUGEPAGE
  if (align == huge) (void)madvise((void *)a, total, MADV_HUGEPAGE); /* advice only: without THP the pages are small */
#endif
  memset((void *)a, 0, total);
  return (void *)a;
}

void c8_free(void *p) {
  if (p) c8_mfree(((void **)p)[-1]);
}

bool c8_same_shape(const c8_tensor *a, const c8_tensor *b) {
  if (a->rank != b->rank) return false;
  for (int i = 0; i < a->rank; i++)
    if (a->dims[i] != b->dims[i]) return false;
  return true;
}

const char *c8_shape_str(const c8_tensor *t, char *buf, size_t size) {
  size_t n = 0;
  n += (size_t)snprintf(buf + n, size - n, "[");
  for (int i = 0; i < t->rank && n < size; i++)
    n += (size_t)snprintf(buf + n, size - n, i ? ",%lld" : "%lld", (long long)t->dims[i]);
  if (n < size) snprintf(buf + n, size - n, "]");
  return buf;
}

int64_t c8_get_i64(const c8_tensor *t, int64_t i) {
  switch (t->dtype) {
    case CALIB8_INT64: return ((const int64_t *)t->data)[i];
    case CALIB8_INT32: return ((const int32_t *)t->data)[i];
    case CALIB8_INT8: return ((const int8_t *)t->data)[i];
    case CALIB8_UINT8: return ((const uint8_t *)t->data)[i];
    case CALIB8_BOOL: return ((const uint8_t *)t->data)[i];
    case CALIB8_INT16: return ((const int16_t *)t->data)[i];
    case CALIB8_UINT16: return ((const uint16_t *)t->data)[i];
    case CALIB8_UINT32: return ((const uint32_t *)t->data)[i];
    case CALIB8_UINT64: return (int64_t)((const uint64_t *)t->data)[i];
    case CALIB8_FLOAT: return (int64_t)((const float *)t->data)[i];
    case CALIB8_DOUBLE: return (int64_t)((const double *)t->data)[i];
    default: return 0;
  }
}

double c8_get_f64(const c8_tensor *t, int64_t i) {
  switch (t->dtype) {
    case CALIB8_FLOAT: return ((const float *)t->data)[i];
    case CALIB8_DOUBLE: return ((const double *)t->data)[i];
    default: return (double)c8_get_i64(t, i);
  }
}

void c8_set_f64(c8_tensor *t, int64_t i, double v) {
  switch (t->dtype) {
    case CALIB8_FLOAT: ((float *)t->data)[i] = (float)v; break;
    case CALIB8_DOUBLE: ((double *)t->data)[i] = v; break;
    case CALIB8_INT64: ((int64_t *)t->data)[i] = (int64_t)v; break;
    case CALIB8_INT32: ((int32_t *)t->data)[i] = (int32_t)v; break;
    case CALIB8_INT8: ((int8_t *)t->data)[i] = (int8_t)fmax(-128, fmin(127, v)); break;
    case CALIB8_UINT8: ((uint8_t *)t->data)[i] = (uint8_t)fmax(0, fmin(255, v)); break;
    case CALIB8_BOOL: ((uint8_t *)t->data)[i] = v != 0; break;
    case CALIB8_INT16: ((int16_t *)t->data)[i] = (int16_t)v; break;
    case CALIB8_UINT16: ((uint16_t *)t->data)[i] = (uint16_t)v; break;
    case CALIB8_UINT32: ((uint32_t *)t->data)[i] = (uint32_t)v; break;
    case CALIB8_UINT64: ((uint64_t *)t->data)[i] = (uint64_t)v; break;
    default: break;
  }
}
