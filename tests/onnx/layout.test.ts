// The NCHW → NHWC layout analysis: feature maps channels-last, Concat/Softmax/Reduce axes in simdcnn
// terms, flatten-after-conv as an HWC flatten whose permutation the next dense layer absorbs
// (checked numerically), Transposes made free, and flattens that must materialise.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decodeModel } from '../../src/io/onnx/decode.ts';
import { optimize } from '../../src/io/onnx/passes/index.ts';
import { analyzeLayout, flattenGather, transposeBetween } from '../../src/io/onnx/passes/layout.ts';
import { inferShapes } from '../../src/io/onnx/passes/shapes.ts';
import type { Model, Tensor } from '../../src/io/onnx/ir.ts';
import { allclose } from '../helpers.ts';
import { MODELS, meta, modelBytes, goldenIO, node, graph, value, f32, i64, model, randomFloats } from './helpers.ts';
import { evaluateAll } from './reference.ts';

const NHWC = [0, 2, 3, 1];

function prepared(name: string): Model {
  const m = decodeModel(modelBytes(name));
  optimize(m);
  return m;
}

test('flattenGather: simdcnn row (h·W + w)·C + c reads ONNX row (c·H + h)·W + w', () => {
  assert.equal(Array.from(flattenGather(2, 1, 3)), [0, 3, 1, 4, 2, 5]);
  assert.equal(Array.from(flattenGather(1, 2, 2)), [0, 1, 2, 3]);
});

for (const name of ['lenet', 'residual', 'inception'] as const) {
  test(`${name}: maps are NHWC, the flatten is HWC, and the dense layer's permuted weights give ONNX's result`, () => {
    const m = prepared(name);
    const g = m.graph;
    assert.equal(g.layouts!.get('input'), { perm: NHWC, featureMap: true });
    const flat = g.nodes.find((n) => n.opType === 'Reshape' || n.opType === 'Flatten')!;
    assert.is(g.nodeLayouts!.get(flat.name)!.reshape, 'flatten-hwc');
    const f = g.layouts!.get(flat.outputs[0])!;
    assert.ok(f.flat, 'flat mark');
    const gemm = g.nodes.find((n) => n.opType === 'Gemm' && n.inputs[0] === flat.outputs[0])!;
    const rows = g.nodeLayouts!.get(gemm.name)!.weightRows!;
    const { channels: C, height: H, width: W } = f.flat!;
    assert.is(rows.length, C * H * W);
    // Numerically: NHWC-flatten the map, multiply by the row-permuted weights, compare with ONNX.
    const info = meta(name);
    const env = evaluateAll(m, { input: { shape: info.input.shape, data: Float64Array.from(goldenIO(name).input) } });
    const map = env.get(flat.inputs[0])!, y = env.get(gemm.outputs[0])!;
    const w = g.initializers.get(gemm.inputs[1])!, b = g.initializers.get(gemm.inputs[2])!;
    const [units] = w.dims, n = map.shape[0];
    const got = new Float64Array(n * units);
    for (let i = 0; i < n; i++) {
      const nhwc = new Float64Array(C * H * W);
      for (let c = 0; c < C; c++) for (let h = 0; h < H; h++) for (let x = 0; x < W; x++) nhwc[(h * W + x) * C + c] = map.data[((i * C + c) * H + h) * W + x];
      for (let u = 0; u < units; u++) {
        let s = b.data[u];
        for (let r = 0; r < rows.length; r++) s += nhwc[r] * w.data[u * rows.length + rows[r]]; // transB = 1: W [units, features]
        got[i * units + u] = s;
      }
    }
    allclose(got, y.data, `${name}: dense on NHWC flatten with gathered rows`, 1e-12, 1e-12);
  });
}

test('every generated model gets a layout for every value; spatial outputs are feature maps', () => {
  for (const name of MODELS) {
    const m = prepared(name);
    for (const n of m.graph.nodes) for (const o of n.outputs) assert.ok(m.graph.layouts!.has(o), `${name}: ${o}`);
    for (const n of m.graph.nodes) {
      if (['Conv', 'ConvTranspose', 'MaxPool', 'AveragePool', 'GlobalAveragePool', 'Resize'].includes(n.opType)) {
        assert.ok(m.graph.layouts!.get(n.outputs[0])!.featureMap, `${name}: ${n.name}`);
        assert.not.ok(m.graph.nodeLayouts!.get(n.name)?.inputPerms, `${name}: ${n.name} needs no transpose`);
      }
    }
  }
});

test('inception: Concat on channels is simdcnn axis 3; Softmax (opset 11, 2-D) over axis 1', () => {
  const m = prepared('inception');
  const concat = m.graph.nodes.find((n) => n.opType === 'Concat')!;
  assert.equal(m.graph.nodeLayouts!.get(concat.name)!.axes, [3]);
  const softmax = m.graph.nodes.find((n) => n.opType === 'Softmax')!;
  assert.equal(m.graph.nodeLayouts!.get(softmax.name)!.axes, [1]);
});

test('separable: Flatten after global pooling is a view (no permutation); the SE Mul is NHWC on both sides', () => {
  const m = prepared('separable');
  const flatten = m.graph.nodes.find((n) => n.opType === 'Flatten')!;
  assert.is(m.graph.nodeLayouts!.get(flatten.name)!.reshape, 'view');
  assert.not.ok(m.graph.layouts!.get(flatten.outputs[0])!.flat);
  const gemm = m.graph.nodes.find((n) => n.opType === 'Gemm')!;
  assert.not.ok(m.graph.nodeLayouts!.get(gemm.name)?.weightRows);
  const mul = m.graph.nodes.find((n) => n.opType === 'Mul')!;
  assert.not.ok(m.graph.nodeLayouts!.get(mul.name)?.inputPerms);
  assert.ok(m.graph.layouts!.get(mul.outputs[0])!.featureMap);
});

function analysed(nodes: ReturnType<typeof node>[], inits: Tensor[] = [], opset = 13, input: Array<number | string> = ['N', 4, 3, 2], outputs = ['y']): Model {
  const m = model(graph([value('x', input)], outputs.map((o) => value(o, null)), inits, nodes), opset);
  inferShapes(m);
  analyzeLayout(m);
  return m;
}

test('a flatten whose result is a graph output, or feeds a non-dense op, is done in ONNX order', () => {
  let m = analysed([node('Flatten', ['x'], ['y'])]);
  assert.is(m.graph.nodeLayouts!.get('Flatten_y')!.reshape, 'to-onnx-order');
  assert.equal(m.graph.layouts!.get('y'), { perm: [0, 1], featureMap: false });
  m = analysed([node('Flatten', ['x'], ['f']), node('Add', ['f', 'b'], ['a']), node('Gemm', ['a', 'w'], ['y'], { transB: 1 })],
    [f32('b', [24], randomFloats(1, 24)), f32('w', [5, 24], randomFloats(2, 120))]);
  assert.is(m.graph.nodeLayouts!.get('Flatten_f')!.reshape, 'to-onnx-order');
  assert.not.ok(m.graph.nodeLayouts!.get('Gemm_y')?.weightRows);
  // Through a Relu into a MatMul: absorbed.
  m = analysed([node('Flatten', ['x'], ['f']), node('Relu', ['f'], ['r']), node('MatMul', ['r', 'w'], ['y'])], [f32('w', [24, 5], randomFloats(2, 120))]);
  assert.is(m.graph.nodeLayouts!.get('Flatten_f')!.reshape, 'flatten-hwc');
  assert.equal(m.graph.layouts!.get('r')!.flat, { channels: 4, height: 3, width: 2 });
  assert.is(m.graph.nodeLayouts!.get('MatMul_y')!.weightRows!.length, 24);
});

test('Transpose NCHW → NHWC is free and what follows is plain; Softmax axes by opset; ReduceMean; Unsqueeze to a map', () => {
  let m = analysed([node('Transpose', ['x'], ['t'], { perm: [0, 2, 3, 1] }), node('Reshape', ['t', 's'], ['y'])], [i64('s', [2], [0, -1])]);
  assert.equal(m.graph.nodeLayouts!.get('Transpose_t')!.perm, [0, 1, 2, 3]);
  assert.equal(m.graph.layouts!.get('t'), { perm: [0, 1, 2, 3], featureMap: false });
  assert.is(m.graph.nodeLayouts!.get('Reshape_y')!.reshape, 'view');
  m = analysed([node('Softmax', ['x'], ['y'], { axis: 1 })], [], 11);
  assert.equal(m.graph.nodeLayouts!.get('Softmax_y')!.axes, [1, 2, 3]);
  m = analysed([node('Softmax', ['x'], ['y'], { axis: 1 })], [], 13);
  assert.equal(m.graph.nodeLayouts!.get('Softmax_y')!.axes, [3]);
  m = analysed([node('ReduceMean', ['x'], ['y'], { axes: [2, 3], keepdims: 1 })]);
  assert.equal(m.graph.nodeLayouts!.get('ReduceMean_y')!.axes, [1, 2]);
  assert.ok(m.graph.layouts!.get('y')!.featureMap);
  m = analysed([node('ReduceMean', ['x'], ['r'], { axes: [2, 3], keepdims: 0 }), node('Unsqueeze', ['r', 'ax'], ['u']), node('Mul', ['x', 'u'], ['y'])], [i64('ax', [2], [2, 3])]);
  assert.equal(m.graph.layouts!.get('r'), { perm: [0, 1], featureMap: false });
  assert.ok(m.graph.layouts!.get('u')!.featureMap);
  assert.is(m.graph.nodeLayouts!.get('Unsqueeze_u')!.reshape, 'view');
  assert.not.ok(m.graph.nodeLayouts!.get('Mul_y')?.inputPerms);
});

test('constant operands of binary ops are laid out like the map: [C,1,1] → NHWC broadcast', () => {
  const m = analysed([node('Mul', ['x', 'c'], ['y'])], [f32('c', [4, 1, 1], [1, 2, 3, 4])]);
  assert.equal(m.graph.nodeLayouts!.get('Mul_y')!.inputPerms![1], NHWC);
  assert.ok(m.graph.layouts!.get('y')!.featureMap);
});

test('a channel shuffle (Reshape 5-D → Transpose → Reshape → Conv) asks for one conversion before the Conv', () => {
  const m = analysed([
    node('Reshape', ['x', 's5'], ['r5']),
    node('Transpose', ['r5'], ['t5'], { perm: [0, 2, 1, 3, 4] }),
    node('Reshape', ['t5', 's4'], ['r4']),
    node('Conv', ['r4', 'w'], ['y']),
  ], [i64('s5', [5], [0, 2, 2, 3, 2]), i64('s4', [4], [0, 4, 3, 2]), f32('w', [4, 4, 1, 1], randomFloats(3, 16))]);
  assert.is(m.graph.nodeLayouts!.get('Reshape_r5')!.reshape, 'to-onnx-order');
  assert.equal(m.graph.nodeLayouts!.get('Conv_y')!.inputPerms![0], NHWC);
  // r4 is held in ONNX order (NCHW); the Conv wants NHWC: simdcnn transpose [0, 2, 3, 1].
  assert.equal(transposeBetween(m.graph.layouts!.get('r4')!.perm, NHWC), [0, 2, 3, 1]);
  assert.equal(transposeBetween(NHWC, [0, 1, 2, 3]), [0, 3, 1, 2]);
  assert.ok(m.graph.layouts!.get('y')!.featureMap);
});

test.run();
