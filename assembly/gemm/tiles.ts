import { im2col_nhwc_f32 } from './im2col';
import { igemm_f32_4x8 } from './igemm';
import { gemm_tn_f32_4x8 } from './gemm-tn';
import { winograd_f23_input_transform, winograd_f23_output_transform } from '../winograd';

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
 * `tiles` tiles (src/ops/pack.ts denseRows), so a band's rows start at its first tile.
 */
export function winograd_f23_band(
  x: usize, N: i32, H: i32, W: i32, C: i32, TH: i32, TW: i32, pt: i32, pl: i32, zero: usize, v: usize,
  u: usize, m: usize, Cout: i32, OH: i32, OW: i32, rows: usize, bias: usize, y: usize, ymin: f32, ymax: f32, r0: i32, r1: i32,
): void {
  const tiles = <usize>N * <usize>TH * <usize>TW;
  const inPlane = tiles * (<usize>C << 2), outPlane = tiles * (<usize>Cout << 2);
  const blockBytes = <usize>((Cout + 7) >> 3) * <usize>(8 + C * 8) << 2;
  const t0 = <usize>r0 * <usize>TW, t1 = <usize>r1 * <usize>TW;
  winograd_f23_input_transform(x, N, H, W, C, TH, TW, pt, pl, zero, v, r0, r1);
  for (let xi: usize = 0; xi < 16; xi++) {
    igemm_f32_4x8(<i32>(t1 - t0), Cout, C, 1, v + xi * inPlane, rows + (t0 << 2), zero, u + xi * blockBytes, m + xi * outPlane, rows + ((tiles + t0) << 2), -Infinity, Infinity);
  }
  winograd_f23_output_transform(m, N, OH, OW, Cout, TH, TW, bias, y, ymin, ymax, r0, r1);
}
