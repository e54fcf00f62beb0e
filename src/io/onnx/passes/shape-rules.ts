// ONNX's size rules, shared by shape inference (./shapes.ts) and constant folding: resolved pads
// (auto_pad, ConvTranspose's output_shape), pooled sizes with ceil_mode, Reshape targets, Slice
// parameters, Resize scales/sizes, broadcasting, and the importer's error helpers.
import { ArgumentError, ShapeError, fmtShape } from '../../../errors.js';
import {
  attrFloats, attrInt, attrInts, attrString, numElements,
  type Dim, type Node, type Tensor, type ValueShape,
} from '../ir.js';

export interface ShapeContext {
  opset: number;
  shapes: Map<string, ValueShape>;
  constant(name: string): Tensor | undefined;
}

export const fmt = (s: readonly Dim[]): string => `[${s.join(',')}]`;

export function where(node: Node): string {
  return `onnx: node '${node.name}' (${node.opType})`;
}

export function unsupported(node: Node, opset: number): ArgumentError {
  const op = node.domain && node.domain !== 'ai.onnx' ? `${node.domain}.${node.opType}` : node.opType;
  return new ArgumentError(`onnx: unsupported operator '${op}' (node '${node.name}', opset ${opset})`);
}

/** Pads resolved from auto_pad / pads: [begin..., end...] per spatial axis. */
export function resolvePads(node: Node, input: readonly number[], kernel: readonly number[], strides: readonly number[], dilations: readonly number[]): number[] {
  const n = kernel.length;
  const autoPad = attrString(node, 'auto_pad', 'NOTSET');
  const pads = attrInts(node, 'pads') ?? new Array<number>(2 * n).fill(0);
  if (pads.length !== 2 * n || pads.some((p) => p < 0)) throw new ArgumentError(`${where(node)}: pads ${fmt(pads)} must be ${2 * n} non-negative numbers`);
  if (autoPad === 'NOTSET') return pads.slice();
  if (autoPad === 'VALID') return new Array<number>(2 * n).fill(0);
  if (autoPad !== 'SAME_UPPER' && autoPad !== 'SAME_LOWER') throw new ArgumentError(`${where(node)}: unknown auto_pad '${autoPad}'`);
  const out = new Array<number>(2 * n);
  for (let i = 0; i < n; i++) {
    const o = Math.ceil(input[i] / strides[i]);
    const total = Math.max(0, (o - 1) * strides[i] + dilations[i] * (kernel[i] - 1) + 1 - input[i]);
    const small = Math.floor(total / 2);
    out[i] = autoPad === 'SAME_UPPER' ? small : total - small;
    out[i + n] = total - out[i];
  }
  return out;
}

/**
 * ConvTranspose's explicit pads [begin..., end...] and output_padding, with auto_pad and output_shape
 * resolved the way ONNX Runtime does: the total padding is s·(in−1) + output_padding + (k−1)·d + 1 − out;
 * SAME_UPPER puts the smaller half first, SAME_LOWER and NOTSET-with-output_shape the larger half. An
 * output_shape larger than the natural size (negative total padding) becomes extra output padding.
 * The output size is then s·(in−1) + output_padding + (k−1)·d + 1 − begin − end.
 */
export function resolveConvTransposePads(node: Node, input: readonly number[], kernel: readonly number[], strides: readonly number[], dilations: readonly number[]): { pads: number[]; outputPadding: number[] } {
  const n = kernel.length;
  const outputPadding = attrInts(node, 'output_padding') ?? new Array<number>(n).fill(0);
  if (outputPadding.length !== n || outputPadding.some((p, i) => !(p >= 0 && p < Math.max(strides[i], dilations[i])))) {
    throw new ArgumentError(`${where(node)}: output_padding ${fmt(outputPadding)} must be ${n} numbers each below its stride or dilation`);
  }
  const autoPad = attrString(node, 'auto_pad', 'NOTSET');
  const outputShape = attrInts(node, 'output_shape');
  if (!['NOTSET', 'VALID', 'SAME_UPPER', 'SAME_LOWER'].includes(autoPad)) throw new ArgumentError(`${where(node)}: unknown auto_pad '${autoPad}'`);
  if (!outputShape && (autoPad === 'NOTSET' || autoPad === 'VALID')) {
    const pads = autoPad === 'VALID' ? new Array<number>(2 * n).fill(0) : attrInts(node, 'pads') ?? new Array<number>(2 * n).fill(0);
    if (pads.length !== 2 * n || pads.some((p) => !(p >= 0))) throw new ArgumentError(`${where(node)}: pads ${fmt(pads)} must be ${2 * n} non-negative numbers`);
    return { pads: pads.slice(), outputPadding: outputPadding.slice() };
  }
  if (outputShape && (outputShape.length < n || outputShape.slice(-n).some((d) => !(d >= 1)))) throw new ArgumentError(`${where(node)}: output_shape ${fmt(outputShape)} for ${n} spatial axes`);
  const target = outputShape ? outputShape.slice(-n) : input.map((d, i) => d * strides[i]);
  const pads = new Array<number>(2 * n).fill(0), extra = outputPadding.slice();
  for (let i = 0; i < n; i++) {
    const total = strides[i] * (input[i] - 1) + outputPadding[i] + (kernel[i] - 1) * dilations[i] + 1 - target[i];
    if (total < 0) {
      extra[i] -= total;
      continue;
    }
    const half = Math.floor(total / 2);
    pads[i] = autoPad === 'SAME_UPPER' ? half : total - half;
    pads[i + n] = total - pads[i];
  }
  return { pads, outputPadding: extra };
}

export function ints(node: Node, name: string, n: number, fallback: number): number[] {
  const v = attrInts(node, name) ?? new Array<number>(n).fill(fallback);
  if (v.length !== n || v.some((x) => !(x >= 1))) throw new ArgumentError(`${where(node)}: ${name} ${fmt(v)} must be ${n} numbers ≥ 1`);
  return v;
}

export function staticDims(node: Node, s: readonly Dim[], from: number, what: string): number[] {
  const out: number[] = [];
  for (let i = from; i < s.length; i++) {
    const d = s[i];
    if (typeof d !== 'number') throw new ArgumentError(`${where(node)}: ${what} has a symbolic dim '${d}' at axis ${i} ${fmt(s)}; only the batch may be symbolic`);
    out.push(d);
  }
  return out;
}

export function positive(node: Node, out: readonly number[], detail: string): void {
  if (out.some((d) => !(d >= 1))) throw new ShapeError(`${where(node)}: output size ${fmtShape(out)} below 1 (${detail})`);
}

/** Numpy-style broadcast of two shapes. */
export function broadcast(node: Node, a: readonly Dim[], b: readonly Dim[]): Dim[] {
  const n = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < n; i++) {
    const x = a[a.length - n + i] ?? 1, y = b[b.length - n + i] ?? 1;
    if (x === y || y === 1) out.push(x);
    else if (x === 1) out.push(y);
    else if (typeof x === 'string' && typeof y === 'number') out.push(y);
    else if (typeof y === 'string' && typeof x === 'number') out.push(x);
    else throw new ShapeError(`${where(node)}: shapes ${fmt(a)} and ${fmt(b)} do not broadcast`);
  }
  return out;
}

export function axis(node: Node, a: number, rank: number, what = 'axis'): number {
  if (!Number.isInteger(a) || a < -rank || a >= rank) throw new ArgumentError(`${where(node)}: ${what} ${a} out of range for rank ${rank}`);
  return a < 0 ? a + rank : a;
}

export function intValues(t: Tensor): number[] {
  return Array.from(t.data as ArrayLike<number>);
}

export function notStatic(node: Node, what: string): never {
  throw new ArgumentError(`${where(node)}: the ${what} depends on the symbolic batch; simdcnn needs it static`);
}

/** ONNX/PyTorch pooled size; with ceil_mode the last window must start inside the input or the begin padding. */
export function poolSize(d: number, k: number, s: number, dil: number, padBegin: number, padEnd: number, ceil: boolean): number {
  const span = d + padBegin + padEnd - dil * (k - 1) - 1;
  let out = (ceil ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
  if (ceil && (out - 1) * s >= d + padBegin) out--;
  return out;
}

export function shapeRange(node: Node, r: number): [number, number] {
  const clamp = (v: number): number => Math.min(r, Math.max(0, v < 0 ? v + r : v));
  return [clamp(attrInt(node, 'start', 0)), clamp(attrInt(node, 'end', r))];
}
export { shapeRange as shapeOpRange };

/** Reshape's output shape (0 copies the input dim unless allowzero, one -1 is inferred). */
export function reshapeShape(node: Node, input: readonly Dim[], target: readonly number[], allowZero: boolean): Dim[] {
  const out: Dim[] = target.map((t, i) => {
    if (t === 0 && !allowZero) {
      if (i >= input.length) throw new ShapeError(`${where(node)}: target ${fmt(target)} copies axis ${i} of input ${fmt(input)}`);
      return input[i];
    }
    if (t < -1) throw new ShapeError(`${where(node)}: target ${fmt(target)} has ${t}`);
    return t;
  });
  const minus = out.filter((d) => d === -1).length;
  if (minus > 1) throw new ShapeError(`${where(node)}: target ${fmt(target)} has more than one -1`);
  const symbolic = typeof input[0] === 'string' ? input[0] : null;
  const inRest = numElements(staticDims(node, input, symbolic ? 1 : 0, 'input'));
  // The symbolic batch survives if an output dim copies it; otherwise the -1 must absorb it exactly.
  const copied = symbolic !== null ? out.indexOf(symbolic) : -1;
  const known = numElements(out.filter((d): d is number => typeof d === 'number' && d !== -1));
  if (symbolic !== null) {
    if (copied >= 0) {
      if (minus) {
        if (inRest % known) throw new ShapeError(`${where(node)}: cannot reshape ${fmt(input)} to ${fmt(target)}`);
        out[out.indexOf(-1)] = inRest / known;
      } else if (known !== inRest) throw new ShapeError(`${where(node)}: cannot reshape ${fmt(input)} to ${fmt(target)}`);
      return out;
    }
    if (minus && known === inRest) {
      out[out.indexOf(-1)] = symbolic;
      return out;
    }
    return notStatic(node, `reshape of ${fmt(input)} to ${fmt(target)}`);
  }
  if (minus) {
    if (known === 0 || inRest % known) throw new ShapeError(`${where(node)}: cannot reshape ${fmt(input)} to ${fmt(target)}`);
    out[out.indexOf(-1)] = inRest / known;
  } else if (known !== inRest) throw new ShapeError(`${where(node)}: cannot reshape ${fmt(input)} (${inRest} elements) to ${fmt(target)}`);
  return out;
}

/** Slice parameters per axis, normalised and clamped (ONNX's rules). */
export function sliceParams(node: Node, ctx: ShapeContext, shape: readonly Dim[]): Array<{ axis: number; start: number; end: number; step: number }> {
  const read = (k: number): number[] | null => {
    const name = node.inputs[k];
    if (!name) return null;
    const t = ctx.constant(name);
    if (!t) throw new ArgumentError(`${where(node)}: input ${k} '${name}' must be a constant`);
    return intValues(t);
  };
  const starts = ctx.opset >= 10 ? read(1) : attrInts(node, 'starts') ?? null;
  const ends = ctx.opset >= 10 ? read(2) : attrInts(node, 'ends') ?? null;
  if (!starts || !ends || starts.length !== ends.length) throw new ArgumentError(`${where(node)}: starts and ends are required and of one length`);
  const axes = (ctx.opset >= 10 ? read(3) : attrInts(node, 'axes') ?? null) ?? starts.map((_, i) => i);
  const steps = (ctx.opset >= 10 ? read(4) : null) ?? starts.map(() => 1);
  return starts.map((s, i) => {
    const a = axis(node, axes[i], shape.length, 'axes');
    const d = shape[a];
    if (typeof d !== 'number') return notStatic(node, 'sliced axis');
    const step = steps[i];
    if (!step) throw new ArgumentError(`${where(node)}: step 0`);
    const norm = (v: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, v < 0 ? v + d : v));
    const start = step > 0 ? norm(s, 0, d) : norm(s, -1, d - 1);
    const end = step > 0 ? norm(ends[i], 0, d) : norm(ends[i], -1, d - 1);
    return { axis: a, start, end, step };
  });
}

export function sliceShape(node: Node, ctx: ShapeContext): Dim[] {
  const s = ctx.shapes.get(node.inputs[0])!.shape.slice();
  for (const p of sliceParams(node, ctx, s)) s[p.axis] = Math.max(0, Math.ceil((p.end - p.start) / p.step));
  return s;
}

export const COORDINATE_MODES = ['half_pixel', 'align_corners', 'asymmetric', 'pytorch_half_pixel'];

export function resizeShape(node: Node, ctx: ShapeContext, s: readonly Dim[]): Dim[] {
  const mode = attrString(node, 'mode', 'nearest');
  if (mode !== 'nearest' && mode !== 'linear' && mode !== 'bilinear') throw new ArgumentError(`${where(node)}: mode '${mode}' is not supported (nearest, linear are)`);
  const coord = attrString(node, 'coordinate_transformation_mode', 'half_pixel');
  if (node.opType === 'Resize' && ctx.opset >= 11 && !COORDINATE_MODES.includes(coord)) {
    throw new ArgumentError(`${where(node)}: coordinate_transformation_mode '${coord}' is not supported (${COORDINATE_MODES.join(', ')} are)`);
  }
  if (node.attributes.has('axes')) throw new ArgumentError(`${where(node)}: the axes attribute is not supported`);
  const constant = (k: number): number[] | null => {
    const name = node.inputs[k];
    if (!name) return null;
    const t = ctx.constant(name);
    if (!t) throw new ArgumentError(`${where(node)}: input ${k} '${name}' must be a constant`);
    return t.data.length ? Array.from(t.data as ArrayLike<number>) : null;
  };
  let scales: number[] | null, sizes: number[] | null = null;
  if (node.opType === 'Upsample') scales = ctx.opset >= 9 ? constant(1) : attrFloats(node, 'scales') ?? null;
  else if (ctx.opset >= 11) { scales = constant(2); sizes = constant(3); }
  else scales = constant(1);
  if (sizes) {
    if (sizes.length !== s.length) throw new ArgumentError(`${where(node)}: sizes ${fmt(sizes)} for input ${fmt(s)}`);
    return sizes.map((v, i) => (i === 0 && typeof s[0] === 'string' ? s[0] : v));
  }
  if (!scales || scales.length !== s.length) throw new ArgumentError(`${where(node)}: scales ${scales ? fmt(scales) : 'missing'} for input ${fmt(s)}`);
  const out = s.map((d, i) => {
    if (typeof d === 'string') return scales![i] === 1 ? d : notStatic(node, 'resized batch');
    return Math.floor(d * scales![i]);
  });
  positive(node, out.filter((d): d is number => typeof d === 'number'), `scales ${fmt(scales)}`);
  return out;
}
