import { ArgumentError, ShapeError, fmtShape } from '../errors.js';
import { rt } from '../runtime/wasm.js';
import { empty, zeros, type Tensor } from '../tensor.js';
import { expectOptions, expectTensor } from './check.js';
import {
  conv1dGeometry, conv2dGeometry, conv2dTransposeGeometry, locallyConnected2dGeometry, plan, runConv,
  type Conv1dOptions, type Conv2dOptions, type Conv2dTransposeOptions, type ConvGeometry, type LocallyConnected2dOptions,
} from './conv.js';
import { scratch, zeroRow } from './cache.js';
import { denseRows, im2col, im2colChunk, packGemm } from './conv.js';

// Gradients of the convolutions and of dense, as ops. The input gradient of a convolution is the
// transposed convolution of dy with the same weights (and vice versa), so both run on the packed
// indirect GEMM with the forward geometry read backwards; filter gradients have their own kernel
// (assembly/conv.ts: conv_filter_grad_f32) over the same indirection.

type GeometryOptions<T> = Omit<T, 'bias' | 'activation'>;

/** dx of conv2d: dy [N, OH, OW, Cout], w [KH, KW, Cin/groups, Cout] → [N, H, W, Cin] = xShape. */
export function conv2dBackpropInput(dy: Tensor, w: Tensor, xShape: readonly number[], options?: GeometryOptions<Conv2dOptions>): Tensor {
  const op = 'conv2dBackpropInput';
  const o = expectOptions(op, options, ['strides', 'padding', 'dilations', 'groups', 'flip']);
  expectTensor(op, 'dy', dy, 4);
  expectTensor(op, 'w', w, 4);
  checkShapeArg(op, 'xShape', xShape, 4);
  const { g, groups, flip } = conv2dGeometry(op, xShape, w.shape, o);
  checkDy(op, dy, [g.N, g.OH, g.OW, g.Cout]);
  const dx = empty(xShape);
  runConv(reverse(g), dy, w, null, groups, flip, null, dx);
  return dx;
}

/** dw of conv2d: x [N, H, W, Cin], dy [N, OH, OW, Cout] → [KH, KW, Cin/groups, Cout] = wShape. */
export function conv2dBackpropFilter(x: Tensor, dy: Tensor, wShape: readonly number[], options?: GeometryOptions<Conv2dOptions>): Tensor {
  const op = 'conv2dBackpropFilter';
  const o = expectOptions(op, options, ['strides', 'padding', 'dilations', 'groups', 'flip']);
  expectTensor(op, 'x', x, 4);
  expectTensor(op, 'dy', dy, 4);
  checkShapeArg(op, 'wShape', wShape, 4);
  const { g, groups, flip } = conv2dGeometry(op, x.shape, wShape, o);
  checkDy(op, dy, [g.N, g.OH, g.OW, g.Cout]);
  return filterGrad(g, x, dy, wShape, groups, flip);
}

/** dx of conv1d: dy [N, OL, Cout], w [K, Cin/groups, Cout] → xShape [N, L, Cin]. */
export function conv1dBackpropInput(dy: Tensor, w: Tensor, xShape: readonly number[], options?: GeometryOptions<Conv1dOptions>): Tensor {
  const op = 'conv1dBackpropInput';
  const o = expectOptions(op, options, ['stride', 'padding', 'dilation', 'groups', 'flip']);
  expectTensor(op, 'dy', dy, 3);
  expectTensor(op, 'w', w, 3);
  checkShapeArg(op, 'xShape', xShape, 3);
  const { g, groups, flip } = conv1dGeometry(op, xShape, w.shape, o);
  checkDy(op, dy, [g.N, g.OW, g.Cout]);
  const dx = empty(xShape);
  runConv(reverse(g), dy, w, null, groups, flip, null, dx);
  return dx;
}

/** dw of conv1d: x [N, L, Cin], dy [N, OL, Cout] → wShape [K, Cin/groups, Cout]. */
export function conv1dBackpropFilter(x: Tensor, dy: Tensor, wShape: readonly number[], options?: GeometryOptions<Conv1dOptions>): Tensor {
  const op = 'conv1dBackpropFilter';
  const o = expectOptions(op, options, ['stride', 'padding', 'dilation', 'groups', 'flip']);
  expectTensor(op, 'x', x, 3);
  expectTensor(op, 'dy', dy, 3);
  checkShapeArg(op, 'wShape', wShape, 3);
  const { g, groups, flip } = conv1dGeometry(op, x.shape, wShape, o);
  checkDy(op, dy, [g.N, g.OW, g.Cout]);
  return filterGrad(g, x, dy, wShape, groups, flip);
}

/** dx of conv2dTranspose: dy [N, OH, OW, Cout] → xShape [N, H, W, Cin] (a conv2d of dy with w). */
export function conv2dTransposeBackpropInput(dy: Tensor, w: Tensor, xShape: readonly number[], options?: GeometryOptions<Conv2dTransposeOptions>): Tensor {
  const op = 'conv2dTransposeBackpropInput';
  const o = expectOptions(op, options, ['strides', 'padding', 'outputPadding', 'dilations', 'groups']);
  expectTensor(op, 'dy', dy, 4);
  expectTensor(op, 'w', w, 4);
  checkShapeArg(op, 'xShape', xShape, 4);
  const { g, groups } = conv2dTransposeGeometry(op, xShape, w.shape, o);
  checkDy(op, dy, [g.N, g.OH, g.OW, g.Cout]);
  const dx = empty(xShape);
  runConv(reverse(g), dy, w, null, groups, false, null, dx);
  return dx;
}

/** dw of conv2dTranspose: x [N, H, W, Cin], dy [N, OH, OW, Cout] → wShape [KH, KW, Cout/groups, Cin]. */
export function conv2dTransposeBackpropFilter(x: Tensor, dy: Tensor, wShape: readonly number[], options?: GeometryOptions<Conv2dTransposeOptions>): Tensor {
  const op = 'conv2dTransposeBackpropFilter';
  const o = expectOptions(op, options, ['strides', 'padding', 'outputPadding', 'dilations', 'groups']);
  expectTensor(op, 'x', x, 4);
  expectTensor(op, 'dy', dy, 4);
  checkShapeArg(op, 'wShape', wShape, 4);
  const { g, groups } = conv2dTransposeGeometry(op, x.shape, wShape, o);
  checkDy(op, dy, [g.N, g.OH, g.OW, g.Cout]);
  // The transposed convolution's weights are those of the conv2d from its output to its input:
  // their gradient is that conv2d's filter gradient with dy as the input and x as the output grad.
  return filterGrad(reverse(g), dy, x, wShape, groups, false);
}

/** dx of locallyConnected2d: dy [N, OH, OW, Cout], w [OH, OW, KH, KW, Cin, Cout] → xShape. */
export function locallyConnected2dBackpropInput(dy: Tensor, w: Tensor, xShape: readonly number[], options?: GeometryOptions<LocallyConnected2dOptions>): Tensor {
  const op = 'locallyConnected2dBackpropInput';
  const o = expectOptions(op, options, ['strides', 'padding']);
  expectTensor(op, 'dy', dy, 4);
  expectTensor(op, 'w', w, 6);
  checkShapeArg(op, 'xShape', xShape, 4);
  const g = locallyConnected2dGeometry(op, xShape, w.shape, o);
  checkDy(op, dy, [g.N, g.OH, g.OW, g.Cout]);
  const p = plan(g);
  const dx = zeros(xShape);
  rt().kernels.locally_connected_input_grad_f32(p.M, g.OH * g.OW, g.Cout, g.C, g.KH * g.KW, dx.ptr, p.ind, w.ptr, dy.ptr, p.out);
  return dx;
}

/** dw of locallyConnected2d: x [N, H, W, Cin], dy [N, OH, OW, Cout] → wShape [OH, OW, KH, KW, Cin, Cout]. */
export function locallyConnected2dBackpropFilter(x: Tensor, dy: Tensor, wShape: readonly number[], options?: GeometryOptions<LocallyConnected2dOptions>): Tensor {
  const op = 'locallyConnected2dBackpropFilter';
  const o = expectOptions(op, options, ['strides', 'padding']);
  expectTensor(op, 'x', x, 4);
  expectTensor(op, 'dy', dy, 4);
  checkShapeArg(op, 'wShape', wShape, 6);
  const g = locallyConnected2dGeometry(op, x.shape, wShape, o);
  checkDy(op, dy, [g.N, g.OH, g.OW, g.Cout]);
  const p = plan(g);
  const dw = empty(wShape);
  rt().kernels.locally_connected_filter_grad_f32(g.N, g.OH * g.OW, g.Cout, g.C, g.KH * g.KW, x.ptr, p.ind, dy.ptr, p.out, dw.ptr);
  return dw;
}

/**
 * Bias gradient: dy summed over every axis but the last ([C]), or, with `{ perPixel: true }` for a
 * locally connected layer's [OH, OW, C] bias, over the batch axis only.
 */
export function biasGrad(dy: Tensor, options?: { perPixel?: boolean }): Tensor {
  const op = 'biasGrad';
  const o = expectOptions(op, options, ['perPixel']);
  expectTensor(op, 'dy', dy);
  if (dy.rank < 1) throw new ShapeError(`${op}: dy must have rank ≥ 1, got ${fmtShape(dy.shape)}`);
  const shape = o.perPixel ? dy.shape.slice(1) : [dy.shape[dy.rank - 1]];
  const cols = shape.reduce((a, b) => a * b, 1);
  const db = empty(shape);
  rt().kernels.bias_grad_f32(dy.ptr, cols ? dy.size / cols : 0, cols, db.ptr);
  return db;
}

/** dx of dense: dy [..., units], w [inputs, units] → [..., inputs] (dy · wᵀ). */
export function denseBackpropInput(dy: Tensor, w: Tensor): Tensor {
  const op = 'denseBackpropInput';
  expectTensor(op, 'dy', dy);
  expectTensor(op, 'w', w, 2);
  const [inputs, units] = w.shape;
  if (dy.rank < 1 || dy.shape[dy.rank - 1] !== units) {
    throw new ShapeError(`${op}: dy must end in ${units} units (w ${fmtShape(w.shape)}), got ${fmtShape(dy.shape)}`);
  }
  const M = dy.size / units;
  const dx = empty([...dy.shape.slice(0, -1), inputs]);
  if (M === 0) return dx;
  const rows = denseRows(M, units, inputs);
  const packed = packGemm(w, null, 1, 1, units, inputs, false, true);
  rt().kernels.igemm_f32_4x8(M, inputs, units, 1, dy.ptr, rows, zeroRow(units), packed, dx.ptr, rows + M * 4, -Infinity, Infinity);
  return dx;
}

/** dw of dense: x [..., inputs], dy [..., units] → [inputs, units] (xᵀ · dy over every row). */
export function denseBackpropFilter(x: Tensor, dy: Tensor): Tensor {
  const op = 'denseBackpropFilter';
  expectTensor(op, 'x', x);
  expectTensor(op, 'dy', dy);
  if (x.rank < 1 || dy.rank !== x.rank || x.shape.slice(0, -1).some((v, i) => v !== dy.shape[i])) {
    throw new ShapeError(`${op}: x and dy must agree on every axis but the last, got x ${fmtShape(x.shape)} and dy ${fmtShape(dy.shape)}`);
  }
  const inputs = x.shape[x.rank - 1], units = dy.shape[dy.rank - 1];
  const M = inputs ? x.size / inputs : 0;
  const dw = empty([inputs, units]);
  if (M === 0) dw.view().fill(0);
  else rt().kernels.gemm_tn_f32_4x8(M, inputs, units, x.ptr, inputs * 4, dy.ptr, units * 4, dw.ptr, units * 4, false);
  return dw;
}

// ---- helpers ----

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
    const [[pt, pb], [pl, pr]] = g.pads;
    const Hp = g.H + pt + pb, Wp = g.W + pl + pr + 8, OWp = Math.ceil(g.OW / 4) * 4;
    const xp = scratch(3, (g.N * Hp * Wp + 16) * 4);
    kernels.pad_c1_f32(x.ptr, g.N, g.H, g.W, pt, pb, pl, pr + 8, xp, 16);
    const dyT = scratch(2, g.N * g.Cout * g.OH * OWp * 4);
    kernels.transpose_dy_c1_f32(dy.ptr, g.N, g.OH, g.OW, g.Cout, OWp, dyT);
    kernels.conv2d_c1_filter_grad_f32(xp, g.N, Hp, Wp, g.OH, OWp, g.KH, g.KW, g.Cout, dyT, dw.ptr);
    if (flip) reverseTaps(dw, T, K * g.Cout);
    return dw;
  }
  const chunk = im2colChunk(R);
  const col = scratch(2, chunk * R * 4);
  for (let gi = 0; gi < groups; gi++) {
    for (let p0 = 0; p0 < M; p0 += chunk) {
      const n = Math.min(chunk, M - p0);
      im2col(g, x.ptr + gi * K * 4, K, p0, n, col);
      kernels.gemm_tn_f32_4x8(n, R, Nc, col, R * 4, dy.ptr + (p0 * g.Cout + gi * Nc) * 4, g.Cout * 4, dw.ptr + gi * Nc * 4, g.Cout * 4, p0 > 0);
    }
  }
  if (M === 0) dw.view().fill(0);
  if (flip) reverseTaps(dw, T, K * g.Cout);
  return dw;
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

function checkDy(op: string, dy: Tensor, want: number[]): void {
  if (dy.shape.length !== want.length || dy.shape.some((v, i) => v !== want[i])) {
    throw new ShapeError(`${op}: dy must be ${fmtShape(want)} for these shapes and options, got ${fmtShape(dy.shape)}`);
  }
}
