/* calib8 serve's request handling without sockets (src/serve/dispatch.h): each endpoint's answers and errors as
 * docs/remote.md gives them, and the defects fuzz-serve found (docs/reliability.md). The same requests over HTTP are
 * tested from Python in tests/serve. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "check.h"
#include "core/json.h"
#include "core/tensor.h"
#include "data/dataset.h"
#include "data/npy.h"
#include "serve/dispatch.h"

static calib8_model *identity, *two;
static calib8_session *s_identity, *s_two;

typedef struct {
  const char *names[4], *values[4];
} hdrs;

static const char *lookup(void *ctx, const char *name) {
  const hdrs *h = ctx;
  for (int i = 0; i < 4 && h->names[i]; i++)
    if (!strcasecmp(h->names[i], name)) return h->values[i];
  return NULL;
}

/* One request through admit and dispatch, as libmicrohttpd hands it over; the answer's JSON (NULL if binary). */
static cJSON *ask(c8_srv *S, const char *method, const char *url, const hdrs *h, const void *body, size_t len,
                  c8_srv_reply *rp) {
  static const hdrs none;
  c8_srv_request rq = {.method = method, .url = url, .header = lookup, .header_ctx = (void *)(h ? h : &none)};
  size_t expect;
  bool drop;
  if (c8_srv_admit(S, &rq, &expect, &drop, rp)) {
    rq.body = body;
    rq.len = len;
    rq.too_big = drop;
    c8_srv_dispatch(S, &rq, rp);
  }
  if (strcmp(rp->type, "application/json")) return NULL;
  size_t n;
  const char *b = c8_srv_reply_bytes(rp, &n);
  CHECK(n > 0 && b[n - 1] == '\n' && !memchr(b, '\n', n - 1)); /* one line */
  cJSON *j = cJSON_ParseWithLength(b, n);
  CHECK(cJSON_IsObject(j));
  return j;
}

static const char *error_of(const cJSON *j) {
  const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
  return cJSON_IsString(e) ? e->valuestring : "(no error)";
}

static void *npy_of(const float *x, int64_t rows, int64_t cols, size_t *len) {
  c8_tensor t;
  memset(&t, 0, sizeof t);
  t.dtype = CALIB8_FLOAT;
  t.rank = 2;
  t.dims[0] = rows, t.dims[1] = cols;
  t.data = (void *)x;
  void *b = NULL;
  CHECK_EQ_INT(c8_npy_serialize(&t, &b, len), CALIB8_OK);
  return b;
}

static c8_srv *server(calib8_model *m, calib8_session *s, const char *token) {
  calib8_serve_options o = calib8_serve_options_default();
  o.listen = "127.0.0.1:0";
  o.token = token;
  c8_srv *S = NULL;
  CHECK_EQ_INT(c8_srv_create(m, &o, &S), CALIB8_OK);
  c8_srv_round_begin(S, s, "fp32");
  return S;
}

static void test_state(void) {
  c8_srv *S = server(two, s_two, NULL);
  c8_srv_reply rp;
  cJSON *j = ask(S, "GET", "/v1/state", NULL, NULL, 0, &rp);
  CHECK_EQ_INT(rp.status, 200);
  CHECK_EQ_INT(cJSON_GetObjectItemCaseSensitive(j, "version")->valueint, CALIB8_SERVE_WIRE_VERSION);
  CHECK_STR_CONTAINS(cJSON_GetObjectItemCaseSensitive(j, "state")->valuestring, "running");
  CHECK_EQ_INT(cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "inputs")), 2);
  cJSON_Delete(j);
  c8_srv_reply_free(&rp);
  c8_srv_destroy(S);
}

static void test_run(void) {
  c8_srv *S = server(identity, s_identity, NULL);
  float x[6] = {1, 2, 3, 4, 5, 6};
  size_t len;
  void *b = npy_of(x, 2, 3, &len);
  hdrs h = {{"X-Calib8-Round"}, {"0"}};
  c8_srv_reply rp;
  CHECK(ask(S, "POST", "/v1/run", &h, b, len, &rp) == NULL);
  CHECK_EQ_INT(rp.status, 200);
  CHECK_EQ_INT(rp.round, 0);
  size_t n;
  const void *out = c8_srv_reply_bytes(&rp, &n);
  CHECK(n == len && !memcmp(out, b, len)); /* Identity: the same .npy back */
  c8_srv_reply_free(&rp);

  /* the body in a c8_alloc buffer, as the server reads it: the array runs in place, with the same answer */
  unsigned char *padded = c8_alloc(len);
  memcpy(padded, b, len);
  c8_srv_request rq = {.method = "POST", .url = "/v1/run", .body = padded, .len = len, .padded = true};
  c8_srv_dispatch(S, &rq, &rp);
  CHECK_EQ_INT(rp.status, 200);
  out = c8_srv_reply_bytes(&rp, &n);
  CHECK(n == len && !memcmp(out, b, len));
  c8_srv_reply_free(&rp);
  rq.len = len - 1; /* cut: refused, in place too */
  c8_srv_dispatch(S, &rq, &rp);
  CHECK_EQ_INT(rp.status, 400);
  CHECK_STR_CONTAINS(rp.text, "input array 1 is truncated");
  c8_srv_reply_free(&rp);
  c8_free(padded);

  h.values[0] = "3"; /* a stale round */
  cJSON *j = ask(S, "POST", "/v1/run", &h, b, len, &rp);
  CHECK_EQ_INT(rp.status, 409);
  CHECK_STR_CONTAINS(error_of(j), "round 3 is over");
  cJSON_Delete(j);
  c8_srv_reply_free(&rp);

  j = ask(S, "POST", "/v1/run", NULL, b, len - 4, &rp); /* cut */
  CHECK_EQ_INT(rp.status, 400);
  cJSON_Delete(j);
  c8_srv_reply_free(&rp);
  c8_mfree(b);

  int64_t wide[6] = {1, 2, 3, 4, 5, 6};
  c8_tensor t;
  memset(&t, 0, sizeof t);
  t.dtype = CALIB8_INT64, t.rank = 2, t.dims[0] = 2, t.dims[1] = 3, t.data = wide;
  CHECK_EQ_INT(c8_npy_serialize(&t, &b, &len), CALIB8_OK);
  j = ask(S, "POST", "/v1/run", NULL, b, len, &rp);
  CHECK_EQ_INT(rp.status, 400);
  CHECK_STR_CONTAINS(error_of(j), "input 'x' is int64, the model wants float32");
  cJSON_Delete(j);
  c8_srv_reply_free(&rp);
  c8_mfree(b);

  c8_srv_round_end(S);
  b = npy_of(x, 2, 3, &len);
  j = ask(S, "POST", "/v1/run", NULL, b, len, &rp);
  CHECK_EQ_INT(rp.status, 409);
  CHECK_STR_CONTAINS(error_of(j), "no model is being served now (state waiting)");
  cJSON_Delete(j);
  c8_srv_reply_free(&rp);
  c8_mfree(b);
  c8_srv_destroy(S);
}

static void test_two_inputs(void) {
  c8_srv *S = server(two, s_two, NULL);
  float a[6] = {1, 2, 3, 4, 5, 6}, z[6] = {-1, -2, -3, -4, -5, -6};
  size_t la, lz;
  void *ba = npy_of(a, 2, 3, &la), *bz = npy_of(z, 2, 3, &lz);
  unsigned char both[1024];
  memcpy(both, ba, la);
  memcpy(both + la, bz, lz);
  c8_srv_reply rp;
  CHECK(ask(S, "POST", "/v1/run", NULL, both, la + lz, &rp) == NULL);
  CHECK_EQ_INT(rp.status, 200);
  size_t n;
  const unsigned char *out = c8_srv_reply_bytes(&rp, &n);
  CHECK(n == la + lz && !memcmp(out, both, n)); /* y = a, z = b, in output order */
  c8_srv_reply_free(&rp);
  cJSON *j = ask(S, "POST", "/v1/run", NULL, ba, la, &rp);
  CHECK_EQ_INT(rp.status, 400);
  CHECK_STR_CONTAINS(error_of(j), "the body holds 1 .npy array(s), the model has 2 input(s)");
  cJSON_Delete(j);
  c8_srv_reply_free(&rp);
  c8_mfree(ba);
  c8_mfree(bz);
  c8_srv_destroy(S);
}

static void test_report(void) {
  c8_srv *S = server(identity, s_identity, NULL);
  c8_srv_reply rp;
  const char *rep = "{\"round\": 0, \"score\": 0.75}";
  cJSON *j = ask(S, "POST", "/v1/report", NULL, rep, strlen(rep), &rp);
  CHECK_EQ_INT(rp.status, 409);
  CHECK_STR_CONTAINS(error_of(j), "report before any run of round 0");
  cJSON_Delete(j);
  c8_srv_reply_free(&rp);
  float x[3] = {1, 2, 3};
  size_t len;
  void *b = npy_of(x, 1, 3, &len);
  cJSON_Delete(ask(S, "POST", "/v1/run", NULL, b, len, &rp));
  CHECK_EQ_INT(rp.status, 200);
  c8_srv_reply_free(&rp);
  c8_mfree(b);
  const char *inf = "{\"round\": 0, \"score\": 1e999}";
  j = ask(S, "POST", "/v1/report", NULL, inf, strlen(inf), &rp);
  CHECK_EQ_INT(rp.status, 400);
  CHECK_STR_CONTAINS(error_of(j), "not a finite number");
  cJSON_Delete(j);
  c8_srv_reply_free(&rp);
  j = ask(S, "POST", "/v1/report", NULL, rep, strlen(rep), &rp);
  CHECK_EQ_INT(rp.status, 200);
  CHECK(S->reported && S->score == 0.75 && S->state == C8_SRV_WAITING);
  cJSON_Delete(j);
  c8_srv_reply_free(&rp);
  j = ask(S, "POST", "/v1/report", NULL, rep, strlen(rep), &rp); /* the round is over */
  CHECK_EQ_INT(rp.status, 409);
  cJSON_Delete(j);
  c8_srv_reply_free(&rp);
  c8_srv_destroy(S);
}

static void test_token_and_limits(void) {
  c8_srv *S = server(identity, s_identity, "s3cret");
  c8_srv_reply rp;
  hdrs wrong = {{"Authorization"}, {"Bearer s3creT"}}, right = {{"Authorization"}, {"Bearer s3cret"}};
  cJSON_Delete(ask(S, "GET", "/v1/state", NULL, NULL, 0, &rp));
  CHECK_EQ_INT(rp.status, 401);
  cJSON_Delete(ask(S, "GET", "/v1/state", &wrong, NULL, 0, &rp));
  CHECK_EQ_INT(rp.status, 401);
  cJSON_Delete(ask(S, "GET", "/v1/state", &right, NULL, 0, &rp));
  CHECK_EQ_INT(rp.status, 200);
  c8_srv_reply_free(&rp);
  hdrs big = {{"Authorization", "Content-Length"}, {"Bearer s3cret", "99999999999"}};
  cJSON *j = ask(S, "POST", "/v1/run", &big, NULL, 0, &rp);
  CHECK_EQ_INT(rp.status, 413);
  CHECK_STR_CONTAINS(error_of(j), "the body has 99999999999 bytes");
  cJSON_Delete(j);
  c8_srv_reply_free(&rp);
  c8_srv_destroy(S);
}

/* Errors quote what the request sent: they stay one line of valid JSON, cut to a readable length. */
static void test_errors_quote_safely(void) {
  c8_srv *S = server(identity, s_identity, NULL);
  c8_srv_reply rp;
  cJSON *j = ask(S, "GET", "/\"x\\\n\ty", NULL, NULL, 0, &rp);
  CHECK_EQ_INT(rp.status, 404);
  CHECK_STR_CONTAINS(error_of(j), "unknown endpoint '/\"x\\  y'");
  cJSON_Delete(j);
  c8_srv_reply_free(&rp);
  char url[4096];
  memset(url, 'a', sizeof url - 1);
  url[0] = '/';
  url[sizeof url - 1] = 0;
  j = ask(S, "GET", url, NULL, NULL, 0, &rp);
  CHECK_EQ_INT(rp.status, 404);
  CHECK(strlen(error_of(j)) < 400);
  cJSON_Delete(j);
  c8_srv_reply_free(&rp);
  /* 1,000 quotes: escaped, the message used to outgrow the answer's buffer and end as a cut, invalid JSON line */
  memset(url + 1, '"', 1000);
  url[1001] = 0;
  j = ask(S, "GET", url, NULL, NULL, 0, &rp);
  CHECK_EQ_INT(rp.status, 404);
  CHECK_STR_CONTAINS(error_of(j), "unknown endpoint '/\"\"\"");
  cJSON_Delete(j);
  c8_srv_reply_free(&rp);
  j = ask(S, "DELETE", "/v1/state", NULL, NULL, 0, &rp);
  CHECK_EQ_INT(rp.status, 405);
  cJSON_Delete(j);
  c8_srv_reply_free(&rp);
  j = ask(S, "GET", "/v2/state", NULL, NULL, 0, &rp);
  CHECK_EQ_INT(rp.status, 400);
  CHECK_STR_CONTAINS(error_of(j), "wire version 1");
  cJSON_Delete(j);
  c8_srv_reply_free(&rp);
  c8_srv_destroy(S);
}

int main(void) {
  calib8_session_options so = calib8_session_options_default();
  so.threads = 1;
  if (calib8_model_load("tests/fault/fixtures/identity.onnx", &identity) ||
      calib8_model_load("tests/fault/fixtures/two_inputs.onnx", &two) ||
      calib8_session_create(identity, &so, &s_identity) || calib8_session_create(two, &so, &s_two)) {
    fprintf(stderr, "setup: %s\n", calib8_last_error());
    return 1;
  }
  CHECK_RUN(test_state);
  CHECK_RUN(test_run);
  CHECK_RUN(test_two_inputs);
  CHECK_RUN(test_report);
  CHECK_RUN(test_token_and_limits);
  CHECK_RUN(test_errors_quote_safely);
  calib8_session_destroy(s_identity);
  calib8_session_destroy(s_two);
  calib8_model_destroy(identity);
  calib8_model_destroy(two);
  return CHECK_DONE();
}
