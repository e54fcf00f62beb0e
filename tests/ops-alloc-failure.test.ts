// Every op added for the layers frees what it allocated when an allocation fails part-way: the
// allocator is made to throw at its 1st, 2nd, … call until the op succeeds, and after each failed
// call memoryStats() and the allocator's bytes in use must be where they were.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  init, tensor, tidy, memoryStats, OutOfMemoryError, type Tensor,
  add, sub, mul, div, addN, arithmeticBackward, concat, split, pad2d, pad2dBackward,
  batchNorm, batchNormTrain, batchNormBackward, upSampling2d, upSampling2dBackward,
  relu6, hardSigmoid, hardSwish, relu6Backward, hardSigmoidBackward, hardSwishBackward,
} from '../src/index.ts';
import { rt } from '../src/runtime/wasm.ts';
import { randArray, rng } from './helpers.ts';

test.before(async () => {
  await init();
});

/** Run op with the allocator failing at call k = 0, 1, 2, … until it succeeds; check nothing leaks. */
function failEachAllocation(name: string, op: () => unknown): number {
  const heap = rt().heap;
  const original = heap.alloc;
  for (let k = 0; k < 50; k++) {
    const before = memoryStats(), inUse = heap.bytesInUse;
    let calls = 0;
    heap.alloc = function (this: typeof heap, bytes: number) {
      if (calls++ === k) throw new OutOfMemoryError(bytes, heap.bytesInUse, ' (injected)');
      return original.call(this, bytes);
    };
    let failed = false;
    try {
      tidy(() => { op(); });
    } catch (e) {
      if (!(e instanceof OutOfMemoryError)) throw e;
      failed = true;
    } finally {
      heap.alloc = original;
    }
    assert.equal(memoryStats(), before, `${name}: tensors after failing allocation ${k}`);
    assert.is(heap.bytesInUse, inUse, `${name}: bytes in use after failing allocation ${k}`);
    if (!failed) return k;
  }
  assert.unreachable(`${name}: never succeeded`);
  return -1;
}

test('a failed allocation at any point leaves memory where it was', () => {
  const r = rng(5);
  const t = (shape: number[]) => tensor(randArray(r, shape.reduce((a, b) => a * b, 1), 0.5, 2), shape);
  const x = t([2, 3, 5, 6]), g = t([2, 3, 5, 6]), se = t([2, 1, 1, 6]), c6 = t([6]), padded = t([2, 6, 6, 6]), up = t([2, 6, 15, 6]);
  const cases: Array<[string, () => unknown]> = [
    ['add', () => add(x, c6)], ['sub', () => sub(c6, x)], ['mul', () => mul(x, se)], ['div', () => div(x, x)],
    ['addN', () => addN([x, g, x])],
    ['arithmeticBackward(div)', () => arithmeticBackward('div', g, x, se)],
    ['arithmeticBackward(mul)', () => arithmeticBackward('mul', g, c6, x)],
    ['arithmeticBackward(sub)', () => arithmeticBackward('sub', g, x, c6)],
    ['concat', () => concat([x, g, x], { axis: 2 })], ['split', () => split(x, [1, 3, 2])],
    ['pad2d', () => pad2d(x, { padding: [[1, 2], [0, 1]] })],
    ['pad2dBackward', () => pad2dBackward(padded, [2, 3, 5, 6], { padding: [[1, 2], [0, 1]] })],
    ['batchNorm', () => batchNorm(x, { mean: c6, variance: c6, gamma: c6 })],
    ['batchNormTrain', () => batchNormTrain(x, { gamma: c6, beta: c6 })],
    ['batchNormBackward', () => batchNormBackward(g, x, { gamma: c6, mean: c6, invStd: c6 })],
    ['upSampling2d', () => upSampling2d(x, { size: [2, 3], interpolation: 'bilinear' })],
    ['upSampling2dBackward', () => upSampling2dBackward(up, [2, 3, 5, 6], { size: [2, 3] })],
    ['relu6', () => relu6(x)], ['hardSigmoid', () => hardSigmoid(x)], ['hardSwish', () => hardSwish(x)],
    ['relu6Backward', () => relu6Backward(g, x)], ['hardSigmoidBackward', () => hardSigmoidBackward(g, x)], ['hardSwishBackward', () => hardSwishBackward(g, x)],
  ];
  for (const [name, op] of cases) {
    const allocations = failEachAllocation(name, op);
    assert.ok(allocations >= 1, `${name} allocates`);
  }
  for (const k of [x, g, se, c6, padded, up] as Tensor[]) k.dispose();
  assert.is(memoryStats().tensors, 0);
});

test.run();
