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
  /** Who holds this tensor for a while (a running fit): disposing it then is an error. */
  private holders: string[] | null = null;

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
    if (this.holders?.length) {
      throw new ArgumentError(`dispose: ${this.toString()} is in use by ${this.holders[this.holders.length - 1]}; dispose it after that finishes`);
    }
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

  /** Forbid dispose() until `release(holder)` (fit holds its data this way). @internal */
  hold(holder: string): void {
    this.check(holder);
    (this.holders ??= []).push(holder);
  }

  /** End a `hold`. @internal */
  release(holder: string): void {
    const i = this.holders?.lastIndexOf(holder) ?? -1;
    if (i >= 0) this.holders!.splice(i, 1);
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

/** A copy of x (same shape and dtype). */
export function clone(x: Tensor): Tensor {
  x.check('clone', 'x');
  const y = empty(x.shape, x.dtype);
  rt().heap.u8().copyWithin(y.ptr, x.ptr, x.ptr + x.bytes);
  return y;
}

/** A copy of x with another shape of the same size (one -1 dim is inferred). */
export function reshape(x: Tensor, shape: readonly number[]): Tensor {
  x.check('reshape', 'x');
  const s = Array.isArray(shape) ? shape.slice() : [];
  const unknown = s.indexOf(-1);
  if (unknown >= 0 && s.indexOf(-1, unknown + 1) < 0) {
    const rest = sizeOf(s.filter((_, i) => i !== unknown));
    if (rest > 0 && x.size % rest === 0) s[unknown] = x.size / rest;
  }
  checkShape('reshape', s);
  if (sizeOf(s) !== x.size) throw new ShapeError(`reshape: cannot reshape ${fmtShape(x.shape)} (${x.size} elements) to ${JSON.stringify(shape)}`);
  const y = empty(s, x.dtype);
  rt().heap.u8().copyWithin(y.ptr, x.ptr, x.ptr + x.bytes);
  return y;
}

/** Rows `rows[i]` of x (rows on axis 0) as a new tensor [rows.length, ...]. */
export function gatherRows(x: Tensor, rows: ArrayLike<number>): Tensor {
  x.check('gatherRows', 'x');
  const N = x.shape[0] ?? 0;
  for (let i = 0; i < rows.length; i++) {
    if (!Number.isInteger(rows[i]) || rows[i] < 0 || rows[i] >= N) throw new ArgumentError(`gatherRows: row ${rows[i]} (at ${i}) is outside [0, ${N}) of ${fmtShape(x.shape)}`);
  }
  const y = empty([rows.length, ...x.shape.slice(1)], x.dtype);
  const rb = N ? x.bytes / N : 0;
  const u8 = rt().heap.u8();
  for (let i = 0; i < rows.length; i++) u8.copyWithin(y.ptr + i * rb, x.ptr + rows[i] * rb, x.ptr + (rows[i] + 1) * rb);
  return y;
}

/** Rows [start, start + count) of x as a new tensor. */
export function sliceRows(x: Tensor, start: number, count: number): Tensor {
  x.check('sliceRows', 'x');
  const N = x.shape[0] ?? 0;
  if (!Number.isInteger(start) || !Number.isInteger(count) || start < 0 || count < 0 || start + count > N) {
    throw new ArgumentError(`sliceRows: rows [${start}, ${start + count}) are outside [0, ${N}) of ${fmtShape(x.shape)}`);
  }
  const y = empty([count, ...x.shape.slice(1)], x.dtype);
  const rb = N ? x.bytes / N : 0;
  rt().heap.u8().copyWithin(y.ptr, x.ptr + start * rb, x.ptr + (start + count) * rb);
  return y;
}

/** Copy src's rows into dst starting at row `at` (same row shape and dtype). */
export function copyRows(dst: Tensor, at: number, src: Tensor): void {
  dst.check('copyRows', 'dst');
  src.check('copyRows', 'src');
  const N = dst.shape[0] ?? 0, n = src.shape[0] ?? 0;
  if (dst.dtype !== src.dtype || dst.rank !== src.rank || dst.shape.slice(1).join() !== src.shape.slice(1).join() || at < 0 || at + n > N) {
    throw new ShapeError(`copyRows: cannot copy ${src.toString()} into rows [${at}, ${at + n}) of ${dst.toString()}`);
  }
  const rb = N ? dst.bytes / N : 0;
  rt().heap.u8().copyWithin(dst.ptr + at * rb, src.ptr, src.ptr + src.bytes);
}

/**
 * A tensor holding `data` (flat or nested), with `shape` (inferred from nested data if omitted).
 * Typed arrays are copied as they are (no per-element check: NaN and ±Infinity are legal values);
 * plain arrays are checked while they are copied, and anything that is not a number (a string,
 * undefined, a hole, an object) is an ArgumentError naming its index.
 */
export function tensor(data: TensorData, shape?: readonly number[], dtype: DType = 'float32'): Tensor {
  if (dtype !== 'float32' && dtype !== 'int32') throw new DTypeError(`tensor: dtype must be 'float32' or 'int32', got ${String(dtype)}`);
  const kind = dataKind(data);
  const flat: ArrayLike<unknown> = kind === 'nested' ? flatten(data as NestedArray) : (data as ArrayLike<unknown>);
  const s = shape ?? (kind === 'nested' ? nestedShape(data as NestedArray) : [flat.length]);
  checkShape('tensor', s);
  if (sizeOf(s) !== flat.length) {
    throw new ShapeError(`tensor: shape ${fmtShape(s)} holds ${sizeOf(s)} elements but data has ${flat.length}`);
  }
  rt().heap.op = 'tensor';
  const t = empty(s, dtype);
  const view = t.view();
  // Typed arrays of integers need no int32 check; nested data was checked by flatten.
  const checked = (kind === 'nested' && dtype === 'float32') || (kind === 'typed' && (dtype === 'float32' || isIntegerTyped(data)));
  if (checked) {
    view.set(flat as ArrayLike<number>);
    return t;
  }
  for (let i = 0; i < flat.length; i++) {
    const v = flat[i];
    if (typeof v !== 'number') {
      t.dispose();
      throw new ArgumentError(`tensor: data must hold numbers, got ${describe(v)} at index ${i}`);
    }
    if (dtype === 'int32' && (!Number.isInteger(v) || v < -2147483648 || v > 2147483647)) {
      t.dispose();
      throw new DTypeError(`tensor: int32 data must be 32-bit integers, got ${v} at index ${i}`);
    }
    view[i] = v;
  }
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

type DataKind = 'typed' | 'nested' | 'flat';

/** What kind of data tensor() was given; anything that is not array-like is an ArgumentError. */
function dataKind(data: unknown): DataKind {
  if (ArrayBuffer.isView(data)) {
    if (data instanceof DataView || data instanceof BigInt64Array || data instanceof BigUint64Array) {
      throw new ArgumentError(`tensor: data must be an array or a typed array of numbers, got ${data.constructor.name}`);
    }
    return 'typed';
  }
  if (Array.isArray(data)) return data.length > 0 && Array.isArray(data[0]) ? 'nested' : 'flat';
  if (data !== null && typeof data === 'object' && Number.isInteger((data as { length?: unknown }).length) && (data as { length: number }).length >= 0) return 'flat';
  throw new ArgumentError(`tensor: data must be an array or a typed array of numbers, got ${describe(data)}`);
}

function isIntegerTyped(data: unknown): boolean {
  return data instanceof Int32Array || data instanceof Int16Array || data instanceof Uint16Array
    || data instanceof Int8Array || data instanceof Uint8Array || data instanceof Uint8ClampedArray;
}

/** A short description of a bad value for messages: `"a" (string)`, `undefined`, `an object`. */
function describe(v: unknown): string {
  if (v === undefined || v === null) return String(v);
  if (typeof v === 'string') return `${JSON.stringify(v.length > 20 ? `${v.slice(0, 20)}…` : v)} (string)`;
  if (Array.isArray(v)) return `an array of ${v.length}`;
  if (typeof v === 'object') return `an object (${v.constructor?.name ?? 'null prototype'})`;
  return `${String(v)} (${typeof v})`;
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
  const path: number[] = [];
  const walk = (v: unknown, depth: number): void => {
    if (Array.isArray(v)) {
      if (depth >= want.length || v.length !== want[depth]) {
        throw new ShapeError(`tensor: nested data is ragged at index [${path.join(',')}] (expected ${depth >= want.length ? 'a number' : `${want[depth]} elements`} at depth ${depth}, got an array of ${v.length})`);
      }
      for (let i = 0; i < v.length; i++) {
        path.push(i);
        walk(v[i], depth + 1);
        path.pop();
      }
    } else if (depth !== want.length) {
      throw new ShapeError(`tensor: nested data is ragged at index [${path.join(',')}] (expected an array of ${want[depth]} at depth ${depth}, got ${describe(v)})`);
    } else if (typeof v !== 'number') {
      throw new ArgumentError(`tensor: data must hold numbers, got ${describe(v)} at index [${path.join(',')}]`);
    } else {
      out.push(v);
    }
  };
  walk(data, 0);
  return out;
}
