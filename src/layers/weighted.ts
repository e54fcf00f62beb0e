import { ArgumentError } from '../errors.js';
import type { Tensor } from '../tensor.js';
import type { Activation } from '../ops/activation.js';
import { biasGrad } from '../ops/dense.js';
import { ActivationSlot } from './activation.js';
import { Layer, type Initializer } from './layer.js';

/**
 * A layer with a kernel, an optional bias and an optional fused activation (convolutions and dense):
 * the parameters, the activation slot and the cached input, with forward and backward bookkeeping.
 */
export abstract class WeightedLayer<O extends { activation?: Activation; useBias?: boolean; kernelInitializer?: Initializer; biasInitializer?: Initializer; name?: string }> extends Layer {
  protected readonly slot: ActivationSlot;
  protected x: Tensor | null = null;

  constructor(protected readonly options: O, op: string) {
    super(options?.name);
    if (!options || typeof options !== 'object') throw new ArgumentError(`${op}: options are required`);
    this.slot = new ActivationSlot(op, options.activation);
  }

  protected get useBias(): boolean { return this.options.useBias ?? true; }
  protected get kernel(): Tensor { return this.params[0]; }
  protected get bias(): Tensor | undefined { return this.useBias ? this.params[1] : undefined; }

  protected addKernelAndBias(shape: number[], fanIn: number, fanOut: number, biasSize: number[], random: () => number): void {
    this.addParam('kernel', shape, this.options.kernelInitializer ?? 'glorotUniform', fanIn, fanOut, random);
    if (this.useBias) this.addParam('bias', biasSize, this.options.biasInitializer ?? 'zeros', fanIn, fanOut, random);
  }

  protected finishForward(z: Tensor, x: Tensor, training: boolean): Tensor {
    if (training) this.x = x;
    return this.slot.forward(z, training);
  }

  /** dz from dy, then grads [dw, db] from dz; dx via `input(dz)` when asked. */
  protected finishBackward(dy: Tensor, needDx: boolean, filter: (dz: Tensor) => Tensor, input: (dz: Tensor) => Tensor, perPixelBias = false): Tensor | null {
    const dz = this.slot.backward(dy);
    const grads: Tensor[] = [filter(dz)];
    if (this.useBias) grads.push(biasGrad(dz, { perPixel: perPixelBias }));
    this.setGrads(grads);
    const dx = needDx ? input(dz) : null;
    if (dz !== dy) dz.dispose();
    return dx;
  }

  override cacheBytes(n: number): number {
    return this.slot.cacheBytes(n * this.outputShape.reduce((a, b) => a * b, 1) * 4);
  }

  override clearCache(): void {
    this.slot.clear();
    this.x = null;
  }

  getConfig(): Record<string, unknown> {
    const { name: _name, ...rest } = this.options;
    void _name;
    return { ...rest };
  }
}

