import { ArgumentError, ShapeError, fmtShape } from '../errors.js';
import { reshape, type Tensor } from '../tensor.js';
import { accuracy, hinge, klDivergence, meanSquaredError, softmaxCrossEntropy, type LossFunction, type LossResult } from '../losses.js';

// What compile() resolves: the loss over a model's outputs and the metrics to report. A loss name
// applies to every output (summed, as Keras sums per-output losses); a function sees all outputs.

export type LossName = 'softmaxCrossEntropy' | 'hinge' | 'squaredHinge' | 'meanSquaredError' | 'klDivergence';
export type MetricName = 'accuracy';

/** A custom loss: outputs (a Tensor, or an array for a multi-output model) and targets alike. */
export type ModelLossFunction = (outputs: Tensor | Tensor[], targets: Tensor | Tensor[]) => { loss: number; grads: Tensor | Tensor[] };

const NAMED: Record<LossName, LossFunction> = {
  softmaxCrossEntropy: (p, t, o) => perRow(p, t, (a, b) => softmaxCrossEntropy(a, b, o)),
  hinge: (p, t, o) => hinge(p, t, { ...o, p: 1 }),
  squaredHinge: (p, t, o) => hinge(p, t, { ...o, p: 2 }),
  meanSquaredError: (p, t, o) => meanSquaredError(p, t, o),
  // klDivergence takes (target p, prediction q); the model passes (prediction, target).
  klDivergence: (p, t, o) => klDivergence(t, p, o),
};

/** Classification losses: accuracy is reported for them by default on [N, K] outputs. */
const CLASSIFICATION: readonly string[] = ['softmaxCrossEntropy', 'hinge', 'squaredHinge'];
export const LOSS_NAMES = Object.keys(NAMED) as LossName[];

export interface ResolvedLoss {
  name: string;
  /** Loss and output gradients (grad false: no gradients). */
  compute(outputs: Tensor[], targets: Tensor[], grad: boolean): { loss: number; grads: Tensor[] };
  /** Metric values for one batch. */
  metrics(outputs: Tensor[], targets: Tensor[]): Record<string, number>;
  metricNames: string[];
}

/** Softmax cross-entropy on [N, ..., K] outputs: per position (segmentation), labels [N, ...] or [N, ..., K]. */
function perRow(p: Tensor, t: Tensor, f: (a: Tensor, b: Tensor) => LossResult): LossResult {
  if (p.rank <= 2) return f(p, t);
  const K = p.shape[p.rank - 1];
  const rows = p.size / K;
  const a = reshape(p, [rows, K]);
  let b: Tensor | null = null;
  try {
    b = t.rank === p.rank ? reshape(t, [rows, K]) : reshape(t, [rows]);
    const r = f(a, b);
    return { loss: r.loss, grads: r.grads.map((g) => { const s = reshape(g, p.shape); g.dispose(); return s; }) };
  } finally {
    a.dispose();
    b?.dispose();
  }
}

export function resolveLoss(loss: unknown, metrics: unknown, outputShapes: number[][]): ResolvedLoss {
  const op = 'compile';
  let compute: ResolvedLoss['compute'];
  let name: string;
  if (typeof loss === 'function') {
    name = loss.name || 'custom';
    const fn = loss as ModelLossFunction;
    compute = (outputs, targets, grad) => {
      const single = outputs.length === 1;
      const r = fn(single ? outputs[0] : outputs, single ? targets[0] : targets);
      const grads = r && (Array.isArray(r.grads) ? r.grads : r.grads ? [r.grads] : null);
      if (!r || typeof r.loss !== 'number' || !grads) {
        throw new ArgumentError(`loss function '${name}': must return { loss: number, grads: Tensor${single ? '' : '[]'} }`);
      }
      const bad = grads.length !== outputs.length || grads.some((g, i) => !g || typeof (g as Tensor).check !== 'function' || (g as Tensor).isDisposed || (g as Tensor).shape.join() !== outputs[i].shape.join());
      if (bad) {
        for (const g of grads) if (g && typeof (g as Tensor).dispose === 'function' && !outputs.includes(g as Tensor)) (g as Tensor).dispose();
        throw new ShapeError(`loss function '${name}': grads must be ${outputs.length} live tensor(s) shaped like the outputs ${outputs.map((o) => fmtShape(o.shape)).join(', ')}`);
      }
      if (!grad) { for (const g of grads) g.dispose(); return { loss: r.loss, grads: [] }; }
      return { loss: r.loss, grads };
    };
  } else if (typeof loss === 'string' && Object.prototype.hasOwnProperty.call(NAMED, loss)) {
    name = loss;
    const f = NAMED[loss as LossName];
    compute = (outputs, targets, grad) => {
      let total = 0;
      const grads: Tensor[] = [];
      try {
        outputs.forEach((o, i) => {
          const r = f(o, targets[i], { grad });
          total += r.loss;
          grads.push(...r.grads);
        });
      } catch (e) {
        for (const g of grads) g.dispose();
        throw e;
      }
      return { loss: total, grads };
    };
  } else {
    throw new ArgumentError(`${op}: loss must be a function (outputs, targets) => { loss, grads } or one of ${LOSS_NAMES.join(', ')}, got ${JSON.stringify(loss)}`);
  }
  // Metrics: asked for, or accuracy by default for classification losses on [N, K] outputs.
  let names: string[];
  if (metrics === undefined) {
    names = CLASSIFICATION.includes(name) && outputShapes.every((s) => s.length === 1) ? ['accuracy'] : [];
  } else if (Array.isArray(metrics) && metrics.every((m) => m === 'accuracy')) {
    names = [...new Set(metrics as string[])];
    if (names.length && outputShapes.some((s) => s.length !== 1 && !(name === 'softmaxCrossEntropy'))) {
      throw new ArgumentError(`${op}: metric 'accuracy' needs class-score outputs [N, K], the model gives ${outputShapes.map((s) => fmtShape(['N', ...s] as never)).join(', ')}`);
    }
  } else {
    throw new ArgumentError(`${op}: metrics must be an array of 'accuracy', got ${JSON.stringify(metrics)}`);
  }
  const metricFn = (outputs: Tensor[], targets: Tensor[]): Record<string, number> => {
    if (!names.length) return {};
    let acc = 0;
    outputs.forEach((o, i) => { acc += perRowAccuracy(o, targets[i]); });
    return { accuracy: acc / outputs.length };
  };
  return { name, compute, metrics: metricFn, metricNames: names };
}

function perRowAccuracy(p: Tensor, t: Tensor): number {
  if (p.rank <= 2) return accuracy(p, t);
  const K = p.shape[p.rank - 1], rows = p.size / K;
  const a = reshape(p, [rows, K]);
  const b = t.rank === p.rank ? reshape(t, [rows, K]) : reshape(t, [rows]);
  try { return accuracy(a, b); } finally { a.dispose(); b.dispose(); }
}

const FIT_KEYS = ['epochs', 'batchSize', 'shuffle', 'validationData', 'verbose', 'onBatchEnd', 'onEpochEnd'];

export function positiveInt(op: string, name: string, v: unknown): number {
  if (!Number.isInteger(v) || (v as number) < 1) throw new ArgumentError(`${op}: ${name} must be a positive integer, got ${JSON.stringify(v)}`);
  return v as number;
}

/** fit's options, checked (unknown keys, types, ranges) before anything runs. */
export function fitSettings(options: unknown): { epochs: number; batchSize: number; shuffle: boolean; verbose: 0 | 1 } {
  if (!options || typeof options !== 'object') throw new ArgumentError('fit: options must be an object');
  const o = options as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!FIT_KEYS.includes(k)) throw new ArgumentError(`fit: unknown option '${k}'; accepted: ${FIT_KEYS.join(', ')}`);
  const epochs = positiveInt('fit', 'epochs', o.epochs ?? 1);
  const batchSize = positiveInt('fit', 'batchSize', o.batchSize ?? 32);
  const shuffle = o.shuffle ?? true;
  const verbose = o.verbose ?? 1;
  if (typeof shuffle !== 'boolean') throw new ArgumentError(`fit: shuffle must be true or false, got ${JSON.stringify(shuffle)}`);
  if (verbose !== 0 && verbose !== 1) throw new ArgumentError(`fit: verbose must be 0 or 1, got ${JSON.stringify(verbose)}`);
  for (const k of ['onBatchEnd', 'onEpochEnd']) if (o[k] !== undefined && typeof o[k] !== 'function') throw new ArgumentError(`fit: ${k} must be a function`);
  return { epochs, batchSize, shuffle, verbose };
}
