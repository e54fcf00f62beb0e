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

// ---- gradients ----

/** db[n] = Σ_r dy[r][n] over `rows` rows of N floats (bias gradient). Overwrites db. */
export function bias_grad_f32(dy: usize, rows: i32, N: i32, db: usize): void {
  const rowBytes = <usize>N << 2;
  let n = 0;
  if (ASC_FEATURE_SIMD) {
    for (; n + 16 <= N; n += 16) {
      let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0;
      let p = dy + (<usize>n << 2);
      for (let r = 0; r < rows; r++) {
        a0 = f32x4.add(a0, v128.load(p));
        a1 = f32x4.add(a1, v128.load(p, 16));
        a2 = f32x4.add(a2, v128.load(p, 32));
        a3 = f32x4.add(a3, v128.load(p, 48));
        p += rowBytes;
      }
      const o = db + (<usize>n << 2);
      v128.store(o, a0); v128.store(o, a1, 16); v128.store(o, a2, 32); v128.store(o, a3, 48);
    }
    for (; n + 4 <= N; n += 4) {
      let a0 = f32x4.splat(0);
      let p = dy + (<usize>n << 2);
      for (let r = 0; r < rows; r++) { a0 = f32x4.add(a0, v128.load(p)); p += rowBytes; }
      v128.store(db + (<usize>n << 2), a0);
    }
  }
  for (; n < N; n++) {
    let s: f32 = 0;
    let p = dy + (<usize>n << 2);
    for (let r = 0; r < rows; r++) { s += load<f32>(p); p += rowBytes; }
    store<f32>(db + (<usize>n << 2), s);
  }
}

/**
 * Input gradient of locally_connected_f32: dx[ind[m·T+t] + k] += Σ_n W(m)[t][k][n] · dy[outInd[m] + n].
 * Accumulates: the host zero-fills dx first.
 */
export function locally_connected_input_grad_f32(
  M: i32, P: i32, N: i32, K: i32, T: i32,
  dx: usize, ind: usize, w: usize, dy: usize, outInd: usize,
): void {
  const nBytes = <usize>N << 2;
  const pixelBytes = <usize>T * <usize>K * nBytes;
  for (let m = 0; m < M; m++) {
    const im = ind + ((<usize>m * <usize>T) << 2);
    const gm = dy + <usize>load<i32>(outInd + (<usize>m << 2));
    let wp = w + <usize>(m % P) * pixelBytes;
    for (let t = 0; t < T; t++) {
      const o = load<i32>(im + (<usize>t << 2));
      if (o < 0) { wp += <usize>K * nBytes; continue; }
      let xp = dx + <usize>o;
      for (let k = 0; k < K; k++) {
        let n = 0;
        let s: f32 = 0;
        if (ASC_FEATURE_SIMD) {
          let acc = f32x4.splat(0);
          for (; n + 4 <= N; n += 4) acc = madd(v128.load(wp + (<usize>n << 2)), v128.load(gm + (<usize>n << 2)), acc);
          s = f32x4.extract_lane(acc, 0) + f32x4.extract_lane(acc, 1) + f32x4.extract_lane(acc, 2) + f32x4.extract_lane(acc, 3);
        }
        for (; n < N; n++) s += load<f32>(wp + (<usize>n << 2)) * load<f32>(gm + (<usize>n << 2));
        store<f32>(xp, load<f32>(xp) + s);
        xp += 4;
        wp += nBytes;
      }
    }
  }
}

/**
 * Filter gradient of locally_connected_f32 over a batch of `batch` images of P pixels each:
 * dW(p)[t][k][n] = Σ_b x[ind[(b·P+p)·T+t] + k] · dy[outInd[b·P+p] + n]. Overwrites dw.
 */
export function locally_connected_filter_grad_f32(
  batch: i32, P: i32, N: i32, K: i32, T: i32,
  x: usize, ind: usize, dy: usize, outInd: usize, dw: usize,
): void {
  const nBytes = <usize>N << 2;
  for (let p = 0; p < P; p++) {
    for (let t = 0; t < T; t++) {
      for (let k = 0; k < K; k++) {
        const row = dw + ((<usize>p * <usize>T + <usize>t) * <usize>K + <usize>k) * nBytes;
        let n = 0;
        if (ASC_FEATURE_SIMD) {
          for (; n + 4 <= N; n += 4) {
            let acc = f32x4.splat(0);
            for (let b = 0; b < batch; b++) {
              const m = b * P + p;
              const o = load<i32>(ind + ((<usize>m * <usize>T + <usize>t) << 2));
              if (o < 0) continue;
              const g = dy + <usize>load<i32>(outInd + (<usize>m << 2)) + (<usize>n << 2);
              acc = madd(v128.load32_splat(x + <usize>o + (<usize>k << 2)), v128.load(g), acc);
            }
            v128.store(row + (<usize>n << 2), acc);
          }
        }
        for (; n < N; n++) {
          let s: f32 = 0;
          for (let b = 0; b < batch; b++) {
            const m = b * P + p;
            const o = load<i32>(ind + ((<usize>m * <usize>T + <usize>t) << 2));
            if (o < 0) continue;
            s += load<f32>(x + <usize>o + (<usize>k << 2)) * load<f32>(dy + <usize>load<i32>(outInd + (<usize>m << 2)) + (<usize>n << 2));
          }
          store<f32>(row + (<usize>n << 2), s);
        }
      }
    }
  }
}
