/* calib8_session_options.sub_batch by name (`calib8 run --sub-batch auto|off|S`). */
#include <stdlib.h>
#include <string.h>

#include "calib8/calib8.h"
#include "core/status.h"

calib8_status calib8_session_options_parse_sub_batch(const char *text, int *sub_batch) {
  if (!sub_batch) return c8_error(CALIB8_INVALID_ARGUMENT, "calib8_session_options_parse_sub_batch needs an output");
  if (text && !strcmp(text, "auto")) return *sub_batch = 0, CALIB8_OK;
  if (text && !strcmp(text, "off")) return *sub_batch = -1, CALIB8_OK;
  char *end = NULL;
  long n = text ? strtol(text, &end, 10) : 0;
  if (!text || !*text || *end || n < 1 || n > (1 << 20))
    return c8_error(CALIB8_INVALID_ARGUMENT,
                    "option --sub-batch needs auto, off or a number of samples from 1 to 1048576, got '%s'",
                    text ? text : "(nothing)");
  *sub_batch = (int)n;
  return CALIB8_OK;
}
