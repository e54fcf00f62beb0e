import { ArgumentError, ShapeError, fmtShape } from '../errors.js';
import { rt } from '../runtime/wasm.js';
import { empty, zeros, type Tensor } from '../tensor.js';
import { scratch } from './cache.js';
import { expectOptions, expectTensor } from './check.js';
import { runConv } from './conv.js';
import { im2colChunk, padSingleChannel, plan } from './pack.js';
import { MIN_PARALLEL_WORK, parallelRows, poolThreads, runCalls, split } from './parallel.js';
import type { Call } from '../runtime/pool.js';
import {
  conv1dGeometry, conv2dGeometry, conv2dTransposeGeometry, locallyConnected2dGeometry,
  type Conv1dGeometryOptions, type Conv2dGeometryOptions, type Conv2dTransposeGeometryOptions, type ConvGeometry,
  type LocallyConnected2dGeometryOptions,
} from './shape.js';

// Gradients of the convolutions, as ops. The input gradient of a convolution is the transposed
// convolution of dy with the same weights (and vice versa), so both run on the packed indirect
// GEMM with the forward geometry read backwards; filter gradients gather im2col chunks of the
// input and run gemm_tn (assembly/gemm/gemm-tn.ts), except one input channel at stride 1, which
// has its own kernel (assembly/conv-backprop.ts). Dense gradients and biasGrad are in dense.ts.

/** One convolution family as its gradient ops see it: option keys, ranks, geometry, dy's shape. */
interface Family<O> {
  keys: readonly string[];
  /** Rank of x and dy. */
  rank: number;
  /** Rank of w. */
  wRank: number;
  geometry(op: string, xShape: readonly number[], wShape: readonly number[], o: O): { g: ConvGeometry; groups: number; flip: boolean };
}

const CONV2D: Family<Conv2dGeometryOptions> = {
  keys: ['strides', 'padding', 'dilations', 'groups', 'flip'], rank: 4, wRank: 4, geometry: conv2dGeometry,
};
const CONV1D: Family<Conv1dGeometryOptions> = {
  keys: ['strides', 'padding', 'dilations', 'groups', 'flip'], rank: 3, wRank: 3, geometry: conv1dGeometry,
};
const CONV2D_TRANSPOSE: Family<Conv2dTransposeGeometryOptions> = {
  keys: ['strides', 'padding', 'outputPadding', 'dilations', 'groups'], rank: 4, wRank: 4,
  geometry: (op, xShape, wShape, o) => ({ ...conv2dTransposeGeometry(op, xShape, wShape, o), flip: false }),
};
const LOCALLY_CONNECTED_2D: Family<LocallyConnected2dGeometryOptions> = {
  keys: ['strides', 'padding'], rank: 4, wRank: 6,
  geometry: (op, xShape, wShape, o) => ({ g: locallyConnected2dGeometry(op, xShape, wShape, o), groups: 1, flip: false }),
};

/**
 * The shared preamble of every gradient op: check its two tensors (dy and w for an input
 * gradient, x and dy for a filter gradient), the shape argument and the options; the forward geometry.
 */
function gradGeometry<O extends object>(
  f: Family<O>, op: string, kind: 'input' | 'filter', a: Tensor, b: Tensor, shape: readonly number[], options: O | undefined,
) {
  const o = expectOptions(op, options, f.keys);
  const input = kind === 'input';
  expectTensor(op, input ? 'dy' : 'x', a, f.rank);
  expectTensor(op, input ? 'w' : 'dy', b, input ? f.wRank : f.rank);
  checkShapeArg(op, input ? 'xShape' : 'wShape', shape, input ? f.rank : f.wRank);
  const r = input ? f.geometry(op, shape, b.shape, o) : f.geometry(op, a.shape, shape, o);
  checkDy(op, input ? a : b, r.g, f.rank);
  return r;
}

/** dx of conv2d: dy [N, OH, OW, Cout], w [KH, KW, Cin/groups, Cout] → [N, H, W, Cin] = xShape. */
export function conv2dBackpropInput(dy: Tensor, w: Tensor, xShape: readonly number[], options?: Conv2dGeometryOptions): Tensor {
  const { g, groups, flip } = gradGeometry(CONV2D, 'conv2dBackpropInput', 'input', dy, w, xShape, options);
  return inputGrad(g, dy, w, xShape, groups, flip);
}

/** dw of conv2d: x [N, H, W, Cin], dy [N, OH, OW, Cout] → [KH, KW, Cin/groups, Cout] = wShape. */
export function conv2dBackpropFilter(x: Tensor, dy: Tensor, wShape: readonly number[], options?: Conv2dGeometryOptions): Tensor {
  const { g, groups, flip } = gradGeometry(CONV2D, 'conv2dBackpropFilter', 'filter', x, dy, wShape, options);
  return filterGrad(g, x, dy, wShape, groups, flip);
}

/** dx of conv1d: dy [N, OL, Cout], w [K, Cin/groups, Cout] → xShape [N, L, Cin]. */
export function conv1dBackpropInput(dy: Tensor, w: Tensor, xShape: readonly number[], options?: Conv1dGeometryOptions): Tensor {
  const { g, groups, flip } = gradGeometry(CONV1D, 'conv1dBackpropInput', 'input', dy, w, xShape, options);
  return inputGrad(g, dy, w, xShape, groups, flip);
}

/** dw of conv1d: x [N, L, Cin], dy [N, OL, Cout] → wShape [K, Cin/groups, Cout]. */
export function conv1dBackpropFilter(x: Tensor, dy: Tensor, wShape: readonly number[], options?: Conv1dGeometryOptions): Tensor {
  const { g, groups, flip } = gradGeometry(CONV1D, 'conv1dBackpropFilter', 'filter', x, dy, wShape, options);
  return filterGrad(g, x, dy, wShape, groups, flip);
}

/** dx of conv2dTranspose: dy [N, OH, OW, Cout] → xShape [N, H, W, Cin] (a conv2d of dy with w). */
export function conv2dTransposeBackpropInput(dy: Tensor, w: Tensor, xShape: readonly number[], options?: Conv2dTransposeGeometryOptions): Tensor {
  const { g, groups } = gradGeometry(CONV2D_TRANSPOSE, 'conv2dTransposeBackpropInput', 'input', dy, w, xShape, options);
  return inputGrad(g, dy, w, xShape, groups, false);
}

/** dw of conv2dTranspose: x [N, H, W, Cin], dy [N, OH, OW, Cout] → wShape [KH, KW, Cout/groups, Cin]. */
export function conv2dTransposeBackpropFilter(x: Tensor, dy: Tensor, wShape: readonly number[], options?: Conv2dTransposeGeometryOptions): Tensor {
  const { g, groups } = gradGeometry(CONV2D_TRANSPOSE, 'conv2dTransposeBackpropFilter', 'filter', x, dy, wShape, options);
  // The transposed convolution's weights are those of the conv2d from its output to its input:
  // their gradient is that conv2d's filter gradient with dy as the input and x as the output grad.
  return filterGrad(reverse(g), dy, x, wShape, groups, false);
}

/** dx of locallyConnected2d: dy [N, OH, OW, Cout], w [OH, OW, KH, KW, Cin, Cout] → xShape. */
export function locallyConnected2dBackpropInput(dy: Tensor, w: Tensor, xShape: readonly number[], options?: LocallyConnected2dGeometryOptions): Tensor {
  const { g } = gradGeometry(LOCALLY_CONNECTED_2D, 'locallyConnected2dBackpropInput', 'input', dy, w, xShape, options);
  const p = plan(g);
  const dx = zeros(xShape);
  rt().kernels.locallyconnected2d_input_grad_nhwc_f32(p.M, g.OH * g.OW, g.Cout, g.C, g.KH * g.KW, dx.ptr, p.ind, w.ptr, dy.ptr, p.out);
  return dx;
}

/** dw of locallyConnected2d: x [N, H, W, Cin], dy [N, OH, OW, Cout] → wShape [OH, OW, KH, KW, Cin, Cout]. */
export function locallyConnected2dBackpropFilter(x: Tensor, dy: Tensor, wShape: readonly number[], options?: LocallyConnected2dGeometryOptions): Tensor {
  const { g } = gradGeometry(LOCALLY_CONNECTED_2D, 'locallyConnected2dBackpropFilter', 'filter', x, dy, wShape, options);
  const p = plan(g);
  const dw = empty(wShape);
  rt().kernels.locallyconnected2d_filter_grad_nhwc_f32(g.N, g.OH * g.OW, g.Cout, g.C, g.KH * g.KW, x.ptr, p.ind, dy.ptr, p.out, dw.ptr);
  return dw;
}

// ---- helpers ----

/** Input gradient of a (possibly transposed) geometry: the convolution read backwards, with the same weights. */
function inputGrad(g: ConvGeometry, dy: Tensor, w: Tensor, xShape: readonly number[], groups: number, flip: boolean): Tensor {
  const dx = empty(xShape);
  runConv(reverse(g), dy, w, null, groups, flip, null, dx);
  return dx;
}

/** The forward geometry read backwards: a transposed conv becomes a conv and vice versa. */
function reverse(g: ConvGeometry): ConvGeometry {
  return { ...g, H: g.OH, W: g.OW, C: g.Cout, OH: g.H, OW: g.W, Cout: g.C, transposed: !g.transposed };
}

/**
 * Filter gradient of a (non-transposed) geometry, per group: dW = colᵀ · dy, with the input's
 * im2col rows gathered a chunk of output pixels at a time (never the whole matrix); taps reversed
 * back if the forward flipped them.
 */
function filterGrad(g: ConvGeometry, x: Tensor, dy: Tensor, wShape: readonly number[], groups: number, flip: boolean): Tensor {
  const M = g.N * g.OH * g.OW;
  const K = g.C / groups, Nc = g.Cout / groups, T = g.KH * g.KW, R = T * K;
  const dw = empty(wShape);
  const { kernels } = rt();
  if (groups === 1 && g.C === 1 && g.s[0] === 1 && g.s[1] === 1 && g.d[0] === 1 && g.d[1] === 1 && M > 0) {
    // One input channel at stride 1 (first layers): vectorised over output pixels, no im2col.
    // Rows of the padded copy get 8 more zero columns, so the kernel's vector reads past a row's
    // last output pixel only ever see zeros.
    const xp = padSingleChannel(g, x.ptr, 8);
    const OWp = Math.ceil(g.OW / 4) * 4;
    const dyT = scratch(2, g.N * g.Cout * g.OH * OWp * 4);
    parallelRows('transpose_nhwc_nchw_f32', g.N, g.N * g.Cout * g.OH * OWp, 1, (b, e) =>
      [dy.ptr + b * g.OH * g.OW * g.Cout * 4, e - b, g.OH, g.OW, g.Cout, OWp, dyT + b * g.Cout * g.OH * OWp * 4]);
    // Tiles: pairs of output channels × kernel rows (independent sums; the pixel sum is never split).
    const pairs = split(Math.ceil(g.Cout / 2), M * T * g.Cout, 1);
    const rows = poolThreads() === 1 ? [[0, g.KH] as [number, number]] : split(g.KH, M * T * g.Cout, 1);
    const calls: Call[] = [];
    for (const [pb, pe] of pairs) {
      for (const [kb, ke] of rows) {
        calls.push({ kernel: 'conv2d_filter_grad_nhwc_f32_c1', args: [xp.ptr, g.N, xp.Hp, xp.Wp, g.OH, OWp, g.KH, g.KW, g.Cout, dyT, dw.ptr, 2 * pb, Math.min(g.Cout, 2 * pe), kb, ke] });
      }
    }
    runCalls(calls);
    if (flip) reverseTaps(dw, T, K * g.Cout);
    return dw;
  }
  const chunk = im2colChunk(R);
  const work = M * R * Nc * groups;
  if (groups === 1 && M > 0) {
    const parts = pixelParts(M, chunk, R * Nc, work);
    if (parts > 1) { filterGradByPixels(g, x, dy, dw, R, chunk, parts); if (flip) reverseTaps(dw, T, K * g.Cout); return dw; }
  }
  // Tiles: blocks of dW's rows (taps × channels, multiples of 4) or columns (output channels,
  // multiples of 8) — never the sum over pixels, whose chunking stays `chunk` on any thread count.
  const byCols = Nc >= 16;
  const ranges = split(byCols ? Nc : R, work, byCols ? 8 : 4);
  const tilesPerGroup = ranges.length;
  const threads = tilesPerGroup * groups > 1 ? poolThreads() : 1;
  const colBytes = chunk * R * 4;
  const col = scratch(2, colBytes * threads);
  const calls: Call[] = [];
  for (let gi = 0; gi < groups; gi++) {
    for (const [b, e] of ranges) {
      const [r0, r1, n0, n1] = byCols ? [0, R, b, e] : [b, e, 0, Nc];
      calls.push({
        kernel: 'conv2d_filter_grad_nhwc_f32_im2col',
        args: [
          x.ptr + gi * K * 4, g.H, g.W, g.C, K, g.OH, g.OW, g.KH, g.KW, g.s[0], g.s[1], g.d[0], g.d[1], g.pads[0][0], g.pads[1][0], 0, M, chunk, col,
          dy.ptr + gi * Nc * 4, g.Cout * 4, dw.ptr + gi * Nc * 4, g.Cout * 4, r0, r1, n0, n1,
        ],
        scratch: [18], scratchStride: colBytes,
      });
    }
  }
  if (M > 0) runCalls(calls);
  if (M === 0) dw.view().fill(0);
  if (flip) reverseTaps(dw, T, K * g.Cout);
  return dw;
}

/**
 * Pixel ranges for a filter gradient whose dW is small next to its work (first layers: many pixels,
 * few filters): each range (whole chunks) gives a partial dW, summed in range order. Depends only
 * on the shape, never on the thread count: 1 = no pixel split.
 */
function pixelParts(M: number, chunk: number, dwFloats: number, work: number): number {
  if (work < MIN_PARALLEL_WORK) return 1;
  const parts = Math.min(12, Math.floor(M / (2 * chunk)));
  return parts > 1 && (parts - 1) * dwFloats * 4 <= 2 << 20 ? parts : 1;
}

/** dW over `parts` pixel ranges: range 0 into dw, the others into scratch, then summed into dw in order. */
function filterGradByPixels(g: ConvGeometry, x: Tensor, dy: Tensor, dw: Tensor, R: number, chunk: number, parts: number): void {
  const M = g.N * g.OH * g.OW, n = R * g.Cout;
  const per = Math.ceil(Math.ceil(M / chunk) / parts) * chunk;
  const threads = poolThreads();
  const colBytes = chunk * R * 4;
  const col = scratch(2, colBytes * threads);
  const partial = scratch(4, (parts - 1) * n * 4);
  const calls: Call[] = [];
  let count = 0;
  for (let m0 = 0; m0 < M; m0 += per, count++) {
    calls.push({
      kernel: 'conv2d_filter_grad_nhwc_f32_im2col',
      args: [
        x.ptr, g.H, g.W, g.C, g.C, g.OH, g.OW, g.KH, g.KW, g.s[0], g.s[1], g.d[0], g.d[1], g.pads[0][0], g.pads[1][0], m0, Math.min(M, m0 + per), chunk, col,
        dy.ptr, g.Cout * 4, count ? partial + (count - 1) * n * 4 : dw.ptr, g.Cout * 4, 0, R, 0, g.Cout,
      ],
      scratch: [18], scratchStride: colBytes,
    });
  }
  runCalls(calls);
  parallelRows('add_partials_f32', n, n * (count - 1), 64, (b, e) => [dw.ptr, partial, count - 1, n * 4, b, e]);
}

/** Reverse the order of the T tap blocks (of `tap` floats) of a filter gradient (flip = true). */
function reverseTaps(dw: Tensor, T: number, tap: number): void {
  const f = rt().heap.f32();
  const base = dw.ptr >>> 2;
  for (let t = 0; t < T >> 1; t++) {
    const a = f.slice(base + t * tap, base + (t + 1) * tap);
    f.copyWithin(base + t * tap, base + (T - 1 - t) * tap, base + (T - t) * tap);
    f.set(a, base + (T - 1 - t) * tap);
  }
}

function checkShapeArg(op: string, name: string, shape: unknown, rank: number): void {
  if (!Array.isArray(shape) || shape.length !== rank || !shape.every((v) => Number.isInteger(v) && v >= 1)) {
    throw new ArgumentError(`${op}: ${name} must be an array of ${rank} positive integers, got ${JSON.stringify(shape)}`);
  }
}

/** dy must have the forward output's shape: [N, OH, OW, Cout], or [N, OL, Cout] for rank 3. */
function checkDy(op: string, dy: Tensor, g: ConvGeometry, rank: number): void {
  const want = rank === 3 ? [g.N, g.OW, g.Cout] : [g.N, g.OH, g.OW, g.Cout];
  if (dy.shape.length !== want.length || dy.shape.some((v, i) => v !== want[i])) {
    throw new ShapeError(`${op}: dy must be ${fmtShape(want)} for these shapes and options, got ${fmtShape(dy.shape)}`);
  }
}
