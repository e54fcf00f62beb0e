import { FormatError, SimdcnnError, fmtShape } from '../../errors.js';
import type { Layer } from '../../layers/layer.js';
import { Model, model } from '../../model/model.js';
import { input, type SymbolicTensor } from '../../model/symbolic.js';
import { OP, fail, get, readModelJson } from './json.js';
import { convertLayer, type Converted } from './layers.js';
import { readTopology, type NodeRef, type Topology, type TopologyLayer } from './topology.js';
import { readWeights, type WeightEntry } from './weights.js';

// loadLayersModel: parse → topology → symbolic graph (shapes checked, nothing allocated) →
// weights decoded and matched to every parameter by layer name and Keras's order, shapes
// compared → only then the model allocates its weights and receives the values. A failure
// before the model exists has allocated nothing; one after it disposes the model.

/**
 * Load a model in the TensorFlow.js layers format (what `tensorflowjs_converter` writes for a Keras
 * model, and tfjs's `model.save`): `modelJson` is model.json's object or text, `weights` the
 * shards' bytes concatenated in manifest order, or an array with one buffer per path.
 */
export async function loadLayersModel(modelJson: unknown, weights: unknown): Promise<Model> {
  const root = readModelJson(modelJson);
  const topology = readTopology(root);
  const entries = readWeights(get(root, 'weightsManifest'), weights);
  const find = weightFinder(entries);
  const graph = buildGraph(topology, (layer, weight) => find(layer, weight)?.shape);
  const assignments = matchWeights(graph.converted, entries, find);
  for (const [layer] of assignments) layer.weightsFollow = true;
  const m = model({ inputs: graph.inputs.length === 1 ? graph.inputs[0] : graph.inputs, outputs: graph.outputs.length === 1 ? graph.outputs[0] : graph.outputs, name: topology.name || undefined });
  try {
    for (const [layer, values] of assignments) layer.setWeights(values);
  } catch (e) {
    m.dispose();
    throw e;
  }
  // A multi-output model answers predict with an array, as `model({ outputs: [...] })` does.
  return m as Model;
}

interface Built { layer: TopologyLayer; converted: Converted; inputShapes: number[][] }

/** Apply every layer at every inbound node, in dependency order (a worklist: each node runs once all it reads exists). */
function buildGraph(t: Topology, hint: (layer: string, weight: string) => number[] | undefined): { inputs: SymbolicTensor[]; outputs: SymbolicTensor[]; converted: Built[] } {
  const produced = new Map<string, SymbolicTensor[]>();
  for (const spec of t.inputs.values()) produced.set(spec.name, [input({ shape: spec.shape, name: spec.name })]);
  const byName = new Map(t.layers.map((l) => [l.name, l]));
  const resolve = (r: NodeRef): SymbolicTensor | null => {
    if (!produced.has(r.layer) && !byName.has(r.layer)) fail(r.path, `names the layer '${r.layer}', which the model does not have`);
    if (r.tensor !== 0) fail(r.path, `tensor index ${r.tensor}: every supported layer has one output`);
    return produced.get(r.layer)?.[r.node] ?? null;
  };
  // Nodes waiting on a (layer, node) output, woken when it appears. A layer's call j also waits
  // for its call j − 1, so its outputs are numbered as Keras numbers them.
  const waiting = new Map<string, Array<[TopologyLayer, number]>>();
  const missing = new Map<string, number>();
  const ready: Array<[TopologyLayer, number]> = [];
  const key = (layer: string, node: number) => `${node}\u0000${layer}`;
  const wait = (k: string, l: TopologyLayer, j: number) => (waiting.get(k) ?? waiting.set(k, []).get(k)!).push([l, j]);
  for (const l of t.layers) {
    l.inbound.forEach((refs, j) => {
      let n = 0;
      for (const r of refs) {
        if (!resolve(r)) { n++; wait(key(r.layer, r.node), l, j); }
      }
      if (j > 0) { n++; wait(key(l.name, j - 1), l, j); }
      missing.set(key(l.name, j), n);
      if (!n) ready.push([l, j]);
    });
  }
  const layers = new Map<string, Built>();
  let done = 0;
  for (let next = 0; next < ready.length; next++) {
    const [l, j] = ready[next];
    const xs = l.inbound[j].map((r) => resolve(r)!);
    const shapes = xs.map((x) => x.shape.slice());
    let built = layers.get(l.name);
    if (!built) {
      built = { layer: l, converted: convertLayer(l, shapes, (w) => hint(l.name, w)), inputShapes: shapes };
      built.converted.layer.name = l.name;
      layers.set(l.name, built);
    }
    let y: SymbolicTensor;
    try {
      y = built.converted.layer.apply(xs.length === 1 ? xs[0] : xs);
    } catch (e) {
      if (e instanceof SimdcnnError && !e.message.startsWith(OP)) e.message = `${OP}: layer '${l.name}' (${l.className}): ${e.message}`;
      throw e;
    }
    (produced.get(l.name) ?? produced.set(l.name, []).get(l.name)!).push(y);
    done++;
    for (const [wl, wj] of waiting.get(key(l.name, j)) ?? []) {
      const k = key(wl.name, wj);
      const left = missing.get(k)! - 1;
      missing.set(k, left);
      if (!left) ready.push([wl, wj]);
    }
  }
  const total = t.layers.reduce((s, l) => s + l.inbound.length, 0);
  if (done !== total) {
    const stuck = t.layers.find((l) => (produced.get(l.name)?.length ?? 0) < l.inbound.length)!;
    fail(stuck.path, `layer '${stuck.name}' reads a tensor that is never computed (a missing or cyclic reference)`);
  }
  for (const l of t.layers) if (!l.inbound.length) fail(`${l.path}.inbound_nodes`, `layer '${l.name}' is never called`);
  const refs = (list: NodeRef[], what: string) => list.map((r) => {
    const s = resolve(r);
    if (!s) fail(r.path, `the model ${what} '${r.layer}' node ${r.node}, which does not exist`);
    return s;
  });
  const inputs = refs(t.inputRefs, 'input');
  for (const [i, r] of t.inputRefs.entries()) if (!t.inputs.has(r.layer)) fail(r.path, `model input ${i} must be an InputLayer, got '${r.layer}'`);
  return { inputs, outputs: refs(t.outputRefs, 'output'), converted: [...layers.values()] };
}

/** The manifest entry for a layer's weight: `<layer>/<weight>`, or Keras's scoped `<model>/<layer>/<weight>` (`:0` suffixes dropped). */
function weightFinder(entries: WeightEntry[]): (layer: string, weight: string) => WeightEntry | undefined {
  const plain = (e: WeightEntry) => e.name.replace(/:0$/, '');
  const byName = new Map(entries.map((e) => [plain(e), e]));
  return (layer, weight) => {
    const exact = byName.get(`${layer}/${weight}`);
    if (exact) return exact;
    const suffix = `/${layer}/${weight}`;
    const found = entries.filter((e) => plain(e).endsWith(suffix));
    if (found.length > 1) throw new FormatError(`${OP}: weightsManifest: ${found.map((e) => `'${e.name}'`).join(' and ')} both match layer '${layer}' weight ${weight}`);
    return found[0];
  };
}

/** Each layer's parameter values in its order, every shape checked; every manifest entry must be used. */
function matchWeights(built: Built[], entries: WeightEntry[], find: (layer: string, weight: string) => WeightEntry | undefined): Array<[Layer, Float32Array[]]> {
  const used = new Set<WeightEntry>();
  const out: Array<[Layer, Float32Array[]]> = [];
  for (const b of built) {
    const layer = b.converted.layer;
    const specs = layer.paramSpecs(b.inputShapes).map((p) => p.shape);
    const slots = b.converted.weights(specs);
    const values = slots.map((slot) => {
      const e = find(b.layer.name, slot.keras);
      if (!e) throw new FormatError(`${OP}: weightsManifest: no weight '${b.layer.name}/${slot.keras}' for layer '${b.layer.name}' (${b.layer.className}), which needs ${fmtShape(slot.shape)}`);
      if (used.has(e)) throw new FormatError(`${OP}: ${e.path}: weight '${e.name}' is claimed twice`);
      used.add(e);
      if (e.shape.join() !== slot.shape.join()) {
        throw new FormatError(`${OP}: ${e.path}: weight '${e.name}' has shape ${fmtShape(e.shape)} but layer '${b.layer.name}' (${b.layer.className}) needs ${fmtShape(slot.shape)}`);
      }
      return e.values;
    });
    if (values.length) out.push([layer, values]);
  }
  const extra = entries.find((e) => !used.has(e));
  if (extra) throw new FormatError(`${OP}: ${extra.path}: weight '${extra.name}' belongs to no layer of the model`);
  return out;
}
