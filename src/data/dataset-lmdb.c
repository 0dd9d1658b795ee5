/* LMDB sources: every record is a .npy blob holding one sample or a batch [k, ...] (the seeds' lmdb_save
 * layout). Records are read in key order through a read-only transaction on the memory map, so only
 * the record being read is touched. Opened with MDB_NOLOCK so a read-only folder works. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lmdb.h>
#include <sys/stat.h>

#include "data/dataset-impl.h"

static void key_text(const MDB_val *k, char *out, size_t cap) {
  size_t n = 0;
  const unsigned char *b = k->mv_data;
  for (size_t i = 0; i < k->mv_size && n + 5 < cap; i++) {
    if (b[i] >= 0x20 && b[i] < 0x7f && b[i] != '\'')
      out[n++] = (char)b[i];
    else
      n += (size_t)snprintf(out + n, cap - n, "\\x%02x", b[i]);
  }
  out[n] = 0;
}

/* Parses the record at the cursor: header, sample count, size check. */
static c8_status parse_record(c8_dataset *ds, const MDB_val *key, const MDB_val *val, int64_t rec, int64_t *items) {
  key_text(key, ds->key, sizeof ds->key);
  char what[4400];
  snprintf(what, sizeof what, "LMDB '%s' record %lld (key '%s')", ds->spec, (long long)rec, ds->key);
  c8_status st = c8_npy_header_parse(val->mv_data, val->mv_size, what, &ds->hdr[0]);
  if (st) return st;
  if ((st = c8_ds_blob_items(ds, 0, &ds->hdr[0], what, items))) return st;
  uint64_t need = ds->hdr[0].data_offset + (uint64_t)c8_ds_sample_bytes(ds, 0, &ds->hdr[0]) * (uint64_t)*items;
  if (val->mv_size < need)
    return c8_error(CALIB8_INVALID_ARGUMENT, "%s is truncated: its header declares %llu bytes, the record has %zu", what,
                    (unsigned long long)need, val->mv_size);
  return CALIB8_OK;
}

c8_status c8_ds_lmdb_open(c8_dataset *ds, bool is_file) {
  ds->kind = C8_DS_LMDB;
  if (ds->n_inputs != 1)
    return c8_error(CALIB8_INVALID_ARGUMENT, "LMDB records feed one model input, but the model has %d", ds->n_inputs);
  MDB_env *env;
  int rc = mdb_env_create(&env);
  if (rc) return c8_error(CALIB8_OUT_OF_MEMORY, "cannot open LMDB '%s': %s", ds->spec, mdb_strerror(rc));
  ds->env = env;
  rc = mdb_env_open(env, ds->spec, MDB_RDONLY | MDB_NOLOCK | (is_file ? MDB_NOSUBDIR : 0), 0644);
  if (rc) return c8_error(CALIB8_INVALID_ARGUMENT, "cannot open LMDB '%s': %s", ds->spec, mdb_strerror(rc));
  /* LMDB maps the file and trusts its page numbers: in a data.mdb cut short, records point past the end of the
     file and reading them raises SIGBUS. Every page the environment uses must be in the file. */
  MDB_envinfo info;
  MDB_stat mst;
  struct stat sb;
  char mdb_path[4200];
  snprintf(mdb_path, sizeof mdb_path, is_file ? "%s" : "%s/data.mdb", ds->spec);
  if ((rc = mdb_env_info(env, &info)) || (rc = mdb_env_stat(env, &mst)))
    return c8_error(CALIB8_IO, "cannot read LMDB '%s': %s", ds->spec, mdb_strerror(rc));
  if (stat(mdb_path, &sb) != 0)
    return c8_error(CALIB8_IO, "cannot read LMDB '%s': '%s' cannot be examined", ds->spec, mdb_path);
  uint64_t need = ((uint64_t)info.me_last_pgno + 1) * mst.ms_psize;
  if ((uint64_t)sb.st_size < need)
    return c8_error(CALIB8_INVALID_ARGUMENT,
                    "LMDB '%s' is truncated: '%s' holds %lld bytes but its pages reach %llu bytes", ds->spec, mdb_path,
                    (long long)sb.st_size, (unsigned long long)need);
  MDB_txn *txn;
  if ((rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn)))
    return c8_error(CALIB8_IO, "cannot read LMDB '%s': %s", ds->spec, mdb_strerror(rc));
  ds->txn = txn;
  MDB_dbi dbi;
  MDB_cursor *cur;
  if ((rc = mdb_dbi_open(txn, NULL, 0, &dbi)) || (rc = mdb_cursor_open(txn, dbi, &cur)))
    return c8_error(CALIB8_IO, "cannot read LMDB '%s': %s", ds->spec, mdb_strerror(rc));
  ds->cur = cur;
  /* Count the samples: headers only, the data pages are not touched. */
  MDB_val k, v;
  int64_t n = 0, recs = 0;
  for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    int64_t items;
    c8_status st = parse_record(ds, &k, &v, recs, &items);
    if (st) return st;
    n += items;
    recs++;
  }
  if (rc != MDB_NOTFOUND) return c8_error(CALIB8_IO, "cannot read LMDB '%s': %s", ds->spec, mdb_strerror(rc));
  ds->count = n;
  ds->n_records = recs;
  if (n == 0) return c8_error(CALIB8_INVALID_ARGUMENT, "dataset '%s' contains no samples (%lld records)", ds->spec,
                              (long long)recs);
  return CALIB8_OK;
}

c8_status c8_ds_lmdb_next(c8_dataset *ds) {
  c8_status st;
  while (ds->blob_item >= ds->blob_items) {
    MDB_val k, v;
    int rc = mdb_cursor_get(ds->cur, &k, &v, ds->record < 0 ? MDB_FIRST : MDB_NEXT);
    if (rc == MDB_NOTFOUND) return CALIB8_OK;
    if (rc) return c8_error(CALIB8_IO, "cannot read LMDB '%s': %s", ds->spec, mdb_strerror(rc));
    ds->record++;
    if ((st = parse_record(ds, &k, &v, ds->record, &ds->blob_items))) return st;
    ds->rec = v.mv_data;
    ds->rec_len = v.mv_size;
    ds->blob_item = 0;
  }
  size_t bytes = c8_ds_sample_bytes(ds, 0, &ds->hdr[0]);
  if (bytes > ds->raw_cap || !ds->raw) {
    void *p = c8_realloc(ds->raw, bytes ? bytes : 1);
    if (!p) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory reading '%s'", ds->spec);
    ds->raw = p;
    ds->raw_cap = bytes;
  }
  /* Copy out of the map first: record data need not be aligned for its element type. */
  memcpy(ds->raw, ds->rec + ds->hdr[0].data_offset + bytes * (size_t)ds->blob_item, bytes);
  if (ds->blob_items == 1)
    snprintf(ds->source, sizeof ds->source, "LMDB '%s' record %lld (key '%s')", ds->spec, (long long)ds->record,
             ds->key);
  else
    snprintf(ds->source, sizeof ds->source, "LMDB '%s' record %lld (key '%s') sample %lld", ds->spec,
             (long long)ds->record, ds->key, (long long)ds->blob_item);
  return c8_ds_set_sample(ds, 0, &ds->hdr[0], ds->raw, ds->source);
}

void c8_ds_lmdb_close(c8_dataset *ds) {
  if (ds->cur) mdb_cursor_close(ds->cur);
  if (ds->txn) mdb_txn_abort(ds->txn);
  if (ds->env) mdb_env_close(ds->env);
  ds->cur = NULL;
  ds->txn = NULL;
  ds->env = NULL;
}
