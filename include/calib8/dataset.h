/* calib8 datasets: calibration and test samples as a stream of batches for a model.
 *
 * A dataset reads any source the calib8 command reads (docs/preprocessing.md):
 *   images      a folder of .jpg/.jpeg/.png/.bmp files, a list file, or one image, with a preprocessing string
 *               or a named template turning pixels into the model input;
 *   npy         a folder of .npy files or one .npy file;  npz   one .npz with an entry per input;
 *   lmdb        an LMDB folder of .npy records (NNTC auto_calib's format);  txt   TNN-style text tensors.
 * One source feeds every model input ("SRC"), or one source per input ("NAME=SRC"), read in lockstep.
 * Or the caller feeds its own batches (calib8_dataset_from_source), e.g. a PyTorch DataLoader's.
 *
 * Memory does not grow with the sample count: samples are read one at a time into reusable batch buffers.
 *
 *   calib8_dataset_options o = calib8_dataset_options_default();
 *   o.preprocess = "mean_value=72.94,std_value=90.0";
 *   const char *src = "calib/images";
 *   calib8_dataset *ds = NULL;
 *   if (calib8_dataset_open(model, 1, &src, &o, &ds)) { ... calib8_last_error() ... }
 *   calib8_batch b;
 *   while (calib8_dataset_next(ds, &b) == CALIB8_OK && b.rows > 0)
 *     calib8_session_run(session, b.n_inputs, b.names, b.inputs);
 *   calib8_dataset_close(ds);
 */
/* calib8.h first, outside the guard: it declares the core and includes every part header in order, so any
 * part header may be included alone. */
#include "calib8/calib8.h"

#ifndef CALIB8_DATASET_H
#define CALIB8_DATASET_H

#include "calib8/calib8.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CALIB8_MAX_INPUTS 16

typedef struct calib8_dataset calib8_dataset;

typedef struct calib8_dataset_options {
  const char *preprocess;    /* image preprocessing string (docs/preprocessing.md), or NULL */
  const char *template_name; /* a named preprocessing template instead (calib8_preprocess_template_*), or NULL */
  int batch;                 /* samples per batch; 0 = the model's fixed batch, or 1 when it is dynamic */
  int64_t limit;             /* stop after this many samples; 0 = all */
} calib8_dataset_options;

calib8_dataset_options calib8_dataset_options_default(void);

/* One batch, in model input order. The tensors are views owned by the dataset (or by the caller's source),
 * valid until the next calib8_dataset_next, rewind or close. A model with a fixed batch size gets its last
 * short batch padded by repeating a sample: only the first `rows` rows are real. rows == 0: the end. */
typedef struct calib8_batch {
  int n_inputs;
  const char *names[CALIB8_MAX_INPUTS];
  calib8_tensor inputs[CALIB8_MAX_INPUTS];
  int rows;
} calib8_batch;

/* Opens n_specs sources for `model` (borrowed; it must outlive the dataset): one "SRC" for every input, or
 * one "NAME=SRC" per input. "KIND:SRC" forces the kind ("list:val.txt", "npz:x.bin"). options may be NULL
 * (defaults). Errors: CALIB8_INVALID_ARGUMENT (a source that names no input, an input without a source, a
 * preprocessing string that does not parse, preprocessing given for tensor data, an empty source, a batch
 * that contradicts a fixed batch), CALIB8_IO (unreadable), CALIB8_UNSUPPORTED (more than CALIB8_MAX_INPUTS
 * inputs), CALIB8_OUT_OF_MEMORY. */
calib8_status calib8_dataset_open(const calib8_model *model, int n_specs, const char *const *specs,
                                  const calib8_dataset_options *options, calib8_dataset **out_dataset);

/* The caller's own batches. next fills *batch (names may be NULL for a one-input model; the tensors stay
 * the caller's and must remain valid until the next call) and sets batch->rows (0 at the end). rewind starts
 * again from the first batch; NULL when the source can be read once only (then anything that needs a second
 * pass, such as calib8_search_run, fails with CALIB8_INVALID_ARGUMENT). A non-OK status from a callback is
 * returned as is; set calib8_set_error for a message. */
typedef struct calib8_batch_source {
  calib8_status (*next)(void *user, calib8_batch *batch);
  calib8_status (*rewind)(void *user);
  void *user;
} calib8_batch_source;

calib8_status calib8_dataset_from_source(const calib8_model *model, const calib8_batch_source *source,
                                         calib8_dataset **out_dataset);

/* The next batch; out->rows == 0 at the end. Errors name the sample (file, record) and the rule it broke. */
calib8_status calib8_dataset_next(calib8_dataset *ds, calib8_batch *out);
/* Starts again from the first sample. CALIB8_INVALID_ARGUMENT for a one-pass source. */
calib8_status calib8_dataset_rewind(calib8_dataset *ds);
/* Samples known ahead (after the limit), or -1 when only the end tells. */
int64_t calib8_dataset_count(const calib8_dataset *ds);
/* Samples the sources hold, whatever the limit (-1 when only the end tells). */
int64_t calib8_dataset_available(const calib8_dataset *ds);
/* The first source's spec as given ("calib/images"), or "(caller's batches)". */
const char *calib8_dataset_spec(const calib8_dataset *ds);
void calib8_dataset_close(calib8_dataset *ds);
/* The class labels the first source carries: an LMDB folder's data.label, one line per record, as NNTC's
 * auto_calib writes it (the file evaluators read when given no labels). Returns 1 and writes its path into
 * path[size], or 0 when there is none (or it does not fit). */
int calib8_dataset_labels(const calib8_dataset *ds, char *path, size_t size);

/* ---- writing an LMDB data set (NNTC auto_calib's lmdb_save layout) -------------------------------------------
 * One record per put, keyed by its number as 8 decimal digits ("00000000", ...), the value a complete .npy file
 * (one sample, or a batch [k, ...]); the put's label lines appended to data.label beside data.mdb. A put is
 * atomic: one LMDB write transaction, committed only after its label lines are appended, and on any failure the
 * transaction is aborted and data.label cut back, so a failed put leaves no record and no label line. The
 * Python package's calib8.lmdb_save builds auto_calib's LMDB_Dataset on it. */
typedef struct calib8_lmdb_writer calib8_lmdb_writer;
/* Opens the LMDB environment in folder `dir` (created when missing) to append records after those it holds.
 * CALIB8_IO naming the folder and liblmdb's reason. */
calib8_status calib8_lmdb_writer_open(const char *dir, calib8_lmdb_writer **out_writer);
/* Records the writer holds. */
int64_t calib8_lmdb_writer_count(const calib8_lmdb_writer *w);
/* Appends record number count(w): `npy` (size bytes) must be a whole .npy file of at least one element;
 * `labels` (NULL: none) whole lines, each ending in '\n', for data.label. The record number goes to
 * *out_record (may be NULL). CALIB8_INVALID_ARGUMENT for a value that is no .npy file, truncated or empty, or
 * labels not ending in a newline; CALIB8_IO. */
calib8_status calib8_lmdb_writer_put(calib8_lmdb_writer *w, const void *npy, size_t size, const char *labels,
                                     int64_t *out_record);
/* A copy of record `record`'s value (free with calib8_free). CALIB8_INVALID_ARGUMENT when there is none. */
calib8_status calib8_lmdb_writer_get(const calib8_lmdb_writer *w, int64_t record, void **out_npy, size_t *out_size);
/* Flushes and closes; NULL is a no-op. */
void calib8_lmdb_writer_close(calib8_lmdb_writer *w);

/* Records a failure message (for callbacks that return an error to calib8); returns `status`. */
calib8_status calib8_set_error(calib8_status status, const char *message);

/* ---- preprocessing --------------------------------------------------------------------------------------- */

/* Named preprocessing templates (ImageNet mean/std, YOLO letterbox, ...): count, name, string and note. */
int calib8_preprocess_template_count(void);
const char *calib8_preprocess_template_name(int index);
const char *calib8_preprocess_template_text(int index);
const char *calib8_preprocess_template_note(int index);
/* Every template as `calib8 eval --print-templates` lists it: its name, then its text and its note, indented. */
void calib8_preprocess_templates_print(FILE *f);
/* Checks a preprocessing string (or template name) without opening data. CALIB8_INVALID_ARGUMENT naming the
 * faulty key or value. */
calib8_status calib8_preprocess_validate(const char *preprocess, const char *template_name);

/* The preprocessing check (--check-preprocess): compares the tensors the user's own pipeline made for the
 * first K images of image source `images` ([K, ...] in the .npy file `user_npy`) with calib8's preprocessing
 * of the same images, for the first input of `model`. On a match *report is "preprocessing check: K images
 * match" and the status is OK. When they differ the status is CALIB8_INVALID_ARGUMENT and calib8_last_error()
 * names the first differing image and the common mistake that explains it (channel order, layout, scale,
 * mean/std, resize) when one of them does. *report is allocated (calib8_free), or NULL on failure. */
calib8_status calib8_preprocess_check(const calib8_model *model, const char *user_npy, const char *images,
                                      const char *preprocess, const char *template_name, char **report);

/* ---- tensors in files ------------------------------------------------------------------------------------ */

/* Reads a .npy file (float32, float64->float32, int64, int32, int8, uint8, bool). out->data is allocated and
 * owned by the caller: release it with calib8_tensor_free. CALIB8_IO, CALIB8_INVALID_ARGUMENT (bad header),
 * CALIB8_UNSUPPORTED (dtype), CALIB8_OUT_OF_MEMORY. */
calib8_status calib8_npy_read(const char *path, calib8_tensor *out);
/* Writes a tensor as .npy, whole or not at all (temporary file, then rename). */
calib8_status calib8_npy_write(const char *path, const calib8_tensor *t);
/* Groups the files this thread writes with calib8_npy_write (and every other calib8 writer) until commit: each is
 * written to a temporary beside its target, and commit renames them all, so a failure part way leaves every
 * earlier file as it was (abort removes the temporaries). Groups do not nest (CALIB8_INTERNAL). */
calib8_status calib8_write_group_begin(void);
calib8_status calib8_write_group_commit(void);
void calib8_write_group_abort(void);

/* Frees the data of a tensor calib8 allocated (calib8_npy_read); sets t->data to NULL. */
void calib8_tensor_free(calib8_tensor *t);

#ifdef __cplusplus
}
#endif
#endif
