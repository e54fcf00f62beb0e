import { im2col_nhwc_f32 } from './im2col';
import { igemm_f32_4x8 } from './igemm';
import { gemm_tn_f32_4x8 } from './gemm-tn';
import { winograd_f23_input_transform, winograd_f23_output_transform } from '../winograd';
import { winograd_f43_input_transform, winograd_f43_output_transform } from '../winograd-f43';

// Composite kernels for the thread pool's tiles (src/ops/parallel.ts): one call per tile, so a
// worker runs a whole chunk — gather and multiply — without coming back to the host between the
// two. They only sequence the kernels of im2col.ts, igemm.ts and gemm-tn.ts: the same instructions
// as the host's loop on one thread, so results are bit-identical.

/**
 * Filter gradient over output pixels [m0, m1) in chunks of `chunk` (the reduction order is fixed
 * by the chunk and the pixel range, never by the tiling): for each chunk, im2col into col, then
 * dW[r0..r1)[n0..n1) (+)= colᵀ · dy. A tile is a block of rows (taps × channels) and columns
 * (output channels) of dW — the chunk's im2col is gathered by every tile that needs it — or a
 * pixel range whose partial dW the host sums in a fixed order (add_partials_f32).
 */
export function conv2d_filter_grad_nhwc_f32_im2col(
  x: usize, H: i32, W: i32, Cs: i32, K: i32, OH: i32, OW: i32, KH: i32, KW: i32,
  sh: i32, sw: i32, dh: i32, dw: i32, pt: i32, pl: i32, m0: i32, m1: i32, chunk: i32, col: usize,
  dy: usize, dyStride: i32, out: usize, outStride: i32, r0: i32, r1: i32, n0: i32, n1: i32,
): void {
  const R = KH * KW * K;
  for (let p0 = m0; p0 < m1; p0 += chunk) {
    const n = min(chunk, m1 - p0);
    im2col_nhwc_f32(x, H, W, Cs, K, OH, OW, KH, KW, sh, sw, dh, dw, pt, pl, p0, n, col);
    gemm_tn_f32_4x8(
      n, r1 - r0, n1 - n0, col + (<usize>r0 << 2), R << 2, dy + <usize>p0 * <usize>dyStride + (<usize>n0 << 2), dyStride,
      out + <usize>r0 * <usize>outStride + (<usize>n0 << 2), outStride, p0 > m0,
    );
  }
}

/**
 * Winograd F(2×2, 3×3) for the tiles [t0, t1) (t = (n·TH + ty)·TW + tx): their input transform, the
 * 16 GEMMs on them, their output transform — one band, no barrier between the three steps (a band's
 * tiles only read its own transformed data). The band runs in sub-bands of `tb` tiles, each through
 * the caller's own buffers v (16 planes of tb tiles × C) and m (16 planes of tb tiles × Cout),
 * planes winograd_plane_bytes apart, reused by every sub-band so they stay in cache; `rows`: the
 * dense row indirection of tb tiles (src/ops/pack.ts denseRows). Each GEMM runs in calls of `ncol`
 * output columns (a multiple of 8: the weight block stays in L1 across the sub-band's tiles).
 * y: channels [0, Cout) of pixels `ys` floats apart (a channel slice of a wider tensor). Only
 * output channels [n0, n1) (multiples of 8, or n1 = Cout) are multiplied and stored.
 * Neither changes any result: every output is the same sum in the same order.
 */
export function winograd_f23_band(
  x: usize, N: i32, H: i32, W: i32, C: i32, TH: i32, TW: i32, pt: i32, pl: i32, zero: usize, v: usize,
  u: usize, m: usize, Cout: i32, OH: i32, OW: i32, rows: usize, bias: usize, y: usize, ys: i32, ymin: f32, ymax: f32, t0: i32, t1: i32,
  tb: i32, ncol: i32, n0: i32, n1: i32,
): void {
  winogradBand(16, x, H, W, C, TH, TW, pt, pl, zero, v, u, m, Cout, OH, OW, rows, bias, y, ys, ymin, ymax, t0, t1, tb, ncol, n0, n1);
}

/** Winograd F(4×4, 3×3) for the tiles [t0, t1): as winograd_f23_band, with 36 GEMMs (assembly/winograd-f43.ts). */
export function winograd_f43_band(
  x: usize, N: i32, H: i32, W: i32, C: i32, TH: i32, TW: i32, pt: i32, pl: i32, zero: usize, v: usize,
  u: usize, m: usize, Cout: i32, OH: i32, OW: i32, rows: usize, bias: usize, y: usize, ys: i32, ymin: f32, ymax: f32, t0: i32, t1: i32,
  tb: i32, ncol: i32, n0: i32, n1: i32,
): void {
  winogradBand(36, x, H, W, C, TH, TW, pt, pl, zero, v, u, m, Cout, OH, OW, rows, bias, y, ys, ymin, ymax, t0, t1, tb, ncol, n0, n1);
}

/** The sub-band loop of both band kernels; P (16: F(2×2), 36: F(4×4)) is a constant at each inlined call. */
// @ts-ignore: decorator
@inline function winogradBand(
  P: i32, x: usize, H: i32, W: i32, C: i32, TH: i32, TW: i32, pt: i32, pl: i32, zero: usize, v: usize,
  u: usize, m: usize, Cout: i32, OH: i32, OW: i32, rows: usize, bias: usize, y: usize, ys: i32, ymin: f32, ymax: f32, t0: i32, t1: i32,
  tb: i32, ncol: i32, n0: i32, n1: i32,
): void {
  const vPlane = <usize>winograd_plane_bytes(tb, C), mPlane = <usize>winograd_plane_bytes(tb, Cout);
  for (let s0 = t0; s0 < t1; s0 += tb) {
    const s1 = min(t1, s0 + tb);
    if (P == 16) winograd_f23_input_transform(x, vPlane, H, W, C, TH, TW, pt, pl, zero, v, s0, s1);
    else winograd_f43_input_transform(x, vPlane, H, W, C, TH, TW, pt, pl, zero, v, s0, s1);
    winogradGemms(P, vPlane, mPlane, s1 - s0, C, Cout, v, u, m, rows, rows + (<usize>tb << 2), zero, ncol, n0, n1);
    if (P == 16) winograd_f23_output_transform(m, mPlane, OH, OW, Cout, TH, TW, bias, y, ys, ymin, ymax, s0, s1, n0, n1);
    else winograd_f43_output_transform(m, mPlane, OH, OW, Cout, TH, TW, bias, y, ys, ymin, ymax, s0, s1, n0, n1);
  }
}

/**
 * The GEMMs and output transform of all T tiles for output channels [n0, n1) (multiples of 8, or
 * n1 = Cout), the input already transformed into v (P = 16: F(2×2), 36: F(4×4); planes
 * winograd_plane_bytes(T, C) apart, rows: denseRows(T, C, Cout)); m: the caller's own. Deep layers
 * with threads: the input is transformed once, split by tiles, then the channels are split.
 */
export function winograd_multiply(
  P: i32, v: usize, u: usize, m: usize, C: i32, Cout: i32, OH: i32, OW: i32, TH: i32, TW: i32, T: i32, rows: usize,
  zero: usize, bias: usize, y: usize, ys: i32, ymin: f32, ymax: f32, ncol: i32, n0: i32, n1: i32,
): void {
  const vPlane = <usize>winograd_plane_bytes(T, C), mPlane = <usize>winograd_plane_bytes(T, Cout);
  winogradGemms(P, vPlane, mPlane, T, C, Cout, v, u, m, rows, rows + (<usize>T << 2), zero, ncol, n0, n1);
  if (P == 16) winograd_f23_output_transform(m, mPlane, OH, OW, Cout, TH, TW, bias, y, ys, ymin, ymax, 0, T, n0, n1);
  else winograd_f43_output_transform(m, mPlane, OH, OW, Cout, TH, TW, bias, y, ys, ymin, ymax, 0, T, n0, n1);
}

/**
 * Bytes from one transformed plane of `tiles` tiles × C floats to the next: rounded up to an odd
 * number of cache lines. The transforms touch all planes of a tile at once, and planes a multiple
 * of 2 KiB apart (e.g. 4·14 tiles × 64 channels) fall into a few L1 sets and evict each other.
 */
export function winograd_plane_bytes(tiles: i32, C: i32): i32 {
  return (((tiles * C * 4 + 63) >> 6) | 1) << 6;
}

/**
 * M[ξ] = V[ξ]·U[ξ] for ξ < P on the first `count` tiles: V P planes `inPlane` bytes apart of [tile][C],
 * U P planes of packed blocks [bias 8][C][8] (⌈Cout/8⌉ blocks each), M P planes `outPlane` bytes
 * apart of [tile][Cout]; columns [c0, c1), `ncol` per GEMM call; rows, outInd: the two halves of
 * denseRows(rb·TW, C, Cout).
 */
function winogradGemms(
  P: i32, inPlane: usize, outPlane: usize, count: i32, C: i32, Cout: i32, v: usize, u: usize, m: usize, rows: usize, outInd: usize, zero: usize, ncol: i32, c0: i32, c1: i32,
): void {
  const blockBytes = <usize>(8 + C * 8) << 2;
  const planeBytes = <usize>((Cout + 7) >> 3) * blockBytes;
  for (let xi = 0; xi < P; xi++) {
    for (let n0 = c0; n0 < c1; n0 += ncol) {
      igemm_f32_4x8(
        count, min(ncol, c1 - n0), C, 1, v + <usize>xi * inPlane, rows, zero, u + <usize>xi * planeBytes + <usize>(n0 >> 3) * blockBytes,
        m + <usize>xi * outPlane + (<usize>n0 << 2), outInd, -Infinity, Infinity,
      );
    }
  }
}
