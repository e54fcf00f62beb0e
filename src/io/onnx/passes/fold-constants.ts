// Constant folding: evaluate nodes whose inputs are all known at load time — Constant, Identity,
// Shape (of a value with a static shape), Gather, Unsqueeze, Squeeze, Concat, Cast, Reshape, Slice and
// integer/float Add/Sub/Mul/Div on small constants — and replace them by initializers. This removes
// the Shape → Gather → Unsqueeze → Concat → Reshape chains PyTorch emits for `x.view(x.size(0), -1)`
// and `torch.flatten`, and the Shape → Slice → Concat chains that compute Resize sizes.
//
// The batch is special: Shape(x)[0] is tracked as "the batch of x" (static or symbolic), not as a
// number, so a Reshape target [batch, -1] folds to [0, -1] (ONNX: copy input dim 0) and the model
// stays batch-agnostic. Where such a vector feeds anything else, a static batch becomes its number;
// a symbolic one leaves the chain in place (shape inference then reports the node that needs it).
//
// Guarantees: the graph computes the same function; every remaining node input that was foldable
// is an initializer; folded nodes are removed; shapes of the graph (graph.shapes) are not set here.
import { ArgumentError, ShapeError } from '../../../errors.js';
import { nameAllocator, numElements, removeDeadNodes, attrInt, type DType, type Dim, type Model, type Node, type Tensor, type ValueShape } from '../ir.js';
import { constantValue, inferNode, inputShapes, reshapeShape, shapeOpRange, sliceParams, type ShapeContext } from './shapes.js';

/** Folding computes at most this many elements per node (shape vectors are tiny; weights are not recomputed). */
export const FOLD_LIMIT = 1 << 16;

/** "The batch size of some activation": static (a number) or symbolic (dim_param). */
interface Batch { batch: Dim }
type Elem = number | Batch;

/** A value known at load time: a whole tensor, or a small int vector some of whose elements are batch sizes. */
type Partial = { dims: number[]; dtype: DType; elems: Elem[] };
type Known = { tensor: Tensor } | Partial;

const isBatch = (e: Elem): e is Batch => typeof e !== 'number';

function elems(k: Known): Elem[] | null {
  if ('elems' in k) return k.elems;
  if (k.tensor.data.length > FOLD_LIMIT) return null;
  return Array.from(k.tensor.data as ArrayLike<number>);
}
const dimsOf = (k: Known): number[] => ('elems' in k ? k.dims : k.tensor.dims);
const dtypeOf = (k: Known): DType => ('elems' in k ? k.dtype : k.tensor.dtype);

function make(name: string, dims: number[], dtype: DType, values: Elem[]): Known {
  // Inputs whose shapes do not fit (a malformed file) leave holes: refuse instead of folding garbage.
  if (values.length !== numElements(dims) || values.some((v) => v === undefined || (typeof v === 'number' && Number.isNaN(v) && dtype !== 'float32'))) {
    throw new ShapeError(`onnx: cannot fold '${name}': its inputs' shapes do not fit (result dims [${dims.join(',')}], ${values.length} values)`);
  }
  if (values.some(isBatch)) return { dims, dtype, elems: values };
  const nums = values as number[];
  const data = dtype === 'float32' ? Float32Array.from(nums) : dtype === 'int32' ? Int32Array.from(nums) : nums.slice();
  return { tensor: { name, dims, dtype, data } };
}

/** Replace static batch markers by their numbers; null when a symbolic one remains. */
function concrete(k: Known, name: string): Tensor | null {
  if ('tensor' in k) return k.tensor;
  const out: number[] = [];
  for (const e of k.elems) {
    if (typeof e === 'number') out.push(e);
    else if (typeof e.batch === 'number') out.push(e.batch);
    else return null;
  }
  return (make(name, k.dims, k.dtype, out) as { tensor: Tensor }).tensor;
}

const strides = (dims: readonly number[]): number[] => {
  const s = new Array<number>(dims.length);
  let acc = 1;
  for (let i = dims.length - 1; i >= 0; i--) { s[i] = acc; acc *= dims[i]; }
  return s;
};

const FOLDABLE = new Set(['Constant', 'Identity', 'Shape', 'Gather', 'Unsqueeze', 'Squeeze', 'Concat', 'Cast', 'Reshape', 'Slice', 'Add', 'Sub', 'Mul', 'Div']);

/**
 * Evaluate one node on known inputs; null when it cannot be folded (an input not known, too large,
 * a batch marker where arithmetic needs a number).
 */
function evaluate(node: Node, known: Map<string, Known>, ctx: ShapeContext): Known | null {
  const out = node.outputs[0];
  const inputs = node.inputs.map((i) => (i ? known.get(i) : undefined));
  const opset = ctx.opset;
  const need = (k: number): Known | null => inputs[k] ?? null;
  const constInts = (k: number): number[] | null => {
    const v = inputs[k];
    const t = v && concrete(v, '');
    return t ? Array.from(t.data as ArrayLike<number>) : null;
  };
  switch (node.opType) {
    case 'Constant': return { tensor: constantValue(node) };
    case 'Identity': return need(0);
    case 'Shape': {
      const x = node.inputs[0];
      const v = known.get(x);
      const s: Dim[] | undefined = v ? dimsOf(v) : ctx.shapes.get(x)?.shape;
      if (!s) return null;
      const [start, end] = shapeOpRange(node, s.length);
      const values: Elem[] = [];
      for (let i = start; i < end; i++) {
        const d = s[i];
        if (i === 0 && !v) values.push({ batch: d });
        else if (typeof d === 'number') values.push(d);
        else return null;
      }
      return make(out, [values.length], 'int64', values);
    }
    case 'Unsqueeze': case 'Squeeze': case 'Reshape': {
      const x = need(0);
      if (!x) return null;
      if (node.opType !== 'Reshape' && opset >= 13 && node.inputs[1] && !constInts(1)) return null;
      if (node.opType === 'Reshape' && !constInts(1)) return null;
      // The shape rule is shape inference's; the elements do not move.
      const shapes = new Map<string, ValueShape>([[node.inputs[0], { dtype: dtypeOf(x), shape: dimsOf(x) }]]);
      const sub: ShapeContext = { opset, shapes, constant: (n) => { const k = known.get(n); return k ? concrete(k, n) ?? undefined : undefined; } };
      const dims = inferNode(node, sub)[0].shape as number[];
      return 'tensor' in x ? { tensor: { ...x.tensor, name: out, dims } } : { ...x, dims };
    }
    case 'Cast': {
      const x = need(0);
      const values = x && elems(x);
      if (!x || !values) return null;
      const to = ({ 1: 'float32', 6: 'int32', 7: 'int64' } as Record<number, DType>)[attrInt(node, 'to', 0)];
      if (!to) return null;
      if (to === 'float32' && values.some(isBatch)) return null;
      return make(out, dimsOf(x), to, values.map((e) => (isBatch(e) ? e : to === 'float32' ? Math.fround(e) : Math.trunc(e))));
    }
    case 'Gather': {
      const x = need(0), idx = constInts(1);
      const values = x && elems(x);
      if (!x || !values || !idx || !inputs[1]) return null;
      const dims = dimsOf(x);
      const a = attrInt(node, 'axis', 0);
      const axis = a < 0 ? a + dims.length : a;
      if (!(axis >= 0 && axis < dims.length)) throw new ArgumentError(`onnx: node '${node.name}' (Gather): axis ${a} out of range for [${dims.join(',')}]`);
      const outer = numElements(dims.slice(0, axis)), inner = numElements(dims.slice(axis + 1)), n = dims[axis];
      if (outer * idx.length * inner > FOLD_LIMIT) return null;
      const result: Elem[] = [];
      for (let o = 0; o < outer; o++) {
        for (const raw of idx) {
          const i = raw < 0 ? raw + n : raw;
          if (!(i >= 0 && i < n)) throw new ArgumentError(`onnx: node '${node.name}' (Gather): index ${raw} out of range for axis of size ${n}`);
          for (let k = 0; k < inner; k++) result.push(values[(o * n + i) * inner + k]);
        }
      }
      return make(out, [...dims.slice(0, axis), ...dimsOf(inputs[1]!), ...dims.slice(axis + 1)], dtypeOf(x), result);
    }
    case 'Concat': {
      const parts = node.inputs.map((_, k) => inputs[k]).filter((v, k) => node.inputs[k] !== '');
      if (parts.some((v) => !v)) return null;
      const ks = parts as Known[];
      const rank = dimsOf(ks[0]).length;
      const a = attrInt(node, 'axis', 0);
      const axis = a < 0 ? a + rank : a;
      const lists = ks.map(elems);
      if (lists.some((l) => !l) || !(axis >= 0 && axis < rank)) return null;
      const outer = numElements(dimsOf(ks[0]).slice(0, axis));
      const result: Elem[] = [];
      for (let o = 0; o < outer; o++) {
        ks.forEach((k, j) => {
          const chunk = numElements(dimsOf(k).slice(axis));
          for (let e = 0; e < chunk; e++) result.push(lists[j]![o * chunk + e]);
        });
      }
      const dims = dimsOf(ks[0]).slice();
      dims[axis] = ks.reduce((s, k) => s + dimsOf(k)[axis], 0);
      return make(out, dims, dtypeOf(ks[0]), result);
    }
    case 'Slice': {
      const x = need(0);
      const values = x && elems(x);
      if (!x || !values) return null;
      for (let k = 1; k < node.inputs.length; k++) if (node.inputs[k] && !constInts(k)) return null;
      const dims = dimsOf(x);
      const sub: ShapeContext = { opset, shapes: ctx.shapes, constant: (n) => { const k = known.get(n); return k ? concrete(k, n) ?? undefined : undefined; } };
      const params = sliceParams(node, sub, dims);
      const ranges = dims.map((d) => ({ start: 0, step: 1, count: d }));
      for (const p of params) ranges[p.axis] = { start: p.start, step: p.step, count: Math.max(0, Math.ceil((p.end - p.start) / p.step)) };
      const outDims = ranges.map((r) => r.count);
      const st = strides(dims);
      const result: Elem[] = [];
      const total = numElements(outDims);
      const idx = new Array<number>(dims.length).fill(0);
      for (let e = 0; e < total; e++) {
        let off = 0;
        for (let i = 0; i < dims.length; i++) off += (ranges[i].start + idx[i] * ranges[i].step) * st[i];
        result.push(values[off]);
        for (let i = dims.length - 1; i >= 0; i--) { if (++idx[i] < outDims[i]) break; idx[i] = 0; }
      }
      return make(out, outDims, dtypeOf(x), result);
    }
    case 'Add': case 'Sub': case 'Mul': case 'Div': {
      const a = need(0), b = need(1);
      if (!a || !b) return null;
      const ta = concrete(a, ''), tb = concrete(b, '');
      if (!ta || !tb || ta.dtype !== tb.dtype) return null;
      const da = ta.dims, db = tb.dims;
      const rank = Math.max(da.length, db.length);
      const pa = [...new Array<number>(rank - da.length).fill(1), ...da], pb = [...new Array<number>(rank - db.length).fill(1), ...db];
      const dims = pa.map((d, i) => (d === 1 ? pb[i] : d));
      if (pa.some((d, i) => d !== pb[i] && d !== 1 && pb[i] !== 1) || numElements(dims) > FOLD_LIMIT) return null;
      const sa = strides(pa).map((s, i) => (pa[i] === 1 ? 0 : s)), sb = strides(pb).map((s, i) => (pb[i] === 1 ? 0 : s));
      const int = ta.dtype !== 'float32';
      const op = node.opType;
      const result: number[] = [];
      const idx = new Array<number>(rank).fill(0);
      for (let e = 0; e < numElements(dims); e++) {
        let oa = 0, ob = 0;
        for (let i = 0; i < rank; i++) { oa += idx[i] * sa[i]; ob += idx[i] * sb[i]; }
        const x = ta.data[oa], y = tb.data[ob];
        let r = op === 'Add' ? x + y : op === 'Sub' ? x - y : op === 'Mul' ? x * y : int ? (y === 0 ? NaN : Math.trunc(x / y)) : x / y;
        if (int && !Number.isSafeInteger(r)) return null;
        if (!int) r = Math.fround(r);
        result.push(r);
        for (let i = rank - 1; i >= 0; i--) { if (++idx[i] < dims[i]) break; idx[i] = 0; }
      }
      return make(out, dims, ta.dtype, result);
    }
    default: return null;
  }
}

/** Fold constants in place; returns the number of nodes removed. */
export function foldConstants(model: Model): number {
  const graph = model.graph;
  const before = graph.nodes.length;
  const known = new Map<string, Known>();
  for (const t of graph.initializers.values()) known.set(t.name, { tensor: t });
  const shapes = inputShapes(graph);
  const ctx: ShapeContext = {
    opset: model.opset,
    shapes,
    constant: (n) => { const k = known.get(n); return k ? concrete(k, n) ?? undefined : undefined; },
  };
  const folded = new Set<Node>();
  const freshName = nameAllocator(graph);
  for (const node of graph.nodes) {
    if (!node.domain && FOLDABLE.has(node.opType) && node.outputs.length === 1 && (node.opType === 'Shape' || node.inputs.every((i) => !i || known.has(i)))) {
      const value = evaluate(node, known, ctx);
      if (value) {
        known.set(node.outputs[0], value);
        shapes.set(node.outputs[0], { dtype: dtypeOf(value), shape: dimsOf(value).slice() });
        folded.add(node);
        continue;
      }
    }
    node.inputs.forEach((name, k) => {
      const v = name ? known.get(name) : undefined;
      if (!v || 'tensor' in v) return;
      // A vector with batch markers read by a node that is not folded.
      let t: Tensor | null;
      if (node.opType === 'Reshape' && k === 1) t = reshapeTarget(v, shapes.get(node.inputs[0])?.shape, attrInt(node, 'allowzero', 0) === 1);
      else t = concrete(v, name);
      if (!t) return;
      const fresh = freshName(`${name}_folded`);
      known.set(fresh, { tensor: { ...t, name: fresh } });
      graph.initializers.set(fresh, { ...t, name: fresh });
      node.inputs[k] = fresh;
    });
    const outs = inferNode(node, ctx);
    node.outputs.forEach((o, k) => { if (o && outs[k]) shapes.set(o, outs[k]); });
  }
  // Folded nodes with a whole-tensor result go; their values become initializers where still read.
  // Folded nodes with batch markers stay while something reads them (the dead-node sweep decides).
  graph.nodes = graph.nodes.filter((n) => !(folded.has(n) && 'tensor' in known.get(n.outputs[0])!));
  const read = new Set<string>(graph.outputs.map((o) => o.name));
  for (const n of graph.nodes) for (const i of n.inputs) read.add(i);
  for (const name of read) {
    const v = known.get(name);
    if (v && 'tensor' in v && !graph.initializers.has(name)) graph.initializers.set(name, { ...v.tensor, name });
  }
  removeDeadNodes(graph);
  return before - graph.nodes.length;
}

/**
 * A Reshape target with batch markers: the marker at position 0, when it is the batch of the data
 * itself, becomes 0 ("copy input dim 0"); other static markers become numbers.
 */
function reshapeTarget(v: Partial, dataShape: Dim[] | undefined, allowZero: boolean): Tensor | null {
  const out: number[] = [];
  for (let i = 0; i < v.elems.length; i++) {
    const e = v.elems[i];
    if (typeof e === 'number') out.push(e);
    else if (i === 0 && !allowZero && dataShape && dataShape[0] === e.batch) out.push(0);
    else if (typeof e.batch === 'number') out.push(e.batch);
    else return null;
  }
  return { name: '', dims: v.dims.slice(), dtype: v.dtype, data: v.dtype === 'int32' ? Int32Array.from(out) : out };
}
