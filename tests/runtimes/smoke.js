// The smoke suite every runtime runs (Node, Deno, Chromium page and Web Worker, workerd): plain
// ESM with no imports of its own — the caller passes the library's module namespace (the built
// dist/index.js), so each runtime imports the bundle the way its users would. It returns a
// JSON-serialisable report; the uvu tests in tests/runtimes/*.test.ts compare it with the same
// report computed in Node (the golden run).
//
//   import * as simdcnn from '../../dist/index.js';
//   const report = await runSmoke(simdcnn, { runtime: 'deno', init: {} });

/** LeNet-5 as `npm run mnist` builds it (src/cli/mnist.ts): 61,706 parameters. */
export const LENET_PARAMS = 61706;
const SEED = 20261123;

/**
 * Mulberry32: the same sequence in every engine (integer arithmetic only). A copy of
 * src/layers/initializers.ts' seededRandom, which the bundle does not export: this file imports nothing.
 */
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** JSON has no NaN/Infinity: encode them as strings. */
const enc = (v) => (Number.isFinite(v) ? v : String(v));
const list = (a) => Array.from(a, enc);

/** Build LeNet-5 (the library's lenet5(), as `npm run mnist` trains it) and load fixed weights from a seeded RNG. */
export function buildLenet(lib) {
  const model = lib.lenet5({ seed: 1 });
  // Weights independent of the library's initialiser: He-uniform kernels, small biases, from our
  // own RNG, laid out as save() lists them (index: layer, name, shape, byte offset).
  const { index } = model.save({ weightsOnly: true });
  const total = index.reduce((s, e) => s + e.shape.reduce((a, b) => a * b, 1), 0);
  const w = new Float32Array(total);
  const r = rng(SEED);
  for (const e of index) {
    const size = e.shape.reduce((a, b) => a * b, 1);
    const at = e.offset / 4;
    const isBias = e.shape.length === 1;
    const fanIn = isBias ? 1 : size / e.shape[e.shape.length - 1];
    const scale = isBias ? 0.05 : Math.sqrt(6 / fanIn);
    for (let i = 0; i < size; i++) w[at + i] = (2 * r() - 1) * scale;
  }
  model.setWeights(w.buffer, index);
  return model;
}

/** Two fixed 28×28 "digits" in [0, 1]: a ring (a 0) and a slanted stroke (a 1). */
export function fixedInputs() {
  const x = new Float32Array(2 * 28 * 28);
  for (let y = 0; y < 28; y++) {
    for (let c = 0; c < 28; c++) {
      const d = Math.hypot(y - 13.5, (c - 13.5) * 1.3);
      x[y * 28 + c] = Math.max(0, 1 - Math.abs(d - 8) / 2.5);
      const s = c - (14 + (13.5 - y) * 0.25);
      x[784 + y * 28 + c] = y >= 4 && y <= 23 ? Math.max(0, 1 - Math.abs(s) / 2) : 0;
    }
  }
  return x;
}

/** Run the fixed inputs through a LeNet; logits [2][10] and the predicted classes. */
export function lenetPredict(lib, model, images = fixedInputs()) {
  const n = images.length / 784;
  const x = lib.tensor(images, [n, 28, 28, 1]);
  try {
    const t0 = now();
    const y = model.predict(x);
    const ms = now() - t0;
    const flat = y.toArray();
    const shape = y.shape.slice();
    y.dispose();
    const logits = [];
    for (let i = 0; i < n; i++) logits.push(Array.from(flat.subarray(i * 10, i * 10 + 10)));
    const classes = logits.map((l) => l.indexOf(Math.max(...l)));
    return { backend: lib.backend(), shape, logits, classes, ms: round(ms) };
  } finally {
    x.dispose();
  }
}

const now = () => (typeof performance !== 'undefined' ? performance.now() : Date.now());
const round = (v) => Math.round(v * 100) / 100;

function naiveConv2d(x, [N, H, W, C], w, [KH, KW, , CO], bias, stride, pad) {
  const OH = Math.floor((H + pad.t + pad.b - KH) / stride) + 1;
  const OW = Math.floor((W + pad.l + pad.r - KW) / stride) + 1;
  const y = new Float64Array(N * OH * OW * CO);
  for (let n = 0; n < N; n++) for (let oy = 0; oy < OH; oy++) for (let ox = 0; ox < OW; ox++) for (let o = 0; o < CO; o++) {
    let s = bias[o];
    for (let ky = 0; ky < KH; ky++) for (let kx = 0; kx < KW; kx++) {
      const iy = oy * stride + ky - pad.t, ix = ox * stride + kx - pad.l;
      if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
      for (let c = 0; c < C; c++) s += x[((n * H + iy) * W + ix) * C + c] * w[((ky * KW + kx) * C + c) * CO + o];
    }
    y[((n * OH + oy) * OW + ox) * CO + o] = s;
  }
  return { y, shape: [N, OH, OW, CO] };
}

const checks = {
  /** Training works here too: ten SGD steps of a small convnet on a fixed batch lower the loss. */
  train(lib) {
    const { sequential, layers } = lib;
    const model = sequential({
      inputShape: [6, 6, 1],
      seed: 3,
      layers: [
        layers.conv2d({ filters: 4, kernelSize: 3, activation: 'relu' }),
        layers.maxPool2d({ poolSize: 2 }),
        layers.flatten(),
        layers.dense({ units: 3 }),
      ],
    });
    const r = rng(SEED + 1);
    const x = lib.tensor(Float32Array.from({ length: 8 * 36 }, () => r() * 2 - 1), [8, 6, 6, 1]);
    const y = lib.tensor([0, 1, 2, 0, 1, 2, 0, 1], [8], 'int32');
    try {
      model.compile({ optimizer: lib.optimizers.sgd({ learningRate: 0.1 }), loss: 'softmaxCrossEntropy' });
      const losses = [];
      for (let i = 0; i < 10; i++) losses.push(model.trainStep(x, y).loss);
      return { ok: losses.every(Number.isFinite) && losses[9] < losses[0], first: round(losses[0]), last: round(losses[9]) };
    } finally {
      model.dispose();
      x.dispose();
      y.dispose();
    }
  },
  /** 3×3 input 1..9, 2×2 kernel, 2 output channels, bias: every value computed by hand. */
  conv2dHand(lib) {
    const x = lib.tensor([1, 2, 3, 4, 5, 6, 7, 8, 9], [1, 3, 3, 1]);
    // HWIO [2, 2, 1, 2]: channel 0 is [[1, 2], [3, 4]], channel 1 picks the bottom-right tap.
    const w = lib.tensor([1, 0, 2, 0, 3, 0, 4, 1], [2, 2, 1, 2]);
    const b = lib.tensor([0.5, -1], [2]);
    const y = lib.conv2d(x, w, { bias: b });
    const got = list(y.toArray());
    const shape = y.shape.slice();
    for (const t of [x, w, b, y]) t.dispose();
    // (0,0): 1·1 + 2·2 + 4·3 + 5·4 + 0.5 = 37.5 and 5 − 1 = 4; (0,1): 2 + 6 + 15 + 24 + 0.5 = 47.5, 6 − 1;
    // (1,0): 4 + 10 + 21 + 32 + 0.5 = 67.5, 8 − 1; (1,1): 5 + 12 + 24 + 36 + 0.5 = 77.5, 9 − 1.
    const want = [37.5, 4, 47.5, 5, 67.5, 7, 77.5, 8];
    return { ok: shape.join() === '1,2,2,2' && want.every((v, i) => got[i] === v), shape, got, want };
  },

  /** A larger conv2d (SIMD body and tail, 'same' padding, stride 2, relu) against naive loops. */
  conv2dRandom(lib) {
    const r = rng(7);
    const xs = [2, 9, 11, 3], ws = [3, 3, 3, 13];
    const xd = Float32Array.from({ length: xs.reduce((a, b) => a * b) }, () => r() * 2 - 1);
    const wd = Float32Array.from({ length: ws.reduce((a, b) => a * b) }, () => r() * 2 - 1);
    const bd = Float32Array.from({ length: 13 }, () => r() - 0.5);
    const x = lib.tensor(xd, xs), w = lib.tensor(wd, ws), b = lib.tensor(bd, [13]);
    const y = lib.conv2d(x, w, { bias: b, strides: 2, padding: 'same', activation: 'relu' });
    const got = y.toArray(), shape = y.shape.slice();
    for (const t of [x, w, b, y]) t.dispose();
    // TensorFlow 'same': out = ceil(in/2); total pad = (out−1)·2 + 3 − in, the odd one at bottom/right.
    const pad = { t: 1, b: 1, l: 1, r: 1 }; // H 9 → 5: (5−1)·2+3−9 = 2; W 11 → 6: (6−1)·2+3−11 = 2.
    const ref = naiveConv2d(xd, xs, wd, ws, bd, 2, pad);
    let maxErr = 0;
    for (let i = 0; i < ref.y.length; i++) maxErr = Math.max(maxErr, Math.abs(got[i] - Math.max(0, ref.y[i])));
    return { ok: shape.join() === ref.shape.join() && maxErr < 1e-4, shape, maxErr };
  },

  /** maxPool2d 2×2 with indices on a 4×4×4 input: ties go to the first, NaN wins with its index. */
  maxPoolIndices(lib) {
    const H = 4, W = 4, C = 4;
    const ch0 = [1, 5, 2, 2, 3, 0, 2, 2, -1, -2, 7, 9, -3, -4, 9, 8];
    const ch1 = [0, 0, 4, 1, 0, 0, 3, 6, NaN, 1, 2, 3, 5, 1, 1, 2];
    const data = new Float32Array(H * W * C);
    for (let p = 0; p < H * W; p++) {
      data[p * C + 0] = ch0[p];
      data[p * C + 1] = ch1[p];
      data[p * C + 2] = -ch0[p]; // ch2: the negation (mins become maxima).
      data[p * C + 3] = ch1[p] * 2;
    }
    const x = lib.tensor(data, [1, H, W, C]);
    const { output, indices } = lib.maxPool2d(x, { size: 2, returnIndices: true });
    const got = list(output.toArray()), idx = Array.from(indices.toArray());
    const shape = output.shape.slice(), ishape = indices.shape.slice(), idtype = indices.dtype;
    for (const t of [x, output, indices]) t.dispose();
    // Winners by hand, as (y, x) per pooled cell (0,0), (0,1), (1,0), (1,1) and channel.
    const at = (y, xx, c) => ((0 * H + y) * W + xx) * C + c;
    const win = [
      // ch0: 5 at (0,1); all 2 → first (0,2); −1 at (2,0); 9 twice → first (2,3).
      [[0, 1], [0, 2], [2, 0], [2, 3]],
      // ch1: all 0 → first (0,0); 6 at (1,3); NaN at (2,0); 3 at (2,3).
      [[0, 0], [1, 3], [2, 0], [2, 3]],
      // ch2 (−ch0): [−1, −5, −3, −0] → −0 at (1,1); all −2 → first (0,2);
      // [1, 2, 3, 4] → 4 at (3,1); [−7, −9, −9, −8] → −7 at (2,2).
      [[1, 1], [0, 2], [3, 1], [2, 2]],
      // ch3 (2·ch1): as ch1.
      [[0, 0], [1, 3], [2, 0], [2, 3]],
    ];
    const wantIdx = [], wantOut = [];
    for (let cell = 0; cell < 4; cell++) for (let c = 0; c < C; c++) {
      const [y, xx] = win[c][cell];
      wantIdx.push(at(y, xx, c));
      wantOut.push(enc(data[at(y, xx, c)]));
    }
    const ok = shape.join() === '1,2,2,4' && ishape.join() === '1,2,2,4' && idtype === 'int32'
      && idx.every((v, i) => v === wantIdx[i]) && got.every((v, i) => Object.is(v, wantOut[i]) || v === wantOut[i]);
    return { ok, shape, output: got, indices: idx, wantOutput: wantOut, wantIndices: wantIdx };
  },

  /**
   * LeNet-5 with fixed weights, five SGD steps on the two fixed digits (labels 0 and 1): the
   * losses, compared with Node's by the tests (bit for bit on the same build, 1e-4 otherwise).
   */
  lenetTrain(lib) {
    const model = buildLenet(lib);
    const x = lib.tensor(fixedInputs(), [2, 28, 28, 1]);
    const y = lib.tensor([0, 1], [2], 'int32');
    try {
      model.compile({ optimizer: lib.optimizers.sgd({ learningRate: 0.05, momentum: 0.9 }), loss: 'softmaxCrossEntropy' });
      const losses = [];
      for (let i = 0; i < 5; i++) losses.push(model.trainStep(x, y).loss);
      return { ok: losses.every(Number.isFinite) && losses[4] < losses[0], backend: lib.backend(), losses };
    } finally {
      model.dispose();
      x.dispose();
      y.dispose();
    }
  },

  /** save() → JSON text → loadModel() gives a model that predicts exactly what the original does. */
  saveLoad(lib) {
    const model = buildLenet(lib);
    let loaded = null;
    try {
      const saved = model.save();
      // Through JSON text, as a file or a network would carry the topology.
      const topology = JSON.parse(JSON.stringify(saved.topology));
      loaded = lib.loadModel({ topology, weights: saved.weights.slice(0) });
      const a = lenetPredict(lib, model), b = lenetPredict(lib, loaded);
      const maxDiff = Math.max(...a.logits.flatMap((row, i) => row.map((v, j) => Math.abs(v - b.logits[i][j]))));
      return { ok: maxDiff === 0 && loaded.countParams() === LENET_PARAMS, maxDiff, weightsBytes: saved.weights.byteLength };
    } finally {
      model.dispose();
      loaded?.dispose();
    }
  },

  /** LeNet-5 with fixed weights predicts the fixed inputs (compared with Node by the tests). */
  lenet(lib) {
    const model = buildLenet(lib);
    try {
      const params = model.countParams();
      const p = lenetPredict(lib, model);
      const finite = p.logits.every((l) => l.every(Number.isFinite));
      return { ok: params === LENET_PARAMS && p.shape.join() === '2,10' && finite, params, ...p };
    } finally {
      model.dispose();
    }
  },
};

/**
 * Run every check. `options.init` goes to `init()` (e.g. `{ module }` where compiling from bytes is
 * forbidden); `options.alsoSimd` re-runs the LeNet under the forced 'simd' build when the default is
 * another one, so the tests can compare the very same build with Node's bit for bit.
 */
export async function runSmoke(lib, options = {}) {
  const report = { runtime: options.runtime ?? 'unknown', ok: false, backend: null, results: {}, errors: [] };
  const t0 = now();
  try {
    let threw = null;
    try { lib.backend(); } catch (e) { threw = e; }
    report.backendBeforeInit = threw ? `${threw.name}: ${threw.message}` : 'no error';
    const initStart = now();
    report.initReturned = await lib.init(options.init ?? {});
    report.initMs = round(now() - initStart);
    report.backend = lib.backend();
    const baseline = lib.memoryStats().tensors;
    for (const [name, check] of Object.entries(checks)) {
      try {
        report.results[name] = check(lib);
        if (!report.results[name].ok) report.errors.push(`${name}: wrong result`);
      } catch (e) {
        report.results[name] = { ok: false, error: `${e?.name}: ${e?.message}` };
        report.errors.push(`${name}: ${e?.stack ?? e}`);
      }
    }
    report.leakedTensors = lib.memoryStats().tensors - baseline;
    if (report.leakedTensors !== 0) report.errors.push(`${report.leakedTensors} tensors leaked`);
    if (options.alsoSimd && report.backend !== 'simd') {
      await lib.init({ backend: 'simd' });
      const model = buildLenet(lib);
      try { report.lenetSimd = lenetPredict(lib, model); } finally { model.dispose(); }
    }
  } catch (e) {
    report.errors.push(`runSmoke: ${e?.stack ?? e}`);
  }
  report.totalMs = round(now() - t0);
  report.ok = report.errors.length === 0 && Object.keys(report.results).length === Object.keys(checks).length;
  return report;
}
