// node-flags: --experimental-wasm-relaxed-simd
// Every kernel path, forced once per build: relaxed SIMD (fused multiply-add), SIMD128, scalar.
// Each build must agree with the float64 references within the same tolerances.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { init, backend, tensor, conv2d, conv2dTranspose, conv2dBackpropFilter, locallyConnected2d, dense, memoryStats, tidy, type Backend } from '../src/index.ts';
import { allclose, randArray, randInt, rng } from './helpers.ts';
import { conv2dGradsRef, conv2dRef, conv2dTransposeRef, denseRef, locallyConnected2dRef } from './reference/conv.ts';

const BUILDS: Backend[] = ['relaxed-simd', 'simd', 'scalar'];
const tol = (terms: number) => 8e-6 * Math.sqrt(terms);

for (const build of BUILDS) {
  test(`${build}: conv2d (dense, grouped, depthwise), conv2dTranspose, locallyConnected2d and dense match the references`, async () => {
    assert.is(await init({ backend: build }), build);
    assert.is(backend(), build);
    const r = rng(2024);
    for (let i = 0; i < 40; i++) {
      const kind = i % 4;
      const N = randInt(r, 1, 2), H = randInt(r, 3, 8), W = randInt(r, 3, 8);
      const g = kind === 1 ? 2 : 1;
      const C = kind === 2 ? randInt(r, 1, 13) : g * randInt(r, 1, 6);
      const Cout = kind === 2 ? C : g * randInt(r, 1, 12);
      const Cig = kind === 2 ? 1 : C / g;
      const groups = kind === 2 ? C : g;
      const K = randInt(r, 1, 3), s = randInt(r, 1, 2), d = randInt(r, 1, 2), p = randInt(r, 0, 1);
      if (d * (K - 1) + 1 > H + 2 * p || d * (K - 1) + 1 > W + 2 * p) continue;
      const xd = randArray(r, N * H * W * C), wd = randArray(r, K * K * Cig * Cout), bd = randArray(r, Cout);
      const ctx = `${build} case ${i} kind ${kind} x ${[N, H, W, C]} K ${K} s ${s} d ${d} p ${p}`;
      tidy(() => {
        const y = conv2d(tensor(xd, [N, H, W, C]), tensor(wd, [K, K, Cig, Cout]), { strides: s, dilations: d, padding: p, groups, bias: tensor(bd, [Cout]) });
        const ref = conv2dRef({ data: xd, shape: [N, H, W, C] }, { data: wd, shape: [K, K, Cig, Cout] }, { s: [s, s], d: [d, d], pads: [[p, p], [p, p]], groups, bias: bd });
        allclose(y.toArray(), ref.data, ctx, 1e-4, tol(K * K * Cig));
        if (kind === 3) {
          const td = randArray(r, K * K * Cout * C);
          const t = conv2dTranspose(tensor(xd, [N, H, W, C]), tensor(td, [K, K, Cout, C]), { strides: s, dilations: d, padding: p, bias: tensor(bd, [Cout]) });
          const tref = conv2dTransposeRef({ data: xd, shape: [N, H, W, C] }, { data: td, shape: [K, K, Cout, C] }, { s: [s, s], d: [d, d], pads: [[p, p], [p, p]], outPad: [0, 0], groups: 1, bias: bd });
          allclose(t.toArray(), tref.data, `${ctx} transposed`, 1e-4, tol(K * K * C));
          const OH = Math.floor((H + 2 * p - K) / s) + 1, OW = Math.floor((W + 2 * p - K) / s) + 1;
          const ld = randArray(r, OH * OW * K * K * C * Cout);
          const l = locallyConnected2d(tensor(xd, [N, H, W, C]), tensor(ld, [OH, OW, K, K, C, Cout]), { strides: s, padding: p, bias: tensor(bd, [Cout]) });
          const lref = locallyConnected2dRef({ data: xd, shape: [N, H, W, C] }, { data: ld, shape: [OH, OW, K, K, C, Cout] }, { s: [s, s], pads: [[p, p], [p, p]], bias: bd });
          allclose(l.toArray(), lref.data, `${ctx} locally connected`, 1e-4, tol(K * K * C));
        }
        const M = randInt(r, 1, 9), Kd = randInt(r, 1, 40), U = randInt(r, 1, 20);
        const dx = randArray(r, M * Kd), dw = randArray(r, Kd * U);
        allclose(dense(tensor(dx, [M, Kd]), tensor(dw, [Kd, U])).toArray(), denseRef(dx, M, Kd, dw, U), `${build} dense ${M}×${Kd}×${U}`, 1e-4, tol(Kd));
      });
    }
    // One input channel, stride 1: the direct kernel vectorised over output pixels (every
    // padding mode, widths around its 8-pixel tile, channel counts around its 6-channel block).
    for (let i = 0; i < 30; i++) {
      const N = randInt(r, 1, 3), H = randInt(r, 1, 12), W = randInt(r, 1, 19), Cout = randInt(r, 1, 13);
      const KH = randInt(r, 1, 5), KW = randInt(r, 1, 8);
      const pads: [[number, number], [number, number]] = [[randInt(r, 0, 2), randInt(r, 0, 2)], [randInt(r, 0, 2), randInt(r, 0, 2)]];
      if (KH > H + pads[0][0] + pads[0][1] || KW > W + pads[1][0] + pads[1][1]) continue;
      const flip = r() < 0.3;
      const xd = randArray(r, N * H * W), wd = randArray(r, KH * KW * Cout), bd = randArray(r, Cout);
      tidy(() => {
        const x = tensor(xd, [N, H, W, 1]);
        const y = conv2d(x, tensor(wd, [KH, KW, 1, Cout]), { padding: pads, flip, bias: tensor(bd, [Cout]) });
        const ref = conv2dRef({ data: xd, shape: [N, H, W, 1] }, { data: wd, shape: [KH, KW, 1, Cout] }, { s: [1, 1], d: [1, 1], pads, groups: 1, flip, bias: bd });
        const ctx = `${build} single-channel case ${i}: x ${[N, H, W, 1]} w ${[KH, KW, 1, Cout]} pads ${JSON.stringify(pads)} flip ${flip}`;
        assert.equal(y.shape, ref.shape);
        allclose(y.toArray(), ref.data, ctx, 1e-4, tol(KH * KW));
        // Its filter gradient has a kernel of its own too (taps in chunks of 5, output channels in pairs).
        const dyd = randArray(r, y.size);
        const dw = conv2dBackpropFilter(x, tensor(dyd, y.shape as number[]), [KH, KW, 1, Cout], { padding: pads, flip });
        const grads = conv2dGradsRef({ data: xd, shape: [N, H, W, 1] }, { data: wd, shape: [KH, KW, 1, Cout] }, dyd, { s: [1, 1], d: [1, 1], pads, groups: 1, flip });
        allclose(dw.toArray(), grads.dw, `${ctx} dw`, 1e-4, tol(y.size));
      });
    }
    assert.is(memoryStats().tensors, 0);
  });
}

test.run();
