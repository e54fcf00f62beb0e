// node-flags: --experimental-wasm-relaxed-simd
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  init, backend, tensor, tidy, memoryStats, type Tensor, type Backend,
  maxPool2d, avgPool2d, lpPool2d, mixedPool2d, globalAvgPool2d, globalMaxPool2d, adaptiveAvgPool2d, adaptiveMaxPool2d,
  maxPool2dBackward, avgPool2dBackward, lpPool2dBackward, mixedPool2dBackward, globalAvgPool2dBackward,
  globalMaxPool2dBackward, adaptiveAvgPool2dBackward,
  ShapeError, ArgumentError, DTypeError, DisposedError,
} from '../src/index.ts';
import { rng, randInt, randArray, allclose, equalArrays, throwsTyped } from './helpers.ts';
import * as ref from './reference/pool.ts';
import type { PadPairs, Shape4, Window } from './reference/pool.ts';

// The pooling gradients against the float64 chain-rule loops in tests/reference/pool.ts on seeded
// random shapes, then against finite differences through the forward ops.
// Tolerance against the reference: rtol 1e-5, atol 1e-5 — a dx element is an f32 sum of at most
// 16 terms (window 4, stride 1) of magnitude ≤ 1, summed in output order; Lp with general p uses
// rtol 1e-4 (f32 y, and |x|^(p−1) large near 0 for p < 1).
const RTOL = 1e-5, ATOL = 1e-5;

// Below, at and above the kernels' 4-channel SIMD block (the rest is the scalar tail).
const CHANNELS = [1, 3, 4, 5, 8, 13, 21];

test.before(async () => {
  await init();
});

type Pair = [number, number];
type PaddingOpt = undefined | 'valid' | 'same' | number | PadPairs;
type DataKind = 'float' | 'ties' | 'special' | 'distinct';

interface Case {
  shape: Shape4;
  window: Window;
  opts: { size: number | Pair; strides?: number | Pair; padding?: PaddingOpt; ceilMode?: boolean };
  x: Float32Array;
  kind: DataKind;
  ctx: string;
}

const size4 = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** Mostly odd sizes, some even. */
function side(r: () => number, max = 5): number {
  return r() < 0.7 ? 2 * randInt(r, 0, max) + 1 : 2 * randInt(r, 1, max);
}

/**
 * 'ties': small integers; 'special': NaN, ±Infinity among integers; 'distinct': a shuffle of
 * values 0.05 apart, so no window holds two values within a finite-difference step of each other.
 */
function randomData(r: () => number, n: number, kind: DataKind): Float32Array {
  if (kind === 'float') return randArray(r, n);
  const a = new Float32Array(n);
  if (kind === 'distinct') {
    for (let i = 0; i < n; i++) a[i] = (i - n / 2) * 0.05;
    for (let i = n - 1; i > 0; i--) { const j = randInt(r, 0, i); [a[i], a[j]] = [a[j], a[i]]; }
    return a;
  }
  for (let i = 0; i < n; i++) {
    if (kind === 'ties') { a[i] = randInt(r, -2, 2); continue; }
    const u = r();
    a[i] = u < 0.08 ? NaN : u < 0.12 ? Infinity : u < 0.16 ? -Infinity : randInt(r, -3, 3);
  }
  return a;
}

/** A random window over a random input: sizes 1–4, strides 1–3 (overlapping or not), every padding mode, ceil mode both. */
function randomCase(seed: number, kind: DataKind, allowPadding = true, channels = CHANNELS, maxSide = 5): Case {
  const r = rng(seed);
  for (;;) {
    const shape: Shape4 = [randInt(r, 1, 3), side(r, maxSide), side(r, maxSide), channels[randInt(r, 0, channels.length - 1)]];
    const k: Pair = [randInt(r, 1, 4), randInt(r, 1, 4)];
    const defaultStrides = r() < 0.25;
    const s: Pair = defaultStrides ? k : [randInt(r, 1, 3), randInt(r, 1, 3)];
    let padding: PaddingOpt;
    let pads: PadPairs = [[0, 0], [0, 0]];
    switch (allowPadding ? randInt(r, 0, 4) : 0) {
      case 1: padding = 'valid'; break;
      case 2: padding = 'same'; pads = [ref.samePads(shape[1], k[0], s[0]), ref.samePads(shape[2], k[1], s[1])]; break;
      case 3: { const p = randInt(r, 0, Math.min(k[0], k[1]) - 1); padding = p; pads = [[p, p], [p, p]]; break; }
      case 4:
        pads = [[randInt(r, 0, k[0] - 1), randInt(r, 0, k[0] - 1)], [randInt(r, 0, k[1] - 1), randInt(r, 0, k[1] - 1)]];
        padding = pads;
        break;
    }
    if (shape[1] + pads[0][0] + pads[0][1] < k[0] || shape[2] + pads[1][0] + pads[1][1] < k[1]) continue;
    if (pads.flat().some((p, i) => p >= k[i >> 1])) continue;
    const ceilMode = allowPadding && r() < 0.5;
    const opts: Case['opts'] = { size: k[0] === k[1] && r() < 0.5 ? k[0] : k };
    if (!defaultStrides) opts.strides = s[0] === s[1] && r() < 0.5 ? s[0] : s;
    if (padding !== undefined) opts.padding = padding;
    if (ceilMode || r() < 0.3) opts.ceilMode = ceilMode;
    const x = randomData(r, size4(shape), kind);
    const window: Window = { kh: k[0], kw: k[1], sh: s[0], sw: s[1], pads, ceilMode };
    return { shape, window, opts, x, kind, ctx: `seed ${seed} (${kind}) x [${shape}] ${JSON.stringify(opts)}` };
  }
}

/** A random adaptive case: output smaller, equal or larger than the input. */
function adaptiveCase(seed: number, kind: DataKind): { shape: Shape4; oh: number; ow: number; outputSize: number | Pair; x: Float32Array; ctx: string } {
  const r = rng(seed);
  const shape: Shape4 = [randInt(r, 1, 3), side(r), side(r), CHANNELS[randInt(r, 0, CHANNELS.length - 1)]];
  const oh = randInt(r, 1, shape[1] + 3), ow = randInt(r, 1, shape[2] + 3);
  const outputSize: number | Pair = oh === ow && r() < 0.5 ? oh : [oh, ow];
  const x = randomData(r, size4(shape), kind);
  return { shape, oh, ow, outputSize, x, ctx: `seed ${seed} (${kind}) x [${shape}] outputSize ${JSON.stringify(outputSize)}` };
}

// ---- against the float64 reference ----

test('maxPool2dBackward: dx[indices[i]] += dy[i] with maxPool2d\'s indices (every padding mode, overlapping windows, ceil mode)', () => {
  for (let i = 0; i < 300; i++) {
    const c = randomCase(11000 + i, (['float', 'ties', 'special'] as const)[i % 3]);
    tidy(() => {
      const { output, indices } = maxPool2d(tensor(c.x, c.shape), { ...c.opts, returnIndices: true });
      const dyd = randArray(rng(i), output.size);
      const dx = maxPool2dBackward(tensor(dyd, output.shape), indices, c.shape);
      assert.equal(dx.shape, c.shape, c.ctx);
      const want = ref.maxPoolBackward(dyd, ref.maxPool(c.x, c.shape, c.window).indices, c.shape);
      allclose(dx.toArray(), want, c.ctx, RTOL, ATOL);
      // The same gradient read straight from the windows (first max, first NaN), not via indices.
      allclose(dx.toArray(), ref.maxPoolGrad(c.x, c.shape, c.window, dyd), `${c.ctx} (from windows)`, RTOL, ATOL);
    });
  }
});

test('maxPool2dBackward with adaptiveMaxPool2d\'s indices is adaptive max pooling\'s gradient (bins overlap when the output is larger)', () => {
  for (let i = 0; i < 150; i++) {
    const c = adaptiveCase(12000 + i, (['float', 'ties', 'special'] as const)[i % 3]);
    tidy(() => {
      const { output, indices } = adaptiveMaxPool2d(tensor(c.x, c.shape), { outputSize: c.outputSize, returnIndices: true });
      const dyd = randArray(rng(i), output.size);
      const dx = maxPool2dBackward(tensor(dyd, output.shape), indices, c.shape);
      allclose(dx.toArray(), ref.adaptiveMaxPoolGrad(c.x, c.shape, c.oh, c.ow, dyd), c.ctx, RTOL, ATOL);
    });
  }
});

test('maxPool2dBackward: hand-worked overlapping windows accumulate', () => {
  // 1×3×3×1, window 2, stride 1: the centre (4) is the max of all four windows.
  tidy(() => {
    const x = tensor([0, 1, 0, 1, 4, 1, 0, 1, 0], [1, 3, 3, 1]);
    const { indices } = maxPool2d(x, { size: 2, strides: 1, returnIndices: true });
    equalArrays(indices.toArray(), [4, 4, 4, 4], 'indices');
    const dx = maxPool2dBackward(tensor([1, 2, 3, 4], [1, 2, 2, 1]), indices, [1, 3, 3, 1]);
    equalArrays(dx.toArray(), [0, 0, 0, 0, 10, 0, 0, 0, 0], 'dx');
  });
});

test('avgPool2dBackward spreads dy / divisor (countIncludePad both, ceil mode, every padding mode)', () => {
  for (let i = 0; i < 300; i++) {
    const c = randomCase(13000 + i, 'float');
    for (const countIncludePad of [false, true]) {
      tidy(() => {
        const y = avgPool2d(tensor(c.x, c.shape), { ...c.opts, countIncludePad });
        const dyd = randArray(rng(i), y.size);
        const dx = avgPool2dBackward(tensor(dyd, y.shape), c.shape, { ...c.opts, countIncludePad });
        assert.equal(dx.shape, c.shape, c.ctx);
        allclose(dx.toArray(), ref.avgPoolBackward(dyd, c.shape, c.window, countIncludePad), `${c.ctx} countIncludePad ${countIncludePad}`, RTOL, ATOL);
      });
    }
  }
});

test('avgPool2dBackward: hand-worked divisors (padding 1, ceil mode, countIncludePad)', () => {
  tidy(() => {
    // 1×3×3×1, window 2, stride 2, padding 1, ceil mode: windows {0}, {1,2}, {3,6}, {4,5,7,8}.
    const dy = tensor([4, 4, 4, 4], [1, 2, 2, 1]);
    const incl = avgPool2dBackward(dy, [1, 3, 3, 1], { size: 2, padding: 1, ceilMode: true, countIncludePad: true });
    equalArrays(incl.toArray(), [1, 1, 1, 1, 1, 1, 1, 1, 1], 'countIncludePad: divisor 4 everywhere');
    const excl = avgPool2dBackward(dy, [1, 3, 3, 1], { size: 2, padding: 1, ceilMode: true });
    equalArrays(excl.toArray(), [4, 2, 2, 2, 1, 1, 2, 1, 1], 'valid elements');
  });
});

test('adaptiveAvgPool2dBackward: PyTorch bins, output smaller, equal or larger than the input', () => {
  for (let i = 0; i < 200; i++) {
    const c = adaptiveCase(14000 + i, 'float');
    tidy(() => {
      const dyd = randArray(rng(i), c.shape[0] * c.oh * c.ow * c.shape[3]);
      const dx = adaptiveAvgPool2dBackward(tensor(dyd, [c.shape[0], c.oh, c.ow, c.shape[3]]), c.shape, { outputSize: c.outputSize });
      assert.equal(dx.shape, c.shape, c.ctx);
      allclose(dx.toArray(), ref.adaptiveAvgPoolBackward(dyd, c.shape, c.oh, c.ow), c.ctx, RTOL, ATOL);
    });
  }
});

test('globalAvgPool2dBackward / globalMaxPool2dBackward: dy [N, C] or [N, 1, 1, C]; global max re-finds the first max / first NaN', () => {
  for (let i = 0; i < 90; i++) {
    const c = adaptiveCase(15000 + i, (['float', 'ties', 'special'] as const)[i % 3]);
    const [N, , , C] = c.shape;
    const dyd = randArray(rng(i), N * C);
    tidy(() => {
      const x = tensor(c.x, c.shape);
      for (const dyShape of [[N, C], [N, 1, 1, C]]) {
        const dy = tensor(dyd, dyShape);
        const ctx = `${c.ctx} dy [${dyShape}]`;
        const avg = globalAvgPool2dBackward(dy, c.shape);
        assert.equal(avg.shape, c.shape, ctx);
        allclose(avg.toArray(), ref.adaptiveAvgPoolBackward(dyd, c.shape, 1, 1), ctx, RTOL, ATOL);
        const max = globalMaxPool2dBackward(x, dy);
        assert.equal(max.shape, c.shape, ctx);
        equalArrays(max.toArray(), ref.adaptiveMaxPoolGrad(c.x, c.shape, 1, 1, dyd), ctx); // one term each: exact
        // Same as routing adaptive [1, 1] max pooling's indices through maxPool2dBackward.
        const { indices } = adaptiveMaxPool2d(x, { outputSize: 1, returnIndices: true });
        equalArrays(max.toArray(), maxPool2dBackward(tensor(dyd, [N, 1, 1, C]), indices, c.shape).toArray(), ctx);
      }
    });
  }
});

test('lpPool2dBackward: sign(x)·|x|^(p−1)·y^(1−p)·dy for p = 1, 2 (SIMD paths) and 0.5, 1.5, 3 (general)', () => {
  let i = 0;
  for (const p of [1, 2, 0.5, 1.5, 3]) {
    for (let j = 0; j < 40; j++, i++) {
      const c = randomCase(16000 + i, 'float', false);
      const { kh, kw, sh, sw } = c.window;
      const opts = { p, size: c.opts.size, strides: c.opts.strides };
      tidy(() => {
        const x = tensor(c.x, c.shape);
        const y = lpPool2d(x, opts);
        const dyd = randArray(rng(i), y.size);
        const dx = lpPool2dBackward(x, y, tensor(dyd, y.shape), opts);
        assert.equal(dx.shape, c.shape, c.ctx);
        // p = 1 is exact up to the sum; others go through the f32 y.
        allclose(dx.toArray(), ref.lpPoolBackward(c.x, c.shape, kh, kw, sh, sw, p, dyd), `${c.ctx} p ${p}`, p === 1 || p === 2 ? RTOL : 1e-4, ATOL);
      });
    }
  }
});

test('lpPool2dBackward: the 0/0 and 0·∞ cases are 0 (x = 0, or an all-zero window)', () => {
  tidy(() => {
    // Two 2×1 windows over one channel: [0, 0] (y = 0) and [0, 3] (x = 0 next to a non-zero).
    const x = tensor([0, 0, 0, 3], [1, 4, 1, 1]);
    for (const p of [1, 2, 0.5, 1.5, 3]) {
      const y = lpPool2d(x, { p, size: [2, 1] });
      const dx = lpPool2dBackward(x, y, tensor([1, 1], [1, 2, 1, 1]), { p, size: [2, 1] });
      equalArrays(dx.toArray(), [0, 0, 0, 1], `p ${p}`); // ∂|3|/∂x = 1 for every p (a single non-zero)
    }
    // p = 2 by hand: y = 5 for [3, -4]; dx = x / y · dy.
    const x2 = tensor([3, -4], [1, 2, 1, 1]);
    const y2 = lpPool2d(x2, { p: 2, size: [2, 1] });
    allclose(lpPool2dBackward(x2, y2, tensor([10], [1, 1, 1, 1]), { p: 2, size: [2, 1] }).toArray(), [6, -8], 'p 2', 1e-6, 0);
    // p = 1: sign(x)·dy, and NaN propagates.
    const x1 = tensor([2, -0.5, NaN, 0], [1, 4, 1, 1]);
    const y1 = lpPool2d(x1, { p: 1, size: [4, 1] });
    equalArrays(lpPool2dBackward(x1, y1, tensor([3], [1, 1, 1, 1]), { p: 1, size: [4, 1] }).toArray(), [3, -3, NaN, 0], 'p 1');
  });
});

test('mixedPool2dBackward = λ·max gradient + (1−λ)·avg gradient; λ = 1 and λ = 0 are exactly those', () => {
  for (let i = 0; i < 150; i++) {
    const c = randomCase(17000 + i, (['float', 'ties', 'special'] as const)[i % 3]);
    const r = rng(17000 + i);
    const lambda = [0, 1, 0.5, r()][i % 4];
    const countIncludePad = r() < 0.5;
    const opts = { ...c.opts, lambda, countIncludePad };
    const ctx = `${c.ctx} lambda ${lambda} countIncludePad ${countIncludePad}`;
    tidy(() => {
      const x = tensor(c.x, c.shape);
      const y = mixedPool2d(x, opts);
      const dyd = randArray(r, y.size);
      const dy = tensor(dyd, y.shape);
      const dx = mixedPool2dBackward(x, dy, opts);
      assert.equal(dx.shape, c.shape, ctx);
      allclose(dx.toArray(), ref.mixedPoolBackward(c.x, c.shape, c.window, lambda, countIncludePad, dyd), ctx, RTOL, ATOL);
      if (lambda === 1) {
        const { indices } = maxPool2d(x, { ...c.opts, returnIndices: true });
        equalArrays(dx.toArray(), maxPool2dBackward(dy, indices, c.shape).toArray(), ctx);
      }
      if (lambda === 0) equalArrays(dx.toArray(), avgPool2dBackward(dy, c.shape, { ...c.opts, countIncludePad }).toArray(), ctx);
    });
  }
});

test('SIMD blocks and the scalar tail agree bit for bit (every channel the same image and dy)', () => {
  // 21 channels = five 4-channel blocks + one tail channel; every channel's dx must be the same bits.
  const C = 21;
  const widen = (a: ArrayLike<number>, pixels: number, from: number): Float32Array => {
    const out = new Float32Array(pixels * C);
    for (let p = 0; p < pixels; p++) out.fill(a[p * from], p * C, (p + 1) * C);
    return out;
  };
  for (let i = 0; i < 60; i++) {
    const base = randomCase(18000 + i, (['float', 'ties', 'special'] as const)[i % 3]);
    const [N, H, W, C0] = base.shape;
    const shape: Shape4 = [N, H, W, C];
    const x = widen(base.x, N * H * W, C0);
    tidy(() => {
      const xt = tensor(x, shape);
      const { output, indices } = maxPool2d(xt, { ...base.opts, returnIndices: true });
      const [, OH, OW] = output.shape;
      const dyd = widen(randArray(rng(i), N * OH * OW), N * OH * OW, 1);
      const dy = tensor(dyd, output.shape);
      const results: Array<[string, Float32Array | Int32Array]> = [
        ['maxPool2dBackward', maxPool2dBackward(dy, indices, shape).toArray()],
        ['avgPool2dBackward', avgPool2dBackward(dy, shape, { ...base.opts, countIncludePad: i % 2 === 0 }).toArray()],
        ['mixedPool2dBackward', mixedPool2dBackward(xt, dy, { ...base.opts, lambda: 0.3 }).toArray()],
        ['globalMaxPool2dBackward', globalMaxPool2dBackward(xt, tensor(dyd.subarray(0, N * C), [N, C])).toArray()],
      ];
      if (base.window.kh <= H && base.window.kw <= W) { // Lp pooling has no padding
        for (const p of [1, 2, 3]) {
          const opts = { p, size: base.opts.size, strides: base.opts.strides };
          const y = lpPool2d(xt, opts);
          const dyl = tensor(widen(randArray(rng(i + 1), y.size / C), y.size / C, 1), y.shape);
          results.push([`lpPool2dBackward p ${p}`, lpPool2dBackward(xt, y, dyl, opts).toArray()]);
        }
      }
      for (const [name, a] of results) {
        for (let o = 0; o < a.length; o += C) {
          for (let c = 1; c < C; c++) {
            if (!Object.is(a[o + c], a[o])) {
              assert.unreachable(`${base.ctx} ${name}: channel ${c} gives ${a[o + c]}, channel 0 gives ${a[o]} (pixel ${o / C})`);
            }
          }
        }
      }
    });
  }
});

// ---- finite differences through the forward ops ----

/**
 * Central differences of L(x) = Σ forward(x) ⊙ r (summed in float64) at every element of x,
 * against the gradient op's dx for dy = r. eps 1e-2. Max, average and mixed pooling are linear
 * where the argmax is stable (inputs 0.05 apart, so a step of 1e-2 never changes it), so only the
 * f32 rounding of the ≤ 16 outputs an element touches remains (≈ 16·6e-8·|y| / 2e-2 ≈ 1e-4);
 * Lp adds the O(eps²) curvature term. Tolerance 1e-3 + 2e-3·|dx|.
 */
function fdCheck(name: string, xd: Float32Array, shape: number[], forward: (x: Tensor) => Tensor, dx: ArrayLike<number>, r: Float32Array): void {
  const eps = 1e-2;
  const L = (p: Float32Array): number => tidy(() => {
    const y = forward(tensor(p, shape)).toArray();
    let s = 0;
    for (let i = 0; i < y.length; i++) s += y[i] * r[i];
    return s;
  });
  const p = xd.slice();
  for (let i = 0; i < xd.length; i++) {
    p[i] = xd[i] + eps;
    const hi = p[i], up = L(p);
    p[i] = xd[i] - eps;
    const lo = p[i], down = L(p);
    p[i] = xd[i];
    const fd = (up - down) / (hi - lo); // the step actually taken (x ± eps rounded to f32)
    if (!(Math.abs(fd - dx[i]) <= 1e-3 + 2e-3 * Math.abs(dx[i]))) {
      assert.unreachable(`${name}: ∂L/∂x[${i}] finite difference ${fd} vs op ${dx[i]}`);
    }
  }
}

/** The forward's output shape and a random dy for it. */
function dyFor(forward: (x: Tensor) => Tensor, xd: Float32Array, shape: number[], r: () => number): { dy: Float32Array; dyShape: number[] } {
  return tidy(() => {
    const y = forward(tensor(xd, shape));
    return { dy: randArray(r, y.size), dyShape: [...y.shape] };
  });
}

test('finite differences: maxPool2d, adaptiveMaxPool2d, globalMaxPool2d (no near-ties), through their indices', () => {
  for (let i = 0; i < 12; i++) {
    const c = randomCase(19000 + i, 'distinct', true, [1, 3, 4, 5], 3);
    const r = rng(19000 + i);
    const shape = [...c.shape];
    const fwd = (x: Tensor) => maxPool2d(x, c.opts);
    const { dy, dyShape } = dyFor(fwd, c.x, shape, r);
    const dx = tidy(() => {
      const { indices } = maxPool2d(tensor(c.x, shape), { ...c.opts, returnIndices: true });
      return maxPool2dBackward(tensor(dy, dyShape), indices, shape).toArray();
    });
    fdCheck(`maxPool2d ${c.ctx}`, c.x, shape, fwd, dx, dy);
  }
  for (let i = 0; i < 8; i++) {
    const a = adaptiveCase(19100 + i, 'distinct');
    const shape = [...a.shape];
    const r = rng(19100 + i);
    const fwd = (x: Tensor) => adaptiveMaxPool2d(x, { outputSize: a.outputSize });
    const { dy, dyShape } = dyFor(fwd, a.x, shape, r);
    const dx = tidy(() => {
      const { indices } = adaptiveMaxPool2d(tensor(a.x, shape), { outputSize: a.outputSize, returnIndices: true });
      return maxPool2dBackward(tensor(dy, dyShape), indices, shape).toArray();
    });
    fdCheck(`adaptiveMaxPool2d ${a.ctx}`, a.x, shape, fwd, dx, dy);
    const gdy = randArray(r, shape[0] * shape[3]);
    const gdx = tidy(() => globalMaxPool2dBackward(tensor(a.x, shape), tensor(gdy, [shape[0], shape[3]])).toArray());
    fdCheck(`globalMaxPool2d ${a.ctx}`, a.x, shape, (x) => globalMaxPool2d(x), gdx, gdy);
  }
});

test('finite differences: avgPool2d (countIncludePad both), adaptiveAvgPool2d, globalAvgPool2d', () => {
  for (let i = 0; i < 12; i++) {
    const c = randomCase(19200 + i, 'float', true, [1, 3, 4, 5], 3);
    const shape = [...c.shape];
    const r = rng(19200 + i);
    for (const countIncludePad of [false, true]) {
      const opts = { ...c.opts, countIncludePad };
      const fwd = (x: Tensor) => avgPool2d(x, opts);
      const { dy, dyShape } = dyFor(fwd, c.x, shape, r);
      const dx = tidy(() => avgPool2dBackward(tensor(dy, dyShape), shape, opts).toArray());
      fdCheck(`avgPool2d ${c.ctx} countIncludePad ${countIncludePad}`, c.x, shape, fwd, dx, dy);
    }
  }
  for (let i = 0; i < 8; i++) {
    const a = adaptiveCase(19300 + i, 'float');
    const shape = [...a.shape];
    const r = rng(19300 + i);
    const fwd = (x: Tensor) => adaptiveAvgPool2d(x, { outputSize: a.outputSize });
    const { dy, dyShape } = dyFor(fwd, a.x, shape, r);
    const dx = tidy(() => adaptiveAvgPool2dBackward(tensor(dy, dyShape), shape, { outputSize: a.outputSize }).toArray());
    fdCheck(`adaptiveAvgPool2d ${a.ctx}`, a.x, shape, fwd, dx, dy);
    const gdy = randArray(r, shape[0] * shape[3]);
    const gdx = tidy(() => globalAvgPool2dBackward(tensor(gdy, [shape[0], 1, 1, shape[3]]), shape).toArray());
    fdCheck(`globalAvgPool2d ${a.ctx}`, a.x, shape, (x) => globalAvgPool2d(x, { keepDims: true }), gdx, gdy);
  }
});

test('finite differences: lpPool2d (p = 1, 2, 0.5, 1.5, 3; inputs at least 0.25 from 0) and mixedPool2d (no near-ties)', () => {
  let i = 0;
  for (const p of [1, 2, 0.5, 1.5, 3]) {
    for (let j = 0; j < 4; j++, i++) {
      const c = randomCase(19400 + i, 'float', false, [1, 3, 4, 5], 3);
      const r = rng(19400 + i);
      const xd = c.x.map((v) => Math.sign(v || 1) * (0.25 + 0.75 * Math.abs(v)));
      const shape = [...c.shape];
      const opts = { p, size: c.opts.size, strides: c.opts.strides };
      const fwd = (x: Tensor) => lpPool2d(x, opts);
      const { dy, dyShape } = dyFor(fwd, xd, shape, r);
      const dx = tidy(() => {
        const x = tensor(xd, shape);
        return lpPool2dBackward(x, lpPool2d(x, opts), tensor(dy, dyShape), opts).toArray();
      });
      fdCheck(`lpPool2d p ${p} ${c.ctx}`, xd, shape, fwd, dx, dy);
    }
  }
  for (let j = 0; j < 12; j++) {
    const c = randomCase(19500 + j, 'distinct', true, [1, 3, 4, 5], 3);
    const r = rng(19500 + j);
    const shape = [...c.shape];
    const opts = { ...c.opts, lambda: [0.3, 1, 0, r()][j % 4], countIncludePad: j % 3 === 0 };
    const fwd = (x: Tensor) => mixedPool2d(x, opts);
    const { dy, dyShape } = dyFor(fwd, c.x, shape, r);
    const dx = tidy(() => mixedPool2dBackward(tensor(c.x, shape), tensor(dy, dyShape), opts).toArray());
    fdCheck(`mixedPool2d ${c.ctx} lambda ${opts.lambda}`, c.x, shape, fwd, dx, dy);
  }
});

// ---- errors and memory ----

test('maxPool2dBackward: an index outside its image or channel is an ArgumentError naming its position, never a write', () => {
  const before = memoryStats().tensors;
  // x [2, 3, 3, 5]: 5 channels = one SIMD block (0–3) and one tail channel (4); dy [2, 1, 1, 5].
  const xShape = [2, 3, 3, 5];
  const HWC = 45;
  const good = (n: number, c: number) => n * HWC + 4 * 5 + c; // the centre pixel
  const dy = tensor(new Float32Array(10).fill(1), [2, 1, 1, 5]);
  const sentinelBefore = tensor(new Float32Array(64).fill(7), [64]);
  const cases: Array<[string, number, number]> = [
    // [what, flat position in dy, bad value]
    ['past the end', 7, 2 * HWC],
    ['negative', 1, -1],
    ['huge', 9, 0x7fffffff],
    ['another channel (SIMD block)', 2, good(0, 3)],
    ['another channel (scalar tail)', 4, good(0, 0)],
    ['another image', 6, good(0, 1)],
    ['next image, same channel', 3, good(1, 3)],
  ];
  for (const [what, pos, value] of cases) {
    const idx = new Int32Array(10);
    for (let k = 0; k < 10; k++) idx[k] = good(Math.floor(k / 5), k % 5);
    idx[pos] = value;
    const indices = tensor(idx, [2, 1, 1, 5], 'int32');
    const n = Math.floor(pos / 5), c = pos % 5;
    throwsTyped(() => maxPool2dBackward(dy, indices, xShape), ArgumentError,
      'maxPool2dBackward', `indices[${n},0,0,${c}] = ${value}`, `image ${n}, channel ${c}`, '[2,3,3,5]');
    indices.dispose();
    assert.is(memoryStats().tensors, before + 2, what);
  }
  const sentinelAfter = tensor(new Float32Array(64).fill(9), [64]);
  equalArrays(sentinelBefore.toArray(), new Float32Array(64).fill(7), 'memory before dx untouched');
  equalArrays(sentinelAfter.toArray(), new Float32Array(64).fill(9), 'memory after untouched');
  // The valid indices still work after the errors.
  const idx = new Int32Array(10);
  for (let k = 0; k < 10; k++) idx[k] = good(Math.floor(k / 5), k % 5);
  tidy(() => {
    const dx = maxPool2dBackward(dy, tensor(idx, [2, 1, 1, 5], 'int32'), xShape).toArray();
    for (let k = 0; k < 10; k++) assert.is(dx[idx[k]], 1);
  });
  for (const t of [dy, sentinelBefore, sentinelAfter]) t.dispose();
  assert.is(memoryStats().tensors, before);
});

test('bad arguments throw typed errors naming the op, the argument and the shapes', () => {
  const before = memoryStats().tensors;
  const bad = (v: unknown) => v as never;
  const x = tensor(randArray(rng(3), 2 * 4 * 4 * 3), [2, 4, 4, 3]);
  const dy = tensor(new Float32Array(2 * 2 * 2 * 3), [2, 2, 2, 3]);
  const idx = tensor(new Int32Array(2 * 2 * 2 * 3), [2, 2, 2, 3], 'int32');
  const idx3 = tensor(new Int32Array(2 * 2 * 3), [2, 2, 3], 'int32');
  const dyi = tensor(new Int32Array(24), [2, 2, 2, 3], 'int32');
  const dy3 = tensor(new Float32Array(12), [2, 2, 3]);
  const g2 = tensor(new Float32Array(6), [2, 3]);
  const idx4 = tensor(new Int32Array(24), [2, 2, 3, 2], 'int32');
  const dy4 = tensor(new Float32Array(12), [2, 2, 1, 3]);

  // maxPool2dBackward
  throwsTyped(() => maxPool2dBackward(dy, dy, [2, 4, 4, 3]), DTypeError, 'maxPool2dBackward', 'indices', 'int32', 'float32');
  throwsTyped(() => maxPool2dBackward(dy, idx3, [2, 4, 4, 3]), ShapeError, 'maxPool2dBackward', 'indices', 'rank 4', '[2,2,3]');
  throwsTyped(() => maxPool2dBackward(dy, idx4, [2, 4, 4, 3]), ShapeError, 'maxPool2dBackward', 'indices', "dy's shape [2,2,2,3]", '[2,2,3,2]');
  throwsTyped(() => maxPool2dBackward(dy, idx, [2, 4, 4, 5]), ShapeError, 'maxPool2dBackward', 'channels 5', '[2,4,4,5]', '[2,2,2,3]');
  throwsTyped(() => maxPool2dBackward(dy, idx, [1, 4, 4, 3]), ShapeError, 'maxPool2dBackward', 'batch 1');
  throwsTyped(() => maxPool2dBackward(dyi, idx, [2, 4, 4, 3]), DTypeError, 'maxPool2dBackward', 'dy', 'float32');
  throwsTyped(() => maxPool2dBackward(dy3, idx, [2, 4, 4, 3]), ShapeError, 'maxPool2dBackward', 'dy', 'rank 4', '[2,2,3]');
  for (const xShape of [[2, 4, 4], [2, 0, 4, 3], [2, 4, 4, 1.5], [2, 4, -4, 3], 'x', undefined]) {
    throwsTyped(() => maxPool2dBackward(dy, idx, bad(xShape)), ArgumentError, 'maxPool2dBackward', 'xShape');
  }
  throwsTyped(() => maxPool2dBackward(bad([1, 2]), idx, [2, 4, 4, 3]), ArgumentError, 'maxPool2dBackward', 'dy', 'Tensor');

  // avgPool2dBackward
  throwsTyped(() => avgPool2dBackward(dy, [2, 4, 4, 3], { size: 3 }), ShapeError, 'avgPool2dBackward', 'dy must be [2,1,1,3]', 'x [2,4,4,3]', '[2,2,2,3]');
  throwsTyped(() => avgPool2dBackward(dy, [2, 4, 4, 3], { size: 5 }), ShapeError, 'avgPool2dBackward', 'window height 5', '(x [2,4,4,3])');
  throwsTyped(() => avgPool2dBackward(dy, [2, 4, 4, 3], { size: 2, padding: 2 }), ArgumentError, 'avgPool2dBackward', 'padding 2', '(x [2,4,4,3])');
  throwsTyped(() => avgPool2dBackward(dy, [2, 4, 4, 3], bad({})), ArgumentError, 'avgPool2dBackward', 'size is required');
  throwsTyped(() => avgPool2dBackward(dy, [2, 4, 4, 3], bad({ size: 2, stride: 2 })), ArgumentError, 'avgPool2dBackward', "unknown option 'stride'");
  throwsTyped(() => avgPool2dBackward(dy, [2, 4, 4, 3], { size: 2, countIncludePad: bad('yes') }), ArgumentError, 'avgPool2dBackward', 'countIncludePad');
  throwsTyped(() => avgPool2dBackward(dyi, [2, 4, 4, 3], { size: 2 }), DTypeError, 'avgPool2dBackward', 'dy');
  throwsTyped(() => avgPool2dBackward(dy, [2, 4, 4], { size: 2 }), ArgumentError, 'avgPool2dBackward', 'xShape');

  // adaptive and global
  throwsTyped(() => adaptiveAvgPool2dBackward(dy, [2, 4, 4, 3], { outputSize: 3 }), ShapeError, 'adaptiveAvgPool2dBackward', 'dy must be [2,3,3,3]', '[2,2,2,3]');
  for (const outputSize of [0, 1.5, [2], undefined]) {
    throwsTyped(() => adaptiveAvgPool2dBackward(dy, [2, 4, 4, 3], { outputSize: bad(outputSize) }), ArgumentError, 'adaptiveAvgPool2dBackward', 'outputSize');
  }
  throwsTyped(() => globalAvgPool2dBackward(dy, [2, 4, 4, 3]), ShapeError, 'globalAvgPool2dBackward', 'dy must be [2,3] or [2,1,1,3]', '[2,2,2,3]');
  throwsTyped(() => globalAvgPool2dBackward(dy3, [2, 4, 4, 3]), ShapeError, 'globalAvgPool2dBackward', 'rank 2 or 4');
  throwsTyped(() => globalAvgPool2dBackward(g2, [3, 4, 4, 3]), ShapeError, 'globalAvgPool2dBackward', '[3,3]', 'x [3,4,4,3]');
  throwsTyped(() => globalMaxPool2dBackward(x, dy), ShapeError, 'globalMaxPool2dBackward', 'dy must be [2,3] or [2,1,1,3]');
  throwsTyped(() => globalMaxPool2dBackward(dy3, g2), ShapeError, 'globalMaxPool2dBackward', 'x', 'rank 4', '[2,2,3]');
  throwsTyped(() => globalMaxPool2dBackward(x, dyi), DTypeError, 'globalMaxPool2dBackward', 'dy');

  // lp and mixed
  const ly = lpPool2d(x, { p: 2, size: 2 });
  throwsTyped(() => lpPool2dBackward(x, ly, dy, { p: 2, size: 3 }), ShapeError, 'lpPool2dBackward', 'y must be [2,1,1,3]', '[2,2,2,3]');
  throwsTyped(() => lpPool2dBackward(x, ly, dy3, { p: 2, size: 2 }), ShapeError, 'lpPool2dBackward', 'dy', 'rank 4');
  throwsTyped(() => lpPool2dBackward(x, dyi, dy, { p: 2, size: 2 }), DTypeError, 'lpPool2dBackward', 'y', 'float32');
  throwsTyped(() => lpPool2dBackward(x, ly, dy4, { p: 2, size: 2 }), ShapeError, 'lpPool2dBackward', 'dy must be [2,2,2,3]', '[2,2,1,3]');
  for (const p of [0, -1, NaN, undefined]) {
    throwsTyped(() => lpPool2dBackward(x, ly, dy, { p: bad(p), size: 2 }), ArgumentError, 'lpPool2dBackward', 'p');
  }
  throwsTyped(() => lpPool2dBackward(x, ly, dy, bad({ p: 2, size: 2, padding: 1 })), ArgumentError, 'lpPool2dBackward', "unknown option 'padding'");
  throwsTyped(() => lpPool2dBackward(x, ly, dy, { p: 2, size: 5 }), ShapeError, 'lpPool2dBackward', 'window height 5', '[2,4,4,3]');
  for (const lambda of [-0.1, 1.5, NaN, undefined]) {
    throwsTyped(() => mixedPool2dBackward(x, dy, { lambda: bad(lambda), size: 2 }), ArgumentError, 'mixedPool2dBackward', 'lambda');
  }
  throwsTyped(() => mixedPool2dBackward(x, dy, { lambda: 0.5, size: 2, strides: 1 }), ShapeError, 'mixedPool2dBackward', 'dy must be [2,3,3,3]', '[2,2,2,3]');
  throwsTyped(() => mixedPool2dBackward(dy3, dy, { lambda: 0.5, size: 2 }), ShapeError, 'mixedPool2dBackward', 'x', 'rank 4');

  // Disposed inputs.
  const gone = tensor(new Float32Array(24), [2, 2, 2, 3]);
  gone.dispose();
  throwsTyped(() => maxPool2dBackward(gone, idx, [2, 4, 4, 3]), DisposedError, 'maxPool2dBackward', 'dy', '[2,2,2,3]');
  throwsTyped(() => avgPool2dBackward(gone, [2, 4, 4, 3], { size: 2 }), DisposedError, 'avgPool2dBackward', 'dy');
  throwsTyped(() => mixedPool2dBackward(x, gone, { lambda: 0.5, size: 2 }), DisposedError, 'mixedPool2dBackward', 'dy');

  for (const t of [x, dy, idx, idx3, dyi, dy3, g2, ly, idx4, dy4]) t.dispose();
  assert.is(memoryStats().tensors, before); // no error left a tensor behind
});

test('empty batch or zero channels give empty gradients', () => {
  tidy(() => {
    const e = (shape: number[], dtype: 'float32' | 'int32' = 'float32') => tensor([], shape, dtype);
    assert.equal(maxPool2dBackward(e([0, 2, 2, 3]), e([0, 2, 2, 3], 'int32'), [0, 4, 4, 3]).shape, [0, 4, 4, 3]);
    assert.equal(maxPool2dBackward(e([2, 2, 2, 0]), e([2, 2, 2, 0], 'int32'), [2, 4, 4, 0]).shape, [2, 4, 4, 0]);
    assert.equal(avgPool2dBackward(e([2, 2, 2, 0]), [2, 4, 4, 0], { size: 2 }).shape, [2, 4, 4, 0]);
    assert.equal(globalAvgPool2dBackward(e([0, 3]), [0, 3, 3, 3]).shape, [0, 3, 3, 3]);
    assert.equal(globalMaxPool2dBackward(e([0, 3, 3, 3]), e([0, 3])).shape, [0, 3, 3, 3]);
    assert.equal(mixedPool2dBackward(e([0, 4, 4, 2]), e([0, 2, 2, 2]), { lambda: 0.5, size: 2 }).shape, [0, 4, 4, 2]);
  });
});

test('every build (relaxed SIMD, SIMD, scalar) matches the reference and gives the same bits', async () => {
  // The scalar build's kernels are the SIMD builds' scalar tails alone; no kernel here uses a
  // fused multiply-add, so all three builds must agree exactly. (Re-initialising disposes every
  // live tensor, so this runs last.)
  const cases = Array.from({ length: 24 }, (_, i) => randomCase(20000 + i, (['float', 'ties', 'special'] as const)[i % 3], i % 4 !== 3));
  const runAll = (): Array<Float32Array | Int32Array> => tidy(() => {
    const out: Array<Float32Array | Int32Array> = [];
    for (const [i, c] of cases.entries()) {
      const x = tensor(c.x, c.shape);
      const { output, indices } = maxPool2d(x, { ...c.opts, returnIndices: true });
      const dyd = randArray(rng(i), output.size);
      const dy = tensor(dyd, output.shape);
      const push = (name: string, dx: Tensor, want: ArrayLike<number>) => {
        allclose(dx.toArray(), want, `${backend()} ${name} ${c.ctx}`, RTOL, ATOL);
        out.push(dx.toArray());
      };
      push('max', maxPool2dBackward(dy, indices, c.shape), ref.maxPoolBackward(dyd, ref.maxPool(c.x, c.shape, c.window).indices, c.shape));
      push('avg', avgPool2dBackward(dy, c.shape, { ...c.opts, countIncludePad: i % 2 === 0 }), ref.avgPoolBackward(dyd, c.shape, c.window, i % 2 === 0));
      push('mixed', mixedPool2dBackward(x, dy, { ...c.opts, lambda: 0.25 }), ref.mixedPoolBackward(c.x, c.shape, c.window, 0.25, false, dyd));
      const [N, , , C] = c.shape;
      push('globalMax', globalMaxPool2dBackward(x, tensor(dyd.subarray(0, N * C), [N, C])), ref.adaptiveMaxPoolGrad(c.x, c.shape, 1, 1, dyd.subarray(0, N * C)));
      if (!c.opts.padding && !c.opts.ceilMode && c.kind === 'float') {
        for (const p of [1, 2, 3]) {
          const opts = { p, size: c.opts.size, strides: c.opts.strides };
          const y = lpPool2d(x, opts);
          const { kh, kw, sh, sw } = c.window;
          push(`lp ${p}`, lpPool2dBackward(x, y, dy, opts), ref.lpPoolBackward(c.x, c.shape, kh, kw, sh, sw, p, dyd));
        }
      }
    }
    return out;
  });
  const builds: Backend[] = ['relaxed-simd', 'simd', 'scalar'];
  const results: Array<Array<Float32Array | Int32Array>> = [];
  for (const build of builds) {
    assert.is(await init({ backend: build }), build);
    results.push(runAll());
  }
  assert.ok(results[0].length > 4 * cases.length, 'some Lp cases ran');
  for (let b = 1; b < builds.length; b++) {
    assert.is(results[b].length, results[0].length);
    results[b].forEach((a, k) => equalArrays(a, results[0][k], `${builds[b]} vs ${builds[0]}, result ${k}`));
  }
});

test('gradient ops do not dispose their inputs; tidy frees the outputs; no live tensors remain', () => {
  const before = memoryStats().tensors;
  const x = tensor(randArray(rng(1), 2 * 5 * 5 * 3), [2, 5, 5, 3]);
  tidy(() => {
    const { output, indices } = maxPool2d(x, { size: 2, returnIndices: true });
    maxPool2dBackward(output, indices, x.shape);
    avgPool2dBackward(output, x.shape, { size: 2 });
    mixedPool2dBackward(x, output, { lambda: 0.5, size: 2 });
    lpPool2dBackward(x, output, output, { p: 2, size: 2 });
    globalAvgPool2dBackward(tensor(new Float32Array(6), [2, 3]), x.shape);
    globalMaxPool2dBackward(x, tensor(new Float32Array(6), [2, 3]));
    adaptiveAvgPool2dBackward(tensor(new Float32Array(2 * 7 * 3 * 3), [2, 7, 3, 3]), x.shape, { outputSize: [7, 3] });
  });
  assert.is(memoryStats().tensors, before + 1);
  assert.not.ok(x.isDisposed);
  x.dispose();
  assert.is(memoryStats().tensors, 0);
});

test.run();
