// concat / split along every axis (ranks 1..6) and pad2d / pad2dBackward, against index-arithmetic
// references: pure data movement, so every comparison is exact. Gradients: split is concat's
// adjoint and the crop is pad2d's, checked by finite differences and by <op(x), r> = <x, op*(r)>.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  init, tensor, tidy, memoryStats,
  concat, split, pad2d, pad2dBackward, ArgumentError, DTypeError, ShapeError,
} from '../src/index.ts';
import { equalArrays, randArray, randInt, rng, throwsTyped } from './helpers.ts';
import * as R from './reference/concat.ts';

test.before(async () => {
  await init();
});

const size = (s: number[]) => s.reduce((a, b) => a * b, 1);

test('concat matches the reference on every axis of random shapes (ranks 1..6, 1 to 4 inputs)', () => {
  const r = rng(61);
  for (let trial = 0; trial < 60; trial++) {
    const rank = randInt(r, 1, 6);
    const base = Array.from({ length: rank }, () => randInt(r, 1, rank > 4 ? 3 : 6));
    if (trial % 5 === 0) base[rank - 1] = [1, 3, 4, 5, 8, 17][trial % 6]; // channels on and off multiples of 4
    const axis = randInt(r, 0, rank - 1);
    const k = randInt(r, 1, 4);
    const xs = Array.from({ length: k }, () => {
      const s = base.slice();
      s[axis] = randInt(r, trial % 7 === 0 ? 0 : 1, 6);
      return [randArray(r, size(s)), s] as [Float32Array, number[]];
    });
    const ref = R.concat(xs, axis);
    const negative = trial % 2 === 1;
    tidy(() => {
      const y = concat(xs.map(([d, s]) => tensor(d, s)), { axis: negative ? axis - rank : axis });
      assert.equal(y.shape, ref.shape);
      equalArrays(y.toArray(), ref.data, `concat axis ${axis} of ${xs.map(([, s]) => `[${s}]`).join(' ')} seed 61`);
      // split undoes it exactly.
      const parts = split(y, xs.map(([, s]) => s[axis]), { axis });
      parts.forEach((p, i) => {
        assert.equal(p.shape, xs[i][1]);
        equalArrays(p.toArray(), xs[i][0], `split part ${i} axis ${axis} seed 61`);
      });
    });
  }
});

test('concat on NHWC channels (the default axis), long rows and the batch axis', () => {
  const r = rng(62);
  for (const cs of [[3, 5], [4, 4, 8], [1, 1, 1], [17, 64], [32, 32]]) {
    const xs = cs.map((C) => [randArray(r, 2 * 5 * 7 * C), [2, 5, 7, C]] as [Float32Array, number[]]);
    tidy(() => equalArrays(concat(xs.map(([d, s]) => tensor(d, s))).toArray(), R.concat(xs, 3).data, `channels ${cs}`));
  }
  const xs = [[randArray(r, 3 * 40), [3, 40]], [randArray(r, 2 * 40), [2, 40]]] as Array<[Float32Array, number[]]>;
  tidy(() => equalArrays(concat(xs.map(([d, s]) => tensor(d, s)), { axis: 0 }).toArray(), R.concat(xs, 0).data, 'batch axis'));
  tidy(() => {
    const one = tensor([1, 2, 3], [3]);
    const c = concat([one]);
    assert.ok(c !== one);
    equalArrays(c.toArray(), [1, 2, 3], 'one input: a copy');
  });
});

test('split: finite differences of concat give split (the gradient), adjoint identity', () => {
  // concat is linear: L = Σ r·concat(xs) has dL/dxs = split(r); central differences (eps 0.5, exact in f32).
  const r = rng(63);
  const shapes = [[2, 3, 2], [2, 1, 2], [2, 4, 2]];
  const xs = shapes.map((s) => randArray(r, size(s)));
  const rw = randArray(r, 2 * 8 * 2);
  const grads = tidy(() => split(tensor(rw, [2, 8, 2]), [3, 1, 4], { axis: 1 }).map((t) => t.toArray()));
  const L = (ys: Float32Array[]) => tidy(() => (concat(ys.map((y, i) => tensor(y, shapes[i])), { axis: -2 }).toArray() as Float32Array).reduce((a: number, v: number, i: number) => a + v * rw[i], 0));
  xs.forEach((x, j) => {
    for (let i = 0; i < x.length; i++) {
      const up = xs.map((y) => y.slice()), down = xs.map((y) => y.slice());
      up[j][i] += 0.5;
      down[j][i] -= 0.5;
      const fd = L(up) - L(down);
      assert.ok(Math.abs(fd - grads[j][i]) <= 1e-6 * (1 + Math.abs(fd)), `d/dxs[${j}][${i}]: fd ${fd} vs split ${grads[j][i]}`);
    }
  });
});

test('pad2d and pad2dBackward match the reference (odd sizes, channels 1..17, asymmetric, value)', () => {
  const r = rng(64);
  for (let trial = 0; trial < 40; trial++) {
    const shape = [randInt(r, 1, 3), randInt(r, 1, 7), randInt(r, 1, 7), [1, 2, 3, 4, 5, 8, 17][trial % 7]];
    const pads = [[randInt(r, 0, 3), randInt(r, 0, 3)], [randInt(r, 0, 3), randInt(r, 0, 3)]];
    const value = trial % 3 === 0 ? 0 : trial % 3 === 1 ? -1.5 : NaN;
    const x = randArray(r, size(shape));
    const ref = R.pad2d(x, shape, pads, value);
    const ys = [shape[0], shape[1] + pads[0][0] + pads[0][1], shape[2] + pads[1][0] + pads[1][1], shape[3]];
    const dy = randArray(r, size(ys));
    tidy(() => {
      const opts = { padding: pads as [[number, number], [number, number]], value: trial % 3 === 0 ? undefined : value };
      const y = pad2d(tensor(x, shape), opts);
      assert.equal(y.shape, ys);
      equalArrays(y.toArray(), ref, `pad2d x [${shape}] padding ${JSON.stringify(pads)} value ${value} seed 64`);
      // The crop: dx[i] = dy at the same pixel; exact. Adjoint: <pad(x), dy> (zero border) = <x, crop(dy)>.
      const dx = pad2dBackward(tensor(dy, ys), shape, opts).toArray();
      assert.equal(dx.length, x.length);
      const zeroPadded = R.pad2d(x, shape, pads, 0);
      const lhs = zeroPadded.reduce((a, v, i) => a + v * dy[i], 0), rhs = x.reduce((a: number, v: number, i: number) => a + v * dx[i], 0);
      assert.ok(Math.abs(lhs - rhs) <= 1e-9 * (1 + Math.abs(lhs)), `adjoint ${lhs} vs ${rhs}`);
      const cropRef = new Float64Array(x.length);
      for (let n = 0; n < shape[0]; n++) for (let i = 0; i < shape[1]; i++) for (let j = 0; j < shape[2]; j++) for (let c = 0; c < shape[3]; c++) {
        cropRef[((n * shape[1] + i) * shape[2] + j) * shape[3] + c] = dy[((n * ys[1] + i + pads[0][0]) * ys[2] + j + pads[1][0]) * shape[3] + c];
      }
      equalArrays(dx, cropRef, `pad2dBackward x [${shape}] padding ${JSON.stringify(pads)}`);
    });
  }
});

test('pad2dBackward: finite differences through pad2d', () => {
  const r = rng(65);
  const shape = [2, 3, 2, 3], padding = [[1, 2], [0, 1]] as [[number, number], [number, number]];
  const x = randArray(r, size(shape)), rw = randArray(r, 2 * 6 * 3 * 3);
  const g = tidy(() => pad2dBackward(tensor(rw, [2, 6, 3, 3]), shape, { padding }).toArray());
  const L = (p: Float32Array) => tidy(() => (pad2d(tensor(p, shape), { padding }).toArray() as Float32Array).reduce((a: number, v: number, i: number) => a + v * rw[i], 0));
  for (let i = 0; i < x.length; i++) {
    const up = x.slice(), down = x.slice();
    up[i] += 0.5;
    down[i] -= 0.5;
    assert.ok(Math.abs(L(up) - L(down) - g[i]) <= 1e-6, `d/dx[${i}]`);
  }
});

test('errors: typed, naming the op, the argument and the shapes; failed calls allocate nothing', () => {
  tidy(() => {
    const a = tensor(new Float32Array(12), [1, 2, 2, 3]), b = tensor(new Float32Array(8), [1, 2, 2, 2]);
    const c = tensor(new Float32Array(6), [1, 3, 2, 1]);
    const ints = tensor([1, 2], [2], 'int32'), scalar = tensor([1], []), rank2 = tensor([1], [1, 1]);
    const before = memoryStats();
    throwsTyped(() => concat([a, c]), ShapeError, 'concat', 'xs[1] [1,3,2,1]', 'xs[0] [1,2,2,3]', 'axis 3');
    throwsTyped(() => concat([a, b], { axis: 2 }), ShapeError, 'concat', 'axis 2');
    throwsTyped(() => concat([a, b], { axis: 4 }), ArgumentError, 'concat', 'axis', '[-4, 3]', '4');
    throwsTyped(() => concat([a, b], { axis: 1.5 }), ArgumentError, 'concat', 'axis');
    throwsTyped(() => concat([a, b], { axes: 1 } as never), ArgumentError, 'concat', "unknown option 'axes'", 'axis');
    throwsTyped(() => concat([]), ArgumentError, 'concat', 'non-empty');
    throwsTyped(() => concat([a, ints]), DTypeError, 'concat', 'xs[1]', 'int32');
    throwsTyped(() => concat([scalar]), ShapeError, 'concat', 'rank', '[]');
    throwsTyped(() => split(a, [1, 1]), ShapeError, 'split', '[1,1]', 'sum to 2', '[1,2,2,3]', 'has 3');
    throwsTyped(() => split(a, [1, -1, 3]), ArgumentError, 'split', 'sizes', 'non-negative');
    throwsTyped(() => split(a, 3 as never), ArgumentError, 'split', 'sizes');
    throwsTyped(() => split(a, [3], { axis: -5 }), ArgumentError, 'split', 'axis', '-5');
    throwsTyped(() => pad2d(a, { padding: [[1, -1], [0, 0]] }), ArgumentError, 'pad2d', 'padding', 'non-negative');
    throwsTyped(() => pad2d(a, { padding: [1, 1] as never }), ArgumentError, 'pad2d', 'padding', '[[top, bottom], [left, right]]');
    throwsTyped(() => pad2d(a, { padding: [[1, 1], [1, 1]], mode: 'reflect' } as never), ArgumentError, 'pad2d', "unknown option 'mode'", 'padding, value');
    throwsTyped(() => pad2d(a, undefined as never), ArgumentError, 'pad2d', 'padding');
    throwsTyped(() => pad2d(c.shape as never, { padding: [[0, 0], [0, 0]] }), ArgumentError, 'pad2d', 'x', 'Tensor');
    throwsTyped(() => pad2d(ints, { padding: [[0, 0], [0, 0]] }), DTypeError, 'pad2d', 'x');
    throwsTyped(() => pad2d(rank2, { padding: [[0, 0], [0, 0]] }), ShapeError, 'pad2d', 'rank 4');
    assert.equal(memoryStats(), before, 'failed concat, split and pad2d calls allocate nothing');
  });
  tidy(() => {
    const a = tensor(new Float32Array(12), [1, 2, 2, 3]);
    const before = memoryStats();
    throwsTyped(() => pad2dBackward(a, [1, 2, 2, 3], { padding: [[1, 0], [0, 0]] }), ShapeError, 'pad2dBackward', 'dy must be [1,3,2,3]', 'dy [1,2,2,3]');
    throwsTyped(() => pad2dBackward(a, [1, 2, 2], { padding: [[0, 0], [0, 0]] }), ArgumentError, 'pad2dBackward', 'xShape');
    throwsTyped(() => split(a, [1, 2], { axis: 3, bad: 1 } as never), ArgumentError, 'split', "unknown option 'bad'");
    assert.equal(memoryStats(), before, 'failed calls allocate nothing');
  });
  assert.is(memoryStats().tensors, 0);
});

test.run();
