import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { init, tensor, tidy, input, model, layers, conv2d, DisposedError, type Tensor } from '../src/index.ts';
import { equalArrays, randArray, rng, throwsTyped } from './helpers.ts';

// Convolution layers in inference keep the geometry an op call validated (src/layers/conv.ts,
// `known`) and later calls with the same shapes run the kernels directly. Those calls must give
// exactly what the op gives, through every inference path (plain, batch normalization folded,
// written into a concatenation's slice), across batch sizes and weight updates, and still refuse
// disposed tensors. Predictions run inside tidy, which disposes the plan's folded weights made in
// it: the next prediction rebuilds them (it threw a DisposedError: a model with batch
// normalization could predict once per tidy).

test.before(async () => {
  await init();
});

/** A small graph with every path: conv (silu), depthwise (relu6), folded BN + relu, concatenation slices, separable. */
function build(seed: number) {
  const x = input({ shape: [9, 11, 6] });
  const a = layers.conv2d({ filters: 12, kernelSize: 1, activation: 'silu' }).apply(x);
  const d = layers.depthwiseConv2d({ kernelSize: 3, strides: 2, padding: 'same', activation: 'relu6' }).apply(a);
  const b = layers.relu().apply(layers.batchNormalization().apply(layers.conv2d({ filters: 8, kernelSize: 3, padding: 'same', useBias: false }).apply(d)));
  const e1 = layers.conv2d({ filters: 5, kernelSize: 1, activation: 'relu' }).apply(b);
  const e3 = layers.conv2d({ filters: 7, kernelSize: 3, padding: 'same', activation: 'relu' }).apply(b);
  const cat = layers.concatenate().apply([e1, e3]);
  const y = layers.separableConv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'sigmoid' }).apply(cat);
  const m = model({ inputs: x, outputs: y });
  const r = rng(seed);
  for (const l of m.layers) {
    l.params.forEach((p, i) => {
      const variance = /variance/i.test(l.paramNames[i]);
      p.view().set(randArray(r, p.size, variance ? 0.5 : -0.5, variance ? 1.5 : 0.5));
      p.version++;
    });
  }
  return m;
}

test('repeated predictions (inside tidy) equal the first (validated) one, bit for bit, for batch sizes 1, 3, 1', () => {
  const r = rng(5);
  const xs = [1, 3, 1].map((n) => randArray(r, n * 9 * 11 * 6));
  const want = xs.map((xd, i) => {
    const fresh = build(11);
    const y = tidy(() => fresh.predict(tensor(xd, [xd.length / 594, 9, 11, 6])).toArray());
    fresh.dispose();
    return { y, i };
  });
  const m = build(11);
  for (let round = 0; round < 3; round++) {
    xs.forEach((xd, i) => {
      // Twice in a row: the second call runs on the kept geometry.
      for (let k = 0; k < 2; k++) {
        const y = tidy(() => m.predict(tensor(xd, [xd.length / 594, 9, 11, 6])).toArray());
        equalArrays(y, want[i].y, `round ${round} input ${i} call ${k}`);
      }
    });
  }
  m.dispose();
});

test('new weights (same shapes) are used by the next prediction', () => {
  const m = build(11), other = build(12);
  const xd = randArray(rng(6), 2 * 594);
  const before = tidy(() => m.predict(tensor(xd, [2, 9, 11, 6])).toArray());
  const { weights, index } = other.save({ weightsOnly: true }) as { weights: ArrayBuffer; index: Parameters<typeof m.setWeights>[1] };
  m.setWeights(weights, index);
  const after = tidy(() => m.predict(tensor(xd, [2, 9, 11, 6])).toArray());
  const ref = tidy(() => other.predict(tensor(xd, [2, 9, 11, 6])).toArray());
  equalArrays(after, ref, 'after setWeights');
  assert.ok(after.every((v) => Number.isFinite(v)), 'finite outputs');
  assert.ok(after.some((v, i) => v !== before[i]), 'the prediction changed');
  m.dispose();
  other.dispose();
});

test('a layer applied directly: same results as conv2d, a disposed input still throws', () => {
  const conv = layers.conv2d({ filters: 6, kernelSize: 3, strides: 2, padding: 'same', activation: 'silu' }) as ReturnType<typeof layers.conv2d> & { kernel: Tensor; bias: Tensor };
  const x = input({ shape: [7, 8, 5] });
  const m = model({ inputs: x, outputs: conv.apply(x) });
  const r = rng(9);
  const xd = randArray(r, 2 * 7 * 8 * 5);
  tidy(() => {
    const xt = tensor(xd, [2, 7, 8, 5]);
    const want = conv2d(xt, conv.kernel, { strides: 2, padding: 'same', bias: conv.bias, activation: 'silu' }).toArray();
    for (let i = 0; i < 3; i++) equalArrays(m.predict(xt).toArray(), want, `call ${i}`);
  });
  const xt = tensor(xd, [2, 7, 8, 5]);
  xt.dispose();
  throwsTyped(() => m.predict(xt), DisposedError, 'disposed');
  m.dispose();
});

test.run();
