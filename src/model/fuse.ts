import type { Tensor } from '../tensor.js';
import type { Context } from '../layers/layer.js';
import type { Graph, Step } from './graph.js';

// The inference plan: how each step runs when the model predicts. Today every step runs its
// layer; foldable pairs (a convolution followed by batch normalization) run as one.

export interface InferencePlan {
  run?: (step: Step, inputs: Tensor[], ctx: Context) => Tensor;
  dispose(): void;
}

export function inferencePlan(graph: Graph): InferencePlan {
  void graph;
  return { dispose() {} };
}
