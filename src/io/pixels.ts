// Images in: RGBA pixels (ImageData, a raw buffer, or a browser image drawn to a canvas) → an NHWC
// float32 tensor [1, h, w, channels], optionally resized and normalised. The arithmetic is plain
// JavaScript in float64 (one pass over the pixels; images are small next to the networks that read
// them); the result is written into linear memory once, after every check has passed, so a failure
// allocates nothing.
import { ArgumentError } from '../errors.js';
import { empty, type Tensor } from '../tensor.js';

/**
 * RGBA pixels, 4 bytes per pixel, row-major: an `ImageData`, or any object of the same shape
 * (a decoded PNG, a video frame copied out, a Node `Buffer`). Works in every runtime.
 */
export interface PixelData {
  readonly data: Uint8Array | Uint8ClampedArray;
  readonly width: number;
  readonly height: number;
}

/**
 * A browser image: `HTMLImageElement` (loaded), `HTMLCanvasElement`, `OffscreenCanvas` or
 * `ImageBitmap`. Typed structurally so that code without the DOM's types compiles; at run time
 * fromPixels checks the real class and draws it to a canvas to read its pixels.
 */
export interface BrowserImage {
  readonly width: number;
  readonly height: number;
}

export interface FromPixelsOptions {
  /** 3 = RGB (default); 1 = luminance, ITU-R BT.601: 0.299 R + 0.587 G + 0.114 B. Alpha is ignored. */
  channels?: 1 | 3;
  /** Output size `[height, width]`; default: the source's size. */
  size?: readonly [number, number];
  /**
   * 'bilinear' (default): half-pixel centres, source x = (x + 0.5)·in/out − 0.5 clamped to the
   * image, no antialiasing — PyTorch's `interpolate(mode='bilinear', align_corners=False,
   * antialias=False)` and OpenCV's INTER_LINEAR (PIL's BILINEAR agrees when enlarging; it
   * antialiases when shrinking). 'area': each output pixel is the average of the source area it
   * covers, partly covered pixels weighted by their coverage (OpenCV's INTER_AREA when shrinking;
   * exact box averaging for integer factors).
   */
  resize?: 'bilinear' | 'area';
  /**
   * Default (or `true`): values scaled to [0, 1]. `{ mean, std }`: per channel,
   * (value/255 − mean[c]) / std[c] (ImageNet style: mean [0.485, 0.456, 0.406], std [0.229, 0.224,
   * 0.225]). `false`: raw 0..255.
   */
  normalize?: boolean | { mean: readonly number[]; std: readonly number[] };
}

const OPTION_KEYS = ['channels', 'size', 'resize', 'normalize'];
/** ITU-R BT.601 luma weights, as PIL's `convert('L')` (which also rounds to integers; we do not). */
const LUMA = [0.299, 0.587, 0.114] as const;

/**
 * An image as an NHWC float32 tensor `[1, h, w, channels]`. The caller disposes it.
 *
 *   const x = fromPixels(ctx.getImageData(0, 0, 280, 280), { channels: 1, size: [28, 28], resize: 'area' });
 */
export function fromPixels(source: PixelData | BrowserImage, options: FromPixelsOptions = {}): Tensor {
  const opts = checkOptions(options);
  const px = isPixelData(source) ? checkPixelData(source) : drawToPixels(source);
  const { channels } = opts;
  const [outH, outW] = opts.size ?? [px.height, px.width];
  const planes = toChannels(px, channels);
  const resized = outH === px.height && outW === px.width
    ? planes
    : resize(planes, px.height, px.width, channels, outH, outW, opts.resize);
  // Normalisation is affine per channel, so applying it after the resize equals applying it before.
  const scale = new Float64Array(channels), shift = new Float64Array(channels);
  for (let c = 0; c < channels; c++) {
    const n = opts.normalize;
    if (n === false) { scale[c] = 1; shift[c] = 0; }
    else if (n === true) { scale[c] = 1 / 255; shift[c] = 0; }
    else { scale[c] = 1 / (255 * n.std[c]); shift[c] = -n.mean[c] / n.std[c]; }
  }
  const t = empty([1, outH, outW, channels]);
  const out = t.view();
  for (let i = 0; i < out.length; i++) {
    const c = i % channels;
    out[i] = resized[i] * scale[c] + shift[c];
  }
  return t;
}

// ---- sources ----

function isPixelData(s: unknown): s is PixelData {
  return s !== null && typeof s === 'object' && 'data' in s;
}

function checkPixelData(s: PixelData): PixelData {
  const { data, width, height } = s;
  if (!(data instanceof Uint8Array || data instanceof Uint8ClampedArray)) {
    throw new ArgumentError(`fromPixels: source.data must be a Uint8Array or Uint8ClampedArray of RGBA bytes, got ${kindOf(data)}`);
  }
  for (const [name, v] of [['width', width], ['height', height]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new ArgumentError(`fromPixels: source.${name} must be a positive integer, got ${JSON.stringify(v)}`);
  }
  if (data.length !== width * height * 4) {
    throw new ArgumentError(`fromPixels: source.data holds ${data.length} bytes but width×height×4 = ${width}×${height}×4 = ${width * height * 4} (RGBA, 4 bytes per pixel)`);
  }
  return s;
}

interface Canvas2d {
  drawImage(image: unknown, x: number, y: number): void;
  getImageData(x: number, y: number, w: number, h: number): PixelData;
}

const BROWSER_KINDS = ['HTMLImageElement', 'HTMLCanvasElement', 'OffscreenCanvas', 'ImageBitmap'] as const;

/** Draw a browser image to a canvas of its own size and read its RGBA pixels. */
function drawToPixels(source: unknown): PixelData {
  const g = globalThis as unknown as Record<string, unknown>;
  const kind = BROWSER_KINDS.find((k) => typeof g[k] === 'function' && source instanceof (g[k] as new () => unknown));
  if (!kind) {
    const available = BROWSER_KINDS.filter((k) => typeof g[k] === 'function');
    throw new ArgumentError(`fromPixels: source must be ImageData-like ({ data: Uint8Array | Uint8ClampedArray, width, height })`
      + (available.length ? ` or one of ${available.join(', ')}` : ' (this runtime has no HTMLImageElement, HTMLCanvasElement, OffscreenCanvas or ImageBitmap)')
      + `, got ${kindOf(source)}`);
  }
  const img = source as { width: number; height: number; naturalWidth?: number; naturalHeight?: number; complete?: boolean };
  const width = kind === 'HTMLImageElement' ? img.naturalWidth! : img.width;
  const height = kind === 'HTMLImageElement' ? img.naturalHeight! : img.height;
  if (!(width > 0 && height > 0) || (kind === 'HTMLImageElement' && !img.complete)) {
    throw new ArgumentError(`fromPixels: source ${kind} has no pixels yet (${width}×${height}${kind === 'HTMLImageElement' ? '; wait for the image to load: await img.decode()' : ''})`);
  }
  let ctx: Canvas2d | null = null;
  if (typeof g.OffscreenCanvas === 'function') {
    const canvas = new (g.OffscreenCanvas as new (w: number, h: number) => { getContext(type: string, o?: object): unknown })(width, height);
    ctx = canvas.getContext('2d', { willReadFrequently: true }) as Canvas2d | null;
  } else if (typeof (g.document as { createElement?: unknown } | undefined)?.createElement === 'function') {
    const canvas = (g.document as { createElement(tag: string): { width: number; height: number; getContext(type: string, o?: object): unknown } }).createElement('canvas');
    canvas.width = width;
    canvas.height = height;
    ctx = canvas.getContext('2d', { willReadFrequently: true }) as Canvas2d | null;
  }
  if (!ctx) throw new ArgumentError(`fromPixels: this runtime has ${kind} but no 2d canvas to read its pixels from`);
  try {
    ctx.drawImage(source, 0, 0);
    return ctx.getImageData(0, 0, width, height);
  } catch (e) {
    // A cross-origin image taints the canvas: getImageData throws a SecurityError.
    throw new ArgumentError(`fromPixels: cannot read the pixels of this ${kind} (${(e as Error)?.name}: ${(e as Error)?.message})`);
  }
}

// ---- options ----

interface Checked { channels: 1 | 3; size: [number, number] | null; resize: 'bilinear' | 'area'; normalize: boolean | { mean: readonly number[]; std: readonly number[] } }

function checkOptions(options: unknown): Checked {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new ArgumentError(`fromPixels: options must be an object, got ${kindOf(options)}`);
  }
  const o = options as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!OPTION_KEYS.includes(k)) throw new ArgumentError(`fromPixels: unknown option '${k}' (accepted: ${OPTION_KEYS.join(', ')})`);
  }
  const channels = o.channels ?? 3;
  if (channels !== 1 && channels !== 3) throw new ArgumentError(`fromPixels: channels must be 1 or 3, got ${JSON.stringify(channels)}`);
  let size: [number, number] | null = null;
  if (o.size !== undefined) {
    const s = o.size;
    if (!Array.isArray(s) || s.length !== 2 || !s.every((d) => Number.isInteger(d) && d >= 1)) {
      throw new ArgumentError(`fromPixels: size must be [height, width] of positive integers, got ${JSON.stringify(s)}`);
    }
    size = [s[0], s[1]];
  }
  const resize = o.resize ?? 'bilinear';
  if (resize !== 'bilinear' && resize !== 'area') throw new ArgumentError(`fromPixels: resize must be 'bilinear' or 'area', got ${JSON.stringify(resize)}`);
  const n = o.normalize ?? true;
  if (typeof n !== 'boolean') {
    if (n === null || typeof n !== 'object') throw new ArgumentError(`fromPixels: normalize must be true, false or { mean, std }, got ${JSON.stringify(n)}`);
    const { mean, std, ...rest } = n as Record<string, unknown>;
    const extra = Object.keys(rest);
    if (extra.length) throw new ArgumentError(`fromPixels: normalize has unknown key '${extra[0]}' (accepted: mean, std)`);
    for (const [name, v] of [['mean', mean], ['std', std]] as const) {
      if (!Array.isArray(v) || v.length !== channels || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) {
        throw new ArgumentError(`fromPixels: normalize.${name} must be ${channels} finite number${channels > 1 ? 's' : ''} (one per channel), got ${JSON.stringify(v)}`);
      }
    }
    if ((std as number[]).some((x) => x === 0)) throw new ArgumentError(`fromPixels: normalize.std must not contain 0, got ${JSON.stringify(std)}`);
  }
  return { channels, size, resize, normalize: n as Checked['normalize'] };
}

function kindOf(v: unknown): string {
  if (v === null || v === undefined) return String(v);
  if (typeof v === 'object' || typeof v === 'function') return (v as object).constructor?.name ?? 'an object';
  return `${JSON.stringify(v)} (${typeof v})`;
}

// ---- arithmetic ----

/** RGBA bytes → h·w·channels values in 0..255 (RGB, or BT.601 luminance). */
function toChannels(px: PixelData, channels: number): Float64Array {
  const { data } = px;
  const n = px.width * px.height;
  const out = new Float64Array(n * channels);
  if (channels === 3) {
    for (let i = 0; i < n; i++) {
      out[i * 3] = data[i * 4];
      out[i * 3 + 1] = data[i * 4 + 1];
      out[i * 3 + 2] = data[i * 4 + 2];
    }
  } else {
    for (let i = 0; i < n; i++) out[i] = LUMA[0] * data[i * 4] + LUMA[1] * data[i * 4 + 1] + LUMA[2] * data[i * 4 + 2];
  }
  return out;
}

/** For each output index along one axis: the source indices it reads and their weights (summing to 1). */
interface Taps { start: Int32Array; count: Int32Array; index: Int32Array; weight: Float64Array }

function bilinearTaps(n: number, m: number): Taps {
  const start = new Int32Array(m), count = new Int32Array(m).fill(2);
  const index = new Int32Array(2 * m), weight = new Float64Array(2 * m);
  const s = n / m;
  for (let i = 0; i < m; i++) {
    const src = Math.min(Math.max((i + 0.5) * s - 0.5, 0), n - 1);
    const i0 = Math.floor(src), i1 = Math.min(i0 + 1, n - 1), f = src - i0;
    start[i] = 2 * i;
    index[2 * i] = i0;
    index[2 * i + 1] = i1;
    weight[2 * i] = 1 - f;
    weight[2 * i + 1] = f;
  }
  return { start, count, index, weight };
}

/** Output pixel i covers source [i·n/m, (i+1)·n/m); each source pixel weighs its overlap / (n/m). */
function areaTaps(n: number, m: number): Taps {
  const start = new Int32Array(m), count = new Int32Array(m);
  const index: number[] = [], weight: number[] = [];
  const s = n / m;
  for (let i = 0; i < m; i++) {
    const a = i * s, b = (i + 1) * s;
    start[i] = index.length;
    for (let k = Math.floor(a); k < Math.min(n, Math.ceil(b)); k++) {
      const w = (Math.min(b, k + 1) - Math.max(a, k)) / s;
      if (w <= 0) continue;
      index.push(k);
      weight.push(w);
    }
    count[i] = index.length - start[i];
  }
  return { start, count, index: Int32Array.from(index), weight: Float64Array.from(weight) };
}

/** Separable resize of h·w·C values (HWC) to outH·outW·C: rows first, then columns. */
function resize(src: Float64Array, h: number, w: number, C: number, outH: number, outW: number, mode: 'bilinear' | 'area'): Float64Array {
  const taps = mode === 'area' ? areaTaps : bilinearTaps;
  const tx = taps(w, outW), ty = taps(h, outH);
  const tmp = new Float64Array(h * outW * C);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < outW; x++) {
      const o = (y * outW + x) * C;
      for (let t = tx.start[x], end = t + tx.count[x]; t < end; t++) {
        const k = (y * w + tx.index[t]) * C, wt = tx.weight[t];
        for (let c = 0; c < C; c++) tmp[o + c] += wt * src[k + c];
      }
    }
  }
  const out = new Float64Array(outH * outW * C);
  for (let y = 0; y < outH; y++) {
    for (let t = ty.start[y], end = t + ty.count[y]; t < end; t++) {
      const row = ty.index[t] * outW * C, wt = ty.weight[t], o = y * outW * C;
      for (let i = 0; i < outW * C; i++) out[o + i] += wt * tmp[row + i];
    }
  }
  return out;
}
