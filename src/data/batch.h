/* Batches of samples from a dataset stream, for sessions. Samples are copied
 * into reusable batch buffers; a sample whose shape differs from the batch's
 * (dynamic input sizes) starts the next batch. For a model with a fixed batch
 * size, a short final batch is padded by repeating its first sample: only the
 * first `rows` rows are real. */
#ifndef C8_DATA_BATCH_H
#define C8_DATA_BATCH_H

#include "data/dataset.h"

/* Called for each real sample as it joins a batch (row = its position), e.g. to fetch its label. */
typedef c8_status (*c8_batch_sample_fn)(void *user, const c8_sample *s, int row);

typedef struct c8_batch_reader {
  c8_dataset *ds;
  int n_inputs;
  const char *names[C8_DATASET_MAX_INPUTS];
  calib8_tensor t[C8_DATASET_MAX_INPUTS]; /* the current batch */
  size_t cap[C8_DATASET_MAX_INPUTS];
  int batch;          /* rows per batch */
  bool pad;           /* fixed-batch model: pad short batches */
  int64_t limit;      /* stop after this many samples (0 = all) */
  int64_t read;       /* real samples returned so far */
  /* a sample read but not yet placed (its shape differs from the previous batch) */
  bool has_carry;
  calib8_tensor carry[C8_DATASET_MAX_INPUTS];
  size_t carry_cap[C8_DATASET_MAX_INPUTS];
  c8_sample carry_meta;
  char carry_source[4608];
  char carry_name[4608];
  bool at_end;
} c8_batch_reader;

/* Batch size: `batch` when > 0, else the model's fixed leading dimension, else 1. Fails when --batch
 * contradicts a fixed batch. `what` names the model in messages. */
c8_status c8_batch_reader_init(c8_batch_reader *r, c8_dataset *ds, int n_inputs, const calib8_value_info *info,
                               int batch, int64_t limit, const char *what);
/* Fills the next batch; *rows = real samples in it (0 at the end of the stream). */
c8_status c8_batch_reader_next(c8_batch_reader *r, c8_batch_sample_fn fn, void *user, int *rows);
void c8_batch_reader_free(c8_batch_reader *r);

#endif
