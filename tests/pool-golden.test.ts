import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  init, tensor, tidy, memoryStats, type Tensor,
  maxPool2d, avgPool2d, adaptiveAvgPool2d, adaptiveMaxPool2d,
} from '../src/index.ts';
import { allclose, equalArrays } from './helpers.ts';
import goldens from './golden/goldens.json';

// PyTorch goldens (tests/golden/README.md): float64 references computed from float32 inputs.
// Values: rtol 1e-5 (atol 1e-6 for averages near zero); argmax indices exactly. The goldens hold
// no window with two NaNs, where PyTorch (last NaN) and simdcnn (first NaN) would differ.

interface GoldenArray { shape: number[]; dtype: 'float32' | 'int32'; data: Array<number | string> }
interface GoldenCase {
  name: string;
  op: string;
  options: Record<string, unknown>;
  inputs: Record<string, GoldenArray>;
  outputs: Record<string, GoldenArray>;
}

const cases = (goldens as unknown as { cases: GoldenCase[] }).cases;

/** Numbers, with "NaN" / "Infinity" / "-Infinity" decoded. */
function values(a: GoldenArray): number[] {
  return a.data.map((v) => (typeof v === 'number' ? v : Number(v)));
}

type PoolOp = (x: Tensor, options: never) => Tensor | { output: Tensor; indices: Tensor };
const ops: Record<string, PoolOp> = { maxPool2d, avgPool2d, adaptiveAvgPool2d, adaptiveMaxPool2d } as never;
const poolCases = cases.filter((c) => c.op in ops);

test.before(async () => {
  await init();
});

for (const c of poolCases) {
  test(`${c.name} matches PyTorch`, () => {
    tidy(() => {
      const x = tensor(values(c.inputs.x), c.inputs.x.shape);
      const result = ops[c.op](x, c.options as never);
      const { output, indices } = 'output' in result ? result : { output: result, indices: null };
      const want = c.outputs.y;
      assert.equal(output.shape, want.shape, c.name);
      allclose(output.toArray(), values(want), c.name, 1e-5, 1e-6);
      const wantIndices = c.outputs.indices;
      assert.is(indices !== null, wantIndices !== undefined, `${c.name}: indices returned iff the golden has them`);
      if (indices && wantIndices) {
        assert.equal(indices.shape, wantIndices.shape, c.name);
        equalArrays(indices.toArray(), values(wantIndices), `${c.name} indices`);
      }
    });
  });
}

test('golden cases cover every pooling op with goldens; no live tensors remain', () => {
  for (const op of Object.keys(ops)) assert.ok(poolCases.some((c) => c.op === op), `no golden case for ${op}`);
  assert.ok(poolCases.length >= 40, `only ${poolCases.length} pooling cases`);
  assert.is(memoryStats().tensors, 0);
});

test.run();
