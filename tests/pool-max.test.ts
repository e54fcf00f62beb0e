// node-flags: --experimental-wasm-relaxed-simd
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { init, backend, threads, tensor, tidy, maxPool2d, type Backend, type MaxPool2dOptions } from '../src/index.ts';
import { rng, randInt, randArray } from './helpers.ts';
import * as ref from './reference/pool.ts';
import type { PadPairs, Shape4, Window } from './reference/pool.ts';

// maxPool2d's values-only kernel (assembly/pool-max.ts) has two paths: the general one and the
// paired one (two output rows of 3×3 windows 1 or 2 input rows apart, 8 channels a block). Random
// shapes hit both and their borders: odd sizes, pads 0–2, strides 1–3, sizes 2–3 and non-square,
// C on and off multiples of 4/8/16, batch > 1, ceil mode; data with ties, ±0, NaN, ±Infinity
// (also +∞ and −∞ in one window without NaN: the NaN-check sum turns NaN and the block is redone).
// Checked exactly against the float64 reference, ±0 included (the first of equal values wins), in
// every build, with 1, 2 and 3 threads (the batch-3 case is split into image tiles), all bit-identical.

const BUILDS: Backend[] = ['relaxed-simd', 'simd', 'scalar'];
type Kind = 'float' | 'zeros' | 'special' | 'infs';
interface Case { shape: Shape4; window: Window; opts: MaxPool2dOptions & { returnIndices?: false }; x: Float32Array; ctx: string }

function data(r: () => number, n: number, kind: Kind): Float32Array {
  if (kind === 'float') return randArray(r, n);
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = r();
    if (kind === 'zeros') a[i] = u < 0.4 ? -0 : u < 0.8 ? 0 : u < 0.9 ? -1 : -Infinity;
    else if (kind === 'special') a[i] = u < 0.02 ? NaN : u < 0.05 ? Infinity : u < 0.08 ? -Infinity : randInt(r, -2, 2);
    else a[i] = u < 0.03 ? Infinity : u < 0.06 ? -Infinity : randInt(r, -3, 3); // no NaN: exercises the redo alone
  }
  if (kind === 'special' || kind === 'zeros') {
    // A few NaNs on their own in otherwise clean regions (window edges and interiors alike).
    for (let k = 0; k < 3; k++) a[randInt(r, 0, n - 1)] = NaN;
  }
  return a;
}

function randomCase(seed: number): Case {
  const r = rng(seed);
  const kinds: Kind[] = ['float', 'zeros', 'special', 'infs'];
  const kind = kinds[seed % 4];
  for (;;) {
    const paired = r() < 0.7; // mostly 3-tall windows at row stride 1 or 2 (the paired path)
    const kh = paired ? 3 : randInt(r, 2, 3), kw = paired && r() < 0.8 ? 3 : randInt(r, 2, 3);
    const sh = paired ? randInt(r, 1, 2) : randInt(r, 1, 3), sw = randInt(r, 1, 3);
    const C = [1, 3, 4, 7, 8, 9, 12, 16, 17, 24, 31, 40][randInt(r, 0, 11)];
    const shape: Shape4 = [randInt(r, 1, 3), randInt(r, 3, 17), randInt(r, 3, 17), C];
    const ph = randInt(r, 0, Math.min(2, kh - 1)), pw = randInt(r, 0, Math.min(2, kw - 1));
    const pads: PadPairs = [[ph, r() < 0.7 ? ph : randInt(r, 0, kh - 1)], [pw, r() < 0.7 ? pw : randInt(r, 0, kw - 1)]];
    if (shape[1] + pads[0][0] + pads[0][1] < kh || shape[2] + pads[1][0] + pads[1][1] < kw) continue;
    const ceilMode = r() < 0.3;
    const window: Window = { kh, kw, sh, sw, pads, ceilMode };
    const opts = { size: [kh, kw] as [number, number], strides: [sh, sw] as [number, number], padding: pads, ceilMode };
    const x = data(r, shape.reduce((a, b) => a * b), kind);
    return { shape, window, opts, x, ctx: `seed ${seed} (${kind}) x [${shape}] ${JSON.stringify(opts)}` };
  }
}

const cases: Case[] = Array.from({ length: 60 }, (_, i) => randomCase(9000 + i));
// Larger cases; the batch of 3 has enough work to be split into image tiles with threads.
for (const [i, shape] of ([[1, 67, 65, 64], [3, 49, 47, 40], [1, 57, 57, 20]] as Shape4[]).entries()) {
  const r = rng(9100 + i);
  const kind: Kind = i === 1 ? 'special' : 'float';
  const pads: PadPairs = i === 2 ? [[0, 0], [0, 0]] : [[1, 1], [1, 1]];
  const window: Window = { kh: 3, kw: 3, sh: i === 2 ? 1 : 2, sw: i === 2 ? 1 : 2, pads, ceilMode: i === 2 };
  const opts = { size: 3, strides: window.sh, padding: pads, ceilMode: window.ceilMode };
  cases.push({ shape, window, opts, x: data(r, shape.reduce((a, b) => a * b), kind), ctx: `large ${i} x [${shape}] ${JSON.stringify(opts)}` });
}
const wants = cases.map((c) => ref.maxPool(c.x, c.shape, c.window).y);

function runAll(): Float32Array[] {
  return cases.map((c) => tidy(() => maxPool2d(tensor(c.x, c.shape), c.opts).toArray() as Float32Array));
}

/** Equal as float32 bit patterns, except that any NaN equals any NaN (payloads are not promised). */
function same(a: ArrayLike<number>, b: ArrayLike<number>, ctx: string): void {
  assert.is(a.length, b.length, `${ctx}: length`);
  for (let i = 0; i < a.length; i++) {
    if (!Object.is(a[i], b[i]) && !(Number.isNaN(a[i]) && Number.isNaN(b[i]))) {
      assert.unreachable(`${ctx}: [${i}] got ${Object.is(a[i], -0) ? '-0' : a[i]}, expected ${Object.is(b[i], -0) ? '-0' : b[i]}`);
    }
  }
}

const byBuild = new Map<Backend, Float32Array[]>();

for (const build of BUILDS) {
  test(`${build}: maxPool2d matches the reference exactly (±0 included), bit-identical with 1, 2 and 3 threads`, async () => {
    let one: Float32Array[] | null = null;
    for (const n of [1, 2, 3]) {
      assert.is(await init({ backend: build, threads: n }), build);
      assert.is(backend(), build);
      const got = runAll();
      if (!one) {
        one = got;
        cases.forEach((c, i) => same(got[i], wants[i], `${build} ${c.ctx}`));
      } else {
        if (threads() === n) cases.forEach((c, i) => same(got[i], one![i], `${build} ${n} threads ${c.ctx}`));
      }
    }
    byBuild.set(build, one!);
  });
}

test('every build gives the same bits', () => {
  const [first, ...rest] = BUILDS.filter((b) => byBuild.has(b));
  for (const b of rest) cases.forEach((c, i) => same(byBuild.get(b)![i], byBuild.get(first)![i], `${b} vs ${first} ${c.ctx}`));
});

test.run();
