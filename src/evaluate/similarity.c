#include "evaluate/similarity.h"

#include <math.h>
#include <string.h>

void c8_similarity_init(c8_similarity *s) { memset(s, 0, sizeof *s); }

void c8_similarity_add(c8_similarity *s, const float *a, const float *b, int64_t n) {
  double ab = 0, aa = 0, bb = 0, dd = 0, mm = 0, sa = 0, saa = 0, sn = 0, snn = 0;
  int64_t nz = 0;
  for (int64_t i = 0; i < n; i++) {
    double x = a[i], y = b[i], d = x - y, m = (x + y) * 0.5;
    ab += x * y;
    aa += x * x;
    bb += y * y;
    dd += d * d;
    mm += m * m;
    if (y != 0.0) {
      nz++;
      sa += x;
      saa += x * x;
      sn += d;
      snn += d * d;
    }
  }
  s->ab += ab;
  s->aa += aa;
  s->bb += bb;
  s->dd += dd;
  s->mm += mm;
  s->s_a += sa;
  s->s_aa += saa;
  s->s_n += sn;
  s->s_nn += snn;
  s->n += n;
  s->n_nz += nz;
}

double c8_similarity_cosine(const c8_similarity *s) {
  if (s->aa == 0.0 && s->bb == 0.0) return 1.0;
  if (s->aa == 0.0 || s->bb == 0.0) return 0.0;
  return s->ab / sqrt(s->aa * s->bb);
}

double c8_similarity_euclidean(const c8_similarity *s) {
  double ed = sqrt(s->dd), sr = sqrt(s->mm) + 1e-7;
  if (isinf(ed) || isinf(sr)) return 0.0;
  return 1.0 - ed / sr;
}

double c8_similarity_sqnr_db(const c8_similarity *s) {
  if (s->n_nz == 0) return INFINITY;
  double k = (double)s->n_nz;
  double var_a = s->s_aa - s->s_a * s->s_a / k, var_n = s->s_nn - s->s_n * s->s_n / k;
  if (var_n <= 0.0 || var_a <= 0.0) return INFINITY;
  return 10.0 * log10(var_a / var_n);
}
