import { clamp } from './simd';

// Gradients of assembly/activation-hard.ts over raw addresses (dx may alias dy or x).

/** dx[i] = 0 < x[i] < 6 ? dy[i] : 0; NaN where x[i] is NaN. */
export function relu6_grad_f32(dy: usize, x: usize, dx: usize, n: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const zero = f32x4.splat(0), six = f32x4.splat(6);
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      const v = v128.load(x + o);
      const inside = v128.and(f32x4.gt(v, zero), f32x4.lt(v, six));
      const g = v128.and(v128.load(dy + o), inside);
      v128.store(dx + o, v128.bitselect(v, g, f32x4.ne(v, v)));
    }
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const v = load<f32>(x + o);
    store<f32>(dx + o, v != v ? v : v > 0 && v < 6 ? load<f32>(dy + o) : 0);
  }
}

/** t = alpha·x + beta (as the forward rounds it); dx[i] = 0 < t < 1 ? alpha·dy[i] : 0; NaN where x[i] is NaN. */
export function hard_sigmoid_grad_f32(dy: usize, x: usize, dx: usize, n: i32, alpha: f32, beta: f32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const zero = f32x4.splat(0), one = f32x4.splat(1);
    const va = f32x4.splat(alpha), vb = f32x4.splat(beta);
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      const v = v128.load(x + o);
      const t = f32x4.add(f32x4.mul(v, va), vb);
      const inside = v128.and(f32x4.gt(t, zero), f32x4.lt(t, one));
      const g = v128.and(f32x4.mul(v128.load(dy + o), va), inside);
      v128.store(dx + o, v128.bitselect(v, g, f32x4.ne(v, v)));
    }
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const v = load<f32>(x + o);
    const t = v * alpha + beta;
    store<f32>(dx + o, v != v ? v : t > 0 && t < 1 ? load<f32>(dy + o) * alpha : 0);
  }
}

/** dx[i] = x < −3 ? 0 : x ≤ 3 ? dy·(x/3 + 0.5) : dy (PyTorch's hardswish_backward); NaN where x[i] is NaN. */
export function hard_swish_grad_f32(dy: usize, x: usize, dx: usize, n: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const three = f32x4.splat(3), half = f32x4.splat(0.5);
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      const v = v128.load(x + o), g = v128.load(dy + o);
      const mid = f32x4.mul(g, f32x4.add(f32x4.div(v, three), half));
      const upper = v128.bitselect(mid, g, f32x4.le(v, three));
      const d = v128.and(upper, f32x4.ge(v, f32x4.neg(three)));
      v128.store(dx + o, v128.bitselect(v, d, f32x4.ne(v, v)));
    }
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const v = load<f32>(x + o), g = load<f32>(dy + o);
    store<f32>(dx + o, v != v ? v : v < -3 ? 0 : v <= 3 ? g * (v / 3 + <f32>0.5) : g);
  }
}
