/* calib8 serve (include/calib8/serve.h, docs/remote.md): the search's score callback waits for a client's report
 * while libmicrohttpd's thread answers GET /v1/state, POST /v1/run and POST /v1/report through the socket-free
 * request handling of src/serve/dispatch.c.
 *
 * One mutex guards the round: the handlers run the current session under it, and the search thread only swaps the
 * session between rounds under it, so a session is never destroyed while it runs. */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "calib8/serve.h"
#include "core/alloc.h"
#include "core/clock.h"
#include "core/status.h"
#include "core/tensor.h"
#include "search/search.h"
#include "serve/dispatch.h"

/* A connection's body buffer, kept from one request to the next on a kept-alive connection: a body of a few hundred
 * KiB in a new buffer each time costs its page faults on every request (malloc hands such sizes out by mmap). It is
 * a c8_alloc buffer, so the arrays of a body run in place (c8_srv_request.padded). */
typedef struct conn {
  unsigned char *buf;
  size_t len, cap;
  bool too_big;
} conn;

/* Buffers up to this size stay with their connection between requests (at most max_connections of them, for as long
   as a connection stays open); larger ones go back at once: their batches take far longer to run than to fault in. */
#define KEEP_BUFFER ((size_t)4 << 20)

static bool conn_reserve(conn *k, size_t need) {
  if (need <= k->cap) return true;
  size_t cap = k->cap ? k->cap : 65536;
  while (cap < need) cap *= 2;
  unsigned char *nb = c8_alloc(cap);
  if (!nb) return false;
  if (k->len) memcpy(nb, k->buf, k->len);
  c8_free(k->buf);
  k->buf = nb, k->cap = cap;
  return true;
}

/* ---- libmicrohttpd glue --------------------------------------------------------------------------------- */

static const char *mhd_header(void *ctx, const char *name) {
  return MHD_lookup_connection_value((struct MHD_Connection *)ctx, MHD_HEADER_KIND, name);
}

static void free_body(void *p) { c8_mfree(p); }

static enum MHD_Result send_reply(struct MHD_Connection *c, c8_srv_reply *rp) {
  struct MHD_Response *r;
  if (rp->body) { /* the body changes hands: no copy */
    r = MHD_create_response_from_buffer_with_free_callback(rp->len, rp->body, free_body);
    if (r) rp->body = NULL;
  } else {
    r = MHD_create_response_from_buffer(strlen(rp->text), rp->text, MHD_RESPMEM_MUST_COPY);
  }
  c8_srv_reply_free(rp);
  if (!r) return MHD_NO;
  MHD_add_response_header(r, "Content-Type", rp->type);
  if (rp->round >= 0) {
    char rs[32];
    snprintf(rs, sizeof rs, "%d", rp->round);
    MHD_add_response_header(r, "X-Calib8-Round", rs);
  }
  if (rp->run_ms >= 0) { /* what the model's run took, so that a client can tell it from the transfer */
    char st[48];
    snprintf(st, sizeof st, "run;dur=%.3f", rp->run_ms);
    MHD_add_response_header(r, "Server-Timing", st);
  }
  enum MHD_Result ret = MHD_queue_response(c, rp->status, r);
  MHD_destroy_response(r);
  return ret;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                               const char *version, const char *upload, size_t *upload_size, void **con_cls) {
  (void)version;
  c8_srv *S = cls;
  c8_srv_request rq = {.method = method, .url = url, .header = mhd_header, .header_ctx = c};
  c8_srv_reply rp;
  if (!*con_cls) { /* first call: headers only */
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    conn *k = ci ? ci->socket_context : NULL;
    if (!k) return MHD_NO; /* out of memory when the connection came */
    size_t expect = 0;
    bool drop = false;
    if (!c8_srv_admit(S, &rq, &expect, &drop, &rp)) return send_reply(c, &rp);
    *con_cls = k;
    k->len = 0;
    k->too_big = drop;
    if (expect) conn_reserve(k, expect); /* the body in one piece; if this fails, the pieces try again */
    return MHD_YES;
  }
  conn *k = *con_cls;
  if (*upload_size) { /* a piece of the body */
    if (k->too_big || k->len + *upload_size > (size_t)S->max_body) {
      k->too_big = true;
    } else {
      if (!conn_reserve(k, k->len + *upload_size)) return MHD_NO;
      memcpy(k->buf + k->len, upload, *upload_size);
      k->len += *upload_size;
    }
    *upload_size = 0;
    return MHD_YES;
  }
  rq.body = k->buf;
  rq.len = k->len;
  rq.too_big = k->too_big;
  rq.padded = k->buf != NULL;
  c8_srv_dispatch(S, &rq, &rp);
  return send_reply(c, &rp);
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe) {
  (void)cls, (void)c, (void)toe;
  conn *k = *con_cls;
  if (k) {
    k->len = 0;
    k->too_big = false;
    if (k->cap > KEEP_BUFFER) c8_free(k->buf), k->buf = NULL, k->cap = 0;
  }
  *con_cls = NULL;
}

static void connection(void *cls, struct MHD_Connection *c, void **socket_context,
                       enum MHD_ConnectionNotificationCode code) {
  (void)cls, (void)c;
  if (code == MHD_CONNECTION_NOTIFY_STARTED) {
    *socket_context = c8_calloc(1, sizeof(conn));
  } else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
    conn *k = *socket_context;
    if (k) c8_free(k->buf), c8_mfree(k);
    *socket_context = NULL;
  }
}

/* ---- the score callback --------------------------------------------------------------------------------- */

static calib8_status score_cb(void *user, calib8_session *candidate, double *score) {
  c8_srv *S = user;
  const char *what = c8_search_scoring ? c8_search_scoring : "candidate";
  bool fp32 = !strcmp(what, "fp32");
  c8_srv_round_begin(S, candidate, what);
  pthread_mutex_lock(&S->mu);
  int failures = 0;
  c8_status st = CALIB8_OK;
  for (;;) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 200 * 1000000L;
    if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
    pthread_cond_timedwait(&S->cv, &S->mu, &ts);
    if (S->reported) {
      *score = S->score;
      c8_srv_say(S, "round %d: %s scored %.6g (%lld requests served)", S->round, fp32 ? "FP32" : S->strategy,
                 S->score, (long long)S->round_requests);
      break;
    }
    if (S->ran && c8_now() - S->last_run > S->o.round_timeout) {
      failures++;
      c8_srv_say(S, "round %d failed: no request for %.0f s and no report (failure %d of %d)", S->round,
                 S->o.round_timeout, failures, S->o.max_failures);
      if (failures >= S->o.max_failures) {
        if (fp32) {
          st = c8_error(CALIB8_IO, "the FP32 round failed %d times: no client reported its score", failures);
        } else {
          *score = CALIB8_SERVE_SKIPPED_SCORE;
          c8_srv_say(S, "trial '%s' skipped after %d failed rounds (recorded with the score %g)", S->strategy,
                     failures, CALIB8_SERVE_SKIPPED_SCORE);
        }
        break;
      }
      S->round++;
      S->state = C8_SRV_TEMPFAIL;
      S->ran = false;
      S->round_requests = 0;
      c8_srv_say(S, "round %d: serving %s again", S->round, fp32 ? "the FP32 model" : S->strategy);
    }
  }
  pthread_mutex_unlock(&S->mu);
  c8_srv_round_end(S);
  return st;
}

/* ---- the server ----------------------------------------------------------------------------------------- */

calib8_status calib8_serve_run(const calib8_model *model, calib8_dataset *calib, const calib8_serve_options *options,
                               const calib8_search_options *search, calib8_search_result *out) {
  if (!model || !calib || !options || !search || !out)
    return c8_error(CALIB8_INVALID_ARGUMENT, "calib8_serve_run: model, calib, options, search and out are required");
  if (search->score || search->evaluator)
    return c8_error(CALIB8_INVALID_ARGUMENT, "calib8_serve_run: the clients score; give no evaluator or score callback");
  c8_srv *S = NULL;
  c8_status st = c8_srv_create(model, options, &S);
  if (st) return st;
  /* One polling thread (thread-per-connection measured no faster, bench/RESULTS.md); a connection's memory of 1 MiB
     instead of 32 KiB reads a batch's body in a few large pieces rather than a dozen small ones. */
  struct MHD_Daemon *dm = MHD_start_daemon(
      MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO, 0, NULL, NULL, handler, S, MHD_OPTION_SOCK_ADDR, &S->addr,
      MHD_OPTION_CONNECTION_LIMIT, (unsigned)S->o.max_connections, MHD_OPTION_CONNECTION_TIMEOUT,
      (unsigned)S->o.request_timeout, MHD_OPTION_NOTIFY_COMPLETED, completed, S, MHD_OPTION_NOTIFY_CONNECTION, connection, S, MHD_OPTION_LISTENING_ADDRESS_REUSE,
      1u, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)1 << 20, MHD_OPTION_END);
  if (!dm) {
    st = c8_error(CALIB8_IO, "cannot listen on '%s' (%s)", S->o.listen, strerror(errno ? errno : EADDRINUSE));
  } else {
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(dm, MHD_DAEMON_INFO_BIND_PORT);
    char host[INET_ADDRSTRLEN] = "?";
    inet_ntop(AF_INET, &S->addr.sin_addr, host, sizeof host);
    c8_srv_say(S, "listening on http://%s:%u (wire version %d%s; body limit %lld bytes)", host,
               di ? (unsigned)di->port : (unsigned)ntohs(S->addr.sin_port), CALIB8_SERVE_WIRE_VERSION,
               S->o.token ? ", token required" : "", (long long)S->max_body);
    calib8_search_options so = *search;
    so.score = score_cb;
    so.score_user = S;
    if (!so.metric_name) so.metric_name = "user";
    st = calib8_search_run(model, calib, &so, out);
    char err[1024];
    snprintf(err, sizeof err, "%s", calib8_last_error());
    pthread_mutex_lock(&S->mu);
    S->state = C8_SRV_FINISHED;
    S->round++;
    snprintf(S->strategy, sizeof S->strategy, "%s", "finished");
    pthread_mutex_unlock(&S->mu);
    c8_srv_say(S, "search finished after %lld requests; answering 'finished' for %.1f s", (long long)S->requests,
               S->o.finish_linger);
    usleep((useconds_t)(S->o.finish_linger * 1e6));
    MHD_stop_daemon(dm);
    if (st) c8_error(st, "%s", err); /* the search's message, not one the server's threads left */
  }
  c8_srv_destroy(S);
  return st;
}
