import { ArgumentError, ShapeError } from '../errors.js';

// Every output-size rule lives here, once; ops and layers both call these.

export type Pair = [number, number];
/** [[top, bottom], [left, right]] */
export type Pads = [Pair, Pair];
export type Padding = 'valid' | 'same' | 'full' | number | readonly [readonly [number, number], readonly [number, number]];

/** A number or [h, w] of integers ≥ min, as a pair. */
export function pair(op: string, name: string, v: number | readonly number[] | undefined, fallback: number, min = 1): Pair {
  const p: readonly unknown[] = v === undefined ? [fallback, fallback] : typeof v === 'number' ? [v, v] : v;
  if (!Array.isArray(p) || p.length !== 2 || !p.every((e) => Number.isInteger(e) && (e as number) >= min)) {
    throw new ArgumentError(`${op}: ${name} must be an integer ≥ ${min} or a pair of them, got ${JSON.stringify(v)}`);
  }
  return [p[0] as number, p[1] as number];
}

/** One integer ≥ min (1-D ops). */
export function single(op: string, name: string, v: number | undefined, fallback: number, min = 1): number {
  const s = v === undefined ? fallback : v;
  if (!Number.isInteger(s) || s < min) throw new ArgumentError(`${op}: ${name} must be an integer ≥ ${min}, got ${JSON.stringify(v)}`);
  return s;
}

/** Explicit padding given as a number or [[top, bottom], [left, right]]. */
function explicitPads(op: string, padding: unknown): Pads | null {
  if (typeof padding === 'number') {
    if (!Number.isInteger(padding) || padding < 0) throw new ArgumentError(`${op}: padding must be a non-negative integer, got ${padding}`);
    return [[padding, padding], [padding, padding]];
  }
  if (Array.isArray(padding)) {
    const ok = padding.length === 2 && padding.every((p) => Array.isArray(p) && p.length === 2 && p.every((e) => Number.isInteger(e) && e >= 0));
    if (!ok) throw new ArgumentError(`${op}: explicit padding must be [[top, bottom], [left, right]] of non-negative integers, got ${JSON.stringify(padding)}`);
    return [[padding[0][0], padding[0][1]], [padding[1][0], padding[1][1]]];
  }
  return null;
}

/** TensorFlow's 'same': output ceil(in/stride); the odd pad goes after (bottom/right). */
function samePads(size: number, k: number, s: number, d: number): Pair {
  const out = Math.ceil(size / s);
  const total = Math.max((out - 1) * s + (k - 1) * d + 1 - size, 0);
  const before = Math.floor(total / 2);
  return [before, total - before];
}

/** Pads of a convolution (or pooling window: d = 1) for any padding mode. */
export function convPads(op: string, padding: Padding | undefined, inHW: Pair, k: Pair, s: Pair, d: Pair): Pads {
  const p = padding ?? 'valid';
  if (p === 'valid') return [[0, 0], [0, 0]];
  if (p === 'same') return [samePads(inHW[0], k[0], s[0], d[0]), samePads(inHW[1], k[1], s[1], d[1])];
  if (p === 'full') return [[(k[0] - 1) * d[0], (k[0] - 1) * d[0]], [(k[1] - 1) * d[1], (k[1] - 1) * d[1]]];
  const e = explicitPads(op, p);
  if (e) return e;
  throw new ArgumentError(`${op}: padding must be 'valid', 'same', 'full', a number or [[top, bottom], [left, right]], got ${JSON.stringify(p)}`);
}

/** floor((in + pads − d·(k−1) − 1) / s) + 1, or a ShapeError if that is below 1. */
export function convOutSize(op: string, axis: string, size: number, k: number, s: number, d: number, pads: Pair): number {
  const span = d * (k - 1) + 1;
  const padded = size + pads[0] + pads[1];
  if (span > padded) {
    throw new ShapeError(`${op}: kernel ${axis} extent ${span} (size ${k}, dilation ${d}) is larger than the padded input ${axis} ${padded} (input ${size} + padding ${pads[0]}+${pads[1]})`);
  }
  return Math.floor((padded - span) / s) + 1;
}

/** Transposed convolution pads and effective output padding (PyTorch's size rule; 'same' = in·s). */
export function convTransposePads(op: string, padding: Padding | undefined, inHW: Pair, k: Pair, s: Pair, d: Pair, outputPadding: Pair): { pads: Pads; outPad: Pair } {
  const p = padding ?? 'valid';
  if (p === 'same') {
    if (outputPadding[0] || outputPadding[1]) throw new ArgumentError(`${op}: outputPadding cannot be combined with padding 'same' (the output is input × strides)`);
    const axis = (i: 0 | 1): { pad: Pair; out: number } => {
      const total = d[i] * (k[i] - 1) + 1 - s[i];
      if (total >= 0) return { pad: [Math.floor(total / 2), total - Math.floor(total / 2)], out: 0 };
      return { pad: [0, 0], out: -total };
    };
    const h = axis(0), w = axis(1);
    return { pads: [h.pad, w.pad], outPad: [h.out, w.out] };
  }
  if (p === 'full') throw new ArgumentError(`${op}: padding 'full' has no meaning for a transposed convolution; use 'valid', 'same', a number or pairs`);
  const e: Pads | null = p === 'valid' ? [[0, 0], [0, 0]] : explicitPads(op, p);
  if (!e) throw new ArgumentError(`${op}: padding must be 'valid', 'same', a number or [[top, bottom], [left, right]], got ${JSON.stringify(p)}`);
  for (const i of [0, 1] as const) {
    if (outputPadding[i] >= Math.max(s[i], d[i])) {
      throw new ArgumentError(`${op}: outputPadding ${outputPadding[i]} must be smaller than the stride ${s[i]} or the dilation ${d[i]}`);
    }
  }
  return { pads: e, outPad: outputPadding };
}

/** (in−1)·s − padBefore − padAfter + d·(k−1) + 1 + outputPadding, or a ShapeError below 1. */
export function convTransposeOutSize(op: string, axis: string, size: number, k: number, s: number, d: number, pads: Pair, outPad: number): number {
  const out = (size - 1) * s - pads[0] - pads[1] + d * (k - 1) + 1 + outPad;
  if (out < 1) throw new ShapeError(`${op}: output ${axis} would be ${out} (input ${size}, kernel ${k}, stride ${s}, dilation ${d}, padding ${pads[0]}+${pads[1]}, outputPadding ${outPad})`);
  return out;
}

/**
 * Pooling window output size (PyTorch's rule): floor or ceil((in + pads − k) / s) + 1, and in ceil
 * mode the last window is dropped if it would start in the bottom/right padding.
 */
export function poolOutSize(op: string, axis: string, size: number, k: number, s: number, pads: Pair, ceilMode: boolean): number {
  const padded = size + pads[0] + pads[1];
  if (k > padded) throw new ShapeError(`${op}: window ${axis} ${k} is larger than the padded input ${axis} ${padded} (input ${size} + padding ${pads[0]}+${pads[1]})`);
  let out = (ceilMode ? Math.ceil((padded - k) / s) : Math.floor((padded - k) / s)) + 1;
  if (ceilMode && (out - 1) * s >= size + pads[0]) out--;
  return out;
}

/** Pooling pads; each pad must be below the window so no window lies wholly in the padding. */
export function poolPads(op: string, padding: Padding | undefined, inHW: Pair, k: Pair, s: Pair): Pads {
  if (padding === 'full') throw new ArgumentError(`${op}: padding 'full' is not a pooling mode; use 'valid', 'same', a number or pairs`);
  const pads = convPads(op, padding ?? 0, inHW, k, s, [1, 1]);
  for (const i of [0, 1] as const) {
    for (const p of pads[i]) {
      if (p >= k[i]) throw new ArgumentError(`${op}: padding ${p} must be smaller than the window ${i ? 'width' : 'height'} ${k[i]} (a window would cover only padding)`);
    }
  }
  return pads;
}

/** PyTorch's adaptive bins: start = floor(i·in/out), end = ceil((i+1)·in/out). */
export function adaptiveBin(i: number, size: number, out: number): Pair {
  return [Math.floor((i * size) / out), Math.ceil(((i + 1) * size) / out)];
}

/** The highest rank the broadcasting, concat and split ops take. */
export const MAX_RANK = 6;

/**
 * NumPy broadcasting: shapes aligned from the right, a size-1 axis stretches to the other's size.
 * A ShapeError names the op, both shapes and the first axis (from the right) that does not fit.
 */
export function broadcastShape(op: string, a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  if (rank > MAX_RANK) throw new ShapeError(`${op}: rank ${rank} is above the supported ${MAX_RANK} (a ${fmt(a)}, b ${fmt(b)})`);
  const out = new Array<number>(rank);
  for (let i = 1; i <= rank; i++) {
    const da = i <= a.length ? a[a.length - i] : 1;
    const db = i <= b.length ? b[b.length - i] : 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new ShapeError(`${op}: shapes ${fmt(a)} and ${fmt(b)} do not broadcast (axis -${i}: ${da} vs ${db})`);
    }
    out[rank - i] = da === 1 ? db : da;
  }
  return out;
}

function fmt(shape: readonly number[]): string {
  return `[${shape.join(',')}]`;
}
