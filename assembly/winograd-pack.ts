// The Winograd filter transform U = G·g·Gᵀ of src/ops/pack.ts (packWinograd), in float64 with the
// same operations in the same order as the JavaScript it replaced, so the packed f32 bits are the
// same (tests/pack-winograd.test.ts): per (cin, cout), t = G·g (α×3, a zero coefficient's term
// skipped, each sum from +0 in tap-row order), U[i][j] = t[i][0]·G[j][0] + t[i][1]·G[j][1] +
// t[i][2]·G[j][2] left to right, then demoted to f32. The SIMD build does two output channels per
// f64x2 (each lane the scalar sequence); nothing is reassociated or fused.

// G row-major (rows: transformed taps, columns: the 3 filter taps): F(2×2, 3×3) and F(4×4, 3×3)
// (derived in assembly/winograd-f43.ts); the f64 nearest to 1/4, −1/6, 1/6, 1/24, 1/12, −1/12.
const G23 = memory.data<f64>([1, 0, 0, 0.5, 0.5, 0.5, 0.5, -0.5, 0.5, 0, 0, 1]);
const G43 = memory.data<f64>([
  0.25, 0, 0, -0.16666666666666666, -0.16666666666666666, -0.16666666666666666,
  -0.16666666666666666, 0.16666666666666666, -0.16666666666666666,
  0.041666666666666664, 0.08333333333333333, 0.16666666666666666,
  0.041666666666666664, -0.08333333333333333, 0.16666666666666666, 0, 0, 1,
]);

/**
 * Output-channel blocks [b0, b1) of the packed transform: HWIO weights w [3, 3, C, Cout] (taps
 * reversed if `flip`) → α² planes (α = 4 or 6) of ⌈Cout/8⌉ blocks [bias 8][C][8] at `out`, the
 * bias rows and the columns past Cout zero.
 */
export function winograd_pack_filter(w: usize, C: i32, Cout: i32, flip: i32, a: i32, out: usize, b0: i32, b1: i32): void {
  const G = a == 6 ? G43 : G23;
  const blocks = (Cout + 7) >> 3;
  const blockBytes = <usize>(8 + C * 8) << 2;
  const plane = <usize>blocks * blockBytes;
  const P = a * a;
  const dr = <usize>((flip ? -1 : 1) * <isize>C * <isize>Cout * 4); // wraps: −C·Cout·4 when flipped
  for (let blk = b0; blk < b1; blk++) {
    const o0 = blk * 8, n = min(8, Cout - o0);
    const bb = out + <usize>blk * blockBytes;
    for (let xi = 0; xi < P; xi++) {
      const z = bb + <usize>xi * plane;
      store<u64>(z, 0); store<u64>(z, 0, 8); store<u64>(z, 0, 16); store<u64>(z, 0, 24);
    }
    for (let c = 0; c < C; c++) {
      const q0 = w + ((<usize>((flip ? 8 : 0) * C + c) * <usize>Cout + <usize>o0) << 2);
      const dst = bb + (<usize>(8 + c * 8) << 2);
      let j = 0;
      if (ASC_FEATURE_SIMD) {
        for (; j + 2 <= n; j += 2) pair(q0 + (<usize>j << 2), dr, G, a, dst + (<usize>j << 2), plane);
      }
      for (; j < n; j++) lane(q0 + (<usize>j << 2), dr, G, a, dst + (<usize>j << 2), plane);
      for (; j < 8; j++) {
        for (let xi = 0; xi < P; xi++) store<f32>(dst + (<usize>j << 2) + <usize>xi * plane, 0);
      }
    }
  }
}

/** One (cin, cout): 9 taps from q (tap k at q + k·dr) → α² floats at d, planes `plane` bytes apart. */
// @ts-ignore: decorator
@inline function lane(q: usize, dr: usize, G: usize, a: i32, d: usize, plane: usize): void {
  const g0 = <f64>load<f32>(q), g1 = <f64>load<f32>(q + dr), g2 = <f64>load<f32>(q + 2 * dr);
  const g3 = <f64>load<f32>(q + 3 * dr), g4 = <f64>load<f32>(q + 4 * dr), g5 = <f64>load<f32>(q + 5 * dr);
  const g6 = <f64>load<f32>(q + 6 * dr), g7 = <f64>load<f32>(q + 7 * dr), g8 = <f64>load<f32>(q + 8 * dr);
  for (let i = 0; i < a; i++) {
    const gi = G + (<usize>(i * 3) << 3);
    const G0 = load<f64>(gi), G1 = load<f64>(gi, 8), G2 = load<f64>(gi, 16);
    let t0: f64 = 0, t1: f64 = 0, t2: f64 = 0;
    if (G0 != 0) { t0 += G0 * g0; t1 += G0 * g1; t2 += G0 * g2; }
    if (G1 != 0) { t0 += G1 * g3; t1 += G1 * g4; t2 += G1 * g5; }
    if (G2 != 0) { t0 += G2 * g6; t1 += G2 * g7; t2 += G2 * g8; }
    let at = d + <usize>(i * a) * plane;
    for (let j = 0; j < a; j++, at += plane) {
      const h = G + (<usize>(j * 3) << 3);
      store<f32>(at, <f32>(t0 * load<f64>(h) + t1 * load<f64>(h, 8) + t2 * load<f64>(h, 16)));
    }
  }
}

/** Two adjacent output channels of `lane`, one per f64x2 lane. */
// @ts-ignore: decorator
@inline function pair(q: usize, dr: usize, G: usize, a: i32, d: usize, plane: usize): void {
  const g0 = ld2(q), g1 = ld2(q + dr), g2 = ld2(q + 2 * dr), g3 = ld2(q + 3 * dr), g4 = ld2(q + 4 * dr);
  const g5 = ld2(q + 5 * dr), g6 = ld2(q + 6 * dr), g7 = ld2(q + 7 * dr), g8 = ld2(q + 8 * dr);
  for (let i = 0; i < a; i++) {
    const gi = G + (<usize>(i * 3) << 3);
    const s0 = load<f64>(gi), s1 = load<f64>(gi, 8), s2 = load<f64>(gi, 16);
    let t0 = f64x2.splat(0), t1 = f64x2.splat(0), t2 = f64x2.splat(0);
    if (s0 != 0) { const G0 = f64x2.splat(s0); t0 = f64x2.add(t0, f64x2.mul(G0, g0)); t1 = f64x2.add(t1, f64x2.mul(G0, g1)); t2 = f64x2.add(t2, f64x2.mul(G0, g2)); }
    if (s1 != 0) { const G1 = f64x2.splat(s1); t0 = f64x2.add(t0, f64x2.mul(G1, g3)); t1 = f64x2.add(t1, f64x2.mul(G1, g4)); t2 = f64x2.add(t2, f64x2.mul(G1, g5)); }
    if (s2 != 0) { const G2 = f64x2.splat(s2); t0 = f64x2.add(t0, f64x2.mul(G2, g6)); t1 = f64x2.add(t1, f64x2.mul(G2, g7)); t2 = f64x2.add(t2, f64x2.mul(G2, g8)); }
    let at = d + <usize>(i * a) * plane;
    for (let j = 0; j < a; j++, at += plane) {
      const h = G + (<usize>(j * 3) << 3);
      const u = f64x2.add(f64x2.add(f64x2.mul(t0, f64x2.splat(load<f64>(h))), f64x2.mul(t1, f64x2.splat(load<f64>(h, 8)))), f64x2.mul(t2, f64x2.splat(load<f64>(h, 16))));
      v128.store64_lane(at, f32x4.demote_f64x2_zero(u), 0);
    }
  }
}

/** Two floats at p, promoted to f64x2. */
// @ts-ignore: decorator
@inline function ld2(p: usize): v128 {
  return f64x2.promote_low_f32x4(v128.load64_zero(p));
}
