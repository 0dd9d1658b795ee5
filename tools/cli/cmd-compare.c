/* calib8 compare (usage_text): layer-wise FP32 against INT8 comparison (TPU-MLIR's npz compare, streamed over a
 * data set): for every tensor the two models share by name, cosine, euclidean similarity and SQNR of the
 * accumulated error (the INT8 model as it runs) and of the isolated error (that layer alone, fed with FP32 inputs);
 * see src/evaluate/compare.h. Exit status: 0 all tensors within tolerance, 3 a tensor below it, 1/2 errors. */
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
      if (calib8_compare_parse_tolerance(v, &tc, &te)) return cli_fail_status(CALIB8_INVALID_ARGUMENT);
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
  calib8_status st;
  if ((st = calib8_outputs_check_report(report, 3 + n_specs, others))) return cli_fail_status(st);
  if ((st = calib8_preprocess_validate(pp_text, template_name))) return cli_fail_status(st);

  int rc = 1;
  calib8_model *m32 = NULL, *m8 = NULL;
  calib8_session *s32 = NULL, *s8 = NULL;
  calib8_compare *cmp = NULL;
  calib8_dataset *ds = NULL;
  if ((st = calib8_model_load(paths[0], &m32))) goto fail_status;
  if ((st = calib8_model_load(paths[1], &m8))) goto fail_status;
  if (calib8_model_check_same_inputs(m32, paths[0], m8, paths[1])) {
    rc = cli_fail("compare: %s", calib8_last_error());
    goto out;
  }
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

  /* the table, in the FP32 model's topological order, and the verdict */
  calib8_compare_verdict v;
  if ((st = calib8_compare_print(cmp, tc, te, paths[0], paths[1], stdout, &v))) {
    rc = cli_fail("%s", calib8_last_error());
    goto out;
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
