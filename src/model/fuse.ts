import { clone, empty, type Tensor } from '../tensor.js';
import type { Context, Layer } from '../layers/layer.js';
import { ConvLayer } from '../layers/conv.js';
import { BatchNormalizationLayer } from '../layers/normalization.js';
import { ActivationLayer } from '../layers/activation.js';
import type { Graph, Step } from './graph.js';

// The inference plan: how each step runs when the model predicts. A convolution followed by batch
// normalization (nothing else reading the convolution's output) runs as one convolution with the
// normalization folded into its weights and bias — W'[…, o] = W[…, o]·γ[o]/√(var[o] + ε),
// b'[o] = (b[o] − mean[o])·γ[o]/√(var[o] + ε) + β[o] — and a relu right after it is fused into the
// kernel's store. The folded weights are cached and rebuilt when any source parameter changes
// (training bumps their versions).

export interface InferencePlan {
  run?: (step: Step, inputs: Tensor[], ctx: Context) => Tensor;
  dispose(): void;
}

interface Fold {
  conv: ConvLayer;
  bn: BatchNormalizationLayer;
  relu: boolean;
  key: string;
  kernel: Tensor | null;
  bias: Tensor | null;
}

export function inferencePlan(graph: Graph): InferencePlan {
  const producer = new Map<number, Step>();
  for (const st of graph.steps) producer.set(st.output, st);
  const isOutput = (v: number) => graph.outputValues.includes(v);
  const readers = (v: number) => graph.steps.filter((s) => s.inputs.includes(v));
  // The convolution step computes the folded result; the normalization (and the relu) pass it on.
  const folds = new Map<Step, Fold>();
  const passThrough = new Set<Step>();
  for (const st of graph.steps) {
    if (!(st.layer instanceof BatchNormalizationLayer)) continue;
    const prev = producer.get(st.inputs[0]);
    if (!prev || !(prev.layer instanceof ConvLayer) || (prev.layer.type !== 'conv2d' && prev.layer.type !== 'depthwiseConv2d')) continue;
    if (prev.layer.act || isOutput(prev.output) || readers(prev.output).length !== 1) continue;
    if (graph.steps.filter((s) => s.layer === prev.layer).length !== 1 || graph.steps.filter((s) => s.layer === st.layer).length !== 1) continue;
    // A relu reading only the normalization's output joins the convolution's store.
    const next = readers(st.output);
    const relu = next.length === 1 && !isOutput(st.output) && next[0].layer instanceof ActivationLayer && next[0].layer.getConfig().activation === 'relu';
    folds.set(prev, { conv: prev.layer, bn: st.layer, relu, key: '', kernel: null, bias: null });
    passThrough.add(st);
    if (relu) passThrough.add(next[0]);
  }
  if (!folds.size) return { dispose() {} };
  return {
    run(step, inputs, ctx) {
      const fold = folds.get(step);
      if (fold) {
        refresh(fold);
        return fold.conv.forwardWith(inputs[0], fold.kernel!, fold.bias!, ctx, fold.relu ? { name: 'relu', alpha: 0 } : null);
      }
      // Its input is already the folded result; the graph hands the tensor on without a copy.
      if (passThrough.has(step)) return inputs[0];
      return step.layer.forward(inputs, ctx);
    },
    dispose() {
      for (const f of folds.values()) { f.kernel?.dispose(); f.bias?.dispose(); f.kernel = f.bias = null; }
    },
  };
}

/** Rebuild the folded kernel and bias when a source parameter changed. */
function refresh(f: Fold): void {
  const sources: Layer[] = [f.conv, f.bn];
  const key = sources.flatMap((l) => l.params.map((p) => `${p.id}.${p.version}`)).join();
  if (key === f.key && f.kernel && f.bias) return;
  f.kernel?.dispose();
  f.bias?.dispose();
  f.kernel = f.bias = null;
  const kernel = clone(f.conv.kernel);
  let bias: Tensor;
  try {
    bias = empty([kernel.shape[kernel.rank - 1]]);
  } catch (e) {
    kernel.dispose();
    throw e;
  }
  const C = bias.size, eps = f.bn.epsilon;
  const w = kernel.view(), b = bias.view();
  const gamma = f.bn.gamma?.view(), beta = f.bn.beta?.view();
  const mean = f.bn.movingMean.view(), variance = f.bn.movingVariance.view();
  const convBias = f.conv.bias?.view();
  for (let o = 0; o < C; o++) {
    const scale = (gamma ? gamma[o] : 1) / Math.sqrt(variance[o] + eps);
    b[o] = ((convBias ? convBias[o] : 0) - mean[o]) * scale + (beta ? beta[o] : 0);
    for (let i = o; i < w.length; i += C) w[i] *= scale;
  }
  f.kernel = kernel;
  f.bias = bias;
  f.key = key;
}
