// Gradients of the pooling kernels (assembly/pool.ts), NHWC float32, SIMD across channels.
//
// Windows come from the same host-built table as the forward (win: i32 [OH][3] rows then [OW][3]
// columns, entry = [start, end, count]; see assembly/pool.ts), so every gradient visits exactly
// the taps its forward read and divides by the same count. Each kernel first zeroes dx, then
// walks the outputs in order and scatter-adds into dx (overlapping windows accumulate, in output
// order). The SIMD blocks (4 channels) and the scalar tail perform the same f32 operations in
// the same order, so a channel's result does not depend on its position.

import { takesMax1, takesMax4 } from './math';
import { fill_f32 } from './memory';

const ROW: usize = 12; // bytes per table entry: [start, end, count] as i32

// Forward's max rule: math.ts' takesMax (ties keep the earlier tap; the first NaN wins).

/** dx[idx lane k] += v lane k, lane by lane (lanes may not be contiguous). */
// @ts-ignore: decorator
@inline function scatterAdd(dx: usize, idx: v128, v: v128): void {
  let p = dx + (<usize>i32x4.extract_lane(idx, 0) << 2);
  store<f32>(p, load<f32>(p) + f32x4.extract_lane(v, 0));
  p = dx + (<usize>i32x4.extract_lane(idx, 1) << 2);
  store<f32>(p, load<f32>(p) + f32x4.extract_lane(v, 1));
  p = dx + (<usize>i32x4.extract_lane(idx, 2) << 2);
  store<f32>(p, load<f32>(p) + f32x4.extract_lane(v, 2));
  p = dx + (<usize>i32x4.extract_lane(idx, 3) << 2);
  store<f32>(p, load<f32>(p) + f32x4.extract_lane(v, 3));
}

/**
 * Max-pooling gradient by the recorded argmax: dx [N·HWC] = 0, then dx[indices[i]] += dy[i] for
 * every i of dy / indices [N, P, C] (P = OH·OW output pixels; HWC = H·W·C per image). Every index
 * is first checked to be an offset into its own image and channel: idx − (n·HWC + c) in [0, HWC)
 * and a multiple of C. On the first bad one the kernel stops (dx partly written, nothing outside
 * it touched) and returns its position in dy; otherwise −1. Images [n0, n1) only (a thread's tile:
 * images are independent); the result is also stored at `status` (if not 0).
 */
export function maxpool2d_grad_nhwc_f32(dy: usize, indices: usize, P: i32, C: i32, HWC: i32, dx: usize, n0: i32, n1: i32, status: usize): i32 {
  const r = maxpoolGrad(dy, indices, P, C, HWC, dx, n0, n1);
  if (status) store<i32>(status, r);
  return r;
}

function maxpoolGrad(dy: usize, indices: usize, P: i32, C: i32, HWC: i32, dx: usize, n0: i32, n1: i32): i32 {
  fill_f32(dx + (<usize>n0 * <usize>HWC << 2), (n1 - n0) * HWC, 0);
  if (n1 <= n0 || P == 0 || C == 0) return -1;
  // rel is a multiple of C = C0·2^k (C0 odd) ⇔ rotr(rel·C0⁻¹ mod 2³², k) ≤ ⌊(2³² − 1)/C⌋
  // (Granlund–Montgomery): a multiply, two shifts and a compare instead of a division per lane.
  const k = ctz<u32>(<u32>C);
  const odd = <u32>C >> k;
  let inv = odd; // odd·odd ≡ 1 (mod 8); each Newton step doubles the correct low bits: 3 → 48
  for (let i = 0; i < 4; i++) inv *= 2 - odd * inv;
  const limit = u32.MAX_VALUE / <u32>C;
  const pixelBytes = <usize>C << 2;
  let pos = n0 * P * C; // element offset of the current output pixel in dy and indices
  let out: usize = <usize>pos << 2; // its byte offset
  for (let n = n0; n < n1; n++) {
    const base = n * HWC;
    for (let q = 0; q < P; q++) {
      let c = 0;
      if (ASC_FEATURE_SIMD) {
        const vinv = i32x4.splat(inv), vlimit = i32x4.splat(limit), vsize = i32x4.splat(HWC);
        const iota = i32x4(0, 1, 2, 3);
        for (; c + 4 <= C; c += 4) {
          const cb = <usize>c << 2;
          const idx = v128.load(indices + out + cb);
          const rel = i32x4.sub(idx, i32x4.add(i32x4.splat(base + c), iota));
          const t = i32x4.mul(rel, vinv);
          const r = v128.or(i32x4.shr_u(t, k), i32x4.shl(t, 32 - k)); // shift counts are mod 32
          const ok = v128.and(i32x4.lt_u(rel, vsize), i32x4.le_u(r, vlimit));
          if (!i32x4.all_true(ok)) return pos + c + ctz<i32>(~i32x4.bitmask(ok));
          scatterAdd(dx, idx, v128.load(dy + out + cb));
        }
      }
      for (; c < C; c++) {
        const cb = <usize>c << 2;
        const idx = load<i32>(indices + out + cb);
        const rel = <u32>(idx - (base + c));
        if (!(rel < <u32>HWC && rotr<u32>(rel * inv, k) <= limit)) return pos + c;
        const p = dx + (<usize>idx << 2);
        store<f32>(p, load<f32>(p) + load<f32>(dy + out + cb));
      }
      out += pixelBytes;
      pos += C;
    }
  }
  return -1;
}

/**
 * Average-pooling gradient: dx [N, H, W, C] = 0, then every tap of output (oy, ox)'s window gets
 * dy / (rows[oy].count · cols[ox].count) added: the forward's divisor. Padding taps are skipped.
 */
export function avgpool2d_grad_nhwc_f32(dy: usize, N: i32, H: i32, W: i32, C: i32, OH: i32, OW: i32, win: usize, dx: usize): void {
  fill_f32(dx, N * H * W * C, 0);
  const pixelBytes = <usize>C << 2;
  const rowStep = <usize>W * pixelBytes;
  const cols = win + <usize>OH * ROW;
  let g = dy;
  for (let n = 0; n < N; n++) {
    for (let oy = 0; oy < OH; oy++) {
      const y0 = load<i32>(win + <usize>oy * ROW), y1 = load<i32>(win + <usize>oy * ROW, 4);
      const ny = load<i32>(win + <usize>oy * ROW, 8);
      for (let ox = 0; ox < OW; ox++) {
        const x0 = load<i32>(cols + <usize>ox * ROW), x1 = load<i32>(cols + <usize>ox * ROW, 4);
        const count = <f32>(ny * load<i32>(cols + <usize>ox * ROW, 8));
        const p0 = dx + (<usize>(((n * H + y0) * W + x0) * C) << 2);
        let c = 0;
        if (ASC_FEATURE_SIMD) {
          const vcount = f32x4.splat(count);
          for (; c + 4 <= C; c += 4) {
            const cb = <usize>c << 2;
            const a = f32x4.div(v128.load(g + cb), vcount);
            let row = p0 + cb;
            for (let iy = y0; iy < y1; iy++) {
              let p = row;
              for (let ix = x0; ix < x1; ix++) { v128.store(p, f32x4.add(v128.load(p), a)); p += pixelBytes; }
              row += rowStep;
            }
          }
        }
        for (; c < C; c++) {
          const cb = <usize>c << 2;
          const a = load<f32>(g + cb) / count;
          let row = p0 + cb;
          for (let iy = y0; iy < y1; iy++) {
            let p = row;
            for (let ix = x0; ix < x1; ix++) { store<f32>(p, load<f32>(p) + a); p += pixelBytes; }
            row += rowStep;
          }
        }
        g += pixelBytes;
      }
    }
  }
}

// sign(x)·f for the p = 1 gradient: 0 at x = ±0, x itself (a NaN) when x is NaN.
// @ts-ignore: decorator
@inline function signTimes(x: v128, f: v128): v128 {
  const s = v128.xor(f, v128.and(x, i32x4.splat(0x80000000)));
  return v128.bitselect(x, v128.andnot(s, f32x4.eq(x, f32x4.splat(0))), f32x4.ne(x, x));
}

// @ts-ignore: decorator
@inline function signTimesf(x: f32, f: f32): f32 {
  return x == 0 ? 0 : x != x ? x : x < 0 ? -f : f;
}

/**
 * Lp-pooling gradient (lppool2d_nhwc_f32's windows; y its output): dx = 0, then every tap x of
 * output (oy, ox) gets sign(x)·|x|^(p−1) · y^(1−p) · dy added, with 0 wherever x = 0 or y = 0
 * (the 0/0 and 0·∞ cases). p = 1 (sign(x)·dy) and p = 2 (x · dy/y) run in f32 SIMD; other p in
 * f64 with pow, each term rounded to f32 before it is added.
 */
export function lppool2d_grad_nhwc_f32(
  x: usize, y: usize, dy: usize, N: i32, H: i32, W: i32, C: i32, OH: i32, OW: i32, win: usize, dx: usize, p: f64,
): void {
  fill_f32(dx, N * H * W * C, 0);
  const pixelBytes = <usize>C << 2;
  const rowStep = <usize>W * pixelBytes;
  const cols = win + <usize>OH * ROW;
  const mode = p == 1 ? 1 : p == 2 ? 2 : 0;
  let out: usize = 0; // byte offset of the current output pixel in y and dy
  for (let n = 0; n < N; n++) {
    for (let oy = 0; oy < OH; oy++) {
      const y0 = load<i32>(win + <usize>oy * ROW), y1 = load<i32>(win + <usize>oy * ROW, 4);
      for (let ox = 0; ox < OW; ox++) {
        const x0 = load<i32>(cols + <usize>ox * ROW), x1 = load<i32>(cols + <usize>ox * ROW, 4);
        const first = <usize>(((n * H + y0) * W + x0) * C) << 2;
        let c = 0;
        if (ASC_FEATURE_SIMD) {
          if (mode != 0) {
            const zero = f32x4.splat(0);
            for (; c + 4 <= C; c += 4) {
              const cb = <usize>c << 2;
              const g = v128.load(dy + out + cb), yv = v128.load(y + out + cb);
              const f = mode == 1 ? g : v128.bitselect(zero, f32x4.div(g, yv), f32x4.eq(yv, zero));
              let rx = x + first + cb, rd = dx + first + cb;
              for (let iy = y0; iy < y1; iy++) {
                let qx = rx, qd = rd;
                for (let ix = x0; ix < x1; ix++) {
                  const v = v128.load(qx);
                  v128.store(qd, f32x4.add(v128.load(qd), mode == 1 ? signTimes(v, f) : f32x4.mul(v, f)));
                  qx += pixelBytes; qd += pixelBytes;
                }
                rx += rowStep; rd += rowStep;
              }
            }
          }
        }
        for (; c < C; c++) {
          const cb = <usize>c << 2;
          const g = load<f32>(dy + out + cb), yv = load<f32>(y + out + cb);
          let rx = x + first + cb, rd = dx + first + cb;
          if (mode != 0) {
            const f: f32 = mode == 1 ? g : yv == 0 ? 0 : g / yv;
            for (let iy = y0; iy < y1; iy++) {
              let qx = rx, qd = rd;
              for (let ix = x0; ix < x1; ix++) {
                const v = load<f32>(qx);
                store<f32>(qd, load<f32>(qd) + (mode == 1 ? signTimesf(v, f) : v * f));
                qx += pixelBytes; qd += pixelBytes;
              }
              rx += rowStep; rd += rowStep;
            }
          } else {
            const f: f64 = yv == 0 ? 0 : <f64>g * Math.pow(<f64>yv, 1 - p);
            for (let iy = y0; iy < y1; iy++) {
              let qx = rx, qd = rd;
              for (let ix = x0; ix < x1; ix++) {
                const v = <f64>load<f32>(qx);
                const t: f64 = v == 0 ? 0 : (v < 0 ? -f : f) * Math.pow(abs<f64>(v), p - 1);
                store<f32>(qd, load<f32>(qd) + <f32>t);
                qx += pixelBytes; qd += pixelBytes;
              }
              rx += rowStep; rd += rowStep;
            }
          }
        }
        out += pixelBytes;
      }
    }
  }
}

/**
 * Mixed-pooling gradient (y = λ·max + (1 − λ)·avg over mixedpool2d_nhwc_f32's windows): dx = 0,
 * then per output every tap gets (1 − λ)·(dy / count) added and the window's argmax (found again,
 * with the forward's first-max / first-NaN rule) gets λ·dy. λ = 0 skips the argmax and λ = 1 the
 * average part, as the forward is then exactly avg or max.
 */
export function mixedpool2d_grad_nhwc_f32(
  x: usize, dy: usize, N: i32, H: i32, W: i32, C: i32, OH: i32, OW: i32, win: usize, dx: usize, lambda: f32,
): void {
  fill_f32(dx, N * H * W * C, 0);
  const pixelBytes = <usize>C << 2;
  const rowStep = <usize>W * pixelBytes;
  const rowPix = W * C;
  const cols = win + <usize>OH * ROW;
  const mu: f32 = 1 - lambda;
  const doMax = lambda != 0, doAvg = mu != 0;
  let out: usize = 0;
  for (let n = 0; n < N; n++) {
    for (let oy = 0; oy < OH; oy++) {
      const y0 = load<i32>(win + <usize>oy * ROW), y1 = load<i32>(win + <usize>oy * ROW, 4);
      const ny = load<i32>(win + <usize>oy * ROW, 8);
      for (let ox = 0; ox < OW; ox++) {
        const x0 = load<i32>(cols + <usize>ox * ROW), x1 = load<i32>(cols + <usize>ox * ROW, 4);
        const count = <f32>(ny * load<i32>(cols + <usize>ox * ROW, 8));
        const first = ((n * H + y0) * W + x0) * C;
        const b0 = <usize>first << 2;
        let c = 0;
        if (ASC_FEATURE_SIMD) {
          const vcount = f32x4.splat(count), vl = f32x4.splat(lambda), vmu = f32x4.splat(mu);
          const iota = i32x4(0, 1, 2, 3);
          for (; c + 4 <= C; c += 4) {
            const cb = <usize>c << 2;
            const g = v128.load(dy + out + cb);
            const a = f32x4.mul(vmu, f32x4.div(g, vcount));
            let m = v128.load(x + b0 + cb);
            let i = i32x4.splat(first);
            let rx = x + b0 + cb, rd = dx + b0 + cb, rowFirst = first;
            for (let iy = y0; iy < y1; iy++) {
              let qx = rx, qd = rd, pix = rowFirst;
              for (let ix = x0; ix < x1; ix++) {
                if (doMax) {
                  const v = v128.load(qx);
                  const t = takesMax4(v, m);
                  m = v128.bitselect(v, m, t);
                  i = v128.bitselect(i32x4.splat(pix), i, t);
                }
                if (doAvg) v128.store(qd, f32x4.add(v128.load(qd), a));
                qx += pixelBytes; qd += pixelBytes; pix += C;
              }
              rx += rowStep; rd += rowStep; rowFirst += rowPix;
            }
            if (doMax) scatterAdd(dx, i32x4.add(i, i32x4.add(i32x4.splat(c), iota)), f32x4.mul(vl, g));
          }
        }
        for (; c < C; c++) {
          const cb = <usize>c << 2;
          const g = load<f32>(dy + out + cb);
          const a = mu * (g / count);
          let m = load<f32>(x + b0 + cb);
          let i = first;
          let rx = x + b0 + cb, rd = dx + b0 + cb, rowFirst = first;
          for (let iy = y0; iy < y1; iy++) {
            let qx = rx, qd = rd, pix = rowFirst;
            for (let ix = x0; ix < x1; ix++) {
              if (doMax) {
                const v = load<f32>(qx);
                const t = takesMax1(v, m);
                m = select<f32>(v, m, t);
                i = select<i32>(pix, i, t);
              }
              if (doAvg) store<f32>(qd, load<f32>(qd) + a);
              qx += pixelBytes; qd += pixelBytes; pix += C;
            }
            rx += rowStep; rd += rowStep; rowFirst += rowPix;
          }
          if (doMax) {
            const q = dx + (<usize>(i + c) << 2);
            store<f32>(q, load<f32>(q) + lambda * g);
          }
        }
        out += pixelBytes;
      }
    }
  }
}
