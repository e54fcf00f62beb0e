import { clampFast, clampf } from './simd';

// Winograd F(2×2, 3×3) for 3×3 stride-1 convolutions: 16 multiplies per 2×2 output tile and
// channel pair instead of 36. The host transforms the filters once (U = G·g·Gᵀ, packed for the
// GEMM), this file transforms input tiles (V = Bᵀ·d·B) and output tiles (Y = Aᵀ·M·A), and the 16
// products M[ξ] = V[ξ]·U[ξ] run on the packed 4×8 GEMM (assembly/gemm/igemm.ts).
// Transformed data layout: [ξ = 0..15][tile][channel], tiles ordered (n, ty, tx) from a sub-band's
// first: a sub-band's planes are `plane` bytes apart, so one small buffer per thread, reused by every
// sub-band, stays in cache (planes over the whole map were written to lines long evicted).

/**
 * V[ξ][t − t0][c] for the 4×4 input tiles t = (n·TH + ty)·TW + tx in [t0, t1) (planes `plane` bytes apart), starting at
 * (2·ty − pt, 2·tx − pl); rows or columns outside the input read `zero` (≥ C zeros). C channels, x NHWC [N, H, W, C].
 */
export function winograd_f23_input_transform(
  x: usize, plane: usize, H: i32, W: i32, C: i32, TH: i32, TW: i32, pt: i32, pl: i32, zero: usize, v: usize, t0: i32, t1: i32,
): void {
  const planeBytes = <usize>plane;
  const rowBytes = <usize>W * (<usize>C << 2);
  let t: usize = 0;
  for (let g = t0; g < t1; g++) {
    const r = g / TW;
    const n = r / TH, ty = r % TH;
    {
      const iy0 = ty * 2 - pt;
      {
      const tx = g - r * TW;
        const ix0 = tx * 2 - pl;
        // The 16 input pixel addresses of this tile (zero row where outside).
        const base = x + <usize>n * <usize>H * rowBytes;
        const p00 = pix(base, iy0, ix0, H, W, C, zero), p01 = pix(base, iy0, ix0 + 1, H, W, C, zero), p02 = pix(base, iy0, ix0 + 2, H, W, C, zero), p03 = pix(base, iy0, ix0 + 3, H, W, C, zero);
        const p10 = pix(base, iy0 + 1, ix0, H, W, C, zero), p11 = pix(base, iy0 + 1, ix0 + 1, H, W, C, zero), p12 = pix(base, iy0 + 1, ix0 + 2, H, W, C, zero), p13 = pix(base, iy0 + 1, ix0 + 3, H, W, C, zero);
        const p20 = pix(base, iy0 + 2, ix0, H, W, C, zero), p21 = pix(base, iy0 + 2, ix0 + 1, H, W, C, zero), p22 = pix(base, iy0 + 2, ix0 + 2, H, W, C, zero), p23 = pix(base, iy0 + 2, ix0 + 3, H, W, C, zero);
        const p30 = pix(base, iy0 + 3, ix0, H, W, C, zero), p31 = pix(base, iy0 + 3, ix0 + 1, H, W, C, zero), p32 = pix(base, iy0 + 3, ix0 + 2, H, W, C, zero), p33 = pix(base, iy0 + 3, ix0 + 3, H, W, C, zero);
        const out = v + t * (<usize>C << 2);
        let c = 0;
        if (ASC_FEATURE_SIMD) {
          for (; c + 4 <= C; c += 4) {
            const cb = <usize>c << 2;
            // Columns of Bᵀ·d.
            const a0 = v128.load(p00 + cb), a1 = v128.load(p10 + cb), a2 = v128.load(p20 + cb), a3 = v128.load(p30 + cb);
            const b0 = v128.load(p01 + cb), b1 = v128.load(p11 + cb), b2 = v128.load(p21 + cb), b3 = v128.load(p31 + cb);
            const c0 = v128.load(p02 + cb), c1 = v128.load(p12 + cb), c2 = v128.load(p22 + cb), c3 = v128.load(p32 + cb);
            const d0 = v128.load(p03 + cb), d1 = v128.load(p13 + cb), d2 = v128.load(p23 + cb), d3 = v128.load(p33 + cb);
            // Row i of Bᵀ·d, column j: t[i][j].
            const t00 = f32x4.sub(a0, a2), t10 = f32x4.add(a1, a2), t20 = f32x4.sub(a2, a1), t30 = f32x4.sub(a1, a3);
            const t01 = f32x4.sub(b0, b2), t11 = f32x4.add(b1, b2), t21 = f32x4.sub(b2, b1), t31 = f32x4.sub(b1, b3);
            const t02 = f32x4.sub(c0, c2), t12 = f32x4.add(c1, c2), t22 = f32x4.sub(c2, c1), t32 = f32x4.sub(c1, c3);
            const t03 = f32x4.sub(d0, d2), t13 = f32x4.add(d1, d2), t23 = f32x4.sub(d2, d1), t33 = f32x4.sub(d1, d3);
            const o = out + cb;
            storeRow4(o, planeBytes, 0, t00, t01, t02, t03);
            storeRow4(o, planeBytes, 4, t10, t11, t12, t13);
            storeRow4(o, planeBytes, 8, t20, t21, t22, t23);
            storeRow4(o, planeBytes, 12, t30, t31, t32, t33);
          }
        }
        for (; c < C; c++) {
          const cb = <usize>c << 2;
          const a0 = load<f32>(p00 + cb), a1 = load<f32>(p10 + cb), a2 = load<f32>(p20 + cb), a3 = load<f32>(p30 + cb);
          const b0 = load<f32>(p01 + cb), b1 = load<f32>(p11 + cb), b2 = load<f32>(p21 + cb), b3 = load<f32>(p31 + cb);
          const c0 = load<f32>(p02 + cb), c1 = load<f32>(p12 + cb), c2 = load<f32>(p22 + cb), c3 = load<f32>(p32 + cb);
          const d0 = load<f32>(p03 + cb), d1 = load<f32>(p13 + cb), d2 = load<f32>(p23 + cb), d3 = load<f32>(p33 + cb);
          const o = out + cb;
          storeRow4s(o, planeBytes, 0, a0 - a2, b0 - b2, c0 - c2, d0 - d2);
          storeRow4s(o, planeBytes, 4, a1 + a2, b1 + b2, c1 + c2, d1 + d2);
          storeRow4s(o, planeBytes, 8, a2 - a1, b2 - b1, c2 - c1, d2 - d1);
          storeRow4s(o, planeBytes, 12, a1 - a3, b1 - b3, c1 - c3, d1 - d3);
        }
        t++;
      }
    }
  }
}

/**
 * Y = Aᵀ·M·A + bias for the tiles t in [t0, t1) (as the input transform): M[ξ][t − t0][c] (planes `plane` bytes apart; Cout channels) → y NHWC [N, OH, OW, ys ≥ Cout]
 * (channels [0, Cout) of each pixel; only channels [c0, c1) are done), clamped to [ymin, ymax]; the parts of edge tiles beyond
 * OH/OW are dropped. bias: Cout floats or 0.
 */
export function winograd_f23_output_transform(
  m: usize, plane: usize, OH: i32, OW: i32, C: i32, TH: i32, TW: i32, bias: usize, y: usize, ys: i32, ymin: f32, ymax: f32, t0: i32, t1: i32, c0: i32, c1: i32,
): void {
  const planeBytes = <usize>plane;
  const pixBytes = <usize>ys << 2;
  let t: usize = 0;
  for (let g = t0; g < t1; g++) {
    const r = g / TW;
    const n = r / TH, ty = r % TH;
    {
      const oy = ty * 2;
      const twoRows = oy + 1 < OH;
      {
      const tx = g - r * TW;
        const ox = tx * 2;
        const twoCols = ox + 1 < OW;
        const y00 = y + ((<usize>(n * OH + oy) * <usize>OW + <usize>ox) * pixBytes);
        const y10 = y00 + <usize>OW * pixBytes;
        const src = m + t * (<usize>C << 2);
        let c = c0;
        if (ASC_FEATURE_SIMD) {
          const vmin = f32x4.splat(ymin), vmax = f32x4.splat(ymax);
          for (; c + 4 <= c1; c += 4) {
            const cb = <usize>c << 2;
            const s = src + cb;
            const m0 = v128.load(s), m1 = v128.load(s + planeBytes), m2 = v128.load(s + 2 * planeBytes), m3 = v128.load(s + 3 * planeBytes);
            const m4 = v128.load(s + 4 * planeBytes), m5 = v128.load(s + 5 * planeBytes), m6 = v128.load(s + 6 * planeBytes), m7 = v128.load(s + 7 * planeBytes);
            const m8 = v128.load(s + 8 * planeBytes), m9 = v128.load(s + 9 * planeBytes), m10 = v128.load(s + 10 * planeBytes), m11 = v128.load(s + 11 * planeBytes);
            const m12 = v128.load(s + 12 * planeBytes), m13 = v128.load(s + 13 * planeBytes), m14 = v128.load(s + 14 * planeBytes), m15 = v128.load(s + 15 * planeBytes);
            // Aᵀ·M (rows 0 and 1), column j.
            const r00 = f32x4.add(f32x4.add(m0, m4), m8), r01 = f32x4.add(f32x4.add(m1, m5), m9);
            const r02 = f32x4.add(f32x4.add(m2, m6), m10), r03 = f32x4.add(f32x4.add(m3, m7), m11);
            const r10 = f32x4.sub(f32x4.sub(m4, m8), m12), r11 = f32x4.sub(f32x4.sub(m5, m9), m13);
            const r12 = f32x4.sub(f32x4.sub(m6, m10), m14), r13 = f32x4.sub(f32x4.sub(m7, m11), m15);
            const b = bias != 0 ? v128.load(bias + cb) : f32x4.splat(0);
            v128.store(y00 + cb, clampFast(f32x4.add(f32x4.add(f32x4.add(r00, r01), r02), b), vmin, vmax));
            if (twoCols) v128.store(y00 + pixBytes + cb, clampFast(f32x4.add(f32x4.sub(f32x4.sub(r01, r02), r03), b), vmin, vmax));
            if (twoRows) {
              v128.store(y10 + cb, clampFast(f32x4.add(f32x4.add(f32x4.add(r10, r11), r12), b), vmin, vmax));
              if (twoCols) v128.store(y10 + pixBytes + cb, clampFast(f32x4.add(f32x4.sub(f32x4.sub(r11, r12), r13), b), vmin, vmax));
            }
          }
        }
        for (; c < c1; c++) {
          const cb = <usize>c << 2;
          const s = src + cb;
          const m0 = load<f32>(s), m1 = load<f32>(s + planeBytes), m2 = load<f32>(s + 2 * planeBytes), m3 = load<f32>(s + 3 * planeBytes);
          const m4 = load<f32>(s + 4 * planeBytes), m5 = load<f32>(s + 5 * planeBytes), m6 = load<f32>(s + 6 * planeBytes), m7 = load<f32>(s + 7 * planeBytes);
          const m8 = load<f32>(s + 8 * planeBytes), m9 = load<f32>(s + 9 * planeBytes), m10 = load<f32>(s + 10 * planeBytes), m11 = load<f32>(s + 11 * planeBytes);
          const m12 = load<f32>(s + 12 * planeBytes), m13 = load<f32>(s + 13 * planeBytes), m14 = load<f32>(s + 14 * planeBytes), m15 = load<f32>(s + 15 * planeBytes);
          const r00 = m0 + m4 + m8, r01 = m1 + m5 + m9, r02 = m2 + m6 + m10, r03 = m3 + m7 + m11;
          const r10 = m4 - m8 - m12, r11 = m5 - m9 - m13, r12 = m6 - m10 - m14, r13 = m7 - m11 - m15;
          const b: f32 = bias != 0 ? load<f32>(bias + cb) : 0;
          store<f32>(y00 + cb, clampf(r00 + r01 + r02 + b, ymin, ymax));
          if (twoCols) store<f32>(y00 + pixBytes + cb, clampf(r01 - r02 - r03 + b, ymin, ymax));
          if (twoRows) {
            store<f32>(y10 + cb, clampf(r10 + r11 + r12 + b, ymin, ymax));
            if (twoCols) store<f32>(y10 + pixBytes + cb, clampf(r11 - r12 - r13 + b, ymin, ymax));
          }
        }
        t++;
      }
    }
  }
}

// @ts-ignore: decorator
@inline function pix(base: usize, iy: i32, ix: i32, H: i32, W: i32, C: i32, zero: usize): usize {
  return select<usize>(base + ((<usize>iy * <usize>W + <usize>ix) * (<usize>C << 2)), zero, <u32>iy < <u32>H && <u32>ix < <u32>W);
}

// @ts-ignore: decorator
@inline function storeRow4(o: usize, plane: usize, xi: i32, a: v128, b: v128, c: v128, d: v128): void {
  // Row i of (Bᵀ·d)·B: [a − c, b + c, c − b, b − d] → planes xi..xi+3.
  const p = o + <usize>xi * plane;
  v128.store(p, f32x4.sub(a, c));
  v128.store(p + plane, f32x4.add(b, c));
  v128.store(p + 2 * plane, f32x4.sub(c, b));
  v128.store(p + 3 * plane, f32x4.sub(b, d));
}

// @ts-ignore: decorator
@inline function storeRow4s(o: usize, plane: usize, xi: i32, a: f32, b: f32, c: f32, d: f32): void {
  const p = o + <usize>xi * plane;
  store<f32>(p, a - c);
  store<f32>(p + plane, b + c);
  store<f32>(p + 2 * plane, c - b);
  store<f32>(p + 3 * plane, b - d);
}
