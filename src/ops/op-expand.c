/* Expand (ONNX 8, 13) and Tile (1, 6, 13). Both are "repeat blocks": output axis d holds rep[d] copies of
 * in_dims[d] input indices (Expand: in_dims[d] is 1 or rep[d] is 1). The first copy is filled recursively,
 * then duplicated with memcpy of doubling size, so even element-wise broadcasts cost few memcpy calls. */
#include <stdlib.h>
#include <string.h>

#include "ops/op-shape-util.h"

typedef struct {
  int rank;
  int tail;                           /* axes >= tail are copied as one block (rep 1 from there on) */
  int64_t in_dims[C8_MAX_RANK];
  int64_t rep[C8_MAX_RANK];
  size_t in_stride[C8_MAX_RANK];      /* bytes */
  size_t out_bytes_from[C8_MAX_RANK + 1]; /* bytes of output axes d.. */
  bool empty;
} repeat_state;

/* Fills dst with `total` bytes by doubling the first `filled` bytes. */
static void replicate(char *dst, size_t filled, size_t total) {
  if (!filled) return;
  while (filled < total) {
    size_t c = filled < total - filled ? filled : total - filled;
    memcpy(dst + filled, dst, c);
    filled += c;
  }
}

static void repeat_rec(const repeat_state *s, int d, const char *src, char *dst) {
  if (d >= s->tail) {
    memcpy(dst, src, s->out_bytes_from[d]);
    return;
  }
  size_t sub = s->out_bytes_from[d + 1];
  for (int64_t i = 0; i < s->in_dims[d]; i++) repeat_rec(s, d + 1, src + (size_t)i * s->in_stride[d], dst + (size_t)i * sub);
  replicate(dst, (size_t)s->in_dims[d] * sub, s->out_bytes_from[d]);
}

static c8_status repeat_run(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out,
                            void *scratch) {
  (void)n_in, (void)n_out, (void)scratch;
  const repeat_state *s = k->state;
  if (!s->empty) repeat_rec(s, 0, in[0]->data, out[0]->data);
  return CALIB8_OK;
}

/* in_dims (rank r, already padded to the output rank) and rep give the output; fills the state and out dims. */
static c8_status make_repeat(c8_kernel *k, int r, const int64_t *in_dims, const int64_t *rep, size_t es,
                             c8_tensor *o) {
  repeat_state *s = c8_calloc(1, sizeof *s);
  if (!s) return c8_node_error(k->node, CALIB8_OUT_OF_MEMORY, "out of memory");
  k->state = s;
  s->rank = r;
  size_t acc = es;
  s->out_bytes_from[r] = es;
  for (int d = r - 1; d >= 0; d--) {
    s->in_dims[d] = in_dims[d];
    s->rep[d] = rep[d];
    s->in_stride[d] = acc;
    acc *= (size_t)in_dims[d];
    o->dims[d] = in_dims[d] * rep[d];
    s->out_bytes_from[d] = s->out_bytes_from[d + 1] * (size_t)o->dims[d];
    if (o->dims[d] == 0) s->empty = true;
  }
  o->rank = r;
  s->tail = r;
  while (s->tail > 0 && rep[s->tail - 1] == 1) s->tail--;
  return CALIB8_OK;
}

/* ---- Expand ---- */

static c8_status expand_prepare(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out) {
  const c8_node *node = k->node;
  c8_status st = c8_check_inputs(node, n_in, 2, 2);
  if (st) return st;
  if (!in[0] || !in[1]) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "inputs 0 (input) and 1 (shape) are required");
  if (n_out != 1 || !out[0]) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "needs exactly one output");
  const c8_tensor *x = in[0];
  size_t es = 0;
  if ((st = c8_movable_dtype(node, x, 0, &es))) return st;
  c8_tensor shape = {.dtype = x->dtype};
  int n;
  if ((st = c8_read_int_input(node, in[1], 1, "shape", shape.dims, C8_MAX_RANK, &n))) return st;
  shape.rank = n;
  for (int i = 0; i < n; i++)
    if (shape.dims[i] < 0)
      return c8_node_error(node, CALIB8_MALFORMED_MODEL, "shape[%d] is %lld, dimensions must be >= 0", i,
                           (long long)shape.dims[i]);
  c8_tensor ob;
  /* Expand broadcasts both ways: a shape entry of 1 keeps the input's dimension. */
  if ((st = c8_broadcast_shape(node, x, &shape, &ob))) return st;
  int r = ob.rank;
  int64_t ind[C8_MAX_RANK], rep[C8_MAX_RANK];
  for (int d = 0; d < r; d++) {
    int xd = d - (r - x->rank);
    ind[d] = xd >= 0 ? x->dims[xd] : 1;
    rep[d] = ind[d] == ob.dims[d] ? 1 : ob.dims[d];
  }
  out[0]->dtype = x->dtype;
  return make_repeat(k, r, ind, rep, es, out[0]);
}

const c8_op_def c8_op_expand = {
    .name = "Expand", .domain = "", .prepare = expand_prepare, .run = repeat_run,
    .qrole = C8_QROLE_NONE, .values = C8_VALUES_COMPUTED, .batch = C8_BATCH_ANY_AXIS, .batch_shape_inputs = 1u << 1,
    .fuse = C8_FUSE_NONE};

/* ---- Tile ---- */

static c8_status tile_prepare(c8_kernel *k, c8_tensor *const *in, int n_in, c8_tensor *const *out, int n_out) {
  const c8_node *node = k->node;
  if (k->opset < 6)
    return c8_node_error(node, CALIB8_UNSUPPORTED, "Tile-1 (tiles/axis inputs) is not supported; opset 6+ is");
  c8_status st = c8_check_inputs(node, n_in, 2, 2);
  if (st) return st;
  if (!in[0] || !in[1]) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "inputs 0 (input) and 1 (repeats) are required");
  if (n_out != 1 || !out[0]) return c8_node_error(node, CALIB8_MALFORMED_MODEL, "needs exactly one output");
  const c8_tensor *x = in[0];
  size_t es = 0;
  if ((st = c8_movable_dtype(node, x, 0, &es))) return st;
  int64_t rep[C8_MAX_RANK];
  int n;
  if ((st = c8_read_int_input(node, in[1], 1, "repeats", rep, C8_MAX_RANK, &n))) return st;
  if (n != x->rank)
    return c8_node_error(node, CALIB8_MALFORMED_MODEL, "repeats has %d values but the input %s has rank %d", n,
                         C8_SHAPE_STR(x), x->rank);
  for (int i = 0; i < n; i++)
    if (rep[i] < 0)
      return c8_node_error(node, CALIB8_MALFORMED_MODEL, "repeats[%d] is %lld, must be >= 0", i, (long long)rep[i]);
  out[0]->dtype = x->dtype;
  return make_repeat(k, x->rank, x->dims, rep, es, out[0]);
}

/* Batch splitting: per sample when the batch axis is repeated once. */
static bool tile_batch(const c8_batch_query *q) {
  const int rank = q->in[0] ? q->in[0]->rank : 0;
  int64_t reps[CALIB8_MAX_RANK];
  return q->ax >= 0 && q->n_in > 1 && c8_known_ints(q->in[1], reps, CALIB8_MAX_RANK) == rank && reps[q->ax] == 1;
}

const c8_op_def c8_op_tile = {
    .name = "Tile", .domain = "", .prepare = tile_prepare, .run = repeat_run,
    .qrole = C8_QROLE_NONE, .values = C8_VALUES_COMPUTED, .batch = C8_BATCH_CHECK, .batch_check = tile_batch,
    .fuse = C8_FUSE_NONE};
