/* calib8 serve's request handling (src/serve/dispatch.h): GET /v1/state, POST /v1/run, POST /v1/report, without
 * sockets. */
#include "serve/dispatch.h"

#include <arpa/inet.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/clock.h"
#include "core/json.h"
#include "core/tensor.h"
#include "data/dataset.h"
#include "data/npy.h"

static const char *const STATE_NAMES[] = {"waiting", "running", "temporary_fail", "finished"};

void c8_srv_say(c8_srv *S, const char *fmt, ...) {
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

/* ---- replies -------------------------------------------------------------------------------------------- */

static void reply_init(c8_srv_reply *rp) {
  rp->status = 500;
  rp->type = "application/json";
  rp->body = NULL;
  rp->len = 0;
  rp->round = -1;
  rp->run_ms = -1;
  rp->text[0] = 0;
}

const void *c8_srv_reply_bytes(const c8_srv_reply *rp, size_t *len) {
  *len = rp->body ? rp->len : strlen(rp->text);
  return rp->body ? (const void *)rp->body : (const void *)rp->text;
}

void c8_srv_reply_free(c8_srv_reply *rp) {
  if (!rp) return;
  c8_mfree(rp->body);
  rp->body = NULL;
  rp->len = 0;
}

/* {"error": "..."} on one line. The message is escaped by hand (no allocation), so that an out-of-memory error
   still gets its answer. */
static void reply_error(c8_srv_reply *rp, unsigned code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void reply_error(c8_srv_reply *rp, unsigned code, const char *fmt, ...) {
  char msg[900];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  c8_srv_reply_free(rp);
  rp->status = code;
  rp->type = "application/json";
  char *p = rp->text, *end = rp->text + sizeof rp->text - 8; /* room for "\"}\n" and one escape */
  p += snprintf(p, (size_t)(end - p), "{\"error\":\"");
  for (const unsigned char *s = (const unsigned char *)msg; *s && p < end - 6; s++) {
    if (*s == '"' || *s == '\\') *p++ = '\\', *p++ = (char)*s;
    else if (*s < 0x20 || *s == 0x7f) *p++ = ' '; /* newlines included: the error stays on one line */
    else *p++ = (char)*s;
  }
  snprintf(p, (size_t)(rp->text + sizeof rp->text - p), "\"}\n");
}

static void reply_json(c8_srv_reply *rp, cJSON *o) {
  char *text = o ? cJSON_PrintUnformatted(o) : NULL;
  cJSON_Delete(o);
  if (!text) {
    reply_error(rp, 500, "out of memory");
    return;
  }
  size_t n = strlen(text);
  unsigned char *body = c8_malloc(n + 2);
  if (!body) {
    cJSON_free(text);
    reply_error(rp, 500, "out of memory");
    return;
  }
  memcpy(body, text, n);
  body[n] = '\n';
  cJSON_free(text);
  c8_srv_reply_free(rp);
  rp->status = 200;
  rp->type = "application/json";
  rp->body = body;
  rp->len = n + 1;
}

/* Strings that may come from a request are shown in errors cut to 200 bytes: `s` quoted for a message. */
static const char *shown(const char *s, char *buf, size_t cap) {
  size_t n = strlen(s);
  if (n < 200) return s;
  snprintf(buf, cap, "%.200s...", s);
  return buf;
}

/* ---- endpoints ------------------------------------------------------------------------------------------ */

static cJSON *shape_json(const calib8_value_info *v) {
  cJSON *a = cJSON_CreateArray();
  for (int d = 0; a && d < v->rank; d++) cJSON_AddItemToArray(a, cJSON_CreateNumber((double)v->dims[d]));
  return a;
}

static void do_state(c8_srv *S, c8_srv_reply *rp) {
  cJSON *o = cJSON_CreateObject();
  if (!o) {
    reply_error(rp, 500, "out of memory");
    return;
  }
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
  reply_json(rp, o);
}

/* One .npy image at the start of b: a view into b when `in_place` and its data starts 64-byte aligned (bool data is
 * copied: it is normalized to 0/1), else a c8_alloc'd copy (*owned). *used: the bytes of the image. */
static c8_status npy_take(const unsigned char *b, size_t len, const char *what, bool in_place, c8_tensor *t,
                          bool *owned, size_t *used) {
  *owned = false;
  size_t off;
  c8_status st = c8_npy_view(b, len, what, C8_NPY_FILE, t, &off);
  if (st) return st;
  *used = off + c8_nbytes(t);
  const unsigned char *data = b + off;
  if (in_place && t->dtype != CALIB8_BOOL && (uintptr_t)data % C8_ALIGN == 0) {
    t->data = (void *)data; /* the session only reads its inputs */
    return CALIB8_OK;
  }
  st = c8_npy_parse(b, len, what, t);
  *owned = st == CALIB8_OK;
  return st;
}

/* Splits a body of concatenated .npy images (one per model input, in input order) and checks dtypes and the fixed
 * dimensions; the thread's error says what is wrong. */
static c8_status parse_inputs(c8_srv *S, const c8_srv_request *rq, c8_tensor *t, bool *owned, int *n) {
  const unsigned char *b = rq->body;
  size_t off = 0, len = rq->len;
  *n = 0;
  while (off < len) {
    if (*n >= S->n_in)
      return c8_error(CALIB8_INVALID_ARGUMENT, "the body holds more than the model's %d input array(s)", S->n_in);
    char what[64];
    snprintf(what, sizeof what, "input array %d", *n + 1);
    size_t used = 0;
    c8_status st = npy_take(b + off, len - off, what, rq->padded, &t[*n], &owned[*n], &used);
    if (st) return st;
    (*n)++;
    off += used;
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

/* The outputs of the session's last run as concatenated .npy images, in one c8_malloc'd buffer. */
static c8_status outputs_npy(calib8_session *sess, unsigned char **out, size_t *out_len) {
  unsigned char *body = NULL;
  size_t blen = 0;
  c8_status st = CALIB8_OK;
  for (int i = 0; !st && i < calib8_session_output_count(sess); i++) {
    calib8_tensor y;
    void *one = NULL;
    size_t olen = 0;
    if ((st = calib8_session_output(sess, i, &y)) || (st = c8_npy_serialize(&y, &one, &olen))) break;
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
  if (st) {
    c8_mfree(body);
    return st;
  }
  *out = body;
  *out_len = blen;
  return CALIB8_OK;
}

static const char *header(const c8_srv_request *rq, const char *name) {
  return rq->header ? rq->header(rq->header_ctx, name) : NULL;
}

static void do_run(c8_srv *S, const c8_srv_request *rq, c8_srv_reply *rp) {
  c8_tensor t[C8_SERVE_MAX_IO];
  bool owned[C8_SERVE_MAX_IO] = {false};
  memset(t, 0, sizeof t);
  int n = 0;
  c8_status st = parse_inputs(S, rq, t, owned, &n);
  if (st) {
    reply_error(rp, 400, "%s", calib8_last_error());
    goto out;
  }
  pthread_mutex_lock(&S->mu);
  if (S->state != C8_SRV_RUNNING && S->state != C8_SRV_TEMPFAIL) {
    c8_srv_state s = S->state;
    pthread_mutex_unlock(&S->mu);
    reply_error(rp, 409, "no model is being served now (state %s); poll /v1/state", STATE_NAMES[s]);
    goto out;
  }
  const char *want = header(rq, "X-Calib8-Round");
  if (want && strtol(want, NULL, 10) != S->round) {
    int cur = S->round;
    pthread_mutex_unlock(&S->mu);
    char buf[208];
    reply_error(rp, 409, "round %s is over: the server is on round %d; poll /v1/state", shown(want, buf, sizeof buf),
                cur);
    goto out;
  }
  unsigned char *body = NULL;
  size_t blen = 0;
  double t0 = c8_now();
  st = calib8_session_run(S->sess, n, S->in_names, t);
  double run_ms = (c8_now() - t0) * 1e3;
  if (!st) st = outputs_npy(S->sess, &body, &blen);
  if (!st) {
    if (S->state == C8_SRV_TEMPFAIL) S->state = C8_SRV_RUNNING;
    S->ran = true;
    S->last_run = c8_now();
    S->requests++;
    S->round_requests++;
  }
  int round = S->round;
  pthread_mutex_unlock(&S->mu);
  if (st) {
    reply_error(rp, st == CALIB8_OUT_OF_MEMORY ? 500 : 400, "%s", calib8_last_error());
  } else {
    c8_srv_reply_free(rp);
    rp->status = 200;
    rp->type = "application/octet-stream";
    rp->body = body;
    rp->len = blen;
    rp->round = round;
    rp->run_ms = run_ms;
  }
out:
  for (int i = 0; i < C8_SERVE_MAX_IO; i++)
    if (owned[i]) c8_free(t[i].data);
}

static void do_report(c8_srv *S, const c8_srv_request *rq, c8_srv_reply *rp) {
  cJSON *j = cJSON_ParseWithLength((const char *)rq->body, rq->len);
  const cJSON *jr = j ? cJSON_GetObjectItemCaseSensitive(j, "round") : NULL;
  const cJSON *js = j ? cJSON_GetObjectItemCaseSensitive(j, "score") : NULL;
  if (!cJSON_IsObject(j) || !cJSON_IsNumber(jr) || !cJSON_IsNumber(js)) {
    cJSON_Delete(j);
    reply_error(rp, 400, "a report is a JSON object {\"round\": N, \"score\": S}");
    return;
  }
  double round = jr->valuedouble, score = js->valuedouble;
  cJSON_Delete(j);
  if (!isfinite(score)) {
    reply_error(rp, 400, "the score %g is not a finite number", score);
    return;
  }
  pthread_mutex_lock(&S->mu);
  c8_srv_state s = S->state;
  int cur = S->round;
  if (s == C8_SRV_FINISHED) {
    reply_error(rp, 409, "the search is finished; no round takes reports");
  } else if (round != (double)cur || s == C8_SRV_WAITING) {
    reply_error(rp, 409, "round %g is not the round being served (round %d, state %s)", round, cur, STATE_NAMES[s]);
  } else if (!S->ran) {
    reply_error(rp, 409, "report before any run of round %d: send its batches to /v1/run first", cur);
  } else {
    S->reported = true;
    S->score = score;
    S->state = C8_SRV_WAITING;
    pthread_cond_broadcast(&S->cv);
    c8_srv_reply_free(rp);
    rp->status = 200;
    rp->type = "application/json";
    snprintf(rp->text, sizeof rp->text, "{\"ok\":true,\"round\":%d}\n", cur);
  }
  pthread_mutex_unlock(&S->mu);
}

/* ---- requests ------------------------------------------------------------------------------------------- */

static bool token_ok(const c8_srv *S, const c8_srv_request *rq) {
  if (!S->o.token) return true;
  const char *h = header(rq, "Authorization");
  if (!h || strncmp(h, "Bearer ", 7)) return false;
  h += 7;
  size_t a = strlen(h), b = strlen(S->o.token), n = a > b ? a : b;
  volatile unsigned char diff = (unsigned char)(a != b);
  for (size_t i = 0; i < n; i++) diff |= (unsigned char)((i < a ? h[i] : 0) ^ (i < b ? S->o.token[i] : 0));
  return diff == 0;
}

bool c8_srv_admit(c8_srv *S, const c8_srv_request *rq, size_t *expect, bool *drop, c8_srv_reply *rp) {
  reply_init(rp);
  *expect = 0;
  *drop = false;
  if (!token_ok(S, rq)) {
    reply_error(rp, 401, "this server needs its token: Authorization: Bearer TOKEN");
    return false;
  }
  const char *cl = header(rq, "Content-Length");
  long long want = cl ? strtoll(cl, NULL, 10) : 0;
  if (want > 8 * S->max_body) {
    char buf[208];
    reply_error(rp, 413, "the body has %s bytes, more than the limit of %lld", shown(cl, buf, sizeof buf),
                (long long)S->max_body);
    return false;
  }
  if (want > S->max_body) *drop = true;
  else if (want > 0) *expect = (size_t)want;
  return true;
}

void c8_srv_dispatch(c8_srv *S, const c8_srv_request *rq, c8_srv_reply *rp) {
  reply_init(rp);
  if (!token_ok(S, rq)) {
    reply_error(rp, 401, "this server needs its token: Authorization: Bearer TOKEN");
    return;
  }
  if (rq->too_big || rq->len > (size_t)S->max_body) {
    reply_error(rp, 413, "the body is larger than the limit of %lld bytes", (long long)S->max_body);
    return;
  }
  const char *url = rq->url ? rq->url : "", *method = rq->method ? rq->method : "";
  char buf[208];
  bool get = !strcmp(method, "GET"), post = !strcmp(method, "POST");
  if (strncmp(url, "/v1/", 4)) {
    if (url[0] == '/' && url[1] == 'v' && url[2] >= '0' && url[2] <= '9')
      reply_error(rp, 400, "this server speaks wire version %d (/v%d/...), not '%s'", CALIB8_SERVE_WIRE_VERSION,
                  CALIB8_SERVE_WIRE_VERSION, shown(url, buf, sizeof buf));
    else
      reply_error(rp, 404, "unknown endpoint '%s': the endpoints are /v1/state, /v1/run, /v1/report",
                  shown(url, buf, sizeof buf));
    return;
  }
  const char *ep = url + 4;
  if (!strcmp(ep, "state")) {
    if (get) do_state(S, rp);
    else reply_error(rp, 405, "/v1/state takes GET");
  } else if (!strcmp(ep, "run")) {
    if (post) do_run(S, rq, rp);
    else reply_error(rp, 405, "/v1/run takes POST");
  } else if (!strcmp(ep, "report")) {
    if (post) do_report(S, rq, rp);
    else reply_error(rp, 405, "/v1/report takes POST");
  } else {
    reply_error(rp, 404, "unknown endpoint '%s': the endpoints are /v1/state, /v1/run, /v1/report",
                shown(url, buf, sizeof buf));
  }
}

/* ---- rounds --------------------------------------------------------------------------------------------- */

void c8_srv_round_begin(c8_srv *S, calib8_session *session, const char *what) {
  pthread_mutex_lock(&S->mu);
  bool fp32 = !strcmp(what, "fp32");
  snprintf(S->strategy, sizeof S->strategy, "%s", what);
  S->trial = fp32 ? 0 : S->trial + 1;
  S->sess = session;
  S->round++;
  S->state = C8_SRV_RUNNING;
  S->ran = S->reported = false;
  S->round_requests = 0;
  pthread_mutex_unlock(&S->mu);
  c8_srv_say(S, "round %d: serving %s", S->round, fp32 ? "the FP32 model" : S->strategy);
}

void c8_srv_round_end(c8_srv *S) {
  pthread_mutex_lock(&S->mu);
  S->sess = NULL;
  S->state = C8_SRV_WAITING;
  pthread_mutex_unlock(&S->mu);
}

/* ---- the server's description --------------------------------------------------------------------------- */

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

c8_status c8_srv_create(const calib8_model *model, const calib8_serve_options *options, c8_srv **out) {
  c8_srv *S = c8_calloc(1, sizeof *S);
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
  S->state = C8_SRV_WAITING;
  snprintf(S->strategy, sizeof S->strategy, "preparing");
  bool loopback = false;
  c8_status st = parse_listen(S->o.listen, &S->addr, &loopback);
  if (!st && !loopback && !S->o.token)
    st = c8_error(CALIB8_INVALID_ARGUMENT, "listening on '%s' (not loopback) needs a token (--token-file or CALIB8_TOKEN)",
                  S->o.listen);
  S->n_in = calib8_model_input_count(model);
  S->n_out = calib8_model_output_count(model);
  if (!st && (S->n_in > C8_SERVE_MAX_IO || S->n_in < 1))
    st = c8_error(CALIB8_UNSUPPORTED, "calib8 serve handles models with 1 to %d inputs, this one has %d",
                  C8_SERVE_MAX_IO, S->n_in);
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
  *out = S;
  return CALIB8_OK;
}

void c8_srv_destroy(c8_srv *S) {
  if (!S) return;
  pthread_cond_destroy(&S->cv);
  pthread_mutex_destroy(&S->mu);
  c8_mfree(S);
}
