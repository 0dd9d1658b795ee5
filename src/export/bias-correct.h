/* Bias correction (M. Nagel, M. van Baalen, T. Blankevoort, M. Welling, "Data-Free Quantization Through
 * Weight Equalization and Bias Correction", ICCV 2019, section 4.2).
 *
 * Quantizing the weights W to W_q shifts the expected output of a layer by E[y_q] - E[y] = (W_q - W) E[x]
 * (their eq. 10-12). The paper derives E[x] from the previous layer's BatchNorm statistics; here it is
 * measured on the calibration data (the empirical form, as in AIMET's empirical bias correction and
 * Banner et al., "Post training 4-bit quantization of convolutional networks for rapid-deployment",
 * NeurIPS 2019), per input channel, and the bias absorbs the shift: b' = b - (W_q - W) E[x].
 *
 * For a Conv the shift of output channel o is sum_c E[x_c] * sum_k (W_q - W)[o, c, k]. It is exact away
 * from the borders; where the kernel overlaps zero padding the padded taps contribute nothing, so the
 * correction is the usual approximation there. */
#ifndef C8_EXPORT_BIAS_CORRECT_H
#define C8_EXPORT_BIAS_CORRECT_H

#include "plan/qplan.h"

/* The per-output-channel shift (W_q - W) E[x] of node n (Conv, Gemm or 2-D-weight MatMul), given its float
 * weights W, the dequantized weights wq (same layout) and the mean of its data input per channel (n_mean of
 * them, along the axis the node reduces over). shift must hold the output channel count (W->dims[0] for Conv,
 * N for Gemm/MatMul), which goes to *n_out. Gemm's alpha is included. CALIB8_UNSUPPORTED (no message) when
 * the shapes do not fit: the caller then leaves the node uncorrected. */
c8_status c8_bias_shift(const c8_node *n, const c8_tensor *W, const float *wq, const double *mean, int64_t n_mean,
                        double *shift, int64_t *n_out);

/* The weights as a QDQ model computes them: DequantizeLinear(c8_quantize_weights(W, axis, m)). axis -1 (or
 * >= rank) is per tensor. out holds numel(W) floats. */
c8_status c8_dequantized_weights(const c8_tensor *W, int axis, c8_weight_method m, float *out);

/* Rewrites node k of g (a QDQ graph being built, whose value ids match the plan's graph) so that its bias
 * includes -(W_q - W) E[x]: w is the id of the float weights (before quantization), axis and m as given to
 * c8_quantize_weights, mean the plan's E[x] for the node's data input. Conv gets a bias if it had none;
 * Gemm's C (shape [N] or [1, N], or absent) is corrected by shift / beta; a MatMul is corrected through the
 * constant operand of an Add that is the only reader of its output. A node that fits none of these (or whose
 * mean was measured on another axis) is left as it is, and *corrected says whether it was changed.
 * CALIB8_OUT_OF_MEMORY. */
c8_status c8_bias_correct_node(c8_graph *g, int k, int w, int axis, c8_weight_method m, const c8_channel_mean *mean,
                               bool *corrected);

#endif
