import { clamp } from './simd';
import {
  INV_SQRT2, GELU_CLAMP, SPLIT_MASK, SELU_SCALE, SELU_SCALE_ALPHA, MAX_F32, exp4, exp1, expHiLo4, expHiLo1,
  erfcPoly4, erfcPoly1,
} from './math';

// Gradients of the activations of assembly/elementwise.ts, over raw addresses. Each kernel reads
// dy and the forward input x (or the forward output y, where that is cheaper) and writes dx.
// Elementwise kernels are safe in place (dx may be dy, x or y). As in the forward file, every
// vector helper `name4` has a scalar twin `name1` performing the same f32 operations in the same
// order, so an element gets bit-identical results in the SIMD body, in the scalar tail and in
// every build: that is why the relaxed build uses mul + add here too, never a fused madd. Row
// sums (softmax, logSoftmax, prelu's dalpha) add exact f32·f32 products in f64.
//
// Where a derivative goes through a kink, the value at the kink is that of the forward's branch:
// the forward selects `x > 0 ? linear : other`, so x == 0 takes the other side's slope (relu 0,
// leakyRelu and prelu alpha, elu alpha, selu scale·alpha). exp and gelu's erfc fit come from
// assembly/math.ts, shared with the forward, so gelu's Φ here has the forward's bits.

/** 1/√(2π): φ(x) = exp(−x²/2)/√(2π). */
const INV_SQRT_2PI: f32 = 0.398942292;

// ---- derivatives, 4 lanes and 1 lane ----

/**
 * swish'(x) = σ(x)·(1 + x·(1 − σ(x))). σ and 1 − σ = σ(−x) both come from e = exp(−|x|), so
 * neither cancels; x is clamped to ±FLT_MAX so that ±Infinity gives the limits 1 and 0, not ∞·0.
 */
// @ts-ignore: decorator
@inline function swishGrad4(x: v128): v128 {
  const one = f32x4.splat(1);
  const xc = clamp(x, f32x4.splat(-MAX_F32), f32x4.splat(MAX_F32));
  const e = exp4(f32x4.neg(f32x4.abs(x)));
  const d = f32x4.add(e, one);
  const pos = f32x4.ge(x, f32x4.splat(0));
  const s = f32x4.div(v128.bitselect(one, e, pos), d);
  const c = f32x4.div(v128.bitselect(e, one, pos), d);
  return f32x4.mul(s, f32x4.add(f32x4.mul(xc, c), one));
}

// @ts-ignore: decorator
@inline function swishGrad1(x: f32): f32 {
  const xc = min(max(x, -MAX_F32), MAX_F32);
  const e = exp1(-abs<f32>(x));
  const d = e + 1;
  const pos = x >= 0;
  const s = (pos ? <f32>1 : e) / d;
  const c = (pos ? e : <f32>1) / d;
  return s * (xc * c + 1);
}

/**
 * gelu'(x) = Φ(x) + x·φ(x). Φ exactly as the forward computes it (erfc of |x|/√2 on both sides,
 * x² split into an exact head and a tail before exp); φ from the same split without Q(t).
 */
function geluGrad4(x: v128): v128 {
  const xc = clamp(x, f32x4.splat(-GELU_CLAMP), f32x4.splat(GELU_CLAMP));
  const z = f32x4.mul(f32x4.abs(xc), f32x4.splat(INV_SQRT2));
  const t = f32x4.div(f32x4.splat(1), f32x4.add(f32x4.mul(z, f32x4.splat(0.5)), f32x4.splat(1)));
  const q = erfcPoly4(t);
  const xh = v128.and(xc, i32x4.splat(SPLIT_MASK));
  const xl = f32x4.sub(xc, xh);
  const hi = f32x4.mul(f32x4.mul(xh, xh), f32x4.splat(-0.5));
  const lo = f32x4.mul(f32x4.mul(xl, f32x4.add(xc, xh)), f32x4.splat(-0.5));
  const half = f32x4.mul(f32x4.mul(t, expHiLo4(hi, f32x4.add(lo, q))), f32x4.splat(0.5)); // erfc(|z|)/2
  const phiCdf = v128.bitselect(f32x4.sub(f32x4.splat(1), half), half, f32x4.ge(xc, f32x4.splat(0)));
  const pdf = f32x4.mul(expHiLo4(hi, lo), f32x4.splat(INV_SQRT_2PI));
  return f32x4.add(phiCdf, f32x4.mul(xc, pdf));
}

function geluGrad1(x: f32): f32 {
  const xc = min(max(x, -GELU_CLAMP), GELU_CLAMP);
  const z = abs<f32>(xc) * INV_SQRT2;
  const t: f32 = 1 / (z * 0.5 + 1);
  const q = erfcPoly1(t);
  const xh = reinterpret<f32>(reinterpret<i32>(xc) & SPLIT_MASK);
  const xl = xc - xh;
  const hi = xh * xh * -0.5;
  const lo = xl * (xc + xh) * -0.5;
  const half = t * expHiLo1(hi, lo + q) * 0.5;
  const phiCdf = xc >= 0 ? <f32>1 - half : half;
  const pdf = expHiLo1(hi, lo) * INV_SQRT_2PI;
  return phiCdf + xc * pdf;
}

/** Add the exact f64 products of the four f32 lanes of a and b to the accumulators lo (lanes 0, 1) and hi (2, 3). */
// @ts-ignore: decorator
@inline function dotLow(acc: v128, a: v128, b: v128): v128 {
  return f64x2.add(acc, f64x2.mul(f64x2.promote_low_f32x4(a), f64x2.promote_low_f32x4(b)));
}

// @ts-ignore: decorator
@inline function dotHigh(acc: v128, a: v128, b: v128): v128 {
  return dotLow(acc, v128.shuffle<f32>(a, a, 2, 3, 0, 1), v128.shuffle<f32>(b, b, 2, 3, 0, 1));
}

/**
 * Σ a[c]·b[c] over cols floats, in f64 (each f32 product is exact in f64). If b == 0, Σ a[c]
 * instead. Two accumulators per lane pair keep the adds independent.
 */
function rowDot(a: usize, b: usize, cols: i32): f64 {
  let s: f64 = 0;
  let c = 0;
  if (ASC_FEATURE_SIMD) {
    const ones = f32x4.splat(1);
    let s0 = f64x2.splat(0), s1 = s0, s2 = s0, s3 = s0;
    for (; c + 8 <= cols; c += 8) {
      const o = <usize>c << 2;
      const a0 = v128.load(a + o), a1 = v128.load(a + o, 16);
      const b0 = b != 0 ? v128.load(b + o) : ones, b1 = b != 0 ? v128.load(b + o, 16) : ones;
      s0 = dotLow(s0, a0, b0); s1 = dotHigh(s1, a0, b0);
      s2 = dotLow(s2, a1, b1); s3 = dotHigh(s3, a1, b1);
    }
    for (; c + 4 <= cols; c += 4) {
      const o = <usize>c << 2;
      const a0 = v128.load(a + o);
      const b0 = b != 0 ? v128.load(b + o) : ones;
      s0 = dotLow(s0, a0, b0); s1 = dotHigh(s1, a0, b0);
    }
    s0 = f64x2.add(f64x2.add(s0, s1), f64x2.add(s2, s3));
    s = f64x2.extract_lane(s0, 0) + f64x2.extract_lane(s0, 1);
  }
  for (; c < cols; c++) {
    const o = <usize>c << 2;
    s += <f64>load<f32>(a + o) * (b != 0 ? <f64>load<f32>(b + o) : 1.0);
  }
  return s;
}

/** v replaces the running max m when v > m, or when v is NaN and m is not (pool.ts' rule): ties keep the first, the first NaN stays. */
// @ts-ignore: decorator
@inline function takes4(v: v128, m: v128): v128 {
  return v128.andnot(f32x4.eq(m, m), f32x4.le(v, m));
}

// @ts-ignore: decorator
@inline function takes1(v: f32, m: f32): bool {
  return (m == m) & !(v <= m);
}

// ---- kernels ----

/** dx[i] = x[i] > 0 ? dy[i] : 0 (0 at x = 0 and for NaN x, as TensorFlow's ReluGrad). */
export function relu_grad_f32(dy: usize, x: usize, dx: usize, n: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const zero = f32x4.splat(0);
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      v128.store(dx + o, v128.and(v128.load(dy + o), f32x4.gt(v128.load(x + o), zero)));
    }
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(dx + o, load<f32>(x + o) > 0 ? load<f32>(dy + o) : 0);
  }
}

/** dx[i] = x[i] > 0 ? dy[i] : alpha·dy[i]. */
export function leaky_relu_grad_f32(dy: usize, x: usize, dx: usize, n: i32, alpha: f32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const zero = f32x4.splat(0);
    const va = f32x4.splat(alpha);
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      const g = v128.load(dy + o);
      v128.store(dx + o, v128.bitselect(g, f32x4.mul(g, va), f32x4.gt(v128.load(x + o), zero)));
    }
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const g = load<f32>(dy + o);
    store<f32>(dx + o, load<f32>(x + o) > 0 ? g : g * alpha);
  }
}

/**
 * x, dy, dx: [rows][C]; alpha, dalpha: [C]; acc: scratch of C f64 (8·C bytes, 8-aligned).
 * dx = x > 0 ? dy : alpha[c]·dy; dalpha[c] = Σ over rows of dy·x where !(x > 0) (x = 0 adds 0;
 * NaN x adds NaN, as the forward's output there depends on alpha). Rows are summed in order,
 * in f64, in every lane and in the tail alike: dalpha is the same in every build.
 */
export function prelu_grad_f32(dy: usize, x: usize, alpha: usize, dx: usize, dalpha: usize, acc: usize, rows: i32, C: i32): void {
  const rowBytes = <usize>C << 2;
  for (let c = 0; c < C; c++) store<f64>(acc + (<usize>c << 3), 0);
  for (let r = 0; r < rows; r++) {
    const base = <usize>r * rowBytes;
    let c = 0;
    if (ASC_FEATURE_SIMD) {
      const zero = f32x4.splat(0);
      for (; c + 4 <= C; c += 4) {
        const o = <usize>c << 2;
        const g = v128.load(dy + base + o), v = v128.load(x + base + o);
        const pos = f32x4.gt(v, zero);
        v128.store(dx + base + o, v128.bitselect(g, f32x4.mul(g, v128.load(alpha + o)), pos));
        // Masking both factors (not the product) keeps an infinite dy at a positive x out of the sum.
        const gm = v128.andnot(g, pos), vm = v128.andnot(v, pos);
        const a = acc + (<usize>c << 3);
        v128.store(a, dotLow(v128.load(a), gm, vm));
        v128.store(a, dotHigh(v128.load(a, 16), gm, vm), 16);
      }
    }
    for (; c < C; c++) {
      const o = <usize>c << 2;
      const g = load<f32>(dy + base + o), v = load<f32>(x + base + o);
      const pos = v > 0;
      store<f32>(dx + base + o, pos ? g : g * load<f32>(alpha + o));
      if (!pos) {
        const a = acc + (<usize>c << 3);
        store<f64>(a, load<f64>(a) + <f64>g * <f64>v);
      }
    }
  }
  for (let c = 0; c < C; c++) store<f32>(dalpha + (<usize>c << 2), <f32>load<f64>(acc + (<usize>c << 3)));
}

/** dx[i] = x[i] > 0 ? dy[i] : dy[i]·(alpha·exp(x[i])). From x, not y: y + alpha would cancel for x ≪ 0. */
export function elu_grad_f32(dy: usize, x: usize, dx: usize, n: i32, alpha: f32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const zero = f32x4.splat(0);
    const va = f32x4.splat(alpha);
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      const g = v128.load(dy + o), v = v128.load(x + o);
      v128.store(dx + o, v128.bitselect(g, f32x4.mul(g, f32x4.mul(exp4(v), va)), f32x4.gt(v, zero)));
    }
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const g = load<f32>(dy + o), v = load<f32>(x + o);
    store<f32>(dx + o, v > 0 ? g : g * (exp1(v) * alpha));
  }
}

/** dx[i] = dy[i]·(x[i] > 0 ? scale : scale·alpha·exp(x[i])), PyTorch's scale and alpha. */
export function selu_grad_f32(dy: usize, x: usize, dx: usize, n: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const zero = f32x4.splat(0);
    const vs = f32x4.splat(SELU_SCALE);
    const vsa = f32x4.splat(SELU_SCALE_ALPHA);
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      const v = v128.load(x + o);
      const slope = v128.bitselect(vs, f32x4.mul(exp4(v), vsa), f32x4.gt(v, zero));
      v128.store(dx + o, f32x4.mul(v128.load(dy + o), slope));
    }
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const v = load<f32>(x + o);
    store<f32>(dx + o, load<f32>(dy + o) * (v > 0 ? SELU_SCALE : exp1(v) * SELU_SCALE_ALPHA));
  }
}

/** dx[i] = dy[i]·(y[i]·(1 − y[i])), y the sigmoid's output. */
export function sigmoid_grad_f32(dy: usize, y: usize, dx: usize, n: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const one = f32x4.splat(1);
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      const v = v128.load(y + o);
      v128.store(dx + o, f32x4.mul(v128.load(dy + o), f32x4.mul(v, f32x4.sub(one, v))));
    }
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const v = load<f32>(y + o);
    store<f32>(dx + o, load<f32>(dy + o) * (v * (<f32>1 - v)));
  }
}

/** dx[i] = dy[i]·(1 − y[i]²) as (1 − y)(1 + y), which does not cancel as |y| → 1; y the tanh's output. */
export function tanh_grad_f32(dy: usize, y: usize, dx: usize, n: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const one = f32x4.splat(1);
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      const v = v128.load(y + o);
      v128.store(dx + o, f32x4.mul(v128.load(dy + o), f32x4.mul(f32x4.sub(one, v), f32x4.add(one, v))));
    }
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const v = load<f32>(y + o);
    store<f32>(dx + o, load<f32>(dy + o) * ((<f32>1 - v) * (<f32>1 + v)));
  }
}

/** dx[i] = dy[i]·swish'(x[i]); swish'(±Infinity) = 1, 0. */
export function swish_grad_f32(dy: usize, x: usize, dx: usize, n: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      v128.store(dx + o, f32x4.mul(v128.load(dy + o), swishGrad4(v128.load(x + o))));
    }
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(dx + o, load<f32>(dy + o) * swishGrad1(load<f32>(x + o)));
  }
}

/** dx[i] = dy[i]·(Φ(x[i]) + x[i]·φ(x[i])), the exact (erf) gelu; gelu'(±Infinity) = 1, 0. */
export function gelu_grad_f32(dy: usize, x: usize, dx: usize, n: i32): void {
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      v128.store(dx + o, f32x4.mul(v128.load(dy + o), geluGrad4(v128.load(x + o))));
    }
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(dx + o, load<f32>(dy + o) * geluGrad1(load<f32>(x + o)));
  }
}

/** dy, y, dx: [rows][cols], y the softmax's output. dx = y ⊙ (dy − Σ dy ⊙ y) per row (sum in f64). */
export function softmax_grad_f32(dy: usize, y: usize, dx: usize, rows: i32, cols: i32): void {
  const rowBytes = <usize>cols << 2;
  for (let r = 0; r < rows; r++) {
    const base = <usize>r * rowBytes;
    const s = <f32>rowDot(dy + base, y + base, cols);
    let c = 0;
    if (ASC_FEATURE_SIMD) {
      const vs = f32x4.splat(s);
      for (; c + 4 <= cols; c += 4) {
        const o = base + (<usize>c << 2);
        v128.store(dx + o, f32x4.mul(v128.load(y + o), f32x4.sub(v128.load(dy + o), vs)));
      }
    }
    for (; c < cols; c++) {
      const o = base + (<usize>c << 2);
      store<f32>(dx + o, load<f32>(y + o) * (load<f32>(dy + o) - s));
    }
  }
}

/** dy, y, dx: [rows][cols], y the logSoftmax's output. dx = dy − exp(y)·Σ dy per row (sum in f64). */
export function log_softmax_grad_f32(dy: usize, y: usize, dx: usize, rows: i32, cols: i32): void {
  const rowBytes = <usize>cols << 2;
  for (let r = 0; r < rows; r++) {
    const base = <usize>r * rowBytes;
    const s = <f32>rowDot(dy + base, 0, cols);
    let c = 0;
    if (ASC_FEATURE_SIMD) {
      const vs = f32x4.splat(s);
      for (; c + 4 <= cols; c += 4) {
        const o = base + (<usize>c << 2);
        v128.store(dx + o, f32x4.sub(v128.load(dy + o), f32x4.mul(exp4(v128.load(y + o)), vs)));
      }
    }
    for (; c < cols; c++) {
      const o = base + (<usize>c << 2);
      store<f32>(dx + o, load<f32>(dy + o) - exp1(load<f32>(y + o)) * s);
    }
  }
}

/**
 * x, dx: [rows][C]; dy: [rows][C/k], C % k == 0. Each group of k gets dy at its first max (the
 * first NaN if it holds one, the element the forward's NaN came from), 0 elsewhere. Not in place.
 */
export function maxout_grad_f32(dy: usize, x: usize, dx: usize, rows: i32, C: i32, k: i32): void {
  const groups = rows * (C / k);
  const kBytes = <usize>k << 2;
  let j = 0;
  if (ASC_FEATURE_SIMD) {
    const zero = f32x4.splat(0);
    if (k == 2) {
      // Four pairs in two vectors: the odd element wins by the max rule, else the even one.
      for (; j + 4 <= groups; j += 4) {
        const p = x + (<usize>j << 3);
        const a = v128.load(p), b = v128.load(p, 16);
        const odd = takes4(v128.shuffle<f32>(a, b, 1, 3, 5, 7), v128.shuffle<f32>(a, b, 0, 2, 4, 6));
        const g = v128.load(dy + (<usize>j << 2));
        const ge = v128.andnot(g, odd), go = v128.and(g, odd);
        const q = dx + (<usize>j << 3);
        v128.store(q, v128.shuffle<f32>(ge, go, 0, 4, 1, 5));
        v128.store(q, v128.shuffle<f32>(ge, go, 2, 6, 3, 7), 16);
      }
    } else if ((k & 3) == 0) {
      // The group's max (NaN if any) in every lane, then the first element equal to it (or NaN).
      for (; j < groups; j++) {
        const p = x + <usize>j * kBytes;
        const q = dx + <usize>j * kBytes;
        let m = v128.load(p);
        for (let i = 4; i < k; i += 4) m = f32x4.max(m, v128.load(p + (<usize>i << 2)));
        m = f32x4.max(m, v128.shuffle<f32>(m, m, 2, 3, 0, 1));
        m = f32x4.max(m, v128.shuffle<f32>(m, m, 1, 0, 3, 2));
        const nan = f32x4.ne(m, m);
        let at = -1;
        for (let i = 0; i < k; i += 4) {
          const o = <usize>i << 2;
          v128.store(q + o, zero);
          if (at < 0) {
            const v = v128.load(p + o);
            const bits = i32x4.bitmask(v128.bitselect(f32x4.ne(v, v), f32x4.eq(v, m), nan));
            if (bits != 0) at = i + ctz<i32>(bits);
          }
        }
        if (at >= 0) store<f32>(q + (<usize>at << 2), load<f32>(dy + (<usize>j << 2)));
      }
    } else {
      // Four groups at a time, one lane each (a strided gather), the winner's index per lane.
      for (; j + 4 <= groups; j += 4) {
        const p = x + <usize>j * kBytes;
        let m = zero;
        m = v128.load32_lane(p, m, 0);
        m = v128.load32_lane(p + kBytes, m, 1);
        m = v128.load32_lane(p + 2 * kBytes, m, 2);
        m = v128.load32_lane(p + 3 * kBytes, m, 3);
        let at = i32x4.splat(0);
        for (let i = 1; i < k; i++) {
          const s = p + (<usize>i << 2);
          let v = zero;
          v = v128.load32_lane(s, v, 0);
          v = v128.load32_lane(s + kBytes, v, 1);
          v = v128.load32_lane(s + 2 * kBytes, v, 2);
          v = v128.load32_lane(s + 3 * kBytes, v, 3);
          const t = takes4(v, m);
          m = v128.bitselect(v, m, t);
          at = v128.bitselect(i32x4.splat(i), at, t);
        }
        // The four groups are 4·k contiguous floats: whole vectors of zeros, then the four winners.
        const q = dx + <usize>j * kBytes;
        const end = q + 4 * kBytes;
        for (let o = q; o < end; o += 16) v128.store(o, zero);
        const g = v128.load(dy + (<usize>j << 2));
        store<f32>(q + (<usize>i32x4.extract_lane(at, 0) << 2), f32x4.extract_lane(g, 0));
        store<f32>(q + kBytes + (<usize>i32x4.extract_lane(at, 1) << 2), f32x4.extract_lane(g, 1));
        store<f32>(q + 2 * kBytes + (<usize>i32x4.extract_lane(at, 2) << 2), f32x4.extract_lane(g, 2));
        store<f32>(q + 3 * kBytes + (<usize>i32x4.extract_lane(at, 3) << 2), f32x4.extract_lane(g, 3));
      }
    }
  }
  for (; j < groups; j++) {
    const p = x + <usize>j * kBytes;
    const q = dx + <usize>j * kBytes;
    let m = load<f32>(p);
    let at = 0;
    for (let i = 1; i < k; i++) {
      const v = load<f32>(p + (<usize>i << 2));
      if (takes1(v, m)) { m = v; at = i; }
    }
    for (let i = 0; i < k; i++) store<f32>(q + (<usize>i << 2), 0);
    store<f32>(q + (<usize>at << 2), load<f32>(dy + (<usize>j << 2)));
  }
}

// relu6, hardSigmoid and hardSwish: slopes at the kinks as PyTorch's backward kernels take them
// (hardtanh_backward and hardsigmoid_backward: 0 at both ends of the linear piece; hardswish_backward:
// x < −3 → 0, −3 ≤ x ≤ 3 → x/3 + 1/2, x > 3 → 1). Unlike PyTorch, a NaN x gives a NaN dx (the
// forward's output there is NaN, so is its derivative): the NaN lanes are selected from x itself.
