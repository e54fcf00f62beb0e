import { clone, empty, type Tensor } from '../tensor.js';
import { ConcatenateLayer } from '../layers/merge.js';
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
//
// A channel concatenation whose inputs all come from conv2d steps (nothing else reading them) is
// not a copy: the first of those steps allocates the concatenated tensor, each writes its output
// channels into it, and the concatenation hands it on (the graph frees it once, after its last
// holder).

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
  const slices = concatSlices(graph, folds, readers, isOutput);
  const concats = new Set([...slices.values()].map((s) => s.concat));
  const buffers = new Map<Step, Tensor>();
  if (!folds.size && !slices.size) return { dispose() {} };
  return {
    run(step, inputs, ctx) {
      const slice = slices.get(step);
      if (slice) {
        let y = buffers.get(slice.concat);
        const first = slice.first || !y;
        if (first) {
          y = empty([inputs[0].shape[0], ...graph.valueShapes[slice.concat.output]]);
          buffers.set(slice.concat, y);
        }
        try {
          (step.layer as ConvLayer).forwardInto(inputs[0], y!, slice.c0);
        } catch (e) {
          // Until a step returned it, the graph does not know the tensor.
          if (first) { y!.dispose(); buffers.delete(slice.concat); }
          throw e;
        }
        return y!;
      }
      if (concats.has(step)) {
        buffers.delete(step);
        return inputs[0];
      }
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

interface Slice { concat: Step; c0: number; first: boolean }

/** The conv2d steps that write straight into a channel concatenation, with their channel offsets. */
function concatSlices(graph: Graph, folds: Map<Step, Fold>, readers: (v: number) => Step[], isOutput: (v: number) => boolean): Map<Step, Slice> {
  const out = new Map<Step, Slice>();
  const producer = new Map<number, Step>();
  for (const st of graph.steps) producer.set(st.output, st);
  for (const st of graph.steps) {
    if (!(st.layer instanceof ConcatenateLayer)) continue;
    const shape = graph.valueShapes[st.output];
    if (shape.length !== 3 || (st.layer.axis !== -1 && st.layer.axis !== 3)) continue;
    if (new Set(st.inputs).size !== st.inputs.length) continue;
    const steps = st.inputs.map((v) => producer.get(v));
    const ok = steps.every((p, k) => p && p.layer instanceof ConvLayer && p.layer.type === 'conv2d' && !folds.has(p) &&
      !isOutput(st.inputs[k]) && readers(st.inputs[k]).length === 1);
    if (!ok) continue;
    const firstIndex = Math.min(...steps.map((p) => graph.steps.indexOf(p!)));
    let c0 = 0;
    steps.forEach((p, k) => {
      out.set(p!, { concat: st, c0, first: graph.steps.indexOf(p!) === firstIndex });
      c0 += graph.valueShapes[st.inputs[k]][2];
    });
  }
  return out;
}

/** Rebuild the folded kernel and bias when a source parameter changed. */
function refresh(f: Fold): void {
  const sources: Layer[] = [f.conv, f.bn];
  const key = sources.flatMap((l) => l.params.map((p) => `${p.id}.${p.version}`)).join();
  // A tidy around an earlier predict disposes what it created, these included: rebuild them then.
  if (key === f.key && f.kernel && f.bias && !f.kernel.isDisposed && !f.bias.isDisposed) return;
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
