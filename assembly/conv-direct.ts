import { madd, clampFast, storeRow8, storeClamped8 } from './simd';

// Direct convolution for few channels per group (first layers: RGB and grayscale images, and
// small grouped convolutions): the indirect GEMM's 4 × 8 register tile, but its A rows are read
// straight from the (zero-padded) input image — a pixel's base address plus a table of R offsets
// (its receptive field), so no im2col buffer and no per-pixel indirection. Weights are igemm's
// packed layout ([bias 8][T][K][8] per block of 8 output channels, gemm/igemm.ts), and the sum runs
// in igemm's order over an im2col row (bias, then taps row-major, channels within a tap).

/**
 * Output pixels m in [m0, m1) (flattened over batch, rows, columns) of a convolution over a
 * padded image batch xp [N, Hp, Wp, Cs] (padding already applied, xp offset to the group's first
 * channel). The receptive field of output (n, oy, ox) is the R floats at
 * base(m) + tab[r] (r < R), base(m) = xp + ((n·Hp + oy·sh)·Wp + ox·sw)·Cs floats, tab: i32 byte
 * offsets in the packed weights' order (tap-major, then channel; src/ops/pack.ts directTaps).
 * y + m·yStride floats receives Nc channels: clamp(bias[n] + Σ_r A(m)[r] · w[r][n], ymin, ymax).
 * 4 output pixels × 8 channels per register tile; a partial last tile repeats its last pixel.
 * One flat loop over the receptive field per tile (the table's extra load per step measured free).
 */
export function conv2d_nhwc_f32_direct(
  xp: usize, Hp: i32, Wp: i32, Cs: i32, OH: i32, OW: i32, sh: i32, sw: i32, R: i32, tab: usize,
  Nc: i32, w: usize, y: usize, yStride: i32, m0: i32, m1: i32, ymin: f32, ymax: f32,
): void {
  const blockBytes = <usize>(8 + R * 8) << 2;
  const pixBytes = <usize>Cs << 2;
  const yBytes = <usize>yStride << 2;
  const tabEnd = tab + (<usize>R << 2);
  // A cursor over output pixels: no division per pixel (V8 sank four per-tile divisions into the
  // inner loop, 3× slower).
  const n = m0 / (OH * OW), rem = m0 - n * OH * OW;
  let oy = rem / OW, ox = rem - oy * OW;
  let row = xp + <usize>((n * Hp + oy * sh) * Wp) * pixBytes; // tap (0, 0) of output (oy, 0)
  const colStep = <usize>sw * pixBytes, rowStep = <usize>(sh * Wp) * pixBytes;
  const imageSkip = <usize>((Hp - OH * sh) * Wp) * pixBytes; // from the last output row to the next image
  if (ASC_FEATURE_SIMD) {
    const vmin = f32x4.splat(ymin);
    const vmax = f32x4.splat(ymax);
    for (let m = m0; m < m1; m += 4) {
      const last = min(m1 - m, 4) - 1;
      let x0: usize = 0, x1: usize = 0, x2: usize = 0, x3: usize = 0;
      for (let i = 0; i <= last; i++) {
        const p = row + <usize>ox * colStep;
        if (i == 0) x0 = p; else if (i == 1) x1 = p; else if (i == 2) x2 = p; else x3 = p;
        if (++ox == OW) {
          ox = 0;
          row += rowStep;
          if (++oy == OH) { oy = 0; row += imageSkip; }
        }
      }
      if (last < 1) x1 = x0;
      if (last < 2) x2 = x1;
      if (last < 3) x3 = x2;
      let wb = w;
      for (let n0 = 0; n0 < Nc; n0 += 8) {
        let a00 = v128.load(wb);
        let a01 = v128.load(wb, 16);
        let a10 = a00, a11 = a01, a20 = a00, a21 = a01, a30 = a00, a31 = a01;
        let wp = wb + 32;
        for (let tp = tab; tp < tabEnd; tp += 4) {
          const o = <usize>load<i32>(tp);
          const b0 = v128.load(wp);
          const b1 = v128.load(wp, 16);
          const v0 = v128.load32_splat(x0 + o);
          const v1 = v128.load32_splat(x1 + o);
          const v2 = v128.load32_splat(x2 + o);
          const v3 = v128.load32_splat(x3 + o);
          a00 = madd(v0, b0, a00); a01 = madd(v0, b1, a01);
          a10 = madd(v1, b0, a10); a11 = madd(v1, b1, a11);
          a20 = madd(v2, b0, a20); a21 = madd(v2, b1, a21);
          a30 = madd(v3, b0, a30); a31 = madd(v3, b1, a31);
          wp += 32;
        }
        const yb = y + (<usize>n0 << 2);
        const nr = Nc - n0;
        storeRow8(yb + <usize>m * yBytes, clampFast(a00, vmin, vmax), clampFast(a01, vmin, vmax), nr);
        if (last >= 1) storeRow8(yb + <usize>(m + 1) * yBytes, clampFast(a10, vmin, vmax), clampFast(a11, vmin, vmax), nr);
        if (last >= 2) storeRow8(yb + <usize>(m + 2) * yBytes, clampFast(a20, vmin, vmax), clampFast(a21, vmin, vmax), nr);
        if (last >= 3) storeRow8(yb + <usize>(m + 3) * yBytes, clampFast(a30, vmin, vmax), clampFast(a31, vmin, vmax), nr);
        wb += blockBytes;
      }
    }
  } else {
    // Scalar build: one pixel × 8 channels, the same layout and order.
    for (let m = m0; m < m1; m++) {
      const xm = row + <usize>ox * colStep;
      if (++ox == OW) {
        ox = 0;
        row += rowStep;
        if (++oy == OH) { oy = 0; row += imageSkip; }
      }
      const ym = y + <usize>m * yBytes;
      let wb = w;
      for (let n0 = 0; n0 < Nc; n0 += 8) {
        let s0 = load<f32>(wb), s1 = load<f32>(wb, 4), s2 = load<f32>(wb, 8), s3 = load<f32>(wb, 12);
        let s4 = load<f32>(wb, 16), s5 = load<f32>(wb, 20), s6 = load<f32>(wb, 24), s7 = load<f32>(wb, 28);
        let wp = wb + 32;
        for (let tp = tab; tp < tabEnd; tp += 4) {
          const a = load<f32>(xm + <usize>load<i32>(tp));
          s0 += a * load<f32>(wp); s1 += a * load<f32>(wp, 4);
          s2 += a * load<f32>(wp, 8); s3 += a * load<f32>(wp, 12);
          s4 += a * load<f32>(wp, 16); s5 += a * load<f32>(wp, 20);
          s6 += a * load<f32>(wp, 24); s7 += a * load<f32>(wp, 28);
          wp += 32;
        }
        storeClamped8(ym + (<usize>n0 << 2), Nc - n0, ymin, ymax, s0, s1, s2, s3, s4, s5, s6, s7);
        wb += blockBytes;
      }
    }
  }
}
