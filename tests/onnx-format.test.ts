// The ONNX format layer: the protobuf reader/writer, decode of PyTorch-exported models, the
// encode → decode round trip, and corrupted files (every one a typed error, never an engine error).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ArgumentError, FormatError, SimdcnnError } from '../src/index.ts';
import { ProtoReader, ProtoWriter } from '../src/io/protobuf.ts';
import { decodeModel } from '../src/io/onnx/decode.ts';
import { encodeModel } from '../src/io/onnx/encode.ts';
import { throwsTyped, rng } from './helpers.ts';
import { MODELS, meta, modelBytes, opCounts, node, graph, value, f32, i64, model } from './onnx/helpers.ts';

// ---- protobuf wire format ----

test('varints: 1 to 10 bytes, negative int64 as 10-byte two\'s complement, ±(2^53 − 1) round-trip', () => {
  const values = [0, 1, 127, 128, 300, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1, -1, -2, -(2 ** 31), -(2 ** 32), -(2 ** 53 - 1)];
  for (const v of values) {
    const w = new ProtoWriter();
    w.int64(1, v);
    const bytes = w.finish();
    if (v < 0) assert.is(bytes.length, 11, `${v}: key + 10 bytes`);
    const r = new ProtoReader(bytes, 'test');
    let got: number | undefined;
    r.fields((no, wire) => { assert.is(no, 1); got = r.int64Field(wire); });
    assert.is(got, v, `int64 ${v}`);
  }
  // Hand-written: 300 = 0xAC 0x02; -1 = ten bytes.
  const r = new ProtoReader(Uint8Array.from([0xac, 0x02]), 'test');
  assert.is(r.int64(), 300);
  const m1 = new ProtoReader(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]), 'test');
  assert.is(m1.int64(), -1);
});

test('varints beyond 2^53, longer than 10 bytes or truncated are FormatErrors with the offset', () => {
  // 2^62 = 0x80 ×8 then 0x40.
  const big = Uint8Array.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40]);
  throwsTyped(() => new ProtoReader(big, 'test').int64(), FormatError, 'above 2^53', 'at byte 0');
  throwsTyped(() => new ProtoReader(Uint8Array.from(Array(11).fill(0x80)), 'test').int64(), FormatError, 'longer than 10 bytes');
  throwsTyped(() => new ProtoReader(Uint8Array.from([0x80, 0x80]), 'test').int64(), FormatError, 'truncated varint');
  // A length prefix larger than what is left.
  const r = new ProtoReader(Uint8Array.from([0x0a, 0x05, 1, 2]), 'test');
  throwsTyped(() => r.fields((_, wire) => r.bytesField(wire, 'f')), FormatError, 'test: f: length 5 exceeds the 2 bytes left at byte 1');
});

test('fixed32/fixed64, packed and unpacked repeated fields', () => {
  const w = new ProtoWriter();
  w.float32(1, 1.5).packedInt64(2, [1, -1, 2 ** 40]).int64(2, 7).packedFloat32(3, [0.25, -2]).float32(3, 8);
  const r = new ProtoReader(w.finish(), 'test');
  const ints: number[] = [], loose: number[] = [], runs: Array<[number, number]> = [];
  let f = 0;
  r.fields((no, wire) => {
    if (no === 1) f = r.float32Field(wire);
    else if (no === 2) r.repeatedInt64(wire, ints, 'ints', 100);
    else if (no === 3) r.repeatedFixed32(wire, runs, loose, 'floats');
  });
  assert.is(f, 1.5);
  assert.equal(ints, [1, -1, 2 ** 40, 7]);
  assert.equal(runs.map(([, n]) => n), [2]);
  assert.equal(loose, [8]);
});

// ---- decoding PyTorch's exports ----

const expectedOps: Record<string, Record<string, number>> = {
  lenet: { Conv: 2, Relu: 3, MaxPool: 2, Shape: 1, Constant: 2, Gather: 1, Unsqueeze: 1, Concat: 1, Reshape: 1, Gemm: 2 },
  residual: { Conv: 3, BatchNormalization: 3, Relu: 3, Add: 1, MaxPool: 1, Flatten: 1, Gemm: 1 },
};

for (const name of MODELS) {
  test(`decode ${name}.onnx: opset, input/output shapes, ops, initializers`, () => {
    const m = decodeModel(modelBytes(name));
    const info = meta(name);
    assert.is(m.opset, info.opset);
    assert.is(m.producerName, 'pytorch');
    const g = m.graph;
    assert.is(g.inputs.length, 1);
    assert.is(g.inputs[0].name, 'input');
    assert.is(g.inputs[0].dtype, 'float32');
    const inShape = info.dynamicBatch ? ['N', ...info.input.shape.slice(1)] : info.input.shape;
    assert.equal(g.inputs[0].shape, inShape);
    assert.is(g.outputs[0].name, 'output');
    assert.equal([...new Set(g.nodes.map((n) => n.opType))].sort(), info.ops);
    if (expectedOps[name]) assert.equal(opCounts(g), expectedOps[name]);
    for (const t of g.initializers.values()) {
      assert.is(t.data.length, t.dims.reduce((a, b) => a * b, 1), t.name);
    }
  });
}

test('decode lenet: weights and attributes as PyTorch wrote them', () => {
  const g = decodeModel(modelBytes('lenet')).graph;
  const w = g.initializers.get('conv1.weight')!;
  assert.equal(w.dims, [4, 1, 5, 5]);
  assert.is(w.dtype, 'float32');
  assert.ok(w.data instanceof Float32Array);
  const conv = g.nodes[0];
  assert.is(conv.opType, 'Conv');
  assert.equal(conv.attributes.get('kernel_shape'), { type: 'ints', value: [5, 5] });
  assert.equal(conv.attributes.get('group'), { type: 'int', value: 1 });
  const gemm = g.nodes.find((n) => n.opType === 'Gemm')!;
  assert.equal(gemm.attributes.get('alpha'), { type: 'float', value: 1 });
  // The Constant feeding Gather holds an int64 scalar 0; the one feeding Concat holds [-1].
  const constants = g.nodes.filter((n) => n.opType === 'Constant').map((n) => n.attributes.get('value'));
  const values = constants.map((a) => (a?.type === 'tensor' ? [a.value.dtype, a.value.dims, a.value.data] : null));
  assert.equal(values, [['int64', [], [0]], ['int64', [1], [-1]]]);
});

// ---- round trip ----

for (const name of MODELS) {
  test(`encode → decode round-trips ${name}.onnx`, () => {
    const m = decodeModel(modelBytes(name));
    const again = decodeModel(encodeModel(m));
    assert.equal(again, m);
  });
}

test('round trip of a hand-built IR with every attribute type, int32/int64 tensors, symbolic dims', () => {
  const g = graph(
    [value('x', ['batch', 3, '', 5])],
    [value('y', null), value('z', [2], 'int64')],
    [f32('w', [2, 3], [1, -2, 3.5, -0, Infinity, NaN]), i64('shape', [2], [-1, 2 ** 40]), { name: 'k', dims: [], dtype: 'int32', data: Int32Array.of(-7) }],
    [
      node('Custom', ['x', '', 'w'], ['y'], {
        f: { float: 0.5 }, i: -3, s: 'héllo', t: f32('tt', [1], [2]), fs: { floats: [1.5, -0.25] }, is: [1, -2, 2 ** 50], ss: ['a', 'bc'],
      }),
      node('Shape', ['shape'], ['z']),
    ],
  );
  const m = model(g, 17);
  const again = decodeModel(encodeModel(m));
  // Float data compared bit for bit (NaN, -0), the rest deeply.
  const w = again.graph.initializers.get('w')!;
  assert.equal([...new Uint32Array((w.data as Float32Array).slice().buffer)], [...new Uint32Array((m.graph.initializers.get('w')!.data as Float32Array).slice().buffer)]);
  w.data = m.graph.initializers.get('w')!.data;
  assert.equal(again, m);
  assert.is(again.irVersion, 8);
  assert.is(again.producerName, 'simdcnn');
});

// ---- malformed and unsupported files ----

function expectTyped(fn: () => unknown, context: string): void {
  const t0 = performance.now();
  try {
    fn();
  } catch (e) {
    if (!(e instanceof FormatError || e instanceof ArgumentError)) {
      assert.unreachable(`${context}: expected FormatError/ArgumentError, got ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
    }
  }
  const ms = performance.now() - t0;
  if (ms > 500) assert.unreachable(`${context}: took ${ms.toFixed(0)} ms`);
}

test('truncation at 50 random offsets of every model: typed errors only', () => {
  const seed = 1234;
  const r = rng(seed);
  for (const name of MODELS) {
    const bytes = modelBytes(name);
    for (let k = 0; k < 50; k++) {
      const cut = Math.floor(r() * bytes.length);
      expectTyped(() => decodeModel(bytes.subarray(0, cut)), `${name} cut at ${cut} (seed ${seed})`);
    }
  }
});

test('random byte flips (seeded, 400 cases): typed errors or a valid model, never an engine error', () => {
  const seed = 99;
  const r = rng(seed);
  let typed = 0;
  for (let k = 0; k < 400; k++) {
    const name = MODELS[k % MODELS.length];
    const bytes = modelBytes(name).slice();
    const flips = 1 + Math.floor(r() * 4);
    for (let f = 0; f < flips; f++) bytes[Math.floor(r() * bytes.length)] = Math.floor(r() * 256);
    try {
      decodeModel(bytes);
    } catch (e) {
      if (!(e instanceof SimdcnnError)) assert.unreachable(`${name} case ${k} (seed ${seed}): ${(e as Error)?.constructor?.name}: ${(e as Error).message}`);
      typed++;
    }
  }
  assert.ok(typed > 50, `${typed} of 400 corrupted files rejected`);
});

/** A ModelProto around one raw graph body (for hand-made malformed graphs). */
function modelWithGraph(graphBody: (w: ProtoWriter) => void, opset = 13): Uint8Array {
  const w = new ProtoWriter();
  w.int64(1, 8);
  w.message(7, graphBody);
  w.message(8, (o) => o.int64(2, opset));
  return w.finish();
}

function initializer(w: ProtoWriter, write: (t: ProtoWriter) => void): void {
  w.message(5, write);
}

test('a huge claimed length, 2^62 and negative dims, size overflow, wrong data length: FormatError', () => {
  // A length of 2^31 for the graph, in a 20-byte file.
  const huge = Uint8Array.from([0x08, 0x08, 0x3a, 0x80, 0x80, 0x80, 0x80, 0x08, 0, 0, 0, 0]);
  throwsTyped(() => decodeModel(huge), FormatError, 'onnx: graph: length 2147483648 exceeds', 'at byte 3');
  throwsTyped(() => decodeModel(modelWithGraph((g) => initializer(g, (t) => t.packedInt64(1, [2 ** 53 - 1]).int64(2, 1).string(8, 'w')))), FormatError, "tensor 'w'", 'more than 2147483648 bytes');
  // 2^62 written by hand: dims field 1, varint.
  const bigDim = new ProtoWriter();
  bigDim.bytes(1, Uint8Array.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40])).int64(2, 1).string(8, 'w');
  const bytes = modelWithGraph((g) => g.bytes(5, bigDim.finish()));
  throwsTyped(() => decodeModel(bytes), FormatError, 'graph.initializer[0].dims', 'above 2^53');
  throwsTyped(() => decodeModel(modelWithGraph((g) => initializer(g, (t) => t.packedInt64(1, [2, -3]).int64(2, 1).string(8, 'w')))), FormatError, "tensor 'w'", 'negative dim -3');
  throwsTyped(() => decodeModel(modelWithGraph((g) => initializer(g, (t) => t.packedInt64(1, [2, 3]).int64(2, 1).string(8, 'w').bytes(9, new Uint8Array(20))))), FormatError, 'raw_data has 20 bytes', 'need 24');
  throwsTyped(() => decodeModel(modelWithGraph((g) => initializer(g, (t) => t.packedInt64(1, [3]).int64(2, 1).string(8, 'w').packedFloat32(4, [1, 2])))), FormatError, 'has 2 elements', 'need 3');
  throwsTyped(() => decodeModel(modelWithGraph((g) => initializer(g, (t) => t.packedInt64(1, [1 << 16, 1 << 16]).int64(2, 1).string(8, 'w')))), FormatError, 'more than 2147483648 bytes');
});

test('a negative dim_value in a graph input shape, a non-tensor input: typed errors', () => {
  const withInput = (write: (t: ProtoWriter) => void) => modelWithGraph((g) => g.message(11, (v) => v.string(1, 'x').message(2, write)));
  throwsTyped(() => decodeModel(withInput((t) => t.message(1, (tt) => tt.int64(1, 1).message(2, (s) => s.message(1, (d) => d.int64(1, -4)))))), FormatError, 'graph.input[0].type.tensor_type.shape.dim[0].dim_value', 'negative dim_value -4');
  throwsTyped(() => decodeModel(withInput((t) => t.message(4, () => {}))), ArgumentError, "'x' is a sequence");
  throwsTyped(() => decodeModel(withInput((t) => t.message(1, (tt) => tt.int64(1, 9)))), ArgumentError, "'x'", 'BOOL');
});

test('IR version < 4: initializers are listed as graph inputs too, and decode drops them again', () => {
  const m = decodeModel(modelBytes('lenet'));
  m.irVersion = 3;
  const bytes = encodeModel(m);
  const inputs: string[] = [];
  const r = new ProtoReader(bytes, 'test');
  r.fields((no, wire) => {
    if (no !== 7) return r.skip(wire);
    r.nested(wire, 'graph', () => r.fields((n, w) => {
      if (n !== 11) return r.skip(w);
      r.nested(w, 'input', () => r.fields((k, ww) => (k === 1 ? inputs.push(r.string(ww)) : r.skip(ww))));
    }));
  });
  assert.is(inputs.length, 1 + m.graph.initializers.size);
  assert.equal(decodeModel(bytes), m);
});

test('unsupported dtypes, external data, subgraphs: ArgumentError naming the tensor or op', () => {
  throwsTyped(() => decodeModel(modelWithGraph((g) => initializer(g, (t) => t.packedInt64(1, [2]).int64(2, 11).string(8, 'd')))), ArgumentError, "tensor 'd'", 'DOUBLE');
  throwsTyped(() => decodeModel(modelWithGraph((g) => initializer(g, (t) => t.packedInt64(1, [2]).int64(2, 1).string(8, 'e').int64(14, 1)))), ArgumentError, "tensor 'e'", 'external data is not supported');
  throwsTyped(() => decodeModel(modelWithGraph((g) => initializer(g, (t) => t.packedInt64(1, [2]).int64(2, 1).string(8, 'e').message(13, (kv) => kv.string(1, 'location').string(2, 'w.bin'))))), ArgumentError, 'external data');
  const ifNode = modelWithGraph((g) => {
    g.message(11, (v) => v.string(1, 'c').message(2, (t) => t.message(1, (tt) => tt.int64(1, 1))));
    g.message(1, (n) => n.string(1, 'c').string(2, 'y').string(3, 'branch').string(4, 'If')
      .message(5, (a) => a.string(1, 'then_branch').int64(20, 5).message(6, () => {})));
    g.message(12, (v) => v.string(1, 'y').message(2, (t) => t.message(1, (tt) => tt.int64(1, 1))));
  });
  throwsTyped(() => decodeModel(ifNode), ArgumentError, "node 'branch' (If)", 'subgraph', 'then_branch');
});

test('deep nesting stops at the depth limit; undefined inputs, duplicates and cycles are FormatErrors', () => {
  // 100 nested length-delimited fields (field 7 = graph, then field 1 = node, ...).
  let inner: Uint8Array = new Uint8Array(0);
  for (let k = 0; k < 100; k++) {
    const w = new ProtoWriter();
    w.bytes(k === 99 ? 7 : 1, inner);
    inner = w.finish();
  }
  expectTyped(() => decodeModel(inner), 'deep nesting');
  throwsTyped(() => decodeModel(inner), FormatError);

  const m = (nodes: ReturnType<typeof node>[], outputs = ['y']) => encodeModel(model(graph([value('x', [1, 2])], outputs.map((o) => value(o, null)), [], nodes)));
  throwsTyped(() => decodeModel(m([node('Relu', ['q'], ['y'])])), FormatError, "node 'Relu_y' (Relu) reads 'q'");
  throwsTyped(() => decodeModel(m([node('Relu', ['x'], ['y']), node('Relu', ['x'], ['y'], {}, 'b')])), FormatError, "'y'", 'defined twice');
  throwsTyped(() => decodeModel(m([node('Relu', ['x'], ['x'])])), FormatError, "'x'", 'defined twice');
  throwsTyped(() => decodeModel(m([node('Add', ['x', 'b'], ['a']), node('Relu', ['a'], ['b'])], ['a'])), FormatError, 'cycle');
  throwsTyped(() => decodeModel(m([node('Relu', ['x'], ['y'])], ['nope'])), FormatError, "graph output 'nope'");
  // Out of order but acyclic: sorted.
  const sorted = decodeModel(m([node('Relu', ['a'], ['y'], {}, 'second'), node('Relu', ['x'], ['a'], {}, 'first')]));
  assert.equal(sorted.graph.nodes.map((n) => n.name), ['first', 'second']);
  // Not ONNX at all.
  throwsTyped(() => decodeModel(new TextEncoder().encode('{"modelTopology": {}}')), FormatError, 'onnx');
  throwsTyped(() => decodeModel(new Uint8Array(0)), FormatError, 'no graph');
  throwsTyped(() => decodeModel('model.onnx' as never), ArgumentError, 'bytes must be a Uint8Array or ArrayBuffer');
  // An ArrayBuffer and a Node Buffer work as well as a Uint8Array.
  const bytes = modelBytes('residual');
  assert.equal(decodeModel(bytes.slice().buffer), decodeModel(bytes));
});

test.run();
