// Float64 references for batch normalisation over the last axis of [M, C] data: textbook loops.

type Arr = ArrayLike<number>;

/** Per-channel mean and biased variance (two passes, f64). */
export function stats(x: Arr, C: number): { mean: Float64Array; variance: Float64Array } {
  const M = x.length / C;
  const mean = new Float64Array(C), variance = new Float64Array(C);
  for (let i = 0; i < x.length; i++) mean[i % C] += x[i];
  for (let c = 0; c < C; c++) mean[c] /= M;
  for (let i = 0; i < x.length; i++) variance[i % C] += (x[i] - mean[i % C]) ** 2;
  for (let c = 0; c < C; c++) variance[c] /= M;
  return { mean, variance };
}

/** gamma·(x − mean)/√(var + eps) + beta (gamma, beta null: 1, 0). */
export function normalize(x: Arr, C: number, mean: Arr, variance: Arr, gamma: Arr | null, beta: Arr | null, eps: number): Float64Array {
  return Float64Array.from(x, (v, i) => {
    const c = i % C;
    return ((gamma ? gamma[c] : 1) * (v - mean[c])) / Math.sqrt(variance[c] + eps) + (beta ? beta[c] : 0);
  });
}

/** Training-mode gradients: dx = gamma·invStd/M·(M·dy − Σdy − x̂·Σ(dy·x̂)), dgamma = Σ dy·x̂, dbeta = Σ dy. */
export function grads(dy: Arr, x: Arr, C: number, gamma: Arr | null, eps: number): { dx: Float64Array; dgamma: Float64Array; dbeta: Float64Array } {
  const M = x.length / C;
  const { mean, variance } = stats(x, C);
  const inv = Float64Array.from(variance, (v) => 1 / Math.sqrt(v + eps));
  const xh = Float64Array.from(x, (v, i) => (v - mean[i % C]) * inv[i % C]);
  const dgamma = new Float64Array(C), dbeta = new Float64Array(C);
  for (let i = 0; i < x.length; i++) {
    dbeta[i % C] += dy[i];
    dgamma[i % C] += dy[i] * xh[i];
  }
  const dx = Float64Array.from(x, (_, i) => {
    const c = i % C;
    return ((gamma ? gamma[c] : 1) * inv[c] / M) * (M * dy[i] - dbeta[c] - xh[i] * dgamma[c]);
  });
  return { dx, dgamma, dbeta };
}
