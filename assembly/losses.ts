import { exp1, exp4, hsum, ln1, ln4, rowMax } from './math';

// Loss kernels: value and gradient in one pass over rows (or one flat run), SIMD over the class /
// feature axis with a scalar tail that also serves the scalar build. Each kernel returns the
// unscaled sum of the per-row (per-element) losses as f64, accumulated in f64 row by row (flat
// kernels flush an f32x4 partial sum every BLOCK elements), and, when the gradient pointer is
// not 0, writes every element of the gradient already multiplied by `scale` (1/N for a mean).
// The host validates shapes and labels; kernels assume them.
//
// exp, log, hsum and rowMax come from assembly/math.ts (the one math library of the kernels):
// every vector helper there has a scalar twin doing the same f32 operations in the same order,
// so an element's gradient is bit-identical in the SIMD body, the scalar tail and the scalar build.

/** Elements summed in f32 lanes before the partial sum is flushed to the f64 total. */
const BLOCK: i32 = 256;

// ---- row helpers ----

/** First index of the largest of n ≥ 1 floats at p (a NaN counts as the largest, as in numpy). */
function rowArgmax(p: usize, n: i32): i32 {
  const m = rowMax(p, n);
  let c = 0;
  if (ASC_FEATURE_SIMD) {
    const vm = f32x4.splat(m);
    for (; c + 4 <= n; c += 4) {
      const v = v128.load(p + (<usize>c << 2));
      const hit = i32x4.bitmask(v128.or(f32x4.eq(v, vm), f32x4.ne(v, v)));
      if (hit != 0) return c + ctz(hit);
    }
  }
  for (; c < n; c++) {
    const v = load<f32>(p + (<usize>c << 2));
    if (v == m || v != v) return c;
  }
  return 0;
}

// ---- kernels ----

/**
 * Softmax cross-entropy over rows of K logits at x. Targets: int labels (labels ≠ 0, [rows] i32)
 * or probability rows (target, [rows][K] f32), smoothed to (1 − ε)·t + ε/K. Row loss
 * Σ_j t_j·(lse − x_j) with lse = m + log Σ exp(x − m), m the row max; dx = scale·(softmax·Σt − t).
 */
export function softmax_cross_entropy_f32(
  x: usize, labels: usize, target: usize, rows: i32, K: i32, smoothing: f32, scale: f32, dx: usize,
): f64 {
  const rowBytes = <usize>K << 2;
  const share: f32 = smoothing / <f32>K; // ε/K
  const keep: f32 = 1 - smoothing;
  let total: f64 = 0;
  for (let r = 0; r < rows; r++) {
    const xr = x + <usize>r * rowBytes;
    const tr = target + <usize>r * rowBytes;
    const gr = dx + <usize>r * rowBytes;
    const m = rowMax(xr, K);
    // s = Σ e^(x−m) (e stored in dx when a gradient is wanted), d = Σ (x − m),
    // st = Σ t, std = Σ t·(x − m) (probability targets only).
    let s: f32 = 0, d: f32 = 0, st: f32 = 0, std: f32 = 0;
    let c = 0;
    if (ASC_FEATURE_SIMD) {
      const vm = f32x4.splat(m);
      let vs = f32x4.splat(0), vd = vs, vst = vs, vstd = vs;
      for (; c + 4 <= K; c += 4) {
        const o = <usize>c << 2;
        const xm = f32x4.sub(v128.load(xr + o), vm);
        const e = exp4(xm);
        if (dx != 0) v128.store(gr + o, e);
        vs = f32x4.add(vs, e);
        vd = f32x4.add(vd, xm);
        if (labels == 0) {
          const t = v128.load(tr + o);
          vst = f32x4.add(vst, t);
          vstd = f32x4.add(vstd, f32x4.mul(t, xm));
        }
      }
      s = hsum(vs); d = hsum(vd); st = hsum(vst); std = hsum(vstd);
    }
    for (; c < K; c++) {
      const o = <usize>c << 2;
      const xm = load<f32>(xr + o) - m;
      const e = exp1(xm);
      if (dx != 0) store<f32>(gr + o, e);
      s += e;
      d += xm;
      if (labels == 0) {
        const t = load<f32>(tr + o);
        st += t;
        std += t * xm;
      }
    }
    let y = 0;
    if (labels != 0) {
      y = load<i32>(labels + (<usize>r << 2));
      st = 1;
      std = load<f32>(xr + (<usize>y << 2)) - m;
    }
    // Smoothed: Σt' = (1−ε)·Σt + ε, Σt'(x−m) = (1−ε)·Σt(x−m) + ε/K·Σ(x−m).
    const st2 = keep * st + smoothing;
    const std2 = keep * std + share * d;
    total += <f64>st2 * <f64>ln1(s) - <f64>std2;
    if (dx == 0) continue;
    const coef = st2 / s;
    const ey = labels != 0 ? load<f32>(gr + (<usize>y << 2)) : 0;
    c = 0;
    if (ASC_FEATURE_SIMD) {
      const vc = f32x4.splat(coef), vk = f32x4.splat(keep), vsh = f32x4.splat(share), vsc = f32x4.splat(scale);
      for (; c + 4 <= K; c += 4) {
        const o = <usize>c << 2;
        const t = labels != 0 ? vsh : f32x4.add(f32x4.mul(vk, v128.load(tr + o)), vsh);
        v128.store(gr + o, f32x4.mul(f32x4.sub(f32x4.mul(v128.load(gr + o), vc), t), vsc));
      }
    }
    for (; c < K; c++) {
      const o = <usize>c << 2;
      const t: f32 = labels != 0 ? share : keep * load<f32>(tr + o) + share;
      store<f32>(gr + o, (load<f32>(gr + o) * coef - t) * scale);
    }
    if (labels != 0) store<f32>(gr + (<usize>y << 2), (ey * coef - (keep + share)) * scale);
  }
  return total;
}

/**
 * Multi-class hinge (Weston–Watkins): row loss Σ_{j≠y} max(0, x_j − x_y + margin)^p, p = 1 or 2,
 * labels [rows] i32. dx_j = scale·(p = 1 ? [h_j > 0] : 2·h_j) for j ≠ y, dx_y = −Σ_{j≠y} dx_j
 * (at exactly the margin, h = 0, the subgradient 0 is taken).
 */
export function hinge_multiclass_f32(
  x: usize, labels: usize, rows: i32, K: i32, p: i32, margin: f32, scale: f32, dx: usize,
): f64 {
  const rowBytes = <usize>K << 2;
  let total: f64 = 0;
  for (let r = 0; r < rows; r++) {
    const xr = x + <usize>r * rowBytes;
    const gr = dx + <usize>r * rowBytes;
    const y = load<i32>(labels + (<usize>r << 2));
    const shift: f32 = margin - load<f32>(xr + (<usize>y << 2));
    let loss: f32 = 0, gsum: f32 = 0;
    let c = 0;
    if (ASC_FEATURE_SIMD) {
      const vshift = f32x4.splat(shift), vy = i32x4.splat(y), vsc = f32x4.splat(scale), zero = f32x4.splat(0);
      let idx = i32x4(0, 1, 2, 3);
      let vl = zero, vg = zero;
      for (; c + 4 <= K; c += 4) {
        const o = <usize>c << 2;
        const other = i32x4.ne(idx, vy);
        const h = v128.and(f32x4.max(f32x4.add(v128.load(xr + o), vshift), zero), other);
        const g = p == 1 ? v128.and(f32x4.gt(h, zero), f32x4.splat(1)) : f32x4.mul(h, f32x4.splat(2));
        vl = f32x4.add(vl, p == 1 ? h : f32x4.mul(h, h));
        vg = f32x4.add(vg, g);
        if (dx != 0) v128.store(gr + o, f32x4.mul(g, vsc));
        idx = i32x4.add(idx, i32x4.splat(4));
      }
      loss = hsum(vl); gsum = hsum(vg);
    }
    for (; c < K; c++) {
      const o = <usize>c << 2;
      const h: f32 = c == y ? 0 : max(load<f32>(xr + o) + shift, <f32>0);
      const g: f32 = p == 1 ? (h > 0 ? 1 : 0) : h * 2;
      loss += p == 1 ? h : h * h;
      gsum += g;
      if (dx != 0) store<f32>(gr + o, g * scale);
    }
    total += <f64>loss;
    if (dx != 0) store<f32>(gr + (<usize>y << 2), -gsum * scale);
  }
  return total;
}

/**
 * Contrastive loss (Hadsell et al. without their ½): with d = ‖a − b‖₂ per row, row loss
 * same·d² + (1 − same)·max(0, margin − d)². same: [rows] f32 (sameInt = 0) or i32 (sameInt = 1).
 * da = scale·c·(a − b), db = −da, c = 2·same − 2·(1 − same)·max(0, margin − d)/d, and the second
 * term taken as 0 at d = 0 (a == b: every direction is a subgradient; 0 is the one without NaN).
 * da and db are both written or both skipped (da = 0).
 */
export function contrastive_f32(
  a: usize, b: usize, same: usize, sameInt: i32, rows: i32, D: i32, margin: f32, scale: f32, da: usize, db: usize,
): f64 {
  const rowBytes = <usize>D << 2;
  let total: f64 = 0;
  for (let r = 0; r < rows; r++) {
    const o0 = <usize>r * rowBytes;
    const ar = a + o0, br = b + o0;
    let d2: f32 = 0;
    let c = 0;
    if (ASC_FEATURE_SIMD) {
      let acc = f32x4.splat(0);
      for (; c + 4 <= D; c += 4) {
        const o = <usize>c << 2;
        const v = f32x4.sub(v128.load(ar + o), v128.load(br + o));
        acc = f32x4.add(acc, f32x4.mul(v, v));
      }
      d2 = hsum(acc);
    }
    for (; c < D; c++) {
      const o = <usize>c << 2;
      const v = load<f32>(ar + o) - load<f32>(br + o);
      d2 += v * v;
    }
    const y: f64 = sameInt != 0 ? <f64>load<i32>(same + (<usize>r << 2)) : <f64>load<f32>(same + (<usize>r << 2));
    const d = Math.sqrt(<f64>d2);
    const gap = Math.max(<f64>margin - d, 0);
    total += y * <f64>d2 + (1 - y) * gap * gap;
    if (da == 0) continue;
    const k = <f32>((2 * y - (d > 0 ? 2 * (1 - y) * gap / d : 0)) * <f64>scale);
    const dar = da + o0, dbr = db + o0;
    c = 0;
    if (ASC_FEATURE_SIMD) {
      const vk = f32x4.splat(k);
      for (; c + 4 <= D; c += 4) {
        const o = <usize>c << 2;
        const g = f32x4.mul(f32x4.sub(v128.load(ar + o), v128.load(br + o)), vk);
        v128.store(dar + o, g);
        v128.store(dbr + o, f32x4.neg(g));
      }
    }
    for (; c < D; c++) {
      const o = <usize>c << 2;
      const g = (load<f32>(ar + o) - load<f32>(br + o)) * k;
      store<f32>(dar + o, g);
      store<f32>(dbr + o, -g);
    }
  }
  return total;
}

/**
 * Triplet loss (FaceNet, squared distances): row loss max(0, ‖a − p‖² − ‖a − n‖² + margin).
 * Active rows: da = 2·scale·(n − p), dp = 2·scale·(p − a), dn = 2·scale·(a − n); inactive rows
 * (including exactly 0) get zeros. da, dp, dn all written or all skipped (da = 0).
 */
export function triplet_f32(
  a: usize, p: usize, n: usize, rows: i32, D: i32, margin: f32, scale: f32, da: usize, dp: usize, dn: usize,
): f64 {
  const rowBytes = <usize>D << 2;
  let total: f64 = 0;
  for (let r = 0; r < rows; r++) {
    const o0 = <usize>r * rowBytes;
    const ar = a + o0, pr = p + o0, nr = n + o0;
    let dap: f32 = 0, dan: f32 = 0;
    let c = 0;
    if (ASC_FEATURE_SIMD) {
      let accp = f32x4.splat(0), accn = accp;
      for (; c + 4 <= D; c += 4) {
        const o = <usize>c << 2;
        const va = v128.load(ar + o);
        const u = f32x4.sub(va, v128.load(pr + o));
        const v = f32x4.sub(va, v128.load(nr + o));
        accp = f32x4.add(accp, f32x4.mul(u, u));
        accn = f32x4.add(accn, f32x4.mul(v, v));
      }
      dap = hsum(accp); dan = hsum(accn);
    }
    for (; c < D; c++) {
      const o = <usize>c << 2;
      const va = load<f32>(ar + o);
      const u = va - load<f32>(pr + o);
      const v = va - load<f32>(nr + o);
      dap += u * u;
      dan += v * v;
    }
    const l = <f64>dap - <f64>dan + <f64>margin;
    const active = l > 0;
    if (active) total += l;
    if (da == 0) continue;
    const k: f32 = active ? scale * 2 : 0;
    const dar = da + o0, dpr = dp + o0, dnr = dn + o0;
    c = 0;
    if (ASC_FEATURE_SIMD) {
      const vk = f32x4.splat(k);
      for (; c + 4 <= D; c += 4) {
        const o = <usize>c << 2;
        const va = v128.load(ar + o), vp = v128.load(pr + o), vn = v128.load(nr + o);
        v128.store(dar + o, f32x4.mul(f32x4.sub(vn, vp), vk));
        v128.store(dpr + o, f32x4.mul(f32x4.sub(vp, va), vk));
        v128.store(dnr + o, f32x4.mul(f32x4.sub(va, vn), vk));
      }
    }
    for (; c < D; c++) {
      const o = <usize>c << 2;
      const va = load<f32>(ar + o), vp = load<f32>(pr + o), vn = load<f32>(nr + o);
      store<f32>(dar + o, (vn - vp) * k);
      store<f32>(dpr + o, (vp - va) * k);
      store<f32>(dnr + o, (va - vn) * k);
    }
  }
  return total;
}

/**
 * KL divergence of prediction q from target p, both probabilities, over n elements:
 * Σ p·(log p − log q) with 0·log 0 = 0 (terms with p = 0 contribute 0, whatever q).
 * dq = −scale·p/q, and 0 where p = 0.
 */
export function kl_divergence_f32(p: usize, q: usize, n: i32, scale: f32, dq: usize): f64 {
  let total: f64 = 0;
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const zero = f32x4.splat(0), vneg = f32x4.splat(-scale);
    const n4 = n & ~3;
    while (i < n4) {
      const end = min(i + BLOCK, n4);
      let acc = zero;
      for (; i < end; i += 4) {
        const o = <usize>i << 2;
        const vp = v128.load(p + o), vq = v128.load(q + o);
        const nz = f32x4.ne(vp, zero); // NaN p stays in (and propagates)
        acc = f32x4.add(acc, v128.and(f32x4.mul(vp, f32x4.sub(ln4(vp), ln4(vq))), nz));
        if (dq != 0) v128.store(dq + o, v128.and(f32x4.div(f32x4.mul(vp, vneg), vq), nz));
      }
      total += <f64>hsum(acc);
    }
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const vp = load<f32>(p + o), vq = load<f32>(q + o);
    const nz = vp != 0;
    if (nz) total += <f64>(vp * (ln1(vp) - ln1(vq)));
    if (dq != 0) store<f32>(dq + o, nz ? (vp * -scale) / vq : 0);
  }
  return total;
}

/** Squared error over n elements: Σ (x − t)²; dx = 2·scale·(x − t). */
export function squared_error_f32(x: usize, t: usize, n: i32, scale: f32, dx: usize): f64 {
  let total: f64 = 0;
  const k: f32 = scale * 2;
  let i = 0;
  if (ASC_FEATURE_SIMD) {
    const vk = f32x4.splat(k);
    const n4 = n & ~3;
    while (i < n4) {
      const end = min(i + BLOCK, n4);
      let acc = f32x4.splat(0);
      for (; i < end; i += 4) {
        const o = <usize>i << 2;
        const v = f32x4.sub(v128.load(x + o), v128.load(t + o));
        acc = f32x4.add(acc, f32x4.mul(v, v));
        if (dx != 0) v128.store(dx + o, f32x4.mul(v, vk));
      }
      total += <f64>hsum(acc);
    }
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const v = load<f32>(x + o) - load<f32>(t + o);
    total += <f64>(v * v);
    if (dx != 0) store<f32>(dx + o, v * k);
  }
  return total;
}

/**
 * Rows of K scores at x whose argmax (first on ties) equals the label: labels [rows] i32 if
 * labels ≠ 0, else the argmax of the target row ([rows][K] f32).
 */
export function argmax_hits_f32(x: usize, labels: usize, target: usize, rows: i32, K: i32): i32 {
  const rowBytes = <usize>K << 2;
  let hits = 0;
  for (let r = 0; r < rows; r++) {
    const want = labels != 0 ? load<i32>(labels + (<usize>r << 2)) : rowArgmax(target + <usize>r * rowBytes, K);
    if (rowArgmax(x + <usize>r * rowBytes, K) == want) hits++;
  }
  return hits;
}
