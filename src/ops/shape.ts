import { ArgumentError, ShapeError, fmtShape } from '../errors.js';
import { expectBool } from './check.js';

// Every output-size rule lives here, once; ops and layers both call these. Per family, one
// function checks the shapes and options and resolves the whole geometry: conv2dGeometry,
// conv1dGeometry, conv2dTransposeGeometry, locallyConnected2dGeometry, pool2dGeometry. A layer
// calls the same function its op does (with the op name it wants in the error messages).

export type Pair = [number, number];
/** [[top, bottom], [left, right]] */
export type Pads = [Pair, Pair];
export type Padding = 'valid' | 'same' | 'full' | number | readonly [readonly [number, number], readonly [number, number]];

/** Two shapes are equal, axis by axis. */
export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

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

// ---- convolution family ----

/** The geometry options of conv2d (and of its gradients and layers). */
export interface Conv2dGeometryOptions {
  strides?: number | [number, number];
  padding?: Padding;
  dilations?: number | [number, number];
  groups?: number;
  /** true: mathematical convolution (kernel flipped); default cross-correlation. */
  flip?: boolean;
}

/** The geometry options of conv1d. */
export interface Conv1dGeometryOptions {
  strides?: number;
  /** 'valid' | 'same' | 'full' | number | [left, right] */
  padding?: 'valid' | 'same' | 'full' | number | [number, number];
  dilations?: number;
  groups?: number;
  flip?: boolean;
}

/** The geometry options of conv2dTranspose. */
export interface Conv2dTransposeGeometryOptions {
  strides?: number | [number, number];
  padding?: Exclude<Padding, 'full'>;
  outputPadding?: number | [number, number];
  dilations?: number | [number, number];
  groups?: number;
}

/** The geometry options of locallyConnected2d. */
export interface LocallyConnected2dGeometryOptions {
  strides?: number | [number, number];
  padding?: Padding;
}

/** The geometry of one convolution: everything the plan and the kernels need. */
export interface ConvGeometry {
  N: number; H: number; W: number; C: number;
  OH: number; OW: number; KH: number; KW: number;
  s: Pair; d: Pair; pads: Pads;
  /** Output channels (all groups), for output row offsets. */
  Cout: number;
  /** Rows are the transposed convolution's (output pixel gathers from input pixels it receives from). */
  transposed: boolean;
}

/** Check conv2d's shapes and options and resolve its geometry (shared with its gradients). */
export function conv2dGeometry(op: string, xShape: readonly number[], wShape: readonly number[], o: Conv2dGeometryOptions): { g: ConvGeometry; groups: number; flip: boolean } {
  const [N, H, W, C] = xShape;
  const [KH, KW, Cig, Cout] = wShape;
  const groups = single(op, 'groups', o.groups, 1);
  checkGroups(op, xShape, wShape, C, Cig, Cout, groups);
  const s = pair(op, 'strides', o.strides, 1);
  const d = pair(op, 'dilations', o.dilations, 1);
  const pads = convPads(op, o.padding, [H, W], [KH, KW], s, d);
  const OH = convOutSize(op, 'height', H, KH, s[0], d[0], pads[0]);
  const OW = convOutSize(op, 'width', W, KW, s[1], d[1], pads[1]);
  const flip = expectBool(op, 'flip', o.flip, false);
  return { g: { N, H, W, C, OH, OW, KH, KW, s, d, pads, Cout, transposed: false }, groups, flip };
}

/** conv1d as a one-row conv2d: x [N, L, C] is [N, 1, L, C] in memory, w [K, Cin, Cout] is [1, K, Cin, Cout]. */
export function conv1dGeometry(op: string, xShape: readonly number[], wShape: readonly number[], o: Conv1dGeometryOptions): { g: ConvGeometry; groups: number; flip: boolean } {
  const [N, L, C] = xShape;
  const [K, Cig, Cout] = wShape;
  const groups = single(op, 'groups', o.groups, 1);
  checkGroups(op, xShape, wShape, C, Cig, Cout, groups);
  const s: Pair = [1, single(op, 'strides', o.strides, 1)];
  const d: Pair = [1, single(op, 'dilations', o.dilations, 1)];
  let padding: Padding | undefined;
  const p = o.padding;
  if (Array.isArray(p)) {
    if (p.length !== 2) throw new ArgumentError(`${op}: padding pair must be [left, right], got ${JSON.stringify(p)}`);
    padding = [[0, 0], [p[0], p[1]]];
  } else if (typeof p === 'number') {
    padding = [[0, 0], [p, p]];
  } else {
    padding = p;
  }
  const pads = convPads(op, padding, [1, L], [1, K], s, d);
  pads[0] = [0, 0];
  const OL = convOutSize(op, 'length', L, K, s[1], d[1], pads[1]);
  const flip = expectBool(op, 'flip', o.flip, false);
  return { g: { N, H: 1, W: L, C, OH: 1, OW: OL, KH: 1, KW: K, s, d, pads, Cout, transposed: false }, groups, flip };
}

/** Check conv2dTranspose's shapes and options and resolve its (transposed) geometry. */
export function conv2dTransposeGeometry(op: string, xShape: readonly number[], wShape: readonly number[], o: Conv2dTransposeGeometryOptions): { g: ConvGeometry; groups: number } {
  const [N, H, W, C] = xShape;
  const [KH, KW, Cog, Cin] = wShape;
  const groups = single(op, 'groups', o.groups, 1);
  if (Cin !== C) {
    throw new ShapeError(`${op}: input has ${C} channels but weights expect ${Cin} (x ${fmtShape(xShape)}, w ${fmtShape(wShape)}: [KH, KW, Cout/groups, Cin])`);
  }
  if (C % groups !== 0) throw new ShapeError(`${op}: groups ${groups} does not divide the input channels ${C} (x ${fmtShape(xShape)})`);
  if (KH < 1 || KW < 1 || Cog < 1) throw new ShapeError(`${op}: weights must have positive sizes, got w ${fmtShape(wShape)}`);
  const s = pair(op, 'strides', o.strides, 1);
  const d = pair(op, 'dilations', o.dilations, 1);
  const outputPadding = pair(op, 'outputPadding', o.outputPadding, 0, 0);
  const { pads, outPad } = convTransposePads(op, o.padding, [H, W], [KH, KW], s, d, outputPadding);
  const OH = convTransposeOutSize(op, 'height', H, KH, s[0], d[0], pads[0], outPad[0]);
  const OW = convTransposeOutSize(op, 'width', W, KW, s[1], d[1], pads[1], outPad[1]);
  return { g: { N, H, W, C, OH, OW, KH, KW, s, d, pads, Cout: Cog * groups, transposed: true }, groups };
}

/** Check locallyConnected2d's shapes and options and resolve its geometry. */
export function locallyConnected2dGeometry(op: string, xShape: readonly number[], wShape: readonly number[], o: LocallyConnected2dGeometryOptions): ConvGeometry {
  const [N, H, W, C] = xShape;
  const [WOH, WOW, KH, KW, Cin, Cout] = wShape;
  if (Cin !== C) throw new ShapeError(`${op}: input has ${C} channels but weights expect ${Cin} (x ${fmtShape(xShape)}, w ${fmtShape(wShape)})`);
  if (KH < 1 || KW < 1 || Cout < 1) throw new ShapeError(`${op}: weights must have positive sizes, got w ${fmtShape(wShape)}`);
  const s = pair(op, 'strides', o.strides, 1);
  const d: Pair = [1, 1];
  const pads = convPads(op, o.padding, [H, W], [KH, KW], s, d);
  const OH = convOutSize(op, 'height', H, KH, s[0], 1, pads[0]);
  const OW = convOutSize(op, 'width', W, KW, s[1], 1, pads[1]);
  if (OH !== WOH || OW !== WOW) {
    throw new ShapeError(`${op}: the output is ${OH}×${OW} but weights are for ${WOH}×${WOW} (x ${fmtShape(xShape)}, w ${fmtShape(wShape)})`);
  }
  return { N, H, W, C, OH, OW, KH, KW, s, d, pads, Cout, transposed: false };
}

/** groups divides both channel counts and the weights' input channels match; weights are non-empty. */
function checkGroups(op: string, xShape: readonly number[], wShape: readonly number[], C: number, Cig: number, Cout: number, groups: number): void {
  if (C % groups !== 0) throw new ShapeError(`${op}: groups ${groups} does not divide the input channels ${C} (x ${fmtShape(xShape)})`);
  if (Cout % groups !== 0) throw new ShapeError(`${op}: groups ${groups} does not divide the output channels ${Cout} (w ${fmtShape(wShape)})`);
  if (Cig * groups !== C) {
    throw new ShapeError(`${op}: input has ${C} channels but weights expect ${Cig * groups} (w ${fmtShape(wShape)}${groups > 1 ? `, groups ${groups}` : ''})`);
  }
  if (wShape.some((v) => v < 1)) throw new ShapeError(`${op}: weights must have positive sizes, got w ${fmtShape(wShape)}`);
}

// ---- pooling family ----

/** The geometry options of a windowed 2-D pooling (maxPool2d, avgPool2d, lpPool2d, mixedPool2d). */
export interface Pool2dGeometryOptions {
  /** Window [h, w] (or one number for both); required. */
  size?: number | readonly number[];
  /** Default: the window size (Keras's and PyTorch's rule). */
  strides?: number | readonly number[];
  /** 0 (default) | 'valid' | 'same' | number | [[top, bottom], [left, right]]; each pad < window. */
  padding?: Exclude<Padding, 'full'>;
  /** Round the output size up (a window starting in the bottom/right padding is dropped). */
  ceilMode?: boolean;
}

/** A windowed pooling's geometry: window k, strides s, pads, output OH × OW. */
export interface Pool2dGeometry { k: Pair; s: Pair; pads: Pads; ceilMode: boolean; OH: number; OW: number }

/**
 * Check a pooling's window options against an [H, W] input and resolve its geometry: the window,
 * the strides (defaulting to the window), the pads (poolPads) and the output size (poolOutSize).
 * The pooling ops and the pooling layers' output shapes both come from here.
 */
export function pool2dGeometry(op: string, inHW: Pair, o: Pool2dGeometryOptions): Pool2dGeometry {
  if (o.size === undefined) throw new ArgumentError(`${op}: size is required (a window size, or [height, width])`);
  const k = pair(op, 'size', o.size, 1);
  const s = o.strides === undefined ? k : pair(op, 'strides', o.strides, 1);
  const ceilMode = expectBool(op, 'ceilMode', o.ceilMode, false);
  const pads = poolPads(op, o.padding, inHW, k, s);
  const OH = poolOutSize(op, 'height', inHW[0], k[0], s[0], pads[0], ceilMode);
  const OW = poolOutSize(op, 'width', inHW[1], k[1], s[1], pads[1], ceilMode);
  return { k, s, pads, ceilMode, OH, OW };
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
  return fmtShape(shape);
}
