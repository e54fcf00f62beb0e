import { ArgumentError, SimdcnnError } from '../../errors.js';
import type { Activation } from '../../ops/activation.js';
import { layers } from '../../layers/index.js';
import type { Layer } from '../../layers/layer.js';
import { OP, fail, get, kind, type Json, type JsonObject } from './json.js';

// Keras layer configs → simdcnn layers, one table entry per Keras class: which options it reads,
// which simdcnn factory it calls, and the Keras names of its weights in simdcnn's parameter order
// (with the Keras shape each must have). Options simdcnn cannot express are ArgumentErrors naming
// the layer and the option; options that only matter to Keras's training loop (initializers,
// regularizers, constraints) are accepted and ignored; any other key must be null or false.

export interface KerasLayer { className: string; name: string; config: JsonObject; path: string }

/** A weight of the converted layer, in simdcnn's parameter order. */
export interface WeightSlot {
  /** Keras's name for it (the part after the layer name: kernel, bias, gamma, moving_mean, ...). */
  keras: string;
  /** The shape the manifest must give (simdcnn's own shape unless Keras's differs in form only). */
  shape: number[];
}

export interface Converted { layer: Layer; weights: (simdShapes: number[][]) => WeightSlot[] }

const IGNORED = /^(name|trainable|dtype|batch_input_shape|batch_shape|input_shape|input_dim|activity_regularizer|.*_initializer|.*_regularizer|.*_constraint)$/;

/** Reads one layer's config, remembering which keys it used so the rest can be checked. */
class Config {
  private readonly used = new Set<string>();
  /** `hint(weight)`: the manifest's shape for this layer's weight, if it lists one. */
  constructor(readonly k: KerasLayer, readonly hint: (weight: string) => number[] | undefined) {}

  get label(): string { return `layer '${this.k.name}' (${this.k.className})`; }

  raw(key: string): Json | undefined {
    this.used.add(key);
    return get(this.k.config, key);
  }

  unsupported(option: string, value: unknown, why = ''): never {
    throw new ArgumentError(`${OP}: ${this.label}: option ${option} = ${JSON.stringify(value)?.slice(0, 80)} is not supported${why ? ` (${why})` : ''}`);
  }

  int(key: string, fallback?: number): number {
    const v = this.raw(key) ?? fallback;
    if (typeof v !== 'number' || !Number.isInteger(v)) fail(`${this.k.path}.config.${key}`, `must be an integer, got ${kind(v)}`);
    return v;
  }

  num(key: string, fallback: number): number {
    const v = this.raw(key) ?? fallback;
    if (typeof v !== 'number' || !Number.isFinite(v)) fail(`${this.k.path}.config.${key}`, `must be a number, got ${kind(v)}`);
    return v;
  }

  bool(key: string, fallback: boolean): boolean {
    const v = this.raw(key) ?? fallback;
    if (typeof v !== 'boolean') fail(`${this.k.path}.config.${key}`, `must be true or false, got ${kind(v)}`);
    return v;
  }

  /** An integer or a list of n integers (kernel_size, strides, ...). */
  ints(key: string, n: number, fallback?: number): number[] {
    const v = this.raw(key) ?? fallback;
    const list = typeof v === 'number' ? new Array(n).fill(v) : v;
    if (!Array.isArray(list) || list.length !== n || list.some((x) => typeof x !== 'number' || !Number.isInteger(x))) {
      fail(`${this.k.path}.config.${key}`, `must be an integer or ${n} integers, got ${kind(v)}`);
    }
    return list as number[];
  }

  pair(key: string, fallback?: number): [number, number] {
    const [a, b] = this.ints(key, 2, fallback);
    return [a, b];
  }

  padding(): 'valid' | 'same' {
    const v = this.raw('padding') ?? 'valid';
    if (v !== 'valid' && v !== 'same') this.unsupported('padding', v, "'valid' and 'same' are");
    return v;
  }

  channelsLast(): void {
    const v = this.raw('data_format');
    if (v !== undefined && v !== null && v !== 'channels_last') this.unsupported('data_format', v, 'simdcnn is NHWC: channels_last only');
  }

  /**
   * depth_multiplier; tfjs-layers 4.22 leaves it out of SeparableConv2D's config (its getConfig
   * forgets it), so without it the depthwise kernel's last dimension in the manifest says.
   */
  depthMultiplier(): number {
    const v = this.raw('depth_multiplier');
    if (v !== undefined && v !== null) return this.int('depth_multiplier');
    const shape = this.hint('depthwise_kernel');
    return shape?.length === 4 && Number.isInteger(shape[3]) && shape[3] >= 1 ? shape[3] : 1;
  }

  activation(key = 'activation'): Activation | undefined {
    const v = this.raw(key);
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') this.unsupported(key, v, 'an activation name is expected');
    const a = Object.prototype.hasOwnProperty.call(ACTIVATIONS, v) ? ACTIVATIONS[v] : undefined;
    if (a === undefined) this.unsupported(key, v, `known: ${Object.keys(ACTIVATIONS).join(', ')}`);
    return a ?? undefined;
  }

  /** Every key not read must be a training-only one, or null/false. */
  finish(): void {
    for (const key of Object.keys(this.k.config)) {
      if (this.used.has(key) || IGNORED.test(key)) continue;
      const v = this.k.config[key];
      if (v !== null && v !== false) this.unsupported(key, v);
    }
  }

  /** Run a simdcnn factory; its errors get this layer's Keras name in front. */
  build(make: () => Layer): Layer {
    try {
      return make();
    } catch (e) {
      if (e instanceof SimdcnnError && !e.message.startsWith(`${OP}: `)) e.message = `${OP}: ${this.label}: ${e.message}`;
      throw e;
    }
  }
}

/** Keras activation names (and tfjs's camelCase spellings) → simdcnn's; null = linear. */
const ACTIVATIONS: Record<string, Activation | null> = {
  linear: null, relu: 'relu', relu6: 'relu6', elu: 'elu', selu: 'selu', sigmoid: 'sigmoid',
  hard_sigmoid: { name: 'hardSigmoid', alpha: 0.2, beta: 0.5 }, hardSigmoid: { name: 'hardSigmoid', alpha: 0.2, beta: 0.5 },
  tanh: 'tanh', softmax: 'softmax', log_softmax: 'logSoftmax', logSoftmax: 'logSoftmax', swish: 'swish', silu: 'swish',
  gelu: 'gelu', hard_swish: 'hardSwish', hard_silu: 'hardSwish', leaky_relu: { name: 'leakyRelu', alpha: 0.2 },
};

const same = (keras: string) => (shape: number[]): WeightSlot => ({ keras, shape });
const convWeights = (kernel: string, useBias: boolean) => (s: number[][]): WeightSlot[] => [same(kernel)(s[0]), ...(useBias ? [same('bias')(s[1])] : [])];
/** Keras keeps a depthwise kernel as [KH, KW, C, multiplier]; simdcnn as [KH, KW, 1, C·multiplier]: the same bytes. */
const depthwiseSlot = (dm: number) => (s: number[]): WeightSlot => ({ keras: 'depthwise_kernel', shape: [s[0], s[1], s[3] / dm, dm] });

/** Options without undefined values (a layer's saved config must be plain JSON). */
const defined = <T extends object>(o: T): T => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;

type Converter = (c: Config, inputShapes: number[][]) => Converted;
const noWeights = () => [];
const simple = (make: (c: Config, inputShapes: number[][]) => Layer): Converter => (c, s) => ({ layer: c.build(() => make(c, s)), weights: noWeights });

function conv2d(c: Config): Converted {
  c.channelsLast();
  const useBias = c.bool('use_bias', true);
  const o = { filters: c.int('filters'), kernelSize: c.pair('kernel_size'), strides: c.pair('strides', 1), padding: c.padding(), dilationRate: c.pair('dilation_rate', 1), groups: c.int('groups', 1), activation: c.activation(), useBias };
  return { layer: c.build(() => layers.conv2d(defined(o))), weights: convWeights('kernel', useBias) };
}

function depthwiseConv2d(c: Config): Converted {
  c.channelsLast();
  const useBias = c.bool('use_bias', true);
  const dm = c.depthMultiplier();
  const o = { kernelSize: c.pair('kernel_size'), strides: c.pair('strides', 1), padding: c.padding(), dilationRate: c.pair('dilation_rate', 1), depthMultiplier: dm, activation: c.activation(), useBias };
  return { layer: c.build(() => layers.depthwiseConv2d(defined(o))), weights: (s) => [depthwiseSlot(dm)(s[0]), ...(useBias ? [same('bias')(s[1])] : [])] };
}

function separableConv2d(c: Config): Converted {
  c.channelsLast();
  const useBias = c.bool('use_bias', true);
  const dm = c.depthMultiplier();
  const o = { filters: c.int('filters'), kernelSize: c.pair('kernel_size'), strides: c.pair('strides', 1), padding: c.padding(), dilationRate: c.pair('dilation_rate', 1), depthMultiplier: dm, activation: c.activation(), useBias };
  return { layer: c.build(() => layers.separableConv2d(defined(o))), weights: (s) => [depthwiseSlot(dm)(s[0]), same('pointwise_kernel')(s[1]), ...(useBias ? [same('bias')(s[2])] : [])] };
}

/**
 * Keras's transposed sizes (conv_utils.deconv_output_length): 'valid' gives in·s + max(k − s, 0)
 * (PyTorch's rule plus an output padding of s − k when the kernel is smaller than the stride);
 * 'same' gives in·s, as simdcnn's 'same'. An explicit output_padding fixes the size, and TensorFlow
 * then pads like the forward convolution of that size: expressed here as explicit pads.
 */
function conv2dTranspose(c: Config, [inShape]: number[][]): Converted {
  c.channelsLast();
  const useBias = c.bool('use_bias', true);
  const k = c.pair('kernel_size'), s = c.pair('strides', 1), d = c.pair('dilation_rate', 1), padding = c.padding();
  const op = c.raw('output_padding');
  const explicit = op === undefined || op === null ? null : c.pair('output_padding');
  let pads: 'valid' | 'same' | [[number, number], [number, number]] = padding;
  const outputPadding: [number, number] = [0, 0];
  const pairs: [[number, number], [number, number]] = [[0, 0], [0, 0]];
  for (const i of [0, 1] as const) {
    const dk = d[i] * (k[i] - 1) + 1, n = inShape?.[i] ?? 1;
    const base = (n - 1) * s[i] + dk;
    if (!explicit) {
      if (padding === 'valid') outputPadding[i] = Math.max(s[i] - dk, 0);
      continue;
    }
    const out = base - 2 * (padding === 'same' ? Math.floor(dk / 2) : 0) + explicit[i];
    if (padding === 'valid') { outputPadding[i] = out - base; continue; }
    const total = base - out;
    if (total >= 0) pairs[i] = [Math.floor(total / 2), total - Math.floor(total / 2)];
    else outputPadding[i] = -total;
  }
  if (explicit && padding === 'same') pads = pairs;
  const o = { filters: c.int('filters'), kernelSize: k, strides: s, padding: pads, outputPadding, dilationRate: d, activation: c.activation(), useBias };
  return { layer: c.build(() => layers.conv2dTranspose(defined(o))), weights: convWeights('kernel', useBias) };
}

function dense(c: Config): Converted {
  const useBias = c.bool('use_bias', true);
  const o = { units: c.int('units'), activation: c.activation(), useBias };
  return { layer: c.build(() => layers.dense(defined(o))), weights: convWeights('kernel', useBias) };
}

function batchNormalization(c: Config, [inShape]: number[][]): Converted {
  const a = c.raw('axis') ?? -1;
  const axis = Array.isArray(a) && a.length === 1 ? a[0] : a;
  const rank = (inShape?.length ?? 3) + 1;
  if (axis !== -1 && axis !== rank - 1) c.unsupported('axis', a, 'simdcnn normalises the last (channel) axis only');
  const center = c.bool('center', true), scale = c.bool('scale', true);
  const o = { momentum: c.num('momentum', 0.99), epsilon: c.num('epsilon', 1e-3), center, scale };
  const names = [...(scale ? ['gamma'] : []), ...(center ? ['beta'] : []), 'moving_mean', 'moving_variance'];
  return { layer: c.build(() => layers.batchNormalization(defined(o))), weights: (s) => names.map((n, i) => same(n)(s[i])) };
}

/** Keras's ReLU(max_value, negative_slope, threshold): relu, relu6 or leakyRelu; anything else is an error. */
function relu(c: Config): Layer {
  const max = c.raw('max_value');
  const slope = c.num('negative_slope', 0), threshold = c.num('threshold', 0);
  if (threshold !== 0) c.unsupported('threshold', threshold, 'simdcnn has relu, relu6 and leakyRelu: threshold 0 only');
  if (max === undefined || max === null) return slope === 0 ? layers.relu() : layers.leakyRelu({ alpha: slope });
  if (max === 6 && slope === 0) return layers.relu6();
  return c.unsupported('max_value', max, 'simdcnn has relu (no maximum) and relu6 (6, with negative_slope 0)');
}

function pool(type: 'maxPool2d' | 'avgPool2d') {
  return (c: Config): Layer => {
    c.channelsLast();
    const poolSize = c.pair('pool_size', 2);
    const st = c.raw('strides');
    const strides = st === null || st === undefined ? poolSize : c.pair('strides');
    const padding = c.padding();
    return layers[type]({ poolSize, strides, padding });
  };
}

function globalPool(type: 'globalAvgPool2d' | 'globalMaxPool2d') {
  return (c: Config): Layer => {
    c.channelsLast();
    if (c.raw('keepdims') === true) c.unsupported('keepdims', true, 'the pooled output is [C]');
    return layers[type]();
  };
}

function zeroPadding2d(c: Config): Layer {
  c.channelsLast();
  const v = c.raw('padding') ?? 1;
  const path = `${c.k.path}.config.padding`;
  const int = (x: unknown) => { if (typeof x !== 'number' || !Number.isInteger(x)) fail(path, `must be integers, got ${kind(v)}`); return x; };
  let p: [[number, number], [number, number]];
  if (typeof v === 'number') p = [[int(v), v], [v, v]];
  else if (Array.isArray(v) && v.length === 2 && v.every((x) => typeof x === 'number')) p = [[int(v[0]), int(v[0])], [int(v[1]), int(v[1])]];
  else if (Array.isArray(v) && v.length === 2 && v.every((x) => Array.isArray(x) && x.length === 2)) {
    const [[t, b], [l, r]] = v as number[][];
    p = [[int(t), int(b)], [int(l), int(r)]];
  } else fail(path, `must be an integer, [h, w] or [[top, bottom], [left, right]], got ${kind(v)}`);
  return layers.zeroPadding2d({ padding: p });
}

function upSampling2d(c: Config): Layer {
  c.channelsLast();
  const interpolation = c.raw('interpolation') ?? 'nearest';
  if (interpolation !== 'nearest' && interpolation !== 'bilinear') c.unsupported('interpolation', interpolation, "'nearest' and 'bilinear' are");
  return layers.upSampling2d({ size: c.pair('size', 2), interpolation });
}

function concatenate(c: Config): Layer {
  return layers.concatenate({ axis: c.int('axis', -1) });
}

function reshape(c: Config): Layer {
  const t = c.raw('target_shape');
  if (!Array.isArray(t) || t.some((d) => typeof d !== 'number' || !Number.isInteger(d))) fail(`${c.k.path}.config.target_shape`, `must be a list of integers, got ${kind(t)}`);
  return layers.reshape({ targetShape: t as number[] });
}

function dropout(c: Config): Layer {
  c.raw('seed');
  const ns = c.raw('noise_shape');
  if (ns !== undefined && ns !== null) c.unsupported('noise_shape', ns, 'dropout masks are per element');
  return layers.dropout({ rate: c.num('rate', 0) });
}

function softmaxLayer(c: Config, [inShape]: number[][]): Layer {
  const a = c.raw('axis') ?? -1;
  const axis = Array.isArray(a) && a.length === 1 ? a[0] : a;
  if (axis !== -1 && axis !== (inShape?.length ?? 0)) c.unsupported('axis', a, 'softmax runs over the last axis');
  return layers.softmax();
}

function prelu(c: Config, [inShape]: number[][]): Converted {
  const sharedRaw = c.raw('shared_axes');
  const shared = sharedRaw === null || sharedRaw === undefined ? [] : Array.isArray(sharedRaw) ? sharedRaw : [sharedRaw];
  const rank = inShape?.length ?? 0;
  // simdcnn's prelu has one alpha per channel: every axis but the last must be shared.
  const needed = Array.from({ length: rank - 1 }, (_, i) => i + 1);
  if (needed.some((a) => !shared.includes(a))) c.unsupported('shared_axes', sharedRaw, `simdcnn's prelu has one alpha per channel: shared_axes must be [${needed.join(', ')}]`);
  return {
    layer: c.build(() => layers.prelu()),
    weights: ([s]) => [{ keras: 'alpha', shape: [...new Array(rank - 1).fill(1), ...s] }],
  };
}

function activationLayer(c: Config): Layer {
  const a = c.activation();
  return a === undefined ? layers.activation({ activation: 'linear' }) : layers.activation({ activation: a });
}

/** The Keras classes simdcnn reads (InputLayer is handled by the topology). */
export const CONVERTERS: Record<string, Converter> = {
  Conv2D: conv2d,
  DepthwiseConv2D: depthwiseConv2d,
  SeparableConv2D: separableConv2d,
  Conv2DTranspose: conv2dTranspose,
  Dense: dense,
  BatchNormalization: batchNormalization,
  ReLU: simple(relu),
  LeakyReLU: simple((c) => layers.leakyRelu({ alpha: c.num(get(c.k.config, 'negative_slope') !== undefined ? 'negative_slope' : 'alpha', 0.3) })),
  ELU: simple((c) => layers.elu({ alpha: c.num('alpha', 1) })),
  PReLU: prelu,
  Softmax: simple(softmaxLayer),
  Activation: simple(activationLayer),
  MaxPooling2D: simple(pool('maxPool2d')),
  AveragePooling2D: simple(pool('avgPool2d')),
  GlobalAveragePooling2D: simple(globalPool('globalAvgPool2d')),
  GlobalMaxPooling2D: simple(globalPool('globalMaxPool2d')),
  ZeroPadding2D: simple(zeroPadding2d),
  UpSampling2D: simple(upSampling2d),
  Add: simple(() => layers.add()),
  Multiply: simple(() => layers.multiply()),
  Concatenate: simple(concatenate),
  Flatten: simple((c) => { c.channelsLast(); return layers.flatten(); }),
  Reshape: simple(reshape),
  Dropout: simple(dropout),
};
Object.setPrototypeOf(CONVERTERS, null);

/** Convert one Keras layer for these input shapes (no allocation: the model builds weights later). */
export function convertLayer(k: KerasLayer, inputShapes: number[][], hint: (weight: string) => number[] | undefined): Converted {
  const convert = Object.prototype.hasOwnProperty.call(CONVERTERS, k.className) ? CONVERTERS[k.className] : undefined;
  if (!convert) {
    throw new ArgumentError(`${OP}: layer '${k.name}' (${k.className}): the Keras class ${k.className} is not supported; supported: InputLayer, ${Object.keys(CONVERTERS).join(', ')}`);
  }
  const c = new Config(k, hint);
  const out = convert(c, inputShapes);
  c.finish();
  return out;
}
