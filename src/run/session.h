/* Internal session access for calibration and comparison. */
#ifndef C8_RUN_SESSION_H
#define C8_RUN_SESSION_H

#include "run/batch-split.h"
#include "run/plan.h"

struct calib8_session {
  c8_graph *g; /* owned copy, optimized when options.optimize */
  /* The copy that plain (fused, unobserved) runs use when integer folding found something to fold
     (graph/pass-int8.c): convolutions of a QDQ model on integer kernels. NULL otherwise, and when
     CALIB8_INT8=0 keeps every run on fake quantization. Observers always see g. */
  c8_graph *gi;
  int int8_layers; /* chains folded into gi */
  bool int8_on;    /* CALIB8_INT8=1 at creation */
  calib8_session_options opts;
  struct c8_threadpool *pool;
  c8_plan *plan; /* the plan of the last run: fused when optimizing and nothing observes, else unfused */
  bool plan_fused;
  /* A plain run (fused, nothing observing) of a per-sample model on a batch: its sub-batch plans, used
     instead of `plan` (which is then NULL) while the input shapes stay the same. */
  c8_batch_split *split;
  /* Graph inputs bound by value (c8_plan_build_values): NULL until a plan needed an input's values at
     prepare time; then kept, and a run with other values of those inputs plans again. */
  unsigned char *by_value;
  c8_step_observer obs;
  void *obs_user;
};

/* A session over a copy of `graph` (the QDQ graph of a quantization plan, for example). */
c8_status c8_session_create_from_graph(const c8_graph *graph, const calib8_session_options *options,
                                       calib8_session **out_session);

/* Installs a callback run after every step of every later run (NULL to remove). */
void c8_session_set_observer(calib8_session *s, c8_step_observer obs, void *user);
/* The plan of the last run (NULL before the first). */
const c8_plan *c8_session_plan(const calib8_session *s);

#endif
