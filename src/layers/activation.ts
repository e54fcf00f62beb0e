import { clone, type Tensor } from '../tensor.js';
import { activateInPlace, activationAsOption, maxout, parseActivation, prelu, type Activation, type ActivationName, type ParsedActivation } from '../ops/activation.js';
import { activationBackward, maxoutBackward, preluBackward } from '../ops/activation-backprop.js';
import { Layer, type Context, type Gradients, type ParamSpec } from './layer.js';
import { activationOption, finiteNumber, initializer, layerOptions, positiveInt } from './options.js';
import type { Initializer } from './initializers.js';

// Activation layers, and the helpers every layer with an `activation` option shares: relu is fused
// into the producing kernel's store; any other activation runs on the op's output, and training
// keeps the pre-activation z for backward.

/** The parsed activation of a layer option (null for none or 'linear'). */
export function parsedActivation(op: string, activation: Activation | undefined): ParsedActivation | null {
  return activation === undefined ? null : parseActivation(op, activation);
}

/** What to ask the producing op to fuse: relu always; in inference, any activation. */
export function fusedActivation(act: ParsedActivation | null, ctx: Context): Activation | undefined {
  if (!act) return undefined;
  if (act.name === 'relu') return 'relu';
  return ctx.training ? undefined : asOption(act);
}

/** A parsed activation as an op option again (alpha only where the activation takes one). */
export function asOption(act: ParsedActivation): Activation {
  return activationAsOption(act);
}

/** y = act(z) after an op that fused what `fusedActivation` asked; keeps z for backward in training. */
export function finishActivation(z: Tensor, act: ParsedActivation | null, ctx: Context): Tensor {
  if (!act || act.name === 'relu' || !ctx.training) return z;
  const y = clone(z);
  try {
    activateInPlace(y, act);
  } catch (e) {
    y.dispose();
    throw e;
  }
  ctx.values.z = ctx.own(z);
  return y;
}

/**
 * The backward of a layer with a kernel, a bias and an activation (convolutions, dense): dz through
 * the activation, then the kernel's and the bias's gradients and, when asked, the input's.
 * Everything allocated is freed if a step throws.
 */
export function weightedBackward(
  dy: Tensor, ctx: Context, act: ParsedActivation | null,
  kernelGrad: (dz: Tensor) => Tensor, biasGrad: ((dz: Tensor) => Tensor) | null, inputGrad: ((dz: Tensor) => Tensor) | null,
): { dxs: Array<Tensor | null>; grads: Tensor[] } {
  const dz = activationGrad(dy, act, ctx);
  const grads: Tensor[] = [];
  try {
    grads.push(kernelGrad(dz));
    if (biasGrad) grads.push(biasGrad(dz));
    return { dxs: [inputGrad ? inputGrad(dz) : null], grads };
  } catch (e) {
    for (const g of grads) g.dispose();
    throw e;
  } finally {
    if (dz !== dy) dz.dispose();
  }
}

/** dz from dy for y = act(z) (dy itself when there is no activation). */
export function activationGrad(dy: Tensor, act: ParsedActivation | null, ctx: Context): Tensor {
  if (!act) return dy;
  const y = ctx.output!;
  const z = (ctx.values.z as Tensor | undefined) ?? y;
  return activationBackward(act, dy, z, y);
}

export interface ActivationLayerOptions { activation: Activation; name?: string }

/** An activation as a layer: relu, relu6, leakyRelu, elu, selu, sigmoid, hardSigmoid, tanh, swish/silu, hardSwish, gelu, softmax, logSoftmax. */
export class ActivationLayer extends Layer {
  readonly type: string = 'activation';
  private readonly act: ParsedActivation | null;
  private readonly spec: Activation;

  constructor(options: ActivationLayerOptions, op = 'layers.activation') {
    const o = layerOptions<ActivationLayerOptions>(op, options, ['activation', 'name'], ['activation']);
    super(o.name);
    activationOption(op, o.activation);
    this.spec = o.activation;
    this.act = parsedActivation(op, o.activation);
  }

  computeOutputShape([s]: number[][]): number[] { return s; }

  forward([x]: Tensor[], ctx: Context): Tensor {
    // The input belongs to the model: the activation runs on a copy.
    const y = clone(x);
    try {
      if (this.act) activateInPlace(y, this.act);
    } catch (e) {
      y.dispose();
      throw e;
    }
    return y;
  }

  backward(dy: Tensor, ctx: Context, needDx: boolean[]): Gradients {
    if (!needDx[0]) return { dxs: [null], grads: [] };
    if (!this.act) return { dxs: [clone(dy)], grads: [] };
    return { dxs: [activationBackward(this.act, dy, ctx.inputs[0], ctx.output)], grads: [] };
  }

  /** The activation, as given. */
  get activation(): Activation { return this.spec; }
  getConfig(): Record<string, unknown> { return { activation: this.spec }; }
}

export interface PReLULayerOptions { alphaInitializer?: Initializer | number; name?: string }

/** Parametric ReLU: y = x for x > 0, alpha[c]·x otherwise, one learned alpha per channel (last axis). */
export class PReLULayer extends Layer {
  readonly type = 'prelu';
  private readonly init: Initializer | number;

  constructor(options: PReLULayerOptions = {}) {
    const op = 'layers.prelu';
    const o = layerOptions<PReLULayerOptions>(op, options, ['alphaInitializer', 'name']);
    super(o.name);
    const a = o.alphaInitializer;
    this.init = a === undefined ? 0.25 : typeof a === 'number' ? finiteNumber(op, 'alphaInitializer', a, 0.25) : initializer(op, 'alphaInitializer', a, 'zeros');
  }

  computeOutputShape([s]: number[][]): number[] { return s; }
  override paramSpecs([s]: number[][]): ParamSpec[] {
    const C = s[s.length - 1];
    return [{ name: 'alpha', shape: [C], init: this.init, fanIn: C, fanOut: C }];
  }

  forward([x]: Tensor[]): Tensor {
    return prelu(x, this.params[0]);
  }

  backward(dy: Tensor, ctx: Context, needDx: boolean[]): Gradients {
    const { dx, dalpha } = preluBackward(dy, ctx.inputs[0], this.params[0]);
    if (needDx[0]) return { dxs: [dx], grads: [dalpha] };
    dx.dispose();
    return { dxs: [null], grads: [dalpha] };
  }

  getConfig(): Record<string, unknown> { return { alphaInitializer: this.init }; }
}

export interface MaxoutLayerOptions { k: number; name?: string }

/** Maxout: the max over each group of k consecutive channels (channels / k outputs). */
export class MaxoutLayer extends Layer {
  readonly type = 'maxout';
  private readonly k: number;
  constructor(options: MaxoutLayerOptions) {
    const o = layerOptions<MaxoutLayerOptions>('layers.maxout', options, ['k', 'name'], ['k']);
    super(o.name);
    this.k = positiveInt('layers.maxout', 'k', o.k);
  }

  computeOutputShape([s]: number[][]): number[] {
    const C = s[s.length - 1];
    if (C % this.k !== 0) throw this.shapeError(`channels ${C} are not divisible by k = ${this.k}`);
    return [...s.slice(0, -1), C / this.k];
  }

  forward([x]: Tensor[]): Tensor { return maxout(x, this.k); }

  backward(dy: Tensor, ctx: Context, needDx: boolean[]): Gradients {
    return { dxs: [needDx[0] ? maxoutBackward(dy, ctx.inputs[0], this.k) : null], grads: [] };
  }

  getConfig(): Record<string, unknown> { return { k: this.k }; }
}
