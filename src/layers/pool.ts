import { ArgumentError } from '../errors.js';
import type { Tensor } from '../tensor.js';
import { avgPool2d, globalAvgPool2d, maxPool2d } from '../ops/pool.js';
import { avgPool2dBackward, globalAvgPool2dBackward, maxPool2dBackward } from '../ops/pool-backprop.js';
import { pair, poolOutSize, poolPads, type Padding } from '../ops/shape.js';
import { Layer } from './layer.js';
import { wrap } from './conv.js';

// Pooling layers. Max pooling records the argmax in training and routes gradients through it.

type Pair = number | [number, number];

export interface Pool2dLayerOptions {
  size: Pair;
  strides?: Pair;
  padding?: Exclude<Padding, 'full'>;
  ceilMode?: boolean;
  name?: string;
}

export interface AvgPool2dLayerOptions extends Pool2dLayerOptions {
  countIncludePad?: boolean;
}

abstract class Pool2dBase<O extends Pool2dLayerOptions> extends Layer {
  protected x: Tensor | null = null;
  constructor(protected readonly options: O, op: string) {
    super(options?.name);
    if (!options || options.size === undefined) throw new ArgumentError(`${op}: options.size is required`);
  }

  build(inputShape: number[]): number[] {
    this.expectRank(inputShape, 3, 'an [H, W, C]');
    const [H, W, C] = inputShape;
    return wrap(this, () => {
      const op = `layers.${this.type}`;
      const k = pair(op, 'size', this.options.size, 1);
      const s = this.options.strides === undefined ? k : pair(op, 'strides', this.options.strides, 1);
      const pads = poolPads(op, this.options.padding, [H, W], k, s);
      const ceil = this.options.ceilMode ?? false;
      return [poolOutSize(op, 'height', H, k[0], s[0], pads[0], ceil), poolOutSize(op, 'width', W, k[1], s[1], pads[1], ceil), C];
    });
  }

  override clearCache(): void {
    super.clearCache();
    this.x = null;
  }

  getConfig(): Record<string, unknown> {
    const { name: _name, ...rest } = this.options;
    void _name;
    return { ...rest };
  }
}

/** Max pooling; in training it keeps the argmax indices (int32, one per output) for backward. */
export class MaxPool2dLayer extends Pool2dBase<Pool2dLayerOptions> {
  readonly type = 'maxPool2d';
  constructor(options: Pool2dLayerOptions) { super(options, 'layers.maxPool2d'); }

  forward(x: Tensor, training: boolean): Tensor {
    const { name: _n, ...opts } = this.options;
    void _n;
    if (!training) return maxPool2d(x, opts);
    const { output, indices } = maxPool2d(x, { ...opts, returnIndices: true });
    this.x = x;
    this.cache.push(indices);
    return output;
  }

  backward(dy: Tensor, needDx: boolean): Tensor | null {
    return needDx ? maxPool2dBackward(dy, this.cache[0], this.x!.shape) : null;
  }

  override cacheBytes(n: number): number {
    return n * this.outputShape.reduce((a, b) => a * b, 1) * 4;
  }
}

/** Average pooling. */
export class AvgPool2dLayer extends Pool2dBase<AvgPool2dLayerOptions> {
  readonly type = 'avgPool2d';
  constructor(options: AvgPool2dLayerOptions) { super(options, 'layers.avgPool2d'); }

  forward(x: Tensor, training: boolean): Tensor {
    if (training) this.x = x;
    const { name: _n, ...opts } = this.options;
    void _n;
    return avgPool2d(x, opts);
  }

  backward(dy: Tensor, needDx: boolean): Tensor | null {
    if (!needDx) return null;
    const { name: _n, ...opts } = this.options;
    void _n;
    return avgPool2dBackward(dy, this.x!.shape, opts);
  }
}

/** Global average pooling: [H, W, C] → [C]. */
export class GlobalAvgPool2dLayer extends Layer {
  readonly type = 'globalAvgPool2d';
  private xShape: readonly number[] = [];
  constructor(options: { name?: string } = {}) { super(options.name); }

  build(inputShape: number[]): number[] {
    this.expectRank(inputShape, 3, 'an [H, W, C]');
    return [inputShape[2]];
  }

  forward(x: Tensor, training: boolean): Tensor {
    if (training) this.xShape = x.shape;
    return globalAvgPool2d(x);
  }

  backward(dy: Tensor, needDx: boolean): Tensor | null {
    return needDx ? globalAvgPool2dBackward(dy, this.xShape) : null;
  }

  getConfig(): Record<string, unknown> { return {}; }
}
