import { clamp, clampFast } from './simd';

// The one math library of the kernels (activations, their gradients, losses, pooling): exp by
// Cody–Waite reduction x = n·ln2 + r, |r| ≤ ln2/2, expm1(r) by a degree-6 minimax polynomial
// (relative error 1.3e-8 before f32 rounding), scaled by 2^n; log; the erfc fit of gelu's Φ;
// selu's constants; the max-with-NaN rule; hsum and rowMax. Measured against f64 references over
// the float range in tests/math.test.ts: exp 0.99 ulp, log 0.76 ulp, Φ 9.4 ulp at most (Φ: the
// erfc fit, relative error ~1e-7; absolute error ≤ 3e-7 near Φ = ½). Each vector helper `name4` has a scalar twin `name1` doing
// the same f32 operations in the same order (bit-identical SIMD body, scalar tail and builds).

export const LOG2E: f32 = 1.44269502;
export const LN2_HI: f32 = 0.693145752; // 0x3f317200: n·LN2_HI is exact for |n| ≤ 256
export const LN2_LO: f32 = 1.42860677e-6;
export const EXP_LO: f32 = -104.0; // exp(-104) < 2^-150: rounds to 0
export const EXP_HI: f32 = 89.0; // exp(89) > FLT_MAX: rounds to +Infinity
export const EXPM1_LO: f32 = -87.0; // expm1(-87) is -1 in f32, and n ≥ -126 keeps 2^n normal
/** 1.5·2^23 + 127: adding it to an integral n in [-126, 127] leaves n + 127 in the low mantissa bits. */
export const POW2_BIAS: f32 = 12583039.0;
// expm1(r) ≈ r + r²·(E2 + r·(E3 + r·(E4 + r·(E5 + r·E6)))) on |r| ≤ ln2/2
export const E2: f32 = 0.49999997;
export const E3: f32 = 0.166665435;
export const E4: f32 = 0.0416672006;
export const E5: f32 = 0.00836651400;
export const E6: f32 = 0.00138825225;
// erfc(z) ≈ t·exp(−z² + Q(t)), t = 1/(1 + z/2), z ≥ 0 (the Numerical Recipes erfcc form, refitted:
// minimax degree 9, error of Q 9.7e-8, i.e. relative error of erfc, over all z ≥ 0). Relative
// accuracy in the far tail is what keeps gelu's negative side meaningful.
export const Q0: f32 = -1.26551223;
export const Q1: f32 = 1.00002277;
export const Q2: f32 = 0.374122143;
export const Q3: f32 = 0.0964128599;
export const Q4: f32 = -0.184080318;
export const Q5: f32 = 0.271659821;
export const Q6: f32 = -1.12160099;
export const Q7: f32 = 1.47373760;
export const Q8: f32 = -0.813578546;
export const Q9: f32 = 0.168816686;
export const INV_SQRT2: f32 = 0.707106769;
export const INV_SQRT_2PI: f32 = 0.398942292; // φ(x) = exp(−x²/2)/√(2π)
/** Φ(x) is 0 or 1 in f32 beyond this; clamping first keeps x² finite. */
export const GELU_CLAMP: f32 = 20.0;
/** Clears the low 12 mantissa bits: x·x of what remains is exact. */
export const SPLIT_MASK: i32 = <i32>0xfffff000;
export const SIGN_MASK: i32 = <i32>0x80000000;
export const SELU_SCALE: f32 = 1.05070098; // PyTorch's constants
export const SELU_SCALE_ALPHA: f32 = 1.75809932; // scale·alpha = 1.0507009873554805·1.6732632423543772
export const MAX_F32: f32 = 3.40282347e38;
// log(1 + f) by Cephes' degree-9 polynomial (≈1 ulp); ln2 split for e·ln2 with an exact head.
export const LOG_LN2_HI: f32 = 0.693359375; // 355/512: e·LOG_LN2_HI is exact for |e| < 2^15
export const LOG_LN2_LO: f32 = -2.12194440e-4;
export const LOG_SQRTH: f32 = 0.707106781;
export const LOG_MIN_NORMAL: f32 = 1.17549435e-38;
export const LOG_TWO23: f32 = 8388608.0;
export const LOG_L0: f32 = 7.0376836292e-2;
export const LOG_L1: f32 = -1.1514610310e-1;
export const LOG_L2: f32 = 1.1676998740e-1;
export const LOG_L3: f32 = -1.2420140846e-1;
export const LOG_L4: f32 = 1.4249322787e-1;
export const LOG_L5: f32 = -1.6668057665e-1;
export const LOG_L6: f32 = 2.0000714765e-1;
export const LOG_L7: f32 = -2.4999993993e-1;
export const LOG_L8: f32 = 3.3333331174e-1;
export const LOG_MANT_MASK: i32 = 0x007fffff;
export const LOG_HALF_BITS: i32 = 0x3f000000; // exponent of [0.5, 1)

// ---- exp and friends, 4 lanes and 1 lane ----

/** expm1(r) for |r| ≤ ln2/2. */
// @ts-ignore: decorator
@inline export function expm1Poly4(r: v128): v128 {
  let p = f32x4.add(f32x4.mul(r, f32x4.splat(E6)), f32x4.splat(E5));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(E4));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(E3));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(E2));
  return f32x4.add(f32x4.mul(f32x4.mul(p, r), r), r);
}

// @ts-ignore: decorator
@inline export function expm1Poly1(r: f32): f32 {
  let p = r * E6 + E5;
  p = p * r + E4;
  p = p * r + E3;
  p = p * r + E2;
  return p * r * r + r;
}

/** 2^n for integral n in [-126, 127], built from the exponent bits. */
// @ts-ignore: decorator
@inline export function pow2i4(n: v128): v128 {
  return i32x4.shl(f32x4.add(n, f32x4.splat(POW2_BIAS)), 23);
}

// @ts-ignore: decorator
@inline export function pow2i1(n: f32): f32 {
  return reinterpret<f32>(reinterpret<i32>(n + POW2_BIAS) << 23);
}

/** e^r·2^n for integral n in [-150, 128]; 2^n goes in two halves, each a normal number, so
 * neither overflow to Infinity nor gradual underflow needs a branch. */
// @ts-ignore: decorator
@inline export function scaleExp4(n: v128, r: v128): v128 {
  const n1 = f32x4.floor(f32x4.mul(n, f32x4.splat(0.5)));
  const e = f32x4.add(expm1Poly4(r), f32x4.splat(1));
  return f32x4.mul(f32x4.mul(e, pow2i4(n1)), pow2i4(f32x4.sub(n, n1)));
}

// @ts-ignore: decorator
@inline export function scaleExp1(n: f32, r: f32): f32 {
  const n1 = floor<f32>(n * 0.5);
  const e = expm1Poly1(r) + 1;
  return e * pow2i1(n1) * pow2i1(n - n1);
}

/** exp(x); NaN stays NaN. */
// @ts-ignore: decorator
@inline export function exp4(x: v128): v128 {
  // Bit for bit what clamp gives here: ±0 is inside the range either way.
  const a = clampFast(x, f32x4.splat(EXP_LO), f32x4.splat(EXP_HI));
  const n = f32x4.nearest(f32x4.mul(a, f32x4.splat(LOG2E)));
  const r = f32x4.sub(f32x4.sub(a, f32x4.mul(n, f32x4.splat(LN2_HI))), f32x4.mul(n, f32x4.splat(LN2_LO)));
  return scaleExp4(n, r);
}

// @ts-ignore: decorator
@inline export function exp1(x: f32): f32 {
  const a = min(max(x, EXP_LO), EXP_HI);
  const n = nearest<f32>(a * LOG2E);
  const r = (a - n * LN2_HI) - n * LN2_LO;
  return scaleExp1(n, r);
}

/**
 * exp(hi + lo), where lo carries what hi could not hold of the argument (gelu's −x²/2): r is
 * reduced from hi and lo separately. If clamping moved hi + lo, hi + lo is far outside the
 * range where that matters.
 */
// @ts-ignore: decorator
@inline export function expHiLo4(hi: v128, lo: v128): v128 {
  const sum = f32x4.add(hi, lo);
  const a = clampFast(sum, f32x4.splat(EXP_LO), f32x4.splat(EXP_HI));
  const n = f32x4.nearest(f32x4.mul(a, f32x4.splat(LOG2E)));
  const inRange = f32x4.eq(a, sum); // false for NaN, which then stays NaN through a
  const h = v128.bitselect(hi, a, inRange);
  const l = v128.and(lo, inRange);
  const r = f32x4.sub(f32x4.add(f32x4.sub(h, f32x4.mul(n, f32x4.splat(LN2_HI))), l), f32x4.mul(n, f32x4.splat(LN2_LO)));
  return scaleExp4(n, r);
}

// @ts-ignore: decorator
@inline export function expHiLo1(hi: f32, lo: f32): f32 {
  const sum = hi + lo;
  const a = min(max(sum, EXP_LO), EXP_HI);
  const n = nearest<f32>(a * LOG2E);
  const inRange = a == sum;
  const h = inRange ? hi : a;
  const l: f32 = inRange ? lo : 0;
  const r = ((h - n * LN2_HI) + l) - n * LN2_LO;
  return scaleExp1(n, r);
}


/** Q(t) of the erfc fit: erfc(z) ≈ t·exp(−z² + Q(t)), t = 1/(1 + z/2). */
// @ts-ignore: decorator
@inline export function erfcPoly4(t: v128): v128 {
  let q = f32x4.add(f32x4.mul(t, f32x4.splat(Q9)), f32x4.splat(Q8));
  q = f32x4.add(f32x4.mul(q, t), f32x4.splat(Q7));
  q = f32x4.add(f32x4.mul(q, t), f32x4.splat(Q6));
  q = f32x4.add(f32x4.mul(q, t), f32x4.splat(Q5));
  q = f32x4.add(f32x4.mul(q, t), f32x4.splat(Q4));
  q = f32x4.add(f32x4.mul(q, t), f32x4.splat(Q3));
  q = f32x4.add(f32x4.mul(q, t), f32x4.splat(Q2));
  q = f32x4.add(f32x4.mul(q, t), f32x4.splat(Q1));
  return f32x4.add(f32x4.mul(q, t), f32x4.splat(Q0));
}

// @ts-ignore: decorator
@inline export function erfcPoly1(t: f32): f32 {
  let q = t * Q9 + Q8;
  q = q * t + Q7;
  q = q * t + Q6;
  q = q * t + Q5;
  q = q * t + Q4;
  q = q * t + Q3;
  q = q * t + Q2;
  q = q * t + Q1;
  return q * t + Q0;
}

// ---- log, 4 lanes and 1 lane ----

/**
 * Natural log, lane-wise: x = m·2^e with m in [√½, √2) (frexp from the bits, subnormals prescaled
 * by 2^23), log(1 + f) by the polynomial. log 0 = −Infinity, log x<0 = NaN, log +Infinity =
 * +Infinity, NaN stays NaN. Max error 0.76 ulp (tests/math.test.ts).
 */
// @ts-ignore: decorator
@inline export function ln4(x: v128): v128 {
  const sub = f32x4.lt(x, f32x4.splat(LOG_MIN_NORMAL));
  const xs = v128.bitselect(f32x4.mul(x, f32x4.splat(LOG_TWO23)), x, sub);
  let e = f32x4.convert_i32x4_s(i32x4.sub(i32x4.shr_u(xs, 23), i32x4.splat(126)));
  e = f32x4.sub(e, v128.and(f32x4.splat(23), sub));
  const m = v128.or(v128.and(xs, i32x4.splat(LOG_MANT_MASK)), i32x4.splat(LOG_HALF_BITS)); // [0.5, 1)
  const small = f32x4.lt(m, f32x4.splat(LOG_SQRTH));
  e = f32x4.sub(e, v128.and(f32x4.splat(1), small));
  const f = f32x4.sub(f32x4.add(m, v128.and(m, small)), f32x4.splat(1)); // 2m − 1 or m − 1, exact
  const z = f32x4.mul(f, f);
  let p = f32x4.add(f32x4.mul(f, f32x4.splat(LOG_L0)), f32x4.splat(LOG_L1));
  p = f32x4.add(f32x4.mul(p, f), f32x4.splat(LOG_L2));
  p = f32x4.add(f32x4.mul(p, f), f32x4.splat(LOG_L3));
  p = f32x4.add(f32x4.mul(p, f), f32x4.splat(LOG_L4));
  p = f32x4.add(f32x4.mul(p, f), f32x4.splat(LOG_L5));
  p = f32x4.add(f32x4.mul(p, f), f32x4.splat(LOG_L6));
  p = f32x4.add(f32x4.mul(p, f), f32x4.splat(LOG_L7));
  p = f32x4.add(f32x4.mul(p, f), f32x4.splat(LOG_L8));
  let y = f32x4.mul(f32x4.mul(p, f), z);
  y = f32x4.add(y, f32x4.mul(e, f32x4.splat(LOG_LN2_LO)));
  y = f32x4.add(y, f32x4.mul(z, f32x4.splat(-0.5)));
  let r = f32x4.add(f, y);
  r = f32x4.add(r, f32x4.mul(e, f32x4.splat(LOG_LN2_HI)));
  // 0 → −Infinity; x < 0 → NaN; +Infinity and NaN → x itself.
  const ok = v128.and(f32x4.gt(x, f32x4.splat(0)), f32x4.lt(x, f32x4.splat(Infinity)));
  let special = v128.bitselect(f32x4.splat(NaN), x, f32x4.lt(x, f32x4.splat(0)));
  special = v128.bitselect(f32x4.splat(-Infinity), special, f32x4.eq(x, f32x4.splat(0)));
  return v128.bitselect(r, special, ok);
}

// @ts-ignore: decorator
@inline export function ln1(x: f32): f32 {
  if (!(x > 0 && x < Infinity)) return x == 0 ? -Infinity : x < 0 ? NaN : x;
  const sub = x < LOG_MIN_NORMAL;
  const xs = sub ? x * LOG_TWO23 : x;
  const bits = reinterpret<i32>(xs);
  let e = <f32>((bits >>> 23) - 126);
  if (sub) e -= 23;
  const m = reinterpret<f32>((bits & LOG_MANT_MASK) | LOG_HALF_BITS);
  const small = m < LOG_SQRTH;
  if (small) e -= 1;
  const f = (m + (small ? m : <f32>0)) - 1;
  const z = f * f;
  let p = f * LOG_L0 + LOG_L1;
  p = p * f + LOG_L2;
  p = p * f + LOG_L3;
  p = p * f + LOG_L4;
  p = p * f + LOG_L5;
  p = p * f + LOG_L6;
  p = p * f + LOG_L7;
  p = p * f + LOG_L8;
  let y = p * f * z;
  y = y + e * LOG_LN2_LO;
  y = y + z * -0.5;
  let r = f + y;
  r = r + e * LOG_LN2_HI;
  return r;
}

// ---- the normal CDF Φ (gelu) ----

/**
 * −x²/2 as hi + lo: hi = −xh²/2 with xh = x rounded to 12 bits (xh² exact), lo = −xl·(x + xh)/2
 * with xl = x − xh. exp(−x²/2) magnifies its argument's rounding by x²/2, so gelu's Φ and φ pass
 * the two parts to expHiLo.
 */
// @ts-ignore: decorator
@inline export function negHalfSquareHi4(x: v128): v128 {
  const xh = v128.and(x, i32x4.splat(SPLIT_MASK));
  return f32x4.mul(f32x4.mul(xh, xh), f32x4.splat(-0.5));
}

// @ts-ignore: decorator
@inline export function negHalfSquareLo4(x: v128): v128 {
  const xh = v128.and(x, i32x4.splat(SPLIT_MASK));
  return f32x4.mul(f32x4.mul(f32x4.sub(x, xh), f32x4.add(x, xh)), f32x4.splat(-0.5));
}

// @ts-ignore: decorator
@inline export function negHalfSquareHi1(x: f32): f32 {
  const xh = reinterpret<f32>(reinterpret<i32>(x) & SPLIT_MASK);
  return xh * xh * -0.5;
}

// @ts-ignore: decorator
@inline export function negHalfSquareLo1(x: f32): f32 {
  const xh = reinterpret<f32>(reinterpret<i32>(x) & SPLIT_MASK);
  return (x - xh) * (x + xh) * -0.5;
}

/**
 * Φ(x) = erfc(−x/√2)/2, from erfc(|x|/√2) on both sides so the negative tail keeps its relative
 * accuracy (1 + erf(x/√2) would cancel to nothing); x is clamped to ±GELU_CLAMP first (Φ is 0 or
 * 1 in f32 beyond). The one definition of gelu's Φ, forward and gradient alike.
 */
// @ts-ignore: decorator
@inline export function normalCdf4(x: v128): v128 {
  const xc = clamp(x, f32x4.splat(-GELU_CLAMP), f32x4.splat(GELU_CLAMP));
  const z = f32x4.mul(f32x4.abs(xc), f32x4.splat(INV_SQRT2));
  const t = f32x4.div(f32x4.splat(1), f32x4.add(f32x4.mul(z, f32x4.splat(0.5)), f32x4.splat(1)));
  const lo = f32x4.add(negHalfSquareLo4(xc), erfcPoly4(t));
  const half = f32x4.mul(f32x4.mul(t, expHiLo4(negHalfSquareHi4(xc), lo)), f32x4.splat(0.5)); // erfc(|z|)/2
  return v128.bitselect(f32x4.sub(f32x4.splat(1), half), half, f32x4.ge(xc, f32x4.splat(0)));
}

// @ts-ignore: decorator
@inline export function normalCdf1(x: f32): f32 {
  const xc = min(max(x, -GELU_CLAMP), GELU_CLAMP);
  const z = abs<f32>(xc) * INV_SQRT2;
  const t: f32 = 1 / (z * 0.5 + 1);
  const lo = negHalfSquareLo1(xc) + erfcPoly1(t);
  const half = t * expHiLo1(negHalfSquareHi1(xc), lo) * 0.5;
  return xc >= 0 ? <f32>1 - half : half;
}

/** φ(x) = exp(−x²/2)/√(2π), x clamped to ±GELU_CLAMP as in normalCdf (φ is 0 in f32 beyond). */
// @ts-ignore: decorator
@inline export function normalPdf4(x: v128): v128 {
  const xc = clamp(x, f32x4.splat(-GELU_CLAMP), f32x4.splat(GELU_CLAMP));
  return f32x4.mul(expHiLo4(negHalfSquareHi4(xc), negHalfSquareLo4(xc)), f32x4.splat(INV_SQRT_2PI));
}

// @ts-ignore: decorator
@inline export function normalPdf1(x: f32): f32 {
  const xc = min(max(x, -GELU_CLAMP), GELU_CLAMP);
  return expHiLo1(negHalfSquareHi1(xc), negHalfSquareLo1(xc)) * INV_SQRT_2PI;
}

// ---- max with NaN, horizontal sums and row maxima ----

// The max rule of pooling and maxout: v replaces the running max m when v > m, or when v is NaN
// and m is not yet. Ties keep the earlier element; the first NaN wins and stays.
//   v128.andnot(a, b) = a & ~b:  (m == m) & ~(v <= m)  ⇔  m not NaN and (v > m or v is NaN).

// @ts-ignore: decorator
@inline export function takesMax4(v: v128, m: v128): v128 {
  return v128.andnot(f32x4.eq(m, m), f32x4.le(v, m));
}

// @ts-ignore: decorator
@inline export function takesMax1(v: f32, m: f32): bool {
  return (m == m) & !(v <= m);
}

/** Sum of the four lanes, as (v0 + v1) + (v2 + v3). */
// @ts-ignore: decorator
@inline export function hsum(v: v128): f32 {
  return (f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1)) + (f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3));
}

/** Largest of the n floats at p; NaN if any is NaN, −Infinity for n = 0. Two accumulators keep the maxes independent. */
export function rowMax(p: usize, n: i32): f32 {
  let m = <f32>-Infinity;
  let c = 0;
  if (ASC_FEATURE_SIMD) {
    let m0 = f32x4.splat(-Infinity), m1 = m0;
    for (; c + 8 <= n; c += 8) {
      const o = <usize>c << 2;
      m0 = f32x4.max(m0, v128.load(p + o));
      m1 = f32x4.max(m1, v128.load(p + o, 16));
    }
    for (; c + 4 <= n; c += 4) m0 = f32x4.max(m0, v128.load(p + (<usize>c << 2)));
    m0 = f32x4.max(m0, m1);
    m0 = f32x4.max(m0, v128.shuffle<f32>(m0, m0, 2, 3, 0, 1));
    m0 = f32x4.max(m0, v128.shuffle<f32>(m0, m0, 1, 0, 3, 2));
    m = f32x4.extract_lane(m0, 0);
  }
  for (; c < n; c++) m = max(m, load<f32>(p + (<usize>c << 2)));
  return m;
}
