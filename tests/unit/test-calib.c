/* Histogram observer determinism and threshold methods on known distributions. */
#include <math.h>
#include <stdint.h>

#include "check.h"
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
}

static void test_all_zero(void) {
  for (int i = 0; i < 1000; i++) xs[i] = 0.0f;
  c8_histogram_init(&a);
  c8_histogram_add(&a, xs, 1000);
  for (int m = 0; m < C8_THRESHOLD_COUNT; m++) CHECK_NEAR(c8_threshold_compute(m, &a, NULL), 0.0, 0);
  CHECK_EQ_INT(c8_threshold_method_parse("kl"), C8_THRESHOLD_KL);
  CHECK_EQ_INT(c8_threshold_method_parse("nope"), -1);
}

int main(void) {
  CHECK_RUN(test_order_independence);
  CHECK_RUN(test_thresholds_gaussian);
  CHECK_RUN(test_all_zero);
  return CHECK_DONE();
}
