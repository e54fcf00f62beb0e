// The host owns linear memory (src/runtime/memory.ts); the module only says where its own
// static data ends, so the host never hands out an address below it.

/** First byte the host allocator may use. */
export function heap_base(): usize {
  return __heap_base;
}

/** Fill `n` floats at `p` with `v` (used for zero rows and initialisers). */
export function fill_f32(p: usize, n: i32, v: f32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const vv = f32x4.splat(v);
    for (; i + 4 <= n; i += 4) v128.store(p + (<usize>i << 2), vv);
  }
  for (; i < n; i++) store<f32>(p + (<usize>i << 2), v);
}

/** Which build this is: 2 relaxed SIMD, 1 SIMD, 0 scalar (lets init name a module it was handed). */
export function backend_id(): i32 {
  return ASC_FEATURE_RELAXED_SIMD ? 2 : ASC_FEATURE_SIMD ? 1 : 0;
}
