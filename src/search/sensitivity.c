/* The sensitivity ranking (include/calib8/search.h): every compute layer alone in INT8, every method tried. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/npy.h"
#include "search/search.h"

/* best_method goes out as a calib8_method: the two enums list the methods in the same order */
_Static_assert((int)CALIB8_METHOD_MAX == (int)C8_THRESHOLD_MAX && (int)CALIB8_METHOD_KL == (int)C8_THRESHOLD_KL &&
                   (int)CALIB8_METHOD_PERCENTILE == (int)C8_THRESHOLD_PERCENTILE &&
                   (int)CALIB8_METHOD_MSE == (int)C8_THRESHOLD_MSE && (int)CALIB8_METHOD_ACIQ == (int)C8_THRESHOLD_ACIQ,
               "calib8_method and c8_threshold_method differ");

struct calib8_sensitivity {
  int n;
  struct {
    char *layer, *op;
    double loss;
    c8_threshold_method method;
  } *rows;
};

calib8_status calib8_sensitivity_run(const calib8_model *model, calib8_dataset *calib,
                                     const calib8_search_options *options, calib8_sensitivity **out_ranking) {
  if (!out_ranking) return c8_error(CALIB8_INVALID_ARGUMENT, "calib8_sensitivity_run needs a place for the ranking");
  c8_search *S = c8_calloc(1, sizeof *S);
  calib8_sensitivity *r = c8_calloc(1, sizeof *r);
  calib8_session *ref = NULL;
  c8_status st = S && r ? CALIB8_OK : c8_error(CALIB8_OUT_OF_MEMORY, "out of memory");
  if (!st) st = c8_search_prepare(S, model, calib, options);
  if (st) goto out;
  c8_judge j = S->judge;
  double fp32 = 1.0; /* agreement of the FP32 model with itself */
  if (!j.sc && !j.fn) {
    /* no scorer: the cosine of the outputs against FP32 on the first 64 calibration samples */
    calib8_session_options so = calib8_session_options_default();
    so.threads = options->threads;
    if ((st = calib8_session_create(model, &so, &ref))) goto out;
    j.ds = calib;
    j.ref = ref;
    j.limit = 64;
  } else if (!j.sc || j.sc->metric != CALIB8_METRIC_SIMILARITY) {
    if ((st = c8_judge_score(&j, S->s, &fp32))) goto out;
  }
  int n = 0;
  if ((st = c8_search_rank_layers(S, C8_THRESHOLD_KL, true, &j, fp32, S->ranking, &n))) goto out;
  r->rows = c8_calloc((size_t)n + 1, sizeof *r->rows);
  if (!r->rows) {
    st = c8_error(CALIB8_OUT_OF_MEMORY, "out of memory");
    goto out;
  }
  for (int i = 0; i < n; i++) {
    const c8_node *node = &S->g->nodes[S->ranking[i].node];
    r->rows[i].layer = c8_strdup(node->name);
    r->rows[i].op = c8_strdup(node->op_type);
    r->rows[i].loss = S->ranking[i].loss;
    r->rows[i].method = S->ranking[i].best_method;
    r->n = i + 1;
    if (!r->rows[i].layer || !r->rows[i].op) {
      st = c8_error(CALIB8_OUT_OF_MEMORY, "out of memory");
      goto out;
    }
  }
out:
  calib8_session_destroy(ref);
  if (S) c8_search_close(S);
  c8_mfree(S);
  if (st) calib8_sensitivity_destroy(r);
  else *out_ranking = r;
  return st;
}

int calib8_sensitivity_count(const calib8_sensitivity *ranking) { return ranking ? ranking->n : 0; }

calib8_status calib8_sensitivity_row_at(const calib8_sensitivity *ranking, int index, calib8_sensitivity_row *out) {
  if (!ranking || !out || index < 0 || index >= ranking->n)
    return c8_error(CALIB8_INVALID_ARGUMENT, "sensitivity row %d is out of range [0, %d)", index, ranking ? ranking->n : 0);
  out->layer = ranking->rows[index].layer;
  out->op = ranking->rows[index].op;
  out->loss = ranking->rows[index].loss;
  out->best_method = (calib8_method)ranking->rows[index].method;
  return CALIB8_OK;
}

calib8_status calib8_sensitivity_write_qtable(const calib8_sensitivity *ranking, int top_k, const char *path) {
  if (!ranking || !path || top_k < 0)
    return c8_error(CALIB8_INVALID_ARGUMENT, "calib8_sensitivity_write_qtable needs a ranking, top_k >= 0 and a path");
  char *text = NULL;
  size_t len = 0;
  FILE *mem = open_memstream(&text, &len);
  if (!mem) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory");
  fprintf(mem, "# calib8 sensitivity: the %d most sensitive layers in F32 (pass with --qtable)\n", top_k);
  for (int i = 0; i < ranking->n && i < top_k; i++) fprintf(mem, "%s F32\n", ranking->rows[i].layer);
  c8_status st = fclose(mem) == 0 && text ? c8_write_file_atomic(path, text, len)
                                          : c8_error(CALIB8_OUT_OF_MEMORY, "out of memory");
  free(text); /* open_memstream's buffer comes from the C library */
  return st;
}

void calib8_sensitivity_destroy(calib8_sensitivity *ranking) {
  if (!ranking) return;
  for (int i = 0; i < ranking->n; i++) {
    c8_mfree(ranking->rows[i].layer);
    c8_mfree(ranking->rows[i].op);
  }
  c8_mfree(ranking->rows);
  c8_mfree(ranking);
}
