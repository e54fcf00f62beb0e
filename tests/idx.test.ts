import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { gzipSync } from 'node:zlib';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  init, memoryStats, parseIdx, encodeIdx, mnistFromIdx, toTensors,
  DataError, SimdcnnError, ShapeError, DTypeError, ArgumentError, type IdxDType,
} from '../src/index.ts';
import { loadMnist } from '../src/data/mnist-node.ts';
import { allclose, equalArrays, throwsTyped } from './helpers.ts';

test.before(async () => {
  await init();
});

const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);

// ---- big-endian correctness against hand-written bytes ----

test('parseIdx reads hand-written big-endian files of every dtype', () => {
  // Each: header (0 0 type rank, dims as big-endian u32), then the elements in big-endian order.
  const cases: [IdxDType, Uint8Array, number[], number[]][] = [
    ['uint8', bytes(0, 0, 0x08, 1, 0, 0, 0, 3, 0, 127, 255), [3], [0, 127, 255]],
    ['int8', bytes(0, 0, 0x09, 1, 0, 0, 0, 3, 0x80, 0xff, 0x7f), [3], [-128, -1, 127]],
    ['int16', bytes(0, 0, 0x0b, 1, 0, 0, 0, 3, 0x01, 0x02, 0xff, 0xfe, 0x80, 0x00), [3], [0x0102, -2, -32768]],
    ['int32', bytes(0, 0, 0x0c, 2, 0, 0, 0, 1, 0, 0, 0, 2, 0x01, 0x02, 0x03, 0x04, 0xff, 0xff, 0xff, 0xfd), [1, 2], [0x01020304, -3]],
    ['float32', bytes(0, 0, 0x0d, 1, 0, 0, 0, 2, 0x3f, 0x80, 0, 0, 0xc0, 0x49, 0x0f, 0xdb), [2], [1, Math.fround(-Math.PI)]],
    ['float64', bytes(0, 0, 0x0e, 1, 0, 0, 0, 1, 0x40, 0x09, 0x21, 0xfb, 0x54, 0x44, 0x2d, 0x18), [1], [Math.PI]],
  ];
  const arrays = { uint8: Uint8Array, int8: Int8Array, int16: Int16Array, int32: Int32Array, float32: Float32Array, float64: Float64Array };
  for (const [dtype, file, shape, values] of cases) {
    const r = parseIdx(file, dtype);
    assert.is(r.dtype, dtype);
    assert.equal(r.shape, shape, dtype);
    assert.ok(r.data instanceof arrays[dtype], `${dtype}: ${r.data.constructor.name}`);
    equalArrays(r.data, values, `parseIdx ${dtype}`);
    // And encodeIdx writes exactly those bytes back.
    equalArrays(encodeIdx(values, shape, dtype), file, `encodeIdx ${dtype}`);
  }
});

test('encodeIdx → parseIdx round trips every dtype, rank 1 to 8', () => {
  const samples: Record<IdxDType, number[]> = {
    uint8: [0, 1, 128, 255, 7, 42],
    int8: [-128, -1, 0, 1, 127, -77],
    int16: [-32768, -1, 0, 256, 32767, -1234],
    int32: [-2147483648, -1, 0, 65536, 2147483647, -123456789],
    float32: [0, -0, 1.5, -2.25e-30, 3.4e38, -Infinity].map(Math.fround),
    float64: [Math.PI, -1e-300, 1.7976931348623157e308, NaN, Infinity, -0],
  };
  for (const dtype of Object.keys(samples) as IdxDType[]) {
    for (const shape of [[6], [2, 3], [3, 1, 2], [1, 1, 1, 1, 1, 1, 2, 3]]) {
      const r = parseIdx(encodeIdx(samples[dtype], shape, dtype).buffer, dtype); // ArrayBuffer input too
      assert.is(r.dtype, dtype);
      assert.equal(r.shape, shape);
      equalArrays(r.data, samples[dtype], `round trip ${dtype} [${shape}]`);
      if (dtype === 'float64' || dtype === 'float32') assert.ok(Object.is(r.data[dtype === 'float32' ? 1 : 5], -0), `${dtype} keeps -0`);
    }
  }
  // dtype inferred from a typed array; empty dims are legal.
  assert.is(parseIdx(encodeIdx(new Int16Array([-5, 5]), [2])).dtype, 'int16');
  const empty = parseIdx(encodeIdx([], [0, 28, 28], 'uint8'));
  assert.equal(empty.shape, [0, 28, 28]);
  assert.is(empty.data.length, 0);
});

test('parseIdx reads from a view into a larger buffer and returns its own copy', () => {
  const file = encodeIdx([1, 2, 3, 4], [4], 'uint8');
  const big = new Uint8Array(file.length + 10);
  big.set(file, 5);
  const view = big.subarray(5, 5 + file.length);
  const r = parseIdx(view);
  equalArrays(r.data, [1, 2, 3, 4], 'offset view');
  view[file.length - 1] = 99; // the parsed data must not alias the input
  assert.is(r.data[3], 4);
  // Multi-byte data at an odd offset (DataView needs no alignment).
  const f = encodeIdx([-1, 1e9], [2], 'int32');
  const odd = new Uint8Array(f.length + 1);
  odd.set(f, 1);
  equalArrays(parseIdx(odd.subarray(1)).data, [-1, 1e9], 'odd offset int32');
});

// ---- header and length errors ----

test('parseIdx rejects bad headers with a DataError naming the file', () => {
  const ok = encodeIdx([1, 2, 3, 4, 5, 6], [2, 3], 'uint8');
  const withByte = (i: number, v: number): Uint8Array => { const c = ok.slice(); c[i] = v; return c; };

  throwsTyped(() => parseIdx(bytes(0, 0, 8), 'tiny'), DataError, 'tiny:', 'truncated IDX header', 'at least 4 bytes', 'found 3');
  throwsTyped(() => parseIdx(new Uint8Array(0)), DataError, 'idx:', 'found 0');
  throwsTyped(() => parseIdx(withByte(0, 1), 'f'), DataError, 'f: not an IDX file', '0x00 0x00', 'found 0x01 0x00');
  throwsTyped(() => parseIdx(withByte(1, 0x08), 'f'), DataError, 'not an IDX file', 'found 0x00 0x08');
  throwsTyped(() => parseIdx(bytes(0x1f, 0x8b, 8, 0, 0, 0), 'train-images.gz'), DataError, 'train-images.gz', 'gzip');
  throwsTyped(() => parseIdx(withByte(2, 0x0a), 'f'), DataError, 'f: unknown IDX type code 0x0a', '0x08 uint8', '0x0e float64');
  throwsTyped(() => parseIdx(withByte(2, 0x0f), 'f'), DataError, 'unknown IDX type code 0x0f');
  throwsTyped(() => parseIdx(withByte(3, 0), 'f'), DataError, 'f: IDX header declares 0 dimensions', '1 to 8');
  throwsTyped(() => parseIdx(withByte(3, 9), 'f'), DataError, 'declares 9 dimensions');
  throwsTyped(() => parseIdx(ok.subarray(0, 10), 'f'), DataError, 'f: truncated IDX header', '2 dimensions need 12 header bytes', 'found 10');
  // A rank byte that claims more dims than the file has bytes for.
  throwsTyped(() => parseIdx(withByte(3, 4), 'f'), DataError, 'truncated IDX header', '4 dimensions need 20 header bytes', 'found 18');
});

test('parseIdx requires the exact data length: truncated or trailing bytes', () => {
  const ok = encodeIdx(new Int32Array(2 * 3), [2, 3], 'int32'); // 12 header + 24 data bytes
  throwsTyped(() => parseIdx(ok.subarray(0, ok.length - 1), 'part'), DataError,
    'part: truncated IDX data: header says 2×3 int32 = 24 bytes, found 23');
  throwsTyped(() => parseIdx(ok.subarray(0, 12), 'part'), DataError, 'truncated IDX data', 'found 0');
  const longer = new Uint8Array(ok.length + 5);
  longer.set(ok);
  throwsTyped(() => parseIdx(longer, 'long'), DataError, 'long: IDX data has 5 trailing bytes: header says 2×3 int32 = 24 bytes, found 29');
  // A huge header claim against a small file is an error, not an allocation.
  const huge = bytes(0, 0, 0x08, 3, 0, 0, 0xea, 0x60, 0, 0, 0, 28, 0, 0, 0, 28, 1, 2, 3);
  throwsTyped(() => parseIdx(huge, 'train-images'), DataError, 'train-images: truncated IDX data: header says 60000×28×28 uint8 = 47040000 bytes, found 3');
  // DataError is one of ours.
  try { parseIdx(bytes(1)); } catch (e) { assert.ok(e instanceof SimdcnnError); assert.is((e as Error).name, 'DataError'); }
  throwsTyped(() => parseIdx('not bytes' as never, 'f'), ArgumentError, 'parseIdx', 'Uint8Array or ArrayBuffer', 'string');
});

test('encodeIdx rejects bad arguments', () => {
  throwsTyped(() => encodeIdx([1, 2, 3], [2, 2], 'uint8'), ShapeError, 'encodeIdx', '[2,2]', '4 elements', 'data has 3');
  throwsTyped(() => encodeIdx([1], [], 'uint8'), ShapeError, 'encodeIdx', '1 to 8');
  throwsTyped(() => encodeIdx([1], [1, 1, 1, 1, 1, 1, 1, 1, 1], 'uint8'), ShapeError, '1 to 8');
  throwsTyped(() => encodeIdx([1], [-1], 'uint8'), ShapeError, '[-1]');
  throwsTyped(() => encodeIdx([256], [1], 'uint8'), DTypeError, 'uint8', '[0, 255]', 'got 256 at index 0');
  throwsTyped(() => encodeIdx([0, -129], [2], 'int8'), DTypeError, 'int8', 'got -129 at index 1');
  throwsTyped(() => encodeIdx([1.5], [1], 'int32'), DTypeError, 'int32', '1.5');
  throwsTyped(() => encodeIdx([1], [1], 'uint16' as never), DTypeError, 'dtype', 'uint16');
  throwsTyped(() => encodeIdx([1], [1]), DTypeError, 'dtype is required');
});

// ---- MNIST from bytes ----

/** n synthetic 28×28 images: pixel (i, y, x) = (i*31 + y*28 + x) mod 256. */
function syntheticImages(n: number): Uint8Array {
  const px = new Uint8Array(n * 28 * 28);
  for (let i = 0; i < px.length; i++) px[i] = (Math.floor(i / 784) * 31 + (i % 784)) % 256;
  return px;
}

test('mnistFromIdx scales pixels to [0, 1] and reads labels', () => {
  const px = syntheticImages(3);
  const set = mnistFromIdx({ images: encodeIdx(px, [3, 28, 28], 'uint8'), labels: encodeIdx([7, 0, 9], [3], 'uint8') });
  assert.is(set.count, 3);
  assert.is(set.height, 28);
  assert.is(set.width, 28);
  assert.ok(set.images instanceof Float32Array);
  assert.ok(set.labels instanceof Int32Array);
  equalArrays(set.labels, [7, 0, 9], 'labels');
  allclose(set.images, Array.from(px, (v) => v / 255), 'pixels / 255', 0, 1e-7);
  assert.is(Math.max(...set.images), 1);
  assert.is(Math.min(...set.images), 0);

  const { x, y } = toTensors(set);
  assert.equal(x.shape, [3, 28, 28, 1]);
  assert.is(x.dtype, 'float32');
  assert.equal(y.shape, [3]);
  assert.is(y.dtype, 'int32');
  equalArrays(x.toArray(), set.images, 'x = images (NHWC, C = 1)');
  equalArrays(y.toArray(), [7, 0, 9], 'y');
  x.dispose();
  y.dispose();

  const norm = toTensors(set, { normalize: { mean: 0.1307, std: 0.3081 } });
  allclose(norm.x.toArray(), Array.from(set.images, (v) => (v - 0.1307) / 0.3081), 'normalized', 1e-6, 1e-6);
  norm.x.dispose();
  norm.y.dispose();
  assert.is(memoryStats().tensors, 0);
});

test('mnistFromIdx and toTensors reject inconsistent sets', () => {
  const images = encodeIdx(syntheticImages(3), [3, 28, 28], 'uint8');
  throwsTyped(() => mnistFromIdx({ images, labels: encodeIdx([1, 2], [2], 'uint8'), name: 'train' }), DataError,
    'train-images has 3 images but train-labels has 2 labels');
  throwsTyped(() => mnistFromIdx({ images, labels: encodeIdx([1, 10, 2], [3], 'uint8'), name: 'train' }), DataError,
    'train-labels: label 10 at index 1 is outside 0..9');
  throwsTyped(() => mnistFromIdx({ images: encodeIdx(new Uint8Array(784), [784], 'uint8'), labels: encodeIdx([1], [1], 'uint8') }), DataError,
    'mnist-images', 'expected uint8 images [N, height, width]', 'found uint8 784');
  throwsTyped(() => mnistFromIdx({ images: encodeIdx(new Float32Array(784), [1, 28, 28]), labels: encodeIdx([1], [1], 'uint8') }), DataError,
    'mnist-images', 'found float32 1×28×28');
  throwsTyped(() => mnistFromIdx({ images, labels: encodeIdx([1, 2, 3], [3, 1], 'uint8') }), DataError,
    'mnist-labels: expected uint8 labels [N], found uint8 3×1');
  // Header errors carry the file's name.
  throwsTyped(() => mnistFromIdx({ images: images.subarray(0, 100), labels: encodeIdx([1, 2, 3], [3], 'uint8'), name: 't10k' }), DataError,
    't10k-images: truncated IDX data');

  const set = mnistFromIdx({ images, labels: encodeIdx([1, 2, 3], [3], 'uint8') });
  throwsTyped(() => toTensors(set, { normalize: { mean: 0.1, std: 0 } }), ArgumentError, 'toTensors', 'std > 0');
  throwsTyped(() => toTensors({ ...set, count: 4 }), ShapeError, 'toTensors', '4 images');
  throwsTyped(() => toTensors({} as never), ArgumentError, 'toTensors');
  assert.is(memoryStats().tensors, 0);
});

// ---- the real data ----

test('loadMnist reads the real MNIST: 60000 + 10000 images, first t10k label is 7', async () => {
  const { train, test: t10k } = await loadMnist();
  assert.is(train.count, 60000);
  assert.is(train.images.length, 60000 * 784);
  assert.is(t10k.count, 10000);
  assert.is(t10k.images.length, 10000 * 784);
  assert.is(t10k.labels[0], 7); // the famous first test digit
  assert.is(train.labels[0], 5);

  const histogram = new Array(10).fill(0);
  for (const l of t10k.labels) histogram[l]++;
  assert.is(histogram.reduce((a, b) => a + b, 0), 10000);
  // Known class counts of the MNIST test set.
  assert.equal(histogram, [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);

  let lo = Infinity, hi = -Infinity, sum = 0;
  for (const v of t10k.images) { if (v < lo) lo = v; if (v > hi) hi = v; sum += v; }
  assert.is(lo, 0);
  assert.is(hi, 1);
  const mean = sum / t10k.images.length;
  assert.ok(Math.abs(mean - 0.1325) < 1e-3, `t10k mean pixel ${mean}`);

  const { x, y } = toTensors(t10k);
  assert.equal(x.shape, [10000, 28, 28, 1]);
  assert.equal(Array.from(y.toArray().subarray(0, 5)), [7, 2, 1, 0, 4]);
  x.dispose();
  y.dispose();
  assert.is(memoryStats().tensors, 0);
});

test('loadMnist with { dir }: reads .gz files, names a missing file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'simdcnn-idx-'));
  try {
    const write = (file: string, data: Uint8Array, gz: boolean): void => writeFileSync(join(dir, gz ? `${file}.gz` : file), gz ? gzipSync(data) : data);
    write('train-images-idx3-ubyte', encodeIdx(syntheticImages(2), [2, 28, 28], 'uint8'), true);
    write('train-labels-idx1-ubyte', encodeIdx([3, 4], [2], 'uint8'), false);
    write('t10k-images-idx3-ubyte', encodeIdx(syntheticImages(1), [1, 28, 28], 'uint8'), false);

    let err: unknown;
    try { await loadMnist({ dir }); } catch (e) { err = e; }
    assert.ok(err instanceof DataError, String(err));
    for (const f of ['t10k-labels-idx1-ubyte not found', dir, 'check { dir }']) assert.ok((err as Error).message.includes(f), (err as Error).message);

    write('t10k-labels-idx1-ubyte', encodeIdx([10], [1], 'uint8'), true);
    err = undefined;
    try { await loadMnist({ dir }); } catch (e) { err = e; }
    assert.ok(err instanceof DataError && err.message.includes('t10k-labels: label 10 at index 0'), String(err));

    write('t10k-labels-idx1-ubyte', encodeIdx([8], [1], 'uint8'), true);
    const { train, test: t10k } = await loadMnist({ dir });
    assert.is(train.count, 2);
    equalArrays(train.labels, [3, 4], 'train labels');
    allclose(train.images, Array.from(syntheticImages(2), (v) => v / 255), 'gunzipped pixels', 0, 1e-7);
    assert.is(t10k.labels[0], 8);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
