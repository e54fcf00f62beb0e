import { ShapeError, fmtShape } from '../errors.js';
import { rt } from '../runtime/wasm.js';
import { empty, type Tensor } from '../tensor.js';
import { parseActivation, activateInPlace, epilogueArgs, type Activation } from './activation.js';
import { derived, scratch, zeroRow } from './cache.js';
import { expectOptions, expectTensor } from './check.js';
import { poolThreads, runCalls, split } from './parallel.js';
import type { Call } from '../runtime/pool.js';
import {
  denseRows, packDepthwise, packGemm, packSingleChannel, packWinograd, padImage, padSingleChannel, plan, directTaps,
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
 * @internal
 * conv2d written into channels [c0, c0 + Cout) of y [N, OH, OW, Ct] instead of a new tensor: the
 * inference plan lets the branches of a channel concatenation write their slices in place.
 */
export function conv2dInto(x: Tensor, w: Tensor, options: Conv2dOptions | undefined, y: Tensor, c0: number): void {
  const op = 'conv2d';
  const o = expectOptions(op, options, CONV2D_KEYS);
  expectTensor(op, 'x', x, 4);
  expectTensor(op, 'w', w, 4);
  const { g, groups, flip } = conv2dGeometry(op, x.shape, w.shape, o);
  const act = parseActivation(op, o.activation);
  const bias = checkBias(op, o.bias, g.Cout);
  const [N, OH, OW, Ct] = y.shape;
  if (y.rank !== 4 || N !== g.N || OH !== g.OH || OW !== g.OW || !Number.isInteger(c0) || c0 < 0 || c0 + g.Cout > Ct) {
    throw new ShapeError(`${op}: output slice [${c0}, ${c0 + g.Cout}) of ${fmtShape(y.shape)} does not fit [${g.N}, ${g.OH}, ${g.OW}, ${g.Cout}]`);
  }
  runConv(g, x, w, bias, groups, flip, act, y, c0);
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
 * With y wider than Cout, the result goes to channels [c0, c0 + Cout) of each output pixel: the
 * GEMM paths store there directly, the others (and activations that are a pass of their own) via
 * a temporary and a strided copy. Activations other than the clamps are fused into the tap GEMM
 * and depthwise kernels (applied to chunks of output rows while they are in cache: conv-act.ts),
 * else a pass over y.
 */
export function runConv(
  g: ConvGeometry, x: Tensor, w: Tensor, bias: Tensor | null, groups: number, flip: boolean,
  act: ReturnType<typeof parseActivation>, y: Tensor, c0 = 0,
): void {
  if (g.N * g.OH * g.OW === 0) return;
  // relu and relu6 are the kernels' output clamp; any other activation is a pass over y.
  const clamped = act?.name === 'relu' || act?.name === 'relu6';
  const ymin = clamped ? 0 : -Infinity, ymax = act?.name === 'relu6' ? 6 : Infinity;
  const K = g.C / groups, Nc = g.Cout / groups;
  const plain = !g.transposed && g.s[0] === 1 && g.s[1] === 1 && g.d[0] === 1 && g.d[1] === 1;
  const winograd = useWinograd(g, groups), depthwise = K === 1 && Nc === 1, single = plain && groups === 1 && g.C === 1 && singleChannelWins(g.Cout);
  const direct = !g.transposed && K < 16 && g.KH * g.KW > 1;
  const Ct = y.shape[y.rank - 1];
  const epilogue = clamped ? null : epilogueArgs(act);
  // The indirect GEMM and the depthwise kernel fuse the activation (the dispatch below tries
  // depthwise before direct: a depthwise layer also has K < 16).
  const fused = epilogue !== null && !winograd && (depthwise || (!single && !direct));
  if (Ct !== g.Cout && (depthwise || single || (act && !clamped && act.name !== 'linear' && !fused))) {
    const t = empty([g.N, g.OH, g.OW, g.Cout]);
    try {
      runConv(g, x, w, bias, groups, flip, act, t);
      rt().kernels.copy_rows_f32(t.ptr, g.Cout, y.ptr + c0 * 4, Ct, g.N * g.OH * g.OW, g.Cout);
    } finally {
      t.dispose();
    }
    return;
  }
  const out = { ptr: y.ptr + c0 * 4, stride: Ct };
  if (winograd) runWinograd(g, x, w, bias, flip, ymin, ymax, out);
  else if (depthwise) runDepthwise(g, x, w, bias, flip, ymin, ymax, y, fused ? epilogue : null);
  else if (single) runSingleChannel(g, x, w, bias, flip, ymin, ymax, y);
  else if (direct) runDirect(g, x, w, bias, groups, flip, ymin, ymax, out);
  else runIndirect(g, x, w, bias, groups, flip, ymin, ymax, out, fused ? epilogue : null);
  if (act && !clamped && !fused) activateInPlace(y, act);
}

/** Where a GEMM path stores: the first output channel's address and the floats between pixels. */
interface Out { ptr: number; stride: number }

/** A fused activation's kernel arguments [id, alpha, beta] (epilogueArgs), or null for none. */
type Epilogue = [number, number, number] | null;

/** The general path: the packed indirect GEMM over the tap indirection, per group. */
function runIndirect(g: ConvGeometry, x: Tensor, w: Tensor, bias: Tensor | null, groups: number, flip: boolean, ymin: number, ymax: number, y: Out, epilogue: Epilogue): void {
  const T = g.KH * g.KW, K = g.C / groups, Nc = g.Cout / groups;
  // The plan's output offsets step by its Cout: the row stride of y.
  const p = plan(y.stride === g.Cout ? g : { ...g, Cout: y.stride });
  const zero = zeroRow(K);
  const packed = packGemm(w, bias, groups, T, K, Nc, flip, g.transposed);
  const blockBytes = Math.ceil(Nc / 8) * (8 + T * K * 8) * 4;
  // Tiles: 4-row multiples of output pixels (the GEMM's register tile), per group.
  const calls: Call[] = [];
  for (const [b, e] of split(p.M, p.M * T * K * Nc, 4)) {
    for (let gi = 0; gi < groups; gi++) {
      const args = [e - b, Nc, K, T, x.ptr + gi * K * 4, p.ind + b * T * 4, zero, packed + gi * blockBytes, y.ptr + gi * Nc * 4, p.out + b * 4];
      calls.push(epilogue ? { kernel: 'igemm_f32_4x8_act', args: [...args, ...epilogue] } : { kernel: 'igemm_f32_4x8', args: [...args, ymin, ymax] });
    }
  }
  runCalls(calls);
}

/** Depthwise (multiplier 1), forward or transposed: the tap indirection feeds its own kernel. */
function runDepthwise(g: ConvGeometry, x: Tensor, w: Tensor, bias: Tensor | null, flip: boolean, ymin: number, ymax: number, y: Tensor, epilogue: Epilogue): void {
  const T = g.KH * g.KW;
  const p = plan(g);
  const packed = packDepthwise(w, bias, T, g.C, flip);
  runCalls(split(p.M, p.M * T * g.C, 4).map(([b, e]): Call => {
    const args = [e - b, g.C, T, x.ptr, p.ind + b * T * 4, packed, y.ptr, p.out + b * 4];
    return epilogue ? { kernel: 'conv2d_nhwc_f32_depthwise_act', args: [...args, ...epilogue] } : { kernel: 'conv2d_nhwc_f32_depthwise', args: [...args, ymin, ymax] };
  }));
}

/**
 * Few channels per tap (K < 16: first layers, small groups, where the indirect GEMM's loop per tap
 * is short; A/B against it: K 3 ×1.3, 8 ×1.2, 12 ×1.07, 16 ×1.0, 32 ×0.9): the direct kernel reads
 * each output pixel's taps straight from the input (zero-padded once into scratch when the
 * convolution pads), with the packed GEMM weights — no im2col buffer, no indirection.
 * Tiles: 4-pixel multiples of output pixels, per group.
 */
function runDirect(g: ConvGeometry, x: Tensor, w: Tensor, bias: Tensor | null, groups: number, flip: boolean, ymin: number, ymax: number, y: Out): void {
  const T = g.KH * g.KW, K = g.C / groups, Nc = g.Cout / groups;
  const packed = packGemm(w, bias, groups, T, K, Nc, flip, false);
  const blockBytes = Math.ceil(Nc / 8) * (8 + T * K * 8) * 4;
  const xp = padImage(g, x.ptr);
  const tab = directTaps(g.KH, g.KW, K, g.C, xp.Wp, g.d[0], g.d[1]);
  const M = g.N * g.OH * g.OW;
  const calls: Call[] = [];
  for (const [b, e] of split(M, M * T * K * Nc * groups, 4)) {
    for (let gi = 0; gi < groups; gi++) {
      calls.push({ kernel: 'conv2d_nhwc_f32_direct', args: [
        xp.ptr + gi * K * 4, xp.Hp, xp.Wp, g.C, g.OH, g.OW, g.s[0], g.s[1], T * K, tab,
        Nc, packed + gi * blockBytes, y.ptr + gi * Nc * 4, y.stride, b, e, ymin, ymax,
      ] });
    }
  }
  runCalls(calls);
}

// ---- one input channel ----

/**
 * One input channel at stride 1: the single-channel kernel (blocks of 6 output channels) or the
 * direct kernel (blocks of 8)? Per channel computed, the direct kernel was 1.2× faster (c11:
 * 64×28×28×1→6 5×5 ran 0.91× on the direct kernel with 8 lanes for 6 channels); so single
 * channel only when its 6-blocks waste enough fewer lanes: Cout 1–6, 9–12, 17–18 (A/B, 8×28×28×1
 * 5×5 same: Cout 8 ×1.89, 16 ×1.50, 32 ×1.61 faster on the direct kernel, 12 ×0.97).
 */
function singleChannelWins(Cout: number): boolean {
  return Math.ceil(Cout / 6) * 6 * 1.2 < Math.ceil(Cout / 8) * 8;
}

/**
 * Stride-1 convolution of single-channel images (first layers): the input is copied once into a
 * zero-padded scratch image, then a kernel vectorised over output pixels runs with no im2col.
 */
function runSingleChannel(g: ConvGeometry, x: Tensor, w: Tensor, bias: Tensor | null, flip: boolean, ymin: number, ymax: number, y: Tensor): void {
  const padded = padSingleChannel(g, x.ptr, 0);
  const packed = packSingleChannel(w, g.KH * g.KW, g.Cout, flip);
  // Tiles: whole images when there are enough of them (one call on one thread), else rows of output
  // of each image (the kernel reads rows oy .. oy + KH − 1 of the padded copy; rows past a tile are
  // in the buffer).
  const calls: Call[] = [];
  const work = g.N * g.OH * g.OW * g.KH * g.KW * g.Cout;
  const byImage = split(g.N, work, 1);
  const c1 = (px: number, n: number, oh: number, py: number) => ({
    kernel: 'conv2d_nhwc_f32_c1' as const,
    args: [px, n, padded.Hp, padded.Wp, oh, g.OW, g.KH, g.KW, g.Cout, packed, bias ? bias.ptr : 0, py, ymin, ymax],
  });
  if (poolThreads() === 1 || byImage.length >= Math.min(g.N, 2 * poolThreads())) {
    for (const [b, e] of byImage) calls.push(c1(padded.ptr + b * padded.Hp * padded.Wp * 4, e - b, g.OH, y.ptr + b * g.OH * g.OW * g.Cout * 4));
  } else {
    for (let n = 0; n < g.N; n++) {
      for (const [b, e] of split(g.OH, work / g.N, 1)) {
        calls.push(c1(padded.ptr + (n * padded.Hp + b) * padded.Wp * 4, 1, e - b, y.ptr + (n * g.OH + b) * g.OW * g.Cout * 4));
      }
    }
  }
  runCalls(calls);
}

// ---- Winograd F(2×2, 3×3) and F(4×4, 3×3) ----

/**
 * Which 3×3 stride-1 convolutions take a Winograd path: 'auto' (enough channels to pay for the
 * transforms; variant by geometry: winogradVariant), 'always' (every eligible one, variant as
 * auto), 'f23' / 'f43' (every eligible one, that variant), 'never'. For tests and benchmarks.
 */
export const convPolicy: { winograd: 'auto' | 'always' | 'never' | 'f23' | 'f43' } = { winograd: 'auto' };

/**
 * @internal Sub-band size in tiles, GEMM-call size in columns and ranges per thread (bands of the
 * band kernels; output-channel ranges of deep layers), for tests and benchmarks (0 = the default).
 */
export const winogradTuning = { tb: 0, ncol: 0, bands: 0 };

function useWinograd(g: ConvGeometry, groups: number): boolean {
  const eligible = !g.transposed && groups === 1 && g.KH === 3 && g.KW === 3 &&
    g.s[0] === 1 && g.s[1] === 1 && g.d[0] === 1 && g.d[1] === 1;
  if (!eligible || convPolicy.winograd === 'never') return false;
  return convPolicy.winograd !== 'auto' || (g.C >= 16 && g.Cout >= 16);
}

/**
 * F(4×4) or F(2×2): α² GEMMs of [tiles × C] · [C × Cout] each, and at batch 1 on small maps the
 * transformed weights (α²·C·Cout floats, read once per band) cost more than the multiplies: a
 * GEMM is bound by max(tiles / R, 4 bytes / B) per weight, R ≈ 15 G multiply-adds/s, B ≈ 5 GB/s
 * (one thread, weights cold as in a model), i.e. by max(tiles, 12). Measured (ms, batch 1, one
 * thread, weights cold, relaxed-simd, load ≈ 4.5 on the 2-vCPU VM):
 *
 *   layer (3×3 same)   direct   F(2×2)        F(4×4)        F(4×4) tiles   cost F(2×2) : F(4×4)
 *   56×56×64→64         5.19     3.44          2.17             196          12544 : 7056
 *   28×28×128→128       4.49     2.49          1.59              49           3136 : 1764
 *   14×14×256→256       7.98     3.79 (2.63)   3.85 (2.55)       16            784 : 576
 *   7×7×256→256         1.99     1.42          1.64               4            256 : 432
 *   7×7×512→512         6.33     4.20 (4.35)   4.58 (5.01)        4            256 : 432
 *
 * (In parentheses: a second run; the load moved the absolute times between runs, not the order.)
 * (7×7×512 with weights hot in cache: F(2×2) 2.91, F(4×4) 1.93 — in ResNet-18 they are not: the
 * whole model ran ×0.97 with F(4×4) there.) Direct only below 16 channels (the transforms do not pay).
 */
function winogradVariant(g: ConvGeometry): 'f23' | 'f43' {
  const p = convPolicy.winograd;
  if (p === 'f23' || p === 'f43') return p;
  const cost = (e: number, a: number) => a * a * Math.max(g.N * Math.ceil(g.OH / e) * Math.ceil(g.OW / e), 12);
  return cost(4, 6) < cost(2, 4) ? 'f43' : 'f23';
}

/** Transformed input tiles → α² packed GEMMs → output transform (bias, relu clamp), by bands of tiles. */
function runWinograd(g: ConvGeometry, x: Tensor, w: Tensor, bias: Tensor | null, flip: boolean, ymin: number, ymax: number, y: Out): void {
  const variant = winogradVariant(g);
  const e = variant === 'f43' ? 4 : 2, P = (e + 2) * (e + 2);
  const TH = Math.ceil(g.OH / e), TW = Math.ceil(g.OW / e);
  const tiles = g.N * TH * TW;
  const u = packWinograd(w, g.C, g.Cout, flip, variant);
  const zero = zeroRow(g.C);
  const k = rt().kernels, threads = poolThreads();
  const plane = (T: number, floats: number) => P * k.winograd_plane_bytes(T, floats);
  const ncol = winogradTuning.ncol || 8;
  // Deep layers (7×7 and 14×14 maps at batch 1): the weights outweigh all the transformed tiles.
  const deep = P * g.C * g.Cout >= P * (g.C + g.Cout) * tiles;
  // Threads split tiles (4-tile GEMM blocks), or on deep layers 8-column blocks of output channels.
  const parallel = split(deep ? Math.ceil(g.Cout / 8) : tiles, tiles * P * g.C * g.Cout, deep ? 1 : 4).length > 1;
  if (parallel && deep) {
    // Split the few tiles and every band streams all the weights: transform the input once (tiles
    // split over threads), then split output channels (8-column blocks, one range per thread),
    // each multiplying all tiles into its thread's own m and transforming them out. Every range
    // reads all of v, so fewer is better: with two per thread 28×28×128→128 ran ×1.56–1.59 on 2
    // threads, with one ×1.63–1.72 (14×14×256: ×1.58–1.63 → ×1.76; 7×7×512 the same within noise).
    const vBytes = plane(tiles, g.C), mBytes = plane(tiles, g.Cout);
    const v = scratch(0, vBytes + mBytes * threads);
    const vPlane = vBytes / P;
    const tin = variant === 'f43' ? 'winograd_f43_input_transform' : 'winograd_f23_input_transform';
    runCalls(evenRanges(tiles, threads, 1).map(([t0, t1]) => ({
      kernel: tin, args: [x.ptr, vPlane, g.H, g.W, g.C, TH, TW, g.pads[0][0], g.pads[1][0], zero, v + t0 * g.C * 4, t0, t1],
    })));
    const rows = denseRows(tiles, g.C, g.Cout);
    const blocks = Math.ceil(g.Cout / 8), per = Math.ceil(blocks / Math.min(blocks, (winogradTuning.bands || 1) * threads));
    const calls: Call[] = [];
    for (let b0 = 0; b0 < blocks; b0 += per) {
      calls.push({
        kernel: 'winograd_multiply',
        args: [
          P, v, u, v + vBytes, g.C, g.Cout, g.OH, g.OW, TH, TW, tiles, rows, zero, bias ? bias.ptr : 0, y.ptr, y.stride,
          ymin, ymax, ncol, b0 * 8, Math.min(g.Cout, (b0 + per) * 8),
        ],
        scratch: [3], scratchStride: mBytes,
      });
    }
    runCalls(calls);
    return;
  }
  // Bands of tiles, each transformed in, multiplied and transformed out in one call (one pool run,
  // no barrier between the steps): two per thread, equal in whole 4-tile GEMM blocks. A band runs
  // in sub-bands of about 1 MiB of transformed tiles (in and out), in buffers of its thread's own
  // that every sub-band reuses, so they stay in its L2 — unless the layer is deep: every sub-band
  // streams the weights again, so then a band is one sub-band.
  const tb = Math.min(tiles, winogradTuning.tb || (deep ? tiles : Math.max(4, 4 * Math.floor((1 << 20) / (P * (g.C + g.Cout) * 4) / 4))));
  const rows = denseRows(tb, g.C, g.Cout);
  const vBytes = plane(tb, g.C), perThread = vBytes + plane(tb, g.Cout);
  const buf = scratch(0, perThread * threads);
  const kernel = variant === 'f43' ? 'winograd_f43_band' : 'winograd_f23_band';
  const bands = parallel ? evenRanges(tiles, threads * (winogradTuning.bands || 2), 4) : [[0, tiles]];
  runCalls(bands.map(([t0, t1]) => ({
    kernel,
    args: [
      x.ptr, g.N, g.H, g.W, g.C, TH, TW, g.pads[0][0], g.pads[1][0], zero, buf, u, buf + vBytes, g.Cout, g.OH, g.OW, rows,
      bias ? bias.ptr : 0, y.ptr, y.stride, ymin, ymax, t0, t1, tb, ncol, 0, g.Cout,
    ],
    scratch: [10, 12], scratchStride: perThread,
  })));
}

/**
 * At most n ranges covering [0, total), in units of `unit` (the last unit may be partial), as
 * equal as whole units allow — so that n = 2 × threads equal tiles leave no thread with an odd
 * one more (an odd count of row bands on 2 threads lost up to a third).
 */
function evenRanges(total: number, n: number, unit: number): Array<[number, number]> {
  const units = Math.ceil(total / unit), count = Math.min(n, units);
  const out: Array<[number, number]> = [];
  for (let i = 0, b = 0; i < count; i++) {
    const e = Math.min(total, b + unit * (Math.floor(units / count) + (i < units % count ? 1 : 0)));
    out.push([b, e]);
    b = e;
  }
  return out;
}
