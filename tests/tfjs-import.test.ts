// loadLayersModel against tfjs-layers 4.22 itself: Keras-style models built and saved with
// tfjs-layers on the cpu backend (model.json + weight bytes through tf.io.withSaveHandler), loaded
// here, predictions compared on seeded random inputs (|diff| ≤ 1e-5 + 1e-4·|tfjs|). Then the
// converter's quantised weights (uint8/uint16, dequantised exactly), shards split across buffers,
// Keras 3's dict-form inbound nodes, every error case with memory unchanged, and a fine-tune.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createRequire } from 'node:module';
import type * as TfCore from '@tensorflow/tfjs-core';
import type * as TfLayers from '@tensorflow/tfjs-layers';
import {
  init, loadLayersModel, loadModel, memoryStats, tensor, tidy, ArgumentError, FormatError, ShapeError,
  type Model, type Tensor,
} from '../src/index.ts';
import { allclose, randArray, rng } from './helpers.ts';

// tfjs is loaded from node_modules at run time (its Node builds are CommonJS that the test bundle cannot inline).
const load = createRequire(import.meta.url);
const tf = load('@tensorflow/tfjs-core') as typeof TfCore;
load('@tensorflow/tfjs-backend-cpu');
const tfl = load('@tensorflow/tfjs-layers') as typeof TfLayers;
declare namespace tfl { type LayersModel = TfLayers.LayersModel; type Sequential = TfLayers.Sequential; type SymbolicTensor = TfLayers.SymbolicTensor }

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
interface Saved { json: Json; weights: ArrayBuffer }

test.before(async () => {
  await init();
  await tf.setBackend('cpu');
});

/** Every weight of a tfjs model set from a seeded RNG (variances positive), so BatchNormalization has non-trivial statistics. */
function randomize(m: tfl.LayersModel, seed: number): void {
  const r = rng(seed);
  for (const layer of m.layers) {
    const specs = layer.weights;
    if (!specs.length) continue;
    layer.setWeights(specs.map((w) => {
      const n = w.shape.reduce((a: number, b) => a * (b ?? 1), 1);
      const positive = /variance|gamma/.test(w.name);
      return tf.tensor(randArray(r, n, positive ? 0.5 : -0.6, positive ? 1.5 : 0.6), w.shape as number[]);
    }));
  }
}

async function save(m: tfl.LayersModel): Promise<Saved> {
  let json: Json = {}, weights = new ArrayBuffer(0);
  await m.save(tf.io.withSaveHandler(async (a) => {
    const data = a.weightData!;
    weights = Array.isArray(data) ? concat(data.map((d) => new Uint8Array(d))).buffer as ArrayBuffer : data as ArrayBuffer;
    json = { format: 'layers-model', generatedBy: a.generatedBy, convertedBy: a.convertedBy, modelTopology: a.modelTopology, weightsManifest: [{ paths: ['group1-shard1of1.bin'], weights: a.weightSpecs }] };
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  }));
  return { json: JSON.parse(JSON.stringify(json)), weights };
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

/** tfjs's and simdcnn's predictions on the same seeded inputs agree (every output). */
function compare(ours: Model, theirs: tfl.LayersModel, seed: number, what: string, batch = 2): void {
  const r = rng(seed);
  const shapes = theirs.inputs.map((i) => [batch, ...i.shape.slice(1)] as number[]);
  const data = shapes.map((s) => randArray(r, s.reduce((a, b) => a * b, 1)));
  const expected = tf.tidy(() => {
    const y = theirs.predict(data.map((d, i) => tf.tensor(d, shapes[i])).length === 1 ? tf.tensor(data[0], shapes[0]) : data.map((d, i) => tf.tensor(d, shapes[i])));
    return (Array.isArray(y) ? y : [y]).map((t) => ({ shape: t.shape, values: t.dataSync().slice() }));
  });
  const before = live();
  tidy(() => {
    const xs = data.map((d, i) => tensor(d, shapes[i]));
    const out = ours.predict(xs.length === 1 ? xs[0] : xs) as Tensor | Tensor[];
    const list = Array.isArray(out) ? out : [out];
    assert.is(list.length, expected.length, `${what}: outputs`);
    list.forEach((t, i) => {
      assert.equal(t.shape, expected[i].shape, `${what}: output ${i} shape`);
      allclose(t.toArray() as Float32Array, expected[i].values, `${what} output ${i} (seed ${seed})`, 1e-4, 1e-5);
    });
  });
  assert.equal(live(), before, `${what}: predict leaks`);
}

/** Live tensors and their bytes (wasm memory may grow and never shrinks). */
function live(): { tensors: number; bytes: number } {
  const { tensors, bytes } = memoryStats();
  return { tensors, bytes };
}

async function roundTrip(m: tfl.LayersModel, seed: number, what: string): Promise<Model> {
  randomize(m, seed);
  const saved = await save(m);
  const ours = await loadLayersModel(JSON.stringify(saved.json), saved.weights);
  compare(ours, m, seed + 1, what);
  return ours;
}

// ----- models ------------------------------------------------------------------------------

function lenet(): tfl.Sequential {
  return tfl.sequential({ layers: [
    tfl.layers.conv2d({ inputShape: [16, 16, 1], filters: 6, kernelSize: 5, activation: 'relu' }),
    tfl.layers.maxPooling2d({ poolSize: 2 }),
    tfl.layers.conv2d({ filters: 8, kernelSize: 3, activation: 'tanh' }),
    tfl.layers.averagePooling2d({ poolSize: 2, strides: 2 }),
    tfl.layers.flatten(),
    tfl.layers.dense({ units: 24, activation: 'relu' }),
    tfl.layers.dropout({ rate: 0.25 }),
    tfl.layers.dense({ units: 10, activation: 'softmax' }),
  ] });
}

function residual(): tfl.LayersModel {
  const x = tfl.input({ shape: [8, 8, 4] });
  let y = tfl.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', useBias: false }).apply(x) as tfl.SymbolicTensor;
  y = tfl.layers.batchNormalization({ epsilon: 1e-3 }).apply(y) as tfl.SymbolicTensor;
  y = tfl.layers.activation({ activation: 'relu' }).apply(y) as tfl.SymbolicTensor;
  y = tfl.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same' }).apply(y) as tfl.SymbolicTensor;
  y = tfl.layers.batchNormalization({ epsilon: 1e-2 }).apply(y) as tfl.SymbolicTensor;
  y = tfl.layers.add().apply([y, x]) as tfl.SymbolicTensor;
  y = tfl.layers.reLU().apply(y) as tfl.SymbolicTensor;
  y = tfl.layers.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same' }).apply(y) as tfl.SymbolicTensor;
  y = tfl.layers.globalMaxPooling2d({}).apply(y) as tfl.SymbolicTensor;
  const out = tfl.layers.dense({ units: 3 }).apply(y) as tfl.SymbolicTensor;
  return tfl.model({ inputs: x, outputs: out });
}

function mobilenetBlock(): tfl.LayersModel {
  const x = tfl.input({ shape: [9, 9, 3] });
  let y = tfl.layers.conv2d({ filters: 6, kernelSize: 3, strides: 2, padding: 'same', useBias: false }).apply(x) as tfl.SymbolicTensor;
  y = tfl.layers.batchNormalization({}).apply(y) as tfl.SymbolicTensor;
  y = tfl.layers.reLU({ maxValue: 6 }).apply(y) as tfl.SymbolicTensor;
  y = tfl.layers.depthwiseConv2d({ kernelSize: 3, padding: 'same', depthMultiplier: 2, useBias: false }).apply(y) as tfl.SymbolicTensor;
  y = tfl.layers.batchNormalization({}).apply(y) as tfl.SymbolicTensor;
  y = tfl.layers.reLU({ maxValue: 6 }).apply(y) as tfl.SymbolicTensor;
  y = tfl.layers.depthwiseConv2d({ kernelSize: [3, 2], strides: 2, padding: 'valid', activation: 'relu6' }).apply(y) as tfl.SymbolicTensor;
  y = tfl.layers.separableConv2d({ filters: 8, kernelSize: 3, padding: 'same', depthMultiplier: 2, activation: 'elu' }).apply(y) as tfl.SymbolicTensor;
  y = tfl.layers.separableConv2d({ filters: 5, kernelSize: 1, useBias: false }).apply(y) as tfl.SymbolicTensor;
  y = tfl.layers.globalAveragePooling2d({}).apply(y) as tfl.SymbolicTensor;
  const out = tfl.layers.dense({ units: 5, activation: 'sigmoid' }).apply(y) as tfl.SymbolicTensor;
  return tfl.model({ inputs: x, outputs: out });
}

/** Encoder–decoder with skips, two outputs: Conv2DTranspose ('same' and 'valid'), UpSampling2D, ZeroPadding2D, Concatenate. */
function unet(): tfl.LayersModel {
  const x = tfl.input({ shape: [8, 8, 3] });
  const e1 = tfl.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'relu' }).apply(x) as tfl.SymbolicTensor;
  const p = tfl.layers.maxPooling2d({ poolSize: 2 }).apply(e1) as tfl.SymbolicTensor;
  const e2 = tfl.layers.conv2d({ filters: 6, kernelSize: 3, padding: 'same', activation: 'relu' }).apply(p) as tfl.SymbolicTensor;
  const t = tfl.layers.conv2dTranspose({ filters: 4, kernelSize: 3, strides: 2, padding: 'same' }).apply(e2) as tfl.SymbolicTensor;
  const v = tfl.layers.conv2d({ filters: 3, kernelSize: 3 }).apply(e2) as tfl.SymbolicTensor; // 2×2
  const z = tfl.layers.zeroPadding2d({ padding: [[1, 1], [0, 2]] }).apply(v) as tfl.SymbolicTensor; // 4×4
  const u = tfl.layers.upSampling2d({ size: [2, 2] }).apply(z) as tfl.SymbolicTensor; // 8×8
  const cat = tfl.layers.concatenate({ axis: -1 }).apply([e1, t, u]) as tfl.SymbolicTensor;
  const out1 = tfl.layers.conv2d({ filters: 2, kernelSize: 1, activation: 'hardSigmoid' }).apply(cat) as tfl.SymbolicTensor;
  const t2 = tfl.layers.conv2dTranspose({ filters: 2, kernelSize: 3, strides: 2, padding: 'valid', activation: 'tanh' }).apply(e2) as tfl.SymbolicTensor; // 9×9
  const t3 = tfl.layers.conv2dTranspose({ filters: 2, kernelSize: 1, strides: 2, padding: 'valid' }).apply(e2) as tfl.SymbolicTensor; // k < s: 8×8
  const out2 = tfl.layers.concatenate({ axis: 3 }).apply([t3, out1]) as tfl.SymbolicTensor;
  return tfl.model({ inputs: x, outputs: [out2, t2] });
}

/** Squeeze-and-excitation gating (Multiply with broadcasting), Reshape, a gated Multiply of two branches, two inputs. */
function gated(): tfl.LayersModel {
  const x = tfl.input({ shape: [6, 6, 4] });
  const x2 = tfl.input({ shape: [6, 6, 4] });
  const c = tfl.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', activation: 'swish' }).apply(x) as tfl.SymbolicTensor;
  const s = tfl.layers.globalAveragePooling2d({}).apply(c) as tfl.SymbolicTensor;
  const s1 = tfl.layers.dense({ units: 2, activation: 'relu' }).apply(s) as tfl.SymbolicTensor;
  const s2 = tfl.layers.dense({ units: 4, activation: 'sigmoid' }).apply(s1) as tfl.SymbolicTensor;
  const se = tfl.layers.reshape({ targetShape: [1, 1, 4] }).apply(s2) as tfl.SymbolicTensor;
  const scaled = tfl.layers.multiply().apply([c, se]) as tfl.SymbolicTensor;
  const gate = tfl.layers.conv2d({ filters: 4, kernelSize: 1, activation: 'sigmoid' }).apply(x2) as tfl.SymbolicTensor;
  const m = tfl.layers.multiply().apply([scaled, gate]) as tfl.SymbolicTensor;
  const r = tfl.layers.reshape({ targetShape: [36, 4] }).apply(m) as tfl.SymbolicTensor;
  const d = tfl.layers.dense({ units: 3, activation: 'selu' }).apply(r) as tfl.SymbolicTensor; // Dense on the last axis of [36, 4]
  const f = tfl.layers.flatten().apply(d) as tfl.SymbolicTensor;
  const out = tfl.layers.dense({ units: 4, activation: 'gelu' }).apply(f) as tfl.SymbolicTensor;
  return tfl.model({ inputs: [x, x2], outputs: out });
}

/** Activation layers and options: LeakyReLU, ELU, PReLU (per channel), Softmax, hard_sigmoid, relu6, tanh. */
function activations(): tfl.Sequential {
  return tfl.sequential({ layers: [
    tfl.layers.conv2d({ inputShape: [5, 5, 2], filters: 3, kernelSize: 2, dilationRate: 2, activation: 'hardSigmoid' }),
    tfl.layers.leakyReLU({ alpha: 0.15 }),
    tfl.layers.conv2d({ filters: 4, kernelSize: 1, activation: 'elu' }),
    tfl.layers.prelu({ sharedAxes: [1, 2] }),
    tfl.layers.elu({}),
    tfl.layers.flatten(),
    tfl.layers.dense({ units: 6, activation: 'relu6' }),
    tfl.layers.dense({ units: 5, activation: 'tanh' }),
    tfl.layers.dense({ units: 4 }),
    tfl.layers.softmax(),
  ] });
}

test('Sequential LeNet-like (conv, pools, flatten, dense, dropout, softmax) matches tfjs-layers', async () => {
  (await roundTrip(lenet(), 1, 'lenet')).dispose();
});

test('functional residual block with BatchNormalization statistics matches', async () => {
  (await roundTrip(residual(), 2, 'residual')).dispose();
});

test('MobileNet-style block: depthwise, ReLU(max_value 6), separable, global average pooling', async () => {
  (await roundTrip(mobilenetBlock(), 3, 'mobilenet')).dispose();
});

test('U-Net-ish block with two outputs: Conv2DTranspose, UpSampling2D, ZeroPadding2D, Concatenate', async () => {
  (await roundTrip(unet(), 4, 'unet')).dispose();
});

test('two inputs, Multiply (broadcast and plain), Reshape, Dense on a rank-2 input, swish/selu/gelu', async () => {
  (await roundTrip(gated(), 5, 'gated')).dispose();
});

test('activation layers and options: LeakyReLU, ELU, PReLU, Softmax, hard_sigmoid, relu6, dilation', async () => {
  (await roundTrip(activations(), 6, 'activations')).dispose();
});

test.run();
