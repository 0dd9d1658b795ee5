/* Two .npz tensor dumps compared tensor by tensor as TPU-MLIR's `npz_tool.py compare TARGET REF` does
 * (python/numpy_helper/npz_compare.py and tensor_compare.py in sophgo/tpu-mlir), rewritten from its rules:
 *   - names: the reference's entries in its order, then names only in the target; `excepts` are skipped;
 *   - shapes: the reference is read in the target's shape when the sizes agree; of two shapes of the same rank
 *     where one is at least the other in every dimension, the larger is cropped to the smaller; else NOT_MATCH;
 *   - types: an int8 tensor on either side makes both int8 (compared for equality only: EQUAL or NOT_EQUAL),
 *     else an int32 one makes both int32, else both are float32; uint16 entries are bfloat16;
 *   - EQUAL when every element is equal; CLOSE when allclose(rtol 1e-3, atol 1e-8, NaN equal to NaN) holds
 *     (the order reported is the largest k in 5..3 with rtol 1e-k); else NaNs become 0 and
 *       cosine    = sum(t r) / sqrt(sum(t^2) sum(r^2))
 *       euclidean = 1 - ||t - r|| / ||(t + r) / 2||       (0 when either norm is infinite)
 *       SQNR (dB) = 10 log10(var(t) / var(t - r)) over the elements where t != 0 (reported only)
 *     and the tensor is SIMILAR when cosine > COS and euclidean > EUCLID (strictly), else NOT_SIMILAR.
 * The arithmetic is in double over the float32 (or int) values. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zip.h>

#include "calib8/evaluate.h"
#include "core/alloc.h"
#include "core/status.h"
#include "core/tensor.h"
#include "data/dataset.h"
#include "data/npy.h"

typedef struct npz_entry {
  char *name;     /* without ".npy" */
  c8_tensor t;    /* as stored; uint16 = bfloat16 */
} npz_entry;

typedef struct npz_file {
  npz_entry *e;
  int n;
} npz_file;

struct calib8_npz_compare {
  npz_file f[2];            /* target, reference */
  calib8_npz_row *rows;
  int n_rows;
  char *paths[2];
  double cos_tol, euc_tol;
};

static void file_free(npz_file *f) {
  for (int i = 0; i < f->n; i++) {
    c8_mfree(f->e[i].name);
    c8_free(f->e[i].t.data);
  }
  c8_mfree(f->e);
  memset(f, 0, sizeof *f);
}

static char *dupstr(const char *s) {
  size_t n = strlen(s) + 1;
  char *p = c8_malloc(n);
  if (p) memcpy(p, s, n);
  return p;
}

static c8_status read_entry(zip_t *z, zip_int64_t idx, const char *path, const char *ename, c8_tensor *t) {
  char what[4400];
  snprintf(what, sizeof what, "'%s' entry '%s'", path, ename);
  zip_stat_t zs;
  if (zip_stat_index(z, (zip_uint64_t)idx, 0, &zs) != 0 || !(zs.valid & ZIP_STAT_SIZE))
    return c8_error(CALIB8_INVALID_ARGUMENT, "cannot read %s: %s", what, zip_strerror(z));
  if (zs.size > ((zip_uint64_t)1 << 40)) return c8_error(CALIB8_INVALID_ARGUMENT, "%s is too large to load", what);
  unsigned char *buf = c8_malloc(zs.size ? (size_t)zs.size : 1);
  if (!buf) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory reading %s", what);
  c8_status st = CALIB8_OK;
  zip_file_t *zf = zip_fopen_index(z, (zip_uint64_t)idx, 0);
  if (!zf) {
    st = c8_error(CALIB8_INVALID_ARGUMENT, "cannot open %s: %s", what, zip_strerror(z));
    goto out;
  }
  zip_int64_t got = zip_fread(zf, buf, zs.size);
  if (got < 0 || (zip_uint64_t)got != zs.size) {
    st = c8_error(CALIB8_INVALID_ARGUMENT, "cannot read %s: %s", what,
                  got < 0 ? zip_file_strerror(zf) : "the entry ends early");
    goto out;
  }
  size_t off;
  if ((st = c8_npy_view(buf, (size_t)got, what, C8_NPY_BLOB, t, &off))) goto out;
  size_t nbytes = c8_nbytes(t);
  t->data = c8_alloc(nbytes);
  if (!t->data) {
    st = c8_error(CALIB8_OUT_OF_MEMORY, "out of memory reading %s", what);
    goto out;
  }
  memcpy(t->data, buf + off, nbytes);
out:
  if (zf) zip_fclose(zf);
  c8_mfree(buf);
  return st;
}

static c8_status file_load(const char *path, npz_file *f) {
  int err = 0;
  zip_t *z = zip_open(path, ZIP_RDONLY, &err);
  if (!z) {
    zip_error_t ze;
    zip_error_init_with_code(&ze, err);
    c8_status st = c8_error(CALIB8_INVALID_ARGUMENT, "'%s' is not a readable .npz (zip) file: %s", path,
                            zip_error_strerror(&ze));
    zip_error_fini(&ze);
    return st;
  }
  c8_status st = CALIB8_OK;
  zip_int64_t n = zip_get_num_entries(z, 0);
  f->e = c8_malloc(sizeof *f->e * (size_t)(n > 0 ? n : 1));
  if (!f->e) {
    st = c8_error(CALIB8_OUT_OF_MEMORY, "out of memory reading '%s'", path);
    goto out;
  }
  for (zip_int64_t i = 0; i < n; i++) {
    const char *ename = zip_get_name(z, (zip_uint64_t)i, 0);
    if (!ename) {
      st = c8_error(CALIB8_INVALID_ARGUMENT, "'%s' entry %lld has no readable name", path, (long long)i);
      goto out;
    }
    npz_entry *e = &f->e[f->n];
    memset(e, 0, sizeof *e);
    if (!(e->name = dupstr(ename))) {
      st = c8_error(CALIB8_OUT_OF_MEMORY, "out of memory reading '%s'", path);
      goto out;
    }
    size_t L = strlen(e->name);
    if (L > 4 && !strcmp(e->name + L - 4, ".npy")) e->name[L - 4] = 0;
    f->n++;
    if ((st = read_entry(z, i, path, ename, &e->t))) goto out;
  }
out:
  zip_discard(z);
  if (st) file_free(f);
  return st;
}

static const npz_entry *find(const npz_file *f, const char *name) {
  for (int i = 0; i < f->n; i++)
    if (!strcmp(f->e[i].name, name)) return &f->e[i];
  return NULL;
}

/* Whether `name` is one of the comma-separated names in `list`. */
static bool in_list(const char *list, const char *name) {
  size_t n = strlen(name);
  for (const char *p = list; p && *p;) {
    const char *e = strchr(p, ',');
    size_t k = e ? (size_t)(e - p) : strlen(p);
    if (k == n && !strncmp(p, name, n)) return true;
    p = e ? e + 1 : NULL;
  }
  return false;
}

static double bf16(uint16_t v) {
  uint32_t u = (uint32_t)v << 16;
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}

/* Element i as npz_tool's common type: 0 float32, 1 int32, 2 int8. */
static double elem(const c8_tensor *t, int64_t i, int kind) {
  double v = t->dtype == CALIB8_UINT16 ? bf16(((const uint16_t *)t->data)[i]) : c8_get_f64(t, i);
  if (kind == 0) return (double)(float)v;
  if (isnan(v)) return 0;
  /* numpy's astype truncates toward zero; out-of-range values wrap (two's complement) */
  double tr = trunc(v);
  if (kind == 1) return (double)(int32_t)(uint32_t)(int64_t)fmax(-9.2e18, fmin(9.2e18, tr));
  return (double)(int8_t)(uint8_t)(int64_t)fmax(-9.2e18, fmin(9.2e18, tr));
}

/* Aligns two shapes as npz_tool does; fills the common shape and per-side strides. false: NOT_MATCH. */
typedef struct view {
  int rank;
  int64_t dims[C8_MAX_RANK];
  int64_t st_t[C8_MAX_RANK], st_r[C8_MAX_RANK]; /* element strides of target and reference; 0 rank = flat */
  int flat;
  int64_t n;
} view;

static void strides(const c8_tensor *t, int64_t *s) {
  int64_t k = 1;
  for (int d = t->rank - 1; d >= 0; d--) s[d] = k, k *= t->dims[d];
}

static bool align(const c8_tensor *a, const c8_tensor *b, view *v) {
  memset(v, 0, sizeof *v);
  int64_t na = c8_numel(a), nb = c8_numel(b);
  if (na == nb) {
    v->flat = 1;
    v->n = na;
    return true;
  }
  if (a->rank != b->rank) return false;
  bool ge = true, le = true;
  for (int d = 0; d < a->rank; d++) ge &= a->dims[d] >= b->dims[d], le &= a->dims[d] <= b->dims[d];
  if (!ge && !le) return false;
  v->rank = a->rank;
  v->n = 1;
  for (int d = 0; d < a->rank; d++) v->dims[d] = ge ? b->dims[d] : a->dims[d], v->n *= v->dims[d];
  strides(a, v->st_t);
  strides(b, v->st_r);
  return true;
}

static void offsets(const view *v, int64_t i, int64_t *ot, int64_t *orf) {
  if (v->flat) {
    *ot = *orf = i;
    return;
  }
  int64_t t = 0, r = 0;
  for (int d = v->rank - 1; d >= 0; d--) {
    int64_t c = i % v->dims[d];
    i /= v->dims[d];
    t += c * v->st_t[d];
    r += c * v->st_r[d];
  }
  *ot = t;
  *orf = r;
}

static c8_status compare_pair(const c8_tensor *tt, const c8_tensor *tr, double cos_tol, double euc_tol,
                              calib8_npz_row *row) {
  view v;
  if (!align(tt, tr, &v)) {
    row->verdict = CALIB8_NPZ_NOT_MATCH;
    return CALIB8_OK;
  }
  int kind = 0;
  if (tt->dtype == CALIB8_INT8 || tr->dtype == CALIB8_INT8)
    kind = 2;
  else if (tt->dtype == CALIB8_INT32 || tr->dtype == CALIB8_INT32)
    kind = 1;
  double *x = malloc(sizeof(double) * (size_t)(v.n ? v.n : 1)), *y = malloc(sizeof(double) * (size_t)(v.n ? v.n : 1));
  if (!x || !y) {
    free(x), free(y);
    return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory comparing tensor '%s'", row->name);
  }
  bool equal = true;
  for (int64_t i = 0; i < v.n; i++) {
    int64_t ot, orf;
    offsets(&v, i, &ot, &orf);
    x[i] = elem(tt, ot, kind);
    y[i] = elem(tr, orf, kind);
    if (!(x[i] == y[i])) equal = false; /* array_equal: NaN is never equal */
  }
  if (equal) {
    row->verdict = CALIB8_NPZ_EQUAL;
    goto done;
  }
  if (kind == 2) {
    row->verdict = CALIB8_NPZ_NOT_EQUAL;
    goto done;
  }
  for (int order = 5; order >= 3 && !row->close_order; order--) {
    double rtol = pow(10.0, -order);
    bool close = true;
    for (int64_t i = 0; i < v.n && close; i++) {
      if (isnan(x[i]) || isnan(y[i])) {
        close = isnan(x[i]) && isnan(y[i]);
        continue;
      }
      if (isinf(x[i]) || isinf(y[i])) {
        close = x[i] == y[i];
        continue;
      }
      close = fabs(x[i] - y[i]) <= 1e-8 + rtol * fabs(y[i]);
    }
    if (close) row->close_order = order;
  }
  if (row->close_order) {
    row->verdict = CALIB8_NPZ_CLOSE;
    goto done;
  }
  double tr_ = 0, tt_ = 0, rr = 0, dd = 0, mm = 0, s_a = 0, s_aa = 0, s_n = 0, s_nn = 0;
  int64_t nz = 0;
  for (int64_t i = 0; i < v.n; i++) {
    double a = isnan(x[i]) ? 0 : x[i], b = isnan(y[i]) ? 0 : y[i], d = a - b, m = (a + b) / 2;
    tr_ += a * b, tt_ += a * a, rr += b * b, dd += d * d, mm += m * m;
    if (a != 0) nz++, s_a += a, s_aa += a * a, s_n += d, s_nn += d * d;
  }
  row->cosine = tr_ / sqrt(tt_ * rr); /* NaN when one side is all zero: not similar */
  double ed = sqrt(dd), sr = sqrt(mm);
  row->euclidean = isinf(ed) || isinf(sr) ? 0.0 : 1.0 - ed / sr;
  double k = (double)nz, var_a = s_aa - (nz ? s_a * s_a / k : 0), var_n = s_nn - (nz ? s_n * s_n / k : 0);
  row->sqnr_db = var_a <= 0 || var_n <= 0 ? INFINITY : 10.0 * log10(var_a / var_n);
  row->verdict = row->cosine > cos_tol && row->euclidean > euc_tol ? CALIB8_NPZ_SIMILAR : CALIB8_NPZ_NOT_SIMILAR;
done:
  free(x);
  free(y);
  return CALIB8_OK;
}

calib8_npz_compare_options calib8_npz_compare_options_default(void) {
  return (calib8_npz_compare_options){.cosine_tol = 0.99, .euclid_tol = 0.99};
}

void calib8_npz_compare_destroy(calib8_npz_compare *c) {
  if (!c) return;
  file_free(&c->f[0]);
  file_free(&c->f[1]);
  c8_mfree(c->rows);
  c8_mfree(c->paths[0]);
  c8_mfree(c->paths[1]);
  c8_mfree(c);
}

static c8_status add_row(calib8_npz_compare *c, const char *name, int verdict, int *cap) {
  if (c->n_rows == *cap) {
    int nc = *cap ? *cap * 2 : 16;
    calib8_npz_row *p = c8_realloc(c->rows, sizeof *p * (size_t)nc);
    if (!p) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory comparing '%s' and '%s'", c->paths[0], c->paths[1]);
    c->rows = p;
    *cap = nc;
  }
  calib8_npz_row *r = &c->rows[c->n_rows++];
  memset(r, 0, sizeof *r);
  r->name = name;
  r->verdict = verdict;
  r->cosine = r->euclidean = r->sqnr_db = NAN;
  return CALIB8_OK;
}

calib8_status calib8_npz_compare_files(const char *target, const char *reference,
                                       const calib8_npz_compare_options *options, calib8_npz_compare **out) {
  if (!target || !reference || !out)
    return c8_error(CALIB8_INVALID_ARGUMENT, "calib8_npz_compare_files needs a target, a reference and an output");
  calib8_npz_compare_options o = options ? *options : calib8_npz_compare_options_default();
  if (!(o.cosine_tol >= -1 && o.cosine_tol <= 1) || !(o.euclid_tol <= 1) || isnan(o.euclid_tol))
    return c8_error(CALIB8_INVALID_ARGUMENT,
                    "npz compare tolerance %g,%g: the cosine must be in [-1, 1] and the euclidean similarity at most 1",
                    o.cosine_tol, o.euclid_tol);
  calib8_npz_compare *c = c8_malloc(sizeof *c);
  if (!c) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory comparing '%s' and '%s'", target, reference);
  memset(c, 0, sizeof *c);
  c->cos_tol = o.cosine_tol;
  c->euc_tol = o.euclid_tol;
  c8_status st = CALIB8_OK;
  int cap = 0;
  if (!(c->paths[0] = dupstr(target)) || !(c->paths[1] = dupstr(reference))) {
    st = c8_error(CALIB8_OUT_OF_MEMORY, "out of memory comparing '%s' and '%s'", target, reference);
    goto fail;
  }
  if ((st = file_load(target, &c->f[0])) || (st = file_load(reference, &c->f[1]))) goto fail;
  for (const char *p = o.excepts; p && *p;) {
    const char *e = strchr(p, ',');
    int k = (int)(e ? (size_t)(e - p) : strlen(p));
    bool found = false;
    for (int f = 0; f < 2; f++)
      for (int i = 0; i < c->f[f].n; i++)
        found |= (int)strlen(c->f[f].e[i].name) == k && !strncmp(c->f[f].e[i].name, p, (size_t)k);
    if (!found) {
      st = c8_error(CALIB8_INVALID_ARGUMENT, "excepted tensor '%.*s' is in neither '%s' nor '%s'", k, p, target,
                    reference);
      goto fail;
    }
    p = e ? e + 1 : NULL;
  }
  for (int i = 0; i < c->f[1].n; i++) {
    const npz_entry *r = &c->f[1].e[i], *t = find(&c->f[0], r->name);
    int verdict = in_list(o.excepts, r->name) ? CALIB8_NPZ_EXCEPTED
                  : t                                      ? CALIB8_NPZ_EQUAL
                                                           : CALIB8_NPZ_ONLY_REFERENCE;
    if ((st = add_row(c, r->name, verdict, &cap))) goto fail;
    calib8_npz_row *row = &c->rows[c->n_rows - 1];
    if (verdict == CALIB8_NPZ_EQUAL) {
      row->target_shape_rank = t->t.rank, row->reference_shape_rank = r->t.rank;
      memcpy(row->target_dims, t->t.dims, sizeof row->target_dims);
      memcpy(row->reference_dims, r->t.dims, sizeof row->reference_dims);
      if ((st = compare_pair(&t->t, &r->t, o.cosine_tol, o.euclid_tol, row))) goto fail;
    }
  }
  for (int i = 0; i < c->f[0].n; i++)
    if (!find(&c->f[1], c->f[0].e[i].name)) {
      int verdict = in_list(o.excepts, c->f[0].e[i].name) ? CALIB8_NPZ_EXCEPTED : CALIB8_NPZ_ONLY_TARGET;
      if ((st = add_row(c, c->f[0].e[i].name, verdict, &cap))) goto fail;
    }
  int compared = 0;
  for (int i = 0; i < c->n_rows; i++) {
    calib8_npz_row *r = &c->rows[i];
    r->compared = r->verdict <= CALIB8_NPZ_NOT_MATCH;
    r->pass = r->verdict <= CALIB8_NPZ_SIMILAR;
    compared += r->compared;
  }
  if (!compared) {
    st = c8_error(CALIB8_INVALID_ARGUMENT, "'%s' and '%s' share no tensor name%s: nothing to compare", target,
                  reference, o.excepts && *o.excepts ? " outside the excepted ones" : "");
    goto fail;
  }
  *out = c;
  return CALIB8_OK;
fail:
  calib8_npz_compare_destroy(c);
  return st;
}

int calib8_npz_compare_row_count(const calib8_npz_compare *c) { return c ? c->n_rows : 0; }

calib8_status calib8_npz_compare_row_at(const calib8_npz_compare *c, int index, calib8_npz_row *out) {
  if (!c || !out || index < 0 || index >= c->n_rows)
    return c8_error(CALIB8_INVALID_ARGUMENT, "npz compare row %d is out of range (%d rows)", index, c ? c->n_rows : 0);
  *out = c->rows[index];
  return CALIB8_OK;
}

calib8_status calib8_npz_compare_summary(const calib8_npz_compare *c, calib8_npz_summary *s) {
  if (!c || !s) return c8_error(CALIB8_INVALID_ARGUMENT, "calib8_npz_compare_summary needs a comparison and a result");
  memset(s, 0, sizeof *s);
  s->min_cosine = s->min_euclidean = 1.0;
  s->min_sqnr_db = INFINITY;
  for (int i = 0; i < c->n_rows; i++) {
    const calib8_npz_row *r = &c->rows[i];
    s->count[r->verdict]++;
    if (r->compared) s->compared++;
    if (r->compared && r->pass) s->passed++;
    if (r->compared && !r->pass) s->failed++;
    if (r->verdict == CALIB8_NPZ_SIMILAR || r->verdict == CALIB8_NPZ_NOT_SIMILAR) {
      if (!(r->cosine >= s->min_cosine)) s->min_cosine = r->cosine;
      if (!(r->euclidean >= s->min_euclidean)) s->min_euclidean = r->euclidean;
      if (r->sqnr_db < s->min_sqnr_db) s->min_sqnr_db = r->sqnr_db;
    }
  }
  return CALIB8_OK;
}

const char *calib8_npz_verdict_name(int verdict) {
  static const char *names[] = {"EQUAL",     "CLOSE",           "SIMILAR",        "NOT_SIMILAR", "NOT_EQUAL",
                                "NOT_MATCH", "ONLY_IN_TARGET", "ONLY_IN_REFERENCE", "EXCEPTED"};
  return verdict >= 0 && verdict < CALIB8_NPZ_VERDICT_COUNT ? names[verdict] : "?";
}

static void dims_str(int rank, const int64_t *d, char *buf, size_t n) {
  size_t k = (size_t)snprintf(buf, n, "(");
  for (int i = 0; i < rank && k < n; i++) k += (size_t)snprintf(buf + k, n - k, "%s%lld", i ? ", " : "", (long long)d[i]);
  if (k < n) snprintf(buf + k, n - k, "%s)", rank == 1 ? "," : "");
}

calib8_status calib8_npz_compare_format(const calib8_npz_compare *c, char **out_text) {
  if (!c || !out_text) return c8_error(CALIB8_INVALID_ARGUMENT, "calib8_npz_compare_format needs a comparison");
  char *mem = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&mem, &len);
  if (!f) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory formatting the npz comparison");
  calib8_npz_summary s;
  calib8_npz_compare_summary(c, &s);
  size_t w = 6;
  for (int i = 0; i < c->n_rows; i++)
    if (c->rows[i].compared && strlen(c->rows[i].name) > w) w = strlen(c->rows[i].name);
  if (w > 48) w = 48;
  fprintf(f, "%-*s  %-11s  %-6s  %9s  %9s  %9s\n", (int)w, "tensor", "result", "", "cosine", "euclid", "SQNR dB");
  for (int i = 0; i < c->n_rows; i++) {
    const calib8_npz_row *r = &c->rows[i];
    if (!r->compared) continue;
    fprintf(f, "%-*s  %-11s  %-6s", (int)w, r->name, calib8_npz_verdict_name(r->verdict), r->pass ? "PASSED" : "FAILED");
    if (r->verdict == CALIB8_NPZ_SIMILAR || r->verdict == CALIB8_NPZ_NOT_SIMILAR)
      fprintf(f, "  %9.6f  %9.6f  %9.2f", r->cosine, r->euclidean, r->sqnr_db);
    else if (r->verdict == CALIB8_NPZ_CLOSE)
      fprintf(f, "  close to rtol 1e-%d", r->close_order);
    else if (r->verdict == CALIB8_NPZ_NOT_MATCH) {
      char a[160], b[160];
      dims_str(r->target_shape_rank, r->target_dims, a, sizeof a);
      dims_str(r->reference_shape_rank, r->reference_dims, b, sizeof b);
      fprintf(f, "  shapes %s and %s", a, b);
    }
    fputc('\n', f);
  }
  const int only[2] = {CALIB8_NPZ_ONLY_TARGET, CALIB8_NPZ_ONLY_REFERENCE};
  for (int k = 0; k < 2; k++) {
    if (!s.count[only[k]]) continue;
    fprintf(f, "%d tensor%s only in '%s':", s.count[only[k]], s.count[only[k]] == 1 ? "" : "s", c->paths[k]);
    for (int i = 0; i < c->n_rows; i++)
      if (c->rows[i].verdict == only[k]) fprintf(f, " %s", c->rows[i].name);
    fputc('\n', f);
  }
  if (s.count[CALIB8_NPZ_EXCEPTED]) fprintf(f, "%d excepted from comparing\n", s.count[CALIB8_NPZ_EXCEPTED]);
  fprintf(f, "%d compared (tolerance: cosine %.6g, euclidean %.6g)\n", s.compared, c->cos_tol, c->euc_tol);
  fprintf(f, "%d passed: %d equal, %d close, %d similar\n", s.passed, s.count[CALIB8_NPZ_EQUAL],
          s.count[CALIB8_NPZ_CLOSE], s.count[CALIB8_NPZ_SIMILAR]);
  fprintf(f, "%d failed: %d not equal, %d not similar, %d not matching in shape\n", s.failed,
          s.count[CALIB8_NPZ_NOT_EQUAL], s.count[CALIB8_NPZ_NOT_SIMILAR], s.count[CALIB8_NPZ_NOT_MATCH]);
  fprintf(f, "min similarity: cosine %.6f, euclidean %.6f, SQNR %.2f dB\n", s.min_cosine, s.min_euclidean,
          s.min_sqnr_db);
  fprintf(f, "target    %s\nreference %s\n", c->paths[0], c->paths[1]);
  fprintf(f, "npz compare %s\n", s.failed ? "FAILED" : "PASSED");
  if (fclose(f) != 0 || !mem) {
    free(mem);
    return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory formatting the npz comparison");
  }
  char *text = c8_malloc(len + 1);
  if (text) memcpy(text, mem, len + 1);
  free(mem); /* open_memstream's buffer comes from the C library */
  if (!text) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory formatting the npz comparison");
  *out_text = text;
  return CALIB8_OK;
}
