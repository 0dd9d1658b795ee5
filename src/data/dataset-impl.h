/* Internal state shared by the dataset readers (dataset.c, dataset-npz.c, dataset-lmdb.c). */
#ifndef C8_DATA_DATASET_IMPL_H
#define C8_DATA_DATASET_IMPL_H

#include <stdio.h>

#include "data/dataset.h"

struct zip;
struct zip_file;
struct MDB_env;
struct MDB_txn;
struct MDB_cursor;

struct c8_dataset {
  c8_dataset_kind kind;
  char *spec; /* the path, without a KIND: prefix */
  char *dir;  /* folder holding the source (the source itself when it is a folder) */
  int n_inputs;
  calib8_value_info in[C8_DATASET_MAX_INPUTS];
  char *in_names[C8_DATASET_MAX_INPUTS];
  int64_t count, n_records, index;
  c8_sample s;
  char source[4608];

  /* File-per-blob sources (images, npy folder, txt folder): full paths and names as listed. */
  char **paths, **names;
  int64_t n_files, file_i;

  /* The blob being read. */
  int64_t record;           /* index of the current blob, -1 before the first */
  int64_t blob_items, blob_item;
  c8_npy_header hdr[C8_DATASET_MAX_INPUTS];
  FILE *f;
  char *line;
  size_t line_cap;
  int64_t line_no;
  void *buf[C8_DATASET_MAX_INPUTS]; /* the sample tensors' data (c8_alloc'd, grown on demand) */
  size_t buf_cap[C8_DATASET_MAX_INPUTS];
  void *raw;                /* one sample of raw blob data */
  size_t raw_cap;

  /* Images. */
  bool has_pp;
  c8_preprocess pp;
  c8_pp_target tgt;
  c8_pp_work work;

  /* npz */
  struct zip *zip;
  struct zip_file *zf[C8_DATASET_MAX_INPUTS];
  int64_t zip_index[C8_DATASET_MAX_INPUTS];

  /* lmdb */
  struct MDB_env *env;
  struct MDB_txn *txn;
  struct MDB_cursor *cur;
  const unsigned char *rec; /* the current record's bytes (memory-mapped) */
  size_t rec_len;
  char key[64];
};

/* Shared helpers (dataset.c). */
c8_status c8_ds_blob_items(c8_dataset *ds, int i, const c8_npy_header *h, const char *what, int64_t *items);
c8_status c8_ds_set_sample(c8_dataset *ds, int i, const c8_npy_header *h, const void *raw, const char *what);
size_t c8_ds_sample_bytes(const c8_dataset *ds, int i, const c8_npy_header *h);

/* npz (dataset-npz.c) */
c8_status c8_ds_npz_open(c8_dataset *ds);
c8_status c8_ds_npz_next(c8_dataset *ds);
void c8_ds_npz_close(c8_dataset *ds);

/* lmdb (dataset-lmdb.c) */
c8_status c8_ds_lmdb_open(c8_dataset *ds, bool is_file);
c8_status c8_ds_lmdb_next(c8_dataset *ds);
void c8_ds_lmdb_close(c8_dataset *ds);

#endif
