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
#include "search/search.h"
#include "serve/dispatch.h"

typedef struct req {
  unsigned char *buf;
  size_t len, cap;
  bool too_big;
} req;

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
  enum MHD_Result ret = MHD_queue_response(c, rp->status, r);
  MHD_destroy_response(r);
  return ret;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                               const char *version, const char *upload, size_t *upload_size, void **con_cls) {
  (void)version;
  c8_srv *S = cls;
  req *q = *con_cls;
  c8_srv_request rq = {.method = method, .url = url, .header = mhd_header, .header_ctx = c};
  c8_srv_reply rp;
  if (!q) { /* first call: headers only */
    size_t expect = 0;
    bool drop = false;
    if (!c8_srv_admit(S, &rq, &expect, &drop, &rp)) return send_reply(c, &rp);
    q = c8_calloc(1, sizeof *q);
    if (!q) return MHD_NO;
    *con_cls = q;
    q->too_big = drop;
    if (expect && (q->buf = c8_malloc(expect))) q->cap = expect; /* the body in one piece */
    return MHD_YES;
  }
  if (*upload_size) { /* a piece of the body */
    if (q->too_big || q->len + *upload_size > (size_t)S->max_body) {
      q->too_big = true;
    } else {
      if (q->len + *upload_size > q->cap) {
        size_t cap = q->cap ? q->cap : 65536;
        while (cap < q->len + *upload_size) cap *= 2;
        unsigned char *nb = c8_realloc(q->buf, cap);
        if (!nb) return MHD_NO;
        q->buf = nb, q->cap = cap;
      }
      memcpy(q->buf + q->len, upload, *upload_size);
      q->len += *upload_size;
    }
    *upload_size = 0;
    return MHD_YES;
  }
  rq.body = q->buf;
  rq.len = q->len;
  rq.too_big = q->too_big;
  c8_srv_dispatch(S, &rq, &rp);
  return send_reply(c, &rp);
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe) {
  (void)cls, (void)c, (void)toe;
  req *q = *con_cls;
  if (q) c8_mfree(q->buf), c8_mfree(q);
  *con_cls = NULL;
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
  struct MHD_Daemon *dm = MHD_start_daemon(
      MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO, 0, NULL, NULL, handler, S, MHD_OPTION_SOCK_ADDR, &S->addr,
      MHD_OPTION_CONNECTION_LIMIT, (unsigned)S->o.max_connections, MHD_OPTION_CONNECTION_TIMEOUT,
      (unsigned)S->o.request_timeout, MHD_OPTION_NOTIFY_COMPLETED, completed, S, MHD_OPTION_LISTENING_ADDRESS_REUSE,
      1u, MHD_OPTION_END);
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
