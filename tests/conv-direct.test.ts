// node-flags: --experimental-wasm-relaxed-simd
// The direct path for few channels per group (assembly/conv-direct.ts: K = C/groups < 16, more
// than one tap, not transposed; one input channel at stride 1 has its own kernel): against the
// float64 reference in every build, on random shapes; bit-identical with 1, 2 and 3 threads.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { init, backend, threads, shutdown, tensor, conv2d, conv1d, memoryStats, tidy, type Backend, type Tensor } from '../src/index.ts';
import { conv2dInto } from '../src/ops/conv.ts';
import { allclose, randArray, randInt, rng } from './helpers.ts';
import { conv2dRef, samePads, type Pads4 } from './reference/conv.ts';

const BUILDS: Backend[] = ['relaxed-simd', 'simd', 'scalar'];
// rtol 1e-4 plus an absolute term growing with the number of products summed (inputs in [-1, 1]).
const tol = (terms: number) => 8e-6 * Math.sqrt(terms);
const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];

type Mode = 'valid' | 'same' | 'full' | [[number, number], [number, number]];
function padsOf(mode: Mode, H: number, W: number, k: [number, number], s: [number, number], d: [number, number]): Pads4 {
  if (mode === 'valid') return [[0, 0], [0, 0]];
  if (mode === 'same') return [samePads(H, k[0], s[0], d[0]), samePads(W, k[1], s[1], d[1])];
  if (mode === 'full') return [[(k[0] - 1) * d[0], (k[0] - 1) * d[0]], [(k[1] - 1) * d[1], (k[1] - 1) * d[1]]];
  return mode;
}

interface Case {
  N: number; H: number; W: number; C: number; Cout: number; KH: number; KW: number; groups: number;
  s: [number, number]; d: [number, number]; mode: Mode; flip: boolean; bias: boolean; act: 'relu' | 'relu6' | 'sigmoid' | undefined;
}

/** A random convolution that takes the direct path (K < 16 channels per group, more than one tap). */
function randomCase(r: () => number): Case | null {
  const groups = pick(r, [1, 1, 1, 2, 3]);
  const K = pick(r, [1, 2, 3, 4, 5, 6, 7, 8, 11, 15]);
  const C = groups * K;
  const KH = randInt(r, 1, 5), KW = randInt(r, 1, 7);
  if (KH * KW === 1) return null;
  const s: [number, number] = [randInt(r, 1, 3), randInt(r, 1, 3)];
  const d: [number, number] = [randInt(r, 1, 2), randInt(r, 1, 2)];
  // One channel at stride 1 without dilation is the single-channel kernel's: not this path.
  if (C === 1 && s[0] === 1 && s[1] === 1 && d[0] === 1 && d[1] === 1) return null;
  const mode: Mode = pick(r, ['valid', 'same', 'full', 'pairs'] as const) === 'pairs'
    ? [[randInt(r, 0, 3), randInt(r, 0, 3)], [randInt(r, 0, 3), randInt(r, 0, 3)]]
    : pick(r, ['valid', 'same', 'full'] as const);
  const N = randInt(r, 1, 3), H = randInt(r, 1, 13), W = randInt(r, 1, 15);
  const pads = padsOf(mode, H, W, [KH, KW], s, d);
  if (d[0] * (KH - 1) + 1 > H + pads[0][0] + pads[0][1] || d[1] * (KW - 1) + 1 > W + pads[1][0] + pads[1][1]) return null;
  const Cout = groups * pick(r, [1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 16, 17, 24]);
  return { N, H, W, C, Cout, KH, KW, groups, s, d, mode, flip: r() < 0.25, bias: r() < 0.6, act: pick(r, [undefined, undefined, 'relu', 'relu6', 'sigmoid'] as const) };
}

function reference(c: Case, xd: Float32Array, wd: Float32Array, bd: Float32Array): { shape: number[]; data: Float64Array | number[] } {
  const pads = padsOf(c.mode, c.H, c.W, [c.KH, c.KW], c.s, c.d);
  const ref = conv2dRef({ data: xd, shape: [c.N, c.H, c.W, c.C] }, { data: wd, shape: [c.KH, c.KW, c.C / c.groups, c.Cout] },
    { s: c.s, d: c.d, pads, groups: c.groups, flip: c.flip, bias: c.bias ? bd : undefined });
  const data = Array.from(ref.data, (v) => c.act === 'relu' ? Math.max(v, 0) : c.act === 'relu6' ? Math.min(Math.max(v, 0), 6) : c.act === 'sigmoid' ? 1 / (1 + Math.exp(-v)) : v);
  return { shape: ref.shape, data };
}

function run(c: Case, xd: Float32Array, wd: Float32Array, bd: Float32Array): Tensor {
  return conv2d(tensor(xd, [c.N, c.H, c.W, c.C]), tensor(wd, [c.KH, c.KW, c.C / c.groups, c.Cout]), {
    strides: c.s, dilations: c.d, padding: c.mode, groups: c.groups, flip: c.flip, bias: c.bias ? tensor(bd, [c.Cout]) : undefined, activation: c.act,
  });
}

for (const build of BUILDS) {
  test(`${build}: direct few-channel conv2d matches the reference on random shapes (paddings, strides 1–3, dilations, groups, batch, Cout around 4 and 8, clamps, bias)`, async () => {
    assert.is(await init({ backend: build }), build);
    assert.is(backend(), build);
    const r = rng(4711);
    let checked = 0;
    for (let i = 0; checked < 120 && i < 1000; i++) {
      const c = randomCase(r);
      if (!c) continue;
      const K = c.C / c.groups;
      const xd = randArray(r, c.N * c.H * c.W * c.C), wd = randArray(r, c.KH * c.KW * K * c.Cout), bd = randArray(r, c.Cout);
      const ctx = `${build} case ${i}: ${JSON.stringify(c)}`;
      tidy(() => {
        const y = run(c, xd, wd, bd);
        const ref = reference(c, xd, wd, bd);
        assert.equal(y.shape, ref.shape, ctx);
        allclose(y.toArray(), ref.data, ctx, 1e-4, tol(c.KH * c.KW * K));
      });
      checked++;
    }
    assert.is(checked, 120);
    assert.is(memoryStats().tensors, 0);
  });
}

for (const build of BUILDS) {
  test(`${build}: one input channel at stride 1 (full 6-channel blocks stored pixel-major): widths around 4 and 8, Cout around 6, clamps, bias`, async () => {
    assert.is(await init({ backend: build }), build);
    const r = rng(606);
    for (let i = 0; i < 60; i++) {
      const c: Case = {
        N: randInt(r, 1, 3), H: randInt(r, 1, 9), W: randInt(r, 1, 19), C: 1, Cout: pick(r, [1, 5, 6, 7, 11, 12, 13, 18, 19]),
        KH: randInt(r, 1, 5), KW: randInt(r, 1, 5), groups: 1, s: [1, 1], d: [1, 1],
        mode: pick(r, ['valid', 'same', 'full'] as const), flip: r() < 0.25, bias: r() < 0.6, act: pick(r, [undefined, 'relu', 'relu6'] as const),
      };
      const pads = padsOf(c.mode, c.H, c.W, [c.KH, c.KW], c.s, c.d);
      if (c.KH > c.H + pads[0][0] + pads[0][1] || c.KW > c.W + pads[1][0] + pads[1][1]) continue;
      const xd = randArray(r, c.N * c.H * c.W), wd = randArray(r, c.KH * c.KW * c.Cout), bd = randArray(r, c.Cout, -3, 7);
      tidy(() => allclose(run(c, xd, wd, bd).toArray(), reference(c, xd, wd, bd).data, `${build} case ${i}: ${JSON.stringify(c)}`, 1e-4, tol(c.KH * c.KW)));
    }
  });
}

test('direct path: conv1d, and conv2d into a channel slice of a wider output', async () => {
  await init();
  const r = rng(77);
  tidy(() => {
    const xd = randArray(r, 2 * 37 * 3), wd = randArray(r, 5 * 3 * 10), bd = randArray(r, 10);
    const y = conv1d(tensor(xd, [2, 37, 3]), tensor(wd, [5, 3, 10]), { strides: 2, padding: 'same', bias: tensor(bd, [10]) });
    const ref = conv2dRef({ data: xd, shape: [2, 1, 37, 3] }, { data: wd, shape: [1, 5, 3, 10] }, { s: [1, 2], d: [1, 1], pads: [[0, 0], samePads(37, 5, 2, 1)], groups: 1, bias: bd });
    allclose(y.toArray(), ref.data, 'conv1d', 1e-4, tol(15));

    const x2 = randArray(r, 2 * 9 * 11 * 3), w2 = randArray(r, 3 * 3 * 3 * 13), b2 = randArray(r, 13);
    const before = Float32Array.from({ length: 2 * 9 * 11 * 20 }, (_, i) => i);
    const init20 = tensor(before, [2, 9, 11, 20]);
    conv2dInto(tensor(x2, [2, 9, 11, 3]), tensor(w2, [3, 3, 3, 13]), { padding: 'same', bias: tensor(b2, [13]), activation: 'relu' }, init20, 4);
    const out = init20.toArray();
    const r2 = conv2dRef({ data: x2, shape: [2, 9, 11, 3] }, { data: w2, shape: [3, 3, 3, 13] }, { s: [1, 1], d: [1, 1], pads: [[1, 1], [1, 1]], groups: 1, bias: b2 });
    for (let p = 0; p < 2 * 9 * 11; p++) {
      for (let ch = 0; ch < 20; ch++) {
        const v = out[p * 20 + ch];
        if (ch < 4 || ch >= 17) assert.is(v, before[p * 20 + ch], `untouched channel ${ch} of pixel ${p}`);
        else {
          const e = Math.max(r2.data[p * 13 + ch - 4], 0);
          assert.ok(Math.abs(v - e) <= 1e-4 * Math.abs(e) + tol(27), `pixel ${p} channel ${ch}: ${v} vs ${e}`);
        }
      }
    }
  });
});

test('direct path: bit-identical with 1, 2 and 3 threads (tiles across rows and images, partial tiles, groups)', async () => {
  const shapes: Case[] = [
    { N: 3, H: 37, W: 41, C: 3, Cout: 20, KH: 3, KW: 3, groups: 1, s: [1, 1], d: [1, 1], mode: 'same', flip: false, bias: true, act: 'relu' },
    { N: 1, H: 75, W: 67, C: 3, Cout: 13, KH: 7, KW: 7, groups: 1, s: [2, 2], d: [1, 1], mode: [[3, 3], [3, 3]], flip: false, bias: true, act: undefined },
    { N: 2, H: 31, W: 29, C: 6, Cout: 16, KH: 5, KW: 5, groups: 2, s: [1, 2], d: [2, 1], mode: 'full', flip: true, bias: false, act: 'relu6' },
    { N: 5, H: 28, W: 28, C: 1, Cout: 6, KH: 5, KW: 5, groups: 1, s: [2, 2], d: [1, 1], mode: 'valid', flip: false, bias: true, act: undefined },
  ];
  const results: Float32Array[][] = [];
  for (const n of [1, 2, 3]) {
    await init({ threads: n });
    assert.is(threads(), n);
    const r = rng(31);
    results.push(shapes.map((c) => tidy(() => {
      const xd = randArray(r, c.N * c.H * c.W * c.C), wd = randArray(r, c.KH * c.KW * (c.C / c.groups) * c.Cout), bd = randArray(r, c.Cout);
      const y = run(c, xd, wd, bd).toArray() as Float32Array;
      if (n === 3) allclose(y, reference(c, xd, wd, bd).data, `3 threads ${JSON.stringify(c)}`, 1e-4, tol(c.KH * c.KW * c.C / c.groups));
      return y;
    })));
  }
  await shutdown();
  await init();
  for (let i = 0; i < shapes.length; i++) {
    for (const t of [1, 2]) {
      const a = results[0][i], b = results[t][i];
      assert.ok(a.length === b.length && a.every((v, j) => Object.is(v, b[j])), `case ${i}: ${t + 1} threads differ from 1`);
    }
  }
});

test('direct path: repeated calls allocate nothing new (memoryStats unchanged)', async () => {
  await init();
  const r = rng(5);
  const x = tensor(randArray(r, 2 * 40 * 40 * 3), [2, 40, 40, 3]), w = tensor(randArray(r, 7 * 7 * 3 * 24), [7, 7, 3, 24]);
  const b = tensor(randArray(r, 24), [24]);
  conv2d(x, w, { strides: 2, padding: 'same', bias: b }).dispose();
  const before = memoryStats();
  for (let i = 0; i < 5; i++) conv2d(x, w, { strides: 2, padding: 'same', bias: b }).dispose();
  assert.equal(memoryStats(), before);
  [x, w, b].forEach((t) => t.dispose());
});

test.run();
