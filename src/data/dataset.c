/* Dataset streams: source detection, file lists, images, .npy files and TNN-style text files.
 * npz and LMDB live in dataset-npz.c and dataset-lmdb.c. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "data/dataset-impl.h"
#include "data/image.h"

/* ---- small helpers ------------------------------------------------------------------------------- */

static char *dupstr(const char *s) {
  size_t n = strlen(s) + 1;
  char *p = c8_malloc(n);
  if (p) memcpy(p, s, n);
  return p;
}

static char *join_path(const char *dir, const char *name) {
  if (name[0] == '/' || !dir || !dir[0] || !strcmp(dir, ".")) return dupstr(name);
  size_t n = strlen(dir) + strlen(name) + 2;
  char *p = c8_malloc(n);
  if (p) snprintf(p, n, "%s/%s", dir, name);
  return p;
}

static char *dir_of(const char *path) {
  const char *slash = strrchr(path, '/');
  if (!slash) return dupstr(".");
  if (slash == path) return dupstr("/");
  char *d = c8_malloc((size_t)(slash - path) + 1);
  if (d) {
    memcpy(d, path, (size_t)(slash - path));
    d[slash - path] = 0;
  }
  return d;
}

static bool has_ext(const char *name, const char *ext) {
  size_t n = strlen(name), e = strlen(ext);
  return n > e && !strcasecmp(name + n - e, ext);
}

static bool is_image_name(const char *name) {
  return has_ext(name, ".jpg") || has_ext(name, ".jpeg") || has_ext(name, ".png") || has_ext(name, ".bmp");
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void free_list(char **v, int64_t n) {
  if (!v) return;
  for (int64_t i = 0; i < n; i++) c8_mfree(v[i]);
  c8_mfree(v);
}

/* Sorted names of the regular, non-hidden files in `dir`. */
static c8_status list_dir(const char *dir, char ***out, int64_t *n_out) {
  DIR *d = opendir(dir);
  if (!d) return c8_error(CALIB8_IO, "cannot open dataset folder '%s': %s", dir, strerror(errno));
  char **v = NULL;
  int64_t n = 0, cap = 0;
  c8_status st = CALIB8_OK;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    char *full = join_path(dir, e->d_name);
    struct stat sb;
    bool reg = full && stat(full, &sb) == 0 && S_ISREG(sb.st_mode);
    c8_mfree(full);
    if (!reg) continue;
    if (n == cap) {
      cap = cap ? cap * 2 : 64;
      char **nv = c8_realloc(v, sizeof *v * (size_t)cap);
      if (!nv) goto oom;
      v = nv;
    }
    if (!(v[n] = dupstr(e->d_name))) goto oom;
    n++;
  }
  closedir(d);
  if (n) qsort(v, (size_t)n, sizeof *v, cmp_str);
  *out = v;
  *n_out = n;
  return st;
oom:
  closedir(d);
  free_list(v, n);
  return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory listing '%s'", dir);
}

/* Keeps the names accepted by `keep` and builds the full paths. */
static c8_status select_files(c8_dataset *ds, char **names, int64_t n, bool (*keep)(const char *)) {
  ds->paths = c8_calloc((size_t)(n ? n : 1), sizeof(char *));
  ds->names = c8_calloc((size_t)(n ? n : 1), sizeof(char *));
  if (!ds->paths || !ds->names) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory listing '%s'", ds->spec);
  for (int64_t i = 0; i < n; i++) {
    if (!keep(names[i])) continue;
    ds->names[ds->n_files] = dupstr(names[i]);
    ds->paths[ds->n_files] = join_path(ds->spec, names[i]);
    if (!ds->names[ds->n_files] || !ds->paths[ds->n_files]) {
      ds->n_files++;
      return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory listing '%s'", ds->spec);
    }
    ds->n_files++;
  }
  return CALIB8_OK;
}

static bool keep_image(const char *n) { return is_image_name(n); }
static bool keep_npy(const char *n) { return has_ext(n, ".npy"); }
static bool keep_txt(const char *n) { return has_ext(n, ".txt"); }

/* ---- element conversion and sample shapes -------------------------------------------------------- */

bool c8_convert_elems(c8_dtype dt, void *dst, c8_dtype st, const void *src, size_t n) {
  if (dt == st) {
    memcpy(dst, src, n * calib8_dtype_size(dt));
    return true;
  }
  if (dt != CALIB8_FLOAT) return false;
  float *d = dst;
  switch (st) {
    case CALIB8_DOUBLE: for (size_t i = 0; i < n; i++) d[i] = (float)((const double *)src)[i]; return true;
    case CALIB8_INT64: for (size_t i = 0; i < n; i++) d[i] = (float)((const int64_t *)src)[i]; return true;
    case CALIB8_INT32: for (size_t i = 0; i < n; i++) d[i] = (float)((const int32_t *)src)[i]; return true;
    case CALIB8_INT16: for (size_t i = 0; i < n; i++) d[i] = ((const int16_t *)src)[i]; return true;
    case CALIB8_UINT16: for (size_t i = 0; i < n; i++) d[i] = ((const uint16_t *)src)[i]; return true;
    case CALIB8_INT8: for (size_t i = 0; i < n; i++) d[i] = ((const int8_t *)src)[i]; return true;
    case CALIB8_UINT8:
    case CALIB8_BOOL: for (size_t i = 0; i < n; i++) d[i] = ((const uint8_t *)src)[i]; return true;
    default: return false;
  }
}

static const char *dims_str(int rank, const int64_t *dims, char *buf, size_t size) {
  c8_tensor t = {.rank = rank};
  for (int i = 0; i < rank && i < C8_MAX_RANK; i++) t.dims[i] = dims[i];
  c8_shape_str(&t, buf, size);
  for (char *p = buf; *p; p++) /* dynamic dimensions print as N */
    if (p[0] == '-' && p[1] == '1') {
      p[0] = 'N';
      memmove(p + 1, p + 2, strlen(p + 2) + 1);
    }
  return buf;
}

c8_status c8_ds_blob_items(c8_dataset *ds, int i, const c8_npy_header *h, const char *what, int64_t *items) {
  const calib8_value_info *in = &ds->in[i];
  if (in->rank < 0) { /* no declared shape: the blob is one sample as it is */
    *items = 1;
  } else {
    int r = in->rank;
    const int64_t *per = NULL;
    if (h->rank == r - 1) {
      per = h->dims;
      *items = 1;
    } else if (h->rank == r) {
      per = h->dims + 1;
      *items = h->dims[0];
    }
    bool ok = per != NULL;
    for (int d = 1; ok && d < r; d++)
      if (in->dims[d] >= 0 && per[d - 1] != in->dims[d]) ok = false;
    if (!ok) {
      char a[160], b[160], c[160];
      return c8_error(CALIB8_INVALID_ARGUMENT,
                      "%s has shape %s but model input '%s' is %s: a blob must be one sample %s or a batch [k,...]",
                      what, dims_str(h->rank, h->dims, a, sizeof a), in->name, dims_str(r, in->dims, b, sizeof b),
                      dims_str(r - 1, in->dims + 1, c, sizeof c));
    }
  }
  bool convertible = h->dtype == in->dtype || (in->dtype == CALIB8_FLOAT && h->dtype != CALIB8_STRING);
  if (!convertible)
    return c8_error(CALIB8_INVALID_ARGUMENT, "%s holds %s data but model input '%s' is %s (only float32 inputs convert)",
                    what, calib8_dtype_name(h->dtype), in->name, calib8_dtype_name(in->dtype));
  return CALIB8_OK;
}

/* Per-sample shape of blob h for input i, written as [1, ...] into t. */
static void sample_shape(const c8_dataset *ds, int i, const c8_npy_header *h, c8_tensor *t) {
  const calib8_value_info *in = &ds->in[i];
  if (in->rank < 0) {
    t->rank = h->rank;
    memcpy(t->dims, h->dims, sizeof t->dims);
    return;
  }
  const int64_t *per = h->rank == in->rank - 1 ? h->dims : h->dims + 1;
  t->rank = in->rank;
  t->dims[0] = 1;
  for (int d = 1; d < in->rank; d++) t->dims[d] = per[d - 1];
}

size_t c8_ds_sample_bytes(const c8_dataset *ds, int i, const c8_npy_header *h) {
  c8_tensor t = {.dtype = h->dtype};
  sample_shape(ds, i, h, &t);
  return c8_nbytes(&t);
}

static c8_status ensure_buf(c8_dataset *ds, int i, size_t bytes) {
  if (bytes <= ds->buf_cap[i] && ds->buf[i]) return CALIB8_OK;
  c8_free(ds->buf[i]);
  ds->buf[i] = c8_alloc(bytes ? bytes : 1);
  ds->buf_cap[i] = ds->buf[i] ? bytes : 0;
  if (!ds->buf[i]) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory reading dataset '%s'", ds->spec);
  return CALIB8_OK;
}

c8_status c8_ds_set_sample(c8_dataset *ds, int i, const c8_npy_header *h, const void *raw, const char *what) {
  c8_tensor *t = &ds->s.t[i];
  t->dtype = ds->in[i].dtype;
  sample_shape(ds, i, h, t);
  c8_status st = ensure_buf(ds, i, c8_nbytes(t));
  if (st) return st;
  t->data = ds->buf[i];
  if (!c8_convert_elems(t->dtype, t->data, h->dtype, raw, (size_t)c8_numel(t)))
    return c8_error(CALIB8_INVALID_ARGUMENT, "%s: cannot convert %s data to %s", what, calib8_dtype_name(h->dtype),
                    calib8_dtype_name(t->dtype));
  return CALIB8_OK;
}

static c8_status ensure_raw(c8_dataset *ds, size_t bytes) {
  if (bytes <= ds->raw_cap && ds->raw) return CALIB8_OK;
  void *p = c8_realloc(ds->raw, bytes ? bytes : 1);
  if (!p) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory reading dataset '%s'", ds->spec);
  ds->raw = p;
  ds->raw_cap = bytes;
  return CALIB8_OK;
}

/* ---- .npy files ---------------------------------------------------------------------------------- */

/* Opens a .npy file, parses its header and checks that the data is all there. Leaves the file
 * positioned at the data when f_out is not NULL. */
static c8_status npy_file_open(c8_dataset *ds, const char *path, c8_npy_header *h, int64_t *items, FILE **f_out) {
  char what[4200];
  snprintf(what, sizeof what, "'%s'", path);
  FILE *f = fopen(path, "rb");
  if (!f) return c8_error(CALIB8_IO, "cannot open '%s': %s", path, strerror(errno));
  unsigned char pre[C8_NPY_PREFIX];
  size_t got = fread(pre, 1, sizeof pre, f), hl;
  unsigned char *hb = NULL;
  c8_status st = c8_npy_header_len(pre, got, what, &hl);
  if (st) goto fail;
  hb = c8_malloc(hl);
  if (!hb) {
    st = c8_error(CALIB8_OUT_OF_MEMORY, "out of memory reading '%s'", path);
    goto fail;
  }
  if (fseek(f, 0, SEEK_SET) != 0 || fread(hb, 1, hl, f) != hl) {
    st = c8_error(CALIB8_INVALID_ARGUMENT, "%s is truncated inside its .npy header", what);
    goto fail;
  }
  if ((st = c8_npy_header_parse(hb, hl, what, h))) goto fail;
  if ((st = c8_ds_blob_items(ds, 0, h, what, items))) goto fail;
  struct stat sb;
  uint64_t need = (uint64_t)h->data_offset + (uint64_t)c8_ds_sample_bytes(ds, 0, h) * (uint64_t)*items;
  if (fstat(fileno(f), &sb) != 0 || (uint64_t)sb.st_size < need) {
    st = c8_error(CALIB8_INVALID_ARGUMENT, "%s is truncated: its header declares %llu bytes, the file has %llu", what,
                  (unsigned long long)need, (unsigned long long)sb.st_size);
    goto fail;
  }
  c8_mfree(hb);
  if (f_out) {
    if (fseek(f, (long)h->data_offset, SEEK_SET) != 0) {
      fclose(f);
      return c8_error(CALIB8_IO, "cannot seek in '%s': %s", path, strerror(errno));
    }
    *f_out = f;
  } else {
    fclose(f);
  }
  return CALIB8_OK;
fail:
  c8_mfree(hb);
  fclose(f);
  return st;
}

static c8_status npy_next(c8_dataset *ds) {
  c8_status st;
  while (ds->blob_item >= ds->blob_items) { /* next file */
    if (ds->f) fclose(ds->f);
    ds->f = NULL;
    if (ds->file_i >= ds->n_files) return CALIB8_OK;
    ds->record++;
    if ((st = npy_file_open(ds, ds->paths[ds->file_i++], &ds->hdr[0], &ds->blob_items, &ds->f))) return st;
    ds->blob_item = 0;
  }
  const char *path = ds->paths[ds->file_i - 1];
  size_t bytes = c8_ds_sample_bytes(ds, 0, &ds->hdr[0]);
  if ((st = ensure_raw(ds, bytes))) return st;
  if (fread(ds->raw, 1, bytes, ds->f) != bytes)
    return c8_error(CALIB8_IO, "cannot read sample %lld of '%s': the file ended early or changed",
                    (long long)ds->blob_item, path);
  if (ds->blob_items == 1 && ds->hdr[0].rank != ds->in[0].rank)
    snprintf(ds->source, sizeof ds->source, "'%s'", path);
  else
    snprintf(ds->source, sizeof ds->source, "'%s' sample %lld", path, (long long)ds->blob_item);
  ds->s.name = ds->blob_items == 1 ? ds->names[ds->file_i - 1] : NULL;
  return c8_ds_set_sample(ds, 0, &ds->hdr[0], ds->raw, ds->source);
}

/* ---- TNN-style text: one float per line ---------------------------------------------------------- */

static c8_status txt_count(c8_dataset *ds, const char *path, int64_t *items) {
  const calib8_value_info *in = &ds->in[0];
  int64_t per = 1;
  if (in->rank < 1)
    return c8_error(CALIB8_INVALID_ARGUMENT, "text data '%s' needs model input '%s' to declare its shape", path, in->name);
  for (int d = 1; d < in->rank; d++) {
    if (in->dims[d] < 0)
      return c8_error(CALIB8_INVALID_ARGUMENT,
                      "text data '%s' has no shape, so model input '%s' needs fixed dimensions after the batch", path,
                      in->name);
    per *= in->dims[d];
  }
  if (in->dtype != CALIB8_FLOAT)
    return c8_error(CALIB8_INVALID_ARGUMENT, "text data '%s' holds floats but model input '%s' is %s", path, in->name,
                    calib8_dtype_name(in->dtype));
  FILE *f = fopen(path, "r");
  if (!f) return c8_error(CALIB8_IO, "cannot open '%s': %s", path, strerror(errno));
  int64_t n = 0;
  ssize_t len;
  while ((len = getline(&ds->line, &ds->line_cap, f)) >= 0) {
    char *p = ds->line;
    while (*p && isspace((unsigned char)*p)) p++;
    if (*p) n++;
  }
  fclose(f);
  if (per == 0 || n % per != 0)
    return c8_error(CALIB8_INVALID_ARGUMENT, "text data '%s' has %lld values, not a multiple of %lld (one sample of "
                    "model input '%s')", path, (long long)n, (long long)per, in->name);
  *items = n / per;
  return CALIB8_OK;
}

static c8_status txt_next(c8_dataset *ds) {
  c8_status st;
  while (ds->blob_item >= ds->blob_items) {
    if (ds->f) fclose(ds->f);
    ds->f = NULL;
    if (ds->file_i >= ds->n_files) return CALIB8_OK;
    const char *path = ds->paths[ds->file_i++];
    ds->record++;
    if ((st = txt_count(ds, path, &ds->blob_items))) return st;
    if (!(ds->f = fopen(path, "r"))) return c8_error(CALIB8_IO, "cannot open '%s': %s", path, strerror(errno));
    ds->blob_item = 0;
    ds->line_no = 0;
  }
  const char *path = ds->paths[ds->file_i - 1];
  c8_npy_header h = {.dtype = CALIB8_FLOAT, .rank = ds->in[0].rank - 1};
  memcpy(h.dims, ds->in[0].dims + 1, sizeof(int64_t) * (size_t)h.rank);
  size_t n = c8_ds_sample_bytes(ds, 0, &h) / sizeof(float);
  if ((st = ensure_raw(ds, n * sizeof(float)))) return st;
  float *v = ds->raw;
  for (size_t i = 0; i < n;) {
    if (getline(&ds->line, &ds->line_cap, ds->f) < 0)
      return c8_error(CALIB8_IO, "text data '%s' ended early (it changed while being read)", path);
    ds->line_no++;
    char *p = ds->line, *end;
    while (*p && isspace((unsigned char)*p)) p++;
    if (!*p) continue;
    errno = 0;
    double x = strtod(p, &end);
    while (*end && isspace((unsigned char)*end)) end++;
    if (end == p || *end || !isfinite(x) || fabs(x) > 3.4e38) {
      int n = (int)strlen(p);
      while (n > 0 && isspace((unsigned char)p[n - 1])) n--;
      return c8_error(CALIB8_INVALID_ARGUMENT, "text data '%s' line %lld is not a finite number: '%.*s'", path,
                      (long long)ds->line_no, n > 40 ? 40 : n, p);
    }
    v[i++] = (float)x;
  }
  if (ds->blob_items == 1)
    snprintf(ds->source, sizeof ds->source, "'%s'", path);
  else
    snprintf(ds->source, sizeof ds->source, "'%s' sample %lld", path, (long long)ds->blob_item);
  ds->s.name = ds->blob_items == 1 ? ds->names[ds->file_i - 1] : NULL;
  return c8_ds_set_sample(ds, 0, &h, v, ds->source);
}

/* ---- images -------------------------------------------------------------------------------------- */

static c8_status images_next(c8_dataset *ds) {
  if (ds->file_i >= ds->n_files) return CALIB8_OK;
  const char *path = ds->paths[ds->file_i];
  ds->s.name = ds->names[ds->file_i];
  ds->file_i++;
  ds->record++;
  ds->blob_items = 1;
  ds->blob_item = 0;
  snprintf(ds->source, sizeof ds->source, "'%s'", path);
  c8_image img;
  c8_status st = c8_image_load(path, &img);
  if (st) return st;
  const float *px;
  st = c8_preprocess_image(&ds->pp, &ds->tgt, &img, ds->source, &ds->work, &px, &ds->s.geom);
  c8_image_free(&img);
  if (st) return st;
  ds->s.has_geom = true;
  c8_tensor *t = &ds->s.t[0];
  t->dtype = ds->in[0].dtype;
  t->rank = 4;
  t->dims[0] = 1;
  int64_t h = ds->s.geom.out_h, w = ds->s.geom.out_w, c = ds->tgt.c;
  if (ds->tgt.layout == C8_LAYOUT_NCHW) {
    t->dims[1] = c, t->dims[2] = h, t->dims[3] = w;
  } else {
    t->dims[1] = h, t->dims[2] = w, t->dims[3] = c;
  }
  if ((st = ensure_buf(ds, 0, c8_nbytes(t)))) return st;
  t->data = ds->buf[0];
  size_t n = (size_t)c8_numel(t);
  if (t->dtype == CALIB8_FLOAT) {
    memcpy(t->data, px, n * sizeof(float));
  } else { /* uint8 input: round half to even and saturate */
    uint8_t *d = t->data;
    for (size_t i = 0; i < n; i++) {
      float v = nearbyintf(px[i]);
      d[i] = v <= 0.0f ? 0 : v >= 255.0f ? 255 : (uint8_t)v;
    }
  }
  return CALIB8_OK;
}

/* One path per line, relative to the list's folder. A trailing integer field ("path 3", Caffe's list
 * format) is dropped when the whole line is not itself an existing file. */
static c8_status read_list(c8_dataset *ds) {
  FILE *f = fopen(ds->spec, "r");
  if (!f) return c8_error(CALIB8_IO, "cannot open list file '%s': %s", ds->spec, strerror(errno));
  int64_t cap = 0;
  c8_status st = CALIB8_OK;
  ssize_t len;
  while ((len = getline(&ds->line, &ds->line_cap, f)) >= 0) {
    char *b = ds->line, *e = ds->line + len;
    while (b < e && isspace((unsigned char)*b)) b++;
    while (e > b && isspace((unsigned char)e[-1])) e--;
    *e = 0;
    if (!*b || *b == '#') continue;
    char *full = join_path(ds->dir, b);
    if (!full) goto oom;
    struct stat sb;
    if (stat(full, &sb) != 0) {
      char *sp = e;
      while (sp > b && !isspace((unsigned char)sp[-1])) sp--;
      char *endp;
      if (sp > b && (strtol(sp, &endp, 10), *endp == 0 && endp != sp)) {
        while (sp > b && isspace((unsigned char)sp[-1])) sp--;
        *sp = 0;
        c8_mfree(full);
        if (!(full = join_path(ds->dir, b))) goto oom;
      }
    }
    if (ds->n_files == cap) {
      cap = cap ? cap * 2 : 64;
      char **np = c8_realloc(ds->paths, sizeof(char *) * (size_t)cap), **nn;
      if (np) ds->paths = np;
      nn = np ? c8_realloc(ds->names, sizeof(char *) * (size_t)cap) : NULL;
      if (nn) ds->names = nn;
      if (!np || !nn) {
        c8_mfree(full);
        goto oom;
      }
    }
    ds->paths[ds->n_files] = full;
    ds->names[ds->n_files] = dupstr(b);
    ds->n_files++;
    if (!ds->names[ds->n_files - 1]) goto oom;
  }
  fclose(f);
  return st;
oom:
  fclose(f);
  return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory reading list file '%s'", ds->spec);
}

/* ---- detection and open -------------------------------------------------------------------------- */

const char *c8_dataset_kind_name(c8_dataset_kind k) {
  switch (k) {
    case C8_DS_IMAGES: return "images";
    case C8_DS_NPY: return "npy";
    case C8_DS_NPZ: return "npz";
    case C8_DS_LMDB: return "lmdb";
    case C8_DS_TXT: return "txt";
  }
  return "unknown";
}

enum { SRC_AUTO, SRC_IMAGES, SRC_LIST, SRC_NPY, SRC_NPZ, SRC_LMDB, SRC_TXT };

/* Is the first non-blank line of a text file a number (TNN data) rather than a path (list file)? */
static c8_status first_line_is_number(c8_dataset *ds, bool *yes) {
  FILE *f = fopen(ds->spec, "r");
  if (!f) return c8_error(CALIB8_IO, "cannot open '%s': %s", ds->spec, strerror(errno));
  *yes = false;
  while (getline(&ds->line, &ds->line_cap, f) >= 0) {
    char *p = ds->line, *end;
    while (*p && isspace((unsigned char)*p)) p++;
    if (!*p) continue;
    strtod(p, &end);
    while (*end && isspace((unsigned char)*end)) end++;
    *yes = end != p && !*end;
    break;
  }
  fclose(f);
  return CALIB8_OK;
}

static c8_status open_images(c8_dataset *ds, const c8_preprocess *pp) {
  if (ds->n_inputs != 1)
    return c8_error(CALIB8_INVALID_ARGUMENT,
                    "images feed one model input, but the model has %d; use an .npz file with one entry per input",
                    ds->n_inputs);
  ds->kind = C8_DS_IMAGES;
  if (pp) {
    ds->pp = *pp;
    ds->has_pp = true;
  }
  c8_status st = c8_preprocess_target(&ds->pp, &ds->in[0], &ds->tgt);
  if (st) return st;
  if (ds->n_files == 0) return c8_error(CALIB8_INVALID_ARGUMENT, "dataset '%s' contains no images", ds->spec);
  ds->count = ds->n_records = ds->n_files;
  return CALIB8_OK;
}

static c8_status open_npy_files(c8_dataset *ds) {
  ds->kind = C8_DS_NPY;
  if (ds->n_inputs != 1)
    return c8_error(CALIB8_INVALID_ARGUMENT,
                    ".npy files feed one model input, but the model has %d; use an .npz file with one entry per input",
                    ds->n_inputs);
  ds->count = 0;
  for (int64_t i = 0; i < ds->n_files; i++) { /* headers only: checks shapes and sizes, counts samples */
    c8_npy_header h;
    int64_t k;
    c8_status st = npy_file_open(ds, ds->paths[i], &h, &k, NULL);
    if (st) return st;
    ds->count += k;
  }
  ds->n_records = ds->n_files;
  if (ds->count == 0) return c8_error(CALIB8_INVALID_ARGUMENT, "dataset '%s' contains no samples", ds->spec);
  return CALIB8_OK;
}

static c8_status open_txt_files(c8_dataset *ds) {
  ds->kind = C8_DS_TXT;
  if (ds->n_inputs != 1)
    return c8_error(CALIB8_INVALID_ARGUMENT, "text data feeds one model input, but the model has %d", ds->n_inputs);
  ds->count = 0;
  for (int64_t i = 0; i < ds->n_files; i++) {
    int64_t k;
    c8_status st = txt_count(ds, ds->paths[i], &k);
    if (st) return st;
    ds->count += k;
  }
  ds->n_records = ds->n_files;
  if (ds->count == 0) return c8_error(CALIB8_INVALID_ARGUMENT, "dataset '%s' contains no samples", ds->spec);
  return CALIB8_OK;
}

static c8_status single_file(c8_dataset *ds) {
  ds->paths = c8_calloc(1, sizeof(char *));
  ds->names = c8_calloc(1, sizeof(char *));
  if (!ds->paths || !ds->names || !(ds->paths[0] = dupstr(ds->spec)))
    return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory opening '%s'", ds->spec);
  const char *slash = strrchr(ds->spec, '/');
  if (!(ds->names[0] = dupstr(slash ? slash + 1 : ds->spec)))
    return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory opening '%s'", ds->spec);
  ds->n_files = 1;
  return CALIB8_OK;
}

static c8_status open_folder(c8_dataset *ds, int kind, const c8_preprocess *pp) {
  char *mdb = join_path(ds->spec, "data.mdb");
  if (!mdb) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory opening '%s'", ds->spec);
  struct stat sb;
  bool has_mdb = stat(mdb, &sb) == 0;
  c8_mfree(mdb);
  if (kind == SRC_LMDB || (kind == SRC_AUTO && has_mdb)) return c8_ds_lmdb_open(ds, false);
  char **names = NULL;
  int64_t n = 0;
  c8_status st = list_dir(ds->spec, &names, &n);
  if (st) return st;
  int64_t n_img = 0, n_npy = 0, n_txt = 0;
  for (int64_t i = 0; i < n; i++) {
    n_img += is_image_name(names[i]);
    n_npy += has_ext(names[i], ".npy");
    n_txt += has_ext(names[i], ".txt");
  }
  if (kind == SRC_AUTO) {
    if (n_npy && n_img) {
      st = c8_error(CALIB8_INVALID_ARGUMENT,
                    "dataset folder '%s' holds both images (%lld) and .npy files (%lld); prefix the path with images: "
                    "or npy: to choose",
                    ds->spec, (long long)n_img, (long long)n_npy);
      goto out;
    }
    kind = n_npy ? SRC_NPY : n_img ? SRC_IMAGES : n_txt ? SRC_TXT : SRC_IMAGES;
  }
  if (kind == SRC_NPY) {
    if (!(st = select_files(ds, names, n, keep_npy))) st = open_npy_files(ds);
  } else if (kind == SRC_TXT) {
    if (!(st = select_files(ds, names, n, keep_txt))) st = open_txt_files(ds);
  } else if (kind == SRC_IMAGES) {
    if (!(st = select_files(ds, names, n, keep_image))) st = open_images(ds, pp);
  } else {
    st = c8_error(CALIB8_INVALID_ARGUMENT, "dataset '%s' is a folder; a list or .npz source must be a file", ds->spec);
  }
out:
  free_list(names, n);
  return st;
}

static c8_status open_file(c8_dataset *ds, int kind, const c8_preprocess *pp) {
  if (kind == SRC_AUTO) {
    unsigned char head[12] = {0};
    FILE *f = fopen(ds->spec, "rb");
    if (!f) return c8_error(CALIB8_IO, "cannot open dataset '%s': %s", ds->spec, strerror(errno));
    size_t got = fread(head, 1, sizeof head, f);
    fclose(f);
    if (got == 0) return c8_error(CALIB8_INVALID_ARGUMENT, "dataset '%s' is an empty file", ds->spec);
    if (got >= 6 && !memcmp(head, "\x93NUMPY", 6))
      kind = SRC_NPY;
    else if (got >= 4 && (!memcmp(head, "PK\x03\x04", 4) || !memcmp(head, "PK\x05\x06", 4)))
      kind = SRC_NPZ;
    else if (c8_image_sniff(head, got) != C8_IMAGE_UNKNOWN)
      kind = SRC_IMAGES;
    else if (has_ext(ds->spec, ".mdb"))
      kind = SRC_LMDB;
    else if (has_ext(ds->spec, ".npz") || has_ext(ds->spec, ".npy") || has_ext(ds->spec, ".zip"))
      /* named as tensors but without their magic: say so, rather than read the bytes as a list of images */
      return c8_error(CALIB8_INVALID_ARGUMENT, "dataset '%s' is not a valid %s file: it does not start with the %s",
                      ds->spec, has_ext(ds->spec, ".npy") ? ".npy" : ".npz (zip)",
                      has_ext(ds->spec, ".npy") ? "\\x93NUMPY magic string" : "zip signature PK\\3\\4");
    else {
      bool num;
      c8_status st = first_line_is_number(ds, &num);
      if (st) return st;
      kind = num ? SRC_TXT : SRC_LIST;
    }
  }
  c8_status st;
  switch (kind) {
    case SRC_NPY: return (st = single_file(ds)) ? st : open_npy_files(ds);
    case SRC_TXT: return (st = single_file(ds)) ? st : open_txt_files(ds);
    case SRC_IMAGES: return (st = single_file(ds)) ? st : open_images(ds, pp);
    case SRC_LIST: return (st = read_list(ds)) ? st : open_images(ds, pp);
    case SRC_NPZ: return c8_ds_npz_open(ds);
    default: return c8_ds_lmdb_open(ds, true);
  }
}

c8_status c8_dataset_open(const char *spec, int n_inputs, const calib8_value_info *inputs, const c8_preprocess *pp,
                          c8_dataset **out) {
  static const struct {
    const char *prefix;
    int kind;
  } prefixes[] = {{"images:", SRC_IMAGES}, {"list:", SRC_LIST}, {"npy:", SRC_NPY},
                  {"npz:", SRC_NPZ},       {"lmdb:", SRC_LMDB}, {"txt:", SRC_TXT}};
  if (n_inputs < 1 || n_inputs > C8_DATASET_MAX_INPUTS)
    return c8_error(CALIB8_INVALID_ARGUMENT, "dataset '%s': the model has %d inputs; calib8 feeds 1 to %d", spec,
                    n_inputs, C8_DATASET_MAX_INPUTS);
  int kind = SRC_AUTO;
  for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
    if (!strncmp(spec, prefixes[i].prefix, strlen(prefixes[i].prefix))) {
      kind = prefixes[i].kind;
      spec += strlen(prefixes[i].prefix);
    }
  c8_dataset *ds = c8_calloc(1, sizeof *ds);
  if (!ds) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory opening dataset '%s'", spec);
  c8_status st = CALIB8_OK;
  ds->record = -1;
  ds->count = -1;
  ds->n_inputs = n_inputs;
  for (int i = 0; i < n_inputs; i++) {
    ds->in[i] = inputs[i];
    memset(ds->in[i].dim_names, 0, sizeof ds->in[i].dim_names);
    ds->in_names[i] = dupstr(inputs[i].name ? inputs[i].name : "");
    if (!ds->in_names[i]) {
      st = c8_error(CALIB8_OUT_OF_MEMORY, "out of memory opening dataset '%s'", spec);
      goto fail;
    }
    ds->in[i].name = ds->in_names[i];
    if (ds->in[i].rank == 0) {
      st = c8_error(CALIB8_INVALID_ARGUMENT, "model input '%s' is a scalar; datasets need a batch dimension",
                    ds->in[i].name);
      goto fail;
    }
  }
  ds->s.n = n_inputs;
  ds->s.source = ds->source;
  ds->spec = dupstr(spec);
  if (!ds->spec) {
    st = c8_error(CALIB8_OUT_OF_MEMORY, "out of memory opening dataset '%s'", spec);
    goto fail;
  }
  struct stat sb;
  if (stat(spec, &sb) != 0) {
    st = c8_error(CALIB8_IO, "dataset '%s' does not exist or cannot be read: %s", spec, strerror(errno));
    goto fail;
  }
  ds->dir = S_ISDIR(sb.st_mode) ? dupstr(spec) : dir_of(spec);
  if (!ds->dir) {
    st = c8_error(CALIB8_OUT_OF_MEMORY, "out of memory opening dataset '%s'", spec);
    goto fail;
  }
  if (pp && kind != SRC_AUTO && kind != SRC_IMAGES && kind != SRC_LIST) {
    st = c8_error(CALIB8_INVALID_ARGUMENT, "preprocessing applies to images; dataset '%s' holds tensors", spec);
    goto fail;
  }
  st = S_ISDIR(sb.st_mode) ? open_folder(ds, kind, pp) : open_file(ds, kind, pp);
  if (st) goto fail;
  if (pp && ds->kind != C8_DS_IMAGES) {
    st = c8_error(CALIB8_INVALID_ARGUMENT,
                  "preprocessing applies to images; dataset '%s' holds %s tensors that are used as they are", spec,
                  c8_dataset_kind_name(ds->kind));
    goto fail;
  }
  *out = ds;
  return CALIB8_OK;
fail:
  c8_dataset_close(ds);
  return st;
}

c8_status c8_dataset_next(c8_dataset *ds, const c8_sample **out) {
  *out = NULL;
  int64_t before = ds->record;
  ds->s.has_geom = false;
  ds->s.name = NULL;
  c8_status st;
  switch (ds->kind) {
    case C8_DS_IMAGES: st = images_next(ds); break;
    case C8_DS_NPY: st = npy_next(ds); break;
    case C8_DS_TXT: st = txt_next(ds); break;
    case C8_DS_NPZ: st = c8_ds_npz_next(ds); break;
    case C8_DS_LMDB: st = c8_ds_lmdb_next(ds); break;
    default: return c8_error(CALIB8_INTERNAL, "dataset '%s' is not open", ds->spec);
  }
  if (st) return st;
  bool ended = ds->kind == C8_DS_IMAGES ? ds->record == before : ds->blob_item >= ds->blob_items;
  if (ended) {
    if (ds->index == 0) return c8_error(CALIB8_INVALID_ARGUMENT, "dataset '%s' contains no samples", ds->spec);
    return CALIB8_OK;
  }
  ds->s.index = ds->index++;
  ds->s.record = ds->record;
  ds->s.item = ds->blob_item++;
  ds->s.record_items = ds->blob_items;
  *out = &ds->s;
  return CALIB8_OK;
}

int64_t c8_dataset_count(const c8_dataset *ds) { return ds->count; }
int64_t c8_dataset_record_count(const c8_dataset *ds) { return ds->n_records; }
c8_dataset_kind c8_dataset_kind_of(const c8_dataset *ds) { return ds->kind; }
const char *c8_dataset_dir(const c8_dataset *ds) { return ds->dir; }
const char *c8_dataset_spec(const c8_dataset *ds) { return ds->spec; }

void c8_dataset_close(c8_dataset *ds) {
  if (!ds) return;
  c8_ds_npz_close(ds);
  c8_ds_lmdb_close(ds);
  if (ds->f) fclose(ds->f);
  free_list(ds->paths, ds->n_files);
  free_list(ds->names, ds->n_files);
  for (int i = 0; i < C8_DATASET_MAX_INPUTS; i++) {
    c8_mfree(ds->in_names[i]);
    c8_free(ds->buf[i]);
  }
  c8_pp_work_free(&ds->work);
  c8_mfree(ds->raw);
  free(ds->line); /* getline allocates with the C library */
  c8_mfree(ds->spec);
  c8_mfree(ds->dir);
  c8_mfree(ds);
}
