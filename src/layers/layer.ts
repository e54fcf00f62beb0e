import { ArgumentError, ShapeError, SimdcnnError, fmtShape } from '../errors.js';
import { empty, type Tensor } from '../tensor.js';
import { initializeTensor, initializerDraws, skipDraws, type Initializer } from './initializers.js';
import type { SymbolicTensor } from '../model/symbolic.js';

// A layer owns its parameters and computes one output from one or more inputs. Shapes here
// exclude the batch axis. What a forward pass keeps for its backward lives in a per-call Context,
// not in the layer: a layer applied twice in one graph (siamese networks) keeps two contexts.
//
// Lifecycle: the factory validates every option (unknown keys rejected); `apply` (or a model)
// infers the output shape with `outputShapeFor` (no allocation); the model then calls `build`,
// which allocates the parameters `paramSpecs` declares; `forward(xs, ctx)` and
// `backward(dy, ctx, needDx)` do the work; `ctx.dispose()` frees what forward kept.

export type { Initializer } from './initializers.js';

/** A parameter a layer declares: the model allocates and initialises it. */
export interface ParamSpec {
  name: string;
  shape: number[];
  /** An initializer name, or a constant every element starts at. */
  init: Initializer | number;
  fanIn: number;
  fanOut: number;
  /** Updated by the optimizer (true) or by the layer itself, like moving statistics (false). */
  trainable?: boolean;
}

/** What one forward call keeps for its backward: references to its inputs and tensors it owns. */
export class Context {
  /** The inputs of this call; the model owns them and keeps them alive until backward is done. */
  inputs: Tensor[] = [];
  /** The output of this call (owned by the model). */
  output: Tensor | null = null;
  /** Anything else the layer wants to remember (shapes, numbers, tensors it also passed to `own`). */
  readonly values: Record<string, unknown> = Object.create(null);
  private owned: Tensor[] = [];

  constructor(readonly training: boolean, readonly random: () => number = Math.random) {}

  /** Keep t for backward; it is disposed with the context. */
  own<T extends Tensor>(t: T): T {
    this.owned.push(t);
    return t;
  }

  dispose(): void {
    for (const t of this.owned) t.dispose();
    this.owned = [];
    this.inputs = [];
    this.output = null;
  }
}

/** The result of a backward call: one gradient per input (null where not asked), one per trainable parameter. */
export interface Gradients {
  dxs: Array<Tensor | null>;
  grads: Tensor[];
}

export abstract class Layer {
  /** The layer's kind, as in `layers.<type>(...)` and in saved topologies. */
  abstract readonly type: string;
  /** Unique within its model (`conv2d_1`, ...), or given by the user. */
  name: string;
  /** Input shapes (without batch) of the first application; the model builds for these. */
  inputShapes: number[][] = [];
  outputShape: number[] = [];
  /** Parameters in Keras's order (kernel, bias; gamma, beta, movingMean, movingVariance). */
  params: Tensor[] = [];
  /** Names of params, same order. */
  paramNames: string[] = [];
  /** Gradients of the trainable parameters from the last training step (kept by the model). */
  grads: Tensor[] = [];
  /** Whether each parameter is updated by the optimizer. */
  paramTrainable: boolean[] = [];
  /** When false, the optimizer leaves this layer's parameters alone (fine-tuning). */
  trainable = true;
  /** How many inputs the layer takes: a number, or 'many' (two or more). */
  readonly arity: number | 'many' = 1;
  /** The model this layer belongs to (a layer belongs to one model only). @internal */
  owner: object | null = null;
  /** The nodes this layer was applied at (symbolic graph). @internal */
  readonly applications: SymbolicTensor[] = [];
  /**
   * Set by a loader that writes every parameter right after the build (ONNX, tfjs, loadModel; on
   * failure it disposes the model): the build then allocates the parameters without initialising
   * them and skips the random draws instead of making them (the model's stream ends where an
   * ordinary build leaves it). Cleared by the build. @internal
   */
  weightsFollow = false;
  private built = false;

  constructor(name?: unknown) {
    if (name !== undefined && (typeof name !== 'string' || !/^[A-Za-z0-9_.\-/]{1,128}$/.test(name))) {
      throw new ArgumentError(`layer name must be 1–128 letters, digits, '_', '.', '-' or '/', got ${JSON.stringify(name)}`);
    }
    this.name = (name as string | undefined) ?? '';
  }

  get inputShape(): number[] { return this.inputShapes[0] ?? []; }
  get isBuilt(): boolean { return this.built; }

  /** Validate the input shapes and return the output shape (no allocation). */
  abstract computeOutputShape(inputShapes: number[][]): number[];
  /** The parameters this layer needs for these input shapes (default: none). */
  paramSpecs(inputShapes: number[][]): ParamSpec[] {
    void inputShapes;
    return [];
  }
  /** Compute the output of one call; keep in ctx what backward needs when ctx.training. */
  abstract forward(xs: Tensor[], ctx: Context): Tensor;
  /** From dy and what forward kept: gradients of the inputs asked for, and of the trainable parameters. */
  abstract backward(dy: Tensor, ctx: Context, needDx: boolean[]): Gradients;
  /** The options that rebuild this layer (JSON). */
  abstract getConfig(): Record<string, unknown>;

  /** Bytes one forward call keeps beyond its inputs and output, for a batch of n (memory estimates). */
  cacheBytes(n: number): number {
    void n;
    return 0;
  }

  /** Output shape for these inputs, with errors that name the layer. */
  outputShapeFor(inputShapes: number[][]): number[] {
    const n = inputShapes.length;
    if (this.arity === 'many' ? n < 2 : n !== this.arity) {
      throw this.shapeError(`takes ${this.arity === 'many' ? 'two or more inputs' : this.arity === 1 ? 'one input' : `${this.arity} inputs`}, got ${n}`);
    }
    return this.named(() => this.computeOutputShape(inputShapes.map((s) => s.slice())));
  }

  /** Allocate and initialise the parameters for these input shapes (once). @internal */
  build(inputShapes: number[][], random: () => number): void {
    if (this.built) return;
    this.outputShape = this.outputShapeFor(inputShapes);
    this.inputShapes = inputShapes.map((s) => s.slice());
    const specs = this.named(() => this.paramSpecs(inputShapes));
    try {
      for (const s of specs) {
        const t = empty(s.shape);
        this.params.push(t);
        this.paramNames.push(s.name);
        this.paramTrainable.push(s.trainable ?? true);
        if (!this.weightsFollow) initializeTensor(t, s.init, s.fanIn, s.fanOut, random);
        else skipDraws(random, initializerDraws(s.init, t.size));
      }
    } catch (e) {
      this.dispose();
      throw e;
    }
    this.built = true;
    this.weightsFollow = false;
  }

  /** Trainable parameter count (moving statistics included, as Keras counts them). */
  countParams(): number {
    return this.params.reduce((s, p) => s + p.size, 0);
  }

  /** Copies of the parameters, in Keras's order (the caller disposes them). */
  getWeights(): Tensor[] {
    return this.params.map((p) => {
      const t = empty(p.shape);
      t.view().set(p.view());
      return t;
    });
  }

  /** Copy new values into the parameters (every shape checked before anything is written). */
  setWeights(weights: ReadonlyArray<Tensor | Float32Array>): void {
    const where = `layer '${this.name}' (${this.type}).setWeights`;
    if (!Array.isArray(weights) || weights.length !== this.params.length) {
      throw new ArgumentError(`${where}: expected ${this.params.length} arrays (${this.paramNames.join(', ') || 'none'}), got ${Array.isArray(weights) ? weights.length : String(weights)}`);
    }
    weights.forEach((w, i) => {
      const p = this.params[i];
      if (w instanceof Float32Array) {
        if (w.length !== p.size) throw new ShapeError(`${where}: ${this.paramNames[i]} needs ${p.size} values ${fmtShape(p.shape)}, got ${w.length}`);
      } else if (w && typeof w === 'object' && 'shape' in w && typeof (w as Tensor).check === 'function') {
        (w as Tensor).check(where, this.paramNames[i]);
        if ((w as Tensor).shape.join() !== p.shape.join() || (w as Tensor).dtype !== 'float32') {
          throw new ShapeError(`${where}: ${this.paramNames[i]} must be float32 ${fmtShape(p.shape)}, got ${(w as Tensor).dtype} ${fmtShape((w as Tensor).shape)}`);
        }
      } else {
        throw new ArgumentError(`${where}: weight ${i} (${this.paramNames[i]}) must be a Tensor or a Float32Array`);
      }
    });
    weights.forEach((w, i) => {
      this.params[i].view().set(w instanceof Float32Array ? w : (w as Tensor).view());
      this.params[i].version++;
    });
  }

  /** Free the parameters. */
  dispose(): void {
    for (const t of this.params) t.dispose();
    this.params = [];
    this.paramNames = [];
    this.paramTrainable = [];
    this.built = false;
  }

  /**
   * Apply the layer to symbolic inputs (functional API): returns the symbolic output. Shapes are
   * checked now; parameters are created when a model is built from the graph.
   */
  apply(inputs: SymbolicTensor | SymbolicTensor[]): SymbolicTensor {
    return applyLayer(this, inputs);
  }

  /** A ShapeError naming this layer. */
  shapeError(message: string): ShapeError {
    return new ShapeError(`${this.label}: ${message}`);
  }

  /** An ArgumentError naming this layer. */
  argumentError(message: string): ArgumentError {
    return new ArgumentError(`${this.label}: ${message}`);
  }

  get label(): string {
    return this.name ? `layer '${this.name}' (${this.type})` : `layers.${this.type}`;
  }

  /** Throw unless the input has this rank (without batch). */
  protected expectRank(inputShape: number[], rank: number, what: string): void {
    if (inputShape.length !== rank) throw this.shapeError(`expects ${what} input (rank ${rank} without the batch), got ${fmtShape(inputShape)}`);
  }

  /** Run fn; an error it throws gets this layer's name in front. */
  protected named<T>(fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      if (e instanceof SimdcnnError && !e.message.startsWith(this.label) && !e.message.includes(`layer '${this.name}'`)) e.message = `${this.label}: ${e.message}`;
      throw e;
    }
  }
}

/** Set by src/model/symbolic.ts (which imports this file) to avoid a cycle. @internal */
let applyLayer: (layer: Layer, inputs: SymbolicTensor | SymbolicTensor[]) => SymbolicTensor = () => {
  throw new ArgumentError('layer.apply: the functional API is not loaded');
};
/** @internal */
export function setApply(fn: typeof applyLayer): void {
  applyLayer = fn;
}
