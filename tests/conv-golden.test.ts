import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { init, conv2d, conv2dTranspose, memoryStats, tidy } from '../src/index.ts';
import { allclose } from './helpers.ts';
import { cases, toTensor, values } from './golden/decode.ts';

// PyTorch goldens (float64 references from float32 inputs): rtol 1e-4, atol 1e-5.
test.before(async () => {
  await init();
});

const ops = { conv2d, conv2dTranspose } as const;

for (const c of cases.filter((c) => c.op in ops)) {
  test(`${c.name} matches PyTorch`, () => {
    tidy(() => {
      const { x, w, bias } = c.inputs;
      const opts = { ...c.options, ...(bias ? { bias: toTensor(bias) } : {}) };
      const y = ops[c.op as keyof typeof ops](toTensor(x), toTensor(w), opts as never);
      assert.equal(y.shape, c.outputs.y.shape, c.name);
      allclose(y.toArray(), values(c.outputs.y), c.name, 1e-4, 1e-5);
    });
  });
}

test('golden cases cover conv2d and conv2dTranspose; no live tensors remain', () => {
  assert.ok(cases.filter((c) => c.op === 'conv2d').length >= 20);
  assert.ok(cases.filter((c) => c.op === 'conv2dTranspose').length >= 10);
  assert.is(memoryStats().tensors, 0);
});

test.run();
