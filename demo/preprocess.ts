// Turn a drawing into an MNIST-like 28×28 image, the way the MNIST set itself was made (LeCun,
// Cortes, Burges): the digit's bounding box is scaled, preserving its aspect ratio, so that its
// longer side fits a 20×20 box (with anti-aliasing: grey levels), then the 20×20 image is placed in
// a 28×28 field so that its centre of mass falls on the field's centre. No DOM: the page and Node
// can both run them (the resize is the library's fromPixels, so after `await init()`).
import { fromPixels, type PixelData } from '../src/index.ts';

/** Side of the network's input. */
export const SIZE = 28;
/** Side of the box the digit's longer side is scaled to. */
export const BOX = 20;
/**
 * Where MNIST digits have their centre of mass, in pixel-index coordinates: measured over the
 * 10,000 test digits, the mean is (14.01, 13.99); MNIST centred on (14, 14).
 */
export const CENTRE = 14;
/** The standardisation `npm run mnist` trained with, on pixels in [0, 1]. */
export const MEAN = 0.1307;
export const STD = 0.3081;

export interface Box { x: number; y: number; w: number; h: number }

export interface Preprocessed {
  /** 28×28 grey levels in [0, 1], row-major (white ink = 1). */
  image: Float32Array;
  /** The digit's bounding box in the source image. */
  box: Box;
  /** Size of the scaled digit (its longer side is 20) and where its top-left corner went in 28×28. */
  scaled: { w: number; h: number; x: number; y: number };
}

/** Ink in [0, 1] from RGBA pixels of white strokes on black (the red channel; the pad is grey). */
export function inkFromRgba(rgba: ArrayLike<number>, width: number, height: number): Float32Array {
  const ink = new Float32Array(width * height);
  for (let i = 0; i < ink.length; i++) ink[i] = rgba[i * 4] / 255;
  return ink;
}

/** The bounding box of pixels with ink > threshold, or null for a blank image. */
export function boundingBox(ink: ArrayLike<number>, width: number, height: number, threshold = 0): Box | null {
  let x0 = width, y0 = height, x1 = -1, y1 = -1;
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) {
      if (ink[row + x] > threshold) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        y1 = y;
      }
    }
  }
  return x1 < 0 ? null : { x: x0, y: y0, w: x1 - x0 + 1, h: y1 - y0 + 1 };
}

/**
 * MNIST preprocessing of RGBA pixels showing white (grey) ink on black, e.g. a canvas's ImageData:
 * null when there is no ink. Pixels whose red channel / 255 exceeds threshold define the bounding
 * box; the box is cropped and shrunk by area averaging with the library's fromPixels (luminance,
 * which equals the red channel for grey pixels; values in [0, 1]). Needs `await init()` first.
 */
export function mnistPreprocess(pixels: PixelData, threshold = 0): Preprocessed | null {
  const { width, height } = pixels;
  const box = boundingBox(inkFromRgba(pixels.data, width, height), width, height, threshold);
  if (!box) return null;
  const scale = BOX / Math.max(box.w, box.h);
  const w = Math.max(1, Math.min(BOX, Math.round(box.w * scale)));
  const h = Math.max(1, Math.min(BOX, Math.round(box.h * scale)));
  const crop = new Uint8ClampedArray(box.w * box.h * 4);
  for (let y = 0; y < box.h; y++) {
    const from = ((box.y + y) * width + box.x) * 4;
    crop.set(pixels.data.subarray(from, from + box.w * 4), y * box.w * 4);
  }
  const t = fromPixels({ data: crop, width: box.w, height: box.h }, { channels: 1, size: [h, w], resize: 'area' });
  const small = t.toArray() as Float32Array;
  t.dispose();
  // Centre of mass of the scaled digit, then the whole-pixel shift that puts it on (14, 14),
  // kept inside the field.
  let m = 0, cx = 0, cy = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const v = small[y * w + x];
      m += v;
      cx += v * x;
      cy += v * y;
    }
  }
  cx = m > 0 ? cx / m : (w - 1) / 2;
  cy = m > 0 ? cy / m : (h - 1) / 2;
  const ox = clamp(Math.round(CENTRE - cx), 0, SIZE - w);
  const oy = clamp(Math.round(CENTRE - cy), 0, SIZE - h);
  const image = new Float32Array(SIZE * SIZE);
  for (let y = 0; y < h; y++) image.set(small.subarray(y * w, (y + 1) * w), (oy + y) * SIZE + ox);
  return { image, box, scaled: { w, h, x: ox, y: oy } };
}

/** (x − 0.1307) / 0.3081, the standardisation of training. */
export function normalise(image: ArrayLike<number>): Float32Array {
  const out = new Float32Array(image.length);
  for (let i = 0; i < out.length; i++) out[i] = (image[i] - MEAN) / STD;
  return out;
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.max(lo, Math.min(hi, v));
}
