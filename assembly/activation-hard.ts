import { clamp } from './simd';
import { MAX_F32 } from './math';

// The piecewise-linear activations of mobile networks (relu6, hardSigmoid, hardSwish): clamps and
// one multiply, SIMD body and scalar tail with the same f32 operations in the same order.

/** y[i] = min(max(x[i], 0), 6); NaN stays NaN. */
export function relu6_f32(x: usize, y: usize, n: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const zero = f32x4.splat(0), six = f32x4.splat(6);
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      v128.store(y + o, clamp(v128.load(x + o), zero, six));
    }
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(y + o, min(max(load<f32>(x + o), <f32>0), <f32>6));
  }
}

/** y[i] = min(max(alpha·x[i] + beta, 0), 1) (a mul then an add in every build); NaN stays NaN. */
export function hard_sigmoid_f32(x: usize, y: usize, n: i32, alpha: f32, beta: f32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const zero = f32x4.splat(0), one = f32x4.splat(1);
    const va = f32x4.splat(alpha), vb = f32x4.splat(beta);
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      v128.store(y + o, clamp(f32x4.add(f32x4.mul(v128.load(x + o), va), vb), zero, one));
    }
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(y + o, min(max(load<f32>(x + o) * alpha + beta, <f32>0), <f32>1));
  }
}

/**
 * y[i] = x·min(max(x + 3, 0), 6)/6 (PyTorch's order of operations, a true division by 6), and x
 * itself above 3 (x·6 would overflow for x > FLT_MAX/6); x is clamped to −FLT_MAX first so that
 * −Infinity gives 0 (the limit), not −Infinity·0.
 */
export function hard_swish_f32(x: usize, y: usize, n: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const zero = f32x4.splat(0), three = f32x4.splat(3), six = f32x4.splat(6), lo = f32x4.splat(-MAX_F32);
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      const v = v128.load(x + o);
      const r = clamp(f32x4.add(v, three), zero, six);
      v128.store(y + o, v128.bitselect(v, f32x4.div(f32x4.mul(f32x4.max(v, lo), r), six), f32x4.gt(v, three)));
    }
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const v = load<f32>(x + o);
    const r = min(max(v + 3, <f32>0), <f32>6);
    store<f32>(y + o, v > 3 ? v : (max(v, -MAX_F32) * r) / 6);
  }
}
