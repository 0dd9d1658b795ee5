/* The one .npy header parser: for the streaming dataset readers (a header in a file, an npz member or an LMDB
 * record: a "blob") and for whole files read into memory (c8_npy_parse in npy.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/dataset.h"

/* `file`: the element types whole .npy files load as (and are written as, the first one of a dtype). */
static const struct {
  const char *descr;
  c8_dtype dtype;
  bool file;
} descrs[] = {
    {"<f4", CALIB8_FLOAT, true}, {"<f8", CALIB8_DOUBLE, false}, {"<i8", CALIB8_INT64, true},
    {"<i4", CALIB8_INT32, true}, {"<i2", CALIB8_INT16, false},  {"<u2", CALIB8_UINT16, false},
    {"|i1", CALIB8_INT8, true},  {"|u1", CALIB8_UINT8, true},   {"<i1", CALIB8_INT8, true},
    {"<u1", CALIB8_UINT8, true}, {"|b1", CALIB8_BOOL, true},
};

const char *c8_npy_descr(c8_dtype dtype) {
  for (size_t i = 0; i < sizeof descrs / sizeof descrs[0]; i++)
    if (descrs[i].file && descrs[i].dtype == dtype) return descrs[i].descr;
  return NULL;
}

static c8_status header_len(const void *buf, size_t len, const char *what, c8_npy_kind kind, size_t *header_len) {
  const unsigned char *b = buf;
  if (len < 10 || memcmp(b, "\x93NUMPY", 6) != 0)
    return c8_error(CALIB8_INVALID_ARGUMENT, "%s is not a .npy %s: the magic string \\x93NUMPY is missing", what,
                    kind == C8_NPY_FILE ? "file" : "blob");
  if (b[6] == 1) {
    *header_len = 10 + ((size_t)b[8] | (size_t)b[9] << 8);
  } else if (b[6] == 2 || b[6] == 3) {
    if (len < 12) return c8_error(CALIB8_INVALID_ARGUMENT, "%s is truncated inside its .npy header", what);
    *header_len = 12 + ((size_t)b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 | (size_t)b[11] << 24);
  } else {
    return c8_error(CALIB8_UNSUPPORTED, "%s has .npy format version %d, only 1 to 3 are supported", what, b[6]);
  }
  /* the header holds at least a dict and its newline after the length field ("{}\n" in real files) */
  size_t prefix = b[6] == 1 ? 10 : 12;
  if (*header_len < prefix + 3)
    return c8_error(CALIB8_INVALID_ARGUMENT, "%s has a .npy header length of %zu bytes, too short to hold its dict",
                    what, *header_len - prefix);
  if (*header_len > 65536 + 12)
    return kind == C8_NPY_FILE ? c8_error(CALIB8_INVALID_ARGUMENT, "%s is truncated inside its .npy header", what)
                               : c8_error(CALIB8_INVALID_ARGUMENT, "%s has a .npy header longer than 64 KiB", what);
  return CALIB8_OK;
}

c8_status c8_npy_header_len(const void *buf, size_t len, const char *what, size_t *hl) {
  return header_len(buf, len, what, C8_NPY_BLOB, hl);
}

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

c8_status c8_npy_header_parse_kind(const void *buf, size_t len, const char *what, c8_npy_kind kind, c8_npy_header *h) {
  memset(h, 0, sizeof *h);
  size_t hl = 0;
  c8_status st = header_len(buf, len, what, kind, &hl);
  if (st) return st;
  if (hl > len) return c8_error(CALIB8_INVALID_ARGUMENT, "%s is truncated inside its .npy header", what);
  size_t start = ((const unsigned char *)buf)[6] == 1 ? 10 : 12;
  char *text = c8_malloc(hl - start + 1);
  if (!text) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory reading %s", what);
  memcpy(text, (const char *)buf + start, hl - start);
  text[hl - start] = 0;
  const char *d = find_key(text, "descr"), *fo = find_key(text, "fortran_order"), *sh = find_key(text, "shape");
  char descr[16] = {0};
  bool file = kind == C8_NPY_FILE;
  if (!d || !fo || !sh) {
    st = c8_error(CALIB8_INVALID_ARGUMENT, "%s has a malformed .npy header (needs descr, fortran_order and shape)", what);
    goto out;
  }
  if (*d != '\'' || sscanf(d + 1, "%15[^']", descr) != 1) {
    st = c8_error(CALIB8_INVALID_ARGUMENT, "%s has a malformed .npy header: bad descr", what);
    goto out;
  }
  for (size_t i = 0; i < sizeof descrs / sizeof descrs[0]; i++)
    if (!strcmp(descr, descrs[i].descr) && (descrs[i].file || !file)) h->dtype = descrs[i].dtype;
  if (!h->dtype) {
    st = c8_error(CALIB8_UNSUPPORTED, "%s has element type '%s'; supported: %s (little-endian)", what, descr,
                  file ? "float32, int64, int32, int8, uint8, bool"
                       : "float32, float64, int64, int32, int16, uint16, int8, uint8, bool");
    goto out;
  }
  if (!strncmp(fo, "True", 4)) {
    st = c8_error(CALIB8_UNSUPPORTED, "%s is in Fortran order; save it C-contiguous (np.ascontiguousarray)", what);
    goto out;
  }
  if (strncmp(fo, "False", 5) || *sh != '(') {
    /* whole files name the faulty entry */
    st = c8_error(CALIB8_INVALID_ARGUMENT, "%s has a malformed .npy header%s", what,
                  !file ? "" : strncmp(fo, "False", 5) ? ": bad fortran_order" : ": bad shape");
    goto out;
  }
  const char *p = sh + 1;
  int64_t numel = 1;
  for (;;) {
    while (*p == ' ' || *p == ',') p++;
    if (*p == ')') break;
    char *end;
    long long v = strtoll(p, &end, 10);
    if (end == p || v < 0 || h->rank >= C8_MAX_RANK) {
      st = c8_error(CALIB8_INVALID_ARGUMENT, "%s has a malformed .npy header: bad shape", what);
      goto out;
    }
    if (v > 0 && numel > (INT64_C(1) << 40) / v) {
      st = c8_error(CALIB8_INVALID_ARGUMENT, "%s declares a shape too large to load", what);
      goto out;
    }
    h->dims[h->rank++] = v;
    numel *= v;
    p = end;
  }
  h->data_offset = hl;
out:
  c8_mfree(text);
  return st;
}

c8_status c8_npy_header_parse(const void *buf, size_t len, const char *what, c8_npy_header *h) {
  return c8_npy_header_parse_kind(buf, len, what, C8_NPY_BLOB, h);
}
