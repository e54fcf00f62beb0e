// Batch normalisation over the last (channel) axis of [rows, C] data (NHWC flattened: rows = N·H·W).
// Per-channel constants are computed once per call into scratch (scalar, f64), then one v128 pass
// over the data applies them, four channels per vector with a scalar tail for C mod 4.
//
// Statistics (training) are two passes in f64: Σx → mean, then Σ(x − mean)² → biased variance.
// The one-pass Σx² − (Σx)²/M cancels catastrophically when |mean| ≫ std, and even the second pass
// in f32 would lose the variance of a long channel to its rounding; promoted to f64, each
// channel's sum is exact to ~1e-16 relative per term, so M up to millions keeps full f32
// accuracy. Channels are summed row by row, in order, in every lane and in the tail alike:
// the statistics are identical in every build. Outputs use a mul then an add (never a fused
// madd), so the SIMD body and the tail agree bit for bit too.

// @ts-ignore: decorator
@inline function addLow(acc: v128, v: v128): v128 {
  return f64x2.add(acc, f64x2.promote_low_f32x4(v));
}

// @ts-ignore: decorator
@inline function highHalf(v: v128): v128 {
  return v128.shuffle<f32>(v, v, 2, 3, 0, 1);
}

/** acc[c] (f64) += Σ over rows of x[r][c] (mode 0), or of (x[r][c] − mean[c])² with mean f64 at m (mode 1). */
function channelSums(x: usize, acc: usize, m: usize, rows: i32, C: i32, squares: bool): void {
  const rowBytes = <usize>C << 2;
  for (let c = 0; c < C; c++) store<f64>(acc + (<usize>c << 3), 0);
  for (let r = 0; r < rows; r++) {
    const xr = x + <usize>r * rowBytes;
    let c = 0;
    if (ASC_FEATURE_SIMD) {
      for (; c + 4 <= C; c += 4) {
        const v = v128.load(xr + (<usize>c << 2));
        const a = acc + (<usize>c << 3);
        let lo = f64x2.promote_low_f32x4(v), hi = f64x2.promote_low_f32x4(highHalf(v));
        if (squares) {
          const mp = m + (<usize>c << 3);
          lo = f64x2.sub(lo, v128.load(mp));
          hi = f64x2.sub(hi, v128.load(mp, 16));
          lo = f64x2.mul(lo, lo);
          hi = f64x2.mul(hi, hi);
        }
        v128.store(a, f64x2.add(v128.load(a), lo));
        v128.store(a, f64x2.add(v128.load(a, 16), hi), 16);
      }
    }
    for (; c < C; c++) {
      const a = acc + (<usize>c << 3);
      let v = <f64>load<f32>(xr + (<usize>c << 2));
      if (squares) {
        v -= load<f64>(m + (<usize>c << 3));
        v *= v;
      }
      store<f64>(a, load<f64>(a) + v);
    }
  }
}

/** y[r][c] = (x[r][c] − sub[c])·scale[c] + shift[c] (sub = 0: x·scale + shift). */
function applyAffine(x: usize, y: usize, sub: usize, scale: usize, shift: usize, rows: i32, C: i32): void {
  const rowBytes = <usize>C << 2;
  for (let r = 0; r < rows; r++) {
    const xr = x + <usize>r * rowBytes, yr = y + <usize>r * rowBytes;
    let c = 0;
    if (ASC_FEATURE_SIMD) {
      for (; c + 4 <= C; c += 4) {
        const o = <usize>c << 2;
        let v = v128.load(xr + o);
        if (sub != 0) v = f32x4.sub(v, v128.load(sub + o));
        v128.store(yr + o, f32x4.add(f32x4.mul(v, v128.load(scale + o)), v128.load(shift + o)));
      }
    }
    for (; c < C; c++) {
      const o = <usize>c << 2;
      let v = load<f32>(xr + o);
      if (sub != 0) v -= load<f32>(sub + o);
      store<f32>(yr + o, v * load<f32>(scale + o) + load<f32>(shift + o));
    }
  }
}

// @ts-ignore: decorator
@inline function orOne(p: usize, c: i32): f64 {
  return p != 0 ? <f64>load<f32>(p + (<usize>c << 2)) : 1.0;
}

// @ts-ignore: decorator
@inline function orZero(p: usize, c: i32): f64 {
  return p != 0 ? <f64>load<f32>(p + (<usize>c << 2)) : 0.0;
}

/**
 * Inference: x, y [rows][C]; mean, variance [C]; gamma, beta [C] or 0 (1 and 0). scratch: 2·C f32.
 * scale = gamma/√(var + eps), shift = beta − mean·scale (in f64, rounded once); y = x·scale + shift.
 */
export function batchnorm_nhwc_f32(x: usize, y: usize, mean: usize, variance: usize, gamma: usize, beta: usize, scratch: usize, rows: i32, C: i32, eps: f32): void {
  const scale = scratch, shift = scratch + (<usize>C << 2);
  for (let c = 0; c < C; c++) {
    const o = <usize>c << 2;
    const s = orOne(gamma, c) / Math.sqrt(<f64>load<f32>(variance + o) + <f64>eps);
    store<f32>(scale + o, <f32>s);
    store<f32>(shift + o, <f32>(orZero(beta, c) - <f64>load<f32>(mean + o) * s));
  }
  applyAffine(x, y, 0, scale, shift, rows, C);
}

/**
 * Training: x, y [rows][C]; gamma, beta [C] or 0; writes mean, variance (biased) and invStd =
 * 1/√(var + eps) [C], and y = (x − mean)·(gamma·invStd) + beta (subtracting the mean first keeps
 * the result accurate when |mean| ≫ std). scratch: 2·C f64 then 2·C f32 (24·C bytes, 8-aligned).
 */
export function batchnorm_nhwc_f32_train(x: usize, y: usize, gamma: usize, beta: usize, mean: usize, variance: usize, invStd: usize, scratch: usize, rows: i32, C: i32, eps: f32): void {
  const m64 = scratch, v64 = scratch + (<usize>C << 3);
  const scale = scratch + (<usize>C << 4), shift = scale + (<usize>C << 2);
  const M = <f64>rows;
  channelSums(x, m64, 0, rows, C, false);
  for (let c = 0; c < C; c++) {
    const p = m64 + (<usize>c << 3);
    store<f64>(p, load<f64>(p) / M);
  }
  channelSums(x, v64, m64, rows, C, true);
  for (let c = 0; c < C; c++) {
    const o = <usize>c << 2;
    const mu = load<f64>(m64 + (<usize>c << 3));
    const v = load<f64>(v64 + (<usize>c << 3)) / M;
    const inv = 1.0 / Math.sqrt(v + <f64>eps);
    store<f32>(mean + o, <f32>mu);
    store<f32>(variance + o, <f32>v);
    store<f32>(invStd + o, <f32>inv);
    store<f32>(scale + o, <f32>(orOne(gamma, c) * inv));
    store<f32>(shift + o, <f32>orZero(beta, c));
  }
  applyAffine(x, y, mean, scale, shift, rows, C);
}

/**
 * Training-mode gradient: dy, x, dx [rows][C]; gamma [C] or 0; mean, invStd [C] (the forward's);
 * writes dbeta = Σ dy, dgamma = Σ dy·x̂ (x̂ = (x − mean)·invStd, both sums in f64) and
 * dx = gamma·invStd·(dy − Σdy/M − x̂·Σ(dy·x̂)/M). scratch: 2·C f64 then 3·C f32 (28·C bytes).
 */
export function batchnorm_nhwc_f32_backward(dy: usize, x: usize, gamma: usize, mean: usize, invStd: usize, dx: usize, dgamma: usize, dbeta: usize, scratch: usize, rows: i32, C: i32): void {
  const sdy = scratch, sdx = scratch + (<usize>C << 3);
  const ka = scratch + (<usize>C << 4), kb = ka + (<usize>C << 2), kc = kb + (<usize>C << 2);
  const rowBytes = <usize>C << 2;
  for (let c = 0; c < C; c++) {
    store<f64>(sdy + (<usize>c << 3), 0);
    store<f64>(sdx + (<usize>c << 3), 0);
  }
  // Σ dy and Σ dy·(x − mean), in f64 (the f32 difference x − mean is rounded once, as in pass 2).
  for (let r = 0; r < rows; r++) {
    const base = <usize>r * rowBytes;
    let c = 0;
    if (ASC_FEATURE_SIMD) {
      for (; c + 4 <= C; c += 4) {
        const o = <usize>c << 2;
        const g = v128.load(dy + base + o);
        const d = f32x4.sub(v128.load(x + base + o), v128.load(mean + o));
        const a = sdy + (<usize>c << 3), b = sdx + (<usize>c << 3);
        v128.store(a, addLow(v128.load(a), g));
        v128.store(a, addLow(v128.load(a, 16), highHalf(g)), 16);
        v128.store(b, f64x2.add(v128.load(b), f64x2.mul(f64x2.promote_low_f32x4(g), f64x2.promote_low_f32x4(d))));
        v128.store(b, f64x2.add(v128.load(b, 16), f64x2.mul(f64x2.promote_low_f32x4(highHalf(g)), f64x2.promote_low_f32x4(highHalf(d)))), 16);
      }
    }
    for (; c < C; c++) {
      const o = <usize>c << 2;
      const g = <f64>load<f32>(dy + base + o);
      const d = <f64>(load<f32>(x + base + o) - load<f32>(mean + o));
      const a = sdy + (<usize>c << 3), b = sdx + (<usize>c << 3);
      store<f64>(a, load<f64>(a) + g);
      store<f64>(b, load<f64>(b) + g * d);
    }
  }
  const M = <f64>rows;
  for (let c = 0; c < C; c++) {
    const o = <usize>c << 2;
    const inv = <f64>load<f32>(invStd + o);
    const sumDy = load<f64>(sdy + (<usize>c << 3));
    const sumDyXhat = load<f64>(sdx + (<usize>c << 3)) * inv;
    store<f32>(dbeta + o, <f32>sumDy);
    store<f32>(dgamma + o, <f32>sumDyXhat);
    // dx = k·(dy − Σdy/M − (x − mean)·invStd·Σ(dy·x̂)/M)
    store<f32>(ka + o, <f32>(orOne(gamma, c) * inv));
    store<f32>(kb + o, <f32>(sumDy / M));
    store<f32>(kc + o, <f32>(inv * sumDyXhat / M));
  }
  for (let r = 0; r < rows; r++) {
    const base = <usize>r * rowBytes;
    let c = 0;
    if (ASC_FEATURE_SIMD) {
      for (; c + 4 <= C; c += 4) {
        const o = <usize>c << 2;
        const d = f32x4.sub(v128.load(x + base + o), v128.load(mean + o));
        const t = f32x4.sub(f32x4.sub(v128.load(dy + base + o), v128.load(kb + o)), f32x4.mul(d, v128.load(kc + o)));
        v128.store(dx + base + o, f32x4.mul(t, v128.load(ka + o)));
      }
    }
    for (; c < C; c++) {
      const o = <usize>c << 2;
      const d = load<f32>(x + base + o) - load<f32>(mean + o);
      const t = (load<f32>(dy + base + o) - load<f32>(kb + o)) - d * load<f32>(kc + o);
      store<f32>(dx + base + o, t * load<f32>(ka + o));
    }
  }
}
