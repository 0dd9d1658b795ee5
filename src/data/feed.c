#include "data/feed.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/tensor.h"

c8_status c8_preprocess_from(const char *text, const char *template_name, c8_preprocess *pp, bool *has) {
  *has = false;
  if (text && template_name) return c8_error(CALIB8_INVALID_ARGUMENT, "give --preprocess or --template, not both");
  c8_status st = CALIB8_OK;
  if (text) st = c8_preprocess_parse(text, pp);
  else if (template_name) st = c8_preprocess_template(template_name, pp);
  else return CALIB8_OK;
  if (!st) *has = true;
  return st;
}

calib8_status calib8_model_check_same_inputs(const calib8_model *a, const char *pa, const calib8_model *b,
                                             const char *pb) {
  int na = calib8_model_input_count(a), nb = calib8_model_input_count(b);
  for (int i = 0; i < na; i++) {
    calib8_value_info x, y;
    bool found = false;
    calib8_model_input_info(a, i, &x);
    for (int j = 0; j < nb && !found; j++) {
      calib8_model_input_info(b, j, &y);
      found = !strcmp(x.name, y.name);
    }
    if (!found)
      return c8_error(CALIB8_INVALID_ARGUMENT,
                      "model '%s' has no input named '%s' (an input of '%s'); both models must read the same inputs",
                      pb, x.name, pa);
    bool fits = x.rank < 0 || y.rank < 0 || x.rank == y.rank;
    for (int d = 0; fits && x.rank >= 0 && d < x.rank; d++)
      fits = x.dims[d] < 0 || y.dims[d] < 0 || x.dims[d] == y.dims[d];
    if (!fits) {
      calib8_tensor tx = {.rank = x.rank < 0 ? 0 : x.rank}, ty = {.rank = y.rank < 0 ? 0 : y.rank};
      memcpy(tx.dims, x.dims, sizeof tx.dims);
      memcpy(ty.dims, y.dims, sizeof ty.dims);
      return c8_error(CALIB8_INVALID_ARGUMENT,
                      "input '%s' is %s in '%s' but %s in '%s' (-1: any size); both models must read the same "
                      "tensors",
                      x.name, C8_SHAPE_STR(&tx), pa, C8_SHAPE_STR(&ty), pb);
    }
  }
  if (na != nb)
    return c8_error(CALIB8_INVALID_ARGUMENT,
                    "model '%s' has %d inputs, '%s' has %d; both models must read the same inputs", pb, nb, pa, na);
  return CALIB8_OK;
}

calib8_status c8_feed_open(c8_feed *f, const calib8_model *m, int n_specs, const char *const *specs,
                            const c8_preprocess *pp, int batch, int64_t limit) {
  memset(f, 0, sizeof *f);
  f->n_inputs = calib8_model_input_count(m);
  if (f->n_inputs > C8_DATASET_MAX_INPUTS)
    return c8_error(CALIB8_UNSUPPORTED, "the model has %d inputs; at most %d are supported", f->n_inputs,
                    C8_DATASET_MAX_INPUTS);
  calib8_value_info info[C8_DATASET_MAX_INPUTS];
  for (int i = 0; i < f->n_inputs; i++) {
    calib8_model_input_info(m, i, &info[i]);
    f->names[i] = info[i].name;
  }
  calib8_status st;
  /* "NAME=SRC" when the part before '=' could be an input name (no '/') and the whole is not an existing path;
     the source itself may be a path with folders ("input=calib/images") */
  const char *eq0 = n_specs > 0 ? strchr(specs[0], '=') : NULL;
  bool named = eq0 && !memchr(specs[0], '/', (size_t)(eq0 - specs[0])) && access(specs[0], F_OK) != 0;
  if (n_specs == 1 && !named) {
    f->n_sources = 1;
    f->first_input[0] = 0;
    if ((st = c8_dataset_open(specs[0], f->n_inputs, info, pp, &f->ds[0]))) return st;
    if ((st = c8_batch_reader_init(&f->rd[0], f->ds[0], f->n_inputs, info, batch, limit, "the model"))) return st;
  } else {
    /* NAME=SRC, one per input */
    for (int k = 0; k < n_specs; k++) {
      const char *eq = strchr(specs[k], '=');
      if (!eq) return c8_error(CALIB8_INVALID_ARGUMENT, "source '%s': with several sources, write each as NAME=SRC", specs[k]);
      int idx = -1;
      for (int i = 0; i < f->n_inputs; i++)
        if (strlen(info[i].name) == (size_t)(eq - specs[k]) && !strncmp(info[i].name, specs[k], (size_t)(eq - specs[k])))
          idx = i;
      if (idx < 0) return c8_error(CALIB8_INVALID_ARGUMENT, "source '%s' names no input of the model", specs[k]);
      for (int j = 0; j < f->n_sources; j++)
        if (f->first_input[j] == idx)
          return c8_error(CALIB8_INVALID_ARGUMENT, "input '%s' is given two sources", info[idx].name);
      int s = f->n_sources++;
      f->first_input[s] = idx;
      if ((st = c8_dataset_open(eq + 1, 1, &info[idx], pp, &f->ds[s]))) return st;
      if ((st = c8_batch_reader_init(&f->rd[s], f->ds[s], 1, &info[idx], batch, limit, "the model"))) return st;
    }
    for (int i = 0; i < f->n_inputs; i++) {
      bool fed = false;
      for (int s = 0; s < f->n_sources; s++) fed |= f->first_input[s] == i;
      if (!fed) return c8_error(CALIB8_INVALID_ARGUMENT, "input '%s' has no source: add --calib %s=SRC", info[i].name, info[i].name);
    }
  }
  f->count = c8_dataset_count(f->ds[0]);
  return CALIB8_OK;
}

calib8_status c8_feed_next(c8_feed *f, c8_batch_sample_fn fn, void *user, int *rows) {
  calib8_status st;
  *rows = 0;
  int first_rows = -1;
  for (int s = 0; s < f->n_sources; s++) {
    int r;
    if ((st = c8_batch_reader_next(&f->rd[s], s == 0 ? fn : NULL, user, &r))) return st;
    if (first_rows < 0) first_rows = r;
    else if (r != first_rows)
      return c8_error(CALIB8_INVALID_ARGUMENT, "sources '%s' and '%s' hold different numbers of samples",
                      c8_dataset_spec(f->ds[0]), c8_dataset_spec(f->ds[s]));
    if (f->n_sources == 1) {
      for (int i = 0; i < f->n_inputs; i++) f->in[i] = f->rd[0].t[i];
    } else {
      f->in[f->first_input[s]] = f->rd[s].t[0];
    }
  }
  *rows = first_rows < 0 ? 0 : first_rows;
  return CALIB8_OK;
}

void c8_feed_close(c8_feed *f) {
  for (int s = 0; s < f->n_sources; s++) {
    c8_batch_reader_free(&f->rd[s]);
    c8_dataset_close(f->ds[s]);
  }
  memset(f, 0, sizeof *f);
}

