import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  init, tensor, conv2d, conv1d, conv2dTranspose, locallyConnected2d, dense, flatten, memoryStats, tidy,
  ShapeError, ArgumentError, DTypeError, DisposedError, type Tensor,
} from '../src/index.ts';
import { allclose, equalArrays, randArray, randInt, rng, throwsTyped } from './helpers.ts';
import { conv2dRef, conv2dTransposeRef, denseRef, locallyConnected2dRef, samePads, type Pads4 } from './reference/conv.ts';

// Tolerance for f32 sums against the float64 reference: rtol 1e-4 plus an absolute term that grows
// with the number of products summed (values are uniform in [-1, 1]).
const tol = (terms: number) => 2e-6 * Math.sqrt(terms) * 4;

test.before(async () => {
  await init();
});

const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];

type PadMode = 'valid' | 'same' | 'full' | number | [[number, number], [number, number]];

function padsOf(mode: PadMode, H: number, W: number, k: [number, number], s: [number, number], d: [number, number]): Pads4 {
  if (mode === 'valid') return [[0, 0], [0, 0]];
  if (mode === 'same') return [samePads(H, k[0], s[0], d[0]), samePads(W, k[1], s[1], d[1])];
  if (mode === 'full') return [[(k[0] - 1) * d[0], (k[0] - 1) * d[0]], [(k[1] - 1) * d[1], (k[1] - 1) * d[1]]];
  if (typeof mode === 'number') return [[mode, mode], [mode, mode]];
  return mode;
}

test('conv2d matches the reference on 300 random shapes (every padding mode, strides 1–3, dilations 1–2, groups, depthwise, flip, bias, batch)', () => {
  const seed = 1234;
  const r = rng(seed);
  let checked = 0, rejected = 0;
  for (let i = 0; i < 300; i++) {
    const groups = pick(r, [1, 1, 1, 2, 3, 'dw'] as const);
    const N = randInt(r, 1, 3), H = randInt(r, 1, 9), W = randInt(r, 1, 9);
    let C: number, Cout: number, g: number;
    if (groups === 'dw') {
      C = pick(r, [1, 3, 4, 5, 8, 13, 16, 21]);
      Cout = C * pick(r, [1, 1, 2]);
      g = C;
    } else {
      g = groups;
      C = g * pick(r, [1, 2, 3, 4, 5, 8]);
      Cout = g * pick(r, [1, 3, 4, 7, 8, 9, 16, 17]);
    }
    const KH = randInt(r, 1, 4), KW = randInt(r, 1, 4);
    const s: [number, number] = [randInt(r, 1, 3), randInt(r, 1, 3)];
    const d: [number, number] = [randInt(r, 1, 2), randInt(r, 1, 2)];
    const mode: PadMode = pick(r, ['valid', 'same', 'full', 1, 'pairs'] as const) === 'pairs'
      ? [[randInt(r, 0, 3), randInt(r, 0, 3)], [randInt(r, 0, 3), randInt(r, 0, 3)]]
      : pick(r, ['valid', 'same', 'full', 1, 2] as const);
    const flip = r() < 0.25;
    const withBias = r() < 0.5;
    const xs = [N, H, W, C], ws = [KH, KW, C / g, Cout];
    const xd = randArray(r, N * H * W * C), wd = randArray(r, KH * KW * (C / g) * Cout), bd = randArray(r, Cout);
    const pads = padsOf(mode, H, W, [KH, KW], s, d);
    const ctx = `seed ${seed} case ${i}: x ${xs} w ${ws} s ${s} d ${d} padding ${JSON.stringify(mode)} groups ${g} flip ${flip}`;
    const fits = d[0] * (KH - 1) + 1 <= H + pads[0][0] + pads[0][1] && d[1] * (KW - 1) + 1 <= W + pads[1][0] + pads[1][1];
    tidy(() => {
      const x = tensor(xd, xs), w = tensor(wd, ws), b = tensor(bd, [Cout]);
      const opts = { strides: s, dilations: d, padding: mode, groups: g, flip, bias: withBias ? b : undefined };
      if (!fits) {
        throwsTyped(() => conv2d(x, w, opts), ShapeError, 'conv2d', 'larger than the padded input');
        rejected++;
        return;
      }
      const y = conv2d(x, w, opts);
      const ref = conv2dRef({ data: xd, shape: xs }, { data: wd, shape: ws }, { s, d, pads, groups: g, flip, bias: withBias ? bd : undefined });
      assert.equal(y.shape, ref.shape, ctx);
      allclose(y.toArray(), ref.data, ctx, 1e-4, tol(KH * KW * C / g));
      checked++;
    });
  }
  assert.ok(checked > 200 && rejected > 0, `checked ${checked}, rejected ${rejected}`);
});

test('conv2d edge cases of the 4×8 tile: M and Cout around the tile, K around the unroll', () => {
  const r = rng(99);
  for (const M of [1, 2, 3, 4, 5, 7, 8, 9]) for (const Cout of [1, 4, 7, 8, 9, 15, 16, 17]) for (const C of [1, 2, 3, 4, 5]) {
    tidy(() => {
      const xd = randArray(r, M * C), wd = randArray(r, C * Cout);
      const y = conv2d(tensor(xd, [1, 1, M, C]), tensor(wd, [1, 1, C, Cout]));
      const ref = conv2dRef({ data: xd, shape: [1, 1, M, C] }, { data: wd, shape: [1, 1, C, Cout] }, { s: [1, 1], d: [1, 1], pads: [[0, 0], [0, 0]], groups: 1 });
      allclose(y.toArray(), ref.data, `M ${M} Cout ${Cout} C ${C}`, 1e-4, tol(C));
    });
  }
});

test('conv2d fused relu equals relu of the output; padding taps of a zero input give exactly the bias', () => {
  const r = rng(5);
  tidy(() => {
    const xd = randArray(r, 2 * 6 * 5 * 3), wd = randArray(r, 3 * 3 * 3 * 10), bd = randArray(r, 10);
    const x = tensor(xd, [2, 6, 5, 3]), w = tensor(wd, [3, 3, 3, 10]), b = tensor(bd, [10]);
    const plain = conv2d(x, w, { padding: 'same', bias: b }).toArray();
    const fused = conv2d(x, w, { padding: 'same', bias: b, activation: 'relu' }).toArray();
    equalArrays(fused, plain.map((v) => Math.max(v, 0)), 'fused relu');
    const z = conv2d(tensor(new Float32Array(1 * 3 * 3 * 3), [1, 3, 3, 3]), w, { padding: 'full', bias: b }).toArray();
    for (let i = 0; i < z.length; i++) assert.is(z[i], Math.fround(bd[i % 10]));
  });
});

test('conv2d weights are packed once and repacked when the bias changes', () => {
  const r = rng(8);
  tidy(() => {
    const x = tensor(randArray(r, 1 * 4 * 4 * 2), [1, 4, 4, 2]), w = tensor(randArray(r, 2 * 2 * 2 * 3), [2, 2, 2, 3]);
    const b1 = tensor([1, 2, 3], [3]), b2 = tensor([-1, -2, -3], [3]);
    const a = conv2d(x, w, { bias: b1 }).toArray();
    const b = conv2d(x, w, { bias: b2 }).toArray();
    const c = conv2d(x, w).toArray();
    for (let i = 0; i < a.length; i++) {
      assert.ok(Math.abs(a[i] - c[i] - [1, 2, 3][i % 3]) < 1e-5);
      assert.ok(Math.abs(b[i] - c[i] + [1, 2, 3][i % 3]) < 1e-5);
    }
  });
});

test('conv1d matches the reference (as a 1-row conv2d written independently)', () => {
  const r = rng(77);
  for (let i = 0; i < 60; i++) {
    const N = randInt(r, 1, 3), L = randInt(r, 3, 20), g = pick(r, [1, 1, 2]);
    const C = g * randInt(r, 1, 5), Cout = g * randInt(r, 1, 9), K = randInt(r, 1, 4);
    const stride = randInt(r, 1, 3), dilation = randInt(r, 1, 2);
    const mode = pick(r, ['valid', 'same', 'full', 1, [2, 0]] as const);
    if (dilation * (K - 1) + 1 > L) continue;
    const xd = randArray(r, N * L * C), wd = randArray(r, K * (C / g) * Cout), bd = randArray(r, Cout);
    const lr: [number, number] = mode === 'valid' ? [0, 0] : mode === 'same' ? samePads(L, K, stride, dilation)
      : mode === 'full' ? [(K - 1) * dilation, (K - 1) * dilation] : typeof mode === 'number' ? [mode, mode] : [mode[0], mode[1]];
    tidy(() => {
      const y = conv1d(tensor(xd, [N, L, C]), tensor(wd, [K, C / g, Cout]), { strides: stride, dilations: dilation, padding: mode as never, groups: g, bias: tensor(bd, [Cout]) });
      const ref = conv2dRef({ data: xd, shape: [N, 1, L, C] }, { data: wd, shape: [1, K, C / g, Cout] }, { s: [1, stride], d: [1, dilation], pads: [[0, 0], lr], groups: g, bias: bd });
      assert.equal(y.shape, [N, ref.shape[2], Cout]);
      allclose(y.toArray(), ref.data, `conv1d case ${i}`, 1e-4, tol(K * C));
    });
  }
});

test('conv2dTranspose matches the scatter reference (strides, pads, outputPadding, dilations, groups, same)', () => {
  const seed = 4321;
  const r = rng(seed);
  let checked = 0;
  for (let i = 0; i < 150; i++) {
    const g = pick(r, [1, 1, 2]);
    const N = randInt(r, 1, 2), H = randInt(r, 1, 7), W = randInt(r, 1, 7);
    const C = g * randInt(r, 1, 5), Cog = randInt(r, 1, 9);
    const KH = randInt(r, 1, 4), KW = randInt(r, 1, 4);
    const s: [number, number] = [randInt(r, 1, 3), randInt(r, 1, 3)];
    const d: [number, number] = [randInt(r, 1, 2), randInt(r, 1, 2)];
    const same = r() < 0.2;
    const pads: Pads4 = [[randInt(r, 0, 2), randInt(r, 0, 2)], [randInt(r, 0, 2), randInt(r, 0, 2)]];
    const outPad: [number, number] = [randInt(r, 0, Math.max(s[0], d[0]) - 1), randInt(r, 0, Math.max(s[1], d[1]) - 1)];
    const xd = randArray(r, N * H * W * C), wd = randArray(r, KH * KW * Cog * C), bd = randArray(r, Cog * g);
    let refPads = pads, refOut = outPad;
    if (same) {
      const axis = (k: number, st: number, dl: number): [[number, number], number] => {
        const total = dl * (k - 1) + 1 - st;
        return total >= 0 ? [[Math.floor(total / 2), total - Math.floor(total / 2)], 0] : [[0, 0], -total];
      };
      const [ph, oh] = axis(KH, s[0], d[0]), [pw, ow] = axis(KW, s[1], d[1]);
      refPads = [ph, pw];
      refOut = [oh, ow];
    }
    const OH = (H - 1) * s[0] - refPads[0][0] - refPads[0][1] + d[0] * (KH - 1) + 1 + refOut[0];
    const OW = (W - 1) * s[1] - refPads[1][0] - refPads[1][1] + d[1] * (KW - 1) + 1 + refOut[1];
    const ctx = `seed ${seed} case ${i}: x ${[N, H, W, C]} w ${[KH, KW, Cog, C]} s ${s} d ${d} pads ${JSON.stringify(same ? 'same' : pads)} outPad ${outPad} groups ${g}`;
    tidy(() => {
      const x = tensor(xd, [N, H, W, C]), w = tensor(wd, [KH, KW, Cog, C]);
      const opts = { strides: s, dilations: d, padding: same ? 'same' as const : pads, outputPadding: same ? 0 : outPad, groups: g, bias: tensor(bd, [Cog * g]) };
      if (OH < 1 || OW < 1) {
        throwsTyped(() => conv2dTranspose(x, w, opts), ShapeError, 'conv2dTranspose', 'would be');
        return;
      }
      const y = conv2dTranspose(x, w, opts);
      const ref = conv2dTransposeRef({ data: xd, shape: [N, H, W, C] }, { data: wd, shape: [KH, KW, Cog, C] }, { s, d, pads: refPads, outPad: refOut, groups: g, bias: bd });
      assert.equal(y.shape, ref.shape, ctx);
      if (same) assert.equal(y.shape.slice(1, 3), [H * s[0], W * s[1]], ctx);
      allclose(y.toArray(), ref.data, ctx, 1e-4, tol(KH * KW * C));
      checked++;
    });
  }
  assert.ok(checked > 100, `checked ${checked}`);
});

test('conv2dTranspose is the adjoint of conv2d: <conv2d(x), y> = <x, conv2dTranspose(y)>', () => {
  const r = rng(11);
  tidy(() => {
    const xs = [2, 9, 8, 3], ws = [3, 4, 3, 5];
    const xd = randArray(r, 2 * 9 * 8 * 3), wd = randArray(r, 3 * 4 * 3 * 5);
    const opts = { strides: [2, 3] as [number, number], dilations: [1, 2] as [number, number], padding: [[1, 2], [0, 1]] as [[number, number], [number, number]] };
    const y = conv2d(tensor(xd, xs), tensor(wd, ws), opts);
    const yd = randArray(r, y.size);
    const back = conv2dTranspose(tensor(yd, y.shape as number[]), tensor(wd, ws), {
      ...opts,
      // The transposed output must be the conv input's size: recover the rows/cols conv2d dropped.
      outputPadding: [(9 + 3 - 2 * 2 - 1) % 2, (8 + 1 - 2 * 3 - 1) % 3],
    });
    assert.equal(back.shape, xs);
    let lhs = 0, rhs = 0;
    const ya = y.toArray(), ba = back.toArray();
    for (let i = 0; i < ya.length; i++) lhs += ya[i] * yd[i];
    for (let i = 0; i < ba.length; i++) rhs += ba[i] * xd[i];
    assert.ok(Math.abs(lhs - rhs) < 1e-3 * (1 + Math.abs(lhs)), `${lhs} vs ${rhs}`);
  });
});

test('locallyConnected2d matches the reference (per-pixel and per-channel bias, strides, padding)', () => {
  const r = rng(31);
  for (let i = 0; i < 40; i++) {
    const N = randInt(r, 1, 2), H = randInt(r, 2, 7), W = randInt(r, 2, 7), C = randInt(r, 1, 5), Cout = randInt(r, 1, 10);
    const KH = randInt(r, 1, Math.min(3, H)), KW = randInt(r, 1, Math.min(3, W));
    const s: [number, number] = [randInt(r, 1, 2), randInt(r, 1, 2)];
    const p = randInt(r, 0, 1);
    const pads: Pads4 = [[p, p], [p, p]];
    const OH = Math.floor((H + 2 * p - KH) / s[0]) + 1, OW = Math.floor((W + 2 * p - KW) / s[1]) + 1;
    const perPixel = r() < 0.5;
    const xd = randArray(r, N * H * W * C), wd = randArray(r, OH * OW * KH * KW * C * Cout);
    const bd = randArray(r, perPixel ? OH * OW * Cout : Cout);
    tidy(() => {
      const y = locallyConnected2d(tensor(xd, [N, H, W, C]), tensor(wd, [OH, OW, KH, KW, C, Cout]), {
        strides: s, padding: p, bias: tensor(bd, perPixel ? [OH, OW, Cout] : [Cout]),
      });
      const ref = locallyConnected2dRef({ data: xd, shape: [N, H, W, C] }, { data: wd, shape: [OH, OW, KH, KW, C, Cout] }, { s, pads, bias: bd, biasPerPixel: perPixel });
      assert.equal(y.shape, ref.shape);
      allclose(y.toArray(), ref.data, `lc case ${i}`, 1e-4, tol(KH * KW * C));
    });
  }
});

test('dense matches the reference for batch sizes and widths around the tile', () => {
  const r = rng(3);
  for (const M of [1, 2, 3, 5, 64]) for (const K of [1, 3, 4, 17, 400]) for (const U of [1, 7, 8, 10, 33]) {
    tidy(() => {
      const xd = randArray(r, M * K), wd = randArray(r, K * U), bd = randArray(r, U);
      const y = dense(tensor(xd, [M, K]), tensor(wd, [K, U]), { bias: tensor(bd, [U]) });
      assert.equal(y.shape, [M, U]);
      allclose(y.toArray(), denseRef(xd, M, K, wd, U, bd), `dense M ${M} K ${K} U ${U}`, 1e-4, tol(K));
    });
  }
  tidy(() => {
    const y = dense(tensor([1, 2, 3, 4, 5, 6], [2, 1, 3]), tensor([1, 0, 0, 1, 1, 1], [3, 2]));
    assert.equal(y.shape, [2, 1, 2]);
    equalArrays(y.toArray(), [4, 5, 10, 11], 'dense on the last axis');
  });
});

test('flatten keeps the batch and copies the data', () => {
  tidy(() => {
    const x = tensor([1, 2, 3, 4, 5, 6, 7, 8], [2, 2, 2, 1]);
    const y = flatten(x);
    assert.equal(y.shape, [2, 4]);
    equalArrays(y.toArray(), [1, 2, 3, 4, 5, 6, 7, 8], 'flatten');
  });
});

test('bad convolution input throws typed errors naming op, argument and shapes', () => {
  tidy(() => {
    const x = tensor(new Float32Array(1 * 5 * 5 * 3), [1, 5, 5, 3]);
    const w = tensor(new Float32Array(3 * 3 * 4 * 8), [3, 3, 4, 8]);
    throwsTyped(() => conv2d(x, w), ShapeError, 'conv2d', 'input has 3 channels but weights expect 4', '[3,3,4,8]');
    const w3 = tensor(new Float32Array(3 * 3 * 3 * 8), [3, 3, 3, 8]);
    throwsTyped(() => conv2d(x, w3, { strides: 0 }), ArgumentError, 'conv2d', 'strides');
    throwsTyped(() => conv2d(x, w3, { dilations: [1, -1] }), ArgumentError, 'dilations');
    throwsTyped(() => conv2d(x, w3, { padding: 'middle' as never }), ArgumentError, 'padding');
    throwsTyped(() => conv2d(x, w3, { groups: 2 }), ShapeError, 'groups 2 does not divide the input channels 3');
    throwsTyped(() => conv2d(x, tensor(new Float32Array(6 * 6 * 3), [6, 6, 3, 1])), ShapeError, 'kernel height extent 6', 'padded input height 5');
    throwsTyped(() => conv2d(x, w3, { dilations: 3 }), ShapeError, 'dilation 3');
    throwsTyped(() => conv2d(tensor(new Float32Array(75), [5, 5, 3]), w3), ShapeError, 'conv2d', 'x must have rank 4', '[5,5,3]');
    throwsTyped(() => conv2d(tensor(new Int32Array(75), [1, 5, 5, 3], 'int32'), w3), DTypeError, 'conv2d', 'x must be float32');
    throwsTyped(() => conv2d(x, w3, { bias: tensor([1, 2], [2]) }), ShapeError, 'bias has 2 elements', '8 output channels');
    throwsTyped(() => conv2d(x, w3, { stride: 2 } as never), ArgumentError, "unknown option 'stride'");
    throwsTyped(() => conv2d(x, [1, 2] as never), ArgumentError, 'conv2d', 'w must be a Tensor');
    const gone = tensor([1], [1, 1, 1, 1]);
    gone.dispose();
    throwsTyped(() => conv2d(gone, w3), DisposedError, 'conv2d', 'x', 'disposed');
    throwsTyped(() => conv2dTranspose(x, w), ShapeError, 'conv2dTranspose', 'input has 3 channels but weights expect 8');
    throwsTyped(() => conv2dTranspose(x, tensor(new Float32Array(9 * 2 * 3), [3, 3, 2, 3]), { strides: 2, outputPadding: 2 }), ArgumentError, 'outputPadding 2');
    throwsTyped(() => conv2dTranspose(x, tensor(new Float32Array(9 * 2 * 3), [3, 3, 2, 3]), { padding: 4 }), ShapeError, 'output height would be');
    throwsTyped(() => dense(tensor(new Float32Array(6), [2, 3]), tensor(new Float32Array(8), [4, 2])), ShapeError, 'dense', 'input has 3 features but weights expect 4');
    throwsTyped(() => locallyConnected2d(x, tensor(new Float32Array(2 * 2 * 3 * 3 * 3 * 1), [2, 2, 3, 3, 3, 1])), ShapeError, 'output is 3×3', 'weights are for 2×2');
    throwsTyped(() => conv1d(tensor(new Float32Array(10), [1, 10, 1]), tensor(new Float32Array(11), [11, 1, 1])), ShapeError, 'conv1d', 'length');
  });
});

test('no live tensors remain', () => {
  assert.is(memoryStats().tensors, 0);
});

test.run();
