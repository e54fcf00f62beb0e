import { ShapeError, fmtShape } from '../errors.js';
import { rt } from '../runtime/wasm.js';
import { empty, type Tensor } from '../tensor.js';
import { parseActivation, activateInPlace, type Activation } from './activation.js';
import { derived, scratch, zeroRow } from './cache.js';
import { expectOptions, expectTensor } from './check.js';
import {
  denseRows, im2col, im2colChunk, packDepthwise, packGemm, packSingleChannel, packWinograd, padSingleChannel, plan,
} from './pack.js';
import {
  conv1dGeometry, conv2dGeometry, conv2dTransposeGeometry, locallyConnected2dGeometry,
  type Conv1dGeometryOptions, type Conv2dGeometryOptions, type Conv2dTransposeGeometryOptions, type ConvGeometry,
  type LocallyConnected2dGeometryOptions,
} from './shape.js';

// Convolutions: validate → plan (indirection buffer per geometry, cached) → pack weights (once per
// weight tensor and version, cached) → run the kernel per group. Every convolution here is the
// indirect GEMM of assembly/gemm/igemm.ts over rows of input pixels, except depthwise (its own
// kernel) and locally connected (unshared weights). Geometry comes from shape.ts (conv2dGeometry
// and its siblings), plans and packed weights from pack.ts; here: the ops and the dispatch policy.

export interface Conv2dOptions extends Conv2dGeometryOptions {
  bias?: Tensor;
  activation?: Activation;
}

export interface Conv1dOptions extends Conv1dGeometryOptions {
  bias?: Tensor;
  activation?: Activation;
}

export interface Conv2dTransposeOptions extends Conv2dTransposeGeometryOptions {
  bias?: Tensor;
  activation?: Activation;
}

export interface LocallyConnected2dOptions extends LocallyConnected2dGeometryOptions {
  bias?: Tensor;
  activation?: Activation;
}

const CONV2D_KEYS = ['bias', 'strides', 'padding', 'dilations', 'groups', 'flip', 'activation'] as const;

/**
 * 2-D convolution of NHWC x [N, H, W, Cin] with HWIO w [KH, KW, Cin/groups, Cout] → [N, OH, OW, Cout].
 * Cross-correlation unless `flip`; `groups = Cin` is depthwise.
 */
export function conv2d(x: Tensor, w: Tensor, options?: Conv2dOptions): Tensor {
  return convOp('conv2d', CONV2D_KEYS, 4, x, w, options, conv2dGeometry);
}

/** 1-D convolution of x [N, L, Cin] with w [K, Cin/groups, Cout] → [N, OL, Cout]. */
export function conv1d(x: Tensor, w: Tensor, options?: Conv1dOptions): Tensor {
  return convOp('conv1d', CONV1D_KEYS, 3, x, w, options, conv1dGeometry);
}

const CONV1D_KEYS = ['bias', 'strides', 'padding', 'dilations', 'groups', 'flip', 'activation'] as const;

/**
 * Transposed convolution (the gradient of conv2d with respect to its input) of x [N, H, W, Cin]
 * with w [KH, KW, Cout/groups, Cin] — the very weights of the conv2d it transposes.
 * Output size (PyTorch): (in−1)·s − padBefore − padAfter + d·(K−1) + 1 + outputPadding; 'same' = in·s.
 */
export function conv2dTranspose(x: Tensor, w: Tensor, options?: Conv2dTransposeOptions): Tensor {
  return convOp('conv2dTranspose', CONV2D_TRANSPOSE_KEYS, 4, x, w, options, transposeGeometry);
}

const CONV2D_TRANSPOSE_KEYS = ['bias', 'strides', 'padding', 'outputPadding', 'dilations', 'groups', 'activation'] as const;

/** conv2dTranspose's geometry in the shape convOp takes (a transposed convolution has no flip). */
function transposeGeometry(op: string, xShape: readonly number[], wShape: readonly number[], o: Conv2dTransposeGeometryOptions) {
  return { ...conv2dTransposeGeometry(op, xShape, wShape, o), flip: false };
}

/** What conv2d, conv1d and conv2dTranspose share: validate, resolve the geometry, allocate y, run. */
function convOp<O extends { bias?: Tensor; activation?: Activation }>(
  op: string, keys: readonly string[], rank: number, x: Tensor, w: Tensor, options: O | undefined,
  geometry: (op: string, xShape: readonly number[], wShape: readonly number[], o: O) => { g: ConvGeometry; groups: number; flip: boolean },
): Tensor {
  const o = expectOptions(op, options, keys);
  expectTensor(op, 'x', x, rank);
  expectTensor(op, 'w', w, rank);
  const { g, groups, flip } = geometry(op, x.shape, w.shape, o);
  const act = parseActivation(op, o.activation);
  const bias = checkBias(op, o.bias, g.Cout);
  const y = empty(rank === 3 ? [g.N, g.OW, g.Cout] : [g.N, g.OH, g.OW, g.Cout]);
  runConv(g, x, w, bias, groups, flip, act, y);
  return y;
}

/**
 * Locally connected (unshared) 2-D convolution: x [N, H, W, Cin], w [OH, OW, KH, KW, Cin, Cout],
 * bias [OH, OW, Cout] or [Cout] → [N, OH, OW, Cout].
 */
export function locallyConnected2d(x: Tensor, w: Tensor, options?: LocallyConnected2dOptions): Tensor {
  const op = 'locallyConnected2d';
  const o = expectOptions(op, options, ['bias', 'strides', 'padding', 'activation']);
  expectTensor(op, 'x', x, 4);
  expectTensor(op, 'w', w, 6);
  const g = locallyConnected2dGeometry(op, x.shape, w.shape, o);
  const { N, OH, OW, Cout, C, KH, KW } = g;
  let biasPtr = 0;
  let biasPerPixel = false;
  if (o.bias !== undefined) {
    const b = expectTensor(op, 'bias', o.bias);
    const perPixel = b.rank === 3 && b.shape[0] === OH && b.shape[1] === OW && b.shape[2] === Cout;
    if (!perPixel && !(b.rank === 1 && b.shape[0] === Cout)) {
      throw new ShapeError(`${op}: bias must be [${OH},${OW},${Cout}] or [${Cout}], got ${fmtShape(b.shape)}`);
    }
    biasPtr = b.ptr;
    biasPerPixel = perPixel;
  }
  const act = parseActivation(op, o.activation);
  const p = plan(g);
  const y = empty([N, OH, OW, Cout]);
  const { kernels } = rt();
  if (biasPtr && !biasPerPixel) {
    // The kernel reads a bias row per output pixel; a per-channel bias is expanded to that once
    // (cached on the bias tensor) rather than special-cased in the kernel.
    const bt = o.bias as Tensor;
    biasPtr = derived(bt, `lc-bias:${OH}x${OW}`, `${bt.version}`, OH * OW * Cout * 4, (ptr) => {
      const f = rt().heap.f32();
      const src = f.subarray(bt.ptr >>> 2, (bt.ptr >>> 2) + Cout);
      for (let i = 0; i < OH * OW; i++) f.set(src, (ptr >>> 2) + i * Cout);
    });
  }
  kernels.locallyconnected2d_nhwc_f32(p.M, OH * OW, Cout, C, KH * KW, x.ptr, p.ind, w.ptr, biasPtr, y.ptr, p.out);
  if (act) activateInPlace(y, act);
  return y;
}

// ---- shared machinery ----

export function checkBias(op: string, bias: unknown, Cout: number): Tensor | null {
  if (bias === undefined) return null;
  const b = expectTensor(op, 'bias', bias, 1);
  if (b.shape[0] !== Cout) throw new ShapeError(`${op}: bias has ${b.shape[0]} elements but there are ${Cout} output channels (bias ${fmtShape(b.shape)})`);
  return b;
}

/**
 * @internal
 * Run a (possibly grouped, possibly transposed) convolution into y. Depthwise (one input and one
 * output channel per group) uses its own kernel; everything else the packed indirect GEMM per group.
 */
export function runConv(
  g: ConvGeometry, x: Tensor, w: Tensor, bias: Tensor | null, groups: number, flip: boolean,
  act: ReturnType<typeof parseActivation>, y: Tensor,
): void {
  if (g.N * g.OH * g.OW === 0) return;
  // relu and relu6 are the kernels' output clamp; any other activation is a pass over y.
  const clamped = act?.name === 'relu' || act?.name === 'relu6';
  const ymin = clamped ? 0 : -Infinity, ymax = act?.name === 'relu6' ? 6 : Infinity;
  const K = g.C / groups, Nc = g.Cout / groups;
  const plain = !g.transposed && g.s[0] === 1 && g.s[1] === 1 && g.d[0] === 1 && g.d[1] === 1;
  if (useWinograd(g, groups)) runWinograd(g, x, w, bias, flip, ymin, ymax, y);
  else if (K === 1 && Nc === 1) runDepthwise(g, x, w, bias, flip, ymin, ymax, y);
  else if (plain && groups === 1 && g.C === 1) runSingleChannel(g, x, w, bias, flip, ymin, ymax, y);
  else if (!g.transposed && K < 8 && g.KH * g.KW > 1) runIm2col(g, x, w, bias, groups, flip, ymin, ymax, y);
  else runIndirect(g, x, w, bias, groups, flip, ymin, ymax, y);
  if (act && !clamped) activateInPlace(y, act);
}

/** The general path: the packed indirect GEMM over the tap indirection, per group. */
function runIndirect(g: ConvGeometry, x: Tensor, w: Tensor, bias: Tensor | null, groups: number, flip: boolean, ymin: number, ymax: number, y: Tensor): void {
  const T = g.KH * g.KW, K = g.C / groups, Nc = g.Cout / groups;
  const p = plan(g);
  const zero = zeroRow(K);
  const packed = packGemm(w, bias, groups, T, K, Nc, flip, g.transposed);
  const blockBytes = Math.ceil(Nc / 8) * (8 + T * K * 8) * 4;
  for (let gi = 0; gi < groups; gi++) {
    rt().kernels.igemm_f32_4x8(
      p.M, Nc, K, T, x.ptr + gi * K * 4, p.ind, zero, packed + gi * blockBytes,
      y.ptr + gi * Nc * 4, p.out, ymin, ymax,
    );
  }
}

/** Depthwise (multiplier 1), forward or transposed: the tap indirection feeds its own kernel. */
function runDepthwise(g: ConvGeometry, x: Tensor, w: Tensor, bias: Tensor | null, flip: boolean, ymin: number, ymax: number, y: Tensor): void {
  const T = g.KH * g.KW;
  const p = plan(g);
  const packed = packDepthwise(w, bias, T, g.C, flip);
  rt().kernels.conv2d_nhwc_f32_depthwise(p.M, g.C, T, x.ptr, p.ind, packed, y.ptr, p.out, ymin, ymax);
}

/**
 * Few channels per tap (first layers): gather a chunk of im2col rows, so the GEMM runs with
 * K' = T·K on contiguous rows instead of a short loop per tap. The packed layout
 * [bias][T][K][8] is the same as [bias][1][T·K][8], so the weights are shared with the tap path.
 */
function runIm2col(g: ConvGeometry, x: Tensor, w: Tensor, bias: Tensor | null, groups: number, flip: boolean, ymin: number, ymax: number, y: Tensor): void {
  const T = g.KH * g.KW, K = g.C / groups, Nc = g.Cout / groups, R = T * K;
  const packed = packGemm(w, bias, groups, T, K, Nc, flip, false);
  const blockBytes = Math.ceil(Nc / 8) * (8 + R * 8) * 4;
  const chunk = im2colChunk(R);
  const col = scratch(2, chunk * R * 4);
  const rows = denseRows(chunk, R, g.Cout);
  const zero = zeroRow(1);
  const M = g.N * g.OH * g.OW;
  for (let gi = 0; gi < groups; gi++) {
    for (let p0 = 0; p0 < M; p0 += chunk) {
      const n = Math.min(chunk, M - p0);
      im2col(g, x.ptr + gi * K * 4, K, p0, n, col);
      rt().kernels.igemm_f32_4x8(n, Nc, R, 1, col, rows, zero, packed + gi * blockBytes, y.ptr + (p0 * g.Cout + gi * Nc) * 4, rows + chunk * 4, ymin, ymax);
    }
  }
}

// ---- one input channel ----

/**
 * Stride-1 convolution of single-channel images (first layers): the input is copied once into a
 * zero-padded scratch image, then a kernel vectorised over output pixels runs with no im2col.
 */
function runSingleChannel(g: ConvGeometry, x: Tensor, w: Tensor, bias: Tensor | null, flip: boolean, ymin: number, ymax: number, y: Tensor): void {
  const padded = padSingleChannel(g, x.ptr, 0);
  const packed = packSingleChannel(w, g.KH * g.KW, g.Cout, flip);
  rt().kernels.conv2d_nhwc_f32_c1(padded.ptr, g.N, padded.Hp, padded.Wp, g.OH, g.OW, g.KH, g.KW, g.Cout, packed, bias ? bias.ptr : 0, y.ptr, ymin, ymax);
}

// ---- Winograd F(2×2, 3×3) ----

/** Which 3×3 convolutions take the Winograd path: 'auto' (enough channels to pay for the transforms), or forced for tests and benchmarks. */
export const convPolicy: { winograd: 'auto' | 'always' | 'never' } = { winograd: 'auto' };

function useWinograd(g: ConvGeometry, groups: number): boolean {
  const eligible = !g.transposed && groups === 1 && g.KH === 3 && g.KW === 3 &&
    g.s[0] === 1 && g.s[1] === 1 && g.d[0] === 1 && g.d[1] === 1;
  if (!eligible || convPolicy.winograd === 'never') return false;
  return convPolicy.winograd === 'always' || (g.C >= 16 && g.Cout >= 16);
}

/** Transformed input tiles → 16 packed GEMMs → output transform (bias, relu clamp). */
function runWinograd(g: ConvGeometry, x: Tensor, w: Tensor, bias: Tensor | null, flip: boolean, ymin: number, ymax: number, y: Tensor): void {
  const { kernels } = rt();
  const TH = Math.ceil(g.OH / 2), TW = Math.ceil(g.OW / 2);
  const tiles = g.N * TH * TW;
  const inPlane = tiles * g.C * 4, outPlane = tiles * g.Cout * 4;
  const u = packWinograd(w, g.C, g.Cout, flip);
  const v = scratch(0, 16 * inPlane);
  const m = scratch(1, 16 * outPlane);
  const zero = zeroRow(g.C);
  kernels.winograd_f23_input_transform(x.ptr, g.N, g.H, g.W, g.C, TH, TW, g.pads[0][0], g.pads[1][0], zero, v);
  const rows = denseRows(tiles, g.C, g.Cout);
  const blockBytes = Math.ceil(g.Cout / 8) * (8 + g.C * 8) * 4;
  for (let xi = 0; xi < 16; xi++) {
    kernels.igemm_f32_4x8(tiles, g.Cout, g.C, 1, v + xi * inPlane, rows, zero, u + xi * blockBytes, m + xi * outPlane, rows + tiles * 4, -Infinity, Infinity);
  }
  kernels.winograd_f23_output_transform(m, g.N, g.OH, g.OW, g.Cout, TH, TW, bias ? bias.ptr : 0, y.ptr, ymin, ymax);
}

