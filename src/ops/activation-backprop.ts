import { ArgumentError, ShapeError, fmtShape } from '../errors.js';
import { parallelElements, poolThreads, type KernelName } from './parallel.js';
import { rt, type Kernels } from '../runtime/wasm.js';
import { empty, type Tensor } from '../tensor.js';
import type { ActivationName, HardSigmoidOptions } from './activation.js';
import { expectNumber, expectOptions, expectTensor } from './check.js';
import { sameShape } from './shape.js';

// Gradients of the activations of src/ops/activation.ts, as ops: each takes dy (the gradient of
// the activation's output) and what the derivative is cheapest from (the forward input x, or the
// forward output y for sigmoid, tanh, softmax and logSoftmax), validates, allocates dx and runs
// one kernel of assembly/activation-backprop.ts. At a kink the slope is that of the forward's
// branch for x = 0 (relu 0; leakyRelu, prelu, elu alpha); relu6, hardSigmoid and hardSwish take
// PyTorch's slopes at their kinks (see each op). Layers call activationBackward with the
// activation they parsed.

/** The gradients of prelu: dx like x, dalpha like alpha ([C]). */
export interface PreluGrads {
  dx: Tensor;
  dalpha: Tensor;
}

/** dx = dy where x > 0, else 0 (0 at x = 0, and where x is NaN). */
export function reluBackward(dy: Tensor, x: Tensor): Tensor {
  return elementwise('reluBackward', 'x', dy, x, reluGrad);
}

/** dx = dy where 0 < x < 6, else 0 (0 at both kinks, as PyTorch's hardtanh_backward); NaN where x is NaN. */
export function relu6Backward(dy: Tensor, x: Tensor): Tensor {
  return elementwise('relu6Backward', 'x', dy, x, (k, g, v, d, n) => k.relu6_grad_f32(g, v, d, n));
}

/**
 * dx = alpha·dy where 0 < alpha·x + beta < 1, else 0 (0 at both kinks, as PyTorch's
 * hardsigmoid_backward); NaN where x is NaN. Same options and defaults as hardSigmoid
 * (alpha 0.2, beta 0.5; PyTorch's is alpha 1/6).
 */
export function hardSigmoidBackward(dy: Tensor, x: Tensor, options?: HardSigmoidOptions): Tensor {
  const op = 'hardSigmoidBackward';
  const o = expectOptions(op, options, ['alpha', 'beta']);
  const a = expectNumber(op, 'alpha', o.alpha, 0.2);
  const b = expectNumber(op, 'beta', o.beta, 0.5);
  return elementwise(op, 'x', dy, x, (k, g, v, d, n) => k.hard_sigmoid_grad_f32(g, v, d, n, a, b));
}

/**
 * dx = 0 where x < −3, dy·(x/3 + 1/2) where −3 ≤ x ≤ 3, dy where x > 3: PyTorch's
 * hardswish_backward, so the slope is −1/2 at x = −3 and 3/2 at x = 3. NaN where x is NaN.
 */
export function hardSwishBackward(dy: Tensor, x: Tensor): Tensor {
  return elementwise('hardSwishBackward', 'x', dy, x, (k, g, v, d, n) => k.hard_swish_grad_f32(g, v, d, n));
}

/** dx = dy where x > 0, else alpha·dy. */
export function leakyReluBackward(dy: Tensor, x: Tensor, alpha = 0.01): Tensor {
  const a = expectNumber('leakyReluBackward', 'alpha', alpha, 0.01);
  return elementwise('leakyReluBackward', 'x', dy, x, (k, g, v, d, n) => k.leaky_relu_grad_f32(g, v, d, n, a));
}

/** dx = dy where x > 0, else dy·alpha·exp(x). */
export function eluBackward(dy: Tensor, x: Tensor, alpha = 1): Tensor {
  const a = expectNumber('eluBackward', 'alpha', alpha, 1);
  return elementwise('eluBackward', 'x', dy, x, (k, g, v, d, n) => k.elu_grad_f32(g, v, d, n, a));
}

/** dx = dy·scale where x > 0, else dy·scale·alpha·exp(x) (PyTorch's selu constants). */
export function seluBackward(dy: Tensor, x: Tensor): Tensor {
  return elementwise('seluBackward', 'x', dy, x, (k, g, v, d, n) => k.selu_grad_f32(g, v, d, n));
}

/** dx = dy·y·(1 − y), with y = sigmoid(x) the forward's output. */
export function sigmoidBackward(dy: Tensor, y: Tensor): Tensor {
  return elementwise('sigmoidBackward', 'y', dy, y, (k, g, v, d, n) => k.sigmoid_grad_f32(g, v, d, n));
}

/** dx = dy·(1 − y²), with y = tanh(x) the forward's output. */
export function tanhBackward(dy: Tensor, y: Tensor): Tensor {
  return elementwise('tanhBackward', 'y', dy, y, (k, g, v, d, n) => k.tanh_grad_f32(g, v, d, n));
}

/** dx = dy·(σ(x) + x·σ(x)·(1 − σ(x))); at ±Infinity the limits dy·1 and dy·0. */
export function swishBackward(dy: Tensor, x: Tensor): Tensor {
  return elementwise('swishBackward', 'x', dy, x, (k, g, v, d, n) => k.swish_grad_f32(g, v, d, n));
}

/** The gradient of silu: the same function as swishBackward. */
export const siluBackward = swishBackward;

/** dx = dy·(Φ(x) + x·φ(x)), the derivative of the exact (erf) gelu; at ±Infinity dy·1 and dy·0. */
export function geluBackward(dy: Tensor, x: Tensor): Tensor {
  return elementwise('geluBackward', 'x', dy, x, (k, g, v, d, n) => k.gelu_grad_f32(g, v, d, n));
}

/** Over the last axis: dx = y ⊙ (dy − Σ dy ⊙ y), with y = softmax(x) the forward's output. */
export function softmaxBackward(dy: Tensor, y: Tensor): Tensor {
  return elementwise('softmaxBackward', 'y', dy, y, (k, g, v, d, n, cols) => k.softmax_grad_f32(g, v, d, rowsOf(n, cols), cols));
}

/** Over the last axis: dx = dy − exp(y)·Σ dy, with y = logSoftmax(x) the forward's output. */
export function logSoftmaxBackward(dy: Tensor, y: Tensor): Tensor {
  return elementwise('logSoftmaxBackward', 'y', dy, y, (k, g, v, d, n, cols) => k.log_softmax_grad_f32(g, v, d, rowsOf(n, cols), cols));
}

/**
 * dy [..., C/k], x [..., C] → dx [..., C]: each group of k channels passes dy to its first max
 * (to its first NaN if it holds one, the forward's NaN), 0 to the others.
 */
export function maxoutBackward(dy: Tensor, x: Tensor, k: number): Tensor {
  const op = 'maxoutBackward';
  const g = expectTensor(op, 'dy', dy);
  const t = expectTensor(op, 'x', x);
  if (typeof k !== 'number' || !Number.isInteger(k) || k < 1) {
    throw new ArgumentError(`${op}: k must be a positive integer, got ${typeof k === 'number' ? k : String(k)} (x ${fmtShape(t.shape)})`);
  }
  if (t.rank === 0) throw new ShapeError(`${op}: x must have a channel axis, got a scalar ${fmtShape(t.shape)}`);
  const C = t.shape[t.rank - 1];
  if (C % k !== 0) throw new ShapeError(`${op}: x's last dim ${C} is not divisible by k = ${k} (x ${fmtShape(t.shape)})`);
  const want = [...t.shape.slice(0, -1), C / k];
  if (!sameShape(g.shape, want)) {
    throw new ShapeError(`${op}: dy must be ${fmtShape(want)} (maxout of x ${fmtShape(t.shape)} with k = ${k}), got dy ${fmtShape(g.shape)}`);
  }
  const dx = empty(t.shape);
  rt().kernels.maxout_grad_f32(g.ptr, t.ptr, dx.ptr, rowsOf(t.size, C), C, k);
  return dx;
}

/**
 * dy, x [..., C], alpha [C] → dx = dy where x > 0, else alpha[c]·dy; dalpha[c] = Σ dy·x over every
 * position of channel c where x ≤ 0 (summed in f64). Where x is NaN, dalpha is NaN.
 */
export function preluBackward(dy: Tensor, x: Tensor, alpha: Tensor): PreluGrads {
  const op = 'preluBackward';
  const g = expectTensor(op, 'dy', dy);
  const t = expectTensor(op, 'x', x);
  const a = expectTensor(op, 'alpha', alpha);
  if (t.rank === 0) throw new ShapeError(`${op}: x must have a channel axis, got a scalar ${fmtShape(t.shape)}`);
  checkSame(op, g, 'x', t);
  const C = t.shape[t.rank - 1];
  if (a.rank !== 1 || a.shape[0] !== C) {
    throw new ShapeError(`${op}: alpha must have shape [${C}] (one per channel of x ${fmtShape(t.shape)}), got alpha ${fmtShape(a.shape)}`);
  }
  const dx = empty(t.shape);
  let dalpha: Tensor | null = null;
  let acc = 0;
  const heap = rt().heap;
  try {
    dalpha = empty([C]);
    acc = heap.alloc(C * 8);
    rt().kernels.prelu_grad_f32(g.ptr, t.ptr, a.ptr, dx.ptr, dalpha.ptr, acc, rowsOf(t.size, C), C);
  } catch (e) {
    dx.dispose();
    dalpha?.dispose();
    throw e;
  } finally {
    if (acc) heap.free(acc);
  }
  return { dx, dalpha };
}

/**
 * The gradient of a parsed activation (what conv2d, dense and the layers accept by name): x is
 * the activation's input, y its output. Only the one the derivative is taken from is read (y for
 * sigmoid, tanh, softmax and logSoftmax, x for the others), so the other may be null. 'linear'
 * reads neither and returns a copy of dy.
 */
export function activationBackward(act: { name: ActivationName; alpha: number; beta?: number }, dy: Tensor, x: Tensor | null, y: Tensor | null): Tensor {
  if (act === null || typeof act !== 'object' || !Object.prototype.hasOwnProperty.call(BACKWARD, act.name)) {
    const got = act !== null && typeof act === 'object' ? JSON.stringify((act as { name?: unknown }).name) : String(act);
    throw new ArgumentError(`activationBackward: unknown activation ${got} (valid: ${Object.keys(BACKWARD).join(', ')})`);
  }
  const { from, run } = BACKWARD[act.name];
  const op = `activationBackward(${act.name})`;
  if (from === null) return copy(op, dy);
  const input = from === 'x' ? x : y;
  if (input === null || input === undefined) {
    throw new ArgumentError(`${op}: needs ${from} (the activation's ${from === 'x' ? 'input' : 'output'}), got ${String(input)}`);
  }
  return run(op, act, dy, input);
}

// ---- helpers ----

/** Runs one elementwise (or row-wise, `cols` = last dim) gradient kernel: dy, v → dx over n elements. */
type Kernel = (k: Kernels, dy: number, v: number, dx: number, n: number, cols: number) => void;

/** dy and v (x or y, named `name`) of the same shape → dx of that shape. */
function elementwise(op: string, name: 'x' | 'y', dy: Tensor, v: Tensor, kernel: Kernel): Tensor {
  const g = expectTensor(op, 'dy', dy);
  const t = expectTensor(op, name, v);
  checkSame(op, g, name, t);
  const dx = empty(t.shape);
  const cols = t.rank ? t.shape[t.rank - 1] : 1;
  const k = rt().kernels;
  // Elementwise kernels (n ≥ 0 elements, no row structure) split over threads in 64-float blocks.
  const simple = ELEMENTWISE_GRADS.has(kernel);
  if (simple && poolThreads() > 1) {
    const name = ELEMENTWISE_GRADS.get(kernel)!;
    parallelElements(name[0], t.size, (off, n) => [g.ptr + off, t.ptr + off, dx.ptr + off, n, ...name[1]]);
  } else kernel(k, g.ptr, t.ptr, dx.ptr, t.size, cols);
  return dx;
}

/** The plain elementwise gradient kernels by their closure here, with their extra arguments. */
const ELEMENTWISE_GRADS = new Map<Kernel, [KernelName, number[]]>();
const reluGrad: Kernel = (k, g, v, d, n) => k.relu_grad_f32(g, v, d, n);
ELEMENTWISE_GRADS.set(reluGrad, ['relu_grad_f32', []]);

type Backward = { from: 'x' | 'y' | null; run: (op: string, act: { alpha: number; beta?: number }, dy: Tensor, v: Tensor) => Tensor };

/** By name: which tensor the derivative is taken from, and how. */
const BACKWARD: Record<ActivationName, Backward> = {
  linear: { from: null, run: (op, _act, dy) => copy(op, dy) },
  relu: { from: 'x', run: (op, _act, dy, x) => elementwise(op, 'x', dy, x, reluGrad) },
  relu6: { from: 'x', run: (op, _act, dy, x) => elementwise(op, 'x', dy, x, (k, g, v, d, n) => k.relu6_grad_f32(g, v, d, n)) },
  hardSigmoid: {
    from: 'x',
    run: (op, act, dy, x) => {
      const a = expectNumber(op, 'alpha', act.alpha, 0.2);
      const b = expectNumber(op, 'beta', act.beta, 0.5);
      return elementwise(op, 'x', dy, x, (k, g, v, d, n) => k.hard_sigmoid_grad_f32(g, v, d, n, a, b));
    },
  },
  hardSwish: { from: 'x', run: (op, _act, dy, x) => elementwise(op, 'x', dy, x, (k, g, v, d, n) => k.hard_swish_grad_f32(g, v, d, n)) },
  silu: { from: 'x', run: (op, _act, dy, x) => elementwise(op, 'x', dy, x, (k, g, v, d, n) => k.swish_grad_f32(g, v, d, n)) },
  leakyRelu: {
    from: 'x',
    run: (op, act, dy, x) => {
      const a = expectNumber(op, 'alpha', act.alpha, 0.01);
      return elementwise(op, 'x', dy, x, (k, g, v, d, n) => k.leaky_relu_grad_f32(g, v, d, n, a));
    },
  },
  elu: {
    from: 'x',
    run: (op, act, dy, x) => {
      const a = expectNumber(op, 'alpha', act.alpha, 1);
      return elementwise(op, 'x', dy, x, (k, g, v, d, n) => k.elu_grad_f32(g, v, d, n, a));
    },
  },
  selu: { from: 'x', run: (op, _act, dy, x) => elementwise(op, 'x', dy, x, (k, g, v, d, n) => k.selu_grad_f32(g, v, d, n)) },
  sigmoid: { from: 'y', run: (op, _act, dy, y) => elementwise(op, 'y', dy, y, (k, g, v, d, n) => k.sigmoid_grad_f32(g, v, d, n)) },
  tanh: { from: 'y', run: (op, _act, dy, y) => elementwise(op, 'y', dy, y, (k, g, v, d, n) => k.tanh_grad_f32(g, v, d, n)) },
  swish: { from: 'x', run: (op, _act, dy, x) => elementwise(op, 'x', dy, x, (k, g, v, d, n) => k.swish_grad_f32(g, v, d, n)) },
  gelu: { from: 'x', run: (op, _act, dy, x) => elementwise(op, 'x', dy, x, (k, g, v, d, n) => k.gelu_grad_f32(g, v, d, n)) },
  softmax: {
    from: 'y',
    run: (op, _act, dy, y) => elementwise(op, 'y', dy, y, (k, g, v, d, n, cols) => k.softmax_grad_f32(g, v, d, rowsOf(n, cols), cols)),
  },
  logSoftmax: {
    from: 'y',
    run: (op, _act, dy, y) => elementwise(op, 'y', dy, y, (k, g, v, d, n, cols) => k.log_softmax_grad_f32(g, v, d, rowsOf(n, cols), cols)),
  },
};

/** 'linear': a copy of dy. */
function copy(op: string, dy: Tensor): Tensor {
  const g = expectTensor(op, 'dy', dy);
  const dx = empty(g.shape);
  const f32 = rt().heap.f32(); // after the allocation: a grow detaches older views
  f32.copyWithin(dx.ptr >>> 2, g.ptr >>> 2, (g.ptr >>> 2) + g.size);
  return dx;
}

function checkSame(op: string, dy: Tensor, name: string, t: Tensor): void {
  if (!sameShape(dy.shape, t.shape)) {
    throw new ShapeError(`${op}: dy and ${name} must have the same shape, got dy ${fmtShape(dy.shape)} and ${name} ${fmtShape(t.shape)}`);
  }
}

function rowsOf(size: number, cols: number): number {
  return cols === 0 ? 0 : size / cols;
}
