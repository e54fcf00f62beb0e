// Training benchmark: one LeNet-5 training step (forward, loss, backward, Adam update) on a batch
// of 64 28×28 images, with benchmark.js. Prints cold (first step) and median ms, images/s and the
// FLOP rate, and writes bench/results/train.json. Run: npm run bench:train
import Benchmark from 'benchmark';
import { mkdirSync, writeFileSync } from 'node:fs';
import { init, tensor, sequential, layers, backend } from '../dist/index.js';

const batch = 64;
const quick = process.argv.includes('--quick');
const b = await init(process.argv.includes('--scalar') ? { backend: 'scalar' } : {});

function lenet() {
  return sequential({
    inputShape: [28, 28, 1],
    layers: [
      layers.conv2d({ filters: 6, kernelSize: 5, padding: 'same', activation: 'relu' }),
      layers.maxPool2d({ size: 2 }),
      layers.conv2d({ filters: 16, kernelSize: 5, activation: 'relu' }),
      layers.maxPool2d({ size: 2 }),
      layers.flatten(),
      layers.dense({ units: 120, activation: 'relu' }),
      layers.dense({ units: 84, activation: 'relu' }),
      layers.dense({ units: 10 }),
    ],
  });
}

// Forward multiply-adds ×2, backward ≈ 2× forward (input and filter gradients; the first layer
// computes no input gradient): the usual ≈ 3× forward estimate.
const forwardFlops = 2 * (28 * 28 * 6 * 25 + 10 * 10 * 16 * 150 + 400 * 120 + 120 * 84 + 84 * 10);
const stepFlops = batch * (3 * forwardFlops - 2 * 28 * 28 * 6 * 25);

const model = lenet();
model.compile({ optimizer: 'adam', loss: 'softmaxCrossEntropy' });
let s = 7;
const x = tensor(Float32Array.from({ length: batch * 784 }, () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32)), [batch, 28, 28, 1]);
const y = tensor(Int32Array.from({ length: batch }, (_, i) => i % 10), [batch], 'int32');
const t0 = performance.now();
model.trainStep(x, y);
const cold = performance.now() - t0;
const samples = [];
await new Promise((resolve) => {
  new Benchmark('lenet5 step', () => model.trainStep(x, y), {
    minSamples: quick ? 10 : 40, maxTime: quick ? 1 : 5,
    onComplete(e) { samples.push(...e.target.stats.sample); resolve(); },
  }).run();
});
samples.sort((p, q) => p - q);
const median = samples[samples.length >> 1] * 1e3;
const row = { backend: backend(), batch, coldMs: cold, medianMs: median, imagesPerSecond: batch / (median / 1e3), gflops: stepFlops / (median * 1e6) };
console.log(`LeNet-5 training step, batch ${batch}, ${b} build: cold ${cold.toFixed(1)} ms, median ${median.toFixed(2)} ms, ${Math.round(row.imagesPerSecond)} images/s, ${row.gflops.toFixed(1)} GFLOP/s`);
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/train.json', JSON.stringify({ date: new Date().toISOString(), node: process.version, ...row }, null, 2));
