import { clamp } from './simd';
import {
  LOG2E, LN2_HI, LN2_LO, SELU_SCALE, SELU_SCALE_ALPHA, MAX_F32, EXPM1_LO, SIGN_MASK, expm1Poly4, expm1Poly1, pow2i4, pow2i1,
  exp4, exp1, normalCdf4, normalCdf1, rowMax,
} from './math';

// The activations of src/ops/activation.ts: elementwise (relu … gelu, relu6, hardSigmoid,
// hardSwish), softmax over rows, maxout. Every kernel reads x and writes y over raw addresses and
// is safe in place (x == y). Each op's `f4` has a scalar twin `f1` that performs the same f32
// operations in the same order, so an element gets bit-identical results in the SIMD body and in
// the scalar tail (and in the scalar build). That is why the polynomials use mul + add even in the
// relaxed build: a fused madd would round differently from the scalar tail.
//
// exp, gelu's Φ, selu's constants and rowMax live in assembly/math.ts (shared with the gradients).

// tanh(a) ≈ a + a³·(T3 + a²·(T5 + a²·(T7 + a²·(T9 + a²·T11)))) for a = |x| < TANH_SMALL (minimax,
// relative error 4.4e-9 before f32 rounding): exact-to-an-ulp near 0, where (1 − e)/(1 + e) with
// e = exp(−2a) would cancel. From TANH_SMALL up, that quotient is ≥ 0.55 and loses nothing.
const TANH_SMALL: f32 = 0.625;
const T3: f32 = -0.333332807;
const T5: f32 = 0.133314416;
const T7: f32 = -0.0537397154;
const T9: f32 = 0.0206390824;
const T11: f32 = -0.00570498221;

/** expm1(min(x, 0)): accurate relative to the result near 0 (elu and selu need only x ≤ 0). */
// @ts-ignore: decorator
@inline function expm1Neg4(x: v128): v128 {
  const a = clamp(x, f32x4.splat(EXPM1_LO), f32x4.splat(0));
  const n = f32x4.nearest(f32x4.mul(a, f32x4.splat(LOG2E)));
  const r = f32x4.sub(f32x4.sub(a, f32x4.mul(n, f32x4.splat(LN2_HI))), f32x4.mul(n, f32x4.splat(LN2_LO)));
  const s = pow2i4(n);
  // 2^n·expm1(r) + (2^n − 1): exact 2^n − 1 for the small n where cancellation could hurt.
  return f32x4.add(f32x4.mul(expm1Poly4(r), s), f32x4.sub(s, f32x4.splat(1)));
}

// @ts-ignore: decorator
@inline function expm1Neg1(x: f32): f32 {
  const a = min(max(x, EXPM1_LO), <f32>0);
  const n = nearest<f32>(a * LOG2E);
  const r = (a - n * LN2_HI) - n * LN2_LO;
  const s = pow2i1(n);
  return expm1Poly1(r) * s + (s - 1);
}

/**
 * Where exp(a) for a ≤ 0 takes the short route: n = nearest(a·log2e) ≥ −124, so e^r·2^n is a
 * normal number and one scaling by 2^n equals exp4's two halves exactly (a product by a power of
 * two is exact when it stays normal). Below it (and for NaN) the full exp4.
 */
const SIGMOID_FAST_LO: f32 = -86.0;

/** exp(a) for a ≤ 0: bit for bit exp4(a), without its clamp and its second scaling when no lane is below SIGMOID_FAST_LO. */
// @ts-ignore: decorator
@inline function expNeg4(a: v128): v128 {
  if (!i32x4.all_true(f32x4.ge(a, f32x4.splat(SIGMOID_FAST_LO)))) return exp4(a);
  const n = f32x4.nearest(f32x4.mul(a, f32x4.splat(LOG2E)));
  const r = f32x4.sub(f32x4.sub(a, f32x4.mul(n, f32x4.splat(LN2_HI))), f32x4.mul(n, f32x4.splat(LN2_LO)));
  return f32x4.mul(f32x4.add(expm1Poly4(r), f32x4.splat(1)), pow2i4(n));
}

// @ts-ignore: decorator
@inline function expNeg1(a: f32): f32 {
  if (!(a >= SIGMOID_FAST_LO)) return exp1(a);
  const n = nearest<f32>(a * LOG2E);
  const r = (a - n * LN2_HI) - n * LN2_LO;
  return (expm1Poly1(r) + 1) * pow2i1(n);
}

/** 1/(1 + e^−x), from e = exp(−|x|) so that exp never overflows: x ≥ 0 → 1/(1+e), else e/(1+e). */
// @ts-ignore: decorator
@inline function sigmoid4(x: v128): v128 {
  // −|x| in one instruction: set the sign bit (the same bits as neg(abs(x)), NaN included).
  const e = expNeg4(v128.or(x, i32x4.splat(SIGN_MASK)));
  const num = v128.bitselect(f32x4.splat(1), e, f32x4.ge(x, f32x4.splat(0)));
  return f32x4.div(num, f32x4.add(e, f32x4.splat(1)));
}

// @ts-ignore: decorator
@inline function sigmoid1(x: f32): f32 {
  const e = expNeg1(-abs<f32>(x));
  const num: f32 = x >= 0 ? 1 : e;
  return num / (e + 1);
}

/**
 * y[i] = Op(x[i]) for i < n: a 4-lane body, then the scalar tail. Op is a class whose `f4` and `f1`
 * take the element and the op's parameters a, b (splatted once, outside the loop). Generic
 * arguments resolve at compile time, so each kernel gets its own loop with direct calls; `op` is a
 * null reference that is never dereferenced (the methods read no fields).
 */
// @ts-ignore: decorator
@inline function map<Op>(x: usize, y: usize, n: i32, a: f32 = 0, b: f32 = 0): void {
  const op = changetype<Op>(0);
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const va = f32x4.splat(a), vb = f32x4.splat(b);
    // Two vectors per trip: independent chains the CPU overlaps (the same operations per element).
    for (; i + 8 <= n; i += 8) {
      const o = <usize>i << 2;
      const v0 = v128.load(x + o), v1 = v128.load(x + o + 16);
      v128.store(y + o, op.f4(v0, va, vb));
      v128.store(y + o + 16, op.f4(v1, va, vb));
    }
    for (; i + 4 <= n; i += 4) {
      const o = <usize>i << 2;
      v128.store(y + o, op.f4(v128.load(x + o), va, vb));
    }
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(y + o, op.f1(load<f32>(x + o), a, b));
  }
}

// ---- the ops: f4 over four lanes, f1 its scalar twin ----

class Relu {
  // @ts-ignore: decorator
  @inline f4(v: v128, a: v128, b: v128): v128 { return f32x4.max(v, f32x4.splat(0)); }
  // @ts-ignore: decorator
  @inline f1(x: f32, a: f32, b: f32): f32 { return max(x, <f32>0); }
}

class LeakyRelu {
  // @ts-ignore: decorator
  @inline f4(v: v128, a: v128, b: v128): v128 { return v128.bitselect(v, f32x4.mul(v, a), f32x4.gt(v, f32x4.splat(0))); }
  // @ts-ignore: decorator
  @inline f1(x: f32, a: f32, b: f32): f32 { return x > 0 ? x : x * a; }
}

class Elu {
  // @ts-ignore: decorator
  @inline f4(v: v128, a: v128, b: v128): v128 { return v128.bitselect(v, f32x4.mul(expm1Neg4(v), a), f32x4.gt(v, f32x4.splat(0))); }
  // @ts-ignore: decorator
  @inline f1(x: f32, a: f32, b: f32): f32 { return x > 0 ? x : expm1Neg1(x) * a; }
}

class Selu {
  // @ts-ignore: decorator
  @inline f4(v: v128, a: v128, b: v128): v128 {
    return v128.bitselect(f32x4.mul(v, f32x4.splat(SELU_SCALE)), f32x4.mul(expm1Neg4(v), f32x4.splat(SELU_SCALE_ALPHA)), f32x4.gt(v, f32x4.splat(0)));
  }
  // @ts-ignore: decorator
  @inline f1(x: f32, a: f32, b: f32): f32 { return x > 0 ? x * SELU_SCALE : expm1Neg1(x) * SELU_SCALE_ALPHA; }
}

class Sigmoid {
  // @ts-ignore: decorator
  @inline f4(v: v128, a: v128, b: v128): v128 { return sigmoid4(v); }
  // @ts-ignore: decorator
  @inline f1(x: f32, a: f32, b: f32): f32 { return sigmoid1(x); }
}

/** tanh(|x|) by the polynomial below TANH_SMALL and from exp above, then x's sign (so tanh(−0) = −0). */
class Tanh {
  f4(x: v128, _a: v128, _b: v128): v128 {
    const a = f32x4.abs(x);
    const a2 = f32x4.mul(a, a);
    let p = f32x4.add(f32x4.mul(a2, f32x4.splat(T11)), f32x4.splat(T9));
    p = f32x4.add(f32x4.mul(p, a2), f32x4.splat(T7));
    p = f32x4.add(f32x4.mul(p, a2), f32x4.splat(T5));
    p = f32x4.add(f32x4.mul(p, a2), f32x4.splat(T3));
    const small = f32x4.add(f32x4.mul(f32x4.mul(p, a2), a), a);
    const e = exp4(f32x4.mul(a, f32x4.splat(-2)));
    const big = f32x4.div(f32x4.sub(f32x4.splat(1), e), f32x4.add(f32x4.splat(1), e));
    // NaN fails the comparison and takes the exp path, which keeps it NaN.
    const t = v128.bitselect(small, big, f32x4.lt(a, f32x4.splat(TANH_SMALL)));
    return v128.bitselect(x, t, i32x4.splat(SIGN_MASK));
  }

  f1(x: f32, _a: f32, _b: f32): f32 {
    const a = abs<f32>(x);
    const a2 = a * a;
    let p = a2 * T11 + T9;
    p = p * a2 + T7;
    p = p * a2 + T5;
    p = p * a2 + T3;
    const small = p * a2 * a + a;
    const e = exp1(a * -2);
    const big = (<f32>1 - e) / (<f32>1 + e);
    return copysign<f32>(a < TANH_SMALL ? small : big, x);
  }
}

/** x·sigmoid(x), x clamped to −FLT_MAX first: −Infinity·0 would be NaN; the limit is 0. */
class Swish {
  // @ts-ignore: decorator
  @inline f4(v: v128, a: v128, b: v128): v128 { return f32x4.mul(f32x4.pmax(v, f32x4.splat(-MAX_F32)), sigmoid4(v)); }
  // @ts-ignore: decorator
  @inline f1(x: f32, a: f32, b: f32): f32 { return max(x, -MAX_F32) * sigmoid1(x); }
}

/** x·Φ(x), the exact (erf) form, x clamped to −FLT_MAX as in Swish. */
class Gelu {
  f4(v: v128, a: v128, b: v128): v128 { return f32x4.mul(f32x4.max(v, f32x4.splat(-MAX_F32)), normalCdf4(v)); }
  f1(x: f32, a: f32, b: f32): f32 { return max(x, -MAX_F32) * normalCdf1(x); }
}

class Relu6 {
  // @ts-ignore: decorator
  @inline f4(v: v128, a: v128, b: v128): v128 { return clamp(v, f32x4.splat(0), f32x4.splat(6)); }
  // @ts-ignore: decorator
  @inline f1(x: f32, a: f32, b: f32): f32 { return min(max(x, <f32>0), <f32>6); }
}

/** min(max(alpha·x + beta, 0), 1), a mul then an add in every build. */
class HardSigmoid {
  // @ts-ignore: decorator
  @inline f4(v: v128, a: v128, b: v128): v128 { return clamp(f32x4.add(f32x4.mul(v, a), b), f32x4.splat(0), f32x4.splat(1)); }
  // @ts-ignore: decorator
  @inline f1(x: f32, a: f32, b: f32): f32 { return min(max(x * a + b, <f32>0), <f32>1); }
}

/**
 * x·min(max(x + 3, 0), 6)/6 (PyTorch's order of operations, a true division by 6), and x itself
 * above 3 (x·6 would overflow for x > FLT_MAX/6); x clamped to −FLT_MAX as in Swish.
 */
class HardSwish {
  // @ts-ignore: decorator
  @inline f4(v: v128, a: v128, b: v128): v128 {
    const three = f32x4.splat(3), six = f32x4.splat(6);
    const r = clamp(f32x4.add(v, three), f32x4.splat(0), six);
    return v128.bitselect(v, f32x4.div(f32x4.mul(f32x4.max(v, f32x4.splat(-MAX_F32)), r), six), f32x4.gt(v, three));
  }
  // @ts-ignore: decorator
  @inline f1(x: f32, a: f32, b: f32): f32 {
    const r = min(max(x + 3, <f32>0), <f32>6);
    return x > 3 ? x : (max(x, -MAX_F32) * r) / 6;
  }
}

// ---- kernels ----

/** y[i] = max(x[i], 0) for i < n; NaN stays NaN. */
export function relu_f32(x: usize, y: usize, n: i32): void { map<Relu>(x, y, n); }

/** y[i] = x[i] > 0 ? x[i] : alpha·x[i]. */
export function leaky_relu_f32(x: usize, y: usize, n: i32, alpha: f32): void { map<LeakyRelu>(x, y, n, alpha); }

/** y[i] = x[i] > 0 ? x[i] : alpha·(exp(x[i]) − 1). */
export function elu_f32(x: usize, y: usize, n: i32, alpha: f32): void { map<Elu>(x, y, n, alpha); }

/** y[i] = scale·(x[i] > 0 ? x[i] : alpha·(exp(x[i]) − 1)), PyTorch's scale and alpha. */
export function selu_f32(x: usize, y: usize, n: i32): void { map<Selu>(x, y, n); }

/** y[i] = 1/(1 + exp(−x[i])). */
export function sigmoid_f32(x: usize, y: usize, n: i32): void { map<Sigmoid>(x, y, n); }

/** y[i] = tanh(x[i]). */
export function tanh_f32(x: usize, y: usize, n: i32): void { map<Tanh>(x, y, n); }

/** y[i] = x[i]·sigmoid(x[i]); −Infinity gives 0 (the limit), not NaN. */
export function swish_f32(x: usize, y: usize, n: i32): void { map<Swish>(x, y, n); }

/** y[i] = x[i]·Φ(x[i]) = x·(1 + erf(x/√2))/2 (the exact form); −Infinity gives 0, the limit. */
export function gelu_f32(x: usize, y: usize, n: i32): void { map<Gelu>(x, y, n); }

/** y[i] = min(max(x[i], 0), 6); NaN stays NaN. */
export function relu6_f32(x: usize, y: usize, n: i32): void { map<Relu6>(x, y, n); }

/** y[i] = min(max(alpha·x[i] + beta, 0), 1); NaN stays NaN. */
export function hard_sigmoid_f32(x: usize, y: usize, n: i32, alpha: f32, beta: f32): void { map<HardSigmoid>(x, y, n, alpha, beta); }

/** y[i] = x[i]·relu6(x[i] + 3)/6; −Infinity gives 0 (the limit). */
export function hard_swish_f32(x: usize, y: usize, n: i32): void { map<HardSwish>(x, y, n); }

/** x, y: [rows][C]; alpha: [C]. y[r][c] = x[r][c] > 0 ? x[r][c] : alpha[c]·x[r][c]. */
export function prelu_f32(x: usize, alpha: usize, y: usize, rows: i32, C: i32): void {
  const rowBytes = <usize>C << 2;
  for (let r = 0; r < rows; r++) {
    const xr = x + <usize>r * rowBytes;
    const yr = y + <usize>r * rowBytes;
    let c = 0;
    if (ASC_FEATURE_SIMD) {
      const zero = f32x4.splat(0);
      for (; c + 4 <= C; c += 4) {
        const o = <usize>c << 2;
        const v = v128.load(xr + o);
        v128.store(yr + o, v128.bitselect(v, f32x4.mul(v, v128.load(alpha + o)), f32x4.gt(v, zero)));
      }
    }
    for (; c < C; c++) {
      const o = <usize>c << 2;
      const v = load<f32>(xr + o);
      store<f32>(yr + o, v > 0 ? v : v * load<f32>(alpha + o));
    }
  }
}

/** Add the four f32 lanes of v to the two f64 accumulators. */
// @ts-ignore: decorator
@inline function addWide(acc: v128, v: v128): v128 {
  return f64x2.add(f64x2.add(acc, f64x2.promote_low_f32x4(v)), f64x2.promote_low_f32x4(v128.shuffle<f32>(v, v, 2, 3, 0, 1)));
}

/**
 * Σ exp(x[c] − m) over a row, summed in f64 so that a long row loses nothing to the sum (the
 * terms are f32, so SIMD and scalar builds agree to far below f32 resolution); if y != 0 also
 * stores each term at y.
 */
function rowExpSum(x: usize, y: usize, cols: i32, m: f32): f64 {
  let s: f64 = 0;
  let c = 0;
  if (ASC_FEATURE_SIMD) {
    const vm = f32x4.splat(m);
    let s0 = f64x2.splat(0), s1 = s0;
    for (; c + 8 <= cols; c += 8) {
      const o = <usize>c << 2;
      const e0 = exp4(f32x4.sub(v128.load(x + o), vm));
      const e1 = exp4(f32x4.sub(v128.load(x + o, 16), vm));
      if (y != 0) {
        v128.store(y + o, e0);
        v128.store(y + o, e1, 16);
      }
      s0 = addWide(s0, e0);
      s1 = addWide(s1, e1);
    }
    for (; c + 4 <= cols; c += 4) {
      const o = <usize>c << 2;
      const e0 = exp4(f32x4.sub(v128.load(x + o), vm));
      if (y != 0) v128.store(y + o, e0);
      s0 = addWide(s0, e0);
    }
    s0 = f64x2.add(s0, s1);
    s = f64x2.extract_lane(s0, 0) + f64x2.extract_lane(s0, 1);
  }
  for (; c < cols; c++) {
    const o = <usize>c << 2;
    const e = exp1(load<f32>(x + o) - m);
    if (y != 0) store<f32>(y + o, e);
    s += <f64>e;
  }
  return s;
}

/**
 * x, y: [rows][cols]. y = exp(x − max) / Σ exp(x − max) per row. As in PyTorch, a row holding NaN
 * or +Infinity, or only −Infinity, comes out all NaN.
 */
export function softmax_f32(x: usize, y: usize, rows: i32, cols: i32): void {
  const rowBytes = <usize>cols << 2;
  for (let r = 0; r < rows; r++) {
    const xr = x + <usize>r * rowBytes;
    const yr = y + <usize>r * rowBytes;
    const s = <f32>rowExpSum(xr, yr, cols, rowMax(xr, cols));
    let c = 0;
    if (ASC_FEATURE_SIMD) {
      const vs = f32x4.splat(s);
      for (; c + 4 <= cols; c += 4) {
        const o = <usize>c << 2;
        v128.store(yr + o, f32x4.div(v128.load(yr + o), vs));
      }
    }
    for (; c < cols; c++) {
      const o = <usize>c << 2;
      store<f32>(yr + o, load<f32>(yr + o) / s);
    }
  }
}

/** x, y: [rows][cols]. y = x − max − log Σ exp(x − max) per row; NaN rows as in softmax_f32. */
export function log_softmax_f32(x: usize, y: usize, rows: i32, cols: i32): void {
  const rowBytes = <usize>cols << 2;
  for (let r = 0; r < rows; r++) {
    const xr = x + <usize>r * rowBytes;
    const yr = y + <usize>r * rowBytes;
    const m = rowMax(xr, cols);
    const lse = <f32>Math.log(rowExpSum(xr, 0, cols, m));
    let c = 0;
    if (ASC_FEATURE_SIMD) {
      const vm = f32x4.splat(m);
      const vl = f32x4.splat(lse);
      for (; c + 4 <= cols; c += 4) {
        const o = <usize>c << 2;
        v128.store(yr + o, f32x4.sub(f32x4.sub(v128.load(xr + o), vm), vl));
      }
    }
    for (; c < cols; c++) {
      const o = <usize>c << 2;
      store<f32>(yr + o, (load<f32>(xr + o) - m) - lse);
    }
  }
}

/** Lane-wise max of the k/4 vectors at p (k a multiple of 4). */
// @ts-ignore: decorator
@inline function foldMax(p: usize, k: i32): v128 {
  let m = v128.load(p);
  for (let i = 4; i < k; i += 4) m = f32x4.max(m, v128.load(p + (<usize>i << 2)));
  return m;
}

/**
 * x: [rows][C], y: [rows][C/k], C % k == 0. y[r][j] = max of x[r][j·k .. j·k + k); NaN propagates.
 * Groups never straddle rows, so the work is one flat run of rows·C/k groups. In-place safe: each
 * store lands at or below data already read.
 */
export function maxout_f32(x: usize, y: usize, rows: i32, C: i32, k: i32): void {
  const groups = rows * (C / k);
  const kBytes = <usize>k << 2;
  let j = 0;
  if (ASC_FEATURE_SIMD) {
    if (k == 2) {
      // Four pairs in two vectors: max of the even lanes and the odd lanes.
      for (; j + 4 <= groups; j += 4) {
        const p = x + (<usize>j << 3);
        const a = v128.load(p), b = v128.load(p, 16);
        const even = v128.shuffle<f32>(a, b, 0, 2, 4, 6);
        const odd = v128.shuffle<f32>(a, b, 1, 3, 5, 7);
        v128.store(y + (<usize>j << 2), f32x4.max(even, odd));
      }
    } else if ((k & 3) == 0) {
      // Four groups at a time: each folded to one vector of lane maxima, then the four vectors
      // reduced together by two rounds of even/odd max, which leaves group g in lane g.
      for (; j + 4 <= groups; j += 4) {
        const p = x + <usize>j * kBytes;
        const v0 = foldMax(p, k), v1 = foldMax(p + kBytes, k);
        const v2 = foldMax(p + 2 * kBytes, k), v3 = foldMax(p + 3 * kBytes, k);
        const m01 = f32x4.max(v128.shuffle<f32>(v0, v1, 0, 2, 4, 6), v128.shuffle<f32>(v0, v1, 1, 3, 5, 7));
        const m23 = f32x4.max(v128.shuffle<f32>(v2, v3, 0, 2, 4, 6), v128.shuffle<f32>(v2, v3, 1, 3, 5, 7));
        v128.store(y + (<usize>j << 2), f32x4.max(v128.shuffle<f32>(m01, m23, 0, 2, 4, 6), v128.shuffle<f32>(m01, m23, 1, 3, 5, 7)));
      }
    } else {
      // Four groups at a time, one lane each (a strided gather).
      for (; j + 4 <= groups; j += 4) {
        const p = x + <usize>j * kBytes;
        let m = f32x4.splat(0);
        m = v128.load32_lane(p, m, 0);
        m = v128.load32_lane(p + kBytes, m, 1);
        m = v128.load32_lane(p + 2 * kBytes, m, 2);
        m = v128.load32_lane(p + 3 * kBytes, m, 3);
        for (let i = 1; i < k; i++) {
          const q = p + (<usize>i << 2);
          let v = f32x4.splat(0);
          v = v128.load32_lane(q, v, 0);
          v = v128.load32_lane(q + kBytes, v, 1);
          v = v128.load32_lane(q + 2 * kBytes, v, 2);
          v = v128.load32_lane(q + 3 * kBytes, v, 3);
          m = f32x4.max(m, v);
        }
        v128.store(y + (<usize>j << 2), m);
      }
    }
  }
  for (; j < groups; j++) {
    const p = x + <usize>j * kBytes;
    let m = load<f32>(p);
    for (let i = 1; i < k; i++) m = max(m, load<f32>(p + (<usize>i << 2)));
    store<f32>(y + (<usize>j << 2), m);
  }
}
