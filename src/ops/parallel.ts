import { rt, type Kernels } from '../runtime/wasm.js';
import type { Call } from '../runtime/pool.js';
import { MAX_TILES } from '../runtime/pool.js';

// How ops use the thread pool (XNNPACK's rule: the op decides the tiling, the pool only hands out
// ranges, kernels never know about threads). An op splits its rows into tiles with `split` and
// builds one kernel call per tile. Tiles split only *independent* rows (output rows of a GEMM,
// output channels of a filter gradient, elements of an elementwise pass), at multiples of the
// kernel's register tile / vector width, so every output is computed by the same instructions in
// the same order whatever the split: results are bit-identical to one thread. A reduction (a
// filter gradient's or bias gradient's sum over pixels) is split only into ranges fixed by the
// shape, never by the thread count, whose partial sums are then added in range order (also on one
// thread), so it too gives the same bits on any thread count.

/**
 * Below this much work an op stays on the calling thread (README "Threads": on the 2-vCPU VM a
 * dense of 131k multiply-adds ran 0.82× with 2 threads, 524k ran 1.53×). Work is counted in
 * multiply-adds, and an element of an elementwise pass counts 1: memory-bound passes (relu: 0.86× at
 * 1M elements with 2 threads there) only split from 256k elements.
 */
export const MIN_PARALLEL_WORK = 1 << 18;
/**
 * Work per tile (multiply-adds): about 40 µs of a GEMM, so claiming and calling (≈ 1 µs) is noise;
 * ops with less work per thread get smaller tiles (at least 4 per thread) to balance.
 */
const TILE_WORK = 1 << 20;

export type KernelName = { [K in keyof Kernels]: Kernels[K] extends (...a: never[]) => unknown ? K : never }[keyof Kernels] & string;

/** Threads available to ops (1 without a pool). */
export function poolThreads(): number {
  return rt().pool?.threads ?? 1;
}

/**
 * Ranges [begin, end) covering [0, total): one range when there is no pool or the work is small,
 * else tiles of about TILE_WORK (`work` is the whole op's), each a multiple of `align` rows.
 */
export function split(total: number, work: number, align: number): Array<[number, number]> {
  if (total <= 0) return [];
  // In a batch the threshold is the batch's; an op in it is still one tile below 1/16 of it.
  if (poolThreads() === 1 || work < (pending ? MIN_PARALLEL_WORK >> 4 : MIN_PARALLEL_WORK) || total <= align) return [[0, total]];
  let rows = Math.ceil((total * TILE_WORK) / work);
  rows = Math.max(align, Math.ceil(rows / align) * align);
  // Enough tiles for every thread, no more than the pool's table holds.
  const want = Math.ceil(total / (poolThreads() * 4 * align)) * align;
  rows = Math.min(rows, Math.max(align, want));
  rows = Math.max(rows, Math.ceil(total / MAX_TILES / align) * align);
  const out: Array<[number, number]> = [];
  for (let b = 0; b < total; b += rows) out.push([b, Math.min(total, b + rows)]);
  return out;
}

/** Tiles collected by `batched` (null: not batching). */
let pending: Call[] | null = null;

/**
 * Run `f`, collecting the tiles of every parallelRows / parallelElements call it makes (split from
 * 1/16 of MIN_PARALLEL_WORK) into one pool run at the end (one hand-off instead of one per call:
 * e.g. an optimizer's update of every parameter). The calls must be independent (they run in any
 * order, at once): `f` may not make an op whose second run reads its first one's results (a
 * reduction and the sum of its partials, a transpose then a GEMM on it), nor read results itself.
 * `work` (the whole batch's) below MIN_PARALLEL_WORK runs here, on one thread.
 */
export function batched(work: number, f: () => void): void {
  if (pending || poolThreads() === 1 || work < MIN_PARALLEL_WORK) { f(); return; }
  const calls: Call[] = pending = [];
  try {
    f();
  } finally {
    pending = null;
  }
  for (let i = 0; i < calls.length; i += MAX_TILES) runCalls(calls.slice(i, i + MAX_TILES));
}

/** Run calls (tiles) on the pool, or one after another here without one. */
export function runCalls(calls: readonly Call[]): void {
  if (pending) { pending.push(...calls); return; }
  const pool = rt().pool;
  if (pool && calls.length > 1) { pool.run(calls); return; }
  const k = rt().kernels as unknown as Record<string, (...a: number[]) => unknown>;
  for (const c of calls) k[c.kernel](...c.args);
}

/** One kernel over row tiles: `args(begin, end)` gives the call's arguments for rows [begin, end). */
export function parallelRows(kernel: KernelName, total: number, work: number, align: number, args: (begin: number, end: number) => number[]): void {
  runCalls(split(total, work, align).map(([b, e]) => ({ kernel, args: args(b, e) })));
}

/**
 * An elementwise pass over n floats: tiles of whole 64-float blocks (any kernel's vector unroll).
 * `cost`: work per element (1: a memory-bound pass such as relu; compute-bound ones, an exp per
 * element, count more so they split from fewer elements).
 */
export function parallelElements(kernel: KernelName, n: number, args: (offsetBytes: number, count: number) => number[], cost = 1): void {
  parallelRows(kernel, n, n * cost, 64, (b, e) => args(b * 4, e - b));
}
