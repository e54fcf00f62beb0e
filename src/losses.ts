import { ArgumentError, ShapeError, fmtShape } from './errors.js';
import { empty, Tensor } from './tensor.js';
import { rt } from './runtime/wasm.js';
import { expectBool, expectNumber, expectOptions, expectTensor } from './ops/check.js';
import { sameShape } from './ops/shape.js';

// Losses: the scalar value and its gradient with respect to each differentiable input, from one
// kernel call of assembly/losses.ts each. Conventions, for every loss:
// - `reduction: 'mean'` (default) divides the summed per-row losses by the batch size N (the first
//   dim); meanSquaredError alone means over *all* elements. `'sum'` returns the plain sum.
// - grads are new float32 tensors the caller owns, one per differentiable input, in argument
//   order, already scaled by the reduction (1/N for a mean). `grad: false` skips them (grads = []).
// - The loss is summed in float64; per-row terms and gradients are float32.
// - At a kink (hinge exactly at the margin, triplet exactly at 0, contrastive at the margin or
//   at a == b) the gradient is the subgradient 0 for the inactive term.

/** The value of a loss and its gradients (see the conventions above). */
export interface LossResult {
  /** The reduced loss (a float64 number). */
  loss: number;
  /** ∂loss/∂input for each differentiable input, in argument order; [] with `grad: false`. */
  grads: Tensor[];
}

export type Reduction = 'mean' | 'sum';

export interface LossOptions {
  /** 'mean' (default): over the batch (over all elements for meanSquaredError); 'sum': no division. */
  reduction?: Reduction;
  /** Compute gradients (default true). */
  grad?: boolean;
}

export interface SoftmaxCrossEntropyOptions extends LossOptions {
  /** ε in [0, 1): targets become (1 − ε)·t + ε/K (as PyTorch's label_smoothing). Default 0. */
  labelSmoothing?: number;
}

export interface HingeOptions extends LossOptions {
  /** 1 (hinge) or 2 (squared hinge). Default 1. */
  p?: 1 | 2;
  /** Default 1. */
  margin?: number;
}

export interface ContrastiveOptions extends LossOptions {
  /** Distance beyond which dissimilar pairs cost nothing. Default 1. */
  margin?: number;
}

export interface TripletOptions extends LossOptions {
  /** Required gap between the squared distances. Default 1. */
  margin?: number;
}

/**
 * A loss of a prediction and a target, as `model.compile({ loss })` takes it. softmaxCrossEntropy,
 * hinge and meanSquaredError have this form; klDivergence takes the target *first*
 * (`(pred, target) => klDivergence(target, pred)` adapts it).
 */
export type LossFunction = (prediction: Tensor, target: Tensor, options?: LossOptions) => LossResult;

const COMMON = ['reduction', 'grad'] as const;

/**
 * Cross-entropy of softmax(logits) against the labels: per row −Σ_k t_k·log softmax(x)_k, with a
 * stable log-softmax (row max subtracted). logits: float32 [N, K]. labels: int32 [N] class indices
 * in 0..K−1, or float32 [N, K] target rows (one-hot or probabilities). grads: [∂/∂logits]
 * = (softmax·Σt − t)/N, i.e. (softmax − t)/N for rows that sum to 1.
 */
export function softmaxCrossEntropy(logits: Tensor, labels: Tensor, options?: SoftmaxCrossEntropyOptions): LossResult {
  const op = 'softmaxCrossEntropy';
  const o = expectOptions(op, options, [...COMMON, 'labelSmoothing']);
  const { scale, grad, reduce } = common(op, o);
  const smoothing = expectNumber(op, 'labelSmoothing', o.labelSmoothing, 0, 0, 1);
  if (smoothing >= 1) throw new ArgumentError(`${op}: labelSmoothing must be in [0, 1), got ${smoothing}`);
  const x = expectTensor(op, 'logits', logits, 2);
  const [N, K] = classShape(op, 'logits', x);
  const target = classLabels(op, x, labels);
  const dx = grad ? empty(x.shape) : null;
  const sum = rt().kernels.softmax_cross_entropy_f32(
    x.ptr, target.dtype === 'int32' ? target.ptr : 0, target.dtype === 'int32' ? 0 : target.ptr,
    N, K, smoothing, scale(N), dx ? dx.ptr : 0,
  );
  return { loss: reduce(sum, N), grads: dx ? [dx] : [] };
}

/**
 * Multi-class SVM loss (Weston–Watkins, as in cs231n): per row Σ_{j≠y} max(0, s_j − s_y + margin)^p.
 * scores: float32 [N, K]; labels: int32 [N] in 0..K−1. grads: [∂/∂scores].
 */
export function hinge(scores: Tensor, labels: Tensor, options?: HingeOptions): LossResult {
  const op = 'hinge';
  const o = expectOptions(op, options, [...COMMON, 'p', 'margin']);
  const { scale, grad, reduce } = common(op, o);
  const p = o.p === undefined ? 1 : o.p;
  if (p !== 1 && p !== 2) throw new ArgumentError(`${op}: p must be 1 or 2, got ${String(o.p)}`);
  const margin = expectNumber(op, 'margin', o.margin, 1, 0);
  const x = expectTensor(op, 'scores', scores, 2);
  const [N, K] = classShape(op, 'scores', x);
  const y = expectTensor(op, 'labels', labels, 1, 'int32');
  checkRows(op, 'scores', x, 'labels', y);
  checkIndices(op, 'scores', x, y);
  const dx = grad ? empty(x.shape) : null;
  const sum = rt().kernels.hinge_multiclass_f32(x.ptr, y.ptr, N, K, p, margin, scale(N), dx ? dx.ptr : 0);
  return { loss: reduce(sum, N), grads: dx ? [dx] : [] };
}

/**
 * Contrastive loss of pairs (Hadsell, Chopra & LeCun 2006, *without* their ½ factor, as
 * TensorFlow Addons' contrastive_loss): with d = ‖a − b‖₂ per row,
 * same·d² + (1 − same)·max(0, margin − d)². a, b: float32 [N, D]; same: [N], float32 in [0, 1]
 * or int32 0/1 (1 = similar pair). grads: [∂/∂a, ∂/∂b]. At d = 0 a dissimilar pair has no
 * gradient direction; it gets 0 (never NaN).
 */
export function contrastive(a: Tensor, b: Tensor, same: Tensor, options?: ContrastiveOptions): LossResult {
  const op = 'contrastive';
  const o = expectOptions(op, options, [...COMMON, 'margin']);
  const { scale, grad, reduce } = common(op, o);
  const margin = expectNumber(op, 'margin', o.margin, 1, 0);
  const ta = expectTensor(op, 'a', a, 2);
  const tb = expectTensor(op, 'b', b, 2);
  expectSameShape(op, 'a', ta, 'b', tb);
  const ts = pairLabels(op, same);
  checkRows(op, 'a', ta, 'same', ts);
  const [N, D] = ta.shape;
  if (N === 0) throw new ShapeError(`${op}: a needs at least one row, got ${fmtShape(ta.shape)}`);
  const da = grad ? empty(ta.shape) : null;
  const db = grad ? empty(tb.shape) : null;
  const sum = rt().kernels.contrastive_f32(
    ta.ptr, tb.ptr, ts.ptr, ts.dtype === 'int32' ? 1 : 0, N, D, margin, scale(N), da ? da.ptr : 0, db ? db.ptr : 0,
  );
  return { loss: reduce(sum, N), grads: da && db ? [da, db] : [] };
}

/**
 * Triplet loss (Schroff et al. 2015, FaceNet: *squared* Euclidean distances):
 * per row max(0, ‖a − p‖² − ‖a − n‖² + margin). anchor, positive, negative: float32 [N, D].
 * grads: [∂/∂anchor, ∂/∂positive, ∂/∂negative].
 */
export function triplet(anchor: Tensor, positive: Tensor, negative: Tensor, options?: TripletOptions): LossResult {
  const op = 'triplet';
  const o = expectOptions(op, options, [...COMMON, 'margin']);
  const { scale, grad, reduce } = common(op, o);
  const margin = expectNumber(op, 'margin', o.margin, 1, 0);
  const ta = expectTensor(op, 'anchor', anchor, 2);
  const tp = expectTensor(op, 'positive', positive, 2);
  const tn = expectTensor(op, 'negative', negative, 2);
  expectSameShape(op, 'anchor', ta, 'positive', tp);
  expectSameShape(op, 'anchor', ta, 'negative', tn);
  const [N, D] = ta.shape;
  if (N === 0) throw new ShapeError(`${op}: anchor needs at least one row, got ${fmtShape(ta.shape)}`);
  const g = grad ? [empty(ta.shape), empty(ta.shape), empty(ta.shape)] : [];
  const sum = rt().kernels.triplet_f32(
    ta.ptr, tp.ptr, tn.ptr, N, D, margin, scale(N), grad ? g[0].ptr : 0, grad ? g[1].ptr : 0, grad ? g[2].ptr : 0,
  );
  return { loss: reduce(sum, N), grads: g };
}

/**
 * KL(p ‖ q) = Σ p·(log p − log q), with 0·log 0 = 0. **p is the target, q the prediction**, both
 * *probabilities* float32 [N, K] (PyTorch's kl_div(input, target) takes the prediction as
 * log-probabilities and the target second; here both are probabilities and the target comes first).
 * 'mean' divides by N (PyTorch's 'batchmean'). grads: [∂/∂q] = −p/q (0 where p = 0); no gradient
 * for the target p. Where q = 0 < p the loss is +Infinity. Negative entries are an error.
 */
export function klDivergence(p: Tensor, q: Tensor, options?: LossOptions): LossResult {
  const op = 'klDivergence';
  const o = expectOptions(op, options, COMMON);
  const { scale, grad, reduce } = common(op, o);
  const tp = expectTensor(op, 'p', p, 2);
  const tq = expectTensor(op, 'q', q, 2);
  expectSameShape(op, 'p', tp, 'q', tq);
  const [N] = classShape(op, 'p', tp);
  nonNegative(op, 'p', tp);
  nonNegative(op, 'q', tq);
  const dq = grad ? empty(tq.shape) : null;
  const sum = rt().kernels.kl_divergence_f32(tp.ptr, tq.ptr, tp.size, scale(N), dq ? dq.ptr : 0);
  return { loss: reduce(sum, N), grads: dq ? [dq] : [] };
}

/**
 * Mean of (pred − target)² over all elements ('sum': the plain sum). pred, target: float32, the
 * same shape, any rank. grads: [∂/∂pred] = 2·(pred − target)/size.
 */
export function meanSquaredError(pred: Tensor, target: Tensor, options?: LossOptions): LossResult {
  const op = 'meanSquaredError';
  const o = expectOptions(op, options, COMMON);
  const { scale, grad, reduce } = common(op, o);
  const tp = expectTensor(op, 'pred', pred);
  const tt = expectTensor(op, 'target', target);
  expectSameShape(op, 'pred', tp, 'target', tt);
  if (tp.size === 0) throw new ShapeError(`${op}: pred is empty ${fmtShape(tp.shape)}`);
  const dx = grad ? empty(tp.shape) : null;
  const sum = rt().kernels.squared_error_f32(tp.ptr, tt.ptr, tp.size, scale(tp.size), dx ? dx.ptr : 0);
  return { loss: reduce(sum, tp.size), grads: dx ? [dx] : [] };
}

/**
 * Fraction of rows whose argmax (the first on ties; a NaN counts as largest) is the label.
 * logits: float32 [N, K]; labels: int32 [N] in 0..K−1, or float32 [N, K] rows whose argmax is the label.
 */
export function accuracy(logits: Tensor, labels: Tensor): number {
  const op = 'accuracy';
  const x = expectTensor(op, 'logits', logits, 2);
  const [N, K] = classShape(op, 'logits', x);
  const t = classLabels(op, x, labels);
  const hits = rt().kernels.argmax_hits_f32(x.ptr, t.dtype === 'int32' ? t.ptr : 0, t.dtype === 'int32' ? 0 : t.ptr, N, K);
  return hits / N;
}

// ---- validation ----

interface Common {
  grad: boolean;
  /** The factor the kernel applies to gradients, for a batch of n. */
  scale: (n: number) => number;
  /** The reduced loss from the kernel's float64 sum. */
  reduce: (sum: number, n: number) => number;
}

function common(op: string, o: LossOptions): Common {
  const reduction = o.reduction ?? 'mean';
  if (reduction !== 'mean' && reduction !== 'sum') {
    throw new ArgumentError(`${op}: reduction must be 'mean' or 'sum', got ${JSON.stringify(o.reduction)}`);
  }
  const grad = expectBool(op, 'grad', o.grad, true);
  return reduction === 'mean'
    ? { grad, scale: (n) => 1 / n, reduce: (sum, n) => sum / n }
    : { grad, scale: () => 1, reduce: (sum) => sum };
}

/** [N, K] of a class-score tensor; both at least 1. */
function classShape(op: string, name: string, x: Tensor): [number, number] {
  const [N, K] = x.shape;
  if (N === 0 || K === 0) throw new ShapeError(`${op}: ${name} needs at least one row and one class, got ${fmtShape(x.shape)}`);
  return [N, K];
}

/** labels: int32 [N] indices in 0..K−1, or float32 [N, K] rows. */
function classLabels(op: string, x: Tensor, labels: unknown): Tensor {
  if (labels instanceof Tensor && labels.dtype === 'int32') {
    const y = expectTensor(op, 'labels', labels, 1, 'int32');
    checkRows(op, 'logits', x, 'labels', y);
    checkIndices(op, 'logits', x, y);
    return y;
  }
  const t = expectTensor(op, 'labels', labels, [1, 2]);
  if (t.rank !== 2 || t.shape[0] !== x.shape[0] || t.shape[1] !== x.shape[1]) {
    throw new ShapeError(
      `${op}: labels must be int32 [${x.shape[0]}] class indices or float32 [${x.shape[0]},${x.shape[1]}] rows like logits ${fmtShape(x.shape)}, got float32 ${fmtShape(t.shape)}`,
    );
  }
  return t;
}

function checkRows(op: string, xName: string, x: Tensor, yName: string, y: Tensor): void {
  if (y.shape[0] !== x.shape[0]) {
    throw new ShapeError(`${op}: ${yName} has ${y.shape[0]} rows but ${xName} has ${x.shape[0]} (${xName} ${fmtShape(x.shape)}, ${yName} ${fmtShape(y.shape)})`);
  }
}

/** Every label in 0..K−1, K = x.shape[1]; names the first bad one and its position. */
function checkIndices(op: string, xName: string, x: Tensor, y: Tensor): void {
  const K = x.shape[1];
  const v = y.view();
  for (let i = 0; i < v.length; i++) {
    if (v[i] < 0 || v[i] >= K) {
      throw new ArgumentError(`${op}: labels[${i}] = ${v[i]} is out of range 0..${K - 1} for ${K} classes (${xName} ${fmtShape(x.shape)}, labels ${fmtShape(y.shape)})`);
    }
  }
}

function expectSameShape(op: string, aName: string, a: Tensor, bName: string, b: Tensor): void {
  if (!sameShape(a.shape, b.shape)) {
    throw new ShapeError(`${op}: ${bName} must have the shape of ${aName}, got ${aName} ${fmtShape(a.shape)} and ${bName} ${fmtShape(b.shape)}`);
  }
}

/** same: float32 [N] in [0, 1] or int32 [N] of 0/1. */
function pairLabels(op: string, same: unknown): Tensor {
  const dtype = same instanceof Tensor && same.dtype === 'int32' ? 'int32' : 'float32';
  const t = expectTensor(op, 'same', same, 1, dtype);
  const v = t.view();
  for (let i = 0; i < v.length; i++) {
    const ok = dtype === 'int32' ? v[i] === 0 || v[i] === 1 : v[i] >= 0 && v[i] <= 1;
    if (!ok) throw new ArgumentError(`${op}: same[${i}] = ${v[i]} must be ${dtype === 'int32' ? '0 or 1' : 'in [0, 1]'} (same ${fmtShape(t.shape)})`);
  }
  return t;
}

/** No negative entries (probabilities); names the first. */
function nonNegative(op: string, name: string, t: Tensor): void {
  const v = t.view();
  for (let i = 0; i < v.length; i++) {
    if (v[i] < 0) throw new ArgumentError(`${op}: ${name} must hold probabilities, got ${name}[${Math.floor(i / t.shape[1])},${i % t.shape[1]}] = ${v[i]} (${name} ${fmtShape(t.shape)})`);
  }
}
