// node-flags: --experimental-wasm-relaxed-simd
// add, sub, mul, div with broadcasting, arithmeticBackward and addN against float64 references, under
// every build. The shape pairs cover each path of the plan: equal shapes, a per-channel vector
// ([C] and [1,1,1,C]), the squeeze-excitation [N,1,1,C], scalars on either side (the swapped,
// reversed ops), broadcasting on both sides, rank 6, empty tensors; channel counts on and off
// multiples of 4.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  init, tensor, tidy, memoryStats, type Backend, type Tensor,
  add, sub, mul, div, addN, arithmeticBackward, ArgumentError, DTypeError, ShapeError, DisposedError,
} from '../src/index.ts';
import { allclose, equalArrays, randArray, rng, throwsTyped } from './helpers.ts';
import * as R from './reference/arithmetic.ts';
import { binaryPlan } from '../src/ops/arithmetic.ts';

const BUILDS: Backend[] = ['relaxed-simd', 'simd', 'scalar'];
const OPS = { add, sub, mul, div } as const;
const NAMES: R.Op[] = ['add', 'sub', 'mul', 'div'];

/** [a shape, b shape] pairs, one or more per path. */
const PAIRS: Array<[number[], number[]]> = [
  [[2, 5, 7, 3], [2, 5, 7, 3]], [[3, 4, 5, 8], [3, 4, 5, 8]], [[1003], [1003]], [[], []],
  [[2, 5, 7, 3], [3]], [[2, 3, 5, 17], [17]], [[2, 3, 3, 8], [1, 1, 1, 8]], [[5], [5]],
  [[3, 5, 7, 5], [3, 1, 1, 5]], [[2, 4, 3, 16], [2, 1, 1, 16]], [[1, 7, 9, 3], [1, 1, 1, 3]],
  [[2, 5, 7, 3], []], [[], [2, 5, 7, 3]], [[4, 9], [1]], [[1], [3, 5]],
  [[17], [2, 3, 17]], [[3, 1, 1, 5], [3, 5, 7, 5]], [[2, 1, 6, 1], [1, 5, 1, 3]], [[2, 1, 3], [4, 1]],
  [[2, 5, 7, 1], [2, 5, 7, 6]], [[2, 5, 7, 6], [2, 5, 7, 1]], [[2, 1, 2, 1, 3, 2], [1, 3, 1, 2, 1, 2]],
  [[3, 1, 4], [3, 5, 1]], [[0, 3], [3]], [[2, 0, 4], [1, 1, 4]], [[1, 4], [0, 1]],
];

function vals(r: () => number, shape: number[], op: R.Op, isB: boolean): Float32Array {
  const n = shape.reduce((p, d) => p * d, 1);
  // Divisors away from 0 (either sign) keep the quotients and their gradients moderate.
  if (op === 'div' && isB) return Float32Array.from(randArray(r, n, 0.5, 2), (v) => (r() < 0.5 ? -v : v));
  return randArray(r, n, -2, 2);
}

function buildSuite(build: Backend): void {
  const s = suite(`arithmetic (${build})`);
  s.before(async () => {
    assert.is(await init({ backend: build }), build);
  });

  s('add, sub, mul, div equal the float64 result rounded to float32, on every path', () => {
    const r = rng(51);
    for (const [as, bs] of PAIRS) {
      for (const op of NAMES) {
        const a = vals(r, as, op, false), b = vals(r, bs, op, true);
        const got = tidy(() => {
          const y = OPS[op](tensor(a, as), tensor(b, bs));
          assert.equal(y.shape, R.broadcast(as, bs), `${op} [${as}] [${bs}] shape`);
          return y.toArray();
        });
        // Exact: one IEEE f32 operation is the f32 rounding of the exact result, and rounding the
        // f64 result first is innocuous for + − × ÷ (53 ≥ 2·24 + 2).
        equalArrays(got, Float32Array.from(R.binary(op, a, as, b, bs)), `${build} ${op} a [${as}] b [${bs}] seed 51`);
      }
    }
  });

  s('specials: NaN propagates, division by zero is IEEE', () => {
    tidy(() => {
      const a = tensor([NaN, 1, -1, 0, Infinity, 2, 3, 4, 5], [9]);
      const b = tensor([1, NaN, 0, 0, Infinity, -0, 1, 1, 1], [9]);
      equalArrays(div(a, b).toArray(), [NaN, NaN, -Infinity, NaN, NaN, -Infinity, 3, 4, 5], `${build} div`);
      equalArrays(add(a, b).toArray(), [NaN, NaN, -1, 0, Infinity, 2, 4, 5, 6], `${build} add`);
      equalArrays(mul(a, tensor([NaN], [])).toArray(), new Array(9).fill(NaN), `${build} mul by a NaN scalar`);
      equalArrays(sub(tensor([1], []), a).toArray(), [NaN, 0, 2, 1, -Infinity, -1, -2, -3, -4], `${build} scalar − tensor`);
      equalArrays(div(tensor([6], [1]), tensor([1, 2, 3, -0, 4, 5, 6, 12], [8])).toArray(), [6, 3, 2, -Infinity, 1.5, 1.2000000476837158, 1, 0.5], `${build} [1] / tensor`);
    });
  });

  s('arithmeticBackward: da, db summed over the broadcast axes match the float64 reference', () => {
    const r = rng(53);
    for (const [as, bs] of PAIRS) {
      for (const op of NAMES) {
        const a = vals(r, as, op, false), b = vals(r, bs, op, true);
        const out = R.broadcast(as, bs);
        const dy = randArray(r, out.reduce((p, d) => p * d, 1), -2, 2);
        const { da, db } = tidy(() => {
          const g = arithmeticBackward(op, tensor(dy, out), tensor(a, as), tensor(b, bs));
          assert.equal(g.da.shape, as);
          assert.equal(g.db.shape, bs);
          return { da: g.da.toArray(), db: g.db.toArray() };
        });
        const ref = R.binaryGrad(op, dy, a, as, b, bs);
        // Terms rounded to f32 (up to 3 roundings for div's −(dy/b)·(a/b)) then summed in f64 and
        // rounded once: |error| ≤ 3·6e-8·Σ|terms| + half an ulp; Σ|terms| from the reference on |inputs|.
        const abs = (v: Float32Array) => v.map(Math.abs);
        const mag = R.binaryGrad(op, abs(dy), abs(a), as, abs(b), bs);
        const ctx = `${build} ${op}Backward a [${as}] b [${bs}] seed 53`;
        within(da, ref.da, mag.da, `${ctx} da`);
        within(db, ref.db, mag.db, `${ctx} db`);
      }
    }
  });

  s('arithmeticBackward: finite differences in a and b (central, eps 1e-2, float64 sums of float32 outputs)', () => {
    // L = Σ r·(a op b). add, sub, mul are linear in each input: only forward rounding (≈ 6e-8·|y|·n/0.02)
    // remains; div's truncation is eps²·|a|/|b|³ ≤ 1e-4·2·8 with |b| ≥ 0.5. Tolerance 2e-3·(1 + |g|).
    const r = rng(57);
    const pairs: Array<[number[], number[]]> = [[[2, 3, 5], [2, 3, 5]], [[2, 3, 5], [5]], [[2, 3, 3, 5], [2, 1, 1, 5]], [[3, 4], []], [[1, 4], [3, 1]], [[5], [2, 3, 5]]];
    for (const [as, bs] of pairs) {
      for (const op of NAMES) {
        const a = vals(r, as, op, false), b = vals(r, bs, op, true);
        const out = R.broadcast(as, bs);
        const rw = randArray(r, out.reduce((p, d) => p * d, 1), -1, 1);
        const g = tidy(() => {
          const t = arithmeticBackward(op, tensor(rw, out), tensor(a, as), tensor(b, bs));
          return { da: t.da.toArray(), db: t.db.toArray() };
        });
        const L = (pa: Float32Array, pb: Float32Array) => (tidy(() => OPS[op](tensor(pa, as), tensor(pb, bs)).toArray()) as Float32Array).reduce((acc: number, v: number, i: number) => acc + v * rw[i], 0);
        for (const [which, x, grad] of [['a', a, g.da], ['b', b, g.db]] as const) {
          for (let i = 0; i < x.length; i++) {
            const p = x.slice();
            p[i] = x[i] + 1e-2;
            const hi = p[i], up = which === 'a' ? L(p, b) : L(a, p);
            p[i] = x[i] - 1e-2;
            const down = which === 'a' ? L(p, b) : L(a, p);
            const fd = (up - down) / (hi - p[i]);
            assert.ok(Math.abs(fd - grad[i]) <= 2e-3 * (1 + Math.abs(grad[i])), `${build} ${op} a [${as}] b [${bs}] d/d${which}[${i}]: fd ${fd} vs ${grad[i]}`);
          }
        }
      }
    }
  });

  s('addN: one to five tensors, bit-identical to a chain of add(), reference within f32 rounding', () => {
    const r = rng(59);
    for (const shape of [[7], [2, 3, 5, 4], [1, 5, 5, 17], [1003], []]) {
      for (let k = 1; k <= 5; k++) {
        const n = shape.reduce((p, d) => p * d, 1);
        const xs = Array.from({ length: k }, () => randArray(r, n, -2, 2));
        tidy(() => {
          const ts = xs.map((x) => tensor(x, shape));
          const y = addN(ts);
          assert.equal(y.shape, shape);
          let chain = ts[0];
          for (let j = 1; j < k; j++) chain = add(chain, ts[j]);
          equalArrays(y.toArray(), chain.toArray(), `${build} addN k ${k} [${shape}]`);
          const ref = Float64Array.from({ length: n }, (_, i) => xs.reduce((acc, x) => acc + x[i], 0));
          allclose(y.toArray(), ref, `${build} addN k ${k} [${shape}] vs f64`, 0, 5 * 6e-8 * 2 * k); // k−1 f32 roundings of sums ≤ 2k
          if (k === 1) assert.ok(y !== ts[0], 'addN of one tensor returns a new tensor');
        });
      }
    }
  });

  s('errors: typed, naming the op and both shapes; failed calls leave memoryStats unchanged', () => {
    tidy(() => {
      const a = tensor(new Float32Array(6), [2, 3]), b = tensor(new Float32Array(8), [2, 4]);
      const ints = tensor([1, 2, 3], [3], 'int32');
      const c3 = tensor([1, 2, 3], [3]), rank7 = tensor([1], [1, 1, 1, 1, 1, 1, 1]);
      const before = memoryStats();
      for (const op of NAMES) {
        throwsTyped(() => OPS[op](a, b), ShapeError, `${op}: shapes [2,3] and [2,4] do not broadcast`, 'axis -1: 3 vs 4');
        throwsTyped(() => OPS[op](a, ints), DTypeError, `${op}: b`, 'int32');
        throwsTyped(() => OPS[op]([1] as never, a), ArgumentError, `${op}: a`, 'Tensor');
        throwsTyped(() => arithmeticBackward(op, a, a, b), ShapeError, `arithmeticBackward(${op})`, '[2,3]', '[2,4]');
        throwsTyped(() => arithmeticBackward(op, b, a, c3), ShapeError, `arithmeticBackward(${op}): dy must have the broadcast shape [2,3]`, 'dy [2,4]');
      }
      throwsTyped(() => add(rank7, a), ShapeError, 'add', 'rank 7', '6');
      throwsTyped(() => arithmeticBackward('pow' as never, a, a, a), ArgumentError, 'arithmeticBackward', 'add, sub, mul, div', '"pow"');
      throwsTyped(() => addN([]), ArgumentError, 'addN', 'non-empty');
      throwsTyped(() => addN([a, b]), ShapeError, 'addN', 'xs[0] [2,3]', 'xs[1] [2,4]');
      throwsTyped(() => addN([a, ints]), DTypeError, 'addN', 'xs[1]');
      assert.equal(memoryStats(), before, 'nothing allocated by failed calls');
      const c = tensor([1, 2, 3], [3]);
      c.dispose();
      throwsTyped(() => mul(a, c), DisposedError, 'mul', 'b');
      throwsTyped(() => addN([a, c]), DisposedError, 'addN', 'xs[1]');
    });
  });

  s('no live tensors remain', () => {
    assert.is(memoryStats().tensors, 0);
  });

  s.run();
}

/** |got − ref| ≤ 3.6e-7·mag + half an ulp of ref (+1e-38 for results near the subnormals). */
function within(got: ArrayLike<number>, ref: ArrayLike<number>, mag: ArrayLike<number>, ctx: string): void {
  assert.is(got.length, ref.length, `${ctx}: length`);
  for (let i = 0; i < ref.length; i++) {
    const tol = 3.6e-7 * Math.abs(mag[i]) + 6e-8 * Math.abs(ref[i]) + 1e-38;
    if (!(Math.abs(got[i] - ref[i]) <= tol)) assert.unreachable(`${ctx}: [${i}] got ${got[i]}, expected ${ref[i]} (tolerance ${tol})`);
  }
}

const plans = suite('arithmetic plans');
plans('the fast paths: what the kernel sees for each common case', () => {
  const p = (out: number[], a: number[], b: number[]) => binaryPlan(out, a, b);
  // Equal shapes: one flat run.
  assert.equal(p([2, 5, 7, 3], [2, 5, 7, 3], [2, 5, 7, 3]), { dims: [210], sa: [1], sb: [1], swapped: false });
  // A per-channel vector ([C] or [1,1,1,C]): rows against one fixed vector.
  assert.equal(p([2, 5, 7, 3], [2, 5, 7, 3], [3]), { dims: [70, 3], sa: [3, 1], sb: [0, 1], swapped: false });
  assert.equal(p([2, 5, 7, 3], [2, 5, 7, 3], [1, 1, 1, 3]), { dims: [70, 3], sa: [3, 1], sb: [0, 1], swapped: false });
  // Squeeze-excitation [N,1,1,C]: N blocks of H·W rows, each against its own vector.
  assert.equal(p([2, 5, 7, 3], [2, 5, 7, 3], [2, 1, 1, 3]), { dims: [2, 35, 3], sa: [105, 3, 1], sb: [3, 0, 1], swapped: false });
  // A scalar: one run against a splat; on the left, swapped (the kernel computes b − a, b / a).
  assert.equal(p([2, 5, 7, 3], [2, 5, 7, 3], []), { dims: [210], sa: [1], sb: [0], swapped: false });
  assert.equal(p([2, 5, 7, 3], [1], [2, 5, 7, 3]), { dims: [210], sa: [1], sb: [0], swapped: true });
  // Broadcast on both sides: the general strided loop (swapped: a is the broadcast one innermost).
  assert.equal(p([2, 5, 6, 3], [2, 1, 6, 1], [1, 5, 1, 3]), { dims: [2, 5, 6, 3], sa: [0, 3, 0, 1], sb: [6, 0, 1, 0], swapped: true });
});
plans.run();

for (const build of BUILDS) buildSuite(build);
