// Small SIMD helpers shared by every kernel family. One source, three builds: with relaxed SIMD
// `madd` is a fused multiply-add; with plain SIMD a mul then an add; the scalar build never
// reaches these (kernels guard their vector bodies with `if (ASC_FEATURE_SIMD)`).

/** a·b + c, lane-wise. */
// @ts-ignore: decorator
@inline export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) {
    return f32x4.relaxed_madd(a, b, c);
  } else {
    return f32x4.add(f32x4.mul(a, b), c);
  }
}

/** Clamp lanes to [lo, hi]; NaN stays NaN (pmin/pmax would drop it, min/max keep it). */
// @ts-ignore: decorator
@inline export function clamp(v: v128, lo: v128, hi: v128): v128 {
  return f32x4.min(f32x4.max(v, lo), hi);
}

/**
 * Clamp lanes to [lo, hi] with pmax/pmin: one instruction each in V8 where min/max take about eight
 * (their NaN and signed-zero fix-ups). NaN in v stays NaN (v is the first operand); the only
 * difference from `clamp` is that −0 and +0 are not ordered (a −0 result at a bound of 0 stays −0).
 * For kernel epilogues and range reductions, where that cannot matter.
 */
// @ts-ignore: decorator
@inline export function clampFast(v: v128, lo: v128, hi: v128): v128 {
  return f32x4.pmin(f32x4.pmax(v, lo), hi);
}

/** Store the first `n` (0..4) lanes of `v` at `p`. */
// @ts-ignore: decorator
@inline export function storeLanes(p: usize, v: v128, n: i32): void {
  if (n >= 4) { v128.store(p, v); return; }
  if (n >= 2) { v128.store64_lane(p, v, 0); if (n == 3) v128.store32_lane(p + 8, v, 2); return; }
  if (n == 1) v128.store32_lane(p, v, 0);
}

/** Scalar clamp with the same NaN behaviour as the vector one. */
// @ts-ignore: decorator
@inline export function clampf(v: f32, lo: f32, hi: f32): f32 {
  return min(max(v, lo), hi);
}

/** The first n (0..4) floats at p in the low lanes, zeros above; never reads past p + 4n. */
// @ts-ignore: decorator
@inline export function loadPartial(p: usize, n: i32): v128 {
  if (n >= 4) return v128.load(p);
  if (n == 3) return v128.load32_lane(p + 8, v128.load64_zero(p), 2);
  if (n == 2) return v128.load64_zero(p);
  if (n == 1) return v128.load32_zero(p);
  return f32x4.splat(0);
}

/** Store 8 columns (two vectors), or the first `nr` of them at the right edge. */
// @ts-ignore: decorator
@inline export function storeRow8(p: usize, lo: v128, hi: v128, nr: i32): void {
  if (nr >= 8) {
    v128.store(p, lo);
    v128.store(p, hi, 16);
  } else if (nr >= 4) {
    v128.store(p, lo);
    storeLanes(p + 16, hi, nr - 4);
  } else {
    storeLanes(p, lo, nr);
  }
}

/**
 * The scalar twin of storeRow8: columns s0..s7 clamped to [ymin, ymax], the first nr (≥ 1) stored
 * at p (a row's last block of 8 may be partial).
 */
// @ts-ignore: decorator
@inline export function storeClamped8(
  p: usize, nr: i32, ymin: f32, ymax: f32, s0: f32, s1: f32, s2: f32, s3: f32, s4: f32, s5: f32, s6: f32, s7: f32,
): void {
  store<f32>(p, clampf(s0, ymin, ymax));
  if (nr > 1) store<f32>(p, clampf(s1, ymin, ymax), 4);
  if (nr > 2) store<f32>(p, clampf(s2, ymin, ymax), 8);
  if (nr > 3) store<f32>(p, clampf(s3, ymin, ymax), 12);
  if (nr > 4) store<f32>(p, clampf(s4, ymin, ymax), 16);
  if (nr > 5) store<f32>(p, clampf(s5, ymin, ymax), 20);
  if (nr > 6) store<f32>(p, clampf(s6, ymin, ymax), 24);
  if (nr > 7) store<f32>(p, clampf(s7, ymin, ymax), 28);
}
