// Chunked im2col: the path for convolutions whose per-tap channel count is too small to keep the
// indirect GEMM busy (first layers: 1–3 input channels), and for every filter gradient (with
// gemm_tn, gemm-tn.ts). Only a chunk of rows is gathered at a time, so the buffer stays in cache;
// the full im2col matrix never exists.

/**
 * im2col rows of output pixels m0 .. m0+P−1 (flattened over batch, rows, columns) of a
 * convolution over x NHWC [N, H, W, Cs]: col[p][(ky·KW + kx)·K + c] = x[n, iy, ix, c] with
 * iy = oy·sh − pt + ky·dh, ix = ox·sw − pl + kx·dw, zero outside the input; c < K (K ≤ Cs: a
 * group's channels, x already offset to the group's first one). Rows are KH·KW·K floats. When
 * a whole kernel row is inside the input and contiguous (dw = 1, K = Cs), it is one copy.
 */
export function im2col_nhwc_f32(
  x: usize, H: i32, W: i32, Cs: i32, K: i32, OH: i32, OW: i32, KH: i32, KW: i32,
  sh: i32, sw: i32, dh: i32, dw: i32, pt: i32, pl: i32, m0: i32, P: i32, col: usize,
): void {
  const kBytes = <usize>K << 2;
  const pixBytes = <usize>Cs << 2;
  const runFloats = KW * K;
  const contiguous = dw == 1 && K == Cs;
  let n = m0 / (OH * OW);
  let rem = m0 - n * OH * OW;
  let oy = rem / OW;
  let ox = rem - oy * OW;
  let out = col;
  for (let p = 0; p < P; p++) {
    const ix0 = ox * sw - pl;
    const rowInside = ix0 >= 0 && ix0 + (KW - 1) * dw < W;
    for (let ky = 0; ky < KH; ky++) {
      const iy = oy * sh - pt + ky * dh;
      if (<u32>iy >= <u32>H) {
        copyZeros(out, runFloats);
      } else {
        const rowBase = x + (<usize>(n * H + iy) * <usize>W) * pixBytes;
        if (contiguous && rowInside) {
          copyFloats(out, rowBase + <usize>ix0 * pixBytes, runFloats);
        } else {
          for (let kx = 0; kx < KW; kx++) {
            const ix = ix0 + kx * dw;
            const o = out + <usize>kx * kBytes;
            if (<u32>ix >= <u32>W) copyZeros(o, K);
            else copyFloats(o, rowBase + <usize>ix * pixBytes, K);
          }
        }
      }
      out += <usize>runFloats << 2;
    }
    if (++ox == OW) {
      ox = 0;
      if (++oy == OH) { oy = 0; n++; }
    }
  }
}

// @ts-ignore: decorator
@inline function copyFloats(dst: usize, src: usize, n: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 4 <= n; i += 4) v128.store(dst + (<usize>i << 2), v128.load(src + (<usize>i << 2)));
  }
  for (; i < n; i++) store<f32>(dst + (<usize>i << 2), load<f32>(src + (<usize>i << 2)));
}

// @ts-ignore: decorator
@inline function copyZeros(dst: usize, n: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 4 <= n; i += 4) v128.store(dst + (<usize>i << 2), f32x4.splat(0));
  }
  for (; i < n; i++) store<f32>(dst + (<usize>i << 2), 0);
}
