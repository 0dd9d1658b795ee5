#include <stdlib.h>
#include <string.h>

#include "ops/op.h"

c8_status c8_op_eval(const c8_node *node, int opset, c8_tensor *const *in, int n_in, c8_tensor *const *out,
                     int n_out) {
  c8_kernel k = {.node = node, .opset = opset};
  c8_status st = node->def->prepare(&k, in, n_in, out, n_out);
  void *scratch = NULL;
  int done = 0;
  if (st) goto fail;
  for (; done < n_out; done++) {
    if (!out[done]) continue;
    out[done]->data = c8_alloc(c8_nbytes(out[done]));
    if (!out[done]->data) {
      st = c8_error(CALIB8_OUT_OF_MEMORY, "node '%s' (%s): out of memory folding a constant", node->name,
                    node->op_type);
      goto fail;
    }
  }
  if (k.scratch_bytes && !(scratch = c8_alloc(k.scratch_bytes))) {
    st = c8_error(CALIB8_OUT_OF_MEMORY, "node '%s' (%s): out of memory folding a constant", node->name,
                  node->op_type);
    goto fail;
  }
  st = node->def->run(&k, in, n_in, out, n_out, scratch);
  if (st) goto fail;
  c8_free(scratch);
  if (node->def->destroy) node->def->destroy(k.state);
  else c8_mfree(k.state);
  return CALIB8_OK;
fail:
  c8_free(scratch);
  for (int i = 0; i < done; i++)
    if (out[i]) {
      c8_free(out[i]->data);
      out[i]->data = NULL;
    }
  if (node->def->destroy) node->def->destroy(k.state);
  else c8_mfree(k.state);
  return st;
}
