// Constant folding: PyTorch's shape chains become constant Reshape targets with the batch kept
// symbolic (0 = copy input dim 0), Resize sizes become constants, and outputs do not change.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeModel } from '../../src/io/onnx/decode.ts';
import { foldConstants } from '../../src/io/onnx/passes/fold-constants.ts';
import { inferShapes } from '../../src/io/onnx/passes/shapes.ts';
import { ArgumentError } from '../../src/index.ts';
import { allclose, throwsTyped } from '../helpers.ts';
import { MODELS, meta, modelBytes, goldenIO, opCounts, node, graph, value, f32, i64, model } from './helpers.ts';
import { evaluate } from './reference.ts';

const SHAPE_OPS = ['Shape', 'Gather', 'Unsqueeze', 'Concat', 'Constant', 'Slice', 'Cast', 'Squeeze'];

test('lenet: the x.view(x.size(0), -1) chain folds to one Reshape with target [0, -1]', () => {
  const m = decodeModel(modelBytes('lenet'));
  const removed = foldConstants(m);
  assert.is(removed, 6);
  assert.equal(opCounts(m.graph), { Conv: 2, Relu: 3, MaxPool: 2, Reshape: 1, Gemm: 2 });
  const reshape = m.graph.nodes.find((n) => n.opType === 'Reshape')!;
  const target = m.graph.initializers.get(reshape.inputs[1])!;
  assert.equal([target.dtype, target.dims, target.data], ['int64', [2], [0, -1]]);
  // Shape inference now runs through, the batch symbolic.
  assert.equal(inferShapes(m).get(reshape.outputs[0])!.shape, ['N', 128]);
});

for (const name of MODELS) {
  test(`fold ${name}: no shape ops remain, outputs unchanged (f64 reference)`, () => {
    const m = decodeModel(modelBytes(name));
    const info = meta(name);
    const { input } = goldenIO(name);
    const x = { input: { shape: info.input.shape, data: Float64Array.from(input) } };
    const before = evaluate(m, x).output;
    foldConstants(m);
    for (const n of m.graph.nodes) assert.not.ok(SHAPE_OPS.includes(n.opType) && n.opType !== 'Concat' || (n.opType === 'Concat' && m.graph.initializers.has(n.inputs[0])), `${name}: ${n.opType} '${n.name}' left`);
    allclose(evaluate(m, x).output.data, before.data, `${name} folded vs original`, 0, 0);
    inferShapes(m);
  });
}

test('decoder: Shape → Slice → Concat for Resize sizes folds to the constant [1, 4, 30, 30]', () => {
  const m = decodeModel(modelBytes('decoder'));
  foldConstants(m);
  const resize = m.graph.nodes.filter((n) => n.opType === 'Resize')[2];
  assert.equal(Array.from(m.graph.initializers.get(resize.inputs[3])!.data as number[]), [1, 4, 30, 30]);
});

test('static batch: Reshape(x, Concat(Unsqueeze(Gather(Shape(x), 0)), [-1])) still folds to [0, -1]', () => {
  const g = graph([value('x', [3, 2, 2, 2])], [value('y', null)], [i64('zero', [], [0]), i64('minus', [1], [-1])], [
    node('Shape', ['x'], ['s']),
    node('Gather', ['s', 'zero'], ['b'], { axis: 0 }),
    node('Unsqueeze', ['b'], ['b1'], { axes: [0] }),
    node('Concat', ['b1', 'minus'], ['t'], { axis: 0 }),
    node('Reshape', ['x', 't'], ['y']),
  ]);
  const m = model(g, 11);
  foldConstants(m);
  assert.equal(opCounts(m.graph), { Reshape: 1 });
  assert.equal(m.graph.initializers.get(m.graph.nodes[0].inputs[1])!.data, [0, -1]);
  assert.equal([...m.graph.initializers.keys()].length, 1);
});

test('opset 13 forms (Unsqueeze axes as input), Cast, Squeeze, Slice, integer Mul: x.view(-1, C*H*W)', () => {
  const g = graph([value('x', ['N', 2, 3, 4])], [value('y', null)], [i64('ax', [1], [0]), i64('one', [1], [1]), i64('end', [1], [4]), i64('m1', [1], [-1])], [
    node('Shape', ['x'], ['s']),
    node('Slice', ['s', 'one', 'end'], ['chw']),                     // [2, 3, 4]
    node('Cast', ['chw'], ['chw32'], { to: 6 }),
    node('Gather', ['chw32', 'ax'], ['c']),                           // [2]
    node('Squeeze', ['c', 'ax'], ['c0']),                             // 2
    node('Gather', ['chw32', 'one'], ['h']),                          // [3]
    node('Mul', ['c', 'h'], ['ch']),                                  // [6]
    node('Cast', ['ch'], ['ch64'], { to: 7 }),
    node('Unsqueeze', ['c0', 'ax'], ['c1']),                          // [2] again
    node('Mul', ['ch64', 'end'], ['chw_n']),                          // [24]
    node('Concat', ['m1', 'chw_n'], ['t'], { axis: 0 }),
    node('Reshape', ['x', 't'], ['y']),
  ]);
  const m = model(g, 13);
  foldConstants(m);
  assert.equal(opCounts(m.graph), { Reshape: 1 });
  assert.equal(m.graph.initializers.get(m.graph.nodes[0].inputs[1])!.data, [-1, 24]);
  assert.equal(inferShapes(m).get('y')!.shape, ['N', 24]);
});

test('a symbolic batch that feeds something other than a Reshape target cannot fold: ArgumentError naming the node', () => {
  const g = graph([value('x', ['N', 2, 3, 3])], [value('y', null)], [i64('zero', [1], [0]), i64('hw', [2], [6, 6]), { name: 'roi', dims: [0], dtype: 'float32', data: new Float32Array(0) }], [
    node('Shape', ['x'], ['s']),
    node('Gather', ['s', 'zero'], ['b']),
    node('Concat', ['b', 'b', 'hw'], ['sizes'], { axis: 0 }),
    node('Resize', ['x', 'roi', '', 'sizes'], ['y'], { mode: 'nearest' }),
  ]);
  const m = model(g, 13);
  throwsTyped(() => foldConstants(m), ArgumentError, "node 'Resize_y' (Resize)", "'sizes' must be a constant");
});

test('Constant nodes (value, value_ints, value_float) become initializers; float arithmetic on constants folds', () => {
  const g = graph([value('x', [1, 4])], [value('y', null)], [], [
    node('Constant', [], ['a'], { value: f32('', [4], [1, 2, 3, 4]) }),
    node('Constant', [], ['b'], { value_float: { float: 0.5 } }),
    node('Mul', ['a', 'b'], ['ab']),
    node('Add', ['x', 'ab'], ['y']),
  ]);
  const m = model(g);
  foldConstants(m);
  assert.equal(opCounts(m.graph), { Add: 1 });
  assert.equal(Array.from(m.graph.initializers.get('ab')!.data), [0.5, 1, 1.5, 2]);
});

test.run();
