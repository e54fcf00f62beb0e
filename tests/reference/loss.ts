// Float64 references for the losses: the textbook formulas on plain arrays (row-major [N, K] or
// [N, D]), each returning the reduced loss. Gradients are not written out here: tests take
// central differences of these functions (numericGrad) and compare the library's gradients.

export type Reduction = 'mean' | 'sum';

const reduce = (sum: number, n: number, reduction: Reduction) => (reduction === 'mean' ? sum / n : sum);

/** Target rows as float64: one-hot from int labels, or the rows given; then (1 − ε)·t + ε/K. */
function targets(labels: ArrayLike<number>, intLabels: boolean, N: number, K: number, smoothing: number): Float64Array {
  const t = new Float64Array(N * K);
  for (let i = 0; i < N; i++) {
    for (let k = 0; k < K; k++) {
      const v = intLabels ? (labels[i] === k ? 1 : 0) : labels[i * K + k];
      t[i * K + k] = (1 - smoothing) * v + smoothing / K;
    }
  }
  return t;
}

/** −Σ_k t_k·log softmax(x)_k per row; log-softmax with the row max subtracted. */
export function softmaxCrossEntropyRef(
  x: ArrayLike<number>, labels: ArrayLike<number>, intLabels: boolean, N: number, K: number,
  smoothing = 0, reduction: Reduction = 'mean',
): number {
  const t = targets(labels, intLabels, N, K, smoothing);
  let sum = 0;
  for (let i = 0; i < N; i++) {
    let m = -Infinity;
    for (let k = 0; k < K; k++) m = Math.max(m, x[i * K + k]);
    let s = 0;
    for (let k = 0; k < K; k++) s += Math.exp(x[i * K + k] - m);
    const lse = m + Math.log(s);
    for (let k = 0; k < K; k++) sum -= t[i * K + k] * (x[i * K + k] - lse);
  }
  return reduce(sum, N, reduction);
}

/** Σ_{j≠y} max(0, x_j − x_y + margin)^p per row. */
export function hingeRef(
  x: ArrayLike<number>, labels: ArrayLike<number>, N: number, K: number, p = 1, margin = 1, reduction: Reduction = 'mean',
): number {
  let sum = 0;
  for (let i = 0; i < N; i++) {
    const y = labels[i];
    for (let j = 0; j < K; j++) {
      if (j === y) continue;
      sum += Math.max(0, x[i * K + j] - x[i * K + y] + margin) ** p;
    }
  }
  return reduce(sum, N, reduction);
}

/** same·d² + (1 − same)·max(0, margin − d)², d = ‖a − b‖₂ per row (no ½). */
export function contrastiveRef(
  a: ArrayLike<number>, b: ArrayLike<number>, same: ArrayLike<number>, N: number, D: number, margin = 1, reduction: Reduction = 'mean',
): number {
  let sum = 0;
  for (let i = 0; i < N; i++) {
    let d2 = 0;
    for (let k = 0; k < D; k++) d2 += (a[i * D + k] - b[i * D + k]) ** 2;
    const d = Math.sqrt(d2);
    sum += same[i] * d2 + (1 - same[i]) * Math.max(0, margin - d) ** 2;
  }
  return reduce(sum, N, reduction);
}

/** max(0, ‖a − p‖² − ‖a − n‖² + margin) per row (squared distances, FaceNet). */
export function tripletRef(
  a: ArrayLike<number>, p: ArrayLike<number>, n: ArrayLike<number>, N: number, D: number, margin = 1, reduction: Reduction = 'mean',
): number {
  let sum = 0;
  for (let i = 0; i < N; i++) {
    let dp = 0, dn = 0;
    for (let k = 0; k < D; k++) {
      dp += (a[i * D + k] - p[i * D + k]) ** 2;
      dn += (a[i * D + k] - n[i * D + k]) ** 2;
    }
    sum += Math.max(0, dp - dn + margin);
  }
  return reduce(sum, N, reduction);
}

/** Σ p·(log p − log q), 0·log 0 = 0; 'mean' divides by the N rows. */
export function klDivergenceRef(p: ArrayLike<number>, q: ArrayLike<number>, N: number, reduction: Reduction = 'mean'): number {
  let sum = 0;
  for (let i = 0; i < p.length; i++) if (p[i] !== 0) sum += p[i] * (Math.log(p[i]) - Math.log(q[i]));
  return reduce(sum, N, reduction);
}

/** Σ (x − t)² over all elements; 'mean' divides by their number. */
export function meanSquaredErrorRef(x: ArrayLike<number>, t: ArrayLike<number>, reduction: Reduction = 'mean'): number {
  let sum = 0;
  for (let i = 0; i < x.length; i++) sum += (x[i] - t[i]) ** 2;
  return reduce(sum, x.length, reduction);
}

/** First index of the row maximum. */
export function argmaxRef(x: ArrayLike<number>, offset: number, K: number): number {
  let best = 0;
  for (let k = 1; k < K; k++) if (x[offset + k] > x[offset + best]) best = k;
  return best;
}

/** Fraction of rows whose argmax is the label (int labels, or the argmax of target rows). */
export function accuracyRef(x: ArrayLike<number>, labels: ArrayLike<number>, intLabels: boolean, N: number, K: number): number {
  let hits = 0;
  for (let i = 0; i < N; i++) {
    const want = intLabels ? labels[i] : argmaxRef(labels, i * K, K);
    if (argmaxRef(x, i * K, K) === want) hits++;
  }
  return hits / N;
}

/**
 * ∂f/∂x by central differences in float64: (f(x + eps·e_i) − f(x − eps·e_i)) / 2eps for each i.
 * f reads x (a float64 copy that is perturbed in place).
 */
export function numericGrad(f: (x: Float64Array) => number, x: ArrayLike<number>, eps = 1e-6): Float64Array {
  const v = Float64Array.from(x);
  const g = new Float64Array(v.length);
  for (let i = 0; i < v.length; i++) {
    const old = v[i];
    v[i] = old + eps;
    const up = f(v);
    v[i] = old - eps;
    const down = f(v);
    v[i] = old;
    g[i] = (up - down) / (2 * eps);
  }
  return g;
}
