/* The layer-wise comparison as text (include/calib8/evaluate.h): the table `calib8 compare` prints, its verdict in
 * words, and the --tolerance COS,EUCLID pair it reads. */
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "core/status.h"
#include "calib8/calib8.h"

calib8_status calib8_compare_parse_tolerance(const char *text, double *cosine_tol, double *euclid_tol) {
  char *end;
  double a = text ? strtod(text, &end) : NAN;
  if (!text || end == text || *end != ',') goto bad;
  const char *p = end + 1;
  double b = strtod(p, &end);
  if (end == p || *end || !isfinite(a) || !isfinite(b) || a < -1 || a > 1 || b > 1) goto bad;
  *cosine_tol = a;
  *euclid_tol = b;
  return CALIB8_OK;
bad:
  return c8_error(CALIB8_INVALID_ARGUMENT,
                  "--tolerance '%s' needs two numbers COS,EUCLID: a cosine in [-1, 1] and a euclidean similarity of "
                  "at most 1 (e.g. 0.9,0.5)", text ? text : "");
}

static const char *fmt_db(double v, char *buf, size_t n) {
  if (isinf(v)) snprintf(buf, n, "%s", v > 0 ? "inf" : "-inf");
  else snprintf(buf, n, "%.2f", v);
  return buf;
}

/* The table: compared rows in the FP32 model's topological order, columns as wide as the names (at most 48). */
static void print_table(const calib8_compare *cmp, double tc, double te, FILE *f) {
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
  fprintf(f, "%-*s  %-*s  %28s  %28s\n", (int)wname, "tensor", (int)wop, "op", "accumulated error         ",
          "isolated error            ");
  fprintf(f, "%-*s  %-*s  %8s %9s %9s  %8s %9s %9s\n", (int)wname, "", (int)wop, "", "cosine", "euclid", "SQNR dB",
          "cosine", "euclid", "SQNR dB");
  for (int i = 0; i < n; i++) {
    calib8_compare_row_at(cmp, i, &r);
    if (!r.compared) continue;
    bool bad = calib8_similarity_below(&r.accumulated, tc, te), ibad = calib8_similarity_below(&r.isolated, tc, te);
    char q1[32], q2[32];
    fprintf(f, "%-*s  %-*s  %8.6f %9.6f %9s  %8.6f %9.6f %9s%s\n", (int)wname, r.name, (int)wop, r.op,
            r.accumulated.cosine, r.accumulated.euclidean, fmt_db(r.accumulated.sqnr_db, q1, sizeof q1),
            r.isolated.cosine, r.isolated.euclidean, fmt_db(r.isolated.sqnr_db, q2, sizeof q2),
            bad ? (ibad ? "  < below (itself)" : "  < below (inherited)") : "");
  }
}

calib8_status calib8_compare_print(const calib8_compare *cmp, double cosine_tol, double euclid_tol,
                                   const char *fp32_name, const char *int8_name, FILE *f,
                                   calib8_compare_verdict *out_verdict) {
  if (!cmp || !fp32_name || !int8_name || !f)
    return c8_error(CALIB8_INVALID_ARGUMENT, "calib8_compare_print needs a comparison, two model names and a FILE");
  calib8_compare_verdict v;
  calib8_status st = calib8_compare_verdict_at(cmp, cosine_tol, euclid_tol, &v);
  if (st) return st;
  print_table(cmp, cosine_tol, euclid_tol, f);
  if (v.compared == 0)
    return c8_error(CALIB8_INVALID_ARGUMENT,
                    "models '%s' and '%s' share %d tensor names, but none is a float tensor of the same size in both",
                    fp32_name, int8_name, calib8_compare_row_count(cmp));
  fprintf(f, "compared %d tensors over %lld samples (tolerance: cosine %.6g, euclidean %.6g)\n", v.compared,
          (long long)calib8_compare_samples(cmp), cosine_tol, euclid_tol);
  if (v.mismatched) fprintf(f, "skipped %d shared names whose type or size differ between the models\n", v.mismatched);
  calib8_compare_row r;
  if (v.first_below < 0) {
    fprintf(f, "all %d tensors are within tolerance\n", v.compared);
  } else {
    calib8_compare_row_at(cmp, v.first_below, &r);
    fprintf(f, "first tensor below tolerance: '%s' (%s node '%s'): accumulated cosine %.6f, euclidean %.6f\n", r.name,
            r.op, r.node, r.accumulated.cosine, r.accumulated.euclidean);
    if (v.itself) {
      fprintf(f, "it hurts by itself: alone, fed with FP32 inputs, it still reaches only cosine %.6f, euclidean %.6f\n",
              r.isolated.cosine, r.isolated.euclidean);
    } else {
      fprintf(f, "it only inherits damage: alone, fed with FP32 inputs, it reaches cosine %.6f, euclidean %.6f\n",
              r.isolated.cosine, r.isolated.euclidean);
      if (v.worst_before >= 0) {
        calib8_compare_row_at(cmp, v.worst_before, &r);
        fprintf(f, "the largest error of its own before it is at '%s' (%s): isolated cosine %.6f, euclidean %.6f\n",
                r.name, r.op, r.isolated.cosine, r.isolated.euclidean);
      }
    }
  }
  if (out_verdict) *out_verdict = v;
  return CALIB8_OK;
}
