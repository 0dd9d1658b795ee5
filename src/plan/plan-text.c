/* The plan's options by their command-line names (calib8_quant_option_value, calib8_quant_options_set) and a
 * built plan described in text (calib8_qplan_print): what `calib8 quantize` reads and says. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calib8/calib8.h"
#include "core/status.h"

/* Every option of calib8_quant_options with its spellings and what its value is ("" for a flag). TNN's
 * quantization_cmd options keep TNN's names and numbers. */
typedef enum { METHOD, PERCENTILE, WEIGHTS, GRANULARITY, ASYMMETRIC, QTABLE, FP32_AFTER, FP32_BEFORE, FP32_HEADS,
               FPFWD_OUTPUTS, FPFWD_INPUTS, BIAS_CORRECTION, TNN_BLOB, TNN_WEIGHT, TNN_MERGE } option_id;
static const struct {
  const char *name, *alias, *need;
  option_id id;
} OPTIONS[] = {
    {"--method", NULL, "kl, max, percentile, mse, aciq or admm", METHOD},
    {"--percentile", NULL, "a percentage", PERCENTILE},
    {"--weights", NULL, "minmax or admm", WEIGHTS},
    {"--granularity", NULL, "per-channel, per-tensor or mix", GRANULARITY},
    {"--asymmetric", NULL, "", ASYMMETRIC},
    {"--qtable", NULL, "a qtable file", QTABLE},
    {"--fp32-after", NULL, "tensor names", FP32_AFTER},
    {"--fp32-before", NULL, "tensor names", FP32_BEFORE},
    {"--fp32-heads", NULL, "", FP32_HEADS},
    {"--fpfwd-outputs", "--fpfwd_outputs", "layer names", FPFWD_OUTPUTS},
    {"--fpfwd-inputs", "--fpfwd_inputs", "layer names", FPFWD_INPUTS},
    {"--bias-correction", NULL, "", BIAS_CORRECTION},
    {"-b", "--blob_method", "a number", TNN_BLOB},
    {"-w", "--weight_method", "a number", TNN_WEIGHT},
    {"-t", "--merge_type", "a number", TNN_MERGE},
};
#define N_OPTIONS ((int)(sizeof OPTIONS / sizeof OPTIONS[0]))

static int find(const char *option) {
  for (int k = 0; option && k < N_OPTIONS; k++)
    if (!strcmp(option, OPTIONS[k].name) || (OPTIONS[k].alias && !strcmp(option, OPTIONS[k].alias))) return k;
  return -1;
}

const char *calib8_quant_option_value(const char *option) {
  int k = find(option);
  return k < 0 ? NULL : OPTIONS[k].need;
}

calib8_status calib8_quant_options_set(calib8_quant_options *q, const char *option, const char *v) {
  int k = find(option);
  if (!q || k < 0)
    return c8_error(CALIB8_INVALID_ARGUMENT, "'%s' is not an option of calib8_quant_options", option ? option : "");
  if (OPTIONS[k].need[0] && !v) return c8_error(CALIB8_INVALID_ARGUMENT, "option %s needs %s", option, OPTIONS[k].need);
  const char *o = option;
  char *end;
  switch (OPTIONS[k].id) {
    case METHOD: {
      int m = calib8_method_parse(v);
      if (m < 0)
        return c8_error(CALIB8_INVALID_ARGUMENT, "--method '%s' is not one of kl, max, percentile, mse, aciq, admm "
                        "(any case; PERCENTILE9999 is percentile at 99.99)", v);
      q->method = (calib8_method)m;
      if (calib8_method_parse_percentile(v) > 0) q->percentile = calib8_method_parse_percentile(v);
      break;
    }
    case PERCENTILE: {
      double p = strtod(v, &end);
      if (*end || !(p > 0 && p <= 100))
        return c8_error(CALIB8_INVALID_ARGUMENT, "--percentile '%s' must be a number in (0, 100]", v);
      q->percentile = p;
      break;
    }
    case WEIGHTS:
      if (!strcmp(v, "minmax")) q->weights = CALIB8_WEIGHTS_MINMAX;
      else if (!strcmp(v, "admm")) q->weights = CALIB8_WEIGHTS_ADMM;
      else return c8_error(CALIB8_INVALID_ARGUMENT, "--weights '%s' is not minmax or admm", v);
      break;
    case GRANULARITY:
      if (!strcmp(v, "per-channel")) q->granularity = CALIB8_PER_CHANNEL;
      else if (!strcmp(v, "per-tensor")) q->granularity = CALIB8_PER_TENSOR;
      else if (!strcmp(v, "mix")) q->granularity = CALIB8_GRANULARITY_MIX;
      else return c8_error(CALIB8_INVALID_ARGUMENT, "--granularity '%s' is not per-channel, per-tensor or mix", v);
      break;
    case ASYMMETRIC: q->asymmetric = 1; break;
    case QTABLE: q->qtable = v; break;
    case FP32_AFTER: q->fp32_after = v; break;
    case FP32_BEFORE: q->fp32_before = v; break;
    case FP32_HEADS: q->fp32_heads = 1; break;
    case FPFWD_OUTPUTS: q->fpfwd_outputs = v; break;
    case FPFWD_INPUTS: q->fpfwd_inputs = v; break;
    case BIAS_CORRECTION: q->bias_correction = 1; break;
    case TNN_BLOB: /* TNN's blob (activation) method: 0 Min-Max, 2 KL */
      if (strcmp(v, "0") && strcmp(v, "2"))
        return c8_error(CALIB8_INVALID_ARGUMENT, "%s '%s' is not TNN's 0 (Min-Max) or 2 (KL)", o, v);
      q->method = !strcmp(v, "0") ? CALIB8_METHOD_MAX : CALIB8_METHOD_KL;
      break;
    case TNN_WEIGHT: /* TNN's weight method: 0 Min-Max, 1 ADMM */
      if (strcmp(v, "0") && strcmp(v, "1"))
        return c8_error(CALIB8_INVALID_ARGUMENT, "%s '%s' is not TNN's 0 (Min-Max) or 1 (ADMM)", o, v);
      q->weights = !strcmp(v, "0") ? CALIB8_WEIGHTS_MINMAX : CALIB8_WEIGHTS_ADMM;
      break;
    case TNN_MERGE:
      if (strcmp(v, "0") && strcmp(v, "1") && strcmp(v, "2"))
        return c8_error(CALIB8_INVALID_ARGUMENT, "%s '%s' is not TNN's 0 (per-channel), 1 (mix) or 2 (per-tensor)", o,
                        v);
      /* TNN's 0 and 1 both give per-channel weights; calib8's activations are always per tensor, which is TNN's
         1 ("mix"); TNN's 0 would also scale activations per channel, which calib8 does not write */
      q->granularity = !strcmp(v, "2") ? CALIB8_PER_TENSOR : CALIB8_PER_CHANNEL;
      break;
  }
  return CALIB8_OK;
}

calib8_status calib8_qplan_print(const calib8_qplan *plan, const calib8_calibration *cal,
                                 const calib8_quant_options *q, const calib8_summary_extra *x, FILE *f) {
  if (!plan || !cal || !q || !f)
    return c8_error(CALIB8_INVALID_ARGUMENT, "calib8_qplan_print needs a plan, its calibration, its options and a FILE");
  int n_int8 = 0, n_cand = calib8_qplan_layer_count(plan), n_half = 0;
  calib8_layer_info li;
  for (int i = 0; i < n_cand; i++) {
    calib8_qplan_layer(plan, i, &li);
    n_int8 += li.precision == CALIB8_PRECISION_INT8;
    n_half += li.half_requested != 0;
  }
  int64_t macs, macs8;
  calib8_qplan_macs(plan, &macs, &macs8);
  fprintf(f, "calibrated on %lld samples in %.3f s (%s, %s weights, %s)\n", (long long)calib8_calibration_samples(cal),
          x ? x->calibration_seconds : 0.0, calib8_method_name(q->method),
          q->weights == CALIB8_WEIGHTS_ADMM ? "admm" : "minmax",
          q->granularity == CALIB8_PER_TENSOR       ? "per-tensor"
          : q->granularity == CALIB8_GRANULARITY_MIX ? "mix"
                                                     : "per-channel");
  fprintf(f, "INT8 layers: %d of %d convolution/matrix layers; %.1f %% of multiply-accumulates\n", n_int8, n_cand,
          macs ? 100.0 * (double)macs8 / (double)macs : 0.0);
  if (n_half) { /* TPU-MLIR's F16/BF16 qtable rows: calib8 writes no half precision */
    fprintf(f, "F16/BF16 in the qtable, kept FP32 (calib8 writes INT8 and FP32 only):");
    for (int i = 0; i < n_cand; i++)
      if (!calib8_qplan_layer(plan, i, &li) && li.half_requested) fprintf(f, " %s", li.name);
    fprintf(f, "\n");
  }
  if (x && x->equalized_pairs >= 0) fprintf(f, "cross-layer equalization: %d convolution pairs\n", x->equalized_pairs);
  if (q->bias_correction) fprintf(f, "bias correction: on\n");
  if (x && x->output_path) fprintf(f, "wrote %s\n", x->output_path);
  return CALIB8_OK;
}
