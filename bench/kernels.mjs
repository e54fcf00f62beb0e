// Kernel benchmark: conv2d GFLOP/s per build (relaxed SIMD where the engine has it, SIMD, scalar)
// on the foundation shapes, with benchmark.js. Prints a table of cold (first call) time, median
// warm time and GFLOP/s, and the SIMD/scalar ratio, and writes it to bench/results/kernels.json.
// Run: npm run bench  (add --experimental-wasm-relaxed-simd to node for the relaxed build on Node 20)
import Benchmark from 'benchmark';
import { mkdirSync, writeFileSync } from 'node:fs';
import { init, tensor, conv2d, tidy } from '../dist/index.js';

const SHAPES = [
  { name: 'c1 28×28×1→6 5×5', x: [1, 28, 28, 1], w: [5, 5, 1, 6], opts: {} },
  { name: 'c4 56×56×64→64 3×3 same', x: [1, 56, 56, 64], w: [3, 3, 64, 64], opts: { padding: 'same' } },
  { name: 'c7 56×56×64→256 1×1', x: [1, 56, 56, 64], w: [1, 1, 64, 256], opts: {} },
  { name: 'c8 224×224×3→64 7×7/2', x: [1, 224, 224, 3], w: [7, 7, 3, 64], opts: { strides: 2, padding: 3 } },
];

const quick = process.argv.includes('--quick');
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
