#include "observe/calibrate.h"

#include <math.h>

#include "core/threadpool.h"
#include "ops/op.h"

#include <stdlib.h>
#include <string.h>

c8_status c8_calibration_create(const calib8_session *s, c8_calibration **out) {
  c8_calibration *c = c8_calloc(1, sizeof *c);
  if (!c) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory starting calibration");
  c->g = s->g;
  c->n_values = s->g->n_values;
  c->hist = c8_calloc((size_t)(c->n_values ? c->n_values : 1), sizeof *c->hist);
  if (!c->hist) {
    c8_mfree(c);
    return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory starting calibration");
  }
  c->derive_from = c8_malloc(sizeof *c->derive_from * (size_t)(c->n_values ? c->n_values : 1));
  c->derive_relu = c8_calloc((size_t)(c->n_values ? c->n_values : 1), 1);
  if (!c->derive_from || !c->derive_relu) {
    c8_calibration_destroy(c);
    return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory starting calibration");
  }
  for (int v = 0; v < c->n_values; v++) c->derive_from[v] = -1;
  for (int i = 0; i < c->g->n_nodes; i++) {
    const c8_node *n = &c->g->nodes[i];
    if (n->n_in < 1 || n->n_out < 1 || n->in[0] < 0 || n->out[0] < 0 || c->g->values[n->in[0]].is_const) continue;
    const c8_op_def *d = c8_node_op(n);
    bool relu = d->fuse == C8_FUSE_RELU;
    if (!relu && d->values != C8_VALUES_MOVED) continue;
    c->derive_from[n->out[0]] = n->in[0];
    c->derive_relu[n->out[0]] = relu;
  }
  *out = c;
  return CALIB8_OK;
}

void c8_calibration_destroy(c8_calibration *c) {
  if (!c) return;
  for (int v = 0; v < c->n_values; v++) c8_mfree(c->hist[v]);
  c8_mfree(c->hist);
  if (c->mean_sum)
    for (int v = 0; v < c->n_values; v++) c8_mfree(c->mean_sum[v]);
  c8_mfree(c->mean_sum);
  c8_mfree(c->mean_axis);
  c8_mfree(c->mean_channels);
  c8_mfree(c->mean_count);
  c8_mfree(c->partial);
  c8_mfree(c->derive_from);
  c8_mfree(c->derive_relu);
  c8_mfree(c);
}

c8_status c8_calibration_enable_means(c8_calibration *c) {
  if (c->samples > 0)
    return c8_error(CALIB8_INVALID_ARGUMENT, "per-channel means must be enabled before the first calibration run");
  if (c->mean_axis) return CALIB8_OK;
  size_t n = (size_t)(c->n_values ? c->n_values : 1);
  c->mean_axis = c8_malloc(n * sizeof *c->mean_axis);
  c->mean_sum = c8_calloc(n, sizeof *c->mean_sum);
  c->mean_channels = c8_calloc(n, sizeof *c->mean_channels);
  c->mean_count = c8_calloc(n, sizeof *c->mean_count);
  if (!c->mean_axis || !c->mean_sum || !c->mean_channels || !c->mean_count) {
    c8_mfree(c->mean_axis);
    c8_mfree(c->mean_sum);
    c8_mfree(c->mean_channels);
    c8_mfree(c->mean_count);
    c->mean_axis = NULL;
    c->mean_sum = NULL;
    c->mean_channels = c->mean_count = NULL;
    return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory starting calibration");
  }
  for (int v = 0; v < c->n_values; v++) c->mean_axis[v] = -2;
  for (int i = 0; i < c->g->n_nodes; i++) {
    const c8_node *n = &c->g->nodes[i];
    if (n->n_in < 2 || n->in[0] < 0 || c->g->values[n->in[0]].is_const) continue;
    const c8_op_def *d = c8_node_op(n);
    int axis = c8_qrole_is_compute(d->qrole) ? c8_op_axis(d->mean_axis, n) : -2;
    if (axis == -2) continue;
    if (c->mean_axis[n->in[0]] == -2) c->mean_axis[n->in[0]] = axis; /* the first reader decides */
  }
  return CALIB8_OK;
}

/* Adds t's elements into per-channel double sums, in memory order: the order of the additions is that of the
   samples, so splitting the same samples into other batches gives the same sums. */
static c8_status accumulate_mean(c8_calibration *c, int v, const c8_tensor *t) {
  int axis = c->mean_axis[v] == -1 ? t->rank - 1 : c->mean_axis[v];
  if (t->rank < 1 || axis >= t->rank || axis < 0) return CALIB8_OK;
  int64_t outer = 1, C = t->dims[axis], inner = 1;
  for (int d = 0; d < axis; d++) outer *= t->dims[d];
  for (int d = axis + 1; d < t->rank; d++) inner *= t->dims[d];
  if (!c->mean_sum[v]) {
    c->mean_sum[v] = c8_calloc((size_t)(C ? C : 1), sizeof(double));
    if (!c->mean_sum[v]) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory for the means of '%s'", c->g->values[v].name);
    c->mean_channels[v] = C;
  } else if (c->mean_channels[v] != C) {
    return c8_error(CALIB8_INVALID_ARGUMENT, "tensor '%s' had %lld channels on axis %d, now %lld",
                    c->g->values[v].name, (long long)c->mean_channels[v], axis, (long long)C);
  }
  double *sum = c->mean_sum[v];
  const float *x = t->data;
  for (int64_t o = 0; o < outer; o++)
    for (int64_t ch = 0; ch < C; ch++) {
      const float *p = x + (o * C + ch) * inner;
      double acc = sum[ch];
      for (int64_t k = 0; k < inner; k++) acc += (double)p[k];
      sum[ch] = acc;
    }
  c->mean_count[v] += outer * inner;
  return CALIB8_OK;
}

c8_status c8_calibration_channel_mean(const c8_calibration *c, int v, double **out, int64_t *n, int *axis) {
  *out = NULL;
  *n = 0;
  if (axis) *axis = -2;
  if (!c->mean_axis || v < 0 || v >= c->n_values || !c->mean_sum[v] || c->mean_count[v] == 0) return CALIB8_OK;
  int64_t C = c->mean_channels[v];
  double *m = c8_malloc(sizeof(double) * (size_t)(C ? C : 1));
  if (!m) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory");
  for (int64_t ch = 0; ch < C; ch++) m[ch] = c->mean_sum[v][ch] / (double)c->mean_count[v];
  *out = m;
  *n = C;
  if (axis) *axis = c->mean_axis[v];
  return CALIB8_OK;
}

typedef struct hist_job {
  c8_calibration *c;
  const float *x;
} hist_job;

static void hist_chunk(void *ctx, int64_t begin, int64_t end, int thread) {
  hist_job *j = ctx;
  c8_histogram_add(&j->c->partial[thread], j->x + begin, end - begin);
}

static c8_status observe_value(c8_calibration *c, int v, const c8_tensor *t) {
  if (v < 0 || v >= c->n_values || t->dtype != CALIB8_FLOAT || !t->data) return CALIB8_OK;
  if (c->derive_from[v] >= 0) /* its histogram is derived after the run; its mean is still read */
    return c->mean_axis && c->mean_axis[v] > -2 ? accumulate_mean(c, v, t) : CALIB8_OK;
  if (!c->hist[v]) {
    c->hist[v] = c8_malloc(sizeof *c->hist[v]);
    if (!c->hist[v]) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory for the histogram of '%s'", c->g->values[v].name);
    c8_histogram_init(c->hist[v]);
  }
  int64_t n = c8_numel(t);
  int threads = c8_threadpool_size(c->pool);
  if (threads > 1 && n >= 65536) {
    if (c->n_partial < threads) {
      c8_mfree(c->partial);
      c->partial = c8_malloc(sizeof *c->partial * (size_t)threads);
      c->n_partial = c->partial ? threads : 0;
      if (!c->partial) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory for partial histograms");
    }
    for (int k = 0; k < threads; k++) c8_histogram_init(&c->partial[k]);
    hist_job job = {.c = c, .x = t->data};
    c8_parallel_for(c->pool, n, 16384, hist_chunk, &job);
    for (int k = 0; k < threads; k++) c8_histogram_merge(c->hist[v], &c->partial[k]); /* exact, any order */
  } else {
    c8_histogram_add(c->hist[v], t->data, n);
  }
  return c->mean_axis && c->mean_axis[v] > -2 ? accumulate_mean(c, v, t) : CALIB8_OK;
}

static c8_status on_step(void *user, const c8_graph *g, const c8_step *step) {
  c8_calibration *c = user;
  const c8_node *node = &g->nodes[step->node];
  for (int j = 0; j < step->n_out; j++) {
    if (!step->out[j]) continue;
    c8_status st = observe_value(c, node->out[j], step->out[j]);
    if (st) return st;
  }
  return CALIB8_OK;
}

/* NaN or infinity in calibration data (or made by preprocessing: std_value=1e-44, scale=3e38) would be left
 * out of the histograms and silently give useless scales: it is an error naming the input and the sample. */
static c8_status check_finite_input(const c8_calibration *c, int v, const calib8_tensor *t) {
  if (v < 0 || t->dtype != CALIB8_FLOAT || !t->data) return CALIB8_OK;
  int64_t n = c8_numel(t), per = t->rank > 0 && t->dims[0] > 0 ? n / t->dims[0] : n, bad = 0, first = -1;
  const float *x = t->data;
  for (int64_t i = 0; i < n; i++)
    if (!isfinite(x[i])) {
      if (first < 0) first = i;
      bad++;
    }
  if (!bad) return CALIB8_OK;
  return c8_error(CALIB8_INVALID_ARGUMENT,
                  "calibration input '%s' holds %lld non-finite values (NaN or infinity), the first in sample %lld; "
                  "check the data and the preprocessing (std_value, scale)",
                  c->g->values[v].name, (long long)bad, (long long)(c->samples + (per > 0 ? first / per : 0)));
}

c8_status c8_calibration_run(c8_calibration *c, calib8_session *s, int n_inputs, const char *const *names,
                             const calib8_tensor *inputs) {
  c->pool = s->pool;
  c8_session_set_observer(s, on_step, c);
  c8_status st = calib8_session_run(s, n_inputs, names, inputs);
  c8_session_set_observer(s, NULL, NULL);
  if (st) return st;
  /* graph inputs, matched by name as the session did */
  for (int i = 0; i < n_inputs; i++) {
    int v = -1;
    if (!names || !names[i]) v = s->g->inputs[0];
    else v = c8_graph_find_value(s->g, names[i]);
    if ((st = check_finite_input(c, v, &inputs[i]))) return st;
    if ((st = observe_value(c, v, &inputs[i]))) return st;
  }
  /* Derived histograms, in node order (a source comes before the values derived from it). A source that
     was not observed (not float) leaves its derived values unobserved too. */
  for (int i = 0; i < s->g->n_nodes; i++) {
    int v = s->g->nodes[i].n_out > 0 ? s->g->nodes[i].out[0] : -1;
    if (v < 0 || c->derive_from[v] < 0 || !c->hist[c->derive_from[v]]) continue;
    if (!c->hist[v] && !(c->hist[v] = c8_malloc(sizeof *c->hist[v])))
      return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory for the histogram of '%s'", c->g->values[v].name);
    if (c->derive_relu[v]) c8_histogram_relu_of(c->hist[v], c->hist[c->derive_from[v]]);
    else *c->hist[v] = *c->hist[c->derive_from[v]];
  }
  /* Values folded at plan time from constants are constants, not activations: not observed. */
  c->samples += n_inputs > 0 && inputs[0].rank > 0 ? inputs[0].dims[0] : 1;
  return CALIB8_OK;
}

const c8_histogram *c8_calibration_find(const c8_calibration *c, const char *name) {
  int v = c8_graph_find_value(c->g, name);
  return v >= 0 ? c->hist[v] : NULL;
}
