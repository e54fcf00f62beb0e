// References for concat / split and pad2d: index arithmetic one element at a time.

/** Row-major strides of a shape. */
const stridesOf = (shape: readonly number[]) => shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));

/** The inputs (data, shape) joined along axis. */
export function concat(xs: Array<[ArrayLike<number>, number[]]>, axis: number): { data: Float64Array; shape: number[] } {
  const shape = xs[0][1].slice();
  shape[axis] = xs.reduce((a, [, s]) => a + s[axis], 0);
  const st = stridesOf(shape);
  const data = new Float64Array(shape.reduce((a, b) => a * b, 1));
  let base = 0;
  for (const [x, s] of xs) {
    const sst = stridesOf(s);
    for (let i = 0; i < x.length; i++) {
      let rem = i, o = 0;
      for (let d = 0; d < s.length; d++) {
        const idx = Math.floor(rem / sst[d]);
        rem -= idx * sst[d];
        o += (d === axis ? idx + base : idx) * st[d];
      }
      data[o] = x[i];
    }
    base += s[axis];
  }
  return { data, shape };
}

/** x [N, H, W, C] padded by [[t, b], [l, r]] with value. */
export function pad2d(x: ArrayLike<number>, [N, H, W, C]: number[], [[t, b], [l, r]]: number[][], value: number): Float64Array {
  const OH = t + H + b, OW = l + W + r;
  const y = new Float64Array(N * OH * OW * C).fill(value);
  for (let n = 0; n < N; n++) for (let i = 0; i < H; i++) for (let j = 0; j < W; j++) for (let c = 0; c < C; c++) {
    y[((n * OH + i + t) * OW + j + l) * C + c] = x[((n * H + i) * W + j) * C + c];
  }
  return y;
}
