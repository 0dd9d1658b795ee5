/* Feeding datasets to sessions, shared by eval, quantize and compare.
 * A feed is one source for every model input (npz, LMDB, or images/npy for a
 * one-input model), or one `NAME=SRC` source per input read in lockstep. */
#ifndef C8_DATA_FEED_H
#define C8_DATA_FEED_H

#include "calib8/calib8.h"
#include "data/batch.h"
#include "data/labels.h"

typedef struct c8_feed {
  int n_inputs;                       /* model inputs */
  const char *names[C8_DATASET_MAX_INPUTS];
  int n_sources;
  c8_dataset *ds[C8_DATASET_MAX_INPUTS];
  c8_batch_reader rd[C8_DATASET_MAX_INPUTS];
  int first_input[C8_DATASET_MAX_INPUTS]; /* model input index each source feeds (all, when one source) */
  calib8_tensor in[C8_DATASET_MAX_INPUTS]; /* the batch, in model input order */
  int64_t count;                      /* samples known ahead, or -1 */
} c8_feed;

/* specs: "SRC" (one source for all inputs) or "NAME=SRC" per input. pp may be NULL. */
calib8_status c8_feed_open(c8_feed *f, const calib8_model *m, int n_specs, const char *const *specs,
                            const c8_preprocess *pp, int batch, int64_t limit);
/* Next batch; *rows real samples (0 at the end). fn is called for each sample of the first source. */
calib8_status c8_feed_next(c8_feed *f, c8_batch_sample_fn fn, void *user, int *rows);
void c8_feed_close(c8_feed *f);

/* The public dataset (include/calib8/dataset.h): the feed of the specs, reopened to rewind, or the caller's
 * batch source. */
struct calib8_dataset {
  const calib8_model *model;
  int n_specs;
  char *specs[C8_DATASET_MAX_INPUTS]; /* owned copies */
  c8_preprocess pp;
  bool has_pp;
  int batch;
  int64_t limit;
  c8_feed feed;
  bool open;                          /* feed is open */
  calib8_batch_source source;         /* the caller's batches (source.next != NULL) */
  calib8_batch last;                  /* the caller's last batch, names resolved */
};

/* --preprocess / --template into pp (*has set when one was given). CALIB8_INVALID_ARGUMENT when both are given or
 * the text does not parse. */
c8_status c8_preprocess_from(const char *text, const char *template_name, c8_preprocess *pp, bool *has);

#endif
