// node-flags: --experimental-wasm-relaxed-simd
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  init, threads, tensor, conv2d, conv2dBackpropFilter, biasGrad, maxPool2d, maxPool2dBackward, avgPool2d, avgPool2dBackward,
  lpPool2d, lpPool2dBackward, mixedPool2dBackward, adaptiveAvgPool2dBackward, globalAvgPool2dBackward, ArgumentError, optimizers, type Tensor, type Backend,
} from '../src/index.ts';
import { allclose, lcgFloats, lcgTensor } from './helpers.ts';
import { conv2dGradsRef, samePads, type Pads4 } from './reference/conv.ts';

// Threads for the training ops (README "Threads"): the gradients split over the pool — filter
// gradients over fixed pixel ranges summed in a fixed order, bias gradients over fixed row ranges,
// the pooling gradients over whole images, the single-channel filter gradient's transpose over
// images — and an optimizer step batching every parameter's update into one pool run are
// bit-identical with 1, 2 and 3 threads in every build, and match the float64 references (the
// partial sums change the summation order, not the accuracy).

const rnd = lcgFloats, t = lcgTensor;

interface FilterCase { x: number[]; w: number[]; s: number; d: number; same: boolean; flip?: boolean }
/** Filter gradients large enough for the pixel split (work ≥ 2^18 multiply-adds), odd sizes and channels. */
const FILTER: Record<string, FilterCase> = {
  lenet: { x: [64, 14, 14, 6], w: [5, 5, 6, 16], s: 1, d: 1, same: false },
  odd: { x: [9, 13, 11, 5], w: [3, 3, 5, 7], s: 1, d: 1, same: true },
  strided: { x: [16, 21, 19, 3], w: [3, 3, 3, 10], s: 2, d: 1, same: true },
  dilated: { x: [21, 17, 15, 4], w: [3, 2, 4, 9], s: 1, d: 2, same: false, flip: true },
  'single-channel': { x: [64, 28, 28, 1], w: [5, 5, 1, 6], s: 1, d: 1, same: true },
};

function filterGeometry(c: FilterCase): { pads: Pads4; oh: number; ow: number } {
  const [, H, W] = c.x, [KH, KW] = c.w;
  const pads: Pads4 = c.same ? [samePads(H, KH, c.s, c.d), samePads(W, KW, c.s, c.d)] : [[0, 0], [0, 0]];
  const oh = Math.floor((H + pads[0][0] + pads[0][1] - c.d * (KH - 1) - 1) / c.s) + 1;
  const ow = Math.floor((W + pads[1][0] + pads[1][1] - c.d * (KW - 1) - 1) / c.s) + 1;
  return { pads, oh, ow };
}

/** The split gradients, as arrays (inputs from fixed seeds). */
function grads(): Record<string, Float32Array> {
  const out: Record<string, Float32Array> = {};
  let seed = 11;
  for (const [name, c] of Object.entries(FILTER)) {
    const { oh, ow } = filterGeometry(c);
    const x = t(c.x, seed++), dy = t([c.x[0], oh, ow, c.w[3]], seed++);
    out[`dw/${name}`] = conv2dBackpropFilter(x, dy, c.w, { strides: c.s, dilations: c.d, padding: c.same ? 'same' : 'valid', flip: c.flip }).toArray() as Float32Array;
  }
  out['db/lenet-conv1'] = biasGrad(t([64, 28, 28, 6], seed++)).toArray() as Float32Array;
  out['db/130'] = biasGrad(t([37, 9, 9, 130], seed++)).toArray() as Float32Array;
  out['db/per-pixel'] = biasGrad(t([50, 8, 8, 100], seed++), { perPixel: true }).toArray() as Float32Array;
  const xp = t([64, 28, 28, 6], seed++);
  const p = maxPool2d(xp, { size: 2, returnIndices: true });
  out['maxPool'] = maxPool2dBackward(t(p.output.shape as number[], seed++), p.indices, xp.shape).toArray() as Float32Array;
  const xq = t([23, 33, 31, 12], seed++);
  const avgOpts = { size: 3, strides: 2, padding: 'same' as const };
  const ya = avgPool2d(xq, avgOpts);
  out['avgPool'] = avgPool2dBackward(t(ya.shape as number[], seed++), xq.shape, avgOpts).toArray() as Float32Array;
  out['adaptiveAvgPool'] = adaptiveAvgPool2dBackward(t([23, 5, 7, 12], seed++), xq.shape, { outputSize: [5, 7] }).toArray() as Float32Array;
  out['globalAvgPool'] = globalAvgPool2dBackward(t([23, 12], seed++), xq.shape).toArray() as Float32Array;
  const lpOpts = { p: 3, size: 2, strides: 2 };
  const yl = lpPool2d(xq, lpOpts);
  out['lpPool'] = lpPool2dBackward(xq, yl, t(yl.shape as number[], seed++), lpOpts).toArray() as Float32Array;
  out['mixedPool'] = mixedPool2dBackward(xq, t([23, 16, 15, 12], seed++), { lambda: 0.4, size: 3, strides: 2 }).toArray() as Float32Array;
  return out;
}

const same = (a: ArrayLike<number>, b: ArrayLike<number>) => a.length === b.length && Array.prototype.every.call(a, (v: number, i: number) => Object.is(v, b[i]));
const BUILDS: Backend[] = ['relaxed-simd', 'simd', 'scalar'];

for (const build of BUILDS) {
  test(`${build}: split gradients bit-identical with 1, 2 and 3 threads`, async () => {
    const runs: Array<Record<string, Float32Array>> = [];
    for (const n of [1, 2, 3]) {
      await init({ backend: build, threads: n });
      assert.is(threads(), n);
      runs.push(grads());
    }
    for (const k of Object.keys(runs[0])) {
      assert.ok(same(runs[0][k], runs[1][k]), `${k}: 2 threads differ from 1`);
      assert.ok(same(runs[0][k], runs[2][k]), `${k}: 3 threads differ from 1`);
    }
  });

  test(`${build}: pixel-split filter gradients and row-split bias gradients match the float64 references`, async () => {
    await init({ backend: build, threads: 2 });
    let seed = 500;
    for (const [name, c] of Object.entries(FILTER)) {
      const { pads, oh, ow } = filterGeometry(c);
      const xd = rnd(c.x.reduce((a, b) => a * b, 1), seed++), dyd = rnd(c.x[0] * oh * ow * c.w[3], seed++);
      const ref = conv2dGradsRef({ data: xd, shape: c.x }, { data: new Float32Array(c.w.reduce((a, b) => a * b, 1)), shape: c.w }, dyd,
        { s: [c.s, c.s], d: [c.d, c.d], pads, groups: 1, flip: c.flip });
      const dw = conv2dBackpropFilter(tensor(xd, c.x), tensor(dyd, [c.x[0], oh, ow, c.w[3]]), c.w,
        { strides: c.s, dilations: c.d, padding: c.same ? 'same' : 'valid', flip: c.flip });
      // Each dw is a sum of N·OH·OW products of numbers in ±0.5.
      allclose(dw.toArray(), ref.dw, `${build} dw/${name}`, 1e-4, 8e-6 * Math.sqrt(c.x[0] * oh * ow));
    }
    for (const [shape, perPixel] of [[[64, 28, 28, 6], false], [[37, 9, 9, 130], false], [[50, 8, 8, 100], true]] as Array<[number[], boolean]>) {
      const d = rnd(shape.reduce((a, b) => a * b, 1), seed++);
      const cols = perPixel ? shape.slice(1).reduce((a, b) => a * b, 1) : shape[3];
      const ref = new Float64Array(cols);
      for (let i = 0; i < d.length; i++) ref[i % cols] += d[i];
      allclose(biasGrad(tensor(d, shape), { perPixel }).toArray(), ref, `${build} db ${shape}`, 1e-4, 8e-6 * Math.sqrt(d.length / cols));
    }
  });
}

test('optimizer steps over many parameters (one batched pool run) are bit-identical with 1, 2 and 3 threads', async () => {
  const make = [
    () => optimizers.adam({ weightDecay: 0.01 }), () => optimizers.adam({ decoupled: true, weightDecay: 0.1 }),
    () => optimizers.sgd({ momentum: 0.9, nesterov: true }), () => optimizers.rmsprop({ momentum: 0.5 }), () => optimizers.adagrad(),
  ];
  const sizes = [[600, 401], [5, 5, 6, 16], [120], [200, 333], [7]];
  const runs: Float32Array[][] = [];
  for (const n of [1, 2, 3]) {
    await init({ threads: n });
    const out: Float32Array[] = [];
    make.forEach((f, k) => {
      const opt = f();
      const params = sizes.map((s, i) => t(s, 900 + 10 * k + i));
      for (let step = 0; step < 3; step++) opt.step(params, sizes.map((s, i) => t(s, 1000 + 100 * step + 10 * k + i)));
      out.push(...params.map((p) => p.toArray() as Float32Array));
    });
    runs.push(out);
  }
  runs[0].forEach((a, i) => {
    assert.ok(same(a, runs[1][i]), `parameter ${i}: 2 threads differ from 1`);
    assert.ok(same(a, runs[2][i]), `parameter ${i}: 3 threads differ from 1`);
  });
});

test('an optimizer step over more tiles than one pool run holds (4200 parameters) runs in several runs, bit-identical', async () => {
  const runs: Float32Array[][] = [];
  for (const n of [1, 2, 3]) {
    await init({ threads: n });
    const params = Array.from({ length: 4200 }, (_, i) => t([100], 3000 + i));
    optimizers.adam().step(params, params.map((_, i) => t([100], 9000 + i)));
    runs.push(params.map((p) => p.toArray() as Float32Array));
  }
  runs[0].forEach((a, i) => { assert.ok(same(a, runs[1][i]) && same(a, runs[2][i]), `parameter ${i} differs`); });
});

test('maxPool2dBackward split over images names the same bad index as one thread', async () => {
  const messages: string[] = [];
  for (const n of [1, 2, 3]) {
    await init({ threads: n });
    const x = t([64, 28, 28, 6], 3);
    const p = maxPool2d(x, { size: 2, returnIndices: true });
    const idx = p.indices.toArray() as Int32Array;
    idx[40 * 14 * 14 * 6 + 5] = 7; // image 40 points into image 0
    idx[50 * 14 * 14 * 6 + 3] = -1; // a later one: not reported
    try {
      maxPool2dBackward(p.output, tensor(idx, p.indices.shape as number[], 'int32'), x.shape);
      assert.unreachable('expected ArgumentError');
    } catch (e) {
      assert.instance(e, ArgumentError);
      messages.push((e as Error).message);
    }
  }
  assert.match(messages[0], 'indices[40,0,0,5]');
  assert.is(messages[1], messages[0]);
  assert.is(messages[2], messages[0]);
});

test.after(async () => {
  await init({ threads: 1 });
});

test.run();
