import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  init, tensor, tidy, memoryStats, input, model, sequential, loadModel, layers, optimizers, lenet5,
  conv2d, batchNorm, relu, add, concat, maxPool2d, contrastive, ArgumentError, ShapeError, Layer, type Tensor, type Model,
} from '../src/index.ts';
import { allclose, randArray, randTensor, rng, throwsTyped } from './helpers.ts';

// The functional graph model: graphs with merges and shared layers, the layers of post-2015 CNNs
// inside models (finite differences through whole models, training mode included), folding of
// batch normalization for inference, save/load of graphs, and the fully convolutional rewrite.

test.before(async () => {
  await init();
});

/** Loss of one training-mode forward pass (SGD with learning rate 0 leaves the weights alone). */
function trainLoss(m: Model<Tensor | Tensor[]>, x: Tensor | Tensor[], y: Tensor | Tensor[]): number {
  return m.trainStep(x, y).loss;
}

/**
 * Every parameter gradient of one training step against central differences of the training-mode
 * loss (eps 1e-2; tolerance 3e-3 + 3e-2·|fd|, a smooth f32 loss). Samples a few entries per tensor.
 */
function checkGrads(m: Model<Tensor | Tensor[]>, x: Tensor | Tensor[], y: Tensor | Tensor[], samples = 3): void {
  m.compile({ optimizer: optimizers.sgd({ learningRate: 0 }), loss: 'meanSquaredError' });
  trainLoss(m, x, y);
  const grads = new Map(m.layers.map((l) => [l, l.grads.map((g) => g.toArray())]));
  const eps = 1e-2;
  for (const l of m.layers) {
    let k = 0;
    l.params.forEach((p, pi) => {
      if (!l.paramTrainable[pi]) return;
      const g = grads.get(l)![k++];
      for (let s = 0; s < samples; s++) {
        const i = (s * 7919 + pi * 31) % p.size;
        const orig = p.view()[i];
        p.view()[i] = orig + eps; p.version++;
        const up = trainLoss(m, x, y);
        p.view()[i] = orig - eps; p.version++;
        const down = trainLoss(m, x, y);
        p.view()[i] = orig; p.version++;
        const fd = (up - down) / (2 * eps);
        assert.ok(Math.abs(fd - g[i]) < 3e-3 + 3e-2 * Math.abs(fd), `${l.name}/${l.paramNames[pi]}[${i}]: finite difference ${fd} vs backprop ${g[i]}`);
      }
    });
  }
}

test('a residual block (conv-BN-relu, add) and a concatenation: gradients match finite differences in training mode', () => {
  const r = rng(3);
  const x = input({ shape: [6, 5, 3] });
  const a = layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', useBias: false }).apply(x);
  const b = layers.batchNormalization({ momentum: 0.9 }).apply(a);
  const c = layers.relu().apply(b);
  const d = layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same' }).apply(c);
  const shortcut = layers.conv2d({ filters: 4, kernelSize: 1 }).apply(x);
  const sum = layers.add().apply([d, shortcut]);
  const cat = layers.concatenate().apply([sum, layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', depthMultiplier: 2, activation: 'tanh' }).apply(x)]);
  const up = layers.upSampling2d({ size: 2, interpolation: 'bilinear' }).apply(cat);
  const padded = layers.zeroPadding2d({ padding: [[1, 0], [0, 2]] }).apply(up);
  const pooled = layers.globalMaxPool2d().apply(layers.separableConv2d({ filters: 3, kernelSize: 3, strides: 2, activation: 'hardSwish' }).apply(padded));
  const out = layers.dense({ units: 2 }).apply(pooled);
  const m = model({ inputs: x, outputs: out, seed: 4 });
  assert.equal(m.outputShape, [2]);
  const xs = randTensor(r, [3, 6, 5, 3]);
  const ys = randTensor(r, [3, 2]);
  checkGrads(m, xs, ys);
  m.dispose(); xs.dispose(); ys.dispose();
  assert.is(memoryStats().tensors, 0);
});

test('pooling and activation layers inside a model: lp, mixed (inference), adaptive, relu6, hardSigmoid, silu, reshape', () => {
  const r = rng(5);
  const m = sequential({ inputShape: [8, 8, 2], seed: 2, layers: [
    layers.conv2d({ filters: 3, kernelSize: 3, activation: 'silu' }),
    layers.lpPool2d({ p: 2, poolSize: 2 }),
    layers.relu6(),
    layers.conv2d({ filters: 4, kernelSize: 1, activation: 'hardSigmoid' }),
    layers.adaptiveAvgPool2d({ outputSize: [2, 3] }),
    layers.reshape({ targetShape: [6, -1] }),
    layers.flatten(),
    layers.dense({ units: 3 }),
  ] });
  assert.equal(m.layers.map((l) => l.outputShape), [[6, 6, 3], [3, 3, 3], [3, 3, 3], [3, 3, 4], [2, 3, 4], [6, 4], [24], [3]]);
  const xs = randTensor(r, [2, 8, 8, 2]), ys = randTensor(r, [2, 3]);
  checkGrads(m, xs, ys);
  m.dispose(); xs.dispose(); ys.dispose();
  const mixed = sequential({ inputShape: [4, 4, 1], layers: [layers.mixedPool2d({ poolSize: 2 }), layers.adaptiveMaxPool2d({ outputSize: 1 })] });
  const x = tensor([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16], [1, 4, 4, 1]);
  // ½·max + ½·avg of each 2×2 window, then the max of the four.
  const y = mixed.predict(x);
  assert.equal(Array.from(y.toArray()), [0.5 * 16 + 0.5 * 13.5]);
  mixed.dispose(); x.dispose(); y.dispose();
  assert.is(memoryStats().tensors, 0);
});

test('a shared layer (siamese) sums its gradients over both applications; multiple inputs and outputs', () => {
  const r = rng(8);
  const a = input({ shape: [5] }), b = input({ shape: [5] });
  const shared = layers.dense({ units: 4, activation: 'tanh', name: 'tower' });
  const ea = shared.apply(a), eb = shared.apply(b);
  const diff = layers.multiply().apply([ea, eb]);
  const head = layers.dense({ units: 1 }).apply(diff);
  const m = model({ inputs: [a, b], outputs: [head, ea], seed: 9 });
  assert.is(m.layers.filter((l) => l === shared).length, 1);
  assert.match(m.summary({ print: false }), '(shared)');
  const xa = randTensor(r, [4, 5]), xb = randTensor(r, [4, 5]), y1 = randTensor(r, [4, 1]), y2 = randTensor(r, [4, 4]);
  checkGrads(m, [xa, xb], [y1, y2]);
  const out = m.predict([xa, xb]);
  assert.is(out.length, 2);
  assert.equal(out[0].shape, [4, 1]);
  for (const t of [...out, xa, xb, y1, y2]) t.dispose();
  m.dispose();
  assert.is(memoryStats().tensors, 0);
});

test('batch normalization: training uses batch statistics and updates the moving ones; inference folds it into the convolution', () => {
  const r = rng(11);
  const x = input({ shape: [5, 5, 3] });
  const conv = layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', name: 'conv' });
  const bn = layers.batchNormalization({ momentum: 0.5, epsilon: 1e-3, name: 'bn' });
  const m = model({ inputs: x, outputs: layers.relu().apply(bn.apply(conv.apply(x))), seed: 1 });
  // Non-trivial statistics and affine parameters.
  bn.setWeights([randArray(r, 4, 0.5, 2), randArray(r, 4, -1, 1), randArray(r, 4, -0.5, 0.5), randArray(r, 4, 0.2, 3)]);
  const xs = randTensor(r, [2, 5, 5, 3]);
  const want = tidy(() => {
    const [k, bias] = conv.params;
    const [gamma, beta, mean, variance] = bn.params;
    return relu(batchNorm(conv2d(xs, k, { bias, padding: 'same' }), { mean, variance, gamma, beta, epsilon: 1e-3 })).toArray();
  });
  const got = tidy(() => m.predict(xs).toArray());
  // Folded weights round differently from the two-step computation: 1e-5 relative.
  allclose(got, want, 'conv+bn+relu folded vs unfolded', 1e-5, 1e-6);
  // One training step moves the moving statistics halfway to the batch's.
  const before = bn.params[2].toArray();
  m.compile({ optimizer: optimizers.sgd({ learningRate: 0 }), loss: 'meanSquaredError' });
  const ys = randTensor(r, [2, 5, 5, 4]);
  m.trainStep(xs, ys);
  const after = bn.params[2].toArray();
  assert.ok(after.some((v, i) => Math.abs(v - before[i]) > 1e-6), 'moving mean updated');
  // The folded plan follows the new statistics.
  const want2 = tidy(() => {
    const [k, bias] = conv.params;
    const [gamma, beta, mean, variance] = bn.params;
    return relu(batchNorm(conv2d(xs, k, { bias, padding: 'same' }), { mean, variance, gamma, beta, epsilon: 1e-3 })).toArray();
  });
  allclose(tidy(() => m.predict(xs).toArray()), want2, 'after an update', 1e-5, 1e-6);
  m.dispose(); xs.dispose(); ys.dispose();
  assert.is(memoryStats().tensors, 0);
});

test('graph models save and load with identical predictions (shared layers, merges, batch norm, upsampling)', () => {
  const r = rng(13);
  const x = input({ shape: [6, 6, 2], name: 'image' });
  const c1 = layers.conv2d({ filters: 3, kernelSize: 3, padding: 'same' });
  const h = layers.batchNormalization().apply(c1.apply(x));
  const k = layers.conv2d({ filters: 3, kernelSize: 1 });
  const twice = k.apply(k.apply(h));
  const cat = layers.concatenate({ axis: -1 }).apply([h, twice, layers.add().apply([h, twice])]);
  const out = layers.upSampling2d({ size: [2, 1] }).apply(layers.maxPool2d({ poolSize: 2, ceilMode: true }).apply(cat));
  const m = model({ inputs: x, outputs: out, seed: 3, name: 'net' });
  const xs = randTensor(r, [2, 6, 6, 2]);
  const a = tidy(() => m.predict(xs).toArray());
  const saved = m.save();
  const copy = loadModel({ topology: JSON.parse(JSON.stringify(saved.topology)), weights: saved.weights.slice(0) });
  assert.equal(Array.from(tidy(() => copy.predict(xs).toArray())), Array.from(a));
  assert.is(copy.summary({ print: false }), m.summary({ print: false }));
  m.dispose(); copy.dispose(); xs.dispose();
  assert.is(memoryStats().tensors, 0);
});

test('toFullyConvolutional: a classifier slides over a 56×56 canvas in one pass; each position equals the classifier on its crop', () => {
  const r = rng(17);
  const lenet = lenet5({ seed: 2 });
  const big = lenet.toFullyConvolutional({ inputShape: [56, 56, 1] });
  assert.equal(big.outputShape, [8, 8, 10]);
  assert.is(big.countParams(), lenet.countParams());
  // Without 'same' padding every output position sees exactly its crop (conv1 'same' would see the
  // canvas's pixels past the crop's border), so compare positions on a valid-padded classifier.
  const net = sequential({ inputShape: [28, 28, 1], seed: 5, layers: [
    layers.conv2d({ filters: 4, kernelSize: 5, activation: 'relu' }), layers.maxPool2d({ poolSize: 2 }),
    layers.conv2d({ filters: 6, kernelSize: 3, activation: 'relu' }), layers.maxPool2d({ poolSize: 2 }),
    layers.flatten(), layers.dense({ units: 16, activation: 'relu' }), layers.dropout({ rate: 0.5 }), layers.dense({ units: 10 }),
  ] });
  const fcn = net.toFullyConvolutional({ inputShape: [56, 56, 1] });
  assert.equal(fcn.outputShape, [8, 8, 10]);
  const canvas = randTensor(r, [1, 56, 56, 1]);
  const map = tidy(() => fcn.predict(canvas).toArray());
  const cv = canvas.toArray();
  // Position (i, j) is the classifier on the 28×28 crop at (4i, 4j): the two pools stride 4.
  for (const [i, j] of [[0, 0], [7, 7], [0, 7], [3, 5]]) {
    const crop = new Float32Array(28 * 28);
    for (let y = 0; y < 28; y++) for (let xx = 0; xx < 28; xx++) crop[y * 28 + xx] = cv[(4 * i + y) * 56 + 4 * j + xx];
    const want = tidy(() => net.predict(tensor(crop, [1, 28, 28, 1])).toArray());
    allclose(map.slice((i * 8 + j) * 10, (i * 8 + j) * 10 + 10), want, `position (${i}, ${j})`, 1e-4, 1e-5);
  }
  const same = lenet.toFullyConvolutional();
  const x28 = randTensor(r, [2, 28, 28, 1]);
  allclose(tidy(() => same.predict(x28).toArray()), tidy(() => lenet.predict(x28).toArray()), 'at 28×28 the FCN is the classifier', 1e-4, 1e-5);
  for (const t of [canvas, x28]) t.dispose();
  for (const m of [lenet, big, net, fcn, same]) m.dispose();
  assert.is(memoryStats().tensors, 0);
});

test('a siamese network trains with the contrastive loss through fit (custom loss function)', async () => {
  const r = rng(19);
  const N = 64;
  const a = input({ shape: [6] }), b = input({ shape: [6] });
  const tower = layers.dense({ units: 4 });
  const m = model({ inputs: [a, b], outputs: [tower.apply(a), tower.apply(b)], seed: 5 });
  // Pairs are "same" when their first coordinates share a sign.
  const xa = randArray(r, N * 6), xb = randArray(r, N * 6), same = new Float32Array(N);
  for (let i = 0; i < N; i++) same[i] = Math.sign(xa[i * 6]) === Math.sign(xb[i * 6]) ? 1 : 0;
  const ta = tensor(xa, [N, 6]), tb = tensor(xb, [N, 6]), ts = tensor(same, [N]);
  const label = tensor(same, [N, 1]);
  m.compile({
    optimizer: optimizers.adam({ learningRate: 0.02 }),
    loss: (outs, targets) => {
      const [ea, eb] = outs as Tensor[];
      const r2 = contrastive(ea, eb, ts, { margin: 1 });
      void targets;
      return { loss: r2.loss, grads: r2.grads };
    },
  });
  // fit passes batches; the custom loss here uses the full-batch labels, so train on the full batch.
  const h = await m.fit([ta, tb], [label, label], { epochs: 30, batchSize: N, shuffle: false, verbose: 0 });
  assert.ok(h.epochs[29].loss < h.epochs[0].loss * 0.8, `contrastive loss ${h.epochs[0].loss} → ${h.epochs[29].loss}`);
  assert.is(h.epochs[0].epoch, 0);
  for (const t of [ta, tb, ts, label]) t.dispose();
  m.dispose();
  assert.is(memoryStats().tensors, 0);
});

test('a fully convolutional autoencoder trains with a per-pixel loss; segmentation with per-pixel cross-entropy', async () => {
  const r = rng(23);
  const ae = sequential({ inputShape: [8, 8, 1], seed: 3, layers: [
    layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu' }),
    layers.maxPool2d({ poolSize: 2 }),
    layers.conv2dTranspose({ filters: 1, kernelSize: 2, strides: 2 }),
  ] });
  const x = randTensor(r, [32, 8, 8, 1], 0, 1);
  ae.compile({ optimizer: 'adam', loss: 'meanSquaredError' });
  const h = await ae.fit(x, x, { epochs: 15, batchSize: 8, verbose: 0 });
  assert.ok(h.epochs[14].loss < h.epochs[0].loss, 'reconstruction improves');
  assert.is(h.epochs[0].accuracy, undefined, 'no accuracy for a regression loss');
  const seg = sequential({ inputShape: [8, 8, 1], seed: 4, layers: [layers.conv2d({ filters: 2, kernelSize: 3, padding: 'same' })] });
  // Class 1 where the pixel is above 0.5.
  const lab = tensor(Int32Array.from(x.toArray(), (v) => (v > 0.5 ? 1 : 0)), [32, 8, 8], 'int32');
  seg.compile({ optimizer: optimizers.adam({ learningRate: 0.05 }), loss: 'softmaxCrossEntropy', metrics: ['accuracy'] });
  const hs = await seg.fit(x, lab, { epochs: 20, batchSize: 8, verbose: 0 });
  assert.ok(hs.epochs[19].accuracy! > 0.9, `per-pixel accuracy ${hs.epochs[19].accuracy}`);
  for (const t of [x, lab]) t.dispose();
  ae.dispose(); seg.dispose();
  assert.is(memoryStats().tensors, 0);
});

test('the defects of the issue: options, files, leaks, disposal, concurrency', async () => {
  const base = memoryStats();
  // Unknown and misspelt options are rejected, with the accepted keys and a suggestion.
  throwsTyped(() => layers.conv2d({ filters: 4, kernelSize: 3, dilationRate: 2, stride: 2 } as never), ArgumentError, "unknown option 'stride'", "did you mean 'strides'");
  throwsTyped(() => layers.dense({ units: 3, use_bias: false } as never), ArgumentError, "did you mean 'useBias'");
  throwsTyped(() => layers.maxPool2d({ size: 2, returnIndices: true } as never), ArgumentError, "unknown option 'size'", 'poolSize');
  throwsTyped(() => layers.prelu({ alphaInitializer: NaN }), ArgumentError, 'alphaInitializer');
  throwsTyped(() => layers.dense({ units: 3, activation: 'sigmod' as never }), ArgumentError, 'unknown activation');
  throwsTyped(() => layers.dense({ units: 3, kernelInitializer: 'he' as never }), ArgumentError, 'kernelInitializer');
  throwsTyped(() => tensor(['a', 1] as never, [2]), ArgumentError, 'tensor');
  // Corrupted files: typed errors, nothing allocated.
  const net = lenet5();
  const saved = net.save();
  const json = () => JSON.parse(JSON.stringify(saved.topology));
  throwsTyped(() => loadModel({ topology: json(), weights: null } as never), Error, 'weights');
  const proto = json(); proto.layers[0].type = '__proto__';
  throwsTyped(() => loadModel({ topology: proto, weights: saved.weights }), Error, 'not a layer type');
  const deep = json(); let v: unknown[] = [1]; for (let i = 0; i < 100_000; i++) v = [v]; deep.inputs[0].shape = v;
  throwsTyped(() => loadModel({ topology: deep, weights: saved.weights }), Error, 'shape');
  const huge = json(); huge.layers[0].config.filters = 16777216;
  const before = memoryStats();
  throwsTyped(() => loadModel({ topology: huge, weights: saved.weights }), Error, 'bytes');
  assert.equal(memoryStats(), before, 'nothing allocated for a huge declared layer');
  // A failing fit step, predict and evaluate leak nothing.
  net.compile({ optimizer: 'adam', loss: 'softmaxCrossEntropy' });
  const x = tensor(new Float32Array(4 * 784), [4, 28, 28, 1]);
  const bad = tensor([0, 1, 2, 99], [4], 'int32');
  const y = tensor([0, 1, 2, 3], [4], 'int32');
  net.trainStep(x, y);
  const m0 = memoryStats();
  for (let i = 0; i < 3; i++) {
    try { await net.fit(x, bad, { epochs: 1, batchSize: 2, verbose: 0 }); assert.unreachable('a bad label must throw'); } catch (e) { assert.instance(e, Error); assert.not.instance(e, TypeError); }
  }
  throwsTyped(() => net.evaluate(x, bad), Error, 'label');
  assert.equal(memoryStats().bytes, m0.bytes, 'failed fit and evaluate leak nothing');
  // Disposing what fit holds is an error; two fits at once are an error.
  let disposeError: unknown = null;
  const run = net.fit(x, y, { epochs: 2, batchSize: 2, verbose: 0, onBatchEnd: () => { try { x.dispose(); } catch (e) { disposeError = e; } } });
  let second: unknown = null;
  try { await net.fit(x, y, { verbose: 0 }); } catch (e) { second = e; }
  await run;
  assert.instance(disposeError, ArgumentError);
  assert.instance(second, ArgumentError);
  assert.ok(!x.isDisposed);
  // A layer belongs to one model; a disposed model says so from every method.
  const shared = layers.dense({ units: 2 });
  const m1 = sequential({ inputShape: [3], layers: [shared] });
  throwsTyped(() => sequential({ inputShape: [3], layers: [shared] }), ArgumentError, 'belongs');
  m1.dispose();
  const t3 = tensor([1, 2, 3], [1, 3]);
  throwsTyped(() => m1.predict(t3), Error, 'disposed');
  t3.dispose();
  throwsTyped(() => m1.save(), Error, 'disposed');
  // compile twice with the same optimizer keeps it usable.
  const opt = optimizers.adam();
  net.compile({ optimizer: opt, loss: 'softmaxCrossEntropy' });
  net.compile({ optimizer: opt, loss: 'softmaxCrossEntropy' });
  net.trainStep(x, y);
  assert.type(net.getOptimizer()!.learningRate, 'number');
  net.dispose();
  for (const t of [x, bad, y]) t.dispose();
  assert.is(memoryStats().tensors, base.tensors);
});

test('a predict or a training step that throws midway frees its outputs and every live activation', () => {
  class Faulty extends Layer {
    readonly type = 'faulty';
    computeOutputShape([s]: number[][]): number[] { return s; }
    forward(): Tensor { throw new ShapeError('faulty: always fails'); }
    backward(): never { throw new Error('unreachable'); }
    getConfig(): Record<string, unknown> { return {}; }
  }
  const x = input({ shape: [6, 6, 2] });
  const a = layers.conv2d({ filters: 3, kernelSize: 3 }).apply(x);
  const b = layers.conv2d({ filters: 3, kernelSize: 1 }).apply(a);
  const m = model({ inputs: x, outputs: layers.add().apply([b, new Faulty().apply(a)]) });
  m.compile({ optimizer: 'sgd', loss: 'meanSquaredError' });
  const xs = randTensor(rng(1), [3, 6, 6, 2]), ys = randTensor(rng(2), [3, 4, 4, 3]);
  const before = memoryStats();
  throwsTyped(() => m.predict(xs, { batchSize: 2 }), ShapeError, 'always fails');
  throwsTyped(() => m.trainStep(xs, ys), ShapeError, 'always fails');
  throwsTyped(() => m.evaluate(xs, ys), ShapeError, 'always fails');
  assert.equal(memoryStats(), before);
  m.dispose(); xs.dispose(); ys.dispose();
  assert.is(memoryStats().tensors, 0);
});

test('a softmax output with a logits loss is warned about once per compile', () => {
  const warnings: string[] = [];
  const orig = console.warn;
  console.warn = (m: string) => warnings.push(m);
  try {
    const m = sequential({ inputShape: [4], layers: [layers.dense({ units: 3, activation: 'softmax' })] });
    m.compile({ optimizer: 'sgd', loss: 'softmaxCrossEntropy' });
    m.dispose();
  } finally {
    console.warn = orig;
  }
  assert.is(warnings.length, 1);
  assert.match(warnings[0], 'applies softmax');
});

test('shape errors name the layer; apply checks its inputs', () => {
  const x = input({ shape: [4, 4, 3] });
  const y = input({ shape: [4, 4, 2] });
  throwsTyped(() => layers.add().apply([x, layers.flatten().apply(y)]), ShapeError, 'add', 'broadcast');
  throwsTyped(() => layers.concatenate().apply([x, input({ shape: [5, 4, 2] })]), ShapeError, 'concatenate');
  const data = tensor([1], [1]);
  throwsTyped(() => layers.dense({ units: 2 }).apply(data as never), ArgumentError, 'symbolic');
  data.dispose();
  const z = input({ shape: [4, 4, 3] });
  throwsTyped(() => model({ inputs: x, outputs: layers.add().apply([x, z]) }), ArgumentError, 'not in inputs');
  assert.is(memoryStats().tensors, 0);
});

test('fuzz: random layer stacks with random (sometimes invalid) options build and run or throw typed errors; corrupted files too', () => {
  const r = rng(2024);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(r() * a.length)];
  const base = memoryStats();
  const makers: Array<() => Layer> = [
    () => layers.conv2d({ filters: pick([1, 2, 3, 0, 5]), kernelSize: pick([1, 2, 3, 9]), strides: pick([1, 2, 3]), padding: pick(['valid', 'same', 'full', 1, 'bogus'] as never[]), dilationRate: pick([1, 2]), activation: pick([undefined, 'relu', 'relu6', 'hardSwish', 'tanh', 'nope'] as never[]) }),
    () => layers.depthwiseConv2d({ kernelSize: pick([1, 3]), depthMultiplier: pick([1, 2]), padding: pick(['same', 'valid'] as const) }),
    () => layers.maxPool2d({ poolSize: pick([1, 2, 3, 7]), strides: pick([undefined, 1, 2]), ceilMode: pick([true, false]) }),
    () => layers.avgPool2d({ poolSize: pick([2, 3]), padding: pick(['same', 'valid', 1] as never[]), countIncludePad: pick([true, false]) }),
    () => layers.batchNormalization({ momentum: pick([0.9, 0.99, 2]) }),
    () => layers.upSampling2d({ size: pick([1, 2, [2, 3]] as never[]), interpolation: pick(['nearest', 'bilinear', 'cubic'] as never[]) }),
    () => layers.zeroPadding2d({ padding: pick([1, [1, 2], -1] as never[]) }),
    () => layers.dropout({ rate: pick([0, 0.3, 1.2]) }),
    () => layers.activation({ activation: pick(['relu', 'gelu', 'hardSigmoid', 'softmax', 'x'] as never[]) }),
    () => layers.globalAvgPool2d(),
    () => layers.flatten(),
    () => layers.dense({ units: pick([1, 3, -2]) }),
    () => layers.reshape({ targetShape: pick([[-1], [2, -1], [7, 7]] as never[]) }),
  ];
  let built = 0, rejected = 0;
  for (let c = 0; c < 200; c++) {
    const count = 1 + Math.floor(r() * 4);
    try {
      const ls: Layer[] = [];
      for (let i = 0; i < count; i++) ls.push(pick(makers)());
      const m = sequential({ inputShape: [1 + Math.floor(r() * 7), 1 + Math.floor(r() * 7), 1 + Math.floor(r() * 4)], layers: ls, seed: c });
      const x = randTensor(r, [2, ...m.inputShape]);
      try {
        const y = m.predict(x);
        assert.ok(y.toArray().every(Number.isFinite), `case ${c}: finite outputs`);
        y.dispose();
        built++;
      } finally {
        x.dispose();
        m.dispose();
      }
    } catch (e) {
      if (!(e instanceof ArgumentError || e instanceof ShapeError)) throw new Error(`case ${c}: ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
      rejected++;
    }
  }
  assert.ok(built > 30 && rejected > 30, `${built} built, ${rejected} rejected`);
  // Corrupted saved files.
  const net = sequential({ inputShape: [6, 6, 2], seed: 1, layers: [layers.conv2d({ filters: 3, kernelSize: 3 }), layers.batchNormalization(), layers.flatten(), layers.dense({ units: 2 })] });
  const saved = net.save();
  net.dispose();
  const text = JSON.stringify(saved.topology);
  const junk: unknown[] = [null, 0, -1, 1e300, 'x', '__proto__', [], {}, [[[]]], true];
  for (let c = 0; c < 300; c++) {
    const t = JSON.parse(text);
    // Replace one random value somewhere in the tree.
    const stack: Array<[Record<string, unknown> | unknown[], string | number]> = [];
    (function walk(o: unknown): void {
      if (o && typeof o === 'object') for (const k of Object.keys(o)) { stack.push([o as never, Array.isArray(o) ? Number(k) : k]); walk((o as Record<string, unknown>)[k]); }
    })(t);
    const [holder, key] = pick(stack);
    (holder as Record<string, unknown>)[key as string] = pick(junk);
    const w = r() < 0.2 ? saved.weights.slice(0, Math.floor(r() * saved.weights.byteLength)) : saved.weights;
    try {
      loadModel({ topology: t, weights: w }).dispose();
    } catch (e) {
      if (!(e instanceof Error) || e instanceof TypeError || e instanceof RangeError || !('name' in e) || !['FormatError', 'ArgumentError', 'ShapeError'].includes(e.name)) {
        throw new Error(`corruption ${c} (${JSON.stringify(key)}): ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
      }
    }
  }
  assert.equal(memoryStats().tensors, base.tensors);
  assert.equal(memoryStats().bytes, base.bytes);
});

test('inference: the convolutions of an inception block write their slices of the concatenation, bit-identical to the layer-by-layer result', () => {
  const r = rng(5);
  const x = input({ shape: [9, 7, 16] });
  // One branch per conv path: 1×1 (indirect GEMM), 3×3 on 16 channels (Winograd, through a
  // temporary), 3×3 on 4 channels with silu (im2col, then the activation pass), pool then 1×1
  // with 5 filters (a partial 8-column tile).
  const b1 = layers.conv2d({ filters: 8, kernelSize: 1, activation: 'relu' }).apply(x);
  const b2 = layers.conv2d({ filters: 16, kernelSize: 3, padding: 'same', activation: 'relu' }).apply(x);
  const b3 = layers.conv2d({ filters: 6, kernelSize: 3, padding: 'same', activation: 'silu' }).apply(layers.conv2d({ filters: 4, kernelSize: 1 }).apply(x));
  const b4 = layers.conv2d({ filters: 5, kernelSize: 1, activation: 'relu6' }).apply(layers.maxPool2d({ poolSize: 3, strides: 1, padding: 'same' }).apply(x));
  const cat = layers.concatenate().apply([b1, b2, b3, b4]);
  const head = layers.conv2d({ filters: 3, kernelSize: 1 }).apply(cat);
  const m = model({ inputs: x, outputs: [cat, head] });
  for (const l of m.layers) for (const p of l.params) { p.view().set(randArray(r, p.size, -0.5, 0.5)); p.version++; }
  const xs = randTensor(r, [2, 9, 7, 16]);
  const [c1, c2, c3a, c3, c4, ch] = m.layers.filter((l) => l.params.length).map((l) => l.params);
  const want = tidy(() => {
    const cv = (t: Tensor, [k, bias]: Tensor[], activation?: 'relu' | 'relu6' | 'silu') => conv2d(t, k, { bias, padding: 'same', activation });
    const y = concat([cv(xs, c1, 'relu'), cv(xs, c2, 'relu'), cv(cv(xs, c3a), c3, 'silu'), cv(maxPool2d(xs, { size: 3, strides: 1, padding: 'same' }), c4, 'relu6')]);
    return [y.toArray(), cv(y, ch).toArray()];
  });
  const before = memoryStats().tensors;
  for (let rep = 0; rep < 2; rep++) {
    const got = m.predict(xs) as Tensor[];
    assert.equal(got[0].shape, [2, 9, 7, 35]);
    got.forEach((t, i) => {
      const g = t.toArray(), w = want[i];
      assert.ok(g.every((v, j) => Object.is(v, w[j])), `output ${i} bit-identical`);
      t.dispose();
    });
    assert.is(memoryStats().tensors, before, 'nothing leaks');
  }
  m.dispose(); xs.dispose();
  assert.is(memoryStats().tensors, 0);
});

test('memory: inference frees each activation after its last reader (a branch keeps its input alive)', () => {
  const x = input({ shape: [8, 8, 4] });
  const a = layers.conv2d({ filters: 4, kernelSize: 1 }).apply(x);
  const b = layers.conv2d({ filters: 4, kernelSize: 1 }).apply(a);
  const c = layers.add().apply([a, b]);
  const m = model({ inputs: x, outputs: c });
  const bytes = (n: number) => n * 8 * 8 * 4 * 4;
  // x is freed once a is computed; a stays alive for the add: the peak is a + b + c.
  assert.is(m.memory({ batchSize: 1 }).activations, bytes(3));
  m.dispose();
});

test('two dropout layers draw different masks; masks follow the model seed', () => {
  const ones = tensor(new Float32Array(2 * 256).fill(1), [2, 256]);
  const masks = (seed: number) => {
    const d = sequential({ inputShape: [256], seed, layers: [layers.dropout({ rate: 0.5 }), layers.dropout({ rate: 0.5 })] });
    d.compile({ optimizer: optimizers.sgd({ learningRate: 0 }), loss: (outs) => {
      const o = outs as Tensor;
      const g = tidy(() => add(o, tensor(new Float32Array(o.size), o.shape as number[])));
      return { loss: 0, grads: g };
    } });
    let seen: Float32Array | null = null;
    d.layers[1].forward = ((orig) => (xs, ctx) => { seen = xs[0].toArray() as Float32Array; return orig.call(d.layers[1], xs, ctx); })(d.layers[1].forward);
    d.trainStep(ones, ones);
    d.dispose();
    return seen!;
  };
  const a = masks(3), b = masks(3), c = masks(4);
  assert.equal(Array.from(a), Array.from(b), 'same seed, same masks');
  assert.not.equal(Array.from(a), Array.from(c), 'another seed, other masks');
  // The first layer's mask is not the second's (the second sees the first's output: zeros where the first dropped).
  const zeros = a.filter((v) => v === 0).length;
  assert.ok(zeros > 180 && zeros < 340, `${zeros} of 512 dropped`);
  ones.dispose();
  assert.is(memoryStats().tensors, 0);
});

test.run();
