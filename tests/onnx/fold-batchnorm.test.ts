// BatchNormalization folding into Conv / ConvTranspose: no BatchNormalization left where it can
// fold, the same outputs (f64 reference; the folded weights are rounded to f32 once), and the
// cases that must not fold left alone.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeModel } from '../../src/io/onnx/decode.ts';
import { foldBatchNorm } from '../../src/io/onnx/passes/fold-batchnorm.ts';
import { allclose } from '../helpers.ts';
import { meta, modelBytes, goldenIO, opCounts, node, graph, value, f32, model, randomFloats } from './helpers.ts';
import { evaluate, type Value } from './reference.ts';

test('residual: the three BatchNormalizations fold into their convolutions, outputs unchanged', () => {
  const m = decodeModel(modelBytes('residual'));
  const { input, output } = goldenIO('residual');
  const x = { input: { shape: meta('residual').input.shape, data: Float64Array.from(input) } };
  const before = evaluate(m, x).output;
  assert.is(foldBatchNorm(m.graph), 3);
  assert.equal(opCounts(m.graph), { Conv: 3, Relu: 3, Add: 1, MaxPool: 1, Flatten: 1, Gemm: 1 });
  // Only the folded weights remain: 3 conv weights + 3 biases + fc weight + bias.
  assert.is(m.graph.initializers.size, 8);
  const after = evaluate(m, x).output;
  allclose(after.data, before.data, 'residual folded vs unfolded (rtol 1e-5: f32 rounding of W·s)', 1e-5, 1e-6);
  allclose(after.data, output, 'residual folded vs PyTorch', 1e-4, 1e-5);
});

const bnParams = (c: number, seed: number) => [
  f32('gamma', [c], Array.from(randomFloats(seed, c), (v) => v + 1.5)),
  f32('beta', [c], randomFloats(seed + 1, c)),
  f32('mean', [c], randomFloats(seed + 2, c)),
  f32('var', [c], Array.from(randomFloats(seed + 3, c), (v) => v + 1.2)),
];

function check(opType: 'Conv' | 'ConvTranspose', group: number, bias: boolean): void {
  const cin = 4, cout = 6;
  const wDims = opType === 'Conv' ? [cout, cin / group, 3, 3] : [cin, cout / group, 3, 3];
  const inits = [f32('w', wDims, randomFloats(7, wDims.reduce((a, b) => a * b))), ...bnParams(cout, 11)];
  if (bias) inits.push(f32('b', [cout], randomFloats(9, cout)));
  const g = graph([value('x', [2, cin, 5, 5])], [value('y', null)], inits, [
    node(opType, ['x', 'w', ...(bias ? ['b'] : [])], ['c'], { group, strides: [2, 2], pads: [1, 1, 1, 1] }),
    node('BatchNormalization', ['c', 'gamma', 'beta', 'mean', 'var'], ['y'], { epsilon: { float: 1e-3 } }),
  ]);
  const m = model(g);
  const x: Record<string, Value> = { x: { shape: [2, cin, 5, 5], data: Float64Array.from(randomFloats(3, 2 * cin * 25)) } };
  const before = evaluate(m, x).y;
  assert.is(foldBatchNorm(m.graph), 1, `${opType} group ${group}`);
  assert.equal(opCounts(m.graph), { [opType]: 1 });
  assert.is(m.graph.nodes[0].outputs[0], 'y');
  allclose(evaluate(m, x).y.data, before.data, `${opType} group ${group} bias ${bias}`, 1e-5, 1e-5);
}

test('hand-built Conv/ConvTranspose, grouped or not, with and without bias: fold is exact to f32 rounding', () => {
  for (const op of ['Conv', 'ConvTranspose'] as const) for (const group of [1, 2]) for (const bias of [true, false]) check(op, group, bias);
});

test('no fold when the conv output has another reader, is a graph output, or the weights are not initializers', () => {
  const inits = [f32('w', [2, 2, 1, 1], [1, 2, 3, 4]), ...bnParams(2, 1)];
  const bn = node('BatchNormalization', ['c', 'gamma', 'beta', 'mean', 'var'], ['y']);
  const shared = graph([value('x', [1, 2, 2, 2])], [value('y', null), value('z', null)], inits, [
    node('Conv', ['x', 'w'], ['c']), bn, node('Relu', ['c'], ['z'])]);
  assert.is(foldBatchNorm(shared), 0);
  const out = graph([value('x', [1, 2, 2, 2])], [value('y', null), value('c', null)], inits, [node('Conv', ['x', 'w'], ['c']), bn]);
  assert.is(foldBatchNorm(out), 0);
  const dynamic = graph([value('x', [1, 2, 2, 2]), value('w', [2, 2, 1, 1])], [value('y', null)], inits.slice(1), [node('Conv', ['x', 'w'], ['c']), bn]);
  assert.is(foldBatchNorm(dynamic), 0);
  const afterRelu = graph([value('x', [1, 2, 2, 2])], [value('y', null)], inits, [
    node('Conv', ['x', 'w'], ['r']), node('Relu', ['r'], ['c']), bn]);
  assert.is(foldBatchNorm(afterRelu), 0);
  assert.is(afterRelu.nodes.length, 3);
});

test.run();
