import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { init, backend, tensor, tidy, memoryStats, maxPool2d, avgPool2d } from '../src/index.ts';
import { rng, randInt, allclose, equalArrays } from './helpers.ts';
import * as ref from './reference/pool.ts';
import type { PadPairs, Shape4 } from './reference/pool.ts';

// The scalar build (engines without SIMD) against the reference, and bit for bit against the SIMD
// build: its kernels are the scalar tails alone, so this is the SPEC's "SIMD body and scalar tail
// agree" promise across builds. Tolerances: max exact; average rtol 1e-5, atol 1e-6.

interface Case { shape: Shape4; size: [number, number]; strides: [number, number]; pads: PadPairs; ceilMode: boolean; x: Float32Array }

const cases: Case[] = [];
for (let i = 0; i < 12; i++) {
  const r = rng(500 + i);
  const size: [number, number] = [randInt(r, 1, 3), randInt(r, 2, 3)];
  const pads: PadPairs = [[randInt(r, 0, size[0] - 1), randInt(r, 0, size[0] - 1)], [randInt(r, 0, size[1] - 1), 0]];
  const shape: Shape4 = [randInt(r, 1, 2), randInt(r, 3, 7), randInt(r, 3, 7), [1, 4, 5, 13, 21][i % 5]];
  const x = new Float32Array(shape.reduce((a, b) => a * b));
  for (let j = 0; j < x.length; j++) {
    const u = r();
    x[j] = u < 0.05 ? NaN : u < 0.08 ? -Infinity : randInt(r, -3, 3) + (i % 2 ? r() : 0); // ties on even i
  }
  cases.push({ shape, size, strides: [randInt(r, 1, 3), randInt(r, 1, 2)], pads, ceilMode: i % 3 === 0, x });
}

/** Run every case on the current build: max values, indices, averages (both divisors). */
function runAll(): Array<Float32Array | Int32Array> {
  const out: Array<Float32Array | Int32Array> = [];
  for (const c of cases) {
    tidy(() => {
      const x = tensor(c.x, c.shape);
      const opts = { size: c.size, strides: c.strides, padding: c.pads, ceilMode: c.ceilMode };
      const { output, indices } = maxPool2d(x, { ...opts, returnIndices: true });
      out.push(output.toArray(), indices.toArray());
      for (const countIncludePad of [false, true]) out.push(avgPool2d(x, { ...opts, countIncludePad }).toArray());
    });
  }
  return out;
}

let simd: Array<Float32Array | Int32Array> | null = null;

test.before(async () => {
  try {
    await init({ backend: 'simd' });
    simd = runAll();
  } catch {
    simd = null; // an engine without SIMD: the scalar checks still run
    console.log("pool-scalar: no SIMD build on this engine; skipping the cross-build comparison");
  }
  await init({ backend: 'scalar' });
});

test('the scalar build is in use', () => {
  assert.is(backend(), 'scalar');
});

test('scalar maxPool2d (values, indices) and avgPool2d match the reference', () => {
  for (const [i, c] of cases.entries()) {
    const ctx = `case ${i}: x [${c.shape}] size [${c.size}] strides [${c.strides}] pads ${JSON.stringify(c.pads)} ceilMode ${c.ceilMode}`;
    const window = { kh: c.size[0], kw: c.size[1], sh: c.strides[0], sw: c.strides[1], pads: c.pads, ceilMode: c.ceilMode };
    tidy(() => {
      const x = tensor(c.x, c.shape);
      const opts = { size: c.size, strides: c.strides, padding: c.pads, ceilMode: c.ceilMode };
      const want = ref.maxPool(c.x, c.shape, window);
      const { output, indices } = maxPool2d(x, { ...opts, returnIndices: true });
      assert.equal(output.shape, want.shape, ctx);
      equalArrays(output.toArray(), want.y, `${ctx} values`);
      equalArrays(indices.toArray(), want.indices, `${ctx} indices`);
      for (const countIncludePad of [false, true]) {
        const y = avgPool2d(x, { ...opts, countIncludePad });
        allclose(y.toArray(), ref.avgPool(c.x, c.shape, window, countIncludePad).y, `${ctx} countIncludePad ${countIncludePad}`, 1e-5, 1e-6);
      }
    });
  }
});

test('the scalar and SIMD builds give identical bits', () => {
  if (!simd) return; // SIMD not available on this engine
  const scalar = runAll();
  assert.is(scalar.length, simd.length);
  for (let i = 0; i < scalar.length; i++) {
    const a = scalar[i], b = simd[i];
    assert.is(a.length, b.length);
    for (let j = 0; j < a.length; j++) {
      if (!Object.is(a[j], b[j])) assert.unreachable(`result ${i} [${j}]: scalar ${a[j]}, simd ${b[j]}`);
    }
  }
});

test('no live tensors remain', () => {
  assert.is(memoryStats().tensors, 0);
});

test.run();
