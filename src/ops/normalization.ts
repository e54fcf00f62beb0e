import { ArgumentError, ShapeError, fmtShape } from '../errors.js';
import { rt } from '../runtime/wasm.js';
import { empty, type Tensor } from '../tensor.js';
import { expectNumber, expectOptions, expectTensor } from './check.js';

// Batch normalisation over the last axis (channels, NHWC; any rank ≥ 2): inference with given
// statistics, training with the batch's own, and the training-mode gradient. The kernels
// (assembly/normalization.ts) compute per-channel constants once, then make one v128 pass over
// the data; the training statistics are two passes in f64 (Σx, then Σ(x − mean)²), which stays
// accurate when |mean| ≫ std, where the one-pass Σx² − (Σx)²/M formula cancels.

export interface BatchNormOptions {
  /** Per-channel mean [C] (moving mean at inference). */
  mean: Tensor;
  /** Per-channel variance [C] (moving variance at inference). */
  variance: Tensor;
  /** Scale [C]; 1 when omitted. */
  gamma?: Tensor;
  /** Offset [C]; 0 when omitted. */
  beta?: Tensor;
  /** Added to the variance; 1e-3 (Keras' default; PyTorch's is 1e-5). */
  epsilon?: number;
}

export interface BatchNormTrainOptions {
  gamma?: Tensor;
  beta?: Tensor;
  epsilon?: number;
}

/** What batchNormTrain returns; every tensor belongs to the caller. */
export interface BatchNormTrainResult {
  output: Tensor;
  /** The batch mean per channel [C]. */
  mean: Tensor;
  /** The biased batch variance per channel [C] (divided by M, as used to normalise). */
  variance: Tensor;
  /** 1/√(variance + epsilon) [C]: what batchNormBackward needs. */
  invStd: Tensor;
}

export interface BatchNormBackwardOptions {
  gamma?: Tensor;
  /** The forward's batch mean and invStd (batchNormTrain's outputs). */
  mean: Tensor;
  invStd: Tensor;
}

export interface BatchNormGrads {
  dx: Tensor;
  /** Σ dy·x̂ per channel: the gradient of gamma (returned even when gamma was omitted, i.e. 1). */
  dgamma: Tensor;
  /** Σ dy per channel. */
  dbeta: Tensor;
}

/** Inference: y = gamma·(x − mean)/√(variance + epsilon) + beta per channel of the last axis. */
export function batchNorm(x: Tensor, options: BatchNormOptions): Tensor {
  const op = 'batchNorm';
  const t = expectTensor(op, 'x', x);
  const C = channels(op, t);
  const o = expectOptions(op, options, ['mean', 'variance', 'gamma', 'beta', 'epsilon']);
  if (options === undefined) throw new ArgumentError(`${op}: options { mean, variance } are required`);
  const mean = perChannel(op, 'mean', o.mean, C, t, true)!;
  const variance = perChannel(op, 'variance', o.variance, C, t, true)!;
  const gamma = perChannel(op, 'gamma', o.gamma, C, t, false);
  const beta = perChannel(op, 'beta', o.beta, C, t, false);
  const eps = expectNumber(op, 'epsilon', o.epsilon, 1e-3, 0);
  const heap = rt().heap;
  const y = empty(t.shape);
  let scratch = 0;
  try {
    if (y.size > 0) {
      scratch = heap.alloc(8 * C);
      rt().kernels.batchnorm_nhwc_f32(t.ptr, y.ptr, mean.ptr, variance.ptr, gamma?.ptr ?? 0, beta?.ptr ?? 0, scratch, t.size / C, C, eps);
    }
  } catch (e) {
    y.dispose();
    throw e;
  } finally {
    if (scratch) heap.free(scratch);
  }
  return y;
}

/**
 * Training: normalise with the batch's statistics over every axis but the last (mean and biased
 * variance, as PyTorch and Keras normalise), returning them and invStd for the backward pass.
 */
export function batchNormTrain(x: Tensor, options?: BatchNormTrainOptions): BatchNormTrainResult {
  const op = 'batchNormTrain';
  const t = expectTensor(op, 'x', x);
  const C = channels(op, t);
  const o = expectOptions(op, options, ['gamma', 'beta', 'epsilon']);
  const gamma = perChannel(op, 'gamma', o.gamma, C, t, false);
  const beta = perChannel(op, 'beta', o.beta, C, t, false);
  const eps = expectNumber(op, 'epsilon', o.epsilon, 1e-3, 0);
  const M = C === 0 ? 0 : t.size / C;
  if (M === 0 && C > 0) throw new ShapeError(`${op}: x ${fmtShape(t.shape)} has no elements per channel to take statistics over`);
  const heap = rt().heap;
  const made: Tensor[] = [];
  let scratch = 0;
  try {
    const output = track(made, empty(t.shape));
    const mean = track(made, empty([C])), variance = track(made, empty([C])), invStd = track(made, empty([C]));
    if (C > 0) {
      scratch = heap.alloc(24 * C);
      rt().kernels.batchnorm_nhwc_f32_train(t.ptr, output.ptr, gamma?.ptr ?? 0, beta?.ptr ?? 0, mean.ptr, variance.ptr, invStd.ptr, scratch, M, C, eps);
    }
    return { output, mean, variance, invStd };
  } catch (e) {
    for (const m of made) m.dispose();
    throw e;
  } finally {
    if (scratch) heap.free(scratch);
  }
}

/**
 * Training-mode gradient through the batch statistics (M = elements per channel, x̂ = (x − mean)·invStd):
 * dx = gamma·invStd/M·(M·dy − Σdy − x̂·Σ(dy·x̂)), dgamma = Σ dy·x̂, dbeta = Σ dy (sums in f64).
 */
export function batchNormBackward(dy: Tensor, x: Tensor, options: BatchNormBackwardOptions): BatchNormGrads {
  const op = 'batchNormBackward';
  const g = expectTensor(op, 'dy', dy);
  const t = expectTensor(op, 'x', x);
  const C = channels(op, t);
  if (g.rank !== t.rank || g.shape.some((d, i) => d !== t.shape[i])) {
    throw new ShapeError(`${op}: dy and x must have the same shape, got dy ${fmtShape(g.shape)} and x ${fmtShape(t.shape)}`);
  }
  const o = expectOptions(op, options, ['gamma', 'mean', 'invStd']);
  if (options === undefined) throw new ArgumentError(`${op}: options { mean, invStd } are required`);
  const gamma = perChannel(op, 'gamma', o.gamma, C, t, false);
  const mean = perChannel(op, 'mean', o.mean, C, t, true)!;
  const invStd = perChannel(op, 'invStd', o.invStd, C, t, true)!;
  const M = C === 0 ? 0 : t.size / C;
  if (M === 0 && C > 0) throw new ShapeError(`${op}: x ${fmtShape(t.shape)} has no elements per channel`);
  const heap = rt().heap;
  const made: Tensor[] = [];
  let scratch = 0;
  try {
    const dx = track(made, empty(t.shape));
    const dgamma = track(made, empty([C])), dbeta = track(made, empty([C]));
    if (C > 0) {
      scratch = heap.alloc(28 * C);
      rt().kernels.batchnorm_nhwc_f32_backward(g.ptr, t.ptr, gamma?.ptr ?? 0, mean.ptr, invStd.ptr, dx.ptr, dgamma.ptr, dbeta.ptr, scratch, M, C);
    }
    return { dx, dgamma, dbeta };
  } catch (e) {
    for (const m of made) m.dispose();
    throw e;
  } finally {
    if (scratch) heap.free(scratch);
  }
}

function channels(op: string, t: Tensor): number {
  if (t.rank < 2) throw new ShapeError(`${op}: x must have rank 2 or more (channels last), got ${fmtShape(t.shape)}`);
  return t.shape[t.rank - 1];
}

/** A [C] float32 tensor option (required or optional). */
function perChannel(op: string, name: string, v: unknown, C: number, x: Tensor, required: boolean): Tensor | null {
  if (v === undefined && !required) return null;
  if (v === undefined) throw new ArgumentError(`${op}: ${name} is required (a [${C}] tensor for x ${fmtShape(x.shape)})`);
  const t = expectTensor(op, name, v);
  if (t.rank !== 1 || t.shape[0] !== C) {
    throw new ShapeError(`${op}: ${name} must have shape [${C}] (one per channel of x ${fmtShape(x.shape)}), got ${name} ${fmtShape(t.shape)}`);
  }
  return t;
}

function track(list: Tensor[], t: Tensor): Tensor {
  list.push(t);
  return t;
}
