// The SIMD build is embedded as a delta against the relaxed-SIMD build (src/runtime/delta.ts):
// round trips on random and real bytes, and a corrupt delta is an error, never a hang.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { applyDelta, makeDelta } from '../src/runtime/delta.js';
import { rng } from './helpers.js';

const roundTrip = (base: Uint8Array, target: Uint8Array): Uint8Array => {
  const delta = makeDelta(base, target);
  assert.equal(Array.from(applyDelta(base, delta)), Array.from(target));
  return delta;
};

test('the SIMD build rebuilds from the relaxed build in a few KiB', () => {
  const base = readFileSync('build/relaxed-simd.wasm'), target = readFileSync('build/simd.wasm');
  const delta = roundTrip(base, target);
  assert.ok(delta.length < 8192, `delta ${delta.length} bytes`);
  assert.equal(Array.from(readFileSync('build/simd-delta.bin')), Array.from(delta));
});

test('random edits, moves, empty and unrelated targets round-trip', () => {
  const r = rng(7);
  const bytes = (n: number, alphabet = 256) => Uint8Array.from({ length: n }, () => Math.floor(r() * alphabet));
  for (let trial = 0; trial < 40; trial++) {
    const base = bytes(1 + Math.floor(r() * 3000), trial % 2 ? 4 : 256);
    const parts: number[] = [];
    for (let k = 0; k < 6; k++) {
      const from = Math.floor(r() * base.length), len = Math.floor(r() * 400);
      parts.push(...base.subarray(from, from + len), ...bytes(Math.floor(r() * 20)));
    }
    roundTrip(base, Uint8Array.from(parts));
  }
  roundTrip(bytes(100), new Uint8Array(0));
  roundTrip(new Uint8Array(0), bytes(50));
  roundTrip(bytes(500), bytes(500));
});

test('a corrupt delta throws', () => {
  const base = Uint8Array.from({ length: 64 }, (_, i) => i);
  const good = makeDelta(base, base.subarray(10, 40));
  for (let cut = 0; cut < good.length; cut++) assert.throws(() => applyDelta(base, good.subarray(0, cut)), /delta/);
  assert.throws(() => applyDelta(base, Uint8Array.from([10, 0, 5, 200, 1])), /copy out of range/);
  assert.throws(() => applyDelta(base, Uint8Array.from([10, 0, 0, 0])), /empty record/);
  assert.throws(() => applyDelta(base, Uint8Array.from([2, 9, 1, 2])), /literal out of range/);
});

test.run();
