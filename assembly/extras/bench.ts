// Peak probe for bench/peers.mjs: the arithmetic ceiling of one core for this build (compiled
// into build/extras-<target>.wasm, not into the library wasm).
import { madd } from '../simd';

/**
 * Runs `iterations` rounds of 12 independent f32x4 chains acc = acc·m + c (relaxed build: one
 * fused madd; plain SIMD: a mul then an add) and returns a sum of the results so nothing is dead.
 * Work: iterations · 12 chains · 4 lanes · 2 flops. 12 accumulators + 2 constants fit V8's 15
 * usable xmm registers, and 12 chains cover the mul/add (or FMA) latency × throughput of current
 * x86 cores. m < 1 keeps every chain converging to c/(1 − m): no overflow, no denormals.
 * The scalar build does the same flops with scalar chains (four passes of 12 per iteration).
 */
export function peak_f32x4(iterations: i32): f32 {
  const seed = <f32>(iterations & 7) * 0.001;
  if (ASC_FEATURE_SIMD) {
    const m = f32x4.splat(0.999 - seed), c = f32x4.splat(0.001);
    let a0 = f32x4.splat(0.1), a1 = f32x4.splat(0.2), a2 = f32x4.splat(0.3), a3 = f32x4.splat(0.4);
    let a4 = f32x4.splat(0.5), a5 = f32x4.splat(0.6), a6 = f32x4.splat(0.7), a7 = f32x4.splat(0.8);
    let a8 = f32x4.splat(0.9), a9 = f32x4.splat(1.0), a10 = f32x4.splat(1.1), a11 = f32x4.splat(1.2);
    for (let i = 0; i < iterations; i++) {
      a0 = madd(a0, m, c); a1 = madd(a1, m, c); a2 = madd(a2, m, c); a3 = madd(a3, m, c);
      a4 = madd(a4, m, c); a5 = madd(a5, m, c); a6 = madd(a6, m, c); a7 = madd(a7, m, c);
      a8 = madd(a8, m, c); a9 = madd(a9, m, c); a10 = madd(a10, m, c); a11 = madd(a11, m, c);
    }
    const s = f32x4.add(
      f32x4.add(f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3)), f32x4.add(f32x4.add(a4, a5), f32x4.add(a6, a7))),
      f32x4.add(f32x4.add(a8, a9), f32x4.add(a10, a11)),
    );
    return f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1) + f32x4.extract_lane(s, 2) + f32x4.extract_lane(s, 3);
  } else {
    const m: f32 = 0.999 - seed, c: f32 = 0.001;
    let a0: f32 = 0.1, a1: f32 = 0.2, a2: f32 = 0.3, a3: f32 = 0.4, a4: f32 = 0.5, a5: f32 = 0.6;
    let a6: f32 = 0.7, a7: f32 = 0.8, a8: f32 = 0.9, a9: f32 = 1.0, a10: f32 = 1.1, a11: f32 = 1.2;
    for (let i = 0; i < iterations; i++) {
      for (let lane = 0; lane < 4; lane++) {
        a0 = a0 * m + c; a1 = a1 * m + c; a2 = a2 * m + c; a3 = a3 * m + c;
        a4 = a4 * m + c; a5 = a5 * m + c; a6 = a6 * m + c; a7 = a7 * m + c;
        a8 = a8 * m + c; a9 = a9 * m + c; a10 = a10 * m + c; a11 = a11 * m + c;
      }
    }
    return ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)) + ((a8 + a9) + (a10 + a11));
  }
}

/**
 * Memory floor for the pooling cases of bench/peers.mjs: dst gets `outVectors` vectors, each the
 * pmax of r consecutive vectors of src — every byte of src read once in order and every byte of
 * dst written once, with one instruction of arithmetic per load: the traffic of an r:1 pooling
 * and nothing else. (Scalar build: the same bytes, lane by lane.)
 */
export function stream_max_f32(src: usize, dst: usize, outVectors: i32, r: i32): void {
  let p = src, o = dst;
  for (let i = 0; i < outVectors; i++) {
    if (ASC_FEATURE_SIMD) {
      let m = v128.load(p);
      for (let k = 1; k < r; k++) m = f32x4.pmax(m, v128.load(p + (<usize>k << 4)));
      v128.store(o, m);
    } else {
      for (let lane: usize = 0; lane < 16; lane += 4) {
        let m = load<f32>(p + lane);
        for (let k = 1; k < r; k++) m = max(m, load<f32>(p + (<usize>k << 4) + lane));
        store<f32>(o + lane, m);
      }
    }
    p += <usize>r << 4;
    o += 16;
  }
}
