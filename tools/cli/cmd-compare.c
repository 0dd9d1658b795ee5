/* calib8 compare FP32.onnx INT8.onnx --data SRC [--data NAME=SRC ...] [--preprocess STR | --template NAME]
 *                [--tolerance COS,EUCLID] [--limit N] [--batch B] [--threads N] [--json FILE]
 *
 * Layer-wise FP32 against INT8 comparison (TPU-MLIR's npz compare, streamed over a data set): for every
 * tensor the two models share by name, cosine, euclidean similarity and SQNR of the accumulated error (the
 * INT8 model as it runs) and of the isolated error (that layer alone, fed with FP32 inputs); see
 * src/evaluate/compare.h. Exit status: 0 all tensors within tolerance, 3 a tensor below it, 1/2 errors. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data/feed.h"
#include "cli.h"
#include "data/npy.h"
#include "evaluate/compare.h"

static const char *usage_text =
    "usage: calib8 compare FP32.onnx INT8.onnx --data SRC [--data NAME=SRC ...] [--preprocess STR | --template NAME]\n"
    "                      [--tolerance COS,EUCLID] [--limit N] [--batch B] [--threads N] [--json FILE]";

#define DEFAULT_TOL_COS 0.9
#define DEFAULT_TOL_EUCLID 0.5

static bool parse_tolerance(const char *v, double *cos_tol, double *euc_tol) {
  char *end;
  double a = strtod(v, &end);
  if (end == v || *end != ',') goto bad;
  const char *p = end + 1;
  double b = strtod(p, &end);
  if (end == p || *end || !isfinite(a) || !isfinite(b) || a < -1 || a > 1 || b > 1) goto bad;
  *cos_tol = a;
  *euc_tol = b;
  return true;
bad:
  cli_fail(
      "--tolerance '%s' needs two numbers COS,EUCLID: a cosine in [-1, 1] and a euclidean similarity of at "
      "most 1 (e.g. 0.9,0.5)",
      v);
  return false;
}

static const char *fmt_db(double v, char *buf, size_t n) {
  if (isinf(v))
    snprintf(buf, n, "%s", v > 0 ? "inf" : "-inf");
  else
    snprintf(buf, n, "%.2f", v);
  return buf;
}

static bool below(const c8_similarity *s, double tc, double te) {
  double c = c8_similarity_cosine(s), e = c8_similarity_euclidean(s);
  return !(c >= tc) || !(e >= te); /* NaN fails */
}

static cJSON *sim_json(const c8_similarity *s) {
  cJSON *o = cJSON_CreateObject();
  if (!o) return NULL;
  cJSON_AddNumberToObject(o, "cosine", c8_similarity_cosine(s));
  cJSON_AddNumberToObject(o, "euclidean", c8_similarity_euclidean(s));
  double q = c8_similarity_sqnr_db(s);
  if (isfinite(q))
    cJSON_AddNumberToObject(o, "sqnr_db", q);
  else
    cJSON_AddNullToObject(o, "sqnr_db"); /* no noise (identical), JSON has no infinity */
  return o;
}

int cmd_compare(int argc, char **argv) {
  const char *paths[2] = {NULL, NULL}, *pp_text = NULL, *template_name = NULL, *json = NULL;
  const char *specs[C8_DATASET_MAX_INPUTS];
  int n_specs = 0, batch = 0, limit = 0, threads = 0, n_paths = 0;
  double tc = DEFAULT_TOL_COS, te = DEFAULT_TOL_EUCLID;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--data") || !strcmp(a, "-d")) {
      if (!v) return cli_fail("option %s needs a dataset (SRC or NAME=SRC)", a), 2;
      if (n_specs == C8_DATASET_MAX_INPUTS) return cli_fail("at most %d --data sources", C8_DATASET_MAX_INPUTS), 2;
      specs[n_specs++] = v, i++;
    } else if (!strcmp(a, "--preprocess") || !strcmp(a, "-p")) {
      if (!v) return cli_fail("option %s needs a preprocessing string", a), 2;
      pp_text = v, i++;
    } else if (!strcmp(a, "--template")) {
      if (!v) return cli_fail("option %s needs a template name", a), 2;
      template_name = v, i++;
    } else if (!strcmp(a, "--tolerance")) {
      if (!v) return cli_fail("option %s needs COS,EUCLID (e.g. 0.9,0.5)", a), 2;
      if (!parse_tolerance(v, &tc, &te)) return 2;
      i++;
    } else if (!strcmp(a, "--json")) {
      if (!v) return cli_fail("option %s needs a file name", a), 2;
      json = v, i++;
    } else if (!strcmp(a, "--batch")) {
      if (!cli_parse_int(a, v, 1, 4096, &batch)) return 2;
      i++;
    } else if (!strcmp(a, "--limit")) {
      if (!cli_parse_int(a, v, 1, 2000000000, &limit)) return 2;
      i++;
    } else if (!strcmp(a, "--threads")) {
      if (!cli_parse_int(a, v, 1, 256, &threads)) return 2;
      i++;
    } else if (a[0] == '-') {
      return cli_fail("compare: unknown option '%s'\n%s", a, usage_text), 2;
    } else if (n_paths < 2) {
      paths[n_paths++] = a;
    } else {
      return cli_fail("compare: unexpected argument '%s'\n%s", a, usage_text), 2;
    }
  }
  if (n_paths < 2 || !n_specs) return cli_fail("compare needs FP32.onnx, INT8.onnx and --data SRC\n%s", usage_text), 2;
  c8_preprocess pp;
  bool has_pp;
  if (!cli_parse_preprocess(pp_text, template_name, &pp, &has_pp)) return 2;

  int rc = 1;
  calib8_model *m32 = NULL, *m8 = NULL;
  calib8_session *s32 = NULL, *s8 = NULL;
  c8_compare *cmp = NULL;
  c8_feed feed;
  bool feed_open = false;
  cJSON *root = NULL;
  calib8_status st;
  if ((st = calib8_model_load(paths[0], &m32))) goto fail_status;
  if ((st = calib8_model_load(paths[1], &m8))) goto fail_status;
  if ((rc = cli_check_same_inputs("compare", m32, paths[0], m8, paths[1]))) goto out;
  rc = 1;
  calib8_session_options so = calib8_session_options_default();
  so.threads = threads;
  if ((st = calib8_session_create(m32, &so, &s32))) goto fail_status;
  if ((st = calib8_session_create(m8, &so, &s8))) goto fail_status;
  if ((st = c8_compare_create(s32, s8, &cmp))) {
    rc = cli_fail("models '%s' and '%s': %s", paths[0], paths[1], calib8_last_error());
    goto out;
  }
  feed_open = true; /* c8_feed_close also releases a half-opened feed */
  if ((st = c8_feed_open(&feed, m32, n_specs, specs, has_pp ? &pp : NULL, batch, limit))) goto fail_status;

  int64_t samples = 0;
  for (;;) {
    int rows;
    if ((st = c8_feed_next(&feed, NULL, NULL, &rows))) goto fail_status;
    if (!rows) break;
    if ((st = c8_compare_run(cmp, feed.n_inputs, feed.names, feed.in, rows))) goto fail_status;
    samples += rows;
  }

  /* the table, in the FP32 model's topological order */
  int n = c8_compare_row_count(cmp), shown = 0, mismatched = 0, first_bad = -1;
  size_t wname = 6, wop = 2;
  for (int i = 0; i < n; i++) {
    const c8_compare_row *r = c8_compare_row_at(cmp, i);
    if (!r->seen) continue;
    if (strlen(r->name) > wname) wname = strlen(r->name);
    if (strlen(r->op) > wop) wop = strlen(r->op);
  }
  if (wname > 48) wname = 48;
  printf("%-*s  %-*s  %28s  %28s\n", (int)wname, "tensor", (int)wop, "op", "accumulated error         ",
         "isolated error            ");
  printf("%-*s  %-*s  %8s %9s %9s  %8s %9s %9s\n", (int)wname, "", (int)wop, "", "cosine", "euclid", "SQNR dB",
         "cosine", "euclid", "SQNR dB");
  for (int i = 0; i < n; i++) {
    const c8_compare_row *r = c8_compare_row_at(cmp, i);
    if (r->mismatch && !r->seen) mismatched++;
    if (!r->seen) continue;
    shown++;
    bool bad = below(&r->acc, tc, te), ibad = below(&r->iso, tc, te);
    if (bad && first_bad < 0) first_bad = i;
    char q1[32], q2[32];
    printf("%-*s  %-*s  %8.6f %9.6f %9s  %8.6f %9.6f %9s%s\n", (int)wname, r->name, (int)wop, r->op,
           c8_similarity_cosine(&r->acc), c8_similarity_euclidean(&r->acc),
           fmt_db(c8_similarity_sqnr_db(&r->acc), q1, sizeof q1), c8_similarity_cosine(&r->iso),
           c8_similarity_euclidean(&r->iso), fmt_db(c8_similarity_sqnr_db(&r->iso), q2, sizeof q2),
           bad ? (ibad ? "  < below (itself)" : "  < below (inherited)") : "");
  }
  if (shown == 0) {
    rc = cli_fail("models '%s' and '%s' share %d tensor names, but none is a float tensor of the same size in both",
                  paths[0], paths[1], n);
    goto out;
  }
  printf("compared %d tensors over %lld samples (tolerance: cosine %.6g, euclidean %.6g)%s\n", shown,
         (long long)samples, tc, te, mismatched ? "" : "");
  if (mismatched) printf("skipped %d shared names whose type or size differ between the models\n", mismatched);
  const c8_compare_row *fb = first_bad >= 0 ? c8_compare_row_at(cmp, first_bad) : NULL;
  const c8_compare_row *worst = NULL;
  const char *cause = NULL;
  if (!fb) {
    printf("all %d tensors are within tolerance\n", shown);
  } else {
    bool itself = below(&fb->iso, tc, te);
    cause = itself ? "itself" : "inherited";
    printf("first tensor below tolerance: '%s' (%s node '%s'): accumulated cosine %.6f, euclidean %.6f\n", fb->name,
           fb->op, fb->node, c8_similarity_cosine(&fb->acc), c8_similarity_euclidean(&fb->acc));
    if (itself)
      printf("it hurts by itself: alone, fed with FP32 inputs, it still reaches only cosine %.6f, euclidean %.6f\n",
             c8_similarity_cosine(&fb->iso), c8_similarity_euclidean(&fb->iso));
    else {
      /* the layer before it with the largest error of its own (lowest isolated euclidean similarity) */
      for (int i = 0; i < first_bad; i++) {
        const c8_compare_row *r = c8_compare_row_at(cmp, i);
        if (r->seen && (!worst || c8_similarity_euclidean(&r->iso) < c8_similarity_euclidean(&worst->iso))) worst = r;
      }
      printf("it only inherits damage: alone, fed with FP32 inputs, it reaches cosine %.6f, euclidean %.6f\n",
             c8_similarity_cosine(&fb->iso), c8_similarity_euclidean(&fb->iso));
      if (worst)
        printf("the largest error of its own before it is at '%s' (%s): isolated cosine %.6f, euclidean %.6f\n",
               worst->name, worst->op, c8_similarity_cosine(&worst->iso), c8_similarity_euclidean(&worst->iso));
    }
  }

  if (json) {
    root = cJSON_CreateObject();
    cJSON *tol = root ? cJSON_AddObjectToObject(root, "tolerance") : NULL;
    cJSON *arr = root ? cJSON_AddArrayToObject(root, "tensors") : NULL;
    if (!tol || !arr) goto oom;
    cJSON_AddStringToObject(root, "fp32", paths[0]);
    cJSON_AddStringToObject(root, "int8", paths[1]);
    cJSON_AddNumberToObject(root, "samples", (double)samples);
    cJSON_AddNumberToObject(tol, "cosine", tc);
    cJSON_AddNumberToObject(tol, "euclidean", te);
    for (int i = 0; i < n; i++) {
      const c8_compare_row *r = c8_compare_row_at(cmp, i);
      if (!r->seen) continue;
      cJSON *o = cJSON_CreateObject();
      if (!o) goto oom;
      cJSON_AddItemToArray(arr, o);
      cJSON_AddStringToObject(o, "name", r->name);
      cJSON_AddStringToObject(o, "op", r->op);
      cJSON_AddStringToObject(o, "node", r->node);
      cJSON *a = sim_json(&r->acc), *b = sim_json(&r->iso);
      if (!a || !b) {
        cJSON_Delete(a);
        cJSON_Delete(b);
        goto oom;
      }
      cJSON_AddItemToObject(o, "accumulated", a);
      cJSON_AddItemToObject(o, "isolated", b);
      cJSON_AddBoolToObject(o, "pass", !below(&r->acc, tc, te));
    }
    cJSON_AddBoolToObject(root, "pass", fb == NULL);
    if (fb) {
      cJSON *f = cJSON_AddObjectToObject(root, "first_failure");
      if (!f) goto oom;
      cJSON_AddStringToObject(f, "name", fb->name);
      cJSON_AddStringToObject(f, "op", fb->op);
      cJSON_AddStringToObject(f, "cause", cause);
      if (worst) cJSON_AddStringToObject(f, "largest_isolated_error_before", worst->name);
    } else {
      cJSON_AddNullToObject(root, "first_failure");
    }
    char *text = cJSON_Print(root);
    if (!text) goto oom;
    st = c8_write_file_atomic(json, text, strlen(text));
    free(text);
    if (st) goto fail_status;
  }
  rc = fb ? 3 : 0;
  goto out;
oom:
  rc = cli_fail("out of memory writing '%s'", json);
  goto out;
fail_status:
  rc = cli_fail_status(st);
out:
  cJSON_Delete(root);
  if (feed_open) c8_feed_close(&feed);
  c8_compare_destroy(cmp);
  calib8_session_destroy(s8);
  calib8_session_destroy(s32);
  calib8_model_destroy(m8);
  calib8_model_destroy(m32);
  return rc;
}
