/* Batch splitting (run/batch-split.h): a batch of a per-sample model runs as sub-batches over the threads,
 * with outputs bit-identical to the unsplit run at 1 and 2 threads; a model that mixes samples never splits
 * (and still runs correctly); the sub-batch option; an error inside a sub-batch reaches the caller. */
#include <stdint.h>

#include "check.h"
#include "graph-builder.h"
#include "run/session.h"

enum { B = 8, C = 6 };

enum { OUT_MAX = 4 * B * C * 8 };

/* Runs g on x (and on an int64 second input "ix" when idx is set) with these options; copies output 0 into
   out (OUT_MAX bytes at most, *n of them) and returns the sub-batch size (0 unsplit), or -1 when the run
   fails. */
static int run(const c8_graph *g, const calib8_tensor *x, const calib8_tensor *idx, int threads, int sub_batch,
               unsigned char *out, int64_t *n) {
  calib8_session_options o = calib8_session_options_default();
  o.threads = threads;
  o.sub_batch = sub_batch;
  calib8_session *s = NULL;
  CHECK_EQ_INT(c8_session_create_from_graph(g, &o, &s), CALIB8_OK);
  if (!s) return -1;
  calib8_tensor in[2] = {*x};
  if (idx) in[1] = *idx;
  int result = -1;
  *n = 0;
  /* twice: the second run reuses the split (or plan) built by the first */
  for (int r = 0; r < 2; r++) {
    if (calib8_session_run(s, idx ? 2 : 1, idx ? (const char *const[]){"x", "ix"} : NULL, in) != CALIB8_OK) goto out;
  }
  calib8_tensor t;
  CHECK_EQ_INT(calib8_session_output(s, 0, &t), CALIB8_OK);
  *n = (int64_t)c8_nbytes(&t);
  CHECK(*n <= OUT_MAX);
  if (*n <= OUT_MAX) memcpy(out, t.data, (size_t)*n);
  result = calib8_session_sub_batch(s);
out:
  calib8_session_destroy(s);
  return result;
}

static calib8_tensor input(float *data, int64_t rank, int64_t d0, int64_t d1, int64_t d2, int64_t d3) {
  calib8_tensor x = {.dtype = CALIB8_FLOAT, .rank = (int)rank, .dims = {d0, d1, d2, d3}, .data = data};
  for (int64_t i = 0; i < c8_numel(&x); i++) data[i] = 2.0f * frand();
  return x;
}

/* Splits (expected or not), and in every case gives the unsplit outputs, at 1 and 2 threads. */
static void expect(const char *what, const c8_graph *g, const calib8_tensor *x, const calib8_tensor *idx,
                   bool splits) {
  unsigned char ref[OUT_MAX], got[OUT_MAX];
  int64_t n_ref = 0, n_got = 0;
  int before = check_failures;
  CHECK_EQ_INT(run(g, x, idx, 1, C8_SUB_BATCH_OFF, ref, &n_ref), 0);
  for (int threads = 1; threads <= 2; threads++) {
    int sub = run(g, x, idx, threads, C8_SUB_BATCH_AUTO, got, &n_got);
    CHECK(sub >= 0);
    CHECK_EQ_INT(sub > 0, splits);
    CHECK_EQ_INT(n_got, n_ref);
    if (n_got == n_ref) CHECK(memcmp(got, ref, (size_t)n_ref) == 0);
  }
  if (check_failures != before) fprintf(stderr, "  case: %s\n", what);
}

/* Conv -> Relu -> Reshape [0, -1] -> Gemm -> Softmax(axis 1): per-sample, with residual fusion. */
static c8_graph *cnn(void) {
  c8_graph *g = c8_graph_new();
  g->opset = 13;
  int x = c8_graph_get_or_add_value(g, "x");
  int w = const_tensor(g, "w", 4, (int64_t[]){4, 3, 3, 3}, 0.3f, 0.0f);
  int y = node(g, "Conv", 2, (int[]){x, w}, "conv");
  set_ints(g, y, "pads", 4, (int64_t[]){1, 1, 1, 1});
  y = node(g, "Relu", 1, &y, "relu");
  y = node(g, "Reshape", 2, (int[]){y, const_ints(g, "shape", 2, (int64_t[]){0, -1})}, "flat");
  int fw = const_tensor(g, "fw", 2, (int64_t[]){5, 4 * 5 * 5}, 0.1f, 0.0f);
  y = node(g, "Gemm", 2, (int[]){y, fw}, "fc");
  set_int(g, y, "transB", 1);
  y = node(g, "Softmax", 1, &y, "prob");
  set_int(g, y, "axis", 1);
  set_io(g, 1, &x, 1, &y);
  return g;
}

static void test_cnn_splits(void) {
  float xd[B * 3 * 5 * 5];
  calib8_tensor x = input(xd, 4, B, 3, 5, 5);
  c8_graph *g = cnn();
  expect("cnn", g, &x, NULL, true);
  /* the option: a size that divides the batch; anything else (or the whole batch) runs unsplit */
  unsigned char out[OUT_MAX];
  int64_t n;
  CHECK_EQ_INT(run(g, &x, NULL, 2, 2, out, &n), 2);
  CHECK_EQ_INT(run(g, &x, NULL, 2, 1, out, &n), 1);
  CHECK_EQ_INT(run(g, &x, NULL, 2, 3, out, &n), 0);
  CHECK_EQ_INT(run(g, &x, NULL, 2, B, out, &n), 0);
  /* a batch of 1 has nothing to split */
  calib8_tensor one = x;
  one.dims[0] = 1;
  CHECK_EQ_INT(run(g, &one, NULL, 2, C8_SUB_BATCH_AUTO, out, &n), 0);
  /* automatic: the activations per sample are tiny, so B/2 (2 sub-batches), whatever the thread count up to 2;
     with more threads than that, smaller sub-batches so that each thread has one; fewer samples than threads:
     no split */
  CHECK_EQ_INT(run(g, &x, NULL, 1, C8_SUB_BATCH_AUTO, out, &n), B / 2);
  CHECK_EQ_INT(run(g, &x, NULL, 2, C8_SUB_BATCH_AUTO, out, &n), B / 2);
  CHECK_EQ_INT(run(g, &x, NULL, 4, C8_SUB_BATCH_AUTO, out, &n), B / 4);
  unsigned char ref[OUT_MAX];
  int64_t n_ref;
  CHECK_EQ_INT(run(g, &x, NULL, 1, C8_SUB_BATCH_OFF, ref, &n_ref), 0);
  CHECK(n == n_ref && memcmp(out, ref, (size_t)n) == 0);
  calib8_tensor two = x;
  two.dims[0] = 2;
  CHECK_EQ_INT(run(g, &two, NULL, 4, C8_SUB_BATCH_AUTO, out, &n), 0);
  CHECK_EQ_INT(run(g, &two, NULL, 2, C8_SUB_BATCH_AUTO, out, &n), 1);
  c8_graph_destroy(g);
}

/* One op on x [B, C] and extra_in more inputs; *y_out is its output (the caller sets attributes on it). */
static void unary(const char *op, int extra_in, const int *extra, int *y_out, c8_graph *g, int x) {
  int in[8] = {x};
  for (int i = 0; i < extra_in; i++) in[1 + i] = extra[i];
  *y_out = node(g, op, 1 + extra_in, in, "y");
}

/* Graphs on x [B, C]: each either keeps samples apart (splits) or mixes them (must not). */
static void test_op_rules(void) {
  float xd[B * C];
  calib8_tensor x = input(xd, 2, B, C, 0, 0);
  for (int k = 0;; k++) {
    c8_graph *g = c8_graph_new();
    g->opset = 13;
    int xv = c8_graph_get_or_add_value(g, "x"), y = -1;
    const char *what = NULL;
    bool splits = false;
    switch (k) {
      case 0:
        what = "Softmax over axis 1", splits = true;
        unary("Softmax", 0, NULL, &y, g, xv);
        set_int(g, y, "axis", 1);
        break;
      case 1:
        what = "Softmax over axis 0 (mixes)";
        unary("Softmax", 0, NULL, &y, g, xv);
        set_int(g, y, "axis", 0);
        break;
      case 2:
        what = "Slice reversing the batch (mixes)";
        unary("Slice", 4,
              (int[]){const_ints(g, "st", 1, (int64_t[]){-1}), const_ints(g, "en", 1, (int64_t[]){INT64_MIN}),
                      const_ints(g, "ax", 1, (int64_t[]){0}), const_ints(g, "sp", 1, (int64_t[]){-1})},
              &y, g, xv);
        break;
      case 3:
        what = "Slice of axis 1, whole axis 0", splits = true;
        unary("Slice", 3,
              (int[]){const_ints(g, "st", 2, (int64_t[]){0, 1}), const_ints(g, "en", 2, (int64_t[]){INT64_MAX, 4}),
                      const_ints(g, "ax", 2, (int64_t[]){0, 1})},
              &y, g, xv);
        break;
      case 4:
        what = "ReduceMean over axis 0 (mixes)";
        unary("ReduceMean", 0, NULL, &y, g, xv);
        set_ints(g, y, "axes", 1, (int64_t[]){0});
        break;
      case 5:
        what = "Concat on axis 0 (mixes)";
        unary("Concat", 1, &xv, &y, g, xv);
        set_int(g, y, "axis", 0);
        break;
      case 6:
        what = "Concat on axis 1", splits = true;
        unary("Concat", 1, &xv, &y, g, xv);
        set_int(g, y, "axis", 1);
        break;
      case 7:
        what = "Transpose and back: the batch on axis 1 between", splits = true;
        y = node(g, "Transpose", 1, &xv, "t");
        set_ints(g, y, "perm", 2, (int64_t[]){1, 0});
        y = node(g, "Relu", 1, &y, "r");
        y = node(g, "Transpose", 1, &y, "y");
        set_ints(g, y, "perm", 2, (int64_t[]){1, 0});
        break;
      case 8:
        what = "Transpose as the output (batch not first)";
        unary("Transpose", 0, NULL, &y, g, xv);
        set_ints(g, y, "perm", 2, (int64_t[]){1, 0});
        break;
      case 9:
        what = "Gather of rows by constant indices (mixes)";
        unary("Gather", 1, (int[]){const_ints(g, "ix", B, (int64_t[]){7, 6, 5, 4, 3, 2, 1, 0})}, &y, g, xv);
        break;
      case 10:
        what = "Gather of columns", splits = true;
        unary("Gather", 1, (int[]){const_ints(g, "ix", 3, (int64_t[]){5, 0, 2})}, &y, g, xv);
        set_int(g, y, "axis", 1);
        break;
      case 11:
        what = "Add of a constant with the batch's shape (mixes)";
        unary("Add", 1, (int[]){const_tensor(g, "c", 2, (int64_t[]){B, C}, 1.0f, 0.0f)}, &y, g, xv);
        break;
      case 12: {
        what = "Div by the batch size, computed from Shape (differs per sub-batch)";
        int sh = node(g, "Shape", 1, &xv, "sh");
        int b0 = node(g, "Gather", 2, (int[]){sh, const_ints(g, "zero", -1, (int64_t[]){0})}, "b0");
        int bf = node(g, "Cast", 1, &b0, "bf");
        set_int(g, bf, "to", CALIB8_FLOAT);
        y = node(g, "Div", 2, (int[]){xv, bf}, "y");
      } break;
      case 13: {
        what = "MatMul contracting over the batch (mixes)";
        int t = node(g, "Transpose", 1, &xv, "t");
        set_ints(g, t, "perm", 2, (int64_t[]){1, 0});
        y = node(g, "MatMul", 2, (int[]){t, xv}, "y");
      } break;
      case 14:
        what = "MatMul by a constant", splits = true;
        unary("MatMul", 1, (int[]){const_tensor(g, "w", 2, (int64_t[]){C, 3}, 1.0f, 0.0f)}, &y, g, xv);
        break;
      case 15:
        what = "LayerNormalization over axis 0 (mixes)";
        unary("LayerNormalization", 2,
              (int[]){const_tensor(g, "sc", 2, (int64_t[]){B, C}, 0.1f, 1.0f),
                      const_tensor(g, "bi", 2, (int64_t[]){B, C}, 0.1f, 0.0f)},
              &y, g, xv);
        set_int(g, y, "axis", 0);
        break;
      case 16:
        what = "LayerNormalization over axis 1", splits = true;
        unary("LayerNormalization", 2,
              (int[]){const_tensor(g, "sc", 1, (int64_t[]){C}, 0.1f, 1.0f),
                      const_tensor(g, "bi", 1, (int64_t[]){C}, 0.1f, 0.0f)},
              &y, g, xv);
        set_int(g, y, "axis", 1);
        break;
      case 17:
        what = "Reshape putting the batch on axis 1 (mixes rows)";
        unary("Reshape", 1, (int[]){const_ints(g, "s", 2, (int64_t[]){C, -1})}, &y, g, xv);
        break;
      case 18: {
        what = "Reshape merging the batch, Softmax per row, Reshape back", splits = true;
        int r = node(g, "Reshape", 2, (int[]){xv, const_ints(g, "s1", 2, (int64_t[]){-1, 3})}, "r");
        r = node(g, "Softmax", 1, &r, "sm");
        set_int(g, r, "axis", -1);
        y = node(g, "Reshape", 2, (int[]){r, const_ints(g, "s2", 2, (int64_t[]){-1, C})}, "y");
      } break;
      case 19: {
        what = "Reshape merging the batch, Softmax over the merged axis (mixes)";
        int r = node(g, "Reshape", 2, (int[]){xv, const_ints(g, "s1", 2, (int64_t[]){-1, 3})}, "r");
        r = node(g, "Softmax", 1, &r, "sm");
        set_int(g, r, "axis", 0);
        y = node(g, "Reshape", 2, (int[]){r, const_ints(g, "s2", 2, (int64_t[]){-1, C})}, "y");
      } break;
      case 20:
        what = "Tile of the batch (mixes)";
        unary("Tile", 1, (int[]){const_ints(g, "rp", 2, (int64_t[]){2, 1})}, &y, g, xv);
        break;
      case 21:
        what = "Pad of the batch axis (mixes)";
        unary("Pad", 1, (int[]){const_ints(g, "pd", 4, (int64_t[]){1, 0, 0, 0})}, &y, g, xv);
        break;
      case 22:
        what = "Pad of axis 1", splits = true;
        unary("Pad", 1, (int[]){const_ints(g, "pd", 4, (int64_t[]){0, 1, 0, 2})}, &y, g, xv);
        break;
      case 23:
        what = "Flatten at axis 0 (one row)";
        unary("Flatten", 0, NULL, &y, g, xv);
        set_int(g, y, "axis", 0);
        break;
      case 24:
        what = "ArgMax over the batch (mixes)";
        unary("ArgMax", 0, NULL, &y, g, xv);
        set_int(g, y, "axis", 0);
        set_int(g, y, "keepdims", 0);
        break;
      default:
        break;
    }
    if (!what) {
      c8_graph_destroy(g);
      break;
    }
    set_io(g, 1, &xv, 1, &y);
    expect(what, g, &x, NULL, splits);
    c8_graph_destroy(g);
  }
}

/* Gather from a constant table by run-time indices: an index out of range in one sub-batch (run on a pool
   thread) fails the run with Gather's message. */
static void test_error_in_sub_batch(void) {
  c8_graph *g = c8_graph_new();
  g->opset = 13;
  int x = c8_graph_get_or_add_value(g, "x"), ix = c8_graph_get_or_add_value(g, "ix");
  int t = const_tensor(g, "table", 2, (int64_t[]){10, 4}, 1.0f, 0.0f);
  int e = node(g, "Gather", 2, (int[]){t, ix}, "e"); /* [B, 2, 4] */
  int r = node(g, "Reshape", 2, (int[]){e, const_ints(g, "s", 2, (int64_t[]){0, -1})}, "r");
  int y = node(g, "Add", 2, (int[]){x, r}, "y");
  set_io(g, 2, (int[]){x, ix}, 1, &y);
  float xd[B * 8];
  calib8_tensor xt = input(xd, 2, B, 8, 0, 0);
  int64_t idx[B * 2];
  for (int i = 0; i < B * 2; i++) idx[i] = i % 10;
  calib8_tensor it = {.dtype = CALIB8_INT64, .rank = 2, .dims = {B, 2}, .data = idx};
  expect("embedding lookup", g, &xt, &it, true);
  idx[B + 3] = 99; /* sample 5 */
  for (int threads = 1; threads <= 2; threads++) {
    calib8_session_options o = calib8_session_options_default();
    o.threads = threads;
    calib8_session *s = NULL;
    CHECK_EQ_INT(c8_session_create_from_graph(g, &o, &s), CALIB8_OK);
    calib8_tensor in[2] = {xt, it};
    CHECK_EQ_INT(calib8_session_run(s, 2, (const char *const[]){"x", "ix"}, in), CALIB8_INVALID_ARGUMENT);
    CHECK_STR_CONTAINS(calib8_last_error(), "index 99 is out of range");
    CHECK_STR_CONTAINS(calib8_last_error(), "n_e");
    calib8_session_destroy(s);
  }
  c8_graph_destroy(g);
}

int main(void) {
  CHECK_RUN(test_cnn_splits);
  CHECK_RUN(test_op_rules);
  CHECK_RUN(test_error_in_sub_batch);
  fprintf(stderr, "%d checks, %d failed\n", check_count, check_failures);
  return check_failures ? 1 : 0;
}
