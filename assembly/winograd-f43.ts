import { clampFast, clampf, madd } from './simd';

// Winograd F(4×4, 3×3) for 3×3 stride-1 convolutions: 36 multiplies per 4×4 output tile and
// channel pair instead of 144 (F(2×2): 64 per four 2×2 tiles). Interpolation points 0, 1, −1, 2,
// −2, ∞ (Lavin & Gray 2015); with d a 6-input row, g a 3-tap filter, y = Aᵀ·[(G·g) ⊙ (Bᵀ·d)]:
//
//        ⎡4  0 −5  0  1  0⎤        ⎡ 1/4    0     0  ⎤        ⎡1  1  1  1  1  0⎤
//        ⎢0 −4 −4  1  1  0⎥        ⎢−1/6  −1/6  −1/6 ⎥   Aᵀ = ⎢0  1 −1  2 −2  0⎥
//   Bᵀ = ⎢0  4 −4 −1  1  0⎥   G =  ⎢−1/6   1/6  −1/6 ⎥        ⎢0  1  1  4  4  0⎥
//        ⎢0 −2 −1  2  1  0⎥        ⎢1/24  1/12   1/6 ⎥        ⎣0  1 −1  8 −8  1⎦
//        ⎢0  2 −1 −2  1  0⎥        ⎢1/24 −1/12   1/6 ⎥
//        ⎣0  4  0 −5  0  1⎦        ⎣  0     0     1  ⎦
//
// Derivation (Toom-Cook at those points, transposed for correlation): row i of G evaluates the
// filter polynomial g0 + g1·t + g2·t² at p_i and divides by Π_{j≠i}(p_i − p_j) over the other
// finite points — [1, p, p²] / (4, −6, −6, 24, 24) for p = 0, 1, −1, 2, −2 — and the ∞ row takes
// its top coefficient; the columns of Aᵀ are [1, p, p², p³] (∞: [0, 0, 0, 1]); Bᵀ is then fixed by
// requiring y_k = Σ_r g_r·d_{k+r}. Checked against the direct 1-D correlation in float64 (max
// error 9e-16). In 2-D: U = G·g·Gᵀ (host, src/ops/pack.ts), V = Bᵀ·d·B and Y = Aᵀ·M·A here, each
// as two passes of the 1-D transform: columns into the 36 transformed planes, then rows in place —
// the planes of a tile are its own scratch, so no buffer is shared between threads.
// Transformed data layout as F(2×2): [ξ = 0..35][tile][channel], tiles ordered (n, ty, tx) from a
// sub-band's first.

/**
 * V[ξ][t − t0][c] for the 6×6 input tiles t = (n·TH + ty)·TW + tx in [t0, t1) (planes `plane` bytes
 * apart), starting at (4·ty − pt, 4·tx − pl); pixels outside the input read `zero` (≥ C zeros).
 * x NHWC [N, H, W, C].
 */
export function winograd_f43_input_transform(
  x: usize, plane: usize, H: i32, W: i32, C: i32, TH: i32, TW: i32, pt: i32, pl: i32, zero: usize, v: usize, t0: i32, t1: i32,
): void {
  const pixBytes = <usize>C << 2;
  let t: usize = 0;
  for (let g = t0; g < t1; g++) {
    const r = g / TW;
    const n = r / TH, iy0 = (r % TH) * 4 - pt;
    const base = x + <usize>n * <usize>H * <usize>W * pixBytes;
    {
      const tx = g - r * TW;
      const ix0 = tx * 4 - pl;
      const out = v + t * pixBytes;
      // Columns: plane 6i + j ← (Bᵀ·d)[i][j].
      for (let j = 0; j < 6; j++) {
        const ix = ix0 + j;
        const p0 = pix(base, iy0, ix, H, W, C, zero), p1 = pix(base, iy0 + 1, ix, H, W, C, zero), p2 = pix(base, iy0 + 2, ix, H, W, C, zero);
        const p3 = pix(base, iy0 + 3, ix, H, W, C, zero), p4 = pix(base, iy0 + 4, ix, H, W, C, zero), p5 = pix(base, iy0 + 5, ix, H, W, C, zero);
        transformB(p0, p1, p2, p3, p4, p5, out + <usize>j * plane, plane * 6, C);
      }
      // Rows, in place: plane 6i + j ← ((Bᵀ·d)·B)[i][j].
      for (let i = 0; i < 6; i++) {
        const q = out + <usize>(6 * i) * plane;
        transformB(q, q + plane, q + 2 * plane, q + 3 * plane, q + 4 * plane, q + 5 * plane, q, plane, C);
      }
      t++;
    }
  }
}

/**
 * Y = Aᵀ·M·A + bias for the tiles t in [t0, t1) (as the input transform): M[ξ][t − t0][c] (planes
 * `plane` bytes apart; C = Cout channels;
 * overwritten: the column pass runs in place; only channels [c0, c1) are done) → channels [0, C) of y NHWC [N, OH, OW, ys ≥ C], clamped to [ymin, ymax];
 * the parts of edge tiles beyond OH/OW are dropped. bias: C floats or 0.
 */
export function winograd_f43_output_transform(
  m: usize, plane: usize, OH: i32, OW: i32, C: i32, TH: i32, TW: i32, bias: usize, y: usize, ys: i32, ymin: f32, ymax: f32, t0: i32, t1: i32, c0: i32, c1: i32,
): void {
  const pixBytes = <usize>ys << 2;
  let t: usize = 0;
  for (let g = t0; g < t1; g++) {
    const r = g / TW;
    const n = r / TH, oy = (r % TH) * 4;
    const nrows = min(4, OH - oy);
    {
      const tx = g - r * TW;
      const ox = tx * 4;
      const ncols = min(4, OW - ox);
      const src = m + t * (<usize>C << 2);
      // Columns, in place: plane 6i + j ← (Aᵀ·M)[i][j], i < 4.
      for (let j = 0; j < 6; j++) {
        const q = src + <usize>j * plane;
        transformA(q, plane * 6, c0, c1, q, plane * 6, 4, bias, ymin, ymax, false);
      }
      // Rows: output pixel (oy + i, ox + j) ← ((Aᵀ·M)·A)[i][j] + bias, clamped.
      for (let i = 0; i < nrows; i++) {
        const yp = y + ((<usize>(n * OH + oy + i) * <usize>OW + <usize>ox) * pixBytes);
        transformA(src + <usize>(6 * i) * plane, plane, c0, c1, yp, pixBytes, ncols, bias, ymin, ymax, true);
      }
      t++;
    }
  }
}

/** Bᵀ·d for the six C-float rows at p0..p5, into out + i·step (i = 0..5). */
// @ts-ignore: decorator
@inline function transformB(p0: usize, p1: usize, p2: usize, p3: usize, p4: usize, p5: usize, out: usize, step: usize, C: i32): void {
  let c = 0;
  if (ASC_FEATURE_SIMD) {
    // Products by ±4 are exact, so the fused multiply-adds (relaxed build: 13 operations instead
    // of 18) round exactly as the scalar twin's separate multiply and add.
    const four = f32x4.splat(4), m4 = f32x4.splat(-4);
    for (; c + 4 <= C; c += 4) {
      const cb = <usize>c << 2;
      const d0 = v128.load(p0 + cb), d1 = v128.load(p1 + cb), d2 = v128.load(p2 + cb);
      const d3 = v128.load(p3 + cb), d4 = v128.load(p4 + cb), d5 = v128.load(p5 + cb);
      const a = madd(m4, d2, d4), b = madd(m4, d1, d3);
      const q = f32x4.sub(d3, d1), e = f32x4.sub(d4, d2), h = f32x4.add(q, q);
      const o = out + cb;
      v128.store(o, madd(four, f32x4.sub(d0, d2), e));
      v128.store(o + step, f32x4.add(a, b));
      v128.store(o + 2 * step, f32x4.sub(a, b));
      v128.store(o + 3 * step, f32x4.add(e, h));
      v128.store(o + 4 * step, f32x4.sub(e, h));
      v128.store(o + 5 * step, madd(m4, q, f32x4.sub(d5, d3)));
    }
  }
  for (; c < C; c++) {
    const cb = <usize>c << 2;
    const d0 = load<f32>(p0 + cb), d1 = load<f32>(p1 + cb), d2 = load<f32>(p2 + cb);
    const d3 = load<f32>(p3 + cb), d4 = load<f32>(p4 + cb), d5 = load<f32>(p5 + cb);
    const a: f32 = d4 - 4 * d2, b: f32 = d3 - 4 * d1, e: f32 = d4 - d2, h: f32 = (d3 - d1) * 2;
    const o = out + cb;
    store<f32>(o, 4 * (d0 - d2) + e);
    store<f32>(o + step, a + b);
    store<f32>(o + 2 * step, a - b);
    store<f32>(o + 3 * step, e + h);
    store<f32>(o + 4 * step, e - h);
    store<f32>(o + 5 * step, 4 * (d1 - d3) + (d5 - d3));
  }
}

/**
 * Aᵀ·m for channels [c0, c1) of the six rows at src + i·inStep → the first `count` of four outputs at
 * out + i·outStep; with `final`, plus bias (when nonzero; bias advances with the channel) and clamped.
 */
// @ts-ignore: decorator
@inline function transformA(
  src: usize, inStep: usize, c0: i32, c1: i32, out: usize, outStep: usize, count: i32, bias: usize, ymin: f32, ymax: f32, final: bool,
): void {
  let c = c0;
  if (ASC_FEATURE_SIMD) {
    const vmin = f32x4.splat(ymin), vmax = f32x4.splat(ymax);
    const two = f32x4.splat(2), four = f32x4.splat(4), eight = f32x4.splat(8);
    for (; c + 4 <= c1; c += 4) {
      const cb = <usize>c << 2;
      const s = src + cb;
      const m0 = v128.load(s), m1 = v128.load(s + inStep), m2 = v128.load(s + 2 * inStep);
      const m3 = v128.load(s + 3 * inStep), m4 = v128.load(s + 4 * inStep), m5 = v128.load(s + 5 * inStep);
      const s1 = f32x4.add(m1, m2), d1 = f32x4.sub(m1, m2), s2 = f32x4.add(m3, m4), d2 = f32x4.sub(m3, m4);
      let y0 = f32x4.add(f32x4.add(m0, s1), s2);
      let y1 = madd(two, d2, d1);
      let y2 = madd(four, s2, s1);
      let y3 = f32x4.add(madd(eight, d2, d1), m5);
      const o = out + cb;
      if (final) {
        const b = bias != 0 ? v128.load(bias + cb) : f32x4.splat(0);
        y0 = clampFast(f32x4.add(y0, b), vmin, vmax); y1 = clampFast(f32x4.add(y1, b), vmin, vmax);
        y2 = clampFast(f32x4.add(y2, b), vmin, vmax); y3 = clampFast(f32x4.add(y3, b), vmin, vmax);
      }
      v128.store(o, y0);
      if (count > 1) v128.store(o + outStep, y1);
      if (count > 2) v128.store(o + 2 * outStep, y2);
      if (count > 3) v128.store(o + 3 * outStep, y3);
    }
  }
  for (; c < c1; c++) {
    const cb = <usize>c << 2;
    const s = src + cb;
    const m0 = load<f32>(s), m1 = load<f32>(s + inStep), m2 = load<f32>(s + 2 * inStep);
    const m3 = load<f32>(s + 3 * inStep), m4 = load<f32>(s + 4 * inStep), m5 = load<f32>(s + 5 * inStep);
    const s1 = m1 + m2, d1 = m1 - m2, s2 = m3 + m4, d2 = m3 - m4;
    let y0 = m0 + s1 + s2, y1 = d1 + 2 * d2, y2 = s1 + 4 * s2, y3 = d1 + 8 * d2 + m5;
    const o = out + cb;
    if (final) {
      const b: f32 = bias != 0 ? load<f32>(bias + cb) : 0;
      y0 = clampf(y0 + b, ymin, ymax); y1 = clampf(y1 + b, ymin, ymax);
      y2 = clampf(y2 + b, ymin, ymax); y3 = clampf(y3 + b, ymin, ymax);
    }
    store<f32>(o, y0);
    if (count > 1) store<f32>(o + outStep, y1);
    if (count > 2) store<f32>(o + 2 * outStep, y2);
    if (count > 3) store<f32>(o + 3 * outStep, y3);
  }
}

// @ts-ignore: decorator
@inline function pix(base: usize, iy: i32, ix: i32, H: i32, W: i32, C: i32, zero: usize): usize {
  return select<usize>(base + ((<usize>iy * <usize>W + <usize>ix) * (<usize>C << 2)), zero, <u32>iy < <u32>H && <u32>ix < <u32>W);
}
