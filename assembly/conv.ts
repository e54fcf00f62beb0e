import { madd, clamp, clampf, storeLanes } from './simd';

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

/**
 * Filter gradient of a convolution (one group): dw[t][c][o] = Σ_p A(p, t)[c] · dy[p][o] for
 * t < T, c < K, o < N, where A(p, t) is the input row at x + ind[p·T + t] (negative = padding:
 * reads `zero`, at least one 0.0f) and dy rows are `dyStride` bytes apart. The T·K rows of dw
 * (row t·K + c) are `dwStride` bytes apart. Overwrites dw.
 * Register tile: 4 rows of dw × 8 outputs, reducing over p; rows are flattened over (tap,
 * channel) so one input channel (a first layer) still fills the tile with four taps.
 */
export function conv_filter_grad_f32(
  P: i32, T: i32, K: i32, N: i32,
  x: usize, ind: usize, zero: usize, dy: usize, dyStride: i32, dw: usize, dwStride: i32,
): void {
  // Pixels go in chunks, so a chunk's indirection rows and dy rows stay in cache while every
  // tile of dw reduces over them; the first chunk stores, later chunks add.
  for (let p0 = 0; p0 < P; p0 += FILTER_GRAD_CHUNK) {
    filterGradChunk(min(P - p0, FILTER_GRAD_CHUNK), T, K, N, x, ind + ((<usize>p0 * <usize>T) << 2), zero,
      dy + <usize>p0 * <usize>dyStride, dyStride, dw, dwStride, p0 > 0);
  }
}

const FILTER_GRAD_CHUNK = 256;

function filterGradChunk(
  P: i32, T: i32, K: i32, N: i32,
  x: usize, ind: usize, zero: usize, dy: usize, dyStride: i32, dw: usize, dwStride: i32, accumulate: bool,
): void {
  const R = T * K;
  const rowInd = <usize>T << 2;
  for (let r0 = 0; r0 < R; r0 += 4) {
    const rr = min(R - r0, 4);
    // Tap and channel of the tile's rows; a partial tile repeats its last row.
    const ra = r0, rb = r0 + min(1, rr - 1), rc = r0 + min(2, rr - 1), rd = r0 + min(3, rr - 1);
    const ta = <usize>(ra / K) << 2, tb = <usize>(rb / K) << 2, tc = <usize>(rc / K) << 2, td = <usize>(rd / K) << 2;
    const ca = <usize>(ra % K) << 2, cb = <usize>(rb % K) << 2, cc = <usize>(rc % K) << 2, cd = <usize>(rd % K) << 2;
    const out = dw + <usize>r0 * <usize>dwStride;
    for (let o0 = 0; o0 < N; o0 += 8) {
      const nr = min(N - o0, 8);
      if (ASC_FEATURE_SIMD) {
        let a00 = f32x4.splat(0), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
        let dp = dy + (<usize>o0 << 2);
        let ip = ind;
        const full = nr >= 8;
        const lo = min(nr, 4), hi = max(nr - 4, 0);
        for (let p = 0; p < P; p++) {
          const oa = load<i32>(ip + ta), ob = load<i32>(ip + tb), oc = load<i32>(ip + tc), od = load<i32>(ip + td);
          const b0 = full ? v128.load(dp) : loadPartial(dp, lo);
          const b1 = full ? v128.load(dp, 16) : loadPartial(dp + 16, hi);
          const v0 = v128.load32_splat(select<usize>(zero, x + <usize>oa + ca, oa < 0));
          const v1 = v128.load32_splat(select<usize>(zero, x + <usize>ob + cb, ob < 0));
          const v2 = v128.load32_splat(select<usize>(zero, x + <usize>oc + cc, oc < 0));
          const v3 = v128.load32_splat(select<usize>(zero, x + <usize>od + cd, od < 0));
          a00 = madd(v0, b0, a00); a01 = madd(v0, b1, a01);
          a10 = madd(v1, b0, a10); a11 = madd(v1, b1, a11);
          a20 = madd(v2, b0, a20); a21 = madd(v2, b1, a21);
          a30 = madd(v3, b0, a30); a31 = madd(v3, b1, a31);
          dp += <usize>dyStride;
          ip += rowInd;
        }
        const ob = out + (<usize>o0 << 2);
        storeRow(ob, a00, a01, nr, accumulate);
        if (rr > 1) storeRow(ob + <usize>dwStride, a10, a11, nr, accumulate);
        if (rr > 2) storeRow(ob + 2 * <usize>dwStride, a20, a21, nr, accumulate);
        if (rr > 3) storeRow(ob + 3 * <usize>dwStride, a30, a31, nr, accumulate);
      } else {
        // Scalar build: the same sums, one output column at a time.
        for (let o = o0; o < o0 + nr; o++) {
          let s0: f32 = 0, s1: f32 = 0, s2: f32 = 0, s3: f32 = 0;
          let dp = dy + (<usize>o << 2);
          let ip = ind;
          for (let p = 0; p < P; p++) {
            const g = load<f32>(dp);
            const oa = load<i32>(ip + ta), ob = load<i32>(ip + tb), oc = load<i32>(ip + tc), od = load<i32>(ip + td);
            s0 += load<f32>(select<usize>(zero, x + <usize>oa + ca, oa < 0)) * g;
            s1 += load<f32>(select<usize>(zero, x + <usize>ob + cb, ob < 0)) * g;
            s2 += load<f32>(select<usize>(zero, x + <usize>oc + cc, oc < 0)) * g;
            s3 += load<f32>(select<usize>(zero, x + <usize>od + cd, od < 0)) * g;
            dp += <usize>dyStride;
            ip += rowInd;
          }
          const ob = out + (<usize>o << 2);
          storeScalar(ob, s0, accumulate);
          if (rr > 1) storeScalar(ob + <usize>dwStride, s1, accumulate);
          if (rr > 2) storeScalar(ob + 2 * <usize>dwStride, s2, accumulate);
          if (rr > 3) storeScalar(ob + 3 * <usize>dwStride, s3, accumulate);
        }
      }
    }
  }
}

// @ts-ignore: decorator
@inline function storeScalar(p: usize, v: f32, accumulate: bool): void {
  store<f32>(p, accumulate ? load<f32>(p) + v : v);
}

/** The first n (0..4) floats at p in the low lanes, zeros above; never reads past p + 4n. */
// @ts-ignore: decorator
@inline function loadPartial(p: usize, n: i32): v128 {
  if (n >= 4) return v128.load(p);
  if (n == 3) return v128.load32_lane(p + 8, v128.load64_zero(p), 2);
  if (n == 2) return v128.load64_zero(p);
  if (n == 1) return v128.load32_zero(p);
  return f32x4.splat(0);
}

/** Store (or add to) 8 columns (two vectors), or the first `nr` of them. */
// @ts-ignore: decorator
@inline function storeRow(p: usize, lo: v128, hi: v128, nr: i32, accumulate: bool): void {
  if (accumulate) {
    lo = f32x4.add(lo, loadPartial(p, min(nr, 4)));
    hi = f32x4.add(hi, loadPartial(p + 16, max(nr - 4, 0)));
  }
  if (nr >= 8) {
    v128.store(p, lo);
    v128.store(p, hi, 16);
  } else if (nr >= 4) {
    v128.store(p, lo);
    storeLanes(p + 16, hi, nr - 4);
  } else {
    storeLanes(p, lo, nr);
  }
}

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
