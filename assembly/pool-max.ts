import { maxPartial, ROW } from './pool';

// Max pooling, values only (the argmax kernel and the window table are in pool.ts; see there).
//
// Two paths with the same result bit for bit:
// - general (maxPixel): one output pixel at a time, its window's bounds read from the table;
// - paired (maxPair): output rows oy and oy + 1 whose windows are both 3 rows tall and start 1 or 2
//   input rows apart (3×3 pools at row stride 1 or 2: the interior of ResNet's and GoogLeNet's max
//   pools), for each column whose window is 3 wide. Each input row's max over the 3 columns is
//   computed once and serves both windows where they overlap: per channel vector and two outputs,
//   15 (or 12) loads, pmax and NaN-check adds instead of 18 each, and one call per window pair.
//   The channels past the last block of 8 and every other window take the general path.
// Both compute, per window, the first of its maximal values in row-major window order (pmax
// `m < v ? v : m` keeps the earlier of equal values, and a fold grouped by rows keeps that rule), so
// ±0 come out as before; any NaN in a window gives NaN (SIMD: the canonical NaN; scalar: the first
// NaN of the window, in both paths).

/**
 * Max of 4 channels over a window (values only): pmax with an exact NaN flag per tap, so any
 * NaN in the window gives NaN; of equal values the first is kept.
 */
function maxExact4(p0: usize, y0: i32, y1: i32, x0: i32, x1: i32, rowStep: usize, pixelBytes: usize, out: usize): void {
  let m = f32x4.splat(-Infinity);
  let n = i32x4.splat(0);
  let row = p0;
  for (let iy = y0; iy < y1; iy++) {
    let p = row;
    for (let ix = x0; ix < x1; ix++) {
      const v = v128.load(p);
      m = f32x4.pmax(m, v);
      n = v128.or(n, f32x4.ne(v, v));
      p += pixelBytes;
    }
    row += rowStep;
  }
  v128.store(out, v128.bitselect(f32x4.splat(NaN), m, n));
}

/** Scalar max rule: the first NaN stays, a NaN wins, else the first of equal values. */
// @ts-ignore: decorator
@inline function fold1(m: f32, v: f32): f32 {
  return m != m ? m : (v != v || m < v ? v : m);
}

/**
 * Max pooling, values only. y [N, OH, OW, C]; windows from `win` (see pool.ts). Of equal values the
 * first is kept, and any NaN in a window gives NaN (the argmax kernel's rule, without the index).
 */
export function maxpool2d_nhwc_f32(
  x: usize, N: i32, H: i32, W: i32, C: i32, OH: i32, OW: i32, win: usize, y: usize,
): void {
  const pixelBytes = <usize>C << 2;
  const rowStep = <usize>W * pixelBytes;
  const cols = win + <usize>OH * ROW;
  const outRow = <usize>OW * pixelBytes;
  // Channels the paired path covers: blocks of 8 (SIMD), every channel (scalar build).
  const CP = ASC_FEATURE_SIMD ? C & ~7 : C;
  let out: usize = 0; // byte offset of the current output pixel in y
  for (let n = 0; n < N; n++) {
    for (let oy = 0; oy < OH;) {
      const y0 = load<i32>(win + <usize>oy * ROW), y1 = load<i32>(win + <usize>oy * ROW, 4);
      // Rows oy and oy + 1 pair up when both windows are 3 rows tall and start 1 or 2 rows apart.
      let d = 0;
      if (oy + 1 < OH && y1 - y0 == 3 && CP > 0) {
        const z0 = load<i32>(win + <usize>(oy + 1) * ROW), z1 = load<i32>(win + <usize>(oy + 1) * ROW, 4);
        if (z1 - z0 == 3 && (z0 - y0 == 1 || z0 - y0 == 2)) d = z0 - y0;
      }
      if (d != 0) {
        const row = x + (<usize>((n * H + y0) * W) * pixelBytes);
        for (let ox = 0; ox < OW; ox++) {
          const x0 = load<i32>(cols + <usize>ox * ROW), x1 = load<i32>(cols + <usize>ox * ROW, 4);
          let c0 = 0;
          if (x1 - x0 == 3) {
            const p = row + <usize>x0 * pixelBytes, o = y + out;
            maxPair(p, CP, rowStep, pixelBytes, o, outRow, d);
            c0 = CP;
          }
          if (c0 < C) {
            maxPixel(x, n, H, W, C, y0, y1, x0, x1, c0, y + out);
            maxPixel(x, n, H, W, C, y0 + d, y1 + d, x0, x1, c0, y + out + outRow);
          }
          out += pixelBytes;
        }
        out += outRow;
        oy += 2;
      } else {
        for (let ox = 0; ox < OW; ox++) {
          const x0 = load<i32>(cols + <usize>ox * ROW), x1 = load<i32>(cols + <usize>ox * ROW, 4);
          maxPixel(x, n, H, W, C, y0, y1, x0, x1, 0, y + out);
          out += pixelBytes;
        }
        oy++;
      }
    }
  }
}

/**
 * Two vertically adjacent 3×3 windows whose tops are d (1 or 2) input rows apart, the upper one's
 * top-left input pixel at p; outputs to o and o + oRow; channels [0, CP). Each input row's max over
 * the 3 columns is computed once and serves both windows where they overlap.
 */
function maxPair(p: usize, CP: i32, rowStep: usize, pixelBytes: usize, o: usize, oRow: usize, d: i32): void {
  const p2 = pixelBytes << 1;
  if (ASC_FEATURE_SIMD) {
    const lo = f32x4.splat(-Infinity), zero = f32x4.splat(0);
    for (let c = 0; c < CP; c += 8) {
      const cb = <usize>c << 2;
      let q = p + cb;
      // Per input row: the max over its 3 columns (in order), folded into the windows holding the
      // row; and a sum of every value read, NaN if any is NaN (or ∞ − ∞). Three loops (rows of the
      // upper window only, shared rows, rows of the lower window only) so that each row is
      // reduced before the next is loaded (V8 would otherwise hoist every load and spill).
      let top0 = lo, top1 = lo, bot0 = lo, bot1 = lo, s0 = zero, s1 = zero;
      for (let r = 0; r < d; r++) {
        const v0 = v128.load(q), v1 = v128.load(q + pixelBytes), v2 = v128.load(q + p2);
        const w0 = v128.load(q, 16), w1 = v128.load(q + pixelBytes, 16), w2 = v128.load(q + p2, 16);
        top0 = f32x4.pmax(top0, f32x4.pmax(f32x4.pmax(v0, v1), v2));
        top1 = f32x4.pmax(top1, f32x4.pmax(f32x4.pmax(w0, w1), w2));
        s0 = f32x4.add(s0, f32x4.add(f32x4.add(v0, v1), v2)); s1 = f32x4.add(s1, f32x4.add(f32x4.add(w0, w1), w2));
        q += rowStep;
      }
      for (let r = d; r < 3; r++) {
        const v0 = v128.load(q), v1 = v128.load(q + pixelBytes), v2 = v128.load(q + p2);
        const w0 = v128.load(q, 16), w1 = v128.load(q + pixelBytes, 16), w2 = v128.load(q + p2, 16);
        const r0 = f32x4.pmax(f32x4.pmax(v0, v1), v2), r1 = f32x4.pmax(f32x4.pmax(w0, w1), w2);
        top0 = f32x4.pmax(top0, r0); top1 = f32x4.pmax(top1, r1);
        bot0 = f32x4.pmax(bot0, r0); bot1 = f32x4.pmax(bot1, r1);
        s0 = f32x4.add(s0, f32x4.add(f32x4.add(v0, v1), v2)); s1 = f32x4.add(s1, f32x4.add(f32x4.add(w0, w1), w2));
        q += rowStep;
      }
      for (let r = 0; r < d; r++) {
        const v0 = v128.load(q), v1 = v128.load(q + pixelBytes), v2 = v128.load(q + p2);
        const w0 = v128.load(q, 16), w1 = v128.load(q + pixelBytes, 16), w2 = v128.load(q + p2, 16);
        bot0 = f32x4.pmax(bot0, f32x4.pmax(f32x4.pmax(v0, v1), v2));
        bot1 = f32x4.pmax(bot1, f32x4.pmax(f32x4.pmax(w0, w1), w2));
        s0 = f32x4.add(s0, f32x4.add(f32x4.add(v0, v1), v2)); s1 = f32x4.add(s1, f32x4.add(f32x4.add(w0, w1), w2));
        q += rowStep;
      }
      // Stored first (so the maxima are computed as the rows come, not kept for after the check).
      const oc = o + cb;
      v128.store(oc, top0); v128.store(oc, top1, 16);
      v128.store(oc + oRow, bot0); v128.store(oc + oRow, bot1, 16);
      if (v128.any_true(v128.or(f32x4.ne(s0, s0), f32x4.ne(s1, s1)))) {
        // Rare: redo both windows with exact per-tap NaN flags.
        const pc = p + cb, pd = pc + <usize>d * rowStep;
        maxExact4(pc, 0, 3, 0, 3, rowStep, pixelBytes, oc);
        maxExact4(pc + 16, 0, 3, 0, 3, rowStep, pixelBytes, oc + 16);
        maxExact4(pd, 0, 3, 0, 3, rowStep, pixelBytes, oc + oRow);
        maxExact4(pd + 16, 0, 3, 0, 3, rowStep, pixelBytes, oc + oRow + 16);
      }
    }
  } else {
    for (let c = 0; c < CP; c++) {
      const cb = <usize>c << 2;
      let q = p + cb;
      const r0 = fold1(fold1(load<f32>(q), load<f32>(q + pixelBytes)), load<f32>(q + p2));
      q += rowStep;
      const r1 = fold1(fold1(load<f32>(q), load<f32>(q + pixelBytes)), load<f32>(q + p2));
      q += rowStep;
      const r2 = fold1(fold1(load<f32>(q), load<f32>(q + pixelBytes)), load<f32>(q + p2));
      q += rowStep;
      const r3 = fold1(fold1(load<f32>(q), load<f32>(q + pixelBytes)), load<f32>(q + p2));
      const oc = o + cb;
      if (d == 1) {
        const m = fold1(r1, r2);
        store<f32>(oc, fold1(r0, m));
        store<f32>(oc + oRow, fold1(m, r3));
      } else {
        q += rowStep;
        const r4 = fold1(fold1(load<f32>(q), load<f32>(q + pixelBytes)), load<f32>(q + p2));
        store<f32>(oc, fold1(fold1(r0, r1), r2));
        store<f32>(oc + oRow, fold1(fold1(r2, r3), r4));
      }
    }
  }
}

/** One output pixel, channels [c0, C), window rows [y0, y1) × columns [x0, x1) of image n; to yo. */
// @ts-ignore: decorator
@inline function maxPixel(
  x: usize, n: i32, H: i32, W: i32, C: i32, y0: i32, y1: i32, x0: i32, x1: i32, c0: i32, yo: usize,
): void {
  const pixelBytes = <usize>C << 2;
  // First tap: element offset of its pixel, and its address.
  const first = ((n * H + y0) * W + x0) * C;
  const p0 = x + (<usize>first << 2);
  const rowStep = <usize>W * pixelBytes;
  let c = c0;
  if (ASC_FEATURE_SIMD) {
    // f32x4.max is a long instruction sequence on x64 (NaN and ±0 rules) and a 9-tap chain
    // of it is latency-bound, so: pmax (one maxps; `m < v ? v : m` keeps the first of equal
    // values, as the argmax kernel does), and a running sum that turns NaN if the window
    // holds a NaN. A NaN sum can also come from +∞ + −∞ or overflow, so a block whose sum
    // is NaN is redone with exact per-tap NaN flags (rare inputs only).
    for (; c + 16 <= C; c += 16) {
      const cb = <usize>c << 2;
      let m0 = f32x4.splat(-Infinity), m1 = m0, m2 = m0, m3 = m0;
      let s0 = f32x4.splat(0), s1 = s0, s2 = s0, s3 = s0;
      let row = p0 + cb;
      for (let iy = y0; iy < y1; iy++) {
        let p = row;
        for (let ix = x0; ix < x1; ix++) {
          const v0 = v128.load(p), v1 = v128.load(p, 16), v2 = v128.load(p, 32), v3 = v128.load(p, 48);
          m0 = f32x4.pmax(m0, v0); s0 = f32x4.add(s0, v0);
          m1 = f32x4.pmax(m1, v1); s1 = f32x4.add(s1, v1);
          m2 = f32x4.pmax(m2, v2); s2 = f32x4.add(s2, v2);
          m3 = f32x4.pmax(m3, v3); s3 = f32x4.add(s3, v3);
          p += pixelBytes;
        }
        row += rowStep;
      }
      const o = yo + cb;
      const suspect = v128.or(v128.or(f32x4.ne(s0, s0), f32x4.ne(s1, s1)), v128.or(f32x4.ne(s2, s2), f32x4.ne(s3, s3)));
      if (v128.any_true(suspect)) {
        maxExact4(p0 + cb, y0, y1, x0, x1, rowStep, pixelBytes, o);
        maxExact4(p0 + cb + 16, y0, y1, x0, x1, rowStep, pixelBytes, o + 16);
        maxExact4(p0 + cb + 32, y0, y1, x0, x1, rowStep, pixelBytes, o + 32);
        maxExact4(p0 + cb + 48, y0, y1, x0, x1, rowStep, pixelBytes, o + 48);
      } else {
        v128.store(o, m0); v128.store(o, m1, 16); v128.store(o, m2, 32); v128.store(o, m3, 48);
      }
    }
    for (; c + 4 <= C; c += 4) {
      const cb = <usize>c << 2;
      maxExact4(p0 + cb, y0, y1, x0, x1, rowStep, pixelBytes, yo + cb);
    }
    if (c < C) {
      maxPartial(p0, first, c, C, y0, y1, x0, x1, rowStep, W * C, yo, 0);
      c = C;
    }
  }
  for (; c < C; c++) {
    const cb = <usize>c << 2;
    let m = load<f32>(p0 + cb);
    let row = p0 + cb;
    for (let iy = y0; iy < y1; iy++) {
      let p = row;
      for (let ix = x0; ix < x1; ix++) {
        // As the SIMD body: first of equal values, NaN wins.
        m = fold1(m, load<f32>(p));
        p += pixelBytes;
      }
      row += rowStep;
    }
    store<f32>(yo + cb, m);
  }
}
