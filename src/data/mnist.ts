import { ArgumentError, ShapeError } from '../errors.js';
import { tensor, type Tensor } from '../tensor.js';
import { DataError, parseIdx } from './idx.js';

// MNIST from its IDX bytes, with no file system: the caller brings the bytes (fetch, Deno.readFile,
// or the Node loader in mnist-node.ts), so this module runs in every runtime the library does.

/** Images as NHWC float32 in [0, 1] (`count`×`height`×`width`×1) and their int32 labels 0..9. */
export interface MnistSet {
  images: Float32Array;
  labels: Int32Array;
  count: number;
  /** 28 for MNIST (and Fashion-MNIST, EMNIST); other sizes are accepted as they are. */
  height: number;
  width: number;
}

export interface MnistFiles {
  /** The images file (`*-images-idx3-ubyte`): uint8 [N, H, W]. */
  images: Uint8Array | ArrayBufferLike;
  /** The labels file (`*-labels-idx1-ubyte`): uint8 [N], each 0..9. */
  labels: Uint8Array | ArrayBufferLike;
  /** Starts error messages: 'train' gives 'train-images: …' / 'train-labels: …'. Default 'mnist'. */
  name?: string;
}

/** Decode an MNIST images/labels pair: pixels scaled by 1/255, labels checked to be 0..9. */
export function mnistFromIdx(files: MnistFiles): MnistSet {
  if (files === null || typeof files !== 'object') throw new ArgumentError(`mnistFromIdx: expected { images, labels }, got ${String(files)}`);
  const name = files.name ?? 'mnist';
  const imagesName = `${name}-images`, labelsName = `${name}-labels`;
  const images = parseIdx(files.images, imagesName);
  const labels = parseIdx(files.labels, labelsName);
  if (images.dtype !== 'uint8' || images.shape.length !== 3) {
    throw new DataError(`${imagesName}: expected uint8 images [N, height, width], found ${images.dtype} ${images.shape.join('×')}`);
  }
  if (labels.dtype !== 'uint8' || labels.shape.length !== 1) {
    throw new DataError(`${labelsName}: expected uint8 labels [N], found ${labels.dtype} ${labels.shape.join('×')}`);
  }
  const [count, height, width] = images.shape;
  if (labels.shape[0] !== count) {
    throw new DataError(`${name}: ${imagesName} has ${count} images but ${labelsName} has ${labels.shape[0]} labels`);
  }
  const pixels = images.data;
  const x = new Float32Array(pixels.length);
  for (let i = 0; i < pixels.length; i++) x[i] = pixels[i] / 255;
  const y = new Int32Array(count);
  for (let i = 0; i < count; i++) {
    const label = labels.data[i];
    if (label > 9) throw new DataError(`${labelsName}: label ${label} at index ${i} is outside 0..9`);
    y[i] = label;
  }
  return { images: x, labels: y, count, height, width };
}

export interface ToTensorsOptions {
  /** Standardise pixels: (x − mean) / std (0.1307 and 0.3081 are the MNIST training set's). */
  normalize?: { mean: number; std: number };
}

/**
 * Copy a set into tensors: `x` float32 [N, H, W, 1] and `y` int32 [N] (H and W default to 28). The
 * caller owns (disposes) both; they are created together or not at all.
 */
export function toTensors(set: Omit<MnistSet, 'height' | 'width'> & { height?: number; width?: number }, options: ToTensorsOptions = {}): { x: Tensor; y: Tensor } {
  const op = 'toTensors';
  if (set === null || typeof set !== 'object' || !(set.images instanceof Float32Array) || !(set.labels instanceof Int32Array)) {
    throw new ArgumentError(`${op}: set must come from mnistFromIdx or loadMnist ({ images: Float32Array, labels: Int32Array, count, height, width })`);
  }
  const { count, height = 28, width = 28 } = set;
  if (set.labels.length !== count || set.images.length !== count * height * width) {
    throw new ShapeError(`${op}: set of ${count} images ${height}×${width} needs ${count * height * width} pixels and ${count} labels, `
      + `has ${set.images.length} and ${set.labels.length}`);
  }
  const { normalize } = options;
  let mean = 0, std = 1;
  if (normalize !== undefined) {
    ({ mean, std } = normalize);
    if (!Number.isFinite(mean) || !Number.isFinite(std) || !(std > 0)) {
      throw new ArgumentError(`${op}: normalize needs a finite mean and a std > 0, got mean ${mean}, std ${std}`);
    }
  }
  const x = tensor(set.images, [count, height, width, 1]);
  if (normalize !== undefined) {
    // In place in linear memory, before the next allocation can move it (view() is only valid till then).
    const v = x.view();
    for (let i = 0; i < v.length; i++) v[i] = (v[i] - mean) / std;
  }
  let y: Tensor;
  try {
    y = tensor(set.labels, [count], 'int32');
  } catch (e) {
    x.dispose();
    throw e;
  }
  return { x, y };
}
