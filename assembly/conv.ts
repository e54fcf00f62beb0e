import { hsum } from './math';
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

/**
 * Direct convolution for one input channel (grayscale first layers), stride 1, no dilation:
 * vectorised over output pixels instead of channels, so no im2col and no half-empty channel
 * vectors. x is a padded single-channel image batch [N, Hp, Wp] with at least 8 floats of slack
 * after its end (the host copies it so); y NHWC [N, OH, OW, Cout] with OH = Hp − KH + 1,
 * OW = Wp − KW + 1. w: blocks of 6 output channels, each [T][6] (zeros past Cout), bias [Cout]
 * or 0. Register tile: 8 pixels along a row (2 vectors) × 6 channels = 12 accumulators.
 */
export function conv2d_c1_f32(
  x: usize, N: i32, Hp: i32, Wp: i32, OH: i32, OW: i32, KH: i32, KW: i32, Cout: i32,
  w: usize, bias: usize, y: usize, ymin: f32, ymax: f32,
): void {
  const T = KH * KW;
  const blockBytes = <usize>T * 24;
  const pixBytes = <usize>Cout << 2;
  const rowBytes = <usize>Wp << 2;
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
            let wp = wb;
            let xr = xrow + (<usize>ox0 << 2);
            for (let ky = 0; ky < KH; ky++) {
              let xp = xr;
              for (let kx = 0; kx < KW; kx++) {
                const u = v128.load(xp), v = v128.load(xp, 16);
                let s = v128.load32_splat(wp); a0 = madd(u, s, a0); b0 = madd(v, s, b0);
                s = v128.load32_splat(wp + 4); a1 = madd(u, s, a1); b1 = madd(v, s, b1);
                s = v128.load32_splat(wp + 8); a2 = madd(u, s, a2); b2 = madd(v, s, b2);
                s = v128.load32_splat(wp + 12); a3 = madd(u, s, a3); b3 = madd(v, s, b3);
                s = v128.load32_splat(wp + 16); a4 = madd(u, s, a4); b4 = madd(v, s, b4);
                s = v128.load32_splat(wp + 20); a5 = madd(u, s, a5); b5 = madd(v, s, b5);
                xp += 4;
                wp += 24;
              }
              xr += rowBytes;
            }
            const pr = min(OW - ox0, 8);
            const yp = yrow + <usize>ox0 * pixBytes + (<usize>o0 << 2);
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

/** Channel o of up to 8 pixels (lanes of lo then hi) plus its bias, clamped, at stride `pixBytes`. */
// @ts-ignore: decorator
@inline function storeChannel(p: usize, lo: v128, hi: v128, count: i32, pixBytes: usize, bias: usize, o: i32, ymin: f32, ymax: f32): void {
  const b = bias != 0 ? v128.load32_splat(bias + (<usize>o << 2)) : f32x4.splat(0);
  const vmin = f32x4.splat(ymin), vmax = f32x4.splat(ymax);
  const l = clamp(f32x4.add(lo, b), vmin, vmax);
  const h = clamp(f32x4.add(hi, b), vmin, vmax);
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
export function pad_c1_f32(x: usize, N: i32, H: i32, W: i32, pt: i32, pb: i32, pl: i32, pr: i32, dst: usize, slack: i32): void {
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

/**
 * Filter gradient of conv2d_c1_f32 (one input channel, stride 1): dw[ky][kx][0][o] =
 * Σ_{n,oy,ox} xp[n][oy+ky][ox+kx] · dy[n][oy][ox][o], vectorised over ox. xp is the padded input
 * of conv2d_c1_f32 with at least one row and 16 floats of zeroed slack after it; dyT is dy
 * transposed to [N][Cout][OH][OWp] with OWp = OW rounded up to 4, zeros in the extra columns
 * (transpose_dy_c1_f32 writes it). Register tile: 2 output channels × 5 taps of a kernel row.
 */
export function conv2d_c1_filter_grad_f32(
  xp: usize, N: i32, Hp: i32, Wp: i32, OH: i32, OWp: i32, KH: i32, KW: i32, Cout: i32, dyT: usize, dw: usize,
): void {
  const rowBytes = <usize>Wp << 2;
  const dyRowBytes = <usize>OWp << 2;
  const planeBytes = <usize>OH * dyRowBytes;
  for (let o0 = 0; o0 < Cout; o0 += 2) {
    const o1 = min(o0 + 1, Cout - 1);
    for (let ky = 0; ky < KH; ky++) {
      for (let kx0 = 0; kx0 < KW; kx0 += 5) {
        const kn = min(KW - kx0, 5);
        let s00: f32 = 0, s01: f32 = 0, s02: f32 = 0, s03: f32 = 0, s04: f32 = 0;
        let s10: f32 = 0, s11: f32 = 0, s12: f32 = 0, s13: f32 = 0, s14: f32 = 0;
        if (ASC_FEATURE_SIMD) {
          let a0 = f32x4.splat(0), a1 = a0, a2 = a0, a3 = a0, a4 = a0;
          let b0 = a0, b1 = a0, b2 = a0, b3 = a0, b4 = a0;
          for (let n = 0; n < N; n++) {
            const d0 = dyT + (<usize>(n * Cout + o0)) * planeBytes;
            const d1 = dyT + (<usize>(n * Cout + o1)) * planeBytes;
            for (let oy = 0; oy < OH; oy++) {
              const xr = xp + (<usize>(n * Hp + oy + ky)) * rowBytes + (<usize>kx0 << 2);
              const g0r = d0 + <usize>oy * dyRowBytes, g1r = d1 + <usize>oy * dyRowBytes;
              for (let ox = 0; ox < OWp; ox += 4) {
                const ob = <usize>ox << 2;
                const g0 = v128.load(g0r + ob), g1 = v128.load(g1r + ob);
                const p = xr + ob;
                let v = v128.load(p); a0 = madd(v, g0, a0); b0 = madd(v, g1, b0);
                v = v128.load(p, 4); a1 = madd(v, g0, a1); b1 = madd(v, g1, b1);
                v = v128.load(p, 8); a2 = madd(v, g0, a2); b2 = madd(v, g1, b2);
                v = v128.load(p, 12); a3 = madd(v, g0, a3); b3 = madd(v, g1, b3);
                v = v128.load(p, 16); a4 = madd(v, g0, a4); b4 = madd(v, g1, b4);
              }
            }
          }
          s00 = hsum(a0); s01 = hsum(a1); s02 = hsum(a2); s03 = hsum(a3); s04 = hsum(a4);
          s10 = hsum(b0); s11 = hsum(b1); s12 = hsum(b2); s13 = hsum(b3); s14 = hsum(b4);
        } else {
          for (let n = 0; n < N; n++) {
            const d0 = dyT + (<usize>(n * Cout + o0)) * planeBytes;
            const d1 = dyT + (<usize>(n * Cout + o1)) * planeBytes;
            for (let oy = 0; oy < OH; oy++) {
              const xr = xp + (<usize>(n * Hp + oy + ky)) * rowBytes + (<usize>kx0 << 2);
              const g0r = d0 + <usize>oy * dyRowBytes, g1r = d1 + <usize>oy * dyRowBytes;
              for (let ox = 0; ox < OWp; ox++) {
                const ob = <usize>ox << 2;
                const g0 = load<f32>(g0r + ob), g1 = load<f32>(g1r + ob);
                const p = xr + ob;
                let v = load<f32>(p); s00 += v * g0; s10 += v * g1;
                v = load<f32>(p, 4); s01 += v * g0; s11 += v * g1;
                v = load<f32>(p, 8); s02 += v * g0; s12 += v * g1;
                v = load<f32>(p, 12); s03 += v * g0; s13 += v * g1;
                v = load<f32>(p, 16); s04 += v * g0; s14 += v * g1;
              }
            }
          }
        }
        const t0 = <usize>(ky * KW + kx0) * <usize>Cout;
        const w0 = dw + ((t0 + <usize>o0) << 2), w1 = dw + ((t0 + <usize>o1) << 2);
        const tap = <usize>Cout << 2;
        store<f32>(w0, s00); store<f32>(w1, s10);
        if (kn > 1) { store<f32>(w0 + tap, s01); store<f32>(w1 + tap, s11); }
        if (kn > 2) { store<f32>(w0 + 2 * tap, s02); store<f32>(w1 + 2 * tap, s12); }
        if (kn > 3) { store<f32>(w0 + 3 * tap, s03); store<f32>(w1 + 3 * tap, s13); }
        if (kn > 4) { store<f32>(w0 + 4 * tap, s04); store<f32>(w1 + 4 * tap, s14); }
      }
    }
  }
}


/** dy NHWC [N, OH, OW, C] → dyT [N][C][OH][OWp], zero in columns OW..OWp−1. */
export function transpose_dy_c1_f32(dy: usize, N: i32, OH: i32, OW: i32, C: i32, OWp: i32, dyT: usize): void {
  const pixBytes = <usize>C << 2;
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      let out = dyT + ((<usize>(n * C + c) * <usize>OH * <usize>OWp) << 2);
      let src = dy + ((<usize>n * <usize>OH * <usize>OW * <usize>C + <usize>c) << 2);
      for (let oy = 0; oy < OH; oy++) {
        for (let ox = 0; ox < OW; ox++) {
          store<f32>(out, load<f32>(src));
          out += 4;
          src += pixBytes;
        }
        for (let ox = OW; ox < OWp; ox++) {
          store<f32>(out, 0);
          out += 4;
        }
      }
    }
  }
}
