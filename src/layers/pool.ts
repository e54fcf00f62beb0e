import { ArgumentError } from '../errors.js';
import { fill, type Tensor } from '../tensor.js';
import {
  adaptiveAvgPool2d, adaptiveMaxPool2d, avgPool2d, globalAvgPool2d, globalMaxPool2d, lpPool2d, maxPool2d, mixedPool2d,
} from '../ops/pool.js';
import {
  adaptiveAvgPool2dBackward, avgPool2dBackward, globalAvgPool2dBackward, globalMaxPool2dBackward, lpPool2dBackward, maxPool2dBackward,
} from '../ops/pool-backprop.js';
import { add, mul, sub } from '../ops/arithmetic.js';
import { pair, poolOutSize, poolPads, type Padding } from '../ops/shape.js';
import { Layer, type Context, type Gradients } from './layer.js';
import { bool, finiteNumber, intPair, layerOptions, paddingOption, type Pair } from './options.js';

// Pooling layers. Options use Keras's names (poolSize); the ops take the spec's (size). Max pooling
// records the argmax in training and routes gradients through it; the sizes come from shape.ts.

export interface Pool2dLayerOptions {
  poolSize: Pair;
  strides?: Pair;
  padding?: Exclude<Padding, 'full'>;
  ceilMode?: boolean;
  name?: string;
}
export interface AvgPool2dLayerOptions extends Pool2dLayerOptions { countIncludePad?: boolean }
export interface LpPool2dLayerOptions { p: number; poolSize: Pair; strides?: Pair; name?: string }
export type MixedPool2dLayerOptions = AvgPool2dLayerOptions;
export interface AdaptivePool2dLayerOptions { outputSize: Pair; name?: string }

type Kind = 'maxPool2d' | 'avgPool2d' | 'lpPool2d' | 'mixedPool2d';
const KEYS: Record<Kind, readonly string[]> = {
  maxPool2d: ['poolSize', 'strides', 'padding', 'ceilMode', 'name'],
  avgPool2d: ['poolSize', 'strides', 'padding', 'ceilMode', 'countIncludePad', 'name'],
  lpPool2d: ['p', 'poolSize', 'strides', 'name'],
  mixedPool2d: ['poolSize', 'strides', 'padding', 'ceilMode', 'countIncludePad', 'name'],
};

/** Windowed pooling: max, average, power-average and mixed (λ random per region while training). */
export class Pool2dLayer extends Layer {
  readonly type: Kind;
  private readonly o: { size: [number, number]; strides: [number, number]; padding?: Exclude<Padding, 'full'>; ceilMode: boolean; countIncludePad: boolean; p: number };
  private readonly config: Record<string, unknown>;

  constructor(type: Kind, options: Pool2dLayerOptions & { countIncludePad?: boolean; p?: number }) {
    const op = `layers.${type}`;
    const o = layerOptions<Pool2dLayerOptions & { countIncludePad?: boolean; p?: number }>(op, options, KEYS[type], type === 'lpPool2d' ? ['p', 'poolSize'] : ['poolSize']);
    super(o.name);
    this.type = type;
    const size = intPair(op, 'poolSize', o.poolSize);
    this.o = {
      size,
      strides: intPair(op, 'strides', o.strides, size),
      padding: paddingOption(op, o.padding) as Exclude<Padding, 'full'> | undefined,
      ceilMode: bool(op, 'ceilMode', o.ceilMode, false),
      countIncludePad: bool(op, 'countIncludePad', o.countIncludePad, false),
      p: type === 'lpPool2d' ? finiteNumber(op, 'p', o.p, 2) : 0,
    };
    if (type === 'lpPool2d' && !(this.o.p > 0)) throw new ArgumentError(`${op}: p must be a finite number > 0, got ${o.p}`);
    const { name: _name, ...rest } = o;
    void _name;
    this.config = rest;
  }

  private opOptions() {
    const { size, strides, padding, ceilMode, countIncludePad } = this.o;
    return { size, strides, padding, ceilMode, ...(this.type === 'avgPool2d' || this.type === 'mixedPool2d' ? { countIncludePad } : {}) };
  }

  computeOutputShape([s]: number[][]): number[] {
    this.expectRank(s, 3, 'an [H, W, C]');
    const [H, W, C] = s;
    const op = `layers.${this.type}`;
    const k = pair(op, 'poolSize', this.o.size, 1);
    const st = pair(op, 'strides', this.o.strides, 1);
    const pads = poolPads(op, this.o.padding, [H, W], k, st);
    return [poolOutSize(op, 'height', H, k[0], st[0], pads[0], this.o.ceilMode), poolOutSize(op, 'width', W, k[1], st[1], pads[1], this.o.ceilMode), C];
  }

  forward([x]: Tensor[], ctx: Context): Tensor {
    const o = this.opOptions();
    switch (this.type) {
      case 'maxPool2d': {
        if (!ctx.training) return maxPool2d(x, o);
        const { output, indices } = maxPool2d(x, { ...o, returnIndices: true });
        ctx.values.indices = ctx.own(indices);
        return output;
      }
      case 'avgPool2d': return avgPool2d(x, o);
      case 'lpPool2d': return lpPool2d(x, { p: this.o.p, size: o.size, strides: o.strides });
      case 'mixedPool2d': {
        // Inference: the expectation of λ ~ Bernoulli(½), i.e. ½·max + ½·avg.
        if (!ctx.training) return mixedPool2d(x, { ...o, lambda: 0.5 });
        const { size, strides, padding, ceilMode, countIncludePad } = this.o;
        const { output: m, indices } = maxPool2d(x, { size, strides, padding, ceilMode, returnIndices: true });
        ctx.own(indices);
        ctx.own(m);
        const a = ctx.own(avgPool2d(x, { size, strides, padding, ceilMode, countIncludePad }));
        // One λ ∈ {0, 1} per pooling region (Yu et al. 2014), from the model's seeded stream.
        const lambda = ctx.own(fill(m.shape, 0));
        const v = lambda.view();
        for (let i = 0; i < v.length; i++) v[i] = ctx.random() < 0.5 ? 1 : 0;
        ctx.values.indices = indices;
        ctx.values.lambda = lambda;
        // y = avg + λ·(max − avg)
        const diff = ctx.own(sub(m, a));
        const t = ctx.own(mul(lambda, diff));
        return add(a, t);
      }
    }
  }

  backward(dy: Tensor, ctx: Context, needDx: boolean[]): Gradients {
    if (!needDx[0]) return { dxs: [null], grads: [] };
    const x = ctx.inputs[0];
    const o = this.opOptions();
    switch (this.type) {
      case 'maxPool2d': return { dxs: [maxPool2dBackward(dy, ctx.values.indices as Tensor, x.shape)], grads: [] };
      case 'avgPool2d': return { dxs: [avgPool2dBackward(dy, x.shape, o)], grads: [] };
      case 'lpPool2d': return { dxs: [lpPool2dBackward(x, ctx.output!, dy, { p: this.o.p, size: o.size, strides: o.strides })], grads: [] };
      case 'mixedPool2d': {
        const lambda = ctx.values.lambda as Tensor;
        const dm = mul(dy, lambda);
        const tmp: Tensor[] = [dm];
        try {
          const da = tmp[tmp.push(sub(dy, dm)) - 1];
          const gm = tmp[tmp.push(maxPool2dBackward(dm, ctx.values.indices as Tensor, x.shape)) - 1];
          const ga = tmp[tmp.push(avgPool2dBackward(da, x.shape, { size: o.size, strides: o.strides, padding: o.padding, ceilMode: o.ceilMode, countIncludePad: this.o.countIncludePad })) - 1];
          return { dxs: [add(gm, ga)], grads: [] };
        } finally {
          for (const t of tmp) t.dispose();
        }
      }
    }
  }

  override cacheBytes(n: number): number {
    const out = n * this.outputShape.reduce((a, b) => a * b, 1) * 4;
    return this.type === 'maxPool2d' ? out : this.type === 'mixedPool2d' ? 6 * out : 0;
  }

  getConfig(): Record<string, unknown> { return { ...this.config }; }
}

type GlobalKind = 'globalAvgPool2d' | 'globalMaxPool2d';

/** Global average or max pooling: [H, W, C] → [C]. */
export class GlobalPool2dLayer extends Layer {
  readonly type: GlobalKind;
  constructor(type: GlobalKind, options: { name?: string } = {}) {
    super(layerOptions<{ name?: string }>(`layers.${type}`, options, ['name']).name);
    this.type = type;
  }
  computeOutputShape([s]: number[][]): number[] {
    this.expectRank(s, 3, 'an [H, W, C]');
    return [s[2]];
  }
  forward([x]: Tensor[]): Tensor {
    return this.type === 'globalAvgPool2d' ? globalAvgPool2d(x) : globalMaxPool2d(x);
  }
  backward(dy: Tensor, ctx: Context, needDx: boolean[]): Gradients {
    if (!needDx[0]) return { dxs: [null], grads: [] };
    const x = ctx.inputs[0];
    return { dxs: [this.type === 'globalAvgPool2d' ? globalAvgPool2dBackward(dy, x.shape) : globalMaxPool2dBackward(x, dy)], grads: [] };
  }
  getConfig(): Record<string, unknown> { return {}; }
}

type AdaptiveKind = 'adaptiveAvgPool2d' | 'adaptiveMaxPool2d';

/** Adaptive pooling to a fixed output size (PyTorch's bins). */
export class AdaptivePool2dLayer extends Layer {
  readonly type: AdaptiveKind;
  private readonly outputSize: [number, number];
  constructor(type: AdaptiveKind, options: AdaptivePool2dLayerOptions) {
    const op = `layers.${type}`;
    const o = layerOptions<AdaptivePool2dLayerOptions>(op, options, ['outputSize', 'name'], ['outputSize']);
    super(o.name);
    this.type = type;
    this.outputSize = intPair(op, 'outputSize', o.outputSize);
  }
  computeOutputShape([s]: number[][]): number[] {
    this.expectRank(s, 3, 'an [H, W, C]');
    return [this.outputSize[0], this.outputSize[1], s[2]];
  }
  forward([x]: Tensor[], ctx: Context): Tensor {
    const outputSize = this.outputSize;
    if (this.type === 'adaptiveAvgPool2d') return adaptiveAvgPool2d(x, { outputSize });
    if (!ctx.training) return adaptiveMaxPool2d(x, { outputSize });
    const { output, indices } = adaptiveMaxPool2d(x, { outputSize, returnIndices: true });
    ctx.values.indices = ctx.own(indices);
    return output;
  }
  backward(dy: Tensor, ctx: Context, needDx: boolean[]): Gradients {
    if (!needDx[0]) return { dxs: [null], grads: [] };
    const x = ctx.inputs[0];
    return {
      dxs: [this.type === 'adaptiveAvgPool2d'
        ? adaptiveAvgPool2dBackward(dy, x.shape, { outputSize: this.outputSize })
        : maxPool2dBackward(dy, ctx.values.indices as Tensor, x.shape)],
      grads: [],
    };
  }
  getConfig(): Record<string, unknown> { return { outputSize: this.outputSize.slice() }; }
}
