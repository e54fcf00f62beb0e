import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  init, backend, tensor, tidy, memoryStats,
  softmaxCrossEntropy, hinge, contrastive, triplet, klDivergence, meanSquaredError, accuracy,
  ShapeError, ArgumentError, DTypeError, DisposedError, type LossResult,
} from '../src/index.ts';
import { allclose, randArray, randInt, rng, throwsTyped } from './helpers.ts';
import * as ref from './reference/loss.ts';

// Tolerances, against float64 references on float32 inputs:
// - loss values: |got − ref| ≤ 1e-6 + 1e-5·|ref| (per-row terms are float32, the sum float64);
// - gradients: the library's float32 gradients against central differences (eps 1e-6, in
//   float64) of the float64 reference, |got − fd| ≤ 1e-6 + 1e-4·|fd|;
// - end to end through the library (float32 losses perturbed by eps 1e-2, 'sum' reduction):
//   |got − fd| ≤ 2e-3 + 1e-2·|fd|.
const VALUE = { rtol: 1e-5, atol: 1e-6 };
const GRAD = { rtol: 1e-4, atol: 1e-6, eps: 1e-6 };
const LIB_FD = { rtol: 1e-2, atol: 2e-3, eps: 1e-2 };

test.before(async () => {
  await init();
});

const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];

function close(actual: number, expected: number, context: string, rtol = VALUE.rtol, atol = VALUE.atol): void {
  if (!(Math.abs(actual - expected) <= atol + rtol * Math.abs(expected))) {
    assert.unreachable(`${context}: loss ${actual}, expected ${expected} (|diff| ${Math.abs(actual - expected)})`);
  }
}

function noLeaks(): void {
  assert.is(memoryStats().tensors, 0, 'every tensor disposed');
}

/** The loss and the gradients as plain arrays, tensors disposed. */
function run(fn: () => LossResult): { loss: number; grads: Float32Array[] } {
  return tidy(() => {
    const r = fn();
    return { loss: r.loss, grads: r.grads.map((g) => g.toArray() as Float32Array) };
  });
}

/** Check value and gradients of one case: `lib(inputs)` through the library, `f(inputs)` the reference. */
function check(
  context: string, inputs: Float32Array[], differentiable: number[],
  lib: (inputs: Float32Array[]) => LossResult, f: (inputs: ArrayLike<number>[]) => number,
): void {
  const got = run(() => lib(inputs));
  close(got.loss, f(inputs), context);
  assert.is(got.grads.length, differentiable.length, `${context}: number of grads`);
  differentiable.forEach((which, i) => {
    const fd = ref.numericGrad((x) => f(inputs.map((v, j) => (j === which ? x : v))), inputs[which], GRAD.eps);
    allclose(got.grads[i], fd, `${context}: grad ${i} (input ${which})`, GRAD.rtol, GRAD.atol);
  });
}

/** Central differences through the library itself (float32), against its returned gradient. */
function checkThroughLibrary(context: string, inputs: Float32Array[], differentiable: number[], lib: (inputs: Float32Array[]) => LossResult): void {
  const got = run(() => lib(inputs));
  differentiable.forEach((which, i) => {
    const x = inputs[which];
    const fd = new Float64Array(x.length);
    for (let k = 0; k < x.length; k++) {
      const old = x[k];
      const at = (v: number) => {
        const copy = Float32Array.from(x);
        copy[k] = v;
        return run(() => lib(inputs.map((u, j) => (j === which ? copy : u)))).loss;
      };
      fd[k] = (at(old + LIB_FD.eps) - at(old - LIB_FD.eps)) / (2 * LIB_FD.eps);
    }
    allclose(got.grads[i], fd, `${context}: grad ${i} (input ${which}) through the library`, LIB_FD.rtol, LIB_FD.atol);
  });
}

// ---- random cases, one per loss (also run on the scalar build below) ----

const K_CHOICES = [1, 2, 3, 4, 5, 7, 8, 9, 12, 13];

function randLabels(r: () => number, N: number, K: number): Int32Array {
  return Int32Array.from({ length: N }, () => randInt(r, 0, K - 1));
}

/** Rows of positive values summing to about 1, with zeros where `zeroRate` says. */
function randProbs(r: () => number, N: number, K: number, zeroRate = 0): Float32Array {
  const p = new Float32Array(N * K);
  for (let i = 0; i < N; i++) {
    let s = 0;
    for (let k = 0; k < K; k++) s += p[i * K + k] = r() < zeroRate && k > 0 ? 0 : 0.05 + r();
    for (let k = 0; k < K; k++) p[i * K + k] /= s;
  }
  return p;
}

function caseSoftmaxCrossEntropy(r: () => number, seed: number, i: number): void {
  const N = randInt(r, 1, 9), K = pick(r, K_CHOICES);
  const kind = pick(r, ['int', 'int', 'onehot', 'probs'] as const);
  const smoothing = pick(r, [0, 0, 0.1, 0.3]);
  const reduction = pick(r, ['mean', 'sum'] as const);
  const x = randArray(r, N * K, -4, 4);
  const ints = randLabels(r, N, K);
  const y = kind === 'int' ? ints
    : kind === 'onehot' ? Float32Array.from({ length: N * K }, (_, j) => (ints[Math.floor(j / K)] === j % K ? 1 : 0))
    : randProbs(r, N, K);
  const ctx = `seed ${seed} case ${i}: softmaxCrossEntropy logits [${N},${K}] labels ${kind} smoothing ${smoothing} ${reduction}`;
  check(ctx, [x], [0],
    ([xs]) => softmaxCrossEntropy(tensor(xs, [N, K]), kind === 'int' ? tensor(y, [N], 'int32') : tensor(y, [N, K]), { labelSmoothing: smoothing, reduction }),
    ([xs]) => ref.softmaxCrossEntropyRef(xs, y, kind === 'int', N, K, smoothing, reduction));
}

function caseHinge(r: () => number, seed: number, i: number): void {
  const N = randInt(r, 1, 9), K = pick(r, K_CHOICES);
  const p = pick(r, [1, 2] as const), margin = pick(r, [1, 1, 0.5, 2]);
  const reduction = pick(r, ['mean', 'sum'] as const);
  const x = randArray(r, N * K, -2, 2), y = randLabels(r, N, K);
  const ctx = `seed ${seed} case ${i}: hinge scores [${N},${K}] p ${p} margin ${margin} ${reduction}`;
  check(ctx, [x], [0],
    ([xs]) => hinge(tensor(xs, [N, K]), tensor(y, [N], 'int32'), { p, margin, reduction }),
    ([xs]) => ref.hingeRef(xs, y, N, K, p, margin, reduction));
}

function caseContrastive(r: () => number, seed: number, i: number): void {
  const N = randInt(r, 1, 9), D = randInt(r, 1, 13);
  const margin = pick(r, [1, 2, 3]), intSame = r() < 0.5;
  const reduction = pick(r, ['mean', 'sum'] as const);
  const a = randArray(r, N * D), b = randArray(r, N * D);
  const same = Float32Array.from({ length: N }, () => (r() < 0.5 ? 1 : 0));
  const ctx = `seed ${seed} case ${i}: contrastive [${N},${D}] margin ${margin} same ${intSame ? 'int32' : 'float32'} ${reduction}`;
  check(ctx, [a, b], [0, 1],
    ([as, bs]) => contrastive(tensor(as, [N, D]), tensor(bs, [N, D]), tensor(same, [N], intSame ? 'int32' : 'float32'), { margin, reduction }),
    ([as, bs]) => ref.contrastiveRef(as, bs, same, N, D, margin, reduction));
}

function caseTriplet(r: () => number, seed: number, i: number): void {
  const N = randInt(r, 1, 9), D = randInt(r, 1, 13);
  const margin = pick(r, [0.5, 1, 2]);
  const reduction = pick(r, ['mean', 'sum'] as const);
  const a = randArray(r, N * D), p = randArray(r, N * D), n = randArray(r, N * D);
  const ctx = `seed ${seed} case ${i}: triplet [${N},${D}] margin ${margin} ${reduction}`;
  check(ctx, [a, p, n], [0, 1, 2],
    ([as, ps, ns]) => triplet(tensor(as, [N, D]), tensor(ps, [N, D]), tensor(ns, [N, D]), { margin, reduction }),
    ([as, ps, ns]) => ref.tripletRef(as, ps, ns, N, D, margin, reduction));
}

function caseKlDivergence(r: () => number, seed: number, i: number): void {
  const N = randInt(r, 1, 9), K = pick(r, K_CHOICES);
  const reduction = pick(r, ['mean', 'sum'] as const);
  const p = randProbs(r, N, K, 0.3), q = randProbs(r, N, K);
  const ctx = `seed ${seed} case ${i}: klDivergence [${N},${K}] ${reduction}`;
  check(ctx, [p, q], [1],
    ([ps, qs]) => klDivergence(tensor(ps, [N, K]), tensor(qs, [N, K]), { reduction }),
    ([ps, qs]) => ref.klDivergenceRef(ps, qs, N, reduction));
}

function caseMeanSquaredError(r: () => number, seed: number, i: number): void {
  const rank = randInt(r, 0, 4);
  const shape = Array.from({ length: rank }, () => randInt(r, 1, 6));
  const size = shape.reduce((s, d) => s * d, 1);
  const reduction = pick(r, ['mean', 'sum'] as const);
  const x = randArray(r, size), t = randArray(r, size);
  const ctx = `seed ${seed} case ${i}: meanSquaredError [${shape}] ${reduction}`;
  check(ctx, [x, t], [0],
    ([xs, ts]) => meanSquaredError(tensor(xs, shape), tensor(ts, shape), { reduction }),
    ([xs, ts]) => ref.meanSquaredErrorRef(xs, ts, reduction));
}

const CASES = {
  softmaxCrossEntropy: caseSoftmaxCrossEntropy,
  hinge: caseHinge,
  contrastive: caseContrastive,
  triplet: caseTriplet,
  klDivergence: caseKlDivergence,
  meanSquaredError: caseMeanSquaredError,
};

for (const [name, runCase] of Object.entries(CASES)) {
  test(`${name}: value and gradients match the float64 reference on 60 random batches (N 1–9, K/D 1–13)`, () => {
    const seed = 7000 + name.length;
    const r = rng(seed);
    for (let i = 0; i < 60; i++) runCase(r, seed, i);
    noLeaks();
  });
}

test('long rows and flat runs: K up to 1000, meanSquaredError over 10,007 elements (the f64 flush of f32 partial sums)', () => {
  const seed = 91;
  const r = rng(seed);
  for (const K of [16, 17, 31, 100, 1000]) {
    const N = 3;
    const x = randArray(r, N * K, -8, 8), y = randLabels(r, N, K);
    const got = run(() => softmaxCrossEntropy(tensor(x, [N, K]), tensor(y, [N], 'int32')));
    close(got.loss, ref.softmaxCrossEntropyRef(x, y, true, N, K), `seed ${seed} softmaxCrossEntropy K ${K}`);
    const h = run(() => hinge(tensor(x, [N, K]), tensor(y, [N], 'int32'), { p: 2 }));
    close(h.loss, ref.hingeRef(x, y, N, K, 2), `seed ${seed} hinge K ${K}`);
    const p = randProbs(r, N, K, 0.2), q = randProbs(r, N, K);
    close(run(() => klDivergence(tensor(p, [N, K]), tensor(q, [N, K]))).loss, ref.klDivergenceRef(p, q, N), `seed ${seed} klDivergence K ${K}`);
  }
  const n = 10007, x = randArray(r, n), t = randArray(r, n);
  const got = run(() => meanSquaredError(tensor(x, [n]), tensor(t, [n])));
  close(got.loss, ref.meanSquaredErrorRef(x, t), `seed ${seed} meanSquaredError [${n}]`);
  allclose(got.grads[0], Float64Array.from(x, (v, i) => (2 * (v - t[i])) / n), 'meanSquaredError grad', 1e-6, 1e-12);
  noLeaks();
});

test('gradients agree with central differences taken through the library itself (float32, eps 1e-2)', () => {
  const seed = 4242;
  const r = rng(seed);
  const N = 3, K = 5, D = 6;
  const sum = { reduction: 'sum' } as const;
  const y = randLabels(r, N, K);
  checkThroughLibrary('softmaxCrossEntropy', [randArray(r, N * K, -2, 2)], [0],
    ([x]) => softmaxCrossEntropy(tensor(x, [N, K]), tensor(y, [N], 'int32'), sum));
  checkThroughLibrary('hinge p 2', [randArray(r, N * K, -2, 2)], [0],
    ([x]) => hinge(tensor(x, [N, K]), tensor(y, [N], 'int32'), { ...sum, p: 2 }));
  const same = Float32Array.from([1, 0, 0]);
  checkThroughLibrary('contrastive', [randArray(r, N * D), randArray(r, N * D)], [0, 1],
    ([a, b]) => contrastive(tensor(a, [N, D]), tensor(b, [N, D]), tensor(same, [N]), { ...sum, margin: 3 }));
  checkThroughLibrary('triplet', [randArray(r, N * D), randArray(r, N * D), randArray(r, N * D)], [0, 1, 2],
    ([a, p, n]) => triplet(tensor(a, [N, D]), tensor(p, [N, D]), tensor(n, [N, D]), { ...sum, margin: 8 }));
  const p = randProbs(r, N, K, 0.3);
  checkThroughLibrary('klDivergence', [p, randProbs(r, N, K)], [1],
    ([ps, qs]) => klDivergence(tensor(ps, [N, K]), tensor(qs, [N, K]), sum));
  checkThroughLibrary('meanSquaredError', [randArray(r, 2 * 7), randArray(r, 2 * 7)], [0],
    ([x, t]) => meanSquaredError(tensor(x, [2, 7]), tensor(t, [2, 7]), sum));
  noLeaks();
});

test('the scalar build gives the same values and gradients (10 random batches per loss)', async () => {
  const before = backend();
  await init({ backend: 'scalar' });
  try {
    assert.is(backend(), 'scalar');
    for (const [name, runCase] of Object.entries(CASES)) {
      const seed = 8000 + name.length;
      const r = rng(seed);
      for (let i = 0; i < 10; i++) runCase(r, seed, i);
    }
    noLeaks();
  } finally {
    await init({ backend: before });
  }
});

test('SIMD body and scalar tail give bit-identical gradients for equal inputs (exp, division)', () => {
  const seed = 55;
  const r = rng(seed);
  for (let i = 0; i < 50; i++) {
    // Rows of 7: columns 0–3 run in the vector body, 4–6 in the scalar tail, and 4–6 repeat 0–2.
    const N = 3, K = 7;
    const x = new Float32Array(N * K), p = new Float32Array(N * K), q = new Float32Array(N * K);
    for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) {
      const src = n * K + (k < 4 ? k : k - 4);
      x[n * K + k] = k < 4 ? Math.fround((r() - 0.5) * 60) : x[src];
      p[n * K + k] = k < 4 ? Math.fround(r() < 0.2 ? 0 : r()) : p[src];
      q[n * K + k] = k < 4 ? Math.fround(0.01 + r()) : q[src];
    }
    const y = Int32Array.from([3, 3, 3]);
    const ce = run(() => softmaxCrossEntropy(tensor(x, [N, K]), tensor(y, [N], 'int32'), { labelSmoothing: 0.1 })).grads[0];
    const kl = run(() => klDivergence(tensor(p, [N, K]), tensor(q, [N, K]))).grads[0];
    for (let n = 0; n < N; n++) for (let k = 4; k < K; k++) {
      assert.is(ce[n * K + k], ce[n * K + k - 4], `seed ${seed} case ${i}: softmaxCrossEntropy grad [${n},${k}]`);
      assert.is(kl[n * K + k], kl[n * K + k - 4], `seed ${seed} case ${i}: klDivergence grad [${n},${k}]`);
    }
  }
  noLeaks();
});

// ---- special values ----

test('softmaxCrossEntropy: huge logits (±1e4) stay finite and exact', () => {
  const x = Float32Array.from([1e4, -1e4, 0, 5e3, /**/ -1e4, -1e4, -1e4, -1e4, /**/ 1e4, 1e4, -1e4, 0, /**/ -1e4, 3, 1e4, 2]);
  const y = Int32Array.from([1, 2, 0, 2]);
  const got = run(() => softmaxCrossEntropy(tensor(x, [4, 4]), tensor(y, [4], 'int32')));
  assert.ok(Number.isFinite(got.loss) && got.grads[0].every(Number.isFinite), 'finite');
  close(got.loss, ref.softmaxCrossEntropyRef(x, y, true, 4, 4), 'huge logits');
  close(got.loss, (2e4 + Math.log(4) + Math.log(2) + 0) / 4, 'huge logits, by hand');
  allclose(got.grads[0], [1, -1, 0, 0, 0.25, 0.25, -0.75, 0.25, -0.5, 0.5, 0, 0, 0, 0, 0, 0].map((g) => g / 4), 'grad', 1e-6, 1e-7);
  const probs = run(() => softmaxCrossEntropy(tensor(x, [4, 4]), tensor(randProbs(rng(3), 4, 4), [4, 4]), { labelSmoothing: 0.2 }));
  assert.ok(Number.isFinite(probs.loss) && probs.grads[0].every(Number.isFinite), 'finite with probability rows and smoothing');
  noLeaks();
});

test('softmaxCrossEntropy: one-hot float32 rows give the same loss and gradient as int32 labels; K = 1 costs 0', () => {
  const r = rng(5);
  const N = 6, K = 7;
  const x = randArray(r, N * K, -3, 3), y = randLabels(r, N, K);
  const onehot = Float32Array.from({ length: N * K }, (_, j) => (y[Math.floor(j / K)] === j % K ? 1 : 0));
  const a = run(() => softmaxCrossEntropy(tensor(x, [N, K]), tensor(y, [N], 'int32'), { labelSmoothing: 0.1 }));
  const b = run(() => softmaxCrossEntropy(tensor(x, [N, K]), tensor(onehot, [N, K]), { labelSmoothing: 0.1 }));
  close(a.loss, b.loss, 'int vs one-hot', 1e-6, 1e-7);
  allclose(a.grads[0], b.grads[0], 'int vs one-hot grads', 1e-6, 1e-8);
  const one = run(() => softmaxCrossEntropy(tensor([3, -2], [2, 1]), tensor([0, 0], [2], 'int32')));
  assert.is(one.loss, 0);
  assert.equal(Array.from(one.grads[0]), [0, 0]);
  noLeaks();
});

test('hinge: exactly at the margin costs 0 and has gradient 0 (p = 1 and 2)', () => {
  for (const p of [1, 2] as const) {
    const at = run(() => hinge(tensor([0.5, 1.5, -2], [1, 3]), tensor([1], [1], 'int32'), { p }));
    assert.is(at.loss, 0, `p ${p}`);
    assert.equal(Array.from(at.grads[0]), [0, 0, 0], `p ${p} grad`);
    const past = run(() => hinge(tensor([0.5, 1.5, 0.75], [1, 3]), tensor([1], [1], 'int32'), { p }));
    close(past.loss, p === 1 ? 0.25 : 0.0625, `p ${p} one active`);
    assert.equal(Array.from(past.grads[0]), p === 1 ? [0, -1, 1] : [0, -0.5, 0.5], `p ${p} one active, grad`);
  }
  noLeaks();
});

test('contrastive: a == b gives finite values and zero gradients; d exactly at the margin', () => {
  const r = rng(11);
  const N = 4, D = 5, margin = 1.5;
  const a = randArray(r, N * D);
  const same = Float32Array.from([0, 1, 0, 1]);
  const got = run(() => contrastive(tensor(a, [N, D]), tensor(a, [N, D]), tensor(same, [N]), { margin }));
  close(got.loss, (2 * margin * margin) / N, 'a == b');
  for (const g of got.grads) assert.ok(g.every((v) => v === 0), 'zero gradient, no NaN');
  const edge = run(() => contrastive(tensor([0, 0], [1, 2]), tensor([3, 4], [1, 2]), tensor([0], [1], 'int32'), { margin: 5 }));
  assert.is(edge.loss, 0);
  assert.equal([...edge.grads[0], ...edge.grads[1]], [0, 0, 0, 0]);
  const similar = run(() => contrastive(tensor([0, 0], [1, 2]), tensor([3, 4], [1, 2]), tensor([1], [1], 'int32')));
  close(similar.loss, 25, 'similar pair costs d²');
  assert.equal([...similar.grads[0], ...similar.grads[1]], [-6, -8, 6, 8]);
  noLeaks();
});

test('triplet: exactly at 0 is inactive (zero gradients); active rows get 2·(n − p), 2·(p − a), 2·(a − n)', () => {
  const a = [0, 0, 0, 0], p = [1, 0, 1, 0], n = [0, 1, 0, 3];
  const got = run(() => triplet(tensor(a, [2, 2]), tensor(p, [2, 2]), tensor(n, [2, 2]), { margin: 0, reduction: 'sum' }));
  assert.is(got.loss, 0);
  const one = run(() => triplet(tensor(a, [2, 2]), tensor(p, [2, 2]), tensor(n, [2, 2]), { margin: 1 }));
  close(one.loss, (1 + 0) / 2, 'first row active, second (1 − 9 + 1 < 0) not');
  assert.equal(Array.from(one.grads[0]), [-1, 1, 0, 0]);
  assert.equal(Array.from(one.grads[1]), [1, 0, 0, 0]);
  assert.equal(Array.from(one.grads[2]), [0, -1, 0, 0]);
  noLeaks();
});

test('klDivergence: 0·log 0 = 0 (no NaN, even where q = 0 too); q = 0 < p gives +Infinity', () => {
  const got = run(() => klDivergence(tensor([0, 0.5, 0.5], [1, 3]), tensor([0, 0.25, 0.75], [1, 3])));
  close(got.loss, 0.5 * Math.log(2) + 0.5 * Math.log(2 / 3), 'zeros');
  allclose(got.grads[0], [0, -2, -2 / 3], 'grad', 1e-6, 1e-7);
  const same = run(() => klDivergence(tensor([0.25, 0.75, 0, 1], [2, 2]), tensor([0.25, 0.75, 0, 1], [2, 2])));
  assert.is(same.loss, 0);
  const inf = run(() => klDivergence(tensor([0.5, 0.5], [1, 2]), tensor([1, 0], [1, 2])));
  assert.is(inf.loss, Infinity);
  assert.is(inf.grads[0][1], -Infinity);
  noLeaks();
});

test('meanSquaredError: any rank, mean over all elements, sum = size × mean', () => {
  const x = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12], t = Array.from({ length: 12 }, () => 0.5);
  const m = run(() => meanSquaredError(tensor(x, [2, 3, 2]), tensor(t, [2, 3, 2])));
  const s = run(() => meanSquaredError(tensor(x, [2, 3, 2]), tensor(t, [2, 3, 2]), { reduction: 'sum' }));
  close(s.loss, 12 * m.loss, 'sum = 12·mean', 1e-12, 0);
  allclose(s.grads[0], m.grads[0].map((g) => 12 * g), 'sum grads = 12·mean grads', 1e-6, 1e-7);
  allclose(m.grads[0], x.map((v) => (2 * (v - 0.5)) / 12), 'grad', 1e-6, 1e-7);
  const scalar = run(() => meanSquaredError(tensor([3], []), tensor([1], [])));
  assert.is(scalar.loss, 4);
  assert.equal(Array.from(scalar.grads[0]), [4]);
  noLeaks();
});

test('grad: false returns grads [] and allocates nothing; reductions scale the gradients', () => {
  const r = rng(21);
  const N = 5, K = 6, D = 3;
  tidy(() => {
    const x = tensor(randArray(r, N * K), [N, K]), y = tensor(randLabels(r, N, K), [N], 'int32');
    const a = tensor(randArray(r, N * D), [N, D]), b = tensor(randArray(r, N * D), [N, D]), c = tensor(randArray(r, N * D), [N, D]);
    const same = tensor([1, 0, 1, 0, 0], [N], 'int32');
    const p = tensor(randProbs(r, N, K, 0.2), [N, K]), q = tensor(randProbs(r, N, K), [N, K]);
    const calls: Array<[string, (o: { grad?: boolean; reduction?: 'mean' | 'sum' }) => LossResult]> = [
      ['softmaxCrossEntropy', (o) => softmaxCrossEntropy(x, y, o)],
      ['hinge', (o) => hinge(x, y, o)],
      ['contrastive', (o) => contrastive(a, b, same, o)],
      ['triplet', (o) => triplet(a, b, c, o)],
      ['klDivergence', (o) => klDivergence(p, q, o)],
      ['meanSquaredError', (o) => meanSquaredError(a, b, o)],
    ];
    for (const [name, call] of calls) {
      const live = memoryStats().tensors;
      const noGrad = call({ grad: false });
      assert.equal(noGrad.grads, [], name);
      assert.is(memoryStats().tensors, live, `${name}: nothing allocated`);
      const mean = call({}), sum = call({ reduction: 'sum' });
      const n = name === 'meanSquaredError' ? N * D : N;
      close(noGrad.loss, mean.loss, `${name}: same loss without grads`, 0, 0);
      close(sum.loss, n * mean.loss, `${name}: sum = ${n}·mean`, 1e-12, 0);
      mean.grads.forEach((g, i) => allclose(sum.grads[i].toArray(), (g.toArray() as Float32Array).map((v) => v * n), `${name}: grad ${i} sum = ${n}·mean`, 1e-6, 1e-7));
    }
  });
  noLeaks();
});

test('accuracy: argmax with the first max on ties, int32 labels and one-hot rows, against the reference', () => {
  tidy(() => {
  const x = [1, 1, 0, /**/ 0, 2, 2, /**/ 3, -1, 3, /**/ -5, -4, -4];
  assert.is(accuracy(tensor(x, [4, 3]), tensor([0, 1, 0, 1], [4], 'int32')), 1);
  assert.is(accuracy(tensor(x, [4, 3]), tensor([1, 2, 2, 2], [4], 'int32')), 0);
  const onehot = [1, 0, 0, /**/ 0, 0, 1, /**/ 1, 0, 0, /**/ 0, 1, 0];
  assert.is(accuracy(tensor(x, [4, 3]), tensor(onehot, [4, 3])), 0.75);
  // A NaN counts as the largest (numpy's argmax), in the vector body and in the tail.
  assert.is(accuracy(tensor([0, 9, NaN, 1, 0, 9, 1, 2, NaN], [1, 9]), tensor([2], [1], 'int32')), 1);
  assert.is(accuracy(tensor([0, 9, 3, 1, 0, 9, 1, 2, NaN], [1, 9]), tensor([8], [1], 'int32')), 1);
  const seed = 31;
  const r = rng(seed);
  for (let i = 0; i < 40; i++) {
    const N = randInt(r, 1, 9), K = pick(r, K_CHOICES);
    // Values on a coarse grid so that ties are common.
    const xs = Float32Array.from({ length: N * K }, () => randInt(r, -2, 2));
    const y = randLabels(r, N, K);
    const t = Float32Array.from({ length: N * K }, () => randInt(r, 0, 3));
    const ctx = `seed ${seed} case ${i}: accuracy [${N},${K}]`;
    assert.is(accuracy(tensor(xs, [N, K]), tensor(y, [N], 'int32')), ref.accuracyRef(xs, y, true, N, K), ctx);
    assert.is(accuracy(tensor(xs, [N, K]), tensor(t, [N, K])), ref.accuracyRef(xs, t, false, N, K), `${ctx} target rows`);
  }
  });
  noLeaks();
});

test('NaN in the inputs propagates to the loss (no error, no trap)', () => {
  const got = run(() => softmaxCrossEntropy(tensor([0, NaN, 1, 2, 3, 4], [2, 3]), tensor([0, 1], [2], 'int32')));
  assert.ok(Number.isNaN(got.loss));
  const mse = run(() => meanSquaredError(tensor([NaN, 1], [2]), tensor([0, 0], [2])));
  assert.ok(Number.isNaN(mse.loss));
  noLeaks();
});

// ---- errors ----

test('errors: labels out of range name the index and the position', () => {
  tidy(() => {
    const x = tensor(new Float32Array(12), [3, 4]);
    throwsTyped(() => softmaxCrossEntropy(x, tensor([0, 3, 4], [3], 'int32')), ArgumentError, 'softmaxCrossEntropy', 'labels[2] = 4', '0..3', '[3,4]');
    throwsTyped(() => softmaxCrossEntropy(x, tensor([-1, 0, 0], [3], 'int32')), ArgumentError, 'labels[0] = -1');
    throwsTyped(() => hinge(x, tensor([0, 9, 0], [3], 'int32')), ArgumentError, 'hinge', 'labels[1] = 9');
    throwsTyped(() => accuracy(x, tensor([0, 0, 5], [3], 'int32')), ArgumentError, 'accuracy', 'labels[2] = 5');
  });
  noLeaks();
});

test('errors: shapes, ranks, dtypes, options and disposed tensors are typed and named', () => {
  tidy(() => {
    const x = tensor(new Float32Array(12), [3, 4]);
    const y = tensor([0, 1, 2], [3], 'int32');
    throwsTyped(() => softmaxCrossEntropy(x, tensor([0, 1], [2], 'int32')), ShapeError, 'softmaxCrossEntropy', 'labels has 2 rows but logits has 3', '[3,4]');
    throwsTyped(() => softmaxCrossEntropy(tensor(new Float32Array(24), [2, 3, 4]), y), ShapeError, 'logits must have rank 2', '[2,3,4]');
    throwsTyped(() => softmaxCrossEntropy(tensor([0, 1, 2], [3]), y), ShapeError, 'logits must have rank 2', '[3]');
    throwsTyped(() => softmaxCrossEntropy(tensor(new Int32Array(12), [3, 4], 'int32'), y), DTypeError, 'logits must be float32');
    throwsTyped(() => softmaxCrossEntropy(x, tensor([0, 1, 2], [3])), ShapeError, 'labels must be int32 [3] class indices or float32 [3,4]');
    throwsTyped(() => softmaxCrossEntropy(x, tensor(new Float32Array(15), [3, 5])), ShapeError, 'got float32 [3,5]');
    throwsTyped(() => softmaxCrossEntropy(x, tensor(new Int32Array(12), [3, 4], 'int32')), ShapeError, 'labels must have rank 1');
    throwsTyped(() => softmaxCrossEntropy(x, [0, 1, 2] as never), ArgumentError, 'labels must be a Tensor');
    throwsTyped(() => softmaxCrossEntropy(x, y, { labelSmoothing: 1 }), ArgumentError, 'labelSmoothing');
    throwsTyped(() => softmaxCrossEntropy(x, y, { reduction: 'none' as never }), ArgumentError, "reduction must be 'mean' or 'sum'");
    throwsTyped(() => softmaxCrossEntropy(x, y, { smoothing: 0.1 } as never), ArgumentError, "unknown option 'smoothing'");
    throwsTyped(() => softmaxCrossEntropy(tensor(new Float32Array(0), [0, 4]), tensor([], [0], 'int32')), ShapeError, 'at least one row');
    throwsTyped(() => hinge(x, y, { p: 3 as never }), ArgumentError, 'hinge: p must be 1 or 2');
    throwsTyped(() => hinge(x, y, { margin: -1 }), ArgumentError, 'hinge: margin');
    throwsTyped(() => hinge(x, tensor([0, 1, 2], [3])), DTypeError, 'hinge: labels must be int32');
    const a = tensor(new Float32Array(6), [3, 2]);
    throwsTyped(() => contrastive(a, tensor(new Float32Array(8), [4, 2]), y), ShapeError, 'contrastive: b must have the shape of a', '[3,2]', '[4,2]');
    throwsTyped(() => contrastive(a, a, tensor([1, 0], [2])), ShapeError, 'same has 2 rows but a has 3');
    throwsTyped(() => contrastive(a, a, tensor([1, 0, 2], [3], 'int32')), ArgumentError, 'same[2] = 2', '0 or 1');
    throwsTyped(() => contrastive(a, a, tensor([1, 0, 1.5], [3])), ArgumentError, 'same[2] = 1.5');
    throwsTyped(() => triplet(a, a, tensor(new Float32Array(9), [3, 3])), ShapeError, 'triplet: negative must have the shape of anchor');
    throwsTyped(() => triplet(tensor(new Float32Array(6), [6]), tensor(new Float32Array(6), [6]), tensor(new Float32Array(6), [6])), ShapeError, 'anchor must have rank 2');
    throwsTyped(() => klDivergence(x, tensor(new Float32Array(8), [2, 4])), ShapeError, 'klDivergence: q must have the shape of p');
    throwsTyped(() => klDivergence(x, tensor([0.5, 0.5, 0, 0, 0, 0, -0.5, 1, 0, 0, 0, 1], [3, 4])), ArgumentError, 'q must hold probabilities', 'q[1,2] = -0.5');
    throwsTyped(() => meanSquaredError(x, tensor(new Float32Array(12), [4, 3])), ShapeError, 'meanSquaredError: target must have the shape of pred', '[3,4]', '[4,3]');
    throwsTyped(() => meanSquaredError(tensor([], [0]), tensor([], [0])), ShapeError, 'pred is empty');
    const gone = tensor(new Float32Array(12), [3, 4]);
    gone.dispose();
    throwsTyped(() => softmaxCrossEntropy(gone, y), DisposedError, 'softmaxCrossEntropy', 'logits', 'disposed');
    throwsTyped(() => meanSquaredError(x, gone), DisposedError, 'meanSquaredError', 'target');
    throwsTyped(() => accuracy(x, gone), DisposedError, 'accuracy', 'labels');
  });
  noLeaks();
});

test.run();
