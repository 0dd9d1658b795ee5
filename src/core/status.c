#include "core/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char last_error[1024] = "no error";

const char *calib8_last_error(void) { return last_error; }

const char *calib8_status_string(calib8_status status) {
  switch (status) {
#define CALIB8_X(code, text) \
  case code:                 \
    return text;
    CALIB8_STATUS_LIST(CALIB8_X)
#undef CALIB8_X
  }
  return "unknown status";
}

c8_status c8_error(c8_status code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(last_error, sizeof last_error, fmt, ap);
  va_end(ap);
  return code;
}

c8_status c8_error_prefix(c8_status code, const char *fmt, ...) {
  char prefix[512], old[sizeof last_error];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(prefix, sizeof prefix, fmt, ap);
  va_end(ap);
  memcpy(old, last_error, sizeof old);
  size_t n = strlen(prefix);
  if (n > sizeof last_error - 3) n = sizeof last_error - 3;
  memcpy(last_error, prefix, n);
  memcpy(last_error + n, ": ", 2);
  size_t rest = sizeof last_error - n - 3;
  size_t ol = strlen(old);
  if (ol > rest) ol = rest;
  memcpy(last_error + n + 2, old, ol);
  last_error[n + 2 + ol] = 0;
  return code;
}
