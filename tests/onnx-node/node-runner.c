/* node-runner: runs the ONNX backend node tests (Debian libonnx-testdata) through calib8.
 *
 *   node-runner DATA_DIR [--report FILE.md] [--filter SUBSTR] [--min-pass 0.97] [--timeout SEC] [--no-fork]
 *               [--exit-zero] [-v]
 *
 * --timeout bounds each case (default 120 s, 0 = none); --no-fork runs the cases in-process (for a debugger);
 * --exit-zero reports the target without failing (the report target of the build).
 *
 * A case (a folder of DATA_DIR) is selected when its model.onnx has exactly one node whose op_type is in the
 * REQUIRED list (the operators calib8 must support) or is any other operator calib8 registers, and every tensor
 * of its test data sets is float32/int64/int32/int8/uint8/bool. Training-mode cases (Dropout, BatchNormalization
 * training_mode=1) are excluded.
 * The selection reads the ModelProto with the generated protobuf-c code, so a case calib8 cannot load is a
 * failure ("unsupported operator ..."), not a skip.
 *
 * Each selected case runs in a forked child (a crash or a hang fails that case only) through the public session
 * API. Inputs that calib8 needs at prepare time (Reshape's shape, Resize's scales, ...) are graph inputs in the
 * node tests; the session binds such inputs by value itself (src/run/session.c: it plans again when their values
 * change), so every case runs with all its inputs fed at run time. Should a run still fail with
 * CALIB8_UNSUPPORTED, the case is retried with the inputs after the first bound as constant initializers of the
 * model, then with all of them, and the report counts those cases apart (0 since the session binds by value).
 *
 * Outputs compare with numpy.allclose(rtol=1e-4, atol=1e-5, equal_nan=True) for float32, exactly otherwise, after
 * checking dtype and shape. The exit status is non-zero when the pass rate of the REQUIRED-list cases is below
 * --min-pass. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "calib8/calib8.h"
#include "load/model.h"
#include "onnx.pb-c.h"
#include "ops/op.h"

#define RTOL 1e-4
#define ATOL 1e-5
#define REASON_MAX 1024

/* The operators the issue requires (plus Range, which the real models use). */
static const char *const required_ops[] = {
    "Conv", "ConvTranspose", "Gemm", "MatMul", "BatchNormalization", "Relu", "Clip", "LeakyRelu", "PRelu",
    "Sigmoid", "HardSigmoid", "HardSwish", "Tanh", "Softmax", "Erf", "Exp", "Log", "Neg", "Abs", "Reciprocal",
    "Add", "Sub", "Mul", "Div", "Pow", "Sqrt", "Max", "Min", "Sum", "Mean", "MaxPool", "AveragePool",
    "GlobalAveragePool", "GlobalMaxPool", "Reshape", "Flatten", "Transpose", "Concat", "Split", "Slice", "Squeeze",
    "Unsqueeze", "Gather", "Shape", "Cast", "Expand", "ConstantOfShape", "Constant", "Identity", "Dropout",
    "Resize", "Pad", "ReduceMean", "ReduceSum", "LayerNormalization", "QuantizeLinear", "DequantizeLinear",
    "QLinearConv", "QLinearMatMul", "MatMulInteger", "ConvInteger", "Range",
};
#define N_REQUIRED (int)(sizeof required_ops / sizeof required_ops[0])

typedef enum { RES_NONE, RES_PASS, RES_FAIL } result_kind;

typedef struct {
  char *name;
  char *op;
  bool required;
  char **inputs; /* graph inputs that are not initializers, in order */
  int n_inputs;
  char **datasets; /* test_data_set_* folder names, sorted */
  int n_datasets;
  result_kind result;
  bool frozen;       /* ran with inputs bound as constants */
  bool frozen_first; /* ... including the first input */
  char reason[REASON_MAX];
} test_case;

typedef struct {
  const char *op;
  bool required;
  int selected, passed, frozen;
} op_stat;

typedef struct {
  const char *data_dir, *report, *filter;
  double min_pass;
  int timeout;
  bool fork, verbose, exit_zero;
} options;

/* ---- small helpers ------------------------------------------------------------------------------------ */

static char *xstrdup(const char *s) {
  char *p = strdup(s ? s : "");
  if (!p) {
    fprintf(stderr, "node-runner: out of memory\n");
    exit(2);
  }
  return p;
}

static void *xrealloc(void *p, size_t n) {
  void *q = realloc(p, n ? n : 1);
  if (!q) {
    fprintf(stderr, "node-runner: out of memory\n");
    exit(2);
  }
  return q;
}

/* snprintf for paths: false (and an empty string) when the result does not fit. */
static bool pathf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static bool pathf(char *buf, size_t size, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, size, fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= size) {
    buf[0] = 0;
    return false;
  }
  return true;
}

static int cmp_version(const void *a, const void *b) {
  return strverscmp(*(const char *const *)a, *(const char *const *)b);
}
static int cmp_name(const void *a, const void *b) { return strcmp(*(const char *const *)a, *(const char *const *)b); }

/* Folder entries of `dir` whose name starts with `prefix` (all when NULL), sorted with `cmp`. */
static int list_dir(const char *dir, const char *prefix, bool dirs_only, int (*cmp)(const void *, const void *),
                    char ***out) {
  DIR *d = opendir(dir);
  if (!d) return -1;
  char **names = NULL;
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    if (prefix && strncmp(e->d_name, prefix, strlen(prefix)) != 0) continue;
    if (dirs_only) {
      char path[4096];
      struct stat sb;
      pathf(path, sizeof path, "%s/%s", dir, e->d_name);
      if (stat(path, &sb) != 0 || !S_ISDIR(sb.st_mode)) continue;
    }
    names = xrealloc(names, sizeof *names * (size_t)(n + 1));
    names[n++] = xstrdup(e->d_name);
  }
  closedir(d);
  if (n) qsort(names, (size_t)n, sizeof *names, cmp);
  *out = names;
  return n;
}

static void free_list(char **names, int n) {
  for (int i = 0; i < n; i++) free(names[i]);
  free(names);
}

static bool file_exists(const char *path) {
  struct stat sb;
  return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

static bool allowed_dtype(int dt) {
  return dt == CALIB8_FLOAT || dt == CALIB8_INT64 || dt == CALIB8_INT32 || dt == CALIB8_INT8 ||
         dt == CALIB8_UINT8 || dt == CALIB8_BOOL;
}

static bool is_required(const char *domain, const char *op) {
  if (domain && *domain && strcmp(domain, "ai.onnx") != 0) return false;
  for (int i = 0; i < N_REQUIRED; i++)
    if (strcmp(required_ops[i], op) == 0) return true;
  return false;
}

/* Makes a message one line (errors are one sentence, but be safe) and bounded. */
static void set_reason(char *dst, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_reason(char *dst, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(dst, REASON_MAX, fmt, ap);
  va_end(ap);
  for (char *p = dst; *p; p++)
    if (*p == '\n' || *p == '\r' || *p == '\t') *p = ' ';
}

/* ---- selection (no calib8 decoding) ------------------------------------------------------------------- */

typedef enum {
  SKIP_NONE,
  SKIP_UNREADABLE,  /* model.onnx missing or not a ModelProto */
  SKIP_NODE_COUNT,  /* not a single-node model */
  SKIP_OP,          /* operator neither required nor registered */
  SKIP_TRAINING,    /* Dropout / BatchNormalization training mode */
  SKIP_DTYPE,       /* a tensor with a dtype outside the tested set */
  SKIP_NONTENSOR,   /* a sequence/optional/map graph input or output */
  SKIP_NO_DATA,     /* no test_data_set_* */
  SKIP__COUNT
} skip_kind;

static const char *const skip_names[SKIP__COUNT] = {
    [SKIP_UNREADABLE] = "model.onnx unreadable",
    [SKIP_NODE_COUNT] = "not a single-node model",
    [SKIP_OP] = "operator neither required nor registered in calib8",
    [SKIP_TRAINING] = "training mode (Dropout, BatchNormalization training_mode=1)",
    [SKIP_DTYPE] = "a tensor dtype outside float32/int64/int32/int8/uint8/bool",
    [SKIP_NONTENSOR] = "a non-tensor (sequence/optional/map) graph input or output",
    [SKIP_NO_DATA] = "no test_data_set_*",
};

static bool tensor_type_ok(const Onnx__ValueInfoProto *vi, skip_kind *why) {
  if (!vi->type || vi->type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE) {
    *why = SKIP_NONTENSOR;
    return false;
  }
  const Onnx__TypeProto__Tensor *tt = vi->type->tensor_type;
  if (tt->has_elem_type && !allowed_dtype(tt->elem_type)) {
    *why = SKIP_DTYPE;
    return false;
  }
  return true;
}

/* Checks the dtype of every .pb in a data set folder. */
static bool dataset_dtypes_ok(const char *dsdir) {
  char **files = NULL;
  int n = list_dir(dsdir, NULL, false, cmp_name, &files);
  bool ok = n >= 0;
  for (int i = 0; ok && i < n; i++) {
    size_t l = strlen(files[i]);
    if (l < 3 || strcmp(files[i] + l - 3, ".pb") != 0) continue;
    char path[4096];
    pathf(path, sizeof path, "%s/%s", dsdir, files[i]);
    void *bytes = NULL;
    size_t len = 0;
    if (c8_read_file(path, &bytes, &len) != CALIB8_OK) {
      ok = false;
      break;
    }
    Onnx__TensorProto *tp = onnx__tensor_proto__unpack(NULL, len, bytes);
    free(bytes);
    ok = tp && allowed_dtype(tp->data_type);
    if (tp) onnx__tensor_proto__free_unpacked(tp, NULL);
  }
  if (n > 0) free_list(files, n);
  return ok;
}

/* Decides whether case `name` is selected; fills c on success. */
static skip_kind select_case(const char *data_dir, const char *name, test_case *c) {
  char dir[4096], path[4200];
  pathf(dir, sizeof dir, "%s/%s", data_dir, name);
  pathf(path, sizeof path, "%s/model.onnx", dir);
  void *bytes = NULL;
  size_t len = 0;
  if (!file_exists(path) || c8_read_file(path, &bytes, &len) != CALIB8_OK) return SKIP_UNREADABLE;
  Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, len, bytes);
  free(bytes);
  if (!m) return SKIP_UNREADABLE;
  skip_kind why = SKIP_NONE;
  const Onnx__GraphProto *g = m->graph;
  if (!g || g->n_node != 1) {
    why = SKIP_NODE_COUNT;
    goto out;
  }
  const Onnx__NodeProto *node = g->node[0];
  const char *op = node->op_type ? node->op_type : "", *domain = node->domain ? node->domain : "";
  bool required = is_required(domain, op);
  if (!required && !c8_op_find(domain, op)) {
    why = SKIP_OP;
    goto out;
  }
  /* Training-mode cases: Dropout's (test_training_dropout*) and BatchNormalization's training_mode=1 (running
     statistics as extra outputs). calib8 is an inference engine. */
  bool training = strncmp(name, "test_training_dropout", 21) == 0;
  for (size_t i = 0; i < node->n_attribute; i++) {
    const Onnx__AttributeProto *a = node->attribute[i];
    if (a->name && strcmp(a->name, "training_mode") == 0 && a->has_i && a->i != 0) training = true;
  }
  if (training) {
    why = SKIP_TRAINING;
    goto out;
  }
  for (size_t i = 0; i < g->n_input && !why; i++)
    if (!tensor_type_ok(g->input[i], &why)) break;
  for (size_t i = 0; i < g->n_output && !why; i++)
    if (!tensor_type_ok(g->output[i], &why)) break;
  if (why) goto out;
  char **ds = NULL;
  int nds = list_dir(dir, "test_data_set_", true, cmp_version, &ds);
  if (nds <= 0) {
    why = SKIP_NO_DATA;
    goto out;
  }
  for (int i = 0; i < nds && !why; i++) {
    pathf(path, sizeof path, "%s/%s", dir, ds[i]);
    if (!dataset_dtypes_ok(path)) why = SKIP_DTYPE;
  }
  if (why) {
    free_list(ds, nds);
    goto out;
  }
  memset(c, 0, sizeof *c);
  c->name = xstrdup(name);
  c->op = xstrdup(*domain && strcmp(domain, "ai.onnx") != 0 ? domain : "");
  if (*c->op) {
    size_t n = strlen(c->op) + strlen(op) + 3;
    char *full = xrealloc(NULL, n);
    snprintf(full, n, "%s::%s", c->op, op);
    free(c->op);
    c->op = full;
  } else {
    free(c->op);
    c->op = xstrdup(op);
  }
  c->required = required;
  c->datasets = ds;
  c->n_datasets = nds;
  c->inputs = xrealloc(NULL, sizeof(char *) * (g->n_input + 1));
  for (size_t i = 0; i < g->n_input; i++) {
    bool init = false;
    for (size_t k = 0; k < g->n_initializer && !init; k++)
      init = g->initializer[k]->name && strcmp(g->initializer[k]->name, g->input[i]->name) == 0;
    if (!init) c->inputs[c->n_inputs++] = xstrdup(g->input[i]->name);
  }
out:
  onnx__model_proto__free_unpacked(m, NULL);
  return why;
}

/* ---- running one case (in the child) ------------------------------------------------------------------ */

/* calib8's load errors start with "model '<path>': "; the case name already says which model. */
static const char *strip_model(const char *err, const char *path) {
  char prefix[4500];
  if (pathf(prefix, sizeof prefix, "model '%s': ", path) && strncmp(err, prefix, strlen(prefix)) == 0)
    return err + strlen(prefix);
  return err;
}

static bool load_pb(const char *path, calib8_tensor *t, char *reason) {
  void *bytes = NULL;
  size_t len = 0;
  if (c8_read_file(path, &bytes, &len) != CALIB8_OK) {
    set_reason(reason, "%s", calib8_last_error());
    return false;
  }
  calib8_status st = c8_onnx_parse_tensor(bytes, len, path, t, NULL);
  free(bytes);
  if (st) {
    set_reason(reason, "cannot read test data: %s", calib8_last_error());
    return false;
  }
  return true;
}

static const char *shape_str(const calib8_tensor *t, char *buf, size_t size) { return c8_shape_str(t, buf, size); }

/* Compares one output; returns true when equal (within tolerance for float32). */
static bool compare(const calib8_tensor *got, const calib8_tensor *want, const char *what, char *reason) {
  char a[128], b[128];
  if (got->dtype != want->dtype) {
    set_reason(reason, "%s is %s, expected %s", what, calib8_dtype_name(got->dtype), calib8_dtype_name(want->dtype));
    return false;
  }
  if (!c8_same_shape(got, want)) {
    set_reason(reason, "%s has shape %s, expected %s", what, shape_str(got, a, sizeof a),
               shape_str(want, b, sizeof b));
    return false;
  }
  int64_t n = c8_numel(want), bad = 0, first = -1;
  if (n > 0 && !got->data) {
    set_reason(reason, "%s has no data", what);
    return false;
  }
  if (want->dtype == CALIB8_FLOAT) {
    const float *x = got->data, *y = want->data;
    double max_err = 0;
    for (int64_t i = 0; i < n; i++) {
      double g = x[i], e = y[i];
      bool ok;
      if (isnan(g) || isnan(e)) ok = isnan(g) && isnan(e);
      else if (isinf(g) || isinf(e)) ok = g == e;
      else {
        double err = fabs(g - e);
        ok = err <= ATOL + RTOL * fabs(e);
        if (!ok && err > max_err) max_err = err;
      }
      if (!ok) {
        if (first < 0) first = i;
        bad++;
      }
    }
    if (bad) {
      set_reason(reason, "%s element %lld is %.9g, expected %.9g (%lld of %lld elements differ, max abs error %.3g)",
                 what, (long long)first, (double)x[first], (double)y[first], (long long)bad, (long long)n, max_err);
      return false;
    }
    return true;
  }
  for (int64_t i = 0; i < n; i++) {
    int64_t g = c8_get_i64(got, i), e = c8_get_i64(want, i);
    if (want->dtype == CALIB8_BOOL) g = g != 0, e = e != 0;
    if (g != e) {
      if (first < 0) first = i;
      bad++;
    }
  }
  if (bad) {
    set_reason(reason, "%s element %lld is %lld, expected %lld (%lld of %lld elements differ)", what, (long long)first,
               (long long)c8_get_i64(got, first), (long long)c8_get_i64(want, first), (long long)bad, (long long)n);
    return false;
  }
  return true;
}

/* Runs one data set. Inputs from index `freeze_from` on become constant initializers of the model's graph before
 * the session is created (freeze_from >= the input count: none). Returns true when every output matches;
 * *run_status receives the status of a failing calib8_session_run (where prepare errors surface), CALIB8_OK for
 * any other failure. */
static bool run_dataset(const options *o, const test_case *c, const char *ds, int freeze_from,
                        calib8_status *run_status, char *reason) {
  char dir[4096], path[4400];
  pathf(dir, sizeof dir, "%s/%s/%s", o->data_dir, c->name, ds);
  bool ok = false;
  calib8_model *m = NULL;
  calib8_session *s = NULL;
  calib8_tensor in[64], want;
  const char *names[64];
  int n_in = 0;
  memset(in, 0, sizeof in);
  memset(&want, 0, sizeof want);
  *run_status = CALIB8_OK;

  pathf(path, sizeof path, "%s/%s/model.onnx", o->data_dir, c->name);
  calib8_status st = calib8_model_load(path, &m);
  if (st) {
    set_reason(reason, "load failed (%s): %s", calib8_status_string(st), strip_model(calib8_last_error(), path));
    goto out;
  }
  for (;; n_in++) {
    pathf(path, sizeof path, "%s/input_%d.pb", dir, n_in);
    if (!file_exists(path)) break;
    if (n_in >= 64 || n_in >= c->n_inputs) {
      set_reason(reason, "%s has more input files than the model has inputs (%d)", ds, c->n_inputs);
      goto out;
    }
    if (!load_pb(path, &in[n_in], reason)) goto out;
    names[n_in] = c->inputs[n_in];
  }
  int n_run = n_in < freeze_from ? n_in : freeze_from; /* inputs still fed at run time */
  if (freeze_from < n_in) {
    c8_graph *g = m->graph;
    for (int i = freeze_from; i < n_in; i++) {
      int id = c8_graph_find_value(g, names[i]);
      if (id < 0) {
        set_reason(reason, "calib8 lost graph input '%s'", names[i]);
        goto out;
      }
      c8_graph_set_const(g, id, in[i]); /* the graph owns the data now */
      in[i].data = NULL;
      int k = 0;
      for (int j = 0; j < g->n_inputs; j++)
        if (g->inputs[j] != id) g->inputs[k++] = g->inputs[j];
      g->n_inputs = k;
    }
  }
  calib8_session_options opts = calib8_session_options_default();
  st = calib8_session_create(m, &opts, &s);
  if (st) {
    set_reason(reason, "session failed (%s): %s", calib8_status_string(st), calib8_last_error());
    goto out;
  }
  st = calib8_session_run(s, n_run, names, in);
  if (st) {
    *run_status = st;
    set_reason(reason, "run failed (%s): %s", calib8_status_string(st), calib8_last_error());
    goto out;
  }
  int n_out = calib8_session_output_count(s), k = 0;
  for (;; k++) {
    pathf(path, sizeof path, "%s/output_%d.pb", dir, k);
    if (!file_exists(path)) break;
    if (k >= n_out) {
      set_reason(reason, "the session has %d outputs, the test expects more", n_out);
      goto out;
    }
    if (!load_pb(path, &want, reason)) goto out;
    calib8_tensor got;
    if (calib8_session_output(s, k, &got) != CALIB8_OK) {
      set_reason(reason, "output %d: %s", k, calib8_last_error());
      goto out;
    }
    char what[512];
    snprintf(what, sizeof what, "%s: output %d '%s'", ds, k, calib8_session_output_name(s, k));
    if (!compare(&got, &want, what, reason)) goto out;
    c8_free(want.data);
    want.data = NULL;
  }
  if (k == 0) {
    set_reason(reason, "%s has no output_0.pb", ds);
    goto out;
  }
  ok = true;
out:
  c8_free(want.data);
  for (int i = 0; i < n_in; i++) c8_free(in[i].data);
  calib8_session_destroy(s);
  calib8_model_destroy(m);
  return ok;
}

/* The calib8 message of a reason "<stage> failed (<status>): <message>". */
static const char *reason_message(const char *r) {
  const char *p = strstr(r, "): ");
  return p ? p + 3 : r;
}

/* Runs every data set. When a run fails with CALIB8_UNSUPPORTED (an input needed at prepare time, such as
 * Reshape's shape, is a graph input here), retries with the inputs after the first bound as constants, then
 * with all of them. Writes "P<mode>" or "F<mode><reason>" (mode D dynamic, C constant inputs) to `fd`. */
static void run_case(const options *o, const test_case *c, int fd) {
  char reason[REASON_MAX] = "", dyn_reason[REASON_MAX] = "";
  calib8_status st;
  int n = c->n_inputs, freeze_from = n; /* n: nothing frozen, 1: all but the first, 0: all */
  bool ok = true;
  for (int d = 0; d < c->n_datasets && ok; d++) {
    for (;;) {
      ok = run_dataset(o, c, c->datasets[d], freeze_from, &st, reason);
      if (ok || st != CALIB8_UNSUPPORTED || freeze_from == 0) break;
      if (freeze_from == n) memcpy(dyn_reason, reason, sizeof reason);
      freeze_from = freeze_from > 1 && n > 1 ? 1 : 0;
    }
  }
  bool frozen = freeze_from < n;
  char msg[2 * REASON_MAX + 64];
  if (ok) {
    snprintf(msg, sizeof msg, "P%c", !frozen ? 'D' : freeze_from ? 'L' : 'C');
  } else if (frozen && strcmp(reason_message(reason), reason_message(dyn_reason)) != 0) {
    snprintf(msg, sizeof msg, "FC%s (with %s inputs bound as constants) [with dynamic inputs: %s]", reason,
             freeze_from ? "the second and later" : "all", dyn_reason);
  } else {
    snprintf(msg, sizeof msg, "F%c%s", frozen ? 'C' : 'D', reason);
  }
  size_t len = strlen(msg), off = 0;
  while (off < len) {
    ssize_t w = write(fd, msg + off, len - off);
    if (w <= 0) break;
    off += (size_t)w;
  }
}

static void parse_result(test_case *c, const char *msg) {
  if (msg[0] == 'P') {
    c->result = RES_PASS;
    c->frozen = msg[1] == 'C' || msg[1] == 'L';
    c->frozen_first = msg[1] == 'C';
  } else if (msg[0] == 'F' && msg[1]) {
    c->result = RES_FAIL;
    c->frozen = msg[1] == 'C';
    set_reason(c->reason, "%s", msg + 2);
  } else {
    c->result = RES_FAIL;
    set_reason(c->reason, "the runner child reported nothing");
  }
}

static void execute(const options *o, test_case *c) {
  if (!o->fork) {
    int fds[2];
    char buf[2 * REASON_MAX + 64] = "";
    /* A pipe keeps one code path; the message is far smaller than the pipe buffer. */
    if (pipe(fds) != 0) {
      c->result = RES_FAIL;
      set_reason(c->reason, "pipe: %s", strerror(errno));
      return;
    }
    run_case(o, c, fds[1]);
    close(fds[1]);
    ssize_t n = read(fds[0], buf, sizeof buf - 1);
    close(fds[0]);
    buf[n > 0 ? n : 0] = 0;
    parse_result(c, buf);
    return;
  }
  int fds[2];
  if (pipe(fds) != 0) {
    c->result = RES_FAIL;
    set_reason(c->reason, "pipe: %s", strerror(errno));
    return;
  }
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    c->result = RES_FAIL;
    set_reason(c->reason, "fork: %s", strerror(errno));
    return;
  }
  if (pid == 0) {
    close(fds[0]);
    if (o->timeout > 0) alarm((unsigned)o->timeout);
    run_case(o, c, fds[1]);
    close(fds[1]);
    exit(0); /* not _exit: LeakSanitizer checks the case's allocations at exit in sanitizer builds */
  }
  close(fds[1]);
  char buf[2 * REASON_MAX + 64];
  size_t have = 0;
  for (;;) {
    ssize_t n = read(fds[0], buf + have, sizeof buf - 1 - have);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    have += (size_t)n;
    if (have == sizeof buf - 1) break;
  }
  buf[have] = 0;
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    c->result = RES_FAIL;
    if (sig == SIGALRM) set_reason(c->reason, "timed out after %d s", o->timeout);
    else set_reason(c->reason, "crashed with signal %d (%s)", sig, strsignal(sig));
  } else if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
    c->result = RES_FAIL;
    set_reason(c->reason, "the case exited with status %d (a sanitizer report is on stderr)", WEXITSTATUS(status));
  } else {
    parse_result(c, buf);
  }
}

/* ---- report ------------------------------------------------------------------------------------------- */

static op_stat *stat_for(op_stat **stats, int *n, const char *op, bool required) {
  for (int i = 0; i < *n; i++)
    if (strcmp((*stats)[i].op, op) == 0) return &(*stats)[i];
  *stats = xrealloc(*stats, sizeof **stats * (size_t)(*n + 1));
  op_stat *s = &(*stats)[(*n)++];
  memset(s, 0, sizeof *s);
  s->op = op;
  s->required = required;
  return s;
}

static int cmp_stat(const void *a, const void *b) {
  const op_stat *x = a, *y = b;
  if (x->required != y->required) return x->required ? -1 : 1;
  return strcmp(x->op, y->op);
}

/* Markdown-safe inline code: backticks become quotes. */
static void md_code(FILE *f, const char *s) {
  fputc('`', f);
  for (; *s; s++) fputc(*s == '`' ? '\'' : *s, f);
  fputc('`', f);
}

static double rate(int pass, int total) { return total ? (double)pass / total : 0.0; }

static int write_report(const options *o, const test_case *cases, int n, const op_stat *stats, int n_stats,
                        const int *skips) {
  char tmp[4200];
  pathf(tmp, sizeof tmp, "%s.tmp", o->report);
  FILE *f = fopen(tmp, "w");
  if (!f) {
    fprintf(stderr, "node-runner: cannot write '%s': %s\n", tmp, strerror(errno));
    return -1;
  }
  int req = 0, req_pass = 0, ext = 0, ext_pass = 0, frozen = 0, frozen_first = 0, skipped = 0;
  for (int i = 0; i < n; i++) {
    if (cases[i].required) req++, req_pass += cases[i].result == RES_PASS;
    else ext++, ext_pass += cases[i].result == RES_PASS;
    frozen += cases[i].result == RES_PASS && cases[i].frozen;
    frozen_first += cases[i].result == RES_PASS && cases[i].frozen_first;
  }
  for (int k = 1; k < SKIP__COUNT; k++) skipped += skips[k];
  fprintf(f, "# ONNX backend node tests\n\n");
  fprintf(f, "Generated by `tests/onnx-node/node-runner` from `%s`%s%s%s. Regenerate with\n", o->data_dir,
          o->filter ? " (filter `" : "", o->filter ? o->filter : "", o->filter ? "`)" : "");
  fprintf(f, "`cmake --build build --target node-tests-report`.\n\n");
  fprintf(f, "A case is selected when its model has a single node whose operator is in the required list or is\n"
             "registered in calib8, and all its tensors are float32/int64/int32/int8/uint8/bool. Float outputs\n"
             "match with allclose(rtol=%g, atol=%g, NaN==NaN); others exactly.\n\n",
          RTOL, ATOL);
  fprintf(f, "| | cases | passed | failed | pass rate |\n|---|---:|---:|---:|---:|\n");
  fprintf(f, "| required operators | %d | %d | %d | %.2f %% |\n", req, req_pass, req - req_pass,
          100 * rate(req_pass, req));
  fprintf(f, "| other registered operators | %d | %d | %d | %.2f %% |\n", ext, ext_pass, ext - ext_pass,
          100 * rate(ext_pass, ext));
  fprintf(f, "| **all selected** | **%d** | **%d** | **%d** | **%.2f %%** |\n\n", n, req_pass + ext_pass,
          n - req_pass - ext_pass, 100 * rate(req_pass + ext_pass, n));
  fprintf(f, "Target: required-operator pass rate >= %.2f %% (%s).\n\n", 100 * o->min_pass,
          rate(req_pass, req) >= o->min_pass && req > 0 ? "met" : "NOT met");
  fprintf(f, "Every case feeds all its inputs at run time through the session API. Inputs an op needs at prepare\n"
             "time (Reshape's shape, Resize's scales, ...), graph inputs in these tests, are bound by value by the\n"
             "session, which plans again when their values change (src/run/session.c). %d passing cases needed the\n"
             "runner to make inputs constant initializers of the model instead (%d of them all inputs).\n\n",
          frozen, frozen_first);

  fprintf(f, "## Failing cases\n\n");
  int shown = 0;
  for (int i = 0; i < n; i++) {
    if (cases[i].result == RES_PASS) continue;
    fprintf(f, "- ");
    md_code(f, cases[i].name);
    fprintf(f, " (%s%s): ", cases[i].op, cases[i].required ? "" : ", extra");
    md_code(f, cases[i].reason);
    fputc('\n', f);
    shown++;
  }
  if (!shown) fprintf(f, "None.\n");

  fprintf(f, "\n## Per operator\n\n| operator | list | cases | passed | with constant inputs |\n"
             "|---|---|---:|---:|---:|\n");
  for (int i = 0; i < n_stats; i++)
    fprintf(f, "| %s | %s | %d | %d | %d |\n", stats[i].op, stats[i].required ? "required" : "extra",
            stats[i].selected, stats[i].passed, stats[i].frozen);
  bool any_missing = false;
  for (int r = 0; r < N_REQUIRED; r++) {
    bool seen = false;
    for (int i = 0; i < n_stats && !seen; i++) seen = strcmp(stats[i].op, required_ops[r]) == 0;
    if (seen) continue;
    if (!any_missing) fprintf(f, "\nRequired operators without a selected case:");
    fprintf(f, "%s %s", any_missing ? "," : "", required_ops[r]);
    any_missing = true;
  }
  if (any_missing) fprintf(f, ".\n");

  fprintf(f, "\n## Skipped folders (%d)\n\n", skipped);
  for (int k = 1; k < SKIP__COUNT; k++)
    if (skips[k]) fprintf(f, "- %s: %d\n", skip_names[k], skips[k]);
  bool ok = !ferror(f);
  ok = fclose(f) == 0 && ok;
  if (!ok || rename(tmp, o->report) != 0) {
    fprintf(stderr, "node-runner: cannot write '%s': %s\n", o->report, strerror(errno));
    unlink(tmp);
    return -1;
  }
  return 0;
}

/* ---- main --------------------------------------------------------------------------------------------- */

static int usage(void) {
  fprintf(stderr, "usage: node-runner DATA_DIR [--report FILE.md] [--filter SUBSTR] [--min-pass 0.97] "
                  "[--timeout SEC] [--no-fork] [--exit-zero] [-v]\n");
  return 2;
}

int main(int argc, char **argv) {
  options o = {.min_pass = 0.97, .timeout = 120, .fork = true};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--report") == 0 && i + 1 < argc) o.report = argv[++i];
    else if (strcmp(a, "--filter") == 0 && i + 1 < argc) o.filter = argv[++i];
    else if (strcmp(a, "--min-pass") == 0 && i + 1 < argc) {
      char *end;
      o.min_pass = strtod(argv[++i], &end);
      if (*end || end == argv[i] || o.min_pass < 0 || o.min_pass > 1) {
        fprintf(stderr, "node-runner: --min-pass needs a number from 0 to 1, got '%s'\n", argv[i]);
        return 2;
      }
    } else if (strcmp(a, "--timeout") == 0 && i + 1 < argc) {
      char *end;
      long t = strtol(argv[++i], &end, 10);
      if (*end || end == argv[i] || t < 0 || t > 86400) {
        fprintf(stderr, "node-runner: --timeout needs seconds (0 = none), got '%s'\n", argv[i]);
        return 2;
      }
      o.timeout = (int)t;
    } else if (strcmp(a, "--no-fork") == 0) o.fork = false;
    else if (strcmp(a, "--exit-zero") == 0) o.exit_zero = true;
    else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) o.verbose = true;
    else if (a[0] == '-') return usage();
    else if (!o.data_dir) o.data_dir = a;
    else return usage();
  }
  if (!o.data_dir) return usage();

  char **names = NULL;
  int n_names = list_dir(o.data_dir, NULL, true, cmp_name, &names);
  if (n_names < 0) {
    fprintf(stderr, "node-runner: cannot read '%s': %s\n", o.data_dir, strerror(errno));
    return 2;
  }
  test_case *cases = NULL;
  int n = 0, skips[SKIP__COUNT] = {0};
  for (int i = 0; i < n_names; i++) {
    if (o.filter && !strstr(names[i], o.filter)) continue;
    test_case c;
    skip_kind why = select_case(o.data_dir, names[i], &c);
    if (why) {
      skips[why]++;
      continue;
    }
    cases = xrealloc(cases, sizeof *cases * (size_t)(n + 1));
    cases[n++] = c;
  }
  free_list(names, n_names);

  op_stat *stats = NULL;
  int n_stats = 0, passed = 0, req = 0, req_pass = 0, ext = 0, ext_pass = 0, frozen = 0;
  for (int i = 0; i < n; i++) {
    test_case *c = &cases[i];
    execute(&o, c);
    op_stat *s = stat_for(&stats, &n_stats, c->op, c->required);
    s->selected++;
    if (c->result == RES_PASS) {
      passed++;
      s->passed++;
      if (c->frozen) s->frozen++, frozen++;
      if (o.verbose)
        printf("PASS %s (%s)%s\n", c->name, c->op,
               !c->frozen ? "" : c->frozen_first ? " [all inputs bound as constants]"
                                                 : " [inputs after the first bound as constants]");
    } else {
      printf("FAIL %s (%s): %s\n", c->name, c->op, c->reason);
    }
    if (c->required) req++, req_pass += c->result == RES_PASS;
    else ext++, ext_pass += c->result == RES_PASS;
    fflush(stdout);
  }
  qsort(stats, (size_t)n_stats, sizeof *stats, cmp_stat);

  int rc = 0;
  if (o.report && write_report(&o, cases, n, stats, n_stats, skips) != 0) rc = 2;
  int skipped = 0;
  for (int k = 1; k < SKIP__COUNT; k++) skipped += skips[k];
  printf("required operators: %d/%d passed, pass rate %.2f %% (target %.2f %%)\n", req_pass, req,
         100 * rate(req_pass, req), 100 * o.min_pass);
  printf("other registered operators: %d/%d passed\n", ext_pass, ext);
  printf("%d passing cases ran with inputs bound as constants; %d folders skipped\n", frozen, skipped);
  printf("%d passed, %d failed\n", passed, n - passed);
  if (n == 0) {
    fprintf(stderr, "node-runner: no case selected\n");
    rc = rc ? rc : 1;
  } else if (req == 0 ? rate(passed, n) < o.min_pass : rate(req_pass, req) < o.min_pass) {
    rc = rc ? rc : 1;
  }
  if (o.exit_zero && rc == 1) rc = 0;

  for (int i = 0; i < n; i++) {
    free(cases[i].name);
    free(cases[i].op);
    free_list(cases[i].inputs, cases[i].n_inputs);
    free_list(cases[i].datasets, cases[i].n_datasets);
  }
  free(cases);
  free(stats);
  return rc;
}
