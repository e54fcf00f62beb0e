import { ArgumentError, ShapeError, fmtShape } from '../errors.js';
import { poolThreads, runCalls, split, type KernelName } from './parallel.js';
import type { Call } from '../runtime/pool.js';
import { rt } from '../runtime/wasm.js';
import { empty, type Tensor } from '../tensor.js';
import { expectBool, expectNumber, expectOptions, expectTensor } from './check.js';
import { adaptiveBin, pair, pool2dGeometry, type Padding, type Pair, type Pool2dGeometryOptions } from './shape.js';

// Pooling over NHWC float32: validate → describe every window in a small table → run one kernel
// (assembly/pool.ts). The table lists, per output row and per output column, the input range
// [start, end) the window covers *inside* the input and the count the average divides by, so
// strided, padded, ceil-mode, adaptive and global pooling share the same four kernels.

/** Pooling padding: like convolution's, without 'full' (a window may never lie wholly in padding). */
export type PoolPadding = Exclude<Padding, 'full'>;

export interface MaxPool2dOptions {
  /** Window [h, w] (or one number for both). */
  size: number | [number, number];
  /** Default: the window size. */
  strides?: number | [number, number];
  /** 0 (default) | 'valid' | 'same' | number | [[top, bottom], [left, right]]; each pad < window. */
  padding?: PoolPadding;
  /** Round the output size up (PyTorch's rule: a window starting in the bottom/right padding is dropped). */
  ceilMode?: boolean;
  /** Also return int32 argmax offsets into x's NHWC data. */
  returnIndices?: boolean;
}

export interface AvgPool2dOptions {
  size: number | [number, number];
  strides?: number | [number, number];
  padding?: PoolPadding;
  /** Divide by the window clipped to the padded input (PyTorch) instead of by the valid elements. */
  countIncludePad?: boolean;
  ceilMode?: boolean;
}

export interface LpPool2dOptions {
  /** The power: a finite number > 0. */
  p: number;
  size: number | [number, number];
  strides?: number | [number, number];
}

export interface MixedPool2dOptions {
  /** Weight of the max in [0, 1]: λ·max + (1 − λ)·avg. */
  lambda: number;
  size: number | [number, number];
  strides?: number | [number, number];
  padding?: PoolPadding;
  ceilMode?: boolean;
  countIncludePad?: boolean;
}

export interface GlobalPool2dOptions {
  /** Output [N, 1, 1, C] instead of [N, C]. */
  keepDims?: boolean;
}

export interface AdaptiveAvgPool2dOptions {
  /** Output [oh, ow] (or one number for both); may exceed the input (bins then overlap). */
  outputSize: number | [number, number];
}

export interface AdaptiveMaxPool2dOptions {
  outputSize: number | [number, number];
  returnIndices?: boolean;
}

/** A pooled output with its argmax: int32, same shape, flat offsets ((n·H + y)·W + x)·C + c into x. */
export interface PoolWithIndices {
  output: Tensor;
  indices: Tensor;
}

/**
 * The windows of one pooling: per output row (and column) [start, end, count], with start/end
 * the covered input range (padding excluded) and count that axis's factor of the average's divisor.
 */
export interface PoolWindows {
  N: number; H: number; W: number; C: number;
  OH: number; OW: number;
  rows: Int32Array;
  cols: Int32Array;
}

// ---- max ----

/**
 * Max pooling of x [N, H, W, C] → [N, OH, OW, C]. Padding never wins (padded taps are skipped),
 * ties go to the first element in row-major window order, and NaN propagates: the first NaN of a
 * window wins and its index is recorded. (PyTorch's CPU kernel records the *last* NaN instead.)
 */
export function maxPool2d(x: Tensor, options: MaxPool2dOptions & { returnIndices: true }): PoolWithIndices;
export function maxPool2d(x: Tensor, options: MaxPool2dOptions & { returnIndices?: false }): Tensor;
export function maxPool2d(x: Tensor, options: MaxPool2dOptions): Tensor | PoolWithIndices;
export function maxPool2d(x: Tensor, options: MaxPool2dOptions): Tensor | PoolWithIndices {
  const op = 'maxPool2d';
  const o = expectOptions(op, options, ['size', 'strides', 'padding', 'ceilMode', 'returnIndices']);
  const returnIndices = expectBool(op, 'returnIndices', o.returnIndices, false);
  const g = stridedWindows(op, expectImage(op, x), o, false);
  return runMax(g, x, returnIndices, false);
}

/** Global max over H and W: [N, C] (Keras's GlobalMaxPooling2D shape), or [N, 1, 1, C] with keepDims. */
export function globalMaxPool2d(x: Tensor, options?: GlobalPool2dOptions): Tensor {
  const op = 'globalMaxPool2d';
  const o = expectOptions(op, options, ['keepDims']);
  const keepDims = expectBool(op, 'keepDims', o.keepDims, false);
  return runMax(adaptiveWindows(expectImage(op, x), [1, 1]), x, false, !keepDims) as Tensor;
}

/**
 * Adaptive max pooling to outputSize [oh, ow] with PyTorch's bins: rows
 * [floor(i·H/oh), ceil((i+1)·H/oh)), likewise columns. Same tie and NaN rules as maxPool2d.
 */
export function adaptiveMaxPool2d(x: Tensor, options: AdaptiveMaxPool2dOptions & { returnIndices: true }): PoolWithIndices;
export function adaptiveMaxPool2d(x: Tensor, options: AdaptiveMaxPool2dOptions & { returnIndices?: false }): Tensor;
export function adaptiveMaxPool2d(x: Tensor, options: AdaptiveMaxPool2dOptions): Tensor | PoolWithIndices;
export function adaptiveMaxPool2d(x: Tensor, options: AdaptiveMaxPool2dOptions): Tensor | PoolWithIndices {
  const op = 'adaptiveMaxPool2d';
  const o = expectOptions(op, options, ['outputSize', 'returnIndices']);
  const returnIndices = expectBool(op, 'returnIndices', o.returnIndices, false);
  const g = adaptiveWindows(expectImage(op, x), outputSize(op, o.outputSize));
  return runMax(g, x, returnIndices, false);
}

// ---- average ----

/**
 * Average pooling of x [N, H, W, C] → [N, OH, OW, C] with PyTorch's divisor: the number of input
 * elements under the window, or with countIncludePad the window clipped to the padded input
 * (rows [start, min(start + KH, H + padBottom)), so padding counts but a ceil-mode overhang does not).
 */
export function avgPool2d(x: Tensor, options: AvgPool2dOptions): Tensor {
  const op = 'avgPool2d';
  const o = expectOptions(op, options, ['size', 'strides', 'padding', 'countIncludePad', 'ceilMode']);
  const countIncludePad = expectBool(op, 'countIncludePad', o.countIncludePad, false);
  const g = stridedWindows(op, expectImage(op, x), o, countIncludePad);
  return runAvg(g, x, false);
}

/** Global average over H and W: [N, C] (Keras's GlobalAveragePooling2D shape), or [N, 1, 1, C] with keepDims. */
export function globalAvgPool2d(x: Tensor, options?: GlobalPool2dOptions): Tensor {
  const op = 'globalAvgPool2d';
  const o = expectOptions(op, options, ['keepDims']);
  const keepDims = expectBool(op, 'keepDims', o.keepDims, false);
  return runAvg(adaptiveWindows(expectImage(op, x), [1, 1]), x, !keepDims);
}

/** Adaptive average pooling to outputSize [oh, ow] with PyTorch's bins (see adaptiveMaxPool2d). */
export function adaptiveAvgPool2d(x: Tensor, options: AdaptiveAvgPool2dOptions): Tensor {
  const op = 'adaptiveAvgPool2d';
  const o = expectOptions(op, options, ['outputSize']);
  return runAvg(adaptiveWindows(expectImage(op, x), outputSize(op, o.outputSize)), x, false);
}

// ---- power average and mixed ----

/**
 * Power-average pooling (no padding, floor mode): y = (Σ |x|^p)^(1/p) over each window. Unlike
 * PyTorch's LPPool2d we take |x| (so odd p is a norm, not a signed sum). p = 1 and p = 2 run in f32
 * SIMD; other p use an f64 pow per element.
 */
export function lpPool2d(x: Tensor, options: LpPool2dOptions): Tensor {
  const op = 'lpPool2d';
  const o = expectOptions(op, options, ['p', 'size', 'strides']);
  const p = expectNumber(op, 'p', o.p, NaN);
  if (p <= 0) throw new ArgumentError(`${op}: p must be a finite number > 0, got ${p}`);
  const g = stridedWindows(op, expectImage(op, x), { size: o.size, strides: o.strides }, false);
  const y = empty([g.N, g.OH, g.OW, g.C]);
  withTable(g, [y], (win) => pooled(g, 'lppool2d_nhwc_f32', x, y, win, [p]));
  return y;
}

/**
 * Mixed pooling: λ·maxPool2d + (1 − λ)·avgPool2d over the same windows, in one pass. λ = 1 and
 * λ = 0 are exactly maxPool2d and avgPool2d (the formula alone would turn 0·∞ into NaN).
 */
export function mixedPool2d(x: Tensor, options: MixedPool2dOptions): Tensor {
  const op = 'mixedPool2d';
  const o = expectOptions(op, options, ['lambda', 'size', 'strides', 'padding', 'ceilMode', 'countIncludePad']);
  const lambda = expectNumber(op, 'lambda', o.lambda, NaN, 0, 1);
  const countIncludePad = expectBool(op, 'countIncludePad', o.countIncludePad, false);
  const g = stridedWindows(op, expectImage(op, x), o, countIncludePad);
  if (lambda === 1) return runMax(g, x, false, false) as Tensor;
  if (lambda === 0) return runAvg(g, x, false);
  const y = empty([g.N, g.OH, g.OW, g.C]);
  withTable(g, [y], (win) => pooled(g, 'mixedpool2d_nhwc_f32', x, y, win, [lambda]));
  return y;
}

// ---- windows ----

/**
 * Validate x and a size/strides/padding/ceilMode window, and list its windows. The geometry
 * comes from shape.ts (pool2dGeometry); here only each window's clipping and divisor.
 */
export function stridedWindows(op: string, shape: Shape4, o: Pool2dGeometryOptions, countIncludePad: boolean): PoolWindows {
  const [N, H, W, C] = shape;
  const { k, s, pads, OH, OW } = withShape(shape, () => pool2dGeometry(op, [H, W], o));
  return {
    N, H, W, C, OH, OW,
    rows: stridedAxis(H, k[0], s[0], pads[0], OH, countIncludePad),
    cols: stridedAxis(W, k[1], s[1], pads[1], OW, countIncludePad),
  };
}

/** One axis of a strided window table: per output index [start, end, count] (see PoolWindows). */
export function stridedAxis(size: number, k: number, s: number, pads: Pair, out: number, countIncludePad: boolean): Int32Array {
  const t = new Int32Array(3 * out);
  for (let i = 0; i < out; i++) {
    const start = i * s - pads[0], end = start + k;
    const lo = Math.max(start, 0), hi = Math.min(end, size);
    t[3 * i] = lo;
    t[3 * i + 1] = hi;
    t[3 * i + 2] = countIncludePad ? Math.min(end, size + pads[1]) - start : hi - lo;
  }
  return t;
}

/** Validate x and list the adaptive bins of an [oh, ow] output (global pooling is [1, 1]). */
export function adaptiveWindows(shape: Shape4, out: Pair): PoolWindows {
  const [N, H, W, C] = shape;
  const axis = (size: number, n: number): Int32Array => {
    const t = new Int32Array(3 * n);
    for (let i = 0; i < n; i++) {
      const [start, end] = adaptiveBin(i, size, n);
      t.set([start, end, end - start], 3 * i);
    }
    return t;
  };
  return { N, H, W, C, OH: out[0], OW: out[1], rows: axis(H, out[0]), cols: axis(W, out[1]) };
}

// ---- running ----

function runMax(g: PoolWindows, x: Tensor, returnIndices: boolean, squeeze: boolean): Tensor | PoolWithIndices {
  const shape = squeeze ? [g.N, g.C] : [g.N, g.OH, g.OW, g.C];
  const y = empty(shape);
  let indices: Tensor | null = null;
  if (returnIndices) {
    try {
      indices = empty(shape, 'int32');
    } catch (e) {
      y.dispose();
      throw e;
    }
  }
  const outs = indices ? [y, indices] : [y];
  const { kernels } = rt();
  withTable(g, outs, (win) => {
    if (indices) {
      // Tiles: whole images (indices are offsets into the batch, so the kernel takes an image range).
      const taps = Math.max(1, (g.H * g.W) / Math.max(1, g.OH * g.OW));
      runCalls(split(g.N, g.N * g.OH * g.OW * g.C * taps, 1).map(([b, e]) => ({
        kernel: 'maxpool2d_nhwc_f32_argmax', args: [x.ptr, g.N, g.H, g.W, g.C, g.OH, g.OW, win, y.ptr, indices.ptr, b, e],
      })));
    }
    else pooled(g, 'maxpool2d_nhwc_f32', x, y, win, []);
  });
  return indices ? { output: y, indices } : y;
}

function runAvg(g: PoolWindows, x: Tensor, squeeze: boolean): Tensor {
  const y = empty(squeeze ? [g.N, g.C] : [g.N, g.OH, g.OW, g.C]);
  withTable(g, [y], (win) => pooled(g, 'avgpool2d_nhwc_f32', x, y, win, []));
  return y;
}

/**
 * A pooling kernel (x, N, H, W, C, OH, OW, win, y, ...extra) over tiles: whole images when there
 * are enough of them, else bands of output rows of each image — a band runs the same kernel on a
 * window table of its rows (followed by all columns, the layout the kernel reads), so every output
 * is computed exactly as in one call; an average pool with too few rows for that splits its channels.
 * Work: one read per window tap.
 */
function pooled(g: PoolWindows, kernel: KernelName, x: Tensor, y: Tensor, win: number, extra: number[]): void {
  const taps = Math.max(1, (g.H * g.W) / Math.max(1, g.OH * g.OW));
  const work = g.N * g.OH * g.OW * g.C * taps;
  const images = split(g.N, work, 1), threads = poolThreads();
  const imageBytes = g.H * g.W * g.C * 4, outImageBytes = g.OH * g.OW * g.C * 4;
  const byImages = () => runCalls(images.map(([b, e]) => ({ kernel, args: [x.ptr + b * imageBytes, e - b, g.H, g.W, g.C, g.OH, g.OW, win, y.ptr + b * outImageBytes, ...extra] })));
  if (threads === 1 || images.length >= 2 * threads) { byImages(); return; }
  const bands = split(g.OH, work / g.N, 1);
  if (bands.length === 1) {
    // One output row (a global pool at batch 1, as in squeeze-excitation blocks): an average pool
    // splits its channels instead, in blocks of 16 (the kernel's widest body).
    const blocks = kernel === 'avgpool2d_nhwc_f32' ? split(Math.ceil(g.C / 16), work, 1) : [];
    if (blocks.length > 1) {
      runCalls(blocks.map(([b, e]) => ({
        kernel: 'avgpool2d_nhwc_f32_channels', args: [x.ptr, g.N, g.H, g.W, g.C, g.OH, g.OW, win, y.ptr, b * 16, Math.min(g.C, e * 16)],
      })));
    } else byImages();
    return;
  }
  const heap = rt().heap;
  const tables = heap.alloc(bands.length * (g.OH + g.OW) * 12);
  try {
    const i32 = heap.i32();
    const calls: Call[] = [];
    let t = tables;
    for (const [b, e] of bands) {
      i32.set(g.rows.subarray(b * 3, e * 3), t >>> 2);
      i32.set(g.cols, (t >>> 2) + (e - b) * 3);
      for (let n = 0; n < g.N; n++) {
        calls.push({ kernel, args: [x.ptr + n * imageBytes, 1, g.H, g.W, g.C, e - b, g.OW, t, y.ptr + n * outImageBytes + b * g.OW * g.C * 4, ...extra] });
      }
      t += (e - b + g.OW) * 12;
    }
    runCalls(calls);
  } finally {
    heap.free(tables);
  }
}

/** Copy the window table into linear memory, run `call` with its address, free it. */
export function withTable(g: PoolWindows, outputs: Tensor[], call: (win: number) => void): void {
  const heap = rt().heap;
  let win: number;
  try {
    win = heap.alloc((g.rows.length + g.cols.length) * 4);
  } catch (e) {
    for (const t of outputs) t.dispose();
    throw e;
  }
  try {
    const i32 = heap.i32();
    i32.set(g.rows, win >>> 2);
    i32.set(g.cols, (win >>> 2) + g.rows.length);
    call(win);
  } finally {
    heap.free(win);
  }
}

// ---- validation ----

/** An NHWC shape. */
export type Shape4 = [number, number, number, number];

/** x must be a live float32 NHWC tensor with height and width ≥ 1; its shape. */
export function expectImage(op: string, x: Tensor): Shape4 {
  expectTensor(op, 'x', x, 4);
  const [N, H, W, C] = x.shape;
  if (H < 1 || W < 1) throw new ShapeError(`${op}: x must have height and width ≥ 1, got ${fmtShape(x.shape)} (NHWC)`);
  return [N, H, W, C];
}

function outputSize(op: string, v: unknown): Pair {
  if (v === undefined) throw new ArgumentError(`${op}: outputSize is required (a number, or [height, width])`);
  return pair(op, 'outputSize', v as number | number[], 1);
}

/** Run fn; a size error it throws gets the input shape appended. */
function withShape<T>(shape: readonly number[], fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof ShapeError) throw new ShapeError(`${e.message} (x ${fmtShape(shape)})`);
    if (e instanceof ArgumentError) throw new ArgumentError(`${e.message} (x ${fmtShape(shape)})`);
    throw e;
  }
}
