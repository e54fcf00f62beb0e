// Shape inference over the IR: the static NCHW shape and dtype of every value, for the operator set
// simdcnn imports, with ONNX's size rules (./shape-rules.ts: auto_pad, ceil_mode, output_padding,
// Resize scales/sizes, broadcasting, opset-dependent attribute-or-input forms). Only the batch (axis 0)
// may be symbolic. An operator outside the set is an ArgumentError naming it, the node and the opset;
// shapes that do not fit are ShapeErrors naming the node.
import { ArgumentError, ShapeError } from '../../../errors.js';
import {
  attrInt, attrInts, attrString, attrTensor, numElements,
  type DType, type Dim, type Graph, type Model, type Node, type Tensor, type ValueShape,
} from '../ir.js';
import {
  axis, broadcast, fmt, intValues, ints, notStatic, poolSize, positive, reshapeShape, resizeShape,
  resolveConvTransposePads, resolvePads, shapeRange, sliceShape, staticDims, unsupported, where, type ShapeContext,
} from './shape-rules.js';

export {
  broadcast, poolSize, reshapeShape, resolveConvTransposePads, resolvePads, shapeRange as shapeOpRange, sliceParams, unsupported, type ShapeContext,
} from './shape-rules.js';

/** Shapes of `node`'s outputs (in order; '' outputs get an entry too). */
export function inferNode(node: Node, ctx: ShapeContext): ValueShape[] {
  const { opset } = ctx;
  if (node.domain && node.domain !== 'ai.onnx') throw unsupported(node, opset);
  const input = (k: number): ValueShape => {
    const name = node.inputs[k];
    const s = name ? ctx.shapes.get(name) : undefined;
    if (!s) throw new ArgumentError(`${where(node)}: input ${k} ${name ? `'${name}' has no known shape` : 'is missing'}`);
    return s;
  };
  const has = (k: number): boolean => !!node.inputs[k];
  const constInput = (k: number, what: string): Tensor => {
    const t = ctx.constant(node.inputs[k]);
    if (!t) throw new ArgumentError(`${where(node)}: ${what} (input ${k} '${node.inputs[k]}') must be a constant`);
    return t;
  };
  const same = (k = 0): ValueShape[] => [{ ...input(k), shape: input(k).shape.slice() }];
  const x = (): Dim[] => input(0).shape;
  const float = (shape: Dim[]): ValueShape[] => [{ dtype: 'float32', shape }];

  switch (node.opType) {
    case 'Identity': case 'Relu': case 'LeakyRelu': case 'Elu': case 'Selu': case 'Sigmoid': case 'HardSigmoid':
    case 'HardSwish': case 'Tanh':
      return same();
    case 'Clip': case 'Softmax': case 'LogSoftmax': {
      if (node.opType !== 'Clip') axis(node, attrInt(node, 'axis', opset >= 13 ? -1 : 1), x().length);
      return same();
    }
    case 'Dropout': {
      const out = same();
      if (node.outputs.length > 1) out.push({ dtype: 'float32', shape: x().slice() });
      return out;
    }
    case 'PRelu': {
      broadcast(node, x(), input(1).shape);
      return same();
    }
    case 'Add': case 'Sub': case 'Mul': case 'Div': {
      const a = input(0), b = input(1);
      if (a.dtype !== b.dtype) throw new ArgumentError(`${where(node)}: inputs of dtypes ${a.dtype} and ${b.dtype}`);
      return [{ dtype: a.dtype, shape: broadcast(node, a.shape, b.shape) }];
    }
    case 'Constant': {
      const t = constantValue(node);
      return [{ dtype: t.dtype, shape: t.dims.slice() }];
    }
    case 'Cast': {
      const to = attrInt(node, 'to', 0);
      const dtype = ({ 1: 'float32', 6: 'int32', 7: 'int64' } as Record<number, DType>)[to];
      if (!dtype) throw new ArgumentError(`${where(node)}: Cast to ONNX type ${to} is not supported (FLOAT, INT32, INT64 are)`);
      return [{ dtype, shape: x().slice() }];
    }
    case 'Shape': {
      const r = x().length;
      const [start, end] = shapeRange(node, r);
      return [{ dtype: 'int64', shape: [Math.max(0, end - start)] }];
    }
    case 'Gather': {
      const data = x(), idx = input(1).shape;
      const a = axis(node, attrInt(node, 'axis', 0), data.length);
      return [{ dtype: input(0).dtype, shape: [...data.slice(0, a), ...idx, ...data.slice(a + 1)] }];
    }
    case 'Unsqueeze': {
      const axes = opset >= 13 ? (has(1) ? intValues(constInput(1, 'axes')) : null) : attrInts(node, 'axes') ?? null;
      if (!axes) throw new ArgumentError(`${where(node)}: axes are required`);
      const r = x().length + axes.length;
      const norm = axes.map((a) => axis(node, a, r, 'axes'));
      if (new Set(norm).size !== norm.length) throw new ArgumentError(`${where(node)}: repeated axes ${fmt(axes)}`);
      const out: Dim[] = [];
      let k = 0;
      for (let i = 0; i < r; i++) out.push(norm.includes(i) ? 1 : x()[k++]);
      return [{ dtype: input(0).dtype, shape: out }];
    }
    case 'Squeeze': {
      const s = x();
      const axes = opset >= 13 ? (has(1) ? intValues(constInput(1, 'axes')) : null) : attrInts(node, 'axes') ?? null;
      const norm = axes ? axes.map((a) => axis(node, a, s.length, 'axes')) : s.flatMap((d, i) => (d === 1 ? [i] : []));
      for (const a of norm) if (s[a] !== 1) throw new ShapeError(`${where(node)}: cannot squeeze axis ${a} of size ${s[a]} (input ${fmt(s)})`);
      return [{ dtype: input(0).dtype, shape: s.filter((_, i) => !norm.includes(i)) }];
    }
    case 'Concat': {
      const first = x();
      const a = axis(node, attrInt(node, 'axis', 0), first.length);
      const out = first.slice();
      let total = 0, symbolic: Dim | null = null;
      node.inputs.forEach((name, k) => {
        if (!name) return;
        const s = input(k).shape;
        if (s.length !== first.length) throw new ShapeError(`${where(node)}: input ${k} has rank ${s.length}, input 0 has ${first.length}`);
        s.forEach((d, i) => {
          if (i !== a && d !== first[i]) throw new ShapeError(`${where(node)}: input ${k} ${fmt(s)} differs from input 0 ${fmt(first)} off axis ${a}`);
        });
        if (typeof s[a] === 'number') total += s[a] as number;
        else symbolic = s[a];
      });
      out[a] = symbolic !== null ? (total === 0 && node.inputs.filter(Boolean).length === 1 ? symbolic : notStatic(node, 'concatenated size')) : total;
      return [{ dtype: input(0).dtype, shape: out }];
    }
    case 'Slice': return [{ dtype: input(0).dtype, shape: sliceShape(node, ctx) }];
    case 'Transpose': {
      const s = x();
      const perm = attrInts(node, 'perm') ?? s.map((_, i) => s.length - 1 - i);
      if (perm.length !== s.length || new Set(perm).size !== s.length || perm.some((p) => !(p >= 0 && p < s.length))) {
        throw new ArgumentError(`${where(node)}: perm ${fmt(perm)} is not a permutation of ${s.length} axes`);
      }
      return [{ dtype: input(0).dtype, shape: perm.map((p) => s[p]) }];
    }
    case 'Flatten': {
      const s = x();
      const a = axis(node, attrInt(node, 'axis', 1), s.length + 1);
      const inner = numElements(staticDims(node, s, Math.max(1, a), 'input'));
      const outer = numElements(staticDims(node, s.slice(0, a), 1, 'input'));
      if (a === 0) return [{ dtype: input(0).dtype, shape: [1, typeof s[0] === 'number' ? s[0] * inner : notStatic(node, 'flattened size')] }];
      return [{ dtype: input(0).dtype, shape: [typeof s[0] === 'number' ? s[0] * outer : outer === 1 ? s[0] : notStatic(node, 'flattened batch'), inner] }];
    }
    case 'Reshape': return [{ dtype: input(0).dtype, shape: reshapeShape(node, x(), intValues(constInput(1, 'shape')), attrInt(node, 'allowzero', 0) === 1) }];
    case 'Conv': {
      const s = x(), w = input(1).shape;
      const rank = s.length - 2;
      if (rank < 1 || rank > 2 || w.length !== s.length) throw new ShapeError(`${where(node)}: input ${fmt(s)} and weights ${fmt(w)} must be 3-D or 4-D (NCHW, OIHW)`);
      const [c, ...spatial] = staticDims(node, s, 1, 'input');
      const [m, cw, ...kernel] = staticDims(node, w, 0, 'weights');
      const group = attrInt(node, 'group', 1);
      if (!(group >= 1) || c !== cw * group || m % group) throw new ShapeError(`${where(node)}: input has ${c} channels, weights ${fmt(w)} with group ${group} expect ${cw * group}`);
      const ks = attrInts(node, 'kernel_shape');
      if (ks && fmt(ks) !== fmt(kernel)) throw new ShapeError(`${where(node)}: kernel_shape ${fmt(ks)} differs from weights ${fmt(w)}`);
      if (has(2) && fmt(input(2).shape) !== fmt([m])) throw new ShapeError(`${where(node)}: bias ${fmt(input(2).shape)} must be [${m}]`);
      const strides = ints(node, 'strides', rank, 1), dilations = ints(node, 'dilations', rank, 1);
      const pads = resolvePads(node, spatial, kernel, strides, dilations);
      const out = spatial.map((d, i) => Math.floor((d + pads[i] + pads[i + rank] - dilations[i] * (kernel[i] - 1) - 1) / strides[i]) + 1);
      positive(node, out, `input ${fmt(s)}, weights ${fmt(w)}, pads ${fmt(pads)}`);
      return float([s[0], m, ...out]);
    }
    case 'ConvTranspose': {
      const s = x(), w = input(1).shape;
      const rank = s.length - 2;
      if (rank < 1 || rank > 2 || w.length !== s.length) throw new ShapeError(`${where(node)}: input ${fmt(s)} and weights ${fmt(w)} must be 3-D or 4-D`);
      const [c, ...spatial] = staticDims(node, s, 1, 'input');
      const [cw, mg, ...kernel] = staticDims(node, w, 0, 'weights');
      const group = attrInt(node, 'group', 1);
      if (!(group >= 1) || c !== cw || c % group) throw new ShapeError(`${where(node)}: input has ${c} channels, weights ${fmt(w)} expect ${cw} (group ${group})`);
      const m = mg * group;
      if (has(2) && fmt(input(2).shape) !== fmt([m])) throw new ShapeError(`${where(node)}: bias ${fmt(input(2).shape)} must be [${m}]`);
      const strides = ints(node, 'strides', rank, 1), dilations = ints(node, 'dilations', rank, 1);
      const { pads, outputPadding } = resolveConvTransposePads(node, spatial, kernel, strides, dilations);
      const out = spatial.map((d, i) => strides[i] * (d - 1) + outputPadding[i] + (kernel[i] - 1) * dilations[i] + 1 - pads[i] - pads[i + rank]);
      positive(node, out, `input ${fmt(s)}, weights ${fmt(w)}`);
      return float([s[0], m, ...out]);
    }
    case 'MaxPool': case 'AveragePool': case 'LpPool': {
      const s = x();
      const [c, ...spatial] = staticDims(node, s, 1, 'input');
      const kernel = attrInts(node, 'kernel_shape');
      if (!kernel || kernel.length !== spatial.length || kernel.some((k) => !(k >= 1))) throw new ArgumentError(`${where(node)}: kernel_shape ${kernel ? fmt(kernel) : 'missing'} for input ${fmt(s)}`);
      const rank = kernel.length;
      const strides = ints(node, 'strides', rank, 1);
      const dilations = ints(node, 'dilations', rank, 1);
      const pads = resolvePads(node, spatial, kernel, strides, dilations);
      const ceil = attrInt(node, 'ceil_mode', 0) === 1;
      const out = spatial.map((d, i) => poolSize(d, kernel[i], strides[i], dilations[i], pads[i], pads[i + rank], ceil));
      positive(node, out, `input ${fmt(s)}, kernel ${fmt(kernel)}, pads ${fmt(pads)}`);
      const shape = [s[0], c, ...out];
      return node.outputs.length > 1 ? [{ dtype: 'float32', shape }, { dtype: 'int64', shape: shape.slice() }] : float(shape);
    }
    case 'GlobalAveragePool': case 'GlobalMaxPool': {
      const s = x();
      if (s.length < 3) throw new ShapeError(`${where(node)}: input ${fmt(s)} needs spatial axes`);
      return float([s[0], s[1], ...s.slice(2).map(() => 1)]);
    }
    case 'BatchNormalization': {
      const s = x();
      for (let k = 1; k <= 4; k++) {
        if (fmt(input(k).shape) !== fmt([s[1]])) throw new ShapeError(`${where(node)}: input ${k} ${fmt(input(k).shape)} must be [${s[1]}] for input ${fmt(s)}`);
      }
      return [...same(), ...node.outputs.slice(1).map(() => ({ dtype: 'float32' as DType, shape: [s[1]] }))];
    }
    case 'Gemm': {
      const a = x(), b = input(1).shape;
      if (a.length !== 2 || b.length !== 2) throw new ShapeError(`${where(node)}: A ${fmt(a)} and B ${fmt(b)} must be 2-D`);
      const [m, k] = attrInt(node, 'transA', 0) ? [a[1], a[0]] : [a[0], a[1]];
      const [kb, n] = attrInt(node, 'transB', 0) ? [b[1], b[0]] : [b[0], b[1]];
      if (k !== kb) throw new ShapeError(`${where(node)}: A ${fmt(a)} and B ${fmt(b)} do not multiply (transA ${attrInt(node, 'transA', 0)}, transB ${attrInt(node, 'transB', 0)})`);
      if (has(2)) {
        const c = broadcast(node, input(2).shape, [m, n]);
        if (fmt(c) !== fmt([m, n])) throw new ShapeError(`${where(node)}: C ${fmt(input(2).shape)} does not broadcast to [${m},${n}]`);
      }
      return float([m, n]);
    }
    case 'MatMul': {
      const a = x(), b = input(1).shape;
      if (!a.length || !b.length) throw new ShapeError(`${where(node)}: scalar operand`);
      const a2 = a.length === 1 ? [1, a[0]] : a, b2 = b.length === 1 ? [b[0], 1] : b;
      if (a2[a2.length - 1] !== b2[b2.length - 2]) throw new ShapeError(`${where(node)}: A ${fmt(a)} and B ${fmt(b)} do not multiply`);
      const batch = broadcast(node, a2.slice(0, -2), b2.slice(0, -2));
      const out = [...batch, ...(a.length === 1 ? [] : [a2[a2.length - 2]]), ...(b.length === 1 ? [] : [b2[b2.length - 1]])];
      return float(out);
    }
    case 'Pad': {
      const s = x();
      const mode = attrString(node, 'mode', 'constant');
      if (!['constant', 'reflect', 'edge'].includes(mode)) throw new ArgumentError(`${where(node)}: unknown mode '${mode}'`);
      let pads = opset >= 11 ? intValues(constInput(1, 'pads')) : attrInts(node, 'pads');
      if (!pads) throw new ArgumentError(`${where(node)}: pads are required`);
      let axes = s.map((_, i) => i);
      if (opset >= 18 && has(3)) axes = intValues(constInput(3, 'axes')).map((a) => axis(node, a, s.length, 'axes'));
      if (pads.length !== 2 * axes.length) throw new ArgumentError(`${where(node)}: ${pads.length} pads for ${axes.length} axes`);
      const full = new Array<number>(2 * s.length).fill(0);
      axes.forEach((a, i) => { full[a] = pads![i]; full[a + s.length] = pads![i + axes.length]; });
      pads = full;
      const out = s.map((d, i) => {
        if (typeof d === 'string') return pads![i] || pads![i + s.length] ? notStatic(node, 'padded batch') : d;
        return d + pads![i] + pads![i + s.length];
      });
      positive(node, out.filter((d): d is number => typeof d === 'number'), `pads ${fmt(pads)}`);
      return [{ dtype: input(0).dtype, shape: out }];
    }
    case 'Resize': case 'Upsample': return float(resizeShape(node, ctx, x()));
    case 'ReduceMean': {
      const s = x();
      const keep = attrInt(node, 'keepdims', 1) === 1;
      let axes = opset >= 18 ? (has(1) ? intValues(constInput(1, 'axes')) : null) : attrInts(node, 'axes') ?? null;
      if (!axes || !axes.length) {
        if (opset >= 18 && attrInt(node, 'noop_with_empty_axes', 0) === 1) return same();
        axes = s.map((_, i) => i);
      }
      const norm = axes.map((a) => axis(node, a, s.length, 'axes'));
      const out = keep ? s.map((d, i) => (norm.includes(i) ? 1 : d)) : s.filter((_, i) => !norm.includes(i));
      return float(out);
    }
    default:
      throw unsupported(node, opset);
  }
}

/** A Constant node's value (value, value_float(s), value_int(s)); the tensor takes the output's name. */
export function constantValue(node: Node): Tensor {
  const name = node.outputs[0];
  const t = attrTensor(node, 'value');
  if (t) return { ...t, name };
  const a = node.attributes;
  const f = a.get('value_float'), fs = a.get('value_floats'), i = a.get('value_int'), is = a.get('value_ints');
  if (f?.type === 'float') return { name, dims: [], dtype: 'float32', data: Float32Array.of(f.value) };
  if (fs?.type === 'floats') return { name, dims: [fs.value.length], dtype: 'float32', data: Float32Array.from(fs.value) };
  if (i?.type === 'int') return { name, dims: [], dtype: 'int64', data: [i.value] };
  if (is?.type === 'ints') return { name, dims: [is.value.length], dtype: 'int64', data: is.value.slice() };
  throw new ArgumentError(`${where(node)}: no supported value attribute (value, value_float(s), value_int(s))`);
}

/** The shape and dtype of each graph input (only the batch may be symbolic). */
export function inputShapes(graph: Graph): Map<string, ValueShape> {
  const shapes = new Map<string, ValueShape>();
  for (const t of graph.initializers.values()) shapes.set(t.name, { dtype: t.dtype, shape: t.dims.slice() });
  for (const i of graph.inputs) {
    if (!i.shape) throw new ArgumentError(`onnx: graph input '${i.name}' has no shape; simdcnn needs static input shapes`);
    i.shape.forEach((d, k) => {
      if (typeof d === 'string' && k > 0) {
        throw new ArgumentError(`onnx: graph input '${i.name}' ${fmt(i.shape!)} has a symbolic dim '${d || '?'}' at axis ${k}; only the batch may be symbolic`);
      }
    });
    const count = i.shape.reduce<number>((a, d) => a * (typeof d === 'number' ? d : 1), 1);
    if (count > 2 ** 31) throw new ArgumentError(`onnx: graph input '${i.name}' ${fmt(i.shape)} has more than 2^31 elements per batch item`);
    shapes.set(i.name, { dtype: i.dtype, shape: i.shape.map((d) => (d === '' ? 'N' : d)) });
  }
  return shapes;
}

/** Annotate `model.graph.shapes` with every value's shape. Constant nodes' values count as constants. */
export function inferShapes(model: Model): Map<string, ValueShape> {
  const graph = model.graph;
  const shapes = inputShapes(graph);
  const constants = new Map(graph.initializers);
  const ctx: ShapeContext = { opset: model.opset, shapes, constant: (n) => constants.get(n) };
  for (const node of graph.nodes) {
    const outs = inferNode(node, ctx);
    node.outputs.forEach((o, k) => { if (o && outs[k]) shapes.set(o, outs[k]); });
    if (node.opType === 'Constant') constants.set(node.outputs[0], constantValue(node));
  }
  graph.shapes = shapes;
  return shapes;
}
