import { rt } from '../runtime/wasm.js';
import type { Tensor } from '../tensor.js';
import { derived, planned, scratch } from './cache.js';
import { runCalls, split } from './parallel.js';
import type { ConvGeometry } from './shape.js';

// GEMM planning and packing, shared by the convolutions, dense and their gradients: the row
// indirection of a geometry (cached per geometry), im2col chunks, and the weight packers (cached
// per weight tensor and version) for the layouts the kernels stream: the indirect GEMM
// (assembly/gemm/igemm.ts), depthwise, one input channel, and Winograd F(2×2, 3×3).

/** Row indirection for a geometry: M rows × T taps of input byte offsets (−1 = padding), M output offsets. */
export interface Plan { M: number; T: number; ind: number; out: number }

/** Build (or fetch from the LRU) the indirection of a convolution geometry. */
export function plan(g: ConvGeometry): Plan {
  const { N, H, W, C, OH, OW, KH, KW, s, d, pads, Cout, transposed } = g;
  const M = N * OH * OW;
  const T = KH * KW;
  const key = `${transposed ? 'T' : 'C'}:${N},${H},${W},${C}:${OH},${OW},${Cout}:${KH},${KW}:${s}:${d}:${pads.flat()}`;
  // Built by a wasm loop (assembly/gemm/indirection.ts): a network's first inference builds one
  // per layer. Transposed geometries group each image's output pixels by stride phase.
  const ptr = planned(key, (M * T + M) * 4, (base) => {
    rt().kernels.conv_indirection_i32(base, base + M * T * 4, N, H, W, C, OH, OW, Cout, KH, KW, s[0], s[1], d[0], d[1], pads[0][0], pads[1][0], transposed ? 1 : 0);
  });
  return { M, T, ind: ptr, out: ptr + M * T * 4 };
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
    // Pure copies (assembly/gemm/pack.ts); split over blocks only when big (a hand-off costs more
    // than copying LeNet-5's 48k-float dense layer).
    const total = groups * blocks, args = [w.ptr, bias ? bias.ptr : 0, groups, T, K, Nc, flip ? 1 : 0, transposed ? 1 : 0, ptr];
    runCalls(split(total, (total * blockFloats) >> 2, 1).map(([b0, b1]) => ({ kernel: 'pack_gemm_f32', args: [...args, b0, b1] })));
  });
}

/**
 * [A, B, T] → [T, B, A] of a float32 array (dst[(t·B + b)·A + a] = src[(a·B + b)·T + t]), as a new
 * array: the ONNX importer's conv weights (OIHW → HWIO: A = Cout, B = Cin/g, T = KH·KW) and a Gemm's
 * Bᵀ (T = 1). A wasm loop (relayout_f32; JavaScript took ~7 ns a float, 20 ms of MobileNetV2's load);
 * bit copies. Uses two blocks of linear memory while it runs, freed on every path.
 */
export function relayout(src: Float32Array, A: number, B: number, T: number): Float32Array {
  const heap = rt().heap, n = src.length, bytes = Math.max(4, n * 4);
  const from = heap.alloc(bytes);
  let to = 0;
  try {
    to = heap.alloc(bytes);
    heap.f32().set(src, from >>> 2);
    rt().kernels.relayout_f32(from, to, A, B, T);
    return heap.f32().slice(to >>> 2, (to >>> 2) + n);
  } finally {
    heap.free(from);
    if (to) heap.free(to);
  }
}

/** Depthwise weights [KH, KW, 1, C] → [bias C][T][C] with taps flipped if asked. */
export function packDepthwise(w: Tensor, bias: Tensor | null, T: number, C: number, flip: boolean): number {
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

/**
 * The zero-padded single-channel image batch [N, Hp, Wp] that the one-input-channel kernels read
 * (conv2d_nhwc_f32_c1 and its filter gradient), copied from x into scratch slot 3. Each row gets
 * `extraCols` more zero columns on the right (the filter gradient's vector reads run 8 past a
 * row's last output pixel), and 16 zeroed floats of slack follow the batch (both kernels read at
 * most that far past its end).
 */
export function padSingleChannel(g: ConvGeometry, x: number, extraCols: number): { ptr: number; Hp: number; Wp: number } {
  const [[pt, pb], [pl, pr]] = g.pads;
  const Hp = g.H + pt + pb, Wp = g.W + pl + pr + extraCols;
  const slack = 16;
  const ptr = scratch(3, (g.N * Hp * Wp + slack) * 4);
  rt().kernels.pad2d_nhwc_f32_c1(x, g.N, g.H, g.W, pt, pb, pl, pr + extraCols, ptr, slack);
  return { ptr, Hp, Wp };
}

/**
 * x zero-padded by the geometry's pads, [N, H + pt + pb, W + pl + pr, C] in scratch slot 3 (x
 * itself when nothing pads): what the direct kernel (assembly/conv-direct.ts) reads.
 */
export function padImage(g: ConvGeometry, x: number): { ptr: number; Hp: number; Wp: number } {
  const [[pt, pb], [pl, pr]] = g.pads;
  const Hp = g.H + pt + pb, Wp = g.W + pl + pr;
  if (pt === 0 && pb === 0 && pl === 0 && pr === 0) return { ptr: x, Hp, Wp };
  const ptr = scratch(3, g.N * Hp * Wp * g.C * 4);
  // Rows of W·C floats padded by pl·C and pr·C: the one-channel padder does it.
  rt().kernels.pad2d_nhwc_f32_c1(x, g.N, g.H, g.W * g.C, pt, pb, pl * g.C, pr * g.C, ptr, 0);
  return { ptr, Hp, Wp };
}

/**
 * The direct kernel's receptive-field table: R = KH·KW·K i32 byte offsets, tap-major then channel
 * (the packed weights' row order), relative to a pixel's tap (0, 0) in an image of Wp pixels of
 * Cs floats. Cached per geometry.
 */
export function directTaps(KH: number, KW: number, K: number, Cs: number, Wp: number, dh: number, dw: number): number {
  return planned(`direct:${KH},${KW},${K},${Cs},${Wp},${dh},${dw}`, KH * KW * K * 4, (ptr) => {
    const i32 = rt().heap.i32();
    let r = ptr >>> 2;
    for (let ky = 0; ky < KH; ky++) {
      for (let kx = 0; kx < KW; kx++) {
        for (let k = 0; k < K; k++) i32[r++] = ((ky * dh * Wp + kx * dw) * Cs + k) * 4;
      }
    }
  });
}

/** Weights [KH, KW, 1, Cout] → blocks of 6 output channels, each [T][6] (zeros past Cout). */
export function packSingleChannel(w: Tensor, T: number, Cout: number, flip: boolean): number {
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

/**
 * U[ξ] = (G·g·Gᵀ)[ξ] for every (cin, cout), in float64, packed for the GEMM as α² planes (α = 4 for
 * F(2×2), 6 for F(4×4)) of ⌈Cout/8⌉ blocks [bias 8 (zeros)][Cin][8], by the kernel
 * assembly/winograd-pack.ts (blocks of 8 output channels split over threads). Its order of f64
 * operations fixes the packed bits, which must not change (tests/pack-winograd.test.ts keeps the
 * first implementation as the reference).
 */
export function packWinograd(w: Tensor, C: number, Cout: number, flip: boolean, variant: 'f23' | 'f43'): number {
  const a = variant === 'f43' ? 6 : 4;
  const blocks = Math.ceil(Cout / 8);
  const blockFloats = 8 + C * 8;
  return derived(w, `winograd-${variant}:${flip ? 1 : 0}`, `${w.version}`, a * a * blocks * blockFloats * 4, (ptr) => {
    const f = flip ? 1 : 0;
    // Work: about α·(3 + 1.5α) multiply-adds' worth of f64 operations per (cin, cout).
    const tiles = split(blocks, C * blocks * 8 * a * (3 + 1.5 * a), 1);
    if (tiles.length > 1) {
      runCalls(tiles.map(([b0, b1]) => ({ kernel: 'winograd_pack_filter', args: [w.ptr, C, Cout, f, a, ptr, b0, b1] })));
      return;
    }
    // On one thread, calls of ~4k (cin, 8 couts) rows: V8 tiers a wasm function up only between
    // calls, so a big first pack (a cold start) runs mostly optimised code instead of baseline code.
    const k = rt().kernels, step = Math.max(1, Math.floor(4096 / C));
    for (let b = 0; b < blocks; b += step) k.winograd_pack_filter(w.ptr, C, Cout, f, a, ptr, b, Math.min(blocks, b + step));
  });
}
