import { ArgumentError } from '../errors.js';
import type { Activation, ActivationName } from '../ops/activation.js';
import { ActivationLayer, MaxoutLayer, PReLULayer, type MaxoutLayerOptions, type PReLULayerOptions } from './activation.js';
import {
  ConvLayer, SeparableConv2dLayer,
  type Conv1dLayerOptions, type Conv2dLayerOptions, type Conv2dTransposeLayerOptions, type DepthwiseConv2dLayerOptions,
  type LocallyConnected2dLayerOptions, type SeparableConv2dLayerOptions,
} from './conv.js';
import { DenseLayer, DropoutLayer, FlattenLayer, ReshapeLayer, type DenseLayerOptions, type DropoutLayerOptions, type ReshapeLayerOptions } from './dense.js';
import type { Layer } from './layer.js';
import { ConcatenateLayer, MergeLayer, type ConcatenateLayerOptions } from './merge.js';
import { BatchNormalizationLayer, type BatchNormalizationLayerOptions } from './normalization.js';
import {
  AdaptivePool2dLayer, GlobalPool2dLayer, Pool2dLayer,
  type AdaptivePool2dLayerOptions, type AvgPool2dLayerOptions, type LpPool2dLayerOptions, type MixedPool2dLayerOptions, type Pool2dLayerOptions,
} from './pool.js';
import { ResizingLayer, UpSampling2dLayer, ZeroPadding2dLayer, type ResizingLayerOptions, type UpSampling2dLayerOptions, type ZeroPadding2dLayerOptions } from './resize.js';

// The layer factories (`layers.conv2d({...})`), and the registry that rebuilds a layer from its
// saved type and config: one table, no if-chain. Every factory validates its options now.

type Named = { name?: string };

const registry = {
  conv2d: (o: Conv2dLayerOptions): Layer => new ConvLayer('conv2d', o),
  conv1d: (o: Conv1dLayerOptions): Layer => new ConvLayer('conv1d', o as never),
  conv2dTranspose: (o: Conv2dTransposeLayerOptions): Layer => new ConvLayer('conv2dTranspose', o),
  depthwiseConv2d: (o: DepthwiseConv2dLayerOptions): Layer => new ConvLayer('depthwiseConv2d', o),
  separableConv2d: (o: SeparableConv2dLayerOptions): Layer => new SeparableConv2dLayer(o),
  locallyConnected2d: (o: LocallyConnected2dLayerOptions): Layer => new ConvLayer('locallyConnected2d', o),
  dense: (o: DenseLayerOptions): Layer => new DenseLayer(o),
  maxPool2d: (o: Pool2dLayerOptions): Layer => new Pool2dLayer('maxPool2d', o),
  avgPool2d: (o: AvgPool2dLayerOptions): Layer => new Pool2dLayer('avgPool2d', o),
  lpPool2d: (o: LpPool2dLayerOptions): Layer => new Pool2dLayer('lpPool2d', o),
  mixedPool2d: (o: MixedPool2dLayerOptions): Layer => new Pool2dLayer('mixedPool2d', o),
  globalAvgPool2d: (o?: Named): Layer => new GlobalPool2dLayer('globalAvgPool2d', o),
  globalMaxPool2d: (o?: Named): Layer => new GlobalPool2dLayer('globalMaxPool2d', o),
  adaptiveAvgPool2d: (o: AdaptivePool2dLayerOptions): Layer => new AdaptivePool2dLayer('adaptiveAvgPool2d', o),
  adaptiveMaxPool2d: (o: AdaptivePool2dLayerOptions): Layer => new AdaptivePool2dLayer('adaptiveMaxPool2d', o),
  batchNormalization: (o?: BatchNormalizationLayerOptions): Layer => new BatchNormalizationLayer(o),
  add: (o?: Named): Layer => new MergeLayer('add', o),
  multiply: (o?: Named): Layer => new MergeLayer('multiply', o),
  concatenate: (o?: ConcatenateLayerOptions): Layer => new ConcatenateLayer(o),
  upSampling2d: (o?: UpSampling2dLayerOptions): Layer => new UpSampling2dLayer(o),
  zeroPadding2d: (o?: ZeroPadding2dLayerOptions): Layer => new ZeroPadding2dLayer(o),
  resizing: (o: ResizingLayerOptions): Layer => new ResizingLayer(o),
  reshape: (o: ReshapeLayerOptions): Layer => new ReshapeLayer(o),
  flatten: (o?: Named): Layer => new FlattenLayer(o),
  dropout: (o: DropoutLayerOptions): Layer => new DropoutLayer(o),
  activation: (o: { activation: Activation; name?: string }): Layer => new ActivationLayer(o),
  prelu: (o?: PReLULayerOptions): Layer => new PReLULayer(o),
  maxout: (o: MaxoutLayerOptions): Layer => new MaxoutLayer(o),
};

export type LayerType = keyof typeof registry;
export const LAYER_TYPES = Object.keys(registry) as LayerType[];

/** Whether `type` names a layer (own keys only: '__proto__' and friends are not layers). */
export function isLayerType(type: unknown): type is LayerType {
  return typeof type === 'string' && Object.prototype.hasOwnProperty.call(registry, type);
}

/** Rebuild a layer from a saved `{ type, config }` (the config is validated by the factory). */
export function layerFromConfig(type: string, config: Record<string, unknown>, name?: string): Layer {
  if (!isLayerType(type)) throw new ArgumentError(`loadModel: unknown layer type ${JSON.stringify(type)} (known: ${LAYER_TYPES.join(', ')})`);
  return (registry[type] as (o: unknown) => Layer)({ ...config, ...(name !== undefined ? { name } : {}) });
}

// Named activation layers: layers.relu(), layers.softmax(), ...
const act = (activation: ActivationName) => (o: Named = {}): Layer => new ActivationLayer({ activation, ...namedOnly(`layers.${activation}`, o) });
const withAlpha = (activation: 'leakyRelu' | 'elu', fallback: number) => (o: { alpha?: number; name?: string } = {}): Layer => {
  const { alpha, name } = alphaOptions(`layers.${activation}`, o);
  return new ActivationLayer({ activation: { name: activation, alpha: alpha ?? fallback }, name });
};

function namedOnly(op: string, o: unknown): Named {
  if (o === undefined) return {};
  if (!o || typeof o !== 'object') throw new ArgumentError(`${op}: options must be an object`);
  for (const k of Object.keys(o)) if (k !== 'name') throw new ArgumentError(`${op}: unknown option '${k}'; accepted: name`);
  return o as Named;
}

function alphaOptions(op: string, o: unknown): { alpha?: number; name?: string } {
  if (!o || typeof o !== 'object') throw new ArgumentError(`${op}: options must be an object`);
  for (const k of Object.keys(o)) if (k !== 'name' && k !== 'alpha') throw new ArgumentError(`${op}: unknown option '${k}'; accepted: alpha, name`);
  return o as { alpha?: number; name?: string };
}

/** Layer factories. */
export const layers = {
  ...registry,
  relu: act('relu'),
  relu6: act('relu6' as ActivationName),
  leakyRelu: withAlpha('leakyRelu', 0.01),
  elu: withAlpha('elu', 1),
  selu: act('selu'),
  sigmoid: act('sigmoid'),
  hardSigmoid: act('hardSigmoid' as ActivationName),
  tanh: act('tanh'),
  swish: act('swish'),
  silu: act('silu' as ActivationName),
  hardSwish: act('hardSwish' as ActivationName),
  gelu: act('gelu'),
  softmax: act('softmax'),
  logSoftmax: act('logSoftmax'),
};

export { Layer, Context } from './layer.js';
