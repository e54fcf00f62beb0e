import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  init, tensor, tidy, memoryStats, conv2d, conv1d, conv2dTranspose, locallyConnected2d, dense,
  conv2dBackpropInput, conv2dBackpropFilter, conv1dBackpropInput, conv1dBackpropFilter,
  conv2dTransposeBackpropInput, conv2dTransposeBackpropFilter, locallyConnected2dBackpropInput,
  locallyConnected2dBackpropFilter, denseBackpropInput, denseBackpropFilter, biasGrad,
  ShapeError, ArgumentError, type Tensor,
} from '../src/index.ts';
import { allclose, randArray, randInt, rng, throwsTyped } from './helpers.ts';
import { conv2dGradsRef, samePads, type Pads4 } from './reference/conv.ts';

test.before(async () => {
  await init();
});

const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
const tol = (terms: number) => 8e-6 * Math.sqrt(terms);

test('conv2dBackpropInput / conv2dBackpropFilter match the chain-rule reference on 150 random geometries', () => {
  const seed = 777;
  const r = rng(seed);
  let checked = 0;
  for (let i = 0; i < 150; i++) {
    const kind = pick(r, ['dense', 'dense', 'groups', 'dw', 'dw2'] as const);
    const N = randInt(r, 1, 3), H = randInt(r, 2, 8), W = randInt(r, 2, 8);
    const g = kind === 'groups' ? 2 : 1;
    const C = kind === 'dw' || kind === 'dw2' ? randInt(r, 1, 9) : g * randInt(r, 1, 6);
    const groups = kind === 'dw' || kind === 'dw2' ? C : g;
    const Cout = kind === 'dw' ? C : kind === 'dw2' ? 2 * C : g * randInt(r, 1, 11);
    const Cig = C / groups;
    const KH = randInt(r, 1, 3), KW = randInt(r, 1, 3);
    const s: [number, number] = [randInt(r, 1, 3), randInt(r, 1, 3)];
    const d: [number, number] = [randInt(r, 1, 2), randInt(r, 1, 2)];
    const mode = pick(r, ['valid', 'same', 'full', 1, 'pairs'] as const);
    const padding = mode === 'pairs' ? [[randInt(r, 0, 2), randInt(r, 0, 2)], [randInt(r, 0, 2), randInt(r, 0, 2)]] as Pads4 : mode;
    const pads: Pads4 = padding === 'valid' ? [[0, 0], [0, 0]] : padding === 'same' ? [samePads(H, KH, s[0], d[0]), samePads(W, KW, s[1], d[1])]
      : padding === 'full' ? [[(KH - 1) * d[0], (KH - 1) * d[0]], [(KW - 1) * d[1], (KW - 1) * d[1]]] : typeof padding === 'number' ? [[1, 1], [1, 1]] : padding;
    if (d[0] * (KH - 1) + 1 > H + pads[0][0] + pads[0][1] || d[1] * (KW - 1) + 1 > W + pads[1][0] + pads[1][1]) continue;
    const flip = r() < 0.3;
    const xs = [N, H, W, C], ws = [KH, KW, Cig, Cout];
    const xd = randArray(r, N * H * W * C), wd = randArray(r, KH * KW * Cig * Cout);
    const opts = { strides: s, dilations: d, padding, groups, flip };
    const ctx = `seed ${seed} case ${i} (${kind}): x ${xs} w ${ws} s ${s} d ${d} padding ${JSON.stringify(padding)} flip ${flip}`;
    tidy(() => {
      const x = tensor(xd, xs), w = tensor(wd, ws);
      const y = conv2d(x, w, opts);
      const dyd = randArray(r, y.size);
      const dy = tensor(dyd, y.shape as number[]);
      const ref = conv2dGradsRef({ data: xd, shape: xs }, { data: wd, shape: ws }, dyd, { s, d, pads, groups, flip });
      const dx = conv2dBackpropInput(dy, w, xs, opts);
      assert.equal(dx.shape, xs);
      allclose(dx.toArray(), ref.dx, `${ctx} dx`, 1e-4, tol(KH * KW * Cout));
      const dw = conv2dBackpropFilter(x, dy, ws, opts);
      assert.equal(dw.shape, ws);
      allclose(dw.toArray(), ref.dw, `${ctx} dw`, 1e-4, tol(y.size));
      checked++;
    });
  }
  assert.ok(checked > 100, `checked ${checked}`);
});

/**
 * Finite differences through the forward op: L(x) = Σ y(x) ⊙ r is linear in x and in w, so the
 * central difference is exact up to f32 rounding (eps 1e-2; tolerance rel 2e-3 of max|grad| + 2e-3).
 */
function fdCheck(name: string, params: Float32Array, forward: (p: Float32Array) => Float32Array, r: Float32Array, grad: ArrayLike<number>, samples = 12): void {
  const eps = 1e-2;
  const L = (p: Float32Array) => { const y = forward(p); let s = 0; for (let i = 0; i < y.length; i++) s += y[i] * r[i]; return s; };
  let scale = 0;
  for (let i = 0; i < grad.length; i++) scale = Math.max(scale, Math.abs(grad[i]));
  for (let k = 0; k < samples; k++) {
    const i = Math.floor((k * 7919) % params.length);
    const p = params.slice();
    p[i] = params[i] + eps;
    const up = L(p);
    p[i] = params[i] - eps;
    const down = L(p);
    const fd = (up - down) / (2 * eps);
    assert.ok(Math.abs(fd - grad[i]) <= 2e-3 * scale + 2e-3, `${name}: d/dp[${i}] finite difference ${fd} vs op ${grad[i]}`);
  }
}

function run(fn: () => Tensor): Float32Array {
  return tidy(() => fn().toArray() as Float32Array);
}

test('finite differences: conv2d, conv1d, conv2dTranspose, locallyConnected2d, dense (input, filter, bias)', () => {
  const r = rng(42);
  // conv2d with groups, stride, dilation, padding, flip
  {
    const xs = [2, 7, 6, 4], ws = [3, 2, 2, 6];
    const opts = { strides: [2, 1] as [number, number], dilations: [1, 2] as [number, number], padding: 'same' as const, groups: 2, flip: true };
    const xd = randArray(r, 2 * 7 * 6 * 4), wd = randArray(r, 3 * 2 * 2 * 6);
    const yShape = run(() => conv2d(tensor(xd, xs), tensor(wd, ws), opts)).length;
    const rd = randArray(r, yShape);
    tidy(() => {
      const x = tensor(xd, xs), w = tensor(wd, ws);
      const y = conv2d(x, w, opts);
      const dy = tensor(rd, y.shape as number[]);
      fdCheck('conv2d dx', xd, (p) => run(() => conv2d(tensor(p, xs), w, opts)), rd, conv2dBackpropInput(dy, w, xs, opts).toArray());
      fdCheck('conv2d dw', wd, (p) => run(() => conv2d(x, tensor(p, ws), opts)), rd, conv2dBackpropFilter(x, dy, ws, opts).toArray());
      const bd = new Float32Array(6);
      fdCheck('conv2d db', bd, (p) => run(() => conv2d(x, w, { ...opts, bias: tensor(p, [6]) })), rd, biasGrad(dy).toArray(), 6);
    });
  }
  // conv1d
  {
    const xs = [2, 11, 3], ws = [3, 3, 5];
    const opts = { strides: 2, dilations: 2, padding: [2, 1] as [number, number] };
    const xd = randArray(r, 66), wd = randArray(r, 45);
    tidy(() => {
      const x = tensor(xd, xs), w = tensor(wd, ws);
      const y = conv1d(x, w, opts);
      const rd = randArray(r, y.size);
      const dy = tensor(rd, y.shape as number[]);
      fdCheck('conv1d dx', xd, (p) => run(() => conv1d(tensor(p, xs), w, opts)), rd, conv1dBackpropInput(dy, w, xs, opts).toArray());
      fdCheck('conv1d dw', wd, (p) => run(() => conv1d(x, tensor(p, ws), opts)), rd, conv1dBackpropFilter(x, dy, ws, opts).toArray());
    });
  }
  // conv2dTranspose (and depthwise transposed)
  for (const [xs, ws, groups] of [[[2, 4, 5, 3], [4, 3, 5, 3], 1], [[1, 4, 4, 6], [3, 3, 1, 6], 6]] as Array<[number[], number[], number]>) {
    const opts = { strides: 2, padding: 1, outputPadding: [1, 0] as [number, number], groups };
    const xd = randArray(r, xs.reduce((a, b) => a * b)), wd = randArray(r, ws.reduce((a, b) => a * b));
    tidy(() => {
      const x = tensor(xd, [...xs]), w = tensor(wd, [...ws]);
      const y = conv2dTranspose(x, w, opts);
      const rd = randArray(r, y.size);
      const dy = tensor(rd, y.shape as number[]);
      fdCheck(`conv2dTranspose dx (groups ${groups})`, xd, (p) => run(() => conv2dTranspose(tensor(p, [...xs]), w, opts)), rd, conv2dTransposeBackpropInput(dy, w, [...xs], opts).toArray());
      fdCheck(`conv2dTranspose dw (groups ${groups})`, wd, (p) => run(() => conv2dTranspose(x, tensor(p, [...ws]), opts)), rd, conv2dTransposeBackpropFilter(x, dy, [...ws], opts).toArray());
    });
  }
  // locallyConnected2d with per-pixel bias
  {
    const xs = [2, 5, 4, 3], ws = [4, 2, 2, 3, 3, 4];
    const opts = { strides: [1, 1] as [number, number], padding: 0 };
    const xd = randArray(r, 120), wd = randArray(r, 4 * 2 * 2 * 3 * 3 * 4);
    tidy(() => {
      const x = tensor(xd, xs), w = tensor(wd, ws);
      const y = locallyConnected2d(x, w, opts);
      const rd = randArray(r, y.size);
      const dy = tensor(rd, y.shape as number[]);
      fdCheck('lc dx', xd, (p) => run(() => locallyConnected2d(tensor(p, xs), w, opts)), rd, locallyConnected2dBackpropInput(dy, w, xs, opts).toArray());
      fdCheck('lc dw', wd, (p) => run(() => locallyConnected2d(x, tensor(p, ws), opts)), rd, locallyConnected2dBackpropFilter(x, dy, ws, opts).toArray());
      const bd = new Float32Array(4 * 2 * 4);
      fdCheck('lc db', bd, (p) => run(() => locallyConnected2d(x, w, { ...opts, bias: tensor(p, [4, 2, 4]) })), rd, biasGrad(dy, { perPixel: true }).toArray());
    });
  }
  // dense
  {
    const xd = randArray(r, 5 * 13), wd = randArray(r, 13 * 9);
    tidy(() => {
      const x = tensor(xd, [5, 13]), w = tensor(wd, [13, 9]);
      const rd = randArray(r, 45);
      const dy = tensor(rd, [5, 9]);
      fdCheck('dense dx', xd, (p) => run(() => dense(tensor(p, [5, 13]), w)), rd, denseBackpropInput(dy, w).toArray());
      fdCheck('dense dw', wd, (p) => run(() => dense(x, tensor(p, [13, 9]))), rd, denseBackpropFilter(x, dy).toArray());
    });
  }
});

test('backprop ops reject mismatched shapes with typed errors', () => {
  tidy(() => {
    const w = tensor(new Float32Array(3 * 3 * 2 * 4), [3, 3, 2, 4]);
    const dy = tensor(new Float32Array(1 * 3 * 3 * 4), [1, 3, 3, 4]);
    throwsTyped(() => conv2dBackpropInput(dy, w, [1, 6, 6, 2]), ShapeError, 'conv2dBackpropInput', 'dy must be [1,4,4,4]', '[1,3,3,4]');
    throwsTyped(() => conv2dBackpropInput(dy, w, [1, 5, 5] as never), ArgumentError, 'xShape');
    throwsTyped(() => conv2dBackpropFilter(tensor(new Float32Array(50), [1, 5, 5, 2]), dy, [3, 3, 3, 4]), ShapeError, 'conv2dBackpropFilter', 'input has 2 channels but weights expect 3');
    throwsTyped(() => denseBackpropInput(tensor(new Float32Array(6), [2, 3]), tensor(new Float32Array(8), [2, 4])), ShapeError, 'denseBackpropInput', 'dy must end in 4 units');
    throwsTyped(() => denseBackpropFilter(tensor(new Float32Array(6), [2, 3]), tensor(new Float32Array(12), [3, 4])), ShapeError, 'denseBackpropFilter');
  });
  assert.is(memoryStats().tensors, 0);
});

test.run();
