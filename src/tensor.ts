import { ArgumentError, DisposedError, DTypeError, ShapeError, fmtShape } from './errors.js';
import { onReset, rt } from './runtime/wasm.js';

// Tensors live in wasm linear memory. Who frees: whoever holds the tensor calls `dispose()`, or
// wraps the work in `tidy(fn)`, which disposes every tensor created inside fn except those fn
// returns (or passes to `keep`). Ops never dispose their inputs.

export type DType = 'float32' | 'int32';
/** Anything `tensor()` accepts as data. */
export type TensorData = ArrayLike<number> | NestedArray;
export interface NestedArray extends ReadonlyArray<number | NestedArray> {}

const live = new Set<Tensor>();
let liveBytes = 0;
let nextId = 1;

/** Hooks run when a tensor is disposed (caches keyed by tensor drop their entries). @internal */
type DisposeHook = (t: Tensor) => void;

export class Tensor {
  /** Dimensions, outermost first (NHWC for images). */
  readonly shape: readonly number[];
  readonly dtype: DType;
  /** Number of elements. */
  readonly size: number;
  /** Unique per tensor; caches key on it. @internal */
  readonly id: number;
  /** Byte address in linear memory. @internal */
  readonly ptr: number;
  /** Bumped by every in-place update (optimizers), so caches of derived data can tell. @internal */
  version = 0;
  private disposed = false;
  private hooks: DisposeHook[] | null = null;

  /** @internal Use `tensor()`, `zeros()` or an op. */
  constructor(shape: readonly number[], dtype: DType, ptr: number) {
    this.shape = Object.freeze(shape.slice());
    this.dtype = dtype;
    this.size = sizeOf(shape);
    this.ptr = ptr;
    this.id = nextId++;
  }

  get rank(): number { return this.shape.length; }
  get isDisposed(): boolean { return this.disposed; }
  /** Bytes of data (4 per element). */
  get bytes(): number { return this.size * 4; }

  /** A copy of the data, as a typed array of the tensor's dtype. */
  toArray(): Float32Array | Int32Array {
    this.check('toArray');
    const heap = rt().heap;
    const start = this.ptr >>> 2;
    return this.dtype === 'float32'
      ? heap.f32().slice(start, start + this.size)
      : heap.i32().slice(start, start + this.size);
  }

  /** A view of the data in linear memory, valid until the next allocation. @internal */
  view(): Float32Array | Int32Array {
    const heap = rt().heap;
    const start = this.ptr >>> 2;
    return this.dtype === 'float32'
      ? heap.f32().subarray(start, start + this.size)
      : heap.i32().subarray(start, start + this.size);
  }

  /** Free the memory now. Disposing twice is harmless; using a disposed tensor throws. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.hooks) for (const hook of this.hooks) hook(this);
    this.hooks = null;
    if (live.delete(this)) {
      liveBytes -= this.bytes;
      rt().heap.free(this.ptr);
    }
  }

  /** Throw a DisposedError naming `op` if this tensor was disposed. @internal */
  check(op: string, arg = 'tensor'): this {
    rt().heap.op = op;
    if (this.disposed) throw new DisposedError(`${op}: ${arg} ${fmtShape(this.shape)} was disposed`);
    return this;
  }

  /** Run `hook` when this tensor is disposed. @internal */
  onDispose(hook: DisposeHook): void {
    (this.hooks ??= []).push(hook);
  }

  toString(): string {
    return `Tensor(${this.dtype} ${fmtShape(this.shape)}${this.disposed ? ', disposed' : ''})`;
  }
}

/** Allocate an uninitialised tensor (ops write every element). @internal */
export function empty(shape: readonly number[], dtype: DType = 'float32'): Tensor {
  const size = sizeOf(shape);
  const ptr = rt().heap.alloc(size * 4);
  const t = new Tensor(shape, dtype, ptr);
  live.add(t);
  liveBytes += t.bytes;
  track(t);
  return t;
}

/** A tensor holding `data` (flat or nested), with `shape` (inferred from nested data if omitted). */
export function tensor(data: TensorData, shape?: readonly number[], dtype: DType = 'float32'): Tensor {
  if (dtype !== 'float32' && dtype !== 'int32') throw new DTypeError(`tensor: dtype must be 'float32' or 'int32', got ${String(dtype)}`);
  const flat = isNested(data) ? flatten(data as NestedArray) : (data as ArrayLike<number>);
  const inferred = isNested(data) ? nestedShape(data as NestedArray) : [flat.length];
  const s = shape ?? inferred;
  checkShape('tensor', s);
  if (sizeOf(s) !== flat.length) {
    throw new ShapeError(`tensor: shape ${fmtShape(s)} holds ${sizeOf(s)} elements but data has ${flat.length}`);
  }
  rt().heap.op = 'tensor';
  const t = empty(s, dtype);
  const view = t.view();
  if (dtype === 'int32') {
    for (let i = 0; i < flat.length; i++) {
      const v = flat[i];
      if (!Number.isInteger(v) || v < -2147483648 || v > 2147483647) {
        t.dispose();
        throw new DTypeError(`tensor: int32 data must be 32-bit integers, got ${v} at index ${i}`);
      }
    }
  }
  view.set(flat);
  return t;
}

/** A float32 tensor of zeros. */
export function zeros(shape: readonly number[], dtype: DType = 'float32'): Tensor {
  checkShape('zeros', shape);
  rt().heap.op = 'zeros';
  const t = empty(shape, dtype);
  t.view().fill(0);
  return t;
}

/** A tensor of `shape` filled with `value`. */
export function fill(shape: readonly number[], value: number, dtype: DType = 'float32'): Tensor {
  checkShape('fill', shape);
  rt().heap.op = 'fill';
  const t = empty(shape, dtype);
  t.view().fill(value);
  return t;
}

/** Live tensors and the bytes they hold, for leak checks. */
export function memoryStats(): { tensors: number; bytes: number; wasmBytes: number } {
  return { tensors: live.size, bytes: liveBytes, wasmBytes: rt().heap.bytesReserved };
}

// ---- tidy ----

const scopes: Tensor[][] = [];

function track(t: Tensor): void {
  if (scopes.length) scopes[scopes.length - 1].push(t);
}

/**
 * Run fn; dispose every tensor created inside it except those it returns (a tensor, or arrays /
 * plain objects of tensors, at any depth) and those passed to `keep`. Returned tensors move to the
 * enclosing tidy, if any. fn must be synchronous.
 */
export function tidy<T>(fn: () => T): T {
  const scope: Tensor[] = [];
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    scopes.pop();
    for (const t of scope) t.dispose();
    throw e;
  }
  scopes.pop();
  if (result && typeof (result as { then?: unknown }).then === 'function') {
    for (const t of scope) t.dispose();
    throw new ArgumentError('tidy: fn must be synchronous (it returned a Promise)');
  }
  const kept = new Set<Tensor>();
  collect(result, kept, 0);
  for (const t of scope) {
    if (kept.has(t) || keepers.has(t)) {
      keepers.delete(t);
      track(t);
    } else {
      t.dispose();
    }
  }
  return result;
}

const keepers = new WeakSet<Tensor>();

/** Exempt t from the enclosing tidy's clean-up (you dispose it yourself). */
export function keep<T extends Tensor>(t: T): T {
  keepers.add(t);
  return t;
}

function collect(v: unknown, out: Set<Tensor>, depth: number): void {
  if (depth > 8 || v === null || typeof v !== 'object') return;
  if (v instanceof Tensor) { out.add(v); return; }
  if (Array.isArray(v)) { for (const e of v) collect(e, out, depth + 1); return; }
  if (Object.getPrototypeOf(v) === Object.prototype || v instanceof Map) {
    for (const e of v instanceof Map ? v.values() : Object.values(v)) collect(e, out, depth + 1);
  }
}

// When init replaces the runtime, every tensor of the old one is gone.
onReset(() => {
  for (const t of [...live]) {
    live.delete(t);
    (t as unknown as { disposed: boolean }).disposed = true;
  }
  liveBytes = 0;
});

// ---- helpers ----

/** Product of dims. */
export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Every dim a non-negative integer. */
export function checkShape(op: string, shape: readonly number[]): void {
  if (!Array.isArray(shape) || shape.some((d) => !Number.isInteger(d) || d < 0)) {
    throw new ShapeError(`${op}: shape must be an array of non-negative integers, got ${JSON.stringify(shape)}`);
  }
}

function isNested(data: TensorData): boolean {
  return Array.isArray(data) && data.length > 0 && Array.isArray(data[0]);
}

function nestedShape(data: NestedArray): number[] {
  const shape: number[] = [];
  let cur: unknown = data;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    cur = cur[0];
  }
  return shape;
}

function flatten(data: NestedArray): number[] {
  const out: number[] = [];
  const want = nestedShape(data);
  const walk = (v: number | NestedArray, depth: number): void => {
    if (Array.isArray(v)) {
      if (depth >= want.length || v.length !== want[depth]) {
        throw new ShapeError(`tensor: nested data is ragged (expected ${want[depth]} elements at depth ${depth}, got ${v.length})`);
      }
      for (const e of v) walk(e as number | NestedArray, depth + 1);
    } else {
      if (depth !== want.length) throw new ShapeError(`tensor: nested data is ragged at depth ${depth}`);
      out.push(v as number);
    }
  };
  walk(data, 0);
  return out;
}

