import { ArgumentError, ShapeError, fmtShape } from '../errors.js';
import { rt } from '../runtime/wasm.js';
import { empty, type Tensor } from '../tensor.js';

// A layer owns its parameters, their gradients and what its forward pass keeps for backward.
// Shapes here exclude the batch axis. The model calls, per training step:
// forward(x, true) for every layer, backward(dy, needDx) in reverse, then clearCache().

export type Initializer = 'glorotUniform' | 'glorotNormal' | 'heUniform' | 'heNormal' | 'zeros' | 'ones';
export const INITIALIZERS: readonly Initializer[] = ['glorotUniform', 'glorotNormal', 'heUniform', 'heNormal', 'zeros', 'ones'];

export abstract class Layer {
  /** The layer's kind, as in `layers.<type>(...)` and in saved topologies. */
  abstract readonly type: string;
  /** Unique within its model (`conv2d_1`, ...), or given by the user. */
  name: string;
  inputShape: number[] = [];
  outputShape: number[] = [];
  /** Trainable parameters, in a fixed order (kernel, bias, ...). */
  params: Tensor[] = [];
  /** Names of params, same order ('kernel', 'bias', 'alpha'). */
  paramNames: string[] = [];
  /** Gradients of params from the last backward (null before the first). */
  grads: Array<Tensor | null> = [];
  /** Tensors this layer allocated in forward and keeps for backward. */
  protected cache: Tensor[] = [];

  constructor(name?: string) {
    this.name = name ?? '';
  }

  /** Create parameters for this input shape (without batch); return the output shape. */
  abstract build(inputShape: number[], random: () => number): number[];
  /** Compute the output for a batch. With `training`, keep what backward needs. */
  abstract forward(x: Tensor, training: boolean): Tensor;
  /** From dy (gradient of the output) set `grads` and return dx (or null when !needDx). */
  abstract backward(dy: Tensor, needDx: boolean): Tensor | null;
  /** The options that rebuild this layer (JSON). */
  abstract getConfig(): Record<string, unknown>;

  /** Bytes the forward pass keeps for backward beyond its output, for a batch of n. */
  cacheBytes(n: number): number {
    void n;
    return 0;
  }

  /** Parameter count. */
  countParams(): number {
    return this.params.reduce((s, p) => s + p.size, 0);
  }

  /** Drop what forward kept for backward. */
  clearCache(): void {
    for (const t of this.cache) t.dispose();
    this.cache = [];
  }

  /** Free parameters, gradients and cache. */
  dispose(): void {
    this.clearCache();
    for (const t of this.params) t.dispose();
    for (const g of this.grads) g?.dispose();
    this.params = [];
    this.grads = [];
  }

  /** Replace the gradients with new ones (disposing the old). */
  protected setGrads(grads: Array<Tensor | null>): void {
    for (const g of this.grads) g?.dispose();
    this.grads = grads;
  }

  /** Add a parameter initialised by `init` (fanIn/fanOut for the Glorot and He rules). */
  protected addParam(name: string, shape: number[], init: Initializer, fanIn: number, fanOut: number, random: () => number): Tensor {
    const t = empty(shape);
    fillInit(t, init, fanIn, fanOut, random);
    this.params.push(t);
    this.paramNames.push(name);
    this.grads.push(null);
    return t;
  }

  /** A ShapeError naming this layer. */
  protected shapeError(message: string): ShapeError {
    return new ShapeError(`layer '${this.name}' (${this.type}): ${message}`);
  }

  /** Throw unless the input has this rank (without batch). */
  protected expectRank(inputShape: number[], rank: number, what: string): void {
    if (inputShape.length !== rank) throw this.shapeError(`expects ${what} input (rank ${rank} without the batch), got ${fmtShape(inputShape)}`);
  }
}

/** Fill t with values drawn by an initializer. */
export function fillInit(t: Tensor, init: Initializer, fanIn: number, fanOut: number, random: () => number): void {
  const v = t.view();
  const normal = (): number => {
    // Box–Muller from the seeded uniform stream.
    const u = Math.max(random(), 1e-12), w = random();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * w);
  };
  switch (init) {
    case 'zeros': v.fill(0); return;
    case 'ones': v.fill(1); return;
    case 'glorotUniform': { const a = Math.sqrt(6 / (fanIn + fanOut)); for (let i = 0; i < v.length; i++) v[i] = (2 * random() - 1) * a; return; }
    case 'glorotNormal': { const s = Math.sqrt(2 / (fanIn + fanOut)); for (let i = 0; i < v.length; i++) v[i] = normal() * s; return; }
    case 'heUniform': { const a = Math.sqrt(6 / fanIn); for (let i = 0; i < v.length; i++) v[i] = (2 * random() - 1) * a; return; }
    case 'heNormal': { const s = Math.sqrt(2 / fanIn); for (let i = 0; i < v.length; i++) v[i] = normal() * s; return; }
  }
  throw new ArgumentError(`initializer must be one of ${INITIALIZERS.join(', ')}, got ${JSON.stringify(init)}`);
}

/** A copy of x with another shape of the same size. */
export function reshapeCopy(x: Tensor, shape: number[]): Tensor {
  const y = empty(shape);
  rt().heap.u8().copyWithin(y.ptr, x.ptr, x.ptr + x.bytes);
  return y;
}

/** Mulberry32: the seeded stream initialisers and shuffling draw from. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
