#include "observe/calibrate.h"

#include <stdlib.h>
#include <string.h>

c8_status c8_calibration_create(const calib8_session *s, c8_calibration **out) {
  c8_calibration *c = calloc(1, sizeof *c);
  if (!c) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory starting calibration");
  c->g = s->g;
  c->n_values = s->g->n_values;
  c->hist = calloc((size_t)(c->n_values ? c->n_values : 1), sizeof *c->hist);
  if (!c->hist) {
    free(c);
    return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory starting calibration");
  }
  *out = c;
  return CALIB8_OK;
}

void c8_calibration_destroy(c8_calibration *c) {
  if (!c) return;
  for (int v = 0; v < c->n_values; v++) free(c->hist[v]);
  free(c->hist);
  free(c);
}

static c8_status observe_value(c8_calibration *c, int v, const c8_tensor *t) {
  if (v < 0 || v >= c->n_values || t->dtype != CALIB8_FLOAT || !t->data) return CALIB8_OK;
  if (!c->hist[v]) {
    c->hist[v] = malloc(sizeof *c->hist[v]);
    if (!c->hist[v]) return c8_error(CALIB8_OUT_OF_MEMORY, "out of memory for the histogram of '%s'", c->g->values[v].name);
    c8_histogram_init(c->hist[v]);
  }
  c8_histogram_add(c->hist[v], t->data, c8_numel(t));
  return CALIB8_OK;
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

c8_status c8_calibration_run(c8_calibration *c, calib8_session *s, int n_inputs, const char *const *names,
                             const calib8_tensor *inputs) {
  c8_session_set_observer(s, on_step, c);
  c8_status st = calib8_session_run(s, n_inputs, names, inputs);
  c8_session_set_observer(s, NULL, NULL);
  if (st) return st;
  /* graph inputs, matched by name as the session did */
  for (int i = 0; i < n_inputs; i++) {
    int v = -1;
    if (!names || !names[i]) v = s->g->inputs[0];
    else v = c8_graph_find_value(s->g, names[i]);
    if ((st = observe_value(c, v, &inputs[i]))) return st;
  }
  /* Values folded at plan time from constants are constants, not activations: not observed. */
  c->samples += n_inputs > 0 && inputs[0].rank > 0 ? inputs[0].dims[0] : 1;
  return CALIB8_OK;
}

const c8_histogram *c8_calibration_find(const c8_calibration *c, const char *name) {
  int v = c8_graph_find_value(c->g, name);
  return v >= 0 ? c->hist[v] : NULL;
}
