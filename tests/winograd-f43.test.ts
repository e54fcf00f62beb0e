// node-flags: --experimental-wasm-relaxed-simd
// Winograd at realistic channel counts (the ResNet layers) against the float64 reference, every
// band and sub-band split bit-identical (threads, tuning), and no leaks. Random small shapes in
// every build: tests/winograd.test.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { init, tensor, tidy, conv2d, fill, memoryStats, type Backend, type Tensor } from '../src/index.ts';
import { convPolicy, conv2dInto, winogradTuning } from '../src/ops/conv.ts';
import { allclose, randArray, rng } from './helpers.ts';
import { conv2dRef } from './reference/conv.ts';

type Policy = typeof convPolicy.winograd;

// Weights scaled like a trained network's (uniform ±1/√(9·Cin)), so outputs are O(1). Measured
// max |error| / max |y| against float64 here (`WINO_ERR=1 node tests/run.mjs winograd-f43`):
// F(4×4) 5.9e-6 (Cin 128) … 1.3e-5 (Cin 512), F(2×2) 5e-7 … 8e-7 — F(4×4) is ~15× F(2×2), as its
// larger transform coefficients predict (the direct GEMM: 1.5e-6 … 3.5e-6 on 56×56×64 … 7×7×512).
// Bound: 3e-5 · max |y| absolute plus 1e-4 relative.
const LAYERS: Array<[number[], number, Policy[]]> = [
  [[1, 9, 9, 512], 64, ['f43', 'f23', 'auto']],
  [[1, 14, 14, 256], 96, ['f43', 'auto']],
  [[2, 11, 13, 128], 40, ['f43', 'f23']],
];

for (const build of ['relaxed-simd', 'scalar'] as Backend[]) {
  test(`${build}: F(4×4) and F(2×2) on ResNet-sized channel counts stay within 3e-5 of max |y| of the float64 reference`, async () => {
    await init({ backend: build });
    const r = rng(42);
    try {
      for (const [xs, Cout, policies] of LAYERS) {
        const [N, H, W, C] = xs, s = 1 / Math.sqrt(9 * C);
        const xd = randArray(r, N * H * W * C), wd = randArray(r, 9 * C * Cout, -s, s), bd = randArray(r, Cout, -0.1, 0.1);
        const ref = conv2dRef({ data: xd, shape: xs }, { data: wd, shape: [3, 3, C, Cout] }, { s: [1, 1], d: [1, 1], pads: [[1, 1], [1, 1]], groups: 1, bias: bd });
        const max = Array.from(ref.data).reduce((m, v) => Math.max(m, Math.abs(v)), 0);
        for (const p of policies) {
          convPolicy.winograd = p;
          tidy(() => {
            const y = conv2d(tensor(xd, xs), tensor(wd, [3, 3, C, Cout]), { padding: 'same', bias: tensor(bd, [Cout]) }).toArray();
            let err = 0;
            for (let i = 0; i < y.length; i++) err = Math.max(err, Math.abs(y[i] - ref.data[i]));
            if (process.env.WINO_ERR) console.log(`${build} ${p} x ${xs} → ${Cout}: max |error| / max |y| ${(err / max).toExponential(2)}`);
            allclose(y, ref.data, `${build} ${p} x ${xs} → ${Cout}`, 1e-4, 3e-5 * max);
          });
        }
      }
    } finally {
      convPolicy.winograd = 'auto';
    }
  });
}

const same = (a: ArrayLike<number>, b: ArrayLike<number>) => a.length === b.length && Array.prototype.every.call(a, (v: number, i: number) => Object.is(v, b[i]));

/**
 * Both variants on shapes large enough to split into bands (partial tiles, batch, relu, relu6, no
 * bias); the 7×7 ones are deep (weights outweigh the tiles), so threads split their output channels.
 */
function runAll(): Float32Array[] {
  const r = rng(9);
  const out: Float32Array[] = [];
  const cases: Array<[number[], number, Parameters<typeof conv2d>[2]]> = [
    [[2, 15, 13, 32], 24, { padding: 'same' }],
    [[1, 7, 7, 128], 128, { padding: 'same', activation: 'relu' }],
    [[3, 9, 11, 20], 36, { padding: 'valid', activation: 'relu6' }],
    [[1, 30, 29, 16], 17, { padding: [[0, 2], [1, 0]] }],
    [[1, 7, 7, 96], 60, { padding: 'same', activation: 'relu6' }],
    // Deep with threads (weights outweigh the 16 tiles): input transformed once, then channels split.
    [[1, 13, 14, 50], 40, { padding: 'same' }],
    [[1, 5, 6, 64], 48, { padding: 'same' }], // deep, 4 tiles at F(4×4): channels still split
  ];
  for (const p of ['f23', 'f43'] as const) {
    convPolicy.winograd = p;
    for (const [xs, Cout, o] of cases) {
      const C = xs[3];
      tidy(() => {
        const x = tensor(randArray(r, xs.reduce((a, b) => a * b, 1)), xs), w = tensor(randArray(r, 9 * C * Cout), [3, 3, C, Cout]);
        const b: Tensor | undefined = o?.activation === 'relu' ? undefined : tensor(randArray(r, Cout), [Cout]);
        out.push(conv2d(x, w, { ...o, bias: b }).toArray() as Float32Array);
      });
    }
  }
  convPolicy.winograd = 'auto';
  return out;
}

test('F(4×4) and F(2×2): bit-identical with 1, 2 and 3 threads and with any sub-band / GEMM-call size / band count; no leaks', async () => {
  const runs: Float32Array[][] = [];
  for (const n of [1, 2, 3]) {
    await init({ threads: n });
    const before = memoryStats();
    runs.push(runAll());
    for (const [tb, ncol, bands] of [[1, 8, 0], [1000, 1000, 1], [6, 16, 3], [5, 0, 5]]) {
      Object.assign(winogradTuning, { tb, ncol, bands });
      try {
        runs.push(runAll());
      } finally {
        Object.assign(winogradTuning, { tb: 0, ncol: 0, bands: 0 });
      }
    }
    const after = memoryStats();
    assert.is(after.tensors, before.tensors);
    assert.is(after.bytes, before.bytes);
  }
  for (let k = 1; k < runs.length; k++) {
    for (let i = 0; i < runs[0].length; i++) assert.ok(same(runs[k][i], runs[0][i]), `run ${k} case ${i} differs from one thread`);
  }
});

test('both variants write a channel slice of a wider output in place (concatenation), bit-identical to conv2d', async () => {
  await init();
  const r = rng(5);
  for (const p of ['f23', 'f43'] as const) {
    convPolicy.winograd = p;
    try {
      tidy(() => {
        const [N, H, W, C, Cout, Ct, c0] = [2, 11, 9, 20, 13, 40, 17];
        const x = tensor(randArray(r, N * H * W * C), [N, H, W, C]), w = tensor(randArray(r, 9 * C * Cout), [3, 3, C, Cout]), b = tensor(randArray(r, Cout), [Cout]);
        const want = conv2d(x, w, { padding: 'same', bias: b, activation: 'relu' }).toArray();
        const y = fill([N, H, W, Ct], 7);
        conv2dInto(x, w, { padding: 'same', bias: b, activation: 'relu' }, y, c0);
        const got = y.toArray();
        for (let px = 0; px < N * H * W; px++) {
          for (let c = 0; c < Ct; c++) {
            const v = got[px * Ct + c], e = c >= c0 && c < c0 + Cout ? want[px * Cout + c - c0] : 7;
            if (!Object.is(v, e)) assert.unreachable(`${p}: pixel ${px} channel ${c}: ${v} ≠ ${e}`);
          }
        }
      });
    } finally {
      convPolicy.winograd = 'auto';
    }
  }
});

test.run();
