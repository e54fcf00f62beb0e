// Textbook convolutions in float64, written from the formulas with plain loops and nothing shared
// with the library (not even its size rules).

export type Pads4 = [[number, number], [number, number]];
export interface Arr { data: ArrayLike<number>; shape: number[] }

/** TensorFlow's 'same' pads for one axis. */
export function samePads(size: number, k: number, s: number, d: number): [number, number] {
  const out = Math.ceil(size / s);
  const total = Math.max((out - 1) * s + (k - 1) * d + 1 - size, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

/**
 * y[n,oy,ox,o] = bias[o] + Σ_{ky,kx,c} x[n, oy·sh − pt + ky·dh, ox·sw − pl + kx·dw, g·Cig + c] · w[ky', kx', c, o]
 * with g = o / (Cout/groups), zero outside the input, and (ky', kx') = flip ? (KH−1−ky, KW−1−kx) : (ky, kx).
 */
export function conv2dRef(x: Arr, w: Arr, opts: { bias?: ArrayLike<number>; s: [number, number]; d: [number, number]; pads: Pads4; groups: number; flip?: boolean }): Arr {
  const [N, H, W, C] = x.shape;
  const [KH, KW, Cig, Cout] = w.shape;
  const { s, d, pads, groups } = opts;
  const OH = Math.floor((H + pads[0][0] + pads[0][1] - d[0] * (KH - 1) - 1) / s[0]) + 1;
  const OW = Math.floor((W + pads[1][0] + pads[1][1] - d[1] * (KW - 1) - 1) / s[1]) + 1;
  const Cog = Cout / groups;
  const y = new Float64Array(N * OH * OW * Cout);
  for (let n = 0; n < N; n++) for (let oy = 0; oy < OH; oy++) for (let ox = 0; ox < OW; ox++) for (let o = 0; o < Cout; o++) {
    const g = Math.floor(o / Cog);
    let acc = opts.bias ? opts.bias[o] : 0;
    for (let ky = 0; ky < KH; ky++) for (let kx = 0; kx < KW; kx++) {
      const iy = oy * s[0] - pads[0][0] + ky * d[0];
      const ix = ox * s[1] - pads[1][0] + kx * d[1];
      if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
      const wy = opts.flip ? KH - 1 - ky : ky, wx = opts.flip ? KW - 1 - kx : kx;
      for (let c = 0; c < Cig; c++) {
        acc += x.data[((n * H + iy) * W + ix) * C + g * Cig + c] * w.data[((wy * KW + wx) * Cig + c) * Cout + o];
      }
    }
    y[((n * OH + oy) * OW + ox) * Cout + o] = acc;
  }
  return { data: y, shape: [N, OH, OW, Cout] };
}

/**
 * Transposed convolution by scattering: every input pixel adds x[n,iy,ix,c] · w[ky,kx,o,c] to
 * y[n, iy·sh − pt + ky·dh, ix·sw − pl + kx·dw, g·Cog + o]; w is [KH, KW, Cout/groups, Cin].
 */
export function conv2dTransposeRef(x: Arr, w: Arr, opts: { bias?: ArrayLike<number>; s: [number, number]; d: [number, number]; pads: Pads4; outPad: [number, number]; groups: number }): Arr {
  const [N, H, W, C] = x.shape;
  const [KH, KW, Cog, Cin] = w.shape;
  const { s, d, pads, outPad, groups } = opts;
  const Cout = Cog * groups, Cig = Cin / groups;
  const OH = (H - 1) * s[0] - pads[0][0] - pads[0][1] + d[0] * (KH - 1) + 1 + outPad[0];
  const OW = (W - 1) * s[1] - pads[1][0] - pads[1][1] + d[1] * (KW - 1) + 1 + outPad[1];
  const y = new Float64Array(N * OH * OW * Cout);
  for (let n = 0; n < N; n++) for (let oy = 0; oy < OH; oy++) for (let ox = 0; ox < OW; ox++) for (let o = 0; o < Cout; o++) {
    y[((n * OH + oy) * OW + ox) * Cout + o] = opts.bias ? opts.bias[o] : 0;
  }
  for (let n = 0; n < N; n++) for (let iy = 0; iy < H; iy++) for (let ix = 0; ix < W; ix++) for (let c = 0; c < C; c++) {
    const g = Math.floor(c / Cig);
    const v = x.data[((n * H + iy) * W + ix) * C + c];
    for (let ky = 0; ky < KH; ky++) for (let kx = 0; kx < KW; kx++) {
      const oy = iy * s[0] - pads[0][0] + ky * d[0];
      const ox = ix * s[1] - pads[1][0] + kx * d[1];
      if (oy < 0 || oy >= OH || ox < 0 || ox >= OW) continue;
      for (let o = 0; o < Cog; o++) {
        y[((n * OH + oy) * OW + ox) * Cout + g * Cog + o] += v * w.data[((ky * KW + kx) * Cog + o) * Cin + c];
      }
    }
  }
  return { data: y, shape: [N, OH, OW, Cout] };
}

/** y[n,oy,ox,o] = bias + Σ x[n, oy·sh − pt + ky, ox·sw − pl + kx, c] · w[oy, ox, ky, kx, c, o]. */
export function locallyConnected2dRef(x: Arr, w: Arr, opts: { bias?: ArrayLike<number>; biasPerPixel?: boolean; s: [number, number]; pads: Pads4 }): Arr {
  const [N, H, W, C] = x.shape;
  const [OH, OW, KH, KW, , Cout] = w.shape;
  const y = new Float64Array(N * OH * OW * Cout);
  for (let n = 0; n < N; n++) for (let oy = 0; oy < OH; oy++) for (let ox = 0; ox < OW; ox++) for (let o = 0; o < Cout; o++) {
    let acc = opts.bias ? opts.bias[opts.biasPerPixel ? (oy * OW + ox) * Cout + o : o] : 0;
    for (let ky = 0; ky < KH; ky++) for (let kx = 0; kx < KW; kx++) {
      const iy = oy * opts.s[0] - opts.pads[0][0] + ky, ix = ox * opts.s[1] - opts.pads[1][0] + kx;
      if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
      for (let c = 0; c < C; c++) {
        acc += x.data[((n * H + iy) * W + ix) * C + c] * w.data[((((oy * OW + ox) * KH + ky) * KW + kx) * C + c) * Cout + o];
      }
    }
    y[((n * OH + oy) * OW + ox) * Cout + o] = acc;
  }
  return { data: y, shape: [N, OH, OW, Cout] };
}

/** y[m, u] = bias[u] + Σ_k x[m, k] · w[k, u]. */
export function denseRef(x: ArrayLike<number>, M: number, K: number, w: ArrayLike<number>, U: number, bias?: ArrayLike<number>): Float64Array {
  const y = new Float64Array(M * U);
  for (let m = 0; m < M; m++) for (let u = 0; u < U; u++) {
    let acc = bias ? bias[u] : 0;
    for (let k = 0; k < K; k++) acc += x[m * K + k] * w[k * U + u];
    y[m * U + u] = acc;
  }
  return y;
}

/** dx and dw of conv2dRef for output gradient dy, by the chain rule written out as loops. */
export function conv2dGradsRef(x: Arr, w: Arr, dy: ArrayLike<number>, opts: { s: [number, number]; d: [number, number]; pads: Pads4; groups: number; flip?: boolean }): { dx: Float64Array; dw: Float64Array } {
  const [N, H, W, C] = x.shape;
  const [KH, KW, Cig, Cout] = w.shape;
  const { s, d, pads, groups } = opts;
  const OH = Math.floor((H + pads[0][0] + pads[0][1] - d[0] * (KH - 1) - 1) / s[0]) + 1;
  const OW = Math.floor((W + pads[1][0] + pads[1][1] - d[1] * (KW - 1) - 1) / s[1]) + 1;
  const Cog = Cout / groups;
  const dx = new Float64Array(x.data.length), dw = new Float64Array(w.data.length);
  for (let n = 0; n < N; n++) for (let oy = 0; oy < OH; oy++) for (let ox = 0; ox < OW; ox++) for (let o = 0; o < Cout; o++) {
    const g = Math.floor(o / Cog);
    const go = dy[((n * OH + oy) * OW + ox) * Cout + o];
    for (let ky = 0; ky < KH; ky++) for (let kx = 0; kx < KW; kx++) {
      const iy = oy * s[0] - pads[0][0] + ky * d[0], ix = ox * s[1] - pads[1][0] + kx * d[1];
      if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
      const wy = opts.flip ? KH - 1 - ky : ky, wx = opts.flip ? KW - 1 - kx : kx;
      for (let c = 0; c < Cig; c++) {
        const xi = ((n * H + iy) * W + ix) * C + g * Cig + c, wi = ((wy * KW + wx) * Cig + c) * Cout + o;
        dx[xi] += go * w.data[wi];
        dw[wi] += go * x.data[xi];
      }
    }
  }
  return { dx, dw };
}
