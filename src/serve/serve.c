/* calib8 serve (include/calib8/serve.h, docs/remote.md): the search's score callback waits for a client's report
 * while libmicrohttpd's thread answers GET /v1/state, POST /v1/run and POST /v1/report.
 *
 * One mutex guards the round: the handlers (one libmicrohttpd thread) run the current session under it, and the
 * search thread only swaps the session between rounds under it, so a session is never destroyed while it runs. */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "calib8/serve.h"
#include "core/alloc.h"
#include "core/json.h"
#include "core/clock.h"
#include "core/status.h"
#include "core/tensor.h"
#include "data/dataset.h"
#include "data/npy.h"
#include "search/search.h"

#define MAX_IO 16

typedef enum { ST_WAITING, ST_RUNNING, ST_TEMPFAIL, ST_FINISHED } srv_state;
static const char *const STATE_NAMES[] = {"waiting", "running", "temporary_fail", "finished"};

typedef struct srv {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  calib8_serve_options o;
  const calib8_model *m;
  int n_in, n_out;
  calib8_value_info in[MAX_IO];
  const char *in_names[MAX_IO];
  char instance[17];
  int64_t max_body;
  /* the round (under mu) */
  calib8_session *sess;
  srv_state state;
  int round;       /* -1 before the first */
  int trial;       /* 0: FP32, then the trial's number as served by this process */
  char strategy[256];
  bool ran, reported;
  double last_run, score;
  int64_t requests, round_requests;
} srv;

typedef struct req {
  unsigned char *buf;
  size_t len, cap;
  bool too_big;
} req;

static void say(srv *S, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(srv *S, const char *fmt, ...) {
  if (!S->o.on_message) return;
  char line[768];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  S->o.on_message(S->o.user, line);
}

calib8_serve_options calib8_serve_options_default(void) {
  calib8_serve_options o;
  memset(&o, 0, sizeof o);
  o.listen = "127.0.0.1:8500";
  o.max_connections = 128;
  o.request_timeout = 30;
  o.round_timeout = 60.0;
  o.max_failures = 3;
  o.finish_linger = 2.0;
  return o;
}

/* ---- responses ------------------------------------------------------------------------------------------ */

static enum MHD_Result respond(struct MHD_Connection *c, unsigned code, const char *type, const void *body, size_t len) {
  struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
  if (!r) return MHD_NO;
  MHD_add_response_header(r, "Content-Type", type);
  enum MHD_Result ret = MHD_queue_response(c, code, r);
  MHD_destroy_response(r);
  return ret;
}

/* {"error": "..."} on one line */
static enum MHD_Result respond_error(struct MHD_Connection *c, unsigned code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static enum MHD_Result respond_error(struct MHD_Connection *c, unsigned code, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  for (char *p = msg; *p; p++)
    if (*p == '\n' || *p == '\r') *p = ' ';
  char body[1200];
  cJSON *o = cJSON_CreateObject();
  char *text = NULL;
  if (o && cJSON_AddStringToObject(o, "error", msg)) text = cJSON_PrintUnformatted(o);
  snprintf(body, sizeof body, "%s\n", text ? text : "{\"error\":\"out of memory\"}");
  cJSON_free(text);
  cJSON_Delete(o);
  return respond(c, code, "application/json", body, strlen(body));
}

static enum MHD_Result respond_json(struct MHD_Connection *c, cJSON *o) {
  char *text = o ? cJSON_PrintUnformatted(o) : NULL;
  cJSON_Delete(o);
  if (!text) return respond_error(c, 500, "out of memory");
  size_t n = strlen(text);
  char *body = c8_malloc(n + 2);
  if (!body) {
    cJSON_free(text);
    return respond_error(c, 500, "out of memory");
  }
  memcpy(body, text, n);
  body[n] = '\n';
  cJSON_free(text);
  enum MHD_Result r = respond(c, 200, "application/json", body, n + 1);
  c8_mfree(body);
  return r;
}

/* ---- endpoints ------------------------------------------------------------------------------------------ */

static cJSON *shape_json(const calib8_value_info *v) {
  cJSON *a = cJSON_CreateArray();
  for (int d = 0; a && d < v->rank; d++) cJSON_AddItemToArray(a, cJSON_CreateNumber((double)v->dims[d]));
  return a;
}

static enum MHD_Result do_state(srv *S, struct MHD_Connection *c) {
  cJSON *o = cJSON_CreateObject();
  if (!o) return respond_error(c, 500, "out of memory");
  pthread_mutex_lock(&S->mu);
  cJSON_AddNumberToObject(o, "version", CALIB8_SERVE_WIRE_VERSION);
  cJSON_AddStringToObject(o, "instance", S->instance);
  cJSON_AddNumberToObject(o, "round", S->round);
  cJSON_AddStringToObject(o, "state", STATE_NAMES[S->state]);
  cJSON_AddStringToObject(o, "strategy", S->strategy);
  cJSON_AddNumberToObject(o, "trial", S->trial);
  cJSON_AddNumberToObject(o, "requests", (double)S->requests);
  cJSON_AddNumberToObject(o, "max_body", (double)S->max_body);
  pthread_mutex_unlock(&S->mu);
  cJSON *ins = cJSON_AddArrayToObject(o, "inputs");
  for (int i = 0; ins && i < S->n_in; i++) {
    cJSON *e = cJSON_CreateObject();
    if (!e) break;
    cJSON_AddItemToArray(ins, e);
    cJSON_AddStringToObject(e, "name", S->in[i].name);
    cJSON_AddStringToObject(e, "dtype", calib8_dtype_name(S->in[i].dtype));
    cJSON *sh = shape_json(&S->in[i]);
    if (sh) cJSON_AddItemToObject(e, "shape", sh);
  }
  cJSON *outs = cJSON_AddArrayToObject(o, "outputs");
  for (int i = 0; outs && i < S->n_out; i++) {
    calib8_value_info v;
    if (!calib8_model_output_info(S->m, i, &v)) cJSON_AddItemToArray(outs, cJSON_CreateString(v.name));
  }
  return respond_json(c, o);
}

/* Splits a body of concatenated .npy images (one per model input, in input order) and checks dtypes and the fixed
 * dimensions. On failure *code and the thread's error are set. */
static c8_status parse_inputs(srv *S, const unsigned char *b, size_t len, c8_tensor *t, int *n) {
  size_t off = 0;
  *n = 0;
  while (off < len) {
    if (*n >= S->n_in)
      return c8_error(CALIB8_INVALID_ARGUMENT, "the body holds more than the model's %d input array(s)", S->n_in);
    char what[64];
    snprintf(what, sizeof what, "input array %d", *n + 1);
    size_t hl = 0;
    c8_status st = c8_npy_header_len(b + off, len - off, what, &hl);
    if (!st) st = c8_npy_parse(b + off, len - off, what, &t[*n]);
    if (st) return st;
    (*n)++;
    off += hl + c8_nbytes(&t[*n - 1]);
  }
  if (*n != S->n_in)
    return c8_error(CALIB8_INVALID_ARGUMENT, "the body holds %d .npy array(s), the model has %d input(s)", *n, S->n_in);
  for (int i = 0; i < *n; i++) {
    const calib8_value_info *v = &S->in[i];
    if (t[i].dtype != v->dtype)
      return c8_error(CALIB8_INVALID_ARGUMENT, "input '%s' is %s, the model wants %s", v->name,
                      calib8_dtype_name(t[i].dtype), calib8_dtype_name(v->dtype));
    if (v->rank >= 0) {
      bool ok = t[i].rank == v->rank;
      for (int d = 0; ok && d < v->rank; d++)
        if (v->dims[d] >= 0 && v->dims[d] != t[i].dims[d] && !(d == 0 && v->rank > 1)) ok = false;
      if (!ok) {
        char want[128] = "[", *p = want + 1;
        for (int d = 0; d < v->rank; d++)
          p += snprintf(p, (size_t)(want + sizeof want - p), "%s%lld", d ? "," : "", (long long)v->dims[d]);
        snprintf(p, (size_t)(want + sizeof want - p), "]");
        return c8_error(CALIB8_INVALID_ARGUMENT, "input '%s' has shape %s, the model wants %s (-1: any)", v->name,
                        C8_SHAPE_STR(&t[i]), want);
      }
    }
  }
  return CALIB8_OK;
}

static enum MHD_Result do_run(srv *S, struct MHD_Connection *c, const req *q) {
  c8_tensor t[MAX_IO];
  memset(t, 0, sizeof t);
  int n = 0;
  enum MHD_Result ret;
  c8_status st = parse_inputs(S, q->buf, q->len, t, &n);
  if (st) {
    ret = respond_error(c, 400, "%s", calib8_last_error());
    goto out;
  }
  pthread_mutex_lock(&S->mu);
  if (S->state != ST_RUNNING && S->state != ST_TEMPFAIL) {
    srv_state s = S->state;
    pthread_mutex_unlock(&S->mu);
    ret = respond_error(c, 409, "no model is being served now (state %s); poll /v1/state", STATE_NAMES[s]);
    goto out;
  }
  const char *want = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Calib8-Round");
  if (want && strtol(want, NULL, 10) != S->round) {
    int cur = S->round;
    pthread_mutex_unlock(&S->mu);
    ret = respond_error(c, 409, "round %s is over: the server is on round %d; poll /v1/state", want, cur);
    goto out;
  }
  st = calib8_session_run(S->sess, n, S->in_names, t);
  unsigned char *body = NULL;
  size_t blen = 0;
  for (int i = 0; !st && i < calib8_session_output_count(S->sess); i++) {
    calib8_tensor y;
    void *one = NULL;
    size_t olen = 0;
    if ((st = calib8_session_output(S->sess, i, &y)) || (st = c8_npy_serialize(&y, &one, &olen))) break;
    unsigned char *nb = c8_realloc(body, blen + olen);
    if (!nb) {
      c8_mfree(one);
      st = c8_error(CALIB8_OUT_OF_MEMORY, "out of memory");
      break;
    }
    body = nb;
    memcpy(body + blen, one, olen);
    blen += olen;
    c8_mfree(one);
  }
  if (!st) {
    if (S->state == ST_TEMPFAIL) S->state = ST_RUNNING;
    S->ran = true;
    S->last_run = c8_now();
    S->requests++;
    S->round_requests++;
  }
  int round = S->round;
  pthread_mutex_unlock(&S->mu);
  if (st) {
    ret = respond_error(c, st == CALIB8_OUT_OF_MEMORY ? 500 : 400, "%s", calib8_last_error());
  } else {
    struct MHD_Response *r = MHD_create_response_from_buffer(blen, body, MHD_RESPMEM_MUST_COPY);
    if (!r) {
      ret = MHD_NO;
    } else {
      char rs[32];
      snprintf(rs, sizeof rs, "%d", round);
      MHD_add_response_header(r, "Content-Type", "application/octet-stream");
      MHD_add_response_header(r, "X-Calib8-Round", rs);
      ret = MHD_queue_response(c, 200, r);
      MHD_destroy_response(r);
    }
  }
  c8_mfree(body);
out:
  for (int i = 0; i < MAX_IO; i++) c8_free(t[i].data);
  return ret;
}

static enum MHD_Result do_report(srv *S, struct MHD_Connection *c, const req *q) {
  cJSON *j = cJSON_ParseWithLength((const char *)q->buf, q->len);
  const cJSON *jr = j ? cJSON_GetObjectItemCaseSensitive(j, "round") : NULL;
  const cJSON *js = j ? cJSON_GetObjectItemCaseSensitive(j, "score") : NULL;
  if (!cJSON_IsObject(j) || !cJSON_IsNumber(jr) || !cJSON_IsNumber(js)) {
    cJSON_Delete(j);
    return respond_error(c, 400, "a report is a JSON object {\"round\": N, \"score\": S}");
  }
  double round = jr->valuedouble, score = js->valuedouble;
  cJSON_Delete(j);
  if (!isfinite(score)) return respond_error(c, 400, "the score %g is not a finite number", score);
  pthread_mutex_lock(&S->mu);
  srv_state s = S->state;
  int cur = S->round;
  bool ran = S->ran;
  enum MHD_Result ret;
  if (s == ST_FINISHED) {
    ret = respond_error(c, 409, "the search is finished; no round takes reports");
  } else if (round != (double)cur || s == ST_WAITING) {
    ret = respond_error(c, 409, "round %g is not the round being served (round %d, state %s)", round, cur, STATE_NAMES[s]);
  } else if (!ran) {
    ret = respond_error(c, 409, "report before any run of round %d: send its batches to /v1/run first", cur);
  } else {
    S->reported = true;
    S->score = score;
    S->state = ST_WAITING;
    pthread_cond_broadcast(&S->cv);
    char body[96];
    snprintf(body, sizeof body, "{\"ok\":true,\"round\":%d}\n", cur);
    ret = respond(c, 200, "application/json", body, strlen(body));
  }
  pthread_mutex_unlock(&S->mu);
  return ret;
}

/* ---- the connection handler ----------------------------------------------------------------------------- */

static bool token_ok(const srv *S, struct MHD_Connection *c) {
  if (!S->o.token) return true;
  const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
  if (!h || strncmp(h, "Bearer ", 7)) return false;
  h += 7;
  size_t a = strlen(h), b = strlen(S->o.token), n = a > b ? a : b;
  volatile unsigned char diff = (unsigned char)(a != b);
  for (size_t i = 0; i < n; i++) diff |= (unsigned char)((i < a ? h[i] : 0) ^ (i < b ? S->o.token[i] : 0));
  return diff == 0;
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                               const char *version, const char *upload, size_t *upload_size, void **con_cls) {
  (void)version;
  srv *S = cls;
  req *q = *con_cls;
  if (!q) { /* first call: headers only */
    if (!token_ok(S, c)) return respond_error(c, 401, "this server needs its token: Authorization: Bearer TOKEN");
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
    long long want = cl ? strtoll(cl, NULL, 10) : 0;
    /* A body up to 8x the limit is read and dropped, so that the client gets its 413 rather than a reset while it
       still sends; a larger one is refused at once. */
    if (want > 8 * S->max_body)
      return respond_error(c, 413, "the body has %s bytes, more than the limit of %lld", cl, (long long)S->max_body);
    q = c8_calloc(1, sizeof *q);
    if (!q) return MHD_NO;
    *con_cls = q;
    if (want > S->max_body) q->too_big = true;
    else if (want > 0 && (q->buf = c8_malloc((size_t)want))) q->cap = (size_t)want; /* the body in one piece */
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
  if (q->too_big) return respond_error(c, 413, "the body is larger than the limit of %lld bytes", (long long)S->max_body);
  bool get = !strcmp(method, "GET"), post = !strcmp(method, "POST");
  if (strncmp(url, "/v1/", 4)) {
    if (url[0] == '/' && url[1] == 'v' && url[2] >= '0' && url[2] <= '9')
      return respond_error(c, 400, "this server speaks wire version %d (/v%d/...), not '%s'", CALIB8_SERVE_WIRE_VERSION,
                           CALIB8_SERVE_WIRE_VERSION, url);
    return respond_error(c, 404, "unknown endpoint '%s': the endpoints are /v1/state, /v1/run, /v1/report", url);
  }
  const char *ep = url + 4;
  if (!strcmp(ep, "state")) return get ? do_state(S, c) : respond_error(c, 405, "/v1/state takes GET");
  if (!strcmp(ep, "run")) return post ? do_run(S, c, q) : respond_error(c, 405, "/v1/run takes POST");
  if (!strcmp(ep, "report")) return post ? do_report(S, c, q) : respond_error(c, 405, "/v1/report takes POST");
  return respond_error(c, 404, "unknown endpoint '%s': the endpoints are /v1/state, /v1/run, /v1/report", url);
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe) {
  (void)cls, (void)c, (void)toe;
  req *q = *con_cls;
  if (q) c8_mfree(q->buf), c8_mfree(q);
  *con_cls = NULL;
}

/* ---- the score callback --------------------------------------------------------------------------------- */

static calib8_status score_cb(void *user, calib8_session *candidate, double *score) {
  srv *S = user;
  pthread_mutex_lock(&S->mu);
  const char *what = c8_search_scoring ? c8_search_scoring : "candidate";
  bool fp32 = !strcmp(what, "fp32");
  snprintf(S->strategy, sizeof S->strategy, "%s", what);
  S->trial = fp32 ? 0 : S->trial + 1;
  S->sess = candidate;
  S->round++;
  S->state = ST_RUNNING;
  S->ran = S->reported = false;
  S->round_requests = 0;
  int failures = 0;
  say(S, "round %d: serving %s", S->round, fp32 ? "the FP32 model" : S->strategy);
  c8_status st = CALIB8_OK;
  for (;;) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_nsec += 200 * 1000000L;
    if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
    pthread_cond_timedwait(&S->cv, &S->mu, &ts);
    if (S->reported) {
      *score = S->score;
      say(S, "round %d: %s scored %.6g (%lld requests served)", S->round, fp32 ? "FP32" : S->strategy, S->score,
          (long long)S->round_requests);
      break;
    }
    if (S->ran && c8_now() - S->last_run > S->o.round_timeout) {
      failures++;
      say(S, "round %d failed: no request for %.0f s and no report (failure %d of %d)", S->round, S->o.round_timeout,
          failures, S->o.max_failures);
      if (failures >= S->o.max_failures) {
        if (fp32) {
          st = c8_error(CALIB8_IO, "the FP32 round failed %d times: no client reported its score", failures);
        } else {
          *score = CALIB8_SERVE_SKIPPED_SCORE;
          say(S, "trial '%s' skipped after %d failed rounds (recorded with the score %g)", S->strategy, failures,
              CALIB8_SERVE_SKIPPED_SCORE);
        }
        break;
      }
      S->round++;
      S->state = ST_TEMPFAIL;
      S->ran = false;
      S->round_requests = 0;
      say(S, "round %d: serving %s again", S->round, fp32 ? "the FP32 model" : S->strategy);
    }
  }
  S->sess = NULL;
  S->state = ST_WAITING;
  pthread_mutex_unlock(&S->mu);
  return st;
}

/* ---- the server ----------------------------------------------------------------------------------------- */

static c8_status parse_listen(const char *text, struct sockaddr_in *sa, bool *loopback) {
  memset(sa, 0, sizeof *sa);
  sa->sin_family = AF_INET;
  const char *colon = text ? strrchr(text, ':') : NULL;
  if (!colon || colon == text || colon - text >= 64)
    return c8_error(CALIB8_INVALID_ARGUMENT, "listen address '%s' is not HOST:PORT", text ? text : "");
  char host[64];
  memcpy(host, text, (size_t)(colon - text));
  host[colon - text] = 0;
  if (!strcmp(host, "localhost")) snprintf(host, sizeof host, "127.0.0.1");
  char *end;
  long port = strtol(colon + 1, &end, 10);
  if (!colon[1] || *end || port < 0 || port > 65535)
    return c8_error(CALIB8_INVALID_ARGUMENT, "listen address '%s': '%s' is not a port", text, colon + 1);
  if (inet_pton(AF_INET, host, &sa->sin_addr) != 1)
    return c8_error(CALIB8_INVALID_ARGUMENT, "listen address '%s': '%s' is not an IPv4 address", text, host);
  sa->sin_port = htons((uint16_t)port);
  *loopback = (ntohl(sa->sin_addr.s_addr) >> 24) == 127;
  return CALIB8_OK;
}

calib8_status calib8_serve_run(const calib8_model *model, calib8_dataset *calib, const calib8_serve_options *options,
                               const calib8_search_options *search, calib8_search_result *out) {
  if (!model || !calib || !options || !search || !out)
    return c8_error(CALIB8_INVALID_ARGUMENT, "calib8_serve_run: model, calib, options, search and out are required");
  if (search->score || search->evaluator)
    return c8_error(CALIB8_INVALID_ARGUMENT, "calib8_serve_run: the clients score; give no evaluator or score callback");
  srv *S = c8_calloc(1, sizeof *S);
  if (!S) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory");
  S->o = *options;
  calib8_serve_options d = calib8_serve_options_default();
  if (!S->o.listen) S->o.listen = d.listen;
  if (S->o.max_connections <= 0) S->o.max_connections = d.max_connections;
  if (S->o.request_timeout <= 0) S->o.request_timeout = d.request_timeout;
  if (!(S->o.round_timeout > 0)) S->o.round_timeout = d.round_timeout;
  if (S->o.max_failures <= 0) S->o.max_failures = d.max_failures;
  if (S->o.finish_linger < 0) S->o.finish_linger = 0;
  if (S->o.token && !S->o.token[0]) S->o.token = NULL;
  S->m = model;
  S->round = -1;
  S->state = ST_WAITING;
  snprintf(S->strategy, sizeof S->strategy, "preparing");
  struct sockaddr_in sa;
  bool loopback = false;
  c8_status st = parse_listen(S->o.listen, &sa, &loopback);
  if (!st && !loopback && !S->o.token)
    st = c8_error(CALIB8_INVALID_ARGUMENT, "listening on '%s' (not loopback) needs a token (--token-file or CALIB8_TOKEN)",
                  S->o.listen);
  S->n_in = calib8_model_input_count(model);
  S->n_out = calib8_model_output_count(model);
  if (!st && (S->n_in > MAX_IO || S->n_in < 1))
    st = c8_error(CALIB8_UNSUPPORTED, "calib8 serve handles models with 1 to %d inputs, this one has %d", MAX_IO, S->n_in);
  int64_t sample = 0;
  for (int i = 0; !st && i < S->n_in; i++) {
    if ((st = calib8_model_input_info(model, i, &S->in[i]))) break;
    S->in_names[i] = S->in[i].name;
    int64_t e = (int64_t)calib8_dtype_size(S->in[i].dtype);
    for (int k = 0; k < S->in[i].rank; k++)
      if (k > 0 || S->in[i].rank == 1) e *= S->in[i].dims[k] > 0 ? S->in[i].dims[k] : 1;
    sample = S->in[i].rank < 0 || sample < 0 ? -1 : sample + e;
  }
  S->max_body = S->o.max_body > 0 ? S->o.max_body : sample > 0 ? 64 * sample + 4096 : (int64_t)64 << 20;
  if (st) {
    c8_mfree(S);
    return st;
  }
  unsigned r1 = 0;
  FILE *ur = fopen("/dev/urandom", "rb");
  if (!ur || fread(&r1, sizeof r1, 1, ur) != 1) r1 = (unsigned)time(NULL) ^ (unsigned)getpid();
  if (ur) fclose(ur);
  snprintf(S->instance, sizeof S->instance, "%08x%08x", r1, (unsigned)getpid());
  pthread_mutex_init(&S->mu, NULL);
  pthread_cond_init(&S->cv, NULL);
  struct MHD_Daemon *dm = MHD_start_daemon(
      MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO, 0, NULL, NULL, handler, S, MHD_OPTION_SOCK_ADDR, &sa,
      MHD_OPTION_CONNECTION_LIMIT, (unsigned)S->o.max_connections, MHD_OPTION_CONNECTION_TIMEOUT,
      (unsigned)S->o.request_timeout, MHD_OPTION_NOTIFY_COMPLETED, completed, S, MHD_OPTION_LISTENING_ADDRESS_REUSE,
      1u, MHD_OPTION_END);
  if (!dm) {
    st = c8_error(CALIB8_IO, "cannot listen on '%s' (%s)", S->o.listen, strerror(errno ? errno : EADDRINUSE));
  } else {
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(dm, MHD_DAEMON_INFO_BIND_PORT);
    char host[INET_ADDRSTRLEN] = "?";
    inet_ntop(AF_INET, &sa.sin_addr, host, sizeof host);
    say(S, "listening on http://%s:%u (wire version %d%s; body limit %lld bytes)", host,
        di ? (unsigned)di->port : (unsigned)ntohs(sa.sin_port), CALIB8_SERVE_WIRE_VERSION,
        S->o.token ? ", token required" : "", (long long)S->max_body);
    calib8_search_options so = *search;
    so.score = score_cb;
    so.score_user = S;
    if (!so.metric_name) so.metric_name = "user";
    st = calib8_search_run(model, calib, &so, out);
    char err[1024];
    snprintf(err, sizeof err, "%s", calib8_last_error());
    pthread_mutex_lock(&S->mu);
    S->state = ST_FINISHED;
    S->round++;
    snprintf(S->strategy, sizeof S->strategy, "%s", "finished");
    pthread_mutex_unlock(&S->mu);
    say(S, "search finished after %lld requests; answering 'finished' for %.1f s", (long long)S->requests,
        S->o.finish_linger);
    usleep((useconds_t)(S->o.finish_linger * 1e6));
    MHD_stop_daemon(dm);
    if (st) c8_error(st, "%s", err); /* the search's message, not one the server's threads left */
  }
  pthread_cond_destroy(&S->cv);
  pthread_mutex_destroy(&S->mu);
  c8_mfree(S);
  return st;
}
