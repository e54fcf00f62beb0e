import { onReset, rt } from '../runtime/wasm.js';
import type { Tensor } from '../tensor.js';

// Two caches of derived data in linear memory, both freed deterministically:
// - per weight tensor (packed weights): freed when that tensor is disposed, refilled when the
//   tensor (or the bias packed with it) changes version (optimizers update weights in place);
// - per geometry (indirection buffers): a small LRU, bounded in entries and bytes.

interface Entry { ptr: number; bytes: number; stamp: string }

const perTensor = new WeakMap<Tensor, Map<string, Entry>>();

/**
 * A block of `bytes` derived from `owner`, filled by `fill(ptr)` the first time and again whenever
 * `stamp` changes. Returns its address.
 */
export function derived(owner: Tensor, key: string, stamp: string, bytes: number, fill: (ptr: number) => void): number {
  let map = perTensor.get(owner);
  if (!map) {
    map = new Map();
    perTensor.set(owner, map);
    const m = map;
    owner.onDispose(() => {
      for (const e of m.values()) rt().heap.free(e.ptr);
      m.clear();
    });
  }
  let e = map.get(key);
  if (e && e.stamp === stamp) return e.ptr;
  if (e && e.bytes !== bytes) {
    rt().heap.free(e.ptr);
    e = undefined;
  }
  if (!e) {
    e = { ptr: rt().heap.alloc(bytes), bytes, stamp };
    map.set(key, e);
  }
  e.stamp = stamp;
  fill(e.ptr);
  return e.ptr;
}

// Entries: well above the distinct geometries of one network (GoogLeNet 48, EfficientNet-B0 36 at
// 224×224 — with 32, every predict rebuilt about 50 of them); bytes bound the memory.
const LRU_ENTRIES = 256;
const LRU_BYTES = 64 << 20;
const lru = new Map<string, Entry>();
let lruBytes = 0;

/** A block keyed by `key` (a geometry), built by `fill(ptr)` on a miss. Evicts least recently used. */
export function planned(key: string, bytes: number, fill: (ptr: number) => void): number {
  const hit = lru.get(key);
  if (hit) {
    lru.delete(key);
    lru.set(key, hit);
    return hit.ptr;
  }
  while (lru.size && (lru.size >= LRU_ENTRIES || lruBytes + bytes > LRU_BYTES)) {
    const [oldKey, old] = lru.entries().next().value as [string, Entry];
    lru.delete(oldKey);
    lruBytes -= old.bytes;
    rt().heap.free(old.ptr);
  }
  const ptr = rt().heap.alloc(bytes);
  fill(ptr);
  lru.set(key, { ptr, bytes, stamp: '' });
  lruBytes += bytes;
  return ptr;
}

let zero = { ptr: 0, floats: 0 };

/** A read-only row of at least `floats` zeros (padding taps read it). */
export function zeroRow(floats: number): number {
  if (zero.floats < floats) {
    if (zero.ptr) rt().heap.free(zero.ptr);
    const n = Math.max(floats, 64);
    zero = { ptr: rt().heap.alloc(n * 4), floats: n };
    rt().kernels.fill_f32(zero.ptr, n, 0);
  }
  return zero.ptr;
}

onReset(() => {
  lru.clear();
  lruBytes = 0;
  zero = { ptr: 0, floats: 0 };
});

const scratchBlocks: Array<{ ptr: number; bytes: number }> = [];

/**
 * Working memory for one step of an op (e.g. Winograd's transformed tiles): block `slot` is kept
 * between calls and only reallocated when a call needs more, so hot paths do not allocate.
 * Valid until the next call that uses the same slot.
 */
export function scratch(slot: number, bytes: number): number {
  const b = scratchBlocks[slot];
  if (b && b.bytes >= bytes) return b.ptr;
  if (b) rt().heap.free(b.ptr);
  const grown = { ptr: rt().heap.alloc(bytes), bytes };
  scratchBlocks[slot] = grown;
  return grown.ptr;
}

onReset(() => {
  scratchBlocks.length = 0;
});
