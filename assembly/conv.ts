import { madd, clampFast, clampf } from './simd';

// Convolution kernels that do not fit the packed GEMM: depthwise (one input channel per group),
// locally connected (a different weight matrix per output pixel), and one input channel at
// stride 1. Depthwise and locally connected use the same row indirection as the GEMM
// (src/ops/pack.ts builds it): ind[m·T + t] is the byte offset of the input pixel under tap t of
// output pixel m, relative to x, or negative for a padding tap. Their gradients are in
// conv-backprop.ts; the GEMM paths in gemm/.

/**
 * Depthwise convolution, channel multiplier 1. w: [bias C][T][C] (taps already flipped if asked).
 * y[outInd[m] + c] = clamp(bias[c] + Σ_t x[ind[m·T+t] + c] · w[t][c], ymin, ymax).
 * Padding taps are skipped, so SIMD body and scalar tail see the same terms.
 */
export function conv2d_nhwc_f32_depthwise(
  M: i32, C: i32, T: i32, x: usize, ind: usize, w: usize,
  y: usize, outInd: usize, ymin: f32, ymax: f32,
): void {
  const rowBytes = <usize>C << 2;
  for (let m = 0; m < M; m++) {
    const im = ind + ((<usize>m * <usize>T) << 2);
    const ym = y + <usize>load<i32>(outInd + (<usize>m << 2));
    let c = 0;
    if (ASC_FEATURE_SIMD) {
      const vmin = f32x4.splat(ymin);
      const vmax = f32x4.splat(ymax);
      for (; c + 16 <= C; c += 16) {
        const cb = <usize>c << 2;
        let a0 = v128.load(w + cb), a1 = v128.load(w + cb, 16), a2 = v128.load(w + cb, 32), a3 = v128.load(w + cb, 48);
        let wp = w + rowBytes + cb;
        for (let t = 0; t < T; t++) {
          const o = load<i32>(im + (<usize>t << 2));
          if (o >= 0) {
            const p = x + <usize>o + cb;
            a0 = madd(v128.load(p), v128.load(wp), a0);
            a1 = madd(v128.load(p, 16), v128.load(wp, 16), a1);
            a2 = madd(v128.load(p, 32), v128.load(wp, 32), a2);
            a3 = madd(v128.load(p, 48), v128.load(wp, 48), a3);
          }
          wp += rowBytes;
        }
        v128.store(ym + cb, clampFast(a0, vmin, vmax));
        v128.store(ym + cb, clampFast(a1, vmin, vmax), 16);
        v128.store(ym + cb, clampFast(a2, vmin, vmax), 32);
        v128.store(ym + cb, clampFast(a3, vmin, vmax), 48);
      }
      for (; c + 4 <= C; c += 4) {
        const cb = <usize>c << 2;
        let a0 = v128.load(w + cb);
        let wp = w + rowBytes + cb;
        for (let t = 0; t < T; t++) {
          const o = load<i32>(im + (<usize>t << 2));
          if (o >= 0) a0 = madd(v128.load(x + <usize>o + cb), v128.load(wp), a0);
          wp += rowBytes;
        }
        v128.store(ym + cb, clampFast(a0, vmin, vmax));
      }
    }
    for (; c < C; c++) {
      const cb = <usize>c << 2;
      let s = load<f32>(w + cb);
      let wp = w + rowBytes + cb;
      for (let t = 0; t < T; t++) {
        const o = load<i32>(im + (<usize>t << 2));
        if (o >= 0) s += load<f32>(x + <usize>o + cb) * load<f32>(wp);
        wp += rowBytes;
      }
      store<f32>(ym + cb, clampf(s, ymin, ymax));
    }
  }
}

/**
 * Locally connected (unshared) convolution. Output pixel m uses weights w + (m mod P)·T·K·N floats,
 * laid out [T][K][N] (N = Cout contiguous); bias [P][N] or 0 for none.
 * y[outInd[m] + n] = bias[m mod P][n] + Σ_t Σ_k x[ind[m·T+t] + k] · W(m)[t][k][n]. Padding taps skipped.
 */
export function locallyconnected2d_nhwc_f32(
  M: i32, P: i32, N: i32, K: i32, T: i32,
  x: usize, ind: usize, w: usize, bias: usize, y: usize, outInd: usize,
): void {
  const nBytes = <usize>N << 2;
  const pixelBytes = <usize>T * <usize>K * nBytes;
  for (let m = 0; m < M; m++) {
    const p = m % P;
    const im = ind + ((<usize>m * <usize>T) << 2);
    const ym = y + <usize>load<i32>(outInd + (<usize>m << 2));
    const wm = w + <usize>p * pixelBytes;
    const bm = bias + <usize>p * nBytes;
    let n = 0;
    if (ASC_FEATURE_SIMD) {
      for (; n + 8 <= N; n += 8) {
        const nb = <usize>n << 2;
        let a0 = f32x4.splat(0), a1 = f32x4.splat(0);
        if (bias != 0) { a0 = v128.load(bm + nb); a1 = v128.load(bm + nb, 16); }
        let wp = wm + nb;
        for (let t = 0; t < T; t++) {
          const o = load<i32>(im + (<usize>t << 2));
          if (o < 0) { wp += <usize>K * nBytes; continue; }
          let xp = x + <usize>o;
          for (let k = 0; k < K; k++) {
            const v = v128.load32_splat(xp);
            a0 = madd(v, v128.load(wp), a0);
            a1 = madd(v, v128.load(wp, 16), a1);
            xp += 4; wp += nBytes;
          }
        }
        v128.store(ym + nb, a0);
        v128.store(ym + nb, a1, 16);
      }
      for (; n + 4 <= N; n += 4) {
        const nb = <usize>n << 2;
        let a0 = bias != 0 ? v128.load(bm + nb) : f32x4.splat(0);
        let wp = wm + nb;
        for (let t = 0; t < T; t++) {
          const o = load<i32>(im + (<usize>t << 2));
          if (o < 0) { wp += <usize>K * nBytes; continue; }
          let xp = x + <usize>o;
          for (let k = 0; k < K; k++) {
            a0 = madd(v128.load32_splat(xp), v128.load(wp), a0);
            xp += 4; wp += nBytes;
          }
        }
        v128.store(ym + nb, a0);
      }
    }
    for (; n < N; n++) {
      const nb = <usize>n << 2;
      let s: f32 = bias != 0 ? load<f32>(bm + nb) : 0;
      let wp = wm + nb;
      for (let t = 0; t < T; t++) {
        const o = load<i32>(im + (<usize>t << 2));
        if (o < 0) { wp += <usize>K * nBytes; continue; }
        let xp = x + <usize>o;
        for (let k = 0; k < K; k++) {
          s += load<f32>(xp) * load<f32>(wp);
          xp += 4; wp += nBytes;
        }
      }
      store<f32>(ym + nb, s);
    }
  }
}

// ---- one input channel ----

/**
 * Direct convolution for one input channel (grayscale first layers), stride 1, no dilation:
 * vectorised over output pixels instead of channels, so no im2col and no half-empty channel
 * vectors. x is a padded single-channel image batch [N, Hp, Wp] with at least 8 floats of slack
 * after its end (the host copies it so); y NHWC [N, OH, OW, Cout] with OH = Hp − KH + 1,
 * OW = Wp − KW + 1. w: blocks of 6 output channels, each [T][6] (zeros past Cout), bias [Cout]
 * or 0. Register tile: 8 pixels along a row (2 vectors) × 6 channels = 12 accumulators.
 */
export function conv2d_nhwc_f32_c1(
  x: usize, N: i32, Hp: i32, Wp: i32, OH: i32, OW: i32, KH: i32, KW: i32, Cout: i32,
  w: usize, bias: usize, y: usize, ymin: f32, ymax: f32,
): void {
  const T = KH * KW;
  const blockBytes = <usize>T * 24;
  const pixBytes = <usize>Cout << 2;
  const rowBytes = <usize>Wp << 2;
  const rowSkip = rowBytes - (<usize>KW << 2); // from past a kernel row's last tap to the next row
  for (let n = 0; n < N; n++) {
    for (let oy = 0; oy < OH; oy++) {
      const xrow = x + (<usize>(n * Hp + oy) * rowBytes);
      const yrow = y + (<usize>(n * OH + oy) * <usize>OW) * pixBytes;
      for (let o0 = 0; o0 < Cout; o0 += 6) {
        const nr = min(Cout - o0, 6);
        const wb = w + <usize>(o0 / 6) * blockBytes;
        for (let ox0 = 0; ox0 < OW; ox0 += 8) {
          if (ASC_FEATURE_SIMD) {
            let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0;
            let b0 = a0, b1 = a0, b2 = a0, b3 = a0, b4 = a0, b5 = a0;
            // One flat loop over the taps (a loop per kernel row measured slower: 5-tap rows).
            let xp = xrow + (<usize>ox0 << 2);
            let kx = 0;
            const wEnd = wb + blockBytes;
            for (let wp = wb; wp < wEnd; wp += 24) {
              const u = v128.load(xp), v = v128.load(xp, 16);
              let s = v128.load32_splat(wp); a0 = madd(u, s, a0); b0 = madd(v, s, b0);
              s = v128.load32_splat(wp + 4); a1 = madd(u, s, a1); b1 = madd(v, s, b1);
              s = v128.load32_splat(wp + 8); a2 = madd(u, s, a2); b2 = madd(v, s, b2);
              s = v128.load32_splat(wp + 12); a3 = madd(u, s, a3); b3 = madd(v, s, b3);
              s = v128.load32_splat(wp + 16); a4 = madd(u, s, a4); b4 = madd(v, s, b4);
              s = v128.load32_splat(wp + 20); a5 = madd(u, s, a5); b5 = madd(v, s, b5);
              xp += 4;
              if (++kx == KW) { kx = 0; xp += rowSkip; }
            }
            const pr = min(OW - ox0, 8);
            const yp = yrow + <usize>ox0 * pixBytes + (<usize>o0 << 2);
            if (nr == 6) {
              // A full block: bias and clamp per channel, then transpose to pixel-major and
              // store 6 floats per pixel (a vector and a 64-bit lane) instead of 48 scalar stores.
              const vmin = f32x4.splat(ymin), vmax = f32x4.splat(ymax);
              const c0 = biasClamp(a0, b0, bias, o0, vmin, vmax, 0), c1 = biasClamp(a1, b1, bias, o0 + 1, vmin, vmax, 0);
              const c2 = biasClamp(a2, b2, bias, o0 + 2, vmin, vmax, 0), c3 = biasClamp(a3, b3, bias, o0 + 3, vmin, vmax, 0);
              const c4 = biasClamp(a4, b4, bias, o0 + 4, vmin, vmax, 0), c5 = biasClamp(a5, b5, bias, o0 + 5, vmin, vmax, 0);
              storePixels6(yp, c0, c1, c2, c3, c4, c5, min(pr, 4), pixBytes);
              if (pr > 4) {
                const d0 = biasClamp(a0, b0, bias, o0, vmin, vmax, 1), d1 = biasClamp(a1, b1, bias, o0 + 1, vmin, vmax, 1);
                const d2 = biasClamp(a2, b2, bias, o0 + 2, vmin, vmax, 1), d3 = biasClamp(a3, b3, bias, o0 + 3, vmin, vmax, 1);
                const d4 = biasClamp(a4, b4, bias, o0 + 4, vmin, vmax, 1), d5 = biasClamp(a5, b5, bias, o0 + 5, vmin, vmax, 1);
                storePixels6(yp + 4 * pixBytes, d0, d1, d2, d3, d4, d5, pr - 4, pixBytes);
              }
              continue;
            }
            storeChannel(yp, a0, b0, pr, pixBytes, bias, o0, ymin, ymax);
            if (nr > 1) storeChannel(yp + 4, a1, b1, pr, pixBytes, bias, o0 + 1, ymin, ymax);
            if (nr > 2) storeChannel(yp + 8, a2, b2, pr, pixBytes, bias, o0 + 2, ymin, ymax);
            if (nr > 3) storeChannel(yp + 12, a3, b3, pr, pixBytes, bias, o0 + 3, ymin, ymax);
            if (nr > 4) storeChannel(yp + 16, a4, b4, pr, pixBytes, bias, o0 + 4, ymin, ymax);
            if (nr > 5) storeChannel(yp + 20, a5, b5, pr, pixBytes, bias, o0 + 5, ymin, ymax);
          } else {
            const pr = min(OW - ox0, 8);
            for (let i = 0; i < pr; i++) {
              for (let j = 0; j < nr; j++) {
                let s: f32 = 0;
                let wp = wb + (<usize>j << 2);
                let xr = xrow + (<usize>(ox0 + i) << 2);
                for (let ky = 0; ky < KH; ky++) {
                  let xp = xr;
                  for (let kx = 0; kx < KW; kx++) {
                    s += load<f32>(xp) * load<f32>(wp);
                    xp += 4;
                    wp += 24;
                  }
                  xr += rowBytes;
                }
                const b: f32 = bias != 0 ? load<f32>(bias + (<usize>(o0 + j) << 2)) : 0;
                store<f32>(yrow + <usize>(ox0 + i) * pixBytes + (<usize>(o0 + j) << 2), clampf(s + b, ymin, ymax));
              }
            }
          }
        }
      }
    }
  }
}

/** lo (hi = 0) or hi (hi = 1) plus channel o's bias, clamped: exactly storeChannel's values. */
// @ts-ignore: decorator
@inline function biasClamp(lo: v128, hi: v128, bias: usize, o: i32, vmin: v128, vmax: v128, half: i32): v128 {
  const b = bias != 0 ? v128.load32_splat(bias + (<usize>o << 2)) : f32x4.splat(0);
  return clampFast(f32x4.add(half == 0 ? lo : hi, b), vmin, vmax);
}

/**
 * Up to 4 pixels (`count`) of 6 channels, given as one vector per channel (lane = pixel): a 4×4
 * transpose of channels 0–3 plus interleaved channels 4–5, stored as 16 + 8 bytes per pixel.
 */
// @ts-ignore: decorator
@inline function storePixels6(p: usize, c0: v128, c1: v128, c2: v128, c3: v128, c4: v128, c5: v128, count: i32, pixBytes: usize): void {
  const t0 = v128.shuffle<f32>(c0, c1, 0, 4, 1, 5), t1 = v128.shuffle<f32>(c2, c3, 0, 4, 1, 5);
  const t2 = v128.shuffle<f32>(c0, c1, 2, 6, 3, 7), t3 = v128.shuffle<f32>(c2, c3, 2, 6, 3, 7);
  const u01 = v128.shuffle<f32>(c4, c5, 0, 4, 1, 5), u23 = v128.shuffle<f32>(c4, c5, 2, 6, 3, 7);
  v128.store(p, v128.shuffle<f32>(t0, t1, 0, 1, 4, 5));
  v128.store64_lane(p + 16, u01, 0);
  if (count > 1) {
    v128.store(p + pixBytes, v128.shuffle<f32>(t0, t1, 2, 3, 6, 7));
    v128.store64_lane(p + pixBytes + 16, u01, 1);
  }
  if (count > 2) {
    v128.store(p + 2 * pixBytes, v128.shuffle<f32>(t2, t3, 0, 1, 4, 5));
    v128.store64_lane(p + 2 * pixBytes + 16, u23, 0);
  }
  if (count > 3) {
    v128.store(p + 3 * pixBytes, v128.shuffle<f32>(t2, t3, 2, 3, 6, 7));
    v128.store64_lane(p + 3 * pixBytes + 16, u23, 1);
  }
}

/** Channel o of up to 8 pixels (lanes of lo then hi) plus its bias, clamped, at stride `pixBytes`. */
// @ts-ignore: decorator
@inline function storeChannel(p: usize, lo: v128, hi: v128, count: i32, pixBytes: usize, bias: usize, o: i32, ymin: f32, ymax: f32): void {
  const b = bias != 0 ? v128.load32_splat(bias + (<usize>o << 2)) : f32x4.splat(0);
  const vmin = f32x4.splat(ymin), vmax = f32x4.splat(ymax);
  const l = clampFast(f32x4.add(lo, b), vmin, vmax);
  const h = clampFast(f32x4.add(hi, b), vmin, vmax);
  store<f32>(p, f32x4.extract_lane(l, 0));
  if (count > 1) store<f32>(p + pixBytes, f32x4.extract_lane(l, 1));
  if (count > 2) store<f32>(p + 2 * pixBytes, f32x4.extract_lane(l, 2));
  if (count > 3) store<f32>(p + 3 * pixBytes, f32x4.extract_lane(l, 3));
  if (count > 4) store<f32>(p + 4 * pixBytes, f32x4.extract_lane(h, 0));
  if (count > 5) store<f32>(p + 5 * pixBytes, f32x4.extract_lane(h, 1));
  if (count > 6) store<f32>(p + 6 * pixBytes, f32x4.extract_lane(h, 2));
  if (count > 7) store<f32>(p + 7 * pixBytes, f32x4.extract_lane(h, 3));
}

/**
 * Copy single-channel images x [N, H, W] into a zero-padded [N, H + pt + pb, W + pl + pr] at dst
 * (which has `slack` more floats after it, zeroed too).
 */
export function pad2d_nhwc_f32_c1(x: usize, N: i32, H: i32, W: i32, pt: i32, pb: i32, pl: i32, pr: i32, dst: usize, slack: i32): void {
  const Hp = H + pt + pb, Wp = W + pl + pr;
  const total = N * Hp * Wp + slack;
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 4 <= total; i += 4) v128.store(dst + (<usize>i << 2), f32x4.splat(0));
  }
  for (; i < total; i++) store<f32>(dst + (<usize>i << 2), 0);
  for (let n = 0; n < N; n++) {
    for (let r = 0; r < H; r++) {
      const src = x + (<usize>(n * H + r) * <usize>W << 2);
      const out = dst + ((<usize>(n * Hp + r + pt) * <usize>Wp + <usize>pl) << 2);
      let c = 0;
      if (ASC_FEATURE_SIMD) {
        for (; c + 4 <= W; c += 4) v128.store(out + (<usize>c << 2), v128.load(src + (<usize>c << 2)));
      }
      for (; c < W; c++) store<f32>(out + (<usize>c << 2), load<f32>(src + (<usize>c << 2)));
    }
  }
}
