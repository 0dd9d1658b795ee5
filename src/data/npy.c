#include "data/npy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "load/model.h"

static const struct {
  const char *descr;
  c8_dtype dtype;
} descrs[] = {
    {"<f4", CALIB8_FLOAT}, {"<i8", CALIB8_INT64}, {"<i4", CALIB8_INT32}, {"|i1", CALIB8_INT8},
    {"|u1", CALIB8_UINT8}, {"|b1", CALIB8_BOOL},  {"<i1", CALIB8_INT8},  {"<u1", CALIB8_UINT8},
};

/* Finds 'key': in the header dict and returns a pointer just after the colon. */
static const char *find_key(const char *h, const char *key) {
  char pat[32];
  snprintf(pat, sizeof pat, "'%s'", key);
  const char *p = strstr(h, pat);
  if (!p) return NULL;
  p = strchr(p + strlen(pat), ':');
  if (!p) return NULL;
  p++;
  while (*p == ' ') p++;
  return p;
}

c8_status c8_npy_parse(const void *bytes, size_t len, const char *what, c8_tensor *t) {
  const unsigned char *b = bytes;
  memset(t, 0, sizeof *t);
  if (len < 10 || memcmp(b, "\x93NUMPY", 6) != 0)
    return c8_error(CALIB8_INVALID_ARGUMENT, "%s is not a .npy file: the magic string \\x93NUMPY is missing", what);
  int major = b[6];
  size_t hlen, hstart;
  if (major == 1) {
    hlen = (size_t)b[8] | (size_t)b[9] << 8;
    hstart = 10;
  } else if (major == 2 || major == 3) {
    if (len < 12) return c8_error(CALIB8_INVALID_ARGUMENT, "%s is truncated inside its .npy header", what);
    hlen = (size_t)b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 | (size_t)b[11] << 24;
    hstart = 12;
  } else {
    return c8_error(CALIB8_UNSUPPORTED, "%s has .npy format version %d, only 1 to 3 are supported", what, major);
  }
  if (hstart + hlen > len || hlen > 65536)
    return c8_error(CALIB8_INVALID_ARGUMENT, "%s is truncated inside its .npy header", what);
  char h[65537];
  memcpy(h, b + hstart, hlen);
  h[hlen] = 0;
  const char *d = find_key(h, "descr"), *fo = find_key(h, "fortran_order"), *sh = find_key(h, "shape");
  if (!d || !fo || !sh)
    return c8_error(CALIB8_INVALID_ARGUMENT, "%s has a malformed .npy header (needs descr, fortran_order and shape)", what);
  char descr[16] = {0};
  if (*d != '\'' || sscanf(d + 1, "%15[^']", descr) != 1)
    return c8_error(CALIB8_INVALID_ARGUMENT, "%s has a malformed .npy header: bad descr", what);
  t->dtype = CALIB8_UNDEFINED;
  for (size_t i = 0; i < sizeof descrs / sizeof descrs[0]; i++)
    if (strcmp(descr, descrs[i].descr) == 0) t->dtype = descrs[i].dtype;
  if (t->dtype == CALIB8_UNDEFINED)
    return c8_error(CALIB8_UNSUPPORTED,
                    "%s has element type '%s'; supported: float32, int64, int32, int8, uint8, bool (little-endian)",
                    what, descr);
  if (strncmp(fo, "True", 4) == 0)
    return c8_error(CALIB8_UNSUPPORTED, "%s is in Fortran order; save it C-contiguous (np.ascontiguousarray)", what);
  if (strncmp(fo, "False", 5) != 0)
    return c8_error(CALIB8_INVALID_ARGUMENT, "%s has a malformed .npy header: bad fortran_order", what);
  if (*sh != '(') return c8_error(CALIB8_INVALID_ARGUMENT, "%s has a malformed .npy header: bad shape", what);
  const char *p = sh + 1;
  int64_t numel = 1;
  for (;;) {
    while (*p == ' ' || *p == ',') p++;
    if (*p == ')') break;
    char *end;
    long long v = strtoll(p, &end, 10);
    if (end == p || v < 0 || t->rank >= C8_MAX_RANK)
      return c8_error(CALIB8_INVALID_ARGUMENT, "%s has a malformed .npy header: bad shape", what);
    if (v > 0 && numel > (INT64_C(1) << 40) / v)
      return c8_error(CALIB8_INVALID_ARGUMENT, "%s declares a shape too large to load", what);
    t->dims[t->rank++] = v;
    numel *= v;
    p = end;
  }
  size_t nbytes = (size_t)numel * calib8_dtype_size(t->dtype);
  if (len - hstart - hlen < nbytes)
    return c8_error(CALIB8_INVALID_ARGUMENT, "%s is truncated: its header declares %zu data bytes, the file has %zu",
                    what, nbytes, len - hstart - hlen);
  t->data = c8_alloc(nbytes);
  if (!t->data) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory reading %s", what);
  memcpy(t->data, b + hstart + hlen, nbytes);
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
  free(bytes);
  return st;
}

c8_status c8_npy_serialize(const c8_tensor *t, void **out_bytes, size_t *out_len) {
  const char *descr = NULL;
  for (size_t i = 0; i < sizeof descrs / sizeof descrs[0] && !descr; i++)
    if (descrs[i].dtype == t->dtype) descr = descrs[i].descr;
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
  unsigned char *buf = malloc(10 + hlen + nbytes);
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

c8_status c8_write_file_atomic(const char *path, const void *bytes, size_t len) {
  size_t pl = strlen(path);
  char *tmp = malloc(pl + 32);
  if (!tmp) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory writing '%s'", path);
  snprintf(tmp, pl + 32, "%s.tmp.%ld", path, (long)getpid());
  FILE *f = fopen(tmp, "wb");
  if (!f) {
    c8_status st = c8_error(CALIB8_IO, "cannot write '%s': %s", path, strerror(errno));
    free(tmp);
    return st;
  }
  bool ok = fwrite(bytes, 1, len, f) == len;
  ok = (fflush(f) == 0) && ok;
  ok = (fclose(f) == 0) && ok;
  if (!ok || rename(tmp, path) != 0) {
    c8_status st = c8_error(CALIB8_IO, "cannot write '%s': %s", path, strerror(errno ? errno : EIO));
    unlink(tmp);
    free(tmp);
    return st;
  }
  free(tmp);
  return CALIB8_OK;
}

c8_status c8_npy_write(const char *path, const c8_tensor *t) {
  void *bytes;
  size_t len;
  c8_status st = c8_npy_serialize(t, &bytes, &len);
  if (st) return st;
  st = c8_write_file_atomic(path, bytes, len);
  free(bytes);
  return st;
}
