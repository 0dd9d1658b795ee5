/* calib8 compare FP32.onnx INT8.onnx --data SRC [--data NAME=SRC ...] [--preprocess STR | --template NAME]
 *                [--tolerance COS,EUCLID] [--limit N] [--batch B] [--threads N] [--json FILE]
 *
 * Layer-wise FP32 against INT8 comparison (TPU-MLIR's npz compare, streamed over a data set): for every
 * tensor the two models share by name, cosine, euclidean similarity and SQNR of the accumulated error (the
 * INT8 model as it runs) and of the isolated error (that layer alone, fed with FP32 inputs); see
 * src/evaluate/compare.h. Exit status: 0 all tensors within tolerance, 3 a tensor below it, 1/2 errors. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char *usage_text =
    "usage: calib8 compare FP32.onnx INT8.onnx --data SRC [--data NAME=SRC ...] [--preprocess STR | --template NAME]\n"
    "                      [--tolerance COS,EUCLID] [--limit N] [--batch B] [--threads N] [--json FILE]\n"
    "                      [--report FILE.html]\n"
    "       calib8 compare TARGET.npz REFERENCE.npz [--tolerance COS,EUCLID] [--except NAME,...]";

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

/* Two .npz tensor dumps (TPU-MLIR's npz_tool compare): the library compares and formats. Exit 3 when a tensor
 * fails. */
static int compare_npz(const char *target, const char *ref, const calib8_npz_compare_options *o, bool model_opts) {
  if (model_opts) return cli_fail("compare: --data, --preprocess, --template, --json, --report, --batch, --limit and "
                                  "--threads apply to comparing two models, not two .npz files"), 2;
  calib8_npz_compare *c = NULL;
  char *text = NULL;
  calib8_npz_summary s;
  calib8_status st = calib8_npz_compare_files(target, ref, o, &c);
  if (!st) st = calib8_npz_compare_format(c, &text);
  if (!st) fputs(text, stdout), calib8_npz_compare_summary(c, &s);
  calib8_free(text);
  calib8_npz_compare_destroy(c);
  return st ? cli_fail_status(st) : s.failed ? 3 : 0;
}

int cmd_compare(int argc, char **argv) {
  const char *paths[2] = {NULL, NULL}, *pp_text = NULL, *template_name = NULL, *json = NULL, *report = NULL;
  const char *specs[CALIB8_MAX_INPUTS];
  int n_specs = 0, batch = 0, limit = 0, threads = 0, n_paths = 0;
  double tc = DEFAULT_TOL_COS, te = DEFAULT_TOL_EUCLID;
  const char *excepts = NULL;
  calib8_npz_compare_options no = calib8_npz_compare_options_default();
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--data") || !strcmp(a, "-d")) {
      if (!v) return cli_fail("option %s needs a dataset (SRC or NAME=SRC)", a), 2;
      if (n_specs == CALIB8_MAX_INPUTS) return cli_fail("at most %d --data sources", CALIB8_MAX_INPUTS), 2;
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
      no.cosine_tol = tc, no.euclid_tol = te, i++;
    } else if (!strcmp(a, "--except") || !strcmp(a, "--excepts")) {
      if (!v) return cli_fail("option %s needs tensor names (NAME,NAME,...)", a), 2;
      excepts = no.excepts = v, i++;
    } else if (!strcmp(a, "--json")) {
      if (!v) return cli_fail("option %s needs a file name", a), 2;
      json = v, i++;
    } else if (!strcmp(a, "--report")) {
      if (!v) return cli_fail("option %s needs an HTML file name", a), 2;
      report = v, i++;
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
  size_t l0 = paths[0] ? strlen(paths[0]) : 0, l1 = paths[1] ? strlen(paths[1]) : 0;
  if (l0 > 4 && l1 > 4 && !strcmp(paths[0] + l0 - 4, ".npz") && !strcmp(paths[1] + l1 - 4, ".npz"))
    return compare_npz(paths[0], paths[1], &no, n_specs || pp_text || template_name || json || report || batch ||
                                                    limit || threads);
  if (excepts) return cli_fail("--except applies to comparing two .npz files\n%s", usage_text), 2;
  if (n_paths < 2 || !n_specs) return cli_fail("compare needs FP32.onnx, INT8.onnx and --data SRC\n%s", usage_text), 2;
  const char *others[3 + CALIB8_MAX_INPUTS] = {paths[0], paths[1], json};
  for (int k = 0; k < n_specs; k++) others[3 + k] = specs[k];
  if (cli_check_report(report, 3 + n_specs, others)) return 2;
  calib8_status st;
  if ((st = calib8_preprocess_validate(pp_text, template_name))) return cli_fail_status(st);

  int rc = 1;
  calib8_model *m32 = NULL, *m8 = NULL;
  calib8_session *s32 = NULL, *s8 = NULL;
  calib8_compare *cmp = NULL;
  calib8_dataset *ds = NULL;
  if ((st = calib8_model_load(paths[0], &m32))) goto fail_status;
  if ((st = calib8_model_load(paths[1], &m8))) goto fail_status;
  if ((rc = cli_check_same_inputs("compare", m32, paths[0], m8, paths[1]))) goto out;
  rc = 1;
  calib8_session_options so = calib8_session_options_default();
  so.threads = threads;
  if ((st = calib8_session_create(m32, &so, &s32))) goto fail_status;
  if ((st = calib8_session_create(m8, &so, &s8))) goto fail_status;
  if ((st = calib8_compare_create(s32, s8, &cmp))) {
    rc = cli_fail("models '%s' and '%s': %s", paths[0], paths[1], calib8_last_error());
    goto out;
  }
  calib8_dataset_options dopt = calib8_dataset_options_default();
  dopt.preprocess = pp_text;
  dopt.template_name = template_name;
  dopt.batch = batch;
  dopt.limit = limit;
  if ((st = calib8_dataset_open(m32, n_specs, specs, &dopt, &ds))) goto fail_status;
  if ((st = calib8_compare_dataset(cmp, ds))) goto fail_status;

  /* the table, in the FP32 model's topological order */
  calib8_compare_verdict v;
  if ((st = calib8_compare_verdict_at(cmp, tc, te, &v))) goto fail_status;
  int n = calib8_compare_row_count(cmp);
  calib8_compare_row r;
  size_t wname = 6, wop = 2;
  for (int i = 0; i < n; i++) {
    calib8_compare_row_at(cmp, i, &r);
    if (!r.compared) continue;
    if (strlen(r.name) > wname) wname = strlen(r.name);
    if (strlen(r.op) > wop) wop = strlen(r.op);
  }
  if (wname > 48) wname = 48;
  printf("%-*s  %-*s  %28s  %28s\n", (int)wname, "tensor", (int)wop, "op", "accumulated error         ",
         "isolated error            ");
  printf("%-*s  %-*s  %8s %9s %9s  %8s %9s %9s\n", (int)wname, "", (int)wop, "", "cosine", "euclid", "SQNR dB",
         "cosine", "euclid", "SQNR dB");
  for (int i = 0; i < n; i++) {
    calib8_compare_row_at(cmp, i, &r);
    if (!r.compared) continue;
    bool bad = calib8_similarity_below(&r.accumulated, tc, te), ibad = calib8_similarity_below(&r.isolated, tc, te);
    char q1[32], q2[32];
    printf("%-*s  %-*s  %8.6f %9.6f %9s  %8.6f %9.6f %9s%s\n", (int)wname, r.name, (int)wop, r.op,
           r.accumulated.cosine, r.accumulated.euclidean, fmt_db(r.accumulated.sqnr_db, q1, sizeof q1),
           r.isolated.cosine, r.isolated.euclidean, fmt_db(r.isolated.sqnr_db, q2, sizeof q2),
           bad ? (ibad ? "  < below (itself)" : "  < below (inherited)") : "");
  }
  if (v.compared == 0) {
    rc = cli_fail("models '%s' and '%s' share %d tensor names, but none is a float tensor of the same size in both",
                  paths[0], paths[1], n);
    goto out;
  }
  printf("compared %d tensors over %lld samples (tolerance: cosine %.6g, euclidean %.6g)\n", v.compared,
         (long long)calib8_compare_samples(cmp), tc, te);
  if (v.mismatched) printf("skipped %d shared names whose type or size differ between the models\n", v.mismatched);
  if (v.first_below < 0) {
    printf("all %d tensors are within tolerance\n", v.compared);
  } else {
    calib8_compare_row_at(cmp, v.first_below, &r);
    printf("first tensor below tolerance: '%s' (%s node '%s'): accumulated cosine %.6f, euclidean %.6f\n", r.name,
           r.op, r.node, r.accumulated.cosine, r.accumulated.euclidean);
    if (v.itself) {
      printf("it hurts by itself: alone, fed with FP32 inputs, it still reaches only cosine %.6f, euclidean %.6f\n",
             r.isolated.cosine, r.isolated.euclidean);
    } else {
      printf("it only inherits damage: alone, fed with FP32 inputs, it reaches cosine %.6f, euclidean %.6f\n",
             r.isolated.cosine, r.isolated.euclidean);
      if (v.worst_before >= 0) {
        calib8_compare_row_at(cmp, v.worst_before, &r);
        printf("the largest error of its own before it is at '%s' (%s): isolated cosine %.6f, euclidean %.6f\n",
               r.name, r.op, r.isolated.cosine, r.isolated.euclidean);
      }
    }
  }
  if (json && (st = calib8_compare_write_json(cmp, tc, te, paths[0], paths[1], json))) goto fail_status;
  rc = v.first_below >= 0 ? 3 : 0;
  if (report) {
    /* written last and apart: its failure is a warning; exit 1 only when the comparison itself passed */
    char *text = NULL;
    if ((st = calib8_compare_json(cmp, tc, te, paths[0], paths[1], &text)))
      rc = (fprintf(stderr, "calib8: warning: the report was not written: %s\n", calib8_last_error()), rc ? rc : 1);
    else {
      calib8_report_input ri = {.compare_json = text};
      rc = cli_write_report(&ri, report, rc);
    }
    calib8_free(text);
  }
  goto out;
fail_status:
  rc = cli_fail_status(st);
out:
  calib8_dataset_close(ds);
  calib8_compare_destroy(cmp);
  calib8_session_destroy(s8);
  calib8_session_destroy(s32);
  calib8_model_destroy(m8);
  calib8_model_destroy(m32);
  return rc;
}
