// node-flags: --experimental-wasm-relaxed-simd
// Gradients of the activations against float64 analytic derivatives, against finite differences
// through the forward ops, and bit for bit between SIMD body and scalar tail and across builds.
// The whole suite runs once per build (relaxed SIMD, SIMD128, scalar). Sizes 1, 3, 4, 5, 17, 1000
// run both the SIMD bodies and the scalar tails.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  init, tensor, tidy, memoryStats, type Backend, type Tensor,
  relu, leakyRelu, prelu, elu, selu, sigmoid, tanh, swish, gelu, softmax, logSoftmax, maxout,
  reluBackward, leakyReluBackward, preluBackward, eluBackward, seluBackward, sigmoidBackward, tanhBackward,
  swishBackward, geluBackward, softmaxBackward, logSoftmaxBackward, maxoutBackward, activationBackward,
  ArgumentError, DTypeError, DisposedError, ShapeError,
} from '../src/index.ts';
import { parseActivation, type ActivationName } from '../src/ops/activation.ts';
import { equalArrays, randArray, randInt, rng, throwsTyped } from './helpers.ts';
import * as R from './reference/activation-backprop.ts';
import { SELU_ALPHA, SELU_SCALE } from './reference/activation.ts';

const BUILDS: Backend[] = ['relaxed-simd', 'simd', 'scalar'];
const SIZES = [1, 3, 4, 5, 17, 1000];
/** Values where the kernels change branch, saturate, overflow or underflow (as in activation.test.ts), and the roots of swish' and gelu'. */
const SPECIALS = [
  0, -0, Infinity, -Infinity, NaN, -88, 89, 88.72, -87.33, -104, 20, -20, 9, -9, 0.625, -0.625, 0.62499994,
  -13.25, 1e-45, -1e-45, 1e-6, -1e-6, 1e30, -1e30, 3.4e38, -3.4e38, -1.2784645, -0.7517916,
];

/** n float32 inputs: mostly −30..30, some tiny (±1e-6), some −3..3, some special. */
function values(r: () => number, n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = r();
    a[i] = u < 0.55 ? -30 + 60 * r() : u < 0.75 ? (r() - 0.5) * 2e-6 : u < 0.9 ? -3 + 6 * r() : SPECIALS[randInt(r, 0, SPECIALS.length - 1)];
  }
  return a;
}

/** n output gradients: mostly −2..2, some 0, some up to ±1000, some tiny. */
function grads(r: () => number, n: number): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = r();
    a[i] = u < 0.7 ? -2 + 4 * r() : u < 0.8 ? 0 : u < 0.9 ? (r() - 0.5) * 2000 : (r() - 0.5) * 1e-30;
  }
  return a;
}

/**
 * |got − ref| ≤ rtol·mag + atol elementwise, mag the magnitude the error scales with (|ref|, or the
 * sum of the derivative's terms' magnitudes where they can cancel). NaN must match NaN, ±Infinity exactly.
 */
function within(got: ArrayLike<number>, ref: ArrayLike<number>, mag: ArrayLike<number>, rtol: number, atol: number, ctx: string): void {
  if (got.length !== ref.length) assert.unreachable(`${ctx}: length ${got.length} ≠ expected ${ref.length}`);
  for (let i = 0; i < ref.length; i++) {
    const a = got[i], e = ref[i];
    if (Number.isNaN(e) || Number.isNaN(a)) {
      if (!(Number.isNaN(e) && Number.isNaN(a))) assert.unreachable(`${ctx}: [${i}] got ${a}, expected ${e}`);
      continue;
    }
    if (!Number.isFinite(e)) {
      if (a !== e) assert.unreachable(`${ctx}: [${i}] got ${a}, expected ${e}`);
      continue;
    }
    const tol = rtol * mag[i] + atol;
    if (!(Math.abs(a - e) <= tol)) assert.unreachable(`${ctx}: [${i}] got ${a}, expected ${e} (|diff| ${Math.abs(a - e)} > ${tol})`);
  }
}

const absOf = (ref: Float64Array) => ref.map(Math.abs);

/** Σ f(j) over the row of element i. */
const rowSum = (i: number, cols: number, f: (j: number) => number) => {
  let s = 0;
  for (let j = i - (i % cols); j < i - (i % cols) + cols; j++) s += f(j);
  return s;
};
/** What softmaxBackward's error scales with: y_i·(|dy_i| + |Σ dy·y|). */
const softmaxMag = (dy: Float32Array, y: Float32Array, cols: number) => Float64Array.from(y, (v, i) => v * (Math.abs(dy[i]) + Math.abs(rowSum(i, cols, (j) => dy[j] * y[j]))));
/** What logSoftmaxBackward's error scales with: |dy_i| + exp(y_i)·|Σ dy|. */
const logSoftmaxMag = (dy: Float32Array, y: Float32Array, cols: number) => Float64Array.from(y, (v, i) => Math.abs(dy[i]) + Math.exp(v) * Math.abs(rowSum(i, cols, (j) => dy[j])));

/** Data of a fresh tensor made by `f`, everything else freed. */
function run(f: () => Tensor): Float32Array {
  return tidy(() => f().toArray() as Float32Array);
}

interface UnaryCase {
  name: string;
  /** 'x': the derivative is taken from the forward input; 'y': from the forward output. */
  from: 'x' | 'y';
  forward: (x: Tensor) => Tensor;
  backward: (dy: Tensor, v: Tensor) => Tensor;
  ref: (dy: Float32Array, v: Float32Array) => Float64Array;
  /** What the error scales with (default |ref|). */
  mag?: (dy: Float32Array, v: Float32Array) => Float64Array;
  /** |got − ref| ≤ rtol·mag + atol; atol 1e-37 admits only results next to the subnormals. */
  rtol: number;
  atol: number;
}

const swishMag = (dy: Float32Array, x: Float32Array) => Float64Array.from(dy, (g, i) => {
  const v = x[i];
  return Number.isFinite(v) ? Math.abs(g) * R.sigma(v) * (1 + Math.abs(v) * R.sigma(-v)) : Math.abs(g);
});
const geluMag = (dy: Float32Array, x: Float32Array) => Float64Array.from(dy, (g, i) => {
  const v = x[i];
  return Number.isFinite(v) ? Math.abs(g) * (R.cdf(v) + Math.abs(v) * R.pdf(v)) : Math.abs(g);
});

const UNARY: UnaryCase[] = [
  { name: 'relu', from: 'x', forward: relu, backward: reluBackward, ref: R.reluGrad, rtol: 0, atol: 0 }, // exact: dy or 0
  { name: 'leakyRelu', from: 'x', forward: (x) => leakyRelu(x), backward: (g, x) => leakyReluBackward(g, x), ref: (g, x) => R.leakyReluGrad(g, x, 0.01), rtol: 1e-6, atol: 0 }, // one product, alpha in f32
  { name: 'leakyRelu(0.2)', from: 'x', forward: (x) => leakyRelu(x, 0.2), backward: (g, x) => leakyReluBackward(g, x, 0.2), ref: (g, x) => R.leakyReluGrad(g, x, 0.2), rtol: 1e-6, atol: 0 },
  { name: 'leakyRelu(-1.5)', from: 'x', forward: (x) => leakyRelu(x, -1.5), backward: (g, x) => leakyReluBackward(g, x, -1.5), ref: (g, x) => R.leakyReluGrad(g, x, -1.5), rtol: 1e-6, atol: 0 },
  { name: 'elu', from: 'x', forward: (x) => elu(x), backward: (g, x) => eluBackward(g, x), ref: (g, x) => R.eluGrad(g, x, 1), rtol: 1e-6, atol: 1e-37 },
  { name: 'elu(0.5)', from: 'x', forward: (x) => elu(x, 0.5), backward: (g, x) => eluBackward(g, x, 0.5), ref: (g, x) => R.eluGrad(g, x, 0.5), rtol: 1e-6, atol: 1e-37 },
  { name: 'selu', from: 'x', forward: selu, backward: seluBackward, ref: R.seluGrad, rtol: 1e-6, atol: 1e-37 },
  { name: 'sigmoid', from: 'y', forward: sigmoid, backward: sigmoidBackward, ref: R.sigmoidGrad, rtol: 1e-6, atol: 1e-37 },
  { name: 'tanh', from: 'y', forward: tanh, backward: tanhBackward, ref: R.tanhGrad, rtol: 1e-6, atol: 1e-37 }, // (1 − y)(1 + y): relative even as |y| → 1
  // Near the roots of swish' (−1.278) and gelu' (−0.752) the terms cancel: tolerance relative to their magnitudes.
  { name: 'swish', from: 'x', forward: swish, backward: swishBackward, ref: R.swishGrad, mag: swishMag, rtol: 1e-6, atol: 1e-37 },
  { name: 'gelu', from: 'x', forward: gelu, backward: geluBackward, ref: R.geluGrad, mag: geluMag, rtol: 2e-6, atol: 1e-37 },
];

/** The tensor the derivative is taken from: x itself, or the forward's output on x. */
function source(c: UnaryCase, x: Float32Array, shape: number[]): Float32Array {
  return c.from === 'x' ? x : run(() => c.forward(tensor(x, shape)));
}

function backward(c: UnaryCase, dy: Float32Array, v: Float32Array, shape: number[]): Float32Array {
  return run(() => c.backward(tensor(dy, shape), tensor(v, shape)));
}

/**
 * Central differences of L(x) = Σ r ⊙ f(x), computed in float64 from the forward op's float32
 * outputs, at every element of x; the step is the float32 distance between x + eps and x − eps.
 * Rounding of the forward contributes about 4e-7·|f|/(2·eps), truncation eps²/6·|f'''|.
 */
function fdCheck(ctx: string, x: Float32Array, shape: number[], forward: (t: Tensor) => Tensor, r: Float32Array, grad: ArrayLike<number>, eps: number, tol: (g: number) => number): void {
  const L = (p: Float32Array) => {
    const y = run(() => forward(tensor(p, shape)));
    let s = 0;
    for (let i = 0; i < y.length; i++) s += y[i] * r[i];
    return s;
  };
  for (let i = 0; i < x.length; i++) {
    const p = x.slice();
    p[i] = x[i] + eps;
    const hi = p[i], up = L(p);
    p[i] = x[i] - eps;
    const lo = p[i], down = L(p);
    const fd = (up - down) / (hi - lo);
    if (!(Math.abs(fd - grad[i]) <= tol(grad[i]))) {
      assert.unreachable(`${ctx}: d/dx[${i}] (x = ${x[i]}) finite difference ${fd} vs backward ${grad[i]} (|diff| ${Math.abs(fd - grad[i])} > ${tol(grad[i])})`);
    }
  }
}

/** n values in [lo, hi] at least `gap` away from 0 (the kink of the piecewise ones). */
function awayFromZero(r: () => number, n: number, lo: number, hi: number, gap: number): Float32Array {
  const a = randArray(r, n, lo, hi);
  for (let i = 0; i < n; i++) if (Math.abs(a[i]) < gap) a[i] = a[i] < 0 ? -gap - r() : gap + r();
  return a;
}

function buildSuite(build: Backend): void {
  const s = suite(`activation backprop (${build})`);
  s.before(async () => {
    assert.is(await init({ backend: build }), build);
  });

  for (const c of UNARY) {
    s(`${c.name}Backward matches the float64 derivative (sizes ${SIZES.join(', ')}, ranks 0-4, special values)`, () => {
      const seed = 300 + UNARY.indexOf(c);
      const r = rng(seed);
      const shapes = [...SIZES.map((n) => [n]), [], [2, 3, 5, 7], [SPECIALS.length], [SPECIALS.length]];
      shapes.forEach((shape, i) => {
        const n = shape.reduce((a, b) => a * b, 1);
        // The last two: the special values in order and reversed, so each sits in a body and a tail slot.
        const x = i === shapes.length - 2 ? Float32Array.from(SPECIALS) : i === shapes.length - 1 ? Float32Array.from(SPECIALS).reverse() : values(r, n);
        const dy = grads(r, n);
        const v = source(c, x, shape);
        const ref = c.ref(dy, v);
        within(backward(c, dy, v, shape), ref, c.mag ? c.mag(dy, v) : absOf(ref), c.rtol, c.atol, `${build} ${c.name}Backward [${shape}] seed ${seed}`);
      });
    });
  }

  s('known values (PyTorch / closed forms), limits at ±Infinity, slopes at the kinks', () => {
    const near = (got: ArrayLike<number>, want: number[], what: string) => within(got, want, want.map(Math.abs), 1e-6, 1e-7, `${build} ${what}`);
    const ones = (n: number) => new Float32Array(n).fill(1);
    const xs = [-2, -1, 0, 1, 2];
    // torch.autograd.grad of F.silu / F.gelu (exact) at these points.
    near(run(() => swishBackward(tensor(ones(5), [5]), tensor(xs, [5]))), [-0.0907842, 0.0723295, 0.5, 0.9276705, 1.0907842], 'swish\'');
    near(run(() => geluBackward(tensor(ones(5), [5]), tensor(xs, [5]))), [-0.0852318, -0.0833155, 0.5, 1.0833155, 1.0852318], 'gelu\'');
    near(run(() => seluBackward(tensor(ones(3), [3]), tensor([-1, 0, 1], [3]))), [SELU_SCALE * SELU_ALPHA * Math.exp(-1), SELU_SCALE * SELU_ALPHA, SELU_SCALE], 'selu\'');
    near(run(() => eluBackward(tensor(ones(3), [3]), tensor([-1, 0, 1], [3]), 0.5)), [0.5 * Math.exp(-1), 0.5, 1], 'elu\'');
    near(run(() => sigmoidBackward(tensor([2, 2, 2], [3]), tensor([0.5, 0, 1], [3]))), [0.5, 0, 0], 'sigmoid\' from y');
    near(run(() => tanhBackward(tensor([3, 3, 3, 3], [4]), tensor([0, 1, -1, 0.5], [4]))), [3, 0, 0, 2.25], 'tanh\' from y');
    // Kinks: the slope of the forward's x ≤ 0 branch at x = 0 (relu 0, leakyRelu alpha); NaN x: relu 0.
    const k = [-1, 0, -0, 2, NaN, Infinity, -Infinity];
    equalArrays(run(() => reluBackward(tensor(new Float32Array(7).fill(3), [7]), tensor(k, [7]))), [0, 0, 0, 3, 0, 3, 0], `${build} relu' at kinks`);
    equalArrays(run(() => leakyReluBackward(tensor(new Float32Array(7).fill(4), [7]), tensor(k, [7]), 0.25)), [1, 1, 1, 4, 1, 4, 1], `${build} leakyRelu' at kinks`);
    // ±Infinity: the limits, never ∞·0 = NaN; NaN x gives NaN.
    const inf = [Infinity, -Infinity, NaN];
    equalArrays(run(() => swishBackward(tensor(ones(3), [3]), tensor(inf, [3]))), [1, 0, NaN], `${build} swish' limits`);
    equalArrays(run(() => geluBackward(tensor(ones(3), [3]), tensor(inf, [3]))), [1, 0, NaN], `${build} gelu' limits`);
    equalArrays(run(() => eluBackward(tensor(ones(3), [3]), tensor(inf, [3]))), [1, 0, NaN], `${build} elu' limits`);
    equalArrays(run(() => seluBackward(tensor(ones(3), [3]), tensor(inf, [3]))), [Math.fround(SELU_SCALE), 0, NaN], `${build} selu' limits`);
    // NaN in dy reaches dx wherever the slope is not a selected 0.
    equalArrays(run(() => reluBackward(tensor([NaN, NaN], [2]), tensor([1, -1], [2]))), [NaN, 0], `${build} relu' of NaN dy`);
    equalArrays(run(() => geluBackward(tensor([NaN], [1]), tensor([1], [1]))), [NaN], `${build} gelu' of NaN dy`);
  });

  s('SIMD body and scalar tail give bit-identical results for every element', () => {
    const r = rng(17);
    const x = Float32Array.from([...values(r, 996), ...SPECIALS, ...SPECIALS.map((v) => -v)]);
    const n = x.length - (x.length % 4);
    const dy = grads(r, n);
    for (const c of UNARY) {
      const v = source(c, x.subarray(0, n), [n]);
      const body = backward(c, dy, v, [n]);
      for (let i = 0; i < n; i += 3) {
        const end = Math.min(i + 3, n); // 3 or fewer elements: all in the tail
        equalArrays(backward(c, dy.subarray(i, end), v.subarray(i, end), [end - i]), body.subarray(i, end), `${build} ${c.name}Backward tail vs body at ${i}`);
      }
    }
  });

  s('finite differences through the forward ops (relu, leakyRelu, elu, selu, sigmoid, tanh, swish, gelu)', () => {
    // eps 1e-2 on x in [-4, 4] (the piecewise ones at least 0.1 away from their kink); tolerance
    // 1e-4·(1 + |grad|): forward rounding ≈ 2e-7·|f|/0.02 ≤ 4e-5 for |f| ≤ 4, truncation ≲ 2e-5·|f'''|
    // (measured at most 1.6e-5).
    const r = rng(29);
    for (const c of UNARY) {
      const x = c.name.startsWith('leaky') || c.name === 'relu' || c.name.startsWith('elu') || c.name === 'selu' ? awayFromZero(r, 17, -4, 4, 0.1) : randArray(r, 17, -4, 4);
      const rw = randArray(r, 17, -1, 1);
      const grad = backward(c, rw, source(c, x, [17]), [17]);
      fdCheck(`${build} ${c.name}`, x, [17], c.forward, rw, grad, 1e-2, (g) => 1e-4 * (1 + Math.abs(g)));
    }
  });

  s('preluBackward: dx and dalpha match the float64 reference (C = 1, 3, 4, 5, 17, 1000; many rows)', () => {
    const r = rng(7);
    const shapes: number[][] = [];
    for (const C of SIZES) for (const lead of [[], [1], [3], [2, 3]]) shapes.push([...lead, C]);
    shapes.push([4000, 3], [64, 7, 9, 5], [40, 33]);
    for (const shape of shapes) {
      const C = shape[shape.length - 1], n = shape.reduce((a, b) => a * b, 1);
      const x = values(r, n), dy = grads(r, n), a = randArray(r, C, -1, 1);
      const ref = R.preluGrad(dy, x, a);
      const { dx, dalpha } = tidy(() => {
        const g = preluBackward(tensor(dy, shape), tensor(x, shape), tensor(a, [C]));
        assert.equal(g.dx.shape, shape);
        assert.equal(g.dalpha.shape, [C]);
        return { dx: g.dx.toArray(), dalpha: g.dalpha.toArray() };
      });
      const ctx = `${build} preluBackward x [${shape}] seed 7`;
      within(dx, ref.dx, absOf(ref.dx), 1e-6, 0, `${ctx} dx`); // one f32 product
      // dalpha: exact products summed in f64, then rounded once: half an ulp (6e-8) of the sum (or of
      // the subnormals, 7e-46), plus f64 rounding of the running sum (1e-13 of Σ|dy·x| leaves room for 4000 rows).
      // Compared with the f32 rounding of the reference: a sum beyond FLT_MAX is Infinity.
      const sumAbs = new Float64Array(C);
      for (let i = 0; i < n; i++) if (!(x[i] > 0)) sumAbs[i % C] += Math.abs(dy[i] * x[i]);
      within(dalpha, Float32Array.from(ref.dalpha), ref.dalpha.map((v, c) => Math.abs(v) + sumAbs[c] * 1e-6), 6e-8, 7.1e-46, `${ctx} dalpha`);
    }
    // NaN x: its channel's dalpha is NaN; a channel in the scalar tail sums exactly like one in the body.
    tidy(() => {
      const rows = 9, C = 5;
      const xd = new Float32Array(rows * C), gd = new Float32Array(rows * C);
      for (let i = 0; i < rows; i++) {
        for (let c = 0; c < C; c++) { xd[i * C + c] = values(r, 1)[0]; gd[i * C + c] = grads(r, 1)[0]; }
        xd[i * C + 4] = xd[i * C]; gd[i * C + 4] = gd[i * C]; // channel 4 (tail) copies channel 0 (body)
      }
      if (Number.isNaN(xd[0])) xd[0] = xd[4] = -1; // keep channel 0 finite for the bitwise comparison
      xd[C + 2] = NaN; // row 1, channel 2
      const g = preluBackward(tensor(gd, [rows, C]), tensor(xd, [rows, C]), tensor([0.1, 0.2, 0.3, 0.4, 0.1], [C]));
      const da = g.dalpha.toArray();
      assert.ok(Number.isNaN(da[2]), `${build} dalpha of a NaN channel: ${da[2]}`);
      assert.ok(Object.is(da[0], da[4]), `${build} dalpha body ${da[0]} vs tail ${da[4]}`);
      equalArrays(g.dx.toArray().filter((_, i) => i % C === 0), g.dx.toArray().filter((_, i) => i % C === 4), `${build} prelu dx body vs tail`);
    });
    // An infinite or NaN dy where x > 0 stays out of dalpha (those positions do not depend on alpha);
    // channel 4 (scalar tail) repeats channel 3 (SIMD body).
    tidy(() => {
      const x = [1, -1, 2, -3, -3, -2, 3, -1, 1, 1];
      const dy = [Infinity, 1, NaN, 2, 2, 1, Infinity, 3, NaN, NaN];
      const g = preluBackward(tensor(dy, [2, 5]), tensor(x, [2, 5]), tensor([0.5, 0.5, 0.5, 0.5, 0.5], [5]));
      equalArrays(g.dalpha.toArray(), [-2, -1, -3, -6, -6], `${build} dalpha ignores dy where x > 0`);
      equalArrays(g.dx.toArray(), [Infinity, 0.5, NaN, 1, 1, 0.5, Infinity, 1.5, NaN, NaN], `${build} prelu dx with non-finite dy`);
    });
  });

  s('preluBackward: finite differences in x and alpha', () => {
    // prelu is linear in alpha and, away from 0, in x: only rounding remains. eps 1e-2, tolerance 1e-4·(1 + |grad|).
    const r = rng(31);
    const shape = [4, 3, 5], C = 5;
    const x = awayFromZero(r, 60, -3, 3, 0.1), a = randArray(r, C, -1, 1), rw = randArray(r, 60, -1, 1);
    const { dx, dalpha } = tidy(() => {
      const g = preluBackward(tensor(rw, shape), tensor(x, shape), tensor(a, [C]));
      return { dx: g.dx.toArray(), dalpha: g.dalpha.toArray() };
    });
    const tol = (g: number) => 1e-4 * (1 + Math.abs(g));
    tidy(() => {
      const at = tensor(a, [C]);
      fdCheck(`${build} prelu dx`, x, shape, (t) => prelu(t, at), rw, dx, 1e-2, tol);
      const xt = tensor(x, shape);
      fdCheck(`${build} prelu dalpha`, a, [C], (t) => prelu(xt, t), rw, dalpha, 1e-2, tol);
    });
  });

  s('softmaxBackward and logSoftmaxBackward match the float64 reference (cols 1, 3, 4, 5, 17, 1000)', () => {
    const r = rng(11);
    for (const cols of SIZES) {
      for (const [rows, lo, hi] of [[1, -30, 30], [3, -30, 30], [2, -1e-6, 1e-6], [2, -1e4, 1e4], [3, -3, 3]]) {
        const x = randArray(r, rows * cols, lo, hi), dy = grads(r, rows * cols);
        const ctx = `${build} [${rows},${cols}] x in [${lo}, ${hi}] seed 11`;
        // softmax: s = Σ dy·y (f64, rounded once), then y·(dy − s): 3 roundings of y·(|dy| + |s|).
        const y = run(() => softmax(tensor(x, [rows, cols])));
        within(run(() => softmaxBackward(tensor(dy, [rows, cols]), tensor(y, [rows, cols]))), R.softmaxGrad(dy, y, cols), softmaxMag(dy, y, cols), 1e-6, 1e-37, `softmaxBackward ${ctx}`);
        // logSoftmax: dy − exp(y)·Σ dy: exp's error (2e-7) and 3 roundings of |dy| + exp(y)·|Σ dy|.
        const ly = run(() => logSoftmax(tensor(x, [rows, cols])));
        within(run(() => logSoftmaxBackward(tensor(dy, [rows, cols]), tensor(ly, [rows, cols]))), R.logSoftmaxGrad(dy, ly, cols), logSoftmaxMag(dy, ly, cols), 1e-6, 1e-37, `logSoftmaxBackward ${ctx}`);
      }
    }
    // Special rows: a NaN row stays NaN; softmax 0 (y = 0, log y = −Infinity) passes 0 / dy.
    tidy(() => {
      const y = tensor([NaN, NaN, NaN, 0, 1, 0], [2, 3]);
      const g = tensor([1, 2, 3, 4, 5, 6], [2, 3]);
      equalArrays(softmaxBackward(g, y).toArray(), [NaN, NaN, NaN, 0, 0, 0], `${build} softmax' special rows`);
      const ly = tensor([NaN, NaN, NaN, -Infinity, 0, -Infinity], [2, 3]);
      equalArrays(logSoftmaxBackward(g, ly).toArray(), [NaN, NaN, NaN, 4, 5 - 15, 6], `${build} logSoftmax' special rows`);
    });
  });

  s('softmax and logSoftmax: finite differences through the forward ops', () => {
    // eps 1e-2 on x in [-2, 2] (rows [3, 5] and [1, 17]): each step moves the whole row, so the
    // rounding term is Σ_j |r_j|·ulp(y_j)/0.02 ≲ 1e-4 for logSoftmax (measured at most 6e-5);
    // tolerance 3e-4·(1 + |grad|).
    const r = rng(37);
    for (const shape of [[3, 5], [1, 17], [2, 4]]) {
      const n = shape[0] * shape[1];
      const x = randArray(r, n, -2, 2), rw = randArray(r, n, -1, 1);
      const tol = (g: number) => 3e-4 * (1 + Math.abs(g));
      const g1 = run(() => softmaxBackward(tensor(rw, shape), softmax(tensor(x, shape))));
      fdCheck(`${build} softmax [${shape}]`, x, shape, softmax, rw, g1, 1e-2, tol);
      const g2 = run(() => logSoftmaxBackward(tensor(rw, shape), logSoftmax(tensor(x, shape))));
      fdCheck(`${build} logSoftmax [${shape}]`, x, shape, logSoftmax, rw, g2, 1e-2, tol);
    }
  });

  s('maxoutBackward matches the reference exactly (k 1, 2, 3, 4, 5, 8, 12; ties, ±0, NaN)', () => {
    const r = rng(13);
    for (const k of [1, 2, 3, 4, 5, 8, 12]) {
      for (const groups of [1, 3, 4, 5, 17]) {
        for (const lead of [[], [3], [2, 2]]) {
          for (const kind of ['values', 'ties'] as const) {
            const C = k * groups;
            const shape = [...lead, C];
            const n = shape.reduce((a, b) => a * b, 1);
            // 'ties': small integers, ±0 and a few NaN, so most groups tie.
            const x = kind === 'values' ? values(r, n) : Float32Array.from({ length: n }, () => {
              const u = r();
              return u < 0.05 ? NaN : u < 0.15 ? -0 : randInt(r, -2, 1);
            });
            const dyShape = [...lead, groups];
            const dy = grads(r, n / k).map((v) => v || 1); // nonzero, so the winner is visible
            const dx = tidy(() => {
              const out = maxoutBackward(tensor(dy, dyShape), tensor(x, shape), k);
              assert.equal(out.shape, shape);
              return out.toArray();
            });
            equalArrays(dx, R.maxoutGrad(dy, x, k), `${build} maxoutBackward x [${shape}] k ${k} ${kind} seed 13`);
          }
        }
      }
    }
  });

  s('maxoutBackward: finite differences through maxout (maxima 0.1 clear of the runner-up)', () => {
    // maxout is linear near such points: the central difference is exact up to rounding (tolerance 1e-4).
    const r = rng(41);
    for (const k of [2, 3, 4]) {
      const shape = [3, 4 * k];
      const n = 12 * k;
      const x = randArray(r, n, -2, 2);
      for (let j = 0; j < n / k; j++) {
        let at = 0;
        for (let i = 1; i < k; i++) if (x[j * k + i] > x[j * k + at]) at = i;
        x[j * k + at] += 0.1;
      }
      const rw = randArray(r, n / k, -1, 1);
      const grad = run(() => maxoutBackward(tensor(rw, [3, 4]), tensor(x, shape), k));
      fdCheck(`${build} maxout k ${k}`, x, shape, (t) => maxout(t, k), rw, grad, 1e-2, () => 1e-4);
    }
  });

  s('activationBackward dispatches by name (same bits as the ops; linear copies dy; the unused input may be null)', () => {
    const r = rng(19);
    const shape = [3, 17];
    const x = values(r, 51), dy = grads(r, 51);
    const cases: Array<[ActivationName, number | undefined, (g: Tensor, x: Tensor, y: Tensor) => Tensor]> = [
      ['relu', undefined, (g, xt) => reluBackward(g, xt)],
      ['leakyRelu', 0.3, (g, xt) => leakyReluBackward(g, xt, 0.3)],
      ['leakyRelu', undefined, (g, xt) => leakyReluBackward(g, xt)],
      ['elu', 0.7, (g, xt) => eluBackward(g, xt, 0.7)],
      ['selu', undefined, (g, xt) => seluBackward(g, xt)],
      ['sigmoid', undefined, (g, _x, yt) => sigmoidBackward(g, yt)],
      ['tanh', undefined, (g, _x, yt) => tanhBackward(g, yt)],
      ['swish', undefined, (g, xt) => swishBackward(g, xt)],
      ['gelu', undefined, (g, xt) => geluBackward(g, xt)],
      ['softmax', undefined, (g, _x, yt) => softmaxBackward(g, yt)],
      ['logSoftmax', undefined, (g, _x, yt) => logSoftmaxBackward(g, yt)],
    ];
    const forward: Record<string, (t: Tensor, alpha?: number) => Tensor> = {
      relu, leakyRelu: (t, a) => leakyRelu(t, a), elu: (t, a) => elu(t, a), selu, sigmoid, tanh, swish, gelu, softmax, logSoftmax,
    };
    for (const [name, alpha, op] of cases) {
      tidy(() => {
        const act = parseActivation('dense', alpha === undefined ? name : { name, alpha })!;
        const xt = tensor(x, shape), g = tensor(dy, shape);
        const yt = forward[name](xt, act.alpha);
        const want = op(g, xt, yt).toArray();
        equalArrays(activationBackward(act, g, xt, yt).toArray(), want, `${build} activationBackward ${name}`);
        const fromY = name === 'sigmoid' || name === 'tanh' || name === 'softmax' || name === 'logSoftmax';
        const got = fromY ? activationBackward(act, g, null, yt) : activationBackward(act, g, xt, null);
        equalArrays(got.toArray(), want, `${build} activationBackward ${name} with the unused input null`);
        if (fromY) throwsTyped(() => activationBackward(act, g, xt, null), ArgumentError, `activationBackward(${name})`, 'needs y');
        else throwsTyped(() => activationBackward(act, g, null, yt), ArgumentError, `activationBackward(${name})`, 'needs x');
      });
    }
    tidy(() => {
      const g = tensor(dy, shape);
      const out = activationBackward({ name: 'linear', alpha: 0 }, g, null, null);
      assert.ok(out !== g, 'linear returns a new tensor');
      equalArrays(out.toArray(), dy, `${build} linear copies dy`);
      throwsTyped(() => activationBackward({ name: 'prelu' as ActivationName, alpha: 0 }, g, g, g), ArgumentError, 'activationBackward', '"prelu"', 'valid:', 'logSoftmax');
      throwsTyped(() => activationBackward(null as never, g, g, g), ArgumentError, 'activationBackward', 'null');
      throwsTyped(() => activationBackward({ name: 'elu', alpha: NaN }, g, g, g), ArgumentError, 'activationBackward(elu)', 'alpha', 'NaN');
      throwsTyped(() => activationBackward({ name: 'gelu', alpha: 0 }, g, tensor([1, 2], [2]), null), ShapeError, 'activationBackward(gelu)', 'dy [3,17]', 'x [2]');
    });
  });

  s('shapes: scalars, empty tensors and any rank keep their shape', () => {
    tidy(() => {
      assert.equal(reluBackward(tensor([2], []), tensor([1], [])).shape, []);
      equalArrays(softmaxBackward(tensor([5], []), tensor([1], [])).toArray(), [0], 'softmax\' of a scalar');
      equalArrays(logSoftmaxBackward(tensor([5], []), tensor([0], [])).toArray(), [0], 'logSoftmax\' of a scalar');
      for (const shape of [[0], [2, 0], [0, 3], [1, 2, 0, 4]]) {
        for (const op of [reluBackward, geluBackward, softmaxBackward, logSoftmaxBackward]) assert.equal(op(tensor([], shape), tensor([], shape)).shape, shape);
      }
      assert.equal(maxoutBackward(tensor([], [2, 0]), tensor([], [2, 0]), 3).shape, [2, 0]);
      assert.equal(maxoutBackward(tensor([], [0, 2]), tensor([], [0, 6]), 3).shape, [0, 6]);
      const p = preluBackward(tensor([], [0, 3]), tensor([], [0, 3]), tensor([1, 2, 3], [3]));
      assert.equal(p.dx.shape, [0, 3]);
      equalArrays(p.dalpha.toArray(), [0, 0, 0], 'dalpha of no rows');
    });
  });

  s('bad arguments throw typed errors naming the op, the argument and the shapes', () => {
    tidy(() => {
      const a = tensor(new Float32Array(6), [2, 3]), b = tensor(new Float32Array(6), [3, 2]);
      const ints = tensor([1, 2, 3, 4, 5, 6], [2, 3], 'int32');
      const ops: Array<[string, 'x' | 'y', (g: Tensor, v: Tensor) => Tensor]> = [
        ['reluBackward', 'x', reluBackward], ['leakyReluBackward', 'x', (g, v) => leakyReluBackward(g, v)], ['eluBackward', 'x', (g, v) => eluBackward(g, v)],
        ['seluBackward', 'x', seluBackward], ['sigmoidBackward', 'y', sigmoidBackward], ['tanhBackward', 'y', tanhBackward],
        ['swishBackward', 'x', swishBackward], ['geluBackward', 'x', geluBackward], ['softmaxBackward', 'y', softmaxBackward],
        ['logSoftmaxBackward', 'y', logSoftmaxBackward], ['preluBackward', 'x', (g, v) => preluBackward(g, v, tensor([1, 1], [2])).dx],
      ];
      for (const [name, arg, op] of ops) {
        throwsTyped(() => op(a, b), ShapeError, `${name}: dy and ${arg} must have the same shape`, 'dy [2,3]', `${arg} [3,2]`);
        throwsTyped(() => op(ints, a), DTypeError, `${name}: dy`, 'int32', '[2,3]');
        throwsTyped(() => op(a, ints), DTypeError, `${name}: ${arg}`, 'int32', '[2,3]');
        throwsTyped(() => op([1, 2] as never, a), ArgumentError, `${name}: dy`, 'Tensor');
      }
      throwsTyped(() => leakyReluBackward(a, a, NaN), ArgumentError, 'leakyReluBackward', 'alpha', 'NaN');
      throwsTyped(() => eluBackward(a, a, '1' as never), ArgumentError, 'eluBackward', 'alpha');
      throwsTyped(() => preluBackward(a, a, tensor([1, 2], [2])), ShapeError, 'preluBackward', 'alpha', '[3]', '[2,3]', '[2]');
      throwsTyped(() => preluBackward(a, a, tensor([1, 2, 3], [1, 3])), ShapeError, 'preluBackward', 'alpha', '[1,3]');
      throwsTyped(() => preluBackward(a, a, tensor([1, 2, 3], [3], 'int32')), DTypeError, 'preluBackward', 'alpha', 'int32');
      throwsTyped(() => preluBackward(tensor([1], []), tensor([1], []), tensor([1], [1])), ShapeError, 'preluBackward', 'x', '[]');
      const x6 = tensor(new Float32Array(12), [2, 6]);
      throwsTyped(() => maxoutBackward(tensor(new Float32Array(4), [2, 2]), x6, 2), ShapeError, 'maxoutBackward', 'dy must be [2,3]', 'x [2,6]', 'k = 2', 'dy [2,2]');
      throwsTyped(() => maxoutBackward(a, x6, 4), ShapeError, 'maxoutBackward', '6', 'k = 4', '[2,6]');
      for (const k of [0, -2, 1.5, NaN, '2']) throwsTyped(() => maxoutBackward(a, x6, k as never), ArgumentError, 'maxoutBackward', 'k', '[2,6]');
      throwsTyped(() => maxoutBackward(tensor([1], []), tensor([1], []), 1), ShapeError, 'maxoutBackward', 'x', '[]');
      throwsTyped(() => maxoutBackward(tensor([1, 2, 3], [3], 'int32'), x6, 2), DTypeError, 'maxoutBackward', 'dy', 'int32');
      b.dispose();
      throwsTyped(() => sigmoidBackward(a, b), DisposedError, 'sigmoidBackward', 'y', '[3,2]');
      throwsTyped(() => reluBackward(b, a), DisposedError, 'reluBackward', 'dy', '[3,2]');
      throwsTyped(() => maxoutBackward(a, b, 2), DisposedError, 'maxoutBackward', 'x');
      throwsTyped(() => preluBackward(a, a, b), DisposedError, 'preluBackward', 'alpha');
      throwsTyped(() => activationBackward({ name: 'tanh', alpha: 0 }, a, null, b), DisposedError, 'activationBackward(tanh)', 'y');
    });
  });

  s('no live tensors remain', () => {
    assert.is(memoryStats().tensors, 0);
  });

  s.run();
}

for (const build of BUILDS) buildSuite(build);

// Every build computes the same bits: elementwise kernels do the same f32 operations in every
// build, maxout selects, and prelu's dalpha sums each channel's rows in the same order in f64.
// The row sums of softmax / logSoftmax add in a different order (in f64, rounded once to f32).
const across = suite('activation backprop across builds');
across('every build computes the same bits', async () => {
  const r = rng(23);
  const x = values(r, 1003), dy = grads(r, 1003), a = randArray(r, 17, -1, 1);
  const outputs: Record<string, Float32Array[]> = {};
  for (const build of BUILDS) {
    await init({ backend: build });
    const out = UNARY.map((c) => backward(c, dy, source(c, x, [1003]), [1003]));
    out.push(run(() => maxoutBackward(tensor(dy.subarray(0, 59), [59, 1]), tensor(x, [59, 17]), 17)));
    const p = tidy(() => {
      const g = preluBackward(tensor(dy, [59, 17]), tensor(x, [59, 17]), tensor(a, [17]));
      return [g.dx.toArray() as Float32Array, g.dalpha.toArray() as Float32Array];
    });
    out.push(...p);
    outputs[build] = out;
    const sm = run(() => softmax(tensor(x, [17, 59]))), ls = run(() => logSoftmax(tensor(x, [17, 59])));
    outputs[`${build} softmax`] = [
      run(() => softmaxBackward(tensor(dy, [17, 59]), tensor(sm, [17, 59]))),
      run(() => logSoftmaxBackward(tensor(dy, [17, 59]), tensor(ls, [17, 59]))),
      sm, ls,
    ];
  }
  const names = [...UNARY.map((c) => c.name), 'maxout', 'prelu dx', 'prelu dalpha'];
  for (const build of BUILDS.slice(1)) {
    outputs[build].forEach((y, i) => equalArrays(y, outputs[BUILDS[0]][i], `${build} vs ${BUILDS[0]}: ${names[i]}`));
    // The f64 row sums round to the same f32 but near a rounding boundary; the forward's y may
    // differ by an ulp too. Within the tolerance of the reference test.
    const [g1, g2, sm, ls] = outputs[`${build} softmax`], [h1, h2] = outputs[`${BUILDS[0]} softmax`];
    within(g1, h1, softmaxMag(dy, sm, 59), 2e-6, 1e-37, `${build} vs ${BUILDS[0]} softmaxBackward`);
    within(g2, h2, logSoftmaxMag(dy, ls, 59), 2e-6, 1e-37, `${build} vs ${BUILDS[0]} logSoftmaxBackward`);
  }
  assert.is(memoryStats().tensors, 0);
});
across.run();
