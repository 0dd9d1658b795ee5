#!/usr/bin/env node
// Writes the graph ONNX Runtime actually runs for a model: `node ort_optimize.js MODEL OUT.onnx`.
// Extended optimizations (the QDQ fusions into QLinearConv, QGemm, QLinearAdd ...), without the NCHWc layout
// pass, so the result does not depend on the machine's vector width. onnxruntime-node comes from
// ${CALIB8_CACHE:-<repo>/.cache}/npm as in tools/ort/run_ort.js.
'use strict';
const path = require('path');
const cache = process.env.CALIB8_CACHE || path.join(__dirname, '..', '..', '.cache');
const ort = require(path.resolve(cache, 'npm', 'node_modules', 'onnxruntime-node'));
const [model, out] = process.argv.slice(2);
if (!model || !out) {
  process.stderr.write('usage: node ort_optimize.js MODEL OUT.onnx\n');
  process.exit(2);
}
ort.InferenceSession.create(model, { graphOptimizationLevel: 'extended', optimizedModelFilePath: out })
  .then(() => process.exit(0))
  .catch((e) => {
    process.stderr.write(`ort_optimize: ${e.message}\n`);
    process.exit(1);
  });
