import { ArgumentError, ShapeError, fmtShape } from '../errors.js';
import { rt } from '../runtime/wasm.js';
import { empty, type Tensor } from '../tensor.js';
import { expectTensor } from './check.js';
import { broadcastShape, MAX_RANK } from './shape.js';
import { runCalls, split } from './parallel.js';
import type { Call } from '../runtime/pool.js';

// Elementwise add, sub, mul, div with NumPy broadcasting (ranks up to 6), their gradients, and
// addN. The plan step coalesces the broadcast: adjacent axes where each input is either full or
// broadcast alike are merged, size-1 output axes dropped, and the operands swapped (with the op
// reversed) so the innermost axis is contiguous in the first operand. Equal shapes become one
// flat run, a [C] or [1,…,1,C] vector becomes rows against one fixed vector, the
// squeeze-excitation [N,1,1,C] scale becomes N blocks of H·W rows, a scalar becomes a splat:
// all are the v128 inner loop of assembly/arithmetic.ts, with one strided outer loop for the rest.

/** The four arithmetic ops, by name (arithmeticBackward's first argument). */
export type ArithmeticOp = 'add' | 'sub' | 'mul' | 'div';

/** The gradients of a binary op, each with the shape of its input (summed over the axes it was broadcast along). */
export interface ArithmeticGrads {
  da: Tensor;
  db: Tensor;
}

/** Kernel op codes (assembly/arithmetic.ts); REVERSED[op] computes b op a. */
const CODE: Record<ArithmeticOp, number> = { add: 0, sub: 1, mul: 2, div: 3 };
const REVERSED = [0, 4, 2, 5, 1, 3];
const OPS: readonly ArithmeticOp[] = ['add', 'sub', 'mul', 'div'];

/** a + b, broadcast (NumPy rules, ranks ≤ 6). */
export function add(a: Tensor, b: Tensor): Tensor {
  return binary('add', a, b);
}

/** a − b, broadcast. */
export function sub(a: Tensor, b: Tensor): Tensor {
  return binary('sub', a, b);
}

/** a · b, broadcast (squeeze-excitation: [N,H,W,C] · [N,1,1,C]). */
export function mul(a: Tensor, b: Tensor): Tensor {
  return binary('mul', a, b);
}

/** a / b, broadcast (IEEE: x/0 is ±Infinity, 0/0 NaN). */
export function div(a: Tensor, b: Tensor): Tensor {
  return binary('div', a, b);
}

/**
 * Σ xs: the elementwise sum of one or more tensors of one shape (residual merges, gradient
 * accumulation), in one pass over the output; the same bits as a chain of add() from the left.
 */
export function addN(xs: readonly Tensor[]): Tensor {
  const op = 'addN';
  if (!Array.isArray(xs) || xs.length === 0) {
    throw new ArgumentError(`addN: xs must be a non-empty array of Tensors, got ${Array.isArray(xs) ? 'an empty array' : String(xs)}`);
  }
  const ts = xs.map((x, i) => expectTensor(op, `xs[${i}]`, x));
  const shape = ts[0].shape;
  ts.forEach((t, i) => {
    if (!same(t.shape, shape)) throw new ShapeError(`${op}: every tensor must have the shape of xs[0] ${fmtShape(shape)}, got xs[${i}] ${fmtShape(t.shape)}`);
  });
  const heap = rt().heap;
  const y = empty(shape);
  let table = 0;
  try {
    table = heap.alloc(4 * ts.length);
    heap.i32().set(ts.map((t) => t.ptr), table >>> 2);
    rt().kernels.add_n_f32(table, ts.length, y.ptr, y.size);
  } catch (e) {
    y.dispose();
    throw e;
  } finally {
    if (table) heap.free(table);
  }
  return y;
}

/**
 * The gradients of y = a op b (op 'add' | 'sub' | 'mul' | 'div') given dy, of y's (broadcast)
 * shape: da and db have the shapes of a and b, the elementwise gradient summed (in f64) over
 * every axis that input was broadcast along. add: dy, dy; sub: dy, −dy; mul: dy·b, dy·a;
 * div: dy/b, −(dy/b)·(a/b).
 */
export function arithmeticBackward(op: ArithmeticOp, dy: Tensor, a: Tensor, b: Tensor): ArithmeticGrads {
  const name = 'arithmeticBackward';
  if (typeof op !== 'string' || !OPS.includes(op)) {
    throw new ArgumentError(`${name}: op must be one of ${OPS.join(', ')}, got ${typeof op === 'string' ? JSON.stringify(op) : String(op)}`);
  }
  const where = `${name}(${op})`;
  const g = expectTensor(where, 'dy', dy);
  const ta = expectTensor(where, 'a', a);
  const tb = expectTensor(where, 'b', b);
  const out = broadcastShape(where, ta.shape, tb.shape);
  if (!same(g.shape, out)) {
    throw new ShapeError(`${where}: dy must have the broadcast shape ${fmtShape(out)} of a ${fmtShape(ta.shape)} and b ${fmtShape(tb.shape)}, got dy ${fmtShape(g.shape)}`);
  }
  const owned: Tensor[] = [];
  const temp = (): Tensor => {
    const t = empty(out);
    owned.push(t);
    return t;
  };
  let da: Tensor | null = null;
  let db: Tensor | null = null;
  try {
    if (op === 'add' || op === 'sub') {
      da = reduceTo(g, ta.shape, 1);
      db = reduceTo(g, tb.shape, op === 'sub' ? -1 : 1);
    } else if (op === 'mul') {
      da = reduceTo(runInto(temp(), 'mul', g, tb), ta.shape, 1);
      db = reduceTo(runInto(temp(), 'mul', g, ta), tb.shape, 1);
    } else {
      const t = runInto(temp(), 'div', g, tb); // dy/b
      da = reduceTo(t, ta.shape, 1);
      const q = runInto(temp(), 'div', ta, tb); // a/b
      db = reduceTo(runInto(temp(), 'mul', t, q), tb.shape, -1);
    }
  } catch (e) {
    da?.dispose();
    db?.dispose();
    throw e;
  } finally {
    for (const t of owned) t.dispose();
  }
  return { da, db };
}

// ---- plans and helpers ----

function binary(op: ArithmeticOp, a: Tensor, b: Tensor): Tensor {
  const ta = expectTensor(op, 'a', a);
  const tb = expectTensor(op, 'b', b);
  const out = broadcastShape(op, ta.shape, tb.shape);
  const y = empty(out);
  try {
    return runInto(y, op, ta, tb);
  } catch (e) {
    y.dispose();
    throw e;
  }
}

/** A coalesced broadcast: dims of the output, element strides of each operand (0 where broadcast). */
export interface Plan { dims: number[]; sa: number[]; sb: number[] }

/**
 * Merge adjacent output axes where (a full?, b full?) agree; drop size-1 output axes. The strides
 * of an operand's full axes are the products of its full dims further in (its size-1 axes hold no data).
 */
function plan(out: readonly number[], a: readonly number[], b: readonly number[]): Plan {
  const r = out.length;
  const at = (s: readonly number[], i: number) => (i - (r - s.length) >= 0 ? s[i - (r - s.length)] : 1);
  const dims: number[] = [], fa: boolean[] = [], fb: boolean[] = [];
  for (let i = 0; i < r; i++) {
    if (out[i] === 1) continue;
    const pa = at(a, i) === out[i], pb = at(b, i) === out[i];
    const k = dims.length - 1;
    if (k >= 0 && fa[k] === pa && fb[k] === pb) dims[k] *= out[i];
    else { dims.push(out[i]); fa.push(pa); fb.push(pb); }
  }
  if (dims.length === 0) { dims.push(1); fa.push(true); fb.push(true); }
  const strides = (full: boolean[]) => {
    const s = new Array<number>(dims.length);
    let run = 1;
    for (let i = dims.length - 1; i >= 0; i--) {
      s[i] = full[i] ? run : 0;
      if (full[i]) run *= dims[i];
    }
    return s;
  };
  return { dims, sa: strides(fa), sb: strides(fb) };
}

/**
 * The kernel's view of y = a op b: the coalesced plan, with the operands swapped (and the op to be
 * reversed) when a is the broadcast one on the innermost axis. @internal (exported for tests)
 */
export function binaryPlan(out: readonly number[], a: readonly number[], b: readonly number[]): Plan & { swapped: boolean } {
  const p = plan(out, a, b);
  const last = p.dims.length - 1;
  return p.sa[last] === 0 ? { dims: p.dims, sa: p.sb, sb: p.sa, swapped: true } : { ...p, swapped: false };
}

/** y (of the broadcast shape) = a op b; returns y. */
function runInto(y: Tensor, op: ArithmeticOp, a: Tensor, b: Tensor): Tensor {
  if (y.size === 0) return y;
  const p = binaryPlan(y.shape, a.shape, b.shape);
  const code = p.swapped ? REVERSED[CODE[op]] : CODE[op];
  const [pa, pb] = p.swapped ? [b.ptr, a.ptr] : [a.ptr, b.ptr];
  // Tiles (a memory-bound pass: splits from MIN_PARALLEL_WORK elements): ranges of 64-float blocks
  // of a one-axis plan, else ranges of the outermost coalesced axis; each tile gets its own dims
  // (the first one shortened) and offset operands. Elementwise: any split gives the same bits.
  const rank = p.dims.length, rows = p.dims[0], inner = y.size / rows;
  const tiles = rank === 1 ? split(rows, y.size, 64) : split(rows, y.size, 1);
  const heap = rt().heap;
  const triple = 4 * 3 * MAX_RANK;
  const scratch = heap.alloc(triple * tiles.length);
  try {
    const i32 = heap.i32();
    const calls: Call[] = tiles.map(([b, e], i) => {
      const at = scratch + i * triple, base = at >>> 2;
      i32.set(p.dims, base);
      i32[base] = e - b;
      i32.set(p.sa, base + MAX_RANK);
      i32.set(p.sb, base + 2 * MAX_RANK);
      return {
        kernel: 'arith_f32',
        args: [code, pa + 4 * b * p.sa[0], pb + 4 * b * p.sb[0], y.ptr + 4 * b * inner, rank, at, at + 4 * MAX_RANK, at + 8 * MAX_RANK],
      };
    });
    runCalls(calls);
  } finally {
    heap.free(scratch);
  }
  return y;
}

/**
 * A new tensor of `shape` = scale · (g summed over the axes where shape is broadcast to g's shape),
 * accumulated in f64. A copy (times scale) when nothing is summed.
 */
function reduceTo(g: Tensor, shape: readonly number[], scale: 1 | -1): Tensor {
  const heap = rt().heap;
  const y = empty(shape);
  let acc = 0, scratch = 0;
  try {
    if (y.size === 0) return y;
    acc = heap.alloc(8 * y.size);
    new Float64Array(heap.memory.buffer, acc, y.size).fill(0);
    if (g.size > 0) {
      const p = plan(g.shape, shape, g.shape);
      scratch = heap.alloc(4 * 2 * MAX_RANK);
      const i32 = heap.i32(), base = scratch >>> 2;
      i32.set(p.dims, base);
      i32.set(p.sa, base + MAX_RANK);
      rt().kernels.arith_f32_backward(g.ptr, acc, p.dims.length, scratch, scratch + 4 * MAX_RANK);
    }
    rt().kernels.f64_to_f32(acc, y.ptr, y.size, scale);
  } catch (e) {
    y.dispose();
    throw e;
  } finally {
    if (acc) heap.free(acc);
    if (scratch) heap.free(scratch);
  }
  return y;
}

function same(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
