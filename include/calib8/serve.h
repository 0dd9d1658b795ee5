/* calib8 serve: remote mode. The search of calib8/search.h scores each candidate through clients over HTTP
 * (docs/remote.md): a client (python/calib8/remote.py, or curl) polls GET /v1/state, sends batches to
 * POST /v1/run and gets the current model's outputs, and reports its own metric with POST /v1/report.
 *
 * Round 0 serves the FP32 model: its reported score is the search's FP32 score (the search scores the FP32
 * session through the same callback, so the trial log records it and --resume replays it). Each later round
 * serves one candidate INT8 model. A round in which a client ran something and then nothing came for
 * round_timeout seconds fails (state temporary_fail) and is served again as a new round; after max_failures
 * failed rounds a candidate is skipped (recorded with the score CALIB8_SERVE_SKIPPED_SCORE), the FP32 round
 * stops the search.
 *
 *   calib8_serve_options sv = calib8_serve_options_default();
 *   calib8_search_options so = calib8_search_options_default();
 *   so.output = "net_int8.onnx";
 *   calib8_search_result r;
 *   calib8_serve_run(model, calib_ds, &sv, &so, &r);   // blocks until the search is over
 */
#include "calib8/calib8.h"

#ifndef CALIB8_SERVE_H
#define CALIB8_SERVE_H

#include "calib8/search.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CALIB8_SERVE_WIRE_VERSION 1
#define CALIB8_SERVE_SKIPPED_SCORE (-1.0e9)

typedef struct calib8_serve_options {
  const char *listen;      /* "HOST:PORT" (IPv4 address); default "127.0.0.1:8500" */
  const char *token;       /* required when HOST is not 127.0.0.0/8; when given, every request needs
                              "Authorization: Bearer TOKEN" (compared in constant time), else 401 */
  int64_t max_body;        /* bytes of a request body; 0 = 64 x one sample of the model's inputs (+ 4 KiB) */
  int max_connections;     /* default 128 */
  int request_timeout;     /* seconds a connection may stay idle; default 30 */
  double round_timeout;    /* seconds without a run request before a started round fails; default 60 */
  int max_failures;        /* failed rounds before a candidate is skipped; default 3 */
  double finish_linger;    /* seconds to keep answering "finished" after the search; default 2 */
  calib8_message_fn on_message; /* server progress lines (rounds, requests served, scores) */
  void *user;
} calib8_serve_options;

calib8_serve_options calib8_serve_options_default(void);

/* Listens, then runs calib8_search_run(model, calib, search, out) with a score callback served over HTTP (search's
 * score, score_user and evaluator must be unset; its metric_name defaults to "user"). Returns what the search
 * returns, or CALIB8_INVALID_ARGUMENT (options: a listen address that does not parse, a non-loopback address
 * without a token), CALIB8_IO (the address cannot be bound). */
calib8_status calib8_serve_run(const calib8_model *model, calib8_dataset *calib, const calib8_serve_options *options,
                               const calib8_search_options *search, calib8_search_result *out);

#ifdef __cplusplus
}
#endif
#endif
