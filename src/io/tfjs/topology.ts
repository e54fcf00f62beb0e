import { ArgumentError } from '../../errors.js';
import { OP, array, fail, get, integer, isObject, kind, object, string, type Json, type JsonObject } from './json.js';
import type { KerasLayer } from './layers.js';

// modelTopology → one list of layers with their inbound nodes, for Sequential and functional
// models alike (a Sequential is the chain case). Reads tfjs-layers' and Keras 2's nested-array
// inbound nodes ([[name, node, tensor, kwargs], ...] per call) and Keras 3's dict form
// ({ args: [keras tensors with keras_history], kwargs }), and the `model_config` wrapper.

export interface NodeRef { layer: string; node: number; tensor: number; path: string }
export interface TopologyLayer extends KerasLayer { inbound: NodeRef[][] }
export interface InputSpec { name: string; shape: number[]; path: string }
export interface Topology {
  name: string | undefined;
  layers: TopologyLayer[];
  /** InputLayers (and the input of a Sequential without one), by name. */
  inputs: Map<string, InputSpec>;
  inputRefs: NodeRef[];
  outputRefs: NodeRef[];
}

const MAX_LAYERS = 100_000;
const NAME = /^[A-Za-z0-9_.\-/]{1,128}$/;

export function readTopology(root: JsonObject): Topology {
  let t = object('modelTopology', get(root, 'modelTopology'));
  let base = 'modelTopology';
  if (get(t, 'model_config') !== undefined) { t = object('modelTopology.model_config', get(t, 'model_config')); base += '.model_config'; }
  const cls = string(`${base}.class_name`, get(t, 'class_name'));
  const cfg = get(t, 'config');
  if (cls === 'Sequential') return sequential(base, cfg);
  if (cls === 'Model' || cls === 'Functional') return functional(base, object(`${base}.config`, cfg));
  throw new ArgumentError(`${OP}: ${base}.class_name: the model class ${JSON.stringify(cls)} is not supported (Sequential, Model and Functional are)`);
}

function layerEntry(path: string, v: Json, name?: string): KerasLayer {
  const o = object(path, v);
  const className = string(`${path}.class_name`, get(o, 'class_name'));
  const config = object(`${path}.config`, get(o, 'config'));
  const n = name ?? string(`${path}.name`, get(o, 'name') ?? get(config, 'name'));
  if (!NAME.test(n)) fail(`${path}.name`, `layer names must be 1–128 letters, digits, '_', '.', '-' or '/', got ${kind(n)}`);
  return { className, name: n, config, path };
}

/** An input's shape from batch_input_shape / batch_shape: [null, H, W, C], every size fixed. */
function inputShape(k: KerasLayer, required: boolean): number[] | null {
  const key = get(k.config, 'batch_input_shape') !== undefined ? 'batch_input_shape' : get(k.config, 'batch_shape') !== undefined ? 'batch_shape' : null;
  if (!key) {
    if (required) fail(`${k.path}.config`, 'the first layer needs batch_input_shape (or batch_shape)');
    return null;
  }
  const path = `${k.path}.config.${key}`;
  const s = array(path, get(k.config, key), 7);
  if (s.length < 2) fail(path, `must be [batch, ...sizes], got ${kind(s)}`);
  return s.slice(1).map((d, i) => {
    if (d === null) throw new ArgumentError(`${OP}: layer '${k.name}' (${k.className}): ${key}[${i + 1}] is unknown (null); simdcnn models have fixed input sizes`);
    return integer(`${path}[${i + 1}]`, d, 1);
  });
}

function checkInputLayer(k: KerasLayer): void {
  const dtype = get(k.config, 'dtype');
  if (dtype !== undefined && dtype !== null && dtype !== 'float32' && typeof dtype === 'string') {
    throw new ArgumentError(`${OP}: layer '${k.name}' (InputLayer): option dtype = ${JSON.stringify(dtype)} is not supported (float32 inputs only)`);
  }
  for (const key of ['sparse', 'ragged']) {
    if (get(k.config, key) === true) throw new ArgumentError(`${OP}: layer '${k.name}' (InputLayer): option ${key} = true is not supported`);
  }
}

function sequential(base: string, cfg: Json | undefined): Topology {
  const list = Array.isArray(cfg) ? cfg : array(`${base}.config.layers`, get(object(`${base}.config`, cfg), 'layers'), MAX_LAYERS);
  const name = isObject(cfg) && typeof get(cfg, 'name') === 'string' ? (get(cfg, 'name') as string) : undefined;
  const path = Array.isArray(cfg) ? `${base}.config` : `${base}.config.layers`;
  if (list.length > MAX_LAYERS) fail(path, `has ${list.length} layers (limit ${MAX_LAYERS})`);
  let entries = list.map((v, i) => layerEntry(`${path}[${i}]`, v));
  if (!entries.length) fail(path, 'a Sequential model needs at least one layer');
  const inputs = new Map<string, InputSpec>();
  let inputName: string;
  if (entries[0].className === 'InputLayer') {
    checkInputLayer(entries[0]);
    inputName = entries[0].name;
    inputs.set(inputName, { name: inputName, shape: inputShape(entries[0], true)!, path: entries[0].path });
    entries = entries.slice(1);
  } else {
    inputName = `${entries[0].name}_input`;
    inputs.set(inputName, { name: inputName, shape: inputShape(entries[0], true)!, path: entries[0].path });
  }
  const layers: TopologyLayer[] = [];
  let prev: NodeRef = { layer: inputName, node: 0, tensor: 0, path };
  for (const e of entries) {
    if (layers.some((l) => l.name === e.name) || e.name === inputName) fail(e.path, `two layers are named '${e.name}'`);
    if (e.className === 'InputLayer') fail(e.path, 'an InputLayer may only come first in a Sequential model');
    layers.push({ ...e, inbound: [[prev]] });
    prev = { layer: e.name, node: 0, tensor: 0, path: e.path };
  }
  return { name, layers, inputs, inputRefs: [{ layer: inputName, node: 0, tensor: 0, path }], outputRefs: [prev] };
}

function functional(base: string, cfg: JsonObject): Topology {
  const path = `${base}.config.layers`;
  const list = array(path, get(cfg, 'layers'), MAX_LAYERS);
  const name = typeof get(cfg, 'name') === 'string' ? (get(cfg, 'name') as string) : undefined;
  const inputs = new Map<string, InputSpec>();
  const layers: TopologyLayer[] = [];
  const names = new Set<string>();
  list.forEach((v, i) => {
    const p = `${path}[${i}]`;
    const e = layerEntry(p, v);
    if (names.has(e.name)) fail(`${p}.name`, `two layers are named '${e.name}'`);
    names.add(e.name);
    const nodes = array(`${p}.inbound_nodes`, get(object(p, v), 'inbound_nodes') ?? [], 10_000);
    if (e.className === 'InputLayer') {
      checkInputLayer(e);
      if (nodes.length) fail(`${p}.inbound_nodes`, 'an InputLayer has no inbound nodes');
      inputs.set(e.name, { name: e.name, shape: inputShape(e, true)!, path: p });
      return;
    }
    layers.push({ ...e, inbound: nodes.map((n, j) => inboundNode(`${p}.inbound_nodes[${j}]`, n)) });
  });
  const refs = (key: string): NodeRef[] => {
    const v = get(cfg, key);
    const list = array(`${base}.config.${key}`, v, 10_000);
    // Keras 3 writes a single input or output as one [name, node, tensor] triple.
    const triples = list.length === 3 && typeof list[0] === 'string' ? [list] : list;
    return triples.map((r, i) => ref(`${base}.config.${key}[${i}]`, r));
  };
  return { name, layers, inputs, inputRefs: refs('input_layers'), outputRefs: refs('output_layers') };
}

function ref(path: string, v: Json): NodeRef {
  const a = array(path, v, 4);
  if (a.length < 3) fail(path, `must be [layer name, node index, tensor index], got ${kind(v)}`);
  return { layer: string(`${path}[0]`, a[0]), node: integer(`${path}[1]`, a[1], 0, 10_000), tensor: integer(`${path}[2]`, a[2], 0, 10_000), path };
}

/** One call of a layer: the tensors it read, in order. */
function inboundNode(path: string, v: Json): NodeRef[] {
  if (Array.isArray(v)) {
    const refs = v.map((r, i) => ref(`${path}[${i}]`, r));
    if (!refs.length) fail(path, 'a node reads at least one tensor');
    return refs;
  }
  const o = object(path, v);
  const refs: NodeRef[] = [];
  const visit = (x: Json, p: string, depth: number): void => {
    if (depth > 4) return;
    if (Array.isArray(x)) { x.forEach((y, i) => visit(y, `${p}[${i}]`, depth + 1)); return; }
    if (!isObject(x) || get(x, 'class_name') !== '__keras_tensor__') return;
    const c = object(`${p}.config`, get(x, 'config'));
    refs.push(ref(`${p}.config.keras_history`, get(c, 'keras_history') ?? null));
  };
  visit(array(`${path}.args`, get(o, 'args')), `${path}.args`, 0);
  if (!refs.length) fail(`${path}.args`, 'a node reads at least one tensor (no __keras_tensor__ found)');
  return refs;
}
