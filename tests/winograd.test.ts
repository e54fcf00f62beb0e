// node-flags: --experimental-wasm-relaxed-simd
// Winograd F(2×2, 3×3) against the direct reference, forced on every eligible shape (odd sizes,
// every padding mode, batch, bias, flip, fused relu, channels around the tile), in every build.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { init, tensor, tidy, conv2d, memoryStats, type Backend } from '../src/index.ts';
import { convPolicy } from '../src/ops/conv.ts';
import { allclose, randArray, randInt, rng } from './helpers.ts';
import { conv2dRef, samePads, type Pads4 } from './reference/conv.ts';

// Winograd's transforms add a few roundings per output: rtol 1e-4, atol 3e-5·√(9·Cin).
const tol = (terms: number) => 3e-5 * Math.sqrt(terms);

for (const build of ['relaxed-simd', 'simd', 'scalar'] as Backend[]) {
  test(`${build}: Winograd F(2,3) equals the direct convolution reference on random shapes`, async () => {
    await init({ backend: build });
    convPolicy.winograd = 'always';
    const r = rng(314);
    try {
      for (let i = 0; i < 60; i++) {
        const N = randInt(r, 1, 3), H = randInt(r, 1, 11), W = randInt(r, 1, 11);
        const C = [1, 3, 4, 5, 8, 16, 17][randInt(r, 0, 6)], Cout = [1, 4, 7, 8, 9, 16, 24][randInt(r, 0, 6)];
        const mode = (['valid', 'same', 'full', 1, 'pairs'] as const)[randInt(r, 0, 4)];
        const padding = mode === 'pairs' ? [[randInt(r, 0, 2), randInt(r, 0, 2)], [randInt(r, 0, 2), randInt(r, 0, 2)]] as Pads4 : mode;
        const pads: Pads4 = padding === 'valid' ? [[0, 0], [0, 0]] : padding === 'same' ? [samePads(H, 3, 1, 1), samePads(W, 3, 1, 1)]
          : padding === 'full' ? [[2, 2], [2, 2]] : typeof padding === 'number' ? [[1, 1], [1, 1]] : padding;
        if (H + pads[0][0] + pads[0][1] < 3 || W + pads[1][0] + pads[1][1] < 3) continue;
        const flip = r() < 0.3, relu = r() < 0.3;
        const xd = randArray(r, N * H * W * C), wd = randArray(r, 9 * C * Cout), bd = randArray(r, Cout);
        tidy(() => {
          const y = conv2d(tensor(xd, [N, H, W, C]), tensor(wd, [3, 3, C, Cout]), { padding, flip, bias: tensor(bd, [Cout]), activation: relu ? 'relu' : undefined });
          const ref = conv2dRef({ data: xd, shape: [N, H, W, C] }, { data: wd, shape: [3, 3, C, Cout] }, { s: [1, 1], d: [1, 1], pads, groups: 1, flip, bias: bd });
          const want = relu ? Array.from(ref.data, (v) => Math.max(v, 0)) : ref.data;
          assert.equal(y.shape, ref.shape);
          allclose(y.toArray(), want, `${build} case ${i}: x ${[N, H, W, C]} Cout ${Cout} padding ${JSON.stringify(padding)} flip ${flip} relu ${relu}`, 1e-4, tol(9 * C));
        });
      }
    } finally {
      convPolicy.winograd = 'auto';
    }
    assert.is(memoryStats().tensors, 0);
  });
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
