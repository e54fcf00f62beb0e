import { OutOfMemoryError } from '../errors.js';

// The one owner of linear memory. Blocks are 16-byte aligned (v128). Freed blocks go to an
// address-ordered free list and are coalesced with their neighbours, so a long alloc/free loop
// reuses memory instead of growing it (wasm memory can never shrink). Typed-array views are
// re-created whenever a grow has detached the old buffer: never keep a view across a call that
// may allocate.

const ALIGN = 16;
const PAGE = 65536;
const MAX_BYTES = 65536 * PAGE; // wasm32: 4 GiB

interface FreeBlock { ptr: number; size: number }

export class Allocator {
  private top: number;
  private readonly freeList: FreeBlock[] = [];
  private readonly sizes = new Map<number, number>();
  private inUse = 0;
  private f32view = new Float32Array(0);
  private i32view = new Int32Array(0);
  private u8view = new Uint8Array(0);

  /**
   * `maxBytes`: the memory's maximum (wasm32's 4 GiB; the shared memory of threads has 1 GiB) and
   * `limit`, the words an OutOfMemoryError uses for it.
   */
  constructor(readonly memory: WebAssembly.Memory, heapBase: number, private readonly maxBytes = MAX_BYTES, private readonly limit = 'more than wasm32 can address') {
    // Address 0 is never handed out, so 0 can mean "no block" (e.g. no bias).
    this.top = Math.max(align(heapBase), ALIGN);
  }

  /** Bytes in live blocks. */
  get bytesInUse(): number { return this.inUse; }
  /** Bytes of linear memory (never shrinks). */
  get bytesReserved(): number { return this.memory.buffer.byteLength; }
  /** Live blocks. */
  get blocks(): number { return this.sizes.size; }

  /**
   * The op now running, named in an OutOfMemoryError: set by every op as it validates its
   * tensors (Tensor#check) and by the tensor constructors.
   */
  op = '';

  alloc(bytes: number): number {
    const size = Math.max(align(bytes), ALIGN);
    if (!Number.isFinite(size) || size > this.maxBytes) throw new OutOfMemoryError(bytes, this.inUse, ` (${this.limit})`, this.op);
    // Best fit among freed blocks.
    let best = -1;
    for (let i = 0; i < this.freeList.length; i++) {
      const b = this.freeList[i];
      if (b.size >= size && (best < 0 || b.size < this.freeList[best].size)) {
        best = i;
        if (b.size === size) break;
      }
    }
    let ptr: number;
    if (best >= 0) {
      const b = this.freeList[best];
      ptr = b.ptr;
      if (b.size === size) this.freeList.splice(best, 1);
      else { b.ptr += size; b.size -= size; }
    } else {
      ptr = this.top;
      this.ensure(ptr + size, bytes);
      this.top = ptr + size;
    }
    this.sizes.set(ptr, size);
    this.inUse += size;
    return ptr;
  }

  free(ptr: number): void {
    const size = this.sizes.get(ptr);
    if (size === undefined) throw new Error(`simdcnn internal error: free of unknown block ${ptr}`);
    this.sizes.delete(ptr);
    this.inUse -= size;
    // Insert in address order, then merge with the neighbours.
    const list = this.freeList;
    let lo = 0, hi = list.length;
    while (lo < hi) { const mid = (lo + hi) >> 1; if (list[mid].ptr < ptr) lo = mid + 1; else hi = mid; }
    let block: FreeBlock = { ptr, size };
    list.splice(lo, 0, block);
    if (lo + 1 < list.length && block.ptr + block.size === list[lo + 1].ptr) {
      block.size += list[lo + 1].size;
      list.splice(lo + 1, 1);
    }
    if (lo > 0 && list[lo - 1].ptr + list[lo - 1].size === block.ptr) {
      list[lo - 1].size += block.size;
      list.splice(lo, 1);
      block = list[lo - 1];
      lo--;
    }
    if (block.ptr + block.size === this.top) {
      this.top = block.ptr;
      list.splice(lo, 1);
    }
  }

  private ensure(end: number, requested: number): void {
    const have = this.memory.buffer.byteLength;
    if (end <= have) return;
    if (end > this.maxBytes) throw new OutOfMemoryError(requested, this.inUse, ` (${this.limit})`, this.op);
    const need = Math.ceil((end - have) / PAGE);
    // Grow by at least a quarter of what we have, to keep grows (and view refreshes) rare.
    const want = Math.min(Math.max(need, Math.ceil(have / PAGE / 4)), this.maxBytes / PAGE - have / PAGE);
    try {
      this.memory.grow(want);
    } catch {
      try {
        this.memory.grow(need);
      } catch (e) {
        throw new OutOfMemoryError(requested, this.inUse, ` (the engine refused to grow memory to ${end} bytes: ${(e as Error).message})`, this.op);
      }
    }
  }

  f32(): Float32Array {
    if (this.f32view.buffer !== this.memory.buffer) this.f32view = new Float32Array(this.memory.buffer);
    return this.f32view;
  }
  i32(): Int32Array {
    if (this.i32view.buffer !== this.memory.buffer) this.i32view = new Int32Array(this.memory.buffer);
    return this.i32view;
  }
  u8(): Uint8Array {
    if (this.u8view.buffer !== this.memory.buffer) this.u8view = new Uint8Array(this.memory.buffer);
    return this.u8view;
  }
}

function align(n: number): number {
  return Math.ceil(n / ALIGN) * ALIGN;
}
