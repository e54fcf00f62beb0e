// The ONNX importer: every generated PyTorch model (tests/golden/onnx) imported and run, outputs equal
// PyTorch's; the imported model is an ordinary model (summary, fit, save/loadModel); errors for
// unsupported operators and corrupted files leave memory where it was.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { init, loadOnnx, memoryStats, tensor, loadModel, optimizers, ArgumentError, FormatError, SimdcnnError, type Model, type Tensor } from '../src/index.ts';
import { encodeModel } from '../src/io/onnx/encode.ts';
import { allclose, randArray, rng } from './helpers.ts';
import { MODELS, goldenIO, meta, modelBytes, node, graph, value, f32, randomFloats, model as onnxModel } from './onnx/helpers.ts';
import { nchwToNhwc, nhwcToNchw } from './onnx/layout.ts';

/** Live tensors and their bytes (wasm memory itself never shrinks). */
const live = (): [number, number] => { const s = memoryStats(); return [s.tensors, s.bytes]; };

test.before(async () => {
  await init();
});

async function runGolden(name: string): Promise<{ m: Model; got: Float32Array; want: Float32Array }> {
  const md = meta(name);
  const { input, output } = goldenIO(name);
  const m = await loadOnnx(modelBytes(name));
  const [N, C, H, W] = md.input.shape;
  const x = tensor(nchwToNhwc(input, N, C, H, W), [N, H, W, C]);
  const y = m.predict(x) as Tensor;
  x.dispose();
  let got = y.toArray() as Float32Array;
  if (md.output.shape.length === 4) {
    const [, OC, OH, OW] = md.output.shape;
    got = nhwcToNchw(got, N, OC, OH, OW);
    assert.equal(y.shape, [N, OH, OW, OC]);
  } else assert.equal(y.shape, md.output.shape);
  y.dispose();
  return { m, got, want: output };
}

for (const name of MODELS) {
  test(`${name}: imported, outputs equal PyTorch's within 1e-4 relative`, async () => {
    const before = live();
    const { m, got, want } = await runGolden(name);
    allclose(got, want, name, 1e-4, 1e-5);
    m.dispose();
    assert.equal(live(), before, `${name}: no leak`);
  });
}

test('an imported model is an ordinary model: summary, save/loadModel round trip with equal outputs', async () => {
  const before = live();
  const m = await loadOnnx(modelBytes('residual'), { name: 'resnetish' });
  assert.is(m.name, 'resnetish');
  const table = m.summary({ print: false });
  assert.ok(table.includes('conv2d') && table.includes('add') && table.includes('dense'), table);
  const { input } = goldenIO('residual');
  const x = tensor(nchwToNhwc(input, 2, 3, 8, 8), [2, 8, 8, 3]);
  const saved = m.save() as { topology: unknown; weights: ArrayBuffer };
  const back = loadModel({ topology: JSON.parse(JSON.stringify(saved.topology)), weights: saved.weights.slice(0) }) as unknown as Model;
  const a = m.predict(x) as Tensor, b = back.predict(x) as Tensor;
  allclose(b.toArray(), a.toArray(), 'loadModel', 0, 0);
  for (const t of [x, a, b]) t.dispose();
  m.dispose();
  back.dispose();
  assert.equal(live(), before);
});

test('fine-tuning an imported model with fit: the loss goes down, frozen layers stay put, nothing leaks', async () => {
  const before = live();
  const m = await loadOnnx(modelBytes('residual'));
  const N = 16;
  const r = rng(11);
  const xd = randArray(r, N * 8 * 8 * 3), yd = new Int32Array(N).map((_, i) => i % 10);
  const x = tensor(xd, [N, 8, 8, 3]), y = tensor(yd, [N], 'int32');
  const first = m.layers.find((l) => l.params.length)!;
  first.trainable = false;
  const frozen = first.params[0].toArray().slice();
  m.compile({ optimizer: optimizers.adam({ learningRate: 1e-2 }), loss: 'softmaxCrossEntropy' });
  const start = m.evaluate(x, y).loss;
  await m.fit(x, y, { epochs: 8, batchSize: 8, verbose: 0 });
  const end = m.evaluate(x, y).loss;
  assert.ok(end < start, `loss ${start} → ${end}`);
  assert.equal(Array.from(first.params[0].toArray()), Array.from(frozen), 'the frozen layer kept its weights');
  x.dispose();
  y.dispose();
  m.dispose();
  assert.equal(live(), before);
});

test('SiLU as PyTorch exports it, Mul(x, Sigmoid(x)), becomes one silu fused into the layer before it', async () => {
  const before = live();
  const m = await loadOnnx(modelBytes('mbconv'));
  const acts = m.layers.map((l) => `${l.getConfig().type ?? l.constructor.name}:${JSON.stringify(l.getConfig().activation ?? null)}`);
  // Stem, expansion, depthwise, SE reduce, dw2 and head carry it; no multiply is left but the SE's, no sigmoid but the SE's.
  assert.is(acts.filter((a) => a.endsWith(':"silu"')).length, 6, acts.join(' '));
  assert.is(m.layers.filter((l) => l.getConfig().activation === 'sigmoid').length, 1, acts.join(' '));
  // With no layer to fuse into (here the model input) the pair is one silu layer.
  const x = new Float32Array(2 * 3 * 4 * 4).map((_, i) => Math.sin(i) * 3);
  const g = graph([value('x', [2, 3, 4, 4])], [value('y', [2, 3, 4, 4])], [], [
    node('Sigmoid', ['x'], ['s'], {}, 'sig'),
    node('Mul', ['s', 'x'], ['y'], {}, 'mul'),
  ]);
  const m2 = await loadOnnx(encodeModel(onnxModel(g, 13)));
  const t = tensor(nchwToNhwc(x, 2, 3, 4, 4), [2, 4, 4, 3]);
  const y = m2.predict(t) as Tensor;
  const got = nhwcToNchw(y.toArray() as Float32Array, 2, 3, 4, 4);
  allclose(got, x.map((v) => v / (1 + Math.exp(-v))), 'silu', 1e-6, 1e-7);
  for (const u of [t, y]) u.dispose();
  m.dispose();
  m2.dispose();
  assert.equal(live(), before);
});

test('unsupported operators: an ArgumentError naming the operator, the node and the opset; nothing allocated', async () => {
  const before = live();
  const g = graph([value('x', [1, 3, 4, 4])], [value('y', [1, 3, 4, 4])], [f32('w', [3, 3, 1, 1], randomFloats(1, 9))], [
    node('Conv', ['x', 'w'], ['c'], {}, 'conv'),
    node('LRN', ['c'], ['y'], { size: 3 }, 'norm'),
  ]);
  const bytes = encodeModel(onnxModel(g, 13));
  await rejectsTyped(() => loadOnnx(bytes), ArgumentError, "onnx: unsupported operator 'LRN' (node 'norm', opset 13)");
  // Supported operators with options simdcnn cannot express are errors too.
  const sub = graph([value('x', [1, 3, 4, 4])], [value('y', [1, 3, 4, 4])], [], [node('Sub', ['x', 'x'], ['y'], {}, 'sub')]);
  await rejectsTyped(() => loadOnnx(encodeModel(onnxModel(sub, 13))), ArgumentError, "node 'sub' (Sub)");
  assert.equal(live(), before);
});

test('corrupted files: typed errors (never an engine error), nothing allocated', async () => {
  const before = live();
  const good = modelBytes('lenet');
  await rejectsTyped(() => loadOnnx(good.slice(0, good.length >> 1)), FormatError);
  await rejectsTyped(() => loadOnnx(new Uint8Array(0)), SimdcnnError);
  await rejectsTyped(() => loadOnnx(Uint8Array.from({ length: 256 }, (_, i) => (i * 37) & 255)), SimdcnnError);
  const r = rng(2);
  for (let k = 0; k < 40; k++) {
    const bad = good.slice();
    for (let j = 0; j < 4; j++) bad[Math.floor(r() * bad.length)] = Math.floor(r() * 256);
    try {
      const m = await loadOnnx(bad);
      m.dispose();
    } catch (e) {
      assert.ok(e instanceof SimdcnnError, `flip ${k}: ${(e as Error).name}: ${(e as Error).message}`);
    }
  }
  assert.equal(live(), before);
});

async function rejectsTyped(fn: () => Promise<unknown>, type: new (...a: never[]) => Error, ...fragments: string[]): Promise<void> {
  try {
    await fn();
  } catch (e) {
    assert.ok(e instanceof type, `expected ${type.name}, got ${(e as Error).name}: ${(e as Error).message}`);
    for (const f of fragments) assert.ok((e as Error).message.includes(f), `'${(e as Error).message}' lacks '${f}'`);
    return;
  }
  assert.unreachable(`expected ${type.name}`);
}

test.run();
