/* A tiny assertion header for CTest executables: failures print both operands and the location.
 * A test file defines tests as functions and calls them from main via CHECK_RUN. */
#ifndef C8_TEST_CHECK_H
#define C8_TEST_CHECK_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_failures = 0;
static int check_count = 0;

#define CHECK(cond)                                                     \
  do {                                                                  \
    check_count++;                                                      \
    if (!(cond)) {                                                      \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      check_failures++;                                                 \
    }                                                                   \
  } while (0)

#define CHECK_EQ_INT(a, b)                                                                        \
  do {                                                                                            \
    long long va_ = (long long)(a), vb_ = (long long)(b);                                         \
    check_count++;                                                                                \
    if (va_ != vb_) {                                                                             \
      fprintf(stderr, "%s:%d: %s == %s failed: %lld vs %lld\n", __FILE__, __LINE__, #a, #b, va_, vb_); \
      check_failures++;                                                                           \
    }                                                                                             \
  } while (0)

#define CHECK_NEAR(a, b, tol)                                                                            \
  do {                                                                                                   \
    double va_ = (double)(a), vb_ = (double)(b);                                                         \
    check_count++;                                                                                       \
    if (!(fabs(va_ - vb_) <= (tol))) {                                                                   \
      fprintf(stderr, "%s:%d: %s ~= %s failed: %.9g vs %.9g (tol %g)\n", __FILE__, __LINE__, #a, #b, va_, vb_, \
              (double)(tol));                                                                            \
      check_failures++;                                                                                  \
    }                                                                                                    \
  } while (0)

#define CHECK_STR_CONTAINS(hay, needle)                                                                    \
  do {                                                                                                     \
    const char *h_ = (hay), *n_ = (needle);                                                                \
    check_count++;                                                                                         \
    if (!h_ || !strstr(h_, n_)) {                                                                          \
      fprintf(stderr, "%s:%d: '%s' does not contain '%s'\n", __FILE__, __LINE__, h_ ? h_ : "(null)", n_); \
      check_failures++;                                                                                    \
    }                                                                                                      \
  } while (0)

#define CHECK_RUN(fn)                 \
  do {                                \
    int before_ = check_failures;     \
    fn();                             \
    fprintf(stderr, "%s %s\n", check_failures == before_ ? "ok  " : "FAIL", #fn); \
  } while (0)

#define CHECK_DONE()                                                                    \
  (fprintf(stderr, "%d checks, %d failed\n", check_count, check_failures), check_failures ? 1 : 0)

#endif
