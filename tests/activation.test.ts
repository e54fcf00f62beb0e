// node-flags: --experimental-wasm-relaxed-simd
// Activations, softmax, prelu and maxout against float64 references, under every build (relaxed
// SIMD, SIMD128, scalar): the whole suite runs once per build, each suite starting with its own
// `init({ backend })`. Sizes 1, 3, 4, 5, 17, 1000 run both the SIMD bodies and the scalar tails;
// the kernels promise bit-identical results in both, checked directly and across builds.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  init, tensor, tidy, memoryStats, type Backend, type Tensor,
  relu, leakyRelu, prelu, elu, selu, sigmoid, tanh, swish, gelu, softmax, logSoftmax, maxout,
  relu6, hardSigmoid, hardSwish, silu,
  ArgumentError, DTypeError, DisposedError, ShapeError,
} from '../src/index.ts';
import { activateInPlace, parseActivation, type ActivationName } from '../src/ops/activation.ts';
import { allclose, equalArrays, randArray, randInt, rng, throwsTyped } from './helpers.ts';
import * as R from './reference/activation.ts';

const BUILDS: Backend[] = ['relaxed-simd', 'simd', 'scalar'];
const SIZES = [1, 3, 4, 5, 17, 1000];
/** Values where the kernels change branch, saturate, overflow or underflow. */
const SPECIALS = [
  0, -0, Infinity, -Infinity, NaN, -88, 89, 88.72, -87.33, -104, 20, -20, 9, -9, 0.625, -0.625, 0.62499994,
  -13.25, 1e-45, -1e-45, 1e-6, -1e-6, 1e30, -1e30, 3.4e38, -3.4e38,
];

/** n float32 values: mostly −30..30, some tiny (±1e-6), some −3..3, some special. */
function values(r: () => number, n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = r();
    a[i] = u < 0.55 ? -30 + 60 * r() : u < 0.75 ? (r() - 0.5) * 2e-6 : u < 0.9 ? -3 + 6 * r() : SPECIALS[randInt(r, 0, SPECIALS.length - 1)];
  }
  return a;
}

/** The float32 rounding of the exact result: the best a float32 kernel can return. */
const f32 = (ref: Float64Array): Float32Array => Float32Array.from(ref);

interface UnaryCase {
  name: string;
  op: (x: Tensor) => Tensor;
  ref: (x: Float32Array) => Float64Array;
  /** Tolerance |got − ref| ≤ atol + rtol·|ref|; atol 1e-37 only admits results next to the subnormals. */
  rtol: number;
  atol: number;
}

const UNARY: UnaryCase[] = [
  { name: 'relu', op: relu, ref: R.relu, rtol: 0, atol: 0 }, // exact
  { name: 'leakyRelu', op: (x) => leakyRelu(x), ref: (x) => R.leakyRelu(x, 0.01), rtol: 1e-6, atol: 0 }, // one f32 product, alpha rounded to f32
  { name: 'leakyRelu(0.2)', op: (x) => leakyRelu(x, 0.2), ref: (x) => R.leakyRelu(x, 0.2), rtol: 1e-6, atol: 0 },
  { name: 'leakyRelu(-1.5)', op: (x) => leakyRelu(x, -1.5), ref: (x) => R.leakyRelu(x, -1.5), rtol: 1e-6, atol: 0 },
  { name: 'elu', op: (x) => elu(x), ref: (x) => R.elu(x, 1), rtol: 1e-6, atol: 1e-37 }, // measured 8e-8
  { name: 'elu(0.5)', op: (x) => elu(x, 0.5), ref: (x) => R.elu(x, 0.5), rtol: 1e-6, atol: 1e-37 },
  { name: 'selu', op: selu, ref: R.selu, rtol: 1e-6, atol: 1e-37 }, // measured 1.3e-7
  { name: 'sigmoid', op: sigmoid, ref: R.sigmoid, rtol: 1e-6, atol: 1e-37 }, // measured 1.7e-7
  { name: 'tanh', op: tanh, ref: R.tanh, rtol: 1e-6, atol: 1e-37 }, // measured 1.4e-7, relative even at ±1e-6
  { name: 'swish', op: swish, ref: R.swish, rtol: 1e-6, atol: 1e-37 }, // measured 2e-7
  { name: 'gelu', op: gelu, ref: R.gelu, rtol: 2e-6, atol: 1e-37 }, // measured 6e-7, relative in the negative tail too
];

/** Run `op` on data of `shape` and return the output's data. */
function run(op: (x: Tensor) => Tensor, data: ArrayLike<number>, shape: number[]): Float32Array {
  return tidy(() => op(tensor(data, shape)).toArray() as Float32Array);
}

function buildSuite(build: Backend): void {
  const s = suite(`activation (${build})`);
  s.before(async () => {
    assert.is(await init({ backend: build }), build);
  });

  for (const c of UNARY) {
    s(`${c.name} matches the float64 reference (sizes ${SIZES.join(', ')}, ranks 0, 1 and 4, special values)`, () => {
      const seed = 100 + UNARY.indexOf(c);
      const r = rng(seed);
      const shapes = [...SIZES.map((n) => [n]), [], [2, 3, 5, 7], [SPECIALS.length], [SPECIALS.length]];
      shapes.forEach((shape, i) => {
        const n = shape.reduce((a, b) => a * b, 1);
        // The last two: the special values in order and reversed, so each sits in a body and a tail slot.
        const x = i === shapes.length - 2 ? Float32Array.from(SPECIALS) : i === shapes.length - 1 ? Float32Array.from(SPECIALS).reverse() : values(r, n);
        const y = run(c.op, x, shape);
        allclose(y, f32(c.ref(x)), `${build} ${c.name} x [${shape}] seed ${seed}`, c.rtol, c.atol);
      });
    });
  }

  s('known values (PyTorch / closed forms)', () => {
    const near = (got: ArrayLike<number>, want: number[], what: string) => allclose(got, want, `${build} ${what}`, 1e-6, 1e-7);
    near(run(gelu, [-5, -3, -1, 0, 1, 3], [6]), [-1.43325786e-6, -0.00404969409, -0.158655254, 0, 0.841344746, 2.99595031], 'gelu');
    near(run(selu, [-1, 1], [2]), [-1.11133074, 1.05070099], 'selu');
    near(run(softmax, [1, 2, 3], [3]), [0.0900305732, 0.244728471, 0.665240956], 'softmax');
    near(run(logSoftmax, [1, 2, 3], [3]), [-2.40760596, -1.40760596, -0.407605964], 'logSoftmax');
    near(run(swish, [1, -20], [2]), [0.731058579, -4.12230724e-8], 'swish');
    near(run(elu, [-1], [1]), [-0.632120559], 'elu');
    near(run(tanh, [1], [1]), [0.761594156], 'tanh');
    // Saturation without NaN: exp(-inf) = 0, sigmoid(±inf) = 1/0, tanh(±inf) = ±1.
    equalArrays(run(sigmoid, [Infinity, -Infinity, NaN, -0], [4]), [1, 0, NaN, 0.5], `${build} sigmoid specials`);
    equalArrays(run(tanh, [Infinity, -Infinity, NaN, 1000, -1000], [5]), [1, -1, NaN, 1, -1], `${build} tanh specials`);
    equalArrays(run(elu, [-Infinity, Infinity, NaN], [3]), [-1, Infinity, NaN], `${build} elu specials`);
    equalArrays(run(swish, [Infinity, -Infinity, NaN], [3]), [Infinity, 0, NaN], `${build} swish specials`);
    equalArrays(run(gelu, [Infinity, -Infinity, NaN], [3]), [Infinity, 0, NaN], `${build} gelu specials`);
    assert.ok(Object.is(run(tanh, [-0], [1])[0], -0), 'tanh(-0) is -0');
  });

  s('prelu matches the reference (C = 1, 3, 4, 5, 17, 1000; alpha per channel of the last axis)', () => {
    const r = rng(7);
    for (const C of SIZES) {
      for (const lead of [[], [1], [3], [2, 3]]) {
        const shape = [...lead, C];
        const x = values(r, shape.reduce((a, b) => a * b, 1));
        const a = randArray(r, C, -1, 1);
        const y = tidy(() => prelu(tensor(x, shape), tensor(a, [C])).toArray());
        allclose(y, f32(R.prelu(x, a)), `${build} prelu x [${shape}] seed 7`, 1e-6, 0); // one f32 product
      }
    }
  });

  s('softmax and logSoftmax match the reference over the last axis (cols 1, 3, 4, 5, 17, 1000)', () => {
    const r = rng(11);
    for (const cols of SIZES) {
      for (const [rows, lo, hi] of [[1, -30, 30], [3, -30, 30], [2, -1e-6, 1e-6], [2, -1e4, 1e4]]) {
        const x = randArray(r, rows * cols, lo, hi);
        const ctx = `${build} [${rows},${cols}] in [${lo}, ${hi}] seed 11`;
        // Row sums over up to 1000 terms: rtol 1e-5; results below 1e-37 are subnormal-adjacent.
        allclose(run(softmax, x, [rows, cols]), f32(R.softmax(x, cols)), `softmax ${ctx}`, 1e-5, 1e-37);
        // x − max − log Σ: absolute error of a few ulps of max(|x − max|, log Σ).
        allclose(run(logSoftmax, x, [rows, cols]), f32(R.logSoftmax(x, cols)), `logSoftmax ${ctx}`, 1e-6, 2e-6 * Math.max(1, (hi - lo) / 60));
      }
    }
    // Rows as in PyTorch: NaN anywhere → NaN row; only −Infinity → NaN row; +Infinity → NaN row;
    // −Infinity beside finite values → 0 (log: −Infinity); huge values do not overflow.
    const rows = [
      [NaN, 1, 2, 3, 4], [-Infinity, -Infinity, -Infinity, -Infinity, -Infinity], [Infinity, 0, 1, 2, 3],
      [-Infinity, 0, -Infinity, 1, 2], [3.4e38, 3.4e38, -3.4e38, 0, 1], [-88, 89, 0, 1e-6, -1e-6], [1e30, 1e30, 1e30, 1e30, -1e30],
    ];
    const x = rows.flat();
    const sm = run(softmax, x, [rows.length, 5]);
    allclose(sm, f32(R.softmax(x, 5)), `${build} softmax special rows`, 1e-6, 1e-37);
    equalArrays(sm.slice(0, 15), new Array(15).fill(NaN), `${build} softmax NaN rows`);
    equalArrays(sm.slice(20, 25), [0.5, 0.5, 0, 0, 0], `${build} softmax of ±3.4e38`);
    const ls = run(logSoftmax, x, [rows.length, 5]);
    allclose(ls, f32(R.logSoftmax(x, 5)), `${build} logSoftmax special rows`, 1e-6, 1e-6);
    assert.is(ls[15], -Infinity);
  });

  s('maxout matches the reference exactly (k 1, 2, 3, 4, 5, 8; groups 1, 3, 4, 5, 17; NaN propagates)', () => {
    const r = rng(13);
    for (const k of [1, 2, 3, 4, 5, 8]) {
      for (const groups of [1, 3, 4, 5, 17]) {
        for (const lead of [[], [3], [2, 2]]) {
          const C = k * groups;
          const shape = [...lead, C];
          const x = values(r, shape.reduce((a, b) => a * b, 1));
          const y = tidy(() => {
            const out = maxout(tensor(x, shape), k);
            assert.equal(out.shape, [...lead, groups]);
            return out.toArray();
          });
          equalArrays(y, R.maxout(x, C, k), `${build} maxout x [${shape}] k ${k} seed 13`);
        }
      }
    }
  });

  s('SIMD body and scalar tail give bit-identical results for every value', () => {
    const r = rng(17);
    const x = Float32Array.from([...values(r, 996), ...SPECIALS, ...SPECIALS.map((v) => -v)]);
    const n = x.length - (x.length % 4); // all in the body
    for (const c of UNARY) {
      const body = run(c.op, x.subarray(0, n), [n]);
      for (let i = 0; i < n; i += 3) {
        const part = x.subarray(i, Math.min(i + 3, n)); // 3 or fewer elements: all in the tail
        equalArrays(run(c.op, part, [part.length]), body.subarray(i, i + part.length), `${build} ${c.name} tail vs body at ${i}`);
      }
    }
  });

  s('activateInPlace overwrites with the same kernels as the ops (and bumps version)', () => {
    const r = rng(19);
    const x = values(r, 3 * 17);
    const ops: Record<Exclude<ActivationName, 'linear'>, (t: Tensor) => Tensor> = {
      relu, leakyRelu: (t) => leakyRelu(t, 0.3), elu: (t) => elu(t, 0.7), selu, sigmoid, tanh, swish, gelu, softmax, logSoftmax,
      relu6, hardSigmoid: (t) => hardSigmoid(t), hardSwish, silu,
    };
    for (const [name, op] of Object.entries(ops)) {
      tidy(() => {
        const t = tensor(x, [3, 17]);
        const act = parseActivation('dense', { name, alpha: name === 'leakyRelu' ? 0.3 : name === 'elu' ? 0.7 : undefined })!;
        const want = op(t).toArray();
        const v = t.version;
        activateInPlace(t, act);
        equalArrays(t.toArray(), want, `${build} ${name} in place`);
        assert.is(t.version, v + 1);
      });
    }
    tidy(() => {
      const t = tensor(x, [3, 17]);
      activateInPlace(t, { name: 'linear', alpha: 0 });
      equalArrays(t.toArray(), x, `${build} linear in place`);
    });
  });

  s('shapes: scalars, empty tensors and any rank keep their shape', () => {
    tidy(() => {
      assert.equal(relu(tensor([-2], [])).shape, []);
      equalArrays(softmax(tensor([5], [])).toArray(), [1], 'softmax of a scalar');
      equalArrays(logSoftmax(tensor([5], [])).toArray(), [0], 'logSoftmax of a scalar');
      for (const shape of [[0], [2, 0], [0, 3], [1, 2, 0, 4]]) {
        for (const op of [relu, gelu, softmax, logSoftmax]) assert.equal(op(tensor([], shape)).shape, shape);
      }
      assert.equal(maxout(tensor([], [2, 0]), 3).shape, [2, 0]);
      assert.equal(maxout(tensor([], [0, 6]), 3).shape, [0, 2]);
      assert.equal(prelu(tensor([], [0, 3]), tensor([1, 2, 3], [3])).shape, [0, 3]);
      assert.equal(maxout(tensor(new Float32Array(48), [2, 3, 8]), 4).shape, [2, 3, 2]);
    });
  });

  s('parseActivation: names, defaults, object form, typed errors naming the op', () => {
    assert.is(parseActivation('conv2d', undefined), null);
    assert.is(parseActivation('conv2d', 'linear'), null);
    assert.is(parseActivation('conv2d', { name: 'linear' }), null);
    assert.equal(parseActivation('conv2d', 'relu'), { name: 'relu', alpha: 0 });
    assert.equal(parseActivation('conv2d', 'leakyRelu'), { name: 'leakyRelu', alpha: 0.01 });
    assert.equal(parseActivation('conv2d', 'elu'), { name: 'elu', alpha: 1 });
    assert.equal(parseActivation('dense', { name: 'leakyRelu', alpha: 0.2 }), { name: 'leakyRelu', alpha: 0.2 });
    assert.equal(parseActivation('dense', { name: 'softmax' }), { name: 'softmax', alpha: 0 });
    throwsTyped(() => parseActivation('conv2d', 'Relu'), ArgumentError, 'conv2d', '"Relu"', 'relu, relu6, leakyRelu, elu');
    throwsTyped(() => parseActivation('dense', 'prelu'), ArgumentError, 'dense', 'prelu', 'valid:');
    throwsTyped(() => parseActivation('dense', null), ArgumentError, 'dense', 'null');
    throwsTyped(() => parseActivation('dense', 3), ArgumentError, 'dense', '3');
    throwsTyped(() => parseActivation('dense', { name: 'relu', alpha: 0.1 }), ArgumentError, 'dense', 'relu', 'takes no alpha');
    throwsTyped(() => parseActivation('dense', { name: 'elu', alpha: NaN }), ArgumentError, 'dense', 'alpha', 'NaN');
    throwsTyped(() => parseActivation('dense', { name: 'elu', slope: 1 }), ArgumentError, 'dense', "'slope'");
  });

  s('bad arguments throw typed errors naming the op, the argument and the shape', () => {
    tidy(() => {
      const x = tensor([1, -2, 3, -4], [2, 2]);
      const ints = tensor([1, 2], [2], 'int32');
      const unary: Array<[string, (t: Tensor) => Tensor]> = [
        ['relu', relu], ['leakyRelu', leakyRelu], ['elu', elu], ['selu', selu], ['sigmoid', sigmoid], ['tanh', tanh],
        ['swish', swish], ['gelu', gelu], ['softmax', softmax], ['logSoftmax', logSoftmax], ['maxout', (t) => maxout(t, 1)],
      ];
      for (const [name, op] of unary) {
        throwsTyped(() => op(ints), DTypeError, `${name}: x`, 'int32', '[2]');
        throwsTyped(() => op([1, 2] as never), ArgumentError, `${name}: x`, 'Tensor');
      }
      throwsTyped(() => leakyRelu(x, NaN), ArgumentError, 'leakyRelu', 'alpha', 'NaN');
      throwsTyped(() => leakyRelu(x, '0.1' as never), ArgumentError, 'leakyRelu', 'alpha');
      throwsTyped(() => elu(x, Infinity), ArgumentError, 'elu', 'alpha', 'Infinity');
      throwsTyped(() => prelu(x, tensor([1, 2, 3], [3])), ShapeError, 'prelu', 'alpha', '[2]', '[2,2]', '[3]');
      throwsTyped(() => prelu(x, tensor([1, 2], [1, 2])), ShapeError, 'prelu', 'alpha', '[1,2]');
      throwsTyped(() => prelu(x, ints), DTypeError, 'prelu', 'alpha', 'int32');
      throwsTyped(() => prelu(tensor([1], []), tensor([1], [1])), ShapeError, 'prelu', 'x', '[]');
      for (const k of [0, -2, 1.5, NaN, '2']) throwsTyped(() => maxout(x, k as never), ArgumentError, 'maxout', 'k', '[2,2]');
      throwsTyped(() => maxout(tensor([1, 2, 3, 4, 5], [1, 5]), 2), ShapeError, 'maxout', '5', 'k = 2', '[1,5]');
      throwsTyped(() => maxout(tensor([1], []), 1), ShapeError, 'maxout', 'x', '[]');
      x.dispose();
      throwsTyped(() => sigmoid(x), DisposedError, 'sigmoid', 'x', '[2,2]');
      throwsTyped(() => maxout(x, 2), DisposedError, 'maxout', 'x');
      throwsTyped(() => activateInPlace(x, { name: 'relu', alpha: 0 }), DisposedError, 'relu', 'x');
    });
  });

  s('no live tensors remain', () => {
    assert.is(memoryStats().tensors, 0);
  });

  s.run();
}

for (const build of BUILDS) buildSuite(build);

// Elementwise results are bit-identical across the three builds (each element gets the same f32
// operations in every build); the row sums of softmax may add in a different order.
const across = suite('activation across builds');
across('every build computes the same bits', async () => {
  const x = values(rng(23), 1003);
  const outputs: Record<string, Float32Array[]> = {};
  for (const build of BUILDS) {
    await init({ backend: build });
    outputs[build] = [...UNARY.map((c) => run(c.op, x, [x.length])), run((t) => maxout(t, 17), x, [59, 17])];
    outputs[`${build} softmax`] = [run(softmax, x, [17, 59]), run(logSoftmax, x, [17, 59])];
  }
  for (const build of BUILDS.slice(1)) {
    outputs[build].forEach((y, i) => equalArrays(y, outputs[BUILDS[0]][i], `${build} vs ${BUILDS[0]}: ${UNARY[i]?.name ?? 'maxout'}`));
    // softmax rtol 1e-6; logSoftmax atol 1e-6 (a few ulps of log Σ, which every element shares).
    const [sm, ls] = outputs[`${build} softmax`], [sm0, ls0] = outputs[`${BUILDS[0]} softmax`];
    allclose(sm, sm0, `${build} vs ${BUILDS[0]} softmax`, 1e-6, 1e-37);
    allclose(ls, ls0, `${build} vs ${BUILDS[0]} logSoftmax`, 1e-6, 1e-6);
  }
  assert.is(memoryStats().tensors, 0);
});
across.run();
