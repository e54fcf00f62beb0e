import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  init, tidy, memoryStats, type Tensor,
  maxPool2d, adaptiveMaxPool2d, maxPool2dBackward, avgPool2dBackward, adaptiveAvgPool2dBackward,
} from '../src/index.ts';
import { allclose, equalArrays } from './helpers.ts';
import { toTensor, values, type GoldenArray, type GoldenCase } from './golden/decode.ts';
import backward from './golden/backward.json';

// PyTorch gradient goldens (tests/golden/README.md, backward.json): float64 autograd gradients of
// sum(y · dy) from float32 inputs. dx: rtol 1e-5, atol 1e-6 (an f32 sum of at most 9 terms of
// magnitude ≤ 1). For max pooling the recorded forward is also run: our indices must equal
// PyTorch's (converted to NHWC offsets), and routing dy through them gives the same dx.

const cases = (backward as unknown as { cases: GoldenCase[] }).cases;
const POOL_OPS = ['maxPool2dBackward', 'avgPool2dBackward', 'adaptiveAvgPool2dBackward'];
const poolCases = cases.filter((c) => POOL_OPS.includes(c.op));

interface MaxForward { op: 'maxPool2d' | 'adaptiveMaxPool2d'; options: Record<string, unknown>; x: GoldenArray }

test.before(async () => {
  await init();
});

function run(c: GoldenCase): Tensor {
  const { xShape, ...options } = c.options as { xShape: number[] } & Record<string, unknown>;
  switch (c.op) {
    case 'maxPool2dBackward': return maxPool2dBackward(toTensor(c.inputs.dy), toTensor(c.inputs.indices), xShape);
    case 'avgPool2dBackward': return avgPool2dBackward(toTensor(c.inputs.dy), xShape, options as never);
    default: return adaptiveAvgPool2dBackward(toTensor(c.inputs.dy), xShape, options as never);
  }
}

for (const c of poolCases) {
  test(`${c.name} matches PyTorch`, () => {
    tidy(() => {
      const dx = run(c);
      assert.equal(dx.shape, c.outputs.dx.shape, c.name);
      allclose(dx.toArray(), values(c.outputs.dx), c.name, 1e-5, 1e-6);
      const forward = (c as GoldenCase & { meta?: { forward?: MaxForward } }).meta?.forward;
      if (c.op === 'maxPool2dBackward' && forward) {
        const x = toTensor(forward.x), options = { ...forward.options, returnIndices: true } as never;
        const { indices } = forward.op === 'maxPool2d' ? maxPool2d(x, options) : adaptiveMaxPool2d(x, options);
        equalArrays(indices.toArray(), values(c.inputs.indices), `${c.name}: forward indices`);
        const again = maxPool2dBackward(toTensor(c.inputs.dy), indices, (c.options as { xShape: number[] }).xShape);
        equalArrays(again.toArray(), dx.toArray(), `${c.name}: through our own indices`);
      }
    });
  });
}

test('the gradient goldens cover every pooling gradient they hold; no live tensors remain', () => {
  for (const op of POOL_OPS) assert.ok(poolCases.some((c) => c.op === op), `no golden case for ${op}`);
  assert.ok(poolCases.length >= 30, `only ${poolCases.length} pooling gradient cases`);
  assert.ok(poolCases.some((c) => c.name.includes('adaptive') && c.op === 'maxPool2dBackward'), 'adaptive max indices');
  assert.is(memoryStats().tensors, 0);
});

test.run();
