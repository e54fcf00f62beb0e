// Float64 references for the broadcasting arithmetic ops: the NumPy rule spelled out with index
// arithmetic over the output, one element at a time.

export type Op = 'add' | 'sub' | 'mul' | 'div';

export const apply = (op: Op, x: number, y: number): number =>
  op === 'add' ? x + y : op === 'sub' ? x - y : op === 'mul' ? x * y : x / y;

/** The broadcast shape (no error checks: the tests only pass shapes that broadcast). */
export function broadcast(a: readonly number[], b: readonly number[]): number[] {
  const r = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < r; i++) {
    const da = a[i - (r - a.length)] ?? 1, db = b[i - (r - b.length)] ?? 1;
    out.push(da === 1 ? db : da);
  }
  return out;
}

/** The flat index into an input of `shape` read by output multi-index `idx` (output rank r). */
export function sourceIndex(idx: readonly number[], shape: readonly number[]): number {
  const off = idx.length - shape.length;
  let k = 0;
  for (let i = 0; i < shape.length; i++) k = k * shape[i] + (shape[i] === 1 ? 0 : idx[i + off]);
  return k;
}

/** Every multi-index of `shape`, row-major. */
export function* indices(shape: readonly number[]): Generator<number[]> {
  const n = shape.reduce((p, d) => p * d, 1);
  const idx = new Array(shape.length).fill(0);
  for (let f = 0; f < n; f++) {
    yield idx;
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++idx[d] < shape[d]) break;
      idx[d] = 0;
    }
  }
}

/** a op b, broadcast, in float64. */
export function binary(op: Op, a: ArrayLike<number>, as: number[], b: ArrayLike<number>, bs: number[]): Float64Array {
  const out = broadcast(as, bs);
  const y = new Float64Array(out.reduce((p, d) => p * d, 1));
  let i = 0;
  for (const idx of indices(out)) y[i++] = apply(op, a[sourceIndex(idx, as)], b[sourceIndex(idx, bs)]);
  return y;
}

/** da, db of y = a op b: the elementwise derivatives summed back to each input's shape. */
export function binaryGrad(op: Op, dy: ArrayLike<number>, a: ArrayLike<number>, as: number[], b: ArrayLike<number>, bs: number[]): { da: Float64Array; db: Float64Array } {
  const out = broadcast(as, bs);
  const da = new Float64Array(as.reduce((p, d) => p * d, 1));
  const db = new Float64Array(bs.reduce((p, d) => p * d, 1));
  let i = 0;
  for (const idx of indices(out)) {
    const ia = sourceIndex(idx, as), ib = sourceIndex(idx, bs);
    const g = dy[i++], x = a[ia], y = b[ib];
    if (op === 'add') { da[ia] += g; db[ib] += g; }
    else if (op === 'sub') { da[ia] += g; db[ib] -= g; }
    else if (op === 'mul') { da[ia] += g * y; db[ib] += g * x; }
    else { da[ia] += g / y; db[ib] -= (g * x) / (y * y); }
  }
  return { da, db };
}
