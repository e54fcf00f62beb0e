import { madd } from './simd';

// Optimizer updates with PyTorch's rules (torch.optim: SGD with dampening 0, Adagrad without lr
// decay, RMSprop not centered, Adam/AdamW without amsgrad). Each kernel updates n floats of a
// parameter p in place from its gradient g and the parameter's state buffers, which the host
// allocates (zeroed, or filled with Adagrad's initial accumulator) and passes back every step.
// p may alias g; buffers never alias each other. The vector body and the scalar tail compute the
// same formula; the tail is the whole loop in the scalar build.

/**
 * SGD. d = g + wd·p; with momentum (v ≠ 0): v = μ·v + d, then d = nesterov ? d + μ·v : v;
 * p = p − lr·d. v is 0 (no buffer) when momentum is 0; PyTorch's first buf = g equals μ·0 + g.
 */
export function sgd_step_f32(p: usize, g: usize, v: usize, n: i32, lr: f32, momentum: f32, wd: f32, nesterov: bool): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const vnlr = f32x4.splat(-lr), vmu = f32x4.splat(momentum), vwd = f32x4.splat(wd);
    if (v == 0) {
      for (; i + 4 <= n; i += 4) {
        const o = <usize>i << 2;
        const pv = v128.load(p + o);
        const d = madd(vwd, pv, v128.load(g + o));
        v128.store(p + o, madd(vnlr, d, pv));
      }
    } else {
      for (; i + 4 <= n; i += 4) {
        const o = <usize>i << 2;
        const pv = v128.load(p + o);
        const d = madd(vwd, pv, v128.load(g + o));
        const b = madd(vmu, v128.load(v + o), d);
        v128.store(v + o, b);
        v128.store(p + o, madd(vnlr, nesterov ? madd(vmu, b, d) : b, pv));
      }
    }
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const pv = load<f32>(p + o);
    let d = load<f32>(g + o) + wd * pv;
    if (v != 0) {
      const b = momentum * load<f32>(v + o) + d;
      store<f32>(v + o, b);
      d = nesterov ? d + momentum * b : b;
    }
    store<f32>(p + o, pv - lr * d);
  }
}

/**
 * Adagrad. d = g + wd·p; s = s + d²; p = p − lr·d / (√s + eps). s starts at the initial accumulator.
 */
export function adagrad_step_f32(p: usize, g: usize, s: usize, n: i32, lr: f32, eps: f32, wd: f32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const vnlr = f32x4.splat(-lr), veps = f32x4.splat(eps), vwd = f32x4.splat(wd);
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      const pv = v128.load(p + o);
      const d = madd(vwd, pv, v128.load(g + o));
      const sv = madd(d, d, v128.load(s + o));
      v128.store(s + o, sv);
      const step = f32x4.div(d, f32x4.add(f32x4.sqrt(sv), veps));
      v128.store(p + o, madd(vnlr, step, pv));
    }
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const pv = load<f32>(p + o);
    const d = load<f32>(g + o) + wd * pv;
    const sv = load<f32>(s + o) + d * d;
    store<f32>(s + o, sv);
    store<f32>(p + o, pv - lr * (d / (sqrt<f32>(sv) + eps)));
  }
}

/**
 * RMSprop (not centered). d = g + wd·p; sq = ρ·sq + (1−ρ)·d²; a = √sq + eps; with momentum
 * (buf ≠ 0): buf = μ·buf + d/a, p = p − lr·buf; else p = p − lr·d/a. buf is 0 when momentum is 0.
 * oneMinusRho comes from the host (1 − ρ in f32 would carry ρ's rounding error).
 */
export function rmsprop_step_f32(
  p: usize, g: usize, sq: usize, buf: usize, n: i32,
  lr: f32, rho: f32, oneMinusRho: f32, eps: f32, momentum: f32, wd: f32,
): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const vnlr = f32x4.splat(-lr), vrho = f32x4.splat(rho), vc = f32x4.splat(oneMinusRho);
    const veps = f32x4.splat(eps), vmu = f32x4.splat(momentum), vwd = f32x4.splat(wd);
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      const pv = v128.load(p + o);
      const d = madd(vwd, pv, v128.load(g + o));
      const sv = madd(vc, f32x4.mul(d, d), f32x4.mul(vrho, v128.load(sq + o)));
      v128.store(sq + o, sv);
      let step = f32x4.div(d, f32x4.add(f32x4.sqrt(sv), veps));
      if (buf != 0) {
        step = madd(vmu, v128.load(buf + o), step);
        v128.store(buf + o, step);
      }
      v128.store(p + o, madd(vnlr, step, pv));
    }
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const pv = load<f32>(p + o);
    const d = load<f32>(g + o) + wd * pv;
    const sv = rho * load<f32>(sq + o) + oneMinusRho * (d * d);
    store<f32>(sq + o, sv);
    let step = d / (sqrt<f32>(sv) + eps);
    if (buf != 0) {
      step = momentum * load<f32>(buf + o) + step;
      store<f32>(buf + o, step);
    }
    store<f32>(p + o, pv - lr * step);
  }
}

/**
 * Adam, or AdamW. The host computes every coefficient in f64: oneMinusBeta1/2 = 1 − β1/2;
 * Adam: l2 = wd, decay = 1; AdamW: l2 = 0, decay = 1 − lr·wd; stepSize = lr / (1 − β1^t),
 * bc2Sqrt = √(1 − β2^t). d = g + l2·p; m = m + (1−β1)·(d − m) (PyTorch's lerp);
 * v = β2·v + (1−β2)·d²; p = decay·p − stepSize·m / (√v / bc2Sqrt + eps).
 */
export function adam_step_f32(
  p: usize, g: usize, m: usize, v: usize, n: i32,
  oneMinusBeta1: f32, beta2: f32, oneMinusBeta2: f32, eps: f32,
  l2: f32, decay: f32, stepSize: f32, bc2Sqrt: f32,
): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const vc1 = f32x4.splat(oneMinusBeta1), vb2 = f32x4.splat(beta2), vc2 = f32x4.splat(oneMinusBeta2);
    const vnstep = f32x4.splat(-stepSize), vbc2 = f32x4.splat(bc2Sqrt), veps = f32x4.splat(eps);
    const vdecay = f32x4.splat(decay), vl2 = f32x4.splat(l2);
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      const p0 = v128.load(p + o);
      const d = madd(vl2, p0, v128.load(g + o));
      const m0 = v128.load(m + o);
      const mv = madd(vc1, f32x4.sub(d, m0), m0);
      const vv = madd(vc2, f32x4.mul(d, d), f32x4.mul(vb2, v128.load(v + o)));
      v128.store(m + o, mv);
      v128.store(v + o, vv);
      const denom = f32x4.add(f32x4.div(f32x4.sqrt(vv), vbc2), veps);
      v128.store(p + o, madd(vnstep, f32x4.div(mv, denom), f32x4.mul(p0, vdecay)));
    }
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const p0 = load<f32>(p + o);
    const d = load<f32>(g + o) + l2 * p0;
    const m0 = load<f32>(m + o);
    const mv = m0 + oneMinusBeta1 * (d - m0);
    const vv = beta2 * load<f32>(v + o) + oneMinusBeta2 * (d * d);
    store<f32>(m + o, mv);
    store<f32>(v + o, vv);
    store<f32>(p + o, p0 * decay - stepSize * (mv / (sqrt<f32>(vv) / bc2Sqrt + eps)));
  }
}
