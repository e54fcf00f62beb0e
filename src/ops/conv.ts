import { ArgumentError, ShapeError, fmtShape } from '../errors.js';
import { rt } from '../runtime/wasm.js';
import { empty, type Tensor } from '../tensor.js';
import { parseActivation, activateInPlace, type Activation } from './activation.js';
import { derived, planned, scratch, zeroRow } from './cache.js';
import { expectBool, expectOptions, expectTensor } from './check.js';
import {
  convOutSize, convPads, convTransposeOutSize, convTransposePads, pair, single,
  type Pads, type Padding, type Pair,
} from './shape.js';

// Convolutions: validate → plan (indirection buffer per geometry, cached) → pack weights (once per
// weight tensor and version, cached) → run the kernel per group. Every convolution here is the
// indirect GEMM of assembly/gemm/igemm.ts over rows of input pixels, except depthwise (its own
// kernel) and locally connected (unshared weights).

export interface Conv2dOptions {
  bias?: Tensor;
  strides?: number | [number, number];
  padding?: Padding;
  dilations?: number | [number, number];
  groups?: number;
  /** true: mathematical convolution (kernel flipped); default cross-correlation. */
  flip?: boolean;
  activation?: Activation;
}

export interface Conv1dOptions {
  bias?: Tensor;
  stride?: number;
  /** 'valid' | 'same' | 'full' | number | [left, right] */
  padding?: 'valid' | 'same' | 'full' | number | [number, number];
  dilation?: number;
  groups?: number;
  flip?: boolean;
  activation?: Activation;
}

export interface Conv2dTransposeOptions {
  bias?: Tensor;
  strides?: number | [number, number];
  padding?: Exclude<Padding, 'full'>;
  outputPadding?: number | [number, number];
  dilations?: number | [number, number];
  groups?: number;
  activation?: Activation;
}

export interface LocallyConnected2dOptions {
  bias?: Tensor;
  strides?: number | [number, number];
  padding?: Padding;
  activation?: Activation;
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

const CONV2D_KEYS = ['bias', 'strides', 'padding', 'dilations', 'groups', 'flip', 'activation'] as const;

/**
 * 2-D convolution of NHWC x [N, H, W, Cin] with HWIO w [KH, KW, Cin/groups, Cout] → [N, OH, OW, Cout].
 * Cross-correlation unless `flip`; `groups = Cin` is depthwise.
 */
export function conv2d(x: Tensor, w: Tensor, options?: Conv2dOptions): Tensor {
  const op = 'conv2d';
  const o = expectOptions(op, options, CONV2D_KEYS);
  expectTensor(op, 'x', x, 4);
  expectTensor(op, 'w', w, 4);
  const { g, groups, flip } = conv2dGeometry(op, x.shape, w.shape, o);
  const act = parseActivation(op, o.activation);
  const bias = checkBias(op, o.bias, g.Cout);
  const y = empty([g.N, g.OH, g.OW, g.Cout]);
  runConv(g, x, w, bias, groups, flip, act, y);
  return y;
}

/** Check conv2d's shapes and options and resolve its geometry (shared with its gradients). */
export function conv2dGeometry(op: string, xShape: readonly number[], wShape: readonly number[], o: Conv2dOptions): { g: ConvGeometry; groups: number; flip: boolean } {
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

/** 1-D convolution of x [N, L, Cin] with w [K, Cin/groups, Cout] → [N, OL, Cout]. */
export function conv1d(x: Tensor, w: Tensor, options?: Conv1dOptions): Tensor {
  const op = 'conv1d';
  const o = expectOptions(op, options, CONV1D_KEYS);
  expectTensor(op, 'x', x, 3);
  expectTensor(op, 'w', w, 3);
  const { g, groups, flip } = conv1dGeometry(op, x.shape, w.shape, o);
  const act = parseActivation(op, o.activation);
  const bias = checkBias(op, o.bias, g.Cout);
  const y = empty([g.N, g.OW, g.Cout]);
  runConv(g, x, w, bias, groups, flip, act, y);
  return y;
}

const CONV1D_KEYS = ['bias', 'stride', 'padding', 'dilation', 'groups', 'flip', 'activation'] as const;

/** conv1d as a one-row conv2d: x [N, L, C] is [N, 1, L, C] in memory, w [K, Cin, Cout] is [1, K, Cin, Cout]. */
export function conv1dGeometry(op: string, xShape: readonly number[], wShape: readonly number[], o: Conv1dOptions): { g: ConvGeometry; groups: number; flip: boolean } {
  const [N, L, C] = xShape;
  const [K, Cig, Cout] = wShape;
  const groups = single(op, 'groups', o.groups, 1);
  checkGroups(op, xShape, wShape, C, Cig, Cout, groups);
  const s: Pair = [1, single(op, 'stride', o.stride, 1)];
  const d: Pair = [1, single(op, 'dilation', o.dilation, 1)];
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

/**
 * Transposed convolution (the gradient of conv2d with respect to its input) of x [N, H, W, Cin]
 * with w [KH, KW, Cout/groups, Cin] — the very weights of the conv2d it transposes.
 * Output size (PyTorch): (in−1)·s − padBefore − padAfter + d·(K−1) + 1 + outputPadding; 'same' = in·s.
 */
export function conv2dTranspose(x: Tensor, w: Tensor, options?: Conv2dTransposeOptions): Tensor {
  const op = 'conv2dTranspose';
  const o = expectOptions(op, options, CONV2D_TRANSPOSE_KEYS);
  expectTensor(op, 'x', x, 4);
  expectTensor(op, 'w', w, 4);
  const { g, groups } = conv2dTransposeGeometry(op, x.shape, w.shape, o);
  const act = parseActivation(op, o.activation);
  const bias = checkBias(op, o.bias, g.Cout);
  const y = empty([g.N, g.OH, g.OW, g.Cout]);
  runConv(g, x, w, bias, groups, false, act, y);
  return y;
}

const CONV2D_TRANSPOSE_KEYS = ['bias', 'strides', 'padding', 'outputPadding', 'dilations', 'groups', 'activation'] as const;

/** Check conv2dTranspose's shapes and options and resolve its (transposed) geometry. */
export function conv2dTransposeGeometry(op: string, xShape: readonly number[], wShape: readonly number[], o: Conv2dTransposeOptions): { g: ConvGeometry; groups: number } {
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
export function locallyConnected2dGeometry(op: string, xShape: readonly number[], wShape: readonly number[], o: LocallyConnected2dOptions): ConvGeometry {
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
  kernels.locally_connected_f32(p.M, OH * OW, Cout, C, KH * KW, x.ptr, p.ind, w.ptr, biasPtr, y.ptr, p.out);
  if (act) activateInPlace(y, act);
  return y;
}

// ---- shared machinery ----

function checkGroups(op: string, xShape: readonly number[], wShape: readonly number[], C: number, Cig: number, Cout: number, groups: number): void {
  if (C % groups !== 0) throw new ShapeError(`${op}: groups ${groups} does not divide the input channels ${C} (x ${fmtShape(xShape)})`);
  if (Cout % groups !== 0) throw new ShapeError(`${op}: groups ${groups} does not divide the output channels ${Cout} (w ${fmtShape(wShape)})`);
  if (Cig * groups !== C) {
    throw new ShapeError(`${op}: input has ${C} channels but weights expect ${Cig * groups} (w ${fmtShape(wShape)}${groups > 1 ? `, groups ${groups}` : ''})`);
  }
  if (wShape.some((v) => v < 1)) throw new ShapeError(`${op}: weights must have positive sizes, got w ${fmtShape(wShape)}`);
}

export function checkBias(op: string, bias: unknown, Cout: number): Tensor | null {
  if (bias === undefined) return null;
  const b = expectTensor(op, 'bias', bias, 1);
  if (b.shape[0] !== Cout) throw new ShapeError(`${op}: bias has ${b.shape[0]} elements but there are ${Cout} output channels (bias ${fmtShape(b.shape)})`);
  return b;
}

/** Row indirection for a geometry: M rows × T taps of input byte offsets (−1 = padding), M output offsets. */
export interface Plan { M: number; T: number; ind: number; out: number }

/** Build (or fetch from the LRU) the indirection of a convolution geometry. */
export function plan(g: ConvGeometry): Plan {
  const { N, H, W, C, OH, OW, KH, KW, s, d, pads, Cout, transposed } = g;
  const M = N * OH * OW;
  const T = KH * KW;
  const key = `${transposed ? 'T' : 'C'}:${N},${H},${W},${C}:${OH},${OW},${Cout}:${KH},${KW}:${s}:${d}:${pads.flat()}`;
  const ptr = planned(key, (M * T + M) * 4, (base) => {
    const i32 = rt().heap.i32();
    const ind = base >>> 2;
    const out = ind + M * T;
    const [pt, pl] = [pads[0][0], pads[1][0]];
    let m = 0;
    const emit = (n: number, oy: number, ox: number): void => {
      for (let ky = 0; ky < KH; ky++) {
        for (let kx = 0; kx < KW; kx++) {
          let iy: number, ix: number;
          if (transposed) {
            // Output row oy receives from input row iy where oy = iy·s − pt + ky·d.
            const ny = oy + pt - ky * d[0], nx = ox + pl - kx * d[1];
            iy = ny % s[0] === 0 ? ny / s[0] : -1;
            ix = nx % s[1] === 0 ? nx / s[1] : -1;
          } else {
            iy = oy * s[0] - pt + ky * d[0];
            ix = ox * s[1] - pl + kx * d[1];
          }
          const inside = iy >= 0 && iy < H && ix >= 0 && ix < W;
          i32[ind + m * T + ky * KW + kx] = inside ? ((n * H + iy) * W + ix) * C * 4 : -1;
        }
      }
      i32[out + m] = ((n * OH + oy) * OW + ox) * Cout * 4;
      m++;
    };
    for (let n = 0; n < N; n++) {
      if (!transposed) {
        for (let oy = 0; oy < OH; oy++) for (let ox = 0; ox < OW; ox++) emit(n, oy, ox);
      } else {
        // Group output pixels by stride phase, so the four rows of a GEMM tile share their live
        // taps and the kernel skips the taps that fall in the stride's holes.
        for (let py = 0; py < s[0]; py++) for (let px = 0; px < s[1]; px++) {
          for (let oy = py; oy < OH; oy += s[0]) for (let ox = px; ox < OW; ox += s[1]) emit(n, oy, ox);
        }
      }
    }
  });
  return { M, T, ind: ptr, out: ptr + M * T * 4 };
}

/** im2col rows of output pixels p0 .. p0+n−1 of a (non-transposed) geometry, K channels from x. */
export function im2col(g: ConvGeometry, x: number, K: number, p0: number, n: number, col: number): void {
  rt().kernels.im2col_nhwc_f32(x, g.H, g.W, g.C, K, g.OH, g.OW, g.KH, g.KW, g.s[0], g.s[1], g.d[0], g.d[1], g.pads[0][0], g.pads[1][0], p0, n, col);
}

/** Output pixels per im2col chunk: about 64 KiB of rows of R floats, a multiple of 4. */
export function im2colChunk(R: number): number {
  return Math.max(16, Math.min(1024, Math.floor(16384 / R / 4) * 4));
}

/** Row indirection of a dense product: row m reads m·K floats in, writes m·N floats out. */
export function denseRows(M: number, K: number, N: number): number {
  return planned(`dense:${M}:${K}:${N}`, M * 8, (ptr) => {
    const i32 = rt().heap.i32();
    for (let m = 0; m < M; m++) {
      i32[(ptr >>> 2) + m] = m * K * 4;
      i32[(ptr >>> 2) + M + m] = m * N * 4;
    }
  });
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
  const fuseRelu = act?.name === 'relu';
  const ymin = fuseRelu ? 0 : -Infinity;
  const K = g.C / groups, Nc = g.Cout / groups;
  const plain = !g.transposed && g.s[0] === 1 && g.s[1] === 1 && g.d[0] === 1 && g.d[1] === 1;
  if (useWinograd(g, groups)) runWinograd(g, x, w, bias, flip, ymin, y);
  else if (K === 1 && Nc === 1) runDepthwise(g, x, w, bias, flip, ymin, y);
  else if (plain && groups === 1 && g.C === 1) runSingleChannel(g, x, w, bias, flip, ymin, y);
  else if (!g.transposed && K < 8 && g.KH * g.KW > 1) runIm2col(g, x, w, bias, groups, flip, ymin, y);
  else runIndirect(g, x, w, bias, groups, flip, ymin, y);
  if (act && !fuseRelu) activateInPlace(y, act);
}

/** The general path: the packed indirect GEMM over the tap indirection, per group. */
function runIndirect(g: ConvGeometry, x: Tensor, w: Tensor, bias: Tensor | null, groups: number, flip: boolean, ymin: number, y: Tensor): void {
  const T = g.KH * g.KW, K = g.C / groups, Nc = g.Cout / groups;
  const p = plan(g);
  const zero = zeroRow(K);
  const packed = packGemm(w, bias, groups, T, K, Nc, flip, g.transposed);
  const blockBytes = Math.ceil(Nc / 8) * (8 + T * K * 8) * 4;
  for (let gi = 0; gi < groups; gi++) {
    rt().kernels.igemm_f32_4x8(
      p.M, Nc, K, T, x.ptr + gi * K * 4, p.ind, zero, packed + gi * blockBytes,
      y.ptr + gi * Nc * 4, p.out, ymin, Infinity,
    );
  }
}

/** Depthwise (multiplier 1), forward or transposed: the tap indirection feeds its own kernel. */
function runDepthwise(g: ConvGeometry, x: Tensor, w: Tensor, bias: Tensor | null, flip: boolean, ymin: number, y: Tensor): void {
  const T = g.KH * g.KW;
  const p = plan(g);
  const packed = packDepthwise(w, bias, T, g.C, flip);
  rt().kernels.dwconv_f32(p.M, g.C, T, x.ptr, p.ind, packed, y.ptr, p.out, ymin, Infinity);
}

/**
 * Few channels per tap (first layers): gather a chunk of im2col rows, so the GEMM runs with
 * K' = T·K on contiguous rows instead of a short loop per tap. The packed layout
 * [bias][T][K][8] is the same as [bias][1][T·K][8], so the weights are shared with the tap path.
 */
function runIm2col(g: ConvGeometry, x: Tensor, w: Tensor, bias: Tensor | null, groups: number, flip: boolean, ymin: number, y: Tensor): void {
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
      rt().kernels.igemm_f32_4x8(n, Nc, R, 1, col, rows, zero, packed + gi * blockBytes, y.ptr + (p0 * g.Cout + gi * Nc) * 4, rows + chunk * 4, ymin, Infinity);
    }
  }
}

/**
 * Pack weights for the indirect GEMM, every group one after another. Column n of group g, tap t,
 * row k reads w at base + t·st + k·sk + n·sn (conv2d HWIO, conv2dTranspose [KH,KW,Cout/g,Cin] and
 * dense [in, units] are all affine in (t, k, n)); flip reverses the taps.
 */
export function packGemm(w: Tensor, bias: Tensor | null, groups: number, T: number, K: number, Nc: number, flip: boolean, transposed: boolean): number {
  const blocks = Math.ceil(Nc / 8);
  const blockFloats = 8 + T * K * 8;
  const key = `gemm:${groups}:${T}:${K}:${Nc}:${flip ? 1 : 0}:${transposed ? 1 : 0}`;
  const stamp = `${w.version}:${bias ? `${bias.id}.${bias.version}` : '-'}`;
  return derived(w, key, stamp, groups * blocks * blockFloats * 4, (ptr) => {
    const f = rt().heap.f32();
    const src = w.ptr >>> 2;
    const b = bias ? bias.ptr >>> 2 : -1;
    const Cout = Nc * groups, Cin = K * groups;
    let dst = ptr >>> 2;
    for (let gi = 0; gi < groups; gi++) {
      // Affine strides of w for this layout.
      let base: number, st: number, sk: number, sn: number;
      if (transposed) { base = gi * K; st = Nc * Cin; sk = 1; sn = Cin; }
      else { base = gi * Nc; st = K * Cout; sk = Cout; sn = 1; }
      for (let blk = 0; blk < blocks; blk++) {
        for (let j = 0; j < 8; j++) {
          const n = blk * 8 + j;
          f[dst + j] = n < Nc && b >= 0 ? f[b + gi * Nc + n] : 0;
        }
        dst += 8;
        for (let t = 0; t < T; t++) {
          const tt = flip ? T - 1 - t : t;
          for (let k = 0; k < K; k++) {
            const row = src + base + tt * st + k * sk;
            for (let j = 0; j < 8; j++) {
              const n = blk * 8 + j;
              f[dst + j] = n < Nc ? f[row + n * sn] : 0;
            }
            dst += 8;
          }
        }
      }
    }
  });
}

/** Depthwise weights [KH, KW, 1, C] → [bias C][T][C] with taps flipped if asked. */
function packDepthwise(w: Tensor, bias: Tensor | null, T: number, C: number, flip: boolean): number {
  const stamp = `${w.version}:${bias ? `${bias.id}.${bias.version}` : '-'}`;
  return derived(w, `dw:${flip ? 1 : 0}`, stamp, (T + 1) * C * 4, (ptr) => {
    const f = rt().heap.f32();
    const dst = ptr >>> 2, src = w.ptr >>> 2;
    for (let c = 0; c < C; c++) f[dst + c] = bias ? f[(bias.ptr >>> 2) + c] : 0;
    for (let t = 0; t < T; t++) {
      const tt = flip ? T - 1 - t : t;
      f.copyWithin(dst + (t + 1) * C, src + tt * C, src + (tt + 1) * C);
    }
  });
}

// ---- one input channel ----

/**
 * Stride-1 convolution of single-channel images (first layers): the input is copied once into a
 * zero-padded scratch image, then a kernel vectorised over output pixels runs with no im2col.
 */
function runSingleChannel(g: ConvGeometry, x: Tensor, w: Tensor, bias: Tensor | null, flip: boolean, ymin: number, y: Tensor): void {
  const { kernels } = rt();
  const [[pt, pb], [pl, pr]] = g.pads;
  const Hp = g.H + pt + pb, Wp = g.W + pl + pr;
  const padded = scratch(3, (g.N * Hp * Wp + 8) * 4);
  kernels.pad_c1_f32(x.ptr, g.N, g.H, g.W, pt, pb, pl, pr, padded, 8);
  const packed = packSingleChannel(w, g.KH * g.KW, g.Cout, flip);
  kernels.conv2d_c1_f32(padded, g.N, Hp, Wp, g.OH, g.OW, g.KH, g.KW, g.Cout, packed, bias ? bias.ptr : 0, y.ptr, ymin, Infinity);
}

/** Weights [KH, KW, 1, Cout] → blocks of 6 output channels, each [T][6] (zeros past Cout). */
function packSingleChannel(w: Tensor, T: number, Cout: number, flip: boolean): number {
  const blocks = Math.ceil(Cout / 6);
  return derived(w, `c1:${flip ? 1 : 0}`, `${w.version}`, blocks * T * 6 * 4, (ptr) => {
    const f = rt().heap.f32();
    const src = w.ptr >>> 2;
    let dst = ptr >>> 2;
    for (let b = 0; b < blocks; b++) {
      for (let t = 0; t < T; t++) {
        const tt = flip ? T - 1 - t : t;
        for (let j = 0; j < 6; j++) {
          const o = b * 6 + j;
          f[dst++] = o < Cout ? f[src + tt * Cout + o] : 0;
        }
      }
    }
  });
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
function runWinograd(g: ConvGeometry, x: Tensor, w: Tensor, bias: Tensor | null, flip: boolean, ymin: number, y: Tensor): void {
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
  kernels.winograd_f23_output_transform(m, g.N, g.OH, g.OW, g.Cout, TH, TW, bias ? bias.ptr : 0, y.ptr, ymin, Infinity);
}

/** U[ξ] = (G·g·Gᵀ)[ξ] for every (cin, cout), packed for the GEMM as 16 blocks of [Cin × Cout] (no bias). */
function packWinograd(w: Tensor, C: number, Cout: number, flip: boolean): number {
  const blocks = Math.ceil(Cout / 8);
  const blockFloats = 8 + C * 8;
  return derived(w, `winograd:${flip ? 1 : 0}`, `${w.version}`, 16 * blocks * blockFloats * 4, (ptr) => {
    const f = rt().heap.f32();
    const src = w.ptr >>> 2;
    const U = new Float32Array(16 * C * Cout);
    const gk = new Float64Array(9), t = new Float64Array(12);
    for (let c = 0; c < C; c++) {
      for (let o = 0; o < Cout; o++) {
        for (let k = 0; k < 9; k++) gk[k] = f[src + ((flip ? 8 - k : k) * C + c) * Cout + o];
        // t = G·g (4×3), G = [[1,0,0],[½,½,½],[½,−½,½],[0,0,1]].
        for (let j = 0; j < 3; j++) {
          const a = gk[j], b = gk[3 + j], d = gk[6 + j];
          t[j] = a; t[3 + j] = (a + b + d) / 2; t[6 + j] = (a - b + d) / 2; t[9 + j] = d;
        }
        // U = t·Gᵀ (4×4).
        for (let i = 0; i < 4; i++) {
          const a = t[i * 3], b = t[i * 3 + 1], d = t[i * 3 + 2];
          const row = [a, (a + b + d) / 2, (a - b + d) / 2, d];
          for (let j = 0; j < 4; j++) U[((i * 4 + j) * C + c) * Cout + o] = row[j];
        }
      }
    }
    let dst = ptr >>> 2;
    for (let xi = 0; xi < 16; xi++) {
      for (let blk = 0; blk < blocks; blk++) {
        f.fill(0, dst, dst + 8);
        dst += 8;
        for (let c = 0; c < C; c++) {
          for (let j = 0; j < 8; j++) {
            const o = blk * 8 + j;
            f[dst + j] = o < Cout ? U[(xi * C + c) * Cout + o] : 0;
          }
          dst += 8;
        }
      }
    }
  });
}
