/* calib8_serve_run's refusals (calib8/serve.h): each is one sentence with CALIB8_INVALID_ARGUMENT (or CALIB8_IO for an
 * address in use), before any search starts. The served search itself is tested from Python (tests/serve). */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include "calib8/calib8.h"
#include "check.h"

static calib8_model *model;
static calib8_dataset *calib;

static calib8_status never(void *user, calib8_session *s, double *score) {
  (void)user, (void)s;
  *score = 0;
  return CALIB8_OK;
}

static calib8_status serve(const char *listen, const char *token, int with_score) {
  calib8_serve_options sv = calib8_serve_options_default();
  sv.listen = listen;
  sv.token = token;
  calib8_search_options so = calib8_search_options_default();
  so.output = "/tmp/c8-serve-options-never.onnx";
  if (with_score) so.score = never;
  calib8_search_result r;
  return calib8_serve_run(model, calib, &sv, &so, &r);
}

static void test_refusals(void) {
  CHECK_EQ_INT(serve("0.0.0.0:0", NULL, 0), CALIB8_INVALID_ARGUMENT);
  CHECK(strstr(calib8_last_error(), "needs a token") != NULL);
  CHECK_EQ_INT(serve("10.1.2.3:8500", "", 0), CALIB8_INVALID_ARGUMENT); /* an empty token is none */
  CHECK_EQ_INT(serve("127.0.0.1", NULL, 0), CALIB8_INVALID_ARGUMENT);
  CHECK(strstr(calib8_last_error(), "HOST:PORT") != NULL);
  CHECK_EQ_INT(serve("127.0.0.1:70000", NULL, 0), CALIB8_INVALID_ARGUMENT);
  CHECK_EQ_INT(serve("example.org:8500", NULL, 0), CALIB8_INVALID_ARGUMENT);
  CHECK(strstr(calib8_last_error(), "IPv4") != NULL);
  CHECK_EQ_INT(serve("127.0.0.1:0", NULL, 1), CALIB8_INVALID_ARGUMENT);
  CHECK(strstr(calib8_last_error(), "clients score") != NULL);
  CHECK(access("/tmp/c8-serve-options-never.onnx", F_OK) != 0);
}

static void test_address_in_use(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t len = sizeof sa;
  CHECK(fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 && listen(fd, 1) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &len) == 0);
  char addr[64];
  snprintf(addr, sizeof addr, "127.0.0.1:%u", (unsigned)ntohs(sa.sin_port));
  CHECK_EQ_INT(serve(addr, NULL, 0), CALIB8_IO);
  CHECK(strstr(calib8_last_error(), "cannot listen") != NULL);
  close(fd);
}

int main(void) {
  calib8_dataset_options d = calib8_dataset_options_default();
  d.preprocess = "mean_value=72.94,std_value=90.0";
  d.limit = 8;
  const char *src = "examples/fmnist";
  if (calib8_model_load("examples/fmnist/fmnist_lenet.onnx", &model) || calib8_dataset_open(model, 1, &src, &d, &calib)) {
    fprintf(stderr, "setup: %s\n", calib8_last_error());
    return 1;
  }
  CHECK_RUN(test_refusals);
  CHECK_RUN(test_address_in_use);
  calib8_dataset_close(calib);
  calib8_model_destroy(model);
  fprintf(stderr, "%d checks, %d failed\n", check_count, check_failures);
  return check_failures != 0;
}
