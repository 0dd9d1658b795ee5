/* The public dataset API (include/calib8/dataset.h) over the feed (data/feed.h). */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "core/tensor.h"
#include "data/feed.h"
#include "data/npy.h"

calib8_dataset_options calib8_dataset_options_default(void) {
  calib8_dataset_options o = {0};
  return o;
}

calib8_status calib8_set_error(calib8_status status, const char *message) {
  if (status == CALIB8_OK) return CALIB8_OK;
  return c8_error(status, "%s", message ? message : calib8_status_string(status));
}

static c8_status feed_open(calib8_dataset *ds) {
  ds->open = true; /* c8_feed_close also releases a half-opened feed */
  return c8_feed_open(&ds->feed, ds->model, ds->n_specs, (const char *const *)ds->specs, ds->has_pp ? &ds->pp : NULL,
                      ds->batch, ds->limit);
}

calib8_status calib8_dataset_open(const calib8_model *model, int n_specs, const char *const *specs,
                                  const calib8_dataset_options *options, calib8_dataset **out_dataset) {
  calib8_dataset_options o = options ? *options : calib8_dataset_options_default();
  if (!model || !specs || !out_dataset || n_specs < 1)
    return c8_error(CALIB8_INVALID_ARGUMENT, "calib8_dataset_open needs a model and at least one source");
  if (n_specs > C8_DATASET_MAX_INPUTS)
    return c8_error(CALIB8_INVALID_ARGUMENT, "%d sources given; at most %d", n_specs, C8_DATASET_MAX_INPUTS);
  if (o.batch < 0 || o.limit < 0)
    return c8_error(CALIB8_INVALID_ARGUMENT, "dataset options: batch %d and limit %lld must not be negative", o.batch,
                    (long long)o.limit);
  calib8_dataset *ds = c8_calloc(1, sizeof *ds);
  if (!ds) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory opening a dataset");
  ds->model = model;
  ds->batch = o.batch;
  ds->limit = o.limit;
  c8_status st = c8_preprocess_from(o.preprocess, o.template_name, &ds->pp, &ds->has_pp);
  for (int i = 0; !st && i < n_specs; i++) {
    if (!specs[i]) st = c8_error(CALIB8_INVALID_ARGUMENT, "dataset source %d is NULL", i);
    else if (!(ds->specs[i] = c8_strdup(specs[i]))) st = c8_error(CALIB8_OUT_OF_MEMORY, "out of memory");
    else ds->n_specs++;
  }
  if (!st) st = feed_open(ds);
  if (st) {
    calib8_dataset_close(ds);
    return st;
  }
  *out_dataset = ds;
  return CALIB8_OK;
}

calib8_status calib8_dataset_from_source(const calib8_model *model, const calib8_batch_source *source,
                                         calib8_dataset **out_dataset) {
  if (!model || !source || !source->next || !out_dataset)
    return c8_error(CALIB8_INVALID_ARGUMENT, "calib8_dataset_from_source needs a model and a source with next()");
  calib8_dataset *ds = c8_calloc(1, sizeof *ds);
  if (!ds) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory opening a dataset");
  ds->model = model;
  ds->source = *source;
  *out_dataset = ds;
  return CALIB8_OK;
}

/* The caller's batch, checked: one tensor per model input, named (a one-input model may leave the name out),
 * each with a batch dimension that holds `rows`. */
static c8_status source_next(calib8_dataset *ds, calib8_batch *out) {
  calib8_batch b;
  memset(&b, 0, sizeof b);
  c8_status st = ds->source.next(ds->source.user, &b);
  if (st) return st;
  if (b.rows == 0) {
    memset(out, 0, sizeof *out);
    return CALIB8_OK;
  }
  int n_in = calib8_model_input_count(ds->model);
  if (b.rows < 0 || b.n_inputs != n_in)
    return c8_error(CALIB8_INVALID_ARGUMENT, "a batch from the caller's source has %d tensors and %d rows; the model has %d inputs",
                    b.n_inputs, b.rows, n_in);
  for (int i = 0; i < b.n_inputs; i++) {
    if (!b.names[i]) {
      if (n_in != 1)
        return c8_error(CALIB8_INVALID_ARGUMENT, "batch tensor %d has no name; the model has %d inputs", i, n_in);
      calib8_value_info vi;
      calib8_model_input_info(ds->model, 0, &vi);
      b.names[i] = vi.name;
    }
    if (b.inputs[i].rank < 1 || b.inputs[i].dims[0] < b.rows || !b.inputs[i].data)
      return c8_error(CALIB8_INVALID_ARGUMENT, "batch tensor '%s' has shape %s; it needs a batch dimension of at least %d rows",
                      b.names[i], C8_SHAPE_STR(&b.inputs[i]), b.rows);
  }
  ds->last = b;
  *out = b;
  return CALIB8_OK;
}

calib8_status calib8_dataset_next(calib8_dataset *ds, calib8_batch *out) {
  if (!ds || !out) return c8_error(CALIB8_INVALID_ARGUMENT, "calib8_dataset_next needs a dataset and a batch");
  if (ds->source.next) return source_next(ds, out);
  int rows = 0;
  c8_status st = c8_feed_next(&ds->feed, NULL, NULL, &rows);
  if (st) return st;
  memset(out, 0, sizeof *out);
  out->rows = rows;
  if (!rows) return CALIB8_OK;
  out->n_inputs = ds->feed.n_inputs;
  for (int i = 0; i < out->n_inputs; i++) {
    out->names[i] = ds->feed.names[i];
    out->inputs[i] = ds->feed.in[i];
  }
  return CALIB8_OK;
}

calib8_status calib8_dataset_rewind(calib8_dataset *ds) {
  if (!ds) return c8_error(CALIB8_INVALID_ARGUMENT, "calib8_dataset_rewind needs a dataset");
  if (ds->source.next) {
    if (!ds->source.rewind)
      return c8_error(CALIB8_INVALID_ARGUMENT, "the caller's batch source can be read once only (it has no rewind)");
    return ds->source.rewind(ds->source.user);
  }
  if (ds->open) c8_feed_close(&ds->feed);
  ds->open = false;
  return feed_open(ds);
}

int64_t calib8_dataset_count(const calib8_dataset *ds) {
  if (!ds || ds->source.next) return -1;
  int64_t n = ds->feed.count;
  if (n >= 0 && ds->limit && n > ds->limit) n = ds->limit;
  return n;
}

int64_t calib8_dataset_available(const calib8_dataset *ds) {
  return !ds || ds->source.next ? -1 : ds->feed.count;
}

calib8_status calib8_write_group_begin(void) { return c8_file_set_begin(); }
calib8_status calib8_write_group_commit(void) { return c8_file_set_commit(); }
void calib8_write_group_abort(void) { c8_file_set_abort(); }

const char *calib8_dataset_spec(const calib8_dataset *ds) {
  if (!ds) return "";
  return ds->source.next ? "(caller's batches)" : ds->specs[0];
}

int calib8_dataset_labels(const calib8_dataset *ds, char *path, size_t size) {
  if (!ds || ds->source.next || !ds->open || ds->feed.n_sources < 1 || !path || !size) return 0;
  const c8_dataset *d = ds->feed.ds[0];
  if (!d || c8_dataset_kind_of(d) != C8_DS_LMDB) return 0;
  struct stat sb;
  int n = snprintf(path, size, "%s/data.label", c8_dataset_dir(d));
  if (n < 0 || (size_t)n >= size || stat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) return path[0] = 0, 0;
  return 1;
}

void calib8_dataset_close(calib8_dataset *ds) {
  if (!ds) return;
  if (ds->open) c8_feed_close(&ds->feed);
  for (int i = 0; i < ds->n_specs; i++) c8_mfree(ds->specs[i]);
  c8_mfree(ds);
}

int calib8_preprocess_template_count(void) { return c8_preprocess_template_count(); }
const char *calib8_preprocess_template_name(int i) { return c8_preprocess_template_name(i); }
const char *calib8_preprocess_template_text(int i) { return c8_preprocess_template_text(i); }
const char *calib8_preprocess_template_note(int i) { return c8_preprocess_template_note(i); }

calib8_status calib8_preprocess_validate(const char *preprocess, const char *template_name) {
  c8_preprocess pp;
  bool has;
  return c8_preprocess_from(preprocess, template_name, &pp, &has);
}

calib8_status calib8_npy_read(const char *path, calib8_tensor *out) {
  if (!path || !out) return c8_error(CALIB8_INVALID_ARGUMENT, "calib8_npy_read needs a path and a tensor");
  return c8_npy_read(path, out);
}

calib8_status calib8_npy_write(const char *path, const calib8_tensor *t) {
  if (!path || !t) return c8_error(CALIB8_INVALID_ARGUMENT, "calib8_npy_write needs a path and a tensor");
  return c8_npy_write(path, t);
}

void calib8_tensor_free(calib8_tensor *t) {
  if (!t) return;
  c8_free(t->data);
  t->data = NULL;
}
