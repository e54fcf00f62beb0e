// The threads check every runtime runs (Deno, a Chromium page and its module Worker, workerd):
// the same ops with 1, 2 and 3 threads — convolutions on every path, their gradients, dense,
// pooling, activations and three LeNet-5 training steps — and whether every result is
// bit-identical to one thread. Plain JavaScript, no imports: the caller passes the library.

function rnd(n, seed) {
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) { s = (Math.imul(s, 1103515245) + 12345) >>> 0; a[i] = s / 2 ** 32 - 0.5; }
  return a;
}

function compute(s) {
  const t = (shape, seed) => s.tensor(rnd(shape.reduce((a, b) => a * b, 1), seed), shape);
  const out = {};
  const convs = [
    ['igemm', [2, 14, 14, 32], [3, 3, 32, 40], { padding: 'same', strides: 2 }],
    ['winograd', [2, 15, 13, 32], [3, 3, 32, 24], { padding: 'same' }],
    ['im2col', [2, 30, 30, 3], [3, 3, 3, 20], { padding: 'same' }],
    ['depthwise', [2, 30, 30, 32], [3, 3, 1, 32], { padding: 'same', groups: 32 }],
    ['single-channel', [8, 28, 28, 1], [5, 5, 1, 6], {}],
  ];
  let seed = 1;
  for (const [name, xs, ws, o] of convs) {
    const x = t(xs, seed++), w = t(ws, seed++);
    const y = s.conv2d(x, w, o);
    out[name] = y.toArray();
    out[`${name}/dx`] = s.conv2dBackpropInput(y, w, xs, o).toArray();
    out[`${name}/dw`] = s.conv2dBackpropFilter(x, y, ws, o).toArray();
  }
  const xp = t([4, 32, 32, 16], seed++);
  out.maxPool = s.maxPool2d(xp, { size: 3, strides: 2 }).toArray();
  out.gelu = s.gelu(xp).toArray();
  const xd = t([64, 300], seed++), wd = t([300, 120], seed++);
  out.dense = s.dense(xd, wd).toArray();
  const m = s.lenet5({ seed: 2 });
  m.compile({ optimizer: 'adam', loss: 'softmaxCrossEntropy' });
  const xb = t([32, 28, 28, 1], seed++), yb = s.tensor(Int32Array.from({ length: 32 }, (_, i) => i % 10), [32], 'int32');
  out.losses = Float32Array.from([0, 1, 2].map(() => m.trainStep(xb, yb).loss));
  out.weights = new Float32Array(m.save({ weightsOnly: true }).weights);
  return out;
}

const same = (a, b) => a.length === b.length && Array.prototype.every.call(a, (v, i) => Object.is(v, b[i]));

/** Run the check; `init` gives extra init options per init (e.g. a fresh module fetch). */
export async function threadsCheck(s, { counts = [1, 2, 3], init = () => ({}) } = {}) {
  const results = [], threads = [];
  const t0 = performance.now();
  for (const n of counts) {
    await s.init({ ...init(), threads: n });
    threads.push(s.threads());
    results.push(compute(s));
  }
  const mismatches = [];
  for (const k of Object.keys(results[0])) {
    for (let i = 1; i < results.length; i++) if (!same(results[0][k], results[i][k])) mismatches.push(`${k} at ${counts[i]} threads`);
  }
  return { threads, results: Object.keys(results[0]).length, mismatches, backend: s.backend(), ms: Math.round(performance.now() - t0) };
}
