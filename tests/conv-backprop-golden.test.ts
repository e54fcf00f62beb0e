import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  init, tidy, memoryStats, biasGrad, conv2dBackpropInput, conv2dBackpropFilter,
  conv2dTransposeBackpropInput, conv2dTransposeBackpropFilter,
} from '../src/index.ts';
import backward from './golden/backward.json';
import { toTensor, values, type GoldenCase } from './golden/decode.ts';
import { allclose } from './helpers.ts';

// PyTorch autograd goldens (float64 from float32 inputs) for the convolution gradients:
// rtol 1e-4, atol 1e-5.
test.before(async () => {
  await init();
});

const cases = (backward as unknown as { cases: GoldenCase[] }).cases;

const run: Record<string, (c: GoldenCase) => ReturnType<typeof toTensor>> = {
  conv2dBackpropInput: (c) => { const { xShape, ...o } = c.options; return conv2dBackpropInput(toTensor(c.inputs.dy), toTensor(c.inputs.w), xShape as number[], o); },
  conv2dBackpropFilter: (c) => { const { wShape, ...o } = c.options; return conv2dBackpropFilter(toTensor(c.inputs.x), toTensor(c.inputs.dy), wShape as number[], o); },
  conv2dTransposeBackpropInput: (c) => { const { xShape, ...o } = c.options; return conv2dTransposeBackpropInput(toTensor(c.inputs.dy), toTensor(c.inputs.w), xShape as number[], o); },
  conv2dTransposeBackpropFilter: (c) => { const { wShape, ...o } = c.options; return conv2dTransposeBackpropFilter(toTensor(c.inputs.x), toTensor(c.inputs.dy), wShape as number[], o); },
  biasGrad: (c) => biasGrad(toTensor(c.inputs.dy)),
};

for (const c of cases.filter((c) => c.op in run)) {
  test(`${c.name} matches PyTorch`, () => {
    tidy(() => {
      const out = run[c.op](c);
      const want = Object.values(c.outputs)[0];
      assert.equal(out.shape, want.shape, c.name);
      allclose(out.toArray(), values(want), c.name, 1e-4, 1e-5);
    });
  });
}

test('golden gradient cases cover every convolution gradient op; no live tensors remain', () => {
  for (const op of Object.keys(run)) assert.ok(cases.some((c) => c.op === op), op);
  assert.is(memoryStats().tensors, 0);
});

test.run();
