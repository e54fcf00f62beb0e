import { madd, loadPartial, storeRow8 } from '../simd';

// A GEMM with a transposed left operand, C (+)= Aᵀ·B: every filter gradient (colᵀ · dy over
// chunks of im2col rows, im2col.ts) and dense's filter gradient (xᵀ · dy).

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
