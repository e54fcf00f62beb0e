import { ArgumentError, ShapeError, fmtShape } from '../errors.js';
import { parallelElements, poolThreads, type KernelName } from './parallel.js';
import { empty, type Tensor } from '../tensor.js';
import { rt, type Kernels } from '../runtime/wasm.js';
import { expectNumber, expectOptions, expectTensor } from './check.js';

// Elementwise activations (any rank, float32), softmax / logSoftmax over the last axis, prelu
// (one alpha per channel of the last axis, NHWC) and maxout (max over k consecutive channels).
// Each op validates, allocates its output and runs one kernel of assembly/activation.ts.
// conv2d and dense fuse an activation by name: parseActivation at validation time, then
// activateInPlace on their output.

/** Activations that conv2d, dense and the layers accept by name. */
export type ActivationName =
  | 'linear' | 'relu' | 'relu6' | 'leakyRelu' | 'elu' | 'selu' | 'sigmoid' | 'hardSigmoid' | 'tanh' | 'swish' | 'silu' | 'hardSwish' | 'gelu'
  | 'softmax' | 'logSoftmax';
/** An activation's name, or its name with an alpha (leakyRelu, elu, hardSigmoid) and a beta (hardSigmoid). */
export type Activation = ActivationName | { name: ActivationName; alpha?: number; beta?: number };
/**
 * What parseActivation returns: alpha is the default where none was given, 0 where none applies;
 * beta is present for hardSigmoid only.
 */
export type ParsedActivation = { name: ActivationName; alpha: number; beta?: number };

/** Options of hardSigmoid and hardSigmoidBackward. */
export interface HardSigmoidOptions {
  /** Slope; 0.2 as in ONNX, tfjs and Keras 2 (PyTorch's Hardsigmoid and Keras 3 use 1/6). */
  alpha?: number;
  /** Offset; 0.5 (PyTorch's is 0.5 too). */
  beta?: number;
}

const NAMES: readonly ActivationName[] = [
  'linear', 'relu', 'relu6', 'leakyRelu', 'elu', 'selu', 'sigmoid', 'hardSigmoid', 'tanh', 'swish', 'silu', 'hardSwish', 'gelu', 'softmax', 'logSoftmax',
];
/** The activations that take an alpha, and its default. */
const DEFAULT_ALPHA: Partial<Record<ActivationName, number>> = { leakyRelu: 0.01, elu: 1, hardSigmoid: 0.2 };
/** The activations that take a beta, and its default. */
const DEFAULT_BETA: Partial<Record<ActivationName, number>> = { hardSigmoid: 0.5 };

/**
 * How each activation runs: y = f(x) over n elements (x == y allowed); row-wise ones see the
 * last axis as rows of `cols`.
 */
type Apply = (k: Kernels, x: number, y: number, n: number, cols: number, alpha: number, beta: number) => void;
const APPLY: Record<Exclude<ActivationName, 'linear'>, Apply> = {
  relu: (k, x, y, n) => k.relu_f32(x, y, n),
  relu6: (k, x, y, n) => k.relu6_f32(x, y, n),
  hardSigmoid: (k, x, y, n, _cols, alpha, beta) => k.hard_sigmoid_f32(x, y, n, alpha, beta),
  hardSwish: (k, x, y, n) => k.hard_swish_f32(x, y, n),
  silu: (k, x, y, n) => k.swish_f32(x, y, n),
  leakyRelu: (k, x, y, n, _cols, alpha) => k.leaky_relu_f32(x, y, n, alpha),
  elu: (k, x, y, n, _cols, alpha) => k.elu_f32(x, y, n, alpha),
  selu: (k, x, y, n) => k.selu_f32(x, y, n),
  sigmoid: (k, x, y, n) => k.sigmoid_f32(x, y, n),
  tanh: (k, x, y, n) => k.tanh_f32(x, y, n),
  swish: (k, x, y, n) => k.swish_f32(x, y, n),
  gelu: (k, x, y, n) => k.gelu_f32(x, y, n),
  softmax: (k, x, y, n, cols) => k.softmax_f32(x, y, rowsOf(n, cols), cols),
  logSoftmax: (k, x, y, n, cols) => k.log_softmax_f32(x, y, rowsOf(n, cols), cols),
};

/** max(x, 0). */
export function relu(x: Tensor): Tensor {
  return unary('relu', x, 0);
}

/** min(max(x, 0), 6) (PyTorch's ReLU6, Keras' relu with max_value 6); NaN stays NaN. */
export function relu6(x: Tensor): Tensor {
  return unary('relu6', x, 0);
}

/**
 * max(0, min(1, alpha·x + beta)), alpha·x + beta rounded as a product then a sum. The defaults
 * alpha = 0.2, beta = 0.5 are ONNX's, tfjs' and Keras 2's HardSigmoid; PyTorch's nn.Hardsigmoid
 * (and Keras 3's hard_sigmoid) is `{ alpha: 1 / 6 }` (beta 0.5), i.e. relu6(x + 3)/6. NaN stays NaN.
 */
export function hardSigmoid(x: Tensor, options?: HardSigmoidOptions): Tensor {
  const op = 'hardSigmoid';
  const o = expectOptions(op, options, ['alpha', 'beta']);
  const alpha = expectNumber(op, 'alpha', o.alpha, 0.2);
  const beta = expectNumber(op, 'beta', o.beta, 0.5);
  return unary(op, x, alpha, beta);
}

/** x·relu6(x + 3)/6 (PyTorch's Hardswish, MobileNetV3); −Infinity gives 0 (the limit), NaN stays NaN. */
export function hardSwish(x: Tensor): Tensor {
  return unary('hardSwish', x, 0);
}

/** x > 0 ? x : alpha·x. */
export function leakyRelu(x: Tensor, alpha = 0.01): Tensor {
  return unary('leakyRelu', x, expectNumber('leakyRelu', 'alpha', alpha, 0.01));
}

/** x > 0 ? x : alpha[c]·x, with alpha of shape [C], C = x's last dim (channels, NHWC). */
export function prelu(x: Tensor, alpha: Tensor): Tensor {
  const op = 'prelu';
  const t = expectTensor(op, 'x', x);
  const a = expectTensor(op, 'alpha', alpha);
  if (t.rank === 0) throw new ShapeError(`${op}: x must have a channel axis, got a scalar ${fmtShape(t.shape)}`);
  const C = t.shape[t.rank - 1];
  if (a.rank !== 1 || a.shape[0] !== C) {
    throw new ShapeError(`${op}: alpha must have shape [${C}] (one per channel of x ${fmtShape(t.shape)}), got alpha ${fmtShape(a.shape)}`);
  }
  const y = empty(t.shape);
  rt().kernels.prelu_f32(t.ptr, a.ptr, y.ptr, rowsOf(t.size, C), C);
  return y;
}

/** x > 0 ? x : alpha·(exp(x) − 1). */
export function elu(x: Tensor, alpha = 1): Tensor {
  return unary('elu', x, expectNumber('elu', 'alpha', alpha, 1));
}

/** scale·elu(x, alpha) with PyTorch's alpha = 1.6732632423543772, scale = 1.0507009873554805. */
export function selu(x: Tensor): Tensor {
  return unary('selu', x, 0);
}

/** 1/(1 + exp(−x)). */
export function sigmoid(x: Tensor): Tensor {
  return unary('sigmoid', x, 0);
}

/** Hyperbolic tangent. */
export function tanh(x: Tensor): Tensor {
  return unary('tanh', x, 0);
}

/** x·sigmoid(x) (SiLU). At −Infinity it gives 0, the limit. */
export function swish(x: Tensor): Tensor {
  return unary('swish', x, 0);
}

/** SiLU, PyTorch's name for swish: the same function (`silu === swish`). */
export const silu = swish;

/** x·Φ(x) = x·(1 + erf(x/√2))/2, the exact (erf) form, PyTorch's default. At −Infinity, 0. */
export function gelu(x: Tensor): Tensor {
  return unary('gelu', x, 0);
}

/** exp(x − max) / Σ exp(x − max) over the last axis; a row holding NaN (or only −Infinity) is all NaN. */
export function softmax(x: Tensor): Tensor {
  return unary('softmax', x, 0);
}

/** x − max − log Σ exp(x − max) over the last axis; NaN rows as in softmax. */
export function logSoftmax(x: Tensor): Tensor {
  return unary('logSoftmax', x, 0);
}

/** Max over each group of k consecutive channels of the last axis: [..., C] → [..., C/k]. NaN propagates. */
export function maxout(x: Tensor, k: number): Tensor {
  const op = 'maxout';
  const t = expectTensor(op, 'x', x);
  if (typeof k !== 'number' || !Number.isInteger(k) || k < 1) {
    throw new ArgumentError(`${op}: k must be a positive integer, got ${typeof k === 'number' ? k : String(k)} (x ${fmtShape(t.shape)})`);
  }
  if (t.rank === 0) throw new ShapeError(`${op}: x must have a channel axis, got a scalar ${fmtShape(t.shape)}`);
  const C = t.shape[t.rank - 1];
  if (C % k !== 0) throw new ShapeError(`${op}: x's last dim ${C} is not divisible by k = ${k} (x ${fmtShape(t.shape)})`);
  const y = empty([...t.shape.slice(0, -1), C / k]);
  rt().kernels.maxout_f32(t.ptr, y.ptr, rowsOf(t.size, C), C, k);
  return y;
}

/**
 * Read an op's `activation` option: null for none (undefined or 'linear'), else the name and its
 * alpha. Anything else is an ArgumentError naming the op and the valid names. @internal
 */
export function parseActivation(op: string, activation: unknown): ParsedActivation | null {
  if (activation === undefined) return null;
  let name: unknown = activation;
  let alpha: unknown;
  let beta: unknown;
  if (activation !== null && typeof activation === 'object' && !Array.isArray(activation)) {
    for (const key of Object.keys(activation)) {
      if (key !== 'name' && key !== 'alpha' && key !== 'beta') throw new ArgumentError(`${op}: activation has an unknown key '${key}' (known: name, alpha, beta)`);
    }
    ({ name, alpha, beta } = activation as { name?: unknown; alpha?: unknown; beta?: unknown });
  }
  if (typeof name !== 'string' || !(NAMES as readonly string[]).includes(name)) {
    const got = typeof name === 'string' ? JSON.stringify(name) : String(name);
    throw new ArgumentError(`${op}: unknown activation ${got} (valid: ${NAMES.join(', ')})`);
  }
  const valid = name as ActivationName;
  const fallback = DEFAULT_ALPHA[valid];
  const fallbackBeta = DEFAULT_BETA[valid];
  if (fallbackBeta === undefined && beta !== undefined) throw new ArgumentError(`${op}: activation '${valid}' takes no beta, got ${String(beta)}`);
  if (fallback === undefined) {
    if (alpha !== undefined) throw new ArgumentError(`${op}: activation '${valid}' takes no alpha, got ${String(alpha)}`);
    return valid === 'linear' ? null : { name: valid, alpha: 0 };
  }
  const parsed: ParsedActivation = { name: valid, alpha: expectNumber(op, `${valid} alpha`, alpha, fallback) };
  if (fallbackBeta !== undefined) parsed.beta = expectNumber(op, `${valid} beta`, beta, fallbackBeta);
  return parsed;
}

/**
 * Activations a convolution kernel can apply to its output rows while they are in cache
 * (assembly/conv-act.ts's activate_f32 ids); relu and relu6 are store clamps instead.
 */
const EPILOGUE_IDS: Partial<Record<ActivationName, number>> = {
  silu: 1, swish: 1, sigmoid: 2, tanh: 3, gelu: 4, elu: 5, selu: 6, leakyRelu: 7, hardSigmoid: 8, hardSwish: 9,
};

/** The fused-activation arguments [id, alpha, beta] of the conv-act kernels, or null when act has none. @internal */
export function epilogueArgs(act: ParsedActivation | null): [number, number, number] | null {
  const id = act ? EPILOGUE_IDS[act.name] : undefined;
  return id === undefined ? null : [id, act!.alpha, act!.beta ?? DEFAULT_BETA[act!.name] ?? 0];
}

/**
 * A parsed activation as an op option again: the name alone, with alpha (and beta) only where the
 * activation takes them, so parseActivation accepts it back. @internal
 */
export function activationAsOption(act: ParsedActivation): Activation {
  if (DEFAULT_ALPHA[act.name] === undefined) return act.name;
  return act.beta === undefined ? { name: act.name, alpha: act.alpha } : { name: act.name, alpha: act.alpha, beta: act.beta };
}

/** Overwrite t's data with act(t) (softmax kinds over the last axis), using the same kernels as the ops. @internal */
export function activateInPlace(t: Tensor, act: ParsedActivation): void {
  expectTensor(act.name, 'x', t);
  if (act.name === 'linear') return;
  if (!Object.prototype.hasOwnProperty.call(APPLY, act.name)) {
    throw new ArgumentError(`activateInPlace: unknown activation ${String(act.name)} (valid: ${NAMES.join(', ')})`);
  }
  apply(act.name, t.ptr, t.ptr, t.size, lastDim(t.shape), act.alpha, act.beta ?? DEFAULT_BETA[act.name] ?? 0);
  t.version++;
}

function unary(op: Exclude<ActivationName, 'linear'>, x: Tensor, alpha: number, beta = 0): Tensor {
  const t = expectTensor(op, 'x', x);
  const y = empty(t.shape);
  apply(op, t.ptr, y.ptr, t.size, lastDim(t.shape), alpha, beta);
  return y;
}

/** The elementwise activations' kernels and extra arguments (split over threads in 64-float blocks). */
const ELEMENTWISE: Partial<Record<Exclude<ActivationName, 'linear'>, [KernelName, (alpha: number, beta: number) => number[]]>> = {
  relu: ['relu_f32', () => []], relu6: ['relu6_f32', () => []], hardSwish: ['hard_swish_f32', () => []],
  hardSigmoid: ['hard_sigmoid_f32', (a, b) => [a, b]], silu: ['swish_f32', () => []], swish: ['swish_f32', () => []],
  leakyRelu: ['leaky_relu_f32', (a) => [a]], elu: ['elu_f32', (a) => [a]], selu: ['selu_f32', () => []],
  sigmoid: ['sigmoid_f32', () => []], tanh: ['tanh_f32', () => []], gelu: ['gelu_f32', () => []],
};

/**
 * Work per element of the activations with an exp, tanh or erf (the others are memory-bound and
 * count 1), for the threads' split threshold. A/B with 2 threads on the 2-vCPU VM, one process:
 * gelu split from 16k elements ×1.48, tanh ×1.2; swish split from 16k (cost 16) EfficientNet-B0
 * ×1.01–1.04 over never (cost 1), cost 4 or 64 no better; sigmoid, elu and selu (cheaper per
 * element) split only from 64k.
 */
const COST: Partial<Record<ActivationName, number>> = { silu: 16, swish: 16, tanh: 16, gelu: 16, sigmoid: 4, elu: 4, selu: 4 };

function apply(op: Exclude<ActivationName, 'linear'>, x: number, y: number, n: number, cols: number, alpha: number, beta: number): void {
  const e = ELEMENTWISE[op];
  if (e && poolThreads() > 1) parallelElements(e[0], n, (off, count) => [x + off, y + off, count, ...e[1](alpha, beta)], COST[op] ?? 1);
  else APPLY[op](rt().kernels, x, y, n, cols, alpha, beta);
}

/** The last axis' length; a scalar is one row of one. */
function lastDim(shape: readonly number[]): number {
  return shape.length ? shape[shape.length - 1] : 1;
}

function rowsOf(size: number, cols: number): number {
  return cols === 0 ? 0 : size / cols;
}
