/* Status codes and the thread-local failure message. */
#ifndef C8_CORE_STATUS_H
#define C8_CORE_STATUS_H

#include "calib8/calib8.h"
#include "core/alloc.h"

typedef calib8_status c8_status;
#define C8_OK CALIB8_OK

/* Records a one-sentence failure message and returns `code`.
 * Usage: return c8_error(CALIB8_MALFORMED_MODEL, "node '%s' (%s): ...", ...); */
c8_status c8_error(c8_status code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prefixes the current message: "<prefix>: <old message>". Returns `code`. */
c8_status c8_error_prefix(c8_status code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Evaluates `expr`; on failure jumps to `fail` with `st` set. Needs a local `c8_status st`. */
#define C8_TRY(expr)            \
  do {                          \
    st = (expr);                \
    if (st != CALIB8_OK) goto fail; \
  } while (0)

#endif
