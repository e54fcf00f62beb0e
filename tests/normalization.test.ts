// node-flags: --experimental-wasm-relaxed-simd
// batchNorm, batchNormTrain and batchNormBackward against float64 references on random shapes
// (ranks 2..5, odd sizes, channels on and off multiples of 4, batch > 1), PyTorch goldens
// (nn.BatchNorm2d train and eval), finite differences, and identical bits in every build.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  init, tensor, tidy, memoryStats, type Backend, type Tensor,
  batchNorm, batchNormTrain, batchNormBackward, ArgumentError, DTypeError, ShapeError,
} from '../src/index.ts';
import { allclose, randArray, randInt, rng, throwsTyped } from './helpers.ts';
import { toTensor, values, type GoldenCase } from './golden/decode.ts';
import * as R from './reference/normalization.ts';
import layerOps from './golden/layer_ops.json';

const BUILDS: Backend[] = ['relaxed-simd', 'simd', 'scalar'];
const goldens = (layerOps as unknown as { cases: GoldenCase[] }).cases;
const CHANNELS = [1, 2, 3, 4, 5, 8, 17, 33];

/** |got − ref| ≤ rtol·mag[i] + atol: mag is what the float32 rounding scales with. */
function within(got: ArrayLike<number>, ref: ArrayLike<number>, mag: ArrayLike<number>, rtol: number, atol: number, ctx: string): void {
  assert.is(got.length, ref.length, `${ctx}: length`);
  for (let i = 0; i < ref.length; i++) {
    const tol = rtol * mag[i] + atol;
    if (!(Math.abs(got[i] - ref[i]) <= tol)) assert.unreachable(`${ctx}: [${i}] got ${got[i]}, expected ${ref[i]} (tolerance ${tol})`);
  }
}

interface Problem { shape: number[]; C: number; x: Float32Array; dy: Float32Array; gamma: Float32Array | null; beta: Float32Array | null; eps: number; offset: number }

function problem(r: () => number, trial: number): Problem {
  const C = CHANNELS[trial % CHANNELS.length];
  const rank = 2 + (trial % 4);
  const lead = Array.from({ length: rank - 1 }, (_, i) => (i === 0 ? randInt(r, 1, 3) : randInt(r, 1, 7)));
  if (lead.reduce((a, b) => a * b, 1) < 2) lead[lead.length - 1] = 3;
  const shape = [...lead, C];
  const n = shape.reduce((a, b) => a * b, 1);
  const offset = trial % 3 === 2 ? 100 : 0; // |mean| ≫ std: where a one-pass variance fails
  const x = Float32Array.from(randArray(r, n, -2, 2), (v) => v * (1 + (trial % 5)) + offset);
  const affine = trial % 4 !== 1;
  return {
    shape, C, x, dy: randArray(r, n, -1, 1),
    gamma: affine ? randArray(r, C, 0.5, 2) : null, beta: affine ? randArray(r, C, -1, 1) : null,
    eps: trial % 2 ? 1e-3 : 1e-5, offset,
  };
}

function buildSuite(build: Backend): void {
  const s = suite(`normalization (${build})`);
  s.before(async () => {
    assert.is(await init({ backend: build }), build);
  });

  s('batchNormTrain: mean, variance, invStd and output match the float64 reference', () => {
    const r = rng(71);
    for (let trial = 0; trial < 40; trial++) {
      const p = problem(r, trial);
      const ref = R.stats(p.x, p.C);
      const inv = Float64Array.from(ref.variance, (v) => 1 / Math.sqrt(v + p.eps));
      const got = tidy(() => {
        const o = batchNormTrain(tensor(p.x, p.shape), { gamma: p.gamma ? tensor(p.gamma, [p.C]) : undefined, beta: p.beta ? tensor(p.beta, [p.C]) : undefined, epsilon: p.eps });
        assert.equal(o.output.shape, p.shape);
        for (const t of [o.mean, o.variance, o.invStd]) assert.equal(t.shape, [p.C]);
        return { y: o.output.toArray(), mean: o.mean.toArray(), variance: o.variance.toArray(), invStd: o.invStd.toArray() };
      });
      const ctx = `${build} batchNormTrain x [${p.shape}] eps ${p.eps} offset ${p.offset} seed 71 trial ${trial}`;
      // Two f64 passes, rounded once: half an ulp (6e-8) plus f64 noise; 2e-7 relative.
      allclose(got.mean, Float32Array.from(ref.mean), `${ctx} mean`, 2e-7, 1e-30);
      allclose(got.variance, Float32Array.from(ref.variance), `${ctx} variance`, 2e-7, 1e-30);
      allclose(got.invStd, Float32Array.from(inv), `${ctx} invStd`, 2e-7, 0);
      // y = (x − mean)·scale + beta in f32: a few ulps of |x̂·gamma| + |beta|, plus the rounding of the
      // mean (6e-8·|mean|) and of x − mean magnified by scale.
      const yRef = R.normalize(p.x, p.C, ref.mean, ref.variance, p.gamma, p.beta, p.eps);
      const mag = Float64Array.from(p.x, (v, i) => {
        const c = i % p.C, g = p.gamma ? Math.abs(p.gamma[c]) : 1;
        return g * (Math.abs(v - ref.mean[c]) + Math.abs(ref.mean[c]) + Math.abs(v)) * inv[c] + (p.beta ? Math.abs(p.beta[c]) : 0);
      });
      within(got.y, yRef, mag, 3e-7, 0, `${ctx} output`);
    }
  });

  s('batchNorm (inference) matches the float64 reference', () => {
    const r = rng(73);
    for (let trial = 0; trial < 40; trial++) {
      const p = problem(r, trial);
      const mean = Float32Array.from(randArray(r, p.C, -1, 1), (v) => v + p.offset), variance = randArray(r, p.C, 0.1, 3);
      const y = tidy(() => batchNorm(tensor(p.x, p.shape), {
        mean: tensor(mean, [p.C]), variance: tensor(variance, [p.C]), epsilon: p.eps,
        gamma: p.gamma ? tensor(p.gamma, [p.C]) : undefined, beta: p.beta ? tensor(p.beta, [p.C]) : undefined,
      }).toArray());
      const ref = R.normalize(p.x, p.C, mean, variance, p.gamma, p.beta, p.eps);
      // y = x·scale + shift with scale, shift rounded from f64: a few ulps of |x·scale| + |shift|.
      const mag = Float64Array.from(p.x, (v, i) => {
        const c = i % p.C, sc = (p.gamma ? Math.abs(p.gamma[c]) : 1) / Math.sqrt(variance[c] + p.eps);
        return Math.abs(v) * sc + Math.abs(mean[c]) * sc + (p.beta ? Math.abs(p.beta[c]) : 0);
      });
      within(y, ref, mag, 3e-7, 0, `${build} batchNorm x [${p.shape}] eps ${p.eps} seed 73 trial ${trial}`);
    }
  });

  s('batchNormBackward: dx, dgamma, dbeta match the float64 reference', () => {
    const r = rng(79);
    for (let trial = 0; trial < 40; trial++) {
      const p = problem(r, trial);
      const ref = R.grads(p.dy, p.x, p.C, p.gamma, p.eps);
      const got = tidy(() => {
        const f = batchNormTrain(tensor(p.x, p.shape), { epsilon: p.eps });
        const g = batchNormBackward(tensor(p.dy, p.shape), tensor(p.x, p.shape), { gamma: p.gamma ? tensor(p.gamma, [p.C]) : undefined, mean: f.mean, invStd: f.invStd });
        assert.equal(g.dx.shape, p.shape);
        assert.equal(g.dgamma.shape, [p.C]);
        return { dx: g.dx.toArray(), dgamma: g.dgamma.toArray(), dbeta: g.dbeta.toArray() };
      });
      const ctx = `${build} batchNormBackward x [${p.shape}] eps ${p.eps} offset ${p.offset} seed 79 trial ${trial}`;
      const { mean, variance } = R.stats(p.x, p.C);
      const inv = Float64Array.from(variance, (v) => 1 / Math.sqrt(v + p.eps));
      const M = p.x.length / p.C;
      // Sums in f64 of f32 terms: dbeta exact to an ulp; dgamma uses the f32 mean and invStd (6e-8·|mean|·invStd
      // per term) — relative to Σ|dy|·(|x̂| + |mean|·invStd).
      const absDy = new Float64Array(p.C), magG = new Float64Array(p.C);
      for (let i = 0; i < p.x.length; i++) {
        const c = i % p.C;
        absDy[c] += Math.abs(p.dy[i]);
        magG[c] += Math.abs(p.dy[i]) * (Math.abs(p.x[i] - mean[c]) + Math.abs(mean[c])) * inv[c];
      }
      within(got.dbeta, ref.dbeta, absDy, 2e-7, 1e-30, `${ctx} dbeta`);
      within(got.dgamma, ref.dgamma, magG, 3e-7, 1e-30, `${ctx} dgamma`);
      const magX = Float64Array.from(p.x, (v, i) => {
        const c = i % p.C, k = (p.gamma ? Math.abs(p.gamma[c]) : 1) * inv[c];
        return k * (Math.abs(p.dy[i]) + absDy[c] / M + (Math.abs(v - mean[c]) + Math.abs(mean[c])) * inv[c] * magG[c] / M);
      });
      within(got.dx, ref.dx, magX, 5e-7, 0, `${ctx} dx`);
    }
  });

  s('batchNormBackward: finite differences through batchNormTrain (x, gamma, beta)', () => {
    // Central differences, eps 1e-2, of L = Σ r·output in f64 from f32 outputs; forward rounding
    // ≈ 1e-7·|L terms|·n/0.02 ≈ 1e-4 and truncation ≈ eps²·|L'''| ≲ 1e-4: tolerance 1e-3·(1 + |g|).
    const r = rng(83);
    for (const shape of [[3, 2, 5], [2, 3, 3, 4], [4, 1]]) {
      const C = shape[shape.length - 1], n = shape.reduce((a, b) => a * b, 1);
      const x = randArray(r, n, -2, 2), gamma = randArray(r, C, 0.5, 2), beta = randArray(r, C, -1, 1), rw = randArray(r, n, -1, 1);
      const L = (px: Float32Array, pg: Float32Array, pb: Float32Array) => tidy(() => {
        const y = batchNormTrain(tensor(px, shape), { gamma: tensor(pg, [C]), beta: tensor(pb, [C]) }).output.toArray();
        let sum = 0;
        for (let i = 0; i < n; i++) sum += y[i] * rw[i];
        return sum;
      });
      const g = tidy(() => {
        const f = batchNormTrain(tensor(x, shape), { gamma: tensor(gamma, [C]) });
        const b = batchNormBackward(tensor(rw, shape), tensor(x, shape), { gamma: tensor(gamma, [C]), mean: f.mean, invStd: f.invStd });
        return { x: b.dx.toArray(), gamma: b.dgamma.toArray(), beta: b.dbeta.toArray() };
      });
      for (const which of ['x', 'gamma', 'beta'] as const) {
        const base = which === 'x' ? x : which === 'gamma' ? gamma : beta;
        for (let i = 0; i < base.length; i++) {
          const args = (v: number) => {
            const p = base.slice();
            p[i] = v;
            return [which === 'x' ? p : x, which === 'gamma' ? p : gamma, which === 'beta' ? p : beta] as const;
          };
          const up = args(base[i] + 1e-2), down = args(base[i] - 1e-2);
          const fd = (L(...up) - L(...down)) / ((which === 'x' ? up[0] : which === 'gamma' ? up[1] : up[2])[i] - (which === 'x' ? down[0] : which === 'gamma' ? down[1] : down[2])[i]);
          assert.ok(Math.abs(fd - g[which][i]) <= 1e-3 * (1 + Math.abs(g[which][i])), `${build} [${shape}] d/d${which}[${i}]: fd ${fd} vs ${g[which][i]}`);
        }
      }
    }
  });

  s('PyTorch goldens: nn.BatchNorm2d train (output, statistics, dx, dweight, dbias) and eval (rtol 1e-4)', () => {
    let count = 0;
    for (const c of goldens.filter((g) => g.op === 'batchNormTrain' || g.op === 'batchNorm')) {
      tidy(() => {
        const eps = c.options.epsilon as number;
        const gamma = c.inputs.gamma ? toTensor(c.inputs.gamma) : undefined, beta = c.inputs.beta ? toTensor(c.inputs.beta) : undefined;
        const x = toTensor(c.inputs.x);
        // 1e-4 relative, with an absolute floor of 1e-4 for outputs and gradients near 0 (O(1) data).
        const check = (t: Tensor, name: string) => allclose(t.toArray(), values(c.outputs[name]), `${build} ${c.name} ${name}`, 1e-4, 1e-4);
        if (c.op === 'batchNorm') {
          check(batchNorm(x, { mean: toTensor(c.inputs.mean), variance: toTensor(c.inputs.variance), gamma, beta, epsilon: eps }), 'output');
        } else {
          const o = batchNormTrain(x, { gamma, beta, epsilon: eps });
          check(o.output, 'output');
          check(o.mean, 'mean');
          check(o.variance, 'variance');
          check(o.invStd, 'invStd');
          const g = batchNormBackward(toTensor(c.inputs.dy), x, { gamma, mean: o.mean, invStd: o.invStd });
          check(g.dx, 'dx');
          if (c.outputs.dgamma) {
            check(g.dgamma, 'dgamma');
            check(g.dbeta, 'dbeta');
          }
        }
        count++;
      });
    }
    assert.ok(count >= 16, `ran ${count} batch-norm goldens`);
  });

  s('errors: typed, naming the op and argument; unknown options listed; failed calls allocate nothing', () => {
    tidy(() => {
      const x = tensor(new Float32Array(24), [2, 3, 4]), c4 = tensor([1, 1, 1, 1], [4]), c3 = tensor([1, 1, 1], [3]);
      const ints = tensor([1, 2, 3, 4], [4], 'int32'), v1 = tensor([1, 2], [2]), empty0 = tensor([], [0, 4]);
      const before = memoryStats();
      throwsTyped(() => batchNorm(x, { mean: c4, variance: c3 }), ShapeError, 'batchNorm', 'variance must have shape [4]', 'x [2,3,4]', 'variance [3]');
      throwsTyped(() => batchNorm(x, { mean: c4 } as never), ArgumentError, 'batchNorm', 'variance is required');
      throwsTyped(() => batchNorm(x, undefined as never), ArgumentError, 'batchNorm', 'required');
      throwsTyped(() => batchNorm(x, { mean: c4, variance: c4, momentum: 0.9 } as never), ArgumentError, 'batchNorm', "unknown option 'momentum'", 'mean, variance, gamma, beta, epsilon');
      throwsTyped(() => batchNorm(x, { mean: c4, variance: c4, epsilon: -1 }), ArgumentError, 'batchNorm', 'epsilon');
      throwsTyped(() => batchNorm(x, { mean: c4, variance: c4, gamma: ints }), DTypeError, 'batchNorm', 'gamma', 'int32');
      throwsTyped(() => batchNorm(v1, { mean: c4, variance: c4 }), ShapeError, 'batchNorm', 'rank 2 or more', '[2]');
      throwsTyped(() => batchNormTrain(x, { beta: c3 }), ShapeError, 'batchNormTrain', 'beta must have shape [4]');
      throwsTyped(() => batchNormTrain(x, { mean: c4 } as never), ArgumentError, 'batchNormTrain', "unknown option 'mean'", 'gamma, beta, epsilon');
      throwsTyped(() => batchNormTrain(empty0), ShapeError, 'batchNormTrain', 'no elements per channel');
      throwsTyped(() => batchNormBackward(x, x, { mean: c4 } as never), ArgumentError, 'batchNormBackward', 'invStd is required');
      throwsTyped(() => batchNormBackward(c4.shape as never, x, { mean: c4, invStd: c4 }), ArgumentError, 'batchNormBackward', 'dy', 'Tensor');
      throwsTyped(() => batchNormBackward(tensor(new Float32Array(24), [2, 4, 3]), x, { mean: c4, invStd: c4 }), ShapeError, 'batchNormBackward', 'dy [2,4,3]', 'x [2,3,4]');
      throwsTyped(() => batchNormBackward(x, x, { mean: c4, invStd: c4, beta: c4 } as never), ArgumentError, 'batchNormBackward', "unknown option 'beta'", 'gamma, mean, invStd');
      assert.equal(memoryStats().bytes, before.bytes + 24 * 4, 'only the test’s own dy tensor was added');
    });
    assert.is(memoryStats().tensors, 0);
  });

  s.run();
}

for (const build of BUILDS) buildSuite(build);

const across = suite('normalization across builds');
across('every build computes the same bits (statistics, outputs, gradients)', async () => {
  const r = rng(89);
  const shape = [3, 5, 7, 17], n = 3 * 5 * 7 * 17;
  const x = Float32Array.from(randArray(r, n, -3, 3), (v) => v + 10), dy = randArray(r, n), gamma = randArray(r, 17, 0.5, 2), beta = randArray(r, 17);
  const outs: Float32Array[][] = [];
  for (const build of BUILDS) {
    await init({ backend: build });
    outs.push(tidy(() => {
      const f = batchNormTrain(tensor(x, shape), { gamma: tensor(gamma, [17]), beta: tensor(beta, [17]) });
      const g = batchNormBackward(tensor(dy, shape), tensor(x, shape), { gamma: tensor(gamma, [17]), mean: f.mean, invStd: f.invStd });
      const e = batchNorm(tensor(x, shape), { mean: f.mean, variance: f.variance, gamma: tensor(gamma, [17]) });
      return [f.output, f.mean, f.variance, f.invStd, g.dx, g.dgamma, g.dbeta, e].map((t) => t.toArray() as Float32Array);
    }));
  }
  for (let b = 1; b < BUILDS.length; b++) {
    outs[b].forEach((a, i) => assert.ok(a.every((v, j) => Object.is(v, outs[0][i][j])), `${BUILDS[b]} vs ${BUILDS[0]}: output ${i}`));
  }
});
across.run();
