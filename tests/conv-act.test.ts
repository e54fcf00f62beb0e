// node-flags: --experimental-wasm-relaxed-simd
// Convolutions with a fused activation that is not a store clamp (assembly/conv-act.ts: the tap
// GEMM and depthwise kernels activate chunks of output rows while they are in cache). In every
// build: bit-identical to the convolution followed by the activation op, and within tolerance of
// the float64 references; written into a channel slice, the other channels stay untouched.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { init, tensor, conv2d, conv2dTranspose, tidy, type Activation, type Backend, type Tensor } from '../src/index.ts';
import * as ops from '../src/index.ts';
import { conv2dInto } from '../src/ops/conv.ts';
import { allclose, equalArrays, randArray, randInt, rng } from './helpers.ts';
import { conv2dRef, conv2dTransposeRef } from './reference/conv.ts';
import * as ref from './reference/activation.ts';

const BUILDS: Backend[] = ['relaxed-simd', 'simd', 'scalar'];

/** Each fusable activation: the option, the op applied afterwards, the float64 reference. */
const ACTS: Array<[Activation, (t: Tensor) => Tensor, (x: ArrayLike<number>) => Float64Array]> = [
  ['silu', ops.silu, ref.swish],
  ['swish', ops.swish, ref.swish],
  ['sigmoid', ops.sigmoid, ref.sigmoid],
  ['tanh', ops.tanh, ref.tanh],
  ['gelu', ops.gelu, ref.gelu],
  [{ name: 'elu', alpha: 0.7 }, (t) => ops.elu(t, 0.7), (x) => ref.elu(x, 0.7)],
  ['selu', ops.selu, ref.selu],
  [{ name: 'leakyRelu', alpha: 0.2 }, (t) => ops.leakyRelu(t, 0.2), (x) => ref.leakyRelu(x, 0.2)],
  [{ name: 'hardSigmoid', alpha: 0.25, beta: 0.4 }, (t) => ops.hardSigmoid(t, { alpha: 0.25, beta: 0.4 }), (x) => ref.hardSigmoid(x, 0.25, 0.4)],
  ['hardSwish', ops.hardSwish, ref.hardSwish],
];

for (const build of BUILDS) {
  test(`${build}: conv2d with a fused activation = conv2d then the activation (bit for bit) ≈ the float64 reference`, async () => {
    assert.is(await init({ backend: build }), build);
    const r = rng(77);
    for (let i = 0; i < 60; i++) {
      // kind 0: 1×1 (the tap GEMM, many rows: several chunks), 1: k×k strided/dilated, 2: grouped,
      // 3: depthwise, 4: transposed.
      const kind = i % 5;
      const [act, op, actRef] = ACTS[i % ACTS.length];
      const N = randInt(r, 1, 2);
      const H = kind === 0 ? randInt(r, 5, 24) : randInt(r, 3, 11), W = kind === 0 ? randInt(r, 5, 24) : randInt(r, 3, 11);
      const groups = kind === 2 ? 2 : 1;
      const C = kind === 3 ? randInt(r, 1, 40) : groups * randInt(r, 1, 20);
      const Cout = kind === 3 ? C : kind === 0 ? randInt(r, 1, 300) : groups * randInt(r, 1, 24);
      const K = kind === 0 ? 1 : randInt(r, 1, 5), s = kind === 0 ? 1 : randInt(r, 1, 2), d = kind === 1 ? randInt(r, 1, 2) : 1;
      const p = randInt(r, 0, Math.floor(K / 2));
      if (d * (K - 1) + 1 > H + 2 * p || d * (K - 1) + 1 > W + 2 * p) continue;
      const Cig = kind === 3 ? 1 : C / groups;
      const xd = randArray(r, N * H * W * C, -3, 3), bd = randArray(r, Cout);
      const ctx = `${build} case ${i} kind ${kind} act ${JSON.stringify(act)} x ${[N, H, W, C]} Cout ${Cout} K ${K} s ${s} d ${d} p ${p}`;
      tidy(() => {
        const x = tensor(xd, [N, H, W, C]), b = tensor(bd, [Cout]);
        if (kind === 4) {
          const wd = randArray(r, K * K * Cout * C);
          const w = tensor(wd, [K, K, Cout, C]);
          const o = { strides: s, padding: p, bias: b };
          const y = conv2dTranspose(x, w, { ...o, activation: act });
          equalArrays(y.toArray(), op(conv2dTranspose(x, w, o)).toArray(), `${ctx} transposed vs separate`);
          const z = conv2dTransposeRef({ data: xd, shape: [N, H, W, C] }, { data: wd, shape: [K, K, Cout, C] }, { s: [s, s], d: [1, 1], pads: [[p, p], [p, p]], outPad: [0, 0], groups: 1, bias: bd });
          allclose(y.toArray(), actRef(z.data), `${ctx} transposed vs reference`, 1e-4, 3e-5 * Math.sqrt(K * K * C));
          return;
        }
        const wd = randArray(r, K * K * Cig * Cout);
        const w = tensor(wd, [K, K, Cig, Cout]);
        const o = { strides: s, dilations: d, padding: p, groups: kind === 3 ? C : groups, bias: b };
        const y = conv2d(x, w, { ...o, activation: act });
        const separate = op(conv2d(x, w, o)).toArray() as Float32Array;
        equalArrays(y.toArray(), separate, `${ctx} vs separate`);
        const z = conv2dRef({ data: xd, shape: [N, H, W, C] }, { data: wd, shape: [K, K, Cig, Cout] }, { s: [s, s], d: [d, d], pads: [[p, p], [p, p]], groups: o.groups, bias: bd });
        allclose(y.toArray(), actRef(z.data), `${ctx} vs reference`, 1e-4, 3e-5 * Math.sqrt(K * K * Cig));
        // Into channels [c0, c0 + Cout) of a wider tensor: the slice as above, the rest untouched.
        const c0 = randInt(r, 0, 5), Ct = c0 + Cout + randInt(r, 0, 5);
        const [, OH, OW] = y.shape;
        const fill = randArray(r, N * OH * OW * Ct);
        const wide = tensor(fill, [N, OH, OW, Ct]);
        conv2dInto(x, w, { ...o, activation: act }, wide, c0);
        const got = wide.toArray() as Float32Array;
        const want = Float32Array.from(fill);
        for (let px = 0; px < N * OH * OW; px++) want.set(separate.subarray(px * Cout, (px + 1) * Cout), px * Ct + c0);
        equalArrays(got, want, `${ctx} into [${c0}, ${c0 + Cout}) of ${Ct}`);
      });
    }
  });
}

test.run();
