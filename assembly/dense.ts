// The dense family's own kernel (src/ops/dense.ts): the bias gradient, which every layer with a
// bias uses. dense and its input and filter gradients run on the GEMMs in gemm/.

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
 * dst[i] = (((dst[i] + parts[0][i]) + parts[1][i]) + …) for i < n: the fixed-order sum of a
 * reduction's per-tile partials (`count` rows of n floats, `stride` bytes apart), elements [i0, i1).
 */
export function add_partials_f32(dst: usize, parts: usize, count: i32, stride: i32, i0: i32, i1: i32): void {
  let i = i0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 4 <= i1; i += 4) {
      const o = dst + (<usize>i << 2);
      let s = v128.load(o);
      let p = parts + (<usize>i << 2);
      for (let k = 0; k < count; k++) { s = f32x4.add(s, v128.load(p)); p += <usize>stride; }
      v128.store(o, s);
    }
  }
  for (; i < i1; i++) {
    const o = dst + (<usize>i << 2);
    let s = load<f32>(o);
    let p = parts + (<usize>i << 2);
    for (let k = 0; k < count; k++) { s += load<f32>(p); p += <usize>stride; }
    store<f32>(o, s);
  }
}
