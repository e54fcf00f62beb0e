// PyTorch's optimizer updates (torch.optim, single-tensor code paths) in float64, written from
// the formulas with plain loops and nothing shared with the library. State is created the way
// PyTorch creates it (SGD's momentum buffer starts as a copy of the first gradient, Adagrad's sum
// at the initial accumulator, the rest at zero) and keyed by the parameter array, as the library
// keys its state by the parameter tensor.

export type RefName = 'sgd' | 'adagrad' | 'rmsprop' | 'adam';

/** Settings with every default filled in (the library's `config`). */
export interface RefConfig {
  learningRate: number;
  momentum?: number; nesterov?: boolean; weightDecay?: number;
  epsilon?: number; initialAccumulator?: number;
  rho?: number;
  beta1?: number; beta2?: number; decoupled?: boolean;
}

export interface RefState { step: number; buffers: Record<string, Float64Array> }

export class RefOptimizer {
  readonly state = new Map<Float64Array, RefState>();
  constructor(readonly name: RefName, readonly config: RefConfig) {}

  /** Update each params[i] in place from grads[i]. */
  step(params: Float64Array[], grads: ArrayLike<number>[]): void {
    params.forEach((p, i) => {
      let st = this.state.get(p);
      if (!st) {
        st = { step: 0, buffers: {} };
        this.state.set(p, st);
      }
      st.step++;
      const update = { sgd: sgdRef, adagrad: adagradRef, rmsprop: rmspropRef, adam: adamRef }[this.name];
      update(p, grads[i], st, this.config);
    });
  }
}

/** d = g + wd·p; buf = (first step) d, else μ·buf + d; d = nesterov ? d + μ·buf : buf; p −= lr·d. */
function sgdRef(p: Float64Array, g: ArrayLike<number>, st: RefState, c: RefConfig): void {
  const lr = c.learningRate, mu = c.momentum ?? 0, wd = c.weightDecay ?? 0;
  const d = Float64Array.from(p, (pv, i) => g[i] + wd * pv);
  if (mu !== 0) {
    let buf = st.buffers.momentum;
    if (!buf) buf = st.buffers.momentum = Float64Array.from(d);
    else for (let i = 0; i < p.length; i++) buf[i] = mu * buf[i] + d[i];
    for (let i = 0; i < p.length; i++) d[i] = c.nesterov ? d[i] + mu * buf[i] : buf[i];
  }
  for (let i = 0; i < p.length; i++) p[i] -= lr * d[i];
}

/** d = g + wd·p; sum += d²; p −= lr·d / (√sum + eps). */
function adagradRef(p: Float64Array, g: ArrayLike<number>, st: RefState, c: RefConfig): void {
  const sum = (st.buffers.accumulator ??= new Float64Array(p.length).fill(c.initialAccumulator ?? 0));
  for (let i = 0; i < p.length; i++) {
    const d = g[i] + (c.weightDecay ?? 0) * p[i];
    sum[i] += d * d;
    p[i] -= c.learningRate * d / (Math.sqrt(sum[i]) + (c.epsilon ?? 1e-10));
  }
}

/** d = g + wd·p; sq = ρ·sq + (1−ρ)·d²; a = √sq + eps; buf = μ·buf + d/a, p −= lr·buf (or p −= lr·d/a). */
function rmspropRef(p: Float64Array, g: ArrayLike<number>, st: RefState, c: RefConfig): void {
  const rho = c.rho ?? 0.99, mu = c.momentum ?? 0;
  const sq = (st.buffers.squareAverage ??= new Float64Array(p.length));
  const buf = mu > 0 ? (st.buffers.momentum ??= new Float64Array(p.length)) : null;
  for (let i = 0; i < p.length; i++) {
    const d = g[i] + (c.weightDecay ?? 0) * p[i];
    sq[i] = rho * sq[i] + (1 - rho) * d * d;
    const avg = Math.sqrt(sq[i]) + (c.epsilon ?? 1e-8);
    if (buf) {
      buf[i] = mu * buf[i] + d / avg;
      p[i] -= c.learningRate * buf[i];
    } else {
      p[i] -= c.learningRate * d / avg;
    }
  }
}

/**
 * Adam: d = g + wd·p. AdamW: p ·= 1 − lr·wd, d = g. m = β1·m + (1−β1)·d; v = β2·v + (1−β2)·d²;
 * p −= lr/(1−β1^t) · m / (√v / √(1−β2^t) + eps).
 */
function adamRef(p: Float64Array, g: ArrayLike<number>, st: RefState, c: RefConfig): void {
  const lr = c.learningRate, b1 = c.beta1 ?? 0.9, b2 = c.beta2 ?? 0.999, eps = c.epsilon ?? 1e-8, wd = c.weightDecay ?? 0;
  const m = (st.buffers.m ??= new Float64Array(p.length));
  const v = (st.buffers.v ??= new Float64Array(p.length));
  const t = st.step;
  for (let i = 0; i < p.length; i++) {
    let d = g[i];
    if (c.decoupled) p[i] *= 1 - lr * wd;
    else d += wd * p[i];
    m[i] = b1 * m[i] + (1 - b1) * d;
    v[i] = b2 * v[i] + (1 - b2) * d * d;
    const mHat = m[i] / (1 - b1 ** t), vHat = v[i] / (1 - b2 ** t);
    p[i] -= lr * mHat / (Math.sqrt(vHat) + eps);
  }
}
