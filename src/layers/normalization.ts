import { zeros, type Tensor } from '../tensor.js';
import { batchNorm, batchNormBackward, batchNormTrain } from '../ops/normalization.js';
import { Layer, type Context, type Gradients, type ParamSpec } from './layer.js';
import { bool, finiteNumber, initializer, layerOptions } from './options.js';
import type { Initializer } from './initializers.js';

// Batch normalization over the last (channel) axis. Training normalises with the batch's mean and
// (biased) variance and updates the moving statistics (Keras's rule: moving = momentum·moving +
// (1 − momentum)·batch, with the biased batch variance); inference, and a frozen layer
// (trainable = false, as in Keras fine-tuning), use the moving statistics. The model folds it into
// a preceding convolution for inference where nothing else reads the convolution's output.

export interface BatchNormalizationLayerOptions {
  axis?: number;
  momentum?: number;
  epsilon?: number;
  center?: boolean;
  scale?: boolean;
  betaInitializer?: Initializer;
  gammaInitializer?: Initializer;
  movingMeanInitializer?: Initializer;
  movingVarianceInitializer?: Initializer;
  name?: string;
}

const KEYS = ['axis', 'momentum', 'epsilon', 'center', 'scale', 'betaInitializer', 'gammaInitializer', 'movingMeanInitializer', 'movingVarianceInitializer', 'name'];

export class BatchNormalizationLayer extends Layer {
  readonly type = 'batchNormalization';
  readonly axis: number;
  readonly momentum: number;
  readonly epsilon: number;
  readonly center: boolean;
  readonly scale: boolean;
  private readonly options: Omit<BatchNormalizationLayerOptions, 'name'>;

  constructor(options: BatchNormalizationLayerOptions = {}) {
    const op = 'layers.batchNormalization';
    const o = layerOptions<BatchNormalizationLayerOptions>(op, options, KEYS);
    super(o.name);
    const axis = o.axis ?? -1;
    if (!Number.isInteger(axis) || axis === 0 || axis < -6 || axis > 6) throw this.argumentError(`axis must be -1 (the channels, NHWC) or the last axis's index, got ${JSON.stringify(o.axis)}`);
    this.axis = axis;
    this.momentum = finiteNumber(op, 'momentum', o.momentum, 0.99, 0, 1);
    this.epsilon = finiteNumber(op, 'epsilon', o.epsilon, 1e-3, 0);
    if (!(this.epsilon > 0)) throw this.argumentError(`epsilon must be > 0, got ${this.epsilon}`);
    this.center = bool(op, 'center', o.center, true);
    this.scale = bool(op, 'scale', o.scale, true);
    for (const k of ['betaInitializer', 'gammaInitializer', 'movingMeanInitializer', 'movingVarianceInitializer'] as const) initializer(op, k, o[k], 'zeros');
    const { name: _name, ...rest } = o;
    void _name;
    this.options = rest;
  }

  get gamma(): Tensor | undefined { return this.scale ? this.params[0] : undefined; }
  get beta(): Tensor | undefined { return this.center ? this.params[this.scale ? 1 : 0] : undefined; }
  get movingMean(): Tensor { return this.params[this.params.length - 2]; }
  get movingVariance(): Tensor { return this.params[this.params.length - 1]; }

  computeOutputShape([s]: number[][]): number[] {
    if (this.axis !== -1 && this.axis !== s.length) {
      throw this.shapeError(`normalises the last axis (channels, NHWC): axis must be -1 or ${s.length} for inputs ${JSON.stringify(['batch', ...s])}, got ${this.axis}`);
    }
    return s;
  }

  override paramSpecs([s]: number[][]): ParamSpec[] {
    const C = s[s.length - 1];
    const o = this.options;
    const specs: ParamSpec[] = [];
    if (this.scale) specs.push({ name: 'gamma', shape: [C], init: o.gammaInitializer ?? 'ones', fanIn: C, fanOut: C });
    if (this.center) specs.push({ name: 'beta', shape: [C], init: o.betaInitializer ?? 'zeros', fanIn: C, fanOut: C });
    specs.push({ name: 'movingMean', shape: [C], init: o.movingMeanInitializer ?? 'zeros', fanIn: C, fanOut: C, trainable: false });
    specs.push({ name: 'movingVariance', shape: [C], init: o.movingVarianceInitializer ?? 'ones', fanIn: C, fanOut: C, trainable: false });
    return specs;
  }

  forward([x]: Tensor[], ctx: Context): Tensor {
    const { gamma, beta, epsilon } = this;
    if (!ctx.training || !this.trainable) {
      return batchNorm(x, { mean: this.movingMean, variance: this.movingVariance, gamma, beta, epsilon });
    }
    const { output, mean, variance, invStd } = batchNormTrain(x, { gamma, beta, epsilon });
    ctx.values.mean = ctx.own(mean);
    ctx.values.invStd = ctx.own(invStd);
    // Moving statistics (C values), updated in place; their versions bumped for cached plans.
    const m = this.momentum, mm = this.movingMean.view(), mv = this.movingVariance.view(), bm = mean.view(), bv = variance.view();
    for (let c = 0; c < mm.length; c++) {
      mm[c] = m * mm[c] + (1 - m) * bm[c];
      mv[c] = m * mv[c] + (1 - m) * bv[c];
    }
    variance.dispose();
    this.movingMean.version++;
    this.movingVariance.version++;
    return output;
  }

  backward(dy: Tensor, ctx: Context, needDx: boolean[]): Gradients {
    const x = ctx.inputs[0];
    if (!ctx.values.invStd) {
      // Frozen: y = x·γ/√(movingVar + ε) + const, so dx = dy·γ/√(movingVar + ε); no parameter gradients.
      if (!needDx[0]) return { dxs: [null], grads: [] };
      const zero = zeros(this.movingMean.shape);
      try {
        return { dxs: [batchNorm(dy, { mean: zero, variance: this.movingVariance, gamma: this.gamma, epsilon: this.epsilon })], grads: [] };
      } finally {
        zero.dispose();
      }
    }
    const { dx, dgamma, dbeta } = batchNormBackward(dy, x, { gamma: this.gamma, mean: ctx.values.mean as Tensor, invStd: ctx.values.invStd as Tensor });
    const grads: Tensor[] = [];
    if (this.scale) grads.push(dgamma); else dgamma.dispose();
    if (this.center) grads.push(dbeta); else dbeta.dispose();
    if (needDx[0]) return { dxs: [dx], grads };
    dx.dispose();
    return { dxs: [null], grads };
  }

  override cacheBytes(): number { return 0; }

  getConfig(): Record<string, unknown> { return { ...this.options }; }
}
