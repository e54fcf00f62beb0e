import { clamp } from './simd';

// Shared f32 math for the activation kernels and their gradients (elementwise.ts and
// activation_grad.ts): exp by Cody–Waite reduction x = n·ln2 + r, |r| ≤ ln2/2, expm1(r) by a
// degree-6 minimax polynomial (relative error 1.3e-8 before f32 rounding), scaled by 2^n; the
// erfc fit of gelu; selu's constants. Each vector helper `name4` has a scalar twin `name1` doing
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
/** Φ(x) is 0 or 1 in f32 beyond this; clamping first keeps x² finite. */
export const GELU_CLAMP: f32 = 20.0;
/** Clears the low 12 mantissa bits: x·x of what remains is exact. */
export const SPLIT_MASK: i32 = <i32>0xfffff000;
export const SIGN_MASK: i32 = <i32>0x80000000;
export const SELU_SCALE: f32 = 1.05070098; // PyTorch's constants
export const SELU_SCALE_ALPHA: f32 = 1.75809932; // scale·alpha = 1.0507009873554805·1.6732632423543772
export const MAX_F32: f32 = 3.40282347e38;

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
  const a = clamp(x, f32x4.splat(EXP_LO), f32x4.splat(EXP_HI));
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
  const a = clamp(sum, f32x4.splat(EXP_LO), f32x4.splat(EXP_HI));
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
