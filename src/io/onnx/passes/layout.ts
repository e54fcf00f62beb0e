// NCHW → NHWC layout analysis. simdcnn holds feature maps channels-last; ONNX models are NCHW. This
// pass decides, for every value, how simdcnn holds it (ValueLayout: a permutation of ONNX's axes, and
// the `flat` mark for flattened maps) and tells the mapper, per node, what the layout means for it
// (NodeLayout: axes in simdcnn terms, how to carry out reshapes, weight-row gathers for the dense
// layer after a flatten, operand layouts). Nothing is rewritten: the mapper moves weights once at
// load from these annotations, so no transpose runs per inference where the model does not need one.
// The annotations are documented in ../ir.ts (ValueLayout, NodeLayout). Needs graph.shapes (run
// inferShapes first; it is run here if missing).
import { ArgumentError } from '../../../errors.js';
import { attrInt, attrInts, type Dim, type Graph, type Model, type Node, type NodeLayout, type ValueLayout } from '../ir.js';
import { inferShapes } from './shapes.js';

/** The channels-last permutation of rank r ≥ 3: [0, 2, …, r−1, 1]. */
export function channelsLast(rank: number): number[] {
  return [0, ...Array.from({ length: rank - 2 }, (_, i) => i + 2), 1];
}

const identity = (rank: number): number[] => Array.from({ length: rank }, (_, i) => i);
const same = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((v, i) => v === b[i]);

function layoutOf(perm: number[], flat?: ValueLayout['flat']): ValueLayout {
  const r = perm.length;
  const l: ValueLayout = { perm, featureMap: r >= 3 && same(perm, channelsLast(r)) };
  if (flat) l.flat = flat;
  return l;
}

/** The simdcnn axis that holds ONNX axis `onnxAxis` of a value with this layout. */
export function toSimdcnnAxis(layout: ValueLayout, onnxAxis: number): number {
  const r = layout.perm.length;
  return layout.perm.indexOf(onnxAxis < 0 ? onnxAxis + r : onnxAxis);
}

/**
 * The simdcnn transpose (output axis i = input axis t[i]) that turns a tensor held with layout perm
 * `from` into one held with `to` (both perms of the same ONNX axes).
 */
export function transposeBetween(from: readonly number[], to: readonly number[]): number[] {
  return to.map((a) => from.indexOf(a));
}

/** The simdcnn shape of a value: ONNX's shape permuted. */
export function simdcnnShape(layout: ValueLayout, onnxShape: readonly Dim[]): Dim[] {
  return layout.perm.map((a) => onnxShape[a]);
}

/** True when holding the value with `perm` keeps ONNX's element order (only size-1 axes move). */
function memoryEqual(perm: readonly number[], shape: readonly Dim[]): boolean {
  let last = -1;
  for (const a of perm) {
    if (shape[a] === 1) continue;
    if (a < last) return false;
    last = a;
  }
  return true;
}

/**
 * The gather that moves a dense layer's input rows from ONNX's flatten order (c, h, w) to
 * simdcnn's (h, w, c): simdcnn feature r = (h·W + w)·C + c reads ONNX feature (c·H + h)·W + w.
 */
export function flattenGather(channels: number, height: number, width: number): Int32Array {
  const g = new Int32Array(channels * height * width);
  for (let h = 0; h < height; h++) for (let w = 0; w < width; w++) for (let c = 0; c < channels; c++) {
    g[(h * width + w) * channels + c] = (c * height + h) * width + w;
  }
  return g;
}

const UNARY = new Set(['Relu', 'LeakyRelu', 'Elu', 'Selu', 'Sigmoid', 'HardSigmoid', 'HardSwish', 'Tanh', 'Clip',
  'Identity', 'Dropout', 'Cast']);
const SPATIAL = new Set(['Conv', 'ConvTranspose', 'MaxPool', 'AveragePool', 'LpPool', 'GlobalAveragePool', 'GlobalMaxPool',
  'BatchNormalization', 'Resize', 'Upsample', 'Pad']);
const BINARY = new Set(['Add', 'Sub', 'Mul', 'Div', 'PRelu']);

/** A consumer that can take a `flat` value as is (see ValueLayout.flat). */
function absorbsFlat(node: Node, graph: Graph, k: number): boolean {
  if (UNARY.has(node.opType) || node.opType === 'Softmax' || node.opType === 'LogSoftmax') return k === 0;
  if (node.opType === 'Gemm') return k === 0 && attrInt(node, 'transA', 0) === 0 && graph.initializers.has(node.inputs[1]);
  if (node.opType === 'MatMul') return k === 0 && graph.initializers.get(node.inputs[1])?.dims.length === 2;
  return false;
}

/** Annotate graph.layouts and graph.nodeLayouts. */
export function analyzeLayout(model: Model): void {
  const graph = model.graph;
  const shapes = graph.shapes ?? inferShapes(model);
  const shapeOf = (name: string): Dim[] => {
    const s = shapes.get(name);
    if (!s) throw new ArgumentError(`onnx: layout: value '${name}' has no shape (run shape inference first)`);
    return s.shape;
  };
  // Flatten nodes whose result must be in ONNX's order (a reader cannot absorb the permutation).
  // One sweep finds every such flatten (materialising one never makes another value flat), so this
  // loop runs at most twice in practice; it is bounded by the number of flatten nodes regardless.
  const materialize = new Set<string>();
  for (;;) {
    const found = new Set<string>();
    run(model, shapeOf, materialize, found);
    const fresh = [...found].filter((n) => !materialize.has(n));
    if (!fresh.length) return;
    for (const n of fresh) materialize.add(n);
  }
}

/**
 * One sweep. Flatten nodes found to need materialising are added to `found` (the sweep carries on,
 * treating their readers as it would after materialisation); the caller reruns if there are any.
 */
function run(model: Model, shapeOf: (n: string) => Dim[], materialize: Set<string>, found: Set<string>): void {
  const graph = model.graph;
  const layouts = new Map<string, ValueLayout>();
  const nodeLayouts = new Map<string, NodeLayout>();
  const flatOrigin = new Map<string, string>();
  for (const t of graph.initializers.values()) layouts.set(t.name, layoutOf(identity(t.dims.length)));
  for (const i of graph.inputs) {
    const r = shapeOf(i.name).length;
    layouts.set(i.name, layoutOf(r >= 3 ? channelsLast(r) : identity(r)));
  }
  const lay = (name: string): ValueLayout => layouts.get(name)!;
  const isConst = (name: string): boolean => graph.initializers.has(name);

  for (const node of graph.nodes) {
    const nl: NodeLayout = {};
    const out = node.outputs[0];
    const outRank = shapeOf(out).length;
    const x = node.inputs[0];
    const inL = x ? lay(x) : undefined;
    const set = (l: ValueLayout, origin?: string): void => {
      for (const o of node.outputs) if (o) layouts.set(o, { ...l, perm: l.perm.slice() });
      if (origin) flatOrigin.set(out, origin);
    };
    // Readers of a flat value that cannot absorb it send the sweep back.
    for (let k = 0; k < node.inputs.length; k++) {
      const name = node.inputs[k];
      if (name && layouts.get(name)?.flat && !absorbsFlat(node, graph, k)) found.add(flatOrigin.get(name)!);
    }
    const need = (k: number, perm: number[]): void => {
      const name = node.inputs[k];
      if (!name || isConst(name) && shapeOf(name).length !== perm.length) return;
      if (same(lay(name).perm, perm) && !isConst(name)) return;
      if (isConst(name) && same(perm, identity(perm.length))) return;
      nl.inputPerms ??= node.inputs.map((n) => (n ? lay(n).perm.slice() : []));
      nl.inputPerms[k] = perm.slice();
    };

    if (SPATIAL.has(node.opType)) {
      const r = shapeOf(x).length;
      need(0, channelsLast(r));
      set(layoutOf(channelsLast(outRank)));
    } else if (UNARY.has(node.opType)) {
      set(inL!, flatOrigin.get(x));
    } else if (node.opType === 'Softmax' || node.opType === 'LogSoftmax') {
      const r = shapeOf(x).length;
      const a = attrInt(node, 'axis', model.opset >= 13 ? -1 : 1);
      const first = a < 0 ? a + r : a;
      const onnxAxes = model.opset >= 13 ? [first] : identity(r).slice(first);
      nl.axes = onnxAxes.map((v) => toSimdcnnAxis(inL!, v)).sort((p, q) => p - q);
      set(inL!, flatOrigin.get(x));
    } else if (BINARY.has(node.opType)) {
      // The output takes the layout of the full-rank runtime operand; every operand follows it.
      const runtime = node.inputs.filter((n) => n && !isConst(n) && shapeOf(n).length === outRank);
      const perm = runtime.length ? lay(runtime[0]).perm : identity(outRank);
      node.inputs.forEach((n, k) => {
        if (!n) return;
        if (isConst(n) || shapeOf(n).length < outRank) {
          if (!same(perm, identity(outRank))) {
            nl.inputPerms ??= node.inputs.map((m) => (m ? lay(m).perm.slice() : []));
            nl.inputPerms[k] = perm.slice();
          }
        } else need(k, perm);
      });
      set(layoutOf(perm.slice()));
    } else if (node.opType === 'Concat') {
      const runtime = node.inputs.filter((n) => n && !isConst(n));
      const perm = runtime.length ? lay(runtime[0]).perm : identity(outRank);
      node.inputs.forEach((n, k) => { if (n) need(k, perm); });
      const a = attrInt(node, 'axis', 0);
      nl.axes = [perm.indexOf(a < 0 ? a + outRank : a)];
      set(layoutOf(perm.slice()));
    } else if (node.opType === 'Transpose') {
      // Choose the output layout that makes the transpose free: simdcnn out axis i = simdcnn in axis i.
      const P = attrInts(node, 'perm') ?? identity(outRank).reverse();
      const inv = new Array<number>(P.length);
      P.forEach((p, j) => { inv[p] = j; });
      const q = inL!.perm.map((a) => inv[a]);
      nl.perm = identity(outRank);
      set(layoutOf(q));
    } else if (node.opType === 'Squeeze' || node.opType === 'ReduceMean') {
      const s = shapeOf(x);
      let removed: number[];
      if (node.opType === 'ReduceMean') {
        const keep = attrInt(node, 'keepdims', 1) === 1;
        const axes = model.opset >= 18 ? (node.inputs[1] ? Array.from(graph.initializers.get(node.inputs[1])?.data ?? []) : null) : attrInts(node, 'axes') ?? null;
        const onnxAxes = (axes && axes.length ? axes : identity(s.length)).map((a) => (a < 0 ? a + s.length : a));
        nl.axes = onnxAxes.map((a) => toSimdcnnAxis(inL!, a)).sort((p, q) => p - q);
        removed = keep ? [] : onnxAxes;
      } else {
        // Which size-1 axes go: from the attribute/input when given, else every size-1 axis.
        const given = model.opset >= 13 ? (node.inputs[1] ? Array.from(graph.initializers.get(node.inputs[1])?.data ?? []) : null) : attrInts(node, 'axes') ?? null;
        removed = given ? given.map((a) => (a < 0 ? a + s.length : a)) : s.flatMap((d, i) => (d === 1 ? [i] : []));
        nl.axes = removed.map((a) => toSimdcnnAxis(inL!, a)).sort((p, q) => p - q);
        nl.reshape = 'view';
      }
      const perm = inL!.perm.filter((a) => !removed.includes(a)).map((a) => a - removed.filter((r) => r < a).length);
      set(layoutOf(perm));
    } else if (node.opType === 'Unsqueeze' || node.opType === 'Flatten' || node.opType === 'Reshape') {
      const s = shapeOf(x), t = shapeOf(out);
      const candidate = outRank >= 3 ? channelsLast(outRank) : identity(outRank);
      if (node.opType === 'Unsqueeze') {
        const axes = (model.opset >= 13 ? Array.from(graph.initializers.get(node.inputs[1])?.data ?? []) : attrInts(node, 'axes') ?? [])
          .map((a) => (a < 0 ? a + outRank : a));
        nl.axes = axes.slice().sort((p, q) => p - q);
        // Old axes keep their simdcnn order; the new size-1 axes go where the candidate layout puts them.
        const oldOf = (a: number): number => a - axes.filter((n) => n < a).length;
        const kept = candidate.filter((a) => !axes.includes(a)).map(oldOf);
        const perm = same(kept, inL!.perm) ? candidate : [...inL!.perm.map((a) => identity(outRank).filter((b) => !axes.includes(b))[a]), ...axes];
        nl.axes = axes.map((a) => perm.indexOf(a)).sort((p, q) => p - q);
        nl.reshape = 'view';
        set(layoutOf(perm));
      } else if (!inL!.flat && memoryEqual(inL!.perm, s)) {
        nl.reshape = 'view';
        set(layoutOf(memoryEqual(candidate, t) ? candidate : identity(outRank)));
      } else if (inL!.featureMap && s.length === 4 && outRank === 2 && t[1] === (s[1] as number) * (s[2] as number) * (s[3] as number)
        && (t[0] === s[0]) && !materialize.has(node.name)) {
        nl.reshape = 'flatten-hwc';
        set(layoutOf([0, 1], { channels: s[1] as number, height: s[2] as number, width: s[3] as number }), node.name);
      } else {
        nl.reshape = 'to-onnx-order';
        set(layoutOf(memoryEqual(candidate, t) ? candidate : identity(outRank)));
      }
    } else if (node.opType === 'Gemm' || node.opType === 'MatMul') {
      const a = lay(x);
      if (a.flat) nl.weightRows = flattenGather(a.flat.channels, a.flat.height, a.flat.width);
      else need(0, identity(shapeOf(x).length));
      node.inputs.slice(1).forEach((n, k) => { if (n && !isConst(n)) need(k + 1, identity(shapeOf(n).length)); });
      set(layoutOf(identity(outRank)));
    } else {
      // Shape-vector ops that survived folding, Constant: held as ONNX holds them.
      set(layoutOf(identity(outRank)));
    }
    if (Object.keys(nl).length) nodeLayouts.set(node.name, nl);
  }
  for (const o of graph.outputs) {
    if (layouts.get(o.name)?.flat) found.add(flatOrigin.get(o.name)!);
  }
  graph.layouts = layouts;
  graph.nodeLayouts = nodeLayouts;
}
