/* Winograd F(2x2, 3x3): plan geometry and the weight transform (portable; see winograd.h). */
#include "kernels/winograd/winograd.h"

static int64_t cdiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

void c8_wino_plan_init(c8_wino_plan *p) {
  p->th = cdiv(p->oh, 2);
  p->tw = cdiv(p->ow, 2);
  /* about 32 tiles per block: one pass of the 8x32 micro-kernel per position */
  p->rows = p->tw >= 32 ? 1 : cdiv(32, p->tw);
  if (p->rows > p->n * p->th) p->rows = p->n * p->th;
  p->tpad = cdiv(p->rows * p->tw, 32) * 32;
  p->blocks = cdiv(p->n * p->th, p->rows);
}

size_t c8_wino_u_floats(int64_t m, int64_t c) { return (size_t)(cdiv(m, 8) * 16 * c * 8); }

void c8_wino_weights(const float *w, int64_t m, int64_t c, float *u) {
  static const double G[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
  const size_t total = c8_wino_u_floats(m, c);
  for (size_t i = 0; i < total; i++) u[i] = 0.0f;
  for (int64_t o = 0; o < m; o++)
    for (int64_t ci = 0; ci < c; ci++) {
      const float *g = w + (o * c + ci) * 9;
      double t[4][3]; /* G g */
      for (int i = 0; i < 4; i++)
        for (int j = 0; j < 3; j++) t[i][j] = G[i][0] * g[j] + G[i][1] * g[3 + j] + G[i][2] * g[6 + j];
      for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++) {
          const double v = t[i][0] * G[j][0] + t[i][1] * G[j][1] + t[i][2] * G[j][2]; /* (G g) G^T */
          u[(((o / 8) * 16 + (i * 4 + j)) * c + ci) * 8 + o % 8] = (float)v;
        }
    }
}

size_t c8_wino_scratch_floats(const c8_wino_plan *p) {
  return (size_t)(16 * p->c * p->tpad           /* V */
                  + 16 * 8 * 32                 /* products of one 8 x 32 block, all 16 positions */
                  + 8 * 2 * 2 * p->tpad + 64);  /* staged output rows */
}
