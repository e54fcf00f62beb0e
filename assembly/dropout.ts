// Dropout: a per-element keep mask drawn from a xorshift32 stream inside the kernel (no host
// round trip for random numbers). The mask stores the factor applied (1/keep or 0), so the
// backward pass is one multiply.

/**
 * y[i] = x[i] · mask[i] with mask[i] = 1/keep if the i-th draw of xorshift32(seed) < keep, else 0.
 * Writes y and mask (n floats each). seed must be non-zero.
 */
export function dropout_f32(x: usize, y: usize, mask: usize, n: i32, keep: f32, seed: u32): void {
  let s = seed;
  const scale: f32 = 1 / keep;
  // Compare 24-bit draws against the threshold so the probability is exact to 2^-24.
  const threshold = <u32>(keep * 16777216.0);
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s ^= s >> 17;
    s ^= s << 5;
    const m: f32 = (s >> 8) < threshold ? scale : 0;
    const off = <usize>i << 2;
    store<f32>(mask + off, m);
    store<f32>(y + off, load<f32>(x + off) * m);
  }
}

/** y[i] = a[i] · b[i] (dropout's backward: dy · mask). */
export function mul_f32(a: usize, b: usize, y: usize, n: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 4 <= n; i += 4) {
      const off = <usize>i << 2;
      v128.store(y + off, f32x4.mul(v128.load(a + off), v128.load(b + off)));
    }
  }
  for (; i < n; i++) {
    const off = <usize>i << 2;
    store<f32>(y + off, load<f32>(a + off) * load<f32>(b + off));
  }
}
