import { empty, type Tensor } from '../tensor.js';
import { conv1d, conv2d, conv2dInto, conv2dTranspose, locallyConnected2d, runConv } from '../ops/conv.js';
import {
  conv1dBackpropFilter, conv1dBackpropInput, conv2dBackpropFilter, conv2dBackpropInput,
  conv2dTransposeBackpropFilter, conv2dTransposeBackpropInput, locallyConnected2dBackpropFilter,
  locallyConnected2dBackpropInput,
} from '../ops/conv-backprop.js';
import { biasGrad } from '../ops/dense.js';
import { conv1dGeometry, conv2dGeometry, conv2dTransposeGeometry, convOutSize, convPads, type ConvGeometry, type Padding } from '../ops/shape.js';
import type { Activation, ParsedActivation } from '../ops/activation.js';
import { Context, Layer, type Gradients, type ParamSpec } from './layer.js';
import { asOption, finishActivation, fusedActivation, parsedActivation, weightedBackward } from './activation.js';
import { activationOption, bool, initializer, intPair, layerOptions, paddingOption, positiveInt, type Pair } from './options.js';
import type { Initializer } from './initializers.js';

// Convolution layers, one class driven by a table: each kind says which options it takes, its
// kernel shape, its output shape (from the ops' geometry, the one place for sizes) and which ops
// run forward and backward. Layer options use Keras's names (dilationRate, useBias, ...); the ops
// take the spec's (dilations, ...).

export interface ConvLayerOptions {
  filters?: number;
  kernelSize: Pair;
  strides?: Pair;
  padding?: Padding;
  dilationRate?: Pair;
  groups?: number;
  depthMultiplier?: number;
  outputPadding?: Pair;
  activation?: Activation;
  useBias?: boolean;
  kernelInitializer?: Initializer;
  biasInitializer?: Initializer;
  name?: string;
}
export type Conv2dLayerOptions = ConvLayerOptions & { filters: number };
export type Conv1dLayerOptions = Omit<ConvLayerOptions, 'kernelSize' | 'strides' | 'dilationRate'> & { filters: number; kernelSize: number; strides?: number; dilationRate?: number };
export type Conv2dTransposeLayerOptions = ConvLayerOptions & { filters: number };
export type DepthwiseConv2dLayerOptions = Omit<ConvLayerOptions, 'filters' | 'groups'>;
export type LocallyConnected2dLayerOptions = Omit<ConvLayerOptions, 'dilationRate' | 'groups'> & { filters: number };

/** Resolved options: what every kind's functions read. */
interface Conv {
  filters: number; k: [number, number]; s: [number, number]; d: [number, number]; padding: Padding | undefined;
  groups: number; outputPadding: [number, number]; depthMultiplier: number;
}

interface ConvKind {
  keys: readonly string[];
  required: readonly string[];
  rank: number;
  /** Kernel shape and fans for input channels C. */
  kernel(c: Conv, C: number): { shape: number[]; fanIn: number; fanOut: number };
  outChannels(c: Conv, C: number): number;
  /** Bias shape for this output (per channel, or per pixel for locally connected). */
  bias(c: Conv, out: number[]): number[];
  outShape(c: Conv, inShape: number[], kernel: number[]): number[];
  forward(c: Conv, x: Tensor, w: Tensor, bias: Tensor | undefined, act: Activation | undefined): Tensor;
  backFilter(c: Conv, x: Tensor, dz: Tensor, w: Tensor): Tensor;
  backInput(c: Conv, dz: Tensor, w: Tensor, x: Tensor): Tensor;
  perPixelBias?: boolean;
}

/** A validated inference geometry: the shapes it is for, and what runConv takes. */
interface Known { x: number[]; w: number[]; g: ConvGeometry; groups: number }

const COMMON = ['kernelSize', 'strides', 'padding', 'activation', 'useBias', 'kernelInitializer', 'biasInitializer', 'name'] as const;
const g2 = (c: Conv) => ({ strides: c.s, padding: c.padding, dilations: c.d, groups: c.groups });
const gT = (c: Conv) => ({ strides: c.s, padding: c.padding as Exclude<Padding, 'full'>, dilations: c.d, groups: c.groups, outputPadding: c.outputPadding });
const g1 = (c: Conv) => ({ strides: c.s[1], padding: c.padding as never, dilations: c.d[1], groups: c.groups });

const conv2dKind: ConvKind = {
  keys: ['filters', ...COMMON, 'dilationRate', 'groups'],
  required: ['filters', 'kernelSize'],
  rank: 3,
  kernel: (c, C) => ({ shape: [c.k[0], c.k[1], C / c.groups, c.filters], fanIn: c.k[0] * c.k[1] * C / c.groups, fanOut: c.k[0] * c.k[1] * c.filters / c.groups }),
  outChannels: (c) => c.filters,
  bias: (c) => [c.filters],
  outShape: (c, s, w) => { const { g } = conv2dGeometry('conv2d', [1, ...s], w, g2(c)); return [g.OH, g.OW, g.Cout]; },
  forward: (c, x, w, bias, activation) => conv2d(x, w, { ...g2(c), bias, activation }),
  backFilter: (c, x, dz, w) => conv2dBackpropFilter(x, dz, w.shape, g2(c)),
  backInput: (c, dz, w, x) => conv2dBackpropInput(dz, w, x.shape, g2(c)),
};

/** Depthwise: conv2d with groups = C and C·depthMultiplier outputs; kernel [KH, KW, 1, C·depthMultiplier]. */
const gd = (c: Conv, C: number) => ({ ...g2(c), groups: C });
const depthwiseKind: ConvKind = {
  ...conv2dKind,
  keys: [...COMMON, 'dilationRate', 'depthMultiplier'],
  required: ['kernelSize'],
  outShape: (c, s, w) => { const { g } = conv2dGeometry('depthwiseConv2d', [1, ...s], w, gd(c, s[2])); return [g.OH, g.OW, g.Cout]; },
  forward: (c, x, w, bias, activation) => conv2d(x, w, { ...gd(c, x.shape[3]), bias, activation }),
  backFilter: (c, x, dz, w) => conv2dBackpropFilter(x, dz, w.shape, gd(c, x.shape[3])),
  backInput: (c, dz, w, x) => conv2dBackpropInput(dz, w, x.shape, gd(c, x.shape[3])),
  kernel: (c, C) => ({ shape: [c.k[0], c.k[1], 1, C * c.depthMultiplier], fanIn: c.k[0] * c.k[1], fanOut: c.k[0] * c.k[1] * c.depthMultiplier }),
  outChannels: (c, C) => C * c.depthMultiplier,
  bias: (_c, out) => [out[2]],
};

const conv1dKind: ConvKind = {
  keys: ['filters', ...COMMON, 'dilationRate', 'groups'],
  required: ['filters', 'kernelSize'],
  rank: 2,
  kernel: (c, C) => ({ shape: [c.k[1], C / c.groups, c.filters], fanIn: c.k[1] * C / c.groups, fanOut: c.k[1] * c.filters / c.groups }),
  outChannels: (c) => c.filters,
  bias: (c) => [c.filters],
  outShape: (c, s, w) => { const { g } = conv1dGeometry('conv1d', [1, ...s], w, g1(c)); return [g.OW, g.Cout]; },
  forward: (c, x, w, bias, activation) => conv1d(x, w, { ...g1(c), bias, activation }),
  backFilter: (c, x, dz, w) => conv1dBackpropFilter(x, dz, w.shape, g1(c)),
  backInput: (c, dz, w, x) => conv1dBackpropInput(dz, w, x.shape, g1(c)),
};

const transposeKind: ConvKind = {
  keys: ['filters', ...COMMON, 'dilationRate', 'groups', 'outputPadding'],
  required: ['filters', 'kernelSize'],
  rank: 3,
  kernel: (c, C) => ({ shape: [c.k[0], c.k[1], c.filters / c.groups, C], fanIn: c.k[0] * c.k[1] * C / c.groups, fanOut: c.k[0] * c.k[1] * c.filters / c.groups }),
  outChannels: (c) => c.filters,
  bias: (c) => [c.filters],
  outShape: (c, s, w) => { const { g } = conv2dTransposeGeometry('conv2dTranspose', [1, ...s], w, gT(c)); return [g.OH, g.OW, g.Cout]; },
  forward: (c, x, w, bias, activation) => conv2dTranspose(x, w, { ...gT(c), bias, activation }),
  backFilter: (c, x, dz, w) => conv2dTransposeBackpropFilter(x, dz, w.shape, gT(c)),
  backInput: (c, dz, w, x) => conv2dTransposeBackpropInput(dz, w, x.shape, gT(c)),
};

/** Locally connected: kernel [OH, OW, KH, KW, C, filters], bias per output pixel [OH, OW, filters]. */
const locallyKind: ConvKind = {
  keys: ['filters', ...COMMON],
  required: ['filters', 'kernelSize'],
  rank: 3,
  kernel: () => { throw new Error('unreachable'); },
  outChannels: (c) => c.filters,
  bias: (c, out) => [out[0], out[1], c.filters],
  outShape: (c, [H, W]) => {
    const pads = convPads('locallyConnected2d', c.padding, [H, W], c.k, c.s, [1, 1]);
    return [convOutSize('locallyConnected2d', 'height', H, c.k[0], c.s[0], 1, pads[0]), convOutSize('locallyConnected2d', 'width', W, c.k[1], c.s[1], 1, pads[1]), c.filters];
  },
  forward: (c, x, w, bias, activation) => locallyConnected2d(x, w, { strides: c.s, padding: c.padding, bias, activation }),
  backFilter: (c, x, dz, w) => locallyConnected2dBackpropFilter(x, dz, w.shape, { strides: c.s, padding: c.padding }),
  backInput: (c, dz, w, x) => locallyConnected2dBackpropInput(dz, w, x.shape, { strides: c.s, padding: c.padding }),
  perPixelBias: true,
};

const KINDS = { conv2d: conv2dKind, conv1d: conv1dKind, conv2dTranspose: transposeKind, depthwiseConv2d: depthwiseKind, locallyConnected2d: locallyKind } as const;
export type ConvType = keyof typeof KINDS;

/** A convolution layer: kernel, optional bias, optional activation (relu fused into the kernel). */
export class ConvLayer extends Layer {
  readonly type: ConvType;
  private readonly kind: ConvKind;
  private readonly c: Conv;
  private readonly options: ConvLayerOptions;
  readonly act: ParsedActivation | null;
  private prepared: Known | null = null;
  readonly useBias: boolean;

  constructor(type: ConvType, options: ConvLayerOptions) {
    const kind = KINDS[type];
    const op = `layers.${type}`;
    const o = layerOptions<ConvLayerOptions>(op, options, kind.keys, kind.required);
    super(o.name);
    this.type = type;
    this.kind = kind;
    const oneD = kind.rank === 2;
    const k = oneD ? positiveInt(op, 'kernelSize', o.kernelSize) : intPair(op, 'kernelSize', o.kernelSize);
    const s = oneD ? positiveInt(op, 'strides', o.strides, 1) : intPair(op, 'strides', o.strides, 1);
    const d = oneD ? positiveInt(op, 'dilationRate', o.dilationRate, 1) : intPair(op, 'dilationRate', o.dilationRate, 1);
    this.c = {
      filters: kind.required.includes('filters') ? positiveInt(op, 'filters', o.filters) : 0,
      k: typeof k === 'number' ? [1, k] : k,
      s: typeof s === 'number' ? [1, s] : s,
      d: typeof d === 'number' ? [1, d] : d,
      padding: paddingOption(op, o.padding, type === 'conv2dTranspose' ? ['valid', 'same'] : ['valid', 'same', 'full']) as Padding | undefined,
      groups: positiveInt(op, 'groups', o.groups, 1),
      outputPadding: intPair(op, 'outputPadding', o.outputPadding, 0, 0),
      depthMultiplier: positiveInt(op, 'depthMultiplier', o.depthMultiplier, 1),
    };
    if (oneD && Array.isArray(o.padding)) throw this.argumentError('padding for conv1d is a mode or one number');
    if (this.c.filters % this.c.groups !== 0) throw this.argumentError(`groups ${this.c.groups} must divide filters ${this.c.filters}`);
    activationOption(op, o.activation);
    this.act = parsedActivation(op, o.activation);
    this.useBias = bool(op, 'useBias', o.useBias, true);
    initializer(op, 'kernelInitializer', o.kernelInitializer, 'glorotUniform');
    initializer(op, 'biasInitializer', o.biasInitializer, 'zeros');
    const { name: _name, ...rest } = o;
    void _name;
    this.options = rest;
  }

  /** Strides, padding, dilations and groups as the conv ops take them. @internal */
  get geometry(): Conv { return this.c; }
  get kernel(): Tensor { return this.params[0]; }
  get bias(): Tensor | undefined { return this.useBias ? this.params[1] : undefined; }

  private kernelShape(s: number[]): { shape: number[]; fanIn: number; fanOut: number } {
    if (this.kind === locallyKind) {
      const out = this.kind.outShape(this.c, s, []);
      const C = s[2];
      return { shape: [out[0], out[1], this.c.k[0], this.c.k[1], C, this.c.filters], fanIn: this.c.k[0] * this.c.k[1] * C, fanOut: this.c.k[0] * this.c.k[1] * this.c.filters };
    }
    const C = s[s.length - 1];
    if (C % this.c.groups !== 0) throw this.shapeError(`groups ${this.c.groups} does not divide the input channels ${C}`);
    return this.kind.kernel(this.c, C);
  }

  computeOutputShape([s]: number[][]): number[] {
    this.expectRank(s, this.kind.rank, this.kind.rank === 2 ? 'an [L, C]' : 'an [H, W, C]');
    return this.kind.outShape(this.c, s, this.kernelShape(s).shape);
  }

  override paramSpecs([s]: number[][]): ParamSpec[] {
    const { shape, fanIn, fanOut } = this.kernelShape(s);
    const out = this.kind.outShape(this.c, s, shape);
    const specs: ParamSpec[] = [{ name: 'kernel', shape, init: this.options.kernelInitializer ?? 'glorotUniform', fanIn, fanOut }];
    if (this.useBias) specs.push({ name: 'bias', shape: this.kind.bias(this.c, out), init: this.options.biasInitializer ?? 'zeros', fanIn, fanOut });
    return specs;
  }

  forward([x]: Tensor[], ctx: Context): Tensor {
    return this.forwardWith(x, this.kernel, this.bias, ctx);
  }

  /** Forward with other weights (batch normalization folded in for inference). @internal */
  forwardWith(x: Tensor, kernel: Tensor, bias: Tensor | undefined, ctx: Context, act: ParsedActivation | null = this.act): Tensor {
    const known = ctx.training ? null : this.known(x, kernel);
    if (known) {
      bias?.check(this.type, 'bias');
      const y = empty([known.g.N, known.g.OH, known.g.OW, known.g.Cout]);
      try {
        runConv(known.g, x, kernel, bias ?? null, known.groups, false, act, y);
      } catch (e) {
        y.dispose();
        throw e;
      }
      return y;
    }
    const z = this.kind.forward(this.c, x, kernel, bias, fusedActivation(act, ctx));
    if (!ctx.training) this.remember(x, kernel);
    try {
      return finishActivation(z, act, ctx);
    } catch (e) {
      z.dispose();
      throw e;
    }
  }

  /** Inference forward of a conv2d into channels [c0, c0 + filters) of y (a concatenation's slice). @internal */
  forwardInto(x: Tensor, y: Tensor, c0: number): void {
    if (this.type !== 'conv2d') throw this.argumentError(`forwardInto is for conv2d layers, this is ${this.type}`);
    const known = this.known(x, this.kernel), s = y.shape;
    if (known && s[0] === known.g.N && s[1] === known.g.OH && s[2] === known.g.OW && c0 >= 0 && c0 + known.g.Cout <= s[3]) {
      y.check(this.type, 'y');
      this.bias?.check(this.type, 'bias');
      runConv(known.g, x, this.kernel, this.bias ?? null, known.groups, false, this.act, y, c0);
      return;
    }
    conv2dInto(x, this.kernel, { ...g2(this.c), bias: this.bias, activation: this.act ? asOption(this.act) : undefined }, y, c0);
    this.remember(x, this.kernel);
  }

  /**
   * Inference calls repeat one geometry: after an op call has validated it (and succeeded), the
   * resolved geometry is kept, and later calls with the same input and kernel shapes run the
   * kernels without re-parsing the options (the per-call host work showed up as 30–70 µs per
   * convolution in whole-model profiles). conv2d and depthwise only.
   */
  private known(x: Tensor, kernel: Tensor): Known | null {
    const k = this.prepared, s = x.shape, w = kernel.shape;
    if (!k || s.length !== 4 || w.length !== 4 || s[0] !== k.x[0] || s[1] !== k.x[1] || s[2] !== k.x[2] || s[3] !== k.x[3] ||
      w[0] !== k.w[0] || w[1] !== k.w[1] || w[2] !== k.w[2] || w[3] !== k.w[3] || x.dtype !== 'float32') return null;
    x.check(this.type, 'x');
    kernel.check(this.type, 'w');
    return k;
  }

  private remember(x: Tensor, kernel: Tensor): void {
    if (this.kind !== conv2dKind && this.kind !== depthwiseKind) return;
    const opts = this.kind === depthwiseKind ? gd(this.c, x.shape[3]) : g2(this.c);
    const { g, groups } = conv2dGeometry(this.type, x.shape, kernel.shape, opts);
    this.prepared = { x: x.shape.slice(), w: kernel.shape.slice(), g, groups };
  }

  backward(dy: Tensor, ctx: Context, needDx: boolean[]): Gradients {
    const x = ctx.inputs[0];
    return weightedBackward(dy, ctx, this.act,
      (dz) => this.kind.backFilter(this.c, x, dz, this.kernel),
      this.useBias ? (dz) => biasGrad(dz, { perPixel: this.kind.perPixelBias ?? false }) : null,
      needDx[0] ? (dz) => this.kind.backInput(this.c, dz, this.kernel, x) : null);
  }

  override cacheBytes(n: number): number {
    return this.act && this.act.name !== 'relu' ? n * this.outputShape.reduce((a, b) => a * b, 1) * 4 : 0;
  }

  getConfig(): Record<string, unknown> { return { ...this.options }; }
}

export interface SeparableConv2dLayerOptions extends Omit<ConvLayerOptions, 'groups' | 'outputPadding'> {
  filters: number;
  depthwiseInitializer?: Initializer;
  pointwiseInitializer?: Initializer;
}

/**
 * Separable convolution (Keras SeparableConv2D): a depthwise convolution (no bias) and a 1×1
 * convolution with the bias and activation. Weights: depthwiseKernel [KH, KW, 1, C·depthMultiplier],
 * pointwiseKernel [1, 1, C·depthMultiplier, filters], bias [filters].
 */
export class SeparableConv2dLayer extends Layer {
  readonly type = 'separableConv2d';
  private readonly depthwise: ConvLayer;
  private readonly pointwise: ConvLayer;
  private readonly options: Omit<SeparableConv2dLayerOptions, 'name'>;

  constructor(options: SeparableConv2dLayerOptions) {
    const op = 'layers.separableConv2d';
    const keys = ['filters', 'kernelSize', 'strides', 'padding', 'dilationRate', 'depthMultiplier', 'activation', 'useBias', 'depthwiseInitializer', 'pointwiseInitializer', 'biasInitializer', 'name'];
    const o = layerOptions<SeparableConv2dLayerOptions>(op, options, keys, ['filters', 'kernelSize']);
    super(o.name);
    const { name: _name, ...rest } = o;
    void _name;
    this.options = rest;
    this.depthwise = new ConvLayer('depthwiseConv2d', { kernelSize: o.kernelSize, strides: o.strides, padding: o.padding, dilationRate: o.dilationRate, depthMultiplier: o.depthMultiplier, useBias: false, kernelInitializer: initializer(op, 'depthwiseInitializer', o.depthwiseInitializer, 'glorotUniform') });
    this.pointwise = new ConvLayer('conv2d', { filters: o.filters, kernelSize: 1, activation: o.activation, useBias: o.useBias, kernelInitializer: initializer(op, 'pointwiseInitializer', o.pointwiseInitializer, 'glorotUniform'), biasInitializer: o.biasInitializer });
  }

  computeOutputShape(shapes: number[][]): number[] {
    return this.pointwise.computeOutputShape([this.depthwise.computeOutputShape(shapes)]);
  }

  override paramSpecs(shapes: number[][]): ParamSpec[] {
    const mid = this.depthwise.computeOutputShape(shapes);
    const [dw] = this.depthwise.paramSpecs(shapes);
    const [pw, ...bias] = this.pointwise.paramSpecs([mid]);
    return [{ ...dw, name: 'depthwiseKernel' }, { ...pw, name: 'pointwiseKernel' }, ...bias];
  }

  /** The two halves share this layer's parameters (built by the model). */
  private sync(): void {
    this.depthwise.params = [this.params[0]];
    this.pointwise.params = this.params.slice(1);
  }

  forward([x]: Tensor[], ctx: Context): Tensor {
    this.sync();
    const mid = this.depthwise.forward([x], ctx);
    const inner = new Context(ctx.training, ctx.random);
    try {
      const y = this.pointwise.forward([mid], inner);
      if (ctx.training) {
        ctx.values.mid = ctx.own(mid);
        ctx.values.inner = inner;
        inner.inputs = [mid];
        inner.output = y;
      } else {
        mid.dispose();
        inner.dispose();
      }
      return y;
    } catch (e) {
      mid.dispose();
      inner.dispose();
      throw e;
    }
  }

  backward(dy: Tensor, ctx: Context, needDx: boolean[]): Gradients {
    this.sync();
    const inner = ctx.values.inner as Context;
    const p = this.pointwise.backward(dy, inner, [true]);
    inner.dispose();
    const dmid = p.dxs[0]!;
    try {
      const d = this.depthwise.backward(dmid, ctx, needDx);
      return { dxs: d.dxs, grads: [...d.grads, ...p.grads] };
    } catch (e) {
      for (const g of p.grads) g.dispose();
      throw e;
    } finally {
      dmid.dispose();
    }
  }

  getConfig(): Record<string, unknown> { return { ...this.options }; }
}
