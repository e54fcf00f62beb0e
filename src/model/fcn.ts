import { ArgumentError } from '../errors.js';
import type { Layer } from '../layers/layer.js';
import { layerFromConfig } from '../layers/index.js';
import { Model } from './model.js';
import { input, type SymbolicTensor } from './symbolic.js';
import type { Graph } from './graph.js';
import type { Tensor } from '../tensor.js';

// "A fully connected layer is a convolution": the flatten + dense head of a classifier rewritten
// as convolutions, so the classifier slides over a larger image in one pass. A dense layer on a
// flattened h×w×c map is an h×w convolution with the same weights (the dense kernel's rows are in
// NHWC order, which is the HWIO kernel's memory order); every later dense layer is a 1×1
// convolution. Layers that work on any shape (activations, dropout) stay as they are.

const PASS_THROUGH = new Set(['activation', 'dropout', 'prelu']);

export function toFullyConvolutional(model: Model<Tensor | Tensor[]>, graph: Graph, options: { inputShape?: number[] } = {}): Model {
  const op = 'toFullyConvolutional';
  if (!options || typeof options !== 'object') throw new ArgumentError(`${op}: options must be an object`);
  for (const k of Object.keys(options)) if (k !== 'inputShape') throw new ArgumentError(`${op}: unknown option '${k}'; accepted: inputShape`);
  if (model.inputs.length !== 1) throw new ArgumentError(`${op}: the model must have one input, it has ${model.inputs.length}`);
  const inputShape = options.inputShape ?? model.inputShape;
  // Which values are "flat" (downstream of a flatten of a spatial map), and the map's [h, w] there.
  const flat = new Map<number, [number, number]>();
  const plan: Array<{ layer: Layer; make: () => Layer }> = [];
  for (const st of graph.steps) {
    const l = st.layer;
    const src = st.inputs.map((v) => flat.get(v));
    const config = l.getConfig();
    if (l.type === 'flatten') {
      const s = graph.valueShapes[st.inputs[0]];
      if (s.length !== 3) throw new ArgumentError(`${op}: ${l.label} flattens a rank-${s.length} input; only [H, W, C] maps can become convolutions`);
      flat.set(st.output, [s[0], s[1]]);
      plan.push({ layer: l, make: () => layerFromConfig('activation', { activation: 'linear' }, l.name) });
    } else if (src.some((x) => x)) {
      if (st.inputs.length !== 1) throw new ArgumentError(`${op}: ${l.label} merges flattened features; cannot convert`);
      const hw = src[0]!;
      if (l.type === 'dense') {
        const { units, ...rest } = config as { units: number };
        plan.push({ layer: l, make: () => layerFromConfig('conv2d', { ...rest, filters: units, kernelSize: hw }, l.name) });
        flat.set(st.output, [1, 1]);
      } else if (PASS_THROUGH.has(l.type)) {
        plan.push({ layer: l, make: () => layerFromConfig(l.type, config, l.name) });
        flat.set(st.output, hw);
      } else {
        throw new ArgumentError(`${op}: ${l.label} follows the flatten; only dense, activation and dropout layers can be converted`);
      }
    } else {
      plan.push({ layer: l, make: () => layerFromConfig(l.type, config, l.name) });
    }
  }
  if (!flat.size) throw new ArgumentError(`${op}: the model has no flatten + dense head to convert`);
  // Fresh layers (one per old layer, shared layers stay shared), applied in the same order.
  const fresh = new Map<Layer, Layer>();
  for (const p of plan) if (!fresh.has(p.layer)) fresh.set(p.layer, p.make());
  const x = input({ shape: inputShape, name: model.inputs[0].inputName ?? undefined });
  const values: SymbolicTensor[] = [x];
  for (const st of graph.steps) {
    const l = fresh.get(st.layer)!;
    const ins = st.inputs.map((v) => values[v]);
    values[st.output] = l.apply(l.arity === 1 ? ins[0] : ins);
  }
  const outs = graph.outputValues.map((v) => values[v]);
  const m = new Model({ inputs: x, outputs: outs.length === 1 ? outs[0] : outs, name: `${model.name}_fcn` });
  try {
    for (const [old, nu] of fresh) {
      nu.trainable = old.trainable;
      nu.params.forEach((p, i) => { p.view().set(old.params[i].view()); p.version++; });
    }
  } catch (e) {
    m.dispose();
    throw e;
  }
  return m;
}
