// Loaders build their layers without drawing random weights (setWeights follows): the seeded stream
// skips the draws in O(1) and ends where an ordinary build leaves it, ordinary models draw exactly
// as before, and a loaded model holds the saved weights.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { init, layers, loadModel, memoryStats, sequential, tensor, tidy, type Model, type SavedModel } from '../src/index.ts';
import { seededRandom } from '../src/layers/initializers.ts';
import { randArray, rng } from './helpers.ts';

test('seededRandom.skip(n) leaves the stream where n draws leave it', () => {
  for (const n of [0, 1, 7, 1000, 123457]) {
    const a = seededRandom(11), b = seededRandom(11);
    for (let i = 0; i < n; i++) a();
    b.skip(n);
    for (let i = 0; i < 5; i++) assert.is(b(), a(), `n ${n} draw ${i}`);
  }
  // Past 2^31 (chunked): 2^32 draws are the identity, and skips add up.
  const a = seededRandom(3), b = seededRandom(3), c = seededRandom(3);
  b.skip(2 ** 32);
  assert.is(b(), a());
  c.skip(3e9); c.skip(2 ** 32 - 3e9);
  assert.is(c(), seededRandom(3)());
});

const make = (seed: number) => sequential({
  seed,
  inputShape: [6, 6, 2],
  layers: [
    layers.conv2d({ filters: 3, kernelSize: 3, kernelInitializer: 'heNormal' }),
    layers.batchNormalization(),
    layers.flatten(),
    layers.dense({ units: 4, kernelInitializer: 'glorotUniform', biasInitializer: 'zeros' }),
  ],
});

test('loadModel: saved weights back, the seeded stream where a fresh build leaves it, nothing leaked', async () => {
  await init();
  const m = make(5);
  const stats = memoryStats().tensors;
  const saved = m.save() as SavedModel;
  const loaded = loadModel({ topology: JSON.parse(JSON.stringify(saved.topology)), weights: saved.weights.slice(0) }, { seed: 5 });
  const fresh = make(5);
  const w = (x: Model) => x.layers.flatMap((l) => l.params.map((p) => Array.from(p.view())));
  assert.equal(w(loaded), w(m));
  assert.equal(w(fresh), w(m), 'a seeded model draws the same initial weights');
  const next = (x: Model) => (x as unknown as { random: () => number }).random();
  for (let i = 0; i < 3; i++) assert.is(next(loaded), next(fresh));
  const x = tensor(randArray(rng(2), 2 * 6 * 6 * 2), [2, 6, 6, 2]);
  assert.equal(tidy(() => loaded.predict(x).toArray()), tidy(() => m.predict(x).toArray()));
  x.dispose(); loaded.dispose(); fresh.dispose();
  assert.is(memoryStats().tensors, stats);
  m.dispose();
});

test.run();
