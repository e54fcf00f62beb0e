import { takesMax1, takesMax4 } from './math';
import { loadPartial, storeLanes } from './simd';

// Pooling kernels over NHWC float32, SIMD across channels (contiguous in NHWC).
//
// Every kernel takes its windows from a table the host builds (src/ops/pool.ts), so strided,
// padded, ceil-mode, adaptive and global pooling all share one kernel per reduction:
//   win: i32 [OH][3] rows then [OW][3] columns; entry i = [start, end, count].
// Output (oy, ox) reduces input rows [rows[oy].start, rows[oy].end) × columns [cols[ox].start,
// cols[ox].end), every one of them inside the input (padding taps are never visited, so padding
// never wins a max and never adds to a sum). The average divides by rows[oy].count · cols[ox].count,
// which is the host's divisor rule (valid taps, or the window clipped to the padded input).
// Windows are never empty (the host guarantees start < end).
//
// The SIMD body (16 then 4 channels) and the scalar tail (the remaining channels, and every
// channel in the scalar build) perform the same f32 operations in the same order, so results do
// not depend on a channel's position; in particular no fused multiply-add is used here.

export const ROW: usize = 12; // bytes per table entry: [start, end, count] as i32

// Max with argmax follows math.ts' max rule (takesMax): ties keep the earlier tap (row-major
// window order) and the first NaN wins and stays. The values-only max kernel is in pool-max.ts.

/**
 * Max pooling with argmax. y [N, OH, OW, C], and indices (i32, same shape) the flat offset
 * ((n·H + iy)·W + ix)·C + c of each winning input element. Windows from `win` (see above).
 * Computes images [nBegin, nEnd) (indices stay offsets into the whole batch).
 */
export function maxpool2d_nhwc_f32_argmax(
  x: usize, N: i32, H: i32, W: i32, C: i32, OH: i32, OW: i32, win: usize, y: usize, indices: usize, nBegin: i32, nEnd: i32,
): void {
  const pixelBytes = <usize>C << 2;
  const cols = win + <usize>OH * ROW;
  // byte offset of the current output pixel in y and in indices (images [nBegin, nEnd) of N)
  let out: usize = <usize>nBegin * <usize>OH * <usize>OW * pixelBytes;
  for (let n = nBegin; n < nEnd; n++) {
    for (let oy = 0; oy < OH; oy++) {
      const y0 = load<i32>(win + <usize>oy * ROW), y1 = load<i32>(win + <usize>oy * ROW, 4);
      for (let ox = 0; ox < OW; ox++) {
        const x0 = load<i32>(cols + <usize>ox * ROW), x1 = load<i32>(cols + <usize>ox * ROW, 4);
        const first = ((n * H + y0) * W + x0) * C;
        const p0 = x + (<usize>first << 2);
        const rowStep = <usize>W * pixelBytes;
        const rowPix = W * C;
        let c = 0;
        if (ASC_FEATURE_SIMD) {
          const iota = i32x4(0, 1, 2, 3);
          // 8 channels a block (values, indices, taps and masks: 9 live vectors).
          for (; c + 8 <= C; c += 8) {
            const cb = <usize>c << 2;
            let m0 = v128.load(p0 + cb), m1 = v128.load(p0 + cb, 16);
            let i0 = i32x4.splat(first), i1 = i0;
            let row = p0 + cb, rowFirst = first;
            for (let iy = y0; iy < y1; iy++) {
              let p = row, pix = rowFirst;
              for (let ix = x0; ix < x1; ix++) {
                const v0 = v128.load(p), v1 = v128.load(p, 16);
                const t0 = takesMax4(v0, m0), t1 = takesMax4(v1, m1);
                const vp = i32x4.splat(pix);
                m0 = v128.bitselect(v0, m0, t0); i0 = v128.bitselect(vp, i0, t0);
                m1 = v128.bitselect(v1, m1, t1); i1 = v128.bitselect(vp, i1, t1);
                p += pixelBytes; pix += C;
              }
              row += rowStep; rowFirst += rowPix;
            }
            const yo = y + out + cb;
            v128.store(yo, m0); v128.store(yo, m1, 16);
            const io = indices + out + cb;
            const lane = i32x4.add(i32x4.splat(c), iota);
            v128.store(io, i32x4.add(i0, lane));
            v128.store(io, i32x4.add(i1, i32x4.add(lane, i32x4.splat(4))), 16);
          }
          for (; c + 4 <= C; c += 4) {
            const cb = <usize>c << 2;
            let m0 = v128.load(p0 + cb);
            let i0 = i32x4.splat(first);
            let row = p0 + cb, rowFirst = first;
            for (let iy = y0; iy < y1; iy++) {
              let p = row, pix = rowFirst;
              for (let ix = x0; ix < x1; ix++) {
                const v0 = v128.load(p);
                const t0 = takesMax4(v0, m0);
                m0 = v128.bitselect(v0, m0, t0);
                i0 = v128.bitselect(i32x4.splat(pix), i0, t0);
                p += pixelBytes; pix += C;
              }
              row += rowStep; rowFirst += rowPix;
            }
            v128.store(y + out + cb, m0);
            v128.store(indices + out + cb, i32x4.add(i0, i32x4.add(i32x4.splat(c), iota)));
          }
          if (c < C) {
            maxPartial(p0, first, c, C, y0, y1, x0, x1, rowStep, rowPix, y + out, indices + out);
            c = C;
          }
        }
        for (; c < C; c++) {
          const cb = <usize>c << 2;
          let m = load<f32>(p0 + cb);
          let i = first;
          let row = p0 + cb, rowFirst = first;
          for (let iy = y0; iy < y1; iy++) {
            let p = row, pix = rowFirst;
            for (let ix = x0; ix < x1; ix++) {
              const v = load<f32>(p);
              const t = takesMax1(v, m);
              m = select<f32>(v, m, t);
              i = select<i32>(pix, i, t);
              p += pixelBytes; pix += C;
            }
            row += rowStep; rowFirst += rowPix;
          }
          store<f32>(y + out + cb, m);
          store<i32>(indices + out + cb, i + c);
        }
        out += pixelBytes;
      }
    }
  }
}

/**
 * The last 1–3 channels c.. of one window as one partial vector (unused lanes load zeros, never
 * past the pixel's channels), with the argmax rule; the values go to yo + 4c, the indices (if io
 * ≠ 0) to io + 4c. Shared by both max kernels.
 */
// @ts-ignore: decorator
@inline export function maxPartial(
  p0: usize, first: i32, c: i32, C: i32, y0: i32, y1: i32, x0: i32, x1: i32, rowStep: usize, rowPix: i32, yo: usize, io: usize,
): void {
  const pixelBytes = <usize>C << 2;
  const cb = <usize>c << 2;
  const nr = C - c;
  let m0 = loadPartial(p0 + cb, nr);
  let i0 = i32x4.splat(first);
  let row = p0 + cb, rowFirst = first;
  for (let iy = y0; iy < y1; iy++) {
    let p = row, pix = rowFirst;
    for (let ix = x0; ix < x1; ix++) {
      const v0 = loadPartial(p, nr);
      const t0 = takesMax4(v0, m0);
      m0 = v128.bitselect(v0, m0, t0);
      i0 = v128.bitselect(i32x4.splat(pix), i0, t0);
      p += pixelBytes; pix += C;
    }
    row += rowStep; rowFirst += rowPix;
  }
  storeLanes(yo + cb, m0, nr);
  if (io != 0) storeLanes(io + cb, i32x4.add(i0, i32x4.add(i32x4.splat(c), i32x4(0, 1, 2, 3))), nr);
}

/**
 * Average pooling. y [N, OH, OW, C] = Σ window / (rows[oy].count · cols[ox].count), summed in f32
 * in row-major window order.
 */
export function avgpool2d_nhwc_f32(
  x: usize, N: i32, H: i32, W: i32, C: i32, OH: i32, OW: i32, win: usize, y: usize,
): void {
  avgPool(x, N, H, W, C, OH, OW, win, y, 0, C);
}

/**
 * avgpool2d_nhwc_f32 for channels [c0, c1) only (a global pool at batch 1 split over threads).
 * Every channel's sum runs over the same taps in the same order in the 16-, 4- and 1-channel
 * bodies, so the values do not depend on the range.
 */
export function avgpool2d_nhwc_f32_channels(
  x: usize, N: i32, H: i32, W: i32, C: i32, OH: i32, OW: i32, win: usize, y: usize, c0: i32, c1: i32,
): void {
  avgPool(x, N, H, W, C, OH, OW, win, y, c0, c1);
}

// @ts-ignore: decorator
@inline function avgPool(
  x: usize, N: i32, H: i32, W: i32, C: i32, OH: i32, OW: i32, win: usize, y: usize, c0: i32, c1: i32,
): void {
  const pixelBytes = <usize>C << 2;
  const rowStep = <usize>W * pixelBytes;
  const cols = win + <usize>OH * ROW;
  // Channels [c0, c1) of every pixel: the channel loops below run over [0, CR) from c0.
  const CR = c1 - c0;
  const xc = x + (<usize>c0 << 2);
  let out = y + (<usize>c0 << 2);
  for (let n = 0; n < N; n++) {
    for (let oy = 0; oy < OH; oy++) {
      const y0 = load<i32>(win + <usize>oy * ROW), y1 = load<i32>(win + <usize>oy * ROW, 4);
      const ny = load<i32>(win + <usize>oy * ROW, 8);
      for (let ox = 0; ox < OW; ox++) {
        const x0 = load<i32>(cols + <usize>ox * ROW), x1 = load<i32>(cols + <usize>ox * ROW, 4);
        // One division per output pixel; every channel multiplies by the same reciprocal.
        const inv: f32 = 1 / <f32>(ny * load<i32>(cols + <usize>ox * ROW, 8));
        const p0 = xc + (<usize>(((n * H + y0) * W + x0) * C) << 2);
        let c = 0;
        if (ASC_FEATURE_SIMD) {
          const vinv = f32x4.splat(inv);
          for (; c + 16 <= CR; c += 16) {
            const cb = <usize>c << 2;
            let s0 = f32x4.splat(0), s1 = s0, s2 = s0, s3 = s0;
            let row = p0 + cb;
            for (let iy = y0; iy < y1; iy++) {
              let p = row;
              for (let ix = x0; ix < x1; ix++) {
                s0 = f32x4.add(s0, v128.load(p)); s1 = f32x4.add(s1, v128.load(p, 16));
                s2 = f32x4.add(s2, v128.load(p, 32)); s3 = f32x4.add(s3, v128.load(p, 48));
                p += pixelBytes;
              }
              row += rowStep;
            }
            const yo = out + cb;
            v128.store(yo, f32x4.mul(s0, vinv)); v128.store(yo, f32x4.mul(s1, vinv), 16);
            v128.store(yo, f32x4.mul(s2, vinv), 32); v128.store(yo, f32x4.mul(s3, vinv), 48);
          }
          for (; c + 4 <= CR; c += 4) {
            const cb = <usize>c << 2;
            let s0 = f32x4.splat(0);
            let row = p0 + cb;
            for (let iy = y0; iy < y1; iy++) {
              let p = row;
              for (let ix = x0; ix < x1; ix++) { s0 = f32x4.add(s0, v128.load(p)); p += pixelBytes; }
              row += rowStep;
            }
            v128.store(out + cb, f32x4.mul(s0, vinv));
          }
        }
        for (; c < CR; c++) {
          const cb = <usize>c << 2;
          let s: f32 = 0;
          let row = p0 + cb;
          for (let iy = y0; iy < y1; iy++) {
            let p = row;
            for (let ix = x0; ix < x1; ix++) { s += load<f32>(p); p += pixelBytes; }
            row += rowStep;
          }
          store<f32>(out + cb, s * inv);
        }
        out += pixelBytes;
      }
    }
  }
}

/**
 * Power-average (Lp) pooling: y = (Σ |x|^p)^(1/p) over each window. p = 1 and p = 2 run in f32
 * SIMD (Σ|x| and sqrt(Σx²)); any other p > 0 is a scalar loop with f64 pow and an f64 sum.
 */
export function lppool2d_nhwc_f32(
  x: usize, N: i32, H: i32, W: i32, C: i32, OH: i32, OW: i32, win: usize, y: usize, p: f64,
): void {
  const pixelBytes = <usize>C << 2;
  const rowStep = <usize>W * pixelBytes;
  const cols = win + <usize>OH * ROW;
  const mode = p == 1 ? 1 : p == 2 ? 2 : 0;
  const invP = 1 / p;
  let out = y;
  for (let n = 0; n < N; n++) {
    for (let oy = 0; oy < OH; oy++) {
      const y0 = load<i32>(win + <usize>oy * ROW), y1 = load<i32>(win + <usize>oy * ROW, 4);
      for (let ox = 0; ox < OW; ox++) {
        const x0 = load<i32>(cols + <usize>ox * ROW), x1 = load<i32>(cols + <usize>ox * ROW, 4);
        const p0 = x + (<usize>(((n * H + y0) * W + x0) * C) << 2);
        let c = 0;
        if (ASC_FEATURE_SIMD) {
          if (mode != 0) {
            for (; c + 4 <= C; c += 4) {
              const cb = <usize>c << 2;
              let s0 = f32x4.splat(0);
              let row = p0 + cb;
              for (let iy = y0; iy < y1; iy++) {
                let q = row;
                for (let ix = x0; ix < x1; ix++) {
                  const v = v128.load(q);
                  s0 = f32x4.add(s0, mode == 1 ? f32x4.abs(v) : f32x4.mul(v, v));
                  q += pixelBytes;
                }
                row += rowStep;
              }
              v128.store(out + cb, mode == 1 ? s0 : f32x4.sqrt(s0));
            }
          }
        }
        for (; c < C; c++) {
          const cb = <usize>c << 2;
          let row = p0 + cb;
          if (mode != 0) {
            let s: f32 = 0;
            for (let iy = y0; iy < y1; iy++) {
              let q = row;
              for (let ix = x0; ix < x1; ix++) {
                const v = load<f32>(q);
                s += mode == 1 ? abs<f32>(v) : v * v;
                q += pixelBytes;
              }
              row += rowStep;
            }
            store<f32>(out + cb, mode == 1 ? s : sqrt<f32>(s));
          } else {
            let s: f64 = 0;
            for (let iy = y0; iy < y1; iy++) {
              let q = row;
              for (let ix = x0; ix < x1; ix++) {
                s += Math.pow(abs<f64>(<f64>load<f32>(q)), p);
                q += pixelBytes;
              }
              row += rowStep;
            }
            store<f32>(out + cb, <f32>Math.pow(s, invP));
          }
        }
        out += pixelBytes;
      }
    }
  }
}

/**
 * Mixed pooling: y = λ·max + (1 − λ)·avg over each window, max and sum in one pass with the same
 * rules as the max and average kernels (padding skipped, NaN propagates, divisor from the table).
 */
export function mixedpool2d_nhwc_f32(
  x: usize, N: i32, H: i32, W: i32, C: i32, OH: i32, OW: i32, win: usize, y: usize, lambda: f32,
): void {
  const pixelBytes = <usize>C << 2;
  const rowStep = <usize>W * pixelBytes;
  const cols = win + <usize>OH * ROW;
  const mu: f32 = 1 - lambda;
  let out = y;
  for (let n = 0; n < N; n++) {
    for (let oy = 0; oy < OH; oy++) {
      const y0 = load<i32>(win + <usize>oy * ROW), y1 = load<i32>(win + <usize>oy * ROW, 4);
      const ny = load<i32>(win + <usize>oy * ROW, 8);
      for (let ox = 0; ox < OW; ox++) {
        const x0 = load<i32>(cols + <usize>ox * ROW), x1 = load<i32>(cols + <usize>ox * ROW, 4);
        // One division per output pixel; every channel multiplies by the same reciprocal.
        const inv: f32 = 1 / <f32>(ny * load<i32>(cols + <usize>ox * ROW, 8));
        const p0 = x + (<usize>(((n * H + y0) * W + x0) * C) << 2);
        let c = 0;
        if (ASC_FEATURE_SIMD) {
          const vinv = f32x4.splat(inv), vl = f32x4.splat(lambda), vmu = f32x4.splat(mu);
          for (; c + 4 <= C; c += 4) {
            const cb = <usize>c << 2;
            let m0 = v128.load(p0 + cb);
            let s0 = f32x4.splat(0);
            let row = p0 + cb;
            for (let iy = y0; iy < y1; iy++) {
              let p = row;
              for (let ix = x0; ix < x1; ix++) {
                const v = v128.load(p);
                m0 = v128.bitselect(v, m0, takesMax4(v, m0));
                s0 = f32x4.add(s0, v);
                p += pixelBytes;
              }
              row += rowStep;
            }
            const avg = f32x4.mul(s0, vinv);
            v128.store(out + cb, f32x4.add(f32x4.mul(vl, m0), f32x4.mul(vmu, avg)));
          }
        }
        for (; c < C; c++) {
          const cb = <usize>c << 2;
          let m = load<f32>(p0 + cb);
          let s: f32 = 0;
          let row = p0 + cb;
          for (let iy = y0; iy < y1; iy++) {
            let p = row;
            for (let ix = x0; ix < x1; ix++) {
              const v = load<f32>(p);
              m = select<f32>(v, m, takesMax1(v, m));
              s += v;
              p += pixelBytes;
            }
            row += rowStep;
          }
          store<f32>(out + cb, lambda * m + mu * (s * inv));
        }
        out += pixelBytes;
      }
    }
  }
}
