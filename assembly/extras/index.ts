// Not part of the library wasm: build.mjs compiles this entry into build/extras-<target>.wasm,
// for the benchmarks (peak_f32x4) and for tests/math.test.ts (math.ts' functions over arrays,
// SIMD body and scalar tail as the kernels run them).
import { exp1, exp4, ln1, ln4, normalCdf1, normalCdf4 } from '../math';

export { peak_f32x4, stream_max_f32 } from './bench';
export { heap_base } from '../memory';

/** y[i] = exp(x[i]) for i < n (math.ts' exp4 on groups of 4, exp1 on the rest). */
export function exp_f32(x: usize, y: usize, n: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 4 <= n; i += 4) v128.store(y + (<usize>i << 2), exp4(v128.load(x + (<usize>i << 2))));
  }
  for (; i < n; i++) store<f32>(y + (<usize>i << 2), exp1(load<f32>(x + (<usize>i << 2))));
}

/** y[i] = log(x[i]) for i < n (math.ts' ln4 / ln1). */
export function log_f32(x: usize, y: usize, n: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 4 <= n; i += 4) v128.store(y + (<usize>i << 2), ln4(v128.load(x + (<usize>i << 2))));
  }
  for (; i < n; i++) store<f32>(y + (<usize>i << 2), ln1(load<f32>(x + (<usize>i << 2))));
}

/** y[i] = Φ(x[i]), the normal CDF (math.ts' normalCdf4 / normalCdf1). */
export function normal_cdf_f32(x: usize, y: usize, n: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 4 <= n; i += 4) v128.store(y + (<usize>i << 2), normalCdf4(v128.load(x + (<usize>i << 2))));
  }
  for (; i < n; i++) store<f32>(y + (<usize>i << 2), normalCdf1(load<f32>(x + (<usize>i << 2))));
}
