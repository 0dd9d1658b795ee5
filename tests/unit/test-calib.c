/* Histogram observer determinism and threshold methods on known distributions. */
#include <math.h>
#include <stdint.h>

#include "check.h"
#include "core/cpu.h"
#include "kernels/histogram/histogram.h"
#include "observe/histogram.h"
#include "threshold/threshold.h"

static uint64_t rng = 88172645463325252ull;
static double uniform01(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (double)(rng >> 11) / 9007199254740992.0;
}
static float gauss(void) {
  double u = uniform01(), v = uniform01();
  if (u < 1e-300) u = 1e-300;
  return (float)(sqrt(-2 * log(u)) * cos(2 * M_PI * v));
}

#define N 200000
static float xs[N];
static c8_histogram a, b, c, d;

static void test_order_independence(void) {
  rng = 1;
  for (int i = 0; i < N; i++) xs[i] = gauss() * (i % 1000 == 0 ? 7.0f : 1.0f);
  xs[N / 2] = 100.0f; /* a late outlier that grows the range */
  c8_histogram_init(&a);
  c8_histogram_add(&a, xs, N);
  /* reverse order, small batches */
  c8_histogram_init(&b);
  for (int i = N; i > 0; i -= 37) {
    int s = i - 37 < 0 ? 0 : i - 37;
    c8_histogram_add(&b, xs + s, i - s);
  }
  /* two "threads" merged */
  c8_histogram_init(&c);
  c8_histogram_init(&d);
  c8_histogram_add(&c, xs + N / 2, N - N / 2);
  c8_histogram_add(&d, xs, N / 2);
  c8_histogram_merge(&c, &d);
  CHECK(memcmp(a.bins, b.bins, sizeof a.bins) == 0);
  CHECK(memcmp(a.bins, c.bins, sizeof a.bins) == 0);
  CHECK_EQ_INT(a.exp, b.exp);
  CHECK_EQ_INT(a.exp, c.exp);
  CHECK_EQ_INT(a.count, N);
  CHECK_NEAR(a.max, 100.0, 0);
  CHECK_EQ_INT(a.exp, 7); /* 100 < 2^7 */
  uint64_t total = a.zeros;
  for (int i = 0; i < 2 * C8_HIST_BINS; i++) total += a.bins[i];
  CHECK_EQ_INT(total, N);
}

static void test_thresholds_gaussian(void) {
  rng = 7;
  for (int i = 0; i < N; i++) xs[i] = gauss();
  xs[0] = 12.0f; /* one outlier */
  c8_histogram_init(&a);
  c8_histogram_add(&a, xs, N);
  c8_threshold_options o = c8_threshold_options_default();
  double tmax = c8_threshold_compute(C8_THRESHOLD_MAX, &a, &o);
  double tkl = c8_threshold_compute(C8_THRESHOLD_KL, &a, &o);
  double tpc = c8_threshold_compute(C8_THRESHOLD_PERCENTILE, &a, &o);
  double tmse = c8_threshold_compute(C8_THRESHOLD_MSE, &a, &o);
  double taciq = c8_threshold_compute(C8_THRESHOLD_ACIQ, &a, &o);
  fprintf(stderr, "  max %.3f kl %.3f percentile %.3f mse %.3f aciq %.3f\n", tmax, tkl, tpc, tmse, taciq);
  CHECK_NEAR(tmax, 12.0, 0);
  /* 99.99th percentile of |N(0,1)| is 3.89 */
  CHECK_NEAR(tpc, 3.89, 0.15);
  /* ACIQ for a Gaussian: 3.92 sigma */
  CHECK_NEAR(taciq, 3.92, 0.2);
  /* KL and MSE clip the outlier and land in the body's tail */
  CHECK(tkl > 2.0 && tkl < 6.0);
  CHECK(tmse > 2.0 && tmse < 6.0);
  /* MSE's threshold has the lowest expected error of all */
  double emse = c8_threshold_error(&a, tmse, 127);
  CHECK(emse <= c8_threshold_error(&a, tmax, 127));
  CHECK(emse <= c8_threshold_error(&a, tkl, 127) * 1.0000001);
  /* ADMM: a fixed point of codes and scale; it clips the outlier, and its error is below MAX's (every step of the
     alternation lowers it, from MAX's scale) and within a small factor of MSE's exhaustive optimum */
  double tadmm = c8_threshold_compute(C8_THRESHOLD_ADMM, &a, &o);
  fprintf(stderr, "  admm %.3f\n", tadmm);
  CHECK(tadmm > 1.0 && tadmm < tmax);
  double eadmm = c8_threshold_error(&a, tadmm, 127);
  CHECK(eadmm < c8_threshold_error(&a, tmax, 127));
  CHECK(eadmm >= emse * 0.9999999 && eadmm <= 4 * emse);
  /* the names NNTC and TPU-MLIR users type */
  double p = 0;
  CHECK_EQ_INT(c8_threshold_method_parse("ADMM"), C8_THRESHOLD_ADMM);
  CHECK_EQ_INT(c8_threshold_method_parse_ex("PERCENTILE9999", &p), C8_THRESHOLD_PERCENTILE);
  CHECK_NEAR(p, 99.99, 1e-9);
  CHECK_EQ_INT(c8_threshold_method_parse_ex("percentile999", &p), C8_THRESHOLD_PERCENTILE);
  CHECK_NEAR(p, 99.9, 1e-9);
  CHECK_EQ_INT(c8_threshold_method_parse("PERCENTILE0"), -1);
  CHECK_EQ_INT(c8_threshold_method_parse("percentile99x"), -1);
}

static void test_all_zero(void) {
  for (int i = 0; i < 1000; i++) xs[i] = 0.0f;
  c8_histogram_init(&a);
  c8_histogram_add(&a, xs, 1000);
  for (int m = 0; m < C8_THRESHOLD_COUNT; m++) CHECK_NEAR(c8_threshold_compute(m, &a, NULL), 0.0, 0);
  CHECK_EQ_INT(c8_threshold_method_parse("kl"), C8_THRESHOLD_KL);
  CHECK_EQ_INT(c8_threshold_method_parse("nope"), -1);
}

/* Every ISA version of the scan and binning kernels gives the scalar reference's result, bit for bit,
   on lengths that are not multiples of the vector width and on values that need care: +-0, NaN, +-inf,
   subnormals, the largest values of the range and values below the smallest bin. */
static uint64_t ref_bins[4096], isa_bins[4096];
static void test_kernels_match_scalar(void) {
  rng = 3;
  for (int i = 0; i < N; i++) {
    double u = uniform01();
    float v = gauss() * 3.0f;
    if (u < 0.3) v = 0.0f;
    else if (u < 0.32) v = -0.0f;
    else if (u < 0.33) v = NAN;
    else if (u < 0.335) v = (i & 1) ? INFINITY : -INFINITY;
    else if (u < 0.34) v = (i & 1) ? 1e-40f : -1e-40f;
    else if (u < 0.345) v = (i & 1) ? 15.999f : -16.0f;
    xs[i] = v;
  }
  /* 2^(11 - 4) for the negatives (range [-16, 0)), 2^(11 - 5) for the positives ([0, 32)) */
  const float sneg = 128.0f, spos = 64.0f;
  const size_t lengths[] = {0, 1, 7, 15, 16, 17, 63, 64, 65, 1000, N};
  c8_isa top = c8_cpu_detect();
  for (size_t li = 0; li < sizeof lengths / sizeof lengths[0]; li++) {
    size_t n = lengths[li];
    for (size_t off = 0; off < 3; off++) {
      if (off + n > N) continue;
      c8_f32_scan ref = {.min = INFINITY, .max = -INFINITY};
      c8_f32_scan__scalar(xs + off, n, &ref);
      memset(ref_bins, 0, sizeof ref_bins);
      c8_f32_bin__scalar(xs + off, n, sneg, spos, ref_bins);
      for (int isa = C8_ISA_AVX2; isa <= (int)top; isa++) {
        c8_cpu_set_isa((c8_isa)isa);
        c8_f32_scan s = {.min = INFINITY, .max = -INFINITY};
        c8_f32_scan_select()(xs + off, n, &s);
        memset(isa_bins, 0, sizeof isa_bins);
        c8_f32_bin_select()(xs + off, n, sneg, spos, isa_bins);
        CHECK(s.finite == ref.finite && s.zeros == ref.zeros);
        CHECK(s.min == ref.min && s.max == ref.max);
        CHECK(memcmp(ref_bins, isa_bins, sizeof ref_bins) == 0);
        c8_f32_scan_bin_fn one_pass = c8_f32_scan_bin_select();
        if (one_pass) { /* the one-pass kernel: both results at once */
          c8_f32_scan s1 = {.min = INFINITY, .max = -INFINITY};
          memset(isa_bins, 0, sizeof isa_bins);
          one_pass(xs + off, n, sneg, spos, isa_bins, &s1);
          CHECK(s1.finite == ref.finite && s1.zeros == ref.zeros && s1.min == ref.min && s1.max == ref.max);
          CHECK(memcmp(ref_bins, isa_bins, sizeof ref_bins) == 0);
        }
      }
      c8_cpu_set_isa(top);
    }
  }
  /* the counts are right, not only equal: NaN and inf are not finite, +-0 are zeros */
  c8_f32_scan all = {.min = INFINITY, .max = -INFINITY};
  c8_f32_scan__scalar(xs, N, &all);
  uint64_t nonfinite = 0, zeros = 0, binned = 0;
  for (int i = 0; i < N; i++) {
    nonfinite += !isfinite(xs[i]);
    zeros += xs[i] == 0.0f;
  }
  memset(ref_bins, 0, sizeof ref_bins);
  c8_f32_bin__scalar(xs, N, sneg, spos, ref_bins);
  for (int b = 0; b < 4096; b++) binned += ref_bins[b];
  CHECK_EQ_INT(all.finite, N - nonfinite);
  CHECK_EQ_INT(all.zeros, zeros);
  CHECK_EQ_INT(binned, N - nonfinite - zeros);
  CHECK(ref_bins[0] > 0); /* -16 lands in the first bin */
  CHECK(ref_bins[2048 + 1023] > 0 && ref_bins[2048 + 1024] == 0); /* 15.999 in the middle of [0, 32) */
}

/* The direct O(i) evaluation of TensorRT's entropy calibration that threshold-kl.c computes in closed
   form: the same candidates, P, Q and smoothing, summed bin by bin. */
static double kl_reference(const c8_histogram *h, int levels) {
  static uint64_t bins[C8_HIST_BINS];
  static double p[C8_HIST_BINS], q[C8_HIST_BINS];
  double w = c8_histogram_abs(h, bins);
  if (w == 0.0) return 0.0;
  bins[0] -= h->zeros;
  int last = C8_HIST_BINS - 1;
  while (last > 0 && bins[last] == 0) last--;
  if (last + 1 <= levels) return (last + 1) * w;
  double best = INFINITY;
  int best_i = C8_HIST_BINS;
  for (int i = levels; i <= C8_HIST_BINS; i++) {
    uint64_t outliers = 0;
    for (int j = i; j < C8_HIST_BINS; j++) outliers += bins[j];
    double psum = 0.0, qsum = 0.0;
    for (int j = 0; j < i; j++) p[j] = (double)bins[j];
    p[i - 1] += (double)outliers;
    for (int j = 0; j < i; j++) psum += p[j];
    for (int g = 0; g < levels; g++) {
      int start = (int)((int64_t)g * i / levels), end = (int)((int64_t)(g + 1) * i / levels), nonzero = 0;
      double sum = 0.0;
      for (int j = start; j < end; j++) {
        sum += (double)bins[j];
        nonzero += bins[j] != 0;
      }
      for (int j = start; j < end; j++) q[j] = (bins[j] && nonzero) ? sum / nonzero : 0.0;
    }
    for (int j = 0; j < i; j++) qsum += q[j];
    if (psum == 0.0 || qsum == 0.0) continue;
    double kl = 0.0;
    for (int j = 0; j < i; j++) {
      if (p[j] == 0.0) continue;
      double pj = p[j] / psum, qj = q[j] / qsum;
      if (qj == 0.0) qj = 1e-12;
      kl += pj * log(pj / qj);
    }
    if (kl < best) {
      best = kl;
      best_i = i;
    }
  }
  return (best_i + 0.5) * w;
}

static void test_kl_matches_reference(void) {
  const char *names[] = {"gaussian", "laplace", "relu", "uniform", "bimodal+outlier", "sparse"};
  for (int dist = 0; dist < 6; dist++) {
    rng = 11 + (uint64_t)dist;
    int n = dist == 5 ? 3000 : N;
    for (int i = 0; i < n; i++) {
      double u = uniform01();
      float v;
      switch (dist) {
        case 0: v = gauss(); break;
        case 1: v = (float)((u < 0.5 ? 1 : -1) * log(1e-12 + uniform01())); break;
        case 2: v = fmaxf(0.0f, gauss()); break;
        case 3: v = (float)(2 * u - 1); break;
        case 4: v = (u < 0.5 ? -2.0f : 3.0f) + 0.3f * gauss(); break;
        default: v = (float)(uniform01() * uniform01() * 5); break;
      }
      xs[i] = v;
    }
    if (dist == 4) xs[17] = 40.0f;
    c8_histogram_init(&a);
    c8_histogram_add(&a, xs, n);
    const int levels[] = {128, 256, 16};
    for (int k = 0; k < 3; k++) {
      double fast = c8_threshold_kl(&a, levels[k]), ref = kl_reference(&a, levels[k]);
      if (fast != ref) fprintf(stderr, "  %s levels %d: closed form %.9g, reference %.9g\n", names[dist], levels[k], fast, ref);
      CHECK(fast == ref);
    }
  }
}

/* The histogram calibration derives for Relu's output equals the one observing that output gives, field by
   field, for inputs with negatives, zeros, -inf, +inf and NaN, and for an input whose negatives reach further
   than its positives (so the positive side is finer than the common range). */
static float ys[N];
static void test_relu_derived_equals_observed(void) {
  for (int variant = 0; variant < 3; variant++) {
    rng = 21 + (uint64_t)variant;
    for (int i = 0; i < N; i++) {
      float v = variant == 1 ? gauss() * 3.0f - 4.0f : gauss();
      if (i % 97 == 0) v = 0.0f;
      if (variant == 2 && i % 1001 == 0) v = i % 3 == 0 ? -INFINITY : i % 3 == 1 ? INFINITY : NAN;
      xs[i] = v;
      ys[i] = isnan(v) ? v : v > 0.0f ? v : 0.0f; /* ONNX Relu: max(0, x); NaN stays NaN */
    }
    c8_histogram_init(&a);
    c8_histogram_add(&a, xs, N);
    c8_histogram_init(&b);
    c8_histogram_add(&b, ys, N);
    c8_histogram_relu_of(&c, &a);
    CHECK(memcmp(b.bins, c.bins, sizeof b.bins) == 0);
    CHECK_EQ_INT(b.exp, c.exp);
    CHECK_EQ_INT(b.exp_pos, c.exp_pos);
    CHECK_EQ_INT(b.exp_neg, c.exp_neg);
    CHECK(b.count == c.count && b.zeros == c.zeros && b.nonfinite == c.nonfinite);
    CHECK(b.min == c.min && b.max == c.max);
    if (variant == 1) CHECK(a.exp > a.exp_pos); /* the case a single common range would lose */
  }
}

int main(void) {
  CHECK_RUN(test_order_independence);
  CHECK_RUN(test_thresholds_gaussian);
  CHECK_RUN(test_all_zero);
  CHECK_RUN(test_kernels_match_scalar);
  CHECK_RUN(test_kl_matches_reference);
  CHECK_RUN(test_relu_derived_equals_observed);
  return CHECK_DONE();
}
