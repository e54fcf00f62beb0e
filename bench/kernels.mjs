// Kernel benchmark: conv2d GFLOP/s per build (relaxed SIMD where the engine has it, SIMD, scalar)
// on the foundation shapes, with benchmark.js. Prints a table of cold (first call) time, median
// warm time and GFLOP/s, and the SIMD/scalar ratio, and writes it to bench/results/kernels.json.
// Run: npm run bench  (add --experimental-wasm-relaxed-simd to node for the relaxed build on Node 20)
import Benchmark from 'benchmark';
import { mkdirSync, writeFileSync } from 'node:fs';
import { init, tensor, conv2d, tidy, threads as threadsInUse, backend } from '../dist/index.js';
import { machineScaling } from './machine.mjs';

const SHAPES = [
  { name: 'c1 28×28×1→6 5×5', x: [1, 28, 28, 1], w: [5, 5, 1, 6], opts: {} },
  { name: 'c4 56×56×64→64 3×3 same', x: [1, 56, 56, 64], w: [3, 3, 64, 64], opts: { padding: 'same' } },
  { name: 'c7 56×56×64→256 1×1', x: [1, 56, 56, 64], w: [1, 1, 64, 256], opts: {} },
  { name: 'c8 224×224×3→64 7×7/2', x: [1, 224, 224, 3], w: [7, 7, 3, 64], opts: { strides: 2, padding: 3 } },
];

const quick = process.argv.includes('--quick');
// --threads 1,2: the layer suite (c1–c11) at each thread count, in alternating blocks in one process.
const threadsArg = process.argv.indexOf('--threads');
if (threadsArg > 0) {
  await threadBench(process.argv[threadsArg + 1].split(',').map(Number));
  process.exit(0);
}
const backends = process.argv.includes('--simd-only') ? ['simd'] : ['relaxed-simd', 'simd', 'scalar'];

// Fixed data only (any stream will do): the library's seededRandom is internal, not exported from
// dist/index.js, and the bench imports nothing but the public bundle.
function rand(n, seed) {
  const a = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) { s = (s * 1103515245 + 12345) >>> 0; a[i] = (s / 2 ** 32) * 2 - 1; }
  return a;
}

function flops(shape, y) {
  const [KH, KW, Cig] = shape.w;
  return 2 * y.size * KH * KW * Cig;
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

const rows = [];
for (const b of backends) {
  try {
    await init({ backend: b });
  } catch {
    console.log(`${b}: not available on this engine (Node 20 needs --experimental-wasm-relaxed-simd)`);
    continue;
  }
  for (const shape of SHAPES) {
    const x = tensor(rand(shape.x.reduce((p, q) => p * q), 1), shape.x);
    const w = tensor(rand(shape.w.reduce((p, q) => p * q), 2), shape.w);
    let t0 = performance.now();
    const y0 = conv2d(x, w, shape.opts);
    const cold = performance.now() - t0;
    const work = flops(shape, y0);
    y0.dispose();
    const samples = [];
    await new Promise((resolve) => {
      new Benchmark(shape.name, () => conv2d(x, w, shape.opts).dispose(), {
        minSamples: quick ? 5 : 20, maxTime: quick ? 0.5 : 2,
        onComplete(e) { samples.push(...e.target.stats.sample); resolve(); },
      }).run();
    });
    const med = median(samples) * 1e3;
    rows.push({ backend: b, shape: shape.name, coldMs: cold, medianMs: med, gflops: work / (med * 1e6) });
    x.dispose();
    w.dispose();
  }
}

const pad = (s, n) => String(s).padEnd(n);
console.log(`\n${pad('shape', 28)}${pad('build', 14)}${pad('cold ms', 10)}${pad('median ms', 11)}${pad('GFLOP/s', 9)}vs scalar`);
for (const r of rows) {
  const sc = rows.find((q) => q.shape === r.shape && q.backend === 'scalar');
  const ratio = sc ? `${(r.gflops / sc.gflops).toFixed(2)}×` : '';
  console.log(`${pad(r.shape, 28)}${pad(r.backend, 14)}${pad(r.coldMs.toFixed(2), 10)}${pad(r.medianMs.toFixed(3), 11)}${pad(r.gflops.toFixed(2), 9)}${ratio}`);
}
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/kernels.json', JSON.stringify({ date: new Date().toISOString(), node: process.version, rows }, null, 2));

/**
 * Thread scaling: per layer, blocks of timed calls alternating between the thread counts (the host
 * is shared and drifts: never compare figures from different runs), gc between blocks when
 * exposed. Prints the median ms per thread count and the speed-up over the first.
 */
async function threadBench(counts) {
  const suite = [
    ['c1', [1, 28, 28, 1], [5, 5, 1, 6], {}],
    ['c2', [1, 14, 14, 6], [5, 5, 6, 16], {}],
    ['c3', [1, 32, 32, 3], [3, 3, 3, 32], { padding: 'same' }],
    ['c4', [1, 56, 56, 64], [3, 3, 64, 64], { padding: 'same' }],
    ['c5', [1, 28, 28, 128], [3, 3, 128, 128], { padding: 'same' }],
    ['c6', [1, 14, 14, 256], [3, 3, 256, 256], { padding: 'same' }],
    ['c7', [1, 56, 56, 64], [1, 1, 64, 256], {}],
    ['c8', [1, 224, 224, 3], [7, 7, 3, 64], { strides: 2, padding: 3 }],
    ['c9', [1, 112, 112, 32], [3, 3, 1, 32], { padding: 'same', groups: 32 }],
    ['c10', [1, 56, 56, 64], [3, 3, 64, 64], { padding: 'same', dilations: 2 }],
    ['c11', [64, 28, 28, 1], [5, 5, 1, 6], {}],
  ];
  const blocks = quick ? 3 : 6;
  const out = [];
  const control0 = await machineScaling();
  console.log(`machine check: two pure-JS jobs on two threads ran ×${control0.toFixed(2)} the throughput of one (2.00 = a free second core)`);
  for (const [id, xs, ws, opts] of suite) {
    const times = new Map(counts.map((n) => [n, []]));
    for (let b = 0; b < blocks; b++) {
      for (const n of counts) {
        await init({ threads: n });
        const x = tensor(rand(xs.reduce((p, q) => p * q), 1), xs), w = tensor(rand(ws.reduce((p, q) => p * q), 2), ws);
        // Garbage collected, then warm up (V8 optimises wasm functions as they run, on background
        // threads that the timed threads compete with, and so does the sweeping after a full
        // collection; a fresh worker's JavaScript starts cold; and on the project's VM a fresh
        // pool runs 10–25% slower for its first 1–2 s: see README "Threads") for ≥ 1 s, then time
        // ≥ 100 ms of calls: one time per block.
        globalThis.gc?.();
        for (let i = 0, t = performance.now(); i < 5 || performance.now() - t < 1000; i++) conv2d(x, w, opts).dispose();
        let reps = 0;
        const t0 = performance.now();
        while (reps < 5 || performance.now() - t0 < 100) { conv2d(x, w, opts).dispose(); reps++; }
        times.get(n).push((performance.now() - t0) / reps);
      }
    }
    const med = counts.map((n) => median(times.get(n)));
    out.push({ id, ms: Object.fromEntries(counts.map((n, i) => [n, med[i]])) });
    console.log(`${id.padEnd(5)}${counts.map((n, i) => `${n} thr ${med[i].toFixed(3).padStart(8)} ms`).join('  ')}  ${counts.slice(1).map((n, i) => `×${(med[0] / med[i + 1]).toFixed(2)} at ${n}`).join(' ')}`);
  }
  const control1 = await machineScaling();
  console.log(`machine check at the end: ×${control1.toFixed(2)}`);
  console.log(`build ${backend()}, threads in use at the end ${threadsInUse()}, Node ${process.version}`);
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/threads.json', JSON.stringify({ date: new Date().toISOString(), node: process.version, counts, machineScaling: [control0, control1], rows: out }, null, 2));
}
