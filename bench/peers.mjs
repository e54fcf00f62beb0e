// Peer benchmark (issue 4): simdcnn against TensorFlow.js's wasm backend (XNNPACK inside) and ONNX
// Runtime Web (wasm, MLAS) on one suite of convolution, pooling and training cases, all three
// single-threaded with SIMD, in one process. Per case and library: one first (cold) call, a numeric
// check against simdcnn's output, then benchmark.js samples (ORT's async `run` in benchmark.js's
// deferred mode). Prints a table of median ms, GFLOP/s (GB/s for pooling), cold ms and the ratio
// simdcnn/best-peer; writes bench/results/peers-<date>.json and peers-latest.json.
// Run: npm run bench:peers   [-- --quick] [-- --only c4,p1]   (see bench/README.md)
import Benchmark from 'benchmark';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import os from 'node:os';
import * as sc from '../dist/index.js';
import * as tf from '@tensorflow/tfjs-core';
import { version_cpu } from '@tensorflow/tfjs-backend-cpu';
import { setWasmPaths, setThreadsCount, getThreadsCount, version_wasm } from '@tensorflow/tfjs-backend-wasm';
import * as ort from 'onnxruntime-web';
import * as esbuild from 'esbuild';
import { oneNodeModel } from './onnx.mjs';

// ---------------------------------------------------------------- options

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const onlyArg = argv.find((a) => a.startsWith('--only='))?.slice(7) ?? (argv.includes('--only') ? argv[argv.indexOf('--only') + 1] : null);
const only = onlyArg ? new Set(onlyArg.split(',').map((s) => s.trim()).filter(Boolean)) : null;
const partial = quick || only !== null;
const TIMING = quick ? { minSamples: 3, maxTime: 0.25 } : { minSamples: 12, maxTime: 2 }; // per library and case, all rounds together
const ROUNDS = quick ? 1 : 4;
const LIBS = ['simdcnn', 'tfjs', 'ort'];

// ---------------------------------------------------------------- the suite

/** A convolution case. padding: 'valid' | 'same' (TensorFlow's rule) | a number (all four sides). */
function conv(id, label, [N, H, W, Cin], [KH, KW, Cout], o = {}) {
  return { id, label, kind: 'conv', N, H, W, Cin, Cout, KH, KW, strides: o.strides ?? 1, dilations: o.dilations ?? 1, groups: o.groups ?? 1, padding: o.padding ?? 'valid' };
}
function pool(id, label, op, [N, H, W, C], size, strides, padding = 0) {
  return { id, label, kind: 'pool', op, N, H, W, C, size, strides, padding };
}

const SUITE = [
  conv('c1', '28×28×1→6 5×5 valid', [1, 28, 28, 1], [5, 5, 6]),
  conv('c2', '14×14×6→16 5×5 valid', [1, 14, 14, 6], [5, 5, 16]),
  conv('c3', '32×32×3→32 3×3 same', [1, 32, 32, 3], [3, 3, 32], { padding: 'same' }),
  conv('c4', '56×56×64→64 3×3 same', [1, 56, 56, 64], [3, 3, 64], { padding: 'same' }),
  conv('c5', '28×28×128→128 3×3 same', [1, 28, 28, 128], [3, 3, 128], { padding: 'same' }),
  conv('c6', '14×14×256→256 3×3 same', [1, 14, 14, 256], [3, 3, 256], { padding: 'same' }),
  conv('c7', '56×56×64→256 1×1', [1, 56, 56, 64], [1, 1, 256]),
  conv('c8', '224×224×3→64 7×7/2 pad 3', [1, 224, 224, 3], [7, 7, 64], { strides: 2, padding: 3 }),
  conv('c9', '112×112×32 dw 3×3 same', [1, 112, 112, 32], [3, 3, 32], { padding: 'same', groups: 32 }),
  conv('c10', '56×56×64→64 3×3 dil 2 same', [1, 56, 56, 64], [3, 3, 64], { padding: 'same', dilations: 2 }),
  conv('c11', '64× 28×28×1→6 5×5 valid', [64, 28, 28, 1], [5, 5, 6]),
  pool('p1', 'maxpool 2×2/2 112×112×64', 'max', [1, 112, 112, 64], 2, 2),
  pool('p2', 'avgpool 2×2/2 112×112×64', 'avg', [1, 112, 112, 64], 2, 2),
  pool('p3', 'maxpool 3×3/2 pad 1 112²×64', 'max', [1, 112, 112, 64], 3, 2, 1),
  { id: 't1', label: 'convT 14×14×64→28×28×32 4×4/2 p1', kind: 'transpose', N: 1, H: 14, W: 14, Cin: 64, Cout: 32, K: 4, strides: 2, padding: 1 },
  { id: 'l1', label: 'LeNet-5 train step, batch 64', kind: 'train', batch: 64 },
];
const unknown = only ? [...only].filter((id) => !SUITE.some((c) => c.id === id)) : [];
if (unknown.length) {
  console.error(`--only: no case ${unknown.join(', ')} (cases: ${SUITE.map((c) => c.id).join(' ')})`);
  process.exit(2);
}

// ---------------------------------------------------------------- geometry and data

/** Output size and explicit pads of a conv or pool case, TensorFlow's 'same' rule (extra pad bottom/right). */
function geometry(H, W, KH, KW, strides, dilations, padding) {
  const one = (n, k) => {
    const ek = (k - 1) * dilations + 1;
    if (padding === 'same') {
      const out = Math.ceil(n / strides);
      const total = Math.max((out - 1) * strides + ek - n, 0);
      return { out, before: Math.floor(total / 2), after: total - Math.floor(total / 2) };
    }
    const p = padding === 'valid' ? 0 : padding;
    return { out: Math.floor((n + 2 * p - ek) / strides) + 1, before: p, after: p };
  };
  const h = one(H, KH), w = one(W, KW);
  return { OH: h.out, OW: w.out, top: h.before, bottom: h.after, left: w.before, right: w.after };
}

/** Seeded uniform [-scale, scale) (the LCG of bench/kernels.mjs). */
function rand(n, seed, scale = 1) {
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) { s = (Math.imul(s, 1103515245) + 12345) >>> 0; a[i] = ((s / 2 ** 32) * 2 - 1) * scale; }
  return a;
}

function nhwcToNchw(a, N, H, W, C) {
  const o = new Float32Array(a.length);
  for (let n = 0; n < N; n++) for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) for (let c = 0; c < C; c++) {
    o[((n * C + c) * H + y) * W + x] = a[((n * H + y) * W + x) * C + c];
  }
  return o;
}
function nchwToNhwc(a, N, C, H, W) {
  const o = new Float32Array(a.length);
  for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {
    o[((n * H + y) * W + x) * C + c] = a[((n * C + c) * H + y) * W + x];
  }
  return o;
}
/** [KH, KW, A, B] → [B, A, KH, KW] (HWIO → OIHW for Conv; [KH, KW, Cout, Cin] → [Cin, Cout, KH, KW] for ConvTranspose). */
function hwabToBahw(w, KH, KW, A, B) {
  const o = new Float32Array(w.length);
  for (let kh = 0; kh < KH; kh++) for (let kw = 0; kw < KW; kw++) for (let a = 0; a < A; a++) for (let b = 0; b < B; b++) {
    o[((b * A + a) * KH + kh) * KW + kw] = w[((kh * KW + kw) * A + a) * B + b];
  }
  return o;
}

/** Inputs, work and the three libraries' setups of one case. */
function prepare(c) {
  if (c.kind === 'conv') {
    const { N, H, W, Cin, Cout, KH, KW, groups } = c;
    const g = geometry(H, W, KH, KW, c.strides, c.dilations, c.padding);
    const cig = Cin / groups;
    const x = rand(N * H * W * Cin, 1), w = rand(KH * KW * cig * Cout, 2, 1 / Math.sqrt(KH * KW * cig)), b = rand(Cout, 3, 0.1);
    return { ...c, ...g, x, w, b, outShape: [N, g.OH, g.OW, Cout], unit: 'GFLOP/s', work: 2 * N * g.OH * g.OW * Cout * KH * KW * cig };
  }
  if (c.kind === 'pool') {
    const { N, H, W, C, size, strides, padding } = c;
    const g = geometry(H, W, size, size, strides, 1, padding);
    const x = rand(N * H * W * C, 4);
    return { ...c, ...g, x, outShape: [N, g.OH, g.OW, C], unit: 'GB/s', work: 4 * (N * H * W * C + N * g.OH * g.OW * C) };
  }
  if (c.kind === 'transpose') {
    const { N, H, W, Cin, Cout, K, strides, padding } = c;
    const OH = (H - 1) * strides - 2 * padding + K, OW = (W - 1) * strides - 2 * padding + K;
    // Weights [KH, KW, Cout, Cin]; each input pixel scatters KH·KW·Cout products per input channel.
    const x = rand(N * H * W * Cin, 5), w = rand(K * K * Cout * Cin, 6, 1 / Math.sqrt(K * K * Cin / (strides * strides))), b = rand(Cout, 7, 0.1);
    return { ...c, OH, OW, x, w, b, outShape: [N, OH, OW, Cout], unit: 'GFLOP/s', work: 2 * N * H * W * Cin * K * K * Cout };
  }
  // LeNet-5 of src/cli/mnist.ts; work = multiply-adds of convs and dense layers, forward + dW + dX
  // (no dX for the first layer), as 2 flops each. Elementwise, pooling, loss and Adam are not counted.
  const B = c.batch;
  const fwd = 2 * (28 * 28 * 6 * 25 + 10 * 10 * 16 * 150 + 400 * 120 + 120 * 84 + 84 * 10);
  const x = rand(B * 28 * 28, 8);
  const labels = Int32Array.from({ length: B }, (_, i) => (i * 7 + 3) % 10);
  return { ...c, x, labels, unit: 'GFLOP/s', work: B * (3 * fwd - 2 * 28 * 28 * 6 * 25) };
}

// ---------------------------------------------------------------- simdcnn

function simdcnnCase(c) {
  if (c.kind === 'conv') {
    const x = sc.tensor(c.x, [c.N, c.H, c.W, c.Cin]), w = sc.tensor(c.w, [c.KH, c.KW, c.Cin / c.groups, c.Cout]), bias = sc.tensor(c.b, [c.Cout]);
    const opts = { bias, strides: c.strides, padding: c.padding, dilations: c.dilations, groups: c.groups };
    return { call: () => sc.conv2d(x, w, opts), read: (y) => y.toArray(), free: (y) => y.dispose(), dispose: () => [x, w, bias].forEach((t) => t.dispose()) };
  }
  if (c.kind === 'pool') {
    const x = sc.tensor(c.x, [c.N, c.H, c.W, c.C]);
    const opts = { size: c.size, strides: c.strides, padding: c.padding };
    const op = c.op === 'max' ? sc.maxPool2d : sc.avgPool2d;
    return { call: () => op(x, opts), read: (y) => y.toArray(), free: (y) => y.dispose(), dispose: () => x.dispose() };
  }
  if (c.kind === 'transpose') {
    const x = sc.tensor(c.x, [c.N, c.H, c.W, c.Cin]), w = sc.tensor(c.w, [c.K, c.K, c.Cout, c.Cin]), bias = sc.tensor(c.b, [c.Cout]);
    const opts = { bias, strides: c.strides, padding: c.padding };
    return { call: () => sc.conv2dTranspose(x, w, opts), read: (y) => y.toArray(), free: (y) => y.dispose(), dispose: () => [x, w, bias].forEach((t) => t.dispose()) };
  }
  return simdcnnTrain(c, sc.optimizers.adam({ learningRate: 0.001, epsilon: 1e-7 }));
}

/** The LeNet-5 of src/cli/mnist.ts (same layers, seed 1), compiled with `optimizer`. */
function simdcnnLenet(optimizer) {
  const model = sc.lenet5({ seed: 1 });
  model.compile({ optimizer, loss: 'softmaxCrossEntropy' });
  return model;
}

function simdcnnTrain(c, optimizer) {
  const model = simdcnnLenet(optimizer);
  const x = sc.tensor(c.x, [c.batch, 28, 28, 1]), y = sc.tensor(c.labels, [c.batch], 'int32');
  return {
    model,
    call: () => model.trainStep(x, y),
    read: (r) => [r.loss],
    free: () => {},
    dispose: () => { x.dispose(); y.dispose(); model.dispose(); },
  };
}

// ---------------------------------------------------------------- TensorFlow.js (wasm; cpu for training)

function tfjsCase(c) {
  const free = (t) => t.dispose();
  const read = (t) => t.dataSync();
  if (c.kind === 'conv') {
    const x = tf.tensor4d(c.x, [c.N, c.H, c.W, c.Cin]), bias = tf.tensor1d(c.b);
    const pad = typeof c.padding === 'number' ? [[0, 0], [c.padding, c.padding], [c.padding, c.padding], [0, 0]] : c.padding;
    if (c.groups === c.Cin && c.groups > 1) {
      // Depthwise: tfjs wants [KH, KW, Cin, multiplier]; with multiplier 1 the data are ours.
      const filter = tf.tensor4d(c.w, [c.KH, c.KW, c.Cin, 1]);
      const args = { x, filter, bias, strides: c.strides, pad, dilations: c.dilations };
      return { call: () => tf.fused.depthwiseConv2d(args), read, free, dispose: () => tf.dispose([x, filter, bias]) };
    }
    if (c.groups !== 1) throw new Error('tfjs has no grouped conv2d');
    const filter = tf.tensor4d(c.w, [c.KH, c.KW, c.Cin, c.Cout]);
    const args = { x, filter, bias, strides: c.strides, pad, dilations: c.dilations };
    return { call: () => tf.fused.conv2d(args), read, free, dispose: () => tf.dispose([x, filter, bias]) };
  }
  if (c.kind === 'pool') {
    const x = tf.tensor4d(c.x, [c.N, c.H, c.W, c.C]);
    const pad = c.padding === 0 ? 'valid' : c.padding;
    const op = c.op === 'max' ? tf.maxPool : tf.avgPool;
    return { call: () => op(x, c.size, c.strides, pad), read, free, dispose: () => x.dispose() };
  }
  if (c.kind === 'transpose') {
    // tfjs's filter for conv2dTranspose is [KH, KW, outDepth, inDepth]: our layout. No fused bias: an add.
    const x = tf.tensor4d(c.x, [c.N, c.H, c.W, c.Cin]), filter = tf.tensor4d(c.w, [c.K, c.K, c.Cout, c.Cin]), bias = tf.tensor1d(c.b);
    const shape = [c.N, c.OH, c.OW, c.Cout];
    return { call: () => tf.tidy(() => tf.add(tf.conv2dTranspose(x, filter, shape, c.strides, c.padding), bias)), read, free, dispose: () => tf.dispose([x, filter, bias]) };
  }
  throw new Error('unreachable');
}

/** The same LeNet-5 in tfjs-core ops (no tfjs-layers): variables from simdcnn's initial weights. */
function tfjsTrain(c, saved, optimizer) {
  const f = new Float32Array(saved.weights);
  const vars = saved.index.map((e) => tf.variable(tf.tensor(f.subarray(e.offset / 4, e.offset / 4 + e.shape.reduce((p, q) => p * q, 1)), e.shape)));
  const [k1, b1, k2, b2, d1, e1, d2, e2, d3, e3] = vars;
  const x = tf.tensor4d(c.x, [c.batch, 28, 28, 1]);
  const y = tf.tidy(() => tf.cast(tf.oneHot(tf.tensor1d(c.labels, 'int32'), 10), 'float32'));
  const loss = () => {
    let h = tf.fused.conv2d({ x, filter: k1, bias: b1, strides: 1, pad: 'same', activation: 'relu' });
    h = tf.maxPool(h, 2, 2, 'valid');
    h = tf.fused.conv2d({ x: h, filter: k2, bias: b2, strides: 1, pad: 'valid', activation: 'relu' });
    h = tf.maxPool(h, 2, 2, 'valid');
    h = tf.reshape(h, [c.batch, 400]);
    h = tf.fused.matMul({ a: h, b: d1, bias: e1, activation: 'relu' });
    h = tf.fused.matMul({ a: h, b: d2, bias: e2, activation: 'relu' });
    h = tf.fused.matMul({ a: h, b: d3, bias: e3 });
    return tf.losses.softmaxCrossEntropy(y, h);
  };
  return {
    vars,
    call: () => tf.tidy(() => optimizer.minimize(loss, true, vars)),
    read: (r) => r.dataSync(),
    free: (r) => r.dispose(),
    dispose: () => { tf.dispose([...vars, x, y]); optimizer.dispose(); },
  };
}

// ---------------------------------------------------------------- ONNX Runtime Web (NCHW)

async function ortCase(c) {
  let spec;
  if (c.kind === 'conv') {
    const cig = c.Cin / c.groups;
    spec = {
      op: 'Conv',
      input: { name: 'x', dims: [c.N, c.Cin, c.H, c.W] },
      output: { name: 'y', dims: [c.N, c.Cout, c.OH, c.OW] },
      initializers: [{ name: 'w', dims: [c.Cout, cig, c.KH, c.KW], data: hwabToBahw(c.w, c.KH, c.KW, cig, c.Cout) }, { name: 'b', dims: [c.Cout], data: c.b }],
      attributes: { kernel_shape: [c.KH, c.KW], strides: [c.strides, c.strides], dilations: [c.dilations, c.dilations], group: c.groups, pads: [c.top, c.left, c.bottom, c.right] },
    };
  } else if (c.kind === 'pool') {
    spec = {
      op: c.op === 'max' ? 'MaxPool' : 'AveragePool',
      input: { name: 'x', dims: [c.N, c.C, c.H, c.W] },
      output: { name: 'y', dims: [c.N, c.C, c.OH, c.OW] },
      attributes: { kernel_shape: [c.size, c.size], strides: [c.strides, c.strides], pads: [c.top, c.left, c.bottom, c.right] },
    };
  } else if (c.kind === 'transpose') {
    const p = c.padding;
    spec = {
      op: 'ConvTranspose',
      input: { name: 'x', dims: [c.N, c.Cin, c.H, c.W] },
      output: { name: 'y', dims: [c.N, c.Cout, c.OH, c.OW] },
      initializers: [{ name: 'w', dims: [c.Cin, c.Cout, c.K, c.K], data: hwabToBahw(c.w, c.K, c.K, c.Cout, c.Cin) }, { name: 'b', dims: [c.Cout], data: c.b }],
      attributes: { kernel_shape: [c.K, c.K], strides: [c.strides, c.strides], pads: [p, p, p, p] },
    };
  } else {
    throw new NotApplicable('ORT-web has no training');
  }
  const [N, C, H, W] = spec.input.dims;
  const t0 = performance.now();
  const session = await ort.InferenceSession.create(oneNodeModel(spec), { executionProviders: ['wasm'], graphOptimizationLevel: 'all', intraOpNumThreads: 1 });
  const setupMs = performance.now() - t0;
  const feeds = { x: new ort.Tensor('float32', nhwcToNchw(c.x, N, H, W, C), spec.input.dims) };
  const [, OC, OH, OW] = spec.output.dims;
  return {
    async: true,
    setupMs,
    call: () => session.run(feeds),
    read: (r) => nchwToNhwc(r.y.data, N, OC, OH, OW),
    free: () => {},
    dispose: () => session.release(),
  };
}

class NotApplicable extends Error {}

// ---------------------------------------------------------------- measuring

/**
 * benchmark.js samples (seconds per call) of `lib.call`; an async call (ORT) runs as a deferred
 * benchmark, each call awaited before the next starts.
 */
function sample(name, lib, timing) {
  return new Promise((resolve, reject) => {
    const fn = lib.async
      ? (deferred) => { lib.call().then((r) => { lib.free(r); deferred.resolve(); }, reject); }
      : () => lib.free(lib.call());
    new Benchmark(name, {
      defer: !!lib.async,
      fn,
      ...timing,
      onError: (e) => reject(e.target.error ?? new Error(`${name} failed`)),
      onComplete: (e) => (e.target.error ? reject(e.target.error) : resolve(e.target.stats.sample)),
    }).run();
  });
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function maxAbsDiff(a, b) {
  if (a.length !== b.length) return Infinity;
  let d = 0;
  for (let i = 0; i < a.length; i++) {
    const e = Math.abs(a[i] - b[i]);
    if (!(e <= d)) d = Number.isNaN(e) ? Infinity : e;
  }
  return d;
}
const maxAbs = (a) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
const message = (e) => String(e?.message ?? e).split('\n')[0];

/** Agreement rule: max |a − b| ≤ 1e-3 · max(1, max |reference|) (outputs are O(1) by the weight scaling). */
const TOLERANCE = 1e-3;

/** First call, timed (cold); returns its output as a Float32Array. */
async function coldCall(lib, r) {
  const t0 = performance.now();
  const first = await lib.call();
  r.coldMs = performance.now() - t0;
  const out = Float32Array.from(lib.read(first));
  lib.free(first);
  return out;
}

/**
 * Sample every ready library in ROUNDS interleaved rounds (simdcnn, tfjs, ort, simdcnn, …) so that
 * a change in background load hits all of them alike; the median is over all rounds' samples.
 * A library whose cold call took over 0.5 s gets one sample per round.
 */
async function sampleAll(c, ready, results) {
  const samples = Object.fromEntries(ready.map(([name]) => [name, []]));
  const busy = Object.fromEntries(ready.map(([name]) => [name, { cpu: 0, wall: 0 }]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, lib] of ready) {
      const slow = results[name].coldMs > 500;
      const timing = { minSamples: slow ? 1 : Math.ceil(TIMING.minSamples / ROUNDS), maxTime: TIMING.maxTime / ROUNDS };
      const cpu0 = process.cpuUsage(), wall0 = performance.now();
      try {
        samples[name].push(...(await sample(`${c.id} ${name}`, lib, timing)));
      } catch (e) {
        results[name].error = message(e);
      }
      const cpu = process.cpuUsage(cpu0);
      busy[name].cpu += (cpu.user + cpu.system) / 1e3;
      busy[name].wall += performance.now() - wall0;
    }
  }
  for (const [name] of ready) {
    const r = results[name];
    if (r.error) continue;
    r.medianMs = median(samples[name]) * 1e3;
    r.minMs = Math.min(...samples[name]) * 1e3;
    r.samples = samples[name].length;
    // Process CPU time over wall time while sampling: ≈ 1 for one thread (a little above from V8's
    // GC helpers, below when other processes take the core); ≥ 2 would mean a second busy thread.
    r.cpuPerWall = busy[name].cpu / busy[name].wall;
    r.rate = c.work / (r.medianMs * 1e6); // GFLOP/s or GB/s
  }
}

async function runCase(c) {
  const results = {}, ready = [];
  let reference = null;
  try {
    for (const name of LIBS) {
      const r = (results[name] = {});
      try {
        const lib = name === 'simdcnn' ? simdcnnCase(c) : name === 'tfjs' ? tfjsCase(c) : await ortCase(c);
        ready.push([name, lib]);
        if (lib.setupMs !== undefined) r.setupMs = lib.setupMs;
        if (name === 'tfjs') r.backend = tf.getBackend();
        const out = await coldCall(lib, r);
        if (!reference) {
          reference = Object.assign(out, { from: name });
          continue;
        }
        r.maxAbsDiff = maxAbsDiff(out, reference);
        r.tolerance = TOLERANCE * Math.max(1, maxAbs(reference));
        if (!(r.maxAbsDiff <= r.tolerance)) {
          r.error = `mismatch: max |Δ| ${r.maxAbsDiff.toExponential(2)} > ${r.tolerance.toExponential(2)} against ${reference.from}`;
        }
      } catch (e) {
        results[name] = e instanceof NotApplicable ? { na: e.message } : { error: message(e) };
      }
    }
    await sampleAll(c, ready.filter(([name]) => !results[name].error && !results[name].na), results);
  } finally {
    for (const [, lib] of ready) {
      try { await lib.dispose(); } catch { /* nothing left to free */ }
    }
  }
  return results;
}

/** One plain SGD step (lr 0.05) of simdcnn and tfjs from the same weights on the same batch. */
function sgdCheck(c) {
  const sgdS = simdcnnTrain(c, sc.optimizers.sgd({ learningRate: 0.05 }));
  const saved = sgdS.model.save({ weightsOnly: true });
  const sgdT = tfjsTrain(c, saved, tf.train.sgd(0.05));
  try {
    const lossS = sgdS.call().loss;
    const rT = sgdT.call();
    const lossT = rT.dataSync()[0];
    rT.dispose();
    const after = new Float32Array(sgdS.model.save({ weightsOnly: true }).weights);
    let paramDiff = 0;
    saved.index.forEach((e, i) => {
      const n = e.shape.reduce((p, q) => p * q, 1);
      paramDiff = Math.max(paramDiff, maxAbsDiff(after.subarray(e.offset / 4, e.offset / 4 + n), sgdT.vars[i].dataSync()));
    });
    return { lossSimdcnn: lossS, lossTfjs: lossT, maxAbsDiff: Math.max(Math.abs(lossS - lossT), paramDiff), tolerance: 1e-4 };
  } finally {
    sgdS.dispose();
    sgdT.dispose();
  }
}

/** l1: check one SGD step against tfjs (loss and every parameter), then time Adam steps. */
async function runTraining(c) {
  // tfjs-wasm first: it lacks Conv2DBackpropFilter (and more); record why, then train on tfjs-cpu.
  let tfjsWasmError = null;
  {
    const probe = simdcnnLenet(sc.optimizers.sgd({ learningRate: 0.05 }));
    const saved = probe.save({ weightsOnly: true });
    probe.dispose();
    const t = tfjsTrain(c, saved, tf.train.sgd(0.05));
    try { t.free(t.call()); } catch (e) { tfjsWasmError = message(e); }
    t.dispose();
  }
  if (tfjsWasmError) await tf.setBackend('cpu');
  const tfBackend = tf.getBackend();

  // Check: one plain SGD step from the same weights on the same batch (loss and every parameter).
  let check;
  try {
    check = sgdCheck(c);
  } catch (e) {
    check = { error: message(e) };
  }

  // Timing: Adam (lr 0.001, ε 1e-7 in both), as src/cli/mnist.ts trains, from the same weights.
  const results = { simdcnn: {}, tfjs: { backend: tfBackend, maxAbsDiff: check.maxAbsDiff, tolerance: check.tolerance }, ort: { na: 'ORT-web has no training' }, check };
  const notes = [];
  if (tfjsWasmError) notes.push(`tfjs-wasm cannot train: ${tfjsWasmError}`);
  if (check.error) notes.push(`unchecked: the SGD check failed (${check.error})`);
  if (notes.length) results.tfjs.note = notes.join('; ');
  const s = simdcnnTrain(c, sc.optimizers.adam({ learningRate: 0.001, epsilon: 1e-7 }));
  const t = tfjsTrain(c, s.model.save({ weightsOnly: true }), tf.train.adam(0.001, 0.9, 0.999, 1e-7));
  try {
    const ready = [];
    for (const [name, lib] of [['simdcnn', s], ['tfjs', t]]) {
      try {
        await coldCall(lib, results[name]);
        ready.push([name, lib]);
      } catch (e) {
        results[name].error = message(e);
      }
    }
    if (!check.error && !(check.maxAbsDiff <= check.tolerance)) {
      results.tfjs.error = `mismatch: one SGD step differs by ${check.maxAbsDiff.toExponential(2)} (loss ${check.lossSimdcnn} vs ${check.lossTfjs})`;
    }
    await sampleAll(c, ready.filter(([name]) => !results[name].error), results);
  } finally {
    s.dispose();
    t.dispose();
    await tf.setBackend('wasm');
  }
  return results;
}

/** GFLOP/s of peak_f32x4 in the build simdcnn runs (build/extras-<build>.wasm: same source, same flags). */
async function peakProbe(build) {
  const bytes = readFileSync(new URL(`../build/extras-${build}.wasm`, import.meta.url));
  const { instance } = await WebAssembly.instantiate(bytes, {});
  const peak = instance.exports.peak_f32x4;
  peak(1 << 20); // tier up
  const iterations = quick ? 5e6 : 2e7, rates = [];
  for (let i = 0; i < (quick ? 3 : 7); i++) {
    const t0 = performance.now();
    peak(iterations);
    rates.push((iterations * 12 * 4 * 2) / ((performance.now() - t0) * 1e6));
  }
  return { build, gflops: median(rates), best: Math.max(...rates) };
}

/**
 * The memory floor of a pooling case: stream_max_f32 of the extras build (same source and flags
 * as simdcnn's build) reading the case's input bytes once, in order, and writing its output bytes
 * once (an r:1 max over consecutive vectors) — no kernel with that traffic can be faster on this
 * machine. Median ms per call over blocks of ≥ 50 ms.
 */
async function floorProbe(build, c) {
  const bytes = readFileSync(new URL(`../build/extras-${build}.wasm`, import.meta.url));
  const { instance } = await WebAssembly.instantiate(bytes, {});
  const { stream_max_f32: stream, memory, heap_base } = instance.exports;
  const outFloats = c.outShape.reduce((p, q) => p * q, 1);
  const r = Math.max(1, Math.round(c.x.length / outFloats)), outVectors = Math.ceil(outFloats / 4);
  const src = Math.ceil(heap_base() / 64) * 64, dst = src + outVectors * r * 16, end = dst + outVectors * 16;
  if (end > memory.buffer.byteLength) memory.grow(Math.ceil((end - memory.buffer.byteLength) / 65536));
  new Float32Array(memory.buffer, src, Math.min(c.x.length, outVectors * r * 4)).set(c.x.subarray(0, outVectors * r * 4));
  for (let i = 0; i < 20; i++) stream(src, dst, outVectors, r);
  const times = [];
  for (let b = 0; b < (quick ? 3 : 9); b++) {
    let n = 0;
    const t0 = performance.now();
    while (n < 5 || performance.now() - t0 < 50) { stream(src, dst, outVectors, r); n++; }
    times.push((performance.now() - t0) / n);
  }
  return { ms: median(times), r, inBytes: outVectors * r * 16, outBytes: outVectors * 16 };
}

// ---------------------------------------------------------------- set-up of the libraries

const require = createRequire(import.meta.url);
const tfjsWasmDir = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm')) + '/';
const ortDir = dirname(require.resolve('onnxruntime-web/ort-wasm-simd-threaded.wasm')) + '/';

const scBackend = await sc.init();

// tfjs-core's Node bundle registers no gradients (the @tensorflow/tfjs union package does, and
// its ESM files are not loadable by Node as they stand): bundle them with esbuild and load that.
// They register into tfjs's global registries, so the tfjs loaded above gains them.
{
  const entry = require.resolve('@tensorflow/tfjs-core/dist/register_all_gradients.js');
  const { outputFiles } = await esbuild.build({ entryPoints: [entry], bundle: true, format: 'esm', platform: 'neutral', write: false, logLevel: 'warning' });
  await import(`data:text/javascript;base64,${Buffer.from(outputFiles[0].contents).toString('base64')}`);
}

tf.env().set('PROD', true); // no "install tfjs-node" banner, no debug checks
tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false); // already false under Node; the non-threaded binary
setWasmPaths(tfjsWasmDir);
setThreadsCount(1);
if (!(await tf.setBackend('wasm'))) throw new Error('tfjs: the wasm backend failed to initialise');
const tfSimd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');

ort.env.wasm.numThreads = 1;
ort.env.wasm.simd = true;
ort.env.wasm.proxy = false;
ort.env.wasm.wasmPaths = ortDir;
ort.env.logLevel = 'error';

const peers = {
  tfjs: { core: tf.version_core, wasm: version_wasm, cpu: version_cpu, threads: getThreadsCount(), simd: tfSimd, binary: tfSimd ? 'tfjs-backend-wasm-simd.wasm' : 'tfjs-backend-wasm.wasm' },
  ort: { version: ort.env.versions.web, threads: ort.env.wasm.numThreads, executionProvider: 'wasm (CPU EP, MLAS)', binary: 'ort-wasm-simd-threaded.wasm' },
};

// ---------------------------------------------------------------- table

function cell(r, width) {
  if (!r) return ''.padStart(width);
  if (r.na) return 'n/a'.padStart(width);
  if (r.error) return (r.error.startsWith('mismatch') ? 'MISMATCH' : 'error').padStart(width);
  return `${fmt(r.medianMs)} ${fmt(r.rate)} ${fmt(r.coldMs)}`.padStart(width);
}
function fmt(v) {
  if (v === undefined || v === null) return '-';
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v >= 0.1 ? v.toFixed(2) : v.toFixed(3);
}
let headerPrinted = false;
function printRow(row) {
  const W = 21;
  if (!headerPrinted) {
    headerPrinted = true;
    console.log(`${'case'.padEnd(5)}${'shape'.padEnd(34)}${'unit'.padEnd(8)}${'simdcnn'.padStart(W)}${'tfjs'.padStart(W)}${'ort-web'.padStart(W)}  ${'best peer'.padEnd(10)}ratio`);
    console.log(`${''.padEnd(47)}${'med ms rate cold ms'.padStart(W)}${'med ms rate cold ms'.padStart(W)}${'med ms rate cold ms'.padStart(W)}`);
  }
  const r = row.results;
  console.log(`${row.id.padEnd(5)}${row.label.padEnd(34)}${row.unit.padEnd(8)}${cell(r.simdcnn, W)}${cell(r.tfjs, W)}${cell(r.ort, W)}  ${(row.bestPeer ?? '-').padEnd(10)}${row.ratio ? row.ratio.toFixed(2) + '×' : 'n/a'}`);
}

// ---------------------------------------------------------------- run

const loadBefore = os.loadavg();
const started = performance.now();
const peak = await peakProbe(scBackend);
const chains = `12 independent f32x4 ${scBackend === 'relaxed-simd' ? 'relaxed madd' : scBackend === 'simd' ? 'mul+add' : 'scalar mul+add'} chains`;
console.log(`simdcnn build: ${scBackend} · peak probe (${chains}): ${peak.gflops.toFixed(1)} GFLOP/s median, ${peak.best.toFixed(1)} best`);
console.log(`tfjs ${peers.tfjs.core} wasm backend: ${peers.tfjs.threads} thread, SIMD ${peers.tfjs.simd ? 'on' : 'OFF'} · onnxruntime-web ${peers.ort.version}: ${peers.ort.threads} thread, wasm EP`);
console.log(`${os.cpus()[0]?.model ?? 'cpu?'} · ${os.cpus().length} vCPU · load ${loadBefore.map((l) => l.toFixed(2)).join(' ')} · node ${process.version}${quick ? ' · --quick' : ''}`);
if (loadBefore[0] > os.cpus().length / 2) console.log(`warning: load average ${loadBefore[0].toFixed(2)} on ${os.cpus().length} vCPUs: other processes compete for the cores; absolute times will be noisy`);
console.log('');

const cases = [];
for (const def of SUITE) {
  if (only && !only.has(def.id)) continue;
  const c = prepare(def);
  const results = c.kind === 'train' ? await runTraining(c) : await runCase(c);
  const peerRates = ['tfjs', 'ort'].filter((p) => results[p]?.rate).map((p) => [p, results[p].rate]);
  const best = peerRates.sort((a, b) => b[1] - a[1])[0];
  const row = {
    id: c.id, label: c.label, unit: c.unit, work: c.work, results,
    bestPeer: best ? (best[0] === 'tfjs' ? `tfjs-${results.tfjs.backend}` : 'ort-web') : null,
    ratio: best && results.simdcnn?.rate ? results.simdcnn.rate / best[1] : null,
  };
  if (c.kind === 'pool' && best) {
    const f = await floorProbe(scBackend, c);
    const bestMs = results[best[0]].medianMs;
    row.floor = { ...f, bestPeerMs: bestMs, ratioBound: bestMs / f.ms };
  }
  cases.push(row);
  printRow(row);
  if (row.floor) console.log(`${''.padEnd(5)}memory floor (one ${row.floor.r}:1 streaming pass over the same bytes, extras build): ${row.floor.ms.toFixed(3)} ms — no kernel here beats ${row.floor.ratioBound.toFixed(2)}× the best peer`);
}

const peakEnd = await peakProbe(scBackend);
const convRatios = cases.filter((r) => /^c\d+$/.test(r.id) && r.ratio).map((r) => r.ratio);
const geomean = convRatios.length ? Math.exp(convRatios.reduce((s, r) => s + Math.log(r), 0) / convRatios.length) : null;
const seconds = (performance.now() - started) / 1e3;
const share = (lib) => {
  const v = cases.map((r) => r.results[lib]?.cpuPerWall).filter((x) => x !== undefined).sort((a, b) => a - b);
  return v.length ? `${lib} ${median(v).toFixed(2)} (${v[0].toFixed(2)}–${v[v.length - 1].toFixed(2)})` : `${lib} -`;
};
console.log(`\ngeometric mean simdcnn/best-peer over ${convRatios.length} conv cases (c1–c11): ${geomean ? geomean.toFixed(2) + '×' : 'n/a'}`);
console.log(`peak probe again at the end: ${peakEnd.gflops.toFixed(1)} GFLOP/s median, ${peakEnd.best.toFixed(1)} best · ${seconds.toFixed(0)} s · load ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
console.log(`process CPU time / wall time while sampling, median (range) over cases — 1.00 = one whole core: ${LIBS.map(share).join(' · ')}`);
for (const r of cases) {
  for (const lib of LIBS) {
    const e = r.results[lib];
    if (e?.error) console.log(`  ${r.id} ${lib}: ${e.error}`);
    if (e?.note) console.log(`  ${r.id} ${lib}: ${e.note}`);
  }
  if (r.results.check?.error) console.log(`  ${r.id} check: ${r.results.check.error}`);
  else if (r.results.check) console.log(`  ${r.id} check (one SGD step vs tfjs-${r.results.tfjs.backend}): loss ${r.results.check.lossSimdcnn.toFixed(6)} vs ${r.results.check.lossTfjs.toFixed(6)}, max |Δ| over loss and parameters ${r.results.check.maxAbsDiff.toExponential(2)}`);
}

const report = {
  date: new Date().toISOString(),
  quick,
  only: only ? [...only] : null,
  node: process.version,
  v8: process.versions.v8,
  cpu: os.cpus()[0]?.model,
  vcpus: os.cpus().length,
  loadavg: { before: loadBefore, after: os.loadavg() },
  seconds,
  timing: { harness: 'benchmark.js', ...TIMING, rounds: ROUNDS, statistic: 'median of the benchmark.js samples (per-call time) of all rounds; ORT via deferred benchmarks' },
  simdcnn: { backend: scBackend, peak, peakEnd },
  peers,
  tolerance: `max |Δ| ≤ ${TOLERANCE} · max(1, max |reference|); l1: 1e-4 on loss and parameters after one SGD step`,
  geomeanConv: geomean,
  cases,
};
mkdirSync(new URL('results/', import.meta.url), { recursive: true });
// A --quick or --only run goes to its own file, so it never replaces the last full run.
const files = partial ? ['peers-partial.json'] : [`peers-${report.date.slice(0, 10)}.json`, 'peers-latest.json'];
for (const f of files) writeFileSync(new URL(`results/${f}`, import.meta.url), JSON.stringify(report, null, 2));
console.log(`wrote ${files.map((f) => `bench/results/${f}`).join(' and ')}`);
