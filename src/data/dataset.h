/* Datasets as streams: samples are read one at a time, so memory does not grow with the sample count
 * (only the list of file names of a folder or list file is kept).
 *
 * Sources (the kind is detected; a "KIND:" prefix forces it, e.g. "list:val.txt"):
 *   images:  a folder of .jpg/.jpeg/.png/.bmp files (sorted by name, not recursive), a list file
 *            (one path per line, relative to the list's folder), or one image file
 *   npy:     a folder of .npy files (one blob each, sorted by name) or one .npy file
 *   npz:     one .npz file: one entry per model input ("<input>.npy"), each N x ...
 *   lmdb:    an LMDB environment (folder with data.mdb, or the data.mdb file); each record is a .npy blob
 *   txt:     a TNN-style text file (one float per line, NCHW) or a folder of them
 *
 * A blob (a .npy file, an LMDB record, a .txt file) holds one sample when its shape is the model input's
 * shape without the batch dimension (or with a batch of 1), and k samples when its shape is [k, ...].
 * The first dimension of every model input is its batch dimension. */
#ifndef C8_DATA_DATASET_H
#define C8_DATA_DATASET_H

#include <stdbool.h>
#include <stdint.h>

#include "calib8/calib8.h"
#include "core/tensor.h"
#include "data/preprocess.h"

#define C8_DATASET_MAX_INPUTS 16

typedef enum c8_dataset_kind {
  C8_DS_IMAGES = 1,
  C8_DS_NPY,
  C8_DS_NPZ,
  C8_DS_LMDB,
  C8_DS_TXT,
} c8_dataset_kind;

typedef struct c8_sample {
  int n;                                 /* one tensor per model input, in model input order */
  c8_tensor t[C8_DATASET_MAX_INPUTS];    /* shape: the model input's with batch 1; data owned by the dataset,
                                            valid until the next c8_dataset_next or close */
  int64_t index;                         /* 0-based position in the stream */
  int64_t record, item;                  /* blob number and position inside it (item is 0 for 1-sample blobs) */
  int64_t record_items;                  /* samples in this sample's blob */
  const char *source;                    /* human-readable origin: "'dir/img.png'", "'x.npy' sample 3" */
  const char *name;                      /* file name as listed (images: path relative to the folder or as
                                            written in the list file), NULL for samples inside a blob */
  bool has_geom;
  c8_pp_geom geom;                       /* images: how preprocessing mapped pixel coordinates */
} c8_sample;

typedef struct c8_dataset c8_dataset;

/* Opens `spec` for a model with `n_inputs` inputs described by `inputs`. `pp` (may be NULL) is the image
 * preprocessing; giving it for a non-image source is an error. An empty source is an error. */
c8_status c8_dataset_open(const char *spec, int n_inputs, const calib8_value_info *inputs, const c8_preprocess *pp,
                          c8_dataset **out);
/* Reads the next sample into *out (owned by the dataset). At the end *out is NULL and the result is OK. */
c8_status c8_dataset_next(c8_dataset *ds, const c8_sample **out);
/* Number of samples, or -1 when it is only known at the end. */
int64_t c8_dataset_count(const c8_dataset *ds);
/* Number of blobs (files, records); equal to the sample count when every blob holds one sample. */
int64_t c8_dataset_record_count(const c8_dataset *ds);
c8_dataset_kind c8_dataset_kind_of(const c8_dataset *ds);
const char *c8_dataset_kind_name(c8_dataset_kind k);
/* The folder of the source (for sidecar files such as LMDB's data.label). */
const char *c8_dataset_dir(const c8_dataset *ds);
const char *c8_dataset_spec(const c8_dataset *ds);
void c8_dataset_close(c8_dataset *ds);

/* Converts n elements; float32 destinations accept any numeric source, others need the same type.
 * Returns false when the pair is not supported. */
bool c8_convert_elems(c8_dtype dst_t, void *dst, c8_dtype src_t, const void *src, size_t n);

/* .npy header parsing (npy-header.c) for streaming readers; whole files (npy.c) use it too. `buf` holds the file
 * start, at least the full header; *data_offset receives where the data begins. Also accepts float64,
 * int16 and uint16 data ('<f8', '<i2', '<u2'). */
typedef struct c8_npy_header {
  c8_dtype dtype;
  int rank;
  int64_t dims[C8_MAX_RANK];
  size_t data_offset;
} c8_npy_header;
/* Bytes needed to know the header length (10); then c8_npy_header_len gives the full header size. */
#define C8_NPY_PREFIX 12
c8_status c8_npy_header_len(const void *buf, size_t len, const char *what, size_t *header_len);
c8_status c8_npy_header_parse(const void *buf, size_t len, const char *what, c8_npy_header *h);
/* The same parser for a whole .npy file in memory (c8_npy_parse): its messages call it a "file" and name the
 * faulty header entry, and it takes only the types files load as (float32, int64, int32, int8, uint8, bool). */
typedef enum { C8_NPY_BLOB, C8_NPY_FILE } c8_npy_kind;
c8_status c8_npy_header_parse_kind(const void *buf, size_t len, const char *what, c8_npy_kind kind, c8_npy_header *h);
/* The .npy descr a tensor of `dtype` is written with ("<f4", "|i1" ...); NULL when .npy files do not take it. */
const char *c8_npy_descr(c8_dtype dtype);

#endif
