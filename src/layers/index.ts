import { ArgumentError } from '../errors.js';
import type { Activation } from '../ops/activation.js';
import { ActivationLayer, MaxoutLayer, PReLULayer, type MaxoutLayerOptions, type PReLULayerOptions } from './activation.js';
import {
  Conv1dLayer, Conv2dLayer, Conv2dTransposeLayer, LocallyConnected2dLayer,
  type Conv1dLayerOptions, type Conv2dLayerOptions, type Conv2dTransposeLayerOptions, type LocallyConnected2dLayerOptions,
} from './conv.js';
import { DenseLayer, DropoutLayer, FlattenLayer, type DenseLayerOptions, type DropoutLayerOptions } from './dense.js';
import type { Layer } from './layer.js';
import { AvgPool2dLayer, GlobalAvgPool2dLayer, MaxPool2dLayer, type AvgPool2dLayerOptions, type Pool2dLayerOptions } from './pool.js';

// The layer factories (`layers.conv2d({...})`), and the registry that rebuilds a layer from its
// saved type and config: one table, no if-chain.

const registry = {
  conv2d: (o: Conv2dLayerOptions) => new Conv2dLayer(o, 'layers.conv2d'),
  conv1d: (o: Conv1dLayerOptions) => new Conv1dLayer(o, 'layers.conv1d'),
  conv2dTranspose: (o: Conv2dTransposeLayerOptions) => new Conv2dTransposeLayer(o, 'layers.conv2dTranspose'),
  locallyConnected2d: (o: LocallyConnected2dLayerOptions) => new LocallyConnected2dLayer(o, 'layers.locallyConnected2d'),
  maxPool2d: (o: Pool2dLayerOptions) => new MaxPool2dLayer(o),
  avgPool2d: (o: AvgPool2dLayerOptions) => new AvgPool2dLayer(o),
  globalAvgPool2d: (o: { name?: string } = {}) => new GlobalAvgPool2dLayer(o),
  dense: (o: DenseLayerOptions) => new DenseLayer(o),
  flatten: (o: { name?: string } = {}) => new FlattenLayer(o),
  dropout: (o: DropoutLayerOptions) => new DropoutLayer(o),
  activation: (o: { activation: Activation; name?: string }) => new ActivationLayer(o),
  prelu: (o: PReLULayerOptions = {}) => new PReLULayer(o),
  maxout: (o: MaxoutLayerOptions) => new MaxoutLayer(o),
} as const;

export type LayerType = keyof typeof registry;

/** Rebuild a layer from a saved `{ type, config }`. */
export function layerFromConfig(type: string, config: Record<string, unknown>, name?: string): Layer {
  const make = (registry as Record<string, (o: never) => Layer>)[type];
  if (!make) throw new ArgumentError(`loadModel: unknown layer type '${type}' (known: ${Object.keys(registry).join(', ')})`);
  return make({ ...config, name } as never);
}

// Named activation layers: layers.relu(), layers.softmax(), ...
const act = (activation: Activation) => (o: { name?: string } = {}) => new ActivationLayer({ activation, name: o.name });

/** Layer factories. */
export const layers = {
  ...registry,
  relu: act('relu'),
  leakyRelu: (o: { alpha?: number; name?: string } = {}) => new ActivationLayer({ activation: { name: 'leakyRelu', alpha: o.alpha ?? 0.01 }, name: o.name }),
  elu: (o: { alpha?: number; name?: string } = {}) => new ActivationLayer({ activation: { name: 'elu', alpha: o.alpha ?? 1 }, name: o.name }),
  selu: act('selu'),
  sigmoid: act('sigmoid'),
  tanh: act('tanh'),
  swish: act('swish'),
  gelu: act('gelu'),
  softmax: act('softmax'),
  logSoftmax: act('logSoftmax'),
};

export { Layer } from './layer.js';
