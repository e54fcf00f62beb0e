// node-flags: --experimental-wasm-relaxed-simd
// upSampling2d and upSampling2dBackward (nearest, bilinear with and without alignCorners) against
// float64 references on random shapes, PyTorch goldens (F.interpolate forward and autograd),
// finite differences and the adjoint identity, under every build.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import {
  init, tensor, tidy, memoryStats, type Backend,
  upSampling2d, upSampling2dBackward, ArgumentError, DTypeError, ShapeError,
} from '../src/index.ts';
import { allclose, equalArrays, randArray, randInt, rng, throwsTyped } from './helpers.ts';
import { toTensor, values, type GoldenCase } from './golden/decode.ts';
import * as R from './reference/upsample.ts';
import layerOps from './golden/layer_ops.json';

const BUILDS: Backend[] = ['relaxed-simd', 'simd', 'scalar'];
const goldens = (layerOps as unknown as { cases: GoldenCase[] }).cases.filter((c) => c.op === 'upSampling2d');
const MODES = [['nearest', false], ['bilinear', false], ['bilinear', true]] as const;

function within(got: ArrayLike<number>, ref: ArrayLike<number>, mag: ArrayLike<number>, rtol: number, ctx: string, atol = 0): void {
  assert.is(got.length, ref.length, `${ctx}: length`);
  for (let i = 0; i < ref.length; i++) {
    const tol = rtol * mag[i] + atol;
    if (!(Math.abs(got[i] - ref[i]) <= tol)) assert.unreachable(`${ctx}: [${i}] got ${got[i]}, expected ${ref[i]} (tolerance ${tol})`);
  }
}

function buildSuite(build: Backend): void {
  const s = suite(`upsample (${build})`);
  s.before(async () => {
    assert.is(await init({ backend: build }), build);
  });

  s('forward and backward match the float64 reference (odd sizes, C 1..17, scales 1..4, batch 1..3)', () => {
    const r = rng(97);
    for (let trial = 0; trial < 45; trial++) {
      const shape = [randInt(r, 1, 3), randInt(r, 1, 7), randInt(r, 1, 7), [1, 2, 3, 4, 5, 6, 8, 17][trial % 8]];
      const sh = randInt(r, 1, 4), sw = trial % 3 === 0 ? sh : randInt(r, 1, 4);
      const [mode, align] = MODES[trial % 3];
      const size = sh === sw ? sh : ([sh, sw] as [number, number]);
      const opts = { size, interpolation: mode, alignCorners: mode === 'bilinear' ? align : undefined };
      const x = randArray(r, shape.reduce((a, b) => a * b, 1), -2, 2);
      const ys = [shape[0], shape[1] * sh, shape[2] * sw, shape[3]];
      const dy = randArray(r, ys.reduce((a, b) => a * b, 1), -1, 1);
      const { y, dx } = tidy(() => {
        const out = upSampling2d(tensor(x, shape), opts);
        assert.equal(out.shape, ys);
        return { y: out.toArray(), dx: upSampling2dBackward(tensor(dy, ys), shape, opts).toArray() };
      });
      const ctx = `${build} ${mode}${align ? ' alignCorners' : ''} x [${shape}] size [${sh},${sw}] seed 97 trial ${trial}`;
      if (mode === 'nearest') {
        equalArrays(y, R.upsample(x, shape, sh, sw, mode, false), `${ctx} forward (exact copies)`);
        // Sums of sh·sw terms in f32: (sh·sw)·6e-8 of Σ|dy|.
        within(dx, R.upsampleGrad(dy, shape, sh, sw, mode, false), R.upsampleGrad(dy, shape, sh, sw, mode, false, true), 1e-6, `${ctx} backward`);
      } else {
        // f32 products and sums: a few ulps of Σ|w·x|; plus the f32 source coordinate (as PyTorch rounds
        // it), off by up to 1.2e-7·max(H, W), which moves a weight by that much: × |x1 − x0| ≤ 4 forward,
        // × |dy| ≤ 1 for each of up to (sh + 1)(sw + 1) contributions backward.
        const coord = 1.2e-7 * Math.max(shape[1], shape[2]);
        within(y, R.upsample(x, shape, sh, sw, mode, align), R.upsample(x, shape, sh, sw, mode, align, true), 1e-6, `${ctx} forward`, 4 * coord);
        within(dx, R.upsampleGrad(dy, shape, sh, sw, mode, align), R.upsampleGrad(dy, shape, sh, sw, mode, align, true), 2e-6, `${ctx} backward`, (sh + 1) * (sw + 1) * coord);
      }
    }
  });

  s('PyTorch goldens: F.interpolate nearest / bilinear (alignCorners false and true), output and dx', () => {
    for (const c of goldens) {
      tidy(() => {
        const opts = c.options as never;
        const x = toTensor(c.inputs.x);
        // 1e-5 relative with a 1e-6 floor: f32 weights and sums of at most 9 (nearest) or 4·9 (bilinear dx) terms of size ≤ 4.
        allclose(upSampling2d(x, opts).toArray(), values(c.outputs.output), `${build} ${c.name} output`, 1e-5, 1e-6);
        allclose(upSampling2dBackward(toTensor(c.inputs.dy), x.shape, opts).toArray(), values(c.outputs.dx), `${build} ${c.name} dx`, 1e-5, 1e-6);
      });
    }
    assert.ok(goldens.length >= 30, `${goldens.length} upsampling goldens`);
  });

  s('backward: finite differences and the adjoint identity <up(x), dy> = <x, up*(dy)>', () => {
    const r = rng(101);
    for (const [mode, align] of MODES) {
      for (const [shape, size] of [[[2, 3, 2, 3], 2], [[1, 2, 3, 5], [3, 2]], [[1, 1, 1, 4], 3]] as Array<[number[], number | [number, number]]>) {
        const sh = typeof size === 'number' ? size : size[0], sw = typeof size === 'number' ? size : size[1];
        const opts = { size, interpolation: mode, alignCorners: mode === 'bilinear' ? align : undefined };
        const ys = [shape[0], shape[1] * sh, shape[2] * sw, shape[3]];
        const x = randArray(r, shape.reduce((a, b) => a * b, 1)), rw = randArray(r, ys.reduce((a, b) => a * b, 1));
        const g = tidy(() => upSampling2dBackward(tensor(rw, ys), shape, opts).toArray());
        const L = (p: Float32Array) => tidy(() => {
          const y = upSampling2d(tensor(p, shape), opts).toArray();
          let sum = 0;
          for (let i = 0; i < y.length; i++) sum += y[i] * rw[i];
          return sum;
        });
        // Linear in x: central differences with eps 0.5 are exact up to f32 rounding of the outputs.
        for (let i = 0; i < x.length; i++) {
          const up = x.slice(), down = x.slice();
          up[i] += 0.5;
          down[i] -= 0.5;
          assert.ok(Math.abs(L(up) - L(down) - g[i]) <= 1e-5 * (1 + Math.abs(g[i])), `${build} ${mode} ${align} [${shape}] d/dx[${i}]`);
        }
        let dot = 0;
        for (let i = 0; i < x.length; i++) dot += x[i] * g[i];
        assert.ok(Math.abs(dot - L(x)) <= 1e-5 * (1 + Math.abs(dot)), `${build} ${mode} adjoint ${dot} vs ${L(x)}`);
      }
    }
  });

  s('known values: PyTorch nearest and bilinear on a 2×2 image', () => {
    tidy(() => {
      const x = tensor([1, 2, 3, 4], [1, 2, 2, 1]);
      equalArrays(upSampling2d(x, { size: 2 }).toArray(), [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4], `${build} nearest`);
      // F.interpolate(x, scale_factor=2, mode='bilinear', align_corners=False / True)
      allclose(upSampling2d(x, { size: 2, interpolation: 'bilinear' }).toArray(), [1, 1.25, 1.75, 2, 1.5, 1.75, 2.25, 2.5, 2.5, 2.75, 3.25, 3.5, 3, 3.25, 3.75, 4], `${build} bilinear`, 1e-7, 0);
      // x = 1 + 2·iy + ix is linear, so alignCorners bilinear samples it exactly at iy = oy/3, ix = ox/3.
      const want = Array.from({ length: 16 }, (_, i) => 1 + (2 * Math.floor(i / 4)) / 3 + (i % 4) / 3);
      allclose(upSampling2d(x, { size: 2, interpolation: 'bilinear', alignCorners: true }).toArray(), want, `${build} bilinear alignCorners`, 1e-6, 0);
    });
  });

  s('errors: typed, naming the op; unknown options listed; failed calls allocate nothing', () => {
    tidy(() => {
      const x = tensor(new Float32Array(12), [1, 2, 2, 3]), ints = tensor([1, 2, 3, 4], [1, 1, 1, 4], 'int32'), v = tensor([1], [1]);
      const before = memoryStats();
      throwsTyped(() => upSampling2d(x, { size: 0 }), ArgumentError, 'upSampling2d', 'size', '≥ 1');
      throwsTyped(() => upSampling2d(x, { size: 1.5 }), ArgumentError, 'upSampling2d', 'size');
      throwsTyped(() => upSampling2d(x, { size: [2, 2, 2] } as never), ArgumentError, 'upSampling2d', 'size');
      throwsTyped(() => upSampling2d(x, {} as never), ArgumentError, 'upSampling2d', 'size is required');
      throwsTyped(() => upSampling2d(x, { size: 2, interpolation: 'bicubic' } as never), ArgumentError, 'upSampling2d', "'nearest' or 'bilinear'", '"bicubic"');
      throwsTyped(() => upSampling2d(x, { size: 2, alignCorners: true }), ArgumentError, 'upSampling2d', 'alignCorners', 'bilinear');
      throwsTyped(() => upSampling2d(x, { size: 2, mode: 'nearest' } as never), ArgumentError, 'upSampling2d', "unknown option 'mode'", 'size, interpolation, alignCorners');
      throwsTyped(() => upSampling2d(ints, { size: 2 }), DTypeError, 'upSampling2d', 'x', 'int32');
      throwsTyped(() => upSampling2d(v, { size: 2 }), ShapeError, 'upSampling2d', 'rank 4', '[1]');
      throwsTyped(() => upSampling2dBackward(x, [1, 2, 2, 3], { size: 2 }), ShapeError, 'upSampling2dBackward', 'dy must be [1,4,4,3]', 'dy [1,2,2,3]');
      throwsTyped(() => upSampling2dBackward(x, [1, 2, 2], { size: 2 }), ArgumentError, 'upSampling2dBackward', 'xShape');
      throwsTyped(() => upSampling2dBackward(x, [1, 1, 1, 3], { size: 2, interpolation: 'area' } as never), ArgumentError, 'upSampling2dBackward', 'interpolation');
      assert.equal(memoryStats(), before, 'failed calls allocate nothing');
    });
    assert.is(memoryStats().tensors, 0);
  });

  s.run();
}

for (const build of BUILDS) buildSuite(build);
