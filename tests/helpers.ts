// Shared test helpers: a seeded RNG (the seed is printed when an assertion fails), closeness checks
// with stated tolerances, and conversions between tensors and plain arrays.
import * as assert from 'uvu/assert';
import { tensor, type Tensor } from '../src/index.ts';

/** Mulberry32 (the library's own seeded stream): small, fast, reproducible. */
export { seededRandom as rng } from '../src/layers/initializers.ts';

/** Integer in [lo, hi]. */
export function randInt(r: () => number, lo: number, hi: number): number {
  return lo + Math.floor(r() * (hi - lo + 1));
}

/** Float32-representable uniform values in [lo, hi). */
export function randArray(r: () => number, n: number, lo = -1, hi = 1): Float32Array {
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) a[i] = lo + (hi - lo) * r();
  return a;
}

/** A random float32 tensor. */
export function randTensor(r: () => number, shape: number[], lo = -1, hi = 1): Tensor {
  return tensor(randArray(r, shape.reduce((a, b) => a * b, 1), lo, hi), shape);
}

/** Values in [−0.5, 0.5) from a 32-bit LCG: a fixed stream per seed (the thread tests' data). */
export function lcgFloats(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) { s = (Math.imul(s, 1103515245) + 12345) >>> 0; a[i] = s / 2 ** 32 - 0.5; }
  return a;
}

/** A tensor of lcgFloats. */
export function lcgTensor(shape: number[], seed: number): Tensor {
  return tensor(lcgFloats(shape.reduce((a, b) => a * b, 1), seed), shape);
}

/**
 * Assert |actual − expected| ≤ atol + rtol·|expected| elementwise (NaN matches NaN, ±Infinity
 * must match exactly). `context` (shapes, options, seed) is printed on failure.
 */
export function allclose(actual: ArrayLike<number>, expected: ArrayLike<number>, context: string, rtol = 1e-4, atol = 1e-5): void {
  if (actual.length !== expected.length) assert.unreachable(`${context}: length ${actual.length} ≠ expected ${expected.length}`);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i], e = expected[i];
    if (Number.isNaN(e)) {
      if (!Number.isNaN(a)) assert.unreachable(`${context}: [${i}] expected NaN, got ${a}`);
      continue;
    }
    if (!Number.isFinite(e)) {
      if (a !== e) assert.unreachable(`${context}: [${i}] expected ${e}, got ${a}`);
      continue;
    }
    if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e))) {
      assert.unreachable(`${context}: [${i}] got ${a}, expected ${e} (|diff| ${Math.abs(a - e)} > ${atol} + ${rtol}·|expected|)`);
    }
  }
}

/** Assert exact equality (integer outputs such as argmax indices). */
export function equalArrays(actual: ArrayLike<number>, expected: ArrayLike<number>, context: string): void {
  if (actual.length !== expected.length) assert.unreachable(`${context}: length ${actual.length} ≠ expected ${expected.length}`);
  for (let i = 0; i < expected.length; i++) {
    if (actual[i] !== expected[i] && !(Number.isNaN(actual[i]) && Number.isNaN(expected[i]))) {
      assert.unreachable(`${context}: [${i}] got ${actual[i]}, expected ${expected[i]}`);
    }
  }
}

/** Assert that fn throws an error of class `type` whose message contains every fragment. */
export function throwsTyped(fn: () => unknown, type: new (...args: never[]) => Error, ...fragments: string[]): void {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof type)) assert.unreachable(`expected ${type.name}, got ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
    for (const f of fragments) {
      if (!(e as Error).message.includes(f)) assert.unreachable(`error message "${(e as Error).message}" lacks "${f}"`);
    }
    return;
  }
  assert.unreachable(`expected ${type.name} to be thrown`);
}
