// node-flags: --experimental-wasm-relaxed-simd
// Winograd F(2×2, 3×3) and F(4×4, 3×3) against the direct float64 reference, each forced on every
// eligible shape (odd sizes so edge tiles are partial, every padding mode, batch, bias or none,
// flip, fused relu / relu6, channels on and off multiples of 4 and 8), in every build.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { init, tensor, tidy, conv2d, memoryStats, type Backend } from '../src/index.ts';
import { convPolicy } from '../src/ops/conv.ts';
import { allclose, randArray, randInt, rng } from './helpers.ts';
import { conv2dRef, samePads, type Pads4 } from './reference/conv.ts';

// Winograd's transforms add a few roundings per output: rtol 1e-4, atol 3e-5·√(9·Cin), for both
// variants. F(4×4)'s transforms have larger coefficients (Bᵀ up to 5, Aᵀ up to 8, G down to 1/24),
// so its rounding error is about 16× F(2×2)'s: worst |error|/√(9·Cin) on these cases (x, w uniform
// in [−1, 1]) measured 4.7e-6 for F(4×4) against 2.9e-7 for F(2×2) — both well inside the bound
// (`WINO_ERR=1 node tests/run.mjs winograd.test` prints them). Realistic channel counts (up to 512):
// tests/winograd-f43.test.ts.
const tol = (terms: number) => 3e-5 * Math.sqrt(terms);

for (const variant of ['f23', 'f43'] as const) {
  for (const build of ['relaxed-simd', 'simd', 'scalar'] as Backend[]) {
    test(`${build}: Winograd ${variant} equals the direct convolution reference on random shapes`, async () => {
      await init({ backend: build });
      convPolicy.winograd = variant;
      const r = rng(variant === 'f23' ? 314 : 315);
      const before = memoryStats().tensors;
      let worst = 0;
      try {
        for (let i = 0; i < 60; i++) {
          const N = randInt(r, 1, 3), H = randInt(r, 1, variant === 'f23' ? 11 : 15), W = randInt(r, 1, variant === 'f23' ? 11 : 15);
          const C = [1, 3, 4, 5, 8, 16, 17, 33][randInt(r, 0, 7)], Cout = [1, 4, 7, 8, 9, 16, 24, 31][randInt(r, 0, 7)];
          const mode = (['valid', 'same', 'full', 1, 'pairs'] as const)[randInt(r, 0, 4)];
          const padding = mode === 'pairs' ? [[randInt(r, 0, 2), randInt(r, 0, 2)], [randInt(r, 0, 2), randInt(r, 0, 2)]] as Pads4 : mode;
          const pads: Pads4 = padding === 'valid' ? [[0, 0], [0, 0]] : padding === 'same' ? [samePads(H, 3, 1, 1), samePads(W, 3, 1, 1)]
            : padding === 'full' ? [[2, 2], [2, 2]] : typeof padding === 'number' ? [[1, 1], [1, 1]] : padding;
          if (H + pads[0][0] + pads[0][1] < 3 || W + pads[1][0] + pads[1][1] < 3) continue;
          const flip = r() < 0.3, act = (['relu', 'relu6', undefined, undefined] as const)[randInt(r, 0, 3)], withBias = r() < 0.7;
          const xd = randArray(r, N * H * W * C), wd = randArray(r, 9 * C * Cout), bd = randArray(r, Cout);
          tidy(() => {
            const y = conv2d(tensor(xd, [N, H, W, C]), tensor(wd, [3, 3, C, Cout]), { padding, flip, bias: withBias ? tensor(bd, [Cout]) : undefined, activation: act });
            const ref = conv2dRef({ data: xd, shape: [N, H, W, C] }, { data: wd, shape: [3, 3, C, Cout] }, { s: [1, 1], d: [1, 1], pads, groups: 1, flip, bias: withBias ? bd : undefined });
            const want = act ? Array.from(ref.data, (v) => Math.min(Math.max(v, 0), act === 'relu6' ? 6 : Infinity)) : ref.data;
            assert.equal(y.shape, ref.shape);
            const got = y.toArray();
            for (let k = 0; k < got.length; k++) worst = Math.max(worst, Math.abs(got[k] - want[k]) / Math.sqrt(9 * C));
            allclose(got, want, `${build} ${variant} case ${i}: x ${[N, H, W, C]} Cout ${Cout} padding ${JSON.stringify(padding)} flip ${flip} ${act} bias ${withBias}`, 1e-4, tol(9 * C));
          });
        }
      } finally {
        convPolicy.winograd = 'auto';
      }
      if (process.env.WINO_ERR) console.log(`${build} ${variant}: worst |error|/√(9·Cin) ${worst.toExponential(2)}`);
      assert.is(memoryStats().tensors, before);
    });
  }
}

test('auto policy: Winograd on a 56×56×64→64 3×3 layer matches the direct kernel', async () => {
  await init({ backend: 'simd' });
  const r = rng(1);
  tidy(() => {
    const x = tensor(randArray(r, 56 * 56 * 64), [1, 56, 56, 64]), w = tensor(randArray(r, 9 * 64 * 64), [3, 3, 64, 64]);
    convPolicy.winograd = 'never';
    const direct = conv2d(x, w, { padding: 'same' }).toArray();
    convPolicy.winograd = 'auto';
    const wino = conv2d(x, w, { padding: 'same' }).toArray();
    allclose(wino, direct, 'winograd vs direct', 1e-4, tol(9 * 64));
  });
});

test.run();
