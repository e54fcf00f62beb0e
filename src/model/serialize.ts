import { ArgumentError, FormatError, ShapeError, fmtShape } from '../errors.js';
import type { Layer } from '../layers/layer.js';
import type { Tensor } from '../tensor.js';
import { isLayerType, layerFromConfig } from '../layers/index.js';
import { Model } from './model.js';
import { readArtifacts } from '../io/artifacts.js';
import { input, checkExampleShape, type SymbolicTensor } from './symbolic.js';

// simdcnn's own model format: a topology (JSON: layers with their configs, the nodes that apply
// them in order, inputs and outputs, and an index of the weights) and one little-endian float32
// buffer. A saved file is untrusted input: everything is checked (types, ranges, nesting, names,
// the weights' shapes and byte length) before any memory is allocated for it.

/** A reference to a value: an input's name, or a layer's name and which application (from 0). */
export type ValueRef = [string, number];

export interface ModelTopology {
  format: 'simdcnn-model';
  version: 2;
  name: string;
  inputs: Array<{ name: string; shape: number[] }>;
  layers: Array<{ type: string; name: string; config: Record<string, unknown>; trainable?: boolean }>;
  /** Layer applications in order: the layer, and the values it reads. */
  nodes: Array<{ layer: string; inputs: ValueRef[] }>;
  outputs: ValueRef[];
  weights: WeightsIndex;
}

export type WeightsIndex = Array<{ layer: string; name: string; shape: number[]; offset: number }>;

export interface SavedModel {
  topology: ModelTopology;
  /** All parameters, float32 little-endian, at the byte offsets the topology lists. */
  weights: ArrayBuffer;
}

/** The topology and weights of a model. */
export function saveModel(model: Model<Tensor | Tensor[]>, graph: { steps: Array<{ layer: Layer; inputs: number[]; output: number }>; inputCount: number; outputValues: number[]; layers: Layer[] }): SavedModel {
  const inputNames = model.inputs.map((s, i) => s.inputName ?? `input_${i + 1}`);
  const layerNames = new Set(graph.layers.map((l) => l.name));
  inputNames.forEach((n, i) => { if (layerNames.has(n) || inputNames.indexOf(n) !== i) inputNames[i] = `${n}_input_${i + 1}`; });
  const refOf: ValueRef[] = inputNames.map((n) => [n, 0]);
  const applications = new Map<Layer, number>();
  const nodes: ModelTopology['nodes'] = [];
  for (const st of graph.steps) {
    const k = applications.get(st.layer) ?? 0;
    applications.set(st.layer, k + 1);
    refOf[st.output] = [st.layer.name, k];
    nodes.push({ layer: st.layer.name, inputs: st.inputs.map((v) => refOf[v].slice() as ValueRef) });
  }
  const { index, weights } = packWeights(graph.layers);
  return {
    topology: {
      format: 'simdcnn-model',
      version: 2,
      name: model.name,
      inputs: model.inputs.map((s, i) => ({ name: inputNames[i], shape: s.shape.slice() })),
      layers: graph.layers.map((l) => ({ type: l.type, name: l.name, config: l.getConfig(), ...(l.trainable ? {} : { trainable: false }) })),
      nodes,
      outputs: graph.outputValues.map((v) => refOf[v].slice() as ValueRef),
      weights: index,
    },
    weights,
  };
}

/** Every parameter of these layers in one buffer, and its index. */
export function packWeights(layers: Layer[]): { index: WeightsIndex; weights: ArrayBuffer } {
  const index: WeightsIndex = [];
  let offset = 0;
  for (const l of layers) l.params.forEach((p, i) => { index.push({ layer: l.name, name: l.paramNames[i], shape: p.shape.slice(), offset }); offset += p.bytes; });
  const weights = new ArrayBuffer(offset);
  const f = new Float32Array(weights);
  let at = 0;
  for (const l of layers) for (const p of l.params) { f.set(p.view(), at); at += p.size; }
  return { index, weights };
}

/** Copy a weights buffer laid out as `index` says into these layers (every entry checked first). */
export function unpackWeights(layers: Layer[], weights: unknown, index: WeightsIndex | undefined, op: string): void {
  const buf = toArrayBuffer(op, weights);
  const params = layers.flatMap((l) => l.params.map((p, i) => ({ l, p, name: l.paramNames[i] })));
  const want = params.reduce((s, e) => s + e.p.bytes, 0);
  if (buf.byteLength !== want) {
    throw new ShapeError(`${op}: the weights hold ${buf.byteLength} bytes but the model's ${params.length} parameters need ${want}${buf.byteLength < want ? ' (truncated file?)' : ''}`);
  }
  let offset = 0;
  params.forEach(({ l, p, name }, i) => {
    const e = index?.[i];
    if (index && (!e || e.layer !== l.name || e.name !== name || e.offset !== offset || e.shape.join() !== p.shape.join())) {
      throw new ShapeError(`${op}: weight ${i} should be ${l.name}/${name} ${fmtShape(p.shape)} at byte ${offset}, the file says ${e ? `${e.layer}/${e.name} ${fmtShape(e.shape)} at byte ${e.offset}` : 'nothing'}`);
    }
    offset += p.bytes;
  });
  offset = 0;
  for (const { p } of params) {
    p.view().set(new Float32Array(buf, offset, p.size));
    p.version++;
    offset += p.bytes;
  }
}

function toArrayBuffer(op: string, weights: unknown): ArrayBuffer {
  if (weights instanceof ArrayBuffer) return weights;
  if (ArrayBuffer.isView(weights)) {
    const v = weights as ArrayBufferView;
    return v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength) as ArrayBuffer;
  }
  throw new FormatError(`${op}: weights must be an ArrayBuffer or a typed array, got ${weights === null ? 'null' : typeof weights}`);
}

// ---- loading ----

const MAX_LAYERS = 100_000;
const MAX_DEPTH = 8;
const MAX_BYTES = 2 ** 31;
const FORBIDDEN = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * Rebuild a model saved by `save()` (simdcnn-model v2, or the older simdcnn-sequential v1). Given a
 * source instead (a folder path or file:// URL, an http(s) URL of model.json, 'indexeddb://name'),
 * it reads model.json and weights.bin first and resolves to the model.
 */
export function loadModel(saved: SavedModel | { topology: unknown; weights: unknown }, options?: { seed?: number }): Model;
export function loadModel(source: string | URL, options?: { seed?: number }): Promise<Model>;
export function loadModel(saved: unknown, options: { seed?: number } = {}): Model | Promise<Model> {
  if (typeof saved === 'string' || (typeof URL !== 'undefined' && saved instanceof URL)) {
    return readArtifacts(saved).then(({ modelJson, weights }) => loadSaved({ topology: modelJson, weights }, options));
  }
  return loadSaved(saved, options);
}

function loadSaved(saved: unknown, options: { seed?: number }): Model {
  const op = 'loadModel';
  const s = plain(op, 'the saved model', saved);
  const t = plain(op, 'topology', s.topology);
  if (t.format === 'simdcnn-sequential' && t.version === 1) return loadSequentialV1(t, s.weights, options);
  if (t.format !== 'simdcnn-model' || t.version !== 2) {
    throw new FormatError(`${op}: not a saved simdcnn model (format ${JSON.stringify(t.format)?.slice(0, 40)}, version ${JSON.stringify(t.version)?.slice(0, 20)}; expected 'simdcnn-model' 2)`);
  }
  checkJson(op, 'topology', t, 0);
  const name = t.name === undefined ? undefined : str(op, 'topology.name', t.name);
  const inputs = arr(op, 'topology.inputs', t.inputs, 64).map((e, i) => {
    const o = plain(op, `topology.inputs[${i}]`, e);
    return { name: str(op, `topology.inputs[${i}].name`, o.name), shape: checkExampleShape(`${op}: topology.inputs[${i}].shape`, o.shape) };
  });
  const layerEntries = arr(op, 'topology.layers', t.layers, MAX_LAYERS).map((e, i) => {
    const o = plain(op, `topology.layers[${i}]`, e);
    if (!isLayerType(o.type)) throw new FormatError(`${op}: topology.layers[${i}].type ${JSON.stringify(o.type)?.slice(0, 40)} is not a layer type`);
    const config = plain(op, `topology.layers[${i}].config`, o.config);
    if ('name' in config) throw new FormatError(`${op}: topology.layers[${i}].config must not hold a name (it is the entry's)`);
    if (o.trainable !== undefined && typeof o.trainable !== 'boolean') throw new FormatError(`${op}: topology.layers[${i}].trainable must be true or false`);
    return { type: o.type, name: str(op, `topology.layers[${i}].name`, o.name), config, trainable: o.trainable !== false };
  });
  const nodes = arr(op, 'topology.nodes', t.nodes, MAX_LAYERS).map((e, i) => {
    const o = plain(op, `topology.nodes[${i}]`, e);
    return { layer: str(op, `topology.nodes[${i}].layer`, o.layer), inputs: arr(op, `topology.nodes[${i}].inputs`, o.inputs, 1024).map((r, j) => ref(op, `topology.nodes[${i}].inputs[${j}]`, r)) };
  });
  const outputs = arr(op, 'topology.outputs', t.outputs, 64).map((r, j) => ref(op, `topology.outputs[${j}]`, r));
  const index = weightsIndex(op, t.weights);

  // Layers (their factories validate every option; nothing is allocated yet).
  const byName = new Map<string, Layer>();
  const names = new Set(inputs.map((x) => x.name));
  for (const e of layerEntries) {
    if (names.has(e.name)) throw new FormatError(`${op}: the name '${e.name}' is used twice`);
    names.add(e.name);
    const l = layerFromConfig(e.type, e.config, e.name);
    l.trainable = e.trainable;
    byName.set(e.name, l);
  }
  // The graph, symbolically (shapes are inferred and checked; still nothing allocated).
  const values = new Map<string, SymbolicTensor[]>();
  const ins = inputs.map((x) => input({ shape: x.shape, name: x.name }));
  inputs.forEach((x, i) => values.set(x.name, [ins[i]]));
  const resolve = (r: ValueRef, where: string): SymbolicTensor => {
    const v = values.get(r[0])?.[r[1]];
    if (!v) throw new FormatError(`${op}: ${where} refers to ${JSON.stringify(r)}, which is not defined before it`);
    return v;
  };
  nodes.forEach((n, i) => {
    const l = byName.get(n.layer);
    if (!l) throw new FormatError(`${op}: topology.nodes[${i}] applies an unknown layer '${n.layer}'`);
    const y = l.apply(n.inputs.length === 1 && l.arity === 1 ? resolve(n.inputs[0], `topology.nodes[${i}]`) : n.inputs.map((r, j) => resolve(r, `topology.nodes[${i}].inputs[${j}]`)));
    const list = values.get(n.layer) ?? [];
    list.push(y);
    values.set(n.layer, list);
  });
  const outs = outputs.map((r, j) => resolve(r, `topology.outputs[${j}]`));
  // The weights' size, from the declared parameters, before anything is allocated.
  let bytes = 0;
  for (const l of byName.values()) {
    if (!l.applications.length) throw new FormatError(`${op}: layer '${l.name}' is never applied`);
    for (const p of l.paramSpecs(l.applications[0].inputs.map((x) => x.shape.slice()))) bytes += p.shape.reduce((a, b) => a * b, 1) * 4;
  }
  if (bytes >= MAX_BYTES) throw new FormatError(`${op}: the model declares ${bytes} bytes of parameters (limit ${MAX_BYTES})`);
  const w = toArrayBuffer(op, s.weights);
  if (w.byteLength !== bytes) throw new ShapeError(`${op}: the weights hold ${w.byteLength} bytes but the model's parameters need ${bytes}${w.byteLength < bytes ? ' (truncated file?)' : ''}`);
  // unpackWeights fills every parameter: the build skips the random initialisation.
  for (const l of byName.values()) l.weightsFollow = true;
  const model = new Model({ inputs: ins, outputs: outs.length === 1 ? outs[0] : outs, name, seed: options.seed });
  try {
    unpackWeights(model.layers, w, index, op);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return model;
}

/** The format of the first release: a chain of layers with their configs, option names of that time. */
function loadSequentialV1(t: Record<string, unknown>, weights: unknown, options: { seed?: number }): Model {
  const op = 'loadModel';
  checkJson(op, 'topology', t, 0);
  const shape = checkExampleShape(`${op}: topology.inputShape`, t.inputShape);
  const RENAMES: Record<string, Record<string, string>> = {
    maxPool2d: { size: 'poolSize' }, avgPool2d: { size: 'poolSize' },
    conv2d: { dilations: 'dilationRate' }, conv2dTranspose: { dilations: 'dilationRate' },
    conv1d: { stride: 'strides', dilation: 'dilationRate' },
  };
  const layers = arr(op, 'topology.layers', t.layers, MAX_LAYERS).map((e, i) => {
    const o = plain(op, `topology.layers[${i}]`, e);
    if (!isLayerType(o.type)) throw new FormatError(`${op}: topology.layers[${i}].type ${JSON.stringify(o.type)?.slice(0, 40)} is not a layer type`);
    const config: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(plain(op, `topology.layers[${i}].config`, o.config))) config[RENAMES[o.type]?.[k] ?? k] = v;
    return { type: o.type, name: str(op, `topology.layers[${i}].name`, o.name), config };
  });
  const inputName = 'input_1';
  const topology: ModelTopology = {
    format: 'simdcnn-model', version: 2, name: 'sequential',
    inputs: [{ name: inputName, shape }],
    layers: layers.map((l) => ({ type: l.type, name: l.name, config: l.config })),
    nodes: layers.map((l, i) => ({ layer: l.name, inputs: [i === 0 ? [inputName, 0] : [layers[i - 1].name, 0]] })),
    outputs: layers.length ? [[layers[layers.length - 1].name, 0]] : [[inputName, 0]],
    weights: weightsIndex(op, t.weights),
  };
  return loadSaved({ topology, weights }, options);
}

function weightsIndex(op: string, v: unknown): WeightsIndex {
  return arr(op, 'topology.weights', v, 4 * MAX_LAYERS).map((e, i) => {
    const o = plain(op, `topology.weights[${i}]`, e);
    const shape = o.shape;
    if (!Array.isArray(shape) || shape.length > 8 || shape.some((d) => !Number.isInteger(d) || d < 0)) throw new FormatError(`${op}: topology.weights[${i}].shape must be non-negative integers`);
    if (!Number.isInteger(o.offset) || (o.offset as number) < 0) throw new FormatError(`${op}: topology.weights[${i}].offset must be a non-negative integer`);
    return { layer: str(op, `topology.weights[${i}].layer`, o.layer), name: str(op, `topology.weights[${i}].name`, o.name), shape: shape as number[], offset: o.offset as number };
  });
}

function plain(op: string, what: string, v: unknown): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new FormatError(`${op}: ${what} must be an object, got ${v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v}`);
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) throw new FormatError(`${op}: ${what} must be a plain object`);
  for (const k of Object.keys(v)) if (FORBIDDEN.has(k)) throw new FormatError(`${op}: ${what} has the forbidden key '${k}'`);
  return v as Record<string, unknown>;
}

function arr(op: string, what: string, v: unknown, max: number): unknown[] {
  if (!Array.isArray(v)) throw new FormatError(`${op}: ${what} must be an array, got ${v === null ? 'null' : typeof v}`);
  if (v.length > max) throw new FormatError(`${op}: ${what} has ${v.length} entries (limit ${max})`);
  return v;
}

function str(op: string, what: string, v: unknown): string {
  if (typeof v !== 'string' || !/^[A-Za-z0-9_.\-/]{1,128}$/.test(v)) throw new FormatError(`${op}: ${what} must be a name of 1–128 letters, digits, '_', '.', '-' or '/', got ${JSON.stringify(v)?.slice(0, 40)}`);
  return v;
}

function ref(op: string, what: string, v: unknown): ValueRef {
  if (!Array.isArray(v) || v.length !== 2 || !Number.isInteger(v[1]) || v[1] < 0) throw new FormatError(`${op}: ${what} must be [name, application], got ${JSON.stringify(v)?.slice(0, 40)}`);
  return [str(op, what, v[0]), v[1]];
}

/** JSON values only (no functions, no NaN tricks), bounded nesting, no prototype keys. */
function checkJson(op: string, path: string, v: unknown, depth: number): void {
  if (depth > MAX_DEPTH + 4) throw new FormatError(`${op}: ${path} is nested too deeply`);
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new FormatError(`${op}: ${path} is not a finite number`);
    return;
  }
  if (Array.isArray(v)) {
    if (v.length > 4 * MAX_LAYERS) throw new FormatError(`${op}: ${path} has too many entries`);
    v.forEach((e, i) => checkJson(op, `${path}[${i}]`, e, depth + 1));
    return;
  }
  if (typeof v === 'object') {
    plain(op, path, v);
    for (const [k, e] of Object.entries(v as object)) checkJson(op, `${path}.${k}`, e, depth + 1);
    return;
  }
  throw new ArgumentError(`${op}: ${path} holds a ${typeof v}, which JSON cannot`);
}
