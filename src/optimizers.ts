import { ArgumentError, DisposedError, ShapeError, fmtShape } from './errors.js';
import { batched, parallelElements } from './ops/parallel.js';
import { expectBool, expectNumber, expectOptions, expectTensor } from './ops/check.js';
import { sameShape } from './ops/shape.js';
import { onReset, rt, type Kernels } from './runtime/wasm.js';
import type { Tensor } from './tensor.js';

// Optimizers: PyTorch's update rules (torch.optim), run in wasm (assembly/optimizers.ts), one kernel
// call per parameter that updates it in place. Per-parameter state (momentum, squared-gradient
// averages, …) lives in one linear-memory block per parameter, allocated at the parameter's first
// step and freed when the parameter is disposed or the optimizer is. State is keyed by the
// parameter tensor itself, so the same optimizer can serve any set of parameters.

/** The names `getOptimizer` (and so `compile`) accepts. */
export type OptimizerName = 'sgd' | 'adam' | 'adagrad' | 'rmsprop';

/** An optimizer's settings after defaults are applied. */
export type OptimizerConfig = Readonly<Record<string, number | boolean>>;

/** Something that updates parameters in place from their gradients. */
export interface Optimizer<C extends OptimizerConfig = OptimizerConfig> {
  readonly name: string;
  /** The settings in use, defaults filled in. */
  readonly config: C;
  /**
   * Update every params[i] in place from grads[i] (same shapes, float32), then bump its version.
   * Validates everything before changing anything.
   */
  step(params: readonly Tensor[], grads: readonly Tensor[]): void;
  /**
   * Bytes of state the optimizer keeps for these parameters (4 per float, as `Tensor.bytes`
   * counts), whether allocated yet or not; without params, the bytes held now.
   */
  stateBytes(params?: ReadonlyArray<{ readonly size: number }>): number;
  /** Free all state. Disposing twice is harmless; stepping afterwards throws a DisposedError. */
  dispose(): void;
  /** A copy of the state of `params`, in their order (for checkpoints). */
  getState?(params: readonly Tensor[]): OptimizerState;
  /** Restore state taken by `getState` onto `params` (the same shapes, in the same order). */
  setState?(params: readonly Tensor[], state: OptimizerState): void;
}

/** The optimizers made here: their learning rate may be changed between steps (schedules, decay). */
export interface BuiltinOptimizer<C extends OptimizerConfig & { readonly learningRate: number }> extends Optimizer<C> {
  /** The learning rate of the next step (also `config.learningRate`). Setting it validates it. */
  learningRate: number;
}

/** An optimizer's state for a list of parameters: per parameter its step count and buffers, or null if it has none. */
export interface OptimizerState {
  readonly name: string;
  readonly params: ReadonlyArray<{ readonly step: number; readonly buffers: Readonly<Record<string, Float32Array>> } | null>;
}

export interface SgdOptions { learningRate?: number; momentum?: number; nesterov?: boolean; weightDecay?: number }
export type SgdConfig = { readonly learningRate: number; readonly momentum: number; readonly nesterov: boolean; readonly weightDecay: number };

export interface AdagradOptions { learningRate?: number; epsilon?: number; initialAccumulator?: number; weightDecay?: number }
export type AdagradConfig = { readonly learningRate: number; readonly epsilon: number; readonly initialAccumulator: number; readonly weightDecay: number };

export interface RmspropOptions { learningRate?: number; rho?: number; epsilon?: number; momentum?: number; weightDecay?: number }
export type RmspropConfig = { readonly learningRate: number; readonly rho: number; readonly epsilon: number; readonly momentum: number; readonly weightDecay: number };

export interface AdamOptions { learningRate?: number; beta1?: number; beta2?: number; epsilon?: number; weightDecay?: number; decoupled?: boolean }
export type AdamConfig = {
  readonly learningRate: number; readonly beta1: number; readonly beta2: number; readonly epsilon: number;
  readonly weightDecay: number; readonly decoupled: boolean;
};

// ---- factories ----

/**
 * Stochastic gradient descent, as torch.optim.SGD with dampening 0: d = g + wd·p;
 * with momentum v = μ·v + d and d = nesterov ? d + μ·v : v; p −= lr·d.
 */
export function sgd(options?: SgdOptions): BuiltinOptimizer<SgdConfig> {
  const op = 'optimizers.sgd';
  const o = expectOptions(op, options, ['learningRate', 'momentum', 'nesterov', 'weightDecay']);
  const config: SgdConfig = Object.freeze({
    learningRate: expectNumber(op, 'learningRate', o.learningRate, 0.01, 0),
    momentum: expectNumber(op, 'momentum', o.momentum, 0, 0),
    nesterov: expectBool(op, 'nesterov', o.nesterov, false),
    weightDecay: expectNumber(op, 'weightDecay', o.weightDecay, 0, 0),
  });
  if (config.nesterov && config.momentum === 0) throw new ArgumentError(`${op}: nesterov requires momentum > 0, got momentum 0`);
  const { momentum, nesterov, weightDecay } = config;
  return new WasmOptimizer('sgd', config, momentum > 0 ? ['momentum'] : [], [0], (k, p, g, b, t, lr) => {
    parallelElements('sgd_step_f32', p.size, (o, n) => [p.ptr + o, g.ptr + o, b[0] ? b[0] + o : 0, n, lr, momentum, weightDecay, nesterov ? 1 : 0]);
  });
}

/** Adagrad, as torch.optim.Adagrad (no lr decay): d = g + wd·p; s += d²; p −= lr·d / (√s + eps). */
export function adagrad(options?: AdagradOptions): BuiltinOptimizer<AdagradConfig> {
  const op = 'optimizers.adagrad';
  const o = expectOptions(op, options, ['learningRate', 'epsilon', 'initialAccumulator', 'weightDecay']);
  const config: AdagradConfig = Object.freeze({
    learningRate: expectNumber(op, 'learningRate', o.learningRate, 0.01, 0),
    epsilon: expectNumber(op, 'epsilon', o.epsilon, 1e-10, 0),
    initialAccumulator: expectNumber(op, 'initialAccumulator', o.initialAccumulator, 0, 0),
    weightDecay: expectNumber(op, 'weightDecay', o.weightDecay, 0, 0),
  });
  const { epsilon, weightDecay } = config;
  return new WasmOptimizer('adagrad', config, ['accumulator'], [config.initialAccumulator], (k, p, g, b, t, lr) => {
    parallelElements('adagrad_step_f32', p.size, (o, n) => [p.ptr + o, g.ptr + o, b[0] + o, n, lr, epsilon, weightDecay], STEP_COST);
  });
}

/**
 * RMSprop, as torch.optim.RMSprop (alpha = rho, not centered): d = g + wd·p;
 * sq = ρ·sq + (1−ρ)·d²; with momentum buf = μ·buf + d/(√sq + eps), p −= lr·buf; else p −= lr·d/(√sq + eps).
 */
export function rmsprop(options?: RmspropOptions): BuiltinOptimizer<RmspropConfig> {
  const op = 'optimizers.rmsprop';
  const o = expectOptions(op, options, ['learningRate', 'rho', 'epsilon', 'momentum', 'weightDecay']);
  const config: RmspropConfig = Object.freeze({
    learningRate: expectNumber(op, 'learningRate', o.learningRate, 0.01, 0),
    rho: expectNumber(op, 'rho', o.rho, 0.99, 0, 1),
    epsilon: expectNumber(op, 'epsilon', o.epsilon, 1e-8, 0),
    momentum: expectNumber(op, 'momentum', o.momentum, 0, 0),
    weightDecay: expectNumber(op, 'weightDecay', o.weightDecay, 0, 0),
  });
  const { rho, epsilon, momentum, weightDecay } = config;
  const names = momentum > 0 ? ['squareAverage', 'momentum'] : ['squareAverage'];
  return new WasmOptimizer('rmsprop', config, names, [0, 0], (k, p, g, b, t, lr) => {
    parallelElements('rmsprop_step_f32', p.size, (o, n) => [p.ptr + o, g.ptr + o, b[0] + o, b[1] ? b[1] + o : 0, n, lr, rho, 1 - rho, epsilon, momentum, weightDecay], STEP_COST);
  });
}

/**
 * Adam with bias correction, as torch.optim.Adam (weightDecay as L2 added to the gradient), or
 * torch.optim.AdamW when `decoupled` (p −= lr·wd·p before the Adam step). The step count t is the
 * parameter's own (as PyTorch's per-parameter state['step']): the number of steps it took part in.
 */
export function adam(options?: AdamOptions): BuiltinOptimizer<AdamConfig> {
  const op = 'optimizers.adam';
  const o = expectOptions(op, options, ['learningRate', 'beta1', 'beta2', 'epsilon', 'weightDecay', 'decoupled']);
  const config: AdamConfig = Object.freeze({
    learningRate: expectNumber(op, 'learningRate', o.learningRate, 0.001, 0),
    beta1: expectBeta(op, 'beta1', o.beta1, 0.9),
    beta2: expectBeta(op, 'beta2', o.beta2, 0.999),
    epsilon: expectNumber(op, 'epsilon', o.epsilon, 1e-8, 0),
    weightDecay: expectNumber(op, 'weightDecay', o.weightDecay, 0, 0),
    decoupled: expectBool(op, 'decoupled', o.decoupled, false),
  });
  const { beta1, beta2, epsilon, weightDecay, decoupled } = config;
  const l2 = decoupled ? 0 : weightDecay;
  return new WasmOptimizer('adam', config, ['m', 'v'], [0, 0], (k, p, g, b, t, lr) => {
    // Every coefficient in f64 here, rounded once to f32 at the call, as PyTorch's Python floats are
    // (1 − β2 and 1 − β2^t computed in f32 would lose digits).
    const decay = decoupled ? 1 - lr * weightDecay : 1;
    const stepSize = lr / (1 - beta1 ** t), bc2Sqrt = Math.sqrt(1 - beta2 ** t);
    parallelElements('adam_step_f32', p.size, (o, n) => [p.ptr + o, g.ptr + o, b[0] + o, b[1] + o, n, 1 - beta1, beta2, 1 - beta2, epsilon, l2, decay, stepSize, bc2Sqrt], STEP_COST);
  });
}

/**
 * Work per element of the adaptive optimizers' steps (a square root and a division each: LeNet-5's
 * 62k parameters of Adam took 85 µs on one thread) for the threads' split threshold; sgd counts 1.
 */
const STEP_COST = 8;

const FACTORIES: Record<OptimizerName, () => BuiltinOptimizer<OptimizerConfig & { readonly learningRate: number }>> = { sgd, adam, adagrad, rmsprop };

/**
 * An optimizer from a name ('sgd', 'adam', 'adagrad', 'rmsprop', with default settings; case does
 * not matter) or an Optimizer, returned as is. `op` names the caller in error messages.
 */
export function getOptimizer(spec: string | Optimizer, op = 'getOptimizer'): Optimizer {
  const names = Object.keys(FACTORIES).map((n) => `'${n}'`).join(', ');
  if (typeof spec === 'string') {
    const key = spec.toLowerCase();
    if (Object.prototype.hasOwnProperty.call(FACTORIES, key)) return FACTORIES[key as OptimizerName]();
    throw new ArgumentError(`${op}: unknown optimizer ${JSON.stringify(spec)} (known: ${names})`);
  }
  if (isOptimizer(spec)) return spec;
  throw new ArgumentError(`${op}: optimizer must be one of ${names} or an Optimizer object (with name, step, stateBytes, dispose), got ${describe(spec)}`);
}

function isOptimizer(v: unknown): v is Optimizer {
  if (v === null || typeof v !== 'object') return false;
  const o = v as Record<string, unknown>;
  return typeof o.name === 'string' && typeof o.step === 'function' && typeof o.stateBytes === 'function' && typeof o.dispose === 'function';
}

function expectBeta(op: string, name: string, v: unknown, fallback: number): number {
  const b = expectNumber(op, name, v, fallback, 0, 1);
  if (b === 1) throw new ArgumentError(`${op}: ${name} must be in [0, 1), got 1`);
  return b;
}

function describe(v: unknown): string {
  if (v === null || typeof v !== 'object') return typeof v === 'string' ? JSON.stringify(v) : String(v);
  return Array.isArray(v) ? 'an array' : 'an object';
}

// ---- the shared machinery ----

/** One kernel call for one parameter: b holds the addresses of its state buffers, t its step count, lr the current learning rate. */
type Update = (k: Kernels, p: Tensor, g: Tensor, b: readonly number[], t: number, lr: number) => void;

/** A parameter's state: one block holding every buffer, each padded to a multiple of 4 floats (16 bytes). */
interface Slot { readonly ptr: number; readonly buffers: readonly number[]; step: number }

// init() replacing the runtime invalidates every address; optimizers then drop their state unfreed.
let generation = 0;
onReset(() => { generation++; });

class WasmOptimizer<C extends OptimizerConfig & { readonly learningRate: number }> implements BuiltinOptimizer<C> {
  private readonly slots = new Map<Tensor, Slot>();
  /** Parameters whose dispose already calls back (a tensor's hooks cannot be removed). */
  private readonly hooked = new WeakSet<Tensor>();
  private disposed = false;
  private generation = generation;

  private settings: C;

  constructor(
    readonly name: OptimizerName,
    config: C,
    /** The names of the per-parameter buffers (none: stateless). */
    private readonly bufferNames: readonly string[],
    /** Each buffer's initial value. */
    private readonly initial: readonly number[],
    private readonly update: Update,
  ) {
    this.settings = config;
  }

  get config(): C { return this.settings; }

  get learningRate(): number { return this.settings.learningRate; }
  set learningRate(value: number) {
    const lr = expectNumber(this.name, 'learningRate', value, NaN, 0);
    this.settings = Object.freeze({ ...this.settings, learningRate: lr });
  }

  step(params: readonly Tensor[], grads: readonly Tensor[]): void {
    const op = `${this.name}.step`;
    if (this.disposed) throw new DisposedError(`${op}: the optimizer was disposed`);
    if (!Array.isArray(params)) throw new ArgumentError(`${op}: params must be an array of Tensors, got ${describe(params)}`);
    if (!Array.isArray(grads)) throw new ArgumentError(`${op}: grads must be an array of Tensors, got ${describe(grads)}`);
    if (params.length !== grads.length) {
      throw new ArgumentError(`${op}: got ${params.length} params but ${grads.length} grads (one gradient per parameter)`);
    }
    const seen = new Map<Tensor, number>();
    for (let i = 0; i < params.length; i++) {
      const p = expectTensor(op, `params[${i}]`, params[i]);
      const g = expectTensor(op, `grads[${i}]`, grads[i]);
      if (!sameShape(p.shape, g.shape)) {
        throw new ShapeError(`${op}: grads[${i}] ${fmtShape(g.shape)} does not match params[${i}] ${fmtShape(p.shape)}`);
      }
      const j = seen.get(p);
      if (j !== undefined) throw new ArgumentError(`${op}: params[${i}] ${fmtShape(p.shape)} is also params[${j}] (each parameter once per step)`);
      seen.set(p, i);
    }
    this.sync();
    // Allocate every block before updating anything: running out of memory leaves params as they were.
    const slots = params.map((p) => this.slotOf(p));
    const k = rt().kernels;
    // Every parameter's update in one pool run (independent: each touches its own memory).
    batched(params.reduce((s, p) => s + p.size, 0) * (this.name === 'sgd' ? 1 : STEP_COST), () => {
      for (let i = 0; i < params.length; i++) {
        const p = params[i], slot = slots[i];
        if (slot) slot.step++;
        this.update(k, p, grads[i], slot ? slot.buffers : NO_BUFFERS, slot ? slot.step : 0, this.settings.learningRate);
      }
    });
    for (const p of params) p.version++;
  }

  stateBytes(params?: ReadonlyArray<{ readonly size: number }>): number {
    const per = this.bufferNames.length * 4;
    if (params === undefined) {
      if (this.disposed) return 0;
      this.sync();
      let n = 0;
      for (const p of this.slots.keys()) n += p.size;
      return n * per;
    }
    if (!Array.isArray(params)) throw new ArgumentError(`${this.name}.stateBytes: params must be an array of Tensors, got ${describe(params)}`);
    let n = 0;
    for (let i = 0; i < params.length; i++) {
      const size = (params[i] as { size?: unknown } | null)?.size;
      if (typeof size !== 'number' || !Number.isInteger(size) || size < 0) {
        throw new ArgumentError(`${this.name}.stateBytes: params[${i}] must be a Tensor (or have a non-negative integer size), got ${describe(params[i])}`);
      }
      n += size;
    }
    return n * per;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.sync();
    const heap = this.slots.size ? rt().heap : null;
    for (const slot of this.slots.values()) heap!.free(slot.ptr);
    this.slots.clear();
  }

  getState(params: readonly Tensor[]): OptimizerState {
    const op = `${this.name}.getState`;
    this.checkLive(op, params);
    this.sync();
    const f32 = this.slots.size ? rt().heap.f32() : null;
    return {
      name: this.name,
      params: params.map((p) => {
        const slot = this.slots.get(p);
        if (!slot) return null;
        const buffers: Record<string, Float32Array> = {};
        this.bufferNames.forEach((name, j) => {
          buffers[name] = f32!.slice(slot.buffers[j] >>> 2, (slot.buffers[j] >>> 2) + p.size);
        });
        return { step: slot.step, buffers };
      }),
    };
  }

  setState(params: readonly Tensor[], state: OptimizerState): void {
    const op = `${this.name}.setState`;
    this.checkLive(op, params);
    if (state === null || typeof state !== 'object' || state.name !== this.name || !Array.isArray(state.params)) {
      throw new ArgumentError(`${op}: state must come from a '${this.name}' optimizer's getState, got ${describe(state)}${state && typeof state === 'object' ? ` named ${JSON.stringify((state as { name?: unknown }).name)}` : ''}`);
    }
    if (state.params.length !== params.length) {
      throw new ArgumentError(`${op}: state holds ${state.params.length} parameters but ${params.length} params were given`);
    }
    // Check everything first, so a bad state changes nothing.
    state.params.forEach((s, i) => {
      if (s === null) return;
      const p = params[i];
      if (!Number.isInteger(s.step) || s.step < 0) throw new ArgumentError(`${op}: state.params[${i}].step must be a non-negative integer, got ${String(s.step)}`);
      for (const name of this.bufferNames) {
        const b = s.buffers?.[name];
        if (!(b instanceof Float32Array) || b.length !== p.size) {
          throw new ShapeError(`${op}: state.params[${i}].buffers.${name} must be a Float32Array of ${p.size} floats for params[${i}] ${fmtShape(p.shape)}, got ${b instanceof Float32Array ? `${b.length} floats` : describe(b)}`);
        }
      }
    });
    this.sync();
    state.params.forEach((s, i) => {
      const p = params[i];
      if (s === null) {
        this.release(p);
        return;
      }
      const slot = this.slotOf(p);
      if (!slot) return;
      slot.step = s.step;
      const f32 = rt().heap.f32();
      this.bufferNames.forEach((name, j) => f32.set(s.buffers[name], slot.buffers[j] >>> 2));
    });
  }

  /** The parameter's state block, allocated and initialised on first use; null when stateless. */
  private slotOf(p: Tensor): Slot | null {
    if (this.bufferNames.length === 0) return null;
    let slot = this.slots.get(p);
    if (slot) return slot;
    const padded = Math.ceil(p.size / 4) * 4;
    const { heap, kernels } = rt();
    const ptr = heap.alloc(this.bufferNames.length * padded * 4);
    const buffers = this.bufferNames.map((_, j) => ptr + j * padded * 4);
    buffers.forEach((b, j) => kernels.fill_f32(b, padded, this.initial[j]));
    slot = { ptr, buffers, step: 0 };
    this.slots.set(p, slot);
    if (!this.hooked.has(p)) {
      this.hooked.add(p);
      p.onDispose((t) => this.release(t));
    }
    return slot;
  }


  private release(p: Tensor): void {
    this.sync();
    const slot = this.slots.get(p);
    if (!slot) return;
    this.slots.delete(p);
    rt().heap.free(slot.ptr);
  }

  private checkLive(op: string, params: readonly Tensor[]): void {
    if (this.disposed) throw new DisposedError(`${op}: the optimizer was disposed`);
    if (!Array.isArray(params)) throw new ArgumentError(`${op}: params must be an array of Tensors, got ${describe(params)}`);
    params.forEach((p, i) => expectTensor(op, `params[${i}]`, p));
  }

  /** Forget state from a runtime that init() has replaced (its memory is gone; nothing to free). */
  private sync(): void {
    if (this.generation !== generation) {
      this.slots.clear();
      this.generation = generation;
    }
  }
}

const NO_BUFFERS: readonly number[] = [];
