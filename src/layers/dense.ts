import { ArgumentError } from '../errors.js';
import { rt } from '../runtime/wasm.js';
import { empty, type Tensor } from '../tensor.js';
import { dense } from '../ops/dense.js';
import { denseBackpropFilter, denseBackpropInput } from '../ops/dense.js';
import type { Activation } from '../ops/activation.js';
import { Layer, reshapeCopy, type Initializer } from './layer.js';
import { WeightedLayer } from './weighted.js';

// Dense, flatten and dropout layers.

export interface DenseLayerOptions {
  units: number;
  activation?: Activation;
  useBias?: boolean;
  kernelInitializer?: Initializer;
  biasInitializer?: Initializer;
  name?: string;
}

/** Fully connected: kernel [inputs, units], bias [units], on the last axis. */
export class DenseLayer extends WeightedLayer<DenseLayerOptions> {
  readonly type = 'dense';

  constructor(options: DenseLayerOptions) {
    super(options, 'layers.dense');
    if (!Number.isInteger(options.units) || options.units < 1) {
      throw new ArgumentError(`layers.dense: units must be a positive integer, got ${JSON.stringify(options?.units)}`);
    }
  }

  build(inputShape: number[], random: () => number): number[] {
    if (inputShape.length < 1) throw this.shapeError('needs an input with a feature axis');
    const inputs = inputShape[inputShape.length - 1];
    const { units } = this.options;
    this.addKernelAndBias([inputs, units], inputs, units, [units], random);
    return [...inputShape.slice(0, -1), units];
  }

  forward(x: Tensor, training: boolean): Tensor {
    const z = dense(x, this.kernel, { bias: this.bias, activation: this.slot.fusedRelu ? 'relu' : undefined });
    return this.finishForward(z, x, training);
  }

  backward(dy: Tensor, needDx: boolean): Tensor | null {
    const x = this.x!;
    return this.finishBackward(dy, needDx, (dz) => denseBackpropFilter(x, dz), (dz) => denseBackpropInput(dz, this.kernel));
  }
}

/** [..., ] → [product]: flattens everything but the batch axis. */
export class FlattenLayer extends Layer {
  readonly type = 'flatten';
  constructor(options: { name?: string } = {}) { super(options.name); }
  build(inputShape: number[]): number[] { return [inputShape.reduce((a, b) => a * b, 1)]; }
  forward(x: Tensor): Tensor { return reshapeCopy(x, [x.shape[0], ...this.outputShape]); }
  backward(dy: Tensor, needDx: boolean): Tensor | null {
    return needDx ? reshapeCopy(dy, [dy.shape[0], ...this.inputShape]) : null;
  }
  getConfig(): Record<string, unknown> { return {}; }
}

export interface DropoutLayerOptions { rate: number; seed?: number; name?: string }

/** Dropout: in training zeroes each element with probability `rate` and scales the rest by 1/(1−rate). */
export class DropoutLayer extends Layer {
  readonly type = 'dropout';
  private calls = 0;
  constructor(private readonly options: DropoutLayerOptions) {
    super(options?.name);
    const r = options?.rate;
    if (typeof r !== 'number' || !(r >= 0 && r < 1)) throw new ArgumentError(`layers.dropout: rate must be in [0, 1), got ${JSON.stringify(r)}`);
  }
  build(inputShape: number[]): number[] { return inputShape.slice(); }

  forward(x: Tensor, training: boolean): Tensor {
    const y = empty(x.shape);
    if (!training || this.options.rate === 0) {
      rt().heap.u8().copyWithin(y.ptr, x.ptr, x.ptr + x.bytes);
      return y;
    }
    const mask = empty(x.shape);
    const seed = (Math.imul((this.options.seed ?? 0x9e3779b9) ^ ++this.calls, 0x85ebca6b) >>> 0) || 1;
    rt().kernels.dropout_f32(x.ptr, y.ptr, mask.ptr, x.size, 1 - this.options.rate, seed);
    this.cache.push(mask);
    return y;
  }

  backward(dy: Tensor, needDx: boolean): Tensor | null {
    if (!needDx) return null;
    const dx = empty(dy.shape);
    if (this.cache.length) rt().kernels.mul_f32(dy.ptr, this.cache[0].ptr, dx.ptr, dy.size);
    else rt().heap.u8().copyWithin(dx.ptr, dy.ptr, dy.ptr + dy.bytes);
    return dx;
  }

  override cacheBytes(n: number): number {
    return this.options.rate > 0 ? n * this.outputShape.reduce((a, b) => a * b, 1) * 4 : 0;
  }

  getConfig(): Record<string, unknown> { return { rate: this.options.rate, ...(this.options.seed !== undefined ? { seed: this.options.seed } : {}) }; }
}
