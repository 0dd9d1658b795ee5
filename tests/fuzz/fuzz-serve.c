/* calib8 serve's request handling without sockets (src/serve/dispatch.c): a request (method, URL, headers, body)
 * goes through c8_srv_admit and c8_srv_dispatch as libmicrohttpd would hand it over, against a round in any state.
 *
 * The input: one flag byte, then "METHOD URL\n", header lines "Name: value\n", an empty line, and the body (the
 * rest). Flag bits 0-1 pick the served model (identity.onnx [N,3]; two_inputs.onnx, two fixed [2,3] inputs; LeNet
 * [N,1,28,28], a real run), bit 2 a server with a token ("s3cret"), bits 3-4 the round's state (running,
 * temporary_fail, waiting, finished), bit 5 whether the round has run already, bit 6 a body in a c8_alloc buffer
 * (as the server reads it: arrays whose data is 64-byte aligned run in place) rather than a plain copy.
 *
 * Beyond the sanitizers, the harness checks what docs/remote.md promises: every answer is 200 or one of the 4xx, a
 * 500 only for out of memory; every JSON answer is one line and parses (an error is {"error": "..."}); a 200 from
 * /v1/run is the model's outputs as .npy arrays, one per output. */
#include "fuzz.h"

#include <strings.h>

#include "core/json.h"
#include "data/dataset.h"
#include "data/npy.h"
#include "serve/dispatch.h"

#ifndef FUZZ_SOURCE_DIR
#error "FUZZ_SOURCE_DIR: the repository root (tests/fuzz/CMakeLists.txt)"
#endif

#define N_MODELS 3
static const char *const MODEL_PATHS[N_MODELS] = {
    FUZZ_SOURCE_DIR "/tests/fuzz/corpus/onnx/identity.onnx",
    FUZZ_SOURCE_DIR "/tests/fuzz/corpus/onnx/two_inputs.onnx",
    FUZZ_SOURCE_DIR "/models/fmnist_lenet.onnx",
};
static calib8_model *models[N_MODELS];
static calib8_session *sessions[N_MODELS];
static c8_srv *servers[N_MODELS][2]; /* [model][token] */

#define MAX_HEADERS 32
typedef struct {
  int n;
  const char *name[MAX_HEADERS], *value[MAX_HEADERS];
} headers;

static const char *find_header(void *ctx, const char *name) {
  const headers *h = ctx;
  for (int i = 0; i < h->n; i++)
    if (!strcasecmp(h->name[i], name)) return h->value[i];
  return NULL;
}

static void fail(const char *what, const c8_srv_reply *rp) {
  size_t len;
  const char *b = c8_srv_reply_bytes(rp, &len);
  fprintf(stderr, "fuzz-serve: %s (status %u, %zu bytes: %.*s)\n", what, rp->status, len, (int)(len < 300 ? len : 300),
          b);
  abort();
}

static void check_reply(const c8_srv_request *rq, const c8_srv_reply *rp, int m) {
  size_t len;
  const char *b = c8_srv_reply_bytes(rp, &len);
  unsigned s = rp->status;
  if (s != 200 && s != 400 && s != 401 && s != 404 && s != 405 && s != 409 && s != 413 && s != 500)
    fail("an answer outside the documented statuses", rp);
  if (!strcmp(rp->type, "application/json")) {
    if (len == 0 || b[len - 1] != '\n' || memchr(b, '\n', len - 1)) fail("a JSON answer that is not one line", rp);
    cJSON *j = cJSON_ParseWithLength(b, len);
    if (!cJSON_IsObject(j)) fail("a JSON answer that does not parse", rp);
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
    if (s != 200 && !cJSON_IsString(e)) fail("an error without its message", rp);
    if (s == 500 && !strstr(e->valuestring, "out of memory")) fail("a 500 that is not out of memory", rp);
    cJSON_Delete(j);
    return;
  }
  if (s != 200 || strcmp(rq->url, "/v1/run")) fail("binary answer to something else than a run", rp);
  /* the outputs, one .npy per model output */
  size_t off = 0;
  int n = 0;
  while (off < len) {
    c8_tensor t;
    memset(&t, 0, sizeof t);
    size_t hl = 0;
    if (c8_npy_header_len(b + off, len - off, "output", &hl) || c8_npy_parse(b + off, len - off, "output", &t))
      fail("a run's answer that is not .npy arrays", rp);
    off += hl + c8_nbytes(&t);
    c8_free(t.data);
    n++;
  }
  if (n != calib8_model_output_count(models[m])) fail("a run's answer without one array per output", rp);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  fuzz_init();
  calib8_session_options so = calib8_session_options_default();
  so.threads = 1;
  for (int m = 0; m < N_MODELS; m++) {
    if (calib8_model_load(MODEL_PATHS[m], &models[m]) || calib8_session_create(models[m], &so, &sessions[m])) {
      fprintf(stderr, "fuzz-serve: %s: %s\n", MODEL_PATHS[m], calib8_last_error());
      abort();
    }
    for (int k = 0; k < 2; k++) {
      calib8_serve_options o = calib8_serve_options_default();
      o.listen = "127.0.0.1:0";
      o.token = k ? "s3cret" : NULL;
      if (c8_srv_create(models[m], &o, &servers[m][k])) {
        fprintf(stderr, "fuzz-serve: %s\n", calib8_last_error());
        abort();
      }
    }
  }
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  unsigned flags = data[0];
  int m = (int)(flags & 3) % N_MODELS;
  c8_srv *S = servers[m][(flags >> 2) & 1];
  static const c8_srv_state STATES[4] = {C8_SRV_RUNNING, C8_SRV_TEMPFAIL, C8_SRV_WAITING, C8_SRV_FINISHED};
  S->sess = sessions[m];
  S->round = 0;
  S->state = STATES[(flags >> 3) & 3];
  S->ran = (flags >> 5) & 1;
  S->reported = false;

  /* the request line and headers: a NUL-terminated copy, split in place */
  const uint8_t *rest = data + 1;
  size_t n = size - 1;
  const uint8_t *blank = NULL;
  for (size_t i = 0; i + 1 < n; i++)
    if (rest[i] == '\n' && rest[i + 1] == '\n') {
      blank = rest + i;
      break;
    }
  size_t head_len = blank ? (size_t)(blank - rest) : n;
  char *head = fuzz_string(rest, head_len);
  const unsigned char *body = blank ? blank + 2 : rest + n;
  size_t body_len = (size_t)(rest + n - body);
  headers h = {0};
  char *line = head, *next = strchr(line, '\n');
  if (next) *next++ = 0;
  char *url = strchr(line, ' ');
  if (url) *url++ = 0;
  c8_srv_request rq = {.method = line, .url = url ? url : "/", .header = find_header, .header_ctx = &h};
  for (line = next; line && h.n < MAX_HEADERS; line = next) {
    if ((next = strchr(line, '\n'))) *next++ = 0;
    char *colon = strchr(line, ':');
    if (!colon) continue;
    *colon++ = 0;
    while (*colon == ' ') colon++;
    h.name[h.n] = line;
    h.value[h.n++] = colon;
  }

  c8_srv_reply rp;
  size_t expect = 0;
  bool drop = false;
  if (c8_srv_admit(S, &rq, &expect, &drop, &rp)) {
    /* libmicrohttpd reads Content-Length bytes; here the body is what the input holds */
    /* the body in a buffer of its own size, so that ASan sees any read past it (but the tail padding of a c8_alloc
       buffer, which kernels may read) */
    unsigned char *copy = (flags >> 6) & 1 ? c8_alloc(body_len) : malloc(body_len ? body_len : 1);
    if (!copy) abort();
    if (body_len) memcpy(copy, body, body_len);
    rq.body = copy;
    rq.len = body_len;
    rq.padded = (flags >> 6) & 1;
    rq.too_big = drop || body_len > (size_t)S->max_body;
    c8_srv_dispatch(S, &rq, &rp);
    if (rq.padded) c8_free(copy);
    else free(copy);
  }
  check_reply(&rq, &rp, m);
  c8_srv_reply_free(&rp);
  free(head);
  return 0;
}
