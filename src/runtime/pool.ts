// The thread pool (XNNPACK's pthreadpool, in JavaScript): workers that each instantiate the same
// shared-memory kernel module on the same WebAssembly.Memory and run *calls* the calling thread
// posts. An op splits its work into tiles — one kernel call over a range of rows each — and the
// pool only hands the tiles out; it knows nothing of what they compute. Workers never allocate:
// the host's allocator (memory.ts), on the calling thread, stays the only owner of memory, and
// memory only grows between pool runs, on the calling thread. Workers hold no typed-array view of
// the wasm memory (they only pass numbers to kernels), so a grow needs no refresh there.
//
// Control block (a separate SharedArrayBuffer): an Int32 header and a Float64 table of calls.
//   GEN    generation, bumped once per run (workers sleep on it with Atomics.wait)
//   NEXT   (generation tag << 12) | next unclaimed tile; claimed with compareExchange, so a worker
//          still busy with an older generation can never claim a tile of a newer one
//   COUNT  tiles in this run; DONE tiles finished (the one that completes the run notifies)
//   STOP   1: exit; ERROR: first failure's tile + 1
// Call table: per tile STRIDE float64: [kernel index, argument count, thread-scratch mask,
// thread-scratch stride, arguments…]; arguments whose bit is set in the mask get
// `thread index × stride` added (per-thread scratch, e.g. im2col buffers; the caller is thread 0).
//
// Waiting: an idle worker spins for SPIN_MS, then sleeps in Atomics.wait on GEN. The calling
// thread runs tiles too, then waits for tiles still running in workers with Atomics.wait; where
// that is forbidden (a browser's main thread) it spins on Atomics.load — a bounded wait, since
// every tile not yet claimed is run by the caller itself, so it only waits for tiles that workers
// are already computing.

import type { Kernels } from './wasm.js';
import { importNode } from './node.js';

const GEN = 0, NEXT = 1, COUNT = 2, DONE = 3, STOP = 4, ERROR = 5;
const HEADER_BYTES = 64;
/**
 * How long an idle worker spins before it sleeps in Atomics.wait (ms). Waking a sleeping thread
 * costs tens of µs on a VM (a futex wake and an inter-processor interrupt), and the ops of a
 * training step or a forward pass come tens of µs apart: with a 4,000-load spin (a few µs) the
 * worker slept between most of them and LeNet-5's step ran ×1.38 on 2 threads; spinning ≥ 0.3 ms
 * gave ×1.50 (0.3, 1, 3 and 10 ms the same within noise). pthreadpool spins likewise.
 */
const SPIN_MS = 1;
const IDX_BITS = 12;
/** Most tiles one run may have. */
export const MAX_TILES = 1 << IDX_BITS;
const TAG_MASK = (1 << (31 - IDX_BITS)) - 1;
/** Float64 slots per tile. */
const STRIDE = 32;
const MAX_ARGS = STRIDE - 4;

/** The worker's program (the same text runs in Node's worker_threads and in Web Workers). */
const WORKER_SOURCE = `
const SPIN_MS = ${SPIN_MS}, GEN = 0, NEXT = 1, COUNT = 2, DONE = 3, STOP = 4, ERROR = 5, IDX_BITS = ${IDX_BITS}, TAG_MASK = ${TAG_MASK}, STRIDE = ${STRIDE}, HEADER_BYTES = ${HEADER_BYTES};
const nodePort = typeof require === 'function' ? require('worker_threads').parentPort : null;
const post = (m) => nodePort ? nodePort.postMessage(m) : self.postMessage(m);
const onMessage = async (msg) => {
  let fns, ctl, desc, index;
  try {
    const module = msg.module || await WebAssembly.compile(msg.bytes);
    const instance = await WebAssembly.instantiate(module, { env: { memory: msg.memory } });
    fns = msg.names.map((n) => instance.exports[n]);
    ctl = new Int32Array(msg.control, 0, HEADER_BYTES / 4);
    desc = new Float64Array(msg.control, HEADER_BYTES);
    index = msg.index;
  } catch (e) {
    post({ error: String(e && e.message || e) });
    return;
  }
  post({ ready: true });
  setTimeout(() => loop(fns, ctl, desc, index), 0);
};
if (nodePort) nodePort.once('message', onMessage); else self.onmessage = (e) => { self.onmessage = null; onMessage(e.data); };
function loop(fns, ctl, desc, index) {
  let seen = Atomics.load(ctl, GEN);
  for (;;) {
    let g = Atomics.load(ctl, GEN);
    if (g === seen) {
      const until = performance.now() + SPIN_MS;
      do {
        for (let s = 0; s < 256 && g === seen; s++) g = Atomics.load(ctl, GEN);
      } while (g === seen && performance.now() < until);
    }
    if (g === seen) { Atomics.wait(ctl, GEN, seen); continue; }
    seen = g;
    if (Atomics.load(ctl, STOP)) return;
    const tag = g & TAG_MASK;
    for (;;) {
      const cur = Atomics.load(ctl, NEXT);
      if ((cur >>> IDX_BITS) !== tag) break;
      const i = cur & ((1 << IDX_BITS) - 1);
      const n = Atomics.load(ctl, COUNT);
      if (i >= n) break;
      if (Atomics.compareExchange(ctl, NEXT, cur, cur + 1) !== cur) continue;
      const b = i * STRIDE, argc = desc[b + 1], mask = desc[b + 2], extra = index * desc[b + 3];
      const args = new Array(argc);
      for (let a = 0; a < argc; a++) args[a] = desc[b + 4 + a] + ((mask >> a) & 1 ? extra : 0);
      try { fns[desc[b]].apply(null, args); } catch (e) { Atomics.compareExchange(ctl, ERROR, 0, i + 1); }
      if (Atomics.add(ctl, DONE, 1) + 1 === n) Atomics.notify(ctl, DONE);
    }
  }
}
`;

/** One tile: a kernel call. `scratch` lists argument positions that get `thread × scratchStride` added. */
export interface Call {
  kernel: string;
  args: number[];
  scratch?: readonly number[];
  scratchStride?: number;
}

interface AnyWorker { terminate(): unknown }

export class Pool {
  private readonly ctl: Int32Array;
  private readonly desc: Float64Array;
  private readonly index = new Map<string, number>();
  private gen = 0;
  private stopped = false;

  private constructor(
    readonly threads: number, private readonly kernels: Kernels, private readonly names: string[],
    control: SharedArrayBuffer, private readonly workers: AnyWorker[], private readonly canWait: boolean,
  ) {
    this.ctl = new Int32Array(control, 0, HEADER_BYTES / 4);
    this.desc = new Float64Array(control, HEADER_BYTES);
    names.forEach((n, i) => this.index.set(n, i));
  }

  /**
   * Start `threads − 1` workers on `memory` running `module` (bytes are sent where a compiled
   * module cannot be posted). Resolves once every worker has instantiated the module.
   */
  static async create(threads: number, kernels: Kernels, module: WebAssembly.Module, bytes: Uint8Array, memory: WebAssembly.Memory): Promise<Pool> {
    const names = Object.keys(kernels).filter((k) => typeof (kernels as unknown as Record<string, unknown>)[k] === 'function');
    const control = new SharedArrayBuffer(HEADER_BYTES + MAX_TILES * STRIDE * 8);
    const workers: AnyWorker[] = [];
    try {
      const spawn = await spawner();
      await Promise.all(Array.from({ length: threads - 1 }, async (_, i) => {
        const msg = { module, bytes: null as Uint8Array | null, memory, control, names, index: i + 1 };
        let w!: Spawned;
        const ready = new Promise<void>((resolve, reject) => {
          w = spawn((m) => (m.ready ? resolve() : reject(new Error(`a worker could not start: ${m.error}`))));
        });
        workers.push(w);
        try {
          w.post(msg);
        } catch {
          // Compiled modules cannot be posted here (e.g. Deno): the worker compiles the bytes.
          w.post({ ...msg, module: null, bytes });
        }
        // A worker that never reports (blocked script, a runtime that drops the message) fails init
        // into the one-thread fallback instead of hanging it.
        let timer: ReturnType<typeof setTimeout> | undefined;
        const late = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error('a worker did not start within 20 s')), 20_000); });
        try {
          await Promise.race([ready, late]);
        } finally {
          clearTimeout(timer);
        }
      }));
    } catch (e) {
      for (const w of workers) w.terminate();
      throw e;
    }
    return new Pool(threads, kernels, names, control, workers, canBlock());
  }

  /** Run every call once, split among the calling thread and the workers; returns when all are done. */
  run(calls: readonly Call[]): void {
    const n = calls.length;
    if (n === 0) return;
    if (n > MAX_TILES) throw new Error(`simdcnn internal error: ${n} tiles in one pool run (at most ${MAX_TILES})`);
    if (n === 1 || this.stopped) { for (const c of calls) this.callHere(c, 0); return; }
    const { ctl, desc } = this;
    for (let i = 0; i < n; i++) {
      const c = calls[i], b = i * STRIDE;
      const k = this.index.get(c.kernel);
      if (k === undefined || c.args.length > MAX_ARGS) throw new Error(`simdcnn internal error: bad pool call ${c.kernel}`);
      let mask = 0;
      for (const a of c.scratch ?? []) mask |= 1 << a;
      desc[b] = k; desc[b + 1] = c.args.length; desc[b + 2] = mask; desc[b + 3] = c.scratchStride ?? 0;
      for (let a = 0; a < c.args.length; a++) desc[b + 4 + a] = c.args[a];
    }
    this.gen = (this.gen + 1) | 0;
    Atomics.store(ctl, DONE, 0);
    Atomics.store(ctl, ERROR, 0);
    Atomics.store(ctl, COUNT, n);
    Atomics.store(ctl, NEXT, (this.gen & TAG_MASK) << IDX_BITS);
    Atomics.store(ctl, GEN, this.gen);
    Atomics.notify(ctl, GEN);
    const tag = this.gen & TAG_MASK;
    // The caller's share: claim tiles like any worker.
    for (;;) {
      const cur = Atomics.load(ctl, NEXT);
      if (cur >>> IDX_BITS !== tag) break;
      const i = cur & (MAX_TILES - 1);
      if (i >= n) break;
      if (Atomics.compareExchange(ctl, NEXT, cur, cur + 1) !== cur) continue;
      try {
        this.callHere(calls[i], 0);
      } catch {
        Atomics.compareExchange(ctl, ERROR, 0, i + 1);
      }
      Atomics.add(ctl, DONE, 1);
    }
    // Wait for the tiles still running in workers.
    let d = Atomics.load(ctl, DONE);
    for (let s = 0; d < n && s < 20000; s++) d = Atomics.load(ctl, DONE);
    while (d < n) {
      if (this.canWait) Atomics.wait(ctl, DONE, d, 1000);
      d = Atomics.load(ctl, DONE);
    }
    const err = Atomics.load(ctl, ERROR);
    if (err) throw new Error(`simdcnn internal error: kernel ${calls[err - 1].kernel} failed in a pool run`);
  }

  private callHere(c: Call, thread: number): void {
    const args = c.args.slice();
    for (const a of c.scratch ?? []) args[a] += thread * (c.scratchStride ?? 0);
    ((this.kernels as unknown as Record<string, (...a: number[]) => unknown>)[c.kernel])(...args);
  }

  /** Stop and terminate the workers (the pool then runs everything on the calling thread). */
  terminate(): void {
    if (this.stopped) return;
    this.stopped = true;
    Atomics.store(this.ctl, STOP, 1);
    Atomics.add(this.ctl, GEN, 1);
    Atomics.notify(this.ctl, GEN);
    for (const w of this.workers) w.terminate();
  }
}

interface Spawned extends AnyWorker { post(msg: unknown): void }
type Spawner = (onMessage: (m: { ready?: boolean; error?: string }) => void) => Spawned;

/**
 * How to start a worker here: node:worker_threads in Node and Deno (unref'd once started, so an
 * idle pool never keeps the process alive — Deno's Web Workers cannot be unref'd), else a module
 * Web Worker from a Blob URL of WORKER_SOURCE (browsers; no file is fetched).
 */
async function spawner(): Promise<Spawner> {
  const g = globalThis as { process?: { versions?: { node?: string } }; Deno?: unknown; Worker?: unknown };
  if (g.process?.versions?.node || g.Deno !== undefined) {
    let wt: {
      Worker: new (src: string, o: { eval: boolean }) => {
        postMessage(m: unknown): void; on(e: string, f: (m: unknown) => void): void; unref(): void; terminate(): unknown;
      };
    } | null = null;
    try { wt = await importNode('worker_threads'); } catch { wt = null; }
    if (typeof wt?.Worker === 'function') {
      const { Worker } = wt!;
      return (onMessage) => {
        const w = new Worker(WORKER_SOURCE, { eval: true });
        // Referenced until it reports (so an `await init()` keeps the process alive), then unref'd.
        w.on('message', (m) => { w.unref(); onMessage(m as { ready?: boolean; error?: string }); });
        w.on('error', (e) => { w.unref(); onMessage({ error: (e as Error).message }); });
        return { post: (m) => w.postMessage(m), terminate: () => w.terminate() };
      };
    }
  }
  if (typeof g.Worker !== 'function') throw new Error('this runtime cannot start workers (no Worker constructor, no node:worker_threads; e.g. Cloudflare Workers)');
  const url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: 'text/javascript' }));
  const WorkerCtor = g.Worker as new (url: string, o: { type: 'module' }) => {
    postMessage(m: unknown): void; terminate(): void; onmessage: ((e: { data: unknown }) => void) | null;
    onerror: ((e: { message?: string }) => void) | null;
  };
  return (onMessage) => {
    const w = new WorkerCtor(url, { type: 'module' });
    w.onmessage = (e) => onMessage(e.data as { ready?: boolean; error?: string });
    w.onerror = (e) => onMessage({ error: e.message ?? 'worker error' });
    return { post: (m) => w.postMessage(m), terminate: () => w.terminate() };
  };
}

/** Why workers cannot be started here, or '' if they can (checked before anything is compiled). */
export async function workerSupport(): Promise<string> {
  // workerd (Cloudflare Workers) has a node:worker_threads stub but no threads.
  const nav = (globalThis as { navigator?: { userAgent?: string } }).navigator;
  if (nav?.userAgent === 'Cloudflare-Workers') return 'this runtime cannot start workers (Cloudflare Workers has no threads)';
  try {
    await spawner();
    return '';
  } catch (e) {
    return (e as Error).message;
  }
}

/** Whether this thread may block in Atomics.wait (a browser's main thread may not). */
function canBlock(): boolean {
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
    return true;
  } catch {
    return false;
  }
}
