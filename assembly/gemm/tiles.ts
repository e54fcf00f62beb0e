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
 * One im2col chunk of a convolution: gather rows m0 .. m0+P−1 into col, then the packed GEMM on
 * them into y (rows/rowsOut: the dense row indirection, src/ops/pack.ts denseRows).
 */
export function conv2d_nhwc_f32_im2col_chunk(
  x: usize, H: i32, W: i32, Cs: i32, K: i32, OH: i32, OW: i32, KH: i32, KW: i32,
  sh: i32, sw: i32, dh: i32, dw: i32, pt: i32, pl: i32, m0: i32, P: i32, col: usize,
  N: i32, rows: usize, rowsOut: usize, zero: usize, w: usize, y: usize, ymin: f32, ymax: f32,
): void {
  im2col_nhwc_f32(x, H, W, Cs, K, OH, OW, KH, KW, sh, sw, dh, dw, pt, pl, m0, P, col);
  igemm_f32_4x8(P, N, KH * KW * K, 1, col, rows, zero, w, y, rowsOut, ymin, ymax);
}

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
 * Winograd F(2×2, 3×3) for the tile rows [r0, r1) (rows n·TH + ty): their input transform, the 16
 * GEMMs on their tiles, their output transform — one band, no barrier between the three steps (a
 * band's tiles only read its own transformed data). `rows`: the dense row indirection of all
 * `tiles` tiles (src/ops/pack.ts denseRows), so a band's rows start at its first tile. The band runs
 * in sub-bands of `rb` tile rows (transformed tiles kept in cache), each GEMM in calls of `ncol`
 * output columns (a multiple of 8: the weight block stays in L1 across the sub-band's tiles).
 * y: channels [0, Cout) of pixels `ys` floats apart (a channel slice of a wider tensor). Only
 * output channels [n0, n1) (multiples of 8, or n1 = Cout) are multiplied and stored: deep layers
 * split their channels over threads instead of their few tile rows (each call then transforms the
 * input itself, into its own `v`).
 * Neither changes any result: every output is the same sum in the same order.
 */
export function winograd_f23_band(
  x: usize, N: i32, H: i32, W: i32, C: i32, TH: i32, TW: i32, pt: i32, pl: i32, zero: usize, v: usize,
  u: usize, m: usize, Cout: i32, OH: i32, OW: i32, rows: usize, bias: usize, y: usize, ys: i32, ymin: f32, ymax: f32, r0: i32, r1: i32,
  rb: i32, ncol: i32, n0: i32, n1: i32,
): void {
  for (let s0 = r0; s0 < r1; s0 += rb) {
    const s1 = min(r1, s0 + rb);
    winograd_f23_input_transform(x, N, H, W, C, TH, TW, pt, pl, zero, v, s0, s1);
    winogradGemms(16, N * TH * TW, C, Cout, v, u, m, rows, zero, s0 * TW, s1 * TW, ncol, n0, n1);
    winograd_f23_output_transform(m, N, OH, OW, Cout, TH, TW, bias, y, ys, ymin, ymax, s0, s1, n0, n1);
  }
}

/** Winograd F(4×4, 3×3) for the tile rows [r0, r1): as winograd_f23_band, with 36 GEMMs (assembly/winograd-f43.ts). */
export function winograd_f43_band(
  x: usize, N: i32, H: i32, W: i32, C: i32, TH: i32, TW: i32, pt: i32, pl: i32, zero: usize, v: usize,
  u: usize, m: usize, Cout: i32, OH: i32, OW: i32, rows: usize, bias: usize, y: usize, ys: i32, ymin: f32, ymax: f32, r0: i32, r1: i32,
  rb: i32, ncol: i32, n0: i32, n1: i32,
): void {
  for (let s0 = r0; s0 < r1; s0 += rb) {
    const s1 = min(r1, s0 + rb);
    winograd_f43_input_transform(x, N, H, W, C, TH, TW, pt, pl, zero, v, s0, s1);
    winogradGemms(36, N * TH * TW, C, Cout, v, u, m, rows, zero, s0 * TW, s1 * TW, ncol, n0, n1);
    winograd_f43_output_transform(m, N, OH, OW, Cout, TH, TW, bias, y, ys, ymin, ymax, s0, s1, n0, n1);
  }
}

/**
 * M[ξ] = V[ξ]·U[ξ] for ξ < P on tiles [t0, t1): V [P][tiles][C], U P planes of packed blocks
 * [bias 8][C][8] (⌈Cout/8⌉ blocks each), M [P][tiles][Cout]; columns [c0, c1), `ncol` per GEMM call.
 */
function winogradGemms(P: i32, tiles: i32, C: i32, Cout: i32, v: usize, u: usize, m: usize, rows: usize, zero: usize, t0: i32, t1: i32, ncol: i32, c0: i32, c1: i32): void {
  const inPlane = <usize>tiles * (<usize>C << 2), outPlane = <usize>tiles * (<usize>Cout << 2);
  const blockBytes = <usize>(8 + C * 8) << 2;
  const planeBytes = <usize>((Cout + 7) >> 3) * blockBytes;
  const ind = rows + (<usize>t0 << 2), outInd = rows + ((<usize>tiles + <usize>t0) << 2);
  for (let xi = 0; xi < P; xi++) {
    for (let n0 = c0; n0 < c1; n0 += ncol) {
      igemm_f32_4x8(
        t1 - t0, min(ncol, c1 - n0), C, 1, v + <usize>xi * inPlane, ind, zero, u + <usize>xi * planeBytes + <usize>(n0 >> 3) * blockBytes,
        m + <usize>xi * outPlane + (<usize>n0 << 2), outInd, -Infinity, Infinity,
      );
    }
  }
}
