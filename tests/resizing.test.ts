// layers.resizing (any output size, nearest / bilinear / alignCorners) and layers.depthwiseConv2d
// (one group per input channel): forward against the SIMD ops, and resizing's gradient by finite
// differences.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { init, layers, tensor, conv2d, upSampling2d, Context, type Tensor } from '../src/index.ts';
import { allclose, randArray, rng } from './helpers.ts';

test.before(async () => {
  await init();
});

function run(layer: ReturnType<typeof layers.resizing>, x: Tensor, training = false): { y: Tensor; ctx: Context } {
  layer.build([x.shape.slice(1)], Math.random);
  const ctx = new Context(training);
  ctx.inputs = [x];
  return { y: layer.forward([x], ctx), ctx };
}

test('resizing by integer factors equals upSampling2d (nearest, bilinear, alignCorners)', () => {
  const r = rng(3);
  const x = tensor(randArray(r, 2 * 3 * 5 * 4), [2, 3, 5, 4]);
  for (const o of [{ interpolation: 'nearest' as const }, { interpolation: 'bilinear' as const }, { interpolation: 'bilinear' as const, alignCorners: true }]) {
    const { y } = run(layers.resizing({ height: 6, width: 15, ...o }), x);
    const want = upSampling2d(x, { size: [2, 3], ...o });
    assert.equal(y.shape, [2, 6, 15, 4]);
    allclose(y.toArray(), want.toArray(), JSON.stringify(o), 1e-5, 1e-6);
    y.dispose();
    want.dispose();
  }
  x.dispose();
});

test('resizing down and to odd sizes: values as PyTorch computes them (align_corners and half-pixel)', () => {
  // One row 0..3 resized to width 3: align_corners samples 0, 1.5, 3; half-pixel samples max(0,(o+.5)·4/3−.5).
  const x = tensor(Float32Array.from([0, 1, 2, 3]), [1, 1, 4, 1]);
  let { y } = run(layers.resizing({ height: 1, width: 3, alignCorners: true }), x);
  allclose(y.toArray(), [0, 1.5, 3], 'alignCorners');
  y.dispose();
  ({ y } = run(layers.resizing({ height: 1, width: 3 }), x));
  allclose(y.toArray(), [1 / 6, 1.5, 17 / 6], 'half-pixel');
  y.dispose();
  ({ y } = run(layers.resizing({ height: 1, width: 3, interpolation: 'nearest' }), x));
  allclose(y.toArray(), [0, 1, 2], 'nearest');
  y.dispose();
  x.dispose();
});

test('resizing backward: finite differences', () => {
  const r = rng(5);
  const shape = [1, 3, 4, 2];
  const xd = randArray(r, 24);
  for (const o of [{ interpolation: 'bilinear' as const }, { interpolation: 'bilinear' as const, alignCorners: true }, { interpolation: 'nearest' as const }]) {
    const layer = layers.resizing({ height: 5, width: 3, ...o });
    const w = randArray(r, 5 * 3 * 2);
    const f = (d: Float32Array): number => {
      const x = tensor(d, shape);
      const { y } = run(layer, x);
      const v = Array.from(y.toArray());
      y.dispose();
      x.dispose();
      return v.reduce((s, a, i) => s + a * w[i], 0);
    };
    const x = tensor(xd, shape);
    const { y, ctx } = run(layer, x, true);
    const dy = tensor(w, y.shape);
    const { dxs } = layer.backward(dy, ctx, [true]);
    const got = dxs[0]!.toArray();
    const num = Array.from(xd, (_, i) => {
      const p = xd.slice(), m = xd.slice();
      p[i] += 1e-2;
      m[i] -= 1e-2;
      return (f(p) - f(m)) / 2e-2;
    });
    allclose(got, num, JSON.stringify(o), 1e-2, 1e-3);
    for (const t of [x, y, dy, dxs[0]!]) t.dispose();
  }
});

test('depthwiseConv2d layer: groups = input channels, output channel c·depthMultiplier + m', () => {
  const r = rng(7);
  const x = tensor(randArray(r, 2 * 6 * 6 * 3), [2, 6, 6, 3]);
  const layer = layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', depthMultiplier: 2 });
  layer.build([[6, 6, 3]], r);
  const w = randArray(r, 3 * 3 * 1 * 6), b = randArray(r, 6);
  layer.setWeights([w, b]);
  const ctx = new Context(false);
  const y = layer.forward([x], ctx);
  const wt = tensor(w, [3, 3, 1, 6]), bt = tensor(b, [6]);
  const want = conv2d(x, wt, { padding: 'same', groups: 3, bias: bt });
  assert.equal(y.shape, [2, 6, 6, 6]);
  allclose(y.toArray(), want.toArray(), 'depthwise', 1e-5, 1e-6);
  for (const t of [x, y, wt, bt, want]) t.dispose();
  layer.dispose();
});

test.run();
