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
  init, loadLayersModel, loadModel, optimizers, memoryStats, tensor, tidy, ArgumentError, FormatError, ShapeError,
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

// ----- weights: quantised, sharded --------------------------------------------------------

/** The converter's affine quantisation (tensorflowjs/quantization.py): range forced to include 0, min nudged so 0 is exact. */
function quantize(values: Float32Array, bits: 8 | 16): { q: Uint8Array | Uint16Array; scale: number; min: number } {
  let lo = 0, hi = 0;
  for (const v of values) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  const qmax = 2 ** bits - 1;
  const scale = hi > lo ? (hi - lo) / qmax : 1;
  const min = -Math.round(-lo / scale) * scale;
  const q = bits === 8 ? new Uint8Array(values.length) : new Uint16Array(values.length);
  values.forEach((v, i) => { q[i] = Math.min(qmax, Math.max(0, Math.round((v - min) / scale))); });
  return { q, scale, min };
}

/** A saved model with every weight quantised, alternately uint8 ({ scale, min }) and uint16 ({ min, max }); and the dequantised values expected. */
function quantized(saved: Saved): { json: Json; weights: ArrayBuffer; expected: Map<string, Float32Array> } {
  const json = structuredClone(saved.json);
  const specs = json.weightsManifest[0].weights as Array<{ name: string; shape: number[]; dtype: string; quantization?: Json }>;
  const parts: Uint8Array[] = [];
  const expected = new Map<string, Float32Array>();
  let offset = 0;
  specs.forEach((spec, i) => {
    const n = spec.shape.reduce((a, b) => a * b, 1);
    const values = new Float32Array(saved.weights.slice(offset, offset + 4 * n));
    offset += 4 * n;
    const bits = i % 2 ? 16 : 8;
    const { q, scale, min } = quantize(values, bits);
    spec.quantization = i % 4 === 3 ? { dtype: 'uint16', min, max: min + scale * 65535 } : { dtype: bits === 8 ? 'uint8' : 'uint16', scale, min };
    const s = i % 4 === 3 ? (min + scale * 65535 - min) / 65535 : scale;
    expected.set(spec.name, Float32Array.from(q, (v) => v * s + min));
    parts.push(new Uint8Array(q.buffer));
  });
  return { json, weights: concat(parts).buffer as ArrayBuffer, expected };
}

/** Keras weight name → this model's parameter (by layer name and Keras's order). */
function ourWeight(m: Model, name: string): Float32Array {
  const [layerName, weight] = [name.slice(0, name.lastIndexOf('/')), name.slice(name.lastIndexOf('/') + 1)];
  const layer = m.getLayer(layerName);
  let k = layer.paramNames.indexOf(weight.replace(/_(\w)/g, (_, c: string) => c.toUpperCase()));
  if (k < 0 && weight === 'depthwise_kernel') k = layer.paramNames.indexOf('kernel');
  assert.ok(k >= 0, `${name}: no parameter ${weight} in ${layer.paramNames.join(', ')}`);
  const [w, ...rest] = [layer.getWeights()[k]];
  const out = w.toArray() as Float32Array;
  for (const t of [w, ...rest]) t.dispose();
  layer.getWeights().forEach((t) => t.dispose());
  return out;
}

test('uint8/uint16 quantised weights dequantise exactly (q·scale + min) and predict as tfjs does with them', async () => {
  const tfm = residual();
  randomize(tfm, 7);
  const q = quantized(await save(tfm));
  const ours = await loadLayersModel(q.json, q.weights);
  for (const [name, values] of q.expected) assert.equal(ourWeight(ours, name), values, `${name} dequantised`);
  // tfjs itself reads the same quantised bytes (it knows only the { scale, min } form): both must agree on the outputs too.
  const specs = structuredClone(q.json.weightsManifest[0].weights) as Array<{ quantization: Json }>;
  for (const w of specs) if ('max' in w.quantization) w.quantization = { dtype: w.quantization.dtype, min: w.quantization.min, scale: (w.quantization.max - w.quantization.min) / 65535 };
  const theirs = await tfl.loadLayersModel(tf.io.fromMemory({ modelTopology: q.json.modelTopology, weightSpecs: specs as never, weightData: q.weights }));
  compare(ours, theirs, 8, 'quantised residual');
  ours.dispose();
});

test('shards: an array of buffers (one per path, split mid-weight, across two groups) equals the concatenated buffer', async () => {
  const tfm = mobilenetBlock();
  randomize(tfm, 9);
  const saved = await save(tfm);
  const ref = await loadLayersModel(saved.json, saved.weights);
  const specs = saved.json.weightsManifest[0].weights as Array<{ shape: number[] }>;
  const k = 3, cut = specs.slice(0, k).reduce((s, w) => s + 4 * w.shape.reduce((a, b) => a * b, 1), 0);
  const json = structuredClone(saved.json);
  json.weightsManifest = [
    { paths: ['group1-shard1of1.bin'], weights: specs.slice(0, k) },
    { paths: ['group2-shard1of2.bin', 'group2-shard2of2.bin'], weights: specs.slice(k) },
  ];
  const odd = cut + 4 * 37 + 3; // inside a weight, not on a float boundary
  const buffers = [saved.weights.slice(0, cut), saved.weights.slice(cut, odd), saved.weights.slice(odd)];
  for (const weights of [buffers, saved.weights, buffers.map((b) => new Uint8Array(b))]) {
    const m = await loadLayersModel(json, weights);
    for (const l of ref.layers) {
      const a = l.getWeights(), b = m.getLayer(l.name).getWeights();
      a.forEach((t, i) => assert.equal(b[i].toArray(), t.toArray(), `${l.name} weight ${i}`));
      [...a, ...b].forEach((t) => t.dispose());
    }
    m.dispose();
  }
  ref.dispose();
});

// ----- other spellings of the format ------------------------------------------------------

test("Keras 3's dict-form inbound nodes, model_config wrapper, scoped weight names and batch_shape", async () => {
  const tfm = unet();
  randomize(tfm, 10);
  const saved = await save(tfm);
  const topo = saved.json.modelTopology;
  const tensorOf = ([name, node, index]: [string, number, number]) => ({ class_name: '__keras_tensor__', config: { shape: [null], dtype: 'float32', keras_history: [name, node, index] } });
  for (const l of topo.config.layers) {
    l.inbound_nodes = l.inbound_nodes.map((node: Array<[string, number, number]>) => ({ args: [node.length === 1 ? tensorOf(node[0]) : node.map(tensorOf)], kwargs: {} }));
    if (l.class_name === 'InputLayer') { l.config.batch_shape = l.config.batch_input_shape; delete l.config.batch_input_shape; }
  }
  topo.config.input_layers = topo.config.input_layers[0];
  const json = { modelTopology: { model_config: { ...topo, class_name: 'Functional' } }, weightsManifest: saved.json.weightsManifest };
  for (const w of json.weightsManifest[0].weights) w.name = `functional_1/${w.name}:0`;
  const ours = await loadLayersModel(json, saved.weights);
  compare(ours, tfm, 11, 'keras 3 unet');
  ours.dispose();
});

test('a shared layer (one Conv2D called on two inputs) keeps one set of weights', async () => {
  const a = tfl.input({ shape: [5, 5, 2] }), b = tfl.input({ shape: [5, 5, 2] });
  const shared = tfl.layers.conv2d({ filters: 3, kernelSize: 3, activation: 'relu' });
  const ya = shared.apply(a) as tfl.SymbolicTensor, yb = shared.apply(b) as tfl.SymbolicTensor;
  const d = tfl.layers.concatenate({}).apply([ya, yb]) as tfl.SymbolicTensor;
  const tfm = tfl.model({ inputs: [a, b], outputs: [d, yb] });
  const ours = await roundTrip(tfm, 16, 'shared');
  assert.is(ours.layers.filter((l) => l.type === 'conv2d').length, 1);
  ours.dispose();
});

test('float16-quantised weights (the converter\'s --quantize_float16) decode to the nearest float32', async () => {
  const tfm = lenet();
  randomize(tfm, 17);
  const saved = await save(tfm);
  const json = structuredClone(saved.json);
  const f32 = new Float32Array(saved.weights);
  const half = new Uint16Array(f32.length);
  const decoded = new Float32Array(f32.length);
  f32.forEach((v, i) => {
    // Round to the nearest half (all values here are normal halves in [-1.5, 1.5]).
    const e = Math.floor(Math.log2(Math.abs(v) || 2 ** -14)), m = Math.round((Math.abs(v) / 2 ** e - 1) * 1024);
    const [ee, mm] = m === 1024 ? [e + 1, 0] : [e, m];
    half[i] = (v < 0 ? 0x8000 : 0) | (v === 0 ? 0 : ((ee + 15) << 10) | mm);
    decoded[i] = v === 0 ? 0 : Math.sign(v) * (1 + mm / 1024) * 2 ** ee;
  });
  for (const w of json.weightsManifest[0].weights) w.quantization = { dtype: 'float16' };
  const ours = await loadLayersModel(json, half.buffer);
  let offset = 0;
  for (const w of json.weightsManifest[0].weights) {
    const n = w.shape.reduce((x: number, y: number) => x * y, 1);
    assert.equal(ourWeight(ours, w.name), decoded.slice(offset, offset + n), w.name);
    offset += n;
  }
  ours.dispose();
});

test('a Sequential that starts with an InputLayer (Keras 2 style)', async () => {
  const tfm = lenet();
  randomize(tfm, 12);
  const saved = await save(tfm);
  const layers = saved.json.modelTopology.config.layers;
  delete layers[0].config.batch_input_shape;
  layers.unshift({ class_name: 'InputLayer', config: { batch_input_shape: [null, 16, 16, 1], dtype: 'float32', sparse: false, name: 'input_1' } });
  const ours = await loadLayersModel(saved.json, saved.weights);
  compare(ours, tfm, 13, 'lenet with InputLayer');
  assert.equal(ours.inputShape, [16, 16, 1]);
  ours.dispose();
});

// ----- errors: typed, named, nothing allocated ---------------------------------------------

async function rejects(p: () => Promise<unknown>, type: new (...a: never[]) => Error, ...fragments: string[]): Promise<void> {
  const before = live();
  try {
    await p();
  } catch (e) {
    assert.instance(e, type, `expected ${type.name}, got ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
    for (const f of fragments) assert.ok((e as Error).message.includes(f), `"${(e as Error).message}" lacks "${f}"`);
    assert.equal(live(), before, `memory after "${(e as Error).message}"`);
    return;
  }
  assert.unreachable(`expected ${type.name}`);
}

test('unsupported layers and options are ArgumentErrors naming the layer and the option', async () => {
  const tfm = residual();
  const saved = await save(tfm);
  const edit = (f: (layers: Json[]) => void): Json => {
    const json = structuredClone(saved.json);
    f(json.modelTopology.config.layers);
    return json;
  };
  const conv = (layers: Json[]) => layers.find((l) => l.class_name === 'Conv2D')!;
  await rejects(() => loadLayersModel(edit((ls) => { ls[2].class_name = 'LSTM'; }), saved.weights), ArgumentError, 'LSTM', `layer '${saved.json.modelTopology.config.layers[2].name}'`, 'not supported');
  await rejects(() => loadLayersModel(edit((ls) => { conv(ls).config.data_format = 'channels_first'; }), saved.weights), ArgumentError, '(Conv2D)', 'data_format', 'channels_first');
  await rejects(() => loadLayersModel(edit((ls) => { ls.find((l) => l.class_name === 'ReLU')!.config.max_value = 3; }), saved.weights), ArgumentError, '(ReLU)', 'max_value = 3');
  await rejects(() => loadLayersModel(edit((ls) => { conv(ls).config.activation = 'mish'; }), saved.weights), ArgumentError, '(Conv2D)', 'activation = "mish"');
  await rejects(() => loadLayersModel(edit((ls) => { conv(ls).config.padding = 'causal'; }), saved.weights), ArgumentError, 'padding = "causal"');
  await rejects(() => loadLayersModel(edit((ls) => { conv(ls).config.lora_rank = 4; }), saved.weights), ArgumentError, 'lora_rank = 4');
  await rejects(() => loadLayersModel(edit((ls) => { ls[0].config.batch_input_shape = [null, null, null, 4]; }), saved.weights), ArgumentError, '(InputLayer)', 'unknown (null)');
  await rejects(() => loadLayersModel({ ...saved.json, modelTopology: { class_name: 'Sequential', config: { layers: [{ class_name: 'Conv2D', config: { name: 'c', batch_input_shape: [null, 4, 4, 1], filters: 1, kernel_size: 3, groups: 2 } }] } }, weightsManifest: [] }, new ArrayBuffer(0)), ArgumentError, "layer 'c' (Conv2D)", 'groups');
  await rejects(() => loadLayersModel(saved.json, 'bytes'), ArgumentError, 'ArrayBuffer');
  await rejects(() => loadLayersModel(saved.json, [saved.weights, saved.weights]), ArgumentError, '2 buffers', '1 paths');
});

test('malformed files are FormatErrors naming the field; memory unchanged', async () => {
  const tfm = residual();
  const saved = await save(tfm);
  const text = JSON.stringify(saved.json);
  const specs = () => { const j = structuredClone(saved.json); return { j, w: j.weightsManifest[0].weights as Json[] }; };
  // The weights' shapes and bytes.
  { const { j, w } = specs(); w[0].shape = [...w[0].shape].reverse(); await rejects(() => loadLayersModel(j, saved.weights), FormatError, w[0].name, 'needs [3,3,4,4]'); }
  { const j = structuredClone(saved.json); j.modelTopology.config.layers[1].config.kernel_size = [1, 9]; await rejects(() => loadLayersModel(j, saved.weights), FormatError, 'has shape [3,3,4,4]', 'needs [1,9,4,4]'); }
  await rejects(() => loadLayersModel(saved.json, saved.weights.slice(0, -1)), FormatError, 'truncated');
  await rejects(() => loadLayersModel(saved.json, concat([new Uint8Array(saved.weights), new Uint8Array(4)]).buffer), FormatError, 'need', 'got');
  { const { j, w } = specs(); w[1].dtype = 'int32'; await rejects(() => loadLayersModel(j, saved.weights), FormatError, w[1].name, 'int32'); }
  { const { j, w } = specs(); w[1].quantization = { dtype: 'int8', scale: 1, min: 0 }; await rejects(() => loadLayersModel(j, saved.weights), FormatError, 'int8'); }
  { const { j, w } = specs(); const last = w.pop()!; await rejects(() => loadLayersModel(j, saved.weights.slice(0, -4 * last.shape[0])), FormatError, `no weight '${last.name}'`); }
  { const { j, w } = specs(); w.push({ name: 'ghost/kernel', shape: [1], dtype: 'float32' }); await rejects(() => loadLayersModel(j, concat([new Uint8Array(saved.weights), new Uint8Array(4)]).buffer), FormatError, "'ghost/kernel' belongs to no layer"); }
  { const { j, w } = specs(); w[2].name = w[0].name; await rejects(() => loadLayersModel(j, saved.weights), FormatError, 'listed twice'); }
  // The JSON itself.
  await rejects(() => loadLayersModel('{"modelTopology": ', saved.weights), FormatError, 'not JSON');
  await rejects(() => loadLayersModel('[1, 2]', saved.weights), FormatError, 'must be an object');
  await rejects(() => loadLayersModel(text.replace('"config":{', '"config":{"__proto__":{"filters":1},'), saved.weights), FormatError, '__proto__');
  await rejects(() => loadLayersModel(JSON.parse(text.replace('"config":{', '"config":{"__proto__":{"filters":1},')), saved.weights), FormatError, '__proto__');
  await rejects(() => loadLayersModel(`{"a":${'['.repeat(200_000)}${']'.repeat(200_000)}}`, saved.weights), FormatError, 'nested');
  let deep: unknown = 1;
  for (let i = 0; i < 100_000; i++) deep = [deep];
  await rejects(() => loadLayersModel({ ...saved.json, extra: deep }, saved.weights), FormatError, 'nested');
  await rejects(() => loadLayersModel({ weightsManifest: [] }, saved.weights), FormatError, 'modelTopology');
  { const j = structuredClone(saved.json); j.modelTopology.config.layers[3].inbound_nodes = [[['nowhere', 0, 0, {}]]]; await rejects(() => loadLayersModel(j, saved.weights), FormatError, "'nowhere'"); }
  { const j = structuredClone(saved.json); j.modelTopology.config.layers[1].inbound_nodes = [[[j.modelTopology.config.layers[3].name, 0, 0, {}]]]; await rejects(() => loadLayersModel(j, saved.weights), FormatError, 'never computed'); }
  { const j = structuredClone(saved.json); j.modelTopology.config.layers[1].config.filters = 'four'; await rejects(() => loadLayersModel(j, saved.weights), FormatError, 'config.filters', 'integer'); }
  { const j = structuredClone(saved.json); j.modelTopology.config.layers[2].name = j.modelTopology.config.layers[1].name; await rejects(() => loadLayersModel(j, saved.weights), FormatError, 'two layers are named'); }
  { const j = structuredClone(saved.json); j.modelTopology.class_name = 'Graph'; await rejects(() => loadLayersModel(j, saved.weights), ArgumentError, '"Graph"'); }
  { const j = structuredClone(saved.json); j.modelTopology.config.layers[4].config.filters = 5; await rejects(() => loadLayersModel(j, saved.weights), ShapeError, '(Add)', 'do not broadcast'); }
});

// ----- fine-tuning ---------------------------------------------------------------------------

test('a loaded model fine-tunes (loss drops, no leaks) and survives save → loadModel', async () => {
  const tfm = residual();
  randomize(tfm, 14);
  const saved = await save(tfm);
  const start = live();
  const m = await loadLayersModel(saved.json, saved.weights);
  const r = rng(15);
  const x = tensor(randArray(r, 8 * 8 * 8 * 4), [8, 8, 8, 4]);
  const y = tensor(Array.from({ length: 8 }, (_, i) => i % 3), [8], 'int32');
  m.compile({ optimizer: optimizers.adam({ learningRate: 0.01 }), loss: 'softmaxCrossEntropy' });
  const first = m.trainStep(x, y).loss; // creates gradients and optimizer state
  const steady = live();
  let last = first;
  for (let i = 0; i < 15; i++) last = m.trainStep(x, y).loss;
  assert.ok(last < 0.5 * first, `loss ${first} → ${last}`);
  assert.equal(live(), steady, 'training steps leak');
  const copy = loadModel(m.save());
  tidy(() => assert.equal((copy.predict(x) as Tensor).toArray(), (m.predict(x) as Tensor).toArray()));
  copy.dispose();
  m.dispose();
  x.dispose();
  y.dispose();
  assert.equal(live(), start, 'everything freed');
});

test.run();
