import { madd, clamp, clampf } from './simd';

// Convolution kernels that do not fit the packed GEMM: depthwise (one input channel per group)
// and locally connected (a different weight matrix per output pixel). Both use the same row
// indirection as the GEMM (src/ops/conv.ts builds it): ind[m·T + t] is the byte offset of the
// input pixel under tap t of output pixel m, relative to x, or negative for a padding tap.

/**
 * Depthwise convolution, channel multiplier 1. w: [bias C][T][C] (taps already flipped if asked).
 * y[outInd[m] + c] = clamp(bias[c] + Σ_t x[ind[m·T+t] + c] · w[t][c], ymin, ymax).
 * Padding taps are skipped, so SIMD body and scalar tail see the same terms.
 */
export function dwconv_f32(
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
        v128.store(ym + cb, clamp(a0, vmin, vmax));
        v128.store(ym + cb, clamp(a1, vmin, vmax), 16);
        v128.store(ym + cb, clamp(a2, vmin, vmax), 32);
        v128.store(ym + cb, clamp(a3, vmin, vmax), 48);
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
        v128.store(ym + cb, clamp(a0, vmin, vmax));
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
export function locally_connected_f32(
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
