import { ArgumentError } from '../errors.js';
import { rt } from '../runtime/wasm.js';
import { empty, type Tensor } from '../tensor.js';
import { activateInPlace, maxout, parseActivation, prelu, type Activation, type ActivationName } from '../ops/activation.js';
import { activationBackward, maxoutBackward, preluBackward } from '../ops/activation-backprop.js';
import { Layer, type Initializer } from './layer.js';

// Activation layers, and the two helpers every layer with an `activation` option shares: the
// forward applies it (relu fused into the producing kernel's clamp), the backward undoes it.

export type ParsedActivation = { name: ActivationName; alpha: number };

/** y = act(z): a new tensor (z itself when there is no activation). */
export function applyActivation(z: Tensor, act: ParsedActivation | null): Tensor {
  if (!act) return z;
  const y = empty(z.shape);
  rt().heap.u8().copyWithin(y.ptr, z.ptr, z.ptr + z.bytes);
  activateInPlace(y, act);
  return y;
}

/** dz from dy for y = act(z) (relu may pass y for z: the same sign). Returns dy itself without activation. */
export function unapplyActivation(dy: Tensor, act: ParsedActivation | null, z: Tensor, y: Tensor): Tensor {
  return act ? activationBackward(act, dy, z, y) : dy;
}

/**
 * Shared forward/backward bookkeeping of a layer with an optional activation: `produce(fuseRelu)`
 * computes z (clamped at 0 when fuseRelu); this keeps z and y for backward when training.
 */
export class ActivationSlot {
  readonly act: ParsedActivation | null;
  private z: Tensor | null = null;
  private y: Tensor | null = null;
  private owned: Tensor | null = null;

  constructor(owner: string, activation: Activation | undefined) {
    this.act = parseActivation(owner, activation);
  }

  get fusedRelu(): boolean { return this.act?.name === 'relu'; }

  forward(z: Tensor, training: boolean): Tensor {
    const y = this.fusedRelu ? z : applyActivation(z, this.act);
    if (training) {
      this.z = z;
      this.y = y;
      if (y !== z) this.owned = z;
    } else if (y !== z) {
      z.dispose();
    }
    return y;
  }

  backward(dy: Tensor): Tensor {
    if (!this.act || !this.z || !this.y) return dy;
    return unapplyActivation(dy, this.act, this.z, this.y);
  }

  /** Bytes kept beyond the output (z when the activation is not fused). */
  cacheBytes(outBytes: number): number {
    return this.act && !this.fusedRelu ? outBytes : 0;
  }

  clear(): void {
    this.owned?.dispose();
    this.owned = this.z = this.y = null;
  }
}

export interface ActivationLayerOptions { activation: Activation; name?: string }

/** An activation as a layer: relu, leakyRelu, elu, selu, sigmoid, tanh, swish, gelu, softmax, logSoftmax. */
export class ActivationLayer extends Layer {
  readonly type = 'activation';
  private readonly spec: Activation;
  private readonly slot: ActivationSlot;

  constructor(options: ActivationLayerOptions) {
    super(options?.name);
    if (!options || options.activation === undefined) throw new ArgumentError('layers.activation: options.activation is required');
    this.spec = options.activation;
    this.slot = new ActivationSlot('layers.activation', options.activation);
  }

  build(inputShape: number[]): number[] { return inputShape.slice(); }

  forward(x: Tensor, training: boolean): Tensor {
    // The input belongs to the model: copy before activating so it stays intact for backward.
    const y = this.slot.act ? applyActivation(x, this.slot.act) : copyOf(x);
    if (training) { this.in = x; this.out = y; }
    return y;
  }

  private in: Tensor | null = null;
  private out: Tensor | null = null;

  backward(dy: Tensor, needDx: boolean): Tensor | null {
    if (!needDx) return null;
    if (!this.slot.act) return copyOf(dy);
    return unapplyActivation(dy, this.slot.act, this.in!, this.out!);
  }

  override clearCache(): void { this.in = this.out = null; }
  getConfig(): Record<string, unknown> { return { activation: this.spec }; }
}

function copyOf(x: Tensor): Tensor {
  const y = empty(x.shape);
  rt().heap.u8().copyWithin(y.ptr, x.ptr, x.ptr + x.bytes);
  return y;
}

export interface PReLULayerOptions { alphaInitializer?: Initializer | number; name?: string }

/** Parametric ReLU: y = x for x > 0, alpha[c]·x otherwise, one learned alpha per channel (last axis). */
export class PReLULayer extends Layer {
  readonly type = 'prelu';
  private x: Tensor | null = null;
  constructor(private readonly options: PReLULayerOptions = {}) { super(options.name); }

  build(inputShape: number[], random: () => number): number[] {
    const C = inputShape[inputShape.length - 1];
    const init = this.options.alphaInitializer ?? 0.25;
    const a = this.addParam('alpha', [C], typeof init === 'number' ? 'zeros' : init, C, C, random);
    if (typeof init === 'number') a.view().fill(init);
    return inputShape.slice();
  }

  forward(x: Tensor, training: boolean): Tensor {
    if (training) this.x = x;
    return prelu(x, this.params[0]);
  }

  backward(dy: Tensor, needDx: boolean): Tensor | null {
    const { dx, dalpha } = preluBackward(dy, this.x!, this.params[0]);
    this.setGrads([dalpha]);
    if (needDx) return dx;
    dx.dispose();
    return null;
  }

  override clearCache(): void { this.x = null; }
  getConfig(): Record<string, unknown> { return { alphaInitializer: this.options.alphaInitializer ?? 0.25 }; }
}

export interface MaxoutLayerOptions { k: number; name?: string }

/** Maxout: the max over each group of k consecutive channels (channels / k outputs). */
export class MaxoutLayer extends Layer {
  readonly type = 'maxout';
  private x: Tensor | null = null;
  constructor(private readonly options: MaxoutLayerOptions) {
    super(options?.name);
    if (!options || !Number.isInteger(options.k) || options.k < 1) throw new ArgumentError(`layers.maxout: k must be a positive integer, got ${JSON.stringify(options?.k)}`);
  }

  build(inputShape: number[]): number[] {
    const C = inputShape[inputShape.length - 1];
    if (C % this.options.k !== 0) throw this.shapeError(`channels ${C} are not divisible by k = ${this.options.k}`);
    return [...inputShape.slice(0, -1), C / this.options.k];
  }

  forward(x: Tensor, training: boolean): Tensor {
    if (training) this.x = x;
    return maxout(x, this.options.k);
  }

  backward(dy: Tensor, needDx: boolean): Tensor | null {
    return needDx ? maxoutBackward(dy, this.x!, this.options.k) : null;
  }

  override clearCache(): void { this.x = null; }
  getConfig(): Record<string, unknown> { return { k: this.options.k }; }
}
