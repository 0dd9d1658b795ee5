/* LMDB sources: every record is a .npy blob holding one sample or a batch [k, ...] (the seeds' lmdb_save
 * layout). Records are read in key order through a read-only transaction on the memory map, so only
 * the record being read is touched. Opened with MDB_NOLOCK so a read-only folder works. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* ---- a structure check before liblmdb sees the file --------------------------------------------------
 * liblmdb trusts the file: a page size of 0 in a meta page divides by zero in mdb_env_open (SIGFPE), and a page
 * number, node offset or record size out of range makes a read outside the map (SIGSEGV, SIGBUS). So the meta
 * pages and the tree of the main database, every page a reader can reach, are checked first against the
 * on-disk format of liblmdb 0.9 (64-bit): a 16-byte page header {pgno u64, pad u16, flags u16, lower u16,
 * upper u16 | overflow page count u32}, then on branch and leaf pages 16-bit node offsets; a node is
 * {lo u16, hi u16, flags u16, ksize u16, key, data}; a meta page holds {magic, version, address, mapsize,
 * free db, main db, last page, txnid}, a db being {pad (the page size in the free db), flags u16, depth u16,
 * branch, leaf, overflow pages, entries, root}. */
enum {
  LM_HDR = 16, LM_NODE = 8, LM_BRANCH = 0x01, LM_LEAF = 0x02, LM_OVERFLOW = 0x04, LM_META = 0x08, LM_DIRTY = 0x10,
  LM_BIGDATA = 0x01, LM_MAX_DEPTH = 32, LM_META_BYTES = 152
};

typedef struct lm_check {
  int fd;
  const char *spec;
  uint32_t psize;
  uint64_t npages;
  uint8_t *seen;
  uint8_t *page[LM_MAX_DEPTH];
} lm_check;

static uint16_t rd16(const uint8_t *p) {
  uint16_t v;
  memcpy(&v, p, sizeof v);
  return v;
}
static uint32_t rd32(const uint8_t *p) {
  uint32_t v;
  memcpy(&v, p, sizeof v);
  return v;
}
static uint64_t rd64(const uint8_t *p) {
  uint64_t v;
  memcpy(&v, p, sizeof v);
  return v;
}

static c8_status lm_bad(const lm_check *c, uint64_t pgno, const char *why) {
  return c8_error(CALIB8_INVALID_ARGUMENT, "LMDB '%s' is corrupt: page %llu %s", c->spec, (unsigned long long)pgno,
                  why);
}

static bool lm_read(const lm_check *c, uint64_t pgno, void *buf, size_t n) {
  return pread(c->fd, buf, n, (off_t)(pgno * c->psize)) == (ssize_t)n;
}

static c8_status lm_check_page(lm_check *c, uint64_t pgno, int depth) {
  if (depth >= LM_MAX_DEPTH) return lm_bad(c, pgno, "is more than 32 levels deep");
  if (pgno < 2 || pgno >= c->npages) return lm_bad(c, pgno, "is outside the file");
  if (c->seen[pgno >> 3] & (1u << (pgno & 7))) return lm_bad(c, pgno, "is reached twice");
  c->seen[pgno >> 3] |= (uint8_t)(1u << (pgno & 7));
  uint8_t *p = c->page[depth];
  if (!lm_read(c, pgno, p, c->psize)) return lm_bad(c, pgno, "cannot be read");
  uint16_t flags = rd16(p + 10) & ~LM_DIRTY, lower = rd16(p + 12), upper = rd16(p + 14);
  if (rd64(p) != pgno) return lm_bad(c, pgno, "does not hold its own page number");
  if (flags != LM_BRANCH && flags != LM_LEAF) return lm_bad(c, pgno, "is neither a branch nor a leaf page");
  if (lower < LM_HDR || lower > upper || upper > c->psize || (lower - LM_HDR) % 2)
    return lm_bad(c, pgno, "has an invalid free-space range");
  int n = (lower - LM_HDR) / 2;
  if (flags == LM_BRANCH && n < 1) return lm_bad(c, pgno, "is an empty branch page");
  for (int i = 0; i < n; i++) {
    size_t off = rd16(p + LM_HDR + 2 * i);
    if (off < upper || off + LM_NODE > c->psize) return lm_bad(c, pgno, "has a record outside the page");
    const uint8_t *node = p + off;
    uint64_t lo = rd16(node), hi = rd16(node + 2), nflags = rd16(node + 4), ksize = rd16(node + 6);
    if (off + LM_NODE + ksize > c->psize) return lm_bad(c, pgno, "has a key longer than its page");
    if (flags == LM_BRANCH) {
      c8_status st = lm_check_page(c, lo | hi << 16 | nflags << 32, depth + 1);
      if (st) return st;
      continue;
    }
    uint64_t dsize = lo | hi << 16;
    if (nflags == 0) {
      if (off + LM_NODE + ksize + dsize > c->psize) return lm_bad(c, pgno, "has a record longer than its page");
    } else if (nflags == LM_BIGDATA) {
      if (off + LM_NODE + ksize + 8 > c->psize) return lm_bad(c, pgno, "has a record longer than its page");
      uint64_t ov = rd64(node + LM_NODE + ksize);
      uint8_t h[LM_HDR];
      if (ov < 2 || ov >= c->npages || !lm_read(c, ov, h, sizeof h))
        return lm_bad(c, pgno, "has a record whose data pages are outside the file");
      uint64_t pages = rd32(h + 12);
      if ((rd16(h + 10) & ~LM_DIRTY) != LM_OVERFLOW || rd64(h) != ov || pages < 1 || pages > c->npages - ov ||
          pages * c->psize - LM_HDR < dsize)
        return lm_bad(c, pgno, "has a record whose data pages are invalid or shorter than the record");
    } else {
      return lm_bad(c, pgno, "holds a sub-database or duplicate records (calib8 reads plain key/value records)");
    }
  }
  return CALIB8_OK;
}

static c8_status lm_check_file(const char *spec, const char *mdb_path) {
  lm_check c = {.spec = spec, .fd = open(mdb_path, O_RDONLY)};
  if (c.fd < 0) return c8_error(CALIB8_IO, "cannot open LMDB '%s': '%s': %s", spec, mdb_path, strerror(errno));
  c8_status st = CALIB8_OK;
  struct stat sb;
  uint8_t meta[2][LM_META_BYTES];
  if (fstat(c.fd, &sb) != 0 || pread(c.fd, meta[0], LM_META_BYTES, 0) != LM_META_BYTES) {
    st = c8_error(CALIB8_INVALID_ARGUMENT, "LMDB '%s' is not an LMDB file: '%s' is too short", spec, mdb_path);
    goto out;
  }
  c.psize = rd32(meta[0] + 40);
  if (c.psize < 512 || c.psize > 65536 || (c.psize & (c.psize - 1)) || (uint64_t)sb.st_size < 2ull * c.psize ||
      pread(c.fd, meta[1], LM_META_BYTES, c.psize) != LM_META_BYTES) {
    st = c8_error(CALIB8_INVALID_ARGUMENT, "LMDB '%s' is corrupt or not an LMDB file: page size %u in '%s'", spec,
                  c.psize, mdb_path);
    goto out;
  }
  c.npages = (uint64_t)sb.st_size / c.psize;
  if (!(c.seen = c8_calloc((size_t)(c.npages / 8 + 1), 1))) {
    st = c8_error(CALIB8_OUT_OF_MEMORY, "out of memory checking LMDB '%s'", spec);
    goto out;
  }
  for (int d = 0; d < LM_MAX_DEPTH; d++)
    if (!(c.page[d] = c8_malloc(c.psize))) {
      st = c8_error(CALIB8_OUT_OF_MEMORY, "out of memory checking LMDB '%s'", spec);
      goto out;
    }
  for (int m = 0; m < 2 && !st; m++) {
    const uint8_t *p = meta[m];
    if (!(rd16(p + 10) & LM_META) || rd32(p + 16) != 0xBEEFC0DEu || rd32(p + 20) != 1 || rd32(p + 40) != c.psize) {
      st = lm_bad(&c, (uint64_t)m, "is not an LMDB 0.9 meta page of the same page size");
      break;
    }
    if (rd16(p + 92) != 0) {
      st = lm_bad(&c, (uint64_t)m, "declares a main database with flags (calib8 reads plain key/value records)");
      break;
    }
    if (rd64(p + 136) >= c.npages) {
      st = c8_error(CALIB8_INVALID_ARGUMENT, "LMDB '%s' is truncated: '%s' holds %lld bytes but its pages reach %llu bytes",
                    spec, mdb_path, (long long)sb.st_size, (unsigned long long)((rd64(p + 136) + 1) * c.psize));
      break;
    }
    uint64_t root = rd64(p + 128);
    if (root == UINT64_MAX) continue; /* an empty database */
    memset(c.seen, 0, (size_t)(c.npages / 8 + 1));
    st = lm_check_page(&c, root, 0);
  }
out:
  for (int d = 0; d < LM_MAX_DEPTH; d++) c8_mfree(c.page[d]);
  c8_mfree(c.seen);
  close(c.fd);
  return st;
}

c8_status c8_ds_lmdb_open(c8_dataset *ds, bool is_file) {
  ds->kind = C8_DS_LMDB;
  if (ds->n_inputs != 1)
    return c8_error(CALIB8_INVALID_ARGUMENT, "LMDB records feed one model input, but the model has %d", ds->n_inputs);
  char mdb_path[4200];
  snprintf(mdb_path, sizeof mdb_path, is_file ? "%s" : "%s/data.mdb", ds->spec);
  c8_status cst = lm_check_file(ds->spec, mdb_path);
  if (cst) return cst;
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
