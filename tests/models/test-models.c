/* Real-model test: runs six real models (three Fashion-MNIST models, PP-OCR det/rec/cls) with calib8 on real
 * inputs and compares every output with ONNX Runtime's, made by scripts/setup-data.sh (tests/models/make_refs.sh)
 * into ${CALIB8_CACHE:-<source dir>/.cache}/refs/<model>/: in.npy and one <output>.npy per model output.
 *
 * Each model runs twice, with graph optimizations (optimize=1) and as written (optimize=0); both must match ORT:
 * cosine >= 0.9999 and max|calib8 - ort| <= 1e-3 * max|ort| for every output.
 *
 * Then determinism: the optimized model with 1 thread, with 2 threads, and unfused (a session with an observer
 * runs an unfused plan, graph/fuse.h) must give bit-identical outputs.
 *
 *   test-models [MODEL ...]     (default: all six)
 *
 * Exits 77 (CTest skip) when the cache is missing, 1 when a model fails, 0 when all pass. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "calib8/calib8.h"
#include "core/tensor.h"
#include "data/npy.h"
#include "run/session.h"

#ifndef C8_SOURCE_DIR
#error "C8_SOURCE_DIR must be defined (the calib8 source tree)"
#endif

#define SKIP 77
#define COS_MIN 0.9999
#define REL_MAX 1e-3

typedef struct {
  const char *name;
  int in_cache; /* 1: the model file is in <cache>/models, 0: in <source>/models */
  const char *file;
} model_entry;

static const model_entry MODELS[] = {
    {"fmnist_lenet", 0, "fmnist_lenet.onnx"},
    {"fmnist_resnet8", 0, "fmnist_resnet8.onnx"},
    {"fmnist_yolo", 0, "fmnist_yolo.onnx"},
    {"ppocr_cls", 1, "ch_ppocr_mobile_v2.0_cls_infer.onnx"},
    {"ppocr_rec", 1, "ch_PP-OCRv4_rec_infer.onnx"},
    {"ppocr_det", 1, "ch_PP-OCRv4_det_infer.onnx"},
};
#define N_MODELS ((int)(sizeof MODELS / sizeof MODELS[0]))

/* snprintf for paths: a path that does not fit is a fatal setup error. */
static void path_fmt(char *out, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void path_fmt(char *out, size_t size, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(out, size, fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= size) {
    fprintf(stderr, "test-models: path too long: %s...\n", out);
    exit(2);
  }
}

static int file_exists(const char *path) {
  struct stat sb;
  return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* The file name run_ort.js gives an output: characters outside [A-Za-z0-9._-] become '_'. */
static void sanitize(const char *name, char *out, size_t size) {
  size_t i = 0;
  for (; name[i] && i + 1 < size; i++) {
    char c = name[i];
    int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
             c == '-';
    out[i] = ok ? c : '_';
  }
  out[i] = 0;
}

static void shape_str(const calib8_tensor *t, char *buf, size_t size) {
  size_t n = (size_t)snprintf(buf, size, "[");
  for (int d = 0; d < t->rank && n < size; d++)
    n += (size_t)snprintf(buf + n, size - n, d ? ",%lld" : "%lld", (long long)t->dims[d]);
  if (n < size) snprintf(buf + n, size - n, "]");
}

/* Compares one output with its reference; prints one line; returns 1 when it matches. */
static int compare_output(const char *label, const char *oname, const calib8_tensor *got, const calib8_tensor *ref) {
  char gs[128], rs[128];
  shape_str(got, gs, sizeof gs);
  shape_str(ref, rs, sizeof rs);
  if (got->dtype != ref->dtype) {
    printf("  %-22s %s: dtype %s, ORT gives %s  FAIL\n", label, oname, calib8_dtype_name(got->dtype),
           calib8_dtype_name(ref->dtype));
    return 0;
  }
  if (got->rank != ref->rank || memcmp(got->dims, ref->dims, sizeof(int64_t) * (size_t)got->rank) != 0) {
    printf("  %-22s %s: shape %s, ORT gives %s  FAIL\n", label, oname, gs, rs);
    return 0;
  }
  int64_t n = c8_numel(ref);
  double dot = 0, ng = 0, nr = 0, maxdiff = 0, maxref = 0;
  int64_t nonfinite = 0, worst = 0;
  for (int64_t i = 0; i < n; i++) {
    double a = c8_get_f64(got, i), b = c8_get_f64(ref, i);
    if (!isfinite(a)) {
      nonfinite++;
      continue;
    }
    dot += a * b;
    ng += a * a;
    nr += b * b;
    double d = fabs(a - b);
    if (d > maxdiff) {
      maxdiff = d;
      worst = i;
    }
    if (fabs(b) > maxref) maxref = fabs(b);
  }
  double cosine = (ng == 0 && nr == 0) ? 1.0 : (ng == 0 || nr == 0) ? 0.0 : dot / (sqrt(ng) * sqrt(nr));
  double limit = REL_MAX * maxref;
  int ok = nonfinite == 0 && cosine >= COS_MIN && maxdiff <= limit;
  printf("  %-22s %s %s: cosine %.8f  max|diff| %.3g (limit %.3g, at %lld: %.6g vs ORT %.6g)", label, oname, gs,
         cosine, maxdiff, limit, (long long)worst, n ? c8_get_f64(got, worst) : 0.0, n ? c8_get_f64(ref, worst) : 0.0);
  if (nonfinite) printf("  %lld non-finite values", (long long)nonfinite);
  printf("  %s\n", ok ? "ok" : "FAIL");
  return ok;
}

/* Runs one model with one optimize setting against the references. Returns 1 on a full match. */
static int run_case(const char *name, const char *refdir, const calib8_model *model, const calib8_tensor *input,
                    int optimize) {
  char label[64];
  snprintf(label, sizeof label, "%s optimize=%d", name, optimize);
  calib8_session_options opts = calib8_session_options_default();
  opts.optimize = optimize;
  calib8_session *s = NULL;
  if (calib8_session_create(model, &opts, &s) != CALIB8_OK) {
    printf("  %-22s session: %s  FAIL\n", label, calib8_last_error());
    return 0;
  }
  double t0 = now_ms();
  if (calib8_session_run(s, 1, NULL, input) != CALIB8_OK) {
    printf("  %-22s run: %s  FAIL\n", label, calib8_last_error());
    calib8_session_destroy(s);
    return 0;
  }
  double ms = now_ms() - t0;
  int ok = 1, n_out = calib8_session_output_count(s);
  for (int o = 0; o < n_out; o++) {
    const char *oname = calib8_session_output_name(s, o);
    char fname[512], path[4096];
    sanitize(oname, fname, sizeof fname);
    path_fmt(path, sizeof path, "%s/%s.npy", refdir, fname);
    calib8_tensor got, ref = {0};
    if (calib8_session_output(s, o, &got) != CALIB8_OK) {
      printf("  %-22s output %s: %s  FAIL\n", label, oname, calib8_last_error());
      ok = 0;
      continue;
    }
    if (c8_npy_read(path, &ref) != CALIB8_OK) {
      printf("  %-22s output %s: no ORT reference (%s)  FAIL\n", label, oname, calib8_last_error());
      ok = 0;
      continue;
    }
    ok &= compare_output(label, oname, &got, &ref);
    c8_free(ref.data);
  }
  printf("  %-22s %d output%s, run %.1f ms\n", label, n_out, n_out == 1 ? "" : "s", ms);
  calib8_session_destroy(s);
  return ok;
}

static c8_status count_steps(void *user, const c8_graph *g, const c8_step *step) {
  (void)g, (void)step;
  ++*(int *)user;
  return CALIB8_OK;
}

/* Runs the optimized model with `threads` threads (observed: unfused; sub_batch: the session option) and
   returns copies of its outputs, and in *sub the sub-batch size it ran with (0: not split). */
static int run_copy(const calib8_model *model, const calib8_tensor *input, int threads, bool observe, int sub_batch,
                    calib8_tensor *outs, int max_out, int *n_out, int *sub) {
  calib8_session_options opts = calib8_session_options_default();
  opts.threads = threads;
  opts.sub_batch = sub_batch;
  calib8_session *s = NULL;
  int steps = 0;
  if (calib8_session_create(model, &opts, &s) != CALIB8_OK) return 0;
  if (observe) c8_session_set_observer(s, count_steps, &steps);
  int ok = calib8_session_run(s, 1, NULL, input) == CALIB8_OK;
  *sub = calib8_session_sub_batch(s);
  *n_out = calib8_session_output_count(s);
  for (int o = 0; ok && o < *n_out && o < max_out; o++) {
    calib8_tensor t;
    ok = calib8_session_output(s, o, &t) == CALIB8_OK;
    outs[o] = t;
    outs[o].data = c8_alloc(c8_nbytes(&t));
    if (!outs[o].data) ok = 0;
    else memcpy(outs[o].data, t.data, c8_nbytes(&t));
  }
  calib8_session_destroy(s);
  return ok;
}

/* 1 thread vs 2 threads vs unfused vs fused but unsplit (a batch runs as sub-batches over the threads,
   run/batch-split.h): bit-identical outputs. Returns 1 when they are. */
static int check_determinism(const char *name, const calib8_model *model, const calib8_tensor *input) {
  enum { MAX_OUT = 16, RUNS = 4 };
  static const char *const what[RUNS] = {"1 thread", "2 threads", "the unfused plan", "the unsplit plan"};
  calib8_tensor r[RUNS][MAX_OUT] = {{{0}}};
  int n[RUNS] = {0}, sub[RUNS] = {0}, ok = 1;
  ok &= run_copy(model, input, 1, false, 0, r[0], MAX_OUT, &n[0], &sub[0]);
  ok &= run_copy(model, input, 2, false, 0, r[1], MAX_OUT, &n[1], &sub[1]);
  ok &= run_copy(model, input, 1, true, 0, r[2], MAX_OUT, &n[2], &sub[2]);
  ok &= run_copy(model, input, 2, false, -1, r[3], MAX_OUT, &n[3], &sub[3]);
  for (int k = 1; k < RUNS; k++) ok &= n[k] == n[0];
  ok &= n[0] <= MAX_OUT;
  /* a batch of 2 or more of these models splits, at 1 and 2 threads alike, and never when observed or off */
  if (sub[0] != sub[1] || sub[2] != 0 || sub[3] != 0 || (input->dims[0] > 1) != (sub[0] > 0)) {
    printf("  %-22s sub-batches: %d (1 thread), %d (2 threads), %d (observed), %d (off)  FAIL\n", name, sub[0],
           sub[1], sub[2], sub[3]);
    ok = 0;
  }
  for (int o = 0; ok && o < n[0]; o++)
    for (int k = 1; k < RUNS; k++) {
      const size_t bytes = c8_nbytes(&r[0][o]);
      if (bytes != c8_nbytes(&r[k][o]) || memcmp(r[0][o].data, r[k][o].data, bytes) != 0) {
        printf("  %-22s output %d: %s differs from 1 thread  FAIL\n", name, o, what[k]);
        ok = 0;
      }
    }
  for (int k = 0; k < RUNS; k++)
    for (int o = 0; o < MAX_OUT; o++) c8_free(r[k][o].data);
  char split[64] = "not split";
  if (sub[0] > 0) snprintf(split, sizeof split, "sub-batches of %d", sub[0]);
  printf("  %-22s 1 thread, 2 threads, unfused, unsplit (%s): %s\n", name, split, ok ? "bit-identical  ok" : "FAIL");
  return ok;
}

int main(int argc, char **argv) {
  const char *src = C8_SOURCE_DIR;
  char cache[4096], refs[4096];
  const char *env = getenv("CALIB8_CACHE");
  if (env && env[0])
    path_fmt(cache, sizeof cache, "%s", env);
  else
    path_fmt(cache, sizeof cache, "%s/.cache", src);
  path_fmt(refs, sizeof refs, "%s/refs", cache);

  int selected[N_MODELS];
  for (int m = 0; m < N_MODELS; m++) selected[m] = argc < 2;
  for (int i = 1; i < argc; i++) {
    int found = 0;
    for (int m = 0; m < N_MODELS; m++)
      if (strcmp(argv[i], MODELS[m].name) == 0) selected[m] = found = 1;
    if (!found) {
      fprintf(stderr, "test-models: unknown model '%s' (known: fmnist_lenet fmnist_resnet8 fmnist_yolo ppocr_cls "
                      "ppocr_rec ppocr_det)\n", argv[i]);
      return 2;
    }
  }

  /* The cache must be complete: every selected model's file, input and the reference stamp. */
  char stamp[4096];
  path_fmt(stamp, sizeof stamp, "%s/stamp", refs);
  int missing = !file_exists(stamp);
  for (int m = 0; m < N_MODELS && !missing; m++) {
    if (!selected[m]) continue;
    char p[4096];
    path_fmt(p, sizeof p, "%s/%s/in.npy", refs, MODELS[m].name);
    missing |= !file_exists(p);
    path_fmt(p, sizeof p, "%s/models/%s", MODELS[m].in_cache ? cache : src, MODELS[m].file);
    missing |= !file_exists(p);
  }
  if (missing) {
    printf("test-models: the real-model cache %s is missing or incomplete: run scripts/setup-data.sh "
           "(skipping)\n", cache);
    return SKIP;
  }

  int passed = 0, failed = 0;
  for (int m = 0; m < N_MODELS; m++) {
    if (!selected[m]) continue;
    const model_entry *e = &MODELS[m];
    char model_path[4096], refdir[4096], in_path[4096];
    path_fmt(model_path, sizeof model_path, "%s/models/%s", e->in_cache ? cache : src, e->file);
    path_fmt(refdir, sizeof refdir, "%s/%s", refs, e->name);
    path_fmt(in_path, sizeof in_path, "%s/in.npy", refdir);
    printf("%s (%s)\n", e->name, model_path);
    fflush(stdout);

    calib8_model *model = NULL;
    calib8_tensor input = {0};
    if (calib8_model_load(model_path, &model) != CALIB8_OK) {
      printf("  %-22s load: %s  FAIL\n", e->name, calib8_last_error());
      failed += 2;
      continue;
    }
    if (c8_npy_read(in_path, &input) != CALIB8_OK) {
      printf("  %-22s input: %s  FAIL\n", e->name, calib8_last_error());
      failed += 2;
      calib8_model_destroy(model);
      continue;
    }
    for (int optimize = 1; optimize >= 0; optimize--) {
      if (run_case(e->name, refdir, model, &input, optimize))
        passed++;
      else
        failed++;
      fflush(stdout);
    }
    if (check_determinism(e->name, model, &input))
      passed++;
    else
      failed++;
    c8_free(input.data);
    calib8_model_destroy(model);
  }
  printf("%d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
