/* Feeding datasets to sessions, shared by eval, quantize and compare.
 * A feed is one source for every model input (npz, LMDB, or images/npy for a
 * one-input model), or one `NAME=SRC` source per input read in lockstep. */
#ifndef C8_CLI_DATA_H
#define C8_CLI_DATA_H

#include "calib8/calib8.h"
#include "data/batch.h"
#include "data/labels.h"

typedef struct cli_feed {
  int n_inputs;                       /* model inputs */
  const char *names[C8_DATASET_MAX_INPUTS];
  int n_sources;
  c8_dataset *ds[C8_DATASET_MAX_INPUTS];
  c8_batch_reader rd[C8_DATASET_MAX_INPUTS];
  int first_input[C8_DATASET_MAX_INPUTS]; /* model input index each source feeds (all, when one source) */
  calib8_tensor in[C8_DATASET_MAX_INPUTS]; /* the batch, in model input order */
  int64_t count;                      /* samples known ahead, or -1 */
} cli_feed;

/* specs: "SRC" (one source for all inputs) or "NAME=SRC" per input. pp may be NULL. */
calib8_status cli_feed_open(cli_feed *f, const calib8_model *m, int n_specs, const char *const *specs,
                            const c8_preprocess *pp, int batch, int64_t limit);
/* Next batch; *rows real samples (0 at the end). fn is called for each sample of the first source. */
calib8_status cli_feed_next(cli_feed *f, c8_batch_sample_fn fn, void *user, int *rows);
void cli_feed_close(cli_feed *f);

/* Checks that model b (path pb) reads the same inputs as model a (path pa): the same names, ranks and fixed
 * dimensions. Returns 0, or an exit code after printing one line prefixed by `cmd`. */
int cli_check_same_inputs(const char *cmd, const calib8_model *a, const char *pa, const calib8_model *b, const char *pb);

/* Parses --preprocess / --template into pp; returns false (message printed) on error; *has set when given. */
bool cli_parse_preprocess(const char *text, const char *template_name, c8_preprocess *pp, bool *has);

/* Position of `label` among the k scores of row `row` of out ([rows, k], any numeric dtype): 0 = top-1; k when the
 * label's score is NaN. */
int64_t cli_label_rank(const calib8_tensor *out, int64_t row, int64_t k, int64_t label);

/* Top-k hits of output `out` ([rows', classes], first `rows` real) against labels; -1 on a shape problem or a label
 * out of range (the message is the last error, CALIB8_INVALID_ARGUMENT). */
int64_t cli_topk_hits(const calib8_tensor *out, const char *out_name, int rows, const int64_t *labels, int k);

#endif
