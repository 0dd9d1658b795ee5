#include "data/npy.h"

#include "core/atomic-file.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data/dataset.h"
#include "load/model.h"

c8_status c8_npy_view(const void *bytes, size_t len, const char *what, c8_npy_kind kind, c8_tensor *t,
                      size_t *data_offset) {
  memset(t, 0, sizeof *t);
  c8_npy_header h;
  c8_status st = c8_npy_header_parse_kind(bytes, len, what, kind, &h); /* npy-header.c */
  if (st) return st;
  t->dtype = h.dtype;
  t->rank = h.rank;
  memcpy(t->dims, h.dims, sizeof h.dims);
  size_t nbytes = c8_nbytes(t);
  if (len - h.data_offset < nbytes)
    return c8_error(CALIB8_INVALID_ARGUMENT, "%s is truncated: its header declares %zu data bytes, %zu follow it",
                    what, nbytes, len - h.data_offset);
  *data_offset = h.data_offset;
  return CALIB8_OK;
}

c8_status c8_npy_parse(const void *bytes, size_t len, const char *what, c8_tensor *t) {
  size_t off;
  c8_status st = c8_npy_view(bytes, len, what, C8_NPY_FILE, t, &off);
  if (st) return st;
  size_t nbytes = c8_nbytes(t);
  t->data = c8_alloc(nbytes);
  if (!t->data) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory reading %s", what);
  memcpy(t->data, (const unsigned char *)bytes + off, nbytes);
  if (t->dtype == CALIB8_BOOL)
    for (size_t i = 0; i < nbytes; i++) ((uint8_t *)t->data)[i] = ((uint8_t *)t->data)[i] != 0;
  return CALIB8_OK;
}

c8_status c8_npy_read(const char *path, c8_tensor *t) {
  void *bytes;
  size_t len;
  c8_status st = c8_read_file(path, &bytes, &len);
  if (st) return st;
  char what[4200];
  snprintf(what, sizeof what, "'%s'", path);
  st = c8_npy_parse(bytes, len, what, t);
  c8_mfree(bytes);
  return st;
}

c8_status c8_npy_serialize(const c8_tensor *t, void **out_bytes, size_t *out_len) {
  const char *descr = c8_npy_descr(t->dtype);
  if (!descr) return c8_error(CALIB8_UNSUPPORTED, "cannot write %s tensors to .npy", calib8_dtype_name(t->dtype));
  char shape[256] = "";
  size_t n = 0;
  for (int i = 0; i < t->rank; i++)
    n += (size_t)snprintf(shape + n, sizeof shape - n, "%lld,%s", (long long)t->dims[i],
                          (t->rank > 1 && i < t->rank - 1) ? " " : "");
  if (t->rank > 1 && n > 0 && shape[n - 1] == ',') shape[--n] = 0; /* (2, 3) not (2, 3,) */
  char header[512];
  int hl = snprintf(header, sizeof header, "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }", descr, shape);
  size_t total_h = 10 + (size_t)hl + 1;
  size_t pad = (64 - total_h % 64) % 64;
  size_t hlen = (size_t)hl + pad + 1;
  size_t nbytes = c8_nbytes(t);
  unsigned char *buf = c8_malloc(10 + hlen + nbytes);
  if (!buf) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory writing .npy");
  memcpy(buf, "\x93NUMPY\x01\x00", 8);
  buf[8] = (unsigned char)(hlen & 0xff);
  buf[9] = (unsigned char)(hlen >> 8);
  memcpy(buf + 10, header, (size_t)hl);
  memset(buf + 10 + hl, ' ', pad);
  buf[10 + hlen - 1] = '\n';
  if (nbytes) memcpy(buf + 10 + hlen, t->data, nbytes);
  *out_bytes = buf;
  *out_len = 10 + hlen + nbytes;
  return CALIB8_OK;
}

c8_status c8_npy_write(const char *path, const c8_tensor *t) {
  void *bytes;
  size_t len;
  c8_status st = c8_npy_serialize(t, &bytes, &len);
  if (st) return st;
  st = c8_write_file_atomic(path, bytes, len);
  c8_mfree(bytes);
  return st;
}
