/* Pad (ONNX 1, 2, 11, 13, 18, 19): modes constant, reflect, edge and wrap (19).
 * Before opset 11 pads and value are attributes ("paddings" in Pad-1); from 11 on pads and constant_value are
 * inputs, and opset 18 adds the optional axes input. Pads may be negative (cropping).
 * Run walks output rows: the overlapping middle of each row is one memcpy, the pads are filled per mode. */
#include <stdlib.h>
#include <string.h>

#include "ops/op-shape-util.h"

enum { PAD_CONSTANT, PAD_REFLECT, PAD_EDGE, PAD_WRAP };

typedef struct {
  int mode, rank;
  size_t es;
  int64_t in_dims[C8_MAX_RANK], out_dims[C8_MAX_RANK], begin[C8_MAX_RANK];
  int64_t in_stride[C8_MAX_RANK]; /* elements */
  unsigned char value[8];         /* constant value, unless taken from input 2 at run time */
  bool value_from_input;
  bool empty;
} pad_state;

/* Maps a position relative to the input start (may be outside [0, n)) to an input index; -1 for constant. */
static inline int64_t map_index(int mode, int64_t i, int64_t n) {
  if (i >= 0 && i < n) return i;
  switch (mode) {
    case PAD_EDGE: return i < 0 ? 0 : n - 1;
    case PAD_REFLECT: {
      if (n == 1) return 0;
      int64_t period = 2 * (n - 1);
      i %= period;
      if (i < 0) i += period;
      return i >= n ? period - i : i;
    }
    case PAD_WRAP: {
      i %= n;
      return i < 0 ? i + n : i;
    }
    default: return -1;
  }
}

static void fill_value(char *dst, int64_t count, const unsigned char *value, size_t es) {
  bool zero = true;
  for (size_t i = 0; i < es; i++) zero = zero && value[i] == 0;
  if (zero) {
    memset(dst, 0, (size_t)count * es);
    return;
  }
  for (int64_t i = 0; i < count; i++) c8_copy_elem(dst + (size_t)i * es, value, es);
}

static c8_status pad_prepare(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out) {
  const c8_node *node = k->node;
  bool attrs = k->opset < 11;
  c8_status st = c8_check_inputs(node, n_in, attrs ? 1 : 2, attrs ? 1 : (k->opset >= 18 ? 4 : 3));
  if (st) return st;
  if (!in[0]) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "input 0 is missing");
  if (n_out != 1 || !out[0]) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "needs exactly one output");
  const c8_tensor *x = in[0];
  int r = x->rank;
  size_t es = 0;
  if ((st = c8_movable_dtype(node, x, 0, &es))) return st;
  if (es > 8) return c8_node_error(node, CALIB8_UNSUPPORTED, "type %s is not supported", calib8_dtype_name(x->dtype));
  pad_state *s = c8_calloc(1, sizeof *s);
  if (!s) return c8_node_error(node, CALIB8_OUT_OF_MEMORY, "out of memory");
  k->state = s;
  s->es = es;
  s->rank = r;
  const char *mode = c8_attr_string(node, "mode", "constant");
  if (strcmp(mode, "constant") == 0) s->mode = PAD_CONSTANT;
  else if (strcmp(mode, "reflect") == 0) s->mode = PAD_REFLECT;
  else if (strcmp(mode, "edge") == 0) s->mode = PAD_EDGE;
  else if (strcmp(mode, "wrap") == 0 && k->opset >= 19) s->mode = PAD_WRAP;
  else return c8_node_error(node, CALIB8_UNSUPPORTED, "mode '%s' is not supported (constant, reflect, edge, wrap)", mode);

  int64_t pads[2 * C8_MAX_RANK];
  int np = 0;
  int64_t axes[C8_MAX_RANK];
  int na = -1;
  if (attrs) {
    const char *pname = k->opset < 2 ? "paddings" : "pads";
    if (!c8_node_attr(node, pname))
      return c8_node_error(node, CALIB8_MALFORMED_MODEL, "attribute '%s' is required", pname);
    const int64_t *v = c8_attr_ints(node, pname, &np);
    if (np != 2 * r)
      return c8_node_error(node, CALIB8_MALFORMED_MODEL, "%s has %d values, expected 2 * rank = %d", pname, np, 2 * r);
    memcpy(pads, v, sizeof(int64_t) * (size_t)np);
    c8_tensor vt = {.dtype = x->dtype, .rank = 0, .data = s->value};
    c8_set_f64(&vt, 0, c8_attr_float(node, "value", 0.0f));
  } else {
    if (!in[1]) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "input 1 (pads) is required");
    if ((st = c8_read_int_input(node, in[1], 1, "pads", pads, 2 * C8_MAX_RANK, &np))) return st;
    if (n_in >= 4 && in[3]) {
      if ((st = c8_read_int_input(node, in[3], 3, "axes", axes, C8_MAX_RANK, &na))) return st;
    }
    if (n_in >= 3 && in[2]) {
      if (in[2]->dtype != x->dtype)
        return c8_node_error(node, CALIB8_MALFORMED_MODEL, "constant_value is %s but the data is %s",
                             calib8_dtype_name(in[2]->dtype), calib8_dtype_name(x->dtype));
      if (c8_numel(in[2]) > 1)
        return c8_node_error(node, CALIB8_MALFORMED_MODEL, "constant_value must be a scalar, it has shape %s",
                             C8_SHAPE_STR(in[2]));
      if (in[2]->data) {
        if (c8_numel(in[2]) == 1) memcpy(s->value, in[2]->data, es);
      } else {
        s->value_from_input = true;
      }
    }
  }
  int64_t begin[C8_MAX_RANK] = {0}, end[C8_MAX_RANK] = {0};
  if (na >= 0) {
    if (np != 2 * na)
      return c8_node_error(node, CALIB8_MALFORMED_MODEL, "pads has %d values, expected 2 * %d axes", np, na);
    bool seen[C8_MAX_RANK] = {false};
    for (int i = 0; i < na; i++) {
      int a;
      if ((st = c8_norm_axis(node, axes[i], r, &a))) return st;
      if (seen[a]) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "axis %d is listed twice", a);
      seen[a] = true;
      begin[a] = pads[i];
      end[a] = pads[na + i];
    }
  } else {
    if (np != 2 * r)
      return c8_node_error(node, CALIB8_MALFORMED_MODEL, "pads has %d values, expected 2 * rank = %d", np, 2 * r);
    for (int d = 0; d < r; d++) {
      begin[d] = pads[d];
      end[d] = pads[r + d];
    }
  }
  c8_tensor *o = out[0];
  o->dtype = x->dtype;
  o->rank = r;
  int64_t acc = 1;
  for (int d = r - 1; d >= 0; d--) {
    s->in_stride[d] = acc;
    acc *= x->dims[d];
  }
  for (int d = 0; d < r; d++) {
    int64_t od = x->dims[d] + begin[d] + end[d];
    if (od < 0)
      return c8_node_error(node, CALIB8_INVALID_ARGUMENT, "pads %lld and %lld crop more than the %lld elements of axis %d",
                           (long long)begin[d], (long long)end[d], (long long)x->dims[d], d);
    if (s->mode != PAD_CONSTANT && x->dims[d] == 0 && od > 0)
      return c8_node_error(node, CALIB8_INVALID_ARGUMENT, "axis %d is empty: %s padding has nothing to copy", d, mode);
    o->dims[d] = od;
    s->out_dims[d] = od;
    s->in_dims[d] = x->dims[d];
    s->begin[d] = begin[d];
    if (od == 0) s->empty = true;
  }
  return CALIB8_OK;
}

static c8_status pad_run(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out,
                         void *scratch) {
  (void)n_out, (void)scratch;
  const pad_state *s = k->state;
  if (s->empty) return CALIB8_OK;
  size_t es = s->es;
  unsigned char value[8];
  memcpy(value, s->value, sizeof value);
  if (s->value_from_input && n_in >= 3 && in[2] && c8_numel(in[2]) == 1) memcpy(value, in[2]->data, es);
  const char *src = in[0]->data;
  char *dst = out[0]->data;
  int r = s->rank;
  if (r == 0) {
    memcpy(dst, src, es);
    return CALIB8_OK;
  }
  int last = r - 1;
  int64_t W = s->out_dims[last], Win = s->in_dims[last], b = s->begin[last];
  /* Middle of each row: output x in [x0, x1) reads input x - b. */
  int64_t x0 = b > 0 ? b : 0, x1 = b + Win < W ? b + Win : W;
  if (x1 < x0) x1 = x0;
  int64_t rows = c8_numel(out[0]) / W;
  int64_t idx[C8_MAX_RANK] = {0};
  for (int64_t row = 0; row < rows; row++, dst += (size_t)W * es) {
    int64_t off = 0;
    bool constant_row = false;
    for (int d = 0; d < last; d++) {
      int64_t i = map_index(s->mode, idx[d] - s->begin[d], s->in_dims[d]);
      if (i < 0) {
        constant_row = true;
        break;
      }
      off += i * s->in_stride[d];
    }
    if (constant_row) {
      fill_value(dst, W, value, es);
    } else {
      const char *srow = src + (size_t)off * es;
      if (x1 > x0) memcpy(dst + (size_t)x0 * es, srow + (size_t)(x0 - b) * es, (size_t)(x1 - x0) * es);
      if (s->mode == PAD_CONSTANT) {
        fill_value(dst, x0, value, es);
        fill_value(dst + (size_t)x1 * es, W - x1, value, es);
      } else {
        for (int64_t x = 0; x < x0; x++)
          c8_copy_elem(dst + (size_t)x * es, srow + (size_t)map_index(s->mode, x - b, Win) * es, es);
        for (int64_t x = x1; x < W; x++)
          c8_copy_elem(dst + (size_t)x * es, srow + (size_t)map_index(s->mode, x - b, Win) * es, es);
      }
    }
    for (int d = last - 1; d >= 0; d--) {
      if (++idx[d] < s->out_dims[d]) break;
      idx[d] = 0;
    }
  }
  return CALIB8_OK;
}

/* Batch splitting: per sample when the batch axis is not padded. */
static bool pad_batch(const c8_batch_query *q) {
  if (q->ax < 0) return false;
  const int rank = q->in[0] ? q->in[0]->rank : 0;
  int64_t pads[2 * CALIB8_MAX_RANK];
  int k;
  if (q->opset < 11) {
    const int64_t *a = c8_attr_ints(q->node, "pads", &k);
    if (!a || k != 2 * rank) return false;
    memcpy(pads, a, sizeof(int64_t) * (size_t)k);
  } else {
    if (q->n_in > 3 && q->in[3]) return false; /* an axes operand: not needed by the models seen */
    k = q->n_in > 1 ? c8_known_ints(q->in[1], pads, 2 * CALIB8_MAX_RANK) : -1;
    if (k != 2 * rank) return false;
  }
  return pads[q->ax] == 0 && pads[q->ax + rank] == 0;
}

/* pads (Pad-1: paddings) and value become inputs at opset 11. */
static c8_status pad_upgrade(c8_graph *g, int k, int from, int to) {
  if (from >= 11 || to < 11) return CALIB8_OK;
  c8_status st = c8_upgrade_ints_to_input(g, k, from < 2 ? "paddings" : "pads", 1);
  return st ? st : c8_upgrade_float_to_input(g, k, "value", 2, false, 0);
}

const c8_op_def c8_op_pad = {
    .name = "Pad", .domain = "", .prepare = pad_prepare, .run = pad_run,
    .qrole = C8_QROLE_NONE, .values = C8_VALUES_COMPUTED, .batch = C8_BATCH_CHECK, .batch_check = pad_batch,
    .fuse = C8_FUSE_NONE, .upgrade = pad_upgrade};
