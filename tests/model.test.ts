import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  init, tensor, tidy, memoryStats, sequential, loadModel, layers, optimizers, softmaxCrossEntropy, lenet5,
  ShapeError, ArgumentError, FormatError, type Sequential, type Tensor, type SavedModel,
} from '../src/index.ts';
import { randArray, rng, throwsTyped } from './helpers.ts';

test.before(async () => {
  await init();
});

const lenet = (seed = 1): Sequential => lenet5({ seed });

test('summary shows the input shape, output shapes and parameter counts (AlexNet conv1: 55×55×96, 34,944)', () => {
  const m = sequential({ inputShape: [227, 227, 3], layers: [layers.conv2d({ filters: 96, kernelSize: 11, strides: 4 })] });
  const text = m.summary({ print: false });
  assert.match(text, '[batch,227,227,3]');
  assert.match(text, '[batch,55,55,96]');
  assert.match(text, '34,944');
  assert.is(m.countParams(), 34944);
  m.dispose();
  const l = lenet();
  assert.is(l.countParams(), 156 + 2416 + 48120 + 10164 + 850);
  assert.equal(l.outputShape, [10]);
  assert.equal(l.layers.map((x) => x.outputShape), [[28, 28, 6], [14, 14, 6], [10, 10, 16], [5, 5, 16], [400], [120], [84], [10]]);
  l.dispose();
  assert.is(memoryStats().tensors, 0);
});

test('shape inference errors name the offending layer', () => {
  throwsTyped(() => sequential({
    inputShape: [8, 8, 1],
    layers: [layers.conv2d({ filters: 4, kernelSize: 5 }), layers.conv2d({ filters: 4, kernelSize: 5, name: 'too_big' })],
  }), ShapeError, "layer 'too_big' (conv2d)", 'larger than the padded input');
  throwsTyped(() => sequential({ inputShape: [10], layers: [layers.conv2d({ filters: 2, kernelSize: 3 })] }), ShapeError, "layer 'conv2d_1'", 'rank 3');
  throwsTyped(() => layers.dense({ units: 0 }), ArgumentError, 'units');
  throwsTyped(() => sequential({ inputShape: [4, 4, 1], layers: [layers.maxPool2d({ poolSize: 5 })] }), ShapeError, 'maxPool2d_1');
  assert.is(memoryStats().tensors, 0);
});

/** Sum of loss over a batch, through predict (for finite differences). */
function lossOf(m: Sequential, x: Tensor, y: Tensor): number {
  return tidy(() => softmaxCrossEntropy(m.predict(x), y, { grad: false }).loss);
}

/** Compare every parameter gradient of one training step with central differences (eps 1e-2). */
function checkModelGrads(m: Sequential, x: Tensor, y: Tensor, samples = 4): void {
  m.compile({ optimizer: optimizers.sgd({ learningRate: 0 }), loss: 'softmaxCrossEntropy' });
  m.trainStep(x, y);
  const eps = 1e-2;
  for (const l of m.layers) {
    l.params.forEach((p, pi) => {
      const g = l.grads[pi]!.toArray();
      for (let k = 0; k < samples; k++) {
        const i = (k * 7 + pi * 3) % p.size;
        const orig = p.view()[i];
        p.view()[i] = orig + eps; p.version++;
        const up = lossOf(m, x, y);
        p.view()[i] = orig - eps; p.version++;
        const down = lossOf(m, x, y);
        p.view()[i] = orig; p.version++;
        const fd = (up - down) / (2 * eps);
        // Tolerance: central difference of a smooth-almost-everywhere f32 loss, eps 1e-2.
        assert.ok(Math.abs(fd - g[i]) < 3e-3 + 3e-2 * Math.abs(fd), `${l.name}/${l.paramNames[pi]}[${i}]: finite difference ${fd} vs backprop ${g[i]}`);
      }
    });
  }
}

test('the gradients of a whole model match finite differences (conv2d, pools, dense, activations)', () => {
  const r = rng(17);
  const m = sequential({
    inputShape: [7, 6, 2],
    seed: 3,
    layers: [
      layers.conv2d({ filters: 5, kernelSize: 3, padding: 'same', activation: 'tanh' }),
      layers.avgPool2d({ poolSize: 2, padding: 'same' }),
      layers.conv2d({ filters: 4, kernelSize: 2, activation: 'relu' }),
      layers.maxPool2d({ poolSize: 2, strides: 1 }),
      layers.flatten(),
      layers.dense({ units: 6, activation: 'sigmoid' }),
      layers.dense({ units: 3 }),
    ],
  });
  const x = tensor(randArray(r, 4 * 7 * 6 * 2), [4, 7, 6, 2]);
  const y = tensor([0, 2, 1, 2], [4], 'int32');
  checkModelGrads(m, x, y);
  x.dispose(); y.dispose(); m.dispose();
  assert.is(memoryStats().tensors, 0);
});

test('finite differences through conv1d, conv2dTranspose, locallyConnected2d, prelu, maxout, globalAvgPool2d and activation layers', () => {
  const r = rng(23);
  const models = [
    {
      m: sequential({ inputShape: [9, 3], seed: 5, layers: [
        layers.conv1d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'elu' }),
        layers.conv1d({ filters: 4, kernelSize: 2, strides: 2, dilationRate: 1 }),
        layers.gelu(),
        layers.flatten(),
        layers.dense({ units: 3 }),
      ] }),
      x: [3, 9, 3],
    },
    {
      // prelu and maxout first, on inputs kept away from their kinks (|x| ≥ 0.2, pair gaps 0.5),
      // so that no perturbation in the check moves an input across one.
      m: sequential({ inputShape: [5, 5, 4], seed: 6, layers: [
        layers.prelu({ alphaInitializer: 0.2 }),
        layers.maxout({ k: 2 }),
        layers.conv2dTranspose({ filters: 3, kernelSize: 3, strides: 2, padding: 1, activation: 'swish' }),
        layers.locallyConnected2d({ filters: 4, kernelSize: 3, strides: 2 }),
        layers.flatten(),
        layers.dense({ units: 3 }),
      ] }),
      x: [3, 5, 5, 4],
      data: (n: number) => {
        const d = new Float32Array(n);
        for (let i = 0; i < n; i += 2) {
          const a = (r() < 0.5 ? -1 : 1) * (0.3 + 0.7 * r());
          let b = a + (r() < 0.5 ? -0.5 : 0.5);
          if (Math.abs(b) < 0.2) b = 2 * a - b;
          d[i] = a; d[i + 1] = b;
        }
        return d;
      },
    },
    {
      m: sequential({ inputShape: [6, 6, 4], seed: 7, layers: [
        layers.conv2d({ filters: 6, kernelSize: 3, activation: 'selu' }),
        layers.globalAvgPool2d(),
        layers.leakyRelu({ alpha: 0.1 }),
        layers.dense({ units: 5, activation: 'softmax' }),
        layers.dense({ units: 3 }),
      ] }),
      x: [3, 6, 6, 4],
    },
  ];
  for (const { m, x: xs, data } of models as Array<{ m: Sequential; x: number[]; data?: (n: number) => Float32Array }>) {
    const n = xs.reduce((a, b) => a * b);
    const x = tensor(data ? data(n) : randArray(r, n), xs);
    const y = tensor([0, 1, 2], [3], 'int32');
    checkModelGrads(m, x, y, 3);
    x.dispose(); y.dispose(); m.dispose();
  }
  assert.is(memoryStats().tensors, 0);
});

test('fit learns a separable toy problem, reports history and honours early stop; no leaks', async () => {
  const r = rng(5);
  const N = 256;
  const xd = new Float32Array(N * 4 * 4 * 1), yd = new Int32Array(N);
  for (let n = 0; n < N; n++) {
    const cls = n % 2;
    yd[n] = cls;
    for (let i = 0; i < 16; i++) xd[n * 16 + i] = (r() - 0.5) * 0.5 + (cls ? (i % 4 < 2 ? 1 : -1) : (i % 4 < 2 ? -1 : 1));
  }
  const x = tensor(xd, [N, 4, 4, 1]), y = tensor(yd, [N], 'int32');
  const m = sequential({ inputShape: [4, 4, 1], layers: [layers.conv2d({ filters: 4, kernelSize: 3, activation: 'relu' }), layers.flatten(), layers.dropout({ rate: 0.1 }), layers.dense({ units: 2 })] });
  m.compile({ optimizer: 'adam', loss: 'softmaxCrossEntropy' });
  const before = m.evaluate(x, y);
  const h = await m.fit(x, y, { epochs: 5, batchSize: 32, verbose: 0, validationData: [x, y] });
  assert.is(h.epochs.length, 5);
  const after = m.evaluate(x, y);
  assert.ok(after.loss < before.loss, `loss ${before.loss} → ${after.loss}`);
  assert.ok(after.accuracy > 0.95, `accuracy ${after.accuracy}`);
  assert.ok(h.epochs[4].valAccuracy! > 0.95);
  let batches = 0;
  const h2 = await m.fit(x, y, { epochs: 3, batchSize: 32, verbose: 0, onBatchEnd: () => (++batches === 3 ? false : undefined) });
  assert.is(batches, 3);
  assert.is(h2.epochs.length, 1);
  m.dispose(); x.dispose(); y.dispose();
  assert.is(memoryStats().tensors, 0);
});

test('save → load → predict gives identical outputs; weights-only; bad files give clear errors', () => {
  const r = rng(9);
  const m = lenet(4);
  const x = tensor(randArray(r, 3 * 28 * 28), [3, 28, 28, 1]);
  const a = tidy(() => m.predict(x).toArray());
  const saved = m.save() as SavedModel;
  const json = JSON.parse(JSON.stringify(saved.topology));
  const loaded = loadModel({ topology: json, weights: saved.weights.slice(0) });
  const b = tidy(() => loaded.predict(x).toArray());
  assert.equal(Array.from(b), Array.from(a));
  assert.is(loaded.summary({ print: false }), m.summary({ print: false }));
  const w = m.save({ weightsOnly: true }) as { weights: ArrayBuffer };
  assert.is(w.weights.byteLength, m.countParams() * 4);
  throwsTyped(() => loadModel({ topology: json, weights: saved.weights.slice(0, 1000) }), ShapeError, 'loadModel', 'truncated');
  const bad = JSON.parse(JSON.stringify(json));
  bad.weights[1].shape = [7];
  throwsTyped(() => loadModel({ topology: bad, weights: saved.weights }), ShapeError, 'loadModel', 'weight 1');
  throwsTyped(() => loadModel({ topology: { ...json, format: 'keras' }, weights: saved.weights }), FormatError, 'not a saved simdcnn');
  const unknown = JSON.parse(JSON.stringify(json));
  unknown.layers[0].type = 'capsule';
  throwsTyped(() => loadModel({ topology: unknown, weights: saved.weights }), FormatError, '"capsule" is not a layer type');
  m.dispose(); loaded.dispose(); x.dispose();
  assert.is(memoryStats().tensors, 0);
});

test('memory() agrees with the live bytes at the peak of a real training step; inference keeps two activations', async () => {
  const r = rng(2);
  const m = lenet(2);
  m.compile({ optimizer: 'adam', loss: 'softmaxCrossEntropy' });
  const n = 16;
  const x = tensor(randArray(r, n * 784), [n, 28, 28, 1]);
  const y = tensor(Array.from({ length: n }, (_, i) => i % 10), [n], 'int32');
  const base = memoryStats().bytes - x.bytes - y.bytes; // parameters only
  m.trainStep(x, y); // first step creates gradients and optimizer state
  m.trainStep(x, y);
  const mem = m.memory({ batchSize: n, training: true });
  assert.is(mem.parameters, base);
  assert.is(mem.gradients, mem.parameters);
  assert.is(mem.optimizerState, 2 * mem.parameters, 'adam keeps two moments');
  // At the peak: parameters + gradients + the step's activations (inputs, labels, outputs, caches, dlogits).
  assert.is(m.lastStepPeakBytes, mem.parameters + mem.gradients + mem.activations);
  const inf = m.memory({ batchSize: n });
  assert.is(inf.gradients + inf.optimizerState, 0);
  assert.is(inf.activations, n * 4 * (28 * 28 * 6 + 14 * 14 * 6)); // the largest input + output pair: conv1 → pool1
  m.dispose(); x.dispose(); y.dispose();
  assert.is(memoryStats().tensors, 0);
});

test('steady state: training steps and predictions reuse the same memory (no growth, no leaks)', () => {
  const r = rng(12);
  const m = lenet(3);
  m.compile({ optimizer: 'adam', loss: 'softmaxCrossEntropy' });
  const x = tensor(randArray(r, 32 * 784), [32, 28, 28, 1]);
  const y = tensor(Array.from({ length: 32 }, (_, i) => i % 10), [32], 'int32');
  for (let i = 0; i < 3; i++) m.trainStep(x, y);
  m.predict(x).dispose();
  const live = memoryStats().bytes, reserved = memoryStats().wasmBytes;
  for (let i = 0; i < 20; i++) {
    m.trainStep(x, y);
    m.predict(x, { batchSize: 8 }).dispose();
  }
  assert.is(memoryStats().bytes, live);
  assert.is(memoryStats().wasmBytes, reserved);
  m.dispose(); x.dispose(); y.dispose();
  assert.is(memoryStats().tensors, 0);
});

test('bad calls to fit / predict / compile throw typed errors', async () => {
  const m = lenet();
  const x = tensor(new Float32Array(2 * 28 * 28), [2, 28, 28, 1]);
  const y = tensor([1, 2], [2], 'int32');
  try {
    await m.fit(x, y);
    assert.unreachable();
  } catch (e) {
    assert.instance(e, ArgumentError);
    assert.match((e as Error).message, 'compile');
  }
  throwsTyped(() => m.compile({ optimizer: 'adamw', loss: 'softmaxCrossEntropy' }), ArgumentError, 'adamw');
  throwsTyped(() => m.compile({ optimizer: 'adam', loss: 'crossentropy' as never }), ArgumentError, 'loss');
  m.compile({ optimizer: 'sgd', loss: 'softmaxCrossEntropy' });
  const wrong = tensor(new Float32Array(2 * 27 * 28), [2, 27, 28, 1]);
  throwsTyped(() => m.predict(wrong), ShapeError, 'predict', '[N, 28, 28, 1]', '[2,27,28,1]');
  const y3 = tensor([1, 2, 3], [3], 'int32');
  try {
    await m.fit(x, y3);
    assert.unreachable();
  } catch (e) {
    assert.instance(e, ShapeError);
  }
  for (const t of [m, x, y, wrong, y3]) t.dispose();
  assert.is(memoryStats().tensors, 0);
});

test.run();
