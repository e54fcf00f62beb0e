// model.toOnnx(): simdcnn models exported to ONNX and run in onnxruntime-node (a dev dependency,
// CPU binary in the package): outputs equal simdcnn's within 1e-4 (NCHW in, NCHW feature maps out).
// Also: the export re-imports with loadOnnx to the same outputs, and layers without an ONNX
// equivalent are an ArgumentError naming the layer. Without onnxruntime-node the ORT checks print
// a SKIPPED line (the import round trip still runs).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createRequire } from 'node:module';
import { init, input, layers, lenet5, loadOnnx, model, sequential, tensor, ArgumentError, type Model, type Tensor } from '../src/index.ts';
import { allclose, randArray, rng, throwsTyped } from './helpers.ts';
import { nchwToNhwc, nhwcToNchw } from './onnx/layout.ts';

type Ort = { InferenceSession: { create(b: Uint8Array): Promise<{ run(f: Record<string, unknown>): Promise<Record<string, { data: Float32Array; dims: readonly number[] }>>; inputNames: readonly string[]; outputNames: readonly string[]; release?(): Promise<void> }> }; Tensor: new (t: string, d: Float32Array, dims: number[]) => unknown };
let ort: Ort | null = null;

test.before(async () => {
  await init();
  try {
    ort = createRequire(import.meta.url)('onnxruntime-node') as Ort;
  } catch (e) {
    console.log(`  SKIPPED onnxruntime-node checks: cannot load it (${(e as Error).message.split('\n')[0]}); npm ci installs it (devDependency, .npmrc onnxruntime-node-install=skip)`);
  }
});

/** Randomise every parameter (batch-norm variances positive) so the check is not trivially zero. */
function randomise(m: Model, seed: number): void {
  const r = rng(seed);
  for (const l of m.layers) {
    l.params.forEach((p, i) => {
      const v = randArray(r, p.size, -0.5, 0.5);
      if (l.paramNames[i] === 'movingVariance' || l.paramNames[i] === 'gamma') v.forEach((a, j) => { v[j] = Math.abs(a) + 0.5; });
      p.view().set(v);
    });
  }
}

async function check(name: string, m: Model, batch: number): Promise<void> {
  randomise(m, name.length);
  const [H, W, C] = m.inputShape;
  const xd = randArray(rng(1), batch * H * W * C);
  const x = tensor(xd, [batch, H, W, C]);
  const y = m.predict(x) as Tensor;
  const want = y.toArray() as Float32Array;
  const shape = y.shape.slice();
  const bytes = m.toOnnx();
  // Re-import: the exported file is an ONNX model simdcnn reads back to the same function.
  const back = await loadOnnx(bytes);
  const y2 = back.predict(x) as Tensor;
  allclose(y2.toArray(), want, `${name}: toOnnx → loadOnnx`, 1e-4, 1e-5);
  for (const t of [x, y, y2]) t.dispose();
  back.dispose();
  if (!ort) return;
  const session = await ort.InferenceSession.create(bytes);
  const feed = { [session.inputNames[0]]: new ort.Tensor('float32', nhwcToNchw(xd, batch, C, H, W), [batch, C, H, W]) };
  const out = (await session.run(feed))[session.outputNames[0]];
  let got = out.data;
  if (shape.length === 4) {
    assert.equal(Array.from(out.dims), [shape[0], shape[3], shape[1], shape[2]], `${name}: NCHW output`);
    got = nchwToNhwc(got, shape[0], shape[3], shape[1], shape[2]);
  } else assert.equal(Array.from(out.dims), shape);
  allclose(got, want, `${name}: onnxruntime-node`, 1e-4, 1e-5);
  await session.release?.();
}

test('LeNet-5 (flatten after convolutions: the Transpose keeps the dense rows in order)', async () => {
  const m = lenet5();
  await check('lenet5', m, 3);
  m.dispose();
});

test('a conv-BN-ReLU residual net with max pooling and a global-average head', async () => {
  const x = input({ shape: [12, 12, 3] });
  const stem = layers.conv2d({ filters: 8, kernelSize: 3, padding: 'same', useBias: false }).apply(x);
  const a = layers.relu().apply(layers.batchNormalization().apply(stem));
  const b = layers.batchNormalization().apply(layers.conv2d({ filters: 8, kernelSize: 3, padding: 'same' }).apply(layers.conv2d({ filters: 8, kernelSize: 3, padding: 'same', activation: 'relu' }).apply(a)));
  const r = layers.relu().apply(layers.add().apply([a, b]));
  const p = layers.maxPool2d({ poolSize: 3, strides: 2, padding: 'same' }).apply(r);
  const out = layers.dense({ units: 5, activation: 'softmax' }).apply(layers.globalAvgPool2d().apply(p));
  const m = model({ inputs: x, outputs: out });
  await check('residual', m, 2);
  m.dispose();
});

test('a depthwise / separable block with relu6, hardSwish, squeeze-excitation and prelu', async () => {
  const x = input({ shape: [10, 10, 4] });
  const d = layers.depthwiseConv2d({ kernelSize: 3, strides: 2, padding: 'same', depthMultiplier: 2, activation: 'relu6' }).apply(x);
  const s = layers.separableConv2d({ filters: 6, kernelSize: 3, padding: 'valid', activation: 'hardSwish' }).apply(d);
  const se = layers.conv2d({ filters: 6, kernelSize: 1, activation: 'sigmoid' }).apply(layers.adaptiveAvgPool2d({ outputSize: 1 }).apply(s));
  const m2 = layers.prelu().apply(layers.multiply().apply([s, se]));
  const m = model({ inputs: x, outputs: layers.conv2d({ filters: 3, kernelSize: 1, activation: { name: 'leakyRelu', alpha: 0.1 } }).apply(m2) });
  await check('separable', m, 2);
  m.dispose();
});

test('an inception-style concat with average pooling and a flattened dense head', async () => {
  const x = input({ shape: [9, 9, 3] });
  const b1 = layers.conv2d({ filters: 4, kernelSize: 1, activation: 'relu' }).apply(x);
  const b2 = layers.conv2d({ filters: 5, kernelSize: 3, padding: 'same', activation: 'elu' }).apply(x);
  const b3 = layers.avgPool2d({ poolSize: 3, strides: 1, padding: 1, countIncludePad: false }).apply(x);
  const c = layers.concatenate().apply([b1, b2, b3]);
  const p = layers.maxPool2d({ poolSize: 2, ceilMode: true }).apply(c);
  const f = layers.dense({ units: 7, activation: 'tanh' }).apply(layers.flatten().apply(p));
  const m = model({ inputs: x, outputs: layers.dense({ units: 3 }).apply(f) });
  await check('inception', m, 2);
  m.dispose();
});

test('an upsampling decoder: conv2dTranspose, nearest and bilinear upsampling, zero padding, resizing', async () => {
  const m = sequential({
    inputShape: [4, 4, 6],
    layers: [
      layers.conv2dTranspose({ filters: 5, kernelSize: 3, strides: 2, padding: 1, outputPadding: 1, activation: 'relu' }),
      layers.upSampling2d({ size: 2 }),
      layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'selu' }),
      layers.upSampling2d({ size: [2, 2], interpolation: 'bilinear' }),
      layers.zeroPadding2d({ padding: [[1, 0], [0, 2]] }),
      layers.resizing({ height: 20, width: 21, alignCorners: true, interpolation: 'bilinear' }),
      layers.conv2d({ filters: 2, kernelSize: 3, padding: 'same', activation: 'sigmoid' }),
    ],
  });
  await check('decoder', m, 1);
  m.dispose();
});

test('layers without an ONNX equivalent: an ArgumentError naming the layer', () => {
  const cases: Array<[string, () => Model]> = [
    ['locallyConnected2d', () => sequential({ inputShape: [6, 6, 2], layers: [layers.locallyConnected2d({ filters: 2, kernelSize: 3 })] })],
    ['mixedPool2d', () => sequential({ inputShape: [6, 6, 2], layers: [layers.mixedPool2d({ poolSize: 2 })] })],
    ['maxout', () => sequential({ inputShape: [6, 6, 4], layers: [layers.maxout({ k: 2 })] })],
  ];
  for (const [type, make] of cases) {
    const m = make();
    throwsTyped(() => m.toOnnx(), ArgumentError, 'toOnnx', `(${type})`, 'no ONNX equivalent');
    m.dispose();
  }
});

test.run();
