import { madd, loadPartial, storeRow8 } from '../simd';

// Chunked im2col and a GEMM with a transposed left operand: the paths for convolutions whose
// per-tap channel count is too small to keep the indirect GEMM busy (first layers: 1–3 input
// channels), and for every filter gradient. Only a chunk of rows is gathered at a time, so the
// buffer stays in cache; the full im2col matrix never exists.

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

/**
 * C[r][n] (+)= Σ_p A[p][r] · B[p][n] for r < R, n < N (accumulate: add to C instead of storing).
 * A, B and C rows are aStride, bStride and cStride bytes apart. Register tile 4 × 8: per p one
 * v128 load of A's four columns, splatted by shuffles, and two of B. Never reads past a row's R or N.
 */
export function gemm_tn_f32_4x8(
  P: i32, R: i32, N: i32, a: usize, aStride: i32, b: usize, bStride: i32, c: usize, cStride: i32, accumulate: bool,
): void {
  for (let r0 = 0; r0 < R; r0 += 4) {
    const rr = min(R - r0, 4);
    for (let n0 = 0; n0 < N; n0 += 8) {
      const nr = min(N - n0, 8);
      const out = c + <usize>r0 * <usize>cStride + (<usize>n0 << 2);
      if (ASC_FEATURE_SIMD) {
        let a00 = f32x4.splat(0), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00, a31 = a00;
        let ap = a + (<usize>r0 << 2);
        let bp = b + (<usize>n0 << 2);
        const fullR = rr == 4, fullN = nr == 8;
        const lo = min(nr, 4), hi = max(nr - 4, 0);
        for (let p = 0; p < P; p++) {
          const av = fullR ? v128.load(ap) : loadPartial(ap, rr);
          const b0 = fullN ? v128.load(bp) : loadPartial(bp, lo);
          const b1 = fullN ? v128.load(bp, 16) : loadPartial(bp + 16, hi);
          const v0 = i32x4.shuffle(av, av, 0, 0, 0, 0);
          const v1 = i32x4.shuffle(av, av, 1, 1, 1, 1);
          const v2 = i32x4.shuffle(av, av, 2, 2, 2, 2);
          const v3 = i32x4.shuffle(av, av, 3, 3, 3, 3);
          a00 = madd(v0, b0, a00); a01 = madd(v0, b1, a01);
          a10 = madd(v1, b0, a10); a11 = madd(v1, b1, a11);
          a20 = madd(v2, b0, a20); a21 = madd(v2, b1, a21);
          a30 = madd(v3, b0, a30); a31 = madd(v3, b1, a31);
          ap += <usize>aStride;
          bp += <usize>bStride;
        }
        storeRow(out, a00, a01, nr, accumulate);
        if (rr > 1) storeRow(out + <usize>cStride, a10, a11, nr, accumulate);
        if (rr > 2) storeRow(out + 2 * <usize>cStride, a20, a21, nr, accumulate);
        if (rr > 3) storeRow(out + 3 * <usize>cStride, a30, a31, nr, accumulate);
      } else {
        for (let i = 0; i < rr; i++) {
          for (let j = 0; j < nr; j++) {
            let s: f32 = 0;
            let ap = a + (<usize>(r0 + i) << 2);
            let bp = b + (<usize>(n0 + j) << 2);
            for (let p = 0; p < P; p++) {
              s += load<f32>(ap) * load<f32>(bp);
              ap += <usize>aStride;
              bp += <usize>bStride;
            }
            const o = out + <usize>i * <usize>cStride + (<usize>j << 2);
            store<f32>(o, accumulate ? load<f32>(o) + s : s);
          }
        }
      }
    }
  }
}

/** Store (or add to) 8 columns (two vectors), or the first `nr` of them. */
// @ts-ignore: decorator
@inline function storeRow(p: usize, lo: v128, hi: v128, nr: i32, accumulate: bool): void {
  if (accumulate) {
    lo = f32x4.add(lo, loadPartial(p, min(nr, 4)));
    hi = f32x4.add(hi, loadPartial(p + 16, max(nr - 4, 0)));
  }
  storeRow8(p, lo, hi, nr);
}
