import { ArgumentError, fmtShape } from '../errors.js';
import { clone, reshape, type Tensor } from '../tensor.js';
import { biasGrad, dense, denseBackpropFilter, denseBackpropInput } from '../ops/dense.js';
import { dropout, dropoutBackward } from '../ops/dropout.js';
import type { Activation, ParsedActivation } from '../ops/activation.js';
import { Layer, type Context, type Gradients, type ParamSpec } from './layer.js';
import { finishActivation, fusedActivation, parsedActivation, weightedBackward } from './activation.js';
import { activationOption, bool, finiteNumber, initializer, layerOptions, positiveInt } from './options.js';
import { seededRandom, type Initializer } from './initializers.js';

// Dense, and the layers that only move or mask data: flatten, reshape, dropout.

export interface DenseLayerOptions {
  units: number;
  activation?: Activation;
  useBias?: boolean;
  kernelInitializer?: Initializer;
  biasInitializer?: Initializer;
  name?: string;
}

/** Fully connected on the last axis: kernel [inputs, units], bias [units]. */
export class DenseLayer extends Layer {
  readonly type = 'dense';
  readonly units: number;
  readonly act: ParsedActivation | null;
  readonly useBias: boolean;
  private readonly options: Omit<DenseLayerOptions, 'name'>;

  constructor(options: DenseLayerOptions) {
    const op = 'layers.dense';
    const o = layerOptions<DenseLayerOptions>(op, options, ['units', 'activation', 'useBias', 'kernelInitializer', 'biasInitializer', 'name'], ['units']);
    super(o.name);
    this.units = positiveInt(op, 'units', o.units);
    activationOption(op, o.activation);
    this.act = parsedActivation(op, o.activation);
    this.useBias = bool(op, 'useBias', o.useBias, true);
    initializer(op, 'kernelInitializer', o.kernelInitializer, 'glorotUniform');
    initializer(op, 'biasInitializer', o.biasInitializer, 'zeros');
    const { name: _name, ...rest } = o;
    void _name;
    this.options = rest;
  }

  get kernel(): Tensor { return this.params[0]; }
  get bias(): Tensor | undefined { return this.useBias ? this.params[1] : undefined; }

  computeOutputShape([s]: number[][]): number[] {
    return [...s.slice(0, -1), this.units];
  }

  override paramSpecs([s]: number[][]): ParamSpec[] {
    const inputs = s[s.length - 1];
    const specs: ParamSpec[] = [{ name: 'kernel', shape: [inputs, this.units], init: this.options.kernelInitializer ?? 'glorotUniform', fanIn: inputs, fanOut: this.units }];
    if (this.useBias) specs.push({ name: 'bias', shape: [this.units], init: this.options.biasInitializer ?? 'zeros', fanIn: inputs, fanOut: this.units });
    return specs;
  }

  forward([x]: Tensor[], ctx: Context): Tensor {
    const z = dense(x, this.kernel, { bias: this.bias, activation: fusedActivation(this.act, ctx) });
    try {
      return finishActivation(z, this.act, ctx);
    } catch (e) {
      z.dispose();
      throw e;
    }
  }

  backward(dy: Tensor, ctx: Context, needDx: boolean[]): Gradients {
    return weightedBackward(dy, ctx, this.act,
      (dz) => denseBackpropFilter(ctx.inputs[0], dz),
      this.useBias ? (dz) => biasGrad(dz) : null,
      needDx[0] ? (dz) => denseBackpropInput(dz, this.kernel) : null);
  }

  override cacheBytes(n: number): number {
    return this.act && this.act.name !== 'relu' ? n * this.units * 4 : 0;
  }

  getConfig(): Record<string, unknown> { return { ...this.options }; }
}

/** [..., ] → [product]: flattens everything but the batch axis (NHWC order: H, then W, then C). */
export class FlattenLayer extends Layer {
  readonly type = 'flatten';
  constructor(options: { name?: string } = {}) {
    super(layerOptions<{ name?: string }>('layers.flatten', options, ['name']).name);
  }
  computeOutputShape([s]: number[][]): number[] { return [s.reduce((a, b) => a * b, 1)]; }
  forward([x]: Tensor[]): Tensor { return reshape(x, [x.shape[0], ...this.outputShape]); }
  backward(dy: Tensor, ctx: Context, needDx: boolean[]): Gradients {
    return { dxs: [needDx[0] ? reshape(dy, ctx.inputs[0].shape) : null], grads: [] };
  }
  getConfig(): Record<string, unknown> { return {}; }
}

export interface ReshapeLayerOptions { targetShape: number[]; name?: string }

/** Reshape each example to `targetShape` (one entry may be -1: inferred). Row-major (NHWC) order. */
export class ReshapeLayer extends Layer {
  readonly type = 'reshape';
  private readonly target: number[];
  constructor(options: ReshapeLayerOptions) {
    const op = 'layers.reshape';
    const o = layerOptions<ReshapeLayerOptions>(op, options, ['targetShape', 'name'], ['targetShape']);
    super(o.name);
    const t = o.targetShape;
    if (!Array.isArray(t) || t.length < 1 || t.length > 6 || t.some((d) => !Number.isInteger(d) || (d < 1 && d !== -1)) || t.filter((d) => d === -1).length > 1) {
      throw new ArgumentError(`${op}: targetShape must be 1 to 6 positive integers (one may be -1), got ${JSON.stringify(t)}`);
    }
    this.target = t.slice();
  }
  computeOutputShape([s]: number[][]): number[] {
    const size = s.reduce((a, b) => a * b, 1);
    const known = this.target.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
    const out = this.target.map((d) => (d === -1 ? size / known : d));
    if (!out.every((d) => Number.isInteger(d) && d >= 1) || out.reduce((a, b) => a * b, 1) !== size) {
      throw this.shapeError(`cannot reshape ${fmtShape(s)} (${size} elements) to ${JSON.stringify(this.target)}`);
    }
    return out;
  }
  forward([x]: Tensor[]): Tensor { return reshape(x, [x.shape[0], ...this.outputShape]); }
  backward(dy: Tensor, ctx: Context, needDx: boolean[]): Gradients {
    return { dxs: [needDx[0] ? reshape(dy, ctx.inputs[0].shape) : null], grads: [] };
  }
  getConfig(): Record<string, unknown> { return { targetShape: this.target.slice() }; }
}

export interface DropoutLayerOptions { rate: number; seed?: number; name?: string }

/**
 * Dropout: in training zeroes each element with probability `rate` and scales the rest by
 * 1/(1−rate); at inference it passes its input through. Masks come from the layer's own stream
 * when `seed` is given, else from the model's seeded stream (so two dropout layers never share masks).
 */
export class DropoutLayer extends Layer {
  readonly type = 'dropout';
  readonly rate: number;
  private readonly seed: number | undefined;
  private readonly stream: (() => number) | null;
  constructor(options: DropoutLayerOptions) {
    const op = 'layers.dropout';
    const o = layerOptions<DropoutLayerOptions>(op, options, ['rate', 'seed', 'name'], ['rate']);
    super(o.name);
    this.rate = finiteNumber(op, 'rate', o.rate, 0, 0, 1);
    if (this.rate >= 1) throw new ArgumentError(`${op}: rate must be in [0, 1), got ${this.rate}`);
    if (o.seed !== undefined && !Number.isInteger(o.seed)) throw new ArgumentError(`${op}: seed must be an integer, got ${JSON.stringify(o.seed)}`);
    this.seed = o.seed;
    this.stream = o.seed === undefined ? null : seededRandom(o.seed);
  }
  computeOutputShape([s]: number[][]): number[] { return s; }

  forward([x]: Tensor[], ctx: Context): Tensor {
    if (!ctx.training || this.rate === 0) return clone(x);
    const seed = Math.floor((this.stream ?? ctx.random)() * 4294967296) >>> 0 || 1;
    const { output, mask } = dropout(x, { rate: this.rate, seed });
    ctx.values.mask = ctx.own(mask);
    return output;
  }

  backward(dy: Tensor, ctx: Context, needDx: boolean[]): Gradients {
    if (!needDx[0]) return { dxs: [null], grads: [] };
    const mask = ctx.values.mask as Tensor | undefined;
    return { dxs: [mask ? dropoutBackward(dy, mask) : clone(dy)], grads: [] };
  }

  override cacheBytes(n: number): number {
    return this.rate > 0 ? n * this.outputShape.reduce((a, b) => a * b, 1) * 4 : 0;
  }

  getConfig(): Record<string, unknown> { return { rate: this.rate, ...(this.seed !== undefined ? { seed: this.seed } : {}) }; }
}
