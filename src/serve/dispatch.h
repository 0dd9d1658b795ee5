/* The request handling of calib8 serve without sockets: one request (method, URL, headers, body) in, one answer
 * (status, content type, body) out. src/serve/serve.c feeds it from libmicrohttpd; tests/fuzz/fuzz-serve.c and
 * tests/unit/test-serve-dispatch.c call it directly.
 *
 * A c8_srv holds the model's input description, the options and the round: the session being served and its state.
 * Its mutex guards the round, so the dispatch may run on any thread while the search thread swaps sessions
 * between rounds (c8_srv_round_begin / c8_srv_round_end). */
#ifndef C8_SERVE_DISPATCH_H
#define C8_SERVE_DISPATCH_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "calib8/serve.h"
#include "core/status.h"

#define C8_SERVE_MAX_IO 16

typedef enum { C8_SRV_WAITING, C8_SRV_RUNNING, C8_SRV_TEMPFAIL, C8_SRV_FINISHED } c8_srv_state;

typedef struct c8_srv {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  calib8_serve_options o;
  const calib8_model *m;
  int n_in, n_out;
  calib8_value_info in[C8_SERVE_MAX_IO];
  const char *in_names[C8_SERVE_MAX_IO];
  char instance[17];
  int64_t max_body;
  struct sockaddr_in addr; /* the listen address */
  /* the round (under mu) */
  calib8_session *sess;
  c8_srv_state state;
  int round; /* -1 before the first */
  int trial; /* 0: FP32, then the trial's number as served by this process */
  char strategy[256];
  bool ran, reported;
  double last_run, score;
  int64_t requests, round_requests;
} c8_srv;

/* A request's header by name (case-insensitive), or NULL. */
typedef const char *(*c8_srv_header_fn)(void *ctx, const char *name);

typedef struct c8_srv_request {
  const char *method, *url;
  c8_srv_header_fn header;
  void *header_ctx;
  const unsigned char *body;
  size_t len;
  bool too_big; /* the body was larger than max_body and was dropped while it was read */
  bool padded;  /* the body is a c8_alloc buffer (64-byte aligned, tail padding): arrays whose data starts 64-byte
                   aligned in it are run in place, without a copy */
} c8_srv_request;

typedef struct c8_srv_reply {
  unsigned status;
  const char *type;    /* "application/json" or "application/octet-stream" */
  unsigned char *body; /* c8_malloc'd (give it away by setting it to NULL), or NULL: then `text` is the body */
  size_t len;
  int round;           /* the X-Calib8-Round header of a /v1/run answer; -1 for none */
  double run_ms;       /* a /v1/run answer: the model's run, in ms (header Server-Timing: run;dur=MS); else < 0 */
  char text[1200];     /* JSON answers and errors, one line */
} c8_srv_reply;

/* Checks the options and reads the model's inputs (the body limit derives from them); the server is not started.
   CALIB8_INVALID_ARGUMENT for a listen address that is not HOST:PORT or is off loopback without a token,
   CALIB8_UNSUPPORTED for a model without inputs or with more than C8_SERVE_MAX_IO. */
c8_status c8_srv_create(const calib8_model *model, const calib8_serve_options *options, c8_srv **out);
void c8_srv_destroy(c8_srv *S);

/* The first look at a request, its headers only: false (and the answer in rp) for a missing or wrong token and for
   a declared body too large to read at all. Else *expect is the declared Content-Length (0 when none) and
   *drop tells whether the body is to be read and dropped (larger than max_body, up to 8x: the client gets its 413
   rather than a reset while it still sends). */
bool c8_srv_admit(c8_srv *S, const c8_srv_request *rq, size_t *expect, bool *drop, c8_srv_reply *rp);

/* The answer to a whole request (the token is checked again). */
void c8_srv_dispatch(c8_srv *S, const c8_srv_request *rq, c8_srv_reply *rp);

/* The reply's body and length (its heap body, or its text). */
const void *c8_srv_reply_bytes(const c8_srv_reply *rp, size_t *len);
void c8_srv_reply_free(c8_srv_reply *rp);

/* A new round serving `session` (`what`: "fp32" or the strategy); c8_srv_round_end: the session is withdrawn.
   Both take the mutex. */
void c8_srv_round_begin(c8_srv *S, calib8_session *session, const char *what);
void c8_srv_round_end(c8_srv *S);

/* A progress line to the options' on_message. */
void c8_srv_say(c8_srv *S, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
