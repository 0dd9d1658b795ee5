/* An execution plan: the graph bound to concrete input shapes.
 * Building it infers every shape, evaluates everything that depends only on
 * constants and input shapes (the Shape->Gather->Concat->Reshape chains of
 * exported models), prepares a kernel per remaining node and lays out one
 * arena for all activations, reusing buffers whose lifetimes do not overlap.
 * Running it allocates nothing. */
#ifndef C8_RUN_PLAN_H
#define C8_RUN_PLAN_H

#include "graph/graph.h"
#include "ops/op.h"

typedef struct c8_step {
  int node; /* index into graph->nodes */
  c8_kernel k;
  int n_in, n_out;
  c8_tensor **in, **out; /* point into plan->rt; NULL for omitted optionals */
} c8_step;

/* Called after each step with its outputs (calibration observers, layer-wise compare). */
typedef c8_status (*c8_step_observer)(void *user, const c8_graph *g, const c8_step *step);

typedef struct c8_plan {
  const c8_graph *g;
  c8_tensor *rt;          /* runtime tensor for every value id */
  unsigned char *known;   /* value known at plan time */
  void **owned;           /* data of values folded at plan time */
  int n_owned;
  c8_step *steps;
  int n_steps;
  unsigned char *arena;
  size_t arena_bytes, scratch_offset, scratch_bytes;
  calib8_tensor *bound;   /* input shapes this plan was built for, one per graph input */
  unsigned char *by_value; /* per graph input: its values were bound at plan time too (bound[i].data is a
                              copy the plan owns), as a constant would be; NULL when none */
  struct c8_threadpool *pool;
  struct c8_fusion *fusions; /* per node, when built with fusion (kernels point into it) */
  double *prof;           /* CALIB8_PROFILE=1: per step, seconds summed over runs, then the minimum */
  int prof_runs;
} c8_plan;

/* Builds a plan for the given input shapes (inputs[i] feeds g->inputs[i]; data ignored). */
c8_status c8_plan_build(const c8_graph *g, const calib8_tensor *inputs, struct c8_threadpool *pool,
                        c8_plan **out);
/* The same; with `fuse`, elementwise chains after convolutions run in their epilogues (graph/fuse.h): the
   chain's intermediate tensors are then never computed, so observers must not use a fused plan. */
c8_status c8_plan_build_ex(const c8_graph *g, const calib8_tensor *inputs, struct c8_threadpool *pool, bool fuse,
                           c8_plan **out);
/* The same; inputs with by_value[i] set are bound by value: the plan copies their data and treats them as
   constants (folding what depends on them), for inputs that ops need at prepare time (Reshape's shape, Resize's
   scales, ... fed as graph inputs). Such a plan matches only those values. by_value may be NULL. */
c8_status c8_plan_build_values(const c8_graph *g, const calib8_tensor *inputs, struct c8_threadpool *pool,
                               bool fuse, const unsigned char *by_value, c8_plan **out);
void c8_plan_destroy(c8_plan *p);
/* True when the plan was built for exactly these input shapes and types (and values, for inputs bound by
   value). */
bool c8_plan_matches(const c8_plan *p, const calib8_tensor *inputs);
/* Runs every step; inputs[i].data feeds g->inputs[i]. */
c8_status c8_plan_run(c8_plan *p, const calib8_tensor *inputs, c8_step_observer obs, void *user);

#endif
