// node-flags: --experimental-wasm-relaxed-simd
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  init, backend, tensor, zeros, memoryStats, tidy, optimizers,
  ArgumentError, DisposedError, DTypeError, ShapeError, type Backend, type Optimizer, type Tensor,
} from '../src/index.ts';
import { rt } from '../src/runtime/wasm.ts';
import { allclose, randArray, rng, throwsTyped } from './helpers.ts';
import { RefOptimizer, type RefConfig, type RefName } from './reference/optimizers.ts';

// Every optimizer against the float64 PyTorch reference. f32 rounding of each step's arithmetic
// (and of p between steps) stays far below rtol 1e-5 + atol 1e-6 over 8 steps.
const RTOL = 1e-5, ATOL = 1e-6;
// Element counts around the 4-lane vector: the scalar tail alone (1, 3), the body alone (4),
// both (7, 33), and a long run (1000).
const SIZES = [1, 3, 4, 7, 33, 1000];
const STEPS = 8;

interface Case { name: RefName; options: Record<string, number | boolean> }
const CASES: Case[] = [
  { name: 'sgd', options: { learningRate: 0.1 } },
  { name: 'sgd', options: { learningRate: 0.1, weightDecay: 0.1 } },
  { name: 'sgd', options: { learningRate: 0.1, momentum: 0.9 } },
  { name: 'sgd', options: { learningRate: 0.1, momentum: 0.9, weightDecay: 0.1 } },
  { name: 'sgd', options: { learningRate: 0.1, momentum: 0.9, nesterov: true } },
  { name: 'sgd', options: { learningRate: 0.1, momentum: 0.5, nesterov: true, weightDecay: 0.1 } },
  { name: 'adagrad', options: { learningRate: 0.1 } },
  { name: 'adagrad', options: { learningRate: 0.1, weightDecay: 0.1 } },
  { name: 'adagrad', options: { learningRate: 0.1, initialAccumulator: 0.1 } },
  { name: 'adagrad', options: { learningRate: 0.1, initialAccumulator: 0.1, weightDecay: 0.1, epsilon: 1e-6 } },
  { name: 'rmsprop', options: { learningRate: 0.01 } },
  { name: 'rmsprop', options: { learningRate: 0.01, weightDecay: 0.1 } },
  { name: 'rmsprop', options: { learningRate: 0.01, momentum: 0.5 } },
  { name: 'rmsprop', options: { learningRate: 0.01, momentum: 0.5, weightDecay: 0.1, rho: 0.9, epsilon: 1e-6 } },
  { name: 'adam', options: { learningRate: 0.01 } },
  { name: 'adam', options: { learningRate: 0.01, weightDecay: 0.1 } },
  { name: 'adam', options: { learningRate: 0.01, decoupled: true } },
  { name: 'adam', options: { learningRate: 0.01, weightDecay: 0.1, decoupled: true } },
  { name: 'adam', options: { learningRate: 0.05, beta1: 0.5, beta2: 0.9, epsilon: 1e-6, weightDecay: 0.01, decoupled: true } },
];

const make = (name: RefName, options?: Record<string, number | boolean>): Optimizer =>
  (optimizers[name] as (o?: object) => Optimizer)(options);

test.before(async () => {
  await init();
});

/** Run one case for STEPS steps on params of every size at once, checking p after each step and the state at the end. */
function checkCase(c: Case, seed: number): void {
  const r = rng(seed);
  const ctx = `${backend()} ${c.name} ${JSON.stringify(c.options)} seed ${seed}`;
  const opt = make(c.name, c.options);
  const ref = new RefOptimizer(c.name, opt.config as unknown as RefConfig);
  const init0 = SIZES.map((n) => randArray(r, n));
  const params = init0.map((d) => tensor(d, [d.length]));
  try {
    const refParams = init0.map((d) => Float64Array.from(d));
    for (let s = 0; s < STEPS; s++) {
      const gd = SIZES.map((n) => randArray(r, n));
      tidy(() => opt.step(params, gd.map((d) => tensor(d, [d.length]))));
      ref.step(refParams, gd);
      params.forEach((p, i) => allclose(p.toArray(), refParams[i], `${ctx} step ${s + 1} size ${SIZES[i]}`, RTOL, ATOL));
    }
    // The state matches PyTorch's too (the buffers a checkpoint would hold).
    const state = opt.getState!(params);
    params.forEach((p, i) => {
      const want = ref.state.get(refParams[i])!;
      const got = state.params[i];
      assert.is(p.version, STEPS, ctx);
      if (Object.keys(want.buffers).length === 0) { assert.is(got, null, ctx); return; }
      assert.ok(got, ctx);
      assert.is(got!.step, STEPS, ctx);
      assert.equal(Object.keys(got!.buffers).sort(), Object.keys(want.buffers).sort(), ctx);
      for (const [name, buf] of Object.entries(want.buffers)) {
        allclose(got!.buffers[name], buf, `${ctx} state ${name} size ${SIZES[i]}`, RTOL, ATOL);
      }
    });
  } finally {
    // Clean up even on failure, so one failing case does not fail the leak checks of every later test.
    opt.dispose();
    for (const p of params) p.dispose();
  }
}

test('every optimizer and option combination matches the float64 PyTorch reference (sizes 1–1000, 8 steps)', () => {
  const before = rt().heap.blocks;
  CASES.forEach((c, i) => checkCase(c, 100 + i));
  assert.is(rt().heap.blocks, before);
  assert.is(memoryStats().tensors, 0);
});

test('defaults are PyTorch’s (and Keras’s for the learning rates)', () => {
  assert.equal(optimizers.sgd().config, { learningRate: 0.01, momentum: 0, nesterov: false, weightDecay: 0 });
  assert.equal(optimizers.adagrad().config, { learningRate: 0.01, epsilon: 1e-10, initialAccumulator: 0, weightDecay: 0 });
  assert.equal(optimizers.rmsprop().config, { learningRate: 0.01, rho: 0.99, epsilon: 1e-8, momentum: 0, weightDecay: 0 });
  assert.equal(optimizers.adam().config, { learningRate: 0.001, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0, decoupled: false });
  for (const name of ['sgd', 'adagrad', 'rmsprop', 'adam'] as const) {
    const o = make(name);
    assert.is(o.name, name);
    assert.ok(Object.isFrozen(o.config));
  }
});

test('defaults match the reference too (one case per optimizer with no options)', () => {
  (['sgd', 'adagrad', 'rmsprop', 'adam'] as const).forEach((name, i) => checkCase({ name, options: {} }, 300 + i));
  assert.is(memoryStats().tensors, 0);
});

test('a parameter that joins later gets its own Adam step count (bias correction from t = 1)', () => {
  const r = rng(7);
  const opt = optimizers.adam({ learningRate: 0.1 });
  const ref = new RefOptimizer('adam', opt.config);
  const ad = randArray(r, 5), bd = randArray(r, 6);
  const a = tensor(ad, [5]), b = tensor(bd, [2, 3]);
  const ra = Float64Array.from(ad), rb = Float64Array.from(bd);
  for (let s = 0; s < 4; s++) {
    const ga = randArray(r, 5), gb = randArray(r, 6);
    if (s < 2) {
      tidy(() => opt.step([a], [tensor(ga, [5])]));
      ref.step([ra], [ga]);
    } else {
      tidy(() => opt.step([b, a], [tensor(gb, [2, 3]), tensor(ga, [5])]));
      ref.step([rb, ra], [gb, ga]);
    }
  }
  allclose(a.toArray(), ra, 'a', RTOL, ATOL);
  allclose(b.toArray(), rb, 'b', RTOL, ATOL);
  assert.equal(opt.getState!([a, b]).params.map((s) => s?.step), [4, 2]);
  opt.dispose();
  a.dispose();
  b.dispose();
});

test('each optimizer minimises Σ(p − target)² to below 1e-3 within a bounded number of steps', () => {
  const r = rng(11);
  const n = 33;
  const target = randArray(r, n, -2, 2);
  const runs: Array<[string, Optimizer, number]> = [
    ['sgd', optimizers.sgd({ learningRate: 0.1 }), 50],
    ['sgd momentum', optimizers.sgd({ learningRate: 0.05, momentum: 0.9 }), 100],
    ['sgd nesterov', optimizers.sgd({ learningRate: 0.05, momentum: 0.9, nesterov: true }), 100],
    ['adagrad', optimizers.adagrad({ learningRate: 0.5 }), 200],
    ['rmsprop', optimizers.rmsprop({ learningRate: 0.01 }), 1000],
    ['rmsprop momentum', optimizers.rmsprop({ learningRate: 0.01, momentum: 0.5 }), 500],
    ['adam', optimizers.adam({ learningRate: 0.05 }), 300],
    ['adamw (wd 0)', optimizers.adam({ learningRate: 0.05, decoupled: true }), 300],
  ];
  for (const [label, opt, maxSteps] of runs) {
    const p = tensor(randArray(r, n, -2, 2), [n]);
    let loss = Infinity, steps = 0;
    for (; steps < maxSteps; steps++) {
      const pv = p.toArray();
      loss = 0;
      const g = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        loss += (pv[i] - target[i]) ** 2;
        g[i] = 2 * (pv[i] - target[i]);
      }
      if (loss < 1e-3) break;
      tidy(() => opt.step([p], [tensor(g, [n])]));
    }
    assert.ok(loss < 1e-3, `${label}: loss ${loss} after ${steps} steps (bound ${maxSteps})`);
    opt.dispose();
    p.dispose();
  }
  assert.is(memoryStats().tensors, 0);
});

test('state lives in one block per parameter, freed with the parameter or the optimizer', () => {
  const heap = rt().heap;
  const blocks0 = heap.blocks, bytes0 = heap.bytesInUse;
  const a = zeros([3, 5]), b = zeros([7]);
  const ga = zeros([3, 5]), gb = zeros([7]);
  const opt = optimizers.adam();
  assert.is(opt.stateBytes(), 0, 'nothing allocated before the first step');
  assert.is(opt.stateBytes([a, b]), 2 * 4 * 22, 'adam: two buffers');
  opt.step([a, b], [ga, gb]);
  assert.is(heap.blocks, blocks0 + 4 + 2);
  assert.is(opt.stateBytes(), 2 * 4 * 22);
  opt.step([a, b], [ga, gb]);
  assert.is(heap.blocks, blocks0 + 4 + 2, 'allocated once');
  a.dispose();
  assert.is(heap.blocks, blocks0 + 3 + 1, 'disposing a parameter frees its state');
  assert.is(opt.stateBytes(), 2 * 4 * 7);
  opt.dispose();
  opt.dispose();
  assert.is(heap.blocks, blocks0 + 3, 'disposing the optimizer frees the rest');
  assert.is(opt.stateBytes(), 0);
  b.dispose();
  ga.dispose();
  gb.dispose();
  assert.is(heap.blocks, blocks0);
  assert.is(heap.bytesInUse, bytes0);
  assert.is(memoryStats().tensors, 0);
});

test('stateBytes per optimizer: sgd 0 or 1 buffer, adagrad 1, rmsprop 1 or 2, adam 2 (also from sizes alone)', () => {
  const sizes = [{ size: 10 }, { size: 3 }];
  assert.is(optimizers.sgd().stateBytes(sizes), 0);
  assert.is(optimizers.sgd({ momentum: 0.9 }).stateBytes(sizes), 52);
  assert.is(optimizers.adagrad().stateBytes(sizes), 52);
  assert.is(optimizers.rmsprop().stateBytes(sizes), 52);
  assert.is(optimizers.rmsprop({ momentum: 0.9 }).stateBytes(sizes), 104);
  assert.is(optimizers.adam().stateBytes(sizes), 104);
  assert.is(optimizers.adam({ decoupled: true }).stateBytes([]), 0);
  throwsTyped(() => optimizers.adam().stateBytes([{ size: -1 }]), ArgumentError, 'adam.stateBytes', 'params[0]');
  // Plain SGD keeps nothing at all.
  const blocks0 = rt().heap.blocks;
  const p = zeros([9]), g = zeros([9]);
  const opt = optimizers.sgd();
  opt.step([p], [g]);
  assert.is(rt().heap.blocks, blocks0 + 2);
  assert.is(opt.stateBytes(), 0);
  assert.equal(opt.getState!([p]).params, [null]);
  opt.dispose();
  p.dispose();
  g.dispose();
});

test('step bumps each parameter’s version once (not the gradient’s), and handles empty tensors', () => {
  const p = tensor([1, 2, 3]), q = zeros([2, 2]), g = tensor([1, 1, 1]), h = zeros([2, 2]);
  const e = zeros([0]), ge = zeros([0]);
  for (const opt of [optimizers.sgd({ momentum: 0.9 }), optimizers.adam(), optimizers.adagrad(), optimizers.rmsprop({ momentum: 0.1 })]) {
    const v0 = p.version, w0 = q.version;
    opt.step([p, q, e], [g, h, ge]);
    assert.is(p.version, v0 + 1, opt.name);
    assert.is(q.version, w0 + 1, opt.name);
    opt.dispose();
  }
  assert.is(g.version, 0);
  assert.is(h.version, 0);
  assert.is(e.version, 4);
  for (const t of [p, q, g, h, e, ge]) t.dispose();
  assert.is(memoryStats().tensors, 0);
});

test('step errors are typed and name the optimizer, the index and the shapes; nothing changes on error', () => {
  tidy(() => {
    const a = tensor([1, 2, 3, 4]), b = tensor([1, 2, 3]);
    const ga = tensor([1, 1, 1, 1]), gb = tensor([1, 1, 1]);
    const opt = optimizers.sgd({ learningRate: 0.5 });
    throwsTyped(() => opt.step([a, b], [ga]), ArgumentError, 'sgd.step', '2 params', '1 grads');
    throwsTyped(() => opt.step([a, b], [ga, ga]), ShapeError, 'sgd.step', 'grads[1] [4]', 'params[1] [3]');
    throwsTyped(() => opt.step([a], [tensor([1, 2, 3, 4], [2, 2])]), ShapeError, 'grads[0] [2,2]', 'params[0] [4]');
    throwsTyped(() => opt.step([tensor([1, 2, 3, 4], [4], 'int32')], [ga]), DTypeError, 'sgd.step', 'params[0]', 'float32', 'int32');
    throwsTyped(() => opt.step([a], [tensor([1, 2, 3, 4], [4], 'int32')]), DTypeError, 'grads[0]', 'int32');
    throwsTyped(() => opt.step([a, {} as Tensor], [ga, gb]), ArgumentError, 'sgd.step', 'params[1]', 'Tensor');
    throwsTyped(() => opt.step([a, a], [ga, ga]), ArgumentError, 'params[1]', 'params[0]');
    throwsTyped(() => opt.step(a as unknown as Tensor[], [ga]), ArgumentError, 'params must be an array');
    const c = tensor([1, 2, 3]);
    c.dispose();
    throwsTyped(() => opt.step([a, c], [ga, gb]), DisposedError, 'sgd.step', 'params[1] [3]');
    // A bad second pair is caught before the first parameter moves.
    assert.equal(Array.from(a.toArray()), [1, 2, 3, 4]);
    assert.is(a.version, 0);
    opt.step([a, b], [ga, gb]);
    assert.equal(Array.from(a.toArray()), [0.5, 1.5, 2.5, 3.5]);
    opt.dispose();
    throwsTyped(() => opt.step([a], [ga]), DisposedError, 'sgd.step', 'optimizer was disposed');
    const adam = optimizers.adam();
    adam.dispose();
    throwsTyped(() => adam.step([a], [ga]), DisposedError, 'adam.step');
  });
  assert.is(memoryStats().tensors, 0);
});

test('option errors are typed and name the option', () => {
  throwsTyped(() => optimizers.sgd({ nesterov: true }), ArgumentError, 'optimizers.sgd', 'nesterov requires momentum > 0');
  throwsTyped(() => optimizers.sgd({ learningRate: -1 }), ArgumentError, 'optimizers.sgd', 'learningRate');
  throwsTyped(() => optimizers.sgd({ momentum: NaN }), ArgumentError, 'momentum');
  throwsTyped(() => optimizers.sgd({ nesterov: 1 as unknown as boolean, momentum: 0.9 }), ArgumentError, 'nesterov', 'true or false');
  throwsTyped(() => optimizers.sgd({ lr: 0.1 } as object), ArgumentError, "unknown option 'lr'", 'learningRate');
  throwsTyped(() => optimizers.adam({ beta1: 1 }), ArgumentError, 'optimizers.adam', 'beta1', '[0, 1)');
  throwsTyped(() => optimizers.adam({ beta2: 1.5 }), ArgumentError, 'beta2');
  throwsTyped(() => optimizers.adam({ epsilon: -1e-8 }), ArgumentError, 'epsilon');
  throwsTyped(() => optimizers.adam({ decoupled: 'yes' as unknown as boolean }), ArgumentError, 'decoupled');
  throwsTyped(() => optimizers.rmsprop({ rho: 1.5 }), ArgumentError, 'optimizers.rmsprop', 'rho');
  throwsTyped(() => optimizers.adagrad({ initialAccumulator: -0.1 }), ArgumentError, 'optimizers.adagrad', 'initialAccumulator');
  throwsTyped(() => optimizers.adagrad({ weightDecay: Infinity }), ArgumentError, 'weightDecay');
  throwsTyped(() => optimizers.adagrad(5 as unknown as object), ArgumentError, 'options must be an object');
});

test('getOptimizer turns names into optimizers with default settings and passes optimizers through', () => {
  for (const name of ['sgd', 'adam', 'adagrad', 'rmsprop'] as const) {
    const o = optimizers.getOptimizer(name);
    assert.is(o.name, name);
    assert.equal(o.config, make(name).config);
  }
  assert.is(optimizers.getOptimizer('Adam').name, 'adam');
  assert.is(optimizers.getOptimizer('RMSprop').name, 'rmsprop');
  const mine = optimizers.sgd({ momentum: 0.9 });
  assert.is(optimizers.getOptimizer(mine), mine);
  const custom: Optimizer = { name: 'mine', config: {}, step() {}, stateBytes: () => 0, dispose() {} };
  assert.is(optimizers.getOptimizer(custom), custom);
  throwsTyped(() => optimizers.getOptimizer('adamw'), ArgumentError, 'getOptimizer', '"adamw"', "'sgd'", "'adam'", "'adagrad'", "'rmsprop'");
  throwsTyped(() => optimizers.getOptimizer(42 as unknown as string), ArgumentError, 'getOptimizer', "'sgd'", '42');
  throwsTyped(() => optimizers.getOptimizer({ name: 'x' } as unknown as Optimizer, 'compile'), ArgumentError, 'compile', 'Optimizer');
  // A string spec's optimizer works.
  tidy(() => {
    const p = tensor([1, 2]);
    optimizers.getOptimizer('sgd').step([p], [tensor([1, 1])]);
    allclose(p.toArray(), [0.99, 1.99], 'sgd from a name', RTOL, ATOL);
  });
  assert.is(memoryStats().tensors, 0);
});

test('learningRate can change between steps (schedules); config follows and the next step uses it', () => {
  const r = rng(31);
  for (const name of ['sgd', 'adagrad', 'rmsprop', 'adam'] as const) {
    const opt = optimizers[name]({ learningRate: 0.1, weightDecay: 0.1, ...(name === 'adam' ? { decoupled: true } : {}) });
    const ref = new RefOptimizer(name, { ...opt.config });
    const d0 = randArray(r, 9);
    const p = tensor(d0, [9]), rp = Float64Array.from(d0);
    for (let s = 0; s < 4; s++) {
      if (s === 2) {
        opt.learningRate *= 0.5;
        ref.config.learningRate *= 0.5;
        assert.is(opt.config.learningRate, 0.05);
        assert.ok(Object.isFrozen(opt.config));
      }
      const g = randArray(r, 9);
      tidy(() => opt.step([p], [tensor(g, [9])]));
      ref.step([rp], [g]);
    }
    allclose(p.toArray(), rp, `${name} with a halved learning rate`, RTOL, ATOL);
    throwsTyped(() => { opt.learningRate = -1; }, ArgumentError, name, 'learningRate');
    throwsTyped(() => { opt.learningRate = NaN; }, ArgumentError, 'learningRate');
    assert.is(opt.learningRate, 0.05);
    opt.dispose();
    p.dispose();
  }
  assert.is(memoryStats().tensors, 0);
});

test('getState / setState round-trip: a restored optimizer continues exactly where the first was', () => {
  const r = rng(21);
  for (const opt of [optimizers.adam({ learningRate: 0.05 }), optimizers.rmsprop({ momentum: 0.5 }), optimizers.sgd({ momentum: 0.9 }), optimizers.adagrad({ initialAccumulator: 0.2 })]) {
    const d0 = randArray(r, 11);
    const p = tensor(d0, [11]);
    for (let s = 0; s < 3; s++) tidy(() => opt.step([p], [tensor(randArray(r, 11), [11])]));
    const saved = opt.getState!([p]);
    const q = tensor(p.toArray(), [11]);
    const restored = make(opt.name as RefName, opt.config as Record<string, number | boolean>);
    restored.setState!([q], saved);
    assert.equal(restored.getState!([q]), saved, opt.name);
    for (let s = 0; s < 3; s++) {
      const g = randArray(r, 11);
      tidy(() => {
        opt.step([p], [tensor(g, [11])]);
        restored.step([q], [tensor(g, [11])]);
      });
    }
    assert.equal(Array.from(q.toArray()), Array.from(p.toArray()), opt.name);
    throwsTyped(() => restored.setState!([q], { name: 'other', params: [null] }), ArgumentError, `${opt.name}.setState`);
    throwsTyped(() => restored.setState!([q, p], saved), ArgumentError, '1 parameters', '2 params');
    const bad = { name: saved.name, params: [{ step: 1, buffers: Object.fromEntries(Object.keys(saved.params[0]!.buffers).map((k) => [k, new Float32Array(3)])) }] };
    throwsTyped(() => restored.setState!([q], bad), ShapeError, 'params[0]', '11 floats');
    for (const o of [opt, restored]) o.dispose();
    p.dispose();
    q.dispose();
  }
  assert.is(memoryStats().tensors, 0);
});

// Every build, once: relaxed SIMD (fused multiply-add), SIMD128, scalar (the tail formula alone).
// These replace the runtime, so they come last and restore the default.
const BUILDS: Backend[] = ['relaxed-simd', 'simd', 'scalar'];
for (const build of BUILDS) {
  test(`${build}: every case matches the reference`, async () => {
    assert.is(await init({ backend: build }), build);
    const before = rt().heap.blocks;
    CASES.forEach((c, i) => checkCase(c, 500 + i));
    assert.is(rt().heap.blocks, before);
    assert.is(memoryStats().tensors, 0);
  });
}

test('an optimizer outlives init() replacing the runtime: old state is dropped, not freed twice', async () => {
  const opt = optimizers.adam();
  const p = zeros([5]), g = tensor([1, 2, 3, 4, 5]);
  opt.step([p], [g]);
  assert.is(opt.stateBytes(), 20 * 2);
  await init({ backend: 'simd' });
  assert.ok(p.isDisposed);
  assert.is(opt.stateBytes(), 0);
  const blocks0 = rt().heap.blocks;
  const q = zeros([5]), h = tensor([1, 2, 3, 4, 5]);
  opt.step([q], [h]);
  assert.is(opt.getState!([q]).params[0]!.step, 1);
  opt.dispose();
  q.dispose();
  h.dispose();
  assert.is(rt().heap.blocks, blocks0);
  await init({ backend: 'relaxed-simd' });
});

test.run();
