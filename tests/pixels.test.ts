// fromPixels against plain reference resizes written here as the textbook 2-D formulas (the
// library resizes separably, in taps): bilinear with half-pixel centres, and area averaging as the
// overlap of each output pixel's square with every source pixel. Odd sizes, up and down, both
// modes, 1 and 3 channels, every normalisation; then the error cases.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { init, fromPixels, memoryStats, ArgumentError, type PixelData } from '../src/index.ts';
import { rng, throwsTyped } from './helpers.ts';

test.before(async () => {
  await init();
});

const SEED = 4242;

function randomImage(r: () => number, width: number, height: number, clamped = false): PixelData {
  const data = clamped ? new Uint8ClampedArray(width * height * 4) : new Uint8Array(width * height * 4);
  for (let i = 0; i < data.length; i++) data[i] = Math.floor(r() * 256);
  return { data, width, height };
}

/** Pixel (y, x) of channel c, in 0..255: RGB or BT.601 luminance. */
function value(img: PixelData, y: number, x: number, c: number, channels: number): number {
  const p = (y * img.width + x) * 4;
  return channels === 3 ? img.data[p + c] : 0.299 * img.data[p] + 0.587 * img.data[p + 1] + 0.114 * img.data[p + 2];
}

/** Bilinear, half-pixel centres, clamped at the borders (PyTorch align_corners=False, no antialias). */
function refBilinear(img: PixelData, outH: number, outW: number, channels: number): number[] {
  const out: number[] = [];
  const H = img.height, W = img.width;
  for (let y = 0; y < outH; y++) for (let x = 0; x < outW; x++) for (let c = 0; c < channels; c++) {
    const sy = Math.min(Math.max((y + 0.5) * H / outH - 0.5, 0), H - 1);
    const sx = Math.min(Math.max((x + 0.5) * W / outW - 0.5, 0), W - 1);
    const y0 = Math.floor(sy), x0 = Math.floor(sx);
    const y1 = Math.min(y0 + 1, H - 1), x1 = Math.min(x0 + 1, W - 1);
    const fy = sy - y0, fx = sx - x0;
    out.push((1 - fy) * ((1 - fx) * value(img, y0, x0, c, channels) + fx * value(img, y0, x1, c, channels))
      + fy * ((1 - fx) * value(img, y1, x0, c, channels) + fx * value(img, y1, x1, c, channels)));
  }
  return out;
}

/** Area: the mean over the output pixel's square [y·H/outH, (y+1)·H/outH) × [...], by overlap. */
function refArea(img: PixelData, outH: number, outW: number, channels: number): number[] {
  const out: number[] = [];
  const H = img.height, W = img.width, sy = H / outH, sx = W / outW;
  const overlap = (a0: number, a1: number, b0: number, b1: number): number => Math.max(0, Math.min(a1, b1) - Math.max(a0, b0));
  for (let y = 0; y < outH; y++) for (let x = 0; x < outW; x++) for (let c = 0; c < channels; c++) {
    let s = 0;
    for (let v = 0; v < H; v++) for (let u = 0; u < W; u++) {
      const a = overlap(y * sy, (y + 1) * sy, v, v + 1) * overlap(x * sx, (x + 1) * sx, u, u + 1);
      if (a > 0) s += a * value(img, v, u, c, channels);
    }
    out.push(s / (sy * sx));
  }
  return out;
}

function maxErr(got: ArrayLike<number>, want: number[]): number {
  assert.is(got.length, want.length, 'element count');
  let m = 0;
  for (let i = 0; i < want.length; i++) m = Math.max(m, Math.abs(got[i] - want[i]));
  return m;
}

test('no resize: RGB scaled to [0, 1], luminance BT.601, raw with normalize: false', () => {
  // 2×1 pixels: pure red, and (10, 20, 30) with alpha 0 (alpha is ignored).
  const img = { data: new Uint8ClampedArray([255, 0, 0, 255, 10, 20, 30, 0]), width: 2, height: 1 };
  const rgb = fromPixels(img);
  assert.equal(rgb.shape, [1, 1, 2, 3]);
  assert.equal(Array.from(rgb.toArray()), Array.from(new Float32Array([1, 0, 0, 10 / 255, 20 / 255, 30 / 255])));
  const grey = fromPixels(img, { channels: 1, normalize: false });
  assert.equal(grey.shape, [1, 1, 2, 1]);
  assert.equal(Array.from(grey.toArray()), Array.from(new Float32Array([0.299 * 255, 0.299 * 10 + 0.587 * 20 + 0.114 * 30])));
  rgb.dispose();
  grey.dispose();
});

test('bilinear and area against the 2-D reference formulas: odd sizes, up and down, 1 and 3 channels', () => {
  const r = rng(SEED);
  const cases: Array<[number, number, number, number]> = [
    // [H, W, outH, outW]
    [7, 5, 3, 2], [5, 7, 11, 13], [9, 9, 3, 3], [8, 6, 4, 3], [3, 4, 7, 2], [13, 11, 5, 9], [1, 1, 3, 2], [6, 1, 4, 5], [4, 4, 4, 4],
  ];
  for (const [H, W, oh, ow] of cases) {
    const img = randomImage(r, W, H, r() < 0.5);
    for (const channels of [1, 3] as const) {
      for (const mode of ['bilinear', 'area'] as const) {
        const t = fromPixels(img, { channels, size: [oh, ow], resize: mode, normalize: false });
        assert.equal(t.shape, [1, oh, ow, channels]);
        const want = mode === 'area' ? refArea(img, oh, ow, channels) : refBilinear(img, oh, ow, channels);
        const e = maxErr(t.toArray(), want);
        // float32 output of values up to 255: a few ulps of 255 (1.5e-5 each).
        assert.ok(e <= 1e-4, `seed ${SEED}: ${mode} ${H}×${W} → ${oh}×${ow}, ${channels} channels: max err ${e}`);
        t.dispose();
      }
    }
  }
});

test('area with integer factors is the exact block mean', () => {
  const img = { data: new Uint8Array(4 * 4 * 4), width: 4, height: 4 };
  for (let p = 0; p < 16; p++) img.data.set([p * 10, 255 - p * 10, p, 255], p * 4);
  const t = fromPixels(img, { size: [2, 2], resize: 'area', normalize: false });
  const got = Array.from(t.toArray());
  // Top-left block: pixels 0, 1, 4, 5 → red mean (0 + 10 + 40 + 50) / 4 = 25.
  assert.equal(got.slice(0, 3), [25, 230, 2.5]);
  assert.equal(got.slice(9, 12), [125, 130, 12.5]); // bottom-right: 10, 11, 14, 15
  t.dispose();
});

test('normalize { mean, std } per channel after scaling to [0, 1], ImageNet style', () => {
  const r = rng(SEED + 1);
  const img = randomImage(r, 9, 7);
  const mean = [0.485, 0.456, 0.406], std = [0.229, 0.224, 0.225];
  const raw = fromPixels(img, { size: [5, 4], normalize: false });
  const norm = fromPixels(img, { size: [5, 4], normalize: { mean, std } });
  const unit = fromPixels(img, { size: [5, 4] });
  const a = raw.toArray(), b = norm.toArray(), u = unit.toArray();
  for (let i = 0; i < a.length; i++) {
    const c = i % 3;
    assert.ok(Math.abs(b[i] - (a[i] / 255 - mean[c]) / std[c]) < 1e-5, `element ${i}`);
    assert.ok(Math.abs(u[i] - a[i] / 255) < 1e-6, `element ${i} in [0, 1]`);
  }
  const grey = fromPixels(img, { channels: 1, normalize: { mean: [0.1307], std: [0.3081] } });
  const greyRaw = fromPixels(img, { channels: 1, normalize: false });
  const g = grey.toArray(), gr = greyRaw.toArray();
  for (let i = 0; i < g.length; i++) assert.ok(Math.abs(g[i] - (gr[i] / 255 - 0.1307) / 0.3081) < 1e-5);
  for (const t of [raw, norm, unit, grey, greyRaw]) t.dispose();
});

test('bad sources and options: typed errors naming fromPixels and the argument; nothing allocated', () => {
  const before = memoryStats();
  const ok = { data: new Uint8Array(2 * 3 * 4), width: 3, height: 2 };
  throwsTyped(() => fromPixels({ data: new Uint8Array(23), width: 3, height: 2 }), ArgumentError, 'fromPixels', '23 bytes', '24');
  throwsTyped(() => fromPixels({ data: new Float32Array(24) as never, width: 3, height: 2 }), ArgumentError, 'fromPixels', 'source.data', 'Float32Array');
  throwsTyped(() => fromPixels({ data: [1, 2, 3, 4] as never, width: 1, height: 1 }), ArgumentError, 'source.data', 'Array');
  throwsTyped(() => fromPixels({ data: new Uint8Array(0), width: 0, height: 0 }), ArgumentError, 'source.width');
  throwsTyped(() => fromPixels({ data: new Uint8Array(24), width: 3, height: 2.5 }), ArgumentError, 'source.height');
  for (const bad of [undefined, null, 42, 'img.png', {}, { width: 3, height: 2 }]) {
    throwsTyped(() => fromPixels(bad as never), ArgumentError, 'fromPixels', 'source must be ImageData-like');
  }
  // Node has no HTMLImageElement, canvas, OffscreenCanvas or ImageBitmap: the message says so.
  throwsTyped(() => fromPixels({ width: 3, height: 2 }), ArgumentError, 'this runtime has no HTMLImageElement');
  throwsTyped(() => fromPixels(ok, null as never), ArgumentError, 'options must be an object');
  throwsTyped(() => fromPixels(ok, { channel: 1 } as never), ArgumentError, "unknown option 'channel'", 'channels, size, resize, normalize');
  throwsTyped(() => fromPixels(ok, { channels: 4 as never }), ArgumentError, 'channels must be 1 or 3', '4');
  throwsTyped(() => fromPixels(ok, { size: [28] as never }), ArgumentError, 'size must be [height, width]');
  throwsTyped(() => fromPixels(ok, { size: [0, 28] }), ArgumentError, 'size', '[0,28]');
  throwsTyped(() => fromPixels(ok, { size: [2.5, 28] }), ArgumentError, 'size');
  throwsTyped(() => fromPixels(ok, { resize: 'nearest' as never }), ArgumentError, 'resize', 'nearest');
  throwsTyped(() => fromPixels(ok, { normalize: 'imagenet' as never }), ArgumentError, 'normalize', 'imagenet');
  throwsTyped(() => fromPixels(ok, { normalize: { mean: [0.5], std: [0.5] } }), ArgumentError, 'normalize.mean', '3 finite numbers');
  throwsTyped(() => fromPixels(ok, { channels: 1, normalize: { mean: [0.5], std: [0] } }), ArgumentError, 'normalize.std', '0');
  throwsTyped(() => fromPixels(ok, { channels: 1, normalize: { mean: [NaN], std: [1] } }), ArgumentError, 'normalize.mean');
  throwsTyped(() => fromPixels(ok, { channels: 1, normalize: { mean: [0], std: [1], scale: 2 } as never }), ArgumentError, "unknown key 'scale'");
  const after = memoryStats();
  assert.is(after.tensors, before.tensors);
  assert.is(after.bytes, before.bytes);
});

test.run();
