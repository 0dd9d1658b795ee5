/* The public layer-wise comparison (include/calib8/evaluate.h) over the engine (evaluate/compare.h): rows, the
 * verdict at a tolerance and the JSON report. */
#include <cjson/cJSON.h>
#include <math.h>
#include <string.h>

#include "data/npy.h"
#include "evaluate/compare.h"

struct calib8_compare {
  c8_compare *c;
  int64_t samples;
};

calib8_status calib8_compare_create(calib8_session *fp32, calib8_session *int8, calib8_compare **out_compare) {
  if (!fp32 || !int8 || !out_compare)
    return c8_error(CALIB8_INVALID_ARGUMENT, "calib8_compare_create needs two sessions and an output pointer");
  calib8_compare *cmp = c8_calloc(1, sizeof *cmp);
  if (!cmp) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory preparing the comparison");
  calib8_status st = c8_compare_create(fp32, int8, &cmp->c);
  if (st) {
    c8_mfree(cmp);
    return st;
  }
  *out_compare = cmp;
  return CALIB8_OK;
}

void calib8_compare_destroy(calib8_compare *cmp) {
  if (!cmp) return;
  c8_compare_destroy(cmp->c);
  c8_mfree(cmp);
}

calib8_status calib8_compare_run(calib8_compare *cmp, const calib8_batch *batch) {
  if (!cmp || !batch || batch->rows < 0)
    return c8_error(CALIB8_INVALID_ARGUMENT, "calib8_compare_run needs a comparison and a batch");
  if (batch->rows == 0) return CALIB8_OK; /* the end of a dataset: nothing to run */
  calib8_status st = c8_compare_run(cmp->c, batch->n_inputs, batch->names, batch->inputs, batch->rows);
  if (!st) cmp->samples += batch->rows;
  return st;
}

calib8_status calib8_compare_dataset(calib8_compare *cmp, calib8_dataset *ds) {
  if (!cmp || !ds) return c8_error(CALIB8_INVALID_ARGUMENT, "calib8_compare_dataset needs a comparison and a dataset");
  for (;;) {
    calib8_batch b;
    calib8_status st = calib8_dataset_next(ds, &b);
    if (st) return st;
    if (!b.rows) return CALIB8_OK;
    if ((st = calib8_compare_run(cmp, &b))) return st;
  }
}

int calib8_compare_row_count(const calib8_compare *cmp) { return cmp ? c8_compare_row_count(cmp->c) : 0; }
int64_t calib8_compare_samples(const calib8_compare *cmp) { return cmp ? cmp->samples : 0; }

static calib8_similarity_stats stats(const c8_similarity *s) {
  calib8_similarity_stats t = {c8_similarity_cosine(s), c8_similarity_euclidean(s), c8_similarity_sqnr_db(s)};
  return t;
}

int calib8_similarity_below(const calib8_similarity_stats *s, double cosine_tol, double euclid_tol) {
  return !(s->cosine >= cosine_tol) || !(s->euclidean >= euclid_tol); /* NaN fails */
}

static void row_of(const c8_compare_row *r, calib8_compare_row *out) {
  out->name = r->name;
  out->op = r->op;
  out->node = r->node;
  out->accumulated = stats(&r->acc);
  out->isolated = stats(&r->iso);
  out->compared = r->seen;
  out->mismatch = r->mismatch && !r->seen;
}

calib8_status calib8_compare_row_at(const calib8_compare *cmp, int index, calib8_compare_row *out) {
  const c8_compare_row *r = cmp && out ? c8_compare_row_at(cmp->c, index) : NULL;
  if (!r)
    return c8_error(CALIB8_INVALID_ARGUMENT, "comparison row %d does not exist (%d rows)", index,
                    calib8_compare_row_count(cmp));
  row_of(r, out);
  return CALIB8_OK;
}

calib8_status calib8_compare_verdict_at(const calib8_compare *cmp, double cosine_tol, double euclid_tol,
                                        calib8_compare_verdict *out) {
  if (!cmp || !out) return c8_error(CALIB8_INVALID_ARGUMENT, "calib8_compare_verdict_at needs a comparison and a verdict");
  calib8_compare_verdict v = {.first_below = -1, .worst_before = -1};
  calib8_compare_row r, worst = {0};
  int n = c8_compare_row_count(cmp->c);
  for (int i = 0; i < n; i++) {
    row_of(c8_compare_row_at(cmp->c, i), &r);
    v.mismatched += r.mismatch;
    if (!r.compared) continue;
    v.compared++;
    if (v.first_below < 0 && calib8_similarity_below(&r.accumulated, cosine_tol, euclid_tol)) {
      v.first_below = i;
      v.itself = calib8_similarity_below(&r.isolated, cosine_tol, euclid_tol);
    }
  }
  if (v.first_below >= 0 && !v.itself) {
    /* damage it only inherits: the layer before it with the largest error of its own (lowest isolated
       euclidean similarity) is where to look */
    for (int i = 0; i < v.first_below; i++) {
      row_of(c8_compare_row_at(cmp->c, i), &r);
      if (r.compared && (v.worst_before < 0 || r.isolated.euclidean < worst.isolated.euclidean)) {
        v.worst_before = i;
        worst = r;
      }
    }
  }
  *out = v;
  return CALIB8_OK;
}

static cJSON *stats_json(const calib8_similarity_stats *s) {
  cJSON *o = cJSON_CreateObject();
  if (!o) return NULL;
  cJSON_AddNumberToObject(o, "cosine", s->cosine);
  cJSON_AddNumberToObject(o, "euclidean", s->euclidean);
  if (isfinite(s->sqnr_db))
    cJSON_AddNumberToObject(o, "sqnr_db", s->sqnr_db);
  else
    cJSON_AddNullToObject(o, "sqnr_db"); /* no noise (identical), JSON has no infinity */
  return o;
}

calib8_status calib8_compare_write_json(const calib8_compare *cmp, double cosine_tol, double euclid_tol,
                                        const char *fp32_name, const char *int8_name, const char *path) {
  if (!cmp || !fp32_name || !int8_name || !path)
    return c8_error(CALIB8_INVALID_ARGUMENT, "calib8_compare_write_json needs a comparison, two model names and a path");
  calib8_compare_verdict v;
  calib8_compare_verdict_at(cmp, cosine_tol, euclid_tol, &v);
  if (v.compared == 0)
    return c8_error(CALIB8_INVALID_ARGUMENT, "models '%s' and '%s': no tensor could be compared, so there is nothing to write to '%s'",
                    fp32_name, int8_name, path);
  calib8_status st = CALIB8_OK;
  char *text = NULL;
  cJSON *root = cJSON_CreateObject();
  cJSON *tol = root ? cJSON_AddObjectToObject(root, "tolerance") : NULL;
  cJSON *arr = root ? cJSON_AddArrayToObject(root, "tensors") : NULL;
  if (!tol || !arr) goto oom;
  cJSON_AddStringToObject(root, "fp32", fp32_name);
  cJSON_AddStringToObject(root, "int8", int8_name);
  cJSON_AddNumberToObject(root, "samples", (double)cmp->samples);
  cJSON_AddNumberToObject(tol, "cosine", cosine_tol);
  cJSON_AddNumberToObject(tol, "euclidean", euclid_tol);
  int n = c8_compare_row_count(cmp->c);
  calib8_compare_row r;
  for (int i = 0; i < n; i++) {
    row_of(c8_compare_row_at(cmp->c, i), &r);
    if (!r.compared) continue;
    cJSON *o = cJSON_CreateObject();
    if (!o) goto oom;
    cJSON_AddItemToArray(arr, o);
    cJSON_AddStringToObject(o, "name", r.name);
    cJSON_AddStringToObject(o, "op", r.op);
    cJSON_AddStringToObject(o, "node", r.node);
    cJSON *a = stats_json(&r.accumulated), *b = stats_json(&r.isolated);
    if (!a || !b) {
      cJSON_Delete(a);
      cJSON_Delete(b);
      goto oom;
    }
    cJSON_AddItemToObject(o, "accumulated", a);
    cJSON_AddItemToObject(o, "isolated", b);
    cJSON_AddBoolToObject(o, "pass", !calib8_similarity_below(&r.accumulated, cosine_tol, euclid_tol));
  }
  cJSON_AddBoolToObject(root, "pass", v.first_below < 0);
  if (v.first_below >= 0) {
    cJSON *f = cJSON_AddObjectToObject(root, "first_failure");
    if (!f) goto oom;
    row_of(c8_compare_row_at(cmp->c, v.first_below), &r);
    cJSON_AddStringToObject(f, "name", r.name);
    cJSON_AddStringToObject(f, "op", r.op);
    cJSON_AddStringToObject(f, "cause", v.itself ? "itself" : "inherited");
    if (v.worst_before >= 0)
      cJSON_AddStringToObject(f, "largest_isolated_error_before", c8_compare_row_at(cmp->c, v.worst_before)->name);
  } else {
    cJSON_AddNullToObject(root, "first_failure");
  }
  if (!(text = cJSON_Print(root))) goto oom;
  st = c8_write_file_atomic(path, text, strlen(text));
  goto out;
oom:
  st = c8_error(CALIB8_OUT_OF_MEMORY, "out of memory writing '%s'", path);
out:
  cJSON_free(text);
  cJSON_Delete(root);
  return st;
}
