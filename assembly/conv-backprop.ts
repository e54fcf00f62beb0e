import { hsum } from './math';
import { madd } from './simd';

// Gradient kernels of the convolutions that do not run on the GEMM (src/ops/conv-backprop.ts):
// locally connected (input and filter), over the forward's row indirection (see conv.ts), and
// the filter gradient of one input channel at stride 1, vectorised over output pixels.

/**
 * Input gradient of locallyconnected2d_nhwc_f32: dx[ind[m·T+t] + k] += Σ_n W(m)[t][k][n] · dy[outInd[m] + n].
 * Accumulates: the host zero-fills dx first.
 */
export function locallyconnected2d_input_grad_nhwc_f32(
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
 * Filter gradient of locallyconnected2d_nhwc_f32 over a batch of `batch` images of P pixels each:
 * dW(p)[t][k][n] = Σ_b x[ind[(b·P+p)·T+t] + k] · dy[outInd[b·P+p] + n]. Overwrites dw.
 */
export function locallyconnected2d_filter_grad_nhwc_f32(
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

// ---- one input channel ----

/**
 * Filter gradient of conv2d_nhwc_f32_c1 (one input channel, stride 1): dw[ky][kx][0][o] =
 * Σ_{n,oy,ox} xp[n][oy+ky][ox+kx] · dy[n][oy][ox][o], vectorised over ox. xp is the padded input
 * of conv2d_nhwc_f32_c1 with at least one row and 16 floats of zeroed slack after it; dyT is dy
 * transposed to [N][Cout][OH][OWp] with OWp = OW rounded up to 4, zeros in the extra columns
 * (transpose_nhwc_nchw_f32 writes it). Register tile: 2 output channels × 5 taps of a kernel row.
 * Computes the output channels [oBegin, oEnd) (oBegin even) of kernel rows [kyBegin, kyEnd): every
 * dw element is one independent sum, so any such split gives the same bits.
 */
export function conv2d_filter_grad_nhwc_f32_c1(
  xp: usize, N: i32, Hp: i32, Wp: i32, OH: i32, OWp: i32, KH: i32, KW: i32, Cout: i32, dyT: usize, dw: usize,
  oBegin: i32, oEnd: i32, kyBegin: i32, kyEnd: i32,
): void {
  const rowBytes = <usize>Wp << 2;
  const dyRowBytes = <usize>OWp << 2;
  const planeBytes = <usize>OH * dyRowBytes;
  for (let o0 = oBegin; o0 < oEnd; o0 += 2) {
    const o1 = min(o0 + 1, Cout - 1);
    for (let ky = kyBegin; ky < kyEnd; ky++) {
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
export function transpose_nhwc_nchw_f32(dy: usize, N: i32, OH: i32, OW: i32, C: i32, OWp: i32, dyT: usize): void {
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
