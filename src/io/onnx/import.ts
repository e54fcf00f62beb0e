// loadOnnx: ONNX bytes → an ordinary simdcnn model. decode (./decode.ts: every field checked) →
// optimize (./passes: remove Identity/Dropout, fold constants and BatchNormalization, shapes, the
// NCHW → NHWC layout) → map onto layer specs (./map.ts: weights moved into simdcnn's layouts once)
// → build the functional model → copy the weights. Everything up to the build is plain JavaScript,
// so a malformed or unsupported file fails before anything is allocated in wasm memory; a failure
// while building frees what the build allocated.
import { ArgumentError } from '../../errors.js';
import { layers as factories, type LayerType } from '../../layers/index.js';
import type { Layer } from '../../layers/layer.js';
import { model as makeModel, type Model } from '../../model/model.js';
import { input, type SymbolicTensor } from '../../model/symbolic.js';
import { decodeModel } from './decode.js';
import { mapGraph } from './map.js';
import { optimize } from './passes/index.js';

export interface LoadOnnxOptions {
  /** The model's name (default: the ONNX graph's name, else 'onnx'). */
  name?: string;
}

const NAME = /^[A-Za-z0-9_.\-/]{1,128}$/;

/** A valid, unique simdcnn name for an ONNX name. */
function namer(): (raw: string, fallback: string) => string {
  const used = new Set<string>();
  return (raw, fallback) => {
    let base = raw.replace(/[^A-Za-z0-9_.\-/]/g, '_').replace(/^\/+/, '').slice(0, 120);
    if (!NAME.test(base)) base = fallback;
    let name = base;
    for (let k = 1; used.has(name); k++) name = `${base}_${k}`;
    used.add(name);
    return name;
  };
}

/**
 * Import an ONNX model (a PyTorch CNN exported with torch.onnx.export, opsets 11–18). The model
 * takes NHWC inputs like every simdcnn model ([N, H, W, C] for an ONNX [N, C, H, W] input) and gives
 * feature-map outputs NHWC; 2-D outputs (logits) equal the original's. A model with several outputs
 * predicts an array of tensors.
 */
export async function loadOnnx(bytes: Uint8Array | ArrayBuffer, options: LoadOnnxOptions = {}): Promise<Model> {
  if (!options || typeof options !== 'object') throw new ArgumentError('loadOnnx: options must be an object');
  for (const k of Object.keys(options)) if (k !== 'name') throw new ArgumentError(`loadOnnx: unknown option '${k}'; accepted: name`);
  if (options.name !== undefined && (typeof options.name !== 'string' || !options.name)) throw new ArgumentError('loadOnnx: name must be a non-empty string');
  const onnx = decodeModel(bytes);
  optimize(onnx);
  const mapped = mapGraph(onnx);
  if (!mapped.specs.length) throw new ArgumentError('onnx: the graph computes nothing simdcnn can run (no operator left after folding)');

  // Layers and the symbolic graph: plain objects, validated, nothing allocated yet.
  const name = namer();
  const values = new Map<string, SymbolicTensor>();
  const inputs = mapped.inputs.map((i) => {
    const s = input({ shape: i.shape, name: name(i.name, 'input') });
    values.set(i.name, s);
    return s;
  });
  const withWeights: Array<[Layer, Float32Array[]]> = [];
  for (const spec of mapped.specs) {
    const make = factories[spec.type as LayerType] as unknown as (o: Record<string, unknown>) => Layer;
    let layer: Layer;
    try {
      layer = make({ ...spec.options, name: name(spec.node.name, spec.type) });
    } catch (e) {
      if (e instanceof ArgumentError) throw new ArgumentError(`onnx: node '${spec.node.name}' (${spec.node.opType}): ${e.message}`);
      throw e;
    }
    const args = spec.inputs.map((v) => values.get(v)!);
    values.set(spec.output, layer.apply(args.length === 1 && layer.arity === 1 ? args[0] : args));
    if (spec.weights?.length) {
      withWeights.push([layer, spec.weights]);
      layer.weightsFollow = true;
    }
  }
  const outputs = mapped.outputs.map((o) => values.get(o)!);
  const m = makeModel({
    inputs: inputs.length === 1 ? inputs[0] : inputs,
    outputs: outputs.length === 1 ? outputs[0] : outputs,
    name: options.name ?? (NAME.test(onnx.graph.name) ? onnx.graph.name : 'onnx'),
  }) as unknown as Model;
  try {
    for (const [layer, w] of withWeights) layer.setWeights(w);
  } catch (e) {
    m.dispose();
    throw e;
  }
  return m;
}
