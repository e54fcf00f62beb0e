// The ONNX importer's intermediate representation: a plain, validated picture of a ModelProto,
// independent of simdcnn's layers. `decode` produces it from bytes, `encode` writes it back, and
// the passes under ./passes rewrite it (remove Identity/Dropout, fold constants, fold
// BatchNormalization into convolutions) and annotate it (static shapes, NCHW→NHWC layout).
// The mapper to simdcnn layers consumes a graph that went through every pass.
//
// Conventions:
// - Everything is in ONNX's own terms: NCHW shapes, OIHW weights, ONNX attribute names, ONNX axes.
//   Only the layout annotations (`Graph.layouts`, `Graph.nodeLayouts`) speak of simdcnn's layout.
// - Value names are unique across initializers, graph inputs and node outputs (decode checks it).
//   The empty name '' is ONNX's "optional input left out" and never names a value.
// - Nodes are in topological order (decode sorts them if the file was not).
import { ArgumentError } from '../../errors.js';

/** Element types the importer reads: ONNX's FLOAT (1), INT32 (6), INT64 (7). */
export type DType = 'float32' | 'int32' | 'int64';

/** ONNX TensorProto.DataType codes of the dtypes above. */
export const DTYPE_CODE: Readonly<Record<DType, number>> = { float32: 1, int32: 6, int64: 7 };

/**
 * A constant tensor (initializer, Constant node value, tensor attribute). `data` is row-major in
 * ONNX order: Float32Array for float32, Int32Array for int32, and a plain number[] for int64
 * (every value checked to lie within ±(2^53 − 1); int64 tensors in CNNs are shape vectors).
 * A scalar has dims [] and one element.
 */
export interface Tensor {
  name: string;
  dims: number[];
  dtype: DType;
  data: Float32Array | Int32Array | number[];
}

/** A dimension: a size, or a symbolic name (dim_param; '' when the file gave neither). */
export type Dim = number | string;

/** A graph input or output: name, element type, shape (null when the file gives no shape). */
export interface ValueInfo {
  name: string;
  dtype: DType;
  shape: Dim[] | null;
}

/** A typed attribute, as ONNX's AttributeProto types it (FLOAT, INT, STRING, TENSOR, FLOATS, INTS, STRINGS). */
export type Attribute =
  | { type: 'float'; value: number }
  | { type: 'int'; value: number }
  | { type: 'string'; value: string }
  | { type: 'tensor'; value: Tensor }
  | { type: 'floats'; value: number[] }
  | { type: 'ints'; value: number[] }
  | { type: 'strings'; value: string[] };

export interface Node {
  /** The node's name ('' allowed in ONNX; decode names unnamed nodes `<opType>_<index>`). */
  name: string;
  opType: string;
  /** '' (= 'ai.onnx') for the standard operators. */
  domain: string;
  /** Value names; '' for an optional input left out (Resize's roi, Clip's min, ...). */
  inputs: string[];
  outputs: string[];
  attributes: Map<string, Attribute>;
}

export interface OpsetImport {
  domain: string;
  version: number;
}

export interface Graph {
  name: string;
  /** Runtime inputs only: inputs that also have an initializer (old exporters list weights as inputs) are dropped. */
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  initializers: Map<string, Tensor>;
  nodes: Node[];
  /** Set by passes/shapes.ts: the static shape and dtype of every value (ONNX's NCHW shapes). */
  shapes?: Map<string, ValueShape>;
  /** Set by passes/layout.ts: how simdcnn holds each value (see ValueLayout). */
  layouts?: Map<string, ValueLayout>;
  /** Set by passes/layout.ts: per node, keyed by node name (see NodeLayout). */
  nodeLayouts?: Map<string, NodeLayout>;
}

export interface Model {
  irVersion: number;
  /** The version of the default ('' / 'ai.onnx') domain's opset. */
  opset: number;
  opsetImports: OpsetImport[];
  producerName: string;
  producerVersion: string;
  graph: Graph;
}

/**
 * A value's static shape. Only axis 0 (the batch) may be symbolic (a string), and only when it
 * descends from a graph input's symbolic batch; every other dimension is a number.
 */
export interface ValueShape {
  dtype: DType;
  shape: Dim[];
}

/**
 * How simdcnn holds a value, relative to ONNX's shape `s` of rank r:
 *
 * - `perm` (length r): simdcnn's tensor has shape `perm.map((a) => s[a])`; simdcnn axis i is ONNX
 *   axis `perm[i]`. A 4-D feature map is `[0, 2, 3, 1]` (ONNX NCHW held as NHWC); anything else
 *   (2-D activations, shape vectors, constants, the output of a Transpose) is the identity.
 *   `featureMap` is true exactly for the `[0, 2, 3, 1]` case.
 * - `flat` (only on 2-D values [N, C·H·W] made by Flatten/Reshape of a feature map): simdcnn holds
 *   axis 1 in (h, w, c) order where ONNX has (c, h, w): simdcnn feature index (h·W + w)·C + c is
 *   ONNX feature index (c·H + h)·W + w. Elementwise unary ops carry it; the first Gemm/MatMul
 *   reading it absorbs it into its weights (see NodeLayout.weightRows). Flatten of a 1×1 or 1-channel
 *   map needs no permutation and is not marked.
 */
export interface ValueLayout {
  perm: number[];
  featureMap: boolean;
  flat?: { channels: number; height: number; width: number };
}

/**
 * What the layout pass tells the mapper about a node (keys are only present where they apply):
 *
 * - `axes`: the node's axis attribute(s) re-expressed in simdcnn axes of its (first) input, sorted:
 *   Concat's axis (1 → 3 on feature maps), Softmax/LogSoftmax's normalised axes (opset < 13: every
 *   axis from `axis` on, as ONNX then flattens to 2-D; opset ≥ 13: the one axis), ReduceMean's
 *   axes, Squeeze's / Unsqueeze's axes (of the input / of the output respectively), Flatten's
 *   leading-axes count is not an axis and is not here.
 * - `reshape` (Flatten, Reshape, Squeeze, Unsqueeze):
 *   'view'        — the element order of the input in simdcnn equals the output's: a plain reshape
 *                   to the output's simdcnn shape;
 *   'flatten-hwc' — flatten simdcnn's NHWC map as is (h, w, c order); the output value carries `flat`;
 *   'to-onnx-order' — transpose the simdcnn input to ONNX's order first (NHWC → NCHW), then reshape:
 *                   an exotic reshape of a feature map (channel shuffle, or a flatten whose result
 *                   feeds something that cannot absorb the permutation, e.g. a graph output).
 * - `perm` (Transpose): the permutation to apply to simdcnn's tensors (simdcnn out axis i = simdcnn
 *   in axis perm[i]); the identity means the node is a no-op in simdcnn (NCHW→NHWC transposes).
 * - `weightRows` (Gemm, MatMul whose data input carries `flat`): a gather of length C·H·W:
 *   simdcnn input feature r reads ONNX feature `weightRows[r]`. Permute the weight matrix's input
 *   rows once at load: denseKernel[r][u] = onnxRow(weightRows[r])[u].
 * - `inputPerms` (present only when some input needs something): per input k, the layout (a perm
 *   of ONNX axes, as ValueLayout.perm) the op needs input k in. For a runtime input whose
 *   `layouts.get(name).perm` differs, insert a simdcnn transpose `transposeBetween(from, to)`
 *   (passes/layout.ts) before the op — the fallback for exotic graphs (a Conv reading the result of
 *   a channel shuffle); none of the generated or torchvision models needs one. For a constant
 *   operand (Add/Sub/Mul/Div/PRelu/Concat), pad its dims with leading 1s to the output's rank, then
 *   lay it out by that perm once at load: a bias [C,1,1] or [1,C,1,1] of a feature map becomes
 *   [1,1,1,C]. Entries of inputs that need nothing repeat their value's perm ([] for '' inputs).
 *
 * Graph outputs: a feature-map output comes out of simdcnn NHWC (simdcnn's layout, SPEC); a 2-D
 * output is as in ONNX (the pass never leaves `flat` on a graph output: that flatten materialises);
 * an output whose perm is neither (after an odd Transpose) needs a final transpose by the mapper.
 * Node names are unique (decode renames duplicates `<name>_<k>`), so nodeLayouts can key on them.
 */
export interface NodeLayout {
  axes?: number[];
  reshape?: 'view' | 'flatten-hwc' | 'to-onnx-order';
  perm?: number[];
  weightRows?: Int32Array;
  inputPerms?: number[][];
}

// ---- attribute access (typed, with defaults; ArgumentError naming the node on a wrong type) ----

function attr(node: Node, name: string, type: Attribute['type']): Attribute['value'] | undefined {
  const a = node.attributes.get(name);
  if (!a) return undefined;
  if (a.type !== type) {
    throw new ArgumentError(`onnx: node '${node.name}' (${node.opType}): attribute '${name}' is ${a.type}, expected ${type}`);
  }
  return a.value;
}

export function attrInt(node: Node, name: string, fallback: number): number;
export function attrInt(node: Node, name: string): number | undefined;
export function attrInt(node: Node, name: string, fallback?: number): number | undefined {
  return (attr(node, name, 'int') as number | undefined) ?? fallback;
}

export function attrFloat(node: Node, name: string, fallback: number): number;
export function attrFloat(node: Node, name: string): number | undefined;
export function attrFloat(node: Node, name: string, fallback?: number): number | undefined {
  return (attr(node, name, 'float') as number | undefined) ?? fallback;
}

export function attrString(node: Node, name: string, fallback: string): string;
export function attrString(node: Node, name: string): string | undefined;
export function attrString(node: Node, name: string, fallback?: string): string | undefined {
  return (attr(node, name, 'string') as string | undefined) ?? fallback;
}

export function attrInts(node: Node, name: string): number[] | undefined {
  return attr(node, name, 'ints') as number[] | undefined;
}

export function attrFloats(node: Node, name: string): number[] | undefined {
  return attr(node, name, 'floats') as number[] | undefined;
}

export function attrTensor(node: Node, name: string): Tensor | undefined {
  return attr(node, name, 'tensor') as Tensor | undefined;
}

/** Product of dims (1 for a scalar). */
export function numElements(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

/** For each value name, the nodes that read it (graph outputs are not nodes: check them apart). */
export function readers(graph: Graph): Map<string, Node[]> {
  const m = new Map<string, Node[]>();
  for (const node of graph.nodes) {
    for (const i of node.inputs) {
      if (!i) continue;
      const list = m.get(i);
      if (list) list.push(node);
      else m.set(i, [node]);
    }
  }
  return m;
}

/**
 * A source of value names not used yet in the graph: `next(base)` returns `base`, or `base_1`, ...
 * One set of used names per allocator, so a pass that makes many names stays linear.
 */
export function nameAllocator(graph: Graph): (base: string) => string {
  const used = new Set<string>(graph.initializers.keys());
  for (const i of graph.inputs) used.add(i.name);
  for (const n of graph.nodes) for (const o of n.outputs) used.add(o);
  for (const o of graph.outputs) used.add(o.name);
  return (base) => {
    let name = base;
    for (let k = 1; used.has(name); k++) name = `${base}_${k}`;
    used.add(name);
    return name;
  };
}

/** Drop initializers no node input and no graph output refers to. */
export function pruneInitializers(graph: Graph): void {
  const used = new Set<string>(graph.outputs.map((o) => o.name));
  for (const n of graph.nodes) for (const i of n.inputs) used.add(i);
  for (const name of [...graph.initializers.keys()]) if (!used.has(name)) graph.initializers.delete(name);
}

/** Drop nodes none of whose outputs is read by a later node or is a graph output (every supported op is pure). */
export function removeDeadNodes(graph: Graph): void {
  const live = new Set<string>(graph.outputs.map((o) => o.name));
  const kept: Node[] = [];
  for (let k = graph.nodes.length - 1; k >= 0; k--) {
    const node = graph.nodes[k];
    if (!node.outputs.some((o) => o && live.has(o))) continue;
    kept.push(node);
    for (const i of node.inputs) if (i) live.add(i);
  }
  graph.nodes = kept.reverse();
  pruneInitializers(graph);
}
