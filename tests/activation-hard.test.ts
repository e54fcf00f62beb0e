// node-flags: --experimental-wasm-relaxed-simd
// relu6, hardSigmoid, hardSwish and silu (forward and backward) against float64 references, PyTorch's
// values at the kinks, finite differences, bit-identical SIMD body and scalar tail, under every build.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  init, tensor, tidy, memoryStats, type Backend, type Tensor,
  relu6, hardSigmoid, hardSwish, silu, swish, relu6Backward, hardSigmoidBackward, hardSwishBackward, siluBackward, swishBackward,
  activationBackward, ArgumentError, DTypeError, ShapeError,
} from '../src/index.ts';
import { activateInPlace, parseActivation } from '../src/ops/activation.ts';
import { allclose, equalArrays, randArray, randInt, rng, throwsTyped } from './helpers.ts';
import * as R from './reference/activation.ts';
import * as G from './reference/activation-backprop.ts';

const BUILDS: Backend[] = ['relaxed-simd', 'simd', 'scalar'];
const SIZES = [1, 3, 4, 5, 17, 1000];
/** The kinks and their float32 neighbours, saturation, non-finite values. */
const SPECIALS = [
  0, -0, 6, 5.9999995, 6.0000005, 3, -3, 2.9999998, -2.9999998, 3.0000002, -3.0000002, -2.5, 2.5, 2.4999998, -2.4999998,
  Infinity, -Infinity, NaN, 1e-45, -1e-45, 1e30, -1e30, 3.4e38, -3.4e38,
];

function values(r: () => number, n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = r();
    a[i] = u < 0.6 ? -10 + 20 * r() : u < 0.8 ? (r() - 0.5) * 2e-6 : SPECIALS[randInt(r, 0, SPECIALS.length - 1)];
  }
  return a;
}

function run(fn: () => Tensor): Float32Array {
  return tidy(() => fn().toArray() as Float32Array);
}

interface Case {
  name: string;
  forward: (x: Tensor) => Tensor;
  backward: (dy: Tensor, x: Tensor) => Tensor;
  ref: (x: Float32Array) => Float64Array;
  grad: (dy: Float32Array, x: Float32Array) => Float64Array;
  /** Forward tolerance (relative; the products and the division by 6 round once or twice). */
  rtol: number;
  /** Backward absolute tolerance: hardSwish's x/3 + 1/2 cancels near x = −1.5 (terms ≤ 1.5, |dy| ≤ 2: a few ulps of 3). */
  gatol?: number;
}

const SIXTH = 1 / 6;
const CASES: Case[] = [
  { name: 'relu6', forward: relu6, backward: relu6Backward, ref: R.relu6, grad: G.relu6Grad, rtol: 0 }, // exact: a clamp
  { name: 'hardSigmoid', forward: (x) => hardSigmoid(x), backward: (g, x) => hardSigmoidBackward(g, x), ref: (x) => R.hardSigmoid(x), grad: (g, x) => G.hardSigmoidGrad(g, x), rtol: 0 }, // t as the kernel rounds it, then a clamp: exact
  {
    name: 'hardSigmoid(alpha 1/6)', forward: (x) => hardSigmoid(x, { alpha: SIXTH }), backward: (g, x) => hardSigmoidBackward(g, x, { alpha: SIXTH }),
    ref: (x) => R.hardSigmoid(x, SIXTH), grad: (g, x) => G.hardSigmoidGrad(g, x, SIXTH), rtol: 0,
  },
  {
    name: 'hardSigmoid(alpha -0.3, beta 0.25)', forward: (x) => hardSigmoid(x, { alpha: -0.3, beta: 0.25 }), backward: (g, x) => hardSigmoidBackward(g, x, { alpha: -0.3, beta: 0.25 }),
    ref: (x) => R.hardSigmoid(x, -0.3, 0.25), grad: (g, x) => G.hardSigmoidGrad(g, x, -0.3, 0.25), rtol: 0,
  },
  { name: 'hardSwish', forward: hardSwish, backward: hardSwishBackward, ref: R.hardSwish, grad: G.hardSwishGrad, rtol: 3e-7, gatol: 1e-6 }, // x + 3, a product, a division: 2.5 ulp
];

function buildSuite(build: Backend): void {
  const s = suite(`activation-hard (${build})`);
  s.before(async () => {
    assert.is(await init({ backend: build }), build);
  });

  for (const c of CASES) {
    s(`${c.name}: forward and backward match the float64 reference (sizes ${SIZES.join(', ')}, specials)`, () => {
      const seed = 300 + CASES.indexOf(c);
      const r = rng(seed);
      const shapes = [...SIZES.map((n) => [n]), [], [2, 3, 5, 7], [SPECIALS.length]];
      for (const shape of shapes) {
        const n = shape.reduce((a, b) => a * b, 1);
        const x = shape.length === 1 && n === SPECIALS.length ? Float32Array.from(SPECIALS) : values(r, n);
        const dy = randArray(r, n, -2, 2);
        const ctx = `${build} ${c.name} x [${shape}] seed ${seed}`;
        allclose(run(() => c.forward(tensor(x, shape))), Float32Array.from(c.ref(x)), ctx, c.rtol, 0);
        // dy·slope: one f32 product (hardSwish: x/3 + 0.5 then a product, 3 ulp).
        allclose(run(() => c.backward(tensor(dy, shape), tensor(x, shape))), Float32Array.from(c.grad(dy, x)), `${ctx} backward`, 4e-7, c.gatol ?? 0);
      }
    });
  }

  s('values at the kinks and specials are PyTorch 1.13\'s (relu6, hardsigmoid = alpha 1/6, hardswish; autograd of sum)', () => {
    const x = [-4, -3, -1.5, 0, 1.5, 3, 4, 6, 7, Infinity];
    const ones = new Array(x.length).fill(1);
    const fwd = (f: (t: Tensor) => Tensor) => run(() => f(tensor(x, [x.length])));
    const bwd = (f: (g: Tensor, t: Tensor) => Tensor) => run(() => f(tensor(ones, [x.length]), tensor(x, [x.length])));
    equalArrays(fwd(relu6), [0, 0, 0, 0, 1.5, 3, 4, 6, 6, 6], `${build} relu6`);
    equalArrays(bwd(relu6Backward), [0, 0, 0, 0, 1, 1, 1, 0, 0, 0], `${build} relu6Backward`);
    equalArrays(fwd((t) => hardSigmoid(t, { alpha: SIXTH })), [0, 0, 0.25, 0.5, 0.75, 1, 1, 1, 1, 1], `${build} hardSigmoid 1/6`);
    const s6 = Math.fround(SIXTH);
    equalArrays(bwd((g, t) => hardSigmoidBackward(g, t, { alpha: SIXTH })), [0, 0, s6, s6, s6, 0, 0, 0, 0, 0], `${build} hardSigmoidBackward 1/6`);
    equalArrays(fwd(hardSwish), [-0, -0, -0.375, 0, 1.125, 3, 4, 6, 7, Infinity], `${build} hardSwish`);
    equalArrays(bwd(hardSwishBackward), [0, -0.5, 0, 0.5, 1, 1.5, 1, 1, 1, 1], `${build} hardSwishBackward`);
    // ONNX / Keras hardSigmoid (alpha 0.2): kinks at ±2.5.
    equalArrays(run(() => hardSigmoid(tensor([-2.5, -1, 0, 1, 2.5], [5]))), Float32Array.from(R.hardSigmoid([-2.5, -1, 0, 1, 2.5])), `${build} hardSigmoid 0.2`);
    equalArrays(run(() => hardSigmoidBackward(tensor([1, 1, 1, 1, 1], [5]), tensor([-2.5, -1, 0, 1, 2.5], [5]))), [0, 0.2, 0.2, 0.2, 0].map(Math.fround), `${build} hardSigmoidBackward 0.2`);
  });

  s('NaN propagates forward and backward; hardSwish(−Infinity) is 0 (the limit)', () => {
    const x = [NaN, 1, NaN, -Infinity, NaN];
    const g = [1, 1, 0, 1, NaN];
    for (const c of CASES) {
      const y = run(() => c.forward(tensor(x, [5])));
      const dx = run(() => c.backward(tensor(g, [5]), tensor(x, [5])));
      for (const i of [0, 2, 4]) {
        assert.ok(Number.isNaN(y[i]), `${build} ${c.name}(NaN) is NaN`);
        assert.ok(Number.isNaN(dx[i]), `${build} ${c.name}Backward at NaN is NaN`);
      }
      assert.ok(!Number.isNaN(y[3]) && !Number.isNaN(dx[3]), `${build} ${c.name} at −Infinity is a number`);
    }
    equalArrays(run(() => hardSwish(tensor([-Infinity], [1]))), [0], `${build} hardSwish(-inf)`);
  });

  s('SIMD body and scalar tail give bit-identical results', () => {
    const r = rng(31);
    const x = Float32Array.from([...values(r, 996), ...SPECIALS, ...SPECIALS.map((v) => -v)]);
    const n = x.length - (x.length % 4);
    const dy = randArray(r, n, -2, 2);
    for (const c of CASES) {
      const body = run(() => c.forward(tensor(x.subarray(0, n), [n])));
      const gbody = run(() => c.backward(tensor(dy, [n]), tensor(x.subarray(0, n), [n])));
      for (let i = 0; i < n; i += 3) {
        const e = Math.min(i + 3, n);
        equalArrays(run(() => c.forward(tensor(x.subarray(i, e), [e - i]))), body.subarray(i, e), `${build} ${c.name} tail vs body at ${i}`);
        equalArrays(run(() => c.backward(tensor(dy.subarray(i, e), [e - i]), tensor(x.subarray(i, e), [e - i]))), gbody.subarray(i, e), `${build} ${c.name}Backward tail vs body at ${i}`);
      }
    }
  });

  s('finite differences through the forward ops (x in [-8, 8], at least 0.05 from every kink)', () => {
    // Central differences with eps 1e-2 in float64 of L = Σ r·f(x); the ops are piecewise linear or
    // quadratic, so truncation is 0 and only the forward's f32 rounding (≈ 6e-8·8/0.02 ≈ 2.4e-5) remains.
    const r = rng(37);
    const kinks = [0, 6, 3, -3, 2.5, -2.5, -0.25 / -0.3 * -1, (1 - 0.25) / -0.3];
    for (const c of CASES) {
      const x = new Float32Array(23);
      for (let i = 0; i < x.length; i++) {
        let v: number;
        do v = -8 + 16 * r(); while (kinks.some((k) => Math.abs(v - k) < 0.05));
        x[i] = v;
      }
      const rw = randArray(r, x.length, -1, 1);
      const grad = run(() => c.backward(tensor(rw, [x.length]), tensor(x, [x.length])));
      const L = (p: Float32Array) => run(() => c.forward(tensor(p, [p.length]))).reduce((a, v, i) => a + v * rw[i], 0);
      for (let i = 0; i < x.length; i++) {
        const p = x.slice();
        p[i] = x[i] + 1e-2;
        const hi = p[i], up = L(p);
        p[i] = x[i] - 1e-2;
        const fd = (up - L(p)) / (hi - p[i]);
        assert.ok(Math.abs(fd - grad[i]) <= 1e-4 * (1 + Math.abs(grad[i])), `${build} ${c.name} d/dx[${i}] (x = ${x[i]}): fd ${fd} vs ${grad[i]}`);
      }
    }
  });

  s('silu is swish; names in parseActivation, activateInPlace and activationBackward', () => {
    assert.is(silu, swish);
    assert.is(siluBackward, swishBackward);
    const r = rng(41);
    const x = values(r, 3 * 7), dy = randArray(r, 21, -2, 2);
    const named: Array<[string, (t: Tensor) => Tensor, (g: Tensor, t: Tensor) => Tensor, object?]> = [
      ['relu6', relu6, relu6Backward], ['hardSwish', hardSwish, hardSwishBackward], ['silu', swish, swishBackward],
      ['hardSigmoid', (t) => hardSigmoid(t), (g, t) => hardSigmoidBackward(g, t)],
      ['hardSigmoid', (t) => hardSigmoid(t, { alpha: SIXTH, beta: 0.4 }), (g, t) => hardSigmoidBackward(g, t, { alpha: SIXTH, beta: 0.4 }), { alpha: SIXTH, beta: 0.4 }],
    ];
    for (const [name, fwd, bwd, extra] of named) {
      tidy(() => {
        const act = parseActivation('dense', extra ? { name, ...extra } : name)!;
        const t = tensor(x, [3, 7]), g = tensor(dy, [3, 7]);
        const want = fwd(t).toArray();
        const dxWant = bwd(g, t).toArray();
        equalArrays(activationBackward(act, g, t, null).toArray(), dxWant, `${build} activationBackward(${name})`);
        activateInPlace(t, act);
        equalArrays(t.toArray(), want, `${build} ${name} in place`);
      });
    }
    assert.equal(parseActivation('conv2d', 'hardSigmoid'), { name: 'hardSigmoid', alpha: 0.2, beta: 0.5 });
    assert.equal(parseActivation('conv2d', 'silu'), { name: 'silu', alpha: 0 });
    throwsTyped(() => parseActivation('conv2d', { name: 'relu6', beta: 1 }), ArgumentError, 'conv2d', 'relu6', 'takes no beta');
    throwsTyped(() => parseActivation('conv2d', { name: 'hardSigmoid', beta: NaN }), ArgumentError, 'conv2d', 'hardSigmoid beta');
  });

  s('bad arguments: typed errors naming the op; unknown option keys listed; no memory kept', () => {
    tidy(() => {
      const x = tensor([1, -2, 3, -4], [2, 2]);
      const ints = tensor([1, 2], [2], 'int32');
      const before = memoryStats();
      for (const [name, op] of [['relu6', relu6], ['hardSwish', hardSwish], ['hardSigmoid', (t: Tensor) => hardSigmoid(t)]] as const) {
        throwsTyped(() => op(ints), DTypeError, `${name}: x`, 'int32');
        throwsTyped(() => op([1] as never), ArgumentError, `${name}: x`, 'Tensor');
      }
      throwsTyped(() => hardSigmoid(x, { slope: 1 } as never), ArgumentError, 'hardSigmoid', "unknown option 'slope'", 'alpha, beta');
      throwsTyped(() => hardSigmoid(x, { alpha: NaN }), ArgumentError, 'hardSigmoid', 'alpha', 'NaN');
      throwsTyped(() => hardSigmoidBackward(x, x, { gamma: 1 } as never), ArgumentError, 'hardSigmoidBackward', "unknown option 'gamma'", 'alpha, beta');
      const other = tensor([1, 2, 3], [3]);
      const mid = memoryStats();
      for (const [name, op] of [['relu6Backward', relu6Backward], ['hardSwishBackward', hardSwishBackward], ['hardSigmoidBackward', (g: Tensor, t: Tensor) => hardSigmoidBackward(g, t)]] as const) {
        throwsTyped(() => op(x, other), ShapeError, name, 'dy [2,2]', 'x [3]');
      }
      assert.equal(memoryStats(), mid, 'failed calls allocate nothing');
      assert.is(before.tensors + 1, mid.tensors);
    });
  });

  s('no live tensors remain', () => {
    assert.is(memoryStats().tensors, 0);
  });

  s.run();
}

for (const build of BUILDS) buildSuite(build);
