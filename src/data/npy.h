/* NumPy .npy files (format versions 1.0-3.0, little-endian, C order):
 * float32, int64, int32, int8, uint8, bool. */
#ifndef C8_DATA_NPY_H
#define C8_DATA_NPY_H

#include "core/atomic-file.h"
#include "core/tensor.h"
#include "data/dataset.h"

/* The tensor a .npy image in memory describes, without copying it: dtype and dims from its header, t->data NULL,
 * *data_offset where its data starts in bytes. CALIB8_INVALID_ARGUMENT naming `what` for a bad header or when fewer
 * data bytes follow the header than it declares. The one header-to-tensor rule of .npy files, LMDB records, npz
 * entries and request bodies. */
c8_status c8_npy_view(const void *bytes, size_t len, const char *what, c8_npy_kind kind, c8_tensor *t,
                      size_t *data_offset);
/* Parses a .npy image in memory; t->data is c8_alloc'd (caller frees). `what` names it in errors. */
c8_status c8_npy_parse(const void *bytes, size_t len, const char *what, c8_tensor *t);
c8_status c8_npy_read(const char *path, c8_tensor *t);
/* Serializes t into a malloc'd buffer. */
c8_status c8_npy_serialize(const c8_tensor *t, void **out_bytes, size_t *out_len);
/* Writes atomically: a temporary file beside `path`, then rename. */
c8_status c8_npy_write(const char *path, const c8_tensor *t);

#endif
