// The importer's pass pipeline, in order: remove Identity/Dropout → fold constants → fold
// BatchNormalization into convolutions → infer shapes → analyse the NCHW→NHWC layout. After it,
// graph.shapes, graph.layouts and graph.nodeLayouts are set and the mapper to simdcnn layers can run.
import type { Model } from '../ir.js';
import { removeIdentity } from './remove-identity.js';
import { foldConstants } from './fold-constants.js';
import { foldBatchNorm } from './fold-batchnorm.js';
import { inferShapes } from './shapes.js';
import { analyzeLayout } from './layout.js';

export { removeIdentity, foldConstants, foldBatchNorm, inferShapes, analyzeLayout };

/** Run every pass in place; returns how many nodes each rewriting pass removed. */
export function optimize(model: Model): { identity: number; constants: number; batchNorm: number } {
  const identity = removeIdentity(model.graph);
  const constants = foldConstants(model);
  const batchNorm = foldBatchNorm(model.graph);
  inferShapes(model);
  analyzeLayout(model);
  return { identity, constants, batchNorm };
}
