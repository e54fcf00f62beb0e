import { madd, clampFast, storeRow8, storeClamped8 } from '../simd';

// Packed-B layout shared by every GEMM-shaped op (conv2d, conv1d, conv2dTranspose, dense):
// blocks of NR = 8 output columns, each [bias: 8][tap: T][k: K][8], columns past N zero-filled.
// The host packs once per weight tensor (src/ops/pack.ts); the kernels stream it front to back.

/**
 * Indirect GEMM, 4 rows × 8 columns per register tile (8 f32x4 accumulators, 2 B vectors, 4 A
 * splats: 14 of V8's 15 usable xmm registers).
 * For m in [0, M): y[outInd[m] ..][n] = clamp(bias[n] + Σ_t Σ_k A(m, t)[k] · B[t][k][n], ymin, ymax).
 * A(m, t) is the K-float row at x + ind[m·T + t] (ind: i32 byte offsets relative to x; a negative
 * offset is a padding tap, read from `zero`, which holds at least K zeros). A tile whose four rows
 * are all padding at tap t skips that tap (transposed convolution relies on this for its holes).
 * A partial last tile repeats its last row, so one kernel serves every M.
 */
export function igemm_f32_4x8(
  M: i32, N: i32, K: i32, T: i32,
  x: usize, ind: usize, zero: usize, w: usize,
  y: usize, outInd: usize, ymin: f32, ymax: f32,
): void {
  const blockBytes = <usize>(8 + T * K * 8) << 2;
  const tapBytes = <usize>K << 5;
  const rowInd = <usize>T << 2;
  if (ASC_FEATURE_SIMD) {
    const vmin = f32x4.splat(ymin);
    const vmax = f32x4.splat(ymax);
    for (let m0 = 0; m0 < M; m0 += 4) {
      const last = min(M - m0, 4) - 1;
      const i0 = ind + <usize>m0 * rowInd;
      const i1 = ind + <usize>(m0 + min(1, last)) * rowInd;
      const i2 = ind + <usize>(m0 + min(2, last)) * rowInd;
      const i3 = ind + <usize>(m0 + min(3, last)) * rowInd;
      let wb = w;
      for (let n0 = 0; n0 < N; n0 += 8) {
        let a00 = v128.load(wb);
        let a01 = v128.load(wb, 16);
        let a10 = a00, a11 = a01, a20 = a00, a21 = a01, a30 = a00, a31 = a01;
        let wp = wb + 32;
        for (let t = 0; t < T; t++) {
          const tb = <usize>t << 2;
          const o0 = load<i32>(i0 + tb);
          const o1 = load<i32>(i1 + tb);
          const o2 = load<i32>(i2 + tb);
          const o3 = load<i32>(i3 + tb);
          if ((o0 & o1 & o2 & o3) < 0) { wp += tapBytes; continue; }
          let p0 = select<usize>(zero, x + <usize>o0, o0 < 0);
          let p1 = select<usize>(zero, x + <usize>o1, o1 < 0);
          let p2 = select<usize>(zero, x + <usize>o2, o2 < 0);
          let p3 = select<usize>(zero, x + <usize>o3, o3 < 0);
          for (let k = 0; k < K; k++) {
            const b0 = v128.load(wp);
            const b1 = v128.load(wp, 16);
            const v0 = v128.load32_splat(p0);
            const v1 = v128.load32_splat(p1);
            const v2 = v128.load32_splat(p2);
            const v3 = v128.load32_splat(p3);
            a00 = madd(v0, b0, a00); a01 = madd(v0, b1, a01);
            a10 = madd(v1, b0, a10); a11 = madd(v1, b1, a11);
            a20 = madd(v2, b0, a20); a21 = madd(v2, b1, a21);
            a30 = madd(v3, b0, a30); a31 = madd(v3, b1, a31);
            p0 += 4; p1 += 4; p2 += 4; p3 += 4;
            wp += 32;
          }
        }
        const nb = <usize>n0 << 2;
        const nr = N - n0;
        storeRow8(y + <usize>load<i32>(outInd + (<usize>m0 << 2)) + nb, clampFast(a00, vmin, vmax), clampFast(a01, vmin, vmax), nr);
        if (last >= 1) storeRow8(y + <usize>load<i32>(outInd + (<usize>(m0 + 1) << 2)) + nb, clampFast(a10, vmin, vmax), clampFast(a11, vmin, vmax), nr);
        if (last >= 2) storeRow8(y + <usize>load<i32>(outInd + (<usize>(m0 + 2) << 2)) + nb, clampFast(a20, vmin, vmax), clampFast(a21, vmin, vmax), nr);
        if (last >= 3) storeRow8(y + <usize>load<i32>(outInd + (<usize>(m0 + 3) << 2)) + nb, clampFast(a30, vmin, vmax), clampFast(a31, vmin, vmax), nr);
        wb += blockBytes;
      }
    }
  } else {
    // Scalar build: one row × 8 columns, the same packed layout and the same tap skipping.
    for (let m = 0; m < M; m++) {
      const im = ind + <usize>m * rowInd;
      const ym = y + <usize>load<i32>(outInd + (<usize>m << 2));
      let wb = w;
      for (let n0 = 0; n0 < N; n0 += 8) {
        let s0 = load<f32>(wb), s1 = load<f32>(wb, 4), s2 = load<f32>(wb, 8), s3 = load<f32>(wb, 12);
        let s4 = load<f32>(wb, 16), s5 = load<f32>(wb, 20), s6 = load<f32>(wb, 24), s7 = load<f32>(wb, 28);
        let wp = wb + 32;
        for (let t = 0; t < T; t++) {
          const o = load<i32>(im + (<usize>t << 2));
          if (o < 0) { wp += tapBytes; continue; }
          let p = x + <usize>o;
          for (let k = 0; k < K; k++) {
            const a = load<f32>(p);
            s0 += a * load<f32>(wp); s1 += a * load<f32>(wp, 4);
            s2 += a * load<f32>(wp, 8); s3 += a * load<f32>(wp, 12);
            s4 += a * load<f32>(wp, 16); s5 += a * load<f32>(wp, 20);
            s6 += a * load<f32>(wp, 24); s7 += a * load<f32>(wp, 28);
            p += 4; wp += 32;
          }
        }
        storeClamped8(ym + (<usize>n0 << 2), N - n0, ymin, ymax, s0, s1, s2, s3, s4, s5, s6, s7);
        wb += blockBytes;
      }
    }
  }
}
