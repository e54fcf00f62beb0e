// Shape inference: ONNX's size rules for every supported operator, checked on hand-built one-node
// graphs (values worked out by hand or by PyTorch), and on the generated models against the
// shapes PyTorch reported.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ArgumentError, ShapeError } from '../../src/index.ts';
import { decodeModel } from '../../src/io/onnx/decode.ts';
import { foldConstants } from '../../src/io/onnx/passes/fold-constants.ts';
import { inferShapes, poolSize, resolveConvTransposePads } from '../../src/io/onnx/passes/shapes.ts';
import type { Dim, Tensor } from '../../src/io/onnx/ir.ts';
import { throwsTyped } from '../helpers.ts';
import { MODELS, meta, modelBytes, node, graph, value, f32, i64, model } from './helpers.ts';

type Attrs = Parameters<typeof node>[3];

/** The output shape of one node `op` on inputs of the given shapes (constants where given). */
function infer(op: string, inputs: Array<Dim[] | Tensor | ''>, attrs: Attrs = {}, opset = 13, outputs = 1): Dim[] {
  const names = inputs.map((v, k) => (v === '' ? '' : `i${k}`));
  const runtime = inputs.flatMap((v, k) => (Array.isArray(v) ? [value(`i${k}`, v)] : []));
  const inits = inputs.flatMap((v, k) => (v !== '' && !Array.isArray(v) ? [{ ...v, name: `i${k}` }] : []));
  const outs = Array.from({ length: outputs }, (_, k) => `o${k}`);
  const m = model(graph(runtime, [value('o0', null)], inits, [node(op, names, outs, attrs, 'n')]), opset);
  return inferShapes(m).get('o0')!.shape;
}

const zeros = (dims: number[]): Tensor => f32('', dims, new Float32Array(dims.reduce((a, b) => a * b, 1)));

test('Conv: pads, strides, dilations, groups, every auto_pad', () => {
  assert.equal(infer('Conv', [[1, 3, 224, 224], zeros([64, 3, 7, 7])], { strides: [2, 2], pads: [3, 3, 3, 3] }), [1, 64, 112, 112]);
  assert.equal(infer('Conv', [['N', 8, 10, 9], zeros([8, 1, 3, 3])], { group: 8, dilations: [2, 2] }), ['N', 8, 6, 5]);
  for (const autoPad of ['SAME_UPPER', 'SAME_LOWER']) assert.equal(infer('Conv', [[1, 2, 7, 8], zeros([4, 2, 3, 3])], { auto_pad: autoPad, strides: [2, 2] }), [1, 4, 4, 4]);
  assert.equal(infer('Conv', [[1, 2, 7, 8], zeros([4, 2, 3, 3])], { auto_pad: 'VALID', strides: [2, 2] }), [1, 4, 3, 3]);
  assert.equal(infer('Conv', [[1, 2, 9], zeros([4, 2, 3])], {}), [1, 4, 7]);
  throwsTyped(() => infer('Conv', [[1, 3, 8, 8], zeros([4, 2, 3, 3])]), ShapeError, "node 'n' (Conv)", '3 channels');
  throwsTyped(() => infer('Conv', [[1, 2, 2, 2], zeros([4, 2, 3, 3])]), ShapeError, 'below 1');
});

test('ConvTranspose: output_padding, output_shape, groups, SAME', () => {
  // PyTorch: ConvTranspose2d(6, 4, 3, stride 2, padding 1, output_padding 1) on 8×8 → 16×16.
  assert.equal(infer('ConvTranspose', [[1, 6, 8, 8], zeros([6, 4, 3, 3])], { strides: [2, 2], pads: [1, 1, 1, 1], output_padding: [1, 1] }), [1, 4, 16, 16]);
  assert.equal(infer('ConvTranspose', [[1, 6, 8, 8], zeros([6, 2, 3, 3])], { strides: [2, 2], group: 3, output_shape: [17, 15] }), [1, 6, 17, 15]);
  assert.equal(infer('ConvTranspose', [[1, 6, 5, 5], zeros([6, 4, 4, 4])], { strides: [2, 2], auto_pad: 'SAME_UPPER' }), [1, 4, 10, 10]);
  assert.equal(infer('ConvTranspose', [[1, 6, 5, 5], zeros([6, 4, 3, 3])], { dilations: [2, 2] }), [1, 4, 9, 9]);
});

test('ConvTranspose pads resolved as ONNX Runtime does (SAME_UPPER/LOWER, output_shape, oversize output_shape)', () => {
  const ct = (attrs: Attrs) => node('ConvTranspose', ['x', 'w'], ['y'], attrs);
  assert.equal(resolveConvTransposePads(ct({ auto_pad: 'SAME_UPPER' }), [5, 5], [3, 3], [2, 2], [1, 1]), { pads: [0, 0, 1, 1], outputPadding: [0, 0] });
  assert.equal(resolveConvTransposePads(ct({ auto_pad: 'SAME_LOWER' }), [5, 5], [3, 3], [2, 2], [1, 1]), { pads: [1, 1, 0, 0], outputPadding: [0, 0] });
  assert.equal(resolveConvTransposePads(ct({ output_shape: [17, 15] }), [8, 8], [3, 3], [2, 2], [1, 1]), { pads: [0, 1, 0, 1], outputPadding: [0, 0] });
  assert.equal(resolveConvTransposePads(ct({ output_shape: [18, 18] }), [8, 8], [3, 3], [2, 2], [1, 1]), { pads: [0, 0, 0, 0], outputPadding: [1, 1] });
  assert.equal(infer('ConvTranspose', [[1, 6, 8, 8], zeros([6, 4, 3, 3])], { strides: [2, 2], output_shape: [1, 4, 18, 18] }), [1, 4, 18, 18]);
  assert.equal(resolveConvTransposePads(ct({ pads: [1, 2, 3, 4], output_padding: [1, 0] }), [5, 5], [3, 3], [2, 2], [1, 1]), { pads: [1, 2, 3, 4], outputPadding: [1, 0] });
  throwsTyped(() => resolveConvTransposePads(ct({ output_padding: [2, 0] }), [5, 5], [3, 3], [2, 2], [1, 1]), ArgumentError, 'output_padding [2,0]');
});

test('pooling: ceil_mode (with PyTorch\'s last-window rule), pads, count_include_pad irrelevant to size, LpPool, global', () => {
  assert.equal(infer('MaxPool', [[1, 8, 112, 112]], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }), [1, 8, 56, 56]);
  assert.equal(infer('MaxPool', [[1, 8, 10, 10]], { kernel_shape: [3, 3], strides: [2, 2], ceil_mode: 1 }), [1, 8, 5, 5]);
  assert.equal(infer('MaxPool', [[1, 8, 10, 10]], { kernel_shape: [3, 3], strides: [2, 2] }), [1, 8, 4, 4]);
  // 6 with k 2 s 2 pad 1 ceil: ceil(6/2)+1 = 4, but window 3 would start at 6 ≥ 6 + 1? no: (4-1)·2 = 6 < 7 → 4.
  assert.is(poolSize(6, 2, 2, 1, 1, 1, true), 4);
  // 5 with k 2 s 2 ceil, no pad: ceil(3/2)+1 = 3, window 2 starts at 4 < 5 → 3; with k 1 s 2 on 4: ceil(3/2)+1 = 3, starts at 4 ≥ 4 → 2.
  assert.is(poolSize(5, 2, 2, 1, 0, 0, true), 3);
  assert.is(poolSize(4, 1, 2, 1, 0, 0, true), 2);
  assert.equal(infer('AveragePool', [[2, 3, 7, 7]], { kernel_shape: [2, 2], strides: [2, 2], pads: [1, 1, 1, 1], count_include_pad: 1 }), [2, 3, 4, 4]);
  assert.equal(infer('LpPool', [[2, 3, 7, 7]], { kernel_shape: [3, 3], p: 2 }), [2, 3, 5, 5]);
  assert.equal(infer('GlobalAveragePool', [['N', 3, 7, 5]]), ['N', 3, 1, 1]);
  assert.equal(infer('GlobalMaxPool', [[1, 3, 7, 5]]), [1, 3, 1, 1]);
  assert.equal(infer('MaxPool', [[1, 8, 7, 7]], { kernel_shape: [3, 3], auto_pad: 'SAME_UPPER', strides: [2, 2] }), [1, 8, 4, 4]);
});

test('Flatten, Reshape (0, -1, symbolic batch), Transpose, Squeeze/Unsqueeze (attribute < 13, input ≥ 13)', () => {
  assert.equal(infer('Flatten', [['N', 8, 4, 4]], { axis: 1 }), ['N', 128]);
  assert.equal(infer('Flatten', [[2, 8, 4, 4]], { axis: 2 }), [16, 16]);
  assert.equal(infer('Flatten', [[2, 8, 4, 4]], { axis: 0 }), [1, 256]);
  assert.equal(infer('Reshape', [['N', 8, 4, 4], i64('', [2], [0, -1])]), ['N', 128]);
  assert.equal(infer('Reshape', [['N', 8, 4, 4], i64('', [2], [-1, 128])]), ['N', 128]);
  assert.equal(infer('Reshape', [[2, 8, 4, 4], i64('', [3], [2, -1, 4])]), [2, 32, 4]);
  throwsTyped(() => infer('Reshape', [['N', 8, 4, 4], i64('', [2], [2, -1])]), ArgumentError, 'symbolic batch');
  throwsTyped(() => infer('Reshape', [[2, 8], i64('', [2], [3, -1])]), ShapeError, 'cannot reshape');
  assert.equal(infer('Transpose', [[1, 2, 3, 4]], { perm: [0, 2, 3, 1] }), [1, 3, 4, 2]);
  assert.equal(infer('Transpose', [[1, 2, 3]]), [3, 2, 1]);
  assert.equal(infer('Squeeze', [[1, 8, 1, 1]], { axes: [2, 3] }, 11), [1, 8]);
  assert.equal(infer('Squeeze', [[1, 8, 1, 1], i64('', [2], [-1, -2])], {}, 13), [1, 8]);
  assert.equal(infer('Squeeze', [[1, 8, 1, 1]], {}, 13), [8]);
  assert.equal(infer('Unsqueeze', [['N', 8], i64('', [2], [2, 3])], {}, 13), ['N', 8, 1, 1]);
  assert.equal(infer('Unsqueeze', [['N', 8]], { axes: [-1] }, 11), ['N', 8, 1]);
  throwsTyped(() => infer('Squeeze', [[1, 8, 2]], { axes: [2] }, 11), ShapeError, 'size 2');
});

test('Gemm (transA/transB, C broadcast), MatMul, broadcasting Add/Mul, Concat, PRelu', () => {
  assert.equal(infer('Gemm', [['N', 128], zeros([10, 128]), zeros([10])], { transB: 1 }), ['N', 10]);
  assert.equal(infer('Gemm', [[128, 3], zeros([128, 10])], { transA: 1, alpha: { float: 0.5 } }), [3, 10]);
  throwsTyped(() => infer('Gemm', [[3, 128], zeros([10, 128])]), ShapeError, 'do not multiply');
  assert.equal(infer('MatMul', [['N', 128], zeros([128, 10])]), ['N', 10]);
  assert.equal(infer('MatMul', [[2, 5, 3], zeros([3])]), [2, 5]);
  assert.equal(infer('Mul', [['N', 8, 4, 4], ['N', 8, 1, 1]]), ['N', 8, 4, 4]);
  assert.equal(infer('Add', [[2, 8, 4, 4], zeros([8, 1, 1])]), [2, 8, 4, 4]);
  throwsTyped(() => infer('Add', [[2, 8, 4, 4], zeros([3, 1, 1])]), ShapeError, 'do not broadcast');
  assert.equal(infer('Concat', [['N', 4, 5, 5], ['N', 6, 5, 5], ['N', 3, 5, 5]], { axis: 1 }), ['N', 13, 5, 5]);
  assert.equal(infer('Concat', [[1, 4, 5, 5], [1, 4, 5, 5]], { axis: -1 }), [1, 4, 5, 10]);
  throwsTyped(() => infer('Concat', [[1, 4, 5, 5], [1, 4, 6, 5]], { axis: 1 }), ShapeError, 'off axis 1');
  assert.equal(infer('PRelu', [[1, 4, 5, 5], zeros([4, 1, 1])]), [1, 4, 5, 5]);
});

test('Pad (attribute < 11, input ≥ 11), Resize/Upsample (scales or sizes, modes), Clip (inputs ≥ 11), Softmax axes, ReduceMean', () => {
  assert.equal(infer('Pad', [[1, 3, 5, 5]], { pads: [0, 0, 1, 2, 0, 0, 3, 4] }, 10), [1, 3, 9, 11]);
  assert.equal(infer('Pad', [[1, 3, 5, 5], i64('', [8], [0, 0, 1, 2, 0, 0, 3, 4])], { mode: 'constant' }, 11), [1, 3, 9, 11]);
  assert.equal(infer('Pad', [[1, 3, 5, 5], i64('', [4], [1, 2, 3, 4]), '', i64('', [2], [2, 3])], {}, 18), [1, 3, 9, 11]);
  const noRoi = f32('', [0], []);
  assert.equal(infer('Resize', [['N', 3, 5, 5], noRoi, f32('', [4], [1, 1, 2, 2])], { mode: 'nearest', coordinate_transformation_mode: 'asymmetric' }), ['N', 3, 10, 10]);
  assert.equal(infer('Resize', [[1, 3, 5, 5], noRoi, '', i64('', [4], [1, 3, 7, 9])], { mode: 'linear', coordinate_transformation_mode: 'align_corners' }), [1, 3, 7, 9]);
  assert.equal(infer('Resize', [[1, 3, 5, 5], noRoi, f32('', [4], [1, 1, 1.5, 1.5])], { mode: 'linear', coordinate_transformation_mode: 'pytorch_half_pixel' }), [1, 3, 7, 7]);
  assert.equal(infer('Resize', [[1, 3, 5, 5], f32('', [4], [1, 1, 2, 2])], { mode: 'nearest' }, 10), [1, 3, 10, 10]);
  assert.equal(infer('Upsample', [[1, 3, 5, 5], f32('', [4], [1, 1, 2, 3])], { mode: 'nearest' }, 9), [1, 3, 10, 15]);
  throwsTyped(() => infer('Resize', [[1, 3, 5, 5], noRoi, f32('', [4], [1, 1, 2, 2])], { mode: 'cubic' }), ArgumentError, "mode 'cubic'");
  throwsTyped(() => infer('Resize', [[1, 3, 5, 5], noRoi, f32('', [4], [1, 1, 2, 2])], { coordinate_transformation_mode: 'tf_crop_and_resize' }), ArgumentError, 'tf_crop_and_resize');
  assert.equal(infer('Clip', [[1, 3, 5, 5], f32('', [], [0]), f32('', [], [6])], {}, 11), [1, 3, 5, 5]);
  assert.equal(infer('Softmax', [['N', 10]], { axis: 1 }, 11), ['N', 10]);
  throwsTyped(() => infer('Softmax', [['N', 10]], { axis: 2 }, 13), ArgumentError, 'axis 2 out of range');
  assert.equal(infer('ReduceMean', [[1, 8, 5, 5]], { axes: [2, 3] }, 13), [1, 8, 1, 1]);
  assert.equal(infer('ReduceMean', [[1, 8, 5, 5], i64('', [2], [2, 3])], { keepdims: 0 }, 18), [1, 8]);
  for (const op of ['Relu', 'LeakyRelu', 'Elu', 'Selu', 'Sigmoid', 'HardSigmoid', 'HardSwish', 'Tanh', 'LogSoftmax', 'Identity', 'Dropout']) {
    assert.equal(infer(op, [[2, 3, 4, 5]]), [2, 3, 4, 5], op);
  }
  assert.equal(infer('BatchNormalization', [[2, 3, 4, 5], zeros([3]), zeros([3]), zeros([3]), zeros([3])]), [2, 3, 4, 5]);
});

test('an operator outside the set, or from another domain: ArgumentError naming op, node and opset', () => {
  throwsTyped(() => infer('LSTM', [[1, 2, 3]], {}, 17), ArgumentError, "onnx: unsupported operator 'LSTM' (node 'n', opset 17)");
  const g = graph([value('x', [1, 2])], [value('y', null)], [], [{ ...node('FusedConv', ['x'], ['y'], {}, 'f'), domain: 'com.microsoft' }]);
  throwsTyped(() => inferShapes(model(g, 13)), ArgumentError, "'com.microsoft.FusedConv' (node 'f', opset 13)");
  throwsTyped(() => inferShapes(model(graph([value('x', [1, 'H', 4])], [value('y', null)], [], [node('Relu', ['x'], ['y'])]))), ArgumentError, "symbolic dim 'H' at axis 1");
  throwsTyped(() => inferShapes(model(graph([value('x', ['N', 3, 2 ** 20, 2 ** 20])], [value('y', null)], [], [node('Relu', ['x'], ['y'])]))), ArgumentError, "graph input 'x'", 'more than 2^31');
  throwsTyped(() => inferShapes(model(graph([value('x', null)], [value('y', null)], [], [node('Relu', ['x'], ['y'])]))), ArgumentError, "graph input 'x' has no shape");
});

for (const name of MODELS) {
  test(`shapes of ${name} after folding: the output shape is PyTorch's`, () => {
    const m = decodeModel(modelBytes(name));
    foldConstants(m);
    const shapes = inferShapes(m);
    const info = meta(name);
    const expected: Dim[] = info.output.shape.slice();
    if (info.dynamicBatch) expected[0] = 'N';
    assert.equal(shapes.get('output')!.shape, expected);
    for (const n of m.graph.nodes) for (const o of n.outputs) assert.ok(shapes.has(o), `${name}: ${o}`);
  });
}

test.run();
