import { ArgumentError } from '../errors.js';
import type { Tensor } from '../tensor.js';
import { conv1d, conv2d, conv2dTranspose, locallyConnected2d } from '../ops/conv.js';
import {
  conv1dBackpropFilter, conv1dBackpropInput, conv2dBackpropFilter, conv2dBackpropInput,
  conv2dTransposeBackpropFilter, conv2dTransposeBackpropInput, locallyConnected2dBackpropFilter,
  locallyConnected2dBackpropInput,
} from '../ops/conv-backprop.js';
import { conv1dGeometry, conv2dGeometry, conv2dTransposeGeometry, locallyConnected2dGeometry } from '../ops/shape.js';
import type { Padding } from '../ops/shape.js';
import type { Activation } from '../ops/activation.js';
import { Layer, type Initializer } from './layer.js';
import { WeightedLayer } from './weighted.js';

// Convolution layers: parameters, forward and backward side by side. The ops do the work; the
// geometry functions of src/ops/conv.ts give the output shape at build time (one place for sizes).

type Pair = number | [number, number];

export interface Conv2dLayerOptions {
  filters: number;
  kernelSize: Pair;
  strides?: Pair;
  padding?: Padding;
  dilations?: Pair;
  groups?: number;
  activation?: Activation;
  useBias?: boolean;
  kernelInitializer?: Initializer;
  biasInitializer?: Initializer;
  name?: string;
}

function positive(op: string, name: string, v: unknown): number {
  if (!Number.isInteger(v) || (v as number) < 1) throw new ArgumentError(`${op}: ${name} must be a positive integer, got ${JSON.stringify(v)}`);
  return v as number;
}

function kernelPair(op: string, k: unknown): [number, number] {
  if (typeof k === 'number') return [positive(op, 'kernelSize', k), k];
  if (Array.isArray(k) && k.length === 2) return [positive(op, 'kernelSize', k[0]), positive(op, 'kernelSize', k[1])];
  throw new ArgumentError(`${op}: kernelSize must be a positive integer or [kh, kw], got ${JSON.stringify(k)}`);
}

/** 2-D convolution layer: kernel [KH, KW, Cin/groups, filters], bias [filters]. */
export class Conv2dLayer extends WeightedLayer<Conv2dLayerOptions> {
  readonly type = 'conv2d';
  private geo() {
    const o = this.options;
    return { strides: o.strides, padding: o.padding, dilations: o.dilations, groups: o.groups };
  }

  build(inputShape: number[], random: () => number): number[] {
    this.expectRank(inputShape, 3, 'an [H, W, C]');
    const filters = positive('layers.conv2d', 'filters', this.options.filters);
    const [KH, KW] = kernelPair('layers.conv2d', this.options.kernelSize);
    const groups = this.options.groups ?? 1;
    const Cig = inputShape[2] / groups;
    if (!Number.isInteger(Cig)) throw this.shapeError(`groups ${groups} does not divide the input channels ${inputShape[2]}`);
    const wShape = [KH, KW, Cig, filters];
    const { g } = wrap(this, () => conv2dGeometry('layers.conv2d', [1, ...inputShape], wShape, this.geo()));
    this.addKernelAndBias(wShape, KH * KW * Cig, KH * KW * filters / groups, [filters], random);
    return [g.OH, g.OW, filters];
  }

  forward(x: Tensor, training: boolean): Tensor {
    const z = conv2d(x, this.kernel, { ...this.geo(), bias: this.bias, activation: this.slot.fusedRelu ? 'relu' : undefined });
    return this.finishForward(z, x, training);
  }

  backward(dy: Tensor, needDx: boolean): Tensor | null {
    const x = this.x!;
    return this.finishBackward(dy, needDx,
      (dz) => conv2dBackpropFilter(x, dz, this.kernel.shape, this.geo()),
      (dz) => conv2dBackpropInput(dz, this.kernel, x.shape, this.geo()));
  }
}

export interface Conv1dLayerOptions {
  filters: number;
  kernelSize: number;
  stride?: number;
  padding?: 'valid' | 'same' | 'full' | number | [number, number];
  dilation?: number;
  groups?: number;
  activation?: Activation;
  useBias?: boolean;
  kernelInitializer?: Initializer;
  biasInitializer?: Initializer;
  name?: string;
}

/** 1-D convolution layer over [L, C]: kernel [K, Cin/groups, filters]. */
export class Conv1dLayer extends WeightedLayer<Conv1dLayerOptions> {
  readonly type = 'conv1d';
  private geo() {
    const o = this.options;
    return { stride: o.stride, padding: o.padding, dilation: o.dilation, groups: o.groups };
  }

  build(inputShape: number[], random: () => number): number[] {
    this.expectRank(inputShape, 2, 'an [L, C]');
    const filters = positive('layers.conv1d', 'filters', this.options.filters);
    const K = positive('layers.conv1d', 'kernelSize', this.options.kernelSize);
    const groups = this.options.groups ?? 1;
    const Cig = inputShape[1] / groups;
    if (!Number.isInteger(Cig)) throw this.shapeError(`groups ${groups} does not divide the input channels ${inputShape[1]}`);
    const wShape = [K, Cig, filters];
    const { g } = wrap(this, () => conv1dGeometry('layers.conv1d', [1, ...inputShape], wShape, this.geo()));
    this.addKernelAndBias(wShape, K * Cig, K * filters / groups, [filters], random);
    return [g.OW, filters];
  }

  forward(x: Tensor, training: boolean): Tensor {
    const z = conv1d(x, this.kernel, { ...this.geo(), bias: this.bias, activation: this.slot.fusedRelu ? 'relu' : undefined });
    return this.finishForward(z, x, training);
  }

  backward(dy: Tensor, needDx: boolean): Tensor | null {
    const x = this.x!;
    return this.finishBackward(dy, needDx,
      (dz) => conv1dBackpropFilter(x, dz, this.kernel.shape, this.geo()),
      (dz) => conv1dBackpropInput(dz, this.kernel, x.shape, this.geo()));
  }
}

export interface Conv2dTransposeLayerOptions {
  filters: number;
  kernelSize: Pair;
  strides?: Pair;
  padding?: Exclude<Padding, 'full'>;
  outputPadding?: Pair;
  dilations?: Pair;
  groups?: number;
  activation?: Activation;
  useBias?: boolean;
  kernelInitializer?: Initializer;
  biasInitializer?: Initializer;
  name?: string;
}

/** Transposed convolution layer: kernel [KH, KW, filters/groups, Cin]. */
export class Conv2dTransposeLayer extends WeightedLayer<Conv2dTransposeLayerOptions> {
  readonly type = 'conv2dTranspose';
  private geo() {
    const o = this.options;
    return { strides: o.strides, padding: o.padding, outputPadding: o.outputPadding, dilations: o.dilations, groups: o.groups };
  }

  build(inputShape: number[], random: () => number): number[] {
    this.expectRank(inputShape, 3, 'an [H, W, C]');
    const filters = positive('layers.conv2dTranspose', 'filters', this.options.filters);
    const [KH, KW] = kernelPair('layers.conv2dTranspose', this.options.kernelSize);
    const groups = this.options.groups ?? 1;
    if (filters % groups !== 0) throw this.shapeError(`groups ${groups} does not divide filters ${filters}`);
    const wShape = [KH, KW, filters / groups, inputShape[2]];
    const { g } = wrap(this, () => conv2dTransposeGeometry('layers.conv2dTranspose', [1, ...inputShape], wShape, this.geo()));
    this.addKernelAndBias(wShape, KH * KW * inputShape[2] / groups, KH * KW * filters / groups, [filters], random);
    return [g.OH, g.OW, filters];
  }

  forward(x: Tensor, training: boolean): Tensor {
    const z = conv2dTranspose(x, this.kernel, { ...this.geo(), bias: this.bias, activation: this.slot.fusedRelu ? 'relu' : undefined });
    return this.finishForward(z, x, training);
  }

  backward(dy: Tensor, needDx: boolean): Tensor | null {
    const x = this.x!;
    return this.finishBackward(dy, needDx,
      (dz) => conv2dTransposeBackpropFilter(x, dz, this.kernel.shape, this.geo()),
      (dz) => conv2dTransposeBackpropInput(dz, this.kernel, x.shape, this.geo()));
  }
}

export interface LocallyConnected2dLayerOptions {
  filters: number;
  kernelSize: Pair;
  strides?: Pair;
  padding?: Padding;
  activation?: Activation;
  useBias?: boolean;
  kernelInitializer?: Initializer;
  biasInitializer?: Initializer;
  name?: string;
}

/** Unshared convolution: kernel [OH, OW, KH, KW, Cin, filters], bias [OH, OW, filters]. */
export class LocallyConnected2dLayer extends WeightedLayer<LocallyConnected2dLayerOptions> {
  readonly type = 'locallyConnected2d';
  private geo() {
    return { strides: this.options.strides, padding: this.options.padding };
  }

  build(inputShape: number[], random: () => number): number[] {
    this.expectRank(inputShape, 3, 'an [H, W, C]');
    const filters = positive('layers.locallyConnected2d', 'filters', this.options.filters);
    const [KH, KW] = kernelPair('layers.locallyConnected2d', this.options.kernelSize);
    const C = inputShape[2];
    // Output size from the shared rule, via a geometry whose weight shape agrees by construction.
    const probe = wrap(this, () => conv2dGeometry('layers.locallyConnected2d', [1, ...inputShape], [KH, KW, C, filters], { strides: this.options.strides, padding: this.options.padding }));
    const { OH, OW } = probe.g;
    const wShape = [OH, OW, KH, KW, C, filters];
    wrap(this, () => locallyConnected2dGeometry('layers.locallyConnected2d', [1, ...inputShape], wShape, this.geo()));
    this.addKernelAndBias(wShape, KH * KW * C, KH * KW * filters, [OH, OW, filters], random);
    return [OH, OW, filters];
  }

  forward(x: Tensor, training: boolean): Tensor {
    const z = locallyConnected2d(x, this.kernel, { ...this.geo(), bias: this.bias });
    return this.finishForward(z, x, training);
  }

  backward(dy: Tensor, needDx: boolean): Tensor | null {
    const x = this.x!;
    return this.finishBackward(dy, needDx,
      (dz) => locallyConnected2dBackpropFilter(x, dz, this.kernel.shape, this.geo()),
      (dz) => locallyConnected2dBackpropInput(dz, this.kernel, x.shape, this.geo()), true);
  }
}

/** Run a geometry check, re-throwing its error with the layer's name in front. */
export function wrap<T>(layer: Layer, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof Error) e.message = `layer '${layer.name}' (${layer.type}): ${e.message}`;
    throw e;
  }
}
