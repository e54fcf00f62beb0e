// Float64 references for upSampling2d: nearest and bilinear (PyTorch's source coordinates) as
// direct loops over NHWC arrays, and the bilinear gradient as the transpose of those weights.

/** Source index pair and weight of output index o (align: PyTorch align_corners). */
function source(o: number, size: number, out: number, factor: number, align: boolean): [number, number, number] {
  const f = align ? (out > 1 ? (o * (size - 1)) / (out - 1) : 0) : Math.max((o + 0.5) / factor - 0.5, 0);
  const i0 = Math.floor(f);
  return [i0, Math.min(i0 + 1, size - 1), f - i0];
}

/** The four (input pixel, weight) pairs of every output pixel, in a [N, OH, OW] loop. */
function taps(shape: number[], sh: number, sw: number, mode: 'nearest' | 'bilinear', align: boolean, visit: (n: number, oy: number, ox: number, iy: number, ix: number, w: number) => void): void {
  const [N, H, W] = shape;
  for (let n = 0; n < N; n++) for (let oy = 0; oy < H * sh; oy++) for (let ox = 0; ox < W * sw; ox++) {
    if (mode === 'nearest') { visit(n, oy, ox, Math.floor(oy / sh), Math.floor(ox / sw), 1); continue; }
    const [y0, y1, ly] = source(oy, H, H * sh, sh, align), [x0, x1, lx] = source(ox, W, W * sw, sw, align);
    visit(n, oy, ox, y0, x0, (1 - ly) * (1 - lx));
    visit(n, oy, ox, y0, x1, (1 - ly) * lx);
    visit(n, oy, ox, y1, x0, ly * (1 - lx));
    visit(n, oy, ox, y1, x1, ly * lx);
  }
}

export function upsample(x: ArrayLike<number>, shape: number[], sh: number, sw: number, mode: 'nearest' | 'bilinear', align: boolean, abs = false): Float64Array {
  const [N, H, W, C] = shape, OH = H * sh, OW = W * sw;
  const y = new Float64Array(N * OH * OW * C);
  taps(shape, sh, sw, mode, align, (n, oy, ox, iy, ix, w) => {
    for (let c = 0; c < C; c++) {
      const v = x[((n * H + iy) * W + ix) * C + c];
      y[((n * OH + oy) * OW + ox) * C + c] += w * (abs ? Math.abs(v) : v);
    }
  });
  return y;
}

export function upsampleGrad(dy: ArrayLike<number>, shape: number[], sh: number, sw: number, mode: 'nearest' | 'bilinear', align: boolean, abs = false): Float64Array {
  const [N, H, W, C] = shape, OH = H * sh, OW = W * sw;
  const dx = new Float64Array(N * H * W * C);
  taps(shape, sh, sw, mode, align, (n, oy, ox, iy, ix, w) => {
    for (let c = 0; c < C; c++) {
      const g = dy[((n * OH + oy) * OW + ox) * C + c];
      dx[((n * H + iy) * W + ix) * C + c] += w * (abs ? Math.abs(g) : g);
    }
  });
  return dx;
}
