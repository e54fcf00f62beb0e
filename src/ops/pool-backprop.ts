import { ArgumentError, ShapeError, fmtShape } from '../errors.js';
import { rt } from '../runtime/wasm.js';
import { empty, type Tensor } from '../tensor.js';
import { expectBool, expectNumber, expectOptions, expectTensor } from './check.js';
import {
  adaptiveWindows, expectImage, stridedWindows, withTable,
  type AdaptiveAvgPool2dOptions, type AvgPool2dOptions, type LpPool2dOptions, type MixedPool2dOptions, type PoolWindows, type Shape4,
} from './pool.js';
import { pair, sameShape } from './shape.js';
import { scratch } from './cache.js';
import { parallelRows, runCalls, split, type KernelName } from './parallel.js';

// Gradients of the pooling ops, as ops: validate → the forward's window table (built by the same
// code as the forward's, so every gradient visits exactly the taps its forward read and divides
// by the same count) → one kernel (assembly/pool-backprop.ts) that zeroes dx and scatter-adds into it.
// Max pooling routes through the recorded argmax indices and never recomputes it; the ops whose
// forward records no indices (mixed, global max) find the argmax again with the forward's rule.

/**
 * dx of maxPool2d / adaptiveMaxPool2d: dy [N, OH, OW, C] and the int32 `indices` the forward
 * returned with `returnIndices` (same shape) → dx of xShape [N, H, W, C], zero except
 * dx[indices[i]] += dy[i] (overlapping windows accumulate). Each index must be an offset into its
 * own image and channel of x, ((n·H + y)·W + x)·C + c; the first that is not throws an
 * ArgumentError naming its position (an index inside the right image and channel but outside its
 * window is not detected: the gradient then lands there).
 */
export function maxPool2dBackward(dy: Tensor, indices: Tensor, xShape: readonly number[]): Tensor {
  const op = 'maxPool2dBackward';
  expectTensor(op, 'dy', dy, 4);
  expectTensor(op, 'indices', indices, 4, 'int32');
  const [N, H, W, C] = expectXShape(op, xShape);
  if (!sameShape(indices.shape, dy.shape)) {
    throw new ShapeError(`${op}: indices must have dy's shape ${fmtShape(dy.shape)}, got ${fmtShape(indices.shape)}`);
  }
  if (dy.shape[0] !== N || dy.shape[3] !== C) {
    throw new ShapeError(`${op}: dy must have x's batch ${N} and channels ${C} (xShape ${fmtShape(xShape)}), got ${fmtShape(dy.shape)}`);
  }
  const [, OH, OW] = dy.shape;
  const dx = empty(xShape);
  const bad = maxpoolGrad(dy.ptr, indices.ptr, N, OH * OW, C, H * W * C, dx.ptr);
  if (bad >= 0) {
    const value = indices.view()[bad];
    dx.dispose();
    const c = bad % C, ox = Math.floor(bad / C) % OW, oy = Math.floor(bad / (C * OW)) % OH, n = Math.floor(bad / (C * OW * OH));
    const lo = n * H * W * C;
    throw new ArgumentError(
      `${op}: indices[${n},${oy},${ox},${c}] = ${value} is not an offset into image ${n}, channel ${c} of x ${fmtShape(xShape)} ` +
      `(expected ((n·H + y)·W + x)·C + c: ${lo + c}, ${lo + c + C}, …, ${lo + H * W * C - C + c}; indices ${fmtShape(indices.shape)})`,
    );
  }
  return dx;
}

/**
 * dx of avgPool2d: dy [N, OH, OW, C] → xShape, each dy spread as dy / divisor over its window's
 * input elements, with the forward's divisor rule (countIncludePad, ceilMode) and options.
 */
export function avgPool2dBackward(dy: Tensor, xShape: readonly number[], options: AvgPool2dOptions): Tensor {
  const op = 'avgPool2dBackward';
  const o = expectOptions(op, options, ['size', 'strides', 'padding', 'countIncludePad', 'ceilMode']);
  expectTensor(op, 'dy', dy, 4);
  const countIncludePad = expectBool(op, 'countIncludePad', o.countIncludePad, false);
  const g = stridedWindows(op, expectXShape(op, xShape), o, countIncludePad);
  expectDy(op, 'dy', dy, g, xShape);
  return runAvgBackward(g, dy, xShape);
}

/** dx of adaptiveAvgPool2d: dy [N, oh, ow, C] → xShape, over PyTorch's bins (see adaptiveAvgPool2d). */
export function adaptiveAvgPool2dBackward(dy: Tensor, xShape: readonly number[], options: AdaptiveAvgPool2dOptions): Tensor {
  const op = 'adaptiveAvgPool2dBackward';
  const o = expectOptions(op, options, ['outputSize']);
  expectTensor(op, 'dy', dy, 4);
  if (o.outputSize === undefined) throw new ArgumentError(`${op}: outputSize is required (a number, or [height, width])`);
  const g = adaptiveWindows(expectXShape(op, xShape), pair(op, 'outputSize', o.outputSize, 1));
  expectDy(op, 'dy', dy, g, xShape);
  return runAvgBackward(g, dy, xShape);
}

/** dx of globalAvgPool2d: dy [N, C] (or [N, 1, 1, C], keepDims) → xShape, dy / (H·W) everywhere. */
export function globalAvgPool2dBackward(dy: Tensor, xShape: readonly number[]): Tensor {
  const op = 'globalAvgPool2dBackward';
  expectTensor(op, 'dy', dy, [2, 4]);
  const g = adaptiveWindows(expectXShape(op, xShape), [1, 1]);
  expectGlobalDy(op, dy, g, xShape);
  return runAvgBackward(g, dy, xShape);
}

/**
 * dx of globalMaxPool2d: x [N, H, W, C] and dy [N, C] (or [N, 1, 1, C]) → [N, H, W, C], dy at each
 * image's and channel's max, 0 elsewhere. globalMaxPool2d records no indices, so the argmax is
 * found again with its rule (the first of equal maxima; the first NaN).
 */
export function globalMaxPool2dBackward(x: Tensor, dy: Tensor): Tensor {
  const op = 'globalMaxPool2dBackward';
  const g = adaptiveWindows(expectImage(op, x), [1, 1]);
  expectTensor(op, 'dy', dy, [2, 4]);
  expectGlobalDy(op, dy, g, x.shape);
  const { N, H, W, C } = g;
  const { heap, kernels } = rt();
  const scratch = heap.alloc(N * C * 8); // the maxima, then their int32 offsets
  try {
    const indices = scratch + N * C * 4;
    withTable(g, [], (win) => kernels.maxpool2d_nhwc_f32_argmax(x.ptr, N, H, W, C, 1, 1, win, scratch, indices, 0, N));
    const dx = empty(x.shape);
    maxpoolGrad(dy.ptr, indices, N, 1, C, H * W * C, dx.ptr); // valid by construction
    return dx;
  } finally {
    heap.free(scratch);
  }
}

/**
 * dx of lpPool2d: x, its forward output y and dy (both [N, OH, OW, C]) → [N, H, W, C]. Each tap
 * of a window gets sign(x)·|x|^(p−1)·y^(1−p)·dy, the derivative of (Σ|x|^p)^(1/p); where that is
 * 0/0 or 0·∞ (x = 0, or y = 0 when the whole window is 0) the term is defined as 0. y is used as
 * given (it is not recomputed). p = 1 and p = 2 run in f32 SIMD; other p in f64.
 */
export function lpPool2dBackward(x: Tensor, y: Tensor, dy: Tensor, options: LpPool2dOptions): Tensor {
  const op = 'lpPool2dBackward';
  const o = expectOptions(op, options, ['p', 'size', 'strides']);
  const p = expectNumber(op, 'p', o.p, NaN);
  if (p <= 0) throw new ArgumentError(`${op}: p must be a finite number > 0, got ${p}`);
  const g = stridedWindows(op, expectImage(op, x), { size: o.size, strides: o.strides }, false);
  expectTensor(op, 'y', y, 4);
  expectTensor(op, 'dy', dy, 4);
  expectDy(op, 'y', y, g, x.shape);
  expectDy(op, 'dy', dy, g, x.shape);
  const dx = empty(x.shape);
  const [xi, yo] = [g.H * g.W * g.C * 4, g.OH * g.OW * g.C * 4];
  withTable(g, [dx], (win) => byImages(g, 'lppool2d_grad_nhwc_f32', (n, k) => [x.ptr + n * xi, y.ptr + n * yo, dy.ptr + n * yo, k, g.H, g.W, g.C, g.OH, g.OW, win, dx.ptr + n * xi, p]));
  return dx;
}

/**
 * dx of mixedPool2d (y = λ·max + (1 − λ)·avg), for x and dy [N, OH, OW, C] with the forward's
 * options: λ·maxPool2dBackward + (1 − λ)·avgPool2dBackward over the same windows, in one pass.
 * The argmax is found again with maxPool2d's rule (the forward records none). As in the forward,
 * λ = 1 is exactly the max gradient and λ = 0 exactly the average's.
 */
export function mixedPool2dBackward(x: Tensor, dy: Tensor, options: MixedPool2dOptions): Tensor {
  const op = 'mixedPool2dBackward';
  const o = expectOptions(op, options, ['lambda', 'size', 'strides', 'padding', 'ceilMode', 'countIncludePad']);
  const lambda = expectNumber(op, 'lambda', o.lambda, NaN, 0, 1);
  const countIncludePad = expectBool(op, 'countIncludePad', o.countIncludePad, false);
  const g = stridedWindows(op, expectImage(op, x), o, countIncludePad);
  expectTensor(op, 'dy', dy, 4);
  expectDy(op, 'dy', dy, g, x.shape);
  const dx = empty(x.shape);
  const [xi, yo] = [g.H * g.W * g.C * 4, g.OH * g.OW * g.C * 4];
  withTable(g, [dx], (win) => byImages(g, 'mixedpool2d_grad_nhwc_f32', (n, k) => [x.ptr + n * xi, dy.ptr + n * yo, k, g.H, g.W, g.C, g.OH, g.OW, win, dx.ptr + n * xi, lambda]));
  return dx;
}

// ---- running ----

function runAvgBackward(g: PoolWindows, dy: Tensor, xShape: readonly number[]): Tensor {
  const dx = empty(xShape);
  const [xi, yo] = [g.H * g.W * g.C * 4, g.OH * g.OW * g.C * 4];
  withTable(g, [dx], (win) => byImages(g, 'avgpool2d_grad_nhwc_f32', (n, k) => [dy.ptr + n * yo, k, g.H, g.W, g.C, g.OH, g.OW, win, dx.ptr + n * xi]));
  return dx;
}

/**
 * A pooling gradient over tiles of whole images (independent: a tile zeroes and scatters into its
 * own images only), `args(first image, count)` giving a tile's call with its images' pointers.
 */
function byImages(g: PoolWindows, kernel: KernelName, args: (n: number, count: number) => number[]): void {
  parallelRows(kernel, g.N, g.N * (g.H * g.W + g.OH * g.OW) * g.C, 1, (b, e) => args(b, e - b));
}

// ---- validation ----



/** xShape: [N, H, W, C] of integers, H and W ≥ 1 (as the forward requires of x), N and C ≥ 0. */
function expectXShape(op: string, xShape: unknown): Shape4 {
  const ok = Array.isArray(xShape) && xShape.length === 4 && xShape.every((v) => Number.isInteger(v) && v >= 0) && xShape[1] >= 1 && xShape[2] >= 1;
  if (!ok) {
    const got = Array.isArray(xShape) ? JSON.stringify(xShape) : String(xShape);
    throw new ArgumentError(`${op}: xShape must be [N, H, W, C]: 4 non-negative integers with H, W ≥ 1, got ${got}`);
  }
  return [xShape[0], xShape[1], xShape[2], xShape[3]];
}

/** A gradient-sized argument must be the forward's output shape [N, OH, OW, C]. */
function expectDy(op: string, name: string, t: Tensor, g: PoolWindows, xShape: readonly number[]): void {
  const want = [g.N, g.OH, g.OW, g.C];
  if (!sameShape(t.shape, want)) {
    throw new ShapeError(`${op}: ${name} must be ${fmtShape(want)} (the forward's output for x ${fmtShape(xShape)} and these options), got ${fmtShape(t.shape)}`);
  }
}

/** A global pooling's dy: [N, C], or [N, 1, 1, C] as with keepDims. */
function expectGlobalDy(op: string, dy: Tensor, g: PoolWindows, xShape: readonly number[]): void {
  const ok = dy.rank === 2 ? sameShape(dy.shape, [g.N, g.C]) : sameShape(dy.shape, [g.N, 1, 1, g.C]);
  if (!ok) {
    throw new ShapeError(`${op}: dy must be ${fmtShape([g.N, g.C])} or ${fmtShape([g.N, 1, 1, g.C])} for x ${fmtShape(xShape)}, got ${fmtShape(dy.shape)}`);
  }
}

/**
 * maxpool2d_grad_nhwc_f32 over tiles of whole images (independent: each zeroes and scatters into
 * its own images). Returns the first bad index's position in dy (the one-call result), or −1.
 */
function maxpoolGrad(dy: number, indices: number, N: number, P: number, C: number, HWC: number, dx: number): number {
  const tiles = split(N, N * (HWC + P * C), 1);
  if (tiles.length === 1) return rt().kernels.maxpool2d_grad_nhwc_f32(dy, indices, P, C, HWC, dx, 0, N, 0);
  const status = scratch(5, tiles.length * 4);
  runCalls(tiles.map(([b, e], i) => ({ kernel: 'maxpool2d_grad_nhwc_f32', args: [dy, indices, P, C, HWC, dx, b, e, status + i * 4] })));
  const s = rt().heap.i32();
  for (let i = 0; i < tiles.length; i++) if (s[(status >> 2) + i] >= 0) return s[(status >> 2) + i];
  return -1;
}
