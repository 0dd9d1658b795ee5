/* .npz sources (numpy.savez / savez_compressed): a zip archive with one "<input>.npy" entry per model
 * input, each [N, ...]. Entries are read sequentially with zip_fread, so compressed entries stream too. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zip.h>

#include "data/dataset-impl.h"

static c8_status entry_header(c8_dataset *ds, int i, const char *what) {
  unsigned char pre[C8_NPY_PREFIX];
  zip_int64_t got = zip_fread(ds->zf[i], pre, sizeof pre);
  if (got < 0) return c8_error(CALIB8_IO, "cannot read %s: %s", what, zip_file_strerror(ds->zf[i]));
  size_t hl;
  c8_status st = c8_npy_header_len(pre, (size_t)got, what, &hl);
  if (st) return st;
  unsigned char *hb = c8_malloc(hl);
  if (!hb) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory reading %s", what);
  memcpy(hb, pre, (size_t)got < hl ? (size_t)got : hl);
  if ((size_t)got < hl) {
    zip_int64_t more = zip_fread(ds->zf[i], hb + got, hl - (size_t)got);
    if (more < 0 || (size_t)more != hl - (size_t)got) {
      c8_mfree(hb);
      return c8_error(CALIB8_INVALID_ARGUMENT, "%s is truncated inside its .npy header", what);
    }
  }
  st = c8_npy_header_parse(hb, hl, what, &ds->hdr[i]);
  c8_mfree(hb);
  return st;
}

c8_status c8_ds_npz_open(c8_dataset *ds) {
  ds->kind = C8_DS_NPZ;
  int err = 0;
  ds->zip = zip_open(ds->spec, ZIP_RDONLY, &err);
  if (!ds->zip) {
    zip_error_t ze;
    zip_error_init_with_code(&ze, err);
    c8_status st = c8_error(CALIB8_INVALID_ARGUMENT, "dataset '%s' is not a readable .npz (zip) file: %s", ds->spec,
                            zip_error_strerror(&ze));
    zip_error_fini(&ze);
    return st;
  }
  zip_int64_t n_entries = zip_get_num_entries(ds->zip, 0);
  int64_t items = -1;
  const char *items_from = NULL;
  for (int i = 0; i < ds->n_inputs; i++) {
    char name[1100];
    snprintf(name, sizeof name, "%s.npy", ds->in[i].name);
    zip_int64_t idx = zip_name_locate(ds->zip, name, 0);
    if (idx < 0) idx = zip_name_locate(ds->zip, ds->in[i].name, 0);
    if (idx < 0 && ds->n_inputs == 1 && n_entries == 1) idx = 0; /* np.savez(f, x) names it arr_0.npy */
    if (idx < 0) {
      char list[512] = "";
      size_t n = 0;
      for (zip_int64_t e = 0; e < n_entries && n < sizeof list - 8; e++)
        n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", e ? ", " : "", zip_get_name(ds->zip, (zip_uint64_t)e, 0));
      return c8_error(CALIB8_INVALID_ARGUMENT, "dataset '%s' has no entry '%s' for model input '%s' (entries: %s)",
                      ds->spec, name, ds->in[i].name, n_entries ? list : "none");
    }
    ds->zip_index[i] = idx;
    const char *ename = zip_get_name(ds->zip, (zip_uint64_t)idx, 0);
    char what[4400];
    snprintf(what, sizeof what, "'%s' entry '%s'", ds->spec, ename ? ename : "?");
    ds->zf[i] = zip_fopen_index(ds->zip, (zip_uint64_t)idx, 0);
    if (!ds->zf[i])
      return c8_error(CALIB8_INVALID_ARGUMENT, "cannot open %s: %s", what, zip_strerror(ds->zip));
    c8_status st = entry_header(ds, i, what);
    if (st) return st;
    int64_t k;
    if ((st = c8_ds_blob_items(ds, i, &ds->hdr[i], what, &k))) return st;
    zip_stat_t zs;
    if (zip_stat_index(ds->zip, (zip_uint64_t)idx, 0, &zs) == 0 && (zs.valid & ZIP_STAT_SIZE)) {
      uint64_t need = ds->hdr[i].data_offset + (uint64_t)c8_ds_sample_bytes(ds, i, &ds->hdr[i]) * (uint64_t)k;
      if (zs.size < need)
        return c8_error(CALIB8_INVALID_ARGUMENT, "%s is truncated: its header declares %llu bytes, the entry has %llu",
                        what, (unsigned long long)need, (unsigned long long)zs.size);
    }
    if (items >= 0 && k != items)
      return c8_error(CALIB8_INVALID_ARGUMENT, "dataset '%s': entry for input '%s' holds %lld samples but the one for "
                      "input '%s' holds %lld", ds->spec, ds->in[i].name, (long long)k, items_from, (long long)items);
    items = k;
    items_from = ds->in[i].name;
  }
  ds->count = items;
  ds->n_records = 1;
  if (items == 0) return c8_error(CALIB8_INVALID_ARGUMENT, "dataset '%s' contains no samples", ds->spec);
  return CALIB8_OK;
}

c8_status c8_ds_npz_next(c8_dataset *ds) {
  if (ds->record < 0) {
    ds->record = 0;
    ds->blob_items = ds->count;
    ds->blob_item = 0;
  }
  if (ds->blob_item >= ds->blob_items) return CALIB8_OK;
  snprintf(ds->source, sizeof ds->source, "'%s' sample %lld", ds->spec, (long long)ds->blob_item);
  for (int i = 0; i < ds->n_inputs; i++) {
    size_t bytes = c8_ds_sample_bytes(ds, i, &ds->hdr[i]);
    if (bytes > ds->raw_cap || !ds->raw) {
      void *p = c8_realloc(ds->raw, bytes ? bytes : 1);
      if (!p) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory reading '%s'", ds->spec);
      ds->raw = p;
      ds->raw_cap = bytes;
    }
    zip_int64_t got = zip_fread(ds->zf[i], ds->raw, bytes);
    if (got < 0 || (size_t)got != bytes)
      return c8_error(CALIB8_INVALID_ARGUMENT, "cannot read %s for input '%s': %s", ds->source, ds->in[i].name,
                      got < 0 ? zip_file_strerror(ds->zf[i]) : "the entry ends early");
    c8_status st = c8_ds_set_sample(ds, i, &ds->hdr[i], ds->raw, ds->source);
    if (st) return st;
  }
  return CALIB8_OK;
}

void c8_ds_npz_close(c8_dataset *ds) {
  for (int i = 0; i < C8_DATASET_MAX_INPUTS; i++)
    if (ds->zf[i]) {
      zip_fclose(ds->zf[i]);
      ds->zf[i] = NULL;
    }
  if (ds->zip) {
    zip_discard(ds->zip);
    ds->zip = NULL;
  }
}
