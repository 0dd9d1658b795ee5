#include "data/batch.h"

#include <stdio.h>
#include <string.h>

c8_status c8_batch_reader_init(c8_batch_reader *r, c8_dataset *ds, int n_inputs, const calib8_value_info *info,
                               int batch, int64_t limit, const char *what) {
  memset(r, 0, sizeof *r);
  if (n_inputs > C8_DATASET_MAX_INPUTS)
    return c8_error(CALIB8_UNSUPPORTED, "%s has %d inputs; at most %d are supported", what, n_inputs,
                    C8_DATASET_MAX_INPUTS);
  r->ds = ds;
  r->n_inputs = n_inputs;
  r->limit = limit;
  int64_t fixed = -1;
  for (int i = 0; i < n_inputs; i++) {
    r->names[i] = info[i].name;
    if (info[i].rank >= 1 && info[i].dims[0] > 0) fixed = info[i].dims[0];
  }
  if (fixed > 0 && batch > 0 && batch != fixed)
    return c8_error(CALIB8_INVALID_ARGUMENT, "%s has a fixed batch of %lld; --batch %d is not possible", what,
                    (long long)fixed, batch);
  if (fixed > 65536)
    return c8_error(CALIB8_UNSUPPORTED, "%s has a fixed batch of %lld, more than 65536", what, (long long)fixed);
  r->batch = batch > 0 ? batch : fixed > 0 ? (int)fixed : 1;
  r->pad = fixed > 0;
  return CALIB8_OK;
}

void c8_batch_reader_free(c8_batch_reader *r) {
  for (int i = 0; i < C8_DATASET_MAX_INPUTS; i++) {
    c8_free(r->t[i].data);
    c8_free(r->carry[i].data);
  }
  memset(r, 0, sizeof *r);
}

static c8_status ensure(calib8_tensor *t, size_t *cap, size_t need) {
  if (need <= *cap && t->data) return CALIB8_OK;
  c8_free(t->data);
  t->data = c8_alloc(need ? need : 1);
  *cap = t->data ? need : 0;
  return t->data ? CALIB8_OK : c8_error(CALIB8_OUT_OF_MEMORY, "out of memory for a batch (%zu bytes)", need);
}

static bool same_sample_shape(const calib8_tensor *batch, const c8_tensor *x) {
  if (batch->rank != x->rank || batch->dtype != x->dtype) return false;
  for (int d = 1; d < x->rank; d++)
    if (batch->dims[d] != x->dims[d]) return false;
  return true;
}

/* Places sample tensors x[] at `row` of the batch (the first row fixes the shapes). */
static c8_status place(c8_batch_reader *r, const c8_tensor *x, int row) {
  for (int i = 0; i < r->n_inputs; i++) {
    calib8_tensor *t = &r->t[i];
    size_t bytes = c8_nbytes(&x[i]);
    if (row == 0) {
      t->dtype = x[i].dtype;
      t->rank = x[i].rank;
      memcpy(t->dims, x[i].dims, sizeof t->dims);
      c8_status st = ensure(t, &r->cap[i], bytes * (size_t)r->batch);
      if (st) return st;
    }
    memcpy((char *)t->data + bytes * (size_t)row, x[i].data, bytes);
  }
  return CALIB8_OK;
}

c8_status c8_batch_reader_next(c8_batch_reader *r, c8_batch_sample_fn fn, void *user, int *rows) {
  int n = 0;
  c8_status st;
  *rows = 0;
  if (r->has_carry) {
    if ((st = place(r, r->carry, 0))) return st;
    if (fn && (st = fn(user, &r->carry_meta, 0))) return st;
    r->has_carry = false;
    n = 1;
  }
  while (n < r->batch && !r->at_end) {
    if (r->limit && r->read + n >= r->limit) {
      r->at_end = true;
      break;
    }
    const c8_sample *s;
    if ((st = c8_dataset_next(r->ds, &s))) return st;
    if (!s) {
      r->at_end = true;
      break;
    }
    bool fits = true;
    for (int i = 0; n > 0 && i < r->n_inputs; i++) fits &= same_sample_shape(&r->t[i], &s->t[i]);
    if (!fits) {
      if (r->pad)
        return c8_error(CALIB8_INVALID_ARGUMENT, "sample %s has shape %s, unlike the rest of its batch; the model's batch is fixed",
                        s->source, C8_SHAPE_STR(&s->t[0]));
      /* keep it for the next batch */
      for (int i = 0; i < r->n_inputs; i++) {
        calib8_tensor *c = &r->carry[i];
        size_t bytes = c8_nbytes(&s->t[i]);
        if ((st = ensure(c, &r->carry_cap[i], bytes))) return st;
        c->dtype = s->t[i].dtype;
        c->rank = s->t[i].rank;
        memcpy(c->dims, s->t[i].dims, sizeof c->dims);
        memcpy(c->data, s->t[i].data, bytes);
      }
      r->carry_meta = *s;
      snprintf(r->carry_source, sizeof r->carry_source, "%s", s->source ? s->source : "");
      r->carry_meta.source = r->carry_source;
      if (s->name) {
        snprintf(r->carry_name, sizeof r->carry_name, "%s", s->name);
        r->carry_meta.name = r->carry_name;
      }
      r->has_carry = true;
      break;
    }
    if ((st = place(r, s->t, n))) return st;
    if (fn && (st = fn(user, s, n))) return st;
    n++;
  }
  if (n == 0) return CALIB8_OK;
  int total = n;
  if (r->pad)
    for (; total < r->batch; total++)
      for (int i = 0; i < r->n_inputs; i++) {
        size_t bytes = c8_nbytes(&r->t[i]); /* t dims[0] is still the per-sample 1 */
        memcpy((char *)r->t[i].data + bytes * (size_t)total, r->t[i].data, bytes);
      }
  for (int i = 0; i < r->n_inputs; i++) r->t[i].dims[0] = total;
  r->read += n;
  *rows = n;
  return CALIB8_OK;
}
