// Float64 references for the activation gradients: the analytic derivatives, one element at a
// time, on plain arrays. dy is the gradient of the output; x the forward input, y the forward
// output (taken as given, so the y-based ones test the formula, not the forward). Rows are the
// last axis (`cols` consecutive values).
import { SELU_ALPHA, SELU_SCALE, erfc } from './activation.ts';

type Arr = ArrayLike<number>;

const zip = (dy: Arr, v: Arr, f: (g: number, v: number) => number): Float64Array => Float64Array.from(dy, (g, i) => f(g, v[i]));

/** σ(v) = 1/(1 + e^−v) without overflow on either side. */
export const sigma = (v: number): number => (v >= 0 ? 1 / (1 + Math.exp(-v)) : Math.exp(v) / (1 + Math.exp(v)));
/** Standard normal density and distribution. */
export const pdf = (v: number): number => Math.exp(-v * v / 2) / Math.sqrt(2 * Math.PI);
export const cdf = (v: number): number => erfc(-v / Math.SQRT2) / 2;

// At a kink the slope of the forward's branch for x = 0: the forward computes x > 0 ? … : ….
export const reluGrad = (dy: Arr, x: Arr) => zip(dy, x, (g, v) => (v > 0 ? g : 0));
export const leakyReluGrad = (dy: Arr, x: Arr, alpha = 0.01) => zip(dy, x, (g, v) => (v > 0 ? g : alpha * g));
export const eluGrad = (dy: Arr, x: Arr, alpha = 1) => zip(dy, x, (g, v) => (v > 0 ? g : g * alpha * Math.exp(v)));
export const seluGrad = (dy: Arr, x: Arr) => zip(dy, x, (g, v) => g * SELU_SCALE * (v > 0 ? 1 : SELU_ALPHA * Math.exp(v)));
export const sigmoidGrad = (dy: Arr, y: Arr) => zip(dy, y, (g, s) => g * s * (1 - s));
export const tanhGrad = (dy: Arr, y: Arr) => zip(dy, y, (g, t) => g * (1 - t * t));
/** swish'(x) = σ(x) + x·σ(x)·(1 − σ(x)), with 1 − σ(x) = σ(−x); the limits 1 and 0 at ±Infinity. */
export const swishDeriv = (v: number): number => (v === Infinity ? 1 : v === -Infinity ? 0 : sigma(v) * (1 + v * sigma(-v)));
export const swishGrad = (dy: Arr, x: Arr) => zip(dy, x, (g, v) => g * swishDeriv(v));
/** gelu'(x) = Φ(x) + x·φ(x); the limits 1 and 0 at ±Infinity. */
export const geluDeriv = (v: number): number => (v === Infinity ? 1 : v === -Infinity ? 0 : cdf(v) + v * pdf(v));
export const geluGrad = (dy: Arr, x: Arr) => zip(dy, x, (g, v) => g * geluDeriv(v));

/** x, dy: [rows, C]; alpha: [C]. dalpha[c] = Σ dy·x over the positions of channel c where x ≤ 0 (or NaN). */
export function preluGrad(dy: Arr, x: Arr, alpha: Arr): { dx: Float64Array; dalpha: Float64Array } {
  const C = alpha.length;
  const dx = new Float64Array(x.length);
  const dalpha = new Float64Array(C);
  for (let i = 0; i < x.length; i++) {
    const c = i % C;
    if (x[i] > 0) {
      dx[i] = dy[i];
    } else {
      dx[i] = alpha[c] * dy[i];
      dalpha[c] += dy[i] * x[i];
    }
  }
  return { dx, dalpha };
}

/** Softmax rows: dx_i = y_i·(dy_i − Σ_j dy_j·y_j). */
export function softmaxGrad(dy: Arr, y: Arr, cols: number): Float64Array {
  const dx = new Float64Array(y.length);
  for (let r = 0; r * cols < y.length; r++) {
    let s = 0;
    for (let c = 0; c < cols; c++) s += dy[r * cols + c] * y[r * cols + c];
    for (let c = 0; c < cols; c++) dx[r * cols + c] = y[r * cols + c] * (dy[r * cols + c] - s);
  }
  return dx;
}

/** Log-softmax rows (y the log-probabilities): dx_i = dy_i − exp(y_i)·Σ_j dy_j. */
export function logSoftmaxGrad(dy: Arr, y: Arr, cols: number): Float64Array {
  const dx = new Float64Array(y.length);
  for (let r = 0; r * cols < y.length; r++) {
    let s = 0;
    for (let c = 0; c < cols; c++) s += dy[r * cols + c];
    for (let c = 0; c < cols; c++) dx[r * cols + c] = dy[r * cols + c] - Math.exp(y[r * cols + c]) * s;
  }
  return dx;
}

/**
 * Maxout over k consecutive values: dy of each group goes to its first maximum, or to its first
 * NaN if it holds one (the element the forward's NaN came from); the rest get 0.
 */
export function maxoutGrad(dy: Arr, x: Arr, k: number): Float64Array {
  const dx = new Float64Array(x.length);
  for (let j = 0; j < dy.length; j++) {
    let at = 0;
    for (let i = 0; i < k; i++) {
      const v = x[j * k + i];
      if (Number.isNaN(v)) { at = i; break; }
      if (v > x[j * k + at]) at = i;
    }
    dx[j * k + at] = dy[j];
  }
  return dx;
}

// PyTorch's slopes at the kinks (hardtanh_backward, hardsigmoid_backward, hardswish_backward);
// NaN x gives NaN (PyTorch passes dy or 0 there; simdcnn propagates the NaN).
export const relu6Grad = (dy: Arr, x: Arr) => zip(dy, x, (g, v) => (Number.isNaN(v) ? NaN : v > 0 && v < 6 ? g : 0));
export const hardSigmoidGrad = (dy: Arr, x: Arr, alpha = 0.2, beta = 0.5) => zip(dy, x, (g, v) => {
  if (Number.isNaN(v)) return NaN;
  const t = Math.fround(Math.fround(Math.fround(alpha) * v) + Math.fround(beta)); // the kernel's float32 t
  return t > 0 && t < 1 ? g * Math.fround(alpha) : 0;
});
export const hardSwishGrad = (dy: Arr, x: Arr) => zip(dy, x, (g, v) => (Number.isNaN(v) ? NaN : v < -3 ? 0 : v <= 3 ? g * (v / 3 + 0.5) : g));
