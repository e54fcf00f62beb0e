// 2-D upsampling of NHWC images by integer factors, nearest and bilinear, and their gradients.
// Every inner loop runs over the C channels of one pixel: v128 loads/stores, a scalar tail for
// C mod 4, the same f32 operations in both (mul then add, never a fused madd), so the SIMD body,
// the tail and the scalar build agree bit for bit.
//
// Bilinear source coordinates are PyTorch's (area_pixel_compute_source_index, in f32):
// alignCorners false: src = max(scale·(dst + 0.5) − 0.5, 0) with scale = 1/factor (half-pixel
// centres, what Keras' UpSampling2D(interpolation='bilinear') computes too);
// alignCorners true: src = scale·dst with scale = (in − 1)/(out − 1). Then i0 = floor(src),
// i1 = min(i0 + 1, in − 1), weight λ = src − i0.

/** y[p .. p + C) = x[q .. q + C). */
// @ts-ignore: decorator
@inline function copyPixel(q: usize, p: usize, C: i32): void {
  let c = 0;
  if (ASC_FEATURE_SIMD) {
    for (; c + 4 <= C; c += 4) v128.store(p + (<usize>c << 2), v128.load(q + (<usize>c << 2)));
  }
  for (; c < C; c++) store<f32>(p + (<usize>c << 2), load<f32>(q + (<usize>c << 2)));
}

/**
 * x [N, H, W, C] → y [N, H·sh, W·sw, C], y[n, oy, ox] = x[n, oy / sh, ox / sw] (PyTorch's nearest
 * with an integer scale, Keras' UpSampling2D). The first output row of each input row is built
 * pixel by pixel, the other sh − 1 are memory.copy of it.
 */
export function upsample2d_nhwc_f32_nearest(x: usize, y: usize, N: i32, H: i32, W: i32, C: i32, sh: i32, sw: i32): void {
  const OW = W * sw;
  const pixel = <usize>C << 2, rowOut = <usize>OW * pixel;
  for (let n = 0; n < N; n++) {
    for (let iy = 0; iy < H; iy++) {
      const xr = x + (<usize>(n * H + iy) * <usize>W) * pixel;
      const yr = y + (<usize>(n * H + iy) * <usize>sh) * rowOut;
      for (let ix = 0; ix < W; ix++) {
        const q = xr + <usize>ix * pixel;
        for (let b = 0; b < sw; b++) copyPixel(q, yr + <usize>(ix * sw + b) * pixel, C);
      }
      for (let a = 1; a < sh; a++) memory.copy(yr + <usize>a * rowOut, yr, rowOut);
    }
  }
}

/** dy [N, H·sh, W·sw, C] → dx [N, H, W, C]: each dx pixel the sum of its sh×sw block, in row-major order. */
export function upsample2d_nhwc_f32_nearest_backward(dy: usize, dx: usize, N: i32, H: i32, W: i32, C: i32, sh: i32, sw: i32): void {
  const OW = W * sw;
  const pixel = <usize>C << 2, rowOut = <usize>OW * pixel;
  for (let n = 0; n < N; n++) {
    for (let iy = 0; iy < H; iy++) {
      const gr = dy + (<usize>(n * H + iy) * <usize>sh) * rowOut;
      for (let ix = 0; ix < W; ix++) {
        const p = dx + (<usize>((n * H + iy) * W + ix)) * pixel;
        const g0 = gr + <usize>(ix * sw) * pixel;
        let c = 0;
        if (ASC_FEATURE_SIMD) {
          for (; c + 4 <= C; c += 4) {
            const o = <usize>c << 2;
            let s = f32x4.splat(0);
            for (let a = 0; a < sh; a++) {
              for (let b = 0; b < sw; b++) s = f32x4.add(s, v128.load(g0 + <usize>a * rowOut + <usize>b * pixel + o));
            }
            v128.store(p + o, s);
          }
        }
        for (; c < C; c++) {
          const o = <usize>c << 2;
          let s: f32 = 0;
          for (let a = 0; a < sh; a++) {
            for (let b = 0; b < sw; b++) s += load<f32>(g0 + <usize>a * rowOut + <usize>b * pixel + o);
          }
          store<f32>(p + o, s);
        }
      }
    }
  }
}

/** Source index i0, neighbour i1 and weight λ of output index o (see the file comment). */
// @ts-ignore: decorator
@inline function source(o: i32, scale: f32, align: bool): f32 {
  if (align) return scale * <f32>o;
  const s = scale * (<f32>o + 0.5) - 0.5;
  return s < 0 ? 0 : s;
}

/**
 * x [N, H, W, C] → y [N, OH, OW, C] by bilinear interpolation, scaleH/scaleW and alignCorners as
 * in the file comment: y = (1 − ly)·((1 − lx)·x00 + lx·x01) + ly·((1 − lx)·x10 + lx·x11).
 */
export function upsample2d_nhwc_f32_bilinear(x: usize, y: usize, N: i32, H: i32, W: i32, C: i32, OH: i32, OW: i32, scaleH: f32, scaleW: f32, alignCorners: bool): void {
  const pixel = <usize>C << 2;
  for (let n = 0; n < N; n++) {
    const xn = x + <usize>(n * H) * <usize>W * pixel;
    for (let oy = 0; oy < OH; oy++) {
      const fy = source(oy, scaleH, alignCorners);
      const y0 = <i32>fy, y1 = y0 < H - 1 ? y0 + 1 : y0;
      const ly1 = fy - <f32>y0, ly0 = <f32>1 - ly1;
      const r0 = xn + <usize>(y0 * W) * pixel, r1 = xn + <usize>(y1 * W) * pixel;
      const yr = y + (<usize>(n * OH + oy) * <usize>OW) * pixel;
      for (let ox = 0; ox < OW; ox++) {
        const fx = source(ox, scaleW, alignCorners);
        const x0 = <i32>fx, x1 = x0 < W - 1 ? x0 + 1 : x0;
        const lx1 = fx - <f32>x0, lx0 = <f32>1 - lx1;
        const p00 = r0 + <usize>x0 * pixel, p01 = r0 + <usize>x1 * pixel;
        const p10 = r1 + <usize>x0 * pixel, p11 = r1 + <usize>x1 * pixel;
        const out = yr + <usize>ox * pixel;
        let c = 0;
        if (ASC_FEATURE_SIMD) {
          const vy0 = f32x4.splat(ly0), vy1 = f32x4.splat(ly1), vx0 = f32x4.splat(lx0), vx1 = f32x4.splat(lx1);
          for (; c + 4 <= C; c += 4) {
            const o = <usize>c << 2;
            const top = f32x4.add(f32x4.mul(vx0, v128.load(p00 + o)), f32x4.mul(vx1, v128.load(p01 + o)));
            const bottom = f32x4.add(f32x4.mul(vx0, v128.load(p10 + o)), f32x4.mul(vx1, v128.load(p11 + o)));
            v128.store(out + o, f32x4.add(f32x4.mul(vy0, top), f32x4.mul(vy1, bottom)));
          }
        }
        for (; c < C; c++) {
          const o = <usize>c << 2;
          const top = lx0 * load<f32>(p00 + o) + lx1 * load<f32>(p01 + o);
          const bottom = lx0 * load<f32>(p10 + o) + lx1 * load<f32>(p11 + o);
          store<f32>(out + o, ly0 * top + ly1 * bottom);
        }
      }
    }
  }
}

/**
 * The gradient of upsample2d_nhwc_f32_bilinear: dx (zeroed here) receives, for every output pixel
 * in row-major order, its four weights times dy (ly·lx products as the forward rounds them).
 */
export function upsample2d_nhwc_f32_bilinear_backward(dy: usize, dx: usize, N: i32, H: i32, W: i32, C: i32, OH: i32, OW: i32, scaleH: f32, scaleW: f32, alignCorners: bool): void {
  const pixel = <usize>C << 2;
  memory.fill(dx, 0, <usize>N * <usize>H * <usize>W * pixel);
  for (let n = 0; n < N; n++) {
    const xn = dx + <usize>(n * H) * <usize>W * pixel;
    for (let oy = 0; oy < OH; oy++) {
      const fy = source(oy, scaleH, alignCorners);
      const y0 = <i32>fy, y1 = y0 < H - 1 ? y0 + 1 : y0;
      const ly1 = fy - <f32>y0, ly0 = <f32>1 - ly1;
      const r0 = xn + <usize>(y0 * W) * pixel, r1 = xn + <usize>(y1 * W) * pixel;
      const gr = dy + (<usize>(n * OH + oy) * <usize>OW) * pixel;
      for (let ox = 0; ox < OW; ox++) {
        const fx = source(ox, scaleW, alignCorners);
        const x0 = <i32>fx, x1 = x0 < W - 1 ? x0 + 1 : x0;
        const lx1 = fx - <f32>x0, lx0 = <f32>1 - lx1;
        const w00 = ly0 * lx0, w01 = ly0 * lx1, w10 = ly1 * lx0, w11 = ly1 * lx1;
        const p00 = r0 + <usize>x0 * pixel, p01 = r0 + <usize>x1 * pixel;
        const p10 = r1 + <usize>x0 * pixel, p11 = r1 + <usize>x1 * pixel;
        const g = gr + <usize>ox * pixel;
        let c = 0;
        if (ASC_FEATURE_SIMD) {
          const v00 = f32x4.splat(w00), v01 = f32x4.splat(w01), v10 = f32x4.splat(w10), v11 = f32x4.splat(w11);
          for (; c + 4 <= C; c += 4) {
            const o = <usize>c << 2;
            const d = v128.load(g + o);
            // Sequential read-modify-write: x0 may equal x1 and y0 may equal y1 at the edges.
            v128.store(p00 + o, f32x4.add(v128.load(p00 + o), f32x4.mul(v00, d)));
            v128.store(p01 + o, f32x4.add(v128.load(p01 + o), f32x4.mul(v01, d)));
            v128.store(p10 + o, f32x4.add(v128.load(p10 + o), f32x4.mul(v10, d)));
            v128.store(p11 + o, f32x4.add(v128.load(p11 + o), f32x4.mul(v11, d)));
          }
        }
        for (; c < C; c++) {
          const o = <usize>c << 2;
          const d = load<f32>(g + o);
          store<f32>(p00 + o, load<f32>(p00 + o) + w00 * d);
          store<f32>(p01 + o, load<f32>(p01 + o) + w01 * d);
          store<f32>(p10 + o, load<f32>(p10 + o) + w10 * d);
          store<f32>(p11 + o, load<f32>(p11 + o) + w11 * d);
        }
      }
    }
  }
}
