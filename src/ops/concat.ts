import { ArgumentError, ShapeError, fmtShape } from '../errors.js';
import { rt } from '../runtime/wasm.js';
import { empty, type Tensor } from '../tensor.js';
import { expectOptions, expectTensor } from './check.js';
import { MAX_RANK } from './shape.js';

// concat and split along any axis (ranks 1..6). Both are the same strided copy: with the shape
// seen as [outer, size along the axis × inner], each input is `outer` rows of its own width,
// placed side by side in the output's rows (concat) or taken from them (split). On the channel
// axis of NHWC that is one short row per pixel; on the batch axis one row in all (one memory.copy).
// split is the gradient of concat: split(dy, sizes of the inputs along the axis, { axis }).

export interface ConcatOptions {
  /** The axis to join or cut along; negative counts from the end. Default −1 (channels, NHWC). */
  axis?: number;
}

/** The inputs joined along `axis`: every other dim must agree. One input gives a copy. */
export function concat(xs: readonly Tensor[], options?: ConcatOptions): Tensor {
  const op = 'concat';
  if (!Array.isArray(xs) || xs.length === 0) {
    throw new ArgumentError(`${op}: xs must be a non-empty array of Tensors, got ${Array.isArray(xs) ? 'an empty array' : String(xs)}`);
  }
  const ts = xs.map((x, i) => expectTensor(op, `xs[${i}]`, x));
  const o = expectOptions(op, options, ['axis']);
  const first = ts[0].shape;
  const axis = resolveAxis(op, o.axis, first);
  let total = 0;
  ts.forEach((t, i) => {
    if (t.rank !== first.length || t.shape.some((d, j) => j !== axis && d !== first[j])) {
      throw new ShapeError(`${op}: xs[${i}] ${fmtShape(t.shape)} does not fit xs[0] ${fmtShape(first)} (every dim but axis ${axis} must agree)`);
    }
    total += t.shape[axis];
  });
  const shape = first.slice();
  shape[axis] = total;
  const y = empty(shape);
  const outer = prod(first, 0, axis), inner = prod(first, axis + 1, first.length);
  const k = rt().kernels;
  let at = 0;
  for (const t of ts) {
    const cols = t.shape[axis] * inner;
    if (cols > 0 && outer > 0) k.copy_rows_f32(t.ptr, cols, y.ptr + 4 * at, total * inner, outer, cols);
    at += cols;
  }
  return y;
}

/**
 * x cut along `axis` into pieces of the given sizes (non-negative integers summing to x's size
 * along the axis), in order. Each piece is a new tensor.
 */
export function split(x: Tensor, sizes: readonly number[], options?: ConcatOptions): Tensor[] {
  const op = 'split';
  const t = expectTensor(op, 'x', x);
  const o = expectOptions(op, options, ['axis']);
  const axis = resolveAxis(op, o.axis, t.shape);
  if (!Array.isArray(sizes) || sizes.length === 0 || sizes.some((s) => typeof s !== 'number' || !Number.isInteger(s) || s < 0)) {
    throw new ArgumentError(`${op}: sizes must be a non-empty array of non-negative integers, got ${JSON.stringify(sizes)} (x ${fmtShape(t.shape)})`);
  }
  const sum = sizes.reduce((a, b) => a + b, 0);
  if (sum !== t.shape[axis]) {
    throw new ShapeError(`${op}: sizes ${JSON.stringify(sizes)} sum to ${sum}, but x ${fmtShape(t.shape)} has ${t.shape[axis]} along axis ${axis}`);
  }
  const outer = prod(t.shape, 0, axis), inner = prod(t.shape, axis + 1, t.rank);
  const out: Tensor[] = [];
  try {
    let at = 0;
    for (const size of sizes) {
      const shape = t.shape.slice();
      shape[axis] = size;
      const y = empty(shape);
      out.push(y);
      const cols = size * inner;
      if (cols > 0 && outer > 0) rt().kernels.copy_rows_f32(t.ptr + 4 * at, sum * inner, y.ptr, cols, outer, cols);
      at += cols;
    }
  } catch (e) {
    for (const y of out) y.dispose();
    throw e;
  }
  return out;
}

/** An integer axis in [−rank, rank) of a tensor of rank 1..6, as a non-negative index. @internal */
export function resolveAxis(op: string, axis: unknown, shape: readonly number[]): number {
  const rank = shape.length;
  if (rank === 0 || rank > MAX_RANK) throw new ShapeError(`${op}: rank must be 1 to ${MAX_RANK}, got ${fmtShape(shape)} (rank ${rank})`);
  const a = axis === undefined ? -1 : axis;
  if (typeof a !== 'number' || !Number.isInteger(a) || a < -rank || a >= rank) {
    throw new ArgumentError(`${op}: axis must be an integer in [${-rank}, ${rank - 1}] for shape ${fmtShape(shape)}, got ${typeof axis === 'string' ? JSON.stringify(axis) : String(axis)}`);
  }
  return a < 0 ? a + rank : a;
}

function prod(shape: readonly number[], from: number, to: number): number {
  let n = 1;
  for (let i = from; i < to; i++) n *= shape[i];
  return n;
}
