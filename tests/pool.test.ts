import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  init, tensor, tidy, memoryStats, backend, type Tensor,
  maxPool2d, avgPool2d, lpPool2d, mixedPool2d, globalAvgPool2d, globalMaxPool2d, adaptiveAvgPool2d, adaptiveMaxPool2d,
  ShapeError, ArgumentError, DTypeError, DisposedError,
} from '../src/index.ts';
import { rng, randInt, randArray, allclose, equalArrays, throwsTyped } from './helpers.ts';
import * as ref from './reference/pool.ts';
import type { PadPairs, Shape4, Window } from './reference/pool.ts';

// Every pooling op against the float64 loops in tests/reference/pool.ts on seeded random shapes.
// Tolerances: max pooling (values and indices) exactly — it returns an input element; averages,
// Lp and mixed rtol 1e-5, atol 1e-6 (an f32 sum of ≤ 16 terms of magnitude ≤ 1).
const RTOL = 1e-5, ATOL = 1e-6;

// Channels below, at and above the kernels' 4- and 16-channel SIMD blocks (the rest is the scalar tail).
const CHANNELS = [1, 3, 4, 5, 8, 13, 16, 21];

test.before(async () => {
  await init();
});

type Pair = [number, number];
type PaddingOpt = undefined | 'valid' | 'same' | number | PadPairs;
type DataKind = 'float' | 'ties' | 'special';

interface Case {
  shape: Shape4;
  window: Window;
  /** The options as a user writes them (size/strides as number or pair, defaults omitted at random). */
  opts: { size: number | Pair; strides?: number | Pair; padding?: PaddingOpt; ceilMode?: boolean };
  x: Float32Array;
  ctx: string;
}

/** Mostly odd sizes, some even. */
function side(r: () => number): number {
  return r() < 0.7 ? 2 * randInt(r, 0, 5) + 1 : 2 * randInt(r, 1, 5);
}

function randomData(r: () => number, n: number, kind: DataKind): Float32Array {
  if (kind === 'float') return randArray(r, n);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    if (kind === 'ties') { a[i] = randInt(r, -2, 2); continue; }
    const u = r();
    a[i] = u < 0.08 ? NaN : u < 0.12 ? Infinity : u < 0.16 ? -Infinity : randInt(r, -3, 3);
  }
  return a;
}

/** A random window over a random input: sizes 1–4, strides 1–3, every padding mode, ceil mode both. */
function randomCase(seed: number, kind: DataKind, allowPadding = true): Case {
  const r = rng(seed);
  for (;;) {
    const shape: Shape4 = [randInt(r, 1, 3), side(r), side(r), CHANNELS[randInt(r, 0, CHANNELS.length - 1)]];
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
    if (pads.flat().some((p, i) => p >= k[i >> 1])) continue; // 'same' never does this; be sure
    const ceilMode = allowPadding && r() < 0.5;
    const opts: Case['opts'] = { size: k[0] === k[1] && r() < 0.5 ? k[0] : k };
    if (!defaultStrides) opts.strides = s[0] === s[1] && r() < 0.5 ? s[0] : s;
    if (padding !== undefined) opts.padding = padding;
    if (ceilMode || r() < 0.3) opts.ceilMode = ceilMode;
    const x = randomData(r, shape.reduce((a, b) => a * b), kind);
    const window: Window = { kh: k[0], kw: k[1], sh: s[0], sw: s[1], pads, ceilMode };
    return { shape, window, opts, x, ctx: `seed ${seed} (${kind}) x [${shape}] ${JSON.stringify(opts)}` };
  }
}

function checkMax(c: Case): void {
  tidy(() => {
    const want = ref.maxPool(c.x, c.shape, c.window);
    const { output, indices } = maxPool2d(tensor(c.x, c.shape), { ...c.opts, returnIndices: true });
    assert.equal(output.shape, want.shape, c.ctx);
    assert.equal(indices.shape, want.shape, c.ctx);
    assert.is(indices.dtype, 'int32');
    equalArrays(output.toArray(), want.y, `${c.ctx} values`);
    equalArrays(indices.toArray(), want.indices, `${c.ctx} indices`);
  });
}

test('maxPool2d: values and argmax indices match the reference exactly (random windows, every padding mode)', () => {
  for (let i = 0; i < 300; i++) checkMax(randomCase(1000 + i, 'float'));
});

test('maxPool2d: ties go to the first element in row-major window order (integer-valued inputs)', () => {
  for (let i = 0; i < 200; i++) checkMax(randomCase(2000 + i, 'ties'));
});

test('maxPool2d: NaN propagates (the first NaN and its index win), ±Infinity handled', () => {
  for (let i = 0; i < 200; i++) checkMax(randomCase(3000 + i, 'special'));
});

test('maxPool2d: hand-worked example with padding, a tie, a NaN and -Infinity', () => {
  // One channel, 3×3, window 2, stride 2, padding 1 → 2×2 windows: {0}, {1,2}, {3,6}, {4,5,7,8}.
  const x = tensor([-Infinity, 5, 5, 1, NaN, 2, 1, 3, NaN], [1, 3, 3, 1]);
  const { output, indices } = maxPool2d(x, { size: 2, strides: 2, padding: 1, returnIndices: true });
  assert.equal(output.shape, [1, 2, 2, 1]);
  equalArrays(output.toArray(), [-Infinity, 5, 1, NaN], 'values'); // padding never wins over -Infinity
  equalArrays(indices.toArray(), [0, 1, 3, 4], 'indices'); // tie → first 5; first NaN (4), not 8
  for (const t of [x, output, indices]) t.dispose();
});

test('maxPool2d without returnIndices gives the same values', () => {
  for (let i = 0; i < 40; i++) {
    const c = randomCase(4000 + i, i % 2 ? 'special' : 'float');
    tidy(() => {
      const y = maxPool2d(tensor(c.x, c.shape), c.opts);
      equalArrays(y.toArray(), ref.maxPool(c.x, c.shape, c.window).y, c.ctx);
    });
  }
});

test('avgPool2d matches PyTorch divisor rules (countIncludePad both, ceil mode, every padding mode)', () => {
  for (let i = 0; i < 300; i++) {
    const c = randomCase(5000 + i, i % 5 === 4 ? 'special' : 'float');
    for (const countIncludePad of [false, true]) {
      tidy(() => {
        const want = ref.avgPool(c.x, c.shape, c.window, countIncludePad);
        const y = avgPool2d(tensor(c.x, c.shape), { ...c.opts, countIncludePad });
        assert.equal(y.shape, want.shape, c.ctx);
        allclose(y.toArray(), want.y, `${c.ctx} countIncludePad ${countIncludePad}`, RTOL, ATOL);
      });
    }
  }
});

test('avgPool2d: hand-worked divisors (padding 1, ceil mode)', () => {
  // 1×3×3×1 of ones, window 2, stride 2, padding 1, ceil mode: windows rows [-1,1), [1,3); same for columns.
  const x = tensor(new Float32Array(9).fill(1), [1, 3, 3, 1]);
  const incl = avgPool2d(x, { size: 2, padding: 1, ceilMode: true, countIncludePad: true });
  equalArrays(incl.toArray(), [0.25, 0.5, 0.5, 1], 'countIncludePad'); // 1/4, 2/4, 2/4, 4/4
  const excl = avgPool2d(x, { size: 2, padding: 1, ceilMode: true });
  equalArrays(excl.toArray(), [1, 1, 1, 1], 'valid elements');
  // Ceil-mode overhang past the padding is not counted: 1×3×1, window 2, stride 2, no padding.
  const y = tensor([2, 4, 6], [1, 3, 1, 1]);
  const over = avgPool2d(y, { size: [2, 1], ceilMode: true, countIncludePad: true });
  equalArrays(over.toArray(), [3, 6], 'overhang'); // (2+4)/2, 6/1
  for (const t of [x, incl, excl, y, over]) t.dispose();
});

test('lpPool2d: (Σ|x|^p)^(1/p) for p = 1, 2 (SIMD paths) and 0.5, 1.5, 3 (general)', () => {
  let i = 0;
  for (const p of [1, 2, 0.5, 1.5, 3]) {
    for (let j = 0; j < 40; j++, i++) {
      const c = randomCase(6000 + i, 'float', false);
      const { kh, kw, sh, sw } = c.window;
      tidy(() => {
        const y = lpPool2d(tensor(c.x, c.shape), { p, size: c.opts.size, strides: c.opts.strides });
        const want = ref.lpPool(c.x, c.shape, kh, kw, sh, sw, p);
        assert.equal(y.shape, want.shape, c.ctx);
        allclose(y.toArray(), want.y, `${c.ctx} p ${p}`, RTOL, ATOL);
      });
    }
  }
});

test('mixedPool2d = λ·max + (1−λ)·avg; λ = 1 and λ = 0 are exactly max and avg', () => {
  for (let i = 0; i < 150; i++) {
    const c = randomCase(7000 + i, 'float');
    const r = rng(7000 + i);
    const lambda = [0, 1, 0.5, r()][i % 4];
    const countIncludePad = r() < 0.5;
    tidy(() => {
      const x = tensor(c.x, c.shape);
      const y = mixedPool2d(x, { ...c.opts, lambda, countIncludePad });
      const ctx = `${c.ctx} lambda ${lambda} countIncludePad ${countIncludePad}`;
      allclose(y.toArray(), ref.mixedPool(c.x, c.shape, c.window, lambda, countIncludePad).y, ctx, RTOL, ATOL);
      if (lambda === 1) equalArrays(y.toArray(), maxPool2d(x, c.opts).toArray(), ctx);
      if (lambda === 0) equalArrays(y.toArray(), avgPool2d(x, { ...c.opts, countIncludePad }).toArray(), ctx);
    });
  }
  // With an infinite input, λ = 1 must not turn 0·∞ into NaN.
  tidy(() => {
    const x = tensor([Infinity, 1, 2, 3], [1, 2, 2, 1]);
    equalArrays(mixedPool2d(x, { lambda: 1, size: 2 }).toArray(), [Infinity], 'lambda 1 with +Infinity');
  });
});

test('adaptiveAvgPool2d / adaptiveMaxPool2d: PyTorch bins, output smaller, equal or larger than the input', () => {
  for (let i = 0; i < 200; i++) {
    const r = rng(8000 + i);
    const shape: Shape4 = [randInt(r, 1, 3), side(r), side(r), CHANNELS[randInt(r, 0, CHANNELS.length - 1)]];
    const oh = randInt(r, 1, shape[1] + 3), ow = randInt(r, 1, shape[2] + 3);
    const kind: DataKind = (['float', 'ties', 'special'] as const)[i % 3];
    const data = randomData(r, shape.reduce((a, b) => a * b), kind);
    const outputSize: number | Pair = oh === ow && r() < 0.5 ? oh : [oh, ow];
    const ctx = `seed ${8000 + i} (${kind}) x [${shape}] outputSize ${JSON.stringify(outputSize)}`;
    tidy(() => {
      const x = tensor(data, shape);
      const avg = adaptiveAvgPool2d(x, { outputSize });
      const wantAvg = ref.adaptiveAvgPool(data, shape, oh, ow);
      assert.equal(avg.shape, wantAvg.shape, ctx);
      allclose(avg.toArray(), wantAvg.y, ctx, RTOL, ATOL);
      const max = adaptiveMaxPool2d(x, { outputSize, returnIndices: true });
      const wantMax = ref.adaptiveMaxPool(data, shape, oh, ow);
      equalArrays(max.output.toArray(), wantMax.y, `${ctx} values`);
      equalArrays(max.indices.toArray(), wantMax.indices, `${ctx} indices`);
      equalArrays(adaptiveMaxPool2d(x, { outputSize }).toArray(), wantMax.y, `${ctx} without indices`);
    });
  }
});

test('globalAvgPool2d / globalMaxPool2d: [N, C], or [N, 1, 1, C] with keepDims', () => {
  for (let i = 0; i < 60; i++) {
    const r = rng(9000 + i);
    const shape: Shape4 = [randInt(r, 1, 3), side(r), side(r), CHANNELS[randInt(r, 0, CHANNELS.length - 1)]];
    const data = randomData(r, shape.reduce((a, b) => a * b), i % 3 === 2 ? 'special' : 'float');
    const ctx = `seed ${9000 + i} x [${shape}]`;
    tidy(() => {
      const x = tensor(data, shape);
      const [N, , , C] = shape;
      const avg = globalAvgPool2d(x), max = globalMaxPool2d(x);
      assert.equal(avg.shape, [N, C], ctx);
      assert.equal(max.shape, [N, C], ctx);
      allclose(avg.toArray(), ref.adaptiveAvgPool(data, shape, 1, 1).y, ctx, RTOL, ATOL);
      equalArrays(max.toArray(), ref.adaptiveMaxPool(data, shape, 1, 1).y, ctx);
      const avgKeep = globalAvgPool2d(x, { keepDims: true }), maxKeep = globalMaxPool2d(x, { keepDims: true });
      assert.equal(avgKeep.shape, [N, 1, 1, C], ctx);
      assert.equal(maxKeep.shape, [N, 1, 1, C], ctx);
      equalArrays(avgKeep.toArray(), avg.toArray(), ctx);
      equalArrays(maxKeep.toArray(), max.toArray(), ctx);
    });
  }
});

test('SIMD blocks (16 and 4 channels) and the scalar tail agree bit for bit, indices included', () => {
  // 21 channels = one 16-block + one 4-block + one tail channel. Every channel holds the same
  // image, so every channel's result must be the same bits (and its index offset by c).
  const C = 21;
  for (let i = 0; i < 60; i++) {
    const base = randomCase(10000 + i, (['float', 'ties', 'special'] as const)[i % 3]);
    const [N, H, W] = base.shape;
    const shape: Shape4 = [N, H, W, C];
    const x = new Float32Array(N * H * W * C);
    for (let p = 0; p < N * H * W; p++) x.fill(base.x[p * base.shape[3]], p * C, (p + 1) * C);
    tidy(() => {
      const xt = tensor(x, shape);
      const { output, indices } = maxPool2d(xt, { ...base.opts, returnIndices: true });
      const results: Array<[string, Float32Array | Int32Array, number]> = [
        ['maxPool2d', output.toArray(), 0],
        ['maxPool2d indices', indices.toArray(), 1],
        ['avgPool2d', avgPool2d(xt, { ...base.opts, countIncludePad: i % 2 === 0 }).toArray(), 0],
        ['mixedPool2d', mixedPool2d(xt, { ...base.opts, lambda: 0.3 }).toArray(), 0],
      ];
      if (base.window.kh <= H && base.window.kw <= W) { // Lp pooling has no padding
        for (const p of [1, 2, 3]) {
          results.push([`lpPool2d p ${p}`, lpPool2d(xt, { p, size: base.opts.size, strides: base.opts.strides }).toArray(), 0]);
        }
      }
      for (const [name, a, indexStep] of results) {
        for (let o = 0; o < a.length; o += C) {
          for (let c = 1; c < C; c++) {
            if (!Object.is(a[o + c] - indexStep * c, a[o] - 0)) {
              assert.unreachable(`${base.ctx} ${name}: channel ${c} gives ${a[o + c]}, channel 0 gives ${a[o]} (pixel ${o / C})`);
            }
          }
        }
      }
    });
  }
});

test('pooling ops do not dispose their inputs; tidy frees the outputs', () => {
  const before = memoryStats().tensors;
  const x = tensor(randArray(rng(1), 2 * 5 * 5 * 3), [2, 5, 5, 3]);
  tidy(() => {
    maxPool2d(x, { size: 2, returnIndices: true });
    avgPool2d(x, { size: 3, strides: 1, padding: 'same' });
    lpPool2d(x, { p: 2, size: 2 });
    mixedPool2d(x, { lambda: 0.5, size: 2 });
    globalAvgPool2d(x);
    globalMaxPool2d(x, { keepDims: true });
    adaptiveAvgPool2d(x, { outputSize: 3 });
    adaptiveMaxPool2d(x, { outputSize: [2, 7], returnIndices: true });
  });
  assert.is(memoryStats().tensors, before + 1);
  assert.not.ok(x.isDisposed);
  x.dispose();
});

test('empty batch or zero channels give empty outputs', () => {
  tidy(() => {
    assert.equal(maxPool2d(tensor([], [0, 4, 4, 3]), { size: 2 }).shape, [0, 2, 2, 3]);
    assert.equal(avgPool2d(tensor([], [2, 4, 4, 0]), { size: 2 }).shape, [2, 2, 2, 0]);
    assert.equal(globalAvgPool2d(tensor([], [0, 3, 3, 2])).shape, [0, 2]);
  });
});

test('bad arguments throw typed errors naming the op, the argument and the shapes', () => {
  const before = memoryStats().tensors;
  const x = tensor(new Float32Array(2 * 3 * 3 * 2), [2, 3, 3, 2]);
  const xi = tensor(new Int32Array(9), [1, 3, 3, 1], 'int32');
  const x3 = tensor(new Float32Array(12), [2, 3, 2]);
  const bad = (v: unknown) => v as never;

  throwsTyped(() => maxPool2d(x3, { size: 2 }), ShapeError, 'maxPool2d', 'x', 'rank 4', '[2,3,2]');
  throwsTyped(() => avgPool2d(xi, { size: 2 }), DTypeError, 'avgPool2d', 'x', 'float32', 'int32', '[1,3,3,1]');
  throwsTyped(() => globalMaxPool2d(x3), ShapeError, 'globalMaxPool2d', '[2,3,2]');
  throwsTyped(() => adaptiveAvgPool2d(xi, { outputSize: 2 }), DTypeError, 'adaptiveAvgPool2d', 'int32');
  throwsTyped(() => maxPool2d(bad([1, 2, 3]), { size: 2 }), ArgumentError, 'maxPool2d', 'x', 'Tensor');
  const noRows = tensor([], [1, 0, 3, 1]);
  throwsTyped(() => maxPool2d(noRows, { size: 1 }), ShapeError, 'maxPool2d', 'height and width', '[1,0,3,1]');

  // Window larger than the padded input; padding that would leave a window wholly in padding.
  throwsTyped(() => maxPool2d(x, { size: 4 }), ShapeError, 'maxPool2d', 'window height 4', 'padded input height 3', '[2,3,3,2]');
  throwsTyped(() => avgPool2d(x, { size: [2, 6], padding: 1 }), ShapeError, 'avgPool2d', 'window width 6', 'padded input width 5', '[2,3,3,2]');
  throwsTyped(() => maxPool2d(x, { size: 2, padding: 2 }), ArgumentError, 'maxPool2d', 'padding 2', 'window height 2', '[2,3,3,2]');
  throwsTyped(() => avgPool2d(x, { size: 2, padding: [[0, 0], [0, 2]] }), ArgumentError, 'avgPool2d', 'padding 2', 'window width');
  throwsTyped(() => maxPool2d(x, { size: 2, padding: 'full' as never }), ArgumentError, 'maxPool2d', "'full'");
  throwsTyped(() => maxPool2d(x, { size: 2, padding: bad('bogus') }), ArgumentError, 'maxPool2d', 'padding');
  throwsTyped(() => maxPool2d(x, { size: 2, padding: -1 }), ArgumentError, 'maxPool2d', 'padding');

  // Non-positive or non-integer sizes and strides; missing size.
  for (const size of [0, -1, 1.5, [2], [2, 0], 'two']) {
    throwsTyped(() => maxPool2d(x, { size: bad(size) }), ArgumentError, 'maxPool2d', 'size');
  }
  throwsTyped(() => avgPool2d(x, bad({})), ArgumentError, 'avgPool2d', 'size is required');
  throwsTyped(() => maxPool2d(x, bad(undefined)), ArgumentError, 'maxPool2d', 'size is required');
  throwsTyped(() => maxPool2d(x, { size: 2, strides: 0 }), ArgumentError, 'maxPool2d', 'strides');
  throwsTyped(() => lpPool2d(x, { p: 2, size: 2, strides: [1, -1] }), ArgumentError, 'lpPool2d', 'strides');
  throwsTyped(() => maxPool2d(x, { size: 2, ceilMode: bad('yes') }), ArgumentError, 'maxPool2d', 'ceilMode');
  throwsTyped(() => maxPool2d(x, { size: 2, returnIndices: bad(1) }), ArgumentError, 'maxPool2d', 'returnIndices');
  throwsTyped(() => avgPool2d(x, { size: 2, countIncludePad: bad('no') }), ArgumentError, 'avgPool2d', 'countIncludePad');

  // p and lambda.
  for (const p of [0, -1, NaN, Infinity, undefined, '2']) {
    throwsTyped(() => lpPool2d(x, { p: bad(p), size: 2 }), ArgumentError, 'lpPool2d', 'p');
  }
  for (const lambda of [-0.1, 1.5, NaN, undefined, '0.5']) {
    throwsTyped(() => mixedPool2d(x, { lambda: bad(lambda), size: 2 }), ArgumentError, 'mixedPool2d', 'lambda');
  }

  // Adaptive output sizes.
  for (const outputSize of [0, -2, 1.5, [2], undefined]) {
    throwsTyped(() => adaptiveMaxPool2d(x, { outputSize: bad(outputSize) }), ArgumentError, 'adaptiveMaxPool2d', 'outputSize');
  }

  // Unknown option keys (typos) and non-object options.
  throwsTyped(() => maxPool2d(x, bad({ size: 2, stride: 2 })), ArgumentError, 'maxPool2d', "unknown option 'stride'");
  throwsTyped(() => lpPool2d(x, bad({ p: 2, size: 2, padding: 1 })), ArgumentError, 'lpPool2d', "unknown option 'padding'");
  throwsTyped(() => globalAvgPool2d(x, bad({ keepdims: true })), ArgumentError, 'globalAvgPool2d', "unknown option 'keepdims'");
  throwsTyped(() => adaptiveAvgPool2d(x, bad({ outputSize: 2, returnIndices: true })), ArgumentError, 'adaptiveAvgPool2d', "unknown option 'returnIndices'");
  throwsTyped(() => mixedPool2d(x, bad({ lambda: 0.5, size: 2, alpha: 1 })), ArgumentError, 'mixedPool2d', "unknown option 'alpha'");
  throwsTyped(() => avgPool2d(x, bad(2)), ArgumentError, 'avgPool2d', 'options');
  throwsTyped(() => globalMaxPool2d(x, bad({ keepDims: 'yes' })), ArgumentError, 'globalMaxPool2d', 'keepDims');

  // A disposed input.
  const gone = tensor(new Float32Array(4), [1, 2, 2, 1]);
  gone.dispose();
  throwsTyped(() => maxPool2d(gone, { size: 2 }), DisposedError, 'maxPool2d', 'x', '[1,2,2,1]');
  throwsTyped(() => globalAvgPool2d(gone), DisposedError, 'globalAvgPool2d');

  // No error left a tensor behind.
  for (const t of [x, xi, x3, noRows]) t.dispose();
  assert.is(memoryStats().tensors, before);
});

test('no live tensors remain', () => {
  assert.ok(['relaxed-simd', 'simd', 'scalar'].includes(backend()));
  assert.is(memoryStats().tensors, 0);
});

test('maxPool2d without indices: a window holding +Infinity and -Infinity (no NaN) gives +Infinity; NaN still wins (16-channel body)', () => {
  tidy(() => {
    const C = 32;
    const data = new Float32Array(2 * 2 * C).fill(1);
    for (let c = 0; c < C; c++) {
      data[c] = c % 2 ? Infinity : -Infinity;     // pixel (0,0)
      data[C + c] = c % 2 ? -Infinity : Infinity; // pixel (0,1)
    }
    data[3 * C + 5] = NaN;                         // pixel (1,1), channel 5
    const y = maxPool2d(tensor(data, [1, 2, 2, C]), { size: 2 }).toArray();
    for (let c = 0; c < C; c++) {
      if (c === 5) assert.ok(Number.isNaN(y[c]), 'NaN wins in channel 5');
      else assert.is(y[c], Infinity, `channel ${c}`);
    }
  });
});

test.run();
