// Float64 references for the activation ops: the textbook formulas, one element at a time, on
// plain arrays. Rows are the last axis (`cols` consecutive values). Results are float64; tests
// compare the float32 outputs of the library against them.

export const SELU_ALPHA = 1.6732632423543772;
export const SELU_SCALE = 1.0507009873554805;

type Unary = (v: number) => number;

const map = (x: ArrayLike<number>, f: Unary): Float64Array => Float64Array.from(x, f);

export const relu = (x: ArrayLike<number>) => map(x, (v) => (Number.isNaN(v) ? NaN : Math.max(v, 0)));
export const leakyRelu = (x: ArrayLike<number>, alpha = 0.01) => map(x, (v) => (v > 0 ? v : alpha * v));
export const elu = (x: ArrayLike<number>, alpha = 1) => map(x, (v) => (v > 0 ? v : alpha * Math.expm1(v)));
export const selu = (x: ArrayLike<number>) => map(x, (v) => SELU_SCALE * (v > 0 ? v : SELU_ALPHA * Math.expm1(v)));
export const sigmoid = (x: ArrayLike<number>) => map(x, (v) => 1 / (1 + Math.exp(-v)));
export const tanh = (x: ArrayLike<number>) => map(x, Math.tanh);
// x·sigmoid(x); at −Infinity the limit 0 (the formula alone gives −Infinity·0 = NaN).
export const swish = (x: ArrayLike<number>) => map(x, (v) => (v === -Infinity ? 0 : v / (1 + Math.exp(-v))));
// x·Φ(x) = x·(1 + erf(x/√2))/2 = x·erfc(−x/√2)/2; at −Infinity the limit 0.
export const gelu = (x: ArrayLike<number>) => map(x, (v) => (v === -Infinity ? 0 : 0.5 * v * erfc(-v / Math.SQRT2)));

/** x: [rows, C], alpha: [C]. */
export function prelu(x: ArrayLike<number>, alpha: ArrayLike<number>): Float64Array {
  const C = alpha.length;
  return Float64Array.from(x, (v, i) => (v > 0 ? v : alpha[i % C] * v));
}

/** Softmax over each row of `cols` values: exp(x − max) / Σ exp(x − max). */
export function softmax(x: ArrayLike<number>, cols: number): Float64Array {
  const y = new Float64Array(x.length);
  for (let r = 0; r * cols < x.length; r++) {
    const row = Array.from({ length: cols }, (_, c) => x[r * cols + c]);
    const m = rowMax(row);
    const e = row.map((v) => Math.exp(v - m));
    const s = e.reduce((a, b) => a + b, 0);
    e.forEach((v, c) => (y[r * cols + c] = v / s));
  }
  return y;
}

/** log softmax over each row: x − max − log Σ exp(x − max). */
export function logSoftmax(x: ArrayLike<number>, cols: number): Float64Array {
  const y = new Float64Array(x.length);
  for (let r = 0; r * cols < x.length; r++) {
    const row = Array.from({ length: cols }, (_, c) => x[r * cols + c]);
    const m = rowMax(row);
    const lse = Math.log(row.reduce((a, v) => a + Math.exp(v - m), 0));
    row.forEach((v, c) => (y[r * cols + c] = v - m - lse));
  }
  return y;
}

/** Max over k consecutive values of each row of C; output rows of C/k. */
export function maxout(x: ArrayLike<number>, C: number, k: number): Float64Array {
  const y = new Float64Array(x.length / k);
  for (let j = 0; j < y.length; j++) {
    let m = -Infinity;
    for (let i = 0; i < k; i++) {
      const v = x[j * k + i];
      m = Number.isNaN(v) || Number.isNaN(m) ? NaN : Math.max(m, v);
    }
    y[j] = m;
  }
  return y;
}

/** NaN if any element is NaN (as the kernels and PyTorch do), else the largest. */
function rowMax(row: number[]): number {
  return row.some(Number.isNaN) ? NaN : Math.max(...row);
}

/**
 * erfc in float64: the Maclaurin series of erf below |z| = 2 (terms shrink fast enough there to
 * lose no digits that matter), the continued fraction
 * erfc(z) = exp(−z²)/√π · 1/(z + (1/2)/(z + 1/(z + (3/2)/(z + …)))) above, evaluated backwards.
 * Relative error below 1e-13 on the positive side; erfc(−z) = 2 − erfc(z).
 */
export function erfc(z: number): number {
  if (Number.isNaN(z)) return NaN;
  if (z < 0) return 2 - erfc(-z);
  if (z < 2) {
    let term = z, sum = z;
    for (let n = 1; n < 60; n++) {
      term *= (-z * z) / n;
      sum += term / (2 * n + 1);
    }
    return 1 - (2 / Math.sqrt(Math.PI)) * sum;
  }
  if (z > 27) return 0;
  let k = z;
  for (let n = 400; n >= 1; n--) k = z + n / 2 / k;
  return Math.exp(-z * z) / Math.sqrt(Math.PI) / k;
}

// relu6, hardSigmoid, hardSwish: NaN in, NaN out (Math.min/max propagate it).
export const relu6 = (x: ArrayLike<number>) => map(x, (v) => Math.min(Math.max(v, 0), 6));
/** max(0, min(1, alpha·x + beta)), with alpha·x + beta rounded to float32 as the kernel rounds it (kinks land alike). */
export const hardSigmoid = (x: ArrayLike<number>, alpha = 0.2, beta = 0.5) =>
  map(x, (v) => Math.min(Math.max(Math.fround(Math.fround(Math.fround(alpha) * v) + Math.fround(beta)), 0), 1));
/** x·relu6(x + 3)/6 (x itself above 3); at −Infinity the limit 0. */
export const hardSwish = (x: ArrayLike<number>) => map(x, (v) => (v === -Infinity ? 0 : v > 3 ? v : (v * Math.min(Math.max(v + 3, 0), 6)) / 6));
