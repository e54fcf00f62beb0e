// Pooling as textbook loops in float64, written from the definitions (PyTorch's for sizes, bins
// and divisors; SPEC.md's for NaN, ties and |x| in Lp) without the library's shape helpers, so
// the tests check those too. x is NHWC, flat.

export type Shape4 = [number, number, number, number];
export type PadPairs = [[number, number], [number, number]];

export interface Window {
  kh: number; kw: number;
  sh: number; sw: number;
  /** [[top, bottom], [left, right]] */
  pads: PadPairs;
  ceilMode: boolean;
}

export interface Pooled {
  shape: Shape4;
  y: Float64Array;
  /** Argmax flat offsets into x (max pools only). */
  indices: Int32Array;
}

/** TensorFlow's 'same' pads for one axis: output ceil(in/s), the odd pad after. */
export function samePads(size: number, k: number, s: number): [number, number] {
  const out = Math.ceil(size / s);
  const total = Math.max((out - 1) * s + k - size, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

/** PyTorch's pooling output size, with ceil mode dropping a last window that starts in the bottom/right padding. */
export function outSize(size: number, k: number, s: number, before: number, after: number, ceilMode: boolean): number {
  const span = size + before + after - k;
  let out = (ceilMode ? Math.ceil(span / s) : Math.floor(span / s)) + 1;
  if (ceilMode && (out - 1) * s >= size + before) out -= 1;
  return out;
}

/** The input range [lo, hi) of each output index along one axis. */
interface Bin { lo: number; hi: number; start: number }

function strided(size: number, k: number, s: number, before: number, after: number, ceilMode: boolean): Bin[] {
  const bins: Bin[] = [];
  for (let i = 0; i < outSize(size, k, s, before, after, ceilMode); i++) {
    const start = i * s - before;
    bins.push({ lo: start, hi: start + k, start });
  }
  return bins;
}

function adaptive(size: number, out: number): Bin[] {
  const bins: Bin[] = [];
  for (let i = 0; i < out; i++) {
    const lo = Math.floor((i * size) / out), hi = Math.ceil(((i + 1) * size) / out);
    bins.push({ lo, hi, start: lo });
  }
  return bins;
}

/**
 * Reduce every window with `reduce(values in row-major window order, their flat offsets, the
 * window's rows [r0, r1) and columns [c0, c1) before clipping)`.
 */
function pool(
  x: ArrayLike<number>, [N, H, W, C]: Shape4, rows: Bin[], cols: Bin[],
  reduce: (vals: number[], offs: number[], r: Bin, c: Bin) => [number, number],
): Pooled {
  const OH = rows.length, OW = cols.length;
  const y = new Float64Array(N * OH * OW * C);
  const indices = new Int32Array(N * OH * OW * C);
  for (let n = 0; n < N; n++) {
    for (let oy = 0; oy < OH; oy++) {
      for (let ox = 0; ox < OW; ox++) {
        for (let c = 0; c < C; c++) {
          const vals: number[] = [], offs: number[] = [];
          for (let iy = rows[oy].lo; iy < rows[oy].hi; iy++) {
            for (let ix = cols[ox].lo; ix < cols[ox].hi; ix++) {
              if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue; // padding
              const off = ((n * H + iy) * W + ix) * C + c;
              vals.push(x[off]);
              offs.push(off);
            }
          }
          const o = ((n * OH + oy) * OW + ox) * C + c;
          [y[o], indices[o]] = reduce(vals, offs, rows[oy], cols[ox]);
        }
      }
    }
  }
  return { shape: [N, OH, OW, C], y, indices };
}

/** Max and its offset: the first of equal maxima; the first NaN wins and stays. */
function argmax(vals: number[], offs: number[]): [number, number] {
  let best = vals[0], at = offs[0];
  for (let i = 1; i < vals.length; i++) {
    if (Number.isNaN(best)) break;
    if (Number.isNaN(vals[i]) || vals[i] > best) { best = vals[i]; at = offs[i]; }
  }
  return [best, at];
}

function mean(vals: number[], divisor: number): number {
  let s = 0;
  for (const v of vals) s += v;
  return s / divisor;
}

/** PyTorch's divisor: valid elements, or with countIncludePad the window clipped to the padded input. */
function divisor(vals: number[], r: Bin, c: Bin, shape: Shape4, w: Window, countIncludePad: boolean): number {
  if (!countIncludePad) return vals.length;
  const [, H, W] = shape;
  const hEnd = Math.min(r.start + w.kh, H + w.pads[0][1]);
  const wEnd = Math.min(c.start + w.kw, W + w.pads[1][1]);
  return (hEnd - r.start) * (wEnd - c.start);
}

function windows(shape: Shape4, w: Window): [Bin[], Bin[]] {
  return [
    strided(shape[1], w.kh, w.sh, w.pads[0][0], w.pads[0][1], w.ceilMode),
    strided(shape[2], w.kw, w.sw, w.pads[1][0], w.pads[1][1], w.ceilMode),
  ];
}

export function maxPool(x: ArrayLike<number>, shape: Shape4, w: Window): Pooled {
  return pool(x, shape, ...windows(shape, w), argmax);
}

export function avgPool(x: ArrayLike<number>, shape: Shape4, w: Window, countIncludePad: boolean): Pooled {
  return pool(x, shape, ...windows(shape, w), (v, _o, r, c) => [mean(v, divisor(v, r, c, shape, w, countIncludePad)), 0]);
}

export function mixedPool(x: ArrayLike<number>, shape: Shape4, w: Window, lambda: number, countIncludePad: boolean): Pooled {
  return pool(x, shape, ...windows(shape, w), (v, o, r, c) => {
    const max = argmax(v, o)[0];
    const avg = mean(v, divisor(v, r, c, shape, w, countIncludePad));
    return [lambda * max + (1 - lambda) * avg, 0];
  });
}

/** (Σ |x|^p)^(1/p), no padding, floor mode. */
export function lpPool(x: ArrayLike<number>, shape: Shape4, kh: number, kw: number, sh: number, sw: number, p: number): Pooled {
  const w: Window = { kh, kw, sh, sw, pads: [[0, 0], [0, 0]], ceilMode: false };
  return pool(x, shape, ...windows(shape, w), (v) => {
    let s = 0;
    for (const e of v) s += Math.abs(e) ** p;
    return [s ** (1 / p), 0];
  });
}

export function adaptiveMaxPool(x: ArrayLike<number>, shape: Shape4, oh: number, ow: number): Pooled {
  return pool(x, shape, adaptive(shape[1], oh), adaptive(shape[2], ow), argmax);
}

export function adaptiveAvgPool(x: ArrayLike<number>, shape: Shape4, oh: number, ow: number): Pooled {
  return pool(x, shape, adaptive(shape[1], oh), adaptive(shape[2], ow), (v) => [mean(v, v.length), 0]);
}

// ---- backward (gradients) ----
// Each gradient as the chain rule reads: dx[offs[i]] += ∂y/∂vals[i] · dy for every window, with
// ∂y/∂vals from the definition of the forward (the same windows, padding, divisors, argmax rule).

/**
 * Σ over windows of ∂y/∂x · dy. `partials(vals, offs, r, c)` gives ∂y/∂vals[i] of one window;
 * outputs are visited in NHWC order, so the o-th call belongs to dy[o].
 */
function spread(
  x: ArrayLike<number>, shape: Shape4, rows: Bin[], cols: Bin[], dy: ArrayLike<number>,
  partials: (vals: number[], offs: number[], r: Bin, c: Bin) => number[],
): Float64Array {
  const dx = new Float64Array(shape[0] * shape[1] * shape[2] * shape[3]);
  let o = 0;
  pool(x, shape, rows, cols, (vals, offs, r, c) => {
    const d = partials(vals, offs, r, c);
    for (let i = 0; i < offs.length; i++) if (d[i] !== 0) dx[offs[i]] += d[i] * dy[o];
    o++;
    return [0, 0];
  });
  return dx;
}

/** Max pooling's gradient through recorded indices: dx[indices[i]] += dy[i]. */
export function maxPoolBackward(dy: ArrayLike<number>, indices: ArrayLike<number>, xShape: Shape4): Float64Array {
  const dx = new Float64Array(xShape[0] * xShape[1] * xShape[2] * xShape[3]);
  for (let i = 0; i < dy.length; i++) dx[indices[i]] += dy[i];
  return dx;
}

/** ∂(max)/∂x: 1 at the argmax (first max, first NaN), 0 elsewhere; straight from the windows. */
export function maxPoolGrad(x: ArrayLike<number>, shape: Shape4, w: Window, dy: ArrayLike<number>): Float64Array {
  return spread(x, shape, ...windows(shape, w), dy, (v, o) => {
    const at = argmax(v, o)[1];
    return o.map((off) => (off === at ? 1 : 0));
  });
}

/** ∂(mean)/∂x = 1 / divisor for every element under the window. */
export function avgPoolBackward(dy: ArrayLike<number>, shape: Shape4, w: Window, countIncludePad: boolean): Float64Array {
  const zeros = new Float64Array(shape[0] * shape[1] * shape[2] * shape[3]);
  return spread(zeros, shape, ...windows(shape, w), dy, (v, _o, r, c) => v.map(() => 1 / divisor(v, r, c, shape, w, countIncludePad)));
}

export function adaptiveAvgPoolBackward(dy: ArrayLike<number>, shape: Shape4, oh: number, ow: number): Float64Array {
  const zeros = new Float64Array(shape[0] * shape[1] * shape[2] * shape[3]);
  return spread(zeros, shape, adaptive(shape[1], oh), adaptive(shape[2], ow), dy, (v) => v.map(() => 1 / v.length));
}

/** ∂(max)/∂x over adaptive bins (global max is 1×1). */
export function adaptiveMaxPoolGrad(x: ArrayLike<number>, shape: Shape4, oh: number, ow: number, dy: ArrayLike<number>): Float64Array {
  return spread(x, shape, adaptive(shape[1], oh), adaptive(shape[2], ow), dy, (v, o) => {
    const at = argmax(v, o)[1];
    return o.map((off) => (off === at ? 1 : 0));
  });
}

/**
 * ∂(Σ|x|^p)^(1/p)/∂x = sign(x)·|x|^(p−1)·y^(1−p), y recomputed here in float64; 0 where x = 0
 * or y = 0 (the 0/0 and 0·∞ cases, by definition).
 */
export function lpPoolBackward(x: ArrayLike<number>, shape: Shape4, kh: number, kw: number, sh: number, sw: number, p: number, dy: ArrayLike<number>): Float64Array {
  const w: Window = { kh, kw, sh, sw, pads: [[0, 0], [0, 0]], ceilMode: false };
  return spread(x, shape, ...windows(shape, w), dy, (v) => {
    let s = 0;
    for (const e of v) s += Math.abs(e) ** p;
    const y = s ** (1 / p);
    return v.map((e) => (e === 0 || y === 0 ? 0 : Math.sign(e) * Math.abs(e) ** (p - 1) * y ** (1 - p)));
  });
}

/** ∂(λ·max + (1−λ)·mean)/∂x: λ at the argmax plus (1−λ)/divisor everywhere under the window. */
export function mixedPoolBackward(x: ArrayLike<number>, shape: Shape4, w: Window, lambda: number, countIncludePad: boolean, dy: ArrayLike<number>): Float64Array {
  return spread(x, shape, ...windows(shape, w), dy, (v, o, r, c) => {
    const at = argmax(v, o)[1];
    const avg = (1 - lambda) / divisor(v, r, c, shape, w, countIncludePad);
    return o.map((off) => avg + (off === at ? lambda : 0));
  });
}
